//! Queries: products, environments, versions, history, state and drift.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::decision::DecisionRecord;
use crate::error::{Error, Result};
use crate::model::{Deployment, Environment, EnvironmentType, Page, Product, Version};
use crate::outbox::{EventType, NewEvent};
use crate::state::{DeployedVersion, Drift, StateCell, StateMatrix};
use crate::status::Status;
use crate::store::{self, HistoryFilter, HistoryQuery, LockScope, Tx};

use super::{Versioner, environment_or_create, find_product, find_version};

impl Versioner {
    /// Every product, by name.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn products(&self) -> Result<Vec<Product>> {
        store::read(&*self.store, |tx| tx.products())
    }

    /// Every environment, from development to production.
    ///
    /// # Errors
    /// `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, EnvironmentType, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "prod-eu", "completed"))?;
    /// let envs = vr.environments()?;
    /// assert_eq!(envs[0].name, "prod-eu");
    /// assert_eq!(envs[0].env_type, EnvironmentType::Production);   // inferred from the name
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn environments(&self) -> Result<Vec<Environment>> {
        store::read(&*self.store, |tx| tx.environments())
    }

    /// Overrides an environment's type, or with `None` returns it to inference from the name.
    /// The environment is created if it does not exist yet.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `STORAGE`.
    pub fn set_environment_type(
        &self,
        name: &str,
        env_type: Option<EnvironmentType>,
    ) -> Result<Environment> {
        let name = crate::event::required("environment_name", Some(name), 100)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(crate::access::Permission::ManageEnvironments)?;
            let env = environment_or_create(tx, &name, now)?;
            let (ty, overridden) = match env_type {
                Some(t) => (t, true),
                None => (EnvironmentType::infer(&name), false),
            };
            tx.set_environment_type(env.key, ty, overridden)?;
            let env = tx
                .environment(&name)?
                .ok_or_else(|| Error::internal("environment vanished"))?;
            tx.append_event(
                &NewEvent::of(EventType::EnvironmentUpdated, now, &env.id, &env)
                    .by(acting.principal.as_deref()),
            )?;
            Ok(env)
        })
    }

    /// Versions of a product, newest first.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown product; `INVALID_INPUT` for a bad page; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, Page, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// vr.track_build(&BuildEvent::new("api", "1.3.0", "success"))?;
    /// let versions = vr.versions("api", Page::first(10))?;          // newest first
    /// assert_eq!(versions[0].version, "1.3.0");
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn versions(&self, product: &str, page: Page) -> Result<Vec<Version>> {
        let page = page.validated()?;
        store::read(&*self.store, |tx| {
            let p = find_product(tx, product)?;
            tx.versions(&p, page)
        })
    }

    /// One version of a product.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, ErrorCode, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// assert_eq!(vr.version("api", "1.2.0")?.product_name, "api");
    /// assert_eq!(vr.version("api", "9.9.9").unwrap_err().code(), ErrorCode::NotFound);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn version(&self, product: &str, version: &str) -> Result<Version> {
        store::read(&*self.store, |tx| Ok(find_version(tx, product, version)?.1))
    }

    /// A version by its public id.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn version_by_id(&self, id: &str) -> Result<Version> {
        store::read(&*self.store, |tx| {
            tx.version_by_id(id)?.ok_or_else(|| Error::NotFound {
                kind: "version",
                name: id.to_string(),
            })
        })
    }

    /// Versions built from a commit; an abbreviated SHA (4+ hex characters) matches by prefix.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a malformed SHA; `STORAGE`.
    pub fn versions_by_sha(&self, sha: &str) -> Result<Vec<Version>> {
        let sha = crate::event::sha(Some(sha))?
            .ok_or_else(|| Error::invalid("scm_sha", "is required and must not be blank"))?;
        store::read(&*self.store, |tx| tx.versions_by_sha(&sha))
    }

    /// A deployment by its public id.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// let d = vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
    /// assert_eq!(vr.deployment(&d.id)?.version, "1.2.0");
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn deployment(&self, id: &str) -> Result<Deployment> {
        store::read(&*self.store, |tx| {
            tx.deployment_by_id(id)?.ok_or_else(|| Error::NotFound {
                kind: "deployment",
                name: id.to_string(),
            })
        })
    }

    /// The decision record of a deployment: the preflight that admitted it (allowed, with
    /// report-only failures, or bypassed), with every rule's outcome. `None` for a deployment
    /// recorded without a preflight (a `completed` event closing a preflighted one).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn decision_for_deployment(&self, deployment_id: &str) -> Result<Option<DecisionRecord>> {
        store::read(&*self.store, |tx| tx.decision_by_deployment(deployment_id))
    }

    /// Deployment history, newest first. Unknown product, environment or version names match
    /// nothing.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a bad limit; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, HistoryQuery, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
    /// vr.track_deployment(&DeploymentEvent::new("web", "3.0.0", "staging", "completed"))?;
    /// let api = vr.history(&HistoryQuery::new().product("api"))?;   // newest first
    /// assert_eq!(api.len(), 1);
    /// assert_eq!(api[0].environment_name, "staging");
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn history(&self, query: &HistoryQuery) -> Result<Vec<Deployment>> {
        let limit = Page::first(query.limit.unwrap_or(50)).validated()?.limit;
        store::read(&*self.store, |tx| {
            let mut f = HistoryFilter {
                status: query.status,
                preflight: query.preflight,
                since: query.since,
                until: query.until,
                limit,
                ..HistoryFilter::default()
            };
            let product = match &query.product {
                Some(name) => match super::lookup_product(tx, name)? {
                    Some(p) => Some(p),
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            f.product = product.as_ref().map(|p| p.key);
            if let Some(name) = &query.environment {
                match super::lookup_environment(tx, name)? {
                    Some(e) => f.environment = Some(e.key),
                    None => return Ok(Vec::new()),
                }
            }
            if let Some(v) = &query.version {
                let Some(p) = &product else {
                    return Err(Error::invalid(
                        "version",
                        "filtering by version needs a product",
                    ));
                };
                match tx.version(p, v)? {
                    Some(v) => f.version = Some(v.key),
                    None => return Ok(Vec::new()),
                }
            }
            tx.history(&f)
        })
    }

    /// What is deployed where: for every product × environment with history, the version last
    /// deployed successfully (when and by whom) and the deployments in progress — now, or as of
    /// the instant `at`.
    ///
    /// # Errors
    /// `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
    /// let state = vr.state(None)?;              // or Some(instant): as of then
    /// assert_eq!(state.version("api", "staging"), Some("1.2.0"));
    /// println!("{}", state.to_table());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn state(&self, at: Option<DateTime<Utc>>) -> Result<StateMatrix> {
        let now = self.now();
        store::read(&*self.store, |tx| {
            let pairs = tx.pairs()?;
            let mut cells = Vec::with_capacity(pairs.len());
            let mut products: BTreeSet<String> = BTreeSet::new();
            let mut envs: Vec<(EnvironmentType, String)> = Vec::new();
            for (p, e) in pairs {
                let Some(cell) = cell_of(tx, &p, &e, at, now)? else {
                    continue;
                };
                products.insert(p.name.clone());
                if !envs.iter().any(|(_, n)| *n == e.name) {
                    envs.push((e.env_type, e.name.clone()));
                }
                cells.push(cell);
            }
            envs.sort();
            Ok(StateMatrix {
                at,
                products: products.into_iter().collect(),
                environments: envs.into_iter().map(|(_, n)| n).collect(),
                cells,
            })
        })
    }

    /// One product in one environment (see [`Versioner::state`]), now or as of `at`; `None`
    /// when it has no history (by then).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn state_cell(
        &self,
        product: &str,
        environment: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<StateCell>> {
        let now = self.now();
        store::read(&*self.store, |tx| {
            let (Some(p), Some(e)) = (
                super::lookup_product(tx, product)?,
                super::lookup_environment(tx, environment)?,
            ) else {
                return Ok(None);
            };
            cell_of(tx, &p, &e, at, now)
        })
    }

    /// Products whose environments hold different versions (now, or as of `at`), considering
    /// only `environments` when given.
    ///
    /// # Errors
    /// `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.3.0", "staging", "completed"))?;
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "completed"))?;
    /// let drift = vr.drift(None, None)?;
    /// assert_eq!(drift[0].product_name, "api");
    /// assert_eq!(drift[0].distinct_versions, 2);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn drift(
        &self,
        at: Option<DateTime<Utc>>,
        environments: Option<&[String]>,
    ) -> Result<Vec<Drift>> {
        let mut matrix = self.state(at)?;
        if let Some(only) = environments {
            matrix.cells.retain(|c| only.contains(&c.environment_name));
        }
        Ok(matrix.drift())
    }
}

/// The cell of a product in an environment (now, or as of `at`); `None` as of an instant
/// before its history.
fn cell_of(
    tx: &mut dyn Tx,
    p: &Product,
    e: &Environment,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<StateCell>> {
    // INVARIANT: as of T uses claimed times, so back-filled history shows at its instant even
    // though its product and environment were recorded later.
    let current = tx.last_success(p.key, e.key, at)?;
    let in_progress = in_progress(tx, p.key, e.key, at)?;
    let last_failed = last_failed(tx, p.key, e.key, at.unwrap_or(now))?;
    if at.is_some() && current.is_none() && in_progress.is_empty() && last_failed.is_none() {
        return Ok(None);
    }
    Ok(Some(StateCell {
        product_name: p.name.clone(),
        environment_name: e.name.clone(),
        environment_type: e.env_type,
        current: current.as_ref().map(DeployedVersion::from),
        in_progress: in_progress.iter().map(DeployedVersion::from).collect(),
        last_failed: last_failed.as_ref().map(DeployedVersion::from),
    }))
}

/// How many recent deployments an as-of query looks at for ones still in progress: bounded,
/// so its cost does not grow with history.
const AS_OF_WINDOW: u32 = 20;

/// The newest deployment of a product to an environment begun by `at`, when it had failed or
/// been aborted by then.
fn last_failed(
    tx: &mut dyn Tx,
    product_key: i64,
    environment_key: i64,
    at: DateTime<Utc>,
) -> Result<Option<Deployment>> {
    // The newest attempt's status first (one cheap indexed read); the whole record only for a
    // failure.
    match tx.newest_begun(product_key, environment_key, at)? {
        Some(a)
            if matches!(a.status, Status::Failed | Status::Aborted)
                && a.completed_at.is_none_or(|c| c <= at) =>
        {
            tx.deployment_by_id(&a.id)
        }
        _ => Ok(None),
    }
}

/// The deployments of a product to an environment in progress at `at` (now when `None`),
/// oldest first: the open ones now; as of an instant, the recent ones begun by then and not
/// finished by then.
fn in_progress(
    tx: &mut dyn Tx,
    product_key: i64,
    environment_key: i64,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<Deployment>> {
    let Some(at) = at else {
        return tx.open_for(product_key, environment_key);
    };
    let mut open: Vec<Deployment> = tx
        .begun_by(product_key, environment_key, at, AS_OF_WINDOW)?
        .into_iter()
        .filter(|d| d.started_at.is_some() || d.status.is_open())
        .filter(|d| d.completed_at.is_none_or(|c| c > at))
        .collect();
    open.reverse();
    Ok(open)
}
