//! Server (item 7): events/s and p50/p99 latency of `POST /deployment-events/` over loopback with
//! 1, 8 and 32 concurrent clients, against the durable single-commit floor of the same store
//! measured in the same run, just before and just after the server runs.
//!
//! Not a criterion bench (`harness = false`); `scripts/bench.sh` runs the built binary:
//!
//! ```text
//! server VERSIONER_BIN sqlite          # a fresh SQLite file (synchronous=FULL, the default)
//! server VERSIONER_BIN postgres URL    # a PostgreSQL database (the binary built with --features postgres)
//! ```
//!
//! One JSON document on stdout. The server runs with a `ci` API key (the role `deployer` was called before), as in production
//! (`VERSIONER_BENCH_NO_AUTH=1`: with `--no-auth` instead, to see what the key lookup costs). The load generator is a minimal HTTP/1.1 client on
//! `std::net::TcpStream` (one keep-alive connection per client thread, `TCP_NODELAY`), so it
//! takes as little of this 2-core machine's CPU from the server as possible. Traffic goes to
//! 127.0.0.1 only and every run is bounded in requests and in time.
//!
//! The floor: single-row autocommit `INSERT`s of a 300-byte event into a table with three
//! secondary indexes (the shape of `../shared/reference/storage-limits.md`), WAL and
//! `synchronous=FULL` for SQLite, `synchronous_commit=on` for PostgreSQL, one connection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark driver: fails loudly, prints its result"
)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Concurrent clients, with each run's request budget; every run also stops after
/// [`RUN_LIMIT`].
const RUNS: [(usize, u64); 3] = [(1, 1_500), (8, 3_000), (32, 4_000)];
const RUN_LIMIT: Duration = Duration::from_secs(15);
const FLOOR_COMMITS: usize = 2_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some(MINIMAL_AXUM) {
        serve_minimal_axum();
        return;
    }
    let Some(bin) = args.first().map(Path::new) else {
        // `cargo bench` runs every bench target with no arguments: nothing to do here.
        eprintln!("server: a driver for scripts/bench.sh (see benches/server.rs)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (floor_before, server, floor_after, store) = match args.get(1).map(String::as_str) {
        Some("sqlite") => {
            let db = dir.path().join("server.db");
            let floor_db = dir.path().join("floor.db");
            let before = floor_sqlite(&floor_db);
            let server = Server::start(bin, &["--db".into(), db.display().to_string()], &[]);
            let http = http_layer(&server);
            let runs = load(&server);
            drop(server);
            let after = floor_sqlite(&floor_db);
            (before, json!({"runs": runs, "http": http}), after, "sqlite")
        }
        Some("postgres") => {
            let url = args.get(2).expect("server VERSIONER_BIN postgres URL");
            let before = floor_pg(url);
            // The key lives in the database, as with any server on PostgreSQL.
            let server = Server::start(bin, &["--database-url".into(), url.clone()], &[]);
            let runs = load(&server);
            drop(server);
            let after = floor_pg(url);
            (before, json!({"runs": runs}), after, "postgres")
        }
        _ => panic!("usage: server VERSIONER_BIN sqlite|postgres [URL]"),
    };
    println!(
        "{}",
        json!({
            "store": store,
            "floor_before": floor_before,
            "floor_after": floor_after,
            "runs": server["runs"],
            "http": server.get("http"),
        })
    );
}

fn floor_result(lat: &[u64], elapsed: Duration) -> Value {
    json!({
        "commits": lat.len(),
        "per_s": lat.len() as f64 / elapsed.as_secs_f64(),
        "latency_us": support::summary(&lat.iter().map(|ns| ns / 1000).collect::<Vec<_>>()),
    })
}

/// The SQLite floor: [`support::Floor`] at synchronous=FULL.
fn floor_sqlite(path: &Path) -> Value {
    let mut f = support::Floor::open(path, versioner_core::Synchronous::Full);
    for _ in 0..100 {
        f.insert();
    }
    let mut lat = Vec::with_capacity(FLOOR_COMMITS);
    let start = Instant::now();
    for _ in 0..FLOOR_COMMITS {
        let t = Instant::now();
        f.insert();
        lat.push(t.elapsed().as_nanos() as u64);
    }
    floor_result(&lat, start.elapsed())
}

/// Raw `postgres`: autocommit single-row inserts (synchronous_commit=on), one connection.
fn floor_pg(url: &str) -> Value {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute(
        "DROP TABLE IF EXISTS bench_floor_events; \
         CREATE TABLE bench_floor_events(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
           product TEXT NOT NULL, version TEXT NOT NULL, environment TEXT NOT NULL, \
           status TEXT NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz, \
           recorded_at timestamptz NOT NULL, metadata jsonb NOT NULL); \
         CREATE INDEX ON bench_floor_events(product, environment, id); \
         CREATE INDEX ON bench_floor_events(product, environment, status, id); \
         CREATE INDEX ON bench_floor_events(product, version, environment, status, id);",
    )
    .unwrap();
    let stmt = c
        .prepare(
            "INSERT INTO bench_floor_events(product, version, environment, status, started_at, \
             finished_at, recorded_at, metadata) VALUES ($1, $2, $3, 'succeeded', now(), now(), now(), $4::text::jsonb)",
        )
        .unwrap();
    let mut insert = |i: usize| {
        c.execute(
            &stmt,
            &[
                &format!("svc{}", i % 50),
                &format!("1.{i}"),
                &format!("env{}", i % 5),
                &support::FLOOR_METADATA,
            ],
        )
        .unwrap();
    };
    for i in 0..100 {
        insert(i);
    }
    let mut lat = Vec::with_capacity(FLOOR_COMMITS);
    let start = Instant::now();
    for i in 0..FLOOR_COMMITS {
        let t = Instant::now();
        insert(100 + i);
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let r = floor_result(&lat, start.elapsed());
    c.batch_execute("DROP TABLE bench_floor_events").unwrap();
    r
}

/// `versioner serve` on 127.0.0.1 with a fresh ci key; stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    key: String,
    /// An admin key, for `GET /metrics`.
    admin: String,
}

impl Server {
    fn start(bin: &Path, db: &[String], keys: &[String]) -> Server {
        // Diagnostics: VERSIONER_BENCH_NO_AUTH=1 serves with `--no-auth` (no key lookup).
        let no_auth = std::env::var_os("VERSIONER_BENCH_NO_AUTH").is_some_and(|v| v == "1");
        let key = create_key(bin, db, keys, "ci");
        // `GET /metrics` (the round-trip count) is for admins.
        let admin = create_key(bin, db, keys, "admin");
        let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let mut child = Command::new(bin)
            .args(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(keys)
            .args(no_auth.then_some("--no-auth"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "versioner serve did not start: {first:?} {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .parse()
            .unwrap();
        Server {
            child,
            addr,
            key,
            admin,
        }
    }
}

/// A new API key with `role` (`versioner keys create`), its secret.
fn create_key(bin: &Path, db: &[String], keys: &[String], role: &str) -> String {
    let out = Command::new(bin)
        .args(db)
        .args(["keys", "create", "--role", role, "--name"])
        // A fresh name each run: a PostgreSQL database outlives one run.
        .arg(format!(
            "bench-{role}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ))
        .args(keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    key: String,
}

impl Conn {
    fn open(addr: SocketAddr, key: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
            key: key.to_string(),
        }
    }

    /// POSTs `body`; the response status.
    fn post(&mut self, path: &str, body: &str) -> u16 {
        self.request("POST", path, body).0
    }

    /// The store's protocol round trips so far (`versioner_db_round_trips_total` of
    /// `GET /metrics`; zero on SQLite).
    fn round_trips(&mut self) -> u64 {
        let (status, body) = self.request("GET", "/metrics", "");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|l| l.strip_prefix("versioner_db_round_trips_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Sends a request; the response status and body.
    fn request(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        let auth = if self.key.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {}\r\n", self.key)
        };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut content = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                content.extend_from_slice(&chunk[..n]);
            }
        } else {
            content = vec![0; length.unwrap_or(0)];
            self.reader.read_exact(&mut content).unwrap();
        }
        (status, String::from_utf8_lossy(&content).into_owned())
    }
}

/// Requests timed per side of the HTTP-layer measurement.
const HTTP_REQUESTS: usize = 3_000;

/// What the HTTP stack costs per request: `GET /health` (no database, no key) on one
/// keep-alive connection, against two baselines: a bare loopback responder that reads the
/// request and writes a fixed response (the floor: TCP over loopback, two wake-ups), and a
/// minimal axum application served as `versioner serve` serves (a process of its own,
/// hyper-util's HTTP/1+2 builder on a two-worker tokio runtime) with one route and none of
/// the server's layers: the part of the cost that is the async I/O stack itself. Both
/// processes' CPU time per request (user + system, from `/proc`) is reported beside the
/// latencies.
fn http_layer(server: &Server) -> Value {
    let time = |addr: SocketAddr| {
        // No key: `/health` is public, and a key would be verified.
        let mut c = Conn::open(addr, "");
        let mut lat = Vec::with_capacity(HTTP_REQUESTS);
        for i in 0..HTTP_REQUESTS + HTTP_REQUESTS / 10 {
            let s = Instant::now();
            let (status, _) = c.request("GET", "/health", "");
            let ns = s.elapsed().as_nanos() as u64;
            assert_eq!(status, 200);
            if i >= HTTP_REQUESTS / 10 {
                lat.push(ns / 100); // in 0.1 us
            }
        }
        support::summary(&lat)
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bare = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut writer = s;
        let body = r#"{"status":"ok"}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => writer.write_all(response.as_bytes()).unwrap(),
                Ok(_) => {}
            }
        }
    });
    let (server_tenths_us, server_cpu) = time_with_cpu(server.child.id(), server.addr, time);
    let (mut minimal, minimal_addr) = minimal_axum();
    let (minimal_tenths_us, minimal_cpu) = time_with_cpu(minimal.id(), minimal_addr, time);
    let _ = minimal.kill();
    let _ = minimal.wait();
    json!({
        "server_tenths_us": server_tenths_us,
        "bare_tenths_us": time(bare),
        "minimal_axum_tenths_us": minimal_tenths_us,
        "minimal_axum_cpu_us_per_request": minimal_cpu,
        "server_cpu_us_per_request": server_cpu,
    })
}

/// One timed series against `addr`, and the CPU the process `pid` spent on it in µs per
/// request (ticks of 10 ms, CLK_TCK 100, over the timed and warm-up requests).
fn time_with_cpu(
    pid: u32,
    addr: SocketAddr,
    time: impl Fn(SocketAddr) -> Value,
) -> (Value, Option<f64>) {
    let before = cpu_ticks(pid);
    let latencies = time(addr);
    let cpu = before.zip(cpu_ticks(pid)).map(|(before, after)| {
        (after - before) as f64 * 10_000.0 / (HTTP_REQUESTS + HTTP_REQUESTS / 10) as f64
    });
    (latencies, cpu)
}

/// A process's user + system CPU time in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The argument with which this driver serves the minimal axum baseline itself.
const MINIMAL_AXUM: &str = "--serve-minimal-axum";

/// Starts the minimal axum baseline: this driver again, in a process of its own like
/// `versioner serve` (threads of the client's own process wake each other more cheaply in
/// this guest than threads of another process do), on a loopback port it prints.
fn minimal_axum() -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(MINIMAL_AXUM)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().unwrap())
}

/// Serves one route, `GET /health`, as `versioner serve` serves (hyper-util's HTTP/1+2
/// builder on a two-worker tokio runtime, `TCP_NODELAY`), with none of its layers; prints the
/// address and serves until killed.
fn serve_minimal_axum() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(|| async {
                axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let app = app.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
                    },
                );
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let _ = builder
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn event(client: usize, n: u64) -> String {
    json!({
        "product_name": format!("svc{client}"),
        "version": format!("1.{n}"),
        "environment_name": format!("env{}", client % 5),
        "status": "success",
        "deployed_by": "bench",
        "scm_sha": format!("{n:040x}"),
        "extra_metadata": {"pipeline": "https://ci.example.invalid/acme/pipelines/123456", "team": "core"},
    })
    .to_string()
}

fn load(server: &Server) -> Vec<Value> {
    let seq = Arc::new(AtomicU64::new(0));
    // Warm-up: connections, the server's blocking pool, the page cache.
    {
        let mut c = Conn::open(server.addr, &server.key);
        for _ in 0..100 {
            let n = seq.fetch_add(1, Ordering::Relaxed);
            assert_eq!(c.post("/deployment-events/", &event(0, n)), 200);
        }
    }
    // A connection per reading: one idle through a run would be closed by the server.
    let probe = || Conn::open(server.addr, &server.admin).round_trips();
    RUNS.iter()
        .map(|&(clients, budget)| {
            let trips_before = probe();
            let issued = Arc::new(AtomicU64::new(0));
            let barrier = Arc::new(Barrier::new(clients + 1));
            let deadline = Arc::new(std::sync::OnceLock::<Instant>::new());
            let handles: Vec<_> = (0..clients)
                .map(|t| {
                    let (issued, barrier, seq, deadline) = (
                        issued.clone(),
                        barrier.clone(),
                        seq.clone(),
                        deadline.clone(),
                    );
                    let mut c = Conn::open(server.addr, &server.key);
                    std::thread::spawn(move || {
                        let mut lat = Vec::new();
                        let mut errors = 0u64;
                        barrier.wait();
                        let end = *deadline.wait();
                        while issued.fetch_add(1, Ordering::Relaxed) < budget
                            && Instant::now() < end
                        {
                            let body = event(t, seq.fetch_add(1, Ordering::Relaxed));
                            let s = Instant::now();
                            let status = c.post("/deployment-events/", &body);
                            lat.push(s.elapsed().as_nanos() as u64);
                            if status != 200 {
                                errors += 1;
                            }
                        }
                        (lat, errors)
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            deadline.set(start + RUN_LIMIT).unwrap();
            let mut lat = Vec::new();
            let mut errors = 0;
            for h in handles {
                let (l, e) = h.join().unwrap();
                lat.extend(l);
                errors += e;
            }
            let elapsed = start.elapsed();
            let trips = probe().saturating_sub(trips_before);
            json!({
                "clients": clients,
                "round_trips_per_event": trips as f64 / lat.len().max(1) as f64,
                "requests": lat.len(),
                "errors": errors,
                "seconds": elapsed.as_secs_f64(),
                "per_s": lat.len() as f64 / elapsed.as_secs_f64(),
                "latency_us": support::summary(&lat.iter().map(|ns| ns / 1000).collect::<Vec<_>>()),
            })
        })
        .collect()
}
