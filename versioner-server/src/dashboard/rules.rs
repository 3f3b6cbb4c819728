//! Rules: every rule with its scope, status, settings and audit trail; changing a rule's
//! status with a reason (for roles that may manage rules: the core records who, when and
//! why); and the "what if" form, which runs the core's dry-run `check` for a product, version,
//! environment and instant and shows the verdict.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use versioner_core::policy::RuleStatus;
use versioner_core::store::{RuleStatusChange, StoredRule};
use versioner_core::{CheckRequest, Permission};

use super::layout::{self, Nav, rule_anchor};
use super::session::CsrfForm;
use super::{Fields, Page, PageError, Viewer, core, query_string};
use crate::AppState;

const STATUSES: [RuleStatus; 3] = [
    RuleStatus::Enabled,
    RuleStatus::ReportOnly,
    RuleStatus::Disabled,
];

/// The settings of a rule beyond its name, status and scope, from its policy-file form.
fn settings(rule: &StoredRule) -> Vec<(String, String)> {
    let Value::Object(m) = rule.rule.to_json() else {
        return Vec::new();
    };
    m.into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "name"
                    | "status"
                    | "description"
                    | "type"
                    | "products"
                    | "environments"
                    | "environment_types"
            )
        })
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect()
}

fn scope(rule: &StoredRule) -> Markup {
    let s = &rule.rule.scope;
    let all = s.products.is_empty() && s.environments.is_empty() && s.environment_types.is_empty();
    html! {
        @if all { "every deployment" }
        @if !s.products.is_empty() { div { "products: " (s.products.join(", ")) } }
        @if !s.environments.is_empty() { div { "environments: " (s.environments.join(", ")) } }
        @if !s.environment_types.is_empty() {
            div { "environment types: " (s.environment_types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")) }
        }
    }
}

fn status_chip(s: RuleStatus) -> Markup {
    let class = match s {
        RuleStatus::Enabled => "chip ok",
        RuleStatus::ReportOnly => "chip warn",
        RuleStatus::Disabled => "chip",
    };
    html! { span class=(class) { (s.as_str()) } }
}

/// The rules page's content.
fn rules_content(
    viewer: &Viewer,
    seq: i64,
    rules: &[StoredRule],
    history: &[RuleStatusChange],
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let mut trail: HashMap<&str, Vec<&RuleStatusChange>> = HashMap::new();
    for c in history {
        trail.entry(c.rule_name.as_str()).or_default().push(c);
    }
    let may_change = viewer.may(Permission::ManageRules);
    html! {
        h1 { "Rules" }
        @if let Some(n) = notice { p.note role="status" { (n) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if !may_change {
            p.muted data-rule-changes="refused" {
                "Your role (" (viewer.role().as_str()) ") may read the rules but not change them; admins, release managers and SREs may."
            }
        }
        div #live data-live="rules" data-seq=(seq) {
            @if rules.is_empty() {
                p.empty { "No rule yet. Apply a policy file with " code { "versioner rules apply" } "." }
            }
            @for r in rules {
                @let anchor = rule_anchor(&r.rule.name);
                section.rule id=(anchor) data-rule=(r.rule.name) data-status=(r.rule.status.as_str()) {
                    h2 { (r.rule.name) " " (status_chip(r.rule.status)) }
                    @if let Some(d) = &r.rule.description { p { (d) } }
                    dl.facts {
                        dt { "Type" } dd { (r.rule.rule_type().as_str()) }
                        dt { "Applies to" } dd { (scope(r)) }
                        @for (k, v) in settings(r) { dt { (k) } dd { code { (v) } } }
                        dt { "Position" } dd { (r.position) }
                        dt { "Changed" } dd { (layout::time(r.updated_at)) }
                    }
                    @if may_change {
                        form.status method="post" action="/ui/rules/status" {
                            input type="hidden" name="csrf" value=(viewer.csrf());
                            input type="hidden" name="name" value=(r.rule.name);
                            div.field {
                                label for={ (anchor) "-status" } { "New status" }
                                select id={ (anchor) "-status" } name="status" {
                                    @for s in STATUSES {
                                        option value=(s.as_str()) selected[s == r.rule.status] { (s.as_str()) }
                                    }
                                }
                            }
                            div.field.grow {
                                label for={ (anchor) "-reason" } { "Reason" }
                                input id={ (anchor) "-reason" } name="reason" required maxlength="1000" placeholder="why (kept in the audit trail)";
                            }
                            div.actions { button type="submit" { "Change status" } }
                        }
                    }
                    details {
                        summary { "Audit trail (" (trail.get(r.rule.name.as_str()).map_or(0, Vec::len)) ")" }
                        (trail_table(trail.get(r.rule.name.as_str()).map(Vec::as_slice).unwrap_or(&[])))
                    }
                }
            }
        }
    }
}

fn trail_table(changes: &[&RuleStatusChange]) -> Markup {
    html! {
        @if changes.is_empty() {
            p.muted { "No status change recorded." }
        } @else {
            div.scroll tabindex="0" role="region" aria-label="Audit trail" {
                table.history {
                    thead { tr { th scope="col" { "When" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Who" } th scope="col" { "Why" } } }
                    tbody {
                        @for c in changes.iter().rev() {
                            tr {
                                td { (layout::time(c.changed_at)) }
                                td { (c.from_status.as_str()) }
                                td { (c.to_status.as_str()) }
                                td { (c.actor) }
                                td { (c.reason) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Page {
    let (seq, rules, history) = core(state, viewer, |vr| {
        Ok((vr.last_event_seq()?, vr.rules()?, vr.rule_history(None)?))
    })
    .await?;
    let content = rules_content(
        viewer,
        seq,
        &rules,
        &history,
        notice.as_deref(),
        error.as_deref(),
    );
    Ok((
        status,
        layout::page("Rules", Some(viewer), Nav::Rules, content),
    )
        .into_response())
}

/// `GET /ui/rules[?changed=NAME]`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let notice = q
        .get("changed")
        .map(|n| format!("The status of `{n}` was changed."));
    render(&state, &viewer, StatusCode::OK, notice, None).await
}

/// The status form's fields.
#[derive(Debug, Deserialize)]
pub struct StatusChange {
    /// The rule.
    #[serde(default)]
    pub name: String,
    /// The new status.
    #[serde(default)]
    pub status: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `POST /ui/rules/status` (`name`, `status`, `reason`, `csrf`): changes a rule's status as
/// the signed-in principal. A role that may not manage rules is refused (403), as on the API;
/// a bad status or a blank reason is shown on the rules page (422), and nothing changes.
pub async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<StatusChange>,
) -> Page {
    if !viewer.may(Permission::ManageRules) {
        return Err(PageError::forbidden(format!(
            "`{}` has the role {}, which may not change rules",
            viewer.principal().unwrap_or("anonymous"),
            viewer.role()
        )));
    }
    let name = form.name.clone();
    // Signed in, the core records the session's principal; with `--no-auth`, `dashboard`.
    let actor = if viewer.signed_in() { "" } else { "dashboard" };
    let changed = core(&state, &viewer, move |vr| {
        let status: RuleStatus = form.status.parse()?;
        vr.set_rule_status(&form.name, status, actor, &form.reason)
    })
    .await;
    match changed {
        Ok(_) => Ok(Redirect::to(&format!(
            "/ui/rules?{}#{}",
            query_string([("changed", name.as_str())]),
            rule_anchor(&name)
        ))
        .into_response()),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            render(
                &state,
                &viewer,
                e.status(),
                None,
                Some(e.message().to_string()),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `GET /ui/check?product=&version=&environment=&at=`: the what-if form, and with all three
/// names the verdict of the core's dry-run `check` (nothing is recorded).
pub async fn what_if(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let product = q.get("product").unwrap_or_default();
    let version = q.get("version").unwrap_or_default();
    let environment = q.get("environment").unwrap_or_default();
    let at = q.instant("at")?;
    let asked = !(product.is_empty() && version.is_empty() && environment.is_empty());
    let mut request = CheckRequest::new(product.clone(), version.clone(), environment.clone());
    request.at = at.map(|t| t.to_rfc3339());
    let (products, environments, verdict) = core(&state, &viewer, move |vr| {
        let verdict = if asked {
            Some(vr.check(&request))
        } else {
            None
        };
        Ok((vr.products()?, vr.environments()?, verdict))
    })
    .await?;
    let at_value = q.get("at").unwrap_or_default();
    let (status, result) = match verdict {
        None => (StatusCode::OK, html! {}),
        Some(Ok(v)) => (
            StatusCode::OK,
            html! {
                section #verdict aria-labelledby="verdict-h" data-allowed=(v.is_allowed()) {
                    h2 #verdict-h { "Verdict for " (v.product_name()) " " (v.version()) " → " (v.environment_name()) }
                    (layout::verdict(&v))
                }
            },
        ),
        Some(Err(e)) => {
            let e = PageError::from(e);
            (
                e.status(),
                html! { p.error role="alert" #verdict { (e.message()) } },
            )
        }
    };
    let content = html! {
        h1 { "What if…" }
        p.muted { "Runs the preflight for a would-be deployment, now or at any instant, without recording anything." }
        form.filters method="get" action="/ui/check" {
            div.field { label for="c-product" { "Product" } input #c-product name="product" list="c-products" required value=(product); }
            div.field { label for="c-version" { "Version" } input #c-version name="version" required value=(version); }
            div.field { label for="c-env" { "Environment" } input #c-env name="environment" list="c-envs" required value=(environment); }
            div.field { label for="c-at" { "At (UTC, empty: now)" } input #c-at type="datetime-local" step="1" name="at" value=(at_value); }
            div.actions { button type="submit" { "Check" } }
            datalist #c-products { @for p in &products { option value=(p.name) {} } }
            datalist #c-envs { @for e in &environments { option value=(e.name) {} } }
        }
        (result)
    };
    Ok((
        status,
        layout::page("What if", Some(&viewer), Nav::Check, content),
    )
        .into_response())
}
