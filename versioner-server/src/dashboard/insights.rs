//! Insights: the four keys (DORA metrics) for a product and environments over a period, as the
//! core's `dora` query computes them (the same figures as `versioner metrics dora` and
//! `GET /metrics/dora`), with their bands and, by week, the series.

use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{TimeDelta, Utc};
use maud::{Markup, html};
use versioner_core::insights::{Band, DoraQuery, DoraReport, SeriesInterval};
use versioner_core::policy::humanize_duration;

use super::layout::{self, Nav};
use super::{Fields, Page, Viewer, core};
use crate::AppState;

fn band(b: Option<Band>) -> Markup {
    let (class, label) = match b {
        Some(Band::Elite) => ("chip ok", "elite"),
        Some(Band::High) => ("chip ok", "high"),
        Some(Band::Medium) => ("chip warn", "medium"),
        Some(Band::Low) => ("chip bad", "low"),
        None => ("chip", "no data"),
    };
    html! { span class=(class) data-band=(label) { (label) } }
}

fn seconds(s: Option<f64>) -> String {
    match s {
        Some(v) if v.is_finite() && v >= 0.0 => {
            // INVARIANT: a finite, non-negative figure of seconds; whole seconds suffice here.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked above"
            )]
            let whole = v.round() as u64;
            humanize_duration(std::time::Duration::from_secs(whole))
        }
        _ => "—".to_string(),
    }
}

fn figures(r: &DoraReport) -> Markup {
    let f = &r.deployment_frequency;
    html! {
        div.keys {
            section.key data-key="deployment_frequency" {
                h2 { "Deployment frequency" }
                p.big { (format!("{:.2}", f.per_day)) " / day" }
                p.muted { (f.count) " deployments on " (f.deployment_days) " days (" (format!("{:.1}", f.deployment_days_per_week)) " days a week)" }
                (band(Some(r.bands.deployment_frequency)))
            }
            section.key data-key="lead_time" {
                h2 { "Lead time for changes" }
                p.big { (seconds(r.lead_time.median_seconds)) }
                p.muted { "median of " (r.lead_time.count) "; p90 " (seconds(r.lead_time.p90_seconds)) }
                (band(r.bands.lead_time))
            }
            section.key data-key="change_failure_rate" {
                h2 { "Change failure rate" }
                p.big { @match r.change_failure_rate { Some(v) => { (format!("{:.1} %", v * 100.0)) }, None => "—" } }
                p.muted { (r.change_failures.failed) " failed, " (r.change_failures.rolled_back) " rolled back, of " (r.change_failures.finished) " finished" }
                (band(r.bands.change_failure_rate))
            }
            section.key data-key="time_to_restore" {
                h2 { "Time to restore" }
                p.big { (seconds(r.time_to_restore.median_seconds)) }
                p.muted { "median of " (r.time_to_restore.count) "; " (r.time_to_restore.unrestored) " not restored yet" }
                (band(r.bands.time_to_restore))
            }
        }
    }
}

/// `GET /ui/insights?product=&environment=&days=`: the four keys over the last `days` (30 by
/// default, 1 to 365), for a product (all by default) and environments (every production one
/// by default, as the core decides), with a weekly series.
pub async fn page(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let days: i64 = match q.get("days") {
        None => 30,
        Some(d) => d
            .parse()
            .ok()
            .filter(|n| (1..=365).contains(n))
            .ok_or_else(|| {
                super::PageError::from(versioner_core::Error::invalid(
                    "days",
                    format!("`{d}` is not a whole number of days from 1 to 365"),
                ))
            })?,
    };
    let until = Utc::now();
    let mut query = DoraQuery::new(until - TimeDelta::days(days), until);
    if let Some(p) = q.get("product") {
        query = query.product(p);
    }
    for e in q.all("environment") {
        query = query.environment(e);
    }
    query.by = Some(SeriesInterval::Week);
    let (report, products, environments) = core(&state, &viewer, move |vr| {
        Ok((vr.dora(&query)?, vr.products()?, vr.environments()?))
    })
    .await?;
    let product = q.get("product").unwrap_or_default();
    let chosen = q.all("environment");
    let content = html! {
        h1 { "Insights: the four keys" }
        form.filters method="get" action="/ui/insights" {
            div.field {
                label for="i-product" { "Product" }
                select #i-product name="product" {
                    option value="" selected[product.is_empty()] { "all" }
                    @for p in &products { option value=(p.name) selected[p.name == product] { (p.name) } }
                }
            }
            div.field {
                label for="i-env" { "Environment (empty: production ones)" }
                select #i-env name="environment" {
                    option value="" selected[chosen.is_empty()] { "production environments" }
                    @for e in &environments { option value=(e.name) selected[chosen.contains(&e.name)] { (e.name) } }
                }
            }
            div.field {
                label for="i-days" { "Days" }
                input #i-days type="number" name="days" min="1" max="365" value=(days);
            }
            div.actions { button type="submit" { "Show" } }
        }
        p.muted {
            "From " (layout::time(report.since)) " to " (layout::time(report.until))
            " · environments: " @if report.environments.is_empty() { "none recorded" } @else { (report.environments.join(", ")) }
        }
        (figures(&report))
        @if let Some(series) = &report.series {
            section aria-labelledby="series-h" {
                h2 #series-h { "By week" }
                div.scroll tabindex="0" role="region" aria-label="Weekly figures" {
                    table.history {
                        thead { tr {
                            th scope="col" { "Week from" } th scope="col" { "Deployments" } th scope="col" { "Lead time (median)" }
                            th scope="col" { "Change failure rate" } th scope="col" { "Time to restore (median)" }
                        } }
                        tbody {
                            @for w in series {
                                tr {
                                    td { (layout::time(w.since)) }
                                    td { (w.deployment_frequency.count) }
                                    td { (seconds(w.lead_time.median_seconds)) }
                                    td { @match w.change_failure_rate { Some(v) => { (format!("{:.1} %", v * 100.0)) }, None => "—" } }
                                    td { (seconds(w.time_to_restore.median_seconds)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted { "The same figures: " code { "versioner metrics dora" } " and " code { "GET /metrics/dora" } "." }
    };
    Ok(layout::page("Insights", Some(&viewer), Nav::Insights, content).into_response())
}
