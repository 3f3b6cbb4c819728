//! Skew: how far one environment runs behind another for a product, and versions left waiting
//! in an environment without being promoted.
//!
//! # Definitions
//! - **Versions behind.** For product P, environment B (behind) against environment A
//!   (ahead): the distinct versions whose *first* successful deployment to A came at or after
//!   the moment B's current version was first deployed successfully to A (or, when it never
//!   went through A, the moment it was first recorded anywhere), B's own version excluded. With nothing
//!   deployed to B, every version deployed to A counts.
//! - **Behind since.** The first successful deployment to A of the oldest of those versions:
//!   from then on B has lagged. `seconds_behind` is the time from then to the instant of the
//!   answer; zero when B is not behind.
//! - **Stale.** A product's current version in an environment that has been there longer
//!   than a threshold and was never deployed successfully to any of the environments it should
//!   be promoted to (by default every environment of type `production`).
//!
//! The rule kind `max_skew` ([`MaxSkewRule`](crate::policy::MaxSkewRule)) applies the first two to a deployment
//! to A: it refuses one that would leave B more versions or longer behind than allowed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A product's successful deployments to the environment ahead, as the skew reads them: each
/// version with the instant of its first success there.
pub type FirstSuccesses = Vec<(String, DateTime<Utc>)>;

/// What [`measure`] finds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// The versions ahead, oldest first.
    pub versions: Vec<String>,
    /// When the lag began (the first of `versions` reached the environment ahead).
    pub behind_since: Option<DateTime<Utc>>,
}

/// The skew of the environment behind, given the versions of the environment ahead with their
/// first successes there (any order) and the version current behind with the instant to count
/// from when it never reached the environment ahead (when it was first recorded).
pub fn measure(
    ahead: &[(String, DateTime<Utc>)],
    behind: Option<(&str, DateTime<Utc>)>,
) -> Figures {
    let mut first: Vec<(&str, DateTime<Utc>)> = Vec::new();
    for (v, at) in ahead {
        match first.iter_mut().find(|(seen, _)| *seen == v.as_str()) {
            Some(entry) if *at < entry.1 => entry.1 = *at,
            Some(_) => {}
            None => first.push((v.as_str(), *at)),
        }
    }
    first.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    let cutoff = behind.map(|(version, deployed_at)| {
        first
            .iter()
            .find(|(v, _)| *v == version)
            .map_or(deployed_at, |(_, at)| *at)
    });
    let versions: Vec<(&str, DateTime<Utc>)> = first
        .into_iter()
        .filter(|(v, at)| {
            // At or after: a version that reached the environment ahead in the same instant
            // as the one behind did is not behind it.
            behind.is_none_or(|(b, _)| *v != b) && cutoff.is_none_or(|c| *at >= c)
        })
        .collect();
    Figures {
        behind_since: versions.first().map(|(_, at)| *at),
        versions: versions.into_iter().map(|(v, _)| v.to_string()).collect(),
    }
}

/// What to measure: one environment against another, for a product or every product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[non_exhaustive]
pub struct SkewQuery {
    /// Only this product (every product deployed to either environment when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The environment ahead (`staging`).
    pub ahead: String,
    /// The environment behind (`production`).
    pub behind: String,
}

impl SkewQuery {
    /// `behind` measured against `ahead`, for every product.
    pub fn new(ahead: impl Into<String>, behind: impl Into<String>) -> SkewQuery {
        SkewQuery {
            product: None,
            ahead: ahead.into(),
            behind: behind.into(),
        }
    }

    /// Only this product.
    #[must_use]
    pub fn product(mut self, product: impl Into<String>) -> SkewQuery {
        self.product = Some(product.into());
        self
    }
}

/// How far one environment runs behind another for one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Skew {
    /// The product.
    pub product_name: String,
    /// The environment ahead.
    pub ahead: String,
    /// The environment behind.
    pub behind: String,
    /// The version current ahead, if any.
    pub ahead_version: Option<String>,
    /// The version current behind, if any.
    pub behind_version: Option<String>,
    /// How many versions the environment behind lacks (see the module's definitions).
    pub versions_behind: u32,
    /// Those versions, oldest first (at most 100 listed).
    pub versions: Vec<String>,
    /// When the lag began; `null` when not behind.
    #[serde(with = "crate::wire::instant::option")]
    pub behind_since: Option<DateTime<Utc>>,
    /// Seconds from `behind_since` to the answer's instant (0 when not behind).
    pub seconds_behind: i64,
}

impl Skew {
    /// The skew of `product` from its figures, at `at`.
    pub(crate) fn new(
        product: &str,
        query: (&str, &str),
        current: (Option<String>, Option<String>),
        figures: Figures,
        at: DateTime<Utc>,
    ) -> Skew {
        Skew {
            product_name: product.to_string(),
            ahead: query.0.to_string(),
            behind: query.1.to_string(),
            ahead_version: current.0,
            behind_version: current.1,
            versions_behind: u32::try_from(figures.versions.len()).unwrap_or(u32::MAX),
            seconds_behind: figures
                .behind_since
                .map_or(0, |since| (at - since).num_seconds().max(0)),
            behind_since: figures.behind_since,
            versions: figures.versions.into_iter().take(100).collect(),
        }
    }
}

/// What to look for: versions waiting in an environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct StaleQuery {
    /// The environment the versions wait in (`staging`).
    pub environment: String,
    /// How long a version may wait there, in seconds.
    pub older_than_seconds: u64,
    /// Where it should have gone (every environment of type `production` when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promoted_to: Vec<String>,
}

impl StaleQuery {
    /// Versions current in `environment` for longer than `older_than`.
    pub fn new(environment: impl Into<String>, older_than: std::time::Duration) -> StaleQuery {
        StaleQuery {
            environment: environment.into(),
            older_than_seconds: older_than.as_secs(),
            promoted_to: Vec::new(),
        }
    }
}

/// A version waiting in an environment without being promoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct StaleVersion {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment it waits in.
    pub environment_name: String,
    /// When its current deployment there finished.
    #[serde(with = "crate::wire::instant")]
    pub deployed_at: DateTime<Utc>,
    /// Seconds it has waited, to the answer's instant.
    pub seconds_waiting: i64,
    /// The environments it never reached successfully.
    pub not_promoted_to: Vec<String>,
}

impl StaleVersion {
    /// A stale version from its parts.
    pub(crate) fn new(
        product: &str,
        version: &str,
        environment: &str,
        deployed_at: DateTime<Utc>,
        at: DateTime<Utc>,
        not_promoted_to: Vec<String>,
    ) -> StaleVersion {
        StaleVersion {
            product_name: product.to_string(),
            version: version.to_string(),
            environment_name: environment.to_string(),
            deployed_at,
            seconds_waiting: (at - deployed_at).num_seconds().max(0),
            not_promoted_to,
        }
    }
}

/// How a product stands against a `max_skew` rule (see [`Versioner::skew_alerts`]).
///
/// [`Versioner::skew_alerts`]: crate::Versioner::skew_alerts
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkewState {
    /// Exactly `max_versions` behind: the next new version ahead is refused (or, report-only,
    /// alerted).
    AtLimit,
    /// More than `max_versions` behind, or behind for longer than `max_age`.
    Exceeded,
}

/// A product at or over a `max_skew` rule's limit, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct SkewAlert {
    /// The rule.
    pub rule_name: String,
    /// Whether the rule blocks (`enabled`) or only reports (`report_only`).
    pub rule_status: crate::policy::RuleStatus,
    /// How far it stands.
    pub state: SkewState,
    /// The rule's `max_versions`, if any.
    pub max_versions: Option<u32>,
    /// The rule's `max_age` in seconds, if any.
    pub max_age_seconds: Option<u64>,
    /// The skew measured.
    pub skew: Skew,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
    }

    fn ahead(list: &[(&str, u32)]) -> Vec<(String, DateTime<Utc>)> {
        list.iter()
            .map(|(v, d)| ((*v).to_string(), t(*d)))
            .collect()
    }

    #[test]
    fn counts_versions_first_deployed_ahead_after_the_one_behind() {
        // staging: 1.0 (day 1), 1.1 (day 3), 1.2 (day 5), 1.1 again (day 6); production: 1.0.
        let a = ahead(&[("1.0", 1), ("1.1", 3), ("1.2", 5), ("1.1", 6)]);
        let f = measure(&a, Some(("1.0", t(2))));
        assert_eq!(f.versions, ["1.1", "1.2"]);
        assert_eq!(f.behind_since, Some(t(3)));
        // Production caught up with 1.1: one behind, since 1.2 arrived.
        let f = measure(&a, Some(("1.1", t(7))));
        assert_eq!(f.versions, ["1.2"]);
        assert_eq!(f.behind_since, Some(t(5)));
        // Production runs the newest: not behind.
        assert_eq!(measure(&a, Some(("1.2", t(8)))), Figures::default());
        // Nothing in production: everything in staging is ahead.
        assert_eq!(measure(&a, None).versions, ["1.0", "1.1", "1.2"]);
        // Production runs a version that never went through staging (a hotfix on day 4):
        // what reached staging after it counts.
        let f = measure(&a, Some(("1.1-hotfix", t(4))));
        assert_eq!(f.versions, ["1.2"]);
        // Nothing ahead.
        assert_eq!(measure(&[], Some(("1.0", t(1)))), Figures::default());
    }

    #[test]
    fn equal_instants_order_by_name() {
        let a = ahead(&[("b", 2), ("a", 2)]);
        assert_eq!(measure(&a, None).versions, ["a", "b"]);
    }

    proptest::proptest! {
        /// Whatever the history: the versions ahead are distinct, never the one behind, in
        /// the order they first reached the environment ahead, and `behind_since` is the
        /// first one's arrival.
        #[test]
        fn figures_hold_their_invariants(
            deps in proptest::collection::vec((0u8..6, 1u32..28), 0..30),
            behind in proptest::option::of((0u8..7, 1u32..28)),
        ) {
            let a: Vec<(String, DateTime<Utc>)> =
                deps.iter().map(|(v, d)| (format!("v{v}"), t(*d))).collect();
            let b = behind.map(|(v, d)| (format!("v{v}"), t(d)));
            let f = measure(&a, b.as_ref().map(|(v, d)| (v.as_str(), *d)));
            let mut seen = std::collections::HashSet::new();
            for v in &f.versions {
                proptest::prop_assert!(seen.insert(v.clone()));
                proptest::prop_assert!(b.as_ref().is_none_or(|(bv, _)| bv != v));
            }
            let first = |v: &str| a.iter().filter(|(x, _)| x == v).map(|(_, d)| *d).min();
            let arrivals: Vec<_> = f.versions.iter().map(|v| first(v).unwrap()).collect();
            proptest::prop_assert!(arrivals.windows(2).all(|w| w[0] <= w[1]));
            proptest::prop_assert_eq!(f.behind_since, arrivals.first().copied());
            if b.is_none() {
                let distinct: std::collections::HashSet<_> = a.iter().map(|(v, _)| v).collect();
                proptest::prop_assert_eq!(f.versions.len(), distinct.len());
            }
        }
    }
}
