//! Domain events and the outbox: what happened, in the order it was committed.
//!
//! Every recording operation appends its [`DomainEvent`]s to the store's `outbox` table **in
//! the same transaction** as the change itself, so an event exists exactly when its change
//! does. Sequence numbers start at 1 and increase by one per committed event, with no gaps and
//! in commit order (SQLite has one writer; PostgreSQL takes the outbox head row's lock, held to
//! commit). A refused deployment writes nothing but its `deployment.preflight_failed` event.
//!
//! The stream is also the **audit log**: each event carries the SHA-256 `hash` of its own
//! content chained to the hash of the event before it, so editing, deleting or inserting any
//! row breaks the chain from that row on; [`Versioner::audit_verify`](crate::Versioner::audit_verify)
//! names the first row that does not match. Decisions (a deployment's preflight in its
//! `deployment.*` payload, a refusal's `deployment.preflight_failed`), approvals, rule and
//! status changes, key changes and bypasses are all in it.
//!
//! Consumers (webhooks, the dashboard's live updates, metrics) read from a cursor with
//! [`Versioner::events_since`](crate::Versioner::events_since) and record their progress with
//! [`Versioner::acknowledge`](crate::Versioner::acknowledge): delivery is at least once, in
//! order, and survives restarts; `seq` lets a receiver de-duplicate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::status::Status;

macro_rules! event_types {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal ),+ $(,)?) => {
        /// The kind of a domain event; its wire name is the reference's (§4.5), such as
        /// `deployment.started`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$doc])* $variant, )+
        }

        impl EventType {
            /// Every event type, in declaration order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),+];

            /// The wire name (`deployment.started`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)+
                }
            }
        }
    };
}

event_types! {
    /// A build was queued.
    BuildPending = "build.pending",
    /// A build started.
    BuildStarted = "build.started",
    /// A build completed.
    BuildCompleted = "build.completed",
    /// A build failed.
    BuildFailed = "build.failed",
    /// A build was aborted.
    BuildAborted = "build.aborted",
    /// A deployment was queued.
    DeploymentPending = "deployment.pending",
    /// A deployment passed its preflight (or was bypassed) and started.
    DeploymentStarted = "deployment.started",
    /// A deployment completed.
    DeploymentCompleted = "deployment.completed",
    /// A deployment failed.
    DeploymentFailed = "deployment.failed",
    /// A deployment was aborted.
    DeploymentAborted = "deployment.aborted",
    /// A deployment was refused by its preflight; nothing else was recorded.
    DeploymentPreflightFailed = "deployment.preflight_failed",
    /// A version was approved (the reference's name for a recorded approval).
    VersionApproved = "version.approved",
    /// An approval was revoked.
    ApprovalRevoked = "approval.revoked",
    /// A rule was added.
    RuleCreated = "rule.created",
    /// A rule's definition changed.
    RuleUpdated = "rule.updated",
    /// A rule was deleted.
    RuleDeleted = "rule.deleted",
    /// A rule's status changed (enabled, report_only, disabled).
    RuleStatusChanged = "rule.status_changed",
    /// An environment's type was set or returned to inference, or its description or
    /// metadata changed.
    EnvironmentUpdated = "environment.updated",
    /// An environment was renamed (its id, and everything recorded against it, stay).
    EnvironmentRenamed = "environment.renamed",
    /// A product's description or metadata changed.
    ProductUpdated = "product.updated",
    /// A product was renamed (its id, and everything recorded against it, stay).
    ProductRenamed = "product.renamed",
    /// An API key was created (never the key itself).
    ApiKeyCreated = "api_key.created",
    /// An API key was revoked.
    ApiKeyRevoked = "api_key.revoked",
    /// A principal's role changed (every key of it acts with the new role).
    PrincipalRoleChanged = "principal.role_changed",
    /// The approval catalog changed (a policy declared types or grants).
    ApprovalCatalogChanged = "approval_catalog.changed",
    /// Who may use the emergency bypass changed.
    BypassRolesChanged = "bypass_roles.changed",
    /// A notification channel was added or (declared by a policy) replaced; its secrets are
    /// masked in the payload.
    NotificationChannelChanged = "notification_channel.changed",
    /// A notification channel was removed.
    NotificationChannelRemoved = "notification_channel.removed",
    /// A channel was subscribed to an event type.
    NotificationPreferenceChanged = "notification_preference.changed",
    /// A subscription was removed.
    NotificationPreferenceRemoved = "notification_preference.removed",
    /// A Deployment Request was created (a draft).
    DrCreated = "dr.created",
    /// A Deployment Request was submitted (`in_progress`).
    DrActivated = "dr.activated",
    /// A Deployment Request returned to draft; its slot decisions were cleared.
    DrDeactivated = "dr.deactivated",
    /// A slot of a Deployment Request was approved (once per slot).
    DrApproved = "dr.approved",
    /// A slot of a Deployment Request was rejected.
    DrRejected = "dr.rejected",
    /// A Deployment Request completed: deployed everywhere, post-deployment steps done.
    DrCompleted = "dr.completed",
    /// A Deployment Request was cancelled.
    DrCancelled = "dr.cancelled",
    /// A Deployment Request changed otherwise: edited while a draft, a step marked done,
    /// every deployment succeeded, or it became approved.
    DrUpdated = "dr.updated",
    /// A Deployment Request template was added or replaced.
    DrTemplateChanged = "dr_template.changed",
    /// A Deployment Request template was removed.
    DrTemplateRemoved = "dr_template.removed",
    /// A `max_skew` rule failed: a deployment would leave (or, report-only, left) an
    /// environment too many versions or too long behind another.
    SkewExceeded = "skew.exceeded",
}

impl EventType {
    /// The `build.*` event of a build status.
    pub fn build(status: Status) -> EventType {
        match status {
            Status::Pending => EventType::BuildPending,
            Status::Started => EventType::BuildStarted,
            Status::Completed => EventType::BuildCompleted,
            Status::Failed => EventType::BuildFailed,
            Status::Aborted => EventType::BuildAborted,
        }
    }

    /// Whether it is one of the reference's `dr.*` events (a Deployment Request's life; not
    /// `dr.updated`, which records edits, steps and approval for the audit trail).
    pub fn is_request_event(self) -> bool {
        matches!(
            self,
            EventType::DrCreated
                | EventType::DrActivated
                | EventType::DrDeactivated
                | EventType::DrApproved
                | EventType::DrRejected
                | EventType::DrCompleted
                | EventType::DrCancelled
        )
    }

    /// The `deployment.*` event of a deployment status.
    pub fn deployment(status: Status) -> EventType {
        match status {
            Status::Pending => EventType::DeploymentPending,
            Status::Started => EventType::DeploymentStarted,
            Status::Completed => EventType::DeploymentCompleted,
            Status::Failed => EventType::DeploymentFailed,
            Status::Aborted => EventType::DeploymentAborted,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = Error;
    fn from_str(s: &str) -> Result<EventType> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                Error::invalid(
                    "event_type",
                    format!(
                        "unknown event type `{s}`; expected one of: {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<EventType, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One committed domain event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DomainEvent {
    /// Position in the stream: 1, 2, 3, … with no gaps, in commit order.
    pub seq: i64,
    /// What happened.
    pub event_type: EventType,
    /// When it was recorded (the server's clock).
    #[serde(with = "crate::wire::instant")]
    pub occurred_at: DateTime<Utc>,
    /// Who did it, when known (the caller's actor or key name).
    pub actor: Option<String>,
    /// The public id of the record it is about (deployment, build, approval, rule name, …).
    pub subject: Option<String>,
    /// The record as it stood after the change (its serde form), or for
    /// `deployment.preflight_failed` the refused event with the verdict.
    pub payload: Value,
    /// The audit chain: SHA-256 (hex) of this event's content and the previous event's hash
    /// (see [`chain_hash`]); `None` for events recorded before the chain began.
    #[serde(default)]
    pub hash: Option<String>,
}

/// The audit chain's hash of an event: SHA-256 over the previous event's hash and this event's
/// content in a canonical form (keys sorted, instants as RFC 3339 UTC with microseconds, the
/// precision every store keeps).
pub fn chain_hash(
    previous: Option<&str>,
    seq: i64,
    event_type: EventType,
    occurred_at: DateTime<Utc>,
    actor: Option<&str>,
    subject: Option<&str>,
    payload: &Value,
) -> String {
    use sha2::Digest;
    use std::io::Write as _;
    // The canonical JSON of {actor, event_type, occurred_at, payload, previous, seq,
    // subject} (keys sorted, compact), streamed into the hasher: no copy of the payload.
    let mut h = HashWriter(sha2::Sha256::new());
    let occurred = occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let written = (|| -> std::io::Result<()> {
        let w = &mut h;
        w.write_all(b"{\"actor\":")?;
        serde_json::to_writer(&mut *w, &actor)?;
        w.write_all(b",\"event_type\":")?;
        serde_json::to_writer(&mut *w, event_type.as_str())?;
        w.write_all(b",\"occurred_at\":")?;
        serde_json::to_writer(&mut *w, &occurred)?;
        w.write_all(b",\"payload\":")?;
        write_canonical(w, payload)?;
        w.write_all(b",\"previous\":")?;
        serde_json::to_writer(&mut *w, &previous)?;
        w.write_all(b",\"seq\":")?;
        serde_json::to_writer(&mut *w, &seq)?;
        w.write_all(b",\"subject\":")?;
        serde_json::to_writer(&mut *w, &subject)?;
        w.write_all(b"}")
    })();
    // INVARIANT: the hasher's writer never fails, nor does serializing JSON values.
    debug_assert!(written.is_ok());
    h.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds what is written into a SHA-256 hasher.
struct HashWriter(sha2::Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `v` as compact JSON with every object's keys sorted (what [`canonical`] then
/// `to_string` gives), without building a copy.
fn write_canonical(w: &mut impl std::io::Write, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            w.write_all(b"{")?;
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                serde_json::to_writer(&mut *w, k)?;
                w.write_all(b":")?;
                write_canonical(w, &m[k])?;
            }
            w.write_all(b"}")
        }
        Value::Array(a) => {
            w.write_all(b"[")?;
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                write_canonical(w, item)?;
            }
            w.write_all(b"]")
        }
        other => serde_json::to_writer(&mut *w, other).map_err(std::io::Error::from),
    }
}

/// A JSON value with every object's keys sorted, whatever map type serde_json was built with.
pub(crate) fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

impl DomainEvent {
    /// This event's chain hash given the previous one's.
    pub fn expected_hash(&self, previous: Option<&str>) -> String {
        chain_hash(
            previous,
            self.seq,
            self.event_type,
            self.occurred_at,
            self.actor.as_deref(),
            self.subject.as_deref(),
            &self.payload,
        )
    }
}

/// What [`Versioner::audit_verify`](crate::Versioner::audit_verify) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditReport {
    /// Events read.
    pub entries: u64,
    /// Events recorded before the chain began (they carry no hash; always a prefix).
    pub unchained: u64,
    /// The first event that does not match the chain, if any: its sequence number.
    pub first_mismatch: Option<i64>,
    /// Why it does not match.
    pub reason: Option<String>,
    /// The newest hash, which a later verification can be anchored to.
    pub head: Option<String>,
}

impl AuditReport {
    /// Whether the whole chain holds.
    pub fn is_intact(&self) -> bool {
        self.first_mismatch.is_none()
    }
}

/// A domain event not yet appended (for [`Tx::append_event`](crate::store::Tx::append_event)
/// implementors).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewEvent {
    /// What happened.
    pub event_type: EventType,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Who.
    pub actor: Option<String>,
    /// About which record.
    pub subject: Option<String>,
    /// The record.
    pub payload: Value,
}

impl NewEvent {
    /// An event about `subject` carrying `payload`'s serde form.
    pub(crate) fn of<T: Serialize>(
        event_type: EventType,
        occurred_at: DateTime<Utc>,
        subject: impl Into<String>,
        payload: &T,
    ) -> NewEvent {
        NewEvent {
            event_type,
            occurred_at,
            actor: None,
            subject: Some(subject.into()),
            payload: serde_json::to_value(payload).unwrap_or(Value::Null),
        }
    }

    /// Names the actor.
    pub(crate) fn by(mut self, actor: Option<&str>) -> NewEvent {
        self.actor = actor.map(str::to_string);
        self
    }
}

/// The most events one [`Versioner::events_since`](crate::Versioner::events_since) call
/// returns.
pub const MAX_EVENTS_PER_READ: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain hash as first written (a `json!` value, copied into canonical form, then
    /// hashed): the streamed one must give the same hash for anything, or old chains would
    /// no longer verify.
    fn reference_hash(
        previous: Option<&str>,
        seq: i64,
        event_type: EventType,
        occurred_at: DateTime<Utc>,
        actor: Option<&str>,
        subject: Option<&str>,
        payload: &Value,
    ) -> String {
        let content = serde_json::json!({
            "previous": previous,
            "seq": seq,
            "event_type": event_type.as_str(),
            "occurred_at": occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "actor": actor,
            "subject": subject,
            "payload": canonical(payload),
        });
        crate::access::sha256_hex(canonical(&content).to_string().as_bytes())
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            "\\PC{0,12}".prop_map(Value::String),
            "[\"\\\\\u{0}-\u{1f}é😀]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn the_streamed_chain_hash_is_the_reference_hash(
            payload in json_value(),
            previous in proptest::option::of("[0-9a-f]{64}"),
            seq in any_seq(),
            actor in proptest::option::of("\\PC{0,10}"),
            subject in proptest::option::of("\\PC{0,10}"),
            micros in 0i64..4_000_000_000_000_000,
        ) {
            let at = DateTime::from_timestamp_micros(micros).unwrap_or_default();
            let t = EventType::DeploymentStarted;
            proptest::prop_assert_eq!(
                chain_hash(previous.as_deref(), seq, t, at, actor.as_deref(), subject.as_deref(), &payload),
                reference_hash(previous.as_deref(), seq, t, at, actor.as_deref(), subject.as_deref(), &payload)
            );
        }
    }

    fn any_seq() -> impl proptest::strategy::Strategy<Value = i64> {
        proptest::prelude::any::<i64>()
    }

    #[test]
    fn names_round_trip_and_follow_the_reference() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().ok(), Some(*t));
            let json = serde_json::to_string(t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        for s in Status::ALL {
            assert_eq!(
                EventType::deployment(s).as_str(),
                format!("deployment.{}", s.as_str())
            );
            assert_eq!(
                EventType::build(s).as_str(),
                format!("build.{}", s.as_str())
            );
        }
        let err = "deployment.exploded".parse::<EventType>().unwrap_err();
        assert!(err.to_string().contains("deployment.preflight_failed"));
    }
}
