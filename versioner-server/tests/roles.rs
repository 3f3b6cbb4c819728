//! Roles and identity through the server: the role matrix route by route for all ten roles of
//! the reference plus `ci`, identity coming from the key (approvals, self-approval exclusion,
//! rule changes), the approval catalog, and API key management with its invariants. Every
//! refusal is checked for its code, its message and that nothing was written.

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
use serde_json::{Value, json};
use tower::ServiceExt;
use versioner_core::access::Permission;
use versioner_core::policy::{ApplyMode, ApprovalCatalog, PolicyFormat};
use versioner_core::{BuildEvent, Versioner};
use versioner_server::routes::ALL_ROUTES;
use versioner_server::{AppState, Role, ServerOptions, router};

/// What the route table answers a key whose role lacks a route's permission.
const TABLE_REFUSAL: &str = "You do not have permission to perform this action";

struct Answer {
    status: u16,
    body: Value,
}

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
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
    Answer { status, body }
}

/// A server over a fresh database with one key per role (principal = the role's name) and
/// version `api` 1.0.0 built by `builder`.
struct World {
    vr: Versioner,
    app: Router,
    keys: BTreeMap<Role, String>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(policy: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let vr = Versioner::open(dir.path().join("v.db")).unwrap();
        vr.apply_policy_text(policy, PolicyFormat::Toml, ApplyMode::Replace, "setup")
            .unwrap();
        let mut b = BuildEvent::new("api", "1.0.0", "completed");
        b.built_by = Some("builder".into());
        vr.track_build(&b).unwrap();
        let keys = Role::ALL
            .into_iter()
            .map(|r| (r, vr.create_api_key(r.as_str(), r).unwrap().secret))
            .collect();
        let app = router(AppState::new(vr.clone(), ServerOptions::default()));
        World {
            vr,
            app,
            keys,
            _dir: dir,
        }
    }

    fn key(&self, role: Role) -> &str {
        &self.keys[&role]
    }

    /// A key for another principal with `role`.
    fn key_for(&self, principal: &str, role: Role) -> String {
        self.vr.create_api_key(principal, role).unwrap().secret
    }

    async fn send(&self, method: &str, path: &str, role: Role, body: Option<Value>) -> Answer {
        send(&self.app, method, path, Some(self.key(role)), body.as_ref()).await
    }

    fn seq(&self) -> i64 {
        self.vr.last_event_seq().unwrap()
    }
}

/// A request for each route that passes validation when the role may make it (or reaches a
/// `NOT_FOUND` for a path parameter); `role` makes names unique.
fn request_for(method: &str, path: &str, role: Role) -> (String, Option<Value>) {
    let r = role.as_str();
    let catalog = ApprovalCatalog::new();
    let grantable = catalog
        .grants_of(role)
        .first()
        .cloned()
        .unwrap_or_else(|| "qa".into());
    let concrete = |p: &str| {
        p.split('/')
            .map(|seg| if seg.starts_with('{') { "nope" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    };
    let body = match (method, path) {
        ("POST", "/build-events/" | "/version-events/") => {
            Some(json!({"product_name": format!("svc-{r}"), "version": "1", "status": "completed"}))
        }
        ("POST", "/deployment-events/") => Some(
            json!({"product_name": format!("svc-{r}"), "version": "1", "environment_name": "dev", "status": "completed"}),
        ),
        ("POST", "/check") => {
            Some(json!({"product_name": "api", "version": "1.0.0", "environment_name": "dev"}))
        }
        ("POST", "/approvals/") => {
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": grantable}))
        }
        ("POST", "/approvals/{id}/revoke") => Some(json!({"reason": "matrix"})),
        ("POST", "/rules/") => {
            Some(json!({"name": format!("R {r}"), "type": "concurrency", "max": 1}))
        }
        ("PUT", "/rules/{name}") => Some(json!({"name": "nope", "type": "concurrency", "max": 1})),
        ("POST", "/rules/{name}/status") => Some(json!({"status": "enabled", "reason": "matrix"})),
        ("POST", "/rules/apply") => Some(json!({"policy": {"rules": []}, "mode": "merge"})),
        ("PUT", "/environments/{name}") => Some(json!({"type": "test"})),
        ("POST", "/api-keys/") => {
            Some(json!({"name": format!("k-{r}"), "principal": format!("p-{r}"), "role": "viewer"}))
        }
        ("PATCH", "/api-keys/{id}") => Some(json!({"role": "viewer"})),
        _ => None,
    };
    let mut p = concrete(path);
    match path {
        "/approvals/" if method == "GET" => p.push_str("?product=api&version=1.0.0"),
        "/versions/" => p.push_str("?product=api"),
        "/environments/{name}" => p = format!("/environments/lab-{r}"),
        _ => {}
    }
    (p, body)
}

/// The role matrix, route by route: every route the server answers, for each of the
/// reference's ten roles and `ci`. A role whose permission allows the route gets through the
/// route table (and the core's own check); any other is refused with 403 `FORBIDDEN` and the
/// reference's body, and nothing is written.
#[tokio::test]
async fn the_role_matrix_holds_route_by_route_for_all_ten_roles_plus_ci() {
    let w = World::new("");
    let mut seen: BTreeMap<Permission, usize> = BTreeMap::new();
    for route in ALL_ROUTES {
        let permission = route.permission.unwrap();
        *seen.entry(permission).or_default() += 1;
        for role in Role::ALL {
            let (path, body) = request_for(route.method, route.path, role);
            let before = w.seq();
            let a = w.send(route.method, &path, role, body).await;
            let what = format!(
                "{} {} as {role}: {} {}",
                route.method, path, a.status, a.body
            );
            if role.allows(permission) {
                assert!(
                    !matches!(a.status, 401 | 403),
                    "allowed, yet refused: {what}"
                );
                assert!(a.status < 500, "{what}");
            } else {
                assert_eq!(a.status, 403, "{what}");
                assert_eq!(a.body["code"], "FORBIDDEN", "{what}");
                assert_eq!(a.body["detail"], TABLE_REFUSAL, "{what}");
                assert_eq!(w.seq(), before, "a refusal wrote nothing: {what}");
            }
        }
    }
    // Every permission a route can declare is exercised.
    for p in [
        Permission::Public,
        Permission::Read,
        Permission::Track,
        Permission::Approve,
        Permission::ManageEnvironments,
        Permission::ManageRules,
        Permission::ManageKeys,
    ] {
        assert!(seen.contains_key(&p), "no route declares {p}: {seen:?}");
    }
    // What the allowed requests did: each approving role recorded its own approval, as itself,
    // with its role.
    let approvals = w.vr.approvals("api", "1.0.0").unwrap();
    let recorded: Vec<(String, Option<String>)> = approvals
        .iter()
        .map(|a| (a.approver.clone(), a.approver_role.clone()))
        .collect();
    let want: Vec<(String, Option<String>)> = Role::ALL
        .into_iter()
        .filter(|r| r.allows(Permission::Approve))
        .map(|r| (r.as_str().to_string(), Some(r.as_str().to_string())))
        .collect();
    assert_eq!(recorded, want);
}

const TWO_APPROVALS: &str = r#"
[[rules]]
name = "Two approvers"
type = "release_approval"
environments = ["production"]
required = 2
"#;

/// Issue 13: one approver key recorded approvals as "rita/sre" and "max/release_manager" and
/// satisfied "2 approvals". Now an approval is always the key's principal with its role.
#[tokio::test]
async fn one_approver_key_cannot_count_as_two_approvers() {
    let w = World::new(TWO_APPROVALS);
    let max = w.key_for("max", Role::ReleaseManager);
    let approve = |extra: Value| {
        let mut b = json!({"product_name": "api", "version": "1.0.0", "approval_type": "release",
                           "environment": "production"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let before = w.seq();
    let a = send(
        &w.app,
        "POST",
        "/approvals/",
        Some(&max),
        Some(&approve(
            json!({"approver": "rita", "approver_role": "sre"}),
        )),
    )
    .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (422, Some("INVALID_INPUT")),
        "{}",
        a.body
    );
    assert_eq!(a.body["detail"][0]["loc"][1], "approver");
    assert_eq!(
        a.body["message"],
        "invalid `approver`: `rita` is not the caller: this request acts as `max` (the API \
         key's principal), and records it; leave `approver` out or give `max`"
    );
    let a = send(
        &w.app,
        "POST",
        "/approvals/",
        Some(&max),
        Some(&approve(json!({"approver_role": "sre"}))),
    )
    .await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("approver_role")),
        "{}",
        a.body
    );
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("`max` has the role release_manager, not sre"),
        "{}",
        a.body
    );
    assert_eq!(w.seq(), before, "nothing was written");
    assert!(w.vr.approvals("api", "1.0.0").unwrap().is_empty());

    // Twice as itself (in any spelling of its name): one approver.
    for body in [
        approve(json!({})),
        approve(json!({"approver": "MAX", "approver_role": "release_manager"})),
    ] {
        let a = send(&w.app, "POST", "/approvals/", Some(&max), Some(&body)).await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(
            (
                a.body["approver"].as_str(),
                a.body["approver_role"].as_str()
            ),
            (Some("max"), Some("release_manager"))
        );
    }
    let ev = json!({"product_name": "api", "version": "1.0.0", "environment_name": "production", "status": "started"});
    let a = w
        .send("POST", "/deployment-events/", Role::Ci, Some(ev.clone()))
        .await;
    assert_eq!(a.status, 428, "{}", a.body);
    assert_eq!(a.body["detail"]["code"], "APPROVAL_REQUIRED");
    let outcome = &a.body["detail"]["verdict"]["outcomes"][0]["details"];
    assert_eq!(
        (
            outcome["current_approvals"].as_u64(),
            outcome["approvers"].clone()
        ),
        (Some(1), json!(["max"])),
        "{}",
        a.body
    );

    // A second principal makes two.
    let sam = w.key_for("sam", Role::Sre);
    assert_eq!(
        send(
            &w.app,
            "POST",
            "/approvals/",
            Some(&sam),
            Some(&approve(json!({})))
        )
        .await
        .status,
        201
    );
    assert_eq!(
        w.send("POST", "/deployment-events/", Role::Ci, Some(ev))
            .await
            .status,
        200
    );
}

const ONE_APPROVAL: &str = r#"
[[rules]]
name = "One approver"
type = "release_approval"
environments = ["production"]
required = 1
"#;

/// Issue 13: a deployment claiming `deployed_by: "zed"` passed the self-approval exclusion
/// for "dee". Now the principal recording the deployment never counts, whatever
/// `deployed_by` says; a CI key deploying for a person excludes that person too.
#[tokio::test]
async fn a_false_deployed_by_cannot_defeat_self_approval_exclusion() {
    let w = World::new(ONE_APPROVAL);
    let dee = w.key_for("dee", Role::Sre);
    let approval = json!({"product_name": "api", "version": "1.0.0", "approval_type": "release"});
    assert_eq!(
        send(&w.app, "POST", "/approvals/", Some(&dee), Some(&approval))
            .await
            .status,
        201
    );

    let ev = |by: &str| {
        json!({"product_name": "api", "version": "1.0.0", "environment_name": "production",
                               "status": "started", "deployed_by": by})
    };
    let before = w.seq();
    let a = send(
        &w.app,
        "POST",
        "/deployment-events/",
        Some(&dee),
        Some(&ev("zed")),
    )
    .await;
    assert_eq!(
        (a.status, a.body["detail"]["code"].as_str()),
        (428, Some("APPROVAL_REQUIRED")),
        "{}",
        a.body
    );
    let details = &a.body["detail"]["verdict"]["outcomes"][0]["details"];
    assert_eq!(details["excluded"][0]["approver"], "dee");
    assert_eq!(
        details["excluded"][0]["reason"],
        "the approver is the principal recording the deployment"
    );
    assert_eq!(
        w.vr.history(&versioner_core::HistoryQuery::new())
            .unwrap()
            .len(),
        0,
        "nothing recorded"
    );
    assert_eq!(w.seq(), before + 1, "only the refusal's event");

    // A CI key deploying for dee: dee is excluded as the person deploying.
    let a = w
        .send("POST", "/deployment-events/", Role::Ci, Some(ev("dee")))
        .await;
    assert_eq!(a.status, 428, "{}", a.body);
    assert_eq!(
        a.body["detail"]["verdict"]["outcomes"][0]["details"]["excluded"][0]["reason"],
        "the approver is the person deploying"
    );

    // The CI key deploying for someone else: dee's approval counts; both names are recorded.
    let a = w
        .send("POST", "/deployment-events/", Role::Ci, Some(ev("zed")))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        (
            a.body["deployed_by"].as_str(),
            a.body["recorded_by"].as_str()
        ),
        (Some("zed"), Some("ci"))
    );
}

/// `deployed_by` and `built_by` default to the key's principal; `recorded_by` is always it.
#[tokio::test]
async fn events_are_recorded_by_the_keys_principal() {
    let w = World::new("");
    let dev = w.key_for("dana", Role::Developer);
    let b = send(
        &w.app,
        "POST",
        "/build-events/",
        Some(&dev),
        Some(&json!({"product_name": "web", "version": "2", "status": "completed"})),
    )
    .await;
    assert_eq!(
        (b.body["built_by"].as_str(), b.body["recorded_by"].as_str()),
        (Some("dana"), Some("dana")),
        "{}",
        b.body
    );
    let d = send(&w.app, "POST", "/deployment-events/", Some(&dev), Some(&json!({"product_name": "web", "version": "2", "environment_name": "dev", "status": "completed"}))).await;
    assert_eq!(
        (
            d.body["deployed_by"].as_str(),
            d.body["recorded_by"].as_str()
        ),
        (Some("dana"), Some("dana")),
        "{}",
        d.body
    );
    // A builder never approves its own version (its principal is recorded with the build).
    let a = send(
        &w.app,
        "POST",
        "/approvals/",
        Some(&w.key_for("dana-2", Role::Developer)),
        Some(&json!({"product_name": "web", "version": "2", "approval_type": "code_review"})),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
}

/// Issue 13: an approval type typo (`secuirty`) was accepted silently.
#[tokio::test]
async fn an_unknown_approval_type_is_invalid_input_naming_the_accepted_ones() {
    let w = World::new("");
    let before = w.seq();
    let a = w
        .send(
            "POST",
            "/approvals/",
            Role::Security,
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": "secuirty"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (422, Some("INVALID_INPUT")),
        "{}",
        a.body
    );
    assert_eq!(a.body["detail"][0]["loc"][1], "approval_type");
    assert_eq!(
        a.body["message"],
        "invalid `approval_type`: `secuirty` is not an approval type; accepted: qa, security, \
         uat, code_review, compliance, performance, release (a policy file declares others under \
         `[approvals] types`)"
    );
    assert_eq!(w.seq(), before);
    assert!(w.vr.approvals("api", "1.0.0").unwrap().is_empty());

    // A rule naming it is refused too, listing every problem.
    let before = w.seq();
    let a = w
        .send(
            "POST",
            "/rules/",
            Role::Admin,
            Some(
                json!({"name": "Sec", "type": "version_approval", "approval_types": ["secuirty"]}),
            ),
        )
        .await;
    assert_eq!(
        (a.status, a.body["problems"][0]["field"].as_str()),
        (422, Some("approval_types")),
        "{}",
        a.body
    );
    assert_eq!(w.seq(), before);
    assert!(w.vr.rules().unwrap().is_empty());
}

/// Which role grants which type follows the reference (§6): a role outside it is refused with
/// `FORBIDDEN`, naming what it may grant and who may grant the type.
#[tokio::test]
async fn roles_grant_only_their_approval_types() {
    let w = World::new("");
    let before = w.seq();
    let a = w
        .send(
            "POST",
            "/approvals/",
            Role::Qa,
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": "security"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{}",
        a.body
    );
    assert_eq!(
        a.body["message"],
        "`qa` has the role qa, which may not grant `security` approvals (qa may grant: qa, \
         performance, release); `security` is granted by: admin, release_manager, security"
    );
    let a = w
        .send(
            "POST",
            "/approvals/",
            Role::Developer,
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": "release"})),
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(w.seq(), before);
    assert!(w.vr.approvals("api", "1.0.0").unwrap().is_empty());
    assert_eq!(
        w.send(
            "POST",
            "/approvals/",
            Role::Product,
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": "UAT"}))
        )
        .await
        .status,
        201
    );
}

/// The policy file declares types and changes grants; approvals follow it at once.
#[tokio::test]
async fn the_policy_file_declares_types_and_grants() {
    let w = World::new("");
    let policy = r#"
[approvals]
types = ["change_board"]
[approvals.grants]
qa = ["qa", "change_board"]
"#;
    let a = w
        .send(
            "POST",
            "/rules/apply",
            Role::Admin,
            Some(json!({"policy": policy})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cb = json!({"product_name": "api", "version": "1.0.0", "approval_type": "Change Board"});
    let a = w
        .send("POST", "/approvals/", Role::Qa, Some(cb.clone()))
        .await;
    assert_eq!(
        (a.status, a.body["approval_type"].as_str()),
        (201, Some("change_board")),
        "{}",
        a.body
    );
    assert_eq!(
        w.send("POST", "/approvals/", Role::Security, Some(cb))
            .await
            .status,
        403
    );
    // qa no longer grants `release`.
    let a = w
        .send(
            "POST",
            "/approvals/",
            Role::Qa,
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": "release"})),
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // Every problem of a bad catalog at once; nothing applied.
    let bad =
        "[approvals]\ntypes = ['ok!']\n[approvals.grants]\nwizard = ['qa']\nviewer = ['qa']\n";
    let before = w.seq();
    let a = w
        .send(
            "POST",
            "/rules/apply",
            Role::Admin,
            Some(json!({"policy": bad})),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    let fields: Vec<&str> = a.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["types", "grants.viewer", "grants.wizard"],
        "{}",
        a.body
    );
    assert_eq!(w.seq(), before);
    assert!(
        w.vr.approval_catalog()
            .unwrap()
            .types()
            .contains(&"change_board".to_string())
    );
}

/// Rule changes record the key's principal; a different `actor` is refused.
#[tokio::test]
async fn rule_changes_record_the_keys_principal() {
    let w = World::new("[[rules]]\nname = 'Serial'\ntype = 'concurrency'\nmax = 1\n");
    let before = w.seq();
    let a = w
        .send(
            "POST",
            "/rules/Serial/status",
            Role::Sre,
            Some(json!({"status": "disabled", "reason": "INC-1", "actor": "dana"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("actor")),
        "{}",
        a.body
    );
    assert_eq!(w.seq(), before);
    let a = w
        .send(
            "POST",
            "/rules/Serial/status",
            Role::Sre,
            Some(json!({"status": "disabled", "reason": "INC-1"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let h = w.vr.rule_history(Some("Serial")).unwrap();
    assert_eq!(
        (h[0].actor.as_str(), h[0].reason.as_str()),
        ("sre", "INC-1")
    );
    let events = w.vr.events_since(before, 10).unwrap();
    assert_eq!(events[0].actor.as_deref(), Some("sre"));
}

/// Approvals are revoked by their approver, or by an admin or release manager.
#[tokio::test]
async fn approvals_are_revoked_by_their_owner_or_a_release_manager() {
    let w = World::new("");
    let a = w
        .send(
            "POST",
            "/approvals/",
            Role::Qa,
            Some(json!({"product_name": "api", "version": "1.0.0", "approval_type": "qa"})),
        )
        .await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let before = w.seq();
    let r = w
        .send(
            "POST",
            &format!("/approvals/{id}/revoke"),
            Role::Security,
            Some(json!({"reason": "no"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("is `qa`'s; `security` (role security) may revoke only their own approvals"),
        "{}",
        r.body
    );
    assert_eq!(w.seq(), before);
    let r = w
        .send(
            "POST",
            &format!("/approvals/{id}/revoke"),
            Role::ReleaseManager,
            Some(json!({"reason": "wrong build"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["revoked_by"].as_str()),
        (200, Some("release_manager")),
        "{}",
        r.body
    );
}

/// `/api-keys/`: admin only; the key shown once; a principal's role is changed for all its
/// keys; there is always an admin; nobody changes their own role.
#[tokio::test]
async fn keys_are_managed_over_http_and_there_is_always_an_admin() {
    let w = World::new("");
    let k = w
        .send(
            "POST",
            "/api-keys/",
            Role::Admin,
            Some(json!({"name": "dana-laptop", "principal": "dana", "role": "qa"})),
        )
        .await;
    assert_eq!(k.status, 201, "{}", k.body);
    let secret = k.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        (k.body["principal"].as_str(), k.body["role"].as_str()),
        (Some("dana"), Some("qa"))
    );
    // A second key of dana: the principal's role, refused when another is asked for.
    let before = w.seq();
    let a = w
        .send(
            "POST",
            "/api-keys/",
            Role::Admin,
            Some(json!({"name": "dana-ci", "principal": "Dana", "role": "admin"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("role")),
        "{}",
        a.body
    );
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("`dana` has the role qa"),
        "{}",
        a.body
    );
    let a = w
        .send(
            "POST",
            "/api-keys/",
            Role::Admin,
            Some(json!({"name": "newbie"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("role")),
        "{}",
        a.body
    );
    let a = w
        .send(
            "POST",
            "/api-keys/",
            Role::Admin,
            Some(json!({"name": "x", "role": "root"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["detail"][0]["loc"][1].as_str()),
        (422, Some("role")),
        "{}",
        a.body
    );
    assert_eq!(w.seq(), before);
    let a = w
        .send(
            "POST",
            "/api-keys/",
            Role::Admin,
            Some(json!({"name": "dana-2", "principal": "dana"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["role"].as_str()),
        (201, Some("qa")),
        "{}",
        a.body
    );

    // The secret never shows again.
    let list = w.send("GET", "/api-keys/", Role::Admin, None).await;
    assert!(!list.body.to_string().contains(&secret));

    // dana's role, for both keys at once.
    let id = k.body["id"].as_str().unwrap();
    let a = w
        .send(
            "PATCH",
            &format!("/api-keys/{id}"),
            Role::Admin,
            Some(json!({"role": "security"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["role"].as_str()),
        (200, Some("security")),
        "{}",
        a.body
    );
    let sec = send(
        &w.app,
        "POST",
        "/approvals/",
        Some(&secret),
        Some(&json!({"product_name": "api", "version": "1.0.0", "approval_type": "security"})),
    )
    .await;
    assert_eq!(
        (
            sec.status,
            sec.body["approver"].as_str(),
            sec.body["approver_role"].as_str()
        ),
        (201, Some("dana"), Some("security"))
    );

    // The last admin: not revoked, not downgraded; nobody changes their own role.
    let before = w.seq();
    let a = w.send("DELETE", "/api-keys/admin", Role::Admin, None).await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (422, Some("INVALID_INPUT")),
        "{}",
        a.body
    );
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("is the last active key of the last admin (`admin`)"),
        "{}",
        a.body
    );
    let a = w
        .send(
            "PATCH",
            "/api-keys/admin",
            Role::Admin,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{}",
        a.body
    );
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot change its own role"),
        "{}",
        a.body
    );
    assert_eq!(w.seq(), before, "nothing was written");

    // With a second admin, the first may be downgraded (by the other).
    let chief = w.key_for("chief", Role::Admin);
    let a = send(
        &w.app,
        "PATCH",
        "/api-keys/admin",
        Some(&chief),
        Some(&json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(
        (a.status, a.body["role"].as_str()),
        (200, Some("viewer")),
        "{}",
        a.body
    );
    // chief is now the last admin: its last key stays, and its role too (in process as well).
    let before = w.seq();
    let a = send(&w.app, "DELETE", "/api-keys/chief", Some(&chief), None).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let e = w.vr.set_principal_role("chief", Role::Sre).unwrap_err();
    assert_eq!(e.code(), versioner_core::ErrorCode::InvalidInput);
    assert!(e.to_string().contains("`chief` is the last admin"), "{e}");
    let a = send(&w.app, "DELETE", "/api-keys/chief", Some(&secret), None).await;
    assert_eq!(
        (a.status, a.body["detail"].as_str()),
        (403, Some(TABLE_REFUSAL))
    );
    assert_eq!(w.seq(), before, "nothing was written");
    assert_eq!(
        w.vr.api_keys()
            .unwrap()
            .iter()
            .filter(|k| k.is_active() && k.role == Role::Admin)
            .count(),
        1
    );
    // The old admin key now reads only.
    assert_eq!(
        w.send("GET", "/api-keys/", Role::Admin, None).await.status,
        403
    );
    assert_eq!(w.send("GET", "/state", Role::Admin, None).await.status, 200);
}
