//! Notification delivery: throughput of `deliver_pending` to a local webhook receiver against
//! the raw floor measured in the same run (the same number of signed POSTs of the same bodies
//! to the same receiver with the same HTTP client, and nothing else), and the cost
//! notification channels add to recording (none on the write path: delivery reads the outbox
//! afterwards). `scripts/bench.sh` runs it (row 9 of BENCHMARKS.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmarks fail loudly"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use versioner_core::notify::{ChannelRequest, PreferenceRequest};
use versioner_core::{DeliveryOptions, DeploymentEvent, SqliteOptions, Synchronous, Versioner};

/// A local receiver answering 200 to every request (keep-alive).
fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut out) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(out.try_clone().unwrap());
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        let h = h.trim_end().to_ascii_lowercase();
                        if h.is_empty() {
                            break;
                        }
                        if let Some(v) = h.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    url
}

fn open(dir: &std::path::Path) -> Versioner {
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        ..SqliteOptions::default()
    };
    Versioner::open_with(dir.join("v.db"), &options).unwrap()
}

fn subscribe(vr: &Versioner, name: &str, url: &str) {
    let ch = vr
        .add_notification_channel(&ChannelRequest::new(
            name,
            "webhook",
            serde_json::json!({"url": url, "secret": "s3cret"}),
        ))
        .unwrap();
    vr.add_notification_preference(&PreferenceRequest::new(&ch.id, "*"))
        .unwrap();
}

/// Events delivered per second to one channel, 50 per run.
fn throughput(c: &mut Criterion) {
    const BATCH: u64 = 50;
    let mut g = c.benchmark_group("delivery");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(BATCH));
    let dir = tempfile::tempdir().unwrap();
    let vr = open(dir.path());
    subscribe(&vr, "hook", &receiver());
    let options = DeliveryOptions::new();
    let mut n = 0u64;
    g.bench_function("webhook_50_events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..BATCH {
                    n += 1;
                    vr.track_deployment(&DeploymentEvent::new(
                        "api",
                        format!("1.0.{n}"),
                        "staging",
                        "completed",
                    ))
                    .unwrap();
                }
                let start = Instant::now();
                let r = vr.deliver_pending_with(&options).unwrap();
                total += start.elapsed();
                assert_eq!(r.delivered, BATCH);
            }
            total
        })
    });
    g.finish();
}

/// The floor of [`throughput`]: 50 POSTs of real notification bodies, signed, to the same
/// receiver over one keep-alive client: what delivery would cost with no outbox read, no
/// cursor, no history.
fn raw_posts(c: &mut Criterion) {
    const BATCH: u64 = 50;
    let mut g = c.benchmark_group("delivery");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(BATCH));
    let url = receiver();
    let dir = tempfile::tempdir().unwrap();
    let vr = open(dir.path());
    for n in 0..BATCH {
        vr.track_deployment(&DeploymentEvent::new(
            "api",
            format!("1.0.{n}"),
            "staging",
            "completed",
        ))
        .unwrap();
    }
    let bodies: Vec<(String, Vec<u8>)> = vr
        .events_since(0, u32::MAX)
        .unwrap()
        .iter()
        .filter_map(|e| versioner_core::notify::payload::notification(e, None))
        .map(|n| {
            (
                n.event_type.to_string(),
                serde_json::to_vec(&n.body).unwrap(),
            )
        })
        .collect();
    assert_eq!(bodies.len() as u64, BATCH);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    g.bench_function("raw_post_50_events", |b| {
        b.iter(|| {
            for (event, body) in &bodies {
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(versioner_core::notify::payload::EVENT_HEADER, event)
                    .header(
                        versioner_core::notify::payload::SIGNATURE_HEADER,
                        versioner_core::notify::payload::sign("s3cret", body),
                    )
                    .body(body.clone())
                    .send()
                    .unwrap();
                assert!(resp.status().is_success());
            }
        })
    });
    g.finish();
}

/// Rounds of the interleaved channels comparison.
const CHANNEL_ROUNDS: usize = 600;

/// Recording a deployment with 0 and with 3 subscribed channels: the same cost (nothing on
/// the write path depends on channels). Measured interleaved, not as two criterion runs
/// minutes apart: two stores are recorded to alternately, one event on each per round (the
/// order alternating too), so the disk's drift, large at any durability on this machine,
/// falls on both sides alike. The medians go to `DIR/channels.json` when
/// `VERSIONER_BENCH_RESULTS=DIR` (`benches/report.py`, row 9).
fn record_with_channels(_c: &mut Criterion) {
    let url = receiver();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let stores: Vec<Versioner> = dirs.iter().map(|d| open(d.path())).collect();
    for i in 0..3 {
        subscribe(&stores[1], &format!("hook{i}"), &url);
    }
    let mut times: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let warm = CHANNEL_ROUNDS / 10;
    for round in 0..CHANNEL_ROUNDS + warm {
        let first = round % 2;
        for side in [first, 1 - first] {
            let start = Instant::now();
            stores[side]
                .track_deployment(&DeploymentEvent::new(
                    "api",
                    format!("2.0.{round}"),
                    "staging",
                    "completed",
                ))
                .unwrap();
            if round >= warm {
                times[side].push(start.elapsed().as_nanos() as u64);
            }
        }
    }
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (none, three) = (median(&mut times[0]), median(&mut times[1]));
    if let Ok(dir) = std::env::var("VERSIONER_BENCH_RESULTS") {
        let json = serde_json::json!({
            "rounds": CHANNEL_ROUNDS, "no_channel_ns": none, "three_channels_ns": three,
        });
        std::fs::write(format!("{dir}/channels.json"), json.to_string()).unwrap();
    }
}

criterion_group!(benches, throughput, raw_posts, record_with_channels);
criterion_main!(benches);
