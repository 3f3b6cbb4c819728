//! `versioner keys create|list|revoke|role|principals`: the server's API keys and their
//! principals, kept (keys hashed) in the database itself (`--db` or `--database-url`), so every
//! server on that database accepts them. The command acts as `--actor` (else the OS user), as
//! every in-process command does: the core checks its role and records it.

use chrono::SecondsFormat;
use serde_json::json;
use versioner_core::input::Location;
use versioner_core::{Actor, ApiKeyRequest, Error, ErrorCode, Versioner};

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
        Ok(v) => v.acting_as(Actor::local(ctx.actor(None))),
        Err(e) => return ctx.fail(&e),
    };
    let parse_role = |role: &str| -> Result<Role, Usage> {
        role.parse().map_err(|e: Error| Usage(e.to_string()))
    };
    match &k.command {
        Keys::Create {
            name,
            principal,
            role,
        } => {
            let mut request = ApiKeyRequest::new(name);
            if let Some(p) = principal {
                request = request.principal(p);
            }
            if let Some(r) = role {
                match parse_role(r) {
                    Ok(r) => request = request.role(r),
                    Err(u) => return ctx.usage(&u),
                }
            }
            let (key, secret) = match vr.create_key(&request) {
                Ok(k) => (k.key, k.secret),
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console.print_json(&json!({
                    "id": key.id,
                    "name": key.name,
                    "principal": key.principal,
                    "role": key.role,
                    "prefix": key.prefix,
                    "created_at": key.created_at,
                    "key": secret,
                }));
            } else {
                ctx.console.out(&format!(
                    "Created API key `{}` for `{}` (role {}, id {}) in {}.",
                    key.name, key.principal, key.role, key.id, db
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
                            k.principal.clone(),
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
                        "PRINCIPAL",
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
        Keys::Role { principal, role } => {
            let role = match parse_role(role) {
                Ok(r) => r,
                Err(u) => return ctx.usage(&u),
            };
            // A principal's name, else the name or id of one of its keys.
            let changed = match vr.set_principal_role(principal, role) {
                Err(e) if e.code() == ErrorCode::NotFound => vr
                    .set_api_key_role(principal, role)
                    .map(|k| (k.principal, k.role))
                    .map_err(|_| e),
                other => other.map(|p| (p.name, p.role)),
            };
            let (name, role) = match changed {
                Ok(c) => c,
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console
                    .print_json(&json!({ "principal": name, "role": role }));
            } else {
                ctx.console.out(&format!(
                    "✓ `{name}` now has the role {role}; every key of it acts with it"
                ));
            }
        }
        Keys::Principals => {
            let list = match vr.principals() {
                Ok(l) => l,
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console
                    .print_json(&serde_json::to_value(&list).unwrap_or_default());
            } else if list.is_empty() {
                ctx.console
                    .out("(no principals; `versioner keys create` makes one with its key)");
            } else {
                let t =
                    |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|p| vec![p.name.clone(), p.role.to_string(), t(p.updated_at)])
                    .collect();
                ctx.console
                    .out(&table(&["PRINCIPAL", "ROLE", "SINCE"], &rows));
            }
        }
    }
    Exit::Success
}
