//! `versioner.Client`: the same tracking surface over HTTP, against `versioner serve`.
//!
//! Wraps `versioner_core::client::Client` (retries with backoff, idempotency keys, the wire
//! error model), so a refused deployment raises the same `DeploymentBlockedError`, carrying
//! the whole verdict, as in process. The options are the core's `ClientOptions`, read by the
//! core; this class only turns the Pythonic durations (seconds or timedeltas) into the core's
//! milliseconds.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::Value;
use versioner_core::client::{Client as CoreClient, ClientOptions};

use crate::convert::{json_to_py, options_json, seconds};
use crate::errors::{OrRaise, invalid};
use crate::tracker::Tracker;

/// Versioner over HTTP: talks to `versioner serve` (or any server speaking the Versioner
/// Events API) with the same methods as the in-process Versioner.
///
/// Failed requests (unreachable server, timeouts, 5xx, 429) are retried with exponential
/// backoff; every write carries an idempotency key, so a retry never records twice. Safe to
/// share between threads; every call releases the GIL while it waits on the network.
#[pyclass(frozen, extends = Tracker, module = "versioner", name = "Client")]
pub struct Client {
    inner: CoreClient,
}

#[pymethods]
impl Client {
    /// A client of the server at `api_url` (`http://host:port` or `https://…`, optionally
    /// with a path prefix), authenticating with `api_key` (sent as a Bearer token, never logged).
    /// `timeout` bounds one attempt; a call makes up to `max_attempts` attempts, waiting
    /// `backoff` (doubling, at most `max_wait`) in between. Durations are seconds or
    /// timedeltas; the core's `timeout_ms`, `backoff_ms` and `max_wait_ms` are accepted too,
    /// `user_agent` sets the User-Agent header, and `ca_cert` (a PEM file) adds certificate
    /// authorities trusted for `https://` to the system's. An unknown option raises
    /// InvalidInputError naming it.
    #[new]
    #[pyo3(signature = (api_url, api_key=None, *, timeout=None, backoff=None, max_wait=None, **options))]
    fn new(
        api_url: &str,
        api_key: Option<&str>,
        timeout: Option<&Bound<'_, PyAny>>,
        backoff: Option<&Bound<'_, PyAny>>,
        max_wait: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Client>> {
        let mut json = options_json(options)?;
        if let Value::Object(map) = &mut json {
            for (name, value) in [
                ("timeout", timeout),
                ("backoff", backoff),
                ("max_wait", max_wait),
            ] {
                let Some(value) = value.filter(|v| !v.is_none()) else {
                    continue;
                };
                let key = format!("{name}_ms");
                if map.contains_key(&key) {
                    return Err(invalid(
                        &key,
                        format!("give `{name}` (seconds) or `{key}`, not both"),
                    ));
                }
                let d = seconds(value, name)?;
                // Whole milliseconds, rounded up: a positive duration stays positive.
                let ms = d.as_nanos().div_ceil(1_000_000);
                let ms = u64::try_from(ms).map_err(|_| invalid(name, "is too long"))?;
                map.insert(key, Value::from(ms));
            }
        }
        let options = ClientOptions::from_json(&json).or_raise()?;
        let inner = CoreClient::with_options(api_url, api_key, options).or_raise()?;
        Ok(
            PyClassInitializer::from(Tracker::new(Arc::new(inner.clone())))
                .add_subclass(Client { inner }),
        )
    }

    /// The server's base URL.
    #[getter]
    fn api_url(&self) -> &str {
        self.inner.base_url()
    }

    /// `GET /health`: whether the server is up, and its version.
    fn health<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // Refused once closed, like every other call.
        slf.as_super().get().core()?;
        let client = &slf.get().inner;
        let v = py.detach(|| client.health()).or_raise()?;
        json_to_py(py, &v)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let url = PyString::new(py, self.inner.base_url()).repr()?;
        Ok(format!("Client(api_url={})", url.to_cow()?))
    }
}
