//! Storage: the [`Store`] trait and its implementations.
//!
//! A store knows how to run a closure inside one transaction and offers primitive reads and
//! writes through [`Tx`]; the domain rules (auto-creation, immutability, lifecycle matching,
//! the preflight) live once in the service layer, written against `Tx`, so every store behaves
//! the same. A write transaction is exclusive for what it locks: SQLite takes its write lock up
//! front (`BEGIN IMMEDIATE`), so the preflight's reads and the recording write are one atomic
//! step and two concurrent `started` events can never both pass a rule only one may pass.
//! Any error returned by the closure rolls the transaction back: nothing is half-written.
//!
//! # Sealed
//! [`Store`] and [`Tx`] are sealed: only this crate implements them. A store is more than the
//! trait's signatures (the records carry store row keys, and the preflight's atomicity and the
//! outbox's gap-free order are promises of each implementation, checked by the conformance
//! suites that run on both stores), so a new store belongs here, beside the two, where those
//! suites run against it. [`Versioner::with_store`](crate::Versioner::with_store) takes either.

mod group;
#[cfg(feature = "postgres")]
mod postgres;
mod schema;
mod sql;
mod sqlite;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::access::{ApiKey, IdempotencyRecord, Principal, Role, Session, StoredApiKey};
use crate::approval::Approval;
use crate::decision::{DecisionOutcome, DecisionRecord};
use crate::error::Result;
use crate::import::ImportKind;
use crate::model::{Build, Deployment, Environment, EnvironmentType, Page, Product, Version};
use crate::notify::{Channel, Delivery, DeliveryStatus, Preference};
use crate::outbox::{DomainEvent, NewEvent};
use crate::policy::{OpenDeployment, Preflight, Rule, RuleStatus, Stint};
use crate::queue::QueueEntry;
use crate::request::{DeploymentRequest, RequestStatus, RequestTemplate};
use crate::status::Status;

pub use group::GroupStats;
#[cfg(feature = "postgres")]
pub use postgres::{PgOptions, PgStore};
#[cfg(feature = "postgres")]
pub use schema::PG_SCHEMA_VERSION;
pub use schema::SCHEMA_VERSION;
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// What a write transaction must exclude concurrent writers from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockScope {
    /// Everything (catalog and rule changes).
    Global,
    /// One environment: deployments to it and their preflight.
    Environment(String),
}

/// A stored rule with its bookkeeping.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct StoredRule {
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
    /// Its position in evaluation order.
    pub position: i64,
    /// When it was created.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    #[serde(with = "crate::wire::instant")]
    pub updated_at: DateTime<Utc>,
}

impl<'de> serde::Deserialize<'de> for StoredRule {
    /// Reads the serialized form: the rule's policy-file fields plus `position`, `created_at`
    /// and `updated_at`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<StoredRule, D::Error> {
        use serde::de::Error as _;
        let Value::Object(mut m) = Value::deserialize(d)? else {
            return Err(D::Error::custom("a stored rule must be an object"));
        };
        let mut take_time = |key: &str| -> std::result::Result<DateTime<Utc>, D::Error> {
            let v = m.remove(key).unwrap_or(Value::Null);
            serde_json::from_value(v).map_err(|e| D::Error::custom(format!("`{key}`: {e}")))
        };
        let created_at = take_time("created_at")?;
        let updated_at = take_time("updated_at")?;
        let position = m.remove("position").and_then(|p| p.as_i64()).unwrap_or(0);
        let rule = Rule::from_json(&Value::Object(m)).map_err(D::Error::custom)?;
        Ok(StoredRule {
            rule,
            position,
            created_at,
            updated_at,
        })
    }
}

/// One recorded change of a rule's status.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RuleStatusChange {
    /// The rule.
    pub rule_name: String,
    /// The status before.
    pub from_status: RuleStatus,
    /// The status after.
    pub to_status: RuleStatus,
    /// Who changed it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(with = "crate::wire::instant")]
    pub changed_at: DateTime<Utc>,
}

/// A deployment in brief (see [`Tx::newest_begun`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its public id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// When it finished, once terminal.
    pub completed_at: Option<DateTime<Utc>>,
}

/// Filters for deployment history.
///
/// # Examples
/// ```
/// use versioner_core::{DeploymentEvent, HistoryQuery, Status, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "failed"))?;
/// let mut query = HistoryQuery::new().product("api");
/// query.status = Some(Status::Failed);
/// query.limit = Some(10);
/// assert_eq!(vr.history(&query)?.len(), 1);
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct HistoryQuery {
    /// Only this product.
    pub product: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only this version.
    pub version: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only deployments recorded at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only deployments recorded before this instant.
    pub until: Option<DateTime<Utc>>,
    /// At most this many, newest first (1..=1000; default 50).
    pub limit: Option<u32>,
    /// Only deployments whose preflight passed, or was skipped (an emergency bypass).
    pub preflight: Option<crate::policy::PreflightStatus>,
}

impl HistoryQuery {
    /// Everything, newest first, 50 at most.
    pub fn new() -> HistoryQuery {
        HistoryQuery::default()
    }
    /// Only this product.
    #[must_use]
    pub fn product(mut self, p: impl Into<String>) -> HistoryQuery {
        self.product = Some(p.into());
        self
    }
    /// Only this environment.
    #[must_use]
    pub fn environment(mut self, e: impl Into<String>) -> HistoryQuery {
        self.environment = Some(e.into());
        self
    }
    /// Only this version.
    #[must_use]
    pub fn version(mut self, v: impl Into<String>) -> HistoryQuery {
        self.version = Some(v.into());
        self
    }
    /// Only this status.
    #[must_use]
    pub fn status(mut self, s: Status) -> HistoryQuery {
        self.status = Some(s);
        self
    }
    /// Only at or after `t`.
    #[must_use]
    pub fn since(mut self, t: DateTime<Utc>) -> HistoryQuery {
        self.since = Some(t);
        self
    }
    /// Only before `t`.
    #[must_use]
    pub fn until(mut self, t: DateTime<Utc>) -> HistoryQuery {
        self.until = Some(t);
        self
    }
    /// At most `n`.
    #[must_use]
    pub fn limit(mut self, n: u32) -> HistoryQuery {
        self.limit = Some(n);
        self
    }
}

/// A history filter resolved to store keys (for [`Tx::history`] implementors).
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Product key.
    pub product: Option<i64>,
    /// Environment key.
    pub environment: Option<i64>,
    /// Version key.
    pub version: Option<i64>,
    /// Status.
    pub status: Option<Status>,
    /// Recorded at or after.
    pub since: Option<DateTime<Utc>>,
    /// Recorded before.
    pub until: Option<DateTime<Utc>>,
    /// With this preflight status.
    pub preflight: Option<crate::policy::PreflightStatus>,
    /// At most this many.
    pub limit: u32,
}

mod sealed {
    /// Implemented only by this crate's stores and transactions.
    pub trait Sealed {}
}

/// A product's or an environment's catalog entry as written by [`Tx::update_product`] and
/// [`Tx::update_environment`]: every field, already validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatalogEntry<'a> {
    /// The name.
    pub name: &'a str,
    /// The description.
    pub description: Option<&'a str>,
    /// The metadata.
    pub extra_metadata: &'a serde_json::Map<String, serde_json::Value>,
}

/// A transaction's primitive operations. Implemented by each store; used by the service layer.
///
/// Keys (`i64`) are the store's internal row keys; public ids are UUID strings.
pub trait Tx: sealed::Sealed {
    /// A product by name.
    fn product(&mut self, name: &str) -> Result<Option<Product>>;
    /// Creates a product.
    fn insert_product(&mut self, name: &str, now: DateTime<Utc>) -> Result<Product>;
    /// Every product, by name.
    fn products(&mut self) -> Result<Vec<Product>>;
    /// An environment by name.
    fn environment(&mut self, name: &str) -> Result<Option<Environment>>;
    /// Creates an environment.
    fn insert_environment(
        &mut self,
        name: &str,
        env_type: EnvironmentType,
        now: DateTime<Utc>,
    ) -> Result<Environment>;
    /// Sets an environment's type (`None`: back to inference from the name).
    fn set_environment_type(
        &mut self,
        key: i64,
        env_type: EnvironmentType,
        overridden: bool,
    ) -> Result<()>;
    /// Every environment, by type then name.
    fn environments(&mut self) -> Result<Vec<Environment>>;
    /// Writes a product's catalog entry: its name, description and metadata.
    fn update_product(&mut self, key: i64, entry: &CatalogEntry<'_>) -> Result<()>;
    /// Writes an environment's catalog entry: its name, description and metadata.
    fn update_environment(&mut self, key: i64, entry: &CatalogEntry<'_>) -> Result<()>;
    /// A version of a product.
    fn version(&mut self, product: &Product, version: &str) -> Result<Option<Version>>;
    /// A version by public id.
    fn version_by_id(&mut self, id: &str) -> Result<Option<Version>>;
    /// Versions of a product, newest first.
    fn versions(&mut self, product: &Product, page: Page) -> Result<Vec<Version>>;
    /// Versions whose SHA starts with `sha_prefix` (lower-case hex).
    fn versions_by_sha(&mut self, sha_prefix: &str) -> Result<Vec<Version>>;
    /// Creates a version; returns it with its key.
    fn insert_version(&mut self, version: &Version) -> Result<Version>;
    /// Updates a version's SCM and build fields (never its identity).
    fn update_version(&mut self, version: &Version) -> Result<()>;
    /// The build of a version that an event with this run id and status recorded.
    fn build_by_invoke(
        &mut self,
        version_key: i64,
        invoke_id: &str,
        status: Status,
    ) -> Result<Option<Build>>;
    /// The newest open build of a version.
    fn newest_open_build(&mut self, version_key: i64) -> Result<Option<Build>>;
    /// Creates a build; returns its key.
    fn insert_build(&mut self, build: &Build) -> Result<i64>;
    /// Updates a build's status, times, fields and metadata.
    fn update_build(&mut self, build: &Build) -> Result<()>;
    /// Appends a build event to the ledger.
    fn append_build_event(
        &mut self,
        build_key: i64,
        status: Status,
        invoke_id: Option<&str>,
        payload: &Value,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Who built a version (distinct, as recorded): the builds' and the version's `built_by`,
    /// and the principals that recorded its builds.
    fn builders(&mut self, version_key: i64) -> Result<Vec<String>>;
    /// The deployment of (product, version, environment) that an event with this run id and
    /// status recorded.
    fn deployment_by_invoke(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
        invoke_id: &str,
        status: Status,
    ) -> Result<Option<Deployment>>;
    /// The newest open deployment of (product, version, environment).
    fn newest_open_deployment(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
    ) -> Result<Option<Deployment>>;
    /// Open deployments of any product in an environment, with their keys.
    fn open_deployments(&mut self, environment_key: i64) -> Result<Vec<(i64, OpenDeployment)>>;
    /// A deployment by public id.
    fn deployment_by_id(&mut self, id: &str) -> Result<Option<Deployment>>;
    /// Creates a deployment, with its preflight when it has one; returns its key.
    fn insert_deployment(&mut self, deployment: &Deployment) -> Result<i64>;
    /// Updates a deployment's status, times, fields and metadata (not its preflight).
    fn update_deployment(&mut self, deployment: &Deployment) -> Result<()>;
    /// Records (or replaces) the preflight a deployment started with.
    fn set_preflight(&mut self, deployment_key: i64, preflight: &Preflight) -> Result<()>;
    /// Appends a deployment event to the ledger.
    fn append_deployment_event(
        &mut self,
        deployment_key: i64,
        status: Status,
        invoke_id: Option<&str>,
        payload: &Value,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Whether a line with this key (see [`crate::import`]) was imported already.
    fn imported_line(&mut self, key: &str) -> Result<bool>;
    /// Marks the build or deployment `record_key` as imported at `at` and keeps the key of
    /// the line that recorded it.
    fn mark_imported(
        &mut self,
        kind: ImportKind,
        record_key: i64,
        line_key: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// At most `limit` builds whose key is above `after`, in key order (export pages).
    fn builds_after(&mut self, after: i64, limit: u32) -> Result<Vec<Build>>;
    /// At most `limit` deployments whose key is above `after`, in key order (export pages).
    fn deployments_after(&mut self, after: i64, limit: u32) -> Result<Vec<Deployment>>;
    /// How a version fared in an environment (for flow and soak), as recorded by
    /// `recorded_by` (now, for a live preflight; a past instant, for a check at it).
    fn stint(
        &mut self,
        product_key: i64,
        version_key: i64,
        environment_key: i64,
        recorded_by: DateTime<Utc>,
    ) -> Result<Stint>;
    /// Deployments of any product in an environment that, as recorded, had started by `at`
    /// (and at or after `since`) and were still open at `at`, with their keys.
    fn open_deployments_at(
        &mut self,
        environment_key: i64,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, OpenDeployment)>>;
    /// Deployment history, newest first.
    fn history(&mut self, filter: &HistoryFilter) -> Result<Vec<Deployment>>;
    /// The finished (`completed` or `failed`) deployments of a product (of every product
    /// when `None`) to an environment, with their versions' lead-time facts, in any order.
    fn finished_deployments(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
    ) -> Result<Vec<crate::insights::FinishedDeployment>>;
    /// Adds a deployment that just finished (`completed` or `failed`, with its finish time)
    /// to the four keys' rollups (see [`crate::insights::rollup`]); called once per
    /// deployment, in the transaction that finishes it.
    fn roll_up_finish(&mut self, deployment: &Deployment) -> Result<()>;
    /// Recomputes the four keys' rollups from the ledger (after an import that did not keep
    /// them per deployment).
    fn refill_rollups(&mut self) -> Result<()>;
    /// Sizes the connection for a transaction that writes a great deal (a large import) while
    /// `large`, and back to its usual size after: on SQLite, a page cache that holds the
    /// import's working set instead of spilling pages to the WAL and reading them back.
    fn bulk(&mut self, large: bool) -> Result<()>;
    /// Successes and failures of a product (or every product) in an environment per UTC day
    /// of `[from, to)`, by day.
    fn dora_days(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::insights::rollup::DayCount>>;
    /// The finish time and status of each deployment of a product (or every product) to an
    /// environment finished (`completed` or `failed`) in `[from, to)`.
    fn finished_between(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, Status)>>;
    /// The versions of a product (or every product) whose first success in the environments
    /// of `scope` finished in `[since, until)`: that instant and where the version's lead time
    /// starts.
    fn dora_firsts(
        &mut self,
        product_key: Option<i64>,
        scope: &[i64],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>>;
    /// The failed deployments of a product (or every product) to an environment finished in
    /// `[since, until)`: when, and when the next success restored them.
    fn dora_failures(
        &mut self,
        product_key: Option<i64>,
        environment_key: i64,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::insights::rollup::Failure>>;
    /// Every (product, environment) pair that has had a deployment.
    fn pairs(&mut self) -> Result<Vec<(Product, Environment)>>;
    /// The last successful deployment of a product to an environment completed at or before
    /// `at` (or ever, when `at` is `None`).
    fn last_success(
        &mut self,
        product_key: i64,
        environment_key: i64,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<Deployment>>;
    /// The open deployments of a product to an environment, oldest first.
    fn open_for(&mut self, product_key: i64, environment_key: i64) -> Result<Vec<Deployment>>;
    /// The `limit` most recent deployments of a product to an environment begun at or before
    /// `at`, newest first (equal times: the later recorded first).
    fn begun_by(
        &mut self,
        product_key: i64,
        environment_key: i64,
        at: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Deployment>>;
    /// The newest deployment of a product to an environment begun at or before `at` (as
    /// [`Tx::begun_by`] orders them), read cheaply: its public id, status and completion.
    fn newest_begun(
        &mut self,
        product_key: i64,
        environment_key: i64,
        at: DateTime<Utc>,
    ) -> Result<Option<Attempt>>;
    /// Every rule in evaluation order.
    fn rules(&mut self) -> Result<Vec<StoredRule>>;
    /// A rule by name.
    fn rule(&mut self, name: &str) -> Result<Option<StoredRule>>;
    /// Adds a rule at the end of the evaluation order.
    fn insert_rule(&mut self, rule: &Rule, now: DateTime<Utc>) -> Result<()>;
    /// Replaces the definition of the rule named `name` (it may be renamed).
    fn update_rule(&mut self, name: &str, rule: &Rule, now: DateTime<Utc>) -> Result<()>;
    /// Deletes a rule.
    fn delete_rule(&mut self, name: &str) -> Result<()>;
    /// Records a status change of a rule.
    fn insert_rule_status_change(&mut self, change: &RuleStatusChange) -> Result<()>;
    /// A rule's status history, oldest first (all rules when `None`).
    fn rule_status_changes(&mut self, name: Option<&str>) -> Result<Vec<RuleStatusChange>>;
    /// Records an approval.
    fn insert_approval(&mut self, version_key: i64, approval: &Approval) -> Result<()>;
    /// A version's approvals (revoked ones too), oldest first.
    fn approvals(&mut self, version_key: i64) -> Result<Vec<Approval>>;
    /// An approval by public id.
    fn approval_by_id(&mut self, id: &str) -> Result<Option<Approval>>;
    /// Marks an approval revoked.
    fn revoke_approval(
        &mut self,
        id: &str,
        by: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;

    // ----- the outbox -------------------------------------------------------------------------

    /// Appends a domain event; returns its sequence number (the previous one plus one).
    fn append_event(&mut self, event: &NewEvent) -> Result<i64>;
    /// Events with a sequence number above `after`, in order, at most `limit`.
    fn events_since(&mut self, after: i64, limit: u32) -> Result<Vec<DomainEvent>>;
    /// The highest sequence number, 0 when there is none.
    fn last_event_seq(&mut self) -> Result<i64>;
    /// What a consumer has acknowledged (0 when nothing).
    fn consumer_cursor(&mut self, consumer: &str) -> Result<i64>;
    /// Records what a consumer has acknowledged (never moves it back).
    fn set_consumer_cursor(&mut self, consumer: &str, seq: i64, at: DateTime<Utc>) -> Result<()>;

    // ----- decision records --------------------------------------------------------------------

    /// Keeps a decision record.
    fn insert_decision(&mut self, decision: &DecisionRecord) -> Result<()>;
    /// Decision records with a row key below `before` (all when `None`), newest first, recorded
    /// in `[since, until)` and with one of `outcomes` (any when empty), at most `limit`; each
    /// with its row key, for paging.
    fn decisions(
        &mut self,
        before: Option<i64>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        outcomes: &[DecisionOutcome],
        limit: u32,
    ) -> Result<Vec<(i64, DecisionRecord)>>;
    /// The newest decision record of the deployment with this public id.
    fn decision_by_deployment(&mut self, deployment_id: &str) -> Result<Option<DecisionRecord>>;
    /// Keeps a policy's rules under its hash (once).
    fn put_policy(&mut self, hash: &str, rules: &Value, at: DateTime<Utc>) -> Result<()>;
    /// The rules of the policy with this hash.
    fn policy(&mut self, hash: &str) -> Result<Option<Value>>;

    // ----- API keys and idempotency -----------------------------------------------------------

    /// Stores a key.
    fn insert_api_key(&mut self, key: &StoredApiKey) -> Result<()>;
    /// Every key (revoked ones too), oldest first.
    fn api_keys(&mut self) -> Result<Vec<ApiKey>>;
    /// The active key whose secret hashes to `key_hash`.
    fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>>;
    /// The active key with this name or id.
    fn active_api_key(&mut self, name_or_id: &str) -> Result<Option<ApiKey>>;
    /// Marks a key revoked.
    fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<()>;
    /// Notes a key's use.
    fn touch_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<()>;
    /// The principal with this name, in any ASCII case.
    fn principal(&mut self, name: &str) -> Result<Option<Principal>>;
    /// Every principal, by name.
    fn principals(&mut self) -> Result<Vec<Principal>>;
    /// Creates a principal.
    fn insert_principal(&mut self, principal: &Principal) -> Result<()>;
    /// Changes a principal's role.
    fn set_principal_role(&mut self, name: &str, role: Role, at: DateTime<Utc>) -> Result<()>;

    // ----- dashboard sessions --------------------------------------------------------------

    /// Keeps a session: the SHA-256 of its token, the key it was opened with and its
    /// principal, and its lifetime.
    fn insert_session(
        &mut self,
        token_hash: &str,
        key: &ApiKey,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The session whose token hashes to `token_hash`, if it has not expired by `now` and its
    /// key is still active, with its principal's current role.
    fn session_by_hash(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    /// Deletes a session; whether there was one.
    fn delete_session(&mut self, token_hash: &str) -> Result<bool>;
    /// Forgets sessions expired by `now`.
    fn prune_sessions(&mut self, now: DateTime<Utc>) -> Result<()>;

    // ----- settings of the policy -------------------------------------------------------------

    /// The setting `name` (the approval catalog is `approvals`), if set.
    fn setting(&mut self, name: &str) -> Result<Option<Value>>;
    /// Sets the setting `name`, or with `None` removes it.
    fn put_setting(&mut self, name: &str, value: Option<&Value>, at: DateTime<Utc>) -> Result<()>;
    /// The idempotency record of `(scope, key)` created at or after `since`.
    fn idempotency_record(
        &mut self,
        scope: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>>;
    /// Creates or replaces the idempotency record of its `(scope, key)`.
    fn put_idempotency_record(&mut self, record: &IdempotencyRecord) -> Result<()>;
    /// Forgets idempotency records created before `before`.
    fn prune_idempotency(&mut self, before: DateTime<Utc>) -> Result<()>;

    // ----- notifications ----------------------------------------------------------------------

    /// Every notification channel (secrets included), by name.
    fn notification_channels(&mut self) -> Result<Vec<Channel>>;
    /// Creates a channel; its cursor starts at `channel.delivered_through`.
    fn insert_notification_channel(&mut self, channel: &Channel) -> Result<()>;
    /// Replaces a channel's definition (its cursor and lease stay).
    fn update_notification_channel(&mut self, channel: &Channel) -> Result<()>;
    /// Deletes a channel and its preferences.
    fn delete_notification_channel(&mut self, id: &str) -> Result<()>;
    /// Every preference, oldest first.
    fn notification_preferences(&mut self) -> Result<Vec<Preference>>;
    /// Creates a preference.
    fn insert_notification_preference(&mut self, preference: &Preference) -> Result<()>;
    /// Deletes a preference.
    fn delete_notification_preference(&mut self, id: &str) -> Result<()>;
    /// Takes or renews channel `id`'s delivery lease for `holder` until `until`, unless another
    /// holder's lease runs past `now`; returns the channel's cursor when `holder` holds it.
    fn lease_notification_channel(
        &mut self,
        id: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    /// Moves channel `id`'s cursor forward to `seq` and renews the lease until `until`, if
    /// `holder` still holds it; returns whether it did.
    fn advance_notification_channel(
        &mut self,
        id: &str,
        holder: &str,
        seq: i64,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Ends `holder`'s lease of channel `id`.
    fn release_notification_channel(&mut self, id: &str, holder: &str) -> Result<()>;
    /// Records a delivery attempt.
    fn insert_delivery(&mut self, delivery: &Delivery) -> Result<()>;
    /// Delivery attempts, newest first: of channel `channel` (any when `None`), with `status`
    /// (any when `None`), at most `limit`.
    fn deliveries(
        &mut self,
        channel: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;

    // ----- Deployment Requests ---------------------------------------------------------------

    /// Records a new Deployment Request and the version × environment pairs it targets.
    fn insert_request(&mut self, request: &DeploymentRequest) -> Result<()>;
    /// Rewrites a Deployment Request (its status, record and targets).
    fn update_request(&mut self, request: &DeploymentRequest) -> Result<()>;
    /// The Deployment Request of public id `id` (in a write, locked until it commits).
    fn request(&mut self, id: &str) -> Result<Option<DeploymentRequest>>;
    /// Deployment Requests, newest first, of `status` (any when `None`).
    fn requests(&mut self, status: Option<RequestStatus>) -> Result<Vec<DeploymentRequest>>;
    /// The submitted, unfinished Deployment Requests (`in_progress`, `approved`, `rejected`)
    /// that target version `version_id` in the environment whose name key
    /// (`names::key`) is `environment_key`, oldest first (in a write, locked).
    fn requests_covering(
        &mut self,
        version_id: &str,
        environment_key: &str,
    ) -> Result<Vec<DeploymentRequest>>;
    /// Every Deployment Request template, by name.
    fn request_templates(&mut self) -> Result<Vec<RequestTemplate>>;
    /// Adds or replaces a template.
    fn put_request_template(&mut self, template: &RequestTemplate) -> Result<()>;
    /// Removes a template; whether there was one.
    fn delete_request_template(&mut self, name: &str) -> Result<bool>;

    // ----- The wait queue ----------------------------------------------------------------------

    /// Appends a ticket to the queue of the environment whose name key (`names::key`) is
    /// `environment_key`.
    fn enqueue(&mut self, environment_key: &str, entry: &QueueEntry) -> Result<()>;
    /// Rewrites a ticket (its heartbeat); whether it is still queued.
    fn update_ticket(&mut self, entry: &QueueEntry) -> Result<bool>;
    /// Removes a ticket; whether there was one.
    fn dequeue(&mut self, id: &str) -> Result<bool>;
    /// The tickets of one environment (by name key) or of all, in arrival order, with
    /// `position` left at 0.
    fn queue_tickets(&mut self, environment_key: Option<&str>) -> Result<Vec<QueueEntry>>;
}

/// The version × environment pairs a Deployment Request is looked up by.
pub(crate) fn request_targets(r: &DeploymentRequest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in &r.versions {
        for e in &r.environments {
            out.push((v.version_id.clone(), crate::names::key(e)));
        }
    }
    out
}

/// A place to keep Versioner's records.
pub trait Store: sealed::Sealed + Send + Sync + std::fmt::Debug {
    /// Runs `f` in one write transaction, excluding concurrent writers of `lock`; commits when
    /// `f` succeeds and rolls back when it fails.
    ///
    /// # Errors
    /// `f`'s error, or `STORAGE`.
    fn write(&self, lock: &LockScope, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// Runs `f` in one read transaction (a consistent snapshot).
    ///
    /// # Errors
    /// `f`'s error, or `STORAGE`.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// Writes a consistent copy of the whole database to the new file `dest` while writers
    /// keep running (SQLite's online backup API).
    ///
    /// # Errors
    /// `INVALID_INPUT` when `dest` exists or the store cannot be backed up this way (an
    /// in-memory database; PostgreSQL, whose message says how to use `pg_dump`); `STORAGE`.
    fn backup_to(&self, dest: &Path) -> Result<()>;

    /// Replaces the whole database with the backup file `src`, after checking that it is
    /// sound (`PRAGMA integrity_check`) and of a schema this library reads (an older one is
    /// migrated). The caller decides whether the current content may be replaced.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a file that is not a sound Versioner backup, or a store that cannot
    /// be restored this way (PostgreSQL: `pg_restore`); `STORAGE` (`SchemaTooNew` for a backup
    /// written by a newer library).
    fn restore_from(&self, src: &Path) -> Result<()>;

    /// How the store's database connections are used now.
    fn connections(&self) -> ConnectionUse;
}

/// How a store's database connections are used at one instant (`GET /metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConnectionUse {
    /// Connections open.
    pub open: u32,
    /// Of those, connections idle (not in a transaction).
    pub idle: u32,
    /// The most connections the store opens.
    pub max: u32,
    /// How concurrent transactions shared commits since the store was opened (SQLite's
    /// group commit; zero on PostgreSQL).
    pub groups: GroupStats,
    /// Protocol round trips the store's transactions made since it was opened (PostgreSQL,
    /// `BEGIN` and `COMMIT` included; zero on SQLite, which makes none).
    pub round_trips: u64,
}

impl ConnectionUse {
    /// A reading from its parts.
    pub fn new(open: u32, idle: u32, max: u32) -> ConnectionUse {
        ConnectionUse {
            open,
            idle,
            max,
            groups: GroupStats::default(),
            round_trips: 0,
        }
    }

    /// The same reading with the store's group commit counts.
    #[must_use]
    pub fn with_groups(mut self, groups: GroupStats) -> ConnectionUse {
        self.groups = groups;
        self
    }

    /// The same reading with the store's round-trip count.
    #[must_use]
    pub fn with_round_trips(mut self, round_trips: u64) -> ConnectionUse {
        self.round_trips = round_trips;
        self
    }
}

/// What restoring a backup does when the database already holds records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreMode {
    /// Refuse (the default): a restore never silently replaces recorded history.
    #[default]
    Refuse,
    /// Replace what the database holds (`versioner restore --force`).
    Overwrite,
}

/// What PostgreSQL users do instead of `versioner backup` / `restore`.
pub const PG_BACKUP_GUIDANCE: &str = "a PostgreSQL database is backed up with PostgreSQL's own \
     tools: `pg_dump --format=custom --file=versioner.dump \"$VERSIONER_DATABASE_URL\"`, and \
     restored with `pg_restore --clean --if-exists --dbname=\"$VERSIONER_DATABASE_URL\" \
     versioner.dump` (both consistent while writers run)";

/// Runs `f` in a write transaction and returns its value.
pub(crate) fn write<T>(
    store: &dyn Store,
    lock: &LockScope,
    f: impl FnOnce(&mut dyn Tx) -> Result<T>,
) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    store.write(lock, &mut |tx| {
        let f = f
            .take()
            .ok_or_else(|| crate::Error::internal("write transaction retried"))?;
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| crate::Error::internal("write transaction produced no value"))
}

/// Runs `f` in a read transaction and returns its value.
pub(crate) fn read<T>(store: &dyn Store, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    store.read(&mut |tx| {
        let f = f
            .take()
            .ok_or_else(|| crate::Error::internal("read transaction retried"))?;
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| crate::Error::internal("read transaction produced no value"))
}
