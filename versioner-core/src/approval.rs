//! Approvals: quality sign-offs (`qa`, `security`, ...) and release approvals on a version.
//!
//! An approval is a typed sign-off by one person on one version, optionally granted in (or
//! for) one environment. Release approvals have the type `release` and, when given an
//! environment, count only for deployments to it. Approvals are never deleted: revoking one
//! records who revoked it, when and why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::{optional, required};

/// The approval type of a release approval.
pub const RELEASE: &str = "release";

/// The built-in approval types; a policy file may declare others (see
/// [`ApprovalCatalog`](crate::policy::ApprovalCatalog)).
pub const KNOWN_TYPES: &[&str] = crate::policy::BUILT_IN_TYPES;

/// Normalizes the spelling of an approval type: lower-case letters, digits and `_`, at most
/// 50 characters; `-` and spaces become `_` (`Code Review` → `code_review`). Whether the type
/// exists is the [`ApprovalCatalog`](crate::policy::ApprovalCatalog)'s to say.
///
/// # Errors
/// `INVALID_INPUT` on `approval_type`.
pub fn normalize_type(s: &str) -> Result<String> {
    let t: String = s
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect();
    if t.is_empty()
        || t.len() > 50
        || !t
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::invalid(
            "approval_type",
            format!(
                "`{}` is not an approval type: types are words of letters, digits and _ (built in: {})",
                s.trim(),
                KNOWN_TYPES.join(", ")
            ),
        ));
    }
    Ok(t)
}

/// A recorded approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Approval {
    /// Public id (UUID).
    pub id: String,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The version's public id.
    pub version_id: String,
    /// The type (`qa`, `security`, ..., `release`, or one the policy declares).
    pub approval_type: String,
    /// Who approved: the principal (through the server, the API key's).
    pub approver: String,
    /// The approver's role when it approved (release rules may require one). Approvals
    /// recorded before roles were checked keep the text they were given.
    pub approver_role: Option<String>,
    /// The environment it was granted in or for, if any.
    pub environment: Option<String>,
    /// The approver's comment.
    pub comment: Option<String>,
    /// When it was granted.
    #[serde(with = "crate::wire::instant")]
    pub granted_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[serde(with = "crate::wire::instant::option")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

impl Approval {
    /// Whether it still stands (not revoked).
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A request to record an approval.
///
/// # Examples
/// ```
/// use versioner_core::{ApprovalRequest, BuildEvent, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
/// let request = ApprovalRequest::new("api", "1.2.0", "qa", "quinn")
///     .with_role("qa")
///     .in_environment("staging");
/// assert_eq!(vr.approve(&request)?.approver_role.as_deref(), Some("qa"));
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ApprovalRequest {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The type (`qa`, `security`, `uat`, `code_review`, `compliance`, `performance`,
    /// `release`, or one the policy declares).
    pub approval_type: String,
    /// Who approves. Through the server the approver is always the API key's principal: leave
    /// it empty or give that name. In process it is required unless the handle has an actor
    /// ([`Versioner::acting_as`](crate::Versioner::acting_as)), which it must then agree with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub approver: String,
    /// The approver's role (one of [`Role`](crate::Role)'s names). The role of a registered
    /// principal (every API key's) is its own: leave it empty or give that role. An
    /// unregistered in-process approver acts with the role given here, else as `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_role: Option<String>,
    /// The environment it is granted in or for.
    #[serde(default)]
    pub environment: Option<String>,
    /// A comment.
    #[serde(default)]
    pub comment: Option<String>,
}

impl ApprovalRequest {
    /// An approval of `approval_type` by `approver` on `version` of `product`.
    pub fn new(
        product: impl Into<String>,
        version: impl Into<String>,
        approval_type: impl Into<String>,
        approver: impl Into<String>,
    ) -> ApprovalRequest {
        ApprovalRequest {
            product_name: product.into(),
            version: version.into(),
            approval_type: approval_type.into(),
            approver: approver.into(),
            ..ApprovalRequest::default()
        }
    }

    /// Sets the environment.
    #[must_use]
    pub fn in_environment(mut self, environment: impl Into<String>) -> ApprovalRequest {
        self.environment = Some(environment.into());
        self
    }

    /// Sets the approver's role.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<String>) -> ApprovalRequest {
        self.approver_role = Some(role.into());
        self
    }

    /// Sets the comment.
    #[must_use]
    pub fn with_comment(mut self, comment: impl Into<String>) -> ApprovalRequest {
        self.comment = Some(comment.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<ValidApproval> {
        Ok(ValidApproval {
            product: required("product_name", Some(&self.product_name), 255)?,
            version: required("version", Some(&self.version), 100)?,
            approval_type: required("approval_type", Some(&self.approval_type), 100)?,
            approver: optional("approver", Some(&self.approver), 255)?,
            approver_role: optional("approver_role", self.approver_role.as_deref(), 100)?,
            environment: optional("environment", self.environment.as_deref(), 100)?,
            comment: optional("comment", self.comment.as_deref(), 2000)?,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ValidApproval {
    pub product: String,
    pub version: String,
    pub approval_type: String,
    pub approver: Option<String>,
    pub approver_role: Option<String>,
    pub environment: Option<String>,
    pub comment: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_normalize() {
        assert_eq!(normalize_type("QA").unwrap(), "qa");
        assert_eq!(normalize_type("Code Review").unwrap(), "code_review");
        assert_eq!(normalize_type("change-board").unwrap(), "change_board");
        let e = normalize_type("qa!").unwrap_err();
        assert_eq!(e.field(), Some("approval_type"));
    }

    #[test]
    fn a_blank_approver_is_none() {
        let v = ApprovalRequest::new("api", "1", "qa", " ")
            .validate()
            .unwrap();
        assert_eq!(v.approver, None);
    }
}
