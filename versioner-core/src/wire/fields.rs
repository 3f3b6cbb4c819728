//! The field guard: a field added to a core record must reach every surface that shows it.
//!
//! [`records`] builds every record the core hands out, each field populated (struct literals:
//! a new field does not compile until it is given a value here, and
//! `every_record_is_fully_populated` refuses `None`, empty lists and empty maps). Then:
//! - **HTTP**: `every_serde_field_reaches_the_http_body` walks each record's serde JSON and
//!   finds every key, recursively, in the body the server sends for it ([`wire::deployment`],
//!   [`wire::build`], or the serde form itself), except the deliberate differences listed in
//!   [`RENDERED_DIFFERENTLY`].
//! - **Node and Python**: `the_shared_record_vectors_are_current` keeps
//!   `tests/vectors/records.json` equal to these records' serde JSON. The Node suite
//!   (`versioner-node/__test__/records.test.mjs`) converts each one into its Node mirror, which
//!   refuses unknown fields, and the Python suite (`versioner-py/tests/test_record_fields.py`)
//!   into its dataclass, whose `_from_wire` refuses unknown keys; so a field that does not
//!   reach a binding fails that binding's suite, naming the field.
//!
//! After changing a record: `VERSIONER_UPDATE_RECORDS=1 cargo test -p versioner-core --lib
//! wire::fields`, commit `tests/vectors/records.json`, then carry the field to
//! `versioner-node/src/records.rs` and `versioner-py/python/versioner/_records.py`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::access::{ApiKey, Principal, Role};
use crate::approval::Approval;
use crate::ci::{CiInfo, CiSystem};
use crate::decision::{DecisionOutcome, DecisionRecord, ReplayChange};
use crate::model::{
    Build, BuildFields, Deployment, DeploymentFields, Environment, EnvironmentType, Product,
    Version,
};
use crate::outbox::{AuditReport, DomainEvent, EventType};
use crate::policy::CoveringRequest;
use crate::policy::{
    BlockCode, Facts, OpenDeployment, OutcomeStatus, Preflight, PreflightStatus, Rule, RuleKind,
    RuleOutcome, RuleStatus, RuleType, Stint, Verdict,
};
use crate::queue::QueueEntry;
use crate::request::{
    CellState, DeploymentRequest, Progress, ProgressCell, RequestContext, RequestStatus,
    RequestTemplate, RequestVersion, Slot, SlotSpec, SlotStatus, Step, StepPhase, Transition,
};
use crate::service::ApplyReport;
use crate::state::{DeployedVersion, Drift, StateCell, StateMatrix};
use crate::status::Status;
use crate::store::{RuleStatusChange, StoredRule};
use crate::wire;

/// Fields the public API deliberately sends differently from their serde form, as
/// `(record, path in the serde JSON, why)`. Today there are none:
/// - a deployment's `preflight` is sent as is, and the official clients' summary of it,
///   `extra_metadata.preflight_status`, is sent in addition (an extra key is allowed);
/// - times are sent in the one wire format (`wire::instant`, microseconds): the same keys.
///
/// An entry here must name a field that is really missing from the body (checked), so the
/// list cannot go stale.
const RENDERED_DIFFERENTLY: &[(&str, &str, &str)] = &[];

/// One record: its type, its serde JSON (what Node and Python convert) and the HTTP body the
/// server sends for it.
struct Record {
    kind: &'static str,
    serde: Value,
    http: Value,
}

impl Record {
    /// A record the server sends in its serde form (`api::to_json`).
    fn serde<T: Serialize>(kind: &'static str, value: &T) -> Record {
        let serde = to_value(value);
        Record {
            kind,
            http: serde.clone(),
            serde,
        }
    }

    /// A record the server sends through a hand-built body.
    fn rendered<T: Serialize>(kind: &'static str, value: &T, http: Value) -> Record {
        Record {
            kind,
            serde: to_value(value),
            http,
        }
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| panic!("cannot serialize a fixture: {e}"))
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, hour, minute, 0)
        .single()
        .unwrap_or_else(|| panic!("a fixed instant"))
}

fn metadata() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ticket".into(), json!("CHG-1"));
    m.insert("nested".into(), json!({"keep_snake_case": true}));
    m
}

fn product() -> Product {
    Product {
        id: "0190a000-0000-7000-8000-000000000001".into(),
        name: "api".into(),
        description: Some("The public API".into()),
        extra_metadata: metadata(),
        created_at: at(8, 0),
        key: 1,
    }
}

fn environment() -> Environment {
    Environment {
        id: "0190a000-0000-7000-8000-000000000002".into(),
        name: "production".into(),
        env_type: EnvironmentType::Production,
        type_overridden: true,
        description: Some("Customers' traffic".into()),
        extra_metadata: metadata(),
        created_at: at(8, 1),
        key: 2,
    }
}

fn version() -> Version {
    Version {
        id: "0190a000-0000-7000-8000-000000000003".into(),
        product_id: product().id,
        product_name: "api".into(),
        version: "1.2.0".into(),
        scm_sha: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
        scm_branch: Some("main".into()),
        scm_repository: Some("acme/api".into()),
        build_number: Some("42".into()),
        build_url: Some("https://ci.example.com/42".into()),
        built_by: Some("dana".into()),
        created_at: at(8, 2),
        scm_committed_at: Some(at(7, 55)),
        key: 3,
        product_key: 1,
    }
}

fn build() -> Build {
    Build {
        id: "0190a000-0000-7000-8000-000000000004".into(),
        version_id: version().id,
        product_id: product().id,
        product_name: "api".into(),
        version: "1.2.0".into(),
        status: Status::Failed,
        fields: BuildFields {
            built_by: Some("dana".into()),
            built_by_email: Some("dana@example.com".into()),
            built_by_name: Some("Dana".into()),
            scm_sha: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
            scm_branch: Some("main".into()),
            scm_repository: Some("acme/api".into()),
            build_url: Some("https://ci.example.com/42".into()),
            build_number: Some("42".into()),
            source_system: Some("github".into()),
            invoke_id: Some("run-42".into()),
            error_message: Some("tests failed".into()),
            error_code: Some("TESTS".into()),
            recorded_by: Some("github-actions".into()),
        },
        started_at: Some(at(8, 3)),
        completed_at: Some(at(8, 9)),
        created_at: at(8, 3),
        updated_at: at(8, 9),
        extra_metadata: metadata(),
        key: 4,
        version_key: 3,
    }
}

fn outcome() -> RuleOutcome {
    let mut details = Map::new();
    details.insert("window".into(), json!("Friday freeze"));
    details.insert("ends_at".into(), json!("2026-11-20T18:00:00Z"));
    RuleOutcome {
        rule_name: "Friday freeze".into(),
        rule_type: RuleType::Schedule,
        rule_status: RuleStatus::Enabled,
        status: OutcomeStatus::Failed,
        code: Some(BlockCode::NoDeployWindow),
        message: "a no-deploy window is active until 18:00 UTC".into(),
        details,
        retry_after: Some(at(18, 0)),
    }
}

/// A blocked verdict: the derived fields (`code`, `http_status`, `message`, `primary_rule`)
/// and `retry_after` are all set.
fn verdict() -> Verdict {
    Verdict::new(
        ("api", "1.2.0", "production"),
        at(15, 0),
        vec![outcome()],
        Some(at(18, 0)),
    )
}

/// A bypassed preflight: it carries what the rules would have said, and the reason.
fn preflight() -> Preflight {
    Preflight {
        status: PreflightStatus::Skipped,
        verdict: verdict(),
        bypass_reason: Some("hotfix for INC-7".into()),
    }
}

fn deployment() -> Deployment {
    Deployment {
        id: "0190a000-0000-7000-8000-000000000005".into(),
        product_id: product().id,
        product_name: "api".into(),
        version_id: version().id,
        version: "1.2.0".into(),
        environment_id: environment().id,
        environment_name: "production".into(),
        status: Status::Completed,
        fields: DeploymentFields {
            deployed_by: Some("dana".into()),
            deployed_by_email: Some("dana@example.com".into()),
            deployed_by_name: Some("Dana".into()),
            scm_sha: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
            scm_repository: Some("acme/api".into()),
            scm_branch: Some("main".into()),
            build_number: Some("42".into()),
            source_system: Some("github".into()),
            invoke_id: Some("run-43".into()),
            deploy_url: Some("https://ci.example.com/43".into()),
            build_url: Some("https://ci.example.com/42".into()),
            recorded_by: Some("github-actions".into()),
        },
        deployed_at: at(15, 0),
        started_at: Some(at(15, 0)),
        completed_at: Some(at(15, 10)),
        updated_at: at(15, 10),
        extra_metadata: metadata(),
        preflight: Some(preflight()),
        key: 5,
        product_key: 1,
        version_key: 3,
        environment_key: 2,
    }
}

fn approval() -> Approval {
    Approval {
        id: "0190a000-0000-7000-8000-000000000006".into(),
        product_name: "api".into(),
        version: "1.2.0".into(),
        version_id: version().id,
        approval_type: "release".into(),
        approver: "erin".into(),
        approver_role: Some("release_manager".into()),
        environment: Some("production".into()),
        comment: Some("ship it".into()),
        granted_at: at(9, 0),
        revoked_at: Some(at(10, 0)),
        revoked_by: Some("frank".into()),
        revoke_reason: Some("found a regression".into()),
    }
}

/// One rule of each kind, every common and kind field given.
fn rules() -> Vec<StoredRule> {
    let scope = json!({
        "status": "report_only",
        "description": "what it is for",
        "products": ["api"],
        "environments": ["production"],
        "environment_types": ["production"],
    });
    let kinds = [
        json!({"name": "One at a time", "type": "concurrency", "max": 2,
               "per": "environment", "stale_after": "2h"}),
        json!({"name": "Friday freeze", "type": "schedule", "mode": "deny",
               "timezone": "Europe/London", "reason": "weekend cover is thin", "windows": [
                   {"name": "Friday afternoon", "recurrence": "weekly", "days": ["fri"],
                    "start": "15:00", "end": "23:59"},
                   {"name": "Month end", "recurrence": "monthly", "days_of_month": [28, 31],
                    "start": "00:00", "end": "23:59"}]}),
        json!({"name": "Staging first", "type": "flow", "prerequisites": ["staging"],
               "strict_order": true, "soak": "1d"}),
        json!({"name": "QA sign-off", "type": "version_approval",
               "approval_types": ["qa", "security"], "environment": "staging"}),
        json!({"name": "Two approvers", "type": "release_approval", "required": 2,
               "approver_roles": ["release_manager"], "expires_after": "7d"}),
        json!({"name": "DR for production", "type": "deployment_request_required",
               "approval_types": ["qa"], "approval_timeout": "3d"}),
        json!({"name": "Production keeps up", "type": "max_skew", "behind": "staging",
               "max_versions": 5, "max_age": "14d"}),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let mut definition = scope.clone();
            if let (Some(d), Some(k)) = (definition.as_object_mut(), kind.as_object()) {
                d.extend(k.clone());
            }
            let rule = Rule::from_json(&definition)
                .unwrap_or_else(|e| panic!("fixture rule {definition}: {e}"));
            StoredRule {
                rule,
                position: i64::try_from(i).unwrap_or(0) + 1,
                created_at: at(7, 0),
                updated_at: at(7, 30),
            }
        })
        .collect()
}

fn rule_status_change() -> RuleStatusChange {
    RuleStatusChange {
        rule_name: "Friday freeze".into(),
        from_status: RuleStatus::Enabled,
        to_status: RuleStatus::ReportOnly,
        actor: "erin".into(),
        reason: "trial week".into(),
        changed_at: at(7, 30),
    }
}

fn apply_report() -> ApplyReport {
    ApplyReport {
        added: vec!["Two approvers".into()],
        updated: vec!["Staging first".into()],
        unchanged: vec!["One at a time".into()],
        deleted: vec!["Old rule".into()],
    }
}

fn deployed_version() -> DeployedVersion {
    DeployedVersion {
        deployment_id: deployment().id,
        version: "1.2.0".into(),
        version_id: version().id,
        status: Status::Completed,
        deployed_at: at(15, 10),
        deployed_by: Some("dana".into()),
        scm_sha: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
    }
}

fn state_cell() -> StateCell {
    StateCell {
        product_name: "api".into(),
        environment_name: "production".into(),
        environment_type: EnvironmentType::Production,
        current: Some(deployed_version()),
        in_progress: vec![DeployedVersion {
            status: Status::Started,
            ..deployed_version()
        }],
        last_failed: Some(DeployedVersion {
            status: Status::Failed,
            version: "1.1.9".into(),
            ..deployed_version()
        }),
    }
}

fn state_matrix() -> StateMatrix {
    StateMatrix {
        at: Some(at(16, 0)),
        products: vec!["api".into()],
        environments: vec!["production".into()],
        cells: vec![state_cell()],
    }
}

fn drift() -> Drift {
    Drift {
        product_name: "api".into(),
        versions: BTreeMap::from([
            ("production".to_string(), "1.1.0".to_string()),
            ("staging".to_string(), "1.2.0".to_string()),
        ]),
        distinct_versions: 2,
    }
}

fn api_key() -> ApiKey {
    ApiKey {
        id: "0a1b2c3d".into(),
        name: "ci".into(),
        principal: "github-actions".into(),
        role: Role::Ci,
        prefix: "sk_vr_0a1b2c3d".into(),
        created_at: at(6, 0),
        last_used_at: Some(at(15, 0)),
        revoked_at: Some(at(17, 0)),
    }
}

fn principal() -> Principal {
    Principal {
        name: "github-actions".into(),
        role: Role::Ci,
        created_at: at(6, 0),
        updated_at: at(7, 0),
    }
}

fn domain_event() -> DomainEvent {
    DomainEvent {
        seq: 7,
        event_type: EventType::DeploymentCompleted,
        occurred_at: at(15, 10),
        actor: Some("dana".into()),
        subject: Some(deployment().id),
        payload: json!({"id": deployment().id}),
        hash: Some("9f2c".repeat(16)),
    }
}

fn open_deployment() -> OpenDeployment {
    OpenDeployment {
        id: "0190a000-0000-7000-8000-000000000007".into(),
        product_name: "web".into(),
        version: "3.1.0".into(),
        status: Status::Started,
        started_at: at(14, 50),
    }
}

/// A version's stint in staging: succeeded twice, then superseded by another version.
fn stint() -> Stint {
    Stint {
        first_success_at: Some(at(10, 0)),
        last_success_at: Some(at(11, 0)),
        superseded: Some((at(12, 0), "1.3.0".into())),
    }
}

/// What a preflight was decided on, every fact gathered.
fn facts() -> Facts {
    Facts {
        product: "api".into(),
        version: "1.2.0".into(),
        environment: "production".into(),
        environment_type: EnvironmentType::Production,
        deployed_by: Some("dana".into()),
        principal: Some("github-actions".into()),
        version_known: true,
        builders: vec!["dana".into()],
        open_deployments: vec![open_deployment()],
        stints: BTreeMap::from([("staging".to_string(), stint())]),
        approvals: vec![approval()],
        deployment_requests: vec![covering_request()],
        skew: BTreeMap::from([(
            "production".to_string(),
            crate::policy::SkewFacts::new(
                Some("1.1.0".into()),
                vec!["1.2.0".into()],
                Some(at(10, 0)),
                true,
            ),
        )]),
    }
}

/// A slot approved by a QA engineer.
fn slot() -> Slot {
    let mut dr = deployment_request();
    dr.slots.remove(0)
}

/// A submitted request covering the deployment, waiting for its pre-step.
fn covering_request() -> CoveringRequest {
    CoveringRequest::new(
        "0190a000-0000-7000-8000-00000000000d",
        "Q4 release",
        RequestStatus::Approved,
        vec![slot()],
        vec!["Announce in #deploys".into()],
    )
}

/// A multi-product Deployment Request, approved, every field set.
fn deployment_request() -> DeploymentRequest {
    let mut metadata = Map::new();
    metadata.insert("change_ticket".into(), json!("CHG-42"));
    DeploymentRequest {
        id: "0190a000-0000-7000-8000-00000000000d".into(),
        name: "Q4 release".into(),
        description: Some("The Q4 platform release".into()),
        context: RequestContext {
            release_notes: Some("Faster checkout".into()),
            issue_links: vec!["https://issues.example.com/42".into()],
            metadata,
        },
        status: RequestStatus::Approved,
        versions: vec![RequestVersion {
            product_name: "api".into(),
            version: "1.2.0".into(),
            version_id: version().id,
        }],
        environments: vec!["production".into()],
        slots: vec![Slot {
            approval_type: "qa".into(),
            optional: true,
            status: SlotStatus::Approved,
            decided_by: Some("quinn".into()),
            decided_role: Some("qa".into()),
            decided_at: Some(at(13, 0)),
            comment: Some("Regression suite green".into()),
        }],
        steps: vec![Step {
            text: "Announce in #deploys".into(),
            phase: StepPhase::Pre,
            done_by: Some("dana".into()),
            done_at: Some(at(13, 30)),
        }],
        template: Some("Production change".into()),
        allow_self_approval: true,
        created_by: "dana".into(),
        created_at: at(12, 0),
        updated_at: at(13, 30),
        deployed_at: Some(at(14, 0)),
        history: vec![Transition {
            action: "submitted".into(),
            from: Some(RequestStatus::Draft),
            to: RequestStatus::InProgress,
            by: Some("dana".into()),
            at: at(12, 30),
            comment: Some("Ready for review".into()),
        }],
    }
}

/// A progress grid with one cell.
fn progress() -> Progress {
    Progress {
        request_id: deployment_request().id,
        status: RequestStatus::Approved,
        cells: vec![ProgressCell {
            product_name: "api".into(),
            version: "1.2.0".into(),
            environment: "production".into(),
            state: CellState::Deployed,
            deployment_id: Some(deployment().id),
        }],
        deployed: true,
    }
}

/// A template with every field set.
fn request_template() -> RequestTemplate {
    RequestTemplate {
        name: "Production change".into(),
        description: Some("Standard production change".into()),
        slots: vec![SlotSpec::required("qa")],
        pre_steps: vec!["Freeze merges".into()],
        post_steps: vec!["Check the dashboards".into()],
        environments: vec!["production".into()],
        allow_self_approval: Some(false),
    }
}

/// A ticket second in its environment's queue.
fn queue_entry() -> QueueEntry {
    QueueEntry {
        id: "0190a000-0000-7000-8000-00000000000a".into(),
        position: 2,
        product_name: "api".into(),
        version: "1.2.0".into(),
        environment_name: "production".into(),
        waiter: Some("github-actions".into()),
        since: at(15, 0),
        heartbeat_at: at(15, 1),
    }
}

/// A bypassed decision: the rules refused, the deployment went ahead with a reason.
fn decision_record() -> DecisionRecord {
    DecisionRecord {
        id: "0190a000-0000-7000-8000-000000000008".into(),
        recorded_at: at(15, 0),
        product_name: "api".into(),
        version: "1.2.0".into(),
        environment_name: "production".into(),
        status: Status::Started,
        outcome: DecisionOutcome::Bypassed,
        actor: Some("github-actions".into()),
        deployment_id: Some(deployment().id),
        policy_hash: "5d1e".repeat(16),
        request: json!({
            "product_name": "api",
            "version": "1.2.0",
            "environment_name": "production",
            "status": "started",
            "skip_preflight_checks": true,
            "skip_preflight_reason": "hotfix for INC-7",
        }),
        verdict: verdict(),
        facts: facts(),
    }
}

fn replay_change() -> ReplayChange {
    ReplayChange {
        decision_id: decision_record().id,
        recorded_at: at(15, 0),
        product_name: "api".into(),
        version: "1.2.0".into(),
        environment_name: "production".into(),
        was: DecisionOutcome::Reported,
        now: DecisionOutcome::Blocked,
        failed_then: vec!["Friday freeze".into()],
        failed_now: vec!["Friday freeze".into(), "Staging first".into()],
    }
}

/// A report naming a broken link (a report of an intact chain has no mismatch and no reason;
/// the fixture fills every field).
fn audit_report() -> AuditReport {
    AuditReport {
        entries: 12,
        unchained: 2,
        first_mismatch: Some(9),
        reason: Some("its content or its link to the previous event was changed".into()),
        head: Some("9f2c".repeat(16)),
    }
}

fn ci_info() -> CiInfo {
    let mut metadata = Map::new();
    metadata.insert("vi_gh_workflow".into(), json!("deploy"));
    CiInfo {
        system: Some(CiSystem::Github),
        scm_repository: Some("acme/api".into()),
        scm_sha: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
        scm_branch: Some("main".into()),
        build_number: Some("43".into()),
        build_url: Some("https://github.com/acme/api/actions/runs/43".into()),
        invoke_id: Some("43-1".into()),
        user: Some("dana".into()),
        user_email: Some("dana@example.com".into()),
        user_name: Some("Dana".into()),
        product: Some("api".into()),
        version: Some("1.2.0".into()),
        metadata,
    }
}

/// Every record the core hands out, fully populated, with the HTTP body sent for it.
fn records() -> Vec<Record> {
    let mut out = vec![
        Record::serde("Product", &product()),
        Record::serde("Environment", &environment()),
        Record::serde("Version", &version()),
        Record::rendered("Build", &build(), wire::build(&build())),
        Record::rendered("Deployment", &deployment(), wire::deployment(&deployment())),
        // Preflight, Verdict and RuleOutcome also travel alone: a check answers with a
        // verdict, a rejection carries it (`detail.verdict`).
        Record::serde("Preflight", &preflight()),
        Record::serde("Verdict", &verdict()),
        Record::serde("RuleOutcome", &outcome()),
        Record::serde("Approval", &approval()),
    ];
    out.extend(rules().iter().map(|r| Record::serde("StoredRule", r)));
    out.extend([
        Record::serde("RuleStatusChange", &rule_status_change()),
        Record::serde("ApplyReport", &apply_report()),
        Record::serde("DeployedVersion", &deployed_version()),
        Record::serde("StateCell", &state_cell()),
        Record::serde("StateMatrix", &state_matrix()),
        Record::serde("Drift", &drift()),
        // Keys and principals are managed with `versioner keys` and `/api-keys/` (not the
        // bindings).
        Record::serde("ApiKey", &api_key()),
        Record::serde("Principal", &principal()),
        // Decision records (`GET /deployment-rules/violations`, `violations` in the bindings)
        // carry the facts they were decided on; Facts, OpenDeployment and Stint also travel
        // alone in the bindings' own types.
        Record::serde("DecisionRecord", &decision_record()),
        Record::serde("Facts", &facts()),
        Record::serde("OpenDeployment", &open_deployment()),
        Record::serde("Stint", &stint()),
        // Not HTTP records: `Versioner::replay`, `audit_verify` and `events_since` in process
        // (the CLI's `replay`, `audit verify`, `audit export`, and the bindings).
        Record::serde("ReplayChange", &replay_change()),
        Record::serde("AuditReport", &audit_report()),
        Record::serde("DomainEvent", &domain_event()),
        // Not an HTTP record: what CI detection finds (the bindings' `detect_ci`).
        Record::serde("CiInfo", &ci_info()),
        // Deployment Requests (`/deployment-requests/`, `requests` in the CLI and bindings).
        Record::serde("DeploymentRequest", &deployment_request()),
        Record::serde("Progress", &progress()),
        Record::serde("RequestTemplate", &request_template()),
        Record::serde("CoveringRequest", &covering_request()),
        // The wait queue (`GET /queue`, `versioner queue`, `queue` in the bindings).
        Record::serde("QueueEntry", &queue_entry()),
    ]);
    out
}

/// Every key path of `serde` (objects recursively, arrays by index) missing from `http`.
fn missing_keys(serde: &Value, http: &Value, path: &str, out: &mut Vec<String>) {
    match serde {
        Value::Object(fields) => {
            for (key, value) in fields {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match http.get(key) {
                    Some(sent) => missing_keys(value, sent, &here, out),
                    None => out.push(here),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let here = format!("{path}[{i}]");
                match http.get(i) {
                    Some(sent) => missing_keys(item, sent, &here, out),
                    None => out.push(here),
                }
            }
        }
        _ => {}
    }
}

/// Every path of `value` that is `null`, an empty list or an empty map.
fn unpopulated(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Null => out.push(path.to_string()),
        Value::Object(fields) if fields.is_empty() => out.push(format!("{path} (empty map)")),
        Value::Array(items) if items.is_empty() => out.push(format!("{path} (empty list)")),
        Value::Object(fields) => {
            for (key, v) in fields {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                unpopulated(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unpopulated(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_record_is_fully_populated() {
    let mut problems = Vec::new();
    for r in records() {
        let mut empty = Vec::new();
        unpopulated(&r.serde, "", &mut empty);
        problems.extend(empty.into_iter().map(|p| format!("{}.{p}", r.kind)));
    }
    // A rule writes only the fields it has: each kind must show every field it reads.
    let stored = rules();
    for t in RuleType::ALL {
        let rule = stored
            .iter()
            .find(|r| r.rule.rule_type() == *t)
            .map(to_value);
        let Some(rule) = rule else {
            problems.push(format!("StoredRule: no {t} rule in the fixture"));
            continue;
        };
        for field in crate::policy::COMMON_FIELDS
            .iter()
            .chain(RuleKind::fields(*t))
        {
            if rule.get(field).is_none() {
                problems.push(format!("StoredRule ({t}).{field}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "fixture fields not populated (give them a value in versioner-core/src/wire/fields.rs):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_serde_field_reaches_the_http_body() {
    let mut missing = Vec::new();
    let mut used = vec![false; RENDERED_DIFFERENTLY.len()];
    for r in records() {
        let mut paths = Vec::new();
        missing_keys(&r.serde, &r.http, "", &mut paths);
        for path in paths {
            match RENDERED_DIFFERENTLY
                .iter()
                .position(|(kind, p, _)| *kind == r.kind && *p == path)
            {
                Some(i) => used[i] = true,
                None => missing.push(format!("{}.{path}", r.kind)),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields of core records missing from the HTTP body the server sends for them \
         (add them to wire.rs, or to RENDERED_DIFFERENTLY with the reason):\n  {}",
        missing.join("\n  ")
    );
    let stale: Vec<_> = RENDERED_DIFFERENTLY
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|((kind, path, _), _)| format!("{kind}.{path}"))
        .collect();
    assert!(
        stale.is_empty(),
        "RENDERED_DIFFERENTLY lists fields the body does carry (remove them): {stale:?}"
    );
}

#[test]
fn the_walk_names_a_missing_nested_field() {
    let serde = json!({"a": 1, "b": {"c": [{"d": 1, "e": 2}]}});
    let http = json!({"a": "1", "b": {"c": [{"d": 1}]}, "extra": true});
    let mut missing = Vec::new();
    missing_keys(&serde, &http, "", &mut missing);
    assert_eq!(missing, ["b.c[0].e"]);
}

/// The records' serde JSON, by type, as `tests/vectors/records.json` holds it.
fn vectors() -> Value {
    let mut by_kind: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in records() {
        by_kind.entry(r.kind).or_default().push(r.serde);
    }
    json!({
        "_comment": "Every core record, fully populated, in its serde JSON. Generated by \
                     versioner-core/src/wire/fields.rs (VERSIONER_UPDATE_RECORDS=1 cargo test -p \
                     versioner-core --lib wire::fields); read by the Node and Python suites, \
                     which convert each record into the binding's own type.",
        "records": by_kind,
    })
}

#[test]
fn the_shared_record_vectors_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/records.json");
    let fresh = vectors();
    if std::env::var("VERSIONER_UPDATE_RECORDS").is_ok_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(&fresh).unwrap_or_default() + "\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    if committed != fresh {
        let mut changed = Vec::new();
        missing_keys(&fresh, &committed, "", &mut changed);
        missing_keys(&committed, &fresh, "", &mut changed);
        panic!(
            "{} is out of date (keys added or removed: {changed:?}); regenerate it with \
             `VERSIONER_UPDATE_RECORDS=1 cargo test -p versioner-core --lib wire::fields`, \
             commit it, and carry any new field to the Node and Python records",
            path.display()
        );
    }
}
