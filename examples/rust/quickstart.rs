//! Quick start: record a build and a dev → staging → production rollout into `./versioner.db`,
//! see production refused by the preflight, approve, deploy, and print what's deployed where.
//!
//! Run it with `cargo run --example quickstart`; run it again and it ships the next version.
#![expect(clippy::print_stdout, reason = "an example prints its story")]

use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{ApprovalRequest, BuildEvent, DeploymentEvent, Error, Page, Versioner};

const POLICY: &str = r#"
[[rules]]
name = "Staging before production"
type = "flow"
environments = ["production"]
prerequisites = ["dev", "staging"]
strict_order = true

[[rules]]
name = "Production needs 2 approvals"
type = "release_approval"
environments = ["production"]
required = 2

[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
"#;

fn main() -> Result<(), Error> {
    let vr = Versioner::open("versioner.db")?;
    let report =
        vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "quickstart")?;
    println!(
        "policy: {} added, {} unchanged",
        report.added.len(),
        report.unchanged.len()
    );

    // Each run ships the next version of `checkout`.
    let n = vr
        .versions("checkout", Page::first(1000))
        .map_or(0, |vs| vs.len() as u64);
    let version = format!("1.0.{n}");
    let sha = format!("{:040x}", 0xc0ffee_u64 + n);

    let mut build = BuildEvent::new("checkout", &version, "success");
    build.scm_sha = Some(sha.clone());
    build.built_by = Some("ci-bot".into());
    let b = vr.track_build(&build)?;
    println!("built   checkout {version} (build {})", b.id);

    for env in ["dev", "staging"] {
        let mut start = DeploymentEvent::new("checkout", &version, env, "started");
        start.deployed_by = Some("dana".into());
        vr.track_deployment(&start)?;
        vr.track_deployment(&DeploymentEvent::new(
            "checkout",
            &version,
            env,
            "completed",
        ))?;
        println!("deployed checkout {version} to {env}");
    }

    let mut prod = DeploymentEvent::new("checkout", &version, "production", "started");
    prod.deployed_by = Some("dana".into());
    match vr.track_deployment(&prod) {
        Err(Error::Blocked(verdict)) => {
            println!(
                "\nproduction refused ({} {}):",
                verdict.http_status().unwrap_or(0),
                verdict.code().map_or("", |c| c.as_str())
            );
            for o in verdict.outcomes() {
                println!("  [{}] {}: {}", o.status.as_str(), o.rule_name, o.message);
            }
        }
        other => {
            other?;
            println!("production was not refused (unexpected)");
        }
    }

    for approver in ["alice", "bob"] {
        vr.approve(
            &ApprovalRequest::new("checkout", &version, "release", approver)
                .in_environment("production"),
        )?;
        println!("approved by {approver}");
    }
    let d = vr.track_deployment(&prod)?;
    vr.track_deployment(&DeploymentEvent::new(
        "checkout",
        &version,
        "production",
        "completed",
    ))?;
    println!(
        "deployed checkout {version} to production (deployment {})\n",
        d.id
    );

    println!("What's deployed where:\n{}", vr.state(None)?.to_table());
    Ok(())
}
