//! The `versioner` command and `versioner serve`.
//!
//! - [`cli`]: the command line (`track build|deployment`, `check`, `status`, `history`,
//!   `versions`, `rules`, `approve`, `approvals`, `keys`, `serve`), in process on `--db` or
//!   remote on `--api-url`, both through [`versioner_core::Tracker`].
//! - [`server`]: the HTTP API over the core (axum): the Versioner Events API, queries, rules,
//!   approvals, API keys and idempotency. [`server::router`] is the whole application, testable
//!   without a network.
//! - [`Exit`]: the exit code as a type: 0 ok, 1 usage or network, 4 API error, 5 blocked.

pub mod cli;
mod exit;
pub mod server;

pub use cli::run;
pub use exit::Exit;
