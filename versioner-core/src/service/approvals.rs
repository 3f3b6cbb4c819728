//! Approvals: record, revoke and list.

use crate::approval::{Approval, ApprovalRequest};
use crate::error::{Error, Result};
use crate::outbox::{EventType, NewEvent};
use crate::store::{self, LockScope};

use super::{Versioner, find_version};

impl Versioner {
    /// Records an approval of a recorded version.
    ///
    /// # Errors
    /// `INVALID_INPUT`; `NOT_FOUND` when the product or version was never recorded; `STORAGE`.
    pub fn approve(&self, request: &ApprovalRequest) -> Result<Approval> {
        let req = request.validate()?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let (_, version) = find_version(tx, &req.product, &req.version)?;
            let approval = Approval {
                id: uuid::Uuid::now_v7().to_string(),
                product_name: req.product.clone(),
                version: req.version.clone(),
                version_id: version.id.clone(),
                approval_type: req.approval_type.clone(),
                approver: req.approver.clone(),
                approver_role: req.approver_role.clone(),
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

    /// Revokes an approval (it stays in the record, marked revoked).
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` when `actor` or `reason` is blank or it is already
    /// revoked; `STORAGE`.
    pub fn revoke_approval(&self, id: &str, actor: &str, reason: &str) -> Result<Approval> {
        let actor = crate::event::required("actor", Some(actor), 255)?;
        let reason = crate::event::required("reason", Some(reason), 1000)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
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
            tx.revoke_approval(id, &actor, &reason, now)?;
            let revoked = tx
                .approval_by_id(id)?
                .ok_or_else(|| Error::internal("approval vanished while revoking"))?;
            tx.append_event(
                &NewEvent::of(EventType::ApprovalRevoked, now, id, &revoked).by(Some(&actor)),
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
