//! The four keys from rollups: aggregates the stores keep up to date as deployments finish
//! (schema migration 14), so a DORA query reads a few rows per day and per version instead of
//! every deployment of the ledger.
//!
//! What the stores keep:
//! - per environment, product and UTC day, and per environment and day for every product
//!   together: successful and failed deployments;
//! - per version: its first success in each environment (`firsts`: `ENV=INSTANT` entries), the
//!   earliest of them with its environment, and where its lead time starts;
//! - per failure: when it was restored (the next success of its product in its environment).
//!
//! A query takes whole days from the day counts and reads the deployments themselves only on
//! the days a range boundary cuts. The figures equal the ledger's under the
//! default rollback definition (property-tested against it); rollbacks counted as failures
//! need each success's predecessor, so that definition reads the ledger.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::{Tally, TallySource, seconds};
use crate::status::Status;

/// The entry separator in `firsts`.
const SEP: char = ';';

/// The entries (`environment key`, `instant text`) of a version's `firsts`: `ENV=INSTANT`
/// joined by `;`, instants in the stored fixed-width UTC form (so text order is time order).
fn entries(firsts: &str) -> impl Iterator<Item = (i64, &str)> {
    firsts.split(SEP).filter_map(|e| {
        let (env, at) = e.split_once('=')?;
        Some((env.parse().ok()?, at))
    })
}

/// The earliest first success among the environments of `scope`, as stored text.
pub(crate) fn first_in_scope<'a>(firsts: &'a str, scope: &[i64]) -> Option<&'a str> {
    entries(firsts)
        .filter(|(env, _)| scope.contains(env))
        .map(|(_, at)| at)
        .min()
}

/// `firsts` with the entry of `env` set to `at` when it has none or a later one, with the
/// earliest entry (instant, environment) and the latest instant; `None` when nothing changes.
pub(crate) fn merge_first(firsts: &str, env: i64, at: &str) -> Option<FirstsSummary> {
    let mut list: Vec<(i64, &str)> = entries(firsts).collect();
    match list.iter_mut().find(|(e, _)| *e == env) {
        Some((_, existing)) if *existing <= at => return None,
        Some((_, existing)) => *existing = at,
        None => list.push((env, at)),
    }
    let (first_env, first_at) = list
        .iter()
        .min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)))
        .map(|(e, a)| (*e, a.to_string()))?;
    let last_at = list.iter().map(|(_, a)| *a).max()?.to_string();
    let firsts = list
        .iter()
        .map(|(e, a)| format!("{e}={a}"))
        .collect::<Vec<_>>()
        .join(";");
    Some(FirstsSummary {
        firsts,
        first_at,
        first_env,
        last_at,
    })
}

/// A version's rollup row after [`merge_first`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FirstsSummary {
    /// The entries.
    pub(crate) firsts: String,
    /// The earliest instant (text).
    pub(crate) first_at: String,
    /// Its environment.
    pub(crate) first_env: i64,
    /// The latest instant (text).
    pub(crate) last_at: String,
}

/// A failed deployment's finish time, and when the next success restored it (if one did).
pub type Failure = (DateTime<Utc>, Option<DateTime<Utc>>);

/// One UTC day's counts of finished deployments (as a store reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DayCount {
    /// The day.
    pub day: NaiveDate,
    /// Successful deployments.
    pub successes: u64,
    /// Failed deployments.
    pub failures: u64,
}

impl DayCount {
    /// The counts of `day`.
    pub fn new(day: NaiveDate, successes: u64, failures: u64) -> DayCount {
        DayCount {
            day,
            successes,
            failures,
        }
    }
}

/// A query's rollups, read by the service.
#[derive(Debug, Default)]
pub(crate) struct Rollup {
    /// Whole days inside the range that no series boundary cuts, by day.
    pub(crate) days: Vec<DayCount>,
    /// The finished deployments of the cut days (the range's edges), by finish time.
    pub(crate) edges: Vec<(DateTime<Utc>, Status)>,
    /// Per version first successfully deployed to the scope in the range: when, and its lead
    /// time in seconds; by time.
    pub(crate) leads: Vec<(DateTime<Utc>, f64)>,
    /// The failures in the range: when, and when restored; by time.
    pub(crate) failures: Vec<Failure>,
}

/// Midnight (UTC) of `day`.
pub(crate) fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The days a query reads: the whole days `[from, to)` from the day counts (less `cut`), and
/// the parts of the `cut` days inside `[since, until)` from the deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DayPlan {
    /// The first whole day.
    pub(crate) from: NaiveDate,
    /// The day after the last whole day.
    pub(crate) to: NaiveDate,
    /// Days a boundary (the range's or a series bucket's) falls inside of, in order.
    pub(crate) cut: Vec<NaiveDate>,
}

impl DayPlan {
    /// The plan for `[since, until)` with series `boundaries` (each after `since`).
    pub(crate) fn new(
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        boundaries: &[DateTime<Utc>],
    ) -> DayPlan {
        let floor = |t: DateTime<Utc>| t.date_naive();
        let ceil = |t: DateTime<Utc>| {
            if t.time() == NaiveTime::MIN {
                t.date_naive()
            } else {
                t.date_naive() + Duration::days(1)
            }
        };
        let mut cut: Vec<NaiveDate> = std::iter::once(since)
            .chain(boundaries.iter().copied())
            .chain(std::iter::once(until))
            .filter(|t| t.time() != NaiveTime::MIN)
            .map(floor)
            .collect();
        cut.dedup();
        DayPlan {
            from: ceil(since),
            to: floor(until).max(ceil(since)),
            cut,
        }
    }

    /// The parts of the cut days inside `[since, until)`.
    pub(crate) fn cut_spans(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.cut
            .iter()
            .map(|d| {
                (
                    midnight(*d).max(since),
                    midnight(*d + Duration::days(1)).min(until),
                )
            })
            .filter(|(a, b)| a < b)
            .collect()
    }
}

impl Rollup {
    /// Orders what the stores read, drops the cut days from the day counts, and keeps only
    /// what lies in `[since, until)`.
    pub(crate) fn normalized(mut self, plan: &DayPlan) -> Rollup {
        self.days.sort_by_key(|d| d.day);
        self.days
            .retain(|d| plan.cut.binary_search(&d.day).is_err());
        self.edges.sort_by_key(|e| e.0);
        self.leads.sort_by_key(|l| l.0);
        self.failures.sort_by_key(|f| f.0);
        self
    }
}

/// The lead time, in seconds, of a version first successfully deployed at `first` whose lead
/// time starts at `start` (never below zero).
pub(crate) fn lead_seconds(first: DateTime<Utc>, start: DateTime<Utc>) -> f64 {
    seconds(first - start).max(0.0)
}

impl TallySource for Rollup {
    fn tally(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Tally {
        let mut t = Tally::default();
        // Whole days lie entirely inside one bucket: take those starting in it.
        let lo = self.days.partition_point(|d| midnight(d.day) < since);
        let hi = self.days.partition_point(|d| midnight(d.day) < until);
        for d in &self.days[lo..hi] {
            t.successes += d.successes;
            t.failed += d.failures;
            t.finished += d.successes + d.failures;
            if d.successes > 0 {
                t.days.insert(d.day);
            }
        }
        let lo = self.edges.partition_point(|e| e.0 < since);
        let hi = self.edges.partition_point(|e| e.0 < until);
        for (at, status) in &self.edges[lo..hi] {
            t.finished += 1;
            match status {
                Status::Completed => {
                    t.successes += 1;
                    t.days.insert(at.date_naive());
                }
                _ => t.failed += 1,
            }
        }
        let lo = self.leads.partition_point(|l| l.0 < since);
        let hi = self.leads.partition_point(|l| l.0 < until);
        t.leads = self.leads[lo..hi].iter().map(|l| l.1).collect();
        let lo = self.failures.partition_point(|f| f.0 < since);
        let hi = self.failures.partition_point(|f| f.0 < until);
        for (at, restored) in &self.failures[lo..hi] {
            match restored {
                Some(r) => t.restores.push(seconds(*r - *at)),
                None => t.unrestored += 1,
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const A: &str = "2026-11-01T10:00:00.000000Z";
    const B: &str = "2026-11-02T10:00:00.000000Z";
    const C: &str = "2026-11-03T10:00:00.000000Z";

    #[test]
    fn merge_keeps_each_environments_earliest_success() {
        let s = merge_first("", 3, B).unwrap();
        assert_eq!(s.firsts, format!("3={B}"));
        assert_eq!(
            (s.first_env, s.first_at.as_str(), s.last_at.as_str()),
            (3, B, B)
        );
        let s = merge_first(&s.firsts, 4, A).unwrap();
        assert_eq!(
            (s.first_env, s.first_at.as_str(), s.last_at.as_str()),
            (4, A, B)
        );
        assert_eq!(
            merge_first(&s.firsts, 3, C),
            None,
            "a later success changes nothing"
        );
        assert_eq!(merge_first(&s.firsts, 3, B), None, "nor an equal one");
        let s2 = merge_first(&s.firsts, 3, A).unwrap();
        assert_eq!(s2.firsts, format!("3={A};4={A}"));
        assert_eq!(s2.first_env, 3, "equal instants: the lower key");
        assert_eq!(first_in_scope(&s.firsts, &[3]), Some(B));
        assert_eq!(first_in_scope(&s.firsts, &[3, 4]), Some(A));
        assert_eq!(first_in_scope(&s.firsts, &[5]), None);
    }

    #[test]
    fn a_plan_cuts_the_days_a_boundary_falls_inside() {
        let t = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let p = DayPlan::new(t(1, 0), t(8, 0), &[]);
        assert_eq!((p.from, p.to, p.cut.clone()), (day(1), day(8), vec![]));
        let p = DayPlan::new(t(1, 12), t(8, 6), &[t(4, 12)]);
        assert_eq!((p.from, p.to), (day(2), day(8)));
        assert_eq!(p.cut, vec![day(1), day(4), day(8)]);
        assert_eq!(
            p.cut_spans(t(1, 12), t(8, 6)),
            vec![(t(1, 12), t(2, 0)), (t(4, 0), t(5, 0)), (t(8, 0), t(8, 6))]
        );
        // Inside one day.
        let p = DayPlan::new(t(3, 1), t(3, 5), &[]);
        assert_eq!((p.from, p.to), (day(4), day(4)));
        assert_eq!(p.cut_spans(t(3, 1), t(3, 5)), vec![(t(3, 1), t(3, 5))]);
    }
}
