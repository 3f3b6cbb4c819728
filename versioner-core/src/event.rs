//! The events a deploy tool sends, and their validation.
//!
//! [`BuildEvent`] and [`DeploymentEvent`] are the request bodies of `POST /build-events/` and
//! `POST /deployment-events/`, field for field (reference §4.2–4.3). Every field is a string as
//! sent (numbers are accepted where clients send them, e.g. `build_number: 42`); validation
//! parses them once, at the edge, and names the field of any failure. Blank optional fields
//! count as absent, because CI templates routinely send empty strings.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{BuildFields, DeploymentFields};
use crate::status::Status;

/// The largest `extra_metadata` accepted, as serialized JSON (100 KB).
pub const MAX_METADATA_BYTES: usize = 102_400;

/// A build event (`POST /build-events/`).
///
/// # Examples
/// ```
/// use versioner_core::{BuildEvent, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// let mut event = BuildEvent::new("api", "1.2.0", "built");   // any status alias
/// event.scm_sha = Some("4f2a9c1e".into());
/// event.built_by = Some("ci-bot".into());
/// vr.track_build(&event)?;
/// assert_eq!(vr.versions_by_sha("4f2a")?.len(), 1);           // a prefix finds it
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct BuildEvent {
    /// The product (required; created on first sight).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub product_name: Option<String>,
    /// The version (required; created on first sight).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub version: Option<String>,
    /// The status, any alias (required).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub status: Option<String>,
    /// Who built it.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub built_by: Option<String>,
    /// Their e-mail.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub built_by_email: Option<String>,
    /// Their display name.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub built_by_name: Option<String>,
    /// The commit (hex, full or abbreviated).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_sha: Option<String>,
    /// The branch.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_branch: Option<String>,
    /// The repository, e.g. `owner/repo`.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_repository: Option<String>,
    /// A link to the build.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub build_url: Option<String>,
    /// The CI build number.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub build_number: Option<String>,
    /// The CI system (`github`, `gitlab`, ...).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_system: Option<String>,
    /// The CI run id; repeating an event with the same run id and status is idempotent.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoke_id: Option<String>,
    /// When the commit was made (RFC 3339): where the version's lead time for changes starts
    /// (the CLI fills it from `git show -s --format=%cI <sha>` in CI).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_committed_at: Option<String>,
    /// When the build started (RFC 3339).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<String>,
    /// When the build finished (RFC 3339).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<String>,
    /// The error message of a failed build.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_message: Option<String>,
    /// The error code of a failed build.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_code: Option<String>,
    /// Free-form metadata: a JSON object of at most 100 KB.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_metadata: Option<Value>,
}

impl BuildEvent {
    /// A build event with the three required fields.
    pub fn new(
        product: impl Into<String>,
        version: impl Into<String>,
        status: impl Into<String>,
    ) -> BuildEvent {
        BuildEvent {
            product_name: Some(product.into()),
            version: Some(version.into()),
            status: Some(status.into()),
            ..BuildEvent::default()
        }
    }
}

/// A deployment event (`POST /deployment-events/`).
///
/// # Examples
/// ```
/// use versioner_core::{DeploymentEvent, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// let mut event = DeploymentEvent::new("api", "1.2.0", "production", "started");
/// event.deployed_by = Some("dana".into());          // every field of the API, all optional
/// event.deploy_url = Some("https://ci.example.com/runs/42".into());
/// let d = vr.track_deployment(&event)?;
/// assert_eq!(d.fields.deployed_by.as_deref(), Some("dana"));
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeploymentEvent {
    /// The product (required; created on first sight).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub product_name: Option<String>,
    /// The version (required; created on first sight).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub version: Option<String>,
    /// The environment (required; created on first sight).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub environment_name: Option<String>,
    /// The status, any alias (required). `started` runs the preflight.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub status: Option<String>,
    /// Who deploys.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub deployed_by: Option<String>,
    /// Their e-mail.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub deployed_by_email: Option<String>,
    /// Their display name.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub deployed_by_name: Option<String>,
    /// The commit (hex, full or abbreviated).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_sha: Option<String>,
    /// The repository.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_repository: Option<String>,
    /// The branch.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_branch: Option<String>,
    /// The CI build number.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub build_number: Option<String>,
    /// The CI system.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_system: Option<String>,
    /// The CI run id; repeating an event with the same run id and status is idempotent.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoke_id: Option<String>,
    /// A link to the deploy run.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub deploy_url: Option<String>,
    /// A link to the build (legacy clients send it).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub build_url: Option<String>,
    /// When the commit was made (RFC 3339): where the version's lead time for changes starts
    /// (the CLI fills it from `git show -s --format=%cI <sha>` in CI).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scm_committed_at: Option<String>,
    /// When the deployment finished (RFC 3339); used for terminal statuses.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<String>,
    /// Emergency bypass of the preflight; requires `skip_preflight_reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_preflight_checks: Option<bool>,
    /// Why the preflight is bypassed (recorded with the deployment).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub skip_preflight_reason: Option<String>,
    /// Free-form metadata: a JSON object of at most 100 KB.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_metadata: Option<Value>,
}

impl DeploymentEvent {
    /// A deployment event with the four required fields.
    pub fn new(
        product: impl Into<String>,
        version: impl Into<String>,
        environment: impl Into<String>,
        status: impl Into<String>,
    ) -> DeploymentEvent {
        DeploymentEvent {
            product_name: Some(product.into()),
            version: Some(version.into()),
            environment_name: Some(environment.into()),
            status: Some(status.into()),
            ..DeploymentEvent::default()
        }
    }
}

/// A would-be deployment, for a dry-run [`check`](crate::Versioner::check).
///
/// # Examples
/// ```
/// use versioner_core::{CheckRequest, Decision, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// let mut request = CheckRequest::new("api", "1.2.0", "production");
/// request.at = Some("2026-12-04T21:00:00Z".into());   // what-if at any instant
/// assert_eq!(vr.check(&request)?.decision(), Decision::Allowed);   // no rules yet
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CheckRequest {
    /// The product.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub product_name: Option<String>,
    /// The version.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub version: Option<String>,
    /// The target environment.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required))]
    #[serde(default, deserialize_with = "de_opt_string")]
    pub environment_name: Option<String>,
    /// Who would deploy (they never count as a release approver).
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub deployed_by: Option<String>,
    /// The instant to evaluate at (RFC 3339); now when absent.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<String>,
}

impl CheckRequest {
    /// A check of `version` of `product` going to `environment`, now.
    pub fn new(
        product: impl Into<String>,
        version: impl Into<String>,
        environment: impl Into<String>,
    ) -> CheckRequest {
        CheckRequest {
            product_name: Some(product.into()),
            version: Some(version.into()),
            environment_name: Some(environment.into()),
            ..CheckRequest::default()
        }
    }
}

/// Accepts a string, a whole number or a boolean (as its text), or null.
fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => number_text(&n).map(Some).map_err(serde::de::Error::custom),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string, found {}",
            json_kind(&other)
        ))),
    }
}

/// The text of a JSON number given for a text field, only when it is kept exactly as sent.
///
/// A whole number (`42`, `-7`) reads back as the digits the client wrote: JSON allows no
/// leading zeros or plus sign, and `serde_json` keeps every integer of 64 bits exactly. A
/// number with a fraction or an exponent does not: it is parsed into a binary float, so
/// `1.10` would become `1.1` (and collide with the version `"1.1"`) and `1.5e3` would become
/// `1500.0`. Keeping the raw text instead would take `serde_json`'s `arbitrary_precision`
/// feature, which is global to every crate of the build and breaks numbers inside
/// `#[serde(flatten)]` and `#[serde(untagged)]` types the wire module uses; so such a number
/// is refused, naming the field, and the client is told to send it as a string. (`-0` and
/// integers beyond 64 bits are floats to `serde_json`, so they are refused the same way.)
pub(crate) fn number_text(n: &serde_json::Number) -> std::result::Result<String, String> {
    if n.is_i64() || n.is_u64() {
        Ok(n.to_string())
    } else {
        Err(format!(
            "is the JSON number `{n}`; a number with a fraction or an exponent is not kept as \
             written (`1.10` would read as `1.1`): send it as a string, e.g. \"1.10\""
        ))
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A name-like field: required, trimmed, bounded, no control characters.
pub(crate) fn required(field: &str, value: Option<&str>, max: usize) -> Result<String> {
    match optional(field, value, max)? {
        Some(v) => Ok(v),
        None => Err(Error::invalid(field, "is required and must not be blank")),
    }
}

/// An optional text field: blank means absent; trimmed; bounded; no control characters.
pub(crate) fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(raw) = value else { return Ok(None) };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let len = v.chars().count();
    if len > max {
        return Err(Error::invalid(
            field,
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(Some(v.to_string()))
}

/// A commit SHA: hex, at most 40 characters (abbreviated SHAs of 4+ accepted), lower-cased.
pub(crate) fn sha(value: Option<&str>) -> Result<Option<String>> {
    let Some(v) = optional("scm_sha", value, 40)? else {
        return Ok(None);
    };
    if v.len() < 4 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::invalid(
            "scm_sha",
            format!("`{v}` is not a commit SHA; expected 4 to 40 hexadecimal characters"),
        ));
    }
    Ok(Some(v.to_ascii_lowercase()))
}

/// The last instant a store can keep (9999-12-31T23:59:59.999999Z): an upper bound that
/// includes everything recorded.
pub(crate) fn last_recordable() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// An RFC 3339 timestamp.
pub(crate) fn timestamp(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    let Some(v) = optional(field, value, 64)? else {
        return Ok(None);
    };
    let t = DateTime::parse_from_rfc3339(&v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::invalid(
                field,
                format!("`{v}` is not an RFC 3339 timestamp (e.g. 2026-11-21T09:30:00Z)"),
            )
        })?;
    // INVARIANT: every store keeps instants as years 0001–9999 UTC (SQLite as fixed-width
    // text, PostgreSQL as timestamptz); an offset can carry a valid local year outside it.
    if !(1..=9999).contains(&t.year()) {
        return Err(Error::invalid(
            field,
            format!("`{v}` is outside the years 0001–9999 (UTC) that can be recorded"),
        ));
    }
    Ok(Some(t))
}

/// `extra_metadata`: a JSON object of at most [`MAX_METADATA_BYTES`].
pub(crate) fn metadata(value: Option<&Value>) -> Result<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => {
            let size = serde_json::to_vec(map)
                .map(|b| b.len())
                .unwrap_or(usize::MAX);
            if size > MAX_METADATA_BYTES {
                return Err(Error::invalid(
                    "extra_metadata",
                    format!(
                        "is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES} bytes (100 KB)"
                    ),
                ));
            }
            Ok(map.clone())
        }
        Some(other) => Err(Error::invalid(
            "extra_metadata",
            format!("must be a JSON object, found {}", json_kind(other)),
        )),
    }
}

/// A validated build event.
#[derive(Debug, Clone)]
pub(crate) struct ValidBuild {
    pub product: String,
    pub version: String,
    pub status: Status,
    pub fields: BuildFields,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub committed_at: Option<DateTime<Utc>>,
    pub metadata: Map<String, Value>,
}

impl BuildEvent {
    /// Validates every field; the first failure names its field.
    pub(crate) fn validate(&self) -> Result<ValidBuild> {
        let product = required("product_name", self.product_name.as_deref(), 255)?;
        let version = required("version", self.version.as_deref(), 100)?;
        let status = required("status", self.status.as_deref(), 50)?.parse::<Status>()?;
        let fields = BuildFields {
            built_by: optional("built_by", self.built_by.as_deref(), 255)?,
            built_by_email: optional("built_by_email", self.built_by_email.as_deref(), 255)?,
            built_by_name: optional("built_by_name", self.built_by_name.as_deref(), 255)?,
            scm_sha: sha(self.scm_sha.as_deref())?,
            scm_branch: optional("scm_branch", self.scm_branch.as_deref(), 100)?,
            scm_repository: optional("scm_repository", self.scm_repository.as_deref(), 500)?,
            build_url: optional("build_url", self.build_url.as_deref(), 500)?,
            build_number: optional("build_number", self.build_number.as_deref(), 100)?,
            source_system: optional("source_system", self.source_system.as_deref(), 50)?,
            invoke_id: optional("invoke_id", self.invoke_id.as_deref(), 255)?,
            error_message: optional_text("error_message", self.error_message.as_deref(), 10_000)?,
            error_code: optional("error_code", self.error_code.as_deref(), 100)?,
            recorded_by: None,
        };
        Ok(ValidBuild {
            product,
            version,
            status,
            fields,
            started_at: timestamp("started_at", self.started_at.as_deref())?,
            completed_at: timestamp("completed_at", self.completed_at.as_deref())?,
            committed_at: timestamp("scm_committed_at", self.scm_committed_at.as_deref())?,
            metadata: metadata(self.extra_metadata.as_ref())?,
        })
    }
}

/// Free text (newlines allowed), bounded.
fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let len = v.chars().count();
    if len > max {
        return Err(Error::invalid(
            field,
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    Ok(Some(v.to_string()))
}

/// A validated deployment event.
#[derive(Debug, Clone)]
pub(crate) struct ValidDeployment {
    pub product: String,
    pub version: String,
    pub environment: String,
    pub status: Status,
    pub fields: DeploymentFields,
    pub completed_at: Option<DateTime<Utc>>,
    pub committed_at: Option<DateTime<Utc>>,
    pub metadata: Map<String, Value>,
    /// The reason of an emergency bypass, when one is asked for.
    pub bypass: Option<String>,
}

impl DeploymentEvent {
    /// Validates every field; the first failure names its field.
    pub(crate) fn validate(&self) -> Result<ValidDeployment> {
        let product = required("product_name", self.product_name.as_deref(), 255)?;
        let version = required("version", self.version.as_deref(), 100)?;
        let environment = required("environment_name", self.environment_name.as_deref(), 100)?;
        let status = required("status", self.status.as_deref(), 50)?.parse::<Status>()?;
        let fields = DeploymentFields {
            deployed_by: optional("deployed_by", self.deployed_by.as_deref(), 255)?,
            deployed_by_email: optional(
                "deployed_by_email",
                self.deployed_by_email.as_deref(),
                255,
            )?,
            deployed_by_name: optional("deployed_by_name", self.deployed_by_name.as_deref(), 255)?,
            scm_sha: sha(self.scm_sha.as_deref())?,
            scm_repository: optional("scm_repository", self.scm_repository.as_deref(), 500)?,
            scm_branch: optional("scm_branch", self.scm_branch.as_deref(), 100)?,
            build_number: optional("build_number", self.build_number.as_deref(), 100)?,
            source_system: optional("source_system", self.source_system.as_deref(), 50)?,
            invoke_id: optional("invoke_id", self.invoke_id.as_deref(), 255)?,
            deploy_url: optional("deploy_url", self.deploy_url.as_deref(), 500)?,
            build_url: optional("build_url", self.build_url.as_deref(), 500)?,
            recorded_by: None,
        };
        let reason = optional_text(
            "skip_preflight_reason",
            self.skip_preflight_reason.as_deref(),
            1000,
        )?;
        let bypass = match (self.skip_preflight_checks.unwrap_or(false), reason) {
            (true, Some(reason)) => Some(reason),
            (true, None) => {
                return Err(Error::invalid(
                    "skip_preflight_reason",
                    "an emergency bypass of the preflight requires a reason; say why in \
                     `skip_preflight_reason`",
                ));
            }
            (false, _) => None,
        };
        Ok(ValidDeployment {
            product,
            version,
            environment,
            status,
            fields,
            completed_at: timestamp("completed_at", self.completed_at.as_deref())?,
            committed_at: timestamp("scm_committed_at", self.scm_committed_at.as_deref())?,
            metadata: metadata(self.extra_metadata.as_ref())?,
            bypass,
        })
    }
}

/// A validated check request.
#[derive(Debug, Clone)]
pub(crate) struct ValidCheck {
    pub product: String,
    pub version: String,
    pub environment: String,
    pub deployed_by: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

impl CheckRequest {
    pub(crate) fn validate(&self) -> Result<ValidCheck> {
        Ok(ValidCheck {
            product: required("product_name", self.product_name.as_deref(), 255)?,
            version: required("version", self.version.as_deref(), 100)?,
            environment: required("environment_name", self.environment_name.as_deref(), 100)?,
            deployed_by: optional("deployed_by", self.deployed_by.as_deref(), 255)?,
            at: timestamp("at", self.at.as_deref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn dep() -> DeploymentEvent {
        DeploymentEvent::new("api", "1.0.0", "prod", "started")
    }

    #[track_caller]
    fn assert_invalid(r: Result<ValidDeployment>, field: &str, fragment: &str) {
        let e = r.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(e.to_string().contains(fragment), "{e}");
    }

    #[test]
    fn required_fields_must_be_present_and_not_blank() {
        let mut e = dep();
        e.product_name = None;
        assert_invalid(e.validate(), "product_name", "required");
        let mut e = dep();
        e.version = Some("   ".into());
        assert_invalid(e.validate(), "version", "blank");
        let mut e = dep();
        e.environment_name = Some(String::new());
        assert_invalid(e.validate(), "environment_name", "required");
        let mut e = dep();
        e.status = None;
        assert_invalid(e.validate(), "status", "required");
    }

    type Setter = Box<dyn Fn(&mut DeploymentEvent, String)>;

    #[test]
    fn length_limits_name_the_field() {
        let cases: Vec<(&str, Setter, usize)> = vec![
            (
                "product_name",
                Box::new(|e, v| e.product_name = Some(v)),
                255,
            ),
            ("version", Box::new(|e, v| e.version = Some(v)), 100),
            (
                "environment_name",
                Box::new(|e, v| e.environment_name = Some(v)),
                100,
            ),
            (
                "source_system",
                Box::new(|e, v| e.source_system = Some(v)),
                50,
            ),
            (
                "build_number",
                Box::new(|e, v| e.build_number = Some(v)),
                100,
            ),
            (
                "scm_repository",
                Box::new(|e, v| e.scm_repository = Some(v)),
                500,
            ),
            ("scm_branch", Box::new(|e, v| e.scm_branch = Some(v)), 100),
            ("deploy_url", Box::new(|e, v| e.deploy_url = Some(v)), 500),
            ("build_url", Box::new(|e, v| e.build_url = Some(v)), 500),
            ("invoke_id", Box::new(|e, v| e.invoke_id = Some(v)), 255),
            ("deployed_by", Box::new(|e, v| e.deployed_by = Some(v)), 255),
            (
                "deployed_by_email",
                Box::new(|e, v| e.deployed_by_email = Some(v)),
                255,
            ),
            (
                "deployed_by_name",
                Box::new(|e, v| e.deployed_by_name = Some(v)),
                255,
            ),
        ];
        for (field, set, max) in cases {
            let mut ok = dep();
            set(&mut ok, "x".repeat(max));
            assert!(ok.validate().is_ok(), "{field} at the limit");
            let mut e = dep();
            set(&mut e, "x".repeat(max + 1));
            assert_invalid(e.validate(), field, &format!("the limit is {max}"));
        }
        let mut e = dep();
        e.status = Some("x".repeat(51));
        assert_invalid(e.validate(), "status", "limit is 50");
    }

    #[test]
    fn build_length_limits_name_the_field() {
        let mut b = BuildEvent::new("api", "1", "completed");
        b.built_by = Some("x".repeat(256));
        assert_eq!(b.validate().unwrap_err().field(), Some("built_by"));
        let mut b = BuildEvent::new("api", "1", "completed");
        b.built_by_email = Some("x".repeat(256));
        assert_eq!(b.validate().unwrap_err().field(), Some("built_by_email"));
        let mut b = BuildEvent::new("api", "1", "completed");
        b.built_by_name = Some("x".repeat(256));
        assert_eq!(b.validate().unwrap_err().field(), Some("built_by_name"));
        let mut b = BuildEvent::new("api", "1", "completed");
        b.started_at = Some("yesterday".into());
        let e = b.validate().unwrap_err();
        assert_eq!(e.field(), Some("started_at"));
        assert!(e.to_string().contains("RFC 3339"));
    }

    #[test]
    fn sha_must_be_hex_and_is_lowercased() {
        let mut e = dep();
        e.scm_sha = Some("ABCDEF12".into());
        assert_eq!(
            e.validate().unwrap().fields.scm_sha.as_deref(),
            Some("abcdef12")
        );
        e.scm_sha = Some("HEAD".into());
        assert_invalid(e.validate(), "scm_sha", "not a commit SHA");
        e.scm_sha = Some("a".repeat(41));
        assert_invalid(e.validate(), "scm_sha", "limit is 40");
        e.scm_sha = Some("".into());
        assert_eq!(e.validate().unwrap().fields.scm_sha, None);
    }

    #[test]
    fn metadata_must_be_an_object_within_100kb() {
        let mut e = dep();
        e.extra_metadata = Some(json!([1, 2]));
        assert_invalid(
            e.validate(),
            "extra_metadata",
            "must be a JSON object, found an array",
        );
        e.extra_metadata = Some(json!("x"));
        assert_invalid(e.validate(), "extra_metadata", "found a string");
        e.extra_metadata = Some(json!({ "blob": "x".repeat(MAX_METADATA_BYTES) }));
        assert_invalid(e.validate(), "extra_metadata", "the limit is 102400 bytes");
        e.extra_metadata = Some(json!({ "ticket": "CHG-1" }));
        assert_eq!(e.validate().unwrap().metadata["ticket"], "CHG-1");
        e.extra_metadata = Some(Value::Null);
        assert!(e.validate().unwrap().metadata.is_empty());
    }

    #[test]
    fn timestamps_must_be_rfc3339() {
        let mut e = dep();
        e.completed_at = Some("2026-11-21 10:00".into());
        assert_invalid(e.validate(), "completed_at", "not an RFC 3339 timestamp");
        e.completed_at = Some("2026-11-21T10:00:00+02:00".into());
        assert_eq!(
            e.validate().unwrap().completed_at.unwrap().to_rfc3339(),
            "2026-11-21T08:00:00+00:00"
        );
    }

    #[test]
    fn bypass_requires_a_reason() {
        let mut e = dep();
        e.skip_preflight_checks = Some(true);
        assert_invalid(e.validate(), "skip_preflight_reason", "requires a reason");
        e.skip_preflight_reason = Some("hotfix for INC-42".into());
        assert_eq!(
            e.validate().unwrap().bypass.as_deref(),
            Some("hotfix for INC-42")
        );
    }

    #[test]
    fn control_characters_are_refused_and_blank_optionals_are_absent() {
        let mut e = dep();
        e.product_name = Some("api\nprod".into());
        assert_invalid(e.validate(), "product_name", "control characters");
        let mut e = dep();
        e.deployed_by = Some("  ".into());
        assert_eq!(e.validate().unwrap().fields.deployed_by, None);
    }

    #[test]
    fn numbers_are_accepted_as_strings_on_the_wire() {
        let e: DeploymentEvent = serde_json::from_value(json!({
            "product_name": "api", "version": 42, "environment_name": "prod",
            "status": "success", "build_number": 7
        }))
        .unwrap();
        let v = e.validate().unwrap();
        assert_eq!(v.version, "42");
        assert_eq!(v.fields.build_number.as_deref(), Some("7"));
        let bad: std::result::Result<DeploymentEvent, _> =
            serde_json::from_value(json!({ "product_name": ["a"] }));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("expected a string, found an array")
        );
    }
}
