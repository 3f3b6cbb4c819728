//! `versioner calendar`: the rules' effective calendar, expanded by the core, rendered as a
//! table, JSON or an iCalendar feed.

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use versioner_core::policy::calendar::{CalendarScope, expand};

use super::args::CalendarArgs;
use super::output::table;
use super::{Context, Usage};
use crate::exit::Exit;

/// `versioner calendar`.
pub fn run(ctx: &mut Context<'_, '_>, a: &CalendarArgs) -> Exit {
    let format = a.format.trim().to_ascii_lowercase();
    if !["table", "json", "ics"].contains(&format.as_str()) {
        return ctx.usage(&Usage(format!(
            "--format `{}`: expected table, json or ics",
            a.format
        )));
    }
    if !(1..=800).contains(&a.days) {
        return ctx.usage(&Usage(format!("--days {}: expected 1 to 800", a.days)));
    }
    let from = match a.from.as_deref() {
        Some(v) => match DateTime::parse_from_rfc3339(v.trim()) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                return ctx.usage(&Usage(format!(
                    "--from `{v}` is not an RFC 3339 timestamp (e.g. 2026-11-21T09:30:00Z)"
                )));
            }
        },
        None => {
            let now = Utc::now();
            now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now)
        }
    };
    let to = from + TimeDelta::days(i64::from(a.days));
    let tracker = match ctx.tracker() {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return ctx.fail(&e),
        Err(u) => return ctx.usage(&u),
    };
    let stored = match tracker.rules() {
        Ok(r) => r,
        Err(e) => return ctx.fail(&e),
    };
    let rules: Vec<_> = stored.into_iter().map(|s| s.rule).collect();
    let scope = CalendarScope {
        product: a.product.clone(),
        environment: a.environment.clone(),
    };
    let calendar = expand(&rules, &scope, from, to);
    match format.as_str() {
        "json" => {
            ctx.console
                .print_json(&serde_json::to_value(&calendar).unwrap_or_default());
        }
        "ics" => {
            let name = match (&a.product, &a.environment) {
                (Some(p), Some(e)) => format!("Deployments: {p} to {e}"),
                (None, Some(e)) => format!("Deployments to {e}"),
                (Some(p), None) => format!("Deployments of {p}"),
                (None, None) => "Deployments".to_string(),
            };
            ctx.console.raw(&calendar.to_ics(&name));
        }
        _ => {
            let t = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
            let mut rows: Vec<Vec<String>> = Vec::new();
            for (kind, list) in [
                ("deny", &calendar.deny),
                ("allow", &calendar.allow),
                ("closed", &calendar.closed),
                ("open", &calendar.open),
            ] {
                for i in list {
                    rows.push(vec![
                        kind.to_string(),
                        t(i.start),
                        t(i.end),
                        i.rule.clone().unwrap_or_else(|| "-".into()),
                        i.window.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
            }
            ctx.console.out(&format!(
                "Calendar from {} to {} ({} day(s))",
                t(from),
                t(to),
                a.days
            ));
            if rows.is_empty() {
                ctx.console.out("(no schedule rules apply: always open)");
            } else {
                ctx.console
                    .out(&table(&["KIND", "START", "END", "RULE", "WINDOW"], &rows));
            }
        }
    }
    Exit::Success
}
