//! Rule management, approvals and the emergency bypass, through the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use versioner_core::policy::{ApplyMode, PolicyFormat, ScheduleRule, WindowMode};
use versioner_core::{
    ApprovalRequest, BuildEvent, CheckRequest, DeploymentEvent, Error, ErrorCode, HistoryQuery,
    ManualClock, PreflightStatus, Rule, RuleStatus, Versioner,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn setup() -> (Versioner, ManualClock) {
    let clock = ManualClock::new(t("2026-11-20T10:00:00Z"));
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    (vr, clock)
}

const POLICY: &str = r#"
[[rules]]
name = "Staging first"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]

[[rules]]
name = "One at a time"
type = "concurrency"
"#;

#[test]
fn apply_replace_merge_and_report() {
    let (vr, _) = setup();
    let r = vr
        .apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "ci")
        .unwrap();
    assert_eq!(r.added, ["Staging first", "One at a time"]);
    let r = vr
        .apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "ci")
        .unwrap();
    assert_eq!(r.unchanged.len(), 2);
    let merge = r#"{"rules": [{"name": "QA", "type": "version_approval", "approval_types": ["qa"]},
        {"name": "One at a time", "type": "concurrency", "max": 2, "status": "report_only"}]}"#;
    let r = vr
        .apply_policy_text(merge, PolicyFormat::Json, ApplyMode::Merge, "ci")
        .unwrap();
    assert_eq!(
        (r.added.as_slice(), r.updated.as_slice()),
        (&["QA".to_string()][..], &["One at a time".to_string()][..])
    );
    let names: Vec<String> = vr
        .rules()
        .unwrap()
        .into_iter()
        .map(|r| r.rule.name)
        .collect();
    assert_eq!(names, ["Staging first", "One at a time", "QA"]);
    // The status change made by the policy is in the rule's history.
    let h = vr.rule_history(Some("One at a time")).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].from_status, h[0].to_status, h[0].actor.as_str()),
        (RuleStatus::Enabled, RuleStatus::ReportOnly, "ci")
    );
    let r = vr
        .apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "ci")
        .unwrap();
    assert_eq!(r.deleted, ["QA"]);
    assert_eq!(r.updated, ["One at a time"]);
}

#[test]
fn an_invalid_policy_is_refused_whole() {
    let (vr, _) = setup();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "ci")
        .unwrap();
    let bad = r#"
[[rules]]
name = "New"
type = "concurrency"

[[rules]]
name = "Broken"
type = "schedule"
timezone = "Mars/Base"
windows = []
"#;
    let err = vr
        .apply_policy_text(bad, PolicyFormat::Toml, ApplyMode::Replace, "ci")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    let Error::InvalidPolicy { problems } = &err else {
        panic!("{err}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.rule == "Broken" && p.field == "timezone"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.rule == "Broken" && p.field == "windows"),
        "{problems:?}"
    );
    assert!(
        err.to_string()
            .contains("rule `Broken`: `timezone`: unknown time zone `Mars/Base`"),
        "{err}"
    );
    let names: Vec<String> = vr
        .rules()
        .unwrap()
        .into_iter()
        .map(|r| r.rule.name)
        .collect();
    assert_eq!(
        names,
        ["Staging first", "One at a time"],
        "nothing was applied"
    );
    let err = vr
        .apply_policy_file("/nonexistent/policy.toml", ApplyMode::Replace, "ci")
        .unwrap_err();
    assert_eq!(err.field(), Some("policy"));
}

#[test]
fn rule_crud_and_status_history() {
    let (vr, clock) = setup();
    let rule = Rule::new(
        "Freeze",
        ScheduleRule {
            mode: WindowMode::Deny,
            timezone: chrono_tz::Tz::Europe__London,
            reason: Some("release week".into()),
            windows: vec![],
        },
    );
    // A rule without windows is invalid, whichever way it was built.
    let err = vr.add_rule(&rule).unwrap_err();
    assert_eq!(err.field(), Some("windows"));
    let rule = Rule::from_json(&serde_json::json!({
        "name": "Freeze", "type": "schedule", "timezone": "Europe/London",
        "windows": [{"recurrence": "daily", "start": "09:00", "end": "10:00"}]
    }))
    .unwrap();
    vr.add_rule(&rule).unwrap();
    assert_eq!(vr.add_rule(&rule).unwrap_err().field(), Some("name"));
    clock.advance(Duration::minutes(1));
    let stored = vr
        .set_rule_status("Freeze", RuleStatus::Disabled, "ops", "incident INC-7")
        .unwrap();
    assert_eq!(stored.rule.status, RuleStatus::Disabled);
    assert_eq!(
        vr.set_rule_status("Freeze", RuleStatus::Enabled, "ops", " ")
            .unwrap_err()
            .field(),
        Some("reason")
    );
    assert_eq!(
        vr.set_rule_status("Freeze", RuleStatus::Enabled, "", "x")
            .unwrap_err()
            .field(),
        Some("actor")
    );
    assert_eq!(
        vr.set_rule_status("Nope", RuleStatus::Enabled, "ops", "x")
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    let h = vr.rule_history(None).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].reason.as_str(), h[0].changed_at),
        ("incident INC-7", t("2026-11-20T10:01:00Z"))
    );
    let mut renamed = vr.rule("Freeze").unwrap().rule;
    renamed.name = "Morning freeze".into();
    vr.update_rule("Freeze", &renamed).unwrap();
    assert_eq!(vr.rule("Freeze").unwrap_err().code(), ErrorCode::NotFound);
    vr.delete_rule("Morning freeze").unwrap();
    assert!(vr.rules().unwrap().is_empty());
    assert_eq!(
        vr.delete_rule("Morning freeze").unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn approvals_are_recorded_listed_and_revoked() {
    let (vr, _) = setup();
    let req = ApprovalRequest::new("api", "1", "qa", "quinn");
    assert_eq!(vr.approve(&req).unwrap_err().code(), ErrorCode::NotFound);
    vr.track_build(&BuildEvent::new("api", "1", "completed"))
        .unwrap();
    let a = vr
        .approve(
            &req.clone()
                .with_comment("looks good")
                .in_environment("staging"),
        )
        .unwrap();
    assert_eq!(
        (a.approval_type.as_str(), a.environment.as_deref()),
        ("qa", Some("staging"))
    );
    assert_eq!(
        vr.approve(&ApprovalRequest::new("api", "1", "q a!", "x"))
            .unwrap_err()
            .field(),
        Some("approval_type")
    );
    let r = vr.revoke_approval(&a.id, "lead", "found a bug").unwrap();
    assert_eq!(r.revoked_by.as_deref(), Some("lead"));
    assert!(!r.is_active());
    assert_eq!(
        vr.revoke_approval(&a.id, "lead", "again")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        vr.revoke_approval("nope", "lead", "x").unwrap_err().code(),
        ErrorCode::NotFound
    );
    let all = vr.approvals("api", "1").unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].revoked_at.is_some());
}

#[test]
fn a_revoked_approval_no_longer_counts() {
    let (vr, _) = setup();
    vr.apply_policy_text(
        "[[rules]]\nname='QA'\ntype='version_approval'\napproval_types=['qa']\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    vr.track_build(&BuildEvent::new("api", "1", "completed"))
        .unwrap();
    let a = vr
        .approve(&ApprovalRequest::new("api", "1", "QA", "quinn"))
        .unwrap();
    assert!(
        vr.check(&CheckRequest::new("api", "1", "prod"))
            .unwrap()
            .is_allowed()
    );
    vr.revoke_approval(&a.id, "lead", "regression").unwrap();
    let v = vr.check(&CheckRequest::new("api", "1", "prod")).unwrap();
    assert_eq!(
        v.code().map(|c| c.as_str()),
        Some("QUALITY_APPROVAL_REQUIRED")
    );
}

#[test]
fn emergency_bypass_requires_a_reason_and_is_recorded() {
    let (vr, _) = setup();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "ci")
        .unwrap();
    let mut e = DeploymentEvent::new("api", "1", "production", "started");
    e.skip_preflight_checks = Some(true);
    let err = vr.track_deployment(&e).unwrap_err();
    assert_eq!(err.field(), Some("skip_preflight_reason"));
    assert!(vr.history(&HistoryQuery::new()).unwrap().is_empty());
    e.skip_preflight_reason = Some("hotfix for INC-42".into());
    let d = vr.track_deployment(&e).unwrap();
    let p = d.preflight.unwrap();
    assert_eq!(p.status, PreflightStatus::Skipped);
    assert_eq!(p.bypass_reason.as_deref(), Some("hotfix for INC-42"));
    // What the rules would have said is kept with it.
    assert_eq!(p.verdict.code().map(|c| c.as_str()), Some("FLOW_VIOLATION"));
    assert!(!p.verdict.is_allowed());
}

#[test]
fn check_at_any_instant_records_nothing() {
    let (vr, _) = setup();
    vr.apply_policy_text(
        "[[rules]]\nname='Night'\ntype='schedule'\nwindows=[{recurrence='daily', start='22:00', end='06:00'}]\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    let mut req = CheckRequest::new("api", "1", "prod");
    assert!(vr.check(&req).unwrap().is_allowed());
    req.at = Some("2026-11-20T23:30:00Z".into());
    let v = vr.check(&req).unwrap();
    assert_eq!(v.retry_after(), Some(t("2026-11-21T06:00:00Z")));
    assert_eq!(v.evaluated_at(), t("2026-11-20T23:30:00Z"));
    assert!(vr.products().unwrap().is_empty(), "a check creates nothing");
    req.at = Some("tonight".into());
    assert_eq!(vr.check(&req).unwrap_err().field(), Some("at"));
}

#[test]
fn report_only_failures_come_back_as_warnings() {
    let (vr, _) = setup();
    vr.apply_policy_text(
        "[[rules]]\nname='QA advisory'\ntype='version_approval'\nstatus='report_only'\napproval_types=['qa']\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    let d = vr
        .track_deployment(&DeploymentEvent::new("api", "1", "prod", "started"))
        .unwrap();
    let p = d.preflight.unwrap();
    assert_eq!(p.status, PreflightStatus::Passed);
    let w: Vec<_> = p.warnings().collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].rule_name, "QA advisory");
    let body = versioner_core::wire::deployment(&vr.deployment(&d.id).unwrap());
    let rules = &body["extra_metadata"]["preflight_status"]["rules_evaluated"];
    assert_eq!(rules[0]["status"], "report_only");
    assert_eq!(rules[0]["evaluation_result"], "failed");
    assert_eq!(rules[0]["rule_name"], "QA advisory");
}
