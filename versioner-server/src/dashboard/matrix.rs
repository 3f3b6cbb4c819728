//! The home page, the environment state matrix, and a cell's detail.
//!
//! Rows are products, columns environments in the core's order (type dev → test → staging →
//! production → other, then name), each cell the version current there with its status
//! (deployments in progress, a failed last attempt). A row whose visible cells hold different
//! versions is drift (the core's [`StateMatrix::drift`] over the visible cells). For tests and
//! automation: rows carry `data-product`, cells `data-environment` and `data-version` (empty
//! when nothing is deployed), drifted rows `data-drift="true"`, and a cell falling behind
//! under a `max_skew` rule `data-skew="at_limit"` or `"exceeded"`.
//!
//! Filters (a product name fragment, a set of environments) are kept across visits in the
//! cookie `vr_filter`; `at` shows the matrix as of a past instant (not live).

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use versioner_core::skew::{SkewAlert, SkewState};
use versioner_core::{EnvironmentType, HistoryQuery, StateCell, StateMatrix};

use super::layout::{self, Nav};
use super::session::cookie;
use super::{Fields, Page, PageError, Viewer, core, query_string};
use crate::AppState;

/// The cookie that keeps the matrix's filters across visits.
pub const FILTER_COOKIE: &str = "vr_filter";

/// What the matrix shows: products whose name contains `product` (any case), and the
/// environments listed (all when none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A fragment of product names.
    pub product: String,
    /// The environments shown (all when empty).
    pub environments: Vec<String>,
}

impl Filter {
    fn from_fields(f: &Fields) -> Filter {
        Filter {
            product: f.get("product").unwrap_or_default(),
            environments: f.all("environment"),
        }
    }

    fn to_query(&self) -> String {
        query_string(
            std::iter::once(("product", self.product.as_str())).chain(
                self.environments
                    .iter()
                    .map(|e| ("environment", e.as_str())),
            ),
        )
    }

    fn from_cookie(headers: &HeaderMap) -> Filter {
        cookie(headers, FILTER_COOKIE)
            .and_then(|v| serde_urlencoded::from_str::<Vec<(String, String)>>(&v).ok())
            .map(|pairs| Filter::from_fields(&Fields::new(pairs)))
            .unwrap_or_default()
    }

    fn shows_product(&self, name: &str) -> bool {
        self.product.is_empty() || name.to_lowercase().contains(&self.product.to_lowercase())
    }

    fn shows_environment(&self, name: &str) -> bool {
        self.environments.is_empty() || self.environments.iter().any(|e| e == name)
    }
}

/// `GET /`: the matrix. `filter` (sent by the filter form) replaces the kept filters with
/// `product` and `environment`; without it the kept ones apply. `at`: as of that instant.
pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    q: Fields,
) -> Page {
    let (filter, keep) = if q.has("filter") {
        let f = Filter::from_fields(&q);
        let value = f.to_query();
        (f, Some(value))
    } else {
        (Filter::from_cookie(&headers), None)
    };
    let at = q.instant("at")?;
    let (seq, matrix, alerts) = core(&state, &viewer, move |vr| {
        // The sequence first: an event committed while the matrix is read is sent again.
        let seq = vr.last_event_seq()?;
        let matrix = vr.state(at)?;
        // Skew is measured now: an as-of view shows none.
        let alerts = if at.is_none() {
            vr.skew_alerts()?
        } else {
            Vec::new()
        };
        Ok((seq, matrix, alerts))
    })
    .await?;
    let page = layout::page(
        "Matrix",
        Some(&viewer),
        Nav::Matrix,
        home_content(matrix, &filter, seq, &alerts),
    );
    let mut resp = page.into_response();
    if let Some(value) = keep {
        let max_age = if value.is_empty() { 0 } else { 31_536_000 };
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{FILTER_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
        )) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// The matrix page's content (the benchmark renders it alone): the filter form, then the
/// matrix of `matrix` under `filter`, marked live (with the outbox position `seq`) unless it
/// is as of a past instant, with the `max_skew` rules' `alerts`: listed above the matrix, and
/// each lagging cell marked `data-skew="at_limit"` or `"exceeded"` with a "behind" chip.
pub fn home_content(
    mut matrix: StateMatrix,
    filter: &Filter,
    seq: i64,
    alerts: &[SkewAlert],
) -> Markup {
    let lagging: HashMap<(&str, &str), &SkewAlert> = alerts
        .iter()
        .map(|a| ((a.skew.product_name.as_str(), a.skew.behind.as_str()), a))
        .collect();
    let all_environments = matrix.environments.clone();
    let environments: Vec<String> = matrix
        .environments
        .iter()
        .filter(|e| filter.shows_environment(e))
        .cloned()
        .collect();
    let products: Vec<String> = matrix
        .products
        .iter()
        .filter(|p| filter.shows_product(p))
        .cloned()
        .collect();
    let mut types: HashMap<String, EnvironmentType> = HashMap::new();
    for c in &matrix.cells {
        types
            .entry(c.environment_name.clone())
            .or_insert(c.environment_type);
    }
    matrix.cells.retain(|c| {
        filter.shows_environment(&c.environment_name) && filter.shows_product(&c.product_name)
    });
    let drift: HashSet<String> = matrix.drift().into_iter().map(|d| d.product_name).collect();
    let cells: HashMap<(&str, &str), &StateCell> = matrix
        .cells
        .iter()
        .map(|c| ((c.product_name.as_str(), c.environment_name.as_str()), c))
        .collect();
    let at = matrix.at;
    let at_value = at.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string());
    let at_text = at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let cell_link = |p: &str, e: &str| {
        format!(
            "/ui/cell?{}",
            query_string([
                ("product", p),
                ("environment", e),
                ("at", at_text.as_deref().unwrap_or("")),
            ])
        )
    };
    html! {
        div.titlebar {
            h1 { "What's deployed where" }
            @match at {
                Some(t) => p.asof { "As of " (layout::time(t)) ". " a href="/" { "Back to now" } }
                None => p.asof { span.livedot aria-hidden="true" {} "Live: updates as events arrive." }
            }
        }
        form.filters method="get" action="/" {
            input type="hidden" name="filter" value="1";
            div.field {
                label for="f-product" { "Product" }
                input #f-product type="search" name="product" value=(filter.product) placeholder="name contains…";
            }
            details.field open[!filter.environments.is_empty()] {
                summary { "Environments"
                    @if filter.environments.is_empty() { " (all)" } @else { " (" (filter.environments.len()) ")" } }
                div.checks {
                    @for e in &all_environments {
                        label {
                            input type="checkbox" name="environment" value=(e) checked[filter.environments.contains(e)];
                            " " (e)
                        }
                    }
                }
            }
            div.field {
                label for="f-at" { "As of (UTC)" }
                input #f-at type="datetime-local" name="at" step="1" value=[at_value.as_deref()];
            }
            div.actions {
                button type="submit" { "Apply" }
                a.button.secondary href="/?filter=1" { "Clear" }
            }
        }
        div #live data-live=[at.is_none().then_some("matrix")] data-seq=(seq) {
            @if products.is_empty() {
                p.empty {
                    @if matrix.products.is_empty() {
                        "Nothing is deployed yet. Record a deployment (" code { "versioner track deployment" } " or "
                        code { "POST /deployment-events/" } ") and it appears here."
                    } @else { "No product matches the filters." }
                }
            } @else {
                @if !alerts.is_empty() {
                    ul.skew-alerts aria-label="Environments falling behind" {
                        @for a in alerts {
                            li data-skew-rule=(a.rule_name) data-product=(a.skew.product_name) data-skew=(skew_state(a)) {
                                span.chip.bad { (if a.state == SkewState::Exceeded { "over the limit" } else { "at the limit" }) }
                                " " strong { (a.skew.behind) } " is " (a.skew.versions_behind) " version"
                                @if a.skew.versions_behind != 1 { "s" }
                                " behind " strong { (a.skew.ahead) } " for " strong { (a.skew.product_name) }
                                @if let Some(since) = a.skew.behind_since { " since " (layout::time(since)) }
                                " (rule " a href="/ui/rules" { (a.rule_name) }
                                @if let Some(max) = a.max_versions { ": at most " (max) }
                                @if a.rule_status == versioner_core::RuleStatus::ReportOnly { ", report-only" }
                                ")"
                            }
                        }
                    }
                }
                p.legend {
                    span.chip.run { "deploying" } " in progress · "
                    span.chip.bad { "failed" } " last attempt failed · "
                    span.chip.drift { "drift" } " environments hold different versions"
                }
                div.scroll tabindex="0" role="region" aria-label="Environment state matrix" {
                    table.matrix {
                        thead {
                            tr {
                                th scope="col" { "Product" }
                                @for e in &environments {
                                    th scope="col" data-environment=(e) {
                                        (e)
                                        @let ty = types.get(e).map_or("", |t| t.as_str());
                                        @if ty != e { br; span.etype { (ty) } }
                                    }
                                }
                            }
                        }
                        tbody {
                            @for p in &products {
                                @let drifted = drift.contains(p);
                                tr data-product=(p) data-drift=[drifted.then_some("true")] {
                                    th scope="row" {
                                        a href={ "/ui/products/" (super::segment(p)) } { (p) }
                                        @if drifted { " " span.chip.drift { "drift" } }
                                    }
                                    @for e in &environments {
                                        @let lag = lagging.get(&(p.as_str(), e.as_str())).copied();
                                        @match cells.get(&(p.as_str(), e.as_str())) {
                                            Some(c) => (cell_td(c, &cell_link(p, e), lag)),
                                            None => td data-environment=(e) data-version="" data-skew=[lag.map(skew_state)] {
                                                span.none { "—" }
                                                @if let Some(a) = lag { " " span.chip.bad { "behind " (a.skew.versions_behind) } }
                                            },
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
}

/// A skew alert's state as its `data-skew` value.
fn skew_state(a: &SkewAlert) -> &'static str {
    match a.state {
        SkewState::AtLimit => "at_limit",
        SkewState::Exceeded => "exceeded",
    }
}

fn cell_td(c: &StateCell, href: &str, lag: Option<&SkewAlert>) -> Markup {
    let version = c.current.as_ref().map_or("", |d| d.version.as_str());
    let class = match (c.last_failed.is_some(), c.in_progress.is_empty()) {
        (true, _) => "bad",
        (false, false) => "run",
        (false, true) => "",
    };
    html! {
        td data-environment=(c.environment_name) data-version=(version) class=[(!class.is_empty()).then_some(class)] data-skew=[lag.map(skew_state)] {
            a href=(href) {
                @if version.is_empty() { span.none { "none" } } @else { (version) }
            }
            @for ip in &c.in_progress { " " span.chip.run { "deploying " (ip.version) } }
            @if let Some(f) = &c.last_failed { " " span.chip.bad { (f.status.as_str()) " " (f.version) } }
            @if let Some(a) = lag {
                " " span.chip.bad title=(format!("{} versions behind {} (rule {})", a.skew.versions_behind, a.skew.ahead, a.rule_name)) {
                    "behind " (a.skew.versions_behind)
                }
            }
        }
    }
}

/// `GET /ui/cell?product=…&environment=…[&at=…]`: one product in one environment — the
/// current version, its SHA, build number, who and when, CI links, the verdict that admitted
/// it (its decision record), what is in progress, and the cell's history.
pub async fn cell(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let product = q
        .get("product")
        .ok_or_else(|| PageError::from(versioner_core::Error::invalid("product", "is required")))?;
    let environment = q.get("environment").ok_or_else(|| {
        PageError::from(versioner_core::Error::invalid("environment", "is required"))
    })?;
    let at = q.instant("at")?;
    let (p, e) = (product.clone(), environment.clone());
    let detail = core(&state, &viewer, move |vr| {
        let seq = vr.last_event_seq()?;
        let cell = vr.state_cell(&p, &e, at)?;
        let current = cell.as_ref().and_then(|c| c.current.clone());
        let (deployment, version, decision) = match &current {
            Some(d) => (
                Some(vr.deployment(&d.deployment_id)?),
                Some(vr.version(&p, &d.version)?),
                vr.decision_for_deployment(&d.deployment_id)?,
            ),
            None => (None, None, None),
        };
        let mut query = HistoryQuery::new().product(&p).environment(&e).limit(25);
        if let Some(t) = at {
            query = query.until(t + chrono::TimeDelta::seconds(1));
        }
        let history = vr.history(&query)?;
        // The buttons of the current version that deploy to this environment.
        let buttons = match &current {
            Some(d) => vr
                .version_buttons(&p, &d.version)?
                .into_iter()
                .filter(|b| b.environment == e)
                .collect(),
            None => Vec::new(),
        };
        Ok(CellDetail {
            seq,
            cell,
            deployment,
            version,
            decision,
            history,
            buttons,
        })
    })
    .await?;
    Ok(layout::page(
        &format!("{product} in {environment}"),
        Some(&viewer),
        Nav::Matrix,
        cell_content(&product, &environment, at, &detail),
    )
    .into_response())
}

struct CellDetail {
    seq: i64,
    cell: Option<StateCell>,
    deployment: Option<versioner_core::Deployment>,
    version: Option<versioner_core::Version>,
    decision: Option<versioner_core::DecisionRecord>,
    history: Vec<versioner_core::Deployment>,
    buttons: Vec<versioner_core::buttons::RenderedButton>,
}

fn cell_content(
    product: &str,
    environment: &str,
    at: Option<DateTime<Utc>>,
    d: &CellDetail,
) -> Markup {
    let current = d.cell.as_ref().and_then(|c| c.current.as_ref());
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/" { "Matrix" } " / "
            a href={ "/ui/products/" (super::segment(product)) } { (product) } " / " (environment)
        }
        h1 { (product) " in " (environment) }
        @if let Some(t) = at { p.asof { "As of " (layout::time(t)) } }
        div #live data-live=[at.is_none().then_some("cell")] data-seq=(d.seq) {
            section aria-labelledby="current-h" {
                h2 #current-h { "Current version" }
                @match (current, &d.deployment, &d.version) {
                    (Some(cur), Some(dep), Some(ver)) => {
                        dl.facts {
                            dt { "Version" } dd.big data-version=(cur.version) {
                                a href={ "/ui/products/" (super::segment(product)) "/versions/" (super::segment(&cur.version)) } { (cur.version) }
                            }
                            dt { "Status" } dd { (layout::status(cur.status)) }
                            dt { "SHA" } dd { code { (layout::text(ver.scm_sha.as_deref().or(cur.scm_sha.as_deref()))) } }
                            dt { "Build number" } dd { (layout::text(ver.build_number.as_deref().or(dep.fields.build_number.as_deref()))) }
                            dt { "Branch" } dd { (layout::text(ver.scm_branch.as_deref().or(dep.fields.scm_branch.as_deref()))) }
                            dt { "Built by" } dd { (layout::text(ver.built_by.as_deref())) }
                            dt { "Deployed by" } dd { (layout::text(cur.deployed_by.as_deref())) }
                            dt { "Recorded by" } dd { (layout::text(dep.fields.recorded_by.as_deref())) }
                            dt { "Deployed at" } dd { (layout::time(cur.deployed_at)) }
                            dt { "CI" } dd {
                                "deploy run: " (layout::link(dep.fields.deploy_url.as_deref(), "open"))
                                " · build: " (layout::link(dep.fields.build_url.as_deref().or(ver.build_url.as_deref()), "open"))
                                @if let Some(s) = &dep.fields.source_system { " · " (s) }
                            }
                        }
                        h3 { "The verdict that admitted it" }
                        @match (&d.decision, &dep.preflight) {
                            (Some(rec), _) => {
                                p {
                                    "Decision " code { (rec.id) } ": " strong { (rec.outcome.as_str()) }
                                    " for " (layout::text(rec.actor.as_deref())) ", recorded " (layout::time(rec.recorded_at))
                                    ", policy " code title=(rec.policy_hash) { (rec.policy_hash.get(..12).unwrap_or(&rec.policy_hash)) }
                                }
                                @if let Some(p) = &dep.preflight { @if let Some(r) = &p.bypass_reason { p.warn { "Emergency bypass: " (r) } } }
                                (layout::verdict(&rec.verdict))
                            }
                            (None, Some(p)) => {
                                @if let Some(r) = &p.bypass_reason { p.warn { "Emergency bypass: " (r) } }
                                (layout::verdict(&p.verdict))
                            }
                            (None, None) => p.muted { "Recorded without a preflight (no " code { "started" } " event was checked)." }
                        }
                    }
                    _ => p.empty { "Nothing has been deployed here successfully" @if at.is_some() { " by then" } "." }
                }
            }
            @if let Some(c) = &d.cell {
                @if !c.in_progress.is_empty() || c.last_failed.is_some() {
                    section aria-labelledby="now-h" {
                        h2 #now-h { "In flight" }
                        ul {
                            @for ip in &c.in_progress {
                                li { span.chip.run { (ip.status.as_str()) } " " (ip.version) " by " (layout::text(ip.deployed_by.as_deref())) ", since " (layout::time(ip.deployed_at)) }
                            }
                            @if let Some(f) = &c.last_failed {
                                li { span.chip.bad { "last attempt " (f.status.as_str()) } " " (f.version) " by " (layout::text(f.deployed_by.as_deref())) ", " (layout::time(f.deployed_at)) }
                            }
                        }
                    }
                }
            }
            @if current.is_some() {
                section aria-labelledby="buttons-h" {
                    h2 #buttons-h { "Deploy" }
                    (layout::buttons(&d.buttons))
                }
            }
            section aria-labelledby="history-h" {
                h2 #history-h { "History" }
                (super::deployments::history_table(&d.history, false))
                p { a href={ "/ui/deployments?" (query_string([("product", product), ("environment", environment)])) } { "All deployments of " (product) " to " (environment) } }
            }
        }
    }
}
