//! Concurrency: at most `max` deployments in progress.

use serde_json::{Map, Value};

use super::Needs;
use crate::policy::rule::Parser;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::policy::BlockCode;
use crate::policy::Detail;
use crate::policy::facts::Facts;
use crate::policy::rule::format_duration;
use crate::policy::{Check, rfc3339};
use crate::status::Status;

/// Which open deployments a concurrency rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConcurrencyScope {
    /// Deployments of the same product to the same environment.
    #[default]
    ProductEnvironment,
    /// Deployments of any product to the same environment.
    Environment,
}

/// At most `max` open deployments; those older than `stale_after` stop counting.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcurrencyRule {
    /// The limit (default 1).
    pub max: NonZeroU32,
    /// What is counted.
    pub per: ConcurrencyScope,
    /// Age after which an open deployment is presumed abandoned (default 2 h).
    pub stale_after: Duration,
}

impl ConcurrencyRule {
    pub(crate) const FIELDS: &'static [&'static str] = &["max", "per", "stale_after"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> ConcurrencyRule {
        ConcurrencyRule {
            max: p.count("max", 1),
            per: match p.opt_string("per").as_deref() {
                None | Some("product_environment") => ConcurrencyScope::ProductEnvironment,
                Some("environment") => ConcurrencyScope::Environment,
                Some(other) => {
                    p.push(
                        "per",
                        format!(
                            "unknown value `{other}`; expected product_environment or environment"
                        ),
                    );
                    ConcurrencyScope::ProductEnvironment
                }
            },
            stale_after: p
                .duration("stale_after")
                .unwrap_or(Duration::from_secs(2 * 3600)),
        }
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        m.insert("max".into(), json!(self.max.get()));
        m.insert(
            "per".into(),
            json!(match self.per {
                ConcurrencyScope::ProductEnvironment => "product_environment",
                ConcurrencyScope::Environment => "environment",
            }),
        );
        m.insert(
            "stale_after".into(),
            json!(format_duration(self.stale_after)),
        );
    }

    pub(crate) fn needs(&self, needs: &mut Needs) {
        needs.open_deployments = true;
        needs.open_window = needs.open_window.max(self.stale_after);
    }

    pub(crate) fn evaluate(
        &self,
        _rule_name: &str,
        facts: &Facts,
        at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        evaluate(facts, self.max, self.per, self.stale_after, at, detail)
    }
}

pub(crate) fn evaluate(
    facts: &Facts,
    max: NonZeroU32,
    per: ConcurrencyScope,
    stale_after: Duration,
    at: DateTime<Utc>,
    detail: Detail,
) -> Check {
    let stale = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
    let mut counted: Vec<_> = facts
        .open_deployments
        .iter()
        .filter(|d| d.status == Status::Started)
        .filter(|d| per == ConcurrencyScope::Environment || d.product_name == facts.product)
        // A deployment open now counts unless it is stale at `at` (one that started after a
        // past `at` still counts: it is open).
        .filter(|d| at.signed_duration_since(d.started_at) < stale)
        .collect();
    counted.sort_by_key(|d| d.started_at);
    if (counted.len() as u64) < u64::from(max.get()) {
        return Check::pass(detail, || {
            format!("{} of {} deployment(s) in progress", counted.len(), max)
        });
    }
    let Some(first) = counted.first() else {
        return Check::pass(detail, || "no deployment in progress".into());
    };
    let message = || {
        let what = match per {
            ConcurrencyScope::ProductEnvironment => {
                format!("`{}` to `{}`", facts.product, facts.environment)
            }
            ConcurrencyScope::Environment => format!("`{}`", facts.environment),
        };
        format!(
            "{} deployment(s) to {what} already in progress (the limit is {max}): `{}` {} started at {} \
             (deployment {}); wait for it to finish, or record it as completed, failed or aborted \
             if it was abandoned (it stops counting {} after it started)",
            counted.len(),
            first.product_name,
            first.version,
            rfc3339(first.started_at),
            first.id,
            format_duration(stale_after),
        )
    };
    let others = || -> Vec<Value> {
        counted
            .iter()
            .map(|d| {
                json!({
                    "id": d.id, "product_name": d.product_name, "version": d.version,
                    "status": d.status.as_str(), "started_at": crate::wire::instant::format(&d.started_at),
                })
            })
            .collect()
    };
    Check::fail(detail, BlockCode::ConcurrentDeployment, message)
        .detail("conflicting_deployment_id", || json!(first.id))
        .detail("conflicting_deployment_status", || {
            json!(first.status.as_str())
        })
        .detail("conflicting_deployment_started", || {
            json!(crate::wire::instant::format(&first.started_at))
        })
        .detail("conflicting_product", || json!(first.product_name))
        .detail("conflicting_version", || json!(first.version))
        .detail("in_progress", || json!(counted.len()))
        .detail("max", || json!(max.get()))
        .detail("deployments", || Value::Array(others()))
}
