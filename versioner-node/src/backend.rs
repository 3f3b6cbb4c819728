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
pub(crate) struct Backend(Arc<dyn Tracker>);

impl Backend {
    /// A backend over `tracker`.
    pub(crate) fn new(tracker: impl Tracker + 'static) -> Backend {
        Backend(Arc::new(tracker))
    }

    /// A backend over a tracker already shared.
    pub(crate) fn from_arc(tracker: Arc<dyn Tracker>) -> Backend {
        Backend(tracker)
    }

    /// The shared surface.
    pub(crate) fn tracker(&self) -> &dyn Tracker {
        &*self.0
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
