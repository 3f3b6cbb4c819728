//! In-process subscriptions: called after commit, in order, never for refused work, and a
//! panicking callback neither fails the operation nor stops the subscription.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{BuildEvent, DeploymentEvent, ErrorCode, EventType};

#[test]
fn subscribers_see_committed_events_in_order_but_never_refused_work() {
    let vr = common::fresh();
    vr.apply_policy_text(
        "[[rules]]\nname = \"Staging first\"\ntype = \"flow\"\nenvironments = [\"production\"]\nprerequisites = [\"staging\"]\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "admin",
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let sub = vr
        .subscribe(move |e| {
            if e.event_type == EventType::BuildStarted {
                panic!("a failing subscriber");
            }
            let _ = tx.send((e.seq, e.event_type));
        })
        .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "started"))
        .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    let refused = vr
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.0.0",
            "production",
            "started",
        ))
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::FlowViolation);
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "staging",
        "completed",
    ))
    .unwrap();
    let got: Vec<(i64, EventType)> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        [EventType::BuildCompleted, EventType::DeploymentCompleted]
    );
    assert!(got[0].0 < got[1].0);
    sub.cancel();
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
}
