//! The server file of earlier versions, `versioner.db-server`: imported once, then unused.
//!
//! Before API keys and idempotency records moved into the database (so that every server on
//! one PostgreSQL database shares them), `versioner serve --db versioner.db` kept them in a
//! second SQLite file beside the database. On the first open of a database that has no key
//! yet, [`import_server_file`] copies that file's keys, with their hashes, so the same secrets
//! keep working. Idempotency records are not imported: they live 24 hours and a restart of
//! the server is the upgrade.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use versioner_core::access::StoredApiKey;
use versioner_core::{ApiKey, Error, Result, Versioner};

/// The server file that an earlier version kept beside the database at `db`: `<db>-server`.
pub fn server_file_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-server");
    PathBuf::from(name)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads the keys of a server file (read-only; the file is left as it is).
///
/// # Errors
/// `STORAGE` when the file cannot be read; `INTERNAL` for a row that cannot be understood.
pub fn read_server_file(path: &Path) -> Result<Vec<StoredApiKey>> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::storage(format!("cannot open `{}`", path.display()), e))?;
    let mut stmt = conn.prepare(
        "SELECT id, name, role, prefix, key_hash, created_at, last_used_at, revoked_at
         FROM api_keys ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, name, role, prefix, hash, created, last_used, revoked) = row?;
        let created_at = parse_ts(&created)
            .ok_or_else(|| Error::internal(format!("key `{id}` has a bad created_at")))?;
        let key = ApiKey::from_parts(
            id,
            name,
            role.parse()?,
            prefix,
            created_at,
            last_used.as_deref().and_then(parse_ts),
            revoked.as_deref().and_then(parse_ts),
        );
        keys.push(StoredApiKey::new(key, hash));
    }
    Ok(keys)
}

/// Imports the keys of the server file beside the SQLite database `db`, if there is one and
/// the database has no key yet; returns how many were imported.
///
/// # Errors
/// As [`read_server_file`]; `STORAGE`.
pub fn import_server_file(vr: &Versioner, db: &Path) -> Result<usize> {
    let path = server_file_for(db);
    if !path.is_file() || !vr.api_keys()?.is_empty() {
        return Ok(0);
    }
    let keys = read_server_file(&path)?;
    let n = vr.import_api_keys(&keys)?;
    if n > 0 {
        tracing::info!(file = %path.display(), keys = n, "imported the API keys of the server file");
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_server_file_sits_beside_the_database() {
        assert_eq!(
            server_file_for(Path::new("/data/versioner.db")),
            PathBuf::from("/data/versioner.db-server")
        );
    }

    #[test]
    fn keys_of_an_old_server_file_are_imported_once_and_keep_working() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("versioner.db");
        let old = Connection::open(server_file_for(&db)).unwrap();
        let secret = "sk_vr_0a1b2c3d_0123456789abcdef";
        old.execute_batch(&format!(
            "CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
                 prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
                 last_used_at TEXT, revoked_at TEXT);
             INSERT INTO api_keys VALUES ('0a1b2c3d', 'ci', 'deployer', 'sk_vr_0a1b2c3d', '{}',
                 '2026-01-01T00:00:00.000000Z', NULL, NULL);
             INSERT INTO api_keys VALUES ('99999999', 'old', 'admin', 'sk_vr_99999999', 'x',
                 '2026-01-01T00:00:00.000000Z', NULL, '2026-02-01T00:00:00.000000Z');",
            versioner_core::access::sha256_hex(secret.as_bytes())
        ))
        .unwrap();
        drop(old);
        let vr = Versioner::open(&db).unwrap();
        assert_eq!(import_server_file(&vr, &db).unwrap(), 2);
        let key = vr.authenticate(secret).unwrap().unwrap();
        assert_eq!(
            (key.name.as_str(), key.role),
            ("ci", versioner_core::Role::Ci)
        );
        assert!(vr.authenticate("sk_vr_99999999_x").unwrap().is_none());
        // Once: a second open imports nothing, even after the keys are revoked.
        vr.revoke_api_key("ci").unwrap();
        assert_eq!(import_server_file(&vr, &db).unwrap(), 0);
        assert!(vr.authenticate(secret).unwrap().is_none());
    }
}
