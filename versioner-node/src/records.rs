//! What the methods resolve to: the core's records as JavaScript objects.
//!
//! Each type here mirrors a core record field for field. The Rust names are the core's serde
//! names (snake_case), so a record is converted by a serde round trip through its JSON form
//! ([`from_core`]), except the records of the hot paths (verdicts, deployments, builds), which
//! [`crate::convert`] builds straight from the core's types; napi-rs renames every field to camelCase for JavaScript and writes the
//! TypeScript interface. Times become `Date`s. Free-form maps (`extraMetadata`, `details`,
//! `metadata`, a verdict's `details`) are passed through unchanged: their keys are data.
//!
//! Every mirror refuses unknown fields (`deny_unknown_fields`): a field the core adds and this
//! file lacks makes the conversion fail, naming it, instead of disappearing.
//! `__test__/records.test.mjs` converts every record of `versioner-core/tests/vectors/records.json`
//! (each core record with every field populated) through [`record_from_core_for_tests`], so the
//! suite fails until the field is added here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use napi::Env;
use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi_derive::napi;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Converts a core record into its JavaScript shape through its serde JSON form.
///
/// # Errors
/// `INTERNAL` if the shapes disagree (a bug: the suite exercises every record).
pub(crate) fn from_core<C: serde::Serialize, R: DeserializeOwned>(
    record: &C,
) -> versioner_core::Result<R> {
    let json = serde_json::to_value(record).map_err(|e| {
        versioner_core::Error::internal(format!("cannot convert a record for Node: {e}"))
    })?;
    from_core_json(json)
}

/// Converts a core record's serde JSON into its JavaScript shape; a field the mirror lacks
/// is refused, naming it and where it is (`preflight.verdict.outcomes[0]`).
///
/// Plain serde reads the value first; only when that fails does the path-tracking reader
/// (which costs a string per key) read it again, to name where.
fn from_core_json<R: DeserializeOwned>(json: Value) -> versioner_core::Result<R> {
    if let Ok(record) = R::deserialize(&json) {
        return Ok(record);
    }
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        versioner_core::Error::internal(format!(
            "cannot convert a record for Node{at}: {} (the core and this addon disagree on \
             the record's fields)",
            e.into_inner()
        ))
    })
}

/// Converts `json`, a core record of type `kind` (`Deployment`, `StoredRule`, ... as named in
/// `versioner-core/tests/vectors/records.json`) in its serde form, into its JavaScript mirror,
/// as every method does. For the field guard in `__test__/records.test.mjs`; not part of the
/// API. Throws `INTERNAL` naming the field the mirror lacks, or the type it does not mirror.
#[napi(js_name = "__recordFromCoreForTests", skip_typescript)]
pub fn record_from_core_for_tests<'env>(
    env: &'env Env,
    kind: String,
    json: Value,
) -> napi::Result<Unknown<'env>> {
    fn to_js<'env, R: DeserializeOwned + ToNapiValue>(
        env: &'env Env,
        json: Value,
    ) -> napi::Result<Unknown<'env>> {
        match from_core_json::<R>(json) {
            Ok(record) => record.into_unknown(env),
            Err(e) => Err(crate::error::to_js(env, &e)),
        }
    }
    match kind.as_str() {
        "Product" => to_js::<Product>(env, json),
        "Environment" => to_js::<Environment>(env, json),
        "Version" => to_js::<Version>(env, json),
        "Build" => to_js::<Build>(env, json),
        "Deployment" => to_js::<Deployment>(env, json),
        "Preflight" => to_js::<Preflight>(env, json),
        "Verdict" => to_js::<Verdict>(env, json),
        "RuleOutcome" => to_js::<RuleOutcome>(env, json),
        "Approval" => to_js::<Approval>(env, json),
        "StoredRule" => to_js::<StoredRule>(env, json),
        "RuleStatusChange" => to_js::<RuleStatusChange>(env, json),
        "ApplyReport" => to_js::<ApplyReport>(env, json),
        "DeployedVersion" => to_js::<DeployedVersion>(env, json),
        "StateCell" => to_js::<StateCell>(env, json),
        "StateMatrix" => to_js::<StateMatrix>(env, json),
        "Drift" => to_js::<Drift>(env, json),
        "CiInfo" => to_js::<CiInfo>(env, json),
        "DecisionRecord" => to_js::<DecisionRecord>(env, json),
        "Facts" => to_js::<Facts>(env, json),
        "OpenDeployment" => to_js::<OpenDeployment>(env, json),
        "Stint" => to_js::<Stint>(env, json),
        "ReplayChange" => to_js::<ReplayChange>(env, json),
        "AuditReport" => to_js::<AuditReport>(env, json),
        "DomainEvent" => to_js::<DomainEvent>(env, json),
        "DeploymentRequest" => to_js::<DeploymentRequest>(env, json),
        "Progress" => to_js::<Progress>(env, json),
        "RequestTemplate" => to_js::<RequestTemplate>(env, json),
        "CoveringRequest" => to_js::<CoveringRequest>(env, json),
        "QueueEntry" => to_js::<QueueEntry>(env, json),
        other => Err(crate::error::to_js(
            env,
            &versioner_core::Error::internal(format!(
                "no Node mirror of the core record `{other}`"
            )),
        )),
    }
}

/// A build or deployment status: `pending`, `started`, `completed`, `failed` or `aborted`.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Queued, not yet running.
    Pending,
    /// Running.
    Started,
    /// Finished successfully.
    Completed,
    /// Finished unsuccessfully.
    Failed,
    /// Cancelled or skipped.
    Aborted,
}

/// The kind of an environment, from development to production.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentType {
    /// Development (`dev`, `local`, `sandbox`, ...).
    Dev,
    /// Testing (`test`, `qa`, `integration`, ...).
    Test,
    /// Pre-production (`staging`, `uat`, `preprod`, ...).
    Staging,
    /// Production (`production`, `prod`, `live`, ...).
    Production,
    /// Anything else.
    Other,
}

/// Whether a rule blocks (`enabled`), warns (`report_only`) or sleeps (`disabled`).
#[napi(string_enum = "snake_case")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Evaluated; a failure blocks the deployment.
    Enabled,
    /// Evaluated; a failure is a warning and the deployment goes ahead.
    ReportOnly,
    /// Not evaluated.
    Disabled,
}

/// The kind of a rule.
#[napi(string_enum = "snake_case")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    /// Limits deployments in progress.
    Concurrency,
    /// No-deploy windows and deploy-only-during windows.
    Schedule,
    /// Prerequisite environments, order and soak time.
    Flow,
    /// Quality sign-offs on the version.
    VersionApproval,
    /// N distinct approvers for a deployment to the environment.
    ReleaseApproval,
    /// An approved Deployment Request must cover the deployment (also the type of the
    /// outcome each submitted Deployment Request covering a deployment adds to its verdict).
    DeploymentRequestRequired,
    /// Another environment may not fall too many versions or too long behind this one.
    MaxSkew,
}

/// The result of one rule.
#[napi(string_enum = "snake_case")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The rule holds.
    Passed,
    /// The rule fails and blocks.
    Failed,
    /// The rule fails but is report-only: a warning, not a block.
    FailedReportOnly,
    /// The rule is out of scope for this deployment, or disabled.
    NotApplicable,
}

/// Allowed or blocked.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every enabled rule holds (report-only rules may have warned).
    Allowed,
    /// At least one enabled rule fails.
    Blocked,
}

/// How the preflight treated a recorded deployment.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreflightStatus {
    /// Every enabled rule held (report-only rules may have warned).
    Passed,
    /// The preflight was bypassed in an emergency, with a reason.
    Skipped,
}

/// Why a rule blocks; each code has one HTTP status (409, 423 or 428).
#[napi(string_enum = "UPPER_SNAKE")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockCode {
    /// Too many deployments in progress (409).
    ConcurrentDeployment,
    /// A no-deploy window is active, or no allow window is open (423).
    NoDeployWindow,
    /// The version has not been deployed to the prerequisite environments (428).
    FlowViolation,
    /// The version has not soaked long enough in a prerequisite environment (428).
    InsufficientSoakTime,
    /// Not enough release approvals (428).
    ApprovalRequired,
    /// A required quality approval is missing (428).
    QualityApprovalRequired,
    /// A submitted Deployment Request covers the deployment and is not yet approved with its
    /// pre-deployment steps done (428).
    DeploymentRequestPending,
    /// No approved Deployment Request covers the deployment (428).
    DeploymentRequestRequired,
}

/// How a preflight ended.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Every rule held.
    Allowed,
    /// Allowed, with report-only failures.
    Reported,
    /// Refused: nothing was recorded but the decision.
    Blocked,
    /// Let through by an emergency bypass (what the rules said is in the verdict).
    Bypassed,
}

/// A deployable thing; created on first sight.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Public id (UUID); it stays when the product is renamed.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// What it is, for people.
    pub description: Option<String>,
    /// Free JSON for the catalog (owner, team, links); `{}` when none.
    pub extra_metadata: Map<String, Value>,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
}

/// Where things run; created on first sight, its type inferred from the name.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Public id (UUID).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Its type (inferred from the name unless overridden).
    #[serde(rename = "type")]
    #[napi(js_name = "type")]
    pub env_type: EnvironmentType,
    /// Whether the type was set explicitly rather than inferred.
    pub type_overridden: bool,
    /// What it is, for people.
    pub description: Option<String>,
    /// Free JSON for the catalog (region, owner, links); `{}` when none.
    pub extra_metadata: Map<String, Value>,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
}

/// An immutable build of a product.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// Public id (UUID).
    pub id: String,
    /// The product's public id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The version identifier.
    pub version: String,
    /// The commit, fixed once recorded.
    pub scm_sha: Option<String>,
    /// The branch it was built from.
    pub scm_branch: Option<String>,
    /// The repository.
    pub scm_repository: Option<String>,
    /// The CI build number.
    pub build_number: Option<String>,
    /// A link to the build.
    pub build_url: Option<String>,
    /// Who built it.
    pub built_by: Option<String>,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
    /// When its commit was made: where its lead time for changes starts.
    #[serde(default)]
    pub scm_committed_at: Option<DateTime<Utc>>,
}

/// A recorded build.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Public id (UUID).
    pub id: String,
    /// The version's public id.
    pub version_id: String,
    /// The product's public id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// Current status.
    pub status: Status,
    /// Who built it.
    pub built_by: Option<String>,
    /// Their e-mail.
    pub built_by_email: Option<String>,
    /// Their display name.
    pub built_by_name: Option<String>,
    /// The commit.
    pub scm_sha: Option<String>,
    /// The branch.
    pub scm_branch: Option<String>,
    /// The repository.
    pub scm_repository: Option<String>,
    /// A link to the build.
    pub build_url: Option<String>,
    /// The CI build number.
    pub build_number: Option<String>,
    /// The CI system.
    pub source_system: Option<String>,
    /// The CI run id.
    pub invoke_id: Option<String>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// A machine-readable failure code.
    pub error_code: Option<String>,
    /// The principal that recorded it (the API key's, or the actor); `built_by` is who the
    /// event names.
    pub recorded_by: Option<String>,
    /// When it started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was first recorded.
    pub created_at: DateTime<Utc>,
    /// When Versioner last recorded an event of it.
    pub updated_at: DateTime<Utc>,
    /// Free-form metadata, merged from every event.
    pub extra_metadata: Map<String, Value>,
}

/// A version going to an environment.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Public id (UUID).
    pub id: String,
    /// The product's public id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The version's public id.
    pub version_id: String,
    /// The version.
    pub version: String,
    /// The environment's public id.
    pub environment_id: String,
    /// The environment's name.
    pub environment_name: String,
    /// Current status.
    pub status: Status,
    /// Who deployed.
    pub deployed_by: Option<String>,
    /// Their e-mail.
    pub deployed_by_email: Option<String>,
    /// Their display name.
    pub deployed_by_name: Option<String>,
    /// The commit.
    pub scm_sha: Option<String>,
    /// The repository.
    pub scm_repository: Option<String>,
    /// The branch.
    pub scm_branch: Option<String>,
    /// The CI build number.
    pub build_number: Option<String>,
    /// The CI system.
    pub source_system: Option<String>,
    /// The CI run id.
    pub invoke_id: Option<String>,
    /// A link to the deploy run.
    pub deploy_url: Option<String>,
    /// A link to the build.
    pub build_url: Option<String>,
    /// The principal that recorded it (the API key's, or the actor); `deployed_by` is who the
    /// event names (a CI key may deploy for a person).
    pub recorded_by: Option<String>,
    /// When the deployment was first recorded.
    pub deployed_at: DateTime<Utc>,
    /// When it started running, if it did.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished, once terminal.
    pub completed_at: Option<DateTime<Utc>>,
    /// When Versioner last recorded an event of it.
    pub updated_at: DateTime<Utc>,
    /// Free-form metadata, merged from every event (later keys win).
    pub extra_metadata: Map<String, Value>,
    /// What the preflight decided when the deployment started (absent for deployments
    /// recorded without a `started` event).
    pub preflight: Option<Preflight>,
}

/// What the preflight decided for a recorded deployment.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preflight {
    /// Passed, or skipped by an emergency bypass.
    pub status: PreflightStatus,
    /// The verdict (for a bypass: what the rules would have said).
    pub verdict: Verdict,
    /// The reason given for a bypass.
    pub bypass_reason: Option<String>,
}

/// The preflight's answer for one would-be deployment: every rule's outcome.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The target environment.
    pub environment_name: String,
    /// Allowed or blocked.
    pub decision: Decision,
    /// When it was evaluated.
    pub evaluated_at: DateTime<Utc>,
    /// The first instant at which time alone would clear every block; absent when a person
    /// must act.
    pub retry_after: Option<DateTime<Utc>>,
    /// The primary (most severe) failure's code, when blocked.
    pub code: Option<BlockCode>,
    /// The primary failure's HTTP status (409, 423 or 428), when blocked.
    pub http_status: Option<u32>,
    /// One line a person can act on.
    pub message: String,
    /// The primary failure's rule name, when blocked.
    pub primary_rule: Option<String>,
    /// Every rule's outcome, in rule order.
    pub outcomes: Vec<RuleOutcome>,
}

/// What one rule said about one deployment.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOutcome {
    /// The rule's name.
    pub rule_name: String,
    /// The rule's kind.
    pub rule_type: RuleType,
    /// The rule's status when evaluated.
    pub rule_status: RuleStatus,
    /// The result.
    pub status: OutcomeStatus,
    /// Why it fails, when it does.
    pub code: Option<BlockCode>,
    /// What happened and what to do next.
    pub message: String,
    /// Structured facts (conflicting deployment, window, counts, remaining soak, ...), keys
    /// as in the HTTP API.
    pub details: Map<String, Value>,
    /// When time alone makes this rule pass, if it can.
    pub retry_after: Option<DateTime<Utc>>,
}

/// A typed sign-off by one person on one version.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Public id (UUID).
    pub id: String,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The version's public id.
    pub version_id: String,
    /// The type (`qa`, `security`, ..., `release`).
    pub approval_type: String,
    /// Who approved.
    pub approver: String,
    /// The approver's role.
    pub approver_role: Option<String>,
    /// The environment it was granted in or for.
    pub environment: Option<String>,
    /// The approver's comment.
    pub comment: Option<String>,
    /// When it was granted.
    pub granted_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

/// One window of a schedule rule. Times are wall-clock times in the rule's `timezone`:
/// `HH:MM`, or `YYYY-MM-DDTHH:MM` for a `once` window.
#[napi(object)]
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct ScheduleWindow {
    /// A label shown when the window blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `once`, `daily`, `weekly` or `monthly`.
    #[napi(ts_type = "'once' | 'daily' | 'weekly' | 'monthly'")]
    pub recurrence: String,
    /// Start time.
    pub start: String,
    /// End time (a window may cross midnight).
    pub end: String,
    /// Weekdays of a weekly window (`mon` ... `sun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    /// Days of a monthly window (1–31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_month: Option<Vec<u32>>,
}

/// A stored window, as read back (the same shape as [`ScheduleWindow`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredWindow {
    name: Option<String>,
    recurrence: String,
    start: String,
    end: String,
    days: Option<Vec<String>>,
    days_of_month: Option<Vec<u32>>,
}

impl From<StoredWindow> for ScheduleWindow {
    fn from(w: StoredWindow) -> ScheduleWindow {
        ScheduleWindow {
            name: w.name,
            recurrence: w.recurrence,
            start: w.start,
            end: w.end,
            days: w.days,
            days_of_month: w.days_of_month,
        }
    }
}

fn windows<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<ScheduleWindow>>, D::Error> {
    let stored: Option<Vec<StoredWindow>> = Option::deserialize(d)?;
    Ok(stored.map(|ws| ws.into_iter().map(ScheduleWindow::from).collect()))
}

/// A stored deployment rule: its definition (as in a policy file, camelCase) and its place
/// in the evaluation order.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRule {
    /// Unique name.
    pub name: String,
    /// The rule's kind.
    #[serde(rename = "type")]
    #[napi(js_name = "type")]
    pub rule_type: RuleType,
    /// Enabled, report-only or disabled.
    pub status: RuleStatus,
    /// What it is for.
    pub description: Option<String>,
    /// Only these products (absent: all).
    pub products: Option<Vec<String>>,
    /// Only these environments (absent: all).
    pub environments: Option<Vec<String>>,
    /// Only environments of these types (absent: all).
    pub environment_types: Option<Vec<EnvironmentType>>,
    /// Concurrency: the most open deployments allowed.
    pub max: Option<u32>,
    /// Concurrency: `product_environment` or `environment`.
    pub per: Option<String>,
    /// Concurrency: age after which an open deployment stops counting (`2h`).
    pub stale_after: Option<String>,
    /// Schedule: `deny` (no-deploy windows) or `allow` (deploy only during them).
    pub mode: Option<String>,
    /// Schedule: the IANA zone of the windows.
    pub timezone: Option<String>,
    /// Schedule: why (shown when blocked).
    pub reason: Option<String>,
    /// Schedule: the windows.
    #[serde(default, deserialize_with = "windows")]
    pub windows: Option<Vec<ScheduleWindow>>,
    /// Flow: the prerequisite environments.
    pub prerequisites: Option<Vec<String>>,
    /// Flow: whether the prerequisites must have been reached in order.
    pub strict_order: Option<bool>,
    /// Flow: how long the version must have run in each prerequisite (`24h`).
    pub soak: Option<String>,
    /// Version approval: the approval types required. Deployment Request required: the
    /// approval types the covering request must hold approved.
    pub approval_types: Option<Vec<String>>,
    /// Version approval: where the approvals must have been granted.
    pub environment: Option<String>,
    /// Release approval: how many distinct approvers.
    pub required: Option<u32>,
    /// Release approval: only approvers with one of these roles count.
    pub approver_roles: Option<Vec<String>>,
    /// Release approval: approvals older than this no longer count (`7d`).
    pub expires_after: Option<String>,
    /// Deployment Request required: slot approvals older than this no longer count (`3d`).
    pub approval_timeout: Option<String>,
    /// Max skew: the environment that may not fall behind.
    pub behind: Option<String>,
    /// Max skew: how many versions it may lack.
    pub max_versions: Option<u32>,
    /// Max skew: how long it may lag (`14d`).
    pub max_age: Option<String>,
    /// Its position in evaluation order.
    pub position: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// One recorded change of a rule's status.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub changed_at: DateTime<Utc>,
}

/// What applying a policy changed, by rule name.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// What a history import did (or, a dry run, would do).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportReport {
    /// Events read (lines that are not blank).
    pub lines: f64,
    /// Build events imported.
    pub builds: f64,
    /// Deployment events imported.
    pub deployments: f64,
    /// Lines skipped: imported before.
    pub skipped: f64,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
}

/// A version in an environment, with who put it there and when.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployedVersion {
    /// The deployment's public id.
    pub deployment_id: String,
    /// The version.
    pub version: String,
    /// The version's public id.
    pub version_id: String,
    /// The deployment's status.
    pub status: Status,
    /// When it completed (or, in progress, when it started).
    pub deployed_at: DateTime<Utc>,
    /// Who deployed it.
    pub deployed_by: Option<String>,
    /// The commit.
    pub scm_sha: Option<String>,
}

/// One product in one environment.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateCell {
    /// The product.
    pub product_name: String,
    /// The environment.
    pub environment_name: String,
    /// The environment's type.
    pub environment_type: EnvironmentType,
    /// The version last deployed successfully (as of the matrix's instant).
    pub current: Option<DeployedVersion>,
    /// Deployments in progress (as of the matrix's instant).
    pub in_progress: Vec<DeployedVersion>,
    /// The newest attempt, when it failed or was aborted (the environment still runs
    /// `current`).
    #[serde(default)]
    pub last_failed: Option<DeployedVersion>,
}

/// What is deployed where: every product × environment that has had a deployment.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMatrix {
    /// The instant described (absent: now).
    pub at: Option<DateTime<Utc>>,
    /// Product names, sorted.
    pub products: Vec<String>,
    /// Environment names, ordered from development to production.
    pub environments: Vec<String>,
    /// The cells, by product then environment.
    pub cells: Vec<StateCell>,
}

/// A product whose environments hold different versions.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// The product.
    pub product_name: String,
    /// Environment name → version.
    pub versions: HashMap<String, String>,
    /// How many different versions.
    pub distinct_versions: u32,
}

/// What `detectCi` found in the environment variables.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiInfo {
    /// The CI system (`github`, `gitlab`, `jenkins`, `circleci`, `bitbucket`,
    /// `azure-devops`, `travis`, `rundeck`); absent outside any recognised CI.
    pub system: Option<String>,
    /// The `sourceSystem` to send: the system, or `unknown`.
    #[serde(default)]
    pub source_system: String,
    /// Repository (`owner/repo`).
    pub scm_repository: Option<String>,
    /// Commit SHA being built or deployed.
    pub scm_sha: Option<String>,
    /// Branch (or tag).
    pub scm_branch: Option<String>,
    /// CI build or run number.
    pub build_number: Option<String>,
    /// Link to the CI run.
    pub build_url: Option<String>,
    /// Identifier of this CI invocation.
    pub invoke_id: Option<String>,
    /// Who triggered the run.
    pub user: Option<String>,
    /// Their e-mail.
    pub user_email: Option<String>,
    /// Their display name.
    pub user_name: Option<String>,
    /// Product name fallback.
    pub product: Option<String>,
    /// Version fallback.
    pub version: Option<String>,
    /// The system's `vi_*` extra-metadata keys.
    pub metadata: Map<String, Value>,
}

/// One recorded preflight decision: the request, who asked, the verdict with every rule's
/// outcome, the facts it was decided on, the hash of the policy in force and when.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// Public id.
    pub id: String,
    /// When it was recorded (the server's clock).
    pub recorded_at: DateTime<Utc>,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// The status of the event decided on (`started`, or a `completed` that closed no
    /// preflighted deployment).
    pub status: Status,
    /// How it ended.
    pub outcome: DecisionOutcome,
    /// Who asked (the deployer, or the authenticated principal).
    pub actor: Option<String>,
    /// The deployment recorded (absent when blocked).
    pub deployment_id: Option<String>,
    /// SHA-256 of the policy in force.
    pub policy_hash: String,
    /// The event as it was sent (its wire form: snake_case keys).
    #[napi(ts_type = "Record<string, unknown>")]
    pub request: Value,
    /// The verdict, every rule's outcome included.
    pub verdict: Verdict,
    /// What the rules were evaluated on.
    pub facts: Facts,
}

/// What a preflight was decided on: the recorded state the rules read.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The product being deployed.
    pub product: String,
    /// The version being deployed.
    pub version: String,
    /// The target environment.
    pub environment: String,
    /// The target environment's type.
    pub environment_type: EnvironmentType,
    /// Who deploys, as recorded.
    pub deployed_by: Option<String>,
    /// The principal that recorded the deployment, when known.
    pub principal: Option<String>,
    /// Whether the version had been recorded before.
    pub version_known: bool,
    /// Who built the version.
    pub builders: Vec<String>,
    /// Deployments open in the target environment.
    pub open_deployments: Vec<OpenDeployment>,
    /// The version's history in each environment a rule in scope named as a prerequisite.
    pub stints: HashMap<String, Stint>,
    /// The version's approvals that still stood.
    pub approvals: Vec<Approval>,
    /// The submitted, unfinished Deployment Requests (`in_progress`, `approved`, `rejected`)
    /// covering this version going to this environment, oldest first.
    #[serde(default)]
    pub deployment_requests: Vec<CoveringRequest>,
    /// For each environment a `max_skew` rule kept from falling behind: how far behind it was.
    #[serde(default)]
    pub skew: HashMap<String, SkewFacts>,
}

/// How far an environment ran behind the target environment when a preflight was decided.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkewFacts {
    /// The version current in the environment behind.
    pub behind_version: Option<String>,
    /// The versions it lacked, oldest first.
    pub versions: Vec<String>,
    /// When the lag began.
    pub behind_since: Option<DateTime<Utc>>,
    /// Whether the version deployed had already succeeded in the target environment.
    pub version_already_ahead: bool,
}

/// A deployment open in the target environment when a preflight was decided.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenDeployment {
    /// Its public id.
    pub id: String,
    /// Its product.
    pub product_name: String,
    /// Its version.
    pub version: String,
    /// `pending` or `started`.
    pub status: Status,
    /// When it started (or was queued).
    pub started_at: DateTime<Utc>,
}

/// How a version fared in one environment, as a preflight saw it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stint {
    /// Its first successful deployment there.
    pub first_success_at: Option<DateTime<Utc>>,
    /// Its most recent successful deployment there.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The first success of another version there after `lastSuccessAt` (the core's
    /// `[instant, version]` pair).
    #[serde(deserialize_with = "superseded")]
    pub superseded: Option<Superseded>,
}

/// When, and by which version, a version was superseded in an environment.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct Superseded {
    /// When the other version succeeded there.
    pub at: DateTime<Utc>,
    /// The other version.
    pub version: String,
}

fn superseded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Superseded>, D::Error> {
    let pair: Option<(DateTime<Utc>, String)> = Option::deserialize(d)?;
    Ok(pair.map(|(at, version)| Superseded { at, version }))
}

/// A recorded decision that a policy would now decide otherwise (`was` → `now`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayChange {
    /// The decision's id.
    pub decision_id: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// How it was decided.
    pub was: DecisionOutcome,
    /// How the policy decides it now.
    pub now: DecisionOutcome,
    /// The rules failing then.
    pub failed_then: Vec<String>,
    /// The rules failing now.
    pub failed_now: Vec<String>,
}

/// What checking the audit chain found.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditReport {
    /// Events read.
    pub entries: i64,
    /// Events recorded before the chain began (they carry no hash).
    pub unchained: i64,
    /// The first event that does not match the chain (absent when it holds).
    pub first_mismatch: Option<i64>,
    /// Why it does not match.
    pub reason: Option<String>,
    /// The newest hash, when the chain holds.
    pub head: Option<String>,
}

/// What one notification delivery run did.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryReport {
    /// Channels this run delivered (whose lease it held).
    pub channels: i64,
    /// Events delivered.
    pub delivered: i64,
    /// Events parked (a 4xx, or every attempt failed): see the notification history.
    pub parked: i64,
    /// Attempts made.
    pub attempts: i64,
}

/// One committed domain event, in commit order.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEvent {
    /// Position in the stream: 1, 2, 3, ... with no gaps.
    pub seq: i64,
    /// What happened (`deployment.started`, `deployment.preflight_failed`,
    /// `version.approved`, `rule.updated`, ...).
    pub event_type: String,
    /// When it was recorded.
    pub occurred_at: DateTime<Utc>,
    /// Who did it, when known.
    pub actor: Option<String>,
    /// The public id of the record it is about.
    pub subject: Option<String>,
    /// The record as it stood after the change (its wire form: snake_case keys).
    #[napi(ts_type = "Record<string, unknown>")]
    pub payload: Value,
    /// Its link in the audit chain (absent for events recorded before the chain began).
    pub hash: Option<String>,
}

/// Deployment frequency over a range (see `versioner_core::insights`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFrequency {
    /// Successful deployments in the range.
    pub count: f64,
    /// Per day of the range.
    pub per_day: f64,
    /// UTC days with a successful deployment.
    pub deployment_days: f64,
    /// Those days per week of the range.
    pub deployment_days_per_week: f64,
}

/// A median and p90 in seconds (lead time).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadTime {
    /// How many versions were measured.
    pub count: f64,
    /// The median, in seconds.
    pub median_seconds: Option<f64>,
    /// The 90th percentile, in seconds.
    pub p90_seconds: Option<f64>,
}

/// The counts behind the change failure rate.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeFailures {
    /// Failures counted.
    pub failed: f64,
    /// Of those, rolled-back successes.
    pub rolled_back: f64,
    /// Finished deployments.
    pub finished: f64,
}

/// Time to restore over a range.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeToRestore {
    /// Failures restored.
    pub count: f64,
    /// Failures never restored.
    pub unrestored: f64,
    /// The median, in seconds.
    pub median_seconds: Option<f64>,
    /// The 90th percentile, in seconds.
    pub p90_seconds: Option<f64>,
}

/// The band of each figure: `elite`, `high`, `medium` or `low`.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    /// Deployment frequency's band.
    pub deployment_frequency: String,
    /// Lead time's band.
    pub lead_time: Option<String>,
    /// The change failure rate's band.
    pub change_failure_rate: Option<String>,
    /// Time to restore's band.
    pub time_to_restore: Option<String>,
}

/// The four keys over one range (a bucket of the series).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoraFigures {
    /// The range's start.
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    pub until: DateTime<Utc>,
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Failed ÷ finished deployments, `null` with none finished.
    pub change_failure_rate: Option<f64>,
    /// The counts behind it.
    pub change_failures: ChangeFailures,
    /// Time to restore.
    pub time_to_restore: TimeToRestore,
    /// The bands.
    pub bands: Bands,
}

/// How far one environment runs behind another for one product, as `GET /skew` answers.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skew {
    /// The product.
    pub product_name: String,
    /// The environment ahead.
    pub ahead: String,
    /// The environment behind.
    pub behind: String,
    /// The version current ahead.
    pub ahead_version: Option<String>,
    /// The version current behind.
    pub behind_version: Option<String>,
    /// How many versions the environment behind lacks.
    pub versions_behind: u32,
    /// Those versions, oldest first.
    pub versions: Vec<String>,
    /// When the lag began (`null` when not behind).
    pub behind_since: Option<DateTime<Utc>>,
    /// Seconds from `behindSince` to the answer (0 when not behind).
    pub seconds_behind: i64,
}

/// A version waiting in an environment without being promoted, as `GET /stale` answers.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleVersion {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment it waits in.
    pub environment_name: String,
    /// When its current deployment there finished.
    pub deployed_at: DateTime<Utc>,
    /// Seconds it has waited.
    pub seconds_waiting: i64,
    /// The environments it never reached.
    pub not_promoted_to: Vec<String>,
}

/// The four keys (DORA metrics), as `GET /metrics/dora` answers.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoraReport {
    /// The product, or `null` for every product.
    pub product: Option<String>,
    /// The environments in scope.
    pub environments: Vec<String>,
    /// The range's start.
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    pub until: DateTime<Utc>,
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Failed ÷ finished deployments, `null` with none finished.
    pub change_failure_rate: Option<f64>,
    /// The counts behind it.
    pub change_failures: ChangeFailures,
    /// Time to restore.
    pub time_to_restore: TimeToRestore,
    /// The bands.
    pub bands: Bands,
    /// The definitions used, band thresholds included, as the core states them.
    #[napi(ts_type = "Record<string, any>")]
    pub definitions: Value,
    /// The weekly series, when asked for.
    pub series: Option<Vec<DoraFigures>>,
}

/// Where a Deployment Request stands.
#[napi(string_enum = "snake_case")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Being written; blocks nothing.
    Draft,
    /// Submitted: waiting for its approval slots.
    InProgress,
    /// Every required slot approved.
    Approved,
    /// A required slot was rejected: its deployments stay blocked.
    Rejected,
    /// Deployed everywhere it targets, post-deployment steps done.
    Completed,
    /// Withdrawn.
    Cancelled,
}

/// How an approval slot of a Deployment Request stands.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    /// Nobody has decided yet.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

/// When a step of a Deployment Request is done: before or after deploying.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepPhase {
    /// Before deploying: deployments wait for it.
    Pre,
    /// After every deployment succeeded: the request completes when these are done.
    Post,
}

/// How one product × environment cell of a Deployment Request's progress stands.
#[napi(string_enum = "snake_case")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    /// Its newest deployment there completed.
    Deployed,
    /// Never deployed there.
    NotDeployed,
    /// Its newest deployment there failed or was aborted.
    Failed,
    /// Its newest deployment there is queued or running.
    InProgress,
}

/// One product version a Deployment Request deploys.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestVersion {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The version's public id.
    pub version_id: String,
}

/// An approval slot of a Deployment Request: one person whose role may grant
/// `approvalType` fills it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSlot {
    /// The approval type (`qa`, `security`, ... or one the policy declares).
    pub approval_type: String,
    /// Advisory: an optional slot neither blocks nor rejects.
    pub optional: bool,
    /// Its decision.
    pub status: SlotStatus,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The decider's role when deciding.
    pub decided_role: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// The decider's comment.
    pub comment: Option<String>,
}

/// A checklist item of a Deployment Request.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestStep {
    /// What to do (steps are marked done by this text).
    pub text: String,
    /// Before or after deploying.
    pub phase: StepPhase,
    /// Who marked it done.
    pub done_by: Option<String>,
    /// When.
    pub done_at: Option<DateTime<Utc>>,
}

/// One change of a Deployment Request's status, or one decision on it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTransition {
    /// What happened: `created`, `submitted`, `approved`, `rejected`, `slot_approved`,
    /// `slot_rejected`, `step_done`, `deployed`, `completed`, `deactivated`, `cancelled`,
    /// `updated`.
    pub action: String,
    /// The status before (absent for `created`).
    pub from: Option<RequestStatus>,
    /// The status after.
    pub to: RequestStatus,
    /// Who (absent when Versioner did it, e.g. completion by a deployment).
    pub by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// A comment, or what the action was about (the slot type, the step).
    pub comment: Option<String>,
}

/// Release notes, issue links and free metadata of a Deployment Request.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestContext {
    /// Release notes (Markdown).
    #[serde(default)]
    pub release_notes: Option<String>,
    /// Links to issues, tickets, change records (`[]` when none).
    #[serde(default)]
    pub issue_links: Vec<String>,
    /// Anything else (`{}` when none).
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// A Deployment Request: one version of each of its products going to its environments,
/// once its approval slots are filled and its pre-deployment steps done.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRequest {
    /// Public id (UUID).
    pub id: String,
    /// Its name ("Q4 2025 Release").
    pub name: String,
    /// What it is about.
    pub description: Option<String>,
    /// Release notes, issue links, metadata.
    pub context: RequestContext,
    /// Where it stands.
    pub status: RequestStatus,
    /// The product versions it deploys (one per product).
    pub versions: Vec<RequestVersion>,
    /// The environments they go to.
    pub environments: Vec<String>,
    /// Its approval slots.
    pub slots: Vec<RequestSlot>,
    /// Its checklist, pre-deployment steps first.
    pub steps: Vec<RequestStep>,
    /// The template it was created from, if any.
    pub template: Option<String>,
    /// Whether its creator may fill its required slots.
    pub allow_self_approval: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When every version had succeeded in every environment (while approved).
    pub deployed_at: Option<DateTime<Utc>>,
    /// Every transition and decision, oldest first.
    pub history: Vec<RequestTransition>,
}

/// One product × environment cell of a Deployment Request's progress.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressCell {
    /// The product.
    pub product_name: String,
    /// The request's version of it.
    pub version: String,
    /// The environment.
    pub environment: String,
    /// How it stands there.
    pub state: CellState,
    /// The newest deployment there, if any.
    pub deployment_id: Option<String>,
}

/// A Deployment Request's progress: product × environment.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// The request's id.
    pub request_id: String,
    /// Its status.
    pub status: RequestStatus,
    /// One cell per version and environment, in the request's order (by product, then
    /// environment).
    pub cells: Vec<ProgressCell>,
    /// Whether every cell is deployed.
    pub deployed: bool,
}

/// A slot as a template declares it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    /// The approval type.
    pub approval_type: String,
    /// Advisory (non-blocking).
    pub optional: bool,
}

/// A template Deployment Requests are created from: what it gives fills what a new request
/// leaves empty.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTemplate {
    /// Its name (unique).
    pub name: String,
    /// What it is for (the request's description when it gives none).
    #[serde(default)]
    pub description: Option<String>,
    /// Default slots.
    pub slots: Vec<SlotSpec>,
    /// Default pre-deployment steps.
    pub pre_steps: Vec<String>,
    /// Default post-deployment steps.
    pub post_steps: Vec<String>,
    /// The environments it applies to (the request's targets when it names none).
    pub environments: Vec<String>,
    /// Whether the creator may fill required slots (absent: not when a target environment
    /// is a production one).
    #[serde(default)]
    pub allow_self_approval: Option<bool>,
}

/// A Deployment Request covering a deployment, as a preflight read it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoveringRequest {
    /// Its public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: RequestStatus,
    /// Its approval slots.
    pub slots: Vec<RequestSlot>,
    /// Its pre-deployment steps not yet done.
    pub open_pre_steps: Vec<String>,
}

/// A deployment waiting in its environment's wait queue (`trackDeployment(options, { waitMs
/// })`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueEntry {
    /// The ticket's id.
    pub id: String,
    /// Its place in its environment's queue, from 1 (the head, whose preflight runs next).
    pub position: u32,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// Who waits (the deployer, else the actor), when known.
    pub waiter: Option<String>,
    /// When the ticket was taken.
    pub since: DateTime<Utc>,
    /// When its waiter last showed it is alive.
    pub heartbeat_at: DateTime<Utc>,
}

/// A variable of deployment-button templates, at the organization's scope (`product` absent)
/// or a product's, which overrides the organization's.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Its name (lowercase letters, digits and underscores).
    pub name: String,
    /// Its value.
    pub value: String,
    /// The product whose scope it is in; absent for the organization's.
    pub product: Option<String>,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
    /// Whether a policy file declared it (`[[variables]]`).
    #[serde(default)]
    pub declared: bool,
}

/// A product's deployment button.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentButton {
    /// Public id (UUID).
    pub id: String,
    /// The product.
    pub product: String,
    /// The button's label.
    pub name: String,
    /// The URL template, with `{variable}` placeholders.
    pub url_template: String,
    /// The environments it deploys to (one button per environment per product).
    pub environments: Vec<String>,
    /// Whether it is shown.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A deployment button rendered for one version and environment: `url` (every value
/// URL-encoded, RFC 3986), or `error` (`Missing variable: NAME`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderedButton {
    /// The button's id.
    pub button_id: String,
    /// Its label.
    pub name: String,
    /// The environment.
    pub environment: String,
    /// The URL, when every variable has a value.
    pub url: Option<String>,
    /// Why there is no URL (`Missing variable: NAME`).
    pub error: Option<String>,
}

/// A notification channel. Its `config` never holds a secret: secrets and passwords are
/// masked (`********`), a Slack webhook URL shows only its host.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationChannel {
    /// Public id (UUID).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// `webhook`, `slack_webhook` or `email`.
    #[napi(ts_type = "'webhook' | 'slack_webhook' | 'email'")]
    pub channel_type: String,
    /// Its settings (wire names: `url`, `webhook_url`, `smtp_host`, ...), secrets masked.
    #[napi(ts_type = "Record<string, unknown>")]
    pub config: Value,
    /// Whether a policy file declared it (`[[notifications]]`).
    pub declared: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The outbox position delivered through.
    pub delivered_through: i64,
}

/// What an event must match for a preference to send it (an empty list matches anything).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationFilters {
    /// Only these environments.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Only these products.
    #[serde(default)]
    pub products: Vec<String>,
    /// Only these statuses.
    #[serde(default)]
    pub statuses: Vec<String>,
}

/// A subscription of a channel to one event type (or every one, `*`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreference {
    /// Public id (UUID).
    pub id: String,
    /// The channel's id.
    pub channel_id: String,
    /// The event type (`deployment.completed`, ...) or `*`.
    pub event_type: String,
    /// What else an event must match.
    pub filters: NotificationFilters,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One delivery attempt, as the notification history keeps it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationDelivery {
    /// Public id of the attempt (UUID).
    pub id: String,
    /// The delivery's id, the same on every attempt: the `X-Versioner-Delivery` header.
    pub delivery_id: String,
    /// The channel's id.
    pub channel_id: String,
    /// The channel's name.
    pub channel_name: String,
    /// The outbox event (absent for a test notification).
    pub seq: Option<i64>,
    /// The event type (`test` for a test notification).
    pub event_type: String,
    /// Which attempt (1, 2, 3, ...).
    pub attempt: u32,
    /// What happened.
    #[napi(ts_type = "'delivered' | 'retrying' | 'parked'")]
    pub status: String,
    /// The HTTP status the receiver answered (SMTP reply code for e-mail), if it answered.
    pub response_code: Option<u32>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: i64,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
}
