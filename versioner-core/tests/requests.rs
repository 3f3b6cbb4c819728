//! Deployment Requests end to end, on SQLite and (with `VERSIONER_TEST_DATABASE_URL`)
//! PostgreSQL: the life of a request, who may fill its slots, its steps, what the preflight
//! says at each step, completion by deployments, the progress grid, templates, events, and
//! races between approvals and deployments from threads and processes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use versioner_core::policy::{ApplyMode, BlockCode, PolicyFormat};
use versioner_core::request::{CellState, SlotStatus};
use versioner_core::{
    Actor, BuildEvent, CheckRequest, DeploymentEvent, DeploymentRequest, Error, ErrorCode,
    EventType, ManualClock, RequestAction, RequestActionRequest, RequestChange, RequestDraft,
    RequestQuery, RequestStatus, RequestTemplate, Role, SlotSpec, Versioner,
};

const POLICY: &str = r#"
[[rules]]
name = "DR for production"
type = "deployment_request_required"
environments = ["production"]
approval_types = ["qa", "security"]
"#;

fn setup() -> Versioner {
    let vr = common::fresh();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    for p in ["api", "web", "worker"] {
        vr.track_build(&BuildEvent::new(p, "1.0.0", "completed"))
            .unwrap();
    }
    vr
}

fn started(vr: &Versioner, product: &str, env: &str) -> Result<(), Error> {
    vr.track_deployment(&DeploymentEvent::new(product, "1.0.0", env, "started"))
        .map(|_| ())
}

fn completed(vr: &Versioner, product: &str, env: &str) {
    vr.track_deployment(&DeploymentEvent::new(product, "1.0.0", env, "completed"))
        .unwrap();
}

fn blocked(r: Result<(), Error>) -> (ErrorCode, String) {
    match r {
        Err(e @ Error::Blocked(_)) => (e.code(), e.to_string()),
        other => panic!("expected a block, got {other:?}"),
    }
}

fn draft(name: &str) -> RequestDraft {
    let mut d = RequestDraft::new(name)
        .version("api", "1.0.0")
        .environment("production");
    d.slots = vec![SlotSpec::required("qa"), SlotSpec::required("security")];
    d.pre_steps = vec!["Announce in #deploys".into()];
    d.post_steps = vec!["Check the dashboards".into()];
    d.created_by = "dana".into();
    d
}

fn act(
    vr: &Versioner,
    id: &str,
    action: RequestAction,
    who: &str,
    role: &str,
) -> Result<DeploymentRequest, Error> {
    vr.act_on_request(id, &RequestActionRequest::new(action, who).with_role(role))
}

fn approve(t: &str) -> RequestAction {
    RequestAction::Approve {
        approval_type: t.into(),
    }
}

fn step(s: &str) -> RequestAction {
    RequestAction::StepDone { step: s.into() }
}

#[test]
fn a_request_governs_production_from_draft_to_completed() {
    let vr = setup();
    // No DR at all.
    let (code, msg) = blocked(started(&vr, "api", "production"));
    assert_eq!(code, ErrorCode::DeploymentRequestRequired);
    assert!(msg.contains("no submitted Deployment Request"), "{msg}");
    // A draft does not count (and blocks nothing on its own).
    let dr = vr.create_request(&draft("Q4")).unwrap();
    assert_eq!(dr.status, RequestStatus::Draft);
    assert!(!dr.allow_self_approval);
    let (code, _) = blocked(started(&vr, "api", "production"));
    assert_eq!(code, ErrorCode::DeploymentRequestRequired);
    // Submitted, waiting for both slots: pending, naming the missing slots and the open step.
    act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    let verdict = vr
        .check(&CheckRequest::new("api", "1.0.0", "production"))
        .unwrap();
    let pending = verdict
        .outcomes()
        .iter()
        .find(|o| o.code == Some(BlockCode::DeploymentRequestPending))
        .expect("the pending outcome");
    assert_eq!(pending.rule_name, "Deployment Request: Q4");
    assert_eq!(
        pending.details["missing_slots"],
        serde_json::json!(["qa", "security"])
    );
    assert_eq!(
        pending.details["open_pre_steps"],
        serde_json::json!(["Announce in #deploys"])
    );
    assert!(verdict.retry_after().is_none());
    // One slot approved: still pending.
    act(&vr, &dr.id, approve("qa"), "quinn", "qa").unwrap();
    let (code, msg) = blocked(started(&vr, "api", "production"));
    assert!(
        code == ErrorCode::DeploymentRequestPending || code == ErrorCode::DeploymentRequestRequired,
        "{code:?}"
    );
    assert!(msg.contains("security"), "{msg}");
    // A principal whose role may not grant `security`: refused, nothing written.
    let before = vr.request(&dr.id).unwrap();
    let e = act(&vr, &dr.id, approve("security"), "devon", "developer").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    assert!(e.to_string().contains("may not grant `security`"), "{e}");
    assert_eq!(vr.request(&dr.id).unwrap(), before);
    // The second slot: approved, but the pre-step is open.
    let now = act(&vr, &dr.id, approve("security"), "sam", "security").unwrap();
    assert_eq!(now.status, RequestStatus::Approved);
    let (code, msg) = blocked(started(&vr, "api", "production"));
    assert_eq!(code, ErrorCode::DeploymentRequestPending);
    assert!(msg.contains("Announce in #deploys"), "{msg}");
    // A post-deployment step before deploying: refused.
    let e = act(
        &vr,
        &dr.id,
        step("Check the dashboards"),
        "dana",
        "developer",
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("post-deployment step"), "{e}");
    // The pre-step done: the deployment goes ahead.
    act(
        &vr,
        &dr.id,
        step("Announce in #deploys"),
        "dana",
        "developer",
    )
    .unwrap();
    started(&vr, "api", "production").unwrap();
    let progress = vr.request_progress(&dr.id).unwrap();
    assert_eq!(progress.cells[0].state, CellState::InProgress);
    completed(&vr, "api", "production");
    let now = vr.request(&dr.id).unwrap();
    assert_eq!(now.status, RequestStatus::Approved, "the post-step is open");
    assert!(now.deployed_at.is_some());
    let done = act(
        &vr,
        &dr.id,
        step("Check the dashboards"),
        "dana",
        "developer",
    )
    .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    // Its history: every transition and decision with who, in order.
    let actions: Vec<&str> = done.history.iter().map(|t| t.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "created",
            "submitted",
            "slot_approved",
            "slot_approved",
            "approved",
            "step_done",
            "deployed",
            "step_done",
            "completed"
        ]
    );
    let qa = &done.slots[0];
    assert_eq!(qa.decided_by.as_deref(), Some("quinn"));
    assert_eq!(qa.decided_role.as_deref(), Some("qa"));
    // The outbox: the reference's dr.* events, one approved per slot.
    let events: Vec<EventType> = vr
        .events_since(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .filter(|t| t.is_request_event())
        .collect();
    assert_eq!(
        events,
        [
            EventType::DrCreated,
            EventType::DrActivated,
            EventType::DrApproved,
            EventType::DrApproved,
            EventType::DrCompleted
        ]
    );
    // A completed request no longer covers anything: the rule asks for a new one.
    let (code, _) = blocked(started(&vr, "api", "production"));
    assert_eq!(code, ErrorCode::DeploymentRequestRequired);
}

#[test]
fn a_rejected_slot_blocks_until_the_request_is_reworked() {
    let vr = setup();
    let dr = vr.create_request(&draft("R")).unwrap();
    act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    // Rejecting needs a comment.
    let e = act(
        &vr,
        &dr.id,
        RequestAction::Reject {
            approval_type: "qa".into(),
        },
        "quinn",
        "qa",
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("comment"));
    let r = vr
        .act_on_request(
            &dr.id,
            &RequestActionRequest::new(
                RequestAction::Reject {
                    approval_type: "qa".into(),
                },
                "quinn",
            )
            .with_role("qa")
            .with_comment("fails the smoke tests"),
        )
        .unwrap();
    assert_eq!(r.status, RequestStatus::Rejected);
    assert_eq!(r.slots[0].status, SlotStatus::Rejected);
    let (code, msg) = blocked(started(&vr, "api", "production"));
    assert_eq!(code, ErrorCode::DeploymentRequestPending);
    assert!(msg.contains("was rejected (qa by quinn"), "{msg}");
    // Approving a rejected request: illegal, naming the status.
    let e = act(&vr, &dr.id, approve("security"), "sam", "security").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("is rejected"), "{e}");
    // Deactivate: back to draft, decisions cleared.
    let r = act(&vr, &dr.id, RequestAction::Deactivate, "dana", "developer").unwrap();
    assert_eq!(r.status, RequestStatus::Draft);
    assert!(r.slots.iter().all(|s| s.status == SlotStatus::Pending));
    // Cancel, and then nothing more.
    let r = act(&vr, &dr.id, RequestAction::Cancel, "dana", "developer").unwrap();
    assert_eq!(r.status, RequestStatus::Cancelled);
    let e = act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap_err();
    assert!(e.to_string().contains("is cancelled"), "{e}");
}

#[test]
fn slots_are_filled_by_the_right_people_once_each() {
    let vr = setup();
    let dr = vr.create_request(&draft("S")).unwrap();
    act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    // The creator may not fill a required slot of a production request (even as admin).
    let e = act(&vr, &dr.id, approve("qa"), "dana", "admin").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    assert!(e.to_string().contains("self-approval is off"), "{e}");
    // One principal, one slot.
    act(&vr, &dr.id, approve("qa"), "lee", "release_manager").unwrap();
    let e = act(&vr, &dr.id, approve("security"), "Lee", "release_manager").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.to_string().contains("one person fills at most one slot"),
        "{e}"
    );
    // A type with no pending slot, and one the request does not have.
    let e = act(&vr, &dr.id, approve("qa"), "quinn", "qa").unwrap_err();
    assert!(e.to_string().contains("already decided"), "{e}");
    let e = act(&vr, &dr.id, approve("compliance"), "cole", "compliance").unwrap_err();
    assert!(e.to_string().contains("has no `compliance` slot"), "{e}");
    // Roles that may not manage requests may not create or submit them.
    let viewer = vr.acting_as(Actor::local("vic").with_role(Role::Qa));
    let mut d = draft("V");
    d.created_by = String::new();
    let e = viewer.create_request(&d).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    // Outside production, self-approval is on by default.
    let mut d = draft("Staging");
    d.environments = vec!["staging".into()];
    let s = vr.create_request(&d).unwrap();
    assert!(s.allow_self_approval);
    act(&vr, &s.id, RequestAction::Submit, "dana", "admin").unwrap();
    act(&vr, &s.id, approve("qa"), "dana", "admin").unwrap();
}

#[test]
fn bad_requests_are_refused_and_write_nothing() {
    let vr = setup();
    let seq = vr.events_since(0, 1000).unwrap().len();
    let cases: Vec<(RequestDraft, &str)> = vec![
        (RequestDraft::new(" ").by("d"), "name"),
        (
            {
                let mut d = draft("x");
                d.versions
                    .push(versioner_core::VersionRef::new("API", "1.0.0"));
                d
            },
            "versions",
        ),
        (
            {
                let mut d = draft("x");
                d.slots = vec![SlotSpec::required("vibes")];
                d
            },
            "approval_type",
        ),
        (
            {
                let mut d = draft("x");
                d.environments = vec!["prod".into(), "PROD".into()];
                d
            },
            "environments",
        ),
        (
            {
                let mut d = draft("x");
                d.pre_steps = vec!["a".into(), "a".into()];
                d
            },
            "pre_steps",
        ),
        (
            {
                let mut d = draft("x");
                d.created_by = String::new();
                d
            },
            "created_by",
        ),
    ];
    for (d, field) in cases {
        let e = vr.create_request(&d).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{field}: {e}");
        assert_eq!(e.field(), Some(field), "{e}");
    }
    let e = vr
        .create_request(&RequestDraft::new("x").version("api", "9.9.9").by("d"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    let e = vr
        .create_request(&{
            let mut d = RequestDraft::new("x").by("d");
            d.template = Some("nope".into());
            d
        })
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(vr.events_since(0, 1000).unwrap().len(), seq);
    assert!(vr.requests(&RequestQuery::default()).unwrap().is_empty());
    // A draft without a version cannot be submitted.
    let empty = vr
        .create_request(&RequestDraft::new("empty").environment("production").by("d"))
        .unwrap();
    let e = act(&vr, &empty.id, RequestAction::Submit, "d", "admin").unwrap_err();
    assert_eq!(e.field(), Some("versions"));
    assert_eq!(vr.request(&empty.id).unwrap().status, RequestStatus::Draft);
    let e = vr.request("no-such-id").unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[test]
fn a_multi_product_request_tracks_its_grid_to_completion() {
    let vr = setup();
    let mut d = RequestDraft::new("Platform 3")
        .version("api", "1.0.0")
        .version("web", "1.0.0")
        .version("worker", "1.0.0")
        .environment("staging")
        .environment("production");
    d.slots = vec![SlotSpec::required("qa"), SlotSpec::required("security")];
    d.created_by = "dana".into();
    let dr = vr.create_request(&d).unwrap();
    let states = |vr: &Versioner| -> Vec<CellState> {
        vr.request_progress(&dr.id)
            .unwrap()
            .cells
            .iter()
            .map(|c| c.state)
            .collect()
    };
    assert_eq!(states(&vr), vec![CellState::NotDeployed; 6]);
    act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    // Staging is covered too: pending until approved.
    let (code, _) = blocked(started(&vr, "web", "staging"));
    assert_eq!(code, ErrorCode::DeploymentRequestPending);
    act(&vr, &dr.id, approve("qa"), "quinn", "qa").unwrap();
    act(&vr, &dr.id, approve("security"), "sam", "security").unwrap();
    started(&vr, "api", "staging").unwrap();
    completed(&vr, "api", "staging");
    started(&vr, "web", "staging").unwrap();
    vr.track_deployment(&DeploymentEvent::new("web", "1.0.0", "staging", "failed"))
        .unwrap();
    started(&vr, "worker", "staging").unwrap();
    use CellState::{Deployed as D, Failed as F, InProgress as I, NotDeployed as N};
    // Order: api (staging, production), web (...), worker (...).
    assert_eq!(states(&vr), [D, N, F, N, I, N]);
    completed(&vr, "worker", "staging");
    started(&vr, "web", "staging").unwrap();
    completed(&vr, "web", "staging");
    for p in ["api", "web", "worker"] {
        started(&vr, p, "production").unwrap();
        assert_ne!(vr.request(&dr.id).unwrap().status, RequestStatus::Completed);
        completed(&vr, p, "production");
    }
    assert_eq!(states(&vr), [D; 6]);
    let done = vr.request(&dr.id).unwrap();
    assert_eq!(done.status, RequestStatus::Completed, "no post-steps");
    let progress = vr.request_progress(&dr.id).unwrap();
    assert!(progress.deployed);
    // Filters.
    let q = |status: Option<RequestStatus>, product: Option<&str>, env: Option<&str>| {
        let mut q = RequestQuery::default();
        q.status = status;
        q.product = product.map(str::to_string);
        q.environment = env.map(str::to_string);
        vr.requests(&q).unwrap().len()
    };
    assert_eq!(
        q(
            Some(RequestStatus::Completed),
            Some("WEB"),
            Some("production")
        ),
        1
    );
    assert_eq!(q(Some(RequestStatus::Draft), None, None), 0);
    assert_eq!(q(None, Some("other"), None), 0);
}

#[test]
fn a_release_tracks_versions_without_approvals() {
    let vr = common::fresh();
    vr.track_build(&BuildEvent::new("api", "2.0.0", "completed"))
        .unwrap();
    let mut d = RequestDraft::new("Release 2").version("api", "2.0.0");
    d.created_by = "rel".into();
    let r = vr.create_request(&d).unwrap();
    assert!(r.is_release());
    // A release with no environment can be submitted and completed by hand.
    let r = act(&vr, &r.id, RequestAction::Submit, "rel", "release_manager").unwrap();
    assert_eq!(r.status, RequestStatus::Approved);
    assert_eq!(r.status.release_status(), "in_progress");
    // Versions can still be changed while it runs.
    vr.track_build(&BuildEvent::new("api", "2.0.1", "completed"))
        .unwrap();
    let mut change = RequestChange::default();
    change.add_versions = vec![versioner_core::VersionRef::new("api", "2.0.1")];
    change.actor = "rel".into();
    let r = vr.update_request(&r.id, &change).unwrap();
    assert_eq!(r.versions.len(), 1);
    assert_eq!(r.versions[0].version, "2.0.1");
    let r = act(
        &vr,
        &r.id,
        RequestAction::Complete,
        "rel",
        "release_manager",
    )
    .unwrap();
    assert_eq!(r.status, RequestStatus::Completed);
    let mut q = RequestQuery::default();
    q.releases_only = true;
    assert_eq!(vr.requests(&q).unwrap().len(), 1);
}

#[test]
fn templates_prefill_requests() {
    let vr = setup();
    let mut t = RequestTemplate::default();
    t.name = "Production change".into();
    t.description = Some("Standard production change".into());
    t.slots = vec![SlotSpec::required("qa"), SlotSpec::optional("security")];
    t.pre_steps = vec!["Freeze merges".into()];
    t.environments = vec!["production".into()];
    let saved = vr.put_request_templates(&[t]).unwrap();
    assert_eq!(saved.len(), 1);
    let mut d = RequestDraft::new("From template").version("api", "1.0.0");
    d.template = Some("production change".into());
    d.created_by = "dana".into();
    let dr = vr.create_request(&d).unwrap();
    assert_eq!(dr.template.as_deref(), Some("Production change"));
    assert_eq!(dr.environments, ["production"]);
    assert_eq!(dr.slots.len(), 2);
    assert!(dr.slots[1].optional);
    assert_eq!(
        dr.description.as_deref(),
        Some("Standard production change")
    );
    // Optional slots advise: approving the required one is enough.
    act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    let r = act(&vr, &dr.id, approve("qa"), "quinn", "qa").unwrap();
    assert_eq!(r.status, RequestStatus::Approved);
    // Template files and their errors.
    let file = versioner_core::request::TemplateFile::parse(
        "[[templates]]\nname = \"x\"\nslots = [{ approval_type = \"vibes\" }]\n",
    )
    .unwrap();
    let e = vr.put_request_templates(&file.templates).unwrap_err();
    assert_eq!(e.field(), Some("approval_type"));
    assert_eq!(vr.request_templates().unwrap().len(), 1);
    vr.delete_request_template("Production change").unwrap();
    assert_eq!(
        vr.delete_request_template("Production change")
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

#[test]
fn approvals_lapse_after_the_rules_timeout() {
    let clock = ManualClock::new("2026-11-20T10:00:00Z".parse::<DateTime<Utc>>().unwrap());
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    vr.apply_policy_text(
        "[[rules]]\nname = 'DR'\ntype = 'deployment_request_required'\nenvironments = ['production']\napproval_timeout = '24h'\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    let mut d = RequestDraft::new("L")
        .version("api", "1.0.0")
        .environment("production");
    d.slots = vec![SlotSpec::required("qa")];
    d.created_by = "dana".into();
    let dr = vr.create_request(&d).unwrap();
    act(&vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    act(&vr, &dr.id, approve("qa"), "quinn", "qa").unwrap();
    let ok = vr
        .check(&CheckRequest::new("api", "1.0.0", "production"))
        .unwrap();
    assert!(ok.is_allowed(), "{ok:?}");
    clock.advance(chrono::TimeDelta::hours(25));
    let late = vr
        .check(&CheckRequest::new("api", "1.0.0", "production"))
        .unwrap();
    assert_eq!(late.code(), Some(BlockCode::DeploymentRequestRequired));
    assert!(
        late.primary().unwrap().message.contains("(lapsed)"),
        "{late:?}"
    );
}

// ----- races -----------------------------------------------------------------------------

/// A request with two open slots on `api` 1.0.0 to production, submitted.
fn racing_request(vr: &Versioner, n: usize) -> String {
    let mut d = RequestDraft::new(format!("race {n}"))
        .version("api", "1.0.0")
        .environment("production");
    d.slots = vec![SlotSpec::required("qa"), SlotSpec::required("security")];
    d.created_by = "dana".into();
    let dr = vr.create_request(&d).unwrap();
    act(vr, &dr.id, RequestAction::Submit, "dana", "developer").unwrap();
    dr.id
}

/// After a race: the request holds both approvals (none lost), and a deployment that went
/// ahead was decided on facts that showed the request approved.
fn check_race(vr: &Versioner, id: &str, deployed: Option<String>) {
    let dr = vr.request(id).unwrap();
    // Completed at once when an earlier round left the version deployed.
    assert!(
        matches!(
            dr.status,
            RequestStatus::Approved | RequestStatus::Completed
        ),
        "{dr:?}"
    );
    assert!(dr.slots.iter().all(|s| s.status == SlotStatus::Approved));
    if let Some(deployment) = deployed {
        let decision = vr.decision_for_deployment(&deployment).unwrap().unwrap();
        let seen = &decision.facts.deployment_requests;
        assert!(
            !seen.is_empty() && seen.iter().all(|r| r.status == RequestStatus::Approved),
            "a deployment went through an unapproved request: {seen:?}"
        );
        vr.track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "completed",
        ))
        .unwrap();
    }
}

#[test]
fn racing_approvals_and_a_deployment_never_pass_an_unapproved_request_threads() {
    let dir = tempfile::tempdir().unwrap();
    let vr = common::open(&common::new_location(dir.path()));
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    for n in 0..8 {
        let id = racing_request(&vr, n);
        let barrier = Arc::new(Barrier::new(3));
        let run = |who: &'static str, role: &'static str, t: &'static str| {
            let (vr, id, barrier) = (vr.clone(), id.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                act(&vr, &id, approve(t), who, role).map(|_| ())
            })
        };
        let a = run("quinn", "qa", "qa");
        let b = run("sam", "security", "security");
        let (vr2, barrier2) = (vr.clone(), barrier.clone());
        let deploy = std::thread::spawn(move || {
            barrier2.wait();
            vr2.track_deployment(&DeploymentEvent::new(
                "api",
                "1.0.0",
                "production",
                "started",
            ))
            .map(|d| Some(d.id))
        });
        a.join().unwrap().unwrap();
        b.join().unwrap().unwrap();
        let deployed = match deploy.join().unwrap() {
            Ok(d) => d,
            Err(e) => {
                assert!(e.code().is_blocked(), "{e}");
                None
            }
        };
        check_race(&vr, &id, deployed);
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// The child side of the process race: runs only when the parent sets the variables.
#[test]
fn child_request_racer() {
    let (Ok(db), Ok(go), Ok(role), Ok(id)) = (
        std::env::var("VERSIONER_TEST_DR_DB"),
        std::env::var("VERSIONER_TEST_DR_GO"),
        std::env::var("VERSIONER_TEST_DR_ROLE"),
        std::env::var("VERSIONER_TEST_DR_ID"),
    ) else {
        return;
    };
    let vr = common::open(&db);
    let go: u128 = go.parse().unwrap();
    while now_ms() < go {
        std::thread::sleep(Duration::from_millis(1));
    }
    let line = match role.as_str() {
        "deploy" => match vr.track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "started",
        )) {
            Ok(d) => format!("DEPLOYED {}", d.id),
            Err(e) => format!("REFUSED {}", e.code().as_str()),
        },
        t => {
            let who = if t == "qa" { "quinn" } else { "sam" };
            act(&vr, &id, approve(t), who, t).unwrap();
            "APPROVED".to_string()
        }
    };
    println!("RESULT {line}");
}

#[test]
fn racing_approvals_and_a_deployment_never_pass_an_unapproved_request_processes() {
    let dir = tempfile::tempdir().unwrap();
    let location = common::new_location(dir.path());
    let vr = common::open(&location);
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    for n in 0..2 {
        let id = racing_request(&vr, n);
        let go = now_ms() + 1200;
        let children: Vec<_> = ["qa", "security", "deploy"]
            .iter()
            .map(|role| {
                Command::new(&exe)
                    .args([
                        "--exact",
                        "child_request_racer",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env("VERSIONER_TEST_DR_DB", &location)
                    .env("VERSIONER_TEST_DR_GO", go.to_string())
                    .env("VERSIONER_TEST_DR_ROLE", role)
                    .env("VERSIONER_TEST_DR_ID", &id)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut deployed = None;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = stdout
                .lines()
                .find_map(|l| l.find("RESULT ").map(|i| l[i + 7..].trim().to_string()))
                .expect("a result line");
            if let Some(id) = line.strip_prefix("DEPLOYED ") {
                deployed = Some(id.to_string());
            } else if let Some(code) = line.strip_prefix("REFUSED ") {
                assert!(code.starts_with("DEPLOYMENT_REQUEST_"), "{code}");
            }
        }
        check_race(&vr, &id, deployed);
    }
}

#[test]
fn a_policy_file_declares_templates_and_replace_removes_only_its_own() {
    let vr = setup();
    let mut api = RequestTemplate::default();
    api.name = "Added over the API".into();
    vr.put_request_templates(&[api]).unwrap();
    let with = format!(
        "{POLICY}\n[[request_templates]]\nname = \"Prod\"\nslots = [{{ approval_type = \"qa\" }}]\npre_steps = [\"Freeze merges\"]\nenvironments = [\"production\"]\n"
    );
    vr.apply_policy_text(&with, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    let names = |vr: &Versioner| -> Vec<String> {
        vr.request_templates()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect()
    };
    assert_eq!(names(&vr), ["Added over the API", "Prod"]);
    let mut d = RequestDraft::new("From the policy").version("api", "1.0.0");
    d.template = Some("Prod".into());
    d.created_by = "dana".into();
    let dr = vr.create_request(&d).unwrap();
    assert_eq!(dr.steps[0].text, "Freeze merges");
    // Applying the same policy again writes nothing.
    let seq = vr.last_event_seq().unwrap();
    vr.apply_policy_text(&with, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    assert_eq!(vr.last_event_seq().unwrap(), seq);
    // A policy without them removes the declared one only.
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    assert_eq!(names(&vr), ["Added over the API"]);
    // A bad template names itself and the key.
    let bad = format!("{POLICY}\n[[request_templates]]\nname = \"X\"\nstpes = []\n");
    let e = vr
        .apply_policy_text(&bad, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap_err();
    assert!(e.to_string().contains("stpes"), "{e}");
}
