//! Calendars of schedule rules: holiday files read into windows, and the effective calendar
//! (deny and allow occurrences, and the open and closed intervals they leave) expanded over a
//! range of instants.

use std::path::Path;

use chrono::NaiveDate;
use icalendar::{Component, DatePerhapsTime};
use serde_json::Value;

use crate::error::{Error, Result};

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
}
