//! `versioner track deployment --wait` and `versioner queue`: three deployments behind a
//! one-at-a-time rule go through in arrival order as each predecessor completes, with their
//! positions on stderr; a wait past its limit exits 5 with the block and leaves no ticket; a
//! bad `--wait` is a usage error; the same through `--api-url`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use versioner_core::policy::{ApplyMode, PolicyFormat};

use crate::support::{Fixture, TestServer, versioner};

const ONE_AT_A_TIME: &str = "[[rules]]\nname = 'One at a time'\ntype = 'concurrency'\nmax = 1\n";

fn track(version: &str, status: &str) -> Vec<String> {
    [
        "--db",
        "v.db",
        "track",
        "deployment",
        "--product",
        "api",
        "--version",
        version,
        "--environment",
        "production",
        "--status",
        status,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

fn spawn_waiting(home: &Path, version: &str) -> Child {
    let mut args = track(version, "started");
    args.extend(["--wait".to_string(), "30s".to_string()]);
    Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(&args)
        .env_clear()
        .env("HOME", home)
        .current_dir(home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn queue(home: &Path) -> serde_json::Value {
    let r = versioner(home, &["--db", "v.db", "queue", "--output", "json"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    r.json()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let begun = Instant::now();
    while !f() {
        assert!(begun.elapsed() < Duration::from_secs(20), "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(home: &Path, args: &[String]) -> crate::support::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    versioner(home, &args, &[])
}

#[test]
fn three_deployments_wait_their_turn_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("policy.toml"), ONE_AT_A_TIME).unwrap();
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "apply", "policy.toml"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(home, &track("1.0", "started"));
    assert_eq!(r.code, 0, "{r:?}");

    let b = spawn_waiting(home, "1.1");
    eventually("B queued", || queue(home).as_array().unwrap().len() == 1);
    let c = spawn_waiting(home, "1.2");
    eventually("C queued", || queue(home).as_array().unwrap().len() == 2);
    let q = queue(home);
    assert_eq!(
        (q[0]["position"].clone(), q[0]["version"].clone()),
        (1.into(), "1.1".into()),
        "{q}"
    );
    assert_eq!(
        (q[1]["position"].clone(), q[1]["version"].clone()),
        (2.into(), "1.2".into()),
        "{q}"
    );
    let table = versioner(
        home,
        &["--db", "v.db", "queue", "--environment", "production"],
        &[],
    );
    assert!(table.stdout.contains("POSITION"), "{table:?}");
    assert!(table.stdout.contains("1.2"), "{table:?}");

    let r = run(home, &track("1.0", "completed"));
    assert_eq!(r.code, 0, "{r:?}");
    let b = b.wait_with_output().unwrap();
    let b_err = String::from_utf8_lossy(&b.stderr);
    assert_eq!(b.status.code(), Some(0), "{b_err}");
    assert!(b_err.contains("position 1 of"), "{b_err}");
    assert!(b_err.contains("deployment in progress"), "{b_err}");
    // C waits on, now at the head.
    eventually("C at the head", || {
        let q = queue(home);
        q.as_array().unwrap().len() == 1 && q[0]["version"] == "1.2"
    });

    let r = run(home, &track("1.1", "completed"));
    assert_eq!(r.code, 0, "{r:?}");
    let c = c.wait_with_output().unwrap();
    let c_err = String::from_utf8_lossy(&c.stderr);
    assert_eq!(c.status.code(), Some(0), "{c_err}");
    assert!(c_err.contains("position 2 of 2"), "{c_err}");
    assert!(c_err.contains("queued earlier"), "{c_err}");
    assert_eq!(queue(home), serde_json::json!([]));
    let r = versioner(home, &["--db", "v.db", "queue"], &[]);
    assert!(r.stdout.contains("No deployment is waiting"), "{r:?}");

    // Past its limit: exit 5 with the block, no ticket, nothing recorded for 1.3.
    let mut args = track("1.3", "started");
    args.extend(["--wait".to_string(), "1".to_string()]);
    let begun = Instant::now();
    let r = run(home, &args);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(begun.elapsed() >= Duration::from_secs(1));
    assert!(r.stderr.contains("CONCURRENT_DEPLOYMENT"), "{r:?}");
    assert_eq!(queue(home), serde_json::json!([]));
    let h = versioner(home, &["--db", "v.db", "history", "--output", "json"], &[]);
    assert!(
        h.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["version"] != "1.3"),
        "{h:?}"
    );

    // A bad limit is a usage error naming the flag; nothing is written.
    for bad in ["2h", "soon"] {
        let mut args = track("1.3", "started");
        args.extend(["--wait".to_string(), bad.to_string()]);
        let r = run(home, &args);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("--wait"), "{r:?}");
    }
    let h = versioner(home, &["--db", "v.db", "history", "--output", "json"], &[]);
    assert!(
        h.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["version"] != "1.3"),
        "{h:?}"
    );
}

#[test]
fn through_the_server_the_wait_happens_there() {
    let f = Fixture::new();
    f.vr()
        .apply_policy_text(ONE_AT_A_TIME, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    let server = TestServer::start(f.router());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", f.deployer.as_str()),
    ];
    let args = |version: &str, status: &str, wait: Option<&str>| {
        let mut a = track(version, status)[2..].to_vec();
        if let Some(w) = wait {
            a.extend(["--wait".to_string(), w.to_string()]);
        }
        a
    };
    let go = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        versioner(dir.path(), &a, &env)
    };
    let r = go(args("1.0", "started", None));
    assert_eq!(r.code, 0, "{r:?}");
    let begun = Instant::now();
    let r = go(args("1.1", "started", Some("2s")));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("CONCURRENT_DEPLOYMENT"), "{r:?}");
    assert!(begun.elapsed() >= Duration::from_secs(2));
    let viewer = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", f.viewer.as_str()),
    ];
    let r = versioner(dir.path(), &["queue", "--output", "json"], &viewer);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json(), serde_json::json!([]));
}
