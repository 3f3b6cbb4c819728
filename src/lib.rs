//! Versioner: deployment tracking and preflight policy, embedded.
//!
//! This root package re-exports [`versioner_core`] so that the examples and benchmarks run
//! from the repository root. See the README for the quick start.

pub use versioner_core::*;
