//! `versioner.Versioner`: the core in process, on a SQLite file, in memory, or on PostgreSQL.
//!
//! Every method is the base class's (`versioner.Tracker`); this class only opens the store:
//! `Versioner(path)` for SQLite, `Versioner.connect(url)` for PostgreSQL.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};
use versioner_core::store::PgOptions;
use versioner_core::{SqliteOptions, Synchronous};

use crate::errors::{OrRaise, invalid};
use crate::tracker::Tracker;

/// Where the data lives (for `path` and the repr; never the database URL, which may hold a
/// password).
enum Location {
    /// A private in-memory SQLite database.
    Memory,
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database.
    Postgres,
}

/// Versioner, in process: tracks builds and deployments in a SQLite file (or in memory, or in
/// a PostgreSQL database), enforces the preflight policy and answers "what is deployed where".
///
/// One instance may be shared by any number of threads; every call releases the GIL while it
/// works.
#[pyclass(frozen, extends = Tracker, module = "versioner", name = "Versioner")]
pub struct Versioner {
    location: Location,
}

impl Versioner {
    fn init(core: versioner_core::Versioner, location: Location) -> PyClassInitializer<Versioner> {
        PyClassInitializer::from(Tracker::new(Arc::new(core))).add_subclass(Versioner { location })
    }
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
        let options = SqliteOptions {
            synchronous: Synchronous::from_str(synchronous).or_raise()?,
            ..SqliteOptions::default()
        };
        let core = match &path {
            Some(p) => py.detach(|| versioner_core::Versioner::open_with(p, &options)),
            None => py.detach(versioner_core::Versioner::open_in_memory),
        }
        .or_raise()?;
        let location = path.map_or(Location::Memory, Location::File);
        Ok(Versioner::init(core, location))
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db` or a
    /// libpq `host=… dbname=…` string), running pending migrations. `schema` keeps
    /// Versioner's tables in a schema of their own (created if missing); `max_connections`
    /// bounds the connection pool.
    #[classmethod]
    #[pyo3(signature = (url, *, schema=None, max_connections=8))]
    fn connect(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        url: &str,
        schema: Option<String>,
        max_connections: i64,
    ) -> PyResult<Py<Versioner>> {
        let max_connections = u32::try_from(max_connections)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(
                    "max_connections",
                    format!("must be a positive integer, got {max_connections}"),
                )
            })?;
        let options = PgOptions {
            schema,
            max_connections,
            ..PgOptions::default()
        };
        let core = py
            .detach(|| versioner_core::Versioner::connect_with(url, &options))
            .or_raise()?;
        Py::new(py, Versioner::init(core, Location::Postgres))
    }

    /// The database file, or None for an in-memory or PostgreSQL database.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        match &self.location {
            Location::File(p) => Some(p.clone()),
            Location::Memory | Location::Postgres => None,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match &self.location {
            Location::File(p) => {
                let text = PyString::new(py, &p.display().to_string()).repr()?;
                format!("Versioner(path={})", text.to_cow()?)
            }
            Location::Memory => "Versioner(path=None)".to_string(),
            Location::Postgres => "Versioner.connect(<postgresql>)".to_string(),
        })
    }
}
