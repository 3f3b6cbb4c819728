//! Deployment Requests: the rule that demands one, and the check every open one imposes.
//!
//! - The rule kind `deployment_request_required` blocks a deployment that no *approved*
//!   Deployment Request covers (`DEPLOYMENT_REQUEST_REQUIRED`, 428); a draft never counts.
//!   With `approval_types`, the covering DR must hold approved slots of each type; with
//!   `approval_timeout`, a slot approval older than that has lapsed.
//! - Whatever the rules, a submitted DR that covers the deployment and is not yet approved
//!   with its pre-deployment steps done blocks it (`DEPLOYMENT_REQUEST_PENDING`, 428): the
//!   outcome [`pending`] adds, named after the DR.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::Needs;
use crate::policy::facts::{CoveringRequest, Facts};
use crate::policy::rule::{Parser, format_duration};
use crate::policy::{
    BlockCode, Check, Detail, OutcomeStatus, RuleOutcome, RuleStatus, RuleType, rfc3339,
};
use crate::request::{RequestStatus, SlotStatus};

/// Deploying needs an approved Deployment Request covering the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRequiredRule {
    /// The approval types the covering DR must hold approved (empty: any approved DR).
    pub approval_types: Vec<String>,
    /// Slot approvals older than this no longer count.
    pub approval_timeout: Option<Duration>,
}

impl RequestRequiredRule {
    pub(crate) const FIELDS: &'static [&'static str] = &["approval_types", "approval_timeout"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> RequestRequiredRule {
        RequestRequiredRule {
            approval_types: p.approval_types("approval_types"),
            approval_timeout: p.duration("approval_timeout"),
        }
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        if !self.approval_types.is_empty() {
            m.insert("approval_types".into(), json!(self.approval_types));
        }
        if let Some(t) = self.approval_timeout {
            m.insert("approval_timeout".into(), json!(format_duration(t)));
        }
    }

    pub(crate) fn needs(&self, _needs: &mut Needs) {
        // The covering requests are always gathered: the pending check reads them too.
    }

    pub(crate) fn evaluate(
        &self,
        _rule_name: &str,
        facts: &Facts,
        at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        let mut seen = Vec::new();
        for r in &facts.deployment_requests {
            let lacking = self.lacking(r, at);
            if r.status == RequestStatus::Approved && lacking.is_empty() {
                return Check::pass(detail, || {
                    format!(
                        "the approved Deployment Request `{}` ({}) covers `{}` {} to `{}`",
                        r.name, r.id, facts.product, facts.version, facts.environment
                    )
                })
                .detail("request_id", || json!(r.id));
            }
            seen.push(json!({
                "id": r.id, "name": r.name, "status": r.status, "lacking": lacking,
            }));
        }
        let types = if self.approval_types.is_empty() {
            String::new()
        } else {
            format!(" with the approvals {}", self.approval_types.join(", "))
        };
        let found = if facts.deployment_requests.is_empty() {
            "no submitted Deployment Request covers it (a draft does not count)".to_string()
        } else {
            let list: Vec<String> = facts
                .deployment_requests
                .iter()
                .map(|r| {
                    let lacking = self.lacking(r, at);
                    if lacking.is_empty() {
                        format!("`{}` is {}", r.name, r.status)
                    } else {
                        format!(
                            "`{}` is {} and lacks {}",
                            r.name,
                            r.status,
                            lacking.join(", ")
                        )
                    }
                })
                .collect();
            list.join("; ")
        };
        let slots: String = self
            .approval_types
            .iter()
            .map(|t| format!(" --slot {t}"))
            .collect();
        Check::fail(detail, BlockCode::DeploymentRequestRequired, || {
            format!(
                "`{}` {} to `{}` needs an approved Deployment Request{types}; {found}. Create \
                 and submit one: `versioner requests create --name <name> --product {} \
                 --version {} --environment {}{slots}`, then `versioner requests submit <id>`",
                facts.product,
                facts.version,
                facts.environment,
                facts.product,
                facts.version,
                facts.environment,
            )
        })
        .detail("required_approval_types", || json!(self.approval_types))
        .detail("deployment_requests", || Value::Array(seen))
    }

    /// What the request lacks for this rule: approval types without an approved, unlapsed
    /// slot (and `lapsed <type>` for lapsed ones).
    fn lacking(&self, r: &CoveringRequest, at: DateTime<Utc>) -> Vec<String> {
        let lapse = self
            .approval_timeout
            .and_then(|d| chrono::Duration::from_std(d).ok());
        let fresh = |decided: Option<DateTime<Utc>>| match (lapse, decided) {
            (Some(l), Some(t)) => t.checked_add_signed(l).is_none_or(|end| end > at),
            _ => true,
        };
        let mut out = Vec::new();
        for t in &self.approval_types {
            let approved: Vec<_> = r
                .slots
                .iter()
                .filter(|s| {
                    crate::policy::canonical_approval_type(&s.approval_type) == *t
                        && s.status == SlotStatus::Approved
                })
                .collect();
            if approved.is_empty() {
                out.push(t.clone());
            } else if !approved.iter().any(|s| fresh(s.decided_at)) {
                out.push(format!("{t} (lapsed)"));
            }
        }
        if self.approval_types.is_empty()
            && lapse.is_some()
            && r.slots
                .iter()
                .any(|s| s.status == SlotStatus::Approved && !fresh(s.decided_at))
        {
            out.push("approvals (lapsed)".into());
        }
        out
    }
}

/// The outcomes of the submitted Deployment Requests covering the deployment: each passes once
/// it is approved with its pre-deployment steps done, and blocks
/// (`DEPLOYMENT_REQUEST_PENDING`) until then.
pub(crate) fn pending(facts: &Facts) -> Vec<RuleOutcome> {
    facts
        .deployment_requests
        .iter()
        .map(|r| {
            let missing = r.missing_slots();
            let mut details = Map::new();
            details.insert("request_id".into(), json!(r.id));
            details.insert("request_name".into(), json!(r.name));
            details.insert("request_status".into(), json!(r.status));
            details.insert("missing_slots".into(), json!(missing));
            details.insert("open_pre_steps".into(), json!(r.open_pre_steps));
            let rejected: Vec<String> = r
                .slots
                .iter()
                .filter(|s| !s.optional && s.status == SlotStatus::Rejected)
                .map(|s| {
                    format!(
                        "{} by {}{}",
                        s.approval_type,
                        s.decided_by.as_deref().unwrap_or("someone"),
                        s.decided_at
                            .map(|t| format!(" at {}", rfc3339(t)))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let (status, code, message) = if r.status == RequestStatus::Approved
                && r.open_pre_steps.is_empty()
            {
                (
                    OutcomeStatus::Passed,
                    None,
                    format!(
                        "the Deployment Request `{}` is approved and its pre-deployment steps are done",
                        r.name
                    ),
                )
            } else {
                let why = match r.status {
                    RequestStatus::Rejected => format!("was rejected ({})", rejected.join(", ")),
                    RequestStatus::Approved => "is approved".to_string(),
                    _ if missing.is_empty() => format!("is {}", r.status),
                    _ => format!("is waiting for the approval(s) {}", missing.join(", ")),
                };
                let steps = if r.open_pre_steps.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; pre-deployment steps not done: {}",
                        r.open_pre_steps
                            .iter()
                            .map(|s| format!("\"{s}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let next = match r.status {
                    RequestStatus::Rejected => format!(
                        "rework it (`versioner requests deactivate {}`) or cancel it",
                        r.id
                    ),
                    _ if !missing.is_empty() => format!(
                        "approve with `versioner requests approve {} --type <type>`",
                        r.id
                    ),
                    _ => format!("mark them with `versioner requests step {} \"<step>\" --done`", r.id),
                };
                (
                    OutcomeStatus::Failed,
                    Some(BlockCode::DeploymentRequestPending),
                    format!(
                        "the Deployment Request `{}` ({}) covers this deployment and {why}{steps}; {next}",
                        r.name, r.id
                    ),
                )
            };
            RuleOutcome {
                rule_name: format!("Deployment Request: {}", r.name),
                rule_type: RuleType::DeploymentRequestRequired,
                rule_status: RuleStatus::Enabled,
                status,
                code,
                message,
                details,
                retry_after: None,
            }
        })
        .collect()
}
