//! Domain events and the outbox: what happened, in the order it was committed.
//!
//! Every recording operation appends its [`DomainEvent`]s to the store's `outbox` table **in
//! the same transaction** as the change itself, so an event exists exactly when its change
//! does. Sequence numbers start at 1 and increase by one per committed event, with no gaps and
//! in commit order (SQLite has one writer; PostgreSQL takes the outbox head row's lock, held to
//! commit). A refused deployment writes nothing but its `deployment.preflight_failed` event.
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
    /// An environment's type was set or returned to inference.
    EnvironmentUpdated = "environment.updated",
    /// An API key was created (never the key itself).
    ApiKeyCreated = "api_key.created",
    /// An API key was revoked.
    ApiKeyRevoked = "api_key.revoked",
    /// A principal's role changed (every key of it acts with the new role).
    PrincipalRoleChanged = "principal.role_changed",
    /// The approval catalog changed (a policy declared types or grants).
    ApprovalCatalogChanged = "approval_catalog.changed",
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
    pub occurred_at: DateTime<Utc>,
    /// Who did it, when known (the caller's actor or key name).
    pub actor: Option<String>,
    /// The public id of the record it is about (deployment, build, approval, rule name, …).
    pub subject: Option<String>,
    /// The record as it stood after the change (its serde form), or for
    /// `deployment.preflight_failed` the refused event with the verdict.
    pub payload: Value,
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
