//! Identity in process, on every store: the actor of a write (`Versioner::acting_as`),
//! principals and their roles, approvals as the actor's own with the actor's role, the
//! approval catalog, and keys with their invariants. Every refusal is checked for its code,
//! its message and that nothing was written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use versioner_core::access::{Actor, Permission};
use versioner_core::policy::{ApplyMode, PolicyFormat, Rule};
use versioner_core::{
    ApiKeyRequest, ApprovalRequest, BuildEvent, CheckRequest, DeploymentEvent, Error, ErrorCode,
    Role, Versioner,
};

fn built(vr: &Versioner, by: &str) {
    let mut b = BuildEvent::new("api", "1.0.0", "completed");
    b.built_by = Some(by.into());
    vr.track_build(&b).unwrap();
}

fn apply(vr: &Versioner, policy: &str) {
    vr.apply_policy_text(policy, PolicyFormat::Toml, ApplyMode::Replace, "setup")
        .unwrap();
}

#[track_caller]
fn assert_err(e: &Error, code: ErrorCode, field: Option<&str>, text: &str) {
    assert_eq!((e.code(), e.field()), (code, field), "{e}");
    assert!(e.to_string().contains(text), "`{text}` not in: {e}");
}

#[test]
fn the_actor_records_events_and_defaults_who_built_and_deployed() {
    let vr = common::fresh();
    let dana = vr.acting_as(Actor::local("dana"));
    assert_eq!(dana.actor().map(Actor::principal), Some("dana"));
    let b = dana
        .track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    assert_eq!(
        (
            b.fields.built_by.as_deref(),
            b.fields.recorded_by.as_deref()
        ),
        (Some("dana"), Some("dana"))
    );
    let mut ev = DeploymentEvent::new("api", "1.0.0", "staging", "completed");
    ev.deployed_by = Some("ci-user".into());
    let d = dana.track_deployment(&ev).unwrap();
    assert_eq!(
        (
            d.fields.deployed_by.as_deref(),
            d.fields.recorded_by.as_deref()
        ),
        (Some("ci-user"), Some("dana"))
    );
    // Without an actor nothing is attributed.
    let d = vr
        .track_deployment(&DeploymentEvent::new("api", "1.0.0", "dev", "completed"))
        .unwrap();
    assert_eq!((d.fields.deployed_by, d.fields.recorded_by), (None, None));
}

#[test]
fn a_registered_principal_acts_with_its_role_in_process_too() {
    let vr = common::fresh();
    vr.create_key(&ApiKeyRequest::new("v").principal("val").role(Role::Viewer))
        .unwrap();
    let val = vr.acting_as(Actor::local("VAL"));
    let before = vr.last_event_seq().unwrap();
    let e = val
        .track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::Forbidden,
        None,
        "`val` has the role viewer, which does not allow this (track)",
    );
    let rule = Rule::from_json(&serde_json::json!({"name": "S", "type": "concurrency"})).unwrap();
    let e = val.add_rule(&rule).unwrap_err();
    assert_err(
        &e,
        ErrorCode::Forbidden,
        None,
        "roles that do: admin, release_manager, sre",
    );
    let e = val.create_api_key("sneaky", Role::Admin).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    // A stated role must be the registered one.
    let e = vr
        .acting_as(Actor::local("val").with_role(Role::Admin))
        .track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("role"),
        "`val` is registered with the role viewer, not admin",
    );
    assert_eq!(vr.last_event_seq().unwrap(), before, "nothing was written");
    assert!(vr.rules().unwrap().is_empty() && vr.products().unwrap().is_empty());
    assert!(
        val.check(&CheckRequest::new("api", "1", "dev")).is_ok(),
        "a viewer reads"
    );
}

#[test]
fn approvals_are_the_actors_own_with_its_role() {
    let vr = common::fresh();
    built(&vr, "bob");
    // In process without an actor: the named approver, with the role it states.
    let a = vr
        .approve(&ApprovalRequest::new("api", "1.0.0", "release", "sam").with_role("SRE"))
        .unwrap();
    assert_eq!(
        (a.approver.as_str(), a.approver_role.as_deref()),
        ("sam", Some("sre"))
    );
    let before = vr.last_event_seq().unwrap();
    let e = vr
        .approve(&ApprovalRequest::new("api", "1.0.0", "qa", ""))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("approver"),
        "is required: who approves",
    );
    let e = vr
        .approve(&ApprovalRequest::new("api", "1.0.0", "qa", "q").with_role("qa_engineer"))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("approver_role"),
        "unknown role `qa_engineer`; expected one of: admin, release_manager",
    );
    // With an actor: blank means the actor; another name is refused.
    let quinn = vr.acting_as(Actor::local("quinn").with_role(Role::Qa));
    let e = quinn
        .approve(&ApprovalRequest::new("api", "1.0.0", "qa", "rita"))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("approver"),
        "`rita` is not the caller: this request acts as `quinn`",
    );
    let e = quinn
        .approve(&ApprovalRequest::new("api", "1.0.0", "qa", "").with_role("sre"))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("approver_role"),
        "`quinn` has the role qa, not sre",
    );
    let e = quinn
        .approve(&ApprovalRequest::new("api", "1.0.0", "security", ""))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::Forbidden,
        None,
        "which may not grant `security` approvals",
    );
    let e = quinn
        .approve(&ApprovalRequest::new("api", "1.0.0", "secuirty", ""))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("approval_type"),
        "accepted: qa, security, uat",
    );
    let e = vr
        .acting_as(Actor::local("cid").with_role(Role::Ci))
        .approve(&ApprovalRequest::new("api", "1.0.0", "qa", ""))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::Forbidden,
        None,
        "`cid` has the role ci, which does not allow this (approve)",
    );
    assert_eq!(vr.last_event_seq().unwrap(), before, "nothing was written");
    assert_eq!(vr.approvals("api", "1.0.0").unwrap().len(), 1);

    let a = quinn
        .approve(&ApprovalRequest::new("api", "1.0.0", "QA", ""))
        .unwrap();
    assert_eq!(
        (a.approver.as_str(), a.approver_role.as_deref()),
        ("quinn", Some("qa"))
    );
    // The legacy key of UAT.
    let p = vr
        .approve(&ApprovalRequest::new("api", "1.0.0", "product", "pat").with_role("product"))
        .unwrap();
    assert_eq!(p.approval_type, "uat");

    // Revoking: one's own, or as an admin or release manager.
    let e = vr
        .acting_as(Actor::local("sid").with_role(Role::Security))
        .revoke_approval(&a.id, "", "no")
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::Forbidden,
        None,
        "may revoke only their own approvals",
    );
    let e = quinn.revoke_approval(&a.id, "sam", "no").unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("actor"),
        "`sam` is not the caller",
    );
    let r = quinn.revoke_approval(&a.id, "", "wrong build").unwrap();
    assert_eq!(r.revoked_by.as_deref(), Some("quinn"));
}

const ONE_RELEASE_APPROVAL: &str = r#"
[[rules]]
name = "One approver"
type = "release_approval"
environments = ["production"]
required = 1
"#;

#[test]
fn self_approval_exclusion_compares_principals() {
    let vr = common::fresh();
    apply(&vr, ONE_RELEASE_APPROVAL);
    built(&vr, "bob");
    let dee = vr.acting_as(Actor::local("dee").with_role(Role::Sre));
    dee.approve(&ApprovalRequest::new("api", "1.0.0", "release", ""))
        .unwrap();
    // dee deploying, claiming to be zed: dee's approval does not count.
    let mut ev = DeploymentEvent::new("api", "1.0.0", "production", "started");
    ev.deployed_by = Some("zed".into());
    let e = dee.track_deployment(&ev).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ApprovalRequired);
    // The dry run agrees, for the caller.
    let mut check = CheckRequest::new("api", "1.0.0", "production");
    check.deployed_by = Some("zed".into());
    assert!(!dee.check(&check).unwrap().is_allowed());
    assert!(
        vr.check(&check).unwrap().is_allowed(),
        "someone else deploying for zed"
    );
    // The builder's own approval never counts either, in any case of its name.
    let bob = vr.acting_as(Actor::local("BOB").with_role(Role::Qa));
    bob.approve(&ApprovalRequest::new("api", "1.0.0", "release", ""))
        .unwrap();
    let e = vr
        .acting_as(Actor::local("dee"))
        .track_deployment(&ev)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ApprovalRequired);
    let v = e.verdict().unwrap();
    let excluded = &v.outcomes()[0].details["excluded"];
    assert_eq!(excluded.as_array().unwrap().len(), 2, "{excluded}");
    // Anyone else deploying: dee's approval counts.
    assert!(
        vr.acting_as(Actor::local("eve"))
            .track_deployment(&ev)
            .is_ok()
    );
}

#[test]
fn the_catalog_follows_the_applied_policy() {
    let vr = common::fresh();
    built(&vr, "bob");
    let policy = r#"
[approvals]
types = ["change_board"]
[approvals.grants]
compliance = ["compliance", "change_board"]

[[rules]]
name = "Board"
type = "version_approval"
approval_types = ["change_board"]
"#;
    apply(&vr, policy);
    let c = vr.approval_catalog().unwrap();
    assert!(
        c.may_grant(Role::Compliance, "change_board") && !c.may_grant(Role::Compliance, "release")
    );
    // Merge without a catalog keeps it; a rule may name its types.
    vr.apply_policy_text(
        "[[rules]]\nname = 'More'\ntype = 'version_approval'\napproval_types = ['change_board']\n",
        PolicyFormat::Toml,
        ApplyMode::Merge,
        "setup",
    )
    .unwrap();
    assert_eq!(vr.approval_catalog().unwrap(), c);
    let cb = vr
        .approve(
            &ApprovalRequest::new("api", "1.0.0", "change-board", "cora").with_role("compliance"),
        )
        .unwrap();
    assert_eq!(cb.approval_type, "change_board");
    // Replacing with a policy without the table returns to the built-in catalog; rules naming
    // the removed type are refused, with every problem, and nothing is applied.
    let before = vr.last_event_seq().unwrap();
    let e = vr
        .apply_policy_text(
            "[[rules]]\nname = 'Board'\ntype = 'version_approval'\napproval_types = ['change_board', 'secuirty']\n",
            PolicyFormat::Toml,
            ApplyMode::Replace,
            "setup",
        )
        .unwrap_err();
    let Error::InvalidPolicy { problems } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.rule == "Board" && p.field == "approval_types")
    );
    assert_eq!(vr.last_event_seq().unwrap(), before);
    assert_eq!(vr.rules().unwrap().len(), 2);
    apply(&vr, "rules = []");
    assert_eq!(
        vr.approval_catalog().unwrap(),
        versioner_core::policy::ApprovalCatalog::new()
    );
    let e = vr
        .approve(&ApprovalRequest::new(
            "api",
            "1.0.0",
            "change_board",
            "cora",
        ))
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("approval_type"),
        "`change_board` is not an approval type",
    );
}

#[test]
fn keys_belong_to_principals_and_there_is_always_an_admin() {
    let vr = common::fresh();
    let a = vr.create_api_key("root", Role::Admin).unwrap();
    assert_eq!(
        (a.key.principal.as_str(), a.key.role),
        ("root", Role::Admin)
    );
    let k = vr
        .create_key(
            &ApiKeyRequest::new("gh")
                .principal("github-actions")
                .role(Role::Ci),
        )
        .unwrap();
    let k2 = vr
        .create_key(&ApiKeyRequest::new("gl").principal("GitHub-Actions"))
        .unwrap();
    assert_eq!(
        (k2.key.principal.as_str(), k2.key.role),
        ("github-actions", Role::Ci)
    );
    let auth = vr.authenticate(&k.secret).unwrap().unwrap();
    assert_eq!(
        (auth.principal.as_str(), auth.role),
        ("github-actions", Role::Ci)
    );
    assert!(!auth.role.allows(Permission::Bypass));

    let before = vr.last_event_seq().unwrap();
    let e = vr
        .create_key(
            &ApiKeyRequest::new("x")
                .principal("github-actions")
                .role(Role::Admin),
        )
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("role"),
        "`github-actions` has the role ci",
    );
    let e = vr.create_key(&ApiKeyRequest::new("nobody")).unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("role"),
        "is required for a new principal (`nobody`)",
    );
    let e = vr.revoke_api_key("root").unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("key"),
        "the last active key of the last admin",
    );
    let e = vr.set_principal_role("root", Role::Viewer).unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("role"),
        "`root` is the last admin",
    );
    let e = vr
        .acting_as(Actor::local("root"))
        .set_principal_role("root", Role::Viewer)
        .unwrap_err();
    assert_err(&e, ErrorCode::Forbidden, None, "cannot change its own role");
    let e = vr.set_principal_role("ghost", Role::Viewer).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(vr.last_event_seq().unwrap(), before, "nothing was written");

    // A role change applies to every key of the principal at once.
    let p = vr
        .set_principal_role("github-actions", Role::Developer)
        .unwrap();
    assert_eq!(p.role, Role::Developer);
    assert_eq!(
        vr.authenticate(&k2.secret).unwrap().unwrap().role,
        Role::Developer
    );
    let types: Vec<String> = vr
        .events_since(before, 10)
        .unwrap()
        .iter()
        .map(|e| e.event_type.to_string())
        .collect();
    assert_eq!(types, ["principal.role_changed"]);
    // Key rotation: a second admin key, then the first may go.
    vr.create_key(&ApiKeyRequest::new("root-2").principal("root"))
        .unwrap();
    vr.revoke_api_key("root").unwrap();
    assert_eq!(vr.principals().unwrap().len(), 2);
}

#[test]
fn a_session_acts_as_its_key_with_the_principal_s_current_role_until_it_ends() {
    let clock = versioner_core::ManualClock::new(chrono::Utc::now());
    let vr = common::fresh().with_clock(std::sync::Arc::new(clock.clone()));
    let admin = vr.create_api_key("root", Role::Admin).unwrap();
    let viewer = vr
        .create_key(
            &ApiKeyRequest::new("dana-laptop")
                .principal("dana")
                .role(Role::Viewer),
        )
        .unwrap();
    let hour = chrono::TimeDelta::hours(1);

    // A bad key opens nothing, and nothing is written.
    let e = vr.open_session("sk_vr_nope", hour).unwrap_err();
    assert_err(&e, ErrorCode::Unauthorized, None, "Invalid API key");
    let e = vr
        .open_session(&viewer.secret, chrono::TimeDelta::zero())
        .unwrap_err();
    assert_err(
        &e,
        ErrorCode::InvalidInput,
        Some("lifetime"),
        "must be positive",
    );

    let s = vr.open_session(&viewer.secret, hour).unwrap();
    assert_eq!(s.token.len(), 64);
    assert_eq!(s.session.expires_at - s.session.created_at, hour);
    let found = vr.session(&s.token).unwrap().unwrap();
    assert_eq!(
        (found.key.principal.as_str(), found.key.role),
        ("dana", Role::Viewer)
    );
    assert_eq!(found.actor().principal(), "dana");
    assert!(found.actor().is_authenticated());
    // Only the hash is kept: another token finds nothing.
    assert_eq!(vr.session(&"0".repeat(64)).unwrap(), None);

    // The principal's role is read live.
    vr.set_principal_role("dana", Role::Qa).unwrap();
    assert_eq!(vr.session(&s.token).unwrap().unwrap().key.role, Role::Qa);

    // Signing out ends it, once.
    assert!(vr.close_session(&s.token).unwrap());
    assert!(!vr.close_session(&s.token).unwrap());
    assert_eq!(vr.session(&s.token).unwrap(), None);

    // Expiry ends it.
    let s = vr.open_session(&admin.secret, hour).unwrap();
    clock.advance(chrono::Duration::seconds(3599));
    assert!(vr.session(&s.token).unwrap().is_some());
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(vr.session(&s.token).unwrap(), None);

    // Revoking its key ends it.
    let s = vr.open_session(&viewer.secret, hour).unwrap();
    vr.revoke_api_key("dana-laptop").unwrap();
    assert_eq!(vr.session(&s.token).unwrap(), None);
    let e = vr.open_session(&viewer.secret, hour).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthorized);
}
