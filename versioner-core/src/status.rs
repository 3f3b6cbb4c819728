//! Canonical statuses and the aliases every client sends.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The five canonical statuses of builds and deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "lowercase"))]
pub enum Status {
    /// Queued, not yet running.
    Pending,
    /// Running; a deployment `started` event runs the preflight.
    Started,
    /// Finished successfully.
    Completed,
    /// Finished unsuccessfully.
    Failed,
    /// Cancelled or skipped.
    Aborted,
}

/// Every accepted spelling, lower-case, with its canonical status (reference §4.4, plus `canceled`).
const ALIASES: &[(&str, Status)] = &[
    ("pending", Status::Pending),
    ("queued", Status::Pending),
    ("scheduled", Status::Pending),
    ("started", Status::Started),
    ("in_progress", Status::Started),
    ("init", Status::Started),
    ("deploying", Status::Started),
    ("building", Status::Started),
    ("completed", Status::Completed),
    ("success", Status::Completed),
    ("complete", Status::Completed),
    ("finished", Status::Completed),
    ("deployed", Status::Completed),
    ("built", Status::Completed),
    ("failed", Status::Failed),
    ("fail", Status::Failed),
    ("failure", Status::Failed),
    ("error", Status::Failed),
    ("aborted", Status::Aborted),
    ("abort", Status::Aborted),
    ("cancelled", Status::Aborted),
    ("canceled", Status::Aborted),
    ("cancel", Status::Aborted),
    ("skipped", Status::Aborted),
];

impl Status {
    /// All canonical statuses.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Started,
        Status::Completed,
        Status::Failed,
        Status::Aborted,
    ];

    /// The canonical lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Started => "started",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
        }
    }

    /// Every accepted input spelling with its canonical status.
    pub fn aliases() -> &'static [(&'static str, Status)] {
        ALIASES
    }

    /// Whether the status opens a deployment or build (`pending`, `started`).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Pending | Status::Started)
    }

    /// Whether the status closes one (`completed`, `failed`, `aborted`).
    pub fn is_terminal(self) -> bool {
        !self.is_open()
    }

    /// Parses any alias, case-insensitively and ignoring surrounding white space.
    ///
    /// # Errors
    /// `INVALID_INPUT` on the field `status`, naming the accepted values.
    pub fn parse(input: &str) -> Result<Status, Error> {
        input.parse()
    }
}

impl FromStr for Status {
    type Err = Error;

    fn from_str(s: &str) -> Result<Status, Error> {
        let wanted = s.trim();
        ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(wanted))
            .map(|(_, status)| *status)
            .ok_or_else(|| {
                let reason = if wanted.is_empty() {
                    "must not be blank; expected one of: pending, started, completed, failed, aborted"
                        .to_string()
                } else {
                    format!(
                        "unknown status `{wanted}`; expected one of: pending, started, completed, \
                         failed, aborted (or an alias: {})",
                        ALIASES
                            .iter()
                            .filter(|(a, s)| *a != s.as_str())
                            .map(|(a, _)| *a)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                Error::invalid("status", reason)
            })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn every_alias_normalizes_in_any_case_and_padding() {
        let expected = [
            ("pending", Status::Pending),
            ("queued", Status::Pending),
            ("scheduled", Status::Pending),
            ("started", Status::Started),
            ("in_progress", Status::Started),
            ("init", Status::Started),
            ("deploying", Status::Started),
            ("building", Status::Started),
            ("completed", Status::Completed),
            ("success", Status::Completed),
            ("complete", Status::Completed),
            ("finished", Status::Completed),
            ("deployed", Status::Completed),
            ("built", Status::Completed),
            ("failed", Status::Failed),
            ("fail", Status::Failed),
            ("failure", Status::Failed),
            ("error", Status::Failed),
            ("aborted", Status::Aborted),
            ("abort", Status::Aborted),
            ("cancelled", Status::Aborted),
            ("canceled", Status::Aborted),
            ("cancel", Status::Aborted),
            ("skipped", Status::Aborted),
        ];
        assert_eq!(expected.len(), ALIASES.len());
        for (alias, status) in expected {
            assert_eq!(Status::parse(alias).unwrap(), status, "{alias}");
            assert_eq!(Status::parse(&alias.to_uppercase()).unwrap(), status);
            assert_eq!(Status::parse(&format!("  {alias}\t")).unwrap(), status);
        }
    }

    #[test]
    fn unknown_status_lists_the_accepted_values() {
        let err = Status::parse("succeeded").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert_eq!(err.field(), Some("status"));
        let msg = err.to_string();
        assert!(msg.contains("unknown status `succeeded`"), "{msg}");
        assert!(
            msg.contains("pending, started, completed, failed, aborted"),
            "{msg}"
        );
        assert!(
            Status::parse("   ")
                .unwrap_err()
                .to_string()
                .contains("blank")
        );
    }

    #[test]
    fn canonical_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()).unwrap(), s);
            assert_eq!(s.is_open(), !s.is_terminal());
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_aliases(s in ".{0,20}") {
            let ok = Status::parse(&s).is_ok();
            let known = ALIASES.iter().any(|(a, _)| a.eq_ignore_ascii_case(s.trim()));
            proptest::prop_assert_eq!(ok, known);
        }
    }
}
