//! Preflight + record against the raw rusqlite baseline, growth with history, the dry-run
//! check, and durable ingest. `scripts/bench.sh` runs these and writes BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmarks fail loudly"
)]

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use versioner_core::policy::{self, Facts, Rule, Stint};
use versioner_core::{CheckRequest, DeploymentEvent, HistoryQuery, Synchronous};

/// 1. Preflight + record (durable, FULL) against the raw baseline.
fn preflight_record(c: &mut Criterion) {
    let mut g = c.benchmark_group("preflight_record");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let label = format!("{sync:?}").to_lowercase();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        support::bulk_load(&path, 1_000);
        let vr = support::open(&path, sync);
        support::prepare_bench_version(&vr);
        g.bench_function(BenchmarkId::new("versioner", &label), |b| {
            b.iter(|| support::deploy_round(&vr))
        });
        let bdir = tempfile::tempdir().unwrap();
        let bpath = bdir.path().join("b.db");
        support::bulk_load(&bpath, 1_000);
        support::prepare_bench_version(&support::open(&bpath, sync));
        let mut base = support::Baseline::open(&bpath, sync);
        g.bench_function(BenchmarkId::new("baseline", &label), |b| {
            b.iter(|| base.round())
        });
    }
    g.finish();
}

/// 2. Growth: the same round, the state matrix and a history query (the newest 50
///    deployments of one product in one environment) at 1k, 100k and 1M
///    recorded deployments (NORMAL, so the fsync jitter does not hide the read cost).
fn growth(c: &mut Criterion) {
    let mut g = c.benchmark_group("growth");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let sizes: Vec<usize> = std::env::var("VERSIONER_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000, 1_000_000]);
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        support::bulk_load(&path, n);
        let vr = support::open(&path, Synchronous::Normal);
        support::prepare_bench_version(&vr);
        // `p0` in `e9` gets 50 deployments at every size, so the history query below returns
        // the same 50 rows whatever the size (a bulk-loaded pair has only n / 500).
        for _ in 0..50 {
            support::deploy_round(&vr);
        }
        g.bench_function(BenchmarkId::new("preflight_record", n), |b| {
            b.iter(|| support::deploy_round(&vr))
        });
        g.bench_function(BenchmarkId::new("state_matrix", n), |b| {
            b.iter(|| {
                assert_eq!(
                    vr.state(None).unwrap().cells.len(),
                    support::PRODUCTS * support::ENVIRONMENTS
                )
            })
        });
        // The four keys over the whole year, every environment (every recorded deployment in
        // scope), and for one product in one environment.
        let year = versioner_core::insights::DoraQuery::new(
            chrono::Utc::now() - chrono::Duration::days(400),
            chrono::Utc::now() + chrono::Duration::days(1),
        );
        let mut all = year.clone();
        all.environments = (0..support::ENVIRONMENTS)
            .map(|e| format!("e{e}"))
            .collect();
        g.bench_function(BenchmarkId::new("dora_all", n), |b| {
            b.iter(|| assert!(vr.dora(&all).unwrap().deployment_frequency.count > 0))
        });
        // The same from the whole ledger (what the rollups replace): the baseline.
        assert_eq!(vr.dora(&all).unwrap(), vr.dora_from_ledger(&all).unwrap());
        g.bench_function(BenchmarkId::new("dora_all_ledger", n), |b| {
            b.iter(|| {
                assert!(
                    vr.dora_from_ledger(&all)
                        .unwrap()
                        .deployment_frequency
                        .count
                        > 0
                )
            })
        });
        // Every product in the last environment (the usual production scope: no version's
        // first success is there, so each version's per-environment entries are read).
        let mut last = year.clone();
        last.environments = vec![format!("e{}", support::ENVIRONMENTS - 1)];
        g.bench_function(BenchmarkId::new("dora_last_env", n), |b| {
            b.iter(|| assert!(vr.dora(&last).unwrap().change_failures.failed > 0))
        });
        // With its weekly series (each week boundary cuts a day, read from the deployments).
        let mut weekly = all.clone();
        weekly.by = Some(versioner_core::insights::SeriesInterval::Week);
        g.bench_function(BenchmarkId::new("dora_all_weekly", n), |b| {
            b.iter(|| assert!(vr.dora(&weekly).unwrap().series.is_some()))
        });
        let mut one = year;
        one.product = Some("p0".into());
        one.environments = vec!["e9".into()];
        g.bench_function(BenchmarkId::new("dora_one", n), |b| {
            b.iter(|| assert!(vr.dora(&one).unwrap().deployment_frequency.count > 0))
        });
        g.bench_function(BenchmarkId::new("history", n), |b| {
            b.iter(|| {
                let h = vr
                    .history(
                        &HistoryQuery::new()
                            .product("p0")
                            .environment("e9")
                            .limit(50),
                    )
                    .unwrap();
                assert_eq!(h.len(), 50);
            })
        });
    }
    g.finish();
}

/// 3. The dry-run check of the five-rule policy (and its evaluation alone, without the reads)
///    against one indexed read.
fn dry_run(c: &mut Criterion) {
    let mut g = c.benchmark_group("check");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    support::bulk_load(&path, 100_000);
    let vr = support::open(&path, Synchronous::Full);
    support::prepare_bench_version(&vr);
    let mut req = CheckRequest::new("p0", "bench", "e9");
    req.deployed_by = Some("dana".into());
    g.bench_function("five_rules", |b| {
        b.iter(|| assert!(vr.check(&req).unwrap().is_allowed()))
    });
    // The evaluation alone: the same five rules over the facts the check gathers, no I/O.
    let rules: Vec<Rule> = vr.rules().unwrap().into_iter().map(|r| r.rule).collect();
    let mut facts = Facts::new("p0", "bench", "e9");
    facts.deployed_by = Some("dana".into());
    facts.version_known = true;
    facts.builders = vec!["ci".into()];
    facts.approvals = vr.approvals("p0", "bench").unwrap();
    let mut stint = Stint::default();
    let soaked = chrono::Utc::now() - chrono::Duration::days(2);
    stint.first_success_at = Some(soaked);
    stint.last_success_at = Some(soaked);
    facts.stints.insert("e2".into(), stint);
    g.bench_function("evaluate_only", |b| {
        b.iter(|| assert!(policy::evaluate(&rules, &facts, chrono::Utc::now()).is_allowed()))
    });
    // The evaluation per scenario (issue 20): all pass (above), one fails (the soak has not
    // ended: the retry search runs), all fail (nothing soaked, no approvals, a deployment
    // open, inside the freeze).
    let mut one_fails = facts.clone();
    let fresh = chrono::Utc::now() - chrono::Duration::minutes(5);
    one_fails
        .stints
        .insert("e2".into(), Stint::new(Some(fresh), Some(fresh), None));
    g.bench_function("evaluate_one_fails", |b| {
        b.iter(|| assert!(!policy::evaluate(&rules, &one_fails, chrono::Utc::now()).is_allowed()))
    });
    let mut all_fail = Facts::new("p0", "bench", "e9");
    all_fail.open_deployments.push(policy::OpenDeployment::new(
        "d-1",
        "p0",
        "1",
        versioner_core::Status::Started,
        chrono::Utc::now(),
    ));
    let freeze = "2001-12-25T12:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    g.bench_function("evaluate_all_fail", |b| {
        b.iter(|| {
            let v = policy::evaluate(&rules, &all_fail, freeze);
            assert_eq!(v.failures().count(), 5);
        })
    });
    let mut base = support::Baseline::open(&path, Synchronous::Full);
    g.bench_function("one_indexed_read", |b| b.iter(|| base.one_read()));
    g.finish();
}

/// 4. Durable ingest: `completed` events (no open deployment to match, no rules) from 1 and 8
///    threads at FULL and NORMAL; reported as time per event. Each setting first measures its
///    floor: a raw rusqlite autocommit single-row insert loop ([`support::Floor`]).
fn ingest(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let dir = tempfile::tempdir().unwrap();
        let mut floor = support::Floor::open(&dir.path().join("floor.db"), sync);
        g.bench_function(BenchmarkId::new("floor", sync.as_str()), |b| {
            b.iter(|| floor.insert())
        });
        for threads in [1usize, 8] {
            let dir = tempfile::tempdir().unwrap();
            let vr = support::open(&dir.path().join("v.db"), sync);
            let id = BenchmarkId::new(
                format!("{sync:?}").to_lowercase(),
                format!("{threads}_threads"),
            );
            let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
            g.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(threads as u64);
                    let barrier = Arc::new(Barrier::new(threads + 1));
                    let handles: Vec<_> = (0..threads)
                        .map(|t| {
                            let vr = vr.clone();
                            let barrier = barrier.clone();
                            let counter = counter.clone();
                            std::thread::spawn(move || {
                                barrier.wait();
                                for _ in 0..per {
                                    let n =
                                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    let e = DeploymentEvent::new(
                                        format!("p{t}"),
                                        format!("1.{n}"),
                                        "e1",
                                        "completed",
                                    );
                                    vr.track_deployment(&e).unwrap();
                                }
                            })
                        })
                        .collect();
                    barrier.wait();
                    let start = Instant::now();
                    for h in handles {
                        h.join().unwrap();
                    }
                    let elapsed = start.elapsed();
                    // Scale to the requested count (per-thread rounding).
                    elapsed.mul_f64(iters as f64 / (per * threads as u64) as f64)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, preflight_record, growth, dry_run, ingest);
criterion_main!(benches);
