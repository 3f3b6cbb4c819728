//! The Block Kit replies to slash commands: compact, one section per thing, linked to the
//! dashboard when the server knows its public URL. Replies are ephemeral (only the caller sees
//! them). Every text is escaped for Slack's mrkdwn and kept under Slack's limits (3000
//! characters a section, 50 blocks a message).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use versioner_core::{Deployment, DeploymentRequest, StateMatrix, Verdict};

use crate::dashboard::{query_string, segment};

/// Slack's limit on a section's text.
const MAX_SECTION: usize = 3000;
/// Products listed by `status` before "and N more".
const MAX_PRODUCTS: usize = 20;

/// Escapes Slack's mrkdwn control characters.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A section of mrkdwn text, cut to Slack's limit.
fn section(text: &str) -> Value {
    let text = if text.len() > MAX_SECTION {
        let mut end = MAX_SECTION - 1;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text.to_string()
    };
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// A link to `path` of the dashboard, when a public URL is known.
fn link(public_url: Option<&str>, path: &str, label: &str) -> Option<Value> {
    public_url.map(|base| {
        json!({"type": "context", "elements": [{
            "type": "mrkdwn",
            "text": format!("<{}{path}|{label}>", base.trim_end_matches('/'))
        }]})
    })
}

/// An ephemeral reply: `text` is the notification fallback, `blocks` the message.
pub fn message(text: &str, blocks: Vec<Value>) -> Value {
    json!({"response_type": "ephemeral", "text": text, "blocks": blocks})
}

/// A one-section reply.
pub fn plain(text: &str) -> Value {
    message(text, vec![section(text)])
}

/// An error's reply: what went wrong, in the core's words.
pub fn error(text: &str) -> Value {
    plain(&format!("⚠️ {}", esc(text)))
}

/// `status`: every product's row (or one product's), current version per environment,
/// deployments in progress and failed attempts.
pub fn status(matrix: &StateMatrix, product: Option<&str>, public_url: Option<&str>) -> Value {
    let products: Vec<&String> = matrix
        .products
        .iter()
        .filter(|p| product.is_none_or(|want| want == p.as_str()))
        .collect();
    let mut blocks = vec![section(&match product {
        Some(p) => format!("*Deployment status of {}*", esc(p)),
        None => "*Deployment status*".to_string(),
    })];
    if products.is_empty() {
        let text = match product {
            Some(p) => format!("No deployment of {} recorded yet.", esc(p)),
            None => "No deployment recorded yet.".to_string(),
        };
        blocks.push(section(&text));
    }
    for p in products.iter().take(MAX_PRODUCTS) {
        let mut lines = vec![format!("*{}*", esc(p))];
        for env in &matrix.environments {
            let Some(cell) = matrix.cell(p, env) else {
                continue;
            };
            let mut line = format!("• {}: ", esc(env));
            match &cell.current {
                Some(c) => line.push_str(&format!(
                    "`{}` since {}{}",
                    esc(&c.version),
                    instant(c.deployed_at),
                    c.deployed_by
                        .as_deref()
                        .map(|b| format!(" by {}", esc(b)))
                        .unwrap_or_default()
                )),
                None => line.push_str("nothing deployed"),
            }
            for d in &cell.in_progress {
                line.push_str(&format!(" · 🚀 deploying `{}`", esc(&d.version)));
            }
            if let Some(f) = &cell.last_failed {
                line.push_str(&format!(" · ❌ `{}` {}", esc(&f.version), f.status));
            }
            lines.push(line);
        }
        blocks.push(section(&lines.join("\n")));
    }
    if products.len() > MAX_PRODUCTS {
        blocks.push(section(&format!(
            "…and {} more products.",
            products.len() - MAX_PRODUCTS
        )));
    }
    let path = match products.as_slice() {
        [one] if product.is_some() => format!("/ui/products/{}", segment(one)),
        _ => "/ui".to_string(),
    };
    blocks.extend(link(public_url, &path, "Open in the dashboard"));
    message("Deployment status", blocks)
}

/// `history`: the newest deployments, newest first.
pub fn history(
    product: &str,
    environment: Option<&str>,
    deployments: &[Deployment],
    public_url: Option<&str>,
) -> Value {
    let title = match environment {
        Some(e) => format!("*Deployments of {} to {}*", esc(product), esc(e)),
        None => format!("*Deployments of {}*", esc(product)),
    };
    let mut lines = vec![title];
    if deployments.is_empty() {
        lines.push("None recorded.".into());
    }
    for d in deployments {
        let emoji = match d.status.as_str() {
            "completed" => "✅",
            "failed" => "❌",
            "started" => "🚀",
            "aborted" => "⚪",
            _ => "⏳",
        };
        let mut line = format!(
            "{emoji} `{}` → {} {} at {}",
            esc(&d.version),
            esc(&d.environment_name),
            d.status,
            instant(d.completed_at.or(d.started_at).unwrap_or(d.deployed_at))
        );
        if let Some(by) = &d.fields.deployed_by {
            line.push_str(&format!(" by {}", esc(by)));
        }
        if let Some(url) = &d.fields.deploy_url {
            line.push_str(&format!(" (<{}|run>)", esc(url)));
        }
        lines.push(line);
    }
    let mut blocks = vec![section(&lines.join("\n"))];
    let query = query_string([
        ("product", product),
        ("environment", environment.unwrap_or_default()),
    ]);
    blocks.extend(link(
        public_url,
        &format!("/ui/deployments?{query}"),
        "Open in the dashboard",
    ));
    message(&format!("Deployments of {product}"), blocks)
}

/// `check`: the verdict of a dry run, with every blocking rule, warnings and when to retry.
pub fn check(verdict: &Verdict, public_url: Option<&str>) -> Value {
    let target = format!(
        "*{} {}* → *{}*",
        esc(verdict.product_name()),
        esc(verdict.version()),
        esc(verdict.environment_name())
    );
    let mut lines = Vec::new();
    if verdict.is_allowed() {
        lines.push(format!("✅ {target} would pass its preflight now."));
    } else {
        let code = verdict
            .code()
            .map(|c| format!(" ({}, HTTP {})", c.error_code(), c.http_status()))
            .unwrap_or_default();
        lines.push(format!("⛔ {target} would be blocked{code}."));
        for o in verdict.failures() {
            lines.push(format!("• *{}*: {}", esc(&o.rule_name), esc(&o.message)));
        }
        if let Some(at) = verdict.retry_after() {
            lines.push(format!("Retry after {}", instant(at)));
        }
    }
    for o in verdict.warnings() {
        lines.push(format!(
            "⚠️ *{}* (report only): {}",
            esc(&o.rule_name),
            esc(&o.message)
        ));
    }
    let mut blocks = vec![section(&lines.join("\n"))];
    let query = query_string([
        ("product", verdict.product_name()),
        ("version", verdict.version()),
        ("environment", verdict.environment_name()),
    ]);
    blocks.extend(link(
        public_url,
        &format!("/ui/check?{query}"),
        "Open the check in the dashboard",
    ));
    let text = if verdict.is_allowed() {
        "Would pass its preflight"
    } else {
        "Would be blocked"
    };
    message(text, blocks)
}

/// `approvals`: the Deployment Requests with slots the caller may fill.
pub fn approvals(
    principal: &str,
    awaiting: &[(DeploymentRequest, Vec<String>)],
    public_url: Option<&str>,
) -> Value {
    let mut blocks = vec![section(&format!(
        "*Awaiting your approval ({})*",
        esc(principal)
    ))];
    if awaiting.is_empty() {
        blocks.push(section("Nothing awaits you."));
    }
    for (r, types) in awaiting.iter().take(MAX_PRODUCTS) {
        let versions: Vec<String> = r
            .versions
            .iter()
            .map(|v| format!("{} `{}`", esc(&v.product_name), esc(&v.version)))
            .collect();
        let mut text = format!(
            "*{}* (`{}`)\n{} → {}\nYour slots: {}",
            esc(&r.name),
            esc(&r.id),
            versions.join(", "),
            esc(&r.environments.join(", ")),
            esc(&types.join(", "))
        );
        if let Some(base) = public_url {
            text.push_str(&format!(
                "\n<{}/ui/requests/{}|Open the request>",
                base.trim_end_matches('/'),
                segment(&r.id)
            ));
        }
        blocks.push(section(&text));
    }
    if awaiting.len() > MAX_PRODUCTS {
        blocks.push(section(&format!(
            "…and {} more.",
            awaiting.len() - MAX_PRODUCTS
        )));
    }
    message(
        &format!("{} request(s) awaiting your approval", awaiting.len()),
        blocks,
    )
}

/// `approve` / `reject`: the request after the decision.
pub fn decided(request: &DeploymentRequest, verb: &str, public_url: Option<&str>) -> Value {
    let mut text = format!(
        "You {verb} a slot of *{}* (`{}`): it is now {}.",
        esc(&request.name),
        esc(&request.id),
        request.status
    );
    if let Some(base) = public_url {
        text.push_str(&format!(
            "\n<{}/ui/requests/{}|Open the request>",
            base.trim_end_matches('/'),
            segment(&request.id)
        ));
    }
    plain(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_cut_to_slacks_limit_on_a_char_boundary() {
        let long = "é".repeat(2000);
        let s = section(&long);
        let text = s["text"]["text"].as_str().unwrap();
        assert!(text.len() <= MAX_SECTION + '…'.len_utf8());
        assert!(text.ends_with('…'));
    }

    #[test]
    fn mrkdwn_is_escaped() {
        assert_eq!(esc("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
