//! Approvals of versions: record, list, revoke.

use axum::extract::State;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::wire::RevocationRequest;
use versioner_core::{Approval, ApprovalRequest};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, JsonBody, Params, Path};
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The approvals routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(approvals, approve))
        .routes(routes!(revoke))
}

/// Record an approval of a version, by the key's principal with its role
///
/// The approver is always the API key's principal, recorded with its role: `approver` and
/// `approver_role` may be left out, and are refused (422) when they name someone else. The
/// type must be one of the approval catalog's (422 naming the accepted ones), and one the
/// role may grant (403).
#[utoipa::path(
    post,
    path = "/approvals/",
    tag = "approvals",
    request_body = ApprovalRequest,
    responses(
        (status = 201, description = "The approval", body = Approval),
        (status = 403, description = "The key's role may not approve, or not this type (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such product or version (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Approve)))),
)]
pub async fn approve(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<ApprovalRequest>,
) -> Answer {
    let approval = s.core(move |vr| vr.approve(&request)).await?;
    created(to_json(&approval)?)
}

/// The query of `GET /approvals/`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalsQuery {
    /// The product.
    pub product: String,
    /// The version.
    pub version: String,
}

/// Approvals of a version (`product`, `version`)
#[utoipa::path(
    get,
    path = "/approvals/",
    tag = "approvals",
    params(ApprovalsQuery),
    responses(
        (status = 200, description = "The approvals, revoked ones included", body = Vec<Approval>),
        (status = 404, description = "No such product or version (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn approvals(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.required("product")?;
    let version = q.required("version")?;
    let list = s
        .core(move |vr| vr.approvals(&product, &version))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&list)?)
}

/// Revoke an approval, with a reason (one's own; admins and release managers: any)
#[utoipa::path(
    post,
    path = "/approvals/{id}/revoke",
    tag = "approvals",
    params(("id" = String, Path, description = "The approval's id")),
    request_body = RevocationRequest,
    responses(
        (status = 200, description = "The revoked approval", body = Approval),
        (status = 403, description = "Another principal's approval, and the key's role may not revoke it (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such approval (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Approve)))),
)]
pub async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RevocationRequest>,
) -> Answer {
    // The actor is the key's principal (the core compares `actor`, if given, with it).
    let actor = crate::auth::given_actor(body.actor);
    let approval = s
        .core(move |vr| vr.revoke_approval(&id, &actor, &body.reason))
        .await?;
    ok(to_json(&approval)?)
}
