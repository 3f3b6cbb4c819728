//! `POST /import` and `GET /export`: admin only; a malformed line is a 400 naming it, an
//! invalid one a 422 naming it, nothing written either way; a dry run writes nothing; the
//! export is the file the import reads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;
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
        req = req.header("content-type", "application/x-ndjson");
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

const HISTORY: &str = concat!(
    r#"{"kind":"build","product_name":"api","version":"1.0.0","status":"completed","completed_at":"2026-11-01T09:00:00Z"}"#,
    "\n",
    r#"{"kind":"deployment","product_name":"api","version":"1.0.0","environment_name":"production","status":"completed","started_at":"2026-11-01T10:00:00Z","completed_at":"2026-11-01T10:05:00Z"}"#,
    "\n",
);

#[tokio::test]
async fn import_and_export_are_for_admins_and_name_the_failing_line() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let admin = vr.create_api_key("ada", Role::Admin).unwrap().secret;
    let sre = vr.create_api_key("sam", Role::Sre).unwrap().secret;
    let app = router(AppState::new(vr.clone(), ServerOptions::default()));

    // Not an admin: 403, for both.
    let (s, _, body) = send(&app, "POST", "/import", &sre, Some(HISTORY)).await;
    assert_eq!(s, 403, "{body}");
    let (s, _, _) = send(&app, "GET", "/export", &sre, None).await;
    assert_eq!(s, 403);

    // Malformed JSON on line 2: 400 naming it; nothing written.
    let bad = format!("{}\n{{\"kind\": \n", HISTORY.lines().next().unwrap());
    let (s, _, body) = send(&app, "POST", "/import", &admin, Some(&bad)).await;
    assert_eq!(s, 400, "{body}");
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["code"], "INVALID_INPUT");
    assert!(err["detail"].as_str().unwrap().contains("line 2"), "{body}");
    // An invalid line 1: 422 naming it.
    let invalid = HISTORY.replace(
        r#""status":"completed","completed_at""#,
        r#""status":"done","completed_at""#,
    );
    let (s, _, body) = send(&app, "POST", "/import", &admin, Some(&invalid)).await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("line 1"), "{body}");
    assert!(vr.products().unwrap().is_empty());

    // A dry run reports and writes nothing.
    let (s, _, body) = send(&app, "POST", "/import?dry_run=true", &admin, Some(HISTORY)).await;
    assert_eq!(s, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["deployments"], 1);
    assert!(vr.products().unwrap().is_empty());

    // The import, then the same again: skipped.
    let (s, _, body) = send(&app, "POST", "/import", &admin, Some(HISTORY)).await;
    assert_eq!(s, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (report["builds"].as_u64(), report["deployments"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, _, body) = send(&app, "POST", "/import", &admin, Some(HISTORY)).await;
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["skipped"], 2, "{body}");

    // The export is JSON Lines the import reads: one line per record.
    let (s, ct, body) = send(&app, "GET", "/export", &admin, None).await;
    assert_eq!(s, 200);
    assert_eq!(ct, "application/x-ndjson");
    assert_eq!(body.lines().count(), 2, "{body}");
    let fresh = Versioner::open(dir.path().join("copy.db")).unwrap();
    let key = fresh.create_api_key("ada", Role::Admin).unwrap().secret;
    let copy = router(AppState::new(fresh.clone(), ServerOptions::default()));
    let (s, _, _) = send(&copy, "POST", "/import", &key, Some(&body)).await;
    assert_eq!(s, 200);
    assert_eq!(
        fresh.state(None).unwrap().version("api", "production"),
        Some("1.0.0")
    );
}
