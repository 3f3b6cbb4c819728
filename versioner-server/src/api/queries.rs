//! Read-only queries: versions, deployments, products, the state matrix and drift.

use axum::extract::{Path, State};
use serde_json::Value;
use versioner_core::{Error, Page, wire};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::{ApiError, Params};

/// `GET /versions/?product=&limit=&offset=` or `?scm_sha=` (optionally with `product`).
pub async fn versions(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.get("product");
    let versions = match q.get("scm_sha") {
        Some(sha) => {
            let all = s.core(move |vr| vr.versions_by_sha(&sha)).await?;
            all.into_iter()
                .filter(|v| product.as_ref().is_none_or(|p| *p == v.product_name))
                .collect()
        }
        None => {
            let product = product.ok_or_else(|| {
                ApiError(Error::invalid("product", "give `product` or `scm_sha`"))
            })?;
            let page = Page {
                limit: q.number("limit")?.unwrap_or(50),
                offset: q.number("offset")?.unwrap_or(0),
            };
            s.core(move |vr| vr.versions(&product, page)).await?
        }
    };
    ok(to_json(&versions)?)
}

/// `GET /versions/{id}`.
pub async fn version(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let v = s.core(move |vr| vr.version_by_id(&id)).await?;
    ok(to_json(&v)?)
}

/// `GET /products/{product}/versions/{version}`.
pub async fn product_version(
    State(s): State<AppState>,
    Path((product, version)): Path<(String, String)>,
) -> Answer {
    let v = s.core(move |vr| vr.version(&product, &version)).await?;
    ok(to_json(&v)?)
}

/// `GET /deployments/?product=&environment=&version=&status=&since=&until=&limit=`.
pub async fn deployments(State(s): State<AppState>, q: Params) -> Answer {
    let query = wire::history_query(&q.to_object())?;
    let list = s.core(move |vr| vr.history(&query)).await?;
    ok(Value::Array(list.iter().map(wire::deployment).collect()))
}

/// `GET /deployments/{id}`.
pub async fn deployment(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let d = s.core(move |vr| vr.deployment(&id)).await?;
    ok(wire::deployment(&d))
}

/// `GET /products/`.
pub async fn products(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.products()).await?;
    ok(to_json(&list)?)
}

/// `GET /state?at=`.
pub async fn state(State(s): State<AppState>, q: Params) -> Answer {
    let at = q.instant("at")?;
    let matrix = s.core(move |vr| vr.state(at)).await?;
    ok(to_json(&matrix)?)
}

/// `GET /drift?at=&environment=`.
pub async fn drift(State(s): State<AppState>, q: Params) -> Answer {
    let at = q.instant("at")?;
    let only = q.all("environment");
    let drift = s
        .core(move |vr| vr.drift(at, (!only.is_empty()).then_some(only.as_slice())))
        .await?;
    ok(to_json(&drift)?)
}
