//! Tracking, lifecycle, immutability, queries and storage, through the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use versioner_core::{
    BuildEvent, DeploymentEvent, EnvironmentType, ErrorCode, HistoryQuery, ManualClock, Page,
    Status, Versioner,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn setup() -> (Versioner, ManualClock) {
    let clock = ManualClock::new(t("2026-11-20T10:00:00Z"));
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    (vr, clock)
}

fn dep(p: &str, v: &str, e: &str, s: &str) -> DeploymentEvent {
    DeploymentEvent::new(p, v, e, s)
}

fn count(vr: &Versioner) -> usize {
    vr.history(&HistoryQuery::new().limit(1000)).unwrap().len()
}

/// Asserts nothing at all was recorded.
#[track_caller]
fn assert_empty(vr: &Versioner) {
    assert!(vr.products().unwrap().is_empty());
    assert!(vr.environments().unwrap().is_empty());
    assert_eq!(count(vr), 0);
}

#[test]
fn aliases_normalize_on_record() {
    let (vr, _) = setup();
    for (alias, want) in [
        ("SUCCESS", Status::Completed),
        ("in_progress", Status::Started),
        ("Cancelled", Status::Aborted),
        ("canceled", Status::Aborted),
        (" queued ", Status::Pending),
        ("failure", Status::Failed),
        ("deployed", Status::Completed),
    ] {
        let d = vr
            .track_deployment(&dep("api", alias, "dev", alias))
            .unwrap();
        assert_eq!(d.status, want, "{alias}");
    }
    let b = vr
        .track_build(&BuildEvent::new("api", "1", "built"))
        .unwrap();
    assert_eq!(b.status, Status::Completed);
}

#[test]
fn every_validation_failure_names_the_field_and_writes_nothing() {
    let (vr, _) = setup();
    let mut cases: Vec<(DeploymentEvent, &str)> = Vec::new();
    let mut e = dep("api", "1", "prod", "started");
    e.product_name = None;
    cases.push((e, "product_name"));
    cases.push((dep("api", " ", "prod", "started"), "version"));
    cases.push((dep("api", "1", "", "started"), "environment_name"));
    cases.push((dep("api", "1", "prod", "succeeded"), "status"));
    cases.push((
        dep(&"p".repeat(256), "1", "prod", "started"),
        "product_name",
    ));
    cases.push((dep("api", &"v".repeat(101), "prod", "started"), "version"));
    cases.push((
        dep("api", "1", &"e".repeat(101), "started"),
        "environment_name",
    ));
    let mut e = dep("api", "1", "prod", "started");
    e.scm_sha = Some("not-a-sha".into());
    cases.push((e, "scm_sha"));
    let mut e = dep("api", "1", "prod", "started");
    e.extra_metadata = Some(json!([1]));
    cases.push((e, "extra_metadata"));
    let mut e = dep("api", "1", "prod", "started");
    e.extra_metadata = Some(json!({ "blob": "x".repeat(200_000) }));
    cases.push((e, "extra_metadata"));
    let mut e = dep("api", "1", "prod", "completed");
    e.completed_at = Some("yesterday".into());
    cases.push((e, "completed_at"));
    let mut e = dep("api", "1", "prod", "started");
    e.skip_preflight_checks = Some(true);
    cases.push((e, "skip_preflight_reason"));
    for (event, field) in cases {
        let err = vr.track_deployment(&event).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{field}");
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(err.to_string().contains(field), "{err}");
        assert_empty(&vr);
    }
    let mut b = BuildEvent::new("api", "1", "completed");
    b.built_by_email = Some("x".repeat(300));
    assert_eq!(
        vr.track_build(&b).unwrap_err().field(),
        Some("built_by_email")
    );
    let b = BuildEvent::new("api", "1", "nope");
    assert_eq!(vr.track_build(&b).unwrap_err().field(), Some("status"));
    assert_empty(&vr);
}

#[test]
fn products_environments_and_versions_are_created_on_first_sight() {
    let (vr, _) = setup();
    vr.track_deployment(&dep("api", "1.0", "prod-eu", "completed"))
        .unwrap();
    vr.track_deployment(&dep("web", "2.0", "Pre-Prod", "completed"))
        .unwrap();
    let products: Vec<String> = vr.products().unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(products, ["api", "web"]);
    let envs = vr.environments().unwrap();
    let find = |n: &str| envs.iter().find(|e| e.name == n).unwrap().env_type;
    assert_eq!(find("prod-eu"), EnvironmentType::Production);
    assert_eq!(find("Pre-Prod"), EnvironmentType::Staging);
    assert_eq!(vr.version("api", "1.0").unwrap().version, "1.0");
    // A user override sticks, and `None` returns to inference.
    let e = vr
        .set_environment_type("prod-eu", Some(EnvironmentType::Staging))
        .unwrap();
    assert_eq!(
        (e.env_type, e.type_overridden),
        (EnvironmentType::Staging, true)
    );
    let e = vr.set_environment_type("prod-eu", None).unwrap();
    assert_eq!(
        (e.env_type, e.type_overridden),
        (EnvironmentType::Production, false)
    );
}

#[test]
fn a_version_keeps_its_first_sha() {
    let (vr, _) = setup();
    let sha = "abcdef0123456789abcdef0123456789abcdef01";
    let mut b = BuildEvent::new("api", "1.0", "completed");
    b.scm_sha = Some(sha[..8].to_string());
    vr.track_build(&b).unwrap();
    // The full SHA of the same commit upgrades the abbreviated record.
    b.scm_sha = Some(sha.to_uppercase());
    vr.track_build(&b).unwrap();
    assert_eq!(
        vr.version("api", "1.0").unwrap().scm_sha.as_deref(),
        Some(sha)
    );
    // An abbreviated SHA of it still matches; no SHA never conflicts.
    let mut d = dep("api", "1.0", "dev", "completed");
    d.scm_sha = Some(sha[..7].to_string());
    vr.track_deployment(&d).unwrap();
    vr.track_deployment(&dep("api", "1.0", "dev", "completed"))
        .unwrap();
    let before = count(&vr);
    // A different commit is a conflict, for builds and deployments alike, and writes nothing.
    let mut d = dep("api", "1.0", "staging", "started");
    d.scm_sha = Some("0000000000000000000000000000000000000000".into());
    let err = vr.track_deployment(&d).unwrap_err();
    assert_eq!(err.code(), ErrorCode::VersionConflict);
    assert_eq!(err.code().http_status(), 409);
    assert!(
        err.to_string().contains("recorded with sha `abcdef01"),
        "{err}"
    );
    assert_eq!(count(&vr), before);
    assert!(
        vr.environments()
            .unwrap()
            .iter()
            .all(|e| e.name != "staging")
    );
    let mut b = BuildEvent::new("api", "1.0", "completed");
    b.scm_sha = Some("1111111".into());
    assert_eq!(
        vr.track_build(&b).unwrap_err().code(),
        ErrorCode::VersionConflict
    );
    // Versions by SHA, full and prefix.
    assert_eq!(vr.versions_by_sha(sha).unwrap().len(), 1);
    assert_eq!(vr.versions_by_sha(&sha[..6]).unwrap()[0].version, "1.0");
    assert!(vr.versions_by_sha("ffff").unwrap().is_empty());
    assert_eq!(
        vr.versions_by_sha("xyz").unwrap_err().field(),
        Some("scm_sha")
    );
}

#[test]
fn a_version_without_sha_takes_the_first_one_given() {
    let (vr, _) = setup();
    vr.track_deployment(&dep("api", "2.0", "dev", "completed"))
        .unwrap();
    let mut d = dep("api", "2.0", "dev", "completed");
    d.scm_sha = Some("aaaaaaa".into());
    vr.track_deployment(&d).unwrap();
    d.scm_sha = Some("bbbbbbb".into());
    assert_eq!(
        vr.track_deployment(&d).unwrap_err().code(),
        ErrorCode::VersionConflict
    );
}

#[test]
fn lifecycle_started_then_completed_closes_the_same_deployment() {
    let (vr, clock) = setup();
    let started = vr
        .track_deployment(&dep("api", "1", "prod", "started"))
        .unwrap();
    assert!(started.is_open());
    assert!(started.preflight.is_some());
    clock.advance(Duration::minutes(5));
    let done = vr
        .track_deployment(&dep("api", "1", "prod", "success"))
        .unwrap();
    assert_eq!(done.id, started.id);
    assert_eq!(done.status, Status::Completed);
    assert_eq!(done.started_at, Some(t("2026-11-20T10:00:00Z")));
    assert_eq!(done.completed_at, Some(t("2026-11-20T10:05:00Z")));
    assert_eq!(count(&vr), 1);
    assert_eq!(
        vr.deployment(&started.id).unwrap().status,
        Status::Completed
    );
}

#[test]
fn lifecycle_completed_without_started_records_a_closed_deployment() {
    let (vr, _) = setup();
    let mut e = dep("infra", "abc123", "prod", "completed");
    e.completed_at = Some("2026-11-20T09:00:00Z".into());
    let d = vr.track_deployment(&e).unwrap();
    assert_eq!(d.status, Status::Completed);
    assert_eq!(d.started_at, None);
    assert_eq!(d.completed_at, Some(t("2026-11-20T09:00:00Z")));
    // It closed no preflighted deployment, so it was preflighted itself (no rule here).
    assert_eq!(
        d.preflight.map(|p| p.status),
        Some(versioner_core::PreflightStatus::Passed)
    );
}

#[test]
fn lifecycle_terminal_closes_the_newest_open_one() {
    let (vr, clock) = setup();
    let a = vr
        .track_deployment(&dep("api", "1", "prod", "started"))
        .unwrap();
    clock.advance(Duration::minutes(1));
    let b = vr
        .track_deployment(&dep("api", "1", "prod", "started"))
        .unwrap();
    assert_ne!(a.id, b.id);
    let closed = vr
        .track_deployment(&dep("api", "1", "prod", "failed"))
        .unwrap();
    assert_eq!(closed.id, b.id);
    assert_eq!(vr.deployment(&a.id).unwrap().status, Status::Started);
    let closed = vr
        .track_deployment(&dep("api", "1", "prod", "aborted"))
        .unwrap();
    assert_eq!(closed.id, a.id);
    // Another version's open deployment is not closed by this version's event.
    let c = vr
        .track_deployment(&dep("api", "2", "prod", "started"))
        .unwrap();
    let d = vr
        .track_deployment(&dep("api", "1", "prod", "completed"))
        .unwrap();
    assert_ne!(d.id, c.id);
    assert!(vr.deployment(&c.id).unwrap().is_open());
}

#[test]
fn lifecycle_pending_then_started_is_one_deployment() {
    let (vr, _) = setup();
    let p = vr
        .track_deployment(&dep("api", "1", "prod", "queued"))
        .unwrap();
    assert_eq!(p.status, Status::Pending);
    assert!(p.preflight.is_none());
    let s = vr
        .track_deployment(&dep("api", "1", "prod", "started"))
        .unwrap();
    assert_eq!(s.id, p.id);
    assert_eq!(s.status, Status::Started);
    assert!(s.preflight.is_some());
    assert_eq!(count(&vr), 1);
}

#[test]
fn repeating_an_event_with_the_same_invoke_id_is_idempotent() {
    let (vr, clock) = setup();
    let mut e = dep("api", "1", "prod", "started");
    e.invoke_id = Some("run-42".into());
    e.extra_metadata = Some(json!({ "attempt": 1 }));
    let first = vr.track_deployment(&e).unwrap();
    clock.advance(Duration::minutes(1));
    e.extra_metadata = Some(json!({ "attempt": 2 }));
    let again = vr.track_deployment(&e).unwrap();
    assert_eq!(again, first);
    assert_eq!(count(&vr), 1);
    // A different status with the same run id is a new event of the lifecycle.
    let mut done = dep("api", "1", "prod", "completed");
    done.invoke_id = Some("run-42".into());
    let closed = vr.track_deployment(&done).unwrap();
    assert_eq!(closed.id, first.id);
    assert_eq!(vr.track_deployment(&done).unwrap(), closed);
    // Builds too.
    let mut b = BuildEvent::new("api", "1", "completed");
    b.invoke_id = Some("build-7".into());
    let b1 = vr.track_build(&b).unwrap();
    let b2 = vr.track_build(&b).unwrap();
    assert_eq!(b1, b2);
}

#[test]
fn builds_have_a_lifecycle_and_metadata() {
    let (vr, clock) = setup();
    let mut s = BuildEvent::new("api", "1", "building");
    s.built_by = Some("ci".into());
    s.extra_metadata = Some(json!({ "runner": "r1" }));
    let started = vr.track_build(&s).unwrap();
    clock.advance(Duration::minutes(3));
    let mut c = BuildEvent::new("api", "1", "built");
    c.extra_metadata = Some(json!({ "artifact": "api.tar" }));
    let done = vr.track_build(&c).unwrap();
    assert_eq!(done.id, started.id);
    assert_eq!(done.status, Status::Completed);
    assert_eq!(done.extra_metadata["runner"], "r1");
    assert_eq!(done.extra_metadata["artifact"], "api.tar");
    assert_eq!(done.completed_at, Some(t("2026-11-20T10:03:00Z")));
    assert_eq!(done.fields.built_by.as_deref(), Some("ci"));
}

#[test]
fn versions_are_listed_newest_first_and_paginated() {
    let (vr, _) = setup();
    for i in 0..5 {
        vr.track_build(&BuildEvent::new("api", format!("1.{i}"), "completed"))
            .unwrap();
    }
    let names = |page| -> Vec<String> {
        vr.versions("api", page)
            .unwrap()
            .into_iter()
            .map(|v| v.version)
            .collect()
    };
    assert_eq!(names(Page::first(2)), ["1.4", "1.3"]);
    assert_eq!(
        names(Page {
            limit: 2,
            offset: 2
        }),
        ["1.2", "1.1"]
    );
    assert_eq!(
        names(Page {
            limit: 10,
            offset: 4
        }),
        ["1.0"]
    );
    assert_eq!(
        vr.versions("api", Page::first(0)).unwrap_err().field(),
        Some("limit")
    );
    assert_eq!(
        vr.versions("nope", Page::first(1)).unwrap_err().code(),
        ErrorCode::NotFound
    );
    let v = vr.version("api", "1.2").unwrap();
    assert_eq!(vr.version_by_id(&v.id).unwrap(), v);
    let err = vr.version_by_id("missing").unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(err.to_string(), "version `missing` not found");
}

#[test]
fn history_filters() {
    let (vr, clock) = setup();
    vr.track_deployment(&dep("api", "1", "dev", "completed"))
        .unwrap();
    clock.advance(Duration::hours(1));
    vr.track_deployment(&dep("api", "1", "prod", "failed"))
        .unwrap();
    clock.advance(Duration::hours(1));
    vr.track_deployment(&dep("web", "9", "prod", "completed"))
        .unwrap();
    clock.advance(Duration::hours(1));
    vr.track_deployment(&dep("api", "2", "prod", "started"))
        .unwrap();
    let versions = |q: HistoryQuery| -> Vec<String> {
        vr.history(&q)
            .unwrap()
            .into_iter()
            .map(|d| format!("{}@{}:{}", d.product_name, d.version, d.environment_name))
            .collect()
    };
    assert_eq!(
        versions(HistoryQuery::new()),
        ["api@2:prod", "web@9:prod", "api@1:prod", "api@1:dev"]
    );
    assert_eq!(
        versions(HistoryQuery::new().product("api").environment("prod")),
        ["api@2:prod", "api@1:prod"]
    );
    assert_eq!(
        versions(HistoryQuery::new().status(Status::Failed)),
        ["api@1:prod"]
    );
    assert_eq!(
        versions(HistoryQuery::new().product("api").version("1")),
        ["api@1:prod", "api@1:dev"]
    );
    assert_eq!(versions(HistoryQuery::new().limit(1)), ["api@2:prod"]);
    assert_eq!(
        versions(
            HistoryQuery::new()
                .since(t("2026-11-20T11:00:00Z"))
                .until(t("2026-11-20T13:00:00Z"))
        ),
        ["web@9:prod", "api@1:prod"]
    );
    assert!(versions(HistoryQuery::new().product("nope")).is_empty());
    assert!(versions(HistoryQuery::new().environment("nope")).is_empty());
    assert_eq!(
        vr.history(&HistoryQuery::new().limit(5000))
            .unwrap_err()
            .field(),
        Some("limit")
    );
    assert_eq!(
        vr.history(&HistoryQuery::new().version("1"))
            .unwrap_err()
            .field(),
        Some("version")
    );
}

#[test]
fn state_matrix_now_and_as_of_any_instant() {
    let (vr, clock) = setup();
    let mut e = dep("api", "1.0", "staging", "completed");
    e.deployed_by = Some("dana".into());
    vr.track_deployment(&e).unwrap(); // 10:00
    clock.set(t("2026-11-20T12:00:00Z"));
    vr.track_deployment(&dep("api", "1.0", "prod", "completed"))
        .unwrap();
    clock.set(t("2026-11-20T14:00:00Z"));
    vr.track_deployment(&dep("api", "1.1", "staging", "completed"))
        .unwrap();
    clock.set(t("2026-11-20T15:00:00Z"));
    vr.track_deployment(&dep("api", "1.1", "prod", "started"))
        .unwrap();
    vr.track_deployment(&dep("web", "3", "prod", "failed"))
        .unwrap();

    let now = vr.state(None).unwrap();
    assert_eq!(now.products, ["api", "web"]);
    assert_eq!(now.environments, ["staging", "prod"]);
    assert_eq!(now.version("api", "staging"), Some("1.1"));
    assert_eq!(now.version("api", "prod"), Some("1.0"));
    let cell = now.cell("api", "prod").unwrap();
    assert_eq!(cell.in_progress.len(), 1);
    assert_eq!(cell.in_progress[0].version, "1.1");
    assert_eq!(now.version("web", "prod"), None);
    assert!(now.to_table().contains("1.0 (*1.1)"), "{}", now.to_table());

    let earlier = vr.state(Some(t("2026-11-20T13:00:00Z"))).unwrap();
    assert_eq!(earlier.version("api", "staging"), Some("1.0"));
    assert_eq!(earlier.version("api", "prod"), Some("1.0"));
    let by = earlier
        .cell("api", "staging")
        .unwrap()
        .current
        .as_ref()
        .unwrap();
    assert_eq!(
        (by.deployed_by.as_deref(), by.deployed_at),
        (Some("dana"), t("2026-11-20T10:00:00Z"))
    );
    assert!(earlier.cell("api", "prod").unwrap().in_progress.is_empty());
    assert!(earlier.cell("web", "prod").is_none());

    let at_1530 = vr.state(Some(t("2026-11-20T15:30:00Z"))).unwrap();
    assert_eq!(at_1530.cell("api", "prod").unwrap().in_progress.len(), 1);

    let before_anything = vr.state(Some(t("2026-11-19T00:00:00Z"))).unwrap();
    assert!(before_anything.cells.is_empty());

    // Drift: api holds 1.1 in staging and 1.0 in prod now; at 13:00 both held 1.0.
    let drift = vr.drift(None, None).unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].product_name, "api");
    assert_eq!(drift[0].versions["staging"], "1.1");
    assert!(
        vr.drift(Some(t("2026-11-20T13:00:00Z")), None)
            .unwrap()
            .is_empty()
    );
    assert!(
        vr.drift(None, Some(&["prod".to_string()]))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_cell_names_a_failed_last_attempt_until_a_newer_one() {
    let (vr, clock) = setup();
    vr.track_deployment(&dep("api", "1.0", "prod", "completed"))
        .unwrap(); // 10:00
    clock.set(t("2026-11-20T11:00:00Z"));
    vr.track_deployment(&dep("api", "1.1", "prod", "started"))
        .unwrap();
    clock.set(t("2026-11-20T11:30:00Z"));
    vr.track_deployment(&dep("api", "1.1", "prod", "failed"))
        .unwrap();
    let cell = |at| vr.state(at).unwrap().cell("api", "prod").cloned().unwrap();
    let now = cell(None);
    assert_eq!(
        now.current.as_ref().map(|d| d.version.as_str()),
        Some("1.0")
    );
    let failed = now.last_failed.unwrap();
    assert_eq!(
        (failed.version.as_str(), failed.status),
        ("1.1", Status::Failed)
    );
    // At 11:15 the attempt was still running, not failed.
    let running = cell(Some(t("2026-11-20T11:15:00Z")));
    assert_eq!((running.in_progress.len(), running.last_failed), (1, None));
    // The wire form names it only when there is one.
    let json = serde_json::to_value(vr.state(None).unwrap()).unwrap();
    assert_eq!(json["cells"][0]["last_failed"]["version"], "1.1");
    clock.set(t("2026-11-20T12:00:00Z"));
    vr.track_deployment(&dep("api", "1.2", "prod", "completed"))
        .unwrap();
    assert_eq!(cell(None).last_failed, None);
    // One cell alone is the matrix's cell, now and as of an instant.
    for at in [None, Some(t("2026-11-20T11:15:00Z"))] {
        assert_eq!(vr.state_cell("api", "prod", at).unwrap(), Some(cell(at)));
    }
    assert_eq!(
        vr.state_cell("api", "prod", Some(t("2026-11-19T00:00:00Z")))
            .unwrap(),
        None
    );
    assert_eq!(vr.state_cell("nope", "prod", None).unwrap(), None);
    let json = serde_json::to_value(vr.state(None).unwrap()).unwrap();
    assert!(json["cells"][0].get("last_failed").is_none());
}

#[test]
fn a_database_file_survives_reopening_and_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    {
        let vr = Versioner::open(&path).unwrap();
        vr.track_deployment(&dep("api", "1", "prod", "completed"))
            .unwrap();
    }
    let store = versioner_core::SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        versioner_core::store::SCHEMA_VERSION
    );
    drop(store);
    let vr = Versioner::open(&path).unwrap();
    assert_eq!(vr.state(None).unwrap().version("api", "prod"), Some("1"));
    drop(vr);

    // A database written by a newer Versioner is refused, and left untouched.
    let conn = rusqlite_conn(&path);
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Versioner::open(&path).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Storage);
    assert!(
        err.to_string().contains("schema version 99 is newer"),
        "{err}"
    );
    let conn = rusqlite_conn(&path);
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn an_unreadable_path_is_a_storage_error() {
    let err = Versioner::open("/nonexistent-dir/sub/v.db").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Storage);
    assert!(
        err.to_string().contains("/nonexistent-dir/sub/v.db"),
        "{err}"
    );
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn equal_timestamps_break_ties_by_recording_order_on_every_store() {
    // Two deployments finishing (and starting) at the same instant: the one recorded later is
    // current, now and as of that instant, on SQLite and PostgreSQL alike.
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = std::sync::Arc::new(versioner_core::ManualClock::new(at));
    let vr = common::fresh().with_clock(clock);
    for v in ["1.0.0", "1.0.1", "1.0.2"] {
        vr.track_deployment(&DeploymentEvent::new("api", v, "prod-eu", "completed"))
            .unwrap();
    }
    assert_eq!(
        vr.state(None).unwrap().version("api", "prod-eu"),
        Some("1.0.2")
    );
    assert_eq!(
        vr.state(Some(at)).unwrap().version("api", "prod-eu"),
        Some("1.0.2")
    );
    // In progress as of that instant: started at the same time, listed in recording order.
    for v in ["2.0.0", "2.0.1"] {
        vr.track_deployment(&DeploymentEvent::new("web", v, "prod-eu", "started"))
            .unwrap();
    }
    let state = vr.state(Some(at)).unwrap();
    let cell = state
        .cells
        .iter()
        .find(|c| c.product_name == "web")
        .unwrap();
    let versions: Vec<&str> = cell
        .in_progress
        .iter()
        .map(|d| d.version.as_str())
        .collect();
    assert_eq!(versions, ["2.0.0", "2.0.1"]);
}

/// The catalog on every store: a description and metadata are kept, a rename keeps the id and
/// carries the history, and a rename under a rule is refused with nothing written.
#[test]
fn the_catalog_is_described_and_renamed_on_every_store() {
    use versioner_core::CatalogChange;
    use versioner_core::policy::{ApplyMode, PolicyFormat};
    let (vr, _) = setup();
    for env in ["staging", "production"] {
        vr.track_deployment(&DeploymentEvent::new("api", "1.0", env, "success"))
            .unwrap();
    }
    let id = vr.product("api").unwrap().id;
    let mut meta = serde_json::Map::new();
    meta.insert("team".into(), json!("core"));
    let p = vr
        .update_product(
            "api",
            &CatalogChange::rename("api-service")
                .description("The public API")
                .extra_metadata(meta),
        )
        .unwrap();
    assert_eq!(
        (p.id.as_str(), p.name.as_str()),
        (id.as_str(), "api-service")
    );
    let listed = vr.products().unwrap();
    assert_eq!(listed[0].description.as_deref(), Some("The public API"));
    assert_eq!(listed[0].extra_metadata["team"], "core");
    assert_eq!(vr.product(&id).unwrap().name, "api-service");
    assert_eq!(
        vr.history(&HistoryQuery::new().product("api-service"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(vr.state(None).unwrap().products, vec!["api-service"]);
    let e = vr
        .update_environment(
            "staging",
            &CatalogChange::rename("stage").description("pre"),
        )
        .unwrap();
    assert_eq!(vr.environment("stage").unwrap().id, e.id);
    assert_eq!(
        vr.environments().unwrap()[0].description.as_deref(),
        Some("pre")
    );
    assert!(
        vr.state(None)
            .unwrap()
            .cells
            .iter()
            .any(|c| c.environment_name == "stage")
    );
    vr.apply_policy_text(
        "[[rules]]\nname = \"Flow\"\ntype = \"flow\"\nenvironments = [\"production\"]\nprerequisites = [\"stage\"]\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "test",
    )
    .unwrap();
    let seq = vr.last_event_seq().unwrap();
    let err = vr
        .update_environment("stage", &CatalogChange::rename("staging"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(vr.last_event_seq().unwrap(), seq);
    assert_eq!(vr.environment(&e.id).unwrap().name, "stage");
    assert!(vr.audit_verify().unwrap().is_intact());
}
