//! The Events API: build and deployment events, and the dry-run check.

use axum::extract::State;
use versioner_core::{BuildEvent, CheckRequest, DeploymentEvent, wire};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::JsonBody;

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
