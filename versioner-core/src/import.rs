//! History import and export: builds and deployments as JSON Lines.
//!
//! `versioner import FILE`, `POST /import` and [`Versioner::import_events`] read a history
//! file; `versioner export`, `GET /export` and [`Versioner::export_events`] write one. The
//! format is the Events API's, one event per line:
//!
//! ```text
//! {"kind":"build","product_name":"api","version":"1.2.0","status":"completed","scm_sha":"4f2a9c1e","started_at":"2026-11-02T09:00:00Z","completed_at":"2026-11-02T09:04:00Z"}
//! {"kind":"deployment","product_name":"api","version":"1.2.0","environment_name":"production","status":"completed","started_at":"2026-11-02T10:00:00Z","completed_at":"2026-11-02T10:06:00Z"}
//! ```
//!
//! - **What a line is.** Each line is the JSON body `POST /build-events/` or
//!   `POST /deployment-events/` accepts, field for field, plus `kind` (`"build"` or
//!   `"deployment"`) and, on deployments, `started_at`. Without `kind`, a line that has an
//!   `environment_name` is a deployment and any other line a build, so bodies captured from
//!   the Events API can be imported as they are. Blank lines are ignored.
//! - **Its own times.** A line claims when it happened: `completed_at` for a terminal status
//!   (`completed`, `failed`, `aborted` and their aliases), `started_at` for `pending` and
//!   `started`; that time is required, and a line may give both. Imported records keep their
//!   claimed times; the time they were recorded (`updated_at`) is the import's, so elapsed-time
//!   rules (soak) never count back-dated history, and they are marked imported (`imported_at`).
//! - **Time order.** Lines are applied in the order of their claimed time (completion, else
//!   start), lines with equal times in file order; the file itself may be in any order.
//! - **Validation.** Every line is validated as the live event is (the same field rules and
//!   messages); a line that fails is reported with its number (`INVALID_INPUT` naming
//!   `line N`, malformed JSON as HTTP 400), and a file with any failing line writes nothing:
//!   the whole file is checked before anything is written, and written in one transaction.
//! - **History, not live events.** Imported deployments are not preflighted (they happened),
//!   append no domain events to the outbox (so no notification fires for an old event), and
//!   finish no Deployment Request.
//! - **Idempotent.** A line's key is the SHA-256 of its canonical JSON (keys sorted, `kind`
//!   resolved); the keys of imported lines are kept, so importing the same file twice changes
//!   nothing the second time (its lines are counted as skipped), and so does a line repeated
//!   within one file.
//! - **Dry run.** [`ImportMode::DryRun`] reads, validates and applies the file in a
//!   transaction that is rolled back, and reports what an import would do.
//!
//! Export writes every build and deployment in this shape, in time order, one line each, in
//! its state now (a deployment that started and completed is one `completed` line with both
//! times), so `versioner export | versioner import` into a fresh database gives the same
//! state, history and DORA figures. Rules, approvals, Deployment Requests, keys and catalog
//! edits are not part of it (`versioner backup` copies a whole database).
//!
//! [`Versioner::import_events`]: crate::Versioner::import_events
//! [`Versioner::export_events`]: crate::Versioner::export_events

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::event::{BuildEvent, DeploymentEvent, ValidBuild, ValidDeployment, timestamp};
use crate::model::{Build, Deployment, Version};
use crate::status::Status;
use crate::wire::instant;
use crate::wire::json::{self as strict, JsonError};

/// From this many lines on, an import does not keep the four keys' rollups per deployment:
/// it refills them from the ledger once, at its end, in the same transaction (see
/// [`crate::insights::rollup`]).
pub const REFILL_ROLLUPS_FROM_LINES: usize = 10_000;

/// The media type of a history file (`POST /import`, `GET /export`): JSON Lines.
pub const CONTENT_TYPE: &str = "application/x-ndjson";

/// What a line of a history file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// A build event (`POST /build-events/`).
    Build,
    /// A deployment event (`POST /deployment-events/`).
    Deployment,
}

impl ImportKind {
    /// `build` or `deployment`, as in a line's `kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ImportKind::Build => "build",
            ImportKind::Deployment => "deployment",
        }
    }
}

/// Whether an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Validate and write (in one transaction).
    #[default]
    Apply,
    /// Validate, apply in a transaction that is rolled back, and report; nothing is written.
    DryRun,
}

/// What an import did, or (a dry run) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ImportReport {
    /// Events read (lines that are not blank).
    pub lines: u64,
    /// Build events imported.
    pub builds: u64,
    /// Deployment events imported.
    pub deployments: u64,
    /// Lines skipped: imported before (by this or an earlier import of the same content).
    pub skipped: u64,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
}

impl ImportReport {
    /// Events imported (builds and deployments).
    pub fn imported(&self) -> u64 {
        self.builds + self.deployments
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExportReport {
    /// Build lines written.
    pub builds: u64,
    /// Deployment lines written.
    pub deployments: u64,
}

/// A history file, read and validated: every line parsed, checked as its live event would
/// be, keyed, and put in time order. Nothing is written until it is imported
/// ([`Versioner::import_file`](crate::Versioner::import_file)).
#[derive(Debug, Clone)]
pub struct ImportFile {
    lines: Vec<ImportLine>,
    read: u64,
}

/// One line, validated.
#[derive(Debug, Clone)]
pub(crate) struct ImportLine {
    /// The line's number in the file (from 1).
    pub number: usize,
    /// SHA-256 of the line's canonical JSON, hex.
    pub key: String,
    /// The claimed time the line is applied at (completion, else start).
    pub at: DateTime<Utc>,
    /// The line's earliest claimed time.
    pub first: DateTime<Utc>,
    /// The event.
    pub record: ImportRecord,
}

/// A line's event.
#[derive(Debug, Clone)]
pub(crate) enum ImportRecord {
    /// A build event and its body.
    Build(ValidBuild, Value),
    /// A deployment event, its claimed start and its body.
    Deployment(ValidDeployment, Option<DateTime<Utc>>, Value),
}

/// How many failing lines one error lists.
const LISTED_PROBLEMS: usize = 10;

/// Why a line was refused.
enum Problem {
    Malformed(String),
    Invalid(Error),
}

impl ImportFile {
    /// Reads a history file's text (JSON Lines).
    ///
    /// # Errors
    /// [`JsonError::Malformed`] when a line is not JSON (HTTP 400), else
    /// [`JsonError::Invalid`] with `INVALID_INPUT` when a line breaks a rule; either names the
    /// first failing line (`line N`) and lists up to ten.
    pub fn parse(text: &str) -> std::result::Result<ImportFile, JsonError> {
        let mut lines = Vec::new();
        let mut problems: Vec<(usize, Problem)> = Vec::new();
        let mut read = 0u64;
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            read += 1;
            match parse_line(number, raw) {
                Ok(line) => lines.push(line),
                Err(p) => problems.push((number, p)),
            }
        }
        if let Some(err) = summarize(&problems) {
            return Err(err);
        }
        // INVARIANT: lines are applied in claimed-time order, equal times in file order (a
        // stable sort of lines already in file order).
        lines.sort_by_key(|l| l.at);
        Ok(ImportFile { lines, read })
    }

    /// Reads a history file's text; a malformed line is `INVALID_INPUT` like any other.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the first failing line (`line N`).
    pub fn read(text: &str) -> Result<ImportFile> {
        ImportFile::parse(text).map_err(|e| match e {
            JsonError::Malformed(m) => {
                let (field, reason) = m.split_once(": ").unwrap_or(("line", m.as_str()));
                Error::invalid(field, format!("is not valid JSON: {reason}"))
            }
            JsonError::Invalid(e) => e,
        })
    }

    /// Events in the file (lines that are not blank).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the file has no events.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The validated lines, in the order they are applied.
    pub(crate) fn lines(&self) -> &[ImportLine] {
        &self.lines
    }

    /// Lines read (not blank).
    pub(crate) fn read_count(&self) -> u64 {
        self.read
    }
}

/// The one error for a file's problems: the first line's, listing the others.
fn summarize(problems: &[(usize, Problem)]) -> Option<JsonError> {
    let ((first, problem), rest) = problems.split_first()?;
    let mut others: Vec<String> = rest
        .iter()
        .take(LISTED_PROBLEMS - 1)
        .map(|(n, p)| format!("line {n}: {}", describe(p)))
        .collect();
    if rest.len() > LISTED_PROBLEMS - 1 {
        others.push(format!(
            "and {} more lines",
            rest.len() - (LISTED_PROBLEMS - 1)
        ));
    }
    let tail = if others.is_empty() {
        String::new()
    } else {
        format!("; also {}", others.join("; "))
    };
    let fix = "; nothing was imported: fix the lines and import the file again";
    Some(match problem {
        Problem::Malformed(m) => JsonError::Malformed(format!("line {first}: {m}{tail}{fix}")),
        Problem::Invalid(_) => JsonError::Invalid(Error::invalid(
            format!("line {first}"),
            format!("{}{tail}{fix}", describe(problem)),
        )),
    })
}

fn describe(p: &Problem) -> String {
    match p {
        Problem::Malformed(m) => format!("is not valid JSON: {m}"),
        Problem::Invalid(e) => reason_of(e),
    }
}

/// An error as the reason of a line's failure: ``` `field` reason``` for bad input, the
/// message and its code otherwise.
pub(crate) fn reason_of(e: &Error) -> String {
    match e {
        Error::InvalidInput { field, reason } => format!("`{field}` {reason}"),
        other => format!("{other} ({})", other.code().as_str()),
    }
}

/// A line's failure while it is applied, as `INVALID_INPUT` naming the line (a storage or
/// internal failure is passed on as it is).
pub(crate) fn at_line(number: usize, e: Error) -> Error {
    use crate::error::ErrorCode as C;
    match e.code() {
        C::Storage | C::Network | C::Internal => e,
        _ => Error::invalid(
            format!("line {number}"),
            format!(
                "{}; nothing was imported: fix the line and import the file again",
                reason_of(&e)
            ),
        ),
    }
}

fn parse_line(number: usize, raw: &str) -> std::result::Result<ImportLine, Problem> {
    let mut map = match strict::parse_object(raw.as_bytes()) {
        Ok(map) => map,
        Err(JsonError::Malformed(m)) => {
            return Err(Problem::Malformed(
                m.replace(" at line 1 column ", " at column "),
            ));
        }
        Err(JsonError::Invalid(e)) => return Err(Problem::Invalid(e)),
    };
    let kind = match map.get("kind") {
        None | Some(Value::Null) if map.contains_key("environment_name") => ImportKind::Deployment,
        None | Some(Value::Null) => ImportKind::Build,
        Some(Value::String(k)) if k.trim().eq_ignore_ascii_case("build") => ImportKind::Build,
        Some(Value::String(k)) if k.trim().eq_ignore_ascii_case("deployment") => {
            ImportKind::Deployment
        }
        Some(other) => {
            return Err(Problem::Invalid(Error::invalid(
                "kind",
                format!("is {other}; expected one of: build, deployment"),
            )));
        }
    };
    map.insert("kind".into(), Value::String(kind.as_str().into()));
    let key = line_key(&map);
    let body = Value::Object(map);
    let invalid = Problem::Invalid;
    let (record, claims) = match kind {
        ImportKind::Build => {
            let event: BuildEvent = read_body(&body).map_err(invalid)?;
            let valid = event.validate().map_err(invalid)?;
            let claims = (valid.status, valid.started_at, valid.completed_at);
            (ImportRecord::Build(valid, body), claims)
        }
        ImportKind::Deployment => {
            let event: DeploymentEvent = read_body(&body).map_err(invalid)?;
            let started = timestamp("started_at", text_field(&body, "started_at")?.as_deref())
                .map_err(invalid)?;
            let valid = event.validate().map_err(invalid)?;
            let claims = (valid.status, started, valid.completed_at);
            (ImportRecord::Deployment(valid, started, body), claims)
        }
    };
    let (status, started, completed) = claims;
    let (at, field) = if status.is_terminal() {
        (completed, "completed_at")
    } else {
        (started, "started_at")
    };
    let Some(at) = at else {
        return Err(Problem::Invalid(Error::invalid(
            field,
            format!(
                "is required on an imported `{}` event: history keeps the time it claims",
                status.as_str()
            ),
        )));
    };
    let first = started.map_or(at, |s| s.min(at));
    Ok(ImportLine {
        number,
        key,
        at,
        first,
        record,
    })
}

/// A text field of a line, as the event fields read it (a string, or a whole number).
fn text_field(body: &Value, field: &str) -> std::result::Result<Option<String>, Problem> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Problem::Invalid(Error::invalid(
            field,
            format!(
                "must be an RFC 3339 timestamp string, found {}",
                crate::event::json_kind(other)
            ),
        ))),
    }
}

/// An event read from a line's object, naming the field of a wrongly typed value.
fn read_body<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(
            if path == "." {
                "body".to_string()
            } else {
                path
            },
            e.inner().to_string(),
        )
    })
}

/// SHA-256 of `map`'s canonical JSON (keys sorted at every level), hex.
fn line_key(map: &Map<String, Value>) -> String {
    hex::encode(Sha256::digest(canonical_text(map).as_bytes()))
}

/// `map` as JSON text with its keys sorted: an exported line reads the same whichever way
/// the build orders JSON objects.
fn canonical_text(map: &Map<String, Value>) -> String {
    let mut text = String::with_capacity(512);
    canonical_object(map, &mut text);
    text
}

fn canonical_object(map: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        if let Some(v) = map.get(k) {
            canonical(v, out);
        }
    }
    out.push('}');
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => canonical_object(m, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

// ----- export ------------------------------------------------------------------------------

/// One exported line and the claimed time it sorts by.
pub(crate) struct ExportLine {
    pub at: DateTime<Utc>,
    pub kind: ImportKind,
    pub text: String,
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        map.insert(key.into(), Value::String(v.to_string()));
    }
}

fn put_time(map: &mut Map<String, Value>, key: &str, value: Option<DateTime<Utc>>) {
    if let Some(t) = value {
        map.insert(key.into(), Value::String(instant::format(&t)));
    }
}

/// A build as a line of a history file.
pub(crate) fn build_line(b: &Build, version: Option<&Version>) -> ExportLine {
    let mut m = Map::new();
    m.insert("kind".into(), Value::String("build".into()));
    put(&mut m, "product_name", Some(&b.product_name));
    put(&mut m, "version", Some(&b.version));
    put(&mut m, "status", Some(b.status.as_str()));
    let f = &b.fields;
    put(&mut m, "built_by", f.built_by.as_deref());
    put(&mut m, "built_by_email", f.built_by_email.as_deref());
    put(&mut m, "built_by_name", f.built_by_name.as_deref());
    put(&mut m, "scm_sha", f.scm_sha.as_deref());
    put(&mut m, "scm_branch", f.scm_branch.as_deref());
    put(&mut m, "scm_repository", f.scm_repository.as_deref());
    put(&mut m, "build_url", f.build_url.as_deref());
    put(&mut m, "build_number", f.build_number.as_deref());
    put(&mut m, "source_system", f.source_system.as_deref());
    put(&mut m, "invoke_id", f.invoke_id.as_deref());
    put(&mut m, "error_message", f.error_message.as_deref());
    put(&mut m, "error_code", f.error_code.as_deref());
    put_time(
        &mut m,
        "scm_committed_at",
        version.and_then(|v| v.scm_committed_at),
    );
    let started = b.started_at.or(Some(b.created_at));
    put_time(&mut m, "started_at", started);
    put_time(&mut m, "completed_at", b.completed_at);
    if !b.extra_metadata.is_empty() {
        m.insert(
            "extra_metadata".into(),
            Value::Object(b.extra_metadata.clone()),
        );
    }
    let at = match (b.status.is_terminal(), b.completed_at) {
        (true, Some(c)) => c,
        _ => started.unwrap_or(b.created_at),
    };
    ExportLine {
        at,
        kind: ImportKind::Build,
        text: canonical_text(&m),
    }
}

/// A deployment as a line of a history file.
pub(crate) fn deployment_line(d: &Deployment, version: Option<&Version>) -> ExportLine {
    let mut m = Map::new();
    m.insert("kind".into(), Value::String("deployment".into()));
    put(&mut m, "product_name", Some(&d.product_name));
    put(&mut m, "version", Some(&d.version));
    put(&mut m, "environment_name", Some(&d.environment_name));
    put(&mut m, "status", Some(d.status.as_str()));
    let f = &d.fields;
    put(&mut m, "deployed_by", f.deployed_by.as_deref());
    put(&mut m, "deployed_by_email", f.deployed_by_email.as_deref());
    put(&mut m, "deployed_by_name", f.deployed_by_name.as_deref());
    put(&mut m, "scm_sha", f.scm_sha.as_deref());
    put(&mut m, "scm_repository", f.scm_repository.as_deref());
    put(&mut m, "scm_branch", f.scm_branch.as_deref());
    put(&mut m, "build_number", f.build_number.as_deref());
    put(&mut m, "source_system", f.source_system.as_deref());
    put(&mut m, "invoke_id", f.invoke_id.as_deref());
    put(&mut m, "deploy_url", f.deploy_url.as_deref());
    put(&mut m, "build_url", f.build_url.as_deref());
    put_time(
        &mut m,
        "scm_committed_at",
        version.and_then(|v| v.scm_committed_at),
    );
    // A queued or running deployment claims its start (a queued one, when it was queued).
    let started = match d.status {
        Status::Pending | Status::Started => Some(d.started_at.unwrap_or(d.deployed_at)),
        _ => d.started_at,
    };
    put_time(&mut m, "started_at", started);
    put_time(&mut m, "completed_at", d.completed_at);
    if !d.extra_metadata.is_empty() {
        m.insert(
            "extra_metadata".into(),
            Value::Object(d.extra_metadata.clone()),
        );
    }
    let at = match (d.status.is_terminal(), d.completed_at) {
        (true, Some(c)) => c,
        _ => started.unwrap_or(d.deployed_at),
    };
    ExportLine {
        at,
        kind: ImportKind::Deployment,
        text: canonical_text(&m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn kind_is_given_or_inferred_and_the_key_ignores_key_order() -> Result<()> {
        let file = ImportFile::read(concat!(
            r#"{"product_name":"api","version":"1","status":"completed","completed_at":"2026-01-01T00:00:00Z"}"#,
            "\n\n",
            r#"{"completed_at":"2026-01-01T00:00:00Z","status":"completed","version":"1","product_name":"api","kind":"build"}"#,
            "\n",
            r#"{"product_name":"api","version":"1","environment_name":"prod","status":"started","started_at":"2025-12-31T00:00:00Z"}"#,
        ))?;
        assert_eq!(file.len(), 3);
        let lines = file.lines();
        // Time order: the deployment (2025) comes first.
        assert_eq!(lines[0].number, 4);
        assert!(matches!(lines[0].record, ImportRecord::Deployment(..)));
        assert_eq!(lines[1].key, lines[2].key, "same content, same key");
        Ok(())
    }

    #[test]
    fn failures_name_their_lines() {
        let err = ImportFile::read(concat!(
            r#"{"kind":"build","product_name":"api","version":"1","status":"completed","completed_at":"2026-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"kind":"build","product_name":"api","status":"completed","completed_at":"2026-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"kind":"deployment","product_name":"api","version":"1","environment_name":"prod","status":"completed"}"#,
        ))
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert_eq!(err.field(), Some("line 2"));
        let text = err.to_string();
        assert!(text.contains("`version`"), "{text}");
        assert!(
            text.contains("line 3: `completed_at` is required"),
            "{text}"
        );

        match ImportFile::parse("{\"kind\":\n") {
            Err(JsonError::Malformed(m)) => assert!(m.starts_with("line 1: "), "{m}"),
            other => panic!("expected a malformed line, got {other:?}"),
        }
        let err = ImportFile::read(r#"{"kind":"release"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected one of: build, deployment")
        );
    }
}
