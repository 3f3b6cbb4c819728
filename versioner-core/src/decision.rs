//! A record of every decision: each preflight — allowed, allowed with report-only failures,
//! blocked, bypassed — is kept with the request, who asked, the verdict with every rule's
//! outcome, the facts it was decided on, a hash of the policy in force, and both clocks.
//!
//! [`Versioner::violations`](crate::Versioner::violations) lists the decisions where a rule
//! failed (`GET /deployment-rules/violations`, `versioner violations`);
//! [`Versioner::replay`](crate::Versioner::replay) re-evaluates recorded decisions with the
//! policy then in force or a candidate one, against the facts each was decided on, and lists
//! every decision that would change — a regression test before changing a rule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::policy::{Facts, Rule, Verdict};
use crate::status::Status;

/// How a preflight ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Every rule held.
    Allowed,
    /// Allowed, with report-only failures.
    Reported,
    /// Refused: nothing was recorded but this decision.
    Blocked,
    /// Let through by an emergency bypass (what the rules said is in the verdict).
    Bypassed,
}

impl DecisionOutcome {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionOutcome::Allowed => "allowed",
            DecisionOutcome::Reported => "reported",
            DecisionOutcome::Blocked => "blocked",
            DecisionOutcome::Bypassed => "bypassed",
        }
    }

    /// The outcome of a verdict, bypassed or not.
    pub fn of(verdict: &Verdict, bypassed: bool) -> DecisionOutcome {
        match (bypassed, verdict.is_allowed()) {
            (true, _) => DecisionOutcome::Bypassed,
            (false, false) => DecisionOutcome::Blocked,
            (false, true) if verdict.warnings().next().is_some() => DecisionOutcome::Reported,
            (false, true) => DecisionOutcome::Allowed,
        }
    }
}

impl std::str::FromStr for DecisionOutcome {
    type Err = Error;
    fn from_str(s: &str) -> Result<DecisionOutcome> {
        [
            DecisionOutcome::Allowed,
            DecisionOutcome::Reported,
            DecisionOutcome::Blocked,
            DecisionOutcome::Bypassed,
        ]
        .into_iter()
        .find(|o| o.as_str() == s.trim())
        .ok_or_else(|| {
            Error::invalid(
                "outcome",
                format!("unknown outcome `{s}`; expected allowed, reported, blocked or bypassed"),
            )
        })
    }
}

/// One recorded preflight decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DecisionRecord {
    /// Its public id.
    pub id: String,
    /// When it was recorded (the server's clock).
    #[serde(with = "crate::wire::instant")]
    pub recorded_at: DateTime<Utc>,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// The status of the event decided on (`started`, or a `completed` that closed no
    /// preflighted deployment).
    pub status: Status,
    /// How it ended.
    pub outcome: DecisionOutcome,
    /// Who asked (the deployer, or the authenticated principal).
    pub actor: Option<String>,
    /// The deployment recorded (none when blocked).
    pub deployment_id: Option<String>,
    /// SHA-256 of the policy in force (its rules in evaluation order, canonical JSON).
    pub policy_hash: String,
    /// The event as it was sent.
    pub request: Value,
    /// The verdict, every rule's outcome included.
    pub verdict: Verdict,
    /// What the rules were evaluated on.
    pub facts: Facts,
}

impl DecisionRecord {
    /// The rules that failed (blocking or report-only).
    pub fn failed_rules(&self) -> impl Iterator<Item = &str> {
        self.verdict
            .outcomes()
            .iter()
            .filter(|o| o.failed())
            .map(|o| o.rule_name.as_str())
    }
}

/// Which decisions [`Versioner::violations`](crate::Versioner::violations) lists: those where
/// a rule failed, narrowed by every filter given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ViolationQuery {
    /// A rule that failed.
    pub rule: Option<String>,
    /// The product.
    pub product: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// Recorded at or after.
    #[serde(with = "crate::wire::instant::option")]
    pub since: Option<DateTime<Utc>>,
    /// Recorded before.
    #[serde(with = "crate::wire::instant::option")]
    pub until: Option<DateTime<Utc>>,
    /// `blocked` (refused), `reported` (report-only failures) or `bypassed`.
    pub outcome: Option<DecisionOutcome>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A recorded decision that a policy would now decide otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayChange {
    /// The decision.
    pub decision_id: String,
    /// When it was recorded.
    #[serde(with = "crate::wire::instant")]
    pub recorded_at: DateTime<Utc>,
    /// What it was about.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// How it was decided.
    pub was: DecisionOutcome,
    /// How the policy decides it now.
    pub now: DecisionOutcome,
    /// The rules failing then.
    pub failed_then: Vec<String>,
    /// The rules failing now.
    pub failed_now: Vec<String>,
}

/// SHA-256 of a policy: its rules in evaluation order, in canonical JSON (keys sorted).
pub(crate) fn policy_hash(rules: &[Rule]) -> String {
    let doc = Value::Array(rules.iter().map(Rule::to_json).collect());
    // Keys sorted whatever map type serde_json was built with, as the audit chain hashes.
    crate::access::sha256_hex(crate::outbox::canonical(&doc).to_string().as_bytes())
}
