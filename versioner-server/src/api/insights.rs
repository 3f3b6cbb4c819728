//! Insights: the four keys (DORA metrics) over the deployment ledger.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::insights::{FrequencyDefinition, RollbackDefinition, SeriesInterval};
use versioner_core::skew::{Skew, StaleVersion};
use versioner_core::wire::{self, DoraReport};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::Params;
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The insights routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dora))
        .routes(routes!(skew))
        .routes(routes!(stale))
}

/// The query of `GET /metrics/dora`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoraParams {
    /// The range's start, inclusive (RFC 3339).
    pub since: DateTime<Utc>,
    /// The range's end, exclusive (RFC 3339).
    pub until: DateTime<Utc>,
    /// Only this product (every product when absent).
    pub product: Option<String>,
    /// These environments (repeatable, or comma-separated); every production environment
    /// when absent.
    #[param(style = Form, explode)]
    pub environment: Option<Vec<String>>,
    /// What deployment frequency bands (default `per_day`).
    pub frequency: Option<FrequencyDefinition>,
    /// Whether a rollback counts the replaced deployment as a failure (default
    /// `not_a_failure`).
    pub rollbacks: Option<RollbackDefinition>,
    /// A series over the range in buckets of this interval.
    #[param(inline)]
    pub by: Option<SeriesInterval>,
}

/// The four keys (deployment frequency, lead time, change failure rate, time to restore) with their bands and definitions
#[utoipa::path(
    get,
    path = "/metrics/dora",
    tag = "insights",
    params(DoraParams),
    responses(
        (status = 200, description = "The four keys over the range", body = DoraReport),
        (status = 404, description = "No such product or environment (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn dora(State(s): State<AppState>, q: Params) -> Answer {
    let mut filter = q.to_object();
    if let Value::Object(map) = &mut filter {
        map.remove("environment");
        let envs = q.all("environment");
        if !envs.is_empty() {
            map.insert("environment".into(), envs.into());
        }
    }
    let query = wire::dora_query(&filter)?;
    let report = s.core(move |vr| vr.dora(&query)).await?;
    ok(to_json(&report)?)
}

/// The query of `GET /skew`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SkewParams {
    /// The environment ahead (`staging`).
    pub ahead: String,
    /// The environment behind (`production`).
    pub behind: String,
    /// Only this product (every product deployed to either environment when absent).
    pub product: Option<String>,
}

/// How far one environment runs behind another, per product (versions and time behind)
#[utoipa::path(
    get,
    path = "/skew",
    tag = "insights",
    params(SkewParams),
    responses(
        (status = 200, description = "One entry per product, sorted by name", body = Vec<Skew>),
        (status = 404, description = "No such product or environment (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn skew(State(s): State<AppState>, q: Params) -> Answer {
    let query = wire::skew_query(&q.to_object())?;
    let skew = s.core(move |vr| vr.skew(&query)).await?;
    ok(to_json(&skew)?)
}

/// The query of `GET /stale`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaleParams {
    /// The environment versions wait in (`staging`).
    pub environment: String,
    /// How long a version may wait there (a duration: `14d`, `36h`).
    pub older_than: String,
    /// Where it should have gone (repeatable, or comma-separated); every production
    /// environment when absent.
    #[param(style = Form, explode)]
    pub promoted_to: Option<Vec<String>>,
}

/// Versions current in an environment for longer than a threshold and never promoted
#[utoipa::path(
    get,
    path = "/stale",
    tag = "insights",
    params(StaleParams),
    responses(
        (status = 200, description = "The waiting versions, oldest first", body = Vec<StaleVersion>),
        (status = 404, description = "No such environment (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn stale(State(s): State<AppState>, q: Params) -> Answer {
    let mut filter = q.to_object();
    if let Value::Object(map) = &mut filter {
        map.remove("promoted_to");
        let envs = q.all("promoted_to");
        if !envs.is_empty() {
            map.insert("promoted_to".into(), envs.into());
        }
    }
    let query = wire::stale_query(&filter)?;
    let stale = s.core(move |vr| vr.stale(&query)).await?;
    ok(to_json(&stale)?)
}
