//! Check and record are one atomic step: concurrent `started` events for one product and
//! environment under a one-at-a-time rule admit exactly one, from threads and from processes,
//! and none fails with a busy database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{DeploymentEvent, ErrorCode, Versioner};

const ONE_AT_A_TIME: &str = "[[rules]]\nname = 'One at a time'\ntype = 'concurrency'\nmax = 1\n";

/// Sends one `started` event; returns its error code, or None when accepted.
fn start(vr: &Versioner, version: &str) -> Option<ErrorCode> {
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        version,
        "production",
        "started",
    ))
    .err()
    .map(|e| e.code())
}

#[test]
fn sixteen_threads_one_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let vr = common::open(&common::new_location(dir.path()));
    vr.apply_policy_text(ONE_AT_A_TIME, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let vr = vr.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                start(&vr, &format!("1.{i}"))
            })
        })
        .collect();
    let results: Vec<Option<ErrorCode>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_none()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .flatten()
            .all(|c| *c == ErrorCode::ConcurrentDeployment),
        "{results:?}"
    );
}

#[test]
fn sixteen_threads_on_separate_connections_one_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::new_location(dir.path());
    common::open(&path)
        .apply_policy_text(ONE_AT_A_TIME, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let vr = common::open(&path);
                barrier.wait();
                start(&vr, &format!("2.{i}"))
            })
        })
        .collect();
    let results: Vec<Option<ErrorCode>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_none()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .flatten()
            .all(|c| *c == ErrorCode::ConcurrentDeployment),
        "{results:?}"
    );
}

/// Handles opening one new file at the same moment all open it: the switch to WAL, which
/// writes the file header, and the migrations wait for one another instead of failing with
/// a busy database (SQLite does not call the busy handler for the header write).
#[test]
fn eight_threads_opening_one_new_file_all_open_it() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    let vr = Versioner::open(&path)
                        .unwrap_or_else(|e| panic!("round {round}, thread {i}: {e}"));
                    vr.track_deployment(&DeploymentEvent::new(
                        format!("p{i}"),
                        "1.0",
                        "dev",
                        "completed",
                    ))
                    .unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(Versioner::open(&path).unwrap().products().unwrap().len(), 8);
    }
}

/// Handles opened and closed one after another from several threads (the last one to close
/// checkpoints and removes the WAL) never fail to open or to write.
#[test]
fn handles_opened_and_closed_from_four_threads_never_find_the_file_busy() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                let next = next.clone();
                std::thread::spawn(move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if i >= 12 {
                            break;
                        }
                        let vr = Versioner::open(&path)
                            .unwrap_or_else(|e| panic!("round {round}, open {i}: {e}"));
                        vr.track_deployment(&DeploymentEvent::new(
                            format!("p{i}"),
                            "1.0",
                            "dev",
                            "completed",
                        ))
                        .unwrap_or_else(|e| panic!("round {round}, write {i}: {e}"));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            Versioner::open(&path).unwrap().products().unwrap().len(),
            12
        );
    }
}

/// The child side of the two-process test: runs only when the parent sets the variables.
#[test]
fn child_process_sender() {
    let (Ok(db), Ok(go), Ok(tag)) = (
        std::env::var("VERSIONER_TEST_CHILD_DB"),
        std::env::var("VERSIONER_TEST_CHILD_GO"),
        std::env::var("VERSIONER_TEST_CHILD_TAG"),
    ) else {
        return;
    };
    let vr = common::open(&db);
    let go: u128 = go.parse().unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let vr = vr.clone();
            let barrier = barrier.clone();
            let tag = tag.clone();
            std::thread::spawn(move || {
                barrier.wait();
                while now_ms() < go {
                    std::thread::sleep(Duration::from_millis(1));
                }
                start(&vr, &format!("{tag}.{i}"))
            })
        })
        .collect();
    for h in handles {
        let line = match h.join().unwrap() {
            None => "RESULT accepted".to_string(),
            Some(code) => format!("RESULT {}", code.as_str()),
        };
        println!("{line}");
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[test]
fn two_processes_one_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::new_location(dir.path());
    common::open(&path)
        .apply_policy_text(ONE_AT_A_TIME, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    let go = now_ms() + 1500;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["a", "b"]
        .iter()
        .map(|tag| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_process_sender",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("VERSIONER_TEST_CHILD_DB", &path)
                .env("VERSIONER_TEST_CHILD_GO", go.to_string())
                .env("VERSIONER_TEST_CHILD_TAG", tag)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let mut results = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        results.extend(
            stdout
                .lines()
                .filter_map(|l| l.find("RESULT ").map(|i| l[i + 7..].trim().to_string())),
        );
    }
    assert_eq!(results.len(), 8, "{results:?}");
    assert_eq!(
        results.iter().filter(|r| *r == "accepted").count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter(|r| *r != "accepted")
            .all(|r| r == "CONCURRENT_DEPLOYMENT"),
        "{results:?}"
    );
}
