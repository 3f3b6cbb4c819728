//! The service routes: liveness, the OpenAPI document, the API reference (`/docs`), and the
//! fallbacks.
//!
//! `/docs` is Swagger UI, its assets compiled into the binary (utoipa-swagger-ui, `vendored`)
//! and served from `/docs/`: the page loads nothing from another host, so it works offline.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::Config;
use versioner_core::Error;

use super::{Answer, ok};
use crate::AppState;
use crate::http::{ApiError, Path};
use crate::openapi::{self, Health};
use crate::routes::{Permission, permission_name};

/// The meta routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
        .routes(routes!(docs))
        .routes(routes!(docs_index))
        .routes(routes!(docs_file))
}

/// Server metrics in the OpenMetrics text format (admin only)
///
/// Requests by method, route template and status; latency histograms by route; preflight
/// outcomes of recorded deployment events (passed, bypassed, blocked with its code); the
/// outbox's position and each notification channel's lag behind it. Counters start at zero
/// when the server starts.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses(
        (status = 200, description = "The metrics", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ReadMetrics)))),
)]
pub async fn metrics(axum::extract::State(s): axum::extract::State<AppState>) -> Answer {
    let state = s.clone();
    let text = s.core(move |vr| state.metrics().render(vr)).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response())
}

/// Liveness and version
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses((status = 200, description = "The server is up", body = Health)),
    extensions(("x-permission" = json!(permission_name(Permission::Public)))),
)]
pub async fn health() -> Answer {
    ok(json!({ "status": "ok", "version": versioner_core::VERSION }))
}

/// This document (OpenAPI 3.1)
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route", body = Object)),
    extensions(("x-permission" = json!(permission_name(Permission::Public)))),
)]
pub async fn openapi() -> Response {
    Json(openapi::document()).into_response()
}

/// The API reference, readable in a browser
///
/// Redirects to `/docs/`, Swagger UI over `/openapi.json`, served by this server (no CDN).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "meta",
    responses((status = 303, description = "See `/docs/`", headers(("location" = String, description = "`/docs/`")))),
    extensions(("x-permission" = json!(permission_name(Permission::Public)))),
)]
pub async fn docs() -> Redirect {
    Redirect::to("/docs/")
}

/// The API reference page
#[utoipa::path(
    get,
    path = "/docs/",
    tag = "meta",
    responses((status = 200, description = "Swagger UI over `/openapi.json`", content_type = "text/html", body = String)),
    extensions(("x-permission" = json!(permission_name(Permission::Public)))),
)]
pub async fn docs_index() -> Response {
    docs_asset("index.html")
}

/// An asset of the API reference page
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "meta",
    params(("file" = String, Path, description = "The asset's file name, e.g. `swagger-ui.css`")),
    responses(
        (status = 200, description = "The asset (script, stylesheet, image)", content_type = "application/octet-stream", body = String),
        (status = 404, description = "No such asset (`NOT_FOUND`)", body = openapi::ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Public)))),
)]
pub async fn docs_file(Path(file): Path<String>) -> Response {
    docs_asset(&file)
}

/// Serves one Swagger UI file; `swagger-initializer.js` points the page at `/openapi.json`.
fn docs_asset(file: &str) -> Response {
    // No validator badge: Swagger UI would otherwise send the document to validator.swagger.io.
    static CONFIG: LazyLock<Arc<Config<'static>>> =
        LazyLock::new(|| Arc::new(Config::from("/openapi.json").validator_url("none")));
    match utoipa_swagger_ui::serve(file, Arc::clone(&CONFIG)) {
        Ok(Some(f)) => {
            let mut resp = (StatusCode::OK, f.bytes.into_owned()).into_response();
            let headers = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&f.content_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            if f.gzpipped {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            resp
        }
        Ok(None) => ApiError::from(Error::NotFound {
            kind: "file",
            name: file.to_string(),
        })
        .into_response(),
        Err(e) => {
            ApiError::from(Error::internal(format!("cannot serve `{file}`: {e}"))).into_response()
        }
    }
}

/// Unknown routes.
pub async fn not_found(uri: Uri) -> Response {
    ApiError::from(Error::NotFound {
        kind: "route",
        name: uri.path().to_string(),
    })
    .into_response()
}

/// A known route under another method: a 405 with our body (code `INVALID_INPUT`: the
/// method is the bad input; the route exists, so not `NOT_FOUND`); axum adds the `Allow`
/// header listing the route's methods.
pub async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    crate::http::rejection(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        &format!(
            "Method Not Allowed: {} does not accept {method}; the Allow header lists what it \
             accepts (see /openapi.json)",
            uri.path()
        ),
    )
}
