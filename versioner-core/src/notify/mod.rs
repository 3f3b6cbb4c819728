//! Notifications: channels, the preferences that subscribe them to domain events, and the
//! history of every delivery attempt.
//!
//! A [`Channel`] is where notifications go: a `webhook` (the outbound webhook protocol of
//! [`payload`]), a `slack_webhook` (a Slack incoming webhook; Block Kit messages, [`slack`]) or
//! an `email` address list (SMTP with STARTTLS, [`email`]). A [`Preference`] subscribes a
//! channel to one event type (or `*`), optionally filtered by products, environments and
//! statuses. Channels and preferences use the public product's legacy API shapes:
//! `{name, channel_type, config}` and `{channel_id, event_type, filters: {environments,
//! products, statuses}}`.
//!
//! Delivery is a consumer of the outbox (feature `notify`,
//! [`Versioner::deliver_pending`](crate::Versioner::deliver_pending)): each channel keeps its own
//! acknowledged cursor in the database, so delivery is at least once, in order per channel,
//! and survives restarts; a delivery id (`<seq>-<channel id>`, the same on every retry) lets
//! receivers de-duplicate. Every attempt is a [`Delivery`] in the notification history.
//!
//! Secrets (a webhook's HMAC `secret`, an SMTP `password`) are stored but never returned:
//! a channel serializes its config with them masked, and its `Debug` form hides them too.

pub mod email;
pub mod payload;
pub mod slack;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::outbox::EventType;

/// What replaces a secret in every config a channel returns.
pub const MASK: &str = "********";

/// The config keys that hold secrets, never returned.
const SECRET_KEYS: &[&str] = &["secret", "password"];

/// The kind of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    /// An HTTP endpoint receiving the outbound webhook protocol (`url`, optional `secret`).
    Webhook,
    /// A Slack incoming webhook (`webhook_url`): Block Kit messages.
    SlackWebhook,
    /// E-mail over SMTP (`smtp_host`, `smtp_port`, `from`, `to`, `username`, `password`,
    /// `tls`).
    Email,
}

impl ChannelType {
    /// Every channel type.
    pub const ALL: [ChannelType; 3] = [
        ChannelType::Webhook,
        ChannelType::SlackWebhook,
        ChannelType::Email,
    ];

    /// The wire name (`webhook`, `slack_webhook`, `email`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Webhook => "webhook",
            ChannelType::SlackWebhook => "slack_webhook",
            ChannelType::Email => "email",
        }
    }

    /// Whether this kind of channel carries `event_type` (Slack and e-mail: deployment and
    /// build events; webhooks: those, `version.approved` and the `dr.*` events).
    pub fn carries(self, event_type: EventType) -> bool {
        let name = event_type.as_str();
        let cicd = name.starts_with("deployment.") || name.starts_with("build.");
        match self {
            ChannelType::Webhook => {
                cicd || event_type == EventType::VersionApproved
                    || event_type == EventType::SkewExceeded
                    || event_type.is_request_event()
            }
            // A skew alert is for people too.
            ChannelType::SlackWebhook | ChannelType::Email => {
                cicd || event_type == EventType::SkewExceeded
            }
        }
    }
}

impl std::fmt::Display for ChannelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChannelType {
    type Err = Error;
    fn from_str(s: &str) -> Result<ChannelType> {
        ChannelType::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "channel_type",
                    format!(
                        "unknown channel type `{s}`; expected one of: webhook, slack_webhook, email"
                    ),
                )
            })
    }
}

/// How an e-mail channel secures its SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// STARTTLS, required (the default; port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (a relay on the same host or a test sink only).
    None,
}

/// A channel's validated config (see [`ChannelConfig::parse`]).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum ChannelConfig {
    /// `webhook`.
    Webhook {
        /// Where to POST (http or https).
        url: String,
        /// The HMAC-SHA256 key of `X-Versioner-Signature`, if any.
        secret: Option<String>,
    },
    /// `slack_webhook`.
    Slack {
        /// The incoming-webhook URL.
        webhook_url: String,
    },
    /// `email`.
    Email(EmailConfig),
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach a log line through Debug.
        f.write_str(&self.to_json(Secrets::Masked).to_string())
    }
}

/// An e-mail channel's SMTP settings.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct EmailConfig {
    /// The SMTP server.
    pub smtp_host: String,
    /// Its port (default 587).
    pub smtp_port: u16,
    /// The sender address.
    pub from: String,
    /// The recipients (one address or a distribution list, or several).
    pub to: Vec<String>,
    /// The SMTP user, if the server wants one.
    pub username: Option<String>,
    /// The SMTP password (stored, never returned).
    pub password: Option<String>,
    /// How the connection is secured.
    pub security: SmtpSecurity,
}

/// Whether a config is rendered with its secrets or with [`MASK`] in their place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// As stored (for the store only).
    Included,
    /// Masked (for every answer and log).
    Masked,
}

fn text(m: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(Error::invalid(field, "must be a string")),
    }
}

fn required_text(m: &Map<String, Value>, key: &str) -> Result<String> {
    let field = format!("config.{key}");
    text(m, key, &field)?.ok_or_else(|| Error::invalid(field, "is required"))
}

/// Refuses anything but an absolute http or https URL with a host.
pub(crate) fn http_url(field: &str, url: &str) -> Result<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "`{url}` is not an http or https URL; give one such as https://example.com/hook"
                ),
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            field,
            format!("`{url}` has no host or contains spaces"),
        ));
    }
    Ok(url.to_string())
}

fn email_address(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    let ok = s.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && !domain.is_empty() && !s.chars().any(char::is_whitespace)
    });
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::invalid(
            field,
            format!("`{s}` is not an e-mail address"),
        ))
    }
}

impl ChannelConfig {
    /// Validates the `config` object of a channel of type `channel_type`.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the key at fault (`config.url`, `config.to`, ...), for a missing
    /// key, a URL that is not http or https, an address that is not one, or an unknown key.
    pub fn parse(channel_type: ChannelType, config: &Value) -> Result<ChannelConfig> {
        let Value::Object(m) = config else {
            return Err(Error::invalid("config", "must be an object"));
        };
        let allowed: &[&str] = match channel_type {
            ChannelType::Webhook => &["url", "secret"],
            ChannelType::SlackWebhook => &["webhook_url"],
            ChannelType::Email => &[
                "smtp_host",
                "smtp_port",
                "from",
                "to",
                "username",
                "password",
                "tls",
            ],
        };
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::invalid(
                format!("config.{k}"),
                format!(
                    "unknown key for a {channel_type} channel; expected: {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(match channel_type {
            ChannelType::Webhook => ChannelConfig::Webhook {
                url: http_url("config.url", &required_text(m, "url")?)?,
                secret: text(m, "secret", "config.secret")?,
            },
            ChannelType::SlackWebhook => ChannelConfig::Slack {
                webhook_url: http_url("config.webhook_url", &required_text(m, "webhook_url")?)?,
            },
            ChannelType::Email => {
                let smtp_port = match m.get("smtp_port") {
                    None | Some(Value::Null) => 587,
                    Some(v) => v
                        .as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .filter(|p| *p > 0)
                        .ok_or_else(|| {
                            Error::invalid("config.smtp_port", "must be a port number, 1 to 65535")
                        })?,
                };
                let to = match m.get("to") {
                    Some(Value::String(s)) => vec![email_address("config.to", s)?],
                    Some(Value::Array(a)) if !a.is_empty() => a
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => email_address("config.to", s),
                            _ => Err(Error::invalid("config.to", "must hold addresses")),
                        })
                        .collect::<Result<Vec<_>>>()?,
                    _ => {
                        return Err(Error::invalid(
                            "config.to",
                            "is required: an address or a list of addresses",
                        ));
                    }
                };
                let security = match text(m, "tls", "config.tls")?.as_deref() {
                    None | Some("starttls") => SmtpSecurity::Starttls,
                    Some("tls") => SmtpSecurity::Tls,
                    Some("none") => SmtpSecurity::None,
                    Some(other) => {
                        return Err(Error::invalid(
                            "config.tls",
                            format!(
                                "unknown value `{other}`; expected one of: starttls, tls, none"
                            ),
                        ));
                    }
                };
                ChannelConfig::Email(EmailConfig {
                    smtp_host: required_text(m, "smtp_host")?,
                    smtp_port,
                    from: email_address("config.from", &required_text(m, "from")?)?,
                    to,
                    username: text(m, "username", "config.username")?,
                    password: text(m, "password", "config.password")?,
                    security,
                })
            }
        })
    }

    /// The channel type this config is for.
    pub fn channel_type(&self) -> ChannelType {
        match self {
            ChannelConfig::Webhook { .. } => ChannelType::Webhook,
            ChannelConfig::Slack { .. } => ChannelType::SlackWebhook,
            ChannelConfig::Email(_) => ChannelType::Email,
        }
    }

    /// The config as JSON, with its secrets or masked.
    pub fn to_json(&self, secrets: Secrets) -> Value {
        let mut v = match self {
            ChannelConfig::Webhook { url, secret } => {
                serde_json::json!({ "url": url, "secret": secret })
            }
            ChannelConfig::Slack { webhook_url } => {
                serde_json::json!({ "webhook_url": webhook_url })
            }
            ChannelConfig::Email(e) => serde_json::json!({
                "smtp_host": e.smtp_host,
                "smtp_port": e.smtp_port,
                "from": e.from,
                "to": e.to,
                "username": e.username,
                "password": e.password,
                "tls": e.security,
            }),
        };
        if let Value::Object(m) = &mut v {
            m.retain(|_, v| !v.is_null());
            if secrets == Secrets::Masked {
                // A Slack incoming-webhook URL is its own credential: only its host shows.
                if let Some(Value::String(url)) = m.get_mut("webhook_url") {
                    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
                    let host = rest.split('/').next().unwrap_or_default();
                    *url = format!("{scheme}://{host}/{MASK}");
                }
                for k in SECRET_KEYS {
                    if let Some(s) = m.get_mut(*k) {
                        *s = Value::String(MASK.to_string());
                    }
                }
            }
        }
        v
    }
}

/// A notification channel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Channel {
    /// Public id (UUID).
    pub id: String,
    /// A unique name.
    pub name: String,
    /// Where notifications go, and how.
    pub config: ChannelConfig,
    /// Whether it was declared by a policy file (`[[notifications]]`) rather than over the
    /// API: applying the policy again replaces it.
    pub declared: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The outbox position delivered through (every event up to it is done with).
    pub delivered_through: i64,
}

impl Channel {
    /// The channel type.
    pub fn channel_type(&self) -> ChannelType {
        self.config.channel_type()
    }

    /// The stored form (secrets included): the store's `record` column.
    pub(crate) fn to_record(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "channel_type": self.channel_type(),
            "config": self.config.to_json(Secrets::Included),
            "declared": self.declared,
            "created_at": self.created_at,
        })
    }

    /// Reads the stored form back.
    pub(crate) fn from_record(record: &Value, delivered_through: i64) -> Result<Channel> {
        let bad = || Error::internal("a stored notification channel is unreadable");
        let channel_type: ChannelType =
            serde_json::from_value(record.get("channel_type").cloned().ok_or_else(bad)?)
                .map_err(|_| bad())?;
        Ok(Channel {
            id: record["id"].as_str().ok_or_else(bad)?.to_string(),
            name: record["name"].as_str().ok_or_else(bad)?.to_string(),
            config: ChannelConfig::parse(channel_type, &record["config"])?,
            declared: record["declared"].as_bool().unwrap_or(false),
            created_at: serde_json::from_value(record["created_at"].clone()).map_err(|_| bad())?,
            delivered_through,
        })
    }
}

impl Serialize for Channel {
    /// `{id, name, channel_type, config, declared, created_at, delivered_through}`, the
    /// config's secrets masked.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "channel_type": self.channel_type(),
            "config": self.config.to_json(Secrets::Masked),
            "declared": self.declared,
            "created_at": self.created_at,
            "delivered_through": self.delivered_through,
        })
        .serialize(s)
    }
}

/// A request to create a channel: the legacy shape `{name, channel_type, config}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ChannelRequest {
    /// A unique name.
    pub name: String,
    /// `webhook`, `slack_webhook` or `email`.
    pub channel_type: String,
    /// The channel's settings: `{url, secret?}`, `{webhook_url}`, or `{smtp_host, smtp_port?,
    /// from, to, username?, password?, tls?}` (`tls`: `starttls` (default), `tls`, `none`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: Value,
}

impl ChannelRequest {
    /// A request for a channel named `name`.
    pub fn new(name: impl Into<String>, channel_type: impl Into<String>, config: Value) -> Self {
        ChannelRequest {
            name: name.into(),
            channel_type: channel_type.into(),
            config,
        }
    }
}

/// What an event must match for a preference to send it (an empty list matches anything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Filters {
    /// Only these environments.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Only these products.
    #[serde(default)]
    pub products: Vec<String>,
    /// Only these statuses (`completed`, `failed`, ..., any alias; `preflight_failed`,
    /// `approved`).
    #[serde(default)]
    pub statuses: Vec<String>,
}

/// A subscription of a channel to one event type, or every one (`*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Preference {
    /// Public id (UUID).
    pub id: String,
    /// The channel's id.
    pub channel_id: String,
    /// The event type (`deployment.completed`, ...) or `*`.
    pub event_type: String,
    /// What else an event must match.
    pub filters: Filters,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A request to subscribe a channel: the legacy shape `{channel_id, event_type, filters}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PreferenceRequest {
    /// The channel's id or name.
    pub channel_id: String,
    /// The event type (`deployment.completed`, ...; the legacy `version.*` build names too) or
    /// `*`.
    pub event_type: String,
    /// What else an event must match.
    #[serde(default)]
    pub filters: Filters,
}

impl PreferenceRequest {
    /// A subscription of `channel_id` to `event_type` with no filters.
    pub fn new(channel_id: impl Into<String>, event_type: impl Into<String>) -> Self {
        PreferenceRequest {
            channel_id: channel_id.into(),
            event_type: event_type.into(),
            filters: Filters::default(),
        }
    }
}

/// The event type a preference names: `*`, a reference name, or a legacy build name
/// (`version.completed` is `build.completed`).
pub(crate) fn preference_event_type(channel: ChannelType, name: &str) -> Result<String> {
    let name = name.trim();
    if name == "*" {
        return Ok("*".to_string());
    }
    let legacy = match name {
        "version.pending" | "version.started" | "version.completed" | "version.failed"
        | "version.aborted" => Some(name.replacen("version.", "build.", 1)),
        _ => None,
    };
    let t: EventType = legacy.as_deref().unwrap_or(name).parse()?;
    if !channel.carries(t) {
        return Err(Error::invalid(
            "event_type",
            format!(
                "a {channel} channel does not carry `{t}`; it carries deployment.* and build.* events{}",
                if channel == ChannelType::Webhook {
                    " and version.approved"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(t.as_str().to_string())
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// The receiver accepted it (2xx; for e-mail, the SMTP server did).
    Delivered,
    /// The attempt failed (5xx, network error, timeout) and another follows.
    Retrying,
    /// Given up: a 4xx, or every attempt failed. The channel moved on; the event stays here,
    /// visible.
    Parked,
}

impl DeliveryStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Parked => "parked",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<DeliveryStatus> {
        match s.trim() {
            "delivered" => Ok(DeliveryStatus::Delivered),
            "retrying" => Ok(DeliveryStatus::Retrying),
            "parked" => Ok(DeliveryStatus::Parked),
            other => Err(Error::invalid(
                "status",
                format!(
                    "unknown delivery status `{other}`; expected one of: delivered, retrying, parked"
                ),
            )),
        }
    }
}

/// One delivery attempt, as the notification history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Delivery {
    /// Public id of the attempt (UUID).
    pub id: String,
    /// The delivery's id, the same on every attempt (`<seq>-<channel id>`, or `test-<uuid>`
    /// for a test notification): the `X-Versioner-Delivery` header.
    pub delivery_id: String,
    /// The channel's id.
    pub channel_id: String,
    /// The channel's name.
    pub channel_name: String,
    /// The outbox event (none for a test notification).
    pub seq: Option<i64>,
    /// The event type (`test` for a test notification).
    pub event_type: String,
    /// Which attempt (1, 2, 3, ...).
    pub attempt: u32,
    /// What happened.
    pub status: DeliveryStatus,
    /// The HTTP status the receiver answered (SMTP reply code for e-mail), if it answered.
    pub response_code: Option<u16>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
}

/// Filters of the notification history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryFilter {
    /// Only this channel (id or name).
    pub channel: Option<String>,
    /// Only attempts with this status (`parked`: what was given up).
    pub status: Option<DeliveryStatus>,
    /// At most this many, newest first (1..=1000; default 100).
    pub limit: Option<u32>,
}

impl Preference {
    /// Whether this preference sends `n`: its event type is `*` or `n`'s, and `n` matches
    /// every non-empty filter (names compared as products and environments are).
    pub fn matches(&self, n: &payload::Notification) -> bool {
        if self.event_type != "*" && self.event_type != n.event_type.as_str() {
            return false;
        }
        let named = |list: &[String], value: Option<&str>| {
            list.is_empty()
                || value.is_some_and(|v| {
                    let key = crate::names::key(v);
                    list.iter().any(|x| crate::names::key(x) == key)
                })
        };
        let status_ok = self.filters.statuses.is_empty()
            || self.filters.statuses.iter().any(|s| {
                let s = s
                    .parse::<crate::Status>()
                    .map(|st| st.as_str().to_string())
                    .unwrap_or_else(|_| s.trim().to_ascii_lowercase());
                s == n.status
            });
        named(&self.filters.products, n.product.as_deref())
            && named(&self.filters.environments, n.environment.as_deref())
            && status_ok
    }
}

#[cfg(feature = "notify")]
pub(crate) mod send;

/// A channel declared by a policy file (`[[notifications]]`), with its subscriptions:
///
/// ```toml
/// [[notifications]]
/// name = "releases"
/// channel_type = "slack_webhook"
/// config = { webhook_url = "https://hooks.slack.com/services/T0/B0/XXXX" }
/// events = ["deployment.completed", "deployment.failed"]   # default ["*"]
/// filters = { environments = ["production"] }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeclaredChannel {
    /// The channel's name.
    pub name: String,
    /// Its config.
    pub config: ChannelConfig,
    /// The event types it is subscribed to (`*` for every one it carries).
    pub events: Vec<String>,
    /// The filters of every subscription.
    pub filters: Filters,
}

impl DeclaredChannel {
    /// Reads the `notifications` array, every problem named (`(notifications)`, then
    /// `notifications[i].field`).
    pub(crate) fn parse_all(
        value: &Value,
        problems: &mut Vec<crate::error::PolicyProblem>,
    ) -> Vec<DeclaredChannel> {
        let mut problem = |field: String, reason: String| {
            problems.push(crate::error::PolicyProblem {
                rule: "(notifications)".into(),
                field,
                reason,
            });
        };
        let Some(items) = value.as_array() else {
            problem(
                "notifications".into(),
                "must be an array of tables ([[notifications]])".into(),
            );
            return Vec::new();
        };
        let mut out: Vec<DeclaredChannel> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = |k: &str| format!("notifications[{i}].{k}");
            let Some(m) = item.as_object() else {
                problem(format!("notifications[{i}]"), "must be a table".into());
                continue;
            };
            const KEYS: [&str; 5] = ["name", "channel_type", "config", "events", "filters"];
            if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
                problem(
                    at(k),
                    format!("unknown key; expected one of: {}", KEYS.join(", ")),
                );
                continue;
            }
            let name = match m.get("name").and_then(Value::as_str).map(str::trim) {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => {
                    problem(at("name"), "is required".into());
                    continue;
                }
            };
            if out
                .iter()
                .any(|c| crate::names::key(&c.name) == crate::names::key(&name))
            {
                problem(at("name"), format!("`{name}` is declared more than once"));
                continue;
            }
            let parsed = m
                .get("channel_type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .parse::<ChannelType>()
                .and_then(|t| {
                    ChannelConfig::parse(t, m.get("config").unwrap_or(&Value::Null)).map(|c| (t, c))
                });
            let (channel_type, config) = match parsed {
                Ok(x) => x,
                Err(e) => {
                    problem(at(e.field().unwrap_or("config")), e.to_string());
                    continue;
                }
            };
            let events: Vec<String> = match m.get("events") {
                None => vec!["*".into()],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|e| e.as_str().unwrap_or_default().to_string())
                    .collect(),
                Some(_) => {
                    problem(at("events"), "must be a list of event types".into());
                    continue;
                }
            };
            let mut bad = false;
            let mut checked = Vec::new();
            for e in &events {
                match preference_event_type(channel_type, e) {
                    Ok(t) => checked.push(t),
                    Err(err) => {
                        problem(at("events"), err.to_string());
                        bad = true;
                    }
                }
            }
            let filters: Filters = match m.get("filters") {
                None => Filters::default(),
                Some(f) => match serde_json::from_value(f.clone()) {
                    Ok(f) => f,
                    Err(e) => {
                        problem(at("filters"), e.to_string());
                        continue;
                    }
                },
            };
            if !bad {
                out.push(DeclaredChannel {
                    name,
                    config,
                    events: checked,
                    filters,
                });
            }
        }
        out
    }

    /// The table's JSON form, its secrets masked.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "channel_type": self.config.channel_type(),
            "config": self.config.to_json(Secrets::Masked),
            "events": self.events,
            "filters": self.filters,
        })
    }
}
