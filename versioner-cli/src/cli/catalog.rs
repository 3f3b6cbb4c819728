//! `drift`, `skew`, `stale`, `products` and `environments`: the catalog of what is tracked, each a [`Tracker`]
//! query (so it works in process and through a server) printed as text or JSON.
//!
//! [`Tracker`]: versioner_core::Tracker

use serde_json::{Map, Value};
use versioner_core::{CatalogChange, EnvironmentType, Page, StateCell};

use super::args::{CatalogSetArgs, DriftArgs, Environments, Products, SkewArgs, StaleArgs};
use super::commands::{instant, open, time, to_json};
use super::output::table;
use super::{Context, Usage};
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

/// Seconds as days and hours for people.
fn lag(seconds: i64) -> String {
    versioner_core::policy::humanize_duration(std::time::Duration::from_secs(
        u64::try_from(seconds).unwrap_or(0),
    ))
}

/// `versioner skew`.
pub fn skew(ctx: &mut Context<'_, '_>, a: &SkewArgs) -> Exit {
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let mut query = versioner_core::skew::SkewQuery::new(&a.ahead, &a.behind);
    query.product.clone_from(&a.product);
    let list = attempt!(ctx, t.skew(&query));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&list));
        return Exit::Success;
    }
    if list.is_empty() {
        ctx.console.out(&format!(
            "no product is deployed to `{}` or `{}` yet",
            a.ahead, a.behind
        ));
        return Exit::Success;
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                s.product_name.clone(),
                dash(&s.ahead_version),
                dash(&s.behind_version),
                s.versions_behind.to_string(),
                if s.versions_behind == 0 {
                    "-".into()
                } else {
                    lag(s.seconds_behind)
                },
                s.versions.join(" "),
            ]
        })
        .collect();
    let (ahead, behind) = (a.ahead.to_uppercase(), a.behind.to_uppercase());
    ctx.console.out(&table(
        &["PRODUCT", &ahead, &behind, "BEHIND", "FOR", "MISSING"],
        &rows,
    ));
    Exit::Success
}

/// `versioner stale`.
pub fn stale(ctx: &mut Context<'_, '_>, a: &StaleArgs) -> Exit {
    let mut filter = serde_json::json!({
        "environment": a.environment,
        "older_than": a.older_than,
    });
    if !a.promoted_to.is_empty() {
        filter["promoted_to"] = serde_json::json!(a.promoted_to);
    }
    let query = match versioner_core::wire::stale_query(&filter) {
        Ok(q) => q,
        Err(e) => return ctx.fail(&e),
    };
    let t = match open(ctx) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let list = attempt!(ctx, t.stale(&query));
    if ctx.console.json() {
        ctx.console.print_json(&to_json(&list));
        return Exit::Success;
    }
    if list.is_empty() {
        ctx.console.out(&format!(
            "✓ nothing has waited in `{}` longer than {}",
            a.environment, a.older_than
        ));
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                s.product_name.clone(),
                s.version.clone(),
                time(s.deployed_at),
                lag(s.seconds_waiting),
                s.not_promoted_to.join(" "),
            ]
        })
        .collect();
    ctx.console.out(&table(
        &["PRODUCT", "VERSION", "DEPLOYED", "WAITING", "NOT IN"],
        &rows,
    ));
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
            let product = attempt!(ctx, t.product(name));
            let versions = attempt!(ctx, t.versions(&product.name, Page::first(5)));
            let state = attempt!(ctx, t.state(None));
            let cells: Vec<&StateCell> = state
                .cells
                .iter()
                .filter(|c| c.product_name == product.name)
                .collect();
            if ctx.console.json() {
                ctx.console.print_json(&serde_json::json!({
                    "product": to_json(&product),
                    "latest_versions": to_json(&versions),
                    "deployed": to_json(&cells),
                }));
                return Exit::Success;
            }
            record_lines(
                ctx,
                "Product",
                &product.name,
                &product.id,
                product.description.as_deref(),
                &product.extra_metadata,
                product.created_at,
            );
            ctx.console.out("Latest versions:");
            if versions.is_empty() {
                ctx.console.out("  (none)");
            }
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
        Products::Rename { name, new_name } => {
            let p = attempt!(
                ctx,
                t.update_product(name, &CatalogChange::rename(new_name))
            );
            changed(ctx, "Product", name, &p.name, &p.id, &to_json(&p));
        }
        Products::Set(a) => {
            let change = match set_change(a) {
                Ok(c) => c,
                Err(u) => return ctx.usage(&u),
            };
            let p = attempt!(ctx, t.update_product(&a.name, &change));
            changed(ctx, "Product", &a.name, &p.name, &p.id, &to_json(&p));
        }
    }
    Exit::Success
}

/// Prints a product's or an environment's record.
fn record_lines(
    ctx: &mut Context<'_, '_>,
    kind: &str,
    name: &str,
    id: &str,
    description: Option<&str>,
    metadata: &Map<String, Value>,
    created_at: chrono::DateTime<chrono::Utc>,
) {
    ctx.console
        .out(&format!("{:<13}{name}", format!("{kind}:")));
    ctx.console.out(&format!("ID:          {id}"));
    if let Some(d) = description {
        let mut lines = d.lines();
        ctx.console.out(&format!(
            "Description: {}",
            lines.next().unwrap_or_default()
        ));
        for line in lines {
            ctx.console.out(&format!("             {line}"));
        }
    }
    if !metadata.is_empty() {
        ctx.console
            .out(&format!("Metadata:    {}", Value::Object(metadata.clone())));
    }
    ctx.console
        .out(&format!("First seen:  {}", time(created_at)));
}

/// Prints what a rename or a `set` stored.
fn changed(ctx: &mut Context<'_, '_>, kind: &str, given: &str, name: &str, id: &str, json: &Value) {
    if ctx.console.json() {
        ctx.console.print_json(json);
    } else if given != name && given != id {
        ctx.console.out(&format!(
            "✓ {kind} `{given}` is now `{name}` (id {id}, unchanged)"
        ));
    } else {
        ctx.console.out(&format!("✓ {kind} `{name}` updated"));
    }
}

/// The change `products set` / `environments set` asks for.
fn set_change(a: &CatalogSetArgs) -> Result<CatalogChange, Usage> {
    let mut change = CatalogChange::default();
    if let Some(d) = &a.description {
        change = change.description(d.clone());
    }
    if let Some(text) = &a.extra_metadata {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => change = change.extra_metadata(m),
            Ok(_) => {
                return Err(Usage(
                    "--extra-metadata must be a JSON object, e.g. '{\"team\":\"core\"}'".into(),
                ));
            }
            Err(e) => return Err(Usage(format!("--extra-metadata is not valid JSON: {e}"))),
        }
    }
    if change.is_empty() {
        return Err(Usage(
            "nothing to set: give --description TEXT, --extra-metadata JSON, or both".into(),
        ));
    }
    Ok(change)
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
            let env = attempt!(ctx, t.environment(name));
            let state = attempt!(ctx, t.state(None));
            let cells: Vec<&StateCell> = state
                .cells
                .iter()
                .filter(|c| c.environment_name == env.name)
                .collect();
            if ctx.console.json() {
                ctx.console.print_json(&serde_json::json!({
                    "environment": to_json(&env),
                    "deployed": to_json(&cells),
                }));
                return Exit::Success;
            }
            record_lines(
                ctx,
                "Environment",
                &env.name,
                &env.id,
                env.description.as_deref(),
                &env.extra_metadata,
                env.created_at,
            );
            ctx.console.out(&format!(
                "Type:        {} ({})",
                env.env_type.as_str(),
                if env.type_overridden {
                    "set"
                } else {
                    "inferred from the name"
                }
            ));
            ctx.console.out("Deployed:");
            if cells.is_empty() {
                ctx.console.out("  (nothing yet)");
            }
            for c in cells {
                ctx.console
                    .out(&format!("  {}: {}", c.product_name, cell_text(c)));
            }
        }
        Environments::Rename { name, new_name } => {
            let e = attempt!(
                ctx,
                t.update_environment(name, &CatalogChange::rename(new_name))
            );
            changed(ctx, "Environment", name, &e.name, &e.id, &to_json(&e));
        }
        Environments::Set(a) => {
            let change = match set_change(a) {
                Ok(c) => c,
                Err(u) => return ctx.usage(&u),
            };
            let e = attempt!(ctx, t.update_environment(&a.name, &change));
            changed(ctx, "Environment", &a.name, &e.name, &e.id, &to_json(&e));
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
