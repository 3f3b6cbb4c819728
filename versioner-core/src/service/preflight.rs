//! The preflight: the facts a verdict needs, and the dry-run check.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::event::CheckRequest;
use crate::model::{Environment, Product, Version};
use crate::policy::{self, Facts, Needs, Rule, RuleStatus, Verdict};
use crate::store::{self, Tx};

use super::Versioner;

impl Versioner {
    /// Evaluates the preflight for a would-be deployment without recording anything, at the
    /// request's `at` or now. The verdict's `retry_after` says when time alone would clear it.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::policy::{ApplyMode, PolicyFormat};
    /// use versioner_core::{CheckRequest, Decision, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.apply_policy_text(r#"
    ///     [[rules]]
    ///     name = "Staging before production"
    ///     type = "flow"
    ///     environments = ["production"]
    ///     prerequisites = ["staging"]
    /// "#, PolicyFormat::Toml, ApplyMode::Replace, "ci")?;
    /// let verdict = vr.check(&CheckRequest::new("api", "1.2.0", "production"))?;
    /// assert_eq!(verdict.decision(), Decision::Blocked);
    /// assert_eq!(verdict.http_status(), Some(428));
    /// assert_eq!(verdict.outcomes().len(), 1);   // every applicable rule's outcome
    /// assert!(vr.history(&Default::default())?.is_empty());  // nothing recorded
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn check(&self, request: &CheckRequest) -> Result<Verdict> {
        let req = request.validate()?;
        let at = req.at.unwrap_or_else(|| self.now());
        let principal = self.acting()?.principal;
        store::read(&*self.store, |tx| {
            let rules: Vec<Rule> = tx.rules()?.into_iter().map(|r| r.rule).collect();
            let target = Target::find(tx, &req.product, &req.version, &req.environment)?;
            // A check at a past instant sees the history as it had been recorded by then; one
            // with no instant is live (comparing its `at` with a later reading of the clock
            // made every live check an as-of one, reading a window of history).
            let as_of = req.at.filter(|at| *at < self.now());
            let mut facts =
                gather_facts(tx, &rules, &target, req.deployed_by.as_deref(), None, as_of)?;
            // The caller never counts as a release approver of a deployment they would make.
            facts.principal = principal;
            Ok(policy::evaluate(&rules, &facts, at))
        })
    }
}

/// The product, version and environment a deployment or check names, where recorded.
pub(super) struct Target {
    pub(super) product_name: String,
    pub(super) version_name: String,
    pub(super) environment_name: String,
    pub(super) product: Option<Product>,
    pub(super) version: Option<Version>,
    pub(super) environment: Option<Environment>,
}

impl Target {
    pub(super) fn find(
        tx: &mut dyn Tx,
        product: &str,
        version: &str,
        environment: &str,
    ) -> Result<Target> {
        let p = super::lookup_product(tx, product)?;
        let v = match &p {
            Some(p) => tx.version(p, version)?,
            None => None,
        };
        let e = super::lookup_environment(tx, environment)?;
        Ok(Target {
            // The names as recorded when they are known (`Production` means `production`).
            product_name: p.as_ref().map_or(product, |p| &p.name).to_string(),
            version_name: version.to_string(),
            environment_name: e.as_ref().map_or(environment, |e| &e.name).to_string(),
            product: p,
            version: v,
            environment: e,
        })
    }
}

/// Gathers what the rules in scope need, and nothing more.
pub(super) fn gather_facts(
    tx: &mut dyn Tx,
    rules: &[Rule],
    target: &Target,
    deployed_by: Option<&str>,
    exclude: Option<i64>,
    as_of: Option<DateTime<Utc>>,
) -> Result<Facts> {
    let mut facts = Facts::new(
        &target.product_name,
        &target.version_name,
        &target.environment_name,
    );
    if let Some(e) = &target.environment {
        facts.environment_type = e.env_type;
    }
    facts.deployed_by = deployed_by.map(str::to_string);
    facts.version_known = target.version.is_some();
    let live: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.status != RuleStatus::Disabled)
        .filter(|r| {
            r.scope
                .matches(&facts.product, &facts.environment, facts.environment_type)
        })
        .collect();
    let mut needs = Needs::default();
    for rule in &live {
        rule.kind.needs(&mut needs);
    }
    if needs.open_deployments
        && let Some(e) = &target.environment
    {
        let open = match as_of {
            None => tx.open_deployments(e.key)?,
            Some(at) => {
                let window =
                    chrono::Duration::from_std(needs.open_window).unwrap_or(chrono::Duration::MAX);
                let since = at
                    .checked_sub_signed(window)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                tx.open_deployments_at(e.key, at, since)?
            }
        };
        facts.open_deployments = open
            .into_iter()
            .filter(|(key, _)| Some(*key) != exclude)
            .map(|(_, d)| d)
            .collect();
    }
    if let (Some(p), Some(e)) = (&target.product, &target.environment) {
        for behind in &needs.skew_behind {
            let behind_key = super::lookup_environment(tx, behind)
                .ok()
                .flatten()
                .map(|b| b.key)
                .filter(|k| *k != e.key);
            let m = super::skew::measure(tx, p.key, e.key, behind_key, Some(&target.version_name))?;
            facts.skew.insert(
                behind.clone(),
                policy::SkewFacts::new(
                    m.behind_version,
                    m.figures.versions,
                    m.figures.behind_since,
                    m.version_ahead,
                ),
            );
        }
    }
    if let (Some(p), Some(v)) = (&target.product, &target.version) {
        for env_name in &needs.stints {
            // A rule's prerequisite means the environment of the same name in any case or
            // compatibility form; a look-alike means none (the rule then fails closed).
            let stint = match super::lookup_environment(tx, env_name).ok().flatten() {
                // Live, everything recorded so far (the write lock is held); as of a past
                // instant, what had been recorded by then.
                Some(env) => tx.stint(
                    p.key,
                    v.key,
                    env.key,
                    as_of.unwrap_or_else(crate::event::last_recordable),
                )?,
                None => policy::Stint::default(),
            };
            facts.stints.insert(env_name.to_string(), stint);
        }
        if needs.approvals {
            facts.approvals = tx
                .approvals(v.key)?
                .into_iter()
                .filter(|a| match as_of {
                    None => a.is_active(),
                    // Granted by then, and not yet revoked then.
                    Some(at) => a.granted_at <= at && a.revoked_at.is_none_or(|r| r > at),
                })
                .collect();
        }
        if needs.builders {
            facts.builders = tx.builders(v.key)?;
        }
        // The submitted Deployment Requests covering it: always, the pending check reads them
        // whatever the rules. As of a past instant, as they stand now (their history is in
        // each record, not replayed here).
        facts.deployment_requests = tx
            .requests_covering(&v.id, &crate::names::key(&target.environment_name))?
            .iter()
            .map(crate::policy::CoveringRequest::of)
            .collect();
    }
    Ok(facts)
}
