//! The dashboard's protection and pages through the router, without a network: sessions
//! (sign-in, the cookie's attributes, sign-out), the role matrix on every page and action,
//! CSRF tokens and same-origin writes (with `--no-auth` too), the security headers, the
//! matrix's `data-` attributes, and the live stream resuming after `Last-Event-ID`. Every
//! refusal is checked for its status and that nothing changed. The browser suite
//! (`tests/browser/test_dashboard.py`) drives the same pages in Chromium.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, Response, header};
use futures_util::StreamExt as _;
use tower::ServiceExt;
use versioner_core::policy::{ApplyMode, PolicyFormat, RuleStatus};
use versioner_core::{DeploymentEvent, Versioner};
use versioner_server::{AppState, AuthMode, Role, ServerOptions, router};

const POLICY: &str = r#"
[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
"#;

struct World {
    vr: Versioner,
    app: Router,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(options: ServerOptions) -> World {
        let dir = tempfile::tempdir().unwrap();
        let vr = Versioner::open(dir.path().join("v.db")).unwrap();
        vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "setup")
            .unwrap();
        for (p, v, e) in [
            ("api", "1.0", "dev"),
            ("api", "1.1", "staging"),
            ("web", "2", "dev"),
        ] {
            vr.track_deployment(&DeploymentEvent::new(p, v, e, "completed"))
                .unwrap();
        }
        let app = router(AppState::new(vr.clone(), options));
        World { vr, app, _dir: dir }
    }

    fn key(&self, principal: &str, role: Role) -> String {
        self.vr
            .create_key(
                &versioner_core::ApiKeyRequest::new(format!("{principal}-key"))
                    .principal(principal)
                    .role(role),
            )
            .unwrap()
            .secret
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (Response<Body>, String) {
        let mut req = Request::builder().uri(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap();
        (
            Response::from_parts(parts, Body::empty()),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> (Response<Body>, String) {
        let mut req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::HOST, "127.0.0.1:8000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        let body = serde_urlencoded::to_string(form).unwrap();
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap();
        (
            Response::from_parts(parts, Body::empty()),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Signs in with `key`; the session cookie (`vr_session=…`) and the page's CSRF token.
    async fn sign_in(&self, key: &str) -> (String, String) {
        let (resp, _) = self
            .post(
                "/ui/sign-in",
                None,
                Some(HERE),
                &[("key", key), ("next", "/ui/rules")],
            )
            .await;
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()[header::LOCATION], "/ui/rules");
        let set = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        let (resp, page) = self.get("/ui/rules", Some(&cookie)).await;
        assert_eq!(resp.status(), 200, "{page}");
        (cookie, csrf_of(&page))
    }

    fn status_of(&self, rule: &str) -> RuleStatus {
        self.vr.rule(rule).unwrap().rule.status
    }
}

const HERE: &str = "http://127.0.0.1:8000";

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_the_session() {
    let w = World::new(ServerOptions::default());
    let key = w.key("dana", Role::Viewer);

    // Without a session every page sends the browser to sign in (and names where it was).
    let (resp, _) = w.get("/ui/deployments?product=api", None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()[header::LOCATION],
        "/ui/sign-in?next=%2Fui%2Fdeployments%3Fproduct%3Dapi"
    );
    let (resp, _) = w.get("/ui/events", None).await;
    assert_eq!(resp.status(), 401);

    // A wrong key: 401, the form again, no cookie.
    let (resp, page) = w
        .post("/ui/sign-in", None, Some(HERE), &[("key", "sk_vr_nope")])
        .await;
    assert_eq!(resp.status(), 401);
    assert!(page.contains("not valid"), "{page}");
    assert!(resp.headers().get(header::SET_COOKIE).is_none());

    let (resp, _) = w
        .post(
            "/ui/sign-in",
            None,
            Some(HERE),
            &[("key", &key), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(resp.headers()[header::LOCATION], "/", "never another site");
    let set = resp.headers()[header::SET_COOKIE].to_str().unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let cookie = set.split(';').next().unwrap().to_string();

    let (resp, page) = w.get("/", Some(&cookie)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        page.contains("dana") && page.contains("viewer"),
        "who is signed in"
    );
    let csrf = csrf_of(&page);

    // Sign-out needs the CSRF token; then the session is gone from the database.
    let (resp, _) = w.post("/ui/sign-out", Some(&cookie), Some(HERE), &[]).await;
    assert_eq!(resp.status(), 403);
    let (resp, _) = w.get("/", Some(&cookie)).await;
    assert_eq!(resp.status(), 200, "a refused sign-out changes nothing");
    let (resp, _) = w
        .post(
            "/ui/sign-out",
            Some(&cookie),
            Some(HERE),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let token = cookie.trim_start_matches("vr_session=");
    assert_eq!(w.vr.session(token).unwrap(), None);
    let (resp, _) = w.get("/", Some(&cookie)).await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_server_says_so() {
    let w = World::new(ServerOptions::default().secure_cookies(true));
    let key = w.key("dana", Role::Viewer);
    let (resp, _) = w
        .post("/ui/sign-in", None, Some(HERE), &[("key", &key)])
        .await;
    assert!(
        resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}

#[tokio::test]
async fn rule_changes_need_the_role_the_csrf_token_and_the_same_origin() {
    let w = World::new(ServerOptions::default());
    let (admin, admin_csrf) = w.sign_in(&w.key("ada", Role::Admin)).await;
    let (viewer, viewer_csrf) = w.sign_in(&w.key("val", Role::Viewer)).await;
    let change = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("name", "One at a time".to_string()),
            ("status", "disabled".to_string()),
            ("reason", "maintenance".to_string()),
        ]
    };
    let send = |cookie: &str, origin: Option<&'static str>, form: Vec<(&'static str, String)>| {
        let cookie = cookie.to_string();
        let w = &w;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.post("/ui/rules/status", Some(&cookie), origin, &pairs)
                .await
        }
    };

    // Refusals, none of which changes anything.
    let (resp, _) = send(&admin, Some(HERE), change("")).await;
    assert_eq!(resp.status(), 403, "no CSRF token");
    let (resp, _) = send(&admin, Some(HERE), change(&viewer_csrf)).await;
    assert_eq!(resp.status(), 403, "another session's token");
    let (resp, page) = send(&admin, Some("http://evil.example"), change(&admin_csrf)).await;
    assert_eq!(resp.status(), 403, "from another site");
    // The server-wide guard (guard::same_origin) answers before the dashboard's own check.
    assert!(page.contains("cross-origin request refused"), "{page}");
    let (resp, page) = send(&viewer, Some(HERE), change(&viewer_csrf)).await;
    assert_eq!(resp.status(), 403, "a viewer may not change rules");
    assert!(page.contains("may not change rules"), "{page}");
    let (resp, page) = send(&admin, Some(HERE), {
        let mut f = change(&admin_csrf);
        f[3].1 = " ".into();
        f
    })
    .await;
    assert_eq!(resp.status(), 422, "a blank reason");
    assert!(page.contains("reason"), "{page}");
    let (resp, page) = send(&admin, Some(HERE), {
        let mut f = change(&admin_csrf);
        f[2].1 = "paused".into();
        f
    })
    .await;
    assert_eq!(resp.status(), 422, "an unknown status");
    assert!(page.contains("unknown rule status `paused`"), "{page}");
    assert_eq!(w.status_of("One at a time"), RuleStatus::Enabled);
    assert!(w.vr.rule_history(Some("One at a time")).unwrap().is_empty());

    // The admin's change is recorded as the admin's.
    let (resp, _) = send(&admin, Some(HERE), change(&admin_csrf)).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(w.status_of("One at a time"), RuleStatus::Disabled);
    let trail = w.vr.rule_history(Some("One at a time")).unwrap();
    assert_eq!(
        (trail[0].actor.as_str(), trail[0].reason.as_str()),
        ("ada", "maintenance")
    );
    let (_, page) = w.get("/ui/rules", Some(&viewer)).await;
    assert!(page.contains("data-rule-changes=\"refused\""), "{page}");
    assert!(
        !page.contains("action=\"/ui/rules/status\""),
        "no form for a viewer"
    );
}

#[tokio::test]
async fn a_role_that_may_not_read_sees_no_page() {
    let w = World::new(ServerOptions::default());
    let (ci, _) = {
        let key = w.key("pipeline", Role::Ci);
        let (resp, _) = w
            .post("/ui/sign-in", None, Some(HERE), &[("key", &key)])
            .await;
        let set = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        (set.split(';').next().unwrap().to_string(), ())
    };
    for path in [
        "/",
        "/ui/deployments",
        "/ui/rules",
        "/ui/check",
        "/ui/events",
        "/ui/products",
    ] {
        let (resp, page) = w.get(path, Some(&ci)).await;
        assert_eq!(resp.status(), 403, "{path}");
        assert!(page.contains("may not read the dashboard"), "{page}");
    }
}

#[tokio::test]
async fn the_matrix_carries_its_data_attributes_and_the_security_headers() {
    let w = World::new(ServerOptions::default());
    let (admin, _) = w.sign_in(&w.key("ada", Role::Admin)).await;
    let (resp, page) = w.get("/", Some(&admin)).await;
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    assert!(
        page.contains(r#"<tr data-product="api" data-drift="true">"#),
        "{page}"
    );
    assert!(page.contains(r#"<tr data-product="web">"#), "{page}");
    assert!(page.contains(r#"<td data-environment="staging" data-version="1.1">"#));
    assert!(
        page.contains(r#"<td data-environment="staging" data-version="">"#),
        "web: none"
    );
    // dev before staging (environment types), whatever the names' order.
    assert!(page.find(r#"data-environment="dev""#) < page.find(r#"data-environment="staging""#));
    // The API is not opened by the dashboard's session.
    let (resp, _) = w.get("/state", Some(&admin)).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn without_auth_the_dashboard_is_open_but_refuses_writes_from_another_site() {
    let w = World::new(ServerOptions::default().auth(AuthMode::Open));
    let (resp, page) = w.get("/", None).await;
    assert_eq!(resp.status(), 200);
    assert!(page.contains("open (no sign-in)"));
    let form = [
        ("name", "One at a time"),
        ("status", "report_only"),
        ("reason", "drill"),
    ];
    let (resp, _) = w
        .post("/ui/rules/status", None, Some("http://evil.example"), &form)
        .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(w.status_of("One at a time"), RuleStatus::Enabled);
    let (resp, _) = w.post("/ui/rules/status", None, Some(HERE), &form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(w.status_of("One at a time"), RuleStatus::ReportOnly);
    assert_eq!(
        w.vr.rule_history(Some("One at a time")).unwrap()[0].actor,
        "dashboard"
    );
}

#[tokio::test]
async fn the_live_stream_resumes_after_the_last_event_id() {
    let w = World::new(ServerOptions::default().auth(AuthMode::Open));
    let last = w.vr.last_event_seq().unwrap();
    let req = Request::builder()
        .uri("/ui/events")
        .header("last-event-id", (last - 1).to_string())
        .body(Body::empty())
        .unwrap();
    let resp = w.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = resp.into_body().into_data_stream();
    let first = String::from_utf8(body.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains(&format!("id: {last}")), "{first}");
    assert!(
        first.contains("\"type\":\"deployment.completed\""),
        "{first}"
    );
    // A new event arrives on the open stream.
    w.vr.track_deployment(&DeploymentEvent::new("web", "3", "dev", "completed"))
        .unwrap();
    let next = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        loop {
            let chunk = body.next().await.unwrap().unwrap();
            let text = String::from_utf8(chunk.to_vec()).unwrap();
            if text.contains("id: ") {
                return text;
            }
        }
    })
    .await
    .unwrap();
    assert!(next.contains(&format!("id: {}", last + 1)), "{next}");
}

#[tokio::test]
async fn the_sign_in_page_says_how_to_make_a_key_when_there_is_none() {
    let w = World::new(ServerOptions::default());
    let (resp, page) = w.get("/ui/sign-in", None).await;
    assert_eq!(resp.status(), 200);
    assert!(page.contains("data-no-keys") && page.contains("versioner keys create"));
    w.key("dana", Role::Viewer);
    let (_, page) = w.get("/ui/sign-in", None).await;
    assert!(!page.contains("data-no-keys"), "{page}");
}

/// Deployment Requests on the dashboard (issues 14 and 16): what awaits the signed-in
/// principal, approve and reject with a comment as that principal (CSRF and roles held as
/// everywhere), steps, and the progress grid.
#[tokio::test]
async fn requests_show_what_awaits_the_viewer_and_take_decisions_as_them() {
    use versioner_core::{BuildEvent, RequestAction, RequestActionRequest, RequestDraft, SlotSpec};
    let w = World::new(ServerOptions::default());
    w.vr.track_build(&BuildEvent::new("api", "2.0", "completed"))
        .unwrap();
    let mut d = RequestDraft::new("Q4 <release>")
        .version("api", "2.0")
        .environment("staging")
        .environment("production");
    d.slots = vec![SlotSpec::required("qa"), SlotSpec::required("security")];
    d.pre_steps = vec!["Announce".into()];
    d.created_by = "dana".into();
    let dr = w.vr.create_request(&d).unwrap();
    w.vr.act_on_request(
        &dr.id,
        &RequestActionRequest::new(RequestAction::Submit, "dana"),
    )
    .unwrap();
    let (quinn, quinn_csrf) = w.sign_in(&w.key("quinn", Role::Qa)).await;
    let (val, val_csrf) = w.sign_in(&w.key("val", Role::Viewer)).await;

    // The list: the QA engineer's slot awaits them; nothing awaits a viewer.
    let (resp, page) = w.get("/ui/requests", Some(&quinn)).await;
    assert_eq!(resp.status(), 200, "{page}");
    assert!(page.contains("data-awaiting=\"1\""), "{page}");
    assert!(page.contains("Q4 &lt;release&gt;"), "escaped: {page}");
    let (_, page) = w.get("/ui/requests", Some(&val)).await;
    assert!(page.contains("data-awaiting=\"0\""), "{page}");

    // The request's page: slots, the open step, the grid.
    let path = format!("/ui/requests/{}", dr.id);
    let (_, page) = w.get(&path, Some(&quinn)).await;
    assert!(
        page.contains("data-slot=\"qa\" data-slot-status=\"pending\""),
        "{page}"
    );
    assert!(page.contains("data-action=\"approve\""), "{page}");
    assert!(
        page.contains("data-cell=\"api@production\" data-cell-state=\"not_deployed\""),
        "{page}"
    );
    assert!(
        page.contains("data-step=\"Announce\" data-step-done=\"false\""),
        "{page}"
    );
    let (_, page) = w.get(&path, Some(&val)).await;
    assert!(
        !page.contains("data-action=\"approve\""),
        "no form for a viewer: {page}"
    );

    let decide = |cookie: String,
                  csrf: String,
                  ty: &'static str,
                  decision: &'static str,
                  comment: &'static str| {
        let w = &w;
        let path = format!("{path}/decide");
        async move {
            w.post(
                &path,
                Some(&cookie),
                Some(HERE),
                &[
                    ("csrf", &csrf),
                    ("approval_type", ty),
                    ("decision", decision),
                    ("comment", comment),
                ],
            )
            .await
        }
    };
    // Refusals change nothing: no token, a viewer, a type the role may not grant, a reject
    // without a comment.
    let before = w.vr.request(&dr.id).unwrap();
    let (resp, _) = decide(quinn.clone(), String::new(), "qa", "approve", "").await;
    assert_eq!(resp.status(), 403);
    let (resp, _) = decide(val.clone(), val_csrf.clone(), "qa", "approve", "").await;
    assert_eq!(resp.status(), 403);
    let (resp, page) = decide(quinn.clone(), quinn_csrf.clone(), "security", "approve", "").await;
    assert_eq!(resp.status(), 403, "{page}");
    assert!(page.contains("may not grant `security`"), "{page}");
    let (resp, page) = decide(quinn.clone(), quinn_csrf.clone(), "qa", "reject", " ").await;
    assert_eq!(resp.status(), 422, "{page}");
    assert!(page.contains("comment"), "{page}");
    assert_eq!(w.vr.request(&dr.id).unwrap(), before);

    // The approval, as quinn.
    let (resp, _) = decide(
        quinn.clone(),
        quinn_csrf.clone(),
        "qa",
        "approve",
        "regression green",
    )
    .await;
    assert_eq!(resp.status(), 303);
    let now = w.vr.request(&dr.id).unwrap();
    assert_eq!(now.slots[0].decided_by.as_deref(), Some("quinn"));
    assert_eq!(now.slots[0].comment.as_deref(), Some("regression green"));
    let (_, page) = w.get("/ui/requests", Some(&quinn)).await;
    assert!(page.contains("data-awaiting=\"0\""), "decided: {page}");

    // Security rejects, with a comment: the request is rejected.
    let (sam, sam_csrf) = w.sign_in(&w.key("sam", Role::Security)).await;
    let (resp, _) = decide(
        sam.clone(),
        sam_csrf.clone(),
        "security",
        "reject",
        "CVE open",
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = w.get(&path, Some(&sam)).await;
    assert!(page.contains("data-request-status=\"rejected\""), "{page}");
    assert!(page.contains("CVE open"), "{page}");
}

/// A notification's `source_url` (`/manage/deployments?view=<id>`) opens the deployment's cell.
#[tokio::test]
async fn a_notifications_source_url_opens_the_deployments_cell() {
    let w = World::new(ServerOptions::default());
    let (cookie, _) = w.sign_in(&w.key("val", Role::Viewer)).await;
    let d =
        w.vr.history(&versioner_core::HistoryQuery::new().product("web"))
            .unwrap()
            .remove(0);
    let (resp, _) = w
        .get(&format!("/manage/deployments?view={}", d.id), Some(&cookie))
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()[header::LOCATION],
        "/ui/cell?product=web&environment=dev"
    );
    let (resp, page) = w.get("/manage/deployments?view=nope", Some(&cookie)).await;
    assert_eq!(resp.status(), 404, "{page}");
    let (resp, _) = w.get("/manage/deployments", Some(&cookie)).await;
    assert_eq!(resp.status(), 422);
    let (resp, _) = w
        .get(&format!("/manage/deployments?view={}", d.id), None)
        .await;
    assert_eq!(resp.status(), 303, "signed out: to the sign-in page");
}

/// Deployment buttons on the version page and on the cell of the version deployed there.
#[tokio::test]
async fn deployment_buttons_show_on_the_version_page_and_the_cell() {
    use versioner_core::buttons::ButtonRequest;
    let w = World::new(ServerOptions::default());
    w.vr.add_deployment_button(&ButtonRequest::new(
        "api",
        "Deploy",
        "https://ci.example.com/job/api?v={vi_version}&env={vi_environment_name}",
        vec!["dev".into(), "staging".into()],
    ))
    .unwrap();
    w.vr.add_deployment_button(&ButtonRequest::new(
        "api",
        "Rollback",
        "https://{jenkins}/rollback?v={vi_version}",
        vec!["production".into()],
    ))
    .unwrap();
    let (cookie, _) = w.sign_in(&w.key("val", Role::Viewer)).await;
    let (resp, page) = w.get("/ui/products/api/versions/1.0", Some(&cookie)).await;
    assert_eq!(resp.status(), 200, "{page}");
    assert!(
        page.contains("href=\"https://ci.example.com/job/api?v=1.0&amp;env=staging\""),
        "{page}"
    );
    assert!(page.contains("Missing variable: jenkins"), "{page}");
    let (_, page) = w
        .get("/ui/cell?product=api&environment=dev", Some(&cookie))
        .await;
    // The cell shows the buttons for dev only (api 1.0 runs there).
    assert!(
        page.contains("data-button=\"Deploy\" data-environment=\"dev\""),
        "{page}"
    );
    assert!(!page.contains("data-environment=\"staging\">"), "{page}");
}

/// The four keys on the dashboard: the core's figures, filters read, a bad period refused.
#[tokio::test]
async fn the_insights_page_shows_the_four_keys() {
    let w = World::new(ServerOptions::default());
    w.vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.1",
        "production",
        "completed",
    ))
    .unwrap();
    let (cookie, _) = w.sign_in(&w.key("val", Role::Viewer)).await;
    let (resp, page) = w.get("/ui/insights", Some(&cookie)).await;
    assert_eq!(resp.status(), 200, "{page}");
    for key in [
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "time_to_restore",
    ] {
        assert!(
            page.contains(&format!("data-key=\"{key}\"")),
            "{key}: {page}"
        );
    }
    assert!(page.contains("environments: production"), "{page}");
    assert!(page.contains("1 deployments on 1 days"), "{page}");
    let (resp, page) = w
        .get(
            "/ui/insights?product=web&environment=dev&days=7",
            Some(&cookie),
        )
        .await;
    assert_eq!(resp.status(), 200, "{page}");
    assert!(page.contains("environments: dev"), "{page}");
    let (resp, page) = w.get("/ui/insights?days=0", Some(&cookie)).await;
    assert_eq!(resp.status(), 422, "{page}");
    assert!(page.contains("from 1 to 365"), "{page}");
}

#[tokio::test]
async fn the_matrix_warns_of_environments_falling_behind() {
    let w = World::new(ServerOptions::default());
    w.vr.apply_policy_text(
        "[[rules]]\nname = 'Production keeps up'\ntype = 'max_skew'\nstatus = 'report_only'\n\
         environments = ['staging']\nbehind = 'production'\nmax_versions = 1\n",
        versioner_core::policy::PolicyFormat::Toml,
        versioner_core::policy::ApplyMode::Merge,
        "t",
    )
    .unwrap();
    w.vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0",
        "production",
        "completed",
    ))
    .unwrap();
    let (cookie, _) = w.sign_in(&w.key("val", Role::Viewer)).await;
    // One version ahead (the fixture's 1.1 in staging): at the limit.
    let (_, page) = w.get("/", Some(&cookie)).await;
    assert!(
        page.contains(
            r#"<td data-environment="production" data-version="1.0" data-skew="at_limit">"#
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"data-skew-rule="Production keeps up""#),
        "{page}"
    );
    // Report-only lets 1.2 through: over the limit now, and said.
    w.vr.track_deployment(&DeploymentEvent::new("api", "1.2", "staging", "completed"))
        .unwrap();
    let (_, page) = w.get("/", Some(&cookie)).await;
    assert!(
        page.contains(
            r#"<td data-environment="production" data-version="1.0" data-skew="exceeded">"#
        ),
        "{page}"
    );
    assert!(page.contains("is 2 versions behind"), "{page}");
    assert!(page.contains("report-only"), "{page}");
    // Promoting clears it.
    w.vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.2",
        "production",
        "completed",
    ))
    .unwrap();
    let (_, page) = w.get("/", Some(&cookie)).await;
    assert!(!page.contains("data-skew="), "{page}");
    // An as-of view shows no skew (it is measured now).
    let (_, page) = w.get("/?at=2099-01-01T00:00:00", Some(&cookie)).await;
    assert!(!page.contains("data-skew-rule"), "{page}");
}
