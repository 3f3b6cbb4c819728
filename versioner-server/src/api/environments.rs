//! Environments: the list, and overriding an environment's type.

use axum::extract::State;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::{Environment, EnvironmentType, Error};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, JsonBody, Params, Path};
use crate::routes::{Permission, permission_name};

/// The environments routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(environments))
        .routes(routes!(set_environment_type))
}

/// The query of `GET /environments/`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentsQuery {
    /// Only environments of this type.
    #[param(rename = "type")]
    pub env_type: Option<EnvironmentType>,
}

/// Every environment (`type` filters)
#[utoipa::path(
    get,
    path = "/environments/",
    tag = "environments",
    params(EnvironmentsQuery),
    responses((status = 200, description = "The environments", body = Vec<Environment>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn environments(State(s): State<AppState>, q: Params) -> Answer {
    let wanted = q
        .get("type")
        .map(|t| t.parse::<EnvironmentType>())
        .transpose()?;
    let mut list = s.core(|vr| vr.environments()).await?;
    list.retain(|e| wanted.is_none_or(|t| e.env_type == t));
    ok(to_json(&list)?)
}

/// The body of `PUT /environments/{name}`.
#[derive(Debug, ToSchema)]
pub struct EnvironmentTypeChange {
    /// The type to set, or null to infer it from the name again.
    #[schema(rename = "type", required)]
    pub env_type: Option<EnvironmentType>,
}

/// Override an environment's type, or with `type` null infer it from the name again (the environment is created if needed)
#[utoipa::path(
    put,
    path = "/environments/{name}",
    tag = "environments",
    params(("name" = String, Path, description = "The environment")),
    request_body = EnvironmentTypeChange,
    responses((status = 200, description = "The environment", body = Environment)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageEnvironments)))),
)]
pub async fn set_environment_type(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Answer {
    if let Some(key) = body
        .as_object()
        .and_then(|m| m.keys().find(|k| k.as_str() != "type"))
    {
        return Err(ApiError::from(Error::invalid(
            key.clone(),
            "unknown field; the body is `{\"type\": …}`",
        )));
    }
    let env_type = match body.get("type") {
        None => {
            return Err(ApiError::from(Error::invalid(
                "type",
                "is required: an environment type, or null to infer it from the name",
            )));
        }
        Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.parse::<EnvironmentType>()?),
        Some(_) => {
            return Err(ApiError::from(Error::invalid(
                "type",
                "must be a string or null",
            )));
        }
    };
    let env = s
        .core(move |vr| vr.set_environment_type(&name, env_type))
        .await?;
    ok(to_json(&env)?)
}
