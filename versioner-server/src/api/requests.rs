//! Deployment Requests, their templates, and the legacy `/releases/` view of the same records.
//!
//! The acting principal is always the API key's: `created_by` and `actor` may be left out,
//! and are refused (422) when they name someone else.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::request::{RequestAction, RequestActionRequest, VersionRef};
use versioner_core::wire::{
    self, ReleaseBody, ReleasePatch, RequestActionBody, TemplatesBody, VersionPick,
};
use versioner_core::{
    DeploymentRequest, Error, Progress, RequestChange, RequestDraft, RequestQuery, RequestStatus,
    RequestTemplate, Versioner,
};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, JsonBody, Params, Path};
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The Deployment Request, template and release routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, create_request))
        .routes(routes!(request, update_request))
        .routes(routes!(add_request_version))
        .routes(routes!(remove_request_version))
        .routes(routes!(submit_request))
        .routes(routes!(deactivate_request))
        .routes(routes!(cancel_request))
        .routes(routes!(complete_request))
        .routes(routes!(approve_request))
        .routes(routes!(reject_request))
        .routes(routes!(request_step_done))
        .routes(routes!(request_progress))
        .routes(routes!(request_templates, put_request_templates))
        .routes(routes!(delete_request_template))
        .routes(routes!(releases, create_release))
        .routes(routes!(release, patch_release))
        .routes(routes!(release_versions, add_release_version))
        .routes(routes!(remove_release_version))
        .routes(routes!(release_deployments))
}

/// The query of `GET /deployment-requests/`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only those with a version of this product.
    pub product: Option<String>,
    /// Only those targeting this environment.
    pub environment: Option<String>,
    /// Only releases (no slots, no steps).
    pub releases_only: Option<bool>,
}

fn query(q: &Params) -> Result<RequestQuery, ApiError> {
    let mut query = RequestQuery::default();
    query.status = q
        .get("status")
        .map(|s| s.parse::<RequestStatus>())
        .transpose()
        .map_err(ApiError::in_query)?;
    query.product = q.get("product");
    query.environment = q.get("environment");
    query.releases_only = match q.get("releases_only").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::in_query(Error::invalid(
                "releases_only",
                format!("`{other}` is not true or false"),
            )));
        }
    };
    Ok(query)
}

/// List Deployment Requests, newest first (`status`, `product`, `environment`)
#[utoipa::path(
    get,
    path = "/deployment-requests/",
    tag = "deployment requests",
    params(RequestsQuery),
    responses((status = 200, description = "The requests", body = Vec<DeploymentRequest>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn list_requests(State(s): State<AppState>, q: Params) -> Answer {
    let query = query(&q)?;
    let list = s
        .core(move |vr| vr.requests(&query))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&list)?)
}

/// Create a Deployment Request (a draft), by the key's principal
///
/// With `template`, the template's slots, steps, environments and description fill what the
/// request leaves empty. Versions must have been recorded (404), one per product.
#[utoipa::path(
    post,
    path = "/deployment-requests/",
    tag = "deployment requests",
    request_body = RequestDraft,
    responses(
        (status = 201, description = "The request, a draft", body = DeploymentRequest),
        (status = 403, description = "The key's role may not manage Deployment Requests (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such version or template (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn create_request(
    State(s): State<AppState>,
    JsonBody(draft): JsonBody<RequestDraft>,
) -> Answer {
    let dr = s.core(move |vr| vr.create_request(&draft)).await?;
    created(to_json(&dr)?)
}

/// A Deployment Request
#[utoipa::path(
    get,
    path = "/deployment-requests/{id}",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn request(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let dr = s.core(move |vr| vr.request(&id)).await?;
    ok(to_json(&dr)?)
}

/// Edit a draft Deployment Request (every field given replaces the request's)
#[utoipa::path(
    patch,
    path = "/deployment-requests/{id}",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestChange,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request or version (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn update_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<RequestChange>,
) -> Answer {
    let dr = s.core(move |vr| vr.update_request(&id, &change)).await?;
    ok(to_json(&dr)?)
}

/// The product and version a pick names (by id, or by product and version).
fn picked(vr: &Versioner, pick: &VersionPick) -> versioner_core::Result<VersionRef> {
    match (&pick.version_id, &pick.product_name, &pick.version) {
        (Some(id), None, None) => {
            let v = vr.version_by_id(id)?;
            Ok(VersionRef::new(v.product_name, v.version))
        }
        (None, Some(p), Some(v)) => Ok(VersionRef::new(p.clone(), v.clone())),
        _ => Err(Error::invalid(
            "version_id",
            "give either `version_id`, or `product_name` and `version`",
        )),
    }
}

fn adding(
    vr: &Versioner,
    id: &str,
    pick: &VersionPick,
) -> versioner_core::Result<DeploymentRequest> {
    let mut change = RequestChange::default();
    change.add_versions = vec![picked(vr, pick)?];
    vr.update_request(id, &change)
}

fn removing(
    vr: &Versioner,
    id: &str,
    version_id: &str,
) -> versioner_core::Result<DeploymentRequest> {
    let mut change = RequestChange::default();
    change.remove_versions = vec![version_id.to_string()];
    vr.update_request(id, &change)
}

/// Add a version to a draft Deployment Request (one per product: a product already in it moves to this version)
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/versions",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = VersionPick,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request or version (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn add_request_version(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(pick): JsonBody<VersionPick>,
) -> Answer {
    let dr = s.core(move |vr| adding(vr, &id, &pick)).await?;
    ok(to_json(&dr)?)
}

/// Remove a version from a draft Deployment Request
#[utoipa::path(
    delete,
    path = "/deployment-requests/{id}/versions/{version_id}",
    tag = "deployment requests",
    params(
        ("id" = String, Path, description = "The request's id"),
        ("version_id" = String, Path, description = "The version's id (or the product's name)"),
    ),
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn remove_request_version(
    State(s): State<AppState>,
    Path((id, version_id)): Path<(String, String)>,
) -> Answer {
    let dr = s.core(move |vr| removing(vr, &id, &version_id)).await?;
    ok(to_json(&dr)?)
}

/// Runs the action the route names with the body's fields.
async fn act(s: AppState, id: String, name: &'static str, body: RequestActionBody) -> Answer {
    let action: RequestActionRequest = body.into_action(name)?;
    let dr = s.core(move |vr| vr.act_on_request(&id, &action)).await?;
    ok(to_json(&dr)?)
}

/// Submit a draft Deployment Request for approval (`in_progress`; `approved` at once when it has no required slot)
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/submit",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn submit_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "submit", body).await
}

/// Return a submitted Deployment Request to draft, clearing its slot decisions
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/deactivate",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn deactivate_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "deactivate", body).await
}

/// Cancel an open Deployment Request
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/cancel",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn cancel_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "cancel", body).await
}

/// Complete a release (a request without slots or steps) by hand
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/complete",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn complete_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "complete", body).await
}

/// Approve a slot of a Deployment Request (`approval_type`), as the key's principal
///
/// The key's role must be one that may grant the type (403); the request's creator may not
/// fill a required slot when self-approval is off (403); one principal fills at most one
/// slot (422).
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/approve",
    operation_id = "approve_request",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 403, description = "The key's role may not grant this type, or self-approval is off (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Approve)))),
)]
pub async fn approve_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "approve", body).await
}

/// Reject a slot of a Deployment Request (`approval_type`, `comment` required)
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/reject",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 403, description = "The key's role may not grant this type (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Approve)))),
)]
pub async fn reject_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "reject", body).await
}

/// Mark a step of a Deployment Request done (`step`: its text)
///
/// Post-deployment steps can be marked once every deployment of the request succeeded.
#[utoipa::path(
    post,
    path = "/deployment-requests/{id}/steps/done",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestActionBody,
    responses(
        (status = 200, description = "The request", body = DeploymentRequest),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Approve)))),
)]
pub async fn request_step_done(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RequestActionBody>,
) -> Answer {
    act(s, id, "step_done", body).await
}

/// A Deployment Request's progress grid (version × environment: deployed, not_deployed, failed, in_progress)
#[utoipa::path(
    get,
    path = "/deployment-requests/{id}/progress",
    tag = "deployment requests",
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The grid", body = Progress),
        (status = 404, description = "No such request (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn request_progress(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let p = s.core(move |vr| vr.request_progress(&id)).await?;
    ok(to_json(&p)?)
}

/// Deployment Request templates, by name
#[utoipa::path(
    get,
    path = "/deployment-request-templates/",
    tag = "deployment requests",
    responses((status = 200, description = "The templates", body = Vec<RequestTemplate>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn request_templates(State(s): State<AppState>) -> Answer {
    let list = s.core(Versioner::request_templates).await?;
    ok(to_json(&list)?)
}

/// Add or replace Deployment Request templates (all or none)
#[utoipa::path(
    post,
    path = "/deployment-request-templates/",
    tag = "deployment requests",
    request_body = TemplatesBody,
    responses(
        (status = 200, description = "The templates written", body = Vec<RequestTemplate>),
        (status = 403, description = "The key's role may not manage templates (`FORBIDDEN`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn put_request_templates(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<TemplatesBody>,
) -> Answer {
    let list = s
        .core(move |vr| vr.put_request_templates(&body.templates))
        .await?;
    ok(to_json(&list)?)
}

/// Remove a Deployment Request template
#[utoipa::path(
    delete,
    path = "/deployment-request-templates/{name}",
    tag = "deployment requests",
    params(("name" = String, Path, description = "The template's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such template (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn delete_request_template(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Answer {
    s.core(move |vr| vr.delete_request_template(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- the legacy `/releases/` routes (reference §4.1, §7) --------------------------------

/// The release of id `id`: a request without slots or steps (`NOT_FOUND` otherwise).
fn find_release(vr: &Versioner, id: &str) -> versioner_core::Result<DeploymentRequest> {
    let dr = vr.request(id)?;
    if !dr.is_release() {
        return Err(Error::NotFound {
            kind: "release",
            name: format!("{id} (a Deployment Request with approval slots or steps)"),
        });
    }
    Ok(dr)
}

fn release_json(dr: &DeploymentRequest) -> Value {
    wire::release(dr)
}

/// Releases (legacy): Deployment Requests without slots or steps, newest first
#[utoipa::path(
    get,
    path = "/releases/",
    tag = "releases",
    responses((status = 200, description = "The releases", body = Vec<Object>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn releases(State(s): State<AppState>) -> Answer {
    let mut q = RequestQuery::default();
    q.releases_only = true;
    let list = s.core(move |vr| vr.requests(&q)).await?;
    ok(Value::Array(list.iter().map(release_json).collect()))
}

/// Create a release (legacy): `name`, `description`, `status` (`draft` or `in_progress`), `versions`, `environment_names`, `extra_metadata`
#[utoipa::path(
    post,
    path = "/releases/",
    tag = "releases",
    request_body = ReleaseBody,
    responses((status = 201, description = "The release", body = Object)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn create_release(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> Answer {
    let start = match body.status.as_deref().map(str::trim) {
        None | Some("draft") => false,
        Some("in_progress") => true,
        Some(other) => {
            return Err(Error::invalid(
                "status",
                format!("a new release is `draft` or `in_progress`, not `{other}`"),
            )
            .into());
        }
    };
    let dr = s
        .core(move |vr| {
            let mut draft = RequestDraft::new(body.name.clone());
            draft.description = body.description.clone();
            draft.versions = body.versions.clone();
            draft.environments = body.environment_names.clone();
            draft.context.metadata = body.extra_metadata.clone();
            let dr = vr.create_request(&draft)?;
            if start {
                vr.act_on_request(
                    &dr.id,
                    &RequestActionRequest::new(RequestAction::Submit, ""),
                )
            } else {
                Ok(dr)
            }
        })
        .await?;
    created(release_json(&dr))
}

/// A release (legacy)
#[utoipa::path(
    get,
    path = "/releases/{id}",
    tag = "releases",
    params(("id" = String, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The release", body = Object),
        (status = 404, description = "No such release (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn release(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let dr = s.core(move |vr| find_release(vr, &id)).await?;
    ok(release_json(&dr))
}

/// Change a release (legacy): `name`, `description`, `status` (`in_progress` starts it, `completed` completes it, `cancelled` cancels it, `draft` returns it to draft)
#[utoipa::path(
    patch,
    path = "/releases/{id}",
    tag = "releases",
    params(("id" = String, Path, description = "The release's id")),
    request_body = ReleasePatch,
    responses(
        (status = 200, description = "The release", body = Object),
        (status = 404, description = "No such release (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn patch_release(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<ReleasePatch>,
) -> Answer {
    let action = match patch.status.as_deref().map(str::trim) {
        None => None,
        Some("in_progress") => Some(RequestAction::Submit),
        Some("completed") => Some(RequestAction::Complete),
        Some("cancelled") => Some(RequestAction::Cancel),
        Some("draft") => Some(RequestAction::Deactivate),
        Some(other) => {
            return Err(Error::invalid(
                "status",
                format!(
                    "unknown release status `{other}`; expected one of: draft, in_progress, \
                     completed, cancelled"
                ),
            )
            .into());
        }
    };
    let dr = s
        .core(move |vr| {
            let mut dr = find_release(vr, &id)?;
            if patch.name.is_some() || patch.description.is_some() {
                let mut change = RequestChange::default();
                change.name.clone_from(&patch.name);
                change.description.clone_from(&patch.description);
                dr = vr.update_request(&id, &change)?;
            }
            match action {
                Some(a) => vr.act_on_request(&id, &RequestActionRequest::new(a, "")),
                None => Ok(dr),
            }
        })
        .await?;
    ok(release_json(&dr))
}

/// A release's versions (legacy)
#[utoipa::path(
    get,
    path = "/releases/{id}/versions",
    tag = "releases",
    params(("id" = String, Path, description = "The release's id")),
    responses(
        (status = 200, description = "Its versions", body = Vec<Object>),
        (status = 404, description = "No such release (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn release_versions(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let dr = s.core(move |vr| find_release(vr, &id)).await?;
    ok(to_json(&dr.versions)?)
}

/// Add a version to a release (legacy): `version_id`, or `product_name` and `version`
#[utoipa::path(
    post,
    path = "/releases/{id}/versions",
    tag = "releases",
    params(("id" = String, Path, description = "The release's id")),
    request_body = VersionPick,
    responses(
        (status = 200, description = "The release", body = Object),
        (status = 404, description = "No such release or version (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn add_release_version(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(pick): JsonBody<VersionPick>,
) -> Answer {
    let dr = s
        .core(move |vr| {
            find_release(vr, &id)?;
            adding(vr, &id, &pick)
        })
        .await?;
    ok(release_json(&dr))
}

/// Remove a version from a release (legacy)
#[utoipa::path(
    delete,
    path = "/releases/{id}/versions/{version_id}",
    tag = "releases",
    params(
        ("id" = String, Path, description = "The release's id"),
        ("version_id" = String, Path, description = "The version's id"),
    ),
    responses(
        (status = 200, description = "The release", body = Object),
        (status = 404, description = "No such release (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRequests)))),
)]
pub async fn remove_release_version(
    State(s): State<AppState>,
    Path((id, version_id)): Path<(String, String)>,
) -> Answer {
    let dr = s
        .core(move |vr| {
            find_release(vr, &id)?;
            removing(vr, &id, &version_id)
        })
        .await?;
    ok(release_json(&dr))
}

/// A release's progress grid (legacy `deployments`): version × environment
#[utoipa::path(
    get,
    path = "/releases/{id}/deployments",
    tag = "releases",
    params(("id" = String, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The grid", body = Progress),
        (status = 404, description = "No such release (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn release_deployments(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let p = s
        .core(move |vr| {
            find_release(vr, &id)?;
            vr.request_progress(&id)
        })
        .await?;
    ok(to_json(&p)?)
}
