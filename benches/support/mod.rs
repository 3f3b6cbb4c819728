//! Fixtures shared by the benchmarks: the typical five-rule policy, a bulk loader that writes
//! large histories straight into Versioner's schema (not through the API), and the raw
//! rusqlite baseline that performs the same indexed reads and writes as one preflight+record.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark fixtures fail loudly"
)]

use std::path::Path;

use chrono::{Duration, Utc};
use rusqlite::{Connection, params};
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{
    ApprovalRequest, BuildEvent, DeploymentEvent, DomainEvent, SqliteOptions, Synchronous,
    Versioner,
};

/// Products × environments of the large histories.
pub const PRODUCTS: usize = 50;
/// Environments `e0` … `e9`; `e2` is the prerequisite of `e9`.
pub const ENVIRONMENTS: usize = 10;

/// A typical five-rule policy: concurrency, a schedule, flow with soak, a version approval and
/// a release approval, all in scope for `p0` going to `e9`, all passing for version `bench`.
pub const POLICY: &str = r#"
[[rules]]
name = "One at a time"
type = "concurrency"
max = 1

[[rules]]
name = "Holiday freeze"
type = "schedule"
timezone = "Europe/London"
environments = ["e9"]
windows = [{ recurrence = "once", start = "2001-12-24T00:00", end = "2001-12-27T00:00" }]

[[rules]]
name = "Soaked in e2"
type = "flow"
environments = ["e9"]
prerequisites = ["e2"]
soak = "1h"

[[rules]]
name = "QA sign-off"
type = "version_approval"
approval_types = ["qa"]

[[rules]]
name = "Release approval"
type = "release_approval"
environments = ["e9"]
required = 1
"#;

fn ts(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Opens (creating) a Versioner database at `path` with `sync`.
pub fn open(path: &Path, sync: Synchronous) -> Versioner {
    let options = SqliteOptions {
        synchronous: sync,
        ..SqliteOptions::default()
    };
    Versioner::open_with(path, &options).unwrap()
}

/// Writes `deployments` finished deployments (one event each; one in 25 failed) spread over the past year,
/// across [`PRODUCTS`] × [`ENVIRONMENTS`], straight into the schema.
#[allow(clippy::print_stderr, reason = "a benchmark fixture reports its setup")]
pub fn bulk_load(path: &Path, deployments: usize) {
    drop(open(path, Synchronous::Normal)); // create and migrate
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    conn.pragma_update(None, "cache_size", -524_288).unwrap();
    let now = Utc::now();
    let start = now - Duration::days(400);
    let span = (Duration::days(397).num_seconds() as f64) / deployments.max(1) as f64;
    let tx = conn.transaction().unwrap();
    for p in 0..PRODUCTS {
        tx.execute(
            "INSERT INTO products(uid, name, created_at) VALUES (?1, ?2, ?3)",
            params![uuid::Uuid::now_v7().to_string(), format!("p{p}"), ts(start)],
        )
        .unwrap();
    }
    for e in 0..ENVIRONMENTS {
        tx.execute(
            "INSERT INTO environments(uid, name, env_type, created_at) VALUES (?1, ?2, 'other', ?3)",
            params![uuid::Uuid::now_v7().to_string(), format!("e{e}"), ts(start)],
        )
        .unwrap();
        for p in 0..PRODUCTS {
            tx.execute(
                "INSERT INTO product_environments(product_id, environment_id) VALUES (?1, ?2)",
                params![p as i64 + 1, e as i64 + 1],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let per_version = PRODUCTS * ENVIRONMENTS;
    let mut done = 0;
    while done < deployments {
        let tx = conn.transaction().unwrap();
        {
            let mut ins_v = tx
                .prepare_cached(
                    "INSERT INTO versions(uid, product_id, version, scm_sha, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .unwrap();
            let mut ins_d = tx
                .prepare_cached(
                    "INSERT INTO deployments(uid, product_id, version_id, environment_id, status, is_open, \
                     deployed_at, started_at, completed_at, updated_at, fields, extra_metadata) \
                     VALUES (?1, ?2, ?3, ?4, ?7, 0, ?5, ?5, ?5, ?5, ?6, '{}')",
                )
                .unwrap();
            let mut ins_e = tx
                .prepare_cached(
                    "INSERT INTO deployment_events(deployment_id, status, invoke_id, recorded_at, payload) \
                     VALUES (?1, ?3, NULL, ?2, '{}')",
                )
                .unwrap();
            let end = (done + 50_000).min(deployments);
            for i in done..end {
                let p = i % PRODUCTS;
                let e = (i / PRODUCTS) % ENVIRONMENTS;
                let at = ts(start + Duration::seconds((i as f64 * span) as i64));
                let version_key = if e == 0 {
                    let n = i / per_version;
                    ins_v
                        .execute(params![
                            uuid::Uuid::now_v7().to_string(),
                            p as i64 + 1,
                            format!("1.{n}"),
                            format!("{:040x}", i),
                            at
                        ])
                        .unwrap();
                    tx.last_insert_rowid()
                } else {
                    // The version of this product deployed to e0 most recently.
                    tx.query_row(
                        "SELECT id FROM versions WHERE product_id = ?1 ORDER BY id DESC LIMIT 1",
                        [p as i64 + 1],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap()
                };
                let fields = r#"{"deployed_by":"ci","source_system":"github"}"#;
                // One deployment in 25 fails (restored by the product's next one there).
                let status = if i % 25 == 13 { "failed" } else { "completed" };
                ins_d
                    .execute(params![
                        uuid::Uuid::now_v7().to_string(),
                        p as i64 + 1,
                        version_key,
                        e as i64 + 1,
                        at,
                        fields,
                        status
                    ])
                    .unwrap();
                ins_e
                    .execute(params![tx.last_insert_rowid(), at, status])
                    .unwrap();
            }
            done = end;
        }
        tx.commit().unwrap();
    }
    // The rows went in beneath the library: fill the four keys' rollups from them as the
    // migration that introduced them does for an existing database (schema 13 -> 14).
    conn.execute_batch(
        "DROP TABLE dora_days; DROP TABLE dora_versions; DROP TABLE dora_failures; \
         PRAGMA user_version = 13;",
    )
    .unwrap();
    drop(conn);
    let migrating = std::time::Instant::now();
    drop(open(path, Synchronous::Normal));
    eprintln!(
        "bulk_load: {deployments} deployments; migration 14 filled the rollups in {:.2?}",
        migrating.elapsed()
    );
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

/// Prepares `p0` version `bench` so that every rule of [`POLICY`] passes for `e9`: built,
/// deployed to `e2` two days ago, QA-approved and release-approved.
pub fn prepare_bench_version(vr: &Versioner) {
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "bench")
        .unwrap();
    // Recorded two days ago (soak reads recorded time, so back-dating the event would not do):
    // the build, its approvals, and its success in e2 (itself preflighted: QA first).
    let past = vr
        .clone()
        .with_clock(std::sync::Arc::new(versioner_core::ManualClock::new(
            Utc::now() - Duration::days(2),
        )));
    let mut b = BuildEvent::new("p0", "bench", "completed");
    b.built_by = Some("ci".into());
    past.track_build(&b).unwrap();
    past.approve(&ApprovalRequest::new("p0", "bench", "qa", "quinn"))
        .unwrap();
    past.approve(&ApprovalRequest::new("p0", "bench", "release", "rita").in_environment("e9"))
        .unwrap();
    past.track_deployment(&DeploymentEvent::new("p0", "bench", "e2", "completed"))
        .unwrap();
}

/// One preflight+record round: `started` (five rules evaluated) then `completed`.
pub fn deploy_round(vr: &Versioner) {
    let mut s = DeploymentEvent::new("p0", "bench", "e9", "started");
    s.deployed_by = Some("dana".into());
    let d = vr.track_deployment(&s).unwrap();
    assert!(d.preflight.is_some_and(|p| p.verdict.is_allowed()));
    vr.track_deployment(&DeploymentEvent::new("p0", "bench", "e9", "completed"))
        .unwrap();
}

/// The outbox events one [`deploy_round`] appends, split by its two transactions
/// (`started`, then `completed`): measured on `vr`, so the mirror appends what Versioner
/// appends, payloads included.
pub fn round_events(vr: &Versioner) -> (Vec<DomainEvent>, Vec<DomainEvent>) {
    let last = |vr: &Versioner| {
        vr.events_since(0, u32::MAX)
            .unwrap()
            .last()
            .map_or(0, |e| e.seq)
    };
    let before = last(vr);
    let mut s = DeploymentEvent::new("p0", "bench", "e9", "started");
    s.deployed_by = Some("dana".into());
    vr.track_deployment(&s).unwrap();
    let mid = last(vr);
    vr.track_deployment(&DeploymentEvent::new("p0", "bench", "e9", "completed"))
        .unwrap();
    let started = vr.events_since(before, u32::MAX).unwrap();
    let (started, completed): (Vec<_>, Vec<_>) = started.into_iter().partition(|e| e.seq <= mid);
    (started, completed)
}

/// Appends `events` to the outbox with the store's statements (see
/// `SqliteStore::append_event`).
fn append_events(tx: &rusqlite::Transaction<'_>, events: &[DomainEvent]) {
    for e in events {
        let (last, previous): (i64, Option<String>) = tx
            .prepare_cached("SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1")
            .unwrap()
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap_or((0, None));
        let seq = last + 1;
        let hash = versioner_core::outbox::chain_hash(
            previous.as_deref(),
            seq,
            e.event_type,
            e.occurred_at,
            e.actor.as_deref(),
            e.subject.as_deref(),
            &e.payload,
        );
        tx.prepare_cached(
            "INSERT INTO outbox(seq, event_type, occurred_at, actor, subject, payload, hash) \
             VALUES (?1,?2,?3,?4,?5,?6,?7)",
        )
        .unwrap()
        .execute(params![
            seq,
            e.event_type.as_str(),
            ts(e.occurred_at),
            e.actor,
            e.subject,
            serde_json::to_string(&e.payload).unwrap(),
            hash
        ])
        .unwrap();
    }
}

/// The raw rusqlite baseline: the same indexed reads and writes a `started` then `completed`
/// round performs, in the same two `BEGIN IMMEDIATE` transactions, with cached statements and
/// QPSG, but none of Versioner's work between them.
pub struct Baseline {
    conn: Connection,
}

impl Baseline {
    /// Opens the database Versioner created at `path`, with the same settings.
    pub fn open(path: &Path, sync: Synchronous) -> Baseline {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        let sync = match sync {
            Synchronous::Full => "FULL",
            _ => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).unwrap();
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .unwrap();
        Baseline { conn }
    }

    fn read(tx: &rusqlite::Transaction<'_>, sql: &str, p: impl rusqlite::Params) -> Option<i64> {
        let mut stmt = tx.prepare_cached(sql).unwrap();
        let mut rows = stmt.query(p).unwrap();
        let mut last = None;
        while let Some(r) = rows.next().unwrap() {
            last = Some(r.get_ref(0).unwrap().as_i64_or_null().unwrap().unwrap_or(0));
        }
        last
    }

    /// One round, mirroring [`deploy_round`].
    pub fn round(&mut self) {
        self.round_with(&[], &[]);
    }

    /// One round that also appends, in each of its two transactions, the outbox events a
    /// Versioner round appends there (`started` and `completed`: see [`round_events`]),
    /// with the store's statements: read the newest chain hash, insert, hash, update. The
    /// difference from [`Baseline::round`] is what the outbox costs a round.
    pub fn round_with(&mut self, started: &[DomainEvent], completed: &[DomainEvent]) {
        let now = ts(Utc::now());
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let p = Self::read(&tx, "SELECT id FROM products WHERE name = ?1", ["p0"]).unwrap();
        let e = Self::read(&tx, "SELECT id FROM environments WHERE name = ?1", ["e9"]).unwrap();
        let v = Self::read(
            &tx,
            "SELECT id FROM versions WHERE product_id = ?1 AND version = ?2",
            params![p, "bench"],
        )
        .unwrap();
        Self::read(
            &tx,
            "SELECT id FROM deployments WHERE environment_id = ?3 AND is_open = 1 AND +product_id = ?1 AND +version_id = ?2 ORDER BY id DESC LIMIT 1",
            params![p, v, e],
        );
        Self::read(&tx, "SELECT position FROM rules ORDER BY position, id", []);
        Self::read(
            &tx,
            "SELECT id FROM deployments WHERE environment_id = ?1 AND is_open = 1 ORDER BY id",
            [e],
        );
        let pre = Self::read(&tx, "SELECT id FROM environments WHERE name = ?1", ["e2"]).unwrap();
        Self::read(
            &tx,
            "SELECT id FROM deployments WHERE product_id = ?1 AND environment_id = ?3 AND version_id = ?2 AND status = 'completed' ORDER BY completed_at ASC LIMIT 1",
            params![p, v, pre],
        );
        Self::read(
            &tx,
            "SELECT id FROM deployments WHERE product_id = ?1 AND environment_id = ?3 AND version_id = ?2 AND status = 'completed' ORDER BY completed_at DESC LIMIT 1",
            params![p, v, pre],
        );
        Self::read(
            &tx,
            "SELECT id FROM deployments WHERE product_id = ?1 AND environment_id = ?2 AND status = 'completed' AND completed_at > ?3 AND version_id != ?4 ORDER BY completed_at ASC LIMIT 1",
            params![p, pre, "2000", v],
        );
        Self::read(
            &tx,
            "SELECT id FROM approvals WHERE version_id = ?1 ORDER BY id",
            [v],
        );
        Self::read(
            &tx,
            "SELECT DISTINCT 1 FROM builds WHERE version_id = ?1 AND built_by IS NOT NULL",
            [v],
        );
        tx.prepare_cached(
            "INSERT INTO deployments(uid, product_id, version_id, environment_id, status, is_open, deployed_at, \
             started_at, completed_at, updated_at, fields, extra_metadata) \
             VALUES (?1, ?2, ?3, ?4, 'started', 1, ?5, ?5, NULL, ?5, '{}', '{}')",
        )
        .unwrap()
        .execute(params![uuid::Uuid::now_v7().to_string(), p, v, e, now])
        .unwrap();
        let d = tx.last_insert_rowid();
        tx.prepare_cached("INSERT INTO preflights(deployment_id, preflight) VALUES (?1, '{}')")
            .unwrap()
            .execute([d])
            .unwrap();
        tx.prepare_cached("INSERT OR IGNORE INTO product_environments(product_id, environment_id) VALUES (?1, ?2)")
            .unwrap()
            .execute(params![p, e])
            .unwrap();
        tx.prepare_cached("INSERT INTO deployment_events(deployment_id, status, invoke_id, recorded_at, payload) VALUES (?1, 'started', NULL, ?2, '{}')")
            .unwrap()
            .execute(params![d, now])
            .unwrap();
        append_events(&tx, started);
        tx.commit().unwrap();

        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let p = Self::read(&tx, "SELECT id FROM products WHERE name = ?1", ["p0"]).unwrap();
        let e = Self::read(&tx, "SELECT id FROM environments WHERE name = ?1", ["e9"]).unwrap();
        let v = Self::read(
            &tx,
            "SELECT id FROM versions WHERE product_id = ?1 AND version = ?2",
            params![p, "bench"],
        )
        .unwrap();
        let d = Self::read(&tx, "SELECT id FROM deployments WHERE environment_id = ?3 AND is_open = 1 AND +product_id = ?1 AND +version_id = ?2 ORDER BY id DESC LIMIT 1", params![p, v, e]).unwrap();
        tx.prepare_cached("UPDATE deployments SET status = 'completed', is_open = 0, completed_at = ?2, updated_at = ?2 WHERE id = ?1")
            .unwrap()
            .execute(params![d, now])
            .unwrap();
        tx.prepare_cached("INSERT INTO deployment_events(deployment_id, status, invoke_id, recorded_at, payload) VALUES (?1, 'completed', NULL, ?2, '{}')")
            .unwrap()
            .execute(params![d, now])
            .unwrap();
        append_events(&tx, completed);
        tx.commit().unwrap();
    }

    /// One indexed read (the unit the dry-run check is compared with).
    pub fn one_read(&mut self) -> Option<i64> {
        let tx = self.conn.transaction().unwrap();
        let r = Self::read(
            &tx,
            "SELECT id FROM deployments WHERE product_id = ?1 AND environment_id = ?2 AND status = 'completed' ORDER BY completed_at DESC LIMIT 1",
            params![1, 3],
        );
        tx.commit().unwrap();
        r
    }
}

/// Summary of latency samples (any unit): `{"n", "median", "mean", "p50", "p99", "min", "max"}`.
pub fn summary(samples: &[u64]) -> serde_json::Value {
    let mut s = samples.to_vec();
    s.sort_unstable();
    let n = s.len().max(1);
    let at = |q: f64| {
        s.get(((n - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    serde_json::json!({
        "n": s.len(),
        "median": at(0.5),
        "p50": at(0.5),
        "p99": at(0.99),
        "min": s.first().copied().unwrap_or(0),
        "max": s.last().copied().unwrap_or(0),
        "mean": s.iter().sum::<u64>() as f64 / n as f64,
    })
}

/// A 300-byte JSON metadata blob, as in `../shared/reference/storage-limits.md`.
pub const FLOOR_METADATA: &str = r#"{"commit":"4f2a9c1e0b7d3a6f8e2c5b9d1a4f7e0c3b6d9a2f","pipeline":"https://ci.example.invalid/acme/checkout/pipelines/123456","user":"dana","change":"CHG-004242","artifact":"registry.example.invalid/acme/checkout:1.2.3","notes":"bench"}"#;

/// The durable single-commit floor: raw rusqlite autocommit single-row inserts of an event
/// (300-byte metadata) into a table with three secondary indexes (the shape of
/// `../shared/reference/storage-limits.md`), WAL, one connection, a cached statement.
pub struct Floor {
    conn: Connection,
    n: usize,
}

impl Floor {
    /// Creates the table in a fresh file at `path` (removing an old one).
    pub fn open(path: &Path, sync: Synchronous) -> Floor {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", sync.as_str())
            .unwrap();
        conn.execute_batch(
            "CREATE TABLE events(id INTEGER PRIMARY KEY, product TEXT NOT NULL, version TEXT NOT NULL, \
               environment TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, \
               finished_at TEXT, recorded_at TEXT NOT NULL, metadata TEXT NOT NULL); \
             CREATE INDEX ix_pe ON events(product, environment); \
             CREATE INDEX ix_pes ON events(product, environment, status); \
             CREATE INDEX ix_pves ON events(product, version, environment, status);",
        )
        .unwrap();
        Floor { conn, n: 0 }
    }

    /// One durable single-row commit.
    pub fn insert(&mut self) {
        self.n += 1;
        let i = self.n;
        self.conn
            .prepare_cached(
                "INSERT INTO events(product, version, environment, status, started_at, finished_at, \
                 recorded_at, metadata) VALUES (?1, ?2, ?3, 'succeeded', ?4, ?4, ?4, ?5)",
            )
            .unwrap()
            .execute(params![
                format!("svc{}", i % 50),
                format!("1.{i}"),
                format!("env{}", i % 5),
                ts(Utc::now()),
                FLOOR_METADATA
            ])
            .unwrap();
    }
}
