//! `GET /calendar.ics`: the effective calendar as an iCalendar feed, for viewers; a bad
//! parameter is `INVALID_INPUT` (422), a key without the read permission is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use axum::body::{Body, to_bytes};
use axum::http::Request;
use tower::ServiceExt;
use versioner_core::Versioner;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_server::{AppState, Role, ServerOptions, router};

const POLICY: &str = r#"
[[rules]]
name = "Weekend freeze"
type = "schedule"
timezone = "America/New_York"
environments = ["production"]
windows = [{ recurrence = "weekly", start = "fri 17:00", end = "mon 08:00" }]
"#;

async fn get(app: &axum::Router, path: &str, key: &str) -> (u16, String, String) {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn viewers_get_the_calendar_as_icalendar() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "setup")
        .unwrap();
    let viewer = vr.create_api_key("vera", Role::Viewer).unwrap().secret;
    let ci = vr.create_api_key("runner", Role::Ci).unwrap().secret;
    let app = router(AppState::new(vr, ServerOptions::default()));

    let (status, ctype, body) = get(
        &app,
        "/calendar.ics?environment=production&days=30",
        &viewer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ctype, "text/calendar; charset=utf-8");
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
    assert!(
        body.contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"),
        "{body}"
    );
    assert!(body.contains("DTSTART;TZID=America/New_York:"), "{body}");
    assert!(
        body.contains("SUMMARY:Deploy freeze: Weekend freeze\r\n"),
        "{body}"
    );
    let events = body.matches("BEGIN:VEVENT").count();
    assert!(
        (4..=5).contains(&events),
        "four or five weekends in 30 days: {body}"
    );

    // Another environment: no rule applies, no event.
    let (status, _, body) = get(&app, "/calendar.ics?environment=staging", &viewer).await;
    assert_eq!(status, 200);
    assert!(!body.contains("BEGIN:VEVENT"), "{body}");

    let (status, _, body) = get(&app, "/calendar.ics?days=0", &viewer).await;
    assert_eq!(status, 422, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "INVALID_INPUT", "{body}");
    assert!(body.contains("days"), "{body}");

    let (status, _, body) = get(&app, "/calendar.ics", &ci).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn post_rules_lint_reports_findings() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let viewer = vr.create_api_key("vera", Role::Viewer).unwrap().secret;
    let app = router(AppState::new(vr, ServerOptions::default()));
    let policy = "[[rules]]\nname = \"Twice\"\ntype = \"schedule\"\nwindows = [\n { recurrence = \"daily\", start = \"22:00\", end = \"06:00\" },\n { recurrence = \"daily\", start = \"22:00\", end = \"06:00\" },\n]\n";
    let send = |body: serde_json::Value| {
        let app = app.clone();
        let viewer = viewer.clone();
        async move {
            let req = Request::builder()
                .method("POST")
                .uri("/rules/lint")
                .header("authorization", format!("Bearer {viewer}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            )
        }
    };
    let (status, body) = send(serde_json::json!({"policy": policy})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["findings"][0]["check"], "duplicate_window", "{body}");
    assert_eq!(body["findings"][0]["severity"], "error", "{body}");
    assert_eq!(body["findings"][0]["field"], "windows[1]", "{body}");
    // The policy in force: none, nothing found.
    let (status, body) = send(serde_json::json!({})).await;
    assert_eq!((status, body), (200, serde_json::json!({"findings": []})));
    let (status, body) = send(serde_json::json!({"policy": "[[rules]\nname="})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "INVALID_INPUT", "{body}");
}
