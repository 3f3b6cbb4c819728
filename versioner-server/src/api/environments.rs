//! Environments: the list, and overriding an environment's type.

use axum::extract::{Path, State};
use serde_json::Value;
use versioner_core::{EnvironmentType, Error};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, JsonBody, Params};

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
