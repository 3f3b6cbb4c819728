//! `versioner.Versioner`: the core in process, on a SQLite file or in memory.
//!
//! Everything a `Tracker` does, plus what only the embedded database offers here: single-rule
//! management, one version by name, environment types. Same shape as the base class: parse,
//! one core call with the GIL released, convert.

use std::path::PathBuf;
use std::str::FromStr;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use versioner_core::{EnvironmentType, Rule, SqliteOptions, Synchronous};

use crate::convert::{py_to_json, record, record_class, records_list, text_or_int};
use crate::errors::{OrRaise, invalid};
use crate::tracker::{Backend, Tracker};

/// Versioner, in process: tracks builds and deployments in a SQLite file (or in memory),
/// enforces the preflight policy and answers "what is deployed where".
///
/// One instance may be shared by any number of threads; every call releases the GIL while it
/// works.
#[pyclass(frozen, extends = Tracker, module = "versioner", name = "Versioner")]
pub struct Versioner {
    inner: versioner_core::Versioner,
    path: Option<PathBuf>,
}

/// A rule given as a mapping in policy-file form, or as a `versioner.Rule` record.
fn rule_arg(obj: &Bound<'_, PyAny>) -> PyResult<Rule> {
    let py = obj.py();
    let value = if obj.is_instance(&record_class(py, "Rule")?)? {
        py_to_json(&obj.call_method0("definition")?, "rule")?
    } else {
        py_to_json(obj, "rule")?
    };
    Rule::from_json(&value).or_raise()
}

#[pymethods]
impl Versioner {
    /// Opens (creating if needed) the SQLite database at `path`, or a private in-memory
    /// database when `path` is None. `synchronous` is "full" (the default: an acknowledged
    /// event survives power loss) or "normal" (faster).
    #[new]
    #[pyo3(signature = (path=None, *, synchronous="full"))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        synchronous: &str,
    ) -> PyResult<PyClassInitializer<Versioner>> {
        let sync = match synchronous.trim().to_ascii_lowercase().as_str() {
            "full" => Synchronous::Full,
            "normal" => Synchronous::Normal,
            _ => {
                return Err(invalid(
                    "synchronous",
                    format!("unknown value `{synchronous}`; expected full or normal"),
                ));
            }
        };
        let options = SqliteOptions {
            synchronous: sync,
            ..SqliteOptions::default()
        };
        let inner = match &path {
            Some(p) => py.detach(|| versioner_core::Versioner::open_with(p, &options)),
            None => py.detach(versioner_core::Versioner::open_in_memory),
        }
        .or_raise()?;
        Ok(
            PyClassInitializer::from(Tracker::new(Backend::Local(inner.clone())))
                .add_subclass(Versioner { inner, path }),
        )
    }

    /// The database file, or None for an in-memory database.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match &self.path {
            Some(p) => {
                let text = PyString::new(py, &p.display().to_string()).repr()?;
                format!("Versioner(path={})", text.to_cow()?)
            }
            None => "Versioner(path=None)".to_string(),
        })
    }

    // ----- rules ------------------------------------------------------------------------------

    /// Adds a rule (a dict in policy-file form, or a Rule) at the end of the evaluation order.
    fn add_rule<'py>(
        &self,
        py: Python<'py>,
        rule: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rule = rule_arg(rule)?;
        let stored = py.detach(|| self.inner.add_rule(&rule)).or_raise()?;
        record(py, "Rule", &stored)
    }

    /// The rule named `name`.
    fn rule<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let stored = py.detach(|| self.inner.rule(&name)).or_raise()?;
        record(py, "Rule", &stored)
    }

    /// Replaces the rule named `name` with `rule` (which may rename it).
    fn update_rule<'py>(
        &self,
        py: Python<'py>,
        name: String,
        rule: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rule = rule_arg(rule)?;
        let stored = py
            .detach(|| self.inner.update_rule(&name, &rule))
            .or_raise()?;
        record(py, "Rule", &stored)
    }

    /// Deletes the rule named `name`.
    fn delete_rule(&self, py: Python<'_>, name: String) -> PyResult<()> {
        py.detach(|| self.inner.delete_rule(&name)).or_raise()
    }

    /// The status history of the rule named `name` (or of every rule), oldest first.
    #[pyo3(signature = (name=None))]
    fn rule_history<'py>(
        &self,
        py: Python<'py>,
        name: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let changes = py
            .detach(|| self.inner.rule_history(name.as_deref()))
            .or_raise()?;
        records_list(py, "RuleStatusChange", &changes)
    }

    // ----- queries ----------------------------------------------------------------------------

    /// One version of a product.
    fn version<'py>(
        &self,
        py: Python<'py>,
        product: String,
        version: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let v = py
            .detach(|| self.inner.version(&product, &version))
            .or_raise()?;
        record(py, "Version", &v)
    }

    /// Overrides an environment's type ("dev", "test", "staging", "production", "other"), or
    /// with None returns it to inference from the name. Creates the environment if needed.
    #[pyo3(signature = (name, r#type))]
    fn set_environment_type<'py>(
        &self,
        py: Python<'py>,
        name: String,
        r#type: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ty = r#type
            .as_deref()
            .map(EnvironmentType::from_str)
            .transpose()
            .or_raise()?;
        let env = py
            .detach(|| self.inner.set_environment_type(&name, ty))
            .or_raise()?;
        record(py, "Environment", &env)
    }
}
