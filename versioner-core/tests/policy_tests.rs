//! `[[tests]]` in a policy file (issue 17): the calendars example's cases (the weekend
//! freeze, the first-Monday window and an RRULE with an EXDATE, each with DST-edge instants in
//! two zones) pass, with generated DST-edge cases; a wrong expectation fails with a reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::path::Path;

use versioner_core::input::PolicyInput;
use versioner_core::policy_tests;

fn calendars() -> (String, versioner_core::policy::PolicyFormat) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/calendars.toml");
    let input = PolicyInput::file(path, None);
    let (text, format) = input.document().unwrap();
    (text.into_owned(), format)
}

#[test]
fn the_calendars_example_passes_with_dst_edges() {
    let (text, format) = calendars();
    let tests = policy_tests::parse(&text, format).unwrap();
    assert_eq!(tests.tests.len(), 15);
    let report = tests.run(true).unwrap();
    let failed: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    // Six schedule rules, two changes a year each, three instants per change.
    assert_eq!(report.cases.len(), 15 + 6 * 2 * 3);
    assert!(report.cases.iter().any(|c| {
        c.name
            .starts_with("dst edge: `Maintenance (London)` at 2026-10-25T01:00:00")
    }));
}

#[test]
fn a_wrong_expectation_fails_with_the_reason() {
    let (text, format) = calendars();
    let text = text.replace(
        "retry_after = \"2026-03-09T08:00:00-04:00\"\n\n[[tests]]\nname = \"sunday just after",
        "retry_after = \"2026-03-09T09:00:00-04:00\"\n\n[[tests]]\nname = \"sunday just after",
    );
    let text = text.replace(
        "name = \"monday 08:00 EDT is open\"\nat = \"2026-03-09T08:00:00-04:00\"",
        "name = \"monday 08:00 EDT is open\"\nat = \"2026-03-09T07:59:59-04:00\"",
    );
    let report = policy_tests::parse(&text, format)
        .unwrap()
        .run(false)
        .unwrap();
    assert_eq!((report.passed(), report.failed()), (13, 2));
    let failed: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed[0].name, "saturday is frozen (New York, EST)");
    assert!(
        failed[0].detail.contains(
            "expected retry_after 2026-03-09T09:00:00-04:00, got 2026-03-09T12:00:00+00:00"
        ),
        "{failed:#?}"
    );
    assert!(
        failed[1]
            .detail
            .starts_with("expected allowed, got blocked"),
        "{failed:#?}"
    );
}

#[test]
fn unreadable_cases_are_named() {
    let format = versioner_core::policy::PolicyFormat::Toml;
    let e = policy_tests::parse("[[tests]]\nname = \"x\"\n", format).unwrap_err();
    assert_eq!(e.field(), Some("tests[0]"));
    let text = "[[tests]]\nname = \"x\"\nat = \"2026-01-01T00:00:00Z\"\nproduct = \"p\"\nversion = \"1\"\nenvironment = \"e\"\nexpect = \"maybe\"\n";
    let e = policy_tests::parse(text, format).unwrap_err();
    assert_eq!(e.field(), Some("tests[0].expect"));
    assert!(e.to_string().contains("expected blocked or allowed"), "{e}");
    // A history event the core refuses fails that case, naming it.
    let text = "[[tests]]\nname = \"bad history\"\nat = \"2026-01-01T00:00:00Z\"\nproduct = \"p\"\nversion = \"1\"\nenvironment = \"e\"\nexpect = \"allowed\"\nhistory = [{ type = \"deployment\", at = \"2026-01-01T00:00:00Z\", product_name = \"p\", version = \"1\", environment_name = \"e\", status = \"exploded\" }]\n";
    let report = policy_tests::parse(text, format)
        .unwrap()
        .run(false)
        .unwrap();
    assert_eq!(report.failed(), 1);
    assert!(
        report.cases[0].detail.starts_with("history[0]:"),
        "{report:#?}"
    );
}
