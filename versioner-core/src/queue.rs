//! The wait queue: deployments waiting for a block that time alone clears.
//!
//! A `started` deployment tracked with a wait limit (see
//! [`Versioner::track_deployment_waiting`](crate::Versioner::track_deployment_waiting)) takes a
//! ticket in its environment's queue. Tickets are served in arrival order: only the ticket at
//! the head of its environment's queue runs the preflight; the others wait behind it. A waiter
//! renews its ticket's heartbeat at every poll; a ticket whose heartbeat is older than
//! [`STALE_AFTER`] (its waiter died) is skipped and removed, so it never blocks the queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::BlockCode;

/// How often a waiter polls (and renews its heartbeat), at most.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How old a ticket's heartbeat may be before the ticket counts as abandoned: three polls.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// The longest wait a caller may ask for: one hour.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// One deployment waiting in an environment's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct QueueEntry {
    /// The ticket's id.
    pub id: String,
    /// Its place in its environment's queue, from 1 (the head, whose preflight runs next).
    #[serde(default)]
    pub position: u32,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment, as the event named it.
    pub environment_name: String,
    /// Who waits (the deployer, else the actor), when known.
    #[serde(default)]
    pub waiter: Option<String>,
    /// When the ticket was taken.
    #[serde(with = "crate::wire::instant")]
    pub since: DateTime<Utc>,
    /// When its waiter last showed it is alive.
    #[serde(with = "crate::wire::instant")]
    pub heartbeat_at: DateTime<Utc>,
}

impl QueueEntry {
    /// Whether the ticket's waiter has stopped renewing it (see [`STALE_AFTER`]).
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        now - self.heartbeat_at > chrono::Duration::from_std(STALE_AFTER).unwrap_or_default()
    }
}

/// What a waiting deployment is waiting for, reported at every poll.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WaitStatus {
    /// The deployment's place in its environment's queue, from 1.
    pub position: u32,
    /// How many deployments wait in that queue, this one included.
    pub queue_length: u32,
    /// The block it waits out, when it is at the head (`None` while it waits its turn).
    pub code: Option<BlockCode>,
    /// What it waits for, in words.
    pub message: String,
    /// When time alone clears the block, when known.
    pub retry_after: Option<DateTime<Utc>>,
    /// When the wait gives up.
    pub deadline: DateTime<Utc>,
}

/// Parses a wait limit: whole seconds (`90`) or a duration with a unit (`30s`, `30m`, `1h`,
/// `1h30m`), at most [`MAX_WAIT`].
///
/// # Errors
/// `INVALID_INPUT` naming `field` for anything else.
pub fn parse_wait(text: &str, field: &str) -> crate::Result<Duration> {
    let bad = |why: &str| {
        crate::Error::invalid(
            field,
            format!(
                "`{text}` is not a wait limit: {why}; give seconds (`90`) or a duration such \
                 as `30s`, `30m`, `1h` (at most 1h)"
            ),
        )
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    let secs: u64 = if t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().map_err(|_| bad("the number is too large"))?
    } else {
        let mut total: u64 = 0;
        let mut num = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(bad(&format!("unknown unit `{c}`"))),
            };
            if num.is_empty() {
                return Err(bad("a unit needs a number before it"));
            }
            let n: u64 = num.parse().map_err(|_| bad("the number is too large"))?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| bad("the number is too large"))?;
            num.clear();
        }
        if !num.is_empty() {
            return Err(bad("a number needs a unit after it (s, m or h)"));
        }
        total
    };
    let wait = Duration::from_secs(secs);
    check_wait(wait, field)?;
    Ok(wait)
}

/// Checks that a wait limit is at most [`MAX_WAIT`].
///
/// # Errors
/// `INVALID_INPUT` naming `field`.
pub fn check_wait(wait: Duration, field: &str) -> crate::Result<()> {
    if wait > MAX_WAIT {
        return Err(crate::Error::invalid(
            field,
            format!(
                "a wait of {}s is longer than the limit of {}s (1h)",
                wait.as_secs(),
                MAX_WAIT.as_secs()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_parse() {
        assert_eq!(parse_wait("90", "wait").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_wait("30m", "wait").unwrap(),
            Duration::from_secs(1800)
        );
        assert_eq!(parse_wait("1h", "wait").unwrap(), Duration::from_secs(3600));
        assert_eq!(
            parse_wait("1m30s", "wait").unwrap(),
            Duration::from_secs(90)
        );
        for bad in ["", "2h", "3601", "10x", "m", "5m3", "-1"] {
            let e = parse_wait(bad, "wait").unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "{bad}");
            assert!(e.to_string().contains("wait"), "{e}");
        }
    }
}
