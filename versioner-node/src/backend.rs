//! What a class talks to: the in-process service or a remote server, until `close()`.
//!
//! Both implement the core's [`Tracker`], so every method `Versioner` and `Client` share is
//! written once ([`crate::surface`]) against `&dyn Tracker`.

use std::sync::{Arc, PoisonError, RwLock};

use versioner_core::Tracker;

/// The in-process service or the remote client. Cheap to clone (clones share their state):
/// each call takes its own clone, so `close()` never pulls the store from under a call in
/// flight; the database (or connection pool) is released when the last one returns.
#[derive(Debug, Clone)]
pub(crate) struct Backend {
    tracker: Arc<dyn Tracker>,
    /// The same object as `tracker` when it is the in-process service, for what only it
    /// offers (replay, the audit chain, the event stream).
    local: Option<Arc<versioner_core::Versioner>>,
}

impl Backend {
    /// A backend over a remote tracker.
    pub(crate) fn new(tracker: impl Tracker + 'static) -> Backend {
        Backend {
            tracker: Arc::new(tracker),
            local: None,
        }
    }

    /// A backend over the in-process service.
    pub(crate) fn local(vr: versioner_core::Versioner) -> Backend {
        let vr = Arc::new(vr);
        Backend {
            tracker: vr.clone(),
            local: Some(vr),
        }
    }

    /// The shared surface.
    pub(crate) fn tracker(&self) -> &dyn Tracker {
        &*self.tracker
    }

    /// The in-process service; `INVALID_INPUT` (field `this`) for a remote backend (only
    /// `Versioner` offers the methods that need it).
    pub(crate) fn versioner(&self) -> versioner_core::Result<&versioner_core::Versioner> {
        self.local.as_deref().ok_or_else(|| {
            versioner_core::Error::invalid(
                "this",
                "works in process only (a Versioner, not a Client)",
            )
        })
    }
}

/// A class's backend until `close()`. Interior mutability, so that `close()` takes `&self`
/// like every other method (napi-rs refuses a `&mut self` call while the instance is
/// borrowed elsewhere).
#[derive(Debug)]
pub(crate) struct Slot(RwLock<Option<Backend>>);

impl Slot {
    /// A slot holding `backend`.
    pub(crate) fn new(backend: Backend) -> Slot {
        Slot(RwLock::new(Some(backend)))
    }

    /// The backend, or `INVALID_INPUT` (field `this`) once closed.
    pub(crate) fn open(&self) -> versioner_core::Result<Backend> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                versioner_core::Error::invalid(
                    "this",
                    "is closed; create a new instance to continue",
                )
            })
    }

    /// Lets go of the backend (calls in flight keep their clones).
    pub(crate) fn close(&self) {
        let backend = self
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(backend);
    }

    /// Whether `close()` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}
