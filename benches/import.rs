//! History import (issue 19, item 1, item 9 of BENCHMARKS.md): events/s of importing a history
//! file of N events (`Versioner::import_events`: parse, validate, sort, apply in one
//! transaction) against the raw bulk-insert floor measured in the same run: a raw rusqlite
//! insert, in one transaction with prepared statements, of the same rows the import writes
//! (products, environments, versions, one build or deployment row per event, its ledger event
//! row and its imported-line key), with every value precomputed. Target: ≥ 0.5× the floor.
//!
//! Not a criterion bench (`harness = false`); `scripts/bench.sh` runs the built binary:
//!
//! ```text
//! import N [N …]    # one JSON line per N on stdout
//! ```
//!
//! The history: 50 products, 5 environments; every version is built once, then deployed to
//! the five environments in order (one in ten production deployments fails); claimed times
//! one minute apart, in the past. Both sides write a fresh SQLite file (default options,
//! `synchronous=FULL`: one commit, so the fsync is noise).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark driver: fails loudly, prints its result"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use versioner_core::Versioner;
use versioner_core::import::ImportMode;

const PRODUCTS: usize = 50;
const ENVIRONMENTS: [&str; 5] = ["dev", "qa", "staging", "preprod", "production"];

/// One event of the generated history.
struct Event {
    product: usize,
    version: usize,
    /// `None` for a build.
    environment: Option<usize>,
    status: &'static str,
    at: DateTime<Utc>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn history(n: usize) -> Vec<Event> {
    let start = Utc::now() - Duration::days(3650);
    let per_version = 1 + ENVIRONMENTS.len();
    (0..n)
        .map(|i| {
            let round = i / (PRODUCTS * per_version);
            let product = (i / per_version) % PRODUCTS;
            let step = i % per_version;
            let at = start + Duration::minutes(i as i64);
            let environment = step.checked_sub(1);
            let status = if environment == Some(4) && round % 10 == 9 {
                "failed"
            } else {
                "completed"
            };
            Event {
                product,
                version: round,
                environment,
                status,
                at,
            }
        })
        .collect()
}

fn jsonl(events: &[Event]) -> String {
    let mut out = String::with_capacity(events.len() * 200);
    for e in events {
        let at = ts(e.at);
        match e.environment {
            None => writeln!(
                out,
                r#"{{"kind":"build","product_name":"p{}","version":"1.{}.0","status":"{}","scm_sha":"{:08x}","started_at":"{at}","completed_at":"{at}"}}"#,
                e.product, e.version, e.status, e.product * 1_000_000 + e.version,
            ),
            Some(env) => writeln!(
                out,
                r#"{{"kind":"deployment","product_name":"p{}","version":"1.{}.0","environment_name":"{}","status":"{}","started_at":"{at}","completed_at":"{at}"}}"#,
                e.product, e.version, ENVIRONMENTS[env], e.status,
            ),
        }
        .unwrap();
    }
    out
}

/// The raw floor: the same rows, precomputed, inserted in one transaction.
fn floor(path: &Path, events: &[Event], text: &str) -> f64 {
    drop(Versioner::open(path).unwrap()); // create and migrate
    let mut conn = Connection::open(path).unwrap();
    let now = ts(Utc::now());
    // Everything the insert needs, computed before the clock starts.
    let lines: Vec<&str> = text.lines().collect();
    let uids: Vec<String> = (0..events.len())
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let keys: Vec<String> = (0..events.len()).map(|i| format!("{i:064x}")).collect();
    let times: Vec<String> = events.iter().map(|e| ts(e.at)).collect();
    let begun = Instant::now();
    let tx = conn.transaction().unwrap();
    {
        let mut ins_p = tx
            .prepare("INSERT INTO products(uid, name, created_at) VALUES (?1, ?2, ?3)")
            .unwrap();
        for p in 0..PRODUCTS {
            ins_p
                .execute(params![
                    uuid::Uuid::now_v7().to_string(),
                    format!("p{p}"),
                    now
                ])
                .unwrap();
        }
        let mut ins_e = tx
            .prepare("INSERT INTO environments(uid, name, env_type, created_at) VALUES (?1, ?2, 'other', ?3)")
            .unwrap();
        for name in ENVIRONMENTS {
            ins_e
                .execute(params![uuid::Uuid::now_v7().to_string(), name, now])
                .unwrap();
        }
        let mut ins_v = tx
            .prepare("INSERT INTO versions(uid, product_id, version, scm_sha, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        let mut ins_b = tx
            .prepare(
                "INSERT INTO builds(uid, version_id, status, is_open, started_at, completed_at, created_at, \
                 updated_at, fields, extra_metadata, imported_at) VALUES (?1,?2,?3,0,?4,?4,?5,?5,'{}','{}',?5)",
            )
            .unwrap();
        let mut ins_be = tx
            .prepare("INSERT INTO build_events(build_id, status, invoke_id, recorded_at, payload) VALUES (?1,?2,NULL,?3,?4)")
            .unwrap();
        let mut ins_d = tx
            .prepare(
                "INSERT INTO deployments(uid, product_id, version_id, environment_id, status, is_open, deployed_at, \
                 started_at, completed_at, updated_at, fields, extra_metadata, imported_at) \
                 VALUES (?1,?2,?3,?4,?5,0,?6,?6,?6,?7,'{}','{}',?7)",
            )
            .unwrap();
        let mut ins_de = tx
            .prepare("INSERT INTO deployment_events(deployment_id, status, invoke_id, recorded_at, payload) VALUES (?1,?2,NULL,?3,?4)")
            .unwrap();
        let mut ins_pe = tx
            .prepare("INSERT OR IGNORE INTO product_environments(product_id, environment_id) VALUES (?1, ?2)")
            .unwrap();
        let mut ins_k = tx
            .prepare("INSERT INTO imported_lines(key, kind, record_id, imported_at) VALUES (?1,?2,?3,?4)")
            .unwrap();
        let mut version_keys = std::collections::HashMap::new();
        for (i, e) in events.iter().enumerate() {
            let product_key = e.product as i64 + 1;
            let version_key = *version_keys
                .entry((e.product, e.version))
                .or_insert_with(|| {
                    ins_v
                        .execute(params![
                            uuid::Uuid::now_v7().to_string(),
                            product_key,
                            format!("1.{}.0", e.version),
                            format!("{:08x}", e.product * 1_000_000 + e.version),
                            times[i]
                        ])
                        .unwrap();
                    tx.last_insert_rowid()
                });
            let (kind, key) = match e.environment {
                None => {
                    ins_b
                        .execute(params![uids[i], version_key, e.status, times[i], now])
                        .unwrap();
                    let key = tx.last_insert_rowid();
                    ins_be
                        .execute(params![key, e.status, now, lines[i]])
                        .unwrap();
                    ("build", key)
                }
                Some(env) => {
                    let env_key = env as i64 + 1;
                    ins_d
                        .execute(params![
                            uids[i],
                            product_key,
                            version_key,
                            env_key,
                            e.status,
                            times[i],
                            now
                        ])
                        .unwrap();
                    let key = tx.last_insert_rowid();
                    ins_pe.execute(params![product_key, env_key]).unwrap();
                    ins_de
                        .execute(params![key, e.status, now, lines[i]])
                        .unwrap();
                    ("deployment", key)
                }
            };
            ins_k.execute(params![keys[i], kind, key, now]).unwrap();
        }
    }
    tx.commit().unwrap();
    begun.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        // `cargo bench` runs every bench target with no arguments: nothing to do here.
        eprintln!("import: a driver for scripts/bench.sh (see benches/import.rs)");
        return;
    }
    for n in args
        .iter()
        .map(|a| a.parse::<usize>().expect("N: a number of events"))
    {
        let events = history(n);
        let text = jsonl(&events);
        let dir = tempfile::tempdir().unwrap();

        let floor_secs = floor(&dir.path().join("floor.db"), &events, &text);

        let vr = Versioner::open(dir.path().join("import.db")).unwrap();
        let begun = Instant::now();
        let report = vr.import_events(&text, ImportMode::Apply).unwrap();
        let import_secs = begun.elapsed().as_secs_f64();
        assert_eq!(report.imported(), n as u64);

        let import_per_s = n as f64 / import_secs;
        let floor_per_s = n as f64 / floor_secs;
        println!(
            "{}",
            serde_json::json!({
                "n": n,
                "import": { "secs": import_secs, "per_s": import_per_s },
                "floor": { "secs": floor_secs, "per_s": floor_per_s },
                "ratio": import_per_s / floor_per_s,
                "file_bytes": text.len(),
            })
        );
    }
}
