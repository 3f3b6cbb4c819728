//! Notifications: channels and preferences, the outbound webhook protocol checked by a local
//! receiver (headers, signature and the reference's field list for every event type),
//! retries (503 twice then 200: exactly one more delivery; 400: none), a receiver down then
//! up, several deliverers on one database (each event once), Slack and e-mail (a local SMTP
//! sink). Runs on SQLite, and on PostgreSQL under `scripts/test-postgres.sh`.

#![cfg(feature = "notify")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use versioner_core::notify::payload::verify;
use versioner_core::notify::{ChannelRequest, DeliveryStatus, HistoryFilter, PreferenceRequest};
use versioner_core::policy::{ApplyMode, PolicyFormat};
use versioner_core::{
    ApprovalRequest, BuildEvent, DeliveryOptions, DeploymentEvent, ErrorCode, Versioner,
};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Request {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A local HTTP receiver answering from a script of statuses (then 200).
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request { headers, body })
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn on(listener: TcpListener) -> Receiver {
        let r = Receiver {
            addr: listener.local_addr().unwrap(),
            got: Arc::default(),
            script: Arc::default(),
        };
        let me = r.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let status = me.script.lock().unwrap().pop_front().unwrap_or(200);
                me.got.lock().unwrap().push(req);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        r
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn answer(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    fn got(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }
}

fn fast() -> DeliveryOptions {
    let mut o = DeliveryOptions::new();
    o.backoff = Duration::from_millis(20);
    o.timeout = Duration::from_secs(5);
    o.public_url = Some("https://versioner.example.com".into());
    o
}

fn webhook(vr: &Versioner, name: &str, url: &str, secret: Option<&str>, event: &str) -> String {
    let mut config = json!({ "url": url });
    if let Some(s) = secret {
        config["secret"] = json!(s);
    }
    let ch = vr
        .add_notification_channel(&ChannelRequest::new(name, "webhook", config))
        .unwrap();
    vr.add_notification_preference(&PreferenceRequest::new(&ch.id, event))
        .unwrap();
    ch.id
}

const CICD_FIELDS: &[&str] = &[
    "id",
    "deployed_at",
    "event_type",
    "environment",
    "is_successful",
    "deployer",
    "product_name",
    "version",
    "repo_name",
    "commit_sha",
    "preflight_status",
    "source_url",
];

const APPROVAL_FIELDS: &[&str] = &[
    "event_type",
    "occurred_at",
    "version_id",
    "product_name",
    "version",
    "approval_type",
    "approver_role",
    "environment_name",
    "comments",
    "actor",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

#[test]
fn every_event_type_arrives_signed_with_the_reference_fields() {
    let vr = common::fresh();
    let rx = Receiver::start();
    let channel = webhook(&vr, "ci", &rx.url(), Some("s3cret"), "*");
    vr.apply_policy_text(
        r#"
[[rules]]
name = "Staging first"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
"#,
        PolicyFormat::Toml,
        ApplyMode::Replace,
        "admin",
    )
    .unwrap();
    let mut b = BuildEvent::new("api", "1.2.0", "started");
    b.scm_sha = Some("abc123".into());
    b.scm_repository = Some("acme/api".into());
    vr.track_build(&b).unwrap();
    vr.track_build(&BuildEvent::new("api", "1.2.0", "completed"))
        .unwrap();
    let mut d = DeploymentEvent::new("api", "1.2.0", "staging", "started");
    d.deployed_by = Some("dana".into());
    d.scm_sha = Some("abc123".into());
    d.scm_repository = Some("acme/api".into());
    let dep = vr.track_deployment(&d).unwrap();
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.2.0",
        "staging",
        "completed",
    ))
    .unwrap();
    vr.track_deployment(&DeploymentEvent::new("api", "1.2.1", "staging", "failed"))
        .unwrap();
    let refused = vr
        .track_deployment(&DeploymentEvent::new(
            "api",
            "1.2.1",
            "production",
            "started",
        ))
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::FlowViolation);
    vr.approve(&ApprovalRequest::new("api", "1.2.0", "qa", "quinn"))
        .unwrap();
    // Not carried: a rule change.
    let report = vr.deliver_pending_with(&fast()).unwrap();
    assert_eq!(report.delivered, 7, "{report:?}");
    assert_eq!(report.parked, 0);

    let got = rx.got();
    let types: Vec<String> = got
        .iter()
        .map(|r| r.header("x-versioner-event").unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "build.started",
            "build.completed",
            "deployment.started",
            "deployment.completed",
            "deployment.failed",
            "deployment.preflight_failed",
            "version.approved"
        ]
    );
    let mut seqs = Vec::new();
    for r in &got {
        assert_eq!(r.header("content-type"), Some("application/json"));
        let sig = r.header("x-versioner-signature").unwrap();
        assert!(verify("s3cret", &r.body, sig), "bad signature");
        let body = r.json();
        assert_eq!(serde_json::to_vec(&body).unwrap(), r.body, "not compact");
        assert_eq!(body["event_type"], r.header("x-versioner-event").unwrap());
        let delivery = r.header("x-versioner-delivery").unwrap();
        let (seq, ch) = delivery.split_once('-').unwrap();
        assert_eq!(ch, channel);
        seqs.push(seq.parse::<i64>().unwrap());
        if body["event_type"] == "version.approved" {
            assert_eq!(keys(&body), sorted(APPROVAL_FIELDS));
            assert_eq!(body["approval_type"], "qa");
            assert_eq!(body["actor"], "quinn");
        } else {
            assert_eq!(keys(&body), sorted(CICD_FIELDS));
            assert!(body["id"].is_string(), "{body}");
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let by_type = |t: &str| {
        got.iter()
            .map(Request::json)
            .find(|b| b["event_type"] == t)
            .unwrap()
    };
    let started = by_type("deployment.started");
    assert_eq!(started["id"], dep.id.as_str());
    assert_eq!(started["is_successful"], Value::Null);
    assert_eq!(started["environment"], "staging");
    assert_eq!(started["deployer"], "dana");
    assert_eq!(started["commit_sha"], "abc123");
    assert_eq!(started["repo_name"], "acme/api");
    assert_eq!(started["preflight_status"], "passed");
    assert_eq!(
        started["source_url"],
        format!(
            "https://versioner.example.com/manage/deployments?view={}",
            dep.id
        )
    );
    assert_eq!(by_type("deployment.completed")["is_successful"], true);
    assert_eq!(by_type("deployment.failed")["is_successful"], false);
    let blocked = by_type("deployment.preflight_failed");
    assert_eq!(blocked["is_successful"], false);
    assert_eq!(blocked["preflight_status"], "failed");
    assert_eq!(blocked["environment"], "production");
    assert!(blocked["id"].is_string());
    let build = by_type("build.completed");
    assert_eq!(build["is_successful"], Value::Null);
    assert_eq!(build["commit_sha"], "abc123");

    // Caught up: nothing is sent twice.
    let again = vr.deliver_pending_with(&fast()).unwrap();
    assert_eq!(again.delivered, 0);
    assert_eq!(rx.got().len(), 7);
    let history = vr.notification_history(&HistoryFilter::default()).unwrap();
    assert_eq!(history.len(), 7);
    assert!(
        history
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered && d.response_code == Some(200))
    );
}

#[test]
fn a_503_is_retried_with_the_same_delivery_id_and_a_400_is_not() {
    let vr = common::fresh();
    let rx = Receiver::start();
    webhook(&vr, "ci", &rx.url(), None, "deployment.completed");
    rx.answer(&[503, 503]);
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "staging",
        "completed",
    ))
    .unwrap();
    let report = vr.deliver_pending_with(&fast()).unwrap();
    assert_eq!((report.delivered, report.attempts), (1, 3));
    let got = rx.got();
    assert_eq!(got.len(), 3, "two failures, then exactly one more delivery");
    assert!(
        got.iter()
            .all(|r| r.header("x-versioner-signature").is_none())
    );
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.header("x-versioner-delivery").unwrap())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]));
    let history = vr.notification_history(&HistoryFilter::default()).unwrap();
    let statuses: Vec<(u32, DeliveryStatus, Option<u16>)> = history
        .iter()
        .rev()
        .map(|d| (d.attempt, d.status, d.response_code))
        .collect();
    assert_eq!(
        statuses,
        [
            (1, DeliveryStatus::Retrying, Some(503)),
            (2, DeliveryStatus::Retrying, Some(503)),
            (3, DeliveryStatus::Delivered, Some(200))
        ]
    );

    // A 400 is terminal: parked after one attempt; the next event still goes out.
    rx.answer(&[400]);
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.1",
        "staging",
        "completed",
    ))
    .unwrap();
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.2",
        "staging",
        "completed",
    ))
    .unwrap();
    let report = vr.deliver_pending_with(&fast()).unwrap();
    assert_eq!(
        (report.delivered, report.parked, report.attempts),
        (1, 1, 2)
    );
    let versions: Vec<Value> = rx.got()[3..]
        .iter()
        .map(|r| r.json()["version"].clone())
        .collect();
    assert_eq!(versions, [json!("1.0.1"), json!("1.0.2")]);
    let mut parked = HistoryFilter::default();
    parked.status = Some(DeliveryStatus::Parked);
    let parked = vr.notification_history(&parked).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].response_code, Some(400));
    assert!(parked[0].error.as_deref().unwrap().contains("400"));
}

#[test]
fn a_receiver_down_then_up_gets_every_event_afterwards_in_order() {
    let vr = common::fresh();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    webhook(&vr, "ci", &format!("http://{port}/hook"), None, "*");
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "1.0.0",
        "staging",
        "completed",
    ))
    .unwrap();
    let report = vr.deliver_pending_with(&fast()).unwrap();
    assert_eq!(
        (report.parked, report.attempts),
        (1, 3),
        "three attempts, then parked"
    );
    let history = vr.notification_history(&HistoryFilter::default()).unwrap();
    assert!(history[0].response_code.is_none() && history[0].error.is_some());
    let error = history[0].error.as_deref().unwrap();
    assert!(
        !error.contains("/hook"),
        "the URL stays out of errors: {error}"
    );

    let rx = Receiver::on(TcpListener::bind(port).unwrap());
    for v in ["1.0.1", "1.0.2", "1.0.3"] {
        vr.track_deployment(&DeploymentEvent::new("api", v, "staging", "completed"))
            .unwrap();
    }
    vr.deliver_pending_with(&fast()).unwrap();
    let versions: Vec<Value> = rx
        .got()
        .iter()
        .map(|r| r.json()["version"].clone())
        .collect();
    assert_eq!(versions, [json!("1.0.1"), json!("1.0.2"), json!("1.0.3")]);
}

#[test]
fn several_deliverers_on_one_database_send_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let location = common::new_location(dir.path());
    let vr = common::open(&location);
    let rx = Receiver::start();
    webhook(&vr, "ci", &rx.url(), None, "*");
    webhook(&vr, "audit", &rx.url(), None, "deployment.completed");
    for i in 0..250 {
        vr.track_deployment(&DeploymentEvent::new(
            "api",
            format!("1.0.{i}"),
            "staging",
            "completed",
        ))
        .unwrap();
    }
    std::thread::scope(|s| {
        for _ in 0..4 {
            let location = location.clone();
            s.spawn(move || {
                let vr = common::open(&location);
                for _ in 0..5 {
                    vr.deliver_pending_with(&fast()).unwrap();
                }
            });
        }
    });
    vr.deliver_pending_with(&fast()).unwrap();
    let got = rx.got();
    let mut ids: Vec<&str> = got
        .iter()
        .map(|r| r.header("x-versioner-delivery").unwrap())
        .collect();
    assert_eq!(ids.len(), 500, "250 events to each of two channels");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 500, "no event delivered twice");
}

#[test]
fn channels_are_validated_and_their_secrets_never_returned() {
    let vr = common::fresh();
    let cases = [
        (json!({"url": "ftp://x"}), "webhook", "config.url"),
        (json!({}), "webhook", "config.url"),
        (
            json!({"url": "https://x", "token": "t"}),
            "webhook",
            "config.token",
        ),
        (json!({"webhook_url": "https://x"}), "teams", "channel_type"),
        (
            json!({"smtp_host": "mx", "from": "not-an-address", "to": "a@b.c"}),
            "email",
            "config.from",
        ),
        (
            json!({"smtp_host": "mx", "from": "a@b.c"}),
            "email",
            "config.to",
        ),
    ];
    for (config, kind, field) in cases {
        let err = vr
            .add_notification_channel(&ChannelRequest::new("x", kind, config))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert_eq!(err.field(), Some(field), "{err}");
    }
    assert!(
        vr.notification_channels().unwrap().is_empty(),
        "nothing written"
    );

    let ch = vr
        .add_notification_channel(&ChannelRequest::new(
            "mail",
            "email",
            json!({"smtp_host": "mx.example.com", "from": "v@example.com",
                   "to": ["ops@example.com"], "username": "v", "password": "hunter2"}),
        ))
        .unwrap();
    let shown = serde_json::to_string(&vr.notification_channels().unwrap()).unwrap();
    assert!(
        !shown.contains("hunter2") && shown.contains("********"),
        "{shown}"
    );
    assert!(!format!("{ch:?}").contains("hunter2"));
    let dup = vr
        .add_notification_channel(&ChannelRequest::new(
            "MAIL",
            "slack_webhook",
            json!({"webhook_url": "https://hooks.slack.com/services/T/B/X"}),
        ))
        .unwrap_err();
    assert_eq!(dup.code(), ErrorCode::InvalidInput);

    // Slack and e-mail carry deployment and build events, not approvals.
    let err = vr
        .add_notification_preference(&PreferenceRequest::new("mail", "version.approved"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.field(), Some("event_type"));
    let err = vr
        .add_notification_preference(&PreferenceRequest::new("mail", "deployment.exploded"))
        .unwrap_err();
    assert_eq!(err.field(), Some("event_type"));
    let err = vr
        .add_notification_preference(&PreferenceRequest::new("nope", "*"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(vr.notification_preferences().unwrap().is_empty());
    // The legacy build names are accepted.
    let p = vr
        .add_notification_preference(&PreferenceRequest::new("mail", "version.completed"))
        .unwrap();
    assert_eq!(p.event_type, "build.completed");
    vr.remove_notification_channel("mail").unwrap();
    assert!(vr.notification_preferences().unwrap().is_empty());

    // Only admins and SREs configure notifications.
    let dev = vr
        .acting_as(versioner_core::Actor::local("devi").with_role(versioner_core::Role::Developer));
    let err = dev
        .add_notification_channel(&ChannelRequest::new(
            "x",
            "webhook",
            json!({"url": "https://x.example.com"}),
        ))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
}

#[test]
fn filters_select_products_environments_and_statuses() {
    let vr = common::fresh();
    let rx = Receiver::start();
    let ch = vr
        .add_notification_channel(&ChannelRequest::new(
            "prod",
            "webhook",
            json!({"url": rx.url()}),
        ))
        .unwrap();
    let mut p = PreferenceRequest::new(&ch.id, "*");
    p.filters.environments = vec!["Production".into()];
    p.filters.statuses = vec!["success".into(), "failed".into()];
    vr.add_notification_preference(&p).unwrap();
    vr.track_deployment(&DeploymentEvent::new("api", "1", "staging", "completed"))
        .unwrap();
    vr.track_deployment(&DeploymentEvent::new("api", "1", "production", "started"))
        .unwrap();
    vr.track_deployment(&DeploymentEvent::new("api", "1", "production", "completed"))
        .unwrap();
    vr.deliver_pending_with(&fast()).unwrap();
    let got: Vec<String> = rx
        .got()
        .iter()
        .map(|r| r.header("x-versioner-event").unwrap().to_string())
        .collect();
    assert_eq!(got, ["deployment.completed"]);
    assert_eq!(rx.got()[0].json()["environment"], "production");
}

#[test]
fn slack_gets_block_kit_and_a_test_notification() {
    let vr = common::fresh();
    let rx = Receiver::start();
    let ch = vr
        .add_notification_channel(&ChannelRequest::new(
            "slack",
            "slack_webhook",
            json!({"webhook_url": rx.url()}),
        ))
        .unwrap();
    let shown = serde_json::to_value(&ch).unwrap();
    assert!(
        !shown["config"]["webhook_url"]
            .as_str()
            .unwrap()
            .contains("/hook")
    );
    vr.add_notification_preference(&PreferenceRequest::new(&ch.id, "*"))
        .unwrap();
    let mut d = DeploymentEvent::new("api", "1.2.0", "production", "completed");
    d.deploy_url = Some("https://ci.example.com/run/7".into());
    vr.track_deployment(&d).unwrap();
    vr.deliver_pending_with(&fast()).unwrap();
    let msg = rx.got()[0].json();
    let text = msg["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(
        text.contains("*api 1.2.0* deployed to *production*"),
        "{text}"
    );
    let context = msg["blocks"][1]["elements"][0]["text"].as_str().unwrap();
    assert!(
        context.contains("<https://ci.example.com/run/7|CI run>"),
        "{context}"
    );
    assert!(context.contains("https://versioner.example.com/manage/deployments?view="));

    let test = vr.send_test_notification("slack").unwrap();
    assert_eq!(test.status, DeliveryStatus::Delivered);
    assert_eq!(test.event_type, "test");
    assert!(
        rx.got()[1].json()["text"]
            .as_str()
            .unwrap()
            .contains("Test notification")
    );
}

/// A minimal SMTP sink: accepts every message and keeps its DATA.
fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut out) = stream else { continue };
            let mut reader = BufReader::new(out.try_clone().unwrap());
            let _ = out.write_all(b"220 sink ESMTP\r\n");
            let mut data: Option<String> = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(d) = data.as_mut() {
                    if line == ".\r\n" {
                        keep.lock().unwrap().push(data.take().unwrap());
                        let _ = out.write_all(b"250 queued\r\n");
                    } else {
                        d.push_str(&line);
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                    "DATA" => {
                        data = Some(String::new());
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        let _ = out.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                let _ = out.write_all(reply);
            }
        }
    });
    (port, mails)
}

#[test]
fn email_reaches_a_local_smtp_sink() {
    let vr = common::fresh();
    let (port, mails) = smtp_sink();
    let ch = vr
        .add_notification_channel(&ChannelRequest::new(
            "ops mail",
            "email",
            json!({"smtp_host": "127.0.0.1", "smtp_port": port, "tls": "none",
                   "from": "versioner@example.com", "to": "ops@example.com"}),
        ))
        .unwrap();
    vr.add_notification_preference(&PreferenceRequest::new(&ch.id, "deployment.failed"))
        .unwrap();
    vr.track_deployment(&DeploymentEvent::new(
        "api",
        "2.0.0",
        "production",
        "failed",
    ))
    .unwrap();
    let report = vr.deliver_pending_with(&fast()).unwrap();
    assert_eq!(
        report.delivered,
        1,
        "{:?}",
        vr.notification_history(&HistoryFilter::default())
    );
    let mails = mails.lock().unwrap();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Subject: [Versioner] api 2.0.0 failed in production"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("Environment: production"));
}

#[test]
fn a_policy_file_declares_channels_and_their_subscriptions() {
    let vr = common::fresh();
    let rx = Receiver::start();
    let policy = format!(
        r#"
[[notifications]]
name = "deploys"
channel_type = "webhook"
config = {{ url = "{}", secret = "s3cret" }}
events = ["deployment.completed", "deployment.failed"]
filters = {{ environments = ["production"] }}
"#,
        rx.url()
    );
    vr.apply_policy_text(&policy, PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap();
    let channels = vr.notification_channels().unwrap();
    assert_eq!(channels.len(), 1);
    assert!(channels[0].declared);
    let prefs = vr.notification_preferences().unwrap();
    let mut types: Vec<&str> = prefs.iter().map(|p| p.event_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["deployment.completed", "deployment.failed"]);
    assert_eq!(prefs[0].filters.environments, ["production"]);

    // The same file again changes nothing.
    let seq = vr.last_event_seq().unwrap();
    vr.apply_policy_text(&policy, PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap();
    assert_eq!(vr.last_event_seq().unwrap(), seq);
    assert_eq!(vr.notification_channels().unwrap()[0].id, channels[0].id);

    vr.track_deployment(&DeploymentEvent::new("api", "1", "production", "failed"))
        .unwrap();
    assert_eq!(vr.deliver_pending_with(&fast()).unwrap().delivered, 1);
    assert!(verify(
        "s3cret",
        &rx.got()[0].body,
        rx.got()[0].header("x-versioner-signature").unwrap()
    ));

    // Refused whole, naming the table and key; nothing changes.
    let bad = r#"
[[notifications]]
name = "x"
channel_type = "pager"
config = {}
"#;
    let err = vr
        .apply_policy_text(bad, PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        err.to_string().contains("notifications[0].channel_type"),
        "{err}"
    );
    assert_eq!(vr.notification_channels().unwrap().len(), 1);

    // A declared channel may not take the name of one added over the API.
    vr.add_notification_channel(&ChannelRequest::new(
        "manual",
        "webhook",
        json!({"url": "https://x.example.com/hook"}),
    ))
    .unwrap();
    let clash = r#"
[[notifications]]
name = "Manual"
channel_type = "webhook"
config = { url = "https://y.example.com/hook" }
"#;
    let err = vr
        .apply_policy_text(clash, PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(
        vr.notification_channels().unwrap().len(),
        2,
        "nothing written"
    );

    // Replace mode without the table removes what the policy declared, not the API's.
    vr.apply_policy_text("", PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap();
    let left: Vec<String> = vr
        .notification_channels()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(left, ["manual"]);
}

#[test]
fn a_build_ready_to_deploy_shows_its_deployment_buttons_in_slack() {
    use versioner_core::buttons::{ButtonRequest, VariableRequest};
    let vr = common::fresh();
    let rx = Receiver::start();
    let ch = vr
        .add_notification_channel(&ChannelRequest::new(
            "slack",
            "slack_webhook",
            json!({"webhook_url": rx.url()}),
        ))
        .unwrap();
    vr.add_notification_preference(&PreferenceRequest::new(&ch.id, "build.completed"))
        .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "started"))
        .unwrap();
    vr.set_variable(&VariableRequest::new("jenkins", "ci.example.com"))
        .unwrap();
    vr.add_deployment_button(&ButtonRequest::new(
        "api",
        "Deploy",
        "https://{jenkins}/deploy?v={vi_version}&env={vi_environment_name}",
        vec!["production".into()],
    ))
    .unwrap();
    vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))
        .unwrap();
    vr.deliver_pending_with(&fast()).unwrap();
    let msg = rx.got()[0].json();
    let text = msg["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(text.contains("ready to deploy"), "{text}");
    let actions = msg["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    assert_eq!(
        actions["elements"][0]["url"],
        "https://ci.example.com/deploy?v=1.0.0&env=production"
    );
}
