//! `versioner audit verify|export`: the tamper-evident audit log kept in the database.

use super::Context;
use super::args::{Audit, AuditArgs};
use crate::exit::Exit;

/// Runs an `audit` subcommand.
pub fn run(ctx: &mut Context<'_, '_>, a: &AuditArgs) -> Exit {
    let db = match ctx.database("audit") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    let vr = match super::open(&db) {
        Ok(v) => v,
        Err(e) => return ctx.fail(&e),
    };
    match &a.command {
        Audit::Verify => {
            let report = match vr.audit_verify() {
                Ok(r) => r,
                Err(e) => return ctx.fail(&e),
            };
            if ctx.console.json() {
                ctx.console
                    .print_json(&serde_json::to_value(&report).unwrap_or_default());
            } else if let (Some(seq), Some(reason)) = (report.first_mismatch, &report.reason) {
                ctx.console.err(&format!(
                    "✗ the audit log does not match at entry {seq}: {reason} ({} entries read)",
                    report.entries
                ));
            } else {
                let older = if report.unchained > 0 {
                    format!(" ({} older entries predate the chain)", report.unchained)
                } else {
                    String::new()
                };
                ctx.console.out(&format!(
                    "✓ the audit log is intact: {} entries{older}; head {}",
                    report.entries,
                    report.head.as_deref().unwrap_or("(empty)")
                ));
            }
            if report.is_intact() {
                Exit::Success
            } else {
                Exit::Rejected
            }
        }
        Audit::Export { after } => {
            let mut cursor = *after;
            loop {
                let batch = match vr.events_since(cursor, 1000) {
                    Ok(b) => b,
                    Err(e) => return ctx.fail(&e),
                };
                let Some(last) = batch.last() else {
                    break;
                };
                cursor = last.seq;
                for e in &batch {
                    ctx.console
                        .out(&serde_json::to_string(e).unwrap_or_default());
                }
            }
            Exit::Success
        }
    }
}
