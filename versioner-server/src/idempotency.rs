//! Server-side idempotency: a write retried with the same `Idempotency-Key` is answered, not
//! recorded again.
//!
//! For a `POST`, `PUT` or `DELETE` carrying the header, the middleware
//! 1. serializes requests with the same `(caller, key)` (a retry that overtakes a slow first
//!    attempt waits for it);
//! 2. answers from the database when an answer is stored: the same status and body, plus
//!    `Idempotent-Replayed: true`; a key reused for a different request (another method, path
//!    or body) is a 422 naming `Idempotency-Key`;
//! 3. otherwise runs the request in its own task, so that it completes even when the client
//!    disconnects or the request timeout fires, with an [`IdempotencyClaim`] that the
//!    handler's core call receives ([`current_claim`]). The core writes the claim's record
//!    **in the same transaction** as the write itself, so a write that committed is never run
//!    again: a retry after a crash between the commit and the answer finds the record, and the
//!    core gives back the recorded result, which the handler answers as before;
//! 4. keeps any other answer below 500 (a refusal, a validation error) in a transaction of its
//!    own. A 5xx is not kept: the retry runs again, which is safe because a failed core call
//!    wrote nothing.
//!
//! Records live in the store beside the records they protect (24 hours), so every server on
//! one database shares them. Requests without the header are not deduplicated (the core
//! still makes a repeated `invoke_id` + status idempotent).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedMutexGuard;
use versioner_core::access::{StoredAnswer, sha256_hex};
use versioner_core::client::IDEMPOTENCY_KEY;
use versioner_core::{Error, IdempotencyClaim};

use super::AppState;
use super::auth::Caller;
use super::http::{ApiError, too_large};

tokio::task_local! {
    /// The claim of the idempotent request this task is answering.
    static CLAIM: Arc<IdempotencyClaim>;
}

/// The claim of the idempotent request being answered on this task, if any.
pub fn current_claim() -> Option<Arc<IdempotencyClaim>> {
    CLAIM.try_with(Arc::clone).ok()
}

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

fn replay(stored: StoredAnswer) -> Response {
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
    // Only the methods that write are guarded: any other (GET, HEAD, TRACE, an unknown one)
    // goes on to the router, which answers it (a 405 for a method no route takes), whatever
    // key it carries.
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match raw.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_string(),
        _ => {
            return ApiError(
                Error::invalid(IDEMPOTENCY_KEY, "must be 1 to 255 visible ASCII characters"),
                versioner_core::wire::Place::Header,
            )
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

    let claim = Arc::new(IdempotencyClaim::new(&scope, &key, &request_hash));
    let (s, k) = (scope.clone(), key.clone());
    match state.core(move |vr| vr.idempotency_record(&s, &k)).await {
        Err(e) => return e.into_response(),
        Ok(Some(found)) if found.request_hash != request_hash => {
            return ApiError(claim.reused(), versioner_core::wire::Place::Header).into_response();
        }
        Ok(Some(found)) => {
            if let Some(answer) = found.answer {
                tracing::info!(path = %parts.uri.path(), "idempotent replay");
                return replay(answer);
            }
            // A write committed without an answer (the server stopped in between): the
            // handler runs, and the core gives back the recorded result.
        }
        Ok(None) => {}
    }

    let req = Request::from_parts(parts, Body::from(bytes));
    // The request's actor goes with it to the task that answers it.
    let actor = super::auth::current_actor();
    let task = tokio::spawn(super::auth::with_actor(
        actor,
        CLAIM.scope(Arc::clone(&claim), async move {
            let _guard = guard;
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let Ok(bytes) = to_bytes(body, usize::MAX).await else {
                return ApiError::from(Error::internal("cannot buffer the response"))
                    .into_response();
            };
            if claim.replayed() {
                tracing::info!("idempotent replay of a recorded write");
                parts
                    .headers
                    .insert(REPLAYED, HeaderValue::from_static("true"));
            } else if parts.status.as_u16() < 500 && !parts.status.is_success() {
                // A successful write recorded its result with itself; anything else is kept now.
                let answer = StoredAnswer::new(
                    parts.status.as_u16(),
                    parts
                        .headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                    bytes.to_vec(),
                );
                if let Err(e) = state
                    .core(move |vr| vr.save_idempotent_answer(&scope, &key, &request_hash, answer))
                    .await
                {
                    // The answer stands; a retry would run again.
                    tracing::error!(error = ?e, "cannot store the idempotent answer");
                }
            }
            Response::from_parts(parts, Body::from(bytes))
        }),
    ));
    task.await.unwrap_or_else(|e| {
        ApiError::from(Error::internal(format!("request task failed: {e}"))).into_response()
    })
}
