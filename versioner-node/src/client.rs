//! `Client`: the same methods against a remote `versioner serve`, over HTTP.

use serde::Deserialize;
use serde_json::Value;
use versioner_core::client::ClientOptions as CoreOptions;

use crate::backend::{Backend, Slot};
use crate::error::guard;
use crate::surface::prelude::*;
use crate::surface::tracker_methods;

/// Where the server is and how to talk to it: `new Client(options)`. The TypeScript interface
/// only: `apiUrl` and `apiKey` are read here, every other option by the core
/// (`ClientOptions::from_json`), as in every binding.
#[napi(object, object_to_js = false, object_from_js = false)]
#[expect(
    dead_code,
    reason = "the TypeScript interface; the core reads and checks the options"
)]
pub struct ClientOptions {
    /// The server's base URL, e.g. `http://127.0.0.1:8000` or `https://versioner.example.com`.
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
    /// A PEM file of certificate authorities trusted for `https://`, besides the system's.
    pub ca_cert: Option<String>,
}

/// `apiUrl`, `apiKey` and the core's options from a `new Client(options)` object.
fn client_options(
    options: &Unknown<'_>,
) -> versioner_core::Result<(String, Option<String>, CoreOptions)> {
    let mut map = match input::to_json(options, "")? {
        Value::Object(map) => map,
        other => {
            return Err(versioner_core::Error::invalid(
                "options",
                format!("must be an object, found {}", input::kind(&other)),
            ));
        }
    };
    let text = |v: Option<Value>, field: &str| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(versioner_core::Error::invalid(
            field,
            format!("must be a string, found {}", input::kind(&other)),
        )),
    };
    let api_url = text(map.remove("apiUrl"), "apiUrl")?.unwrap_or_default();
    let api_key = text(map.remove("apiKey"), "apiKey")?;
    let options = CoreOptions::from_json(&input::core_keys(map)?)?;
    Ok((api_url, api_key, options))
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
            let (api_url, api_key, options) = client_options(&options)?;
            let inner = versioner_core::client::Client::with_options(
                &api_url,
                api_key.as_deref(),
                options,
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
