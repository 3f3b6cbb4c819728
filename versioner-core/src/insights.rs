//! Insights: the four keys (DORA metrics) computed from the deployment ledger.
//!
//! Peers that compute these disagree on the definitions, so every choice here is an option
//! with a default, and every answer echoes the definitions it used ([`DoraDefinitions`]).
//!
//! # Definitions
//! - **Scope**: the deployments of a product (or of every product) to a set of environments
//!   (by default every environment of type `production`).
//! - **Range**: `[since, until)`. A deployment belongs to the range by its finish time
//!   (`completed_at`). Equal finish times are ordered by recording order.
//! - **Deployment frequency**: successful (`completed`) deployments in the range, per day
//!   ([`FrequencyDefinition::PerDay`], the default), or the number of UTC days with at least
//!   one successful deployment per week of the range
//!   ([`FrequencyDefinition::DeploymentDaysPerWeek`]). Both figures are always given; the
//!   option chooses which one is banded.
//! - **Lead time for changes**: for each version whose *first* successful deployment to the
//!   scope's environments finished in the range, from its start (its commit time,
//!   `scm_committed_at`; without one, its first build's `started_at`; without a build, when it
//!   was first recorded) to that deployment's `completed_at`, never below zero. Median and p90.
//! - **Change failure rate**: failed deployments ÷ finished deployments (`completed` +
//!   `failed`; `aborted` ones do not count) in the range; `null` with no finished deployment.
//!   With [`RollbackDefinition::FailureOfReplaced`], a successful deployment of a version older
//!   (first recorded earlier) than the one it replaced in that environment counts the replaced
//!   deployment as a failure.
//! - **Time to restore**: for each failure in the range (as counted by the change failure
//!   rate), from its `completed_at` to the `completed_at` of the next successful deployment of
//!   the product in that environment, whenever that was. A failure never restored is counted
//!   in `unrestored` and left out of the median and p90. A failure before the range restored
//!   inside it belongs to the earlier range.
//! - **Percentiles**: the median is the middle value (the mean of the two middle values for
//!   an even count); p90 is the nearest rank, the `ceil(0.9 × n)`-th smallest value.
//! - **Bands**: elite, high, medium, low, by the thresholds in [`BandThresholds::dora`],
//!   stated in every answer. Lead time and time to restore are banded by their median.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::status::Status;

pub mod rollup;

/// What the deployment frequency figure that is banded counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FrequencyDefinition {
    /// Successful deployments per day of the range.
    #[default]
    PerDay,
    /// UTC days with at least one successful deployment, per week of the range.
    DeploymentDaysPerWeek,
}

impl std::str::FromStr for FrequencyDefinition {
    type Err = Error;
    fn from_str(s: &str) -> Result<FrequencyDefinition> {
        match s.trim() {
            "per_day" => Ok(FrequencyDefinition::PerDay),
            "deployment_days_per_week" => Ok(FrequencyDefinition::DeploymentDaysPerWeek),
            other => Err(Error::invalid(
                "frequency",
                format!(
                    "unknown definition `{other}`; expected per_day or deployment_days_per_week"
                ),
            )),
        }
    }
}

/// Whether a rollback counts as a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RollbackDefinition {
    /// Only `failed` deployments are failures.
    #[default]
    NotAFailure,
    /// A successful deployment of an older version than the one it replaced also counts the
    /// replaced deployment as a failure (restored by the rollback).
    FailureOfReplaced,
}

impl std::str::FromStr for RollbackDefinition {
    type Err = Error;
    fn from_str(s: &str) -> Result<RollbackDefinition> {
        match s.trim() {
            "not_a_failure" => Ok(RollbackDefinition::NotAFailure),
            "failure_of_replaced" => Ok(RollbackDefinition::FailureOfReplaced),
            other => Err(Error::invalid(
                "rollbacks",
                format!(
                    "unknown definition `{other}`; expected not_a_failure or failure_of_replaced"
                ),
            )),
        }
    }
}

/// The interval of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SeriesInterval {
    /// Seven-day buckets from `since` (the last one ends at `until`).
    Week,
}

impl std::str::FromStr for SeriesInterval {
    type Err = Error;
    fn from_str(s: &str) -> Result<SeriesInterval> {
        match s.trim() {
            "week" => Ok(SeriesInterval::Week),
            other => Err(Error::invalid(
                "by",
                format!("unknown interval `{other}`; expected week"),
            )),
        }
    }
}

/// The most buckets a series may have.
pub const MAX_SERIES_BUCKETS: i64 = 1000;

/// A request for the four keys.
///
/// # Examples
/// ```
/// use chrono::{TimeZone, Utc};
/// use versioner_core::insights::{DoraQuery, FrequencyDefinition};
/// let q = DoraQuery::new(
///     Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
///     Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
/// )
/// .product("api")
/// .environment("production")
/// .frequency(FrequencyDefinition::DeploymentDaysPerWeek);
/// assert_eq!(q.environments, vec!["production".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DoraQuery {
    /// Only this product (every product when `None`).
    pub product: Option<String>,
    /// These environments (every environment of type production when empty).
    pub environments: Vec<String>,
    /// The range's start (inclusive).
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    pub until: DateTime<Utc>,
    /// What deployment frequency bands.
    pub frequency: FrequencyDefinition,
    /// Whether rollbacks count as failures.
    pub rollbacks: RollbackDefinition,
    /// A series over the range, in buckets of this interval.
    pub by: Option<SeriesInterval>,
}

impl DoraQuery {
    /// Every product, the production environments, `[since, until)`, default definitions.
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> DoraQuery {
        DoraQuery {
            product: None,
            environments: Vec::new(),
            since,
            until,
            frequency: FrequencyDefinition::default(),
            rollbacks: RollbackDefinition::default(),
            by: None,
        }
    }
    /// Only this product.
    #[must_use]
    pub fn product(mut self, p: impl Into<String>) -> DoraQuery {
        self.product = Some(p.into());
        self
    }
    /// Adds an environment to the scope.
    #[must_use]
    pub fn environment(mut self, e: impl Into<String>) -> DoraQuery {
        self.environments.push(e.into());
        self
    }
    /// The frequency definition.
    #[must_use]
    pub fn frequency(mut self, f: FrequencyDefinition) -> DoraQuery {
        self.frequency = f;
        self
    }
    /// The rollback definition.
    #[must_use]
    pub fn rollbacks(mut self, r: RollbackDefinition) -> DoraQuery {
        self.rollbacks = r;
        self
    }
    /// A series in buckets of `interval`.
    #[must_use]
    pub fn by(mut self, interval: SeriesInterval) -> DoraQuery {
        self.by = Some(interval);
        self
    }

    /// Checks the range.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming `until` when it is not after `since`, or `by` when the series
    /// would have more than [`MAX_SERIES_BUCKETS`] buckets.
    pub fn validated(&self) -> Result<()> {
        if self.until <= self.since {
            return Err(Error::invalid(
                "until",
                "must be after `since`; the range is [since, until)",
            ));
        }
        if self.by.is_some() && (self.until - self.since).num_weeks() >= MAX_SERIES_BUCKETS {
            return Err(Error::invalid(
                "by",
                format!("the range holds more than {MAX_SERIES_BUCKETS} weeks; narrow it"),
            ));
        }
        Ok(())
    }
}

/// A DORA performance band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// The best.
    Elite,
    /// Second.
    High,
    /// Third.
    Medium,
    /// The rest.
    Low,
}

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Elite when the value is at least `elite`, high when at least `high`, …
    Higher,
    /// Elite when the value is at most `elite`, high when at most `high`, …
    Lower,
}

/// The thresholds of one figure's bands; below (or above) `medium` is low.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Threshold {
    /// What is compared, in which unit.
    pub measure: String,
    /// Which way is better (`higher`: at least; `lower`: at most).
    pub better: Better,
    /// The elite bound.
    pub elite: f64,
    /// The high bound.
    pub high: f64,
    /// The medium bound.
    pub medium: f64,
}

impl Threshold {
    fn new(measure: &str, better: Better, elite: f64, high: f64, medium: f64) -> Threshold {
        Threshold {
            measure: measure.to_string(),
            better,
            elite,
            high,
            medium,
        }
    }

    /// The band of `value`.
    pub fn band(&self, value: f64) -> Band {
        let meets = |bound: f64| match self.better {
            Better::Higher => value >= bound,
            Better::Lower => value <= bound,
        };
        if meets(self.elite) {
            Band::Elite
        } else if meets(self.high) {
            Band::High
        } else if meets(self.medium) {
            Band::Medium
        } else {
            Band::Low
        }
    }
}

/// The thresholds the bands were given by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct BandThresholds {
    /// Deployment frequency, in the unit of the frequency definition.
    pub deployment_frequency: Threshold,
    /// Lead time's median, in seconds.
    pub lead_time: Threshold,
    /// The change failure rate (0–1).
    pub change_failure_rate: Threshold,
    /// Time to restore's median, in seconds.
    pub time_to_restore: Threshold,
}

const DAY: f64 = 86_400.0;

impl BandThresholds {
    /// The thresholds used, after the DORA State of DevOps reports: frequency elite at least
    /// daily, high at least weekly, medium at least monthly (or, counting deployment days per
    /// week: 5, 1, 0.25); lead time elite at most 1 day, high 1 week, medium 30 days; change
    /// failure rate elite at most 5 %, high 10 %, medium 15 %; time to restore elite at most
    /// 1 hour, high 1 day, medium 1 week.
    pub fn dora(frequency: FrequencyDefinition) -> BandThresholds {
        let deployment_frequency = match frequency {
            FrequencyDefinition::PerDay => Threshold::new(
                "successful deployments per day",
                Better::Higher,
                1.0,
                1.0 / 7.0,
                1.0 / 30.0,
            ),
            FrequencyDefinition::DeploymentDaysPerWeek => Threshold::new(
                "days with a successful deployment per week",
                Better::Higher,
                5.0,
                1.0,
                0.25,
            ),
        };
        BandThresholds {
            deployment_frequency,
            lead_time: Threshold::new(
                "median lead time, seconds",
                Better::Lower,
                DAY,
                7.0 * DAY,
                30.0 * DAY,
            ),
            change_failure_rate: Threshold::new(
                "failed / finished deployments",
                Better::Lower,
                0.05,
                0.10,
                0.15,
            ),
            time_to_restore: Threshold::new(
                "median time to restore, seconds",
                Better::Lower,
                3_600.0,
                DAY,
                7.0 * DAY,
            ),
        }
    }
}

/// The definitions an answer used, echoed in every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DoraDefinitions {
    /// What deployment frequency bands.
    pub frequency: FrequencyDefinition,
    /// Whether rollbacks count as failures.
    pub rollbacks: RollbackDefinition,
    /// How the environments were chosen.
    pub environments: String,
    /// Which deployments belong to the range.
    pub range: String,
    /// Lead time, in words.
    pub lead_time: String,
    /// Change failure rate, in words.
    pub change_failure_rate: String,
    /// Time to restore, in words.
    pub time_to_restore: String,
    /// How the median and p90 are taken.
    pub percentiles: String,
    /// The band thresholds.
    pub bands: BandThresholds,
}

impl DoraDefinitions {
    fn of(query: &DoraQuery) -> DoraDefinitions {
        let environments = if query.environments.is_empty() {
            "every environment of type production (the default)"
        } else {
            "the environments given"
        };
        let change_failure_rate = match query.rollbacks {
            RollbackDefinition::NotAFailure => {
                "failed ÷ (completed + failed) deployments in the range; aborted ones do not count"
            }
            RollbackDefinition::FailureOfReplaced => {
                "(failed + rolled-back) ÷ (completed + failed) deployments in the range; a \
                 rolled-back deployment is a successful one replaced by a successful deployment \
                 of an older version of the product in that environment; aborted ones do not count"
            }
        };
        DoraDefinitions {
            frequency: query.frequency,
            rollbacks: query.rollbacks,
            environments: environments.to_string(),
            range: "a deployment belongs to [since, until) by its completed_at; equal times in \
                    recording order"
                .to_string(),
            lead_time: "for each version first successfully deployed to these environments in \
                        the range: from scm_committed_at, else its first build's started_at, \
                        else when it was first recorded, to that deployment's completed_at \
                        (never below zero)"
                .to_string(),
            change_failure_rate: change_failure_rate.to_string(),
            time_to_restore: "for each failure in the range: from its completed_at to the \
                              completed_at of the next successful deployment of the product in \
                              that environment; failures never restored are counted as \
                              unrestored"
                .to_string(),
            percentiles: "median: the middle value (mean of the two middle values for an even \
                          count); p90: nearest rank, the ceil(0.9 × n)-th smallest"
                .to_string(),
            bands: BandThresholds::dora(query.frequency),
        }
    }
}

/// Deployment frequency over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeploymentFrequency {
    /// Successful deployments in the range.
    pub count: u64,
    /// Successful deployments per day of the range.
    pub per_day: f64,
    /// UTC days with at least one successful deployment.
    pub deployment_days: u64,
    /// Those days per week of the range.
    pub deployment_days_per_week: f64,
}

/// The median and p90 of a set of durations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct LeadTime {
    /// How many versions were measured.
    pub count: u64,
    /// The median, in seconds (`null` when none).
    pub median_seconds: Option<f64>,
    /// The 90th percentile, in seconds (`null` when none).
    pub p90_seconds: Option<f64>,
}

/// The counts behind the change failure rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ChangeFailures {
    /// Failures: failed deployments, plus rolled-back ones when rollbacks count.
    pub failed: u64,
    /// Of those, successful deployments counted as failures because they were rolled back.
    pub rolled_back: u64,
    /// Finished deployments (completed + failed).
    pub finished: u64,
}

/// Time to restore over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct TimeToRestore {
    /// How many failures were restored.
    pub count: u64,
    /// Failures with no later successful deployment.
    pub unrestored: u64,
    /// The median, in seconds (`null` when none).
    pub median_seconds: Option<f64>,
    /// The 90th percentile, in seconds (`null` when none).
    pub p90_seconds: Option<f64>,
}

/// The band of each figure (`null` where the figure is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Bands {
    /// Deployment frequency's band.
    pub deployment_frequency: Band,
    /// Lead time's band.
    pub lead_time: Option<Band>,
    /// The change failure rate's band.
    pub change_failure_rate: Option<Band>,
    /// Time to restore's band.
    pub time_to_restore: Option<Band>,
}

/// The four keys over one range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DoraFigures {
    /// The range's start (inclusive).
    #[serde(with = "crate::wire::instant")]
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    #[serde(with = "crate::wire::instant")]
    pub until: DateTime<Utc>,
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Failed ÷ finished deployments (0–1), `null` with no finished deployment.
    pub change_failure_rate: Option<f64>,
    /// The counts behind the change failure rate.
    pub change_failures: ChangeFailures,
    /// Time to restore.
    pub time_to_restore: TimeToRestore,
    /// The band of each figure.
    pub bands: Bands,
}

/// The answer of `versioner metrics dora` and `GET /metrics/dora`: the figures over the
/// whole range (as in [`DoraFigures`]), the scope, the definitions and the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DoraReport {
    /// The product, or `null` for every product.
    pub product: Option<String>,
    /// The environments in scope.
    pub environments: Vec<String>,
    /// The range's start (inclusive).
    #[serde(with = "crate::wire::instant")]
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    #[serde(with = "crate::wire::instant")]
    pub until: DateTime<Utc>,
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Failed ÷ finished deployments (0–1), `null` with no finished deployment.
    pub change_failure_rate: Option<f64>,
    /// The counts behind the change failure rate.
    pub change_failures: ChangeFailures,
    /// Time to restore.
    pub time_to_restore: TimeToRestore,
    /// The band of each figure.
    pub bands: Bands,
    /// The definitions used.
    pub definitions: DoraDefinitions,
    /// The series, when asked for (`by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<DoraFigures>>,
}

/// A finished deployment, with what lead time needs of its version (read by the service).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FinishedDeployment {
    /// The deployment's store key (recording order).
    pub key: i64,
    /// The product's key.
    pub product_key: i64,
    /// The environment's key.
    pub environment_key: i64,
    /// The version's key.
    pub version_key: i64,
    /// `completed` or `failed`.
    pub status: Status,
    /// When it finished.
    pub completed_at: DateTime<Utc>,
    /// When the version was first recorded.
    pub version_recorded_at: DateTime<Utc>,
    /// The version's commit time, when known.
    pub committed_at: Option<DateTime<Utc>>,
    /// The version's first build's start, when known.
    pub first_build_started_at: Option<DateTime<Utc>>,
}

impl FinishedDeployment {
    /// Where its version's lead time starts.
    fn lead_start(&self) -> DateTime<Utc> {
        self.committed_at
            .or(self.first_build_started_at)
            .unwrap_or(self.version_recorded_at)
    }
}

/// What each deployment contributes, worked out once over the whole ledger.
struct Ledger<'a> {
    /// The deployments, by finish time then recording order.
    rows: Vec<&'a FinishedDeployment>,
    /// Per row: counted as a failure (failed, or rolled back when rollbacks count).
    failure: Vec<bool>,
    /// Per row: rolled back (a success counted as a failure).
    rolled_back: Vec<bool>,
    /// Per row: for a failure, when the next success in its environment finished.
    restored_at: Vec<Option<DateTime<Utc>>>,
    /// Per row: for a version's first success in scope, its lead time in seconds.
    lead_seconds: Vec<Option<f64>>,
}

impl<'a> Ledger<'a> {
    fn new(deployments: &'a [FinishedDeployment], rollbacks: RollbackDefinition) -> Ledger<'a> {
        use std::collections::{HashMap, HashSet};
        let mut rows: Vec<&FinishedDeployment> = deployments
            .iter()
            .filter(|d| matches!(d.status, Status::Completed | Status::Failed))
            .collect();
        rows.sort_by_key(|d| (d.completed_at, d.key));
        let n = rows.len();
        let mut failure: Vec<bool> = rows.iter().map(|d| d.status == Status::Failed).collect();
        let mut rolled_back = vec![false; n];
        let mut restored_at = vec![None; n];
        let mut lead_seconds = vec![None; n];
        // Per (product, environment): the last success, and the failures awaiting a success.
        let mut last_success: HashMap<(i64, i64), usize> = HashMap::new();
        let mut open_failures: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        let mut first_seen: HashSet<(i64, i64)> = HashSet::new();
        for (i, d) in rows.iter().enumerate() {
            let pair = (d.product_key, d.environment_key);
            if d.status == Status::Failed {
                open_failures.entry(pair).or_default().push(i);
                continue;
            }
            // A success: it restores every failure awaiting one in its environment.
            if rollbacks == RollbackDefinition::FailureOfReplaced
                && let Some(&p) = last_success.get(&pair)
            {
                let older = (d.version_recorded_at, d.version_key)
                    < (rows[p].version_recorded_at, rows[p].version_key);
                if older {
                    failure[p] = true;
                    rolled_back[p] = true;
                    open_failures.entry(pair).or_default().push(p);
                }
            }
            for f in open_failures.remove(&pair).unwrap_or_default() {
                restored_at[f] = Some(d.completed_at);
            }
            last_success.insert(pair, i);
            if first_seen.insert((d.product_key, d.version_key)) {
                let secs = seconds(d.completed_at - d.lead_start()).max(0.0);
                lead_seconds[i] = Some(secs);
            }
        }
        Ledger {
            rows,
            failure,
            rolled_back,
            restored_at,
            lead_seconds,
        }
    }

    /// What the deployments finished in `[since, until)` add up to.
    fn tally(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Tally {
        let start = self.rows.partition_point(|d| d.completed_at < since);
        let end = self.rows.partition_point(|d| d.completed_at < until);
        let mut t = Tally::default();
        for i in start..end {
            let d = self.rows[i];
            t.finished += 1;
            if d.status == Status::Completed {
                t.successes += 1;
                t.days.insert(d.completed_at.date_naive());
            }
            if let Some(secs) = self.lead_seconds[i] {
                t.leads.push(secs);
            }
            if self.failure[i] {
                t.failed += 1;
                if self.rolled_back[i] {
                    t.rolled_back += 1;
                }
                match self.restored_at[i] {
                    Some(r) => t.restores.push(seconds(r - d.completed_at)),
                    None => t.unrestored += 1,
                }
            }
        }
        t
    }
}

/// What one range's figures are made of, from either the ledger or the rollups.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Successful deployments.
    pub(crate) successes: u64,
    /// The UTC days with a successful deployment.
    pub(crate) days: std::collections::BTreeSet<chrono::NaiveDate>,
    /// Failures (failed, plus rolled back when rollbacks count).
    pub(crate) failed: u64,
    /// Of those, rolled-back successes.
    pub(crate) rolled_back: u64,
    /// Finished deployments (completed + failed).
    pub(crate) finished: u64,
    /// Lead times, in seconds, of the versions first successfully deployed in the range.
    pub(crate) leads: Vec<f64>,
    /// Times to restore, in seconds, of the failures restored.
    pub(crate) restores: Vec<f64>,
    /// Failures never restored.
    pub(crate) unrestored: u64,
}

impl Tally {
    /// The figures of `[since, until)`.
    fn figures(
        self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        thresholds: &BandThresholds,
        frequency: FrequencyDefinition,
    ) -> DoraFigures {
        let Tally {
            successes,
            days,
            failed,
            rolled_back,
            finished,
            leads,
            restores,
            unrestored,
        } = self;
        let range_days = seconds(until - since) / DAY;
        let per_day = successes as f64 / range_days;
        let deployment_days = days.len() as u64;
        let deployment_days_per_week = deployment_days as f64 / (range_days / 7.0);
        let change_failure_rate = (finished > 0).then(|| failed as f64 / finished as f64);
        let lead_time = durations(leads);
        let (restore_median, restore_p90, restored) = durations_raw(restores);
        let banded_frequency = match frequency {
            FrequencyDefinition::PerDay => per_day,
            FrequencyDefinition::DeploymentDaysPerWeek => deployment_days_per_week,
        };
        DoraFigures {
            since,
            until,
            deployment_frequency: DeploymentFrequency {
                count: successes,
                per_day,
                deployment_days,
                deployment_days_per_week,
            },
            bands: Bands {
                deployment_frequency: thresholds.deployment_frequency.band(banded_frequency),
                lead_time: lead_time
                    .median_seconds
                    .map(|v| thresholds.lead_time.band(v)),
                change_failure_rate: change_failure_rate
                    .map(|v| thresholds.change_failure_rate.band(v)),
                time_to_restore: restore_median.map(|v| thresholds.time_to_restore.band(v)),
            },
            lead_time,
            change_failure_rate,
            change_failures: ChangeFailures {
                failed,
                rolled_back,
                finished,
            },
            time_to_restore: TimeToRestore {
                count: restored,
                unrestored,
                median_seconds: restore_median,
                p90_seconds: restore_p90,
            },
        }
    }
}

/// Where a report's tallies come from: the ledger itself, or the rollups kept as deployments
/// finish ([`rollup::Rollup`]).
pub(crate) trait TallySource {
    /// What the deployments finished in `[since, until)` add up to.
    fn tally(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Tally;
}

impl TallySource for Ledger<'_> {
    fn tally(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Tally {
        Ledger::tally(self, since, until)
    }
}

fn seconds(d: Duration) -> f64 {
    match d.num_microseconds() {
        Some(us) => us as f64 / 1e6,
        None => d.num_seconds() as f64,
    }
}

fn durations(values: Vec<f64>) -> LeadTime {
    let (median_seconds, p90_seconds, count) = durations_raw(values);
    LeadTime {
        count,
        median_seconds,
        p90_seconds,
    }
}

/// The median, the nearest-rank p90 and the count.
fn durations_raw(mut values: Vec<f64>) -> (Option<f64>, Option<f64>, u64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return (None, None, 0);
    }
    let median = if n % 2 == 1 {
        values.get(n / 2).copied()
    } else {
        match (values.get(n / 2 - 1), values.get(n / 2)) {
            (Some(a), Some(b)) => Some((a + b) / 2.0),
            _ => None,
        }
    };
    // Nearest rank: the ceil(0.9 n)-th smallest (1-based), computed in integers.
    let rank = (9 * n).div_ceil(10).max(1);
    let p90 = values.get(rank - 1).copied();
    (median, p90, n as u64)
}

/// The four keys of `deployments` (the scope's finished deployments, any order) for `query`,
/// with `environments` the names of the environments in scope, read from the whole ledger
/// (every definition; linear in the scope's history).
pub(crate) fn report(
    deployments: &[FinishedDeployment],
    query: &DoraQuery,
    environments: Vec<String>,
) -> DoraReport {
    report_from(
        &Ledger::new(deployments, query.rollbacks),
        query,
        environments,
    )
}

/// The series boundaries of `query` (every bucket's start after `since`), in order.
pub(crate) fn boundaries(query: &DoraQuery) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    if let Some(SeriesInterval::Week) = query.by {
        let mut start = query.since + Duration::days(7);
        while start < query.until {
            out.push(start);
            start += Duration::days(7);
        }
    }
    out
}

/// The four keys for `query` from `source`.
pub(crate) fn report_from(
    source: &dyn TallySource,
    query: &DoraQuery,
    environments: Vec<String>,
) -> DoraReport {
    let definitions = DoraDefinitions::of(query);
    let thresholds = &definitions.bands;
    let figures = source.tally(query.since, query.until).figures(
        query.since,
        query.until,
        thresholds,
        query.frequency,
    );
    let series = query.by.map(|_| {
        let mut starts = vec![query.since];
        starts.extend(boundaries(query));
        let mut ends = starts[1..].to_vec();
        ends.push(query.until);
        starts
            .into_iter()
            .zip(ends)
            .map(|(a, b)| {
                source
                    .tally(a, b)
                    .figures(a, b, thresholds, query.frequency)
            })
            .collect()
    });
    DoraReport {
        product: query.product.clone(),
        environments,
        since: figures.since,
        until: figures.until,
        deployment_frequency: figures.deployment_frequency,
        lead_time: figures.lead_time,
        change_failure_rate: figures.change_failure_rate,
        change_failures: figures.change_failures,
        time_to_restore: figures.time_to_restore,
        bands: figures.bands,
        definitions,
        series,
    }
}
