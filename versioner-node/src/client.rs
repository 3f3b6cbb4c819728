//! `Client`: the same methods against a remote `versioner serve`, over HTTP.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;
use versioner_core::client::ClientOptions as CoreOptions;

use crate::backend::{Backend, Slot};
use crate::error::guard;
use crate::surface::prelude::*;
use crate::surface::tracker_methods;

/// Where the server is and how to talk to it: `new Client(options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    /// The server's base URL, e.g. `http://127.0.0.1:8000` (plain HTTP in this build).
    #[serde(default)]
    pub api_url: String,
    /// The API key, sent as `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// The timeout of one attempt, in milliseconds (default 30000).
    pub timeout_ms: Option<u32>,
    /// Attempts per call, the first included (default 4). Retried: unreachable server,
    /// timeouts, 5xx and 429; every write carries one idempotency key across its retries.
    pub max_attempts: Option<u32>,
    /// The wait before the second attempt, doubling after each, in milliseconds (default
    /// 1000).
    pub backoff_ms: Option<u32>,
    /// The longest single wait, for backoff and a server's `Retry-After`, in milliseconds
    /// (default 60000).
    pub max_wait_ms: Option<u32>,
    /// The `User-Agent` header (default `versioner/<version>`).
    pub user_agent: Option<String>,
}

impl ClientOptions {
    fn core(&self) -> versioner_core::Result<CoreOptions> {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let mut o = CoreOptions::default();
        if let Some(t) = self.timeout_ms {
            o = o.timeout(ms(t));
        }
        if let Some(n) = self.max_attempts {
            let n = NonZeroU32::new(n).ok_or_else(|| {
                versioner_core::Error::invalid("max_attempts", "must be at least 1")
            })?;
            o = o.max_attempts(n);
        }
        if let Some(b) = self.backoff_ms {
            o = o.backoff(ms(b));
        }
        if let Some(w) = self.max_wait_ms {
            o = o.max_wait(ms(w));
        }
        if let Some(ua) = &self.user_agent {
            o = o.user_agent(ua.clone());
        }
        Ok(o)
    }
}

/// What the server says about itself.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
pub struct Health {
    /// `ok` when the server is up.
    pub status: String,
    /// The server's Versioner version.
    pub version: Option<String>,
}

/// Versioner over HTTP, against `versioner serve` (or any server speaking the Versioner
/// Events API): the same methods, records and errors as `Versioner`, plus `NETWORK`,
/// `UNAUTHORIZED` and `FORBIDDEN`. Calls run on the libuv thread pool.
#[napi]
pub struct Client {
    inner: versioner_core::client::Client,
    backend: Slot,
}

#[napi]
impl Client {
    /// A client of the server at `apiUrl`. Nothing is sent until the first call.
    ///
    /// Throws `INVALID_INPUT` (`field` `apiUrl`) when the URL is malformed or not `http://`.
    #[napi(constructor, catch_unwind, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown<'_>) -> napi::Result<Client> {
        guard(&env, || {
            let o: ClientOptions = input::options(&options, "options", false)?;
            let inner = versioner_core::client::Client::with_options(
                &o.api_url,
                o.api_key.as_deref(),
                o.core()?,
            )?;
            Ok(Client {
                backend: Slot::new(Backend::new(inner.clone())),
                inner,
            })
        })
    }

    /// The server's base URL.
    #[napi(getter)]
    pub fn api_url(&self) -> String {
        self.inner.base_url().to_string()
    }

    /// `GET /health`: whether the server is up, and its version (rejects with `NETWORK`
    /// when it cannot be reached).
    #[napi(catch_unwind, ts_return_type = "Promise<Health>")]
    pub fn health(&self) -> AsyncTask<Op<Health>> {
        let open = self.backend.open();
        let c = self.inner.clone();
        Op::run(move || {
            open?;
            from_core(&c.health()?)
        })
    }
}

tracker_methods!(Client);
