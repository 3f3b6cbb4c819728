//! Version approval: quality sign-offs on the version.

use serde_json::json;

use crate::policy::BlockCode;
use crate::policy::Check;
use crate::policy::facts::Facts;

pub(crate) fn version(facts: &Facts, types: &[String], environment: Option<&str>) -> Check {
    let granted = |t: &String| {
        facts.approvals.iter().any(|a| {
            &a.approval_type == t && environment.is_none_or(|e| a.environment.as_deref() == Some(e))
        })
    };
    let missing: Vec<&String> = types.iter().filter(|t| !granted(t)).collect();
    let where_ = environment
        .map(|e| format!(" granted in `{e}`"))
        .unwrap_or_default();
    if missing.is_empty() {
        return Check::pass(format!(
            "`{}` {} has the approvals {}{where_}",
            facts.product,
            facts.version,
            types.join(", ")
        ));
    }
    let list = missing
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let env_flag = environment
        .map(|e| format!(" --environment {e}"))
        .unwrap_or_default();
    Check::fail(
        BlockCode::QualityApprovalRequired,
        format!(
            "`{}` {} lacks the approval(s) {list}{where_}; record each with \
             `versioner approve --product {} --version {} --type <type>{env_flag}`",
            facts.product, facts.version, facts.product, facts.version
        ),
    )
    .detail("required_approval_types", json!(types))
    .detail("missing_approval_types", json!(missing))
    .detail("environment", json!(environment))
}
