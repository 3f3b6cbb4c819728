//! One keyword scheme for the whole module, and the spellings it replaced.
//!
//! A product or an environment named by keyword is `product_name=` / `environment_name=`
//! everywhere: the field names of the public API's events and of every record
//! (`Deployment.product_name` reads back what was passed), and the names the Node binding
//! uses (`productName`, `environmentName`). The older spellings (`product=`, `environment=`
//! on `history`, `violations`, `approve`, `approvals`, `versions`, `version`, and
//! `deployment(product=…, environment=…)` for the context manager, now `deploying(…)`) keep
//! working for one release with a `DeprecationWarning` naming the new one.

use std::ffi::CString;

use pyo3::exceptions::{PyDeprecationWarning, PyTypeError};
use pyo3::prelude::*;

/// Emits a `DeprecationWarning` pointing at the caller's line.
pub(crate) fn deprecated(py: Python<'_>, message: &str) -> PyResult<()> {
    let text = CString::new(message).unwrap_or_default();
    PyErr::warn(py, &py.get_type::<PyDeprecationWarning>(), &text, 1)
}

/// The value of a keyword that was renamed: `new`, else `old` with a `DeprecationWarning`;
/// both given is a `TypeError`.
pub(crate) fn renamed<T>(
    py: Python<'_>,
    method: &str,
    (new_name, new): (&str, Option<T>),
    (old_name, old): (&str, Option<T>),
) -> PyResult<Option<T>> {
    match (new, old) {
        (Some(_), Some(_)) => Err(PyTypeError::new_err(format!(
            "{method}() got both {new_name}= and {old_name}=; give {new_name}= only \
             ({old_name}= is its deprecated spelling)"
        ))),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(v)) => {
            deprecated(
                py,
                &format!(
                    "{method}({old_name}=…) is deprecated and will be removed in the next \
                     release; use {method}({new_name}=…)"
                ),
            )?;
            Ok(Some(v))
        }
        (None, None) => Ok(None),
    }
}

/// A required argument that has a deprecated spelling (so it is optional in the signature).
pub(crate) fn required<T>(method: &str, name: &str, value: Option<T>) -> PyResult<T> {
    value.ok_or_else(|| {
        PyTypeError::new_err(format!("{method}() missing required argument: '{name}'"))
    })
}
