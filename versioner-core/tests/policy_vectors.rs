//! Policy behaviour pinned by data: every `tests/vectors/policy/*.toml` file is one case with
//! rules, a history replayed at given instants, a request, and the expected verdict. Each case
//! runs twice: as a dry-run `check` and as a real `started` event, which must agree, and a
//! refused event must leave the history unchanged. `[[also]]` instants are checked as dry runs
//! against the same history. Every vector also runs through the runner of `versioner rules
//! test` (`policy_tests`), converted to a policy file with `[[tests]]`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{
    ApprovalRequest, BuildEvent, CheckRequest, DeploymentEvent, Error, HistoryQuery, ManualClock,
    Verdict, Versioner,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    note: String,
    at: DateTime<Utc>,
    #[serde(default)]
    rules: Vec<toml::Value>,
    #[serde(default)]
    history: Vec<Event>,
    request: Request,
    want: Want,
    /// More instants checked against the same rules and history (DST edges, window edges).
    #[serde(default)]
    also: Vec<Also>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Also {
    at: DateTime<Utc>,
    want: Want,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    at: DateTime<Utc>,
    kind: String,
    product: String,
    version: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    approval_type: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    product: String,
    version: String,
    environment: String,
    #[serde(default)]
    deployed_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Want {
    decision: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    http: Option<u16>,
    #[serde(default)]
    retry_after: Option<DateTime<Utc>>,
    #[serde(default)]
    no_retry_after: bool,
    #[serde(default)]
    failures: Option<usize>,
    #[serde(default)]
    outcomes: Vec<WantOutcome>,
    #[serde(default)]
    message_contains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WantOutcome {
    rule: String,
    status: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    retry_after: Option<DateTime<Utc>>,
    #[serde(default)]
    details: Option<toml::Table>,
}

fn replay(vr: &Versioner, clock: &ManualClock, e: &Event) {
    clock.set(e.at);
    match e.kind.as_str() {
        "deployment" => {
            let mut ev = DeploymentEvent::new(
                &e.product,
                &e.version,
                e.environment
                    .as_deref()
                    .expect("deployment needs environment"),
                e.status.as_deref().unwrap_or("completed"),
            );
            ev.deployed_by = e.by.clone();
            vr.track_deployment(&ev).expect("history deployment");
        }
        "build" => {
            let mut ev = BuildEvent::new(
                &e.product,
                &e.version,
                e.status.as_deref().unwrap_or("completed"),
            );
            ev.built_by = e.by.clone();
            vr.track_build(&ev).expect("history build");
        }
        "approval" => {
            let mut req = ApprovalRequest::new(
                &e.product,
                &e.version,
                e.approval_type.as_deref().unwrap_or("release"),
                e.by.as_deref().expect("approval needs by"),
            );
            req.environment = e.environment.clone();
            req.approver_role = e.role.clone();
            vr.approve(&req).expect("history approval");
        }
        other => panic!("unknown history kind `{other}`"),
    }
}

fn assert_verdict(name: &str, v: &Verdict, want: &Want) {
    let ctx = format!("{name}: {}", v.summary());
    assert_eq!(
        format!("{:?}", v.decision()).to_lowercase(),
        want.decision,
        "{ctx}"
    );
    if want.decision == "allowed" {
        assert_eq!((v.code(), v.http_status()), (None, None), "{ctx}");
    }
    if let Some(code) = &want.code {
        assert_eq!(v.code().map(|c| c.as_str()), Some(code.as_str()), "{ctx}");
    }
    if let Some(http) = want.http {
        assert_eq!(v.http_status(), Some(http), "{ctx}");
    }
    if let Some(t) = want.retry_after {
        assert_eq!(v.retry_after(), Some(t), "{ctx}");
    }
    if want.no_retry_after {
        assert_eq!(v.retry_after(), None, "{ctx}");
    }
    if let Some(n) = want.failures {
        assert_eq!(v.failures().count(), n, "{ctx}");
    }
    for w in &want.outcomes {
        let o = v
            .outcomes()
            .iter()
            .find(|o| o.rule_name == w.rule)
            .unwrap_or_else(|| panic!("{ctx}: no outcome for rule `{}`", w.rule));
        assert_eq!(o.status.as_str(), w.status, "{ctx}: rule {}", w.rule);
        if let Some(code) = &w.code {
            assert_eq!(
                o.code.map(|c| c.as_str()),
                Some(code.as_str()),
                "{ctx}: rule {}",
                w.rule
            );
        }
        if let Some(t) = w.retry_after {
            assert_eq!(o.retry_after, Some(t), "{ctx}: rule {}", w.rule);
        }
        if let Some(details) = &w.details {
            for (k, want_v) in details {
                let want_json = serde_json::to_value(want_v).unwrap();
                assert_eq!(
                    o.details.get(k),
                    Some(&want_json),
                    "{ctx}: rule {} detail {k}",
                    w.rule
                );
            }
        }
    }
    for fragment in &want.message_contains {
        assert!(
            v.summary().contains(fragment.as_str()),
            "{ctx}: expected `{fragment}` in the summary"
        );
    }
}

fn run_case(path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!case.note.is_empty(), "{name}: a case states what it pins");
    let clock = ManualClock::new(case.history.first().map_or(case.at, |e| e.at));
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    let rules = serde_json::json!({ "rules": case.rules });
    vr.apply_policy_text(
        &rules.to_string(),
        PolicyFormat::Json,
        ApplyMode::Replace,
        "vectors",
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    for e in &case.history {
        replay(&vr, &clock, e);
    }
    clock.set(case.at);

    // 1. The dry run.
    let mut check = CheckRequest::new(
        &case.request.product,
        &case.request.version,
        &case.request.environment,
    );
    check.deployed_by = case.request.deployed_by.clone();
    let verdict = vr
        .check(&check)
        .unwrap_or_else(|e| panic!("{name}: check failed: {e}"));
    assert_verdict(&name, &verdict, &case.want);

    // 1b. The other instants, as dry runs (the real event below would change the history).
    for (i, also) in case.also.iter().enumerate() {
        clock.set(also.at);
        let v = vr
            .check(&check)
            .unwrap_or_else(|e| panic!("{name}: also[{i}]: check failed: {e}"));
        assert_verdict(&format!("{name} also[{i}] at {}", also.at), &v, &also.want);
    }
    clock.set(case.at);

    // 2. The real event agrees, and a refusal writes nothing.
    let before = vr.history(&HistoryQuery::new().limit(1000)).unwrap().len();
    let mut ev = DeploymentEvent::new(
        &case.request.product,
        &case.request.version,
        &case.request.environment,
        "started",
    );
    ev.deployed_by = case.request.deployed_by.clone();
    match vr.track_deployment(&ev) {
        Ok(d) => {
            assert_eq!(
                case.want.decision, "allowed",
                "{name}: recorded but expected a block"
            );
            let p = d
                .preflight
                .expect("a started deployment keeps its preflight");
            assert_eq!(p.verdict, verdict, "{name}: check and record disagree");
        }
        Err(Error::Blocked(v)) => {
            assert_eq!(
                case.want.decision,
                "blocked",
                "{name}: blocked: {}",
                v.summary()
            );
            assert_eq!(*v, verdict, "{name}: check and record disagree");
            let after = vr.history(&HistoryQuery::new().limit(1000)).unwrap().len();
            assert_eq!(
                before, after,
                "{name}: a refused deployment must write nothing"
            );
        }
        Err(e) => panic!("{name}: unexpected error {e}"),
    }
}

#[test]
fn policy_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/policy");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the policy vectors in {}",
        dir.display()
    );
    for p in &paths {
        run_case(p);
    }
}

/// A vector as a policy file with `[[tests]]`: its history in the Events API's shape, its
/// request at `at` and at every `also` instant as cases.
fn as_policy_tests(case: &Case) -> serde_json::Value {
    use serde_json::json;
    let history: Vec<serde_json::Value> = case
        .history
        .iter()
        .map(|e| match e.kind.as_str() {
            "deployment" => json!({
                "type": "deployment", "at": e.at, "product_name": e.product,
                "version": e.version, "environment_name": e.environment,
                "status": e.status.as_deref().unwrap_or("completed"), "deployed_by": e.by,
            }),
            "build" => json!({
                "type": "build", "at": e.at, "product_name": e.product, "version": e.version,
                "status": e.status.as_deref().unwrap_or("completed"), "built_by": e.by,
            }),
            "approval" => json!({
                "type": "approval", "at": e.at, "product_name": e.product, "version": e.version,
                "approval_type": e.approval_type.as_deref().unwrap_or("release"),
                "approver": e.by, "approver_role": e.role, "environment": e.environment,
            }),
            other => panic!("unknown history kind `{other}`"),
        })
        .collect();
    let case_at = |name: String, at: DateTime<Utc>, want: &Want| {
        let mut t = json!({
            "name": name, "at": at, "product": case.request.product,
            "version": case.request.version, "environment": case.request.environment,
            "deployed_by": case.request.deployed_by, "history": history,
            "expect": want.decision,
        });
        if let Some(code) = &want.code {
            t["code"] = json!(code);
        }
        if let Some(r) = want.retry_after {
            t["retry_after"] = json!(r);
        }
        t
    };
    let mut tests = vec![case_at(case.note.clone(), case.at, &case.want)];
    for (i, also) in case.also.iter().enumerate() {
        tests.push(case_at(
            format!("{} (also[{i}])", case.note),
            also.at,
            &also.want,
        ));
    }
    json!({ "rules": case.rules, "tests": tests })
}

/// The same vectors through the runner of `versioner rules test` (`policy_tests`): every case
/// and every `also` instant passes there too.
#[test]
fn policy_vectors_through_rules_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/policy");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut cases = 0;
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let case: Case = toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let doc = as_policy_tests(&case);
        let tests = versioner_core::policy_tests::PolicyTests::from_json(&doc)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = tests.run(false).unwrap();
        let failed: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
        assert!(failed.is_empty(), "{name}: {failed:#?}");
        cases += report.cases.len();
    }
    assert!(cases > paths.len(), "the `also` instants ran too");
}
