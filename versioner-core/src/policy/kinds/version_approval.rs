//! Version approval: quality sign-offs on the version.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Needs;
use crate::policy::rule::Parser;
use serde_json::json;

use crate::policy::BlockCode;
use crate::policy::Check;
use crate::policy::Detail;
use crate::policy::facts::Facts;

/// The version needs approvals of these types.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionApprovalRule {
    /// The approval types (`qa`, `security`, `uat`, `code_review`, `compliance`,
    /// `performance` or custom).
    pub approval_types: Vec<String>,
    /// Where the approvals must have been granted, if anywhere in particular.
    pub environment: Option<String>,
}

impl VersionApprovalRule {
    pub(crate) const FIELDS: &'static [&'static str] = &["approval_types", "environment"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> VersionApprovalRule {
        let approval_types = p.approval_types("approval_types");
        if approval_types.is_empty() {
            p.push(
                "approval_types",
                "must list at least one approval type, e.g. [\"qa\"]".into(),
            );
        }
        VersionApprovalRule {
            approval_types,
            environment: p.opt_string("environment"),
        }
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        m.insert("approval_types".into(), json!(self.approval_types));
        if let Some(e) = &self.environment {
            m.insert("environment".into(), json!(e));
        }
    }

    pub(crate) fn needs(&self, needs: &mut Needs) {
        needs.approvals = true;
    }

    pub(crate) fn evaluate(
        &self,
        _rule_name: &str,
        facts: &Facts,
        _at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        version(
            facts,
            &self.approval_types,
            self.environment.as_deref(),
            detail,
        )
    }
}

pub(crate) fn version(
    facts: &Facts,
    types: &[String],
    environment: Option<&str>,
    detail: Detail,
) -> Check {
    let granted = |t: &String| {
        facts.approvals.iter().any(|a| {
            crate::policy::canonical_approval_type(&a.approval_type) == **t
                && environment.is_none_or(|e| a.environment.as_deref() == Some(e))
        })
    };
    let missing: Vec<&String> = types.iter().filter(|t| !granted(t)).collect();
    let where_ = || {
        environment
            .map(|e| format!(" granted in `{e}`"))
            .unwrap_or_default()
    };
    if missing.is_empty() {
        return Check::pass(detail, || {
            format!(
                "`{}` {} has the approvals {}{}",
                facts.product,
                facts.version,
                types.join(", "),
                where_()
            )
        });
    }
    Check::fail(detail, BlockCode::QualityApprovalRequired, || {
        let list = missing
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let env_flag = environment
            .map(|e| format!(" --environment {e}"))
            .unwrap_or_default();
        format!(
            "`{}` {} lacks the approval(s) {list}{}; record each with \
             `versioner approve --product {} --version {} --type <type>{env_flag}`",
            facts.product,
            facts.version,
            where_(),
            facts.product,
            facts.version
        )
    })
    .detail("required_approval_types", || json!(types))
    .detail("missing_approval_types", || json!(missing))
    .detail("environment", || json!(environment))
}
