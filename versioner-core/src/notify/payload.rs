//! The outbound webhook protocol (reference §8), built from a domain event.
//!
//! A webhook delivery is `POST <url>` with a compact JSON body (no spaces) and the headers
//! `Content-Type: application/json`, `X-Versioner-Event: <event_type>`,
//! `X-Versioner-Delivery: <delivery id>` (the same on every retry of the same event to the same
//! channel: de-duplicate on it), and, when the channel has a secret,
//! `X-Versioner-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
//!
//! Bodies by event type:
//! - `deployment.*` and `build.*` (CI/CD): `id` (the deployment's or build's id), `deployed_at`
//!   (ISO UTC), `event_type`, `environment` (`null` for builds), `is_successful` (`true` for
//!   `deployment.completed`, `false` for `deployment.failed` and
//!   `deployment.preflight_failed`, `null` otherwise), `deployer`, `product_name`, `version`,
//!   `repo_name`, `commit_sha`, `preflight_status` (`passed`, `failed`, `skipped` or `null`),
//!   `source_url` (the dashboard's page, when a public URL is configured, else `null`).
//! - `dr.*` (`dr.created`, `dr.activated`, `dr.deactivated`, `dr.approved` once per slot,
//!   `dr.rejected`, `dr.completed`, `dr.cancelled`): `event_type`, `occurred_at`, `dr_id`,
//!   `dr_name`, `dr_url` (the dashboard's page, when a public URL is configured), `status`,
//!   `environment_names`, `actor`, and for a slot decision `approval_type`, `approver_role`,
//!   `slot_status` (`approved` or `rejected`) and `comments`.
//! - `version.approved`: `event_type`, `occurred_at`, `version_id`, `product_name`, `version`,
//!   `approval_type`, `approver_role`, `environment_name`, `comments`, `actor`.
//!
//! A refused deployment has no deployment: its `id` is the id of the decision that refused it.
//!
//! ```
//! use versioner_core::notify::payload::{sign, verify};
//! let sig = sign("key", b"The quick brown fox jumps over the lazy dog");
//! assert_eq!(sig, "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
//! assert!(verify("key", b"The quick brown fox jumps over the lazy dog", &sig));
//! ```

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use crate::outbox::{DomainEvent, EventType};

/// The header naming the event type.
pub const EVENT_HEADER: &str = "X-Versioner-Event";
/// The header carrying the body's HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "X-Versioner-Signature";
/// The header carrying the delivery id (the same on every retry).
pub const DELIVERY_HEADER: &str = "X-Versioner-Delivery";

/// `sha256=<hex HMAC-SHA256(secret, body)>`, the `X-Versioner-Signature` value.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // INVARIANT: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    match Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Whether `signature` (`sha256=<hex>`) is `body`'s signature under `secret`, compared in
/// constant time: what a receiver checks.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_sig) else {
        return false;
    };
    match Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            mac.verify_slice(&bytes).is_ok()
        }
        Err(_) => false,
    }
}

/// The delivery id of outbox event `seq` to channel `channel_id`: stable across retries and
/// restarts.
pub fn delivery_id(seq: i64, channel_id: &str) -> String {
    format!("{seq}-{channel_id}")
}

/// The dashboard's page of a deployment under `public_url`.
pub fn deployment_url(public_url: &str, id: &str) -> String {
    format!(
        "{}/manage/deployments?view={id}",
        public_url.trim_end_matches('/')
    )
}

/// The dashboard's page of a Deployment Request under `public_url`.
pub fn request_url(public_url: &str, id: &str) -> String {
    format!("{}/ui/requests/{id}", public_url.trim_end_matches('/'))
}

/// What a notification is about, for matching preferences' filters and writing messages.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// The event type.
    pub event_type: EventType,
    /// The webhook body (reference §8).
    pub body: Value,
    /// The product, if any.
    pub product: Option<String>,
    /// The environment, if any.
    pub environment: Option<String>,
    /// The status a filter compares (`completed`, `preflight_failed`, `approved`, ...).
    pub status: String,
    /// The domain event it was built from.
    pub event: DomainEvent,
}

fn s(v: &Value, key: &str) -> Value {
    match v.get(key) {
        Some(Value::String(x)) => Value::String(x.clone()),
        _ => Value::Null,
    }
}

fn first(v: &Value, keys: &[&str]) -> Value {
    keys.iter()
        .map(|k| s(v, k))
        .find(|x| !x.is_null())
        .unwrap_or(Value::Null)
}

/// The notification of a domain event, or `None` for an event no channel carries (rules,
/// keys, ...).
pub fn notification(event: &DomainEvent, public_url: Option<&str>) -> Option<Notification> {
    let p = &event.payload;
    let name = event.event_type.as_str();
    let status = name.split_once('.').map(|(_, s)| s).unwrap_or(name);
    let source_url = |id: &Value| match (public_url, id.as_str()) {
        (Some(base), Some(id)) => Value::String(deployment_url(base, id)),
        _ => Value::Null,
    };
    let (body, product, environment) = if event.event_type == EventType::DeploymentPreflightFailed {
        let ev = p.get("event").cloned().unwrap_or(Value::Null);
        let id = first(p, &["decision_id"]);
        let body = json!({
            "id": id,
            "deployed_at": event.occurred_at,
            "event_type": name,
            "environment": s(p, "environment_name"),
            "is_successful": false,
            "deployer": first(p, &["deployed_by"]),
            "product_name": s(p, "product_name"),
            "version": s(p, "version"),
            "repo_name": s(&ev, "scm_repository"),
            "commit_sha": s(&ev, "scm_sha"),
            "preflight_status": "failed",
            "source_url": Value::Null,
        });
        (body, s(p, "product_name"), s(p, "environment_name"))
    } else if name.starts_with("deployment.") {
        let id = s(p, "id");
        let is_successful = match event.event_type {
            EventType::DeploymentCompleted => Value::Bool(true),
            EventType::DeploymentFailed => Value::Bool(false),
            _ => Value::Null,
        };
        let preflight = p
            .get("preflight")
            .and_then(|f| f.get("status"))
            .cloned()
            .unwrap_or(Value::Null);
        let body = json!({
            "id": id,
            "deployed_at": p.get("deployed_at").cloned().unwrap_or(json!(event.occurred_at)),
            "event_type": name,
            "environment": s(p, "environment_name"),
            "is_successful": is_successful,
            "deployer": first(p, &["deployed_by_name", "deployed_by", "recorded_by"]),
            "product_name": s(p, "product_name"),
            "version": s(p, "version"),
            "repo_name": s(p, "scm_repository"),
            "commit_sha": s(p, "scm_sha"),
            "preflight_status": preflight,
            "source_url": source_url(&id),
        });
        (body, s(p, "product_name"), s(p, "environment_name"))
    } else if name.starts_with("build.") {
        let at = ["completed_at", "started_at", "created_at"]
            .iter()
            .filter_map(|k| p.get(*k))
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(json!(event.occurred_at));
        let body = json!({
            "id": s(p, "id"),
            "deployed_at": at,
            "event_type": name,
            "environment": Value::Null,
            "is_successful": Value::Null,
            "deployer": first(p, &["built_by_name", "built_by", "recorded_by"]),
            "product_name": s(p, "product_name"),
            "version": s(p, "version"),
            "repo_name": s(p, "scm_repository"),
            "commit_sha": s(p, "scm_sha"),
            "preflight_status": Value::Null,
            "source_url": Value::Null,
        });
        (body, s(p, "product_name"), Value::Null)
    } else if event.event_type.is_request_event() {
        let id = s(p, "id");
        let envs = p
            .get("environments")
            .cloned()
            .unwrap_or(Value::Array(vec![]));
        let mut body = json!({
            "event_type": name,
            "occurred_at": event.occurred_at,
            "dr_id": id,
            "dr_name": s(p, "name"),
            "dr_url": match (public_url, id.as_str()) {
                (Some(base), Some(id)) => Value::String(request_url(base, id)),
                _ => Value::Null,
            },
            "status": s(p, "status"),
            "environment_names": envs,
            "actor": event.actor.clone().map_or(Value::Null, Value::String),
        });
        if let (Some(slot), Some(m)) = (p.get("slot"), body.as_object_mut()) {
            m.insert("approval_type".into(), s(slot, "approval_type"));
            m.insert("approver_role".into(), s(slot, "decided_role"));
            m.insert("slot_status".into(), s(slot, "status"));
            m.insert("comments".into(), s(slot, "comment"));
        }
        let product = p
            .pointer("/versions/0/product_name")
            .cloned()
            .unwrap_or(Value::Null);
        let environment = p.pointer("/environments/0").cloned().unwrap_or(Value::Null);
        (body, product, environment)
    } else if event.event_type == EventType::SkewExceeded {
        let body = json!({
            "event_type": name,
            "occurred_at": event.occurred_at,
            "product_name": s(p, "product_name"),
            "version": s(p, "version"),
            "environment": s(p, "environment_name"),
            "behind": p.pointer("/details/behind").cloned().unwrap_or(Value::Null),
            "behind_version": p.pointer("/details/behind_version").cloned().unwrap_or(Value::Null),
            "versions_behind": p.pointer("/details/versions_behind").cloned().unwrap_or(Value::Null),
            "behind_since": p.pointer("/details/behind_since").cloned().unwrap_or(Value::Null),
            "rule_name": s(p, "rule_name"),
            "blocked": p.get("blocked").cloned().unwrap_or(Value::Bool(false)),
            "message": s(p, "message"),
            "deployment_id": s(p, "deployment_id"),
            "actor": event.actor.clone().map_or(Value::Null, Value::String),
        });
        (body, s(p, "product_name"), s(p, "environment_name"))
    } else if event.event_type == EventType::VersionApproved {
        let body = json!({
            "event_type": name,
            "occurred_at": event.occurred_at,
            "version_id": s(p, "version_id"),
            "product_name": s(p, "product_name"),
            "version": s(p, "version"),
            "approval_type": s(p, "approval_type"),
            "approver_role": s(p, "approver_role"),
            "environment_name": s(p, "environment"),
            "comments": s(p, "comment"),
            "actor": event.actor.clone().map(Value::String).unwrap_or_else(|| s(p, "approver")),
        });
        (body, s(p, "product_name"), s(p, "environment"))
    } else {
        return None;
    };
    Some(Notification {
        event_type: event.event_type,
        body,
        product: product.as_str().map(str::to_string),
        environment: environment.as_str().map(str::to_string),
        status: status.to_string(),
        event: event.clone(),
    })
}

/// The compact JSON body (no spaces) of a notification.
pub fn compact(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_python_hmac_and_verify_in_constant_time() {
        let body = br#"{"a":1}"#;
        let sig = sign("s3cret", body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify("s3cret", body, &sig));
        assert!(!verify("other", body, &sig));
        assert!(!verify("s3cret", br#"{"a":2}"#, &sig));
        assert!(!verify("s3cret", body, "sha1=00"));
        assert!(!verify("s3cret", body, "sha256=zz"));
    }

    #[test]
    fn delivery_ids_are_stable() {
        assert_eq!(delivery_id(7, "c1"), "7-c1");
        assert_eq!(
            deployment_url("https://v.example.com/", "d1"),
            "https://v.example.com/manage/deployments?view=d1"
        );
    }
}
