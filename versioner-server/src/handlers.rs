//! The handlers: parse, one core call (on the blocking pool), convert. No domain logic here.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use versioner_core::policy::{ApplyMode, PolicyFile, PolicyFormat, Rule, RuleStatus};
use versioner_core::{
    ApprovalRequest, BuildEvent, CheckRequest, DeploymentEvent, EnvironmentType, Error, Page, wire,
};

use super::AppState;
use super::auth::Caller;
use super::http::{ApiError, JsonBody, Params};
use super::routes;

type Answer = Result<Response, ApiError>;

fn ok(value: Value) -> Answer {
    Ok(Json(value).into_response())
}

fn created(value: Value) -> Answer {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value)
        .map_err(|e| ApiError(Error::internal(format!("cannot encode the answer: {e}"))))
}

// ----- service ------------------------------------------------------------------------------

/// `GET /health`.
pub async fn health() -> Answer {
    ok(json!({ "status": "ok", "version": versioner_core::VERSION }))
}

/// `GET /openapi.json`.
pub async fn openapi() -> Answer {
    ok(routes::openapi())
}

/// Unknown routes.
pub async fn not_found(uri: Uri) -> Response {
    ApiError(Error::NotFound {
        kind: "route",
        name: uri.path().to_string(),
    })
    .into_response()
}

/// A known route under another method.
pub async fn method_not_allowed() -> Response {
    let body = json!({
        "detail": "Method Not Allowed",
        "code": versioner_core::ErrorCode::NotFound.as_str(),
        "message": "this route does not accept that method; see /openapi.json",
    });
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

// ----- events -------------------------------------------------------------------------------

/// `POST /build-events/` and the legacy `POST /version-events/`.
pub async fn track_build(
    State(s): State<AppState>,
    JsonBody(event): JsonBody<BuildEvent>,
) -> Answer {
    let b = s.core(move |vr| vr.track_build(&event)).await?;
    ok(wire::build(&b))
}

/// `POST /deployment-events/`.
pub async fn track_deployment(
    State(s): State<AppState>,
    JsonBody(event): JsonBody<DeploymentEvent>,
) -> Answer {
    let d = s.core(move |vr| vr.track_deployment(&event)).await?;
    ok(wire::deployment(&d))
}

/// `POST /check`: the verdict, allowed or not, with 200.
pub async fn check(State(s): State<AppState>, JsonBody(request): JsonBody<CheckRequest>) -> Answer {
    let verdict = s.core(move |vr| vr.check(&request)).await?;
    ok(to_json(&verdict)?)
}

// ----- queries ------------------------------------------------------------------------------

/// `GET /versions/?product=&limit=&offset=` or `?scm_sha=` (optionally with `product`).
pub async fn versions(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.get("product");
    let versions = match q.get("scm_sha") {
        Some(sha) => {
            let all = s.core(move |vr| vr.versions_by_sha(&sha)).await?;
            all.into_iter()
                .filter(|v| product.as_ref().is_none_or(|p| *p == v.product_name))
                .collect()
        }
        None => {
            let product = product.ok_or_else(|| {
                ApiError(Error::invalid("product", "give `product` or `scm_sha`"))
            })?;
            let page = Page {
                limit: q.number("limit")?.unwrap_or(50),
                offset: q.number("offset")?.unwrap_or(0),
            };
            s.core(move |vr| vr.versions(&product, page)).await?
        }
    };
    ok(to_json(&versions)?)
}

/// `GET /versions/{id}`.
pub async fn version(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let v = s.core(move |vr| vr.version_by_id(&id)).await?;
    ok(to_json(&v)?)
}

/// `GET /products/{product}/versions/{version}`.
pub async fn product_version(
    State(s): State<AppState>,
    Path((product, version)): Path<(String, String)>,
) -> Answer {
    let v = s.core(move |vr| vr.version(&product, &version)).await?;
    ok(to_json(&v)?)
}

/// `GET /deployments/?product=&environment=&version=&status=&since=&until=&limit=`.
pub async fn deployments(State(s): State<AppState>, q: Params) -> Answer {
    let query = wire::history_query(&q.to_object())?;
    let list = s.core(move |vr| vr.history(&query)).await?;
    ok(Value::Array(list.iter().map(wire::deployment).collect()))
}

/// `GET /deployments/{id}`.
pub async fn deployment(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let d = s.core(move |vr| vr.deployment(&id)).await?;
    ok(wire::deployment(&d))
}

/// `GET /products/`.
pub async fn products(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.products()).await?;
    ok(to_json(&list)?)
}

/// `GET /environments/?type=`.
pub async fn environments(State(s): State<AppState>, q: Params) -> Answer {
    let wanted = q
        .get("type")
        .map(|t| t.parse::<EnvironmentType>())
        .transpose()?;
    let mut list = s.core(|vr| vr.environments()).await?;
    list.retain(|e| wanted.is_none_or(|t| e.env_type == t));
    ok(to_json(&list)?)
}

/// `PUT /environments/{name}` with `{"type": "production"}`, or `{"type": null}` to return
/// to inference from the name.
pub async fn set_environment_type(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Answer {
    let env_type = match body.get("type") {
        None => {
            return Err(ApiError(Error::invalid(
                "type",
                "is required: an environment type, or null to infer it from the name",
            )));
        }
        Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.parse::<EnvironmentType>()?),
        Some(_) => return Err(ApiError(Error::invalid("type", "must be a string or null"))),
    };
    let env = s
        .core(move |vr| vr.set_environment_type(&name, env_type))
        .await?;
    ok(to_json(&env)?)
}

/// `GET /state?at=`.
pub async fn state(State(s): State<AppState>, q: Params) -> Answer {
    let at = q.instant("at")?;
    let matrix = s.core(move |vr| vr.state(at)).await?;
    ok(to_json(&matrix)?)
}

/// `GET /drift?at=&environment=`.
pub async fn drift(State(s): State<AppState>, q: Params) -> Answer {
    let at = q.instant("at")?;
    let only = q.all("environment");
    let drift = s
        .core(move |vr| vr.drift(at, (!only.is_empty()).then_some(only.as_slice())))
        .await?;
    ok(to_json(&drift)?)
}

// ----- rules --------------------------------------------------------------------------------

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

// ----- approvals ----------------------------------------------------------------------------

/// `POST /approvals/`.
pub async fn approve(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<ApprovalRequest>,
) -> Answer {
    let approval = s.core(move |vr| vr.approve(&request)).await?;
    created(to_json(&approval)?)
}

/// `GET /approvals/?product=&version=`.
pub async fn approvals(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.required("product")?;
    let version = q.required("version")?;
    let list = s.core(move |vr| vr.approvals(&product, &version)).await?;
    ok(to_json(&list)?)
}

/// The body of `POST /approvals/{id}/revoke`.
#[derive(Debug, Deserialize)]
pub struct Revocation {
    reason: String,
    #[serde(default)]
    actor: Option<String>,
}

/// `POST /approvals/{id}/revoke`.
pub async fn revoke(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Revocation>,
) -> Answer {
    let actor = caller.actor(body.actor.as_deref());
    let approval = s
        .core(move |vr| vr.revoke_approval(&id, &actor, &body.reason))
        .await?;
    ok(to_json(&approval)?)
}
