//! The joint `retry_after` (issue 20, item 5): the search re-evaluates its candidate instants
//! producing decisions only (no messages). Property: it finds exactly what a search over full
//! evaluations finds, and what it finds is an instant at which the deployment is allowed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;
use versioner_core::Status;
use versioner_core::policy::{Facts, OpenDeployment, Rule, Stint, evaluate};

/// A reference search over full evaluations: from the blocking outcomes, jump to the latest
/// of their retry instants until nothing blocks (`Some`), a block needs a person or the
/// candidate stops moving (`None`).
fn reference(rules: &[Rule], facts: &Facts, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut verdict = evaluate(rules, facts, at);
    let mut last = None;
    for _ in 0..64 {
        let blocking: Vec<_> = verdict.failures().collect();
        if blocking.is_empty() {
            return last;
        }
        let mut next: Option<DateTime<Utc>> = None;
        for o in blocking {
            let t = o.retry_after?;
            next = Some(next.map_or(t, |n| n.max(t)));
        }
        let t = next?;
        if last.is_some_and(|l| t <= l) {
            return None;
        }
        last = Some(t);
        verdict = evaluate(rules, facts, t);
    }
    None
}

fn rules(window_start_hour: u32, window_hours: u32, weekly: bool, soak_hours: u32) -> Vec<Rule> {
    let window = if weekly {
        json!({"recurrence": "weekly", "days": ["mon", "wed", "fri"],
               "start": format!("{window_start_hour:02}:00"),
               "end": format!("{:02}:30", (window_start_hour + window_hours) % 24)})
    } else {
        json!({"recurrence": "daily",
               "start": format!("{window_start_hour:02}:00"),
               "end": format!("{:02}:00", (window_start_hour + window_hours) % 24)})
    };
    [
        json!({"name": "freeze", "type": "schedule", "mode": "deny",
               "timezone": "Europe/Berlin", "windows": [window]}),
        json!({"name": "soak", "type": "flow", "prerequisites": ["staging"],
               "soak": format!("{soak_hours}h")}),
        json!({"name": "one at a time", "type": "concurrency", "max": 1,
               "stale_after": "3h"}),
    ]
    .iter()
    .map(|r| Rule::from_json(r).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_decision_only_search_finds_what_full_evaluations_find(
        window_start_hour in 0u32..24,
        window_hours in 1u32..12,
        weekly in any::<bool>(),
        soak_hours in 1u32..72,
        soaked_minutes in 0i64..(72 * 60),
        open_minutes in proptest::option::of(0i64..(4 * 60)),
        at_minutes in 0i64..(14 * 24 * 60),
    ) {
        let at = Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap() + Duration::minutes(at_minutes);
        let rules = rules(window_start_hour, window_hours, weekly, soak_hours);
        let mut facts = Facts::new("api", "1.0", "production");
        let deployed = at - Duration::minutes(soaked_minutes);
        facts.stints.insert("staging".into(), Stint::new(Some(deployed), Some(deployed), None));
        if let Some(m) = open_minutes {
            facts.open_deployments.push(OpenDeployment::new(
                "d-1", "api", "0.9", Status::Started, at - Duration::minutes(m)));
        }
        let verdict = evaluate(&rules, &facts, at);
        prop_assert_eq!(verdict.retry_after(), reference(&rules, &facts, at));
        if let Some(t) = verdict.retry_after() {
            prop_assert!(t > at);
            prop_assert!(evaluate(&rules, &facts, t).is_allowed(), "blocked at its retry instant {}", t);
        }
    }
}
