//! Rules: the rule set, each rule's status and its history, and applying a policy.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use versioner_core::Error;
use versioner_core::policy::{ApplyMode, PolicyFile, PolicyFormat, Rule, RuleStatus};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::auth::Caller;
use crate::http::{ApiError, JsonBody, Params};

/// `GET /rules/`.
pub async fn rules(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.rules()).await?;
    ok(to_json(&list)?)
}

/// `GET /rules/{name}`.
pub async fn rule(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    let r = s.core(move |vr| vr.rule(&name)).await?;
    ok(to_json(&r)?)
}

/// `POST /rules/`.
pub async fn create_rule(State(s): State<AppState>, JsonBody(body): JsonBody<Value>) -> Answer {
    let rule = Rule::from_json(&body)?;
    let stored = s.core(move |vr| vr.add_rule(&rule)).await?;
    created(to_json(&stored)?)
}

/// `PUT /rules/{name}`.
pub async fn update_rule(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Answer {
    let rule = Rule::from_json(&body)?;
    let stored = s.core(move |vr| vr.update_rule(&name, &rule)).await?;
    ok(to_json(&stored)?)
}

/// `DELETE /rules/{name}`.
pub async fn delete_rule(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    s.core(move |vr| vr.delete_rule(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `POST /rules/{name}/status`.
#[derive(Debug, Deserialize)]
pub struct StatusChange {
    status: String,
    reason: String,
    #[serde(default)]
    actor: Option<String>,
}

/// `POST /rules/{name}/status`.
pub async fn set_rule_status(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<StatusChange>,
) -> Answer {
    let status: RuleStatus = body.status.parse()?;
    let actor = caller.actor(body.actor.as_deref());
    let stored = s
        .core(move |vr| vr.set_rule_status(&name, status, &actor, &body.reason))
        .await?;
    ok(to_json(&stored)?)
}

/// `GET /rules/{name}/history`: empty for a name without recorded changes.
pub async fn rule_history(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    let changes = s.core(move |vr| vr.rule_history(Some(&name))).await?;
    ok(to_json(&changes)?)
}

/// `GET /rule-history/?rule=`: the status changes of every rule, or of one.
pub async fn all_rule_history(State(s): State<AppState>, q: Params) -> Answer {
    let name = q.get("rule");
    let changes = s.core(move |vr| vr.rule_history(name.as_deref())).await?;
    ok(to_json(&changes)?)
}

/// The body of `POST /rules/apply`.
#[derive(Debug, Deserialize)]
pub struct ApplyPolicy {
    policy: Value,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    actor: Option<String>,
}

/// `POST /rules/apply`.
pub async fn apply_rules(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<ApplyPolicy>,
) -> Answer {
    let mode = body
        .mode
        .as_deref()
        .map(str::parse::<ApplyMode>)
        .transpose()?
        .unwrap_or_default();
    let actor = caller.actor(body.actor.as_deref());
    let report = match body.policy {
        Value::String(text) => {
            let format = body
                .format
                .as_deref()
                .map(str::parse::<PolicyFormat>)
                .transpose()?
                .unwrap_or(PolicyFormat::Toml);
            s.core(move |vr| vr.apply_policy_text(&text, format, mode, &actor))
                .await?
        }
        doc @ (Value::Object(_) | Value::Array(_)) => {
            let policy = PolicyFile::from_json(&doc)?;
            s.core(move |vr| vr.apply_policy(&policy, mode, &actor))
                .await?
        }
        _ => {
            return Err(ApiError(Error::invalid(
                "policy",
                "must be the policy text (TOML or JSON) or a JSON object with `rules`",
            )));
        }
    };
    ok(to_json(&report)?)
}
