//! The Versioner HTTP API over the core (axum on tokio), run by `versioner serve`.
//!
//! [`router`] builds the whole application from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no network; [`serve`] runs it on a listener until the
//! shutdown future resolves (SIGINT or SIGTERM in the binary, see [`shutdown_signal`]), letting
//! requests in flight finish; [`serve_with`] adds the connection limits, timeouts and TLS of
//! [`connections`] and [`tls`].
//!
//! Layers, outermost first: tracing (method, path, status, latency; never headers, so never
//! keys) → security headers, the Host allow-list and same-origin writes ([`guard`]) → request
//! timeout (503 in our body shape) → the per-address rate limit ([`limits`]) → authentication
//! and authorization ([`auth`]) → the per-key rate limit → JSON-only bodies
//! ([`guard::json_bodies`]) → idempotency ([`idempotency`]) → the handler; the first five
//! are [`shared_layers`] (every route), the rest [`api_routes`]'s (the JSON API only). Handlers
//! parse, make one core
//! call on the blocking pool (`spawn_blocking`: the core's SQLite calls block) and convert with
//! [`versioner_core::wire`]; errors go through one mapping, [`http::ApiError`].
//!
//! # Routes
//! The Versioner Events API (`POST /build-events/`, `POST /deployment-events/`, legacy
//! `POST /version-events/`), queries, rules, approvals and a dry-run check, one router per
//! area in [`api`], each route declared once on its handler. The same declarations make the
//! OpenAPI 3.1 document ([`openapi`], served at `/openapi.json`), the permission table
//! ([`routes::ROUTES`]) and the API reference at `/docs` (Swagger UI, served offline).
//!
//! The dashboard ([`dashboard`]) is served at `/` and under `/ui/`: a route group of its own,
//! merged beside the API, with its own protection (a session cookie exchanged for an API
//! key, a CSRF token on every form, same-origin writes) instead of bearer keys.

pub mod api;
pub mod auth;
pub mod connections;
pub mod dashboard;
pub mod delivery;
pub mod guard;
pub mod http;
pub mod idempotency;
pub mod legacy;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod slack;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use versioner_core::{Error, Result, Versioner};

pub use auth::{AuthMode, Caller};
pub use connections::{ConnectionOptions, serve_with};
pub use limits::{RateLimit, RateLimits};
pub use tls::Tls;
pub use versioner_core::{Actor, ApiKey, Role};

use http::ApiError;
use idempotency::KeyedLocks;

/// The default request body limit: 1 MiB (an event's `extra_metadata` is at most 100 KB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How the server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Keys required (default) or `--no-auth`.
    pub auth: AuthMode,
    /// The largest request body accepted; larger is a 413.
    pub body_limit: usize,
    /// How long a request may take before it is answered 503 (its core call still
    /// completes, and an idempotent write's answer is still stored).
    pub request_timeout: Duration,
    /// Whether the dashboard's cookies are marked `Secure` (sent over HTTPS only): set it
    /// when the server is reached over TLS.
    pub secure_cookies: bool,
    /// The names (`host` or `host:port`) the server answers to; empty (the default) answers
    /// any `Host`. See [`guard`].
    pub allowed_hosts: Vec<String>,
    /// Rate limits per key and per client address (none by default). See [`limits`].
    pub rate_limits: RateLimits,
    /// The Slack app's configuration; without it `POST /integrations/slack/commands`
    /// answers 404. See [`slack`].
    pub slack: Option<slack::SlackConfig>,
    /// This server's public URL (`https://versioner.example.com`): replies that link to the
    /// dashboard (the Slack app's) use it.
    pub public_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            auth: AuthMode::Keys,
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            secure_cookies: false,
            allowed_hosts: Vec::new(),
            rate_limits: RateLimits::default(),
            slack: None,
            public_url: None,
        }
    }
}

impl ServerOptions {
    /// Sets the authentication mode.
    #[must_use]
    pub fn auth(mut self, auth: AuthMode) -> ServerOptions {
        self.auth = auth;
        self
    }

    /// Sets the body limit.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> ServerOptions {
        self.body_limit = bytes;
        self
    }

    /// Sets the request timeout.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> ServerOptions {
        self.request_timeout = timeout;
        self
    }

    /// Marks the dashboard's cookies `Secure` (for a server reached over TLS).
    #[must_use]
    pub fn secure_cookies(mut self, secure: bool) -> ServerOptions {
        self.secure_cookies = secure;
        self
    }

    /// Sets the rate limits.
    #[must_use]
    pub fn rate_limits(mut self, limits: RateLimits) -> ServerOptions {
        self.rate_limits = limits;
        self
    }

    /// Answers the Slack app's slash commands with this configuration.
    #[must_use]
    pub fn slack(mut self, config: slack::SlackConfig) -> ServerOptions {
        self.slack = Some(config);
        self
    }

    /// Sets the server's public URL (links to the dashboard).
    #[must_use]
    pub fn public_url(mut self, url: Option<String>) -> ServerOptions {
        self.public_url = url;
        self
    }

    /// Sets the names the server answers to (`--allowed-host`, repeatable): a request with
    /// another `Host` is refused (421). Empty answers any.
    #[must_use]
    pub fn allowed_hosts(mut self, hosts: Vec<String>) -> ServerOptions {
        self.allowed_hosts = hosts;
        self
    }
}

/// What every handler shares: the core, the server file and the options. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    vr: Versioner,
    options: ServerOptions,
    locks: Arc<KeyedLocks>,
    /// Turns `true` when the server begins shutting down: long-lived answers (the
    /// dashboard's event stream) end then, so requests in flight can finish.
    closing: tokio::sync::watch::Sender<bool>,
    limiters: limits::Limiters,
    metrics: metrics::Metrics,
}

impl AppState {
    /// The state of a server over `vr`. API keys and idempotency records live in `vr`'s
    /// store, so every server on one database shares them.
    pub fn new(vr: Versioner, options: ServerOptions) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                vr,
                limiters: limits::Limiters::new(options.rate_limits),
                options,
                locks: Arc::new(KeyedLocks::default()),
                closing: tokio::sync::watch::Sender::new(false),
                metrics: metrics::Metrics::new(),
            }),
        }
    }

    /// The core.
    pub fn versioner(&self) -> &Versioner {
        &self.inner.vr
    }

    pub(crate) fn auth_mode(&self) -> AuthMode {
        self.inner.options.auth
    }

    pub(crate) fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    /// The server's metrics (`GET /metrics`).
    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// A receiver that changes to `true` when the server begins shutting down.
    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// Tells long-lived answers that the server is shutting down.
    pub fn begin_shutdown(&self) {
        self.inner.closing.send_replace(true);
    }

    pub(crate) fn limiters(&self) -> &limits::Limiters {
        &self.inner.limiters
    }

    pub(crate) fn allowed_hosts(&self) -> &[String] {
        &self.inner.options.allowed_hosts
    }

    pub(crate) fn body_limit(&self) -> usize {
        self.inner.options.body_limit
    }

    pub(crate) fn locks(&self) -> &Arc<KeyedLocks> {
        &self.inner.locks
    }

    /// Runs a core call on the blocking pool, as the request's actor (the authenticated
    /// key's principal, see [`auth`]), so the core records it and checks its role. Inside an
    /// idempotent request (see [`idempotency`]) the core is also handed the request's claim,
    /// so the write and its idempotency record commit together.
    pub(crate) async fn core<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Versioner) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let vr = match auth::current_actor() {
            Some(actor) => self.inner.vr.acting_as(actor),
            None => self.inner.vr.clone(),
        };
        let vr = match idempotency::current_claim() {
            Some(claim) => vr.with_idempotency(claim),
            None => vr,
        };
        tokio::task::spawn_blocking(move || f(&vr))
            .await
            .map_err(|e| ApiError::from(Error::internal(format!("core task failed: {e}"))))?
            .map_err(ApiError::from)
    }
}

async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // A deployment event that may wait in the queue (`?wait=`) has its wait on top.
    let waits = match req.uri().query() {
        Some(q) if req.uri().path() == "/deployment-events/" => {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()
                .and_then(|pairs| {
                    pairs
                        .into_iter()
                        .rev()
                        .find(|(k, v)| k == "wait" && !v.trim().is_empty())
                })
                .and_then(|(_, v)| versioner_core::queue::parse_wait(&v, "wait").ok())
        }
        _ => None,
    };
    let limit = state.inner.options.request_timeout + waits.unwrap_or_default();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::from(Error::Storage {
            message: format!("the request did not complete within {}s", limit.as_secs()),
            source: None,
        })
        .into_response(),
    }
}

/// The whole application: [`api_routes`] (authenticated by API keys, see [`auth`]), the
/// dashboard ([`dashboard`], its own route group with its own protection: session cookies,
/// CSRF tokens, same-origin writes) and the Slack app ([`slack`], authenticated by Slack's
/// request signature), under [`shared_layers`].
pub fn router(state: AppState) -> Router {
    shared_layers(
        api_routes(&state)
            .merge(dashboard::routes(state.clone()))
            .merge(slack::routes()),
        state,
    )
}

/// The JSON API's routes, with the layers that belong to the API alone: authentication and
/// authorization from the route table, the per-key rate limit, JSON-only bodies, idempotency
/// and the body limit, plus the JSON 404 and 405 fallbacks.
///
/// Another group of routes (pages that post forms, with their own sessions) merges here,
/// `api_routes(&state).merge(pages)`, and gets only [`shared_layers`]: the API's key check and
/// JSON rule do not apply to it, and [`guard::check_origin`] is there for its form posts.
pub fn api_routes(state: &AppState) -> Router<AppState> {
    let (routes, _) = api::routes().split_for_parts();
    routes
        // A route layer: it runs only for a request a route takes (method included), so an
        // unknown route or method is answered 404/405 whatever `Idempotency-Key` it carries.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .fallback(api::meta::not_found)
        .method_not_allowed_fallback(api::meta::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.body_limit()))
        .layer(middleware::from_fn(guard::json_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::per_key,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
}

/// The layers every route shares, API and pages alike, outermost first: tracing, the security
/// headers, the Host allow-list, same-origin writes, the request timeout and the per-address
/// rate limit.
pub fn shared_layers(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer(middleware::from_fn_with_state(state.clone(), limits::per_ip))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard::hosts))
        .layer(middleware::from_fn(guard::security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` resolves, with the default
/// [`ConnectionOptions`] (plain HTTP); requests in flight finish first. Equals
/// `serve_with(listener, state, ConnectionOptions::default(), shutdown)`.
///
/// # Errors
/// As [`serve_with`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ConnectionOptions::default(), shutdown).await
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
