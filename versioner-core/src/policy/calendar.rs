//! Calendars of schedule rules: holiday files read into windows, and the effective calendar
//! (deny and allow occurrences, and the open and closed intervals they leave) expanded over a
//! range of instants.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};
use icalendar::{Component, DatePerhapsTime};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::policy::{Rule, RuleKind, RuleStatus, WindowMode};

/// Reads the dates an iCalendar document's events cover: every VEVENT from its DTSTART's date
/// up to its DTEND's (exclusive; a one-day event when DTEND is absent or not after DTSTART).
///
/// # Errors
/// `INVALID_INPUT` naming `field` when the text is not iCalendar, an event has no DTSTART, or
/// an event repeats (RRULE: list its dates instead).
pub fn holiday_dates(text: &str, field: &str) -> Result<Vec<NaiveDate>> {
    let calendar: icalendar::Calendar = text
        .parse()
        .map_err(|e: String| Error::invalid(field, format!("not an iCalendar file: {e}")))?;
    let mut dates = Vec::new();
    for event in calendar.components.iter().filter_map(|c| c.as_event()) {
        let summary = event.get_summary().unwrap_or("an event").to_string();
        if event.property_value("RRULE").is_some() {
            return Err(Error::invalid(
                field,
                format!(
                    "`{summary}` repeats (RRULE); a holiday file lists each date as its own event"
                ),
            ));
        }
        let Some(start) = event.get_start().map(|d| date_of(&d)) else {
            return Err(Error::invalid(field, format!("`{summary}` has no DTSTART")));
        };
        let end = event.get_end().map(|d| date_of(&d)).filter(|e| *e > start);
        let mut day = start;
        loop {
            dates.push(day);
            match day.succ_opt() {
                Some(next) if end.is_some_and(|e| next < e) => day = next,
                _ => break,
            }
            if dates.len() > 100_000 {
                return Err(Error::invalid(
                    field,
                    format!("`{summary}` spans too many days"),
                ));
            }
        }
    }
    dates.sort();
    dates.dedup();
    Ok(dates)
}

/// The calendar date of a DTSTART/DTEND (its own date; a zoned date-time's wall-clock date).
fn date_of(d: &DatePerhapsTime) -> NaiveDate {
    match d {
        DatePerhapsTime::Date(date) => *date,
        DatePerhapsTime::DateTime(dt) => match dt {
            icalendar::CalendarDateTime::Floating(n) => n.date(),
            icalendar::CalendarDateTime::Utc(u) => u.date_naive(),
            icalendar::CalendarDateTime::WithTimezone { date_time, .. } => date_time.date(),
        },
    }
}

/// Replaces every window's `holidays = "file.ics"` in a policy document with the dates the
/// file lists (`holidays = [...]`, `holidays_file = "file.ics"`), the file resolved relative to
/// `base` (the policy file's directory). The dates are then stored with the policy, so a
/// server or another machine never needs the file.
///
/// # Errors
/// `INVALID_INPUT` naming the window's `holidays` when the file cannot be read or parsed.
pub fn resolve_holiday_files(policy: &mut Value, base: &Path) -> Result<()> {
    let rules = match policy {
        Value::Array(rules) => rules,
        Value::Object(m) => match m.get_mut("rules") {
            Some(Value::Array(rules)) => rules,
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    for (i, rule) in rules.iter_mut().enumerate() {
        let Some(Value::Array(windows)) = rule.get_mut("windows") else {
            continue;
        };
        for (j, window) in windows.iter_mut().enumerate() {
            let Some(obj) = window.as_object_mut() else {
                continue;
            };
            let Some(Value::String(file)) = obj.get("holidays").cloned() else {
                continue;
            };
            let field = format!("rules[{i}].windows[{j}].holidays");
            let path = base.join(&file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::invalid(&field, format!("cannot read `{}`: {e}", path.display()))
            })?;
            let dates = holiday_dates(&text, &field)?;
            if dates.is_empty() {
                return Err(Error::invalid(
                    &field,
                    format!("`{}` lists no events", path.display()),
                ));
            }
            let list: Vec<Value> = dates
                .iter()
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .collect();
            obj.insert("holidays".into(), Value::Array(list));
            obj.insert("holidays_file".into(), Value::String(file));
        }
    }
    Ok(())
}

/// One interval of an expanded calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interval {
    /// First covered instant (inclusive).
    pub start: DateTime<Utc>,
    /// First instant no longer covered (exclusive).
    pub end: DateTime<Utc>,
    /// The schedule rule it comes from (`None` for open and closed intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The window's name, else the rule's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// The rule's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// The effective calendar of the schedule rules that apply to a scope, over `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveCalendar {
    /// First instant covered (inclusive).
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// Occurrences of deny (no-deploy) windows, clipped to the range.
    pub deny: Vec<Interval>,
    /// Occurrences of allow (deploy-only-during) windows, clipped to the range.
    pub allow: Vec<Interval>,
    /// When deployments may go, as far as time is concerned: inside every allow rule's
    /// windows and outside every deny window. Sorted, disjoint, not adjacent.
    pub open: Vec<Interval>,
    /// The rest of the range: when some schedule rule blocks.
    pub closed: Vec<Interval>,
}

/// Which deployments a calendar is for: `None` matches every rule's scope in that dimension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarScope {
    /// The product.
    pub product: Option<String>,
    /// The environment (its type inferred from the name).
    pub environment: Option<String>,
}

impl CalendarScope {
    fn includes(&self, rule: &Rule) -> bool {
        let scope = &rule.scope;
        let product_ok = self.product.as_deref().is_none_or(|p| {
            scope.products.is_empty() || scope.products.iter().any(|x| crate::names::same(x, p))
        });
        let env_ok = self.environment.as_deref().is_none_or(|e| {
            (scope.environments.is_empty()
                || scope.environments.iter().any(|x| crate::names::same(x, e)))
                && (scope.environment_types.is_empty()
                    || scope
                        .environment_types
                        .contains(&crate::model::EnvironmentType::infer(e)))
        });
        product_ok && env_ok
    }
}

/// Expands the enabled schedule rules in `scope` over `[from, to)`.
#[must_use]
pub fn expand(
    rules: &[Rule],
    scope: &CalendarScope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> EffectiveCalendar {
    let mut deny = Vec::new();
    let mut allow = Vec::new();
    // Per allow rule, its occurrences (deployments are closed outside them).
    let mut allow_rules: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>> = Vec::new();
    for rule in rules {
        let RuleKind::Schedule(s) = &rule.kind else {
            continue;
        };
        if rule.status != RuleStatus::Enabled || !scope.includes(rule) {
            continue;
        }
        let cal = s.calendar();
        let mut spans = Vec::new();
        for occ in cal.occurrences_between(from, to) {
            let (start, end) = (occ.start.max(from), occ.end.min(to));
            let label = s
                .windows
                .get(occ.window)
                .and_then(|w| w.name.clone())
                .unwrap_or_else(|| rule.name.clone());
            let interval = Interval {
                start,
                end,
                rule: Some(rule.name.clone()),
                window: Some(label),
                timezone: Some(s.timezone.name().to_string()),
            };
            spans.push((start, end));
            match s.mode {
                WindowMode::Deny => deny.push(interval),
                WindowMode::Allow => allow.push(interval),
            }
        }
        if s.mode == WindowMode::Allow {
            allow_rules.push(spans);
        }
    }
    // Closed: every deny occurrence, and for each allow rule the gaps between its occurrences.
    let mut closed: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        deny.iter().map(|i| (i.start, i.end)).collect();
    for spans in &allow_rules {
        for (start, end) in complement(&merge(spans.clone()), from, to) {
            closed.push((start, end));
        }
    }
    let closed = merge(closed);
    let open = complement(&closed, from, to);
    let plain = |(start, end): (DateTime<Utc>, DateTime<Utc>)| Interval {
        start,
        end,
        rule: None,
        window: None,
        timezone: None,
    };
    deny.sort_by_key(|a| (a.start, a.end));
    allow.sort_by_key(|a| (a.start, a.end));
    EffectiveCalendar {
        from,
        to,
        deny,
        allow,
        open: open.into_iter().map(plain).collect(),
        closed: closed.into_iter().map(plain).collect(),
    }
}

/// Sorted, disjoint, non-adjacent union of half-open spans (empty ones dropped).
fn merge(mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    spans.retain(|(s, e)| s < e);
    spans.sort();
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The parts of `[from, to)` not covered by merged `spans`.
fn complement(
    spans: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut cursor = from;
    for (s, e) in spans {
        if *s > cursor {
            out.push((cursor, (*s).min(to)));
        }
        cursor = cursor.max(*e);
    }
    if cursor < to {
        out.push((cursor, to));
    }
    out.retain(|(s, e)| s < e);
    out
}

impl EffectiveCalendar {
    /// The calendar as an RFC 5545 iCalendar feed: one VEVENT per deny occurrence
    /// (`Deploy freeze: …`) and per closed interval an allow rule leaves (`Closed: …`), with
    /// `DTSTART`/`DTEND` in the rule's zone (`TZID`) and a VTIMEZONE for each zone used, listing
    /// the zone's offset changes in the range. Lines end in CRLF, are folded at 75 octets, and
    /// text is escaped.
    #[must_use]
    pub fn to_ics(&self, name: &str) -> String {
        let mut lines: Vec<String> = vec![
            "BEGIN:VCALENDAR".into(),
            "VERSION:2.0".into(),
            "PRODID:-//Versioner//Deployment calendar//EN".into(),
            "CALSCALE:GREGORIAN".into(),
            "METHOD:PUBLISH".into(),
            format!("X-WR-CALNAME:{}", escape(name)),
        ];
        let mut zones: Vec<String> = self
            .deny
            .iter()
            .chain(self.allow.iter())
            .filter_map(|i| i.timezone.clone())
            .collect();
        zones.sort();
        zones.dedup();
        for zone in &zones {
            if let Ok(tz) = zone.parse::<Tz>() {
                lines.extend(vtimezone(tz, self.from, self.to));
            }
        }
        let stamp = self.from.format("%Y%m%dT%H%M%SZ").to_string();
        let mut events: Vec<(String, &Interval, String)> = Vec::new();
        for i in &self.deny {
            let what = i.window.clone().unwrap_or_default();
            events.push((format!("Deploy freeze: {what}"), i, "deny".into()));
        }
        // Closed intervals left by allow rules only (deny windows are their own events).
        let deny_spans = merge(self.deny.iter().map(|i| (i.start, i.end)).collect());
        let allow_zone = self.allow.first().and_then(|i| i.timezone.clone());
        let mut extra = Vec::new();
        for c in &self.closed {
            for (s, e) in complement(&deny_spans, c.start, c.end) {
                extra.push(Interval {
                    start: s,
                    end: e,
                    rule: None,
                    window: Some("outside the allowed windows".into()),
                    timezone: allow_zone.clone(),
                });
            }
        }
        for i in &extra {
            events.push((
                "Closed: outside the allowed windows".into(),
                i,
                "closed".into(),
            ));
        }
        for (n, (summary, i, kind)) in events.into_iter().enumerate() {
            let (dtstart, dtend) = match i.timezone.as_deref().and_then(|z| z.parse::<Tz>().ok()) {
                Some(tz) => (
                    format!(
                        "DTSTART;TZID={}:{}",
                        tz.name(),
                        i.start.with_timezone(&tz).format("%Y%m%dT%H%M%S")
                    ),
                    format!(
                        "DTEND;TZID={}:{}",
                        tz.name(),
                        i.end.with_timezone(&tz).format("%Y%m%dT%H%M%S")
                    ),
                ),
                None => (
                    format!("DTSTART:{}", i.start.format("%Y%m%dT%H%M%SZ")),
                    format!("DTEND:{}", i.end.format("%Y%m%dT%H%M%SZ")),
                ),
            };
            lines.push("BEGIN:VEVENT".into());
            // Unique within the feed (two rules may cover the same interval) and stable for
            // the same policy and range.
            lines.push(format!(
                "UID:{kind}-{n}-{}-{}@versioner",
                i.start.timestamp(),
                i.end.timestamp()
            ));
            lines.push(format!("DTSTAMP:{stamp}"));
            lines.push(dtstart);
            lines.push(dtend);
            lines.push(format!("SUMMARY:{}", escape(&summary)));
            if let Some(rule) = &i.rule {
                lines.push(format!("DESCRIPTION:{}", escape(&format!("Rule: {rule}"))));
            }
            lines.push("TRANSP:OPAQUE".into());
            lines.push("END:VEVENT".into());
        }
        lines.push("END:VCALENDAR".into());
        let mut out = String::new();
        for line in lines {
            out.push_str(&fold(&line));
        }
        out
    }
}

/// RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded at 75 octets (never inside a UTF-8 sequence), ending in CRLF.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// A VTIMEZONE for `tz` valid over `[from, to)`: the offset in force at `from` and every
/// change until `to`, each as its own STANDARD or DAYLIGHT observance.
fn vtimezone(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let offset = |at: DateTime<Utc>| {
        let o = tz.offset_from_utc_datetime(&at.naive_utc());
        (
            o.fix().local_minus_utc(),
            o.dst_offset().num_seconds() != 0,
            o.to_string(),
        )
    };
    let fmt_offset = |secs: i32| {
        let sign = if secs < 0 { '-' } else { '+' };
        let a = secs.unsigned_abs();
        if a.is_multiple_of(60) {
            format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
        } else {
            format!("{sign}{:02}{:02}{:02}", a / 3600, (a % 3600) / 60, a % 60)
        }
    };
    let mut lines = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{}", tz.name())];
    let start = from - TimeDelta::days(1);
    let (mut prev, dst, abbr) = offset(start);
    let observance =
        |kind: &str, at_local: NaiveDateTime, off_from: i32, off_to: i32, abbr: &str| {
            vec![
                format!("BEGIN:{kind}"),
                format!("DTSTART:{}", at_local.format("%Y%m%dT%H%M%S")),
                format!("TZOFFSETFROM:{}", fmt_offset(off_from)),
                format!("TZOFFSETTO:{}", fmt_offset(off_to)),
                format!("TZNAME:{}", escape(abbr)),
                format!("END:{kind}"),
            ]
        };
    let kind = |dst: bool| if dst { "DAYLIGHT" } else { "STANDARD" };
    lines.extend(observance(
        kind(dst),
        start.naive_utc() + TimeDelta::seconds(i64::from(prev)),
        prev,
        prev,
        &abbr,
    ));
    // Scan day by day, then find each change to the second.
    let mut day = start;
    while day < to {
        let next = day + TimeDelta::days(1);
        let (o, _, _) = offset(next);
        if o != prev {
            let (mut lo, mut hi) = (day.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let Some(m) = DateTime::<Utc>::from_timestamp(mid, 0) else {
                    break;
                };
                if offset(m).0 == prev {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            if let Some(change) = DateTime::<Utc>::from_timestamp(hi, 0) {
                let (now, dst, abbr) = offset(change);
                // DTSTART is the local time of the change in the offset before it.
                let local = change.naive_utc() + TimeDelta::seconds(i64::from(prev));
                lines.extend(observance(kind(dst), local, prev, now, &abbr));
                prev = now;
            }
        }
        day = next;
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:New Year\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn an_ics_file_gives_its_dates() {
        let dates = holiday_dates(ICS, "holidays").unwrap();
        let got: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
        assert_eq!(got, ["2026-12-25", "2026-12-26", "2027-01-01"]);
        let e = holiday_dates("not a calendar", "holidays").unwrap_err();
        assert_eq!(e.field(), Some("holidays"));
    }

    #[test]
    fn holiday_files_are_resolved_next_to_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("holidays.ics"), ICS).unwrap();
        let mut policy = serde_json::json!({"rules": [{"name": "H", "type": "schedule",
            "windows": [{"holidays": "holidays.ics"}]}]});
        resolve_holiday_files(&mut policy, dir.path()).unwrap();
        assert_eq!(
            policy["rules"][0]["windows"][0],
            serde_json::json!({"holidays": ["2026-12-25", "2026-12-26", "2027-01-01"],
                "holidays_file": "holidays.ics"})
        );
        let mut missing = serde_json::json!({"rules": [{"name": "H", "type": "schedule",
            "windows": [{"holidays": "nope.ics"}]}]});
        let e = resolve_holiday_files(&mut missing, dir.path()).unwrap_err();
        assert_eq!(e.field(), Some("rules[0].windows[0].holidays"));
        assert!(e.to_string().contains("cannot read"), "{e}");
    }

    #[test]
    fn text_is_escaped_and_lines_folded() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        assert!(folded.ends_with("\r\n"));
        for line in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn open_is_the_complement_of_deny_and_of_allow_gaps() {
        use chrono::TimeZone;
        let policy = crate::policy::PolicyFile::from_json(&serde_json::json!({"rules": [
            {"name": "Freeze", "type": "schedule", "timezone": "UTC",
             "windows": [{"recurrence": "daily", "start": "12:00", "end": "13:00"}]},
            {"name": "Hours", "type": "schedule", "mode": "allow", "timezone": "UTC",
             "environments": ["production"],
             "windows": [{"recurrence": "daily", "start": "09:00", "end": "17:00"}]},
        ]}))
        .unwrap();
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 1, 5, h, 0, 0).unwrap();
        let scope = CalendarScope {
            product: None,
            environment: Some("production".into()),
        };
        let cal = expand(
            &policy.rules,
            &scope,
            at(0),
            at(0) + chrono::TimeDelta::days(1),
        );
        let open: Vec<(DateTime<Utc>, DateTime<Utc>)> =
            cal.open.iter().map(|i| (i.start, i.end)).collect();
        assert_eq!(open, [(at(9), at(12)), (at(13), at(17))]);
        assert_eq!(cal.closed.len(), 3);
        // Staging is outside the allow rule's scope: only the freeze applies.
        let staging = CalendarScope {
            product: None,
            environment: Some("staging".into()),
        };
        let cal = expand(
            &policy.rules,
            &staging,
            at(0),
            at(0) + chrono::TimeDelta::days(1),
        );
        assert_eq!(cal.closed.len(), 1);
        assert!(
            cal.to_ics("x")
                .contains("SUMMARY:Deploy freeze: Freeze\r\n")
        );
    }
}
