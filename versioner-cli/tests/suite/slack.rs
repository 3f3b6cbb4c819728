//! `versioner serve --slack-config FILE`: a bad configuration is an error naming the
//! problem (exit 1), before anything opens; a good one answers signed slash commands over a real socket, with the
//! signing secret read from the environment variable the file names.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use versioner_server::slack::signature::sign;

use crate::support::versioner;

#[test]
fn a_bad_slack_configuration_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(
        home.join("slack.toml"),
        "signing_secret_env = \"SLACK_SIGNING_SECRET\"\n",
    )
    .unwrap();
    let r = versioner(
        home,
        &[
            "serve",
            "--db",
            "v.db",
            "--listen",
            "127.0.0.1:0",
            "--slack-config",
            "slack.toml",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "the environment variable SLACK_SIGNING_SECRET (signing_secret_env) is not set"
        ),
        "{r:?}"
    );
    let r = versioner(
        home,
        &[
            "serve",
            "--db",
            "v.db",
            "--listen",
            "127.0.0.1:0",
            "--slack-config",
            "missing.toml",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("cannot read the Slack configuration missing.toml"),
        "{r:?}"
    );
    // Nothing was served, so no database was made.
    assert!(!home.join("v.db").exists());
}

#[test]
fn serve_answers_signed_slash_commands() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let r = versioner(
        home,
        &[
            "track",
            "deployment",
            "--db",
            "v.db",
            "--product",
            "api",
            "--version",
            "2.0.0",
            "--environment",
            "staging",
            "--status",
            "completed",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    std::fs::write(
        home.join("slack.toml"),
        "signing_secret_env = \"SLACK_SIGNING_SECRET\"\n[users]\nU1 = \"dana\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args([
            "serve",
            "--db",
            "v.db",
            "--listen",
            "127.0.0.1:0",
            "--no-notify",
        ])
        .args([
            "--slack-config",
            "slack.toml",
            "--public-url",
            "https://v.example.com",
        ])
        .env_clear()
        .env("HOME", home)
        .env("SLACK_SIGNING_SECRET", "s3cret")
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
    let body = "user_id=U1&command=%2Fversioner&text=status+api";
    let post = |ts: i64, sig: &str| {
        reqwest::blocking::Client::new()
            .post(format!("{url}/integrations/slack/commands"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sig)
            .body(body)
            .send()
            .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let resp = post(now, &sign("s3cret", now, body.as_bytes()));
    assert_eq!(resp.status().as_u16(), 200);
    let reply: serde_json::Value = serde_json::from_str(&resp.text().unwrap()).unwrap();
    let text = reply.to_string();
    assert!(text.contains("• staging: `2.0.0`"), "{text}");
    assert!(
        text.contains("https://v.example.com/ui/products/api"),
        "{text}"
    );
    let resp = post(now - 600, &sign("s3cret", now - 600, body.as_bytes()));
    assert_eq!(resp.status().as_u16(), 401);
    let resp = post(now, &sign("wrong", now, body.as_bytes()));
    assert_eq!(resp.status().as_u16(), 401);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
}
