//! The Events API: build and deployment events, and the dry-run check.

use std::time::Duration;

use axum::extract::State;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::queue::QueueEntry;
use versioner_core::{BuildEvent, CheckRequest, DeploymentEvent, wire};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, JsonBody, Params};
use crate::openapi::{
    BlockedBody, BuildBody, ConflictBody, DeploymentBody, ErrorBody, VerdictBody,
};
use crate::routes::{Permission, permission_name};

/// The events routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(track_build))
        .routes(routes!(track_build_legacy))
        .routes(routes!(track_deployment))
        .routes(routes!(check))
        .routes(routes!(queue))
}

/// The query of `POST /deployment-events/`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackQuery {
    /// Wait up to this long (seconds, or a duration such as `30s`, `30m`, `1h`; at most 1h)
    /// when a `started` event is blocked by something time alone clears: a window, a soak, a
    /// deployment in progress. The request then waits in the environment's queue, in arrival
    /// order, and answers when the deployment goes ahead or the wait gives up with the block.
    pub wait: Option<String>,
}

/// The query of `GET /queue`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only this environment's queue.
    pub environment: Option<String>,
}

/// The wait limit a request asks for, if any.
pub(crate) fn wait_of(q: &Params) -> Result<Option<Duration>, ApiError> {
    q.get("wait")
        .map(|w| versioner_core::queue::parse_wait(&w, "wait"))
        .transpose()
        .map_err(ApiError::in_query)
}

/// Record a build event
#[utoipa::path(
    post,
    path = "/build-events/",
    tag = "events",
    request_body = BuildEvent,
    responses(
        (status = 200, description = "The recorded build", body = BuildBody),
        (status = 409, description = "The version is recorded with another commit (`VERSION_CONFLICT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Track)))),
)]
pub async fn track_build(
    State(s): State<AppState>,
    JsonBody(event): JsonBody<BuildEvent>,
) -> Answer {
    let b = s.core(move |vr| vr.track_build(&event)).await?;
    ok(wire::build(&b))
}

/// Record a build event (legacy name of /build-events/)
#[utoipa::path(
    post,
    path = "/version-events/",
    tag = "events",
    request_body = BuildEvent,
    responses(
        (status = 200, description = "The recorded build", body = BuildBody),
        (status = 409, description = "The version is recorded with another commit (`VERSION_CONFLICT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Track)))),
)]
pub async fn track_build_legacy(state: State<AppState>, event: JsonBody<BuildEvent>) -> Answer {
    track_build(state, event).await
}

/// Record a deployment event; `started` runs the preflight (409/423/428 when blocked)
///
/// Every applicable rule is evaluated; the status comes from the most severe failure (409
/// concurrency, then 423 window, then 428 preconditions), and the body lists every failed rule.
/// Report-only failures come back in the 200 under
/// `extra_metadata.preflight_status.rules_evaluated`.
#[utoipa::path(
    post,
    path = "/deployment-events/",
    tag = "events",
    request_body = DeploymentEvent,
    params(TrackQuery),
    responses(
        (status = 200, description = "The recorded deployment", body = DeploymentBody),
        (status = 422, description = "A bad event or `wait` (`INVALID_INPUT`)", body = ErrorBody),
        (status = 409, description = "Blocked (`CONCURRENT_DEPLOYMENT`), or the version is recorded with another commit (`VERSION_CONFLICT`)", body = ConflictBody),
        (status = 423, description = "Blocked by a deploy window (`NO_DEPLOY_WINDOW`)", body = BlockedBody),
        (status = 428, description = "Blocked: a precondition is missing (`FLOW_VIOLATION`, `INSUFFICIENT_SOAK_TIME`, `APPROVAL_REQUIRED`, `QUALITY_APPROVAL_REQUIRED`, `DEPLOYMENT_REQUEST_PENDING`, `DEPLOYMENT_REQUEST_REQUIRED`)", body = BlockedBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Track)))),
)]
pub async fn track_deployment(
    State(s): State<AppState>,
    q: Params,
    JsonBody(event): JsonBody<DeploymentEvent>,
) -> Answer {
    let wait = wait_of(&q)?;
    // The result as the core gave it, so the metrics count blocks by their code.
    let result = s
        .core(move |vr| {
            Ok(match wait {
                Some(wait) => vr.track_deployment_waiting(&event, wait, &mut |_| {}),
                None => vr.track_deployment(&event),
            })
        })
        .await?;
    s.metrics().preflight(&result);
    let d = result.map_err(crate::http::ApiError::from)?;
    ok(wire::deployment(&d))
}

/// The wait queue: deployments waiting for a block time alone clears, per environment in
/// arrival order (`environment`)
#[utoipa::path(
    get,
    path = "/queue",
    tag = "events",
    params(QueueQuery),
    responses((status = 200, description = "The waiting deployments, each with its position in its environment's queue", body = Vec<QueueEntry>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn queue(State(s): State<AppState>, q: Params) -> Answer {
    let environment = q.get("environment");
    let list = s
        .core(move |vr| vr.queue(environment.as_deref()))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&list)?)
}

/// Dry-run preflight: the verdict for a would-be deployment, recording nothing
///
/// Answers 200 with the verdict whether the deployment would be allowed or blocked.
#[utoipa::path(
    post,
    path = "/check",
    tag = "events",
    request_body = CheckRequest,
    responses((status = 200, description = "The verdict, allowed or blocked", body = VerdictBody)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn check(State(s): State<AppState>, JsonBody(request): JsonBody<CheckRequest>) -> Answer {
    let verdict = s.core(move |vr| vr.check(&request)).await?;
    ok(to_json(&verdict)?)
}
