//! `versioner import [FILE]` and `versioner export [FILE]`: the core's history import and
//! export (JSON Lines), in process or through a server (`POST /import`, `GET /export`).

use std::io::{Read, Write};
use std::path::Path;

use serde_json::json;
use versioner_core::import::{ImportMode, ImportReport};

use super::Context;
use super::args::{ExportArgs, ImportArgs};
use crate::exit::Exit;

/// Whether `file` means standard input or output.
fn standard(file: Option<&Path>) -> bool {
    file.is_none_or(|f| f.as_os_str() == "-")
}

/// Runs `versioner import`.
pub fn import(ctx: &mut Context<'_, '_>, a: &ImportArgs) -> Exit {
    let file = a.file.as_deref();
    let mut text = String::new();
    let read = if standard(file) {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file.unwrap_or(Path::new("-"))).map(|t| text = t)
    };
    let name = file.map_or("standard input".to_string(), |f| f.display().to_string());
    if let Err(e) = read {
        return ctx.usage(&super::Usage(format!("cannot read `{name}`: {e}")));
    }
    let t = match ctx.tracker() {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return ctx.fail(&e),
        Err(u) => return ctx.usage(&u),
    };
    let mode = if a.dry_run {
        ImportMode::DryRun
    } else {
        ImportMode::Apply
    };
    let report = match t.import_events(&text, mode) {
        Ok(r) => r,
        Err(e) => return ctx.fail(&e),
    };
    if ctx.console.json() {
        ctx.console
            .print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        ctx.console.out(&summary(&report, &name));
    }
    Exit::Success
}

fn summary(r: &ImportReport, name: &str) -> String {
    let verb = if r.dry_run {
        "Dry run: would import"
    } else {
        "Imported"
    };
    format!(
        "✓ {verb} {} events from {name}: {} builds, {} deployments; {} skipped (imported before)",
        r.imported(),
        r.builds,
        r.deployments,
        r.skipped
    )
}

/// Runs `versioner export`.
pub fn export(ctx: &mut Context<'_, '_>, a: &ExportArgs) -> Exit {
    let t = match ctx.tracker() {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return ctx.fail(&e),
        Err(u) => return ctx.usage(&u),
    };
    let file = a.file.as_deref();
    if standard(file) {
        return match t.export_events(ctx.console.stream()) {
            Ok(_) => Exit::Success,
            Err(e) => ctx.fail(&e),
        };
    }
    let path = file.unwrap_or(Path::new("-"));
    let mut out = match std::fs::File::create(path) {
        Ok(f) => std::io::BufWriter::new(f),
        Err(e) => {
            return ctx.usage(&super::Usage(format!(
                "cannot create `{}`: {e}",
                path.display()
            )));
        }
    };
    let report = match t.export_events(&mut out) {
        Ok(r) => r,
        Err(e) => return ctx.fail(&e),
    };
    if let Err(e) = out.flush() {
        return ctx.usage(&super::Usage(format!(
            "cannot write `{}`: {e}",
            path.display()
        )));
    }
    if ctx.console.json() {
        ctx.console.print_json(&json!({
            "file": path.display().to_string(),
            "builds": report.builds,
            "deployments": report.deployments,
        }));
    } else {
        ctx.console.out(&format!(
            "✓ Exported {} builds and {} deployments to {}",
            report.builds,
            report.deployments,
            path.display()
        ));
    }
    Exit::Success
}
