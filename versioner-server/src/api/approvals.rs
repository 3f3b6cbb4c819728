//! Approvals of versions: record, list, revoke.

use axum::extract::{Extension, Path, State};
use serde::Deserialize;
use versioner_core::ApprovalRequest;

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::auth::Caller;
use crate::http::{JsonBody, Params};

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
