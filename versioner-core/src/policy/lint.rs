//! Policy lint: problems a policy can have although every rule in it is valid on its own.
//!
//! Errors (a policy with one is refused by [`Versioner::apply_policy`](crate::Versioner)):
//! - `window_never_matches`: a recurring window with no occurrence in the next
//!   [`LINT_DAYS`] days (an RRULE whose COUNT or UNTIL has run out, a window always inside a
//!   DST gap);
//! - `deny_covers_allow`: every occurrence of an allow window in the next [`LINT_DAYS`] days
//!   lies inside deny windows of a rule whose scope overlaps, so deployments can never go
//!   through it;
//! - `duplicate_window`: two identical windows in one rule;
//! - `flow_cycle`: flow rules whose prerequisites form a cycle (`production` needs
//!   `staging`, which needs `production`), so nothing can ever be deployed there;
//! - `approval_unsatisfiable`: an approval rule no principal (API key) can satisfy: a version
//!   approval type no key's role may grant, or more release approvers required than there
//!   are principals whose role counts.
//!
//! Warnings:
//! - `window_ended`: a one-time window or holiday list wholly in the past;
//! - `overlapping_windows`: two windows of one rule overlap in the next [`LINT_DAYS`] days;
//! - `unknown_environment`: a flow prerequisite no rule scope names and nothing recorded;
//! - `scope_matches_nothing`: a product or environment in a rule's scope never recorded.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::CalendarScope;
use super::catalog::ApprovalCatalog;
use super::file::PolicyFile;
use super::kinds::{RuleKind, ScheduleRule, WindowMode};
use super::rule::{Rule, Scope};
use super::window::{Calendar, Recurrence};
use crate::access::Role;
use crate::error::PolicyProblem;
use crate::names;

/// How many days ahead windows are expanded to look for problems.
pub const LINT_DAYS: i64 = 400;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy cannot do what it says; `rules apply` refuses it.
    Error,
    /// Probably a mistake; the policy still applies.
    Warning,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable name for the check (`window_never_matches`, `flow_cycle`, ...).
    pub check: String,
    /// The rule at fault.
    pub rule: String,
    /// The field at fault (`windows[1]`, `prerequisites`, ...).
    pub field: String,
    /// What is wrong, in a sentence a person can act on.
    pub message: String,
}

/// Every finding, errors first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LintReport {
    /// The findings, errors first, then in rule order.
    pub findings: Vec<Finding>,
}

impl LintReport {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// Whether there is no error (warnings allowed).
    #[must_use]
    pub fn passed(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The errors as the problems of an [`Error::InvalidPolicy`](crate::Error::InvalidPolicy).
    #[must_use]
    pub fn error_problems(&self) -> Vec<PolicyProblem> {
        self.errors()
            .map(|f| PolicyProblem {
                rule: f.rule.clone(),
                field: f.field.clone(),
                reason: format!("{} ({})", f.message, f.check),
            })
            .collect()
    }
}

/// What lint knows beyond the policy: what has been recorded, and who may approve what.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LintContext {
    /// The products recorded so far.
    pub products: Vec<String>,
    /// The environments recorded so far.
    pub environments: Vec<String>,
    /// The approval catalog in force (the file's own when it has one).
    pub catalog: ApprovalCatalog,
    /// The principals that may act and their roles (the active API keys'); empty when
    /// unknown, which skips the approval checks.
    pub principals: Vec<(String, Role)>,
}

/// Approval rules no principal can satisfy: checked only when principals are known (the
/// server's API keys); an approval type no key's role may grant, or a release approval needing
/// more distinct approvers than there are principals whose role counts.
fn approvals(rule: &Rule, ctx: &LintContext, out: &mut Vec<Finding>) {
    if ctx.principals.is_empty() {
        return;
    }
    let holders = |approval_type: &str, roles: &[String]| -> Vec<&str> {
        let mut who: Vec<&str> = ctx
            .principals
            .iter()
            .filter(|(_, role)| ctx.catalog.may_grant(*role, approval_type))
            .filter(|(_, role)| {
                roles.is_empty() || roles.iter().any(|r| names::same(r, role.as_str()))
            })
            .map(|(p, _)| p.as_str())
            .collect();
        who.sort_unstable();
        who.dedup();
        who
    };
    match &rule.kind {
        RuleKind::VersionApproval(v) => {
            for t in &v.approval_types {
                if holders(t, &[]).is_empty() {
                    out.push(finding(
                        Severity::Error,
                        "approval_unsatisfiable",
                        rule,
                        "approval_types",
                        format!(
                            "no principal has a role that may grant `{t}` approvals (roles that may: {}), so this rule can never pass",
                            ctx.catalog.grantors(t).iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        RuleKind::ReleaseApproval(r) => {
            let who = holders("release", &r.approver_roles);
            if (who.len() as u64) < u64::from(r.required.get()) {
                out.push(finding(
                    Severity::Error,
                    "approval_unsatisfiable",
                    rule,
                    "required",
                    format!(
                        "{} distinct approvers are required but only {} principal(s) may grant a release approval that counts ({}), so this rule can never pass",
                        r.required,
                        who.len(),
                        if who.is_empty() { "none".to_string() } else { who.join(", ") }
                    ),
                ));
            }
        }
        _ => {}
    }
}

/// Lints a validated policy as of `now`.
#[must_use]
pub fn lint(policy: &PolicyFile, ctx: &LintContext, now: DateTime<Utc>) -> LintReport {
    let mut findings = Vec::new();
    let to = now + TimeDelta::days(LINT_DAYS);
    for rule in &policy.rules {
        if let RuleKind::Schedule(s) = &rule.kind {
            windows(rule, s, now, to, &mut findings);
        }
        approvals(rule, ctx, &mut findings);
        scope_recorded(rule, ctx, &mut findings);
    }
    deny_covers_allow(&policy.rules, now, to, &mut findings);
    flows(&policy.rules, ctx, &mut findings);
    findings.sort_by_key(|f| f.severity == Severity::Warning);
    LintReport { findings }
}

fn finding(severity: Severity, check: &str, rule: &Rule, field: &str, message: String) -> Finding {
    Finding {
        severity,
        check: check.into(),
        rule: rule.name.clone(),
        field: field.into(),
        message,
    }
}

fn window_label(s: &ScheduleRule, i: usize) -> String {
    match s.windows.get(i).and_then(|w| w.name.as_deref()) {
        Some(n) => format!("window {} (`{n}`)", i + 1),
        None => format!("window {}", i + 1),
    }
}

fn windows(
    rule: &Rule,
    s: &ScheduleRule,
    now: DateTime<Utc>,
    to: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let mut per_window: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>> = Vec::new();
    for (i, w) in s.windows.iter().enumerate() {
        let alone = Calendar::new(s.timezone, vec![w.recurrence.clone()]);
        let occs: Vec<_> = alone
            .occurrences_between(now, to)
            .into_iter()
            .map(|o| (o.start, o.end))
            .collect();
        let field = format!("windows[{i}]");
        if occs.is_empty() {
            let one_off = matches!(
                w.recurrence,
                Recurrence::Once { .. } | Recurrence::Dates { .. }
            );
            if one_off {
                out.push(finding(
                    Severity::Warning,
                    "window_ended",
                    rule,
                    &field,
                    format!("{} is wholly in the past; remove it", window_label(s, i)),
                ));
            } else {
                out.push(finding(
                    Severity::Error,
                    "window_never_matches",
                    rule,
                    &field,
                    format!(
                        "{} never matches: it has no occurrence in the next {LINT_DAYS} days",
                        window_label(s, i)
                    ),
                ));
            }
        }
        for (j, earlier) in s.windows.iter().enumerate().take(i) {
            if earlier.recurrence == w.recurrence {
                out.push(finding(
                    Severity::Error,
                    "duplicate_window",
                    rule,
                    &field,
                    format!(
                        "{} repeats {}; remove one",
                        window_label(s, i),
                        window_label(s, j)
                    ),
                ));
            } else if let Some(prev) = per_window.get(j)
                && overlaps(prev, &occs)
            {
                out.push(finding(
                    Severity::Warning,
                    "overlapping_windows",
                    rule,
                    &field,
                    format!(
                        "{} overlaps {}; one window covering both would be clearer",
                        window_label(s, i),
                        window_label(s, j)
                    ),
                ));
            }
        }
        per_window.push(occs);
    }
}

/// Whether two sorted lists of half-open spans overlap anywhere.
fn overlaps(a: &[(DateTime<Utc>, DateTime<Utc>)], b: &[(DateTime<Utc>, DateTime<Utc>)]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].0 < b[j].1 && b[j].0 < a[i].1 {
            return true;
        }
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}

/// Whether two scopes can match one deployment.
fn scopes_meet(a: &Scope, b: &Scope) -> bool {
    let names_meet = |x: &[String], y: &[String]| {
        x.is_empty() || y.is_empty() || x.iter().any(|n| y.iter().any(|m| names::same(n, m)))
    };
    names_meet(&a.products, &b.products)
        && names_meet(&a.environments, &b.environments)
        && (a.environment_types.is_empty()
            || b.environment_types.is_empty()
            || a.environment_types
                .iter()
                .any(|t| b.environment_types.contains(t)))
}

fn deny_covers_allow(
    rules: &[Rule],
    now: DateTime<Utc>,
    to: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let enabled = |r: &&Rule| r.status != super::RuleStatus::Disabled;
    for allow in rules.iter().filter(enabled) {
        let RuleKind::Schedule(a) = &allow.kind else {
            continue;
        };
        if a.mode != WindowMode::Allow {
            continue;
        }
        for deny in rules.iter().filter(enabled) {
            let RuleKind::Schedule(d) = &deny.kind else {
                continue;
            };
            if d.mode != WindowMode::Deny || !scopes_meet(&allow.scope, &deny.scope) {
                continue;
            }
            let closed = super::calendar::expand(
                std::slice::from_ref(deny),
                &CalendarScope::default(),
                now,
                to,
            )
            .closed;
            for (i, w) in a.windows.iter().enumerate() {
                let occs = Calendar::new(a.timezone, vec![w.recurrence.clone()])
                    .occurrences_between(now, to);
                if occs.is_empty() {
                    continue;
                }
                let covered = occs.iter().all(|o| {
                    let (s, e) = (o.start.max(now), o.end.min(to));
                    closed.iter().any(|c| c.start <= s && e <= c.end)
                });
                if covered {
                    out.push(finding(
                        Severity::Error,
                        "deny_covers_allow",
                        allow,
                        &format!("windows[{i}]"),
                        format!(
                            "the no-deploy windows of `{}` cover every occurrence of {} in the next {LINT_DAYS} days, so deployments can never go through it",
                            deny.name,
                            window_label(a, i)
                        ),
                    ));
                }
            }
        }
    }
}

fn flows(rules: &[Rule], ctx: &LintContext, out: &mut Vec<Finding>) {
    // Every environment named anywhere: rule scopes and recorded ones.
    let mut known: Vec<String> = ctx.environments.clone();
    for r in rules {
        known.extend(r.scope.environments.iter().cloned());
    }
    let is_known = |e: &str| known.iter().any(|k| names::same(k, e));
    // Edges: an environment a flow rule is scoped to -> each prerequisite.
    let mut edges: Vec<(String, String, &Rule)> = Vec::new();
    for r in rules {
        let RuleKind::Flow(f) = &r.kind else {
            continue;
        };
        for p in &f.prerequisites {
            if !is_known(p) {
                out.push(finding(
                    Severity::Warning,
                    "unknown_environment",
                    r,
                    "prerequisites",
                    format!("no rule scope names `{p}` and nothing has been recorded there; check the spelling"),
                ));
            }
            for e in &r.scope.environments {
                edges.push((e.to_lowercase(), p.to_lowercase(), r));
            }
        }
    }
    // A cycle: some environment reaches itself.
    let mut reported: Vec<String> = Vec::new();
    for (start, _, rule) in &edges {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen: Vec<String> = Vec::new();
        while let Some((node, path)) = stack.pop() {
            for (from, to, _) in &edges {
                if from != &node {
                    continue;
                }
                if to == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    let mut key = path.clone();
                    key.sort();
                    let key = key.join(",");
                    if !reported.contains(&key) {
                        reported.push(key);
                        out.push(finding(
                            Severity::Error,
                            "flow_cycle",
                            rule,
                            "prerequisites",
                            format!(
                                "prerequisites form a cycle ({}), so no version can ever be deployed to them",
                                cycle.join(" needs ")
                            ),
                        ));
                    }
                } else if !seen.contains(to) {
                    seen.push(to.clone());
                    let mut next = path.clone();
                    next.push(to.clone());
                    stack.push((to.clone(), next));
                }
            }
        }
    }
}

fn scope_recorded(rule: &Rule, ctx: &LintContext, out: &mut Vec<Finding>) {
    for (names_in_scope, recorded, what) in [
        (&rule.scope.products, &ctx.products, "product"),
        (&rule.scope.environments, &ctx.environments, "environment"),
    ] {
        for n in names_in_scope {
            if !recorded.iter().any(|r| names::same(r, n)) {
                out.push(finding(
                    Severity::Warning,
                    "scope_matches_nothing",
                    rule,
                    if what == "product" { "products" } else { "environments" },
                    format!("no {what} `{n}` has been recorded yet, so the rule has not applied to anything"),
                ));
            }
        }
    }
}
