//! Crash safety of idempotency: `versioner serve` is killed with SIGKILL at random points
//! while clients post `started` and `completed` events with `Idempotency-Key`s; after each
//! restart every unanswered request is retried with its key. A write that committed is replayed,
//! never run again: no duplicate deployment, and no `started` refused 409 by its own first copy
//! under a one-at-a-time rule.
//!
//! Runs on a SQLite file, and on PostgreSQL when `VERSIONER_TEST_DATABASE_URL` is set (the
//! `postgres` feature; `scripts/test-postgres.sh`). On SQLite, after every kill the database
//! passes `PRAGMA integrity_check` and holds every write a client saw acknowledged.
//!
//! Also here: an in-process writer (this test binary re-run as a child) killed with SIGKILL
//! mid-transaction, and a full disk (`RLIMIT_FSIZE`: see `a_full_disk_…`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use versioner_core::{HistoryQuery, Status, Versioner};

const POLICY: &str = r#"
[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
"#;

/// Where the server keeps its records.
enum Db {
    File(String),
    #[cfg_attr(
        not(feature = "postgres"),
        allow(dead_code, reason = "used by the PostgreSQL variant only")
    )]
    Url(String),
}

struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(db: &Db, home: &Path) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_versioner"));
        cmd.env_clear().env("HOME", home).current_dir(home);
        match db {
            Db::File(path) => cmd.args(["serve", "--db", path]),
            Db::Url(url) => cmd.env("VERSIONER_DATABASE_URL", url).args(["serve"]),
        };
        let mut child = cmd
            .args(["--no-auth", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_string();
        Serve { child, url: addr }
    }

    /// SIGKILL: no graceful shutdown, no answer to requests in flight.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request of the workload: its idempotency key and body.
#[derive(Clone, Debug)]
struct Call {
    key: String,
    body: String,
}

fn workload(products: usize, run: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    for p in 0..products {
        for status in ["started", "completed"] {
            calls.push(Call {
                key: format!("{run}-{p}-{status}"),
                body: serde_json::json!({
                    "product_name": format!("svc-{run}-{p}"),
                    "version": "1.0.0",
                    "environment_name": "production",
                    "status": status,
                })
                .to_string(),
            });
        }
    }
    calls
}

/// Posts `call`; `Some(status)` when answered, `None` when the server went away.
fn post(http: &reqwest::blocking::Client, url: &str, call: &Call) -> Option<u16> {
    http.post(format!("{url}/deployment-events/"))
        .header("content-type", "application/json")
        .header("Idempotency-Key", &call.key)
        .body(call.body.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

/// A small deterministic generator, so a failure can be replayed from its seed.
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

fn crash_and_retry(db: &Db, vr: &Versioner, home: &Path, run: &str) {
    vr.apply_policy_text(
        POLICY,
        versioner_core::policy::PolicyFormat::Toml,
        versioner_core::policy::ApplyMode::Replace,
        "test",
    )
    .unwrap();
    let calls = workload(40, run);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let first_seed = seed;
    let http = reqwest::blocking::Client::new();
    let answers: Arc<Mutex<Vec<Option<u16>>>> = Arc::new(Mutex::new(vec![None; calls.len()]));
    // Kill points: after 5 random numbers of answered calls, so every kill lands mid-workload
    // with requests in flight.
    let mut points: Vec<usize> = (0..5)
        .map(|_| 1 + usize::try_from(next(&mut seed) % 75).unwrap())
        .collect();
    points.sort_unstable();
    let answered = |answers: &Mutex<Vec<Option<u16>>>| {
        answers
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.is_some())
            .count()
    };
    let mut kills = 0;
    let mut server = Serve::start(db, home);
    while answers.lock().unwrap().iter().any(Option::is_none) {
        // Four clients walk the workload (each product's `started` before its `completed`),
        // retrying unanswered calls with their keys, while the server is killed.
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (calls, answers, stop, http, url) = (
                    calls.clone(),
                    Arc::clone(&answers),
                    Arc::clone(&stop),
                    http.clone(),
                    server.url.clone(),
                );
                std::thread::spawn(move || {
                    for (i, call) in calls.iter().enumerate() {
                        if (i / 2) % 4 != w || stop.load(Ordering::Acquire) {
                            continue;
                        }
                        if answers.lock().unwrap()[i].is_some() {
                            continue;
                        }
                        if i % 2 == 1 && answers.lock().unwrap()[i - 1].is_none() {
                            // Its `started` is still unanswered: wait for the next round.
                            continue;
                        }
                        match post(&http, &url, call) {
                            Some(status) => answers.lock().unwrap()[i] = Some(status),
                            None => return,
                        }
                    }
                })
            })
            .collect();
        let point = points.get(kills).copied();
        if let Some(point) = point {
            while answered(&answers) < point && workers.iter().any(|w| !w.is_finished()) {
                std::thread::sleep(Duration::from_micros(200));
            }
            stop.store(true, Ordering::Release);
            server.kill();
            kills += 1;
        }
        for w in workers {
            w.join().unwrap();
        }
        if point.is_some() {
            // Right after the kill: the file is sound and every acknowledged write is there.
            if let Db::File(path) = db {
                assert_integrity(Path::new(path));
            }
            let acked = answers.lock().unwrap().clone();
            for (i, a) in acked.iter().enumerate() {
                if a.is_some() {
                    let history = vr
                        .history(&HistoryQuery::new().product(format!("svc-{run}-{}", i / 2)))
                        .unwrap();
                    let want = if i % 2 == 0 {
                        Status::Started
                    } else {
                        Status::Completed
                    };
                    assert!(
                        history
                            .iter()
                            .any(|d| d.status == want || d.status == Status::Completed),
                        "call {} was acknowledged, and lost in the crash; seed {first_seed}: {history:?}",
                        calls[i].key
                    );
                }
            }
        }
        if point.is_some() {
            server = Serve::start(db, home);
        }
    }
    drop(server);

    let answers = answers.lock().unwrap();
    let refused: Vec<_> = calls
        .iter()
        .zip(answers.iter())
        .filter(|(_, a)| **a != Some(200))
        .map(|(c, a)| (&c.key, a))
        .collect();
    assert!(
        refused.is_empty(),
        "every call, retried after a crash, answers 200 (no self-inflicted 409); seed {first_seed}: {refused:?}"
    );
    for p in 0..40 {
        let history = vr
            .history(&HistoryQuery::new().product(format!("svc-{run}-{p}")))
            .unwrap();
        assert_eq!(
            history.len(),
            1,
            "one deployment for svc-{run}-{p}; seed {first_seed}: {history:?}"
        );
        assert_eq!(history[0].status, Status::Completed);
    }
    // 80 recorded changes, 80 events: none duplicated, none lost, none refused.
    let events = vr.events_since(0, 1000).unwrap();
    let deployments = events
        .iter()
        .filter(|e| {
            e.event_type.as_str().starts_with("deployment.")
                && e.payload["product_name"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&format!("svc-{run}-")))
        })
        .count();
    assert_eq!(deployments, 80, "{events:?}");
    assert_eq!(kills, 5);
}

/// `PRAGMA integrity_check` on a SQLite file answers `ok`.
fn assert_integrity(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok", "{}", path.display());
}

/// The child of `an_in_process_writer_killed_mid_transaction_loses_nothing_acknowledged`:
/// records deployments into the file named by `VERSIONER_CRASH_WRITER` until killed,
/// printing `ack N` once each is committed. Does nothing in a normal run.
#[test]
fn in_process_writer_child() {
    let Ok(path) = std::env::var("VERSIONER_CRASH_WRITER") else {
        return;
    };
    let start: u64 = std::env::var("VERSIONER_CRASH_FROM")
        .unwrap()
        .parse()
        .unwrap();
    let vr = Versioner::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    for n in start.. {
        let mut e =
            versioner_core::DeploymentEvent::new("api", n.to_string(), "production", "success");
        e.extra_metadata = Some(
            serde_json::json!({ "padding": "x".repeat(usize::try_from(n % 7).unwrap() * 1000) }),
        );
        vr.track_deployment(&e).unwrap();
        std::io::Write::write_all(&mut out, format!("ack {n}\n").as_bytes()).unwrap();
        std::io::Write::flush(&mut out).unwrap();
    }
}

#[test]
fn an_in_process_writer_killed_mid_transaction_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("writer.db");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let first_seed = seed;
    let mut acked: Vec<u64> = Vec::new();
    for _round in 0..5 {
        let from = acked.last().map_or(0, |n| n + 1);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash::in_process_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("VERSIONER_CRASH_WRITER", &db)
            .env("VERSIONER_CRASH_FROM", from.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let kill_after = 5 + next(&mut seed) % 60;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < kill_after {
            let line = lines.next().unwrap().unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked.push(n.parse().unwrap());
                seen += 1;
            }
        }
        // SIGKILL while it is writing the next one.
        child.kill().unwrap();
        child.wait().unwrap();
        assert_integrity(&db);
        let vr = Versioner::open(&db).unwrap();
        let stored: std::collections::BTreeSet<String> = vr
            .history(&HistoryQuery::new().product("api").limit(1000))
            .unwrap()
            .into_iter()
            .map(|d| d.version)
            .collect();
        for n in &acked {
            assert!(
                stored.contains(&n.to_string()),
                "acknowledged {n} lost; seed {first_seed}"
            );
        }
    }
    assert!(acked.len() >= 25);
}

/// A full disk, simulated without root: `RLIMIT_FSIZE` (bash's `ulimit -f`) caps the size of
/// any file the CLI writes, with SIGXFSZ ignored (an ignored signal stays ignored across
/// `exec`), so a write past the cap fails with EFBIG exactly where a full disk fails with
/// ENOSPC. A small tmpfs or a loop device would need root, which a CI runner may not have.
/// Writes fail with `STORAGE`, the file stays sound with every acknowledged event, and once
/// the space is back writes succeed again.
#[test]
fn a_full_disk_gives_storage_errors_and_no_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("full.db");
    let bin = env!("CARGO_BIN_EXE_versioner");
    let blob = serde_json::json!({ "blob": "x".repeat(90_000) }).to_string();
    let track = |version: &str, limit_kib: Option<u32>| {
        let mut cmd = Command::new("bash");
        let ulimit = limit_kib.map_or(String::new(), |k| format!("ulimit -f {k}; "));
        cmd.args([
            "-c",
            &format!("trap '' XFSZ; {ulimit}exec \"$0\" \"$@\""),
            bin,
            "--db",
            db.to_str().unwrap(),
            "track",
            "deployment",
            "--product",
            "api",
            "--version",
            version,
            "--environment",
            "production",
            "--status",
            "success",
            "--extra-metadata",
            &blob,
        ])
        .env_clear()
        .env("HOME", home)
        .current_dir(home);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(track("0", None).0, 0);
    let mut acknowledged = vec!["0".to_string()];
    let mut failures = 0;
    for i in 1..16 {
        let v = i.to_string();
        let (code, stderr) = track(&v, Some(1000));
        match code {
            0 => acknowledged.push(v),
            _ => {
                assert_eq!(code, 1, "{stderr}");
                assert!(stderr.contains("[STORAGE]"), "{stderr}");
                failures += 1;
            }
        }
    }
    assert!(failures > 0 && acknowledged.len() > 1, "{acknowledged:?}");
    assert_integrity(&db);
    let count = |vr: &Versioner| {
        vr.history(&HistoryQuery::new().product("api").limit(1000))
            .unwrap()
            .into_iter()
            .map(|d| d.version)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let stored = count(&Versioner::open(&db).unwrap());
    for v in &acknowledged {
        assert!(stored.contains(v), "acknowledged {v} lost: {stored:?}");
    }
    // Space is back: writes succeed again, and the file is still sound.
    assert_eq!(track("after", None), (0, String::new()));
    assert!(count(&Versioner::open(&db).unwrap()).contains("after"));
    assert_integrity(&db);
}

#[test]
fn killed_servers_replay_committed_writes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let vr = Versioner::open(&db).unwrap();
    // Three rounds of five kills: one round catches a double execution most of the time.
    for run in ["sqlite-a", "sqlite-b", "sqlite-c"] {
        crash_and_retry(&Db::File(db.display().to_string()), &vr, dir.path(), run);
    }
}

/// The server's group commit under load: 32 clients post deployments while the server is
/// killed with SIGKILL. Every deployment a client saw acknowledged is in the file afterwards,
/// and the file is sound.
#[test]
fn a_server_killed_under_32_clients_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db");
    Versioner::open(&db).unwrap();
    let mut server = Serve::start(&Db::File(db.display().to_string()), dir.path());
    let http = reqwest::blocking::Client::new();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let workers: Vec<_> = (0..32)
        .map(|c| {
            let (http, url, acked) = (http.clone(), server.url.clone(), Arc::clone(&acked));
            std::thread::spawn(move || {
                for i in 0.. {
                    let product = format!("load-{c}-{i}");
                    let body = serde_json::json!({
                        "product_name": product,
                        "version": "1.0.0",
                        "environment_name": "production",
                        "status": "completed",
                    });
                    let answered = http
                        .post(format!("{url}/deployment-events/"))
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .timeout(Duration::from_secs(10))
                        .send();
                    match answered {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().push(product),
                        Ok(r) => panic!("{product}: {}", r.status()),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 400 {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill();
    for w in workers {
        w.join().unwrap();
    }
    assert_integrity(&db);
    let vr = Versioner::open(&db).unwrap();
    let recorded: std::collections::HashSet<String> =
        vr.products().unwrap().into_iter().map(|p| p.name).collect();
    let acked = acked.lock().unwrap();
    let lost: Vec<_> = acked.iter().filter(|p| !recorded.contains(*p)).collect();
    assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");
    assert!(acked.len() >= 400);
}

/// 32 `started` events for one environment sent at once through the server (its requests
/// share commits) admit exactly one under a one-at-a-time rule; the others are refused 409
/// and wrote no deployment.
#[test]
fn thirty_two_racing_starts_through_the_server_admit_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.db");
    let vr = Versioner::open(&db).unwrap();
    vr.apply_policy_text(
        POLICY,
        versioner_core::policy::PolicyFormat::Toml,
        versioner_core::policy::ApplyMode::Replace,
        "test",
    )
    .unwrap();
    let server = Serve::start(&Db::File(db.display().to_string()), dir.path());
    let barrier = Arc::new(std::sync::Barrier::new(32));
    let http = reqwest::blocking::Client::new();
    let statuses: Vec<u16> = (0..32)
        .map(|i| {
            let (http, url, barrier) = (http.clone(), server.url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let body = serde_json::json!({
                    "product_name": "api",
                    "version": format!("1.0.{i}"),
                    "environment_name": "production",
                    "status": "started",
                });
                barrier.wait();
                http.post(format!("{url}/deployment-events/"))
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        31,
        "{statuses:?}"
    );
    drop(server);
    let history = vr.history(&HistoryQuery::new().product("api")).unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].status, Status::Started);
}

#[cfg(feature = "postgres")]
#[test]
fn killed_servers_replay_committed_writes_on_postgresql() {
    let Some(base) = std::env::var("VERSIONER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return;
    };
    let schema = format!("crash_{}", uuid::Uuid::now_v7().simple());
    let store = versioner_core::store::PgStore::connect_with(
        &base,
        &versioner_core::store::PgOptions {
            schema: Some(schema.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let vr = Versioner::with_store(Arc::new(store));
    let dir = tempfile::tempdir().unwrap();
    crash_and_retry(
        &Db::Url(format!("{base} options='-c search_path={schema}'")),
        &vr,
        dir.path(),
        "pg",
    );
}
