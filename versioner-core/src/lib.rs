//! Versioner core: deployment tracking and preflight policy, embedded.
//!
//! A deploy tool records "build completed", "deployment started" and "deployment completed"
//! events. Versioner creates products, versions and environments on first sight, keeps an
//! append-only history, answers "what is deployed where (and where was it at time T)", and on
//! every `started` deployment evaluates the deployment rules — concurrency, no-deploy windows,
//! environment flow and soak time, version and release approvals — refusing with a precise
//! verdict before anything is deployed.
//!
//! ```
//! use versioner_core::{Versioner, DeploymentEvent, Error, ErrorCode};
//! use versioner_core::policy::{PolicyFormat, ApplyMode};
//!
//! let vr = Versioner::open_in_memory()?;
//! vr.apply_policy_text(r#"
//!     [[rules]]
//!     name = "Staging before production"
//!     type = "flow"
//!     environments = ["production"]
//!     prerequisites = ["staging"]
//! "#, PolicyFormat::Toml, ApplyMode::Replace, "docs")?;
//!
//! let err = vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "started"))
//!     .unwrap_err();
//! assert_eq!(err.code(), ErrorCode::FlowViolation);
//! assert_eq!(err.code().http_status(), 428);
//!
//! vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
//! vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "production", "started"))?;
//! # Ok::<(), Error>(())
//! ```
//!
//! # Modules
//! - [`policy`]: rules, the pure evaluation function, verdicts, policy files.
//! - [`store`]: the `Store` trait and the SQLite store (the default; no setup).
//! - [`ci`]: CI/CD system detection from environment variables.
//! - [`request`]: Deployment Requests (coordinated, approved changes), templates, releases.
//! - [`buttons`]: variables and deployment buttons (URL templates rendered per version).
//! - [`notify`]: notification channels, preferences, the webhook protocol and its payloads.
//! - [`wire`]: the JSON shapes of the HTTP API, shared by server, client and bindings.
//! - [`import`]: history import and export as JSON Lines (the line format, its rules).
//! - [`input`]: inputs interpreted once for every surface: policies given as text, JSON or a
//!   file; database locations; store and client options; the missing-feature error.
//!
//! # Feature flags
//! - `client`: `client::Client`, the remote implementation of [`Tracker`] that talks
//!   to `versioner serve` over HTTP (retries, backoff, idempotency keys).
//! - `notify`: notification delivery: [`Versioner::deliver_pending`] sends webhooks and Slack
//!   messages (reqwest, rustls) and e-mail (lettre, STARTTLS). Channels, preferences, the
//!   webhook payloads and signatures ([`notify`]) are there without it.
//! - `postgres`: `store::PgStore`, `Versioner::connect(url)` and `Versioner::connect_with`, for
//!   teams whose runners and servers share one database.
//!
//! The SQLite store is always built: the library runs with no setup.

#![deny(missing_docs)]

pub mod access;
mod approval;
pub mod buttons;
pub mod ci;
#[cfg(feature = "client")]
pub mod client;
mod clock;
pub mod decision;
mod error;
mod event;
#[cfg(doctest)]
mod guide;
pub mod import;
pub mod input;
pub mod insights;
mod model;
mod names;
pub mod notify;
pub mod outbox;
pub mod policy;
pub mod policy_tests;
pub mod queue;
pub mod request;
mod service;
pub mod skew;
mod state;
mod status;
pub mod store;
mod tracker;
pub mod wire;

pub use access::{
    Actor, ApiKey, IdempotencyClaim, NewSession, Permission, Principal, Role, Session,
};
pub use approval::{
    Approval, ApprovalRequest, KNOWN_TYPES as APPROVAL_TYPES, RELEASE, normalize_type,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use decision::{DecisionOutcome, DecisionRecord, ReplayChange, ViolationQuery};
pub use error::{Error, ErrorCode, PolicyProblem, Result};
pub use event::{BuildEvent, CheckRequest, DeploymentEvent, MAX_METADATA_BYTES};
pub use input::{Feature, Location, PolicyInput, StoreOptions};
pub use model::{
    Build, BuildFields, CatalogChange, Deployment, DeploymentFields, Environment, EnvironmentType,
    Page, Product, Version,
};
pub use outbox::{AuditReport, DomainEvent, EventType};
pub use policy::{Decision, Preflight, PreflightStatus, Rule, RuleOutcome, RuleStatus, Verdict};
pub use request::{
    DeploymentRequest, Progress, RequestAction, RequestActionRequest, RequestChange, RequestDraft,
    RequestQuery, RequestStatus, RequestTemplate, SlotSpec, VersionRef,
};
pub use service::{ApiKeyRequest, ApplyReport, Subscription, Versioner};
#[cfg(feature = "notify")]
pub use service::{DeliveryOptions, DeliveryReport};
pub use state::{DeployedVersion, Drift, StateCell, StateMatrix};
pub use status::Status;
pub use store::{HistoryQuery, SqliteOptions, SqliteStore, Synchronous};
pub use tracker::Tracker;

/// The library's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
