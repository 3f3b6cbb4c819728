//! Variables and deployment buttons (reference §9): variables at the organization or a
//! product's scope, per-product button templates, and a version's rendered buttons. Managed by
//! the roles that manage rules (the reference's "manage variables & templates"); read by every
//! role that reads.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::buttons::{
    ButtonRequest, DeploymentButton, RenderedButton, Variable, VariableRequest,
};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::http::{JsonBody, Params};
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The variables and buttons routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(variables, set_variable))
        .routes(routes!(delete_variable))
        .routes(routes!(buttons, create_button))
        .routes(routes!(delete_button))
        .routes(routes!(version_buttons))
}

/// The query of the variable routes: the scope.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// A product's scope (absent: the organization's).
    pub product: Option<String>,
}

/// The variables of a scope (the organization's, or `product`'s), by name
#[utoipa::path(
    get,
    path = "/variables/",
    tag = "variables",
    params(ScopeQuery),
    responses((status = 200, description = "The variables", body = Vec<Variable>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn variables(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.get("product");
    let list = s.core(move |vr| vr.variables(product.as_deref())).await?;
    ok(to_json(&list)?)
}

/// Set a variable (lowercase letters, digits and underscores; `vi_` is reserved) at the
/// organization's scope or a product's
#[utoipa::path(
    post,
    path = "/variables/",
    tag = "variables",
    request_body = VariableRequest,
    responses(
        (status = 201, description = "The variable", body = Variable),
        (status = 404, description = "No such product (`NOT_FOUND`)", body = ErrorBody),
        (status = 422, description = "A bad or reserved name (`INVALID_INPUT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn set_variable(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<VariableRequest>,
) -> Answer {
    let v = s.core(move |vr| vr.set_variable(&request)).await?;
    created(to_json(&v)?)
}

/// Remove a variable from a scope (the organization's, or `product`'s)
#[utoipa::path(
    delete,
    path = "/variables/{name}",
    tag = "variables",
    params(("name" = String, Path, description = "The variable's name"), ScopeQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such variable (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn delete_variable(
    State(s): State<AppState>,
    Path(name): Path<String>,
    q: Params,
) -> Answer {
    let product = q.get("product");
    s.core(move |vr| vr.remove_variable(&name, product.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The deployment buttons (of `product`, or every product's)
#[utoipa::path(
    get,
    path = "/deployment-buttons/",
    tag = "variables",
    params(ScopeQuery),
    responses((status = 200, description = "The buttons", body = Vec<DeploymentButton>)),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn buttons(State(s): State<AppState>, q: Params) -> Answer {
    let product = q.get("product");
    let list = s
        .core(move |vr| vr.deployment_buttons(product.as_deref()))
        .await?;
    ok(to_json(&list)?)
}

/// Add a deployment button to a product: a URL template (http or https) with `{variable}`
/// placeholders, for one or more environments (one template per environment per product)
#[utoipa::path(
    post,
    path = "/deployment-buttons/",
    tag = "variables",
    request_body = ButtonRequest,
    responses(
        (status = 201, description = "The button", body = DeploymentButton),
        (status = 404, description = "No such product (`NOT_FOUND`)", body = ErrorBody),
        (status = 422, description = "A bad template, or an environment another button has (`INVALID_INPUT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn create_button(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<ButtonRequest>,
) -> Answer {
    let b = s.core(move |vr| vr.add_deployment_button(&request)).await?;
    created(to_json(&b)?)
}

/// Remove a deployment button
#[utoipa::path(
    delete,
    path = "/deployment-buttons/{id}",
    tag = "variables",
    params(("id" = String, Path, description = "The button's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such button (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageRules)))),
)]
pub async fn delete_button(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    s.core(move |vr| vr.remove_deployment_button(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A version's enabled deployment buttons, rendered for each of their environments (a button
/// naming a variable without a value has no `url` and an `error`: `Missing variable: NAME`)
#[utoipa::path(
    get,
    path = "/products/{product}/versions/{version}/buttons",
    tag = "variables",
    params(
        ("product" = String, Path, description = "The product"),
        ("version" = String, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "The rendered buttons", body = Vec<RenderedButton>),
        (status = 404, description = "No such product or version (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn version_buttons(
    State(s): State<AppState>,
    Path((product, version)): Path<(String, String)>,
) -> Answer {
    let list = s
        .core(move |vr| vr.version_buttons(&product, &version))
        .await?;
    ok(to_json(&list)?)
}
