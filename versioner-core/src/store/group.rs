//! Group commit for the SQLite store: many transactions, one `COMMIT` (one fsync).
//!
//! The store has one connection for writes. A caller that finds a transaction of other
//! callers open joins it: its work runs in a `SAVEPOINT` of that transaction, in arrival
//! order, so it sees everything before it, and a member that fails or is refused rolls back
//! alone. A member whose work is done leaves the transaction open when other callers are
//! queued for the connection, and waits; the last member of the queue (or the one that fills
//! the group) commits for all of them and wakes them. Nobody is answered before the `COMMIT`
//! that makes their work durable has returned; if it fails, every member that wrote is told
//! so. A caller alone pays nothing for this: no savepoint, one `BEGIN IMMEDIATE` … `COMMIT`
//! as before.
//!
//! Reads of a file store go to a connection of their own. In memory there is only this one:
//! a read that finds no group open runs in a snapshot of its own and is answered at once; a
//! read that finds one open joins it (the connection is inside that transaction) and is
//! answered after the commit, like a write: it may have seen the group's writes, and must not
//! report them before they are durable.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The most members one transaction takes before it commits, queued callers or not: bounds
/// how long the write lock is held against other processes and the work lost to a failed
/// commit.
pub(super) const MAX_GROUP: usize = 128;

/// How many failed commits are remembered for members still to be woken.
const FAILED_KEPT: usize = 64;

/// Whether a member only reads or may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// A consistent snapshot; joins an open group rather than wait for it.
    Read,
    /// Takes the write lock (`BEGIN IMMEDIATE`) or joins the group that holds it.
    Write,
}

/// The connection and the group transaction it may hold open.
#[derive(Debug)]
pub(super) struct Slot {
    conn: Connection,
    /// Whether a group's transaction is open: members ran, the commit is still to come.
    open: bool,
    /// The number of the open group (or of the last one).
    group: u64,
    /// Members that ran in the open group.
    members: usize,
    /// Groups committed and the members they held, since the store was opened.
    stats: GroupStats,
}

/// How far the groups got, apart from the connection: members waiting for their group's
/// commit read it without queueing behind the next group's work for the connection's lock.
#[derive(Debug, Default)]
struct Finished {
    /// Every group up to this number is finished: committed, or failed.
    upto: u64,
    /// Recent groups whose commit failed, with SQLite's message.
    failed: VecDeque<(u64, String)>,
}

/// How the store's transactions were grouped since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Transactions committed that held more than one member.
    pub shared_commits: u64,
    /// Members (callers' transactions) in those shared commits.
    pub shared_members: u64,
}

/// One SQLite connection shared by threads, committing their transactions in groups.
#[derive(Debug)]
pub(super) struct Grouped {
    slot: Mutex<Slot>,
    /// Set under the connection's lock (`slot`, always taken first), read alone.
    finished: Mutex<Finished>,
    /// Signalled when `finished` moves.
    woken: Condvar,
    /// Callers blocked on `slot` (or about to be): a member finding any leaves its group open.
    queued: AtomicUsize,
}

/// The connection with no group open, for work outside transactions (configuration,
/// migrations, backups).
pub(super) struct Idle<'a>(MutexGuard<'a, Slot>);

impl Deref for Idle<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

impl DerefMut for Idle<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0.conn
    }
}

impl Grouped {
    /// Shares `conn`, which must be outside any transaction.
    pub(super) fn new(conn: Connection) -> Grouped {
        Grouped {
            slot: Mutex::new(Slot {
                conn,
                open: false,
                group: 0,
                members: 0,
                stats: GroupStats::default(),
            }),
            finished: Mutex::default(),
            woken: Condvar::new(),
            queued: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        slot
    }

    /// The connection, once any open group is committed.
    ///
    /// # Errors
    /// `STORAGE` when that commit fails (its members are told).
    pub(super) fn idle(&self) -> Result<Idle<'_>> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.open {
            self.commit(&mut slot)?;
        }
        Ok(Idle(slot))
    }

    /// Whether no caller holds the connection now.
    pub(super) fn is_free(&self) -> bool {
        self.slot.try_lock().is_ok()
    }

    /// How transactions were grouped so far.
    pub(super) fn stats(&self) -> GroupStats {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
    }

    /// Runs `f` as one member of a group transaction (see the module's documentation) and
    /// returns once its work is durable, or once it failed. A panic in `f` rolls back its
    /// work alone and is resumed in this caller.
    ///
    /// # Errors
    /// `f`'s error; `STORAGE` when the transaction cannot be begun or committed.
    pub(super) fn run(
        &self,
        access: Access,
        f: &mut dyn FnMut(&Connection) -> Result<()>,
    ) -> Result<()> {
        let mut slot = self.lock();
        if !slot.open {
            if access == Access::Read {
                return alone(&mut slot.conn, f);
            }
            slot.conn.execute_batch("BEGIN IMMEDIATE")?;
            slot.open = true;
            slot.group += 1;
            slot.members = 0;
        }
        let group = slot.group;
        let first = slot.members == 0;
        if !first && let Err(e) = slot.conn.execute_batch("SAVEPOINT member") {
            return Err(self.abort(&mut slot, &e.to_string()));
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&slot.conn)));
        let ok = matches!(outcome, Ok(Ok(())));
        if slot.conn.is_autocommit() {
            // SQLite rolled the whole transaction back itself (an I/O error, a full disk):
            // the members before this one lost their work too.
            let err = self.abort(&mut slot, "SQLite rolled the transaction back");
            return settle(outcome).and(Err(err));
        }
        if first && !ok {
            // Nothing else is in the transaction: roll it back whole.
            let _ = slot.conn.execute_batch("ROLLBACK");
            slot.open = false;
            self.finish(group, None);
            return settle(outcome);
        }
        if !first {
            let undo = if ok {
                "RELEASE member"
            } else {
                "ROLLBACK TO member; RELEASE member"
            };
            if let Err(e) = slot.conn.execute_batch(undo) {
                let err = self.abort(&mut slot, &e.to_string());
                return settle(outcome).and(Err(err));
            }
        }
        slot.members += 1;
        if self.queued.load(Ordering::SeqCst) > 0 && slot.members < MAX_GROUP {
            // Someone queued behind this member commits for it.
            if !ok {
                return settle(outcome);
            }
            // The connection goes to the next member; the wait is on `finished` alone (the
            // commit sets it before it signals, so the wake-up cannot be missed).
            drop(slot);
            let finished = self
                .woken
                .wait_while(self.finished(), |f| f.upto < group)
                .unwrap_or_else(PoisonError::into_inner);
            return match finished.failed.iter().find(|(g, _)| *g == group) {
                Some((_, message)) => Err(commit_failed(message)),
                None => Ok(()),
            };
        }
        let committed = self.commit(&mut slot);
        settle(outcome)?;
        committed
    }

    /// Commits the open group and wakes its members.
    fn commit(&self, slot: &mut Slot) -> Result<()> {
        match slot.conn.execute_batch("COMMIT") {
            Ok(()) => {
                if slot.members > 1 {
                    slot.stats.shared_commits += 1;
                    slot.stats.shared_members += slot.members as u64;
                }
                slot.open = false;
                self.finish(slot.group, None);
                Ok(())
            }
            Err(e) => Err(self.abort(slot, &e.to_string())),
        }
    }

    /// Rolls the open group back, records its failure for its members and wakes them.
    fn abort(&self, slot: &mut Slot, message: &str) -> Error {
        if !slot.conn.is_autocommit() {
            let _ = slot.conn.execute_batch("ROLLBACK");
        }
        tracing::error!(
            group = slot.group,
            members = slot.members,
            message,
            "a group commit failed"
        );
        slot.open = false;
        self.finish(slot.group, Some(message));
        commit_failed(message)
    }

    fn finished(&self) -> MutexGuard<'_, Finished> {
        self.finished.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that `group` is finished (failed with `failure`, if given) and wakes its
    /// members.
    fn finish(&self, group: u64, failure: Option<&str>) {
        let mut finished = self.finished();
        if let Some(message) = failure {
            if finished.failed.len() == FAILED_KEPT {
                finished.failed.pop_front();
            }
            finished.failed.push_back((group, message.to_string()));
        }
        finished.upto = group;
        drop(finished);
        self.woken.notify_all();
    }
}

/// A read with no group open: a snapshot of its own, finished at once.
fn alone(conn: &mut Connection, f: &mut dyn FnMut(&Connection) -> Result<()>) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
    f(&tx)?;
    tx.commit()?;
    Ok(())
}

/// `f`'s own outcome: its value or error, or its panic resumed.
fn settle(outcome: std::thread::Result<Result<()>>) -> Result<()> {
    match outcome {
        Ok(result) => result,
        Err(panic) => resume_unwind(panic),
    }
}

fn commit_failed(message: &str) -> Error {
    Error::Storage {
        message: format!("the transaction was not committed, nothing of it was written: {message}"),
        source: None,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    type Work = Box<dyn FnMut(&Connection) -> Result<()> + Send>;

    /// A store-like connection on a new file, with a table `t(x)` and a table `child` whose
    /// foreign key is checked at commit.
    fn grouped(dir: &tempfile::TempDir) -> Arc<Grouped> {
        let conn = Connection::open(dir.path().join("g.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;
             CREATE TABLE t(x INTEGER PRIMARY KEY);
             CREATE TABLE child(x INTEGER REFERENCES t(x) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        Arc::new(Grouped::new(conn))
    }

    fn insert(x: i64) -> impl FnMut(&Connection) -> Result<()> {
        move |c| {
            c.execute("INSERT INTO t(x) VALUES (?1)", [x])?;
            Ok(())
        }
    }

    /// What another connection (another process) sees committed.
    fn committed(dir: &tempfile::TempDir) -> Vec<i64> {
        let conn = Connection::open(dir.path().join("g.db")).unwrap();
        let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Runs `first` (which inserts 1), and, while it holds the connection, queues `others`;
    /// `first` finishes once all of them are queued, so they join its transaction. Returns
    /// each one's outcome, `first`'s first (a panic as `None`), with the rows another
    /// connection saw committed when it was answered.
    fn group(
        dir: &tempfile::TempDir,
        g: &Arc<Grouped>,
        others: Vec<(Access, Work)>,
    ) -> Vec<Option<(Result<()>, Vec<i64>)>> {
        let n = others.len();
        let (entered, inside) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let seen = move || {
            let conn = Connection::open(path.join("g.db")).unwrap();
            let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<Vec<i64>>>()
                .unwrap()
        };
        let lead = {
            let g = g.clone();
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut first = insert(1);
                let out = g.run(Access::Write, &mut |c| {
                    first(c)?;
                    entered.send(()).unwrap();
                    while g.queued.load(Ordering::SeqCst) < n {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(())
                });
                (out, seen())
            })
        };
        inside.recv().unwrap();
        let members: Vec<_> = others
            .into_iter()
            .map(|(access, mut work)| {
                let g = g.clone();
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let out = g.run(access, &mut *work);
                    (out, seen())
                })
            })
            .collect();
        std::iter::once(lead)
            .chain(members)
            .map(|h| h.join().ok())
            .collect()
    }

    /// Each outcome of `group` that succeeded found everything committed when answered.
    fn answered_after_commit(out: &[Option<(Result<()>, Vec<i64>)>], last: &[i64]) {
        for (i, o) in out.iter().enumerate() {
            if let Some((Ok(()), seen)) = o {
                assert_eq!(seen, last, "member {i} was answered before the commit");
            }
        }
    }

    #[test]
    fn queued_transactions_share_one_commit_and_a_refused_one_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let g = grouped(&dir);
        let refused: Work = Box::new(|c| {
            insert(2)(c)?;
            Err(Error::invalid("x", "refused"))
        });
        let w = Access::Write;
        let out = group(
            &dir,
            &g,
            vec![
                (w, refused),
                (w, Box::new(insert(3))),
                (w, Box::new(insert(4))),
            ],
        );
        let err = out[1].as_ref().unwrap().0.as_ref().unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        assert!(err.to_string().contains("refused"), "{err}");
        for i in [0, 2, 3] {
            assert!(out[i].as_ref().unwrap().0.is_ok(), "member {i}");
        }
        assert_eq!(committed(&dir), [1, 3, 4]);
        answered_after_commit(&out, &[1, 3, 4]);
        let stats = g.stats();
        assert_eq!((stats.shared_commits, stats.shared_members), (1, 4));
    }

    /// A member that panics or takes its time inside a group fails none of the others; the
    /// panic reaches its own caller only, and its writes are rolled back.
    #[test]
    fn a_panicking_or_slow_member_does_not_fail_its_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let g = grouped(&dir);
        let panics: Work = Box::new(|c| {
            insert(2)(c)?;
            panic!("a bug in one caller");
        });
        let slow: Work = Box::new(|c| {
            std::thread::sleep(Duration::from_millis(200));
            insert(3)(c)
        });
        let w = Access::Write;
        let out = group(
            &dir,
            &g,
            vec![(w, panics), (w, slow), (w, Box::new(insert(4)))],
        );
        assert!(out[1].is_none(), "the panic is resumed in its caller");
        for i in [0, 2, 3] {
            assert!(out[i].as_ref().unwrap().0.is_ok(), "member {i}");
        }
        assert_eq!(committed(&dir), [1, 3, 4]);
        answered_after_commit(&out, &[1, 3, 4]);
        // The connection is usable afterwards, alone.
        g.run(Access::Write, &mut insert(5)).unwrap();
        assert_eq!(committed(&dir), [1, 3, 4, 5]);
    }

    /// When the shared commit fails, every member that wrote is told and nothing is written.
    #[test]
    fn a_failed_commit_fails_every_member_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let g = grouped(&dir);
        let dangling: Work = Box::new(|c| {
            // Checked at COMMIT (a deferred foreign key): the statement itself succeeds.
            c.execute("INSERT INTO child(x) VALUES (99)", [])?;
            Ok(())
        });
        let w = Access::Write;
        let out = group(&dir, &g, vec![(w, Box::new(insert(2))), (w, dangling)]);
        for (i, o) in out.iter().enumerate() {
            let err = o.as_ref().unwrap().0.as_ref().unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::Storage);
            assert!(
                err.to_string()
                    .contains("the transaction was not committed, nothing of it was written"),
                "member {i}: {err}"
            );
        }
        assert!(committed(&dir).is_empty());
        g.run(Access::Write, &mut insert(7)).unwrap();
        assert_eq!(committed(&dir), [7]);
    }

    /// A read that finds a group open sees the writes before it and is answered after they
    /// are committed; a read alone is answered from its own snapshot.
    #[test]
    fn a_read_joining_a_group_sees_its_writes_and_returns_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let g = grouped(&dir);
        let count = |c: &Connection| -> Result<i64> {
            Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let read: Work = {
            let seen = seen.clone();
            Box::new(move |c| {
                seen.lock().unwrap().push(count(c)?);
                Ok(())
            })
        };
        let out = group(&dir, &g, vec![(Access::Read, read)]);
        assert!(out.iter().all(|o| o.as_ref().unwrap().0.is_ok()));
        assert_eq!(*seen.lock().unwrap(), [1]);
        answered_after_commit(&out, &[1]);
        g.run(Access::Read, &mut |c| {
            seen.lock().unwrap().push(count(c)?);
            Ok(())
        })
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), [1, 1]);
    }
}
