//! In-process subscriptions: a callback called with each domain event after its transaction
//! commits, on a background thread that follows the outbox, so a slow or failing callback
//! never slows down or fails the operation that produced the event. Refused work
//! (`deployment.preflight_failed`) is never passed to it. It sees the events committed after
//! it subscribed, by any process on the same database, in commit order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::outbox::{DomainEvent, EventType, MAX_EVENTS_PER_READ};

use super::Versioner;

/// How often a subscription looks for new events.
const POLL: Duration = Duration::from_millis(20);

/// A running subscription ([`Versioner::subscribe`]); dropping it (or
/// [`Subscription::cancel`]) stops it once the callback in progress returns.
#[derive(Debug)]
pub struct Subscription {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Subscription {
    /// Stops the subscription and waits for its thread.
    pub fn cancel(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.halt();
    }
}

impl Versioner {
    /// Calls `callback` with every domain event committed from now on, in commit order, on a
    /// background thread: after the transaction commits, never for refused work
    /// (`deployment.preflight_failed`), and a callback that panics is logged and skipped, never
    /// failing the operation (or stopping the subscription).
    ///
    /// # Errors
    /// `STORAGE` reading the current position; `INTERNAL` when no thread can be started.
    ///
    /// # Examples
    /// ```
    /// use std::sync::mpsc;
    /// use versioner_core::{BuildEvent, EventType, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// let (tx, rx) = mpsc::channel();
    /// let sub = vr.subscribe(move |e| { let _ = tx.send(e.event_type); })?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)).ok(), Some(EventType::BuildCompleted));
    /// sub.cancel();
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn subscribe<F>(&self, callback: F) -> Result<Subscription>
    where
        F: Fn(&DomainEvent) + Send + 'static,
    {
        let mut cursor = self.last_event_seq()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let vr = self.clone();
        let thread = std::thread::Builder::new()
            .name("versioner-subscription".into())
            .spawn(move || {
                while !stopped.load(Ordering::SeqCst) {
                    let events = match vr.events_since(cursor, MAX_EVENTS_PER_READ) {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::warn!(error = %e, "a subscription cannot read the outbox");
                            std::thread::sleep(POLL * 10);
                            continue;
                        }
                    };
                    if events.is_empty() {
                        std::thread::sleep(POLL);
                        continue;
                    }
                    for e in &events {
                        cursor = e.seq;
                        if e.event_type == EventType::DeploymentPreflightFailed {
                            continue;
                        }
                        let call = std::panic::AssertUnwindSafe(|| callback(e));
                        if std::panic::catch_unwind(call).is_err() {
                            tracing::warn!(seq = e.seq, event = %e.event_type, "a subscriber's callback panicked");
                        }
                        if stopped.load(Ordering::SeqCst) {
                            return;
                        }
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start a subscription thread: {e}")))?;
        Ok(Subscription {
            stop,
            thread: Some(thread),
        })
    }
}
