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

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: events, approvals, rules.
    Admin,
    /// Send build and deployment events, and read.
    Deployer,
    /// Record and revoke approvals, and read.
    Approver,
    /// Read only (queries and dry-run checks).
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Deployer, Role::Approver, Role::Viewer];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Deployer => "deployer",
            Role::Approver => "approver",
            Role::Viewer => "viewer",
        }
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        let wanted = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                Error::invalid(
                    "role",
                    format!(
                        "unknown role `{wanted}`; expected one of: {}",
                        names.join(", ")
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

/// What an operation requires of the caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Nothing: no key needed (`/health`, `/openapi.json`, `/docs`).
    Public,
    /// Any valid key: queries and dry-run checks.
    Read,
    /// Send build and deployment events: deployer or admin.
    Track,
    /// Record or revoke approvals: approver or admin.
    Approve,
    /// Manage rules and environments: admin.
    Admin,
}

impl Role {
    /// Whether a caller with this role may do what requires `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        matches!(
            (self, permission),
            (_, Permission::Public | Permission::Read)
                | (Role::Admin, _)
                | (Role::Deployer, Permission::Track)
                | (Role::Approver, Permission::Approve)
        )
    }
}

/// An API key as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKey {
    /// Public id (8 hex characters), part of the key.
    pub id: String,
    /// A name for people (`ci`, `release-bot`); unique among active keys.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The key's visible start, `sk_vr_<id>`.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// A key record from its parts (an import from another store).
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
            name,
            role,
            prefix,
            created_at,
            last_used_at,
            revoked_at,
        }
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
        assert_eq!("Deployer".parse::<Role>().ok(), Some(Role::Deployer));
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(err.field(), Some("role"));
        assert!(
            err.to_string()
                .contains("admin, deployer, approver, viewer")
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
