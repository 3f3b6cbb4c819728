//! The dashboard's home page for 200 products × 20 environments (8 in BENCHMARKS.md): the
//! server-side render of the matrix page from the core's state matrix (target < 50 ms), the
//! state query it is rendered from, and both together; and the page's size, raw and as
//! transferred (gzip, as the server sends it to browsers; target < 150 KB). With
//! `VERSIONER_BENCH_RESULTS=DIR` the sizes are written to `DIR/dashboard.json` for
//! `benches/report.py`. `scripts/bench.sh` runs it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "benchmarks fail loudly and report the page's size"
)]

use std::io::Write as _;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use versioner_core::{BuildEvent, DeploymentEvent, StateMatrix, Versioner};
use versioner_server::dashboard::matrix::{Filter, home_content};
use versioner_server::dashboard::{Viewer, layout};

const PRODUCTS: usize = 200;
const ENVIRONMENTS: usize = 20;

/// Every product in every environment: version `1.<p % 7>.<e>` (drift in every row), with a
/// deployment in progress in one environment in ten and a failed last attempt in one in
/// thirteen, so every kind of cell is rendered.
fn fixture() -> Versioner {
    let vr = Versioner::open_in_memory().unwrap();
    let kinds = ["dev", "test", "staging", "prod", "eu-west"];
    for p in 0..PRODUCTS {
        let product = format!("service-{p:03}");
        for e in 0..ENVIRONMENTS {
            let env = format!("{}-{e:02}", kinds[e % kinds.len()]);
            let version = format!("1.{}.{e}", p % 7);
            let mut b = BuildEvent::new(&product, &version, "completed");
            b.scm_sha = Some(format!("{:040x}", p * 100 + e));
            vr.track_build(&b).unwrap();
            let mut d = DeploymentEvent::new(&product, &version, &env, "completed");
            d.deployed_by = Some("ci-bot".into());
            vr.track_deployment(&d).unwrap();
            if (p + e) % 10 == 0 {
                vr.track_deployment(&DeploymentEvent::new(&product, "2.0.0", &env, "started"))
                    .unwrap();
            } else if (p + e) % 13 == 0 {
                vr.track_deployment(&DeploymentEvent::new(&product, "2.0.1", &env, "failed"))
                    .unwrap();
            }
        }
    }
    vr
}

fn render(matrix: StateMatrix, viewer: &Viewer) -> String {
    layout::page(
        "Matrix",
        Some(viewer),
        layout::Nav::Matrix,
        home_content(matrix, &Filter::default(), 1, &[]),
    )
    .into_string()
}

fn gzip(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap().len()
}

fn home_page(c: &mut Criterion) {
    let vr = fixture();
    let viewer = Viewer::anonymous();
    let matrix = vr.state(None).unwrap();
    assert_eq!(
        (matrix.products.len(), matrix.environments.len()),
        (PRODUCTS, ENVIRONMENTS)
    );
    let page = render(matrix.clone(), &viewer);
    let (raw, sent) = (page.len(), gzip(page.as_bytes()));
    eprintln!(
        "dashboard home page {PRODUCTS}x{ENVIRONMENTS}: {raw} bytes, {sent} bytes gzip (sent)"
    );
    if let Ok(dir) = std::env::var("VERSIONER_BENCH_RESULTS") {
        let json = serde_json::json!({
            "products": PRODUCTS, "environments": ENVIRONMENTS,
            "raw_bytes": raw, "gzip_bytes": sent,
        });
        std::fs::write(format!("{dir}/dashboard.json"), json.to_string()).unwrap();
    }
    let mut g = c.benchmark_group("dashboard");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("render_home_200x20", |b| {
        b.iter_batched(
            || matrix.clone(),
            |m| render(m, &viewer),
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function("state_200x20", |b| b.iter(|| vr.state(None).unwrap()));
    g.bench_function("state_and_render_200x20", |b| {
        b.iter(|| render(vr.state(None).unwrap(), &viewer))
    });
    g.finish();
}

criterion_group!(benches, home_page);
criterion_main!(benches);
