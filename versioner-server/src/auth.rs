//! Authentication and authorization: `Authorization: Bearer <key>`, checked against the
//! hashed keys kept in the database, and the route table's permission for the matched route.
//!
//! - No or an unknown key: 401 `{"detail": "Invalid API key", "code": "UNAUTHORIZED", …}`.
//! - A key whose role does not allow the route: 403
//!   `{"detail": "You do not have permission to perform this action", "code": "FORBIDDEN", …}`.
//! - A route answered by the server but missing from the table: 403 (fail closed).
//! - Every method is checked: `HEAD` needs what `GET` needs (axum answers it with the `GET`
//!   handler), and a method the table does not list for a known path is answered 405 here,
//!   before any handler, whatever the key.
//!
//! The authenticated key's principal is the actor of everything the request does: the
//! middleware runs the rest of the request with it ([`current_actor`]), and
//! [`AppState::core`](crate::AppState) hands it to every core call
//! ([`Versioner::acting_as`](versioner_core::Versioner::acting_as)), so the core records it
//! and checks its role; a handler cannot forget to pass it.
//!
//! With `--no-auth` every request acts as an anonymous admin, with no actor: the core records
//! the names a request gives, as in process. Keys are never logged; the log names the key by
//! its name and principal.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use versioner_core::Error;

use super::AppState;
use super::api;
use super::http::ApiError;
use super::routes::{self, Permission};
use versioner_core::{Actor, ApiKey, Role};

tokio::task_local! {
    /// The actor of the request this task is answering (`None` with `--no-auth`).
    static ACTOR: Option<Actor>;
}

/// The actor of the request being answered on this task: the authenticated key's principal.
/// `None` outside a request, and with `--no-auth`.
pub fn current_actor() -> Option<Actor> {
    ACTOR.try_with(Clone::clone).ok().flatten()
}

/// The `actor` a request body gives, for the core to compare with the authenticated principal
/// (blank: the core records the principal). Without authentication (`--no-auth`) a missing
/// actor is recorded as `api`.
pub fn given_actor(given: Option<String>) -> String {
    match given.filter(|g| !g.trim().is_empty()) {
        Some(g) => g,
        None if current_actor().is_none() => "api".into(),
        None => String::new(),
    }
}

/// Runs `fut` with `actor` as the request's actor (for work moved to another task).
pub async fn with_actor<F: std::future::Future>(actor: Option<Actor>, fut: F) -> F::Output {
    ACTOR.scope(actor, fut).await
}

/// Who is calling, inserted into the request by [`authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's id (`None` without authentication).
    pub key_id: Option<String>,
    /// The key's name (`anonymous` without authentication).
    pub name: String,
    /// The key's principal: the actor of the request's writes (`None` without
    /// authentication).
    pub principal: Option<String>,
    /// The principal's role.
    pub role: Role,
    actor: Option<Actor>,
}

impl Caller {
    /// The caller of a server started with `--no-auth`.
    pub fn anonymous() -> Caller {
        Caller {
            key_id: None,
            name: "anonymous".into(),
            principal: None,
            role: Role::Admin,
            actor: None,
        }
    }

    /// The actor the core records for this caller's writes (`None` without authentication).
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref()
    }
}

impl From<ApiKey> for Caller {
    fn from(k: ApiKey) -> Caller {
        Caller {
            actor: Some(Actor::from_key(&k)),
            key_id: Some(k.id),
            name: k.name,
            principal: Some(k.principal),
            role: k.role,
        }
    }
}

/// How the server authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Every request but `/health` and `/openapi.json` needs a valid key (the default). With
    /// no key created yet, everything is refused until `versioner keys create` makes one.
    #[default]
    Keys,
    /// No authentication (`--no-auth`): for a trusted network or a single machine only.
    Open,
}

fn unauthorized() -> Response {
    ApiError::from(Error::Unauthorized {
        message: "Invalid API key".into(),
    })
    .into_response()
}

fn forbidden() -> Response {
    ApiError::from(Error::Forbidden {
        message: "You do not have permission to perform this action".into(),
    })
    .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// The middleware: finds the matched route's permission, authenticates the caller and
/// checks the role.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
    else {
        // No route matched: the fallback answers 404.
        return next.run(req).await;
    };
    // INVARIANT: every method on a matched route is decided here, before any handler: HEAD
    // is answered by the GET handler (axum runs it and drops the body), so it needs GET's
    // permission; a method the table lacks on a known path is answered 405 here, so no
    // handler can ever run for a method nobody authorized.
    let method = if req.method() == Method::HEAD {
        Method::GET
    } else {
        req.method().clone()
    };
    let permission = match routes::permission(method.as_str(), &path) {
        Some(p) => p,
        None if routes::path_known(&path) => {
            let mut resp =
                api::meta::method_not_allowed(req.method().clone(), req.uri().clone()).await;
            if let Ok(allow) = HeaderValue::from_str(&routes::methods(&path).join(", ")) {
                resp.headers_mut().insert(header::ALLOW, allow);
            }
            return resp;
        }
        None => {
            tracing::error!(%path, "route missing from the route table; refused");
            return forbidden();
        }
    };
    if permission == Permission::Public {
        return next.run(req).await;
    }
    let caller = match state.auth_mode() {
        AuthMode::Open => Caller::anonymous(),
        AuthMode::Keys => {
            let Some(secret) = bearer(req.headers()) else {
                tracing::info!(%path, "refused: no API key");
                return unauthorized();
            };
            match state.core(move |vr| vr.authenticate(&secret)).await {
                Ok(Some(key)) => Caller::from(key),
                Ok(None) => {
                    tracing::info!(%path, "refused: unknown or revoked API key");
                    return unauthorized();
                }
                Err(e) => return e.into_response(),
            }
        }
    };
    if !caller.role.allows(permission) {
        tracing::info!(
            %path, key = %caller.name, principal = caller.principal.as_deref().unwrap_or("-"),
            role = %caller.role, %permission, "refused: role lacks permission"
        );
        return forbidden();
    }
    let actor = caller.actor.clone();
    req.extensions_mut().insert(caller);
    with_actor(actor, next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_of_a_key_acts_as_its_principal() {
        let key = ApiKey::from_parts(
            "ab12".into(),
            "laptop".into(),
            Role::Qa,
            "sk_vr_ab12".into(),
            chrono::Utc::now(),
            None,
            None,
        )
        .with_principal("dana");
        let c = Caller::from(key);
        let actor = c.actor().unwrap();
        assert_eq!((actor.principal(), actor.role()), ("dana", Some(Role::Qa)));
        assert!(actor.is_authenticated());
        assert_eq!(Caller::anonymous().actor(), None);
    }

    #[test]
    fn bearer_is_parsed() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer sk_1".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("sk_1"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
