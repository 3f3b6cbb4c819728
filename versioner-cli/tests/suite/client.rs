//! `versioner_core::client::Client` against `versioner serve` on a loopback port: the same
//! answers and the same error codes as in process, and retries recorded exactly once.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use versioner_core::client::{Client, ClientOptions};
use versioner_core::policy::{ApplyMode, PolicyFormat, Rule, RuleStatus};
use versioner_core::{
    Actor, ApprovalRequest, BuildEvent, CheckRequest, DeploymentEvent, EnvironmentType, ErrorCode,
    HistoryQuery, Page, Role, Tracker, Versioner,
};

use crate::support::{FLOW_POLICY, Fixture, TestServer, dead_url};

fn fast() -> ClientOptions {
    ClientOptions::default()
        .backoff(Duration::from_millis(10))
        .timeout(Duration::from_secs(10))
}

fn client(url: &str, key: &str) -> Client {
    Client::with_options(url, Some(key), fast()).unwrap()
}

/// The promotion story, told to any tracker; returns what happened, without ids.
fn promotion(t: &dyn Tracker) -> Vec<String> {
    let mut log = Vec::new();
    let mut build = BuildEvent::new("api", "1.0.0", "completed");
    build.scm_sha = Some("abc123de".into());
    let b = t.track_build(&build).unwrap();
    log.push(format!("build {} {}", b.version, b.status));

    let d = t
        .track_deployment(&DeploymentEvent::new("api", "1.0.0", "staging", "success"))
        .unwrap();
    log.push(format!("staging {}", d.status));

    let err = t
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.1",
            "production",
            "started",
        ))
        .unwrap_err();
    let v = err.verdict().unwrap();
    log.push(format!(
        "refused {} {} rule={}",
        err.code(),
        err.code().http_status(),
        v.primary().unwrap().rule_name
    ));

    let v = t
        .check(&CheckRequest::new("api", "1.0.0", "production"))
        .unwrap();
    log.push(format!("check {:?}", v.decision()));

    let d = t
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "started",
        ))
        .unwrap();
    log.push(format!(
        "production {} preflight={:?}",
        d.status,
        d.preflight.as_ref().map(|p| p.status)
    ));
    let d = t
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "completed",
        ))
        .unwrap();
    log.push(format!("production {}", d.status));

    let mut conflict = BuildEvent::new("api", "1.0.0", "completed");
    conflict.scm_sha = Some("ffff0000".into());
    log.push(format!(
        "conflict {}",
        t.track_build(&conflict).unwrap_err().code()
    ));
    // The variant itself, with its fields, is the same in process and remote.
    log.push(match t.track_build(&conflict).unwrap_err() {
        versioner_core::Error::VersionConflict {
            product,
            version,
            recorded,
            given,
        } => format!("variant VersionConflict {product} {version} {recorded} {given}"),
        other => format!("variant {other:?}"),
    });
    log.push(match t.version("api", "9.9.9").unwrap_err() {
        versioner_core::Error::NotFound { kind, name } => format!("variant NotFound {kind} {name}"),
        other => format!("variant {other:?}"),
    });
    let e = t
        .track_deployment(&DeploymentEvent::new(" ", "1", "x", "started"))
        .unwrap_err();
    log.push(format!("invalid {} {:?}", e.code(), e.field()));

    let state = t.state(None).unwrap();
    log.push(format!(
        "state staging={:?} production={:?}",
        state.version("api", "staging"),
        state.version("api", "production")
    ));
    let h = t
        .history(&HistoryQuery::new().product("api").limit(10))
        .unwrap();
    log.push(format!("history {}", h.len()));
    log.push(format!(
        "versions {}",
        t.versions("api", Page::default()).unwrap().len()
    ));
    log.push(format!("products {}", t.products().unwrap().len()));
    log.push(format!("environments {}", t.environments().unwrap().len()));
    log.push(format!("drift {}", t.drift(None, None).unwrap().len()));

    // The approver is the actor: the key's principal, or the in-process actor.
    let a = t
        .approve(&ApprovalRequest::new("api", "1.0.0", "qa", ""))
        .unwrap();
    log.push(format!(
        "approved by {} ({:?})",
        a.approver, a.approver_role
    ));
    let r = t.revoke_approval(&a.id, "", "wrong build").unwrap();
    log.push(format!("approval revoked={}", !r.is_active()));
    log.push(format!(
        "approvals {}",
        t.approvals("api", "1.0.0").unwrap().len()
    ));
    log.push(format!(
        "missing {}",
        t.approvals("api", "9.9.9").unwrap_err().code()
    ));

    let s = t
        .set_rule_status(
            "Staging before production",
            RuleStatus::ReportOnly,
            "",
            "INC-1",
        )
        .unwrap();
    log.push(format!("rule {}", s.rule.status));
    let report = t
        .apply_policy_text(FLOW_POLICY, PolicyFormat::Toml, ApplyMode::Merge, "")
        .unwrap();
    log.push(format!("apply updated={:?}", report.updated));
    log.push(format!(
        "rules {:?}",
        t.rules()
            .unwrap()
            .iter()
            .map(|r| r.rule.status)
            .collect::<Vec<_>>()
    ));
    log.extend(catalog_and_rules(t));
    log
}

/// The single-record lookups, rule editing and environment types, told to any tracker after
/// `promotion`; returns what happened, without ids or instants.
fn catalog_and_rules(t: &dyn Tracker) -> Vec<String> {
    let mut log = Vec::new();
    let v = t.version("api", "1.0.0").unwrap();
    log.push(format!("version {} sha={:?}", v.version, v.scm_sha));
    log.push(format!(
        "version missing {}",
        t.version("api", "9.9.9").unwrap_err().code()
    ));
    assert_eq!(t.version_by_id(&v.id).unwrap(), v);
    let by_sha = t.versions_by_sha("abc123").unwrap();
    log.push(format!(
        "by sha {:?}",
        by_sha.iter().map(|v| &v.version).collect::<Vec<_>>()
    ));
    log.push(format!(
        "bad sha {:?}",
        t.versions_by_sha("not-hex!").unwrap_err().field()
    ));
    let last = &t.history(&HistoryQuery::new().limit(1)).unwrap()[0];
    let d = t.deployment(&last.id).unwrap();
    log.push(format!("deployment {} {}", d.environment_name, d.status));
    log.push(format!(
        "deployment missing {}",
        t.deployment("nope").unwrap_err().code()
    ));

    let rule = Rule::from_json(&json!({
        "name": "One at a time", "type": "concurrency", "max": 1, "environments": ["production"]
    }))
    .unwrap();
    let added = t.add_rule(&rule).unwrap();
    log.push(format!("added {} at {}", added.rule.name, added.position));
    log.push(format!(
        "taken {:?}",
        t.add_rule(&rule).unwrap_err().field()
    ));
    assert_eq!(t.rule("One at a time").unwrap().rule, rule);
    let mut changed = rule.clone();
    changed.name = "Serial production".into();
    changed.status = RuleStatus::ReportOnly;
    let updated = t.update_rule("One at a time", &changed).unwrap();
    log.push(format!(
        "updated {} {}",
        updated.rule.name, updated.rule.status
    ));
    log.push(format!(
        "renamed away {}",
        t.rule("One at a time").unwrap_err().code()
    ));
    let history = t.rule_history(Some("Serial production")).unwrap();
    log.push(format!(
        "history {:?}",
        history
            .iter()
            .map(|c| format!(
                "{}->{} by {} ({})",
                c.from_status, c.to_status, c.actor, c.reason
            ))
            .collect::<Vec<_>>()
    ));
    log.push(format!(
        "all history {}",
        t.rule_history(None).unwrap().len()
    ));
    log.push(format!(
        "no history {}",
        t.rule_history(Some("nope")).unwrap().len()
    ));
    t.delete_rule("Serial production").unwrap();
    log.push(format!(
        "deleted {} {}",
        t.rule("Serial production").unwrap_err().code(),
        t.delete_rule("Serial production").unwrap_err().code()
    ));
    log.push(format!(
        "history kept {}",
        t.rule_history(Some("Serial production")).unwrap().len()
    ));

    let e = t
        .set_environment_type("qa-lab", Some(EnvironmentType::Staging))
        .unwrap();
    log.push(format!(
        "env {} {} overridden={}",
        e.name, e.env_type, e.type_overridden
    ));
    let e = t.set_environment_type("qa-lab", None).unwrap();
    log.push(format!(
        "env {} {} overridden={}",
        e.name, e.env_type, e.type_overridden
    ));
    log.push(format!(
        "env blank {:?}",
        t.set_environment_type(" ", None).unwrap_err().field()
    ));
    log
}

#[test]
fn in_process_and_remote_tell_the_same_story() {
    // In process the actor is named; through the server it is the admin key's principal.
    let local = Versioner::open_in_memory()
        .unwrap()
        .acting_as(Actor::local("admin"));
    local
        .apply_policy_text(FLOW_POLICY, PolicyFormat::Toml, ApplyMode::Replace, "")
        .unwrap();
    let expected = promotion(&local);

    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let remote = client(&server.url, &f.admin);
    let got = promotion(&remote);
    assert_eq!(got, expected);
    assert!(
        expected.contains(&"refused FLOW_VIOLATION 428 rule=Staging before production".to_string())
    );
    assert!(expected.contains(&"conflict VERSION_CONFLICT".to_string()));
    assert!(
        expected.contains(&"variant VersionConflict api 1.0.0 abc123de ffff0000".to_string()),
        "{expected:#?}"
    );
    assert!(
        expected.contains(&"variant NotFound version api 9.9.9".to_string()),
        "{expected:#?}"
    );
    for line in [
        "version 1.0.0 sha=Some(\"abc123de\")",
        "updated Serial production report_only",
        "history [\"enabled->report_only by admin (rule updated)\"]",
        "approved by admin (Some(\"admin\"))",
        "deleted NOT_FOUND NOT_FOUND",
        "history kept 1",
        "env qa-lab staging overridden=true",
        "env qa-lab test overridden=false",
    ] {
        assert!(expected.iter().any(|l| l == line), "{line}: {expected:#?}");
    }
}

#[test]
fn roles_apply_to_rule_editing_and_environment_types_through_the_client() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let rule =
        Rule::from_json(&json!({"name": "Freeze", "type": "concurrency", "max": 1})).unwrap();
    let name = "Staging before production";
    let qa = f.vr().create_api_key("quinn", Role::Qa).unwrap().secret;
    let admin = client(&server.url, &f.admin);
    let current = admin.rule(name).unwrap();
    for key in [&f.viewer, &f.deployer, &qa] {
        let c = client(&server.url, key);
        assert_eq!(c.add_rule(&rule).unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(
            c.update_rule(name, &current.rule).unwrap_err().code(),
            ErrorCode::Forbidden
        );
        assert_eq!(
            c.delete_rule(name).unwrap_err().code(),
            ErrorCode::Forbidden
        );
        assert_eq!(
            c.set_environment_type("lab", Some(EnvironmentType::Test))
                .unwrap_err()
                .code(),
            ErrorCode::Forbidden
        );
        assert!(admin.rule_history(None).unwrap().is_empty());
        assert!(
            admin.environments().unwrap().is_empty(),
            "nothing was created"
        );
    }
    admin.add_rule(&rule).unwrap();
    admin.delete_rule("Freeze").unwrap();
    assert_eq!(f.vr().rules().unwrap().len(), 1);
}

#[test]
fn a_refusal_carries_the_verdict_and_keys_and_roles_map_to_their_codes() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let ev = DeploymentEvent::new("api", "1", "production", "started");

    let err = client(&server.url, &f.deployer)
        .track_deployment(&ev)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::FlowViolation);
    assert_eq!(err.code().exit_code(), 5);
    let v = err.verdict().unwrap();
    assert_eq!(v.product_name(), "api");
    assert_eq!(v.failures().count(), 1);

    let dev = DeploymentEvent::new("api", "1", "dev", "started");
    let e = client(&server.url, "sk_vr_wrong")
        .track_deployment(&dev)
        .unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (ErrorCode::Unauthorized, "Invalid API key")
    );
    let anonymous = Client::with_options(&server.url, None, fast()).unwrap();
    assert_eq!(
        anonymous.track_deployment(&dev).unwrap_err().code(),
        ErrorCode::Unauthorized
    );
    let e = client(&server.url, &f.viewer)
        .track_deployment(&dev)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    assert_eq!(e.code().exit_code(), 4);
    assert!(client(&server.url, &f.viewer).state(None).is_ok());
    assert_eq!(
        client(&server.url, &f.admin)
            .version_by_id("nope")
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

/// Fails the first two POSTs *after* the server has handled them: the answer is lost, as when
/// a proxy or the network fails on the way back.
async fn fail_twice(State(failures): State<Arc<AtomicU32>>, req: Request, next: Next) -> Response {
    let is_post = req.method() == Method::POST;
    let resp = next.run(req).await;
    if is_post && failures.fetch_add(1, Ordering::SeqCst) < 2 {
        return (StatusCode::BAD_GATEWAY, "upstream connection reset").into_response();
    }
    resp
}

#[test]
fn a_server_that_fails_twice_then_succeeds_records_the_event_once() {
    let f = Fixture::new();
    let failures = Arc::new(AtomicU32::new(0));
    let app = f.router().layer(middleware::from_fn_with_state(
        Arc::clone(&failures),
        fail_twice,
    ));
    let server = TestServer::start(app);
    let c = client(&server.url, &f.deployer);
    let d = c
        .track_deployment(&DeploymentEvent::new("api", "1", "dev", "started"))
        .unwrap();
    assert_eq!(
        failures.load(Ordering::SeqCst),
        3,
        "two failures, then the answer"
    );
    let history = f.vr().history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.len(), 1, "recorded exactly once");
    assert_eq!(
        history[0].id, d.id,
        "the retry got the first attempt's record"
    );

    // Without the idempotency key the same retries would have recorded it three times.
    failures.store(0, Ordering::SeqCst);
    let raw = reqwest::blocking::Client::new();
    for _ in 0..3 {
        let _ = raw
            .post(format!("{}/deployment-events/", server.url))
            .bearer_auth(&f.deployer)
            .header("content-type", "application/json")
            .body(r#"{"product_name":"web","version":"1","environment_name":"dev","status":"started"}"#)
            .send()
            .unwrap();
    }
    let web = f.vr().history(&HistoryQuery::new().product("web")).unwrap();
    assert_eq!(web.len(), 3);
}

#[test]
fn an_unreachable_server_is_a_network_error_and_a_4xx_is_not_retried() {
    let c = Client::with_options(
        &dead_url(),
        Some("k"),
        fast().max_attempts(NonZeroU32::new(3).unwrap()),
    )
    .unwrap();
    let e = c.products().unwrap_err();
    assert_eq!(e.code(), ErrorCode::Network);
    assert_eq!(e.code().exit_code(), 1);

    let f = Fixture::new();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let app = f
        .router()
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            }
        }));
    let server = TestServer::start(app);
    let e = client(&server.url, &f.deployer)
        .track_build(&BuildEvent::new("api", "", "completed"))
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        (ErrorCode::InvalidInput, Some("version"))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a 422 is final");
}
