//! The JSON shapes of the public Versioner Events API, shared by the server, the client and
//! the bindings so they can never drift apart.
//!
//! # Requests
//! `POST /build-events/` takes a [`BuildEvent`](crate::BuildEvent) and `POST
//! /deployment-events/` a [`DeploymentEvent`](crate::DeploymentEvent), field names exactly as
//! in the public API.
//!
//! # Responses
//! A recorded deployment ([`deployment`]) carries every field the official clients read:
//! ```json
//! {"id": "0190…", "product_id": "…", "version_id": "…", "environment_id": "…",
//!  "product_name": "api", "version": "1.2.0", "environment_name": "production",
//!  "status": "started", "deployed_at": "2026-11-21T09:30:00.000000Z", "deployed_by": "dana",
//!  "completed_at": null, "deploy_url": null, "source_system": "github",
//!  "extra_metadata": {"preflight_status": {"status": "passed", "rules_evaluated": [
//!     {"rule_name": "QA sign-off", "rule_type": "version_approval", "status": "report_only",
//!      "evaluation_result": "failed", "code": "QUALITY_APPROVAL_REQUIRED",
//!      "error_message": "…"}]}}}
//! ```
//! A build ([`build`]) carries `id`, `version_id`, `product_id`, `product_name`, `version`,
//! `build_number`, `status`, `build_url`, `started_at`, `completed_at`, `created_at`.
//!
//! # Instants
//! Every instant sent is RFC 3339 in UTC with six fractional digits and `Z`
//! (`2026-11-21T09:30:00.000000Z`), written by [`mod@instant`]; any RFC 3339 instant is read.
//!
//! # Bodies
//! Every JSON body is read by [`json::parse_object`]: it must be an object, and a key given
//! twice is refused, naming it. A text field takes a string, a boolean or a whole number
//! (kept as written); a number with a fraction or an exponent is refused, naming the field.
//!
//! # Errors
//! Every error body has `detail` (as FastAPI clients expect) and our stable `code`:
//! ```json
//! {"detail": "Version 1.2.3 already exists with different SHA", "code": "VERSION_CONFLICT",
//!  "message": "version `1.2.3` of `api` is recorded with sha `abc…`, not `def…`; …"}
//! ```
//! Validation errors (422) list the field FastAPI-style, located in the request ([`Place`]:
//! `body`, `query`, `path` or `header`):
//! `{"detail": [{"loc": ["body", "product_name"], "msg": "…", "type": "value_error"}], "code": "INVALID_INPUT", "message": "…"}`.
//! A preflight rejection (409/423/428) nests the verdict under `detail`:
//! ```json
//! {"detail": {"error": "deployment_blocked", "code": "FLOW_VIOLATION", "message": "…",
//!  "retry_after": null, "details": {"rule_name": "Staging first", …},
//!  "violations": [{"rule_name": …, "code": …, "message": …, "details": …, "retry_after": …}],
//!  "verdict": { … the whole verdict … }}}
//! ```
//!
//! # History filters
//! `GET /deployments/` takes its filters in the query string, and the bindings take them as a
//! JSON object; [`history_query`] reads both forms into a [`HistoryQuery`]:
//! ```json
//! {"product": "api", "environment": "production", "version": "1.2.0", "status": "success",
//!  "since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z", "limit": 10}
//! ```
//! `product_name` and `environment_name` are accepted for `product` and `environment`,
//! `status` takes any alias, `limit` a number or its text; [`history_query_pairs`] writes the
//! query-string form back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorCode, PolicyProblem, Result};
use crate::model::{Build, BuildFields, Deployment, DeploymentFields};
use crate::policy::{
    ApplyMode, BlockCode, OutcomeStatus, PolicyFormat, Preflight, PreflightStatus, RuleOutcome,
    RuleStatus, RuleType, Verdict,
};
use crate::status::Status;
use crate::store::HistoryQuery;

/// Instants on the wire: one format everywhere, RFC 3339 in UTC with exactly six fractional
/// digits (microseconds) and a `Z`: `2026-11-21T09:30:00.000000Z`.
///
/// Microseconds are what every store keeps (SQLite as fixed-width text, PostgreSQL's
/// `timestamptz`), so nothing recorded is rounded, and a fixed width sorts as text and parses
/// in every client (Python's `datetime.fromisoformat`, JavaScript's `Date`, Go's
/// `time.RFC3339Nano`). Every instant of every record the core hands out is written by
/// [`instant::format`] (records use `#[serde(with = "crate::wire::instant")]`), including those
/// inside rule details (`ends_at`) and domain event payloads. Reading accepts any RFC 3339
/// instant.
pub mod instant {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// The wire text of `t`: `2026-11-21T09:30:00.000000Z`.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// Whether `text` is an instant in the wire format (six fractional digits, `Z`).
    pub fn is_wire_format(text: &str) -> bool {
        text.len() == 27
            && DateTime::parse_from_rfc3339(text)
                .is_ok_and(|t| format(&t.with_timezone(&Utc)) == text)
    }

    /// Serializes an instant in the wire format.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Reads any RFC 3339 instant.
    ///
    /// # Errors
    /// Text that is not RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }

    /// The same for an optional instant (`null` when absent).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes an optional instant in the wire format, `null` when absent.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// Reads an optional RFC 3339 instant.
        ///
        /// # Errors
        /// Text that is not RFC 3339.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<DateTime<Utc>>::deserialize(d)
        }
    }
}

/// What one rule found, in a deployment's `extra_metadata.preflight_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationResult {
    /// The rule held.
    Passed,
    /// The rule failed (blocking, or report-only when the deployment went ahead).
    Failed,
    /// The rule does not apply to this deployment.
    NotApplicable,
}

/// One rule in a deployment's `extra_metadata.preflight_status.rules_evaluated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleEvaluation {
    /// The rule.
    pub rule_name: String,
    /// Its type.
    pub rule_type: RuleType,
    /// Its status (enabled, report_only, disabled).
    pub status: RuleStatus,
    /// What it found.
    pub evaluation_result: EvaluationResult,
    /// The block code of a failure.
    pub code: Option<BlockCode>,
    /// Why it failed.
    pub error_message: Option<String>,
}

/// The `preflight_status` object placed in a deployment's `extra_metadata`, as the public
/// API reports report-only warnings on a 200.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PreflightStatusBody {
    /// Passed or skipped.
    pub status: PreflightStatus,
    /// Every rule evaluated.
    pub rules_evaluated: Vec<RuleEvaluation>,
    /// The reason given for a bypass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_reason: Option<String>,
}

impl From<&Preflight> for PreflightStatusBody {
    fn from(p: &Preflight) -> PreflightStatusBody {
        PreflightStatusBody {
            status: p.status,
            rules_evaluated: p
                .verdict
                .outcomes()
                .iter()
                .map(|o| RuleEvaluation {
                    rule_name: o.rule_name.clone(),
                    rule_type: o.rule_type,
                    status: o.rule_status,
                    evaluation_result: match o.status {
                        OutcomeStatus::Passed => EvaluationResult::Passed,
                        OutcomeStatus::Failed | OutcomeStatus::FailedReportOnly => {
                            EvaluationResult::Failed
                        }
                        OutcomeStatus::NotApplicable => EvaluationResult::NotApplicable,
                    },
                    code: o.code,
                    error_message: o.failed().then(|| o.message.clone()),
                })
                .collect(),
            bypass_reason: p.bypass_reason.clone(),
        }
    }
}

/// The `preflight_status` object placed in a deployment's `extra_metadata`.
pub fn preflight_status(p: &Preflight) -> Value {
    serde_json::to_value(PreflightStatusBody::from(p)).unwrap_or(Value::Null)
}

/// The response body of a recorded deployment: every field the official clients read, its
/// preflight, and (the public API's form) `preflight_status` inside `extra_metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeploymentBody {
    /// The deployment's id.
    pub id: String,
    /// The product's id.
    pub product_id: String,
    /// The version's id.
    pub version_id: String,
    /// The environment's id.
    pub environment_id: String,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// The canonical status.
    pub status: Status,
    /// When the deployment was recorded as happening.
    #[serde(with = "instant")]
    pub deployed_at: DateTime<Utc>,
    /// When it started.
    #[serde(with = "instant::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(with = "instant::option")]
    pub completed_at: Option<DateTime<Utc>>,
    /// When the record last changed.
    #[serde(with = "instant")]
    pub updated_at: DateTime<Utc>,
    /// The event's fields.
    #[serde(flatten)]
    pub fields: DeploymentFields,
    /// The event's metadata, plus `preflight_status` when a preflight ran.
    pub extra_metadata: Map<String, Value>,
    /// What the preflight decided, when it ran.
    pub preflight: Option<Preflight>,
}

impl From<&Deployment> for DeploymentBody {
    fn from(d: &Deployment) -> DeploymentBody {
        let mut extra_metadata = d.extra_metadata.clone();
        if let Some(p) = &d.preflight {
            extra_metadata.insert("preflight_status".into(), preflight_status(p));
        }
        DeploymentBody {
            id: d.id.clone(),
            product_id: d.product_id.clone(),
            version_id: d.version_id.clone(),
            environment_id: d.environment_id.clone(),
            product_name: d.product_name.clone(),
            version: d.version.clone(),
            environment_name: d.environment_name.clone(),
            status: d.status,
            deployed_at: d.deployed_at,
            started_at: d.started_at,
            completed_at: d.completed_at,
            updated_at: d.updated_at,
            fields: d.fields.clone(),
            extra_metadata,
            preflight: d.preflight.clone(),
        }
    }
}

impl DeploymentBody {
    /// The record again (the client's side): `preflight_status` leaves `extra_metadata`, where
    /// the record keeps only what the event sent.
    pub fn into_deployment(mut self) -> Deployment {
        if self.preflight.is_some() {
            self.extra_metadata.remove("preflight_status");
        }
        if let Some(p) = &mut self.preflight {
            p.verdict.refresh_derived();
        }
        Deployment {
            id: self.id,
            product_id: self.product_id,
            product_name: self.product_name,
            version_id: self.version_id,
            version: self.version,
            environment_id: self.environment_id,
            environment_name: self.environment_name,
            status: self.status,
            fields: self.fields,
            deployed_at: self.deployed_at,
            started_at: self.started_at,
            completed_at: self.completed_at,
            updated_at: self.updated_at,
            extra_metadata: self.extra_metadata,
            preflight: self.preflight,
            key: 0,
            product_key: 0,
            version_key: 0,
            environment_key: 0,
        }
    }
}

/// The response body of a recorded deployment.
pub fn deployment(d: &Deployment) -> Value {
    serde_json::to_value(DeploymentBody::from(d)).unwrap_or(Value::Null)
}

/// The response body of a recorded build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BuildBody {
    /// The build's id.
    pub id: String,
    /// The version's id.
    pub version_id: String,
    /// The product's id.
    pub product_id: String,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The canonical status.
    pub status: Status,
    /// The event's fields.
    #[serde(flatten)]
    pub fields: BuildFields,
    /// When the build started.
    #[serde(with = "instant::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(with = "instant::option")]
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was recorded.
    #[serde(with = "instant")]
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    #[serde(with = "instant")]
    pub updated_at: DateTime<Utc>,
    /// The event's metadata.
    pub extra_metadata: Map<String, Value>,
}

impl From<&Build> for BuildBody {
    fn from(b: &Build) -> BuildBody {
        BuildBody {
            id: b.id.clone(),
            version_id: b.version_id.clone(),
            product_id: b.product_id.clone(),
            product_name: b.product_name.clone(),
            version: b.version.clone(),
            status: b.status,
            fields: b.fields.clone(),
            started_at: b.started_at,
            completed_at: b.completed_at,
            created_at: b.created_at,
            updated_at: b.updated_at,
            extra_metadata: b.extra_metadata.clone(),
        }
    }
}

impl BuildBody {
    /// The record again (the client's side).
    pub fn into_build(self) -> Build {
        Build {
            id: self.id,
            version_id: self.version_id,
            product_id: self.product_id,
            product_name: self.product_name,
            version: self.version,
            status: self.status,
            fields: self.fields,
            started_at: self.started_at,
            completed_at: self.completed_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            extra_metadata: self.extra_metadata,
            key: 0,
            version_key: 0,
        }
    }
}

/// The response body of a recorded build.
pub fn build(b: &Build) -> Value {
    serde_json::to_value(BuildBody::from(b)).unwrap_or(Value::Null)
}

/// One failed rule of a preflight rejection, in `detail.violations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Violation {
    /// The rule.
    pub rule_name: String,
    /// Its type.
    pub rule_type: RuleType,
    /// Why it blocks.
    pub code: Option<BlockCode>,
    /// What to do.
    pub message: String,
    /// The rule's details (`rule_name`, the conflicting deployment, the window, …).
    pub details: Map<String, Value>,
    /// When time alone clears it.
    #[serde(with = "instant::option")]
    pub retry_after: Option<DateTime<Utc>>,
}

impl From<&RuleOutcome> for Violation {
    fn from(o: &RuleOutcome) -> Violation {
        Violation {
            rule_name: o.rule_name.clone(),
            rule_type: o.rule_type,
            code: o.code,
            message: o.message.clone(),
            details: o.details.clone(),
            retry_after: o.retry_after,
        }
    }
}

/// The `detail` object of a preflight rejection (409, 423, 428).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlockedDetail {
    /// Always `deployment_blocked`.
    pub error: String,
    /// The most severe failure's code.
    pub code: Option<BlockCode>,
    /// A summary a person can act on.
    pub message: String,
    /// When time alone clears every block.
    #[serde(with = "instant::option")]
    pub retry_after: Option<DateTime<Utc>>,
    /// The most severe failure's details (`rule_name`, …).
    pub details: Map<String, Value>,
    /// Every failed rule.
    pub violations: Vec<Violation>,
    /// The whole verdict.
    pub verdict: Verdict,
}

/// The `error` of a [`BlockedDetail`].
pub const DEPLOYMENT_BLOCKED: &str = "deployment_blocked";

impl From<&Verdict> for BlockedDetail {
    fn from(v: &Verdict) -> BlockedDetail {
        BlockedDetail {
            error: DEPLOYMENT_BLOCKED.into(),
            code: v.code(),
            message: v.summary(),
            retry_after: v.retry_after(),
            details: v.primary().map(|o| o.details.clone()).unwrap_or_default(),
            violations: v.failures().map(Violation::from).collect(),
            verdict: v.clone(),
        }
    }
}

/// The `detail` object of a preflight rejection.
pub fn blocked_detail(v: &Verdict) -> Value {
    serde_json::to_value(BlockedDetail::from(v)).unwrap_or(Value::Null)
}

/// One field at fault in a 422, FastAPI-style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// Where: `["body", field]`, or `["body", "rules", rule, field]` for a policy.
    pub loc: Vec<String>,
    /// What is wrong.
    pub msg: String,
    /// Always `value_error`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    fn new(loc: Vec<String>, msg: &str) -> FieldError {
        FieldError {
            loc,
            msg: msg.to_string(),
            kind: "value_error".into(),
        }
    }
}

/// An error body's `detail`: a preflight rejection, the fields at fault (422), or a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// A preflight rejection.
    Blocked(Box<BlockedDetail>),
    /// The fields at fault.
    Fields(Vec<FieldError>),
    /// A sentence (as FastAPI clients expect).
    Message(String),
}

/// Every error body: `detail` as FastAPI clients expect, our stable `code` and a `message` a
/// person can act on, plus what the error's variant carries (`problems` of a policy, `fields`
/// of a conflict or a missing record), so a client rebuilds the same [`Error`] variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// What went wrong, FastAPI-style.
    pub detail: ErrorDetail,
    /// The stable code (absent in a preflight rejection, whose `detail` carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A sentence a person can act on (absent in a preflight rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every problem of a refused policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<PolicyProblem>>,
    /// The fields of the error's variant (a conflict's SHAs, a missing record's kind and name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
}

impl ErrorBody {
    fn new(detail: ErrorDetail, code: ErrorCode, message: String) -> ErrorBody {
        ErrorBody {
            detail,
            code: Some(code.as_str().to_string()),
            message: Some(message),
            problems: None,
            fields: None,
        }
    }
}

/// The body of a request refused before it could be read (malformed JSON, too large, wrong
/// content type): `{"detail": …, "code": "INVALID_INPUT", "message": …}`.
pub fn unreadable(detail: &str) -> Value {
    let body = ErrorBody::new(
        ErrorDetail::Message(detail.to_string()),
        ErrorCode::InvalidInput,
        detail.to_string(),
    );
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// An RFC 3339 instant given for `field` (`at`, `since`, …).
///
/// # Errors
/// `INVALID_INPUT` on `field` when `text` is blank or not RFC 3339.
pub fn instant(field: &str, text: &str) -> Result<DateTime<Utc>> {
    crate::event::timestamp(field, Some(text))?
        .ok_or_else(|| Error::invalid(field, "must not be blank; expected an RFC 3339 timestamp"))
}

/// The filters accepted by [`history_query`], in the order they are documented.
const HISTORY_FILTERS: &str =
    "product, environment, version, status, preflight, since, until or limit";

/// Reads deployment-history filters from their JSON form (an object, or `null` for none):
/// `product` (or `product_name`), `environment` (or `environment_name`), `version`,
/// `status` (any alias), `since` and `until` (RFC 3339) and `limit` (a number or its text).
/// Blank values and `null` filter nothing; the limit's range (1–1000) is checked by the query.
///
/// ```
/// use serde_json::json;
/// use versioner_core::{Status, wire};
///
/// let q = wire::history_query(&json!({"product_name": "api", "status": "success", "limit": "5"}))?;
/// assert_eq!(q.product.as_deref(), Some("api"));
/// assert_eq!((q.status, q.limit), (Some(Status::Completed), Some(5)));
/// let err = wire::history_query(&json!({"colour": "red"})).unwrap_err();
/// assert_eq!(err.field(), Some("colour"));
/// # Ok::<(), versioner_core::Error>(())
/// ```
///
/// # Errors
/// `INVALID_INPUT` naming the filter: an unknown name, a value of the wrong type, an unknown
/// status, an instant that is not RFC 3339, a limit that is not a whole number, or a filter
/// given under both of its names with different values.
pub fn history_query(filter: &Value) -> Result<HistoryQuery> {
    let map = match filter {
        Value::Null => return Ok(HistoryQuery::new()),
        Value::Object(map) => map,
        _ => {
            return Err(Error::invalid(
                "filter",
                format!("must be an object with any of {HISTORY_FILTERS}"),
            ));
        }
    };
    let mut q = HistoryQuery::new();
    for (key, value) in map {
        let key = key.as_str();
        match key {
            "product" | "product_name" => set_once(&mut q.product, key, text(key, value)?)?,
            "environment" | "environment_name" => {
                set_once(&mut q.environment, key, text(key, value)?)?;
            }
            "version" => q.version = text(key, value)?,
            "status" => {
                q.status = text(key, value)?
                    .as_deref()
                    .map(Status::parse)
                    .transpose()?
            }
            "since" => q.since = text(key, value)?.map(|t| instant(key, &t)).transpose()?,
            "until" => q.until = text(key, value)?.map(|t| instant(key, &t)).transpose()?,
            "limit" => q.limit = whole_number(key, value)?,
            "preflight" => {
                q.preflight = text(key, value)?.as_deref().map(str::parse).transpose()?;
            }
            other => {
                return Err(Error::invalid(
                    other,
                    format!("unknown filter `{other}`; expected {HISTORY_FILTERS}"),
                ));
            }
        }
    }
    Ok(q)
}

/// The query-string form of `query`, as [`history_query`] reads it (instants in RFC 3339).
pub fn history_query_pairs(query: &HistoryQuery) -> Vec<(&'static str, String)> {
    let stamp = |t: DateTime<Utc>| instant::format(&t);
    let mut pairs = Vec::new();
    let texts = [
        ("product", query.product.clone()),
        ("environment", query.environment.clone()),
        ("version", query.version.clone()),
        ("status", query.status.map(|s| s.as_str().to_string())),
        ("since", query.since.map(stamp)),
        ("until", query.until.map(stamp)),
        ("limit", query.limit.map(|n| n.to_string())),
        ("preflight", query.preflight.map(|p| p.as_str().to_string())),
    ];
    for (key, value) in texts {
        if let Some(v) = value {
            pairs.push((key, v));
        }
    }
    pairs
}

/// A filter's text: a string (trimmed; blank is none), a number's digits, or `null` (none).
fn text(key: &str, value: &Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        Value::Number(n) => crate::event::number_text(n)
            .map(Some)
            .map_err(|reason| Error::invalid(key, reason)),
        _ => Err(Error::invalid(key, "must be a string")),
    }
}

/// A filter that has two names: the second name may repeat the first, never contradict it.
fn set_once(slot: &mut Option<String>, key: &str, value: Option<String>) -> Result<()> {
    match (slot.as_deref(), value) {
        (Some(old), Some(new)) if old != new => Err(Error::invalid(
            key,
            format!("`{new}` contradicts `{old}`, given under the filter's other name"),
        )),
        (_, Some(new)) => {
            *slot = Some(new);
            Ok(())
        }
        (_, None) => Ok(()),
    }
}

/// A whole number (or its text) that fits a `u32`.
fn whole_number(key: &str, value: &Value) -> Result<Option<u32>> {
    let Some(text) = text(key, value)? else {
        return Ok(None);
    };
    text.parse::<u32>()
        .map(Some)
        .map_err(|_| Error::invalid(key, format!("`{text}` is not a whole number")))
}

/// The answer of `GET /metrics/dora` (and `versioner metrics dora --output json`).
pub use crate::insights::DoraReport;

/// The parameters accepted by [`dora_query`], in the order they are documented.
const DORA_PARAMETERS: &str = "product, environment, since, until, frequency, rollbacks or by";

/// Reads a request for the four keys from its JSON form (the query string of
/// `GET /metrics/dora`, or the bindings' object): `since` and `until` (RFC 3339, required),
/// `product` (or `product_name`), `environment` (or `environments`: a name, comma-separated
/// names, or an array of names; every production environment when absent), `frequency` (`per_day` or
/// `deployment_days_per_week`), `rollbacks` (`not_a_failure` or `failure_of_replaced`) and
/// `by` (`week`).
///
/// ```
/// use serde_json::json;
/// use versioner_core::wire;
///
/// let q = wire::dora_query(&json!({"since": "2026-11-01T00:00:00Z",
///     "until": "2026-12-01T00:00:00Z", "environment": "prod-eu,prod-us", "by": "week"}))?;
/// assert_eq!(q.environments, vec!["prod-eu", "prod-us"]);
/// let err = wire::dora_query(&json!({"until": "2026-12-01T00:00:00Z"})).unwrap_err();
/// assert_eq!(err.field(), Some("since"));
/// # Ok::<(), versioner_core::Error>(())
/// ```
///
/// # Errors
/// `INVALID_INPUT` naming the parameter: an unknown name, a missing `since` or `until`, an
/// instant that is not RFC 3339, an unknown definition or interval, or a range whose `until`
/// is not after its `since`.
pub fn dora_query(filter: &Value) -> Result<crate::insights::DoraQuery> {
    let Value::Object(map) = filter else {
        return Err(Error::invalid(
            "filter",
            format!("must be an object with {DORA_PARAMETERS}"),
        ));
    };
    let required = |key: &'static str| -> Result<DateTime<Utc>> {
        let t = map.get(key).map(|v| text(key, v)).transpose()?.flatten();
        let t = t.ok_or_else(|| {
            Error::invalid(
                key,
                "is required (an RFC 3339 instant, e.g. 2026-11-01T00:00:00Z)",
            )
        })?;
        instant(key, &t)
    };
    let mut q = crate::insights::DoraQuery::new(required("since")?, required("until")?);
    let mut product = None;
    for (key, value) in map {
        let key = key.as_str();
        match key {
            "since" | "until" => {}
            "product" | "product_name" => set_once(&mut product, key, text(key, value)?)?,
            "environment" | "environment_name" | "environments" => {
                name_list(key, value, &mut q.environments)?;
            }
            "frequency" => {
                if let Some(f) = text(key, value)? {
                    q.frequency = f.parse()?;
                }
            }
            "rollbacks" => {
                if let Some(r) = text(key, value)? {
                    q.rollbacks = r.parse()?;
                }
            }
            "by" => q.by = text(key, value)?.as_deref().map(str::parse).transpose()?,
            other => {
                return Err(Error::invalid(
                    other,
                    format!("unknown parameter `{other}`; expected {DORA_PARAMETERS}"),
                ));
            }
        }
    }
    q.product = product;
    q.validated()?;
    Ok(q)
}

/// The query-string form of `query`, as [`dora_query`] reads it (instants in RFC 3339).
pub fn dora_query_pairs(query: &crate::insights::DoraQuery) -> Vec<(&'static str, String)> {
    let stamp = |t: DateTime<Utc>| instant::format(&t);
    let mut pairs = vec![("since", stamp(query.since)), ("until", stamp(query.until))];
    if let Some(p) = &query.product {
        pairs.push(("product", p.clone()));
    }
    for e in &query.environments {
        pairs.push(("environment", e.clone()));
    }
    let enum_text = |v: Value| v.as_str().map(str::to_string).unwrap_or_default();
    pairs.push(("frequency", enum_text(json!(query.frequency))));
    pairs.push(("rollbacks", enum_text(json!(query.rollbacks))));
    if let Some(by) = query.by {
        pairs.push(("by", enum_text(json!(by))));
    }
    pairs
}

/// Names from a query value: a name, comma-separated names, or an array of names.
fn name_list(key: &str, value: &Value, out: &mut Vec<String>) -> Result<()> {
    match value {
        Value::Array(items) => {
            for item in items {
                out.extend(text(key, item)?);
            }
        }
        other => {
            if let Some(names) = text(key, other)? {
                out.extend(
                    names
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    Ok(())
}

/// Reads a skew query from its JSON form (the query string of `GET /skew`, or the bindings'
/// object): `ahead` and `behind` (environment names, required) and `product` (or
/// `product_name`).
///
/// ```
/// use serde_json::json;
/// use versioner_core::wire;
/// let q = wire::skew_query(&json!({"ahead": "staging", "behind": "production"}))?;
/// assert_eq!(q.behind, "production");
/// let err = wire::skew_query(&json!({"ahead": "staging"})).unwrap_err();
/// assert_eq!(err.field(), Some("behind"));
/// # Ok::<(), versioner_core::Error>(())
/// ```
///
/// # Errors
/// `INVALID_INPUT` naming the parameter: unknown, missing, or not text.
pub fn skew_query(filter: &Value) -> Result<crate::skew::SkewQuery> {
    const PARAMETERS: &str = "ahead, behind or product";
    let Value::Object(map) = filter else {
        return Err(Error::invalid(
            "filter",
            format!("must be an object with {PARAMETERS}"),
        ));
    };
    let (mut ahead, mut behind, mut product) = (None, None, None);
    for (key, value) in map {
        let key = key.as_str();
        match key {
            "ahead" => set_once(&mut ahead, key, text(key, value)?)?,
            "behind" => set_once(&mut behind, key, text(key, value)?)?,
            "product" | "product_name" => set_once(&mut product, key, text(key, value)?)?,
            other => {
                return Err(Error::invalid(
                    other,
                    format!("unknown parameter `{other}`; expected {PARAMETERS}"),
                ));
            }
        }
    }
    let required = |key: &str, v: Option<String>| {
        v.filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::invalid(key, "is required (an environment name)"))
    };
    let mut q = crate::skew::SkewQuery::new(required("ahead", ahead)?, required("behind", behind)?);
    q.product = product;
    Ok(q)
}

/// The query-string form of `query`, as [`skew_query`] reads it.
pub fn skew_query_pairs(query: &crate::skew::SkewQuery) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("ahead", query.ahead.clone()),
        ("behind", query.behind.clone()),
    ];
    if let Some(p) = &query.product {
        pairs.push(("product", p.clone()));
    }
    pairs
}

/// Reads a stale-versions query from its JSON form (the query string of `GET /stale`, or the
/// bindings' object): `environment` (required), `older_than` (a duration such as `14d`,
/// required) and `promoted_to` (a name, comma-separated names, or an array; every production
/// environment when absent).
///
/// ```
/// use serde_json::json;
/// use versioner_core::wire;
/// let q = wire::stale_query(&json!({"environment": "staging", "older_than": "14d"}))?;
/// assert_eq!(q.older_than_seconds, 14 * 86_400);
/// # Ok::<(), versioner_core::Error>(())
/// ```
///
/// # Errors
/// `INVALID_INPUT` naming the parameter: unknown, missing, or a duration that does not parse.
pub fn stale_query(filter: &Value) -> Result<crate::skew::StaleQuery> {
    const PARAMETERS: &str = "environment, older_than or promoted_to";
    let Value::Object(map) = filter else {
        return Err(Error::invalid(
            "filter",
            format!("must be an object with {PARAMETERS}"),
        ));
    };
    let (mut environment, mut older_than, mut promoted_to) = (None, None, Vec::new());
    for (key, value) in map {
        let key = key.as_str();
        match key {
            "environment" | "environment_name" => {
                set_once(&mut environment, key, text(key, value)?)?;
            }
            "older_than" => set_once(&mut older_than, key, text(key, value)?)?,
            "promoted_to" => name_list(key, value, &mut promoted_to)?,
            other => {
                return Err(Error::invalid(
                    other,
                    format!("unknown parameter `{other}`; expected {PARAMETERS}"),
                ));
            }
        }
    }
    let environment = environment
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::invalid("environment", "is required (an environment name)"))?;
    let older_than = older_than
        .ok_or_else(|| Error::invalid("older_than", "is required (a duration such as 14d)"))?;
    let older_than = crate::policy::parse_duration("older_than", &older_than)?;
    let mut q = crate::skew::StaleQuery::new(environment, older_than);
    q.promoted_to = promoted_to;
    Ok(q)
}

/// The query-string form of `query`, as [`stale_query`] reads it.
pub fn stale_query_pairs(query: &crate::skew::StaleQuery) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("environment", query.environment.clone()),
        ("older_than", format!("{}s", query.older_than_seconds)),
    ];
    for e in &query.promoted_to {
        pairs.push(("promoted_to", e.clone()));
    }
    pairs
}

/// Where in a request an input error was found: the first element of a 422's `loc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Place {
    /// The JSON body (`["body", field]`): the default.
    #[default]
    Body,
    /// The query string (`["query", parameter]`).
    Query,
    /// The path (`["path", parameter]`).
    Path,
    /// A header (`["header", name]`).
    Header,
}

impl Place {
    /// `body`, `query`, `path` or `header`, as FastAPI names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Body => "body",
            Place::Query => "query",
            Place::Path => "path",
            Place::Header => "header",
        }
    }
}

/// The HTTP status and body for an error.
pub fn error_response(e: &Error) -> (u16, Value) {
    error_response_at(e, Place::Body)
}

/// The HTTP status and body for an error found in `place` of the request (a 422's `loc`
/// starts with it).
pub fn error_response_at(e: &Error, place: Place) -> (u16, Value) {
    let (status, mut body) = error_body(e);
    if let ErrorDetail::Fields(fields) = &mut body.detail {
        for f in fields {
            if let Some(first) = f.loc.first_mut() {
                *first = place.as_str().to_string();
            }
        }
    }
    (status, serde_json::to_value(body).unwrap_or(Value::Null))
}

/// The HTTP status and typed body for an error.
pub fn error_body(e: &Error) -> (u16, ErrorBody) {
    let code = e.code();
    let status = code.http_status();
    let text = |t: &str| ErrorDetail::Message(t.to_string());
    let detail = match e {
        Error::Blocked(v) => {
            let body = ErrorBody {
                detail: ErrorDetail::Blocked(Box::new(BlockedDetail::from(&**v))),
                code: None,
                message: None,
                problems: None,
                fields: None,
            };
            return (v.http_status().unwrap_or(status), body);
        }
        Error::InvalidInput { field, reason } => ErrorDetail::Fields(vec![FieldError::new(
            vec!["body".into(), field.clone()],
            reason,
        )]),
        Error::InvalidPolicy { problems } => ErrorDetail::Fields(
            problems
                .iter()
                .map(|p| {
                    FieldError::new(
                        vec![
                            "body".into(),
                            "rules".into(),
                            p.rule.clone(),
                            p.field.clone(),
                        ],
                        &p.reason,
                    )
                })
                .collect(),
        ),
        Error::VersionConflict { version, .. } => ErrorDetail::Message(format!(
            "Version {version} already exists with different SHA"
        )),
        Error::NotFound { .. } => text("Not found"),
        Error::Unauthorized { message }
        | Error::Forbidden { message }
        | Error::RateLimited { message } => text(message),
        // 5xx bodies hide internals; the details go to the log.
        Error::Storage { .. } | Error::SchemaTooNew { .. } => {
            text("Service temporarily unavailable")
        }
        Error::Remote { .. } | Error::Network { .. } | Error::Internal { .. } => {
            text("Internal server error")
        }
    };
    let message = match (&detail, code) {
        (
            ErrorDetail::Message(m),
            ErrorCode::Storage | ErrorCode::Internal | ErrorCode::Network,
        ) => m.clone(),
        _ => e.to_string(),
    };
    let mut body = ErrorBody::new(detail, code, message);
    match e {
        Error::InvalidPolicy { problems } => body.problems = Some(problems.clone()),
        // The variant's own fields, so a client rebuilds the same variant.
        Error::VersionConflict {
            product,
            version,
            recorded,
            given,
        } => {
            body.fields = json!({ "product": product, "version": version, "recorded": recorded, "given": given })
                .as_object()
                .cloned();
        }
        Error::NotFound { kind, name } => {
            body.fields = json!({ "kind": kind, "name": name }).as_object().cloned();
        }
        Error::SchemaTooNew { .. }
        | Error::InvalidInput { .. }
        | Error::Blocked(_)
        | Error::Unauthorized { .. }
        | Error::Forbidden { .. }
        | Error::Storage { .. }
        | Error::Remote { .. }
        | Error::Network { .. }
        | Error::RateLimited { .. }
        | Error::Internal { .. } => {}
    }
    (status, body)
}

/// The kinds of thing a `NOT_FOUND` names, as the server sends them; a kind this library does
/// not know reads back as `record`.
const NOT_FOUND_KINDS: &[&str] = &[
    "product",
    "version",
    "environment",
    "deployment",
    "build",
    "approval",
    "rule",
    "active API key",
    "route",
];

/// Rebuilds an error from an HTTP status and body (the inverse of [`error_response`]), for
/// the client: the same variant as in process, and a rejection carries the whole verdict. A
/// body that is not ours (a proxy's page, an empty body) still gives the code its status
/// implies.
pub fn error_from_response(status: u16, body: &Value) -> Error {
    let typed: Option<ErrorBody> = serde_json::from_value(body.clone()).ok();
    if let Some(ErrorDetail::Blocked(b)) = typed.as_ref().map(|t| &t.detail)
        && b.error == DEPLOYMENT_BLOCKED
    {
        let mut v = b.verdict.clone();
        v.refresh_derived();
        return Error::Blocked(Box::new(v));
    }
    let detail_text = match typed.as_ref().map(|t| &t.detail) {
        Some(ErrorDetail::Message(m)) => Some(m.clone()),
        _ => body
            .get("detail")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let message = typed
        .as_ref()
        .and_then(|t| t.message.clone())
        .or(detail_text)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let code = typed
        .as_ref()
        .and_then(|t| t.code.as_deref())
        .and_then(ErrorCode::parse)
        .unwrap_or(match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::VersionConflict,
            400 | 415 | 421 | 422 => ErrorCode::InvalidInput,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::Storage,
            _ => ErrorCode::Internal,
        });
    let fields = typed.as_ref().and_then(|t| t.fields.as_ref());
    let field = |name: &str| {
        fields
            .and_then(|f| f.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match code {
        ErrorCode::VersionConflict => {
            match (
                field("product"),
                field("version"),
                field("recorded"),
                field("given"),
            ) {
                (Some(product), Some(version), Some(recorded), Some(given)) => {
                    Error::VersionConflict {
                        product,
                        version,
                        recorded,
                        given,
                    }
                }
                _ => Error::Remote { code, message },
            }
        }
        ErrorCode::NotFound => match (field("kind"), field("name")) {
            (Some(kind), Some(name)) => Error::NotFound {
                kind: NOT_FOUND_KINDS
                    .iter()
                    .find(|k| **k == kind)
                    .copied()
                    .unwrap_or("record"),
                name,
            },
            _ => Error::Remote { code, message },
        },
        ErrorCode::InvalidInput => {
            if let Some(problems) = typed.as_ref().and_then(|t| t.problems.clone()) {
                return Error::InvalidPolicy { problems };
            }
            let first = match typed.as_ref().map(|t| &t.detail) {
                Some(ErrorDetail::Fields(f)) => f.first(),
                _ => None,
            };
            Error::InvalidInput {
                field: first
                    .and_then(|f| f.loc.last())
                    .cloned()
                    .unwrap_or_else(|| "body".into()),
                reason: first.map_or(message, |f| f.msg.clone()),
            }
        }
        ErrorCode::Unauthorized => Error::Unauthorized { message },
        ErrorCode::Forbidden => Error::Forbidden { message },
        ErrorCode::Storage => Error::Storage {
            message,
            source: None,
        },
        ErrorCode::Internal => Error::Internal { message },
        _ => Error::Remote { code, message },
    }
}

/// Reads the filters of `GET /deployment-rules/violations` from their JSON form (an object of
/// strings, or `null`): `rule`, `product`, `environment`, `since`, `until` (RFC 3339),
/// `outcome` (`blocked`, `reported` or `bypassed`) and `limit`. Blank values filter nothing.
///
/// # Errors
/// `INVALID_INPUT` naming an unknown filter or a bad value.
pub fn violation_query(filter: &Value) -> Result<crate::decision::ViolationQuery> {
    let mut q = crate::decision::ViolationQuery::default();
    let Some(map) = filter.as_object() else {
        return if filter.is_null() {
            Ok(q)
        } else {
            Err(Error::invalid("filter", "must be an object of filters"))
        };
    };
    for (key, value) in map {
        let Some(text) = text(key, value)? else {
            continue;
        };
        match key.as_str() {
            "rule" => q.rule = Some(text),
            "product" | "product_name" => q.product = Some(text),
            "environment" | "environment_name" => q.environment = Some(text),
            "since" => q.since = Some(instant(key, &text)?),
            "until" => q.until = Some(instant(key, &text)?),
            "outcome" => q.outcome = Some(text.parse()?),
            "limit" => q.limit = whole_number(key, value)?,
            other => {
                return Err(Error::invalid(
                    other,
                    "unknown filter; expected rule, product, environment, since, until, outcome or limit",
                ));
            }
        }
    }
    Ok(q)
}

/// The query-string pairs of a [`ViolationQuery`](crate::decision::ViolationQuery), the
/// inverse of [`violation_query`] (for the client).
pub fn violation_query_pairs(
    query: &crate::decision::ViolationQuery,
) -> Vec<(&'static str, String)> {
    let stamp = |t: DateTime<Utc>| instant::format(&t);
    [
        ("rule", query.rule.clone()),
        ("product", query.product.clone()),
        ("environment", query.environment.clone()),
        ("since", query.since.map(stamp)),
        ("until", query.until.map(stamp)),
        ("outcome", query.outcome.map(|o| o.as_str().to_string())),
        ("limit", query.limit.map(|l| l.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect()
}

/// One route of the HTTP API: its method and path template (`{name}` for a path parameter).
///
/// The client calls the API only through [`endpoints`]; the server's test suite checks that
/// each of them is a route of the server's OpenAPI document, so the two cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path template, as the server registers it.
    pub path: &'static str,
}

impl Endpoint {
    const fn new(method: &'static str, path: &'static str) -> Endpoint {
        Endpoint { method, path }
    }

    /// The path's segments with each `{parameter}` replaced, in order, by `params` (not yet
    /// percent-encoded; a trailing slash is a final empty segment).
    ///
    /// # Errors
    /// `INTERNAL` when `params` does not match the template's parameters.
    pub fn segments<'a>(&self, params: &[&'a str]) -> Result<Vec<&'a str>> {
        let mut given = params.iter();
        let mut out = Vec::new();
        for seg in self.path.trim_start_matches('/').split('/') {
            if seg.starts_with('{') && seg.ends_with('}') {
                out.push(*given.next().ok_or_else(|| {
                    Error::internal(format!("{} {} needs {seg}", self.method, self.path))
                })?);
            } else {
                out.push(seg);
            }
        }
        if given.next().is_some() {
            return Err(Error::internal(format!(
                "{} {} takes fewer parameters",
                self.method, self.path
            )));
        }
        Ok(out)
    }
}

/// Every route the client calls.
pub mod endpoints {
    use super::Endpoint;

    /// `GET /health`.
    pub const HEALTH: Endpoint = Endpoint::new("GET", "/health");
    /// `POST /build-events/`.
    pub const TRACK_BUILD: Endpoint = Endpoint::new("POST", "/build-events/");
    /// `POST /deployment-events/`.
    pub const TRACK_DEPLOYMENT: Endpoint = Endpoint::new("POST", "/deployment-events/");
    /// `POST /check`.
    pub const CHECK: Endpoint = Endpoint::new("POST", "/check");
    /// `GET /queue`.
    pub const QUEUE: Endpoint = Endpoint::new("GET", "/queue");
    /// `GET /rules/`.
    pub const RULES: Endpoint = Endpoint::new("GET", "/rules/");
    /// `POST /rules/`.
    pub const ADD_RULE: Endpoint = Endpoint::new("POST", "/rules/");
    /// `GET /rules/{name}`.
    pub const RULE: Endpoint = Endpoint::new("GET", "/rules/{name}");
    /// `PUT /rules/{name}`.
    pub const UPDATE_RULE: Endpoint = Endpoint::new("PUT", "/rules/{name}");
    /// `DELETE /rules/{name}`.
    pub const DELETE_RULE: Endpoint = Endpoint::new("DELETE", "/rules/{name}");
    /// `POST /rules/{name}/status`.
    pub const SET_RULE_STATUS: Endpoint = Endpoint::new("POST", "/rules/{name}/status");
    /// `GET /rule-history/`.
    pub const RULE_HISTORY: Endpoint = Endpoint::new("GET", "/rule-history/");
    /// `POST /rules/apply`.
    pub const APPLY_POLICY: Endpoint = Endpoint::new("POST", "/rules/apply");
    /// `POST /rules/lint`.
    pub const LINT_POLICY: Endpoint = Endpoint::new("POST", "/rules/lint");
    /// `POST /approvals/`.
    pub const APPROVE: Endpoint = Endpoint::new("POST", "/approvals/");
    /// `GET /approvals/`.
    pub const APPROVALS: Endpoint = Endpoint::new("GET", "/approvals/");
    /// `POST /approvals/{id}/revoke`.
    pub const REVOKE_APPROVAL: Endpoint = Endpoint::new("POST", "/approvals/{id}/revoke");
    /// `GET /products/`.
    pub const PRODUCTS: Endpoint = Endpoint::new("GET", "/products/");
    /// `GET /environments/`.
    pub const ENVIRONMENTS: Endpoint = Endpoint::new("GET", "/environments/");
    /// `GET /products/{product}`.
    pub const PRODUCT: Endpoint = Endpoint::new("GET", "/products/{product}");
    /// `PATCH /products/{product}`.
    pub const UPDATE_PRODUCT: Endpoint = Endpoint::new("PATCH", "/products/{product}");
    /// `GET /environments/{name}`.
    pub const ENVIRONMENT: Endpoint = Endpoint::new("GET", "/environments/{name}");
    /// `PATCH /environments/{name}`.
    pub const UPDATE_ENVIRONMENT: Endpoint = Endpoint::new("PATCH", "/environments/{name}");
    /// `PUT /environments/{name}`.
    pub const SET_ENVIRONMENT_TYPE: Endpoint = Endpoint::new("PUT", "/environments/{name}");
    /// `GET /versions/`.
    pub const VERSIONS: Endpoint = Endpoint::new("GET", "/versions/");
    /// `GET /versions/{id}`.
    pub const VERSION_BY_ID: Endpoint = Endpoint::new("GET", "/versions/{id}");
    /// `GET /products/{product}/versions/{version}`.
    pub const VERSION: Endpoint = Endpoint::new("GET", "/products/{product}/versions/{version}");
    /// `GET /deployments/`.
    pub const HISTORY: Endpoint = Endpoint::new("GET", "/deployments/");
    /// `GET /deployments/{id}`.
    pub const DEPLOYMENT: Endpoint = Endpoint::new("GET", "/deployments/{id}");
    /// `GET /state`.
    pub const STATE: Endpoint = Endpoint::new("GET", "/state");
    /// `GET /drift`.
    pub const DRIFT: Endpoint = Endpoint::new("GET", "/drift");
    /// `GET /deployment-rules/violations`.
    pub const VIOLATIONS: Endpoint = Endpoint::new("GET", "/deployment-rules/violations");
    /// `GET /metrics/dora`.
    pub const DORA: Endpoint = Endpoint::new("GET", "/metrics/dora");
    /// `GET /skew`.
    pub const SKEW: Endpoint = Endpoint::new("GET", "/skew");
    /// `GET /stale`.
    pub const STALE: Endpoint = Endpoint::new("GET", "/stale");
    /// `POST /import` (a JSON Lines body).
    pub const IMPORT: Endpoint = Endpoint::new("POST", "/import");
    /// `GET /export` (a JSON Lines answer).
    pub const EXPORT: Endpoint = Endpoint::new("GET", "/export");
    /// `POST /deployment-requests/`.
    pub const CREATE_REQUEST: Endpoint = Endpoint::new("POST", "/deployment-requests/");
    /// `GET /deployment-requests/`.
    pub const REQUESTS: Endpoint = Endpoint::new("GET", "/deployment-requests/");
    /// `GET /deployment-requests/{id}`.
    pub const REQUEST: Endpoint = Endpoint::new("GET", "/deployment-requests/{id}");
    /// `PATCH /deployment-requests/{id}`.
    pub const UPDATE_REQUEST: Endpoint = Endpoint::new("PATCH", "/deployment-requests/{id}");
    /// `POST /deployment-requests/{id}/submit`.
    pub const SUBMIT_REQUEST: Endpoint = Endpoint::new("POST", "/deployment-requests/{id}/submit");
    /// `POST /deployment-requests/{id}/deactivate`.
    pub const DEACTIVATE_REQUEST: Endpoint =
        Endpoint::new("POST", "/deployment-requests/{id}/deactivate");
    /// `POST /deployment-requests/{id}/cancel`.
    pub const CANCEL_REQUEST: Endpoint = Endpoint::new("POST", "/deployment-requests/{id}/cancel");
    /// `POST /deployment-requests/{id}/complete`.
    pub const COMPLETE_REQUEST: Endpoint =
        Endpoint::new("POST", "/deployment-requests/{id}/complete");
    /// `POST /deployment-requests/{id}/approve`.
    pub const APPROVE_REQUEST: Endpoint =
        Endpoint::new("POST", "/deployment-requests/{id}/approve");
    /// `POST /deployment-requests/{id}/reject`.
    pub const REJECT_REQUEST: Endpoint = Endpoint::new("POST", "/deployment-requests/{id}/reject");
    /// `POST /deployment-requests/{id}/steps/done`.
    pub const REQUEST_STEP_DONE: Endpoint =
        Endpoint::new("POST", "/deployment-requests/{id}/steps/done");
    /// `GET /deployment-requests/{id}/progress`.
    pub const REQUEST_PROGRESS: Endpoint =
        Endpoint::new("GET", "/deployment-requests/{id}/progress");
    /// `GET /deployment-request-templates/`.
    pub const REQUEST_TEMPLATES: Endpoint = Endpoint::new("GET", "/deployment-request-templates/");
    /// `POST /deployment-request-templates/`.
    pub const PUT_REQUEST_TEMPLATES: Endpoint =
        Endpoint::new("POST", "/deployment-request-templates/");
    /// `DELETE /deployment-request-templates/{name}`.
    pub const DELETE_REQUEST_TEMPLATE: Endpoint =
        Endpoint::new("DELETE", "/deployment-request-templates/{name}");

    /// The route of a Deployment Request action.
    pub fn request_action(action: &crate::request::RequestAction) -> Endpoint {
        use crate::request::RequestAction as A;
        match action {
            A::Submit => SUBMIT_REQUEST,
            A::Deactivate => DEACTIVATE_REQUEST,
            A::Cancel => CANCEL_REQUEST,
            A::Complete => COMPLETE_REQUEST,
            A::Approve { .. } => APPROVE_REQUEST,
            A::Reject { .. } => REJECT_REQUEST,
            A::StepDone { .. } => REQUEST_STEP_DONE,
        }
    }

    /// All of them.
    pub const ALL: &[Endpoint] = &[
        HEALTH,
        TRACK_BUILD,
        TRACK_DEPLOYMENT,
        CHECK,
        RULES,
        ADD_RULE,
        RULE,
        UPDATE_RULE,
        DELETE_RULE,
        SET_RULE_STATUS,
        RULE_HISTORY,
        APPLY_POLICY,
        LINT_POLICY,
        APPROVE,
        APPROVALS,
        REVOKE_APPROVAL,
        PRODUCTS,
        ENVIRONMENTS,
        PRODUCT,
        UPDATE_PRODUCT,
        ENVIRONMENT,
        UPDATE_ENVIRONMENT,
        SET_ENVIRONMENT_TYPE,
        VERSIONS,
        VERSION_BY_ID,
        VERSION,
        HISTORY,
        DEPLOYMENT,
        STATE,
        DRIFT,
        VIOLATIONS,
        DORA,
        SKEW,
        STALE,
        IMPORT,
        EXPORT,
        CREATE_REQUEST,
        REQUESTS,
        REQUEST,
        UPDATE_REQUEST,
        SUBMIT_REQUEST,
        DEACTIVATE_REQUEST,
        CANCEL_REQUEST,
        COMPLETE_REQUEST,
        APPROVE_REQUEST,
        REJECT_REQUEST,
        REQUEST_STEP_DONE,
        REQUEST_PROGRESS,
        REQUEST_TEMPLATES,
        PUT_REQUEST_TEMPLATES,
        DELETE_REQUEST_TEMPLATE,
    ];
}

/// The body of `PUT /environments/{name}`: the type to set, or `null` to infer it from the
/// name again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EnvironmentTypeRequest {
    /// `dev`, `test`, `staging`, `production`, `other`, or `null`.
    #[serde(rename = "type")]
    pub env_type: Option<crate::model::EnvironmentType>,
}

impl EnvironmentTypeRequest {
    /// A request to set `env_type` (`None`: infer from the name).
    pub fn new(env_type: Option<crate::model::EnvironmentType>) -> Self {
        EnvironmentTypeRequest { env_type }
    }
}

/// The body of `POST /rules/apply`. Unknown keys are refused (a misspelt `mode` must not
/// fall back to replacing every rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ApplyPolicyRequest {
    /// The policy: its text (TOML or JSON), or a JSON object with `rules`.
    pub policy: Value,
    /// The text's format: `toml` or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `replace` (the default: the policy becomes the whole rule set) or `merge` (its rules
    /// are added or updated by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Who applies it: the API key's principal, always; if given, it must be that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// `true`: a policy without a `rules` key means "no rules" (in replace mode, every stored
    /// rule is deleted). Otherwise such a policy is refused in replace mode when rules are
    /// stored; `rules = []` in the policy says the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty: Option<bool>,
}

/// `Some(actor)` unless it is blank (the server then records the key's principal).
fn given(actor: &str) -> Option<String> {
    let a = actor.trim();
    (!a.is_empty()).then(|| a.to_string())
}

impl ApplyPolicyRequest {
    /// A request to apply `policy` in `mode` (`actor` blank: left out).
    pub fn new(policy: Value, format: Option<PolicyFormat>, mode: ApplyMode, actor: &str) -> Self {
        ApplyPolicyRequest {
            policy,
            format: format.map(|f| f.as_str().to_string()),
            mode: Some(mode.as_str().to_string()),
            actor: given(actor),
            allow_empty: None,
        }
    }
}

/// The body of `POST /rules/lint`. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LintPolicyRequest {
    /// The policy to lint: its text (TOML or JSON), or a JSON object with `rules`. Absent:
    /// the policy in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// The text's format: `toml` or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl LintPolicyRequest {
    /// A request to lint `policy` (`None`: the policy in force).
    pub fn new(policy: Option<Value>, format: Option<PolicyFormat>) -> Self {
        LintPolicyRequest {
            policy,
            format: format.map(|f| f.as_str().to_string()),
        }
    }
}

/// The body of `POST /rules/{name}/status`. Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleStatusRequest {
    /// The new status: `enabled`, `report_only` or `disabled`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::policy::RuleStatus))]
    pub status: String,
    /// Why (recorded).
    pub reason: String,
    /// Who changes it: the API key's principal, always; if given, it must be that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl RuleStatusRequest {
    /// A request to set `status` (`actor` blank: left out).
    pub fn new(status: RuleStatus, reason: &str, actor: &str) -> Self {
        RuleStatusRequest {
            status: status.as_str().to_string(),
            reason: reason.to_string(),
            actor: given(actor),
        }
    }
}

/// The body of a Deployment Request action (`POST /deployment-requests/{id}/submit`,
/// `.../approve`, `.../reject`, `.../steps/done`, ...): the route names the action. Unknown
/// keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestActionBody {
    /// The slot's approval type (`approve`, `reject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_type: Option<String>,
    /// The step's text (`steps/done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// A comment (required to reject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who acts: the API key's principal, always; if given, it must be that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl RequestActionBody {
    /// The body of `action`.
    pub fn of(action: &crate::request::RequestActionRequest) -> RequestActionBody {
        use crate::request::RequestAction as A;
        let (approval_type, step) = match &action.action {
            A::Approve { approval_type } | A::Reject { approval_type } => {
                (Some(approval_type.clone()), None)
            }
            A::StepDone { step } => (None, Some(step.clone())),
            A::Submit | A::Deactivate | A::Cancel | A::Complete => (None, None),
        };
        RequestActionBody {
            approval_type,
            step,
            comment: action.comment.clone(),
            actor: given(&action.actor),
        }
    }

    /// The action named `name` (`submit`, `approve`, ...) with this body.
    ///
    /// # Errors
    /// `INVALID_INPUT` when a field the action needs is missing, or one it does not read is
    /// given.
    pub fn into_action(self, name: &str) -> Result<crate::request::RequestActionRequest> {
        use crate::request::RequestAction as A;
        let need = |v: Option<String>, field: &str| {
            v.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| Error::invalid(field, format!("is required to {name}")))
        };
        let unused = |v: &Option<String>, field: &str| match v {
            Some(_) => Err(Error::invalid(field, format!("is not read by {name}"))),
            None => Ok(()),
        };
        let action = match name {
            "approve" | "reject" => {
                unused(&self.step, "step")?;
                let approval_type = need(self.approval_type, "approval_type")?;
                if name == "approve" {
                    A::Approve { approval_type }
                } else {
                    A::Reject { approval_type }
                }
            }
            "step_done" => {
                unused(&self.approval_type, "approval_type")?;
                A::StepDone {
                    step: need(self.step, "step")?,
                }
            }
            other => {
                unused(&self.approval_type, "approval_type")?;
                unused(&self.step, "step")?;
                match other {
                    "submit" => A::Submit,
                    "deactivate" => A::Deactivate,
                    "cancel" => A::Cancel,
                    "complete" => A::Complete,
                    _ => {
                        return Err(Error::invalid(
                            "action",
                            format!("unknown action `{other}`"),
                        ));
                    }
                }
            }
        };
        let mut out =
            crate::request::RequestActionRequest::new(action, self.actor.unwrap_or_default());
        out.comment = self.comment;
        Ok(out)
    }
}

/// The body of `POST /deployment-request-templates/`: templates to add or replace (all or
/// none). Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TemplatesBody {
    /// The templates.
    pub templates: Vec<crate::request::RequestTemplate>,
}

impl TemplatesBody {
    /// A body of `templates`.
    pub fn new(templates: Vec<crate::request::RequestTemplate>) -> TemplatesBody {
        TemplatesBody { templates }
    }
}

/// A release as the legacy `/releases/` routes show it (reference §7): a Deployment Request
/// without slots or steps, with the release statuses `draft`, `in_progress`, `completed`,
/// `cancelled`; its versions; `environment_names`; the request's metadata as
/// `extra_metadata`.
pub fn release(r: &crate::request::DeploymentRequest) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "status": r.status.release_status(),
        "request_status": r.status,
        "versions": r.versions,
        "environment_names": r.environments,
        "extra_metadata": r.context.metadata,
        "created_by": r.created_by,
        "created_at": instant::format(&r.created_at),
        "updated_at": instant::format(&r.updated_at),
        "deployed_at": r.deployed_at.as_ref().map(instant::format),
    })
}

/// The body of `POST /releases/` (legacy): a release is a Deployment Request without slots or
/// steps. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReleaseBody {
    /// Its name.
    pub name: String,
    /// What it is about.
    #[serde(default)]
    pub description: Option<String>,
    /// `draft` (the default) or `in_progress` (created and started at once).
    #[serde(default)]
    pub status: Option<String>,
    /// Its product versions.
    #[serde(default)]
    pub versions: Vec<crate::request::VersionRef>,
    /// The environments its progress grid covers.
    #[serde(default)]
    pub environment_names: Vec<String>,
    /// Free JSON.
    #[serde(default)]
    pub extra_metadata: Map<String, Value>,
}

/// The body of `PATCH /releases/{id}` (legacy). Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReleasePatch {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new description.
    #[serde(default)]
    pub description: Option<String>,
    /// A new status: `draft`, `in_progress`, `completed` or `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The body of `POST /releases/{id}/versions` and `POST /deployment-requests/{id}/versions`:
/// a version by id, or by product and version. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VersionPick {
    /// The version's id.
    #[serde(default)]
    pub version_id: Option<String>,
    /// The product (with `version`).
    #[serde(default)]
    pub product_name: Option<String>,
    /// The version (with `product_name`).
    #[serde(default)]
    pub version: Option<String>,
}

/// The query string of `GET /deployment-requests/`.
pub fn request_query_pairs(query: &crate::request::RequestQuery) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(s) = query.status {
        pairs.push(("status", s.as_str().to_string()));
    }
    if let Some(p) = &query.product {
        pairs.push(("product", p.clone()));
    }
    if let Some(e) = &query.environment {
        pairs.push(("environment", e.clone()));
    }
    if query.releases_only {
        pairs.push(("releases_only", "true".to_string()));
    }
    pairs
}

/// The body of `POST /approvals/{id}/revoke`. Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RevocationRequest {
    /// Why (recorded).
    pub reason: String,
    /// Who revokes it: the API key's principal, always; if given, it must be that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl RevocationRequest {
    /// A request to revoke with `reason` (`actor` blank: left out).
    pub fn new(reason: &str, actor: &str) -> Self {
        RevocationRequest {
            reason: reason.to_string(),
            actor: given(actor),
        }
    }
}

/// The body of `PATCH /api-keys/{id}`: the new role of the key's principal. Unknown keys are
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RoleChangeRequest {
    /// The role (every key of the principal acts with it).
    pub role: crate::access::Role,
}

impl RoleChangeRequest {
    /// A request to set `role`.
    pub fn new(role: crate::access::Role) -> Self {
        RoleChangeRequest { role }
    }
}

/// The answer to `POST /api-keys/`: the key's record and, once, the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewApiKeyBody {
    /// The key's record.
    #[serde(flatten)]
    pub record: crate::access::ApiKey,
    /// The whole key (`sk_vr_<id>_<secret>`): shown this once, never stored.
    pub key: String,
}

impl From<&crate::access::NewApiKey> for NewApiKeyBody {
    fn from(k: &crate::access::NewApiKey) -> NewApiKeyBody {
        NewApiKeyBody {
            record: k.key.clone(),
            key: k.secret.clone(),
        }
    }
}

pub mod json;

#[cfg(test)]
mod fields;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeploymentEvent, Versioner};

    #[test]
    fn history_filters_read_every_name_and_round_trip_through_the_query_string() {
        let q = history_query(&json!({
            "product_name": "api", "environment": " production ", "version": 42,
            "status": "SUCCESS", "since": "2026-11-01T00:00:00Z",
            "until": "2026-12-01T01:00:00+01:00", "limit": 10,
        }))
        .unwrap();
        assert_eq!(q.product.as_deref(), Some("api"));
        assert_eq!(q.environment.as_deref(), Some("production"));
        assert_eq!(q.version.as_deref(), Some("42"));
        assert_eq!(q.status, Some(Status::Completed));
        assert_eq!(
            q.until.map(|t| t.to_rfc3339()),
            Some("2026-12-01T00:00:00+00:00".into())
        );
        assert_eq!(q.limit, Some(10));
        let pairs: Map<String, Value> = history_query_pairs(&q)
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        assert_eq!(history_query(&Value::Object(pairs)).unwrap(), q);

        assert_eq!(history_query(&Value::Null).unwrap(), HistoryQuery::new());
        let blank = history_query(&json!({"product": " ", "status": null, "limit": ""}));
        assert_eq!(blank.unwrap(), HistoryQuery::new());
        let same = history_query(&json!({"product": "api", "product_name": "api"})).unwrap();
        assert_eq!(same.product.as_deref(), Some("api"));
    }

    #[test]
    fn history_filter_errors_name_the_filter() {
        for (filter, field) in [
            (json!({"colour": "red"}), "colour"),
            (json!({"status": "sleeping"}), "status"),
            (json!({"since": "yesterday"}), "since"),
            (json!({"until": 5}), "until"),
            (json!({"limit": "many"}), "limit"),
            (json!({"limit": -1}), "limit"),
            (json!({"limit": 1.5}), "limit"),
            (json!({"product": ["api"]}), "product"),
            (
                json!({"environment": "a", "environment_name": "b"}),
                "environment_name",
            ),
            (json!([1]), "filter"),
        ] {
            let err = history_query(&filter).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidInput, "{filter}");
            assert_eq!(err.field(), Some(field), "{filter}: {err}");
        }
    }

    #[test]
    fn errors_round_trip_through_the_wire() {
        let vr = Versioner::open_in_memory().unwrap();
        vr.apply_policy_text(
            "[[rules]]\nname='Flow'\ntype='flow'\nenvironments=['prod']\nprerequisites=['staging']\n",
            crate::policy::PolicyFormat::Toml,
            crate::policy::ApplyMode::Replace,
            "t",
        )
        .unwrap();
        let err = vr
            .track_deployment(&DeploymentEvent::new("api", "1", "prod", "started"))
            .unwrap_err();
        let (status, body) = error_response(&err);
        assert_eq!(status, 428);
        assert_eq!(body["detail"]["code"], "FLOW_VIOLATION");
        assert_eq!(body["detail"]["details"]["rule_name"], "Flow");
        let back = error_from_response(status, &body);
        assert_eq!(back.code(), ErrorCode::FlowViolation);
        assert_eq!(back.verdict(), err.verdict());

        let e = Error::invalid("product_name", "is required");
        let (status, body) = error_response(&e);
        assert_eq!(status, 422);
        assert_eq!(body["detail"][0]["loc"][1], "product_name");
        let back = error_from_response(status, &body);
        assert_eq!(back.code(), ErrorCode::InvalidInput);
        assert_eq!(back.field(), Some("product_name"));

        let e = Error::VersionConflict {
            product: "api".into(),
            version: "1.2.3".into(),
            recorded: "abc1".into(),
            given: "def1".into(),
        };
        let (status, body) = error_response(&e);
        assert_eq!(
            (status, body["detail"].as_str()),
            (409, Some("Version 1.2.3 already exists with different SHA"))
        );
        assert_eq!(
            error_from_response(status, &body).code(),
            ErrorCode::VersionConflict
        );
    }
}
