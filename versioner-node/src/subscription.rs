//! `Versioner.subscribe(listener)`: the core's in-process subscription, calling a JavaScript
//! listener with each committed domain event through a threadsafe function, so the event loop
//! is never blocked: the core's thread queues the call and returns.

use std::sync::{Mutex, PoisonError};

use napi_derive::napi;

/// A running subscription; `cancel()` stops it.
#[napi]
pub struct Subscription {
    inner: Mutex<Option<versioner_core::Subscription>>,
}

impl Subscription {
    /// Wraps a core subscription.
    pub(crate) fn new(inner: versioner_core::Subscription) -> Subscription {
        Subscription {
            inner: Mutex::new(Some(inner)),
        }
    }
}

#[napi]
impl Subscription {
    /// Stops the subscription: no listener call is queued after it returns.
    #[napi(catch_unwind)]
    pub fn cancel(&self) {
        let taken = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(sub) = taken {
            sub.cancel();
        }
    }
}
