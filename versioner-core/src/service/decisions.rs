//! Decision records: the violations list, and replaying recorded decisions under a policy.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::decision::{DecisionOutcome, DecisionRecord, ReplayChange, ViolationQuery};
use crate::error::{Error, Result};
use crate::names;
use crate::policy::{self, PolicyFile, Rule};
use crate::store;

use super::Versioner;

/// Rows read per page while filtering.
const PAGE: u32 = 200;

impl Versioner {
    /// The recorded decisions where a rule failed — refused, let through with report-only
    /// failures, or bypassed — newest first, narrowed by `query`.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a limit outside 1–1000 or `until` before `since`; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::policy::{ApplyMode, PolicyFormat};
    /// use versioner_core::{DeploymentEvent, Versioner, ViolationQuery};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.apply_policy_text(r#"
    ///     [[rules]]
    ///     name = "Staging before production"
    ///     type = "flow"
    ///     environments = ["production"]
    ///     prerequisites = ["staging"]
    /// "#, PolicyFormat::Toml, ApplyMode::Replace, "ci")?;
    /// let _ = vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "started"));
    /// let blocked = vr.violations(&ViolationQuery::default())?;
    /// assert_eq!(blocked.len(), 1);
    /// assert_eq!(blocked[0].environment_name, "production");
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn violations(&self, query: &ViolationQuery) -> Result<Vec<DecisionRecord>> {
        let limit = query.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Error::invalid("limit", "must be between 1 and 1000"));
        }
        if let (Some(s), Some(u)) = (query.since, query.until)
            && u < s
        {
            return Err(Error::invalid("until", "is before `since`"));
        }
        let outcomes = match query.outcome {
            Some(o) => vec![o],
            None => vec![
                DecisionOutcome::Blocked,
                DecisionOutcome::Reported,
                DecisionOutcome::Bypassed,
            ],
        };
        let wanted = |d: &DecisionRecord| {
            d.failed_rules().next().is_some()
                && query
                    .rule
                    .as_deref()
                    .is_none_or(|r| d.failed_rules().any(|f| names::same(f, r)))
                && query
                    .product
                    .as_deref()
                    .is_none_or(|p| names::same(&d.product_name, p))
                && query
                    .environment
                    .as_deref()
                    .is_none_or(|e| names::same(&d.environment_name, e))
        };
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = store::read(&*self.store, |tx| {
                tx.decisions(before, query.since, query.until, &outcomes, PAGE)
            })?;
            let Some((last, _)) = page.last() else {
                break;
            };
            before = Some(*last);
            let full = page.len() == PAGE as usize;
            out.extend(page.into_iter().map(|(_, d)| d).filter(wanted));
            if out.len() >= limit as usize || !full {
                break;
            }
        }
        out.truncate(limit as usize);
        Ok(out)
    }

    /// Re-evaluates every decision recorded since `since`, oldest first, against the facts it
    /// was decided on, at the instant it was decided, under `candidate` (or, when `None`, the
    /// policy then in force), and returns those that would now be decided otherwise. With the
    /// policy unchanged the list is empty; before tightening a rule it shows exactly which
    /// past deployments the new rule would have refused.
    ///
    /// A candidate rule needing facts its decisions never gathered (a prerequisite environment
    /// no rule named then) sees them as absent and fails closed.
    ///
    /// # Errors
    /// `INTERNAL` when a recorded policy cannot be read back; `STORAGE`.
    pub fn replay(
        &self,
        since: DateTime<Utc>,
        candidate: Option<&PolicyFile>,
    ) -> Result<Vec<ReplayChange>> {
        let mut decisions = Vec::new();
        let mut before = None;
        loop {
            let page = store::read(&*self.store, |tx| {
                tx.decisions(before, Some(since), None, &[], PAGE)
            })?;
            let Some((last, _)) = page.last() else {
                break;
            };
            before = Some(*last);
            let full = page.len() == PAGE as usize;
            decisions.extend(page.into_iter().map(|(_, d)| d));
            if !full {
                break;
            }
        }
        decisions.reverse();
        let mut policies: HashMap<String, Vec<Rule>> = HashMap::new();
        let mut changes = Vec::new();
        for d in decisions {
            let rules = match candidate {
                Some(p) => p.rules.clone(),
                None => match policies.get(&d.policy_hash) {
                    Some(r) => r.clone(),
                    None => {
                        let stored = store::read(&*self.store, |tx| tx.policy(&d.policy_hash))?
                            .ok_or_else(|| {
                                Error::internal(format!(
                                    "the policy {} of decision {} is missing",
                                    d.policy_hash, d.id
                                ))
                            })?;
                        let rules =
                            PolicyFile::from_json(&serde_json::json!({ "rules": stored }))?.rules;
                        policies.insert(d.policy_hash.clone(), rules.clone());
                        rules
                    }
                },
            };
            let verdict = policy::evaluate(&rules, &d.facts, d.verdict.evaluated_at());
            let now = DecisionOutcome::of(&verdict, d.outcome == DecisionOutcome::Bypassed);
            if now != d.outcome {
                changes.push(ReplayChange {
                    failed_then: d.failed_rules().map(str::to_string).collect(),
                    failed_now: verdict
                        .outcomes()
                        .iter()
                        .filter(|o| o.failed())
                        .map(|o| o.rule_name.clone())
                        .collect(),
                    decision_id: d.id,
                    recorded_at: d.recorded_at,
                    product_name: d.product_name,
                    version: d.version,
                    environment_name: d.environment_name,
                    was: d.outcome,
                    now,
                });
            }
        }
        Ok(changes)
    }
}
