//! Deployment Requests (issue 14) from the CLI and through the remote client: the same story
//! in process and through `versioner serve`, the `versioner requests` commands exactly as
//! documented, and the legacy `/releases/` routes over the same records.

use serde_json::{Value, json};
use versioner_core::client::{Client, ClientOptions};
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::request::CellState;
use versioner_core::{
    Actor, BuildEvent, DeploymentEvent, RequestAction, RequestActionRequest, RequestDraft, Role,
    SlotSpec, Tracker, Versioner,
};

use crate::support::{Fixture, TestServer, versioner};

const POLICY: &str = r#"
[[rules]]
name = "DR for production"
type = "deployment_request_required"
environments = ["production"]
approval_types = ["qa", "security"]
"#;

/// The people of the story: creator, QA, security, a developer (who may not grant
/// `security`), and the CI deployer.
struct People {
    dana: Box<dyn Tracker>,
    quinn: Box<dyn Tracker>,
    sam: Box<dyn Tracker>,
    devon: Box<dyn Tracker>,
    ci: Box<dyn Tracker>,
}

fn act(t: &dyn Tracker, id: &str, action: RequestAction) -> Result<String, String> {
    t.act_on_request(id, &RequestActionRequest::new(action, ""))
        .map(|d| d.status.to_string())
        .map_err(|e| e.code().as_str().to_string())
}

fn start(t: &dyn Tracker, env: &str) -> String {
    match t.track_deployment(&DeploymentEvent::new("api", "1.0.0", env, "started")) {
        Ok(d) => format!("started {}", d.status),
        Err(e) => format!("refused {} {}", e.code(), e.code().http_status()),
    }
}

/// The DR story told by the people; returns what happened, without ids.
fn story(p: &People) -> Vec<String> {
    let mut log = vec![start(&*p.ci, "production")];
    let mut draft = RequestDraft::new("Q4")
        .version("api", "1.0.0")
        .environment("production");
    draft.slots = vec![SlotSpec::required("qa"), SlotSpec::required("security")];
    draft.pre_steps = vec!["Announce".into()];
    draft.post_steps = vec!["Verify".into()];
    let dr = p.dana.create_request(&draft).unwrap();
    log.push(format!("created {} by {}", dr.status, dr.created_by));
    log.push(start(&*p.ci, "production"));
    log.push(format!(
        "submit {:?}",
        act(&*p.dana, &dr.id, RequestAction::Submit)
    ));
    log.push(start(&*p.ci, "production"));
    let approve = |t: &str| RequestAction::Approve {
        approval_type: t.into(),
    };
    log.push(format!(
        "quinn qa {:?}",
        act(&*p.quinn, &dr.id, approve("qa"))
    ));
    log.push(format!(
        "devon security {:?}",
        act(&*p.devon, &dr.id, approve("security"))
    ));
    log.push(format!(
        "quinn qa again {:?}",
        act(&*p.quinn, &dr.id, approve("qa"))
    ));
    log.push(format!(
        "sam security {:?}",
        act(&*p.sam, &dr.id, approve("security"))
    ));
    log.push(start(&*p.ci, "production"));
    log.push(format!(
        "post too early {:?}",
        act(
            &*p.dana,
            &dr.id,
            RequestAction::StepDone {
                step: "Verify".into()
            }
        )
    ));
    log.push(format!(
        "pre {:?}",
        act(
            &*p.dana,
            &dr.id,
            RequestAction::StepDone {
                step: "Announce".into()
            }
        )
    ));
    log.push(start(&*p.ci, "production"));
    p.ci.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "production",
        "completed",
    ))
    .unwrap();
    let progress = p.dana.request_progress(&dr.id).unwrap();
    log.push(format!(
        "grid {:?} deployed={}",
        progress.cells.iter().map(|c| c.state).collect::<Vec<_>>(),
        progress.deployed
    ));
    log.push(format!(
        "post {:?}",
        act(
            &*p.dana,
            &dr.id,
            RequestAction::StepDone {
                step: "Verify".into()
            }
        )
    ));
    let done = p.quinn.request(&dr.id).unwrap();
    log.push(format!(
        "final {} slots by {:?}",
        done.status,
        done.slots
            .iter()
            .map(|s| s.decided_by.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    ));
    log.push(format!(
        "listed {}",
        p.devon.requests(&Default::default()).unwrap().len()
    ));
    log
}

fn seed(vr: &Versioner) {
    vr.apply_policy_text(POLICY, PolicyFormat::Toml, ApplyMode::Replace, "t")
        .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
}

#[test]
fn a_request_tells_the_same_story_in_process_and_through_the_server() {
    let local = Versioner::open_in_memory().unwrap();
    seed(&local);
    for (name, role) in [
        ("dana", Role::Developer),
        ("quinn", Role::Qa),
        ("sam", Role::Security),
        ("devon", Role::Developer),
        ("runner", Role::Ci),
    ] {
        local.create_api_key(name, role).unwrap();
    }
    let as_ = |name: &str| -> Box<dyn Tracker> { Box::new(local.acting_as(Actor::local(name))) };
    let expected = story(&People {
        dana: as_("dana"),
        quinn: as_("quinn"),
        sam: as_("sam"),
        devon: as_("devon"),
        ci: as_("runner"),
    });

    let f = Fixture::new();
    seed(f.vr());
    let server = TestServer::start(f.router());
    let remote = |name: &str, role: Role| -> Box<dyn Tracker> {
        let key = f.vr().create_api_key(name, role).unwrap().secret;
        Box::new(Client::with_options(&server.url, Some(&key), ClientOptions::default()).unwrap())
    };
    let got = story(&People {
        dana: remote("dana", Role::Developer),
        quinn: remote("quinn", Role::Qa),
        sam: remote("sam", Role::Security),
        devon: remote("devon", Role::Developer),
        ci: remote("runner", Role::Ci),
    });
    assert_eq!(got, expected);
    let want = [
        "refused DEPLOYMENT_REQUEST_REQUIRED 428",
        "created draft by dana",
        "refused DEPLOYMENT_REQUEST_REQUIRED 428",
        "submit Ok(\"in_progress\")",
        "refused DEPLOYMENT_REQUEST_PENDING 428",
        "quinn qa Ok(\"in_progress\")",
        "devon security Err(\"FORBIDDEN\")",
        "quinn qa again Err(\"INVALID_INPUT\")",
        "sam security Ok(\"approved\")",
        "refused DEPLOYMENT_REQUEST_PENDING 428",
        "post too early Err(\"INVALID_INPUT\")",
        "pre Ok(\"approved\")",
        "started started",
        "grid [Deployed] deployed=true",
        "post Ok(\"completed\")",
        "final completed slots by [\"quinn\", \"sam\"]",
        "listed 1",
    ];
    assert_eq!(expected, want);
}

#[test]
fn the_requests_commands_run_the_flow_and_print_the_id_last() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let vr = Versioner::open(home.join("v.db")).unwrap();
    seed(&vr);
    for p in ["web", "worker"] {
        vr.track_build(&BuildEvent::new(p, "2.0.0", "completed"))
            .unwrap();
    }
    drop(vr);
    let v = |args: &[&str], actor: &str| {
        let mut all = vec!["--db", "v.db", "--actor", actor];
        all.extend_from_slice(args);
        versioner(home, &all, &[])
    };
    let r = v(
        &[
            "requests",
            "create",
            "--name",
            "Platform",
            "--product",
            "api",
            "--version",
            "1.0.0",
            "--product",
            "web",
            "--version",
            "2.0.0",
            "--product",
            "worker",
            "--version",
            "2.0.0",
            "--environment",
            "staging",
            "--environment",
            "production",
            "--slot",
            "qa",
            "--optional-slot",
            "security",
            "--pre-step",
            "Announce",
            "--post-step",
            "Verify",
            "--description",
            "three products",
        ],
        "dana",
    );
    assert_eq!(r.code, 0, "{r:?}");
    let id = r.stdout.lines().last().unwrap().trim().to_string();
    assert_eq!(id.len(), 36, "{r:?}");
    let r = v(&["requests", "show", &id, "-o", "json"], "dana");
    let shown = r.json();
    assert_eq!(shown["status"], "draft");
    assert_eq!(shown["progress"]["cells"].as_array().unwrap().len(), 6);
    assert_eq!(shown["slots"][1]["optional"], true);
    // Blocked (exit 5) once submitted.
    let r = v(&["requests", "submit", &id], "dana");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("waiting for: qa"), "{r:?}");
    let check = [
        "check",
        "--product",
        "web",
        "--version",
        "2.0.0",
        "--environment",
        "staging",
    ];
    let r = v(&check, "ci");
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stdout.contains("DEPLOYMENT_REQUEST_PENDING")
            || r.stderr.contains("DEPLOYMENT_REQUEST_PENDING"),
        "{r:?}"
    );
    // Reject needs a comment (a usage error, nothing written).
    let r = v(&["requests", "reject", &id, "--type", "qa"], "quinn");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("--comment is required"), "{r:?}");
    // A role that may not grant qa.
    let r = v(
        &[
            "requests",
            "approve",
            &id,
            "--type",
            "qa",
            "--role",
            "developer",
        ],
        "devon",
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("may not grant `qa`"), "{r:?}");
    let r = v(
        &[
            "requests",
            "approve",
            &id,
            "--type",
            "qa",
            "--role",
            "qa",
            "--comment",
            "green",
        ],
        "quinn",
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("pre-deployment steps open: Announce"),
        "{r:?}"
    );
    let r = v(
        &["requests", "step", &id, "Announce", "--done", "-o", "json"],
        "dana",
    );
    assert_eq!(r.json()["status"], "approved");
    let r = v(&check, "ci");
    assert_eq!(r.code, 0, "{r:?}");
    // List with filters; an unknown status names the accepted ones.
    let r = v(
        &[
            "requests",
            "list",
            "--status",
            "approved",
            "--product",
            "worker",
            "-o",
            "json",
        ],
        "dana",
    );
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = v(&["requests", "list", "--status", "open"], "dana");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("draft, in_progress, approved"), "{r:?}");
    // The table view and the grid.
    let r = v(&["requests", "show", &id], "dana");
    assert!(
        r.stdout.contains("PRODUCT") && r.stdout.contains("worker"),
        "{r:?}"
    );
    // Templates from a file.
    std::fs::write(
        home.join("templates.toml"),
        "[[templates]]\nname = \"Prod\"\nslots = [{ approval_type = \"qa\" }]\nenvironments = [\"production\"]\n",
    )
    .unwrap();
    let r = v(
        &["requests", "templates", "apply", "templates.toml"],
        "dana",
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = v(&["requests", "templates", "list", "-o", "json"], "dana");
    assert_eq!(r.json()[0]["name"], "Prod");
    let r = v(
        &[
            "requests",
            "create",
            "--name",
            "T",
            "--product",
            "api",
            "--version",
            "1.0.0",
            "--template",
            "Prod",
            "-o",
            "json",
        ],
        "dana",
    );
    assert_eq!(r.json()["environments"], json!(["production"]));
    // Deactivate and cancel.
    let tid = r.json()["id"].as_str().unwrap().to_string();
    let r = v(&["requests", "deactivate", &tid], "dana");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("is draft"), "{r:?}");
    let r = v(&["requests", "cancel", &tid, "-o", "json"], "dana");
    assert_eq!(r.json()["status"], "cancelled");
    // Mismatched --product/--version.
    let r = v(
        &["requests", "create", "--name", "X", "--product", "api"],
        "dana",
    );
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn releases_are_requests_without_slots_through_the_legacy_routes() {
    let f = Fixture::new();
    seed(f.vr());
    for p in ["web", "worker"] {
        f.vr()
            .track_build(&BuildEvent::new(p, "1.0.0", "completed"))
            .unwrap();
    }
    let server = TestServer::start(f.router());
    let http = reqwest::blocking::Client::new();
    let call = |method: &str, path: &str, body: Option<Value>| -> (u16, Value) {
        let mut req = http
            .request(method.parse().unwrap(), format!("{}{path}", server.url))
            .bearer_auth(&f.admin);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    let (s, rel) = call(
        "POST",
        "/releases/",
        Some(json!({
            "name": "Release 7", "status": "in_progress",
            "versions": [{"product_name": "api", "version": "1.0.0"},
                         {"product_name": "web", "version": "1.0.0"},
                         {"product_name": "worker", "version": "1.0.0"}],
            "environment_names": ["staging", "production"],
            "extra_metadata": {"train": 7}
        })),
    );
    assert_eq!(s, 201, "{rel}");
    assert_eq!(rel["status"], "in_progress");
    let id = rel["id"].as_str().unwrap().to_string();
    let grid = |path: &str| -> Vec<String> {
        let (s, g) = call("GET", path, None);
        assert_eq!(s, 200, "{g}");
        g["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}@{}={}",
                    c["product_name"].as_str().unwrap(),
                    c["environment"].as_str().unwrap(),
                    c["state"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert!(
        grid(&format!("/releases/{id}/deployments"))
            .iter()
            .all(|c| c.ends_with("not_deployed"))
    );
    // Production is still governed by the rule (a release is no approval); staging is free.
    for p in ["api", "web", "worker"] {
        f.vr()
            .track_deployment(&DeploymentEvent::new(p, "1.0.0", "staging", "completed"))
            .unwrap();
    }
    f.vr()
        .track_deployment(&DeploymentEvent::new(
            "web",
            "1.0.0",
            "production",
            "failed",
        ))
        .unwrap();
    let cells = grid(&format!("/releases/{id}/deployments"));
    assert_eq!(
        cells,
        [
            "api@staging=deployed",
            "api@production=not_deployed",
            "web@staging=deployed",
            "web@production=failed",
            "worker@staging=deployed",
            "worker@production=not_deployed"
        ]
    );
    // The same record through /deployment-requests/.
    assert_eq!(grid(&format!("/deployment-requests/{id}/progress")), cells);
    let (_, dr) = call("GET", &format!("/deployment-requests/{id}"), None);
    assert_eq!(dr["status"], "approved");
    // Versions by id, removal, patching the status.
    let (_, versions) = call("GET", &format!("/releases/{id}/versions"), None);
    let web_id = versions[1]["version_id"].as_str().unwrap().to_string();
    let (s, r) = call("DELETE", &format!("/releases/{id}/versions/{web_id}"), None);
    assert_eq!(
        (s, r["versions"].as_array().unwrap().len()),
        (200, 2),
        "{r}"
    );
    let (s, r) = call(
        "POST",
        &format!("/releases/{id}/versions"),
        Some(json!({"version_id": web_id})),
    );
    assert_eq!(
        (s, r["versions"].as_array().unwrap().len()),
        (200, 3),
        "{r}"
    );
    let (s, r) = call(
        "PATCH",
        &format!("/releases/{id}"),
        Some(json!({"status": "shipped"})),
    );
    assert_eq!((s, r["code"].as_str()), (422, Some("INVALID_INPUT")), "{r}");
    let (s, r) = call(
        "PATCH",
        &format!("/releases/{id}"),
        Some(json!({"status": "completed"})),
    );
    assert_eq!((s, r["status"].as_str()), (200, Some("completed")), "{r}");
    let (s, list) = call("GET", "/releases/", None);
    assert_eq!((s, list.as_array().unwrap().len()), (200, 1));
    // A request with slots is not a release.
    let mut d = RequestDraft::new("Gated")
        .version("api", "1.0.0")
        .environment("production");
    d.slots = vec![SlotSpec::required("qa")];
    d.created_by = "admin".into();
    let gated = f.vr().create_request(&d).unwrap();
    let (s, r) = call("GET", &format!("/releases/{}", gated.id), None);
    assert_eq!((s, r["code"].as_str()), (404, Some("NOT_FOUND")), "{r}");
    // The acting principal is the key's: naming someone else is refused where it was given.
    let (s, r) = call(
        "POST",
        "/deployment-requests/",
        Some(json!({"name": "X", "created_by": "mallory"})),
    );
    assert_eq!(
        (s, r["detail"][0]["loc"][1].as_str()),
        (422, Some("created_by")),
        "{r}"
    );
    let (s, r) = call(
        "POST",
        &format!("/deployment-requests/{}/approve", gated.id),
        Some(json!({"step": "x"})),
    );
    assert_eq!((s, r["code"].as_str()), (422, Some("INVALID_INPUT")), "{r}");
    let _ = CellState::Deployed;
}
