//! Durations in a policy are bounded when it is parsed: a soak, staleness or expiry longer than
//! [`MAX_DURATION`] is refused with `INVALID_INPUT` naming the field and the bound, and no
//! evaluation of an accepted policy panics, at any representable instant.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::json;
mod common;

use versioner_core::policy::{
    ApplyMode, Facts, MAX_DURATION, PolicyFile, PolicyFormat, Stint, evaluate,
};
use versioner_core::{Error, ErrorCode};

fn policy(soak: &str, stale: &str, expires: &str) -> serde_json::Value {
    json!({"rules": [
        {"name": "Soak", "type": "flow", "prerequisites": ["staging"], "soak": soak},
        {"name": "One", "type": "concurrency", "max": 1, "stale_after": stale},
        {"name": "Release", "type": "release_approval", "required": 1, "expires_after": expires},
        {"name": "Freeze", "type": "schedule", "timezone": "Pacific/Kiritimati",
         "windows": [{"recurrence": "weekly", "start": "fri 17:00", "end": "mon 08:00"},
                     {"rrule": "FREQ=MONTHLY;BYDAY=1MO", "start": "09:00", "duration": "3h"}]},
    ]})
}

#[test]
fn an_overflowing_soak_is_refused_at_parse_time() {
    let e = PolicyFile::from_json(&policy("99999999d", "1h", "1h")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let Error::InvalidPolicy { problems } = &e else {
        panic!("expected InvalidPolicy, got {e}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        (problems[0].rule.as_str(), problems[0].field.as_str()),
        ("Soak", "soak")
    );
    assert!(
        problems[0]
            .reason
            .contains("longest allowed duration, 3650d"),
        "{problems:?}"
    );
    // Every duration field is bounded, and the bound itself is accepted.
    let e = PolicyFile::from_json(&policy("3650d", "3651d", "87601h")).unwrap_err();
    let Error::InvalidPolicy { problems } = &e else {
        panic!("expected InvalidPolicy, got {e}")
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["stale_after", "expires_after"], "{problems:?}");
    // A number too large for any duration is still a clear refusal.
    let e = PolicyFile::from_json(&policy("99999999999999999999999d", "1h", "1h")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("soak"), "{e}");
}

#[test]
fn applying_an_overflowing_policy_writes_nothing() {
    let vr = common::fresh();
    let text = "[[rules]]\nname = \"Soak\"\ntype = \"flow\"\nprerequisites = [\"staging\"]\nsoak = \"99999999d\"\n";
    let e = vr
        .apply_policy_text(text, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("soak"), "{e}");
    assert!(vr.rules().unwrap().is_empty());
}

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp()).prop_map(instant)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_evaluation_panics(
        soak in 0u64..=2 * MAX_DURATION.as_secs(),
        stale in 1u64..=2 * MAX_DURATION.as_secs(),
        expires in 0u64..=2 * MAX_DURATION.as_secs(),
        deployed in any_instant(),
        started in any_instant(),
        granted in any_instant(),
        at in any_instant(),
    ) {
        let parsed = PolicyFile::from_json(&policy(
            &format!("{soak}s"),
            &format!("{stale}s"),
            &format!("{expires}s"),
        ));
        let too_long = [soak, stale, expires].iter().any(|s| *s > MAX_DURATION.as_secs());
        let file = match parsed {
            Err(e) => {
                prop_assert!(too_long, "refused: {e}");
                prop_assert_eq!(e.code(), ErrorCode::InvalidInput);
                prop_assert!(e.to_string().contains("3650d"), "{}", e);
                return Ok(());
            }
            Ok(file) => {
                prop_assert!(!too_long);
                file
            }
        };
        let mut facts = Facts::new("api", "1.0", "production");
        let mut stint = Stint::default();
        stint.first_success_at = Some(deployed);
        stint.last_success_at = Some(deployed);
        facts.stints.insert("staging".into(), stint);
        facts.open_deployments = vec![serde_json::from_value(json!({
            "id": "d1", "product_name": "web", "version": "2.0", "status": "started",
            "started_at": started,
        })).unwrap()];
        facts.approvals = vec![serde_json::from_value(json!({
            "id": "a1", "product_name": "api", "version": "1.0", "version_id": "v1",
            "approval_type": "release", "approver": "alice", "approver_role": null,
            "environment": "production", "comment": null, "granted_at": granted,
            "revoked_at": null, "revoked_by": null, "revoke_reason": null,
        })).unwrap()];
        let verdict = evaluate(&file.rules, &facts, at);
        prop_assert_eq!(verdict.outcomes().len(), 4);
    }
}
