//! The Versioner HTTP API over the core (axum on tokio), run by `versioner serve`.
//!
//! [`router`] builds the whole application from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no network; [`serve`] runs it on a listener until the
//! shutdown future resolves (SIGINT or SIGTERM in the binary, see [`shutdown_signal`]), letting
//! requests in flight finish.
//!
//! Layers, outermost first: tracing (method, path, status, latency; never headers, so never
//! keys) → request timeout (503 in our body shape) → authentication and authorization
//! ([`auth`]) → idempotency ([`idempotency`]) → the handler. Handlers parse, make one core
//! call on the blocking pool (`spawn_blocking`: the core's SQLite calls block) and convert with
//! [`versioner_core::wire`]; errors go through one mapping, [`http::ApiError`].
//!
//! # Routes
//! The Versioner Events API (`POST /build-events/`, `POST /deployment-events/`, legacy
//! `POST /version-events/`), queries, rules, approvals and a dry-run check, one router per
//! area in [`api`], each route declared once on its handler. The same declarations make the
//! OpenAPI 3.1 document ([`openapi`], served at `/openapi.json`), the permission table
//! ([`routes::ROUTES`]) and the API reference at `/docs` (Swagger UI, served offline).

pub mod api;
pub mod auth;
pub mod delivery;
pub mod http;
pub mod idempotency;
pub mod legacy;
pub mod openapi;
pub mod routes;

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
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            auth: AuthMode::Keys,
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
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
}

impl AppState {
    /// The state of a server over `vr`. API keys and idempotency records live in `vr`'s
    /// store, so every server on one database shares them.
    pub fn new(vr: Versioner, options: ServerOptions) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                vr,
                options,
                locks: Arc::new(KeyedLocks::default()),
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
            .map_err(|e| ApiError(Error::internal(format!("core task failed: {e}"))))?
            .map_err(ApiError)
    }
}

async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.inner.options.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError(Error::Storage {
            message: format!("the request did not complete within {}s", limit.as_secs()),
            source: None,
        })
        .into_response(),
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (routes, _) = api::routes().split_for_parts();
    routes
        .fallback(api::meta::not_found)
        .method_not_allowed_fallback(api::meta::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.body_limit()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` resolves; requests in flight finish
/// first.
///
/// # Errors
/// The listener's I/O error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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
