//! The outbox: every recording operation appends its domain events in its own transaction; a
//! refusal appends only `deployment.preflight_failed`; reading from a cursor returns them in
//! order with no gaps. Idempotent writes: a write committed under a claim is replayed, never
//! run twice. Runs on SQLite, and on PostgreSQL under `scripts/test-postgres.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use versioner_core::policy::{ApplyMode, PolicyFormat, RuleStatus};
use versioner_core::{
    ApprovalRequest, BuildEvent, DeploymentEvent, DomainEvent, Error, ErrorCode, EventType,
    HistoryQuery, IdempotencyClaim, Versioner,
};

const POLICY: &str = r#"
[[rules]]
name = "Staging first"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
"#;

/// Every event after `after`, read in pages of `page` through the cursor API.
fn read_all(vr: &Versioner, after: i64, page: u32) -> Vec<DomainEvent> {
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let batch = vr.events_since(cursor, page).unwrap();
        let Some(last) = batch.last() else { break };
        cursor = last.seq;
        out.extend(batch);
    }
    out
}

fn types(events: &[DomainEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

/// The events the closure appended, checked to follow on from what was there.
fn appended(vr: &Versioner, f: impl FnOnce()) -> Vec<DomainEvent> {
    let before = vr.last_event_seq().unwrap();
    f();
    let events = read_all(vr, before, 1000);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.seq,
            before + 1 + i64::try_from(i).unwrap(),
            "no gap: {events:?}"
        );
    }
    assert_eq!(
        vr.last_event_seq().unwrap(),
        before + i64::try_from(events.len()).unwrap()
    );
    events
}

#[test]
fn every_recording_operation_appends_its_events() {
    let vr = common::fresh();
    assert_eq!(vr.last_event_seq().unwrap(), 0);
    assert!(vr.events_since(0, 10).unwrap().is_empty());

    let ev = appended(&vr, || {
        vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "alice")
            .unwrap();
    });
    assert_eq!(types(&ev), ["rule.created"]);
    assert_eq!(ev[0].subject.as_deref(), Some("Staging first"));
    assert_eq!(ev[0].actor.as_deref(), Some("alice"));

    let ev = appended(&vr, || {
        let mut b = BuildEvent::new("api", "1.0.0", "started");
        b.built_by = Some("ci-bot".into());
        let build = vr.track_build(&b).unwrap();
        let done = vr
            .track_build(&BuildEvent::new("api", "1.0.0", "success"))
            .unwrap();
        assert_eq!(build.id, done.id);
    });
    assert_eq!(types(&ev), ["build.started", "build.completed"]);
    assert_eq!(ev[0].actor.as_deref(), Some("ci-bot"));
    assert_eq!(ev[1].payload["status"], "completed");

    let mut started = DeploymentEvent::new("api", "1.0.0", "staging", "started");
    started.invoke_id = Some("run-1".into());
    started.deployed_by = Some("dana".into());
    let mut id = String::new();
    let ev = appended(&vr, || {
        let d = vr.track_deployment(&started).unwrap();
        id = d.id.clone();
        vr.track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "staging",
            "completed",
        ))
        .unwrap();
    });
    assert_eq!(types(&ev), ["deployment.started", "deployment.completed"]);
    assert_eq!(ev[0].subject.as_deref(), Some(id.as_str()));
    assert_eq!(ev[1].subject.as_deref(), Some(id.as_str()));
    assert_eq!(ev[0].actor.as_deref(), Some("dana"));
    assert_eq!(ev[0].payload["environment_name"], "staging");
    assert_eq!(ev[1].payload["status"], "completed");

    // A repeated event (same invoke_id and status) writes nothing, so appends nothing.
    let ev = appended(&vr, || {
        assert_eq!(vr.track_deployment(&started).unwrap().id, id);
    });
    assert!(ev.is_empty(), "{ev:?}");

    let ev = appended(&vr, || {
        let a = vr
            .approve(&ApprovalRequest::new("api", "1.0.0", "qa", "rita"))
            .unwrap();
        vr.revoke_approval(&a.id, "max", "wrong build").unwrap();
    });
    assert_eq!(types(&ev), ["version.approved", "approval.revoked"]);
    assert_eq!(ev[0].actor.as_deref(), Some("rita"));
    assert_eq!(ev[1].actor.as_deref(), Some("max"));
    assert_eq!(ev[0].subject, ev[1].subject);

    let ev = appended(&vr, || {
        vr.set_rule_status("Staging first", RuleStatus::ReportOnly, "ops", "incident")
            .unwrap();
        let mut rule = vr.rule("Staging first").unwrap().rule;
        rule.status = RuleStatus::Enabled;
        vr.update_rule("Staging first", &rule).unwrap();
        vr.delete_rule("Staging first").unwrap();
        vr.set_environment_type("qa-eu", None).unwrap();
    });
    assert_eq!(
        types(&ev),
        [
            "rule.status_changed",
            "rule.status_changed",
            "rule.updated",
            "rule.deleted",
            "environment.updated"
        ]
    );

    let ev = appended(&vr, || {
        let k = vr.create_api_key("ci", versioner_core::Role::Ci).unwrap();
        vr.revoke_api_key("ci").unwrap();
        assert!(
            !serde_json::to_string(&vr.events_since(0, 1000).unwrap())
                .unwrap()
                .contains(&k.secret)
        );
    });
    assert_eq!(types(&ev), ["api_key.created", "api_key.revoked"]);

    // Reads append nothing.
    let ev = appended(&vr, || {
        vr.state(None).unwrap();
        vr.history(&HistoryQuery::new()).unwrap();
        vr.rules().unwrap();
    });
    assert!(ev.is_empty());
}

#[test]
fn a_refusal_appends_only_its_preflight_failed_event_and_an_error_nothing() {
    let vr = common::fresh();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap();
    let products_before = vr.products().unwrap().len();
    let mut blocked = DeploymentEvent::new("web", "2.0.0", "production", "started");
    blocked.deployed_by = Some("zed".into());
    let ev = appended(&vr, || {
        let err = vr.track_deployment(&blocked).unwrap_err();
        assert_eq!(err.code(), ErrorCode::FlowViolation);
    });
    assert_eq!(types(&ev), ["deployment.preflight_failed"]);
    let e = &ev[0];
    assert_eq!(e.actor.as_deref(), Some("zed"));
    assert_eq!(e.subject, None);
    assert_eq!(e.payload["product_name"], "web");
    assert_eq!(e.payload["environment_name"], "production");
    assert_eq!(e.payload["verdict"]["code"], "FLOW_VIOLATION");
    // Nothing else was written: no product, no deployment.
    assert_eq!(vr.products().unwrap().len(), products_before);
    assert!(
        vr.history(&HistoryQuery::new().product("web"))
            .is_err_and(|e| e.code() == ErrorCode::NotFound)
            || vr
                .history(&HistoryQuery::new().product("web"))
                .unwrap()
                .is_empty()
    );

    // Invalid input and conflicts append nothing at all.
    let ev = appended(&vr, || {
        let bad = DeploymentEvent::new("web", "2.0.0", "staging", "exploded");
        assert_eq!(
            vr.track_deployment(&bad).unwrap_err().code(),
            ErrorCode::InvalidInput
        );
        let mut a = BuildEvent::new("web", "2.0.0", "completed");
        a.scm_sha = Some("aaaaaaa".into());
        vr.track_build(&a).unwrap();
        let mut b = BuildEvent::new("web", "2.0.0", "completed");
        b.scm_sha = Some("bbbbbbb".into());
        assert_eq!(
            vr.track_build(&b).unwrap_err().code(),
            ErrorCode::VersionConflict
        );
    });
    assert_eq!(types(&ev), ["build.completed"]);
}

#[test]
fn consumers_read_from_their_cursor_and_acknowledge() {
    let vr = common::fresh();
    for i in 0..7 {
        vr.track_deployment(&DeploymentEvent::new(
            "api",
            format!("1.{i}"),
            "staging",
            "completed",
        ))
        .unwrap();
    }
    let all = vr.events_since(0, 1000).unwrap();
    assert_eq!(all.len(), 7);
    // Paging from a cursor gives the same stream, in order, with no gaps.
    assert_eq!(read_all(&vr, 0, 3), all);
    assert_eq!(read_all(&vr, 4, 2), all[4..].to_vec());

    assert_eq!(vr.cursor("webhooks").unwrap(), 0);
    vr.acknowledge("webhooks", 5).unwrap();
    assert_eq!(vr.cursor("webhooks").unwrap(), 5);
    // A cursor never moves back; others are independent.
    vr.acknowledge("webhooks", 2).unwrap();
    assert_eq!(vr.cursor("webhooks").unwrap(), 5);
    assert_eq!(vr.cursor("dashboard").unwrap(), 0);
    let rest = vr
        .events_since(vr.cursor("webhooks").unwrap(), 100)
        .unwrap();
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), [6, 7]);

    for (consumer, seq, field) in [
        ("webhooks", 8, "seq"),
        ("webhooks", -1, "seq"),
        ("  ", 1, "consumer"),
    ] {
        let err = vr.acknowledge(consumer, seq).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            (ErrorCode::InvalidInput, Some(field))
        );
    }
    assert_eq!(vr.cursor("webhooks").unwrap(), 5);
    assert_eq!(vr.events_since(-1, 10).unwrap_err().field(), Some("after"));
    assert_eq!(vr.events_since(0, 0).unwrap_err().field(), Some("limit"));
}

#[test]
fn concurrent_writers_to_different_environments_leave_a_gap_free_stream() {
    let dir = tempfile::tempdir().unwrap();
    let location = common::new_location(dir.path());
    let first = common::open(&location);
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let vr = common::open(&location);
            std::thread::spawn(move || {
                for i in 0..10 {
                    vr.track_deployment(&DeploymentEvent::new(
                        "api",
                        format!("{t}.{i}"),
                        format!("env-{t}"),
                        "completed",
                    ))
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let events = first.events_since(0, 1000).unwrap();
    assert_eq!(events.len(), 60);
    // Concurrent writers still make one unbroken audit chain.
    assert!(first.audit_verify().unwrap().is_intact());
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=60).collect::<Vec<_>>()
    );
    // Each environment's events are in the order its writer made them.
    for t in 0..6 {
        let versions: Vec<String> = events
            .iter()
            .filter(|e| e.payload["environment_name"] == format!("env-{t}"))
            .map(|e| e.payload["version"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            versions,
            (0..10).map(|i| format!("{t}.{i}")).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_claimed_write_runs_once_and_a_reused_key_is_refused() {
    let vr = common::fresh();
    let event = DeploymentEvent::new("api", "1.0.0", "staging", "completed");
    let claim = Arc::new(IdempotencyClaim::new("key-ci", "retry-1", "hash-a"));
    let first = vr
        .with_idempotency(Arc::clone(&claim))
        .track_deployment(&event)
        .unwrap();
    assert!(!claim.replayed());
    let seq = vr.last_event_seq().unwrap();

    // The retry (a new claim, as after a crash) gets the recorded result and runs nothing.
    let retry = Arc::new(IdempotencyClaim::new("key-ci", "retry-1", "hash-a"));
    let again = vr
        .with_idempotency(Arc::clone(&retry))
        .track_deployment(&event)
        .unwrap();
    assert!(retry.replayed());
    assert_eq!(again.id, first.id);
    assert_eq!(again.status, first.status);
    assert_eq!(vr.history(&HistoryQuery::new()).unwrap().len(), 1);
    assert_eq!(vr.last_event_seq().unwrap(), seq);
    let record = vr.idempotency_record("key-ci", "retry-1").unwrap().unwrap();
    assert_eq!(record.result.as_ref().unwrap()["id"], first.id.as_str());

    // The same key for another request: refused, nothing written.
    let other = Arc::new(IdempotencyClaim::new("key-ci", "retry-1", "hash-b"));
    let err = vr
        .with_idempotency(other)
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.1",
            "staging",
            "completed",
        ))
        .unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        (ErrorCode::InvalidInput, Some("Idempotency-Key"))
    );
    assert_eq!(vr.history(&HistoryQuery::new()).unwrap().len(), 1);
    assert_eq!(vr.last_event_seq().unwrap(), seq);

    // Another caller's key space is separate.
    let elsewhere = Arc::new(IdempotencyClaim::new("key-other", "retry-1", "hash-b"));
    vr.with_idempotency(Arc::clone(&elsewhere))
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.1",
            "staging",
            "completed",
        ))
        .unwrap();
    assert!(!elsewhere.replayed());
    assert_eq!(vr.history(&HistoryQuery::new()).unwrap().len(), 2);

    // A refused write keeps no result: its retry is evaluated again.
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap();
    let blocked = DeploymentEvent::new("api", "9.9.9", "production", "started");
    for _ in 0..2 {
        let c = Arc::new(IdempotencyClaim::new("key-ci", "retry-2", "hash-c"));
        let err = vr
            .with_idempotency(Arc::clone(&c))
            .track_deployment(&blocked)
            .unwrap_err();
        assert!(matches!(err, Error::Blocked(_)));
        assert!(!c.replayed());
    }
    assert!(
        vr.idempotency_record("key-ci", "retry-2")
            .unwrap()
            .is_none()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever mix of deployment events (valid, invalid, repeated, refused) arrives, the stream
    /// has one event per recorded change, one `preflight_failed` per refusal, and no gap.
    #[test]
    fn the_stream_accounts_for_every_outcome(
        ops in proptest::collection::vec(
            (0usize..3, 0usize..4, 0usize..6, proptest::option::of(0u8..3)),
            1..25,
        )
    ) {
        let vr = Versioner::open_in_memory().unwrap();
        vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "test").unwrap();
        let envs = ["staging", "production", "dev"];
        let statuses = ["started", "completed", "failed", "bogus"];
        let (mut changes, mut refusals) = (0usize, 0usize);
        for (env, status, version, invoke) in ops {
            let before = vr.last_event_seq().unwrap();
            let mut e = DeploymentEvent::new("api", format!("1.{version}"), envs[env], statuses[status]);
            e.invoke_id = invoke.map(|i| format!("run-{i}"));
            match vr.track_deployment(&e) {
                Ok(_) => {
                    let after = vr.last_event_seq().unwrap();
                    // A replay of a recorded event appends nothing; a change appends one.
                    prop_assert!(after - before <= 1);
                    changes += usize::try_from(after - before).unwrap();
                }
                Err(Error::Blocked(_)) => refusals += 1,
                Err(err) => {
                    prop_assert_eq!(err.code(), ErrorCode::InvalidInput);
                    prop_assert_eq!(vr.last_event_seq().unwrap(), before);
                }
            }
        }
        let events = vr.events_since(0, 1000).unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        prop_assert_eq!(seqs, (1..=i64::try_from(events.len()).unwrap()).collect::<Vec<_>>());
        let failed = events.iter().filter(|e| e.event_type == EventType::DeploymentPreflightFailed).count();
        prop_assert_eq!(failed, refusals);
        let deployment_events = events
            .iter()
            .filter(|e| e.event_type.as_str().starts_with("deployment.") && e.event_type != EventType::DeploymentPreflightFailed)
            .count();
        prop_assert_eq!(deployment_events, changes);
        prop_assert_eq!(events[0].event_type, EventType::RuleCreated);
    }
}

/// Schema 15 rebuilds the outbox without AUTOINCREMENT (one page less per commit): a store
/// written under schema 14 keeps every event, its chain still verifies, and the next append
/// follows the newest `seq` and chains to its hash.
#[test]
fn the_outbox_migration_keeps_every_event_and_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let before = {
        let vr = Versioner::open(&path).unwrap();
        for v in ["1", "2", "3"] {
            vr.track_deployment(&DeploymentEvent::new("api", v, "prod", "completed"))
                .unwrap();
        }
        read_all(&vr, 0, 100)
    };
    // Back to schema 14's outbox: AUTOINCREMENT, its counter in sqlite_sequence.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE outbox_old(seq INTEGER PRIMARY KEY AUTOINCREMENT, event_type TEXT NOT NULL,
               occurred_at TEXT NOT NULL, actor TEXT, subject TEXT, payload TEXT NOT NULL, hash TEXT);
             INSERT INTO outbox_old SELECT seq, event_type, occurred_at, actor, subject, payload, hash FROM outbox;
             DROP TABLE outbox;
             ALTER TABLE outbox_old RENAME TO outbox;",
        )
        .unwrap();
        let counted: i64 = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(counted, before.last().unwrap().seq);
        conn.pragma_update(None, "user_version", 14).unwrap();
    }
    let vr = Versioner::open(&path).unwrap();
    assert_eq!(read_all(&vr, 0, 100), before);
    assert!(vr.audit_verify().unwrap().is_intact());
    let added = appended(&vr, || {
        vr.track_deployment(&DeploymentEvent::new("api", "4", "prod", "completed"))
            .unwrap();
    });
    assert_eq!(added[0].seq, before.last().unwrap().seq + 1);
    assert!(vr.audit_verify().unwrap().is_intact());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'outbox'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!sql.contains("AUTOINCREMENT"), "{sql}");
}
