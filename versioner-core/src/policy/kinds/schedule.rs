//! Schedule: deny windows (no-deploy) and allow windows (deploy only during).

use serde_json::{Map, Value};

use super::Needs;
use crate::policy::Detail;
use crate::policy::facts::Facts;
use crate::policy::rule::Parser;
use crate::policy::window::{
    MAX_RULE_DURATION, RRULE_YEARS, Recurrence, parse_local_time, parse_weekday, rrule_set,
};
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

    pub(crate) fn evaluate(
        &self,
        rule_name: &str,
        _facts: &Facts,
        at: DateTime<Utc>,
        detail: Detail,
    ) -> Check {
        evaluate(
            rule_name,
            self.mode,
            self.timezone,
            self.reason.as_deref(),
            &self.windows,
            at,
            detail,
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
        if !WINDOW_FIELDS.contains(&key.as_str()) {
            p.push(
                &field(key),
                format!("unknown field; known: {}", WINDOW_FIELDS.join(", ")),
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
    if w.contains_key("holidays") {
        let recurrence = holidays(p, &field, w)?;
        return Some(WindowDef { name, recurrence });
    }
    if w.contains_key("rrule") {
        let recurrence = rule_window(p, &field, w)?;
        return Some(WindowDef { name, recurrence });
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
        Some("weekly") if start_raw.contains(' ') || end_raw.contains(' ') => {
            let (start_day, s) = day_and_time(p, &field("start"), start_raw)?;
            let (end_day, e) = day_and_time(p, &field("end"), end_raw)?;
            if w.contains_key("days") {
                p.push(
                    &field("days"),
                    "a window with a start and end day (`fri 17:00` to `mon 08:00`) takes no `days`".into(),
                );
            }
            Recurrence::WeeklySpan {
                start_day,
                start: s,
                end_day,
                end: e,
            }
        }
        Some("monthly") if w.contains_key("weekday") || w.contains_key("week") => {
            let weekday = match get("weekday").and_then(parse_weekday) {
                Some(d) => d,
                None => {
                    p.push(
                        &field("weekday"),
                        "a monthly window by weekday needs `weekday`: mon, tue, wed, thu, fri, sat or sun".into(),
                    );
                    return None;
                }
            };
            let week = match w.get("week").and_then(Value::as_i64) {
                Some(n @ (1..=5 | -5..=-1)) => i8::try_from(n).ok()?,
                _ => {
                    p.push(
                        &field("week"),
                        "must be 1 to 5 (the first to fifth in the month) or -1 to -5 (-1 is the last)".into(),
                    );
                    return None;
                }
            };
            if w.contains_key("days_of_month") {
                p.push(
                    &field("days_of_month"),
                    "a monthly window by weekday takes no `days_of_month`".into(),
                );
            }
            let (s, e) = (time(p, "start", start_raw)?, time(p, "end", end_raw)?);
            Recurrence::MonthlyWeekday {
                weekday,
                week,
                start: s,
                end: e,
            }
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

/// The keys a window may hold.
const WINDOW_FIELDS: &[&str] = &[
    "name",
    "recurrence",
    "days",
    "days_of_month",
    "weekday",
    "week",
    "start",
    "end",
    "rrule",
    "since",
    "duration",
    "exdates",
    "holidays",
    "holidays_file",
];

/// `fri 17:00`: a weekday and a local time.
fn day_and_time(
    p: &mut Parser<'_>,
    field: &str,
    raw: &str,
) -> Option<(chrono::Weekday, chrono::NaiveTime)> {
    let parsed = raw
        .split_once(' ')
        .and_then(|(d, t)| Some((parse_weekday(d.trim())?, parse_local_time(t.trim())?)));
    if parsed.is_none() {
        p.push(
            field,
            format!("`{raw}` is not a weekday and a time; write e.g. `fri 17:00` (24-hour)"),
        );
    }
    parsed
}

/// `{ rrule = "FREQ=...", start = "09:00", duration = "3h", exdates = [...], since = "..." }`.
fn rule_window(
    p: &mut Parser<'_>,
    field: &dyn Fn(&str) -> String,
    w: &Map<String, Value>,
) -> Option<Recurrence> {
    let get = |k: &str| w.get(k).and_then(Value::as_str).map(str::trim);
    for k in [
        "recurrence",
        "end",
        "days",
        "days_of_month",
        "weekday",
        "week",
    ] {
        if w.contains_key(k) {
            p.push(
                &field(k),
                "an `rrule` window takes `start`, `duration`, `exdates` and `since` only".into(),
            );
        }
    }
    let Some(rule) = get("rrule").filter(|r| !r.is_empty()) else {
        p.push(
            &field("rrule"),
            "must be an RFC 5545 rule such as `FREQ=MONTHLY;BYDAY=1MO`".into(),
        );
        return None;
    };
    let rule = rule.strip_prefix("RRULE:").unwrap_or(rule).to_string();
    let Some(start) = get("start").and_then(parse_local_time) else {
        p.push(
            &field("start"),
            "an `rrule` window needs `start` as HH:MM (24-hour)".into(),
        );
        return None;
    };
    let duration =
        match get("duration").map(|d| crate::policy::parse_duration(&field("duration"), d)) {
            Some(Ok(d)) if !d.is_zero() && d <= MAX_RULE_DURATION => d,
            Some(Ok(_)) => {
                p.push(
                    &field("duration"),
                    format!(
                        "must be more than 0s and at most {}",
                        crate::policy::format_duration(MAX_RULE_DURATION)
                    ),
                );
                return None;
            }
            Some(Err(e)) => {
                p.push(&field("duration"), crate::policy::reason_of(&e));
                return None;
            }
            None => {
                p.push(
                    &field("duration"),
                    "an `rrule` window needs `duration`, e.g. `3h`".into(),
                );
                return None;
            }
        };
    let since = match get("since") {
        None => DEFAULT_RULE_SINCE,
        Some(raw) => match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) if RRULE_YEARS.contains(&chrono::Datelike::year(&d)) => d,
            _ => {
                p.push(
                    &field("since"),
                    format!("`{raw}` is not a date from 1970 to 2200 like 2026-01-01"),
                );
                return None;
            }
        },
    };
    let mut exdates = Vec::new();
    match w.get("exdates") {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().and_then(local_date_time) {
                    Some(d) => {
                        if !exdates.contains(&d) {
                            exdates.push(d);
                        }
                    }
                    None => p.push(
                        &field("exdates"),
                        format!(
                            "`{}` is not a local date-time like 2026-12-07T09:00",
                            item.as_str().unwrap_or("?")
                        ),
                    ),
                }
            }
        }
        Some(_) => p.push(
            &field("exdates"),
            "must be a list of local date-times like 2026-12-07T09:00".into(),
        ),
    }
    exdates.sort();
    if let Err(e) = rrule_set(&rule, since, start, &exdates) {
        p.push(
            &field("rrule"),
            format!("`{rule}` is not a valid RFC 5545 rule: {e}"),
        );
        return None;
    }
    Some(Recurrence::Rule {
        rrule: rule,
        since,
        start,
        duration,
        exdates,
    })
}

/// The local date DTSTART falls on when an `rrule` window gives no `since`.
const DEFAULT_RULE_SINCE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2024, 1, 1) {
    Some(d) => d,
    None => chrono::NaiveDate::MIN,
};

/// `2026-12-07T09:00` or `2026-12-07T09:00:00`.
fn local_date_time(raw: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// `{ holidays = ["2026-12-25", ...], holidays_file = "holidays.ics" }`. A policy file's
/// `holidays = "holidays.ics"` is replaced by its dates before this runs
/// ([`crate::policy::resolve_holiday_files`]).
fn holidays(
    p: &mut Parser<'_>,
    field: &dyn Fn(&str) -> String,
    w: &Map<String, Value>,
) -> Option<Recurrence> {
    for k in w.keys() {
        if !["name", "holidays", "holidays_file"].contains(&k.as_str()) {
            p.push(
                &field(k),
                "a `holidays` window takes `name` and `holidays` only".into(),
            );
        }
    }
    let source = w
        .get("holidays_file")
        .and_then(Value::as_str)
        .map(str::to_string);
    let items = match w.get("holidays") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::String(file)) => {
            p.push(
                &field("holidays"),
                format!("`{file}` names an iCalendar file, which only a policy file read from disk can (it is resolved next to the file); list the dates inline here, e.g. [\"2026-12-25\"]"),
            );
            return None;
        }
        _ => {
            p.push(
                &field("holidays"),
                "must list dates like \"2026-12-25\", or name an iCalendar file".into(),
            );
            return None;
        }
    };
    let mut dates = Vec::new();
    for item in items {
        match item
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
        {
            Some(d) => dates.push(d),
            None => p.push(
                &field("holidays"),
                format!(
                    "`{}` is not a date like 2026-12-25",
                    item.as_str().unwrap_or("?")
                ),
            ),
        }
    }
    dates.sort();
    dates.dedup();
    Some(Recurrence::Dates { dates, source })
}

fn window_to_json(w: &WindowDef) -> Value {
    let mut m = Map::new();
    if let Some(n) = &w.name {
        m.insert("name".into(), json!(n));
    }
    let hm = |t: &chrono::NaiveTime| t.format("%H:%M").to_string();
    let hms = |t: &chrono::NaiveTime| {
        if chrono::Timelike::second(t) == 0 {
            hm(t)
        } else {
            t.format("%H:%M:%S").to_string()
        }
    };
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
        Recurrence::WeeklySpan {
            start_day,
            start,
            end_day,
            end,
        } => {
            let day = |d: &chrono::Weekday| d.to_string().to_ascii_lowercase();
            m.insert("recurrence".into(), json!("weekly"));
            m.insert(
                "start".into(),
                json!(format!("{} {}", day(start_day), hm(start))),
            );
            m.insert("end".into(), json!(format!("{} {}", day(end_day), hm(end))));
        }
        Recurrence::MonthlyWeekday {
            weekday,
            week,
            start,
            end,
        } => {
            m.insert("recurrence".into(), json!("monthly"));
            m.insert(
                "weekday".into(),
                json!(weekday.to_string().to_ascii_lowercase()),
            );
            m.insert("week".into(), json!(week));
            m.insert("start".into(), json!(hm(start)));
            m.insert("end".into(), json!(hm(end)));
        }
        Recurrence::Rule {
            rrule,
            since,
            start,
            duration,
            exdates,
        } => {
            m.insert("rrule".into(), json!(rrule));
            if *since != DEFAULT_RULE_SINCE {
                m.insert("since".into(), json!(since.format("%Y-%m-%d").to_string()));
            }
            m.insert("start".into(), json!(hms(start)));
            m.insert(
                "duration".into(),
                json!(crate::policy::format_duration(*duration)),
            );
            if !exdates.is_empty() {
                let ex: Vec<String> = exdates
                    .iter()
                    .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .collect();
                m.insert("exdates".into(), json!(ex));
            }
        }
        Recurrence::Dates { dates, source } => {
            let ds: Vec<String> = dates
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect();
            m.insert("holidays".into(), json!(ds));
            if let Some(src) = source {
                m.insert("holidays_file".into(), json!(src));
            }
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

impl ScheduleRule {
    /// The calendar of this rule's windows.
    #[must_use]
    pub fn calendar(&self) -> Calendar {
        Calendar {
            timezone: self.timezone,
            windows: self.windows.iter().map(|w| w.recurrence.clone()).collect(),
        }
    }

    /// The rule's gate as seen from `at`: `(next_open, next_close)`, where `next_open` is the
    /// first instant at or after `at` at which this rule lets deployments through (`at` itself
    /// when it does now) and `next_close` the first instant after that at which it blocks
    /// again. Either is `None` when it does not happen within
    /// [`HORIZON_DAYS`](crate::policy::window::HORIZON_DAYS) days
    /// (`next_close` also when `next_open` is `None`).
    #[must_use]
    pub fn next_open_close(
        &self,
        at: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        gate(&self.calendar(), self.mode, at)
    }
}

/// See [`ScheduleRule::next_open_close`].
fn gate(
    calendar: &Calendar,
    mode: WindowMode,
    at: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let open = match mode {
        WindowMode::Deny => calendar.next_free(at),
        WindowMode::Allow => match calendar.occurrence_at(at) {
            Some(_) => Some(at),
            None => calendar.next_occurrence(at).map(|occ| occ.start.max(at)),
        },
    };
    (open, next_close(calendar, mode, open))
}

/// The first instant after `open` (when the rule lets deployments through) at which it
/// blocks again.
fn next_close(
    calendar: &Calendar,
    mode: WindowMode,
    open: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match mode {
        WindowMode::Deny => open
            .and_then(|o| calendar.next_occurrence(o))
            .map(|occ| occ.start),
        WindowMode::Allow => open.and_then(|o| calendar.next_free(o)),
    }
}

pub(crate) fn evaluate(
    rule_name: &str,
    mode: WindowMode,
    timezone: Tz,
    reason: Option<&str>,
    windows: &[WindowDef],
    at: DateTime<Utc>,
    detail: Detail,
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
    let why = || reason.map(|r| format!(" ({r})")).unwrap_or_default();
    let check = evaluate_at(
        &calendar, mode, timezone, reason, &label, rule_name, &why, at, detail,
    );
    if detail == Detail::Decision {
        return check;
    }
    // The outcome at `at` already holds `next_open` (its retry instant when it blocks, `at`
    // when it does not): only `next_close` is searched for.
    let next_open = if check.code.is_some() {
        check.retry_after
    } else {
        Some(at)
    };
    let next_close = next_close(&calendar, mode, next_open);
    check
        .detail("next_open", || json!(next_open.map(local)))
        .detail("next_close", || json!(next_close.map(local)))
}

#[allow(
    clippy::too_many_arguments,
    reason = "the pieces `evaluate` has already worked out, passed on"
)]
fn evaluate_at(
    calendar: &Calendar,
    mode: WindowMode,
    timezone: Tz,
    reason: Option<&str>,
    label: &dyn Fn(&Occurrence) -> String,
    rule_name: &str,
    why: &dyn Fn() -> String,
    at: DateTime<Utc>,
    detail: Detail,
) -> Check {
    let local = |t: DateTime<Utc>| t.with_timezone(&timezone).to_rfc3339();
    match mode {
        WindowMode::Deny => match calendar.occurrence_at(at) {
            None => Check::pass(detail, || {
                format!("outside every no-deploy window of `{rule_name}`")
            }),
            Some(occ) => {
                let free = calendar.free_after(occ, at);
                let mut c = if detail == Detail::Decision {
                    Check::fail(detail, BlockCode::NoDeployWindow, String::new)
                } else {
                    let (name, start, end) = (label(&occ), local(occ.start), local(occ.end));
                    Check::fail(detail, BlockCode::NoDeployWindow, || {
                        format!(
                            "no-deploy window `{name}` is active from {start} to {end}{}",
                            why(),
                        )
                    })
                    .detail("window_name", || Value::String(name))
                    .detail("window_start", || Value::String(start))
                    .detail("window_end", || Value::String(end))
                    .detail("timezone", || json!(timezone.name()))
                    .detail("reason", || json!(reason))
                };
                c.retry_after = free;
                c
            }
        },
        WindowMode::Allow => match calendar.occurrence_at(at) {
            Some(occ) => Check::pass(detail, || {
                format!(
                    "inside allowed window `{}` ({} to {})",
                    label(&occ),
                    local(occ.start),
                    local(occ.end)
                )
            }),
            None => {
                let next = calendar.next_occurrence(at);
                let message = || match &next {
                    Some(n) => format!(
                        "deployments are allowed only during the windows of `{rule_name}`{}; the next one, `{}`, opens at {} and closes at {}",
                        why(),
                        label(n),
                        local(n.start),
                        local(n.end)
                    ),
                    None => format!(
                        "deployments are allowed only during the windows of `{rule_name}`{}, and none opens again; change the rule to deploy",
                        why()
                    ),
                };
                let mut c = Check::fail(detail, BlockCode::NoDeployWindow, message)
                    .detail("window_name", || {
                        json!(next.as_ref().map_or_else(|| rule_name.to_string(), label))
                    })
                    .detail("window_start", || json!(next.map(|n| local(n.start))))
                    .detail("window_end", || json!(next.map(|n| local(n.end))))
                    .detail("timezone", || json!(timezone.name()))
                    .detail("reason", || json!(reason))
                    .detail("mode", || json!("allow"));
                c.retry_after = next.map(|n| n.start.max(at));
                c
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
    use crate::error::Error;
    use crate::policy::{Rule, RuleKind};
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn schedule(windows: serde_json::Value) -> Result<Rule, Error> {
        Rule::from_json(
            &json!({"name": "S", "type": "schedule", "timezone": "America/New_York", "windows": windows}),
        )
    }

    fn problems(e: Error) -> Vec<(String, String)> {
        let Error::InvalidPolicy { problems } = e else {
            panic!("expected InvalidPolicy, got {e}")
        };
        problems.into_iter().map(|p| (p.field, p.reason)).collect()
    }

    #[test]
    fn the_new_window_forms_round_trip() {
        let windows = json!([
            {"recurrence": "weekly", "start": "fri 17:00", "end": "mon 08:00"},
            {"recurrence": "monthly", "weekday": "mon", "week": -1, "start": "09:00", "end": "12:00"},
            {"rrule": "FREQ=MONTHLY;BYDAY=1MO", "start": "09:00", "duration": "3h", "exdates": ["2026-12-07T09:00"]},
            {"name": "Holidays", "holidays": ["2026-12-26", "2026-12-25"]},
        ]);
        let rule = schedule(windows).unwrap();
        let again = Rule::from_json(&rule.to_json()).unwrap();
        assert_eq!(again, rule);
        let w = &rule.to_json()["windows"];
        assert_eq!(w[0]["start"], "fri 17:00");
        assert_eq!(w[2]["exdates"], json!(["2026-12-07T09:00:00"]));
        assert_eq!(w[3]["holidays"], json!(["2026-12-25", "2026-12-26"]));
    }

    #[test]
    fn last_weekday_and_holidays_cover_their_days() {
        let rule = schedule(json!([
            {"recurrence": "monthly", "weekday": "fri", "week": -1, "start": "16:00", "end": "20:00"},
            {"holidays": ["2026-12-25"]},
        ]))
        .unwrap();
        let RuleKind::Schedule(s) = &rule.kind else {
            panic!("schedule")
        };
        let cal = s.calendar();
        // The last Friday of March 2026 is the 27th (16:00 EDT = 20:00Z).
        let at = Utc.with_ymd_and_hms(2026, 3, 27, 20, 30, 0).unwrap();
        assert!(cal.is_covered(at));
        assert!(!cal.is_covered(Utc.with_ymd_and_hms(2026, 3, 20, 20, 30, 0).unwrap()));
        // Christmas, all day in New York (EST): 05:00Z to 05:00Z.
        let occ = cal
            .occurrence_at(Utc.with_ymd_and_hms(2026, 12, 25, 12, 0, 0).unwrap())
            .unwrap();
        assert_eq!(
            occ.start,
            Utc.with_ymd_and_hms(2026, 12, 25, 5, 0, 0).unwrap()
        );
        assert_eq!(
            occ.end,
            Utc.with_ymd_and_hms(2026, 12, 26, 5, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_span_to_the_same_day_lasts_a_week() {
        let rule =
            schedule(json!([{"recurrence": "weekly", "start": "mon 08:00", "end": "mon 08:00"}]))
                .unwrap();
        let RuleKind::Schedule(s) = &rule.kind else {
            panic!("schedule")
        };
        assert_eq!(
            s.next_open_close(Utc.with_ymd_and_hms(2026, 1, 7, 0, 0, 0).unwrap())
                .0,
            None
        );
    }

    #[test]
    fn bad_new_windows_name_the_field() {
        let cases = [
            (
                json!({"recurrence": "weekly", "start": "fry 17:00", "end": "mon 08:00"}),
                "windows[0].start",
                "not a weekday and a time",
            ),
            (
                json!({"recurrence": "monthly", "weekday": "mon", "week": 6, "start": "09:00", "end": "10:00"}),
                "windows[0].week",
                "1 to 5",
            ),
            (
                json!({"rrule": "FREQ=SOMETIMES", "start": "09:00", "duration": "3h"}),
                "windows[0].rrule",
                "not a valid RFC 5545 rule",
            ),
            (
                json!({"rrule": "FREQ=DAILY", "start": "09:00", "duration": "40d"}),
                "windows[0].duration",
                "at most 31d",
            ),
            (
                json!({"rrule": "FREQ=DAILY", "start": "09:00", "duration": "1h", "exdates": ["tomorrow"]}),
                "windows[0].exdates",
                "not a local date-time",
            ),
            (
                json!({"holidays": "holidays.ics"}),
                "windows[0].holidays",
                "only a policy file read from disk",
            ),
            (
                json!({"holidays": ["2026-13-01"]}),
                "windows[0].holidays",
                "not a date",
            ),
        ];
        for (window, field, reason) in cases {
            let got = problems(schedule(json!([window.clone()])).unwrap_err());
            assert!(
                got.iter().any(|(f, r)| f == field && r.contains(reason)),
                "{window}: {got:?}"
            );
        }
    }
}
