//! Slack messages (Block Kit) for a notification: one line that says what happened, the
//! facts people ask next (version, environment, who, commit), and links (the CI run, the
//! dashboard when a public URL is configured). A blocked deployment lists the rules that
//! blocked it and when to retry.

use serde_json::{Value, json};

use super::payload::Notification;
use crate::buttons::RenderedButton;
use crate::outbox::EventType;
use crate::policy::Verdict;

/// Escapes Slack's mrkdwn control characters.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(esc)
}

/// The Slack message (`{text, blocks}`) of a notification; `buttons` (a build's rendered
/// deployment buttons) become link buttons under it.
pub fn message(n: &Notification, buttons: &[RenderedButton]) -> Value {
    let p = &n.event.payload;
    let product = n.product.as_deref().map(esc).unwrap_or_default();
    let version = field(&n.body, "version").unwrap_or_default();
    let env = n.environment.as_deref().map(esc).unwrap_or_default();
    let (emoji, headline) = match n.event_type {
        EventType::BuildCompleted => (
            "📦",
            format!("*{product} {version}* built: ready to deploy"),
        ),
        EventType::BuildFailed => ("❌", format!("*{product} {version}* build failed")),
        EventType::BuildStarted => ("🔨", format!("*{product} {version}* build started")),
        EventType::BuildPending => ("⏳", format!("*{product} {version}* build queued")),
        EventType::BuildAborted => ("⚪", format!("*{product} {version}* build aborted")),
        EventType::DeploymentStarted => {
            ("🚀", format!("*{product} {version}* deploying to *{env}*"))
        }
        EventType::DeploymentCompleted => {
            ("✅", format!("*{product} {version}* deployed to *{env}*"))
        }
        EventType::DeploymentFailed => (
            "❌",
            format!("*{product} {version}* failed to deploy to *{env}*"),
        ),
        EventType::DeploymentAborted => (
            "⚪",
            format!("*{product} {version}* deployment to *{env}* aborted"),
        ),
        EventType::DeploymentPending => ("⏳", format!("*{product} {version}* queued for *{env}*")),
        EventType::DeploymentPreflightFailed => {
            ("⛔", format!("*{product} {version}* blocked from *{env}*"))
        }
        EventType::SkewExceeded => (
            "📉",
            format!(
                "*{}* is falling behind *{env}* for *{product}*: {}",
                field(&n.body, "behind").unwrap_or_default(),
                field(&n.body, "message").unwrap_or_default()
            ),
        ),
        _ => ("ℹ️", format!("{}: *{product} {version}*", n.event_type)),
    };
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("{emoji} {headline}")}
    })];
    if n.event_type == EventType::DeploymentPreflightFailed
        && let Some(verdict) = p
            .get("verdict")
            .cloned()
            .and_then(|v| serde_json::from_value::<Verdict>(v).ok())
    {
        let mut lines: Vec<String> = verdict
            .failures()
            .map(|o| format!("• *{}*: {}", esc(&o.rule_name), esc(&o.message)))
            .collect();
        if let Some(at) = verdict.retry_after() {
            lines.push(format!(
                "Retry after {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if !lines.is_empty() {
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": lines.join("\n")}
            }));
        }
    }
    let mut context: Vec<String> = Vec::new();
    if let Some(who) = field(&n.body, "deployer") {
        context.push(format!("by {who}"));
    }
    if let Some(sha) = field(&n.body, "commit_sha") {
        let short: String = sha.chars().take(8).collect();
        context.push(format!("`{short}`"));
    }
    let run = field(p, "deploy_url").or_else(|| field(p, "build_url"));
    if let Some(url) = run {
        context.push(format!("<{url}|CI run>"));
    }
    if let Some(url) = field(&n.body, "source_url") {
        context.push(format!("<{url}|Versioner>"));
    }
    if !context.is_empty() {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": context.join(" · ")}]
        }));
    }
    let links: Vec<Value> = buttons
        .iter()
        .filter_map(|b| {
            b.url.as_ref().map(|url| {
                json!({
                    "type": "button",
                    "text": {"type": "plain_text", "text": format!("{} → {}", b.name, b.environment)},
                    "url": url,
                })
            })
        })
        .take(25)
        .collect();
    if !links.is_empty() {
        blocks.push(json!({"type": "actions", "elements": links}));
    }
    json!({
        "text": format!("{emoji} {}", headline.replace('*', "")),
        "blocks": blocks,
    })
}
