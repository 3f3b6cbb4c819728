//! Policy lint (issue 17): a fixture with every problem is found out, check by check; the
//! examples' policies lint clean; `apply` refuses a policy with lint errors and writes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::path::Path;

use versioner_core::access::Role;
use versioner_core::input::PolicyInput;
use versioner_core::policy::lint::Severity;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{DeploymentEvent, Error, ErrorCode};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_fixture_has_every_problem() {
    let vr = common::fresh();
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0",
        "production",
        "completed",
    ))
    .unwrap();
    // The principals: nobody may grant `change_board` but admins, and there is none; two
    // may grant release approvals as sre or qa.
    for (who, role) in [
        ("sam", Role::Sre),
        ("quinn", Role::Qa),
        ("dev", Role::Developer),
    ] {
        vr.create_api_key(who, role).unwrap();
    }
    let policy = PolicyInput::file(root().join("tests/lint/problems.toml"), None)
        .parse()
        .unwrap();
    let report = vr.lint_policy(&policy).unwrap();
    let got: Vec<(Severity, &str, &str, &str)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.severity,
                f.check.as_str(),
                f.rule.as_str(),
                f.field.as_str(),
            )
        })
        .collect();
    use Severity::{Error as E, Warning as W};
    for want in [
        (E, "window_never_matches", "Used up", "windows[0]"),
        (E, "duplicate_window", "Twice", "windows[1]"),
        (E, "deny_covers_allow", "Only mornings", "windows[0]"),
        (E, "flow_cycle", "Production after staging", "prerequisites"),
        (E, "approval_unsatisfiable", "Board", "approval_types"),
        (E, "approval_unsatisfiable", "Three approvers", "required"),
        (W, "window_ended", "Used up", "windows[1]"),
        (W, "overlapping_windows", "Twice", "windows[2]"),
        (W, "unknown_environment", "Typo", "prerequisites"),
        (W, "scope_matches_nothing", "Board", "products"),
        (W, "scope_matches_nothing", "Typo", "environments"),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {got:#?}");
    }
    // Recorded environments are not reported; one cycle is reported once.
    assert!(
        !got.iter()
            .any(|f| f.1 == "scope_matches_nothing" && f.2 == "Only mornings"),
        "{got:#?}"
    );
    assert_eq!(
        got.iter().filter(|f| f.1 == "flow_cycle").count(),
        1,
        "{got:#?}"
    );
    assert!(!report.passed());
    let errors: Vec<_> = report.errors().collect();
    assert!(errors.iter().all(|f| !f.message.is_empty()));
    assert!(
        report.findings.iter().position(|f| f.severity == W)
            > report.findings.iter().rposition(|f| f.severity == E),
        "errors first"
    );
}

#[test]
fn the_examples_policies_lint_clean() {
    let vr = common::fresh();
    for file in [
        "../examples/ci/versioner.toml",
        "../examples/c/versioner.toml",
    ] {
        let policy = PolicyInput::file(root().join(file), None).parse().unwrap();
        let report = vr.lint_policy(&policy).unwrap();
        let errors: Vec<_> = report.errors().collect();
        assert!(errors.is_empty(), "{file}: {errors:#?}");
        assert!(
            report
                .warnings()
                .all(|w| w.check == "scope_matches_nothing" || w.check == "unknown_environment"),
            "{file}: {report:#?}"
        );
    }
}

#[test]
fn apply_refuses_lint_errors_and_writes_nothing() {
    let vr = common::fresh();
    let text = r#"
[[rules]]
name = "Twice"
type = "schedule"
windows = [
  { recurrence = "daily", start = "22:00", end = "06:00" },
  { recurrence = "daily", start = "22:00", end = "06:00" },
]
"#;
    let e = vr
        .apply_policy_text(text, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let Error::InvalidPolicy { problems } = &e else {
        panic!("expected InvalidPolicy, got {e}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "windows[1]");
    assert!(
        problems[0].reason.contains("repeats window 1"),
        "{problems:?}"
    );
    assert!(vr.rules().unwrap().is_empty());
    assert_eq!(vr.last_event_seq().unwrap(), 0);
}
