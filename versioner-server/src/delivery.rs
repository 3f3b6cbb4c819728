//! The notification delivery worker of `versioner serve`: a tokio task that, every poll
//! interval, starts the core's delivery loop ([`Versioner::deliver_channel`]) on the blocking
//! pool for each channel that has none running, so a slow or failing channel never holds up
//! another. The core does the rest: the per-channel lease (each event is delivered by one
//! server of those sharing a PostgreSQL database), the acknowledged cursor, retries and the
//! history.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinHandle;
use versioner_core::{DeliveryOptions, Versioner};

use crate::AppState;

/// How often the worker looks for new events by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// Starts the worker on the current runtime; it runs until the runtime stops (or the handle is
/// aborted).
pub fn spawn(vr: Versioner, options: DeliveryOptions, poll: Duration) -> JoinHandle<()> {
    run(vr, options, poll, None)
}

/// [`spawn`] for a server: the worker also counts what it delivers, parks and attempts, per
/// channel, in the server's `GET /metrics`.
pub fn spawn_for(state: &AppState, options: DeliveryOptions, poll: Duration) -> JoinHandle<()> {
    run(
        state.versioner().clone(),
        options,
        poll,
        Some(state.clone()),
    )
}

fn run(
    vr: Versioner,
    options: DeliveryOptions,
    poll: Duration,
    state: Option<AppState>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
        let mut ticker = tokio::time::interval(poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            running.retain(|_, h| !h.is_finished());
            let list = vr.clone();
            let channels =
                match tokio::task::spawn_blocking(move || list.notification_channels()).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot list notification channels");
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the channel listing task failed");
                        continue;
                    }
                };
            for channel in channels {
                if running.contains_key(&channel.id) {
                    continue;
                }
                let (vr, options, id) = (vr.clone(), options.clone(), channel.id.clone());
                let (state, name) = (state.clone(), channel.name.clone());
                let handle = tokio::task::spawn_blocking(move || {
                    match vr.deliver_channel(&id, &options) {
                        Ok(r) if r.attempts > 0 => {
                            if let Some(s) = &state {
                                s.metrics().deliveries(&name, &r);
                            }
                            tracing::info!(
                                channel = %id,
                                delivered = r.delivered,
                                parked = r.parked,
                                attempts = r.attempts,
                                "notifications delivered"
                            );
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(channel = %id, error = %e, "notification delivery failed")
                        }
                    }
                });
                running.insert(channel.id, handle);
            }
        }
    })
}
