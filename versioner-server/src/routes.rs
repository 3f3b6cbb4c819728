//! The route table: every route's method, path, required permission and documentation.
//!
//! One table drives both the authorization check (a route missing from it is refused: the
//! server fails closed) and `GET /openapi.json`, so the published document cannot omit a route
//! that the server answers.

use serde_json::{Map, Value, json};

#[cfg(test)]
use crate::Role;

pub use versioner_core::access::Permission;

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: &'static str,
    /// The path as registered (`{name}` for a path parameter).
    pub path: &'static str,
    /// What the caller's key must allow.
    pub permission: Permission,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// The request body's schema (a name under `components/schemas`), if any.
    pub body: Option<&'static str>,
    /// The success status.
    pub ok: u16,
}

const fn route(
    method: &'static str,
    path: &'static str,
    permission: Permission,
    summary: &'static str,
    body: Option<&'static str>,
    ok: u16,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        permission,
        summary,
        body,
        ok,
    }
}

use Permission::{Admin, Approve, Public, Read, Track};

/// Every route the server answers.
pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/health", Public, "Liveness and version", None, 200),
    route("GET", "/openapi.json", Public, "This document", None, 200),
    route(
        "POST",
        "/build-events/",
        Track,
        "Record a build event",
        Some("BuildEvent"),
        200,
    ),
    route(
        "POST",
        "/version-events/",
        Track,
        "Record a build event (legacy name of /build-events/)",
        Some("BuildEvent"),
        200,
    ),
    route(
        "POST",
        "/deployment-events/",
        Track,
        "Record a deployment event; `started` runs the preflight (409/423/428 when blocked)",
        Some("DeploymentEvent"),
        200,
    ),
    route(
        "POST",
        "/check",
        Read,
        "Dry-run preflight: the verdict for a would-be deployment, recording nothing",
        Some("CheckRequest"),
        200,
    ),
    route(
        "GET",
        "/versions/",
        Read,
        "Versions of a product (`product`, `limit`, `offset`) or built from a commit (`scm_sha`, prefix match)",
        None,
        200,
    ),
    route("GET", "/versions/{id}", Read, "A version by id", None, 200),
    route(
        "GET",
        "/deployments/",
        Read,
        "Deployment history, newest first (`product`, `environment`, `version`, `status`, `since`, `until`, `limit`)",
        None,
        200,
    ),
    route(
        "GET",
        "/deployments/{id}",
        Read,
        "A deployment by id",
        None,
        200,
    ),
    route("GET", "/products/", Read, "Every product", None, 200),
    route(
        "GET",
        "/products/{product}/versions/{version}",
        Read,
        "One version of a product, by its name",
        None,
        200,
    ),
    route(
        "GET",
        "/environments/",
        Read,
        "Every environment (`type` filters)",
        None,
        200,
    ),
    route(
        "PUT",
        "/environments/{name}",
        Admin,
        "Override an environment's type, or with `type` null infer it from the name again (the environment is created if needed)",
        Some("EnvironmentTypeChange"),
        200,
    ),
    route(
        "GET",
        "/state",
        Read,
        "What is deployed where, now or as of `at`",
        None,
        200,
    ),
    route(
        "GET",
        "/drift",
        Read,
        "Products whose environments hold different versions (`at`, `environment` repeatable)",
        None,
        200,
    ),
    route(
        "GET",
        "/rules/",
        Read,
        "Every rule, in evaluation order",
        None,
        200,
    ),
    route(
        "POST",
        "/rules/",
        Admin,
        "Add a rule (policy-file form)",
        Some("Rule"),
        201,
    ),
    route(
        "POST",
        "/rules/apply",
        Admin,
        "Apply a policy (`policy` as TOML/JSON text or object, `format`, `mode`: replace | merge)",
        Some("ApplyPolicy"),
        200,
    ),
    route("GET", "/rules/{name}", Read, "A rule by name", None, 200),
    route(
        "PUT",
        "/rules/{name}",
        Admin,
        "Replace a rule (it may be renamed)",
        Some("Rule"),
        200,
    ),
    route("DELETE", "/rules/{name}", Admin, "Delete a rule", None, 204),
    route(
        "POST",
        "/rules/{name}/status",
        Admin,
        "Change a rule's status (enabled | report_only | disabled) with a reason",
        Some("RuleStatusChange"),
        200,
    ),
    route(
        "GET",
        "/rules/{name}/history",
        Read,
        "A rule's status changes: who, when, why (empty when none was recorded)",
        None,
        200,
    ),
    route(
        "GET",
        "/rule-history/",
        Read,
        "The status changes of every rule, oldest first (`rule` keeps one rule's)",
        None,
        200,
    ),
    route(
        "GET",
        "/approvals/",
        Read,
        "Approvals of a version (`product`, `version`)",
        None,
        200,
    ),
    route(
        "POST",
        "/approvals/",
        Approve,
        "Record an approval of a version",
        Some("ApprovalRequest"),
        201,
    ),
    route(
        "POST",
        "/approvals/{id}/revoke",
        Approve,
        "Revoke an approval, with a reason",
        Some("Revocation"),
        200,
    ),
];

/// Whether a registered path (as matched) is in the table under some method.
pub fn path_known(path: &str) -> bool {
    ROUTES.iter().any(|r| r.path == path)
}

/// The permission a method on a matched path requires, if the table has it.
pub fn permission(method: &str, path: &str) -> Option<Permission> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method)
        .map(|r| r.permission)
}

fn string_props(names: &[&str]) -> Map<String, Value> {
    names
        .iter()
        .map(|n| ((*n).to_string(), json!({ "type": "string" })))
        .collect()
}

fn schemas() -> Value {
    let mut deployment_event = string_props(&[
        "product_name",
        "version",
        "environment_name",
        "status",
        "deployed_by",
        "deployed_by_email",
        "deployed_by_name",
        "scm_sha",
        "scm_repository",
        "scm_branch",
        "build_number",
        "source_system",
        "invoke_id",
        "deploy_url",
        "build_url",
        "completed_at",
        "skip_preflight_reason",
    ]);
    deployment_event.insert("skip_preflight_checks".into(), json!({ "type": "boolean" }));
    deployment_event.insert("extra_metadata".into(), json!({ "type": "object" }));
    let mut build_event = string_props(&[
        "product_name",
        "version",
        "status",
        "built_by",
        "built_by_email",
        "built_by_name",
        "scm_sha",
        "scm_branch",
        "scm_repository",
        "build_url",
        "build_number",
        "source_system",
        "invoke_id",
        "started_at",
        "completed_at",
        "error_message",
        "error_code",
    ]);
    build_event.insert("extra_metadata".into(), json!({ "type": "object" }));
    json!({
        "DeploymentEvent": {
            "type": "object",
            "required": ["product_name", "version", "environment_name", "status"],
            "properties": deployment_event,
        },
        "BuildEvent": {
            "type": "object",
            "required": ["product_name", "version", "status"],
            "properties": build_event,
        },
        "CheckRequest": {
            "type": "object",
            "required": ["product_name", "version", "environment_name"],
            "properties": string_props(&["product_name", "version", "environment_name", "deployed_by", "at"]),
        },
        "ApprovalRequest": {
            "type": "object",
            "required": ["product_name", "version", "approval_type", "approver"],
            "properties": string_props(&["product_name", "version", "approval_type", "approver", "approver_role", "environment", "comment"]),
        },
        "Rule": {
            "type": "object",
            "required": ["name", "type"],
            "description": "A rule in policy-file form: name, type (concurrency | schedule | flow | version_approval | release_approval), status, scope (products, environments, environment_types) and the type's fields",
            "additionalProperties": true,
        },
        "ApplyPolicy": {
            "type": "object",
            "required": ["policy"],
            "properties": {
                "policy": { "description": "TOML or JSON text, or a JSON object {rules: [...]}" },
                "format": { "type": "string", "enum": ["toml", "json"] },
                "mode": { "type": "string", "enum": ["replace", "merge"] },
                "actor": { "type": "string" },
            },
        },
        "RuleStatusChange": {
            "type": "object",
            "required": ["status", "reason"],
            "properties": {
                "status": { "type": "string", "enum": ["enabled", "report_only", "disabled"] },
                "reason": { "type": "string" },
                "actor": { "type": "string" },
            },
        },
        "EnvironmentTypeChange": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {
                    "type": ["string", "null"],
                    "enum": ["dev", "test", "staging", "production", "other", null],
                    "description": "The type to set, or null to infer it from the name again",
                },
            },
        },
        "Revocation": {
            "type": "object",
            "required": ["reason"],
            "properties": string_props(&["reason", "actor"]),
        },
        "Error": {
            "type": "object",
            "description": "`detail` is a string, a list of {loc, msg, type} (422), or the preflight object (409/423/428); `code` is the stable error code",
            "properties": {
                "detail": {},
                "code": { "type": "string" },
                "message": { "type": "string" },
            },
        },
        "Blocked": {
            "type": "object",
            "description": "A preflight rejection (409/423/428)",
            "properties": {
                "detail": {
                    "type": "object",
                    "properties": {
                        "error": { "type": "string", "enum": ["deployment_blocked"] },
                        "code": { "type": "string" },
                        "message": { "type": "string" },
                        "retry_after": { "type": ["string", "null"], "format": "date-time" },
                        "details": { "type": "object", "properties": { "rule_name": { "type": "string" } } },
                        "violations": { "type": "array", "items": { "type": "object" } },
                        "verdict": { "type": "object" },
                    },
                },
            },
        },
    })
}

fn operation(r: &RouteSpec) -> Value {
    let error = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut responses = Map::new();
    responses.insert(
        r.ok.to_string(),
        json!({ "description": if r.ok == 204 { "No content" } else { "Success" } }),
    );
    if r.permission != Permission::Public {
        responses.insert(
            "401".into(),
            json!({ "description": "Missing or invalid API key", "content": error["content"] }),
        );
        responses.insert("403".into(), json!({ "description": "The key's role does not allow this", "content": error["content"] }));
    }
    if r.body.is_some() {
        responses.insert(
            "400".into(),
            json!({ "description": "Malformed JSON", "content": error["content"] }),
        );
        responses.insert("422".into(), json!({ "description": "Invalid input, naming the field", "content": error["content"] }));
    }
    if r.path == "/deployment-events/" {
        let blocked =
            json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Blocked" } } });
        responses.insert("409".into(), json!({ "description": "Blocked (CONCURRENT_DEPLOYMENT) or SHA conflict (VERSION_CONFLICT)", "content": blocked }));
        responses.insert(
            "423".into(),
            json!({ "description": "Blocked (NO_DEPLOY_WINDOW)", "content": blocked }),
        );
        responses.insert("428".into(), json!({ "description": "Blocked (FLOW_VIOLATION, INSUFFICIENT_SOAK_TIME, APPROVAL_REQUIRED, QUALITY_APPROVAL_REQUIRED)", "content": blocked }));
    }
    if r.path.contains('{') {
        responses.insert(
            "404".into(),
            json!({ "description": "Not found", "content": error["content"] }),
        );
    }
    let mut op = Map::new();
    op.insert("summary".into(), json!(r.summary));
    op.insert(
        "operationId".into(),
        json!(format!(
            "{}{}",
            r.method.to_ascii_lowercase(),
            r.path
                .replace(['/', '{', '}', '.', '-'], "_")
                .trim_end_matches('_')
        )),
    );
    let params: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(schema) = r.body {
        op.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } }),
        );
    }
    if r.permission != Permission::Public {
        op.insert("security".into(), json!([{ "bearer": [] }]));
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The OpenAPI 3 document of every route.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(r.method.to_ascii_lowercase(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Versioner",
            "version": versioner_core::VERSION,
            "description": "Deployment tracking and preflight policy: the Versioner Events API plus queries, rules and approvals. Authenticate with `Authorization: Bearer <key>` (see `versioner keys create`). Writes accept an `Idempotency-Key` header; a retry with the same key gets the first answer.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_they_should() {
        use Permission::*;
        assert!(Role::Viewer.allows(Read) && !Role::Viewer.allows(Track));
        assert!(Role::Deployer.allows(Track) && !Role::Deployer.allows(Approve));
        assert!(Role::Approver.allows(Approve) && !Role::Approver.allows(Admin));
        assert!(
            [Read, Track, Approve, Admin]
                .into_iter()
                .all(|p| Role::Admin.allows(p))
        );
    }

    #[test]
    fn every_route_is_in_the_document_once() {
        let doc = openapi();
        for r in ROUTES {
            assert!(
                doc["paths"][r.path][r.method.to_ascii_lowercase()].is_object(),
                "{} {}",
                r.method,
                r.path
            );
        }
        let mut seen = std::collections::HashSet::new();
        assert!(ROUTES.iter().all(|r| seen.insert((r.method, r.path))));
    }
}
