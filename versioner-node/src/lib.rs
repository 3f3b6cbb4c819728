//! Versioner for Node.js: a napi-rs addon over `versioner-core`.
//!
//! The addon is a thin layer: every method parses its JavaScript arguments, makes one core
//! call and converts the result. Nothing here decides anything the core decides.
//!
//! - `versioner`: the `Versioner` class (in process, SQLite); `client`: the `Client`
//!   class (remote, over HTTP). Both get the shared methods from `surface`, over a
//!   `backend` implementing the core's `Tracker`.
//! - `options` and `records`: what methods take and resolve to; napi-rs writes the
//!   TypeScript definitions (`index.d.ts`) from them. `convert`: the records of the hot
//!   paths (verdicts, deployments, builds) built straight from the core's types. `requests`: the options of the
//!   Deployment Request methods, flat and camelCase, and their conversion to the core's.
//! - `task`: storage calls run on the libuv thread pool and return promises.
//! - `error`: core errors become `Error`s with `code`, `httpStatus` and, for a policy
//!   rejection, the verdict.
//! - `helper`: `deployment(options, callback)`, started → callback → completed/failed.
//! - `ci`: `detectCi(env?)`, from environment variables.
//! - `naming`: the option names, and the deprecated spellings that still work.

mod backend;
mod ci;
mod client;
mod convert;
mod error;
mod helper;
mod input;
mod naming;
mod options;
mod records;
mod requests;
mod subscription;
mod surface;
mod task;
mod testing;
mod versioner;

// Exported free functions are registered by napi-rs only outside `cfg(test)`; re-exporting
// them keeps `cargo test`/`clippy --all-targets` from calling them unused.
pub use ci::detect_ci;
pub use records::record_from_core_for_tests;
pub use testing::{panic_for_tests, panic_in_task_for_tests, panic_unguarded_for_tests};
