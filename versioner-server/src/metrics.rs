//! Server metrics in the Prometheus / OpenMetrics text format (`GET /metrics`, admin only):
//! requests by route and status, latency histograms by route, preflight outcomes by code, and,
//! read from the database at each scrape, the outbox position and each notification channel's
//! lag behind it.
//!
//! Routes are labelled by their template (`/deployment-requests/{id}`), never by the raw path,
//! so a client cannot grow the label set; a request no route takes is `unmatched`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use versioner_core::{Deployment, Error, Versioner};

use crate::AppState;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

/// A route's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// A preflight outcome's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PreflightLabels {
    outcome: String,
    code: String,
}

/// A notification channel's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: String,
}

/// The server's metrics: counters and histograms fed as requests are answered, gauges read
/// from the database at each scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    preflight: Family<PreflightLabels, Counter>,
    outbox_seq: Gauge,
    channel_lag: Family<ChannelLabels, Gauge>,
    connections: Family<ConnectionLabels, Gauge>,
    connections_max: Gauge,
    group_commits: Counter,
    group_members: Counter,
    round_trips: Counter,
    deliveries: Family<DeliveryLabels, Counter>,
    attempts: Family<ChannelLabels, Counter>,
}

/// The labels of the delivery counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DeliveryLabels {
    /// The channel's name.
    channel: String,
    /// `delivered` or `parked`.
    outcome: &'static str,
}

/// The labels of the database connection gauge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ConnectionLabels {
    /// `in_use` or `idle`.
    state: &'static str,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty metrics, registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("versioner");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        let preflight = Family::<PreflightLabels, Counter>::default();
        registry.register(
            "preflight_decisions",
            "Preflights of recorded deployment events: passed, bypassed, or blocked with its code",
            preflight.clone(),
        );
        let outbox_seq = Gauge::default();
        registry.register(
            "outbox_last_seq",
            "The position of the newest domain event in the outbox",
            outbox_seq.clone(),
        );
        let channel_lag = Family::<ChannelLabels, Gauge>::default();
        registry.register(
            "notification_lag_events",
            "Events a notification channel has still to deliver (the outbox position minus its cursor)",
            channel_lag.clone(),
        );
        let connections = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections open, by state (in_use: in a transaction; idle)",
            connections.clone(),
        );
        let connections_max = Gauge::default();
        registry.register(
            "db_connections_max",
            "The most database connections the store opens (the PostgreSQL pool's size; 2 for a SQLite file: a writer and a reader)",
            connections_max.clone(),
        );
        let group_commits = Counter::default();
        registry.register(
            "db_group_commits",
            "Transactions committed for more than one request at once (SQLite's group commit: one fsync for all of them)",
            group_commits.clone(),
        );
        let group_members = Counter::default();
        registry.register(
            "db_group_commit_members",
            "Requests whose transactions were committed in those shared commits",
            group_members.clone(),
        );
        let round_trips = Counter::default();
        registry.register(
            "db_round_trips",
            "Protocol round trips the store's transactions made, BEGIN and COMMIT included (PostgreSQL; SQLite makes none)",
            round_trips.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "notification_deliveries",
            "Notifications this server finished, by channel and outcome (delivered, or parked after a 4xx or its last failed attempt)",
            deliveries.clone(),
        );
        let attempts = Family::<ChannelLabels, Counter>::default();
        registry.register(
            "notification_attempts",
            "Notification attempts this server made, by channel (retries included)",
            attempts.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            preflight,
            outbox_seq,
            channel_lag,
            connections,
            connections_max,
            group_commits,
            group_members,
            round_trips,
            deliveries,
            attempts,
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// Counts the preflight of a recorded deployment event: its outcome, or the block's code.
    pub fn preflight(&self, result: &Result<Deployment, Error>) {
        let (outcome, code) = match result {
            Ok(d) => match &d.preflight {
                Some(p) if p.bypass_reason.is_some() => ("bypassed", String::new()),
                Some(_) => ("passed", String::new()),
                None => return,
            },
            Err(Error::Blocked(v)) => (
                "blocked",
                v.code().map(|c| c.as_str().to_string()).unwrap_or_default(),
            ),
            Err(_) => return,
        };
        self.preflight
            .get_or_create(&PreflightLabels {
                outcome: outcome.to_string(),
                code,
            })
            .inc();
    }

    /// Counts a delivery pass of channel `channel` (its name).
    pub fn deliveries(&self, channel: &str, report: &versioner_core::DeliveryReport) {
        for (outcome, n) in [("delivered", report.delivered), ("parked", report.parked)] {
            if n > 0 {
                self.deliveries
                    .get_or_create(&DeliveryLabels {
                        channel: channel.to_string(),
                        outcome,
                    })
                    .inc_by(n);
            }
        }
        self.attempts
            .get_or_create(&ChannelLabels {
                channel: channel.to_string(),
            })
            .inc_by(report.attempts);
    }

    /// The exposition, with the database's gauges read now.
    ///
    /// # Errors
    /// `STORAGE` reading the outbox or the channels.
    pub fn render(&self, vr: &Versioner) -> versioner_core::Result<String> {
        let last = vr.last_event_seq()?;
        self.outbox_seq.set(last);
        self.channel_lag.clear();
        for c in vr.notification_channels()? {
            self.channel_lag
                .get_or_create(&ChannelLabels {
                    channel: c.name.clone(),
                })
                .set(last.saturating_sub(c.delivered_through).max(0));
        }
        let use_ = vr.connections();
        self.connections
            .get_or_create(&ConnectionLabels { state: "in_use" })
            .set(i64::from(use_.open.saturating_sub(use_.idle)));
        self.connections
            .get_or_create(&ConnectionLabels { state: "idle" })
            .set(i64::from(use_.idle));
        self.connections_max.set(i64::from(use_.max));
        // The store counts from its opening; the counters catch up with it.
        for (counter, total) in [
            (&self.group_commits, use_.groups.shared_commits),
            (&self.group_members, use_.groups.shared_members),
            (&self.round_trips, use_.round_trips),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| Error::internal(format!("cannot encode the metrics: {e}")))?;
        Ok(out)
    }
}

/// Middleware: counts and times every API request by its route template.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let resp = next.run(req).await;
    state.metrics().observe(
        &method,
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}
