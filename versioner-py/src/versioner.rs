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
    /// Opens `location` with `options` (keyword arguments) and wraps it.
    fn open(
        py: Python<'_>,
        location: Location,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Versioner>> {
        let options = options_json(options)?;
        let core = py.detach(|| location.open(&options)).or_raise()?;
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
    #[new]
    #[pyo3(signature = (path=None, **options))]
    fn new(
        py: Python<'_>,
        path: Option<&Bound<'_, PyAny>>,
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
        Versioner::open(py, location, options)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db` or a
    /// libpq `host=… dbname=…` string), running pending migrations. Keyword options:
    /// `schema` keeps Versioner's tables in a schema of their own (created if missing);
    /// `max_connections` bounds the connection pool; `connect_timeout_ms` bounds the wait for
    /// a connection.
    #[classmethod]
    #[pyo3(signature = (url, **options))]
    fn connect(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        url: &str,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Versioner>> {
        Py::new(py, Versioner::open(py, Location::postgres(url), options)?)
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
