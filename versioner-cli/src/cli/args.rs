//! The command line, as clap types. Nothing here does I/O; `cli::run` turns these into core
//! requests before any call.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use versioner_core::policy::ApplyMode;

const ABOUT: &str = "Deployment tracking and preflight policy: record builds and deployments, \
                     ask the preflight, query what is deployed where, and serve the HTTP API";

const LONG_ABOUT: &str = "\
Deployment tracking and preflight policy.

Two modes, chosen by the global options (before or after the subcommand):
  in-process  --db PATH (or VERSIONER_DB, or `db` in the config file): work on that SQLite file;
              or --database-url URL (VERSIONER_DATABASE_URL) on PostgreSQL (feature `postgres`)
  server      --api-url URL (or VERSIONER_API_URL) with --api-key KEY (or VERSIONER_API_KEY):
              talk to `versioner serve`
  default     none of these (and no key) anywhere: in process on ~/.versioner/versioner.db
              (VERSIONER_HOME moves the directory, which also holds config.yaml)

A flag wins over its VERSIONER_* variable, which wins over the config file (--config FILE, else
~/.versioner/config.yaml; never the current directory), which wins over CI auto-detection.

Exit codes: 0 ok, 1 usage or network error, 4 API error (bad input, SHA conflict, not found,
authentication), 5 blocked by policy.";

const EXAMPLES: &str = "\
Examples:
  versioner --db versioner.db track build --product api --version 1.2.0 --scm-sha 1a2b3c4d
  versioner --db versioner.db track deployment --product api --version 1.2.0 --environment staging --status started
  versioner check --product api --version 1.2.0 --environment production --api-url http://versioner:8000
  versioner status --db versioner.db
  versioner serve --db versioner.db --listen 0.0.0.0:8000";

/// The `versioner` command.
#[derive(Debug, Parser)]
#[command(
    name = "versioner",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How command output is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// For people.
    #[default]
    Text,
    /// One JSON document on stdout (the record, the verdict, or the error body).
    Json,
}

/// The `--help` heading of the options shared by every command.
pub const GLOBAL_HEADING: &str = "Global options (any command)";

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 30s or 2m: {e}"))
}

/// Parses the boolean spellings accepted for `--fail-on-api-error` and its variable.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "on" => Ok(true),
        "false" | "f" | "0" | "no" | "n" | "off" => Ok(false),
        other => Err(format!("`{other}` is not a boolean; use true or false")),
    }
}

/// Options shared by every command; they work before or after the subcommand, and `--help`
/// lists them under their own heading.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = GLOBAL_HEADING)]
pub struct Global {
    /// In-process mode on this SQLite file (or `:memory:`, `sqlite:PATH`, a `postgres://` URL) [env: VERSIONER_DB]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// In-process mode on a PostgreSQL database (builds with feature `postgres`) [env: VERSIONER_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Server mode: the base URL of `versioner serve` [env: VERSIONER_API_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,
    /// The API key (prefer the variable: flags are visible in process lists) [env: VERSIONER_API_KEY]
    #[arg(long, global = true, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Who acts: recorded on what you write, and checked against its role. In process it
    /// defaults to the OS user; through a server the key's principal acts, and --actor must name
    /// it if given [env: VERSIONER_ACTOR]
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// A YAML config file (default: ~/.versioner/config.yaml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Say what is sent and where (never the API key)
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Server mode: timeout of one HTTP attempt [default: 30s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,
    /// Server mode: attempts per request on network errors, 5xx and 429 [default: 4]
    #[arg(long, global = true, value_name = "N")]
    pub max_attempts: Option<NonZeroU32>,
    /// Server mode: first wait between attempts, doubling each time [default: 1s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = duration)]
    pub retry_backoff: Option<Duration>,
    /// Server mode: also trust the certificate authorities in this PEM file for https:// (on
    /// top of the system's; SSL_CERT_FILE replaces the system's) [env: VERSIONER_CA_CERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record a build or deployment event
    #[command(
        subcommand,
        after_help = "\
Examples:
  versioner track build --product api --version 1.2.0 --scm-sha 1a2b3c4d
  versioner track deployment --product api --version 1.2.0 --environment production --status started"
    )]
    Track(Box<Track>),
    /// The deployments waiting in the wait queue (`track deployment --wait`), per environment
    /// in arrival order
    #[command(after_help = "\
Examples:
  versioner queue
  versioner queue --environment production --output json")]
    Queue(QueueArgs),
    /// Ask the preflight whether a deployment would be allowed (records nothing)
    #[command(after_help = "\
Exit code 0 when allowed, 5 when blocked.

Examples:
  versioner check --product api --version 1.2.0 --environment production
  versioner check --product api --version 1.2.0 --environment production --at 2026-12-24T10:00:00Z --output json")]
    Check(CheckArgs),
    /// What is deployed where (now, or as of --at)
    #[command(after_help = "\
Examples:
  versioner status
  versioner status --at 2026-11-20T17:00:00Z --output json")]
    Status(StatusArgs),
    /// Deployment history, newest first
    #[command(after_help = "\
Examples:
  versioner history --product api --environment production --limit 10
  versioner history --status failed --since 2026-11-01T00:00:00Z")]
    History(HistoryArgs),
    /// Versions of a product, newest first; or the versions built from a commit, or one by id
    #[command(after_help = "\
Examples:
  versioner versions --product api
  versioner versions --product api --limit 5 --output json
  versioner versions --sha 4f2a9c1          # every product's versions built from the commit
  versioner versions --id 0b9e…             # one version by its id")]
    Versions(VersionsArgs),
    /// Products whose environments hold different versions (now, or as of --at)
    #[command(after_help = "\
Exit code 0 whether or not there is drift (JSON: a list, empty when none).

Examples:
  versioner drift
  versioner drift --environment staging --environment production
  versioner drift --at 2026-11-20T17:00:00Z -o json")]
    Drift(DriftArgs),
    /// How far one environment runs behind another, per product: versions and time behind
    #[command(after_help = "\
A version is behind when it reached --ahead at or after the version --behind runs did.
Exit code 0 whatever the skew (JSON: a list, one entry per product). Definitions:
docs/src/concepts/insights.md#skew-and-stale-versions.

Examples:
  versioner skew --ahead staging --behind production
  versioner skew --ahead staging --behind production --product api -o json")]
    Skew(SkewArgs),
    /// Versions waiting in an environment longer than a threshold without being promoted
    #[command(after_help = "\
Without --promoted-to, a version counts as promoted once it reached any environment of type
production. Exit code 0 whatever is found (JSON: a list, oldest first).

Examples:
  versioner stale --environment staging --older-than 14d
  versioner stale --environment staging --older-than 3d --promoted-to prod-eu --promoted-to prod-us")]
    Stale(StaleArgs),
    /// The products: list, describe, rename, set the description or metadata
    #[command(
        subcommand,
        after_help = "\
Examples:
  versioner products list
  versioner products describe api
  versioner products rename api api-service
  versioner products set api-service --description 'The public API' --extra-metadata '{\"team\":\"core\"}'"
    )]
    Products(Products),
    /// The environments: list, describe, set the type, rename, set the description or metadata
    #[command(
        subcommand,
        after_help = "\
Examples:
  versioner environments list
  versioner environments describe prod-eu
  versioner environments set-type prod-eu production
  versioner environments rename prod-eu production-eu
  versioner environments set production-eu --description 'Frankfurt'"
    )]
    Environments(Environments),
    /// Deployment rules: apply a policy file, list, change a rule's status
    #[command(
        subcommand,
        after_help = "\
Examples:
  versioner rules apply versioner.toml
  versioner rules list
  versioner rules set-status 'Friday freeze' report_only --reason 'INC-42 hotfix'"
    )]
    Rules(Rules),
    /// Expand the effective deployment calendar (deny and allow windows, and the open and
    /// closed intervals they leave) for the next N days
    #[command(after_help = "\
Examples:
  versioner calendar --environment production
  versioner calendar --product shop --environment production --days 90 --format json
  versioner calendar --environment production --format ics > freezes.ics")]
    Calendar(CalendarArgs),
    /// Record an approval of a version (quality sign-off or release approval)
    #[command(after_help = "\
Examples:
  versioner approve --product api --version 1.2.0 --type qa --actor dana
  versioner approve --product api --version 1.2.0 --type release --actor lee --role sre --environment production
  versioner approve --product api --version 1.2.0 --type security --api-url http://versioner:8000   # as the key's principal")]
    Approve(ApproveArgs),
    /// List the approvals of a version
    #[command(after_help = "\
Examples:
  versioner approvals --product api --version 1.2.0")]
    Approvals(ApprovalsArgs),
    /// Deployment Requests: create, submit, approve or reject slots, tick steps, show progress
    Requests(super::requests::RequestsArgs),
    /// Manage the server's API keys (on the server host, next to its database)
    Keys(KeysArgs),
    /// Notification channels (webhook, Slack, e-mail), subscriptions, history and delivery
    /// (on the database, as `keys`)
    Notifications(super::notifications::NotificationsArgs),
    /// Variables of deployment buttons, at the organization's scope or a product's
    Variables(super::buttons::VariablesArgs),
    /// Deployment buttons: per-product URL templates, rendered per version
    Buttons(super::buttons::ButtonsArgs),
    /// Check or export the tamper-evident audit log
    Audit(AuditArgs),
    /// Write a consistent copy of the database to a new file, while writers keep running
    /// (SQLite; for PostgreSQL it prints the pg_dump command)
    #[command(after_help = "\
Examples:
  versioner backup --db versioner.db backups/versioner-2026-11-21.db")]
    Backup(BackupArgs),
    /// Import a history file (JSON Lines: one build or deployment event per line, with its
    /// own times), applied in time order, all or nothing; lines imported before are skipped
    #[command(after_help = "\
Each line is a body of POST /build-events/ or POST /deployment-events/, plus \"kind\"
(\"build\" or \"deployment\"; inferred from environment_name when absent) and, on
deployments, \"started_at\". A line's time is its completed_at (terminal statuses) or its
started_at. Imported deployments are not preflighted and send no notifications.

Examples:
  versioner import --db versioner.db history.jsonl --dry-run
  versioner export --db old.db | versioner import --database-url postgres://… -")]
    Import(ImportArgs),
    /// Write every build and deployment as a history file (JSON Lines, in time order) that
    /// `versioner import` reads
    #[command(after_help = "\
Examples:
  versioner export --db versioner.db history.jsonl
  versioner export --db old.db | versioner import --db new.db")]
    Export(ExportArgs),
    /// Replace the database with a backup file, after checking it (refuses a database that
    /// already holds records unless --force); stop `versioner serve` first
    #[command(after_help = "\
Examples:
  versioner restore --db versioner.db backups/versioner-2026-11-21.db
  versioner restore --db versioner.db backups/versioner-2026-11-21.db --force")]
    Restore(RestoreArgs),
    /// List the recorded preflight decisions where a rule failed (blocked, reported, bypassed)
    #[command(after_help = "\
Examples:
  versioner violations --environment production --outcome blocked
  versioner violations --rule 'Staging soak' --since 2026-11-01T00:00:00Z -o json")]
    Violations(ViolationsArgs),
    /// Re-evaluate recorded decisions under the policy then in force, or a candidate policy,
    /// and list those that would change (needs the database: --db or --database-url)
    #[command(after_help = "\
Examples:
  versioner replay --since 2026-11-01T00:00:00Z
  versioner replay --since 2026-11-01T00:00:00Z --policy candidate.toml")]
    Replay(ReplayArgs),
    /// Insights from the ledger: the four keys (DORA metrics)
    #[command(
        subcommand,
        after_help = "\
Examples:
  versioner metrics dora --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z
  versioner metrics dora --product api --environment prod-eu --environment prod-us \\
      --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z --by week --output json"
    )]
    Metrics(Metrics),
    /// Run the HTTP API and the dashboard over a database
    #[command(after_help = "\
API keys live in the database itself (every server on it accepts them); create one with
`versioner keys create`.
Without any key every request is refused (401) unless --no-auth is given.
The dashboard is at / (http://127.0.0.1:8000/ by default): sign in with an API key.
Stops gracefully on SIGINT or SIGTERM: requests in flight finish first.

Hardening (see docs/src/operating/security.md): every route checks the key for every method;
JSON routes take only `Content-Type: application/json` (415); a browser's cross-origin write is
refused (403); --allowed-host limits the Host names answered (421); slow and idle connections
are closed (--header-read-timeout, --idle-timeout); --max-connections bounds open connections;
--rate-limit-per-key and --rate-limit-per-ip answer 429 with Retry-After.

Examples:
  versioner keys create --db versioner.db --name admin --role admin
  versioner keys create --db versioner.db --name ci --role ci
  versioner serve --db versioner.db --listen 0.0.0.0:8000
  versioner serve --db versioner.db --listen 0.0.0.0:8443 --tls-cert server.pem --tls-key server.key \\
      --allowed-host versioner.example.com --rate-limit-per-ip 600
  RUST_LOG=debug versioner serve --db versioner.db --no-auth")]
    Serve(ServeArgs),
}

/// `versioner track …`.
#[derive(Debug, Subcommand)]
pub enum Track {
    /// Record a build event
    #[command(after_help = "\
Every field falls back to its VERSIONER_* variable (VERSIONER_PRODUCT, VERSIONER_SCM_SHA, …),
then the config file (product, scm_sha, …), then the CI system detected (GitHub Actions,
GitLab, Jenkins, CircleCI, Bitbucket, Azure DevOps, Travis, Rundeck).

Examples:
  versioner track build --product api --version 1.2.0 --status completed
  versioner track build --version 1.2.0 --extra-metadata '{\"team\":\"core\"}'   # product from CI
  versioner track build --product api --version 1.2.0 --fail-on-api-error=false")]
    Build(TrackBuild),
    /// Record a deployment event; `started` runs the preflight
    #[command(after_help = "\
Every field falls back to its VERSIONER_* variable, then the config file, then the CI system
detected (not the environment). A refused deployment exits 5 and prints the code, the rule,
what to do and when to retry.

Examples:
  versioner track deployment --product api --version 1.2.0 --environment production --status started
  versioner track deployment --product api --version 1.2.0 --environment production --status completed
  versioner track deployment --product api --version 1.2.0 --environment production --status started \\
      --skip-preflight-checks --skip-preflight-reason 'INC-42 hotfix'
  versioner track deployment --product api --version 1.2.0 --environment production --status started \\
      --wait 30m    # wait out a window, a soak or a deployment in progress, in arrival order")]
    Deployment(TrackDeployment),
}

/// Flags of `track build`.
#[derive(Debug, Clone, Default, Args)]
pub struct TrackBuild {
    /// The product [env: VERSIONER_PRODUCT; CI: repository name]
    #[arg(long)]
    pub product: Option<String>,
    /// The version [env: VERSIONER_VERSION; CI: short SHA or build number]
    #[arg(long)]
    pub version: Option<String>,
    /// Status, any alias (completed, success, started, failed, …) [env: VERSIONER_STATUS] [default: completed]
    #[arg(long)]
    pub status: Option<String>,
    /// The CI system [env: VERSIONER_SOURCE_SYSTEM; CI: detected, else `unknown`]
    #[arg(long)]
    pub source_system: Option<String>,
    /// The CI build number [env: VERSIONER_BUILD_NUMBER]
    #[arg(long)]
    pub build_number: Option<String>,
    /// The commit (full or abbreviated) [env: VERSIONER_SCM_SHA]
    #[arg(long)]
    pub scm_sha: Option<String>,
    /// The branch [env: VERSIONER_SCM_BRANCH]
    #[arg(long)]
    pub scm_branch: Option<String>,
    /// The repository, e.g. owner/repo [env: VERSIONER_SCM_REPOSITORY]
    #[arg(long)]
    pub scm_repository: Option<String>,
    /// A link to the build [env: VERSIONER_BUILD_URL]
    #[arg(long)]
    pub build_url: Option<String>,
    /// The CI run id (repeating a run id and status is idempotent) [env: VERSIONER_INVOKE_ID]
    #[arg(long)]
    pub invoke_id: Option<String>,
    /// Who built it [env: VERSIONER_BUILT_BY]
    #[arg(long)]
    pub built_by: Option<String>,
    /// Their e-mail [env: VERSIONER_BUILT_BY_EMAIL]
    #[arg(long)]
    pub built_by_email: Option<String>,
    /// Their name [env: VERSIONER_BUILT_BY_NAME]
    #[arg(long)]
    pub built_by_name: Option<String>,
    /// When the commit was made, RFC 3339 (where lead time starts); in CI: GitLab's
    /// CI_COMMIT_TIMESTAMP, else `git show -s --format=%cI <sha>` in the checkout [env: VERSIONER_SCM_COMMITTED_AT]
    #[arg(long, value_name = "TIME")]
    pub scm_committed_at: Option<String>,
    /// When the build started, RFC 3339 [env: VERSIONER_STARTED_AT]
    #[arg(long, value_name = "TIME")]
    pub started_at: Option<String>,
    /// When it finished, RFC 3339 [env: VERSIONER_COMPLETED_AT]
    #[arg(long, value_name = "TIME")]
    pub completed_at: Option<String>,
    /// A JSON object merged over the CI's vi_* keys (yours win) [env: VERSIONER_EXTRA_METADATA]
    #[arg(long, value_name = "JSON")]
    pub extra_metadata: Option<String>,
    /// false: an API, network or server error prints a warning and exits 0 (a block still exits 5) [env: VERSIONER_FAIL_ON_API_ERROR] [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub fail_on_api_error: Option<bool>,
}

/// Flags of `track deployment`.
#[derive(Debug, Clone, Default, Args)]
pub struct TrackDeployment {
    /// The product [env: VERSIONER_PRODUCT; CI: repository name]
    #[arg(long)]
    pub product: Option<String>,
    /// The version [env: VERSIONER_VERSION; CI: short SHA or build number]
    #[arg(long)]
    pub version: Option<String>,
    /// The environment [env: VERSIONER_ENVIRONMENT]
    #[arg(long)]
    pub environment: Option<String>,
    /// Status, any alias (started, success, failed, …) [env: VERSIONER_STATUS] [default: success]
    #[arg(long)]
    pub status: Option<String>,
    /// The CI system [env: VERSIONER_SOURCE_SYSTEM; CI: detected, else `unknown`]
    #[arg(long)]
    pub source_system: Option<String>,
    /// The CI build number [env: VERSIONER_BUILD_NUMBER]
    #[arg(long)]
    pub build_number: Option<String>,
    /// The commit (full or abbreviated) [env: VERSIONER_SCM_SHA]
    #[arg(long)]
    pub scm_sha: Option<String>,
    /// The repository [env: VERSIONER_SCM_REPOSITORY]
    #[arg(long)]
    pub scm_repository: Option<String>,
    /// The branch (not auto-detected for deployments)
    #[arg(long)]
    pub scm_branch: Option<String>,
    /// A link to the deploy run [env: VERSIONER_DEPLOY_URL]
    #[arg(long)]
    pub deploy_url: Option<String>,
    /// A link to the build (not auto-detected for deployments)
    #[arg(long)]
    pub build_url: Option<String>,
    /// The CI run id (repeating a run id and status is idempotent) [env: VERSIONER_INVOKE_ID]
    #[arg(long)]
    pub invoke_id: Option<String>,
    /// When the commit was made, RFC 3339 (where lead time starts); in CI: GitLab's
    /// CI_COMMIT_TIMESTAMP, else `git show -s --format=%cI <sha>` in the checkout [env: VERSIONER_SCM_COMMITTED_AT]
    #[arg(long, value_name = "TIME")]
    pub scm_committed_at: Option<String>,
    /// Who deploys [env: VERSIONER_DEPLOYED_BY]
    #[arg(long)]
    pub deployed_by: Option<String>,
    /// Their e-mail [env: VERSIONER_DEPLOYED_BY_EMAIL]
    #[arg(long)]
    pub deployed_by_email: Option<String>,
    /// Their name [env: VERSIONER_DEPLOYED_BY_NAME]
    #[arg(long)]
    pub deployed_by_name: Option<String>,
    /// When it finished, RFC 3339 [env: VERSIONER_COMPLETED_AT]
    #[arg(long, value_name = "TIME")]
    pub completed_at: Option<String>,
    /// A JSON object merged over the CI's vi_* keys (yours win) [env: VERSIONER_EXTRA_METADATA]
    #[arg(long, value_name = "JSON")]
    pub extra_metadata: Option<String>,
    /// false: an API, network or server error prints a warning and exits 0 (a block still exits 5) [env: VERSIONER_FAIL_ON_API_ERROR] [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub fail_on_api_error: Option<bool>,
    /// Emergency bypass of the preflight (deprecated; recorded with the reason)
    #[arg(long, requires = "skip_preflight_reason")]
    pub skip_preflight_checks: bool,
    /// Why the preflight is bypassed (required with --skip-preflight-checks)
    #[arg(long, value_name = "TEXT")]
    pub skip_preflight_reason: Option<String>,
    /// When `started` is blocked by something time alone clears (a window, a soak, a
    /// deployment in progress), wait up to this long (`90`, `30s`, `30m`, `1h`; at most 1h) in
    /// the environment's queue, in arrival order, then give up with the block (exit 5)
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub wait: Option<std::time::Duration>,
}

/// Parses `--wait`.
pub fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    versioner_core::queue::parse_wait(s, "--wait").map_err(|e| match e {
        versioner_core::Error::InvalidInput { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// Flags of `queue`.
#[derive(Debug, Clone, Default, Args)]
pub struct QueueArgs {
    /// Only this environment's queue
    #[arg(long)]
    pub environment: Option<String>,
}

/// Flags of `check`.
#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    /// The product [env: VERSIONER_PRODUCT; CI: repository name]
    #[arg(long)]
    pub product: Option<String>,
    /// The version [env: VERSIONER_VERSION; CI: short SHA or build number]
    #[arg(long)]
    pub version: Option<String>,
    /// The target environment [env: VERSIONER_ENVIRONMENT]
    #[arg(long)]
    pub environment: Option<String>,
    /// Who would deploy (never counts as a release approver) [env: VERSIONER_DEPLOYED_BY]
    #[arg(long)]
    pub deployed_by: Option<String>,
    /// Evaluate at this instant (RFC 3339) instead of now
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// Flags of `status`.
#[derive(Debug, Clone, Default, Args)]
pub struct StatusArgs {
    /// Show the state as of this instant (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// Flags of `history`.
#[derive(Debug, Clone, Default, Args)]
pub struct HistoryArgs {
    /// Only this product
    #[arg(long)]
    pub product: Option<String>,
    /// Only this environment
    #[arg(long)]
    pub environment: Option<String>,
    /// Only this version (needs --product)
    #[arg(long)]
    pub version: Option<String>,
    /// Only this status (any alias)
    #[arg(long)]
    pub status: Option<String>,
    /// Only deployments whose preflight passed, or was skipped (an emergency bypass)
    #[arg(long, value_name = "passed|skipped")]
    pub preflight: Option<String>,
    /// Only deployments recorded at or after this instant (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only deployments recorded before this instant (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// At most this many (1 to 1000)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

/// Flags of `calendar`.
#[derive(Debug, Clone, Args)]
pub struct CalendarArgs {
    /// Only the rules whose scope includes this product
    #[arg(long)]
    pub product: Option<String>,
    /// Only the rules whose scope includes this environment (its type inferred from the name)
    #[arg(long)]
    pub environment: Option<String>,
    /// How many days to expand, from --from (1 to 800)
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Where the calendar starts (RFC 3339); default: now, to the minute
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// table, json, or ics (an iCalendar feed with TZIDs)
    #[arg(long, default_value = "table", value_name = "table|json|ics")]
    pub format: String,
}

/// Flags of `violations`.
#[derive(Debug, Clone, Default, Args)]
pub struct ViolationsArgs {
    /// Only decisions where this rule failed
    #[arg(long)]
    pub rule: Option<String>,
    /// Only this product
    #[arg(long)]
    pub product: Option<String>,
    /// Only this environment
    #[arg(long)]
    pub environment: Option<String>,
    /// Only decisions recorded at or after this instant (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only decisions recorded before this instant (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this outcome
    #[arg(long, value_name = "blocked|reported|bypassed")]
    pub outcome: Option<String>,
    /// At most this many (1 to 1000)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

/// Flags of `replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Replay the decisions recorded at or after this instant (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// A candidate policy file (TOML, or JSON by its extension) instead of the one in force
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
}

/// Flags of `versions`.
#[derive(Debug, Clone, Default, Args)]
pub struct VersionsArgs {
    /// The product [env: VERSIONER_PRODUCT]
    #[arg(long)]
    pub product: Option<String>,
    /// The versions built from this commit, in every product (4+ hex characters match by prefix)
    #[arg(long, value_name = "SHA", conflicts_with_all = ["product", "id"])]
    pub sha: Option<String>,
    /// One version by its id
    #[arg(long, value_name = "ID", conflicts_with_all = ["product", "sha"])]
    pub id: Option<String>,
    /// At most this many (1 to 1000)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Skip this many
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
}

/// Flags of `drift`.
#[derive(Debug, Clone, Default, Args)]
pub struct DriftArgs {
    /// Compare only these environments (repeat the flag; default: every environment)
    #[arg(long, value_name = "NAME")]
    pub environment: Vec<String>,
    /// As of this instant (RFC 3339) instead of now
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// Flags of `skew`.
#[derive(Debug, Clone, Default, Args)]
pub struct SkewArgs {
    /// The environment ahead (e.g. staging)
    #[arg(long, value_name = "NAME")]
    pub ahead: String,
    /// The environment behind (e.g. production)
    #[arg(long, value_name = "NAME")]
    pub behind: String,
    /// Only this product (default: every product deployed to either)
    #[arg(long)]
    pub product: Option<String>,
}

/// Flags of `stale`.
#[derive(Debug, Clone, Default, Args)]
pub struct StaleArgs {
    /// The environment the versions wait in
    #[arg(long, value_name = "NAME")]
    pub environment: String,
    /// How long a version may wait (e.g. 14d, 36h)
    #[arg(long, value_name = "DURATION")]
    pub older_than: String,
    /// Where it should have gone (repeatable; default: every production environment)
    #[arg(long, value_name = "NAME")]
    pub promoted_to: Vec<String>,
}

/// `versioner products …`.
#[derive(Debug, Subcommand)]
pub enum Products {
    /// List the products
    #[command(after_help = "\
Examples:
  versioner products list
  versioner products list -o json")]
    List,
    /// Show a product: its record, its latest versions and what is deployed where
    #[command(after_help = "\
Examples:
  versioner products describe api")]
    Describe {
        /// The product's name (or its id)
        name: String,
    },
    /// Rename it: the id stays, and its history, versions, deployments and approvals follow;
    /// the old name no longer resolves (refused while a rule names it)
    #[command(after_help = "\
Examples:
  versioner products rename api api-service
  versioner environments rename prod-eu production-eu")]
    Rename {
        /// The current name (or the id)
        name: String,
        /// The new name
        new_name: String,
    },
    /// Set the description or the metadata (each flag left out is left as it is)
    #[command(after_help = "\
Examples:
  versioner products set api --description 'The public API'
  versioner products set api --extra-metadata '{\"team\":\"core\",\"oncall\":\"#api\"}'
  versioner products set api --description ''        # removes it")]
    Set(CatalogSetArgs),
}

/// `versioner environments …`.
#[derive(Debug, Subcommand)]
pub enum Environments {
    /// List the environments, from development to production
    #[command(after_help = "\
Examples:
  versioner environments list
  versioner environments list -o json")]
    List,
    /// Show an environment: its record and what is deployed there
    #[command(after_help = "\
Examples:
  versioner environments describe production")]
    Describe {
        /// The environment's name (or its id)
        name: String,
    },
    /// Set an environment's type (dev, test, staging, production, other), or `inferred` to
    /// return it to inference from the name
    #[command(after_help = "\
Examples:
  versioner environments set-type prod-eu production
  versioner environments set-type prod-eu inferred")]
    SetType {
        /// The environment's name (created if new)
        name: String,
        /// dev, test, staging, production, other, or inferred
        #[arg(value_name = "TYPE")]
        env_type: String,
    },
    /// Rename it: the id stays, and its history, versions, deployments and approvals follow;
    /// the old name no longer resolves (refused while a rule names it)
    #[command(after_help = "\
Examples:
  versioner products rename api api-service
  versioner environments rename prod-eu production-eu")]
    Rename {
        /// The current name (or the id)
        name: String,
        /// The new name
        new_name: String,
    },
    /// Set the description or the metadata (each flag left out is left as it is)
    #[command(after_help = "\
Examples:
  versioner products set api --description 'The public API'
  versioner products set api --extra-metadata '{\"team\":\"core\",\"oncall\":\"#api\"}'
  versioner products set api --description ''        # removes it")]
    Set(CatalogSetArgs),
}

/// Flags of `products set` and `environments set`.
#[derive(Debug, Clone, Default, Args)]
pub struct CatalogSetArgs {
    /// The name (or the id)
    pub name: String,
    /// A description for people; '' removes it
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// A JSON object replacing the metadata as a whole; '{}' removes it
    #[arg(long, value_name = "JSON")]
    pub extra_metadata: Option<String>,
}

/// `versioner rules …`.
#[derive(Debug, Subcommand)]
pub enum Rules {
    /// Apply a policy file (TOML, or JSON when the name ends in .json); all or nothing
    #[command(after_help = "\
Examples:
  versioner rules apply versioner.toml
  versioner rules apply extra-rules.toml --mode merge")]
    Apply {
        /// The policy file
        file: PathBuf,
        /// replace: the file becomes the whole policy; merge: add or update by name
        #[arg(long, default_value = "replace", value_name = "replace|merge")]
        mode: ApplyMode,
        /// A file without `rules` means "no rules": in replace mode every stored rule is
        /// deleted (otherwise refused; `rules = []` in the file says the same)
        #[arg(long)]
        allow_empty: bool,
    },
    /// Lint a policy file (or, without FILE, the policy in force): windows that never match,
    /// deny covering allow, duplicate windows, flow cycles, unsatisfiable approvals; exit 4
    /// with errors, 0 with warnings only
    #[command(after_help = "\
Examples:
  versioner rules lint versioner.toml
  versioner rules lint --format json")]
    Lint {
        /// The policy file (default: the policy in force)
        file: Option<PathBuf>,
        /// text or json
        #[arg(long, default_value = "text", value_name = "text|json")]
        format: String,
    },
    /// Run a policy file's `[[tests]]` cases, each in a fresh in-memory store; exit 0 when all
    /// pass, 1 otherwise
    #[command(after_help = "\
Examples:
  versioner rules test versioner.toml
  versioner rules test versioner.toml --dst-edges")]
    Test {
        /// The policy file with its `[[tests]]` tables
        file: PathBuf,
        /// Also generate cases at every DST change of each schedule rule's zone
        #[arg(long)]
        dst_edges: bool,
    },
    /// List the rules in evaluation order; with -v each rule's audit (created, changed, every
    /// status change with who and why)
    #[command(after_help = "\
Examples:
  versioner rules list
  versioner rules list -v
  versioner rules list --output json")]
    List,
    /// A rule's status changes, oldest first: who, when, from, to and why
    #[command(after_help = "\
Examples:
  versioner rules history 'Friday freeze'
  versioner rules history 'Friday freeze' -o json")]
    History {
        /// The rule's name
        name: String,
    },
    /// Change a rule's status (enabled, report_only, disabled), recording why
    #[command(after_help = "\
Examples:
  versioner rules set-status 'Friday freeze' report_only --reason 'INC-42: hotfix must ship'
  versioner rules set-status 'Friday freeze' enabled --reason 'INC-42 closed'")]
    SetStatus {
        /// The rule's name
        name: String,
        /// enabled, report_only or disabled
        status: String,
        /// Why (recorded)
        #[arg(long)]
        reason: String,
    },
}

/// Flags of `approve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ApproveArgs {
    /// The product
    #[arg(long)]
    pub product: String,
    /// The version
    #[arg(long)]
    pub version: String,
    /// The approval type: qa, security, uat, code_review, compliance, performance, release, or one your policy declares
    #[arg(long = "type", value_name = "TYPE")]
    pub approval_type: String,
    /// Who approves (the same as --actor; through a server, the key's principal) [default: $USER]
    #[arg(long)]
    pub approver: Option<String>,
    /// The approver's role, for an approver not registered as a principal (a registered one's role is its own)
    #[arg(long)]
    pub role: Option<String>,
    /// The environment it is granted in or for
    #[arg(long)]
    pub environment: Option<String>,
    /// A comment
    #[arg(long)]
    pub comment: Option<String>,
}

/// Flags of `approvals`.
#[derive(Debug, Clone, Default, Args)]
pub struct ApprovalsArgs {
    /// The product
    #[arg(long)]
    pub product: String,
    /// The version
    #[arg(long)]
    pub version: String,
}

/// `versioner keys …`.
#[derive(Debug, Args)]
#[command(after_help = "\
Keys are stored hashed in the database itself (--db or --database-url); every server on that
database accepts them. A <db>-server file of an earlier version is imported on first use.
Each key belongs to a principal (a person or a CI system) and acts with its role. There is
always an admin: the last admin's last key cannot be revoked, nor the last admin downgraded.
Over HTTP an admin key manages keys at /api-keys/.

Examples:
  versioner keys create --db versioner.db --name admin --role admin
  versioner keys create --db versioner.db --name github-actions --role ci
  versioner keys create --db versioner.db --name dana-laptop --principal dana --role qa
  versioner keys role --db versioner.db dana security
  versioner keys list --db versioner.db
  versioner keys revoke --db versioner.db github-actions")]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Keys,
}

/// `versioner audit …`.
#[derive(Debug, Args)]
#[command(after_help = "\
Every recorded change (deployments and their preflight decisions, refusals, bypasses,
approvals, rule and status changes, key changes) is an entry of a hash chain in the database.

Examples:
  versioner audit verify --db versioner.db
  versioner audit export --db versioner.db > audit.jsonl")]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Audit,
}

/// `versioner backup FILE`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to create (never overwritten)
    pub file: PathBuf,
}

/// `versioner import FILE`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The history file (JSON Lines); `-` or nothing reads standard input
    pub file: Option<PathBuf>,
    /// Validate and report what would be imported, writing nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `versioner export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file (created or replaced); `-` or nothing writes to standard output
    /// (`--output` is the global text/json switch, so the file is positional, as `import`'s)
    pub file: Option<PathBuf>,
}

/// `versioner restore FILE`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (made by `versioner backup`)
    pub file: PathBuf,
    /// Replace a database that already holds records
    #[arg(long)]
    pub force: bool,
}

/// `versioner audit …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Audit {
    /// Check the chain; exits 4 naming the first entry that does not match
    Verify,
    /// Write every entry as JSON Lines (one object per line) to stdout
    Export {
        /// Only entries after this sequence number
        #[arg(long, default_value_t = 0, value_name = "SEQ")]
        after: i64,
    },
}

/// `versioner keys …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Keys {
    /// Create a key; it is printed once, as the last line of output
    #[command(after_help = "\
Roles (the reference's ten, plus ci):
  admin            everything, including keys and roles
  release_manager  events, the emergency bypass, rules, environments, every approval type
  sre              events, rules, environments; approves performance and release
  developer        events; approves code_review
  product          approves uat and release      qa          approves qa, performance, release
  security         approves security, release    compliance  approves compliance, release
  billing, viewer  read only                     ci          send events only (pipelines)
Every role but ci reads. `deployer` and `approver`, the names of earlier versions, are read as
ci and release_manager. Which role approves which type can be changed in the policy file.

Examples:
  versioner keys create --db versioner.db --name github-actions --role ci
  versioner keys create --db versioner.db --name dana-laptop --principal dana --role qa
  export VERSIONER_API_KEY=$(versioner keys create --db versioner.db --name ci --role ci | tail -n 1)")]
    Create {
        /// A name for people, unique among active keys
        #[arg(long)]
        name: String,
        /// The principal (person or CI system) the key belongs to [default: the key's name]
        #[arg(long)]
        principal: Option<String>,
        /// The principal's role: required for a new principal; an existing one keeps its own
        #[arg(long)]
        role: Option<String>,
    },
    /// List keys (never the keys themselves)
    #[command(after_help = "\
Examples:
  versioner keys list --db versioner.db")]
    List,
    /// Revoke a key by name or id
    #[command(after_help = "\
Examples:
  versioner keys revoke --db versioner.db ci")]
    Revoke {
        /// The key's name or id
        name: String,
    },
    /// Change a principal's role (every key of it acts with the new role)
    #[command(after_help = "\
The last admin cannot be downgraded, and nobody changes their own role (--actor).

Examples:
  versioner keys role --db versioner.db dana security
  versioner keys role --db versioner.db github-actions ci")]
    Role {
        /// The principal's name (or the name or id of one of its keys)
        principal: String,
        /// The new role
        role: String,
    },
    /// List principals and their roles
    #[command(after_help = "\
Examples:
  versioner keys principals --db versioner.db")]
    Principals,
}

/// Flags of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    pub listen: String,
    /// Accept requests without an API key (a trusted network or one machine only)
    #[arg(long)]
    pub no_auth: bool,
    /// The largest request body accepted, in bytes
    #[arg(long, default_value_t = versioner_server::DEFAULT_BODY_LIMIT, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// How long a request may take before it is answered 503
    #[arg(long, default_value = "30s", value_parser = duration, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// Serve HTTPS with this PEM certificate chain (the server's certificate first); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A name the server answers to (`host` or `host:port`; repeatable); a request with another
    /// Host header is refused (421), which defeats DNS rebinding [default: any]
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// How long a client has to send a request's headers (and finish the TLS handshake)
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    pub header_read_timeout: Duration,
    /// Close a connection after this long with nothing sent or received and no request in flight
    #[arg(long, default_value = "60s", value_parser = duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// How many connections may be open at once; more wait to be accepted
    #[arg(long, default_value_t = versioner_server::connections::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,
    /// Requests per minute allowed to each API key; more are answered 429 with Retry-After [default: no limit]
    #[arg(long, value_name = "N")]
    pub rate_limit_per_key: Option<NonZeroU32>,
    /// Requests per minute allowed to each client address (before authentication) [default: no limit]
    #[arg(long, value_name = "N")]
    pub rate_limit_per_ip: Option<NonZeroU32>,
    /// How many requests of a rate limit may arrive at once [default: the per-minute number]
    #[arg(long, value_name = "N")]
    pub rate_limit_burst: Option<NonZeroU32>,
    /// This server's public URL (`https://versioner.example.com`, or VERSIONER_PUBLIC_URL):
    /// notifications link to its dashboard (`source_url`)
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Attempts per notification before it is parked
    #[arg(long, default_value = "3", value_name = "N")]
    pub notify_attempts: NonZeroU32,
    /// The wait after a notification's first failed attempt, doubled after each
    #[arg(long, default_value = "1s", value_parser = duration, value_name = "DURATION")]
    pub notify_backoff: Duration,
    /// How long one notification attempt may take
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    pub notify_timeout: Duration,
    /// Do not deliver notifications from this server (another process does)
    #[arg(long)]
    pub no_notify: bool,
    /// Answer the Slack app's slash commands (`POST /integrations/slack/commands`) with this
    /// configuration (TOML: `signing_secret_env`, and `[users]` mapping Slack user ids to
    /// principals)
    #[arg(long, value_name = "FILE")]
    pub slack_config: Option<PathBuf>,
}

/// `versioner metrics` subcommands.
#[derive(Debug, Subcommand)]
pub enum Metrics {
    /// Deployment frequency, lead time for changes, change failure rate and time to restore
    /// over [--since, --until), with their DORA bands and the definitions used
    #[command(after_help = "\
A deployment belongs to the range by its finish time. Without --environment, every environment
of type production is in scope. Definitions: docs/src/concepts/insights.md.

Examples:
  versioner metrics dora --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z
  versioner metrics dora --product api --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z \\
      --rollbacks failure_of_replaced --by week --output json")]
    Dora(DoraArgs),
}

/// Flags of `metrics dora`.
#[derive(Debug, Clone, Default, Args)]
pub struct DoraArgs {
    /// Only this product (every product when absent)
    #[arg(long)]
    pub product: Option<String>,
    /// An environment in scope (repeatable; every production environment when absent)
    #[arg(long)]
    pub environment: Vec<String>,
    /// The range's start, inclusive (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// The range's end, exclusive (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: String,
    /// What deployment frequency bands [default: per_day]
    #[arg(long, value_name = "per_day|deployment_days_per_week")]
    pub frequency: Option<String>,
    /// Whether a rollback counts the replaced deployment as a failure [default: not_a_failure]
    #[arg(long, value_name = "not_a_failure|failure_of_replaced")]
    pub rollbacks: Option<String>,
    /// Add a series over the range in buckets of this interval
    #[arg(long, value_name = "week")]
    pub by: Option<String>,
}
