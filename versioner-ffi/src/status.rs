//! The status every C function returns, and its mapping from [`ErrorCode`].

use std::ffi::{CStr, c_char, c_int};

use versioner_core::ErrorCode;

/// The result of every Versioner C function: `VERSIONER_STATUS_OK` (0) or what went wrong.
///
/// Values 1–17 are the error codes every Versioner surface shares (the same names as the
/// HTTP API's `code`, the Python exception classes and Node's `err.code`); values 3–8, 16 and
/// 17 mean "blocked by policy" (test with `versioner_status_is_blocked`). Values from 100 are errors of
/// the C boundary itself. The numbers are stable: new values may be added, existing ones never
/// change. `versioner_status_name` gives the name as a string.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionerStatus {
    /// Success; out-parameters hold the result.
    Ok = 0,
    /// Bad input: a missing, blank, oversized or malformed field, an unknown status, JSON that
    /// does not parse or has the wrong shape, an invalid policy (every problem listed). The
    /// message names the field. HTTP 422 (400 for malformed JSON); CLI exit 4.
    InvalidInput = 1,
    /// The version was recorded earlier with a different SCM SHA; versions are immutable.
    /// HTTP 409; CLI exit 4.
    VersionConflict = 2,
    /// Blocked by policy: too many deployments in progress (a `concurrency` rule). HTTP 409;
    /// CLI exit 5.
    ConcurrentDeployment = 3,
    /// Blocked by policy: a no-deploy window is active, or no allow window is open (a `schedule`
    /// rule); `retry_after` says when it opens. HTTP 423; CLI exit 5.
    NoDeployWindow = 4,
    /// Blocked by policy: the version has not been deployed to the prerequisite environments
    /// (a `flow` rule). HTTP 428; CLI exit 5.
    FlowViolation = 5,
    /// Blocked by policy: the version has not soaked long enough in a prerequisite environment
    /// (a `flow` rule); `retry_after` says when it will have. HTTP 428; CLI exit 5.
    InsufficientSoakTime = 6,
    /// Blocked by policy: not enough release approvals (a `release_approval` rule). HTTP 428;
    /// CLI exit 5.
    ApprovalRequired = 7,
    /// Blocked by policy: a required quality approval (QA, security, ...) is missing (a
    /// `version_approval` rule). HTTP 428; CLI exit 5.
    QualityApprovalRequired = 8,
    /// The named product, version, rule, approval or deployment does not exist. HTTP 404; CLI
    /// exit 4.
    NotFound = 9,
    /// Remote handles: no or an invalid API key. HTTP 401; CLI exit 4.
    Unauthorized = 10,
    /// Remote handles: the API key lacks the permission. HTTP 403; CLI exit 4.
    Forbidden = 11,
    /// The database failed or refused the operation (including a database written by a newer
    /// Versioner). Nothing was written. HTTP 503; CLI exit 1.
    Storage = 12,
    /// Remote handles: the server could not be reached or answered unexpectedly. CLI exit 1.
    Network = 13,
    /// A bug or an unexpected state inside Versioner. CLI exit 1.
    Internal = 14,
    /// Remote handles: over the server's rate limit; retry later. HTTP 429; CLI exit 1.
    RateLimited = 15,
    /// Blocked by policy: a submitted Deployment Request covers the deployment and is not yet
    /// approved with its pre-deployment steps done, or one of its required slots was
    /// rejected. HTTP 428; CLI exit 5.
    DeploymentRequestPending = 16,
    /// Blocked by policy: no approved Deployment Request covers the deployment (a
    /// `deployment_request_required` rule). HTTP 428; CLI exit 5.
    DeploymentRequestRequired = 17,
    /// A pointer argument that must not be NULL was NULL; the message names it.
    NullPointer = 100,
    /// A string argument is not valid UTF-8; the message names it.
    InvalidUtf8 = 101,
    /// The handle was closed by `versioner_close`, or was never returned by `versioner_open`,
    /// `versioner_open_with` or `versioner_connect`.
    InvalidHandle = 102,
    /// Versioner panicked (a bug); the panic was caught at the boundary and the process is
    /// intact. Please report the message.
    Panic = 103,
}

impl VersionerStatus {
    /// Every status, in numeric order.
    pub(crate) const ALL: [VersionerStatus; 22] = [
        VersionerStatus::Ok,
        VersionerStatus::InvalidInput,
        VersionerStatus::VersionConflict,
        VersionerStatus::ConcurrentDeployment,
        VersionerStatus::NoDeployWindow,
        VersionerStatus::FlowViolation,
        VersionerStatus::InsufficientSoakTime,
        VersionerStatus::ApprovalRequired,
        VersionerStatus::QualityApprovalRequired,
        VersionerStatus::NotFound,
        VersionerStatus::Unauthorized,
        VersionerStatus::Forbidden,
        VersionerStatus::Storage,
        VersionerStatus::Network,
        VersionerStatus::Internal,
        VersionerStatus::RateLimited,
        VersionerStatus::DeploymentRequestPending,
        VersionerStatus::DeploymentRequestRequired,
        VersionerStatus::NullPointer,
        VersionerStatus::InvalidUtf8,
        VersionerStatus::InvalidHandle,
        VersionerStatus::Panic,
    ];

    /// The status for an error code. Exhaustive on purpose: a new [`ErrorCode`] must get its
    /// own status here before this crate builds.
    pub fn from_code(code: ErrorCode) -> VersionerStatus {
        match code {
            ErrorCode::InvalidInput => VersionerStatus::InvalidInput,
            ErrorCode::VersionConflict => VersionerStatus::VersionConflict,
            ErrorCode::ConcurrentDeployment => VersionerStatus::ConcurrentDeployment,
            ErrorCode::NoDeployWindow => VersionerStatus::NoDeployWindow,
            ErrorCode::FlowViolation => VersionerStatus::FlowViolation,
            ErrorCode::InsufficientSoakTime => VersionerStatus::InsufficientSoakTime,
            ErrorCode::ApprovalRequired => VersionerStatus::ApprovalRequired,
            ErrorCode::QualityApprovalRequired => VersionerStatus::QualityApprovalRequired,
            ErrorCode::NotFound => VersionerStatus::NotFound,
            ErrorCode::Unauthorized => VersionerStatus::Unauthorized,
            ErrorCode::Forbidden => VersionerStatus::Forbidden,
            ErrorCode::Storage => VersionerStatus::Storage,
            ErrorCode::Network => VersionerStatus::Network,
            ErrorCode::Internal => VersionerStatus::Internal,
            ErrorCode::RateLimited => VersionerStatus::RateLimited,
            ErrorCode::DeploymentRequestPending => VersionerStatus::DeploymentRequestPending,
            ErrorCode::DeploymentRequestRequired => VersionerStatus::DeploymentRequestRequired,
        }
    }

    /// The error code this status stands for (`None` for OK and the boundary's own statuses).
    pub fn code(self) -> Option<ErrorCode> {
        match self {
            VersionerStatus::Ok
            | VersionerStatus::NullPointer
            | VersionerStatus::InvalidUtf8
            | VersionerStatus::InvalidHandle
            | VersionerStatus::Panic => None,
            VersionerStatus::InvalidInput => Some(ErrorCode::InvalidInput),
            VersionerStatus::VersionConflict => Some(ErrorCode::VersionConflict),
            VersionerStatus::ConcurrentDeployment => Some(ErrorCode::ConcurrentDeployment),
            VersionerStatus::NoDeployWindow => Some(ErrorCode::NoDeployWindow),
            VersionerStatus::FlowViolation => Some(ErrorCode::FlowViolation),
            VersionerStatus::InsufficientSoakTime => Some(ErrorCode::InsufficientSoakTime),
            VersionerStatus::ApprovalRequired => Some(ErrorCode::ApprovalRequired),
            VersionerStatus::QualityApprovalRequired => Some(ErrorCode::QualityApprovalRequired),
            VersionerStatus::NotFound => Some(ErrorCode::NotFound),
            VersionerStatus::Unauthorized => Some(ErrorCode::Unauthorized),
            VersionerStatus::Forbidden => Some(ErrorCode::Forbidden),
            VersionerStatus::Storage => Some(ErrorCode::Storage),
            VersionerStatus::Network => Some(ErrorCode::Network),
            VersionerStatus::Internal => Some(ErrorCode::Internal),
            VersionerStatus::RateLimited => Some(ErrorCode::RateLimited),
            VersionerStatus::DeploymentRequestPending => Some(ErrorCode::DeploymentRequestPending),
            VersionerStatus::DeploymentRequestRequired => {
                Some(ErrorCode::DeploymentRequestRequired)
            }
        }
    }

    /// The status with this number, if there is one (C passes statuses as plain `int`s).
    pub fn from_raw(raw: c_int) -> Option<VersionerStatus> {
        VersionerStatus::ALL
            .into_iter()
            .find(|s| *s as c_int == raw)
    }

    /// The stable name: the shared error code (`"FLOW_VIOLATION"`) or `"OK"`, `"NULL_POINTER"`,
    /// `"INVALID_UTF8"`, `"INVALID_HANDLE"`, `"PANIC"`.
    pub fn name(self) -> &'static CStr {
        match self {
            VersionerStatus::Ok => c"OK",
            VersionerStatus::InvalidInput => c"INVALID_INPUT",
            VersionerStatus::VersionConflict => c"VERSION_CONFLICT",
            VersionerStatus::ConcurrentDeployment => c"CONCURRENT_DEPLOYMENT",
            VersionerStatus::NoDeployWindow => c"NO_DEPLOY_WINDOW",
            VersionerStatus::FlowViolation => c"FLOW_VIOLATION",
            VersionerStatus::InsufficientSoakTime => c"INSUFFICIENT_SOAK_TIME",
            VersionerStatus::ApprovalRequired => c"APPROVAL_REQUIRED",
            VersionerStatus::QualityApprovalRequired => c"QUALITY_APPROVAL_REQUIRED",
            VersionerStatus::NotFound => c"NOT_FOUND",
            VersionerStatus::Unauthorized => c"UNAUTHORIZED",
            VersionerStatus::Forbidden => c"FORBIDDEN",
            VersionerStatus::Storage => c"STORAGE",
            VersionerStatus::Network => c"NETWORK",
            VersionerStatus::Internal => c"INTERNAL",
            VersionerStatus::RateLimited => c"RATE_LIMITED",
            VersionerStatus::DeploymentRequestPending => c"DEPLOYMENT_REQUEST_PENDING",
            VersionerStatus::DeploymentRequestRequired => c"DEPLOYMENT_REQUEST_REQUIRED",
            VersionerStatus::NullPointer => c"NULL_POINTER",
            VersionerStatus::InvalidUtf8 => c"INVALID_UTF8",
            VersionerStatus::InvalidHandle => c"INVALID_HANDLE",
            VersionerStatus::Panic => c"PANIC",
        }
    }

    /// The name as a C string pointer with static lifetime.
    pub(crate) fn name_ptr(self) -> *const c_char {
        self.name().as_ptr()
    }

    /// Whether this status means "blocked by policy".
    pub fn is_blocked(self) -> bool {
        self.code().is_some_and(ErrorCode::is_blocked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_status_with_the_same_name() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let status = VersionerStatus::from_code(code);
            assert!(seen.insert(status as c_int), "{code} shares a status");
            assert_ne!(status, VersionerStatus::Ok);
            assert_eq!(status.code(), Some(code));
            assert_eq!(status.name().to_str().unwrap(), code.as_str());
            assert_eq!(status.is_blocked(), code.is_blocked());
        }
    }

    #[test]
    fn raw_values_round_trip_and_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for s in VersionerStatus::ALL {
            assert!(seen.insert(s as c_int));
            assert_eq!(VersionerStatus::from_raw(s as c_int), Some(s));
        }
        assert_eq!(VersionerStatus::Ok as c_int, 0);
        assert_eq!(VersionerStatus::from_raw(42), None);
        assert_eq!(VersionerStatus::from_raw(-1), None);
    }
}
