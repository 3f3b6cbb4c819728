//! The PostgreSQL store (feature `postgres`): one policy shared by many runners and servers.
//!
//! Same schema semantics and versioned migrations as SQLite, with native types (`timestamptz`,
//! `jsonb`, `boolean`). Connections come from an r2d2 pool; a lost connection fails the call
//! with `STORAGE` and the pool replaces it on the next call.
//!
//! Atomic preflight: a write transaction for one environment first takes
//! `pg_advisory_xact_lock` on a key derived from the environment's name, so `started` events
//! for that environment are serialized across every process and machine exactly as SQLite's
//! single writer serializes them (per environment rather than per product and environment, so
//! that the "per environment" concurrency rule holds too). Advisory locking was measured to hold
//! up under contention where SERIALIZABLE retried about four times per commit. Catalog rows
//! (products, versions, environments) are created with `ON CONFLICT DO NOTHING` and versions are
//! read `FOR UPDATE` inside writes, so concurrent first sightings and SHA checks stay correct.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};
use serde_json::{Map, Value};

use super::schema::{PG_MIGRATIONS as MIGRATIONS, PG_SCHEMA_VERSION};
use super::sql::{
    API_KEY_SELECT, APPROVAL_SELECT, BUILD_SELECT, DECISION_SELECT, DEPLOYMENT_SELECT, ENV_COLS,
    LEAD_START, PRINCIPAL_SELECT, PRODUCT_COLS, REFRESH_LEAD_START, SESSION_SELECT, VERSION_SELECT,
};
use super::{
    Attempt, CatalogEntry, HistoryFilter, LockScope, RuleStatusChange, Store, StoredRule, Tx,
};
use crate::access::{
    ApiKey, IdempotencyRecord, Principal, Role, Session, StoredAnswer, StoredApiKey, principal_key,
};
use crate::approval::Approval;
use crate::decision::{DecisionOutcome, DecisionRecord};
use crate::error::{Error, Result};
use crate::import::ImportKind;
use crate::model::{Build, Deployment, Environment, EnvironmentType, Page, Product, Version};
use crate::notify::{Channel, Delivery, DeliveryStatus, Preference};
use crate::outbox::{DomainEvent, NewEvent, chain_hash};
use crate::policy::{OpenDeployment, Preflight, Rule, RuleStatus, Stint};
use crate::queue::QueueEntry;
use crate::request::{DeploymentRequest, RequestStatus, RequestTemplate};
use crate::status::Status;

type Pool = r2d2::Pool<Manager>;
type Conn = r2d2::PooledConnection<Manager>;

/// A pooled connection with its prepared statements (rust-postgres has no statement cache).
struct CachedClient {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Opens, checks and discards pooled connections.
#[derive(Debug)]
struct Manager {
    config: postgres::Config,
    /// `SET search_path` statement run on each new connection, when a schema is chosen.
    search_path: Option<String>,
}

/// Options for [`PgStore::connect_with`].
///
/// Every surface reads them from one JSON object (see
/// [`PgOptions::from_json`]): `{"schema": "versioner", "max_connections": 8,
/// "connect_timeout_ms": 5000}`; a missing key keeps its default, an unknown key is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PgOptions {
    /// Keep Versioner's tables in this schema (created if missing) rather than the
    /// connection's default; lets several Versioner instances share one database. JSON:
    /// `schema`.
    pub schema: Option<String>,
    /// The most connections the pool opens (default 8). JSON: `max_connections`, from 1.
    #[serde(deserialize_with = "crate::input::positive_u32")]
    pub max_connections: u32,
    /// How long a call waits for a connection before failing with `STORAGE` (default 5 s).
    /// JSON: `connect_timeout_ms`, whole milliseconds from 1.
    #[serde(
        rename = "connect_timeout_ms",
        deserialize_with = "crate::input::positive_millis"
    )]
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> PgOptions {
        PgOptions {
            schema: None,
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = CachedClient;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<CachedClient, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        if let Some(sql) = &self.search_path {
            client.batch_execute(sql)?;
        }
        Ok(CachedClient {
            client,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut CachedClient) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut CachedClient) -> bool {
        conn.client.is_closed()
    }
}

/// Advisory lock key that serializes migrations.
const MIGRATION_LOCK: i64 = 0x5645_5253_494f_4e45; // "VERSIONE"

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: Pool,
    /// Protocol round trips made by transactions since the store was opened (`GET /metrics`).
    round_trips: std::sync::Arc<AtomicU64>,
}

fn pg_error(context: &str, e: postgres::Error) -> Error {
    let message = match e.as_db_error() {
        Some(db) => format!("{context}: {} ({})", db.message(), db.code().code()),
        None => format!("{context}: {e}"),
    };
    Error::storage(message, e)
}

fn pool_error(e: r2d2::Error) -> Error {
    Error::storage(format!("cannot reach the database: {e}"), e)
}

impl PgStore {
    /// Connects to the database at `url` (a libpq URL or key=value string) with default
    /// options, running any pending migrations. Equals
    /// `PgStore::connect_with(url, &PgOptions::default())`.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a malformed URL; `STORAGE` when the database cannot be reached or
    /// was written by a newer library.
    pub fn connect(url: &str) -> Result<PgStore> {
        PgStore::connect_with(url, &PgOptions::default())
    }

    /// Connects with `options`.
    ///
    /// # Errors
    /// As [`PgStore::connect`]; `INVALID_INPUT` for a schema name that is not a plain
    /// identifier.
    pub fn connect_with(url: &str, options: &PgOptions) -> Result<PgStore> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| Error::invalid("database_url", e.to_string()))?;
        let search_path = match &options.schema {
            None => None,
            Some(schema) => {
                let valid = !schema.is_empty()
                    && schema.len() <= 63
                    && schema
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !schema.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    return Err(Error::invalid(
                        "schema",
                        format!("`{schema}` is not a plain identifier (letters, digits, _)"),
                    ));
                }
                let mut client = config
                    .connect(NoTls)
                    .map_err(|e| pg_error("cannot reach the database", e))?;
                // `CREATE SCHEMA IF NOT EXISTS` is not safe against a concurrent creation of the
                // same schema (unique violation), so it runs under the migration lock.
                let mut tx = client
                    .transaction()
                    .map_err(|e| pg_error("creating the schema", e))?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .map_err(|e| pg_error("creating the schema", e))?;
                tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                    .map_err(|e| pg_error("creating the schema", e))?;
                tx.commit()
                    .map_err(|e| pg_error("creating the schema", e))?;
                Some(format!("SET search_path TO \"{schema}\""))
            }
        };
        let manager = Manager {
            config,
            search_path,
        };
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            // No `SELECT` on every checkout (a round trip per transaction): `run` finds a
            // dead connection when its `BEGIN` fails and takes another.
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build(manager)
            .map_err(pool_error)?;
        let store = PgStore {
            pool,
            round_trips: std::sync::Arc::default(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn conn(&self) -> Result<Conn> {
        self.pool.get().map_err(pool_error)
    }

    /// The schema version of the database.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn schema_version(&self) -> Result<i64> {
        let mut c = self.conn()?;
        let row = c
            .client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM versioner_schema",
                &[],
            )
            .map_err(|e| pg_error("reading the schema version", e))?;
        row.try_get(0)
            .map_err(|e| pg_error("reading the schema version", e))
    }

    fn migrate(&self) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c
            .client
            .transaction()
            .map_err(|e| pg_error("migrating", e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|e| pg_error("migrating", e))?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS versioner_schema(version BIGINT NOT NULL)")
            .map_err(|e| pg_error("migrating", e))?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM versioner_schema",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error("migrating", e))?;
        if current > PG_SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: current,
                supported: PG_SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(current).unwrap_or(usize::MAX))
        {
            tx.batch_execute(sql)
                .map_err(|e| pg_error("migrating", e))?;
            let v = i64::try_from(i + 1).unwrap_or(i64::MAX);
            tx.execute("INSERT INTO versioner_schema(version) VALUES ($1)", &[&v])
                .map_err(|e| pg_error("migrating", e))?;
            tracing::info!(version = v, "migrated the PostgreSQL schema");
        }
        tx.commit().map_err(|e| pg_error("migrating", e))
    }

    fn run(
        &self,
        lock: Option<&LockScope>,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        // `BEGIN` and the lock travel in one round trip (a simple-query batch), the statements
        // one each, `COMMIT` one: two round trips besides the statements, where a
        // `Transaction` plus a prepared lock statement and the pool's checkout test took five.
        let begin = match lock {
            None => "BEGIN".to_string(),
            Some(lock) => {
                let key = match lock {
                    LockScope::Global => "versioner:global".to_string(),
                    LockScope::Environment(name) => format!("versioner:environment:{name}"),
                };
                format!(
                    "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended({}, 0))",
                    quote_literal(&key)
                )
            }
        };
        let mut c = self.begin(&begin)?;
        let CachedClient { client, statements } = &mut *c;
        let mut open = Open {
            client,
            done: false,
        };
        let result = f(&mut PgTx {
            client: &mut *open.client,
            statements,
            for_update: lock.is_some(),
            round_trips: &self.round_trips,
        });
        open.done = true;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(()) => open
                .client
                .batch_execute("COMMIT")
                .map_err(|e| pg_error("committing", e)),
            Err(e) => {
                // The connection goes back to the pool outside any transaction (or closed,
                // and then discarded).
                let _ = open.client.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    /// A pooled connection inside a transaction begun with `begin` (its first round trip). A
    /// connection found dead (the server restarted, an idle timeout) is discarded and another
    /// taken, as the pool's checkout test did before: nothing has run on it yet.
    fn begin(&self, begin: &str) -> Result<Conn> {
        let mut attempts = self.pool.max_size() + 1;
        loop {
            let mut c = self.conn()?;
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            match c.client.batch_execute(begin) {
                Ok(()) => return Ok(c),
                // Closed: the pool drops it on return (`has_broken`); try another.
                Err(_) if c.client.is_closed() && attempts > 1 => attempts -= 1,
                Err(e) => {
                    if !c.client.is_closed() {
                        let _ = c.client.batch_execute("ROLLBACK");
                    }
                    return Err(pg_error("beginning a transaction", e));
                }
            }
        }
    }
}

/// A transaction begun on a pooled connection: rolled back if it is dropped before `run`
/// ends it (a panic in the caller's closure), so no connection returns to the pool inside one.
struct Open<'c> {
    client: &'c mut Client,
    done: bool,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// `text` as an SQL string literal, as PostgreSQL's `quote_literal` writes it: quotes doubled,
/// and with backslashes doubled in an `E''` literal when there are any, so it reads the same
/// whatever `standard_conforming_strings` says.
fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if quoted.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

impl super::sealed::Sealed for PgStore {}

impl Store for PgStore {
    fn connections(&self) -> super::ConnectionUse {
        let state = self.pool.state();
        super::ConnectionUse::new(
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
        .with_round_trips(self.round_trips.load(Ordering::Relaxed))
    }

    fn write(&self, lock: &LockScope, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Some(lock), f)
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(None, f)
    }

    fn backup_to(&self, _dest: &std::path::Path) -> Result<()> {
        Err(Error::invalid("database", super::PG_BACKUP_GUIDANCE))
    }

    fn restore_from(&self, _src: &std::path::Path) -> Result<()> {
        Err(Error::invalid("database", super::PG_BACKUP_GUIDANCE))
    }
}

struct PgTx<'a> {
    /// The connection, inside the transaction `PgStore::run` began.
    client: &'a mut Client,
    statements: &'a mut HashMap<String, Statement>,
    /// Whether this is a write transaction (versions are then read `FOR UPDATE`).
    for_update: bool,
    /// The store's round-trip count.
    round_trips: &'a AtomicU64,
}

/// Marks restored at `$3` the failures of product `$1` in environment `$2` that finished
/// before the success (`$3`, key `$4`) and are not restored (the first statement), or were
/// restored by a success finishing after it (the second; history can arrive out of order): it
/// is their next success now. Each is a range of the index on (product, environment,
/// restored_at), so failures restored long ago are not read.
const RESTORE_FAILURES: [&str; 2] = [
    "UPDATE dora_failures SET restored_at = $3 \
     WHERE product_id = $1 AND environment_id = $2 AND restored_at IS NULL \
     AND (completed_at, deployment_id) < ($3, $4)",
    "UPDATE dora_failures SET restored_at = $3 \
     WHERE product_id = $1 AND environment_id = $2 AND restored_at > $3 \
     AND (completed_at, deployment_id) < ($3, $4)",
];

type P<'a> = &'a (dyn ToSql + Sync);

fn get<'r, T: postgres::types::FromSql<'r>>(row: &'r Row, idx: usize) -> Result<T> {
    row.try_get(idx).map_err(|e| pg_error("reading a row", e))
}

fn parse<T: std::str::FromStr<Err = Error>>(row: &Row, idx: usize) -> Result<T> {
    get::<String>(row, idx)?.parse()
}

fn from_json<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> Result<T> {
    serde_json::from_value(get::<Value>(row, idx)?)
        .map_err(|e| Error::internal(format!("cannot decode a stored record: {e}")))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::internal(format!("cannot encode a record: {e}")))
}

fn product_row(r: &Row, o: usize) -> Result<Product> {
    Ok(Product {
        key: get(r, o)?,
        id: get(r, o + 1)?,
        name: get(r, o + 2)?,
        created_at: get(r, o + 3)?,
        description: get(r, o + 4)?,
        extra_metadata: from_json(r, o + 5)?,
    })
}

fn env_row(r: &Row, o: usize) -> Result<Environment> {
    Ok(Environment {
        key: get(r, o)?,
        id: get(r, o + 1)?,
        name: get(r, o + 2)?,
        env_type: parse(r, o + 3)?,
        type_overridden: get(r, o + 4)?,
        created_at: get(r, o + 5)?,
        description: get(r, o + 6)?,
        extra_metadata: from_json(r, o + 7)?,
    })
}

fn version_row(r: &Row) -> Result<Version> {
    Ok(Version {
        key: get(r, 0)?,
        id: get(r, 1)?,
        product_key: get(r, 2)?,
        product_id: get(r, 3)?,
        product_name: get(r, 4)?,
        version: get(r, 5)?,
        scm_sha: get(r, 6)?,
        scm_branch: get(r, 7)?,
        scm_repository: get(r, 8)?,
        build_number: get(r, 9)?,
        build_url: get(r, 10)?,
        built_by: get(r, 11)?,
        created_at: get(r, 12)?,
        scm_committed_at: get(r, 13)?,
    })
}

fn build_row(r: &Row) -> Result<Build> {
    Ok(Build {
        key: get(r, 0)?,
        id: get(r, 1)?,
        version_key: get(r, 2)?,
        version_id: get(r, 3)?,
        product_id: get(r, 4)?,
        product_name: get(r, 5)?,
        version: get(r, 6)?,
        status: parse(r, 7)?,
        started_at: get(r, 8)?,
        completed_at: get(r, 9)?,
        created_at: get(r, 10)?,
        updated_at: get(r, 11)?,
        fields: from_json(r, 12)?,
        extra_metadata: from_json::<Map<String, Value>>(r, 13)?,
    })
}

fn deployment_row(r: &Row) -> Result<Deployment> {
    let preflight: Option<Value> = get(r, 18)?;
    Ok(Deployment {
        key: get(r, 0)?,
        id: get(r, 1)?,
        product_key: get(r, 2)?,
        product_id: get(r, 3)?,
        product_name: get(r, 4)?,
        version_key: get(r, 5)?,
        version_id: get(r, 6)?,
        version: get(r, 7)?,
        environment_key: get(r, 8)?,
        environment_id: get(r, 9)?,
        environment_name: get(r, 10)?,
        status: parse(r, 11)?,
        deployed_at: get(r, 12)?,
        started_at: get(r, 13)?,
        completed_at: get(r, 14)?,
        updated_at: get(r, 15)?,
        fields: from_json(r, 16)?,
        extra_metadata: from_json::<Map<String, Value>>(r, 17)?,
        preflight: preflight
            .map(|v| {
                serde_json::from_value::<crate::policy::Preflight>(v)
                    .map(|mut p| {
                        p.verdict.refresh_derived();
                        p
                    })
                    .map_err(|e| Error::internal(format!("cannot decode a stored preflight: {e}")))
            })
            .transpose()?,
    })
}

fn approval_row(r: &Row) -> Result<Approval> {
    Ok(Approval {
        id: get(r, 0)?,
        product_name: get(r, 1)?,
        version: get(r, 2)?,
        version_id: get(r, 3)?,
        approval_type: get(r, 4)?,
        approver: get(r, 5)?,
        approver_role: get(r, 6)?,
        environment: get(r, 7)?,
        comment: get(r, 8)?,
        granted_at: get(r, 9)?,
        revoked_at: get(r, 10)?,
        revoked_by: get(r, 11)?,
        revoke_reason: get(r, 12)?,
    })
}

fn rule_row(r: &Row) -> Result<StoredRule> {
    let def: Value = get(r, 0)?;
    Ok(StoredRule {
        rule: Rule::from_json(&def)?,
        position: get(r, 1)?,
        created_at: get(r, 2)?,
        updated_at: get(r, 3)?,
    })
}

fn new_uid() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl PgTx<'_> {
    fn prepare_cached(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let stmt = self
            .client
            .prepare(sql)
            .map_err(|e| pg_error("preparing a statement", e))?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn one<T>(
        &mut self,
        sql: &str,
        params: &[P<'_>],
        map: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let stmt = self.prepare_cached(sql)?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let row = self
            .client
            .query_opt(&stmt, params)
            .map_err(|e| pg_error("querying", e))?;
        row.as_ref().map(map).transpose()
    }

    fn all<T>(
        &mut self,
        sql: &str,
        params: &[P<'_>],
        mut map: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let stmt = self.prepare_cached(sql)?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let rows = self
            .client
            .query(&stmt, params)
            .map_err(|e| pg_error("querying", e))?;
        rows.iter().map(&mut map).collect()
    }

    fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64> {
        let stmt = self.prepare_cached(sql)?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.client
            .execute(&stmt, params)
            .map_err(|e| pg_error("writing", e))
    }

    fn insert_id(&mut self, sql: &str, params: &[P<'_>]) -> Result<i64> {
        let id = self
            .one(sql, params, |r| get::<i64>(r, 0))?
            .ok_or_else(|| Error::internal("an insert returned no id"))?;
        Ok(id)
    }

    /// Rewrites the version × environment pairs a Deployment Request targets.
    fn write_request_targets(&mut self, key: i64, r: &DeploymentRequest) -> Result<()> {
        self.exec(
            "DELETE FROM deployment_request_targets WHERE request_id = $1",
            &[&key],
        )?;
        for (version, env) in super::request_targets(r) {
            self.exec(
                "INSERT INTO deployment_request_targets(request_id, version_uid, environment_key) \
                 VALUES ($1, $2, $3)",
                &[&key, &version, &env],
            )?;
        }
        Ok(())
    }

    fn lock_clause(&self) -> &'static str {
        if self.for_update {
            " FOR UPDATE OF v"
        } else {
            ""
        }
    }
}

impl super::sealed::Sealed for PgTx<'_> {}

impl Tx for PgTx<'_> {
    fn product(&mut self, name: &str) -> Result<Option<Product>> {
        self.one(
            &format!("SELECT {PRODUCT_COLS} FROM products WHERE name = $1"),
            &[&name],
            |r| product_row(r, 0),
        )
    }

    fn insert_product(&mut self, name: &str, now: DateTime<Utc>) -> Result<Product> {
        let uid = new_uid();
        self.exec(
            "INSERT INTO products(uid, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            &[&uid, &name, &now],
        )?;
        self.product(name)?
            .ok_or_else(|| Error::internal("a product vanished while being created"))
    }

    fn products(&mut self) -> Result<Vec<Product>> {
        self.all(
            &format!("SELECT {PRODUCT_COLS} FROM products ORDER BY name"),
            &[],
            |r| product_row(r, 0),
        )
    }

    fn environment(&mut self, name: &str) -> Result<Option<Environment>> {
        self.one(
            &format!("SELECT {ENV_COLS} FROM environments WHERE name = $1"),
            &[&name],
            |r| env_row(r, 0),
        )
    }

    fn insert_environment(
        &mut self,
        name: &str,
        env_type: EnvironmentType,
        now: DateTime<Utc>,
    ) -> Result<Environment> {
        let uid = new_uid();
        self.exec(
            "INSERT INTO environments(uid, name, env_type, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
            &[&uid, &name, &env_type.as_str(), &now],
        )?;
        self.environment(name)?
            .ok_or_else(|| Error::internal("an environment vanished while being created"))
    }

    fn set_environment_type(
        &mut self,
        key: i64,
        env_type: EnvironmentType,
        overridden: bool,
    ) -> Result<()> {
        self.exec(
            "UPDATE environments SET env_type = $2, type_overridden = $3 WHERE id = $1",
            &[&key, &env_type.as_str(), &overridden],
        )?;
        Ok(())
    }

    fn update_product(&mut self, key: i64, entry: &CatalogEntry<'_>) -> Result<()> {
        let metadata = Value::Object(entry.extra_metadata.clone());
        self.exec(
            "UPDATE products SET name = $2, description = $3, extra_metadata = $4 WHERE id = $1",
            &[&key, &entry.name, &entry.description, &metadata],
        )?;
        Ok(())
    }

    fn update_environment(&mut self, key: i64, entry: &CatalogEntry<'_>) -> Result<()> {
        let metadata = Value::Object(entry.extra_metadata.clone());
        self.exec(
            "UPDATE environments SET name = $2, description = $3, extra_metadata = $4 WHERE id = $1",
            &[&key, &entry.name, &entry.description, &metadata],
        )?;
        Ok(())
    }

    fn environments(&mut self) -> Result<Vec<Environment>> {
        let mut envs = self.all(
            &format!("SELECT {ENV_COLS} FROM environments ORDER BY name"),
            &[],
            |r| env_row(r, 0),
        )?;
        envs.sort_by(|a, b| {
            a.env_type
                .cmp(&b.env_type)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(envs)
    }

    fn version(&mut self, product: &Product, version: &str) -> Result<Option<Version>> {
        let sql = format!(
            "{VERSION_SELECT} WHERE v.product_id = $1 AND v.version = $2{}",
            self.lock_clause()
        );
        self.one(&sql, &[&product.key, &version], version_row)
    }

    fn version_by_id(&mut self, id: &str) -> Result<Option<Version>> {
        self.one(
            &format!("{VERSION_SELECT} WHERE v.uid = $1"),
            &[&id],
            version_row,
        )
    }

    fn versions(&mut self, product: &Product, page: Page) -> Result<Vec<Version>> {
        let (limit, offset) = (i64::from(page.limit), i64::from(page.offset));
        self.all(
            &format!(
                "{VERSION_SELECT} WHERE v.product_id = $1 ORDER BY v.id DESC LIMIT $2 OFFSET $3"
            ),
            &[&product.key, &limit, &offset],
            version_row,
        )
    }

    fn versions_by_sha(&mut self, sha_prefix: &str) -> Result<Vec<Version>> {
        let upper = format!("{sha_prefix}g");
        self.all(
            &format!("{VERSION_SELECT} WHERE v.scm_sha >= $1 AND v.scm_sha < $2 ORDER BY v.id DESC LIMIT 1000"),
            &[&sha_prefix, &upper],
            version_row,
        )
    }

    fn insert_version(&mut self, v: &Version) -> Result<Version> {
        self.exec(
            "INSERT INTO versions(uid, product_id, version, scm_sha, scm_branch, scm_repository, build_number, \
             build_url, built_by, created_at, scm_committed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) \
             ON CONFLICT (product_id, version) DO NOTHING",
            &[
                &v.id, &v.product_key, &v.version, &v.scm_sha, &v.scm_branch, &v.scm_repository,
                &v.build_number, &v.build_url, &v.built_by, &v.created_at, &v.scm_committed_at,
            ],
        )?;
        let product = Product {
            id: v.product_id.clone(),
            name: v.product_name.clone(),
            description: None,
            extra_metadata: Map::new(),
            created_at: v.created_at,
            key: v.product_key,
        };
        let stored = self
            .version(&product, &v.version)?
            .ok_or_else(|| Error::internal("a version vanished while being created"))?;
        if stored.id != v.id {
            // Another transaction created it first: apply the same immutability check.
            if let (Some(a), Some(b)) = (&stored.scm_sha, &v.scm_sha)
                && !(a.starts_with(b.as_str()) || b.starts_with(a.as_str()))
            {
                return Err(Error::VersionConflict {
                    product: v.product_name.clone(),
                    version: v.version.clone(),
                    recorded: a.clone(),
                    given: b.clone(),
                });
            }
        }
        Ok(stored)
    }

    fn update_version(&mut self, v: &Version) -> Result<()> {
        self.exec(
            "UPDATE versions SET scm_sha = $2, scm_branch = $3, scm_repository = $4, build_number = $5, \
             build_url = $6, built_by = $7, scm_committed_at = $8 WHERE id = $1",
            &[&v.key, &v.scm_sha, &v.scm_branch, &v.scm_repository, &v.build_number, &v.build_url, &v.built_by, &v.scm_committed_at],
        )?;
        self.exec(REFRESH_LEAD_START, &[&v.key])?;
        Ok(())
    }

    fn build_by_invoke(
        &mut self,
        version_key: i64,
        invoke_id: &str,
        status: Status,
    ) -> Result<Option<Build>> {
        self.one(
            &format!(
                "{BUILD_SELECT} WHERE b.id = (SELECT e.build_id FROM build_events e JOIN builds x ON x.id = e.build_id \
                 WHERE e.invoke_id = $1 AND e.status = $2 AND x.version_id = $3 ORDER BY e.id DESC LIMIT 1)"
            ),
            &[&invoke_id, &status.as_str(), &version_key],
            build_row,
        )
    }

    fn newest_open_build(&mut self, version_key: i64) -> Result<Option<Build>> {
        self.one(
            &format!(
                "{BUILD_SELECT} WHERE b.version_id = $1 AND b.is_open ORDER BY b.id DESC LIMIT 1"
            ),
            &[&version_key],
            build_row,
        )
    }

    fn insert_build(&mut self, b: &Build) -> Result<i64> {
        let (fields, meta) = (to_value(&b.fields)?, to_value(&b.extra_metadata)?);
        let key = self.insert_id(
            "INSERT INTO builds(uid, version_id, status, is_open, built_by, started_at, completed_at, created_at, \
             updated_at, fields, extra_metadata) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
            &[
                &b.id, &b.version_key, &b.status.as_str(), &b.status.is_open(), &b.fields.built_by,
                &b.started_at, &b.completed_at, &b.created_at, &b.updated_at, &fields, &meta,
            ],
        )?;
        self.exec(REFRESH_LEAD_START, &[&b.version_key])?;
        Ok(key)
    }

    fn update_build(&mut self, b: &Build) -> Result<()> {
        let (fields, meta) = (to_value(&b.fields)?, to_value(&b.extra_metadata)?);
        self.exec(
            "UPDATE builds SET status = $2, is_open = $3, built_by = $4, started_at = $5, completed_at = $6, \
             updated_at = $7, fields = $8, extra_metadata = $9 WHERE id = $1",
            &[
                &b.key, &b.status.as_str(), &b.status.is_open(), &b.fields.built_by, &b.started_at,
                &b.completed_at, &b.updated_at, &fields, &meta,
            ],
        )?;
        self.exec(REFRESH_LEAD_START, &[&b.version_key])?;
        Ok(())
    }

    fn append_build_event(
        &mut self,
        build_key: i64,
        status: Status,
        invoke_id: Option<&str>,
        payload: &Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO build_events(build_id, status, invoke_id, recorded_at, payload) VALUES ($1,$2,$3,$4,$5)",
            &[&build_key, &status.as_str(), &invoke_id, &at, payload],
        )?;
        Ok(())
    }

    fn builders(&mut self, version_key: i64) -> Result<Vec<String>> {
        self.all(
            "SELECT built_by FROM builds WHERE version_id = $1 AND built_by IS NOT NULL \
             UNION SELECT fields->>'recorded_by' FROM builds \
               WHERE version_id = $1 AND fields->>'recorded_by' IS NOT NULL \
             UNION SELECT built_by FROM versions WHERE id = $1 AND built_by IS NOT NULL",
            &[&version_key],
            |r| get(r, 0),
        )
    }

    fn deployment_by_invoke(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
        invoke_id: &str,
        status: Status,
    ) -> Result<Option<Deployment>> {
        self.one(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE d.id = (SELECT e.deployment_id FROM deployment_events e \
                 JOIN deployments x ON x.id = e.deployment_id WHERE e.invoke_id = $1 AND e.status = $2 \
                 AND x.product_id = $3 AND x.version_id = $4 AND x.environment_id = $5 ORDER BY e.id DESC LIMIT 1)"
            ),
            &[&invoke_id, &status.as_str(), &product_key, &version_key, &environment_key],
            deployment_row,
        )
    }

    fn newest_open_deployment(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
    ) -> Result<Option<Deployment>> {
        self.one(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE d.environment_id = $3 AND d.is_open AND d.product_id = $1 \
                 AND d.version_id = $2 ORDER BY d.id DESC LIMIT 1"
            ),
            &[&product_key, &version_key, &environment_key],
            deployment_row,
        )
    }

    fn open_deployments(&mut self, environment_key: i64) -> Result<Vec<(i64, OpenDeployment)>> {
        self.all(
            "SELECT d.id, d.uid, p.name, v.version, d.status, COALESCE(d.started_at, d.deployed_at) \
             FROM deployments d JOIN products p ON p.id = d.product_id JOIN versions v ON v.id = d.version_id \
             WHERE d.environment_id = $1 AND d.is_open ORDER BY d.id",
            &[&environment_key],
            |r| {
                Ok((
                    get(r, 0)?,
                    OpenDeployment {
                        id: get(r, 1)?,
                        product_name: get(r, 2)?,
                        version: get(r, 3)?,
                        status: parse(r, 4)?,
                        started_at: get(r, 5)?,
                    },
                ))
            },
        )
    }

    fn open_deployments_at(
        &mut self,
        environment_key: i64,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, OpenDeployment)>> {
        self.all(
            "SELECT d.id, d.uid, p.name, v.version, d.started_at \
             FROM deployments d JOIN products p ON p.id = d.product_id JOIN versions v ON v.id = d.version_id \
             WHERE d.deployed_at >= $3 AND d.deployed_at <= $2 AND d.environment_id = $1 \
             AND d.started_at IS NOT NULL AND d.started_at <= $2 \
             AND (d.is_open OR d.updated_at > $2) ORDER BY d.id",
            &[&environment_key, &at, &since],
            |r| {
                Ok((
                    get(r, 0)?,
                    OpenDeployment {
                        id: get(r, 1)?,
                        product_name: get(r, 2)?,
                        version: get(r, 3)?,
                        // In progress at `at`, whatever it became since.
                        status: Status::Started,
                        started_at: get(r, 4)?,
                    },
                ))
            },
        )
    }

    fn deployment_by_id(&mut self, id: &str) -> Result<Option<Deployment>> {
        self.one(
            &format!("{DEPLOYMENT_SELECT} WHERE d.uid = $1"),
            &[&id],
            deployment_row,
        )
    }

    fn insert_deployment(&mut self, d: &Deployment) -> Result<i64> {
        let (fields, meta) = (to_value(&d.fields)?, to_value(&d.extra_metadata)?);
        let key = self.insert_id(
            "INSERT INTO deployments(uid, product_id, version_id, environment_id, status, is_open, deployed_at, \
             started_at, completed_at, updated_at, fields, extra_metadata) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
            &[
                &d.id, &d.product_key, &d.version_key, &d.environment_key, &d.status.as_str(), &d.status.is_open(),
                &d.deployed_at, &d.started_at, &d.completed_at, &d.updated_at, &fields, &meta,
            ],
        )?;
        if let Some(p) = &d.preflight {
            self.set_preflight(key, p)?;
        }
        self.exec(
            "INSERT INTO product_environments(product_id, environment_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&d.product_key, &d.environment_key],
        )?;
        Ok(key)
    }

    fn update_deployment(&mut self, d: &Deployment) -> Result<()> {
        let (fields, meta) = (to_value(&d.fields)?, to_value(&d.extra_metadata)?);
        self.exec(
            "UPDATE deployments SET status = $2, is_open = $3, started_at = $4, completed_at = $5, updated_at = $6, \
             fields = $7, extra_metadata = $8 WHERE id = $1",
            &[
                &d.key, &d.status.as_str(), &d.status.is_open(), &d.started_at, &d.completed_at, &d.updated_at,
                &fields, &meta,
            ],
        )?;
        Ok(())
    }

    fn set_preflight(&mut self, deployment_key: i64, preflight: &Preflight) -> Result<()> {
        let value = to_value(preflight)?;
        self.exec(
            "INSERT INTO preflights(deployment_id, preflight) VALUES ($1, $2) \
             ON CONFLICT (deployment_id) DO UPDATE SET preflight = EXCLUDED.preflight",
            &[&deployment_key, &value],
        )?;
        Ok(())
    }

    fn append_deployment_event(
        &mut self,
        deployment_key: i64,
        status: Status,
        invoke_id: Option<&str>,
        payload: &Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO deployment_events(deployment_id, status, invoke_id, recorded_at, payload) VALUES ($1,$2,$3,$4,$5)",
            &[&deployment_key, &status.as_str(), &invoke_id, &at, payload],
        )?;
        Ok(())
    }

    fn imported_line(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1::BIGINT FROM imported_lines WHERE key = $1",
                &[&key],
                |r| get::<i64>(r, 0),
            )?
            .is_some())
    }

    fn mark_imported(
        &mut self,
        kind: ImportKind,
        record_key: i64,
        line_key: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let update = match kind {
            ImportKind::Build => "UPDATE builds SET imported_at = $2 WHERE id = $1",
            ImportKind::Deployment => "UPDATE deployments SET imported_at = $2 WHERE id = $1",
        };
        self.exec(update, &[&record_key, &at])?;
        self.exec(
            "INSERT INTO imported_lines(key, kind, record_id, imported_at) VALUES ($1,$2,$3,$4)",
            &[&line_key, &kind.as_str(), &record_key, &at],
        )?;
        Ok(())
    }

    fn builds_after(&mut self, after: i64, limit: u32) -> Result<Vec<Build>> {
        self.all(
            &format!("{BUILD_SELECT} WHERE b.id > $1 ORDER BY b.id LIMIT $2"),
            &[&after, &i64::from(limit)],
            build_row,
        )
    }

    fn deployments_after(&mut self, after: i64, limit: u32) -> Result<Vec<Deployment>> {
        self.all(
            &format!("{DEPLOYMENT_SELECT} WHERE d.id > $1 ORDER BY d.id LIMIT $2"),
            &[&after, &i64::from(limit)],
            deployment_row,
        )
    }

    fn stint(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
        at: DateTime<Utc>,
    ) -> Result<Stint> {
        let params: [P<'_>; 4] = [&product_key, &version_key, &environment_key, &at];
        let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = self
            .one(
                "SELECT MIN(updated_at), MAX(updated_at) FROM deployments WHERE product_id = $1 \
                 AND environment_id = $3 AND version_id = $2 AND status = 'completed' AND updated_at <= $4",
                &params,
                |r| Ok((get(r, 0)?, get(r, 1)?)),
            )?
            .unwrap_or((None, None));
        let superseded = match last {
            None => None,
            Some(last) => self.one(
                "SELECT d.updated_at, v.version FROM deployments d JOIN versions v ON v.id = d.version_id \
                 WHERE d.product_id = $1 AND d.environment_id = $2 AND d.status = 'completed' \
                 AND d.updated_at > $3 AND d.version_id <> $4 AND d.updated_at <= $5 ORDER BY d.updated_at ASC, d.id ASC LIMIT 1",
                &[&product_key, &environment_key, &last, &version_key, &at],
                |r| Ok((get(r, 0)?, get::<String>(r, 1)?)),
            )?,
        };
        Ok(Stint {
            first_success_at: first,
            last_success_at: last,
            superseded,
        })
    }

    fn history(&mut self, f: &HistoryFilter) -> Result<Vec<Deployment>> {
        let status = f.status.map(Status::as_str);
        let preflight = f.preflight.map(|p| p.as_str());
        let limit = i64::from(f.limit);
        self.all(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE ($1::BIGINT IS NULL OR d.product_id = $1) \
                 AND ($2::BIGINT IS NULL OR d.environment_id = $2) AND ($3::BIGINT IS NULL OR d.version_id = $3) \
                 AND ($4::TEXT IS NULL OR d.status = $4) AND ($5::TIMESTAMPTZ IS NULL OR d.deployed_at >= $5) \
                 AND ($6::TIMESTAMPTZ IS NULL OR d.deployed_at < $6) \
                 AND ($8::TEXT IS NULL OR f.preflight->>'status' = $8) \
                 ORDER BY d.deployed_at DESC, d.id DESC LIMIT $7"
            ),
            &[&f.product, &f.environment, &f.version, &status, &f.since, &f.until, &limit, &preflight],
            deployment_row,
        )
    }

    fn roll_up_finish(&mut self, d: &Deployment) -> Result<()> {
        let Some(at) = d.completed_at else {
            return Ok(());
        };
        let success = match d.status {
            Status::Completed => true,
            Status::Failed => false,
            _ => return Ok(()),
        };
        let (s, f) = (i64::from(success), i64::from(!success));
        self.exec(
            "INSERT INTO dora_days(environment_id, day, product_id, successes, failures) \
             VALUES ($1, $2, $3, $4, $5), ($1, $2, 0, $4, $5) \
             ON CONFLICT(environment_id, product_id, day) DO UPDATE SET \
             successes = dora_days.successes + excluded.successes, failures = dora_days.failures + excluded.failures",
            &[&d.environment_key, &at.date_naive(), &d.product_key, &s, &f],
        )?;
        if !success {
            // Restored by the next success of its product there (one recorded earlier with a
            // later finish time, when history arrives out of order).
            self.exec(
                "INSERT INTO dora_failures(deployment_id, product_id, environment_id, completed_at, restored_at) \
                 SELECT $1, $2, $3, $4, (SELECT MIN(completed_at) FROM deployments WHERE product_id = $2 \
                 AND environment_id = $3 AND status = 'completed' AND (completed_at, id) > ($4, $1))",
                &[&d.key, &d.product_key, &d.environment_key, &at],
            )?;
            return Ok(());
        }
        // It restores the earlier failures of its product there whose restoring success, if
        // any, finished after it (history can arrive out of order).
        for sql in RESTORE_FAILURES {
            self.exec(sql, &[&d.product_key, &d.environment_key, &at, &d.key])?;
        }
        // The version's first success in this environment; the row is locked before it is
        // merged, as another environment's deployment may finish the same version meanwhile.
        let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let entry = format!("{}={at_text}", d.environment_key);
        let inserted = self.exec(
            &format!(
                "INSERT INTO dora_versions(version_id, product_id, firsts, first_at, first_env, last_first_at, \
                 lead_start_at) SELECT v.id, v.product_id, $2, $3, $4, $3, {LEAD_START} FROM versions v WHERE v.id = $1 \
                 ON CONFLICT (version_id) DO NOTHING"
            ),
            &[&d.version_key, &entry, &at, &d.environment_key],
        )?;
        if inserted > 0 {
            return Ok(());
        }
        let firsts: Option<String> = self.one(
            "SELECT firsts FROM dora_versions WHERE version_id = $1 FOR UPDATE",
            &[&d.version_key],
            |r| get(r, 0),
        )?;
        let Some(summary) = crate::insights::rollup::merge_first(
            firsts.as_deref().unwrap_or(""),
            d.environment_key,
            &at_text,
        ) else {
            return Ok(());
        };
        let instant = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| Error::internal(format!("cannot decode a stored instant: {e}")))
        };
        self.exec(
            "UPDATE dora_versions SET firsts = $2, first_at = $3, first_env = $4, last_first_at = $5 \
             WHERE version_id = $1",
            &[
                &d.version_key,
                &summary.firsts,
                &instant(&summary.first_at)?,
                &summary.first_env,
                &instant(&summary.last_at)?,
            ],
        )?;
        Ok(())
    }

    fn bulk(&mut self, _large: bool) -> Result<()> {
        // The server sizes its own buffers.
        Ok(())
    }

    fn refill_rollups(&mut self) -> Result<()> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.client
            .batch_execute(super::schema::PG_DORA_REFILL)
            .map_err(|e| pg_error("refilling the four keys' rollups", e))
    }

    fn dora_days(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::insights::rollup::DayCount>> {
        // Product 0 holds every product's counts.
        self.all(
            "SELECT day, successes, failures FROM dora_days \
             WHERE environment_id = $1 AND product_id = $4 AND day >= $2 AND day < $3",
            &[&environment_key, &from, &to, &product_key.unwrap_or(0)],
            |r| {
                Ok(crate::insights::rollup::DayCount {
                    day: get(r, 0)?,
                    successes: get::<i64>(r, 1)?.max(0) as u64,
                    failures: get::<i64>(r, 2)?.max(0) as u64,
                })
            },
        )
    }

    fn finished_between(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, Status)>> {
        self.all(
            "SELECT completed_at, status FROM deployments WHERE environment_id = $1 \
             AND status IN ('completed', 'failed') AND completed_at >= $2 AND completed_at < $3 \
             AND ($4::BIGINT IS NULL OR product_id = $4)",
            &[&environment_key, &from, &to, &product_key],
            |r| Ok((get(r, 0)?, parse(r, 1)?)),
        )
    }

    fn dora_firsts(
        &mut self,
        product_key: Option<i64>,
        scope: &[i64],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let sql = if product_key.is_some() {
            "SELECT first_at, first_env, firsts, lead_start_at FROM dora_versions \
             WHERE product_id = $3 AND last_first_at >= $1 AND first_at < $2"
        } else {
            "SELECT first_at, first_env, firsts, lead_start_at FROM dora_versions \
             WHERE last_first_at >= $1 AND first_at < $2 AND $3::BIGINT IS NULL"
        };
        let rows = self.all(sql, &[&since, &until, &product_key], |r| {
            let first_env: i64 = get(r, 1)?;
            let first: Option<DateTime<Utc>> = if scope.contains(&first_env) {
                Some(get(r, 0)?)
            } else {
                let firsts: &str = get(r, 2)?;
                crate::insights::rollup::first_in_scope(firsts, scope)
                    .map(|t| {
                        DateTime::parse_from_rfc3339(t)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|e| {
                                Error::internal(format!("cannot decode a stored instant: {e}"))
                            })
                    })
                    .transpose()?
            };
            Ok(match first {
                Some(f) if f >= since && f < until => Some((f, get(r, 3)?)),
                _ => None,
            })
        })?;
        Ok(rows.into_iter().flatten().collect())
    }

    fn dora_failures(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::insights::rollup::Failure>> {
        self.all(
            "SELECT completed_at, restored_at FROM dora_failures WHERE environment_id = $1 \
             AND completed_at >= $2 AND completed_at < $3 AND ($4::BIGINT IS NULL OR product_id = $4)",
            &[&environment_key, &since, &until, &product_key],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )
    }

    fn finished_deployments(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
    ) -> Result<Vec<crate::insights::FinishedDeployment>> {
        self.all(
            "SELECT d.id, d.product_id, d.environment_id, d.version_id, d.status, d.completed_at, \
             v.created_at, v.scm_committed_at, (SELECT MIN(b.started_at) FROM builds b WHERE b.version_id = d.version_id) \
             FROM deployments d JOIN versions v ON v.id = d.version_id \
             WHERE d.environment_id = $1 AND ($2::BIGINT IS NULL OR d.product_id = $2) \
             AND d.status IN ('completed', 'failed') AND d.completed_at IS NOT NULL",
            &[&environment_key, &product_key],
            |r| {
                Ok(crate::insights::FinishedDeployment {
                    key: get(r, 0)?,
                    product_key: get(r, 1)?,
                    environment_key: get(r, 2)?,
                    version_key: get(r, 3)?,
                    status: parse(r, 4)?,
                    completed_at: get(r, 5)?,
                    version_recorded_at: get(r, 6)?,
                    committed_at: get(r, 7)?,
                    first_build_started_at: get(r, 8)?,
                })
            },
        )
    }

    fn pairs(&mut self) -> Result<Vec<(Product, Environment)>> {
        self.all(
            "SELECT p.id, p.uid, p.name, p.created_at, p.description, p.extra_metadata, \
             e.id, e.uid, e.name, e.env_type, e.type_overridden, e.created_at, e.description, e.extra_metadata \
             FROM product_environments pe JOIN products p ON p.id = pe.product_id \
             JOIN environments e ON e.id = pe.environment_id ORDER BY p.name, e.name",
            &[],
            |r| Ok((product_row(r, 0)?, env_row(r, 6)?)),
        )
    }

    fn last_success(
        &mut self,
        product_key: i64,
        environment_key: i64,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<Deployment>> {
        self.one(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE d.id = (SELECT id FROM deployments WHERE product_id = $1 \
                 AND environment_id = $2 AND status = 'completed' AND ($3::TIMESTAMPTZ IS NULL OR completed_at <= $3) \
                 ORDER BY completed_at DESC, id DESC LIMIT 1)"
            ),
            &[&product_key, &environment_key, &at],
            deployment_row,
        )
    }

    fn open_for(&mut self, product_key: i64, environment_key: i64) -> Result<Vec<Deployment>> {
        self.all(
            &format!("{DEPLOYMENT_SELECT} WHERE d.environment_id = $2 AND d.is_open AND d.product_id = $1 ORDER BY d.id"),
            &[&product_key, &environment_key],
            deployment_row,
        )
    }

    fn begun_by(
        &mut self,
        product_key: i64,
        environment_key: i64,
        at: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Deployment>> {
        self.all(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE d.product_id = $1 AND d.environment_id = $2 \
                 AND d.deployed_at <= $3 ORDER BY d.deployed_at DESC, d.id DESC LIMIT $4"
            ),
            &[&product_key, &environment_key, &at, &i64::from(limit)],
            deployment_row,
        )
    }

    fn newest_begun(
        &mut self,
        product_key: i64,
        environment_key: i64,
        at: DateTime<Utc>,
    ) -> Result<Option<Attempt>> {
        self.one(
            "SELECT d.uid, d.status, d.completed_at FROM deployments d \
             WHERE d.product_id = $1 AND d.environment_id = $2 AND d.deployed_at <= $3 \
             ORDER BY d.deployed_at DESC, d.id DESC LIMIT 1",
            &[&product_key, &environment_key, &at],
            |r| {
                Ok(Attempt {
                    id: get(r, 0)?,
                    status: parse(r, 1)?,
                    completed_at: get(r, 2)?,
                })
            },
        )
    }

    fn rules(&mut self) -> Result<Vec<StoredRule>> {
        self.all(
            "SELECT definition, position, created_at, updated_at FROM rules ORDER BY position, id",
            &[],
            rule_row,
        )
    }

    fn rule(&mut self, name: &str) -> Result<Option<StoredRule>> {
        self.one(
            "SELECT definition, position, created_at, updated_at FROM rules WHERE name = $1",
            &[&name],
            rule_row,
        )
    }

    fn insert_rule(&mut self, rule: &Rule, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO rules(name, position, status, definition, created_at, updated_at) \
             VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM rules), $2, $3, $4, $4)",
            &[&rule.name, &rule.status.as_str(), &rule.to_json(), &now],
        )?;
        Ok(())
    }

    fn update_rule(&mut self, name: &str, rule: &Rule, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE rules SET name = $2, status = $3, definition = $4, updated_at = $5 WHERE name = $1",
            &[&name, &rule.name, &rule.status.as_str(), &rule.to_json(), &now],
        )?;
        Ok(())
    }

    fn delete_rule(&mut self, name: &str) -> Result<()> {
        self.exec("DELETE FROM rules WHERE name = $1", &[&name])?;
        Ok(())
    }

    fn insert_rule_status_change(&mut self, c: &RuleStatusChange) -> Result<()> {
        self.exec(
            "INSERT INTO rule_status_changes(rule_name, from_status, to_status, actor, reason, changed_at) \
             VALUES ($1,$2,$3,$4,$5,$6)",
            &[&c.rule_name, &c.from_status.as_str(), &c.to_status.as_str(), &c.actor, &c.reason, &c.changed_at],
        )?;
        Ok(())
    }

    fn rule_status_changes(&mut self, name: Option<&str>) -> Result<Vec<RuleStatusChange>> {
        self.all(
            "SELECT rule_name, from_status, to_status, actor, reason, changed_at FROM rule_status_changes \
             WHERE $1::TEXT IS NULL OR rule_name = $1 ORDER BY id",
            &[&name],
            |r| {
                Ok(RuleStatusChange {
                    rule_name: get(r, 0)?,
                    from_status: parse::<RuleStatus>(r, 1)?,
                    to_status: parse::<RuleStatus>(r, 2)?,
                    actor: get(r, 3)?,
                    reason: get(r, 4)?,
                    changed_at: get(r, 5)?,
                })
            },
        )
    }

    fn insert_approval(&mut self, version_key: i64, a: &Approval) -> Result<()> {
        self.exec(
            "INSERT INTO approvals(uid, version_id, approval_type, approver, approver_role, environment, comment, granted_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            &[&a.id, &version_key, &a.approval_type, &a.approver, &a.approver_role, &a.environment, &a.comment, &a.granted_at],
        )?;
        Ok(())
    }

    fn approvals(&mut self, version_key: i64) -> Result<Vec<Approval>> {
        self.all(
            &format!("{APPROVAL_SELECT} WHERE a.version_id = $1 ORDER BY a.id"),
            &[&version_key],
            approval_row,
        )
    }

    fn approval_by_id(&mut self, id: &str) -> Result<Option<Approval>> {
        self.one(
            &format!("{APPROVAL_SELECT} WHERE a.uid = $1"),
            &[&id],
            approval_row,
        )
    }

    fn revoke_approval(
        &mut self,
        id: &str,
        by: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "UPDATE approvals SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE uid = $1 AND revoked_at IS NULL",
            &[&id, &at, &by, &reason],
        )?;
        Ok(())
    }

    fn append_event(&mut self, e: &NewEvent) -> Result<i64> {
        // INVARIANT: the head row stays locked until commit, so a second writer waits here
        // and takes the next number only once this one has committed or rolled back.
        let (seq, previous): (i64, Option<String>) = self
            .one(
                "UPDATE outbox_head SET seq = seq + 1 RETURNING seq, hash",
                &[],
                |r| Ok((get(r, 0)?, get(r, 1)?)),
            )?
            .ok_or_else(|| Error::internal("the outbox head row is missing"))?;
        // The chain is hashed over the instant as the store keeps it (microseconds).
        let occurred_at = e
            .occurred_at
            .with_nanosecond(e.occurred_at.nanosecond() / 1000 * 1000)
            .unwrap_or(e.occurred_at);
        let hash = chain_hash(
            previous.as_deref(),
            seq,
            e.event_type,
            occurred_at,
            e.actor.as_deref(),
            e.subject.as_deref(),
            &e.payload,
        );
        // The row and the head's new hash in one statement (one round trip).
        self.exec(
            "WITH appended AS (INSERT INTO outbox(seq, event_type, occurred_at, actor, subject, payload, hash) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)) UPDATE outbox_head SET hash = $7",
            &[&seq, &e.event_type.as_str(), &occurred_at, &e.actor, &e.subject, &e.payload, &hash],
        )?;
        Ok(seq)
    }

    fn events_since(&mut self, after: i64, limit: u32) -> Result<Vec<DomainEvent>> {
        self.all(
            "SELECT seq, event_type, occurred_at, actor, subject, payload, hash FROM outbox \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &i64::from(limit)],
            |r| {
                Ok(DomainEvent {
                    seq: get(r, 0)?,
                    event_type: parse(r, 1)?,
                    occurred_at: get(r, 2)?,
                    actor: get(r, 3)?,
                    subject: get(r, 4)?,
                    payload: get(r, 5)?,
                    hash: get(r, 6)?,
                })
            },
        )
    }

    fn last_event_seq(&mut self) -> Result<i64> {
        Ok(self
            .one("SELECT seq FROM outbox_head", &[], |r| get(r, 0))?
            .unwrap_or(0))
    }

    fn consumer_cursor(&mut self, consumer: &str) -> Result<i64> {
        Ok(self
            .one(
                "SELECT seq FROM outbox_consumers WHERE name = $1",
                &[&consumer],
                |r| get(r, 0),
            )?
            .unwrap_or(0))
    }

    fn set_consumer_cursor(&mut self, consumer: &str, seq: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO outbox_consumers(name, seq, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT(name) DO UPDATE SET seq = GREATEST(outbox_consumers.seq, excluded.seq), updated_at = excluded.updated_at",
            &[&consumer, &seq, &at],
        )?;
        Ok(())
    }

    fn insert_decision(&mut self, d: &DecisionRecord) -> Result<()> {
        let (request, verdict, facts) = (
            d.request.clone(),
            to_value(&d.verdict)?,
            to_value(&d.facts)?,
        );
        self.exec(
            "INSERT INTO decisions(uid, recorded_at, product, version, environment, status, outcome, actor, \
             deployment_id, policy_hash, request, verdict, facts) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
            &[&d.id, &d.recorded_at, &d.product_name, &d.version, &d.environment_name, &d.status.as_str(),
              &d.outcome.as_str(), &d.actor, &d.deployment_id, &d.policy_hash, &request, &verdict, &facts],
        )?;
        Ok(())
    }

    fn decisions(
        &mut self,
        before: Option<i64>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        outcomes: &[DecisionOutcome],
        limit: u32,
    ) -> Result<Vec<(i64, DecisionRecord)>> {
        let outcomes: Vec<String> = outcomes.iter().map(|o| o.as_str().to_string()).collect();
        self.all(
            &format!(
                "{DECISION_SELECT} WHERE ($1::BIGINT IS NULL OR id < $1) \
                 AND ($2::TIMESTAMPTZ IS NULL OR recorded_at >= $2) \
                 AND ($3::TIMESTAMPTZ IS NULL OR recorded_at < $3) \
                 AND (cardinality($4::TEXT[]) = 0 OR outcome = ANY($4)) \
                 ORDER BY id DESC LIMIT $5"
            ),
            &[&before, &since, &until, &outcomes, &i64::from(limit)],
            decision_row,
        )
    }

    fn decision_by_deployment(&mut self, deployment_id: &str) -> Result<Option<DecisionRecord>> {
        self.one(
            &format!("{DECISION_SELECT} WHERE deployment_id = $1 ORDER BY id DESC LIMIT 1"),
            &[&deployment_id],
            decision_row,
        )
        .map(|d| d.map(|(_, d)| d))
    }

    fn put_policy(&mut self, hash: &str, rules: &Value, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO policies(hash, rules, first_seen) VALUES ($1, $2, $3) ON CONFLICT(hash) DO NOTHING",
            &[&hash, rules, &at],
        )?;
        Ok(())
    }

    fn policy(&mut self, hash: &str) -> Result<Option<Value>> {
        self.one(
            "SELECT rules FROM policies WHERE hash = $1",
            &[&hash],
            |r| get(r, 0),
        )
    }

    fn insert_api_key(&mut self, k: &StoredApiKey) -> Result<()> {
        self.exec(
            "INSERT INTO api_keys(id, name, principal, prefix, key_hash, created_at, last_used_at, revoked_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            &[&k.key.id, &k.key.name, &k.key.principal, &k.key.prefix, &k.key_hash, &k.key.created_at, &k.key.last_used_at, &k.key.revoked_at],
        )?;
        Ok(())
    }

    fn api_keys(&mut self) -> Result<Vec<ApiKey>> {
        self.all(
            &format!("{API_KEY_SELECT} ORDER BY k.created_at, k.id"),
            &[],
            api_key_row,
        )
    }

    fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>> {
        self.one(
            &format!("{API_KEY_SELECT} WHERE k.key_hash = $1 AND k.revoked_at IS NULL"),
            &[&key_hash],
            api_key_row,
        )
    }

    fn active_api_key(&mut self, name_or_id: &str) -> Result<Option<ApiKey>> {
        self.one(
            &format!(
                "{API_KEY_SELECT} WHERE k.revoked_at IS NULL AND (k.name = $1 OR k.id = $1) ORDER BY k.name = $1 DESC LIMIT 1"
            ),
            &[&name_or_id],
            api_key_row,
        )
    }

    fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &at],
        )?;
        Ok(())
    }

    fn touch_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
            &[&id, &at],
        )?;
        Ok(())
    }

    fn insert_session(
        &mut self,
        token_hash: &str,
        key: &ApiKey,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO sessions(token_hash, key_id, principal, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &token_hash,
                &key.id,
                &key.principal,
                &created_at,
                &expires_at,
            ],
        )?;
        Ok(())
    }

    fn session_by_hash(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        self.one(
            &format!(
                "{SESSION_SELECT} WHERE s.token_hash = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL"
            ),
            &[&token_hash, &now],
            |r| {
                Ok(Session {
                    key: api_key_row(r)?,
                    created_at: get(r, 8)?,
                    expires_at: get(r, 9)?,
                })
            },
        )
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])? > 0)
    }

    fn prune_sessions(&mut self, now: DateTime<Utc>) -> Result<()> {
        self.exec("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
        Ok(())
    }

    fn principal(&mut self, name: &str) -> Result<Option<Principal>> {
        self.one(
            &format!("{PRINCIPAL_SELECT} WHERE name_key = $1"),
            &[&principal_key(name)],
            principal_row,
        )
    }

    fn principals(&mut self) -> Result<Vec<Principal>> {
        self.all(
            &format!("{PRINCIPAL_SELECT} ORDER BY name_key"),
            &[],
            principal_row,
        )
    }

    fn insert_principal(&mut self, p: &Principal) -> Result<()> {
        self.exec(
            "INSERT INTO principals(name, name_key, role, created_at, updated_at) VALUES ($1,$2,$3,$4,$5)",
            &[&p.name, &principal_key(&p.name), &p.role.as_str(), &p.created_at, &p.updated_at],
        )?;
        Ok(())
    }

    fn set_principal_role(&mut self, name: &str, role: Role, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE principals SET role = $2, updated_at = $3 WHERE name_key = $1",
            &[&principal_key(name), &role.as_str(), &at],
        )?;
        Ok(())
    }

    fn setting(&mut self, name: &str) -> Result<Option<Value>> {
        self.one(
            "SELECT value FROM settings WHERE name = $1",
            &[&name],
            |r| get(r, 0),
        )
    }

    fn put_setting(&mut self, name: &str, value: Option<&Value>, at: DateTime<Utc>) -> Result<()> {
        match value {
            Some(v) => self.exec(
                "INSERT INTO settings(name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[&name, v, &at],
            )?,
            None => self.exec("DELETE FROM settings WHERE name = $1", &[&name])?,
        };
        Ok(())
    }

    fn idempotency_record(
        &mut self,
        scope: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>> {
        self.one(
            "SELECT scope, key, request_hash, result, status, content_type, body, created_at \
             FROM idempotency WHERE scope = $1 AND key = $2 AND created_at >= $3",
            &[&scope, &key, &since],
            |r| {
                let status: Option<i32> = get(r, 4)?;
                let body: Option<Vec<u8>> = get(r, 6)?;
                Ok(IdempotencyRecord {
                    scope: get(r, 0)?,
                    key: get(r, 1)?,
                    request_hash: get(r, 2)?,
                    result: get(r, 3)?,
                    answer: match (status.and_then(|s| u16::try_from(s).ok()), body) {
                        (Some(status), Some(body)) => {
                            Some(StoredAnswer::new(status, get(r, 5)?, body))
                        }
                        _ => None,
                    },
                    created_at: get(r, 7)?,
                })
            },
        )
    }

    fn put_idempotency_record(&mut self, rec: &IdempotencyRecord) -> Result<()> {
        let status = rec.answer.as_ref().map(|a| i32::from(a.status));
        let content_type = rec.answer.as_ref().and_then(|a| a.content_type.clone());
        let body = rec.answer.as_ref().map(|a| a.body.clone());
        self.exec(
            "INSERT INTO idempotency(scope, key, request_hash, result, status, content_type, body, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8) \
             ON CONFLICT(scope, key) DO UPDATE SET request_hash = excluded.request_hash, result = excluded.result, \
             status = excluded.status, content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at",
            &[&rec.scope, &rec.key, &rec.request_hash, &rec.result, &status, &content_type, &body, &rec.created_at],
        )?;
        Ok(())
    }

    fn prune_idempotency(&mut self, before: DateTime<Utc>) -> Result<()> {
        self.exec("DELETE FROM idempotency WHERE created_at < $1", &[&before])?;
        Ok(())
    }
    fn notification_channels(&mut self) -> Result<Vec<Channel>> {
        let rows: Vec<(Value, i64)> = self.all(
            "SELECT record, cursor_seq FROM notification_channels ORDER BY name",
            &[],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )?;
        rows.iter()
            .map(|(record, cursor)| Channel::from_record(record, *cursor))
            .collect()
    }

    fn insert_notification_channel(&mut self, c: &Channel) -> Result<()> {
        self.exec(
            "INSERT INTO notification_channels(uid, name, record, cursor_seq) VALUES ($1, $2, $3, $4)",
            &[&c.id, &c.name, &c.to_record(), &c.delivered_through],
        )?;
        Ok(())
    }

    fn update_notification_channel(&mut self, c: &Channel) -> Result<()> {
        self.exec(
            "UPDATE notification_channels SET name = $2, record = $3 WHERE uid = $1",
            &[&c.id, &c.name, &c.to_record()],
        )?;
        Ok(())
    }

    fn delete_notification_channel(&mut self, id: &str) -> Result<()> {
        self.exec(
            "DELETE FROM notification_preferences WHERE channel_uid = $1",
            &[&id],
        )?;
        self.exec("DELETE FROM notification_channels WHERE uid = $1", &[&id])?;
        Ok(())
    }

    fn notification_preferences(&mut self) -> Result<Vec<Preference>> {
        self.all(
            "SELECT record FROM notification_preferences ORDER BY id",
            &[],
            |r| from_json(r, 0),
        )
    }

    fn insert_notification_preference(&mut self, p: &Preference) -> Result<()> {
        self.exec(
            "INSERT INTO notification_preferences(uid, channel_uid, record) VALUES ($1, $2, $3)",
            &[&p.id, &p.channel_id, &to_value(p)?],
        )?;
        Ok(())
    }

    fn delete_notification_preference(&mut self, id: &str) -> Result<()> {
        self.exec(
            "DELETE FROM notification_preferences WHERE uid = $1",
            &[&id],
        )?;
        Ok(())
    }

    fn lease_notification_channel(
        &mut self,
        id: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        // INVARIANT: the UPDATE's row lock makes the check and the take one step: of several
        // servers, one holds a channel's lease at a time.
        self.one(
            "UPDATE notification_channels SET lease_holder = $2, lease_until = $4 WHERE uid = $1 \
             AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until IS NULL OR lease_until < $3) \
             RETURNING cursor_seq",
            &[&id, &holder, &now, &until],
            |r| get(r, 0),
        )
    }

    fn advance_notification_channel(
        &mut self,
        id: &str,
        holder: &str,
        seq: i64,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.exec(
            "UPDATE notification_channels SET cursor_seq = GREATEST(cursor_seq, $3), lease_until = $4 \
             WHERE uid = $1 AND lease_holder = $2",
            &[&id, &holder, &seq, &until],
        )?;
        Ok(n == 1)
    }

    fn release_notification_channel(&mut self, id: &str, holder: &str) -> Result<()> {
        self.exec(
            "UPDATE notification_channels SET lease_holder = NULL, lease_until = NULL \
             WHERE uid = $1 AND lease_holder = $2",
            &[&id, &holder],
        )?;
        Ok(())
    }

    fn insert_delivery(&mut self, d: &Delivery) -> Result<()> {
        self.exec(
            "INSERT INTO notification_history(uid, channel_uid, status, attempted_at, record) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &d.id,
                &d.channel_id,
                &d.status.as_str(),
                &d.attempted_at,
                &to_value(d)?,
            ],
        )?;
        Ok(())
    }

    fn deliveries(
        &mut self,
        channel: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let status = status.map(DeliveryStatus::as_str);
        let limit = i64::from(limit);
        self.all(
            "SELECT record FROM notification_history WHERE ($1::text IS NULL OR channel_uid = $1) \
             AND ($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT $3",
            &[&channel, &status, &limit],
            |r| from_json(r, 0),
        )
    }

    fn insert_request(&mut self, r: &DeploymentRequest) -> Result<()> {
        let key = self.insert_id(
            "INSERT INTO deployment_requests(uid, status, record) VALUES ($1, $2, $3) RETURNING id",
            &[&r.id, &r.status.as_str(), &to_value(r)?],
        )?;
        self.write_request_targets(key, r)
    }

    fn update_request(&mut self, r: &DeploymentRequest) -> Result<()> {
        let key = self
            .one(
                "UPDATE deployment_requests SET status = $2, record = $3 WHERE uid = $1 RETURNING id",
                &[&r.id, &r.status.as_str(), &to_value(r)?],
                |row| get::<i64>(row, 0),
            )?
            .ok_or_else(|| Error::internal("a Deployment Request vanished while writing"))?;
        self.write_request_targets(key, r)
    }

    fn request(&mut self, id: &str) -> Result<Option<DeploymentRequest>> {
        // In a write, the row stays locked until commit: two decisions on one DR never
        // overwrite each other.
        let sql = if self.for_update {
            "SELECT record FROM deployment_requests WHERE uid = $1 FOR UPDATE"
        } else {
            "SELECT record FROM deployment_requests WHERE uid = $1"
        };
        self.one(sql, &[&id], |r| from_json(r, 0))
    }

    fn requests(&mut self, status: Option<RequestStatus>) -> Result<Vec<DeploymentRequest>> {
        match status {
            Some(st) => self.all(
                "SELECT record FROM deployment_requests WHERE status = $1 ORDER BY id DESC",
                &[&st.as_str()],
                |r| from_json(r, 0),
            ),
            None => self.all(
                "SELECT record FROM deployment_requests ORDER BY id DESC",
                &[],
                |r| from_json(r, 0),
            ),
        }
    }

    fn requests_covering(
        &mut self,
        version_id: &str,
        environment_key: &str,
    ) -> Result<Vec<DeploymentRequest>> {
        let sql = if self.for_update {
            "SELECT r.record FROM deployment_requests r WHERE r.id IN (SELECT t.request_id FROM \
             deployment_request_targets t WHERE t.version_uid = $1 AND t.environment_key = $2) \
             AND r.status IN ('in_progress', 'approved', 'rejected') ORDER BY r.id FOR UPDATE"
        } else {
            "SELECT r.record FROM deployment_requests r WHERE r.id IN (SELECT t.request_id FROM \
             deployment_request_targets t WHERE t.version_uid = $1 AND t.environment_key = $2) \
             AND r.status IN ('in_progress', 'approved', 'rejected') ORDER BY r.id"
        };
        self.all(sql, &[&version_id, &environment_key], |r| from_json(r, 0))
    }

    fn request_templates(&mut self) -> Result<Vec<RequestTemplate>> {
        self.all(
            "SELECT record FROM deployment_request_templates ORDER BY name",
            &[],
            |r| from_json(r, 0),
        )
    }

    fn put_request_template(&mut self, t: &RequestTemplate) -> Result<()> {
        self.exec(
            "INSERT INTO deployment_request_templates(name, record) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET record = excluded.record",
            &[&t.name, &to_value(t)?],
        )?;
        Ok(())
    }

    fn delete_request_template(&mut self, name: &str) -> Result<bool> {
        Ok(self.exec(
            "DELETE FROM deployment_request_templates WHERE name = $1",
            &[&name],
        )? > 0)
    }
    fn enqueue(&mut self, environment_key: &str, entry: &QueueEntry) -> Result<()> {
        self.exec(
            "INSERT INTO wait_queue(uid, environment_key, record) VALUES ($1, $2, $3)",
            &[&entry.id, &environment_key, &to_value(entry)?],
        )?;
        Ok(())
    }

    fn update_ticket(&mut self, entry: &QueueEntry) -> Result<bool> {
        Ok(self.exec(
            "UPDATE wait_queue SET record = $2 WHERE uid = $1",
            &[&entry.id, &to_value(entry)?],
        )? > 0)
    }

    fn dequeue(&mut self, id: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM wait_queue WHERE uid = $1", &[&id])? > 0)
    }

    fn queue_tickets(&mut self, environment_key: Option<&str>) -> Result<Vec<QueueEntry>> {
        match environment_key {
            Some(k) => self.all(
                "SELECT record FROM wait_queue WHERE environment_key = $1 ORDER BY id",
                &[&k],
                |r| from_json(r, 0),
            ),
            None => self.all(
                "SELECT record FROM wait_queue ORDER BY environment_key, id",
                &[],
                |r| from_json(r, 0),
            ),
        }
    }
}

fn decision_row(r: &Row) -> Result<(i64, DecisionRecord)> {
    let mut verdict: crate::policy::Verdict = from_json(r, 12)?;
    verdict.refresh_derived();
    Ok((
        get(r, 0)?,
        DecisionRecord {
            id: get(r, 1)?,
            recorded_at: get(r, 2)?,
            product_name: get(r, 3)?,
            version: get(r, 4)?,
            environment_name: get(r, 5)?,
            status: parse(r, 6)?,
            outcome: parse(r, 7)?,
            actor: get(r, 8)?,
            deployment_id: get(r, 9)?,
            policy_hash: get(r, 10)?,
            request: get(r, 11)?,
            verdict,
            facts: from_json(r, 13)?,
        },
    ))
}

fn api_key_row(r: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: get(r, 0)?,
        name: get(r, 1)?,
        role: parse(r, 2)?,
        prefix: get(r, 3)?,
        created_at: get(r, 4)?,
        last_used_at: get(r, 5)?,
        revoked_at: get(r, 6)?,
        principal: get(r, 7)?,
    })
}

fn principal_row(r: &Row) -> Result<Principal> {
    Ok(Principal {
        name: get(r, 0)?,
        role: parse(r, 1)?,
        created_at: get(r, 2)?,
        updated_at: get(r, 3)?,
    })
}
