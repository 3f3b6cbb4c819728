//! Approvals: record, revoke and list.
//!
//! An approval is always its actor's own: the API key's principal through the server, the
//! handle's actor or the named approver in process. Its type must be in the approval catalog
//! and one the actor's role may grant.

use crate::access::{Permission, Role, principal_key};
use crate::approval::{Approval, ApprovalRequest};
use crate::error::{Error, Result};
use crate::outbox::{EventType, NewEvent};
use crate::store::{self, LockScope};

use super::access::approval_catalog;
use super::{Versioner, find_version};

impl Versioner {
    /// Records an approval of a recorded version by its actor (see
    /// [`ApprovalRequest::approver`]), with the actor's role.
    ///
    /// # Errors
    /// `INVALID_INPUT` (an unknown approval type names the accepted ones; an `approver` or
    /// `approver_role` that is not the actor's); `FORBIDDEN` when the actor's role may not
    /// approve, or not this type; `NOT_FOUND` when the product or version was never
    /// recorded; `STORAGE`. Nothing is written on error.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{ApprovalRequest, BuildEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// let a = vr.approve(
    ///     &ApprovalRequest::new("api", "1.2.0", "release", "lee").in_environment("production"),
    /// )?;
    /// assert_eq!(a.approver, "lee");
    /// assert_eq!(vr.approvals("api", "1.2.0")?.len(), 1);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn approve(&self, request: &ApprovalRequest) -> Result<Approval> {
        let req = request.validate()?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_claimed(
                tx,
                req.approver.as_deref(),
                "approver",
                req.approver_role.as_deref(),
                "approver_role",
            )?;
            let approver = acting.principal.clone().ok_or_else(|| {
                Error::invalid(
                    "approver",
                    "is required: who approves (in process, give `approver` or act as someone)",
                )
            })?;
            acting.require(Permission::Approve)?;
            let catalog = approval_catalog(tx)?;
            let approval_type = catalog.resolve(&req.approval_type)?;
            if !catalog.may_grant(acting.role, &approval_type) {
                return Err(catalog.forbidden(&approver, acting.role, &approval_type));
            }
            let (_, version) = find_version(tx, &req.product, &req.version)?;
            let approval = Approval {
                id: uuid::Uuid::now_v7().to_string(),
                product_name: req.product.clone(),
                version: req.version.clone(),
                version_id: version.id.clone(),
                approval_type,
                approver,
                approver_role: Some(acting.role.as_str().to_string()),
                environment: req.environment.clone(),
                comment: req.comment.clone(),
                granted_at: now,
                revoked_at: None,
                revoked_by: None,
                revoke_reason: None,
            };
            tx.insert_approval(version.key, &approval)?;
            tx.append_event(
                &NewEvent::of(EventType::VersionApproved, now, &approval.id, &approval)
                    .by(Some(&approval.approver)),
            )?;
            Ok(approval)
        })
    }

    /// Revokes an approval (it stays in the record, marked revoked). An approval is revoked
    /// by its approver, or by an admin or release manager; `actor` is who revokes (with an
    /// actor attached: blank, or the actor).
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` when `actor` (in process without an actor) or `reason` is
    /// blank, `actor` is not the caller, or it is already revoked; `FORBIDDEN` for another's
    /// approval without the role to revoke it; `STORAGE`.
    pub fn revoke_approval(&self, id: &str, actor: &str, reason: &str) -> Result<Approval> {
        let reason = crate::event::required("reason", Some(reason), 1000)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_claimed(tx, Some(actor), "actor", None, "role")?;
            let by = acting
                .principal
                .clone()
                .ok_or_else(|| Error::invalid("actor", "is required and must not be blank"))?;
            acting.require(Permission::Approve)?;
            let a = tx.approval_by_id(id)?.ok_or_else(|| Error::NotFound {
                kind: "approval",
                name: id.to_string(),
            })?;
            if !a.is_active() {
                return Err(Error::invalid(
                    "id",
                    format!("approval `{id}` is already revoked"),
                ));
            }
            let own = principal_key(&a.approver) == principal_key(&by);
            if !own && !matches!(acting.role, Role::Admin | Role::ReleaseManager) {
                return Err(Error::Forbidden {
                    message: format!(
                        "approval `{id}` is `{}`'s; `{by}` (role {}) may revoke only their own \
                         approvals (admins and release managers may revoke any)",
                        a.approver, acting.role
                    ),
                });
            }
            tx.revoke_approval(id, &by, &reason, now)?;
            let revoked = tx
                .approval_by_id(id)?
                .ok_or_else(|| Error::internal("approval vanished while revoking"))?;
            tx.append_event(
                &NewEvent::of(EventType::ApprovalRevoked, now, id, &revoked).by(Some(&by)),
            )?;
            Ok(revoked)
        })
    }

    /// The approvals of a version (revoked ones too), oldest first.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn approvals(&self, product: &str, version: &str) -> Result<Vec<Approval>> {
        store::read(&*self.store, |tx| {
            let (_, v) = find_version(tx, product, version)?;
            tx.approvals(v.key)
        })
    }
}
