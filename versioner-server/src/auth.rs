//! Authentication and authorization: `Authorization: Bearer <key>`, checked against the
//! hashed keys kept in the database, and the route table's permission for the matched route.
//!
//! - No or an unknown key: 401 `{"detail": "Invalid API key", "code": "UNAUTHORIZED", …}`.
//! - A key whose role does not allow the route: 403
//!   `{"detail": "You do not have permission to perform this action", "code": "FORBIDDEN", …}`.
//! - A route answered by the server but missing from the table: 403 (fail closed).
//!
//! With `--no-auth` every request acts as an anonymous admin. Keys are never logged; the log
//! names the key by its name.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use versioner_core::Error;

use super::AppState;
use super::http::ApiError;
use super::routes::{self, Permission};
use versioner_core::{ApiKey, Role};

/// Who is calling, inserted into the request by [`authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's id (`None` without authentication).
    pub key_id: Option<String>,
    /// The key's name (`anonymous` without authentication).
    pub name: String,
    /// The key's role.
    pub role: Role,
}

impl Caller {
    /// The caller of a server started with `--no-auth`.
    pub fn anonymous() -> Caller {
        Caller {
            key_id: None,
            name: "anonymous".into(),
            role: Role::Admin,
        }
    }

    /// Who to record as the actor of a change: the key's name, with the person the request
    /// names (if any) in front of it.
    pub fn actor(&self, given: Option<&str>) -> String {
        match (given.map(str::trim).filter(|g| !g.is_empty()), &self.key_id) {
            (Some(g), Some(_)) if g != self.name => format!("{g} (key {})", self.name),
            (Some(g), _) => g.to_string(),
            (None, Some(_)) => self.name.clone(),
            (None, None) => "api".into(),
        }
    }
}

impl From<ApiKey> for Caller {
    fn from(k: ApiKey) -> Caller {
        Caller {
            key_id: Some(k.id),
            name: k.name,
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
    ApiError(Error::Unauthorized {
        message: "Invalid API key".into(),
    })
    .into_response()
}

fn forbidden() -> Response {
    ApiError(Error::Forbidden {
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
    let permission = match routes::permission(req.method().as_str(), &path) {
        Some(p) => p,
        // A known path under another method: the router answers 405.
        None if routes::path_known(&path) => return next.run(req).await,
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
        tracing::info!(%path, key = %caller.name, role = %caller.role, "refused: role lacks permission");
        return forbidden();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_names_the_key() {
        let c = Caller {
            key_id: Some("ab12".into()),
            name: "ci".into(),
            role: Role::Admin,
        };
        assert_eq!(c.actor(None), "ci");
        assert_eq!(c.actor(Some("dana")), "dana (key ci)");
        assert_eq!(Caller::anonymous().actor(Some("dana")), "dana");
        assert_eq!(Caller::anonymous().actor(None), "api");
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
