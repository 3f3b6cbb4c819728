//! The preflight: the facts a verdict needs, and the dry-run check.

use crate::approval::Approval;
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
    pub fn check(&self, request: &CheckRequest) -> Result<Verdict> {
        let req = request.validate()?;
        let at = req.at.unwrap_or_else(|| self.now());
        let principal = self.acting()?.principal;
        store::read(&*self.store, |tx| {
            let rules: Vec<Rule> = tx.rules()?.into_iter().map(|r| r.rule).collect();
            let target = Target::find(tx, &req.product, &req.version, &req.environment)?;
            let mut facts = gather_facts(tx, &rules, &target, req.deployed_by.as_deref(), None)?;
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
        let p = tx.product(product)?;
        let v = match &p {
            Some(p) => tx.version(p, version)?,
            None => None,
        };
        Ok(Target {
            product_name: product.to_string(),
            version_name: version.to_string(),
            environment_name: environment.to_string(),
            product: p,
            version: v,
            environment: tx.environment(environment)?,
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
        facts.open_deployments = tx
            .open_deployments(e.key)?
            .into_iter()
            .filter(|(key, _)| Some(*key) != exclude)
            .map(|(_, d)| d)
            .collect();
    }
    if let (Some(p), Some(v)) = (&target.product, &target.version) {
        for env_name in &needs.stints {
            let stint = match tx.environment(env_name)? {
                Some(env) => tx.stint(p.key, v.key, env.key)?,
                None => policy::Stint::default(),
            };
            facts.stints.insert(env_name.to_string(), stint);
        }
        if needs.approvals {
            facts.approvals = tx
                .approvals(v.key)?
                .into_iter()
                .filter(Approval::is_active)
                .collect();
        }
        if needs.builders {
            facts.builders = tx.builders(v.key)?;
        }
    }
    Ok(facts)
}
