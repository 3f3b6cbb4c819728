//! The recorded state a preflight needs, gathered inside the recording transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::approval::Approval;
use crate::model::EnvironmentType;
use crate::request::{DeploymentRequest, RequestStatus, Slot, StepPhase};
use crate::status::Status;

/// An open deployment in the target environment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
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
    #[serde(with = "crate::wire::instant")]
    pub started_at: DateTime<Utc>,
}

impl OpenDeployment {
    /// An open deployment from its parts, for embedders evaluating facts they gathered
    /// themselves ([`crate::policy::evaluate`]).
    ///
    /// # Examples
    /// ```
    /// use chrono::Utc;
    /// use versioner_core::Status;
    /// use versioner_core::policy::{Facts, OpenDeployment, Rule, evaluate};
    /// let rule = Rule::from_json(&serde_json::json!(
    ///     {"name": "One at a time", "type": "concurrency", "max": 1}))?;
    /// let mut facts = Facts::new("api", "1.2.0", "production");
    /// facts.open_deployments.push(OpenDeployment::new(
    ///     "d-1", "api", "1.1.0", Status::Started, Utc::now()));
    /// let verdict = evaluate(&[rule], &facts, Utc::now());
    /// assert!(!verdict.is_allowed());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn new(
        id: impl Into<String>,
        product_name: impl Into<String>,
        version: impl Into<String>,
        status: Status,
        started_at: DateTime<Utc>,
    ) -> OpenDeployment {
        OpenDeployment {
            id: id.into(),
            product_name: product_name.into(),
            version: version.into(),
            status,
            started_at,
        }
    }
}

/// How a version fared in one environment.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Stint {
    /// Its first successful deployment there.
    #[serde(with = "crate::wire::instant::option")]
    pub first_success_at: Option<DateTime<Utc>>,
    /// Its most recent successful deployment there.
    #[serde(with = "crate::wire::instant::option")]
    pub last_success_at: Option<DateTime<Utc>>,
    /// The first successful deployment of another version there after `last_success_at`:
    /// when, and which version.
    #[serde(with = "superseded")]
    pub superseded: Option<(DateTime<Utc>, String)>,
}

impl Stint {
    /// A stint from its parts: the version's first and latest success in the environment,
    /// and the first success of another version after the latest (when and which).
    pub fn new(
        first_success_at: Option<DateTime<Utc>>,
        last_success_at: Option<DateTime<Utc>>,
        superseded: Option<(DateTime<Utc>, String)>,
    ) -> Stint {
        Stint {
            first_success_at,
            last_success_at,
            superseded,
        }
    }
}

/// Everything the engine reads; the engine itself does no I/O.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Facts {
    /// The product being deployed.
    pub product: String,
    /// The version being deployed.
    pub version: String,
    /// The target environment.
    pub environment: String,
    /// The target environment's type.
    pub environment_type: EnvironmentType,
    /// Who deploys, as recorded (`deployed_by`: given, else the principal); never counts as
    /// a release approver.
    pub deployed_by: Option<String>,
    /// The principal recording the deployment (the API key's, or the in-process actor), when
    /// known; never counts as a release approver, whatever `deployed_by` says.
    pub principal: Option<String>,
    /// Whether the version has been recorded before.
    pub version_known: bool,
    /// Who built the version (never count as release approvers).
    pub builders: Vec<String>,
    /// Open deployments of any product in the target environment (the deployment being
    /// started excluded).
    pub open_deployments: Vec<OpenDeployment>,
    /// The version's history in each environment named as a prerequisite by a rule in scope.
    pub stints: BTreeMap<String, Stint>,
    /// The version's approvals that still stand.
    pub approvals: Vec<Approval>,
    /// The submitted, unfinished Deployment Requests (`in_progress`, `approved`, `rejected`)
    /// that cover this version going to this environment, oldest first.
    #[serde(default)]
    pub deployment_requests: Vec<CoveringRequest>,
    /// For each environment a `max_skew` rule in scope keeps from falling behind the target
    /// environment: how far behind it is before this deployment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skew: BTreeMap<String, SkewFacts>,
}

/// How far an environment runs behind the target environment for the product, before the
/// deployment (see [`crate::skew`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SkewFacts {
    /// The version current in the environment behind, if any.
    pub behind_version: Option<String>,
    /// The versions it lacks, oldest first.
    pub versions: Vec<String>,
    /// When the lag began.
    #[serde(with = "crate::wire::instant::option")]
    pub behind_since: Option<DateTime<Utc>>,
    /// Whether the version being deployed already succeeded in the target environment (then
    /// deploying it again adds nothing ahead).
    pub version_already_ahead: bool,
}

impl SkewFacts {
    /// Skew facts from their parts.
    pub fn new(
        behind_version: Option<String>,
        versions: Vec<String>,
        behind_since: Option<DateTime<Utc>>,
        version_already_ahead: bool,
    ) -> SkewFacts {
        SkewFacts {
            behind_version,
            versions,
            behind_since,
            version_already_ahead,
        }
    }
}

/// A Deployment Request covering the deployment, as the preflight reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CoveringRequest {
    /// Its public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: RequestStatus,
    /// Its approval slots.
    pub slots: Vec<Slot>,
    /// Its pre-deployment steps not yet done.
    pub open_pre_steps: Vec<String>,
}

impl CoveringRequest {
    /// A covering request with its slots and the pre-deployment steps still open.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        status: RequestStatus,
        slots: Vec<Slot>,
        open_pre_steps: Vec<String>,
    ) -> CoveringRequest {
        CoveringRequest {
            id: id.into(),
            name: name.into(),
            status,
            slots,
            open_pre_steps,
        }
    }

    /// The facts of a recorded Deployment Request.
    pub fn of(r: &DeploymentRequest) -> CoveringRequest {
        CoveringRequest {
            id: r.id.clone(),
            name: r.name.clone(),
            status: r.status,
            slots: r.slots.clone(),
            open_pre_steps: r
                .open_steps(StepPhase::Pre)
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    /// The required slots not approved, by type.
    pub fn missing_slots(&self) -> Vec<&str> {
        crate::request::missing_slots(&self.slots)
    }
}

impl Facts {
    /// Facts about a version nobody has recorded yet, going to an environment with no history.
    pub fn new(
        product: impl Into<String>,
        version: impl Into<String>,
        environment: impl Into<String>,
    ) -> Facts {
        let environment = environment.into();
        Facts {
            product: product.into(),
            version: version.into(),
            environment_type: EnvironmentType::infer(&environment),
            environment,
            deployed_by: None,
            principal: None,
            version_known: false,
            builders: Vec::new(),
            open_deployments: Vec::new(),
            stints: BTreeMap::new(),
            approvals: Vec::new(),
            deployment_requests: Vec::new(),
            skew: BTreeMap::new(),
        }
    }
}

/// A stint's `superseded`, `[instant, version]` with the instant in the wire format.
mod superseded {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[expect(clippy::ref_option, reason = "serde's `with` passes `&Option<T>`")]
    pub(super) fn serialize<S: Serializer>(
        v: &Option<(DateTime<Utc>, String)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.as_ref()
            .map(|(t, version)| (crate::wire::instant::format(t), version))
            .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(DateTime<Utc>, String)>, D::Error> {
        Option::<(DateTime<Utc>, String)>::deserialize(d)
    }
}
