//! The OpenAPI 3.1 document, generated from the routes' declarations and the wire types.
//!
//! Each handler declares its route once (`#[utoipa::path]`: method, path, summary, request,
//! query parameters, success response, the errors peculiar to it, and its [`Permission`] as
//! the `x-permission` extension), and its area's `routes()` registers it with axum. This
//! module then adds what follows from a route's shape, so it is written once for all:
//! - a route that needs a key: `security: bearer`, 401, 403 (also a browser's cross-origin
//!   write), 429 (over a rate limit) and 503 (storage unavailable or the request timed out);
//! - a write (`POST`, `PUT`, `DELETE`) that needs a key: the `Idempotency-Key` header and its
//!   422 (a key reused for another request);
//! - a request body: 400 (malformed JSON), 413 (too large), 415 (not `application/json`), 422
//!   (invalid input, naming the field);
//! - query parameters: 400 (unreadable query string) and 422 (a bad value, naming it).
//!
//! A 404 is declared by the routes that can answer it (an unknown id or name).
//!
//! The record types of the core derive their schemas (feature `openapi`). The bodies whose
//! JSON is built by hand in [`versioner_core::wire`] (a deployment with `preflight_status`
//! injected into `extra_metadata`, a build, the error bodies, a preflight rejection nested
//! under `detail`), the rule in its policy-file form and the records the core serializes by
//! hand are described here by types that mirror them field for field; the server's tests
//! validate real responses against them, with undeclared properties refused.
//!
//! [`document`] is the finished document, built once; the permission table
//! ([`routes`](crate::routes)) is read from it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};
use versioner_core::policy::{BlockCode, Decision, RuleOutcome, RuleStatus, RuleType};
use versioner_core::{EnvironmentType, ErrorCode, Status};

use crate::routes::{Permission, parse_permission};

/// The name of the operation extension that carries a route's [`Permission`].
pub const PERMISSION_EXTENSION: &str = "x-permission";

// ----- bodies built by hand in the core's wire module ---------------------------------------

/// A recorded deployment, as `POST /deployment-events/` and `GET /deployments/` answer it.
#[derive(Debug, ToSchema)]
#[schema(as = Deployment)]
pub struct DeploymentBody {
    /// The deployment's id.
    pub id: String,
    /// The product's id.
    pub product_id: String,
    /// The version's id.
    pub version_id: String,
    /// The environment's id.
    pub environment_id: String,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// The canonical status.
    pub status: Status,
    /// When the deployment was recorded as happening (claimed time).
    pub deployed_at: DateTime<Utc>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// Who deployed.
    pub deployed_by: Option<String>,
    /// Their e-mail.
    pub deployed_by_email: Option<String>,
    /// Their display name.
    pub deployed_by_name: Option<String>,
    /// The commit.
    pub scm_sha: Option<String>,
    /// The repository.
    pub scm_repository: Option<String>,
    /// The branch.
    pub scm_branch: Option<String>,
    /// The CI build number.
    pub build_number: Option<String>,
    /// The CI system.
    pub source_system: Option<String>,
    /// The CI run id.
    pub invoke_id: Option<String>,
    /// A link to the deploy run.
    pub deploy_url: Option<String>,
    /// A link to the build.
    pub build_url: Option<String>,
    /// The principal that recorded it (the API key's); `deployed_by` is who the event names.
    pub recorded_by: Option<String>,
    /// The event's metadata, plus `preflight_status` when a preflight ran.
    pub extra_metadata: DeploymentMetadata,
    /// What the preflight decided, when it ran.
    pub preflight: Option<PreflightBody>,
}

/// A deployment's `extra_metadata`: what the event sent, plus `preflight_status` (a
/// [`PreflightReport`]) when a preflight ran.
#[derive(Debug)]
pub struct DeploymentMetadata;

impl PartialSchema for DeploymentMetadata {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The event's metadata, plus `preflight_status` when a preflight ran (report-only failures are listed there)",
            ))
            .property("preflight_status", PreflightReport::schema_ref())
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for DeploymentMetadata {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<PreflightReport>(schemas);
    }
}

/// How the preflight treated a recorded deployment.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PreflightState {
    /// Every enabled rule held (report-only rules may have warned).
    Passed,
    /// Bypassed in an emergency, with a reason.
    Skipped,
}

/// `extra_metadata.preflight_status` of a recorded deployment.
#[derive(Debug, ToSchema)]
pub struct PreflightReport {
    /// Passed or skipped.
    pub status: PreflightState,
    /// Every rule evaluated.
    pub rules_evaluated: Vec<RuleEvaluation>,
    /// The reason given for a bypass.
    #[schema(nullable = false)]
    pub bypass_reason: Option<String>,
}

/// The result of one rule in a preflight report.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum EvaluationResult {
    /// The rule held.
    Passed,
    /// The rule failed (blocking, or report-only when the deployment went ahead).
    Failed,
    /// The rule does not apply to this deployment.
    NotApplicable,
}

/// One rule in a preflight report.
#[derive(Debug, ToSchema)]
pub struct RuleEvaluation {
    /// The rule.
    pub rule_name: String,
    /// Its type.
    pub rule_type: RuleType,
    /// Its status (enabled, report_only, disabled).
    pub status: RuleStatus,
    /// What it found.
    pub evaluation_result: EvaluationResult,
    /// The block code of a failure.
    pub code: Option<BlockCode>,
    /// Why it failed.
    pub error_message: Option<String>,
}

/// What the preflight decided for a recorded deployment, kept with it.
#[derive(Debug, ToSchema)]
#[schema(as = Preflight)]
pub struct PreflightBody {
    /// Passed or skipped.
    pub status: PreflightState,
    /// The verdict (for a bypass: what the rules would have said).
    pub verdict: VerdictBody,
    /// The reason given for a bypass.
    #[schema(nullable = false)]
    pub bypass_reason: Option<String>,
}

/// A verdict: what the preflight decided, rule by rule (`POST /check`, and in rejections).
#[derive(Debug, ToSchema)]
#[schema(as = Verdict)]
pub struct VerdictBody {
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment_name: String,
    /// Allowed or blocked.
    pub decision: Decision,
    /// The instant the rules were evaluated at.
    pub evaluated_at: DateTime<Utc>,
    /// When time alone clears every block.
    pub retry_after: Option<DateTime<Utc>>,
    /// The most severe failure's code.
    pub code: Option<BlockCode>,
    /// The HTTP status of the most severe failure (409, 423 or 428).
    pub http_status: Option<u16>,
    /// A summary a person can act on.
    pub message: String,
    /// The most severe failure's rule.
    pub primary_rule: Option<String>,
    /// Every rule's outcome.
    pub outcomes: Vec<RuleOutcome>,
}

/// A recorded build, as `POST /build-events/` answers it.
#[derive(Debug, ToSchema)]
#[schema(as = Build)]
pub struct BuildBody {
    /// The build's id.
    pub id: String,
    /// The version's id.
    pub version_id: String,
    /// The product's id.
    pub product_id: String,
    /// The product.
    pub product_name: String,
    /// The version.
    pub version: String,
    /// The canonical status.
    pub status: Status,
    /// The CI build number.
    pub build_number: Option<String>,
    /// A link to the build.
    pub build_url: Option<String>,
    /// The commit.
    pub scm_sha: Option<String>,
    /// The branch.
    pub scm_branch: Option<String>,
    /// The repository.
    pub scm_repository: Option<String>,
    /// The CI system.
    pub source_system: Option<String>,
    /// The CI run id.
    pub invoke_id: Option<String>,
    /// Who built it.
    pub built_by: Option<String>,
    /// Their e-mail.
    pub built_by_email: Option<String>,
    /// Their display name.
    pub built_by_name: Option<String>,
    /// The error message of a failed build.
    pub error_message: Option<String>,
    /// The error code of a failed build.
    pub error_code: Option<String>,
    /// The principal that recorded it (the API key's); `built_by` is who the event names.
    pub recorded_by: Option<String>,
    /// When the build started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// The event's metadata.
    #[schema(value_type = Object)]
    pub extra_metadata: Map<String, Value>,
}

// ----- error bodies ---------------------------------------------------------------------------

/// An error: `detail` as FastAPI clients expect, and the stable `code`.
#[derive(Debug, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A sentence, or (422) the fields at fault.
    pub detail: ErrorDetail,
    /// The stable error code.
    pub code: ErrorCodeName,
    /// What went wrong and what to do next.
    pub message: String,
    /// Every problem of a rejected policy or rule (422).
    #[schema(nullable = false)]
    pub problems: Option<Vec<PolicyProblemBody>>,
    /// The error's own fields (`VERSION_CONFLICT`, `NOT_FOUND`), so a client rebuilds the same
    /// error.
    #[schema(nullable = false)]
    pub fields: Option<ErrorFields>,
}

/// The fields of a `VERSION_CONFLICT`.
#[derive(Debug, ToSchema)]
pub struct VersionConflictFields {
    /// The product.
    pub product: String,
    /// The version.
    pub version: String,
    /// The commit recorded for the version.
    pub recorded: String,
    /// The commit given now.
    pub given: String,
}

/// The fields of a `NOT_FOUND`.
#[derive(Debug, ToSchema)]
pub struct NotFoundFields {
    /// What kind of thing (`product`, `version`, `rule`, ...).
    pub kind: String,
    /// Its name or id.
    pub name: String,
}

/// The `fields` of an error: those of a `VERSION_CONFLICT` or a `NOT_FOUND`.
#[derive(Debug)]
pub struct ErrorFields;

impl PartialSchema for ErrorFields {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(VersionConflictFields::schema_ref())
            .item(NotFoundFields::schema_ref())
            .into()
    }
}

impl ToSchema for ErrorFields {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<VersionConflictFields>(schemas);
        push::<NotFoundFields>(schemas);
    }
}

/// One field at fault in a 422.
#[derive(Debug, ToSchema)]
pub struct InvalidField {
    /// Where: `["body", field]`, or `["body", "rules", rule, field]` for a policy.
    pub loc: Vec<String>,
    /// What is wrong, and what would be accepted.
    pub msg: String,
    /// Always `value_error`.
    #[schema(rename = "type")]
    pub kind: String,
}

/// One problem found in a policy or rule definition.
#[derive(Debug, ToSchema)]
#[schema(as = PolicyProblem)]
pub struct PolicyProblemBody {
    /// The rule's name, or its position (`rules[2]`).
    pub rule: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong, and what would be accepted.
    pub reason: String,
}

/// A preflight rejection (409, 423, 428): the verdict nested under `detail`.
#[derive(Debug, ToSchema)]
#[schema(as = Blocked)]
pub struct BlockedBody {
    /// The rejection.
    pub detail: BlockedDetail,
}

/// The `detail` of a preflight rejection.
#[derive(Debug, ToSchema)]
pub struct BlockedDetail {
    /// Always `deployment_blocked`.
    pub error: BlockedTag,
    /// The most severe failure's code.
    pub code: Option<BlockCode>,
    /// A summary a person can act on.
    pub message: String,
    /// When time alone clears every block.
    pub retry_after: Option<DateTime<Utc>>,
    /// The most severe failure's details (`rule_name`, ...).
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
    /// Every failed rule.
    pub violations: Vec<Violation>,
    /// The whole verdict.
    pub verdict: VerdictBody,
}

/// The tag of a preflight rejection.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum BlockedTag {
    /// A preflight rejection.
    DeploymentBlocked,
}

/// One failed rule of a preflight rejection.
#[derive(Debug, ToSchema)]
pub struct Violation {
    /// The rule.
    pub rule_name: String,
    /// Its type.
    pub rule_type: RuleType,
    /// Its block code.
    pub code: Option<BlockCode>,
    /// Why it failed.
    pub message: String,
    /// The rule's details.
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
    /// When time alone clears this block.
    pub retry_after: Option<DateTime<Utc>>,
}

/// The `detail` of an error: a sentence, or the fields at fault (422).
#[derive(Debug)]
pub struct ErrorDetail;

impl PartialSchema for ErrorDetail {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("A sentence")),
            )
            .item(
                ArrayBuilder::new()
                    .items(InvalidField::schema_ref())
                    .description(Some("The fields at fault (422)")),
            )
            .into()
    }
}

impl ToSchema for ErrorDetail {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<InvalidField>(schemas);
    }
}

/// The stable error codes (`ErrorCode`).
#[derive(Debug)]
pub struct ErrorCodeName;

impl PartialSchema for ErrorCodeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCodeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// A 409: a preflight rejection (`CONCURRENT_DEPLOYMENT`) or a SHA conflict
/// (`VERSION_CONFLICT`).
#[derive(Debug)]
pub struct ConflictBody;

impl PartialSchema for ConflictBody {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(BlockedBody::schema_ref())
            .item(ErrorBody::schema_ref())
            .into()
    }
}

impl ToSchema for ConflictBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Conflict")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<BlockedBody>(schemas);
        push::<ErrorBody>(schemas);
    }
}

// ----- rules ----------------------------------------------------------------------------------

/// A rule in its policy-file form: the common fields, then the fields of its type.
#[derive(Debug, ToSchema)]
#[schema(as = Rule)]
pub struct RuleBody {
    /// Unique name.
    pub name: String,
    /// concurrency, schedule, flow, version_approval or release_approval.
    #[schema(rename = "type")]
    pub rule_type: RuleType,
    /// enabled (the default), report_only or disabled.
    #[schema(nullable = false)]
    pub status: Option<RuleStatus>,
    /// What it is for.
    #[schema(nullable = false)]
    pub description: Option<String>,
    /// The products it applies to (all when absent).
    #[schema(nullable = false)]
    pub products: Option<Vec<String>>,
    /// The environments it applies to (all when absent).
    #[schema(nullable = false)]
    pub environments: Option<Vec<String>>,
    /// The environment types it applies to (all when absent).
    #[schema(nullable = false)]
    pub environment_types: Option<Vec<EnvironmentType>>,
    /// concurrency: how many deployments may be in progress at once.
    #[schema(nullable = false, minimum = 1)]
    pub max: Option<u32>,
    /// concurrency: what is counted, product_environment or environment.
    #[schema(nullable = false)]
    pub per: Option<String>,
    /// concurrency: after how long an open deployment stops counting (`2h`).
    #[schema(nullable = false)]
    pub stale_after: Option<String>,
    /// schedule: deny (no-deploy windows) or allow (deploy only during the windows).
    #[schema(nullable = false)]
    pub mode: Option<String>,
    /// schedule: the IANA time zone of the windows.
    #[schema(nullable = false)]
    pub timezone: Option<String>,
    /// schedule: why, shown when it blocks.
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// schedule: the windows.
    #[schema(nullable = false)]
    pub windows: Option<Vec<WindowBody>>,
    /// flow: the environments the version must have reached first.
    #[schema(nullable = false)]
    pub prerequisites: Option<Vec<String>>,
    /// flow: whether the prerequisites must be reached in order.
    #[schema(nullable = false)]
    pub strict_order: Option<bool>,
    /// flow: how long the version must have been in the prerequisites (`24h`).
    #[schema(nullable = false)]
    pub soak: Option<String>,
    /// version_approval: the approval types required.
    #[schema(nullable = false)]
    pub approval_types: Option<Vec<String>>,
    /// version_approval: the environment the approvals must name.
    #[schema(nullable = false)]
    pub environment: Option<String>,
    /// release_approval: how many distinct approvers.
    #[schema(nullable = false, minimum = 1)]
    pub required: Option<u32>,
    /// release_approval: the roles that count.
    #[schema(nullable = false)]
    pub approver_roles: Option<Vec<String>>,
    /// release_approval: after how long an approval expires (`7d`).
    #[schema(nullable = false)]
    pub expires_after: Option<String>,
}

/// A window of a schedule rule.
#[derive(Debug, ToSchema)]
#[schema(as = Window)]
pub struct WindowBody {
    /// Its name.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// once, daily, weekly or monthly.
    pub recurrence: String,
    /// Its start: `HH:MM`, or `YYYY-MM-DDTHH:MM` for once.
    pub start: String,
    /// Its end, in the same form.
    pub end: String,
    /// weekly: the days (`mon`, `fri`, ...).
    #[schema(nullable = false)]
    pub days: Option<Vec<String>>,
    /// monthly: the days of the month.
    #[schema(nullable = false)]
    pub days_of_month: Option<Vec<u32>>,
}

/// A stored rule: its policy-file form plus its position and times.
#[derive(Debug, ToSchema)]
#[schema(as = StoredRule)]
pub struct StoredRuleBody {
    /// Unique name.
    pub name: String,
    /// Its type.
    #[schema(rename = "type")]
    pub rule_type: RuleType,
    /// enabled, report_only or disabled.
    pub status: RuleStatus,
    /// What it is for.
    #[schema(nullable = false)]
    pub description: Option<String>,
    /// The products it applies to (all when absent).
    #[schema(nullable = false)]
    pub products: Option<Vec<String>>,
    /// The environments it applies to (all when absent).
    #[schema(nullable = false)]
    pub environments: Option<Vec<String>>,
    /// The environment types it applies to (all when absent).
    #[schema(nullable = false)]
    pub environment_types: Option<Vec<EnvironmentType>>,
    /// concurrency: how many deployments may be in progress at once.
    #[schema(nullable = false)]
    pub max: Option<u32>,
    /// concurrency: what is counted.
    #[schema(nullable = false)]
    pub per: Option<String>,
    /// concurrency: after how long an open deployment stops counting.
    #[schema(nullable = false)]
    pub stale_after: Option<String>,
    /// schedule: deny or allow.
    #[schema(nullable = false)]
    pub mode: Option<String>,
    /// schedule: the IANA time zone of the windows.
    #[schema(nullable = false)]
    pub timezone: Option<String>,
    /// schedule: why.
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// schedule: the windows.
    #[schema(nullable = false)]
    pub windows: Option<Vec<WindowBody>>,
    /// flow: the prerequisite environments.
    #[schema(nullable = false)]
    pub prerequisites: Option<Vec<String>>,
    /// flow: whether order matters.
    #[schema(nullable = false)]
    pub strict_order: Option<bool>,
    /// flow: the soak time.
    #[schema(nullable = false)]
    pub soak: Option<String>,
    /// version_approval: the approval types required.
    #[schema(nullable = false)]
    pub approval_types: Option<Vec<String>>,
    /// version_approval: the environment the approvals must name.
    #[schema(nullable = false)]
    pub environment: Option<String>,
    /// release_approval: how many distinct approvers.
    #[schema(nullable = false)]
    pub required: Option<u32>,
    /// release_approval: the roles that count.
    #[schema(nullable = false)]
    pub approver_roles: Option<Vec<String>>,
    /// release_approval: after how long an approval expires.
    #[schema(nullable = false)]
    pub expires_after: Option<String>,
    /// Its position in evaluation order.
    pub position: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// One recorded change of a rule's status.
#[derive(Debug, ToSchema)]
#[schema(as = RuleStatusChange)]
pub struct RuleStatusChangeBody {
    /// The rule.
    pub rule_name: String,
    /// The status before.
    pub from_status: RuleStatus,
    /// The status after.
    pub to_status: RuleStatus,
    /// Who changed it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// What applying a policy changed.
#[derive(Debug, ToSchema)]
#[schema(as = ApplyReport)]
pub struct ApplyReportBody {
    /// Rules added.
    pub added: Vec<String>,
    /// Rules whose definition changed.
    pub updated: Vec<String>,
    /// Rules left as they were.
    pub unchanged: Vec<String>,
    /// Rules deleted (replace mode only).
    pub deleted: Vec<String>,
}

/// A policy: its text (TOML or JSON), or a JSON object with `rules`.
#[derive(Debug)]
pub struct PolicyDocument;

impl PartialSchema for PolicyDocument {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The policy text, TOML or JSON (see `format`)")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property("rules", ArrayBuilder::new().items(RuleBody::schema_ref()))
                    .required("rules")
                    .description(Some("The policy as a JSON object")),
            )
            .into()
    }
}

impl ToSchema for PolicyDocument {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<RuleBody>(schemas);
    }
}

// ----- meta -----------------------------------------------------------------------------------

/// `GET /health`.
#[derive(Debug, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

// ----- helpers --------------------------------------------------------------------------------

/// A `$ref` to `T`'s schema under `components/schemas`.
trait SchemaRef: ToSchema {
    fn schema_ref() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(Self::name()))
    }
}

impl<T: ToSchema> SchemaRef for T {}

/// Adds `T` (and what it refers to) to `schemas`.
fn push<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

// ----- the finished document ------------------------------------------------------------------

/// The document: every route of [`api::routes`](crate::api::routes), finished by
/// what follows from each route's shape (see the module docs). Built once.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let (_, api) = crate::api::routes().split_for_parts();
        finish(serde_json::to_value(api).unwrap_or(Value::Null))
    });
    &DOCUMENT
}

fn error_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } },
    })
}

fn add_response(op: &mut Map<String, Value>, status: &str, description: &str) {
    if let Some(Value::Object(responses)) = op.get_mut("responses") {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description, "Error"));
    }
}

/// Adds to `doc` (a serialized `utoipa::openapi::OpenApi`) the title, the security scheme, the
/// error schemas and, on every operation, what follows from its shape (see the module docs).
fn finish(mut doc: Value) -> Value {
    let Some(root) = doc.as_object_mut() else {
        return doc;
    };
    root.insert(
        "info".into(),
        json!({
            "title": "Versioner",
            "version": versioner_core::VERSION,
            "description": "Deployment tracking and preflight policy: the Versioner Events API plus queries, rules and approvals. Authenticate with `Authorization: Bearer <key>` (see `versioner keys create`); each operation's `x-permission` names what the key's role must allow (public, read, track, approve, environments, rules, keys; roles: admin, release_manager, product, developer, sre, qa, security, compliance, billing, viewer, ci). The actor of every write is the key's principal. Writes accept an `Idempotency-Key` header; a retry with the same key gets the first answer, marked `Idempotent-Replayed: true`.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        }),
    );
    let components = root
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(components) = components {
        components.insert(
            "securitySchemes".into(),
            json!({ "bearer": { "type": "http", "scheme": "bearer", "description": "An API key made by `versioner keys create`" } }),
        );
        let schemas = components
            .entry("schemas")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(schemas) = schemas {
            let mut extra = Vec::new();
            push::<ErrorBody>(&mut extra);
            // Types named only by query parameters (which register no schema of their own).
            push::<versioner_core::DecisionOutcome>(&mut extra);
            push::<versioner_core::PreflightStatus>(&mut extra);
            for (name, schema) in extra {
                schemas
                    .entry(name)
                    .or_insert_with(|| serde_json::to_value(schema).unwrap_or(Value::Null));
            }
        }
    }
    let Some(Value::Object(paths)) = root.get_mut("paths") else {
        return doc;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                finish_operation(method, op);
            }
        }
    }
    doc
}

fn finish_operation(method: &str, op: &mut Map<String, Value>) {
    let permission = op
        .get(PERMISSION_EXTENSION)
        .and_then(Value::as_str)
        .and_then(parse_permission);
    let params: Vec<String> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("in").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let keyed = permission.is_some_and(|p| p != Permission::Public);
    if keyed {
        op.insert("security".into(), json!([{ "bearer": [] }]));
        add_response(
            op,
            "401",
            "No key, or an unknown or revoked key (`UNAUTHORIZED`)",
        );
        add_response(
            op,
            "403",
            if method == "get" {
                "The key's role does not allow this (`FORBIDDEN`)"
            } else {
                "The key's role does not allow this, or a browser sent it from another origin \
                 (`FORBIDDEN`)"
            },
        );
        add_response(
            op,
            "429",
            "Over the server's rate limit for this key or address; retry after `Retry-After` \
             seconds (`RATE_LIMITED`)",
        );
        add_response(
            op,
            "503",
            "The store is unavailable, or the request did not complete in time (`STORAGE`)",
        );
        if method != "get" {
            let header = json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": "Makes the write safe to retry: a retry with the same key (and the same request) gets the first answer, marked `Idempotent-Replayed: true`",
                "schema": { "type": "string", "maxLength": 255 },
            });
            match op.get_mut("parameters").and_then(Value::as_array_mut) {
                Some(ps) => ps.push(header),
                None => {
                    op.insert("parameters".into(), json!([header]));
                }
            }
            add_response(
                op,
                "422",
                "Invalid input, naming the field (`INVALID_INPUT`), or an `Idempotency-Key` reused for another request",
            );
        }
    }
    if op.contains_key("requestBody") {
        add_response(op, "400", "Malformed JSON (`INVALID_INPUT`)");
        add_response(
            op,
            "413",
            "The body is over the server's limit (`INVALID_INPUT`)",
        );
        add_response(
            op,
            "415",
            "The body is not sent as `Content-Type: application/json` (`INVALID_INPUT`)",
        );
        add_response(
            op,
            "422",
            "Invalid input, naming the field (`INVALID_INPUT`)",
        );
    }
    if params.iter().any(|p| p == "query") {
        add_response(op, "400", "An unreadable query string (`INVALID_INPUT`)");
        add_response(
            op,
            "422",
            "A query parameter's value is invalid, naming it (`INVALID_INPUT`)",
        );
    }
    // Keep the responses in status order.
    if let Some(Value::Object(responses)) = op.get_mut("responses") {
        let sorted: BTreeMap<String, Value> = std::mem::take(responses).into_iter().collect();
        responses.extend(sorted);
    }
}
