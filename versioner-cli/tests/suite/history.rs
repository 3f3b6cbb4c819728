//! `versioner import` and `versioner export` (issue 19, item 1): `export | import` into a
//! fresh database gives the same `status`, `history` and `metrics dora`; a second import
//! skips every line; a bad line exits 4 naming it and writes nothing; `--dry-run` writes
//! nothing; through a server, admin keys only.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use versioner_core::{BuildEvent, DeploymentEvent};

use crate::support::{Fixture, TestServer, run_cli};

/// Builds and deployments with claimed times, a failure and a restore.
fn history(fixture: &Fixture) {
    let mut b = BuildEvent::new("api", "1.0", "completed");
    b.started_at = Some("2026-11-01T09:00:00Z".into());
    b.completed_at = Some("2026-11-01T09:10:00Z".into());
    b.scm_sha = Some("4f2a9c1e".into());
    fixture.vr().track_build(&b).unwrap();
    for (version, env, status, at) in [
        ("1.0", "staging", "completed", "2026-11-01T12:00:00Z"),
        ("1.0", "production", "completed", "2026-11-02T10:00:00Z"),
        ("2.0", "production", "failed", "2026-11-03T10:00:00Z"),
        ("2.1", "production", "completed", "2026-11-03T13:00:00Z"),
    ] {
        // Past the fixture's flow rule: a closed deployment is recorded as is.
        let mut e = DeploymentEvent::new("api", version, env, status);
        e.completed_at = Some(at.into());
        e.skip_preflight_checks = Some(true);
        e.skip_preflight_reason = Some("history".into());
        fixture.vr().track_deployment(&e).unwrap();
    }
}

/// The command's JSON output without public ids, record-keeping times and preflight records
/// (history is imported without a preflight: the fixture's bypasses are not part of it).
fn comparable(args: &[&str]) -> Value {
    let run = run_cli(args, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    scrub(run.json())
}

fn scrub(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| {
                    !(k == "id"
                        || k.ends_with("_id")
                        || k == "created_at"
                        || k == "updated_at"
                        || k == "recorded_by"
                        || k == "preflight"
                        || k == "preflight_status")
                })
                .map(|(k, v)| (k, scrub(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        other => other,
    }
}

fn figures(db: &str) -> Vec<Value> {
    vec![
        comparable(&["--db", db, "status", "-o", "json"]),
        comparable(&["--db", db, "history", "-o", "json"]),
        comparable(&[
            "--db",
            db,
            "metrics",
            "dora",
            "--since",
            "2026-11-01T00:00:00Z",
            "--until",
            "2026-11-08T00:00:00Z",
            "-o",
            "json",
        ]),
    ]
}

#[test]
fn export_then_import_gives_the_same_status_history_and_dora() {
    let fixture = Fixture::new();
    history(&fixture);
    let db = fixture.db.to_str().unwrap().to_string();
    let file = fixture.dir.path().join("history.jsonl");
    let file = file.to_str().unwrap();
    let run = run_cli(&["--db", &db, "export", file], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Exported 1 builds and 4 deployments"),
        "{run:?}"
    );

    let copy = fixture.dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    let dry = run_cli(&["--db", copy, "import", file, "--dry-run"], &[]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout.contains("Dry run: would import 5 events"),
        "{dry:?}"
    );
    let empty = run_cli(&["--db", copy, "history", "-o", "json"], &[]);
    assert_eq!(
        empty.json(),
        Value::Array(vec![]),
        "a dry run writes nothing"
    );

    let run = run_cli(&["--db", copy, "import", file, "-o", "json"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(
        (report["builds"].as_u64(), report["deployments"].as_u64()),
        (Some(1), Some(4))
    );
    assert_eq!(figures(copy), figures(&db));

    // Again: every line skipped, nothing changes.
    let again = run_cli(&["--db", copy, "import", file], &[]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.contains("Imported 0 events") && again.stdout.contains("5 skipped"),
        "{again:?}"
    );
    assert_eq!(figures(copy), figures(&db));
}

#[test]
fn export_pipes_into_import_through_standard_streams() {
    let fixture = Fixture::new();
    history(&fixture);
    let db = fixture.db.to_str().unwrap().to_string();
    let copy = fixture.dir.path().join("piped.db");
    let copy = copy.to_str().unwrap();
    let bin = env!("CARGO_BIN_EXE_versioner");
    let export = Command::new(bin)
        .args(["--db", &db, "export"])
        .env("HOME", fixture.dir.path())
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let mut import = Command::new(bin)
        .args(["--db", copy, "import"])
        .env("HOME", fixture.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    import
        .stdin
        .take()
        .unwrap()
        .write_all(&export.stdout)
        .unwrap();
    let out = import.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(figures(copy), figures(&db));
}

#[test]
fn a_bad_line_exits_4_naming_it_and_writes_nothing() {
    let fixture = Fixture::new();
    let db = fixture.dir.path().join("fresh.db");
    let db = db.to_str().unwrap();
    let file = fixture.dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"kind":"deployment","product_name":"api","version":"1","environment_name":"prod","status":"completed","completed_at":"2026-11-01T10:00:00Z"}"#,
            "\n",
            r#"{"kind":"deployment","product_name":"api","version":"2","environment_name":"prod","status":"completed"}"#,
            "\n",
        ),
    )
    .unwrap();
    let run = run_cli(&["--db", db, "import", file.to_str().unwrap()], &[]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("line 2"), "{run:?}");
    assert!(run.stderr.contains("completed_at"), "{run:?}");
    let history = run_cli(&["--db", db, "history", "-o", "json"], &[]);
    assert_eq!(history.json(), Value::Array(vec![]));
}

#[test]
fn through_a_server_only_admin_keys_import_and_export() {
    let fixture = Fixture::new();
    history(&fixture);
    let server = TestServer::start(fixture.router());
    let as_key = |key: &str, args: &[&str]| {
        run_cli(
            args,
            &[
                ("VERSIONER_API_URL", server.url.as_str()),
                ("VERSIONER_API_KEY", key),
            ],
        )
    };
    let denied = as_key(&fixture.deployer, &["export"]);
    assert_eq!(denied.code, 4, "{denied:?}");
    assert!(
        denied.stderr.contains("FORBIDDEN") || denied.stderr.contains("403"),
        "{denied:?}"
    );
    let exported = as_key(&fixture.admin, &["export"]);
    assert_eq!(exported.code, 0, "{exported:?}");
    assert_eq!(exported.stdout.lines().count(), 5, "{exported:?}");
    let file = fixture.dir.path().join("remote.jsonl");
    std::fs::write(&file, &exported.stdout).unwrap();
    let denied = as_key(&fixture.deployer, &["import", file.to_str().unwrap()]);
    assert_eq!(denied.code, 4, "{denied:?}");
    let dry = as_key(
        &fixture.admin,
        &["import", file.to_str().unwrap(), "--dry-run", "-o", "json"],
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    let report = dry.json();
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["lines"], 5, "{report}");
}
