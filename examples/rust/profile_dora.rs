//! Profiling aid: the four keys over every environment of a bulk-loaded history of N
//! deployments (built once at PATH, then reused): `profile_dora PATH [N] [QUERIES]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "profiling aid"
)]
#[path = "../../benches/support/mod.rs"]
mod support;
fn main() {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().expect("PATH"));
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let queries: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    if !path.exists() {
        support::bulk_load(&path, n);
    }
    let vr = support::open(&path, versioner_core::Synchronous::Normal);
    let mut q = versioner_core::insights::DoraQuery::new(
        chrono::Utc::now() - chrono::Duration::days(400),
        chrono::Utc::now() + chrono::Duration::days(1),
    );
    q.environments = (0..support::ENVIRONMENTS)
        .map(|e| format!("e{e}"))
        .collect();
    let started = std::time::Instant::now();
    for _ in 0..queries {
        assert!(vr.dora(&q).unwrap().deployment_frequency.count > 0);
    }
    eprintln!(
        "{:.2?} per query",
        started.elapsed() / queries.max(1) as u32
    );
}
