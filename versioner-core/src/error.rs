//! One error model for every surface.
//!
//! Every failure the library can return is a variant of [`Error`]. Each variant maps to exactly
//! one stable [`ErrorCode`], and the code carries the mappings every surface uses: the HTTP
//! status of the server, the exit code of the CLI, and (in the bindings) the exception class,
//! the Node `err.code` string and the C status. Surfaces match on [`Error::code`], never on
//! message text.

use crate::policy::{BlockCode, Verdict};

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable, machine-readable error codes shared by every surface.
///
/// Deliberately not `#[non_exhaustive]`: a new code must break the build of every surface
/// whose mapping it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// Bad input: a missing, blank, oversized or malformed field.
    InvalidInput,
    /// A version was recorded earlier with a different SCM SHA.
    VersionConflict,
    /// Blocked: too many deployments in progress.
    ConcurrentDeployment,
    /// Blocked: a no-deploy window is active (or no allow window is open).
    NoDeployWindow,
    /// Blocked: the version has not passed the prerequisite environments.
    FlowViolation,
    /// Blocked: the version has not soaked long enough in a prerequisite environment.
    InsufficientSoakTime,
    /// Blocked: not enough release approvals.
    ApprovalRequired,
    /// Blocked: a required quality approval (QA, security, ...) is missing.
    QualityApprovalRequired,
    /// The named thing does not exist.
    NotFound,
    /// No or an invalid credential.
    Unauthorized,
    /// A valid credential without the needed permission.
    Forbidden,
    /// The database failed or refused the operation.
    Storage,
    /// The remote server could not be reached.
    Network,
    /// A bug or an unexpected state.
    Internal,
    /// Too many requests: over a server's rate limit; retry after its `Retry-After`.
    RateLimited,
    /// Blocked: a submitted Deployment Request covers the deployment and is not yet approved
    /// with its pre-deployment steps done.
    DeploymentRequestPending,
    /// Blocked: no approved Deployment Request covers the deployment.
    DeploymentRequestRequired,
}

impl ErrorCode {
    /// Every code, in a stable order.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::InvalidInput,
        ErrorCode::VersionConflict,
        ErrorCode::ConcurrentDeployment,
        ErrorCode::NoDeployWindow,
        ErrorCode::FlowViolation,
        ErrorCode::InsufficientSoakTime,
        ErrorCode::ApprovalRequired,
        ErrorCode::QualityApprovalRequired,
        ErrorCode::NotFound,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::Storage,
        ErrorCode::Network,
        ErrorCode::Internal,
        ErrorCode::RateLimited,
        ErrorCode::DeploymentRequestPending,
        ErrorCode::DeploymentRequestRequired,
    ];

    /// The stable string form, e.g. `"VERSION_CONFLICT"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::VersionConflict => "VERSION_CONFLICT",
            ErrorCode::ConcurrentDeployment => "CONCURRENT_DEPLOYMENT",
            ErrorCode::NoDeployWindow => "NO_DEPLOY_WINDOW",
            ErrorCode::FlowViolation => "FLOW_VIOLATION",
            ErrorCode::InsufficientSoakTime => "INSUFFICIENT_SOAK_TIME",
            ErrorCode::ApprovalRequired => "APPROVAL_REQUIRED",
            ErrorCode::QualityApprovalRequired => "QUALITY_APPROVAL_REQUIRED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::Storage => "STORAGE",
            ErrorCode::Network => "NETWORK",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::DeploymentRequestPending => "DEPLOYMENT_REQUEST_PENDING",
            ErrorCode::DeploymentRequestRequired => "DEPLOYMENT_REQUEST_REQUIRED",
        }
    }

    /// Parses the string form produced by [`ErrorCode::as_str`].
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether this code means "blocked by policy".
    pub fn is_blocked(self) -> bool {
        self.block_code().is_some()
    }

    /// The policy block code this error code stands for, if any.
    pub fn block_code(self) -> Option<BlockCode> {
        match self {
            ErrorCode::ConcurrentDeployment => Some(BlockCode::ConcurrentDeployment),
            ErrorCode::NoDeployWindow => Some(BlockCode::NoDeployWindow),
            ErrorCode::FlowViolation => Some(BlockCode::FlowViolation),
            ErrorCode::InsufficientSoakTime => Some(BlockCode::InsufficientSoakTime),
            ErrorCode::ApprovalRequired => Some(BlockCode::ApprovalRequired),
            ErrorCode::QualityApprovalRequired => Some(BlockCode::QualityApprovalRequired),
            ErrorCode::DeploymentRequestPending => Some(BlockCode::DeploymentRequestPending),
            ErrorCode::DeploymentRequestRequired => Some(BlockCode::DeploymentRequestRequired),
            _ => None,
        }
    }

    /// The HTTP status the server answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput => 422,
            ErrorCode::VersionConflict | ErrorCode::ConcurrentDeployment => 409,
            ErrorCode::NoDeployWindow => 423,
            ErrorCode::FlowViolation
            | ErrorCode::InsufficientSoakTime
            | ErrorCode::ApprovalRequired
            | ErrorCode::QualityApprovalRequired
            | ErrorCode::DeploymentRequestPending
            | ErrorCode::DeploymentRequestRequired => 428,
            ErrorCode::NotFound => 404,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::Storage => 503,
            ErrorCode::Network | ErrorCode::Internal => 500,
            ErrorCode::RateLimited => 429,
        }
    }

    /// The CLI exit code: 4 for an error the API reported, 5 when blocked by policy, 1 otherwise.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCode::InvalidInput
            | ErrorCode::VersionConflict
            | ErrorCode::NotFound
            | ErrorCode::Unauthorized
            | ErrorCode::Forbidden => 4,
            ErrorCode::ConcurrentDeployment
            | ErrorCode::NoDeployWindow
            | ErrorCode::FlowViolation
            | ErrorCode::InsufficientSoakTime
            | ErrorCode::ApprovalRequired
            | ErrorCode::QualityApprovalRequired
            | ErrorCode::DeploymentRequestPending
            | ErrorCode::DeploymentRequestRequired => 5,
            ErrorCode::Storage
            | ErrorCode::Network
            | ErrorCode::Internal
            | ErrorCode::RateLimited => 1,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a policy file or rule definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyProblem {
    /// The rule's name, or its position (`rules[2]`) when it has none.
    pub rule: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong, and what would be accepted.
    pub reason: String,
}

impl std::fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule `{}`: `{}`: {}", self.rule, self.field, self.reason)
    }
}

/// Every failure the library returns.
///
/// # Examples
/// ```
/// use versioner_core::{DeploymentEvent, Error, ErrorCode, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// let err = vr
///     .track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "exploded"))
///     .unwrap_err();
/// assert_eq!(err.code(), ErrorCode::InvalidInput);
/// assert_eq!(err.code().as_str(), "INVALID_INPUT");
/// assert_eq!(err.code().http_status(), 422);
/// assert!(!err.code().is_blocked());
/// assert!(matches!(err, Error::InvalidInput { .. }));
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field is missing, blank, too long or malformed.
    #[error("invalid `{field}`: {reason}")]
    InvalidInput {
        /// The field at fault, named as on the wire (`product_name`, `extra_metadata`, ...).
        field: String,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// A policy file or rule definition has one or more problems; nothing was applied.
    #[error("invalid policy: {}", join_problems(.problems))]
    InvalidPolicy {
        /// Every problem found.
        problems: Vec<PolicyProblem>,
    },
    /// The version was recorded earlier with another SCM SHA; versions are immutable.
    #[error(
        "version `{version}` of `{product}` is recorded with sha `{recorded}`, not `{given}`; \
         versions are immutable, so build a new version for the new commit"
    )]
    VersionConflict {
        /// The product.
        product: String,
        /// The version.
        version: String,
        /// The SHA recorded first.
        recorded: String,
        /// The conflicting SHA given now.
        given: String,
    },
    /// The preflight refused the deployment; the verdict says why and what to do.
    #[error("{}", .0.summary())]
    Blocked(Box<Verdict>),
    /// The named thing does not exist.
    #[error("{kind} `{name}` not found")]
    NotFound {
        /// What kind of thing (`product`, `version`, `rule`, ...).
        kind: &'static str,
        /// Its name or id.
        name: String,
    },
    /// No or an invalid credential.
    #[error("{message}")]
    Unauthorized {
        /// What was wrong with the credential.
        message: String,
    },
    /// The credential lacks the permission.
    #[error("{message}")]
    Forbidden {
        /// What was refused.
        message: String,
    },
    /// The database was written by a newer Versioner; this library refuses to touch it.
    #[error(
        "database schema version {found} is newer than this library supports ({supported}); \
         upgrade versioner to open it"
    )]
    SchemaTooNew {
        /// The schema version found in the database.
        found: i64,
        /// The newest schema version this library knows.
        supported: i64,
    },
    /// The database failed.
    #[error("storage error: {message}")]
    Storage {
        /// What failed.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An error reported by a remote Versioner server, with its stable code.
    #[error("{message}")]
    Remote {
        /// The code the server reported.
        code: ErrorCode,
        /// The server's message.
        message: String,
    },
    /// The remote server could not be reached or answered unexpectedly.
    #[error("network error: {message}")]
    Network {
        /// What failed.
        message: String,
    },
    /// A server refused the request for now: over its rate limit for the key or address.
    #[error("{message}")]
    RateLimited {
        /// What limit, and when to retry.
        message: String,
    },
    /// A bug or an unexpected state.
    #[error("internal error: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

fn join_problems(problems: &[PolicyProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidInput { .. } | Error::InvalidPolicy { .. } => ErrorCode::InvalidInput,
            Error::VersionConflict { .. } => ErrorCode::VersionConflict,
            Error::Blocked(verdict) => verdict
                .primary()
                .and_then(|o| o.code)
                .map_or(ErrorCode::Internal, BlockCode::error_code),
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Unauthorized { .. } => ErrorCode::Unauthorized,
            Error::Forbidden { .. } => ErrorCode::Forbidden,
            Error::SchemaTooNew { .. } | Error::Storage { .. } => ErrorCode::Storage,
            Error::Network { .. } => ErrorCode::Network,
            Error::Remote { code, .. } => *code,
            Error::Internal { .. } => ErrorCode::Internal,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
        }
    }

    /// The verdict when this error is a policy block.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            Error::Blocked(v) => Some(v),
            _ => None,
        }
    }

    /// The field at fault, for input errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } => Some(field),
            Error::InvalidPolicy { problems } => problems.first().map(|p| p.field.as_str()),
            _ => None,
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for an [`Error::Storage`] with a source.
    pub fn storage(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Storage {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Shorthand for an [`Error::Internal`].
    pub fn internal(message: impl Into<String>) -> Error {
        Error::Internal {
            message: message.into(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Storage {
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_map() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!(matches!(code.exit_code(), 1 | 4 | 5));
            assert_eq!(code.is_blocked(), code.exit_code() == 5);
        }
        assert_eq!(ErrorCode::ConcurrentDeployment.http_status(), 409);
        assert_eq!(ErrorCode::NoDeployWindow.http_status(), 423);
        assert_eq!(ErrorCode::FlowViolation.http_status(), 428);
        assert_eq!(ErrorCode::VersionConflict.http_status(), 409);
        assert_eq!(ErrorCode::InvalidInput.http_status(), 422);
    }

    #[test]
    fn invalid_input_message_names_the_field() {
        let e = Error::invalid("product_name", "must not be blank");
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(e.field(), Some("product_name"));
        assert_eq!(e.to_string(), "invalid `product_name`: must not be blank");
    }
}
