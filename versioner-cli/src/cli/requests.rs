//! `versioner requests …`: Deployment Requests and their templates, in process (as `--actor`)
//! or through a server (as the key's principal). The flags become the core's requests; the core
//! decides.

use clap::{Args, Subcommand};
use serde_json::Value;
use versioner_core::request::{CellState, Progress, SlotStatus, StepPhase, TemplateFile};
use versioner_core::{
    DeploymentRequest, RequestAction, RequestActionRequest, RequestDraft, RequestQuery,
    RequestStatus, SlotSpec, Tracker,
};

use super::output::table;
use super::{Context, Usage};
use crate::exit::Exit;

/// `versioner requests …`.
#[derive(Debug, Args)]
#[command(after_help = "\
A Deployment Request (DR) names one version of each product, the environments they go to, the
approval slots people must fill and the steps to tick before and after deploying. While it is
submitted, a `started` deployment it covers is refused (DEPLOYMENT_REQUEST_PENDING, exit 5)
until it is approved and its pre-deployment steps are done.

Examples:
  versioner requests create --name 'Q4 release' --product api --version 1.2.0 \\
      --product web --version 3.4.0 --environment staging --environment production \\
      --slot qa --slot security --pre-step 'Announce in #deploys' --post-step 'Check dashboards'
  versioner requests submit 0193…
  versioner requests approve 0193… --type qa --actor quinn --role qa
  versioner requests step 0193… 'Announce in #deploys' --done
  versioner requests show 0193…
  versioner requests list --status in_progress --environment production
  versioner requests templates apply templates.toml")]
pub struct RequestsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Requests,
}

/// `versioner requests …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Requests {
    /// Create a Deployment Request (a draft); prints its id as the last line
    Create(CreateArgs),
    /// Submit a draft for approval
    Submit {
        /// The request's id
        id: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Approve a slot of the request (as --actor; through a server, the key's principal)
    Approve(DecideArgs),
    /// Reject a slot of the request (a comment is required)
    Reject(DecideArgs),
    /// Mark a step done
    Step {
        /// The request's id
        id: String,
        /// The step's text
        step: String,
        /// Mark it done (the only change a step takes)
        #[arg(long, required = true)]
        done: bool,
    },
    /// Return a submitted request to draft, clearing its slot decisions
    Deactivate {
        /// The request's id
        id: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Cancel an open request
    Cancel {
        /// The request's id
        id: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Complete a release (a request without slots or steps) by hand
    Complete {
        /// The request's id
        id: String,
    },
    /// Show a request: slots, steps, progress grid and history
    Show {
        /// The request's id
        id: String,
    },
    /// List requests, newest first
    List {
        /// Only this status: draft, in_progress, approved, rejected, completed, cancelled
        #[arg(long)]
        status: Option<String>,
        /// Only those with a version of this product
        #[arg(long)]
        product: Option<String>,
        /// Only those targeting this environment
        #[arg(long)]
        environment: Option<String>,
    },
    /// Templates: list, or apply a file of `[[templates]]`
    #[command(subcommand)]
    Templates(Templates),
}

/// `versioner requests templates …`.
#[derive(Debug, Subcommand)]
pub enum Templates {
    /// List the templates
    List,
    /// Add or replace the templates a TOML (`[[templates]]`) or JSON (`{"templates": [...]}`) file declares
    Apply {
        /// The file
        file: std::path::PathBuf,
    },
}

/// Flags of `requests create`.
#[derive(Debug, Clone, Default, Args)]
pub struct CreateArgs {
    /// Its name
    #[arg(long)]
    pub name: String,
    /// A product (repeatable; each followed by its --version)
    #[arg(long = "product")]
    pub products: Vec<String>,
    /// The version of the product before it (repeatable)
    #[arg(long = "version")]
    pub versions: Vec<String>,
    /// A target environment (repeatable)
    #[arg(long = "environment")]
    pub environments: Vec<String>,
    /// A required approval slot of this type (repeatable)
    #[arg(long = "slot", value_name = "TYPE")]
    pub slots: Vec<String>,
    /// An optional (advisory) approval slot of this type (repeatable)
    #[arg(long = "optional-slot", value_name = "TYPE")]
    pub optional_slots: Vec<String>,
    /// A pre-deployment step (repeatable)
    #[arg(long = "pre-step", value_name = "TEXT")]
    pub pre_steps: Vec<String>,
    /// A post-deployment step (repeatable)
    #[arg(long = "post-step", value_name = "TEXT")]
    pub post_steps: Vec<String>,
    /// A template to start from
    #[arg(long)]
    pub template: Option<String>,
    /// What it is about
    #[arg(long)]
    pub description: Option<String>,
    /// Release notes
    #[arg(long)]
    pub release_notes: Option<String>,
    /// A link to an issue or ticket (repeatable)
    #[arg(long = "issue-link", value_name = "URL")]
    pub issue_links: Vec<String>,
}

/// Flags of `requests approve` and `requests reject`.
#[derive(Debug, Clone, Default, Args)]
pub struct DecideArgs {
    /// The request's id
    pub id: String,
    /// The slot's approval type
    #[arg(long = "type", value_name = "TYPE")]
    pub approval_type: String,
    /// A comment (required to reject)
    #[arg(long)]
    pub comment: Option<String>,
    /// The actor's role, for an actor not registered as a principal (a registered one's role is its own)
    #[arg(long)]
    pub role: Option<String>,
}

/// Runs a `requests` subcommand.
pub fn run(ctx: &mut Context<'_, '_>, a: &RequestsArgs) -> Exit {
    let t = match ctx.tracker() {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return ctx.fail(&e),
        Err(u) => return ctx.usage(&u),
    };
    let actor = ctx.actor_for(None);
    match &a.command {
        Requests::Create(c) => create(ctx, &*t, c, &actor),
        Requests::Submit { id, comment } => {
            act(ctx, &*t, id, RequestAction::Submit, comment, None, &actor)
        }
        Requests::Approve(d) => {
            let action = RequestAction::Approve {
                approval_type: d.approval_type.clone(),
            };
            act(ctx, &*t, &d.id, action, &d.comment, d.role.clone(), &actor)
        }
        Requests::Reject(d) => {
            if d.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
                return ctx.usage(&Usage(
                    "--comment is required to reject: say why, so the requester can act on it"
                        .into(),
                ));
            }
            let action = RequestAction::Reject {
                approval_type: d.approval_type.clone(),
            };
            act(ctx, &*t, &d.id, action, &d.comment, d.role.clone(), &actor)
        }
        Requests::Step { id, step, .. } => {
            let action = RequestAction::StepDone { step: step.clone() };
            act(ctx, &*t, id, action, &None, None, &actor)
        }
        Requests::Deactivate { id, comment } => act(
            ctx,
            &*t,
            id,
            RequestAction::Deactivate,
            comment,
            None,
            &actor,
        ),
        Requests::Cancel { id, comment } => {
            act(ctx, &*t, id, RequestAction::Cancel, comment, None, &actor)
        }
        Requests::Complete { id } => {
            act(ctx, &*t, id, RequestAction::Complete, &None, None, &actor)
        }
        Requests::Show { id } => show(ctx, &*t, id),
        Requests::List {
            status,
            product,
            environment,
        } => list(ctx, &*t, status.as_deref(), product, environment),
        Requests::Templates(Templates::List) => match t.request_templates() {
            Ok(list) => {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            slots_text(
                                t.slots
                                    .iter()
                                    .map(|s| (s.approval_type.as_str(), s.optional)),
                            ),
                            t.environments.join(", "),
                            format!("{} pre, {} post", t.pre_steps.len(), t.post_steps.len()),
                        ]
                    })
                    .collect();
                print(
                    ctx,
                    to_json(&list),
                    table(&["TEMPLATE", "SLOTS", "ENVIRONMENTS", "STEPS"], &rows),
                )
            }
            Err(e) => ctx.fail(&e),
        },
        Requests::Templates(Templates::Apply { file }) => {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    return ctx.usage(&Usage(format!("cannot read {}: {e}", file.display())));
                }
            };
            let parsed = match TemplateFile::parse(&text) {
                Ok(f) => f,
                Err(e) => return ctx.fail(&e),
            };
            match t.put_request_templates(&parsed.templates) {
                Ok(list) => {
                    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
                    let text =
                        format!("✓ {} template(s) applied: {}", list.len(), names.join(", "));
                    print(ctx, to_json(&list), text)
                }
                Err(e) => ctx.fail(&e),
            }
        }
    }
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

fn slots_text<'a>(slots: impl Iterator<Item = (&'a str, bool)>) -> String {
    let list: Vec<String> = slots
        .map(|(t, optional)| {
            if optional {
                format!("{t}?")
            } else {
                t.to_string()
            }
        })
        .collect();
    if list.is_empty() {
        "-".into()
    } else {
        list.join(", ")
    }
}

fn create(ctx: &mut Context<'_, '_>, t: &dyn Tracker, c: &CreateArgs, actor: &str) -> Exit {
    if c.products.len() != c.versions.len() {
        return ctx.usage(&Usage(format!(
            "give one --version after each --product ({} products, {} versions)",
            c.products.len(),
            c.versions.len()
        )));
    }
    let mut draft = RequestDraft::new(&c.name);
    for (p, v) in c.products.iter().zip(&c.versions) {
        draft = draft.version(p, v);
    }
    draft.environments.clone_from(&c.environments);
    draft.slots = c
        .slots
        .iter()
        .map(SlotSpec::required)
        .chain(c.optional_slots.iter().map(SlotSpec::optional))
        .collect();
    draft.pre_steps.clone_from(&c.pre_steps);
    draft.post_steps.clone_from(&c.post_steps);
    draft.template.clone_from(&c.template);
    draft.description.clone_from(&c.description);
    draft.context.release_notes.clone_from(&c.release_notes);
    draft.context.issue_links.clone_from(&c.issue_links);
    draft.created_by = actor.to_string();
    match t.create_request(&draft) {
        Ok(dr) => {
            if ctx.console.json() {
                ctx.console.print_json(&to_json(&dr));
            } else {
                ctx.console.out(&format!(
                    "✓ Deployment Request `{}` created (draft); submit it with `versioner requests submit {}`",
                    dr.name, dr.id
                ));
                ctx.console.out(&dr.id);
            }
            Exit::Success
        }
        Err(e) => ctx.fail(&e),
    }
}

fn act(
    ctx: &mut Context<'_, '_>,
    t: &dyn Tracker,
    id: &str,
    action: RequestAction,
    comment: &Option<String>,
    role: Option<String>,
    actor: &str,
) -> Exit {
    let name = action.name();
    let mut request = RequestActionRequest::new(action, actor);
    request.comment.clone_from(comment);
    request.actor_role = role;
    match t.act_on_request(id, &request) {
        Ok(dr) => {
            let line = format!("✓ {} `{}`: {}", verb(name), dr.name, dr.status);
            let next = next_step(&dr);
            print(ctx, to_json(&dr), format!("{line}{next}"))
        }
        Err(e) => ctx.fail(&e),
    }
}

fn verb(action: &str) -> &'static str {
    match action {
        "submit" => "Submitted",
        "deactivate" => "Returned to draft",
        "cancel" => "Cancelled",
        "approve" => "Slot approved on",
        "reject" => "Slot rejected on",
        "step_done" => "Step done on",
        _ => "Completed",
    }
}

/// What the request waits for, as a hint.
fn next_step(dr: &DeploymentRequest) -> String {
    match dr.status {
        RequestStatus::InProgress => format!("\n  waiting for: {}", dr.missing_slots().join(", ")),
        RequestStatus::Approved => {
            let pre = dr.open_steps(StepPhase::Pre);
            if pre.is_empty() {
                "\n  its deployments may go ahead".to_string()
            } else {
                format!("\n  pre-deployment steps open: {}", pre.join("; "))
            }
        }
        _ => String::new(),
    }
}

fn show(ctx: &mut Context<'_, '_>, t: &dyn Tracker, id: &str) -> Exit {
    let dr = match t.request(id) {
        Ok(d) => d,
        Err(e) => return ctx.fail(&e),
    };
    let progress = match t.request_progress(id) {
        Ok(p) => p,
        Err(e) => return ctx.fail(&e),
    };
    if ctx.console.json() {
        let mut v = to_json(&dr);
        if let Value::Object(m) = &mut v {
            m.insert("progress".into(), to_json(&progress));
        }
        ctx.console.print_json(&v);
        return Exit::Success;
    }
    let mut out = vec![
        format!("Deployment Request `{}` ({})", dr.name, dr.id),
        format!(
            "  status: {}   created by {} at {}",
            dr.status,
            dr.created_by,
            dr.created_at.to_rfc3339()
        ),
    ];
    if let Some(d) = &dr.description {
        out.push(format!("  {d}"));
    }
    if let Some(t) = &dr.template {
        out.push(format!("  template: {t}"));
    }
    let slot_rows: Vec<Vec<String>> = dr
        .slots
        .iter()
        .map(|s| {
            vec![
                format!(
                    "{}{}",
                    s.approval_type,
                    if s.optional { " (optional)" } else { "" }
                ),
                match s.status {
                    SlotStatus::Pending => "pending".into(),
                    SlotStatus::Approved => "approved".into(),
                    SlotStatus::Rejected => "rejected".into(),
                },
                s.decided_by.clone().unwrap_or_else(|| "-".into()),
                s.comment.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !slot_rows.is_empty() {
        out.push(String::new());
        out.push(table(&["SLOT", "STATUS", "BY", "COMMENT"], &slot_rows));
    }
    let step_rows: Vec<Vec<String>> = dr
        .steps
        .iter()
        .map(|s| {
            vec![
                match s.phase {
                    StepPhase::Pre => "pre".into(),
                    StepPhase::Post => "post".into(),
                },
                s.text.clone(),
                s.done_by
                    .clone()
                    .map_or_else(|| "open".into(), |b| format!("done by {b}")),
            ]
        })
        .collect();
    if !step_rows.is_empty() {
        out.push(String::new());
        out.push(table(&["PHASE", "STEP", "STATE"], &step_rows));
    }
    out.push(String::new());
    out.push(grid(&progress, &dr.environments));
    ctx.console.out(&out.join("\n"));
    Exit::Success
}

/// The progress grid: a row per product, a column per environment.
fn grid(progress: &Progress, environments: &[String]) -> String {
    let mut header = vec!["PRODUCT", "VERSION"];
    header.extend(environments.iter().map(String::as_str));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for cell in &progress.cells {
        let mark = match cell.state {
            CellState::Deployed => "deployed",
            CellState::NotDeployed => "-",
            CellState::Failed => "failed",
            CellState::InProgress => "in progress",
        };
        match rows.last_mut() {
            Some(r) if r[0] == cell.product_name => r.push(mark.into()),
            _ => rows.push(vec![
                cell.product_name.clone(),
                cell.version.clone(),
                mark.into(),
            ]),
        }
    }
    table(&header, &rows)
}

fn list(
    ctx: &mut Context<'_, '_>,
    t: &dyn Tracker,
    status: Option<&str>,
    product: &Option<String>,
    environment: &Option<String>,
) -> Exit {
    let mut q = RequestQuery::default();
    q.status = match status.map(str::parse::<RequestStatus>).transpose() {
        Ok(s) => s,
        Err(e) => return ctx.fail(&e),
    };
    q.product.clone_from(product);
    q.environment.clone_from(environment);
    match t.requests(&q) {
        Ok(list) => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.name.clone(),
                        r.status.to_string(),
                        r.versions
                            .iter()
                            .map(|v| format!("{} {}", v.product_name, v.version))
                            .collect::<Vec<_>>()
                            .join(", "),
                        r.environments.join(", "),
                        if r.missing_slots().is_empty() {
                            "-".into()
                        } else {
                            r.missing_slots().join(", ")
                        },
                    ]
                })
                .collect();
            print(
                ctx,
                to_json(&list),
                table(
                    &[
                        "ID",
                        "NAME",
                        "STATUS",
                        "VERSIONS",
                        "ENVIRONMENTS",
                        "WAITING FOR",
                    ],
                    &rows,
                ),
            )
        }
        Err(e) => ctx.fail(&e),
    }
}
