//! Waiting instead of failing: the wait queue (see [`crate::queue`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::access::Permission;
use crate::error::{Error, Result};
use crate::event::{CheckRequest, DeploymentEvent};
use crate::model::Deployment;
use crate::policy::{BlockCode, Verdict};
use crate::queue::{POLL_INTERVAL, QueueEntry, WaitStatus, check_wait};
use crate::status::Status;
use crate::store::{self, LockScope, Store};

use super::Versioner;

impl Versioner {
    /// Records a deployment event like [`Versioner::track_deployment`], but a `started` event
    /// whose preflight is blocked by something time alone clears — a no-deploy window or an
    /// allow window not yet open, a soak not yet over (the verdict has a `retry_after`), a
    /// deployment in progress (`CONCURRENT_DEPLOYMENT`) — waits up to `wait` instead of
    /// failing.
    ///
    /// The deployment takes a ticket in its environment's queue; tickets are served in
    /// arrival order, and only the head of the queue runs the preflight (a dry run while the
    /// block holds, so a wait records a refusal at most once). It polls at most every
    /// [`POLL_INTERVAL`], renewing its ticket's heartbeat, and calls `progress` with its
    /// position and what it waits for. When the block clears it is tracked; when the block is
    /// one time cannot clear (an approval missing, a flow violation, ...), or a window or soak
    /// whose `retry_after` lies past the limit, it fails at once; when `wait` runs out the preflight runs one last time and its block is returned. The
    /// ticket is removed whatever the outcome (a waiter that dies leaves a ticket whose
    /// heartbeat goes stale; it is skipped and removed by the next waiter). Other statuses,
    /// an emergency bypass and a zero `wait` are tracked at once.
    ///
    /// # Errors
    /// Those of [`Versioner::track_deployment`] (a block is [`Error::Blocked`] with the
    /// verdict of the last attempt); `INVALID_INPUT` naming `wait` when it exceeds
    /// [`MAX_WAIT`](crate::queue::MAX_WAIT).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// let ev = DeploymentEvent::new("api", "1.0.0", "production", "started");
    /// // Nothing blocks: tracked at once, the queue is empty again.
    /// let d = vr.track_deployment_waiting(&ev, Duration::from_secs(60), &mut |_| {})?;
    /// assert_eq!(d.version, "1.0.0");
    /// assert!(vr.queue(None)?.is_empty());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn track_deployment_waiting(
        &self,
        event: &DeploymentEvent,
        wait: Duration,
        progress: &mut dyn FnMut(&WaitStatus),
    ) -> Result<Deployment> {
        check_wait(wait, "wait")?;
        let valid = event.validate()?;
        if valid.status != Status::Started || valid.bypass.is_some() || wait.is_zero() {
            return self.track_deployment(event);
        }
        let ev = self.attribute_deployment(valid)?;
        let env_key = crate::names::key(&ev.environment);
        let lock = LockScope::Environment(ev.environment.clone());
        let begun = Instant::now();
        let deadline = self.now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let mut ticket = QueueEntry {
            id: uuid::Uuid::now_v7().to_string(),
            position: 0,
            product_name: ev.product.clone(),
            version: ev.version.clone(),
            environment_name: ev.environment.clone(),
            waiter: ev.fields.deployed_by.clone(),
            since: self.now(),
            heartbeat_at: Utc::now(),
        };
        store::write(&*self.store, &lock, |tx| tx.enqueue(&env_key, &ticket))?;
        let _guard = Ticket {
            store: Arc::clone(&self.store),
            lock: lock.clone(),
            id: ticket.id.clone(),
        };
        let mut check = CheckRequest::new(
            ev.product.as_str(),
            ev.version.as_str(),
            ev.environment.as_str(),
        );
        check.deployed_by = event.deployed_by.clone();
        loop {
            let (position, length) = self.place(&mut ticket, &env_key, &lock)?;
            let expired = begun.elapsed() >= wait;
            let verdict = self.check(&check)?;
            // A block whose `retry_after` lies past the limit is one the wait cannot outlast.
            let clearable =
                time_clearable(&verdict) && verdict.retry_after().is_none_or(|t| t <= deadline);
            let blocked_for_good = !verdict.is_allowed() && !clearable;
            let head_may_go = position == 1 && verdict.is_allowed();
            if blocked_for_good || expired {
                // Give up with the block (recorded once), or go if it cleared just now.
                return self.track_deployment(event);
            }
            if head_may_go {
                match self.track_deployment(event) {
                    // Another writer got in between the dry run and the attempt: wait on.
                    Err(Error::Blocked(v)) if time_clearable(&v) => {}
                    other => return other,
                }
            }
            progress(&status(position, length, &verdict, deadline));
            let left = wait.saturating_sub(begun.elapsed());
            std::thread::sleep(POLL_INTERVAL.min(left).max(Duration::from_millis(10)));
        }
    }

    /// The deployments waiting in the wait queue (see
    /// [`Versioner::track_deployment_waiting`]), of one environment or of all, each
    /// environment's in arrival order with its position from 1. Abandoned tickets (a waiter
    /// that died) are left out.
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not read; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::Versioner;
    /// let vr = Versioner::open_in_memory()?;
    /// assert!(vr.queue(Some("production"))?.is_empty());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn queue(&self, environment: Option<&str>) -> Result<Vec<QueueEntry>> {
        self.acting()?.require(Permission::Read)?;
        let key = environment.map(crate::names::key);
        let tickets = store::read(&*self.store, |tx| tx.queue_tickets(key.as_deref()))?;
        let now = Utc::now();
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        let mut position = 0;
        for mut t in tickets.into_iter().filter(|t| !t.is_stale(now)) {
            let k = crate::names::key(&t.environment_name);
            if current.as_deref() != Some(k.as_str()) {
                current = Some(k);
                position = 0;
            }
            position += 1;
            t.position = position;
            out.push(t);
        }
        Ok(out)
    }

    /// Renews the ticket's heartbeat, removes abandoned tickets of its queue, and gives its
    /// position and the queue's length. A ticket that was itself removed as abandoned (its
    /// waiter stalled) is queued again, at the back.
    fn place(
        &self,
        ticket: &mut QueueEntry,
        env_key: &str,
        lock: &LockScope,
    ) -> Result<(u32, u32)> {
        store::write(&*self.store, lock, |tx| {
            let now = Utc::now();
            ticket.heartbeat_at = now;
            if !tx.update_ticket(ticket)? {
                tx.enqueue(env_key, ticket)?;
            }
            let mut position = 0;
            let mut length = 0;
            for t in tx.queue_tickets(Some(env_key))? {
                if t.id != ticket.id && t.is_stale(now) {
                    tx.dequeue(&t.id)?;
                    continue;
                }
                length += 1;
                if t.id == ticket.id {
                    position = length;
                }
            }
            Ok((position, length))
        })
    }
}

/// Whether time alone clears every block of a blocked verdict: each blocking failure is a
/// deployment in progress or has a `retry_after`.
fn time_clearable(v: &Verdict) -> bool {
    !v.is_allowed()
        && v.failures()
            .all(|o| o.code == Some(BlockCode::ConcurrentDeployment) || o.retry_after.is_some())
}

/// What a waiter reports at one poll.
fn status(
    position: u32,
    length: u32,
    verdict: &Verdict,
    deadline: chrono::DateTime<Utc>,
) -> WaitStatus {
    if position > 1 {
        let ahead = position - 1;
        return WaitStatus {
            position,
            queue_length: length,
            code: None,
            message: format!(
                "waiting for {ahead} deployment{} queued earlier in {}",
                if ahead == 1 { "" } else { "s" },
                verdict.environment_name()
            ),
            retry_after: None,
            deadline,
        };
    }
    let message = match verdict.code() {
        Some(BlockCode::ConcurrentDeployment) => {
            "waiting for the deployment in progress to finish".to_string()
        }
        _ => match verdict.retry_after() {
            Some(t) => format!(
                "waiting until {}: {}",
                crate::wire::instant::format(&t),
                verdict.summary()
            ),
            None => format!("waiting: {}", verdict.summary()),
        },
    };
    WaitStatus {
        position,
        queue_length: length,
        code: verdict.code(),
        message,
        retry_after: verdict.retry_after(),
        deadline,
    }
}

/// A queued ticket, removed when the wait ends however it ends (a panic included).
struct Ticket {
    store: Arc<dyn Store>,
    lock: LockScope,
    id: String,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // A ticket that cannot be removed goes stale and is pruned by the next waiter.
        let _ = store::write(&*self.store, &self.lock, |tx| tx.dequeue(&self.id));
    }
}
