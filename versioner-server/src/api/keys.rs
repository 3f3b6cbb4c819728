//! API keys and their principals' roles (admin only): list, create (the key is shown once),
//! revoke, change role. The core decides: it checks the caller's role again, keeps the last
//! admin, and records who did it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::wire::{NewApiKeyBody, RoleChangeRequest};
use versioner_core::{ApiKey, ApiKeyRequest, Role};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::http::JsonBody;
use crate::http::Path;
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The keys routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_keys, create_api_key))
        .routes(routes!(revoke_api_key, change_role))
}

/// The answer to `POST /api-keys/`: the key's record and the key itself, shown this once.
#[derive(Debug, ToSchema)]
#[schema(as = NewApiKey)]
pub struct NewApiKeySchema {
    /// Public id (8 hex characters), part of the key.
    pub id: String,
    /// The key's name.
    pub name: String,
    /// The principal it belongs to: the actor of its writes.
    pub principal: String,
    /// Its principal's role.
    pub role: Role,
    /// The key's visible start, `sk_vr_<id>`.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Never used yet: null.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Not revoked: null.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The whole key (`sk_vr_<id>_<secret>`): store it now, it is never shown again.
    pub key: String,
}

/// Every API key (revoked ones too), oldest first; never a secret
#[utoipa::path(
    get,
    path = "/api-keys/",
    tag = "api-keys",
    responses((status = 200, description = "The keys, with their principals and roles", body = Vec<ApiKey>)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageKeys)))),
)]
pub async fn api_keys(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.api_keys()).await?;
    ok(to_json(&list)?)
}

/// Create an API key for a principal (`role` creates a new principal); the key is shown once
///
/// `principal` defaults to the key's `name`. A new principal needs a `role`; an existing one
/// keeps its role (a different `role` is refused: change it with `PATCH /api-keys/{id}`).
/// Roles: admin, release_manager, product, developer, sre, qa, security, compliance, billing,
/// viewer, ci (`deployer` and `approver`, the names of earlier versions, are read as `ci` and
/// `release_manager`).
#[utoipa::path(
    post,
    path = "/api-keys/",
    tag = "api-keys",
    request_body = ApiKeyRequest,
    responses((status = 201, description = "The key's record and the key itself, shown this once", body = NewApiKeySchema)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageKeys)))),
)]
pub async fn create_api_key(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<ApiKeyRequest>,
) -> Answer {
    let created_key = s.core(move |vr| vr.create_key(&request)).await?;
    created(to_json(&NewApiKeyBody::from(&created_key))?)
}

/// Revoke an API key (by id or name); requests with it then get 401
///
/// The last active key of the last admin cannot be revoked (422): there is always an admin.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "api-keys",
    params(("id" = String, Path, description = "The key's id (or name)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such active key (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageKeys)))),
)]
pub async fn revoke_api_key(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    s.core(move |vr| vr.revoke_api_key(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Change the role of a key's principal (every key of it acts with the new role)
///
/// The last admin cannot be downgraded (422), and nobody changes their own role (403).
#[utoipa::path(
    patch,
    path = "/api-keys/{id}",
    tag = "api-keys",
    params(("id" = String, Path, description = "The key's id (or name)")),
    request_body = RoleChangeRequest,
    responses(
        (status = 200, description = "The key, with its principal's new role", body = ApiKey),
        (status = 403, description = "The caller's own role, or the caller may not manage keys (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such active key (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageKeys)))),
)]
pub async fn change_role(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RoleChangeRequest>,
) -> Answer {
    let key = s
        .core(move |vr| vr.set_api_key_role(&id, body.role))
        .await?;
    ok(to_json(&key)?)
}
