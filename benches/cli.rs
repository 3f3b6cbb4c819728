//! CLI (item 6): a whole `versioner --db FILE track deployment …` process, start to exit, against
//! two baselines timed the same way in the same run: spawning `/bin/true` (the process-start
//! floor of this machine) and the same event recorded in process (open the database, track,
//! drop).
//!
//! Not a criterion bench (`harness = false`); `scripts/bench.sh` runs the built binary:
//!
//! ```text
//! cli VERSIONER_BIN FIXTURE_DB N    # one JSON line on stdout
//! ```
//!
//! The runs alternate `started` (the five-rule preflight of the fixture) and `completed` of
//! `p0` `bench` to `e9`, on a copy of the fixture database, at the default `synchronous=FULL`.

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
use std::process::{Command, Stdio};
use std::time::Instant;

use versioner_core::{DeploymentEvent, Versioner};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        // `cargo bench` runs every bench target with no arguments: nothing to do here.
        eprintln!("cli: a driver for scripts/bench.sh (see benches/cli.rs)");
        return;
    }
    assert!(args.len() == 3, "usage: cli VERSIONER_BIN FIXTURE_DB N");
    let bin = Path::new(&args[0]);
    let n: usize = args[2].parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    std::fs::copy(&args[1], &db).unwrap();

    let status = |i: usize| {
        if i.is_multiple_of(2) {
            "started"
        } else {
            "completed"
        }
    };
    let run = |i: usize| {
        let out = Command::new(bin)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("CI")
            .args(["--db"])
            .arg(&db)
            .args([
                "track",
                "deployment",
                "--product",
                "p0",
                "--version",
                "bench",
                "--environment",
                "e9",
                "--deployed-by",
                "dana",
                "--status",
                status(i),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "versioner failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let spawn_true = || {
        let s = Command::new("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(s.status.success());
    };
    let in_process = |i: usize| {
        let vr = Versioner::open(&db).unwrap();
        let mut e = DeploymentEvent::new("p0", "bench", "e9", status(i));
        e.deployed_by = Some("dana".into());
        vr.track_deployment(&e).unwrap();
    };

    // Interleaved so the three see the same machine; the first 6 rounds warm up (page
    // cache, binary). The in-process run records the same event the next CLI run would, then
    // the opposite one, leaving the `started`/`completed` alternation where it was.
    let warm = 6;
    let (mut cli, mut cli_started, mut truth, mut inproc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n + warm {
        let t = Instant::now();
        run(i);
        let t_cli = t.elapsed().as_nanos() as u64;
        let t = Instant::now();
        spawn_true();
        let t_true = t.elapsed().as_nanos() as u64;
        let t = Instant::now();
        in_process(i + 1);
        let t_in = t.elapsed().as_nanos() as u64;
        in_process(i);
        if i >= warm {
            cli.push(t_cli);
            if i.is_multiple_of(2) {
                cli_started.push(t_cli);
            }
            truth.push(t_true);
            inproc.push(t_in);
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "cli_ns": support::summary(&cli),
            "cli_started_ns": support::summary(&cli_started),
            "spawn_true_ns": support::summary(&truth),
            "in_process_ns": support::summary(&inproc),
        })
    );
}
