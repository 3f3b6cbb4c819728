//! Insights: the four keys over the deployment ledger (see [`crate::insights`]).

use crate::error::{Error, Result};
use crate::insights::rollup::{DayCount, DayPlan, Rollup, lead_seconds};
use crate::insights::{self, DoraQuery, DoraReport, RollbackDefinition};
use crate::model::EnvironmentType;
use crate::store;

use super::{Versioner, find_product};

impl Versioner {
    /// The four keys (deployment frequency, lead time for changes, change failure rate, time
    /// to restore) of a product (or every product) in a set of environments (by default every
    /// environment of type production) over `[since, until)`, with their DORA bands and the
    /// definitions used; see [`crate::insights`] for the definitions.
    ///
    /// # Errors
    /// `INVALID_INPUT` for an empty or inverted range or too long a series; `NOT_FOUND` for an
    /// unknown product or environment; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use versioner_core::insights::DoraQuery;
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// let mut e = DeploymentEvent::new("api", "1.0.0", "production", "completed");
    /// e.completed_at = Some("2026-11-02T12:00:00Z".into());
    /// vr.track_deployment(&e)?;
    /// let q = DoraQuery::new(
    ///     Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap(),
    /// );
    /// let report = vr.dora(&q)?;
    /// assert_eq!(report.deployment_frequency.count, 1);
    /// assert_eq!(report.deployment_frequency.per_day, 0.5);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn dora(&self, query: &DoraQuery) -> Result<DoraReport> {
        self.dora_from(query, false)
    }

    /// [`Versioner::dora`] computed from the whole ledger rather than the rollups, whatever the
    /// definitions: the reference the rollups are tested and benchmarked against.
    ///
    /// # Errors
    /// As [`Versioner::dora`].
    #[doc(hidden)]
    pub fn dora_from_ledger(&self, query: &DoraQuery) -> Result<DoraReport> {
        self.dora_from(query, true)
    }

    fn dora_from(&self, query: &DoraQuery, from_ledger: bool) -> Result<DoraReport> {
        query.validated()?;
        store::read(&*self.store, |tx| {
            let product = match &query.product {
                Some(name) => Some(find_product(tx, name)?),
                None => None,
            };
            let environments = if query.environments.is_empty() {
                tx.environments()?
                    .into_iter()
                    .filter(|e| e.env_type == EnvironmentType::Production)
                    .collect()
            } else {
                let mut found = Vec::new();
                for name in &query.environments {
                    let env = tx.environment(name)?.ok_or_else(|| Error::NotFound {
                        kind: "environment",
                        name: name.clone(),
                    })?;
                    if !found
                        .iter()
                        .any(|f: &crate::model::Environment| f.key == env.key)
                    {
                        found.push(env);
                    }
                }
                found
            };
            let names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();
            let product_key = product.as_ref().map(|p| p.key);
            let scope: Vec<i64> = environments.iter().map(|e| e.key).collect();
            if from_ledger || query.rollbacks == RollbackDefinition::FailureOfReplaced {
                // Rollbacks need each success's predecessor: read the ledger.
                let mut deployments = Vec::new();
                for env in &scope {
                    deployments.extend(tx.finished_deployments(product_key, *env)?);
                }
                return Ok(insights::report(&deployments, query, names));
            }
            let rollup = read_rollup(tx, product_key, &scope, query)?;
            Ok(insights::report_from(&rollup, query, names))
        })
    }
}

/// The rollups `query` reads over the environments of `scope` (see
/// [`crate::insights::rollup`]).
fn read_rollup(
    tx: &mut dyn store::Tx,
    product_key: Option<i64>,
    scope: &[i64],
    query: &DoraQuery,
) -> Result<Rollup> {
    let (since, until) = (query.since, query.until);
    let plan = DayPlan::new(since, until, &insights::boundaries(query));
    let spans = plan.cut_spans(since, until);
    let mut rollup = Rollup::default();
    for env in scope {
        if plan.from < plan.to {
            rollup
                .days
                .extend(tx.dora_days(product_key, *env, plan.from, plan.to)?);
        }
        for (a, b) in &spans {
            rollup
                .edges
                .extend(tx.finished_between(product_key, *env, *a, *b)?);
        }
        rollup
            .failures
            .extend(tx.dora_failures(product_key, *env, since, until)?);
    }
    rollup.leads = tx
        .dora_firsts(product_key, scope, since, until)?
        .into_iter()
        .map(|(first, start)| (first, lead_seconds(first, start)))
        .collect();
    // One environment's day counts per day: several environments' add up.
    let mut days: std::collections::BTreeMap<chrono::NaiveDate, DayCount> = Default::default();
    for d in rollup.days.drain(..) {
        let e = days.entry(d.day).or_insert(DayCount {
            day: d.day,
            successes: 0,
            failures: 0,
        });
        e.successes += d.successes;
        e.failures += d.failures;
    }
    rollup.days = days.into_values().collect();
    Ok(rollup.normalized(&plan))
}
