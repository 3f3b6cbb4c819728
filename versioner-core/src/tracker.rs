//! One tracking and query surface, in process or remote.
//!
//! [`Tracker`] is what a deploy tool needs from Versioner: record builds and deployments, ask
//! the preflight, manage rules (whole policies or one by one, with their history), approvals
//! and environment types, and query history, state and single records. The in-process
//! [`Versioner`] implements it over its store; the remote `Client` (feature `client`)
//! implements it over HTTP against `versioner serve`. Callers switch between the two by
//! construction only:
//!
//! ```
//! use versioner_core::{DeploymentEvent, Tracker, Versioner};
//!
//! fn ship(t: &dyn Tracker) -> versioner_core::Result<String> {
//!     let d = t.track_deployment(&DeploymentEvent::new("api", "1.0.0", "staging", "success"))?;
//!     Ok(d.id)
//! }
//!
//! let local = Versioner::open_in_memory()?;
//! ship(&local)?;
//! // let remote = versioner_core::client::Client::new("http://127.0.0.1:8000", Some("sk_…"))?;
//! // ship(&remote)?;
//! # Ok::<(), versioner_core::Error>(())
//! ```
//!
//! Both implementations return the same records and the same errors: a refused deployment is
//! [`Error::Blocked`](crate::Error::Blocked) carrying the whole verdict, a SHA conflict is
//! `VERSION_CONFLICT`, bad input is `INVALID_INPUT` naming the field.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::access::Actor;
use crate::approval::{Approval, ApprovalRequest};
use crate::error::Result;
use crate::event::{BuildEvent, CheckRequest, DeploymentEvent};
use crate::import::{ExportReport, ImportMode, ImportReport};
use crate::input::PolicyInput;
use crate::model::{
    Build, CatalogChange, Deployment, Environment, EnvironmentType, Page, Product, Version,
};
use crate::policy::lint::LintReport;
use crate::policy::{ApplyMode, PolicyFile, PolicyFormat, Rule, RuleStatus, Verdict};
use crate::queue::{QueueEntry, WaitStatus};
use crate::request::{
    DeploymentRequest, Progress, RequestActionRequest, RequestChange, RequestDraft, RequestQuery,
    RequestTemplate,
};
use crate::service::{ApplyReport, Versioner};
use crate::state::{Drift, StateMatrix};
use crate::store::{HistoryQuery, RuleStatusChange, StoredRule};

/// Tracking, the preflight, rules, approvals and queries: implemented by the in-process
/// [`Versioner`] and by the remote `Client`.
///
/// Every method has the meaning and the errors of the [`Versioner`] method of the same name;
/// a remote implementation adds `NETWORK` (server unreachable), `UNAUTHORIZED` and
/// `FORBIDDEN`.
pub trait Tracker: Send + Sync + std::fmt::Debug {
    /// Records a build event. See [`Versioner::track_build`].
    ///
    /// # Errors
    /// `INVALID_INPUT`, `VERSION_CONFLICT`, `STORAGE`.
    fn track_build(&self, event: &BuildEvent) -> Result<Build>;

    /// Records a deployment event, running the preflight on `started`. See
    /// [`Versioner::track_deployment`].
    ///
    /// # Errors
    /// [`Error::Blocked`](crate::Error::Blocked) with the verdict; `INVALID_INPUT`, `VERSION_CONFLICT`, `STORAGE`.
    fn track_deployment(&self, event: &DeploymentEvent) -> Result<Deployment>;

    /// Records a deployment event; a `started` event blocked by something time alone clears
    /// waits up to `wait` in its environment's queue instead of failing. See
    /// [`Versioner::track_deployment_waiting`]. A remote implementation waits on the server
    /// and does not call `progress`.
    ///
    /// # Errors
    /// [`Error::Blocked`](crate::Error::Blocked) with the verdict of the last attempt;
    /// `INVALID_INPUT` (a `wait` over an hour), `VERSION_CONFLICT`, `STORAGE`.
    fn track_deployment_waiting(
        &self,
        event: &DeploymentEvent,
        wait: std::time::Duration,
        progress: &mut dyn FnMut(&WaitStatus),
    ) -> Result<Deployment>;

    /// The deployments waiting in the wait queue, of one environment or of all. See
    /// [`Versioner::queue`].
    ///
    /// # Errors
    /// `STORAGE`.
    fn queue(&self, environment: Option<&str>) -> Result<Vec<QueueEntry>>;

    /// Evaluates the preflight without recording anything. See [`Versioner::check`].
    ///
    /// # Errors
    /// `INVALID_INPUT`, `STORAGE`.
    fn check(&self, request: &CheckRequest) -> Result<Verdict>;

    /// Every rule, in evaluation order.
    ///
    /// # Errors
    /// `STORAGE`.
    fn rules(&self) -> Result<Vec<StoredRule>>;

    /// A rule by name. See [`Versioner::rule`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn rule(&self, name: &str) -> Result<StoredRule>;

    /// Adds a rule at the end of the evaluation order. See [`Versioner::add_rule`].
    ///
    /// # Errors
    /// `INVALID_INPUT` when the rule is invalid or its name is taken; `STORAGE`.
    fn add_rule(&self, rule: &Rule) -> Result<StoredRule>;

    /// Replaces the rule named `name` (the new definition may rename it). See
    /// [`Versioner::update_rule`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `STORAGE`.
    fn update_rule(&self, name: &str, rule: &Rule) -> Result<StoredRule>;

    /// Deletes a rule. See [`Versioner::delete_rule`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn delete_rule(&self, name: &str) -> Result<()>;

    /// The status history of the rule named `name` (or of every rule), oldest first. A name
    /// with no recorded change (or no rule) has an empty history; a deleted rule keeps its
    /// history. See [`Versioner::rule_history`].
    ///
    /// # Errors
    /// `STORAGE`.
    fn rule_history(&self, name: Option<&str>) -> Result<Vec<RuleStatusChange>>;

    /// Parses and applies a policy document. See [`Versioner::apply_policy_text`].
    ///
    /// # Errors
    /// `INVALID_INPUT` listing every problem (nothing applied); `STORAGE`.
    fn apply_policy_text(
        &self,
        text: &str,
        format: PolicyFormat,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport>;

    /// Reads and applies a policy file; `.json` files are JSON, others TOML.
    ///
    /// # Errors
    /// `INVALID_INPUT` when the file cannot be read or is invalid; `STORAGE`.
    fn apply_policy_file(&self, path: &Path, mode: ApplyMode, actor: &str) -> Result<ApplyReport> {
        self.apply_policy_input(&PolicyInput::file(path, None), mode, actor)
    }

    /// Applies a policy in any of the forms of [`PolicyInput`] (text in a given or detected
    /// format, a JSON value, a file read here). The in-process [`Versioner`] validates and
    /// applies it; the remote `Client` sends the document with its format resolved, so the
    /// server never has to guess.
    ///
    /// # Errors
    /// `INVALID_INPUT` as [`PolicyInput::parse`] (nothing applied); `STORAGE`.
    fn apply_policy_input(
        &self,
        policy: &PolicyInput,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let (text, format) = policy.document()?;
        self.apply_policy_text(&text, format, mode, actor)
    }

    /// Lints a policy (`None`: the policy in force) against what is recorded: see
    /// [`lint`](crate::policy::lint). Errors in the report make `apply` refuse the policy.
    ///
    /// # Errors
    /// `INVALID_INPUT` as [`PolicyInput::parse`]; `STORAGE`.
    fn lint_policy_input(&self, policy: Option<&PolicyInput>) -> Result<LintReport>;

    /// Changes a rule's status, recording who, when and why.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `STORAGE`.
    fn set_rule_status(
        &self,
        name: &str,
        status: RuleStatus,
        actor: &str,
        reason: &str,
    ) -> Result<StoredRule>;

    /// Records an approval of a recorded version.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `NOT_FOUND`; `STORAGE`.
    fn approve(&self, request: &ApprovalRequest) -> Result<Approval>;

    /// Revokes an approval.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `STORAGE`.
    fn revoke_approval(&self, id: &str, actor: &str, reason: &str) -> Result<Approval>;

    /// The approvals of a version (revoked ones too), oldest first.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn approvals(&self, product: &str, version: &str) -> Result<Vec<Approval>>;

    /// Every product, by name.
    ///
    /// # Errors
    /// `STORAGE`.
    fn products(&self) -> Result<Vec<Product>>;

    /// Every environment, from development to production.
    ///
    /// # Errors
    /// `STORAGE`.
    fn environments(&self) -> Result<Vec<Environment>>;

    /// A product by name or id. See [`Versioner::product`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn product(&self, name_or_id: &str) -> Result<Product>;

    /// An environment by name or id. See [`Versioner::environment`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn environment(&self, name_or_id: &str) -> Result<Environment>;

    /// Renames a product or changes its description or metadata. See
    /// [`Versioner::update_product`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `FORBIDDEN`; `STORAGE`.
    fn update_product(&self, name_or_id: &str, change: &CatalogChange) -> Result<Product>;

    /// Renames an environment or changes its description or metadata. See
    /// [`Versioner::update_environment`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `FORBIDDEN`; `STORAGE`.
    fn update_environment(&self, name_or_id: &str, change: &CatalogChange) -> Result<Environment>;

    /// Overrides an environment's type, or with `None` returns it to inference from the name;
    /// the environment is created if needed. See [`Versioner::set_environment_type`].
    ///
    /// # Errors
    /// `INVALID_INPUT`; `STORAGE`.
    fn set_environment_type(
        &self,
        name: &str,
        env_type: Option<EnvironmentType>,
    ) -> Result<Environment>;

    /// Versions of a product, newest first.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `STORAGE`.
    fn versions(&self, product: &str, page: Page) -> Result<Vec<Version>>;

    /// One version of a product. See [`Versioner::version`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn version(&self, product: &str, version: &str) -> Result<Version>;

    /// A version by its public id. See [`Versioner::version_by_id`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn version_by_id(&self, id: &str) -> Result<Version>;

    /// Versions built from a commit; an abbreviated SHA (4+ hex characters) matches by
    /// prefix. See [`Versioner::versions_by_sha`].
    ///
    /// # Errors
    /// `INVALID_INPUT` for a malformed SHA; `STORAGE`.
    fn versions_by_sha(&self, sha: &str) -> Result<Vec<Version>>;

    /// A deployment by its public id. See [`Versioner::deployment`].
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn deployment(&self, id: &str) -> Result<Deployment>;

    /// Deployment history, newest first.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `STORAGE`.
    fn history(&self, query: &HistoryQuery) -> Result<Vec<Deployment>>;

    /// What is deployed where, now or as of `at`.
    ///
    /// # Errors
    /// `STORAGE`.
    fn state(&self, at: Option<DateTime<Utc>>) -> Result<StateMatrix>;

    /// Products whose environments hold different versions.
    ///
    /// # Errors
    /// `STORAGE`.
    fn drift(
        &self,
        at: Option<DateTime<Utc>>,
        environments: Option<&[String]>,
    ) -> Result<Vec<Drift>>;

    /// Imports a history file (JSON Lines, see [`crate::import`]). See
    /// [`Versioner::import_events`].
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the failing line, `FORBIDDEN`, `STORAGE`.
    fn import_events(&self, text: &str, mode: ImportMode) -> Result<ImportReport>;

    /// Writes every build and deployment to `out` as a history file. See
    /// [`Versioner::export_events`].
    ///
    /// # Errors
    /// `FORBIDDEN`, `STORAGE`.
    fn export_events(&self, out: &mut dyn std::io::Write) -> Result<ExportReport>;

    /// The four keys (DORA metrics) over a range. See [`Versioner::dora`].
    ///
    /// # Errors
    /// `INVALID_INPUT`; `NOT_FOUND`; `STORAGE`.
    fn dora(&self, query: &crate::insights::DoraQuery) -> Result<crate::insights::DoraReport>;

    /// How far one environment runs behind another. See [`Versioner::skew`].
    ///
    /// # Errors
    /// `INVALID_INPUT`; `NOT_FOUND`; `STORAGE`.
    fn skew(&self, query: &crate::skew::SkewQuery) -> Result<Vec<crate::skew::Skew>>;

    /// Versions waiting in an environment without promotion. See [`Versioner::stale`].
    ///
    /// # Errors
    /// `INVALID_INPUT`; `NOT_FOUND`; `STORAGE`.
    fn stale(&self, query: &crate::skew::StaleQuery) -> Result<Vec<crate::skew::StaleVersion>>;

    /// The recorded preflight decisions where a rule failed, newest first
    /// ([`Versioner::violations`]).
    ///
    /// # Errors
    /// `INVALID_INPUT` for a bad filter; `STORAGE`.
    fn violations(&self, query: &crate::ViolationQuery) -> Result<Vec<crate::DecisionRecord>>;

    /// Creates a Deployment Request (a draft).
    ///
    /// # Errors
    /// As [`Versioner::create_request`].
    fn create_request(&self, draft: &RequestDraft) -> Result<DeploymentRequest>;

    /// Edits a draft Deployment Request.
    ///
    /// # Errors
    /// As [`Versioner::update_request`].
    fn update_request(&self, id: &str, change: &RequestChange) -> Result<DeploymentRequest>;

    /// Submits, deactivates, cancels, decides a slot of, or ticks a step of a Deployment
    /// Request.
    ///
    /// # Errors
    /// As [`Versioner::act_on_request`].
    fn act_on_request(&self, id: &str, action: &RequestActionRequest) -> Result<DeploymentRequest>;

    /// One Deployment Request.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn request(&self, id: &str) -> Result<DeploymentRequest>;

    /// Deployment Requests, newest first.
    ///
    /// # Errors
    /// `STORAGE`.
    fn requests(&self, query: &RequestQuery) -> Result<Vec<DeploymentRequest>>;

    /// A Deployment Request's progress grid.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    fn request_progress(&self, id: &str) -> Result<Progress>;

    /// Every Deployment Request template.
    ///
    /// # Errors
    /// `STORAGE`.
    fn request_templates(&self) -> Result<Vec<RequestTemplate>>;

    /// Adds or replaces templates.
    ///
    /// # Errors
    /// As [`Versioner::put_request_templates`].
    fn put_request_templates(&self, templates: &[RequestTemplate]) -> Result<Vec<RequestTemplate>>;

    /// Removes a template.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN`; `STORAGE`.
    fn delete_request_template(&self, name: &str) -> Result<()>;

    /// A tracker whose writes are made by `actor` (see [`Versioner::acting_as`]): the
    /// principal recorded on events, approvals and rule changes, and the role they are
    /// checked against.
    ///
    /// # Errors
    /// `INVALID_INPUT` from a remote tracker: through a server the actor is always the API
    /// key's principal.
    fn acting_as(&self, actor: Actor) -> Result<Arc<dyn Tracker>>;

    /// Whether this tracker knows who its writes are by: a remote one (the server records the
    /// API key's principal) or an in-process one with an actor. When it does, a call may leave
    /// `approver` / `actor` blank; otherwise it must name them.
    fn has_actor(&self) -> bool;
}

impl Tracker for Versioner {
    fn acting_as(&self, actor: Actor) -> Result<Arc<dyn Tracker>> {
        Ok(Arc::new(Versioner::acting_as(self, actor)))
    }

    fn create_request(&self, draft: &RequestDraft) -> Result<DeploymentRequest> {
        Versioner::create_request(self, draft)
    }

    fn update_request(&self, id: &str, change: &RequestChange) -> Result<DeploymentRequest> {
        Versioner::update_request(self, id, change)
    }

    fn act_on_request(&self, id: &str, action: &RequestActionRequest) -> Result<DeploymentRequest> {
        Versioner::act_on_request(self, id, action)
    }

    fn request(&self, id: &str) -> Result<DeploymentRequest> {
        Versioner::request(self, id)
    }

    fn requests(&self, query: &RequestQuery) -> Result<Vec<DeploymentRequest>> {
        Versioner::requests(self, query)
    }

    fn request_progress(&self, id: &str) -> Result<Progress> {
        Versioner::request_progress(self, id)
    }

    fn request_templates(&self) -> Result<Vec<RequestTemplate>> {
        Versioner::request_templates(self)
    }

    fn put_request_templates(&self, templates: &[RequestTemplate]) -> Result<Vec<RequestTemplate>> {
        Versioner::put_request_templates(self, templates)
    }

    fn delete_request_template(&self, name: &str) -> Result<()> {
        Versioner::delete_request_template(self, name)
    }

    fn has_actor(&self) -> bool {
        self.actor().is_some()
    }

    fn track_build(&self, event: &BuildEvent) -> Result<Build> {
        Versioner::track_build(self, event)
    }

    fn track_deployment(&self, event: &DeploymentEvent) -> Result<Deployment> {
        Versioner::track_deployment(self, event)
    }

    fn track_deployment_waiting(
        &self,
        event: &DeploymentEvent,
        wait: std::time::Duration,
        progress: &mut dyn FnMut(&WaitStatus),
    ) -> Result<Deployment> {
        Versioner::track_deployment_waiting(self, event, wait, progress)
    }

    fn queue(&self, environment: Option<&str>) -> Result<Vec<QueueEntry>> {
        Versioner::queue(self, environment)
    }

    fn check(&self, request: &CheckRequest) -> Result<Verdict> {
        Versioner::check(self, request)
    }

    fn rules(&self) -> Result<Vec<StoredRule>> {
        Versioner::rules(self)
    }

    fn rule(&self, name: &str) -> Result<StoredRule> {
        Versioner::rule(self, name)
    }

    fn add_rule(&self, rule: &Rule) -> Result<StoredRule> {
        Versioner::add_rule(self, rule)
    }

    fn update_rule(&self, name: &str, rule: &Rule) -> Result<StoredRule> {
        Versioner::update_rule(self, name, rule)
    }

    fn delete_rule(&self, name: &str) -> Result<()> {
        Versioner::delete_rule(self, name)
    }

    fn rule_history(&self, name: Option<&str>) -> Result<Vec<RuleStatusChange>> {
        Versioner::rule_history(self, name)
    }

    fn apply_policy_text(
        &self,
        text: &str,
        format: PolicyFormat,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        Versioner::apply_policy_text(self, text, format, mode, actor)
    }

    fn apply_policy_input(
        &self,
        policy: &PolicyInput,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        Versioner::apply_policy(self, &policy.parse()?, mode, actor)
    }

    fn lint_policy_input(&self, policy: Option<&PolicyInput>) -> Result<LintReport> {
        let file = match policy {
            Some(p) => p.parse()?,
            None => PolicyFile::new(
                Versioner::rules(self)?
                    .into_iter()
                    .map(|s| s.rule)
                    .collect(),
            ),
        };
        Versioner::lint_policy(self, &file)
    }

    fn set_rule_status(
        &self,
        name: &str,
        status: RuleStatus,
        actor: &str,
        reason: &str,
    ) -> Result<StoredRule> {
        Versioner::set_rule_status(self, name, status, actor, reason)
    }

    fn approve(&self, request: &ApprovalRequest) -> Result<Approval> {
        Versioner::approve(self, request)
    }

    fn revoke_approval(&self, id: &str, actor: &str, reason: &str) -> Result<Approval> {
        Versioner::revoke_approval(self, id, actor, reason)
    }

    fn approvals(&self, product: &str, version: &str) -> Result<Vec<Approval>> {
        Versioner::approvals(self, product, version)
    }

    fn products(&self) -> Result<Vec<Product>> {
        Versioner::products(self)
    }

    fn environments(&self) -> Result<Vec<Environment>> {
        Versioner::environments(self)
    }

    fn product(&self, name_or_id: &str) -> Result<Product> {
        Versioner::product(self, name_or_id)
    }

    fn environment(&self, name_or_id: &str) -> Result<Environment> {
        Versioner::environment(self, name_or_id)
    }

    fn update_product(&self, name_or_id: &str, change: &CatalogChange) -> Result<Product> {
        Versioner::update_product(self, name_or_id, change)
    }

    fn update_environment(&self, name_or_id: &str, change: &CatalogChange) -> Result<Environment> {
        Versioner::update_environment(self, name_or_id, change)
    }

    fn set_environment_type(
        &self,
        name: &str,
        env_type: Option<EnvironmentType>,
    ) -> Result<Environment> {
        Versioner::set_environment_type(self, name, env_type)
    }

    fn versions(&self, product: &str, page: Page) -> Result<Vec<Version>> {
        Versioner::versions(self, product, page)
    }

    fn version(&self, product: &str, version: &str) -> Result<Version> {
        Versioner::version(self, product, version)
    }

    fn version_by_id(&self, id: &str) -> Result<Version> {
        Versioner::version_by_id(self, id)
    }

    fn versions_by_sha(&self, sha: &str) -> Result<Vec<Version>> {
        Versioner::versions_by_sha(self, sha)
    }

    fn deployment(&self, id: &str) -> Result<Deployment> {
        Versioner::deployment(self, id)
    }

    fn history(&self, query: &HistoryQuery) -> Result<Vec<Deployment>> {
        Versioner::history(self, query)
    }

    fn state(&self, at: Option<DateTime<Utc>>) -> Result<StateMatrix> {
        Versioner::state(self, at)
    }

    fn drift(
        &self,
        at: Option<DateTime<Utc>>,
        environments: Option<&[String]>,
    ) -> Result<Vec<Drift>> {
        Versioner::drift(self, at, environments)
    }

    fn violations(&self, query: &crate::ViolationQuery) -> Result<Vec<crate::DecisionRecord>> {
        Versioner::violations(self, query)
    }

    fn dora(&self, query: &crate::insights::DoraQuery) -> Result<crate::insights::DoraReport> {
        Versioner::dora(self, query)
    }

    fn skew(&self, query: &crate::skew::SkewQuery) -> Result<Vec<crate::skew::Skew>> {
        Versioner::skew(self, query)
    }

    fn stale(&self, query: &crate::skew::StaleQuery) -> Result<Vec<crate::skew::StaleVersion>> {
        Versioner::stale(self, query)
    }

    fn import_events(&self, text: &str, mode: ImportMode) -> Result<ImportReport> {
        Versioner::import_events(self, text, mode)
    }

    fn export_events(&self, out: &mut dyn std::io::Write) -> Result<ExportReport> {
        Versioner::export_events(self, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn versioner_is_a_tracker() -> Result<()> {
        let vr = Versioner::open_in_memory()?;
        let t: &dyn Tracker = &vr;
        t.apply_policy_text(
            "[[rules]]\nname='Flow'\ntype='flow'\nenvironments=['prod']\nprerequisites=['staging']\n",
            PolicyFormat::Toml,
            ApplyMode::Replace,
            "test",
        )?;
        let err = t
            .track_deployment(&DeploymentEvent::new("api", "1", "prod", "started"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::FlowViolation);
        t.track_deployment(&DeploymentEvent::new("api", "1", "staging", "success"))?;
        assert!(
            t.check(&CheckRequest::new("api", "1", "prod"))?
                .is_allowed()
        );
        assert_eq!(t.state(None)?.version("api", "staging"), Some("1"));
        assert_eq!(t.rules()?.len(), 1);
        Ok(())
    }

    #[test]
    fn rules_versions_and_environments_through_the_trait() -> Result<()> {
        let vr = Versioner::open_in_memory()?;
        let t: &dyn Tracker = &vr;
        let rule = Rule::from_json(&serde_json::json!({
            "name": "One", "type": "concurrency", "max": 1
        }))?;
        assert_eq!(t.add_rule(&rule)?.rule.name, "One");
        assert_eq!(t.rule("One")?.rule, rule);
        let mut renamed = rule.clone();
        renamed.name = "Only one".into();
        renamed.status = RuleStatus::ReportOnly;
        assert_eq!(t.update_rule("One", &renamed)?.rule.name, "Only one");
        assert_eq!(t.rule_history(Some("Only one"))?.len(), 1);
        assert_eq!(t.rule_history(None)?.len(), 1);
        t.delete_rule("Only one")?;
        assert_eq!(t.rule("Only one").unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(
            t.rule_history(Some("Only one"))?.len(),
            1,
            "history outlives the rule"
        );

        let mut build = BuildEvent::new("api", "1.0.0", "completed");
        build.scm_sha = Some("abcdef12".into());
        t.track_build(&build)?;
        let v = t.version("api", "1.0.0")?;
        assert_eq!(t.version_by_id(&v.id)?, v);
        assert_eq!(t.versions_by_sha("abcd")?, vec![v]);
        let d = t.track_deployment(&DeploymentEvent::new("api", "1.0.0", "lab", "success"))?;
        assert_eq!(t.deployment(&d.id)?.id, d.id);
        let env = t.set_environment_type("lab", Some(EnvironmentType::Staging))?;
        assert_eq!(env.env_type, EnvironmentType::Staging);
        let env = t.set_environment_type("lab", None)?;
        assert_eq!(env.env_type, EnvironmentType::Other);
        Ok(())
    }
}
