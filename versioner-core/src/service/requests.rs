//! Deployment Requests: create, edit, submit, decide, tick steps, complete; templates.
//!
//! Every write runs under the global lock and, on PostgreSQL, reads the request `FOR UPDATE`,
//! so two decisions on one request never overwrite each other; the preflight reads the
//! requests covering a deployment in the deployment's own transaction, so a deployment never
//! passes a request that its transaction did not see approved. Each change appends to the
//! request's history and writes its `dr.*` event to the outbox in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::access::{Permission, principal_key};
use crate::error::{Error, Result};
use crate::model::EnvironmentType;
use crate::outbox::{EventType, NewEvent};
use crate::request::{
    self, CellState, DeploymentRequest, Progress, ProgressCell, RequestAction,
    RequestActionRequest, RequestChange, RequestDraft, RequestQuery, RequestStatus,
    RequestTemplate, RequestVersion, Slot, SlotSpec, SlotStatus, StepPhase, VersionRef,
};
use crate::status::Status;
use crate::store::{self, HistoryFilter, LockScope, Tx};

use super::access::{Acting, approval_catalog};
use super::{Recorded, Versioner, find_version, lookup_environment};

impl Recorded for DeploymentRequest {}
impl Recorded for Vec<RequestTemplate> {}

/// The statuses a submitted request is in until it finishes.
const SUBMITTED: &[RequestStatus] = &[
    RequestStatus::InProgress,
    RequestStatus::Approved,
    RequestStatus::Rejected,
];
/// The statuses a request can be cancelled from.
const OPEN: &[RequestStatus] = &[
    RequestStatus::Draft,
    RequestStatus::InProgress,
    RequestStatus::Approved,
    RequestStatus::Rejected,
];

impl Versioner {
    /// Creates a Deployment Request as a draft (it blocks nothing until submitted). With a
    /// template, the template fills what the draft leaves empty.
    ///
    /// # Errors
    /// `INVALID_INPUT` (a blank name, two versions of one product, an unknown approval type,
    /// a repeated environment or step, limits); `NOT_FOUND` for a version never recorded or an
    /// unknown template; `FORBIDDEN` when the creator's role may not manage Deployment Requests
    /// (admin, release_manager, product, developer may); `STORAGE`. Nothing is written on
    /// error.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, RequestDraft, SlotSpec, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// let mut draft = RequestDraft::new("Q4").version("api", "1.2.0").environment("production");
    /// draft.slots = vec![SlotSpec::required("qa")];
    /// draft.pre_steps = vec!["Announce the change".into()];
    /// draft.created_by = "dana".into();
    /// let dr = vr.create_request(&draft)?;
    /// assert!(!dr.allow_self_approval, "production: the creator may not fill required slots");
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn create_request(&self, draft: &RequestDraft) -> Result<DeploymentRequest> {
        let name = request::valid_name(&draft.name)?;
        let context = request::valid_context(&draft.context)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting =
                self.acting_claimed(tx, Some(&draft.created_by), "created_by", None, "role")?;
            let creator = who(&acting, "created_by")?;
            acting.require(Permission::ManageRequests)?;
            let template = match draft.template.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => Some(find_template(tx, t)?),
                _ => None,
            };
            let pick = |mine: &[String], theirs: Option<&Vec<String>>| -> Vec<String> {
                if mine.is_empty() {
                    theirs.cloned().unwrap_or_default()
                } else {
                    mine.to_vec()
                }
            };
            let description = match &draft.description {
                Some(d) => Some(d.clone()),
                None => template.as_ref().and_then(|t| t.description.clone()),
            };
            let environments = pick(
                &draft.environments,
                template.as_ref().map(|t| &t.environments),
            );
            let slots = if draft.slots.is_empty() {
                template
                    .as_ref()
                    .map(|t| t.slots.clone())
                    .unwrap_or_default()
            } else {
                draft.slots.clone()
            };
            let pre = pick(&draft.pre_steps, template.as_ref().map(|t| &t.pre_steps));
            let post = pick(&draft.post_steps, template.as_ref().map(|t| &t.post_steps));
            let environments = resolve_environments(tx, &environments)?;
            let allow_self_approval = draft
                .allow_self_approval
                .or(template.as_ref().and_then(|t| t.allow_self_approval))
                .unwrap_or_else(|| !any_production(tx, &environments));
            let mut dr = DeploymentRequest {
                id: uuid::Uuid::now_v7().to_string(),
                name: name.clone(),
                description: request::valid_description(description.as_deref())?,
                context: context.clone(),
                status: RequestStatus::Draft,
                versions: Vec::new(),
                environments,
                slots: resolve_slots(tx, &slots)?,
                steps: request::valid_steps(&pre, &post)?,
                template: template.map(|t| t.name),
                allow_self_approval,
                created_by: creator.clone(),
                created_at: now,
                updated_at: now,
                deployed_at: None,
                history: Vec::new(),
            };
            add_versions(tx, &mut dr, &draft.versions)?;
            dr.history.push(request::Transition {
                action: "created".into(),
                from: None,
                to: RequestStatus::Draft,
                by: Some(creator.clone()),
                at: now,
                comment: None,
            });
            tx.insert_request(&dr)?;
            emit(tx, EventType::DrCreated, &dr, Some(&creator), now, None)?;
            Ok(dr)
        })
    }

    /// Edits a draft Deployment Request (a release, one without slots or steps, also while
    /// submitted): every field the change gives replaces the request's.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the current status when it is not a draft, or a bad field;
    /// `NOT_FOUND`; `FORBIDDEN`; `STORAGE`.
    pub fn update_request(&self, id: &str, change: &RequestChange) -> Result<DeploymentRequest> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_claimed(tx, Some(&change.actor), "actor", None, "role")?;
            let by = who(&acting, "actor")?;
            acting.require(Permission::ManageRequests)?;
            let mut dr = find_request(tx, id)?;
            if dr.is_release()
                && change.slots.is_none()
                && change.pre_steps.is_none()
                && change.post_steps.is_none()
            {
                dr.expect("edited", OPEN)?;
            } else {
                dr.expect("edited", &[RequestStatus::Draft])?;
            }
            if let Some(n) = &change.name {
                dr.name = request::valid_name(n)?;
            }
            if let Some(d) = &change.description {
                dr.description = request::valid_description(Some(d))?;
            }
            if let Some(c) = &change.context {
                dr.context = request::valid_context(c)?;
            }
            if let Some(e) = &change.environments {
                dr.environments = resolve_environments(tx, e)?;
            }
            if let Some(s) = &change.slots {
                dr.slots = resolve_slots(tx, s)?;
            }
            if change.pre_steps.is_some() || change.post_steps.is_some() {
                let keep = |phase: StepPhase| -> Vec<String> {
                    dr.steps
                        .iter()
                        .filter(|s| s.phase == phase)
                        .map(|s| s.text.clone())
                        .collect()
                };
                let pre = change
                    .pre_steps
                    .clone()
                    .unwrap_or_else(|| keep(StepPhase::Pre));
                let post = change
                    .post_steps
                    .clone()
                    .unwrap_or_else(|| keep(StepPhase::Post));
                dr.steps = request::valid_steps(&pre, &post)?;
            }
            if let Some(a) = change.allow_self_approval {
                dr.allow_self_approval = a;
            }
            for gone in &change.remove_versions {
                let before = dr.versions.len();
                dr.versions.retain(|v| {
                    v.version_id != *gone && !crate::names::same(&v.product_name, gone)
                });
                if dr.versions.len() == before {
                    return Err(Error::invalid(
                        "remove_versions",
                        format!(
                            "`{gone}` is not a product or version id of Deployment Request `{}`",
                            dr.name
                        ),
                    ));
                }
            }
            add_versions(tx, &mut dr, &change.add_versions)?;
            let status = dr.status;
            dr.record("updated", status, Some(&by), now, None);
            tx.update_request(&dr)?;
            emit(tx, EventType::DrUpdated, &dr, Some(&by), now, None)?;
            Ok(dr)
        })
    }

    /// Acts on a Deployment Request: submit, deactivate, cancel, approve or reject a slot,
    /// mark a step done, or complete a release by hand. Every action is recorded in the
    /// request's history with who, when and the comment.
    ///
    /// # Errors
    /// `INVALID_INPUT` for an illegal transition (naming the current status), a submit with no
    /// version or environment, an approval type with no pending slot, a rejection without a
    /// comment, a principal deciding a second slot, an unknown or already done step, a
    /// post-deployment step before every deployment succeeded; `FORBIDDEN` for a role that may
    /// not act, a slot type the role may not grant, or the creator filling a required slot
    /// when self-approval is off; `NOT_FOUND`; `STORAGE`. Nothing is written on error.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, RequestAction, RequestActionRequest, RequestDraft};
    /// use versioner_core::{RequestStatus, SlotSpec, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// let mut draft = RequestDraft::new("Q4").version("api", "1.2.0").environment("production");
    /// draft.slots = vec![SlotSpec::required("qa")];
    /// draft.created_by = "dana".into();
    /// let dr = vr.create_request(&draft)?;
    /// vr.act_on_request(&dr.id, &RequestActionRequest::new(RequestAction::Submit, "dana"))?;
    /// let qa = RequestAction::Approve { approval_type: "qa".into() };
    /// let dr = vr.act_on_request(&dr.id, &RequestActionRequest::new(qa, "quinn").with_role("qa"))?;
    /// assert_eq!(dr.status, RequestStatus::Approved);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn act_on_request(
        &self,
        id: &str,
        action: &RequestActionRequest,
    ) -> Result<DeploymentRequest> {
        let comment = crate::event::optional("comment", action.comment.as_deref(), 2000)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_claimed(
                tx,
                Some(&action.actor),
                "actor",
                action.actor_role.as_deref(),
                "actor_role",
            )?;
            let by = who(&acting, "actor")?;
            let mut dr = find_request(tx, id)?;
            match &action.action {
                RequestAction::Submit => {
                    acting.require(Permission::ManageRequests)?;
                    dr.expect("submitted", &[RequestStatus::Draft])?;
                    if dr.versions.is_empty() {
                        return Err(Error::invalid(
                            "versions",
                            format!(
                                "Deployment Request `{}` has no product version; add at least \
                                 one before submitting it",
                                dr.name
                            ),
                        ));
                    }
                    if dr.environments.is_empty() && !dr.is_release() {
                        return Err(Error::invalid(
                            "environments",
                            format!(
                                "Deployment Request `{}` targets no environment; add at least \
                                 one before submitting it",
                                dr.name
                            ),
                        ));
                    }
                    dr.record(
                        "submitted",
                        RequestStatus::InProgress,
                        Some(&by),
                        now,
                        comment,
                    );
                    emit(tx, EventType::DrActivated, &dr, Some(&by), now, None)?;
                    settle(tx, &mut dr, Some(&by), now)?;
                }
                RequestAction::Deactivate => {
                    acting.require(Permission::ManageRequests)?;
                    dr.expect("deactivated", SUBMITTED)?;
                    dr.clear_decisions();
                    dr.deployed_at = None;
                    dr.record("deactivated", RequestStatus::Draft, Some(&by), now, comment);
                    emit(tx, EventType::DrDeactivated, &dr, Some(&by), now, None)?;
                }
                RequestAction::Cancel => {
                    acting.require(Permission::ManageRequests)?;
                    dr.expect("cancelled", OPEN)?;
                    dr.record(
                        "cancelled",
                        RequestStatus::Cancelled,
                        Some(&by),
                        now,
                        comment,
                    );
                    emit(tx, EventType::DrCancelled, &dr, Some(&by), now, None)?;
                }
                RequestAction::Complete => {
                    acting.require(Permission::ManageRequests)?;
                    if !dr.is_release() {
                        return Err(Error::invalid(
                            "action",
                            format!(
                                "Deployment Request `{}` has approval slots or steps: it \
                                 completes when every deployment succeeded and its \
                                 post-deployment steps are done, not by hand",
                                dr.name
                            ),
                        ));
                    }
                    dr.expect("completed", SUBMITTED)?;
                    dr.record(
                        "completed",
                        RequestStatus::Completed,
                        Some(&by),
                        now,
                        comment,
                    );
                    emit(tx, EventType::DrCompleted, &dr, Some(&by), now, None)?;
                }
                RequestAction::Approve { approval_type }
                | RequestAction::Reject { approval_type } => {
                    let approve = matches!(action.action, RequestAction::Approve { .. });
                    if !approve && comment.is_none() {
                        return Err(Error::invalid(
                            "comment",
                            "is required to reject a slot: say why, so the requester can act on it",
                        ));
                    }
                    acting.require(Permission::Approve)?;
                    dr.expect(
                        if approve { "approved" } else { "rejected" },
                        &[RequestStatus::InProgress, RequestStatus::Approved],
                    )?;
                    let catalog = approval_catalog(tx)?;
                    let t = catalog.resolve(approval_type)?;
                    if !catalog.may_grant(acting.role, &t) {
                        return Err(catalog.forbidden(&by, acting.role, &t));
                    }
                    let index = pending_slot(&dr, &t)?;
                    if !dr.slots[index].optional
                        && !dr.allow_self_approval
                        && principal_key(&dr.created_by) == principal_key(&by)
                    {
                        return Err(Error::Forbidden {
                            message: format!(
                                "`{by}` created Deployment Request `{}` and may not fill its \
                                 required `{t}` slot (self-approval is off for it: it targets \
                                 a production environment, or its template says so)",
                                dr.name
                            ),
                        });
                    }
                    if let Some(s) = dr.decided_by(&by) {
                        return Err(Error::invalid(
                            "actor",
                            format!(
                                "`{by}` already decided the `{}` slot of Deployment Request \
                                 `{}`; one person fills at most one slot",
                                s.approval_type, dr.name
                            ),
                        ));
                    }
                    let slot = &mut dr.slots[index];
                    slot.status = if approve {
                        SlotStatus::Approved
                    } else {
                        SlotStatus::Rejected
                    };
                    slot.decided_by = Some(by.clone());
                    slot.decided_role = Some(acting.role.as_str().to_string());
                    slot.decided_at = Some(now);
                    slot.comment.clone_from(&comment);
                    let slot = slot.clone();
                    let status = dr.status;
                    let what = if approve {
                        "slot_approved"
                    } else {
                        "slot_rejected"
                    };
                    let note = Some(match &comment {
                        Some(c) => format!("{t}: {c}"),
                        None => t.clone(),
                    });
                    dr.record(what, status, Some(&by), now, note);
                    let ty = if approve {
                        EventType::DrApproved
                    } else {
                        EventType::DrRejected
                    };
                    emit(tx, ty, &dr, Some(&by), now, Some(&slot))?;
                    settle(tx, &mut dr, Some(&by), now)?;
                }
                RequestAction::StepDone { step } => {
                    if !acting.allows(Permission::ManageRequests) {
                        acting.require(Permission::Approve)?;
                    }
                    dr.expect(
                        "worked on",
                        &[RequestStatus::InProgress, RequestStatus::Approved],
                    )?;
                    let text = step.trim();
                    let Some(index) = dr.steps.iter().position(|s| s.text == text) else {
                        let all: Vec<String> =
                            dr.steps.iter().map(|s| format!("\"{}\"", s.text)).collect();
                        return Err(Error::invalid(
                            "step",
                            format!(
                                "Deployment Request `{}` has no step \"{text}\"; its steps: {}",
                                dr.name,
                                if all.is_empty() {
                                    "none".to_string()
                                } else {
                                    all.join(", ")
                                }
                            ),
                        ));
                    };
                    if let (Some(b), Some(at)) = (&dr.steps[index].done_by, dr.steps[index].done_at)
                    {
                        return Err(Error::invalid(
                            "step",
                            format!(
                                "\"{text}\" was already done by {b} at {}",
                                crate::policy::rfc3339(at)
                            ),
                        ));
                    }
                    if dr.steps[index].phase == StepPhase::Post {
                        let progress = progress_of(tx, &dr)?;
                        if dr.status != RequestStatus::Approved || !progress.deployed {
                            return Err(Error::invalid(
                                "step",
                                format!(
                                    "\"{text}\" is a post-deployment step: it can be done once \
                                     Deployment Request `{}` is approved and every deployment \
                                     succeeded ({} of {} deployed)",
                                    dr.name,
                                    progress
                                        .cells
                                        .iter()
                                        .filter(|c| c.state == CellState::Deployed)
                                        .count(),
                                    progress.cells.len()
                                ),
                            ));
                        }
                    }
                    dr.steps[index].done_by = Some(by.clone());
                    dr.steps[index].done_at = Some(now);
                    let status = dr.status;
                    dr.record("step_done", status, Some(&by), now, Some(text.to_string()));
                    emit(tx, EventType::DrUpdated, &dr, Some(&by), now, None)?;
                    settle(tx, &mut dr, Some(&by), now)?;
                }
            }
            tx.update_request(&dr)?;
            Ok(dr)
        })
    }

    /// One Deployment Request.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn request(&self, id: &str) -> Result<DeploymentRequest> {
        store::read(&*self.store, |tx| find_request(tx, id))
    }

    /// Deployment Requests, newest first, filtered.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn requests(&self, query: &RequestQuery) -> Result<Vec<DeploymentRequest>> {
        store::read(&*self.store, |tx| {
            Ok(tx
                .requests(query.status)?
                .into_iter()
                .filter(|r| {
                    query.product.as_deref().is_none_or(|p| {
                        r.versions
                            .iter()
                            .any(|v| crate::names::same(&v.product_name, p))
                    })
                })
                .filter(|r| {
                    query
                        .environment
                        .as_deref()
                        .is_none_or(|e| r.environments.iter().any(|x| crate::names::same(x, e)))
                })
                .filter(|r| !query.releases_only || r.is_release())
                .collect())
        })
    }

    /// The submitted Deployment Requests waiting for the caller (the handle's actor; through
    /// the server, the key's principal): each with the slot types still pending that the
    /// caller may fill — the role may grant the type, the caller has not decided a slot of it
    /// yet, and is not its creator filling a required slot when self-approval is off. Oldest
    /// first.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn requests_awaiting(&self) -> Result<Vec<(DeploymentRequest, Vec<String>)>> {
        let acting = self.acting()?;
        store::read(&*self.store, |tx| {
            let catalog = approval_catalog(tx)?;
            let mut out = Vec::new();
            let mut open = tx.requests(Some(RequestStatus::InProgress))?;
            open.extend(tx.requests(Some(RequestStatus::Approved))?);
            open.sort_by_key(|r| r.created_at);
            for dr in open {
                let who = acting.principal.as_deref().unwrap_or_default();
                if !who.is_empty() && dr.decided_by(who).is_some() {
                    continue;
                }
                let own = !who.is_empty() && principal_key(&dr.created_by) == principal_key(who);
                let mut types: Vec<String> = dr
                    .slots
                    .iter()
                    .filter(|s| s.status == SlotStatus::Pending)
                    .filter(|s| catalog.may_grant(acting.role, &s.approval_type))
                    .filter(|s| s.optional || dr.allow_self_approval || !own)
                    .map(|s| s.approval_type.clone())
                    .collect();
                types.dedup();
                if !types.is_empty() {
                    out.push((dr, types));
                }
            }
            Ok(out)
        })
    }

    /// A Deployment Request's progress grid: each version × environment, deployed, not
    /// deployed, failed or in progress (its newest deployment there).
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn request_progress(&self, id: &str) -> Result<Progress> {
        store::read(&*self.store, |tx| {
            let dr = find_request(tx, id)?;
            progress_of(tx, &dr)
        })
    }

    /// Every Deployment Request template, by name.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn request_templates(&self) -> Result<Vec<RequestTemplate>> {
        store::read(&*self.store, |tx| tx.request_templates())
    }

    /// Adds or replaces templates (by name), all or none; needs the `rules` permission (the
    /// reference's "manage variables & templates"). Templates can also be declared in the
    /// policy file (`[[request_templates]]`).
    ///
    /// # Errors
    /// `INVALID_INPUT` (a blank or repeated name, an unknown approval type, a repeated step or
    /// environment); `FORBIDDEN`; `STORAGE`.
    pub fn put_request_templates(
        &self,
        templates: &[RequestTemplate],
    ) -> Result<Vec<RequestTemplate>> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageRules)?;
            put_templates(tx, &acting, templates, now)
        })
    }

    /// Removes a template (requests created from it keep what it filled in).
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN`; `STORAGE`.
    pub fn delete_request_template(&self, name: &str) -> Result<()> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageRules)?;
            if !tx.delete_request_template(name.trim())? {
                return Err(Error::NotFound {
                    kind: "template",
                    name: name.to_string(),
                });
            }
            tx.append_event(
                &NewEvent::of(
                    EventType::DrTemplateRemoved,
                    now,
                    name.trim(),
                    &json!({"name": name.trim()}),
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(())
        })
    }
}

/// Validates and writes templates, all or none, each with its event.
fn put_templates(
    tx: &mut dyn Tx,
    acting: &Acting,
    templates: &[RequestTemplate],
    now: DateTime<Utc>,
) -> Result<Vec<RequestTemplate>> {
    let stored = tx.request_templates()?;
    let mut out: Vec<RequestTemplate> = Vec::new();
    for t in templates {
        let name = crate::event::required("name", Some(&t.name), 255)?;
        if out.iter().any(|o| o.name == name) {
            return Err(Error::invalid(
                "name",
                format!("the template `{name}` is given twice"),
            ));
        }
        request::valid_steps(&t.pre_steps, &t.post_steps)?;
        let slots = resolve_slots(tx, &t.slots)?;
        let clean = RequestTemplate {
            name: name.clone(),
            description: request::valid_description(t.description.as_deref())?,
            slots: slots
                .iter()
                .map(|s| SlotSpec {
                    approval_type: s.approval_type.clone(),
                    optional: s.optional,
                })
                .collect(),
            pre_steps: t.pre_steps.iter().map(|s| s.trim().to_string()).collect(),
            post_steps: t.post_steps.iter().map(|s| s.trim().to_string()).collect(),
            environments: request::valid_environments(&t.environments)?,
            allow_self_approval: t.allow_self_approval,
        };
        if stored.iter().find(|x| x.name == name) != Some(&clean) {
            tx.put_request_template(&clean)?;
            tx.append_event(
                &NewEvent::of(EventType::DrTemplateChanged, now, &name, &clean)
                    .by(acting.principal.as_deref()),
            )?;
        }
        out.push(clean);
    }
    Ok(out)
}

/// The setting naming the templates a policy file declared.
const DECLARED_TEMPLATES: &str = "request_templates.declared";

/// Applies a policy's `[[request_templates]]`: writes them; in replace mode removes those an
/// earlier policy declared that this one does not (templates added over the API stay).
pub(super) fn apply_declared_templates(
    tx: &mut dyn Tx,
    acting: &Acting,
    declared: Option<&[RequestTemplate]>,
    mode: crate::policy::ApplyMode,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::policy::ApplyMode;
    if declared.is_none() && mode == ApplyMode::Merge {
        return Ok(());
    }
    let before: Vec<String> = tx
        .setting(DECLARED_TEMPLATES)?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let written = put_templates(tx, acting, declared.unwrap_or(&[]), now)?;
    let mut names: Vec<String> = written.iter().map(|t| t.name.clone()).collect();
    if mode == ApplyMode::Replace {
        for gone in before.iter().filter(|n| !names.contains(n)) {
            if tx.delete_request_template(gone)? {
                tx.append_event(
                    &NewEvent::of(
                        EventType::DrTemplateRemoved,
                        now,
                        gone,
                        &json!({"name": gone}),
                    )
                    .by(acting.principal.as_deref()),
                )?;
            }
        }
    } else {
        for n in before {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let value = (!names.is_empty()).then(|| json!(names));
    if tx.setting(DECLARED_TEMPLATES)? != value {
        tx.put_setting(DECLARED_TEMPLATES, value.as_ref(), now)?;
    }
    Ok(())
}

/// The principal acting, required for Deployment Request work.
fn who(acting: &Acting, field: &str) -> Result<String> {
    acting.principal.clone().ok_or_else(|| {
        Error::invalid(
            field,
            "is required: who does this (in process, name them or act as someone)",
        )
    })
}

fn find_request(tx: &mut dyn Tx, id: &str) -> Result<DeploymentRequest> {
    tx.request(id.trim())?.ok_or_else(|| Error::NotFound {
        kind: "deployment request",
        name: id.to_string(),
    })
}

fn find_template(tx: &mut dyn Tx, name: &str) -> Result<RequestTemplate> {
    tx.request_templates()?
        .into_iter()
        .find(|t| t.name == name || crate::names::same(&t.name, name))
        .ok_or_else(|| Error::NotFound {
            kind: "template",
            name: name.to_string(),
        })
}

/// Environment names as recorded where known (`Production` is `production`), else as given.
fn resolve_environments(tx: &mut dyn Tx, names: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in request::valid_environments(names)? {
        let e = lookup_environment(tx, &name)?;
        out.push(e.map_or(name, |e| e.name));
    }
    request::valid_environments(&out)
}

fn any_production(tx: &mut dyn Tx, environments: &[String]) -> bool {
    environments.iter().any(|name| {
        let t = tx
            .environment(name)
            .ok()
            .flatten()
            .map_or_else(|| EnvironmentType::infer(name), |e| e.env_type);
        t == EnvironmentType::Production
    })
}

fn resolve_slots(tx: &mut dyn Tx, specs: &[SlotSpec]) -> Result<Vec<Slot>> {
    request::check_slot_count(specs)?;
    let catalog = approval_catalog(tx)?;
    let types = specs
        .iter()
        .map(|s| Ok((catalog.resolve(&s.approval_type)?, s.optional)))
        .collect::<Result<Vec<_>>>()?;
    Ok(request::open_slots(types))
}

/// Adds recorded versions, one per product (a product already present moves to the version).
fn add_versions(tx: &mut dyn Tx, dr: &mut DeploymentRequest, refs: &[VersionRef]) -> Result<()> {
    let mut seen: Vec<String> = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let product = crate::event::required(
            &format!("versions[{i}].product_name"),
            Some(&r.product_name),
            255,
        )?;
        let version =
            crate::event::required(&format!("versions[{i}].version"), Some(&r.version), 100)?;
        let (p, v) = find_version(tx, &product, &version)?;
        if seen.contains(&p.name) {
            return Err(Error::invalid(
                "versions",
                format!(
                    "names two versions of `{}`; a Deployment Request deploys one version per product",
                    p.name
                ),
            ));
        }
        seen.push(p.name.clone());
        dr.versions.retain(|x| x.product_name != p.name);
        dr.versions.push(RequestVersion {
            product_name: p.name,
            version: v.version,
            version_id: v.id,
        });
    }
    if dr.versions.len() > request::MAX_VERSIONS {
        return Err(Error::invalid(
            "versions",
            format!(
                "{} versions; the limit is {}",
                dr.versions.len(),
                request::MAX_VERSIONS
            ),
        ));
    }
    Ok(())
}

/// The first pending slot of `approval_type` (required before optional).
fn pending_slot(dr: &DeploymentRequest, approval_type: &str) -> Result<usize> {
    let of_type = |optional: bool| {
        dr.slots.iter().position(|s| {
            s.approval_type == approval_type
                && s.optional == optional
                && s.status == SlotStatus::Pending
        })
    };
    if let Some(i) = of_type(false).or_else(|| of_type(true)) {
        return Ok(i);
    }
    let types: Vec<&str> = dr.slots.iter().map(|s| s.approval_type.as_str()).collect();
    Err(Error::invalid(
        "approval_type",
        if types.contains(&approval_type) {
            format!(
                "every `{approval_type}` slot of Deployment Request `{}` is already decided",
                dr.name
            )
        } else {
            format!(
                "Deployment Request `{}` has no `{approval_type}` slot; its slots: {}",
                dr.name,
                if types.is_empty() {
                    "none".to_string()
                } else {
                    types.join(", ")
                }
            )
        },
    ))
}

/// Moves a submitted request to the status its slots and deployments call for: approved,
/// rejected, deployed (all cells succeeded), completed (and post-steps done).
fn settle(
    tx: &mut dyn Tx,
    dr: &mut DeploymentRequest,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    if !dr.status.is_submitted() {
        return Ok(());
    }
    let target = dr.settled_status();
    if target != dr.status {
        dr.record(target.as_str(), target, by, now, None);
        if target == RequestStatus::Approved {
            emit(tx, EventType::DrUpdated, dr, by, now, None)?;
        }
    }
    if dr.status != RequestStatus::Approved {
        return Ok(());
    }
    let progress = progress_of(tx, dr)?;
    if progress.deployed && dr.deployed_at.is_none() {
        dr.deployed_at = Some(now);
        dr.record("deployed", RequestStatus::Approved, None, now, None);
        emit(tx, EventType::DrUpdated, dr, None, now, None)?;
    }
    if progress.deployed && dr.open_steps(StepPhase::Post).is_empty() {
        dr.record("completed", RequestStatus::Completed, by, now, None);
        emit(tx, EventType::DrCompleted, dr, by, now, None)?;
    }
    Ok(())
}

/// After a deployment of `version_id` to `environment` completed: the approved requests it
/// finishes.
pub(super) fn settle_after_deployment(
    tx: &mut dyn Tx,
    version_id: &str,
    environment: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    for mut dr in tx.requests_covering(version_id, &crate::names::key(environment))? {
        if dr.status != RequestStatus::Approved {
            continue;
        }
        let before = (dr.status, dr.deployed_at);
        settle(tx, &mut dr, None, now)?;
        if (dr.status, dr.deployed_at) != before {
            tx.update_request(&dr)?;
        }
    }
    Ok(())
}

/// The progress grid, read in `tx`.
fn progress_of(tx: &mut dyn Tx, dr: &DeploymentRequest) -> Result<Progress> {
    let mut cells = Vec::new();
    let envs: Vec<_> = dr
        .environments
        .iter()
        .map(|name| Ok((name.clone(), lookup_environment(tx, name)?)))
        .collect::<Result<Vec<_>>>()?;
    for v in &dr.versions {
        let version = tx.version_by_id(&v.version_id)?;
        for (name, env) in &envs {
            let newest = match (&version, env) {
                (Some(version), Some(env)) => tx
                    .history(&HistoryFilter {
                        product: Some(version.product_key),
                        environment: Some(env.key),
                        version: Some(version.key),
                        limit: 1,
                        ..HistoryFilter::default()
                    })?
                    .into_iter()
                    .next(),
                _ => None,
            };
            let state = match newest.as_ref().map(|d| d.status) {
                None => CellState::NotDeployed,
                Some(Status::Completed) => CellState::Deployed,
                Some(Status::Failed | Status::Aborted) => CellState::Failed,
                Some(Status::Pending | Status::Started) => CellState::InProgress,
            };
            cells.push(ProgressCell {
                product_name: v.product_name.clone(),
                version: v.version.clone(),
                environment: name.clone(),
                state,
                deployment_id: newest.map(|d| d.id),
            });
        }
    }
    Ok(Progress {
        request_id: dr.id.clone(),
        status: dr.status,
        deployed: !cells.is_empty() && cells.iter().all(|c| c.state == CellState::Deployed),
        cells,
    })
}

/// Writes a `dr.*` event: the request's record, and for a slot decision the slot.
fn emit(
    tx: &mut dyn Tx,
    event_type: EventType,
    dr: &DeploymentRequest,
    by: Option<&str>,
    now: DateTime<Utc>,
    slot: Option<&Slot>,
) -> Result<()> {
    let mut payload = serde_json::to_value(dr)
        .map_err(|e| Error::internal(format!("cannot encode a Deployment Request: {e}")))?;
    if let (Some(slot), Value::Object(m)) = (slot, &mut payload) {
        m.insert(
            "slot".into(),
            serde_json::to_value(slot).unwrap_or(Value::Null),
        );
    }
    tx.append_event(&NewEvent::of(event_type, now, &dr.id, &payload).by(by))?;
    Ok(())
}
