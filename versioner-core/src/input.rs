//! Inputs, interpreted once for every surface.
//!
//! The CLI, the Python, Node and C bindings and the server each receive their input in a native
//! form — flags, keyword arguments, JavaScript objects, JSON strings, request bodies. Each
//! converts it into the types of this module and lets the core interpret it, so the same input
//! gets the same answer everywhere:
//!
//! - [`PolicyInput`]: a policy given as text (TOML or JSON, the format detected when not
//!   given), as a JSON value, or as a file, read into a [`PolicyFile`].
//! - [`Location`]: where a database is — `:memory:`, a file path, `sqlite:PATH`, or a
//!   `postgres://` / `postgresql://` URL — opened with [`Versioner::open_location`].
//! - [`StoreOptions`]: the options of that kind of store ([`SqliteOptions`], [`PgOptions`]),
//!   and `ClientOptions` (feature `client`), each read from a JSON object by
//!   [`options_from_json`]: an unknown key is `INVALID_INPUT` naming the key.
//! - [`Feature`]: the one error for "this build lacks feature X".
//!
//! ```
//! use versioner_core::input::{Location, PolicyInput};
//! use versioner_core::policy::ApplyMode;
//! use versioner_core::ErrorCode;
//!
//! let vr = Location::parse(":memory:")?.open(&serde_json::json!({"synchronous": "normal"}))?;
//! // JSON text with no format: detected.
//! let policy = PolicyInput::text(r#"{"rules": []}"#, None).parse()?;
//! vr.apply_policy(&policy, ApplyMode::Replace, "docs")?;
//!
//! let err = Location::parse(":memory:")?.open(&serde_json::json!({"synchronus": "normal"}))
//!     .unwrap_err();
//! assert_eq!(err.code(), ErrorCode::InvalidInput);
//! assert_eq!(err.field(), Some("synchronus"));
//! # Ok::<(), versioner_core::Error>(())
//! ```
//!
//! [`PgOptions`]: crate::store::PgOptions

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::policy::{PolicyFile, PolicyFormat};
use crate::service::Versioner;
use crate::store::{SqliteOptions, Synchronous};

// ----- policies -----------------------------------------------------------------------------

/// A policy as a surface received it, before the core reads it.
///
/// [`PolicyInput::parse`] turns every form into a validated [`PolicyFile`]:
///
/// - **Text** is TOML or JSON. With no format given it is detected: a document whose first
///   non-blank character is `{`, or `[` followed (after blanks) by `{` or `]` — an object with
///   `rules`, or an array of rules — is JSON; anything else is TOML (whose `[[rules]]` tables
///   also start with `[`, which is why a lone `[` does not decide).
/// - **A JSON value** is an object with `rules` or an array of rules, already parsed.
/// - **A file** is read here; its format is the one given, else its extension's (`.json` is
///   JSON, any other name TOML). A window's `holidays = "holidays.ics"` is read relative to
///   the file and its dates stored inline (`holidays_file` keeps the name).
///
/// Errors are `INVALID_INPUT`: `policy` for text that is not valid TOML or JSON, a file that
/// cannot be read or a value of the wrong kind, `format` for a format that does not apply, and
/// [`Error::InvalidPolicy`] naming every problem by rule and field.
///
/// ```
/// use versioner_core::input::PolicyInput;
/// use versioner_core::policy::PolicyFormat;
///
/// let json = PolicyInput::text(r#"{"rules": [{"name": "One", "type": "concurrency"}]}"#, None);
/// let toml = PolicyInput::text("[[rules]]\nname = 'One'\ntype = 'concurrency'\n", None);
/// let value = PolicyInput::from_value(
///     serde_json::json!([{"name": "One", "type": "concurrency"}]),
///     None,
/// )?;
/// assert_eq!(json.parse()?, toml.parse()?);
/// assert_eq!(json.parse()?, value.parse()?);
/// assert_eq!(json.document()?.1, PolicyFormat::Json);
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyInput {
    /// Policy text, TOML or JSON.
    Text {
        /// The document.
        text: String,
        /// Its format; `None`: detected from the text.
        format: Option<PolicyFormat>,
    },
    /// A policy already parsed into JSON: `{"rules": [...]}` or an array of rules.
    Value(Value),
    /// A policy file, read by this process.
    File {
        /// The file.
        path: PathBuf,
        /// Its format; `None`: from the extension (`.json` is JSON, anything else TOML).
        format: Option<PolicyFormat>,
    },
}

impl PolicyInput {
    /// Policy text in `format`, or detected when `None`.
    pub fn text(text: impl Into<String>, format: Option<PolicyFormat>) -> PolicyInput {
        PolicyInput::Text {
            text: text.into(),
            format,
        }
    }

    /// A policy file in `format`, or by its extension when `None`.
    pub fn file(path: impl Into<PathBuf>, format: Option<PolicyFormat>) -> PolicyInput {
        PolicyInput::File {
            path: path.into(),
            format,
        }
    }

    /// A policy received as JSON data — a request body's `policy`, a binding's converted
    /// argument: a string is policy text (in `format`, or detected), an object or an array is
    /// the policy itself. A string is never read as a file name, so this is safe for input
    /// from the network.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming `policy` for any other kind of value, and `format` for
    /// `toml` given with a value that is already JSON data.
    pub fn from_value(value: Value, format: Option<PolicyFormat>) -> Result<PolicyInput> {
        match value {
            Value::String(text) => Ok(PolicyInput::Text { text, format }),
            Value::Object(_) | Value::Array(_) => match format {
                Some(PolicyFormat::Toml) => Err(Error::invalid(
                    "format",
                    "`toml` applies to policy text; this policy is already JSON data",
                )),
                _ => Ok(PolicyInput::Value(value)),
            },
            other => Err(Error::invalid(
                "policy",
                format!(
                    "must be policy text (TOML or JSON), an object with `rules` or an array of \
                     rules; found {}",
                    kind(&other)
                ),
            )),
        }
    }

    /// A string from a local caller that may be policy text or the name of a policy file: it
    /// names a file when it is one line and ends in `.toml` or `.json` (any case), or names an
    /// existing file; otherwise it is policy text. For the bindings' "text or path" arguments;
    /// never for input from the network (use [`PolicyInput::from_value`]).
    pub fn text_or_path(text: impl Into<String>, format: Option<PolicyFormat>) -> PolicyInput {
        let text = text.into();
        let name = text.trim();
        let lower = name.to_ascii_lowercase();
        let one_line = !text.contains('\n');
        let named = lower.ends_with(".toml") || lower.ends_with(".json");
        if one_line && !name.is_empty() && (named || Path::new(name).is_file()) {
            PolicyInput::file(name, format)
        } else {
            PolicyInput::Text { text, format }
        }
    }

    /// Reads and validates the policy.
    ///
    /// # Errors
    /// `INVALID_INPUT` as described on [`PolicyInput`]; nothing is applied.
    pub fn parse(&self) -> Result<PolicyFile> {
        match self {
            PolicyInput::Value(value) => PolicyFile::from_json(value),
            _ => {
                let (text, format) = self.document()?;
                PolicyFile::parse(&text, format)
            }
        }
    }

    /// The policy as a document and its format, without validating it: the text (the file's
    /// content, or a JSON value written as JSON) for a caller that sends it elsewhere, such as
    /// the HTTP client.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming `policy` when a file cannot be read.
    pub fn document(&self) -> Result<(Cow<'_, str>, PolicyFormat)> {
        match self {
            PolicyInput::Text { text, format } => Ok((
                Cow::Borrowed(text.as_str()),
                format.unwrap_or_else(|| PolicyFormat::guess(text)),
            )),
            PolicyInput::Value(value) => Ok((Cow::Owned(value.to_string()), PolicyFormat::Json)),
            PolicyInput::File { path, format } => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid("policy", format!("cannot read `{}`: {e}", path.display()))
                })?;
                let format = format.unwrap_or_else(|| PolicyFormat::from_path(path));
                // Holiday files named by its windows are read next to it and stored inline.
                if text.contains("holidays") {
                    let mut value = PolicyFile::document_value(&text, format)?;
                    let before = value.clone();
                    let base = path.parent().unwrap_or_else(|| Path::new("."));
                    crate::policy::calendar::resolve_holiday_files(&mut value, base)?;
                    if value != before {
                        return Ok((Cow::Owned(value.to_string()), PolicyFormat::Json));
                    }
                }
                Ok((Cow::Owned(text), format))
            }
        }
    }
}

// ----- locations ----------------------------------------------------------------------------

/// Where a Versioner database is.
///
/// [`Location::parse`] reads the one spelling every surface accepts: `:memory:` (a private
/// in-memory SQLite database), a file path, `sqlite:PATH` (also `sqlite://PATH`), or a
/// `postgres://` / `postgresql://` URL (feature `postgres`). Open it with
/// [`Location::open`] or [`Versioner::open_location`].
///
/// `Debug` and `Display` never show a PostgreSQL URL: it may hold a password.
///
/// ```
/// use std::path::Path;
/// use versioner_core::input::Location;
///
/// assert_eq!(Location::parse(":memory:")?, Location::Memory);
/// assert_eq!(Location::parse("sqlite:data/v.db")?, Location::Sqlite("data/v.db".into()));
/// assert_eq!(Location::parse("v.db")?.path(), Some(Path::new("v.db")));
/// assert!(matches!(Location::parse("postgresql://u@db/versioner")?, Location::Postgres(_)));
/// assert!(Location::parse("mysql://db/versioner").is_err());
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A private in-memory SQLite database.
    Memory,
    /// A SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database: a `postgres://` URL or a libpq `host=… dbname=…` string.
    Postgres(String),
}

/// The kinds of store a [`Location`] can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// SQLite, in a file or in memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl StoreKind {
    /// The product name: `SQLite` or `PostgreSQL`.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "SQLite",
            StoreKind::Postgres => "PostgreSQL",
        }
    }

    /// The option keys this kind of store reads (see [`StoreOptions::from_json`]).
    pub fn option_keys(self) -> &'static [&'static str] {
        match self {
            StoreKind::Sqlite => SQLITE_OPTION_KEYS,
            StoreKind::Postgres => PG_OPTION_KEYS,
        }
    }
}

impl Location {
    /// Parses a location: `:memory:`, `sqlite:PATH` or `sqlite://PATH`, a `postgres://` or
    /// `postgresql://` URL (scheme in any case), or else a file path.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming `path` for a blank location or a URL of another scheme
    /// (`mysql://…`), which would otherwise become an odd file name.
    pub fn parse(text: &str) -> Result<Location> {
        const EXPECTED: &str =
            "expected a file path, `:memory:`, `sqlite:PATH` or a `postgres://` URL";
        if text.trim().is_empty() {
            return Err(Error::invalid(
                "path",
                format!("must not be blank; {EXPECTED}"),
            ));
        }
        if text == ":memory:" {
            return Ok(Location::Memory);
        }
        if let Some(scheme) = url_scheme(text) {
            return if scheme.eq_ignore_ascii_case("postgres")
                || scheme.eq_ignore_ascii_case("postgresql")
            {
                Ok(Location::Postgres(text.to_string()))
            } else if scheme.eq_ignore_ascii_case("sqlite") {
                sqlite_path(&text[scheme.len() + 3..])
            } else {
                Err(Error::invalid(
                    "path",
                    format!("`{scheme}://…` is not a supported location; {EXPECTED}"),
                ))
            };
        }
        match text.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sqlite:") => sqlite_path(&text[7..]),
            _ => Ok(Location::Sqlite(PathBuf::from(text))),
        }
    }

    /// A location given as a path: parsed as [`Location::parse`] when it is valid UTF-8, and
    /// otherwise a SQLite file of that (byte) name.
    ///
    /// # Errors
    /// As [`Location::parse`].
    pub fn from_path(path: &Path) -> Result<Location> {
        match path.to_str() {
            Some(text) => Location::parse(text),
            None => Ok(Location::Sqlite(path.to_path_buf())),
        }
    }

    /// A PostgreSQL database named explicitly (a URL or a libpq `key=value` string): for the
    /// surfaces' `connect(url)` calls, where no parsing is needed to know the kind.
    pub fn postgres(url: impl Into<String>) -> Location {
        Location::Postgres(url.into())
    }

    /// The kind of store.
    pub fn kind(&self) -> StoreKind {
        match self {
            Location::Memory | Location::Sqlite(_) => StoreKind::Sqlite,
            Location::Postgres(_) => StoreKind::Postgres,
        }
    }

    /// The database file, for a SQLite file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Memory | Location::Postgres(_) => None,
        }
    }

    /// Opens a Versioner here, with `options` — a JSON object of this kind of store's
    /// options, or `null` for the defaults — read by [`StoreOptions::from_json`].
    ///
    /// # Errors
    /// `INVALID_INPUT` for an unknown or malformed option (naming it), a malformed URL, or a
    /// PostgreSQL location in a build without the `postgres` feature ([`Feature::missing`]);
    /// `STORAGE` when the database cannot be opened or was written by a newer library.
    pub fn open(&self, options: &Value) -> Result<Versioner> {
        Versioner::open_location(self, &StoreOptions::from_json(self, options)?)
    }
}

/// The scheme of `text` when it starts like a URL (`scheme://`).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// The location after a `sqlite:` or `sqlite://` prefix.
fn sqlite_path(rest: &str) -> Result<Location> {
    match rest {
        ":memory:" => Ok(Location::Memory),
        r if r.trim().is_empty() => Err(Error::invalid(
            "path",
            "`sqlite:` needs a file path after it (or `:memory:`)",
        )),
        r => Ok(Location::Sqlite(PathBuf::from(r))),
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Memory => f.write_str("Memory"),
            Location::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Location::Postgres(_) => f.write_str("Postgres(<url hidden>)"),
        }
    }
}

/// For messages: `an in-memory database`, `database PATH` or `a PostgreSQL database` (never
/// the URL).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Memory => f.write_str("an in-memory database"),
            Location::Sqlite(p) => write!(f, "database {}", p.display()),
            Location::Postgres(_) => f.write_str("a PostgreSQL database"),
        }
    }
}

// ----- options ------------------------------------------------------------------------------

/// The keys [`SqliteOptions`] reads from JSON.
pub const SQLITE_OPTION_KEYS: &[&str] = &["synchronous", "busy_timeout_ms"];

/// The keys `PgOptions` (feature `postgres`) reads from JSON.
pub const PG_OPTION_KEYS: &[&str] = &["schema", "max_connections", "connect_timeout_ms"];

/// The keys `ClientOptions` (feature `client`) reads from JSON.
pub const CLIENT_OPTION_KEYS: &[&str] = &[
    "timeout_ms",
    "max_attempts",
    "backoff_ms",
    "max_wait_ms",
    "user_agent",
];

/// The options of the store a [`Location`] names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOptions {
    /// For a SQLite file (in memory they are accepted and change nothing: nothing is synced
    /// and no other process waits on the database).
    Sqlite(SqliteOptions),
    /// For a PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(crate::store::PgOptions),
}

impl StoreOptions {
    /// The kind of store these options are for.
    pub fn kind(&self) -> StoreKind {
        match self {
            StoreOptions::Sqlite(_) => StoreKind::Sqlite,
            #[cfg(feature = "postgres")]
            StoreOptions::Postgres(_) => StoreKind::Postgres,
        }
    }

    /// The defaults for `location`'s kind of store.
    ///
    /// # Errors
    /// `INVALID_INPUT` ([`Feature::missing`]) for PostgreSQL in a build without it.
    pub fn defaults(location: &Location) -> Result<StoreOptions> {
        StoreOptions::from_json(location, &Value::Null)
    }

    /// Reads the options of `location`'s kind of store from a JSON object (`null`: the
    /// defaults). SQLite reads `synchronous` (`"full"` or `"normal"`, any case) and
    /// `busy_timeout_ms`; PostgreSQL reads `schema`, `max_connections` and
    /// `connect_timeout_ms`.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the key: an unknown key (a key of the other kind of store says
    /// so), or a value of the wrong type or range; `options` when it is not an object; and
    /// [`Feature::missing`] for PostgreSQL in a build without it.
    pub fn from_json(location: &Location, options: &Value) -> Result<StoreOptions> {
        let kind = location.kind();
        if let Value::Object(map) = options {
            let other = match kind {
                StoreKind::Sqlite => StoreKind::Postgres,
                StoreKind::Postgres => StoreKind::Sqlite,
            };
            if let Some(key) = map
                .keys()
                .find(|k| other.option_keys().contains(&k.as_str()))
            {
                return Err(Error::invalid(
                    key.as_str(),
                    format!(
                        "is a {} option; this location is a {} database, whose options are {}",
                        other.name(),
                        kind.name(),
                        list(kind.option_keys())
                    ),
                ));
            }
        }
        match kind {
            StoreKind::Sqlite => Ok(StoreOptions::Sqlite(options_from_json(options)?)),
            #[cfg(feature = "postgres")]
            StoreKind::Postgres => Ok(StoreOptions::Postgres(options_from_json(options)?)),
            #[cfg(not(feature = "postgres"))]
            StoreKind::Postgres => Err(Feature::Postgres.missing()),
        }
    }
}

impl Versioner {
    /// Opens a Versioner at `location` with `options` of its kind of store: in memory, on a
    /// SQLite file, or on a PostgreSQL database (feature `postgres`).
    ///
    /// ```
    /// use versioner_core::input::{Location, StoreOptions};
    /// use versioner_core::Versioner;
    ///
    /// let location = Location::parse(":memory:")?;
    /// let vr = Versioner::open_location(&location, &StoreOptions::defaults(&location)?)?;
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// `INVALID_INPUT` naming `options` when they are for another kind of store, a malformed
    /// URL, or [`Feature::missing`] for PostgreSQL in a build without it; `STORAGE` when the
    /// database cannot be opened or was written by a newer library.
    pub fn open_location(location: &Location, options: &StoreOptions) -> Result<Versioner> {
        match (location, options) {
            (Location::Memory, StoreOptions::Sqlite(_)) => Versioner::open_in_memory(),
            (Location::Sqlite(path), StoreOptions::Sqlite(o)) => Versioner::open_with(path, o),
            #[cfg(feature = "postgres")]
            (Location::Postgres(url), StoreOptions::Postgres(o)) => Versioner::connect_with(url, o),
            #[cfg(not(feature = "postgres"))]
            (Location::Postgres(_), _) => Err(Feature::Postgres.missing()),
            #[cfg(feature = "postgres")]
            (l, o) => Err(Error::invalid(
                "options",
                format!(
                    "are {} options; this location is a {} database",
                    o.kind().name(),
                    l.kind().name()
                ),
            )),
        }
    }
}

/// Reads options of type `T` — [`SqliteOptions`], `PgOptions`, `ClientOptions` — from a JSON
/// object; `null` gives the defaults, and a missing key keeps its default.
///
/// # Errors
/// `INVALID_INPUT` naming the key at fault: an unknown key (with the accepted ones), or a value
/// of the wrong type or range; naming `options` when the value is not an object.
pub fn options_from_json<T: DeserializeOwned + Default>(options: &Value) -> Result<T> {
    match options {
        Value::Null => Ok(T::default()),
        Value::Object(_) => serde_path_to_error::deserialize(options).map_err(|e| {
            let field = match e.path().to_string() {
                p if p == "." => "options".to_string(),
                p => p,
            };
            let message = e.into_inner().to_string();
            let reason = match message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split_once("`, expected "))
            {
                Some((_, expected)) => format!("unknown option; expected {expected}"),
                None => message,
            };
            Error::invalid(field, reason)
        }),
        other => Err(Error::invalid(
            "options",
            format!("must be an object, found {}", kind(other)),
        )),
    }
}

impl SqliteOptions {
    /// Reads the options from a JSON object (`null`: the defaults): `synchronous` (`"full"`
    /// or `"normal"`) and `busy_timeout_ms`.
    ///
    /// # Errors
    /// As [`options_from_json`].
    pub fn from_json(options: &Value) -> Result<SqliteOptions> {
        options_from_json(options)
    }
}

#[cfg(feature = "postgres")]
impl crate::store::PgOptions {
    /// Reads the options from a JSON object (`null`: the defaults): `schema`,
    /// `max_connections` (from 1) and `connect_timeout_ms` (from 1).
    ///
    /// # Errors
    /// As [`options_from_json`].
    pub fn from_json(options: &Value) -> Result<crate::store::PgOptions> {
        options_from_json(options)
    }
}

#[cfg(feature = "client")]
impl crate::client::ClientOptions {
    /// Reads the options from a JSON object (`null`: the defaults): `timeout_ms` (from 1),
    /// `max_attempts` (from 1), `backoff_ms`, `max_wait_ms` and `user_agent`.
    ///
    /// # Errors
    /// As [`options_from_json`].
    pub fn from_json(options: &Value) -> Result<crate::client::ClientOptions> {
        options_from_json(options)
    }
}

/// `` `a`, `b` or `c` `` for messages.
fn list(keys: &[&str]) -> String {
    match keys {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => format!(
            "{} or `{last}`",
            init.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// "a string", "an array", ... for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ----- serde helpers for the option structs -------------------------------------------------

/// `"full"` or `"normal"`, in any case.
impl<'de> Deserialize<'de> for Synchronous {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Synchronous, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| de::Error::invalid_value(Unexpected::Str(&text), &"`full` or `normal`"))
    }
}

/// A whole number of milliseconds, at least `min`.
struct Millis {
    min: u64,
}

impl Visitor<'_> for Millis {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == 0 {
            f.write_str("a whole number of milliseconds")
        } else {
            write!(f, "a whole number of milliseconds from {}", self.min)
        }
    }

    fn visit_u64<E: de::Error>(self, ms: u64) -> std::result::Result<Duration, E> {
        if ms < self.min {
            return Err(E::invalid_value(Unexpected::Unsigned(ms), &self));
        }
        Ok(Duration::from_millis(ms))
    }

    fn visit_i64<E: de::Error>(self, ms: i64) -> std::result::Result<Duration, E> {
        match u64::try_from(ms) {
            Ok(ms) => self.visit_u64(ms),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(ms), &self)),
        }
    }
}

/// Deserializes a duration given in whole milliseconds (`busy_timeout_ms`, `backoff_ms`).
pub(crate) fn millis<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    d.deserialize_u64(Millis { min: 0 })
}

/// Deserializes a duration given in whole milliseconds, at least 1 (a timeout of 0 would
/// never let anything through).
#[cfg(any(feature = "client", feature = "postgres"))]
pub(crate) fn positive_millis<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Duration, D::Error> {
    d.deserialize_u64(Millis { min: 1 })
}

/// Deserializes a count that must be at least 1 (`max_connections`).
#[cfg(feature = "postgres")]
pub(crate) fn positive_u32<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let n = std::num::NonZeroU32::deserialize(d)?;
    Ok(n.get())
}

// ----- features -----------------------------------------------------------------------------

/// An optional part of Versioner that a build may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// `postgres`: PostgreSQL databases.
    Postgres,
    /// `client`: the HTTP client of `versioner serve`.
    Client,
}

impl Feature {
    /// The Cargo feature's name.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Postgres => "postgres",
            Feature::Client => "client",
        }
    }

    /// The one error every surface gives when asked for a feature its build lacks:
    /// `INVALID_INPUT` naming the input that needs it (`database_url`, `api_url`).
    ///
    /// ```
    /// use versioner_core::input::Feature;
    /// let e = Feature::Postgres.missing();
    /// assert_eq!(e.field(), Some("database_url"));
    /// assert!(e.to_string().contains("no PostgreSQL support (feature `postgres`)"));
    /// ```
    pub fn missing(self) -> Error {
        match self {
            Feature::Postgres => Error::invalid(
                "database_url",
                "this build of versioner has no PostgreSQL support (feature `postgres`); \
                 rebuild it with that feature, or use a SQLite database",
            ),
            Feature::Client => Error::invalid(
                "api_url",
                "this build of versioner has no HTTP client (feature `client`); rebuild it \
                 with that feature, or open a database in process",
            ),
        }
    }
}

#[cfg(test)]
mod tests;
