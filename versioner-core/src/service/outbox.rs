//! Reading the outbox: the stream of domain events, and each consumer's cursor.

use crate::error::{Error, Result};
use crate::outbox::{AuditReport, DomainEvent, MAX_EVENTS_PER_READ};
use crate::store::{self, LockScope};

use super::Versioner;

/// A consumer's name: 1 to 100 visible characters.
fn consumer_name(consumer: &str) -> Result<String> {
    crate::event::required("consumer", Some(consumer), 100)
}

impl Versioner {
    /// Domain events with a sequence number above `after`, in order, at most `limit` (capped at
    /// [`MAX_EVENTS_PER_READ`]). Start from 0 for the whole stream, or from a consumer's
    /// [`cursor`](Versioner::cursor).
    ///
    /// # Errors
    /// `INVALID_INPUT` for a negative `after` or a zero `limit`; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, EventType, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// let events = vr.events_since(vr.cursor("mailer")?, 100)?;
    /// assert_eq!(events[0].event_type, EventType::BuildCompleted);
    /// vr.acknowledge("mailer", events[0].seq)?;          // the consumer's progress
    /// assert!(vr.events_since(vr.cursor("mailer")?, 100)?.is_empty());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn events_since(&self, after: i64, limit: u32) -> Result<Vec<DomainEvent>> {
        if after < 0 {
            return Err(Error::invalid("after", "must be 0 or a sequence number"));
        }
        if limit == 0 {
            return Err(Error::invalid("limit", "must be at least 1"));
        }
        let limit = limit.min(MAX_EVENTS_PER_READ);
        store::read(&*self.store, |tx| tx.events_since(after, limit))
    }

    /// How the database connections are used now: open, idle, and the most the store opens
    /// (SQLite: its writer and reader connections; PostgreSQL: the pool).
    pub fn connections(&self) -> crate::store::ConnectionUse {
        self.store.connections()
    }

    /// The sequence number of the newest event (0 when none).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn last_event_seq(&self) -> Result<i64> {
        store::read(&*self.store, |tx| tx.last_event_seq())
    }

    /// What `consumer` has acknowledged: the sequence number to read after (0 at first).
    ///
    /// # Errors
    /// `INVALID_INPUT` for a blank name; `STORAGE`.
    pub fn cursor(&self, consumer: &str) -> Result<i64> {
        let consumer = consumer_name(consumer)?;
        store::read(&*self.store, |tx| tx.consumer_cursor(&consumer))
    }

    /// Records that `consumer` has processed every event up to `seq`. A cursor never moves
    /// back: acknowledging an older position changes nothing.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a blank name, or a `seq` below 0 or beyond the newest event;
    /// `STORAGE`.
    pub fn acknowledge(&self, consumer: &str, seq: i64) -> Result<()> {
        let consumer = consumer_name(consumer)?;
        let lock = LockScope::Global;
        store::write(&*self.store, &lock, |tx| {
            let last = tx.last_event_seq()?;
            if seq < 0 || seq > last {
                return Err(Error::invalid(
                    "seq",
                    format!("must be between 0 and the newest event, {last}"),
                ));
            }
            let now = self.now();
            tx.set_consumer_cursor(&consumer, seq, now)
        })
    }

    /// Checks the audit chain from the first event to the newest: every event's hash must be
    /// the hash of its content and the previous event's hash. Editing, deleting or inserting
    /// any row directly in the database breaks it; the report names the first event that does
    /// not match.
    ///
    /// # Errors
    /// `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{BuildEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// let report = vr.audit_verify()?;
    /// assert_eq!(report.first_mismatch, None);           // the hash chain is intact
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn audit_verify(&self) -> Result<AuditReport> {
        let mut report = AuditReport {
            entries: 0,
            unchained: 0,
            first_mismatch: None,
            reason: None,
            head: None,
        };
        let mut previous: Option<String> = None;
        let mut expected_seq = 1;
        let mut chained = false;
        let mut after = 0;
        loop {
            let batch = self.events_since(after, MAX_EVENTS_PER_READ)?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.seq;
            for e in batch {
                report.entries += 1;
                let problem = if e.seq != expected_seq {
                    Some(format!(
                        "expected event {expected_seq} next, found {}: an event was removed or inserted",
                        e.seq
                    ))
                } else {
                    match (&e.hash, chained) {
                        (None, false) => {
                            report.unchained += 1;
                            None
                        }
                        (None, true) => {
                            Some("its hash was removed after the chain began".to_string())
                        }
                        (Some(h), _) if *h == e.expected_hash(previous.as_deref()) => None,
                        (Some(_), _) => Some(
                            "its content or its link to the previous event was changed".to_string(),
                        ),
                    }
                };
                if let Some(reason) = problem {
                    report.first_mismatch = Some(e.seq);
                    report.reason = Some(reason);
                    return Ok(report);
                }
                if e.hash.is_some() {
                    chained = true;
                    previous.clone_from(&e.hash);
                }
                expected_seq = e.seq + 1;
            }
        }
        report.head = previous;
        Ok(report)
    }
}
