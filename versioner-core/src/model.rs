//! The records Versioner keeps: products, environments, versions, builds, deployments.
//!
//! Records are plain data, returned by the tracking and query calls. Their serde form uses the
//! field names of the public Events API, so the server, the client and the bindings can pass
//! them through unchanged. Times are UTC.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::policy::Preflight;
use crate::status::Status;

/// A deployable thing (service, app, library, infrastructure stack). Created on first sight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Product {
    /// Public id (UUID).
    pub id: String,
    /// Unique name; it can be changed ([`Versioner::update_product`]), the id stays.
    ///
    /// [`Versioner::update_product`]: crate::Versioner::update_product
    pub name: String,
    /// What it is, for people (`None` until someone describes it).
    #[serde(default)]
    pub description: Option<String>,
    /// Free JSON for the catalog (owner, team, links), `{}` when none.
    #[serde(default)]
    pub extra_metadata: Map<String, Value>,
    /// When it was first seen.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) key: i64,
}

/// A change to a product's or an environment's catalog entry (the body of
/// `PATCH /products/{product}` and `PATCH /environments/{name}`): each field absent is left
/// unchanged. Versions are never changed: they are immutable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CatalogChange {
    /// A new name (a rename: the id, the history, versions, deployments and approvals follow;
    /// the old name no longer resolves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description; `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New metadata, replacing the old as a whole; `{}` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_metadata: Option<Map<String, Value>>,
}

impl CatalogChange {
    /// A change that renames to `name`.
    pub fn rename(name: impl Into<String>) -> CatalogChange {
        CatalogChange {
            name: Some(name.into()),
            ..CatalogChange::default()
        }
    }

    /// Also sets the description (`""` removes it).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> CatalogChange {
        self.description = Some(description.into());
        self
    }

    /// Also replaces the metadata (an empty map removes it).
    #[must_use]
    pub fn extra_metadata(mut self, metadata: Map<String, Value>) -> CatalogChange {
        self.extra_metadata = Some(metadata);
        self
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none() && self.extra_metadata.is_none()
    }
}

/// The kind of an environment, which orders environments from development to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Name fragments that identify each type, checked in this order; first match wins.
const TYPE_WORDS: &[(EnvironmentType, &[&str])] = &[
    (
        EnvironmentType::Staging,
        &[
            "staging",
            "stage",
            "stg",
            "uat",
            "preprod",
            "pre-prod",
            "pre_prod",
            "preproduction",
        ],
    ),
    (
        EnvironmentType::Production,
        &["production", "prod", "prd", "live"],
    ),
    (
        EnvironmentType::Test,
        &["test", "testing", "qa", "integration", "int", "sit"],
    ),
    (
        EnvironmentType::Dev,
        &["dev", "develop", "development", "local", "sandbox", "sbx"],
    ),
];

impl EnvironmentType {
    /// All types, from development to production, then other.
    pub const ALL: [EnvironmentType; 5] = [
        EnvironmentType::Dev,
        EnvironmentType::Test,
        EnvironmentType::Staging,
        EnvironmentType::Production,
        EnvironmentType::Other,
    ];

    /// Infers the type from an environment name.
    ///
    /// The name is split into words at any character that is not a letter or digit
    /// (`prod-eu-1` → `prod`, `eu`, `1`), and each word is compared, case-insensitively, with
    /// the known names of each type; staging words are checked first, so `preprod` is staging.
    /// Without a match the type is `Other`. Users can override the type of any environment.
    ///
    /// ```
    /// use versioner_core::EnvironmentType;
    /// assert_eq!(EnvironmentType::infer("prod-eu"), EnvironmentType::Production);
    /// assert_eq!(EnvironmentType::infer("Pre-Prod"), EnvironmentType::Staging);
    /// assert_eq!(EnvironmentType::infer("qa2"), EnvironmentType::Other);
    /// ```
    pub fn infer(name: &str) -> EnvironmentType {
        let lower = name.to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        for (ty, known) in TYPE_WORDS {
            // Whole name first (handles "pre-prod"), then each word.
            if known.contains(&lower.as_str()) || words.iter().any(|w| known.contains(w)) {
                return *ty;
            }
        }
        EnvironmentType::Other
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentType::Dev => "dev",
            EnvironmentType::Test => "test",
            EnvironmentType::Staging => "staging",
            EnvironmentType::Production => "production",
            EnvironmentType::Other => "other",
        }
    }
}

impl FromStr for EnvironmentType {
    type Err = Error;
    fn from_str(s: &str) -> Result<EnvironmentType, Error> {
        let t = s.trim().to_ascii_lowercase();
        EnvironmentType::ALL
            .into_iter()
            .find(|ty| ty.as_str() == t)
            .ok_or_else(|| {
                Error::invalid(
                    "type",
                    format!(
                        "unknown environment type `{}`; expected one of: dev, test, staging, production, other",
                        s.trim()
                    ),
                )
            })
    }
}

impl fmt::Display for EnvironmentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where things run. Created on first sight, with a type inferred from the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Environment {
    /// Public id (UUID).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The type, inferred or set by a user.
    #[serde(rename = "type")]
    pub env_type: EnvironmentType,
    /// Whether a user set the type (rather than inference).
    pub type_overridden: bool,
    /// What it is, for people (`None` until someone describes it).
    #[serde(default)]
    pub description: Option<String>,
    /// Free JSON for the catalog (region, owner, links), `{}` when none.
    #[serde(default)]
    pub extra_metadata: Map<String, Value>,
    /// When it was first seen.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) key: i64,
}

/// An immutable build output of a product: the (product, version) ↔ SHA pairing never changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Version {
    /// Public id (UUID).
    pub id: String,
    /// The product's public id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The version identifier (semver, build number, SHA, ...).
    pub version: String,
    /// The commit, once recorded; immutable afterwards.
    pub scm_sha: Option<String>,
    /// The branch it was built from, when known.
    pub scm_branch: Option<String>,
    /// The repository, when known.
    pub scm_repository: Option<String>,
    /// The CI build number, when known.
    pub build_number: Option<String>,
    /// A link to the build, when known.
    pub build_url: Option<String>,
    /// Who built it, when known.
    pub built_by: Option<String>,
    /// When it was first seen.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    /// When its commit was made (`scm_committed_at` of its first event that gave one): where
    /// its lead time for changes starts.
    #[serde(default, with = "crate::wire::instant::option")]
    pub scm_committed_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub(crate) key: i64,
    #[serde(skip)]
    pub(crate) product_key: i64,
}

/// One build of a version, with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Build {
    /// Public id (UUID).
    pub id: String,
    /// The version's public id.
    pub version_id: String,
    /// The product's public id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The version identifier.
    pub version: String,
    /// Current status.
    pub status: Status,
    /// Fields as sent.
    #[serde(flatten)]
    pub fields: BuildFields,
    /// When the build started (given, or when first recorded).
    #[serde(with = "crate::wire::instant::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished, once terminal.
    #[serde(with = "crate::wire::instant::option")]
    pub completed_at: Option<DateTime<Utc>>,
    /// When Versioner first recorded it.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    /// When Versioner last recorded an event of it.
    #[serde(with = "crate::wire::instant")]
    pub updated_at: DateTime<Utc>,
    /// Free-form metadata, merged from every event (later keys win).
    pub extra_metadata: Map<String, Value>,
    #[serde(skip)]
    pub(crate) key: i64,
    #[serde(skip)]
    pub(crate) version_key: i64,
}

/// The optional descriptive fields of a build event, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BuildFields {
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
    /// The error message of a failed build.
    pub error_message: Option<String>,
    /// The error code of a failed build.
    pub error_code: Option<String>,
    /// The principal that recorded it (the API key's, or the in-process actor), when known;
    /// `built_by` is who the event names (by default the same).
    pub recorded_by: Option<String>,
}

/// One deployment of a version to an environment, with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Deployment {
    /// Public id (UUID).
    pub id: String,
    /// The product's public id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The version's public id.
    pub version_id: String,
    /// The version identifier.
    pub version: String,
    /// The environment's public id.
    pub environment_id: String,
    /// The environment's name.
    pub environment_name: String,
    /// Current status.
    pub status: Status,
    /// Fields as sent.
    #[serde(flatten)]
    pub fields: DeploymentFields,
    /// When the deployment was first recorded (`pending` or `started`, or the terminal event).
    #[serde(with = "crate::wire::instant")]
    pub deployed_at: DateTime<Utc>,
    /// When it started running (the `started` event), if it did.
    #[serde(with = "crate::wire::instant::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished, once terminal (the event's `completed_at`, else when recorded).
    #[serde(with = "crate::wire::instant::option")]
    pub completed_at: Option<DateTime<Utc>>,
    /// When Versioner last recorded an event of it.
    #[serde(with = "crate::wire::instant")]
    pub updated_at: DateTime<Utc>,
    /// Free-form metadata, merged from every event (later keys win).
    pub extra_metadata: Map<String, Value>,
    /// What the preflight decided when the deployment started (none for deployments recorded
    /// without a `started` event).
    pub preflight: Option<Preflight>,
    #[serde(skip)]
    pub(crate) key: i64,
    #[serde(skip)]
    pub(crate) product_key: i64,
    #[serde(skip)]
    pub(crate) version_key: i64,
    #[serde(skip)]
    pub(crate) environment_key: i64,
}

impl Deployment {
    /// Whether the deployment is still open (`pending` or `started`).
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }
}

/// The optional descriptive fields of a deployment event, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeploymentFields {
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
    /// A link to the build (legacy clients send it for deployments).
    pub build_url: Option<String>,
    /// The principal that recorded it (the API key's, or the in-process actor), when known;
    /// `deployed_by` is who the event names (by default the same: a CI key may name the
    /// person it deploys for).
    pub recorded_by: Option<String>,
}

/// A page of results: `limit` items after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many items at most (1..=1000).
    pub limit: u32,
    /// How many to skip.
    pub offset: u32,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            limit: 50,
            offset: 0,
        }
    }
}

impl Page {
    /// The first `limit` items.
    pub fn first(limit: u32) -> Page {
        Page { limit, offset: 0 }
    }

    pub(crate) fn validated(self) -> crate::Result<Page> {
        if self.limit == 0 || self.limit > 1000 {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and 1000, got {}", self.limit),
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_types_are_inferred_from_documented_names() {
        use EnvironmentType::*;
        for (name, ty) in [
            ("dev", Dev),
            ("local", Dev),
            ("sandbox", Dev),
            ("test", Test),
            ("qa", Test),
            ("integration", Test),
            ("staging", Staging),
            ("uat", Staging),
            ("preprod", Staging),
            ("pre-prod", Staging),
            ("production", Production),
            ("prod", Production),
            ("live", Production),
            ("PROD-EU", Production),
            ("us-east-prod", Production),
            ("staging-2", Staging),
            ("eu-west", Other),
            ("product-demo", Other),
        ] {
            assert_eq!(EnvironmentType::infer(name), ty, "{name}");
        }
    }

    #[test]
    fn environment_type_parses_and_rejects() {
        assert_eq!(
            "Production".parse::<EnvironmentType>().unwrap(),
            EnvironmentType::Production
        );
        let err = "prodish".parse::<EnvironmentType>().unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown environment type `prodish`")
        );
    }
}
