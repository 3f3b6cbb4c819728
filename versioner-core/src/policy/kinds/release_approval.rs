//! Release approval: N distinct approvers for a deployment to the environment.

use serde_json::{Map, Value};

use super::Needs;
use crate::policy::rule::{Parser, format_duration};
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::access::principal_key;
use crate::approval::RELEASE;
use crate::policy::BlockCode;
use crate::policy::Detail;
use crate::policy::facts::Facts;
use crate::policy::{Check, rfc3339};

/// Deploying needs `required` distinct release approvers.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseApprovalRule {
    /// How many distinct approvers.
    pub required: NonZeroU32,
    /// Only approvers with one of these roles count (empty: any role).
    pub approver_roles: Vec<String>,
    /// Approvals older than this no longer count.
    pub expires_after: Option<Duration>,
}

impl ReleaseApprovalRule {
    pub(crate) const FIELDS: &'static [&'static str] =
        &["required", "approver_roles", "expires_after"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> ReleaseApprovalRule {
        ReleaseApprovalRule {
            required: p.count("required", 1),
            approver_roles: p.names("approver_roles"),
            expires_after: p.duration("expires_after"),
        }
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        m.insert("required".into(), json!(self.required.get()));
        if !self.approver_roles.is_empty() {
            m.insert("approver_roles".into(), json!(self.approver_roles));
        }
        if let Some(e) = self.expires_after {
            m.insert("expires_after".into(), json!(format_duration(e)));
        }
    }

    pub(crate) fn needs(&self, needs: &mut Needs) {
        needs.approvals = true;
        needs.builders = true;
    }

    pub(crate) fn evaluate(
        &self,
        _rule_name: &str,
        facts: &Facts,
        at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        release(
            facts,
            self.required,
            &self.approver_roles,
            self.expires_after,
            at,
            detail,
        )
    }
}

pub(crate) fn release(
    facts: &Facts,
    required: NonZeroU32,
    roles: &[String],
    expires_after: Option<Duration>,
    at: DateTime<Utc>,
    detail: Detail,
) -> Check {
    // Principals compare in one form (`Dana` is `dana`), so one person never counts twice
    // and never approves their own deployment under another spelling. Each name is put in
    // that form once.
    let principal = facts.principal.as_deref().map(principal_key);
    let deployer = facts.deployed_by.as_deref().map(principal_key);
    let builders: Vec<String> = facts.builders.iter().map(|b| principal_key(b)).collect();
    let role_keys: Vec<String> = roles.iter().map(|r| principal_key(r)).collect();
    let expiry = expires_after.and_then(|d| chrono::Duration::from_std(d).ok());
    let mut counted: BTreeSet<String> = BTreeSet::new();
    let mut excluded = Vec::new();
    for a in facts
        .approvals
        .iter()
        .filter(|a| a.approval_type == RELEASE)
    {
        if a.environment
            .as_deref()
            .is_some_and(|e| e != facts.environment)
        {
            continue;
        }
        let approver = principal_key(&a.approver);
        let expired_at = expiry.and_then(|exp| a.granted_at.checked_add_signed(exp));
        let reason = if principal.as_ref() == Some(&approver) {
            Some(Excluded::Principal)
        } else if deployer.as_ref() == Some(&approver) {
            Some(Excluded::Deployer)
        } else if builders.contains(&approver) {
            Some(Excluded::Builder)
        } else if let Some(expired_at) = expired_at.filter(|t| *t <= at) {
            Some(Excluded::Expired(expired_at))
        } else if !role_keys.is_empty()
            && !a
                .approver_role
                .as_deref()
                .is_some_and(|r| role_keys.contains(&principal_key(r)))
        {
            Some(Excluded::Role)
        } else if a.granted_at > at {
            Some(Excluded::Future)
        } else {
            None
        };
        match reason {
            // Who was left out, and why, is explanation: a decision needs only the count.
            Some(r) if detail == Detail::Full => {
                let r = r.describe(a.approver_role.as_deref(), roles);
                excluded.push(json!({ "approver": a.approver, "approval_id": a.id, "reason": r }))
            }
            Some(_) => {}
            None => {
                counted.insert(approver);
            }
        }
    }
    let have = counted.len();
    let need = required.get() as usize;
    let base = |c: Check| {
        c.detail("required_approvals", || json!(need))
            .detail("current_approvals", || json!(have))
            .detail("approver_roles", || json!(roles))
            .detail("approvers", || json!(counted))
            .detail("excluded", || json!(excluded))
    };
    if have >= need {
        return base(Check::pass(detail, || {
            format!("{have} of {need} release approval(s)")
        }));
    }
    base(Check::fail(detail, BlockCode::ApprovalRequired, || {
        let roles_text = if roles.is_empty() {
            String::new()
        } else {
            format!(" with role {}", roles.join(" or "))
        };
        format!(
            "a deployment of `{}` {} to `{}` requires {need} release approval(s) from distinct \
             approvers{roles_text} (not the deployer or the builder); it has {have}; ask for \
             `versioner approve --product {} --version {} --type release --environment {}`",
            facts.product,
            facts.version,
            facts.environment,
            facts.product,
            facts.version,
            facts.environment
        )
    }))
}

/// Why an approval does not count.
enum Excluded {
    Principal,
    Deployer,
    Builder,
    Expired(DateTime<Utc>),
    Role,
    Future,
}

impl Excluded {
    fn describe(&self, approver_role: Option<&str>, roles: &[String]) -> String {
        match self {
            Excluded::Principal => {
                "the approver is the principal recording the deployment".to_string()
            }
            Excluded::Deployer => "the approver is the person deploying".to_string(),
            Excluded::Builder => "the approver built this version".to_string(),
            Excluded::Expired(t) => format!("the approval expired at {}", rfc3339(*t)),
            Excluded::Role => format!(
                "the approver's role `{}` is not one of {}",
                approver_role.unwrap_or("none"),
                roles.join(", ")
            ),
            Excluded::Future => "the approval was granted after the evaluated instant".to_string(),
        }
    }
}
