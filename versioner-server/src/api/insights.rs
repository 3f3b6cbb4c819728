//! Insights: the four keys (DORA metrics) over the deployment ledger.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::insights::{FrequencyDefinition, RollbackDefinition, SeriesInterval};
use versioner_core::wire::{self, DoraReport};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::Params;
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The insights routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dora))
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
