//! Handles: opaque tokens resolved through a process-wide registry.
//!
//! A `VersionerHandle*` is never dereferenced. It is a token (a number that is never reused)
//! naming an entry of the registry, so a closed, forged or stale handle is detected and
//! refused with `INVALID_HANDLE` instead of being undefined behaviour, and `versioner_close`
//! on one thread cannot free what another thread is using: each call holds its own reference
//! to the backend for its duration, and the backend is dropped (the database closed) when the
//! last in-flight call ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use versioner_core::Versioner;

use crate::boundary::Failure;

/// An open Versioner (a local database or a remote server). Opaque: only pointers to it
/// exist, and they are never dereferenced.
pub struct VersionerHandle {
    _private: [u8; 0],
}

/// What a handle stands for.
#[derive(Debug)]
pub(crate) enum Backend {
    /// In process, on a SQLite database.
    Local(Versioner),
    /// A Versioner server, over HTTP.
    #[cfg(feature = "client")]
    Remote(versioner_core::client::Client),
}

static HANDLES: RwLock<BTreeMap<usize, Arc<Backend>>> = RwLock::new(BTreeMap::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// Registers a backend and returns its new handle.
pub(crate) fn register(backend: Backend) -> Result<*mut VersionerHandle, Failure> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if id == 0 || id == usize::MAX {
        // Only reachable after 2^64 (or 2^32) opens: refuse rather than ever reuse a token.
        return Err(versioner_core::Error::internal("handle tokens exhausted").into());
    }
    HANDLES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, Arc::new(backend));
    Ok(std::ptr::without_provenance_mut(id))
}

/// The backend of a live handle.
pub(crate) fn lookup(handle: *const VersionerHandle) -> Result<Arc<Backend>, Failure> {
    if handle.is_null() {
        return Err(Failure::NullPointer("handle"));
    }
    HANDLES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&handle.addr())
        .cloned()
        .ok_or(Failure::InvalidHandle)
}

/// Removes a handle; NULL is a no-op.
pub(crate) fn unregister(handle: *mut VersionerHandle) -> Result<(), Failure> {
    if handle.is_null() {
        return Ok(());
    }
    let removed = HANDLES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&handle.addr());
    // Dropped here, outside the lock: closing a database must not stall other handles.
    match removed {
        Some(backend) => {
            drop(backend);
            Ok(())
        }
        None => Err(Failure::InvalidHandle),
    }
}
