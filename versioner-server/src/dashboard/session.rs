//! Sessions: signing in with an API key, the viewer of every page, CSRF tokens and
//! same-origin writes.
//!
//! - `POST /ui/sign-in` exchanges an API key for a session the core keeps in the database
//!   ([`Versioner::open_session`](versioner_core::Versioner::open_session): only the token's
//!   SHA-256), sent back as the cookie `vr_session` (`HttpOnly`, `SameSite=Strict`, `Path=/`,
//!   `Secure` when [`ServerOptions::secure_cookies`](crate::ServerOptions) is set), valid for
//!   [`SESSION_HOURS`] hours. Any server on the same database knows it, and it outlives a
//!   restart. `POST /ui/sign-out` deletes it.
//! - [`require_viewer`] resolves the cookie to a [`Viewer`] (the key's principal with its
//!   current role) for every page, or sends the browser to the sign-in page; with `--no-auth`
//!   every visitor is an anonymous admin, as on the API. [`require_read`] then holds every page
//!   to the `read` permission, as the API's queries are.
//! - Every form carries the session's CSRF token ([`Viewer::csrf`], derived from the session's
//!   secret, so it is never stored and never leaves the page), and [`CsrfForm`] refuses a
//!   `POST` without it.
//! - [`same_origin_writes`] refuses every `POST` sent from another site (`Origin` not this
//!   host, or `Sec-Fetch-Site` other than `same-origin`), with `--no-auth` too.

use axum::body::Bytes;
use axum::extract::{Form, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use versioner_core::access::sha256_hex;
use versioner_core::{Actor, ErrorCode, Permission, Role, Session};

use super::layout::{self, Nav};
use super::{Page, PageError};
use crate::{AppState, AuthMode};

/// The session cookie's name.
pub const COOKIE: &str = "vr_session";

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Who is looking at a page: a signed-in principal, or (with `--no-auth`) an anonymous admin.
#[derive(Debug, Clone)]
pub struct Viewer {
    session: Option<Session>,
    csrf: String,
}

impl Viewer {
    /// The visitor of a dashboard started with `--no-auth`: an anonymous admin.
    pub fn anonymous() -> Viewer {
        Viewer {
            session: None,
            csrf: String::new(),
        }
    }

    fn of(session: Session, token: &str) -> Viewer {
        Viewer {
            session: Some(session),
            csrf: csrf_token(token),
        }
    }

    /// The signed-in principal (`None` with `--no-auth`).
    pub fn principal(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.key.principal.as_str())
    }

    /// The principal's role (admin with `--no-auth`).
    pub fn role(&self) -> Role {
        self.session.as_ref().map_or(Role::Admin, |s| s.key.role)
    }

    /// Whether the viewer's role allows `permission` (the API's role matrix).
    pub fn may(&self, permission: Permission) -> bool {
        self.role().allows(permission)
    }

    /// The actor of the viewer's writes (`None` with `--no-auth`).
    pub fn actor(&self) -> Option<Actor> {
        self.session.as_ref().map(Session::actor)
    }

    /// Whether there is a session to sign out of.
    pub fn signed_in(&self) -> bool {
        self.session.is_some()
    }

    /// The CSRF token every form of this viewer carries (empty with `--no-auth`, where there
    /// is no session to protect and writes are held to the same origin only).
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    fn check_csrf(&self, given: Option<&str>) -> Result<(), PageError> {
        if self.session.is_none() {
            return Ok(());
        }
        match given {
            Some(g) if constant_time_eq(g.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(PageError::forbidden(
                "the form's CSRF token is missing or stale; reload the page and try again",
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Viewer, PageError> {
        parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .ok_or_else(|| PageError::forbidden("this page needs a signed-in viewer"))
    }
}

/// The CSRF token of the session whose secret is `token`: never stored, derivable only by
/// whoever holds the session's secret (the server, from the `HttpOnly` cookie).
fn csrf_token(token: &str) -> String {
    sha256_hex(format!("versioner-dashboard-csrf:{token}").as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.options().secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("vr_session=; Path=/; Max-Age=0"))
}

/// Where to go after signing in: a path on this site, never another site.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// The middleware of every page but sign-in: resolves the session cookie to a [`Viewer`], or
/// sends the browser to sign in (the live stream answers 401).
pub async fn require_viewer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let viewer = match state.auth_mode() {
        AuthMode::Open => Some(Viewer::anonymous()),
        AuthMode::Keys => match cookie(req.headers(), COOKIE) {
            None => None,
            Some(token) => {
                let vr = state.versioner().clone();
                let t = token.clone();
                match tokio::task::spawn_blocking(move || vr.session(&t)).await {
                    Ok(Ok(found)) => found.map(|s| Viewer::of(s, &token)),
                    Ok(Err(e)) => return PageError::from(e).into_response(),
                    Err(e) => {
                        return PageError::from(versioner_core::Error::internal(format!(
                            "session lookup failed: {e}"
                        )))
                        .into_response();
                    }
                }
            }
        },
    };
    let Some(viewer) = viewer else {
        if req.uri().path() == "/ui/events" {
            return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
        }
        let here = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let to = if req.method() == Method::GET && here != "/" {
            format!(
                "/ui/sign-in?{}",
                super::query_string([("next", here.as_str())])
            )
        } else {
            "/ui/sign-in".to_string()
        };
        return Redirect::to(&to).into_response();
    };
    req.extensions_mut().insert(viewer);
    next.run(req).await
}

/// The middleware of every page: the viewer's role must allow reading, as the API's queries
/// require.
pub async fn require_read(req: Request, next: Next) -> Response {
    let Some(viewer) = req.extensions().get::<Viewer>() else {
        return PageError::forbidden("this page needs a signed-in viewer").into_response();
    };
    if !viewer.may(Permission::Read) {
        return PageError::forbidden(format!(
            "`{}` has the role {}, which may not read the dashboard; sign in with another key",
            viewer.principal().unwrap_or("anonymous"),
            viewer.role()
        ))
        .into_response();
    }
    next.run(req).await
}

/// Whether a write comes from this site: `Sec-Fetch-Site` is `same-origin` (or `none`, typed
/// by the person), or else `Origin` names this host. A request with neither header was not
/// sent by a browser on another site's behalf.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// The middleware of the whole dashboard: a write (any method but `GET` and `HEAD`) from
/// another site is refused, signed in or not, with `--no-auth` too.
pub async fn same_origin_writes(req: Request, next: Next) -> Response {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    if !reads && !same_origin(req.headers()) {
        tracing::info!(path = %req.uri().path(), "refused: a dashboard write from another site");
        return PageError::forbidden("a write from another site is refused").into_response();
    }
    next.run(req).await
}

/// A form body whose `csrf` field carries the viewer's CSRF token; any other body is refused
/// (403) before the handler runs.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let viewer = req
            .extensions()
            .get::<Viewer>()
            .cloned()
            .ok_or_else(|| PageError::forbidden("this form needs a signed-in viewer"))?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| PageError::from(versioner_core::Error::invalid("body", e.body_text())))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageError::from(versioner_core::Error::invalid("body", e.to_string())))?;
        let given = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        viewer.check_csrf(given)?;
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| PageError::from(versioner_core::Error::invalid("form", e.to_string())))
    }
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    /// The API key.
    #[serde(default)]
    pub key: String,
    /// Where to go next.
    #[serde(default)]
    pub next: Option<String>,
}

fn sign_in_form(
    next: &str,
    error: Option<&str>,
    note: Option<&str>,
    no_keys: bool,
) -> maud::Markup {
    layout::page(
        "Sign in",
        None,
        Nav::None,
        html! {
            section.signin {
                h1 { "Sign in to Versioner" }
                @if let Some(n) = note { p.note role="status" { (n) } }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                @if no_keys {
                    p.warn data-no-keys="true" {
                        "No API key exists yet, so nobody can sign in. Create one with "
                        code { "versioner keys create --db FILE --name NAME --role admin" }
                        " (it is printed once), or start the server with "
                        code { "--no-auth" } " on a machine only you use."
                    }
                }
                form method="post" action="/ui/sign-in" {
                    input type="hidden" name="next" value=(next);
                    label for="key" { "API key" }
                    input #key type="password" name="key" autocomplete="off" required
                        placeholder="sk_vr_…" autofocus;
                    button type="submit" { "Sign in" }
                }
                p.muted {
                    "Create a key with " code { "versioner keys create --name NAME --role viewer" }
                    ". The key is exchanged for a session cookie; it is not kept in the browser."
                }
            }
        },
    )
}

/// `GET /ui/sign-in`: the form (with `--no-auth`, straight to the matrix).
pub async fn sign_in_page(State(state): State<AppState>, q: super::Fields) -> Response {
    let next = local_path(q.get("next").as_deref());
    if state.auth_mode() == AuthMode::Open {
        return Redirect::to(&next).into_response();
    }
    let note = q.has("signed_out").then_some("You are signed out.");
    let vr = state.versioner().clone();
    let no_keys = matches!(
        tokio::task::spawn_blocking(move || vr.has_active_api_keys()).await,
        Ok(Ok(false))
    );
    sign_in_form(&next, None, note, no_keys).into_response()
}

/// `POST /ui/sign-in`: exchanges the key for a session cookie, then goes on to `next`.
pub async fn sign_in(State(state): State<AppState>, Form(form): Form<SignIn>) -> Page {
    let next = local_path(form.next.as_deref());
    if state.auth_mode() == AuthMode::Open {
        return Ok(Redirect::to(&next).into_response());
    }
    let vr = state.versioner().clone();
    let key = form.key;
    let lifetime = chrono::TimeDelta::hours(SESSION_HOURS);
    let opened = tokio::task::spawn_blocking(move || vr.open_session(&key, lifetime))
        .await
        .map_err(|e| PageError::from(versioner_core::Error::internal(e.to_string())))?;
    match opened {
        Ok(s) => {
            tracing::info!(principal = %s.session.key.principal, key = %s.session.key.name, "dashboard sign-in");
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, &s.token, SESSION_HOURS * 3600),
            );
            Ok(resp)
        }
        Err(e) if e.code() == ErrorCode::Unauthorized => {
            tracing::info!("dashboard sign-in refused: unknown or revoked key");
            Ok((
                StatusCode::UNAUTHORIZED,
                sign_in_form(
                    &next,
                    Some("That key is not valid: it is unknown or revoked."),
                    None,
                    false,
                ),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The sign-out form's fields (its CSRF token only).
#[derive(Debug, Deserialize)]
pub struct SignOut {}

/// `POST /ui/sign-out`: deletes the session and its cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    _form: CsrfForm<SignOut>,
) -> Page {
    if state.auth_mode() == AuthMode::Open {
        return Ok(Redirect::to("/").into_response());
    }
    if let Some(token) = cookie(&headers, COOKIE) {
        let vr = state.versioner().clone();
        tokio::task::spawn_blocking(move || vr.close_session(&token))
            .await
            .map_err(|e| PageError::from(versioner_core::Error::internal(e.to_string())))??;
    }
    let mut resp = Redirect::to("/ui/sign-in?signed_out=1").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_path(Some("/ui/rules?x=1")), "/ui/rules?x=1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "rules",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn writes_from_another_site_are_told_apart() {
        let mut h = HeaderMap::new();
        assert!(
            same_origin(&h),
            "no browser headers: not a cross-site browser write"
        );
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h), "Sec-Fetch-Site decides when present");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn the_csrf_token_is_the_session_s_own() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
