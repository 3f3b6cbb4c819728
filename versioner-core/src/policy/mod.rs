//! The preflight policy engine.
//!
//! [`evaluate`] is a pure function: rules, the [`Facts`] gathered from storage, and an instant
//! in, a [`Verdict`] out. It does no I/O and reads no clock, so the same inputs always give the
//! same verdict, and what-if evaluation at any instant is just a call with another `at`.
//!
//! Every rule is evaluated and listed; the verdict's primary failure is the most severe one
//! (409 concurrency, then 423 window, then 428 preconditions). `retry_after` is the first
//! instant at which time alone would clear every blocking failure (window ends, soak ends),
//! found by re-evaluating at each candidate instant; it is absent when any block needs a
//! person (an approval, a deployment elsewhere).

pub mod calendar;
mod catalog;
mod facts;
mod file;
mod kinds;
pub mod lint;
mod rule;
mod verdict;
pub mod window;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(crate) use catalog::canonical as canonical_approval_type;
pub use catalog::{ApprovalCatalog, BUILT_IN_TYPES};
pub use facts::{CoveringRequest, Facts, OpenDeployment, SkewFacts, Stint};
pub use file::{ApplyMode, DEFAULT_BYPASS_ROLES, PolicyFile, PolicyFormat};
pub(crate) use kinds::Needs;
pub use kinds::{
    ConcurrencyRule, ConcurrencyScope, FlowRule, MaxSkewRule, ReleaseApprovalRule,
    RequestRequiredRule, RuleKind, RuleType, ScheduleRule, VersionApprovalRule, WindowDef,
    WindowMode,
};
#[cfg(test)]
pub(crate) use rule::COMMON_FIELDS;
pub(crate) use rule::reason_of;
pub use rule::{
    MAX_DURATION, Rule, RuleStatus, Scope, format_duration, humanize_duration, parse_duration,
};
pub use verdict::{BlockCode, Decision, OutcomeStatus, RuleOutcome, Verdict};

/// How many times [`evaluate`] re-evaluates to find a joint `retry_after`.
const RETRY_SEARCH_STEPS: usize = 64;

/// Evaluates every rule for the deployment the facts describe, at `at`.
///
/// ```
/// use versioner_core::policy::{evaluate, Facts, FlowRule, Rule, BlockCode};
/// let rule = Rule::new("Staging first", FlowRule {
///     prerequisites: vec!["staging".into()], strict_order: false, soak: None,
/// });
/// let verdict = evaluate(&[rule], &Facts::new("api", "1.0", "production"), chrono::Utc::now());
/// assert_eq!(verdict.primary().unwrap().code, Some(BlockCode::FlowViolation));
/// ```
pub fn evaluate(rules: &[Rule], facts: &Facts, at: DateTime<Utc>) -> Verdict {
    let from_rules: Vec<RuleOutcome> = rules.iter().map(|r| evaluate_rule(r, facts, at)).collect();
    // Every submitted Deployment Request covering the deployment has its say, listed first
    // (among equally severe blocks, the request holding the deployment is what to act on);
    // one that blocks needs a person, so time alone clears nothing.
    let mut outcomes = kinds::request_required::pending(facts);
    let retry_after = if outcomes.iter().any(RuleOutcome::blocks) {
        None
    } else {
        joint_retry_after(rules, facts, &from_rules)
    };
    outcomes.extend(from_rules);
    Verdict::new(
        (&facts.product, &facts.version, &facts.environment),
        at,
        outcomes,
        retry_after,
    )
}

/// The latest retry instant of the blocking rules: `Ok(None)` when nothing blocks, `Err(())`
/// when one of them does not clear with time.
fn latest_retry(
    blocking: impl Iterator<Item = Option<DateTime<Utc>>>,
) -> std::result::Result<Option<DateTime<Utc>>, ()> {
    let mut latest: Option<DateTime<Utc>> = None;
    for retry in blocking {
        let t = retry.ok_or(())?;
        latest = Some(latest.map_or(t, |l| l.max(t)));
    }
    Ok(latest)
}

/// The first instant at which no blocking failure remains, if time alone gets there.
///
/// Starts from the outcomes already evaluated (nothing blocks, or a block needs a person: no
/// search at all), then re-evaluates at each candidate instant producing decisions only
/// ([`Detail::Decision`]: no message formatted, no outcome copied).
fn joint_retry_after(
    rules: &[Rule],
    facts: &Facts,
    outcomes: &[RuleOutcome],
) -> Option<DateTime<Utc>> {
    let blocking = outcomes
        .iter()
        .filter(|o| o.blocks())
        .map(|o| o.retry_after);
    // Every blocking failure must clear with time; the earliest candidate is the latest of
    // their individual retry instants.
    let mut candidate = latest_retry(blocking).ok()??;
    for _ in 0..RETRY_SEARCH_STEPS {
        let blocking = rules.iter().filter_map(|r| decide(r, facts, candidate));
        match latest_retry(blocking) {
            Ok(None) => return Some(candidate),
            Ok(Some(next)) if next > candidate => candidate = next,
            _ => return None,
        }
    }
    None
}

/// Whether the rule blocks at `at` (`Some`, with the instant at which time alone clears it,
/// if it does); no message is formatted.
fn decide(rule: &Rule, facts: &Facts, at: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
    if rule.status != RuleStatus::Enabled
        || !rule
            .scope
            .matches(&facts.product, &facts.environment, facts.environment_type)
    {
        return None;
    }
    let check = rule.kind.evaluate(&rule.name, facts, at, Detail::Decision);
    check.code.map(|_| check.retry_after)
}

fn evaluate_rule(rule: &Rule, facts: &Facts, at: DateTime<Utc>) -> RuleOutcome {
    let not_applicable = |message: String| RuleOutcome {
        rule_name: rule.name.clone(),
        rule_type: rule.rule_type(),
        rule_status: rule.status,
        status: OutcomeStatus::NotApplicable,
        code: None,
        message,
        details: Map::new(),
        retry_after: None,
    };
    if rule.status == RuleStatus::Disabled {
        return not_applicable("the rule is disabled".into());
    }
    if !rule
        .scope
        .matches(&facts.product, &facts.environment, facts.environment_type)
    {
        return not_applicable(format!(
            "the rule does not apply to `{}` in `{}`",
            facts.product, facts.environment
        ));
    }
    let check = rule.kind.evaluate(&rule.name, facts, at, Detail::Full);
    let mut details = check.details;
    details.insert("rule_name".into(), Value::String(rule.name.clone()));
    let status = match (check.code, rule.status) {
        (None, _) => OutcomeStatus::Passed,
        (Some(_), RuleStatus::ReportOnly) => OutcomeStatus::FailedReportOnly,
        (Some(_), _) => OutcomeStatus::Failed,
    };
    RuleOutcome {
        rule_name: rule.name.clone(),
        rule_type: rule.rule_type(),
        rule_status: rule.status,
        status,
        code: check.code,
        message: check.message,
        details,
        retry_after: check.retry_after,
    }
}

/// How much of a rule's outcome an evaluation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Messages and details: the outcomes a verdict lists.
    Full,
    /// The decision only (blocks or not, and when time alone clears it): the retry search's
    /// re-evaluations, whose messages nobody reads, so none is formatted.
    Decision,
}

/// One rule's raw result, before its status (enabled / report-only) is applied.
///
/// Its message and details are given as closures, called only when the evaluation produces
/// them ([`Detail::Full`]).
pub(crate) struct Check {
    full: bool,
    code: Option<BlockCode>,
    message: String,
    details: Map<String, Value>,
    retry_after: Option<DateTime<Utc>>,
}

impl Check {
    pub(crate) fn pass(detail: Detail, message: impl FnOnce() -> String) -> Check {
        Check::new(detail, None, message)
    }

    pub(crate) fn fail(detail: Detail, code: BlockCode, message: impl FnOnce() -> String) -> Check {
        Check::new(detail, Some(code), message)
    }

    fn new(detail: Detail, code: Option<BlockCode>, message: impl FnOnce() -> String) -> Check {
        let full = detail == Detail::Full;
        Check {
            full,
            code,
            message: if full { message() } else { String::new() },
            details: Map::new(),
            retry_after: None,
        }
    }

    pub(crate) fn detail(mut self, key: &str, value: impl FnOnce() -> Value) -> Check {
        if self.full {
            self.details.insert(key.to_string(), value());
        }
        self
    }
}

/// RFC 3339 with seconds and `Z`, the form every surface prints.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How the preflight treated a recorded deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PreflightStatus {
    /// Every enabled rule held (report-only rules may have warned).
    Passed,
    /// The preflight was bypassed in an emergency, with a reason.
    Skipped,
}

impl PreflightStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PreflightStatus::Passed => "passed",
            PreflightStatus::Skipped => "skipped",
        }
    }
}

impl std::str::FromStr for PreflightStatus {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<PreflightStatus, crate::Error> {
        match s.trim() {
            "passed" => Ok(PreflightStatus::Passed),
            "skipped" => Ok(PreflightStatus::Skipped),
            other => Err(crate::Error::invalid(
                "preflight",
                format!("unknown preflight status `{other}`; expected passed or skipped"),
            )),
        }
    }
}

/// What the preflight decided for a recorded deployment, kept with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Preflight {
    /// Passed or skipped.
    pub status: PreflightStatus,
    /// The verdict (for a bypass: what the rules would have said).
    pub verdict: Verdict,
    /// The reason given for a bypass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_reason: Option<String>,
}

impl Preflight {
    /// The report-only failures (warnings) the deployment went ahead with.
    pub fn warnings(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.verdict.warnings()
    }
}
