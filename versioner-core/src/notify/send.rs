//! Sending one notification to one channel, once (feature `notify`): HTTP with reqwest
//! (rustls) for webhooks and Slack, SMTP with lettre (STARTTLS) for e-mail. Retrying,
//! recording and the cursor are the delivery loop's (`service/notifications.rs`).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::payload::{self, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use super::{ChannelConfig, EmailConfig, SmtpSecurity};
use crate::error::{Error, Result};

/// What one channel receives for one notification.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// The `X-Versioner-Event` value.
    pub event_type: String,
    /// The delivery id (`X-Versioner-Delivery`).
    pub delivery_id: String,
    /// The webhook body.
    pub webhook: Value,
    /// The Slack message.
    pub slack: Value,
    /// The e-mail's subject and body.
    pub email: (String, String),
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attempt {
    /// Accepted.
    Delivered { code: u16 },
    /// Failed in a way another attempt may fix (5xx, 429, network, timeout).
    Transient { code: Option<u16>, error: String },
    /// Refused for good (4xx, a permanent SMTP error, a bad address).
    Permanent { code: Option<u16>, error: String },
}

/// Sends messages; one per delivery loop.
pub(crate) struct Sender {
    http: reqwest::blocking::Client,
    timeout: Duration,
}

/// A reqwest error with its causes (its Display hides the TLS or connect reason).
fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl Sender {
    /// A sender whose every attempt gives up after `timeout`.
    pub(crate) fn new(timeout: Duration) -> Result<Sender> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("versioner/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("building the HTTP client: {}", describe(&e))))?;
        Ok(Sender { http, timeout })
    }

    /// One attempt; returns how it ended and how long it took.
    pub(crate) fn send(&self, config: &ChannelConfig, m: &Message) -> (Attempt, Duration) {
        let start = Instant::now();
        let outcome = match config {
            ChannelConfig::Webhook { url, secret } => {
                let body = payload::compact(&m.webhook);
                let mut req = self
                    .http
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header(EVENT_HEADER, &m.event_type)
                    .header(DELIVERY_HEADER, &m.delivery_id);
                if let Some(secret) = secret {
                    req = req.header(SIGNATURE_HEADER, payload::sign(secret, &body));
                }
                self.http_attempt(req.body(body))
            }
            ChannelConfig::Slack { webhook_url } => {
                let req = self
                    .http
                    .post(webhook_url)
                    .header("Content-Type", "application/json")
                    .body(payload::compact(&m.slack));
                self.http_attempt(req)
            }
            ChannelConfig::Email(e) => self.mail(e, &m.email.0, &m.email.1),
        };
        (outcome, start.elapsed())
    }

    fn http_attempt(&self, req: reqwest::blocking::RequestBuilder) -> Attempt {
        match req.send() {
            Ok(resp) => {
                let code = resp.status().as_u16();
                if resp.status().is_success() {
                    Attempt::Delivered { code }
                } else if resp.status().is_server_error() || code == 429 {
                    Attempt::Transient {
                        code: Some(code),
                        error: format!("the receiver answered {code}"),
                    }
                } else {
                    Attempt::Permanent {
                        code: Some(code),
                        error: format!("the receiver answered {code}"),
                    }
                }
            }
            // The URL is left out of the error: a Slack webhook URL is its own credential, and
            // the error is logged and kept in the history.
            Err(e) => Attempt::Transient {
                code: None,
                error: if e.is_timeout() {
                    format!("no answer within {:?}", self.timeout)
                } else {
                    describe(&e.without_url())
                },
            },
        }
    }

    fn mail(&self, e: &EmailConfig, subject: &str, body: &str) -> Attempt {
        use lettre::message::header::ContentType;
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::{Message as Mail, SmtpTransport, Transport};

        let permanent = |error: String| Attempt::Permanent { code: None, error };
        let mut builder = Mail::builder()
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        match e.from.parse() {
            Ok(from) => builder = builder.from(from),
            Err(err) => return permanent(format!("from `{}`: {err}", e.from)),
        }
        for to in &e.to {
            match to.parse() {
                Ok(to) => builder = builder.to(to),
                Err(err) => return permanent(format!("to `{to}`: {err}")),
            }
        }
        let mail = match builder.body(body.to_string()) {
            Ok(m) => m,
            Err(err) => return permanent(format!("building the message: {err}")),
        };
        let transport = match e.security {
            SmtpSecurity::Starttls => SmtpTransport::starttls_relay(&e.smtp_host),
            SmtpSecurity::Tls => SmtpTransport::relay(&e.smtp_host),
            SmtpSecurity::None => Ok(SmtpTransport::builder_dangerous(&e.smtp_host)),
        };
        let mut transport = match transport {
            Ok(t) => t.port(e.smtp_port).timeout(Some(self.timeout)),
            Err(err) => {
                return permanent(format!("smtp_host `{}`: {}", e.smtp_host, describe(&err)));
            }
        };
        if let (Some(user), Some(password)) = (&e.username, &e.password) {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        match transport.build().send(&mail) {
            Ok(resp) => Attempt::Delivered {
                code: u16::from(resp.code()),
            },
            Err(err) => {
                let code = err.status().map(u16::from);
                if err.is_permanent() {
                    Attempt::Permanent {
                        code,
                        error: describe(&err),
                    }
                } else {
                    Attempt::Transient {
                        code,
                        error: describe(&err),
                    }
                }
            }
        }
    }
}
