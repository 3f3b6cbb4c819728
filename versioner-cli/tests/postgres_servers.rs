//! Two `versioner serve` instances on one PostgreSQL database share one policy, one set of API
//! keys and one set of idempotency records: a key created once with `versioner keys create
//! --database-url` authenticates on both; an `Idempotency-Key` used on one is replayed by the
//! other; 32 concurrent `started` events for one product and environment, sent through both
//! servers at once under a one-at-a-time rule, admit exactly one; the outbox they append to
//! together has no gap.
//!
//! Runs with `cargo test -p versioner-cli --features postgres --test postgres_servers` when
//! `VERSIONER_TEST_DATABASE_URL` names a database (`scripts/test-postgres.sh` starts one).
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};

use versioner_core::client::Client;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::store::{PgOptions, PgStore};
use versioner_core::{DeploymentEvent, ErrorCode, HistoryQuery, Tracker, Versioner};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn serve(database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("VERSIONER_DATABASE_URL", database_url)
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
        .expect("a listening line")
        .to_string();
    let url = if addr.starts_with("http") {
        addr
    } else {
        format!("http://{addr}")
    };
    Server { child, url }
}

#[test]
fn two_servers_on_one_database_admit_exactly_one_of_32_concurrent_starts() {
    let Some(base) = std::env::var("VERSIONER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("VERSIONER_REQUIRE_POSTGRES").is_err(),
            "VERSIONER_REQUIRE_POSTGRES is set but VERSIONER_TEST_DATABASE_URL is not"
        );
        return;
    };
    // A schema of its own, with the policy applied through the library.
    let schema = format!("servers_{}", uuid::Uuid::now_v7().simple());
    let store = PgStore::connect_with(
        &base,
        &PgOptions {
            schema: Some(schema.clone()),
            ..PgOptions::default()
        },
    )
    .unwrap();
    let vr = Versioner::with_store(Arc::new(store));
    vr.apply_policy_text(
        "[[rules]]\nname = 'One at a time'\ntype = 'concurrency'\nmax = 1\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "test",
    )
    .unwrap();
    let database_url = format!("{base} options='-c search_path={schema}'");

    // One key, created once, in the database: no file on either server's host.
    let out = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args([
            "keys",
            "create",
            "--database-url",
            &database_url,
            "--name",
            "ci",
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();

    let servers = [serve(&database_url), serve(&database_url)];

    // The key authenticates on both; an idempotency key used on one is replayed by the other.
    let http = reqwest::blocking::Client::new();
    let post = |server: &Server, idempotency_key: &str| {
        http.post(format!("{}/deployment-events/", server.url))
            .bearer_auth(&key)
            .header("Idempotency-Key", idempotency_key)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "product_name": "web", "version": "2.0.0",
                    "environment_name": "staging", "status": "completed",
                })
                .to_string(),
            )
            .send()
            .unwrap()
    };
    let first = post(&servers[0], "shared-key-1");
    assert_eq!(first.status().as_u16(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.text().unwrap();
    let second = post(&servers[1], "shared-key-1");
    assert_eq!(second.status().as_u16(), 200);
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(second.text().unwrap(), first_body);
    assert_eq!(
        vr.history(&HistoryQuery::new().product("web").limit(10))
            .unwrap()
            .len(),
        1,
        "the retry through the other server recorded nothing"
    );
    for s in &servers {
        let r = http
            .get(format!("{}/products/", s.url))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "the key works on {}", s.url);
        // The pool is in the metrics: its size, and connections open by state.
        let metrics = http
            .get(format!("{}/metrics", s.url))
            .bearer_auth(&key)
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            metrics
                .lines()
                .any(|l| l == "versioner_db_connections_max 8"),
            "{metrics}"
        );
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(r#"versioner_db_connections{state="idle"} "#)),
            "{metrics}"
        );
    }
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let url = servers[i % 2].url.clone();
            let key = key.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let client = Client::new(&url, Some(&key)).unwrap();
                barrier.wait();
                client
                    .track_deployment(&DeploymentEvent::new(
                        "api",
                        format!("1.{i}"),
                        "production",
                        "started",
                    ))
                    .err()
                    .map(|e| e.code())
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
        "the others are refused by the rule, none by a storage error: {results:?}"
    );
    let recorded = vr
        .history(&HistoryQuery::new().product("api").limit(100))
        .unwrap();
    assert_eq!(
        recorded.len(),
        1,
        "only the accepted deployment was recorded"
    );

    // Both servers appended to one outbox: 1, 2, 3, … with no gap and no repeat; the 31
    // refusals each left exactly their `deployment.preflight_failed` event.
    let events = vr.events_since(0, 1000).unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=i64::try_from(events.len()).unwrap()).collect::<Vec<_>>()
    );
    let refused = events
        .iter()
        .filter(|e| e.event_type == versioner_core::EventType::DeploymentPreflightFailed)
        .count();
    assert_eq!(refused, 31);
}

/// A webhook receiver: records the `X-Versioner-Delivery` header of every request, answers 200.
fn receiver() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let (mut delivery, mut len) = (String::new(), 0usize);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim_end().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "x-versioner-delivery" => delivery = v.trim().to_string(),
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            seen.lock().unwrap().push(delivery);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

/// Issue 15: two servers on one PostgreSQL database, each running its delivery worker, deliver
/// every one of 500 events exactly once (counted at the receiver by delivery id).
#[test]
fn two_servers_on_one_database_deliver_each_event_once() {
    let Some(base) = std::env::var("VERSIONER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("VERSIONER_REQUIRE_POSTGRES").is_err(),
            "VERSIONER_REQUIRE_POSTGRES is set but VERSIONER_TEST_DATABASE_URL is not"
        );
        return;
    };
    let schema = format!("delivery_{}", uuid::Uuid::now_v7().simple());
    let store = PgStore::connect_with(
        &base,
        &PgOptions {
            schema: Some(schema.clone()),
            ..PgOptions::default()
        },
    )
    .unwrap();
    let vr = Versioner::with_store(Arc::new(store));
    let (url, got) = receiver();
    let channel = vr
        .add_notification_channel(&versioner_core::notify::ChannelRequest::new(
            "hook",
            "webhook",
            serde_json::json!({ "url": url }),
        ))
        .unwrap();
    vr.add_notification_preference(&versioner_core::notify::PreferenceRequest::new(
        &channel.id,
        "deployment.completed",
    ))
    .unwrap();
    let database_url = format!("{base} options='-c search_path={schema}'");
    let servers = [serve(&database_url), serve(&database_url)];
    let key = vr
        .create_api_key("pipeline", versioner_core::Role::Ci)
        .unwrap()
        .secret;
    // 500 events, half through each server, from four threads at once.
    let handles: Vec<_> = (0..4)
        .map(|s| {
            let url = servers[s % 2].url.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                let client = Client::new(&url, Some(&key)).unwrap();
                for i in 0..125 {
                    client
                        .track_deployment(&DeploymentEvent::new(
                            format!("svc{s}"),
                            format!("1.{i}"),
                            "dev",
                            "completed",
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while got.lock().unwrap().len() < 500 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A little longer: a duplicate would arrive now.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let ids = got.lock().unwrap().clone();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 500, "every event once: {} received", ids.len());
    assert_eq!(distinct.len(), 500, "no delivery id twice");
    assert!(ids.iter().all(|d| !d.is_empty()), "{ids:?}");
}
