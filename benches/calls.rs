//! Bindings (item 5), the Rust side: builds the shared fixture database and times the Rust calls
//! that `benches/bindings/calls.py` (Python) and `benches/bindings/calls.mjs` (Node) time
//! through the bindings, with the same method: each call timed on its own after a warm-up,
//! median per call.
//!
//! Not a criterion bench (`harness = false`); `scripts/bench.sh` runs the built binary:
//!
//! ```text
//! calls fixture DB [N]      # N (1,000) deployments, the five-rule policy, `p0` `bench` ready for `e9`
//! calls measure DB N        # N checks, N/10 `started` + `completed`; one JSON line on stdout
//! calls pair full|normal N  # 1. preflight+record vs the raw baseline, N rounds interleaved
//! calls rounds full|normal SIZE N   # for profiling: N rounds on a SIZE-deployment history
//! ```
//!
//! `pair` complements the criterion group `preflight_record`: at `synchronous=FULL` a round is
//! dominated by two fsyncs whose cost drifts 2–7× within minutes on this machine, so two
//! criterion benches run one after the other compare different disks. Here each Versioner
//! round is followed by one baseline round (alternating which goes first), each on its own
//! database, and the medians of the per-round times are compared.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark driver: fails loudly, prints its result"
)]

mod support;

use std::path::Path;
use std::time::Instant;

use versioner_core::{CheckRequest, DeploymentEvent, Synchronous};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("fixture") => fixture(
            Path::new(&args[1]),
            args.get(2).map_or(1_000, |n| n.parse().unwrap()),
        ),
        Some("measure") => measure(Path::new(&args[1]), args[2].parse().unwrap()),
        Some("pair") => pair(&args[1], args[2].parse().unwrap()),
        Some("rounds") => rounds(&args[1], args[2].parse().unwrap(), args[3].parse().unwrap()),
        // `cargo bench` runs every bench target with no arguments: nothing to do here.
        None => eprintln!("calls: a driver for scripts/bench.sh (see benches/calls.rs)"),
        _ => panic!("usage: calls fixture DB | calls measure DB N | calls pair full|normal N"),
    }
}

fn fixture(path: &Path, deployments: usize) {
    support::bulk_load(path, deployments);
    let vr = support::open(path, Synchronous::Full);
    support::prepare_bench_version(&vr);
}

/// Times `f` `n` times (after `n / 10` warm-up calls); the per-call samples in ns.
fn samples(n: usize, mut f: impl FnMut()) -> Vec<u64> {
    for _ in 0..n / 10 {
        f();
    }
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as u64
        })
        .collect()
}

fn measure(path: &Path, n: usize) {
    let vr = support::open(path, Synchronous::Full);
    let mut req = CheckRequest::new("p0", "bench", "e9");
    req.deployed_by = Some("dana".into());
    let check = samples(n, || assert!(vr.check(&req).unwrap().is_allowed()));

    // `started` (the five-rule preflight) and `completed` alternate, each timed on its own.
    let rounds = (n / 10).max(50);
    let (mut started, mut completed) = (Vec::new(), Vec::new());
    for i in 0..rounds + rounds / 10 {
        let t = Instant::now();
        let mut s = DeploymentEvent::new("p0", "bench", "e9", "started");
        s.deployed_by = Some("dana".into());
        let d = vr.track_deployment(&s).unwrap();
        let ts = t.elapsed().as_nanos() as u64;
        assert!(d.preflight.is_some_and(|p| p.verdict.is_allowed()));
        let t = Instant::now();
        vr.track_deployment(&DeploymentEvent::new("p0", "bench", "e9", "completed"))
            .unwrap();
        let tc = t.elapsed().as_nanos() as u64;
        if i >= rounds / 10 {
            started.push(ts);
            completed.push(tc);
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "lang": "rust",
            "check_ns": support::summary(&check),
            "track_started_ns": support::summary(&started),
            "track_completed_ns": support::summary(&completed),
        })
    );
}

fn pair(sync: &str, n: usize) {
    let sync: Synchronous = sync.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (vpath, bpath) = (dir.path().join("v.db"), dir.path().join("b.db"));
    support::bulk_load(&vpath, 1_000);
    support::bulk_load(&bpath, 1_000);
    let vr = support::open(&vpath, sync);
    support::prepare_bench_version(&vr);
    support::prepare_bench_version(&support::open(&bpath, sync));
    let mut base = support::Baseline::open(&bpath, sync);
    let (started, completed) = support::round_events(&vr);
    let warm = n / 10;
    let (mut v, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut o = Vec::with_capacity(n);
    for i in 0..n + warm {
        let time_v = || {
            let t = Instant::now();
            support::deploy_round(&vr);
            t.elapsed().as_nanos() as u64
        };
        let mut time_b = || {
            let t = Instant::now();
            base.round();
            t.elapsed().as_nanos() as u64
        };
        let (tv, tb) = if i.is_multiple_of(2) {
            let tv = time_v();
            (tv, time_b())
        } else {
            let tb = time_b();
            (time_v(), tb)
        };
        // The baseline with the outbox's appends, third, so the pair above keeps its order.
        let t = Instant::now();
        base.round_with(&started, &completed);
        let to = t.elapsed().as_nanos() as u64;
        if i >= warm {
            v.push(tv);
            b.push(tb);
            o.push(to);
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "synchronous": sync.as_str(),
            "versioner_ns": support::summary(&v),
            "baseline_ns": support::summary(&b),
            "baseline_outbox_ns": support::summary(&o),
            "outbox_events_per_round": started.len() + completed.len(),
        })
    );
}

fn rounds(sync: &str, size: usize, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    support::bulk_load(&path, size);
    let vr = support::open(&path, sync.parse().unwrap());
    support::prepare_bench_version(&vr);
    eprintln!("loaded {size}; running {n} rounds");
    let t = Instant::now();
    for _ in 0..n {
        support::deploy_round(&vr);
    }
    println!(
        "{:.1} µs per round",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
