//! Server-side idempotency: a write retried with the same `Idempotency-Key` is answered, not
//! recorded again.
//!
//! For a `POST`, `PUT` or `DELETE` carrying the header, the middleware
//! 1. serializes requests with the same `(caller, key)` (a retry that overtakes a slow first
//!    attempt waits for it);
//! 2. answers from the server file when an answer is stored: the same status and body, plus
//!    `Idempotent-Replayed: true`; a key reused for a different request (another method, path
//!    or body) is a 422 naming `Idempotency-Key`;
//! 3. otherwise runs the request in its own task, so that it completes and its answer is
//!    stored even when the client disconnects or the request timeout fires, and stores any
//!    answer below 500. A 5xx is not stored: the retry runs again, which is safe because a
//!    failed core call wrote nothing.
//!
//! Answers are kept 24 hours ([`ServerStore`](super::store::ServerStore)). Requests without
//! the header are not deduplicated (the core still makes a repeated `invoke_id` + status
//! idempotent).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedMutexGuard;
use versioner_core::Error;
use versioner_core::client::IDEMPOTENCY_KEY;

use super::AppState;
use super::auth::Caller;
use super::http::{ApiError, too_large};
use super::store::{StoredResponse, sha256_hex};

/// The header marking a replayed answer.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// One async mutex per key in use; entries are removed when nobody holds or awaits them.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds one key's lock; releases (and forgets) it on drop.
#[derive(Debug)]
pub struct KeyGuard {
    locks: Arc<KeyedLocks>,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    /// Waits for and takes the lock of `key`.
    pub async fn lock(self: &Arc<Self>, key: &str) -> KeyGuard {
        let mutex = {
            let mut map = self
                .map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(map.entry(key.to_string()).or_default())
        };
        let guard = mutex.lock_owned().await;
        KeyGuard {
            locks: Arc::clone(self),
            key: key.to_string(),
            guard: Some(guard),
        }
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .locks
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // INVARIANT: waiters clone the entry under the map lock, so a count of 1 (the map's
        // own) read under it means nobody holds or awaits this key.
        if map
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.key);
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, Body::from(stored.body)).into_response();
    if let Some(ct) = stored
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    resp
}

/// The middleware.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match raw.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_string(),
        _ => {
            return ApiError(Error::invalid(
                IDEMPOTENCY_KEY,
                "must be 1 to 255 visible ASCII characters",
            ))
            .into_response();
        }
    };
    let scope = req
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.key_id.clone())
        .unwrap_or_else(|| "-".into());
    let slot = format!("{scope}\n{key}");
    let guard = state.locks().lock(&slot).await;

    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, state.body_limit()).await else {
        return too_large(state.body_limit());
    };
    let mut fingerprint = format!(
        "{} {}\n",
        parts.method,
        parts.uri.path_and_query().map_or("", |p| p.as_str())
    )
    .into_bytes();
    fingerprint.extend_from_slice(&bytes);
    let request_hash = sha256_hex(&fingerprint);

    let (s, k) = (scope.clone(), key.clone());
    match state.server(move |srv| srv.stored_response(&s, &k)).await {
        Err(e) => return e.into_response(),
        Ok(Some(stored)) if stored.request_hash == request_hash => {
            tracing::info!(path = %parts.uri.path(), "idempotent replay");
            return replay(stored);
        }
        Ok(Some(_)) => {
            return ApiError(Error::invalid(
                IDEMPOTENCY_KEY,
                format!(
                    "`{key}` was already used for a different request; send a new key with a new request"
                ),
            ))
            .into_response();
        }
        Ok(None) => {}
    }

    let req = Request::from_parts(parts, Body::from(bytes));
    let task = tokio::spawn(async move {
        let _guard = guard;
        let resp = next.run(req).await;
        let (parts, body) = resp.into_parts();
        let Ok(bytes) = to_bytes(body, usize::MAX).await else {
            return ApiError(Error::internal("cannot buffer the response")).into_response();
        };
        if parts.status.as_u16() < 500 {
            let stored = StoredResponse {
                request_hash,
                status: parts.status.as_u16(),
                content_type: parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                body: bytes.to_vec(),
            };
            if let Err(e) = state
                .server(move |srv| srv.save_response(&scope, &key, &stored))
                .await
            {
                // The answer stands; a retry would run again.
                tracing::error!(error = ?e, "cannot store the idempotent answer");
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    task.await.unwrap_or_else(|e| {
        ApiError(Error::internal(format!("request task failed: {e}"))).into_response()
    })
}
