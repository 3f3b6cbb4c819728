//! Insights: the four keys over the deployment ledger (see [`crate::insights`]).

use crate::error::{Error, Result};
use crate::insights::{self, DoraQuery, DoraReport};
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
            let mut deployments = Vec::new();
            for env in &environments {
                deployments
                    .extend(tx.finished_deployments(product.as_ref().map(|p| p.key), env.key)?);
            }
            let names = environments.into_iter().map(|e| e.name).collect();
            Ok(insights::report(&deployments, query, names))
        })
    }
}
