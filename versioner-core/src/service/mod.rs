//! The service: tracking, the preflight, rules, approvals and queries over a [`Store`].
//!
//! This is where the domain rules live, once, for every store and every surface. Each
//! capability is one `impl Versioner` block in its own module, as rusqlite splits
//! `impl Connection`: `track` records events, `preflight` evaluates the rules,
//! `rules` edits them, `approvals` records approvals, `queries` answers questions, `access`
//! keeps API keys and idempotency records, and `outbox` reads the stream of domain events.
//!
//! Every write goes through [`Versioner::write`], which makes an attached
//! [`IdempotencyClaim`] part of the write's own transaction.

mod access;

pub use access::ApiKeyRequest;
pub use subscriptions::Subscription;
mod approvals;
mod backup;
mod buttons;
mod catalog;
mod decisions;
mod import;
mod insights;
mod notifications;
#[cfg(feature = "notify")]
pub use notifications::{DeliveryOptions, DeliveryReport};
mod outbox;
mod preflight;
mod queries;
mod queue;
mod requests;
mod rules;
mod skew;
mod subscriptions;
mod track;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::access::{IDEMPOTENCY_TTL, IdempotencyClaim, IdempotencyRecord};
use crate::approval::Approval;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::model::{Build, Deployment, Environment, EnvironmentType, Product, Version};
use crate::names;
use crate::store::{self, LockScope, SqliteOptions, SqliteStore, Store, StoredRule, Tx};

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
    /// The idempotent write this handle performs, if any.
    claim: Option<Arc<IdempotencyClaim>>,
    /// Who performs this handle's writes, if set (see `Versioner::acting_as`).
    actor: Option<Arc<crate::access::Actor>>,
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
    ///
    /// # Examples
    /// ```
    /// use versioner_core::Versioner;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("versioner.db");
    /// let vr = Versioner::open(&path)?;      // created, or migrated, on open
    /// assert!(vr.products()?.is_empty());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
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
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;  // private to this handle and its clones
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
    /// assert_eq!(vr.products()?.len(), 1);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
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
            claim: None,
            actor: None,
        }
    }

    /// The same Versioner performing one idempotent write: the next write made through it
    /// stores its result under the claim's `(scope, key)` in its own transaction, or, when an
    /// earlier execution with the same request already did, returns that result without
    /// running again ([`IdempotencyClaim::replayed`] then says so). A key reused for a
    /// different request is `INVALID_INPUT` naming `Idempotency-Key`. Records are kept 24 h.
    #[must_use]
    pub fn with_idempotency(&self, claim: Arc<IdempotencyClaim>) -> Versioner {
        Versioner {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            claim: Some(claim),
            actor: self.actor.clone(),
        }
    }

    /// The same Versioner reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Versioner {
        self.clock = clock;
        self
    }

    /// The current instant, from the injected clock.
    ///
    /// Truncated to whole microseconds: the precision every store keeps and the wire format
    /// shows ([`mod@crate::wire::instant`]), so a record handed back from memory equals the same
    /// record read back from the store.
    pub fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs a write transaction; with an idempotency claim attached, the claim's record is
    /// checked and written in the same transaction (see [`Versioner::with_idempotency`]).
    pub(super) fn write<T: Recorded>(
        &self,
        lock: &LockScope,
        f: impl FnOnce(&mut dyn Tx) -> Result<T>,
    ) -> Result<T> {
        let Some(claim) = &self.claim else {
            return store::write(&*self.store, lock, f);
        };
        store::write(&*self.store, lock, |tx| {
            // INVARIANT: the clock is read under the write lock, like every write's.
            let now = self.now();
            if let Some(found) =
                tx.idempotency_record(claim.scope(), claim.key(), now - IDEMPOTENCY_TTL)?
            {
                if found.request_hash != claim.request_hash() {
                    return Err(claim.reused());
                }
                if let Some(result) = found.result {
                    claim.mark_replayed();
                    return T::replay(result);
                }
            }
            let out = f(tx)?;
            tx.prune_idempotency(now - IDEMPOTENCY_TTL)?;
            tx.put_idempotency_record(&IdempotencyRecord {
                scope: claim.scope().to_string(),
                key: claim.key().to_string(),
                request_hash: claim.request_hash().to_string(),
                result: Some(serde_json::to_value(&out).map_err(|e| {
                    Error::internal(format!("cannot encode the result for idempotency: {e}"))
                })?),
                answer: None,
                created_at: now,
            })?;
            Ok(out)
        })
    }
}

/// A write's result, as kept in an idempotency record and given back on a replay.
pub(super) trait Recorded: Serialize + DeserializeOwned {
    /// The result from its recorded JSON.
    fn replay(value: Value) -> Result<Self> {
        serde_json::from_value(value)
            .map_err(|e| Error::internal(format!("an idempotency record cannot be read back: {e}")))
    }
}

impl Recorded for () {}
impl Recorded for Build {}
impl Recorded for Approval {}
impl Recorded for Environment {}
impl Recorded for crate::model::Product {}
impl Recorded for StoredRule {}
impl Recorded for ApplyReport {}
impl Recorded for crate::access::ApiKey {}
impl Recorded for Deployment {
    fn replay(value: Value) -> Result<Deployment> {
        let mut d: Deployment = serde_json::from_value(value).map_err(|e| {
            Error::internal(format!("an idempotency record cannot be read back: {e}"))
        })?;
        if let Some(p) = &mut d.preflight {
            p.verdict.refresh_derived();
        }
        Ok(d)
    }
}

// ----- the domain rules, written once against Tx ----------------------------------------------

pub(super) fn find_rule(tx: &mut dyn Tx, name: &str) -> Result<StoredRule> {
    tx.rule(name)?.ok_or_else(|| Error::NotFound {
        kind: "rule",
        name: name.to_string(),
    })
}

/// The product a name means: the one of that name, or of the same name in another case or
/// compatibility form; a look-alike of an existing name is refused, naming it.
pub(super) fn lookup_product(tx: &mut dyn Tx, name: &str) -> Result<Option<Product>> {
    if let Some(p) = tx.product(name)? {
        return Ok(Some(p));
    }
    let all = tx.products()?;
    names::resolve(
        "product_name",
        name,
        all.into_iter().map(|p| (p.name.clone(), p)),
    )
}

/// The environment a name means (see [`lookup_product`]).
pub(super) fn lookup_environment(tx: &mut dyn Tx, name: &str) -> Result<Option<Environment>> {
    if let Some(e) = tx.environment(name)? {
        return Ok(Some(e));
    }
    let all = tx.environments()?;
    names::resolve(
        "environment_name",
        name,
        all.into_iter().map(|e| (e.name.clone(), e)),
    )
}

/// Creates a product under a name checked to be what it looks like.
pub(super) fn new_product(tx: &mut dyn Tx, name: &str, now: DateTime<Utc>) -> Result<Product> {
    names::check_new("product_name", name)?;
    tx.insert_product(name, now)
}

/// Creates an environment under a name checked to be what it looks like.
pub(super) fn new_environment(
    tx: &mut dyn Tx,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Environment> {
    names::check_new("environment_name", name)?;
    tx.insert_environment(name, EnvironmentType::infer(name), now)
}

pub(super) fn find_product(tx: &mut dyn Tx, name: &str) -> Result<Product> {
    lookup_product(tx, name)?.ok_or_else(|| Error::NotFound {
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
    match lookup_product(tx, name)? {
        Some(p) => Ok(p),
        None => new_product(tx, name, now),
    }
}

pub(super) fn environment_or_create(
    tx: &mut dyn Tx,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Environment> {
    match lookup_environment(tx, name)? {
        Some(e) => Ok(e),
        None => new_environment(tx, name, now),
    }
}
