//! Rules: the rule set, each rule's status and its history, and applying a policy.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::PolicyInput;
use versioner_core::policy::lint::LintReport;
use versioner_core::policy::{ApplyMode, PolicyFormat, Rule, RuleStatus};
use versioner_core::wire::{ApplyPolicyRequest, LintPolicyRequest, RuleStatusRequest};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, JsonBody, Params, Path};
use crate::openapi::{ApplyReportBody, ErrorBody, RuleBody, RuleStatusChangeBody, StoredRuleBody};
use crate::routes::{Permission, permission_name};

/// The rules routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rules, create_rule))
        .routes(routes!(apply_rules))
        .routes(routes!(lint_rules))
        .routes(routes!(rule, update_rule, delete_rule))
        .routes(routes!(set_rule_status))
        .routes(routes!(rule_history))
        .routes(routes!(all_rule_history))
        .routes(routes!(violations))
}

/// The query of `GET /deployment-rules/violations`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViolationsQuery {
    /// Only decisions where this rule failed.
    pub rule: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Recorded at or after (RFC 3339).
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Recorded before (RFC 3339).
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// `blocked` (refused), `reported` (report-only failures) or `bypassed`.
    pub outcome: Option<versioner_core::DecisionOutcome>,
    /// At most this many (1–1000, default 100), newest first.
    pub limit: Option<u32>,
}

/// The recorded preflight decisions where a rule failed (blocked, reported or bypassed), newest first
///
/// Each carries the request, who asked, the verdict with every rule's outcome, the facts it
/// was decided on, the hash of the policy in force and when it was recorded.
#[utoipa::path(
    get,
    path = "/deployment-rules/violations",
    tag = "rules",
    params(ViolationsQuery),
    responses((status = 200, description = "The decisions, newest first", body = Vec<Object>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn violations(State(s): State<AppState>, q: Params) -> Answer {
    let query = q.parse(versioner_core::wire::violation_query)?;
    let list = s
        .core(move |vr| vr.violations(&query))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&list)?)
}

/// Every rule, in evaluation order
#[utoipa::path(
    get,
    path = "/rules/",
    tag = "rules",
    responses((status = 200, description = "Every rule, in evaluation order", body = Vec<StoredRuleBody>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn rules(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.rules()).await?;
    ok(to_json(&list)?)
}

/// A rule by name
#[utoipa::path(
    get,
    path = "/rules/{name}",
    tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    responses(
        (status = 200, description = "The rule", body = StoredRuleBody),
        (status = 404, description = "No such rule (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn rule(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    let r = s.core(move |vr| vr.rule(&name)).await?;
    ok(to_json(&r)?)
}

/// Add a rule (policy-file form)
#[utoipa::path(
    post,
    path = "/rules/",
    tag = "rules",
    request_body = RuleBody,
    responses((status = 201, description = "The rule, added at the end of the evaluation order", body = StoredRuleBody)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn create_rule(State(s): State<AppState>, JsonBody(body): JsonBody<Value>) -> Answer {
    let rule = Rule::from_json(&body)?;
    let stored = s.core(move |vr| vr.add_rule(&rule)).await?;
    created(to_json(&stored)?)
}

/// Replace a rule (it may be renamed)
#[utoipa::path(
    put,
    path = "/rules/{name}",
    tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    request_body = RuleBody,
    responses(
        (status = 200, description = "The rule as stored", body = StoredRuleBody),
        (status = 404, description = "No such rule (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn update_rule(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Answer {
    let rule = Rule::from_json(&body)?;
    let stored = s.core(move |vr| vr.update_rule(&name, &rule)).await?;
    ok(to_json(&stored)?)
}

/// Delete a rule
#[utoipa::path(
    delete,
    path = "/rules/{name}",
    tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such rule (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn delete_rule(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    s.core(move |vr| vr.delete_rule(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Change a rule's status (enabled | report_only | disabled) with a reason
///
/// The change is recorded: who (the key's principal), when, why (`GET /rules/{name}/history`).
#[utoipa::path(
    post,
    path = "/rules/{name}/status",
    tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    request_body = RuleStatusRequest,
    responses(
        (status = 200, description = "The rule with its new status", body = StoredRuleBody),
        (status = 404, description = "No such rule (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn set_rule_status(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<RuleStatusRequest>,
) -> Answer {
    let status: RuleStatus = body.status.parse()?;
    // The actor is the key's principal (the core compares `actor`, if given, with it).
    let actor = crate::auth::given_actor(body.actor);
    let stored = s
        .core(move |vr| vr.set_rule_status(&name, status, &actor, &body.reason))
        .await?;
    ok(to_json(&stored)?)
}

/// A rule's status changes: who, when, why (empty when none was recorded)
#[utoipa::path(
    get,
    path = "/rules/{name}/history",
    tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    responses((status = 200, description = "The changes, oldest first", body = Vec<RuleStatusChangeBody>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn rule_history(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    let changes = s.core(move |vr| vr.rule_history(Some(&name))).await?;
    ok(to_json(&changes)?)
}

/// The query of `GET /rule-history/`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleHistoryQuery {
    /// Only this rule's changes.
    pub rule: Option<String>,
}

/// The status changes of every rule, oldest first (`rule` keeps one rule's)
#[utoipa::path(
    get,
    path = "/rule-history/",
    tag = "rules",
    params(RuleHistoryQuery),
    responses((status = 200, description = "The changes, oldest first", body = Vec<RuleStatusChangeBody>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn all_rule_history(State(s): State<AppState>, q: Params) -> Answer {
    let name = q.get("rule");
    let changes = s
        .core(move |vr| vr.rule_history(name.as_deref()))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&changes)?)
}

/// Lint a policy (`policy` as TOML/JSON text or object, `format`; absent: the policy in force)
///
/// Finds windows that never match, deny windows covering an allow window, duplicate or
/// overlapping windows, flow cycles and unknown prerequisites, scopes matching nothing
/// recorded and approval rules no principal can satisfy. Errors make `/rules/apply` refuse
/// the policy; the answer is 200 either way.
#[utoipa::path(
    post,
    path = "/rules/lint",
    tag = "rules",
    request_body = LintPolicyRequest,
    responses(
        (status = 200, description = "The findings, errors first", body = LintReport),
        (status = 422, description = "The policy cannot be read (`INVALID_INPUT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn lint_rules(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<LintPolicyRequest>,
) -> Answer {
    let format = body
        .format
        .as_deref()
        .map(str::parse::<PolicyFormat>)
        .transpose()?;
    let policy = body
        .policy
        .map(|p| PolicyInput::from_value(p, format))
        .transpose()?;
    let report = s
        .core(move |vr| versioner_core::Tracker::lint_policy_input(vr, policy.as_ref()))
        .await?;
    ok(to_json(&report)?)
}

/// Apply a policy (`policy` as TOML/JSON text or object, `format`, `mode`: replace | merge)
///
/// All or nothing: a policy with any problem is refused with 422 listing every problem.
#[utoipa::path(
    post,
    path = "/rules/apply",
    tag = "rules",
    request_body = ApplyPolicyRequest,
    responses((status = 200, description = "What changed", body = ApplyReportBody)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn apply_rules(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<ApplyPolicyRequest>,
) -> Answer {
    let mode = body
        .mode
        .as_deref()
        .map(str::parse::<ApplyMode>)
        .transpose()?
        .unwrap_or_default();
    let actor = crate::auth::given_actor(body.actor);
    let format = body
        .format
        .as_deref()
        .map(str::parse::<PolicyFormat>)
        .transpose()?;
    // The core reads the policy as every surface does: text in TOML or JSON (detected when no
    // format is given), or JSON data; never a file on the server.
    let mut policy = PolicyInput::from_value(body.policy, format)?.parse()?;
    if body.allow_empty == Some(true) {
        policy = policy.allow_empty();
    }
    let report = s
        .core(move |vr| vr.apply_policy(&policy, mode, &actor))
        .await?;
    ok(to_json(&report)?)
}
