//! The exit code, as a type.

use std::process::{ExitCode, Termination};

use versioner_core::ErrorCode;

/// How `versioner` ends: the same codes for every command, builds and deployments alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exit {
    /// 0: done (including report-only warnings, and errors tolerated by
    /// `--fail-on-api-error=false`).
    Success = 0,
    /// 1: bad usage (flags, configuration), or the server could not be reached, or failed.
    Failure = 1,
    /// 4: the API (or the in-process core) refused the request: bad input, SHA conflict, not
    /// found, authentication.
    Rejected = 4,
    /// 5: blocked by policy (the preflight refused the deployment).
    Blocked = 5,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ErrorCode> for Exit {
    /// Reuses the core's mapping ([`ErrorCode::exit_code`]).
    fn from(code: ErrorCode) -> Exit {
        match code.exit_code() {
            5 => Exit::Blocked,
            4 => Exit::Rejected,
            _ => Exit::Failure,
        }
    }
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_maps_to_the_core_exit_code() {
        for code in ErrorCode::ALL {
            assert_eq!(Exit::from(code).code(), code.exit_code(), "{code}");
        }
    }
}
