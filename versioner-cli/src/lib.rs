//! The `versioner` command and `versioner serve`.
//!
//! - [`cli`]: the command line (`track build|deployment`, `check`, `status`, `history`,
//!   `versions`, `rules`, `approve`, `approvals`, `keys`, `serve`), in process on `--db` or
//!   remote on `--api-url`, both through [`versioner_core::Tracker`].
//! - `versioner serve` runs the HTTP API of the `versioner-server` crate, which holds no
//!   command-line code and can be mounted in any axum application.
//! - [`Exit`]: the exit code as a type: 0 ok, 1 usage or network, 4 API error, 5 blocked.

pub mod cli;
mod exit;

pub use cli::run;
pub use exit::Exit;
