//! `versioner variables set|list|remove` and `versioner buttons add|list|remove|show`:
//! variables and deployment buttons, on the database (`--db` or `--database-url`). The flags
//! become the core's requests; the core validates and renders.

use clap::{Args, Subcommand};
use serde_json::Value;
use versioner_core::Actor;
use versioner_core::buttons::{ButtonRequest, VariableRequest};

use super::Context;
use super::output::table;
use crate::exit::Exit;

/// `versioner variables …`.
#[derive(Debug, Args)]
#[command(after_help = "\
Names are lowercase letters, digits and underscores; `vi_` is reserved for the system
variables (vi_version, vi_build_number, vi_product_id, vi_product_name, vi_environment_id,
vi_environment_name, vi_sha). A product's value overrides the organization's.

Examples:
  versioner variables set jenkins ci.example.com
  versioner variables set job api-deploy --product api
  versioner variables list --product api")]
pub struct VariablesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Variables,
}

/// `versioner variables …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Variables {
    /// Set a variable
    Set {
        /// Its name
        name: String,
        /// Its value
        value: String,
        /// In this product's scope (default: the organization's)
        #[arg(long)]
        product: Option<String>,
    },
    /// List a scope's variables
    List {
        /// This product's scope (default: the organization's)
        #[arg(long)]
        product: Option<String>,
    },
    /// Remove a variable
    Remove {
        /// Its name
        name: String,
        /// From this product's scope (default: the organization's)
        #[arg(long)]
        product: Option<String>,
    },
}

/// `versioner buttons …`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  versioner buttons add --product api --name Deploy --environment production \\
    --url 'https://{jenkins}/job/{job}/buildWithParameters?VERSION={vi_version}&ENV={vi_environment_name}'
  versioner buttons show --product api --version 1.2.0")]
pub struct ButtonsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Buttons,
}

/// `versioner buttons …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Buttons {
    /// Add a deployment button to a product
    Add {
        /// The product
        #[arg(long)]
        product: String,
        /// The button's label
        #[arg(long)]
        name: String,
        /// The URL template (http or https) with {variable} placeholders
        #[arg(long = "url")]
        url_template: String,
        /// An environment it deploys to (repeatable)
        #[arg(long = "environment", required = true)]
        environments: Vec<String>,
        /// Add it disabled
        #[arg(long)]
        disabled: bool,
    },
    /// List the buttons (of a product)
    List {
        /// Only this product
        #[arg(long)]
        product: Option<String>,
    },
    /// Remove a button
    Remove {
        /// The button's id
        id: String,
    },
    /// A version's buttons, rendered for each environment
    Show {
        /// The product
        #[arg(long)]
        product: String,
        /// The version
        #[arg(long)]
        version: String,
    },
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn print(ctx: &mut Context<'_, '_>, value: Value, text: String) -> Exit {
    if ctx.console.json() {
        ctx.console.print_json(&value);
    } else {
        ctx.console.out(&text);
    }
    Exit::Success
}

fn open(ctx: &mut Context<'_, '_>, command: &str) -> Result<versioner_core::Versioner, Exit> {
    let db = ctx.database(command).map_err(|u| ctx.usage(&u))?;
    super::open(&db)
        .map(|v| v.acting_as(Actor::local(ctx.actor(None))))
        .map_err(|e| ctx.fail(&e))
}

/// Runs a `variables` subcommand.
pub fn variables(ctx: &mut Context<'_, '_>, a: &VariablesArgs) -> Exit {
    let vr = match open(ctx, "variables") {
        Ok(v) => v,
        Err(exit) => return exit,
    };
    match &a.command {
        Variables::Set {
            name,
            value,
            product,
        } => {
            let mut r = VariableRequest::new(name, value);
            if let Some(p) = product {
                r = r.product(p);
            }
            match vr.set_variable(&r) {
                Ok(v) => {
                    let text = format!("Set `{}`.", v.name);
                    print(ctx, to_json(&v), text)
                }
                Err(e) => ctx.fail(&e),
            }
        }
        Variables::List { product } => match vr.variables(product.as_deref()) {
            Ok(list) => {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|v| vec![v.name.clone(), v.value.clone()])
                    .collect();
                let text = table(&["NAME", "VALUE"], &rows);
                print(ctx, to_json(&list), text)
            }
            Err(e) => ctx.fail(&e),
        },
        Variables::Remove { name, product } => match vr.remove_variable(name, product.as_deref()) {
            Ok(()) => print(ctx, Value::Null, format!("Removed `{name}`.")),
            Err(e) => ctx.fail(&e),
        },
    }
}

/// Runs a `buttons` subcommand.
pub fn buttons(ctx: &mut Context<'_, '_>, a: &ButtonsArgs) -> Exit {
    let vr = match open(ctx, "buttons") {
        Ok(v) => v,
        Err(exit) => return exit,
    };
    match &a.command {
        Buttons::Add {
            product,
            name,
            url_template,
            environments,
            disabled,
        } => {
            let mut r = ButtonRequest::new(product, name, url_template, environments.clone());
            r.enabled = !disabled;
            match vr.add_deployment_button(&r) {
                Ok(b) => {
                    let text = format!("Added button `{}` (id {}).", b.name, b.id);
                    print(ctx, to_json(&b), text)
                }
                Err(e) => ctx.fail(&e),
            }
        }
        Buttons::List { product } => match vr.deployment_buttons(product.as_deref()) {
            Ok(list) => {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|b| {
                        vec![
                            b.id.clone(),
                            b.product.clone(),
                            b.name.clone(),
                            b.environments.join(","),
                            if b.enabled { "enabled" } else { "disabled" }.into(),
                            b.url_template.clone(),
                        ]
                    })
                    .collect();
                let text = table(
                    &[
                        "ID",
                        "PRODUCT",
                        "NAME",
                        "ENVIRONMENTS",
                        "STATE",
                        "URL_TEMPLATE",
                    ],
                    &rows,
                );
                print(ctx, to_json(&list), text)
            }
            Err(e) => ctx.fail(&e),
        },
        Buttons::Remove { id } => match vr.remove_deployment_button(id) {
            Ok(()) => print(ctx, Value::Null, format!("Removed button {id}.")),
            Err(e) => ctx.fail(&e),
        },
        Buttons::Show { product, version } => match vr.version_buttons(product, version) {
            Ok(list) => {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|b| {
                        vec![
                            b.name.clone(),
                            b.environment.clone(),
                            b.url
                                .clone()
                                .or_else(|| b.error.clone())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                let text = table(&["NAME", "ENVIRONMENT", "URL"], &rows);
                print(ctx, to_json(&list), text)
            }
            Err(e) => ctx.fail(&e),
        },
    }
}
