//! Backups: a consistent copy of the whole database while writers run, and restoring one.
//!
//! SQLite only: a PostgreSQL database is backed up with `pg_dump` (the error says how). The
//! copy is SQLite's online backup API in one step, so it is one snapshot even while other
//! processes write; a restore checks the file first (`PRAGMA integrity_check`, a Versioner
//! schema no newer than this library's) and never replaces recorded history unless asked.

use std::path::Path;

use super::Versioner;
use crate::error::{Error, Result};
use crate::store::RestoreMode;

impl Versioner {
    /// Writes a consistent copy of the whole database to the new file `dest`, while writers
    /// (in this process and others) keep running. The copy is checked with
    /// `PRAGMA integrity_check` before this returns; a failed backup leaves no file.
    ///
    /// ```
    /// use versioner_core::{BuildEvent, Versioner};
    /// use versioner_core::store::RestoreMode;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let vr = Versioner::open(dir.path().join("live.db"))?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// vr.backup(dir.path().join("backup.db"))?;
    ///
    /// let fresh = Versioner::open(dir.path().join("restored.db"))?;
    /// fresh.restore(dir.path().join("backup.db"), RestoreMode::Refuse)?;
    /// assert_eq!(fresh.products()?.len(), 1);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// `INVALID_INPUT` on `file` when `dest` exists, on `database` for PostgreSQL (the message
    /// gives the `pg_dump` command); `STORAGE`.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        self.store.backup_to(dest.as_ref())
    }

    /// Replaces this database's content with the backup file `src`, after checking it is a
    /// sound Versioner database of a schema this library reads (an older one is migrated).
    /// With [`RestoreMode::Refuse`], a database that already holds records is left alone.
    /// Stop every other writer (`versioner serve`) first: they would keep writing to what is
    /// being replaced.
    ///
    /// # Errors
    /// `INVALID_INPUT` on `database` when it holds records and `mode` is
    /// [`RestoreMode::Refuse`], or for PostgreSQL (`pg_restore`); `INVALID_INPUT` on `file`
    /// for a file that is missing, not SQLite, fails the integrity check or holds no Versioner
    /// schema; `STORAGE` for a backup of a newer schema.
    pub fn restore(&self, src: impl AsRef<Path>, mode: RestoreMode) -> Result<()> {
        if mode == RestoreMode::Refuse {
            let events = self.last_event_seq()?;
            let products = self.products()?.len();
            if events > 0 || products > 0 {
                return Err(Error::invalid(
                    "database",
                    format!(
                        "already holds records ({events} events, {products} products); \
                         restoring would replace them: restore into a new database file, or \
                         pass --force (RestoreMode::Overwrite) to replace them"
                    ),
                ));
            }
        }
        self.store.restore_from(src.as_ref())
    }
}
