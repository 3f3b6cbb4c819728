//! Core errors as JavaScript `Error`s carrying the stable code and, for a rejection, the
//! verdict.
//!
//! Every error is an `Error` instance with `code` (the core's stable string) and
//! `httpStatus`. Input errors add `field` (the option at fault, camelCase) and, for a
//! policy, `problems`. A deployment blocked by policy adds `retryAfter` (a `Date`, or `null`
//! when a person must act), `ruleName` (the primary failure), `violations` (every blocking
//! rule) and `verdict` (every rule's outcome). The mapping is one exhaustive `match` on
//! [`ErrorCode`], so a new core code breaks this build until it is mapped.

use std::any::Any;

use napi::bindgen_prelude::Object;
use napi::{Env, JsValue, Status};
use napi_derive::napi;
use versioner_core::{Error, ErrorCode as CoreCode, PolicyProblem as CoreProblem};

use crate::input::camel_case;
use crate::records::{RuleOutcome, Verdict};

/// The stable error codes, shared by every Versioner surface.
#[napi(string_enum = "UPPER_SNAKE")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Bad input: a missing, blank, oversized or malformed option (HTTP 422).
    InvalidInput,
    /// The version was recorded earlier with a different SCM SHA (409).
    VersionConflict,
    /// Blocked: too many deployments in progress (409).
    ConcurrentDeployment,
    /// Blocked: a no-deploy window is active, or no allow window is open (423).
    NoDeployWindow,
    /// Blocked: the version has not passed the prerequisite environments (428).
    FlowViolation,
    /// Blocked: the version has not soaked long enough in a prerequisite environment (428).
    InsufficientSoakTime,
    /// Blocked: not enough release approvals (428).
    ApprovalRequired,
    /// Blocked: a required quality approval is missing (428).
    QualityApprovalRequired,
    /// The named thing does not exist (404).
    NotFound,
    /// No or an invalid credential (401).
    Unauthorized,
    /// A valid credential without the needed permission (403).
    Forbidden,
    /// The database failed or refused the operation (503).
    Storage,
    /// The remote server could not be reached (500).
    Network,
    /// A bug or an unexpected state (500).
    Internal,
    /// Over a server's rate limit; retry after its `Retry-After` (429).
    RateLimited,
    /// Blocked: a submitted Deployment Request covers the deployment and is not yet approved
    /// with its pre-deployment steps done (428).
    DeploymentRequestPending,
    /// Blocked: no approved Deployment Request covers the deployment (428).
    DeploymentRequestRequired,
}

/// One problem in a policy, by rule and field (names as in a policy file).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct PolicyProblem {
    /// The rule's name, or its position (`rules[2]`) when it has none.
    pub rule: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong, and what would be accepted.
    pub reason: String,
}

/// The properties of every error Versioner rejects or throws with. Errors are `Error`
/// instances; narrow with `(err as VersionerError).code`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct VersionerError {
    /// What happened and what to do next.
    pub message: String,
    /// The stable code.
    pub code: ErrorCode,
    /// The HTTP status the server would answer with.
    pub http_status: u32,
    /// Input errors: the option at fault (camelCase).
    pub field: Option<String>,
    /// Invalid policies: every problem found (nothing was applied).
    pub problems: Option<Vec<PolicyProblem>>,
    /// Blocked: the first instant at which time alone clears every block, or `null` when a
    /// person must act (an approval, a deployment elsewhere).
    #[napi(ts_type = "Date | null")]
    pub retry_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Blocked: the primary (most severe) failing rule.
    pub rule_name: Option<String>,
    /// Blocked: every blocking rule's outcome.
    pub violations: Option<Vec<RuleOutcome>>,
    /// Blocked: the whole verdict, every rule's outcome included.
    pub verdict: Option<Verdict>,
}

impl ErrorCode {
    fn of(code: CoreCode) -> ErrorCode {
        match code {
            CoreCode::InvalidInput => ErrorCode::InvalidInput,
            CoreCode::VersionConflict => ErrorCode::VersionConflict,
            CoreCode::ConcurrentDeployment => ErrorCode::ConcurrentDeployment,
            CoreCode::NoDeployWindow => ErrorCode::NoDeployWindow,
            CoreCode::FlowViolation => ErrorCode::FlowViolation,
            CoreCode::InsufficientSoakTime => ErrorCode::InsufficientSoakTime,
            CoreCode::ApprovalRequired => ErrorCode::ApprovalRequired,
            CoreCode::QualityApprovalRequired => ErrorCode::QualityApprovalRequired,
            CoreCode::NotFound => ErrorCode::NotFound,
            CoreCode::Unauthorized => ErrorCode::Unauthorized,
            CoreCode::Forbidden => ErrorCode::Forbidden,
            CoreCode::Storage => ErrorCode::Storage,
            CoreCode::Network => ErrorCode::Network,
            CoreCode::Internal => ErrorCode::Internal,
            CoreCode::RateLimited => ErrorCode::RateLimited,
            CoreCode::DeploymentRequestPending => ErrorCode::DeploymentRequestPending,
            CoreCode::DeploymentRequestRequired => ErrorCode::DeploymentRequestRequired,
        }
    }
}

/// The properties a core error carries to JavaScript.
fn describe(err: &Error) -> VersionerError {
    let code = err.code();
    let mut e = VersionerError {
        message: err.to_string(),
        code: ErrorCode::of(code),
        http_status: u32::from(code.http_status()),
        field: None,
        problems: None,
        retry_after: None,
        rule_name: None,
        violations: None,
        verdict: None,
    };
    match code {
        CoreCode::InvalidInput => {
            e.field = err.field().map(camel_case);
            if let Error::InvalidPolicy { problems } = err {
                e.problems = Some(problems.iter().map(problem).collect());
            }
        }
        CoreCode::ConcurrentDeployment
        | CoreCode::NoDeployWindow
        | CoreCode::FlowViolation
        | CoreCode::InsufficientSoakTime
        | CoreCode::ApprovalRequired
        | CoreCode::QualityApprovalRequired
        | CoreCode::DeploymentRequestPending
        | CoreCode::DeploymentRequestRequired => {
            if let Some(v) = err.verdict() {
                e.http_status = v.http_status().map_or(e.http_status, u32::from);
                e.retry_after = v.retry_after();
                e.rule_name = v.primary().map(|o| o.rule_name.clone());
                e.violations = Some(v.failures().map(RuleOutcome::from).collect());
                e.verdict = Some(Verdict::from(v));
            }
        }
        CoreCode::VersionConflict
        | CoreCode::NotFound
        | CoreCode::Unauthorized
        | CoreCode::Forbidden
        | CoreCode::Storage
        | CoreCode::Network
        | CoreCode::Internal
        | CoreCode::RateLimited => {}
    }
    e
}

fn problem(p: &CoreProblem) -> PolicyProblem {
    PolicyProblem {
        rule: p.rule.clone(),
        field: p.field.clone(),
        reason: p.reason.clone(),
    }
}

/// The JavaScript error for a core error, to reject a promise or throw with.
pub(crate) fn to_js(env: &Env, err: &Error) -> napi::Error {
    let info = describe(err);
    let fallback = napi::Error::new(Status::GenericFailure, format!("{}: {}", err.code(), err));
    build(env, info).unwrap_or(fallback)
}

fn build(env: &Env, info: VersionerError) -> napi::Result<napi::Error> {
    let mut obj: Object<'_> =
        env.create_error(napi::Error::new(Status::GenericFailure, info.message))?;
    obj.set("code", info.code)?;
    obj.set("httpStatus", info.http_status)?;
    if let Some(field) = info.field {
        obj.set("field", field)?;
    }
    if let Some(problems) = info.problems {
        obj.set("problems", problems)?;
    }
    let blocked = info.verdict.is_some();
    if blocked {
        obj.set("retryAfter", info.retry_after)?;
        obj.set("ruleName", info.rule_name)?;
        obj.set("violations", info.violations)?;
        obj.set("verdict", info.verdict)?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// An `INTERNAL` error for a caught panic.
pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Error::internal(format!(
        "the native addon panicked ({what}); this is a bug in Versioner, please report it"
    ))
}

/// Runs `f` on the JavaScript thread, turning a panic into an `INTERNAL` error (the
/// `catch_unwind` attribute is the second line of defence).
pub(crate) fn guard<T>(
    env: &Env,
    f: impl FnOnce() -> versioner_core::Result<T>,
) -> napi::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_js(env, &e)),
        Err(payload) => Err(to_js(env, &from_panic(payload.as_ref()))),
    }
}
