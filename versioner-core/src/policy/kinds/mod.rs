//! The rule kinds, one module each.

pub(crate) mod concurrency;
pub(crate) mod flow;
pub(crate) mod release_approval;
pub(crate) mod schedule;
pub(crate) mod version_approval;
