//! The catalog: one product or environment, by name or id, and changing its name, description
//! or metadata (`PATCH`, partial: absent fields are left as they are).

use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::{CatalogChange, Environment, Product};

use super::{Answer, ok, to_json};
use crate::AppState;
use crate::http::JsonBody;
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The catalog routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(product, update_product))
        .routes(routes!(environment, update_environment))
}

/// One product, by name or id
#[utoipa::path(
    get,
    path = "/products/{product}",
    tag = "catalog",
    params(("product" = String, Path, description = "The product's name or id")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn product(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    let p = s.core(move |vr| vr.product(&name)).await?;
    ok(to_json(&p)?)
}

/// Rename a product, or change its description or metadata (the id, and its history, stay)
///
/// Refused (422) while a rule names the old name, or when the new name is taken by another
/// product or looks like one. Recorded as `product.renamed` or `product.updated`.
#[utoipa::path(
    patch,
    path = "/products/{product}",
    tag = "catalog",
    params(("product" = String, Path, description = "The product's name or id")),
    request_body = CatalogChange,
    responses(
        (status = 200, description = "The product as stored", body = Product),
        (status = 404, description = "No such product (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageEnvironments)))),
)]
pub async fn update_product(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(change): JsonBody<CatalogChange>,
) -> Answer {
    let p = s.core(move |vr| vr.update_product(&name, &change)).await?;
    ok(to_json(&p)?)
}

/// One environment, by name or id
#[utoipa::path(
    get,
    path = "/environments/{name}",
    tag = "catalog",
    params(("name" = String, Path, description = "The environment's name or id")),
    responses(
        (status = 200, description = "The environment", body = Environment),
        (status = 404, description = "No such environment (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn environment(State(s): State<AppState>, Path(name): Path<String>) -> Answer {
    let e = s.core(move |vr| vr.environment(&name)).await?;
    ok(to_json(&e)?)
}

/// Rename an environment, or change its description or metadata (the id, its type and its history stay)
///
/// As `PATCH /products/{product}`; its type has `PUT /environments/{name}`. Recorded as
/// `environment.renamed` or `environment.updated`.
#[utoipa::path(
    patch,
    path = "/environments/{name}",
    tag = "catalog",
    params(("name" = String, Path, description = "The environment's name or id")),
    request_body = CatalogChange,
    responses(
        (status = 200, description = "The environment as stored", body = Environment),
        (status = 404, description = "No such environment (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageEnvironments)))),
)]
pub async fn update_environment(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(change): JsonBody<CatalogChange>,
) -> Answer {
    let e = s
        .core(move |vr| vr.update_environment(&name, &change))
        .await?;
    ok(to_json(&e)?)
}
