//! The service routes: liveness, the OpenAPI document, and the fallbacks.

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use versioner_core::Error;

use super::{Answer, ok};
use crate::http::ApiError;
use crate::routes;

/// `GET /health`.
pub async fn health() -> Answer {
    ok(json!({ "status": "ok", "version": versioner_core::VERSION }))
}

/// `GET /openapi.json`.
pub async fn openapi() -> Answer {
    ok(routes::openapi())
}

/// Unknown routes.
pub async fn not_found(uri: Uri) -> Response {
    ApiError(Error::NotFound {
        kind: "route",
        name: uri.path().to_string(),
    })
    .into_response()
}

/// A known route under another method.
pub async fn method_not_allowed() -> Response {
    let body = json!({
        "detail": "Method Not Allowed",
        "code": versioner_core::ErrorCode::NotFound.as_str(),
        "message": "this route does not accept that method; see /openapi.json",
    });
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
