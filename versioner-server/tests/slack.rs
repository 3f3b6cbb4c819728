//! The Slack app (`POST /integrations/slack/commands`): Slack's `v0` signature and timestamp
//! are checked before anything runs; replies are Block Kit; mapped users act as their
//! principal, unmapped ones only read.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::request::SlotStatus;
use versioner_core::{
    ApiKeyRequest, BuildEvent, DeploymentEvent, RequestAction, RequestActionRequest, RequestDraft,
    Role, SlotSpec, Versioner,
};
use versioner_server::slack::SlackConfig;
use versioner_server::slack::signature::sign;
use versioner_server::{AppState, ServerOptions, router};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const PATH: &str = "/integrations/slack/commands";

fn form(user: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "ignored"),
        ("team_id", "T1"),
        ("user_id", user),
        ("command", "/versioner"),
        ("text", text),
        ("response_url", "https://hooks.slack.com/commands/T1/1/x"),
    ])
    .unwrap()
}

async fn post(app: &Router, body: &str, timestamp: i64, signature: &str) -> (u16, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", signature)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A correctly signed command from `user`.
async fn command(app: &Router, user: &str, text: &str) -> Value {
    let body = form(user, text);
    let now = chrono::Utc::now().timestamp();
    let (status, reply) = post(app, &body, now, &sign(SECRET, now, body.as_bytes())).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["response_type"], "ephemeral");
    assert!(reply["blocks"].as_array().is_some_and(|b| !b.is_empty()));
    reply
}

/// Every mrkdwn text of a reply, joined.
fn text(reply: &Value) -> String {
    reply["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| {
            b["text"]["text"]
                .as_str()
                .map(str::to_string)
                .or_else(|| b["elements"][0]["text"].as_str().map(str::to_string))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn setup() -> (tempfile::TempDir, Versioner, Router) {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    vr.apply_policy_text(
        "[[rules]]\nname = 'Staging first'\ntype = 'flow'\nenvironments = ['production']\nprerequisites = ['staging']\n",
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "t",
    )
    .unwrap();
    vr.create_key(
        &ApiKeyRequest::new("dana-key")
            .principal("dana")
            .role(Role::Qa),
    )
    .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.2.0", "completed"))
        .unwrap();
    for (version, env, status) in [
        ("1.1.0", "staging", "completed"),
        ("1.1.0", "production", "completed"),
        ("1.2.0", "staging", "completed"),
        ("1.3.0", "staging", "failed"),
    ] {
        let mut e = DeploymentEvent::new("api", version, env, status);
        e.deployed_by = Some("ci-bot".into());
        vr.track_deployment(&e).unwrap();
    }
    let users = BTreeMap::from([
        ("UDANA".to_string(), "Dana".to_string()),
        ("UGHOST".to_string(), "ghost".to_string()),
    ]);
    let options = ServerOptions::default()
        .slack(SlackConfig::new(SECRET, users))
        .public_url(Some("https://versioner.example.com/".into()));
    let app = router(AppState::new(vr.clone(), options));
    (dir, vr, app)
}

#[tokio::test]
async fn signatures_and_timestamps_are_checked_before_anything_runs() {
    let (_dir, vr, app) = setup();
    let before = vr
        .history(&versioner_core::HistoryQuery::new())
        .unwrap()
        .len();
    let body = form("UDANA", "status");
    let now = chrono::Utc::now().timestamp();
    let good = sign(SECRET, now, body.as_bytes());

    let (s, reply) = post(&app, &body, now, &good).await;
    assert_eq!(s, 200, "{reply}");

    for (ts, sig, want) in [
        // Signed with another secret.
        (now, sign("another", now, body.as_bytes()), "does not match"),
        // Signed over another body.
        (now, sign(SECRET, now, b"text=history"), "does not match"),
        // A replay: the right signature, a new timestamp.
        (now + 1, good.clone(), "does not match"),
        // Stale: signed correctly six minutes ago.
        (
            now - 360,
            sign(SECRET, now - 360, body.as_bytes()),
            "more than 5 minutes",
        ),
        // From the future.
        (
            now + 360,
            sign(SECRET, now + 360, body.as_bytes()),
            "more than 5 minutes",
        ),
        (now, String::new(), "does not match"),
        (now, "v0=nothex".into(), "does not match"),
    ] {
        let (s, err) = post(&app, &body, ts, &sig).await;
        assert_eq!(s, 401, "{sig}: {err}");
        assert_eq!(err["code"], "UNAUTHORIZED");
        assert!(err["message"].as_str().unwrap().contains(want), "{err}");
        assert!(!err.to_string().contains(SECRET));
    }
    // A missing timestamp header.
    let req = Request::builder()
        .method("POST")
        .uri(PATH)
        .header("x-slack-signature", &good)
        .body(Body::from(body.clone()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    // Unsigned attempts to approve write nothing.
    let (s, _) = post(&app, &form("UDANA", "approve dr_x qa"), now, "v0=00").await;
    assert_eq!(s, 401);
    assert_eq!(
        vr.history(&versioner_core::HistoryQuery::new())
            .unwrap()
            .len(),
        before
    );
}

#[tokio::test]
async fn not_configured_is_a_404() {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let app = router(AppState::new(vr, ServerOptions::default()));
    let body = form("U1", "status");
    let now = chrono::Utc::now().timestamp();
    let (s, err) = post(&app, &body, now, &sign(SECRET, now, body.as_bytes())).await;
    assert_eq!(s, 404);
    assert_eq!(err["code"], "NOT_FOUND");
    assert!(err["message"].as_str().unwrap().contains("--slack-config"));
}

#[tokio::test]
async fn status_history_and_check_answer_anyone() {
    let (_dir, _vr, app) = setup();
    // An unmapped user reads.
    let reply = command(&app, "USTRANGER", "status").await;
    let t = text(&reply);
    assert!(t.contains("*api*"), "{t}");
    assert!(t.contains("• production: `1.1.0`"), "{t}");
    assert!(t.contains("• staging: `1.2.0`"), "{t}");
    assert!(t.contains("❌ `1.3.0` failed"), "{t}");
    assert!(t.contains("by ci-bot"), "{t}");
    assert!(t.contains("<https://versioner.example.com/ui|"), "{t}");

    let t = text(&command(&app, "USTRANGER", "status API").await);
    assert!(t.contains("Deployment status of api"), "{t}");
    assert!(t.contains("/ui/products/api|"), "{t}");

    let t = text(&command(&app, "USTRANGER", "status nope").await);
    assert!(t.starts_with("⚠️"), "{t}");
    assert!(t.contains("nope"), "{t}");

    let t = text(&command(&app, "USTRANGER", "history api staging").await);
    assert!(t.contains("*Deployments of api to staging*"), "{t}");
    assert!(t.contains("❌ `1.3.0` → staging failed"), "{t}");
    assert!(t.contains("✅ `1.2.0` → staging completed"), "{t}");
    assert!(!t.contains("production completed"), "{t}");
    let first = t.find("1.3.0").unwrap();
    assert!(first < t.find("1.2.0").unwrap(), "newest first: {t}");

    // Would 1.2.0 pass to production? Yes (it is in staging); 1.3.0 would not.
    let t = text(&command(&app, "USTRANGER", "check api 1.2.0 production").await);
    assert!(
        t.contains("✅ *api 1.2.0* → *production* would pass"),
        "{t}"
    );
    let t = text(&command(&app, "USTRANGER", "check api 1.3.0 production").await);
    assert!(
        t.contains("⛔ *api 1.3.0* → *production* would be blocked (FLOW_VIOLATION, HTTP 428)"),
        "{t}"
    );
    assert!(t.contains("• *Staging first*:"), "{t}");
    assert!(
        t.contains("/ui/check?product=api&version=1.3.0&environment=production|"),
        "{t}"
    );

    // Help, usage and unknown commands are answered, not errors.
    let t = text(&command(&app, "USTRANGER", "").await);
    assert!(t.contains("/versioner status [PRODUCT]"), "{t}");
    let t = text(&command(&app, "USTRANGER", "check api").await);
    assert!(
        t.contains("Usage: `/versioner check PRODUCT VERSION ENVIRONMENT`"),
        "{t}"
    );
    let t = text(&command(&app, "USTRANGER", "deploy api").await);
    assert!(t.contains("Unknown command `deploy`."), "{t}");
}

#[tokio::test]
async fn approvals_and_decisions_need_a_mapped_principal() {
    let (_dir, vr, app) = setup();
    let mut draft = RequestDraft::new("Ship 1.2.0")
        .version("api", "1.2.0")
        .environment("production");
    draft.slots = vec![SlotSpec::required("qa")];
    draft.created_by = "sam".into();
    let r = vr.create_request(&draft).unwrap();
    vr.act_on_request(
        &r.id,
        &RequestActionRequest::new(RequestAction::Submit, "sam"),
    )
    .unwrap();

    // Unmapped, or mapped to a principal that is not registered: told how to get mapped, and
    // nothing is written.
    for user in ["USTRANGER", "UGHOST"] {
        for cmd in ["approvals", &format!("approve {} qa", r.id)] {
            let t = text(&command(&app, user, cmd).await);
            assert!(t.contains("is not mapped to a Versioner principal"), "{t}");
            assert!(t.contains(user), "{t}");
        }
    }
    assert_eq!(
        vr.request(&r.id).unwrap().slots[0].status,
        SlotStatus::Pending
    );

    // Dana (qa) sees it, and approves it from Slack as herself.
    let t = text(&command(&app, "UDANA", "approvals").await);
    assert!(t.contains("Awaiting your approval (dana)"), "{t}");
    assert!(t.contains("*Ship 1.2.0*"), "{t}");
    assert!(t.contains("Your slots: qa"), "{t}");
    assert!(t.contains(&format!("/ui/requests/{}|", r.id)), "{t}");

    // A type dana's role may not grant is refused by the core, and said.
    let t = text(&command(&app, "UDANA", &format!("approve {} security", r.id)).await);
    assert!(t.starts_with("⚠️"), "{t}");
    assert_eq!(
        vr.request(&r.id).unwrap().slots[0].status,
        SlotStatus::Pending
    );

    let t = text(
        &command(
            &app,
            "UDANA",
            &format!("approve {} qa tested on staging", r.id),
        )
        .await,
    );
    assert!(t.contains("You approved a slot of *Ship 1.2.0*"), "{t}");
    assert!(t.contains("it is now approved"), "{t}");
    let after = vr.request(&r.id).unwrap();
    assert_eq!(after.slots[0].status, SlotStatus::Approved);
    assert_eq!(after.slots[0].decided_by.as_deref(), Some("dana"));
    assert_eq!(after.slots[0].comment.as_deref(), Some("tested on staging"));

    let t = text(&command(&app, "UDANA", "approvals").await);
    assert!(t.contains("Nothing awaits you."), "{t}");
}

#[tokio::test]
async fn hostile_bodies_are_refused_cleanly() {
    let (_dir, _vr, app) = setup();
    let now = chrono::Utc::now().timestamp();
    // Signed, but not a form.
    let body = "%%%=&&\u{0}";
    let (s, reply) = post(&app, body, now, &sign(SECRET, now, body.as_bytes())).await;
    assert!(s == 200 || s == 400, "{s} {reply}");
    // Over the body limit.
    let big = format!("text={}", "a".repeat(70 * 1024));
    let (s, _) = post(&app, &big, now, &sign(SECRET, now, big.as_bytes())).await;
    assert_eq!(s, 413);
    // Markup in names is escaped in replies.
    let body = form("U<!channel>", "approvals");
    let (s, reply) = post(&app, &body, now, &sign(SECRET, now, body.as_bytes())).await;
    assert_eq!(s, 200);
    assert!(!reply.to_string().contains("<!channel>"), "{reply}");
}
