//! `versioner keys create|list|revoke`: the server's API keys, kept hashed in the database
//! itself (`--db` or `--database-url`), so every server on that database accepts them.

use chrono::SecondsFormat;
use serde_json::json;
use versioner_core::Versioner;
use versioner_core::input::Location;

use super::args::{Keys, KeysArgs};
use super::output::table;
use super::{Context, Usage};
use crate::exit::Exit;
use versioner_server::Role;

/// Opens the database that holds the keys; a SQLite database imports the keys of an earlier
/// version's server file beside it (`<db>-server`) on first open.
pub fn open_with_keys(db: &Location) -> Result<Versioner, versioner_core::Error> {
    let vr = super::open(db)?;
    if let Location::Sqlite(path) = db {
        versioner_server::legacy::import_server_file(&vr, path)?;
    }
    Ok(vr)
}

/// Runs a `keys` subcommand.
pub fn run(ctx: &mut Context<'_, '_>, k: &KeysArgs) -> Exit {
    let db = match ctx.database("keys") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    let vr = match open_with_keys(&db) {
        Ok(v) => v,
        Err(e) => return ctx.fail(&e),
    };
    match &k.command {
        Keys::Create { name, role } => {
            let role: Role = match role.parse() {
                Ok(r) => r,
                Err(e) => return ctx.usage(&Usage(e.to_string())),
            };
            let (key, secret) = match vr.create_api_key(name, role) {
                Ok(k) => (k.key, k.secret),
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console.print_json(&json!({
                    "id": key.id,
                    "name": key.name,
                    "role": key.role,
                    "prefix": key.prefix,
                    "created_at": key.created_at,
                    "key": secret,
                }));
            } else {
                ctx.console.out(&format!(
                    "Created API key `{}` (role {}, id {}) in {}.",
                    key.name, key.role, key.id, db
                ));
                ctx.console
                    .out("Store it now: it is shown only once and cannot be recovered.");
                // The last line of output is the key, for `| tail -n 1`.
                ctx.console.out(&secret);
            }
        }
        Keys::List => {
            let keys = match vr.api_keys() {
                Ok(k) => k,
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console
                    .print_json(&serde_json::to_value(&keys).unwrap_or_default());
            } else if keys.is_empty() {
                ctx.console
                    .out("(no API keys; create one with `versioner keys create`)");
            } else {
                let t =
                    |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.id.clone(),
                            k.name.clone(),
                            k.role.to_string(),
                            format!("{}_…", k.prefix),
                            t(k.created_at),
                            k.last_used_at.map_or_else(|| "never".into(), t),
                            k.revoked_at
                                .map_or_else(|| "active".into(), |r| format!("revoked {}", t(r))),
                        ]
                    })
                    .collect();
                ctx.console.out(&table(
                    &[
                        "ID",
                        "NAME",
                        "ROLE",
                        "KEY",
                        "CREATED_AT",
                        "LAST_USED",
                        "STATE",
                    ],
                    &rows,
                ));
            }
        }
        Keys::Revoke { name } => {
            let key = match vr.revoke_api_key(name) {
                Ok(k) => k,
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console
                    .print_json(&serde_json::to_value(&key).unwrap_or_default());
            } else {
                ctx.console.out(&format!(
                    "✓ Revoked API key `{}` (id {}); requests with it now get 401",
                    key.name, key.id
                ));
            }
        }
    }
    Exit::Success
}
