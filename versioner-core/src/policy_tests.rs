//! Policy tests: table-driven cases declared next to a policy (`[[tests]]`), each run in a
//! fresh in-memory store, so a policy change can be gated in CI before it blocks a release.
//!
//! ```toml
//! [[tests]]
//! name = "saturday is frozen"
//! at = "2026-03-07T12:00:00-05:00"
//! product = "shop"
//! version = "1.0.0"
//! environment = "production"
//! history = [ { type = "deployment", at = "2026-03-01T10:00:00Z", product_name = "shop",
//!               version = "1.0.0", environment_name = "staging", status = "completed" } ]
//! expect = "blocked"          # or "allowed"
//! code = "NO_DEPLOY_WINDOW"   # optional
//! retry_after = "2026-03-09T08:00:00-04:00"   # optional
//! ```
//!
//! `history` items are Events API bodies (`type` = `deployment`, `build` or `approval`, with
//! the body of `POST /deployment-events/`, `POST /build-events/` or `POST /approvals/`) plus
//! the instant `at` at which they are recorded.
//!
//! With DST edges on, every schedule rule also gets generated cases: for each change of its
//! zone's offset in the year after the first case (or now), the instants one second before
//! it, at it, and an hour after it. A generated case passes when the dry run is
//! self-consistent: when it is blocked with a `retry_after`, the deployment is still blocked
//! one second before that instant and no schedule rule blocks it at that instant.

use std::sync::Arc;

use chrono::{DateTime, Offset, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::approval::ApprovalRequest;
use crate::clock::ManualClock;
use crate::error::{Error, Result};
use crate::event::{BuildEvent, CheckRequest, DeploymentEvent};
use crate::policy::{ApplyMode, BlockCode, PolicyFile, PolicyFormat, RuleKind, RuleType, Verdict};
use crate::service::Versioner;

/// One declared case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTest {
    /// What it checks.
    pub name: String,
    /// The instant of the deployment (RFC 3339, any offset).
    pub at: DateTime<chrono::FixedOffset>,
    /// The product.
    pub product: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment: String,
    /// Who deploys, if it matters (release approvals exclude them).
    #[serde(default)]
    pub deployed_by: Option<String>,
    /// Prior events and approvals.
    #[serde(default)]
    pub history: Vec<Value>,
    /// `blocked` or `allowed`.
    pub expect: String,
    /// The expected block code, if blocked.
    #[serde(default)]
    pub code: Option<String>,
    /// The expected `retry_after`.
    #[serde(default)]
    pub retry_after: Option<DateTime<chrono::FixedOffset>>,
}

/// A policy file with its `[[tests]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTests {
    /// The policy, as applied.
    pub policy: PolicyFile,
    /// The cases, in file order.
    pub tests: Vec<PolicyTest>,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case's name (generated ones: `dst edge: <rule> at <instant>`).
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed, or what the verdict was.
    pub detail: String,
}

/// Every case's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// The results, declared cases first.
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    /// How many passed.
    #[must_use]
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// How many failed.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

impl PolicyTests {
    /// Reads a policy document with `[[tests]]` (the policy part as [`PolicyFile::from_json`]).
    ///
    /// # Errors
    /// `INVALID_INPUT`: the policy's problems, or a case that cannot be read (naming it).
    pub fn from_json(value: &Value) -> Result<PolicyTests> {
        let mut policy_part = value.clone();
        let tests = match policy_part.as_object_mut().and_then(|m| m.remove("tests")) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    serde_json::from_value::<PolicyTest>(item).map_err(|e| {
                        Error::invalid(format!("tests[{i}]"), format!("cannot be read: {e}"))
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(Error::invalid("tests", "must be an array of tables")),
        };
        for (i, t) in tests.iter().enumerate() {
            if !["blocked", "allowed"].contains(&t.expect.as_str()) {
                return Err(Error::invalid(
                    format!("tests[{i}].expect"),
                    format!("`{}`: expected blocked or allowed", t.expect),
                ));
            }
        }
        Ok(PolicyTests {
            policy: PolicyFile::from_json(&policy_part)?,
            tests,
        })
    }

    /// Runs every case (and the generated DST-edge cases with `dst_edges`).
    ///
    /// # Errors
    /// `STORAGE` when an in-memory store cannot be opened; a case's own errors (a history
    /// event refused) fail that case only.
    pub fn run(&self, dst_edges: bool) -> Result<TestReport> {
        let mut report = TestReport::default();
        for t in &self.tests {
            report.cases.push(self.run_case(t)?);
        }
        if dst_edges {
            let from = self
                .tests
                .first()
                .map_or_else(Utc::now, |t| t.at.with_timezone(&Utc));
            for (rule, at) in self.dst_edges(from) {
                report.cases.push(self.run_edge(&rule, at)?);
            }
        }
        Ok(report)
    }

    fn fresh(&self, start: DateTime<Utc>) -> Result<(Versioner, ManualClock)> {
        let clock = ManualClock::new(start);
        let vr = Versioner::open_in_memory()?.with_clock(Arc::new(clock.clone()));
        vr.apply_policy(&self.policy, ApplyMode::Replace, "policy-tests")?;
        Ok((vr, clock))
    }

    fn run_case(&self, t: &PolicyTest) -> Result<CaseResult> {
        let at = t.at.with_timezone(&Utc);
        let first = t
            .history
            .iter()
            .filter_map(|h| h.get("at").and_then(Value::as_str))
            .filter_map(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
            .min()
            .unwrap_or(at)
            .min(at);
        let fail = |detail: String| CaseResult {
            name: t.name.clone(),
            passed: false,
            detail,
        };
        let (vr, clock) = match self.fresh(first) {
            Ok(v) => v,
            Err(e) => return Ok(fail(format!("the policy cannot be applied: {e}"))),
        };
        for (i, h) in t.history.iter().enumerate() {
            if let Err(e) = replay(&vr, &clock, h) {
                return Ok(fail(format!("history[{i}]: {e}")));
            }
        }
        clock.set(at);
        let mut req = CheckRequest::new(&t.product, &t.version, &t.environment);
        req.deployed_by = t.deployed_by.clone();
        let v = match vr.check(&req) {
            Ok(v) => v,
            Err(e) => return Ok(fail(format!("the check failed: {e}"))),
        };
        let got = if v.code().is_some() {
            "blocked"
        } else {
            "allowed"
        };
        let mut problems = Vec::new();
        if got != t.expect {
            problems.push(format!("expected {}, got {got}: {}", t.expect, v.summary()));
        }
        if let Some(code) = &t.code
            && v.code().map(|c| c.as_str()) != Some(code.as_str())
        {
            problems.push(format!(
                "expected code {code}, got {}",
                v.code().map_or("none", |c| c.as_str())
            ));
        }
        if let Some(r) = t.retry_after
            && v.retry_after() != Some(r.with_timezone(&Utc))
        {
            problems.push(format!(
                "expected retry_after {}, got {}",
                r.to_rfc3339(),
                v.retry_after().map_or("none".into(), |x| x.to_rfc3339())
            ));
        }
        Ok(CaseResult {
            name: t.name.clone(),
            passed: problems.is_empty(),
            detail: if problems.is_empty() {
                v.summary()
            } else {
                problems.join("; ")
            },
        })
    }

    /// The generated instants: per schedule rule, around each offset change of its zone in
    /// the year from `from`.
    fn dst_edges(&self, from: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        let mut out = Vec::new();
        for rule in &self.policy.rules {
            let RuleKind::Schedule(s) = &rule.kind else {
                continue;
            };
            let tz = s.timezone;
            let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
            let mut day = from;
            let end = from + TimeDelta::days(366);
            while day < end {
                let next = day + TimeDelta::days(1);
                if offset(day) != offset(next) {
                    // Zone changes fall on whole seconds: bisect on them.
                    let at = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(day);
                    let (mut lo, mut hi) = (day.timestamp(), next.timestamp());
                    while hi - lo > 1 {
                        let mid = lo + (hi - lo) / 2;
                        if offset(at(mid)) == offset(at(lo)) {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    let hi = at(hi);
                    for at in [hi - TimeDelta::seconds(1), hi, hi + TimeDelta::hours(1)] {
                        out.push((rule.name.clone(), at));
                    }
                }
                day = next;
            }
        }
        out
    }

    fn run_edge(&self, rule: &str, at: DateTime<Utc>) -> Result<CaseResult> {
        let name = format!("dst edge: `{rule}` at {}", at.to_rfc3339());
        let (vr, clock) = self.fresh(at)?;
        let product = "policy-test";
        let env = self
            .policy
            .rules
            .iter()
            .find(|r| r.name == rule)
            .and_then(|r| r.scope.environments.first().cloned())
            .unwrap_or_else(|| "production".into());
        let check = |when: DateTime<Utc>| -> Result<Verdict> {
            clock.set(when);
            vr.check(&CheckRequest::new(product, "1.0.0", &env))
        };
        let v = check(at)?;
        let window_blocks = |v: &Verdict| {
            v.outcomes().iter().any(|o| {
                o.blocks()
                    && o.rule_type == RuleType::Schedule
                    && o.code == Some(BlockCode::NoDeployWindow)
            })
        };
        let mut problems = Vec::new();
        if let Some(r) = v.retry_after().filter(|_| window_blocks(&v)) {
            if r <= at {
                problems.push(format!(
                    "retry_after {} is not after {}",
                    r.to_rfc3339(),
                    at.to_rfc3339()
                ));
            } else {
                let before = check(r - TimeDelta::seconds(1))?;
                if before.code().is_none() {
                    problems.push(format!(
                        "allowed at {}, before retry_after {}",
                        (r - TimeDelta::seconds(1)).to_rfc3339(),
                        r.to_rfc3339()
                    ));
                }
                let then = check(r)?;
                if window_blocks(&then) {
                    problems.push(format!(
                        "a window still blocks at retry_after {}: {}",
                        r.to_rfc3339(),
                        then.summary()
                    ));
                }
            }
        }
        Ok(CaseResult {
            name,
            passed: problems.is_empty(),
            detail: if problems.is_empty() {
                v.summary()
            } else {
                problems.join("; ")
            },
        })
    }
}

/// Records one history item at its `at`.
fn replay(vr: &Versioner, clock: &ManualClock, item: &Value) -> Result<()> {
    let mut body = item
        .as_object()
        .cloned()
        .ok_or_else(|| Error::invalid("history", "must be a table"))?;
    let kind = body
        .remove("type")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| Error::invalid("type", "is required: deployment, build or approval"))?;
    let at = body
        .remove("at")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| Error::invalid("at", "is required (RFC 3339)"))?;
    let at = DateTime::parse_from_rfc3339(&at)
        .map_err(|_| Error::invalid("at", format!("`{at}` is not an RFC 3339 timestamp")))?;
    clock.set(at.with_timezone(&Utc));
    let body = Value::Object(body);
    let bad = |e: serde_json::Error| Error::invalid(&kind, format!("cannot be read: {e}"));
    match kind.as_str() {
        "deployment" => {
            let ev: DeploymentEvent = serde_json::from_value(body).map_err(bad)?;
            vr.track_deployment(&ev).map(|_| ())
        }
        "build" => {
            let ev: BuildEvent = serde_json::from_value(body).map_err(bad)?;
            vr.track_build(&ev).map(|_| ())
        }
        "approval" => {
            let req: ApprovalRequest = serde_json::from_value(body).map_err(bad)?;
            vr.approve(&req).map(|_| ())
        }
        other => Err(Error::invalid(
            "type",
            format!("`{other}`: expected deployment, build or approval"),
        )),
    }
}

/// Reads a policy file with tests from text.
///
/// # Errors
/// As [`PolicyTests::from_json`]; a syntax error names `policy`.
pub fn parse(text: &str, format: PolicyFormat) -> Result<PolicyTests> {
    PolicyTests::from_json(&PolicyFile::document_value(text, format)?)
}
