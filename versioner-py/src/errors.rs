//! Core errors as Python exceptions.
//!
//! The exception classes live in `versioner._errors` (plain Python, so `InvalidInputError` can
//! also be a `ValueError`); this module picks the class with one exhaustive `match` on
//! [`ErrorCode`] — a new code breaks the build here until it is mapped — and fills in the
//! attributes: `code`, `http_status`, `exit_code`, and per class `field` / `problems`,
//! `verdict`, the conflicting SHAs, or what was not found.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};
use versioner_core::{Error, ErrorCode};

use crate::record::{record, records_list};

/// The `versioner._errors` module, imported once.
fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    ERRORS
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("versioner._errors")?.unbind())
        })
        .map(|m| m.bind(py))
}

/// Converts a core error into the matching Python exception.
pub(crate) fn to_py_err(e: Error) -> PyErr {
    Python::attach(|py| match build(py, &e) {
        Ok(exc) => PyErr::from_value(exc),
        // Building the exception failed (the package is broken): raise that instead, with the
        // original message so nothing is lost.
        Err(err) => {
            let cause = pyo3::exceptions::PyRuntimeError::new_err(e.to_string());
            err.set_cause(py, Some(cause));
            err
        }
    })
}

/// An `InvalidInputError` naming `field`, for argument conversion in the binding.
pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> PyErr {
    to_py_err(Error::invalid(field, reason))
}

fn build<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let code = e.code();
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", code.as_str())?;
    kwargs.set_item("http_status", code.http_status())?;
    kwargs.set_item("exit_code", code.exit_code())?;
    let class = match code {
        ErrorCode::InvalidInput => {
            kwargs.set_item("field", e.field())?;
            if let Error::InvalidPolicy { problems } = e {
                kwargs.set_item("problems", records_list(py, "PolicyProblem", problems)?)?;
            }
            "InvalidInputError"
        }
        ErrorCode::VersionConflict => {
            if let Error::VersionConflict {
                product,
                version,
                recorded,
                given,
            } = e
            {
                kwargs.set_item("product_name", product)?;
                kwargs.set_item("version", version)?;
                kwargs.set_item("recorded_sha", recorded)?;
                kwargs.set_item("given_sha", given)?;
            }
            "VersionConflictError"
        }
        ErrorCode::ConcurrentDeployment
        | ErrorCode::NoDeployWindow
        | ErrorCode::FlowViolation
        | ErrorCode::InsufficientSoakTime
        | ErrorCode::ApprovalRequired
        | ErrorCode::QualityApprovalRequired
        | ErrorCode::DeploymentRequestPending
        | ErrorCode::DeploymentRequestRequired => {
            if let Some(v) = e.verdict() {
                if let Some(status) = v.http_status() {
                    kwargs.set_item("http_status", status)?;
                }
                kwargs.set_item("verdict", record(py, "Verdict", v)?)?;
            }
            // Subclasses of DeploymentBlockedError: what a person must do differs (approve or
            // finish the covering Deployment Request, or create one).
            match code {
                ErrorCode::DeploymentRequestPending => "DeploymentRequestPendingError",
                ErrorCode::DeploymentRequestRequired => "DeploymentRequestRequiredError",
                _ => "DeploymentBlockedError",
            }
        }
        ErrorCode::NotFound => {
            if let Error::NotFound { kind, name } = e {
                kwargs.set_item("kind", *kind)?;
                kwargs.set_item("name", name)?;
            }
            "NotFoundError"
        }
        ErrorCode::Unauthorized | ErrorCode::Forbidden => "AuthError",
        ErrorCode::Storage | ErrorCode::Network | ErrorCode::Internal | ErrorCode::RateLimited => {
            "VersionerError"
        }
    };
    errors_module(py)?
        .getattr(class)?
        .call((e.to_string(),), Some(&kwargs))
}

/// `result.or_raise()?`: a core result as a Python result.
pub(crate) trait OrRaise<T> {
    /// Converts the error into the matching Python exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for versioner_core::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}
