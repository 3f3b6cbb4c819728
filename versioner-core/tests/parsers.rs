//! Property tests over every parser of user input: the strict JSON reader, events, rules,
//! policy files (JSON and TOML) and instants. The property is the same for each: arbitrary
//! input gives a clear `INVALID_INPUT` naming a field, or a value that reads back equal; never
//! a panic, never a half write.
//!
//! The default case count keeps the suite fast; `scripts/fuzz.sh` runs the same properties
//! with `PROPTEST_CASES` in the tens of thousands.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use proptest::prelude::*;
use serde_json::{Value, json};
use versioner_core::policy::{ApplyMode, PolicyFile, PolicyFormat};
use versioner_core::wire::{self, instant};
use versioner_core::{BuildEvent, DeploymentEvent, ErrorCode, Rule, Versioner};

/// A JSON value of any shape; strings of any characters, including controls.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(vec![
            "concurrency",
            "schedule",
            "flow",
            "version_approval",
            "release_approval",
            "enabled",
            "report_only",
            "2h",
            "1d",
            "fri",
            "09:00",
            "17:00",
            "weekly",
            "deny",
            "allow",
            "Europe/London",
            "production",
            "staging",
            "success",
            "started",
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const RULE_KEYS: &[&str] = &[
    "name",
    "type",
    "status",
    "description",
    "products",
    "environments",
    "environment_types",
    "max",
    "per",
    "stale_after",
    "mode",
    "timezone",
    "reason",
    "windows",
    "prerequisites",
    "strict_order",
    "soak",
    "approval_types",
    "environment",
    "required",
    "approver_roles",
    "expires_after",
];

/// A rule object: known keys given arbitrary values (often the right kind).
fn any_rule() -> impl Strategy<Value = Value> {
    let kinds = prop::sample::select(vec![
        "concurrency",
        "schedule",
        "flow",
        "version_approval",
        "release_approval",
    ]);
    (
        "[A-Za-z][A-Za-z0-9 ]{0,12}",
        kinds,
        prop::collection::btree_map(prop::sample::select(RULE_KEYS.to_vec()), any_json(), 0..6),
    )
        .prop_map(|(name, kind, extra)| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), json!(name));
            m.insert("type".into(), json!(kind));
            for (k, v) in extra {
                if k != "name" && k != "type" {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
}

fn is_clear(e: &versioner_core::Error) -> bool {
    e.code() == ErrorCode::InvalidInput && !e.to_string().is_empty()
}

proptest! {
    /// The strict reader agrees with serde_json on every text without duplicate keys, and
    /// never panics on any bytes.
    #[test]
    fn the_strict_reader_agrees_with_serde_json(v in any_json(), noise in any::<Vec<u8>>()) {
        let text = v.to_string();
        prop_assert_eq!(wire::json::parse(text.as_bytes()).ok(), serde_json::from_str::<Value>(&text).ok());
        let _ = wire::json::parse(&noise);
    }

    /// A rule reads back equal through its JSON form, or is refused naming a problem.
    #[test]
    fn a_rule_round_trips_or_is_refused(rule in any_rule()) {
        match Rule::from_json(&rule) {
            Ok(r) => prop_assert_eq!(Rule::from_json(&r.to_json()).unwrap(), r),
            Err(e) => prop_assert!(is_clear(&e), "{e}"),
        }
    }

    /// A policy in JSON reads the same as the same policy in TOML, and applying it is all or
    /// nothing: a refusal writes no event.
    #[test]
    fn a_policy_applies_whole_or_not_at_all(rules in prop::collection::vec(any_rule(), 0..4)) {
        let doc = json!({ "rules": rules });
        let parsed = PolicyFile::from_json(&doc);
        if let Ok(toml) = toml::to_string(&doc) {
            let again = PolicyFile::parse(&toml, PolicyFormat::Toml);
            prop_assert_eq!(again.is_ok(), parsed.is_ok(), "{} / {}", doc, toml);
        }
        let vr = Versioner::open_in_memory().unwrap();
        let before = vr.last_event_seq().unwrap();
        match parsed {
            Ok(p) => match vr.apply_policy(&p, ApplyMode::Replace, "prop") {
                Ok(_) => {
                    let stored: Vec<Rule> = vr.rules().unwrap().into_iter().map(|s| s.rule).collect();
                    prop_assert_eq!(stored, p.rules);
                }
                Err(e) => {
                    prop_assert!(is_clear(&e), "{e}");
                    prop_assert_eq!(vr.last_event_seq().unwrap(), before);
                }
            },
            Err(e) => prop_assert!(is_clear(&e), "{e}"),
        }
    }

    /// Arbitrary TOML-ish text never panics the policy parser.
    #[test]
    fn any_policy_text_is_read_or_refused(text in any::<String>(), lines in prop::collection::vec(
        prop::sample::select(vec!["[[rules]]", "name = 'a'", "type = 'flow'", "rules = []",
            "[approvals]", "types = ['x']", "max = 1.5", "name = 'a'", "windows = [{}]"]), 0..6)) {
        for t in [text, lines.join("\n")] {
            if let Err(e) = PolicyFile::parse(&t, PolicyFormat::Toml) {
                prop_assert!(is_clear(&e), "{e}");
            }
            if let Err(e) = PolicyFile::parse(&t, PolicyFormat::Json) {
                prop_assert!(is_clear(&e), "{e}");
            }
        }
    }

    /// Any event body: recorded and read back with the fields as sent, or refused with
    /// nothing written.
    #[test]
    fn any_event_is_recorded_as_sent_or_refused(
        body in prop::collection::btree_map(
            prop::sample::select(vec!["product_name", "version", "environment_name", "status",
                "deployed_by", "scm_sha", "started_at", "completed_at", "extra_metadata",
                "build_number", "skip_preflight_checks", "skip_preflight_reason"]),
            prop_oneof![any_json(), "[a-z0-9.]{1,8}".prop_map(Value::String),
                Just(json!("success")), Just(json!("2026-11-20T10:00:00.5+02:00"))],
            0..8),
    ) {
        let body = Value::Object(body.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let vr = Versioner::open_in_memory().unwrap();
        let before = vr.last_event_seq().unwrap();
        let event: Result<DeploymentEvent, _> = serde_json::from_value(body.clone());
        let Ok(event) = event else { return Ok(()) };
        match vr.track_deployment(&event) {
            Ok(d) => {
                let back = vr.deployment(&d.id).unwrap();
                prop_assert_eq!(&back, &d);
                prop_assert_eq!(Some(back.version.as_str()), event.version.as_deref().map(str::trim));
            }
            Err(e) => {
                prop_assert!(e.code() == ErrorCode::InvalidInput || e.code().is_blocked(), "{e}");
                prop_assert_eq!(vr.last_event_seq().unwrap(), before, "{}", e);
            }
        }
        let build: Result<BuildEvent, _> = serde_json::from_value(body);
        if let Ok(b) = build
            && let Err(e) = vr.track_build(&b)
        {
            prop_assert!(is_clear(&e), "{e}");
        }
    }

    /// Any instant a store can keep is written in the wire format and reads back equal (to
    /// the microsecond).
    #[test]
    fn instants_round_trip_through_the_wire_format(secs in -62_135_596_800i64..253_402_300_799, micros in 0u32..1_000_000) {
        let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap();
        let text = instant::format(&t);
        prop_assert!(instant::is_wire_format(&text), "{text}");
        prop_assert_eq!(wire::instant("at", &text).unwrap(), t);
    }
}
