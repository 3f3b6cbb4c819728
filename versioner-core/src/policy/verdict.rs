//! Verdicts: what the preflight decided, rule by rule.
//!
//! A verdict is a value, not an error: [`evaluate`](super::evaluate) always returns one. Only
//! the recording call turns a blocking verdict into [`Error::Blocked`](crate::Error::Blocked).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::kinds::RuleType;
use super::rule::RuleStatus;
use crate::error::ErrorCode;

/// Why a rule blocks; each maps to one [`ErrorCode`] and one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockCode {
    /// Too many deployments in progress (HTTP 409).
    ConcurrentDeployment,
    /// A no-deploy window is active, or no allow window is open (HTTP 423).
    NoDeployWindow,
    /// The version has not been deployed to the prerequisite environments (HTTP 428).
    FlowViolation,
    /// The version has not soaked long enough in a prerequisite environment (HTTP 428).
    InsufficientSoakTime,
    /// Not enough release approvals (HTTP 428).
    ApprovalRequired,
    /// A required quality approval is missing (HTTP 428).
    QualityApprovalRequired,
    /// A submitted Deployment Request covers the deployment and is not yet approved with its
    /// pre-deployment steps done (HTTP 428).
    DeploymentRequestPending,
    /// No approved Deployment Request covers the deployment (HTTP 428).
    DeploymentRequestRequired,
}

impl BlockCode {
    /// The matching error code.
    pub fn error_code(self) -> ErrorCode {
        match self {
            BlockCode::ConcurrentDeployment => ErrorCode::ConcurrentDeployment,
            BlockCode::NoDeployWindow => ErrorCode::NoDeployWindow,
            BlockCode::FlowViolation => ErrorCode::FlowViolation,
            BlockCode::InsufficientSoakTime => ErrorCode::InsufficientSoakTime,
            BlockCode::ApprovalRequired => ErrorCode::ApprovalRequired,
            BlockCode::QualityApprovalRequired => ErrorCode::QualityApprovalRequired,
            BlockCode::DeploymentRequestPending => ErrorCode::DeploymentRequestPending,
            BlockCode::DeploymentRequestRequired => ErrorCode::DeploymentRequestRequired,
        }
    }

    /// The stable string, e.g. `"FLOW_VIOLATION"`.
    pub fn as_str(self) -> &'static str {
        self.error_code().as_str()
    }

    /// The HTTP status: 409, 423 or 428.
    pub fn http_status(self) -> u16 {
        self.error_code().http_status()
    }

    /// Higher is more severe: 409 over 423 over 428.
    fn severity(self) -> u8 {
        match self.http_status() {
            409 => 3,
            423 => 2,
            _ => 1,
        }
    }
}

/// The result of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The rule holds.
    Passed,
    /// The rule fails and blocks.
    Failed,
    /// The rule fails but is report-only: a warning, not a block.
    FailedReportOnly,
    /// The rule is out of scope for this deployment, or disabled.
    NotApplicable,
}

impl OutcomeStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Passed => "passed",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::FailedReportOnly => "failed_report_only",
            OutcomeStatus::NotApplicable => "not_applicable",
        }
    }
}

/// What one rule said about one deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RuleOutcome {
    /// The rule's name.
    pub rule_name: String,
    /// The rule's kind.
    pub rule_type: RuleType,
    /// The rule's status when evaluated.
    pub rule_status: RuleStatus,
    /// The result.
    pub status: OutcomeStatus,
    /// Why it fails, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<BlockCode>,
    /// What happened and what to do next.
    pub message: String,
    /// Structured facts: conflicting deployment, window, counts, remaining soak, ... A
    /// schedule rule's outcome always carries `next_open` (the first instant at or after the
    /// evaluated one at which the rule lets deployments through) and `next_close` (the first
    /// instant after that at which it blocks again), RFC 3339 in the rule's zone, or `null`
    /// when that does not happen within 400 days.
    #[serde(default)]
    pub details: Map<String, Value>,
    /// When time alone makes this rule pass, if it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "crate::wire::instant::option")]
    pub retry_after: Option<DateTime<Utc>>,
}

impl RuleOutcome {
    /// Whether this outcome blocks the deployment.
    pub fn blocks(&self) -> bool {
        self.status == OutcomeStatus::Failed
    }

    /// Whether the rule failed (blocking or report-only).
    pub fn failed(&self) -> bool {
        matches!(
            self.status,
            OutcomeStatus::Failed | OutcomeStatus::FailedReportOnly
        )
    }
}

/// Allowed or blocked.
///
/// Versioner's default is *allow*: a deployment no rule applies to is allowed. Rules therefore
/// fail closed: a rule that cannot be evaluated (an unknown environment in a flow, a version
/// never recorded) fails rather than being skipped, because a skip would be a silent allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every enabled rule holds (report-only rules may have warned).
    Allowed,
    /// At least one enabled rule fails.
    Blocked,
}

/// The preflight's answer for one would-be deployment.
///
/// # Examples
/// ```
/// use versioner_core::policy::{ApplyMode, BlockCode, PolicyFormat};
/// use versioner_core::{CheckRequest, Decision, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// vr.apply_policy_text(r#"
///     [[rules]]
///     name = "Friday freeze"
///     type = "schedule"
///     mode = "deny"
///     timezone = "America/Los_Angeles"
///     windows = [{ recurrence = "weekly", days = ["fri"], start = "12:00", end = "18:00" }]
/// "#, PolicyFormat::Toml, ApplyMode::Replace, "ci")?;
/// let mut friday = CheckRequest::new("api", "1.2.0", "production");
/// friday.at = Some("2026-12-04T21:00:00Z".into());       // 13:00 in Los Angeles
/// let verdict = vr.check(&friday)?;
/// assert_eq!(verdict.decision(), Decision::Blocked);
/// assert_eq!(verdict.code(), Some(BlockCode::NoDeployWindow));
/// assert_eq!(verdict.http_status(), Some(423));
/// assert_eq!(verdict.retry_after().unwrap().to_rfc3339(), "2026-12-05T02:00:00+00:00");
/// println!("{}", verdict.summary());
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Verdict {
    product_name: String,
    version: String,
    environment_name: String,
    decision: Decision,
    #[serde(with = "crate::wire::instant")]
    evaluated_at: DateTime<Utc>,
    #[serde(default)]
    #[serde(with = "crate::wire::instant::option")]
    retry_after: Option<DateTime<Utc>>,
    /// Derived from the outcomes; serialized for readers of the JSON, ignored when read back.
    #[serde(default, skip_deserializing)]
    code: Option<BlockCode>,
    #[serde(default, skip_deserializing)]
    http_status: Option<u16>,
    // `message` (the summary) is written by `Serialize` and formatted only then: a verdict
    // nobody serializes never formats it. When read back it is ignored, like the others.
    #[serde(default, skip_deserializing)]
    primary_rule: Option<String>,
    outcomes: Vec<RuleOutcome>,
}

impl Verdict {
    pub(crate) fn new(
        target: (&str, &str, &str),
        evaluated_at: DateTime<Utc>,
        outcomes: Vec<RuleOutcome>,
        retry_after: Option<DateTime<Utc>>,
    ) -> Verdict {
        let decision = if outcomes.iter().any(RuleOutcome::blocks) {
            Decision::Blocked
        } else {
            Decision::Allowed
        };
        let mut v = Verdict {
            product_name: target.0.to_string(),
            version: target.1.to_string(),
            environment_name: target.2.to_string(),
            decision,
            evaluated_at,
            retry_after: if decision == Decision::Blocked {
                retry_after
            } else {
                None
            },
            code: None,
            http_status: None,
            primary_rule: None,
            outcomes,
        };
        v.refresh_derived();
        v
    }

    /// Recomputes the derived fields (after deserializing).
    pub(crate) fn refresh_derived(&mut self) {
        self.code = self.primary().and_then(|o| o.code);
        self.primary_rule = self.primary().map(|o| o.rule_name.clone());
        self.http_status = self.code.map(BlockCode::http_status);
    }

    /// Allowed or blocked.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// Whether the deployment may go ahead.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allowed
    }

    /// Every rule's outcome, in rule order.
    pub fn outcomes(&self) -> &[RuleOutcome] {
        &self.outcomes
    }

    /// The blocking failures.
    pub fn failures(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.outcomes.iter().filter(|o| o.blocks())
    }

    /// The report-only failures (warnings).
    pub fn warnings(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::FailedReportOnly)
    }

    /// The most severe blocking failure (409 over 423 over 428; the first rule among equals).
    pub fn primary(&self) -> Option<&RuleOutcome> {
        let mut best: Option<&RuleOutcome> = None;
        for o in self.failures() {
            let sev = o.code.map_or(0, BlockCode::severity);
            if best.is_none_or(|b| sev > b.code.map_or(0, BlockCode::severity)) {
                best = Some(o);
            }
        }
        best
    }

    /// The primary failure's code.
    pub fn code(&self) -> Option<BlockCode> {
        self.code
    }

    /// The HTTP status of the primary failure (409, 423 or 428).
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The first instant at which time alone would clear every block, if it can.
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        self.retry_after
    }

    /// When the verdict was evaluated.
    pub fn evaluated_at(&self) -> DateTime<Utc> {
        self.evaluated_at
    }

    /// The product.
    pub fn product_name(&self) -> &str {
        &self.product_name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The target environment.
    pub fn environment_name(&self) -> &str {
        &self.environment_name
    }

    /// One line a person can act on.
    pub fn summary(&self) -> String {
        let target = format!(
            "`{}` {} to `{}`",
            self.product_name, self.version, self.environment_name
        );
        let failures: Vec<&RuleOutcome> = self.failures().collect();
        if failures.is_empty() {
            let warnings = self.warnings().count();
            return if warnings == 0 {
                format!("deployment of {target} is allowed")
            } else {
                format!("deployment of {target} is allowed with {warnings} report-only warning(s)")
            };
        }
        let mut s = format!(
            "deployment of {target} is blocked by {} rule{}: ",
            failures.len(),
            if failures.len() == 1 { "" } else { "s" }
        );
        let parts: Vec<String> = failures
            .iter()
            .map(|o| {
                format!(
                    "[{}] {}: {}",
                    o.code.map_or("BLOCKED", BlockCode::as_str),
                    o.rule_name,
                    o.message
                )
            })
            .collect();
        s.push_str(&parts.join("; "));
        match self.retry_after {
            Some(t) => s.push_str(&format!(
                "; time alone clears every block: retry after {}",
                super::rfc3339(t)
            )),
            None => s.push_str("; a person must act before it can go ahead"),
        }
        s
    }
}

/// The verdict as its JSON: the stored fields, with `message` (the [`Verdict::summary`])
/// formatted here, when it is read, rather than with every verdict.
impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::wire::instant::format;
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Verdict", 11)?;
        st.serialize_field("product_name", &self.product_name)?;
        st.serialize_field("version", &self.version)?;
        st.serialize_field("environment_name", &self.environment_name)?;
        st.serialize_field("decision", &self.decision)?;
        st.serialize_field("evaluated_at", &format(&self.evaluated_at))?;
        st.serialize_field("retry_after", &self.retry_after.as_ref().map(format))?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("http_status", &self.http_status)?;
        st.serialize_field("message", &self.summary())?;
        st.serialize_field("primary_rule", &self.primary_rule)?;
        st.serialize_field("outcomes", &self.outcomes)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, status: OutcomeStatus, code: Option<BlockCode>) -> RuleOutcome {
        RuleOutcome {
            rule_name: name.into(),
            rule_type: RuleType::Flow,
            rule_status: RuleStatus::Enabled,
            status,
            code,
            message: "m".into(),
            details: Map::new(),
            retry_after: None,
        }
    }

    #[test]
    fn primary_is_the_most_severe_failure() {
        let v = Verdict::new(
            ("api", "1", "prod"),
            Utc::now(),
            vec![
                outcome("a", OutcomeStatus::Failed, Some(BlockCode::FlowViolation)),
                outcome("b", OutcomeStatus::Failed, Some(BlockCode::NoDeployWindow)),
                outcome(
                    "c",
                    OutcomeStatus::FailedReportOnly,
                    Some(BlockCode::ConcurrentDeployment),
                ),
                outcome(
                    "d",
                    OutcomeStatus::Failed,
                    Some(BlockCode::ApprovalRequired),
                ),
            ],
            None,
        );
        assert_eq!(v.decision(), Decision::Blocked);
        assert_eq!(v.primary().unwrap().rule_name, "b");
        assert_eq!(v.http_status(), Some(423));
        assert_eq!(v.failures().count(), 3);
        assert_eq!(v.warnings().count(), 1);
        assert!(
            v.summary()
                .starts_with("deployment of `api` 1 to `prod` is blocked by 3 rules")
        );
    }

    #[test]
    fn verdict_round_trips_through_json() {
        let v = Verdict::new(
            ("api", "1", "prod"),
            chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
            vec![outcome(
                "a",
                OutcomeStatus::Failed,
                Some(BlockCode::FlowViolation),
            )],
            None,
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["code"], "FLOW_VIOLATION");
        assert_eq!(json["http_status"], 428);
        let mut back: Verdict = serde_json::from_value(json).unwrap();
        back.refresh_derived();
        assert_eq!(back, v);
    }
}
