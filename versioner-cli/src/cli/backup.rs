//! `versioner backup FILE` and `versioner restore FILE`: the core's backup and restore, on
//! the database given with `--db` (or `--database-url`, whose error gives the `pg_dump`
//! command).

use versioner_core::store::RestoreMode;

use super::Context;
use super::args::{BackupArgs, RestoreArgs};
use crate::exit::Exit;

/// Runs `versioner backup`.
pub fn backup(ctx: &mut Context<'_, '_>, a: &BackupArgs) -> Exit {
    let db = match ctx.database("backup") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    let vr = match super::open(&db) {
        Ok(v) => v,
        Err(e) => return ctx.fail(&e),
    };
    if let Err(e) = vr.backup(&a.file) {
        return ctx.fail(&e);
    }
    if ctx.console.json() {
        ctx.console
            .print_json(&serde_json::json!({ "backup": a.file.display().to_string() }));
    } else {
        ctx.console.out(&format!(
            "✓ Backed up {db} to {} (integrity checked)",
            a.file.display()
        ));
    }
    Exit::Success
}

/// Runs `versioner restore`.
pub fn restore(ctx: &mut Context<'_, '_>, a: &RestoreArgs) -> Exit {
    let db = match ctx.database("restore") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    let vr = match super::open(&db) {
        Ok(v) => v,
        Err(e) => return ctx.fail(&e),
    };
    let mode = if a.force {
        RestoreMode::Overwrite
    } else {
        RestoreMode::Refuse
    };
    if let Err(e) = vr.restore(&a.file, mode) {
        return ctx.fail(&e);
    }
    if ctx.console.json() {
        ctx.console
            .print_json(&serde_json::json!({ "restored": a.file.display().to_string() }));
    } else {
        ctx.console.out(&format!(
            "✓ Restored {db} from {} (integrity and schema checked)",
            a.file.display()
        ));
    }
    Exit::Success
}
