//! `versioner track build` and `versioner track deployment`.
//!
//! The event is assembled from flags, `VERSIONER_*` variables, the config file and CI
//! auto-detection (in that order), validated locally for what only the CLI knows (timestamps,
//! metadata JSON), then sent through the [`Tracker`](versioner_core::Tracker). Builds and
//! deployments end with the same codes: 0 recorded, 1 usage or network error, 4 refused by the
//! API, 5 blocked by policy. With `--fail-on-api-error=false`, any failure but a block (API
//! errors, an unreachable server, 5xx after the retries) is a warning and exits 0.

use chrono::DateTime;
use serde_json::json;
use versioner_core::{Build, BuildEvent, Deployment, DeploymentEvent, Error, Status, wire};

use super::args::{TrackBuild, TrackDeployment, parse_bool};
use super::sources::Sources;
use super::{Context, Usage};
use crate::exit::Exit;
use versioner_core::queue::WaitStatus;

fn required(value: Option<String>, flag: &str, var: &str, ci_hint: bool) -> Result<String, Usage> {
    value.ok_or_else(|| {
        Usage(format!(
            "--{flag} is required (or {var}, or `{}` in the config file{})",
            flag.replace('-', "_"),
            if ci_hint {
                ", or run in a CI system that names it"
            } else {
                ""
            }
        ))
    })
}

fn timestamp(value: Option<String>, flag: &str) -> Result<Option<String>, Usage> {
    match value {
        Some(v) => DateTime::parse_from_rfc3339(&v)
            .map(|_| Some(v.clone()))
            .map_err(|_| {
                Usage(format!(
                    "--{flag} `{v}` is not an RFC 3339 timestamp (e.g. 2026-11-21T09:30:00Z)"
                ))
            }),
        None => Ok(None),
    }
}

/// The commit time: the flag, variable or config file; in CI, GitLab's `CI_COMMIT_TIMESTAMP`,
/// else the checkout's `git show -s --format=%cI <sha>` when the commit is present locally.
fn committed_at(
    flag: Option<&str>,
    sha: Option<&str>,
    s: &Sources<'_>,
) -> Result<Option<String>, Usage> {
    let given = s.pick(flag, "scm_committed_at");
    let found = given.or_else(|| {
        s.ci.system?;
        s.var("CI_COMMIT_TIMESTAMP")
            .or_else(|| sha.and_then(git_commit_time))
    });
    timestamp(found, "scm-committed-at")
}

/// `git show -s --format=%cI <sha>` in the current directory, when git knows the commit.
fn git_commit_time(sha: &str) -> Option<String> {
    // Only a SHA reaches git: never an option or a revision expression.
    if sha.is_empty() || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let out = std::process::Command::new("git")
        .args(["show", "-s", "--format=%cI", sha])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && DateTime::parse_from_rfc3339(text).is_ok()).then(|| text.to_string())
}

/// Builds the build event from every source.
///
/// # Errors
/// [`Usage`] for a missing product or version, a bad timestamp or bad metadata.
pub fn build_event(a: &TrackBuild, s: &Sources<'_>) -> Result<BuildEvent, Usage> {
    let ci = &s.ci;
    let mut e = BuildEvent::new(
        required(
            s.pick_or_ci(a.product.as_deref(), "product", ci.product.as_ref()),
            "product",
            "VERSIONER_PRODUCT",
            true,
        )?,
        required(
            s.pick_or_ci(a.version.as_deref(), "version", ci.version.as_ref()),
            "version",
            "VERSIONER_VERSION",
            true,
        )?,
        s.pick(a.status.as_deref(), "status")
            .unwrap_or_else(|| "completed".into()),
    );
    e.source_system = Some(
        s.pick(a.source_system.as_deref(), "source_system")
            .unwrap_or_else(|| ci.source_system().to_string()),
    );
    e.build_number = s.pick_or_ci(
        a.build_number.as_deref(),
        "build_number",
        ci.build_number.as_ref(),
    );
    e.scm_sha = s.pick_or_ci(a.scm_sha.as_deref(), "scm_sha", ci.scm_sha.as_ref());
    e.scm_branch = s.pick_or_ci(
        a.scm_branch.as_deref(),
        "scm_branch",
        ci.scm_branch.as_ref(),
    );
    e.scm_repository = s.pick_or_ci(
        a.scm_repository.as_deref(),
        "scm_repository",
        ci.scm_repository.as_ref(),
    );
    e.build_url = s.pick_or_ci(a.build_url.as_deref(), "build_url", ci.build_url.as_ref());
    e.invoke_id = s.pick_or_ci(a.invoke_id.as_deref(), "invoke_id", ci.invoke_id.as_ref());
    e.built_by = s.pick_or_ci(a.built_by.as_deref(), "built_by", ci.user.as_ref());
    e.built_by_email = s.pick_or_ci(
        a.built_by_email.as_deref(),
        "built_by_email",
        ci.user_email.as_ref(),
    );
    e.built_by_name = s.pick_or_ci(
        a.built_by_name.as_deref(),
        "built_by_name",
        ci.user_name.as_ref(),
    );
    e.scm_committed_at = committed_at(a.scm_committed_at.as_deref(), e.scm_sha.as_deref(), s)?;
    e.started_at = timestamp(s.pick(a.started_at.as_deref(), "started_at"), "started-at")?;
    e.completed_at = timestamp(
        s.pick(a.completed_at.as_deref(), "completed_at"),
        "completed-at",
    )?;
    e.extra_metadata = s.metadata(a.extra_metadata.as_deref())?;
    Ok(e)
}

/// Builds the deployment event from every source.
///
/// # Errors
/// [`Usage`] for a missing product, version or environment, a bad timestamp or bad metadata.
pub fn deployment_event(a: &TrackDeployment, s: &Sources<'_>) -> Result<DeploymentEvent, Usage> {
    let ci = &s.ci;
    let mut e = DeploymentEvent::new(
        required(
            s.pick_or_ci(a.product.as_deref(), "product", ci.product.as_ref()),
            "product",
            "VERSIONER_PRODUCT",
            true,
        )?,
        required(
            s.pick_or_ci(a.version.as_deref(), "version", ci.version.as_ref()),
            "version",
            "VERSIONER_VERSION",
            true,
        )?,
        required(
            s.pick(a.environment.as_deref(), "environment"),
            "environment",
            "VERSIONER_ENVIRONMENT",
            false,
        )?,
        s.pick(a.status.as_deref(), "status")
            .unwrap_or_else(|| "success".into()),
    );
    e.source_system = Some(
        s.pick(a.source_system.as_deref(), "source_system")
            .unwrap_or_else(|| ci.source_system().to_string()),
    );
    e.build_number = s.pick_or_ci(
        a.build_number.as_deref(),
        "build_number",
        ci.build_number.as_ref(),
    );
    e.scm_sha = s.pick_or_ci(a.scm_sha.as_deref(), "scm_sha", ci.scm_sha.as_ref());
    e.scm_repository = s.pick_or_ci(
        a.scm_repository.as_deref(),
        "scm_repository",
        ci.scm_repository.as_ref(),
    );
    e.deploy_url = s.pick_or_ci(a.deploy_url.as_deref(), "deploy_url", ci.build_url.as_ref());
    e.invoke_id = s.pick_or_ci(a.invoke_id.as_deref(), "invoke_id", ci.invoke_id.as_ref());
    e.deployed_by = s.pick_or_ci(a.deployed_by.as_deref(), "deployed_by", ci.user.as_ref());
    e.deployed_by_email = s.pick_or_ci(
        a.deployed_by_email.as_deref(),
        "deployed_by_email",
        ci.user_email.as_ref(),
    );
    e.deployed_by_name = s.pick_or_ci(
        a.deployed_by_name.as_deref(),
        "deployed_by_name",
        ci.user_name.as_ref(),
    );
    // Not auto-detected for deployments (the public clients never send them).
    e.scm_committed_at = committed_at(a.scm_committed_at.as_deref(), e.scm_sha.as_deref(), s)?;
    e.scm_branch = a.scm_branch.clone().filter(|v| !v.trim().is_empty());
    e.build_url = a.build_url.clone().filter(|v| !v.trim().is_empty());
    e.completed_at = timestamp(
        s.pick(a.completed_at.as_deref(), "completed_at"),
        "completed-at",
    )?;
    e.extra_metadata = s.metadata(a.extra_metadata.as_deref())?;
    if a.skip_preflight_checks {
        e.skip_preflight_checks = Some(true);
        e.skip_preflight_reason = a.skip_preflight_reason.clone();
    }
    Ok(e)
}

/// `--fail-on-api-error`: the flag, else `VERSIONER_FAIL_ON_API_ERROR`, else the config file,
/// else true.
fn fail_on_api_error(flag: Option<bool>, s: &Sources<'_>) -> Result<bool, Usage> {
    if let Some(b) = flag {
        return Ok(b);
    }
    match s.configured("fail_on_api_error") {
        Some(v) => parse_bool(&v).map_err(|e| Usage(format!("fail_on_api_error: {e}"))),
        None => Ok(true),
    }
}

fn status_note(ctx: &mut Context<'_, '_>, raw: Option<&str>) {
    if let Some(raw) = raw
        && let Ok(s) = Status::parse(raw)
        && !raw.trim().eq_ignore_ascii_case(s.as_str())
    {
        ctx.console
            .info(&format!("ℹ Status '{raw}' will be normalized to '{s}'"));
    }
}

fn describe(ctx: &mut Context<'_, '_>, fields: &[(&str, Option<&str>)]) {
    if !ctx.console.verbose {
        return;
    }
    if let Some(system) = ctx.sources.ci.system {
        ctx.console.info(&format!("Detected CI system: {system}"));
    }
    for (name, value) in fields {
        if let Some(v) = value {
            ctx.console.info(&format!("  {name}: {v}"));
        }
    }
}

/// How a failed call ends: a block always fails (exit 5); anything else is a warning and exit
/// 0 when `--fail-on-api-error=false`.
fn failed(ctx: &mut Context<'_, '_>, e: &Error, fail: bool, what: &str) -> Exit {
    if e.verdict().is_some() || fail {
        if e.verdict().is_none() {
            ctx.console
                .annotate_error(&format!("Versioner {what} Failed"), &e.to_string());
        }
        return ctx.fail(e);
    }
    ctx.console.warn(
        "API error (continuing)",
        &format!("[{}] {e}; the event was not recorded", e.code()),
    );
    if ctx.console.json() {
        let body = json!({
            "status": "not_recorded",
            "error": super::output::error_body(e),
        });
        ctx.console.print_json(&body);
    } else {
        ctx.console.out(&format!(
            "⚠ {what} event not recorded (--fail-on-api-error=false)"
        ));
    }
    Exit::Success
}

/// `versioner track build`.
pub fn build(ctx: &mut Context<'_, '_>, a: &TrackBuild) -> Exit {
    let prepared = build_event(a, &ctx.sources)
        .and_then(|e| fail_on_api_error(a.fail_on_api_error, &ctx.sources).map(|f| (e, f)));
    let (event, fail) = match prepared {
        Ok(p) => p,
        Err(u) => return ctx.usage(&u),
    };
    status_note(ctx, event.status.as_deref());
    describe(
        ctx,
        &[
            ("product", event.product_name.as_deref()),
            ("version", event.version.as_deref()),
            ("status", event.status.as_deref()),
            ("source system", event.source_system.as_deref()),
            ("repository", event.scm_repository.as_deref()),
            ("commit", event.scm_sha.as_deref()),
        ],
    );
    let result = match ctx.tracker() {
        Err(u) => return ctx.usage(&u),
        Ok(Err(e)) => Err(e),
        Ok(Ok(t)) => t.track_build(&event),
    };
    match result {
        Ok(b) => built(ctx, &b),
        Err(e) => failed(ctx, &e, fail, "Build"),
    }
}

fn built(ctx: &mut Context<'_, '_>, b: &Build) -> Exit {
    if ctx.console.json() {
        ctx.console.print_json(&wire::build(b));
    } else {
        ctx.console.out("✓ Build event tracked successfully");
        ctx.console.out(&format!("  Event ID: {}", b.id));
        if ctx.console.verbose {
            ctx.console.out(&format!("  Product ID: {}", b.product_id));
            ctx.console.out(&format!("  Version ID: {}", b.version_id));
        }
    }
    ctx.console.summary(&format!(
        "## 🚀 Versioner Summary\n\n| | |\n|---|---|\n| Action | build |\n| Product | `{}` |\n| Version | `{}` |\n| Status | {} |\n| Commit | {} |\n| Build id | `{}` |\n",
        b.product_name,
        b.version,
        b.status,
        b.fields.scm_sha.as_deref().unwrap_or("—"),
        b.id
    ));
    Exit::Success
}

/// `versioner track deployment`.
pub fn deployment(ctx: &mut Context<'_, '_>, a: &TrackDeployment) -> Exit {
    let prepared = deployment_event(a, &ctx.sources)
        .and_then(|e| fail_on_api_error(a.fail_on_api_error, &ctx.sources).map(|f| (e, f)));
    let (event, fail) = match prepared {
        Ok(p) => p,
        Err(u) => return ctx.usage(&u),
    };
    if event.skip_preflight_checks == Some(true) {
        ctx.console.warn(
            "Preflight bypass",
            "--skip-preflight-checks is deprecated; the bypass and its reason are recorded with \
             the deployment. Prefer setting the blocking rule to report_only for the emergency.",
        );
    }
    status_note(ctx, event.status.as_deref());
    describe(
        ctx,
        &[
            ("product", event.product_name.as_deref()),
            ("environment", event.environment_name.as_deref()),
            ("version", event.version.as_deref()),
            ("status", event.status.as_deref()),
            ("source system", event.source_system.as_deref()),
            ("repository", event.scm_repository.as_deref()),
            ("commit", event.scm_sha.as_deref()),
        ],
    );
    let result = match ctx.tracker() {
        Err(u) => return ctx.usage(&u),
        Ok(Err(e)) => Err(e),
        Ok(Ok(t)) => match a.wait {
            None => t.track_deployment(&event),
            Some(wait) => {
                let console = &mut ctx.console;
                let mut last: Option<(u32, String)> = None;
                t.track_deployment_waiting(&event, wait, &mut |s: &WaitStatus| {
                    // One line per change of place or reason, not one per poll.
                    let now = (s.position, s.message.clone());
                    if last.as_ref() != Some(&now) {
                        console.err(&format!(
                            "⏳ position {} of {} in the queue: {} (gives up at {})",
                            s.position,
                            s.queue_length,
                            s.message,
                            s.deadline
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        ));
                        last = Some(now);
                    }
                })
            }
        },
    };
    match result {
        Ok(d) => deployed(ctx, &d),
        Err(e) => failed(ctx, &e, fail, "Deployment"),
    }
}

fn deployed(ctx: &mut Context<'_, '_>, d: &Deployment) -> Exit {
    if ctx.console.json() {
        ctx.console.print_json(&wire::deployment(d));
    } else {
        ctx.console.out("✓ Deployment event tracked successfully");
        ctx.console.out(&format!("  Event ID: {}", d.id));
        if ctx.console.verbose {
            ctx.console.out(&format!("  Product ID: {}", d.product_id));
            ctx.console.out(&format!("  Version ID: {}", d.version_id));
            ctx.console
                .out(&format!("  Environment ID: {}", d.environment_id));
        }
    }
    let warnings: Vec<(String, String)> = d
        .preflight
        .iter()
        .flat_map(|p| p.warnings())
        .map(|o| (o.rule_name.clone(), o.message.clone()))
        .collect();
    for (rule, message) in &warnings {
        ctx.console
            .warn("Report-only rule violation", &format!("{rule} — {message}"));
    }
    if let Some(reason) = d
        .preflight
        .as_ref()
        .and_then(|p| p.bypass_reason.as_deref())
    {
        ctx.console.err(&format!("⚠ preflight bypassed: {reason}"));
    }
    let mut md = format!(
        "## 🚀 Versioner Summary\n\n| | |\n|---|---|\n| Action | deployment |\n| Product | `{}` |\n| Environment | `{}` |\n| Version | `{}` |\n| Status | {} |\n| Commit | {} |\n| Deployment id | `{}` |\n",
        d.product_name,
        d.environment_name,
        d.version,
        d.status,
        d.fields.scm_sha.as_deref().unwrap_or("—"),
        d.id
    );
    if !warnings.is_empty() {
        md.push_str("\n### ⚠️ Report-only rule violations\n\n");
        for (rule, message) in &warnings {
            md.push_str(&format!("- **{rule}**: {message}\n"));
        }
    }
    ctx.console.summary(&md);
    Exit::Success
}
