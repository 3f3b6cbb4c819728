//! The four keys (DORA metrics): golden histories in JSON Lines, each with figures computed by
//! hand in the test (see the comments above each expectation), one per definition option and
//! per edge case of issue 19.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use versioner_core::insights::{
    Band, DoraQuery, DoraReport, FrequencyDefinition, RollbackDefinition, SeriesInterval,
};
use versioner_core::{BuildEvent, DeploymentEvent, ErrorCode, ManualClock, Versioner};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A store whose clock stands at 2026-12-01 (after every fixture's claimed times).
fn store() -> (Versioner, ManualClock) {
    let clock = ManualClock::new(t("2026-12-01T00:00:00Z"));
    (common::fresh().with_clock(Arc::new(clock.clone())), clock)
}

/// Replays a JSON Lines history: a line with `environment_name` is a deployment event, any
/// other a build event; a line `{"clock": T}` moves the clock (when versions are first seen).
fn replay(vr: &Versioner, clock: &ManualClock, history: &str) {
    for line in history.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(at) = v.get("clock") {
            clock.set(t(at.as_str().unwrap()));
        } else if v.get("environment_name").is_some() {
            let e: DeploymentEvent = serde_json::from_value(v).unwrap();
            vr.track_deployment(&e).unwrap();
        } else {
            let e: BuildEvent = serde_json::from_value(v).unwrap();
            vr.track_build(&e).unwrap();
        }
    }
}

fn week() -> DoraQuery {
    DoraQuery::new(t("2026-11-02T00:00:00Z"), t("2026-11-09T00:00:00Z"))
}

/// The report from the rollups, checked against the one from the whole ledger.
fn dora(vr: &Versioner, q: &DoraQuery) -> DoraReport {
    let report = vr.dora(q).unwrap();
    assert_eq!(
        report,
        vr.dora_from_ledger(q).unwrap(),
        "rollups and ledger disagree"
    );
    report
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// One week of production history for `api`, plus noise the definitions leave out.
const WEEK: &str = r#"
{"product_name":"api","version":"0.9.0","environment_name":"production","status":"completed","completed_at":"2026-10-30T10:00:00Z"}
{"product_name":"api","version":"1.0.0","status":"completed","started_at":"2026-11-01T10:00:00Z","completed_at":"2026-11-01T10:30:00Z"}
{"product_name":"api","version":"1.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-02T10:00:00Z"}
{"product_name":"api","version":"2.0.0","status":"completed","started_at":"2026-11-03T00:00:00Z","completed_at":"2026-11-03T00:20:00Z"}
{"product_name":"api","version":"2.0.0","environment_name":"production","status":"failed","completed_at":"2026-11-03T12:00:00Z"}
{"product_name":"api","version":"2.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-03T18:00:00Z"}
{"product_name":"api","version":"3.0.0","status":"completed","started_at":"2026-11-04T00:00:00Z","completed_at":"2026-11-04T00:10:00Z"}
{"product_name":"api","version":"3.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-05T00:00:00Z"}
{"product_name":"api","version":"3.0.0","environment_name":"production","status":"failed","completed_at":"2026-11-06T00:00:00Z"}
{"product_name":"api","version":"4.0.0","status":"completed","started_at":"2026-11-04T02:00:00Z","completed_at":"2026-11-04T02:10:00Z"}
{"product_name":"api","version":"4.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-06T02:00:00Z"}
{"product_name":"api","version":"5.0.0","environment_name":"production","status":"aborted","completed_at":"2026-11-07T00:00:00Z"}
{"product_name":"api","version":"5.0.0","environment_name":"production","status":"failed","completed_at":"2026-11-08T00:00:00Z"}
{"product_name":"api","version":"5.0.0","environment_name":"staging","status":"completed","completed_at":"2026-11-07T09:00:00Z"}
"#;

#[test]
fn the_four_keys_of_a_week_with_default_definitions() {
    let (vr, clock) = store();
    replay(&vr, &clock, WEEK);
    let r = dora(&vr, &week().product("api"));
    assert_eq!(r.environments, vec!["production".to_string()]);
    let f = &r;
    // Successes in [11-02, 11-09) in production: 1.0.0, 2.0.0, 3.0.0, 4.0.0 (0.9.0 is before
    // the range, the staging one is out of scope, the aborted one is not a success).
    assert_eq!(f.deployment_frequency.count, 4);
    assert_eq!(f.deployment_frequency.per_day, 4.0 / 7.0);
    // Days 11-02, 11-03, 11-05, 11-06 in a one-week range.
    assert_eq!(f.deployment_frequency.deployment_days, 4);
    assert_eq!(f.deployment_frequency.deployment_days_per_week, 4.0);
    // Lead times from each version's first build start to its first production success:
    // 1.0.0 11-01 10:00 → 11-02 10:00 = 1 day; 2.0.0 11-03 00:00 → 18:00 = 18 h;
    // 3.0.0 11-04 00:00 → 11-05 00:00 = 1 day; 4.0.0 11-04 02:00 → 11-06 02:00 = 2 days.
    // Sorted: 18 h, 1 d, 1 d, 2 d → median (1 d + 1 d) / 2; p90 = ceil(3.6) = 4th = 2 d.
    assert_eq!(f.lead_time.count, 4);
    assert_eq!(f.lead_time.median_seconds, Some(DAY));
    assert_eq!(f.lead_time.p90_seconds, Some(2.0 * DAY));
    // Failed: 2.0.0 (11-03), 3.0.0 (11-06), 5.0.0 (11-08); finished: 4 + 3 = 7; aborted out.
    assert_eq!(f.change_failures.failed, 3);
    assert_eq!(f.change_failures.finished, 7);
    assert_eq!(f.change_failure_rate, Some(3.0 / 7.0));
    // Restores: 2.0.0 failed 12:00, next success 18:00 = 6 h; 3.0.0 failed 11-06 00:00, next
    // success 4.0.0 at 02:00 = 2 h; 5.0.0 never restored. Median (2 h + 6 h) / 2 = 4 h;
    // p90 = ceil(1.8) = 2nd = 6 h.
    assert_eq!(f.time_to_restore.count, 2);
    assert_eq!(f.time_to_restore.unrestored, 1);
    assert_eq!(f.time_to_restore.median_seconds, Some(4.0 * HOUR));
    assert_eq!(f.time_to_restore.p90_seconds, Some(6.0 * HOUR));
    // Bands: 0.57/day ≥ 1/7 → high; median lead 1 day ≤ 1 day → elite; 43 % > 15 % → low;
    // 4 h ≤ 1 day → high.
    assert_eq!(f.bands.deployment_frequency, Band::High);
    assert_eq!(f.bands.lead_time, Some(Band::Elite));
    assert_eq!(f.bands.change_failure_rate, Some(Band::Low));
    assert_eq!(f.bands.time_to_restore, Some(Band::High));
    assert_eq!(r.definitions.frequency, FrequencyDefinition::PerDay);
    assert_eq!(r.definitions.rollbacks, RollbackDefinition::NotAFailure);
    assert_eq!(r.definitions.bands.lead_time.elite, DAY);
    assert!(r.series.is_none());
}

#[test]
fn deployment_days_per_week_is_banded_when_chosen() {
    let (vr, clock) = store();
    replay(&vr, &clock, WEEK);
    let r = dora(
        &vr,
        &week().frequency(FrequencyDefinition::DeploymentDaysPerWeek),
    );
    // 4 deployment days in one week: at least 1 → high, below 5 → not elite.
    assert_eq!(r.bands.deployment_frequency, Band::High);
    assert_eq!(
        r.definitions.frequency,
        FrequencyDefinition::DeploymentDaysPerWeek
    );
    assert_eq!(r.definitions.bands.deployment_frequency.elite, 5.0);
    // Every product (only api has production history): the same figures.
    assert_eq!(r.deployment_frequency.count, 4);
    assert_eq!(r.product, None);
}

#[test]
fn explicit_environments_replace_the_production_default() {
    let (vr, clock) = store();
    replay(&vr, &clock, WEEK);
    let r = dora(&vr, &week().environment("staging"));
    // Only 5.0.0's staging success, 11-07; its version has no build and was first recorded
    // when the clock stood at 2026-12-01, after the deployment: lead time 0, never negative.
    assert_eq!(r.environments, vec!["staging".to_string()]);
    assert_eq!(r.deployment_frequency.count, 1);
    assert_eq!(r.lead_time.median_seconds, Some(0.0));
    assert_eq!(r.change_failure_rate, Some(0.0));
    let both = dora(
        &vr,
        &week().environment("staging").environment("production"),
    );
    assert_eq!(both.deployment_frequency.count, 5);
    // 5.0.0's first success in scope is now the staging one; 4 earlier ones as before.
    assert_eq!(both.lead_time.count, 5);
}

#[test]
fn no_deployments_gives_empty_figures_not_errors() {
    let (vr, clock) = store();
    replay(&vr, &clock, WEEK);
    let r = dora(
        &vr,
        &DoraQuery::new(t("2026-06-01T00:00:00Z"), t("2026-06-08T00:00:00Z")),
    );
    let f = &r;
    assert_eq!(f.deployment_frequency.count, 0);
    assert_eq!(f.deployment_frequency.per_day, 0.0);
    assert_eq!(f.lead_time.median_seconds, None);
    assert_eq!(f.change_failure_rate, None);
    assert_eq!(f.time_to_restore.median_seconds, None);
    assert_eq!(f.bands.deployment_frequency, Band::Low);
    assert_eq!(f.bands.lead_time, None);
    assert_eq!(f.bands.change_failure_rate, None);
    // An empty store has no production environment at all.
    let (empty, _) = store();
    let r = dora(&empty, &week());
    assert!(r.environments.is_empty());
    assert_eq!(r.deployment_frequency.count, 0);
}

#[test]
fn a_range_starting_mid_incident_leaves_the_earlier_failure_out() {
    let (vr, clock) = store();
    replay(
        &vr,
        &clock,
        r#"
{"product_name":"web","version":"1","environment_name":"prod","status":"failed","completed_at":"2026-11-01T20:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"completed","completed_at":"2026-11-02T01:00:00Z"}
"#,
    );
    let f = dora(&vr, &week());
    // The failure finished before the range; the restoring success is in it.
    assert_eq!(f.deployment_frequency.count, 1);
    assert_eq!(f.change_failures.failed, 0);
    assert_eq!(f.change_failures.finished, 1);
    assert_eq!(f.change_failure_rate, Some(0.0));
    assert_eq!(f.time_to_restore.count, 0);
    assert_eq!(f.time_to_restore.unrestored, 0);
    // A range holding both counts the 5-hour restore.
    let wider = dora(
        &vr,
        &DoraQuery::new(t("2026-11-01T00:00:00Z"), t("2026-11-03T00:00:00Z")),
    );
    assert_eq!(wider.time_to_restore.median_seconds, Some(5.0 * HOUR));
}

#[test]
fn a_restore_after_the_range_still_counts_for_the_failure_in_it() {
    let (vr, clock) = store();
    replay(
        &vr,
        &clock,
        r#"
{"product_name":"web","version":"1","environment_name":"prod","status":"failed","completed_at":"2026-11-08T23:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"completed","completed_at":"2026-11-09T02:00:00Z"}
"#,
    );
    let f = dora(&vr, &week());
    assert_eq!(f.deployment_frequency.count, 0);
    assert_eq!(f.change_failure_rate, Some(1.0));
    assert_eq!(f.time_to_restore.median_seconds, Some(3.0 * HOUR));
}

#[test]
fn equal_timestamps_follow_recording_order() {
    let (vr, clock) = store();
    replay(
        &vr,
        &clock,
        r#"
{"clock":"2026-11-03T09:00:00Z"}
{"product_name":"web","version":"1","environment_name":"prod","status":"failed","completed_at":"2026-11-03T09:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"completed","completed_at":"2026-11-03T09:00:00Z"}
{"clock":"2026-11-05T00:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"failed","completed_at":"2026-11-04T09:00:00Z"}
{"product_name":"web","version":"3","environment_name":"prod","status":"completed","completed_at":"2026-11-04T09:00:00Z"}
"#,
    );
    let f = dora(&vr, &week());
    // Each failure is followed, at the same instant, by a success recorded after it: 0 s.
    assert_eq!(f.time_to_restore.count, 2);
    assert_eq!(f.time_to_restore.median_seconds, Some(0.0));
    assert_eq!(f.time_to_restore.p90_seconds, Some(0.0));
    // Version 2 was first recorded (the clock) at 09:00 and first succeeded at 09:00: 0 s.
    // Version 3 was first recorded on 11-05, after its claimed success: never below 0 s.
    assert_eq!(f.lead_time.count, 2);
    assert_eq!(f.lead_time.median_seconds, Some(0.0));
    assert_eq!(f.lead_time.p90_seconds, Some(0.0));
    assert_eq!(f.change_failure_rate, Some(0.5));
    // A range ending exactly at a finish time leaves that deployment out: [since, until).
    let f = dora(
        &vr,
        &DoraQuery::new(t("2026-11-02T00:00:00Z"), t("2026-11-04T09:00:00Z")),
    );
    assert_eq!(f.change_failures.finished, 2);
}

#[test]
fn lead_time_starts_at_the_first_build_else_the_first_record() {
    let (vr, clock) = store();
    replay(
        &vr,
        &clock,
        r#"
{"clock":"2026-11-02T06:00:00Z"}
{"product_name":"web","version":"2","environment_name":"staging","status":"completed","completed_at":"2026-11-02T06:00:00Z"}
{"clock":"2026-11-04T00:00:00Z"}
{"product_name":"web","version":"1","status":"completed","started_at":"2026-11-02T08:00:00Z","completed_at":"2026-11-02T09:00:00Z"}
{"product_name":"web","version":"1","status":"failed","started_at":"2026-11-02T04:00:00Z","completed_at":"2026-11-02T05:00:00Z"}
{"product_name":"web","version":"1","environment_name":"prod","status":"completed","completed_at":"2026-11-02T12:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"completed","completed_at":"2026-11-02T16:00:00Z"}
{"product_name":"web","version":"1","environment_name":"prod","status":"completed","completed_at":"2026-11-03T12:00:00Z"}
"#,
    );
    let f = dora(&vr, &week());
    // 1: its earliest build start is 04:00 (the second build, failed) → 12:00 = 8 h.
    // 2: no build; first recorded (the clock) at 06:00 → first prod success 16:00 = 10 h.
    // The second production success of 1 is not a first: two lead times.
    assert_eq!(f.lead_time.count, 2);
    assert_eq!(f.lead_time.median_seconds, Some(9.0 * HOUR));
    assert_eq!(f.lead_time.p90_seconds, Some(10.0 * HOUR));
    assert_eq!(f.deployment_frequency.count, 3);
}

const ROLLBACK: &str = r#"
{"clock":"2026-11-02T00:00:00Z"}
{"product_name":"web","version":"1","environment_name":"prod","status":"completed","completed_at":"2026-11-02T00:00:00Z"}
{"clock":"2026-11-05T00:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"completed","completed_at":"2026-11-03T00:00:00Z"}
{"product_name":"web","version":"1","environment_name":"prod","status":"completed","completed_at":"2026-11-03T04:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"failed","completed_at":"2026-11-04T00:00:00Z"}
"#;

#[test]
fn rollbacks_are_not_failures_by_default() {
    let (vr, clock) = store();
    replay(&vr, &clock, ROLLBACK);
    let f = dora(&vr, &week());
    // Successes 1, 2, 1 again; one failed; the failure is never restored.
    assert_eq!(f.deployment_frequency.count, 3);
    assert_eq!(f.change_failures.failed, 1);
    assert_eq!(f.change_failures.rolled_back, 0);
    assert_eq!(f.change_failure_rate, Some(0.25));
    assert_eq!(f.time_to_restore.count, 0);
    assert_eq!(f.time_to_restore.unrestored, 1);
}

#[test]
fn a_rollback_counts_the_replaced_deployment_as_a_failure_when_chosen() {
    let (vr, clock) = store();
    replay(&vr, &clock, ROLLBACK);
    let r = dora(
        &vr,
        &week().rollbacks(RollbackDefinition::FailureOfReplaced),
    );
    let f = &r;
    // 1 (first recorded 11-02) replaced 2 (first recorded 11-05): 2's success on 11-03
    // 00:00 is a failure restored by the rollback at 04:00 (4 h). The failed one stays
    // unrestored. Failures 2 of 4 finished.
    assert_eq!(f.change_failures.failed, 2);
    assert_eq!(f.change_failures.rolled_back, 1);
    assert_eq!(f.change_failures.finished, 4);
    assert_eq!(f.change_failure_rate, Some(0.5));
    assert_eq!(f.time_to_restore.count, 1);
    assert_eq!(f.time_to_restore.unrestored, 1);
    assert_eq!(f.time_to_restore.median_seconds, Some(4.0 * HOUR));
    // Frequency still counts every success.
    assert_eq!(f.deployment_frequency.count, 3);
    assert_eq!(
        r.definitions.rollbacks,
        RollbackDefinition::FailureOfReplaced
    );
}

#[test]
fn a_weekly_series_splits_the_range_from_since() {
    let (vr, clock) = store();
    replay(&vr, &clock, WEEK);
    let r = dora(
        &vr,
        &DoraQuery::new(t("2026-10-26T00:00:00Z"), t("2026-11-12T00:00:00Z"))
            .by(SeriesInterval::Week),
    );
    let series = r.series.unwrap();
    // [10-26, 11-02), [11-02, 11-09), [11-09, 11-12): 17 days.
    assert_eq!(series.len(), 3);
    assert_eq!(series[0].deployment_frequency.count, 1); // 0.9.0 on 10-30
    assert_eq!(series[1].deployment_frequency.count, 4);
    assert_eq!(series[1].change_failure_rate, Some(3.0 / 7.0));
    assert_eq!(series[2].until, t("2026-11-12T00:00:00Z"));
    assert_eq!(series[2].deployment_frequency.count, 0);
    assert_eq!(series[2].deployment_frequency.per_day, 0.0);
    assert_eq!(r.deployment_frequency.count, 5);
    assert_eq!(r.deployment_frequency.per_day, 5.0 / 17.0);
}

#[test]
fn bad_queries_are_refused_with_the_field_named() {
    let (vr, clock) = store();
    replay(&vr, &clock, WEEK);
    let err = vr
        .dora(&DoraQuery::new(
            t("2026-11-09T00:00:00Z"),
            t("2026-11-02T00:00:00Z"),
        ))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.field(), Some("until"));
    assert!(err.to_string().contains("must be after `since`"), "{err}");
    let err = vr.dora(&week().product("nope")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.to_string().contains("nope"), "{err}");
    let err = vr.dora(&week().environment("mars")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.to_string().contains("mars"), "{err}");
    let err = vr
        .dora(
            &DoraQuery::new(t("1990-01-01T00:00:00Z"), t("2026-11-02T00:00:00Z"))
                .by(SeriesInterval::Week),
        )
        .unwrap_err();
    assert_eq!(err.field(), Some("by"));
}

#[test]
fn lead_time_starts_at_the_commit_when_one_is_given() {
    let (vr, clock) = store();
    replay(
        &vr,
        &clock,
        r#"
{"product_name":"web","version":"1","status":"completed","scm_committed_at":"2026-11-01T22:00:00Z","started_at":"2026-11-02T01:00:00Z","completed_at":"2026-11-02T01:30:00Z"}
{"product_name":"web","version":"1","status":"completed","scm_committed_at":"2026-10-01T00:00:00Z","started_at":"2026-11-02T03:00:00Z","completed_at":"2026-11-02T03:30:00Z"}
{"product_name":"web","version":"2","status":"completed","started_at":"2026-11-02T04:00:00Z","completed_at":"2026-11-02T04:30:00Z"}
{"product_name":"web","version":"3","environment_name":"prod","status":"completed","scm_committed_at":"2026-11-02T06:00:00+02:00","completed_at":"2026-11-02T12:00:00Z"}
{"product_name":"web","version":"1","environment_name":"prod","status":"completed","completed_at":"2026-11-02T10:00:00Z"}
{"product_name":"web","version":"2","environment_name":"prod","status":"completed","completed_at":"2026-11-02T16:00:00Z"}
"#,
    );
    // The first commit time given is kept (a later event does not move it).
    let v1 = vr.version("web", "1").unwrap();
    assert_eq!(v1.scm_committed_at, Some(t("2026-11-01T22:00:00Z")));
    assert_eq!(vr.version("web", "2").unwrap().scm_committed_at, None);
    let f = dora(&vr, &week());
    // 1: commit 11-01 22:00 → 11-02 10:00 = 12 h (not from its build at 01:00).
    // 2: no commit time: first build start 04:00 → 16:00 = 12 h.
    // 3: commit 04:00 UTC (given with an offset), no build → 12:00 = 8 h.
    // Sorted 8 h, 12 h, 12 h: median 12 h; p90 = ceil(2.7) = 3rd = 12 h.
    assert_eq!(f.lead_time.count, 3);
    assert_eq!(f.lead_time.median_seconds, Some(12.0 * HOUR));
    assert_eq!(f.lead_time.p90_seconds, Some(12.0 * HOUR));
}

#[test]
fn a_commit_time_in_the_future_or_malformed_is_refused_and_nothing_written() {
    let (vr, _clock) = store();
    let mut e = DeploymentEvent::new("web", "1", "prod", "completed");
    e.scm_committed_at = Some("2027-01-01T00:00:00Z".into());
    let err = vr.track_deployment(&e).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.field(), Some("scm_committed_at"));
    assert!(err.to_string().contains("in the future"), "{err}");
    let mut b = BuildEvent::new("web", "1", "completed");
    b.scm_committed_at = Some("yesterday".into());
    let err = vr.track_build(&b).unwrap_err();
    assert_eq!(err.field(), Some("scm_committed_at"));
    assert!(err.to_string().contains("RFC 3339"), "{err}");
    assert!(vr.products().unwrap().is_empty());
}

mod rollups {
    //! The rollups kept as deployments finish give the ledger's figures for any history and
    //! any query (default definitions): histories arrive out of order, share finish times,
    //! get builds and commit times after their deployments; queries start and end mid-day.

    use super::*;
    use proptest::prelude::*;

    /// One event of a random history: a deployment (product, version, environment, status,
    /// finish minute), a build of a version (start minute), or a commit time for a version.
    #[derive(Debug, Clone)]
    enum Step {
        Deploy(u8, u8, u8, u8, u32),
        Build(u8, u8, u32),
        Commit(u8, u8, u32),
    }

    /// Minutes after 2026-11-01T00:00Z, in a 20-day window; a coarse grid so times collide.
    fn at(minute: u32) -> String {
        (t("2026-11-01T00:00:00Z") + chrono::Duration::minutes(i64::from(minute)))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn step() -> impl Strategy<Value = Step> {
        let minute = (0u32..20 * 24).prop_map(|m| m * 60);
        prop_oneof![
            6 => (0u8..2, 0u8..5, 0u8..3, 0u8..6, minute.clone())
                .prop_map(|(p, v, e, s, m)| Step::Deploy(p, v, e, s, m)),
            1 => (0u8..2, 0u8..5, minute.clone()).prop_map(|(p, v, m)| Step::Build(p, v, m)),
            1 => (0u8..2, 0u8..5, minute).prop_map(|(p, v, m)| Step::Commit(p, v, m)),
        ]
    }

    fn apply(vr: &Versioner, s: &Step) {
        match *s {
            Step::Deploy(p, v, e, status, m) => {
                // Mostly successes, some failures, an abort now and then.
                let status = [
                    "completed",
                    "completed",
                    "completed",
                    "failed",
                    "failed",
                    "aborted",
                ][usize::from(status)];
                let mut ev = DeploymentEvent::new(
                    format!("p{p}"),
                    format!("{v}.0"),
                    format!("e{e}"),
                    status,
                );
                ev.completed_at = Some(at(m));
                vr.track_deployment(&ev).unwrap();
            }
            Step::Build(p, v, m) => {
                let mut ev = BuildEvent::new(format!("p{p}"), format!("{v}.0"), "completed");
                ev.started_at = Some(at(m));
                ev.completed_at = Some(at(m + 10));
                vr.track_build(&ev).unwrap();
            }
            Step::Commit(p, v, m) => {
                let mut ev = BuildEvent::new(format!("p{p}"), format!("{v}.0"), "completed");
                ev.scm_committed_at = Some(at(m));
                vr.track_build(&ev).unwrap();
            }
        }
    }

    fn query() -> impl Strategy<Value = DoraQuery> {
        (
            0u32..20 * 24 * 4,
            1u32..20 * 24 * 4,
            proptest::collection::btree_set(0u8..3, 1..=3),
            proptest::option::of(0u8..2),
            any::<bool>(),
        )
            .prop_map(|(start, len, envs, product, weekly)| {
                // Quarter hours: ranges start and end mid-day and on midnights.
                let since =
                    t("2026-11-01T00:00:00Z") + chrono::Duration::minutes(i64::from(start) * 15);
                let until = since + chrono::Duration::minutes(i64::from(len) * 15);
                let mut q = DoraQuery::new(since, until);
                q.environments = envs.into_iter().map(|e| format!("e{e}")).collect();
                q.product = product.map(|p| format!("p{p}"));
                if weekly {
                    q.by = Some(SeriesInterval::Week);
                }
                q
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn the_rollups_give_the_ledgers_figures(
            steps in proptest::collection::vec(step(), 1..60),
            queries in proptest::collection::vec(query(), 1..6),
        ) {
            let (vr, _clock) = store();
            for s in &steps {
                apply(&vr, s);
            }
            for q in &queries {
                // A query naming a product or an environment never seen is NOT_FOUND both ways.
                match (vr.dora(q), vr.dora_from_ledger(q)) {
                    (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "query {:?}", q),
                    (Err(a), Err(b)) => prop_assert_eq!(a.code(), b.code()),
                    (a, b) => prop_assert!(false, "{:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
                }
            }
        }
    }
}

/// Migration 14 fills the rollups from the history already recorded: a store migrated from
/// schema 13 answers as the ledger does, and keeps its rollups up to date afterwards.
#[test]
fn the_rollups_migration_fills_them_from_existing_history() {
    let dir = tempfile::tempdir().unwrap();
    let location = common::new_location(dir.path());
    let clock = ManualClock::new(t("2026-12-01T00:00:00Z"));
    let vr = common::open(&location).with_clock(Arc::new(clock.clone()));
    replay(&vr, &clock, WEEK);
    replay(&vr, &clock, ROLLBACK);
    let mut q = week();
    q.environments = vec!["production".into(), "prod".into(), "staging".into()];
    q.by = Some(SeriesInterval::Week);
    let before = dora(&vr, &q);
    drop(vr);
    // Back to schema 13: without the rollup tables.
    const DROP: &str = "DROP TABLE dora_days; DROP TABLE dora_versions; DROP TABLE dora_failures;";
    if let Some(path) = location.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(DROP).unwrap();
        conn.pragma_update(None, "user_version", 13).unwrap();
    }
    #[cfg(feature = "postgres")]
    if let Some(schema) = location.strip_prefix("postgres:") {
        let url = common::database_url().unwrap();
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "SET search_path TO {schema}; {DROP} DELETE FROM versioner_schema WHERE version = 14;"
        ))
        .unwrap();
    }
    let vr = common::open(&location).with_clock(Arc::new(clock.clone()));
    assert_eq!(dora(&vr, &q), before);
    // Maintained from there on.
    replay(
        &vr,
        &clock,
        r#"
{"clock":"2026-12-01T00:00:00Z"}
{"product_name":"api","version":"6.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-08T06:00:00Z"}
"#,
    );
    let after = dora(&vr, &q);
    assert_eq!(
        after.deployment_frequency.count,
        before.deployment_frequency.count + 1
    );
}

/// An import of [`REFILL_ROLLUPS_FROM_LINES`] lines or more refills the rollups once at its end
/// instead of keeping them per deployment: the figures are the ledger's all the same, and live
/// deployments keep them up to date afterwards.
///
/// [`REFILL_ROLLUPS_FROM_LINES`]: versioner_core::import::REFILL_ROLLUPS_FROM_LINES
#[test]
fn a_large_import_refills_the_rollups_at_its_end() {
    use std::fmt::Write as _;
    let (vr, clock) = store();
    let mut file = String::new();
    for i in 0..versioner_core::import::REFILL_ROLLUPS_FROM_LINES {
        // Three products, three environments, a version every nine lines; one in seven
        // fails; times step back now and then so the file is not in time order.
        let minutes = (i * 3 + (i % 5) * 2) as i64;
        let at = t("2026-11-01T00:00:00Z") + chrono::Duration::minutes(minutes);
        let status = if i % 7 == 3 { "failed" } else { "completed" };
        writeln!(
            file,
            r#"{{"kind":"deployment","product_name":"p{}","version":"{}.0","environment_name":"e{}","status":"{status}","completed_at":"{}"}}"#,
            i % 3,
            i / 9,
            (i / 3) % 3,
            at.to_rfc3339()
        )
        .unwrap();
    }
    let report = vr
        .import_events(&file, versioner_core::import::ImportMode::Apply)
        .unwrap();
    assert_eq!(
        report.deployments as usize,
        versioner_core::import::REFILL_ROLLUPS_FROM_LINES
    );
    let mut q = DoraQuery::new(t("2026-11-03T05:00:00Z"), t("2026-11-30T17:00:00Z"));
    q.environments = vec!["e1".into(), "e2".into()];
    q.by = Some(SeriesInterval::Week);
    let before = dora(&vr, &q);
    assert!(before.change_failures.failed > 0 && before.lead_time.count > 0);
    q.product = Some("p1".into());
    let p1 = dora(&vr, &q);
    replay(
        &vr,
        &clock,
        r#"{"product_name":"p1","version":"9999.0","environment_name":"e2","status":"completed","completed_at":"2026-11-30T16:00:00Z"}"#,
    );
    let after = dora(&vr, &q);
    assert_eq!(
        after.deployment_frequency.count,
        p1.deployment_frequency.count + 1
    );
    assert_eq!(after.lead_time.count, p1.lead_time.count + 1);
}
