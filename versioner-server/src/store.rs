//! The server's own file: API keys and idempotency records.
//!
//! `versioner serve --db versioner.db` keeps them in a second SQLite file beside the database,
//! `versioner.db-server` (the `-server` suffix follows SQLite's `-wal` / `-shm` convention, so
//! the two travel together), never in the core's database: the core's schema stays the core's.
//!
//! - `api_keys`: one row per key with its name, role, a display prefix (`sk_vr_<id>`), the
//!   SHA-256 of the whole key, and when it was created, last used and revoked. The key itself
//!   is shown once, by `versioner keys create`, and never stored.
//! - `idempotency`: the answer given to each `(caller, Idempotency-Key)` write, with a hash of
//!   the request, kept 24 hours. A retry with the same key gets the stored answer instead of
//!   being recorded again. Answers of 5xx are not stored, so a retry after a server error runs
//!   again.
//!
//! Both are written with `synchronous=FULL`, like the core: a stored answer survives a crash,
//! so a retry after a crash still finds it.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use versioner_core::{Error, Result};

/// How long an idempotency record is kept.
const IDEMPOTENCY_TTL_HOURS: i64 = 24;

/// How often `last_used_at` is written for a busy key.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
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
                Error::invalid(
                    "role",
                    format!(
                        "unknown role `{wanted}`; expected one of: admin, deployer, approver, viewer"
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

/// An API key as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKey {
    /// Public id (8 hex characters), part of the key.
    pub id: String,
    /// A name for people (`ci`, `release-bot`); unique among active keys.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The key's visible start, `sk_vr_<id>_…`.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A stored answer to an idempotent write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// SHA-256 of the request (method, path, body), to refuse a key reused for another request.
    pub request_hash: String,
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The server's own SQLite file.
#[derive(Debug)]
pub struct ServerStore {
    conn: Mutex<Connection>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl ServerStore {
    /// The server file that belongs to the database at `db`: `<db>-server`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push("-server");
        PathBuf::from(name)
    }

    /// Opens (creating if needed) the server file at `path`.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn open(path: impl AsRef<Path>) -> Result<ServerStore> {
        let conn = Connection::open(path.as_ref())
            .map_err(|e| Error::storage(format!("cannot open `{}`", path.as_ref().display()), e))?;
        ServerStore::init(conn)
    }

    /// A private in-memory server file (tests).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn open_in_memory() -> Result<ServerStore> {
        ServerStore::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<ServerStore> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // `journal_mode` answers with a row; read it rather than execute it.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS api_keys (
                 id TEXT PRIMARY KEY,
                 name TEXT NOT NULL,
                 role TEXT NOT NULL,
                 prefix TEXT NOT NULL,
                 key_hash TEXT NOT NULL UNIQUE,
                 created_at TEXT NOT NULL,
                 last_used_at TEXT,
                 revoked_at TEXT
             );
             CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name
                 ON api_keys(name) WHERE revoked_at IS NULL;
             CREATE TABLE IF NOT EXISTS idempotency (
                 scope TEXT NOT NULL,
                 key TEXT NOT NULL,
                 request_hash TEXT NOT NULL,
                 status INTEGER NOT NULL,
                 content_type TEXT,
                 body BLOB NOT NULL,
                 created_at TEXT NOT NULL,
                 PRIMARY KEY (scope, key)
             );
             CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_at);",
        )?;
        Ok(ServerStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::internal("the server store's lock is poisoned"))?;
        f(&conn)
    }

    // ----- API keys ---------------------------------------------------------------------------

    /// Creates a key; returns its record and the key itself (shown once, never stored).
    ///
    /// # Errors
    /// `INVALID_INPUT` when the name is blank, too long or taken by an active key; `STORAGE`.
    pub fn create_key(&self, name: &str, role: Role) -> Result<(ApiKey, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "name",
                "must be 1 to 100 characters without control characters",
            ));
        }
        let id = random_hex(4)?;
        let secret = format!("sk_vr_{id}_{}", random_hex(24)?);
        let key = ApiKey {
            id: id.clone(),
            name: name.to_string(),
            role,
            prefix: format!("sk_vr_{id}"),
            created_at: Utc::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.with(|c| {
            let taken: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM api_keys WHERE name = ?1 AND revoked_at IS NULL)",
                [name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(Error::invalid(
                    "name",
                    format!("an active key is named `{name}`; revoke it or choose another name"),
                ));
            }
            c.execute(
                "INSERT INTO api_keys (id, name, role, prefix, key_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key.id,
                    key.name,
                    key.role.as_str(),
                    key.prefix,
                    sha256_hex(secret.as_bytes()),
                    ts(key.created_at)
                ],
            )?;
            Ok(())
        })?;
        Ok((key, secret))
    }

    /// Every key (revoked ones too), oldest first.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn keys(&self) -> Result<Vec<ApiKey>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, role, prefix, created_at, last_used_at, revoked_at
                 FROM api_keys ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([], row_to_key)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r??);
            }
            Ok(out)
        })
    }

    /// Whether any key is active.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn has_active_keys(&self) -> Result<bool> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT EXISTS(SELECT 1 FROM api_keys WHERE revoked_at IS NULL)",
                [],
                |r| r.get(0),
            )?)
        })
    }

    /// Revokes the active key with this name or id.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn revoke_key(&self, name_or_id: &str) -> Result<ApiKey> {
        let wanted = name_or_id.trim();
        self.with(|c| {
            let id: Option<String> = c
                .query_row(
                    "SELECT id FROM api_keys WHERE revoked_at IS NULL AND (name = ?1 OR id = ?1)",
                    [wanted],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else {
                return Err(Error::NotFound {
                    kind: "active API key",
                    name: wanted.to_string(),
                });
            };
            c.execute(
                "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2",
                params![ts(Utc::now()), id],
            )?;
            let key = c.query_row(
                "SELECT id, name, role, prefix, created_at, last_used_at, revoked_at
                 FROM api_keys WHERE id = ?1",
                [&id],
                row_to_key,
            )??;
            Ok(key)
        })
    }

    /// The active key matching `secret`, if any; notes its use (to the minute).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>> {
        let hash = sha256_hex(secret.as_bytes());
        self.with(|c| {
            let key = c
                .query_row(
                    "SELECT id, name, role, prefix, created_at, last_used_at, revoked_at
                     FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
                    [&hash],
                    row_to_key,
                )
                .optional()?
                .transpose()?;
            if let Some(k) = &key {
                let now = Utc::now();
                if k.last_used_at
                    .is_none_or(|t| now - t > Duration::seconds(LAST_USED_RESOLUTION_SECS))
                {
                    c.execute(
                        "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2",
                        params![ts(now), k.id],
                    )?;
                }
            }
            Ok(key)
        })
    }

    // ----- idempotency ------------------------------------------------------------------------

    /// The stored answer for `(scope, key)`, if one is younger than 24 hours.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn stored_response(&self, scope: &str, key: &str) -> Result<Option<StoredResponse>> {
        let cutoff = ts(Utc::now() - Duration::hours(IDEMPOTENCY_TTL_HOURS));
        self.with(|c| {
            Ok(c.query_row(
                "SELECT request_hash, status, content_type, body FROM idempotency
                 WHERE scope = ?1 AND key = ?2 AND created_at >= ?3",
                params![scope, key, cutoff],
                |r| {
                    Ok(StoredResponse {
                        request_hash: r.get(0)?,
                        status: r.get(1)?,
                        content_type: r.get(2)?,
                        body: r.get(3)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Stores the answer for `(scope, key)` and forgets answers older than 24 hours.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn save_response(&self, scope: &str, key: &str, response: &StoredResponse) -> Result<()> {
        let now = Utc::now();
        self.with(|c| {
            c.execute(
                "DELETE FROM idempotency WHERE created_at < ?1",
                [ts(now - Duration::hours(IDEMPOTENCY_TTL_HOURS))],
            )?;
            c.execute(
                "INSERT OR REPLACE INTO idempotency
                   (scope, key, request_hash, status, content_type, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    scope,
                    key,
                    response.request_hash,
                    response.status,
                    response.content_type,
                    response.body,
                    ts(now)
                ],
            )?;
            Ok(())
        })
    }
}

fn row_to_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ApiKey>> {
    let role: String = r.get(2)?;
    let created: String = r.get(4)?;
    let last_used: Option<String> = r.get(5)?;
    let revoked: Option<String> = r.get(6)?;
    let id: String = r.get(0)?;
    Ok((|| {
        Ok(ApiKey {
            name: r.get(1)?,
            role: role.parse()?,
            prefix: r.get(3)?,
            created_at: parse_ts(&created)
                .ok_or_else(|| Error::internal(format!("key `{id}` has a bad created_at")))?,
            last_used_at: last_used.as_deref().and_then(parse_ts),
            revoked_at: revoked.as_deref().and_then(parse_ts),
            id,
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use versioner_core::ErrorCode;

    #[test]
    fn keys_are_stored_hashed_and_authenticate_until_revoked() -> Result<()> {
        let s = ServerStore::open_in_memory()?;
        assert!(!s.has_active_keys()?);
        let (key, secret) = s.create_key("ci", Role::Deployer)?;
        assert!(secret.starts_with(&key.prefix));
        assert!(secret.len() > 50);
        let stored: String =
            s.with(|c| Ok(c.query_row("SELECT key_hash FROM api_keys", [], |r| r.get(0))?))?;
        assert_eq!(stored, sha256_hex(secret.as_bytes()));
        assert_ne!(stored, secret);
        assert_eq!(
            s.authenticate(&secret)?.map(|k| k.role),
            Some(Role::Deployer)
        );
        assert!(s.authenticate("sk_vr_nope")?.is_none());
        assert_eq!(
            s.create_key("ci", Role::Admin).unwrap_err().code(),
            ErrorCode::InvalidInput
        );
        s.revoke_key("ci")?;
        assert!(s.authenticate(&secret)?.is_none());
        assert_eq!(s.revoke_key("ci").unwrap_err().code(), ErrorCode::NotFound);
        s.create_key("ci", Role::Admin)?;
        assert_eq!(s.keys()?.len(), 2);
        Ok(())
    }

    #[test]
    fn idempotency_records_round_trip() -> Result<()> {
        let s = ServerStore::open_in_memory()?;
        assert!(s.stored_response("k1", "abc")?.is_none());
        let r = StoredResponse {
            request_hash: "h".into(),
            status: 200,
            content_type: Some("application/json".into()),
            body: b"{}".to_vec(),
        };
        s.save_response("k1", "abc", &r)?;
        assert_eq!(s.stored_response("k1", "abc")?, Some(r));
        assert!(s.stored_response("k2", "abc")?.is_none());
        Ok(())
    }

    #[test]
    fn roles_parse() {
        assert_eq!("Deployer".parse::<Role>().ok(), Some(Role::Deployer));
        assert_eq!("root".parse::<Role>().unwrap_err().field(), Some("role"));
    }

    #[test]
    fn the_server_file_sits_beside_the_database() {
        assert_eq!(
            ServerStore::path_for(Path::new("/data/versioner.db")),
            PathBuf::from("/data/versioner.db-server")
        );
    }
}
