//! Integration tests of the `versioner` CLI, `versioner serve` and the HTTP client.
//!
//! - `api`: the router driven with `oneshot` (no network): every response body checked field
//!   by field against the public API reference (§4.2, §4.3, §4.6), auth, roles, idempotency,
//!   malformed and oversized input, OpenAPI.
//! - `client`: `versioner_core::client::Client` against a server on a loopback port: the
//!   promotion flow, errors with the same codes as in process, retries recorded exactly once.
//! - `cli`: the `versioner` binary against a server and in process: exit codes, output,
//!   `--fail-on-api-error=false`, config files, GitHub annotations, keys, `serve` and SIGTERM.
//! - `crash`: `versioner serve` killed with SIGKILL mid-write under four clients (after each
//!   kill the file passes `integrity_check` and holds every acknowledged write; retries with
//!   their `Idempotency-Key` replay what committed, never run it twice); an in-process writer
//!   killed mid-transaction; a full disk (`RLIMIT_FSIZE`) giving `STORAGE` and no corruption.
//! - `history`: `versioner import` and `versioner export`: the round trip gives the same
//!   status, history and DORA figures; idempotent; a bad line named; admin keys only.
//! - `insights`: `versioner metrics dora` in process and through the server.
//! - `tls`: HTTPS: `versioner serve --tls-cert/--tls-key`, a plain server behind a TLS proxy,
//!   a test CA trusted through `SSL_CERT_FILE` and `--ca-cert`, a wrong CA refused by name;
//!   an API key alone means the public API.
//! - `catalog`: products and environments described and renamed over HTTP, the client and the
//!   CLI; ids and history stay.
//! - `gaps`: `drift`, `versions --sha`/`--id`, `products`, `environments`, `rules history`,
//!   one policy problem per line, config-file typos, `--help` headings, humanised waits.
//! - `zero_config`: with nothing configured the CLI records into `~/.versioner/versioner.db`.
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
// `versioner calendar` and schedule windows in `rules list` (issue 17).
#[path = "suite/calendar.rs"]
mod calendar;
#[path = "suite/catalog.rs"]
mod catalog;
#[path = "suite/ci.rs"]
mod ci;
#[path = "suite/cli.rs"]
mod cli;
#[path = "suite/client.rs"]
mod client;
#[path = "suite/crash.rs"]
mod crash;
#[path = "suite/gaps.rs"]
mod gaps;
// `versioner import` and `versioner export` (issue 19, item 1).
#[path = "suite/history.rs"]
mod history;
#[path = "suite/insights.rs"]
mod insights;
#[path = "suite/notify.rs"]
mod notify;
// `track deployment --wait` and `versioner queue`.
#[path = "suite/queue.rs"]
mod queue;
// Deployment Requests and releases (issue 14).
#[path = "suite/requests.rs"]
mod requests;
#[path = "suite/tls.rs"]
mod tls;
#[path = "suite/zero_config.rs"]
mod zero_config;
// `versioner serve --slack-config`: the Slack app's slash commands over a real socket.
#[path = "suite/slack.rs"]
mod slack;
