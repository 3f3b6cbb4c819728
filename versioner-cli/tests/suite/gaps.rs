//! The CLI gaps of issue 18, item 9: `drift`, `versions --sha` / `--id`, `products` and
//! `environments`, `rules history` and `rules list -v`, a policy's problems one per line,
//! unknown config-file keys, the global options' own `--help` heading, humanised waits and the
//! "what to do" when time alone will not clear a block. Each query runs in process and
//! through a server, with the same answer.

use chrono::{Duration, Utc};
use serde_json::Value;

use crate::support::{FLOW_POLICY, Fixture, Run, TestServer, versioner};

fn deploy<'a>(product: &'a str, version: &'a str, env: &'a str) -> Vec<&'a str> {
    vec![
        "track",
        "deployment",
        "--product",
        product,
        "--version",
        version,
        "--environment",
        env,
        "--status",
        "success",
    ]
}

/// Records `api` 1.0 (sha abcdef12) in staging and production, then 1.1 in staging, and
/// `web` 2.0 in staging: `api` drifts, `web` does not.
fn seed(v: &dyn Fn(&[&str]) -> Run) {
    let build = [
        "track",
        "build",
        "--product",
        "api",
        "--version",
        "1.0",
        "--scm-sha",
        "abcdef12",
    ];
    assert_eq!(v(&build).code, 0);
    for args in [
        deploy("api", "1.0", "staging"),
        deploy("api", "1.0", "production"),
        deploy("api", "1.1", "staging"),
        deploy("web", "2.0", "staging"),
    ] {
        let r = v(&args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
    }
}

/// The catalog queries, the same in process and through a server.
fn queries_answer(v: &dyn Fn(&[&str]) -> Run) {
    let r = v(&["drift", "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let drift = r.json();
    assert_eq!(drift.as_array().unwrap().len(), 1, "{drift}");
    assert_eq!(drift[0]["product_name"], "api");
    assert_eq!(drift[0]["versions"]["production"], "1.0");
    assert_eq!(drift[0]["versions"]["staging"], "1.1");
    let r = v(&["drift"]);
    assert!(r.stdout.contains("production=1.0 staging=1.1"), "{r:?}");
    let r = v(&["drift", "--environment", "production"]);
    assert!(r.stdout.contains("no drift"), "{r:?}");

    let r = v(&["versions", "--sha", "abcdef", "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let found = r.json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["version"], "1.0");
    let id = found[0]["id"].as_str().unwrap().to_string();
    let r = v(&["versions", "--id", &id, "-o", "json"]);
    assert_eq!(
        (r.code, r.json()["version"].clone()),
        (0, Value::from("1.0"))
    );
    let r = v(&["versions", "--id", &id]);
    assert!(
        r.stdout.contains("abcdef12") && r.stdout.contains("api"),
        "{r:?}"
    );
    let r = v(&["versions", "--product", "api"]);
    let header = r.stdout.lines().next().unwrap_or_default().to_string();
    assert!(
        header.starts_with("VERSION  SHA"),
        "one product's columns stay: {header}"
    );
    let r = v(&["versions", "--id", "no-such-id"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("NOT_FOUND"), "{r:?}");
    let r = v(&["versions", "--sha", "xyz!"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("INVALID_INPUT"), "{r:?}");
    let r = v(&["versions", "--sha", "abcdef", "--product", "api"]);
    assert_eq!(r.code, 1, "--sha and --product conflict: {r:?}");

    let r = v(&["products", "list", "-o", "json"]);
    let list = r.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web"]);
    let r = v(&["products", "describe", "api"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("production: 1.0"), "{r:?}");
    assert!(r.stdout.contains("staging: 1.1"), "{r:?}");
    let r = v(&["products", "describe", "nope"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("NOT_FOUND") && r.stdout.is_empty(),
        "{r:?}"
    );

    let r = v(&["environments", "list", "-o", "json"]);
    let envs = r.json();
    assert_eq!(envs[0]["name"], "staging");
    assert_eq!(envs[1]["name"], "production");
    let r = v(&["environments", "describe", "staging"]);
    assert!(
        r.stdout.contains("api: 1.1") && r.stdout.contains("web: 2.0"),
        "{r:?}"
    );
    let r = v(&["environments", "describe", "nope"]);
    assert_eq!(r.code, 4, "{r:?}");
}

#[test]
fn catalog_queries_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap().to_string();
    let v = move |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", &db)]);
    seed(&v);
    queries_answer(&v);
    let r = v(&[
        "environments",
        "set-type",
        "staging",
        "production",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["type"], "production");
    assert_eq!(r.json()["type_overridden"], true);
    let r = v(&["environments", "set-type", "staging", "inferred"]);
    assert!(r.stdout.contains("inferred from the name"), "{r:?}");
    let r = v(&["environments", "set-type", "staging", "prodution"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("prodution"), "{r:?}");
}

#[test]
fn catalog_queries_through_a_server() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let home = f.dir.path();
    let env = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", f.admin.as_str()),
    ];
    let v = |args: &[&str]| versioner(home, args, &env);
    // The fixture's flow policy wants staging first: the seed deploys staging first.
    seed(&v);
    queries_answer(&v);
    let r = v(&[
        "rules",
        "history",
        "Staging before production",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn rule_history_and_the_audit_in_rules_list_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap().to_string();
    std::fs::write(home.join("policy.toml"), FLOW_POLICY).unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", &db), ("USER", "dana")]);
    assert_eq!(v(&["rules", "apply", "policy.toml"]).code, 0);
    let name = "Staging before production";
    let r = v(&["rules", "history", name]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("no status change recorded"), "{r:?}");
    let r = v(&[
        "rules",
        "set-status",
        name,
        "report_only",
        "--reason",
        "INC-42 hotfix",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = v(&["rules", "history", name]);
    assert!(
        r.stdout
            .contains("enabled → report_only  by dana: INC-42 hotfix"),
        "{r:?}"
    );
    let r = v(&["rules", "history", name, "-o", "json"]);
    assert_eq!(r.json()[0]["to_status"], "report_only");
    let r = v(&["rules", "history", "no such rule"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("NOT_FOUND"), "{r:?}");
    // Without -v the list has no audit; with it, each rule's changes.
    assert!(!v(&["rules", "list"]).stdout.contains("INC-42"));
    let r = v(&["rules", "list", "-v"]);
    assert!(r.stdout.contains(&format!("{name}: created ")), "{r:?}");
    assert!(r.stdout.contains("by dana: INC-42 hotfix"), "{r:?}");
}

#[test]
fn a_policy_s_problems_are_printed_one_per_line_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap().to_string();
    std::fs::write(
        home.join("bad.toml"),
        "[[rules]]\nname = \"a\"\ntype = \"flow\"\nbogus = 1\n\n[[rules]]\nname = \"b\"\ntype = \"schedule\"\n",
    )
    .unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", &db)]);
    let r = v(&["rules", "apply", "bad.toml"]);
    assert_eq!(r.code, 4, "{r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines[0].contains("[INVALID_INPUT] invalid policy: 3 problem(s)"),
        "{r:?}"
    );
    assert!(lines.contains(&"  - rule `a`: `prerequisites`: must list at least one environment"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  - rule `a`: `bogus`: unknown field"))
    );
    assert!(lines.contains(&"  - rule `b`: `windows`: must list at least one window"));
    assert_eq!(v(&["rules", "list"]).stdout.trim(), "(no rules)");
    // JSON keeps the API's body, problems included.
    let r = v(&["rules", "apply", "bad.toml", "-o", "json"]);
    assert_eq!(r.json()["problems"].as_array().unwrap().len(), 3);
}

#[test]
fn unknown_config_file_keys_are_warned_about_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join(".versioner")).unwrap();
    std::fs::write(
        home.join(".versioner/config.yaml"),
        "db: v.db\napi-url: http://127.0.0.1:9\nprodct: web\n",
    )
    .unwrap();
    let r = versioner(home, &["status"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("unknown key `api-url` is ignored"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("unknown key `prodct` is ignored"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("known keys: db, database_url, api_url"),
        "{r:?}"
    );
    assert!(
        home.join("v.db").is_file(),
        "the known key `db` still applies"
    );
}

#[test]
fn help_shows_the_global_options_apart_from_each_command_s_own() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        &["--help"][..],
        &["track", "deployment", "--help"],
        &["drift", "--help"],
        &["products", "describe", "--help"],
    ] {
        let r = versioner(dir.path(), cmd, &[]);
        assert_eq!(r.code, 0, "{cmd:?}");
        let (own, global) = r
            .stdout
            .split_once("Global options (any command):")
            .unwrap_or_else(|| panic!("{cmd:?}: no global heading\n{}", r.stdout));
        assert!(global.contains("--db <PATH>"), "{cmd:?}");
        assert!(global.contains("--api-url <URL>"), "{cmd:?}");
        assert!(
            !own.contains("--db <PATH>"),
            "{cmd:?}: --db among the command's own"
        );
    }
    let r = versioner(dir.path(), &["track", "deployment", "--help"], &[]);
    let (own, _) = r.stdout.split_once("Global options").unwrap();
    assert!(own.contains("--environment"), "{}", r.stdout);
}

#[test]
fn waits_are_humanised_and_a_block_time_cannot_clear_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap().to_string();
    let now = Utc::now();
    let end = now + Duration::days(26) + Duration::hours(2) + Duration::minutes(30);
    let fmt = "%Y-%m-%dT%H:%M";
    let policy = format!(
        "[[rules]]\nname = \"Freeze\"\ntype = \"schedule\"\nmode = \"deny\"\ntimezone = \"UTC\"\nenvironments = [\"production\"]\nwindows = [{{ recurrence = \"once\", start = \"{}\", end = \"{}\" }}]\n",
        (now - Duration::days(1)).format(fmt),
        end.format(fmt)
    );
    std::fs::write(home.join("freeze.toml"), policy).unwrap();
    std::fs::write(home.join("flow.toml"), FLOW_POLICY).unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", &db)]);
    assert_eq!(v(&["rules", "apply", "freeze.toml"]).code, 0);
    let check = [
        "check",
        "--product",
        "api",
        "--version",
        "1",
        "--environment",
        "production",
    ];
    let r = v(&check);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("(in 26 days 2 h)"), "{}", r.stderr);
    assert!(
        r.stderr.contains("deploy once the window ends"),
        "{}",
        r.stderr
    );
    // A flow rule too: the window's end no longer clears the block, and every hint says so.
    assert_eq!(
        v(&["rules", "apply", "flow.toml", "--mode", "merge"]).code,
        0
    );
    let r = v(&check);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("What to do: time alone will not clear this: no allowed time is in sight"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("Retry after: — (time alone will not clear this; a person must act)"),
        "{}",
        r.stderr
    );
}
