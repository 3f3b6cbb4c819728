//! `versioner calendar` (table, json, ics), holiday files read next to the policy, the
//! windows' state in `rules list`, and the refusals a user can hit.

use crate::support::versioner;

const POLICY: &str = r#"
[[rules]]
name = "Weekend freeze"
type = "schedule"
timezone = "America/New_York"
environments = ["production"]
windows = [
  { recurrence = "weekly", start = "fri 17:00", end = "mon 08:00" },
  { name = "Holidays", holidays = "holidays.ics" },
]
"#;

const HOLIDAYS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn the_calendar_expands_the_policy_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir(home.join("policy")).unwrap();
    std::fs::write(home.join("policy/holidays.ics"), HOLIDAYS).unwrap();
    std::fs::write(home.join("policy/versioner.toml"), POLICY).unwrap();
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "apply", "policy/versioner.toml"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    // The holiday file's dates are stored with the policy.
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "list", "--output", "json"],
        &[],
    );
    let rules = r.json();
    assert_eq!(
        rules[0]["windows"][1],
        serde_json::json!({"name": "Holidays", "holidays": ["2026-12-25"], "holidays_file": "holidays.ics"}),
        "{r:?}"
    );
    let r = versioner(home, &["--db", "v.db", "rules", "list"], &[]);
    assert!(r.stdout.contains("WINDOWS"), "{r:?}");
    assert!(r.stdout.contains(", next "), "{r:?}");

    let args = [
        "--db",
        "v.db",
        "calendar",
        "--environment",
        "production",
        "--days",
        "7",
        "--from",
        "2026-12-21T00:00:00Z",
    ];
    let json = versioner(home, &[&args[..], &["--format", "json"]].concat(), &[]);
    assert_eq!(json.code, 0, "{json:?}");
    let v = json.json();
    let deny: Vec<(String, String, String)> = v["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["window"].as_str().unwrap().to_string(),
                i["start"].as_str().unwrap().to_string(),
                i["end"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        deny,
        [
            // Sunday 19:00 EST: the weekend that started before the range, clipped to it.
            (
                "Weekend freeze".to_string(),
                "2026-12-21T00:00:00Z".to_string(),
                "2026-12-21T13:00:00Z".to_string(),
            ),
            (
                "Holidays".to_string(),
                "2026-12-25T05:00:00Z".to_string(),
                "2026-12-26T05:00:00Z".to_string()
            ),
            (
                "Weekend freeze".to_string(),
                "2026-12-25T22:00:00Z".to_string(),
                "2026-12-28T00:00:00Z".to_string()
            ),
        ],
        "{v}"
    );
    assert_eq!(
        v["closed"],
        serde_json::json!([
            {"start": "2026-12-21T00:00:00Z", "end": "2026-12-21T13:00:00Z"},
            {"start": "2026-12-25T05:00:00Z", "end": "2026-12-28T00:00:00Z"}
        ])
    );
    assert_eq!(v["open"].as_array().unwrap().len(), 1, "{v}");

    let ics = versioner(home, &[&args[..], &["--format", "ics"]].concat(), &[]);
    assert_eq!(ics.code, 0, "{ics:?}");
    assert!(ics.stdout.starts_with("BEGIN:VCALENDAR\r\n"), "{ics:?}");
    assert!(ics.stdout.ends_with("END:VCALENDAR\r\n"), "{ics:?}");
    assert!(
        ics.stdout
            .contains("DTSTART;TZID=America/New_York:20261225T000000\r\n"),
        "{ics:?}"
    );

    let table = versioner(home, &args, &[]);
    assert_eq!(table.code, 0, "{table:?}");
    assert!(
        table.stdout.contains("KIND") && table.stdout.contains("Holidays"),
        "{table:?}"
    );
}

#[test]
fn bad_calendar_flags_and_holiday_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (flags, needle) in [
        (&["--format", "pdf"][..], "--format `pdf`"),
        (&["--days", "0"][..], "--days 0"),
        (&["--from", "yesterday"][..], "--from `yesterday`"),
    ] {
        let r = versioner(
            home,
            &[&["--db", "v.db", "calendar"][..], flags].concat(),
            &[],
        );
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains(needle), "{r:?}");
    }
    // A missing holiday file refuses the whole policy; nothing is applied.
    std::fs::write(home.join("versioner.toml"), POLICY).unwrap();
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "apply", "versioner.toml"],
        &[],
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("rules[0].windows[1].holidays") && r.stderr.contains("cannot read"),
        "{r:?}"
    );
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "list", "--output", "json"],
        &[],
    );
    assert_eq!(r.json(), serde_json::json!([]), "{r:?}");
}

#[test]
fn rules_lint_exits_4_on_errors_and_0_on_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../versioner-core/tests/lint/problems.toml"
    );
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "lint", fixture, "--format", "json"],
        &[],
    );
    assert_eq!(r.code, 4, "{r:?}");
    let checks: Vec<String> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect();
    for c in [
        "window_never_matches",
        "duplicate_window",
        "deny_covers_allow",
        "flow_cycle",
        "overlapping_windows",
    ] {
        assert!(checks.iter().any(|x| x == c), "{c}: {checks:?}");
    }
    let r = versioner(home, &["--db", "v.db", "rules", "lint", fixture], &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stdout
            .contains("error[flow_cycle]: rule `Production after staging` prerequisites"),
        "{r:?}"
    );

    // Warnings only: exit 0.
    std::fs::write(
        home.join("warn.toml"),
        "[[rules]]\nname = \"Soak\"\ntype = \"flow\"\nenvironments = [\"production\"]\nprerequisites = [\"staging\"]\n",
    )
    .unwrap();
    let r = versioner(home, &["--db", "v.db", "rules", "lint", "warn.toml"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("0 error(s), 2 warning(s)"), "{r:?}");

    // `rules apply` refuses the lint's errors; nothing is applied.
    let r = versioner(home, &["--db", "v.db", "rules", "apply", fixture], &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("(flow_cycle)"), "{r:?}");
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "list", "--output", "json"],
        &[],
    );
    assert_eq!(r.json(), serde_json::json!([]), "{r:?}");
    // Without FILE: the policy in force (none: clean).
    let r = versioner(home, &["--db", "v.db", "rules", "lint"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(
        home,
        &["--db", "v.db", "rules", "lint", "--format", "yaml"],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn rules_test_runs_the_cases_like_a_test_runner() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/policies/calendars.toml"
    );
    let r = versioner(home, &["rules", "test", example, "--dst-edges"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.ends_with("51 passed, 0 failed\n"), "{r:?}");
    assert!(
        r.stdout
            .contains("ok: saturday is frozen (New York, EST)\n"),
        "{r:?}"
    );
    // Nothing was written anywhere: each case had its own in-memory store.
    assert!(!home.join(".versioner").exists(), "{r:?}");

    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace("expect = \"allowed\"", "expect = \"blocked\"");
    std::fs::write(home.join("wrong.toml"), text).unwrap();
    let r = versioner(home, &["rules", "test", "wrong.toml"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("FAILED: monday 08:00 EDT is open\n    expected blocked, got allowed"),
        "{r:?}"
    );
    assert!(r.stdout.ends_with("9 passed, 6 failed\n"), "{r:?}");

    let r = versioner(home, &["rules", "test", "missing.toml"], &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("cannot read"), "{r:?}");
}
