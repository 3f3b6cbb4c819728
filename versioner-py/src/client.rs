//! `versioner.Client`: the same tracking surface over HTTP, against `versioner serve`.
//!
//! Wraps `versioner_core::client::Client` (retries with backoff, idempotency keys, the wire
//! error model), so a refused deployment raises the same `DeploymentBlockedError`, carrying
//! the whole verdict, as in process.

use std::num::NonZeroU32;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;
use versioner_core::client::{Client as CoreClient, ClientOptions};

use crate::convert::{json_to_py, seconds};
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
    /// A client of the server at `api_url` (`http://host:port`, optionally with a path
    /// prefix), authenticating with `api_key` (sent as a Bearer token, never logged).
    /// `timeout` bounds one attempt; a call makes up to `max_attempts` attempts, waiting
    /// `backoff` (doubling, at most `max_wait`) in between. Durations are seconds or
    /// timedeltas.
    #[new]
    #[pyo3(signature = (
        api_url, api_key=None, *, timeout=None, max_attempts=4, backoff=None, max_wait=None
    ))]
    fn new(
        api_url: &str,
        api_key: Option<&str>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_attempts: i64,
        backoff: Option<&Bound<'_, PyAny>>,
        max_wait: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Client>> {
        let mut options = ClientOptions::default();
        if let Some(t) = timeout {
            options = options.timeout(seconds(t, "timeout")?);
        }
        let attempts = u32::try_from(max_attempts)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                invalid(
                    "max_attempts",
                    format!("must be a positive integer, got {max_attempts}"),
                )
            })?;
        options = options.max_attempts(attempts);
        if let Some(b) = backoff {
            options = options.backoff(seconds(b, "backoff")?);
        }
        if let Some(w) = max_wait {
            options = options.max_wait(seconds(w, "max_wait")?);
        }
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
