//! Integration tests of the `versioner` CLI, `versioner serve` and the HTTP client.
//!
//! - `api`: the router driven with `oneshot` (no network): every response body checked field
//!   by field against the public API reference (§4.2, §4.3, §4.6), auth, roles, idempotency,
//!   malformed and oversized input, OpenAPI.
//! - `client`: `versioner_core::client::Client` against a server on a loopback port: the
//!   promotion flow, errors with the same codes as in process, retries recorded exactly once.
//! - `cli`: the `versioner` binary against a server and in process: exit codes, output,
//!   `--fail-on-api-error=false`, config files, GitHub annotations, keys, `serve` and SIGTERM.
//! - `crash`: `versioner serve` killed with SIGKILL mid-write; retries with their
//!   `Idempotency-Key` replay what committed, never run it twice.
//! - `insights`: `versioner metrics dora` in process and through the server.
//! - `ci`: the CI detection vectors of all 8 systems through the CLI into the recorded events.
//!
//! Everything runs on loopback ports and temporary directories, in a few seconds.

// clippy.toml allows these in `#[test]` functions; the shared fixtures are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test fixtures: a failure is a test failure"
)]

#[path = "suite/support.rs"]
mod support;

#[path = "suite/api.rs"]
mod api;
#[path = "suite/ci.rs"]
mod ci;
#[path = "suite/cli.rs"]
mod cli;
#[path = "suite/client.rs"]
mod client;
#[path = "suite/crash.rs"]
mod crash;
#[path = "suite/insights.rs"]
mod insights;
