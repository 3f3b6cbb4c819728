//! `versioner.Versioner`: the core in process, on a SQLite file, in memory, or on PostgreSQL.
//!
//! Every method is the base class's (`versioner.Tracker`); this class only opens the store:
//! `Versioner(path, **options)` for any location the core parses (a SQLite file, `:memory:`,
//! `sqlite:PATH`, a `postgres://` URL), `Versioner.connect(url, **options)` for PostgreSQL.
//! The location and the options are read by the core (`versioner_core::input`), so they mean
//! what they mean in every other binding.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};
use versioner_core::input::Location;
use versioner_core::{Actor, Role};

use crate::convert::{options_json, type_name};
use crate::errors::OrRaise;
use crate::tracker::Tracker;

/// Versioner, in process: tracks builds and deployments in a SQLite file (or in memory, or in
/// a PostgreSQL database), enforces the preflight policy and answers "what is deployed where".
///
/// One instance may be shared by any number of threads; every call releases the GIL while it
/// works.
#[pyclass(frozen, extends = Tracker, module = "versioner", name = "Versioner")]
pub struct Versioner {
    /// Where the data lives (for `path` and the repr; its `Debug` and `Display` never show a
    /// database URL, which may hold a password).
    location: Location,
}

impl Versioner {
    /// Opens `location` with `options` (keyword arguments) and wraps it, acting as `actor`
    /// when given.
    fn open(
        py: Python<'_>,
        location: Location,
        actor: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Versioner>> {
        let options = options_json(options)?;
        let mut core = py.detach(|| location.open(&options)).or_raise()?;
        if let Some(a) = actor {
            core = core.acting_as(Actor::local(a));
        }
        Ok(PyClassInitializer::from(Tracker::new(Arc::new(core)))
            .add_subclass(Versioner { location }))
    }
}

#[pymethods]
impl Versioner {
    /// Opens (creating if needed) the database at `path`: a SQLite file (a str or a PathLike),
    /// `sqlite:PATH`, `":memory:"` or None (a private in-memory database), or a
    /// `postgres://` URL. Keyword options are the store's: for SQLite `synchronous` ("full",
    /// the default: an acknowledged event survives power loss; or "normal", faster) and
    /// `busy_timeout_ms`; for PostgreSQL those of `connect`. An unknown option raises
    /// InvalidInputError naming it.
    ///
    /// `actor` names who acts (recorded on builds, deployments, approvals and rule changes,
    /// and checked against its role: a registered principal's, else admin); without one,
    /// each call names who approves or changes a rule. See also `acting_as`.
    #[new]
    #[pyo3(signature = (path=None, *, actor=None, **options))]
    fn new(
        py: Python<'_>,
        path: Option<&Bound<'_, PyAny>>,
        actor: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Versioner>> {
        let location = match path {
            None => Location::Memory,
            Some(p) if p.is_none() => Location::Memory,
            Some(p) => {
                if let Ok(text) = p.cast::<PyString>() {
                    Location::parse(&text.to_cow()?).or_raise()?
                } else if p.hasattr("__fspath__")? {
                    Location::from_path(&p.extract::<PathBuf>()?).or_raise()?
                } else {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "`path` must be a str or an os.PathLike, not {}",
                        type_name(p)
                    )));
                }
            }
        };
        Versioner::open(py, location, actor, options)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db` or a
    /// libpq `host=… dbname=…` string), running pending migrations. Keyword options:
    /// `schema` keeps Versioner's tables in a schema of their own (created if missing);
    /// `max_connections` bounds the connection pool; `connect_timeout_ms` bounds the wait for
    /// a connection.
    #[classmethod]
    #[pyo3(signature = (url, *, actor=None, **options))]
    fn connect(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        url: &str,
        actor: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Versioner>> {
        Py::new(
            py,
            Versioner::open(py, Location::postgres(url), actor, options)?,
        )
    }

    /// The same database, acting as `actor` (with `role`, for an actor that is not a
    /// registered principal; a registered one acts with its own role). The new instance
    /// shares the store; both stay usable.
    #[pyo3(signature = (actor, *, role=None))]
    fn acting_as(
        slf: &Bound<'_, Self>,
        actor: String,
        role: Option<String>,
    ) -> PyResult<Py<Versioner>> {
        let py = slf.py();
        let mut who = Actor::local(actor);
        if let Some(r) = role {
            who = who.with_role(r.parse::<Role>().or_raise()?);
        }
        let core = slf.as_super().get().core()?.acting_as(who).or_raise()?;
        let location = slf.get().location.clone();
        Py::new(
            py,
            PyClassInitializer::from(Tracker::new(core)).add_subclass(Versioner { location }),
        )
    }

    /// The database file, or None for an in-memory or PostgreSQL database.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.location.path().map(PathBuf::from)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match &self.location {
            Location::Sqlite(p) => {
                let text = PyString::new(py, &p.display().to_string()).repr()?;
                format!("Versioner(path={})", text.to_cow()?)
            }
            Location::Postgres(_) => "Versioner.connect(<postgresql>)".to_string(),
            Location::Memory => "Versioner(path=None)".to_string(),
        })
    }
}
