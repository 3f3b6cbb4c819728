//! The dashboard: what's deployed where, live, in a browser, served by `versioner serve` at
//! `/`, same origin as the API, with every asset compiled into the binary.
//!
//! # Technology
//! Pages are rendered on the server with [maud](https://maud.lambda.xyz): HTML written as Rust
//! expressions, checked by the compiler (a renamed field breaks the build, not a page at run
//! time), escaped by default, with no template files to find, ship or keep in step. A newcomer
//! changes a page by editing one function in the module named for it. A little plain
//! JavaScript (`assets/app.js`, no framework, no build step) adds live updates; every page
//! works without it. The stylesheet follows the system's dark or light setting. Nothing is
//! fetched from another host: no fonts, no scripts, no CDN.
//!
//! The dashboard holds no domain logic: every answer comes from one or a few core queries
//! ([`Versioner::state`](versioner_core::Versioner::state),
//! [`history`](versioner_core::Versioner::history),
//! [`violations`](versioner_core::Versioner::violations),
//! [`decision_for_deployment`](versioner_core::Versioner::decision_for_deployment),
//! [`check`](versioner_core::Versioner::check),
//! [`set_rule_status`](versioner_core::Versioner::set_rule_status), …), run as the signed-in
//! principal, so the core records it and checks its role.
//!
//! # Pages (modules by page)
//! | route | module | what |
//! |---|---|---|
//! | `GET /` | [`matrix`] | the environment state matrix (filters, "as of") |
//! | `GET /ui/cell` | [`matrix`] | one product in one environment: version, verdict, history |
//! | `GET /ui/deployments` | [`deployments`] | history with filters, blocked attempts with their verdicts |
//! | `GET /manage/deployments?view=<id>` | [`deployments`] | a notification's `source_url`: redirects to the deployment's cell |
//! | `GET /ui/products`, `/ui/products/{product}`, `/ui/products/{product}/versions/{version}` | [`products`] | products, versions, approvals |
//! | `GET /ui/requests`, `/ui/requests/{id}`, `POST /ui/requests/{id}/decide`, `POST /ui/requests/{id}/step` | [`requests`] | Deployment Requests: what awaits the viewer, slots with approve/reject, steps, the progress grid |
//! | `GET /ui/insights` | [`insights`] | the four keys (DORA) for a product and environments, with a weekly series |
//! | `GET /ui/rules`, `POST /ui/rules/status`, `GET /ui/check` | [`rules`] | rules and their audit trail, status changes, the what-if form |
//! | `GET /ui/events` | [`live`] | the live stream (server-sent events fed by the outbox) |
//! | `GET,POST /ui/sign-in`, `POST /ui/sign-out` | [`session`] | sessions |
//! | `GET /ui/assets/{file}` | here | the stylesheet and the script |
//!
//! # Protection
//! The dashboard is a route group of its own, beside the API (whose bearer-key
//! authentication it does not pass through), with its own layers ([`session`]):
//! - **Sign-in** exchanges an API key for a session kept in the database (only its token's
//!   hash), sent back as an `HttpOnly`, `SameSite=Strict` cookie (`Secure` with
//!   [`ServerOptions::secure_cookies`](crate::ServerOptions)). Every page and action is held
//!   to the role matrix exactly as the API is: reading needs `read`, changing a rule's status
//!   `rules` (and the core checks it again).
//! - **CSRF**: every form carries the session's token (derived from the session's secret), and
//!   every `POST` is refused without it.
//! - **Same origin**: every `POST` whose `Origin` or `Sec-Fetch-Site` says it came from another
//!   site is refused, with `--no-auth` too (the dashboard is then open, as the API is).
//! - Every answer carries a strict `Content-Security-Policy` (scripts and styles from this
//!   origin only), `X-Content-Type-Options`, `X-Frame-Options` and `Referrer-Policy`, and
//!   pages are not cached.

pub mod deployments;
pub mod insights;
pub mod layout;
pub mod live;
pub mod matrix;
pub mod products;
pub mod requests;
pub mod rules;
pub mod session;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use versioner_core::{Error, ErrorCode, Versioner};

use crate::AppState;
pub use session::Viewer;

/// The dashboard's routes, with their layers; merged beside the API by
/// [`router`](crate::router).
pub fn routes(state: AppState) -> Router<AppState> {
    // Pages that need a signed-in viewer whose role may read.
    let pages = Router::new()
        .route("/", get(matrix::home))
        .route("/ui/cell", get(matrix::cell))
        .route("/ui/deployments", get(deployments::page))
        .route("/manage/deployments", get(deployments::view))
        .route("/ui/products", get(products::list))
        .route("/ui/products/{product}", get(products::product))
        .route(
            "/ui/products/{product}/versions/{version}",
            get(products::version),
        )
        .route("/ui/requests", get(requests::list))
        .route("/ui/requests/{id}", get(requests::page))
        .route("/ui/requests/{id}/decide", post(requests::decide))
        .route("/ui/requests/{id}/step", post(requests::step))
        .route("/ui/insights", get(insights::page))
        .route("/ui/rules", get(rules::page))
        .route("/ui/rules/status", post(rules::set_status))
        .route("/ui/check", get(rules::what_if))
        .route("/ui/events", get(live::events))
        .route_layer(middleware::from_fn(session::require_read));
    pages
        .route("/ui/sign-out", post(session::sign_out))
        .route_layer(middleware::from_fn_with_state(
            state,
            session::require_viewer,
        ))
        .route(
            "/ui/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/ui/assets/{file}", get(asset))
        .layer(middleware::from_fn(session::same_origin_writes))
        .layer(middleware::from_fn(security_headers))
        .layer(CompressionLayer::new())
}

/// The policy every dashboard answer carries: nothing from another origin, no inline script
/// or style, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/ui/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

const STYLE: &str = include_str!("assets/app.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// The stylesheet and the script, compiled in.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (STYLE, "text/css; charset=utf-8"),
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        _ => return PageError::not_found("no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

// ----- what every page shares ----------------------------------------------------------------

/// A page that could not be answered: its status, and a message for the person reading it.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    code: Option<ErrorCode>,
    message: String,
}

impl PageError {
    /// A 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            code: Some(ErrorCode::NotFound),
            message: message.into(),
        }
    }

    /// A 403 with `message`.
    pub fn forbidden(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::FORBIDDEN,
            code: Some(ErrorCode::Forbidden),
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> PageError {
        let status = StatusCode::from_u16(e.code().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() {
            tracing::error!(code = %e.code(), error = %e, "dashboard page failed");
            "the server could not answer; the log has the details".to_string()
        } else {
            e.to_string()
        };
        PageError {
            status,
            code: Some(e.code()),
            message,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.code == Some(ErrorCode::Unauthorized) {
            return Redirect::to("/ui/sign-in").into_response();
        }
        let title = self
            .status
            .canonical_reason()
            .unwrap_or("Error")
            .to_string();
        let body = layout::page(
            &title,
            None,
            layout::Nav::None,
            maud::html! {
                h1 { (title) }
                p.error role="alert" {
                    @if let Some(code) = self.code { code { (code.as_str()) } ": " }
                    (self.message)
                }
                p { a href="/" { "Back to the matrix" } }
            },
        );
        (self.status, body).into_response()
    }
}

/// What a page handler answers.
pub type Page = Result<Response, PageError>;

/// Runs a core call on the blocking pool as the viewer (the session's principal; nobody with
/// `--no-auth`), so the core records it and checks its role.
pub async fn core<T: Send + 'static>(
    state: &AppState,
    viewer: &Viewer,
    f: impl FnOnce(&Versioner) -> versioner_core::Result<T> + Send + 'static,
) -> Result<T, PageError> {
    let vr = match viewer.actor() {
        Some(actor) => state.versioner().acting_as(actor),
        None => state.versioner().clone(),
    };
    tokio::task::spawn_blocking(move || f(&vr))
        .await
        .map_err(|e| PageError::from(Error::internal(format!("core task failed: {e}"))))?
        .map_err(PageError::from)
}

/// A page's query string: every `name=value` pair, repeatable, read on demand.
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Fields {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Fields(pairs))
            .map_err(|e| PageError::from(Error::invalid("query", e.body_text())))
    }
}

impl Fields {
    /// Fields from pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs)
    }

    /// The last non-blank value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    /// Whether `name` was given at all (even blank).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// An instant given for `name`: RFC 3339, or a `datetime-local` value (`2026-11-20T13:00`),
    /// which the dashboard's forms state in UTC.
    pub fn instant(&self, name: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, PageError> {
        self.get(name)
            .map(|v| versioner_core::wire::instant(name, &utc_text(&v)).map_err(PageError::from))
            .transpose()
    }
}

/// A `datetime-local` value (no offset) as RFC 3339 in UTC; other text unchanged.
fn utc_text(v: &str) -> String {
    let bare = v.len() >= 16
        && v.as_bytes().get(10) == Some(&b'T')
        && !v.ends_with('Z')
        && !v.ends_with('z')
        && !v[10..].contains(['+', '-']);
    match (bare, v.len()) {
        (true, 16) => format!("{v}:00Z"),
        (true, _) => format!("{v}Z"),
        _ => v.to_string(),
    }
}

/// A query string built from pairs (blank values left out).
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let pairs: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// A path segment, percent-encoded.
pub fn segment(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').replace('+', "%20"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_are_read_as_utc() {
        assert_eq!(utc_text("2026-11-20T13:00"), "2026-11-20T13:00:00Z");
        assert_eq!(utc_text("2026-11-20T13:00:05"), "2026-11-20T13:00:05Z");
        assert_eq!(utc_text("2026-11-20T13:00:00Z"), "2026-11-20T13:00:00Z");
        assert_eq!(
            utc_text("2026-11-20T13:00:00+02:00"),
            "2026-11-20T13:00:00+02:00"
        );
        let f = Fields::new(vec![("at".into(), "yesterday".into())]);
        let e = f.instant("at").unwrap_err();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn names_are_encoded_for_links() {
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(
            query_string([("product", "a&b"), ("environment", "")]),
            "product=a%26b"
        );
    }
}
