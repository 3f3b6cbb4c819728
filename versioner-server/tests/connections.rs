//! Slow, idle and too many connections, and rate limits (issue 18, item 3), against the real
//! accept loop on loopback ports: a client trickling headers is disconnected within the
//! header-read timeout; idle connections (after a request, or before any) are closed; over
//! the connection limit, connections wait until one closes; a burst over a rate limit gets 429
//! `RATE_LIMITED` with `Retry-After`, and the client waits that long and succeeds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;
use versioner_core::client::{Client, ClientOptions};
use versioner_core::{DeploymentEvent, ErrorCode, Tracker, Versioner};
use versioner_server::{
    AppState, AuthMode, ConnectionOptions, RateLimit, RateLimits, Role, ServerOptions, router,
    serve_with,
};

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("graceful shutdown finishes")
            .unwrap();
    }
}

async fn start(options: ServerOptions, connections: ConnectionOptions) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let state = AppState::new(vr, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve_with(listener, state, connections, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        addr,
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

/// Reads until the server closes the connection, or `limit` passes (`false`).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

/// Reads one response head and its body (by Content-Length) from a keep-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// A client that sends its request head a line at a time, slower than allowed, is
/// disconnected within the header-read timeout (the slowloris attack).
#[tokio::test]
async fn a_client_trickling_headers_is_disconnected() {
    let server = start(
        ServerOptions::default(),
        ConnectionOptions::default()
            .header_read_timeout(Duration::from_secs(1))
            .idle_timeout(Duration::from_secs(30)),
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let mut closed = false;
    for i in 0..20 {
        // Each line keeps the connection busy, so only the header-read timeout can end it.
        if stream
            .write_all(format!("x-trickle-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        if closed_within(&mut stream, Duration::from_millis(250)).await {
            closed = true;
            break;
        }
    }
    let took = started.elapsed();
    assert!(closed, "still open after {took:?}");
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    server.stop().await;
}

/// A keep-alive connection left idle after its answer, and one that never sends anything,
/// are closed after the idle timeout; a connection in use is not.
#[tokio::test]
async fn idle_connections_are_closed() {
    let server = start(
        ServerOptions::default(),
        ConnectionOptions::default()
            .header_read_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_secs(1)),
    )
    .await;
    // Used, then idle.
    let mut used = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        used.write_all(HEALTH).await.unwrap();
        let answer = read_response(&mut used).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let started = Instant::now();
    assert!(closed_within(&mut used, Duration::from_secs(4)).await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "closed too early: {took:?}"
    );
    // Silent from the start.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(4)).await);
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop().await;
}

/// Over the connection limit a connection waits (it is queued, not answered) until an open
/// one closes; then it is served.
#[tokio::test]
async fn connections_over_the_limit_wait_for_a_free_slot() {
    let server = start(
        ServerOptions::default(),
        ConnectionOptions::default()
            .header_read_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_secs(30))
            .max_connections(2),
    )
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    let second = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let mut buf = [0u8; 64];
    let waited = tokio::time::timeout(Duration::from_millis(800), third.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "the third connection was served over the limit"
    );
    drop(second);
    let answer = read_response(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(first);
    server.stop().await;
}

/// A burst from one address over its limit gets 429 `RATE_LIMITED` with `Retry-After`; the
/// client waits what the server asks and then succeeds, and without retries reports the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_rate_limit_gets_429_and_the_client_waits() {
    let limit =
        RateLimit::per_minute(NonZeroU32::new(60).unwrap()).burst(NonZeroU32::new(3).unwrap());
    let server = start(
        ServerOptions::default()
            .auth(AuthMode::Open)
            .rate_limits(RateLimits {
                per_ip: Some(limit),
                per_key: None,
            }),
        ConnectionOptions::default(),
    )
    .await;
    let url = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..5 {
        let resp = http
            .get(format!("{url}/deployments/"))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status().as_u16() == 429 {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let body: serde_json::Value =
                serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
            refused = Some((retry, body));
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let (retry, body) = refused.unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_eq!(body["code"], "RATE_LIMITED");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("too many requests"),
        "{body}"
    );
    // The blocking client honours Retry-After: it waits and the write goes through once.
    let result = tokio::task::spawn_blocking(move || {
        let patient = Client::with_options(
            &url,
            None,
            ClientOptions::default()
                .max_attempts(NonZeroU32::new(4).unwrap())
                .backoff(Duration::from_millis(10)),
        )
        .unwrap();
        let started = Instant::now();
        let d = patient.track_deployment(&DeploymentEvent::new("api", "1", "dev", "completed"));
        let waited = started.elapsed();
        let impatient = Client::with_options(
            &url,
            None,
            ClientOptions::default().max_attempts(NonZeroU32::new(1).unwrap()),
        )
        .unwrap();
        let e = impatient
            .track_deployment(&DeploymentEvent::new("api", "2", "dev", "completed"))
            .unwrap_err();
        (d, waited, e)
    })
    .await
    .unwrap();
    let (d, waited, e) = result;
    assert_eq!(d.unwrap().version, "1");
    assert!(waited >= Duration::from_millis(900), "waited {waited:?}");
    assert_eq!(e.code(), ErrorCode::RateLimited);
    assert_eq!(e.code().exit_code(), 1);
    server.stop().await;
}

/// The per-key limit counts each key apart: one key over its limit does not stop another.
#[tokio::test]
async fn the_per_key_limit_counts_each_key_apart() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let a = vr.create_api_key("a", Role::Viewer).unwrap().secret;
    let b = vr.create_api_key("b", Role::Viewer).unwrap().secret;
    let limit =
        RateLimit::per_minute(NonZeroU32::new(1).unwrap()).burst(NonZeroU32::new(2).unwrap());
    let app = router(AppState::new(
        vr,
        ServerOptions::default().rate_limits(RateLimits {
            per_key: Some(limit),
            per_ip: None,
        }),
    ));
    let get = |key: &str| {
        Request::builder()
            .uri("/deployments/")
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap()
    };
    let mut statuses = Vec::new();
    for key in [&a, &a, &a, &b, &b, &b] {
        let resp = app.clone().oneshot(get(key)).await.unwrap();
        let status = resp.status().as_u16();
        if status == 429 {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            let body: serde_json::Value =
                serde_json::from_slice(&to_bytes(resp.into_body(), usize::MAX).await.unwrap())
                    .unwrap();
            assert_eq!(body["code"], "RATE_LIMITED");
            assert!(body["message"].as_str().unwrap().contains("API key"));
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);
}

/// A test CA and a server certificate for `127.0.0.1`, as PEM files in `dir`; returns the CA's
/// PEM and the server's TLS configuration.
fn test_tls(dir: &std::path::Path) -> (String, versioner_server::Tls) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (
        ca.pem(),
        versioner_server::Tls::from_pem_files(&cert, &key).unwrap(),
    )
}

/// Over TLS the same API answers, and a client that opens a connection but never completes
/// the handshake is disconnected within the header-read timeout.
#[tokio::test]
async fn https_answers_and_a_stalled_handshake_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, tls) = test_tls(dir.path());
    let server = start(
        ServerOptions::default(),
        ConnectionOptions::default()
            .header_read_timeout(Duration::from_secs(1))
            .tls(tls),
    )
    .await;
    let http = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = http
        .get(format!("https://{}/health", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    // Plain HTTP on the TLS port is not answered as HTTP.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(HEALTH).await.unwrap();
    assert!(closed_within(&mut plain, Duration::from_secs(3)).await);
    // A handshake that never finishes.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stalled, Duration::from_secs(4)).await);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    server.stop().await;
}
