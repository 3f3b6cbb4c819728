//! Notifications through the server: the legacy shapes of `POST /notification-channels/` and
//! `POST /notification-preferences/`, secrets never returned, who may configure, refusals that
//! write nothing, and the delivery worker of `versioner serve` sending a signed webhook to a
//! local receiver (axum), with the test notification and the history.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, Request};
use serde_json::{Value, json};
use tower::ServiceExt;
use versioner_core::notify::payload::verify;
use versioner_core::{DeliveryOptions, Versioner};
use versioner_server::{AppState, Role, ServerOptions, delivery, router};

struct Answer {
    status: u16,
    body: Value,
}

async fn send(app: &Router, method: &str, path: &str, key: &str, body: Option<Value>) -> Answer {
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
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A local webhook receiver answering 200.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_preferences_and_delivery_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let admin = vr.create_api_key("root", Role::Admin).unwrap().secret;
    let sre = vr.create_api_key("sam", Role::Sre).unwrap().secret;
    let dev = vr.create_api_key("devi", Role::Developer).unwrap().secret;
    let ci = vr.create_api_key("ci", Role::Ci).unwrap().secret;
    let state = AppState::new(vr.clone(), ServerOptions::default());
    let app = router(state.clone());
    let (url, got) = receiver().await;

    // Who may configure: admins and SREs; a developer is refused and nothing is written.
    let body = json!({"name": "ci hook", "channel_type": "webhook",
                      "config": {"url": url, "secret": "s3cret"}});
    let refused = send(
        &app,
        "POST",
        "/notification-channels/",
        &dev,
        Some(body.clone()),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["code"], "FORBIDDEN");
    let bad = send(
        &app,
        "POST",
        "/notification-channels/",
        &admin,
        Some(json!({"name": "x", "channel_type": "webhook", "config": {"url": "ftp://x"}})),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["detail"][0]["loc"][1], "config.url");
    let list = send(&app, "GET", "/notification-channels/", &admin, None).await;
    assert_eq!(list.body, json!([]), "nothing written");

    let created = send(&app, "POST", "/notification-channels/", &sre, Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["config"]["secret"], "********");
    assert_eq!(created.body["channel_type"], "webhook");
    let id = created.body["id"].as_str().unwrap().to_string();
    let list = send(&app, "GET", "/notification-channels/", &admin, None).await;
    assert!(!list.body.to_string().contains("s3cret"));

    let pref = send(
        &app,
        "POST",
        "/notification-preferences/",
        &admin,
        Some(json!({"channel_id": id, "event_type": "*",
                    "filters": {"environments": ["production"], "products": [], "statuses": []}})),
    )
    .await;
    assert_eq!(pref.status, 201, "{}", pref.body);
    let bad_type = send(
        &app,
        "POST",
        "/notification-preferences/",
        &admin,
        Some(json!({"channel_id": id, "event_type": "deployment.exploded"})),
    )
    .await;
    assert_eq!(bad_type.status, 422);
    let prefs = send(&app, "GET", "/notification-preferences/", &admin, None).await;
    assert_eq!(prefs.body.as_array().unwrap().len(), 1);

    // The worker delivers what is recorded from now on.
    let mut options = DeliveryOptions::new();
    options.backoff = Duration::from_millis(20);
    let worker = delivery::spawn_for(&state, options, Duration::from_millis(50));
    for env in ["staging", "production"] {
        let ev = send(
            &app,
            "POST",
            "/deployment-events/",
            &ci,
            Some(json!({"product_name": "api", "version": "1.0.0",
                        "environment_name": env, "status": "success"})),
        )
        .await;
        assert_eq!(ev.status, 200, "{}", ev.body);
    }
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "only production matches the filter");
        let (headers, body) = &got[0];
        assert_eq!(headers["x-versioner-event"], "deployment.completed");
        assert_eq!(headers["content-type"], "application/json");
        let sig = headers["x-versioner-signature"].to_str().unwrap();
        assert!(verify("s3cret", body, sig));
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["environment"], "production");
        assert_eq!(v["is_successful"], true);
    }
    let history = send(&app, "GET", "/notification-history/", &dev, None).await;
    assert_eq!(history.status, 200);
    assert_eq!(history.body[0]["status"], "delivered");
    assert_eq!(history.body[0]["response_code"], 200);

    // The server's metrics count what its worker delivered, by channel.
    let resp = app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/metrics")
                .header("authorization", format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let metrics = String::from_utf8(
        to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for line in [
        r#"versioner_notification_deliveries_total{channel="ci hook",outcome="delivered"} 1"#,
        r#"versioner_notification_attempts_total{channel="ci hook"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing `{line}` in:\n{metrics}"
        );
    }

    // The test notification, by name.
    let test = send(
        &app,
        "POST",
        "/notification-channels/ci%20hook/test",
        &admin,
        None,
    )
    .await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert_eq!(test.body["status"], "delivered");
    assert_eq!(got.lock().unwrap()[1].0["x-versioner-event"], "test");
    let parked = send(
        &app,
        "GET",
        "/notification-history/?status=parked",
        &admin,
        None,
    )
    .await;
    assert_eq!(parked.body, json!([]));

    let gone = send(
        &app,
        "DELETE",
        &format!("/notification-channels/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    let again = send(
        &app,
        "DELETE",
        &format!("/notification-channels/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["code"], "NOT_FOUND");
    worker.abort();
}

#[tokio::test]
async fn variables_and_deployment_buttons_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let admin = vr.create_api_key("root", Role::Admin).unwrap().secret;
    let viewer = vr.create_api_key("vic", Role::Viewer).unwrap().secret;
    let mut b = versioner_core::BuildEvent::new("api", "1.2.0", "completed");
    b.scm_sha = Some("1a2b3c4d".into());
    vr.track_build(&b).unwrap();
    let app = router(AppState::new(vr, ServerOptions::default()));

    let refused = send(
        &app,
        "POST",
        "/variables/",
        &viewer,
        Some(json!({"name": "jenkins", "value": "ci.example.com"})),
    )
    .await;
    assert_eq!(refused.status, 403);
    let reserved = send(
        &app,
        "POST",
        "/variables/",
        &admin,
        Some(json!({"name": "vi_version", "value": "x"})),
    )
    .await;
    assert_eq!(reserved.status, 422);
    assert_eq!(reserved.body["detail"][0]["loc"][1], "name");
    let set = send(
        &app,
        "POST",
        "/variables/",
        &admin,
        Some(json!({"name": "jenkins", "value": "ci.example.com"})),
    )
    .await;
    assert_eq!(set.status, 201, "{}", set.body);
    let button = send(
        &app,
        "POST",
        "/deployment-buttons/",
        &admin,
        Some(json!({"product": "api", "name": "Deploy",
                    "url_template": "https://{jenkins}/deploy?v={vi_version}&sha={vi_sha}&note={note}",
                    "environments": ["production"]})),
    )
    .await;
    assert_eq!(button.status, 201, "{}", button.body);
    let rendered = send(
        &app,
        "GET",
        "/products/api/versions/1.2.0/buttons",
        &viewer,
        None,
    )
    .await;
    assert_eq!(rendered.status, 200);
    assert_eq!(rendered.body[0]["error"], "Missing variable: note");
    let note = send(
        &app,
        "POST",
        "/variables/",
        &admin,
        Some(json!({"name": "note", "value": "a&b #1", "product": "api"})),
    )
    .await;
    assert_eq!(note.status, 201);
    let rendered = send(
        &app,
        "GET",
        "/products/api/versions/1.2.0/buttons",
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        rendered.body[0]["url"],
        "https://ci.example.com/deploy?v=1.2.0&sha=1a2b3c4d&note=a%26b%20%231"
    );
    let id = button.body["id"].as_str().unwrap();
    let gone = send(
        &app,
        "DELETE",
        &format!("/deployment-buttons/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    let list = send(&app, "GET", "/variables/?product=api", &viewer, None).await;
    assert_eq!(list.body[0]["name"], "note");
}
