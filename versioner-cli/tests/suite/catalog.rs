//! The catalog (issue 18, item 10): products and environments carry a description and
//! `extra_metadata` and can be renamed, keeping their ids and history, through the HTTP API
//! (`GET`/`PATCH /products/{product}`, `GET`/`PATCH /environments/{name}`), the client and the
//! CLI (`products rename|set`, `environments rename|set`).

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;
use versioner_core::client::Client;
use versioner_core::{CatalogChange, DeploymentEvent, ErrorCode, HistoryQuery, Tracker};

use crate::support::{Fixture, TestServer, versioner};

async fn call(
    app: &Router,
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
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

fn seed(f: &Fixture) {
    for env in ["staging", "production", "qa-eu"] {
        f.vr()
            .track_deployment(&DeploymentEvent::new("api", "1.0", env, "success"))
            .unwrap();
    }
}

#[tokio::test]
async fn products_and_environments_are_read_renamed_and_described_over_http() {
    let f = Fixture::new();
    seed(&f);
    let app = f.router();
    let id = f.vr().product("api").unwrap().id;

    let (status, body) = call(&app, "GET", "/products/api", &f.viewer, None).await;
    assert_eq!((status, body["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["extra_metadata"], json!({}));
    let (status, body) = call(&app, "GET", &format!("/products/{id}"), &f.viewer, None).await;
    assert_eq!((status, body["name"].clone()), (200, json!("api")));

    // A viewer may read, not change; nothing is written.
    let seq = f.vr().last_event_seq().unwrap();
    let (status, body) = call(
        &app,
        "PATCH",
        "/products/api",
        &f.viewer,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!("FORBIDDEN")));
    assert_eq!(f.vr().last_event_seq().unwrap(), seq);

    // Unknown keys, a taken name and an empty change are 422s naming the field; nothing written.
    f.vr()
        .track_deployment(&DeploymentEvent::new("tools", "1", "staging", "success"))
        .unwrap();
    let seq = f.vr().last_event_seq().unwrap();
    for (change, field) in [
        (json!({"nmae": "x"}), "nmae"),
        (json!({"name": "TOOLS "}), "already has this name"),
        (json!({"name": "t00ls"}), "looks like the existing `tools`"),
        (json!({"name": "a\u{202E}pi"}), "U+202E"),
        (json!({}), "changes nothing"),
        (json!({"extra_metadata": [1]}), "extra_metadata"),
    ] {
        let (status, body) = call(
            &app,
            "PATCH",
            "/products/api",
            &f.admin,
            Some(change.clone()),
        )
        .await;
        assert_eq!(status, 422, "{change}: {body}");
        assert_eq!(body["code"], "INVALID_INPUT", "{change}: {body}");
        assert!(body.to_string().contains(field), "{change}: {body}");
    }
    assert_eq!(
        f.vr().last_event_seq().unwrap(),
        seq,
        "a refused change wrote"
    );
    let (status, _) = call(
        &app,
        "PATCH",
        "/products/nope",
        &f.admin,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, 404);

    let (status, body) = call(
        &app,
        "PATCH",
        "/products/api",
        &f.approver,
        Some(json!({"name": "api-service", "description": "The public API", "extra_metadata": {"team": "core"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["name"], "api-service");
    assert_eq!(body["description"], "The public API");
    assert_eq!(body["extra_metadata"]["team"], "core");
    // History follows; the old name is gone.
    let (_, history) = call(
        &app,
        "GET",
        "/deployments/?product=api-service",
        &f.viewer,
        None,
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 3);
    let (status, body) = call(&app, "GET", "/products/api", &f.viewer, None).await;
    assert_eq!((status, body["code"].clone()), (404, json!("NOT_FOUND")));
    let (_, list) = call(&app, "GET", "/products/", &f.viewer, None).await;
    assert_eq!(list[0]["description"], "The public API");

    // Environments: the fixture's flow rule names staging and production, so those are
    // refused; qa-eu is free.
    let (status, body) = call(
        &app,
        "PATCH",
        "/environments/staging",
        &f.admin,
        Some(json!({"name": "stage"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("Staging before production"),
        "{body}"
    );
    let (status, body) = call(
        &app,
        "PATCH",
        "/environments/qa-eu",
        &f.admin,
        Some(json!({"name": "qa-frankfurt", "extra_metadata": {"region": "eu-central-1"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "qa-frankfurt");
    assert_eq!(body["type"], "test");
    let (status, body) = call(&app, "GET", "/environments/qa-frankfurt", &f.viewer, None).await;
    assert_eq!(
        (status, body["extra_metadata"]["region"].clone()),
        (200, json!("eu-central-1"))
    );
    let (status, _) = call(&app, "GET", "/environments/qa-eu", &f.viewer, None).await;
    assert_eq!(status, 404);
    // The type route is untouched by the new one on the same path.
    let (status, body) = call(
        &app,
        "PUT",
        "/environments/qa-frankfurt",
        &f.admin,
        Some(json!({"type": "staging"})),
    )
    .await;
    assert_eq!((status, body["type"].clone()), (200, json!("staging")));

    // The audit chain holds every change, intact.
    let events = f.vr().events_since(seq, 100).unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert!(types.contains(&"product.renamed"), "{types:?}");
    assert!(types.contains(&"environment.renamed"), "{types:?}");
    assert!(f.vr().audit_verify().unwrap().is_intact());
}

#[test]
fn the_client_renames_and_describes_as_in_process() {
    let f = Fixture::new();
    seed(&f);
    let server = TestServer::start(f.router());
    let client = Client::new(&server.url, Some(&f.admin)).unwrap();
    let p = client
        .update_product(
            "api",
            &CatalogChange::rename("api-service").description("core"),
        )
        .unwrap();
    assert_eq!(p.name, "api-service");
    assert_eq!(
        client.product(&p.id).unwrap().description.as_deref(),
        Some("core")
    );
    assert_eq!(
        client.product("api").map_err(|e| e.code()).err(),
        Some(ErrorCode::NotFound)
    );
    let e = client
        .update_environment(
            "qa-eu",
            &CatalogChange::default().description("QA in the EU"),
        )
        .unwrap();
    assert_eq!(client.environment("qa-eu").unwrap().id, e.id);
    let err = client
        .update_environment("production", &CatalogChange::rename("prod"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        err.to_string().contains("Staging before production"),
        "{err}"
    );
    let history = client
        .history(&HistoryQuery::new().product("api-service"))
        .unwrap();
    assert_eq!(history.len(), 3);
}

#[test]
fn the_cli_renames_and_describes_in_process_and_through_a_server() {
    let f = Fixture::new();
    seed(&f);
    let server = TestServer::start(f.router());
    let home = f.dir.path();
    let remote = [
        ("VERSIONER_API_URL", server.url.as_str()),
        ("VERSIONER_API_KEY", f.admin.as_str()),
    ];
    let r = versioner(home, &["products", "rename", "api", "api-service"], &remote);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("✓ Product `api` is now `api-service`"),
        "{r:?}"
    );
    let r = versioner(
        home,
        &[
            "products",
            "set",
            "api-service",
            "--description",
            "The public API\nv2",
            "--extra-metadata",
            r#"{"team":"core"}"#,
        ],
        &remote,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(home, &["products", "describe", "api-service"], &remote);
    assert!(
        r.stdout
            .contains("Description: The public API\n             v2"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(r#"Metadata:    {"team":"core"}"#),
        "{r:?}"
    );
    assert!(r.stdout.contains("production: 1.0"), "{r:?}");
    let r = versioner(home, &["products", "set", "api-service"], &remote);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("nothing to set"), "{r:?}");
    let r = versioner(
        home,
        &["products", "set", "api-service", "--extra-metadata", "[1]"],
        &remote,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("JSON object"), "{r:?}");

    // In process, on the server's database: the same records.
    let db = f.db.to_str().unwrap();
    let local = [("VERSIONER_DB", db)];
    let r = versioner(
        home,
        &["products", "describe", "api-service", "-o", "json"],
        &local,
    );
    assert_eq!(r.json()["product"]["extra_metadata"]["team"], "core");
    let r = versioner(
        home,
        &["environments", "rename", "staging", "stage"],
        &local,
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("named by rule(s) `Staging before production`"),
        "{r:?}"
    );
    let r = versioner(
        home,
        &[
            "environments",
            "rename",
            "qa-eu",
            "qa-frankfurt",
            "-o",
            "json",
        ],
        &local,
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["name"], "qa-frankfurt");
    let r = versioner(
        home,
        &[
            "environments",
            "set",
            "qa-frankfurt",
            "--description",
            "Frankfurt",
        ],
        &local,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = versioner(home, &["environments", "describe", "qa-frankfurt"], &remote);
    assert!(r.stdout.contains("Description: Frankfurt"), "{r:?}");
    assert!(r.stdout.contains("api-service: 1.0"), "{r:?}");
    let r = versioner(home, &["status"], &remote);
    assert!(
        r.stdout.contains("qa-frankfurt") && r.stdout.contains("api-service"),
        "{r:?}"
    );
}
