//! Versioner for Python: the `versioner._native` extension module.
//!
//! A thin layer over `versioner-core`, built with maturin into the `versioner` package
//! (`versioner-py/python/versioner`). Each method parses its arguments, releases the GIL for
//! one core call and converts the result; records and exceptions are the plain-Python classes
//! of `versioner._records` and `versioner._errors`.
//!
//! - `tracker.rs`: `versioner.Tracker`, the base class: everything the in-process core and
//!   the remote client share.
//! - `versioner.rs`: `versioner.Versioner`, the in-process core.
//! - `client.rs`: `versioner.Client`, the remote core over HTTP (`versioner serve`).
//! - `convert.rs`: Python ↔ JSON, instants and argument helpers.
//! - `record.rs`: core values → the records of `versioner._records`, built natively.
//! - `requests.rs`: the Deployment Request methods' arguments as the core's drafts, changes,
//!   actions, filters and templates.
//! - `errors.rs`: core errors → Python exceptions, by `ErrorCode`.
//!
//! Build and test with `scripts/test-python.sh`.

mod client;
mod convert;
mod errors;
mod naming;
mod record;
mod requests;
mod subscription;
mod tracker;
mod versioner;

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};

use crate::convert::type_name;
use crate::record::record;

/// Detects the CI/CD system from environment variables — a mapping, or the process
/// environment when `env` is None — and returns what it found as a CiInfo.
#[pyfunction]
#[pyo3(signature = (env=None))]
fn detect_ci<'py>(py: Python<'py>, env: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let environ;
    let env = match env {
        Some(e) if !e.is_none() => e,
        _ => {
            environ = py.import("os")?.getattr("environ")?;
            &environ
        }
    };
    let Ok(mapping) = env.cast::<PyMapping>() else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "`env` must be a mapping of variable names to values (like os.environ), not {}",
            type_name(env)
        )));
    };
    let mut vars: HashMap<String, String> = HashMap::new();
    for item in mapping.items()?.try_iter()? {
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        let (Ok(k), Ok(v)) = (k.cast::<PyString>(), v.cast::<PyString>()) else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`env` must map str to str; found a {} key with a {} value",
                type_name(&k),
                type_name(&v)
            )));
        };
        vars.insert(k.to_cow()?.into_owned(), v.to_cow()?.into_owned());
    }
    let info = versioner_core::ci::detect_from_map(&vars);
    let mut wire = convert::to_json(&info)?;
    if let Some(m) = wire.as_object_mut() {
        m.insert(
            "source_system".into(),
            serde_json::Value::String(info.source_system().to_string()),
        );
    }
    record(py, "CiInfo", &wire)
}

/// The compiled part of the `versioner` package; import `versioner` instead.
#[pymodule]
mod _native {
    #[pymodule_export]
    use super::client::Client;
    #[pymodule_export]
    use super::detect_ci;
    #[pymodule_export]
    use super::subscription::Subscription;
    #[pymodule_export]
    use super::tracker::Tracker;
    #[pymodule_export]
    use super::versioner::Versioner;

    /// The version of the Rust core this module was built from.
    #[pymodule_export]
    const VERSION: &str = versioner_core::VERSION;

    /// Adds the private `_record` (`_Record._from_wire`), kept out of `__all__`.
    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::prelude::*;
        m.setattr("_record", wrap_pyfunction!(super::record::wire_record, m)?)
    }
}
