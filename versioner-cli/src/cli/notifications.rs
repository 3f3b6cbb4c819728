//! `versioner notifications channels add|list|remove`, `subscribe`, `unsubscribe`,
//! `preferences`, `history`, `test` and `deliver [--follow]`: notification channels and their
//! delivery, on the database (`--db` or `--database-url`) as `versioner keys` is. The flags
//! become the core's requests; the core validates, masks secrets and delivers.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::SecondsFormat;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use versioner_core::notify::{ChannelRequest, HistoryFilter, PreferenceRequest};
use versioner_core::{Actor, DeliveryOptions, Error};

use super::Context;
use super::output::table;
use crate::exit::Exit;

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 1s or 500ms: {e}"))
}

/// `versioner notifications …`.
#[derive(Debug, Args)]
#[command(after_help = "\
Channels: webhook (--url, optional --secret: X-Versioner-Signature), slack_webhook (--url of a
Slack incoming webhook), email (--smtp-host, --smtp-port, --from, --to, --username,
--password, --tls starttls|tls|none). Secrets are stored, never shown.

Examples:
  versioner notifications channels add ci-hook --type webhook --url https://ci.example.com/hook --secret s3cret
  versioner notifications subscribe ci-hook 'deployment.*' --environment production
  versioner notifications subscribe ci-hook deployment.completed --environment production
  versioner notifications test ci-hook
  versioner notifications deliver --follow --public-url https://versioner.example.com
  versioner notifications history --status parked")]
pub struct NotificationsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Notifications,
}

/// `versioner notifications …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Notifications {
    /// Add, list or remove channels
    #[command(subcommand)]
    Channels(Channels),
    /// Subscribe a channel to an event type (`deployment.completed`, ..., or `*`)
    Subscribe {
        /// The channel's id or name
        channel: String,
        /// The event type, or `*` for every one the channel carries
        event_type: String,
        /// Only this environment (repeatable)
        #[arg(long = "environment", value_name = "NAME")]
        environments: Vec<String>,
        /// Only this product (repeatable)
        #[arg(long = "product", value_name = "NAME")]
        products: Vec<String>,
        /// Only this status (repeatable; any alias)
        #[arg(long = "status", value_name = "STATUS")]
        statuses: Vec<String>,
    },
    /// Remove a subscription
    Unsubscribe {
        /// The preference's id
        id: String,
    },
    /// List the subscriptions
    Preferences,
    /// The delivery history: every attempt, newest first
    History {
        /// Only this channel (id or name)
        #[arg(long)]
        channel: Option<String>,
        /// Only attempts with this status: delivered, retrying, parked
        #[arg(long)]
        status: Option<String>,
        /// At most this many (1-1000)
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Send a test notification to a channel, once
    Test {
        /// The channel's id or name
        channel: String,
    },
    /// Deliver pending notifications (once, or with --follow until interrupted)
    Deliver(DeliverArgs),
}

/// `versioner notifications channels …`.
#[derive(Debug, Subcommand)]
pub enum Channels {
    /// Add a channel
    Add(Box<ChannelArgs>),
    /// List the channels (secrets masked)
    List,
    /// Remove a channel and its subscriptions
    Remove {
        /// The channel's id or name
        channel: String,
    },
}

/// `versioner notifications channels add`.
#[derive(Debug, Args)]
pub struct ChannelArgs {
    /// A unique name
    pub name: String,
    /// webhook, slack_webhook or email
    #[arg(long = "type", value_name = "TYPE")]
    pub channel_type: String,
    /// The webhook's URL, or the Slack incoming webhook's
    #[arg(long)]
    pub url: Option<String>,
    /// The webhook's HMAC secret (X-Versioner-Signature; or VERSIONER_WEBHOOK_SECRET, kept out
    /// of the process list)
    #[arg(long)]
    pub secret: Option<String>,
    /// The SMTP server
    #[arg(long)]
    pub smtp_host: Option<String>,
    /// The SMTP port (default 587)
    #[arg(long)]
    pub smtp_port: Option<u16>,
    /// The sender address
    #[arg(long)]
    pub from: Option<String>,
    /// A recipient (repeatable)
    #[arg(long)]
    pub to: Vec<String>,
    /// The SMTP user
    #[arg(long)]
    pub username: Option<String>,
    /// The SMTP password (or VERSIONER_SMTP_PASSWORD, kept out of the process list)
    #[arg(long)]
    pub password: Option<String>,
    /// starttls (default), tls or none
    #[arg(long)]
    pub tls: Option<String>,
}

/// How notifications are delivered (`deliver`, and `serve`'s worker).
#[derive(Debug, Clone, Args)]
pub struct DeliverArgs {
    /// Keep delivering until interrupted
    #[arg(long)]
    pub follow: bool,
    /// How often --follow looks for new events
    #[arg(long, default_value = "1s", value_parser = duration, value_name = "DURATION")]
    pub interval: Duration,
    /// Attempts per event before it is parked
    #[arg(long, default_value = "3", value_name = "N")]
    pub attempts: NonZeroU32,
    /// The wait after the first failed attempt, doubled after each
    #[arg(long, default_value = "1s", value_parser = duration, value_name = "DURATION")]
    pub backoff: Duration,
    /// How long one attempt may take
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// The dashboard's public URL (or VERSIONER_PUBLIC_URL): payloads' `source_url` and
    /// Slack's links point there
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

impl DeliverArgs {
    /// The core's delivery options (`public_url` else VERSIONER_PUBLIC_URL).
    pub fn options(&self, ctx: &Context<'_, '_>) -> DeliveryOptions {
        let mut o = DeliveryOptions::new();
        o.attempts = self.attempts;
        o.backoff = self.backoff;
        o.timeout = self.timeout;
        o.public_url = self
            .public_url
            .clone()
            .or_else(|| ctx.sources.var("VERSIONER_PUBLIC_URL"));
        o
    }
}

fn channel_config(ctx: &Context<'_, '_>, a: &ChannelArgs) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    let url_key = if a.channel_type.trim() == "slack_webhook" {
        "webhook_url"
    } else {
        "url"
    };
    put(url_key, a.url.clone().map(Value::String));
    let secret = a
        .secret
        .clone()
        .or_else(|| ctx.sources.var("VERSIONER_WEBHOOK_SECRET"));
    put("secret", secret.map(Value::String));
    put("smtp_host", a.smtp_host.clone().map(Value::String));
    put("smtp_port", a.smtp_port.map(|p| json!(p)));
    put("from", a.from.clone().map(Value::String));
    if !a.to.is_empty() {
        put("to", Some(json!(a.to)));
    }
    put("username", a.username.clone().map(Value::String));
    let password = a
        .password
        .clone()
        .or_else(|| ctx.sources.var("VERSIONER_SMTP_PASSWORD"));
    put("password", password.map(Value::String));
    put("tls", a.tls.clone().map(Value::String));
    Value::Object(m)
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Runs a `notifications` subcommand.
pub fn run(ctx: &mut Context<'_, '_>, n: &NotificationsArgs) -> Exit {
    let db = match ctx.database("notifications") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    let vr = match super::keys::open_with_keys(&db) {
        Ok(v) => v.acting_as(Actor::local(ctx.actor(None))),
        Err(e) => return ctx.fail(&e),
    };
    let shown = |ctx: &mut Context<'_, '_>,
                 value: Result<Value, Error>,
                 text: &dyn Fn(&Value) -> String| {
        match value {
            Ok(v) if ctx.console.json() => {
                ctx.console.print_json(&v);
                Exit::Success
            }
            Ok(v) => {
                ctx.console.out(&text(&v));
                Exit::Success
            }
            Err(e) => ctx.fail(&e),
        }
    };
    match &n.command {
        Notifications::Channels(Channels::Add(a)) => {
            let request = ChannelRequest::new(&a.name, &a.channel_type, channel_config(ctx, a));
            let r = vr.add_notification_channel(&request).map(|c| to_json(&c));
            shown(ctx, r, &|v| {
                format!(
                    "Added {} channel `{}` (id {}).",
                    v["channel_type"].as_str().unwrap_or(""),
                    v["name"].as_str().unwrap_or(""),
                    v["id"].as_str().unwrap_or("")
                )
            })
        }
        Notifications::Channels(Channels::List) => {
            let r = vr.notification_channels().map(|c| to_json(&c));
            shown(ctx, r, &|v| {
                let rows: Vec<Vec<String>> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        vec![
                            c["id"].as_str().unwrap_or("").to_string(),
                            c["name"].as_str().unwrap_or("").to_string(),
                            c["channel_type"].as_str().unwrap_or("").to_string(),
                            c["config"].to_string(),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    "(no channels; add one with `versioner notifications channels add`)".into()
                } else {
                    table(&["ID", "NAME", "TYPE", "CONFIG"], &rows)
                }
            })
        }
        Notifications::Channels(Channels::Remove { channel }) => {
            let r = vr.remove_notification_channel(channel).map(|c| to_json(&c));
            shown(ctx, r, &|v| {
                format!("Removed channel `{}`.", v["name"].as_str().unwrap_or(""))
            })
        }
        Notifications::Subscribe {
            channel,
            event_type,
            environments,
            products,
            statuses,
        } => {
            let mut request = PreferenceRequest::new(channel, event_type);
            request.filters.environments.clone_from(environments);
            request.filters.products.clone_from(products);
            request.filters.statuses.clone_from(statuses);
            let r = vr
                .add_notification_preference(&request)
                .map(|p| to_json(&p));
            shown(ctx, r, &|v| {
                format!(
                    "Subscribed to {} (preference {}).",
                    v["event_type"].as_str().unwrap_or(""),
                    v["id"].as_str().unwrap_or("")
                )
            })
        }
        Notifications::Unsubscribe { id } => {
            let r = vr.remove_notification_preference(id).map(|p| to_json(&p));
            shown(ctx, r, &|v| {
                format!("Removed preference {}.", v["id"].as_str().unwrap_or(""))
            })
        }
        Notifications::Preferences => {
            let r = vr.notification_preferences().map(|p| to_json(&p));
            shown(ctx, r, &|v| {
                let rows: Vec<Vec<String>> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        vec![
                            p["id"].as_str().unwrap_or("").to_string(),
                            p["channel_id"].as_str().unwrap_or("").to_string(),
                            p["event_type"].as_str().unwrap_or("").to_string(),
                            p["filters"].to_string(),
                        ]
                    })
                    .collect();
                table(&["ID", "CHANNEL", "EVENT_TYPE", "FILTERS"], &rows)
            })
        }
        Notifications::History {
            channel,
            status,
            limit,
        } => {
            let mut filter = HistoryFilter::default();
            filter.channel.clone_from(channel);
            filter.limit = Some(*limit);
            if let Some(s) = status {
                match s.parse() {
                    Ok(s) => filter.status = Some(s),
                    Err(e) => return ctx.fail(&e),
                }
            }
            let r = vr.notification_history(&filter).map(|h| {
                (
                    to_json(&h),
                    h.iter()
                        .map(|d| {
                            vec![
                                time(d.attempted_at),
                                d.channel_name.clone(),
                                d.event_type.clone(),
                                d.delivery_id.clone(),
                                d.attempt.to_string(),
                                d.status.as_str().to_string(),
                                d.response_code
                                    .map_or_else(|| "-".into(), |c| c.to_string()),
                                format!("{}ms", d.latency_ms),
                                d.error.clone().unwrap_or_default(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )
            });
            match r {
                Ok((v, _)) if ctx.console.json() => {
                    ctx.console.print_json(&v);
                    Exit::Success
                }
                Ok((_, rows)) => {
                    ctx.console.out(&table(
                        &[
                            "AT", "CHANNEL", "EVENT", "DELIVERY", "ATTEMPT", "STATUS", "CODE",
                            "LATENCY", "ERROR",
                        ],
                        &rows,
                    ));
                    Exit::Success
                }
                Err(e) => ctx.fail(&e),
            }
        }
        Notifications::Test { channel } => match vr.send_test_notification(channel) {
            Ok(d) => {
                if ctx.console.json() {
                    ctx.console.print_json(&to_json(&d));
                } else {
                    ctx.console.out(&format!(
                        "Test notification to `{}`: {}{}{}",
                        d.channel_name,
                        d.status.as_str(),
                        d.response_code
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        d.error.map(|e| format!(": {e}")).unwrap_or_default()
                    ));
                }
                if d.status == versioner_core::notify::DeliveryStatus::Delivered {
                    Exit::Success
                } else {
                    Exit::Failure
                }
            }
            Err(e) => ctx.fail(&e),
        },
        Notifications::Deliver(a) => deliver(ctx, &vr, a),
    }
}

fn deliver(ctx: &mut Context<'_, '_>, vr: &versioner_core::Versioner, a: &DeliverArgs) -> Exit {
    let options = a.options(ctx);
    loop {
        match vr.deliver_pending_with(&options) {
            Ok(r) if ctx.console.json() && !a.follow => {
                ctx.console
                    .print_json(&serde_json::to_value(&r).unwrap_or_default());
            }
            Ok(r) if r.attempts > 0 || !a.follow => ctx.console.out(&format!(
                "Delivered {}, parked {} ({} attempts, {} channels).",
                r.delivered, r.parked, r.attempts, r.channels
            )),
            Ok(_) => {}
            Err(e) if a.follow => ctx.console.err(&format!("error: {e}")),
            Err(e) => return ctx.fail(&e),
        }
        if !a.follow {
            return Exit::Success;
        }
        std::thread::sleep(a.interval);
    }
}

/// A record's JSON form, for output.
fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}
