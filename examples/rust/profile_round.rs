//! Profiling aid: N preflight+record rounds on a small history (NORMAL sync).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "profiling aid"
)]
#[path = "../../benches/support/mod.rs"]
mod support;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    support::bulk_load(&path, 1_000);
    let vr = support::open(&path, versioner_core::Synchronous::Normal);
    support::prepare_bench_version(&vr);
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    for _ in 0..n {
        support::deploy_round(&vr);
    }
}
