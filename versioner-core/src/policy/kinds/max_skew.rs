//! Max skew: another environment may not fall too many versions, or too long, behind this
//! one (see [`crate::skew`] for how the lag is measured).
//!
//! Checked on deployments to the environment ahead (the rule's scope): one that would add a
//! version ahead of an environment already `max_versions` behind, or while it has been behind
//! for longer than `max_age`, is refused with `FLOW_VIOLATION` until the environment behind is
//! promoted. A redeploy of a version already there adds nothing and passes. In report-only
//! mode the rule is an alert: the deployment goes ahead with a warning and a `skew.exceeded`
//! event is written.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::Needs;
use crate::policy::Detail;
use crate::policy::facts::Facts;
use crate::policy::rule::{Parser, format_duration, humanize_duration};
use crate::policy::{BlockCode, Check, rfc3339};

/// The environment `behind` may not fall more than `max_versions` versions or `max_age`
/// behind the rule's environments.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxSkewRule {
    /// The environment kept from falling behind (`production`).
    pub behind: String,
    /// How many versions it may lack.
    pub max_versions: Option<u32>,
    /// How long it may lag.
    pub max_age: Option<Duration>,
}

impl MaxSkewRule {
    pub(crate) const FIELDS: &'static [&'static str] = &["behind", "max_versions", "max_age"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> MaxSkewRule {
        let behind = p.opt_string("behind").unwrap_or_default();
        if behind.is_empty() {
            p.push(
                "behind",
                "is required: the environment that may not fall behind, e.g. \"production\"".into(),
            );
        }
        let max_versions = p
            .obj
            .get("max_versions")
            .is_some_and(|v| !v.is_null())
            .then(|| p.count("max_versions", 1).get());
        let max_age = p.duration("max_age");
        if max_versions.is_none() && max_age.is_none() && !p.obj.contains_key("max_age") {
            p.push(
                "max_versions",
                "give max_versions, max_age or both (e.g. max_versions = 5, max_age = \"14d\")"
                    .into(),
            );
        }
        MaxSkewRule {
            behind,
            max_versions,
            max_age,
        }
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        m.insert("behind".into(), json!(self.behind));
        if let Some(n) = self.max_versions {
            m.insert("max_versions".into(), json!(n));
        }
        if let Some(d) = self.max_age {
            m.insert("max_age".into(), json!(format_duration(d)));
        }
    }

    pub(crate) fn needs(&self, needs: &mut Needs) {
        if !needs.skew_behind.contains(&self.behind) {
            needs.skew_behind.push(self.behind.clone());
        }
    }

    pub(crate) fn evaluate(
        &self,
        _rule_name: &str,
        facts: &Facts,
        at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        let behind = &self.behind;
        let ahead = &facts.environment;
        let s = facts.skew.get(behind).cloned().unwrap_or_default();
        let runs = s
            .behind_version
            .as_deref()
            .map_or_else(|| "nothing".to_string(), |v| format!("runs {v}"));
        let adds = !s.version_already_ahead
            && s.behind_version.as_deref() != Some(facts.version.as_str())
            && !s.versions.contains(&facts.version);
        let count = s.versions.len() + usize::from(adds);
        let with_facts = |c: Check| {
            c.detail("behind", || json!(behind))
                .detail("behind_version", || json!(s.behind_version))
                .detail("versions_behind", || json!(count))
                .detail("versions", || json!(s.versions))
                .detail("behind_since", || json!(s.behind_since.map(rfc3339)))
        };
        if adds {
            if let Some(max) = self.max_versions
                && count > max as usize
            {
                return with_facts(Check::fail(detail, BlockCode::FlowViolation, || {
                    format!(
                        "deploying `{}` {} to `{ahead}` would leave `{behind}` {count} versions \
                         behind (at most {max}; it {runs}); promote to `{behind}` first",
                        facts.product, facts.version
                    )
                }))
                .detail("max_versions", || json!(max));
            }
            if let (Some(max), Some(since)) = (self.max_age, s.behind_since) {
                let lag = (at - since).to_std().unwrap_or_default();
                if lag > max {
                    return with_facts(Check::fail(detail, BlockCode::FlowViolation, ||
                        format!(
                            "`{behind}` has been behind `{ahead}` for `{}` since {} ({}; at most {}; \
                             it {runs}); promote to `{behind}` before deploying a new version to \
                             `{ahead}`",
                            facts.product,
                            rfc3339(since),
                            humanize_duration(lag),
                            humanize_duration(max)
                        )))
                    .detail("max_age", || json!(format_duration(max)));
                }
            }
        }
        with_facts(Check::pass(detail, || {
            format!(
                "`{behind}` would be {count} version{} behind `{ahead}` for `{}`",
                if count == 1 { "" } else { "s" },
                facts.product
            )
        }))
    }
}
