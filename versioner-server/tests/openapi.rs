//! The OpenAPI document and the API reference:
//! - complete: every route the router answers is in it with its method, query parameters,
//!   success schema and errors (401/403 wherever a key is needed);
//! - valid OpenAPI 3.1, checked by the Python `openapi-spec-validator` (from the repository's
//!   `.venv`; the test fails without it when `VERSIONER_REQUIRE_TOOLS` is set, as
//!   `scripts/test-python.sh` and CI set it);
//! - truthful: real responses validate against the schemas it declares for them, with any
//!   property the schema does not declare refused;
//! - `/docs/` works offline: every script, stylesheet and image it loads is served by us.

// clippy.toml allows these in `#[test]` functions; the shared helpers are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a failure is a test failure"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use versioner_core::Versioner;
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_server::openapi::document;
use versioner_server::routes::{ALL_ROUTES, Permission, ROUTES};
use versioner_server::{AppState, AuthMode, ServerOptions, router};

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

async fn send(app: &Router, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
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

const POLICY: &str = r#"
[[rules]]
name = "Staging first"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]

[[rules]]
name = "QA sign-off"
type = "version_approval"
status = "report_only"
environments = ["staging"]
approval_types = ["qa"]

[[rules]]
name = "Freeze 2020"
type = "schedule"
mode = "deny"
timezone = "Europe/Paris"
reason = "year-end freeze"
windows = [{ recurrence = "once", start = "2020-12-20T00:00", end = "2021-01-04T00:00" }]
"#;

/// A server without authentication over an in-memory database with [`POLICY`].
fn app() -> Router {
    let vr = Versioner::open_in_memory().unwrap();
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "test")
        .unwrap();
    router(AppState::new(
        vr,
        ServerOptions::default().auth(AuthMode::Open),
    ))
}

fn op<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    &doc["paths"][path][method.to_ascii_lowercase()]
}

/// A request path for a route: each `{param}` becomes `x`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_is_documented_with_parameters_schemas_and_errors() {
    let doc = document();
    let app = app();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(ALL_ROUTES.len() >= 30, "{}", ALL_ROUTES.len());
    let mut documented = 0;
    for r in ALL_ROUTES {
        let what = format!("{} {}", r.method, r.path);
        let op = op(doc, r.method, r.path);
        assert!(op.is_object(), "{what} is not in the document");
        documented += 1;
        // The router answers it (neither the fallback nor 405), and the table's permission
        // is the document's.
        let body = r.body.map(|_| json!({}));
        let a = send(&app, r.method, &concrete(r.path), body.as_ref()).await;
        assert_ne!(a.status, 405, "{what}");
        let fallback = a.status == 404
            && a.json()["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("route"));
        assert!(!fallback, "{what} is documented but not routed");
        let permission = r
            .permission
            .unwrap_or_else(|| panic!("{what} has no permission"));
        assert_eq!(
            op["x-permission"],
            versioner_server::routes::permission_name(permission),
            "{what}"
        );

        let responses = op["responses"].as_object().unwrap();
        let success: Vec<u16> = responses
            .keys()
            .filter_map(|k| k.parse().ok())
            .filter(|s| (200..400).contains(s))
            .collect();
        assert!(!success.is_empty(), "{what} has no success response");
        for status in success {
            let response = &responses[&status.to_string()];
            assert!(response["description"].is_string(), "{what} {status}");
            if (200..300).contains(&status) && status != 204 {
                let content = response["content"].as_object();
                assert!(
                    content.is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                    "{what} {status} has no schema"
                );
            }
        }
        for response in responses.values() {
            assert!(response["description"].is_string(), "{what}");
        }
        if permission == Permission::Public {
            assert!(op.get("security").is_none(), "{what}");
        } else {
            assert_eq!(op["security"], json!([{ "bearer": [] }]), "{what}");
            for status in ["401", "403", "503"] {
                let schema = &responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{what} lacks {status}"))["content"]["application/json"]
                    ["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Error",
                    "{what} {status}"
                );
            }
        }
        if r.body.is_some() {
            assert_eq!(op["requestBody"]["required"], true, "{what}");
            for status in ["400", "413", "422"] {
                assert!(responses.contains_key(status), "{what} lacks {status}");
            }
        }
        if r.path.contains('{') {
            let params = path_params(op);
            for seg in r.path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(params.contains(name), "{what} does not document `{name}`");
            }
        }
    }
    assert_eq!(documented, ALL_ROUTES.len());
    // The document has nothing the table lacks.
    let ops: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(ops, ALL_ROUTES.len());
    assert!(ROUTES.len() < ALL_ROUTES.len());

    // The query parameters each handler reads.
    for (path, names) in [
        ("/versions/", &["product", "scm_sha", "limit", "offset"][..]),
        (
            "/deployments/",
            &[
                "product",
                "product_name",
                "environment",
                "environment_name",
                "version",
                "status",
                "preflight",
                "since",
                "until",
                "limit",
            ],
        ),
        (
            "/deployment-rules/violations",
            &[
                "rule",
                "product",
                "environment",
                "since",
                "until",
                "outcome",
                "limit",
            ],
        ),
        ("/environments/", &["type"]),
        ("/state", &["at"]),
        ("/drift", &["at", "environment"]),
        (
            "/metrics/dora",
            &[
                "since",
                "until",
                "product",
                "environment",
                "frequency",
                "rollbacks",
                "by",
            ],
        ),
        ("/rule-history/", &["rule"]),
        ("/approvals/", &["product", "version"]),
    ] {
        let documented = query_params(op(doc, "GET", path));
        let wanted: BTreeSet<String> = names.iter().map(|n| (*n).to_string()).collect();
        assert_eq!(documented, wanted, "GET {path}");
    }
    for (path, name) in [("/approvals/", "product"), ("/approvals/", "version")] {
        let params = op(doc, "GET", path)["parameters"].as_array().unwrap();
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["required"], true, "{path} {name}");
    }

    // Every documented query parameter is accepted by the handler (no 422 naming it).
    for r in ROUTES.into_iter().filter(|r| r.method == "GET") {
        for param in op(doc, "GET", r.path)["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
        {
            let name = param["name"].as_str().unwrap();
            let value = sample(doc, &param["schema"]);
            let mut q = format!("{}?{name}={value}", concrete(r.path));
            if r.path == "/approvals/" || r.path == "/versions/" {
                q.push_str("&product=api&version=1");
            }
            if r.path == "/deployments/" && !name.starts_with("product") {
                q.push_str("&product=api");
            }
            let a = send(&app, "GET", &q, None).await;
            let named = a.json()["detail"][0]["loc"][1] == name;
            assert!(
                !(a.status == 422 && named),
                "GET {q}: {}",
                String::from_utf8_lossy(&a.bytes)
            );
        }
    }
}

fn path_params(op: &Value) -> BTreeSet<String> {
    params_in(op, "path")
}

fn query_params(op: &Value) -> BTreeSet<String> {
    params_in(op, "query")
}

fn params_in(op: &Value, place: &str) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == place)
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

/// A valid sample value for a query parameter's schema.
fn sample(doc: &Value, schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return sample(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(one) = schema["oneOf"].as_array() {
        return sample(doc, &one[0]);
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[0].as_str().unwrap().to_string();
    }
    if schema["pattern"] == "^[0-9a-fA-F]{4,40}$" {
        return "abc1234".into();
    }
    if schema["format"] == "date-time" {
        return "2026-01-02T03:04:05Z".into();
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types[0].clone(),
        other => other.clone(),
    };
    match ty.as_str() {
        Some("integer") => "5".into(),
        Some("boolean") => "true".into(),
        Some("array") => sample(doc, &schema["items"]),
        _ => "api".into(),
    }
}

/// The directory of the Python environment holding `openapi-spec-validator`:
/// `VERSIONER_VENV`, else the repository's `.venv`.
fn venv() -> PathBuf {
    std::env::var_os("VERSIONER_VENV").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv"),
        PathBuf::from,
    )
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(document()).unwrap()).unwrap();
    let python = venv().join("bin/python");
    let probe = Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let message = format!(
            "openapi-spec-validator is not installed in {} (scripts/test-python.sh installs it)",
            venv().display()
        );
        assert!(
            std::env::var_os("VERSIONER_REQUIRE_TOOLS").is_none(),
            "{message}; VERSIONER_REQUIRE_TOOLS is set"
        );
        eprintln!("skipped: {message}");
        return;
    }
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.readers import read_from_filename\n\
             from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
             spec, _ = read_from_filename(sys.argv[1])\n\
             assert spec['openapi'] == '3.1.0', spec['openapi']\n\
             validate(spec, cls=OpenAPIV31SpecValidator)\n\
             print('valid OpenAPI 3.1')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn docs_serve_swagger_ui_from_this_server_only() {
    let app = app();
    let a = send(&app, "GET", "/docs", None).await;
    assert_eq!(a.status, 303);
    assert_eq!(a.headers[header::LOCATION], "/docs/");
    let a = send(&app, "GET", "/docs/", None).await;
    assert_eq!(a.status, 200);
    assert!(
        a.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = String::from_utf8(a.bytes).unwrap();
    let urls = asset_urls(&html);
    assert!(urls.len() >= 3, "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with(".js")), "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with(".css")), "{urls:?}");
    for url in &urls {
        let lower = url.to_ascii_lowercase();
        assert!(
            !lower.starts_with("http:") && !lower.starts_with("https:") && !lower.starts_with("//"),
            "/docs/ loads {url} from another host"
        );
        let path = if url.starts_with('/') {
            url.clone()
        } else {
            format!("/docs/{}", url.trim_start_matches("./"))
        };
        let a = send(&app, "GET", &path, None).await;
        assert_eq!(a.status, 200, "{path}");
        assert!(!a.bytes.is_empty(), "{path}");
    }
    // The page is pointed at our document, and at no validator elsewhere.
    let init = send(&app, "GET", "/docs/swagger-initializer.js", None).await;
    let init = String::from_utf8(init.bytes).unwrap();
    assert!(init.contains("\"/openapi.json\""), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    let a = send(&app, "GET", "/docs/nothing.js", None).await;
    assert_eq!(
        (a.status, a.json()["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    // Public: a server that requires keys serves the reference without one.
    let vr = Versioner::open_in_memory().unwrap();
    let keyed = router(AppState::new(vr, ServerOptions::default()));
    for path in ["/docs/", "/docs/swagger-ui.css", "/openapi.json"] {
        assert_eq!(send(&keyed, "GET", path, None).await.status, 200, "{path}");
    }
    assert_eq!(send(&keyed, "GET", "/state", None).await.status, 401);
}

/// The `src` and `href` attribute values of `<script>`, `<link>` and `<img>` elements.
fn asset_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for tag in html.split('<').skip(1) {
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !matches!(name.as_str(), "script" | "link" | "img") {
            continue;
        }
        let head = tag.split('>').next().unwrap_or("");
        for attr in ["src=", "href="] {
            if let Some(rest) = head.split(attr).nth(1) {
                let quote = rest.chars().next().unwrap();
                let value: String = rest[1..].chars().take_while(|c| *c != quote).collect();
                urls.push(value);
            }
        }
    }
    urls
}

/// The components of the document, strict: an object schema that lists its properties and
/// says nothing of others refuses them, so a response field the document does not declare
/// fails validation.
fn strict_components(doc: &Value) -> Value {
    fn tighten(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(tighten);
            }
            Value::Array(a) => a.iter_mut().for_each(tighten),
            _ => {}
        }
    }
    let mut components = doc["components"].clone();
    tighten(&mut components);
    components
}

/// Validates `body` against the schema the document declares for `status` of `method path`.
fn conforms(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let op = op(doc, method, path);
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} does not document {status}"
    );
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("components".into(), strict_components(doc));
    for (k, v) in schema.as_object().unwrap() {
        root.insert(k.clone(), v.clone());
    }
    let validator = jsonschema::draft202012::new(&Value::Object(root))
        .unwrap_or_else(|e| panic!("{method} {path} {status}: bad schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: the body does not match the document:\n{}\n{body:#}",
        errors.join("\n")
    );
}

#[tokio::test]
async fn real_responses_match_their_documented_schemas() {
    let doc = document();
    let app = app();
    let mut checked = BTreeSet::new();
    let mut check =
        async |method: &str, template: &str, path: &str, body: Option<Value>, want: u16| {
            let a = send(&app, method, path, body.as_ref()).await;
            assert_eq!(
                a.status,
                want,
                "{method} {path}: {}",
                String::from_utf8_lossy(&a.bytes)
            );
            let json = a.json();
            conforms(doc, method, template, want, &json);
            checked.insert(format!("{method} {template} {want}"));
            json
        };
    let event = |env: &str, status: &str| {
        json!({"product_name": "api", "version": "1.0.0", "environment_name": env,
               "status": status, "scm_sha": "abc1234", "deployed_by": "dana",
               "extra_metadata": {"ticket": "OPS-1"}})
    };

    // Builds and deployments, with a report-only warning in preflight_status.
    let build = json!({"product_name": "api", "version": "1.0.0", "status": "success",
                       "scm_sha": "abc1234", "build_number": 42});
    check("POST", "/build-events/", "/build-events/", Some(build), 200).await;
    let d = check(
        "POST",
        "/deployment-events/",
        "/deployment-events/",
        Some(event("staging", "started")),
        200,
    )
    .await;
    let evaluated = d["extra_metadata"]["preflight_status"]["rules_evaluated"]
        .as_array()
        .unwrap_or_else(|| panic!("{d:#}"));
    assert!(
        evaluated
            .iter()
            .any(|r| r["status"] == "report_only" && r["evaluation_result"] == "failed"),
        "{d:#}"
    );
    assert_eq!(d["extra_metadata"]["ticket"], "OPS-1");
    check(
        "POST",
        "/deployment-events/",
        "/deployment-events/",
        Some(event("staging", "completed")),
        200,
    )
    .await;
    let id = d["id"].as_str().unwrap();
    check(
        "GET",
        "/deployments/{id}",
        &format!("/deployments/{id}"),
        None,
        200,
    )
    .await;
    check(
        "GET",
        "/deployments/",
        "/deployments/?product=api",
        None,
        200,
    )
    .await;

    // A 428 block nested under `detail`, and a 409 SHA conflict.
    let blocked = json!({"product_name": "api", "version": "2.0.0", "environment_name": "production", "status": "started"});
    let b = check(
        "POST",
        "/deployment-events/",
        "/deployment-events/",
        Some(blocked),
        428,
    )
    .await;
    assert_eq!(b["detail"]["code"], "FLOW_VIOLATION");
    let mut conflict = event("staging", "completed");
    conflict["scm_sha"] = json!("def5678");
    let c = check(
        "POST",
        "/deployment-events/",
        "/deployment-events/",
        Some(conflict),
        409,
    )
    .await;
    assert_eq!(c["code"], "VERSION_CONFLICT");
    assert_eq!(c["fields"]["recorded"], "abc1234", "{c:#}");

    // 422 naming the field, 400 for malformed JSON, 404.
    let e = check(
        "POST",
        "/deployment-events/",
        "/deployment-events/",
        Some(json!({"product_name": "api"})),
        422,
    )
    .await;
    assert_eq!(e["code"], "INVALID_INPUT");
    let req = Request::builder()
        .method("POST")
        .uri("/build-events/")
        .header("content-type", "application/json")
        .body(Body::from("{nope"))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    conforms(
        doc,
        "POST",
        "/build-events/",
        400,
        &serde_json::from_slice(&bytes).unwrap(),
    );
    let n = check("GET", "/versions/{id}", "/versions/nope", None, 404).await;
    assert_eq!(n["fields"]["kind"], "version", "{n:#}");

    // Versions, the state matrix, drift, products, environments.
    let versions = check("GET", "/versions/", "/versions/?product=api", None, 200).await;
    let vid = versions[0]["id"].as_str().unwrap();
    check(
        "GET",
        "/versions/{id}",
        &format!("/versions/{vid}"),
        None,
        200,
    )
    .await;
    check("GET", "/versions/", "/versions/?scm_sha=abc1", None, 200).await;
    check(
        "GET",
        "/products/{product}/versions/{version}",
        "/products/api/versions/1.0.0",
        None,
        200,
    )
    .await;
    let state = check("GET", "/state", "/state", None, 200).await;
    assert_eq!(
        state["cells"].as_array().map(Vec::len),
        Some(1),
        "{state:#}"
    );
    check("GET", "/drift", "/drift", None, 200).await;
    check(
        "GET",
        "/metrics/dora",
        "/metrics/dora?since=2020-01-01T00:00:00Z&until=2030-01-01T00:00:00Z&environment=staging",
        None,
        200,
    )
    .await;
    check(
        "GET",
        "/metrics/dora",
        "/metrics/dora?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z&by=week&rollbacks=failure_of_replaced",
        None,
        200,
    )
    .await;
    check(
        "GET",
        "/metrics/dora",
        "/metrics/dora?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z&product=nope",
        None,
        404,
    )
    .await;
    check("GET", "/products/", "/products/", None, 200).await;
    check("GET", "/environments/", "/environments/", None, 200).await;
    check(
        "PUT",
        "/environments/{name}",
        "/environments/qa-eu",
        Some(json!({"type": "test"})),
        200,
    )
    .await;

    // The dry-run check, rules and their history, policies (with a 422 listing problems).
    check(
        "POST",
        "/check",
        "/check",
        Some(json!({"product_name": "api", "version": "1.0.0", "environment_name": "production"})),
        200,
    )
    .await;
    check("GET", "/rules/", "/rules/", None, 200).await;
    check("GET", "/rules/{name}", "/rules/Freeze%202020", None, 200).await;
    let rule = json!({"name": "One at a time", "type": "concurrency", "max": 1,
                      "environments": ["production"], "stale_after": "2h"});
    check("POST", "/rules/", "/rules/", Some(rule), 201).await;
    check(
        "POST",
        "/rules/{name}/status",
        "/rules/One%20at%20a%20time/status",
        Some(json!({"status": "report_only", "reason": "trial"})),
        200,
    )
    .await;
    check(
        "GET",
        "/rules/{name}/history",
        "/rules/One%20at%20a%20time/history",
        None,
        200,
    )
    .await;
    check("GET", "/rule-history/", "/rule-history/", None, 200).await;
    let bad = json!({"policy": {"rules": [{"name": "x", "type": "flow"}]}});
    let p = check("POST", "/rules/apply", "/rules/apply", Some(bad), 422).await;
    assert!(p["problems"].is_array(), "{p:#}");
    let merge = json!({"policy": "[[rules]]\nname = 'Soak'\ntype = 'flow'\nenvironments = ['production']\nprerequisites = ['staging']\nsoak = '1h'\n", "mode": "merge"});
    check("POST", "/rules/apply", "/rules/apply", Some(merge), 200).await;

    // Approvals.
    let approval = json!({"product_name": "api", "version": "1.0.0", "approval_type": "qa", "approver": "lee"});
    let a = check("POST", "/approvals/", "/approvals/", Some(approval), 201).await;
    check(
        "GET",
        "/approvals/",
        "/approvals/?product=api&version=1.0.0",
        None,
        200,
    )
    .await;
    let aid = a["id"].as_str().unwrap();
    check(
        "POST",
        "/approvals/{id}/revoke",
        &format!("/approvals/{aid}/revoke"),
        Some(json!({"reason": "wrong build"})),
        200,
    )
    .await;

    // API keys: create (the key shown once), list, change role, revoke; the last admin kept.
    let k = check(
        "POST",
        "/api-keys/",
        "/api-keys/",
        Some(json!({"name": "dana-laptop", "principal": "dana", "role": "qa"})),
        201,
    )
    .await;
    assert!(
        k["key"].as_str().is_some_and(|s| s.starts_with("sk_vr_")),
        "{k:#}"
    );
    check(
        "POST",
        "/api-keys/",
        "/api-keys/",
        Some(json!({"name": "root", "role": "admin"})),
        201,
    )
    .await;
    let list = check("GET", "/api-keys/", "/api-keys/", None, 200).await;
    assert!(
        !list.to_string().contains(k["key"].as_str().unwrap()),
        "never a secret: {list:#}"
    );
    let kid = k["id"].as_str().unwrap();
    let changed = check(
        "PATCH",
        "/api-keys/{id}",
        &format!("/api-keys/{kid}"),
        Some(json!({"role": "security"})),
        200,
    )
    .await;
    assert_eq!(changed["role"], "security");
    check(
        "PATCH",
        "/api-keys/{id}",
        "/api-keys/nope",
        Some(json!({"role": "security"})),
        404,
    )
    .await;
    let last = check("DELETE", "/api-keys/{id}", "/api-keys/root", None, 422).await;
    assert_eq!(last["code"], "INVALID_INPUT", "{last:#}");
    let a = send(&app, "DELETE", &format!("/api-keys/{kid}"), None).await;
    assert_eq!(a.status, 204);

    // Meta.
    check("GET", "/health", "/health", None, 200).await;
    assert!(checked.len() >= 34, "{checked:?}");
}

#[test]
fn the_conformance_check_refuses_what_the_document_does_not_declare() {
    let doc = document();
    let health = json!({"status": "ok", "version": "1"});
    conforms(doc, "GET", "/health", 200, &health);
    for wrong in [
        json!({"status": "ok", "version": "1", "uptime": 5}),
        json!({"status": "ok"}),
        json!({"status": "ok", "version": 1}),
    ] {
        let refused = std::panic::catch_unwind(|| conforms(doc, "GET", "/health", 200, &wrong));
        assert!(refused.is_err(), "{wrong} was accepted");
    }
}

#[test]
fn every_route_the_client_calls_is_a_documented_route_of_the_server() {
    // The client builds its URLs only from `wire::endpoints`; each must be a route of this
    // server with the same method, or the client and server have drifted apart.
    let doc = document();
    for e in versioner_core::wire::endpoints::ALL {
        let op = &doc["paths"][e.path][e.method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "the client calls {} {}, which the server does not document",
            e.method,
            e.path
        );
        let template_params: BTreeSet<String> = e
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        assert_eq!(path_params(op), template_params, "{} {}", e.method, e.path);
    }
}
