//! Who may call: API keys and their roles, and the idempotency records of their writes.
//!
//! Both live in the store beside the records they protect, so every `versioner serve` on one
//! PostgreSQL database shares them, and an idempotency record commits in the same transaction
//! as the write it answers.
//!
//! - An [`ApiKey`] has a name, a [`Role`], a display prefix (`sk_vr_<id>`) and the SHA-256 of
//!   the whole key. The key itself is shown once, when created, and never stored.
//! - An [`IdempotencyRecord`] keeps, for 24 hours, what one `(caller, Idempotency-Key)` write
//!   produced: the core's result (written in the write's own transaction) and, once the server
//!   has sent it, the answer as sent. A retry with the same key is a replay, never a second
//!   execution, even after a crash between the commit and the answer.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long an idempotency record is kept.
pub const IDEMPOTENCY_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A principal's role: what its keys may do (the reference's ten roles, §10, plus `ci`).
///
/// Each principal has one role; its keys act with it. The names are snake_case
/// (`release_manager`). Two names of earlier versions are still read: `deployer` is
/// [`Role::Ci`] and `approver` is [`Role::ReleaseManager`] (the one role other than admin that
/// may grant every approval type, as an approver key could).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including API keys and roles.
    Admin,
    /// Releases: events, bypass, rules, environments, every approval type.
    #[serde(alias = "approver")]
    ReleaseManager,
    /// Product owners: read, and grant `uat` and `release` approvals.
    Product,
    /// Developers: read, send events, and grant `code_review` approvals.
    Developer,
    /// Site reliability: read, send events, rules, environments, and grant `performance` and
    /// `release` approvals.
    Sre,
    /// Quality assurance: read, and grant `qa`, `performance` and `release` approvals.
    Qa,
    /// Security: read, and grant `security` and `release` approvals.
    Security,
    /// Compliance: read, and grant `compliance` and `release` approvals.
    Compliance,
    /// Billing: read only (Versioner keeps no billing).
    Billing,
    /// Read only.
    Viewer,
    /// A pipeline's key: send build and deployment events, nothing else.
    #[serde(alias = "deployer")]
    Ci,
}

impl Role {
    /// Every role, in the reference's order, then `ci`.
    pub const ALL: [Role; 11] = [
        Role::Admin,
        Role::ReleaseManager,
        Role::Product,
        Role::Developer,
        Role::Sre,
        Role::Qa,
        Role::Security,
        Role::Compliance,
        Role::Billing,
        Role::Viewer,
        Role::Ci,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ReleaseManager => "release_manager",
            Role::Product => "product",
            Role::Developer => "developer",
            Role::Sre => "sre",
            Role::Qa => "qa",
            Role::Security => "security",
            Role::Compliance => "compliance",
            Role::Billing => "billing",
            Role::Viewer => "viewer",
            Role::Ci => "ci",
        }
    }

    /// The names every surface accepts, comma-separated (for messages).
    pub fn names() -> String {
        Role::ALL.map(Role::as_str).join(", ")
    }
}

impl FromStr for Role {
    type Err = Error;
    /// Reads a role name in any case, `-` or space for `_`; the names of earlier versions
    /// `deployer` (now `ci`) and `approver` (now `release_manager`) are still read.
    fn from_str(s: &str) -> Result<Role> {
        let wanted = s.trim();
        let key = wanted.to_ascii_lowercase().replace(['-', ' '], "_");
        match key.as_str() {
            "deployer" => return Ok(Role::Ci),
            "approver" => return Ok(Role::ReleaseManager),
            _ => {}
        }
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == key)
            .ok_or_else(|| {
                Error::invalid(
                    "role",
                    format!(
                        "unknown role `{wanted}`; expected one of: {}",
                        Role::names()
                    ),
                )
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operation requires of the caller's role. Each HTTP route declares one (its
/// `x-permission`); the core checks the same permissions on the actor of a write, in
/// process too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Nothing: no key needed (`/health`, `/openapi.json`, `/docs`).
    Public,
    /// Queries and dry-run checks: every role but `ci`.
    Read,
    /// Send build and deployment events: admin, release_manager, developer, sre, ci.
    Track,
    /// The emergency bypass of the preflight: admin and release_manager.
    Bypass,
    /// Record and revoke approvals (which types: the approval catalog's grants): admin,
    /// release_manager, product, developer, sre, qa, security, compliance.
    Approve,
    /// Set environment types, and rename or describe products and environments (the
    /// catalog): admin, release_manager, sre.
    ManageEnvironments,
    /// Add, edit and delete rules, change their status, apply a policy: admin,
    /// release_manager, sre.
    ManageRules,
    /// Create, list and revoke API keys and change principals' roles: admin.
    ManageKeys,
    /// Configure notification channels and preferences, send test notifications (the
    /// reference's "manage integrations"): admin, sre.
    ManageNotifications,
    /// Create, edit, submit, deactivate and cancel Deployment Requests and mark their steps
    /// done (the reference's "create/manage DRs"): admin, release_manager, product, developer.
    /// Filling a slot needs [`Permission::Approve`] and a role that may grant its type.
    ManageRequests,
    /// Read the server's operational metrics (`GET /metrics`): admin.
    ReadMetrics,
    /// Import and export the whole history of builds and deployments (`POST /import`,
    /// `GET /export`): admin.
    ManageHistory,
}

impl Permission {
    /// Every permission, from the least to the most guarded.
    pub const ALL: [Permission; 12] = [
        Permission::Public,
        Permission::Read,
        Permission::Track,
        Permission::Bypass,
        Permission::Approve,
        Permission::ManageEnvironments,
        Permission::ManageRules,
        Permission::ManageKeys,
        Permission::ManageNotifications,
        Permission::ManageRequests,
        Permission::ReadMetrics,
        Permission::ManageHistory,
    ];

    /// The name used in the OpenAPI document (`x-permission`): `public`, `read`, `track`,
    /// `bypass`, `approve`, `environments`, `rules`, `keys`, `notifications`, `requests`,
    /// `metrics` or `history`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::Public => "public",
            Permission::Read => "read",
            Permission::Track => "track",
            Permission::Bypass => "bypass",
            Permission::Approve => "approve",
            Permission::ManageEnvironments => "environments",
            Permission::ManageRules => "rules",
            Permission::ManageKeys => "keys",
            Permission::ManageNotifications => "notifications",
            Permission::ManageRequests => "requests",
            Permission::ReadMetrics => "metrics",
            Permission::ManageHistory => "history",
        }
    }

    /// The permission named `name` (see [`Permission::as_str`]).
    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The roles that have this permission.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| r.allows(self)).collect()
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Role {
    /// Whether a caller with this role may do what requires `permission`: the capability
    /// matrix of the reference (§10) mapped onto Versioner's operations, plus `ci` (events
    /// only). `Role::allows(role, Permission::Bypass)` is the emergency bypass's check.
    ///
    /// ```
    /// use versioner_core::access::{Permission, Role};
    /// assert!(Role::ReleaseManager.allows(Permission::Bypass));
    /// assert!(!Role::Ci.allows(Permission::Bypass) && Role::Ci.allows(Permission::Track));
    /// assert!(!Role::Ci.allows(Permission::Read));
    /// ```
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match permission {
            P::Public => true,
            P::Read => self != R::Ci,
            P::Track => matches!(
                self,
                R::Admin | R::ReleaseManager | R::Developer | R::Sre | R::Ci
            ),
            P::Bypass => matches!(self, R::Admin | R::ReleaseManager),
            P::Approve => matches!(
                self,
                R::Admin
                    | R::ReleaseManager
                    | R::Product
                    | R::Developer
                    | R::Sre
                    | R::Qa
                    | R::Security
                    | R::Compliance
            ),
            P::ManageEnvironments | P::ManageRules => {
                matches!(self, R::Admin | R::ReleaseManager | R::Sre)
            }
            P::ManageKeys | P::ReadMetrics | P::ManageHistory => self == R::Admin,
            P::ManageNotifications => matches!(self, R::Admin | R::Sre),
            P::ManageRequests => matches!(
                self,
                R::Admin | R::ReleaseManager | R::Product | R::Developer
            ),
        }
    }
}

/// The form of a principal's name that two names are compared in: trimmed, Unicode NFKC,
/// lower case (`Dana`, `dana ` and `ｄａｎａ` are one principal), as products and
/// environments are compared. Self-approval exclusion and the counting of distinct approvers
/// compare names in this form.
pub fn principal_key(name: &str) -> String {
    crate::names::key(name.trim())
}

/// A named person or system that API keys belong to, with its one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Principal {
    /// Its name, as first written (`dana`, `github-actions`); unique in any case.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it was created.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    /// When its role last changed (or it was created).
    #[serde(with = "crate::wire::instant")]
    pub updated_at: DateTime<Utc>,
}

impl Principal {
    /// A principal from its parts (for [`Tx`](crate::store::Tx) implementors).
    pub fn new(name: impl Into<String>, role: Role, at: DateTime<Utc>) -> Principal {
        Principal {
            name: name.into(),
            role,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Who performs the writes of a [`Versioner`](crate::Versioner) handle: a principal, and how
/// it is known. Attach one with [`Versioner::acting_as`](crate::Versioner::acting_as).
///
/// - [`Actor::from_key`]: authenticated by an API key (the server attaches it to every
///   request). The role is the principal's; the request's own `approver`, `approver_role` or
///   `actor` must be absent or agree with it.
/// - [`Actor::local`]: named in process (`--actor`, defaulting to the OS user). There is no
///   authentication in process (whoever opens the database may write it), so the name is
///   taken as given: when it is a registered principal it acts with that principal's role;
///   otherwise with the role given by [`Actor::with_role`], or as the database's owner
///   (`admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    principal: String,
    role: Option<Role>,
    key_id: Option<String>,
}

impl Actor {
    /// An actor named in process.
    pub fn local(principal: impl Into<String>) -> Actor {
        Actor {
            principal: principal.into().trim().to_string(),
            role: None,
            key_id: None,
        }
    }

    /// The actor of an authenticated API key: its principal, with its role.
    pub fn from_key(key: &ApiKey) -> Actor {
        Actor {
            principal: key.principal.clone(),
            role: Some(key.role),
            key_id: Some(key.id.clone()),
        }
    }

    /// States the role an in-process actor claims (refused when the principal is
    /// registered with another role).
    #[must_use]
    pub fn with_role(mut self, role: Role) -> Actor {
        self.role = Some(role);
        self
    }

    /// The principal's name.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The role given or authenticated, if any (an in-process actor's role is settled when
    /// it writes).
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The id of the API key that authenticated it, if one did.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Whether an API key authenticated it (through the server).
    pub fn is_authenticated(&self) -> bool {
        self.key_id.is_some()
    }
}

/// An API key as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ApiKey {
    /// Public id (8 hex characters), part of the key.
    pub id: String,
    /// A name for people (`ci`, `release-bot`); unique among active keys.
    pub name: String,
    /// The principal it belongs to (a person or a CI system); the actor of its writes.
    pub principal: String,
    /// What it may do: its principal's role.
    pub role: Role,
    /// The key's visible start, `sk_vr_<id>`.
    pub prefix: String,
    /// When it was created.
    #[serde(with = "crate::wire::instant")]
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    #[serde(with = "crate::wire::instant::option")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    #[serde(with = "crate::wire::instant::option")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// A key record from its parts (an import from another store); it belongs to a principal
    /// of its own name (see [`ApiKey::with_principal`]).
    pub fn from_parts(
        id: String,
        name: String,
        role: Role,
        prefix: String,
        created_at: DateTime<Utc>,
        last_used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
    ) -> ApiKey {
        ApiKey {
            id,
            principal: name.clone(),
            name,
            role,
            prefix,
            created_at,
            last_used_at,
            revoked_at,
        }
    }

    /// The same key, belonging to `principal`.
    #[must_use]
    pub fn with_principal(mut self, principal: impl Into<String>) -> ApiKey {
        self.principal = principal.into();
        self
    }

    /// Whether the key still authenticates.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// An API key as the store keeps it: the record and the SHA-256 of the secret (for
/// [`Tx`](crate::store::Tx) implementors and imports).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredApiKey {
    /// The record.
    pub key: ApiKey,
    /// Lower-case hex SHA-256 of the whole key.
    pub key_hash: String,
}

impl StoredApiKey {
    /// A stored key from its parts (an import from another store).
    pub fn new(key: ApiKey, key_hash: impl Into<String>) -> StoredApiKey {
        StoredApiKey {
            key,
            key_hash: key_hash.into(),
        }
    }
}

/// A newly created key: its record and the key itself, to show once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewApiKey {
    /// The record.
    pub key: ApiKey,
    /// The whole key (`sk_vr_<id>_<secret>`); never stored, never shown again.
    pub secret: String,
}

/// A dashboard session: an API key exchanged for a token the browser keeps in a cookie. The
/// store keeps only the token's SHA-256; the session acts as the key's principal, with the
/// principal's current role, and ends when it expires, when it is signed out, or when its key
/// is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// The key it was opened with (its `role` is the principal's current role).
    pub key: ApiKey,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// The actor of the session's writes: the key's principal, authenticated.
    pub fn actor(&self) -> Actor {
        Actor::from_key(&self.key)
    }
}

/// A newly opened session: its record and its token, handed to the browser once and never
/// stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewSession {
    /// The record.
    pub session: Session,
    /// The token (64 hex characters).
    pub token: String,
}

/// The answer a server sent to an idempotent write, kept to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl StoredAnswer {
    /// An answer from its parts.
    pub fn new(status: u16, content_type: Option<String>, body: Vec<u8>) -> StoredAnswer {
        StoredAnswer {
            status,
            content_type,
            body,
        }
    }
}

/// What one `(scope, key)` write left behind.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IdempotencyRecord {
    /// Whose key space: the API key's id (`-` without authentication).
    pub scope: String,
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// SHA-256 of the request (method, path, body): a key reused for another request is
    /// refused.
    pub request_hash: String,
    /// The core's result, written in the write's own transaction.
    pub result: Option<Value>,
    /// The answer as sent, once sent.
    pub answer: Option<StoredAnswer>,
    /// When the write ran.
    pub created_at: DateTime<Utc>,
}

/// An idempotent write in progress: the caller's key for it, and whether the core answered
/// it from an earlier execution. Attach it with
/// [`Versioner::with_idempotency`](crate::Versioner::with_idempotency).
#[derive(Debug)]
pub struct IdempotencyClaim {
    scope: String,
    key: String,
    request_hash: String,
    replayed: std::sync::atomic::AtomicBool,
}

impl IdempotencyClaim {
    /// A claim on `(scope, key)` for the request whose fingerprint hashes to `request_hash`.
    pub fn new(
        scope: impl Into<String>,
        key: impl Into<String>,
        request_hash: impl Into<String>,
    ) -> IdempotencyClaim {
        IdempotencyClaim {
            scope: scope.into(),
            key: key.into(),
            request_hash: request_hash.into(),
            replayed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whose key space.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The client's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The request's hash.
    pub fn request_hash(&self) -> &str {
        &self.request_hash
    }

    /// Whether the write was answered from an earlier execution rather than run.
    pub fn replayed(&self) -> bool {
        self.replayed.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn mark_replayed(&self) {
        self.replayed
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The error for a key reused with a different request.
    pub fn reused(&self) -> Error {
        Error::invalid(
            "Idempotency-Key",
            format!(
                "`{}` was already used for a different request; send a new key with a new request",
                self.key
            ),
        )
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `bytes` random bytes as lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a key's name: 1 to 100 characters, no control characters.
pub(crate) fn valid_key_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must be 1 to 100 characters without control characters",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_case_insensitively_and_name_the_choices() {
        assert_eq!(
            "Release-Manager".parse::<Role>().ok(),
            Some(Role::ReleaseManager)
        );
        assert_eq!("SRE".parse::<Role>().ok(), Some(Role::Sre));
        // The names of earlier versions.
        assert_eq!("Deployer".parse::<Role>().ok(), Some(Role::Ci));
        assert_eq!("approver".parse::<Role>().ok(), Some(Role::ReleaseManager));
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(err.field(), Some("role"));
        assert!(err.to_string().contains(
            "admin, release_manager, product, developer, sre, qa, security, compliance, billing, viewer, ci"
        ));
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, r.as_str());
            assert_eq!(serde_json::from_value::<Role>(json).unwrap(), r);
        }
        assert_eq!(
            serde_json::from_str::<Role>("\"deployer\"").unwrap(),
            Role::Ci
        );
    }

    /// The capability matrix of the reference (§10) on Versioner's permissions, plus `ci`.
    #[test]
    fn the_role_matrix() {
        use Permission as P;
        let matrix: [(Role, &[P]); 11] = [
            (
                Role::Admin,
                &[
                    P::Read,
                    P::Track,
                    P::Bypass,
                    P::Approve,
                    P::ManageEnvironments,
                    P::ManageRules,
                    P::ManageKeys,
                    P::ManageNotifications,
                    P::ManageRequests,
                    P::ReadMetrics,
                    P::ManageHistory,
                ],
            ),
            (
                Role::ReleaseManager,
                &[
                    P::Read,
                    P::Track,
                    P::Bypass,
                    P::Approve,
                    P::ManageEnvironments,
                    P::ManageRules,
                    P::ManageRequests,
                ],
            ),
            (Role::Product, &[P::Read, P::Approve, P::ManageRequests]),
            (
                Role::Developer,
                &[P::Read, P::Track, P::Approve, P::ManageRequests],
            ),
            (
                Role::Sre,
                &[
                    P::Read,
                    P::Track,
                    P::Approve,
                    P::ManageEnvironments,
                    P::ManageRules,
                    P::ManageNotifications,
                ],
            ),
            (Role::Qa, &[P::Read, P::Approve]),
            (Role::Security, &[P::Read, P::Approve]),
            (Role::Compliance, &[P::Read, P::Approve]),
            (Role::Billing, &[P::Read]),
            (Role::Viewer, &[P::Read]),
            (Role::Ci, &[P::Track]),
        ];
        for (role, allowed) in matrix {
            for p in Permission::ALL {
                let want = p == P::Public || allowed.contains(&p);
                assert_eq!(role.allows(p), want, "{role} {p}");
            }
        }
        for p in Permission::ALL {
            assert_eq!(Permission::from_name(p.as_str()), Some(p));
        }
    }

    #[test]
    fn principals_compare_in_one_form() {
        assert_eq!(principal_key(" Dana "), principal_key("dana"));
        assert_ne!(principal_key("dana"), principal_key("dan"));
        let a = Actor::local("  dana ").with_role(Role::Qa);
        assert_eq!(
            (a.principal(), a.role(), a.is_authenticated()),
            ("dana", Some(Role::Qa), false)
        );
    }

    #[test]
    fn key_names_are_checked() {
        assert!(valid_key_name(" ci ").is_ok_and(|n| n == "ci"));
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(101)] {
            assert_eq!(valid_key_name(bad).unwrap_err().field(), Some("name"));
        }
    }
}
