//! Tracking: recording build and deployment events.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::decision::{DecisionOutcome, DecisionRecord, policy_hash};
use crate::error::{Error, Result};
use crate::event::{BuildEvent, DeploymentEvent, ValidBuild, ValidDeployment};
use crate::model::{Build, Deployment, Product, Version};
use crate::outbox::{EventType, NewEvent};
use crate::policy::{self, Preflight, PreflightStatus, Rule};
use crate::status::Status;
use crate::store::{self, LockScope, Tx};

use super::preflight::{Target, gather_facts};
use super::{Versioner, new_environment, new_product, product_or_create};

impl Versioner {
    /// Records a build event. Creates the product and version on first sight; the first SHA
    /// recorded for a version is permanent. A `started` event opens a build; a terminal one
    /// closes the newest open build of the version (or records a closed one). Repeating an
    /// event with the same `invoke_id` and status returns the recorded build and writes nothing.
    ///
    /// The actor (see [`Versioner::acting_as`]) is recorded as `recorded_by`, and as
    /// `built_by` unless the event names someone.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the field; `VERSION_CONFLICT`; `FORBIDDEN` when the actor's role
    /// may not send events; `STORAGE`. Nothing is written on error.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, ErrorCode, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// let mut build = BuildEvent::new("api", "1.2.0", "success");
    /// build.scm_sha = Some("4f2a9c1e".into());
    /// vr.track_build(&build)?;
    /// assert_eq!(vr.version("api", "1.2.0")?.scm_sha.as_deref(), Some("4f2a9c1e"));
    ///
    /// // A version is immutable: another commit for 1.2.0 is refused.
    /// build.scm_sha = Some("0d15ea5e".into());
    /// assert_eq!(vr.track_build(&build).unwrap_err().code(), ErrorCode::VersionConflict);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn track_build(&self, event: &BuildEvent) -> Result<Build> {
        let ev = self.attribute_build(event.validate()?)?;
        let payload = serde_json::to_value(event).unwrap_or(Value::Null);
        // INVARIANT: the clock is read once the write lock is held, so events are stamped in
        // the order they are serialized.
        self.write(&LockScope::Global, |tx| {
            record_build(tx, &ev, &payload, self.now(), Recording::Live)
        })
    }

    /// Records a deployment event.
    ///
    /// `pending` queues a deployment; `started` runs the preflight and, when every enabled rule
    /// holds, opens it (or moves the queued one to started); `completed`, `failed` and
    /// `aborted` close the newest open deployment of the same product, version and environment,
    /// or record a closed one when none is open. The preflight and the recording are one
    /// atomic step. Repeating an event with the same `invoke_id` and status returns the
    /// recorded deployment and writes nothing.
    ///
    /// An emergency bypass (`skip_preflight_checks` with `skip_preflight_reason`) records the
    /// deployment with what the rules would have said.
    ///
    /// The actor (see [`Versioner::acting_as`]) is recorded as `recorded_by`, and as
    /// `deployed_by` unless the event names someone (a CI key deploying for a person); the
    /// preflight never counts either as a release approver. An actor whose role may not send
    /// events is refused with `FORBIDDEN`.
    ///
    /// # Errors
    /// A blocked deployment is [`Error::Blocked`] with the whole verdict (codes
    /// `CONCURRENT_DEPLOYMENT`, `NO_DEPLOY_WINDOW`, `FLOW_VIOLATION`,
    /// `INSUFFICIENT_SOAK_TIME`, `APPROVAL_REQUIRED`, `QUALITY_APPROVAL_REQUIRED`);
    /// `INVALID_INPUT`; `VERSION_CONFLICT`; `STORAGE`. Nothing is written on error, except
    /// that a refusal appends its `deployment.preflight_failed` domain event.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::policy::{ApplyMode, PolicyFormat};
    /// use versioner_core::{DeploymentEvent, ErrorCode, Status, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.apply_policy_text(r#"
    ///     [[rules]]
    ///     name = "Staging before production"
    ///     type = "flow"
    ///     environments = ["production"]
    ///     prerequisites = ["staging"]
    /// "#, PolicyFormat::Toml, ApplyMode::Replace, "ci")?;
    ///
    /// // Refused by the preflight: the error carries the whole verdict.
    /// let err = vr
    ///     .track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "started"))
    ///     .unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::FlowViolation);
    /// assert!(err.verdict().is_some());
    ///
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
    /// let started = vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "started"))?;
    /// let done = vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "completed"))?;
    /// assert_eq!(done.id, started.id);       // `completed` closes the open deployment
    /// assert_eq!(done.status, Status::Completed);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn track_deployment(&self, event: &DeploymentEvent) -> Result<Deployment> {
        let ev = self.attribute_deployment(event.validate()?)?;
        let payload = serde_json::to_value(event).unwrap_or(Value::Null);
        let lock = LockScope::Environment(ev.environment.clone());
        // INVARIANT: the clock is read once the environment's lock is held, so a preflight
        // never evaluates at an instant earlier than a deployment it must see.
        let mut refusal: Option<DecisionRecord> = None;
        let recorded = self.write(&lock, |tx| {
            record_deployment(tx, &ev, &payload, self.now(), Recording::Live, &mut refusal)
        });
        match recorded {
            Err(Error::Blocked(verdict)) => {
                // The refusal rolled everything back; its event is recorded on its own, so
                // that nothing but the event is written.
                let refused = serde_json::json!({
                    "decision_id": refusal.as_ref().map(|d| d.id.clone()),
                    "product_name": ev.product,
                    "version": ev.version,
                    "environment_name": ev.environment,
                    "deployed_by": ev.fields.deployed_by,
                    "event": payload,
                    "verdict": verdict,
                });
                let event = NewEvent {
                    event_type: EventType::DeploymentPreflightFailed,
                    occurred_at: verdict.evaluated_at(),
                    actor: ev
                        .fields
                        .recorded_by
                        .clone()
                        .or_else(|| ev.fields.deployed_by.clone()),
                    subject: None,
                    payload: refused,
                };
                let skews = skew_events(&verdict, None, event.actor.as_deref());
                // The decision is kept with it: nothing is lost from the audit trail.
                store::write(&*self.store, &lock, |tx| {
                    if let Some(decision) = &refusal {
                        tx.insert_decision(decision)?;
                    }
                    tx.append_event(&event)?;
                    for e in &skews {
                        tx.append_event(e)?;
                    }
                    Ok(())
                })?;
                Err(Error::Blocked(verdict))
            }
            other => other,
        }
    }
}

/// How an event is recorded: live, or as a line of imported history.
#[derive(Debug, Clone, Copy)]
pub(super) enum Recording {
    /// A live event: preflighted, announced in the outbox, stamped by the clock.
    Live,
    /// A line of a history file (see [`crate::import`]): its claimed times are kept; it is
    /// not preflighted, appends no domain event and settles no Deployment Request.
    Imported {
        /// The deployment's claimed start (a build's is in its event).
        started_at: Option<DateTime<Utc>>,
        /// The line's earliest claimed time: when a version it creates first appeared.
        first: DateTime<Utc>,
        /// Whether the four keys' rollups are kept per deployment (a large import refills them
        /// once at its end instead).
        roll_up: bool,
    },
}

impl Recording {
    fn is_live(self) -> bool {
        matches!(self, Recording::Live)
    }

    /// Whether a deployment finishing now is added to the four keys' rollups here.
    fn rolls_up(self) -> bool {
        match self {
            Recording::Live => true,
            Recording::Imported { roll_up, .. } => roll_up,
        }
    }

    /// When a version first seen now was created.
    fn created(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Recording::Live => now,
            Recording::Imported { first, .. } => first.min(now),
        }
    }
}

/// What an event says about the version it names.
struct VersionInfo<'a> {
    sha: Option<&'a str>,
    branch: Option<&'a str>,
    repository: Option<&'a str>,
    build_number: Option<&'a str>,
    build_url: Option<&'a str>,
    built_by: Option<&'a str>,
    committed_at: Option<DateTime<Utc>>,
}

/// Two SHAs name the same commit when one is a prefix of the other.
fn same_commit(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Finds or creates the version, enforcing immutability: the first SHA recorded wins, an
/// abbreviated SHA matches its full form (and a full SHA upgrades an abbreviated record), and
/// an event without a SHA never conflicts. Descriptive fields fill gaps, never overwrite.
fn version_or_create(
    tx: &mut dyn Tx,
    product: &Product,
    version: &str,
    info: &VersionInfo<'_>,
    now: DateTime<Utc>,
) -> Result<Version> {
    let found = tx.version(product, version)?;
    settle_version(tx, product, version, found, info, now)
}

/// [`version_or_create`] for a version already looked up (`found`).
fn settle_version(
    tx: &mut dyn Tx,
    product: &Product,
    version: &str,
    found: Option<Version>,
    info: &VersionInfo<'_>,
    now: DateTime<Utc>,
) -> Result<Version> {
    let Some(mut v) = found else {
        let v = Version {
            id: uuid::Uuid::now_v7().to_string(),
            product_id: product.id.clone(),
            product_name: product.name.clone(),
            version: version.to_string(),
            scm_sha: info.sha.map(str::to_string),
            scm_branch: info.branch.map(str::to_string),
            scm_repository: info.repository.map(str::to_string),
            build_number: info.build_number.map(str::to_string),
            build_url: info.build_url.map(str::to_string),
            built_by: info.built_by.map(str::to_string),
            created_at: now,
            scm_committed_at: info.committed_at,
            key: 0,
            product_key: product.key,
        };
        return tx.insert_version(&v);
    };
    let before = v.clone();
    if let Some(given) = info.sha {
        match &v.scm_sha {
            Some(recorded) if !same_commit(recorded, given) => {
                return Err(Error::VersionConflict {
                    product: product.name.clone(),
                    version: version.to_string(),
                    recorded: recorded.clone(),
                    given: given.to_string(),
                });
            }
            Some(recorded) if given.len() > recorded.len() => v.scm_sha = Some(given.to_string()),
            Some(_) => {}
            None => v.scm_sha = Some(given.to_string()),
        }
    }
    let fill = |slot: &mut Option<String>, value: Option<&str>| {
        if slot.is_none() {
            *slot = value.map(str::to_string);
        }
    };
    fill(&mut v.scm_branch, info.branch);
    fill(&mut v.scm_repository, info.repository);
    fill(&mut v.build_number, info.build_number);
    fill(&mut v.build_url, info.build_url);
    fill(&mut v.built_by, info.built_by);
    if v.scm_committed_at.is_none() {
        v.scm_committed_at = info.committed_at;
    }
    if v != before {
        tx.update_version(&v)?;
    }
    Ok(v)
}

fn merge_metadata(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, val) in from {
        into.insert(k.clone(), val.clone());
    }
}

pub(super) fn record_build(
    tx: &mut dyn Tx,
    ev: &ValidBuild,
    payload: &Value,
    now: DateTime<Utc>,
    how: Recording,
) -> Result<Build> {
    let f = &ev.fields;
    let product = product_or_create(tx, &ev.product, now)?;
    let info = VersionInfo {
        sha: f.scm_sha.as_deref(),
        branch: f.scm_branch.as_deref(),
        repository: f.scm_repository.as_deref(),
        build_number: f.build_number.as_deref(),
        build_url: f.build_url.as_deref(),
        built_by: f.built_by.as_deref(),
        committed_at: claimed("scm_committed_at", ev.committed_at, now)?,
    };
    let version = version_or_create(tx, &product, &ev.version, &info, how.created(now))?;
    if let Some(invoke) = &f.invoke_id
        && let Some(existing) = tx.build_by_invoke(version.key, invoke, ev.status)?
    {
        return Ok(existing);
    }
    let open = tx.newest_open_build(version.key)?;
    // INVARIANT: a terminal event closes the newest open build of the version; a `started`
    // event moves a queued (`pending`) build to started.
    let reuse = match (open, ev.status) {
        (Some(b), s) if s.is_terminal() => Some(b),
        (Some(b), Status::Started) if b.status == Status::Pending => Some(b),
        _ => None,
    };
    let terminal_at = claimed("completed_at", ev.completed_at, now)?.unwrap_or(now);
    let started_claim = claimed("started_at", ev.started_at, now)?;
    let build = match reuse {
        Some(mut b) => {
            b.status = ev.status;
            b.updated_at = now;
            if ev.status.is_terminal() {
                b.completed_at = Some(terminal_at);
            }
            if ev.status == Status::Started {
                b.started_at = Some(started_claim.unwrap_or(now));
            }
            overlay_build_fields(&mut b.fields, f);
            merge_metadata(&mut b.extra_metadata, &ev.metadata);
            tx.update_build(&b)?;
            b
        }
        None => {
            let mut b = Build {
                id: uuid::Uuid::now_v7().to_string(),
                version_id: version.id.clone(),
                product_id: product.id.clone(),
                product_name: product.name.clone(),
                version: version.version.clone(),
                status: ev.status,
                fields: f.clone(),
                started_at: match ev.status {
                    Status::Pending => started_claim,
                    _ => Some(started_claim.unwrap_or(now)),
                },
                completed_at: ev.status.is_terminal().then_some(terminal_at),
                created_at: now,
                updated_at: now,
                extra_metadata: ev.metadata.clone(),
                key: 0,
                version_key: version.key,
            };
            b.key = tx.insert_build(&b)?;
            b
        }
    };
    tx.append_build_event(build.key, ev.status, f.invoke_id.as_deref(), payload, now)?;
    // INVARIANT: imported history announces nothing: no notification fires for an old event.
    if how.is_live() {
        tx.append_event(
            &NewEvent::of(EventType::build(ev.status), now, &build.id, &build)
                .by(build.fields.built_by.as_deref()),
        )?;
    }
    Ok(build)
}

fn overlay<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        slot.clone_from(value);
    }
}

fn overlay_build_fields(b: &mut crate::model::BuildFields, f: &crate::model::BuildFields) {
    overlay(&mut b.built_by, &f.built_by);
    overlay(&mut b.built_by_email, &f.built_by_email);
    overlay(&mut b.built_by_name, &f.built_by_name);
    overlay(&mut b.scm_sha, &f.scm_sha);
    overlay(&mut b.scm_branch, &f.scm_branch);
    overlay(&mut b.scm_repository, &f.scm_repository);
    overlay(&mut b.build_url, &f.build_url);
    overlay(&mut b.build_number, &f.build_number);
    overlay(&mut b.source_system, &f.source_system);
    overlay(&mut b.invoke_id, &f.invoke_id);
    overlay(&mut b.error_message, &f.error_message);
    overlay(&mut b.error_code, &f.error_code);
    // Who recorded the build first stays; a later event fills it only when unknown.
    if b.recorded_by.is_none() {
        b.recorded_by.clone_from(&f.recorded_by);
    }
}

fn overlay_deployment_fields(
    d: &mut crate::model::DeploymentFields,
    f: &crate::model::DeploymentFields,
) {
    overlay(&mut d.deployed_by, &f.deployed_by);
    overlay(&mut d.deployed_by_email, &f.deployed_by_email);
    overlay(&mut d.deployed_by_name, &f.deployed_by_name);
    overlay(&mut d.scm_sha, &f.scm_sha);
    overlay(&mut d.scm_repository, &f.scm_repository);
    overlay(&mut d.scm_branch, &f.scm_branch);
    overlay(&mut d.build_number, &f.build_number);
    overlay(&mut d.source_system, &f.source_system);
    overlay(&mut d.invoke_id, &f.invoke_id);
    overlay(&mut d.deploy_url, &f.deploy_url);
    overlay(&mut d.build_url, &f.build_url);
    // Who recorded the deployment first stays; a later event fills it only when unknown.
    if d.recorded_by.is_none() {
        d.recorded_by.clone_from(&f.recorded_by);
    }
}

pub(super) fn record_deployment(
    tx: &mut dyn Tx,
    ev: &ValidDeployment,
    payload: &Value,
    now: DateTime<Utc>,
    how: Recording,
    refused: &mut Option<DecisionRecord>,
) -> Result<Deployment> {
    let f = &ev.fields;
    // One look-up of the target serves the replay check and the creation of what is missing.
    let found = Target::find(tx, &ev.product, &ev.version, &ev.environment)?;
    // Idempotent replay: the same run id and status for the same target writes nothing.
    if let (Some(invoke), Some(p), Some(v), Some(e)) = (
        &f.invoke_id,
        &found.product,
        &found.version,
        &found.environment,
    ) && let Some(existing) = tx.deployment_by_invoke(p.key, v.key, e.key, invoke, ev.status)?
    {
        return Ok(existing);
    }
    let product = match found.product {
        Some(p) => p,
        None => new_product(tx, &ev.product, now)?,
    };
    let environment = match found.environment {
        Some(e) => e,
        None => new_environment(tx, &ev.environment, now)?,
    };
    let info = VersionInfo {
        sha: f.scm_sha.as_deref(),
        branch: f.scm_branch.as_deref(),
        repository: f.scm_repository.as_deref(),
        build_number: f.build_number.as_deref(),
        build_url: f.build_url.as_deref(),
        built_by: None,
        committed_at: claimed("scm_committed_at", ev.committed_at, now)?,
    };
    let version = settle_version(
        tx,
        &product,
        &ev.version,
        found.version,
        &info,
        how.created(now),
    )?;
    let open = tx.newest_open_deployment(product.key, version.key, environment.key)?;
    // INVARIANT: a terminal event closes the newest open deployment of the same product,
    // version and environment; `started` moves a queued (`pending`) one to started.
    let reuse = match (open, ev.status) {
        (Some(d), s) if s.is_terminal() => Some(d),
        (Some(d), Status::Started) if d.status == Status::Pending => Some(d),
        _ => None,
    };
    // INVARIANT: nothing runs without a preflight. A `started` event is preflighted; so is a
    // `completed` one that closes no preflighted deployment (a pipeline that only reports
    // success must not walk around the rules). `failed`/`aborted` change nothing that runs.
    // Imported history is not preflighted: it has happened.
    let needs_preflight = how.is_live()
        && match ev.status {
            Status::Started => true,
            Status::Completed => reuse.as_ref().is_none_or(|d| d.preflight.is_none()),
            Status::Pending | Status::Failed | Status::Aborted => false,
        };
    let mut decision: Option<DecisionRecord> = None;
    let preflight = if needs_preflight {
        let rules: Vec<Rule> = tx.rules()?.into_iter().map(|r| r.rule).collect();
        let target = Target {
            product_name: product.name.clone(),
            version_name: version.version.clone(),
            environment_name: environment.name.clone(),
            product: Some(product.clone()),
            version: Some(version.clone()),
            environment: Some(environment.clone()),
        };
        let mut facts = gather_facts(
            tx,
            &rules,
            &target,
            f.deployed_by.as_deref(),
            reuse.as_ref().map(|d| d.key),
            None,
        )?;
        facts.principal.clone_from(&f.recorded_by);
        let verdict = policy::evaluate(&rules, &facts, now);
        // The decision record: the request, who asked, the verdict, the facts, the policy.
        let hash = policy_hash(&rules);
        tx.put_policy(
            &hash,
            &Value::Array(rules.iter().map(Rule::to_json).collect()),
            now,
        )?;
        decision = Some(DecisionRecord {
            id: uuid::Uuid::now_v7().to_string(),
            recorded_at: now,
            product_name: product.name.clone(),
            version: version.version.clone(),
            environment_name: environment.name.clone(),
            status: ev.status,
            outcome: DecisionOutcome::of(&verdict, ev.bypass.is_some()),
            // Who asked: the principal that recorded it, else the deployer it names.
            actor: f.recorded_by.clone().or_else(|| f.deployed_by.clone()),
            deployment_id: None,
            policy_hash: hash,
            request: payload.clone(),
            verdict: verdict.clone(),
            facts,
        });
        match (&ev.bypass, verdict.is_allowed()) {
            (Some(reason), _) => {
                tracing::warn!(
                    product = %product.name, version = %version.version, environment = %environment.name,
                    reason = %reason, allowed = verdict.is_allowed(), "preflight bypassed"
                );
                Some(Preflight {
                    status: PreflightStatus::Skipped,
                    verdict,
                    bypass_reason: Some(reason.clone()),
                })
            }
            (None, true) => Some(Preflight {
                status: PreflightStatus::Passed,
                verdict,
                bypass_reason: None,
            }),
            (None, false) => {
                *refused = decision;
                return Err(Error::Blocked(Box::new(verdict)));
            }
        }
    } else {
        None
    };
    let terminal_at = claimed("completed_at", ev.completed_at, now)?.unwrap_or(now);
    // The start a deployment claims: the clock's for a live event, the line's when imported.
    let (start, claimed_start) = match how {
        Recording::Live => (now, None),
        Recording::Imported { started_at, .. } => {
            let s = claimed("started_at", started_at, now)?;
            (s.unwrap_or(now), s)
        }
    };
    let deployment = match reuse {
        Some(mut d) => {
            d.status = ev.status;
            d.updated_at = now;
            if ev.status.is_terminal() {
                d.completed_at = Some(terminal_at);
                if claimed_start.is_some() && d.started_at.is_none() {
                    d.started_at = claimed_start;
                }
            } else {
                d.started_at = Some(start);
            }
            overlay_deployment_fields(&mut d.fields, f);
            merge_metadata(&mut d.extra_metadata, &ev.metadata);
            tx.update_deployment(&d)?;
            if let Some(p) = preflight {
                tx.set_preflight(d.key, &p)?;
                d.preflight = Some(p);
            }
            d
        }
        None => {
            let mut d = Deployment {
                id: uuid::Uuid::now_v7().to_string(),
                product_id: product.id.clone(),
                product_name: product.name.clone(),
                version_id: version.id.clone(),
                version: version.version.clone(),
                environment_id: environment.id.clone(),
                environment_name: environment.name.clone(),
                status: ev.status,
                fields: f.clone(),
                deployed_at: match (ev.status.is_terminal(), claimed_start) {
                    (_, Some(s)) => s,
                    (true, None) => terminal_at.min(now),
                    (false, None) => start,
                },
                started_at: if ev.status == Status::Started {
                    Some(start)
                } else {
                    claimed_start.filter(|_| ev.status.is_terminal())
                },
                completed_at: ev.status.is_terminal().then_some(terminal_at),
                updated_at: now,
                extra_metadata: ev.metadata.clone(),
                preflight,
                key: 0,
                product_key: product.key,
                version_key: version.key,
                environment_key: environment.key,
            };
            d.key = tx.insert_deployment(&d)?;
            d
        }
    };
    // INVARIANT: a deployment finishes once (a finished one is never reopened), so it is added
    // to the four keys' rollups exactly once: here, or by the refill ending a large import.
    if how.rolls_up() && matches!(deployment.status, Status::Completed | Status::Failed) {
        tx.roll_up_finish(&deployment)?;
    }
    tx.append_deployment_event(
        deployment.key,
        ev.status,
        f.invoke_id.as_deref(),
        payload,
        now,
    )?;
    // INVARIANT: imported history announces nothing: no notification fires for an old event.
    if how.is_live() {
        tx.append_event(
            &NewEvent::of(
                EventType::deployment(ev.status),
                now,
                &deployment.id,
                &deployment,
            )
            .by(deployment.fields.deployed_by.as_deref()),
        )?;
        if let Some(p) = &deployment.preflight {
            for e in skew_events(
                &p.verdict,
                Some(&deployment.id),
                deployment.fields.deployed_by.as_deref(),
            ) {
                tx.append_event(&e)?;
            }
        }
    }
    if let Some(mut d) = decision {
        d.deployment_id = Some(deployment.id.clone());
        tx.insert_decision(&d)?;
    }
    if ev.status == Status::Completed && how.is_live() {
        // The approved Deployment Requests this success finishes, in the same transaction.
        super::requests::settle_after_deployment(tx, &version.id, &environment.name, now)?;
    }
    Ok(deployment)
}

/// The `skew.exceeded` events of a verdict: one per failed `max_skew` rule (blocking, or
/// report-only), with the rule's details; `deployment_id` is `None` for a refusal.
fn skew_events(
    verdict: &policy::Verdict,
    deployment_id: Option<&str>,
    actor: Option<&str>,
) -> Vec<NewEvent> {
    verdict
        .outcomes()
        .iter()
        .filter(|o| o.rule_type == policy::RuleType::MaxSkew)
        .filter(|o| {
            matches!(
                o.status,
                policy::OutcomeStatus::Failed | policy::OutcomeStatus::FailedReportOnly
            )
        })
        .map(|o| {
            let payload = serde_json::json!({
                "rule_name": o.rule_name,
                "rule_status": o.rule_status,
                "blocked": o.status == policy::OutcomeStatus::Failed && deployment_id.is_none(),
                "message": o.message,
                "product_name": verdict.product_name(),
                "version": verdict.version(),
                "environment_name": verdict.environment_name(),
                "deployment_id": deployment_id,
                "details": o.details,
            });
            NewEvent::of(
                EventType::SkewExceeded,
                verdict.evaluated_at(),
                verdict.product_name(),
                &payload,
            )
            .by(actor)
        })
        .collect()
}

/// How far ahead of the server's clock a claimed time may be (clock skew between a runner
/// and the server); it is then recorded as the server's time.
const MAX_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// A time an event claims (`started_at`, `completed_at`): in the past as given, never in the
/// future — a little ahead (clock skew) is taken as now, further is refused.
fn claimed(
    field: &str,
    claim: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    match claim {
        Some(t) if t > now + MAX_CLOCK_SKEW => Err(Error::invalid(
            field,
            format!(
                "`{}` is in the future (the server's clock reads {}); report times that have passed",
                crate::policy::rfc3339(t),
                crate::policy::rfc3339(now)
            ),
        )),
        Some(t) => Ok(Some(t.min(now))),
        None => Ok(None),
    }
}
