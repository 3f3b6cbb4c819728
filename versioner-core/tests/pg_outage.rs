//! PostgreSQL outage: while the database is down calls fail with `STORAGE` (never a panic),
//! and the next call after it is back succeeds on a fresh connection.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::process::Command;

use versioner_core::{DeploymentEvent, ErrorCode, HistoryQuery};

fn pg_ctl(action: &str) {
    let prefix = std::env::var("VERSIONER_TEST_PG_CTL").expect("VERSIONER_TEST_PG_CTL");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{prefix} -m fast -w {action} >/dev/null 2>&1"))
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {action} failed");
}

#[test]
fn calls_fail_with_storage_while_the_database_is_down_then_recover() {
    if common::database_url().is_none() {
        assert!(
            std::env::var("VERSIONER_REQUIRE_POSTGRES").is_err(),
            "VERSIONER_REQUIRE_POSTGRES is set but VERSIONER_TEST_DATABASE_URL is not"
        );
        return;
    }
    let vr = common::fresh();
    vr.track_deployment(&DeploymentEvent::new("api", "1", "prod", "completed"))
        .unwrap();

    pg_ctl("stop");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vr.track_deployment(&DeploymentEvent::new("api", "2", "prod", "completed"))
    }));
    pg_ctl("start");
    let err = result
        .expect("no panic while the database is down")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Storage, "{err}");

    // Back up: the pool replaces the dead connection and the call succeeds.
    let mut ok = None;
    for _ in 0..20 {
        match vr.track_deployment(&DeploymentEvent::new("api", "3", "prod", "completed")) {
            Ok(d) => {
                ok = Some(d);
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Storage, "{e}");
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        }
    }
    assert!(ok.is_some(), "the store recovers once the database is back");
    let versions: Vec<String> = vr
        .history(&HistoryQuery::new())
        .unwrap()
        .into_iter()
        .map(|d| d.version)
        .collect();
    assert_eq!(versions, ["3", "1"], "the failed call wrote nothing");
}
