//! `check`, `status`, `history`, `versions`, `rules`, `approve`, `approvals`: each builds a
//! core request, makes one [`Tracker`] call and prints the answer.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use versioner_core::input::PolicyInput;
use versioner_core::policy::RuleStatus;
use versioner_core::policy::lint::Severity;
use versioner_core::store::RuleStatusChange;
use versioner_core::{
    ApprovalRequest, CheckRequest, HistoryQuery, Page, Status, Tracker, ViolationQuery, wire,
};

use super::args::{
    ApprovalsArgs, ApproveArgs, CheckArgs, HistoryArgs, QueueArgs, ReplayArgs, Rules, StatusArgs,
    VersionsArgs, ViolationsArgs,
};
use super::output::{outcome_lines, table};
use super::{Context, Usage};
use crate::exit::Exit;

/// Opens the backend or ends the command.
pub(super) fn open(ctx: &mut Context<'_, '_>) -> Result<Box<dyn Tracker>, Exit> {
    match ctx.tracker() {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(ctx.fail(&e)),
        Err(u) => Err(ctx.usage(&u)),
    }
}

/// Parses an optional RFC 3339 flag value.
pub(super) fn instant(value: Option<&str>, flag: &str) -> Result<Option<DateTime<Utc>>, Usage> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Usage(format!(
                        "--{flag} `{v}` is not an RFC 3339 timestamp (e.g. 2026-11-21T09:30:00Z)"
                    ))
                })
        })
        .transpose()
}

/// An instant as RFC 3339, to the second.
pub(super) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A record as JSON.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

macro_rules! attempt {
    ($ctx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $ctx.fail(&e),
        }
    };
}

macro_rules! usage {
    ($ctx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(u) => return $ctx.usage(&u),
        }
    };
}

/// `versioner queue`: the wait queue, per environment in arrival order.
pub fn queue(ctx: &mut Context<'_, '_>, a: &QueueArgs) -> Exit {
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let list = attempt!(ctx, t.queue(a.environment.as_deref()));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&list));
        return Exit::Success;
    }
    if list.is_empty() {
        ctx.console.out("No deployment is waiting.");
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|e| {
            vec![
                e.environment_name.clone(),
                e.position.to_string(),
                e.product_name.clone(),
                e.version.clone(),
                e.waiter.clone().unwrap_or_else(|| "-".into()),
                time(e.since),
            ]
        })
        .collect();
    ctx.console.out(&table(
        &[
            "ENVIRONMENT",
            "POSITION",
            "PRODUCT",
            "VERSION",
            "WAITER",
            "SINCE",
        ],
        &rows,
    ));
    Exit::Success
}

/// `versioner check`: exit 0 when allowed, 5 when blocked.
pub fn check(ctx: &mut Context<'_, '_>, a: &CheckArgs) -> Exit {
    let s = &ctx.sources;
    let request = (|| -> Result<CheckRequest, Usage> {
        let product = s
            .pick_or_ci(a.product.as_deref(), "product", s.ci.product.as_ref())
            .ok_or_else(|| Usage("--product is required".into()))?;
        let version = s
            .pick_or_ci(a.version.as_deref(), "version", s.ci.version.as_ref())
            .ok_or_else(|| Usage("--version is required".into()))?;
        let environment = s
            .pick(a.environment.as_deref(), "environment")
            .ok_or_else(|| Usage("--environment is required".into()))?;
        let mut r = CheckRequest::new(product, version, environment);
        r.deployed_by = s.pick(a.deployed_by.as_deref(), "deployed_by");
        r.at = instant(a.at.as_deref(), "at")?.map(time);
        Ok(r)
    })();
    let request = usage!(ctx, request);
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let verdict = attempt!(ctx, t.check(&request));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&verdict));
    } else {
        for line in outcome_lines(&verdict) {
            ctx.console.out(&line);
        }
        if verdict.outcomes().is_empty() {
            ctx.console.out("(no rules)");
        }
    }
    if verdict.is_allowed() {
        if !ctx.console.json() {
            ctx.console.out(&format!("✓ {}", verdict.summary()));
        }
        Exit::Success
    } else {
        ctx.console.err(&super::output::rejection_text(&verdict));
        Exit::Blocked
    }
}

/// `versioner status`.
pub fn status(ctx: &mut Context<'_, '_>, a: &StatusArgs) -> Exit {
    let at = usage!(ctx, instant(a.at.as_deref(), "at"));
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let matrix = attempt!(ctx, t.state(at));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&matrix));
    } else if matrix.cells.is_empty() {
        ctx.console.out("(nothing deployed yet)");
    } else {
        if let Some(at) = at {
            ctx.console.out(&format!("As of {}:", time(at)));
        }
        let text = matrix.to_table();
        ctx.console.out(text.trim_end());
        if matrix.cells.iter().any(|c| !c.in_progress.is_empty()) {
            ctx.console.out("(*v): deployment of v in progress");
        }
    }
    Exit::Success
}

/// `versioner history`.
pub fn history(ctx: &mut Context<'_, '_>, a: &HistoryArgs) -> Exit {
    let query = (|| -> Result<HistoryQuery, Usage> {
        let mut q = HistoryQuery::new().limit(a.limit);
        q.product = a.product.clone();
        q.environment = a.environment.clone();
        q.version = a.version.clone();
        q.status = a
            .status
            .as_deref()
            .map(Status::parse)
            .transpose()
            .map_err(|e| Usage(format!("--status: {e}")))?;
        q.since = instant(a.since.as_deref(), "since")?;
        q.until = instant(a.until.as_deref(), "until")?;
        q.preflight = a
            .preflight
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| Usage(format!("--preflight: {e}")))?;
        Ok(q)
    })();
    let query = usage!(ctx, query);
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let list = attempt!(ctx, t.history(&query));
    if ctx.console.json() {
        ctx.console
            .print_json(&Value::Array(list.iter().map(wire::deployment).collect()));
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                time(d.deployed_at),
                d.product_name.clone(),
                d.version.clone(),
                d.environment_name.clone(),
                d.status.to_string(),
                d.fields.deployed_by.clone().unwrap_or_else(|| "-".into()),
                d.id.clone(),
            ]
        })
        .collect();
    ctx.console.out(&table(
        &[
            "DEPLOYED_AT",
            "PRODUCT",
            "VERSION",
            "ENVIRONMENT",
            "STATUS",
            "BY",
            "ID",
        ],
        &rows,
    ));
    Exit::Success
}

/// `versioner versions`: a product's, a commit's (`--sha`) or one by `--id`.
pub fn versions(ctx: &mut Context<'_, '_>, a: &VersionsArgs) -> Exit {
    let product = ctx.sources.pick(a.product.as_deref(), "product");
    if a.sha.is_none() && a.id.is_none() && product.is_none() {
        return ctx.usage(&Usage(
            "--product is required (or --sha SHA, or --id ID)".into(),
        ));
    }
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let list = match (&a.sha, &a.id, product) {
        (Some(sha), _, _) => attempt!(ctx, t.versions_by_sha(sha)),
        (None, Some(id), _) => vec![attempt!(ctx, t.version_by_id(id))],
        (None, None, Some(product)) => {
            let page = Page {
                limit: a.limit,
                offset: a.offset,
            };
            attempt!(ctx, t.versions(&product, page))
        }
        (None, None, None) => Vec::new(),
    };
    if ctx.console.json() {
        match (&a.id, list.first()) {
            (Some(_), Some(v)) => ctx.console.print_json(&to_json(v)),
            _ => ctx.console.print_json(&to_json(&list)),
        }
        return Exit::Success;
    }
    if list.is_empty() {
        ctx.console.out("(no versions)");
        return Exit::Success;
    }
    // One product's versions keep the columns they always had; a commit's or an id's may
    // span products, so they name it.
    let by_product = a.sha.is_none() && a.id.is_none();
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| {
            let mut row = vec![
                v.version.clone(),
                v.scm_sha.clone().unwrap_or_else(|| "-".into()),
                v.scm_branch.clone().unwrap_or_else(|| "-".into()),
                time(v.created_at),
                v.id.clone(),
            ];
            if !by_product {
                row.insert(0, v.product_name.clone());
            }
            row
        })
        .collect();
    let header: &[&str] = if by_product {
        &["VERSION", "SHA", "BRANCH", "CREATED_AT", "ID"]
    } else {
        &["PRODUCT", "VERSION", "SHA", "BRANCH", "CREATED_AT", "ID"]
    };
    ctx.console.out(&table(header, &rows));
    Exit::Success
}

/// One line of a rule's audit: a status change with who, when and why.
fn change_line(c: &RuleStatusChange) -> String {
    format!(
        "{}  {} → {}  by {}: {}",
        time(c.changed_at),
        c.from_status,
        c.to_status,
        c.actor,
        c.reason
    )
}

/// `versioner rules test FILE [--dst-edges]`: runs in process, whatever the backend.
fn rules_test(ctx: &mut Context<'_, '_>, file: &std::path::Path, dst_edges: bool) -> Exit {
    let input = PolicyInput::file(file, None);
    let tests = match input
        .document()
        .and_then(|(text, format)| versioner_core::policy_tests::parse(&text, format))
    {
        Ok(t) => t,
        Err(e) => return ctx.fail(&e),
    };
    let report = attempt!(ctx, tests.run(dst_edges));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&report));
    } else {
        for c in &report.cases {
            let mark = if c.passed { "ok" } else { "FAILED" };
            ctx.console.out(&format!("{mark}: {}", c.name));
            if !c.passed {
                ctx.console.out(&format!("    {}", c.detail));
            }
        }
        ctx.console.out(&format!(
            "{} passed, {} failed",
            report.passed(),
            report.failed()
        ));
    }
    if report.failed() == 0 {
        Exit::Success
    } else {
        Exit::Failure
    }
}

/// `versioner rules …`.
pub fn rules(ctx: &mut Context<'_, '_>, r: &Rules) -> Exit {
    if let Rules::Test { file, dst_edges } = r {
        return rules_test(ctx, file, *dst_edges);
    }
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    match r {
        Rules::Apply {
            file,
            mode,
            allow_empty,
        } => {
            let actor = ctx.actor_for(None);
            let mut policy = PolicyInput::file(file, None);
            if *allow_empty {
                // The file read and validated here, its rules written out: a missing `rules`
                // becomes an explicit empty list, for a server as for a database.
                let parsed = attempt!(ctx, policy.parse());
                policy = PolicyInput::Value(parsed.allow_empty().to_json());
            }
            let report = attempt!(ctx, t.apply_policy_input(&policy, *mode, &actor));
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&report));
            } else {
                ctx.console.out(&format!(
                    "✓ Policy applied from {}: {} added, {} updated, {} unchanged, {} deleted",
                    file.display(),
                    report.added.len(),
                    report.updated.len(),
                    report.unchanged.len(),
                    report.deleted.len()
                ));
                for (label, names) in [
                    ("added", &report.added),
                    ("updated", &report.updated),
                    ("deleted", &report.deleted),
                ] {
                    for n in names {
                        ctx.console.out(&format!("  {label}: {n}"));
                    }
                }
            }
        }
        Rules::Test { .. } => {}
        Rules::Lint { file, format } => {
            let json = match format.trim().to_ascii_lowercase().as_str() {
                "json" => true,
                "text" => ctx.console.json(),
                other => {
                    return ctx.usage(&Usage(format!("--format `{other}`: expected text or json")));
                }
            };
            let policy = file.as_ref().map(|f| PolicyInput::file(f, None));
            let report = attempt!(ctx, t.lint_policy_input(policy.as_ref()));
            if json {
                ctx.console.print_json(&to_json(&report));
            } else {
                for f in &report.findings {
                    let mark = match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    };
                    ctx.console.out(&format!(
                        "{mark}[{}]: rule `{}` {}: {}",
                        f.check, f.rule, f.field, f.message
                    ));
                }
                let (e, w) = (report.errors().count(), report.warnings().count());
                ctx.console.out(&format!("{e} error(s), {w} warning(s)"));
            }
            if !report.passed() {
                return Exit::Rejected;
            }
        }
        Rules::List => {
            let list = attempt!(ctx, t.rules());
            let now = Utc::now();
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&list));
            } else if list.is_empty() {
                ctx.console.out("(no rules)");
            } else {
                let mut rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|s| {
                        let scope = &s.rule.scope;
                        let mut parts = Vec::new();
                        if !scope.products.is_empty() {
                            parts.push(format!("products={}", scope.products.join(",")));
                        }
                        if !scope.environments.is_empty() {
                            parts.push(format!("environments={}", scope.environments.join(",")));
                        }
                        if !scope.environment_types.is_empty() {
                            let types: Vec<&str> =
                                scope.environment_types.iter().map(|t| t.as_str()).collect();
                            parts.push(format!("types={}", types.join(",")));
                        }
                        vec![
                            s.position.to_string(),
                            s.rule.name.clone(),
                            s.rule.rule_type().as_str().to_string(),
                            s.rule.status.as_str().to_string(),
                            if parts.is_empty() {
                                "all".into()
                            } else {
                                parts.join(" ")
                            },
                            window_state(&s.rule, now),
                        ]
                    })
                    .collect();
                let mut headers = vec!["#", "NAME", "TYPE", "STATUS", "SCOPE", "WINDOWS"];
                // The WINDOWS column only when some rule has windows (schedule rules).
                if rows.iter().all(|r| r[5] == "-") {
                    headers.pop();
                    for r in &mut rows {
                        r.pop();
                    }
                }
                ctx.console.out(&table(&headers, &rows));
                if ctx.console.verbose {
                    let changes = attempt!(ctx, t.rule_history(None));
                    for s in &list {
                        ctx.console.out("");
                        ctx.console.out(&format!(
                            "{}: created {}, last changed {}",
                            s.rule.name,
                            time(s.created_at),
                            time(s.updated_at)
                        ));
                        let mine: Vec<&RuleStatusChange> = changes
                            .iter()
                            .filter(|c| c.rule_name == s.rule.name)
                            .collect();
                        if mine.is_empty() {
                            ctx.console.out("  (no status change recorded)");
                        }
                        for c in mine {
                            ctx.console.out(&format!("  {}", change_line(c)));
                        }
                    }
                }
            }
        }
        Rules::History { name } => {
            let changes = attempt!(ctx, t.rule_history(Some(name)));
            if changes.is_empty() {
                // No change recorded: NOT_FOUND unless the rule exists (a deleted rule keeps
                // its history, so only a name never used has neither).
                attempt!(ctx, t.rule(name));
            }
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&changes));
            } else if changes.is_empty() {
                ctx.console
                    .out(&format!("(no status change recorded for `{name}`)"));
            } else {
                for c in &changes {
                    ctx.console.out(&change_line(c));
                }
            }
        }
        Rules::SetStatus {
            name,
            status,
            reason,
        } => {
            let status: RuleStatus = match status.parse() {
                Ok(s) => s,
                Err(e) => return ctx.usage(&Usage(format!("STATUS: {e}"))),
            };
            let actor = ctx.actor_for(None);
            let stored = attempt!(ctx, t.set_rule_status(name, status, &actor, reason));
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&stored));
            } else {
                let by = if actor.is_empty() {
                    "the key's principal".to_string()
                } else {
                    actor.clone()
                };
                ctx.console.out(&format!(
                    "✓ Rule `{}` is now {} (by {by}: {reason})",
                    stored.rule.name, stored.rule.status
                ));
            }
        }
    }
    Exit::Success
}

/// A schedule rule's gate now (the core's `next_open_close`): `open until …` or `closed
/// until …`; `-` for other kinds.
fn window_state(rule: &versioner_core::policy::Rule, now: DateTime<Utc>) -> String {
    let versioner_core::policy::RuleKind::Schedule(s) = &rule.kind else {
        return "-".into();
    };
    match s.next_open_close(now) {
        (Some(open), close) if open <= now => match close {
            Some(c) => format!("open, next close {}", time(c)),
            None => "open".into(),
        },
        (Some(open), _) => format!("closed, next open {}", time(open)),
        (None, _) => "closed, no opening within 400 days".into(),
    }
}

/// `versioner approve`: in process as `--approver` (else `--actor`, else the OS user);
/// through a server as the key's principal.
pub fn approve(ctx: &mut Context<'_, '_>, a: &ApproveArgs) -> Exit {
    let approver = ctx.actor_for(a.approver.as_deref());
    let mut request = ApprovalRequest::new(&a.product, &a.version, &a.approval_type, approver);
    request.approver_role = a.role.clone();
    request.environment = a.environment.clone();
    request.comment = a.comment.clone();
    let t = match ctx.tracker_as(a.approver.as_deref()) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return ctx.fail(&e),
        Err(u) => return ctx.usage(&u),
    };
    let approval = attempt!(ctx, t.approve(&request));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&approval));
    } else {
        ctx.console.out(&format!(
            "✓ Approval recorded: {} of `{}` {} by {} ({}){}",
            approval.approval_type,
            approval.product_name,
            approval.version,
            approval.approver,
            approval.approver_role.as_deref().unwrap_or("-"),
            approval
                .environment
                .as_deref()
                .map(|e| format!(" for `{e}`"))
                .unwrap_or_default()
        ));
        ctx.console.out(&format!("  Approval ID: {}", approval.id));
    }
    Exit::Success
}

/// `versioner approvals`.
pub fn approvals(ctx: &mut Context<'_, '_>, a: &ApprovalsArgs) -> Exit {
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let list = attempt!(ctx, t.approvals(&a.product, &a.version));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&list));
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|ap| {
            vec![
                ap.approval_type.clone(),
                ap.approver.clone(),
                ap.approver_role.clone().unwrap_or_else(|| "-".into()),
                ap.environment.clone().unwrap_or_else(|| "-".into()),
                time(ap.granted_at),
                if ap.is_active() {
                    "active".into()
                } else {
                    "revoked".into()
                },
                ap.id.clone(),
            ]
        })
        .collect();
    ctx.console.out(&table(
        &[
            "TYPE",
            "APPROVER",
            "ROLE",
            "ENVIRONMENT",
            "GRANTED_AT",
            "STATE",
            "ID",
        ],
        &rows,
    ));
    Exit::Success
}

/// `versioner violations`.
pub fn violations(ctx: &mut Context<'_, '_>, a: &ViolationsArgs) -> Exit {
    let query = (|| -> Result<ViolationQuery, Usage> {
        let mut q = ViolationQuery::default();
        q.rule = a.rule.clone();
        q.product = a.product.clone();
        q.environment = a.environment.clone();
        q.since = instant(a.since.as_deref(), "since")?;
        q.until = instant(a.until.as_deref(), "until")?;
        q.outcome = a
            .outcome
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| Usage(format!("--outcome: {e}")))?;
        q.limit = Some(a.limit);
        Ok(q)
    })();
    let query = usage!(ctx, query);
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let list = attempt!(ctx, t.violations(&query));
    if ctx.console.json() {
        ctx.console
            .print_json(&serde_json::to_value(&list).unwrap_or_default());
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                time(d.recorded_at),
                d.outcome.as_str().to_string(),
                d.product_name.clone(),
                d.version.clone(),
                d.environment_name.clone(),
                d.failed_rules().collect::<Vec<_>>().join(", "),
                d.actor.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    ctx.console.out(&table(
        &[
            "RECORDED_AT",
            "OUTCOME",
            "PRODUCT",
            "VERSION",
            "ENVIRONMENT",
            "FAILED_RULES",
            "BY",
        ],
        &rows,
    ));
    Exit::Success
}

/// `versioner replay`.
pub fn replay(ctx: &mut Context<'_, '_>, a: &ReplayArgs) -> Exit {
    let since = usage!(ctx, instant(Some(&a.since), "since")).unwrap_or_default();
    let db = match ctx.database("replay") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    let vr = match super::open(&db) {
        Ok(v) => v,
        Err(e) => return ctx.fail(&e),
    };
    let candidate = match &a.policy {
        Some(file) => match PolicyInput::file(file, None).parse() {
            Ok(p) => Some(p),
            Err(e) => return ctx.fail(&e),
        },
        None => None,
    };
    let changes = attempt!(ctx, vr.replay(since, candidate.as_ref()));
    if ctx.console.json() {
        ctx.console
            .print_json(&serde_json::to_value(&changes).unwrap_or_default());
        return Exit::Success;
    }
    if changes.is_empty() {
        ctx.console.out(&format!(
            "✓ no recorded decision since {} would change",
            time(since)
        ));
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            vec![
                time(c.recorded_at),
                c.product_name.clone(),
                c.version.clone(),
                c.environment_name.clone(),
                format!("{} → {}", c.was.as_str(), c.now.as_str()),
                c.failed_now.join(", "),
                c.decision_id.clone(),
            ]
        })
        .collect();
    ctx.console.out(&table(
        &[
            "RECORDED_AT",
            "PRODUCT",
            "VERSION",
            "ENVIRONMENT",
            "CHANGE",
            "FAILING_NOW",
            "DECISION",
        ],
        &rows,
    ));
    ctx.console
        .out(&format!("{} decision(s) would change", changes.len()));
    Exit::Success
}
