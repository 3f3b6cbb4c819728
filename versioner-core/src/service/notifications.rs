//! Notifications: channels and preferences (configured by admins and SREs), the history of
//! deliveries, and (feature `notify`) the delivery loop that reads the outbox from each
//! channel's acknowledged cursor.
//!
//! # Delivery
//! Each channel is delivered by one holder at a time: a lease on the channel's row (taken and
//! renewed in a write transaction; on PostgreSQL the row lock makes the check and the take one
//! step), so with several servers on one database each event goes out from exactly one of
//! them. The holder reads the events after the channel's cursor, sends those its preferences
//! match, in order, retrying transient failures (5xx, 429, network errors, timeouts) with
//! exponential backoff, and moves the cursor past each event once it is delivered or parked.
//! A crash between a send and its acknowledgement sends the event again after the restart,
//! with the same delivery id. A 4xx, or a failure on every attempt, parks the event: the
//! attempt is in the history with status `parked` and the channel moves on, so one bad event
//! never stops a channel, and one slow channel never stops another (each has its own loop).

use crate::access::Permission;
use crate::error::{Error, Result};
use crate::notify::{
    Channel, ChannelConfig, ChannelRequest, ChannelType, DeclaredChannel, Delivery, Filters,
    HistoryFilter, Preference, PreferenceRequest, preference_event_type,
};
use crate::outbox::{EventType, NewEvent};
use crate::policy::ApplyMode;
use crate::store::{self, LockScope, Tx};

use super::Versioner;

/// The channel named or identified by `id_or_name`.
fn find_channel(tx: &mut dyn Tx, id_or_name: &str) -> Result<Channel> {
    let wanted = id_or_name.trim();
    let key = crate::names::key(wanted);
    tx.notification_channels()?
        .into_iter()
        .find(|c| c.id == wanted || crate::names::key(&c.name) == key)
        .ok_or_else(|| Error::NotFound {
            kind: "notification channel",
            name: wanted.to_string(),
        })
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Versioner {
    /// Every notification channel, by name (secrets masked when serialized).
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
    pub fn notification_channels(&self) -> Result<Vec<Channel>> {
        self.acting()?.require(Permission::ManageNotifications)?;
        store::read(&*self.store, |tx| tx.notification_channels())
    }

    /// A channel by id or name.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
    pub fn notification_channel(&self, id_or_name: &str) -> Result<Channel> {
        self.acting()?.require(Permission::ManageNotifications)?;
        store::read(&*self.store, |tx| find_channel(tx, id_or_name))
    }

    /// Adds a notification channel. It is sent the events recorded from now on (none before),
    /// once a preference subscribes it.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a blank or taken name, an unknown channel type or a bad config
    /// (naming the key, `config.url`); `FORBIDDEN` when the actor may not manage
    /// notifications; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::notify::{ChannelRequest, PreferenceRequest};
    /// use versioner_core::Versioner;
    /// let vr = Versioner::open_in_memory()?;
    /// let config = serde_json::json!({"url": "https://ci.example.com/hook", "secret": "s3cret"});
    /// let ch = vr.add_notification_channel(&ChannelRequest::new("ci", "webhook", config))?;
    /// vr.add_notification_preference(&PreferenceRequest::new(&ch.id, "deployment.completed"))?;
    /// let shown = serde_json::to_value(&ch).unwrap();
    /// assert_eq!(shown["config"]["secret"], "********");   // stored, never returned
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn add_notification_channel(&self, request: &ChannelRequest) -> Result<Channel> {
        let name = crate::event::required("name", Some(&request.name), 100)?;
        let channel_type: ChannelType = request.channel_type.parse()?;
        let config = ChannelConfig::parse(channel_type, &request.config)?;
        self.put_channel(name, config, false)
    }

    /// Creates a channel, or with `declared` replaces the declared channel of that name.
    pub(super) fn put_channel(
        &self,
        name: String,
        config: ChannelConfig,
        declared: bool,
    ) -> Result<Channel> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageNotifications)?;
            let key = crate::names::key(&name);
            let existing = tx
                .notification_channels()?
                .into_iter()
                .find(|c| crate::names::key(&c.name) == key);
            let channel = match existing {
                Some(old) if declared && old.declared => {
                    let mut c = old;
                    c.config = config.clone();
                    c.name = name.clone();
                    tx.update_notification_channel(&c)?;
                    c
                }
                Some(old) => {
                    return Err(Error::invalid(
                        "name",
                        format!(
                            "a notification channel named `{}` already exists; remove it first",
                            old.name
                        ),
                    ));
                }
                None => {
                    let c = Channel {
                        id: new_id(),
                        name: name.clone(),
                        config: config.clone(),
                        declared,
                        created_at: now,
                        delivered_through: tx.last_event_seq()?,
                    };
                    tx.insert_notification_channel(&c)?;
                    c
                }
            };
            tx.append_event(
                &NewEvent::of(
                    EventType::NotificationChannelChanged,
                    now,
                    &channel.id,
                    &channel,
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(channel)
        })
    }

    /// Removes a channel (by id or name) and its preferences; its history stays.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
    pub fn remove_notification_channel(&self, id_or_name: &str) -> Result<Channel> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageNotifications)?;
            let channel = find_channel(tx, id_or_name)?;
            tx.delete_notification_channel(&channel.id)?;
            tx.append_event(
                &NewEvent::of(
                    EventType::NotificationChannelRemoved,
                    now,
                    &channel.id,
                    &channel,
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(channel)
        })
    }

    /// Every preference, oldest first.
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
    pub fn notification_preferences(&self) -> Result<Vec<Preference>> {
        self.acting()?.require(Permission::ManageNotifications)?;
        store::read(&*self.store, |tx| tx.notification_preferences())
    }

    /// Subscribes a channel to an event type (or `*`), with optional filters.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown channel; `INVALID_INPUT` for an unknown event type or one
    /// the channel does not carry (Slack and e-mail carry `deployment.*` and `build.*`);
    /// `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
    pub fn add_notification_preference(&self, request: &PreferenceRequest) -> Result<Preference> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageNotifications)?;
            let channel = find_channel(tx, &request.channel_id)?;
            let preference = new_preference(&channel, request, now)?;
            tx.insert_notification_preference(&preference)?;
            tx.append_event(
                &NewEvent::of(
                    EventType::NotificationPreferenceChanged,
                    now,
                    &preference.id,
                    &preference,
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(preference)
        })
    }

    /// Removes a preference.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
    pub fn remove_notification_preference(&self, id: &str) -> Result<Preference> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageNotifications)?;
            let preference = tx
                .notification_preferences()?
                .into_iter()
                .find(|p| p.id == id.trim())
                .ok_or_else(|| Error::NotFound {
                    kind: "notification preference",
                    name: id.trim().to_string(),
                })?;
            tx.delete_notification_preference(&preference.id)?;
            tx.append_event(
                &NewEvent::of(
                    EventType::NotificationPreferenceRemoved,
                    now,
                    &preference.id,
                    &preference,
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(preference)
        })
    }

    /// The notification history: delivery attempts, newest first.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown channel; `INVALID_INPUT` for a limit outside 1..=1000;
    /// `FORBIDDEN` when the actor may not read; `STORAGE`.
    pub fn notification_history(&self, filter: &HistoryFilter) -> Result<Vec<Delivery>> {
        self.acting()?.require(Permission::Read)?;
        let limit = filter.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Error::invalid("limit", "must be between 1 and 1000"));
        }
        store::read(&*self.store, |tx| {
            let channel = match &filter.channel {
                Some(c) => Some(find_channel(tx, c)?.id),
                None => None,
            };
            tx.deliveries(channel.as_deref(), filter.status, limit)
        })
    }
}

/// Applies a policy's `[[notifications]]` inside its transaction: declared channels are
/// created or replaced by name with their subscriptions; in replace mode, channels an earlier
/// policy declared and this one does not are removed. Channels added over the API are never
/// touched, and a declared one may not take such a channel's name.
pub(super) fn apply_declared(
    tx: &mut dyn Tx,
    acting: &super::access::Acting,
    declared: Option<&[DeclaredChannel]>,
    mode: ApplyMode,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if declared.is_none() && mode == ApplyMode::Merge {
        return Ok(());
    }
    let wanted = declared.unwrap_or(&[]);
    let existing = tx.notification_channels()?;
    let preferences = tx.notification_preferences()?;
    let key = |n: &str| crate::names::key(n);
    let by = acting.principal.as_deref();
    for c in existing.iter().filter(|c| c.declared) {
        if mode == ApplyMode::Replace && !wanted.iter().any(|d| key(&d.name) == key(&c.name)) {
            acting.require(Permission::ManageNotifications)?;
            tx.delete_notification_channel(&c.id)?;
            tx.append_event(
                &NewEvent::of(EventType::NotificationChannelRemoved, now, &c.id, c).by(by),
            )?;
        }
    }
    for d in wanted {
        let current = existing.iter().find(|c| key(&c.name) == key(&d.name));
        let channel = match current {
            Some(c) if !c.declared => {
                return Err(Error::invalid(
                    "notifications",
                    format!(
                        "a notification channel named `{}` was added over the API; remove it \
                         or declare another name",
                        c.name
                    ),
                ));
            }
            Some(c) => {
                let mut same: Vec<(String, Filters)> = preferences
                    .iter()
                    .filter(|p| p.channel_id == c.id)
                    .map(|p| (p.event_type.clone(), p.filters.clone()))
                    .collect();
                let mut want: Vec<(String, Filters)> = d
                    .events
                    .iter()
                    .map(|e| (e.clone(), d.filters.clone()))
                    .collect();
                same.sort_by(|a, b| a.0.cmp(&b.0));
                want.sort_by(|a, b| a.0.cmp(&b.0));
                if c.config == d.config && c.name == d.name && same == want {
                    continue;
                }
                let mut c = c.clone();
                c.config = d.config.clone();
                c.name = d.name.clone();
                acting.require(Permission::ManageNotifications)?;
                tx.update_notification_channel(&c)?;
                for p in preferences.iter().filter(|p| p.channel_id == c.id) {
                    tx.delete_notification_preference(&p.id)?;
                }
                c
            }
            None => {
                acting.require(Permission::ManageNotifications)?;
                let c = Channel {
                    id: new_id(),
                    name: d.name.clone(),
                    config: d.config.clone(),
                    declared: true,
                    created_at: now,
                    delivered_through: tx.last_event_seq()?,
                };
                tx.insert_notification_channel(&c)?;
                c
            }
        };
        tx.append_event(
            &NewEvent::of(
                EventType::NotificationChannelChanged,
                now,
                &channel.id,
                &channel,
            )
            .by(by),
        )?;
        for event_type in &d.events {
            let p = Preference {
                id: new_id(),
                channel_id: channel.id.clone(),
                event_type: event_type.clone(),
                filters: d.filters.clone(),
                created_at: now,
            };
            tx.insert_notification_preference(&p)?;
        }
    }
    Ok(())
}

/// A validated preference of `channel`.
pub(super) fn new_preference(
    channel: &Channel,
    request: &PreferenceRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Preference> {
    let event_type = preference_event_type(channel.channel_type(), &request.event_type)?;
    let mut filters = request.filters.clone();
    for list in [
        &mut filters.environments,
        &mut filters.products,
        &mut filters.statuses,
    ] {
        list.retain(|s| !s.trim().is_empty());
        for s in list.iter_mut() {
            *s = s.trim().to_string();
        }
    }
    Ok(Preference {
        id: new_id(),
        channel_id: channel.id.clone(),
        event_type,
        filters,
        created_at: now,
    })
}

#[cfg(feature = "notify")]
pub use delivery::{DeliveryOptions, DeliveryReport};

#[cfg(feature = "notify")]
mod delivery {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;
    use crate::notify::payload::{self, Notification};
    use crate::notify::send::{Attempt, Message, Sender};
    use crate::notify::{DeliveryStatus, email, slack};

    /// How notifications are delivered.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct DeliveryOptions {
        /// Attempts per event before it is parked (default 3, the public product's).
        pub attempts: NonZeroU32,
        /// The wait after the first failed attempt, doubled after each one (default 1 s: waits
        /// of 1 s then 2 s).
        pub backoff: Duration,
        /// How long one attempt may take (default 10 s).
        pub timeout: Duration,
        /// The dashboard's public URL (`https://versioner.example.com`): payloads' `source_url`
        /// and Slack's links point there. None by default.
        pub public_url: Option<String>,
        /// Events read per batch (default 100).
        pub batch: u32,
    }

    impl Default for DeliveryOptions {
        fn default() -> Self {
            DeliveryOptions {
                attempts: NonZeroU32::MIN.saturating_add(2),
                backoff: Duration::from_secs(1),
                timeout: Duration::from_secs(10),
                public_url: None,
                batch: 100,
            }
        }
    }

    impl DeliveryOptions {
        /// The defaults: 3 attempts, 1 s then 2 s, 10 s per attempt.
        pub fn new() -> Self {
            DeliveryOptions::default()
        }

        /// How long a channel's lease lasts: longer than the slowest delivery of one event.
        fn lease(&self) -> TimeDelta {
            let attempts = self.attempts.get();
            let mut total = self.timeout * attempts;
            for k in 0..attempts.saturating_sub(1) {
                total += self.backoff * 2u32.saturating_pow(k);
            }
            // The margin covers the history and cursor writes around the sends.
            let margin = self.timeout.max(Duration::from_secs(5));
            TimeDelta::from_std(total + margin).unwrap_or(TimeDelta::hours(1))
        }

        /// The wait after failed attempt `n` (1-based).
        fn wait(&self, n: u32) -> Duration {
            self.backoff * 2u32.saturating_pow(n.saturating_sub(1))
        }
    }

    /// What a delivery run did.
    #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[non_exhaustive]
    pub struct DeliveryReport {
        /// Channels this run delivered (whose lease it held).
        pub channels: u32,
        /// Events delivered.
        pub delivered: u64,
        /// Events parked (a 4xx, or every attempt failed).
        pub parked: u64,
        /// Attempts made.
        pub attempts: u64,
    }

    impl DeliveryReport {
        fn add(&mut self, other: &DeliveryReport) {
            self.channels += other.channels;
            self.delivered += other.delivered;
            self.parked += other.parked;
            self.attempts += other.attempts;
        }
    }

    fn message(
        n: &Notification,
        delivery_id: String,
        buttons: &[crate::buttons::RenderedButton],
    ) -> Message {
        Message {
            event_type: n.event_type.as_str().to_string(),
            delivery_id,
            webhook: n.body.clone(),
            slack: slack::message(n, buttons),
            email: email::message(n),
        }
    }

    impl Versioner {
        /// Delivers every channel's pending notifications once (until each is caught up),
        /// with the default [`DeliveryOptions`]: what an embedder calls from its own loop or
        /// thread. Channels are delivered in parallel; a channel another process is
        /// delivering is left to it.
        ///
        /// # Errors
        /// `STORAGE` (a failed delivery is not an error: it is in the history).
        pub fn deliver_pending(&self) -> Result<DeliveryReport> {
            self.deliver_pending_with(&DeliveryOptions::default())
        }

        /// [`Versioner::deliver_pending`] with `options`.
        ///
        /// # Errors
        /// As [`Versioner::deliver_pending`].
        pub fn deliver_pending_with(&self, options: &DeliveryOptions) -> Result<DeliveryReport> {
            let channels = store::read(&*self.store, |tx| tx.notification_channels())?;
            let results: Vec<Result<DeliveryReport>> = std::thread::scope(|s| {
                let handles: Vec<_> = channels
                    .iter()
                    .map(|c| s.spawn(|| self.deliver_channel(&c.id, options)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(Error::internal("a delivery thread panicked")))
                    })
                    .collect()
            });
            let mut report = DeliveryReport::default();
            for r in results {
                report.add(&r?);
            }
            Ok(report)
        }

        /// Delivers one channel's pending notifications until it is caught up, unless another
        /// holder has its lease (then nothing is done).
        ///
        /// # Errors
        /// `NOT_FOUND` for an unknown channel; `STORAGE`.
        pub fn deliver_channel(
            &self,
            id: &str,
            options: &DeliveryOptions,
        ) -> Result<DeliveryReport> {
            let holder = new_id();
            let (channel, preferences) = store::read(&*self.store, |tx| {
                let c = find_channel(tx, id)?;
                let prefs: Vec<Preference> = tx
                    .notification_preferences()?
                    .into_iter()
                    .filter(|p| p.channel_id == c.id)
                    .collect();
                Ok((c, prefs))
            })?;
            let sender = Sender::new(options.timeout)?;
            let lease = options.lease();
            let mut report = DeliveryReport::default();
            let result = self.deliver_leased(
                &channel,
                &preferences,
                &holder,
                &sender,
                options,
                lease,
                &mut report,
            );
            let released = store::write(&*self.store, &LockScope::Global, |tx| {
                tx.release_notification_channel(&channel.id, &holder)
            });
            result.and(released).map(|()| report)
        }

        #[expect(clippy::too_many_arguments, reason = "one private loop's state")]
        fn deliver_leased(
            &self,
            channel: &Channel,
            preferences: &[Preference],
            holder: &str,
            sender: &Sender,
            options: &DeliveryOptions,
            lease: TimeDelta,
            report: &mut DeliveryReport,
        ) -> Result<()> {
            let lock = LockScope::Global;
            let mut counted = false;
            loop {
                let now = self.now();
                let Some(cursor) = store::write(&*self.store, &lock, |tx| {
                    tx.lease_notification_channel(&channel.id, holder, now, now + lease)
                })?
                else {
                    return Ok(());
                };
                if !counted {
                    report.channels += 1;
                    counted = true;
                }
                let events = self.events_since(cursor, options.batch.max(1))?;
                let Some(last) = events.last().map(|e| e.seq) else {
                    return Ok(());
                };
                let mut acknowledged = cursor;
                for event in &events {
                    let n = payload::notification(event, options.public_url.as_deref())
                        .filter(|n| channel.channel_type().carries(n.event_type))
                        .filter(|n| preferences.iter().any(|p| p.matches(n)));
                    let Some(n) = n else { continue };
                    // A build ready to deploy shows its product's deployment buttons in Slack.
                    let buttons = match (n.event_type, channel.channel_type(), &n.product) {
                        (EventType::BuildCompleted, ChannelType::SlackWebhook, Some(product)) => {
                            let version = n.body["version"].as_str().unwrap_or_default();
                            self.version_buttons(product, version).unwrap_or_default()
                        }
                        _ => Vec::new(),
                    };
                    let m = message(&n, payload::delivery_id(event.seq, &channel.id), &buttons);
                    let last_attempt = self.send_with_retries(
                        channel,
                        &m,
                        Some(event.seq),
                        sender,
                        options,
                        report,
                    )?;
                    match last_attempt.status {
                        DeliveryStatus::Delivered => report.delivered += 1,
                        _ => report.parked += 1,
                    }
                    acknowledged = event.seq;
                    let now = self.now();
                    // The final attempt and the cursor move commit together: one write per
                    // event, and no moment where one is recorded without the other.
                    let held = store::write(&*self.store, &lock, |tx| {
                        tx.insert_delivery(&last_attempt)?;
                        tx.advance_notification_channel(
                            &channel.id,
                            holder,
                            acknowledged,
                            now + lease,
                        )
                    })?;
                    if !held {
                        // Another holder took over (this one was too slow): it resends from the
                        // cursor, with the same delivery ids.
                        return Ok(());
                    }
                }
                if acknowledged < last {
                    let now = self.now();
                    let held = store::write(&*self.store, &lock, |tx| {
                        tx.advance_notification_channel(&channel.id, holder, last, now + lease)
                    })?;
                    if !held {
                        return Ok(());
                    }
                }
            }
        }

        /// Sends `m` until delivered or parked, recording every attempt but the last, which
        /// it returns for the caller to record (with the cursor move, in one transaction).
        fn send_with_retries(
            &self,
            channel: &Channel,
            m: &Message,
            seq: Option<i64>,
            sender: &Sender,
            options: &DeliveryOptions,
            report: &mut DeliveryReport,
        ) -> Result<Delivery> {
            let attempts = options.attempts.get();
            let mut n = 1;
            loop {
                let (outcome, took) = sender.send(&channel.config, m);
                report.attempts += 1;
                let (status, code, error) = match outcome {
                    Attempt::Delivered { code } => (DeliveryStatus::Delivered, Some(code), None),
                    Attempt::Transient { code, error } if n < attempts => {
                        (DeliveryStatus::Retrying, code, Some(error))
                    }
                    Attempt::Transient { code, error } | Attempt::Permanent { code, error } => {
                        (DeliveryStatus::Parked, code, Some(error))
                    }
                };
                if let Some(e) = &error {
                    tracing::warn!(
                        channel = %channel.name,
                        delivery = %m.delivery_id,
                        attempt = n,
                        status = status.as_str(),
                        error = %e,
                        "notification attempt failed"
                    );
                }
                let delivery = Delivery {
                    id: new_id(),
                    delivery_id: m.delivery_id.clone(),
                    channel_id: channel.id.clone(),
                    channel_name: channel.name.clone(),
                    seq,
                    event_type: m.event_type.clone(),
                    attempt: n,
                    status,
                    response_code: code,
                    latency_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                    error,
                    attempted_at: self.now(),
                };
                if status != DeliveryStatus::Retrying {
                    return Ok(delivery);
                }
                store::write(&*self.store, &LockScope::Global, |tx| {
                    tx.insert_delivery(&delivery)
                })?;
                std::thread::sleep(options.wait(n));
                n += 1;
            }
        }

        /// Sends a test notification to a channel (by id or name), once, and records the
        /// attempt: a webhook receives `X-Versioner-Event: test` and `{"event_type": "test",
        /// ...}`.
        ///
        /// # Errors
        /// `NOT_FOUND`; `FORBIDDEN` when the actor may not manage notifications; `STORAGE`.
        /// A failed send is not an error: the returned attempt says what happened.
        pub fn send_test_notification(&self, id_or_name: &str) -> Result<Delivery> {
            self.acting()?.require(Permission::ManageNotifications)?;
            let channel = store::read(&*self.store, |tx| find_channel(tx, id_or_name))?;
            let now = self.now();
            let text = format!(
                "Test notification from Versioner to channel `{}`",
                channel.name
            );
            let m = Message {
                event_type: "test".to_string(),
                delivery_id: format!("test-{}", new_id()),
                webhook: json!({
                    "event_type": "test",
                    "occurred_at": now,
                    "channel_name": channel.name,
                    "message": text,
                }),
                slack: json!({"text": format!("✅ {text}")}),
                email: (
                    "[Versioner] test notification".to_string(),
                    format!("{text}\n"),
                ),
            };
            let options = DeliveryOptions {
                attempts: NonZeroU32::MIN,
                ..DeliveryOptions::default()
            };
            let sender = Sender::new(options.timeout)?;
            let mut report = DeliveryReport::default();
            let attempt =
                self.send_with_retries(&channel, &m, None, &sender, &options, &mut report)?;
            store::write(&*self.store, &LockScope::Global, |tx| {
                tx.insert_delivery(&attempt)
            })?;
            Ok(attempt)
        }
    }
}
