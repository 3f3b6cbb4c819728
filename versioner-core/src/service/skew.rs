//! Skew and stale versions over the deployment ledger (see [`crate::skew`]).

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::{Environment, EnvironmentType};
use crate::policy::{RuleKind, RuleStatus};
use crate::skew::{self, Figures, Skew, SkewAlert, SkewQuery, SkewState, StaleQuery, StaleVersion};
use crate::status::Status;
use crate::store::{self, HistoryFilter, Tx};

use super::{Versioner, find_product, lookup_environment};

/// How many of a product's newest successful deployments to the environment ahead the skew
/// reads: a lag longer than that is measured from the behind version's own deployment.
pub(crate) const SKEW_WINDOW: u32 = 10_000;

fn find_environment(tx: &mut dyn Tx, field: &str, name: &str) -> Result<Environment> {
    if name.trim().is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    lookup_environment(tx, name)?.ok_or_else(|| Error::NotFound {
        kind: "environment",
        name: name.to_string(),
    })
}

/// One product's skew between two environments, as read from the store.
pub(crate) struct Measured {
    /// The version current ahead.
    pub(crate) ahead_version: Option<String>,
    /// The version current behind.
    pub(crate) behind_version: Option<String>,
    /// The figures.
    pub(crate) figures: Figures,
    /// Whether the version asked about has succeeded ahead.
    pub(crate) version_ahead: bool,
}

/// Measures one product's skew (`behind_key` `None`: an environment never recorded, so
/// nothing behind), and whether `version` has already succeeded ahead.
pub(crate) fn measure(
    tx: &mut dyn Tx,
    product_key: i64,
    ahead_key: i64,
    behind_key: Option<i64>,
    version: Option<&str>,
) -> Result<Measured> {
    let successes = tx.history(&HistoryFilter {
        product: Some(product_key),
        environment: Some(ahead_key),
        status: Some(Status::Completed),
        limit: SKEW_WINDOW,
        ..HistoryFilter::default()
    })?;
    let ahead: Vec<(String, DateTime<Utc>)> = successes
        .iter()
        .map(|d| (d.version.clone(), d.completed_at.unwrap_or(d.deployed_at)))
        .collect();
    let behind = match behind_key {
        Some(b) => tx.last_success(product_key, b, None)?,
        None => None,
    };
    // When the version behind never went through the environment ahead, the versions ahead
    // are those that reached it at or after that version was first recorded (a version is
    // newer than one recorded before it).
    let recorded = match &behind {
        Some(d) => tx.version_by_id(&d.version_id)?.map(|v| v.created_at),
        None => None,
    };
    let figures = skew::measure(
        &ahead,
        behind.as_ref().map(|d| {
            let done = d.completed_at.unwrap_or(d.deployed_at);
            (d.version.as_str(), recorded.map_or(done, |r| r.min(done)))
        }),
    );
    Ok(Measured {
        // Newest first: the first success listed is the current version ahead.
        ahead_version: successes.first().map(|d| d.version.clone()),
        behind_version: behind.map(|d| d.version),
        version_ahead: version.is_some_and(|v| ahead.iter().any(|(a, _)| a == v)),
        figures,
    })
}

impl Versioner {
    /// How far `query.behind` runs behind `query.ahead` for a product, or for every product
    /// deployed to either; see [`crate::skew`] for the definitions. Products not behind are
    /// listed too (with `versions_behind` 0), sorted by name.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a blank or identical pair of environments; `NOT_FOUND` for an
    /// unknown product or environment; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::skew::SkewQuery;
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// for (v, env) in [("1.0", "staging"), ("1.0", "production"), ("1.1", "staging"), ("1.2", "staging")] {
    ///     vr.track_deployment(&DeploymentEvent::new("api", v, env, "completed"))?;
    /// }
    /// let skew = vr.skew(&SkewQuery::new("staging", "production"))?;
    /// assert_eq!(skew[0].versions_behind, 2);
    /// assert_eq!(skew[0].versions, ["1.1", "1.2"]);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn skew(&self, query: &SkewQuery) -> Result<Vec<Skew>> {
        let now = self.now();
        store::read(&*self.store, |tx| {
            let ahead = find_environment(tx, "ahead", &query.ahead)?;
            let behind = find_environment(tx, "behind", &query.behind)?;
            if ahead.key == behind.key {
                return Err(Error::invalid(
                    "behind",
                    format!("is the same environment as ahead (`{}`)", ahead.name),
                ));
            }
            let products = match &query.product {
                Some(p) => vec![find_product(tx, p)?],
                None => {
                    let pairs = tx.pairs()?;
                    let mut all = tx.products()?;
                    all.retain(|p| {
                        pairs.iter().any(|(pp, pe)| {
                            pp.key == p.key && (pe.key == ahead.key || pe.key == behind.key)
                        })
                    });
                    all
                }
            };
            let mut out = Vec::new();
            for p in products {
                let m = measure(tx, p.key, ahead.key, Some(behind.key), None)?;
                out.push(Skew::new(
                    &p.name,
                    (&ahead.name, &behind.name),
                    (m.ahead_version, m.behind_version),
                    m.figures,
                    now,
                ));
            }
            out.sort_by(|x, y| x.product_name.cmp(&y.product_name));
            Ok(out)
        })
    }

    /// The versions current in `query.environment` for longer than `query.older_than_seconds`
    /// that never reached any of `query.promoted_to` successfully (by default every
    /// environment of type `production`), oldest first.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a blank environment, a zero threshold, or no environment to be
    /// promoted to; `NOT_FOUND` for an unknown environment; `STORAGE`.
    pub fn stale(&self, query: &StaleQuery) -> Result<Vec<StaleVersion>> {
        if query.older_than_seconds == 0 {
            return Err(Error::invalid("older_than", "must be longer than 0s"));
        }
        let now = self.now();
        let threshold = i64::try_from(query.older_than_seconds)
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .ok_or_else(|| Error::invalid("older_than", "is too long"))?;
        store::read(&*self.store, |tx| {
            let env = find_environment(tx, "environment", &query.environment)?;
            let targets: Vec<Environment> = if query.promoted_to.is_empty() {
                tx.environments()?
                    .into_iter()
                    .filter(|e| e.env_type == EnvironmentType::Production && e.key != env.key)
                    .collect()
            } else {
                query
                    .promoted_to
                    .iter()
                    .map(|n| find_environment(tx, "promoted_to", n))
                    .collect::<Result<_>>()?
            };
            if targets.is_empty() {
                return Err(Error::invalid(
                    "promoted_to",
                    "names no environment: there is no environment of type production; name one",
                ));
            }
            let pairs = tx.pairs()?;
            let mut out = Vec::new();
            for p in tx.products()? {
                if !pairs
                    .iter()
                    .any(|(pp, pe)| pp.key == p.key && pe.key == env.key)
                {
                    continue;
                }
                let Some(current) = tx.last_success(p.key, env.key, None)? else {
                    continue;
                };
                let at = current.completed_at.unwrap_or(current.deployed_at);
                if now - at <= threshold {
                    continue;
                }
                let Some(version) = tx.version(&p, &current.version)? else {
                    continue;
                };
                let mut missing = Vec::new();
                for t in &targets {
                    let stint =
                        tx.stint(p.key, version.key, t.key, crate::event::last_recordable())?;
                    if stint.first_success_at.is_none() {
                        missing.push(t.name.clone());
                    }
                }
                if missing.len() == targets.len() {
                    out.push(StaleVersion::new(
                        &p.name,
                        &current.version,
                        &env.name,
                        at,
                        now,
                        missing,
                    ));
                }
            }
            out.sort_by_key(|s| s.deployed_at);
            Ok(out)
        })
    }

    /// The products at or over the limit of a `max_skew` rule (enabled or report-only) now:
    /// for each rule, each environment in its scope (ahead) and each product deployed there,
    /// the skew of the rule's `behind` environment when it is `max_versions` or more versions
    /// behind, or behind for longer than `max_age`. Sorted by rule, then product.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn skew_alerts(&self) -> Result<Vec<SkewAlert>> {
        let now = self.now();
        let rules: Vec<_> = self
            .rules()?
            .into_iter()
            .filter(|r| matches!(r.rule.kind, RuleKind::MaxSkew(_)))
            .collect();
        // No max_skew rule (the common case): nothing to read, on every dashboard load.
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        store::read(&*self.store, |tx| {
            let pairs = tx.pairs()?;
            let mut out = Vec::new();
            for stored in &rules {
                let rule = &stored.rule;
                let RuleKind::MaxSkew(k) = &rule.kind else {
                    continue;
                };
                if rule.status == RuleStatus::Disabled {
                    continue;
                }
                let behind = lookup_environment(tx, &k.behind).ok().flatten();
                for (p, ahead) in &pairs {
                    if !rule.scope.matches(&p.name, &ahead.name, ahead.env_type)
                        || behind.as_ref().is_some_and(|b| b.key == ahead.key)
                    {
                        continue;
                    }
                    let m = measure(tx, p.key, ahead.key, behind.as_ref().map(|b| b.key), None)?;
                    let s = Skew::new(
                        &p.name,
                        (&ahead.name, behind.as_ref().map_or(&k.behind, |b| &b.name)),
                        (m.ahead_version, m.behind_version),
                        m.figures,
                        now,
                    );
                    let over_age = k.max_age.is_some_and(|max| {
                        s.behind_since.is_some()
                            && u64::try_from(s.seconds_behind).unwrap_or(0) > max.as_secs()
                    });
                    let state = match k.max_versions {
                        Some(max) if s.versions_behind > max => Some(SkewState::Exceeded),
                        _ if over_age => Some(SkewState::Exceeded),
                        Some(max) if s.versions_behind == max => Some(SkewState::AtLimit),
                        _ => None,
                    };
                    if let Some(state) = state {
                        out.push(SkewAlert {
                            rule_name: rule.name.clone(),
                            rule_status: rule.status,
                            state,
                            max_versions: k.max_versions,
                            max_age_seconds: k.max_age.map(|d| d.as_secs()),
                            skew: s,
                        });
                    }
                }
            }
            Ok(out)
        })
    }
}
