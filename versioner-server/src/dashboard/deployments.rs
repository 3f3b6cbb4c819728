//! Deployments and decisions: the history with filters (product, environment, status, time
//! range, bypassed), and the attempts the preflight refused, each with its full verdict
//! (every rule's outcome, the retry time) from its decision record.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde_json::{Map, Value};
use versioner_core::{DecisionOutcome, DecisionRecord, Deployment, Status, ViolationQuery, wire};

use super::layout::{self, Nav};
use super::{Fields, Page, PageError, Viewer, core, query_string};
use crate::AppState;

/// `GET /manage/deployments?view=<id>`: the page a notification's `source_url` names (the
/// hosted product's link form): the deployment's product and environment on the matrix's cell
/// page, which shows it with its verdict and history.
pub async fn view(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let id = q.get("view").ok_or_else(|| {
        PageError::from(versioner_core::Error::invalid(
            "view",
            "is required: a deployment id",
        ))
    })?;
    let d = core(&state, &viewer, move |vr| vr.deployment(&id)).await?;
    Ok(Redirect::to(&format!(
        "/ui/cell?{}",
        query_string([
            ("product", d.product_name.as_str()),
            ("environment", d.environment_name.as_str())
        ])
    ))
    .into_response())
}

/// How many deployments and blocked attempts the page lists.
const LIMIT: u32 = 100;

/// `GET /ui/deployments?product=&environment=&status=&since=&until=&bypassed=on`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let since = q.instant("since")?;
    let until = q.instant("until")?;
    let bypassed = q.has("bypassed");
    // The core reads the filters (names, status aliases), as for `GET /deployments/`.
    let mut filter = Map::new();
    for name in ["product", "environment", "status"] {
        if let Some(v) = q.get(name) {
            filter.insert(name.into(), Value::String(v));
        }
    }
    for (name, t) in [("since", since), ("until", until)] {
        if let Some(t) = t {
            filter.insert(name.into(), Value::String(t.to_rfc3339()));
        }
    }
    if bypassed {
        filter.insert("preflight".into(), Value::String("skipped".into()));
    }
    filter.insert("limit".into(), Value::String(LIMIT.to_string()));
    let query = wire::history_query(&Value::Object(filter))?;
    let mut blocked_query = ViolationQuery::default();
    blocked_query.product = query.product.clone();
    blocked_query.environment = query.environment.clone();
    blocked_query.since = since;
    blocked_query.until = until;
    blocked_query.outcome = Some(DecisionOutcome::Blocked);
    blocked_query.limit = Some(LIMIT);
    let show_blocked = !bypassed && query.status.is_none();
    let (seq, history, blocked) = core(&state, &viewer, move |vr| {
        let seq = vr.last_event_seq()?;
        let history = vr.history(&query)?;
        let blocked = if show_blocked {
            vr.violations(&blocked_query)?
        } else {
            Vec::new()
        };
        Ok((seq, history, blocked))
    })
    .await?;
    let form_value = |name: &str| q.get(name).unwrap_or_default();
    let content = html! {
        h1 { "Deployments" }
        form.filters method="get" action="/ui/deployments" {
            div.field { label for="d-product" { "Product" } input #d-product name="product" value=(form_value("product")); }
            div.field { label for="d-env" { "Environment" } input #d-env name="environment" value=(form_value("environment")); }
            div.field {
                label for="d-status" { "Status" }
                select #d-status name="status" {
                    option value="" { "any" }
                    @for s in Status::ALL {
                        option value=(s.as_str()) selected[q.get("status").as_deref() == Some(s.as_str())] { (s.as_str()) }
                    }
                }
            }
            div.field { label for="d-since" { "Since (UTC)" } input #d-since type="datetime-local" step="1" name="since" value=(form_value("since")); }
            div.field { label for="d-until" { "Until (UTC)" } input #d-until type="datetime-local" step="1" name="until" value=(form_value("until")); }
            div.field.check { label { input type="checkbox" name="bypassed" checked[bypassed]; " bypassed only" } }
            div.actions { button type="submit" { "Apply" } a.button.secondary href="/ui/deployments" { "Clear" } }
        }
        div #live data-live="deployments" data-seq=(seq) {
            section aria-labelledby="hist-h" {
                h2 #hist-h { "History" span.count { " (" (history.len()) @if history.len() as u32 == LIMIT { ", the newest " (LIMIT) } ")" } }
                (history_table(&history, true))
            }
            @if show_blocked {
                section aria-labelledby="blocked-h" {
                    h2 #blocked-h { "Blocked attempts" span.count { " (" (blocked.len()) ")" } }
                    @if blocked.is_empty() {
                        p.empty { "No attempt was refused" @if since.is_some() || until.is_some() { " in this time range" } "." }
                    } @else {
                        @for d in &blocked { (blocked_attempt(d)) }
                    }
                }
            }
        }
    };
    Ok(layout::page("Deployments", Some(&viewer), Nav::Deployments, content).into_response())
}

fn blocked_attempt(d: &DecisionRecord) -> Markup {
    let summary_code = d.verdict.code().map_or("blocked", |c| c.as_str());
    html! {
        details.attempt data-decision=(d.id) {
            summary {
                span.chip.bad { (summary_code) } " "
                strong { (d.product_name) " " (d.version) } " → " (d.environment_name)
                " · " (layout::text(d.actor.as_deref())) " · " (layout::time(d.recorded_at))
            }
            p.muted { "Failed: " (d.failed_rules().collect::<Vec<_>>().join(", ")) }
            (layout::verdict(&d.verdict))
        }
    }
}

/// A table of deployments, newest first; `with_names` adds the product and environment
/// columns (a cell's own history leaves them out).
pub fn history_table(history: &[Deployment], with_names: bool) -> Markup {
    html! {
        @if history.is_empty() {
            p.empty { "No deployment matches." }
        } @else {
            div.scroll tabindex="0" role="region" aria-label="Deployment history" {
                table.history {
                    thead {
                        tr {
                            th scope="col" { "When" }
                            @if with_names { th scope="col" { "Product" } th scope="col" { "Environment" } }
                            th scope="col" { "Version" }
                            th scope="col" { "Status" }
                            th scope="col" { "By" }
                            th scope="col" { "Preflight" }
                        }
                    }
                    tbody {
                        @for d in history {
                            tr data-deployment=(d.id) {
                                td { (layout::time(d.completed_at.or(d.started_at).unwrap_or(d.deployed_at))) }
                                @if with_names {
                                    td { a href={ "/ui/products/" (super::segment(&d.product_name)) } { (d.product_name) } }
                                    td { a href={ "/ui/cell?" (query_string([("product", d.product_name.as_str()), ("environment", d.environment_name.as_str())])) } { (d.environment_name) } }
                                }
                                td { a href={ "/ui/products/" (super::segment(&d.product_name)) "/versions/" (super::segment(&d.version)) } { (d.version) } }
                                td { (layout::status(d.status)) }
                                td { (layout::text(d.fields.deployed_by.as_deref())) }
                                td {
                                    @match &d.preflight {
                                        Some(p) if p.bypass_reason.is_some() => {
                                            span.chip.warn { "bypassed" } " " (p.bypass_reason.as_deref().unwrap_or(""))
                                        }
                                        Some(p) => {
                                            span.chip.ok { (p.status.as_str()) }
                                            @let warnings = p.warnings().count();
                                            @if warnings > 0 { " " span.chip.warn { (warnings) " report-only" } }
                                        }
                                        None => span.muted { "—" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
