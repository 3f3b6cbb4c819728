//! `versioner metrics dora`: in process and through `versioner serve` (the same answer), the
//! JSON fields issue 19 names, and bad flags refused before anything is opened.

use serde_json::Value;
use versioner_core::DeploymentEvent;

use crate::support::{Fixture, TestServer, run_cli, versioner};

const SINCE: &str = "2026-11-02T00:00:00Z";
const UNTIL: &str = "2026-11-09T00:00:00Z";

/// Production history: 1.0 ok (11-02), 2.0 failed (11-03 10:00), 2.1 ok (11-03 13:00).
fn history(fixture: &Fixture) {
    for (version, status, at) in [
        ("1.0", "completed", "2026-11-02T10:00:00Z"),
        ("2.0", "failed", "2026-11-03T10:00:00Z"),
        ("2.1", "completed", "2026-11-03T13:00:00Z"),
    ] {
        // Straight to production past the flow rule: a closed deployment is recorded as is.
        let mut e = DeploymentEvent::new("api", version, "production", status);
        e.completed_at = Some(at.into());
        e.skip_preflight_checks = Some(true);
        e.skip_preflight_reason = Some("history".into());
        fixture.vr().track_deployment(&e).unwrap();
    }
}

#[test]
fn metrics_dora_answers_the_same_in_process_and_through_the_server() {
    let fixture = Fixture::new();
    history(&fixture);
    let db = fixture.db.to_str().unwrap().to_string();
    let args = [
        "metrics",
        "dora",
        "--product",
        "api",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--output",
        "json",
    ];
    let mut local_args = vec!["--db", db.as_str()];
    local_args.extend_from_slice(&args);
    let local = run_cli(&local_args, &[]);
    assert_eq!(local.code, 0, "{local:?}");
    let j = local.json();
    // 2 successes over 7 days; 1 failed of 3 finished; restored 3 h later.
    assert_eq!(j["deployment_frequency"]["count"], 2);
    assert_eq!(j["deployment_frequency"]["per_day"], 2.0 / 7.0);
    assert_eq!(j["change_failure_rate"], 1.0 / 3.0);
    assert_eq!(j["time_to_restore"]["median_seconds"], 3.0 * 3600.0);
    assert_eq!(j["time_to_restore"]["p90_seconds"], 3.0 * 3600.0);
    assert!(j["lead_time"].get("median_seconds").is_some());
    assert!(j["lead_time"].get("p90_seconds").is_some());
    assert_eq!(j["definitions"]["frequency"], "per_day");
    assert_eq!(j["definitions"]["rollbacks"], "not_a_failure");
    assert_eq!(j["environments"], serde_json::json!(["production"]));

    let server = TestServer::start(fixture.router());
    let remote = run_cli(
        &args,
        &[
            ("VERSIONER_API_URL", server.url.as_str()),
            ("VERSIONER_API_KEY", fixture.viewer.as_str()),
        ],
    );
    assert_eq!(remote.code, 0, "{remote:?}");
    assert_eq!(remote.json(), j);

    // The text form names each figure with its band; --by week adds the series.
    let text = run_cli(
        &[
            "--db", &db, "metrics", "dora", "--since", SINCE, "--until", UNTIL, "--by", "week",
        ],
        &[],
    );
    assert_eq!(text.code, 0, "{text:?}");
    for word in [
        "deployment frequency",
        "change failure rate",
        "33.3%",
        "WEEK",
    ] {
        assert!(text.stdout.contains(word), "{word}: {}", text.stdout);
    }
}

#[test]
fn metrics_dora_refuses_bad_flags_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", db)]);
    let r = v(&["metrics", "dora", "--since", UNTIL, "--until", SINCE]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("--until") && r.stderr.contains("must be after"),
        "{}",
        r.stderr
    );
    let r = v(&["metrics", "dora", "--since", "yesterday", "--until", UNTIL]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("--since") && r.stderr.contains("RFC 3339"),
        "{}",
        r.stderr
    );
    let r = v(&[
        "metrics",
        "dora",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--frequency",
        "hourly",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("deployment_days_per_week"),
        "{}",
        r.stderr
    );
    // Refused before the database was opened: no file was created.
    assert!(!home.join("v.db").exists());
    // An unknown product is NOT_FOUND (exit 4), read without writing.
    let r = v(&[
        "metrics",
        "dora",
        "--product",
        "nope",
        "--since",
        SINCE,
        "--until",
        UNTIL,
    ]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("NOT_FOUND"), "{}", r.stderr);
    let r = v(&["history", "-o", "json"]);
    assert_eq!(r.json(), Value::Array(vec![]));
}

/// Runs git in `dir` with a fixed identity and commit time.
fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-02T08:30:00+01:00")
        .env("GIT_COMMITTER_DATE", "2026-11-02T08:30:00+01:00")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn in_ci_the_commit_time_comes_from_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    git(home, &["init", "-q"]);
    git(home, &["commit", "-q", "--allow-empty", "-m", "first"]);
    let sha = git(home, &["rev-parse", "HEAD"]);
    let db = home.join("v.db");
    let db = db.to_str().unwrap();
    let ci = [
        ("VERSIONER_DB", db),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SHA", sha.as_str()),
        ("GITHUB_REPOSITORY", "acme/api"),
    ];
    let r = versioner(
        home,
        &["track", "build", "--version", "1.0", "-o", "json"],
        &ci,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(
        home,
        &["versions", "--product", "api", "-o", "json"],
        &[("VERSIONER_DB", db)],
    );
    assert_eq!(r.code, 0, "{r:?}");
    // The committer date, 08:30 at +01:00, kept as the same instant.
    assert_eq!(
        r.json()[0]["scm_committed_at"],
        "2026-11-02T07:30:00.000000Z",
        "{r:?}"
    );

    // The flag wins over the checkout; a malformed one is refused before anything is written.
    let r = versioner(
        home,
        &[
            "track",
            "deployment",
            "--version",
            "2.0",
            "--environment",
            "dev",
            "--scm-committed-at",
            "last tuesday",
        ],
        &ci,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("--scm-committed-at"), "{}", r.stderr);
    let r = versioner(
        home,
        &["versions", "--product", "api", "-o", "json"],
        &[("VERSIONER_DB", db)],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 1);
}

/// Staging ahead of production: 1.0 everywhere (11-01), then 1.1 (11-03) and 1.2 (11-05) to
/// staging only.
fn skewed(fixture: &Fixture) {
    for (version, env, at) in [
        ("1.0", "staging", "2026-11-01T10:00:00Z"),
        ("1.0", "production", "2026-11-01T11:00:00Z"),
        ("1.1", "staging", "2026-11-03T10:00:00Z"),
        ("1.2", "staging", "2026-11-05T10:00:00Z"),
    ] {
        let mut e = DeploymentEvent::new("api", version, env, "completed");
        e.completed_at = Some(at.into());
        e.skip_preflight_checks = Some(true);
        e.skip_preflight_reason = Some("history".into());
        fixture.vr().track_deployment(&e).unwrap();
    }
}

#[test]
fn skew_and_stale_answer_the_same_in_process_and_through_the_server() {
    let fixture = Fixture::new();
    skewed(&fixture);
    let db = fixture.db.to_str().unwrap().to_string();
    let server = TestServer::start(fixture.router());
    let remote_env = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", fixture.viewer.as_str()),
    ];
    let skew = [
        "skew",
        "--ahead",
        "staging",
        "--behind",
        "production",
        "-o",
        "json",
    ];
    let local = run_cli(&[&["--db", db.as_str()][..], &skew[..]].concat(), &[]);
    assert_eq!(local.code, 0, "{local:?}");
    let j = local.json();
    assert_eq!(j[0]["product_name"], "api");
    assert_eq!(j[0]["versions_behind"], 2);
    assert_eq!(j[0]["versions"], serde_json::json!(["1.1", "1.2"]));
    assert_eq!(j[0]["behind_since"], "2026-11-03T10:00:00.000000Z");
    assert_eq!(j[0]["behind_version"], "1.0");
    let remote = run_cli(&skew, &remote_env);
    assert_eq!(remote.code, 0, "{remote:?}");
    // seconds_behind counts to the answer's instant: equal but for the clock between calls.
    let strip = |mut v: Value| {
        v[0]["seconds_behind"] = Value::Null;
        v
    };
    assert_eq!(strip(remote.json()), strip(j));

    let text = run_cli(
        &[
            "--db",
            &db,
            "skew",
            "--ahead",
            "staging",
            "--behind",
            "production",
        ],
        &[],
    );
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.contains("PRODUCT"), "{}", text.stdout);
    assert!(text.stdout.contains("1.1 1.2"), "{}", text.stdout);

    // 1.2 has waited in staging since 11-05 (longer than a day), never promoted.
    let stale = [
        "stale",
        "--environment",
        "staging",
        "--older-than",
        "1d",
        "-o",
        "json",
    ];
    let local = run_cli(&[&["--db", db.as_str()][..], &stale[..]].concat(), &[]);
    assert_eq!(local.code, 0, "{local:?}");
    let j = local.json();
    assert_eq!(j[0]["version"], "1.2");
    assert_eq!(j[0]["not_promoted_to"], serde_json::json!(["production"]));
    let remote = run_cli(&stale, &remote_env);
    assert_eq!(remote.code, 0, "{remote:?}");
    assert_eq!(remote.json()[0]["version"], "1.2");

    // Mistakes are named, in process and through the server alike.
    for env in [&[][..], &remote_env[..]] {
        let mut args = vec!["skew", "--ahead", "staging", "--behind", "nowhere"];
        if env.is_empty() {
            args.splice(0..0, ["--db", db.as_str()]);
        }
        let r = run_cli(&args, env);
        assert_eq!(r.code, 4, "{r:?}");
        assert!(r.stderr.contains("nowhere"), "{}", r.stderr);
        let mut args = vec!["stale", "--environment", "staging", "--older-than", "soon"];
        if env.is_empty() {
            args.splice(0..0, ["--db", db.as_str()]);
        }
        let r = run_cli(&args, env);
        assert_ne!(r.code, 0, "{r:?}");
        assert!(r.stderr.contains("older_than"), "{}", r.stderr);
    }
}
