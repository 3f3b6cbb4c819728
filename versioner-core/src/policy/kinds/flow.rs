//! Flow: prerequisite environments, strict order and soak time.

use serde_json::Map;

use super::Needs;
use crate::policy::rule::Parser;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::policy::BlockCode;
use crate::policy::Detail;
use crate::policy::facts::Facts;
use crate::policy::rule::format_duration;
use crate::policy::{Check, rfc3339};

/// The version must first succeed in each prerequisite environment.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRule {
    /// The prerequisite environments.
    pub prerequisites: Vec<String>,
    /// Whether the prerequisites must have been reached in the listed order.
    pub strict_order: bool,
    /// How long the version must have run in each prerequisite, not superseded.
    pub soak: Option<Duration>,
}

impl FlowRule {
    pub(crate) const FIELDS: &'static [&'static str] = &["prerequisites", "strict_order", "soak"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> FlowRule {
        let prerequisites = p.names("prerequisites");
        if prerequisites.is_empty() {
            p.push("prerequisites", "must list at least one environment".into());
        }
        FlowRule {
            prerequisites,
            strict_order: p.boolean("strict_order"),
            soak: p.duration("soak"),
        }
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        m.insert("prerequisites".into(), json!(self.prerequisites));
        m.insert("strict_order".into(), json!(self.strict_order));
        if let Some(s) = self.soak {
            m.insert("soak".into(), json!(format_duration(s)));
        }
    }

    pub(crate) fn needs(&self, needs: &mut Needs) {
        let mut seen: std::collections::HashSet<String> = needs.stints.iter().cloned().collect();
        for env in &self.prerequisites {
            if seen.insert(env.clone()) {
                needs.stints.push(env.clone());
            }
        }
    }

    pub(crate) fn evaluate(
        &self,
        _rule_name: &str,
        facts: &Facts,
        at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        evaluate(
            facts,
            &self.prerequisites,
            self.strict_order,
            self.soak,
            at,
            detail,
        )
    }
}

pub(crate) fn evaluate(
    facts: &Facts,
    prerequisites: &[String],
    strict_order: bool,
    soak: Option<Duration>,
    at: DateTime<Utc>,
    detail: Detail,
) -> Check {
    let full = detail == Detail::Full;
    let version = || format!("`{}` {}", facts.product, facts.version);
    let first = |env: &String| facts.stints.get(env).and_then(|s| s.first_success_at);
    let missing: Vec<&String> = prerequisites
        .iter()
        .filter(|e| first(e).is_none())
        .collect();
    if !missing.is_empty() {
        return Check::fail(detail, BlockCode::FlowViolation, || {
            format!(
                "{} has not been deployed successfully to {}; deploy it there before `{}`",
                version(),
                join(&missing),
                facts.environment
            )
        })
        .detail("required_environments", || json!(prerequisites))
        .detail("missing_environments", || json!(missing));
    }
    if strict_order {
        let mut reached: Vec<(&String, DateTime<Utc>)> = prerequisites
            .iter()
            .filter_map(|e| first(e).map(|t| (e, t)))
            .collect();
        reached.sort_by_key(|(_, t)| *t);
        let actual: Vec<&String> = reached.iter().map(|(e, _)| *e).collect();
        let expected: Vec<&String> = prerequisites.iter().collect();
        if actual != expected {
            return Check::fail(detail, BlockCode::FlowViolation, || {
                format!(
                    "{} reached its prerequisite environments in the order {}, but the rule \
                     requires {}; redeploy it through them in that order",
                    version(),
                    join_arrow(&actual),
                    join_arrow(&expected)
                )
            })
            .detail("required_order", || json!(expected))
            .detail("actual_order", || json!(actual));
        }
    }
    let Some(soak) = soak else {
        return Check::pass(detail, || {
            format!(
                "{} has been deployed to {}",
                version(),
                join(&prerequisites.iter().collect::<Vec<_>>())
            )
        });
    };
    let soak_c = chrono::Duration::from_std(soak).unwrap_or(chrono::Duration::MAX);
    let mut short: Vec<Value> = Vec::new();
    let mut retry: Option<DateTime<Utc>> = None;
    let mut clearable = true;
    let mut sentences = Vec::new();
    for env in prerequisites {
        let Some(stint) = facts.stints.get(env) else {
            continue;
        };
        let Some(since) = stint.last_success_at else {
            continue;
        };
        let until = stint.superseded.as_ref().map_or(at, |(t, _)| (*t).min(at));
        let ran = until
            .signed_duration_since(since)
            .max(chrono::Duration::zero());
        if ran >= soak_c {
            continue;
        }
        let ran_std = ran.to_std().unwrap_or_default();
        // Durations are bounded at parse time; this saturates only at the very end of the
        // representable range.
        let ends = since
            .checked_add_signed(soak_c)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let replaced = stint.superseded.as_ref().filter(|(when, _)| *when <= at);
        if replaced.is_some() {
            clearable = false;
        } else {
            retry = Some(retry.map_or(ends, |r| r.max(ends)));
        }
        // The rest explains the shortfall; a decision needs only `clearable` and `retry`.
        if !full {
            short.push(Value::Null);
            continue;
        }
        let mut entry = json!({
            "environment": env,
            "deployed_at": crate::wire::instant::format(&since),
            "soaked": format_duration(ran_std),
            "required": format_duration(soak),
        });
        if let Some((when, by)) = replaced {
            entry["superseded_by"] = json!(by);
            entry["superseded_at"] = json!(crate::wire::instant::format(when));
            sentences.push(format!(
                "it ran in `{env}` for only {} before {by} replaced it at {}; redeploy it to `{env}` and let it soak {}",
                format_duration(ran_std),
                rfc3339(*when),
                format_duration(soak)
            ));
        } else {
            let remaining = ends.signed_duration_since(at).to_std().unwrap_or_default();
            entry["soak_ends_at"] = json!(crate::wire::instant::format(&ends));
            entry["remaining"] = json!(format_duration(remaining));
            sentences.push(format!(
                "it has soaked in `{env}` for {} of the required {} (until {})",
                format_duration(ran_std),
                format_duration(soak),
                rfc3339(ends)
            ));
        }
        short.push(entry);
    }
    if short.is_empty() {
        return Check::pass(detail, || {
            format!(
                "{} has soaked at least {} in {}",
                version(),
                format_duration(soak),
                join(&prerequisites.iter().collect::<Vec<_>>())
            )
        });
    }
    let mut c = Check::fail(detail, BlockCode::InsufficientSoakTime, || {
        format!(
            "{} has not soaked long enough: {}",
            version(),
            sentences.join("; ")
        )
    })
    .detail("soak_required", || json!(format_duration(soak)))
    .detail("environments", || Value::Array(short));
    c.retry_after = if clearable { retry } else { None };
    c
}

fn join(envs: &[&String]) -> String {
    envs.iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_arrow(envs: &[&String]) -> String {
    envs.iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(" → ")
}
