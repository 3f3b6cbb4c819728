//! `Versioner.subscribe(callback)`: the core's in-process subscription, calling a Python
//! callable with each committed domain event (a `DomainEvent` record) on the subscription's
//! own thread, holding the GIL only for the call. An exception in the callable is reported as
//! unraisable (`sys.unraisablehook`) and never reaches the operation that produced the event.

use std::sync::Mutex;

use pyo3::prelude::*;

use crate::record::record;

/// A running subscription; `cancel()` (or leaving its `with` block) stops it.
#[pyclass(frozen, module = "versioner", name = "Subscription")]
pub struct Subscription {
    inner: Mutex<Option<versioner_core::Subscription>>,
}

impl Subscription {
    /// Wraps a core subscription.
    pub(crate) fn new(inner: versioner_core::Subscription) -> Subscription {
        Subscription {
            inner: Mutex::new(Some(inner)),
        }
    }

    /// Subscribes `callback` to `vr`'s domain events.
    pub(crate) fn start(
        vr: &versioner_core::Versioner,
        callback: Py<PyAny>,
    ) -> versioner_core::Result<Subscription> {
        let sub = vr.subscribe(move |event| {
            Python::attach(|py| {
                let outcome = record(py, "DomainEvent", event)
                    .and_then(|e| callback.call1(py, (e,)).map(|_| ()));
                if let Err(err) = outcome {
                    err.write_unraisable(py, Some(callback.bind(py)));
                }
            });
        })?;
        Ok(Subscription::new(sub))
    }
}

#[pymethods]
impl Subscription {
    /// Stops the subscription, waiting for a call in progress to return.
    fn cancel(&self, py: Python<'_>) {
        let taken = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sub) = taken {
            py.detach(|| sub.cancel());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.cancel(py);
    }
}
