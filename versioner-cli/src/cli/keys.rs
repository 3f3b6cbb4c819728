//! `versioner keys create|list|revoke`: the server's API keys, managed on the server host in
//! the server file beside the database.

use std::path::PathBuf;

use chrono::SecondsFormat;
use serde_json::json;

use super::args::{Keys, KeysArgs};
use super::output::table;
use super::{Context, Database, Usage};
use crate::exit::Exit;
use versioner_server::{Role, ServerStore};

/// The server file: `--server-db`, else beside the SQLite database.
pub fn server_file(
    ctx: &Context<'_, '_>,
    explicit: Option<&PathBuf>,
    command: &str,
) -> Result<PathBuf, Usage> {
    if let Some(p) = explicit {
        return Ok(p.clone());
    }
    match ctx.database(command) {
        Ok(Database::Sqlite(db)) => Ok(ServerStore::path_for(&db)),
        Ok(Database::Postgres(_)) => Err(Usage(format!(
            "{command}: with --database-url, give the server file for API keys with --server-db PATH"
        ))),
        Err(_) => Err(Usage(format!(
            "{command}: API keys live beside the server's database: pass --db PATH (or --server-db PATH)"
        ))),
    }
}

/// Runs a `keys` subcommand.
pub fn run(ctx: &mut Context<'_, '_>, k: &KeysArgs) -> Exit {
    let path = match server_file(ctx, k.server_db.as_ref(), "keys") {
        Ok(p) => p,
        Err(u) => return ctx.usage(&u),
    };
    let store = match ServerStore::open(&path) {
        Ok(s) => s,
        Err(e) => return ctx.fail(&e),
    };
    match &k.command {
        Keys::Create { name, role } => {
            let role: Role = match role.parse() {
                Ok(r) => r,
                Err(e) => return ctx.usage(&Usage(e.to_string())),
            };
            let (key, secret) = match store.create_key(name, role) {
                Ok(k) => k,
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
                    key.name,
                    key.role,
                    key.id,
                    path.display()
                ));
                ctx.console
                    .out("Store it now: it is shown only once and cannot be recovered.");
                // The last line of output is the key, for `| tail -n 1`.
                ctx.console.out(&secret);
            }
        }
        Keys::List => {
            let keys = match store.keys() {
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
            let key = match store.revoke_key(name) {
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
