//! The methods `Versioner` and `Client` share: the core's [`Tracker`] surface plus
//! `close()`, written once and stamped onto both classes by [`tracker_methods!`].
//!
//! Each method parses its arguments ([`crate::input`], [`crate::options`]), makes one core
//! call on the thread pool ([`crate::task::Op`]) and converts the result
//! ([`crate::records`]). A bad argument rejects the returned promise like any other error.
//!
//! [`Tracker`]: versioner_core::Tracker

use napi::bindgen_prelude::Unknown;
use versioner_core::input::PolicyInput;

use crate::input;
use crate::options::{ApplyOptions, PolicyDocument, RuleDefinition, into_core};

/// Parses `value` as required options of type `O` and converts them to the core request `C`.
pub(crate) fn request<O, C>(value: &Unknown<'_>) -> versioner_core::Result<C>
where
    O: serde::de::DeserializeOwned + serde::Serialize,
    C: serde::de::DeserializeOwned,
{
    into_core::<O, C>(&input::options::<O>(value, "options", false)?)
}

/// A wait limit in milliseconds as the core's duration (`INVALID_INPUT` naming `waitMs` for a
/// negative, fractional-NaN or over-an-hour value).
pub(crate) fn wait_of(ms: Option<f64>) -> versioner_core::Result<Option<std::time::Duration>> {
    let Some(ms) = ms else { return Ok(None) };
    if !ms.is_finite() || ms < 0.0 {
        return Err(versioner_core::Error::invalid(
            "waitMs",
            format!("`{ms}` is not a number of milliseconds"),
        ));
    }
    let wait = std::time::Duration::from_secs_f64(ms / 1000.0);
    versioner_core::queue::check_wait(wait, "waitMs")?;
    Ok(Some(wait))
}

/// The policy `applyPolicy` was given as the core's [`PolicyInput`]: a string is policy text or
/// the name of a policy file ([`PolicyInput::text_or_path`], as in Python); `{ rules: [...] }`
/// or an array of rules (camelCase, as `addRule` takes them) is the policy itself. The core
/// reads it, detecting the format of text given without one.
pub(crate) fn policy_input(
    value: &Unknown<'_>,
    options: Option<&ApplyOptions>,
) -> versioner_core::Result<PolicyInput> {
    let format = options.map(ApplyOptions::format).transpose()?.flatten();
    let json = match input::to_json(value, "policy")? {
        serde_json::Value::String(text) => return Ok(PolicyInput::text_or_path(text, format)),
        json @ serde_json::Value::Object(_) => {
            let doc: PolicyDocument = input::deserialize(json, "policy")?;
            serde_json::to_value(serde_json::json!({ "rules": doc.rules }))
        }
        json @ serde_json::Value::Array(_) => {
            let rules: Vec<RuleDefinition> = input::deserialize(json, "policy")?;
            serde_json::to_value(rules)
        }
        other => {
            return Err(versioner_core::Error::invalid(
                "policy",
                format!(
                    "must be an object with `rules`, an array of rules or policy text; found {}",
                    input::kind(&other)
                ),
            ));
        }
    }
    .map_err(|e| versioner_core::Error::internal(format!("cannot convert a policy: {e}")))?;
    PolicyInput::from_value(json, format)
}

/// What [`tracker_methods!`] expands against: glob-import it where the macro is used.
pub(crate) mod prelude {
    pub(crate) use napi::Env;
    pub(crate) use napi::bindgen_prelude::{AsyncTask, Either, Function, PromiseRaw, Unknown};
    pub(crate) use napi_derive::napi;
    pub(crate) use versioner_core::{BuildEvent, CheckRequest, Page};

    pub(crate) use super::{policy_input, request};
    pub(crate) use crate::input;
    pub(crate) use crate::options::{
        ApplyOptions, BuildOptions, CatalogChangeOptions, CheckOptions, DoraOptions, DriftOptions,
        HistoryOptions, ImportOptions, PageOptions, RevokeOptions, RuleDefinition,
        RuleStatusOptions, SkewOptions, StaleOptions, StateOptions, ViolationsOptions,
    };
    pub(crate) use crate::records::{
        ApplyReport, Approval, Build, DecisionRecord, Deployment, DoraReport, Drift, Environment,
        ImportReport, Product, RuleStatusChange, StateMatrix, StoredRule, Verdict, Version,
        from_core,
    };
    pub(crate) use crate::records::{DeploymentRequest, Progress, QueueEntry, RequestTemplate};
    pub(crate) use crate::records::{Skew, StaleVersion};
    pub(crate) use crate::requests::{
        Call, RequestChangeOptions, RequestOptions, RequestStepOptions, RequestsOptions,
        rename_fields,
    };
    pub(crate) use crate::task::Op;
    pub(crate) use versioner_core::RequestAction;
    pub(crate) use versioner_core::input::PolicyInput;
}

/// Acts on the Deployment Request `id` through the core's `act_on_request`: the shared body
/// of `submitRequest`, `approveRequest`, `requestStepDone`, ... (`action` already parsed, or
/// the parse error). An `INVALID_INPUT` names the option the caller wrote (`role`, not
/// `actor_role`).
pub(crate) fn act(
    backend: versioner_core::Result<crate::backend::Backend>,
    id: versioner_core::Result<String>,
    action: versioner_core::Result<versioner_core::RequestActionRequest>,
) -> napi::bindgen_prelude::AsyncTask<crate::task::Op<crate::records::DeploymentRequest>> {
    crate::task::Op::run(move || {
        let (b, id, action) = (backend?, id?, action?);
        let dr = b
            .tracker()
            .act_on_request(&id, &action)
            .map_err(|e| crate::requests::rename_fields(e, crate::requests::Call::Other))?;
        crate::records::from_core(&dr)
    })
}

/// `trackDeployment`'s work, for the promise and the synchronous variant alike: the
/// arguments parsed now (an error is kept for the call to report), the core call when run.
pub(crate) fn track_deployment_job(
    backend: versioner_core::Result<crate::backend::Backend>,
    options: &Unknown<'_>,
    track: &Unknown<'_>,
) -> impl FnOnce() -> versioner_core::Result<crate::records::Deployment> + Send + 'static {
    use crate::options::{DeploymentOptions, TrackOptions};
    let event = request::<DeploymentOptions, versioner_core::DeploymentEvent>(options);
    let track =
        input::options::<TrackOptions>(track, "track", true).and_then(|t| wait_of(t.wait_ms));
    move || {
        let (event, wait, b) = (event?, track?, backend?);
        let t = b.tracker();
        Ok(crate::records::Deployment::from(match wait {
            None => t.track_deployment(&event)?,
            Some(wait) => t.track_deployment_waiting(&event, wait, &mut |_| {})?,
        }))
    }
}

/// Parses the optional options of a Deployment Request action and builds the action.
pub(crate) fn action_options(
    options: &Unknown<'_>,
    action: versioner_core::Result<versioner_core::RequestAction>,
) -> versioner_core::Result<versioner_core::RequestActionRequest> {
    let o = input::options::<crate::requests::RequestActionOptions>(options, "options", true)?;
    Ok(o.into_core(action?))
}

/// Stamps the shared methods onto a `#[napi]` class with a `backend: Slot` field.
macro_rules! tracker_methods {
    ($class:ident) => {
        #[napi]
        impl $class {
            /// Records a build event. Creates the product and version on first sight; the
            /// first SHA recorded for a version is permanent.
            ///
            /// Rejects with `INVALID_INPUT` (naming the option in `field`),
            /// `VERSION_CONFLICT` or `STORAGE`; nothing is written on error.
            #[napi(
                catch_unwind,
                ts_args_type = "options: BuildOptions",
                ts_return_type = "Promise<Build>"
            )]
            pub fn track_build(&self, options: Unknown<'_>) -> AsyncTask<Op<Build>> {
                let b = self.backend.open();
                let event = request::<BuildOptions, BuildEvent>(&options);
                Op::run(move || Ok(Build::from(b?.tracker().track_build(&event?)?)))
            }

            /// Records a deployment event. `started` runs the preflight and, when every
            /// enabled rule holds, opens the deployment; `completed`, `failed` and `aborted`
            /// close the newest open one of the same product, version and environment (or
            /// record a closed one).
            ///
            /// A refused deployment rejects with its blocking code (`CONCURRENT_DEPLOYMENT`,
            /// `NO_DEPLOY_WINDOW`, `FLOW_VIOLATION`, `INSUFFICIENT_SOAK_TIME`,
            /// `APPROVAL_REQUIRED`, `QUALITY_APPROVAL_REQUIRED`, `DEPLOYMENT_REQUEST_PENDING`,
            /// `DEPLOYMENT_REQUEST_REQUIRED`) and `httpStatus`,
            /// `retryAfter`, `ruleName`, `violations` and `verdict`. Other errors:
            /// `INVALID_INPUT`, `VERSION_CONFLICT`, `STORAGE`.
            ///
            /// With `{ waitMs }`, a `started` event blocked by something time alone clears
            /// (a window, a soak, a deployment in progress) waits up to `waitMs` in its
            /// environment's queue, in arrival order, and resolves when the block clears;
            /// past the limit it rejects with the block. A block time cannot clear rejects at
            /// once.
            #[napi(
                catch_unwind,
                ts_args_type = "options: DeploymentOptions, track?: TrackOptions | undefined | null",
                ts_return_type = "Promise<Deployment>"
            )]
            pub fn track_deployment(
                &self,
                options: Unknown<'_>,
                track: Unknown<'_>,
            ) -> AsyncTask<Op<Deployment>> {
                Op::run(crate::surface::track_deployment_job(
                    self.backend.open(),
                    &options,
                    &track,
                ))
            }

            /// The deployments waiting in the wait queue, of one environment or of all,
            /// each environment's in arrival order with its `position` from 1.
            #[napi(
                catch_unwind,
                ts_args_type = "environment?: string | undefined | null",
                ts_return_type = "Promise<Array<QueueEntry>>"
            )]
            pub fn queue(&self, environment: Unknown<'_>) -> AsyncTask<Op<Vec<QueueEntry>>> {
                let b = self.backend.open();
                let environment = input::opt_string(&environment, "environment");
                Op::run(move || {
                    let environment = environment?;
                    b?.tracker()
                        .queue(environment.as_deref())?
                        .iter()
                        .map(from_core)
                        .collect()
                })
            }

            /// Evaluates the preflight for a would-be deployment, now or at `at`, recording
            /// nothing. Resolves to the verdict (allowed or blocked) with every rule's
            /// outcome.
            #[napi(
                catch_unwind,
                ts_args_type = "options: CheckOptions",
                ts_return_type = "Promise<Verdict>"
            )]
            pub fn check(&self, options: Unknown<'_>) -> AsyncTask<Op<Verdict>> {
                let b = self.backend.open();
                let req = request::<CheckOptions, CheckRequest>(&options);
                Op::run(move || Ok(Verdict::from(&b?.tracker().check(&req?)?)))
            }

            /// `trackBuild` on the calling thread: returns the build itself, or throws the
            /// error the promise would reject with. It blocks the event loop until the build
            /// is durable (about one commit): for scripts and CLIs; servers keep the promise.
            #[napi(
                catch_unwind,
                ts_args_type = "options: BuildOptions",
                ts_return_type = "Build"
            )]
            pub fn track_build_sync(&self, env: &Env, options: Unknown<'_>) -> napi::Result<Build> {
                let b = self.backend.open();
                let event = request::<BuildOptions, BuildEvent>(&options);
                crate::error::guard(env, || Ok(Build::from(b?.tracker().track_build(&event?)?)))
            }

            /// `trackDeployment` on the calling thread: returns the deployment itself, or
            /// throws the error the promise would reject with (a refusal with its code,
            /// `retryAfter` and `verdict`). It blocks the event loop until the event is durable
            /// (with `{ waitMs }`, for as long as it waits in the queue): for scripts and CLIs;
            /// servers keep the promise.
            #[napi(
                catch_unwind,
                ts_args_type = "options: DeploymentOptions, track?: TrackOptions | undefined | null",
                ts_return_type = "Deployment"
            )]
            pub fn track_deployment_sync(
                &self,
                env: &Env,
                options: Unknown<'_>,
                track: Unknown<'_>,
            ) -> napi::Result<Deployment> {
                crate::error::guard(
                    env,
                    crate::surface::track_deployment_job(self.backend.open(), &options, &track),
                )
            }

            /// `check` on the calling thread: returns the verdict itself (allowed or
            /// blocked; only a bad argument or a storage failure throws). It blocks the event
            /// loop for the check (tens of microseconds in process, a round trip with a
            /// `Client`), and skips the thread-pool hop that costs more than the check itself:
            /// for scripts, CLIs and tight loops; servers keep the promise.
            #[napi(
                catch_unwind,
                ts_args_type = "options: CheckOptions",
                ts_return_type = "Verdict"
            )]
            pub fn check_sync(&self, env: &Env, options: Unknown<'_>) -> napi::Result<Verdict> {
                let b = self.backend.open();
                let req = request::<CheckOptions, CheckRequest>(&options);
                crate::error::guard(env, || Ok(Verdict::from(&b?.tracker().check(&req?)?)))
            }

            /// With an id: the deployment (rejects with `NOT_FOUND`).
            ///
            /// Deprecated (removed in the next release, with a `DeprecationWarning` now): with
            /// options and a callback, as `deploying(options, callback)`: sends `started` (which runs the preflight and
            /// may reject; then nothing is recorded), calls `callback` with the started
            /// deployment, then sends `completed` and resolves to the callback's result —
            /// or, when the callback throws or rejects, sends `failed` and rejects with the
            /// callback's own error.
            #[napi(
                catch_unwind,
                ts_generic_types = "T = Deployment",
                ts_args_type = "idOrOptions: string | Omit<DeploymentOptions, 'status'>, callback?: (deployment: Deployment) => T | Promise<T>",
                ts_return_type = "Promise<T>"
            )]
            pub fn deployment<'env>(
                &self,
                env: &'env Env,
                id_or_options: Unknown<'env>,
                callback: Option<
                    Either<Function<'env, Unknown<'env>, Unknown<'env>>, Unknown<'env>>,
                >,
            ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
                match self.backend.open() {
                    Ok(b) => crate::helper::deployment(env, &b, &id_or_options, callback),
                    Err(e) => crate::helper::rejected(env, &e),
                }
            }

            /// Tracks one deployment around `callback`: sends `started` (which runs the
            /// preflight and may reject; then nothing is recorded), calls `callback` with the
            /// started deployment, then sends `completed` and resolves to the callback's
            /// result — or, when the callback throws or rejects, sends `failed` and rejects
            /// with the callback's own error.
            #[napi(
                catch_unwind,
                ts_generic_types = "T = Deployment",
                ts_args_type = "options: Omit<DeploymentOptions, 'status'>, callback: (deployment: Deployment) => T | Promise<T>",
                ts_return_type = "Promise<T>"
            )]
            pub fn deploying<'env>(
                &self,
                env: &'env Env,
                options: Unknown<'env>,
                callback: Option<
                    Either<Function<'env, Unknown<'env>, Unknown<'env>>, Unknown<'env>>,
                >,
            ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
                match self.backend.open() {
                    Ok(b) => crate::helper::deploying(env, &b, &options, callback),
                    Err(e) => crate::helper::rejected(env, &e),
                }
            }

            /// Every rule, in evaluation order.
            #[napi(catch_unwind, ts_return_type = "Promise<Array<StoredRule>>")]
            pub fn rules(&self) -> AsyncTask<Op<Vec<StoredRule>>> {
                let b = self.backend.open();
                Op::run(move || b?.tracker().rules()?.iter().map(from_core).collect())
            }

            /// A rule by name (rejects with `NOT_FOUND`).
            #[napi(
                catch_unwind,
                ts_args_type = "name: string",
                ts_return_type = "Promise<StoredRule>"
            )]
            pub fn rule(&self, name: Unknown<'_>) -> AsyncTask<Op<StoredRule>> {
                let b = self.backend.open();
                let name = input::string(&name, "name");
                Op::run(move || from_core(&b?.tracker().rule(&name?)?))
            }

            /// Adds a rule at the end of the evaluation order. Rejects with
            /// `INVALID_INPUT` (every problem in `problems`) when the rule is invalid or its
            /// name is taken.
            #[napi(
                catch_unwind,
                ts_args_type = "rule: RuleDefinition",
                ts_return_type = "Promise<StoredRule>"
            )]
            pub fn add_rule(&self, rule: Unknown<'_>) -> AsyncTask<Op<StoredRule>> {
                let b = self.backend.open();
                let rule = input::options::<RuleDefinition>(&rule, "rule", false)
                    .and_then(|r| r.to_rule());
                Op::run(move || from_core(&b?.tracker().add_rule(&rule?)?))
            }

            /// Replaces the rule named `name` (the new definition may rename it); a status
            /// change is recorded in the rule's history.
            #[napi(
                catch_unwind,
                ts_args_type = "name: string, rule: RuleDefinition",
                ts_return_type = "Promise<StoredRule>"
            )]
            pub fn update_rule(
                &self,
                name: Unknown<'_>,
                rule: Unknown<'_>,
            ) -> AsyncTask<Op<StoredRule>> {
                let b = self.backend.open();
                let name = input::string(&name, "name");
                let rule = input::options::<RuleDefinition>(&rule, "rule", false)
                    .and_then(|r| r.to_rule());
                Op::run(move || from_core(&b?.tracker().update_rule(&name?, &rule?)?))
            }

            /// Deletes a rule (rejects with `NOT_FOUND`).
            #[napi(
                catch_unwind,
                ts_args_type = "name: string",
                ts_return_type = "Promise<void>"
            )]
            pub fn delete_rule(&self, name: Unknown<'_>) -> AsyncTask<Op<()>> {
                let b = self.backend.open();
                let name = input::string(&name, "name");
                Op::run(move || b?.tracker().delete_rule(&name?))
            }

            /// The status history of one rule, or of every rule, oldest first: who changed
            /// a status, when and why. Empty for a name without recorded changes; a deleted
            /// rule keeps its history.
            #[napi(
                catch_unwind,
                ts_args_type = "name?: string | undefined | null",
                ts_return_type = "Promise<Array<RuleStatusChange>>"
            )]
            pub fn rule_history(&self, name: Unknown<'_>) -> AsyncTask<Op<Vec<RuleStatusChange>>> {
                let b = self.backend.open();
                let name = input::opt_string(&name, "name");
                Op::run(move || {
                    b?.tracker()
                        .rule_history(name?.as_deref())?
                        .iter()
                        .map(from_core)
                        .collect()
                })
            }

            /// Changes a rule's status (`enabled`, `report_only`, `disabled`), recording
            /// who, when and why. `actor` may be left out when the instance knows who acts (a
            /// `Client`: its key's principal; a `Versioner` acting as someone); given, it must
            /// be that name.
            #[napi(
                catch_unwind,
                ts_args_type = "name: string, options: RuleStatusOptions",
                ts_return_type = "Promise<StoredRule>"
            )]
            pub fn set_rule_status(
                &self,
                name: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<StoredRule>> {
                let b = self.backend.open();
                let name = input::string(&name, "name");
                let opts = input::options::<RuleStatusOptions>(&options, "options", false);
                Op::run(move || {
                    let (name, o) = (name?, opts?);
                    let status = o.status.parse::<versioner_core::RuleStatus>()?;
                    from_core(&b?.tracker().set_rule_status(&name, status, &o.actor, &o.reason)?)
                })
            }

            /// Applies a policy — `{ rules: [...] }`, an array of rules, policy text (TOML or
            /// JSON: detected when `format` is not given, as in every binding) or the name of a
            /// policy file (one line ending in `.toml` or `.json`, or naming an existing file)
            /// — in one step: `replace` (default) makes it the whole rule set, `merge` adds or
            /// updates rules by name. An invalid policy is refused whole: `INVALID_INPUT` with
            /// every problem in `problems`.
            #[napi(
                catch_unwind,
                ts_args_type = "policy: PolicyDocument | Array<RuleDefinition> | string, options?: ApplyOptions | undefined | null",
                ts_return_type = "Promise<ApplyReport>"
            )]
            pub fn apply_policy(
                &self,
                policy: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<ApplyReport>> {
                let b = self.backend.open();
                let opts = input::options::<ApplyOptions>(&options, "options", true);
                let policy = policy_input(&policy, opts.as_ref().ok());
                Op::run(move || {
                    let (o, policy, b) = (opts?, policy?, b?);
                    let t = b.tracker();
                    from_core(&t.apply_policy_input(&policy, o.mode()?, &o.actor(t))?)
                })
            }

            /// Reads a policy file here and applies it (in `format`, else `.json` is JSON and
            /// anything else TOML).
            #[napi(
                catch_unwind,
                ts_args_type = "path: string, options?: ApplyOptions | undefined | null",
                ts_return_type = "Promise<ApplyReport>"
            )]
            pub fn apply_policy_file(
                &self,
                path: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<ApplyReport>> {
                let b = self.backend.open();
                let path = input::string(&path, "path");
                let opts = input::options::<ApplyOptions>(&options, "options", true);
                Op::run(move || {
                    let (path, o) = (path?, opts?);
                    let policy = PolicyInput::file(path, o.format()?);
                    let b = b?;
                    let t = b.tracker();
                    from_core(&t.apply_policy_input(&policy, o.mode()?, &o.actor(t))?)
                })
            }

            /// Records an approval of a recorded version by its actor, with the actor's role: a
            /// `Client`'s key principal, a `Versioner`'s actor (`actingAs`), else `approver`
            /// (with `approverRole` for an approver that is not a registered principal).
            /// Rejects with `INVALID_INPUT` for a type outside the catalog (naming the accepted
            /// ones) or an `approver` / `approverRole` that is not the caller's, `FORBIDDEN`
            /// when the role may not grant the type, `NOT_FOUND` when the product or version
            /// was never recorded.
            #[napi(
                catch_unwind,
                ts_args_type = "options: ApprovalOptions",
                ts_return_type = "Promise<Approval>"
            )]
            pub fn approve(&self, env: Env, options: Unknown<'_>) -> AsyncTask<Op<Approval>> {
                let b = self.backend.open();
                let req = crate::naming::approval(&env, &options);
                Op::run(move || from_core(&b?.tracker().approve(&req?)?))
            }

            /// Revokes an approval (one's own; any as an admin or release manager); it stays in
            /// the record, marked revoked. `actor` may be left out when the instance knows who
            /// acts.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, options: RevokeOptions",
                ts_return_type = "Promise<Approval>"
            )]
            pub fn revoke_approval(
                &self,
                id: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<Approval>> {
                let b = self.backend.open();
                let id = input::string(&id, "id");
                let opts = input::options::<RevokeOptions>(&options, "options", false);
                Op::run(move || {
                    let (id, o) = (id?, opts?);
                    from_core(&b?.tracker().revoke_approval(&id, &o.actor, &o.reason)?)
                })
            }

            /// The approvals of a version, revoked ones too, oldest first.
            #[napi(
                catch_unwind,
                ts_args_type = "productName: string, version: string",
                ts_return_type = "Promise<Array<Approval>>"
            )]
            pub fn approvals(
                &self,
                product_name: Unknown<'_>,
                version: Unknown<'_>,
            ) -> AsyncTask<Op<Vec<Approval>>> {
                let b = self.backend.open();
                let product = input::string(&product_name, "productName");
                let version = input::string(&version, "version");
                Op::run(move || {
                    b?.tracker()
                        .approvals(&product?, &version?)?
                        .iter()
                        .map(from_core)
                        .collect()
                })
            }

            /// Versions of a product, newest first (rejects with `NOT_FOUND` for an unknown
            /// product).
            #[napi(
                catch_unwind,
                ts_args_type = "productName: string, options?: PageOptions | undefined | null",
                ts_return_type = "Promise<Array<Version>>"
            )]
            pub fn versions(
                &self,
                product_name: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<Vec<Version>>> {
                let b = self.backend.open();
                let product = input::string(&product_name, "productName");
                let page = input::options::<PageOptions>(&options, "options", true);
                Op::run(move || {
                    let (product, page) = (product?, page?);
                    let d = Page::default();
                    let page = Page {
                        limit: page.limit.unwrap_or(d.limit),
                        offset: page.offset.unwrap_or(d.offset),
                    };
                    b?.tracker().versions(&product, page)?.iter().map(from_core).collect()
                })
            }

            /// One version of a product (rejects with `NOT_FOUND`).
            #[napi(
                catch_unwind,
                ts_args_type = "productName: string, version: string",
                ts_return_type = "Promise<Version>"
            )]
            pub fn version(
                &self,
                product_name: Unknown<'_>,
                version: Unknown<'_>,
            ) -> AsyncTask<Op<Version>> {
                let b = self.backend.open();
                let product = input::string(&product_name, "productName");
                let version = input::string(&version, "version");
                Op::run(move || from_core(&b?.tracker().version(&product?, &version?)?))
            }

            /// A version by its id (rejects with `NOT_FOUND`).
            #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Promise<Version>")]
            pub fn version_by_id(&self, id: Unknown<'_>) -> AsyncTask<Op<Version>> {
                let b = self.backend.open();
                let id = input::string(&id, "id");
                Op::run(move || from_core(&b?.tracker().version_by_id(&id?)?))
            }

            /// Versions built from a commit; an abbreviated SHA (4+ hex characters) matches
            /// by prefix.
            #[napi(
                catch_unwind,
                ts_args_type = "sha: string",
                ts_return_type = "Promise<Array<Version>>"
            )]
            pub fn versions_by_sha(&self, sha: Unknown<'_>) -> AsyncTask<Op<Vec<Version>>> {
                let b = self.backend.open();
                let sha = input::string(&sha, "sha");
                Op::run(move || b?.tracker().versions_by_sha(&sha?)?.iter().map(from_core).collect())
            }

            /// Deployment history, newest first; unknown product, environment or version
            /// names match nothing.
            #[napi(
                catch_unwind,
                ts_args_type = "options?: HistoryOptions | undefined | null",
                ts_return_type = "Promise<Array<Deployment>>"
            )]
            pub fn history(&self, options: Unknown<'_>) -> AsyncTask<Op<Vec<Deployment>>> {
                let b = self.backend.open();
                let opts = input::options::<HistoryOptions>(&options, "options", true);
                Op::run(move || {
                    let q = opts?.into_query()?;
                    b?.tracker().history(&q)?.iter().map(from_core).collect()
                })
            }

            /// What is deployed where: for every product × environment with history, the
            /// version last deployed successfully and the deployments in progress — now, or
            /// as of `at`.
            #[napi(
                catch_unwind,
                ts_args_type = "options?: StateOptions | undefined | null",
                ts_return_type = "Promise<StateMatrix>"
            )]
            pub fn state(&self, options: Unknown<'_>) -> AsyncTask<Op<StateMatrix>> {
                let b = self.backend.open();
                let opts = input::options::<StateOptions>(&options, "options", true);
                Op::run(move || {
                    let at = input::instant(opts?.at.as_deref(), "at")?;
                    from_core(&b?.tracker().state(at)?)
                })
            }

            /// Products whose environments hold different versions (now, or as of `at`),
            /// considering only `environments` when given.
            #[napi(
                catch_unwind,
                ts_args_type = "options?: DriftOptions | undefined | null",
                ts_return_type = "Promise<Array<Drift>>"
            )]
            pub fn drift(&self, options: Unknown<'_>) -> AsyncTask<Op<Vec<Drift>>> {
                let b = self.backend.open();
                let opts = input::options::<DriftOptions>(&options, "options", true);
                Op::run(move || {
                    let o = opts?;
                    let at = input::instant(o.at.as_deref(), "at")?;
                    b?.tracker()
                        .drift(at, o.environments.as_deref())?
                        .iter()
                        .map(from_core)
                        .collect()
                })
            }

            /// Every product, by name.
            #[napi(catch_unwind, ts_return_type = "Promise<Array<Product>>")]
            pub fn products(&self) -> AsyncTask<Op<Vec<Product>>> {
                let b = self.backend.open();
                Op::run(move || b?.tracker().products()?.iter().map(from_core).collect())
            }

            /// Every environment, from development to production.
            #[napi(catch_unwind, ts_return_type = "Promise<Array<Environment>>")]
            pub fn environments(&self) -> AsyncTask<Op<Vec<Environment>>> {
                let b = self.backend.open();
                Op::run(move || b?.tracker().environments()?.iter().map(from_core).collect())
            }

            /// A product by name (any case of it) or id (rejects with `NOT_FOUND`).
            #[napi(
                catch_unwind,
                ts_args_type = "productName: string",
                ts_return_type = "Promise<Product>"
            )]
            pub fn product(&self, product_name: Unknown<'_>) -> AsyncTask<Op<Product>> {
                let b = self.backend.open();
                let name = input::string(&product_name, "productName");
                Op::run(move || from_core(&b?.tracker().product(&name?)?))
            }

            /// An environment by name (any case of it) or id (rejects with `NOT_FOUND`).
            #[napi(
                catch_unwind,
                ts_args_type = "environmentName: string",
                ts_return_type = "Promise<Environment>"
            )]
            pub fn environment(&self, environment_name: Unknown<'_>) -> AsyncTask<Op<Environment>> {
                let b = self.backend.open();
                let name = input::string(&environment_name, "environmentName");
                Op::run(move || from_core(&b?.tracker().environment(&name?)?))
            }

            /// Renames a product (`name`: its id and history stay; the old name no longer
            /// resolves) or changes its `description` (`''` removes it) or `extraMetadata`
            /// (replaced whole; `{}` removes it). Rejects with `INVALID_INPUT` for nothing to
            /// change, a name taken (or looking like one) or still named by a rule, and
            /// `FORBIDDEN` unless the role manages environments.
            #[napi(
                catch_unwind,
                ts_args_type = "productName: string, change: CatalogChangeOptions",
                ts_return_type = "Promise<Product>"
            )]
            pub fn update_product(
                &self,
                product_name: Unknown<'_>,
                change: Unknown<'_>,
            ) -> AsyncTask<Op<Product>> {
                let b = self.backend.open();
                let name = input::string(&product_name, "productName");
                let change =
                    request::<CatalogChangeOptions, versioner_core::CatalogChange>(&change);
                Op::run(move || from_core(&b?.tracker().update_product(&name?, &change?)?))
            }

            /// Renames an environment or changes its description or metadata (as
            /// `updateProduct`; its type has `setEnvironmentType`).
            #[napi(
                catch_unwind,
                ts_args_type = "environmentName: string, change: CatalogChangeOptions",
                ts_return_type = "Promise<Environment>"
            )]
            pub fn update_environment(
                &self,
                environment_name: Unknown<'_>,
                change: Unknown<'_>,
            ) -> AsyncTask<Op<Environment>> {
                let b = self.backend.open();
                let name = input::string(&environment_name, "environmentName");
                let change =
                    request::<CatalogChangeOptions, versioner_core::CatalogChange>(&change);
                Op::run(move || from_core(&b?.tracker().update_environment(&name?, &change?)?))
            }

            /// Overrides an environment's type, or with `null` returns it to inference from
            /// the name. The environment is created if it does not exist yet.
            #[napi(
                catch_unwind,
                ts_args_type = "name: string, type: EnvironmentType | null",
                ts_return_type = "Promise<Environment>"
            )]
            pub fn set_environment_type(
                &self,
                name: Unknown<'_>,
                env_type: Unknown<'_>,
            ) -> AsyncTask<Op<Environment>> {
                let b = self.backend.open();
                let name = input::string(&name, "name");
                let env_type = input::opt_string(&env_type, "type");
                Op::run(move || {
                    let ty = env_type?
                        .map(|t| t.parse::<versioner_core::EnvironmentType>())
                        .transpose()?;
                    from_core(&b?.tracker().set_environment_type(&name?, ty)?)
                })
            }

            /// The recorded preflight decisions where a rule failed — refused (`blocked`),
            /// let through with report-only failures (`reported`) or `bypassed` — newest
            /// first, each with the request, who asked, the verdict, the facts it was decided
            /// on and the hash of the policy in force. The filters are read as the server reads
            /// `GET /deployment-rules/violations`. Rejects with `INVALID_INPUT` naming an
            /// unknown option or a bad value (`outcome`, `since`, `until`, `limit`).
            #[napi(
                catch_unwind,
                ts_args_type = "options?: ViolationsOptions | undefined | null",
                ts_return_type = "Promise<Array<DecisionRecord>>"
            )]
            pub fn violations(&self, options: Unknown<'_>) -> AsyncTask<Op<Vec<DecisionRecord>>> {
                let b = self.backend.open();
                let opts = input::options::<ViolationsOptions>(&options, "options", true);
                Op::run(move || {
                    let q = opts?.into_query()?;
                    b?.tracker().violations(&q)?.iter().map(from_core).collect()
                })
            }

            /// The four keys (DORA metrics) over `[since, until)` with their bands and the
            /// definitions used, as `GET /metrics/dora` answers (camelCase:
            /// `deploymentFrequency.perDay`, `changeFailureRate`, …). Rejects with
            /// `INVALID_INPUT` naming a missing or bad option, `NOT_FOUND` for an unknown
            /// product or environment.
            #[napi(
                catch_unwind,
                ts_args_type = "options: DoraOptions",
                ts_return_type = "Promise<DoraReport>"
            )]
            pub fn dora(&self, options: Unknown<'_>) -> AsyncTask<Op<DoraReport>> {
                let b = self.backend.open();
                let opts = input::options::<DoraOptions>(&options, "options", false);
                Op::run(move || {
                    let q = opts?.into_query()?;
                    from_core(&b?.tracker().dora(&q)?)
                })
            }

            /// Imports a history file's text (JSON Lines: one build or deployment event per
            /// line, with its own times): every line validated, applied in time order in one
            /// transaction, lines imported before skipped; with `dryRun` nothing is written.
            /// Rejects with `INVALID_INPUT` naming the failing line (`line N`), `FORBIDDEN`
            /// unless the actor is an admin.
            #[napi(
                catch_unwind,
                ts_args_type = "text: string, options?: ImportOptions | undefined | null",
                ts_return_type = "Promise<ImportReport>"
            )]
            pub fn import_events(
                &self,
                text: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<ImportReport>> {
                let b = self.backend.open();
                let text = input::string(&text, "text");
                let opts = input::options::<ImportOptions>(&options, "options", true);
                Op::run(move || {
                    let (text, mode) = (text?, opts?.mode());
                    from_core(&b?.tracker().import_events(&text, mode)?)
                })
            }

            /// Every build and deployment as a history file (JSON Lines, in time order), the
            /// text `importEvents` reads. Rejects with `FORBIDDEN` unless the actor is an admin.
            #[napi(catch_unwind, ts_return_type = "Promise<string>")]
            pub fn export_events(&self) -> AsyncTask<Op<String>> {
                let b = self.backend.open();
                Op::run(move || {
                    let mut out = Vec::new();
                    b?.tracker().export_events(&mut out)?;
                    String::from_utf8(out).map_err(|e| {
                        versioner_core::Error::internal(format!("the export is not UTF-8: {e}"))
                    })
                })
            }

            /// How far `behind` runs behind `ahead` for each product (or one), as `GET /skew`
            /// answers (camelCase: `versionsBehind`, `behindSince`, …). Rejects with
            /// `INVALID_INPUT` naming a missing option, `NOT_FOUND` for an unknown product or
            /// environment.
            #[napi(
                catch_unwind,
                ts_args_type = "options: SkewOptions",
                ts_return_type = "Promise<Array<Skew>>"
            )]
            pub fn skew(&self, options: Unknown<'_>) -> AsyncTask<Op<Vec<Skew>>> {
                let b = self.backend.open();
                let opts = input::options::<SkewOptions>(&options, "options", false);
                Op::run(move || {
                    let q = opts?.into_query()?;
                    b?.tracker().skew(&q)?.iter().map(from_core).collect()
                })
            }

            /// The versions current in `environment` for longer than `olderThan` (a duration
            /// such as `"14d"`) never promoted to `promotedTo` (default: every production
            /// environment), as `GET /stale` answers, oldest first.
            #[napi(
                catch_unwind,
                ts_args_type = "options: StaleOptions",
                ts_return_type = "Promise<Array<StaleVersion>>"
            )]
            pub fn stale(&self, options: Unknown<'_>) -> AsyncTask<Op<Vec<StaleVersion>>> {
                let b = self.backend.open();
                let opts = input::options::<StaleOptions>(&options, "options", false);
                Op::run(move || {
                    let q = opts?.into_query()?;
                    b?.tracker().stale(&q)?.iter().map(from_core).collect()
                })
            }

            /// Creates a Deployment Request, as a draft (it blocks nothing until submitted):
            /// one recorded version of each product in `versions`, going to `environments`,
            /// once the approval `slots` are filled and the `preSteps` done; with `template`,
            /// the template fills what is left out. Self-approval is off by default when a
            /// target environment is a production one.
            ///
            /// Rejects with `INVALID_INPUT` naming the option at fault (a blank name, two
            /// versions of one product, an unknown approval type in `slots`, a repeated
            /// environment or step, `createdBy` missing when the instance knows no actor),
            /// `NOT_FOUND` for a version never recorded or an unknown template, `FORBIDDEN`
            /// when the creator's role may not manage Deployment Requests (admin,
            /// release_manager, product and developer may). Nothing is written on error.
            #[napi(
                catch_unwind,
                ts_args_type = "options: RequestOptions",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn create_request(&self, options: Unknown<'_>) -> AsyncTask<Op<DeploymentRequest>> {
                let b = self.backend.open();
                let draft = input::options::<RequestOptions>(&options, "options", false)
                    .and_then(RequestOptions::into_core);
                Op::run(move || {
                    let (b, draft) = (b?, draft?);
                    let dr = b
                        .tracker()
                        .create_request(&draft)
                        .map_err(|e| rename_fields(e, Call::Create))?;
                    from_core(&dr)
                })
            }

            /// Changes a draft Deployment Request (a release — one without slots or steps —
            /// also while submitted): every option given replaces the request's.
            ///
            /// Rejects with `INVALID_INPUT` naming the current status when the request is not
            /// a draft, or naming the option at fault; `NOT_FOUND`; `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, change: RequestChangeOptions",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn update_request(
                &self,
                id: Unknown<'_>,
                change: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let b = self.backend.open();
                let id = input::string(&id, "id");
                let change = input::options::<RequestChangeOptions>(&change, "change", false)
                    .and_then(RequestChangeOptions::into_core);
                Op::run(move || {
                    let (b, id, change) = (b?, id?, change?);
                    let dr = b
                        .tracker()
                        .update_request(&id, &change)
                        .map_err(|e| rename_fields(e, Call::Update))?;
                    from_core(&dr)
                })
            }

            /// Submits a draft Deployment Request: `in_progress` (or `approved` at once when it
            /// has no required slot). From now until it completes or is cancelled, a `started`
            /// deployment it covers is blocked (`DEPLOYMENT_REQUEST_PENDING`) until it is
            /// approved with its pre-deployment steps done.
            ///
            /// Rejects with `INVALID_INPUT` when it is not a draft (naming its status) or has
            /// no version (`versions`) or no environment (`environments`); `NOT_FOUND`;
            /// `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, options?: RequestActionOptions | undefined | null",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn submit_request(
                &self,
                id: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let action = crate::surface::action_options(&options, Ok(RequestAction::Submit));
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// Fills the first pending slot of `approvalType` with an approval by the actor;
            /// when every required slot is approved the request is `approved`. Recorded with
            /// who, their role, when and the comment.
            ///
            /// Rejects with `FORBIDDEN` when the actor's role may not grant the type, or the
            /// creator fills a required slot while self-approval is off (nothing is written);
            /// `INVALID_INPUT` when the request is not `in_progress` or `approved` (naming its
            /// status), has no pending slot of the type (`approvalType`), or the actor already
            /// decided one of its slots (`actor`); `NOT_FOUND`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, approvalType: string, options?: RequestActionOptions | undefined | null",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn approve_request(
                &self,
                id: Unknown<'_>,
                approval_type: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let t = input::string(&approval_type, "approvalType");
                let action = crate::surface::action_options(
                    &options,
                    t.map(|approval_type| RequestAction::Approve { approval_type }),
                );
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// Fills the first pending slot of `approvalType` with a rejection; a rejected
            /// required slot makes the request `rejected`, and its deployments stay blocked
            /// until it is reworked (`deactivateRequest`) or cancelled.
            ///
            /// Rejects with `INVALID_INPUT` (`comment`) without a comment — say why, so the
            /// requester can act on it — and as `approveRequest` otherwise.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, approvalType: string, options: RequestActionOptions",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn reject_request(
                &self,
                id: Unknown<'_>,
                approval_type: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let t = input::string(&approval_type, "approvalType");
                let action = crate::surface::action_options(
                    &options,
                    t.map(|approval_type| RequestAction::Reject { approval_type }),
                );
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// Marks the step whose text is `step` done. A post-deployment step can be done
            /// once the request is approved and every deployment succeeded; the last one
            /// completes the request.
            ///
            /// Rejects with `INVALID_INPUT` (`step`) for a step the request does not have (naming
            /// its steps), one already done, or a post-deployment step too early; `NOT_FOUND`;
            /// `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, step: string, options?: RequestStepOptions | undefined | null",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn request_step_done(
                &self,
                id: Unknown<'_>,
                step: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let step = input::string(&step, "step");
                let action = input::options::<RequestStepOptions>(&options, "options", true)
                    .and_then(|o| Ok(o.into_core(step?)));
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// Returns a submitted Deployment Request (`in_progress`, `approved` or `rejected`)
            /// to draft, clearing every slot decision, so it can be reworked.
            ///
            /// Rejects with `INVALID_INPUT` naming its status otherwise; `NOT_FOUND`;
            /// `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, options?: RequestActionOptions | undefined | null",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn deactivate_request(
                &self,
                id: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let action =
                    crate::surface::action_options(&options, Ok(RequestAction::Deactivate));
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// Cancels an open Deployment Request (draft, in progress, approved or rejected):
            /// it no longer covers or blocks anything.
            ///
            /// Rejects with `INVALID_INPUT` naming its status when it is completed or already
            /// cancelled; `NOT_FOUND`; `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, options?: RequestActionOptions | undefined | null",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn cancel_request(
                &self,
                id: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let action = crate::surface::action_options(&options, Ok(RequestAction::Cancel));
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// Completes a submitted release (a request without slots or steps) by hand,
            /// deployed or not. A request with slots or steps completes by itself once every
            /// deployment succeeded and its post-deployment steps are done.
            ///
            /// Rejects with `INVALID_INPUT` for a request with slots or steps (`action`) or
            /// one not submitted (`status`); `NOT_FOUND`; `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string, options?: RequestActionOptions | undefined | null",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn complete_request(
                &self,
                id: Unknown<'_>,
                options: Unknown<'_>,
            ) -> AsyncTask<Op<DeploymentRequest>> {
                let action =
                    crate::surface::action_options(&options, Ok(RequestAction::Complete));
                crate::surface::act(self.backend.open(), input::string(&id, "id"), action)
            }

            /// A Deployment Request by id, with its slots, steps and history (rejects with
            /// `NOT_FOUND`).
            #[napi(
                catch_unwind,
                ts_args_type = "id: string",
                ts_return_type = "Promise<DeploymentRequest>"
            )]
            pub fn request(&self, id: Unknown<'_>) -> AsyncTask<Op<DeploymentRequest>> {
                let b = self.backend.open();
                let id = input::string(&id, "id");
                Op::run(move || from_core(&b?.tracker().request(&id?)?))
            }

            /// Deployment Requests, newest first, filtered by `status`, `product`,
            /// `environment` (names in any case) or `releasesOnly`. Rejects with
            /// `INVALID_INPUT` (`status`, naming the accepted ones) for an unknown status.
            #[napi(
                catch_unwind,
                ts_args_type = "options?: RequestsOptions | undefined | null",
                ts_return_type = "Promise<Array<DeploymentRequest>>"
            )]
            pub fn requests(&self, options: Unknown<'_>) -> AsyncTask<Op<Vec<DeploymentRequest>>> {
                let b = self.backend.open();
                let query = input::options::<RequestsOptions>(&options, "options", true)
                    .and_then(RequestsOptions::into_core);
                Op::run(move || {
                    let (b, query) = (b?, query?);
                    b.tracker().requests(&query)?.iter().map(from_core).collect()
                })
            }

            /// A Deployment Request's progress grid: each version × environment deployed, not
            /// deployed, failed or in progress (its newest deployment there). Rejects with
            /// `NOT_FOUND`.
            #[napi(
                catch_unwind,
                ts_args_type = "id: string",
                ts_return_type = "Promise<Progress>"
            )]
            pub fn request_progress(&self, id: Unknown<'_>) -> AsyncTask<Op<Progress>> {
                let b = self.backend.open();
                let id = input::string(&id, "id");
                Op::run(move || from_core(&b?.tracker().request_progress(&id?)?))
            }

            /// Every Deployment Request template, by name.
            #[napi(catch_unwind, ts_return_type = "Promise<Array<RequestTemplate>>")]
            pub fn request_templates(&self) -> AsyncTask<Op<Vec<RequestTemplate>>> {
                let b = self.backend.open();
                Op::run(move || b?.tracker().request_templates()?.iter().map(from_core).collect())
            }

            /// Adds or replaces templates by name, all or none, and resolves to them as
            /// stored. Needs a role that manages rules (admin, release_manager).
            ///
            /// Rejects with `INVALID_INPUT` (a blank or repeated name, an unknown approval
            /// type, a repeated step or environment) and `FORBIDDEN`; nothing is written on
            /// error.
            #[napi(
                catch_unwind,
                ts_args_type = "templates: Array<RequestTemplateOptions>",
                ts_return_type = "Promise<Array<RequestTemplate>>"
            )]
            pub fn put_request_templates(
                &self,
                templates: Unknown<'_>,
            ) -> AsyncTask<Op<Vec<RequestTemplate>>> {
                let b = self.backend.open();
                let templates = crate::requests::templates(&templates);
                Op::run(move || {
                    let (b, templates): (_, Vec<versioner_core::RequestTemplate>) =
                        (b?, templates?);
                    b.tracker()
                        .put_request_templates(&templates)
                        .map_err(|e| rename_fields(e, Call::Other))?
                        .iter()
                        .map(from_core)
                        .collect()
                })
            }

            /// Removes a template (requests created from it keep what it filled in). Rejects
            /// with `NOT_FOUND` and `FORBIDDEN`.
            #[napi(
                catch_unwind,
                ts_args_type = "name: string",
                ts_return_type = "Promise<void>"
            )]
            pub fn delete_request_template(&self, name: Unknown<'_>) -> AsyncTask<Op<()>> {
                let b = self.backend.open();
                let name = input::string(&name, "name");
                Op::run(move || b?.tracker().delete_request_template(&name?))
            }

            /// Lets go of the database (or the server connection): later calls reject with
            /// `INVALID_INPUT` (`field` `this`). Calls already running finish first; closing
            /// twice is harmless.
            #[napi]
            pub fn close(&self) {
                self.backend.close();
            }

            /// Whether `close()` was called.
            #[napi(getter)]
            pub fn closed(&self) -> bool {
                self.backend.is_closed()
            }
        }
    };
}

pub(crate) use tracker_methods;
