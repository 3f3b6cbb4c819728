//! `versioner notifications …` and the delivery worker of `versioner serve`: channels added,
//! listed (secrets masked) and refused from the command line, subscriptions, `deliver`,
//! `history` and `test`; and `versioner serve` killed with SIGKILL while a webhook is in
//! flight: after the restart the event is delivered again with the same delivery id.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::versioner;

/// Requests a receiver got: headers (lower-case names) and body.
type Got = Arc<Mutex<Vec<(HashMap<String, String>, String)>>>;

fn read_request(stream: &TcpStream) -> Option<(HashMap<String, String>, String)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((headers, String::from_utf8_lossy(&body).into_owned()))
}

/// A webhook receiver on a loopback port; with `hang_first`, it never answers its first
/// request (the sender is then killed mid-delivery).
fn receiver(hang_first: bool) -> (String, Got) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Got = Arc::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(req) = read_request(&stream) else {
                continue;
            };
            let first = {
                let mut g = keep.lock().unwrap();
                g.push(req);
                g.len() == 1
            };
            if hang_first && first {
                held.push(stream);
                continue;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

fn wait_for(got: &Got, n: usize, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if got.lock().unwrap().len() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn channels_subscriptions_delivery_and_history_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("v.db");
    let db = db.to_str().unwrap();
    let (url, got) = receiver(false);

    // A bad channel: exit 4, the key named, nothing written.
    let bad = versioner(
        home.path(),
        &[
            "--db",
            db,
            "notifications",
            "channels",
            "add",
            "x",
            "--type",
            "webhook",
            "--url",
            "ftp://x",
        ],
        &[],
    );
    assert_eq!(bad.code, 4, "{}", bad.stderr);
    assert!(bad.stderr.contains("config.url"), "{}", bad.stderr);
    let list = versioner(
        home.path(),
        &[
            "--db",
            db,
            "-o",
            "json",
            "notifications",
            "channels",
            "list",
        ],
        &[],
    );
    assert_eq!(list.json(), serde_json::json!([]));

    let add = versioner(
        home.path(),
        &[
            "--db",
            db,
            "notifications",
            "channels",
            "add",
            "ci-hook",
            "--type",
            "webhook",
            "--url",
            &url,
        ],
        &[("VERSIONER_WEBHOOK_SECRET", "s3cret")],
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    let list = versioner(
        home.path(),
        &["--db", db, "notifications", "channels", "list"],
        &[],
    );
    assert!(list.stdout.contains("ci-hook") && list.stdout.contains("********"));
    assert!(!list.stdout.contains("s3cret"));
    let sub = versioner(
        home.path(),
        &[
            "--db",
            db,
            "notifications",
            "subscribe",
            "ci-hook",
            "deployment.completed",
            "--environment",
            "production",
        ],
        &[],
    );
    assert_eq!(sub.code, 0, "{}", sub.stderr);
    let bad_sub = versioner(
        home.path(),
        &[
            "--db",
            db,
            "notifications",
            "subscribe",
            "ci-hook",
            "deployment.done",
        ],
        &[],
    );
    assert_eq!(bad_sub.code, 4);
    assert!(
        bad_sub.stderr.contains("deployment.done"),
        "{}",
        bad_sub.stderr
    );

    for env in ["staging", "production"] {
        let t = versioner(
            home.path(),
            &[
                "--db",
                db,
                "track",
                "deployment",
                "--product",
                "api",
                "--version",
                "1.0.0",
                "--environment",
                env,
                "--status",
                "success",
            ],
            &[],
        );
        assert_eq!(t.code, 0, "{}", t.stderr);
    }
    let deliver = versioner(
        home.path(),
        &["--db", db, "-o", "json", "notifications", "deliver"],
        &[],
    );
    assert_eq!(deliver.code, 0, "{}", deliver.stderr);
    assert_eq!(deliver.json()["delivered"], 1);
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (headers, body) = &got[0];
        assert_eq!(headers["x-versioner-event"], "deployment.completed");
        assert!(versioner_core::notify::payload::verify(
            "s3cret",
            body.as_bytes(),
            &headers["x-versioner-signature"]
        ));
    }
    let history = versioner(home.path(), &["--db", db, "notifications", "history"], &[]);
    assert!(
        history.stdout.contains("delivered") && history.stdout.contains("200"),
        "{}",
        history.stdout
    );
    let test = versioner(
        home.path(),
        &["--db", db, "notifications", "test", "ci-hook"],
        &[],
    );
    assert_eq!(test.code, 0, "{}", test.stderr);
    assert!(test.stdout.contains("delivered"), "{}", test.stdout);
    let remove = versioner(
        home.path(),
        &["--db", db, "notifications", "channels", "remove", "ci-hook"],
        &[],
    );
    assert_eq!(remove.code, 0);
    let missing = versioner(
        home.path(),
        &["--db", db, "notifications", "test", "ci-hook"],
        &[],
    );
    assert_eq!(missing.code, 4);
}

struct Serve(Child);

impl Serve {
    fn start(db: &str, home: &std::path::Path) -> (Serve, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_versioner"))
            .env_clear()
            .env("HOME", home)
            .current_dir(home)
            .args(["serve", "--db", db, "--no-auth", "--listen", "127.0.0.1:0"])
            .args(["--notify-attempts", "1", "--notify-timeout", "3s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
        (Serve(child), url)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_event_in_flight_when_the_server_is_killed_is_delivered_after_restart_with_its_delivery_id() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("v.db");
    let db = db.to_str().unwrap();
    let (url, got) = receiver(true);
    let add = versioner(
        home.path(),
        &[
            "--db",
            db,
            "notifications",
            "channels",
            "add",
            "hook",
            "--type",
            "webhook",
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    versioner(
        home.path(),
        &["--db", db, "notifications", "subscribe", "hook", "*"],
        &[],
    );

    let (mut serve, api) = Serve::start(db, home.path());
    let answer = reqwest::blocking::Client::new()
        .post(format!("{api}/deployment-events/"))
        .header("content-type", "application/json")
        .body(r#"{"product_name":"api","version":"1.0.0","environment_name":"production","status":"success"}"#)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(wait_for(&got, 1, Duration::from_secs(10)), "the first send");
    // Committed, sent, not acknowledged: SIGKILL.
    serve.0.kill().unwrap();
    serve.0.wait().unwrap();

    let (_serve, _) = Serve::start(db, home.path());
    assert!(
        wait_for(&got, 2, Duration::from_secs(30)),
        "delivered again once the dead server's lease ran out"
    );
    let got = got.lock().unwrap();
    assert_eq!(
        got[0].0["x-versioner-delivery"], got[1].0["x-versioner-delivery"],
        "the same delivery id"
    );
    assert_eq!(got[0].1, got[1].1, "the same body");
}

#[test]
fn variables_and_buttons_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("v.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        versioner(home.path(), &all, &[])
    };
    assert_eq!(
        run(&["track", "build", "--product", "api", "--version", "1.2.0"]).code,
        0
    );
    let reserved = run(&["variables", "set", "vi_version", "x"]);
    assert_eq!(reserved.code, 4);
    assert!(reserved.stderr.contains("reserved"), "{}", reserved.stderr);
    assert_eq!(
        run(&["variables", "set", "jenkins", "ci.example.com"]).code,
        0
    );
    assert_eq!(
        run(&["variables", "set", "job", "api deploy", "--product", "api"]).code,
        0
    );
    let add = run(&[
        "buttons",
        "add",
        "--product",
        "api",
        "--name",
        "Deploy",
        "--environment",
        "production",
        "--url",
        "https://{jenkins}/job/{job}/build?VERSION={vi_version}",
    ]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    let bad = run(&[
        "buttons",
        "add",
        "--product",
        "api",
        "--name",
        "Bad",
        "--environment",
        "dev",
        "--url",
        "ftp://x/{vi_version}",
    ]);
    assert_eq!(bad.code, 4);
    let show = run(&[
        "-o",
        "json",
        "buttons",
        "show",
        "--product",
        "api",
        "--version",
        "1.2.0",
    ]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(
        show.json()[0]["url"],
        "https://ci.example.com/job/api%20deploy/build?VERSION=1.2.0"
    );
    let list = run(&["variables", "list", "--product", "api"]);
    assert!(list.stdout.contains("api deploy"), "{}", list.stdout);
}
