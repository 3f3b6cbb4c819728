//! Schedule: deny windows (no-deploy) and allow windows (deploy only during).

use serde_json::{Map, Value};

use super::Needs;
use crate::policy::facts::Facts;
use crate::policy::rule::Parser;
use crate::policy::window::{Recurrence, parse_local_time, parse_weekday};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use crate::policy::BlockCode;
use crate::policy::Check;
use crate::policy::window::{Calendar, Occurrence};

/// Deny (no-deploy) or allow (deploy-only-during) windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WindowMode {
    /// Deployments are refused inside the windows.
    #[default]
    Deny,
    /// Deployments are refused outside the windows.
    Allow,
}

/// One window of a schedule rule.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDef {
    /// An optional label shown when the window blocks.
    pub name: Option<String>,
    /// When it recurs.
    pub recurrence: Recurrence,
}

/// Time windows in one IANA zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRule {
    /// Deny or allow.
    pub mode: WindowMode,
    /// The zone the windows' wall-clock times are in.
    pub timezone: Tz,
    /// Why (shown when blocked).
    pub reason: Option<String>,
    /// The windows.
    pub windows: Vec<WindowDef>,
}

impl ScheduleRule {
    pub(crate) const FIELDS: &'static [&'static str] = &["mode", "timezone", "reason", "windows"];

    pub(crate) fn parse(p: &mut Parser<'_>) -> ScheduleRule {
        parse_schedule(p)
    }

    pub(crate) fn write_json(&self, m: &mut Map<String, Value>) {
        m.insert(
            "mode".into(),
            json!(match self.mode {
                WindowMode::Deny => "deny",
                WindowMode::Allow => "allow",
            }),
        );
        m.insert("timezone".into(), json!(self.timezone.name()));
        if let Some(r) = &self.reason {
            m.insert("reason".into(), json!(r));
        }
        let ws: Vec<Value> = self.windows.iter().map(window_to_json).collect();
        m.insert("windows".into(), Value::Array(ws));
    }

    pub(crate) fn needs(&self, _needs: &mut Needs) {}

    pub(crate) fn evaluate(&self, rule_name: &str, _facts: &Facts, at: DateTime<Utc>) -> Check {
        evaluate(
            rule_name,
            self.mode,
            self.timezone,
            self.reason.as_deref(),
            &self.windows,
            at,
        )
    }
}

fn parse_schedule(p: &mut Parser<'_>) -> ScheduleRule {
    let mode = match p.opt_string("mode").as_deref() {
        None | Some("deny") => WindowMode::Deny,
        Some("allow") => WindowMode::Allow,
        Some(other) => {
            p.push(
                "mode",
                format!("unknown mode `{other}`; expected deny or allow"),
            );
            WindowMode::Deny
        }
    };
    let timezone = match p.opt_string("timezone") {
        None => Tz::UTC,
        Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
            p.push(
                "timezone",
                format!("unknown time zone `{name}`; use an IANA name such as Europe/London"),
            );
            Tz::UTC
        }),
    };
    let reason = p.opt_string("reason");
    let mut windows = Vec::new();
    match p.obj.get("windows") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if let Some(w) = window(p, i, item) {
                    windows.push(w);
                }
            }
        }
        _ => p.push("windows", "must list at least one window".into()),
    }
    ScheduleRule {
        mode,
        timezone,
        reason,
        windows,
    }
}

fn window(p: &mut Parser<'_>, i: usize, item: &Value) -> Option<WindowDef> {
    let field = |f: &str| format!("windows[{i}].{f}");
    let Some(w) = item.as_object() else {
        p.push(&format!("windows[{i}]"), "must be a table/object".into());
        return None;
    };
    for key in w.keys() {
        if ![
            "name",
            "recurrence",
            "days",
            "days_of_month",
            "start",
            "end",
        ]
        .contains(&key.as_str())
        {
            p.push(
                &field(key),
                "unknown field; known: name, recurrence, days, days_of_month, start, end".into(),
            );
        }
    }
    let get = |k: &str| w.get(k).and_then(Value::as_str).map(str::trim);
    let name = get("name").filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(c) = name
        .as_deref()
        .and_then(|n| n.chars().find(|c| c.is_control()))
    {
        p.push(
            &field("name"),
            format!("contains the control character U+{:04X}", u32::from(c)),
        );
        return None;
    }
    let start_raw = get("start");
    let end_raw = get("end");
    let (Some(start_raw), Some(end_raw)) = (start_raw, end_raw) else {
        p.push(
            &field("start"),
            "both `start` and `end` are required".into(),
        );
        return None;
    };
    let time = |this: &mut Parser<'_>, f: &str, raw: &str| {
        parse_local_time(raw).or_else(|| {
            this.push(
                &field(f),
                format!("`{raw}` is not a time of day; write HH:MM (24-hour)"),
            );
            None
        })
    };
    let recurrence = match get("recurrence") {
        Some("daily") => {
            let (s, e) = (time(p, "start", start_raw)?, time(p, "end", end_raw)?);
            Recurrence::Daily { start: s, end: e }
        }
        Some("weekly") => {
            let mut days = Vec::new();
            match w.get("days") {
                Some(Value::Array(ds)) if !ds.is_empty() => {
                    for d in ds {
                        match d.as_str().and_then(parse_weekday) {
                            Some(day) if !days.contains(&day) => days.push(day),
                            Some(_) => {}
                            None => p.push(
                                &field("days"),
                                format!("`{}` is not a weekday; write mon, tue, wed, thu, fri, sat or sun", d.as_str().unwrap_or("?")),
                            ),
                        }
                    }
                }
                _ => p.push(
                    &field("days"),
                    "a weekly window needs `days`, e.g. [\"fri\"]".into(),
                ),
            }
            let (s, e) = (time(p, "start", start_raw)?, time(p, "end", end_raw)?);
            Recurrence::Weekly {
                days,
                start: s,
                end: e,
            }
        }
        Some("monthly") => {
            let mut dom = Vec::new();
            match w.get("days_of_month") {
                Some(Value::Array(ds)) if !ds.is_empty() => {
                    for d in ds {
                        match d
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .filter(|n| (1..=31).contains(n))
                        {
                            Some(n) if !dom.contains(&n) => dom.push(n),
                            Some(_) => {}
                            None => p.push(
                                &field("days_of_month"),
                                format!("`{d}` is not a day of month 1..31"),
                            ),
                        }
                    }
                }
                _ => p.push(
                    &field("days_of_month"),
                    "a monthly window needs `days_of_month`, e.g. [1, 15]".into(),
                ),
            }
            let (s, e) = (time(p, "start", start_raw)?, time(p, "end", end_raw)?);
            Recurrence::Monthly {
                days_of_month: dom,
                start: s,
                end: e,
            }
        }
        Some("once") => {
            let parse = |raw: &str| {
                chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
                    .ok()
            };
            let s = parse(start_raw);
            let e = parse(end_raw);
            match (s, e) {
                (Some(s), Some(e)) if e > s => Recurrence::Once { start: s, end: e },
                (Some(_), Some(_)) => {
                    p.push(&field("end"), "must be after `start`".into());
                    return None;
                }
                _ => {
                    p.push(
                        &field("start"),
                        "a one-time window needs local date-times like 2026-12-24T00:00".into(),
                    );
                    return None;
                }
            }
        }
        Some(other) => {
            p.push(
                &field("recurrence"),
                format!("unknown recurrence `{other}`; expected once, daily, weekly or monthly"),
            );
            return None;
        }
        None => {
            p.push(
                &field("recurrence"),
                "is required: once, daily, weekly or monthly".into(),
            );
            return None;
        }
    };
    Some(WindowDef { name, recurrence })
}

fn window_to_json(w: &WindowDef) -> Value {
    let mut m = Map::new();
    if let Some(n) = &w.name {
        m.insert("name".into(), json!(n));
    }
    let hm = |t: &chrono::NaiveTime| t.format("%H:%M").to_string();
    match &w.recurrence {
        Recurrence::Once { start, end } => {
            m.insert("recurrence".into(), json!("once"));
            m.insert(
                "start".into(),
                json!(start.format("%Y-%m-%dT%H:%M").to_string()),
            );
            m.insert(
                "end".into(),
                json!(end.format("%Y-%m-%dT%H:%M").to_string()),
            );
        }
        Recurrence::Daily { start, end } => {
            m.insert("recurrence".into(), json!("daily"));
            m.insert("start".into(), json!(hm(start)));
            m.insert("end".into(), json!(hm(end)));
        }
        Recurrence::Weekly { days, start, end } => {
            m.insert("recurrence".into(), json!("weekly"));
            let names: Vec<String> = days
                .iter()
                .map(|d| d.to_string().to_ascii_lowercase())
                .collect();
            m.insert("days".into(), json!(names));
            m.insert("start".into(), json!(hm(start)));
            m.insert("end".into(), json!(hm(end)));
        }
        Recurrence::Monthly {
            days_of_month,
            start,
            end,
        } => {
            m.insert("recurrence".into(), json!("monthly"));
            m.insert("days_of_month".into(), json!(days_of_month));
            m.insert("start".into(), json!(hm(start)));
            m.insert("end".into(), json!(hm(end)));
        }
    }
    Value::Object(m)
}

pub(crate) fn evaluate(
    rule_name: &str,
    mode: WindowMode,
    timezone: Tz,
    reason: Option<&str>,
    windows: &[WindowDef],
    at: DateTime<Utc>,
) -> Check {
    let calendar = Calendar {
        timezone,
        windows: windows.iter().map(|w| w.recurrence.clone()).collect(),
    };
    let local = |t: DateTime<Utc>| t.with_timezone(&timezone).to_rfc3339();
    let label = |o: &Occurrence| {
        windows
            .get(o.window)
            .and_then(|w| w.name.clone())
            .unwrap_or_else(|| rule_name.to_string())
    };
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    match mode {
        WindowMode::Deny => match calendar.occurrence_at(at) {
            None => Check::pass(format!("outside every no-deploy window of `{rule_name}`")),
            Some(occ) => {
                let free = calendar.next_free(at);
                let mut c = Check::fail(
                    BlockCode::NoDeployWindow,
                    format!(
                        "no-deploy window `{}` is active from {} to {}{why}",
                        label(&occ),
                        local(occ.start),
                        local(occ.end),
                    ),
                )
                .detail("window_name", json!(label(&occ)))
                .detail("window_start", json!(local(occ.start)))
                .detail("window_end", json!(local(occ.end)))
                .detail("timezone", json!(timezone.name()))
                .detail("reason", json!(reason));
                c.retry_after = free;
                c
            }
        },
        WindowMode::Allow => match calendar.occurrence_at(at) {
            Some(occ) => Check::pass(format!(
                "inside allowed window `{}` ({} to {})",
                label(&occ),
                local(occ.start),
                local(occ.end)
            )),
            None => {
                let next = calendar.next_occurrence(at);
                let message = match &next {
                    Some(n) => format!(
                        "deployments are allowed only during the windows of `{rule_name}`{why}; the next one, `{}`, opens at {} and closes at {}",
                        label(n),
                        local(n.start),
                        local(n.end)
                    ),
                    None => format!(
                        "deployments are allowed only during the windows of `{rule_name}`{why}, and none opens again; change the rule to deploy"
                    ),
                };
                let mut c = Check::fail(BlockCode::NoDeployWindow, message)
                    .detail(
                        "window_name",
                        json!(next.as_ref().map_or_else(|| rule_name.to_string(), label)),
                    )
                    .detail("window_start", json!(next.map(|n| local(n.start))))
                    .detail("window_end", json!(next.map(|n| local(n.end))))
                    .detail("timezone", json!(timezone.name()))
                    .detail("reason", json!(reason))
                    .detail("mode", json!("allow"));
                c.retry_after = next.map(|n| n.start.max(at));
                c
            }
        },
    }
}
