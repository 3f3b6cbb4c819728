//! Read-only queries: versions, deployments, products, the state matrix and drift.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::{Drift, Error, Page, Product, StateMatrix, Status, Version, wire};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, Params, Path};
use crate::openapi::{DeploymentBody, ErrorBody};
use crate::routes::{Permission, permission_name};

/// The queries routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(deployments))
        .routes(routes!(deployment))
        .routes(routes!(products))
        .routes(routes!(product_version))
        .routes(routes!(state))
        .routes(routes!(drift))
}

/// The query of `GET /versions/`: a product's versions, or those built from a commit.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionsQuery {
    /// The product (required without `scm_sha`; with it, keeps that product's versions).
    pub product: Option<String>,
    /// A commit, full or abbreviated (prefix match): the versions built from it.
    #[param(pattern = "^[0-9a-fA-F]{4,40}$")]
    pub scm_sha: Option<String>,
    /// At most this many (1–1000; default 50), without `scm_sha`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Skip this many, without `scm_sha` (default 0).
    pub offset: Option<u32>,
}

/// Versions of a product (`product`, `limit`, `offset`) or built from a commit (`scm_sha`, prefix match)
#[utoipa::path(
    get,
    path = "/versions/",
    tag = "queries",
    params(VersionsQuery),
    responses(
        (status = 200, description = "The versions, newest first", body = Vec<Version>),
        (status = 404, description = "No such product (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn versions(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.get("product");
    let versions = match q.get("scm_sha") {
        Some(sha) => {
            let all = s
                .core(move |vr| vr.versions_by_sha(&sha))
                .await
                .map_err(ApiError::queried)?;
            all.into_iter()
                .filter(|v| product.as_ref().is_none_or(|p| *p == v.product_name))
                .collect()
        }
        None => {
            let product = product.ok_or_else(|| {
                ApiError::in_query(Error::invalid("product", "give `product` or `scm_sha`"))
            })?;
            let page = Page {
                limit: q.number("limit")?.unwrap_or(50),
                offset: q.number("offset")?.unwrap_or(0),
            };
            s.core(move |vr| vr.versions(&product, page))
                .await
                .map_err(ApiError::queried)?
        }
    };
    ok(to_json(&versions)?)
}

/// A version by id
#[utoipa::path(
    get,
    path = "/versions/{id}",
    tag = "queries",
    params(("id" = String, Path, description = "The version's id")),
    responses(
        (status = 200, description = "The version", body = Version),
        (status = 404, description = "Not found (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn version(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let v = s.core(move |vr| vr.version_by_id(&id)).await?;
    ok(to_json(&v)?)
}

/// One version of a product, by its name
#[utoipa::path(
    get,
    path = "/products/{product}/versions/{version}",
    tag = "queries",
    params(
        ("product" = String, Path, description = "The product"),
        ("version" = String, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "The version", body = Version),
        (status = 404, description = "Not found (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn product_version(
    State(s): State<AppState>,
    Path((product, version)): Path<(String, String)>,
) -> Answer {
    let v = s.core(move |vr| vr.version(&product, &version)).await?;
    ok(to_json(&v)?)
}

/// The filters of `GET /deployments/` (read by [`wire::history_query`]); blank values filter
/// nothing.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsQuery {
    /// Only this product.
    pub product: Option<String>,
    /// Another name of `product`.
    pub product_name: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Another name of `environment`.
    pub environment_name: Option<String>,
    /// Only this version (with `product`).
    pub version: Option<String>,
    /// Only this status (any alias: `success`, `in_progress`, ...).
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Only deployments whose preflight `passed`, or was `skipped` (an emergency bypass).
    pub preflight: Option<versioner_core::PreflightStatus>,
    /// Only deployments recorded at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only deployments recorded before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// At most this many (1–1000; default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Deployment history, newest first (`product`, `environment`, `version`, `status`, `since`, `until`, `limit`)
#[utoipa::path(
    get,
    path = "/deployments/",
    tag = "queries",
    params(DeploymentsQuery),
    responses((status = 200, description = "The deployments, newest first", body = Vec<DeploymentBody>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn deployments(State(s): State<AppState>, q: Params) -> Answer {
    let query = q.parse(wire::history_query)?;
    let list = s
        .core(move |vr| vr.history(&query))
        .await
        .map_err(ApiError::queried)?;
    ok(Value::Array(list.iter().map(wire::deployment).collect()))
}

/// A deployment by id
#[utoipa::path(
    get,
    path = "/deployments/{id}",
    tag = "queries",
    params(("id" = String, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "The deployment", body = DeploymentBody),
        (status = 404, description = "Not found (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn deployment(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let d = s.core(move |vr| vr.deployment(&id)).await?;
    ok(wire::deployment(&d))
}

/// Every product
#[utoipa::path(
    get,
    path = "/products/",
    tag = "queries",
    responses((status = 200, description = "Every product", body = Vec<Product>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn products(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.products()).await?;
    ok(to_json(&list)?)
}

/// The query of `GET /state`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    /// The instant to answer for (RFC 3339); now when absent.
    pub at: Option<DateTime<Utc>>,
}

/// What is deployed where, now or as of `at`
#[utoipa::path(
    get,
    path = "/state",
    tag = "queries",
    params(StateQuery),
    responses((status = 200, description = "The state matrix: products × environments", body = StateMatrix)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn state(State(s): State<AppState>, q: Params) -> Answer {
    let at = q.instant("at")?;
    let matrix = s
        .core(move |vr| vr.state(at))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&matrix)?)
}

/// The query of `GET /drift`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DriftQuery {
    /// The instant to answer for (RFC 3339); now when absent.
    pub at: Option<DateTime<Utc>>,
    /// Only these environments (repeatable, or comma-separated).
    #[param(style = Form, explode)]
    pub environment: Option<Vec<String>>,
}

/// Products whose environments hold different versions (`at`, `environment` repeatable)
#[utoipa::path(
    get,
    path = "/drift",
    tag = "queries",
    params(DriftQuery),
    responses((status = 200, description = "The products that drift", body = Vec<Drift>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn drift(State(s): State<AppState>, q: Params) -> Answer {
    let at = q.instant("at")?;
    let only = q.all("environment");
    let drift = s
        .core(move |vr| vr.drift(at, (!only.is_empty()).then_some(only.as_slice())))
        .await
        .map_err(ApiError::queried)?;
    ok(to_json(&drift)?)
}
