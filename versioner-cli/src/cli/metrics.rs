//! `versioner metrics dora`: the four keys over a range, from the core's one query.

use serde_json::{Map, Value, json};
use versioner_core::insights::{Band, DoraReport};
use versioner_core::wire;

use super::args::DoraArgs;
use super::output::table;
use super::{Context, Usage};
use crate::exit::Exit;

/// `versioner metrics dora`.
pub fn dora(ctx: &mut Context<'_, '_>, a: &DoraArgs) -> Exit {
    let mut filter = Map::new();
    filter.insert("since".into(), json!(a.since));
    filter.insert("until".into(), json!(a.until));
    let optional = [
        ("product", &a.product),
        ("frequency", &a.frequency),
        ("rollbacks", &a.rollbacks),
        ("by", &a.by),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            filter.insert(key.into(), json!(v));
        }
    }
    if !a.environment.is_empty() {
        filter.insert("environment".into(), json!(a.environment));
    }
    let query = match wire::dora_query(&Value::Object(filter)) {
        Ok(q) => q,
        Err(e) => {
            let flag = e.field().unwrap_or("since").to_string();
            return ctx.usage(&Usage(format!("--{flag}: {e}")));
        }
    };
    let t = match ctx.tracker() {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return ctx.fail(&e),
        Err(u) => return ctx.usage(&u),
    };
    let report = match t.dora(&query) {
        Ok(r) => r,
        Err(e) => return ctx.fail(&e),
    };
    if ctx.console.json() {
        ctx.console
            .print_json(&serde_json::to_value(&report).unwrap_or(Value::Null));
        return Exit::Success;
    }
    ctx.console.out(&summary(&report));
    Exit::Success
}

/// The report as a table of the four figures and their bands, then the series.
fn summary(r: &DoraReport) -> String {
    let band = |b: Option<Band>| {
        b.map_or("-".to_string(), |b| {
            json!(b).as_str().unwrap_or("-").to_string()
        })
    };
    let secs = |s: Option<f64>| s.map_or("-".to_string(), human);
    let rows = vec![
        vec![
            "deployment frequency".into(),
            format!(
                "{:.2}/day ({} deployments; {:.2} deployment days/week)",
                r.deployment_frequency.per_day,
                r.deployment_frequency.count,
                r.deployment_frequency.deployment_days_per_week
            ),
            band(Some(r.bands.deployment_frequency)),
        ],
        vec![
            "lead time".into(),
            format!(
                "median {}, p90 {} ({} versions)",
                secs(r.lead_time.median_seconds),
                secs(r.lead_time.p90_seconds),
                r.lead_time.count
            ),
            band(r.bands.lead_time),
        ],
        vec![
            "change failure rate".into(),
            match r.change_failure_rate {
                Some(rate) => format!(
                    "{:.1}% ({} of {} finished)",
                    rate * 100.0,
                    r.change_failures.failed,
                    r.change_failures.finished
                ),
                None => "- (no finished deployment)".into(),
            },
            band(r.bands.change_failure_rate),
        ],
        vec![
            "time to restore".into(),
            format!(
                "median {}, p90 {} ({} restored, {} unrestored)",
                secs(r.time_to_restore.median_seconds),
                secs(r.time_to_restore.p90_seconds),
                r.time_to_restore.count,
                r.time_to_restore.unrestored
            ),
            band(r.bands.time_to_restore),
        ],
    ];
    let scope = if r.environments.is_empty() {
        "no environment of type production".to_string()
    } else {
        r.environments.join(", ")
    };
    let mut out = format!(
        "{} in {scope}, [{}, {})\n{}",
        r.product.as_deref().unwrap_or("every product"),
        r.since.to_rfc3339(),
        r.until.to_rfc3339(),
        table(&["FIGURE", "VALUE", "BAND"], &rows)
    );
    if let Some(series) = &r.series {
        let rows: Vec<Vec<String>> = series
            .iter()
            .map(|f| {
                vec![
                    f.since.date_naive().to_string(),
                    f.deployment_frequency.count.to_string(),
                    secs(f.lead_time.median_seconds),
                    f.change_failure_rate
                        .map_or("-".into(), |c| format!("{:.1}%", c * 100.0)),
                    secs(f.time_to_restore.median_seconds),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &[
                "WEEK",
                "DEPLOYMENTS",
                "LEAD_TIME",
                "FAILURE_RATE",
                "RESTORE",
            ],
            &rows,
        ));
    }
    out
}

/// Seconds as a short duration (`3d 4h`, `2h 5m`, `40s`).
fn human(secs: f64) -> String {
    let s = secs.round() as i64;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{s}s")
    }
}
