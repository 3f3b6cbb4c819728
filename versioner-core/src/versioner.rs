//! The service: tracking, the preflight, rules, approvals and queries over a [`Store`].
//!
//! This is where the domain rules live, once, for every store and every surface.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::approval::{Approval, ApprovalRequest};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::event::{BuildEvent, CheckRequest, DeploymentEvent, ValidBuild, ValidDeployment};
use crate::model::{Build, Deployment, Environment, EnvironmentType, Page, Product, Version};
use crate::policy::{
    self, ApplyMode, Facts, PolicyFile, PolicyFormat, Preflight, PreflightStatus, Rule, RuleKind,
    RuleStatus, Verdict,
};
use crate::state::{DeployedVersion, Drift, StateCell, StateMatrix};
use crate::status::Status;
use crate::store::{
    self, HistoryFilter, HistoryQuery, LockScope, RuleStatusChange, SqliteOptions, SqliteStore,
    Store, StoredRule, Tx,
};

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

    // ----- tracking ---------------------------------------------------------------------------

    /// Records a build event. Creates the product and version on first sight; the first SHA
    /// recorded for a version is permanent. A `started` event opens a build; a terminal one
    /// closes the newest open build of the version (or records a closed one). Repeating an
    /// event with the same `invoke_id` and status returns the recorded build and writes nothing.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the field; `VERSION_CONFLICT`; `STORAGE`. Nothing is written on
    /// error.
    pub fn track_build(&self, event: &BuildEvent) -> Result<Build> {
        let ev = event.validate()?;
        let payload = serde_json::to_value(event).unwrap_or(Value::Null);
        // INVARIANT: the clock is read once the write lock is held, so events are stamped in
        // the order they are serialized.
        store::write(&*self.store, &LockScope::Global, |tx| {
            record_build(tx, &ev, &payload, self.now())
        })
    }

    /// Records a deployment event.
    ///
    /// `pending` queues a deployment; `started` runs the preflight and, when every enabled rule
    /// holds, opens it (or moves the queued one to started); `completed`, `failed` and
    /// `aborted` close the newest open deployment of the same product, version and environment,
    /// or record a closed one when none is open. The preflight and the recording are one
    /// atomic step. Repeating an event with the same `invoke_id` and status returns the
    /// recorded deployment and writes nothing.
    ///
    /// An emergency bypass (`skip_preflight_checks` with `skip_preflight_reason`) records the
    /// deployment with what the rules would have said.
    ///
    /// # Errors
    /// A blocked deployment is [`Error::Blocked`] with the whole verdict (codes
    /// `CONCURRENT_DEPLOYMENT`, `NO_DEPLOY_WINDOW`, `FLOW_VIOLATION`,
    /// `INSUFFICIENT_SOAK_TIME`, `APPROVAL_REQUIRED`, `QUALITY_APPROVAL_REQUIRED`);
    /// `INVALID_INPUT`; `VERSION_CONFLICT`; `STORAGE`. Nothing is written on error.
    pub fn track_deployment(&self, event: &DeploymentEvent) -> Result<Deployment> {
        let ev = event.validate()?;
        let payload = serde_json::to_value(event).unwrap_or(Value::Null);
        // INVARIANT: the clock is read once the environment's lock is held, so a preflight
        // never evaluates at an instant earlier than a deployment it must see.
        store::write(
            &*self.store,
            &LockScope::Environment(ev.environment.clone()),
            |tx| record_deployment(tx, &ev, &payload, self.now()),
        )
    }

    /// Evaluates the preflight for a would-be deployment without recording anything, at the
    /// request's `at` or now. The verdict's `retry_after` says when time alone would clear it.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `STORAGE`.
    pub fn check(&self, request: &CheckRequest) -> Result<Verdict> {
        let req = request.validate()?;
        let at = req.at.unwrap_or_else(|| self.now());
        store::read(&*self.store, |tx| {
            let rules: Vec<Rule> = tx.rules()?.into_iter().map(|r| r.rule).collect();
            let target = Target::find(tx, &req.product, &req.version, &req.environment)?;
            let facts = gather_facts(tx, &rules, &target, req.deployed_by.as_deref(), None)?;
            Ok(policy::evaluate(&rules, &facts, at))
        })
    }

    // ----- rules ------------------------------------------------------------------------------

    /// Every rule, in evaluation order.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn rules(&self) -> Result<Vec<StoredRule>> {
        store::read(&*self.store, |tx| tx.rules())
    }

    /// A rule by name.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn rule(&self, name: &str) -> Result<StoredRule> {
        store::read(&*self.store, |tx| find_rule(tx, name))
    }

    /// Adds a rule at the end of the evaluation order.
    ///
    /// # Errors
    /// `INVALID_INPUT` when the rule is invalid or its name is taken; `STORAGE`.
    pub fn add_rule(&self, rule: &Rule) -> Result<StoredRule> {
        let rule = Rule::from_json(&rule.to_json())?;
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            if tx.rule(&rule.name)?.is_some() {
                return Err(Error::invalid(
                    "name",
                    format!(
                        "a rule named `{}` already exists; update it instead",
                        rule.name
                    ),
                ));
            }
            tx.insert_rule(&rule, now)?;
            find_rule(tx, &rule.name)
        })
    }

    /// Replaces the rule named `name` with `rule` (which may rename it). A status change is
    /// recorded in the rule's history with `actor` "api".
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `STORAGE`.
    pub fn update_rule(&self, name: &str, rule: &Rule) -> Result<StoredRule> {
        let rule = Rule::from_json(&rule.to_json())?;
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let old = find_rule(tx, name)?;
            if rule.name != name && tx.rule(&rule.name)?.is_some() {
                return Err(Error::invalid(
                    "name",
                    format!("a rule named `{}` already exists", rule.name),
                ));
            }
            tx.update_rule(name, &rule, now)?;
            if old.rule.status != rule.status {
                tx.insert_rule_status_change(&RuleStatusChange {
                    rule_name: rule.name.clone(),
                    from_status: old.rule.status,
                    to_status: rule.status,
                    actor: "api".into(),
                    reason: "rule updated".into(),
                    changed_at: now,
                })?;
            }
            find_rule(tx, &rule.name)
        })
    }

    /// Deletes a rule.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn delete_rule(&self, name: &str) -> Result<()> {
        store::write(&*self.store, &LockScope::Global, |tx| {
            find_rule(tx, name)?;
            tx.delete_rule(name)
        })
    }

    /// Changes a rule's status, recording who, when and why.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` when `actor` or `reason` is blank; `STORAGE`.
    pub fn set_rule_status(
        &self,
        name: &str,
        status: RuleStatus,
        actor: &str,
        reason: &str,
    ) -> Result<StoredRule> {
        let actor = crate::event::required("actor", Some(actor), 255)?;
        let reason = crate::event::required("reason", Some(reason), 1000)?;
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let mut stored = find_rule(tx, name)?;
            let from = stored.rule.status;
            stored.rule.status = status;
            tx.update_rule(name, &stored.rule, now)?;
            tx.insert_rule_status_change(&RuleStatusChange {
                rule_name: name.to_string(),
                from_status: from,
                to_status: status,
                actor: actor.clone(),
                reason: reason.clone(),
                changed_at: now,
            })?;
            find_rule(tx, name)
        })
    }

    /// The status history of one rule (or of all rules), oldest first. A name with no
    /// recorded change (or no rule) has an empty history; a deleted rule keeps its history.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn rule_history(&self, name: Option<&str>) -> Result<Vec<RuleStatusChange>> {
        store::read(&*self.store, |tx| tx.rule_status_changes(name))
    }

    /// Applies a validated policy: in [`ApplyMode::Replace`] the policy becomes the whole rule
    /// set; in [`ApplyMode::Merge`] its rules are added or updated by name. Status changes are
    /// recorded with `actor`. All or nothing.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn apply_policy(
        &self,
        policy: &PolicyFile,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let existing = tx.rules()?;
            let mut report = ApplyReport::default();
            for rule in &policy.rules {
                match existing.iter().find(|s| s.rule.name == rule.name) {
                    None => {
                        tx.insert_rule(rule, now)?;
                        report.added.push(rule.name.clone());
                    }
                    Some(s) if s.rule == *rule => report.unchanged.push(rule.name.clone()),
                    Some(s) => {
                        tx.update_rule(&rule.name, rule, now)?;
                        if s.rule.status != rule.status {
                            tx.insert_rule_status_change(&RuleStatusChange {
                                rule_name: rule.name.clone(),
                                from_status: s.rule.status,
                                to_status: rule.status,
                                actor: actor.to_string(),
                                reason: "policy applied".into(),
                                changed_at: now,
                            })?;
                        }
                        report.updated.push(rule.name.clone());
                    }
                }
            }
            if mode == ApplyMode::Replace {
                for s in &existing {
                    if !policy.rules.iter().any(|r| r.name == s.rule.name) {
                        tx.delete_rule(&s.rule.name)?;
                        report.deleted.push(s.rule.name.clone());
                    }
                }
            }
            Ok(report)
        })
    }

    /// Parses and applies a policy document (TOML or JSON).
    ///
    /// # Errors
    /// `INVALID_INPUT` listing every problem (nothing applied); `STORAGE`.
    pub fn apply_policy_text(
        &self,
        text: &str,
        format: PolicyFormat,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let policy = PolicyFile::parse(text, format)?;
        self.apply_policy(&policy, mode, actor)
    }

    /// Reads and applies a policy file; `.json` files are JSON, others TOML.
    ///
    /// # Errors
    /// `INVALID_INPUT` when the file cannot be read or is invalid; `STORAGE`.
    pub fn apply_policy_file(
        &self,
        path: impl AsRef<Path>,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid("policy", format!("cannot read `{}`: {e}", path.display()))
        })?;
        self.apply_policy_text(&text, PolicyFormat::from_path(path), mode, actor)
    }

    // ----- approvals --------------------------------------------------------------------------

    /// Records an approval of a recorded version.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `NOT_FOUND` when the product or version was never recorded; `STORAGE`.
    pub fn approve(&self, request: &ApprovalRequest) -> Result<Approval> {
        let req = request.validate()?;
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let (_, version) = find_version(tx, &req.product, &req.version)?;
            let approval = Approval {
                id: uuid::Uuid::now_v7().to_string(),
                product_name: req.product.clone(),
                version: req.version.clone(),
                version_id: version.id.clone(),
                approval_type: req.approval_type.clone(),
                approver: req.approver.clone(),
                approver_role: req.approver_role.clone(),
                environment: req.environment.clone(),
                comment: req.comment.clone(),
                granted_at: now,
                revoked_at: None,
                revoked_by: None,
                revoke_reason: None,
            };
            tx.insert_approval(version.key, &approval)?;
            Ok(approval)
        })
    }

    /// Revokes an approval (it stays in the record, marked revoked).
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` when `actor` or `reason` is blank or it is already
    /// revoked; `STORAGE`.
    pub fn revoke_approval(&self, id: &str, actor: &str, reason: &str) -> Result<Approval> {
        let actor = crate::event::required("actor", Some(actor), 255)?;
        let reason = crate::event::required("reason", Some(reason), 1000)?;
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let a = tx.approval_by_id(id)?.ok_or_else(|| Error::NotFound {
                kind: "approval",
                name: id.to_string(),
            })?;
            if !a.is_active() {
                return Err(Error::invalid(
                    "id",
                    format!("approval `{id}` is already revoked"),
                ));
            }
            tx.revoke_approval(id, &actor, &reason, now)?;
            tx.approval_by_id(id)?
                .ok_or_else(|| Error::internal("approval vanished while revoking"))
        })
    }

    /// The approvals of a version (revoked ones too), oldest first.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn approvals(&self, product: &str, version: &str) -> Result<Vec<Approval>> {
        store::read(&*self.store, |tx| {
            let (_, v) = find_version(tx, product, version)?;
            tx.approvals(v.key)
        })
    }

    // ----- queries ----------------------------------------------------------------------------

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
        store::write(&*self.store, &LockScope::Global, |tx| {
            let env = environment_or_create(tx, &name, now)?;
            let (ty, overridden) = match env_type {
                Some(t) => (t, true),
                None => (EnvironmentType::infer(&name), false),
            };
            tx.set_environment_type(env.key, ty, overridden)?;
            tx.environment(&name)?
                .ok_or_else(|| Error::internal("environment vanished"))
        })
    }

    /// Versions of a product, newest first.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown product; `INVALID_INPUT` for a bad page; `STORAGE`.
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
    pub fn deployment(&self, id: &str) -> Result<Deployment> {
        store::read(&*self.store, |tx| {
            tx.deployment_by_id(id)?.ok_or_else(|| Error::NotFound {
                kind: "deployment",
                name: id.to_string(),
            })
        })
    }

    /// Deployment history, newest first. Unknown product, environment or version names match
    /// nothing.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a bad limit; `STORAGE`.
    pub fn history(&self, query: &HistoryQuery) -> Result<Vec<Deployment>> {
        let limit = Page::first(query.limit.unwrap_or(50)).validated()?.limit;
        store::read(&*self.store, |tx| {
            let mut f = HistoryFilter {
                status: query.status,
                since: query.since,
                until: query.until,
                limit,
                ..HistoryFilter::default()
            };
            let product = match &query.product {
                Some(name) => match tx.product(name)? {
                    Some(p) => Some(p),
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            f.product = product.as_ref().map(|p| p.key);
            if let Some(name) = &query.environment {
                match tx.environment(name)? {
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
    pub fn state(&self, at: Option<DateTime<Utc>>) -> Result<StateMatrix> {
        store::read(&*self.store, |tx| {
            let pairs = tx.pairs()?;
            let mut cells = Vec::with_capacity(pairs.len());
            let mut products: BTreeSet<String> = BTreeSet::new();
            let mut envs: Vec<(EnvironmentType, String)> = Vec::new();
            for (p, e) in pairs {
                if at.is_some_and(|t| p.created_at > t || e.created_at > t) {
                    continue;
                }
                let current = tx.last_success(p.key, e.key, at)?;
                let in_progress = tx.in_progress(p.key, e.key, at)?;
                if at.is_some() && current.is_none() && in_progress.is_empty() {
                    continue;
                }
                products.insert(p.name.clone());
                if !envs.iter().any(|(_, n)| *n == e.name) {
                    envs.push((e.env_type, e.name.clone()));
                }
                cells.push(StateCell {
                    product_name: p.name,
                    environment_name: e.name,
                    environment_type: e.env_type,
                    current: current.as_ref().map(DeployedVersion::from),
                    in_progress: in_progress.iter().map(DeployedVersion::from).collect(),
                });
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

    /// Products whose environments hold different versions (now, or as of `at`), considering
    /// only `environments` when given.
    ///
    /// # Errors
    /// `STORAGE`.
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

// ----- the domain rules, written once against Tx ----------------------------------------------

fn find_rule(tx: &mut dyn Tx, name: &str) -> Result<StoredRule> {
    tx.rule(name)?.ok_or_else(|| Error::NotFound {
        kind: "rule",
        name: name.to_string(),
    })
}

fn find_product(tx: &mut dyn Tx, name: &str) -> Result<Product> {
    tx.product(name)?.ok_or_else(|| Error::NotFound {
        kind: "product",
        name: name.to_string(),
    })
}

fn find_version(tx: &mut dyn Tx, product: &str, version: &str) -> Result<(Product, Version)> {
    let p = find_product(tx, product)?;
    let v = tx.version(&p, version)?.ok_or_else(|| Error::NotFound {
        kind: "version",
        name: format!("{product} {version}"),
    })?;
    Ok((p, v))
}

fn product_or_create(tx: &mut dyn Tx, name: &str, now: DateTime<Utc>) -> Result<Product> {
    match tx.product(name)? {
        Some(p) => Ok(p),
        None => tx.insert_product(name, now),
    }
}

fn environment_or_create(tx: &mut dyn Tx, name: &str, now: DateTime<Utc>) -> Result<Environment> {
    match tx.environment(name)? {
        Some(e) => Ok(e),
        None => tx.insert_environment(name, EnvironmentType::infer(name), now),
    }
}

/// What an event says about the version it names.
struct VersionInfo<'a> {
    sha: Option<&'a str>,
    branch: Option<&'a str>,
    repository: Option<&'a str>,
    build_number: Option<&'a str>,
    build_url: Option<&'a str>,
    built_by: Option<&'a str>,
}

/// Two SHAs name the same commit when one is a prefix of the other.
fn same_commit(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Finds or creates the version, enforcing immutability: the first SHA recorded wins, an
/// abbreviated SHA matches its full form (and a full SHA upgrades an abbreviated record), and
/// an event without a SHA never conflicts. Descriptive fields fill gaps, never overwrite.
fn version_or_create(
    tx: &mut dyn Tx,
    product: &Product,
    version: &str,
    info: &VersionInfo<'_>,
    now: DateTime<Utc>,
) -> Result<Version> {
    let found = tx.version(product, version)?;
    settle_version(tx, product, version, found, info, now)
}

/// [`version_or_create`] for a version already looked up (`found`).
fn settle_version(
    tx: &mut dyn Tx,
    product: &Product,
    version: &str,
    found: Option<Version>,
    info: &VersionInfo<'_>,
    now: DateTime<Utc>,
) -> Result<Version> {
    let Some(mut v) = found else {
        let v = Version {
            id: uuid::Uuid::now_v7().to_string(),
            product_id: product.id.clone(),
            product_name: product.name.clone(),
            version: version.to_string(),
            scm_sha: info.sha.map(str::to_string),
            scm_branch: info.branch.map(str::to_string),
            scm_repository: info.repository.map(str::to_string),
            build_number: info.build_number.map(str::to_string),
            build_url: info.build_url.map(str::to_string),
            built_by: info.built_by.map(str::to_string),
            created_at: now,
            key: 0,
            product_key: product.key,
        };
        return tx.insert_version(&v);
    };
    let before = v.clone();
    if let Some(given) = info.sha {
        match &v.scm_sha {
            Some(recorded) if !same_commit(recorded, given) => {
                return Err(Error::VersionConflict {
                    product: product.name.clone(),
                    version: version.to_string(),
                    recorded: recorded.clone(),
                    given: given.to_string(),
                });
            }
            Some(recorded) if given.len() > recorded.len() => v.scm_sha = Some(given.to_string()),
            Some(_) => {}
            None => v.scm_sha = Some(given.to_string()),
        }
    }
    let fill = |slot: &mut Option<String>, value: Option<&str>| {
        if slot.is_none() {
            *slot = value.map(str::to_string);
        }
    };
    fill(&mut v.scm_branch, info.branch);
    fill(&mut v.scm_repository, info.repository);
    fill(&mut v.build_number, info.build_number);
    fill(&mut v.build_url, info.build_url);
    fill(&mut v.built_by, info.built_by);
    if v != before {
        tx.update_version(&v)?;
    }
    Ok(v)
}

fn merge_metadata(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, val) in from {
        into.insert(k.clone(), val.clone());
    }
}

fn record_build(
    tx: &mut dyn Tx,
    ev: &ValidBuild,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Build> {
    let f = &ev.fields;
    let product = product_or_create(tx, &ev.product, now)?;
    let info = VersionInfo {
        sha: f.scm_sha.as_deref(),
        branch: f.scm_branch.as_deref(),
        repository: f.scm_repository.as_deref(),
        build_number: f.build_number.as_deref(),
        build_url: f.build_url.as_deref(),
        built_by: f.built_by.as_deref(),
    };
    let version = version_or_create(tx, &product, &ev.version, &info, now)?;
    if let Some(invoke) = &f.invoke_id
        && let Some(existing) = tx.build_by_invoke(version.key, invoke, ev.status)?
    {
        return Ok(existing);
    }
    let open = tx.newest_open_build(version.key)?;
    // INVARIANT: a terminal event closes the newest open build of the version; a `started`
    // event moves a queued (`pending`) build to started.
    let reuse = match (open, ev.status) {
        (Some(b), s) if s.is_terminal() => Some(b),
        (Some(b), Status::Started) if b.status == Status::Pending => Some(b),
        _ => None,
    };
    let terminal_at = ev.completed_at.unwrap_or(now);
    let build = match reuse {
        Some(mut b) => {
            b.status = ev.status;
            b.updated_at = now;
            if ev.status.is_terminal() {
                b.completed_at = Some(terminal_at);
            }
            if ev.status == Status::Started {
                b.started_at = Some(ev.started_at.unwrap_or(now));
            }
            overlay_build_fields(&mut b.fields, f);
            merge_metadata(&mut b.extra_metadata, &ev.metadata);
            tx.update_build(&b)?;
            b
        }
        None => {
            let mut b = Build {
                id: uuid::Uuid::now_v7().to_string(),
                version_id: version.id.clone(),
                product_id: product.id.clone(),
                product_name: product.name.clone(),
                version: version.version.clone(),
                status: ev.status,
                fields: f.clone(),
                started_at: match ev.status {
                    Status::Pending => ev.started_at,
                    _ => Some(ev.started_at.unwrap_or(now)),
                },
                completed_at: ev.status.is_terminal().then_some(terminal_at),
                created_at: now,
                updated_at: now,
                extra_metadata: ev.metadata.clone(),
                key: 0,
                version_key: version.key,
            };
            b.key = tx.insert_build(&b)?;
            b
        }
    };
    tx.append_build_event(build.key, ev.status, f.invoke_id.as_deref(), payload, now)?;
    Ok(build)
}

fn overlay<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        slot.clone_from(value);
    }
}

fn overlay_build_fields(b: &mut crate::model::BuildFields, f: &crate::model::BuildFields) {
    overlay(&mut b.built_by, &f.built_by);
    overlay(&mut b.built_by_email, &f.built_by_email);
    overlay(&mut b.built_by_name, &f.built_by_name);
    overlay(&mut b.scm_sha, &f.scm_sha);
    overlay(&mut b.scm_branch, &f.scm_branch);
    overlay(&mut b.scm_repository, &f.scm_repository);
    overlay(&mut b.build_url, &f.build_url);
    overlay(&mut b.build_number, &f.build_number);
    overlay(&mut b.source_system, &f.source_system);
    overlay(&mut b.invoke_id, &f.invoke_id);
    overlay(&mut b.error_message, &f.error_message);
    overlay(&mut b.error_code, &f.error_code);
}

fn overlay_deployment_fields(
    d: &mut crate::model::DeploymentFields,
    f: &crate::model::DeploymentFields,
) {
    overlay(&mut d.deployed_by, &f.deployed_by);
    overlay(&mut d.deployed_by_email, &f.deployed_by_email);
    overlay(&mut d.deployed_by_name, &f.deployed_by_name);
    overlay(&mut d.scm_sha, &f.scm_sha);
    overlay(&mut d.scm_repository, &f.scm_repository);
    overlay(&mut d.scm_branch, &f.scm_branch);
    overlay(&mut d.build_number, &f.build_number);
    overlay(&mut d.source_system, &f.source_system);
    overlay(&mut d.invoke_id, &f.invoke_id);
    overlay(&mut d.deploy_url, &f.deploy_url);
    overlay(&mut d.build_url, &f.build_url);
}

/// The product, version and environment a deployment or check names, where recorded.
struct Target {
    product_name: String,
    version_name: String,
    environment_name: String,
    product: Option<Product>,
    version: Option<Version>,
    environment: Option<Environment>,
}

impl Target {
    fn find(tx: &mut dyn Tx, product: &str, version: &str, environment: &str) -> Result<Target> {
        let p = tx.product(product)?;
        let v = match &p {
            Some(p) => tx.version(p, version)?,
            None => None,
        };
        Ok(Target {
            product_name: product.to_string(),
            version_name: version.to_string(),
            environment_name: environment.to_string(),
            product: p,
            version: v,
            environment: tx.environment(environment)?,
        })
    }
}

/// Gathers what the rules in scope need, and nothing more.
fn gather_facts(
    tx: &mut dyn Tx,
    rules: &[Rule],
    target: &Target,
    deployed_by: Option<&str>,
    exclude: Option<i64>,
) -> Result<Facts> {
    let mut facts = Facts::new(
        &target.product_name,
        &target.version_name,
        &target.environment_name,
    );
    if let Some(e) = &target.environment {
        facts.environment_type = e.env_type;
    }
    facts.deployed_by = deployed_by.map(str::to_string);
    facts.version_known = target.version.is_some();
    let live: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.status != RuleStatus::Disabled)
        .filter(|r| {
            r.scope
                .matches(&facts.product, &facts.environment, facts.environment_type)
        })
        .collect();
    let wants = |f: fn(&RuleKind) -> bool| live.iter().any(|r| f(&r.kind));
    if wants(|k| matches!(k, RuleKind::Concurrency { .. }))
        && let Some(e) = &target.environment
    {
        facts.open_deployments = tx
            .open_deployments(e.key)?
            .into_iter()
            .filter(|(key, _)| Some(*key) != exclude)
            .map(|(_, d)| d)
            .collect();
    }
    if let (Some(p), Some(v)) = (&target.product, &target.version) {
        for rule in &live {
            if let RuleKind::Flow { prerequisites, .. } = &rule.kind {
                for env_name in prerequisites {
                    if facts.stints.contains_key(env_name) {
                        continue;
                    }
                    let stint = match tx.environment(env_name)? {
                        Some(env) => tx.stint(p.key, v.key, env.key)?,
                        None => policy::Stint::default(),
                    };
                    facts.stints.insert(env_name.clone(), stint);
                }
            }
        }
        if wants(|k| {
            matches!(
                k,
                RuleKind::VersionApproval { .. } | RuleKind::ReleaseApproval { .. }
            )
        }) {
            facts.approvals = tx
                .approvals(v.key)?
                .into_iter()
                .filter(Approval::is_active)
                .collect();
        }
        if wants(|k| matches!(k, RuleKind::ReleaseApproval { .. })) {
            facts.builders = tx.builders(v.key)?;
        }
    }
    Ok(facts)
}

fn record_deployment(
    tx: &mut dyn Tx,
    ev: &ValidDeployment,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Deployment> {
    let f = &ev.fields;
    // One look-up of the target serves the replay check and the creation of what is missing.
    let found = Target::find(tx, &ev.product, &ev.version, &ev.environment)?;
    // Idempotent replay: the same run id and status for the same target writes nothing.
    if let (Some(invoke), Some(p), Some(v), Some(e)) = (
        &f.invoke_id,
        &found.product,
        &found.version,
        &found.environment,
    ) && let Some(existing) = tx.deployment_by_invoke(p.key, v.key, e.key, invoke, ev.status)?
    {
        return Ok(existing);
    }
    let product = match found.product {
        Some(p) => p,
        None => tx.insert_product(&ev.product, now)?,
    };
    let environment = match found.environment {
        Some(e) => e,
        None => tx.insert_environment(
            &ev.environment,
            EnvironmentType::infer(&ev.environment),
            now,
        )?,
    };
    let info = VersionInfo {
        sha: f.scm_sha.as_deref(),
        branch: f.scm_branch.as_deref(),
        repository: f.scm_repository.as_deref(),
        build_number: f.build_number.as_deref(),
        build_url: f.build_url.as_deref(),
        built_by: None,
    };
    let version = settle_version(tx, &product, &ev.version, found.version, &info, now)?;
    let open = tx.newest_open_deployment(product.key, version.key, environment.key)?;
    // INVARIANT: a terminal event closes the newest open deployment of the same product,
    // version and environment; `started` moves a queued (`pending`) one to started.
    let reuse = match (open, ev.status) {
        (Some(d), s) if s.is_terminal() => Some(d),
        (Some(d), Status::Started) if d.status == Status::Pending => Some(d),
        _ => None,
    };
    let preflight = if ev.status == Status::Started {
        let rules: Vec<Rule> = tx.rules()?.into_iter().map(|r| r.rule).collect();
        let target = Target {
            product_name: product.name.clone(),
            version_name: version.version.clone(),
            environment_name: environment.name.clone(),
            product: Some(product.clone()),
            version: Some(version.clone()),
            environment: Some(environment.clone()),
        };
        let facts = gather_facts(
            tx,
            &rules,
            &target,
            f.deployed_by.as_deref(),
            reuse.as_ref().map(|d| d.key),
        )?;
        let verdict = policy::evaluate(&rules, &facts, now);
        match (&ev.bypass, verdict.is_allowed()) {
            (Some(reason), _) => {
                tracing::warn!(
                    product = %product.name, version = %version.version, environment = %environment.name,
                    reason = %reason, allowed = verdict.is_allowed(), "preflight bypassed"
                );
                Some(Preflight {
                    status: PreflightStatus::Skipped,
                    verdict,
                    bypass_reason: Some(reason.clone()),
                })
            }
            (None, true) => Some(Preflight {
                status: PreflightStatus::Passed,
                verdict,
                bypass_reason: None,
            }),
            (None, false) => return Err(Error::Blocked(Box::new(verdict))),
        }
    } else {
        None
    };
    let terminal_at = ev.completed_at.unwrap_or(now);
    let deployment = match reuse {
        Some(mut d) => {
            d.status = ev.status;
            d.updated_at = now;
            if ev.status.is_terminal() {
                d.completed_at = Some(terminal_at);
            } else {
                d.started_at = Some(now);
            }
            overlay_deployment_fields(&mut d.fields, f);
            merge_metadata(&mut d.extra_metadata, &ev.metadata);
            tx.update_deployment(&d)?;
            if let Some(p) = preflight {
                tx.set_preflight(d.key, &p)?;
                d.preflight = Some(p);
            }
            d
        }
        None => {
            let mut d = Deployment {
                id: uuid::Uuid::now_v7().to_string(),
                product_id: product.id.clone(),
                product_name: product.name.clone(),
                version_id: version.id.clone(),
                version: version.version.clone(),
                environment_id: environment.id.clone(),
                environment_name: environment.name.clone(),
                status: ev.status,
                fields: f.clone(),
                deployed_at: if ev.status.is_terminal() {
                    terminal_at.min(now)
                } else {
                    now
                },
                started_at: (ev.status == Status::Started).then_some(now),
                completed_at: ev.status.is_terminal().then_some(terminal_at),
                updated_at: now,
                extra_metadata: ev.metadata.clone(),
                preflight,
                key: 0,
                product_key: product.key,
                version_key: version.key,
                environment_key: environment.key,
            };
            d.key = tx.insert_deployment(&d)?;
            d
        }
    };
    tx.append_deployment_event(
        deployment.key,
        ev.status,
        f.invoke_id.as_deref(),
        payload,
        now,
    )?;
    Ok(deployment)
}
