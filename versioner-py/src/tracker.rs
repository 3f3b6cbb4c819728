//! `versioner.Tracker`: what the in-process `Versioner` and the remote `Client` share.
//!
//! The base class of both, mirroring the core's `Tracker` trait: tracking, the preflight,
//! rules (applied whole or one by one), approvals, queries and environment types, plus
//! `close()` and the context-manager protocol. Every method parses its arguments, releases the GIL for
//! exactly one core call (storage or network work), and converts the result into a record of
//! `versioner._records` (or the error into an exception of `versioner._errors`). No domain
//! rule lives here.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, PoisonError, RwLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString, PyTuple};
use versioner_core::input::PolicyInput;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{
    ApprovalRequest, BuildEvent, CatalogChange, CheckRequest, DeploymentEvent, EnvironmentType,
    HistoryQuery, Page, RequestAction, RequestActionRequest, RequestChange, RequestDraft, Rule,
    RuleStatus, Status, Tracker as CoreTracker,
};

use crate::convert::{
    count, instant, json_to_py, opt_instant, opt_instant_text, opt_json, py_to_json, seconds,
    text_or_int, to_json, type_name,
};
use crate::errors::{OrRaise, invalid};
use crate::naming;
use crate::record::{record, record_class, records_list};
use crate::requests;

/// The base class of `Versioner` and `Client`: tracking, the preflight, rules, approvals and
/// queries, the same in process and remote.
///
/// Holds the core behind a lock only so that `close()` can let go of it: each call takes its
/// own reference for its duration, so closing while other threads are mid-call is safe, and
/// the database (or connection pool) is released when the last call returns.
#[pyclass(frozen, subclass, module = "versioner", name = "Tracker")]
pub struct Tracker {
    core: RwLock<Option<Core>>,
}

/// What a tracker talks to until `close()`: the shared surface, and for an in-process one the
/// service itself (the same object), for what only it offers (replay, the audit chain, the
/// event stream).
#[derive(Clone)]
struct Core {
    tracker: Arc<dyn CoreTracker>,
    local: Option<Arc<versioner_core::Versioner>>,
}

impl Tracker {
    /// A tracker over a remote core (for `Client`).
    pub(crate) fn new(core: Arc<dyn CoreTracker>) -> Tracker {
        Tracker {
            core: RwLock::new(Some(Core {
                tracker: core,
                local: None,
            })),
        }
    }

    /// A tracker over the in-process service (for `Versioner`).
    pub(crate) fn in_process(vr: versioner_core::Versioner) -> Tracker {
        let vr = Arc::new(vr);
        Tracker {
            core: RwLock::new(Some(Core {
                tracker: vr.clone(),
                local: Some(vr),
            })),
        }
    }

    fn open(&self) -> PyResult<Core> {
        self.core
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| invalid("self", "is closed; open a new one to continue"))
    }

    /// The core, or `InvalidInputError` once closed.
    pub(crate) fn core(&self) -> PyResult<Arc<dyn CoreTracker>> {
        Ok(self.open()?.tracker)
    }

    /// One Deployment Request action through the core, the request returned as a record.
    fn act_on_request<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        action: &RequestActionRequest,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let dr = py.detach(|| t.act_on_request(id, action)).or_raise()?;
        record(py, "DeploymentRequest", &dr)
    }

    /// The in-process service, or `InvalidInputError` once closed (or for a remote tracker,
    /// which never calls this: only `Versioner` offers what needs it).
    pub(crate) fn local(&self) -> PyResult<Arc<versioner_core::Versioner>> {
        self.open()?
            .local
            .ok_or_else(|| invalid("self", "works in process only (a Versioner, not a Client)"))
    }
}

/// A keyword argument given and not None.
fn given<'a, 'py>(v: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    v.filter(|v| !v.is_none())
}

/// The core's change from `update_product` / `update_environment` keywords.
fn catalog_change(
    name: Option<String>,
    description: Option<String>,
    extra_metadata: Option<&Bound<'_, PyAny>>,
) -> PyResult<CatalogChange> {
    let mut change = CatalogChange::default();
    change.name = name;
    change.description = description;
    change.extra_metadata = match opt_json(extra_metadata, "extra_metadata")? {
        None => None,
        Some(serde_json::Value::Object(m)) => Some(m),
        Some(_) => return Err(invalid("extra_metadata", "must be a dict (a JSON object)")),
    };
    Ok(change)
}

/// A `DeploymentRun` over `fields` (product_name, version, environment_name and event fields).
fn run<'py>(slf: &Bound<'py, Tracker>, fields: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let kwargs = PyDict::new(py);
    for name in ["product_name", "version", "environment_name"] {
        kwargs.set_item(name, fields.get_item(name)?)?;
        if fields.contains(name)? {
            fields.del_item(name)?;
        }
    }
    kwargs.set_item("fields", fields)?;
    py.import("versioner._context")?
        .getattr("DeploymentRun")?
        .call((slf,), Some(&kwargs))
}

/// A rule given as a mapping in policy-file form, or as a `versioner.Rule` record.
fn rule_arg(obj: &Bound<'_, PyAny>) -> PyResult<Rule> {
    let py = obj.py();
    let value = if obj.is_instance(&record_class(py, "Rule")?)? {
        py_to_json(&obj.call_method0("definition")?, "rule")?
    } else {
        py_to_json(obj, "rule")?
    };
    Rule::from_json(&value).or_raise()
}

/// The `policy` argument of `apply_policy` as the core's [`PolicyInput`]: a str is policy text
/// or the name of a policy file ([`PolicyInput::text_or_path`]), a PathLike a file, a dict or
/// a list the policy itself as JSON.
pub(crate) fn policy_input(
    obj: &Bound<'_, PyAny>,
    format: Option<PolicyFormat>,
) -> PyResult<PolicyInput> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(PolicyInput::text_or_path(s.to_cow()?.into_owned(), format));
    }
    if obj.hasattr("__fspath__")? {
        return Ok(PolicyInput::file(obj.extract::<PathBuf>()?, format));
    }
    if obj.is_instance_of::<PyMapping>() || obj.is_instance_of::<PyList>() {
        return PolicyInput::from_value(py_to_json(obj, "policy")?, format).or_raise();
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "`policy` must be policy text, a path, a dict or a list of rules, not {}",
        type_name(obj)
    )))
}

#[pymethods]
impl Tracker {
    // ----- tracking ---------------------------------------------------------------------------

    /// Records a build event and returns the build.
    #[pyo3(signature = (
        *, product_name, version, status, built_by=None, built_by_email=None,
        built_by_name=None, scm_sha=None, scm_branch=None, scm_repository=None, build_url=None,
        build_number=None, source_system=None, invoke_id=None, started_at=None,
        completed_at=None, error_message=None, error_code=None, extra_metadata=None,
        scm_committed_at=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per field of the public API"
    )]
    fn track_build<'py>(
        &self,
        py: Python<'py>,
        product_name: String,
        version: &Bound<'py, PyAny>,
        status: String,
        built_by: Option<String>,
        built_by_email: Option<String>,
        built_by_name: Option<String>,
        scm_sha: Option<String>,
        scm_branch: Option<String>,
        scm_repository: Option<String>,
        build_url: Option<String>,
        build_number: Option<&Bound<'py, PyAny>>,
        source_system: Option<String>,
        invoke_id: Option<String>,
        started_at: Option<&Bound<'py, PyAny>>,
        completed_at: Option<&Bound<'py, PyAny>>,
        error_message: Option<String>,
        error_code: Option<String>,
        extra_metadata: Option<&Bound<'py, PyAny>>,
        scm_committed_at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let mut ev = BuildEvent::new(product_name, version, status);
        ev.scm_committed_at = opt_instant_text(scm_committed_at, "scm_committed_at")?;
        ev.built_by = built_by;
        ev.built_by_email = built_by_email;
        ev.built_by_name = built_by_name;
        ev.scm_sha = scm_sha;
        ev.scm_branch = scm_branch;
        ev.scm_repository = scm_repository;
        ev.build_url = build_url;
        ev.build_number = text_or_int(build_number, "build_number")?;
        ev.source_system = source_system;
        ev.invoke_id = invoke_id;
        ev.started_at = opt_instant_text(started_at, "started_at")?;
        ev.completed_at = opt_instant_text(completed_at, "completed_at")?;
        ev.error_message = error_message;
        ev.error_code = error_code;
        ev.extra_metadata = opt_json(extra_metadata, "extra_metadata")?;
        let t = self.core()?;
        let build = py.detach(|| t.track_build(&ev)).or_raise()?;
        record(py, "Build", &build)
    }

    /// Records a deployment event and returns the deployment. A `started` event runs the
    /// preflight and raises DeploymentBlockedError when an enabled rule fails.
    #[pyo3(signature = (
        *, product_name, version, environment_name, status, deployed_by=None,
        deployed_by_email=None, deployed_by_name=None, scm_sha=None, scm_repository=None,
        scm_branch=None, build_number=None, source_system=None, invoke_id=None,
        deploy_url=None, build_url=None, completed_at=None, extra_metadata=None,
        skip_preflight_checks=None, skip_preflight_reason=None, scm_committed_at=None,
        wait=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per field of the public API"
    )]
    fn track_deployment<'py>(
        &self,
        py: Python<'py>,
        product_name: String,
        version: &Bound<'py, PyAny>,
        environment_name: String,
        status: String,
        deployed_by: Option<String>,
        deployed_by_email: Option<String>,
        deployed_by_name: Option<String>,
        scm_sha: Option<String>,
        scm_repository: Option<String>,
        scm_branch: Option<String>,
        build_number: Option<&Bound<'py, PyAny>>,
        source_system: Option<String>,
        invoke_id: Option<String>,
        deploy_url: Option<String>,
        build_url: Option<String>,
        completed_at: Option<&Bound<'py, PyAny>>,
        extra_metadata: Option<&Bound<'py, PyAny>>,
        skip_preflight_checks: Option<bool>,
        skip_preflight_reason: Option<String>,
        scm_committed_at: Option<&Bound<'py, PyAny>>,
        wait: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let wait = wait.map(|w| seconds(w, "wait")).transpose()?;
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let mut ev = DeploymentEvent::new(product_name, version, environment_name, status);
        ev.deployed_by = deployed_by;
        ev.deployed_by_email = deployed_by_email;
        ev.deployed_by_name = deployed_by_name;
        ev.scm_sha = scm_sha;
        ev.scm_repository = scm_repository;
        ev.scm_branch = scm_branch;
        ev.build_number = text_or_int(build_number, "build_number")?;
        ev.source_system = source_system;
        ev.invoke_id = invoke_id;
        ev.deploy_url = deploy_url;
        ev.build_url = build_url;
        ev.completed_at = opt_instant_text(completed_at, "completed_at")?;
        ev.scm_committed_at = opt_instant_text(scm_committed_at, "scm_committed_at")?;
        ev.extra_metadata = opt_json(extra_metadata, "extra_metadata")?;
        ev.skip_preflight_checks = skip_preflight_checks;
        ev.skip_preflight_reason = skip_preflight_reason;
        let t = self.core()?;
        let deployment = py
            .detach(|| match wait {
                None => t.track_deployment(&ev),
                Some(wait) => t.track_deployment_waiting(&ev, wait, &mut |_| {}),
            })
            .or_raise()?;
        record(py, "Deployment", &deployment)
    }

    /// The deployments waiting in the wait queue (``track_deployment(..., wait=...)``), of one
    /// environment or of all, each environment's in arrival order with its position from 1.
    #[pyo3(signature = (environment=None))]
    fn queue<'py>(
        &self,
        py: Python<'py>,
        environment: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let list = py.detach(|| t.queue(environment.as_deref())).or_raise()?;
        records_list(py, "QueueEntry", &list)
    }

    /// Evaluates the preflight for a would-be deployment without recording anything, now or
    /// at the instant `at`, and returns the verdict.
    #[pyo3(signature = (*, product_name, version, environment_name, deployed_by=None, at=None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        product_name: String,
        version: &Bound<'py, PyAny>,
        environment_name: String,
        deployed_by: Option<String>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let mut req = CheckRequest::new(product_name, version, environment_name);
        req.deployed_by = deployed_by;
        req.at = opt_instant_text(at, "at")?;
        let t = self.core()?;
        let verdict = py.detach(|| t.check(&req)).or_raise()?;
        record(py, "Verdict", &verdict)
    }

    /// The deployment with this id. (Its former second meaning, `deployment(product=…,
    /// version=…, environment=…)` for the context manager, is deprecated: use `deploying`.)
    #[pyo3(signature = (id=None, /, **fields))]
    fn deployment<'py>(
        slf: &Bound<'py, Self>,
        id: Option<String>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        match (id, fields.filter(|f| !f.is_empty())) {
            (Some(id), None) => {
                let t = slf.get().core()?;
                let d = py.detach(|| t.deployment(&id)).or_raise()?;
                record(py, "Deployment", &d)
            }
            (None, Some(fields)) => {
                naming::deprecated(
                    py,
                    "deployment(product=…, version=…, environment=…) as a context manager is \
                     deprecated and will be removed in the next release; use \
                     deploying(product_name=…, version=…, environment_name=…)",
                )?;
                let fields = fields.copy()?;
                for (old, new) in [
                    ("product", "product_name"),
                    ("environment", "environment_name"),
                ] {
                    if let Some(v) = fields.get_item(old)? {
                        fields.del_item(old)?;
                        fields.set_item(new, v)?;
                    }
                }
                run(slf, &fields)
            }
            _ => Err(pyo3::exceptions::PyTypeError::new_err(
                "deployment() takes a deployment id; for a tracked deployment use \
                 deploying(product_name=…, version=…, environment_name=…)",
            )),
        }
    }

    /// A context manager tracking one deployment: records `started` on entry (raising
    /// DeploymentBlockedError before the body runs), then `completed` when the body succeeds,
    /// `failed` when it raises (`aborted` for KeyboardInterrupt and other BaseExceptions).
    #[pyo3(signature = (**fields))]
    fn deploying<'py>(
        slf: &Bound<'py, Self>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fields = match fields {
            Some(f) => f.copy()?,
            None => PyDict::new(slf.py()),
        };
        run(slf, &fields)
    }

    // ----- rules ------------------------------------------------------------------------------

    /// Every rule, in evaluation order.
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let rules = py.detach(|| t.rules()).or_raise()?;
        records_list(py, "Rule", &rules)
    }

    /// The rule named `name`.
    fn rule<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let stored = py.detach(|| t.rule(&name)).or_raise()?;
        record(py, "Rule", &stored)
    }

    /// Adds a rule (a dict in policy-file form, or a Rule) at the end of the evaluation order.
    fn add_rule<'py>(
        &self,
        py: Python<'py>,
        rule: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rule = rule_arg(rule)?;
        let t = self.core()?;
        let stored = py.detach(|| t.add_rule(&rule)).or_raise()?;
        record(py, "Rule", &stored)
    }

    /// Replaces the rule named `name` with `rule` (which may rename it).
    fn update_rule<'py>(
        &self,
        py: Python<'py>,
        name: String,
        rule: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rule = rule_arg(rule)?;
        let t = self.core()?;
        let stored = py.detach(|| t.update_rule(&name, &rule)).or_raise()?;
        record(py, "Rule", &stored)
    }

    /// Deletes the rule named `name`.
    fn delete_rule(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let t = self.core()?;
        py.detach(|| t.delete_rule(&name)).or_raise()
    }

    /// The status history of the rule named `name` (or of every rule), oldest first.
    #[pyo3(signature = (name=None))]
    fn rule_history<'py>(
        &self,
        py: Python<'py>,
        name: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let changes = py.detach(|| t.rule_history(name.as_deref())).or_raise()?;
        records_list(py, "RuleStatusChange", &changes)
    }

    /// Changes a rule's status ("enabled", "report_only" or "disabled"), recording who and why.
    /// `actor` may be None when the tracker knows who acts (a `Client`: the key's principal;
    /// a `Versioner` opened with an actor); if given it must be that name.
    fn set_rule_status<'py>(
        &self,
        py: Python<'py>,
        name: String,
        status: String,
        actor: Option<String>,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let status = RuleStatus::from_str(&status).or_raise()?;
        let actor = actor.unwrap_or_default();
        let t = self.core()?;
        let stored = py
            .detach(|| t.set_rule_status(&name, status, &actor, &reason))
            .or_raise()?;
        record(py, "Rule", &stored)
    }

    /// Applies a policy: TOML or JSON text (the format detected when not given), a path to a
    /// policy file, or a dict / list of rules. In "replace" mode the policy becomes the whole
    /// rule set; in "merge" mode its rules are added or updated by name. All or nothing.
    ///
    /// `actor` (recorded with status changes): by default the tracker's own (a `Client`: the
    /// key's principal; a `Versioner` opened with an actor), else "python".
    #[pyo3(signature = (policy, *, format=None, mode="replace", actor=None))]
    fn apply_policy<'py>(
        &self,
        py: Python<'py>,
        policy: &Bound<'py, PyAny>,
        format: Option<&str>,
        mode: &str,
        actor: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode = ApplyMode::from_str(mode).or_raise()?;
        let format = format.map(PolicyFormat::from_str).transpose().or_raise()?;
        let policy = policy_input(policy, format)?;
        let t = self.core()?;
        let actor = actor.unwrap_or_else(|| {
            if t.has_actor() {
                String::new()
            } else {
                "python".into()
            }
        });
        let report = py
            .detach(|| t.apply_policy_input(&policy, mode, &actor))
            .or_raise()?;
        record(py, "ApplyReport", &report)
    }

    // ----- approvals --------------------------------------------------------------------------

    /// Records an approval of a recorded version and returns it. The approver is the
    /// tracker's actor when it has one (a `Client`: the key's principal, with its role), and
    /// `approver` / `approver_role` may then be left out (given, they must agree).
    #[pyo3(signature = (
        *, product_name, version, approval_type, approver=None, approver_role=None,
        environment_name=None, comment=None, environment=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per field of the public API"
    )]
    fn approve<'py>(
        &self,
        py: Python<'py>,
        product_name: String,
        version: &Bound<'py, PyAny>,
        approval_type: String,
        approver: Option<String>,
        approver_role: Option<String>,
        environment_name: Option<String>,
        comment: Option<String>,
        environment: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let environment = naming::renamed(
            py,
            "approve",
            ("environment_name", environment_name),
            ("environment", environment),
        )?;
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let approver = approver.unwrap_or_default();
        let mut req = ApprovalRequest::new(product_name, version, approval_type, approver);
        req.approver_role = approver_role;
        req.environment = environment;
        req.comment = comment;
        let t = self.core()?;
        let approval = py.detach(|| t.approve(&req)).or_raise()?;
        record(py, "Approval", &approval)
    }

    /// Revokes the approval `id` (it stays on record, marked revoked) and returns it. `actor`
    /// may be None when the tracker knows who acts.
    fn revoke_approval<'py>(
        &self,
        py: Python<'py>,
        id: String,
        actor: Option<String>,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let actor = actor.unwrap_or_default();
        let t = self.core()?;
        let approval = py
            .detach(|| t.revoke_approval(&id, &actor, &reason))
            .or_raise()?;
        record(py, "Approval", &approval)
    }

    /// The approvals of a version (revoked ones too), oldest first.
    #[pyo3(signature = (product_name=None, version=None, *, product=None))]
    fn approvals<'py>(
        &self,
        py: Python<'py>,
        product_name: Option<String>,
        version: Option<&Bound<'py, PyAny>>,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let product = naming::required(
            "approvals",
            "product_name",
            naming::renamed(
                py,
                "approvals",
                ("product_name", product_name),
                ("product", product),
            )?,
        )?;
        let version = naming::required("approvals", "version", version)?;
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let t = self.core()?;
        let list = py.detach(|| t.approvals(&product, &version)).or_raise()?;
        records_list(py, "Approval", &list)
    }

    // ----- deployment requests ------------------------------------------------------------------

    /// Creates a Deployment Request (a draft: it blocks nothing until submitted) and returns
    /// it. `versions` names recorded versions, one per product: `[("api", "1.2.0")]` or
    /// `{"api": "1.2.0"}`. `slots` are required approval types (`"qa"`, or a dict
    /// `{"approval_type": "qa", "optional": False}`), `optional_slots` advisory ones;
    /// `pre_steps` are done before deploying, `post_steps` after. A `template` fills what is
    /// left out. `created_by` may be None when the tracker knows who acts.
    #[pyo3(signature = (
        name, *, versions=None, environments=None, slots=None, optional_slots=None,
        pre_steps=None, post_steps=None, template=None, description=None, release_notes=None,
        issue_links=None, metadata=None, allow_self_approval=None, created_by=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per field of the request"
    )]
    fn create_request<'py>(
        &self,
        py: Python<'py>,
        name: String,
        versions: Option<&Bound<'py, PyAny>>,
        environments: Option<&Bound<'py, PyAny>>,
        slots: Option<&Bound<'py, PyAny>>,
        optional_slots: Option<&Bound<'py, PyAny>>,
        pre_steps: Option<&Bound<'py, PyAny>>,
        post_steps: Option<&Bound<'py, PyAny>>,
        template: Option<String>,
        description: Option<String>,
        release_notes: Option<String>,
        issue_links: Option<&Bound<'py, PyAny>>,
        metadata: Option<&Bound<'py, PyAny>>,
        allow_self_approval: Option<bool>,
        created_by: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut draft = RequestDraft::new(name);
        if let Some(v) = given(versions) {
            draft.versions = requests::version_refs(v, "versions")?;
        }
        draft.environments =
            requests::texts(given(environments), "environments")?.unwrap_or_default();
        draft.slots =
            requests::slot_specs(given(slots), given(optional_slots))?.unwrap_or_default();
        draft.pre_steps = requests::texts(given(pre_steps), "pre_steps")?.unwrap_or_default();
        draft.post_steps = requests::texts(given(post_steps), "post_steps")?.unwrap_or_default();
        draft.template = template;
        draft.description = description;
        draft.context = requests::context(release_notes, given(issue_links), given(metadata))?
            .unwrap_or_default();
        draft.allow_self_approval = allow_self_approval;
        draft.created_by = created_by.unwrap_or_default();
        let t = self.core()?;
        let dr = py.detach(|| t.create_request(&draft)).or_raise()?;
        record(py, "DeploymentRequest", &dr)
    }

    /// Edits a draft Deployment Request (a release, one without slots or steps, also while
    /// submitted): every argument given replaces the request's. `add_versions` adds (or
    /// moves a product to) versions, `remove_versions` removes them by product name or
    /// version id. `release_notes`, `issue_links` and `metadata` replace the context
    /// together: those left out are cleared.
    #[pyo3(signature = (
        id, *, name=None, description=None, release_notes=None, issue_links=None,
        metadata=None, add_versions=None, remove_versions=None, environments=None, slots=None,
        optional_slots=None, pre_steps=None, post_steps=None, allow_self_approval=None,
        actor=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per field of the change"
    )]
    fn update_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        name: Option<String>,
        description: Option<String>,
        release_notes: Option<String>,
        issue_links: Option<&Bound<'py, PyAny>>,
        metadata: Option<&Bound<'py, PyAny>>,
        add_versions: Option<&Bound<'py, PyAny>>,
        remove_versions: Option<&Bound<'py, PyAny>>,
        environments: Option<&Bound<'py, PyAny>>,
        slots: Option<&Bound<'py, PyAny>>,
        optional_slots: Option<&Bound<'py, PyAny>>,
        pre_steps: Option<&Bound<'py, PyAny>>,
        post_steps: Option<&Bound<'py, PyAny>>,
        allow_self_approval: Option<bool>,
        actor: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut change = RequestChange::default();
        change.name = name;
        change.description = description;
        change.context = requests::context(release_notes, given(issue_links), given(metadata))?;
        if let Some(v) = given(add_versions) {
            change.add_versions = requests::version_refs(v, "add_versions")?;
        }
        change.remove_versions =
            requests::texts(given(remove_versions), "remove_versions")?.unwrap_or_default();
        change.environments = requests::texts(given(environments), "environments")?;
        change.slots = requests::slot_specs(given(slots), given(optional_slots))?;
        change.pre_steps = requests::texts(given(pre_steps), "pre_steps")?;
        change.post_steps = requests::texts(given(post_steps), "post_steps")?;
        change.allow_self_approval = allow_self_approval;
        change.actor = actor.unwrap_or_default();
        let t = self.core()?;
        let dr = py.detach(|| t.update_request(&id, &change)).or_raise()?;
        record(py, "DeploymentRequest", &dr)
    }

    /// Submits a draft: from now on it governs the deployments it covers (`in_progress`, or
    /// `approved` at once when it has no required slot).
    #[pyo3(signature = (id, *, comment=None, actor=None, role=None))]
    fn submit_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(RequestAction::Submit, actor, role, comment);
        self.act_on_request(py, &id, &a)
    }

    /// Fills the first pending slot of `approval_type` with an approval by `actor` (whose
    /// `role` must be one that may grant the type). Every required slot approved makes the
    /// request `approved`.
    #[pyo3(signature = (id, approval_type, *, comment=None, actor=None, role=None))]
    fn approve_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        approval_type: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(
            RequestAction::Approve { approval_type },
            actor,
            role,
            comment,
        );
        self.act_on_request(py, &id, &a)
    }

    /// Fills the first pending slot of `approval_type` with a rejection; `comment` (why) is
    /// required. A rejected required slot makes the request `rejected`: its deployments stay
    /// blocked until it is deactivated and reworked.
    #[pyo3(signature = (id, approval_type, *, comment, actor=None, role=None))]
    fn reject_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        approval_type: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(
            RequestAction::Reject { approval_type },
            actor,
            role,
            comment,
        );
        self.act_on_request(py, &id, &a)
    }

    /// Marks the step whose text is `step` done. A pre-deployment step unblocks deploying
    /// once the request is approved; a post-deployment step can be done once every
    /// deployment succeeded, and the last one completes the request.
    #[pyo3(signature = (id, step, *, comment=None, actor=None, role=None))]
    fn request_step_done<'py>(
        &self,
        py: Python<'py>,
        id: String,
        step: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(RequestAction::StepDone { step }, actor, role, comment);
        self.act_on_request(py, &id, &a)
    }

    /// Returns a submitted request to draft, clearing every slot decision.
    #[pyo3(signature = (id, *, comment=None, actor=None, role=None))]
    fn deactivate_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(RequestAction::Deactivate, actor, role, comment);
        self.act_on_request(py, &id, &a)
    }

    /// Cancels an open request (draft, in progress, approved or rejected).
    #[pyo3(signature = (id, *, comment=None, actor=None, role=None))]
    fn cancel_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(RequestAction::Cancel, actor, role, comment);
        self.act_on_request(py, &id, &a)
    }

    /// Completes a submitted release (a request without slots or steps) by hand; a request
    /// with slots or steps completes by itself when deployed and its post-steps are done.
    #[pyo3(signature = (id, *, comment=None, actor=None, role=None))]
    fn complete_request<'py>(
        &self,
        py: Python<'py>,
        id: String,
        comment: Option<String>,
        actor: Option<String>,
        role: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = requests::action(RequestAction::Complete, actor, role, comment);
        self.act_on_request(py, &id, &a)
    }

    /// One Deployment Request by id.
    fn request<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let dr = py.detach(|| t.request(&id)).or_raise()?;
        record(py, "DeploymentRequest", &dr)
    }

    /// Deployment Requests, newest first, narrowed by `status` (`"draft"`, `"in_progress"`,
    /// `"approved"`, `"rejected"`, `"completed"`, `"cancelled"`), `product`, `environment`,
    /// and to releases (no slots, no steps) with `releases_only`.
    #[pyo3(signature = (*, status=None, product=None, environment=None, releases_only=false))]
    fn requests<'py>(
        &self,
        py: Python<'py>,
        status: Option<String>,
        product: Option<String>,
        environment: Option<String>,
        releases_only: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let q = requests::query(status, product, environment, releases_only)?;
        let t = self.core()?;
        let list = py.detach(|| t.requests(&q)).or_raise()?;
        records_list(py, "DeploymentRequest", &list)
    }

    /// A request's progress: one cell per product version × environment, deployed or not.
    fn request_progress<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let p = py.detach(|| t.request_progress(&id)).or_raise()?;
        record(py, "Progress", &p)
    }

    /// Every Deployment Request template, by name.
    fn request_templates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let list = py.detach(|| t.request_templates()).or_raise()?;
        records_list(py, "RequestTemplate", &list)
    }

    /// Adds or replaces templates by name, all or none, and returns them as stored.
    /// `templates` is template-file text (TOML `[[templates]]`, or JSON
    /// `{"templates": [...]}`), a path to such a file, that dict, or a list of template dicts
    /// or RequestTemplate records.
    fn put_request_templates<'py>(
        &self,
        py: Python<'py>,
        templates: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let templates = requests::templates(templates)?;
        let t = self.core()?;
        let list = py
            .detach(|| t.put_request_templates(&templates))
            .or_raise()?;
        records_list(py, "RequestTemplate", &list)
    }

    /// Removes the template `name` (requests created from it keep what it filled in).
    fn delete_request_template(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let t = self.core()?;
        py.detach(|| t.delete_request_template(&name)).or_raise()
    }

    // ----- queries ----------------------------------------------------------------------------

    /// Versions of a product, newest first.
    #[pyo3(signature = (product_name=None, limit=50, offset=0, *, product=None))]
    fn versions<'py>(
        &self,
        py: Python<'py>,
        product_name: Option<String>,
        limit: i64,
        offset: i64,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let product = naming::required(
            "versions",
            "product_name",
            naming::renamed(
                py,
                "versions",
                ("product_name", product_name),
                ("product", product),
            )?,
        )?;
        let page = Page {
            limit: count(limit, "limit")?,
            offset: count(offset, "offset")?,
        };
        let t = self.core()?;
        let list = py.detach(|| t.versions(&product, page)).or_raise()?;
        records_list(py, "Version", &list)
    }

    /// One version of a product.
    #[pyo3(signature = (product_name=None, version=None, *, product=None))]
    fn version<'py>(
        &self,
        py: Python<'py>,
        product_name: Option<String>,
        version: Option<&Bound<'py, PyAny>>,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let product = naming::required(
            "version",
            "product_name",
            naming::renamed(
                py,
                "version",
                ("product_name", product_name),
                ("product", product),
            )?,
        )?;
        let version = naming::required("version", "version", version)?;
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let t = self.core()?;
        let v = py.detach(|| t.version(&product, &version)).or_raise()?;
        record(py, "Version", &v)
    }

    /// A version by its id.
    fn version_by_id<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let v = py.detach(|| t.version_by_id(&id)).or_raise()?;
        record(py, "Version", &v)
    }

    /// Versions built from a commit; an abbreviated SHA (4+ hex characters) matches by prefix.
    fn versions_by_sha<'py>(&self, py: Python<'py>, sha: String) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let list = py.detach(|| t.versions_by_sha(&sha)).or_raise()?;
        records_list(py, "Version", &list)
    }

    /// Deployment history, newest first, filtered by any of the arguments.
    #[pyo3(signature = (
        *, product_name=None, environment_name=None, version=None, status=None, since=None,
        until=None, limit=None, preflight=None, product=None, environment=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per history filter"
    )]
    fn history<'py>(
        &self,
        py: Python<'py>,
        product_name: Option<String>,
        environment_name: Option<String>,
        version: Option<&Bound<'py, PyAny>>,
        status: Option<String>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        limit: Option<i64>,
        preflight: Option<String>,
        product: Option<String>,
        environment: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let product = naming::renamed(
            py,
            "history",
            ("product_name", product_name),
            ("product", product),
        )?;
        let environment = naming::renamed(
            py,
            "history",
            ("environment_name", environment_name),
            ("environment", environment),
        )?;
        let mut q = HistoryQuery::new();
        q.preflight = preflight
            .as_deref()
            .map(str::parse)
            .transpose()
            .or_raise()?;
        q.product = product;
        q.environment = environment;
        q.version = text_or_int(version, "version")?;
        q.status = status
            .as_deref()
            .map(Status::parse)
            .transpose()
            .or_raise()?;
        q.since = opt_instant(since, "since")?;
        q.until = opt_instant(until, "until")?;
        q.limit = limit.map(|n| count(n, "limit")).transpose()?;
        let t = self.core()?;
        let list = py.detach(|| t.history(&q)).or_raise()?;
        records_list(py, "Deployment", &list)
    }

    /// What is deployed where, now or as of the instant `at`.
    #[pyo3(signature = (at=None))]
    fn state<'py>(
        &self,
        py: Python<'py>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let at = opt_instant(at, "at")?;
        let t = self.core()?;
        let matrix = py.detach(|| t.state(at)).or_raise()?;
        let mut wire = to_json(&matrix)?;
        if let Some(m) = wire.as_object_mut() {
            m.insert("table".into(), serde_json::Value::String(matrix.to_table()));
        }
        record(py, "StateMatrix", &wire)
    }

    /// Products whose environments hold different versions (now, or as of `at`), considering
    /// only `environments` when given.
    #[pyo3(signature = (at=None, environments=None))]
    fn drift<'py>(
        &self,
        py: Python<'py>,
        at: Option<&Bound<'py, PyAny>>,
        environments: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let at = opt_instant(at, "at")?;
        let t = self.core()?;
        let list = py
            .detach(|| t.drift(at, environments.as_deref()))
            .or_raise()?;
        records_list(py, "Drift", &list)
    }

    /// The four keys (DORA metrics) over `[since, until)` with their bands and the
    /// definitions used, as a dict in the JSON shape of `GET /metrics/dora`
    /// (`report["deployment_frequency"]["per_day"]`, `report["change_failure_rate"]`, …).
    #[pyo3(signature = (since, until, product=None, environments=None, frequency=None, rollbacks=None, by=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per definition option"
    )]
    fn dora<'py>(
        &self,
        py: Python<'py>,
        since: &Bound<'py, PyAny>,
        until: &Bound<'py, PyAny>,
        product: Option<String>,
        environments: Option<Vec<String>>,
        frequency: Option<String>,
        rollbacks: Option<String>,
        by: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut q = versioner_core::insights::DoraQuery::new(
            instant(since, "since")?,
            instant(until, "until")?,
        );
        q.product = product;
        q.environments = environments.unwrap_or_default();
        if let Some(f) = frequency {
            q.frequency = f.parse().or_raise()?;
        }
        if let Some(r) = rollbacks {
            q.rollbacks = r.parse().or_raise()?;
        }
        q.by = by.as_deref().map(str::parse).transpose().or_raise()?;
        let t = self.core()?;
        let report = py.detach(|| t.dora(&q)).or_raise()?;
        json_to_py(py, &to_json(&report)?)
    }

    /// Imports a history file's text (JSON Lines: one build or deployment event per line,
    /// with its own times): every line validated, applied in time order in one transaction,
    /// lines imported before skipped. Returns the report as a dict (`lines`, `builds`,
    /// `deployments`, `skipped`, `dry_run`); with `dry_run=True` nothing is written.
    #[pyo3(signature = (text, *, dry_run=false))]
    fn import_events<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        dry_run: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode = if dry_run {
            versioner_core::import::ImportMode::DryRun
        } else {
            versioner_core::import::ImportMode::Apply
        };
        let t = self.core()?;
        let report = py.detach(|| t.import_events(text, mode)).or_raise()?;
        json_to_py(py, &to_json(&report)?)
    }

    /// Every build and deployment as a history file (JSON Lines, in time order), the text
    /// `import_events` reads.
    fn export_events(&self, py: Python<'_>) -> PyResult<String> {
        let t = self.core()?;
        let out = py
            .detach(|| {
                let mut out = Vec::new();
                t.export_events(&mut out).map(|_| out)
            })
            .or_raise()?;
        String::from_utf8(out).map_err(|e| {
            crate::errors::to_py_err(versioner_core::Error::internal(format!(
                "the export is not UTF-8: {e}"
            )))
        })
    }

    /// How far `behind` runs behind `ahead` for each product (or one), as a list of dicts in
    /// the JSON shape of `GET /skew` (`versions_behind`, `versions`, `behind_since`,
    /// `seconds_behind`, …).
    #[pyo3(signature = (ahead, behind, product=None))]
    fn skew<'py>(
        &self,
        py: Python<'py>,
        ahead: String,
        behind: String,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut q = versioner_core::skew::SkewQuery::new(ahead, behind);
        q.product = product;
        let t = self.core()?;
        let list = py.detach(|| t.skew(&q)).or_raise()?;
        json_to_py(py, &to_json(&list)?)
    }

    /// The versions current in `environment` for longer than `older_than` (a duration such as
    /// `"14d"`) that never reached any of `promoted_to` (default: every production
    /// environment), as a list of dicts in the JSON shape of `GET /stale`.
    #[pyo3(signature = (environment, older_than, promoted_to=None))]
    fn stale<'py>(
        &self,
        py: Python<'py>,
        environment: String,
        older_than: String,
        promoted_to: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = serde_json::json!({
            "environment": environment,
            "older_than": older_than,
            "promoted_to": promoted_to.unwrap_or_default(),
        });
        let q = versioner_core::wire::stale_query(&filter).or_raise()?;
        let t = self.core()?;
        let list = py.detach(|| t.stale(&q)).or_raise()?;
        json_to_py(py, &to_json(&list)?)
    }

    /// Every product, by name.
    fn products<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let list = py.detach(|| t.products()).or_raise()?;
        records_list(py, "Product", &list)
    }

    /// Every environment, from development to production.
    fn environments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let t = self.core()?;
        let list = py.detach(|| t.environments()).or_raise()?;
        records_list(py, "Environment", &list)
    }

    /// Overrides an environment's type ("dev", "test", "staging", "production", "other"), or
    /// with None returns it to inference from the name. Creates the environment if needed.
    #[pyo3(signature = (name, r#type))]
    fn set_environment_type<'py>(
        &self,
        py: Python<'py>,
        name: String,
        r#type: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ty = r#type
            .as_deref()
            .map(EnvironmentType::from_str)
            .transpose()
            .or_raise()?;
        let t = self.core()?;
        let env = py.detach(|| t.set_environment_type(&name, ty)).or_raise()?;
        record(py, "Environment", &env)
    }

    /// A product by name or id.
    fn product<'py>(&self, py: Python<'py>, product_name: String) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let p = py.detach(|| t.product(&product_name)).or_raise()?;
        record(py, "Product", &p)
    }

    /// An environment by name or id.
    fn environment<'py>(
        &self,
        py: Python<'py>,
        environment_name: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.core()?;
        let e = py.detach(|| t.environment(&environment_name)).or_raise()?;
        record(py, "Environment", &e)
    }

    /// Renames a product (`name=`: the id and its history stay; the old name no longer
    /// resolves) or changes its `description` ("" removes it) or `extra_metadata` (replaced
    /// whole; {} removes it). Refused while a rule names the old name.
    #[pyo3(signature = (product_name, *, name=None, description=None, extra_metadata=None))]
    fn update_product<'py>(
        &self,
        py: Python<'py>,
        product_name: String,
        name: Option<String>,
        description: Option<String>,
        extra_metadata: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let change = catalog_change(name, description, extra_metadata)?;
        let t = self.core()?;
        let p = py
            .detach(|| t.update_product(&product_name, &change))
            .or_raise()?;
        record(py, "Product", &p)
    }

    /// Renames an environment or changes its description or metadata (as `update_product`;
    /// its type has `set_environment_type`).
    #[pyo3(signature = (environment_name, *, name=None, description=None, extra_metadata=None))]
    fn update_environment<'py>(
        &self,
        py: Python<'py>,
        environment_name: String,
        name: Option<String>,
        description: Option<String>,
        extra_metadata: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let change = catalog_change(name, description, extra_metadata)?;
        let t = self.core()?;
        let e = py
            .detach(|| t.update_environment(&environment_name, &change))
            .or_raise()?;
        record(py, "Environment", &e)
    }

    // ----- decisions ----------------------------------------------------------------------------

    /// The recorded preflight decisions where a rule failed — refused (`blocked`), let
    /// through with report-only failures (`reported`) or `bypassed` — newest first, narrowed
    /// by every filter given. The filters are read by the core exactly as the server reads
    /// `GET /deployment-rules/violations`.
    #[pyo3(signature = (
        *, rule=None, product_name=None, environment_name=None, since=None, until=None,
        outcome=None, limit=None, product=None, environment=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one keyword argument per violations filter"
    )]
    fn violations<'py>(
        &self,
        py: Python<'py>,
        rule: Option<&Bound<'py, PyAny>>,
        product_name: Option<&Bound<'py, PyAny>>,
        environment_name: Option<&Bound<'py, PyAny>>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        outcome: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
        product: Option<&Bound<'py, PyAny>>,
        environment: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let product = naming::renamed(
            py,
            "violations",
            ("product_name", given(product_name)),
            ("product", given(product)),
        )?;
        let environment = naming::renamed(
            py,
            "violations",
            ("environment_name", given(environment_name)),
            ("environment", given(environment)),
        )?;
        let mut filters = serde_json::Map::new();
        for (key, value) in [
            ("rule", rule),
            ("product", product),
            ("environment", environment),
            ("since", since),
            ("until", until),
            ("outcome", outcome),
            ("limit", limit),
        ] {
            if let Some(v) = value.filter(|v| !v.is_none()) {
                filters.insert(key.into(), py_to_json(v, key)?);
            }
        }
        let query = versioner_core::wire::violation_query(&serde_json::Value::Object(filters))
            .or_raise()?;
        let t = self.core()?;
        let list = py.detach(|| t.violations(&query)).or_raise()?;
        records_list(py, "DecisionRecord", &list)
    }

    // ----- lifecycle --------------------------------------------------------------------------

    /// Lets go of the database (or the server connection): later calls raise
    /// InvalidInputError. Calls already running on other threads finish first. Closing twice
    /// is harmless.
    fn close(&self) {
        let core = self
            .core
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropped outside the lock.
        drop(core);
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes; an exception raised in the block propagates.
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close();
    }
}
