//! Backups of a SQLite database while writers run, and restores: every event acknowledged
//! before the backup began is in it, the copy passes `PRAGMA integrity_check`, and a restore
//! checks its file and never replaces recorded history unless told to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use versioner_core::store::RestoreMode;
use versioner_core::{BuildEvent, DeploymentEvent, ErrorCode, HistoryQuery, Versioner};

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn versions(vr: &Versioner) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for w in 0..3 {
        for d in vr
            .history(&HistoryQuery::new().product(format!("svc-{w}")).limit(1000))
            .unwrap()
        {
            out.insert(format!("svc-{w}/{}", d.version));
        }
    }
    out
}

#[test]
fn a_backup_taken_under_concurrent_writes_restores_every_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    Versioner::open(&live).unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    // Three writers, each on its own connection, recording until told to stop (or until they
    // have written what one history page of `versions` reads back: at most 1000 each).
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (live, acked, stop) = (live.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let vr = Versioner::open(&live).unwrap();
                let mut n = 0;
                while !stop.load(Ordering::Acquire) && n < 1000 {
                    let e = DeploymentEvent::new(
                        format!("svc-{w}"),
                        n.to_string(),
                        "production",
                        "success",
                    );
                    vr.track_deployment(&e).unwrap();
                    acked.lock().unwrap().push(format!("svc-{w}/{n}"));
                    n += 1;
                }
            })
        })
        .collect();
    let vr = Versioner::open(&live).unwrap();
    let mut backups = Vec::new();
    for i in 0..3 {
        while acked.lock().unwrap().len() < 30 * (i + 1) {
            std::thread::yield_now();
        }
        let before: Vec<String> = acked.lock().unwrap().clone();
        let file = dir.path().join(format!("backup-{i}.db"));
        vr.backup(&file).unwrap();
        backups.push((file, before));
    }
    stop.store(true, Ordering::Release);
    for w in writers {
        w.join().unwrap();
    }
    for (i, (file, before)) in backups.iter().enumerate() {
        assert_eq!(integrity(file), "ok");
        let target = dir.path().join(format!("restored-{i}.db"));
        let restored = Versioner::open(&target).unwrap();
        restored.restore(file, RestoreMode::Refuse).unwrap();
        assert_eq!(integrity(&target), "ok");
        let stored = versions(&restored);
        let missing: Vec<_> = before.iter().filter(|v| !stored.contains(*v)).collect();
        assert!(
            missing.is_empty(),
            "backup {i} lost acknowledged events: {missing:?}"
        );
        // The restored database is a working one: its audit chain holds, and it records.
        assert!(restored.audit_verify().unwrap().is_intact());
        restored
            .track_build(&BuildEvent::new("after", "1", "success"))
            .unwrap();
    }
}

#[test]
fn a_restore_checks_its_file_and_never_replaces_history_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let source = Versioner::open(dir.path().join("source.db")).unwrap();
    source
        .track_build(&BuildEvent::new("api", "1.0.0", "success"))
        .unwrap();
    let backup = dir.path().join("backup.db");
    source.backup(&backup).unwrap();

    // A backup never overwrites a file.
    let e = source.backup(&backup).unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        (ErrorCode::InvalidInput, Some("file"))
    );
    assert!(e.to_string().contains("already exists"), "{e}");

    // A database holding records is not replaced without Overwrite; nothing changes.
    let target = Versioner::open(dir.path().join("target.db")).unwrap();
    target
        .track_build(&BuildEvent::new("web", "2.0.0", "success"))
        .unwrap();
    let seq = target.last_event_seq().unwrap();
    let e = target.restore(&backup, RestoreMode::Refuse).unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        (ErrorCode::InvalidInput, Some("database"))
    );
    assert!(e.to_string().contains("--force"), "{e}");
    assert_eq!(target.last_event_seq().unwrap(), seq);
    assert_eq!(target.products().unwrap()[0].name, "web");
    target.restore(&backup, RestoreMode::Overwrite).unwrap();
    let names: Vec<String> = target
        .products()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["api"]);

    // Files that are not sound Versioner backups are refused, naming the problem.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all, just text".repeat(200)).unwrap();
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    let newer = dir.path().join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 9999)
        .unwrap();
    let fresh = Versioner::open(dir.path().join("fresh.db")).unwrap();
    for (file, code, text) in [
        (
            dir.path().join("missing.db"),
            ErrorCode::InvalidInput,
            "is not a file",
        ),
        (
            garbage,
            ErrorCode::InvalidInput,
            "not a readable SQLite database",
        ),
        (other, ErrorCode::InvalidInput, "not a Versioner one"),
        (newer, ErrorCode::Storage, "9999"),
    ] {
        let e = fresh.restore(&file, RestoreMode::Refuse).unwrap_err();
        assert_eq!(e.code(), code, "{}: {e}", file.display());
        assert!(e.to_string().contains(text), "{}: {e}", file.display());
        assert!(fresh.products().unwrap().is_empty());
        assert_eq!(fresh.last_event_seq().unwrap(), 0);
    }
}
