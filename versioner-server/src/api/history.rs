//! History import and export: the whole history of builds and deployments as JSON Lines
//! (the format is the core's, [`versioner_core::import`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::Error;
use versioner_core::import::{CONTENT_TYPE, ImportFile, ImportMode, ImportReport};
use versioner_core::wire::json::JsonError;

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, Params, unreadable};
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The history routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_history))
        .routes(routes!(export_history))
}

/// The query of `POST /import`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true`: validate and report what the import would do, writing nothing.
    pub dry_run: Option<bool>,
}

/// Import a history file (JSON Lines: one build or deployment event per line), admin only
///
/// Each line is the body `POST /build-events/` or `POST /deployment-events/` takes, plus
/// `kind` (`build` or `deployment`; inferred from `environment_name` when absent) and, on
/// deployments, `started_at`. Every line is validated first; the events are applied in the
/// order of their claimed times, in one transaction, with their claimed times kept, without
/// preflight and without notifications. Lines imported before are skipped. A failing line
/// fails the whole file, naming the line (`line N`): malformed JSON is a 400, any other
/// problem a 422; nothing is written.
#[utoipa::path(
    post,
    path = "/import",
    tag = "history",
    params(ImportParams),
    request_body(content = String, content_type = "application/x-ndjson", description = "The history file: JSON Lines"),
    responses(
        (status = 200, description = "What was imported (or, with `dry_run`, would be)", body = ImportReport),
        (status = 400, description = "A line is not JSON, named by its number (`INVALID_INPUT`)", body = ErrorBody),
        (status = 422, description = "A line is invalid, named by its number (`INVALID_INPUT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageHistory)))),
)]
pub async fn import_history(State(s): State<AppState>, q: Params, body: Bytes) -> Answer {
    let mode = match q.get("dry_run").as_deref() {
        None | Some("false") => ImportMode::Apply,
        Some("true") => ImportMode::DryRun,
        Some(other) => {
            return Err(ApiError::in_query(Error::invalid(
                "dry_run",
                format!("`{other}` is not a boolean; expected true or false"),
            )));
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return Ok(unreadable(
            StatusCode::BAD_REQUEST,
            "Invalid JSON Lines in request body: the body is not UTF-8".to_string(),
        ));
    };
    let file = match ImportFile::parse(text) {
        Ok(file) => file,
        Err(JsonError::Malformed(m)) => {
            return Ok(unreadable(
                StatusCode::BAD_REQUEST,
                format!("Invalid JSON Lines in request body: {m}"),
            ));
        }
        Err(JsonError::Invalid(e)) => return Err(ApiError::from(e)),
    };
    let report = s.core(move |vr| vr.import_file(&file, mode)).await?;
    ok(to_json(&report)?)
}

/// Export the history (JSON Lines: every build and deployment, in time order), admin only
///
/// The lines `POST /import` reads: importing them into a fresh database gives the same state,
/// history and DORA figures.
#[utoipa::path(
    get,
    path = "/export",
    tag = "history",
    responses(
        (status = 200, description = "The history file", content_type = "application/x-ndjson", body = String),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageHistory)))),
)]
pub async fn export_history(State(s): State<AppState>) -> Answer {
    let text = s
        .core(move |vr| {
            let mut out = Vec::new();
            vr.export_events(&mut out)?;
            Ok(out)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}
