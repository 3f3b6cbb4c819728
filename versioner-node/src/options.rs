//! What the methods take: option objects with camelCase names.
//!
//! Each struct is both the TypeScript interface (napi-rs writes it from the Rust) and the
//! parser of the JavaScript object: serde reads camelCase names and refuses unknown ones,
//! then writes the snake_case JSON the core's request types read, so a request reaches the
//! core exactly as it would over the HTTP API. Validation — required fields, lengths,
//! statuses, SHAs, rules — is the core's.

use napi_derive::napi;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use versioner_core::Error;

use crate::records::ScheduleWindow;

/// A string that may be given as a number (`version: 42`, `buildNumber: context.runNumber`),
/// as the HTTP API accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Text(s)),
            Value::Number(n) => Ok(Text(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "must be a string or a number, found {}",
                crate::input::kind(&other)
            ))),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Converts parsed options into a core request through the JSON both share.
pub(crate) fn into_core<O: Serialize, C: serde::de::DeserializeOwned>(
    options: &O,
) -> versioner_core::Result<C> {
    serde_json::to_value(options)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::internal(format!("cannot convert options for the core: {e}")))
}

/// A build event: `trackBuild(options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct BuildOptions {
    /// The product (created on first sight).
    #[serde(default)]
    pub product_name: String,
    /// The version (created on first sight).
    #[serde(default)]
    #[napi(ts_type = "string | number")]
    pub version: Text,
    /// The status: `pending`, `started`, `completed`, `failed`, `aborted` or an alias
    /// (`success`, `in_progress`, `cancelled`, `built`, ...), case-insensitive.
    #[serde(default)]
    pub status: String,
    /// Who built it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_by: Option<String>,
    /// Their e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_by_email: Option<String>,
    /// Their display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_by_name: Option<String>,
    /// The commit (4 to 40 hex characters); fixed for the version once recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scm_sha: Option<String>,
    /// The branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scm_branch: Option<String>,
    /// The repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scm_repository: Option<String>,
    /// A link to the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
    /// The CI build number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "string | number")]
    pub build_number: Option<Text>,
    /// The CI system (`github`, `gitlab`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_system: Option<String>,
    /// The CI run id; re-sending the same id and status is idempotent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<String>,
    /// When it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Date | string")]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Date | string")]
    pub completed_at: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// A machine-readable failure code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Free-form metadata (a JSON object of at most 100 KB).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Record<string, unknown>")]
    pub extra_metadata: Option<Value>,
}

/// A deployment event: `trackDeployment(options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct DeploymentOptions {
    /// The product (created on first sight).
    #[serde(default)]
    pub product_name: String,
    /// The version (created on first sight).
    #[serde(default)]
    #[napi(ts_type = "string | number")]
    pub version: Text,
    /// The environment (created on first sight, its type inferred from the name).
    #[serde(default)]
    pub environment_name: String,
    /// The status: `pending`, `started` (runs the preflight), `completed`, `failed`,
    /// `aborted` or an alias (`success`, `in_progress`, `cancelled`, `deployed`, ...),
    /// case-insensitive.
    #[serde(default)]
    pub status: String,
    /// Who deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_by: Option<String>,
    /// Their e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_by_email: Option<String>,
    /// Their display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_by_name: Option<String>,
    /// The commit (4 to 40 hex characters); fixed for the version once recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scm_sha: Option<String>,
    /// The repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scm_repository: Option<String>,
    /// The branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scm_branch: Option<String>,
    /// The CI build number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "string | number")]
    pub build_number: Option<Text>,
    /// The CI system (`github`, `gitlab`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_system: Option<String>,
    /// The CI run id; re-sending the same id and status is idempotent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<String>,
    /// A link to the deploy run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_url: Option<String>,
    /// A link to the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
    /// When it finished (terminal statuses).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Date | string")]
    pub completed_at: Option<String>,
    /// Emergency bypass of the preflight; requires `skipPreflightReason`. The deployment is
    /// recorded with the reason and what the rules would have said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_preflight_checks: Option<bool>,
    /// Why the preflight is bypassed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_preflight_reason: Option<String>,
    /// Free-form metadata (a JSON object of at most 100 KB).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Record<string, unknown>")]
    pub extra_metadata: Option<Value>,
}

/// A would-be deployment to evaluate: `check(options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct CheckOptions {
    /// The product.
    #[serde(default)]
    pub product_name: String,
    /// The version.
    #[serde(default)]
    #[napi(ts_type = "string | number")]
    pub version: Text,
    /// The target environment.
    #[serde(default)]
    pub environment_name: String,
    /// Who would deploy (release approvals by the deployer do not count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_by: Option<String>,
    /// Evaluate at this instant instead of now (what-if).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Date | string")]
    pub at: Option<String>,
}

/// A deployment rule, as in a policy file but with camelCase names. Which fields apply
/// depends on `type`; the core validates the whole rule and names every problem.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct RuleDefinition {
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// The kind: `concurrency`, `schedule`, `flow`, `version_approval`, `release_approval` or
    /// `deployment_request_required`.
    #[serde(rename = "type", default)]
    #[napi(js_name = "type", ts_type = "RuleType")]
    pub rule_type: String,
    /// `enabled` (default), `report_only` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "RuleStatus")]
    pub status: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Only these products (omitted: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<String>>,
    /// Only these environments (omitted: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
    /// Only environments of these types (omitted: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Array<EnvironmentType>")]
    pub environment_types: Option<Vec<String>>,
    /// Concurrency: the most open deployments allowed (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Concurrency: `product_environment` (default) or `environment` (across products).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "'product_environment' | 'environment'")]
    pub per: Option<String>,
    /// Concurrency: an open deployment older than this stops counting (default `2h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_after: Option<String>,
    /// Schedule: `deny` (no-deploy windows, default) or `allow` (deploy only during them).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "'deny' | 'allow'")]
    pub mode: Option<String>,
    /// Schedule: the IANA zone of the windows (`America/Los_Angeles`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Schedule: why (shown when blocked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Schedule: the windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<Vec<ScheduleWindow>>,
    /// Flow: the prerequisite environments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prerequisites: Option<Vec<String>>,
    /// Flow: whether the prerequisites must have been reached in the listed order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_order: Option<bool>,
    /// Flow: how long the version must have run in each prerequisite (`24h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<String>,
    /// Version approval: the approval types required (`qa`, `security`, ...). Deployment
    /// Request required: the approval types the covering request must hold approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_types: Option<Vec<String>>,
    /// Version approval: where the approvals must have been granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Release approval: how many distinct approvers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<u32>,
    /// Release approval: only approvers with one of these roles count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver_roles: Option<Vec<String>>,
    /// Release approval: approvals older than this no longer count (`7d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<String>,
    /// Deployment Request required: slot approvals older than this no longer count (`3d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<String>,
    /// Accepted and ignored, so a rule read back from `rules()` can be passed to `updateRule`.
    #[serde(default, skip_serializing)]
    #[napi(skip_typescript)]
    #[expect(dead_code, reason = "read only to be accepted")]
    pub position: Option<Value>,
    /// Accepted and ignored (see `position`).
    #[serde(default, skip_serializing)]
    #[napi(skip_typescript)]
    #[expect(dead_code, reason = "read only to be accepted")]
    pub created_at: Option<Value>,
    /// Accepted and ignored (see `position`).
    #[serde(default, skip_serializing)]
    #[napi(skip_typescript)]
    #[expect(dead_code, reason = "read only to be accepted")]
    pub updated_at: Option<Value>,
}

impl RuleDefinition {
    /// The core rule, validated by the core.
    pub(crate) fn to_rule(&self) -> versioner_core::Result<versioner_core::Rule> {
        let json = serde_json::to_value(self)
            .map_err(|e| Error::internal(format!("cannot convert a rule for the core: {e}")))?;
        versioner_core::Rule::from_json(&json)
    }
}

/// A policy given as data: the rules, in evaluation order.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyDocument {
    /// The rules.
    #[serde(default)]
    pub rules: Vec<RuleDefinition>,
}

/// How `applyPolicy` treats the rules already stored, and who applies it.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyOptions {
    /// `replace` (default: the policy becomes the whole rule set) or `merge` (add or update
    /// by name).
    #[napi(ts_type = "'replace' | 'merge'")]
    pub mode: Option<String>,
    /// Who applies it (recorded with status changes): by default the instance's own (a
    /// `Client`: its key's principal; a `Versioner` acting as someone), else `api`.
    pub actor: Option<String>,
    /// The format of policy text (or of a policy file): `toml` or `json`. When absent the
    /// core detects it: text starting with `{` (or `[` followed by `{` or `]`) is JSON,
    /// anything else TOML; a file's extension decides (`.json` is JSON).
    #[napi(ts_type = "'toml' | 'json'")]
    pub format: Option<String>,
}

impl ApplyOptions {
    pub(crate) fn mode(&self) -> versioner_core::Result<versioner_core::policy::ApplyMode> {
        Ok(self
            .mode
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default())
    }

    /// The format given, if any (the core detects it otherwise).
    pub(crate) fn format(
        &self,
    ) -> versioner_core::Result<Option<versioner_core::policy::PolicyFormat>> {
        self.format.as_deref().map(str::parse).transpose()
    }

    pub(crate) fn actor(&self, tracker: &dyn versioner_core::Tracker) -> String {
        self.actor.clone().unwrap_or_else(|| {
            if tracker.has_actor() {
                String::new()
            } else {
                "api".to_string()
            }
        })
    }
}

/// A rule status change: `setRuleStatus(name, options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleStatusOptions {
    /// The new status.
    #[serde(default)]
    #[napi(ts_type = "RuleStatus")]
    pub status: String,
    /// Who changes it: optional when the instance knows who acts (a `Client`: its key's
    /// principal; a `Versioner` acting as someone), and then that name if given.
    #[serde(default)]
    pub actor: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// An approval to record: `approve(options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct ApprovalOptions {
    /// The product (must have been recorded).
    #[serde(default)]
    pub product_name: String,
    /// The version (must have been recorded).
    #[serde(default)]
    #[napi(ts_type = "string | number")]
    pub version: Text,
    /// `qa`, `security`, `uat`, `code_review`, `compliance`, `performance`, `release` or a
    /// type the policy declares.
    #[serde(default)]
    pub approval_type: String,
    /// Who approves: optional when the instance knows who acts (a `Client`: its key's
    /// principal; a `Versioner` acting as someone), and then that name if given.
    #[serde(default)]
    pub approver: String,
    /// The approver's role: for an approver that is not a registered principal (a registered
    /// one's role is its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver_role: Option<String>,
    /// The environment it is granted in or for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_name: Option<String>,
    /// @deprecated Use `environmentName` (the name every other option uses); removed in the
    /// next release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// A comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Who revokes an approval, and why: `revokeApproval(id, options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeOptions {
    /// Who revokes it: optional when the instance knows who acts.
    #[serde(default)]
    pub actor: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// A change to a product's or an environment's catalog entry: `updateProduct(name, change)`,
/// `updateEnvironment(name, change)`. Each field left out is left as it is.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct CatalogChangeOptions {
    /// A new name (a rename: the id and the history stay; the old name no longer resolves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description; `''` removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New metadata replacing the old as a whole (a JSON object); `{}` removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[napi(ts_type = "Record<string, unknown>")]
    pub extra_metadata: Option<Value>,
}

/// A page of results.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageOptions {
    /// How many at most (1–1000; default 50).
    pub limit: Option<u32>,
    /// How many to skip (default 0).
    pub offset: Option<u32>,
}

/// Filters for `history`; every one optional.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct HistoryOptions {
    /// Only this product.
    pub product_name: Option<String>,
    /// Only this environment.
    pub environment_name: Option<String>,
    /// Only this version (needs `productName`).
    #[napi(ts_type = "string | number")]
    pub version: Option<Text>,
    /// Only this status (any alias).
    pub status: Option<String>,
    /// Only deployments recorded at or after this instant.
    #[napi(ts_type = "Date | string")]
    pub since: Option<String>,
    /// Only deployments recorded before this instant.
    #[napi(ts_type = "Date | string")]
    pub until: Option<String>,
    /// At most this many, newest first (1–1000; default 50).
    pub limit: Option<u32>,
    /// Only deployments whose preflight `passed`, or was `skipped` (an emergency bypass).
    #[napi(ts_type = "'passed' | 'skipped'")]
    pub preflight: Option<String>,
}

impl HistoryOptions {
    /// The core query, read by the parser the server uses for `GET /deployments/`.
    pub(crate) fn into_query(self) -> versioner_core::Result<versioner_core::HistoryQuery> {
        let filter = serde_json::to_value(&self)
            .map_err(|e| Error::internal(format!("cannot convert history options: {e}")))?;
        versioner_core::wire::history_query(&filter)
    }
}

/// How `new Versioner(path, options)` uses a SQLite database. The TypeScript interface
/// only: the core reads the options (`versioner_core::input`), as in every binding.
#[napi(object, object_to_js = false, object_from_js = false)]
#[expect(
    dead_code,
    reason = "the TypeScript interface; the core reads and checks the options"
)]
pub struct SqliteOptions {
    /// `full` (the default: an acknowledged event survives power loss) or `normal` (faster;
    /// the last commits may be lost on power loss).
    #[napi(ts_type = "'full' | 'normal'")]
    pub synchronous: Option<String>,
    /// How long to wait for another process's write lock, in milliseconds (default 30000).
    pub busy_timeout_ms: Option<u32>,
}

/// How `Versioner.connect(url, options)` (or `new Versioner(url, options)`) uses the
/// PostgreSQL database. The TypeScript interface only: the core reads the options.
#[napi(object, object_to_js = false, object_from_js = false)]
#[expect(
    dead_code,
    reason = "the TypeScript interface; the core reads and checks the options"
)]
pub struct ConnectOptions {
    /// Keep Versioner's tables in this schema (created if missing; letters, digits and `_`)
    /// rather than the connection's default, so several Versioner instances can share one
    /// database.
    pub schema: Option<String>,
    /// The most connections the pool opens (default 8).
    pub max_connections: Option<u32>,
    /// How long a call waits for a connection before rejecting with `STORAGE`, in
    /// milliseconds (default 5000).
    pub connect_timeout_ms: Option<u32>,
}

/// How `trackDeployment(options, { waitMs })` records: a `started` event blocked by something
/// time alone clears (a window, a soak, a deployment in progress) waits up to `waitMs` in its
/// environment's queue, in arrival order, instead of rejecting at once.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrackOptions {
    /// The longest wait, in milliseconds (at most 3600000, an hour).
    pub wait_ms: Option<f64>,
}

/// Options of `importEvents`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportOptions {
    /// Validate and report what would be imported, writing nothing (default `false`).
    pub dry_run: Option<bool>,
}

impl ImportOptions {
    /// The core's import mode.
    pub(crate) fn mode(&self) -> versioner_core::import::ImportMode {
        if self.dry_run.unwrap_or(false) {
            versioner_core::import::ImportMode::DryRun
        } else {
            versioner_core::import::ImportMode::Apply
        }
    }
}

/// An instant to look at: `state({ at })`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateOptions {
    /// As of this instant (default: now).
    #[napi(ts_type = "Date | string")]
    pub at: Option<String>,
}

/// Options of `drift`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftOptions {
    /// As of this instant (default: now).
    #[napi(ts_type = "Date | string")]
    pub at: Option<String>,
    /// Consider only these environments.
    pub environments: Option<Vec<String>>,
}

/// The query of `dora`: `since` and `until` required, the rest optional.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct DoraOptions {
    /// The range's start, inclusive.
    #[napi(ts_type = "Date | string")]
    pub since: Option<String>,
    /// The range's end, exclusive.
    #[napi(ts_type = "Date | string")]
    pub until: Option<String>,
    /// Only this product (default: every product).
    pub product: Option<String>,
    /// These environments (default: every environment of type production).
    pub environments: Option<Vec<String>>,
    /// What deployment frequency bands.
    #[napi(ts_type = "'per_day' | 'deployment_days_per_week'")]
    pub frequency: Option<String>,
    /// Whether a rollback counts the replaced deployment as a failure.
    #[napi(ts_type = "'not_a_failure' | 'failure_of_replaced'")]
    pub rollbacks: Option<String>,
    /// A series over the range in buckets of this interval.
    #[napi(ts_type = "'week'")]
    pub by: Option<String>,
}

impl DoraOptions {
    /// The core query, read by the parser the server uses for `GET /metrics/dora`.
    pub(crate) fn into_query(self) -> versioner_core::Result<versioner_core::insights::DoraQuery> {
        let mut filter = serde_json::to_value(&self)
            .map_err(|e| Error::internal(format!("cannot convert dora options: {e}")))?;
        if let Value::Object(map) = &mut filter {
            map.retain(|_, v| !v.is_null());
        }
        versioner_core::wire::dora_query(&filter)
    }
}

/// The query of `skew`: `ahead` and `behind` required.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct SkewOptions {
    /// The environment ahead (`staging`).
    pub ahead: Option<String>,
    /// The environment behind (`production`).
    pub behind: Option<String>,
    /// Only this product (default: every product deployed to either).
    pub product: Option<String>,
}

impl SkewOptions {
    /// The core query, read by the parser the server uses for `GET /skew`.
    pub(crate) fn into_query(self) -> versioner_core::Result<versioner_core::skew::SkewQuery> {
        versioner_core::wire::skew_query(&without_nulls(&self, "skew")?)
    }
}

/// The query of `stale`: `environment` and `olderThan` required.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct StaleOptions {
    /// The environment the versions wait in.
    pub environment: Option<String>,
    /// How long a version may wait (`"14d"`, `"36h"`).
    pub older_than: Option<String>,
    /// Where it should have gone (default: every environment of type production).
    pub promoted_to: Option<Vec<String>>,
}

impl StaleOptions {
    /// The core query, read by the parser the server uses for `GET /stale`.
    pub(crate) fn into_query(self) -> versioner_core::Result<versioner_core::skew::StaleQuery> {
        versioner_core::wire::stale_query(&without_nulls(&self, "stale")?)
    }
}

/// The JSON form of options, absent ones left out.
fn without_nulls<T: Serialize>(options: &T, what: &str) -> versioner_core::Result<Value> {
    let mut filter = serde_json::to_value(options)
        .map_err(|e| Error::internal(format!("cannot convert {what} options: {e}")))?;
    if let Value::Object(map) = &mut filter {
        map.retain(|_, v| !v.is_null());
    }
    Ok(filter)
}

/// Filters for `violations`; every one optional.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct ViolationsOptions {
    /// Only decisions where this rule failed.
    pub rule: Option<String>,
    /// Only this product.
    pub product_name: Option<String>,
    /// Only this environment.
    pub environment_name: Option<String>,
    /// Only decisions recorded at or after this instant.
    #[napi(ts_type = "Date | string")]
    pub since: Option<String>,
    /// Only decisions recorded before this instant.
    #[napi(ts_type = "Date | string")]
    pub until: Option<String>,
    /// `blocked` (refused), `reported` (report-only failures) or `bypassed`.
    #[napi(ts_type = "'blocked' | 'reported' | 'bypassed'")]
    pub outcome: Option<String>,
    /// At most this many, newest first (1–1000; default 100).
    pub limit: Option<u32>,
}

impl ViolationsOptions {
    /// The core query, read by the parser the server uses for
    /// `GET /deployment-rules/violations`.
    pub(crate) fn into_query(self) -> versioner_core::Result<versioner_core::ViolationQuery> {
        let filter = serde_json::to_value(&self)
            .map_err(|e| Error::internal(format!("cannot convert violations options: {e}")))?;
        versioner_core::wire::violation_query(&filter)
    }
}

/// A deployment button: `addDeploymentButton(options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize, Serialize)]
#[serde(
    rename_all(serialize = "snake_case", deserialize = "camelCase"),
    deny_unknown_fields
)]
pub struct ButtonOptions {
    /// The product (must have been recorded).
    #[serde(default)]
    pub product: String,
    /// The button's label.
    #[serde(default)]
    pub name: String,
    /// An http or https URL with `{variable}` placeholders (`{vi_version}`, `{my_var}`).
    #[serde(default)]
    pub url_template: String,
    /// The environments it deploys to (one button per environment per product).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Whether it is shown (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A subscription of a channel: `addNotificationPreference(options)`. Each filter left out
/// (or empty) matches anything.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferenceOptions {
    /// The channel's id or name.
    #[serde(default)]
    pub channel_id: String,
    /// The event type (`deployment.completed`, `build.completed`, ...) or `*`.
    #[serde(default)]
    pub event_type: String,
    /// Only these environments.
    pub environments: Option<Vec<String>>,
    /// Only these products.
    pub products: Option<Vec<String>>,
    /// Only these statuses (`completed`, `failed`, ...).
    pub statuses: Option<Vec<String>>,
}

/// Filters of `notificationHistory(options)`; every one optional.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationHistoryOptions {
    /// Only this channel (id or name).
    pub channel: Option<String>,
    /// Only attempts with this status.
    #[napi(ts_type = "'delivered' | 'retrying' | 'parked'")]
    pub status: Option<String>,
    /// At most this many, newest first (1–1000; default 100).
    pub limit: Option<u32>,
}
