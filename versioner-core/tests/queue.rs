//! Waiting instead of failing: `started` deployments blocked by something time alone clears
//! wait in their environment's queue, in arrival order, and go when the block clears; a wait
//! past its limit, or a block time cannot clear, fails with the block and leaves no ticket; a
//! waiter that dies does not hold up the queue.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::queue::WaitStatus;
use versioner_core::{DeploymentEvent, ErrorCode, Status, Versioner};

const ONE_AT_A_TIME: &str = "[[rules]]\nname = 'One at a time'\ntype = 'concurrency'\nmax = 1\n";

fn event(version: &str, status: &str) -> DeploymentEvent {
    DeploymentEvent::new("api", version, "production", status)
}

fn shared(dir: &std::path::Path) -> (String, Versioner) {
    let location = common::new_location(dir);
    let vr = common::open(&location);
    vr.apply_policy_text(ONE_AT_A_TIME, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    (location, vr)
}

/// Waits (up to 20 s) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let begun = Instant::now();
    while !f() {
        assert!(begun.elapsed() < Duration::from_secs(20), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn queued(vr: &Versioner) -> Vec<(u32, String)> {
    vr.queue(Some("Production"))
        .unwrap()
        .into_iter()
        .map(|e| (e.position, e.version))
        .collect()
}

type Waiter = std::thread::JoinHandle<versioner_core::Result<versioner_core::Deployment>>;

fn waiter(vr: &Versioner, version: &str, seen: Arc<Mutex<Vec<WaitStatus>>>) -> Waiter {
    let vr = vr.clone();
    let ev = event(version, "started");
    std::thread::spawn(move || {
        vr.track_deployment_waiting(&ev, Duration::from_secs(60), &mut |s| {
            seen.lock().unwrap().push(s.clone());
        })
    })
}

#[test]
fn three_deployments_go_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let (_, vr) = shared(dir.path());
    vr.track_deployment_waiting(
        &event("1.0", "started"),
        Duration::from_secs(60),
        &mut |_| {},
    )
    .unwrap();

    let seen_b = Arc::new(Mutex::new(Vec::new()));
    let b = waiter(&vr, "1.1", seen_b.clone());
    eventually("B queued", || queued(&vr) == vec![(1, "1.1".to_string())]);
    let seen_c = Arc::new(Mutex::new(Vec::new()));
    let c = waiter(&vr, "1.2", seen_c.clone());
    eventually("C queued behind B", || queued(&vr).len() == 2);
    assert_eq!(
        queued(&vr),
        vec![(1, "1.1".to_string()), (2, "1.2".to_string())]
    );
    eventually("both report their place", || {
        !seen_b.lock().unwrap().is_empty() && !seen_c.lock().unwrap().is_empty()
    });
    let b_first = seen_b.lock().unwrap()[0].clone();
    assert_eq!(
        (b_first.position, b_first.code),
        (
            1,
            Some(versioner_core::policy::BlockCode::ConcurrentDeployment)
        )
    );
    assert!(
        b_first.message.contains("deployment in progress"),
        "{}",
        b_first.message
    );
    let c_first = seen_c.lock().unwrap()[0].clone();
    assert_eq!(
        (c_first.position, c_first.queue_length, c_first.code),
        (2, 2, None)
    );
    assert!(
        c_first.message.contains("1 deployment queued earlier"),
        "{}",
        c_first.message
    );

    // A completes: B goes, C waits on, now at the head.
    vr.track_deployment(&event("1.0", "completed")).unwrap();
    let deployed_b = b.join().unwrap().unwrap();
    assert_eq!(
        (deployed_b.version.as_str(), deployed_b.status),
        ("1.1", Status::Started)
    );
    assert_eq!(queued(&vr), vec![(1, "1.2".to_string())]);
    assert!(!c.is_finished());

    // B completes: C goes.
    vr.track_deployment(&event("1.1", "completed")).unwrap();
    let deployed_c = c.join().unwrap().unwrap();
    assert_eq!(deployed_c.version, "1.2");
    assert!(deployed_c.started_at >= deployed_b.started_at);
    assert!(queued(&vr).is_empty());
}

#[test]
fn a_wait_past_its_limit_fails_with_the_block_and_leaves_no_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let (_, vr) = shared(dir.path());
    vr.track_deployment(&event("1.0", "started")).unwrap();
    let begun = Instant::now();
    let mut polls = 0;
    let err = vr
        .track_deployment_waiting(
            &event("1.1", "started"),
            Duration::from_secs(2),
            &mut |_| polls += 1,
        )
        .unwrap_err();
    assert!(begun.elapsed() >= Duration::from_secs(2));
    assert!(polls >= 1);
    assert_eq!(err.code(), ErrorCode::ConcurrentDeployment);
    assert!(err.verdict().is_some());
    assert!(vr.queue(None).unwrap().is_empty());
    // Nothing recorded for 1.1.
    let history = vr.history(&Default::default()).unwrap();
    assert!(history.iter().all(|d| d.version == "1.0"), "{history:?}");
}

#[test]
fn a_block_time_cannot_clear_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let location = common::new_location(dir.path());
    let vr = common::open(&location);
    vr.apply_policy_text(
        "[[rules]]\nname = 'Staging first'\ntype = 'flow'\nenvironments = ['production']\nprerequisites = ['staging']\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    let begun = Instant::now();
    let err = vr
        .track_deployment_waiting(
            &event("1.0", "started"),
            Duration::from_secs(30),
            &mut |_| panic!("a block time cannot clear is not waited for"),
        )
        .unwrap_err();
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert_eq!(err.code(), ErrorCode::FlowViolation);
    assert!(vr.queue(None).unwrap().is_empty());
    assert!(vr.history(&Default::default()).unwrap().is_empty());

    // A wait over the limit is refused up front, naming `wait`; nothing is written.
    let err = vr
        .track_deployment_waiting(
            &event("1.0", "started"),
            Duration::from_secs(3601),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("wait"), "{err}");
    assert!(vr.history(&Default::default()).unwrap().is_empty());

    // Other statuses are tracked at once.
    let d = vr
        .track_deployment_waiting(
            &event("1.0", "pending"),
            Duration::from_secs(30),
            &mut |_| panic!("not waited for"),
        )
        .unwrap();
    assert_eq!(d.status, Status::Pending);
}

/// Run as a child process by `a_dead_waiter_does_not_hold_up_the_queue`: waits, to be killed.
#[test]
fn child_waiter() {
    let Ok(location) = std::env::var("VERSIONER_TEST_QUEUE_CHILD") else {
        return;
    };
    let vr = common::open(&location);
    let _ = vr.track_deployment_waiting(
        &event("1.1", "started"),
        Duration::from_secs(60),
        &mut |_| {},
    );
}

#[test]
fn a_dead_waiter_does_not_hold_up_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (location, vr) = shared(dir.path());
    vr.track_deployment(&event("1.0", "started")).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_waiter", "--nocapture", "--test-threads=1"])
        .env("VERSIONER_TEST_QUEUE_CHILD", &location)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("the child queued", || queued(&vr).len() == 1);
    child.kill().unwrap();
    child.wait().unwrap();
    // Its ticket goes stale and is no longer shown...
    eventually("the dead ticket is left out", || queued(&vr).is_empty());
    // ...and does not hold up the next waiter, which removes it.
    vr.track_deployment(&event("1.0", "completed")).unwrap();
    let begun = Instant::now();
    let d = vr
        .track_deployment_waiting(
            &event("1.2", "started"),
            Duration::from_secs(30),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(d.version, "1.2");
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert!(vr.queue(None).unwrap().is_empty());
}

const FREEZE: &str = "[[rules]]\nname = 'Freeze'\ntype = 'schedule'\ntimezone = 'UTC'\nwindows = [{ recurrence = 'daily', start = '09:00', end = '10:00' }]\n";

fn frozen_at(at: &str) -> (versioner_core::ManualClock, Versioner) {
    let clock = versioner_core::ManualClock::new(at.parse().unwrap());
    let vr = common::fresh().with_clock(Arc::new(clock.clone()));
    vr.apply_policy_text(FREEZE, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    (clock, vr)
}

#[test]
fn a_window_is_waited_out_until_its_retry_after() {
    let (clock, vr) = frozen_at("2026-11-20T09:59:30Z");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = waiter(&vr, "1.0", seen.clone());
    eventually("the waiter reports the window", || {
        !seen.lock().unwrap().is_empty()
    });
    let first = seen.lock().unwrap()[0].clone();
    assert_eq!(
        first.code,
        Some(versioner_core::policy::BlockCode::NoDeployWindow)
    );
    assert_eq!(
        first.retry_after,
        Some("2026-11-20T10:00:00Z".parse().unwrap())
    );
    assert!(
        first
            .message
            .starts_with("waiting until 2026-11-20T10:00:00"),
        "{}",
        first.message
    );
    clock.set("2026-11-20T10:00:01Z".parse().unwrap());
    let d = w.join().unwrap().unwrap();
    assert_eq!(d.version, "1.0");
    assert!(vr.queue(None).unwrap().is_empty());
}

#[test]
fn a_window_ending_past_the_limit_fails_at_once() {
    let (_clock, vr) = frozen_at("2026-11-20T09:00:00Z");
    let begun = Instant::now();
    let err = vr
        .track_deployment_waiting(
            &event("1.0", "started"),
            Duration::from_secs(60),
            &mut |_| panic!("an hour's window is not waited out in a minute"),
        )
        .unwrap_err();
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert_eq!(err.code(), ErrorCode::NoDeployWindow);
    assert!(vr.queue(None).unwrap().is_empty());
    assert!(vr.history(&Default::default()).unwrap().is_empty());
}
