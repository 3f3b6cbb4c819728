//! E-mail messages for a notification: a subject that says what happened and a plain-text
//! body with the product, environment, status, deployer, time and links.

use super::payload::Notification;

/// The subject and plain-text body of a notification's e-mail.
pub fn message(n: &Notification) -> (String, String) {
    let b = &n.body;
    let get = |k: &str| b.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_string();
    let product = n.product.clone().unwrap_or_else(|| "-".into());
    let version = get("version");
    let subject = match &n.environment {
        Some(env) => format!("[Versioner] {product} {version} {} in {env}", n.status),
        None => format!("[Versioner] {product} {version} {}", n.status),
    };
    let mut body = format!(
        "Event: {}\nProduct: {product}\nVersion: {version}\nEnvironment: {}\nStatus: {}\nBy: {}\nAt: {}\n",
        n.event_type,
        n.environment.as_deref().unwrap_or("-"),
        n.status,
        get("deployer"),
        n.event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    for (label, key) in [("Commit", "commit_sha"), ("Link", "source_url")] {
        if let Some(v) = b.get(key).and_then(|v| v.as_str()) {
            body.push_str(&format!("{label}: {v}\n"));
        }
    }
    (subject, body)
}
