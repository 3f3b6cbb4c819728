//! The HTTP API by area: each module holds its handlers (parse, one core call on the
//! blocking pool, convert; no domain logic) and returns its routes.
//!
//! Each route is declared once, on its handler: `#[utoipa::path]` names its method, path,
//! summary (the doc comment's first line), request body, query parameters, success response,
//! the errors peculiar to it, and its [`Permission`](crate::routes::Permission) as the
//! `x-permission` extension. An area's `routes()` registers its handlers with
//! `utoipa_axum::routes!`, which reads the same declaration, so the router, the OpenAPI
//! document ([`openapi`](crate::openapi)) and the permission table
//! ([`routes`](crate::routes)) come from one source. To add a route: write the handler and its
//! `#[utoipa::path]` in its area, and add it to the area's `routes()`.

pub mod approvals;
pub mod buttons;
pub mod calendar;
pub mod catalog;
pub mod environments;
pub mod events;
pub mod history;
pub mod insights;
pub mod keys;
pub mod meta;
pub mod notifications;
pub mod queries;
pub mod requests;
pub mod rules;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use versioner_core::Error;

use crate::AppState;
use crate::http::ApiError;

/// What a handler answers.
pub(crate) type Answer = Result<Response, ApiError>;

/// A 200 with a JSON body.
pub(crate) fn ok(value: Value) -> Answer {
    Ok(Json(value).into_response())
}

/// A 201 with a JSON body.
pub(crate) fn created(value: Value) -> Answer {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

/// Encodes an answer.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value)
        .map_err(|e| ApiError::from(Error::internal(format!("cannot encode the answer: {e}"))))
}

/// Every area's routes, merged: the whole API.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(meta::routes())
        .merge(events::routes())
        .merge(queries::routes())
        .merge(environments::routes())
        .merge(catalog::routes())
        .merge(rules::routes())
        .merge(calendar::routes())
        .merge(approvals::routes())
        .merge(keys::routes())
        .merge(notifications::routes())
        .merge(buttons::routes())
        .merge(insights::routes())
        .merge(history::routes())
        .merge(requests::routes())
}
