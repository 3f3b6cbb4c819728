//! `POST /deployment-events/?wait=` waits server-side in the environment's queue instead of
//! failing, past the request timeout; `GET /queue` shows the waiters; a bad `wait` is a 422
//! located in the query, and nothing is written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{DeploymentEvent, Versioner};
use versioner_server::{AppState, Role, ServerOptions, router};

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn started(version: &str) -> Value {
    serde_json::json!({"product_name": "api", "version": version, "environment_name": "production", "status": "started"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_event_waits_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    vr.apply_policy_text(
        "[[rules]]\nname = 'One at a time'\ntype = 'concurrency'\nmax = 1\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "setup",
    )
    .unwrap();
    let ci = vr.create_api_key("runner", Role::Ci).unwrap().secret;
    let viewer = vr.create_api_key("vera", Role::Viewer).unwrap().secret;
    // A request timeout shorter than the wait: the wait is added to it.
    let app = router(AppState::new(
        vr.clone(),
        ServerOptions::default().request_timeout(Duration::from_secs(1)),
    ));
    vr.track_deployment(&DeploymentEvent::new("api", "1.0", "production", "started"))
        .unwrap();

    // Bad waits: 422 naming `wait` in the query, nothing written.
    for bad in ["2h", "soon", "3601"] {
        let (status, body) = call(
            &app,
            "POST",
            &format!("/deployment-events/?wait={bad}"),
            &ci,
            Some(started("1.1")),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "INVALID_INPUT", "{body}");
        assert_eq!(
            body["detail"][0]["loc"],
            serde_json::json!(["query", "wait"]),
            "{body}"
        );
    }
    assert_eq!(vr.history(&Default::default()).unwrap().len(), 1);

    // A wait past its limit: the block, after the limit.
    let begun = Instant::now();
    let (status, body) = call(
        &app,
        "POST",
        "/deployment-events/?wait=1",
        &ci,
        Some(started("1.1")),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["detail"]["code"], "CONCURRENT_DEPLOYMENT", "{body}");
    assert!(begun.elapsed() >= Duration::from_secs(1));

    // A waiter shows in the queue and goes when the deployment in progress finishes.
    let waiting = {
        let app = app.clone();
        let ci = ci.clone();
        tokio::spawn(async move {
            call(
                &app,
                "POST",
                "/deployment-events/?wait=30s",
                &ci,
                Some(started("1.1")),
            )
            .await
        })
    };
    let begun = Instant::now();
    loop {
        let (status, body) =
            call(&app, "GET", "/queue?environment=production", &viewer, None).await;
        assert_eq!(status, 200, "{body}");
        if body.as_array().is_some_and(|a| a.len() == 1) {
            assert_eq!(body[0]["position"], 1, "{body}");
            assert_eq!(body[0]["version"], "1.1", "{body}");
            assert_eq!(body[0]["waiter"], "runner", "{body}");
            break;
        }
        assert!(
            begun.elapsed() < Duration::from_secs(10),
            "never queued: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past the 1 s request timeout, still waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0",
        "production",
        "completed",
    ))
    .unwrap();
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], "1.1", "{body}");
    let (_, body) = call(&app, "GET", "/queue", &viewer, None).await;
    assert_eq!(body, serde_json::json!([]));
}
