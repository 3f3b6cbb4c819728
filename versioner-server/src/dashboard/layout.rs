//! What every page shares: the document, the header with its navigation and the signed-in
//! principal, and the small pieces pages are made of (instants, statuses, verdicts).

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use versioner_core::policy::OutcomeStatus;
use versioner_core::{Status, Verdict};

use super::Viewer;

/// Which entry of the navigation is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The matrix (and a cell).
    Matrix,
    /// Deployments and decisions.
    Deployments,
    /// Products and versions.
    Products,
    /// Deployment Requests.
    Requests,
    /// Rules.
    Rules,
    /// Insights (the four keys).
    Insights,
    /// The what-if form.
    Check,
    /// None (sign-in, errors).
    None,
}

const ENTRIES: [(Nav, &str, &str); 7] = [
    (Nav::Matrix, "/", "Matrix"),
    (Nav::Deployments, "/ui/deployments", "Deployments"),
    (Nav::Products, "/ui/products", "Products"),
    (Nav::Requests, "/ui/requests", "Requests"),
    (Nav::Rules, "/ui/rules", "Rules"),
    (Nav::Insights, "/ui/insights", "Insights"),
    (Nav::Check, "/ui/check", "What if"),
];

/// A whole page: `title`, the header (navigation and who is signed in, when `viewer` is
/// given) and `content` as the page's main landmark.
pub fn page(title: &str, viewer: Option<&Viewer>, nav: Nav, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Versioner" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/ui/assets/app.css";
                script src="/ui/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Versioner" }
                    @if let Some(v) = viewer {
                        nav aria-label="Pages" {
                            ul {
                                @for (entry, href, label) in ENTRIES {
                                    li {
                                        @if entry == nav {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            @match v.principal() {
                                Some(p) => {
                                    span { (p) " " span.role { (v.role().as_str()) } }
                                    form method="post" action="/ui/sign-out" {
                                        input type="hidden" name="csrf" value=(v.csrf());
                                        button.link type="submit" { "Sign out" }
                                    }
                                }
                                None => { span.role title="started with --no-auth" { "open (no sign-in)" } }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (content) }
            }
        }
    }
}

/// An instant, as `2026-11-20 13:00:05 UTC` in a `<time>` element.
pub fn time(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (t.format("%Y-%m-%d %H:%M:%S UTC"))
        }
    }
}

/// An optional instant (`—` when absent).
pub fn maybe_time(t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { "—" },
    }
}

/// Optional text (`—` when absent).
pub fn text(s: Option<&str>) -> Markup {
    html! { @match s { Some(s) if !s.is_empty() => (s), _ => "—" } }
}

/// A link to `href` when it is an http(s) URL, the text otherwise (`—` when absent).
pub fn link(href: Option<&str>, label: &str) -> Markup {
    html! {
        @match href {
            Some(h) if h.starts_with("https://") || h.starts_with("http://") => {
                a href=(h) rel="noopener noreferrer" { (label) }
            }
            Some(h) => (h),
            None => "—",
        }
    }
}

/// A deployment status as a labelled chip.
pub fn status(s: Status) -> Markup {
    let class = match s {
        Status::Completed => "chip ok",
        Status::Failed | Status::Aborted => "chip bad",
        Status::Pending | Status::Started => "chip run",
    };
    html! { span class=(class) { (s.as_str()) } }
}

fn outcome_class(s: OutcomeStatus) -> &'static str {
    match s {
        OutcomeStatus::Passed => "chip ok",
        OutcomeStatus::Failed => "chip bad",
        OutcomeStatus::FailedReportOnly => "chip warn",
        _ => "chip",
    }
}

/// A verdict: the decision, the primary code, `retry_after`, and every rule's outcome.
pub fn verdict(v: &Verdict) -> Markup {
    html! {
        div.verdict {
            p {
                @if v.is_allowed() {
                    span.chip.ok { "allowed" }
                } @else {
                    span.chip.bad { "blocked" }
                }
                @if let Some(code) = v.code() {
                    " " code { (code.as_str()) }
                    @if let Some(h) = v.http_status() { " (HTTP " (h) ")" }
                }
                " evaluated " (time(v.evaluated_at()))
                @if let Some(r) = v.retry_after() { ". Retry after " (time(r)) }
            }
            @if v.outcomes().is_empty() {
                p.muted { "No rule applied." }
            } @else {
                div.scroll tabindex="0" role="region" aria-label="Rule outcomes" {
                    table.outcomes {
                        thead { tr { th scope="col" { "Rule" } th scope="col" { "Type" } th scope="col" { "Outcome" } th scope="col" { "Message" } th scope="col" { "Retry after" } } }
                        tbody {
                            @for o in v.outcomes() {
                                tr {
                                    td { a href={ "/ui/rules#" (rule_anchor(&o.rule_name)) } { (o.rule_name) } }
                                    td { (o.rule_type.as_str()) }
                                    td { span class=(outcome_class(o.status)) { (o.status.as_str()) } }
                                    td { (o.message) }
                                    td { (maybe_time(o.retry_after)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The id of a rule's row on the rules page.
pub fn rule_anchor(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("rule-{slug}")
}

/// Deployment buttons rendered for a version: a link per button and environment, or why it has
/// no URL (a variable without a value). `data-button` and `data-environment` name each.
pub fn buttons(list: &[versioner_core::buttons::RenderedButton]) -> Markup {
    html! {
        @if list.is_empty() {
            p.muted { "No deployment button. Add one with " code { "versioner buttons add" } "." }
        } @else {
            ul.buttons {
                @for b in list {
                    li data-button=(b.name) data-environment=(b.environment) {
                        @match (&b.url, &b.error) {
                            (Some(url), _) => {
                                a.button href=(url) rel="noopener noreferrer" target="_blank" {
                                    (b.name) " → " (b.environment)
                                }
                            }
                            (None, e) => {
                                span.chip { (b.name) " → " (b.environment) }
                                " " span.muted { (e.as_deref().unwrap_or("no URL")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
