//! The rule kinds, one module each, registered once in [`rule_kinds!`].
//!
//! A kind's module holds everything about it: its parameters (a struct), how they are read
//! from a policy file (`parse`, with `FIELDS` naming every key it accepts) and written back
//! (`write_json`), which facts the preflight must gather for it (`needs`), and its evaluation
//! (`evaluate`). [`RuleType`], [`RuleKind`] and every list of kinds (the parser's "expected one
//! of", the dispatch in the engine) are generated from the registration below, so a new kind is
//! its own module plus one line here (and its block codes in `verdict.rs`/`error.rs`, whose
//! exhaustive `match`es then point at every surface to update).

pub(crate) mod concurrency;
pub(crate) mod flow;
pub(crate) mod max_skew;
pub(crate) mod release_approval;
pub(crate) mod request_required;
pub(crate) mod schedule;
pub(crate) mod version_approval;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::facts::Facts;
use super::rule::Parser;
use super::{Check, Detail};
use crate::error::Error;

pub use concurrency::{ConcurrencyRule, ConcurrencyScope};
pub use flow::FlowRule;
pub use max_skew::MaxSkewRule;
pub use release_approval::ReleaseApprovalRule;
pub use request_required::RequestRequiredRule;
pub use schedule::{ScheduleRule, WindowDef, WindowMode};
pub use version_approval::VersionApprovalRule;

/// The facts the preflight must gather for the rules in scope, beyond the deployment itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Open deployments in the environment.
    pub(crate) open_deployments: bool,
    /// How far back an open deployment still counts (the longest `stale_after`).
    pub(crate) open_window: std::time::Duration,
    /// How the version fared in these environments.
    pub(crate) stints: Vec<String>,
    /// The version's active approvals.
    pub(crate) approvals: bool,
    /// Who built the version.
    pub(crate) builders: bool,
    /// The environments `max_skew` rules keep from falling behind the target environment.
    pub(crate) skew_behind: Vec<String>,
}

macro_rules! rule_kinds {
    ($( $(#[$doc:meta])* $variant:ident($ty:ident) = $name:literal, )+) => {
        /// The type of a rule, named in policy files by its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(rename_all = "snake_case"))]
        pub enum RuleType {
            $( $(#[$doc])* $variant, )+
        }

        impl RuleType {
            /// Every rule type, in registration order.
            pub const ALL: &'static [RuleType] = &[$(RuleType::$variant),+];

            /// The snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleType::$variant => $name,)+
                }
            }
        }

        /// The parameters of each rule kind.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum RuleKind {
            $( $(#[$doc])* $variant($ty), )+
        }

        impl RuleKind {
            /// The kind's type.
            pub fn rule_type(&self) -> RuleType {
                match self {
                    $(RuleKind::$variant(_) => RuleType::$variant,)+
                }
            }

            /// Reads a kind's parameters, collecting problems in the parser.
            pub(crate) fn parse(rule_type: RuleType, p: &mut Parser<'_>) -> RuleKind {
                match rule_type {
                    $(RuleType::$variant => RuleKind::$variant($ty::parse(p)),)+
                }
            }

            /// The keys a kind reads, besides the common ones.
            pub(crate) fn fields(rule_type: RuleType) -> &'static [&'static str] {
                match rule_type {
                    $(RuleType::$variant => $ty::FIELDS,)+
                }
            }

            /// Writes the kind's parameters in their policy-file form.
            pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
                match self {
                    $(RuleKind::$variant(k) => k.write_json(m),)+
                }
            }

            /// Adds the facts this kind needs.
            pub(crate) fn needs(&self, needs: &mut Needs) {
                match self {
                    $(RuleKind::$variant(k) => k.needs(needs),)+
                }
            }

            /// Evaluates the kind for the deployment the facts describe, at `at`.
            pub(crate) fn evaluate(
                &self,
                rule_name: &str,
                facts: &Facts,
                at: DateTime<Utc>,
                detail: Detail,
            ) -> Check {
                match self {
                    $(RuleKind::$variant(k) => k.evaluate(rule_name, facts, at, detail),)+
                }
            }
        }

        $(
            impl From<$ty> for RuleKind {
                fn from(kind: $ty) -> RuleKind {
                    RuleKind::$variant(kind)
                }
            }
        )+
    };
}

rule_kinds! {
    /// Limits deployments in progress.
    Concurrency(ConcurrencyRule) = "concurrency",
    /// No-deploy windows and deploy-only-during windows.
    Schedule(ScheduleRule) = "schedule",
    /// Prerequisite environments, order and soak time.
    Flow(FlowRule) = "flow",
    /// Quality sign-offs on the version.
    VersionApproval(VersionApprovalRule) = "version_approval",
    /// N distinct approvers for a deployment to the environment.
    ReleaseApproval(ReleaseApprovalRule) = "release_approval",
    /// An approved Deployment Request must cover the deployment.
    DeploymentRequestRequired(RequestRequiredRule) = "deployment_request_required",
    /// Another environment may not fall too many versions or too long behind this one.
    MaxSkew(MaxSkewRule) = "max_skew",
}

impl RuleType {
    /// Every rule type's name, in registration order.
    pub fn names() -> Vec<&'static str> {
        RuleType::ALL.iter().map(|t| t.as_str()).collect()
    }
}

impl std::str::FromStr for RuleType {
    type Err = Error;
    fn from_str(s: &str) -> Result<RuleType, Error> {
        let wanted = s.trim();
        RuleType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| {
                Error::invalid(
                    "type",
                    format!(
                        "unknown rule type `{wanted}`; expected one of: {}",
                        RuleType::names().join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for RuleType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RuleType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RuleType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RuleType, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once_and_named_alike_everywhere() {
        let names = RuleType::names();
        assert_eq!(
            names,
            [
                "concurrency",
                "schedule",
                "flow",
                "version_approval",
                "release_approval",
                "deployment_request_required",
                "max_skew"
            ]
        );
        for t in RuleType::ALL {
            assert_eq!(t.as_str().parse::<RuleType>().ok(), Some(*t));
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(Value::String(t.as_str().into()))
            );
            assert!(!RuleKind::fields(*t).is_empty());
        }
        let err = "freeze".parse::<RuleType>().unwrap_err();
        assert!(err.to_string().contains(&names.join(", ")), "{err}");
    }
}
