//! The embedded SQLite store (the default): one file, no setup.
//!
//! Settings: WAL journal, `synchronous=FULL` by default (an acknowledged event survives power
//! loss; `NORMAL` is an option that keeps the database consistent but may lose the last
//! transactions on power loss), a 30 s busy timeout, a 32 MiB page cache, foreign keys on, and
//! SQLite's query planner stability guarantee (QPSG) on: without it, bundled SQLite re-prepares
//! statements of the shape `WHERE … ORDER BY … LIMIT 1` on every run, which made preflight
//! reads 3–4× slower.
//! Every statement goes through the connection's statement cache.
//!
//! Write transactions start with `BEGIN IMMEDIATE`, taking the write lock before the first
//! read, so a preflight's reads and the recording write are one atomic step across threads and
//! processes, and a read-to-write upgrade can never fail with `SQLITE_BUSY`. Concurrent write
//! transactions share commits (group commit, `store/group.rs`).
//!
//! A file store has two connections: the writer, and a reader for read-only work (queries,
//! checks, the dashboard), which sees what is committed and never waits for the writer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::{Map, Value};

use super::group::{Access, GroupStats, Grouped};
use super::schema::{MIGRATIONS, SCHEMA_VERSION};
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

/// SQLite's durability setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is synced to disk before it is acknowledged (the default).
    #[default]
    Full,
    /// Commits are synced at checkpoints: faster; the last commits may be lost on power loss.
    Normal,
}

impl Synchronous {
    /// The lower-case name: `full` or `normal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Full => "full",
            Synchronous::Normal => "normal",
        }
    }
}

impl std::str::FromStr for Synchronous {
    type Err = Error;
    fn from_str(s: &str) -> Result<Synchronous> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            other => Err(Error::invalid(
                "synchronous",
                format!("unknown durability `{other}`; expected full or normal"),
            )),
        }
    }
}

/// Options for [`SqliteStore::open_with`].
///
/// Every surface reads them from one JSON object (see
/// [`SqliteOptions::from_json`]): `{"synchronous": "full" | "normal",
/// "busy_timeout_ms": 30000}`; a missing key keeps its default, an unknown key is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteOptions {
    /// Durability (default [`Synchronous::Full`]). JSON: `synchronous`, `"full"` or
    /// `"normal"` in any case.
    pub synchronous: Synchronous,
    /// How long to wait for another process's write lock (default 30 s). JSON:
    /// `busy_timeout_ms`, whole milliseconds.
    #[serde(rename = "busy_timeout_ms", deserialize_with = "crate::input::millis")]
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(30),
        }
    }
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Grouped,
    /// A second connection for reads on a file: they see what is committed, never wait for
    /// a group's commit, and run beside the writer (WAL).
    reader: Option<Mutex<Connection>>,
    path: Option<PathBuf>,
    rules: Mutex<RulesCache>,
    /// What the reader's transactions look up by name (see [`CatalogCache`]).
    catalog: Mutex<CatalogCache>,
}

/// The rules as last parsed, with the rows they were parsed from (see `SqliteTx::rules`).
#[derive(Debug, Default)]
struct RulesCache {
    rows: Vec<RuleRow>,
    rules: Vec<StoredRule>,
}

/// The catalog and the rules as of one committed state of the database, for reads (checks,
/// the dashboard): valid while the reader connection's `PRAGMA data_version` is unchanged,
/// which every commit of another connection (this store's writer, another process) changes.
/// Absent entries are remembered too (`None`: no such record then).
#[derive(Debug, Default)]
struct CatalogCache {
    generation: Option<i64>,
    products: HashMap<String, Option<Product>>,
    environments: HashMap<String, Option<Environment>>,
    versions: HashMap<(i64, String), Option<Version>>,
    rules: Option<Vec<StoredRule>>,
}

/// Entries kept at most, per kind, before the cache starts over.
const CATALOG_CACHE_ENTRIES: usize = 4096;

impl CatalogCache {
    /// The cache for `generation`, emptied when it was filled at another.
    fn at(&mut self, generation: i64) -> &mut CatalogCache {
        if self.generation != Some(generation) {
            *self = CatalogCache {
                generation: Some(generation),
                ..CatalogCache::default()
            };
        }
        self
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Remembers `value` under `key` in `map`, starting the map over when it is full.
fn remember<K: std::hash::Hash + Eq, V: Clone>(map: &mut HashMap<K, V>, key: K, value: &V) {
    if map.len() >= CATALOG_CACHE_ENTRIES {
        map.clear();
    }
    map.insert(key, value.clone());
}

/// A `rules` row as stored: everything a [`StoredRule`] is made of.
#[derive(Debug, Clone, PartialEq)]
struct RuleRow {
    definition: String,
    position: i64,
    created_at: String,
    updated_at: String,
}

impl RuleRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<RuleRow> {
        Ok(RuleRow {
            definition: row.get(0)?,
            position: row.get(1)?,
            created_at: row.get(2)?,
            updated_at: row.get(3)?,
        })
    }

    /// Whether `row` (columns as in [`RuleRow::read`]) holds exactly this, without copying it.
    fn same_as(&self, row: &Row<'_>) -> rusqlite::Result<bool> {
        Ok(row.get_ref(0)?.as_str()? == self.definition
            && row.get::<_, i64>(1)? == self.position
            && row.get_ref(2)?.as_str()? == self.created_at
            && row.get_ref(3)?.as_str()? == self.updated_at)
    }

    fn parse(&self) -> rusqlite::Result<StoredRule> {
        let def: Value = serde_json::from_str(&self.definition).map_err(|e| conversion(0, e))?;
        let time = |idx: usize, s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| conversion(idx, e))
        };
        Ok(StoredRule {
            rule: Rule::from_json(&def).map_err(|e| conversion(0, e))?,
            position: self.position,
            created_at: time(2, &self.created_at)?,
            updated_at: time(3, &self.updated_at)?,
        })
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with default options, running
    /// any pending migrations. Equals `open_with(path, SqliteOptions::default())`.
    ///
    /// # Errors
    /// `STORAGE` when the file cannot be opened or was written by a newer library.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteStore::open_with(path, &SqliteOptions::default())
    }

    /// Opens the database file at `path` with `options`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref();
        let open = || {
            Connection::open(path).map_err(|e| {
                Error::storage(format!("cannot open database `{}`: {e}", path.display()), e)
            })
        };
        let mut conn = open()?;
        tune(&conn, options)?;
        keep_subjournals_in_memory(&conn)?;
        enable_wal(&conn, options.busy_timeout)?;
        migrate(&mut conn)?;
        // Opened once the schema is current.
        let reader = open()?;
        tune(&reader, options)?;
        Ok(SqliteStore {
            conn: Grouped::new(conn),
            reader: Some(Mutex::new(reader)),
            path: Some(path.to_path_buf()),
            rules: Mutex::default(),
            catalog: Mutex::default(),
        })
    }

    /// A private in-memory database (for tests and dry runs).
    ///
    /// # Errors
    /// `STORAGE` if SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let mut conn = Connection::open_in_memory()?;
        tune(&conn, &SqliteOptions::default())?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Grouped::new(conn),
            // Another connection would be another database: reads share the writer's.
            reader: None,
            path: None,
            rules: Mutex::default(),
            catalog: Mutex::default(),
        })
    }

    /// The file path, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How this store's transactions were committed in groups since it was opened (see
    /// `store/group.rs`): concurrent callers sharing it share commits.
    pub fn group_stats(&self) -> GroupStats {
        self.conn.stats()
    }

    /// The schema version of the open database.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.conn.idle()?;
        Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

/// The settings of each connection (see the module's documentation).
fn tune(conn: &Connection, options: &SqliteOptions) -> Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(64);
    // A 32 MiB page cache (SQLite's default is 2 MiB; allocated as used): on a history of
    // a million deployments (≈ 600 MB) the state matrix read half its pages from the OS
    // with the default, 1.5× its cost on a small history (benches/, growth).
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(())
}

/// The writer's temporary storage in memory (`PRAGMA temp_store = MEMORY`), so the
/// sub-journal of each savepoint stays in memory.
///
/// A member of a shared commit (`store/group.rs`) runs in a `SAVEPOINT`, and SQLite keeps the
/// prior content of every page it changes that an earlier member had already changed (the
/// chain's page, index leaves, page 1), ≈ 30 pages of an event, so the member alone can roll
/// back. By default that sub-journal moves to a temporary file past 64 KiB: 20 `pwrite`s per
/// event at 32 clients, more than the WAL's own. It is per transaction and per member, so its
/// size is bounded by one event's pages; the temporary tables of the writer's own statements
/// (GROUP BY and DISTINCT in the rollups' refills) are small.
fn keep_subjournals_in_memory(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The page cache of each connection, in KiB (see [`tune`]).
const CACHE_KIB: i64 = 32_768;

/// The writer's page cache during a large import, in KiB (see `Tx::bulk`): a million events
/// make a database of about 600 MB, whose hot index pages no longer fit the usual cache.
const BULK_CACHE_KIB: i64 = 524_288;

/// Switches the file to WAL, waiting up to `timeout` for other handles. On a file not yet in
/// WAL the switch writes the header from inside a read transaction, where SQLite answers busy
/// at once instead of calling the busy handler (it would deadlock): handles opening a new file
/// at the same moment would fail with "database is locked" without this retry.
fn enable_wal(conn: &Connection, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) => {
                if !mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(mode, "SQLite could not switch to WAL");
                }
                return Ok(());
            }
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs the pending migrations, each in an IMMEDIATE transaction that re-reads the version,
/// so two processes opening a new file at once migrate it once.
fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(sql) = usize::try_from(current)
            .ok()
            .and_then(|i| MIGRATIONS.get(i))
        else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
        tracing::info!(version = current + 1, "migrated the database schema");
    }
}

impl super::sealed::Sealed for SqliteStore {}

impl Store for SqliteStore {
    fn connections(&self) -> super::ConnectionUse {
        // One connection, busy while a transaction holds its lock.
        let reader = self
            .reader
            .as_ref()
            .map(|r| u32::from(r.try_lock().is_ok()));
        let open = 1 + u32::from(reader.is_some());
        let idle = u32::from(self.conn.is_free()) + reader.unwrap_or(0);
        super::ConnectionUse::new(open, idle, open).with_groups(self.conn.stats())
    }

    fn write(&self, _lock: &LockScope, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.conn.run(Access::Write, &mut |conn| {
            f(&mut SqliteTx {
                conn,
                rules: &self.rules,
                catalog: None,
            })
        })
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        if let Some(reader) = &self.reader {
            let mut conn = reader.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            // Read first: it starts the snapshot, so the cache matches what `f` reads.
            let generation: i64 = tx
                .prepare_cached("PRAGMA data_version")?
                .query_row([], |r| r.get(0))?;
            f(&mut SqliteTx {
                conn: &tx,
                rules: &self.rules,
                catalog: Some((&self.catalog, generation)),
            })?;
            tx.commit()?;
            return Ok(());
        }
        self.conn.run(Access::Read, &mut |conn| {
            f(&mut SqliteTx {
                conn,
                rules: &self.rules,
                catalog: None,
            })
        })
    }

    fn backup_to(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(Error::invalid(
                "file",
                format!(
                    "`{}` already exists; back up to a new file (a backup never overwrites)",
                    dest.display()
                ),
            ));
        }
        let conn = self.conn.idle()?;
        let copied = Connection::open(dest)
            .map_err(|e| Error::storage(format!("cannot create `{}`: {e}", dest.display()), e))
            .and_then(|mut out| copy_database(&conn, &mut out))
            .and_then(|()| check_backup(dest).map(|_| ()));
        if copied.is_err() {
            // No half backup left behind to be mistaken for a good one.
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", dest.display()));
            }
        }
        copied
    }

    fn restore_from(&self, src: &Path) -> Result<()> {
        check_backup(src)?;
        let source = Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| {
            Error::invalid("file", format!("cannot open `{}`: {e}", src.display()))
        })?;
        let mut conn = self.conn.idle()?;
        copy_database(&source, &mut conn)?;
        // A backup of an older schema is brought up to date, as on any open.
        migrate(&mut conn)
    }
}

/// Copies every page of `from` into `to` with SQLite's online backup API, in one step: the
/// step holds a read transaction on `from`, so the copy is one consistent snapshot even while
/// other connections (other processes) keep writing, and it is never restarted by them.
fn copy_database(from: &Connection, to: &mut Connection) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let backup = Backup::new(from, to)?;
    // A writer of another process holding the lock: wait for it, for up to 30 s.
    for _ in 0..600 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::Busy | StepResult::Locked => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {}
        }
    }
    Err(Error::Storage {
        message: "the database stayed locked by another writer for 30 s; try the backup again"
            .into(),
        source: None,
    })
}

/// Checks that `path` is a sound Versioner database this library reads: it opens, passes
/// `PRAGMA integrity_check`, holds the schema (`outbox`) and is not of a newer schema.
/// Returns its schema version.
fn check_backup(path: &Path) -> Result<i64> {
    let shown = path.display();
    if !path.is_file() {
        return Err(Error::invalid("file", format!("`{shown}` is not a file")));
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::invalid("file", format!("cannot open `{shown}`: {e}")))?;
    let not_sqlite = |e: rusqlite::Error| {
        Error::invalid(
            "file",
            format!("`{shown}` is not a readable SQLite database: {e}"),
        )
    };
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(not_sqlite)?;
    if integrity != "ok" {
        return Err(Error::invalid(
            "file",
            format!("`{shown}` fails SQLite's integrity check: {integrity}"),
        ));
    }
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(not_sqlite)?;
    let has_schema: bool = conn
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox')",
            [],
            |r| r.get(0),
        )
        .map_err(not_sqlite)?;
    if version == 0 || !has_schema {
        return Err(Error::invalid(
            "file",
            format!("`{shown}` is a SQLite database but not a Versioner one (no schema)"),
        ));
    }
    if version > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

struct SqliteTx<'a> {
    conn: &'a Connection,
    rules: &'a Mutex<RulesCache>,
    /// In a reader transaction: the catalog cache and the state (`data_version`) it reads.
    catalog: Option<(&'a Mutex<CatalogCache>, i64)>,
}

/// Marks restored at `?3` the failures of product `?1` in environment `?2` that finished
/// before the success (`?3`, key `?4`) and are not restored (the first statement), or were
/// restored by a success finishing after it (the second; history can arrive out of order): it
/// is their next success now. Each is a range of the index on (product, environment,
/// restored_at), so failures restored long ago are not read.
const RESTORE_FAILURES: [&str; 2] = [
    "UPDATE dora_failures INDEXED BY dora_failures_by_restore SET restored_at = ?3 \
     WHERE product_id = ?1 AND environment_id = ?2 AND restored_at IS NULL \
     AND (completed_at < ?3 OR (completed_at = ?3 AND deployment_id < ?4))",
    "UPDATE dora_failures INDEXED BY dora_failures_by_restore SET restored_at = ?3 \
     WHERE product_id = ?1 AND environment_id = ?2 AND restored_at > ?3 \
     AND (completed_at < ?3 OR (completed_at = ?3 AND deployment_id < ?4))",
];

/// Times are stored as fixed-width RFC 3339 UTC text, so text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn conversion(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

/// Reads an instant as stored (`2026-11-30T12:00:00.000000Z`, the form [`ts`] writes) without
/// the general RFC 3339 parser: a history of a million rows reads a few million of them. Any
/// other form goes through the general parser.
fn parse_stored(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 27
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[26] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_micro_opt(
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
        num(20, 26)?,
    )?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod instant_tests {
    use super::*;

    proptest::proptest! {
        /// The fast path reads every stored instant as the general parser does, and declines
        /// anything else.
        #[test]
        fn the_fast_path_agrees_with_rfc3339(secs in -62_000_000_000i64..250_000_000_000, micros in 0u32..1_000_000) {
            let t = DateTime::from_timestamp(secs, micros * 1000).unwrap();
            let text = ts(t);
            let general = DateTime::parse_from_rfc3339(&text).unwrap().with_timezone(&Utc);
            if text.len() == 27 {
                proptest::prop_assert_eq!(parse_stored(&text), Some(general));
            } else {
                proptest::prop_assert_eq!(parse_stored(&text), None);
            }
            proptest::prop_assert_eq!(parse_instant(&text, 0).unwrap(), general);
        }
    }

    #[test]
    fn other_forms_fall_back() {
        for s in [
            "2026-11-30T12:00:00Z",
            "2026-11-30T12:00:00.000000+01:00",
            "2026-13-30T12:00:00.000000Z",
            "2026-11-30T12:0a:00.000000Z",
        ] {
            assert_eq!(parse_stored(s), None, "{s}");
        }
        assert_eq!(
            parse_instant("2026-11-30T12:00:00.000000+01:00", 0).unwrap(),
            parse_stored("2026-11-30T11:00:00.000000Z").unwrap()
        );
    }
}

fn parse_instant(s: &str, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    match parse_stored(s) {
        Some(t) => Ok(t),
        None => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| conversion(idx, e)),
    }
}

fn dt(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    parse_instant(row.get_ref(idx)?.as_str()?, idx)
}

fn opt_dt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get_ref(idx)?
        .as_str_or_null()?
        .map(|s| parse_instant(s, idx))
        .transpose()
}

fn status(row: &Row<'_>, idx: usize) -> rusqlite::Result<Status> {
    row.get_ref(idx)?
        .as_str()?
        .parse::<Status>()
        .map_err(|e| conversion(idx, e))
}

fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s).map_err(|e| conversion(idx, e))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("cannot encode a record: {e}")))
}

/// Distinct values in first-seen order (cheaper than SQL `DISTINCT`/`UNION` temp B-trees for
/// the handful of rows involved).
fn dedupe(mut values: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values.retain(|v| seen.insert(v.clone()));
    values
}

fn new_uid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn product_row(row: &Row<'_>) -> rusqlite::Result<Product> {
    product_at(row, 0)
}

/// A product from the [`PRODUCT_COLS`] starting at column `o`.
fn product_at(row: &Row<'_>, o: usize) -> rusqlite::Result<Product> {
    Ok(Product {
        key: row.get(o)?,
        id: row.get(o + 1)?,
        name: row.get(o + 2)?,
        created_at: dt(row, o + 3)?,
        description: row.get(o + 4)?,
        extra_metadata: json(row, o + 5)?,
    })
}

fn env_row(row: &Row<'_>) -> rusqlite::Result<Environment> {
    env_at(row, 0)
}

/// An environment from the [`ENV_COLS`] starting at column `o`.
fn env_at(row: &Row<'_>, o: usize) -> rusqlite::Result<Environment> {
    let ty: String = row.get(o + 3)?;
    Ok(Environment {
        key: row.get(o)?,
        id: row.get(o + 1)?,
        name: row.get(o + 2)?,
        env_type: ty.parse().map_err(|e| conversion(o + 3, e))?,
        type_overridden: row.get(o + 4)?,
        created_at: dt(row, o + 5)?,
        description: row.get(o + 6)?,
        extra_metadata: json(row, o + 7)?,
    })
}

fn version_row(row: &Row<'_>) -> rusqlite::Result<Version> {
    Ok(Version {
        key: row.get(0)?,
        id: row.get(1)?,
        product_key: row.get(2)?,
        product_id: row.get(3)?,
        product_name: row.get(4)?,
        version: row.get(5)?,
        scm_sha: row.get(6)?,
        scm_branch: row.get(7)?,
        scm_repository: row.get(8)?,
        build_number: row.get(9)?,
        build_url: row.get(10)?,
        built_by: row.get(11)?,
        created_at: dt(row, 12)?,
        scm_committed_at: opt_dt(row, 13)?,
    })
}

fn build_row(row: &Row<'_>) -> rusqlite::Result<Build> {
    Ok(Build {
        key: row.get(0)?,
        id: row.get(1)?,
        version_key: row.get(2)?,
        version_id: row.get(3)?,
        product_id: row.get(4)?,
        product_name: row.get(5)?,
        version: row.get(6)?,
        status: status(row, 7)?,
        started_at: opt_dt(row, 8)?,
        completed_at: opt_dt(row, 9)?,
        created_at: dt(row, 10)?,
        updated_at: dt(row, 11)?,
        fields: json(row, 12)?,
        extra_metadata: json::<Map<String, Value>>(row, 13)?,
    })
}

fn deployment_row(row: &Row<'_>) -> rusqlite::Result<Deployment> {
    let preflight: Option<String> = row.get(18)?;
    Ok(Deployment {
        key: row.get(0)?,
        id: row.get(1)?,
        product_key: row.get(2)?,
        product_id: row.get(3)?,
        product_name: row.get(4)?,
        version_key: row.get(5)?,
        version_id: row.get(6)?,
        version: row.get(7)?,
        environment_key: row.get(8)?,
        environment_id: row.get(9)?,
        environment_name: row.get(10)?,
        status: status(row, 11)?,
        deployed_at: dt(row, 12)?,
        started_at: opt_dt(row, 13)?,
        completed_at: opt_dt(row, 14)?,
        updated_at: dt(row, 15)?,
        fields: json(row, 16)?,
        extra_metadata: json::<Map<String, Value>>(row, 17)?,
        preflight: preflight
            .map(|s| {
                serde_json::from_str::<crate::policy::Preflight>(&s)
                    .map(|mut p| {
                        p.verdict.refresh_derived();
                        p
                    })
                    .map_err(|e| conversion(18, e))
            })
            .transpose()?,
    })
}

fn approval_row(row: &Row<'_>) -> rusqlite::Result<Approval> {
    Ok(Approval {
        id: row.get(0)?,
        product_name: row.get(1)?,
        version: row.get(2)?,
        version_id: row.get(3)?,
        approval_type: row.get(4)?,
        approver: row.get(5)?,
        approver_role: row.get(6)?,
        environment: row.get(7)?,
        comment: row.get(8)?,
        granted_at: dt(row, 9)?,
        revoked_at: opt_dt(row, 10)?,
        revoked_by: row.get(11)?,
        revoke_reason: row.get(12)?,
    })
}

fn rule_row(row: &Row<'_>) -> rusqlite::Result<StoredRule> {
    let def: Value = json(row, 0)?;
    let rule = Rule::from_json(&def).map_err(|e| conversion(0, e))?;
    Ok(StoredRule {
        rule,
        position: row.get(1)?,
        created_at: dt(row, 2)?,
        updated_at: dt(row, 3)?,
    })
}

fn rule_status(s: &str) -> rusqlite::Result<RuleStatus> {
    s.parse().map_err(|e| conversion(0, e))
}

impl SqliteTx<'_> {
    /// The rules as stored, parsed again only where their rows changed.
    fn rules_read(&self) -> Result<Vec<StoredRule>> {
        let mut cache = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stmt = self.conn.prepare_cached(
            "SELECT definition, position, created_at, updated_at FROM rules ORDER BY position, id",
        )?;
        let mut rows = stmt.query([])?;
        let mut changed: Option<Vec<RuleRow>> = None;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            match &mut changed {
                Some(fresh) => fresh.push(RuleRow::read(row)?),
                None => {
                    let same = match cache.rows.get(n) {
                        Some(cached) => cached.same_as(row)?,
                        None => false,
                    };
                    if !same {
                        let mut fresh = cache.rows[..n].to_vec();
                        fresh.push(RuleRow::read(row)?);
                        changed = Some(fresh);
                    }
                }
            }
            n += 1;
        }
        if changed.is_none() && n != cache.rows.len() {
            changed = Some(cache.rows[..n].to_vec());
        }
        if let Some(fresh) = changed {
            cache.rules = fresh
                .iter()
                .map(RuleRow::parse)
                .collect::<rusqlite::Result<Vec<_>>>()?;
            cache.rows = fresh;
        }
        Ok(cache.rules.clone())
    }

    /// `lookup` through the catalog cache in a reader transaction (entry `key` of the map
    /// `pick` chooses); straight to the database in a write transaction.
    fn cached<K: std::hash::Hash + Eq, V: Clone>(
        &self,
        pick: fn(&mut CatalogCache) -> &mut HashMap<K, V>,
        key: K,
        lookup: impl FnOnce(&Self) -> Result<V>,
    ) -> Result<V> {
        let Some((cache, generation)) = self.catalog else {
            return lookup(self);
        };
        if let Some(hit) = pick(lock(cache).at(generation)).get(&key) {
            return Ok(hit.clone());
        }
        let found = lookup(self)?;
        remember(pick(lock(cache).at(generation)), key, &found);
        Ok(found)
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        Ok(stmt.query_row(params, map).optional()?)
    }

    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, map)?;
        Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
    }

    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        Ok(stmt.execute(params)?)
    }

    /// Rewrites the version × environment pairs a Deployment Request targets.
    fn write_request_targets(&self, r: &DeploymentRequest) -> Result<()> {
        let key: i64 = self
            .one(
                "SELECT id FROM deployment_requests WHERE uid = ?1",
                [&r.id],
                |row| row.get(0),
            )?
            .ok_or_else(|| Error::internal("a Deployment Request vanished while writing"))?;
        self.exec(
            "DELETE FROM deployment_request_targets WHERE request_id = ?1",
            [key],
        )?;
        for (version, env) in super::request_targets(r) {
            self.exec(
                "INSERT INTO deployment_request_targets(request_id, version_uid, environment_key) \
                 VALUES (?1, ?2, ?3)",
                params![key, version, env],
            )?;
        }
        Ok(())
    }
}

impl super::sealed::Sealed for SqliteTx<'_> {}

impl Tx for SqliteTx<'_> {
    fn product(&mut self, name: &str) -> Result<Option<Product>> {
        self.cached(
            |c| &mut c.products,
            name.to_string(),
            |t| {
                t.one(
                    &format!("SELECT {PRODUCT_COLS} FROM products WHERE name = ?1"),
                    [name],
                    product_row,
                )
            },
        )
    }

    fn insert_product(&mut self, name: &str, now: DateTime<Utc>) -> Result<Product> {
        let uid = new_uid();
        self.exec(
            "INSERT INTO products(uid, name, created_at) VALUES (?1, ?2, ?3)",
            params![uid, name, ts(now)],
        )?;
        Ok(Product {
            key: self.conn.last_insert_rowid(),
            id: uid,
            name: name.to_string(),
            description: None,
            extra_metadata: Map::new(),
            created_at: now,
        })
    }

    fn products(&mut self) -> Result<Vec<Product>> {
        self.all(
            &format!("SELECT {PRODUCT_COLS} FROM products ORDER BY name"),
            [],
            product_row,
        )
    }

    fn environment(&mut self, name: &str) -> Result<Option<Environment>> {
        self.cached(
            |c| &mut c.environments,
            name.to_string(),
            |t| {
                t.one(
                    &format!("SELECT {ENV_COLS} FROM environments WHERE name = ?1"),
                    [name],
                    env_row,
                )
            },
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
            "INSERT INTO environments(uid, name, env_type, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![uid, name, env_type.as_str(), ts(now)],
        )?;
        Ok(Environment {
            key: self.conn.last_insert_rowid(),
            id: uid,
            name: name.to_string(),
            env_type,
            type_overridden: false,
            description: None,
            extra_metadata: Map::new(),
            created_at: now,
        })
    }

    fn update_product(&mut self, key: i64, entry: &CatalogEntry<'_>) -> Result<()> {
        self.exec(
            "UPDATE products SET name = ?2, description = ?3, extra_metadata = ?4 WHERE id = ?1",
            params![
                key,
                entry.name,
                entry.description,
                to_json(entry.extra_metadata)?
            ],
        )?;
        Ok(())
    }

    fn update_environment(&mut self, key: i64, entry: &CatalogEntry<'_>) -> Result<()> {
        self.exec(
            "UPDATE environments SET name = ?2, description = ?3, extra_metadata = ?4 WHERE id = ?1",
            params![
                key,
                entry.name,
                entry.description,
                to_json(entry.extra_metadata)?
            ],
        )?;
        Ok(())
    }

    fn set_environment_type(
        &mut self,
        key: i64,
        env_type: EnvironmentType,
        overridden: bool,
    ) -> Result<()> {
        self.exec(
            "UPDATE environments SET env_type = ?2, type_overridden = ?3 WHERE id = ?1",
            params![key, env_type.as_str(), overridden],
        )?;
        Ok(())
    }

    fn environments(&mut self) -> Result<Vec<Environment>> {
        let mut envs = self.all(
            &format!("SELECT {ENV_COLS} FROM environments ORDER BY name"),
            [],
            env_row,
        )?;
        envs.sort_by(|a, b| {
            a.env_type
                .cmp(&b.env_type)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(envs)
    }

    fn version(&mut self, product: &Product, version: &str) -> Result<Option<Version>> {
        self.cached(
            |c| &mut c.versions,
            (product.key, version.to_string()),
            |t| {
                t.one(
                    &format!("{VERSION_SELECT} WHERE v.product_id = ?1 AND v.version = ?2"),
                    params![product.key, version],
                    version_row,
                )
            },
        )
    }

    fn version_by_id(&mut self, id: &str) -> Result<Option<Version>> {
        self.one(
            &format!("{VERSION_SELECT} WHERE v.uid = ?1"),
            [id],
            version_row,
        )
    }

    fn versions(&mut self, product: &Product, page: Page) -> Result<Vec<Version>> {
        self.all(
            &format!(
                "{VERSION_SELECT} WHERE v.product_id = ?1 ORDER BY v.id DESC LIMIT ?2 OFFSET ?3"
            ),
            params![product.key, page.limit, page.offset],
            version_row,
        )
    }

    fn versions_by_sha(&mut self, sha_prefix: &str) -> Result<Vec<Version>> {
        let upper = format!("{sha_prefix}g");
        self.all(
            &format!("{VERSION_SELECT} WHERE v.scm_sha >= ?1 AND v.scm_sha < ?2 ORDER BY v.id DESC LIMIT 1000"),
            params![sha_prefix, upper],
            version_row,
        )
    }

    fn insert_version(&mut self, v: &Version) -> Result<Version> {
        self.exec(
            "INSERT INTO versions(uid, product_id, version, scm_sha, scm_branch, scm_repository, \
             build_number, build_url, built_by, created_at, scm_committed_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            params![
                v.id,
                v.product_key,
                v.version,
                v.scm_sha,
                v.scm_branch,
                v.scm_repository,
                v.build_number,
                v.build_url,
                v.built_by,
                ts(v.created_at),
                v.scm_committed_at.map(ts)
            ],
        )?;
        let mut out = v.clone();
        out.key = self.conn.last_insert_rowid();
        Ok(out)
    }

    fn update_version(&mut self, v: &Version) -> Result<()> {
        self.exec(
            "UPDATE versions SET scm_sha = ?2, scm_branch = ?3, scm_repository = ?4, build_number = ?5, \
             build_url = ?6, built_by = ?7, scm_committed_at = ?8 WHERE id = ?1",
            params![
                v.key,
                v.scm_sha,
                v.scm_branch,
                v.scm_repository,
                v.build_number,
                v.build_url,
                v.built_by,
                v.scm_committed_at.map(ts)
            ],
        )?;
        self.exec(REFRESH_LEAD_START, [v.key])?;
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
                 WHERE e.invoke_id = ?1 AND e.status = ?2 AND x.version_id = ?3 ORDER BY e.id DESC LIMIT 1)"
            ),
            params![invoke_id, status.as_str(), version_key],
            build_row,
        )
    }

    fn newest_open_build(&mut self, version_key: i64) -> Result<Option<Build>> {
        self.one(
            &format!("{BUILD_SELECT} WHERE b.version_id = ?1 AND b.is_open = 1 ORDER BY b.id DESC LIMIT 1"),
            [version_key],
            build_row,
        )
    }

    fn insert_build(&mut self, b: &Build) -> Result<i64> {
        self.exec(
            "INSERT INTO builds(uid, version_id, status, is_open, built_by, started_at, completed_at, \
             created_at, updated_at, fields, extra_metadata) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            params![
                b.id,
                b.version_key,
                b.status.as_str(),
                b.status.is_open(),
                b.fields.built_by,
                b.started_at.map(ts),
                b.completed_at.map(ts),
                ts(b.created_at),
                ts(b.updated_at),
                to_json(&b.fields)?,
                to_json(&b.extra_metadata)?
            ],
        )?;
        let key = self.conn.last_insert_rowid();
        self.exec(REFRESH_LEAD_START, [b.version_key])?;
        Ok(key)
    }

    fn update_build(&mut self, b: &Build) -> Result<()> {
        self.exec(
            "UPDATE builds SET status = ?2, is_open = ?3, built_by = ?4, started_at = ?5, completed_at = ?6, \
             updated_at = ?7, fields = ?8, extra_metadata = ?9 WHERE id = ?1",
            params![
                b.key,
                b.status.as_str(),
                b.status.is_open(),
                b.fields.built_by,
                b.started_at.map(ts),
                b.completed_at.map(ts),
                ts(b.updated_at),
                to_json(&b.fields)?,
                to_json(&b.extra_metadata)?
            ],
        )?;
        self.exec(REFRESH_LEAD_START, [b.version_key])?;
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
            "INSERT INTO build_events(build_id, status, invoke_id, recorded_at, payload) VALUES (?1,?2,?3,?4,?5)",
            params![build_key, status.as_str(), invoke_id, ts(at), to_json(payload)?],
        )?;
        Ok(())
    }

    fn builders(&mut self, version_key: i64) -> Result<Vec<String>> {
        self.all(
            "SELECT built_by FROM builds WHERE version_id = ?1 AND built_by IS NOT NULL \
             UNION ALL SELECT json_extract(fields, '$.recorded_by') FROM builds \
               WHERE version_id = ?1 AND json_extract(fields, '$.recorded_by') IS NOT NULL \
             UNION ALL SELECT built_by FROM versions WHERE id = ?1 AND built_by IS NOT NULL",
            [version_key],
            |r| r.get::<_, String>(0),
        )
        .map(dedupe)
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
                 JOIN deployments x ON x.id = e.deployment_id WHERE e.invoke_id = ?1 AND e.status = ?2 \
                 AND x.product_id = ?3 AND x.version_id = ?4 AND x.environment_id = ?5 ORDER BY e.id DESC LIMIT 1)"
            ),
            params![invoke_id, status.as_str(), product_key, version_key, environment_key],
            deployment_row,
        )
    }

    fn newest_open_deployment(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
    ) -> Result<Option<Deployment>> {
        // The unary `+` keeps the planner on the small partial index `deployments_open`:
        // with ANALYZE statistics (`PRAGMA optimize`) it otherwise picks
        // `deployments_by_version` and reads every past deployment of this version to this
        // environment on each event (found by benches/: 0.3 ms → 3.7 ms per round at 100k).
        self.one(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE d.environment_id = ?3 AND d.is_open = 1 AND +d.product_id = ?1 \
                 AND +d.version_id = ?2 ORDER BY d.id DESC LIMIT 1"
            ),
            params![product_key, version_key, environment_key],
            deployment_row,
        )
    }

    fn open_deployments(&mut self, environment_key: i64) -> Result<Vec<(i64, OpenDeployment)>> {
        self.all(
            "SELECT d.id, d.uid, p.name, v.version, d.status, COALESCE(d.started_at, d.deployed_at) \
             FROM deployments d JOIN products p ON p.id = d.product_id JOIN versions v ON v.id = d.version_id \
             WHERE d.environment_id = ?1 AND d.is_open = 1 ORDER BY d.id",
            [environment_key],
            |r| {
                Ok((
                    r.get(0)?,
                    OpenDeployment {
                        id: r.get(1)?,
                        product_name: r.get(2)?,
                        version: r.get(3)?,
                        status: status(r, 4)?,
                        started_at: dt(r, 5)?,
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
        // `deployed_at` is a started deployment's recorded start: the time index bounds the
        // read to the window, whatever the length of history.
        self.all(
            "SELECT d.id, d.uid, p.name, v.version, d.started_at \
             FROM deployments d JOIN products p ON p.id = d.product_id JOIN versions v ON v.id = d.version_id \
             WHERE d.deployed_at >= ?3 AND d.deployed_at <= ?2 AND d.environment_id = ?1 \
             AND d.started_at IS NOT NULL AND d.started_at <= ?2 \
             AND (d.is_open = 1 OR d.updated_at > ?2) ORDER BY d.id",
            params![environment_key, ts(at), ts(since)],
            |r| {
                Ok((
                    r.get(0)?,
                    OpenDeployment {
                        id: r.get(1)?,
                        product_name: r.get(2)?,
                        version: r.get(3)?,
                        // In progress at `at`, whatever it became since.
                        status: Status::Started,
                        started_at: dt(r, 4)?,
                    },
                ))
            },
        )
    }

    fn deployment_by_id(&mut self, id: &str) -> Result<Option<Deployment>> {
        self.one(
            &format!("{DEPLOYMENT_SELECT} WHERE d.uid = ?1"),
            [id],
            deployment_row,
        )
    }

    fn insert_deployment(&mut self, d: &Deployment) -> Result<i64> {
        self.exec(
            "INSERT INTO deployments(uid, product_id, version_id, environment_id, status, is_open, deployed_at, \
             started_at, completed_at, updated_at, fields, extra_metadata) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
            params![
                d.id,
                d.product_key,
                d.version_key,
                d.environment_key,
                d.status.as_str(),
                d.status.is_open(),
                ts(d.deployed_at),
                d.started_at.map(ts),
                d.completed_at.map(ts),
                ts(d.updated_at),
                to_json(&d.fields)?,
                to_json(&d.extra_metadata)?
            ],
        )?;
        let key = self.conn.last_insert_rowid();
        if let Some(p) = &d.preflight {
            self.set_preflight(key, p)?;
        }
        self.exec(
            "INSERT OR IGNORE INTO product_environments(product_id, environment_id) VALUES (?1, ?2)",
            params![d.product_key, d.environment_key],
        )?;
        Ok(key)
    }

    fn update_deployment(&mut self, d: &Deployment) -> Result<()> {
        self.exec(
            "UPDATE deployments SET status = ?2, is_open = ?3, started_at = ?4, completed_at = ?5, updated_at = ?6, \
             fields = ?7, extra_metadata = ?8 WHERE id = ?1",
            params![
                d.key,
                d.status.as_str(),
                d.status.is_open(),
                d.started_at.map(ts),
                d.completed_at.map(ts),
                ts(d.updated_at),
                to_json(&d.fields)?,
                to_json(&d.extra_metadata)?
            ],
        )?;
        Ok(())
    }

    fn set_preflight(&mut self, deployment_key: i64, preflight: &Preflight) -> Result<()> {
        self.exec(
            "INSERT INTO preflights(deployment_id, preflight) VALUES (?1, ?2) \
             ON CONFLICT(deployment_id) DO UPDATE SET preflight = excluded.preflight",
            params![deployment_key, to_json(preflight)?],
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
            "INSERT INTO deployment_events(deployment_id, status, invoke_id, recorded_at, payload) VALUES (?1,?2,?3,?4,?5)",
            params![deployment_key, status.as_str(), invoke_id, ts(at), to_json(payload)?],
        )?;
        Ok(())
    }

    fn imported_line(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM imported_lines WHERE key = ?1",
                params![key],
                |r| r.get::<_, i64>(0),
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
            ImportKind::Build => "UPDATE builds SET imported_at = ?2 WHERE id = ?1",
            ImportKind::Deployment => "UPDATE deployments SET imported_at = ?2 WHERE id = ?1",
        };
        self.exec(update, params![record_key, ts(at)])?;
        self.exec(
            "INSERT INTO imported_lines(key, kind, record_id, imported_at) VALUES (?1,?2,?3,?4)",
            params![line_key, kind.as_str(), record_key, ts(at)],
        )?;
        Ok(())
    }

    fn builds_after(&mut self, after: i64, limit: u32) -> Result<Vec<Build>> {
        self.all(
            &format!("{BUILD_SELECT} WHERE b.id > ?1 ORDER BY b.id LIMIT ?2"),
            params![after, i64::from(limit)],
            build_row,
        )
    }

    fn deployments_after(&mut self, after: i64, limit: u32) -> Result<Vec<Deployment>> {
        self.all(
            &format!("{DEPLOYMENT_SELECT} WHERE d.id > ?1 ORDER BY d.id LIMIT ?2"),
            params![after, i64::from(limit)],
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
        // Recorded times (a completed deployment's `updated_at` is when its completion was
        // recorded), so a back-dated `completed_at` cannot satisfy a soak. One range read of
        // this version's successful deployments there (few rows, served by
        // `deployments_by_version`) gives both the first and the last.
        let (first, last) = self
            .one(
                "SELECT MIN(updated_at), MAX(updated_at) FROM deployments WHERE product_id = ?1 \
                 AND environment_id = ?3 AND version_id = ?2 AND status = 'completed' AND updated_at <= ?4",
                params![product_key, version_key, environment_key, ts(at)],
                |r| Ok((opt_dt(r, 0)?, opt_dt(r, 1)?)),
            )?
            .unwrap_or((None, None));
        let superseded = match last {
            None => None,
            Some(last) => self.one(
                "SELECT d.updated_at, v.version FROM deployments d JOIN versions v ON v.id = d.version_id \
                 WHERE d.product_id = ?1 AND d.environment_id = ?2 AND d.status = 'completed' \
                 AND d.updated_at > ?3 AND d.version_id != ?4 AND d.updated_at <= ?5 ORDER BY d.updated_at ASC, d.id ASC LIMIT 1",
                params![product_key, environment_key, ts(last), version_key, ts(at)],
                |r| Ok((dt(r, 0)?, r.get::<_, String>(1)?)),
            )?,
        };
        Ok(Stint {
            first_success_at: first,
            last_success_at: last,
            superseded,
        })
    }

    fn history(&mut self, f: &HistoryFilter) -> Result<Vec<Deployment>> {
        // Only the filters given go into the SQL, so the planner uses the index that serves
        // them (`deployments_by_start` for a product and an environment). With
        // `(?1 IS NULL OR d.product_id = ?1) AND …` the single plan made at prepare time
        // walked `deployments_by_time` from the newest deployment of any product until it
        // had found `limit` matches (found by benches/: 7–13 ms for 50 rows of a quiet pair).
        use rusqlite::types::Value as Sql;
        let mut sql = format!("{DEPLOYMENT_SELECT} WHERE 1");
        let mut args: Vec<Sql> = Vec::new();
        let mut filter = |condition: &str, value: Option<Sql>| {
            if let Some(v) = value {
                sql.push_str(" AND ");
                sql.push_str(condition);
                args.push(v);
            }
        };
        filter("d.product_id = ?", f.product.map(Sql::Integer));
        filter("d.environment_id = ?", f.environment.map(Sql::Integer));
        filter("d.version_id = ?", f.version.map(Sql::Integer));
        filter(
            "d.status = ?",
            f.status.map(|s| Sql::Text(s.as_str().to_string())),
        );
        filter(
            "json_extract(f.preflight, '$.status') = ?",
            f.preflight.map(|p| Sql::Text(p.as_str().to_string())),
        );
        filter("d.deployed_at >= ?", f.since.map(|t| Sql::Text(ts(t))));
        filter("d.deployed_at < ?", f.until.map(|t| Sql::Text(ts(t))));
        sql.push_str(" ORDER BY d.deployed_at DESC, d.id DESC LIMIT ?");
        args.push(Sql::Integer(i64::from(f.limit)));
        self.all(&sql, rusqlite::params_from_iter(args), deployment_row)
    }

    fn roll_up_finish(&mut self, d: &Deployment) -> Result<()> {
        let Some(completed_at) = d.completed_at else {
            return Ok(());
        };
        let success = match d.status {
            Status::Completed => true,
            Status::Failed => false,
            _ => return Ok(()),
        };
        let at = ts(completed_at);
        self.exec(
            "INSERT INTO dora_days(environment_id, day, product_id, successes, failures) \
             VALUES (?1, ?2, ?3, ?4, ?5), (?1, ?2, 0, ?4, ?5) \
             ON CONFLICT(environment_id, product_id, day) DO UPDATE SET \
             successes = successes + excluded.successes, failures = failures + excluded.failures",
            params![
                d.environment_key,
                &at[..10],
                d.product_key,
                i64::from(success),
                i64::from(!success)
            ],
        )?;
        if !success {
            // Restored by the next success of its product there (one recorded earlier with a
            // later finish time, when history arrives out of order).
            let restored: Option<String> = self
                .one(
                    "SELECT MIN(completed_at) FROM deployments WHERE product_id = ?1 AND environment_id = ?2 \
                     AND status = 'completed' AND (completed_at > ?3 OR (completed_at = ?3 AND id > ?4))",
                    params![d.product_key, d.environment_key, at, d.key],
                    |r| r.get(0),
                )?
                .flatten();
            self.exec(
                "INSERT INTO dora_failures(deployment_id, product_id, environment_id, completed_at, restored_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![d.key, d.product_key, d.environment_key, at, restored],
            )?;
            return Ok(());
        }
        // It restores the earlier failures of its product there whose restoring success, if
        // any, finished after it (history can arrive out of order).
        for sql in RESTORE_FAILURES {
            self.exec(sql, params![d.product_key, d.environment_key, at, d.key])?;
        }
        // The version's first success in this environment.
        let firsts: Option<String> = self.one(
            "SELECT firsts FROM dora_versions WHERE version_id = ?1",
            [d.version_key],
            |r| r.get(0),
        )?;
        let Some(summary) = crate::insights::rollup::merge_first(
            firsts.as_deref().unwrap_or(""),
            d.environment_key,
            &at,
        ) else {
            return Ok(());
        };
        if firsts.is_some() {
            self.exec(
                "UPDATE dora_versions SET firsts = ?2, first_at = ?3, first_env = ?4, last_first_at = ?5 \
                 WHERE version_id = ?1",
                params![
                    d.version_key,
                    summary.firsts,
                    summary.first_at,
                    summary.first_env,
                    summary.last_at
                ],
            )?;
        } else {
            self.exec(
                &format!(
                    "INSERT INTO dora_versions(version_id, product_id, firsts, first_at, first_env, last_first_at, \
                     lead_start_at) SELECT v.id, v.product_id, ?2, ?3, ?4, ?5, {LEAD_START} FROM versions v WHERE v.id = ?1"
                ),
                params![
                    d.version_key,
                    summary.firsts,
                    summary.first_at,
                    summary.first_env,
                    summary.last_at
                ],
            )?;
        }
        Ok(())
    }

    fn bulk(&mut self, large: bool) -> Result<()> {
        let kib = if large { BULK_CACHE_KIB } else { CACHE_KIB };
        self.conn.pragma_update(None, "cache_size", -kib)?;
        Ok(())
    }

    fn refill_rollups(&mut self) -> Result<()> {
        self.conn.execute_batch(super::schema::SQLITE_DORA_REFILL)?;
        Ok(())
    }

    fn dora_days(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::insights::rollup::DayCount>> {
        let (from, to) = (from.to_string(), to.to_string());
        // Product 0 holds every product's counts.
        self.all(
            "SELECT day, successes, failures FROM dora_days \
             WHERE environment_id = ?1 AND product_id = ?4 AND day >= ?2 AND day < ?3",
            params![environment_key, from, to, product_key.unwrap_or(0)],
            |r| {
                Ok(crate::insights::rollup::DayCount {
                    day: r
                        .get_ref(0)?
                        .as_str()?
                        .parse()
                        .map_err(|e| conversion(0, e))?,
                    successes: r.get::<_, i64>(1)?.max(0) as u64,
                    failures: r.get::<_, i64>(2)?.max(0) as u64,
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
            "SELECT completed_at, status FROM deployments WHERE environment_id = ?1 \
             AND status IN ('completed', 'failed') AND completed_at >= ?2 AND completed_at < ?3 \
             AND (?4 IS NULL OR product_id = ?4)",
            params![environment_key, ts(from), ts(to), product_key],
            |r| Ok((dt(r, 0)?, status(r, 1)?)),
        )
    }

    fn dora_firsts(
        &mut self,
        product_key: Option<i64>,
        scope: &[i64],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let (since, until) = (ts(since), ts(until));
        let sql = if product_key.is_some() {
            "SELECT first_at, first_env, firsts, lead_start_at FROM dora_versions \
             WHERE product_id = ?3 AND last_first_at >= ?1 AND first_at < ?2"
        } else {
            "SELECT first_at, first_env, firsts, lead_start_at FROM dora_versions \
             WHERE last_first_at >= ?1 AND first_at < ?2 AND ?3 IS NULL"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![since, until, product_key])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            // The earliest success anywhere is in scope most of the time: then `firsts` is
            // not read.
            let first_env: i64 = r.get(1)?;
            let first = if scope.contains(&first_env) {
                r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?
            } else {
                match crate::insights::rollup::first_in_scope(
                    r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                    scope,
                ) {
                    Some(at) => at,
                    None => continue,
                }
            };
            if first < since.as_str() || first >= until.as_str() {
                continue;
            }
            out.push((parse_instant(first, 0)?, dt(r, 3)?));
        }
        Ok(out)
    }

    fn dora_failures(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::insights::rollup::Failure>> {
        self.all(
            "SELECT completed_at, restored_at FROM dora_failures WHERE environment_id = ?1 \
             AND completed_at >= ?2 AND completed_at < ?3 AND (?4 IS NULL OR product_id = ?4)",
            params![environment_key, ts(since), ts(until), product_key],
            |r| Ok((dt(r, 0)?, opt_dt(r, 1)?)),
        )
    }

    fn finished_deployments(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
    ) -> Result<Vec<crate::insights::FinishedDeployment>> {
        // A version's lead-time facts repeat on each of its deployments: read them once.
        type VersionFacts = (DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let mut versions: HashMap<i64, VersionFacts> = HashMap::new();
        self.all(
            "SELECT d.id, d.product_id, d.environment_id, d.version_id, d.status, d.completed_at, \
             v.created_at, v.scm_committed_at, b.first \
             FROM deployments d JOIN versions v ON v.id = d.version_id \
             LEFT JOIN (SELECT version_id, MIN(started_at) AS first FROM builds GROUP BY version_id) b \
             ON b.version_id = d.version_id \
             WHERE d.environment_id = ?1 AND (?2 IS NULL OR d.product_id = ?2) \
             AND d.status IN ('completed', 'failed') AND d.completed_at IS NOT NULL",
            params![environment_key, product_key],
            |r| {
                let version_key: i64 = r.get(3)?;
                let facts = match versions.get(&version_key) {
                    Some(f) => *f,
                    None => {
                        let f = (dt(r, 6)?, opt_dt(r, 7)?, opt_dt(r, 8)?);
                        versions.insert(version_key, f);
                        f
                    }
                };
                Ok(crate::insights::FinishedDeployment {
                    key: r.get(0)?,
                    product_key: r.get(1)?,
                    environment_key: r.get(2)?,
                    version_key,
                    status: status(r, 4)?,
                    completed_at: dt(r, 5)?,
                    version_recorded_at: facts.0,
                    committed_at: facts.1,
                    first_build_started_at: facts.2,
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
            [],
            |r| Ok((product_at(r, 0)?, env_at(r, 6)?)),
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
                "{DEPLOYMENT_SELECT} WHERE d.id = (SELECT id FROM deployments WHERE product_id = ?1 \
                 AND environment_id = ?2 AND status = 'completed' AND (?3 IS NULL OR completed_at <= ?3) \
                 ORDER BY completed_at DESC, id DESC LIMIT 1)"
            ),
            params![product_key, environment_key, at.map(ts)],
            deployment_row,
        )
    }

    fn open_for(&mut self, product_key: i64, environment_key: i64) -> Result<Vec<Deployment>> {
        self.all(
            &format!(
                "{DEPLOYMENT_SELECT} WHERE d.environment_id = ?2 AND d.is_open = 1 AND d.product_id = ?1 ORDER BY d.id"
            ),
            params![product_key, environment_key],
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
                "{DEPLOYMENT_SELECT} WHERE d.product_id = ?1 AND d.environment_id = ?2 \
                 AND d.deployed_at <= ?3 ORDER BY d.deployed_at DESC, d.id DESC LIMIT ?4"
            ),
            params![product_key, environment_key, ts(at), limit],
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
             WHERE d.product_id = ?1 AND d.environment_id = ?2 AND d.deployed_at <= ?3 \
             ORDER BY d.deployed_at DESC, d.id DESC LIMIT 1",
            params![product_key, environment_key, ts(at)],
            |r| {
                Ok(Attempt {
                    id: r.get(0)?,
                    status: status(r, 1)?,
                    completed_at: opt_dt(r, 2)?,
                })
            },
        )
    }

    fn rules(&mut self) -> Result<Vec<StoredRule>> {
        let Some((cache, generation)) = self.catalog else {
            return self.rules_read();
        };
        if let Some(rules) = &lock(cache).at(generation).rules {
            return Ok(rules.clone());
        }
        let rules = self.rules_read()?;
        lock(cache).at(generation).rules = Some(rules.clone());
        Ok(rules)
    }

    fn rule(&mut self, name: &str) -> Result<Option<StoredRule>> {
        self.one(
            "SELECT definition, position, created_at, updated_at FROM rules WHERE name = ?1",
            [name],
            rule_row,
        )
    }

    fn insert_rule(&mut self, rule: &Rule, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO rules(name, position, status, definition, created_at, updated_at) \
             VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM rules), ?2, ?3, ?4, ?4)",
            params![
                rule.name,
                rule.status.as_str(),
                to_json(&rule.to_json())?,
                ts(now)
            ],
        )?;
        Ok(())
    }

    fn update_rule(&mut self, name: &str, rule: &Rule, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE rules SET name = ?2, status = ?3, definition = ?4, updated_at = ?5 WHERE name = ?1",
            params![name, rule.name, rule.status.as_str(), to_json(&rule.to_json())?, ts(now)],
        )?;
        Ok(())
    }

    fn delete_rule(&mut self, name: &str) -> Result<()> {
        self.exec("DELETE FROM rules WHERE name = ?1", [name])?;
        Ok(())
    }

    fn insert_rule_status_change(&mut self, c: &RuleStatusChange) -> Result<()> {
        self.exec(
            "INSERT INTO rule_status_changes(rule_name, from_status, to_status, actor, reason, changed_at) \
             VALUES (?1,?2,?3,?4,?5,?6)",
            params![
                c.rule_name,
                c.from_status.as_str(),
                c.to_status.as_str(),
                c.actor,
                c.reason,
                ts(c.changed_at)
            ],
        )?;
        Ok(())
    }

    fn rule_status_changes(&mut self, name: Option<&str>) -> Result<Vec<RuleStatusChange>> {
        self.all(
            "SELECT rule_name, from_status, to_status, actor, reason, changed_at FROM rule_status_changes \
             WHERE ?1 IS NULL OR rule_name = ?1 ORDER BY id",
            [name],
            |r| {
                Ok(RuleStatusChange {
                    rule_name: r.get(0)?,
                    from_status: rule_status(&r.get::<_, String>(1)?)?,
                    to_status: rule_status(&r.get::<_, String>(2)?)?,
                    actor: r.get(3)?,
                    reason: r.get(4)?,
                    changed_at: dt(r, 5)?,
                })
            },
        )
    }

    fn insert_approval(&mut self, version_key: i64, a: &Approval) -> Result<()> {
        self.exec(
            "INSERT INTO approvals(uid, version_id, approval_type, approver, approver_role, environment, comment, granted_at) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![
                a.id,
                version_key,
                a.approval_type,
                a.approver,
                a.approver_role,
                a.environment,
                a.comment,
                ts(a.granted_at)
            ],
        )?;
        Ok(())
    }

    fn approvals(&mut self, version_key: i64) -> Result<Vec<Approval>> {
        self.all(
            &format!("{APPROVAL_SELECT} WHERE a.version_id = ?1 ORDER BY a.id"),
            [version_key],
            approval_row,
        )
    }

    fn approval_by_id(&mut self, id: &str) -> Result<Option<Approval>> {
        self.one(
            &format!("{APPROVAL_SELECT} WHERE a.uid = ?1"),
            [id],
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
            "UPDATE approvals SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE uid = ?1 AND revoked_at IS NULL",
            params![id, ts(at), by, reason],
        )?;
        Ok(())
    }

    fn append_event(&mut self, e: &NewEvent) -> Result<i64> {
        // SQLite's single writer makes the commit order the sequence order: the writer holds
        // the lock, so the newest row read here is the one this event follows and chains to.
        // Rows are never deleted, so `seq` is never reused; a rolled-back append leaves no gap.
        let head: Option<(i64, Option<String>)> = self.one(
            "SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (seq, previous) = match head {
            Some((last, hash)) => (last + 1, hash),
            None => (1, None),
        };
        let hash = chain_hash(
            previous.as_deref(),
            seq,
            e.event_type,
            e.occurred_at,
            e.actor.as_deref(),
            e.subject.as_deref(),
            &e.payload,
        );
        self.exec(
            "INSERT INTO outbox(seq, event_type, occurred_at, actor, subject, payload, hash) \
             VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![
                seq,
                e.event_type.as_str(),
                ts(e.occurred_at),
                e.actor,
                e.subject,
                to_json(&e.payload)?,
                hash
            ],
        )?;
        Ok(seq)
    }

    fn events_since(&mut self, after: i64, limit: u32) -> Result<Vec<DomainEvent>> {
        self.all(
            "SELECT seq, event_type, occurred_at, actor, subject, payload, hash FROM outbox \
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            params![after, limit],
            event_row,
        )
    }

    fn last_event_seq(&mut self) -> Result<i64> {
        Ok(self
            .one("SELECT COALESCE(MAX(seq), 0) FROM outbox", [], |r| r.get(0))?
            .unwrap_or(0))
    }

    fn consumer_cursor(&mut self, consumer: &str) -> Result<i64> {
        Ok(self
            .one(
                "SELECT seq FROM outbox_consumers WHERE name = ?1",
                [consumer],
                |r| r.get(0),
            )?
            .unwrap_or(0))
    }

    fn set_consumer_cursor(&mut self, consumer: &str, seq: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO outbox_consumers(name, seq, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at",
            params![consumer, seq, ts(at)],
        )?;
        Ok(())
    }

    fn insert_decision(&mut self, d: &DecisionRecord) -> Result<()> {
        self.exec(
            "INSERT INTO decisions(uid, recorded_at, product, version, environment, status, outcome, actor, \
             deployment_id, policy_hash, request, verdict, facts) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
            params![
                d.id,
                ts(d.recorded_at),
                d.product_name,
                d.version,
                d.environment_name,
                d.status.as_str(),
                d.outcome.as_str(),
                d.actor,
                d.deployment_id,
                d.policy_hash,
                to_json(&d.request)?,
                to_json(&d.verdict)?,
                to_json(&d.facts)?
            ],
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
        let outcomes: Vec<&str> = outcomes.iter().map(|o| o.as_str()).collect();
        let outcome_list = to_json(&outcomes)?;
        self.all(
            &format!(
                "{DECISION_SELECT} WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR recorded_at >= ?2) \
                 AND (?3 IS NULL OR recorded_at < ?3) \
                 AND (?4 = '[]' OR outcome IN (SELECT value FROM json_each(?4))) \
                 ORDER BY id DESC LIMIT ?5"
            ),
            params![before, since.map(ts), until.map(ts), outcome_list, limit],
            decision_row,
        )
    }

    fn decision_by_deployment(&mut self, deployment_id: &str) -> Result<Option<DecisionRecord>> {
        self.one(
            &format!("{DECISION_SELECT} WHERE deployment_id = ?1 ORDER BY id DESC LIMIT 1"),
            [deployment_id],
            decision_row,
        )
        .map(|d| d.map(|(_, d)| d))
    }

    fn put_policy(&mut self, hash: &str, rules: &Value, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO policies(hash, rules, first_seen) VALUES (?1, ?2, ?3) ON CONFLICT(hash) DO NOTHING",
            params![hash, to_json(rules)?, ts(at)],
        )?;
        Ok(())
    }

    fn policy(&mut self, hash: &str) -> Result<Option<Value>> {
        self.one("SELECT rules FROM policies WHERE hash = ?1", [hash], |r| {
            json(r, 0)
        })
    }

    fn insert_api_key(&mut self, k: &StoredApiKey) -> Result<()> {
        self.exec(
            "INSERT INTO api_keys(id, name, principal, prefix, key_hash, created_at, last_used_at, revoked_at) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![
                k.key.id,
                k.key.name,
                k.key.principal,
                k.key.prefix,
                k.key_hash,
                ts(k.key.created_at),
                k.key.last_used_at.map(ts),
                k.key.revoked_at.map(ts)
            ],
        )?;
        Ok(())
    }

    fn api_keys(&mut self) -> Result<Vec<ApiKey>> {
        self.all(
            &format!("{API_KEY_SELECT} ORDER BY k.created_at, k.id"),
            [],
            api_key_row,
        )
    }

    fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>> {
        self.one(
            &format!("{API_KEY_SELECT} WHERE k.key_hash = ?1 AND k.revoked_at IS NULL"),
            [key_hash],
            api_key_row,
        )
    }

    fn active_api_key(&mut self, name_or_id: &str) -> Result<Option<ApiKey>> {
        self.one(
            &format!(
                "{API_KEY_SELECT} WHERE k.revoked_at IS NULL AND (k.name = ?1 OR k.id = ?1) ORDER BY k.name = ?1 DESC LIMIT 1"
            ),
            [name_or_id],
            api_key_row,
        )
    }

    fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    fn touch_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
            params![id, ts(at)],
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
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_hash,
                key.id,
                key.principal,
                ts(created_at),
                ts(expires_at)
            ],
        )?;
        Ok(())
    }

    fn session_by_hash(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        self.one(
            &format!(
                "{SESSION_SELECT} WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND k.revoked_at IS NULL"
            ),
            params![token_hash, ts(now)],
            |r| {
                Ok(Session {
                    key: api_key_row(r)?,
                    created_at: dt(r, 8)?,
                    expires_at: dt(r, 9)?,
                })
            },
        )
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
    }

    fn prune_sessions(&mut self, now: DateTime<Utc>) -> Result<()> {
        self.exec("DELETE FROM sessions WHERE expires_at <= ?1", [ts(now)])?;
        Ok(())
    }

    fn principal(&mut self, name: &str) -> Result<Option<Principal>> {
        self.one(
            &format!("{PRINCIPAL_SELECT} WHERE name_key = ?1"),
            [principal_key(name)],
            principal_row,
        )
    }

    fn principals(&mut self) -> Result<Vec<Principal>> {
        self.all(
            &format!("{PRINCIPAL_SELECT} ORDER BY name_key"),
            [],
            principal_row,
        )
    }

    fn insert_principal(&mut self, p: &Principal) -> Result<()> {
        self.exec(
            "INSERT INTO principals(name, name_key, role, created_at, updated_at) VALUES (?1,?2,?3,?4,?5)",
            params![
                p.name,
                principal_key(&p.name),
                p.role.as_str(),
                ts(p.created_at),
                ts(p.updated_at)
            ],
        )?;
        Ok(())
    }

    fn set_principal_role(&mut self, name: &str, role: Role, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE principals SET role = ?2, updated_at = ?3 WHERE name_key = ?1",
            params![principal_key(name), role.as_str(), ts(at)],
        )?;
        Ok(())
    }

    fn setting(&mut self, name: &str) -> Result<Option<Value>> {
        self.one("SELECT value FROM settings WHERE name = ?1", [name], |r| {
            json::<Value>(r, 0)
        })
    }

    fn put_setting(&mut self, name: &str, value: Option<&Value>, at: DateTime<Utc>) -> Result<()> {
        match value {
            Some(v) => self.exec(
                "INSERT INTO settings(name, value, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![name, to_json(v)?, ts(at)],
            )?,
            None => self.exec("DELETE FROM settings WHERE name = ?1", [name])?,
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
             FROM idempotency WHERE scope = ?1 AND key = ?2 AND created_at >= ?3",
            params![scope, key, ts(since)],
            |row| {
                let result: Option<String> = row.get(3)?;
                let status: Option<u16> = row.get(4)?;
                let body: Option<Vec<u8>> = row.get(6)?;
                Ok(IdempotencyRecord {
                    scope: row.get(0)?,
                    key: row.get(1)?,
                    request_hash: row.get(2)?,
                    result: result
                        .map(|r| serde_json::from_str(&r).map_err(|e| conversion(3, e)))
                        .transpose()?,
                    answer: match (status, body) {
                        (Some(status), Some(body)) => {
                            Some(StoredAnswer::new(status, row.get(5)?, body))
                        }
                        _ => None,
                    },
                    created_at: dt(row, 7)?,
                })
            },
        )
    }

    fn put_idempotency_record(&mut self, r: &IdempotencyRecord) -> Result<()> {
        let result = r.result.as_ref().map(to_json).transpose()?;
        self.exec(
            "INSERT OR REPLACE INTO idempotency(scope, key, request_hash, result, status, content_type, body, created_at) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![
                r.scope,
                r.key,
                r.request_hash,
                result,
                r.answer.as_ref().map(|a| a.status),
                r.answer.as_ref().and_then(|a| a.content_type.clone()),
                r.answer.as_ref().map(|a| a.body.clone()),
                ts(r.created_at)
            ],
        )?;
        Ok(())
    }

    fn prune_idempotency(&mut self, before: DateTime<Utc>) -> Result<()> {
        self.exec(
            "DELETE FROM idempotency WHERE created_at < ?1",
            [ts(before)],
        )?;
        Ok(())
    }
    fn notification_channels(&mut self) -> Result<Vec<Channel>> {
        let rows: Vec<(String, i64)> = self.all(
            "SELECT record, cursor_seq FROM notification_channels ORDER BY name",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        rows.into_iter()
            .map(|(record, cursor)| {
                let v: Value = serde_json::from_str(&record)
                    .map_err(|e| Error::internal(format!("a stored channel: {e}")))?;
                Channel::from_record(&v, cursor)
            })
            .collect()
    }

    fn insert_notification_channel(&mut self, c: &Channel) -> Result<()> {
        self.exec(
            "INSERT INTO notification_channels(uid, name, record, cursor_seq) VALUES (?1, ?2, ?3, ?4)",
            params![c.id, c.name, c.to_record().to_string(), c.delivered_through],
        )?;
        Ok(())
    }

    fn update_notification_channel(&mut self, c: &Channel) -> Result<()> {
        self.exec(
            "UPDATE notification_channels SET name = ?2, record = ?3 WHERE uid = ?1",
            params![c.id, c.name, c.to_record().to_string()],
        )?;
        Ok(())
    }

    fn delete_notification_channel(&mut self, id: &str) -> Result<()> {
        self.exec(
            "DELETE FROM notification_preferences WHERE channel_uid = ?1",
            [id],
        )?;
        self.exec("DELETE FROM notification_channels WHERE uid = ?1", [id])?;
        Ok(())
    }

    fn notification_preferences(&mut self) -> Result<Vec<Preference>> {
        let rows: Vec<String> = self.all(
            "SELECT record FROM notification_preferences ORDER BY id",
            [],
            |r| r.get(0),
        )?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r)
                    .map_err(|e| Error::internal(format!("a stored preference: {e}")))
            })
            .collect()
    }

    fn insert_notification_preference(&mut self, p: &Preference) -> Result<()> {
        self.exec(
            "INSERT INTO notification_preferences(uid, channel_uid, record) VALUES (?1, ?2, ?3)",
            params![p.id, p.channel_id, to_json(p)?],
        )?;
        Ok(())
    }

    fn delete_notification_preference(&mut self, id: &str) -> Result<()> {
        self.exec("DELETE FROM notification_preferences WHERE uid = ?1", [id])?;
        Ok(())
    }

    fn lease_notification_channel(
        &mut self,
        id: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let taken = self.exec(
            "UPDATE notification_channels SET lease_holder = ?2, lease_until = ?4 WHERE uid = ?1 \
             AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until IS NULL OR lease_until < ?3)",
            params![id, holder, ts(now), ts(until)],
        )?;
        if taken == 0 {
            return Ok(None);
        }
        self.one(
            "SELECT cursor_seq FROM notification_channels WHERE uid = ?1",
            [id],
            |r| r.get(0),
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
            "UPDATE notification_channels SET cursor_seq = MAX(cursor_seq, ?3), lease_until = ?4 \
             WHERE uid = ?1 AND lease_holder = ?2",
            params![id, holder, seq, ts(until)],
        )?;
        Ok(n == 1)
    }

    fn release_notification_channel(&mut self, id: &str, holder: &str) -> Result<()> {
        self.exec(
            "UPDATE notification_channels SET lease_holder = NULL, lease_until = NULL \
             WHERE uid = ?1 AND lease_holder = ?2",
            params![id, holder],
        )?;
        Ok(())
    }

    fn insert_delivery(&mut self, d: &Delivery) -> Result<()> {
        self.exec(
            "INSERT INTO notification_history(uid, channel_uid, status, attempted_at, record) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                d.id,
                d.channel_id,
                d.status.as_str(),
                ts(d.attempted_at),
                to_json(d)?
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
        let rows: Vec<String> = self.all(
            "SELECT record FROM notification_history WHERE (?1 IS NULL OR channel_uid = ?1) \
             AND (?2 IS NULL OR status = ?2) ORDER BY id DESC LIMIT ?3",
            params![channel, status.map(DeliveryStatus::as_str), limit],
            |r| r.get(0),
        )?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r)
                    .map_err(|e| Error::internal(format!("a stored delivery: {e}")))
            })
            .collect()
    }

    fn insert_request(&mut self, r: &DeploymentRequest) -> Result<()> {
        self.exec(
            "INSERT INTO deployment_requests(uid, status, record) VALUES (?1, ?2, ?3)",
            params![r.id, r.status.as_str(), to_json(r)?],
        )?;
        self.write_request_targets(r)
    }

    fn update_request(&mut self, r: &DeploymentRequest) -> Result<()> {
        self.exec(
            "UPDATE deployment_requests SET status = ?2, record = ?3 WHERE uid = ?1",
            params![r.id, r.status.as_str(), to_json(r)?],
        )?;
        self.write_request_targets(r)
    }

    fn request(&mut self, id: &str) -> Result<Option<DeploymentRequest>> {
        self.one(
            "SELECT record FROM deployment_requests WHERE uid = ?1",
            [id],
            |r| json(r, 0),
        )
    }

    fn requests(&mut self, status: Option<RequestStatus>) -> Result<Vec<DeploymentRequest>> {
        match status {
            Some(st) => self.all(
                "SELECT record FROM deployment_requests WHERE status = ?1 ORDER BY id DESC",
                [st.as_str()],
                |r| json(r, 0),
            ),
            None => self.all(
                "SELECT record FROM deployment_requests ORDER BY id DESC",
                [],
                |r| json(r, 0),
            ),
        }
    }

    fn requests_covering(
        &mut self,
        version_id: &str,
        environment_key: &str,
    ) -> Result<Vec<DeploymentRequest>> {
        self.all(
            "SELECT DISTINCT r.id, r.record FROM deployment_request_targets t \
             JOIN deployment_requests r ON r.id = t.request_id \
             WHERE t.version_uid = ?1 AND t.environment_key = ?2 \
             AND r.status IN ('in_progress', 'approved', 'rejected') ORDER BY r.id",
            [version_id, environment_key],
            |r| json(r, 1),
        )
    }

    fn request_templates(&mut self) -> Result<Vec<RequestTemplate>> {
        self.all(
            "SELECT record FROM deployment_request_templates ORDER BY name",
            [],
            |r| json(r, 0),
        )
    }

    fn put_request_template(&mut self, t: &RequestTemplate) -> Result<()> {
        self.exec(
            "INSERT INTO deployment_request_templates(name, record) VALUES (?1, ?2) \
             ON CONFLICT(name) DO UPDATE SET record = excluded.record",
            params![t.name, to_json(t)?],
        )?;
        Ok(())
    }

    fn delete_request_template(&mut self, name: &str) -> Result<bool> {
        Ok(self.exec(
            "DELETE FROM deployment_request_templates WHERE name = ?1",
            [name],
        )? > 0)
    }
    fn enqueue(&mut self, environment_key: &str, entry: &QueueEntry) -> Result<()> {
        self.exec(
            "INSERT INTO wait_queue(uid, environment_key, record) VALUES (?1, ?2, ?3)",
            params![entry.id, environment_key, to_json(entry)?],
        )?;
        Ok(())
    }

    fn update_ticket(&mut self, entry: &QueueEntry) -> Result<bool> {
        Ok(self.exec(
            "UPDATE wait_queue SET record = ?2 WHERE uid = ?1",
            params![entry.id, to_json(entry)?],
        )? > 0)
    }

    fn dequeue(&mut self, id: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM wait_queue WHERE uid = ?1", [id])? > 0)
    }

    fn queue_tickets(&mut self, environment_key: Option<&str>) -> Result<Vec<QueueEntry>> {
        match environment_key {
            Some(k) => self.all(
                "SELECT record FROM wait_queue WHERE environment_key = ?1 ORDER BY id",
                [k],
                |r| json(r, 0),
            ),
            None => self.all(
                "SELECT record FROM wait_queue ORDER BY environment_key, id",
                [],
                |r| json(r, 0),
            ),
        }
    }
}

fn decision_row(r: &Row<'_>) -> rusqlite::Result<(i64, DecisionRecord)> {
    let outcome: String = r.get(7)?;
    let mut verdict: crate::policy::Verdict = json(r, 12)?;
    verdict.refresh_derived();
    Ok((
        r.get(0)?,
        DecisionRecord {
            id: r.get(1)?,
            recorded_at: dt(r, 2)?,
            product_name: r.get(3)?,
            version: r.get(4)?,
            environment_name: r.get(5)?,
            status: status(r, 6)?,
            outcome: outcome.parse().map_err(|e| conversion(7, e))?,
            actor: r.get(8)?,
            deployment_id: r.get(9)?,
            policy_hash: r.get(10)?,
            request: json(r, 11)?,
            verdict,
            facts: json(r, 13)?,
        },
    ))
}

fn api_key_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let role: String = row.get(2)?;
    Ok(ApiKey {
        id: row.get(0)?,
        name: row.get(1)?,
        role: role.parse().map_err(|e| conversion(2, e))?,
        prefix: row.get(3)?,
        created_at: dt(row, 4)?,
        last_used_at: opt_dt(row, 5)?,
        revoked_at: opt_dt(row, 6)?,
        principal: row.get(7)?,
    })
}

fn principal_row(row: &Row<'_>) -> rusqlite::Result<Principal> {
    let role: String = row.get(1)?;
    Ok(Principal {
        name: row.get(0)?,
        role: role.parse().map_err(|e| conversion(1, e))?,
        created_at: dt(row, 2)?,
        updated_at: dt(row, 3)?,
    })
}

fn event_row(row: &Row<'_>) -> rusqlite::Result<DomainEvent> {
    let event_type: String = row.get(1)?;
    Ok(DomainEvent {
        seq: row.get(0)?,
        event_type: event_type.parse().map_err(|e| conversion(1, e))?,
        occurred_at: dt(row, 2)?,
        actor: row.get(3)?,
        subject: row.get(4)?,
        payload: json(row, 5)?,
        hash: row.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use crate::Versioner;
    use crate::policy::{ApplyMode, PolicyFormat, RuleStatus};

    fn names(vr: &Versioner) -> Vec<(String, RuleStatus)> {
        vr.rules()
            .unwrap()
            .into_iter()
            .map(|r| (r.rule.name, r.rule.status))
            .collect()
    }

    /// Migration 8 gives the products and environments of a schema-7 database no description
    /// and empty metadata; their ids and history are untouched, and they can be described.
    #[test]
    fn migration_8_adds_the_catalog_to_existing_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &super::MIGRATIONS[..7] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute(
                "INSERT INTO products(uid, name, created_at) VALUES ('p1', 'api', '2026-01-01T00:00:00.000000Z')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO environments(uid, name, env_type, created_at) \
                 VALUES ('e1', 'production', 'production', '2026-01-01T00:00:00.000000Z')",
                [],
            )
            .unwrap();
        }
        let vr = Versioner::open(&path).unwrap();
        let p = vr.product("api").unwrap();
        assert_eq!((p.id.as_str(), p.description.as_deref()), ("p1", None));
        assert!(p.extra_metadata.is_empty());
        let e = vr.environment("production").unwrap();
        assert_eq!((e.id.as_str(), e.extra_metadata.len()), ("e1", 0));
        let described = vr
            .update_product(
                "api",
                &crate::CatalogChange::default().description("The API"),
            )
            .unwrap();
        assert_eq!(described.description.as_deref(), Some("The API"));
    }

    /// Migration 3 turns each key name of schema 2 into a principal with the role of its
    /// active (else newest) key, renaming the roles of earlier versions (deployer → ci,
    /// approver → release_manager); the same secrets keep authenticating.
    #[test]
    fn migration_3_makes_principals_of_earlier_keys() {
        use crate::Role;
        use crate::access::sha256_hex;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &super::MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            let key = |id: &str, name: &str, role: &str, created: &str, revoked: Option<&str>| {
                conn.execute(
                    "INSERT INTO api_keys(id, name, role, prefix, key_hash, created_at, revoked_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![id, name, role, format!("sk_vr_{id}"), sha256_hex(id.as_bytes()), created, revoked],
                )
                .unwrap();
            };
            key("a1", "ops", "admin", "2026-01-01T00:00:00.000000Z", None);
            key(
                "c1",
                "ci",
                "viewer",
                "2026-01-01T00:00:00.000000Z",
                Some("2026-01-02T00:00:00.000000Z"),
            );
            key("c2", "ci", "deployer", "2026-01-03T00:00:00.000000Z", None);
            key(
                "l1",
                "Lead",
                "approver",
                "2026-01-04T00:00:00.000000Z",
                None,
            );
        }
        let vr = Versioner::open(&path).unwrap();
        let keys: Vec<(String, String, Role)> = vr
            .api_keys()
            .unwrap()
            .into_iter()
            .map(|k| (k.id, k.principal, k.role))
            .collect();
        assert_eq!(
            keys,
            [
                ("a1".to_string(), "ops".to_string(), Role::Admin),
                ("c1".into(), "ci".into(), Role::Ci),
                ("c2".into(), "ci".into(), Role::Ci),
                ("l1".into(), "Lead".into(), Role::ReleaseManager),
            ]
        );
        let principals: Vec<(String, Role)> = vr
            .principals()
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.role))
            .collect();
        assert_eq!(
            principals,
            [
                ("ci".to_string(), Role::Ci),
                ("Lead".into(), Role::ReleaseManager),
                ("ops".into(), Role::Admin)
            ]
        );
        let lead = vr.authenticate("l1").unwrap().unwrap();
        assert_eq!(
            (lead.principal.as_str(), lead.role),
            ("Lead", Role::ReleaseManager)
        );
        assert!(vr.authenticate("c1").unwrap().is_none(), "still revoked");
    }

    /// The reader's catalog cache never hides a change: one made through the same store (its
    /// writer), or through another connection (another process), including a record that was
    /// absent when first looked up.
    #[test]
    fn cached_catalog_follows_changes_made_by_the_writer_and_another_connection() {
        use crate::{BuildEvent, EnvironmentType, ErrorCode};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let a = Versioner::open(&path).unwrap();
        let b = Versioner::open(&path).unwrap();
        assert_eq!(a.product("api").unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(
            a.version("api", "1.0").unwrap_err().code(),
            ErrorCode::NotFound
        );
        a.track_build(&BuildEvent::new("api", "1.0", "completed"))
            .unwrap();
        assert_eq!(a.product("api").unwrap().name, "api");
        assert_eq!(a.version("api", "1.0").unwrap().version, "1.0");
        assert_eq!(a.environment("qa").unwrap_err().code(), ErrorCode::NotFound);
        b.set_environment_type("qa", Some(EnvironmentType::Staging))
            .unwrap();
        assert_eq!(
            a.environment("qa").unwrap().env_type,
            EnvironmentType::Staging
        );
        b.set_environment_type("qa", Some(EnvironmentType::Production))
            .unwrap();
        assert_eq!(
            a.environment("qa").unwrap().env_type,
            EnvironmentType::Production
        );
        a.set_environment_type("qa", Some(EnvironmentType::Dev))
            .unwrap();
        assert_eq!(a.environment("qa").unwrap().env_type, EnvironmentType::Dev);
        assert_eq!(b.environment("qa").unwrap().env_type, EnvironmentType::Dev);
    }

    /// The parsed-rules cache never hides a change made through another connection (another
    /// process): status changes, replacements and deletions are seen at once.
    #[test]
    fn cached_rules_follow_changes_made_by_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let a = Versioner::open(&path).unwrap();
        let b = Versioner::open(&path).unwrap();
        let policy =
            |name: &str| format!("[[rules]]\nname = \"{name}\"\ntype = \"concurrency\"\nmax = 1\n");
        a.apply_policy_text(&policy("one"), PolicyFormat::Toml, ApplyMode::Replace, "t")
            .unwrap();
        assert_eq!(names(&a), [("one".to_string(), RuleStatus::Enabled)]);
        b.set_rule_status("one", RuleStatus::Disabled, "t", "why")
            .unwrap();
        assert_eq!(names(&a), [("one".to_string(), RuleStatus::Disabled)]);
        b.apply_policy_text(&policy("two"), PolicyFormat::Toml, ApplyMode::Replace, "t")
            .unwrap();
        assert_eq!(names(&a), [("two".to_string(), RuleStatus::Enabled)]);
        b.apply_policy_text(&policy("three"), PolicyFormat::Toml, ApplyMode::Merge, "t")
            .unwrap();
        assert_eq!(names(&a).len(), 2);
        b.delete_rule("two").unwrap();
        b.delete_rule("three").unwrap();
        assert!(names(&a).is_empty());
    }
}
