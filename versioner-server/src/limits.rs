//! Rate limits per API key and per client address (GCRA token buckets, the `governor` crate).
//!
//! Off by default. `versioner serve --rate-limit-per-key N` allows each key N requests a
//! minute, `--rate-limit-per-ip N` each client address; `--rate-limit-burst B` lets a client
//! send up to B at once (default: N), after which requests are admitted at the steady rate.
//! A request over a limit is answered 429 `RATE_LIMITED` with `Retry-After` (whole seconds,
//! rounded up) and our error body; the client (`versioner_core::client`) waits that long and
//! retries.
//!
//! The per-address limit runs before authentication, so a client guessing keys is slowed
//! down too; the per-key limit runs after it, with the key's id. The address is the TCP peer
//! (the [`connections`](crate::connections) accept loop provides it): behind a reverse proxy
//! every request comes from the proxy, so limit per address at the proxy instead.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use versioner_core::Error;

use crate::http::ApiError;
use crate::{AppState, Caller};

/// One limit: a steady rate and the burst allowed on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests admitted per minute, steadily.
    pub per_minute: NonZeroU32,
    /// How many may arrive at once.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_minute` requests a minute, all of which may arrive at once.
    pub fn per_minute(per_minute: NonZeroU32) -> RateLimit {
        RateLimit {
            per_minute,
            burst: per_minute,
        }
    }

    /// Sets the burst.
    #[must_use]
    pub fn burst(mut self, burst: NonZeroU32) -> RateLimit {
        self.burst = burst;
        self
    }

    fn quota(self) -> Quota {
        Quota::per_minute(self.per_minute).allow_burst(self.burst)
    }
}

/// The limits a server applies (none by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    /// Per API key.
    pub per_key: Option<RateLimit>,
    /// Per client address.
    pub per_ip: Option<RateLimit>,
}

/// The buckets, one per key and one per address, kept in the server's memory.
pub(crate) struct Limiters {
    per_key: Option<DefaultKeyedRateLimiter<String>>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("per_key", &self.per_key.is_some())
            .field("per_ip", &self.per_ip.is_some())
            .finish()
    }
}

/// Buckets not touched for a while are dropped once there are this many.
const PRUNE_ABOVE: usize = 10_000;

fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Option<Duration> {
    if limiter.len() > PRUNE_ABOVE {
        limiter.retain_recent();
    }
    limiter
        .check_key(key)
        .err()
        .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

impl Limiters {
    pub(crate) fn new(limits: RateLimits) -> Limiters {
        Limiters {
            per_key: limits.per_key.map(|l| RateLimiter::keyed(l.quota())),
            per_ip: limits.per_ip.map(|l| RateLimiter::keyed(l.quota())),
        }
    }
}

/// The 429: `Retry-After` in whole seconds, rounded up (at least 1).
fn too_many(what: &str, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut resp = ApiError::from(Error::RateLimited {
        message: format!("too many requests from this {what}; retry in {secs}s"),
    })
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// The per-address limit (before authentication).
pub async fn per_ip(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let (Some(limiter), Some(ConnectInfo(peer))) = (
        &state.limiters().per_ip,
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
    ) && let Some(wait) = check(limiter, &peer.ip())
    {
        tracing::info!(%peer, path = %req.uri().path(), "refused: over the per-address rate limit");
        return too_many("address", wait);
    }
    next.run(req).await
}

/// The per-key limit (after authentication; requests without a key are not counted here).
pub async fn per_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let (Some(limiter), Some(id)) = (
        &state.limiters().per_key,
        req.extensions()
            .get::<Caller>()
            .and_then(|c| c.key_id.clone()),
    ) && let Some(wait) = check(limiter, &id)
    {
        tracing::info!(key = %id, path = %req.uri().path(), "refused: over the per-key rate limit");
        return too_many("API key", wait);
    }
    next.run(req).await
}
