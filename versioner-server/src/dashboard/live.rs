//! Live updates: `GET /ui/events`, a stream of server-sent events fed by the outbox.
//!
//! Each committed domain event is sent as one SSE message whose `id` is its outbox sequence
//! number and whose data is `{"seq", "type", "subject"}`; pages refresh the part marked
//! `data-live` when one arrives (`assets/app.js`). The stream starts after the `Last-Event-ID`
//! the browser sends when it reconnects (or `?after=N`, the position a page was rendered at,
//! or else the newest event), so nothing committed in between is missed, across a server
//! restart too: the position is the outbox's, which lives in the database. New events are
//! read every [`POLL`], so a page shows an event within about a second of its commit, from
//! whichever server on the database recorded it. The stream ends when the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt as _};
use serde_json::json;
use versioner_core::{DomainEvent, Versioner};

use super::{Fields, PageError, Viewer, core};
use crate::AppState;

/// How often the stream reads the outbox for new events.
pub const POLL: Duration = Duration::from_millis(500);

/// How long the browser waits before reconnecting after the stream breaks.
const RETRY: Duration = Duration::from_millis(1000);

/// Events read from the outbox at once.
const BATCH: u32 = 200;

/// `GET /ui/events`: the live stream (see the module documentation).
pub async fn events(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    q: Fields,
) -> Result<Response, PageError> {
    let given = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("after"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0);
    let after = match given {
        Some(n) => n,
        None => core(&state, &viewer, |vr| vr.last_event_seq()).await?,
    };
    let vr = match viewer.actor() {
        Some(actor) => state.versioner().acting_as(actor),
        None => state.versioner().clone(),
    };
    let stream = outbox_stream(vr, after).take_until(closed(state.closing()));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Resolves when the server begins shutting down.
async fn closed(mut closing: tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|c| *c).await;
}

fn message(e: &DomainEvent, first: bool) -> Event {
    let data = json!({
        "seq": e.seq,
        "type": e.event_type.as_str(),
        "subject": e.subject,
    });
    let ev = Event::default()
        .id(e.seq.to_string())
        .data(data.to_string());
    if first { ev.retry(RETRY) } else { ev }
}

/// The events after `after`, as they are committed.
fn outbox_stream(vr: Versioner, after: i64) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = (vr, after, VecDeque::<DomainEvent>::new(), true);
    stream::unfold(start, |(vr, mut after, mut queue, mut first)| async move {
        loop {
            if let Some(e) = queue.pop_front() {
                let ev = message(&e, first);
                first = false;
                return Some((Ok(ev), (vr, after, queue, first)));
            }
            let reader = vr.clone();
            match tokio::task::spawn_blocking(move || reader.events_since(after, BATCH)).await {
                Ok(Ok(batch)) if !batch.is_empty() => {
                    after = batch.last().map_or(after, |e| e.seq);
                    queue.extend(batch);
                    continue;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the live stream cannot read the outbox"),
                Err(e) => tracing::warn!(error = %e, "the live stream's read failed"),
            }
            tokio::time::sleep(POLL).await;
        }
    })
}
