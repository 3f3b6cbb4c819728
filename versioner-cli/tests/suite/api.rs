//! The HTTP API through `router(..).oneshot(..)`: every body checked field by field against the
//! public API reference, so the official clients work against `versioner serve` unchanged.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use versioner_server::routes::ROUTES;
use versioner_server::{Role, ServerOptions, idempotency::REPLAYED};

use crate::support::Fixture;

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(app: &Router, path: &str, key: &str, body: Value) -> Answer {
    send(app, "POST", path, Some(key), Some(&body.to_string()), &[]).await
}

async fn put(app: &Router, path: &str, key: &str, body: &str) -> Answer {
    send(app, "PUT", path, Some(key), Some(body), &[]).await
}

async fn get(app: &Router, path: &str, key: &str) -> Answer {
    send(app, "GET", path, Some(key), None, &[]).await
}

fn is_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[tokio::test]
async fn deployment_event_answers_every_field_the_clients_read() {
    let f = Fixture::new();
    let app = f.router();
    let a = post(
        &app,
        "/deployment-events/",
        &f.deployer,
        json!({
            "product_name": "api", "version": "1.2.0", "environment_name": "staging",
            "status": "SUCCESS", "deployed_by": "dana", "deployed_by_email": "dana@example.com",
            "deployed_by_name": "Dana", "scm_sha": "abc123de", "source_system": "github",
            "deploy_url": "https://ci.example.com/run/1", "build_number": 42,
            "extra_metadata": {"team": "core"}
        }),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let b = &a.body;
    // The CLI reads {id, product_id, version_id, environment_id, status, deployed_at}.
    for k in ["id", "product_id", "version_id", "environment_id"] {
        assert!(b[k].as_str().is_some_and(|s| s.len() == 36), "{k}: {b}");
    }
    assert_eq!(b["status"], "completed", "canonical status");
    assert!(is_time(&b["deployed_at"]));
    // The documented shape and the Action's type.
    assert_eq!(b["product_name"], "api");
    assert_eq!(b["version"], "1.2.0");
    assert_eq!(b["environment_name"], "staging");
    assert_eq!(b["deployed_by"], "dana");
    assert_eq!(b["deployed_by_email"], "dana@example.com");
    assert_eq!(b["deployed_by_name"], "Dana");
    assert_eq!(b["source_system"], "github");
    assert_eq!(b["deploy_url"], "https://ci.example.com/run/1");
    assert_eq!(b["build_number"], "42");
    assert!(is_time(&b["completed_at"]));
    assert_eq!(b["extra_metadata"]["team"], "core");
    // The record is what the server says it is.
    let d = f.vr().deployment(b["id"].as_str().unwrap()).unwrap();
    assert_eq!(d.version_id, b["version_id"].as_str().unwrap());
}

#[tokio::test]
async fn build_events_and_the_legacy_route_answer_the_build() {
    let f = Fixture::new();
    let app = f.router();
    for path in ["/build-events/", "/version-events/"] {
        let a = post(
            &app,
            path,
            &f.deployer,
            json!({
                "product_name": "api", "version": format!("1.0{}", path.len()), "status": "built",
                "build_number": "7", "build_url": "https://ci/7", "scm_sha": "deadbeef",
                "scm_branch": "main", "built_by": "ci", "started_at": "2026-11-21T09:00:00Z"
            }),
        )
        .await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        let b = &a.body;
        for k in ["id", "version_id", "product_id"] {
            assert!(b[k].as_str().is_some_and(|s| s.len() == 36), "{k}");
        }
        assert_eq!(b["status"], "completed");
        assert_eq!(b["product_name"], "api");
        assert_eq!(b["build_number"], "7");
        assert_eq!(b["build_url"], "https://ci/7");
        assert_eq!(b["started_at"], "2026-11-21T09:00:00.000000Z");
        assert!(is_time(&b["completed_at"]) && is_time(&b["created_at"]));
    }
}

#[tokio::test]
async fn a_preflight_rejection_is_nested_under_detail_with_the_rule_named() {
    let f = Fixture::new();
    let app = f.router();
    let a = post(
        &app,
        "/deployment-events/",
        &f.deployer,
        json!({"product_name": "api", "version": "1.0.0", "environment_name": "production", "status": "started"}),
    )
    .await;
    assert_eq!(a.status, 428);
    let d = &a.body["detail"];
    assert_eq!(d["error"], "deployment_blocked");
    assert_eq!(d["code"], "FLOW_VIOLATION");
    assert!(d["message"].as_str().is_some_and(|m| m.contains("staging")));
    assert!(d.as_object().unwrap().contains_key("retry_after"));
    assert!(d["retry_after"].is_null(), "a person must act");
    assert_eq!(d["details"]["rule_name"], "Staging before production");
    assert_eq!(d["details"]["missing_environments"], json!(["staging"]));
    assert_eq!(d["violations"][0]["rule_name"], "Staging before production");
    assert_eq!(d["violations"][0]["code"], "FLOW_VIOLATION");
    assert_eq!(d["verdict"]["decision"], "blocked");
    // Nothing was recorded.
    assert!(
        f.vr()
            .history(&versioner_core::HistoryQuery::new())
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn window_concurrency_and_approval_blocks_carry_their_documented_details() {
    let f = Fixture::new();
    let app = f.router();
    let policy = r#"
[[rules]]
name = "Freeze"
type = "schedule"
environments = ["frozen"]
timezone = "UTC"
reason = "Year-end freeze"
windows = [{ recurrence = "once", start = "2000-01-01T00:00", end = "2100-01-01T00:00" }]

[[rules]]
name = "One at a time"
type = "concurrency"
environments = ["eu-1"]
max = 1

[[rules]]
name = "Two approvals"
type = "release_approval"
environments = ["live"]
required = 2
approver_roles = ["sre"]
"#;
    let a = post(
        &app,
        "/rules/apply",
        &f.admin,
        json!({"policy": policy, "format": "toml", "mode": "merge"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["added"].as_array().unwrap().len(), 3);

    let ev = |env: &str, v: &str| json!({"product_name": "api", "version": v, "environment_name": env, "status": "started"});
    let a = post(&app, "/deployment-events/", &f.deployer, ev("frozen", "1")).await;
    assert_eq!(a.status, 423);
    let d = &a.body["detail"];
    assert_eq!(d["code"], "NO_DEPLOY_WINDOW");
    assert!(
        d["retry_after"]
            .as_str()
            .is_some_and(|t| t.starts_with("2100-01-01T00:00:00")),
        "{d}"
    );
    for k in ["window_name", "window_start", "window_end"] {
        assert!(d["details"][k].is_string(), "{k}: {d}");
    }
    assert_eq!(d["details"]["reason"], "Year-end freeze");
    assert_eq!(d["details"]["rule_name"], "Freeze");

    assert_eq!(
        post(&app, "/deployment-events/", &f.deployer, ev("eu-1", "1"))
            .await
            .status,
        200
    );
    let a = post(&app, "/deployment-events/", &f.deployer, ev("eu-1", "2")).await;
    assert_eq!(a.status, 409);
    let d = &a.body["detail"];
    assert_eq!(d["code"], "CONCURRENT_DEPLOYMENT");
    assert!(d["details"]["conflicting_deployment_id"].is_string());
    assert!(d["details"]["conflicting_deployment_status"].is_string());
    assert!(d["details"]["conflicting_deployment_started"].is_string());

    let a = post(&app, "/deployment-events/", &f.deployer, ev("live", "1")).await;
    assert_eq!(a.status, 428);
    let d = &a.body["detail"];
    assert_eq!(d["code"], "APPROVAL_REQUIRED");
    assert_eq!(d["details"]["required_approvals"], 2);
    assert_eq!(d["details"]["current_approvals"], 0);
    assert_eq!(d["details"]["approver_roles"], json!(["sre"]));
}

#[tokio::test]
async fn report_only_failures_come_back_in_a_200() {
    let f = Fixture::new();
    let app = f.router();
    let rule = json!({"name": "QA sign-off", "type": "version_approval", "status": "report_only", "approval_types": ["qa"]});
    let a = post(&app, "/rules/", &f.admin, rule).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["name"], "QA sign-off");
    let a = post(
        &app,
        "/deployment-events/",
        &f.deployer,
        json!({"product_name": "api", "version": "1", "environment_name": "staging", "status": "started"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let evaluated = a.body["extra_metadata"]["preflight_status"]["rules_evaluated"]
        .as_array()
        .unwrap();
    let qa = evaluated
        .iter()
        .find(|r| r["rule_name"] == "QA sign-off")
        .unwrap();
    assert_eq!(qa["status"], "report_only");
    assert_eq!(qa["evaluation_result"], "failed");
    assert!(qa["error_message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn sha_conflict_validation_and_malformed_json_have_the_reference_bodies() {
    let f = Fixture::with_options(ServerOptions::default().body_limit(4096));
    let app = f.router();
    let build = |sha: &str| json!({"product_name": "api", "version": "1.0.0", "status": "completed", "scm_sha": sha});
    assert_eq!(
        post(&app, "/build-events/", &f.deployer, build("aaaa1111"))
            .await
            .status,
        200
    );
    let a = post(&app, "/build-events/", &f.deployer, build("bbbb2222")).await;
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body["detail"],
        "Version 1.0.0 already exists with different SHA"
    );
    assert_eq!(a.body["code"], "VERSION_CONFLICT");

    let a = post(
        &app,
        "/deployment-events/",
        &f.deployer,
        json!({"version": "1", "environment_name": "x", "status": "started"}),
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["code"], "INVALID_INPUT");
    assert_eq!(a.body["detail"][0]["loc"], json!(["body", "product_name"]));
    assert!(a.body["detail"][0]["msg"].is_string());
    assert_eq!(a.body["detail"][0]["type"], "value_error");

    let a = post(
        &app,
        "/deployment-events/",
        &f.deployer,
        json!({"product_name": ["x"], "version": "1"}),
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["loc"], json!(["body", "product_name"]));

    let a = post(&app, "/deployment-events/", &f.deployer, json!({"product_name": "a", "version": "1", "environment_name": "x", "status": "succeeded"})).await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("status"))
    );

    let a = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.deployer),
        Some("{\"product_name\": "),
        &[],
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON in request body: ")
    );
    assert_eq!(a.body["code"], "INVALID_INPUT");

    let big = format!("{{\"product_name\": \"{}\"}}", "x".repeat(5000));
    for headers in [&[][..], &[("Idempotency-Key", "big-1")][..]] {
        let a = send(
            &app,
            "POST",
            "/build-events/",
            Some(&f.deployer),
            Some(&big),
            headers,
        )
        .await;
        assert_eq!(a.status, 413, "{headers:?}");
        assert_eq!(a.body["code"], "INVALID_INPUT");
        assert!(a.body["detail"].as_str().unwrap().contains("4096"));
    }
}

#[tokio::test]
async fn keys_and_roles_are_enforced_with_the_reference_bodies() {
    let f = Fixture::new();
    let app = f.router();
    let ev = json!({"product_name": "api", "version": "1", "environment_name": "dev", "status": "started"}).to_string();

    let a = send(&app, "POST", "/deployment-events/", None, Some(&ev), &[]).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["detail"], "Invalid API key");
    assert_eq!(a.body["code"], "UNAUTHORIZED");
    assert_eq!(a.headers["www-authenticate"], "Bearer");
    let a = send(
        &app,
        "POST",
        "/deployment-events/",
        Some("sk_vr_wrong"),
        Some(&ev),
        &[],
    )
    .await;
    assert_eq!(
        (a.status, a.body["detail"].as_str()),
        (401, Some("Invalid API key"))
    );

    let a = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.viewer),
        Some(&ev),
        &[],
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.body["detail"],
        "You do not have permission to perform this action"
    );
    assert_eq!(a.body["code"], "FORBIDDEN");
    assert_eq!(get(&app, "/state", &f.viewer).await.status, 200);
    let check = json!({"product_name": "api", "version": "1", "environment_name": "dev"});
    assert_eq!(post(&app, "/check", &f.viewer, check).await.status, 200);

    // The fixture's `approver` key was made with the role of that name of an earlier
    // version, which is now `release_manager`: it may send events.
    assert_eq!(
        send(
            &app,
            "POST",
            "/deployment-events/",
            Some(&f.approver),
            Some(&ev),
            &[]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        send(
            &app,
            "POST",
            "/deployment-events/",
            Some(&f.deployer),
            Some(&ev),
            &[]
        )
        .await
        .status,
        200
    );
    let approval = json!({"product_name": "api", "version": "1", "approval_type": "qa"});
    assert_eq!(
        post(&app, "/approvals/", &f.deployer, approval.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        post(&app, "/approvals/", &f.approver, approval)
            .await
            .status,
        201
    );
    let apply = json!({"policy": {"rules": []}});
    assert_eq!(
        post(&app, "/rules/apply", &f.deployer, apply.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        post(&app, "/rules/apply", &f.admin, apply).await.status,
        200
    );

    for public in ["/health", "/openapi.json"] {
        assert_eq!(
            send(&app, "GET", public, None, None, &[]).await.status,
            200,
            "{public}"
        );
    }
    f.state.versioner().revoke_api_key("dash").unwrap();
    assert_eq!(get(&app, "/state", &f.viewer).await.status, 401);
}

#[tokio::test]
async fn without_auth_every_request_is_accepted() {
    let f = Fixture::open(ServerOptions::default());
    let app = f.router();
    let ev = json!({"product_name": "api", "version": "1", "environment_name": "dev", "status": "completed"}).to_string();
    assert_eq!(
        send(&app, "POST", "/deployment-events/", None, Some(&ev), &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let f = Fixture::new();
    let app = f.router();
    let ev = json!({"product_name": "api", "version": "1", "environment_name": "dev", "status": "started"}).to_string();
    let key = [("Idempotency-Key", "k-1")];
    let first = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.deployer),
        Some(&ev),
        &key,
    )
    .await;
    let second = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.deployer),
        Some(&ev),
        &key,
    )
    .await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.body, second.body);
    assert!(first.headers.get(REPLAYED).is_none());
    assert_eq!(second.headers[REPLAYED], "true");
    let history = f
        .vr()
        .history(&versioner_core::HistoryQuery::new())
        .unwrap();
    assert_eq!(history.len(), 1);

    // A refusal is an answer too: replayed, not re-evaluated.
    let prod = json!({"product_name": "api", "version": "9", "environment_name": "production", "status": "started"}).to_string();
    let k2 = [("Idempotency-Key", "k-2")];
    let a = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.deployer),
        Some(&prod),
        &k2,
    )
    .await;
    let b = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.deployer),
        Some(&prod),
        &k2,
    )
    .await;
    assert_eq!((a.status, b.status), (428, 428));
    assert_eq!(b.headers[REPLAYED], "true");

    // The same key for another request is refused, naming the header.
    let other = ev.replace("\"1\"", "\"2\"");
    let c = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.deployer),
        Some(&other),
        &key,
    )
    .await;
    assert_eq!(c.status, 422);
    assert_eq!(c.body["detail"][0]["loc"][1], "Idempotency-Key");
    // Keys are per caller: the admin's `k-1` is another request.
    let d = send(
        &app,
        "POST",
        "/deployment-events/",
        Some(&f.admin),
        Some(&other),
        &key,
    )
    .await;
    assert_eq!(d.status, 200);
}

#[tokio::test]
async fn queries_rules_approvals_and_check() {
    let f = Fixture::new();
    let app = f.router();
    let dep = |env: &str, status: &str| json!({"product_name": "api", "version": "1.0.0", "environment_name": env, "status": status, "scm_sha": "abcdef12"});
    post(
        &app,
        "/deployment-events/",
        &f.deployer,
        dep("staging", "completed"),
    )
    .await;
    post(
        &app,
        "/deployment-events/",
        &f.deployer,
        dep("production", "started"),
    )
    .await;
    post(
        &app,
        "/deployment-events/",
        &f.deployer,
        dep("production", "completed"),
    )
    .await;

    let v = get(&app, "/versions/?product=api", &f.viewer).await;
    assert_eq!(v.body[0]["version"], "1.0.0");
    let id = v.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&app, &format!("/versions/{id}"), &f.viewer).await.body["scm_sha"],
        "abcdef12"
    );
    assert_eq!(
        get(&app, "/versions/?scm_sha=abcd", &f.viewer).await.body[0]["id"],
        id.as_str()
    );
    assert_eq!(get(&app, "/versions/", &f.viewer).await.status, 422);
    let a = get(
        &app,
        "/versions/00000000-0000-0000-0000-000000000000",
        &f.viewer,
    )
    .await;
    assert_eq!(
        (a.status, a.body["detail"].as_str()),
        (404, Some("Not found"))
    );

    let d = get(
        &app,
        "/deployments/?product=api&environment=production&limit=1",
        &f.viewer,
    )
    .await;
    assert_eq!(d.body.as_array().unwrap().len(), 1);
    assert_eq!(d.body[0]["status"], "completed");
    let d = get(&app, "/deployments/?status=success", &f.viewer).await;
    assert_eq!(d.body.as_array().unwrap().len(), 2);
    let a = get(&app, "/deployments/?limit=many", &f.viewer).await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("limit"))
    );
    let one = d.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&app, &format!("/deployments/{one}"), &f.viewer)
            .await
            .body["id"],
        one.as_str()
    );

    assert_eq!(
        get(&app, "/products/", &f.viewer).await.body[0]["name"],
        "api"
    );
    let envs = get(&app, "/environments/?type=production", &f.viewer).await;
    assert_eq!(envs.body.as_array().unwrap().len(), 1);
    assert_eq!(envs.body[0]["type"], "production");

    let s = get(&app, "/state", &f.viewer).await;
    assert_eq!(s.body["environments"], json!(["staging", "production"]));
    let s = get(&app, "/state?at=2000-01-01T00:00:00Z", &f.viewer).await;
    assert_eq!(s.body["cells"], json!([]));
    let a = get(&app, "/state?at=yesterday", &f.viewer).await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("at"))
    );
    assert_eq!(get(&app, "/drift", &f.viewer).await.body, json!([]));

    // Rules: list, get, status change with who and why, history, update, delete.
    let r = get(&app, "/rules/", &f.viewer).await;
    assert_eq!(r.body[0]["name"], "Staging before production");
    let name = "Staging%20before%20production";
    assert_eq!(
        get(&app, &format!("/rules/{name}"), &f.viewer).await.body["type"],
        "flow"
    );
    let a = post(
        &app,
        &format!("/rules/{name}/status"),
        &f.admin,
        json!({"status": "report_only", "reason": "INC-1"}),
    )
    .await;
    assert_eq!(
        (a.status, a.body["status"].as_str()),
        (200, Some("report_only"))
    );
    let h = get(&app, &format!("/rules/{name}/history"), &f.viewer).await;
    // The actor is the key's principal.
    assert_eq!(h.body[0]["actor"], "admin");
    assert_eq!(h.body[0]["reason"], "INC-1");
    let a = post(
        &app,
        &format!("/rules/{name}/status"),
        &f.admin,
        json!({"status": "sleeping", "reason": "x"}),
    )
    .await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("status"))
    );
    let upd = json!({"name": "Staging first", "type": "flow", "prerequisites": ["staging"], "environments": ["production"]});
    let a = send(
        &app,
        "PUT",
        &format!("/rules/{name}"),
        Some(&f.admin),
        Some(&upd.to_string()),
        &[],
    )
    .await;
    assert_eq!(
        (a.status, a.body["name"].as_str()),
        (200, Some("Staging first"))
    );
    let a = send(
        &app,
        "DELETE",
        "/rules/Staging%20first",
        Some(&f.admin),
        None,
        &[],
    )
    .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        get(&app, "/rules/Staging%20first", &f.viewer).await.status,
        404
    );
    let bad = post(
        &app,
        "/rules/",
        &f.admin,
        json!({"name": "x", "type": "flow"}),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["problems"][0]["field"].as_str()),
        (422, Some("prerequisites"))
    );

    // Approvals: create, list, revoke.
    let a = post(&app, "/approvals/", &f.approver, json!({"product_name": "api", "version": "1.0.0", "approval_type": "QA", "approver": "lead"})).await;
    assert_eq!(
        (
            a.body["approver"].as_str(),
            a.body["approver_role"].as_str()
        ),
        (Some("lead"), Some("release_manager"))
    );
    assert_eq!(a.body["approval_type"], "qa");
    let id = a.body["id"].as_str().unwrap().to_string();
    let l = get(&app, "/approvals/?product=api&version=1.0.0", &f.viewer).await;
    assert_eq!(l.body.as_array().unwrap().len(), 1);
    assert_eq!(
        get(&app, "/approvals/?product=api", &f.viewer).await.status,
        422
    );
    let r = post(
        &app,
        &format!("/approvals/{id}/revoke"),
        &f.approver,
        json!({"reason": "wrong build"}),
    )
    .await;
    assert_eq!(r.body["revoked_by"], "lead");

    // Check: a dry run answers 200 whether allowed or not.
    let c = post(
        &app,
        "/check",
        &f.viewer,
        json!({"product_name": "api", "version": "2.0.0", "environment_name": "production"}),
    )
    .await;
    assert_eq!(
        (c.status, c.body["decision"].as_str()),
        (200, Some("allowed"))
    );
}

#[tokio::test]
async fn rule_history_versions_by_name_and_environment_types() {
    let f = Fixture::new();
    let app = f.router();
    let rule = "Staging%20before%20production";
    let ev = json!({"product_name": "api", "version": "1.0.0", "environment_name": "qa-lab", "status": "completed", "scm_sha": "abcdef12"});
    assert_eq!(
        post(&app, "/deployment-events/", &f.deployer, ev)
            .await
            .status,
        200
    );

    // One version by product and version name; both path segments are decoded.
    let v = get(&app, "/products/api/versions/1.0.0", &f.viewer).await;
    assert_eq!(
        (
            v.status,
            v.body["version"].as_str(),
            v.body["scm_sha"].as_str()
        ),
        (200, Some("1.0.0"), Some("abcdef12"))
    );
    for missing in [
        "/products/api/versions/9.9.9",
        "/products/web/versions/1.0.0",
    ] {
        let a = get(&app, missing, &f.viewer).await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (404, Some("NOT_FOUND"))
        );
    }

    // Rule history: every rule, one rule, an unknown rule (empty), and after deletion.
    let status = json!({"status": "disabled", "reason": "INC-7", "actor": "admin"});
    let a = post(&app, &format!("/rules/{rule}/status"), &f.admin, status).await;
    assert_eq!(a.status, 200);
    let all = get(&app, "/rule-history/", &f.viewer).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body.as_array().unwrap().len(), 1);
    assert_eq!(all.body[0]["rule_name"], "Staging before production");
    assert_eq!(all.body[0]["to_status"], "disabled");
    let one = get(&app, &format!("/rule-history/?rule={rule}"), &f.viewer).await;
    assert_eq!(one.body, all.body);
    assert_eq!(
        get(&app, &format!("/rules/{rule}/history"), &f.viewer)
            .await
            .body,
        all.body
    );
    let none = get(&app, "/rule-history/?rule=nope", &f.viewer).await;
    assert_eq!((none.status, none.body.clone()), (200, json!([])));
    assert_eq!(
        get(&app, "/rules/nope/history", &f.viewer).await.body,
        json!([])
    );
    let a = send(
        &app,
        "DELETE",
        &format!("/rules/{rule}"),
        Some(&f.admin),
        None,
        &[],
    )
    .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        get(&app, "/rule-history/", &f.viewer).await.body,
        all.body,
        "the history outlives the rule"
    );

    // Environment types: admin only; a type, or null to infer it from the name again.
    let path = "/environments/qa-lab";
    let a = put(&app, path, &f.admin, r#"{"type": "staging"}"#).await;
    assert_eq!(
        (
            a.status,
            a.body["type"].as_str(),
            a.body["type_overridden"].as_bool()
        ),
        (200, Some("staging"), Some(true))
    );
    let envs = get(&app, "/environments/?type=staging", &f.viewer).await;
    assert_eq!(envs.body[0]["name"], "qa-lab");
    let a = put(&app, path, &f.admin, r#"{"type": null}"#).await;
    assert_eq!(
        (
            a.status,
            a.body["type"].as_str(),
            a.body["type_overridden"].as_bool()
        ),
        (200, Some("test"), Some(false))
    );
    for (body, field) in [
        (r#"{"type": "moon"}"#, "type"),
        ("{}", "type"),
        (r#"{"type": 1}"#, "type"),
    ] {
        let a = put(&app, path, &f.admin, body).await;
        assert_eq!(
            (a.status, a.body["detail"][0]["loc"][1].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let a = send(
        &app,
        "PUT",
        "/environments/new-prod",
        Some(&f.admin),
        Some(r#"{"type": "production"}"#),
        &[],
    )
    .await;
    assert_eq!(
        (a.status, a.body["name"].as_str()),
        (200, Some("new-prod")),
        "created if needed"
    );
    // Environment types and rules are admin's, release_manager's and sre's (the route matrix
    // test covers every role); reads are everyone's but ci's.
    let qa = f.vr().create_api_key("quinn", Role::Qa).unwrap().secret;
    for key in [&f.viewer, &f.deployer, &qa] {
        assert_eq!(put(&app, path, key, r#"{"type": "dev"}"#).await.status, 403);
    }

    let flow = json!({"name": "F", "type": "flow", "prerequisites": ["staging"]});
    for key in [&f.viewer, &f.deployer, &qa] {
        assert_eq!(post(&app, "/rules/", key, flow.clone()).await.status, 403);
        let body = flow.to_string();
        assert_eq!(
            send(&app, "PUT", "/rules/F", Some(key), Some(&body), &[])
                .await
                .status,
            403
        );
        assert_eq!(
            send(&app, "DELETE", "/rules/F", Some(key), None, &[])
                .await
                .status,
            403
        );
    }
    assert_eq!(post(&app, "/rules/", &f.admin, flow).await.status, 201);
    assert_eq!(get(&app, "/rules/F", &f.viewer).await.status, 200);

    // History filters: both spellings, and unknown or bad filters named.
    let d = get(
        &app,
        "/deployments/?product_name=api&environment_name=qa-lab",
        &f.viewer,
    )
    .await;
    assert_eq!(d.body.as_array().unwrap().len(), 1);
    for (query, field) in [
        ("colour=red", "colour"),
        ("since=yesterday", "since"),
        ("status=done", "status"),
    ] {
        let a = get(&app, &format!("/deployments/?{query}"), &f.viewer).await;
        assert_eq!(
            (a.status, a.body["detail"][0]["loc"][1].as_str()),
            (422, Some(field)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn every_route_is_documented_and_answered() {
    let f = Fixture::new();
    let app = f.router();
    let doc = send(&app, "GET", "/openapi.json", None, None, &[])
        .await
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    for r in ROUTES {
        let method = r.method.to_ascii_lowercase();
        assert!(
            doc["paths"][r.path][&method]["responses"].is_object(),
            "{} {}",
            r.method,
            r.path
        );
        let path: String = r
            .path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let body = r.body.map(|_| "{}");
        let a = send(&app, r.method, &path, Some(&f.admin), body, &[]).await;
        assert_ne!(a.status, 405, "{} {}", r.method, r.path);
        let route_missing = a.status == 404
            && a.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("route"));
        assert!(!route_missing, "{} {} is not routed", r.method, r.path);
    }
    let a = send(&app, "GET", "/nowhere", Some(&f.admin), None, &[]).await;
    assert_eq!(
        (a.status, a.body["detail"].as_str()),
        (404, Some("Not found"))
    );
    let a = send(&app, "DELETE", "/state", Some(&f.admin), None, &[]).await;
    assert_eq!(a.status, 405);
    assert_eq!(a.body["detail"], "Method Not Allowed");
    assert_eq!(
        send(&app, "GET", "/health", None, None, &[]).await.status,
        StatusCode::OK.as_u16()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_record_once() {
    let f = Fixture::new();
    let app = f.router();
    let ev = json!({"product_name": "api", "version": "1", "environment_name": "dev", "status": "started"}).to_string();
    let key = [("Idempotency-Key", "same")];
    let calls = (0..8).map(|_| {
        send(
            &app,
            "POST",
            "/deployment-events/",
            Some(&f.deployer),
            Some(&ev),
            &key,
        )
    });
    let answers = futures_join_all(calls).await;
    assert!(
        answers
            .iter()
            .all(|a| a.status == 200 && a.body == answers[0].body)
    );
    assert_eq!(
        f.vr()
            .history(&versioner_core::HistoryQuery::new())
            .unwrap()
            .len(),
        1
    );
}

/// Awaits futures concurrently (no extra dependency).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn unknown_keys_in_request_envelopes_are_refused_naming_the_key_and_change_nothing() {
    let f = Fixture::new();
    let app = f.router();
    let before = f.vr().rules().unwrap();
    assert_eq!(before.len(), 1);
    // A misspelt `mode` must not fall back to replace and delete every other rule.
    let r = post(
        &app,
        "/rules/apply",
        &f.admin,
        json!({"policy": {"rules": [{"name": "Other", "type": "concurrency"}]}, "mdoe": "merge"}),
    )
    .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.body["code"], "INVALID_INPUT");
    assert_eq!(r.body["detail"][0]["loc"][1], "mdoe", "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("mdoe"));
    assert_eq!(f.vr().rules().unwrap(), before, "nothing applied");
    let events = f.vr().last_event_seq().unwrap();

    let rule = "/rules/Staging%20before%20production/status";
    let cases = [
        (
            rule,
            json!({"status": "disabled", "reason": "x", "acter": "dana"}),
            "acter",
        ),
        (
            "/approvals/00000000-0000-0000-0000-000000000000/revoke",
            json!({"reason": "x", "reasons": "y"}),
            "reasons",
        ),
        (
            "/check",
            json!({"product_name": "api", "version": "1", "environment_name": "production", "deployed_bye": "x"}),
            "deployed_bye",
        ),
        (
            "/approvals/",
            json!({"product_name": "api", "version": "1", "approval_type": "qa", "approver": "rita", "coment": "ok"}),
            "coment",
        ),
    ];
    for (path, body, key) in cases {
        let r = post(&app, path, &f.admin, body).await;
        assert_eq!(r.status, 422, "{path}: {:?}", r.body);
        assert_eq!(r.body["detail"][0]["loc"][1], key, "{path}: {:?}", r.body);
    }
    assert_eq!(f.vr().rules().unwrap(), before);
    assert_eq!(f.vr().last_event_seq().unwrap(), events, "nothing recorded");
}

#[tokio::test]
async fn policy_text_is_read_as_every_surface_reads_it() {
    let f = Fixture::new();
    let app = f.router();
    // JSON text without a format is JSON (it was read as TOML here, and failed).
    let json_text = r#"{"rules": [{"name": "Serial", "type": "concurrency", "max": 1}]}"#;
    let r = post(&app, "/rules/apply", &f.admin, json!({"policy": json_text})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["added"], json!(["Serial"]));
    // TOML text still is TOML; a string is never taken for a file on the server.
    let toml_text = "[[rules]]\nname = \"Serial\"\ntype = \"concurrency\"\nmax = 2\n";
    let r = post(
        &app,
        "/rules/apply",
        &f.admin,
        json!({"policy": toml_text, "mode": "merge"}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["updated"]),
        (200, &json!(["Serial"])),
        "{:?}",
        r.body
    );
    let r = post(
        &app,
        "/rules/apply",
        &f.admin,
        json!({"policy": "/etc/passwd"}),
    )
    .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let r = post(&app, "/rules/apply", &f.admin, json!({"policy": 42})).await;
    assert_eq!(
        (r.status, &r.body["detail"][0]["loc"][1]),
        (422, &json!("policy")),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn a_completed_only_event_is_refused_428_like_a_started_one() {
    let f = Fixture::new();
    let app = f.router();
    let r = post(
        &app,
        "/deployment-events/",
        &f.deployer,
        json!({"product_name": "api", "version": "1", "environment_name": "production", "status": "success"}),
    )
    .await;
    assert_eq!(r.status, 428, "{:?}", r.body);
    assert_eq!(r.body["detail"]["code"], "FLOW_VIOLATION");
    assert!(f.vr().products().unwrap().is_empty(), "nothing recorded");
}

#[tokio::test]
async fn refused_deployments_are_listed_at_the_public_violations_path() {
    let f = Fixture::new();
    let app = f.router();
    let event = json!({"product_name": "api", "version": "1", "environment_name": "production", "status": "started"});
    assert_eq!(
        post(&app, "/deployment-events/", &f.deployer, event)
            .await
            .status,
        428
    );
    let r = get(
        &app,
        "/deployment-rules/violations?environment=production&outcome=blocked",
        &f.viewer,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["verdict"]["code"], "FLOW_VIOLATION");
    assert_eq!(list[0]["policy_hash"].as_str().unwrap().len(), 64);
    let r = get(&app, "/deployment-rules/violations?colour=red", &f.viewer).await;
    assert_eq!(
        (r.status, &r.body["detail"][0]["loc"][1]),
        (422, &json!("colour"))
    );
}

#[test]
fn the_client_lists_violations_as_in_process() {
    let f = Fixture::new();
    let server = crate::support::TestServer::start(f.router());
    let client = versioner_core::client::Client::new(&server.url, Some(&f.deployer)).unwrap();
    let blocked = versioner_core::Tracker::track_deployment(
        &client,
        &versioner_core::DeploymentEvent::new("api", "1", "production", "started"),
    );
    assert!(blocked.is_err());
    // A pipeline key sends events only; reading the record takes a reader's key.
    let reader = versioner_core::client::Client::new(&server.url, Some(&f.viewer)).unwrap();
    let remote = versioner_core::Tracker::violations(&reader, &Default::default()).unwrap();
    let local = f.vr().violations(&Default::default()).unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].id, local[0].id);
    assert_eq!(
        remote[0].verdict.code(),
        Some(versioner_core::policy::BlockCode::FlowViolation)
    );
}

#[tokio::test]
async fn a_pipeline_key_cannot_use_the_emergency_bypass() {
    let f = Fixture::new();
    let app = f.router();
    let bypass = json!({
        "product_name": "api", "version": "1", "environment_name": "production",
        "status": "started", "skip_preflight_checks": true,
        "skip_preflight_reason": "INC-9 hotfix",
    });
    let r = post(&app, "/deployment-events/", &f.deployer, bypass.clone()).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.body["code"], "FORBIDDEN");
    assert!(f.vr().products().unwrap().is_empty(), "nothing recorded");
    // An admin may, and the bypass is recorded with the deployment and as a decision.
    let r = post(&app, "/deployment-events/", &f.admin, bypass).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["preflight"]["status"], "skipped");
    let v = f.vr().violations(&Default::default()).unwrap();
    assert_eq!(v[0].outcome, versioner_core::DecisionOutcome::Bypassed);
}

#[tokio::test]
async fn bypassed_deployments_are_visible_in_history_and_filterable() {
    let f = Fixture::new();
    let app = f.router();
    let ok = json!({"product_name": "api", "version": "1", "environment_name": "staging", "status": "started"});
    assert_eq!(
        post(&app, "/deployment-events/", &f.admin, ok).await.status,
        200
    );
    let bypass = json!({
        "product_name": "api", "version": "1", "environment_name": "production",
        "status": "started", "skip_preflight_checks": true, "skip_preflight_reason": "INC-9",
    });
    assert_eq!(
        post(&app, "/deployment-events/", &f.admin, bypass)
            .await
            .status,
        200
    );
    let r = get(&app, "/deployments/?preflight=skipped", &f.viewer).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["environment_name"], "production");
    assert_eq!(list[0]["preflight"]["bypass_reason"], "INC-9");
    let r = get(&app, "/deployments/?preflight=passed", &f.viewer).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = get(&app, "/deployments/?preflight=maybe", &f.viewer).await;
    assert_eq!(
        (r.status, &r.body["detail"][0]["loc"][1]),
        (422, &json!("preflight"))
    );
}
