//! Hostile clients (issue 18, items 1 and 2), tested as classes: every route under every method
//! without a key and with a key of too low a role; every JSON route with a body that is not
//! JSON; cross-origin writes; a `Host` off the allow-list; the security headers of every kind
//! of answer. Each refusal is checked for its status, its code and that nothing was written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use std::collections::BTreeSet;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request};
use serde_json::{Value, json};
use tower::ServiceExt;
use versioner_core::Versioner;
use versioner_core::access::Permission;
use versioner_server::routes::{ALL_ROUTES, ROUTES};
use versioner_server::{AppState, AuthMode, Role, ServerOptions, router};

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

struct Answer {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        bytes,
    }
}

fn request(method: &str, path: &str, key: Option<&str>) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:8000");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let with_body = matches!(method, "POST" | "PUT" | "PATCH");
    if with_body {
        req = req.header("content-type", "application/json");
    }
    req.body(if with_body {
        Body::from(
            json!({"product_name": "api", "version": "9", "environment_name": "dev",
                   "status": "started", "name": "k", "role": "admin", "type": "concurrency",
                   "max": 1})
            .to_string(),
        )
    } else {
        Body::empty()
    })
    .unwrap()
}

/// What a server's database holds, to prove a refusal wrote nothing.
fn fingerprint(vr: &Versioner) -> (i64, usize, usize) {
    (
        vr.last_event_seq().unwrap(),
        vr.api_keys().unwrap().len(),
        vr.rules().unwrap().len(),
    )
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn server(options: ServerOptions) -> (Versioner, Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let vr = Versioner::open(dir.path().join("v.db")).unwrap();
    let app = router(AppState::new(vr.clone(), options));
    (vr, app, dir)
}

/// Issue 18, item 1: HEAD was answered by the GET handler without any key. Now every method
/// on every route — declared or not — goes through the same check: without a key the answer is
/// 401 (or 405 for a method the route does not take), with a key whose role lacks the route's
/// permission 403; no handler runs (nothing is written, and a HEAD's `Content-Length` is the
/// refusal's, not the real answer's). Checked on a server with keys and on one with none.
#[tokio::test]
async fn every_method_on_every_route_is_authorized_before_any_handler() {
    for with_keys in [true, false] {
        let (vr, app, _dir) = server(ServerOptions::default());
        let keys: Vec<(Role, String)> = if with_keys {
            Role::ALL
                .into_iter()
                .map(|r| (r, vr.create_api_key(r.as_str(), r).unwrap().secret))
                .collect()
        } else {
            Vec::new()
        };
        let before = fingerprint(&vr);
        let paths: BTreeSet<&str> = ALL_ROUTES.iter().map(|r| r.path).collect();
        let mut checked = 0;
        for path in paths {
            let declared = |m: &str| ALL_ROUTES.iter().find(|r| r.path == path && r.method == m);
            for method in METHODS {
                // HEAD is answered by GET's handler, so it needs GET's permission.
                let route = declared(if method == "HEAD" { "GET" } else { method });
                let permission = route.and_then(|r| r.permission);
                let what = |who: &str, a: &Answer| {
                    format!(
                        "{method} {path} {who}: {} {}",
                        a.status,
                        String::from_utf8_lossy(&a.bytes)
                    )
                };
                // Without a key.
                let a = send(&app, request(method, &concrete(path), None)).await;
                let want = match permission {
                    None => 405,
                    Some(Permission::Public) => 0,
                    Some(_) => 401,
                };
                if want != 0 {
                    assert_eq!(a.status, want, "{}", what("without a key", &a));
                    assert_refusal_body(method, &a, &what("without a key", &a));
                    checked += 1;
                }
                // With a key whose role lacks the permission.
                let low = permission.and_then(|p| {
                    keys.iter()
                        .find(|(r, _)| !r.allows(p) && p != Permission::Public)
                });
                if let Some((role, key)) = low {
                    let a = send(&app, request(method, &concrete(path), Some(key))).await;
                    assert_eq!(a.status, 403, "{}", what(role.as_str(), &a));
                    assert_refusal_body(method, &a, &what(role.as_str(), &a));
                    checked += 1;
                }
                if permission.is_none() && with_keys {
                    let admin = &keys.iter().find(|(r, _)| *r == Role::Admin).unwrap().1;
                    let a = send(&app, request(method, &concrete(path), Some(admin))).await;
                    assert_eq!(a.status, 405, "{}", what("admin", &a));
                    assert_refusal_body(method, &a, &what("admin", &a));
                }
                assert_eq!(fingerprint(&vr), before, "{method} {path}: nothing written");
            }
        }
        assert!(checked > 100, "{checked} refusals checked");
    }
}

/// A refusal is JSON with a code; a HEAD refusal announces the refusal's own length.
fn assert_refusal_body(method: &str, a: &Answer, what: &str) {
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{what}"
    );
    if method == "HEAD" {
        assert!(a.bytes.is_empty(), "{what}");
        let length: usize = a.headers["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(length < 300, "a refusal's length, not the answer's: {what}");
    } else {
        let code = a.json()["code"].as_str().map(str::to_string);
        assert!(
            matches!(
                code.as_deref(),
                Some("UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "INVALID_INPUT")
            ) || a.status == 405,
            "{what}"
        );
        assert!(a.json()["detail"].is_string(), "{what}");
    }
}

/// The regression itself: HEAD on a query route without a key leaked the answer's size.
#[tokio::test]
async fn head_without_a_key_is_401_like_get() {
    let (vr, app, _dir) = server(ServerOptions::default());
    vr.create_api_key("admin", Role::Admin).unwrap();
    let get = send(&app, request("GET", "/deployments/", None)).await;
    let head = send(&app, request("HEAD", "/deployments/", None)).await;
    assert_eq!((get.status, head.status), (401, 401));
    assert_eq!(get.json()["code"], "UNAUTHORIZED");
    assert_eq!(
        head.headers["content-length"].to_str().unwrap(),
        get.bytes.len().to_string()
    );
}

fn open_server() -> (Versioner, Router, tempfile::TempDir) {
    server(ServerOptions::default().auth(AuthMode::Open))
}

fn post(path: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "127.0.0.1:8000");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

const EVENT: &str =
    r#"{"product_name":"api","version":"1","environment_name":"production","status":"completed"}"#;

/// Issue 18, item 2: with `--no-auth`, a `text/plain` form post recorded a deployment. Every
/// route that takes JSON now refuses any other body with 415 and writes nothing; JSON with a
/// charset is accepted.
#[tokio::test]
async fn json_routes_refuse_bodies_that_are_not_json() {
    let (vr, app, _dir) = open_server();
    let before = fingerprint(&vr);
    let json_routes: Vec<_> = ROUTES.iter().filter(|r| r.body.is_some()).collect();
    assert!(json_routes.len() >= 10, "{}", json_routes.len());
    for route in json_routes {
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut req = post(&concrete(route.path), ct, EVENT);
            *req.method_mut() = route.method.parse().unwrap();
            let a = send(&app, req).await;
            let what = format!(
                "{} {} as {ct:?}: {} {}",
                route.method,
                route.path,
                a.status,
                String::from_utf8_lossy(&a.bytes)
            );
            assert_eq!(a.status, 415, "{what}");
            assert_eq!(a.json()["code"], "INVALID_INPUT", "{what}");
            let detail = a.json()["detail"].as_str().unwrap().to_string();
            assert!(detail.contains("application/json"), "{what}");
            assert!(detail.contains(ct.unwrap_or("none")), "{what}");
        }
    }
    assert_eq!(fingerprint(&vr), before, "nothing written");
    let a = send(
        &app,
        post(
            "/deployment-events/",
            Some("Application/JSON; charset=utf-8"),
            EVENT,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
}

/// Issue 18, item 2: a page on another origin cannot change anything, whether the browser
/// says so with `Origin` or with `Sec-Fetch-Site`; reads and same-origin writes still work,
/// and so do clients that send neither header.
#[tokio::test]
async fn cross_origin_writes_are_refused() {
    let (vr, app, _dir) = open_server();
    let before = fingerprint(&vr);
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("origin", "http://127.0.0.1:9999"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        for path in ["/deployment-events/", "/rules/apply", "/api-keys/"] {
            let mut req = post(path, Some("application/json"), EVENT);
            req.headers_mut().insert(name, value.parse().unwrap());
            let a = send(&app, req).await;
            let what = format!("{path} {name}: {value}: {} {}", a.status, a.json());
            assert_eq!(a.status, 403, "{what}");
            assert_eq!(a.json()["code"], "FORBIDDEN", "{what}");
            let message = a.json()["message"].as_str().unwrap().to_string();
            assert!(message.contains("cross-origin request refused"), "{what}");
            assert!(message.contains(value), "{what}");
        }
    }
    let mut delete = Request::builder()
        .method("DELETE")
        .uri("/rules/x")
        .header("host", "127.0.0.1:8000")
        .header("origin", "http://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, delete).await.status, 403);
    assert_eq!(fingerprint(&vr), before, "nothing written");
    // Reads from another origin are answered (they change nothing).
    let mut get = request("GET", "/deployments/", None);
    get.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, get).await.status, 200);
    // The server's own origin, and a client that is not a browser, may write.
    let mut same = post("/deployment-events/", Some("application/json"), EVENT);
    same.headers_mut()
        .insert("origin", "http://127.0.0.1:8000".parse().unwrap());
    same.headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    assert_eq!(send(&app, same).await.status, 200);
    let plain = post("/deployment-events/", Some("application/json"), EVENT);
    assert_eq!(send(&app, plain).await.status, 200);
    delete = Request::builder()
        .method("DELETE")
        .uri("/rules/x")
        .header("host", "127.0.0.1:8000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, delete).await.status, 404);
}

/// Issue 18, item 2: `--allowed-host` refuses a `Host` off the list (a DNS-rebinding page)
/// with 421 and our body; a listed name is served on any port unless the entry names one.
#[tokio::test]
async fn a_host_off_the_allow_list_is_refused() {
    let (vr, app, _dir) = server(
        ServerOptions::default()
            .auth(AuthMode::Open)
            .allowed_hosts(vec!["versioner.internal".into(), "127.0.0.1:8000".into()]),
    );
    let before = fingerprint(&vr);
    for host in [
        "evil.example",
        "127.0.0.1:8001",
        "versioner.internal.evil.example",
    ] {
        for req in [
            post("/deployment-events/", Some("application/json"), EVENT),
            request("GET", "/health", None),
        ] {
            let mut req = req;
            req.headers_mut().insert("host", host.parse().unwrap());
            let a = send(&app, req).await;
            assert_eq!(a.status, 421, "{host}: {}", a.json());
            assert_eq!(a.json()["code"], "INVALID_INPUT");
            let message = a.json()["message"].as_str().unwrap().to_string();
            assert!(
                message.contains(host) && message.contains("--allowed-host"),
                "{message}"
            );
        }
    }
    assert_eq!(fingerprint(&vr), before, "nothing written");
    for host in [
        "versioner.internal",
        "versioner.internal:8443",
        "127.0.0.1:8000",
    ] {
        let mut req = post("/deployment-events/", Some("application/json"), EVENT);
        req.headers_mut().insert("host", host.parse().unwrap());
        assert_eq!(send(&app, req).await.status, 200, "{host}");
    }
    // Behind a proxy the browser's origin is the public name: listed, it may write.
    let mut req = post("/deployment-events/", Some("application/json"), EVENT);
    req.headers_mut()
        .insert("origin", "https://versioner.internal".parse().unwrap());
    assert_eq!(send(&app, req).await.status, 200);
}

/// Issue 18, item 2: the usual security headers on every kind of answer; JSON answers get a
/// policy that allows nothing, pages one that forbids framing and keeps what they set.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let (vr, app, _dir) = server(ServerOptions::default());
    vr.create_api_key("admin", Role::Admin).unwrap();
    let cases = [
        ("GET", "/health", 200),
        ("GET", "/deployments/", 401),
        ("GET", "/nowhere", 404),
        ("PATCH", "/health", 405),
        ("GET", "/docs/", 200),
        ("GET", "/docs", 303),
    ];
    for (method, path, status) in cases {
        let a = send(&app, request(method, path, None)).await;
        assert_eq!(a.status, status, "{method} {path}");
        let h = |name: &str| {
            a.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_else(|| panic!("{method} {path}: no {name}"))
        };
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("referrer-policy"), "no-referrer");
        assert_eq!(h("x-frame-options"), "DENY");
        let csp = h("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path == "/docs/" {
            assert!(
                !csp.contains("default-src 'none'"),
                "the page still loads: {csp}"
            );
        } else {
            assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        }
    }
}
