//! The HTTP API by area: each module holds its handlers (parse, one core call on the
//! blocking pool, convert; no domain logic) and the routes that reach them.

pub mod approvals;
pub mod environments;
pub mod events;
pub mod meta;
pub mod queries;
pub mod rules;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use versioner_core::Error;

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
        .map_err(|e| ApiError(Error::internal(format!("cannot encode the answer: {e}"))))
}
