//! The `versioner` command line.
//!
//! [`run`] parses the arguments (clap's `try_parse`, so a bad flag exits 1, not clap's 2, and
//! `--help` / `--version` exit 0), loads the config file and the CI detection, picks the
//! backend — in process on `--db`, or the HTTP client on `--api-url` — and runs the command.
//! Every command works on a [`Tracker`], so it behaves the same in both modes.

pub mod args;
pub mod audit;
mod backup;
pub mod buttons;
mod calendar;
mod catalog;
mod commands;
mod history;
pub mod keys;
mod metrics;
pub mod notifications;
pub mod output;
pub mod requests;
mod serve;
pub mod sources;
mod track;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use clap::error::ErrorKind;
use versioner_core::client::{Client, ClientOptions};
use versioner_core::input::{Feature, Location};
use versioner_core::{Actor, Error, Tracker, Versioner};

use crate::exit::Exit;
use args::{Cli, Command, Global};
use output::{Console, GitHub};
use sources::{Env, Sources};

/// The API used when only an API key is configured (no `db`, `database_url` or `api_url`):
/// the public Versioner product's, as with the original CLI.
pub const DEFAULT_API_URL: &str = "https://api.versioner.io";

/// Why a command stopped before its core call: a usage problem (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

impl From<String> for Usage {
    fn from(s: String) -> Usage {
        Usage(s)
    }
}

/// What a command shares: output, the value sources and the global options.
pub struct Context<'a, 'c> {
    /// Where to print.
    pub console: Console<'c>,
    /// Flags, variables, config file and CI detection.
    pub sources: Sources<'a>,
    /// The global options.
    pub global: Global,
}

/// Opens a database in process with the store's default options.
///
/// # Errors
/// The core's error: `STORAGE` when it cannot be opened, `INVALID_INPUT` for a malformed URL.
pub fn open(location: &Location) -> Result<Versioner, Error> {
    location.open(&serde_json::Value::Null)
}

/// The backend a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// In process, on this database (a SQLite file, `:memory:`, or PostgreSQL).
    Local(Location),
    /// In process, on the default SQLite file in the Versioner home directory (`VERSIONER_HOME`,
    /// else `~/.versioner`): nothing names a backend.
    Home(PathBuf),
    /// Over HTTP.
    Remote {
        /// The server's base URL.
        url: String,
        /// The API key (sent, never printed).
        key: Option<String>,
    },
}

impl Context<'_, '_> {
    /// The backend named at one level (flags, variables or the config file), if any.
    fn backend_at(
        &self,
        db: Option<String>,
        database_url: Option<String>,
        api_url: Option<String>,
        level: &str,
    ) -> Result<Option<Backend>, Usage> {
        let key = || self.sources.pick(self.global.api_key.as_deref(), "api_key");
        let mut found: Vec<Backend> = Vec::new();
        if let Some(d) = db {
            let location = Location::parse(&d).map_err(|e| Usage(format!("--db: {e}")))?;
            found.push(Backend::Local(location));
        }
        found.extend(database_url.map(|u| Backend::Local(Location::postgres(u))));
        found.extend(api_url.map(|url| Backend::Remote { url, key: key() }));
        if found.len() > 1 {
            return Err(Usage(format!(
                "{level} name more than one of db, database_url and api_url; give one"
            )));
        }
        // This binary's own feature decides (the core may have PostgreSQL through another
        // crate of the same build).
        if !cfg!(feature = "postgres")
            && matches!(found.last(), Some(Backend::Local(Location::Postgres(_))))
        {
            return Err(Usage(Feature::Postgres.missing().to_string()));
        }
        Ok(found.pop())
    }

    /// Picks the backend: a flag beats a variable beats the config file; each level may name
    /// one of `db` (SQLite, in process), `database_url` (PostgreSQL, in process) and `api_url`
    /// (server). When none names any, an API key alone (flag, variable or config file) means
    /// the public product's API, [`DEFAULT_API_URL`].
    ///
    /// # Errors
    /// [`Usage`] when one level names two, or nothing is configured.
    pub fn backend(&self) -> Result<Backend, Usage> {
        let g = &self.global;
        let s = &self.sources;
        let flags = self.backend_at(
            g.db.as_ref().map(|p| p.to_string_lossy().into_owned()),
            g.database_url.clone(),
            g.api_url.clone(),
            "the flags",
        )?;
        if let Some(b) = flags {
            return Ok(b);
        }
        let vars = self.backend_at(
            s.var("VERSIONER_DB"),
            s.var("VERSIONER_DATABASE_URL"),
            s.var("VERSIONER_API_URL"),
            "the VERSIONER_* variables",
        )?;
        if let Some(b) = vars {
            return Ok(b);
        }
        let config = self.backend_at(
            s.config.get("db"),
            s.config.get("database_url"),
            s.config.get("api_url"),
            "the config file",
        )?;
        match config {
            Some(b) => Ok(b),
            None => self.unconfigured(),
        }
    }

    /// The backend when no level names one: an API key alone means the hosted product (as
    /// with the original CLI); nothing at all means the default database in the Versioner home
    /// directory.
    fn unconfigured(&self) -> Result<Backend, Usage> {
        let key = self.sources.pick(self.global.api_key.as_deref(), "api_key");
        match (key, self.sources.default_database()) {
            (Some(key), _) => Ok(Backend::Remote {
                url: DEFAULT_API_URL.into(),
                key: Some(key),
            }),
            (None, Some(path)) => Ok(Backend::Home(path)),
            (None, None) => Err(Usage(
                "nowhere to record: pass --db PATH (in process) or --api-url URL (a `versioner \
                 serve`), or set VERSIONER_DB or VERSIONER_API_URL"
                    .into(),
            )),
        }
    }

    /// The default database `path` of [`Backend::Home`], creating its directory and saying
    /// (with `-v`) that the default is used.
    fn home_database(&mut self, path: PathBuf) -> Result<Location, Usage> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Usage(format!(
                    "cannot create the Versioner home directory `{}`: {e}; pass --db PATH or set \
                     VERSIONER_HOME",
                    dir.display()
                ))
            })?;
        }
        self.console.info(&format!(
            "No --db, --database-url or --api-url configured: recording in process into the \
             default database {} (VERSIONER_HOME moves it)",
            path.display()
        ));
        Ok(Location::Sqlite(path))
    }

    /// The database of an in-process-only command (`serve`, `keys`).
    ///
    /// # Errors
    /// [`Usage`] when none is configured or the configuration names a server.
    pub fn database(&mut self, command: &str) -> Result<Location, Usage> {
        let refused = || {
            Usage(format!(
                "{command} works on a database: pass --db PATH (or --database-url URL)"
            ))
        };
        match self.backend() {
            Ok(Backend::Local(db)) => Ok(db),
            Ok(Backend::Home(path)) => self.home_database(path),
            Ok(Backend::Remote { .. }) | Err(_) => Err(refused()),
        }
    }

    /// Opens the backend as a [`Tracker`].
    ///
    /// # Errors
    /// [`Usage`] as [`Context::backend`] or for a malformed URL; the core's error when the
    /// database cannot be opened.
    pub fn tracker(&mut self) -> Result<Result<Box<dyn Tracker>, Error>, Usage> {
        self.tracker_as(None)
    }

    /// Opens the backend as a [`Tracker`]; in process acting as `actor` (a command's own flag,
    /// such as `--approver`), else as [`Context::actor`].
    ///
    /// # Errors
    /// As [`Context::tracker`].
    pub fn tracker_as(
        &mut self,
        actor: Option<&str>,
    ) -> Result<Result<Box<dyn Tracker>, Error>, Usage> {
        let backend = self.backend()?;
        match backend {
            Backend::Local(db) => Ok(self.in_process(&db, actor)),
            Backend::Home(path) => {
                let db = self.home_database(path)?;
                Ok(self.in_process(&db, actor))
            }
            Backend::Remote { url, key } => {
                self.console.info(&format!(
                    "Mode: server {url} ({})",
                    if key.is_some() {
                        "API key set"
                    } else {
                        "no API key"
                    }
                ));
                if self.global.api_key.is_some() {
                    self.console
                        .err("⚠ --api-key is visible in process lists; prefer VERSIONER_API_KEY");
                }
                let mut options = ClientOptions::default()
                    .user_agent(format!("versioner-cli/{}", env!("CARGO_PKG_VERSION")));
                if let Some(t) = self.global.timeout {
                    options = options.timeout(t);
                }
                if let Some(n) = self.global.max_attempts {
                    options = options.max_attempts(n);
                }
                if let Some(b) = self.global.retry_backoff {
                    options = options.backoff(b);
                }
                let ca_flag = self
                    .global
                    .ca_cert
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned());
                if let Some(ca) = self.sources.pick(ca_flag.as_deref(), "ca_cert") {
                    options = options.ca_cert(ca);
                }
                match Client::with_options(&url, key.as_deref(), options) {
                    Ok(c) => Ok(Ok(Box::new(c))),
                    Err(e) => Err(Usage(e.to_string())),
                }
            }
        }
    }

    /// Opens `db` in process as a [`Tracker`] acting as `actor` (see [`Context::tracker_as`]).
    fn in_process(
        &mut self,
        db: &Location,
        actor: Option<&str>,
    ) -> Result<Box<dyn Tracker>, Error> {
        let actor = self.actor(actor);
        self.console
            .info(&format!("Mode: in process, {db}, acting as {actor}"));
        open(db).map(|vr| Box::new(vr.acting_as(Actor::local(actor))) as Box<dyn Tracker>)
    }

    /// Who acts in process: the given name (a command's own flag, such as `--approver`), else
    /// `--actor` (or `VERSIONER_ACTOR`, or `actor` in the config file), else the OS user
    /// (`$USER`, `$USERNAME`), else `cli`.
    pub fn actor(&self, given: Option<&str>) -> String {
        self.named_actor(given)
            .or_else(|| self.sources.var("USER"))
            .or_else(|| self.sources.var("USERNAME"))
            .unwrap_or_else(|| "cli".into())
    }

    /// The actor a command names explicitly (its own flag, else `--actor`, `VERSIONER_ACTOR`
    /// or the config file's `actor`), without the OS user's default: what is sent to a server,
    /// which records the key's principal and refuses another name.
    pub fn named_actor(&self, given: Option<&str>) -> Option<String> {
        given
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .or_else(|| self.sources.pick(self.global.actor.as_deref(), "actor"))
    }

    /// The actor to pass with a call on `backend`: in process as [`Context::actor`]; to a
    /// server only a name given explicitly (else empty: the server records the key's
    /// principal).
    pub fn actor_for(&self, given: Option<&str>) -> String {
        match self.backend() {
            Ok(Backend::Remote { .. }) => self.named_actor(given).unwrap_or_default(),
            _ => self.actor(given),
        }
    }

    /// Prints a core error and returns its exit code.
    pub fn fail(&mut self, e: &Error) -> Exit {
        self.console.error(e);
        Exit::from(e.code())
    }

    /// Prints a usage problem and returns exit 1.
    pub fn usage(&mut self, u: &Usage) -> Exit {
        self.console.err(&format!("error: {}", u.0));
        Exit::Failure
    }
}

/// Runs `versioner` with `args` (the first is the program name), reading variables from
/// `env` and printing to `out` and `err`.
pub fn run<I, T>(args: I, env: Env<'_>, out: &mut dyn Write, err: &mut dyn Write) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = write!(out, "{text}");
                    Exit::Success
                }
                _ => {
                    let _ = write!(err, "{text}");
                    Exit::Failure
                }
            };
        }
    };
    let mut console = Console::new(out, err, cli.global.output, cli.global.verbose);
    let sources = match Sources::load(cli.global.config.as_deref(), env) {
        Ok(s) => s,
        Err(message) => {
            console.err(&format!("error: {message}"));
            return Exit::Failure;
        }
    };
    if sources.in_github_actions() {
        console.github = Some(GitHub {
            summary_path: sources.var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        });
    }
    if let Some(path) = &sources.config.path {
        console.info(&format!("Using config file: {}", path.display()));
        for key in sources.config.unknown_keys() {
            console.err(&format!(
                "⚠ config file {}: unknown key `{key}` is ignored; known keys: {}",
                path.display(),
                sources::CONFIG_KEYS.join(", ")
            ));
        }
    }
    let mut ctx = Context {
        console,
        sources,
        global: cli.global,
    };
    match cli.command {
        Command::Track(t) => match *t {
            args::Track::Build(a) => track::build(&mut ctx, &a),
            args::Track::Deployment(a) => track::deployment(&mut ctx, &a),
        },
        Command::Check(a) => commands::check(&mut ctx, &a),
        Command::Queue(a) => commands::queue(&mut ctx, &a),
        Command::Status(a) => commands::status(&mut ctx, &a),
        Command::History(a) => commands::history(&mut ctx, &a),
        Command::Versions(a) => commands::versions(&mut ctx, &a),
        Command::Drift(a) => catalog::drift(&mut ctx, &a),
        Command::Skew(a) => catalog::skew(&mut ctx, &a),
        Command::Stale(a) => catalog::stale(&mut ctx, &a),
        Command::Products(p) => catalog::products(&mut ctx, &p),
        Command::Environments(e) => catalog::environments(&mut ctx, &e),
        Command::Rules(r) => commands::rules(&mut ctx, &r),
        Command::Calendar(a) => calendar::run(&mut ctx, &a),
        Command::Approve(a) => commands::approve(&mut ctx, &a),
        Command::Approvals(a) => commands::approvals(&mut ctx, &a),
        Command::Requests(r) => requests::run(&mut ctx, &r),
        Command::Keys(k) => keys::run(&mut ctx, &k),
        Command::Notifications(n) => notifications::run(&mut ctx, &n),
        Command::Variables(v) => buttons::variables(&mut ctx, &v),
        Command::Buttons(b) => buttons::buttons(&mut ctx, &b),
        Command::Audit(a) => audit::run(&mut ctx, &a),
        Command::Backup(a) => backup::backup(&mut ctx, &a),
        Command::Restore(a) => backup::restore(&mut ctx, &a),
        Command::Import(a) => history::import(&mut ctx, &a),
        Command::Export(a) => history::export(&mut ctx, &a),
        Command::Violations(a) => commands::violations(&mut ctx, &a),
        Command::Replay(a) => commands::replay(&mut ctx, &a),
        Command::Metrics(args::Metrics::Dora(a)) => metrics::dora(&mut ctx, &a),
        Command::Serve(a) => serve::run(&mut ctx, &a),
    }
}
