//! The service: tracking, the preflight, rules, approvals and queries over a [`Store`].
//!
//! This is where the domain rules live, once, for every store and every surface. Each
//! capability is one `impl Versioner` block in its own module, as rusqlite splits
//! `impl Connection`: `track` records events, `preflight` evaluates the rules,
//! `rules` edits them, `approvals` records approvals and `queries` answers questions.

mod approvals;
mod preflight;
mod queries;
mod rules;
mod track;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::model::{Environment, EnvironmentType, Product, Version};
use crate::store::{self, SqliteOptions, SqliteStore, Store, StoredRule, Tx};

/// Versioner, in process: track builds and deployments, enforce the preflight, answer queries.
///
/// Cheap to clone; clones share the store. Safe to share between threads.
///
/// ```
/// use versioner_core::{Versioner, DeploymentEvent};
/// let vr = Versioner::open_in_memory()?;
/// let d = vr.track_deployment(&DeploymentEvent::new("api", "1.0.0", "staging", "success"))?;
/// assert_eq!(d.status.as_str(), "completed");
/// assert_eq!(vr.state(None)?.version("api", "staging"), Some("1.0.0"));
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Versioner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// What applying a policy changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ApplyReport {
    /// Rules added.
    pub added: Vec<String>,
    /// Rules whose definition changed.
    pub updated: Vec<String>,
    /// Rules left as they were.
    pub unchanged: Vec<String>,
    /// Rules deleted (replace mode only).
    pub deleted: Vec<String>,
}

impl Versioner {
    /// Opens (creating if needed) the SQLite database at `path` with durable defaults.
    /// Equals `Versioner::open_with(path, &SqliteOptions::default())`.
    ///
    /// # Errors
    /// `STORAGE` when the file cannot be opened or was written by a newer library.
    pub fn open(path: impl AsRef<Path>) -> Result<Versioner> {
        Ok(Versioner::with_store(Arc::new(SqliteStore::open(path)?)))
    }

    /// Opens the SQLite database at `path` with `options`.
    ///
    /// # Errors
    /// As [`Versioner::open`].
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Versioner> {
        Ok(Versioner::with_store(Arc::new(SqliteStore::open_with(
            path, options,
        )?)))
    }

    /// A private in-memory database.
    ///
    /// # Errors
    /// `STORAGE` if SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<Versioner> {
        Ok(Versioner::with_store(Arc::new(
            SqliteStore::open_in_memory()?,
        )))
    }

    /// Connects to a PostgreSQL database (feature `postgres`), running pending migrations.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a malformed URL; `STORAGE` when it cannot be reached.
    #[cfg(feature = "postgres")]
    pub fn connect(url: &str) -> Result<Versioner> {
        Ok(Versioner::with_store(Arc::new(store::PgStore::connect(
            url,
        )?)))
    }

    /// Connects to a PostgreSQL database with `options` (feature `postgres`): a schema of its
    /// own, the pool size, the connection timeout. [`Versioner::connect`] equals
    /// `Versioner::connect_with(url, &PgOptions::default())`.
    ///
    /// # Errors
    /// As [`Versioner::connect`]; `INVALID_INPUT` for a schema that is not a plain identifier.
    #[cfg(feature = "postgres")]
    pub fn connect_with(url: &str, options: &store::PgOptions) -> Result<Versioner> {
        Ok(Versioner::with_store(Arc::new(
            store::PgStore::connect_with(url, options)?,
        )))
    }

    /// Versioner over any store, with the system clock.
    pub fn with_store(store: Arc<dyn Store>) -> Versioner {
        Versioner {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same Versioner reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Versioner {
        self.clock = clock;
        self
    }

    /// The current instant, from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

// ----- the domain rules, written once against Tx ----------------------------------------------

pub(super) fn find_rule(tx: &mut dyn Tx, name: &str) -> Result<StoredRule> {
    tx.rule(name)?.ok_or_else(|| Error::NotFound {
        kind: "rule",
        name: name.to_string(),
    })
}

pub(super) fn find_product(tx: &mut dyn Tx, name: &str) -> Result<Product> {
    tx.product(name)?.ok_or_else(|| Error::NotFound {
        kind: "product",
        name: name.to_string(),
    })
}

pub(super) fn find_version(
    tx: &mut dyn Tx,
    product: &str,
    version: &str,
) -> Result<(Product, Version)> {
    let p = find_product(tx, product)?;
    let v = tx.version(&p, version)?.ok_or_else(|| Error::NotFound {
        kind: "version",
        name: format!("{product} {version}"),
    })?;
    Ok((p, v))
}

pub(super) fn product_or_create(
    tx: &mut dyn Tx,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Product> {
    match tx.product(name)? {
        Some(p) => Ok(p),
        None => tx.insert_product(name, now),
    }
}

pub(super) fn environment_or_create(
    tx: &mut dyn Tx,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Environment> {
    match tx.environment(name)? {
        Some(e) => Ok(e),
        None => tx.insert_environment(name, EnvironmentType::infer(name), now),
    }
}
