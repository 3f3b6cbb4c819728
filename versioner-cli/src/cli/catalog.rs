//! `drift`, `products` and `environments`: the catalog of what is tracked, each a [`Tracker`]
//! query (so it works in process and through a server) printed as text or JSON.
//!
//! [`Tracker`]: versioner_core::Tracker

use serde_json::Value;
use versioner_core::{EnvironmentType, Page, StateCell};

use super::Context;
use super::args::{DriftArgs, Environments, Products};
use super::commands::{instant, open, time, to_json};
use super::output::table;
use crate::exit::Exit;

macro_rules! attempt {
    ($ctx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $ctx.fail(&e),
        }
    };
}

/// The version a cell shows: the current one, `*v` for one in progress, `-` for none.
fn cell_text(c: &StateCell) -> String {
    let mut text = c
        .current
        .as_ref()
        .map_or_else(|| "-".to_string(), |d| d.version.clone());
    if let Some(ip) = c.in_progress.last() {
        text = format!("{text} (*{})", ip.version);
    }
    text
}

/// `versioner drift`.
pub fn drift(ctx: &mut Context<'_, '_>, a: &DriftArgs) -> Exit {
    let at = match instant(a.at.as_deref(), "at") {
        Ok(at) => at,
        Err(u) => return ctx.usage(&u),
    };
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let only = (!a.environment.is_empty()).then_some(a.environment.as_slice());
    let list = attempt!(ctx, t.drift(at, only));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&list));
        return Exit::Success;
    }
    if list.is_empty() {
        ctx.console
            .out("✓ no drift: every product runs one version everywhere it is deployed");
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                d.product_name.clone(),
                d.distinct_versions.to_string(),
                d.versions
                    .iter()
                    .map(|(env, v)| format!("{env}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    ctx.console
        .out(&table(&["PRODUCT", "VERSIONS", "WHERE"], &rows));
    Exit::Success
}

/// `versioner products …`.
pub fn products(ctx: &mut Context<'_, '_>, p: &Products) -> Exit {
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    match p {
        Products::List => {
            let list = attempt!(ctx, t.products());
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&list));
            } else if list.is_empty() {
                ctx.console.out("(no products yet)");
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|p| vec![p.name.clone(), time(p.created_at), p.id.clone()])
                    .collect();
                ctx.console
                    .out(&table(&["NAME", "CREATED_AT", "ID"], &rows));
            }
        }
        Products::Describe { name } => {
            // INVARIANT: `versions` answers NOT_FOUND for an unknown product, before anything
            // is printed.
            let versions = attempt!(ctx, t.versions(name, Page::first(5)));
            let list = attempt!(ctx, t.products());
            let state = attempt!(ctx, t.state(None));
            let product = list.iter().find(|p| p.name == *name);
            let cells: Vec<&StateCell> = state
                .cells
                .iter()
                .filter(|c| c.product_name == *name)
                .collect();
            if ctx.console.json() {
                ctx.console.print_json(&serde_json::json!({
                    "product": product.map(to_json).unwrap_or(Value::Null),
                    "latest_versions": to_json(&versions),
                    "deployed": to_json(&cells),
                }));
                return Exit::Success;
            }
            if let Some(p) = product {
                ctx.console.out(&format!("Product:     {}", p.name));
                ctx.console.out(&format!("ID:          {}", p.id));
                ctx.console
                    .out(&format!("First seen:  {}", time(p.created_at)));
            }
            ctx.console.out("Latest versions:");
            for v in &versions {
                ctx.console.out(&format!(
                    "  {}  {}  {}",
                    v.version,
                    v.scm_sha.as_deref().unwrap_or("-"),
                    time(v.created_at)
                ));
            }
            ctx.console.out("Deployed:");
            if cells.is_empty() {
                ctx.console.out("  (nowhere yet)");
            }
            for c in cells {
                ctx.console
                    .out(&format!("  {}: {}", c.environment_name, cell_text(c)));
            }
        }
    }
    Exit::Success
}

/// `versioner environments …`.
pub fn environments(ctx: &mut Context<'_, '_>, e: &Environments) -> Exit {
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    match e {
        Environments::List => {
            let list = attempt!(ctx, t.environments());
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&list));
            } else if list.is_empty() {
                ctx.console.out("(no environments yet)");
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|e| {
                        vec![
                            e.name.clone(),
                            e.env_type.as_str().to_string(),
                            if e.type_overridden { "set" } else { "inferred" }.into(),
                            time(e.created_at),
                            e.id.clone(),
                        ]
                    })
                    .collect();
                ctx.console.out(&table(
                    &["NAME", "TYPE", "TYPE_FROM", "CREATED_AT", "ID"],
                    &rows,
                ));
            }
        }
        Environments::Describe { name } => {
            let list = attempt!(ctx, t.environments());
            let Some(env) = list.iter().find(|e| e.name == *name) else {
                return ctx.fail(&versioner_core::Error::NotFound {
                    kind: "environment",
                    name: name.clone(),
                });
            };
            let state = attempt!(ctx, t.state(None));
            let cells: Vec<&StateCell> = state
                .cells
                .iter()
                .filter(|c| c.environment_name == *name)
                .collect();
            if ctx.console.json() {
                ctx.console.print_json(&serde_json::json!({
                    "environment": to_json(env),
                    "deployed": to_json(&cells),
                }));
                return Exit::Success;
            }
            ctx.console.out(&format!("Environment: {}", env.name));
            ctx.console.out(&format!(
                "Type:        {} ({})",
                env.env_type.as_str(),
                if env.type_overridden {
                    "set"
                } else {
                    "inferred from the name"
                }
            ));
            ctx.console.out(&format!("ID:          {}", env.id));
            ctx.console
                .out(&format!("First seen:  {}", time(env.created_at)));
            ctx.console.out("Deployed:");
            if cells.is_empty() {
                ctx.console.out("  (nothing yet)");
            }
            for c in cells {
                ctx.console
                    .out(&format!("  {}: {}", c.product_name, cell_text(c)));
            }
        }
        Environments::SetType { name, env_type } => {
            let ty: Option<EnvironmentType> = if env_type.trim().eq_ignore_ascii_case("inferred") {
                None
            } else {
                Some(attempt!(ctx, env_type.parse()))
            };
            let env = attempt!(ctx, t.set_environment_type(name, ty));
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&env));
            } else {
                ctx.console.out(&format!(
                    "✓ Environment `{}` is {} ({})",
                    env.name,
                    env.env_type.as_str(),
                    if env.type_overridden {
                        "set"
                    } else {
                        "inferred from the name"
                    }
                ));
            }
        }
    }
    Exit::Success
}
