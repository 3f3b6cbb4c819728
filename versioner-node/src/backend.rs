//! What a class talks to: the in-process service or a remote server.
//!
//! Both implement the core's [`Tracker`], so the methods `Versioner` and `Client` share are
//! written once ([`crate::surface`]); the few lookups outside the trait are matched here.

use versioner_core::client::Client;
use versioner_core::{Deployment, Tracker, Version, Versioner};

/// The in-process service or the remote client. Cheap to clone (both share their state).
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// SQLite, in this process.
    Local(Versioner),
    /// `versioner serve`, over HTTP.
    Remote(Client),
}

impl Backend {
    /// The shared surface.
    pub(crate) fn tracker(&self) -> &dyn Tracker {
        match self {
            Backend::Local(v) => v,
            Backend::Remote(c) => c,
        }
    }

    /// A deployment by its public id.
    pub(crate) fn deployment(&self, id: &str) -> versioner_core::Result<Deployment> {
        match self {
            Backend::Local(v) => v.deployment(id),
            Backend::Remote(c) => c.deployment(id),
        }
    }

    /// A version by its public id.
    pub(crate) fn version_by_id(&self, id: &str) -> versioner_core::Result<Version> {
        match self {
            Backend::Local(v) => v.version_by_id(id),
            Backend::Remote(c) => c.version_by_id(id),
        }
    }

    /// Versions built from a commit (prefix match).
    pub(crate) fn versions_by_sha(&self, sha: &str) -> versioner_core::Result<Vec<Version>> {
        match self {
            Backend::Local(v) => v.versions_by_sha(sha),
            Backend::Remote(c) => c.versions_by_sha(sha),
        }
    }
}
