//! Time-window evaluation for deployment policies (no-deploy / deploy-only-during).
//!
//! A [`Calendar`] is a set of wall-clock windows ([`Recurrence`]) interpreted in one
//! IANA time zone. Every window is turned into concrete [`Occurrence`]s: half-open
//! UTC intervals `[start, end)`. Whether a calendar means "deploys forbidden" or
//! "deploys allowed only here" is up to the caller; this module only answers
//! "which occurrence covers this instant", "when is the next uncovered instant" and
//! "when does the next window open".
//!
//! # Semantics
//!
//! * Recurring windows are anchored on the local date on which they START. When the
//!   end time is not after the start time (`end <= start`) the window ends on the
//!   following local day; `start == end` therefore means a full day (24 wall-clock
//!   hours, which is 23 or 25 real hours on DST-change days).
//! * [`Recurrence::Weekly`] and [`Recurrence::Monthly`] select start days only: a
//!   Friday 22:00-02:00 window runs into Saturday. A day of month that a month lacks
//!   (31 in April, 30 in February) simply does not occur that month; values outside
//!   `1..=31` never occur.
//! * [`Recurrence::Once`] is a single local range; if `end <= start` it is empty.
//! * End instants are exclusive: an instant equal to an occurrence's end is not
//!   covered by it.
//!
//! # Daylight-saving time
//!
//! Local wall-clock times are resolved to instants as follows, so that a window
//! always covers its whole wall-clock span:
//!
//! * A local time that does not exist (spring-forward gap) resolves to the instant
//!   the clocks jump to. In `America/Los_Angeles` on 2026-03-08, 02:30 resolves to
//!   03:00 PDT (10:00 UTC).
//! * An ambiguous local time (fall-back overlap) resolves to the EARLIER instant when
//!   it is a window start and to the LATER instant when it is a window end. In
//!   `America/Los_Angeles` on 2026-11-01 a 01:30-02:30 window runs from 01:30 PDT
//!   (08:30 UTC) to 02:30 PST (10:30 UTC).
//! * A window whose start and end resolve to the same instant, or to reversed
//!   instants (possible only when it lies inside a gap, e.g. 02:10-02:40 on a
//!   spring-forward day), is empty on that day and never matches.
//!
//! # Cost and bounds
//!
//! Queries enumerate candidate start dates day by day, so their cost is linear in
//! the number of days scanned times the number of windows. Forward searches
//! ([`Calendar::next_free`], [`Calendar::next_occurrence`]) stop after
//! [`HORIZON_DAYS`] days; [`Recurrence::Once`] windows are always evaluated
//! directly, whatever their distance.

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// How far ahead (in days) [`Calendar::next_free`] and [`Calendar::next_occurrence`] search.
pub const HORIZON_DAYS: u64 = 400;

/// The local years in which [`Recurrence::Rule`] windows produce occurrences (keeps every
/// expansion bounded, whatever instant is asked about).
pub const RRULE_YEARS: std::ops::RangeInclusive<i32> = 1970..=2200;

/// The longest a [`Recurrence::Rule`] occurrence may last: 31 days.
pub const MAX_RULE_DURATION: std::time::Duration = std::time::Duration::from_secs(31 * 86_400);

/// Builds the `rrule` crate's set for a rule window, its wall-clock times held as UTC so the
/// crate does no zone arithmetic of its own (this module resolves local times, see the DST
/// rules above).
///
/// # Errors
/// The crate's message when the rule is not valid RFC 5545.
pub fn rrule_set(
    rule: &str,
    since: NaiveDate,
    start: NaiveTime,
    exdates: &[NaiveDateTime],
) -> Result<rrule::RRuleSet, String> {
    let parsed: rrule::RRule<rrule::Unvalidated> = rule.parse().map_err(|e| format!("{e}"))?;
    let dtstart = rrule::Tz::UTC.from_utc_datetime(&since.and_time(start));
    let mut set = parsed.build(dtstart).map_err(|e| format!("{e}"))?;
    for ex in exdates {
        set = set.exdate(rrule::Tz::UTC.from_utc_datetime(ex));
    }
    Ok(set)
}

/// Local start date-times of a rule window on local dates `[first, last]`, clipped to
/// [`RRULE_YEARS`].
fn rrule_starts(
    rule: &str,
    since: NaiveDate,
    start: NaiveTime,
    exdates: &[NaiveDateTime],
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<NaiveDateTime> {
    let (Some(lo), Some(hi)) = (
        NaiveDate::from_ymd_opt(*RRULE_YEARS.start(), 1, 1),
        NaiveDate::from_ymd_opt(*RRULE_YEARS.end(), 12, 31),
    ) else {
        return Vec::new();
    };
    let (first, last) = (first.max(lo), last.min(hi));
    if first > last {
        return Vec::new();
    }
    let Ok(set) = rrule_set(rule, since, start, exdates) else {
        return Vec::new();
    };
    let from = rrule::Tz::UTC.from_utc_datetime(&first.and_time(NaiveTime::MIN));
    let to = rrule::Tz::UTC.from_utc_datetime(&last.and_time(NaiveTime::MIN));
    let to = to + TimeDelta::days(1) - TimeDelta::seconds(1);
    set.after(from)
        .before(to)
        .all(u16::MAX)
        .dates
        .into_iter()
        .map(|d| d.naive_utc())
        .collect()
}

/// The `n`-th `weekday` of `date`'s month counted as [`Recurrence::MonthlyWeekday`] does.
fn is_nth_weekday(date: NaiveDate, weekday: Weekday, week: i8) -> bool {
    if date.weekday() != weekday {
        return false;
    }
    let from_start = i8::try_from((date.day() - 1) / 7 + 1).unwrap_or(i8::MAX);
    let days_in_month = date
        .with_day(1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day());
    let from_end = i8::try_from((days_in_month - date.day()) / 7 + 1).unwrap_or(i8::MAX);
    if week > 0 {
        week == from_start
    } else {
        -week == from_end
    }
}

/// How a recurring wall-clock window repeats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Recurrence {
    /// A single local date-time range (end exclusive).
    Once {
        /// Local start (inclusive).
        start: NaiveDateTime,
        /// Local end (exclusive); the window is empty when `end <= start`.
        end: NaiveDateTime,
    },
    /// Every day from `start` to `end` local time; `end <= start` means it crosses midnight and ends the next day.
    Daily {
        /// Local start time (inclusive).
        start: NaiveTime,
        /// Local end time (exclusive).
        end: NaiveTime,
    },
    /// On the given weekdays (the day the window STARTS), same crossing rule.
    Weekly {
        /// Weekdays on which the window starts.
        days: Vec<Weekday>,
        /// Local start time (inclusive).
        start: NaiveTime,
        /// Local end time (exclusive).
        end: NaiveTime,
    },
    /// Every week from `start_day` at `start` to the following `end_day` at `end`: a window
    /// that spans days, e.g. Friday 17:00 to Monday 08:00. When `end_day` is `start_day` and
    /// `end <= start`, the window lasts a whole week (plus or minus the change).
    WeeklySpan {
        /// Weekday on which the window starts.
        start_day: Weekday,
        /// Local start time (inclusive).
        start: NaiveTime,
        /// Weekday on which it ends (the first such day at or after `start_day`).
        end_day: Weekday,
        /// Local end time (exclusive).
        end: NaiveTime,
    },
    /// On the `week`-th `weekday` of every month (`1..=5` from the start, `-1..=-5` from the
    /// end: `-1` is the last), same crossing rule as [`Recurrence::Daily`].
    MonthlyWeekday {
        /// The weekday.
        weekday: Weekday,
        /// Which one in the month: `1..=5`, or `-1..=-5` counted from the end.
        week: i8,
        /// Local start time (inclusive).
        start: NaiveTime,
        /// Local end time (exclusive).
        end: NaiveTime,
    },
    /// An RFC 5545 recurrence rule (`FREQ=MONTHLY;BYDAY=1MO`) expanded by the `rrule` crate
    /// over local wall-clock date-times from `since` at `start`; each occurrence lasts
    /// `duration` of elapsed time, and local start date-times listed in `exdates` are skipped
    /// (RFC 5545 EXDATE). `UNTIL` is read as local wall-clock time. Occurrences are produced
    /// for local dates in [`RRULE_YEARS`] only.
    Rule {
        /// The rule text (`FREQ=...;...`), without DTSTART.
        rrule: String,
        /// The local date of DTSTART: `COUNT` and `INTERVAL` count from it.
        since: NaiveDate,
        /// Local start time of every occurrence (DTSTART's time).
        start: NaiveTime,
        /// How long each occurrence lasts (elapsed time).
        duration: std::time::Duration,
        /// Local start date-times of occurrences to skip.
        exdates: Vec<NaiveDateTime>,
    },
    /// Whole local days: holidays, from an inline list or an iCalendar file. Each date is
    /// covered from its local 00:00 to the next day's 00:00.
    Dates {
        /// The dates, sorted, without duplicates.
        dates: Vec<NaiveDate>,
        /// The iCalendar file the dates were read from, as the policy named it, if any.
        source: Option<String>,
    },
    /// On the given days of month 1..=31 (the day the window STARTS; a day that a month lacks, e.g. 31 in April, simply does not occur that month), same crossing rule.
    Monthly {
        /// Days of the month on which the window starts.
        days_of_month: Vec<u32>,
        /// Local start time (inclusive).
        start: NaiveTime,
        /// Local end time (exclusive).
        end: NaiveTime,
    },
}

impl Recurrence {
    /// Whether the window's occurrences are found by visiting each local day
    /// (`visit_recurring_on`); one-off windows, dates and RRULEs are expanded otherwise.
    fn recurs_on_days(&self) -> bool {
        !matches!(
            self,
            Recurrence::Once { .. } | Recurrence::Rule { .. } | Recurrence::Dates { .. }
        )
    }
}

/// One concrete occurrence of a window, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// First covered instant (inclusive).
    pub start: DateTime<Utc>,
    /// First instant no longer covered (exclusive).
    pub end: DateTime<Utc>,
    /// Index of the originating window in [`Calendar::windows`].
    pub window: usize,
}

impl Occurrence {
    /// Whether `at` lies in this occurrence (`start <= at < end`).
    #[must_use]
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// Whether this occurrence overlaps the half-open range `[from, to)`.
    #[must_use]
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.start < to && from < self.end
    }
}

/// A set of windows in one IANA time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Zone in which all windows' wall-clock times are interpreted.
    pub timezone: Tz,
    /// The windows; [`Occurrence::window`] indexes into this list.
    pub windows: Vec<Recurrence>,
}

/// Which end of a window a local time belongs to (decides ambiguous resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Start,
    End,
}

impl Calendar {
    /// Creates a calendar from a zone and its windows.
    #[must_use]
    pub fn new(timezone: Tz, windows: Vec<Recurrence>) -> Self {
        Self { timezone, windows }
    }

    /// Whether any occurrence contains `at`.
    #[must_use]
    pub fn is_covered(&self, at: DateTime<Utc>) -> bool {
        self.occurrence_at(at).is_some()
    }

    /// The occurrence that contains `at` (`start <= at < end`), if any.
    ///
    /// When several do, the one that ends last is returned; ties on the end instant
    /// go to the lowest window index.
    #[must_use]
    pub fn occurrence_at(&self, at: DateTime<Utc>) -> Option<Occurrence> {
        let local = self.local_date(at);
        // A recurring occurrence lasts at most [`Calendar::longest_days`] days and starts
        // on its local date, so only dates around `at`'s local date can hold one that
        // contains it (one extra day on each side absorbs offset changes).
        let first = sub_days(local, self.longest_days() + 1);
        let last = add_days(local, 1);
        let mut best: Option<Occurrence> = None;
        self.visit_between(first, last, |occ| {
            if occ.contains(at) && ends_later(&occ, best.as_ref()) {
                best = Some(occ);
            }
        });
        best
    }

    /// The first instant `>= at` that lies in no occurrence at all.
    ///
    /// Chains of overlapping or adjacent occurrences are followed, e.g. a daily
    /// 22:00-06:00 window followed by a Saturday 06:00-12:00 one. Returns `at` when
    /// `at` is free. Returns `None` when coverage continues without a break past
    /// `at` + [`HORIZON_DAYS`] days, e.g. with a daily 00:00-00:00 (full-day) window.
    #[must_use]
    pub fn next_free(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.occurrence_at(at) {
            None => Some(at),
            Some(occ) => self.free_after(occ, at),
        }
    }

    /// [`Calendar::next_free`] of `at` when `occ` is the occurrence that contains it (as
    /// [`Calendar::occurrence_at`] gave it): the chain is followed from its end.
    pub(crate) fn free_after(&self, occ: Occurrence, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = horizon_limit(at);
        let mut current = at;
        let mut covering = Some(occ);
        // Each step moves to the strictly later end of a distinct occurrence, and the
        // limit check bounds the loop.
        while let Some(occ) = covering {
            if current > limit {
                return None;
            }
            current = occ.end;
            covering = self.occurrence_at(current);
        }
        Some(current)
    }

    /// The first occurrence that contains `at` or starts after it (the next time an allow-window opens).
    ///
    /// Returns `None` if there is none within the horizon (e.g. only past `Once`
    /// windows). If `at` is covered, the result is [`Calendar::occurrence_at`]. Otherwise it is
    /// the occurrence with the earliest start after `at` (ties: the one that ends
    /// last, then the lowest window index). Recurring windows are searched for
    /// [`HORIZON_DAYS`] days; `Once` windows at any distance.
    #[must_use]
    pub fn next_occurrence(&self, at: DateTime<Utc>) -> Option<Occurrence> {
        if let Some(occ) = self.occurrence_at(at) {
            return Some(occ);
        }
        let mut best: Option<Occurrence> = None;
        for occ in self.once_occurrences() {
            if occ.start > at && starts_earlier(&occ, best.as_ref()) {
                best = Some(occ);
            }
        }
        let first = sub_days(self.local_date(at), 1);
        self.visit_rules(first, add_days(first, HORIZON_DAYS + 1), |occ| {
            if occ.start > at && starts_earlier(&occ, best.as_ref()) {
                best = Some(occ);
            }
        });
        // Only day-recurring windows (daily, weekly, monthly, ...) are found by the day scan
        // below; with none (one-off windows, dates, RRULEs: all visited above) it would walk
        // HORIZON_DAYS days for nothing, on every evaluation of the rule.
        if !self.windows.iter().any(Recurrence::recurs_on_days) {
            return best;
        }
        let mut date = first;
        let mut scanned: u64 = 0;
        while scanned <= HORIZON_DAYS {
            // An occurrence starting more than two local days after the best one found
            // so far cannot start earlier than it, so stop there.
            let past_best =
                best.is_some_and(|found| date > add_days(self.local_date(found.start), 2));
            if past_best {
                break;
            }
            self.visit_recurring_on(date, |occ| {
                if occ.start > at && starts_earlier(&occ, best.as_ref()) {
                    best = Some(occ);
                }
            });
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
            scanned += 1;
        }
        best
    }

    /// All occurrences overlapping `[from, to)`, sorted by start (for "expand the calendar for N days" / explain output).
    ///
    /// Ties on the start are ordered by end, then window index. Empty occurrences
    /// (inside a DST gap) are never listed. The range is not capped: the cost is
    /// linear in its length in days, so callers should bound it (e.g. to N days).
    #[must_use]
    pub fn occurrences_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        let first = sub_days(self.local_date(from), self.longest_days() + 1);
        let last = add_days(self.local_date(to), 1);
        self.visit_between(first, last, |occ| {
            if occ.overlaps(from, to) {
                out.push(occ);
            }
        });
        out.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(a.end.cmp(&b.end))
                .then(a.window.cmp(&b.window))
        });
        out
    }

    /// How many days the longest recurring occurrence can span, plus one for offset changes.
    fn longest_days(&self) -> u64 {
        self.windows
            .iter()
            .map(|w| match w {
                Recurrence::WeeklySpan { .. } => 8,
                Recurrence::Rule { duration, .. } => duration.as_secs() / 86_400 + 2,
                _ => 1,
            })
            .max()
            .unwrap_or(1)
    }

    /// Calls `f` with every non-empty occurrence of a [`Recurrence::Rule`] window starting on
    /// a local date in `[first, last]`.
    fn visit_rules(&self, first: NaiveDate, last: NaiveDate, mut f: impl FnMut(Occurrence)) {
        for (index, window) in self.windows.iter().enumerate() {
            let Recurrence::Rule {
                rrule,
                since,
                start,
                duration,
                exdates,
            } = window
            else {
                continue;
            };
            let Ok(length) = TimeDelta::from_std(*duration) else {
                continue;
            };
            for local in rrule_starts(rrule, *since, *start, exdates, first, last) {
                let Some(begin) = resolve(self.timezone, local, Edge::Start) else {
                    continue;
                };
                let Some(end) = begin.checked_add_signed(length) else {
                    continue;
                };
                if begin < end {
                    f(Occurrence {
                        start: begin,
                        end,
                        window: index,
                    });
                }
            }
        }
    }

    /// The local calendar date of `at` in this calendar's zone.
    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        // Falls back to the UTC date only at the very edges of the representable range.
        wall_clock(self.timezone, at).map_or_else(|| at.date_naive(), |local| local.date())
    }

    /// Calls `f` with every `Once` occurrence and every recurring occurrence starting
    /// on a local date in `[first, last]`.
    fn visit_between(&self, first: NaiveDate, last: NaiveDate, mut f: impl FnMut(Occurrence)) {
        for occ in self.once_occurrences() {
            f(occ);
        }
        self.visit_rules(first, last, &mut f);
        let mut date = first;
        while date <= last {
            self.visit_recurring_on(date, &mut f);
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
    }

    /// The non-empty occurrences of all `Once` and `Dates` windows.
    fn once_occurrences(&self) -> impl Iterator<Item = Occurrence> + '_ {
        self.windows
            .iter()
            .enumerate()
            .flat_map(move |(index, window)| {
                let found: Vec<Occurrence> = match window {
                    Recurrence::Once { start, end } => {
                        self.once(index, *start, *end).into_iter().collect()
                    }
                    Recurrence::Dates { dates, .. } => dates
                        .iter()
                        .filter_map(|d| {
                            let next = d.succ_opt()?;
                            self.once(
                                index,
                                d.and_time(NaiveTime::MIN),
                                next.and_time(NaiveTime::MIN),
                            )
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                found
            })
    }

    /// Calls `f` with every non-empty recurring occurrence that starts on local `date`.
    fn visit_recurring_on(&self, date: NaiveDate, mut f: impl FnMut(Occurrence)) {
        for (index, window) in self.windows.iter().enumerate() {
            let (start, end) = match window {
                Recurrence::Once { .. } | Recurrence::Rule { .. } | Recurrence::Dates { .. } => {
                    continue;
                }
                Recurrence::WeeklySpan {
                    start_day,
                    start,
                    end_day,
                    end,
                } => {
                    if date.weekday() != *start_day {
                        continue;
                    }
                    let mut ahead = u64::from(
                        (end_day.num_days_from_monday() + 7 - start_day.num_days_from_monday()) % 7,
                    );
                    if ahead == 0 && end <= start {
                        ahead = 7;
                    }
                    let Some(end_date) = date.checked_add_days(Days::new(ahead)) else {
                        continue;
                    };
                    if let Some(occ) =
                        self.build(index, date.and_time(*start), end_date.and_time(*end))
                    {
                        f(occ);
                    }
                    continue;
                }
                Recurrence::MonthlyWeekday {
                    weekday,
                    week,
                    start,
                    end,
                } => {
                    if !is_nth_weekday(date, *weekday, *week) {
                        continue;
                    }
                    (*start, *end)
                }
                Recurrence::Daily { start, end } => (*start, *end),
                Recurrence::Weekly { days, start, end } => {
                    if !days.contains(&date.weekday()) {
                        continue;
                    }
                    (*start, *end)
                }
                Recurrence::Monthly {
                    days_of_month,
                    start,
                    end,
                } => {
                    if !days_of_month.contains(&date.day()) {
                        continue;
                    }
                    (*start, *end)
                }
            };
            if let Some(occ) = self.recurring(index, date, start, end) {
                f(occ);
            }
        }
    }

    /// The occurrence of a recurring window starting on local `date`, if non-empty.
    fn recurring(
        &self,
        index: usize,
        date: NaiveDate,
        start: NaiveTime,
        end: NaiveTime,
    ) -> Option<Occurrence> {
        let end_date = if end <= start { date.succ_opt()? } else { date };
        self.build(index, date.and_time(start), end_date.and_time(end))
    }

    /// The occurrence of a `Once` window, if non-empty.
    fn once(&self, index: usize, start: NaiveDateTime, end: NaiveDateTime) -> Option<Occurrence> {
        if end <= start {
            return None;
        }
        self.build(index, start, end)
    }

    /// Resolves local start/end to an occurrence; `None` when it is empty.
    fn build(&self, index: usize, start: NaiveDateTime, end: NaiveDateTime) -> Option<Occurrence> {
        let start = resolve(self.timezone, start, Edge::Start)?;
        let end = resolve(self.timezone, end, Edge::End)?;
        (start < end).then_some(Occurrence {
            start,
            end,
            window: index,
        })
    }
}

/// Whether `candidate` should replace `best` when looking for the occurrence that ends last.
fn ends_later(candidate: &Occurrence, best: Option<&Occurrence>) -> bool {
    match best {
        None => true,
        Some(best) => {
            candidate.end > best.end
                || (candidate.end == best.end && candidate.window < best.window)
        }
    }
}

/// Whether `candidate` should replace `best` when looking for the occurrence that starts first.
fn starts_earlier(candidate: &Occurrence, best: Option<&Occurrence>) -> bool {
    match best {
        None => true,
        Some(best) => {
            (
                candidate.start,
                std::cmp::Reverse(candidate.end),
                candidate.window,
            ) < (best.start, std::cmp::Reverse(best.end), best.window)
        }
    }
}

/// `at` plus the search horizon, saturating at the latest representable instant.
fn horizon_limit(at: DateTime<Utc>) -> DateTime<Utc> {
    at.checked_add_days(Days::new(HORIZON_DAYS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `date` minus `n` days, saturating at the earliest representable date.
fn sub_days(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(n))
        .unwrap_or(NaiveDate::MIN)
}

/// `date` plus `n` days, saturating at the latest representable date.
fn add_days(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// The local wall-clock time of `at` in `tz`; `None` only at the edges of the representable range.
fn wall_clock(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix())
}

/// Resolves a local wall-clock time to an instant following the module's DST policy.
fn resolve(tz: Tz, local: NaiveDateTime, edge: Edge) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(dt) => Some(dt.with_timezone(&Utc)),
        MappedLocalTime::Ambiguous(a, b) => {
            let (earlier, later) = if a <= b { (a, b) } else { (b, a) };
            let chosen = match edge {
                Edge::Start => earlier,
                Edge::End => later,
            };
            Some(chosen.with_timezone(&Utc))
        }
        MappedLocalTime::None => gap_end(tz, local),
    }
}

/// For a local time inside a spring-forward gap, the instant at which the clocks jumped.
///
/// Binary-searches (to the second; zone transitions fall on whole seconds) for the
/// first instant whose local wall-clock time is after `local`. The bracket of ±26
/// hours exceeds any UTC offset that has ever been in use.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let bracket = TimeDelta::hours(26);
    let wall = |secs: i64| -> Option<NaiveDateTime> {
        wall_clock(tz, DateTime::<Utc>::from_timestamp(secs, 0)?)
    };
    let mut lo = local.checked_sub_signed(bracket)?.and_utc().timestamp();
    let mut hi = local.checked_add_signed(bracket)?.and_utc().timestamp();
    if wall(lo)? > local || wall(hi)? <= local {
        return None;
    }
    // Invariant: wall(lo) <= local < wall(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall(mid)? > local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::<Utc>::from_timestamp(hi, 0)
}

/// Parses a weekday: "mon".."sun" or full English names, case-insensitive.
#[must_use]
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let day = match s.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

/// Parses a local time of day as "HH:MM" or "HH:MM:SS" (two digits each, 00:00..=23:59:59).
///
/// "24:00" and leap seconds ("23:59:60") are rejected.
#[must_use]
pub fn parse_local_time(s: &str) -> Option<NaiveTime> {
    let mut parts = s.split(':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = match parts.next() {
        Some(part) => two_digits(part)?,
        None => 0,
    };
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    NaiveTime::from_hms_opt(hour, minute, second)
}

/// Parses exactly two ASCII digits.
fn two_digits(s: &str) -> Option<u32> {
    match s.as_bytes() {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Chicago, Los_Angeles, New_York};
    use chrono_tz::Australia::Lord_Howe;
    use chrono_tz::Europe::{Berlin, London, Paris};
    use chrono_tz::Pacific;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_time(t(h, mi))
    }

    fn daily(start: NaiveTime, end: NaiveTime) -> Recurrence {
        Recurrence::Daily { start, end }
    }

    fn weekly(days: &[Weekday], start: NaiveTime, end: NaiveTime) -> Recurrence {
        Recurrence::Weekly {
            days: days.to_vec(),
            start,
            end,
        }
    }

    fn occ(start: DateTime<Utc>, end: DateTime<Utc>, window: usize) -> Occurrence {
        Occurrence { start, end, window }
    }

    #[test]
    fn daily_window_contains_and_excludes() {
        // Berlin in January is UTC+1.
        let cal = Calendar::new(Berlin, vec![daily(t(9, 0), t(17, 0))]);
        let expected = occ(utc(2026, 1, 14, 8, 0), utc(2026, 1, 14, 16, 0), 0);
        assert_eq!(cal.occurrence_at(utc(2026, 1, 14, 10, 0)), Some(expected));
        assert_eq!(cal.occurrence_at(utc(2026, 1, 14, 8, 0)), Some(expected));
        assert_eq!(cal.occurrence_at(utc(2026, 1, 14, 7, 59)), None);
        assert_eq!(cal.occurrence_at(utc(2026, 1, 14, 16, 0)), None);
        assert!(!cal.is_covered(utc(2026, 1, 14, 20, 0)));
    }

    #[test]
    fn overnight_daily_inside_before_midnight() {
        // New York in January is UTC-5; 23:00 local on the 14th.
        let cal = Calendar::new(New_York, vec![daily(t(22, 0), t(6, 0))]);
        assert_eq!(
            cal.occurrence_at(utc(2026, 1, 15, 4, 0)),
            Some(occ(utc(2026, 1, 15, 3, 0), utc(2026, 1, 15, 11, 0), 0))
        );
    }

    #[test]
    fn overnight_daily_inside_after_midnight() {
        // 03:00 local on the 15th belongs to the window that started on the 14th.
        let cal = Calendar::new(New_York, vec![daily(t(22, 0), t(6, 0))]);
        assert_eq!(
            cal.occurrence_at(utc(2026, 1, 15, 8, 0)),
            Some(occ(utc(2026, 1, 15, 3, 0), utc(2026, 1, 15, 11, 0), 0))
        );
    }

    #[test]
    fn overnight_daily_end_is_exclusive() {
        let cal = Calendar::new(New_York, vec![daily(t(22, 0), t(6, 0))]);
        let six_local = utc(2026, 1, 15, 11, 0);
        assert_eq!(cal.occurrence_at(six_local), None);
        assert_eq!(cal.next_free(six_local), Some(six_local));
        assert_eq!(
            cal.next_free(utc(2026, 1, 15, 8, 0)),
            Some(utc(2026, 1, 15, 11, 0))
        );
    }

    #[test]
    fn overnight_daily_before_start_is_free() {
        // 21:59 local on the 14th.
        let cal = Calendar::new(New_York, vec![daily(t(22, 0), t(6, 0))]);
        assert_eq!(cal.occurrence_at(utc(2026, 1, 15, 2, 59)), None);
    }

    #[test]
    fn weekly_friday_afternoon() {
        // Paris in January is UTC+1; 2026-01-16 is a Friday.
        let cal = Calendar::new(Paris, vec![weekly(&[Weekday::Fri], t(12, 0), t(18, 0))]);
        assert_eq!(
            cal.occurrence_at(utc(2026, 1, 16, 12, 0)),
            Some(occ(utc(2026, 1, 16, 11, 0), utc(2026, 1, 16, 17, 0), 0))
        );
        assert_eq!(cal.occurrence_at(utc(2026, 1, 15, 12, 0)), None);
        assert_eq!(cal.occurrence_at(utc(2026, 1, 16, 17, 0)), None);
        assert_eq!(cal.occurrence_at(utc(2026, 1, 16, 10, 59)), None);
    }

    #[test]
    fn weekly_window_crossing_into_next_week() {
        // Sunday 23:00 - Monday 01:00 Berlin; Monday 00:30 local is covered.
        let cal = Calendar::new(Berlin, vec![weekly(&[Weekday::Sun], t(23, 0), t(1, 0))]);
        assert_eq!(
            cal.occurrence_at(utc(2026, 1, 18, 23, 30)),
            Some(occ(utc(2026, 1, 18, 22, 0), utc(2026, 1, 19, 0, 0), 0))
        );
        assert_eq!(cal.occurrence_at(utc(2026, 1, 19, 0, 0)), None);
    }

    #[test]
    fn monthly_day_31_skipped_in_april() {
        let cal = Calendar::new(
            Tz::UTC,
            vec![Recurrence::Monthly {
                days_of_month: vec![1, 31],
                start: t(9, 0),
                end: t(10, 0),
            }],
        );
        let got = cal.occurrences_between(utc(2026, 3, 1, 0, 0), utc(2026, 6, 1, 0, 0));
        let starts: Vec<_> = got.iter().map(|o| o.start).collect();
        assert_eq!(
            starts,
            vec![
                utc(2026, 3, 1, 9, 0),
                utc(2026, 3, 31, 9, 0),
                utc(2026, 4, 1, 9, 0),
                utc(2026, 5, 1, 9, 0),
                utc(2026, 5, 31, 9, 0),
            ]
        );
        assert_eq!(
            cal.next_occurrence(utc(2026, 4, 1, 10, 0)),
            Some(occ(utc(2026, 5, 1, 9, 0), utc(2026, 5, 1, 10, 0), 0))
        );
        assert_eq!(
            cal.occurrence_at(utc(2026, 3, 31, 9, 30)),
            Some(occ(utc(2026, 3, 31, 9, 0), utc(2026, 3, 31, 10, 0), 0))
        );
    }

    #[test]
    fn monthly_in_local_zone() {
        // Day 1, 08:00-09:00 New York; 2026-02-01 is UTC-5, 2026-07-01 is UTC-4.
        let cal = Calendar::new(
            New_York,
            vec![Recurrence::Monthly {
                days_of_month: vec![1],
                start: t(8, 0),
                end: t(9, 0),
            }],
        );
        assert_eq!(
            cal.next_occurrence(utc(2026, 1, 20, 0, 0)),
            Some(occ(utc(2026, 2, 1, 13, 0), utc(2026, 2, 1, 14, 0), 0))
        );
        assert_eq!(
            cal.next_occurrence(utc(2026, 6, 20, 0, 0)),
            Some(occ(utc(2026, 7, 1, 12, 0), utc(2026, 7, 1, 13, 0), 0))
        );
    }

    #[test]
    fn once_range_in_local_time() {
        // Chicago in July is UTC-5.
        let cal = Calendar::new(
            Chicago,
            vec![Recurrence::Once {
                start: local(2026, 7, 4, 20, 0),
                end: local(2026, 7, 5, 2, 0),
            }],
        );
        let expected = occ(utc(2026, 7, 5, 1, 0), utc(2026, 7, 5, 7, 0), 0);
        assert_eq!(cal.occurrence_at(utc(2026, 7, 5, 6, 59)), Some(expected));
        assert_eq!(cal.occurrence_at(utc(2026, 7, 5, 7, 0)), None);
        assert_eq!(cal.occurrence_at(utc(2026, 7, 5, 0, 59)), None);
        assert_eq!(cal.next_occurrence(utc(2026, 1, 1, 0, 0)), Some(expected));
        assert_eq!(cal.next_occurrence(utc(2026, 7, 5, 7, 0)), None);
    }

    #[test]
    fn once_far_future_and_empty() {
        let cal = Calendar::new(
            Tz::UTC,
            vec![
                Recurrence::Once {
                    start: local(2030, 1, 1, 0, 0),
                    end: local(2030, 1, 2, 0, 0),
                },
                Recurrence::Once {
                    start: local(2026, 5, 1, 0, 0),
                    end: local(2026, 5, 1, 0, 0),
                },
            ],
        );
        assert_eq!(
            cal.next_occurrence(utc(2026, 1, 1, 0, 0)),
            Some(occ(utc(2030, 1, 1, 0, 0), utc(2030, 1, 2, 0, 0), 0))
        );
        assert_eq!(cal.occurrence_at(utc(2026, 5, 1, 0, 0)), None);
    }

    #[test]
    fn next_free_chains_adjacent_windows() {
        // Friday 23:00 local (NY, UTC-5): the nightly window runs to Saturday 06:00,
        // then the Saturday 06:00-12:00 window takes over.
        let cal = Calendar::new(
            New_York,
            vec![
                daily(t(22, 0), t(6, 0)),
                weekly(&[Weekday::Sat], t(6, 0), t(12, 0)),
            ],
        );
        assert_eq!(
            cal.next_free(utc(2026, 1, 17, 4, 0)),
            Some(utc(2026, 1, 17, 17, 0))
        );
        // On a Wednesday night only the nightly window applies.
        assert_eq!(
            cal.next_free(utc(2026, 1, 15, 4, 0)),
            Some(utc(2026, 1, 15, 11, 0))
        );
        assert_eq!(
            cal.next_free(utc(2026, 1, 15, 20, 0)),
            Some(utc(2026, 1, 15, 20, 0))
        );
    }

    #[test]
    fn next_free_chains_overlapping_windows() {
        let cal = Calendar::new(
            New_York,
            vec![
                daily(t(22, 0), t(6, 0)),
                weekly(&[Weekday::Sat], t(5, 0), t(8, 0)),
            ],
        );
        // Saturday 05:30 local: both cover it, the weekly one ends last.
        assert_eq!(
            cal.occurrence_at(utc(2026, 1, 17, 10, 30)),
            Some(occ(utc(2026, 1, 17, 10, 0), utc(2026, 1, 17, 13, 0), 1))
        );
        assert_eq!(
            cal.next_free(utc(2026, 1, 17, 4, 0)),
            Some(utc(2026, 1, 17, 13, 0))
        );
    }

    #[test]
    fn next_free_full_day_window_is_none() {
        let cal = Calendar::new(Los_Angeles, vec![daily(t(0, 0), t(0, 0))]);
        assert_eq!(cal.next_free(utc(2026, 1, 1, 0, 0)), None);
        // A full day on the spring-forward date is 23 real hours.
        assert_eq!(
            cal.occurrence_at(utc(2026, 3, 8, 12, 0)),
            Some(occ(utc(2026, 3, 8, 8, 0), utc(2026, 3, 9, 7, 0), 0))
        );
    }

    #[test]
    fn next_occurrence_inside_and_next_week() {
        // Monday 09:00-11:00 Berlin (UTC+1); asked on Friday 2026-01-16.
        let cal = Calendar::new(Berlin, vec![weekly(&[Weekday::Mon], t(9, 0), t(11, 0))]);
        let monday = occ(utc(2026, 1, 19, 8, 0), utc(2026, 1, 19, 10, 0), 0);
        assert_eq!(cal.next_occurrence(utc(2026, 1, 16, 12, 0)), Some(monday));
        // Inside the window it returns the current occurrence.
        assert_eq!(cal.next_occurrence(utc(2026, 1, 19, 8, 30)), Some(monday));
        // Right at the end, the following week's.
        assert_eq!(
            cal.next_occurrence(utc(2026, 1, 19, 10, 0)),
            Some(occ(utc(2026, 1, 26, 8, 0), utc(2026, 1, 26, 10, 0), 0))
        );
    }

    #[test]
    fn next_occurrence_picks_earliest_start() {
        let cal = Calendar::new(
            Tz::UTC,
            vec![
                weekly(&[Weekday::Wed], t(9, 0), t(10, 0)),
                weekly(&[Weekday::Tue], t(14, 0), t(15, 0)),
            ],
        );
        // Monday 2026-01-12 noon: Tuesday's window opens first.
        assert_eq!(
            cal.next_occurrence(utc(2026, 1, 12, 12, 0)),
            Some(occ(utc(2026, 1, 13, 14, 0), utc(2026, 1, 13, 15, 0), 1))
        );
        let empty = Calendar::new(Tz::UTC, vec![]);
        assert_eq!(empty.next_occurrence(utc(2026, 1, 12, 12, 0)), None);
        assert_eq!(
            empty.next_free(utc(2026, 1, 12, 12, 0)),
            Some(utc(2026, 1, 12, 12, 0))
        );
    }

    #[test]
    fn la_spring_forward_start_in_gap() {
        // 2026-03-08: 02:00 PST -> 03:00 PDT at 10:00 UTC. 02:30 resolves to 03:00 PDT.
        let cal = Calendar::new(Los_Angeles, vec![daily(t(2, 30), t(4, 0))]);
        assert_eq!(
            cal.occurrence_at(utc(2026, 3, 8, 10, 30)),
            Some(occ(utc(2026, 3, 8, 10, 0), utc(2026, 3, 8, 11, 0), 0))
        );
        assert_eq!(cal.occurrence_at(utc(2026, 3, 8, 9, 59)), None);
        let days = cal.occurrences_between(utc(2026, 3, 7, 0, 0), utc(2026, 3, 10, 0, 0));
        assert_eq!(
            days,
            vec![
                occ(utc(2026, 3, 7, 10, 30), utc(2026, 3, 7, 12, 0), 0),
                occ(utc(2026, 3, 8, 10, 0), utc(2026, 3, 8, 11, 0), 0),
                occ(utc(2026, 3, 9, 9, 30), utc(2026, 3, 9, 11, 0), 0),
            ]
        );
    }

    #[test]
    fn la_spring_forward_span_shrinks() {
        // 01:00 PST (09:00 UTC) to 03:00 PDT (10:00 UTC): two wall hours, one real hour.
        let cal = Calendar::new(Los_Angeles, vec![daily(t(1, 0), t(3, 0))]);
        let expected = occ(utc(2026, 3, 8, 9, 0), utc(2026, 3, 8, 10, 0), 0);
        assert_eq!(cal.occurrence_at(utc(2026, 3, 8, 9, 59)), Some(expected));
        assert_eq!(cal.occurrence_at(utc(2026, 3, 8, 10, 0)), None);
        assert_eq!(
            cal.next_free(utc(2026, 3, 8, 9, 0)),
            Some(utc(2026, 3, 8, 10, 0))
        );
    }

    #[test]
    fn la_gap_window_is_empty() {
        let cal = Calendar::new(Los_Angeles, vec![daily(t(2, 10), t(2, 40))]);
        assert_eq!(cal.occurrence_at(utc(2026, 3, 8, 10, 0)), None);
        assert!(
            cal.occurrences_between(utc(2026, 3, 8, 8, 0), utc(2026, 3, 9, 8, 0))
                .is_empty()
        );
        // The next day it exists again: 02:10 PDT = 09:10 UTC.
        assert_eq!(
            cal.next_occurrence(utc(2026, 3, 8, 8, 0)),
            Some(occ(utc(2026, 3, 9, 9, 10), utc(2026, 3, 9, 9, 40), 0))
        );
    }

    #[test]
    fn la_fall_back_ambiguous_start() {
        // 2026-11-01: 02:00 PDT -> 01:00 PST at 09:00 UTC.
        // Start 01:30 takes the earlier (PDT) instant, end 02:30 is PST.
        let cal = Calendar::new(Los_Angeles, vec![daily(t(1, 30), t(2, 30))]);
        let expected = occ(utc(2026, 11, 1, 8, 30), utc(2026, 11, 1, 10, 30), 0);
        assert_eq!(cal.occurrence_at(utc(2026, 11, 1, 8, 30)), Some(expected));
        assert_eq!(cal.occurrence_at(utc(2026, 11, 1, 10, 29)), Some(expected));
        assert_eq!(cal.occurrence_at(utc(2026, 11, 1, 10, 30)), None);
    }

    #[test]
    fn la_fall_back_ambiguous_end() {
        // 00:30 PDT (07:30 UTC) to the later 01:30, i.e. PST (09:30 UTC).
        let cal = Calendar::new(Los_Angeles, vec![daily(t(0, 30), t(1, 30))]);
        let expected = occ(utc(2026, 11, 1, 7, 30), utc(2026, 11, 1, 9, 30), 0);
        assert_eq!(cal.occurrence_at(utc(2026, 11, 1, 9, 15)), Some(expected));
        assert_eq!(
            cal.next_free(utc(2026, 11, 1, 8, 0)),
            Some(utc(2026, 11, 1, 9, 30))
        );
    }

    #[test]
    fn london_spring_forward() {
        // 2026-03-29: 01:00 GMT -> 02:00 BST at 01:00 UTC. 01:30 resolves to 02:00 BST.
        let cal = Calendar::new(
            London,
            vec![daily(t(1, 30), t(3, 0)), daily(t(1, 10), t(1, 50))],
        );
        assert_eq!(
            cal.occurrences_between(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 12, 0)),
            vec![occ(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0), 0)]
        );
        // The day before both exist (GMT = UTC).
        assert_eq!(
            cal.occurrences_between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 28, 12, 0)),
            vec![
                occ(utc(2026, 3, 28, 1, 10), utc(2026, 3, 28, 1, 50), 1),
                occ(utc(2026, 3, 28, 1, 30), utc(2026, 3, 28, 3, 0), 0),
            ]
        );
    }

    #[test]
    fn london_fall_back() {
        // 2026-10-25: 02:00 BST -> 01:00 GMT at 01:00 UTC.
        let cal = Calendar::new(
            London,
            vec![daily(t(1, 15), t(1, 45)), daily(t(0, 30), t(1, 30))],
        );
        assert_eq!(
            cal.occurrences_between(utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0)),
            vec![
                // 00:30 BST = 23:30 UTC the day before, to the later 01:30 (GMT).
                occ(utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 1, 30), 1),
                // 01:15 BST to 01:45 GMT.
                occ(utc(2026, 10, 25, 0, 15), utc(2026, 10, 25, 1, 45), 0),
            ]
        );
        assert_eq!(
            cal.next_free(utc(2026, 10, 25, 0, 0)),
            Some(utc(2026, 10, 25, 1, 45))
        );
    }

    #[test]
    fn occurrences_between_over_a_week() {
        // Berlin UTC+1; Monday 2026-01-19 to Monday 2026-01-26 (UTC).
        let cal = Calendar::new(
            Berlin,
            vec![
                weekly(
                    &[Weekday::Mon, Weekday::Wed, Weekday::Fri],
                    t(9, 0),
                    t(10, 0),
                ),
                weekly(&[Weekday::Sun], t(23, 0), t(1, 0)),
            ],
        );
        let got = cal.occurrences_between(utc(2026, 1, 19, 0, 0), utc(2026, 1, 26, 0, 0));
        assert_eq!(
            got,
            vec![
                occ(utc(2026, 1, 19, 8, 0), utc(2026, 1, 19, 9, 0), 0),
                occ(utc(2026, 1, 21, 8, 0), utc(2026, 1, 21, 9, 0), 0),
                occ(utc(2026, 1, 23, 8, 0), utc(2026, 1, 23, 9, 0), 0),
                // Sunday 23:00 local starts inside the range; the previous Sunday's
                // occurrence ends exactly at `from` and is excluded.
                occ(utc(2026, 1, 25, 22, 0), utc(2026, 1, 26, 0, 0), 1),
            ]
        );
        // A range starting inside an occurrence includes it.
        assert_eq!(
            cal.occurrences_between(utc(2026, 1, 19, 8, 30), utc(2026, 1, 19, 8, 31)),
            vec![occ(utc(2026, 1, 19, 8, 0), utc(2026, 1, 19, 9, 0), 0)]
        );
        assert!(
            cal.occurrences_between(utc(2026, 1, 26, 0, 0), utc(2026, 1, 19, 0, 0))
                .is_empty()
        );
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let cal = Calendar::new(
            Pacific::Kiritimati,
            vec![
                daily(t(0, 0), t(0, 0)),
                Recurrence::Monthly {
                    days_of_month: vec![31],
                    start: t(23, 0),
                    end: t(1, 0),
                },
            ],
        );
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let _ = cal.occurrence_at(at);
            let _ = cal.next_free(at);
            let _ = cal.next_occurrence(at);
        }
        let min = DateTime::<Utc>::MIN_UTC;
        let max = DateTime::<Utc>::MAX_UTC;
        let _ = cal.occurrences_between(min, min + TimeDelta::days(3));
        let _ = cal.occurrences_between(max - TimeDelta::days(3), max);
    }

    #[test]
    fn lord_howe_half_hour_gap() {
        // 2026-10-04: 02:00 +10:30 -> 02:30 +11:00 at 15:30 UTC on the 3rd.
        let cal = Calendar::new(Lord_Howe, vec![daily(t(2, 10), t(3, 0))]);
        assert_eq!(
            cal.next_occurrence(utc(2026, 10, 3, 12, 0)),
            Some(occ(utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16, 0), 0))
        );
    }

    #[test]
    fn parse_weekday_variants() {
        assert_eq!(parse_weekday("mon"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("TUE"), Some(Weekday::Tue));
        assert_eq!(parse_weekday("Wednesday"), Some(Weekday::Wed));
        assert_eq!(parse_weekday("thursday"), Some(Weekday::Thu));
        assert_eq!(parse_weekday("Fri"), Some(Weekday::Fri));
        assert_eq!(parse_weekday("SATURDAY"), Some(Weekday::Sat));
        assert_eq!(parse_weekday("sun"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("mo"), None);
        assert_eq!(parse_weekday("funday"), None);
        assert_eq!(parse_weekday(""), None);
    }

    #[test]
    fn parse_local_time_variants() {
        assert_eq!(parse_local_time("09:05"), Some(t(9, 5)));
        assert_eq!(
            parse_local_time("23:59:59"),
            NaiveTime::from_hms_opt(23, 59, 59)
        );
        assert_eq!(parse_local_time("00:00"), Some(t(0, 0)));
        assert_eq!(parse_local_time("24:00"), None);
        assert_eq!(parse_local_time("23:60"), None);
        assert_eq!(parse_local_time("23:59:60"), None);
        assert_eq!(parse_local_time("9:05"), None);
        assert_eq!(parse_local_time("09:05:"), None);
        assert_eq!(parse_local_time("09:05:00:00"), None);
        assert_eq!(parse_local_time("+9:05"), None);
        assert_eq!(parse_local_time(""), None);
    }
}

#[cfg(test)]
mod rule_tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_dtstart_off_the_rule_is_not_an_occurrence() {
        // 2026-01-02 is a Friday; the rule selects first Mondays only.
        let since = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let start = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let got = rrule_starts(
            "FREQ=MONTHLY;BYDAY=1MO",
            since,
            start,
            &[],
            since,
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        );
        let days: Vec<String> = got.iter().map(|d| d.date().to_string()).collect();
        assert_eq!(days, ["2026-01-05", "2026-02-02", "2026-03-02"]);
    }
}
