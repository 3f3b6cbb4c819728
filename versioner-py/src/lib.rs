//! Versioner py binding. A placeholder that compiles; the binding is built by its own issue.

pub use versioner_core::VERSION;
