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
//!  "status": "started", "deployed_at": "2026-11-21T09:30:00Z", "deployed_by": "dana",
//!  "completed_at": null, "deploy_url": null, "source_system": "github",
//!  "extra_metadata": {"preflight_status": {"status": "passed", "rules_evaluated": [
//!     {"rule_name": "QA sign-off", "rule_type": "version_approval", "status": "report_only",
//!      "evaluation_result": "failed", "code": "QUALITY_APPROVAL_REQUIRED",
//!      "error_message": "…"}]}}}
//! ```
//! A build ([`build`]) carries `id`, `version_id`, `product_id`, `product_name`, `version`,
//! `build_number`, `status`, `build_url`, `started_at`, `completed_at`, `created_at`.
//!
//! # Errors
//! Every error body has `detail` (as FastAPI clients expect) and our stable `code`:
//! ```json
//! {"detail": "Version 1.2.3 already exists with different SHA", "code": "VERSION_CONFLICT",
//!  "message": "version `1.2.3` of `api` is recorded with sha `abc…`, not `def…`; …"}
//! ```
//! Validation errors (422) list the field FastAPI-style:
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

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorCode, PolicyProblem, Result};
use crate::model::{Build, Deployment};
use crate::policy::{
    ApplyMode, OutcomeStatus, PolicyFormat, Preflight, RuleOutcome, RuleStatus, Verdict,
};
use crate::status::Status;
use crate::store::HistoryQuery;

fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, time)
}

/// The `preflight_status` object placed in a deployment's `extra_metadata`.
pub fn preflight_status(p: &Preflight) -> Value {
    let rules: Vec<Value> = p
        .verdict
        .outcomes()
        .iter()
        .map(|o| {
            json!({
                "rule_name": o.rule_name,
                "rule_type": o.rule_type.as_str(),
                "status": o.rule_status.as_str(),
                "evaluation_result": match o.status {
                    OutcomeStatus::Passed => "passed",
                    OutcomeStatus::Failed | OutcomeStatus::FailedReportOnly => "failed",
                    OutcomeStatus::NotApplicable => "not_applicable",
                },
                "code": o.code.map(|c| c.as_str()),
                "error_message": if o.failed() { Value::String(o.message.clone()) } else { Value::Null },
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("status".into(), json!(p.status));
    m.insert("rules_evaluated".into(), Value::Array(rules));
    if let Some(r) = &p.bypass_reason {
        m.insert("bypass_reason".into(), json!(r));
    }
    Value::Object(m)
}

/// The response body of a recorded deployment.
pub fn deployment(d: &Deployment) -> Value {
    let mut meta = d.extra_metadata.clone();
    if let Some(p) = &d.preflight {
        meta.insert("preflight_status".into(), preflight_status(p));
    }
    let f = &d.fields;
    json!({
        "id": d.id,
        "product_id": d.product_id,
        "version_id": d.version_id,
        "environment_id": d.environment_id,
        "product_name": d.product_name,
        "version": d.version,
        "environment_name": d.environment_name,
        "status": d.status.as_str(),
        "deployed_at": time(d.deployed_at),
        "started_at": opt_time(d.started_at),
        "completed_at": opt_time(d.completed_at),
        "updated_at": time(d.updated_at),
        "deployed_by": f.deployed_by,
        "deployed_by_email": f.deployed_by_email,
        "deployed_by_name": f.deployed_by_name,
        "scm_sha": f.scm_sha,
        "scm_repository": f.scm_repository,
        "scm_branch": f.scm_branch,
        "build_number": f.build_number,
        "source_system": f.source_system,
        "invoke_id": f.invoke_id,
        "deploy_url": f.deploy_url,
        "build_url": f.build_url,
        "extra_metadata": meta,
        "preflight": d.preflight,
    })
}

/// The response body of a recorded build.
pub fn build(b: &Build) -> Value {
    let f = &b.fields;
    json!({
        "id": b.id,
        "version_id": b.version_id,
        "product_id": b.product_id,
        "product_name": b.product_name,
        "version": b.version,
        "status": b.status.as_str(),
        "build_number": f.build_number,
        "build_url": f.build_url,
        "scm_sha": f.scm_sha,
        "scm_branch": f.scm_branch,
        "scm_repository": f.scm_repository,
        "source_system": f.source_system,
        "invoke_id": f.invoke_id,
        "built_by": f.built_by,
        "built_by_email": f.built_by_email,
        "built_by_name": f.built_by_name,
        "error_message": f.error_message,
        "error_code": f.error_code,
        "started_at": opt_time(b.started_at),
        "completed_at": opt_time(b.completed_at),
        "created_at": time(b.created_at),
        "updated_at": time(b.updated_at),
        "extra_metadata": b.extra_metadata,
    })
}

fn violation(o: &RuleOutcome) -> Value {
    json!({
        "rule_name": o.rule_name,
        "rule_type": o.rule_type.as_str(),
        "code": o.code.map(|c| c.as_str()),
        "message": o.message,
        "details": o.details,
        "retry_after": o.retry_after.map(time),
    })
}

/// The `detail` object of a preflight rejection.
pub fn blocked_detail(v: &Verdict) -> Value {
    let primary = v.primary();
    json!({
        "error": "deployment_blocked",
        "code": v.code().map(|c| c.as_str()),
        "message": v.summary(),
        "retry_after": v.retry_after().map(time),
        "details": primary.map_or_else(|| json!({}), |o| Value::Object(o.details.clone())),
        "violations": v.failures().map(violation).collect::<Vec<_>>(),
        "verdict": v,
    })
}

/// The body of a request refused before it could be read (malformed JSON, too large, wrong
/// content type): `{"detail": …, "code": "INVALID_INPUT", "message": …}`.
pub fn unreadable(detail: &str) -> Value {
    json!({ "detail": detail, "code": ErrorCode::InvalidInput.as_str(), "message": detail })
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
const HISTORY_FILTERS: &str = "product, environment, version, status, since, until or limit";

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
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let mut pairs = Vec::new();
    let texts = [
        ("product", query.product.clone()),
        ("environment", query.environment.clone()),
        ("version", query.version.clone()),
        ("status", query.status.map(|s| s.as_str().to_string())),
        ("since", query.since.map(stamp)),
        ("until", query.until.map(stamp)),
        ("limit", query.limit.map(|n| n.to_string())),
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
        Value::Number(n) => Ok(Some(n.to_string())),
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

/// The HTTP status and body for an error.
pub fn error_response(e: &Error) -> (u16, Value) {
    let code = e.code();
    let status = code.http_status();
    let detail = match e {
        Error::Blocked(v) => return (v.http_status().unwrap_or(status), json!({ "detail": blocked_detail(v) })),
        Error::InvalidInput { field, reason } => json!([{
            "loc": ["body", field], "msg": reason, "type": "value_error"
        }]),
        Error::InvalidPolicy { problems } => Value::Array(
            problems
                .iter()
                .map(|p| json!({ "loc": ["body", "rules", p.rule, p.field], "msg": p.reason, "type": "value_error" }))
                .collect(),
        ),
        Error::VersionConflict { version, .. } => {
            json!(format!("Version {version} already exists with different SHA"))
        }
        Error::NotFound { .. } => json!("Not found"),
        Error::Unauthorized { message } | Error::Forbidden { message } => json!(message),
        // 5xx bodies hide internals; the details go to the log.
        Error::Storage { .. } | Error::SchemaTooNew { .. } => json!("Service temporarily unavailable"),
        _ => json!("Internal server error"),
    };
    let message = match code {
        ErrorCode::Storage | ErrorCode::Internal | ErrorCode::Network => {
            detail.as_str().unwrap_or("error").to_string()
        }
        _ => e.to_string(),
    };
    let mut body = json!({ "detail": detail, "code": code.as_str(), "message": message });
    if let Some(m) = body.as_object_mut() {
        match e {
            Error::InvalidPolicy { problems } => {
                m.insert("problems".into(), json!(problems));
            }
            // The variant's own fields, so a client rebuilds the same variant.
            Error::VersionConflict {
                product,
                version,
                recorded,
                given,
            } => {
                m.insert(
                    "fields".into(),
                    json!({ "product": product, "version": version, "recorded": recorded, "given": given }),
                );
            }
            Error::NotFound { kind, name } => {
                m.insert("fields".into(), json!({ "kind": kind, "name": name }));
            }
            Error::SchemaTooNew { .. }
            | Error::InvalidInput { .. }
            | Error::Blocked(_)
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::Storage { .. }
            | Error::Remote { .. }
            | Error::Network { .. }
            | Error::Internal { .. } => {}
        }
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
/// the client: the same codes as in process, and a rejection carries the whole verdict.
pub fn error_from_response(status: u16, body: &Value) -> Error {
    let detail = body.get("detail");
    if let Some(d) =
        detail.filter(|d| d.get("error").and_then(Value::as_str) == Some("deployment_blocked"))
        && let Some(mut v) = d
            .get("verdict")
            .and_then(|v| serde_json::from_value::<Verdict>(v.clone()).ok())
    {
        v.refresh_derived();
        return Error::Blocked(Box::new(v));
    }
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| detail.and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .and_then(ErrorCode::parse)
        .unwrap_or(match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::VersionConflict,
            400 | 422 => ErrorCode::InvalidInput,
            503 => ErrorCode::Storage,
            _ => ErrorCode::Internal,
        });
    let fields = body.get("fields");
    let field = |name: &str| {
        fields
            .and_then(|f| f.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match code {
        ErrorCode::VersionConflict => {
            if let (Some(product), Some(version), Some(recorded), Some(given)) = (
                field("product"),
                field("version"),
                field("recorded"),
                field("given"),
            ) {
                return Error::VersionConflict {
                    product,
                    version,
                    recorded,
                    given,
                };
            }
            Error::Remote { code, message }
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
            if let Some(problems) = body
                .get("problems")
                .and_then(|p| serde_json::from_value::<Vec<PolicyProblem>>(p.clone()).ok())
            {
                return Error::InvalidPolicy { problems };
            }
            let first = detail.and_then(Value::as_array).and_then(|a| a.first());
            let field = first
                .and_then(|f| f.get("loc"))
                .and_then(Value::as_array)
                .and_then(|l| l.last())
                .and_then(Value::as_str)
                .unwrap_or("body")
                .to_string();
            let reason = first
                .and_then(|f| f.get("msg"))
                .and_then(Value::as_str)
                .map_or(message, str::to_string);
            Error::InvalidInput { field, reason }
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
    /// Who, recorded with the key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl ApplyPolicyRequest {
    /// A request to apply `policy` in `mode`.
    pub fn new(policy: Value, format: Option<PolicyFormat>, mode: ApplyMode, actor: &str) -> Self {
        ApplyPolicyRequest {
            policy,
            format: format.map(|f| f.as_str().to_string()),
            mode: Some(mode.as_str().to_string()),
            actor: Some(actor.to_string()),
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
    /// Who, recorded with the key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl RuleStatusRequest {
    /// A request to set `status`.
    pub fn new(status: RuleStatus, reason: &str, actor: &str) -> Self {
        RuleStatusRequest {
            status: status.as_str().to_string(),
            reason: reason.to_string(),
            actor: Some(actor.to_string()),
        }
    }
}

/// The body of `POST /approvals/{id}/revoke`. Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RevocationRequest {
    /// Why (recorded).
    pub reason: String,
    /// Who, recorded with the key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl RevocationRequest {
    /// A request to revoke with `reason`.
    pub fn new(reason: &str, actor: &str) -> Self {
        RevocationRequest {
            reason: reason.to_string(),
            actor: Some(actor.to_string()),
        }
    }
}

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
