//! History import and export (see [`crate::import`] for the format and its rules).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

use crate::access::Permission;
use crate::error::{Error, Result};
use crate::import::{
    ExportReport, ImportFile, ImportKind, ImportMode, ImportRecord, ImportReport, at_line,
    build_line, deployment_line,
};
use crate::model::Version;
use crate::store::{self, LockScope, Tx};

use super::Versioner;
use super::track::{Recording, record_build, record_deployment};

/// How many records an export reads per page.
const EXPORT_PAGE: u32 = 5_000;

impl Versioner {
    /// Imports a history file's text (JSON Lines, see [`crate::import`]): every line is
    /// validated first, then the events are applied in the order of their claimed times, in
    /// one transaction. Lines imported before are skipped; a dry run writes nothing.
    ///
    /// Equals `self.import_file(&ImportFile::read(text)?, mode)`.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming the first failing line (`line N`) and the problem, whether the
    /// line is malformed, breaks a field rule, or conflicts with what is recorded (a version
    /// recorded with another commit); `FORBIDDEN` unless the actor is an admin; `STORAGE`.
    /// Nothing is written on error.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::Versioner;
    /// use versioner_core::import::ImportMode;
    /// let vr = Versioner::open_in_memory()?;
    /// let history = concat!(
    ///     r#"{"kind":"deployment","product_name":"api","version":"1.0.0","environment_name":"production","status":"completed","completed_at":"2026-01-05T10:00:00Z"}"#, "\n",
    ///     r#"{"kind":"build","product_name":"api","version":"1.0.0","status":"completed","completed_at":"2026-01-05T09:00:00Z"}"#, "\n",
    /// );
    /// let report = vr.import_events(history, ImportMode::Apply)?;
    /// assert_eq!((report.builds, report.deployments, report.skipped), (1, 1, 0));
    /// assert_eq!(vr.state(None)?.version("api", "production"), Some("1.0.0"));
    ///
    /// // Importing the same file again changes nothing.
    /// let again = vr.import_events(history, ImportMode::Apply)?;
    /// assert_eq!((again.imported(), again.skipped), (0, 2));
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn import_events(&self, text: &str, mode: ImportMode) -> Result<ImportReport> {
        self.acting()?.require(Permission::ManageHistory)?;
        self.import_file(&ImportFile::read(text)?, mode)
    }

    /// Imports a history file already read ([`ImportFile::parse`] or [`ImportFile::read`]).
    ///
    /// # Errors
    /// As [`Versioner::import_events`].
    pub fn import_file(&self, file: &ImportFile, mode: ImportMode) -> Result<ImportReport> {
        let acting = self.acting()?;
        acting.require(Permission::ManageHistory)?;
        let principal = acting.principal.clone();
        let dry_run = mode == ImportMode::DryRun;
        // A dry run applies everything in a transaction it then rolls back: the report is
        // kept here and the transaction refused.
        let rolled_back: RefCell<Option<ImportReport>> = RefCell::new(None);
        let outcome = store::write(&*self.store, &LockScope::Global, |tx| {
            // INVARIANT: the clock is read under the write lock, like every write's.
            let now = self.now();
            let mut report = ImportReport {
                lines: file.read_count(),
                dry_run,
                ..ImportReport::default()
            };
            // A large import refills the four keys' rollups once at its end: cheaper than
            // their upkeep per deployment (measured on a million events: 68 s against 75 s).
            let roll_up = file.lines().len() < crate::import::REFILL_ROLLUPS_FROM_LINES;
            if !roll_up {
                tx.bulk(true)?;
            }
            let applied = apply_lines(tx, file, &principal, now, roll_up, &mut report);
            if !roll_up {
                tx.bulk(false)?;
            }
            applied?;
            if !roll_up && report.deployments > 0 {
                tx.refill_rollups()?;
            }
            if dry_run {
                *rolled_back.borrow_mut() = Some(report);
                return Err(Error::internal("a dry run is rolled back"));
            }
            Ok(report)
        });
        match (outcome, rolled_back.into_inner()) {
            (_, Some(report)) => Ok(report),
            (outcome, None) => outcome,
        }
    }

    /// Writes every build and deployment to `out` as a history file (JSON Lines, see
    /// [`crate::import`]), in time order; `versioner import` of it into a fresh database gives
    /// the same state, history and DORA figures.
    ///
    /// # Errors
    /// `FORBIDDEN` unless the actor is an admin; `STORAGE`, also when `out` cannot be written.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{DeploymentEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_deployment(&DeploymentEvent::new("api", "1.0.0", "staging", "completed"))?;
    /// let mut out = Vec::new();
    /// let report = vr.export_events(&mut out)?;
    /// assert_eq!(report.deployments, 1);
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.contains(r#""kind":"deployment""#) && text.ends_with("}\n"));
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn export_events(&self, out: &mut dyn Write) -> Result<ExportReport> {
        self.acting()?.require(Permission::ManageHistory)?;
        let mut lines = Vec::new();
        let mut report = ExportReport::default();
        store::read(&*self.store, |tx| {
            let mut versions: HashMap<String, Option<Version>> = HashMap::new();
            let mut after = 0;
            loop {
                let page = tx.builds_after(after, EXPORT_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.key;
                for b in &page {
                    let v = version_of(tx, &mut versions, &b.version_id)?;
                    lines.push(build_line(b, v));
                    report.builds += 1;
                }
            }
            let mut after = 0;
            loop {
                let page = tx.deployments_after(after, EXPORT_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.key;
                for d in &page {
                    let v = version_of(tx, &mut versions, &d.version_id)?;
                    lines.push(deployment_line(d, v));
                    report.deployments += 1;
                }
            }
            Ok(())
        })?;
        // Builds before deployments at equal times: a version is built before it ships.
        lines.sort_by(|a, b| {
            a.at.cmp(&b.at)
                .then(kind_rank(a.kind).cmp(&kind_rank(b.kind)))
        });
        let cannot = |e: std::io::Error| Error::storage("cannot write the export", e);
        for line in &lines {
            out.write_all(line.text.as_bytes()).map_err(cannot)?;
            out.write_all(b"\n").map_err(cannot)?;
        }
        out.flush().map_err(cannot)?;
        Ok(report)
    }
}

/// Applies the lines of `file` not yet imported, in their (time) order, counting them in
/// `report`.
fn apply_lines(
    tx: &mut dyn Tx,
    file: &ImportFile,
    principal: &Option<String>,
    now: chrono::DateTime<chrono::Utc>,
    roll_up: bool,
    report: &mut ImportReport,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for line in file.lines() {
        if !seen.insert(line.key.as_str()) || tx.imported_line(&line.key)? {
            report.skipped += 1;
            continue;
        }
        let n = line.number;
        let how = |started_at| Recording::Imported {
            started_at,
            first: line.first,
            roll_up,
        };
        let (kind, key) = match &line.record {
            ImportRecord::Build(ev, payload) => {
                let mut ev = ev.clone();
                ev.fields.recorded_by.clone_from(principal);
                let b =
                    record_build(tx, &ev, payload, now, how(None)).map_err(|e| at_line(n, e))?;
                report.builds += 1;
                (ImportKind::Build, b.key)
            }
            ImportRecord::Deployment(ev, started, payload) => {
                let mut ev = ev.clone();
                ev.fields.recorded_by.clone_from(principal);
                let mut refused = None;
                let d = record_deployment(tx, &ev, payload, now, how(*started), &mut refused)
                    .map_err(|e| at_line(n, e))?;
                report.deployments += 1;
                (ImportKind::Deployment, d.key)
            }
        };
        tx.mark_imported(kind, key, &line.key, now)?;
    }
    Ok(())
}

fn kind_rank(kind: ImportKind) -> u8 {
    match kind {
        ImportKind::Build => 0,
        ImportKind::Deployment => 1,
    }
}

/// The version of a record (by its public id), looked up once per export.
fn version_of<'a>(
    tx: &mut dyn Tx,
    versions: &'a mut HashMap<String, Option<Version>>,
    id: &str,
) -> Result<Option<&'a Version>> {
    if !versions.contains_key(id) {
        let v = tx.version_by_id(id)?;
        versions.insert(id.to_string(), v);
    }
    Ok(versions.get(id).and_then(Option::as_ref))
}
