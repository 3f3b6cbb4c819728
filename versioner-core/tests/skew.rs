//! Skew and stale versions (issue 19, item 4): the queries, the `max_skew` rule (blocking and
//! report-only), and its `skew.exceeded` events. Expected figures are worked out by hand from
//! each fixture's timeline. Runs on PostgreSQL too (scripts/test-postgres.sh).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::skew::{SkewQuery, SkewState, StaleQuery};
use versioner_core::{
    DeploymentEvent, Error, ErrorCode, EventType, HistoryQuery, ManualClock, Versioner,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn store() -> (Versioner, ManualClock) {
    let clock = ManualClock::new(t("2026-11-01T12:00:00Z"));
    (common::fresh().with_clock(Arc::new(clock.clone())), clock)
}

/// A successful deployment recorded at the clock's instant.
fn ok(vr: &Versioner, product: &str, version: &str, env: &str) {
    vr.track_deployment(&DeploymentEvent::new(product, version, env, "completed"))
        .unwrap();
}

fn started(vr: &Versioner, version: &str, env: &str) -> Result<(), Error> {
    vr.track_deployment(&DeploymentEvent::new("api", version, env, "started"))
        .map(|_| ())
}

const DAY: i64 = 86_400;

#[test]
fn skew_counts_versions_and_days_behind() {
    let (vr, clock) = store();
    // Day 1: 1.0 to staging and production. Day 3: 1.1 to staging. Day 5: 1.2 to staging.
    // Day 6: 1.1 to staging again (a redeploy, not a new version).
    ok(&vr, "api", "1.0", "staging");
    ok(&vr, "api", "1.0", "production");
    clock.advance(Duration::days(2));
    ok(&vr, "api", "1.1", "staging");
    clock.advance(Duration::days(2));
    ok(&vr, "api", "1.2", "staging");
    clock.advance(Duration::days(1));
    ok(&vr, "api", "1.1", "staging");
    // web is level: 2.0 in both.
    ok(&vr, "web", "2.0", "staging");
    ok(&vr, "web", "2.0", "production");
    clock.advance(Duration::days(1)); // day 7

    let skew = vr.skew(&SkewQuery::new("staging", "production")).unwrap();
    assert_eq!(skew.len(), 2);
    let api = &skew[0];
    assert_eq!(api.product_name, "api");
    assert_eq!(api.ahead_version.as_deref(), Some("1.1"));
    assert_eq!(api.behind_version.as_deref(), Some("1.0"));
    assert_eq!(api.versions, ["1.1", "1.2"]);
    assert_eq!(api.versions_behind, 2);
    assert_eq!(api.behind_since, Some(t("2026-11-03T12:00:00Z")));
    assert_eq!(api.seconds_behind, 4 * DAY);
    let web = &skew[1];
    assert_eq!(web.versions_behind, 0);
    assert_eq!(web.behind_since, None);
    assert_eq!(web.seconds_behind, 0);

    // Production catches up to 1.1: one behind (1.2), since day 5.
    ok(&vr, "api", "1.1", "production");
    let s = &vr
        .skew(&SkewQuery::new("staging", "production").product("API"))
        .unwrap()[0];
    assert_eq!(s.versions, ["1.2"]);
    assert_eq!(s.behind_since, Some(t("2026-11-05T12:00:00Z")));
    assert_eq!(s.seconds_behind, 2 * DAY);

    // Bad queries name the problem.
    let e = vr.skew(&SkewQuery::new("staging", "staging")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("same environment"), "{e}");
    let e = vr
        .skew(&SkewQuery::new("nowhere", "production"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    let e = vr
        .skew(&SkewQuery::new("staging", "production").product("nope"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[test]
fn stale_versions_wait_without_promotion() {
    let (vr, clock) = store();
    ok(&vr, "api", "1.0", "staging"); // day 1
    ok(&vr, "web", "2.0", "staging"); // day 1, then promoted
    ok(&vr, "web", "2.0", "production");
    clock.advance(Duration::days(5));
    ok(&vr, "db", "3.0", "staging"); // day 6
    clock.advance(Duration::days(4)); // day 10

    let q = StaleQuery::new("staging", std::time::Duration::from_secs(7 * DAY as u64));
    let stale = vr.stale(&q).unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].product_name, "api");
    assert_eq!(stale[0].version, "1.0");
    assert_eq!(stale[0].seconds_waiting, 9 * DAY);
    assert_eq!(stale[0].not_promoted_to, ["production"]);
    // A shorter threshold catches db too, oldest first.
    let q = StaleQuery::new("staging", std::time::Duration::from_secs(3 * DAY as u64));
    let names: Vec<String> = vr
        .stale(&q)
        .unwrap()
        .into_iter()
        .map(|s| s.product_name)
        .collect();
    assert_eq!(names, ["api", "db"]);
    // Zero is refused.
    let e = vr
        .stale(&StaleQuery::new("staging", std::time::Duration::ZERO))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
}

const POLICY: &str = r#"
[[rules]]
name = "Production keeps up"
type = "max_skew"
environments = ["staging"]
behind = "production"
max_versions = 2
max_age = "10d"
"#;

#[test]
fn max_skew_refuses_a_version_that_would_leave_production_too_far_behind() {
    let (vr, clock) = store();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    // Each step a minute after the one before, as in real life.
    let ok = |vr: &Versioner, p: &str, v: &str, e: &str| {
        clock.advance(Duration::minutes(1));
        ok(vr, p, v, e);
    };
    let started = |v: &str, e: &str| {
        clock.advance(Duration::minutes(1));
        started(&vr, v, e)
    };
    ok(&vr, "api", "1.0", "staging");
    ok(&vr, "api", "1.0", "production");
    clock.advance(Duration::days(1));
    ok(&vr, "api", "1.1", "staging"); // 1 behind
    ok(&vr, "api", "1.2", "staging"); // 2 behind: the most allowed
    let events_before = vr.events_since(0, 1000).unwrap().len();
    let deployments_before = vr.history(&HistoryQuery::new()).unwrap().len();

    // 1.3 would make it 3.
    let err = started("1.3", "staging").unwrap_err();
    assert_eq!(err.code(), ErrorCode::FlowViolation);
    let msg = err.to_string();
    assert!(
        msg.contains("deploying `api` 1.3 to `staging` would leave `production` 3 versions behind (at most 2; it runs 1.0); promote to `production` first"),
        "{msg}"
    );
    let verdict = err.verdict().unwrap();
    let o = verdict.failures().next().unwrap();
    assert_eq!(o.details["versions"], serde_json::json!(["1.1", "1.2"]));
    // Nothing recorded but the refusal's events: deployment.preflight_failed and skew.exceeded.
    assert_eq!(
        vr.history(&HistoryQuery::new()).unwrap().len(),
        deployments_before
    );
    let events = vr.events_since(0, 1000).unwrap();
    let new: Vec<_> = events[events_before..].iter().collect();
    assert_eq!(
        new.iter().map(|e| e.event_type).collect::<Vec<_>>(),
        [
            EventType::DeploymentPreflightFailed,
            EventType::SkewExceeded
        ]
    );
    assert_eq!(new[1].payload["blocked"], true);
    assert_eq!(new[1].payload["details"]["versions_behind"], 3);

    // Redeploying a version staging already had adds nothing: it passes.
    started("1.1", "staging").unwrap();
    ok(&vr, "api", "1.1", "staging");
    // Deploying to production is never held back by this rule (out of scope).
    started("1.2", "production").unwrap();
    ok(&vr, "api", "1.2", "production");
    // Production caught up: 1.3 goes.
    started("1.3", "staging").unwrap();
    ok(&vr, "api", "1.3", "staging");

    // Time: production has lagged since 1.3 reached staging; after 10 days a new version is
    // refused even though one version behind is within max_versions.
    clock.advance(Duration::days(11));
    let err = started("1.4", "staging").unwrap_err();
    assert_eq!(err.code(), ErrorCode::FlowViolation);
    assert!(
        err.to_string()
            .contains("`production` has been behind `staging` for `api` since"),
        "{err}"
    );
}

#[test]
fn report_only_max_skew_is_an_alert_the_deployment_goes_ahead() {
    let (vr, clock) = store();
    let ok = |vr: &Versioner, p: &str, v: &str, e: &str| {
        clock.advance(Duration::minutes(1));
        ok(vr, p, v, e);
    };
    vr.apply_policy_text(
        &POLICY.replace(
            "max_age = \"10d\"",
            "max_age = \"10d\"\nstatus = \"report_only\"",
        ),
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    ok(&vr, "api", "1.0", "production");
    ok(&vr, "api", "1.1", "staging");
    ok(&vr, "api", "1.2", "staging");
    clock.advance(Duration::minutes(1));
    let before = vr.events_since(0, 1000).unwrap().len();
    let d = vr
        .track_deployment(&DeploymentEvent::new("api", "1.3", "staging", "started"))
        .unwrap();
    let warnings: Vec<_> = d.preflight.as_ref().unwrap().verdict.warnings().collect();
    assert_eq!(warnings.len(), 1);
    let events = vr.events_since(0, 1000).unwrap();
    let kinds: Vec<EventType> = events[before..].iter().map(|e| e.event_type).collect();
    assert_eq!(
        kinds,
        [EventType::DeploymentStarted, EventType::SkewExceeded]
    );
    let skew = &events[events.len() - 1];
    assert_eq!(skew.payload["blocked"], false);
    assert_eq!(skew.payload["deployment_id"], d.id.as_str());
    assert_eq!(skew.payload["details"]["behind"], "production");

    // The alert stands until production catches up: 3 behind, over the limit of 2.
    ok(&vr, "api", "1.3", "staging");
    let alerts = vr.skew_alerts().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].state, SkewState::Exceeded);
    assert_eq!(alerts[0].rule_name, "Production keeps up");
    assert_eq!(alerts[0].skew.versions, ["1.1", "1.2", "1.3"]);
    assert_eq!(alerts[0].max_versions, Some(2));
    ok(&vr, "api", "1.2", "production");
    let alerts = vr.skew_alerts().unwrap();
    assert!(
        alerts.is_empty(),
        "one behind is under the limit: {alerts:?}"
    );
    // Disabled rules raise nothing.
    ok(&vr, "api", "1.4", "staging");
    ok(&vr, "api", "1.5", "staging");
    assert_eq!(vr.skew_alerts().unwrap()[0].state, SkewState::Exceeded);
    vr.set_rule_status(
        "Production keeps up",
        versioner_core::RuleStatus::Disabled,
        "t",
        "quiet for the test",
    )
    .unwrap();
    assert!(vr.skew_alerts().unwrap().is_empty());
}

#[test]
fn max_skew_policy_problems_are_named() {
    let (vr, _clock) = store();
    for (policy, want) in [
        (
            "[[rules]]\nname='x'\ntype='max_skew'\nenvironments=['staging']\nmax_versions=3\n",
            "behind",
        ),
        (
            "[[rules]]\nname='x'\ntype='max_skew'\nenvironments=['staging']\nbehind='production'\n",
            "give max_versions, max_age or both",
        ),
        (
            "[[rules]]\nname='x'\ntype='max_skew'\nenvironments=['staging']\nbehind='production'\nmax_versions=0\n",
            "must be a whole number from 1 to 100",
        ),
        (
            "[[rules]]\nname='x'\ntype='max_skew'\nenvironments=['staging']\nbehind='production'\nmax_age='soon'\n",
            "max_age",
        ),
    ] {
        let e = vr
            .apply_policy_text(policy, PolicyFormat::Toml, ApplyMode::Replace, "t")
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{policy}");
        assert!(e.to_string().contains(want), "{policy}: {e}");
    }
    assert!(vr.rules().unwrap().is_empty());
}
