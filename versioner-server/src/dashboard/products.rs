//! Products and versions: every product with where it runs; a product's versions (build,
//! where each is deployed, approvals); a version's detail (its build, approvals, where the
//! preflight would let it go now and what is missing, such as approvals; its deployments).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use maud::html;
use versioner_core::{CheckRequest, HistoryQuery, Page as Paging, StateCell};

use super::layout::{self, Nav};
use super::{Page, Viewer, core, query_string, segment};
use crate::AppState;

/// How many versions a product's page lists.
const VERSIONS: u32 = 100;

/// Where each version of a product runs: version → the environments it is current in, and
/// those it is being deployed to.
fn placements(cells: &[StateCell], product: &str) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut out: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for c in cells.iter().filter(|c| c.product_name == product) {
        if let Some(d) = &c.current {
            out.entry(d.version.clone())
                .or_default()
                .0
                .push(c.environment_name.clone());
        }
        for d in &c.in_progress {
            out.entry(d.version.clone())
                .or_default()
                .1
                .push(c.environment_name.clone());
        }
    }
    out
}

/// `GET /ui/products`: every product, with the version current in each environment.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Page {
    let (seq, products, matrix) = core(&state, &viewer, |vr| {
        Ok((vr.last_event_seq()?, vr.products()?, vr.state(None)?))
    })
    .await?;
    let content = html! {
        h1 { "Products" }
        div #live data-live="products" data-seq=(seq) {
            @if products.is_empty() {
                p.empty { "No product recorded yet." }
            } @else {
                div.scroll tabindex="0" role="region" aria-label="Products" {
                    table.history {
                        thead { tr { th scope="col" { "Product" } th scope="col" { "Running" } th scope="col" { "First seen" } } }
                        tbody {
                            @for p in &products {
                                tr data-product=(p.name) {
                                    th scope="row" { a href={ "/ui/products/" (segment(&p.name)) } { (p.name) } }
                                    td {
                                        @for c in matrix.cells.iter().filter(|c| c.product_name == p.name) {
                                            @if let Some(d) = &c.current {
                                                span.pair { (c.environment_name) ": " strong { (d.version) } } " "
                                            }
                                        }
                                    }
                                    td { (layout::time(p.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Products", Some(&viewer), Nav::Products, content).into_response())
}

/// `GET /ui/products/{product}`: its versions, newest first, each with its build, where it is
/// deployed, and its approvals.
pub async fn product(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(product): Path<String>,
) -> Page {
    let name = product.clone();
    let (seq, versions, matrix, approvals) = core(&state, &viewer, move |vr| {
        let seq = vr.last_event_seq()?;
        let versions = vr.versions(&name, Paging::first(VERSIONS))?;
        let matrix = vr.state(None)?;
        let approvals = versions
            .iter()
            .map(|v| vr.approvals(&name, &v.version))
            .collect::<versioner_core::Result<Vec<_>>>()?;
        Ok((seq, versions, matrix, approvals))
    })
    .await?;
    let placed = placements(&matrix.cells, &product);
    let content = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/ui/products" { "Products" } " / " (product) }
        h1 { (product) }
        div #live data-live="product" data-seq=(seq) {
            div.scroll tabindex="0" role="region" aria-label="Versions" {
                table.history {
                    thead { tr {
                        th scope="col" { "Version" } th scope="col" { "SHA" } th scope="col" { "Build" }
                        th scope="col" { "Built by" } th scope="col" { "Deployed to" } th scope="col" { "Approvals" } th scope="col" { "First seen" }
                    } }
                    tbody {
                        @for (v, approvals) in versions.iter().zip(&approvals) {
                            @let (running, deploying) = placed.get(&v.version).cloned().unwrap_or_default();
                            tr data-version=(v.version) {
                                th scope="row" { a href={ "/ui/products/" (segment(&product)) "/versions/" (segment(&v.version)) } { (v.version) } }
                                td { code { (layout::text(v.scm_sha.as_deref().map(|s| s.get(..12).unwrap_or(s)))) } }
                                td { (layout::link(v.build_url.as_deref(), v.build_number.as_deref().unwrap_or("link"))) @if v.build_url.is_none() { (layout::text(v.build_number.as_deref())) } }
                                td { (layout::text(v.built_by.as_deref())) }
                                td {
                                    @for e in &running { span.chip.ok { (e) } " " }
                                    @for e in &deploying { span.chip.run { "→ " (e) } " " }
                                }
                                td {
                                    @for a in approvals.iter().filter(|a| a.is_active()) {
                                        span.chip title={ (a.approver) " (" (a.approver_role.as_deref().unwrap_or("")) ")" } { (a.approval_type) } " "
                                    }
                                }
                                td { (layout::time(v.created_at)) }
                            }
                        }
                    }
                }
            }
            @if versions.len() as u32 == VERSIONS { p.muted { "The newest " (VERSIONS) " versions." } }
        }
    };
    Ok(layout::page(&product, Some(&viewer), Nav::Products, content).into_response())
}

/// `GET /ui/products/{product}/versions/{version}`: the version's build, where it is
/// deployed, its approvals and its deployments.
pub async fn version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((product, version)): Path<(String, String)>,
) -> Page {
    let (p, v) = (product.clone(), version.clone());
    let (seq, ver, approvals, matrix, history, readiness, buttons) =
        core(&state, &viewer, move |vr| {
            let seq = vr.last_event_seq()?;
            let ver = vr.version(&p, &v)?;
            let approvals = vr.approvals(&p, &v)?;
            let matrix = vr.state(None)?;
            let history = vr.history(&HistoryQuery::new().product(&p).version(&v).limit(100))?;
            // What the preflight says now for each environment: the approvals still missing,
            // and every other rule in the way (the core's dry-run check; nothing is recorded).
            let readiness = vr
                .environments()?
                .into_iter()
                .map(|e| {
                    let verdict = vr.check(&CheckRequest::new(&p, &v, &e.name))?;
                    Ok((e.name, verdict))
                })
                .collect::<versioner_core::Result<Vec<_>>>()?;
            let buttons = vr.version_buttons(&p, &v)?;
            Ok((seq, ver, approvals, matrix, history, readiness, buttons))
        })
        .await?;
    let (running, deploying) = placements(&matrix.cells, &product)
        .remove(&version)
        .unwrap_or_default();
    let content = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/ui/products" { "Products" } " / "
            a href={ "/ui/products/" (segment(&product)) } { (product) } " / " (version)
        }
        h1 { (product) " " (version) }
        div #live data-live="version" data-seq=(seq) {
            dl.facts {
                dt { "SHA" } dd { code { (layout::text(ver.scm_sha.as_deref())) } }
                dt { "Branch" } dd { (layout::text(ver.scm_branch.as_deref())) }
                dt { "Repository" } dd { (layout::text(ver.scm_repository.as_deref())) }
                dt { "Build number" } dd { (layout::text(ver.build_number.as_deref())) }
                dt { "Build" } dd { (layout::link(ver.build_url.as_deref(), "open")) }
                dt { "Built by" } dd { (layout::text(ver.built_by.as_deref())) }
                dt { "First seen" } dd { (layout::time(ver.created_at)) }
                dt { "Current in" } dd {
                    @if running.is_empty() { "—" }
                    @for e in &running {
                        a.chip.ok href={ "/ui/cell?" (query_string([("product", product.as_str()), ("environment", e.as_str())])) } { (e) } " "
                    }
                    @for e in &deploying { span.chip.run { "deploying to " (e) } " " }
                }
            }
            section aria-labelledby="appr-h" {
                h2 #appr-h { "Approvals" }
                @if approvals.is_empty() {
                    p.empty { "No approval recorded." }
                } @else {
                    div.scroll tabindex="0" role="region" aria-label="Approvals" {
                        table.history {
                            thead { tr { th scope="col" { "Type" } th scope="col" { "Approver" } th scope="col" { "Role" } th scope="col" { "Environment" } th scope="col" { "Comment" } th scope="col" { "Granted" } th scope="col" { "Revoked" } } }
                            tbody {
                                @for a in &approvals {
                                    tr {
                                        td { span.chip.ok[a.is_active()] { (a.approval_type) } }
                                        td { (a.approver) }
                                        td { (layout::text(a.approver_role.as_deref())) }
                                        td { (layout::text(a.environment.as_deref())) }
                                        td { (layout::text(a.comment.as_deref())) }
                                        td { (layout::time(a.granted_at)) }
                                        td {
                                            @match a.revoked_at {
                                                Some(t) => { (layout::time(t)) " by " (layout::text(a.revoked_by.as_deref())) ": " (layout::text(a.revoke_reason.as_deref())) }
                                                None => "—",
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="ready-h" {
                h2 #ready-h { "Where it may go now" }
                p.muted { "The preflight for this version in each environment, now (a dry run: nothing is recorded). Missing approvals are listed here." }
                div.scroll tabindex="0" role="region" aria-label="Readiness by environment" {
                    table.history {
                        thead { tr { th scope="col" { "Environment" } th scope="col" { "Verdict" } th scope="col" { "In the way" } } }
                        tbody {
                            @for (env, verdict) in &readiness {
                                tr data-environment=(env) data-allowed=(verdict.is_allowed()) {
                                    td { (env) }
                                    td {
                                        @if verdict.is_allowed() { span.chip.ok { "allowed" } }
                                        @else { span.chip.bad { (verdict.code().map_or("blocked", |c| c.as_str())) } }
                                    }
                                    td.wrap {
                                        @for o in verdict.failures() { div { strong { (o.rule_name) } ": " (o.message) } }
                                        @for o in verdict.warnings() { div.muted { "report-only " strong { (o.rule_name) } ": " (o.message) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="btn-h" {
                h2 #btn-h { "Deploy" }
                (layout::buttons(&buttons))
            }
            section aria-labelledby="vh-h" {
                h2 #vh-h { "Deployments" }
                (super::deployments::history_table(&history, true))
            }
        }
    };
    Ok(layout::page(
        &format!("{product} {version}"),
        Some(&viewer),
        Nav::Products,
        content,
    )
    .into_response())
}
