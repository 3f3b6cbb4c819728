//! Deployment Requests: a change coordinated across people and products.
//!
//! A Deployment Request (DR) names one version of each of one or more products, the
//! environments they go to, the approval slots people must fill and the checklist steps to tick
//! before and after deploying. Its life:
//!
//! ```text
//! draft ──submit──▶ in_progress ──every required slot approved──▶ approved ──deployed + post-steps──▶ completed
//!   ▲                   │  └──any required slot rejected──▶ rejected
//!   └────deactivate─────┘ (from in_progress, approved or rejected; clears the decisions)
//! cancel: from any open state (draft, in_progress, approved, rejected) to cancelled
//! ```
//!
//! While a DR is submitted and not yet completed or cancelled, a `started` deployment of one
//! of its versions to one of its environments is blocked (`DEPLOYMENT_REQUEST_PENDING`, 428)
//! until it is approved and its pre-deployment steps are done; the rule kind
//! `deployment_request_required` blocks deployments that no approved DR covers. A DR with no
//! slots and no steps is a *release* in the public product's legacy sense: a tracking-only
//! grouping of versions (`/releases/`).
//!
//! This module holds the records and the pure state machine; the service applies them in a
//! transaction and records every transition and decision.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::principal_key;
use crate::error::{Error, Result};
use crate::event::{optional, required};

/// Most product versions in one DR.
pub const MAX_VERSIONS: usize = 100;
/// Most target environments in one DR.
pub const MAX_ENVIRONMENTS: usize = 50;
/// Most approval slots in one DR.
pub const MAX_SLOTS: usize = 50;
/// Most steps (pre and post together) in one DR.
pub const MAX_STEPS: usize = 100;

/// Where a Deployment Request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl RequestStatus {
    /// Every status, in life order.
    pub const ALL: [RequestStatus; 6] = [
        RequestStatus::Draft,
        RequestStatus::InProgress,
        RequestStatus::Approved,
        RequestStatus::Rejected,
        RequestStatus::Completed,
        RequestStatus::Cancelled,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Draft => "draft",
            RequestStatus::InProgress => "in_progress",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Completed => "completed",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    /// Submitted and not finished: the statuses in which a DR governs its deployments.
    pub fn is_submitted(self) -> bool {
        matches!(
            self,
            RequestStatus::InProgress | RequestStatus::Approved | RequestStatus::Rejected
        )
    }

    /// Not completed or cancelled.
    pub fn is_open(self) -> bool {
        !matches!(self, RequestStatus::Completed | RequestStatus::Cancelled)
    }

    /// The status a release (a DR without slots or steps) shows under `/releases/`:
    /// `draft`, `in_progress`, `completed` or `cancelled`.
    pub fn release_status(self) -> &'static str {
        match self {
            RequestStatus::Draft => "draft",
            RequestStatus::InProgress | RequestStatus::Approved | RequestStatus::Rejected => {
                "in_progress"
            }
            RequestStatus::Completed => "completed",
            RequestStatus::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RequestStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<RequestStatus> {
        let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        RequestStatus::ALL
            .into_iter()
            .find(|r| r.as_str() == key)
            .ok_or_else(|| {
                Error::invalid(
                    "status",
                    format!(
                        "unknown Deployment Request status `{}`; expected one of: {}",
                        s.trim(),
                        RequestStatus::ALL.map(RequestStatus::as_str).join(", ")
                    ),
                )
            })
    }
}

/// How an approval slot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    /// Nobody has decided yet.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

/// One product version a DR deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RequestVersion {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The version's public id.
    pub version_id: String,
}

/// An approval slot: one person whose role may grant `approval_type` fills it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Slot {
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
    #[serde(with = "crate::wire::instant::option")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The decider's comment.
    pub comment: Option<String>,
}

impl Slot {
    fn open(approval_type: String, optional: bool) -> Slot {
        Slot {
            approval_type,
            optional,
            status: SlotStatus::Pending,
            decided_by: None,
            decided_role: None,
            decided_at: None,
            comment: None,
        }
    }
}

/// When a step is done: before or after deploying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepPhase {
    /// Before deploying: deployments wait for it.
    Pre,
    /// After every deployment succeeded: the DR completes when these are done.
    Post,
}

/// A checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Step {
    /// What to do.
    pub text: String,
    /// Before or after deploying.
    pub phase: StepPhase,
    /// Who marked it done.
    pub done_by: Option<String>,
    /// When.
    #[serde(with = "crate::wire::instant::option")]
    pub done_at: Option<DateTime<Utc>>,
}

impl Step {
    /// Whether it is done.
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

/// One change of a DR's status, or one decision on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Transition {
    /// What happened: `created`, `submitted`, `approved`, `rejected`, `slot_approved`,
    /// `slot_rejected`, `step_done`, `deployed`, `completed`, `deactivated`, `cancelled`,
    /// `updated`.
    pub action: String,
    /// The status before.
    pub from: Option<RequestStatus>,
    /// The status after.
    pub to: RequestStatus,
    /// Who (`None` when the system did it, e.g. completion by a deployment).
    pub by: Option<String>,
    /// When.
    #[serde(with = "crate::wire::instant")]
    pub at: DateTime<Utc>,
    /// A comment, or what the action was about (the slot type, the step).
    pub comment: Option<String>,
}

/// Release notes, issue links and free metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestContext {
    /// Release notes (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_notes: Option<String>,
    /// Links to issues, tickets, change records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issue_links: Vec<String>,
    /// Anything else, as a JSON object.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// A Deployment Request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
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
    pub slots: Vec<Slot>,
    /// Its checklist, pre-deployment steps first.
    pub steps: Vec<Step>,
    /// The template it was created from, if any.
    pub template: Option<String>,
    /// Whether its creator may fill its required slots.
    pub allow_self_approval: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(with = "crate::wire::instant")]
    pub updated_at: DateTime<Utc>,
    /// When every version had succeeded in every environment (while approved).
    #[serde(with = "crate::wire::instant::option")]
    pub deployed_at: Option<DateTime<Utc>>,
    /// Every transition and decision, oldest first.
    pub history: Vec<Transition>,
}

impl DeploymentRequest {
    /// A release in the legacy sense: no slots and no steps.
    pub fn is_release(&self) -> bool {
        self.slots.is_empty() && self.steps.is_empty()
    }

    /// The required slots not (yet) approved, by type.
    pub fn missing_slots(&self) -> Vec<&str> {
        missing_slots(&self.slots)
    }

    /// The steps of a phase not yet done.
    pub fn open_steps(&self, phase: StepPhase) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.phase == phase && !s.is_done())
            .map(|s| s.text.as_str())
            .collect()
    }

    /// Whether it covers `version` of `product` going to `environment` (names compared as
    /// names are: `Production` is `production`).
    pub fn covers(&self, product: &str, version: &str, environment: &str) -> bool {
        self.versions
            .iter()
            .any(|v| crate::names::same(&v.product_name, product) && v.version == version)
            && self
                .environments
                .iter()
                .any(|e| crate::names::same(e, environment))
    }

    pub(crate) fn record(
        &mut self,
        action: &str,
        to: RequestStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
        comment: Option<String>,
    ) {
        self.history.push(Transition {
            action: action.to_string(),
            from: Some(self.status),
            to,
            by: by.map(str::to_string),
            at,
            comment,
        });
        self.status = to;
        self.updated_at = at;
    }

    /// `INVALID_INPUT` naming the current status unless it is one of `allowed`.
    pub(crate) fn expect(&self, what: &str, allowed: &[RequestStatus]) -> Result<()> {
        if allowed.contains(&self.status) {
            return Ok(());
        }
        Err(Error::invalid(
            "status",
            format!(
                "Deployment Request `{}` is {}; it can be {what} only when {}",
                self.name,
                self.status,
                allowed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ))
    }

    /// Whether `principal` already decided one of its slots.
    pub(crate) fn decided_by(&self, principal: &str) -> Option<&Slot> {
        let key = principal_key(principal);
        self.slots.iter().find(|s| {
            s.decided_by
                .as_deref()
                .is_some_and(|d| principal_key(d) == key)
        })
    }

    /// Clears every slot decision (deactivation).
    pub(crate) fn clear_decisions(&mut self) {
        for s in &mut self.slots {
            *s = Slot::open(s.approval_type.clone(), s.optional);
        }
    }

    /// The status its slots call for once submitted: rejected when a required slot is,
    /// approved when every required one is, else in progress.
    pub(crate) fn settled_status(&self) -> RequestStatus {
        if self
            .slots
            .iter()
            .any(|s| !s.optional && s.status == SlotStatus::Rejected)
        {
            RequestStatus::Rejected
        } else if self.missing_slots().is_empty() {
            RequestStatus::Approved
        } else {
            RequestStatus::InProgress
        }
    }
}

/// The required slots of `slots` not (yet) approved, by type.
pub(crate) fn missing_slots(slots: &[Slot]) -> Vec<&str> {
    slots
        .iter()
        .filter(|s| !s.optional && s.status != SlotStatus::Approved)
        .map(|s| s.approval_type.as_str())
        .collect()
}

/// A slot as a DR or template declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SlotSpec {
    /// The approval type.
    pub approval_type: String,
    /// Advisory (non-blocking).
    #[serde(default)]
    pub optional: bool,
}

impl SlotSpec {
    /// A required slot of `approval_type`.
    pub fn required(approval_type: impl Into<String>) -> SlotSpec {
        SlotSpec {
            approval_type: approval_type.into(),
            optional: false,
        }
    }

    /// An optional (advisory) slot of `approval_type`.
    pub fn optional(approval_type: impl Into<String>) -> SlotSpec {
        SlotSpec {
            approval_type: approval_type.into(),
            optional: true,
        }
    }
}

/// A product version named by a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VersionRef {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
}

impl VersionRef {
    /// `version` of `product`.
    pub fn new(product: impl Into<String>, version: impl Into<String>) -> VersionRef {
        VersionRef {
            product_name: product.into(),
            version: version.into(),
        }
    }
}

/// What a new Deployment Request holds. With a `template`, the template's slots, steps,
/// environments and description fill what the draft leaves empty.
///
/// # Examples
/// ```
/// use versioner_core::{BuildEvent, RequestDraft, RequestStatus, SlotSpec, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
/// let mut draft = RequestDraft::new("Q4 release").version("api", "1.2.0").environment("production");
/// draft.slots.push(SlotSpec::required("qa"));
/// draft.created_by = "dana".into();
/// let dr = vr.create_request(&draft)?;
/// assert_eq!(dr.status, RequestStatus::Draft);
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestDraft {
    /// Its name.
    pub name: String,
    /// What it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Release notes, issue links, metadata.
    #[serde(default)]
    pub context: RequestContext,
    /// The product versions (recorded ones; one per product).
    #[serde(default)]
    pub versions: Vec<VersionRef>,
    /// The target environments.
    #[serde(default)]
    pub environments: Vec<String>,
    /// The approval slots.
    #[serde(default)]
    pub slots: Vec<SlotSpec>,
    /// Pre-deployment steps.
    #[serde(default)]
    pub pre_steps: Vec<String>,
    /// Post-deployment steps.
    #[serde(default)]
    pub post_steps: Vec<String>,
    /// A template to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Whether the creator may fill required slots; default: not when a target environment
    /// is a production one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_self_approval: Option<bool>,
    /// Who creates it. Through the server always the API key's principal (leave it empty); in
    /// process required unless the handle has an actor.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
}

impl RequestDraft {
    /// A draft named `name`.
    pub fn new(name: impl Into<String>) -> RequestDraft {
        RequestDraft {
            name: name.into(),
            ..RequestDraft::default()
        }
    }

    /// Adds a product version.
    #[must_use]
    pub fn version(mut self, product: impl Into<String>, version: impl Into<String>) -> Self {
        self.versions.push(VersionRef::new(product, version));
        self
    }

    /// Adds a target environment.
    #[must_use]
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environments.push(environment.into());
        self
    }

    /// Sets who creates it.
    #[must_use]
    pub fn by(mut self, creator: impl Into<String>) -> Self {
        self.created_by = creator.into();
        self
    }
}

/// A change to a draft DR: every field given replaces the DR's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestChange {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description (blank clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A new context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<RequestContext>,
    /// Versions to add (a product already in the DR moves to this version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_versions: Vec<VersionRef>,
    /// Versions to remove, by product name or version id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_versions: Vec<String>,
    /// New target environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
    /// New slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<Vec<SlotSpec>>,
    /// New pre-deployment steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_steps: Option<Vec<String>>,
    /// New post-deployment steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_steps: Option<Vec<String>>,
    /// Whether the creator may fill required slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_self_approval: Option<bool>,
    /// Who changes it (see [`RequestDraft::created_by`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
}

/// What to do to a Deployment Request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum RequestAction {
    /// draft → in_progress (or straight to approved when it has no required slot).
    Submit,
    /// in_progress, approved or rejected → draft; clears every slot decision.
    Deactivate,
    /// Any open status → cancelled.
    Cancel,
    /// Fills the first pending slot of the type with an approval.
    Approve {
        /// The slot's approval type.
        approval_type: String,
    },
    /// Fills the first pending slot of the type with a rejection (a comment is required).
    Reject {
        /// The slot's approval type.
        approval_type: String,
    },
    /// Marks a step done (by its text).
    StepDone {
        /// The step's text.
        step: String,
    },
    /// Completes a release (a DR without slots or steps) by hand, deployed or not.
    Complete,
}

impl RequestAction {
    /// The action's name (`submit`, `approve`, `step_done`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            RequestAction::Submit => "submit",
            RequestAction::Deactivate => "deactivate",
            RequestAction::Cancel => "cancel",
            RequestAction::Approve { .. } => "approve",
            RequestAction::Reject { .. } => "reject",
            RequestAction::StepDone { .. } => "step_done",
            RequestAction::Complete => "complete",
        }
    }
}

/// An action with who does it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RequestActionRequest {
    /// What to do.
    #[serde(flatten)]
    pub action: RequestAction,
    /// A comment (required to reject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who acts (see [`RequestDraft::created_by`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// The actor's role, for an in-process actor not registered as a principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_role: Option<String>,
}

impl RequestActionRequest {
    /// `action` by `actor`.
    pub fn new(action: RequestAction, actor: impl Into<String>) -> RequestActionRequest {
        RequestActionRequest {
            action,
            comment: None,
            actor: actor.into(),
            actor_role: None,
        }
    }

    /// Sets the comment.
    #[must_use]
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets the actor's role.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.actor_role = Some(role.into());
        self
    }
}

/// Filters for listing Deployment Requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestQuery {
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only those with a version of this product.
    pub product: Option<String>,
    /// Only those targeting this environment.
    pub environment: Option<String>,
    /// Only releases (no slots, no steps).
    pub releases_only: bool,
}

/// One cell of a progress grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// One product × environment cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ProgressCell {
    /// The product.
    pub product_name: String,
    /// The DR's version of it.
    pub version: String,
    /// The environment.
    pub environment: String,
    /// How it stands there.
    pub state: CellState,
    /// The newest deployment there, if any.
    pub deployment_id: Option<String>,
}

/// A DR's progress: product × environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Progress {
    /// The DR.
    pub request_id: String,
    /// Its status.
    pub status: RequestStatus,
    /// One cell per version and environment, in the DR's order.
    pub cells: Vec<ProgressCell>,
    /// Whether every cell is deployed.
    pub deployed: bool,
}

/// A template DRs are created from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestTemplate {
    /// Its name (unique).
    pub name: String,
    /// What it is for (the DR's description when it gives none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default slots.
    #[serde(default)]
    pub slots: Vec<SlotSpec>,
    /// Default pre-deployment steps.
    #[serde(default)]
    pub pre_steps: Vec<String>,
    /// Default post-deployment steps.
    #[serde(default)]
    pub post_steps: Vec<String>,
    /// The environments it applies to (the DR's targets when it names none).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Whether the creator may fill required slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_self_approval: Option<bool>,
}

/// What a template file holds: `[[templates]]` (TOML) or `{"templates": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TemplateFile {
    /// The templates.
    #[serde(default)]
    pub templates: Vec<RequestTemplate>,
}

impl TemplateFile {
    /// Reads a template file: TOML, or JSON when it starts with `{`.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the problem.
    pub fn parse(text: &str) -> Result<TemplateFile> {
        let file: TemplateFile = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| Error::invalid("templates", format!("not valid JSON: {e}")))?
        } else {
            toml::from_str(text).map_err(|e| {
                Error::invalid("templates", format!("not valid TOML: {}", e.message()))
            })?
        };
        Ok(file)
    }
}

// ----- validation --------------------------------------------------------------------------

/// A text list entry: required, bounded.
fn texts(field: &str, items: &[String], max_len: usize) -> Result<Vec<String>> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| required(&format!("{field}[{i}]"), Some(s), max_len))
        .collect()
}

pub(crate) fn valid_name(name: &str) -> Result<String> {
    required("name", Some(name), 255)
}

pub(crate) fn valid_description(d: Option<&str>) -> Result<Option<String>> {
    optional("description", d, 5000)
}

pub(crate) fn valid_context(c: &RequestContext) -> Result<RequestContext> {
    let release_notes = c
        .release_notes
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(n) = &release_notes
        && n.chars().count() > 20_000
    {
        return Err(Error::invalid(
            "context.release_notes",
            format!(
                "is {} characters long; the limit is 20000",
                n.chars().count()
            ),
        ));
    }
    if c.issue_links.len() > 50 {
        return Err(Error::invalid(
            "context.issue_links",
            format!("lists {} links; the limit is 50", c.issue_links.len()),
        ));
    }
    let issue_links = texts("context.issue_links", &c.issue_links, 2000)?;
    let metadata = crate::event::metadata(Some(&Value::Object(c.metadata.clone())))
        .map_err(|e| Error::invalid("context.metadata", crate::policy::reason_of(&e)))?;
    Ok(RequestContext {
        release_notes,
        issue_links,
        metadata,
    })
}

pub(crate) fn valid_environments(envs: &[String]) -> Result<Vec<String>> {
    if envs.len() > MAX_ENVIRONMENTS {
        return Err(Error::invalid(
            "environments",
            format!(
                "lists {} environments; the limit is {MAX_ENVIRONMENTS}",
                envs.len()
            ),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in envs.iter().enumerate() {
        let e = required(&format!("environments[{i}]"), Some(e), 100)?;
        if out.iter().any(|x| crate::names::same(x, &e)) {
            return Err(Error::invalid("environments", format!("names `{e}` twice")));
        }
        out.push(e);
    }
    Ok(out)
}

pub(crate) fn valid_steps(pre: &[String], post: &[String]) -> Result<Vec<Step>> {
    if pre.len() + post.len() > MAX_STEPS {
        return Err(Error::invalid(
            "steps",
            format!("{} steps; the limit is {MAX_STEPS}", pre.len() + post.len()),
        ));
    }
    let mut steps: Vec<Step> = Vec::new();
    for (field, phase, list) in [
        ("pre_steps", StepPhase::Pre, pre),
        ("post_steps", StepPhase::Post, post),
    ] {
        for text in texts(field, list, 500)? {
            if steps.iter().any(|s| s.text == text) {
                return Err(Error::invalid(
                    field,
                    format!("`{text}` is listed twice; steps are marked done by their text"),
                ));
            }
            steps.push(Step {
                text,
                phase,
                done_by: None,
                done_at: None,
            });
        }
    }
    Ok(steps)
}

pub(crate) fn check_slot_count(slots: &[SlotSpec]) -> Result<()> {
    if slots.len() > MAX_SLOTS {
        return Err(Error::invalid(
            "slots",
            format!("{} slots; the limit is {MAX_SLOTS}", slots.len()),
        ));
    }
    Ok(())
}

pub(crate) fn open_slots(types: Vec<(String, bool)>) -> Vec<Slot> {
    types
        .into_iter()
        .map(|(t, optional)| Slot::open(t, optional))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dr(slots: Vec<Slot>) -> DeploymentRequest {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        DeploymentRequest {
            id: "1".into(),
            name: "r".into(),
            description: None,
            context: RequestContext::default(),
            status: RequestStatus::InProgress,
            versions: vec![RequestVersion {
                product_name: "API".into(),
                version: "1.0".into(),
                version_id: "v".into(),
            }],
            environments: vec!["Production".into()],
            slots,
            steps: vec![],
            template: None,
            allow_self_approval: false,
            created_by: "dana".into(),
            created_at: at,
            updated_at: at,
            deployed_at: None,
            history: vec![],
        }
    }

    #[test]
    fn statuses_read_back_and_name_the_accepted_ones() {
        for s in RequestStatus::ALL {
            assert_eq!(s.as_str().parse::<RequestStatus>().ok(), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(Value::String(s.as_str().into()))
            );
        }
        assert_eq!(
            "In Progress".parse::<RequestStatus>().ok(),
            Some(RequestStatus::InProgress)
        );
        let e = "open".parse::<RequestStatus>().unwrap_err();
        assert!(e.to_string().contains("draft, in_progress"), "{e}");
    }

    #[test]
    fn the_slots_settle_the_status() {
        let mut r = dr(vec![
            Slot::open("qa".into(), false),
            Slot::open("security".into(), true),
        ]);
        assert_eq!(r.settled_status(), RequestStatus::InProgress);
        assert_eq!(r.missing_slots(), ["qa"]);
        r.slots[1].status = SlotStatus::Rejected;
        assert_eq!(
            r.settled_status(),
            RequestStatus::InProgress,
            "optional slots advise"
        );
        r.slots[0].status = SlotStatus::Approved;
        assert_eq!(r.settled_status(), RequestStatus::Approved);
        r.slots[0].status = SlotStatus::Rejected;
        assert_eq!(r.settled_status(), RequestStatus::Rejected);
    }

    #[test]
    fn coverage_compares_names_as_names() {
        let r = dr(vec![]);
        assert!(r.covers("api", "1.0", "production"));
        assert!(!r.covers("api", "1.1", "production"));
        assert!(!r.covers("api", "1.0", "staging"));
        assert!(r.is_release());
    }

    #[test]
    fn an_illegal_transition_names_the_current_status() {
        let r = dr(vec![]);
        let e = r.expect("submitted", &[RequestStatus::Draft]).unwrap_err();
        assert_eq!(e.field(), Some("status"));
        assert!(e.to_string().contains("is in_progress"), "{e}");
    }

    #[test]
    fn steps_are_unique_and_bounded() {
        let e = valid_steps(&["a".into()], &["a".into()]).unwrap_err();
        assert_eq!(e.field(), Some("post_steps"));
        let e = valid_steps(&[" ".into()], &[]).unwrap_err();
        assert_eq!(e.field(), Some("pre_steps[0]"));
        let many: Vec<String> = (0..=MAX_STEPS).map(|i| i.to_string()).collect();
        assert!(valid_steps(&many, &[]).is_err());
    }

    #[test]
    fn template_files_read_toml_and_json() {
        let t = TemplateFile::parse(
            "[[templates]]\nname = \"prod\"\nslots = [{ approval_type = \"qa\" }]\npre_steps = [\"Notify\"]\n",
        )
        .unwrap();
        assert_eq!(t.templates[0].slots[0].approval_type, "qa");
        let j = TemplateFile::parse(r#"{"templates":[{"name":"x"}]}"#).unwrap();
        assert_eq!(j.templates[0].name, "x");
        let e = TemplateFile::parse("[[templates]]\nnmae = 1\n").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
    }
}
