//! No way around the preflight, and time that cannot be faked (issue 13): a completed-only
//! event is preflighted like a `started` one; a back-dated success cannot satisfy a soak while
//! "what was where at T" still shows it at its claimed time; a future claim and an instant
//! outside what the stores can keep are refused with nothing written. Runs on SQLite, and on
//! PostgreSQL under `scripts/test-postgres.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{
    BuildEvent, DeploymentEvent, ErrorCode, EventType, HistoryQuery, ManualClock, PreflightStatus,
    Status, Versioner,
};

const FLOW: &str = r#"
[[rules]]
name = "Staging soak"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
soak = "24h"
"#;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn setup() -> (Versioner, ManualClock) {
    let clock = ManualClock::new(t("2026-11-20T10:00:00Z"));
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    vr.apply_policy_text(FLOW, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap();
    (vr, clock)
}

fn deployments(vr: &Versioner, product: &str) -> usize {
    match vr.history(&HistoryQuery::new().product(product).limit(1000)) {
        Ok(h) => h.len(),
        Err(e) if e.code() == ErrorCode::NotFound => 0,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_completed_only_event_is_preflighted_like_a_started_one() {
    let (vr, _) = setup();
    for status in ["completed", "success", "FINISHED", "deployed"] {
        let before = vr.last_event_seq().unwrap();
        let err = vr
            .track_deployment(&DeploymentEvent::new("api", "1.0.0", "production", status))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::FlowViolation, "{status}: {err}");
        assert_eq!(err.code().http_status(), 428);
        assert_eq!(deployments(&vr, "api"), 0, "{status}: nothing recorded");
        // The refusal is kept in the event stream, and only it.
        let events = vr.events_since(before, 10).unwrap();
        assert_eq!(events.len(), 1, "{status}: {events:?}");
        assert_eq!(events[0].event_type, EventType::DeploymentPreflightFailed);
    }
    // `failed` and `aborted` without a start change nothing that runs: recorded as before.
    for status in ["failed", "aborted"] {
        let d = vr
            .track_deployment(&DeploymentEvent::new("api", "1.0.0", "production", status))
            .unwrap();
        assert!(d.preflight.is_none(), "{status}");
    }
    // A completion that closes a preflighted start is not preflighted again.
    vr.track_deployment(&DeploymentEvent::new("web", "2.0.0", "staging", "started"))
        .unwrap();
    let done = vr
        .track_deployment(&DeploymentEvent::new("web", "2.0.0", "staging", "success"))
        .unwrap();
    assert_eq!(
        done.preflight.map(|p| p.status),
        Some(PreflightStatus::Passed),
        "it keeps the start's preflight"
    );
    // A completion that closes a merely queued one is preflighted.
    vr.track_deployment(&DeploymentEvent::new(
        "db",
        "3.0.0",
        "production",
        "pending",
    ))
    .unwrap();
    let err = vr
        .track_deployment(&DeploymentEvent::new(
            "db",
            "3.0.0",
            "production",
            "completed",
        ))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::FlowViolation);
    let history = vr.history(&HistoryQuery::new().product("db")).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].status,
        Status::Pending,
        "still queued, not completed"
    );
}

#[test]
fn a_back_dated_success_does_not_satisfy_a_soak_but_shows_at_its_claimed_time() {
    let (vr, clock) = setup();
    let mut staging = DeploymentEvent::new("api", "1.0.0", "staging", "success");
    staging.completed_at = Some("2026-11-18T10:00:00Z".into()); // claims two days ago
    let d = vr.track_deployment(&staging).unwrap();
    assert_eq!(d.completed_at, Some(t("2026-11-18T10:00:00Z")));
    // What was where at T uses the claimed time: staging ran 1.0.0 the day before yesterday.
    let then = vr.state(Some(t("2026-11-18T12:00:00Z"))).unwrap();
    assert_eq!(then.version("api", "staging"), Some("1.0.0"));
    // Elapsed-time policy uses the recorded time: recorded now, so no soak yet.
    let err = vr
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "started",
        ))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientSoakTime, "{err}");
    let versioner_core::Error::Blocked(verdict) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        verdict.retry_after(),
        Some(t("2026-11-21T10:00:00Z")),
        "24 h after it was recorded"
    );
    clock.advance(Duration::hours(24));
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "started",
    ))
    .unwrap();
}

#[test]
fn a_claim_in_the_future_is_refused_and_a_little_skew_is_taken_as_now() {
    let (vr, _) = setup();
    let mut e = DeploymentEvent::new("api", "1.0.0", "staging", "success");
    e.completed_at = Some("2026-11-20T11:00:00Z".into());
    let err = vr.track_deployment(&e).unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        (ErrorCode::InvalidInput, Some("completed_at"))
    );
    assert!(err.to_string().contains("in the future"), "{err}");
    assert_eq!(deployments(&vr, "api"), 0);
    let mut b = BuildEvent::new("api", "1.0.0", "started");
    b.started_at = Some("2027-01-01T00:00:00Z".into());
    assert_eq!(vr.track_build(&b).unwrap_err().field(), Some("started_at"));
    assert!(
        vr.versions("api", Default::default()).is_err(),
        "no product"
    );

    e.completed_at = Some("2026-11-20T10:02:00Z".into()); // two minutes of skew
    let d = vr.track_deployment(&e).unwrap();
    assert_eq!(d.completed_at, Some(t("2026-11-20T10:00:00Z")));
}

#[test]
fn an_instant_the_stores_cannot_keep_is_refused_and_nothing_is_written() {
    let (vr, _) = setup();
    for bad in [
        "9999-12-31T23:00:00-02:00", // year 10000 in UTC
        "0000-06-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00", // year 0 in UTC
    ] {
        let mut e = DeploymentEvent::new("api", "1.0.0", "staging", "success");
        e.completed_at = Some(bad.into());
        let err = vr.track_deployment(&e).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            (ErrorCode::InvalidInput, Some("completed_at")),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("0001–9999"), "{err}");
        assert_eq!(deployments(&vr, "api"), 0);
        assert!(vr.state(None).unwrap().cells.is_empty());
    }
    // The same instants as query filters are refused too.
    let err = versioner_core::wire::instant("at", "9999-12-31T23:00:00-02:00").unwrap_err();
    assert_eq!(err.field(), Some("at"));
}

/// An RFC 3339 timestamp anywhere in the format's range: years 0000–9999, any offset.
fn any_timestamp() -> impl Strategy<Value = String> {
    (
        0u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        proptest::option::of(0u32..1_000_000),
        -1439i32..=1439,
    )
        .prop_map(|(y, mo, d, h, mi, s, micros, offset)| {
            let frac = micros.map_or(String::new(), |m| format!(".{m:06}"));
            let zone = if offset == 0 {
                "Z".to_string()
            } else {
                let sign = if offset < 0 { '-' } else { '+' };
                let o = offset.unsigned_abs();
                format!("{sign}{:02}:{:02}", o / 60, o % 60)
            };
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every accepted timestamp can be read back by every read; every refused one names its
    /// field and writes nothing.
    #[test]
    fn every_accepted_timestamp_reads_back(stamp in any_timestamp()) {
        let clock = ManualClock::new(t("2026-11-20T10:00:00Z"));
        let vr = Versioner::open_in_memory().unwrap().with_clock(Arc::new(clock));
        let mut e = DeploymentEvent::new("api", "1.0.0", "staging", "success");
        e.completed_at = Some(stamp.clone());
        match vr.track_deployment(&e) {
            Ok(d) => {
                let claimed = DateTime::parse_from_rfc3339(&stamp).unwrap().with_timezone(&Utc);
                prop_assert_eq!(d.completed_at, Some(claimed.min(t("2026-11-20T10:00:00Z"))));
                let history = vr.history(&HistoryQuery::new()).unwrap();
                prop_assert_eq!(history.len(), 1);
                prop_assert_eq!(history[0].completed_at, d.completed_at);
                let now = vr.state(None).unwrap();
                prop_assert_eq!(now.version("api", "staging"), Some("1.0.0"));
                if let Some(at) = d.completed_at {
                    let then = vr.state(Some(at)).unwrap();
                    prop_assert_eq!(then.version("api", "staging"), Some("1.0.0"));
                }
                vr.drift(None, None).unwrap();
                vr.track_deployment(&DeploymentEvent::new("api", "1.0.1", "staging", "started")).unwrap();
            }
            Err(err) => {
                prop_assert_eq!(err.code(), ErrorCode::InvalidInput);
                prop_assert_eq!(err.field(), Some("completed_at"));
                prop_assert!(vr.history(&HistoryQuery::new()).unwrap().is_empty());
            }
        }
    }
}

#[test]
fn look_alike_environment_names_cannot_escape_a_rule() {
    let (vr, _) = setup();
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "failed",
    ))
    .unwrap();
    // `Production` (and its full-width form) is the same environment: the rule applies.
    for same in ["Production", "ＰＲＯＤＵＣＴＩＯＮ"] {
        let err = vr
            .track_deployment(&DeploymentEvent::new("api", "1.0.1", same, "started"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::FlowViolation, "{same}: {err}");
    }
    let envs: Vec<String> = vr
        .environments()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(envs, ["production"], "no second environment");
    // A zero-width space, a Cyrillic `о` or a zero for an `o`: refused, naming the problem.
    for (spoof, says) in [
        ("production\u{200b}", "`production`"),
        ("producti\u{43e}n", "production"),
        ("pr0duction", "`production`"),
    ] {
        let before = vr.last_event_seq().unwrap();
        let err = vr
            .track_deployment(&DeploymentEvent::new("api", "1.0.1", spoof, "started"))
            .unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            (ErrorCode::InvalidInput, Some("environment_name")),
            "{spoof:?}: {err}"
        );
        assert!(err.to_string().contains(says), "{spoof:?}: {err}");
        assert_eq!(vr.last_event_seq().unwrap(), before, "nothing recorded");
    }
    assert_eq!(vr.environments().unwrap().len(), 1);
    // Queries find the environment by any of its forms.
    let h = vr
        .history(&HistoryQuery::new().product("API").environment("PRODUCTION"))
        .unwrap();
    assert_eq!(h.len(), 1);
    // Rule names follow the same rule.
    let err = vr
        .apply_policy_text(
            "[[rules]]\nname = \"Staging\\u200Bsoak\"\ntype = \"concurrency\"\n",
            PolicyFormat::Toml,
            ApplyMode::Merge,
            "test",
        )
        .unwrap_err();
    assert!(err.to_string().contains("invisible"), "{err}");
    let err = vr
        .apply_policy_text(
            "[[rules]]\nname = \"STAGING SOAK\"\ntype = \"concurrency\"\n",
            PolicyFormat::Toml,
            ApplyMode::Merge,
            "test",
        )
        .unwrap_err();
    assert!(err.to_string().contains("Staging soak"), "{err}");
    assert_eq!(vr.rules().unwrap().len(), 1);
}

#[test]
fn the_audit_chain_holds_and_names_the_first_row_edited_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let location = common::new_location(dir.path());
    let vr = common::open(&location);
    vr.apply_policy_text(FLOW, PolicyFormat::Toml, ApplyMode::Replace, "alice")
        .unwrap();
    for (v, env, status) in [
        ("1.0.0", "staging", "success"),
        ("1.0.0", "production", "started"), // refused: soak
        ("1.0.1", "staging", "started"),
        ("1.0.1", "staging", "failed"),
    ] {
        let _ = vr.track_deployment(&DeploymentEvent::new("api", v, env, status));
    }
    let report = vr.audit_verify().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 5);
    assert_eq!(report.unchained, 0);
    assert!(report.head.is_some());
    let events = vr.events_since(0, 100).unwrap();
    assert!(events.iter().all(|e| e.hash.is_some()));
    assert_eq!(events[2].event_type, EventType::DeploymentPreflightFailed);

    // Editing a row directly in the database is detected, naming that row.
    let Some(path) = location.strip_prefix("sqlite:") else {
        return; // PostgreSQL: the chain was checked intact above.
    };
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(
        "UPDATE outbox SET payload = json_set(payload, '$.version', '9.9.9') WHERE seq = 3",
        [],
    )
    .unwrap();
    let report = vr.audit_verify().unwrap();
    assert_eq!(report.first_mismatch, Some(3), "{report:?}");
    assert!(report.reason.unwrap().contains("changed"));
    // Deleting a row too.
    conn.execute(
        "UPDATE outbox SET payload = (SELECT payload FROM outbox WHERE seq = 3) WHERE seq = 3",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM outbox WHERE seq = 2", [])
        .unwrap();
    let report = vr.audit_verify().unwrap();
    assert_eq!(report.first_mismatch, Some(3), "{report:?}");
    assert!(report.reason.unwrap().contains("removed or inserted"));
}

#[test]
fn every_decision_is_recorded_and_violations_list_the_failed_ones() {
    let (vr, _) = setup();
    vr.apply_policy_text(
        "[[rules]]\nname = \"Watch\"\ntype = \"concurrency\"\nstatus = \"report_only\"\nmax = 1\n\
         environments = [\"staging\"]\n",
        PolicyFormat::Toml,
        ApplyMode::Merge,
        "test",
    )
    .unwrap();
    let mut e = DeploymentEvent::new("api", "1.0.0", "staging", "started");
    e.deployed_by = Some("dana".into());
    vr.track_deployment(&e).unwrap(); // allowed
    vr.track_deployment(&DeploymentEvent::new("web", "1.0.0", "staging", "started"))
        .unwrap(); // allowed: concurrency is per product
    let second = vr
        .track_deployment(&DeploymentEvent::new("api", "1.0.1", "staging", "started"))
        .unwrap(); // reported: a second api deployment in progress
    assert!(second.preflight.unwrap().warnings().next().is_some());
    let _ = vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "started",
    )); // blocked
    let _ = vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "success",
    )); // blocked, terminal
    let mut bypass = DeploymentEvent::new("api", "1.0.0", "production", "started");
    bypass.skip_preflight_checks = Some(true);
    bypass.skip_preflight_reason = Some("INC-7 hotfix".into());
    vr.track_deployment(&bypass).unwrap(); // bypassed

    let all = vr.violations(&Default::default()).unwrap();
    let outcomes: Vec<&str> = all.iter().map(|d| d.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["bypassed", "blocked", "blocked", "reported"],
        "newest first"
    );
    let terminal = &all[1];
    assert_eq!(terminal.status, Status::Completed);
    assert_eq!(terminal.deployment_id, None);
    assert_eq!(terminal.facts.environment, "production");
    assert_eq!(terminal.request["status"], "success");
    assert_eq!(terminal.policy_hash.len(), 64);
    assert!(all[0].deployment_id.is_some());
    assert_eq!(all[3].failed_rules().collect::<Vec<_>>(), ["Watch"]);

    let q = |f: &dyn Fn(&mut versioner_core::ViolationQuery)| {
        let mut q = versioner_core::ViolationQuery::default();
        f(&mut q);
        vr.violations(&q).unwrap().len()
    };
    assert_eq!(
        q(&|q| q.outcome = Some(versioner_core::DecisionOutcome::Blocked)),
        2
    );
    assert_eq!(q(&|q| q.rule = Some("watch".into())), 1);
    assert_eq!(q(&|q| q.rule = Some("Staging soak".into())), 3);
    assert_eq!(q(&|q| q.environment = Some("Staging".into())), 1);
    assert_eq!(q(&|q| q.product = Some("web".into())), 0);
    assert_eq!(q(&|q| q.limit = Some(2)), 2);
    assert_eq!(q(&|q| q.since = Some(t("2026-11-21T00:00:00Z"))), 0);
    let mut zero = versioner_core::ViolationQuery::default();
    zero.limit = Some(0);
    let err = vr.violations(&zero).unwrap_err();
    assert_eq!(err.field(), Some("limit"));
}

#[test]
fn replay_of_200_decisions_lists_exactly_those_a_tighter_policy_changes() {
    let clock = ManualClock::new(t("2026-11-20T10:00:00Z"));
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    let one = "[[rules]]\nname = \"Release sign-off\"\ntype = \"release_approval\"\n\
               environments = [\"production\"]\nrequired = 1\n";
    vr.apply_policy_text(one, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap();
    let mut single = Vec::new();
    for i in 0..200 {
        let v = format!("1.{i}");
        vr.track_build(&BuildEvent::new("api", &v, "completed"))
            .unwrap();
        vr.approve(&versioner_core::ApprovalRequest::new(
            "api", &v, "release", "rita",
        ))
        .unwrap();
        if i % 3 == 0 {
            vr.approve(&versioner_core::ApprovalRequest::new(
                "api", &v, "release", "max",
            ))
            .unwrap();
        } else {
            single.push(v.clone());
        }
        let d = vr
            .track_deployment(&DeploymentEvent::new("api", &v, "production", "started"))
            .unwrap();
        if i % 3 != 0 {
            single.last_mut().unwrap().push_str(&format!(" {}", d.id));
        }
        vr.track_deployment(&DeploymentEvent::new("api", &v, "production", "completed"))
            .unwrap();
        clock.advance(Duration::minutes(1));
    }
    let since = t("2026-11-20T00:00:00Z");
    assert!(
        vr.replay(since, None).unwrap().is_empty(),
        "the policy in force decides the same"
    );
    let same = versioner_core::policy::PolicyFile::parse(one, PolicyFormat::Toml).unwrap();
    assert!(vr.replay(since, Some(&same)).unwrap().is_empty());

    let two = versioner_core::policy::PolicyFile::parse(
        &one.replace("required = 1", "required = 2"),
        PolicyFormat::Toml,
    )
    .unwrap();
    let changes = vr.replay(since, Some(&two)).unwrap();
    assert_eq!(changes.len(), 133);
    let changed: Vec<String> = changes.iter().map(|c| format!("{} ", c.version)).collect();
    for (c, expected) in changes.iter().zip(&single) {
        assert!(
            expected.starts_with(&format!("{} ", c.version)),
            "{changed:?}"
        );
        assert_eq!(
            (c.was, c.now),
            (
                versioner_core::DecisionOutcome::Allowed,
                versioner_core::DecisionOutcome::Blocked
            )
        );
        assert_eq!(c.failed_now, ["Release sign-off"]);
    }
    // A later decision window sees only the later decisions.
    assert_eq!(
        vr.replay(t("2026-11-20T13:00:00Z"), Some(&two))
            .unwrap()
            .len(),
        13
    );
}

#[test]
fn a_check_at_a_past_instant_sees_the_history_recorded_by_then() {
    let (vr, clock) = setup(); // 2026-11-20T10:00Z, staging soak 24 h before production
    vr.apply_policy_text(
        "[[rules]]\nname = \"One at a time\"\ntype = \"concurrency\"\nper = \"environment\"\n\
         environments = [\"production\"]\n\
         [[rules]]\nname = \"Release sign-off\"\ntype = \"release_approval\"\nenvironments = [\"production\"]\n",
        PolicyFormat::Toml,
        ApplyMode::Merge,
        "test",
    )
    .unwrap();
    let check = |at: &str| {
        let mut c = versioner_core::CheckRequest::new("api", "1.0.0", "production");
        c.at = Some(at.into());
        let v = vr.check(&c).unwrap();
        let mut failed: Vec<String> = v
            .outcomes()
            .iter()
            .filter(|o| o.failed())
            .map(|o| o.rule_name.clone())
            .collect();
        failed.sort();
        failed
    };
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    // 10:00 staging succeeds; 11:00 web starts in production, 12:00 it completes; api is
    // approved at 11:30 and the approval is revoked at 13:00.
    vr.track_deployment(&DeploymentEvent::new("api", "1.0.0", "staging", "success"))
        .unwrap();
    clock.advance(Duration::hours(1));
    let mut web = DeploymentEvent::new("web", "2.0.0", "production", "started");
    web.skip_preflight_checks = Some(true);
    web.skip_preflight_reason = Some("seeding the scenario".into());
    vr.track_deployment(&web).unwrap();
    clock.advance(Duration::minutes(30));
    let a = vr
        .approve(&versioner_core::ApprovalRequest::new(
            "api", "1.0.0", "release", "rita",
        ))
        .unwrap();
    clock.advance(Duration::minutes(30));
    vr.track_deployment(&DeploymentEvent::new(
        "web",
        "2.0.0",
        "production",
        "completed",
    ))
    .unwrap();
    clock.advance(Duration::hours(1));
    vr.revoke_approval(&a.id, "max", "wrong build").unwrap();
    clock.advance(Duration::days(2)); // now 2026-11-22T13:00Z

    assert_eq!(
        check("2026-11-20T09:00:00Z"),
        ["Release sign-off", "Staging soak"],
        "nothing recorded yet but the build"
    );
    assert_eq!(
        check("2026-11-20T11:45:00Z"),
        ["One at a time", "Staging soak"],
        "web in progress, approved, soak not over"
    );
    assert_eq!(
        check("2026-11-21T12:30:00Z"),
        ["Release sign-off"],
        "revoked by then"
    );
    assert_eq!(check("2026-11-20T12:30:00Z"), ["Staging soak"]);
    // Now: soaked, nothing in progress, approval revoked.
    let mut now = versioner_core::CheckRequest::new("api", "1.0.0", "production");
    now.at = None;
    let v = vr.check(&now).unwrap();
    assert!(
        v.outcomes()
            .iter()
            .filter(|o| o.failed())
            .all(|o| o.rule_name == "Release sign-off")
    );
}

#[test]
fn who_may_bypass_is_the_policys_to_say() {
    use versioner_core::Role;
    use versioner_core::access::Actor;
    let (vr, _) = setup();
    let as_role = |name: &str, role: Role| vr.acting_as(Actor::local(name).with_role(role));
    let bypass = |who: &Versioner, v: &str| {
        let mut e = DeploymentEvent::new("api", v, "production", "started");
        e.skip_preflight_checks = Some(true);
        e.skip_preflight_reason = Some("INC-7".into());
        who.track_deployment(&e)
    };
    // The default: admin and release_manager.
    let err = bypass(&as_role("sam", Role::Sre), "1").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert!(err.to_string().contains("admin, release_manager"), "{err}");
    assert_eq!(deployments(&vr, "api"), 0);
    bypass(&as_role("rita", Role::ReleaseManager), "1").unwrap();
    // The policy names sre instead: sre may, release_manager may not, admin always may.
    vr.apply_policy_text(
        &format!("{FLOW}\n[bypass]\nroles = [\"sre\"]\n"),
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "test",
    )
    .unwrap();
    bypass(&as_role("sam", Role::Sre), "2").unwrap();
    let err = bypass(&as_role("rita", Role::ReleaseManager), "3").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    bypass(&as_role("ada", Role::Admin), "3").unwrap();
    // A role that does not exist is a problem of the file, named.
    let err = vr
        .apply_policy_text(
            &format!("{FLOW}\n[bypass]\nroles = [\"root\"]\n"),
            PolicyFormat::Toml,
            ApplyMode::Replace,
            "test",
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("(bypass)") && err.to_string().contains("root"),
        "{err}"
    );
    // Replacing the policy without the table restores the default.
    vr.apply_policy_text(FLOW, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap();
    assert_eq!(
        bypass(&as_role("sam", Role::Sre), "4").unwrap_err().code(),
        ErrorCode::Forbidden
    );
}

#[test]
fn principal_names_cannot_be_spoofed_either() {
    let vr = common::fresh();
    vr.create_api_key("dana", versioner_core::Role::Admin)
        .unwrap();
    // The Cyrillic `а` makes a different name that looks the same: refused, naming `dana`.
    let err = vr
        .create_api_key("d\u{430}na", versioner_core::Role::Admin)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("mixes writing systems"), "{err}");
    // A zero for an `o` looks like an existing name: refused, naming it.
    vr.create_api_key("ops-bot", versioner_core::Role::Ci)
        .unwrap();
    let err = vr
        .create_api_key("0ps-bot", versioner_core::Role::Ci)
        .unwrap_err();
    assert!(err.to_string().contains("`ops-bot`"), "{err}");
    let err = vr
        .create_api_key("ops\u{200b}", versioner_core::Role::Sre)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput, "{err}");
    assert_eq!(
        versioner_core::access::principal_key("ＤＡＮＡ "),
        versioner_core::access::principal_key("dana")
    );
    assert_eq!(vr.api_keys().unwrap().len(), 2, "nothing else was created");
}

#[test]
fn a_deployment_s_admitting_decision_is_found_by_its_id() {
    let (vr, clock) = setup();
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "staging",
        "completed",
    ))
    .unwrap();
    clock.advance(Duration::hours(25));
    let d = vr
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "started",
        ))
        .unwrap();
    let record = vr.decision_for_deployment(&d.id).unwrap().unwrap();
    assert_eq!(record.deployment_id.as_deref(), Some(d.id.as_str()));
    assert_eq!(record.outcome, versioner_core::DecisionOutcome::Allowed);
    assert_eq!(
        record
            .verdict
            .outcomes()
            .iter()
            .map(|o| o.rule_name.as_str())
            .collect::<Vec<_>>(),
        ["Staging soak"]
    );
    assert_eq!(
        vr.decision_for_deployment("no-such-deployment").unwrap(),
        None
    );
}
