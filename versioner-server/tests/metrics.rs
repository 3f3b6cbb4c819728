//! `GET /metrics`: admin only; requests by route template (never the raw path), latency
//! histograms, preflight outcomes by code, the outbox position and channel lag. The Python
//! suite (`versioner-py/tests/test_client.py`) parses it with an OpenMetrics parser.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::json;
use tower::ServiceExt;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{Role, Versioner};
use versioner_server::{AppState, ServerOptions, router};

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let resp = app
        .clone()
        .oneshot(
            req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, ct, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_preflights_by_code_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    vr.apply_policy_text(
        "[[rules]]\nname = 'Staging first'\ntype = 'flow'\nenvironments = ['production']\nprerequisites = ['staging']\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    let admin = vr.create_api_key("ada", Role::Admin).unwrap().secret;
    let sre = vr.create_api_key("sam", Role::Sre).unwrap().secret;
    let app = router(AppState::new(vr, ServerOptions::default()));
    let event = |env: &str, status: &str| {
        json!({"product_name": "api", "version": "1", "environment_name": env, "status": status})
            .to_string()
    };
    let (s, _, _) = send(
        &app,
        "POST",
        "/deployment-events/",
        &admin,
        Some(&event("production", "started")),
    )
    .await;
    assert_eq!(s, 428);
    let (s, _, _) = send(
        &app,
        "POST",
        "/deployment-events/",
        &admin,
        Some(&event("staging", "started")),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = send(&app, "GET", "/products/nope%2Fweird", &admin, None).await;
    assert_eq!(s, 404);
    let (s, _, _) = send(&app, "GET", "/no/such/route", &admin, None).await;
    assert_eq!(s, 404);

    let (s, _, body) = send(&app, "GET", "/metrics", &sre, None).await;
    assert_eq!(s, 403, "{body}");
    let (s, ct, body) = send(&app, "GET", "/metrics", &admin, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        ct,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    for line in [
        "# TYPE versioner_http_requests counter",
        r#"versioner_http_requests_total{method="POST",route="/deployment-events/",status="428"} 1"#,
        r#"versioner_http_requests_total{method="POST",route="/deployment-events/",status="200"} 1"#,
        r#"versioner_http_requests_total{method="GET",route="/products/{product}",status="404"} 1"#,
        r#"versioner_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"versioner_http_requests_total{method="GET",route="/metrics",status="403"} 1"#,
        "# TYPE versioner_http_request_duration_seconds histogram",
        r#"versioner_preflight_decisions_total{outcome="blocked",code="FLOW_VIOLATION"} 1"#,
        r#"versioner_preflight_decisions_total{outcome="passed",code=""} 1"#,
        "# TYPE versioner_outbox_last_seq gauge",
        // SQLite: a writer and a reader connection, idle between transactions.
        r#"versioner_db_connections{state="idle"} 2"#,
        r#"versioner_db_connections{state="in_use"} 0"#,
        "versioner_db_connections_max 2",
        // One request at a time: no transaction was shared.
        "versioner_db_group_commits_total 0",
        "# EOF",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing `{line}` in:\n{body}"
        );
    }
    assert!(
        !body.contains("weird"),
        "raw paths never become labels: {body}"
    );
}
