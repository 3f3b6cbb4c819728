//! History import and export (issue 19, item 1): `export` then `import` into a fresh store
//! gives the same state, history and DORA figures (SQLite → SQLite, and SQLite → PostgreSQL
//! under `scripts/test-postgres.sh`); a second import writes nothing; a bad line fails with
//! its number and writes nothing; a dry run writes nothing; lines are applied in time order;
//! imported deployments are not preflighted and announce nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::Value;
use versioner_core::access::{Actor, Role};
use versioner_core::import::{ImportFile, ImportMode};
use versioner_core::insights::DoraQuery;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{
    BuildEvent, DeploymentEvent, ErrorCode, HistoryQuery, ManualClock, Versioner,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A clock standing after every claimed time of the fixtures.
fn clocked(vr: Versioner) -> (Versioner, ManualClock) {
    let clock = ManualClock::new(t("2026-12-01T00:00:00Z"));
    (vr.with_clock(Arc::new(clock.clone())), clock)
}

/// A live history: builds with and without commit times, deployments that start then
/// complete (at the clock's times), closed ones reported directly with claimed times, a
/// failure and its restore, a queued and a running deployment, metadata.
fn live_history(vr: &Versioner, clock: &ManualClock) {
    let step = |at: &str| clock.set(t(at));
    step("2026-11-01T09:00:00Z");
    let mut b = BuildEvent::new("api", "1.0.0", "started");
    b.scm_sha = Some("4f2a9c1e".into());
    b.scm_committed_at = Some("2026-11-01T08:00:00Z".into());
    vr.track_build(&b).unwrap();
    step("2026-11-01T09:10:00Z");
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    step("2026-11-01T10:00:00Z");
    let mut d = DeploymentEvent::new("api", "1.0.0", "staging", "started");
    d.deployed_by = Some("dana".into());
    vr.track_deployment(&d).unwrap();
    step("2026-11-01T10:05:00Z");
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "staging",
        "completed",
    ))
    .unwrap();
    step("2026-11-02T10:00:00Z");
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "started",
    ))
    .unwrap();
    step("2026-11-02T10:07:00Z");
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "completed",
    ))
    .unwrap();
    step("2026-11-03T12:00:00Z");
    let mut b = BuildEvent::new("api", "2.0.0", "completed");
    b.started_at = Some("2026-11-03T11:00:00Z".into());
    b.completed_at = Some("2026-11-03T11:20:00Z".into());
    b.extra_metadata = Some(serde_json::json!({"pipeline": 7}));
    vr.track_build(&b).unwrap();
    let mut f = DeploymentEvent::new("api", "2.0.0", "production", "failed");
    f.completed_at = Some("2026-11-03T11:50:00Z".into());
    vr.track_deployment(&f).unwrap();
    step("2026-11-03T18:00:00Z");
    let mut ok = DeploymentEvent::new("api", "2.0.0", "production", "success");
    ok.completed_at = Some("2026-11-03T17:30:00Z".into());
    ok.invoke_id = Some("run-9".into());
    vr.track_deployment(&ok).unwrap();
    step("2026-11-04T08:00:00Z");
    vr.track_deployment(&DeploymentEvent::new("web", "7", "dev", "pending"))
        .unwrap();
    step("2026-11-04T09:00:00Z");
    vr.track_deployment(&DeploymentEvent::new("web", "8", "dev", "started"))
        .unwrap();
    step("2026-12-01T00:00:00Z");
}

/// A record as JSON without what an import legitimately changes: public ids and the times a
/// record was written (`created_at`, `updated_at`), who recorded it.
fn scrub(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| {
                    !(k == "id"
                        || k.ends_with("_id")
                        || k == "created_at"
                        || k == "updated_at"
                        || k == "recorded_by")
                })
                .map(|(k, v)| (k, scrub(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        other => other,
    }
}

/// State, history and DORA figures of a store, comparable across stores.
fn figures(vr: &Versioner) -> (Value, Vec<Value>, Value) {
    let state = scrub(serde_json::to_value(vr.state(None).unwrap()).unwrap());
    let history = vr
        .history(&HistoryQuery::new().limit(1000))
        .unwrap()
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "product": d.product_name, "version": d.version,
                "environment": d.environment_name, "status": d.status.as_str(),
                "deployed_at": d.deployed_at, "started_at": d.started_at,
                "completed_at": d.completed_at, "fields": scrub(serde_json::to_value(&d.fields).unwrap()),
                "extra_metadata": d.extra_metadata,
            })
        })
        .collect();
    let mut q = DoraQuery::new(t("2026-11-01T00:00:00Z"), t("2026-11-08T00:00:00Z"));
    q.environments = vec!["production".into()];
    let dora = serde_json::to_value(vr.dora(&q).unwrap()).unwrap();
    (state, history, dora)
}

fn export(vr: &Versioner) -> String {
    let mut out = Vec::new();
    vr.export_events(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn export_then_import_into_a_fresh_store_gives_the_same_state_history_and_dora() {
    // The source is always SQLite; the target is the store under test (PostgreSQL under
    // scripts/test-postgres.sh): SQLite → PostgreSQL is this test there.
    let (source, clock) = clocked(Versioner::open_in_memory().unwrap());
    live_history(&source, &clock);
    let file = export(&source);
    assert_eq!(file.lines().count(), 2 + 6, "{file}");

    let (target, _) = clocked(common::fresh());
    let report = target.import_events(&file, ImportMode::Apply).unwrap();
    assert_eq!(
        (
            report.lines,
            report.builds,
            report.deployments,
            report.skipped
        ),
        (8, 2, 6, 0)
    );
    assert!(!report.dry_run);
    let (state, history, dora) = figures(&target);
    let (want_state, want_history, want_dora) = figures(&source);
    assert_eq!(state, want_state);
    assert_eq!(history, want_history);
    assert_eq!(dora, want_dora);
    assert_eq!(dora["deployment_frequency"]["count"], 2, "{dora}");
    assert_eq!(dora["change_failures"]["failed"], 1, "{dora}");
    // The commit time and the SHA travel with the lines.
    let v = target.version("api", "1.0.0").unwrap();
    assert_eq!(v.scm_sha.as_deref(), Some("4f2a9c1e"));
    assert_eq!(v.scm_committed_at, Some(t("2026-11-01T08:00:00Z")));
    // And the export of the copy is the export of the original.
    assert_eq!(export(&target), file);
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let (source, clock) = clocked(Versioner::open_in_memory().unwrap());
    live_history(&source, &clock);
    let file = export(&source);
    let (target, _) = clocked(common::fresh());
    target.import_events(&file, ImportMode::Apply).unwrap();
    let before = (
        figures(&target),
        export(&target),
        target.last_event_seq().unwrap(),
    );
    let again = target.import_events(&file, ImportMode::Apply).unwrap();
    assert_eq!((again.imported(), again.skipped, again.lines), (0, 8, 8));
    let after = (
        figures(&target),
        export(&target),
        target.last_event_seq().unwrap(),
    );
    assert_eq!(after, before);
    // A line repeated within one file is imported once.
    let (fresh, _) = clocked(common::fresh());
    let first = file.lines().next().unwrap();
    let twice = format!("{first}\n{first}\n");
    let r = fresh.import_events(&twice, ImportMode::Apply).unwrap();
    assert_eq!((r.imported(), r.skipped), (1, 1));
}

const GOOD: &str = r#"{"kind":"deployment","product_name":"api","version":"1.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-02T10:00:00Z"}"#;

#[test]
fn a_bad_line_fails_with_its_number_and_nothing_is_written() {
    let (vr, _) = clocked(common::fresh());
    let file = format!(
        "{GOOD}\n{}\n{GOOD}\n",
        r#"{"kind":"deployment","product_name":"api","version":"","environment_name":"production","status":"completed","completed_at":"2026-11-02T11:00:00Z"}"#
    );
    let err = vr.import_events(&file, ImportMode::Apply).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.field(), Some("line 2"));
    assert!(err.to_string().contains("`version`"), "{err}");
    assert!(vr.products().unwrap().is_empty());

    // Malformed JSON, a bad status, a time in the future: each named by its line.
    for (bad, line, says) in [
        ("{\"kind\": \"build\",", "line 2", "not valid JSON"),
        (
            r#"{"kind":"build","product_name":"api","version":"1","status":"done","completed_at":"2026-11-02T11:00:00Z"}"#,
            "line 2",
            "`status`",
        ),
        (
            r#"{"kind":"build","product_name":"api","version":"1","status":"completed","completed_at":"2027-11-02T11:00:00Z"}"#,
            "line 2",
            "in the future",
        ),
    ] {
        let err = vr
            .import_events(&format!("{GOOD}\n{bad}\n"), ImportMode::Apply)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{bad}");
        assert_eq!(err.field(), Some(line), "{err}");
        assert!(err.to_string().contains(says), "{err}");
        assert!(vr.products().unwrap().is_empty(), "{bad}");
    }

    // A conflict with what is recorded is found while applying, still named by its line.
    let mut b = BuildEvent::new("api", "1.0.0", "completed");
    b.scm_sha = Some("aaaa1111".into());
    vr.track_build(&b).unwrap();
    let conflicting = r#"{"kind":"build","product_name":"api","version":"1.0.0","status":"completed","scm_sha":"bbbb2222","completed_at":"2026-11-02T11:00:00Z"}"#;
    let err = vr
        .import_events(&format!("{GOOD}\n{conflicting}\n"), ImportMode::Apply)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.field(), Some("line 2"));
    assert!(err.to_string().contains("VERSION_CONFLICT"), "{err}");
    assert!(vr.history(&HistoryQuery::new()).unwrap().is_empty());
}

#[test]
fn a_dry_run_reports_and_writes_nothing() {
    let (vr, _) = clocked(common::fresh());
    let file = format!("{GOOD}\n");
    let r = vr.import_events(&file, ImportMode::DryRun).unwrap();
    assert!(r.dry_run);
    assert_eq!((r.lines, r.deployments, r.skipped), (1, 1, 0));
    assert!(vr.products().unwrap().is_empty());
    assert_eq!(vr.last_event_seq().unwrap(), 0);
    // A dry run still finds a failing line.
    let err = vr
        .import_events(&format!("{GOOD}\n{{}}\n"), ImportMode::DryRun)
        .unwrap_err();
    assert_eq!(err.field(), Some("line 2"));
}

#[test]
fn lines_are_applied_in_time_order() {
    let (vr, _) = clocked(common::fresh());
    // Given newest first: 2.0.0 completes after 1.0.0, and a deployment's `completed` line
    // before its `started` line.
    let file = [
        r#"{"product_name":"api","version":"2.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-03T10:00:00Z"}"#,
        r#"{"product_name":"api","version":"1.0.0","environment_name":"production","status":"completed","completed_at":"2026-11-02T10:06:00Z"}"#,
        r#"{"product_name":"api","version":"1.0.0","environment_name":"production","status":"started","started_at":"2026-11-02T10:00:00Z"}"#,
    ]
    .join("\n");
    vr.import_events(&file, ImportMode::Apply).unwrap();
    assert_eq!(
        vr.state(None).unwrap().version("api", "production"),
        Some("2.0.0")
    );
    let history = vr.history(&HistoryQuery::new()).unwrap();
    assert_eq!(
        history.len(),
        2,
        "the completed line closed the started one"
    );
    let first = &history[1];
    assert_eq!(first.version, "1.0.0");
    assert_eq!(first.started_at, Some(t("2026-11-02T10:00:00Z")));
    assert_eq!(first.completed_at, Some(t("2026-11-02T10:06:00Z")));
    assert_eq!(first.deployed_at, t("2026-11-02T10:00:00Z"));
}

#[test]
fn imported_history_is_not_preflighted_and_announces_nothing() {
    let (vr, _) = clocked(common::fresh());
    vr.apply_policy_text(
        "[[rules]]\nname = 'Staging first'\ntype = 'flow'\nenvironments = ['production']\nprerequisites = ['staging']\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    let seq = vr.last_event_seq().unwrap();
    vr.import_events(GOOD, ImportMode::Apply).unwrap();
    assert_eq!(vr.last_event_seq().unwrap(), seq, "no domain event");
    let d = &vr.history(&HistoryQuery::new()).unwrap()[0];
    assert!(d.preflight.is_none());
    // A live deployment is still preflighted.
    let err = vr
        .track_deployment(&DeploymentEvent::new(
            "api",
            "2.0.0",
            "production",
            "started",
        ))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::FlowViolation);
}

#[test]
fn only_admins_import_and_export() {
    let (vr, _) = clocked(common::fresh());
    let dev = vr.acting_as(Actor::local("dev").with_role(Role::Developer));
    let err = dev.import_events(GOOD, ImportMode::Apply).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let err = dev.export_events(&mut Vec::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let admin = vr.acting_as(Actor::local("root").with_role(Role::Admin));
    assert_eq!(
        admin
            .import_events(GOOD, ImportMode::Apply)
            .unwrap()
            .deployments,
        1
    );
}

#[test]
fn a_file_can_be_read_once_and_imported() {
    let file = ImportFile::read(&format!("\n{GOOD}\n\n")).unwrap();
    assert_eq!(file.len(), 1);
    let (vr, _) = clocked(common::fresh());
    assert_eq!(
        vr.import_file(&file, ImportMode::Apply)
            .unwrap()
            .deployments,
        1
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any order of the lines of an export imports to the same history.
    #[test]
    fn any_line_order_imports_the_same_history(seed in any::<u64>()) {
        let (source, clock) = clocked(Versioner::open_in_memory().unwrap());
        live_history(&source, &clock);
        let file = export(&source);
        let mut lines: Vec<&str> = file.lines().collect();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..lines.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).unwrap();
            lines.swap(i, j);
        }
        let (target, _) = clocked(Versioner::open_in_memory().unwrap());
        target.import_events(&lines.join("\n"), ImportMode::Apply).unwrap();
        prop_assert_eq!(export(&target), file);
    }
}
