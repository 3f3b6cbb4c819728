//! SQL text shared by the SQLite and PostgreSQL stores: the column lists and joins that read
//! each record, written once so the two stores cannot drift apart. Statements that differ
//! (placeholders `?1`/`$1`, upserts, types) stay in each store beside its row mappers.

pub(super) const PRODUCT_COLS: &str = "id, uid, name, created_at, description, extra_metadata";

pub(super) const ENV_COLS: &str =
    "id, uid, name, env_type, type_overridden, created_at, description, extra_metadata";

pub(super) const VERSION_SELECT: &str = "SELECT v.id, v.uid, v.product_id, p.uid, p.name, v.version, v.scm_sha, \
    v.scm_branch, v.scm_repository, v.build_number, v.build_url, v.built_by, v.created_at, v.scm_committed_at \
    FROM versions v JOIN products p ON p.id = v.product_id";

pub(super) const BUILD_SELECT: &str = "SELECT b.id, b.uid, b.version_id, v.uid, p.uid, p.name, v.version, b.status, \
    b.started_at, b.completed_at, b.created_at, b.updated_at, b.fields, b.extra_metadata \
    FROM builds b JOIN versions v ON v.id = b.version_id JOIN products p ON p.id = v.product_id";

pub(super) const DEPLOYMENT_SELECT: &str = "SELECT d.id, d.uid, d.product_id, p.uid, p.name, d.version_id, v.uid, \
    v.version, d.environment_id, e.uid, e.name, d.status, d.deployed_at, d.started_at, \
    d.completed_at, d.updated_at, d.fields, d.extra_metadata, f.preflight \
    FROM deployments d JOIN products p ON p.id = d.product_id \
    JOIN versions v ON v.id = d.version_id JOIN environments e ON e.id = d.environment_id \
    LEFT JOIN preflights f ON f.deployment_id = d.id";

pub(super) const APPROVAL_SELECT: &str = "SELECT a.uid, p.name, v.version, v.uid, a.approval_type, a.approver, \
    a.approver_role, a.environment, a.comment, a.granted_at, a.revoked_at, a.revoked_by, a.revoke_reason \
    FROM approvals a JOIN versions v ON v.id = a.version_id JOIN products p ON p.id = v.product_id";

pub(super) const API_KEY_SELECT: &str = "SELECT k.id, k.name, p.role, k.prefix, k.created_at, \
    k.last_used_at, k.revoked_at, p.name FROM api_keys k JOIN principals p ON p.name = k.principal";

pub(super) const PRINCIPAL_SELECT: &str =
    "SELECT name, role, created_at, updated_at FROM principals";

pub(super) const DECISION_SELECT: &str = "SELECT id, uid, recorded_at, product, version, environment, status, \
    outcome, actor, deployment_id, policy_hash, request, verdict, facts FROM decisions";

pub(super) const SESSION_SELECT: &str = "SELECT k.id, k.name, p.role, k.prefix, k.created_at, \
    k.last_used_at, k.revoked_at, p.name, s.created_at, s.expires_at FROM sessions s \
    JOIN api_keys k ON k.id = s.key_id JOIN principals p ON p.name = k.principal";

/// Where a version's lead time starts (see [`crate::insights`]), over a `versions` row `v`.
macro_rules! lead_start {
    () => {
        "COALESCE(v.scm_committed_at, (SELECT MIN(b.started_at) FROM builds b WHERE b.version_id = v.id), \
         v.created_at)"
    };
}

/// Where a version's lead time starts, over a `versions` row `v` (for the four keys' rollups).
pub(super) const LEAD_START: &str = lead_start!();

/// Recomputes where the lead time of version `$1` starts in its rollup row, if it has one,
/// after its commit time or one of its builds changed (its one placeholder, `$1`, binds as
/// the first in SQLite too).
pub(super) const REFRESH_LEAD_START: &str = concat!(
    "UPDATE dora_versions SET lead_start_at = (SELECT ",
    lead_start!(),
    " FROM versions v WHERE v.id = dora_versions.version_id) WHERE version_id = $1"
);
