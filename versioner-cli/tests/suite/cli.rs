//! The `versioner` binary: exit codes, output, configuration, GitHub Actions, keys, `serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use versioner_core::HistoryQuery;

use crate::support::{FLOW_POLICY, Fixture, Run, TestServer, dead_url, versioner};

const FAST: [&str; 4] = ["--retry-backoff", "10ms", "--max-attempts", "3"];

fn remote<'a>(url: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("VERSIONER_API_URL", url), ("VERSIONER_API_KEY", key)]
}

fn deploy<'a>(version: &'a str, env: &'a str, status: &'a str) -> Vec<&'a str> {
    vec![
        "track",
        "deployment",
        "--product",
        "api",
        "--version",
        version,
        "--environment",
        env,
        "--status",
        status,
    ]
}

#[test]
fn promotion_through_the_server_exits_0_5_then_0() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let home = f.dir.path();
    let env = remote(&server.url, &f.deployer);

    let r = versioner(
        home,
        &[
            "track",
            "build",
            "--product",
            "api",
            "--version",
            "1.0.0",
            "--scm-sha",
            "abc123def4",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("✓ Build event tracked successfully"));
    assert!(r.stdout.contains("Event ID: "));

    // Staging is under way, not done: production is refused.
    let r = versioner(home, &deploy("1.0.0", "staging", "started"), &env);
    assert_eq!(r.code, 0, "{r:?}");

    let r = versioner(home, &deploy("1.0.0", "production", "started"), &env);
    assert_eq!(r.code, 5, "{r:?}");
    for needle in [
        "Deployment Precondition Failed (HTTP 428)",
        "Error: FLOW_VIOLATION",
        "Rule: Staging before production",
        "Message: ",
        "What to do: ",
        "Retry after: ",
    ] {
        assert!(
            r.stderr.contains(needle),
            "missing {needle:?} in {}",
            r.stderr
        );
    }

    let mut json = deploy("1.0.1", "production", "started");
    json.extend(["--output", "json"]);
    let r = versioner(home, &json, &env);
    assert_eq!(r.code, 5);
    let body = r.json();
    assert_eq!(body["detail"]["code"], "FLOW_VIOLATION");
    assert_eq!(
        body["detail"]["details"]["rule_name"],
        "Staging before production"
    );
    assert!(
        body["detail"]
            .as_object()
            .unwrap()
            .contains_key("retry_after")
    );

    // Satisfy the rule: staging completes, so 1.0.0 may go to production.
    assert_eq!(
        versioner(home, &deploy("1.0.0", "staging", "completed"), &env).code,
        0
    );
    let mut ok = deploy("1.0.0", "production", "started");
    ok.extend(["-o", "json"]);
    let r = versioner(home, &ok, &env);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["status"], "started");
    assert_eq!(
        r.json()["extra_metadata"]["preflight_status"]["status"],
        "passed"
    );
}

#[test]
fn api_errors_exit_4_with_the_code_and_never_the_key() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let home = f.dir.path();
    let env = remote(&server.url, &f.deployer);
    let build = |sha: &'static str| {
        vec![
            "track",
            "build",
            "--product",
            "api",
            "--version",
            "1.0.0",
            "--scm-sha",
            sha,
        ]
    };
    assert_eq!(versioner(home, &build("aaaa1111"), &env).code, 0);
    let r = versioner(home, &build("bbbb2222"), &env);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("VERSION_CONFLICT"));

    let r = versioner(
        home,
        &deploy("1", "dev", "started"),
        &[("VERSIONER_API_URL", &server.url)],
    );
    assert_eq!(r.code, 4, "missing key: {r:?}");
    assert!(r.stderr.contains("[UNAUTHORIZED] Invalid API key"));
    let r = versioner(
        home,
        &deploy("1", "dev", "started"),
        &remote(&server.url, "sk_vr_wrong"),
    );
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("UNAUTHORIZED"));
    let r = versioner(
        home,
        &deploy("1", "dev", "started"),
        &remote(&server.url, &f.viewer),
    );
    assert_eq!(r.code, 4);
    assert!(
        r.stderr
            .contains("[FORBIDDEN] You do not have permission to perform this action")
    );

    let r = versioner(
        home,
        &[
            "track",
            "build",
            "--product",
            "api",
            "--version",
            "2",
            "--scm-sha",
            "not-a-sha",
        ],
        &env,
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("INVALID_INPUT") && r.stderr.contains("scm_sha"),
        "{}",
        r.stderr
    );

    // The key, given as a flag and with -v, is never printed.
    let mut args = deploy("1", "dev", "completed");
    args.extend([
        "-v",
        "--api-url",
        server.url.as_str(),
        "--api-key",
        f.deployer.as_str(),
    ]);
    let r = versioner(home, &args, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains(&f.deployer) && !r.stderr.contains(&f.deployer));
    assert!(r.stderr.contains("visible in process lists"));
    assert!(r.stderr.contains("Status 'completed'") || r.stderr.contains("Mode: server"));
}

#[test]
fn fail_on_api_error_false_covers_a_dead_server_and_api_errors_but_not_blocks() {
    let f = Fixture::new();
    let home = f.dir.path();
    let dead = dead_url();
    let mut args = deploy("1", "dev", "started");
    args.extend(FAST);
    let r = versioner(home, &args, &remote(&dead, "k"));
    assert_eq!(r.code, 1, "network error: {r:?}");
    assert!(
        r.stderr.contains("NETWORK") && r.stderr.contains("after 3 attempts"),
        "{}",
        r.stderr
    );

    args.push("--fail-on-api-error=false");
    let r = versioner(home, &args, &remote(&dead, "k"));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("⚠ API error (continuing)"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("not recorded"));

    let mut build = vec![
        "track",
        "build",
        "--product",
        "api",
        "--version",
        "1",
        "-o",
        "json",
    ];
    build.extend(FAST);
    let env = [
        ("VERSIONER_API_URL", dead.as_str()),
        ("VERSIONER_FAIL_ON_API_ERROR", "false"),
    ];
    let r = versioner(home, &build, &env);
    assert_eq!(r.code, 0, "variable: {r:?}");
    assert_eq!(r.json()["status"], "not_recorded");
    assert_eq!(r.json()["error"]["code"], "NETWORK");

    let server = TestServer::start(f.router());
    let mut viewer = deploy("1", "dev", "started");
    viewer.push("--fail-on-api-error=false");
    assert_eq!(
        versioner(home, &viewer, &remote(&server.url, &f.viewer)).code,
        0
    );
    let mut blocked = deploy("1", "production", "started");
    blocked.push("--fail-on-api-error=false");
    assert_eq!(
        versioner(home, &blocked, &remote(&server.url, &f.deployer)).code,
        5
    );
}

async fn fail_twice(State(failures): State<Arc<AtomicU32>>, req: Request, next: Next) -> Response {
    let is_post = req.method() == Method::POST;
    let resp = next.run(req).await;
    if is_post && failures.fetch_add(1, Ordering::SeqCst) < 2 {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    resp
}

#[test]
fn the_cli_retries_a_flaky_server_and_the_event_is_recorded_once() {
    let f = Fixture::new();
    let failures = Arc::new(AtomicU32::new(0));
    let server = TestServer::start(f.router().layer(middleware::from_fn_with_state(
        Arc::clone(&failures),
        fail_twice,
    )));
    let mut args = deploy("1", "dev", "started");
    args.extend(FAST);
    let r = versioner(f.dir.path(), &args, &remote(&server.url, &f.deployer));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(failures.load(Ordering::SeqCst), 3);
    assert_eq!(f.vr().history(&HistoryQuery::new()).unwrap().len(), 1);
}

#[test]
fn in_process_commands_check_status_history_rules_approvals() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap();
    std::fs::write(home.join("policy.toml"), FLOW_POLICY).unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", db), ("USER", "dana")]);

    let r = v(&["rules", "apply", "policy.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("1 added"));
    assert!(
        v(&["rules", "list"])
            .stdout
            .contains("Staging before production")
    );
    let r = v(&[
        "check",
        "--product",
        "api",
        "--version",
        "1",
        "--environment",
        "production",
    ]);
    assert_eq!(r.code, 5);
    assert!(r.stdout.contains("✗ FAILED") && r.stderr.contains("FLOW_VIOLATION"));
    assert_eq!(v(&deploy("1", "staging", "success")).code, 0);
    let r = v(&[
        "check",
        "--product",
        "api",
        "--version",
        "1",
        "--environment",
        "production",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["decision"], "allowed");
    // Before staging, as of a past instant, it was blocked.
    let r = v(&[
        "check",
        "--product",
        "api",
        "--version",
        "1",
        "--environment",
        "production",
        "--at",
        "2000-01-01T00:00:00Z",
    ]);
    assert_eq!(
        r.code, 5,
        "a check at a past instant sees the history recorded by then: {r:?}"
    );

    assert_eq!(v(&deploy("1", "production", "started")).code, 0);
    let r = v(&["status"]);
    assert!(
        r.stdout.contains("PRODUCT") && r.stdout.contains("(*1)"),
        "{}",
        r.stdout
    );
    let r = v(&["status", "--at", "2000-01-01T00:00:00Z"]);
    assert!(r.stdout.contains("nothing deployed"), "{}", r.stdout);
    assert_eq!(v(&["status", "--at", "yesterday"]).code, 1);
    let r = v(&["history", "--product", "api", "-o", "json"]);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    assert!(
        v(&["versions", "--product", "api"])
            .stdout
            .contains("VERSION")
    );
    assert_eq!(v(&["versions", "--product", "nope"]).code, 4);

    let r = v(&[
        "rules",
        "set-status",
        "Staging before production",
        "report_only",
        "--reason",
        "INC-7",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("report_only") && r.stdout.contains("by dana"));
    assert_eq!(
        v(&["rules", "set-status", "Nope", "disabled", "--reason", "x"]).code,
        4
    );
    assert_eq!(
        v(&[
            "rules",
            "set-status",
            "Staging before production",
            "sleeping",
            "--reason",
            "x"
        ])
        .code,
        1
    );

    let r = v(&[
        "approve",
        "--product",
        "api",
        "--version",
        "1",
        "--type",
        "qa",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("by dana"));
    let r = v(&[
        "approvals",
        "--product",
        "api",
        "--version",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(r.json()[0]["approver"], "dana");
}

#[test]
fn usage_help_version_and_global_options_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let r = versioner(home, &["--version"], &[]);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, concat!("versioner ", env!("CARGO_PKG_VERSION")))
    );
    for cmd in [
        &["--help"][..],
        &["track", "--help"],
        &["rules", "--help"],
        &["track", "build", "--help"],
        &["track", "deployment", "--help"],
        &["check", "--help"],
        &["status", "--help"],
        &["history", "--help"],
        &["versions", "--help"],
        &["rules", "apply", "--help"],
        &["rules", "list", "--help"],
        &["rules", "set-status", "--help"],
        &["approve", "--help"],
        &["approvals", "--help"],
        &["keys", "--help"],
        &["keys", "create", "--help"],
        &["keys", "list", "--help"],
        &["keys", "revoke", "--help"],
        &["serve", "--help"],
    ] {
        let r = versioner(home, cmd, &[]);
        assert_eq!(r.code, 0, "{cmd:?}");
        assert!(
            r.stdout.contains("Examples:"),
            "{cmd:?} has no examples:\n{}",
            r.stdout
        );
    }
    let r = versioner(home, &["track", "build", "--bogus"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--bogus"));
    let r = versioner(
        home,
        &[
            "track",
            "deployment",
            "--product",
            "a",
            "--version",
            "1",
            "--db",
            "x.db",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "no environment");
    assert!(r.stderr.contains("--environment is required"));
    let r = versioner(
        home,
        &[
            "track",
            "build",
            "--product",
            "a",
            "--version",
            "1",
            "--db",
            "x.db",
            "--started-at",
            "noon",
        ],
        &[],
    );
    assert_eq!(r.code, 1);
    let r = versioner(
        home,
        &[
            "track",
            "build",
            "--product",
            "a",
            "--version",
            "1",
            "--db",
            "x.db",
            "--extra-metadata",
            "[1]",
        ],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("JSON object"));
    let r = versioner(
        home,
        &["--db", "x.db", "--api-url", "http://h:1", "status"],
        &[],
    );
    assert_eq!(r.code, 1);
    // Globals before and after the subcommand.
    assert_eq!(
        versioner(home, &["--db", "g.db", "-o", "json", "status"], &[]).code,
        0
    );
    let r = versioner(home, &["status", "--db", "g.db", "-o", "json"], &[]);
    assert_eq!((r.code, r.json()["cells"].is_array()), (0, true));
}

fn versioner_in(cwd: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn config_comes_from_the_flag_or_home_never_the_working_directory() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let yaml = format!(
        "api_url: {}\napi_key: {}\nproduct: api\n",
        server.url, f.deployer
    );
    // A repository that plants a config must not redirect the CLI.
    std::fs::create_dir_all(cwd.path().join(".versioner")).unwrap();
    std::fs::write(cwd.path().join(".versioner/config.yaml"), &yaml).unwrap();
    std::fs::write(cwd.path().join("config.yaml"), &yaml).unwrap();
    let args = ["track", "build", "--version", "1", "-v"];
    let r = versioner_in(cwd.path(), home.path(), &args, &[]);
    assert_eq!(r.code, 1, "{r:?}");

    let explicit = cwd.path().join("config.yaml");
    let mut with_flag = args.to_vec();
    with_flag.extend(["--config", explicit.to_str().unwrap()]);
    let r = versioner_in(cwd.path(), home.path(), &with_flag, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Using config file"));
    assert!(!r.stderr.contains(&f.deployer));

    std::fs::create_dir_all(home.path().join(".versioner")).unwrap();
    std::fs::write(
        home.path().join(".versioner/config.yaml"),
        format!("{yaml}fail_on_api_error: false\nextra_metadata:\n  team: core\n"),
    )
    .unwrap();
    let r = versioner_in(
        cwd.path(),
        home.path(),
        &["track", "build", "--version", "2", "-o", "json"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["product_name"], "api");
    assert_eq!(r.json()["extra_metadata"]["team"], "core");
    // A variable beats the config file.
    let r = versioner_in(
        cwd.path(),
        home.path(),
        &["track", "build", "--version", "3", "-o", "json"],
        &[("VERSIONER_PRODUCT", "web")],
    );
    assert_eq!(r.json()["product_name"], "web");
}

#[test]
fn github_actions_gets_annotations_and_a_step_summary() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let home = f.dir.path();
    let summary = home.join("summary.md");
    let mut env = remote(&server.url, &f.deployer);
    env.extend([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "acme/api"),
        ("GITHUB_SHA", "abc12"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ]);
    // Product and version come from GitHub; a short SHA is fine.
    let r = versioner(
        home,
        &[
            "track",
            "deployment",
            "--environment",
            "staging",
            "-o",
            "json",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        (
            r.json()["product_name"].as_str(),
            r.json()["version"].as_str()
        ),
        (Some("api"), Some("abc12"))
    );
    let r = versioner(
        home,
        &[
            "track",
            "deployment",
            "--environment",
            "production",
            "--version",
            "2",
            "--status",
            "started",
        ],
        &env,
    );
    assert_eq!(r.code, 5);
    assert!(
        r.stdout
            .contains("::error title=FLOW_VIOLATION%3A Staging before production::"),
        "{}",
        r.stdout
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("🚀 Versioner Summary"), "{md}");
    assert!(
        md.contains("deployment blocked") && md.contains("`FLOW_VIOLATION`"),
        "{md}"
    );
}

#[test]
fn keys_are_printed_once_as_the_last_line_and_listed_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let r = versioner(
        home,
        &[
            "keys", "create", "--db", "v.db", "--name", "ci", "--role", "deployer",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let key = r.stdout.lines().last().unwrap().to_string();
    assert!(key.starts_with("sk_vr_") && key.len() > 50, "{key}");
    // Keys live in the database itself, not in a second file.
    assert!(!home.join("v.db-server").exists());
    let r = versioner(home, &["keys", "list", "--db", "v.db"], &[]);
    // `deployer`, the name of an earlier version, is the role `ci`.
    assert!(
        r.stdout.contains("PRINCIPAL") && !r.stdout.contains(&key),
        "{r:?}"
    );
    let row = r.stdout.lines().find(|l| l.contains("sk_vr_")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[1..4],
        ["ci", "ci", "ci"],
        "name, principal, role: {row}"
    );
    assert_eq!(
        versioner(
            home,
            &[
                "keys", "create", "--db", "v.db", "--name", "x", "--role", "root"
            ],
            &[]
        )
        .code,
        1
    );
    assert_eq!(
        versioner(
            home,
            &[
                "keys", "create", "--db", "v.db", "--name", "ci", "--role", "admin"
            ],
            &[]
        )
        .code,
        4
    );
    assert_eq!(
        versioner(home, &["keys", "revoke", "--db", "v.db", "ci"], &[]).code,
        0
    );
    assert_eq!(
        versioner(home, &["keys", "revoke", "--db", "v.db", "ci"], &[]).code,
        4
    );
    // Keys live in a database, never on a server; with nothing configured, the home one.
    let r = versioner(
        home,
        &["keys", "list", "--api-url", "http://127.0.0.1:9"],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("keys works on a database"), "{r:?}");
    assert_eq!(versioner(home, &["keys", "list"], &[]).code, 0);
    assert!(home.join(".versioner").join("versioner.db").is_file());
}

#[test]
fn keys_belong_to_principals_whose_roles_change_and_the_actor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let v = |args: &[&str], actor: &str| {
        let mut all = vec!["--db", "v.db"];
        all.extend_from_slice(args);
        versioner(home, &all, &[("USER", actor)])
    };
    assert_eq!(
        v(
            &["keys", "create", "--name", "root", "--role", "admin"],
            "ops"
        )
        .code,
        0
    );
    let r = v(
        &[
            "keys",
            "create",
            "--name",
            "dana-laptop",
            "--principal",
            "dana",
            "--role",
            "qa",
        ],
        "ops",
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("Created API key `dana-laptop` for `dana` (role qa"),
        "{r:?}"
    );
    let keys_before = v(&["keys", "list", "-o", "json"], "ops").stdout;

    // Refusals: exit 4 (1 for a bad role name), a message, nothing written.
    let r = v(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--principal",
            "Dana",
            "--role",
            "admin",
        ],
        "ops",
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("`dana` has the role qa"), "{r:?}");
    let r = v(
        &["keys", "create", "--name", "y", "--role", "wizard"],
        "ops",
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("unknown role `wizard`; expected one of: admin, release_manager"),
        "{r:?}"
    );
    let r = v(&["keys", "role", "dana", "admin"], "dana");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("`dana` has the role qa, which does not allow this (keys)"),
        "{r:?}"
    );
    let r = v(&["keys", "role", "root", "viewer"], "root");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("`root` cannot change its own role"),
        "{r:?}"
    );
    let r = v(&["keys", "role", "root", "viewer"], "ops");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("`root` is the last admin"), "{r:?}");
    let r = v(&["keys", "revoke", "root"], "ops");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("the last active key of the last admin"),
        "{r:?}"
    );
    let r = v(
        &["keys", "create", "--name", "z", "--role", "admin"],
        "dana",
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("`dana` has the role qa, which does not allow this (keys)"),
        "{r:?}"
    );
    assert_eq!(
        v(&["keys", "list", "-o", "json"], "ops").stdout,
        keys_before
    );

    // A role change by another: by the principal's name or one of its keys.
    let r = v(&["keys", "role", "dana-laptop", "security"], "ops");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("`dana` now has the role security"),
        "{r:?}"
    );
    let r = v(&["keys", "principals", "-o", "json"], "ops");
    let roles: Vec<(String, String)> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("dana".into(), "security".into()),
            ("root".into(), "admin".into())
        ]
    );

    // In process the actor is --actor (else $USER), with its registered role.
    let track = [
        "track",
        "build",
        "--product",
        "api",
        "--version",
        "1",
        "-o",
        "json",
    ];
    let r = v(&track, "ops");
    assert_eq!(
        (
            r.json()["built_by"].as_str(),
            r.json()["recorded_by"].as_str()
        ),
        (Some("ops"), Some("ops"))
    );
    let approve = |t: &str, actor: &str, extra: &[&str]| {
        let mut a = vec![
            "approve",
            "--product",
            "api",
            "--version",
            "1",
            "--type",
            t,
            "--actor",
            actor,
            "-o",
            "json",
        ];
        a.extend_from_slice(extra);
        v(&a, "ops")
    };
    let r = approve("security", "dana", &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        (
            r.json()["approver"].as_str(),
            r.json()["approver_role"].as_str()
        ),
        (Some("dana"), Some("security"))
    );
    let r = approve("qa", "dana", &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("FORBIDDEN") && r.stderr.contains("may not grant `qa` approvals"),
        "{r:?}"
    );
    let r = approve("secuirty", "dana", &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("`secuirty` is not an approval type; accepted: qa, security"),
        "{r:?}"
    );
    let r = approve("qa", "dana", &["--role", "qa"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("`dana` is registered with the role security, not qa"),
        "{r:?}"
    );
    // An unregistered approver states its role.
    let r = approve("qa", "quinn", &["--role", "qa"]);
    assert_eq!(
        (r.code, r.json()["approver_role"].as_str()),
        (0, Some("qa")),
        "{r:?}"
    );
    let r = v(
        &[
            "approvals",
            "--product",
            "api",
            "--version",
            "1",
            "-o",
            "json",
        ],
        "ops",
    );
    assert_eq!(
        r.json().as_array().unwrap().len(),
        2,
        "only the two recorded"
    );
}

#[test]
fn through_a_server_the_keys_principal_approves_and_changes_rules() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let mut env = remote(&server.url, &f.approver);
    env.push(("USER", "someone-else"));
    assert_eq!(
        versioner(f.dir.path(), &deploy("1", "dev", "success"), &env).code,
        0
    );
    let approve = [
        "approve",
        "--product",
        "api",
        "--version",
        "1",
        "--type",
        "release",
        "-o",
        "json",
    ];
    // $USER is not sent: the key's principal approves, with its role.
    let r = versioner(f.dir.path(), &approve, &env);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        (
            r.json()["approver"].as_str(),
            r.json()["approver_role"].as_str()
        ),
        (Some("lead"), Some("release_manager"))
    );
    // Naming someone else is refused, and nothing is recorded.
    let mut as_rita = approve.to_vec();
    as_rita.extend(["--actor", "rita"]);
    let r = versioner(f.dir.path(), &as_rita, &env);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("`rita` is not the caller: this request acts as `lead`"),
        "{r:?}"
    );
    assert_eq!(f.vr().approvals("api", "1").unwrap().len(), 1);
    let r = versioner(
        f.dir.path(),
        &[
            "rules",
            "set-status",
            "Staging before production",
            "disabled",
            "--reason",
            "INC-9",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("by the key's principal"), "{r:?}");
    assert_eq!(f.vr().rule_history(None).unwrap()[0].actor, "lead");
}

#[test]
fn serve_listens_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let key = versioner(
        home,
        &[
            "keys", "create", "--db", "v.db", "--name", "admin", "--role", "admin",
        ],
        &[],
    )
    .stdout
    .lines()
    .last()
    .unwrap()
    .to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(["serve", "--db", "v.db", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", home)
        .current_dir(home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let health: serde_json::Value = serde_json::from_str(
        &reqwest::blocking::get(format!("{url}/health"))
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(health["status"], "ok");
    let r = versioner(home, &deploy("1", "dev", "success"), &remote(&url, &key));
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(
        home,
        &["status", "--api-url", &url],
        &[("VERSIONER_API_KEY", &key)],
    );
    assert!(r.stdout.contains("api"), "{r:?}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains(&key), "the key is never logged");
}

/// `--db` is a location the core parses, as in every binding: a file, `sqlite:PATH`,
/// `:memory:`; another URL scheme is a usage error naming the flag. A JSON policy file is read
/// by its extension.
#[test]
fn db_is_a_core_location() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(
        home.join("policy.json"),
        r#"{"rules": [{"name": "One", "type": "concurrency"}]}"#,
    )
    .unwrap();
    let r = versioner(
        home,
        &["--db", "sqlite:v.db", "rules", "apply", "policy.json"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("1 added"), "{r:?}");
    assert!(home.join("v.db").is_file());
    let r = versioner(home, &["--db", "v.db", "rules", "list"], &[]);
    assert!(r.stdout.contains("One"), "{r:?}");

    let r = versioner(home, &["--db", ":memory:", "status"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!home.join(":memory:").exists(), "in memory, not a file");

    let r = versioner(home, &["--db", "mysql://db/versioner", "status"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("--db") && r.stderr.contains("not a supported location"),
        "{}",
        r.stderr
    );
}

#[cfg(not(feature = "postgres"))]
#[test]
fn database_url_needs_the_postgres_feature() {
    let dir = tempfile::tempdir().unwrap();
    let r = versioner(
        dir.path(),
        &["status", "--database-url", "host=/tmp dbname=x"],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no PostgreSQL support"), "{}", r.stderr);
}

/// `--database-url`: in-process commands and `serve` on PostgreSQL. Runs when
/// `VERSIONER_TEST_DATABASE_URL` names a database (`scripts/pg.sh`'s `pg_start`), with
/// `cargo test -p versioner-cli --features postgres`.
#[cfg(feature = "postgres")]
#[test]
fn database_url_runs_in_process_and_serve_on_postgresql() {
    let Some(url) = std::env::var("VERSIONER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let product = format!("pg-cli-{}-{nanos}", std::process::id());
    let env = [("VERSIONER_DATABASE_URL", url.as_str())];
    let track = |version: &str, env: &[(&str, &str)]| {
        versioner(
            home,
            &[
                "track",
                "deployment",
                "--product",
                &product,
                "--version",
                version,
                "--environment",
                "staging",
            ],
            env,
        )
    };
    let r = track("1", &env);
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(
        home,
        &["history", "--product", &product, "-o", "json"],
        &env,
    );
    assert_eq!(r.json().as_array().unwrap().len(), 1, "{r:?}");

    // The key lives in the PostgreSQL database: no file on the server host.
    let key = versioner(
        home,
        &[
            "keys",
            "create",
            "--name",
            &format!("ci-{product}"),
            "--role",
            "deployer",
        ],
        &env,
    )
    .stdout
    .lines()
    .last()
    .unwrap()
    .to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", home)
        .env("VERSIONER_DATABASE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let r = track("2", &remote(&server, &key));
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(
        home,
        &["history", "--product", &product, "-o", "json"],
        &env,
    );
    assert_eq!(r.json().as_array().unwrap().len(), 2, "{r:?}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_completed_only_deployment_walks_around_nothing_exit_5() {
    // `versioner track deployment` defaults to `success`: without a `started` before it, the
    // event is preflighted like one, and refused.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let db = db.to_str().unwrap();
    std::fs::write(home.join("policy.toml"), FLOW_POLICY).unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", db)]);
    assert_eq!(v(&["rules", "apply", "policy.toml"]).code, 0);
    let r = v(&[
        "track",
        "deployment",
        "--product",
        "api",
        "--version",
        "1",
        "--environment",
        "production",
    ]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("FLOW_VIOLATION"), "{r:?}");
    let r = v(&["history", "--product", "api", "-o", "json"]);
    assert!(
        r.code != 0 || r.json().as_array().unwrap().is_empty(),
        "nothing recorded: {r:?}"
    );
}

#[test]
fn audit_verify_passes_then_names_the_row_edited_with_sql_and_export_writes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let dbs = db.to_str().unwrap();
    std::fs::write(home.join("policy.toml"), FLOW_POLICY).unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", dbs)]);
    assert_eq!(v(&["rules", "apply", "policy.toml"]).code, 0);
    assert_eq!(v(&deploy("1", "staging", "success")).code, 0);
    assert_eq!(v(&deploy("2", "production", "started")).code, 5);
    let r = v(&["audit", "verify"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("intact: 3 entries"), "{r:?}");
    let r = v(&["audit", "export"]);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["event_type"], "deployment.preflight_failed");
    assert!(lines.iter().all(|l| l["hash"].is_string()));

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE outbox SET actor = 'mallory' WHERE seq = 2", [])
        .unwrap();
    let r = v(&["audit", "verify"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("at entry 2"), "{r:?}");
}

#[test]
fn violations_and_replay_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("v.db");
    let dbs = db.to_str().unwrap();
    std::fs::write(home.join("policy.toml"), FLOW_POLICY).unwrap();
    std::fs::write(home.join("none.toml"), "rules = []\n").unwrap();
    let v = |args: &[&str]| versioner(home, args, &[("VERSIONER_DB", dbs)]);
    assert_eq!(v(&["rules", "apply", "policy.toml"]).code, 0);
    assert_eq!(v(&deploy("1", "production", "started")).code, 5);
    assert_eq!(v(&deploy("1", "staging", "started")).code, 0);
    let r = v(&["violations", "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["outcome"], "blocked");
    assert_eq!(list[0]["environment_name"], "production");
    let r = v(&["violations", "--outcome", "sideways"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("--outcome"), "{r:?}");

    let r = v(&["replay", "--since", "2000-01-01T00:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("no recorded decision"), "{r:?}");
    // Without the flow rule, the refused production deployment would have gone ahead.
    let r = v(&[
        "replay",
        "--since",
        "2000-01-01T00:00:00Z",
        "--policy",
        "none.toml",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("blocked → allowed") && r.stdout.contains("1 decision(s) would change"),
        "{r:?}"
    );
}

#[test]
fn an_empty_policy_file_replaces_nothing_without_allow_empty() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let home = f.dir.path();
    std::fs::write(home.join("policy.toml"), FLOW_POLICY).unwrap();
    std::fs::write(home.join("empty.toml"), "# nothing yet\n").unwrap();
    std::fs::write(home.join("none.toml"), "rules = []\n").unwrap();
    let db = home.join("local.db");
    let db = db.to_str().unwrap().to_string();
    let local = [("VERSIONER_DB", db.as_str()), ("USER", "dana")];
    let admin = f.admin.clone();
    let remote = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", admin.as_str()),
    ];
    for env in [&local[..], &remote[..]] {
        let v = |args: &[&str]| versioner(home, args, env);
        assert_eq!(v(&["rules", "apply", "policy.toml"]).code, 0);
        let r = v(&["rules", "apply", "empty.toml"]);
        assert_eq!(r.code, 4, "{r:?}");
        assert!(r.stderr.contains("[INVALID_INPUT]"), "{r:?}");
        assert!(
            r.stderr.contains("would delete all 1 stored rules")
                && r.stderr.contains("--allow-empty"),
            "{r:?}"
        );
        assert!(
            v(&["rules", "list"])
                .stdout
                .contains("Staging before production")
        );
        let r = v(&["rules", "apply", "empty.toml", "--allow-empty"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("1 deleted"), "{r:?}");
        assert_eq!(v(&["rules", "apply", "policy.toml"]).code, 0);
        let r = v(&["rules", "apply", "none.toml"]);
        assert!(r.code == 0 && r.stdout.contains("1 deleted"), "{r:?}");
    }
}

#[test]
fn text_reaching_the_terminal_has_its_control_characters_escaped() {
    // A server (or a proxy) answering with an escape sequence in its message: the CLI prints
    // it escaped, never raw.
    let evil = axum::Router::new().fallback(|| async {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({
                "detail": [{"loc": ["body", "version"], "msg": "bad\u{1b}]0;pwned\u{7}\r", "type": "value_error"}],
                "code": "INVALID_INPUT",
                "message": "bad\u{1b}]0;pwned\u{7}\r",
            })),
        )
    });
    let server = TestServer::start(evil);
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", "sk_test"),
    ];
    let r = versioner(
        dir.path(),
        &[
            "track",
            "build",
            "--product",
            "api",
            "--version",
            "1",
            "--status",
            "success",
        ],
        &env,
    );
    assert_eq!(r.code, 4, "{r:?}");
    for c in ['\u{1b}', '\u{7}', '\r'] {
        assert!(
            !r.stderr.contains(c) && !r.stdout.contains(c),
            "{c:?} in {r:?}"
        );
    }
    assert!(r.stderr.contains("bad\\u{1b}]0;pwned\\u{7}\\u{d}"), "{r:?}");
}

#[test]
fn backup_and_restore_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let v = |db: &str, args: &[&str]| {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        versioner(home, &all, &[("USER", "dana")])
    };
    assert_eq!(
        v("live.db", &deploy("1.0.0", "production", "success")).code,
        0
    );
    let r = v("live.db", &["backup", "backup.db"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Backed up") && r.stdout.contains("backup.db"),
        "{r:?}"
    );
    // Never over an existing file.
    let r = v("live.db", &["backup", "backup.db"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("[INVALID_INPUT]") && r.stderr.contains("already exists"),
        "{r:?}"
    );
    // Into a new database: restored, and it shows what was recorded.
    let r = v("restored.db", &["restore", "backup.db"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = v("restored.db", &["history", "-o", "json"]);
    assert!(r.stdout.contains("1.0.0"), "{r:?}");
    // Over a database with records: refused without --force, nothing changed.
    assert_eq!(
        v("other.db", &deploy("9.9.9", "staging", "success")).code,
        0
    );
    let r = v("other.db", &["restore", "backup.db"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("already holds records") && r.stderr.contains("--force"),
        "{r:?}"
    );
    let r = v("other.db", &["history", "-o", "json"]);
    assert!(
        r.stdout.contains("9.9.9") && !r.stdout.contains("1.0.0"),
        "{r:?}"
    );
    let r = v("other.db", &["restore", "backup.db", "--force"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = v("other.db", &["history", "-o", "json"]);
    assert!(
        !r.stdout.contains("9.9.9") && r.stdout.contains("1.0.0"),
        "{r:?}"
    );
    // A file that is not a backup.
    std::fs::write(home.join("notes.txt"), "hello".repeat(1000)).unwrap();
    let r = v("new.db", &["restore", "notes.txt"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("not a readable SQLite database"), "{r:?}");
    // Server mode has no database to copy.
    let r = versioner(
        home,
        &["backup", "x.db"],
        &[
            ("VERSIONER_API_URL", "http://127.0.0.1:9"),
            ("VERSIONER_API_KEY", "k"),
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("backup works on a database"), "{r:?}");
}
