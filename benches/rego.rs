//! Issue 20, item 5: the pure evaluation side by side with Regorus, the Rust Rego engine an
//! embedder would otherwise reach for. The same five rules (`support::POLICY`, and
//! `benches/rego/five_rules.rego` written to decide the same way) over the same facts at the
//! same instant, in three scenarios: every rule passes, one fails (the soak has not ended: our
//! retry search runs), every rule fails. Before timing, each scenario's outcomes are compared
//! rule by rule (status, code, retry instant) so the two policies are known to agree.
//!
//! Timed: our `policy::evaluate`; Regorus's interpreter (`Engine::set_input` +
//! `eval_rule`); Regorus's bytecode VM (`RegoVM::set_input` + `execute`, the program compiled
//! once). Inputs are built once per scenario (the JSON of our `Facts`), as an embedder holding
//! its facts would.
//!
//! Built only with the feature `rego-comparison` (scripts/bench.sh enables it), so the test
//! suite never compiles Regorus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "a benchmark fails loudly"
)]

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Value};
use versioner_core::policy::{self, Facts, OpenDeployment, Rule, Stint};
use versioner_core::{Status, Versioner};

const REGO: &str = include_str!("rego/five_rules.rego");
const ENTRY: &str = "data.versioner.verdict";

/// One scenario: the facts, the instant, and the Rego input made of them.
struct Scenario {
    name: &'static str,
    facts: Facts,
    at: DateTime<Utc>,
    input: Value,
}

impl Scenario {
    fn new(name: &'static str, facts: Facts, at: DateTime<Utc>) -> Scenario {
        let input = serde_json::json!({
            "facts": facts,
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        });
        Scenario {
            name,
            facts,
            at,
            input: Value::from(input),
        }
    }
}

/// The rules and the three scenarios' facts, as the preflight bench gathers them
/// (`benches/preflight.rs`, `check/evaluate_*`).
fn scenarios() -> (Vec<Rule>, Vec<Scenario>) {
    // Whole seconds: Regorus's numbers lose nanoseconds at today's magnitudes (≈ 1.8e18 ns),
    // and the retry instants are compared exactly.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
    // The policy, the build, its approvals and its success in e2, as the preflight bench
    // prepares them.
    let vr = Versioner::open_in_memory().unwrap();
    support::prepare_bench_version(&vr);
    let rules: Vec<Rule> = vr.rules().unwrap().into_iter().map(|r| r.rule).collect();

    let mut all_pass = Facts::new("p0", "bench", "e9");
    all_pass.deployed_by = Some("dana".into());
    all_pass.version_known = true;
    all_pass.builders = vec!["ci".into()];
    all_pass.approvals = vr.approvals("p0", "bench").unwrap();
    let soaked = now - chrono::Duration::days(2);
    all_pass
        .stints
        .insert("e2".into(), Stint::new(Some(soaked), Some(soaked), None));

    let mut one_fails = all_pass.clone();
    let fresh = now - chrono::Duration::minutes(5);
    one_fails
        .stints
        .insert("e2".into(), Stint::new(Some(fresh), Some(fresh), None));

    let mut all_fail = Facts::new("p0", "bench", "e9");
    let freeze = "2001-12-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
    all_fail.open_deployments.push(OpenDeployment::new(
        "d-1",
        "p0",
        "1",
        Status::Started,
        freeze - chrono::Duration::minutes(10),
    ));
    (
        rules,
        vec![
            Scenario::new("all_pass", all_pass, now),
            Scenario::new("one_fails", one_fails, now),
            Scenario::new("all_fail", all_fail, freeze),
        ],
    )
}

/// Each outcome as (status, code, retry instant in ns) and the joint retry instant.
type Summary = (Vec<(String, Option<String>, Option<i64>)>, Option<i64>);

fn ours(rules: &[Rule], s: &Scenario) -> Summary {
    let v = policy::evaluate(rules, &s.facts, s.at);
    let ns = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap();
    (
        v.outcomes()
            .iter()
            .map(|o| {
                (
                    o.status.as_str().to_string(),
                    o.code.map(|c| c.as_str().to_string()),
                    o.retry_after.filter(|_| o.blocks()).map(ns),
                )
            })
            .collect(),
        v.retry_after().map(ns),
    )
}

fn theirs(verdict: &Value) -> Summary {
    let json: serde_json::Value = serde_json::from_str(&verdict.to_json_str().unwrap()).unwrap();
    let outcomes = json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["status"].as_str().unwrap().to_string(),
                o["code"].as_str().map(str::to_string),
                o["retry_after"].as_i64(),
            )
        })
        .collect();
    (outcomes, json["retry_after"].as_i64())
}

fn side_by_side(c: &mut Criterion) {
    let (rules, scenarios) = scenarios();

    let mut engine = Engine::new();
    engine
        .add_policy("five_rules.rego".into(), REGO.into())
        .unwrap();
    let compiled = engine.compile_with_entrypoint(&ENTRY.into()).unwrap();
    let program = Compiler::compile_from_policy(&compiled, &[ENTRY]).unwrap();
    let mut vm = RegoVM::new();
    vm.load_program(program);

    // The two policies decide alike, rule by rule, in every scenario (and the VM agrees with
    // the interpreter).
    for s in &scenarios {
        engine.set_input(s.input.clone());
        let interpreted = theirs(&engine.eval_rule(ENTRY.into()).unwrap());
        vm.set_input(s.input.clone());
        let executed = theirs(&vm.execute().unwrap());
        let mine = ours(&rules, s);
        assert_eq!(interpreted, mine, "the interpreter disagrees in {}", s.name);
        assert_eq!(executed, mine, "the VM disagrees in {}", s.name);
    }

    let mut g = c.benchmark_group("rego");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for s in &scenarios {
        g.bench_function(BenchmarkId::new("versioner", s.name), |b| {
            b.iter(|| policy::evaluate(&rules, &s.facts, s.at))
        });
        g.bench_function(BenchmarkId::new("regorus_interpreter", s.name), |b| {
            b.iter(|| {
                engine.set_input(s.input.clone());
                engine.eval_rule(ENTRY.into()).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("regorus_vm", s.name), |b| {
            b.iter(|| {
                vm.set_input(s.input.clone());
                vm.execute().unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
