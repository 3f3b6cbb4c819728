//! What the Deployment Request methods take, and their conversion to the core's requests.
//!
//! The options are flat and camelCase (`releaseNotes`, `slots: ['qa']`, `optionalSlots`);
//! the core's [`RequestDraft`], [`RequestChange`], [`RequestActionRequest`] and
//! [`RequestQuery`] nest some of them (`context.release_notes`, `slots: [{ approval_type,
//! optional }]`). Each struct here parses the JavaScript object (refusing unknown names) and
//! builds the core request; the core validates everything, and an `INVALID_INPUT` it returns
//! is renamed back to the option the caller wrote ([`rename_fields`]).

use napi_derive::napi;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use versioner_core::{
    Error, RequestAction, RequestActionRequest, RequestChange, RequestDraft, RequestQuery,
    RequestStatus, RequestTemplate,
};

use napi::bindgen_prelude::Unknown;

use crate::input::{self, camel_case};
use crate::options::Text;

/// A product version a Deployment Request deploys: `{ productName, version }`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionRef {
    /// The product (must have been recorded).
    #[serde(default)]
    pub product_name: String,
    /// The version (must have been recorded).
    #[serde(default)]
    #[napi(ts_type = "string | number")]
    pub version: Text,
}

impl VersionRef {
    fn to_json(&self) -> Value {
        json!({ "product_name": self.product_name, "version": self.version.0 })
    }
}

/// A new Deployment Request: `createRequest(options)`. It starts as a draft, which blocks
/// nothing until submitted. With `template`, the template's slots, steps, environments and
/// description fill what is left out here.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestOptions {
    /// Its name ("Q4 2025 Release").
    #[serde(default)]
    pub name: String,
    /// The product versions it deploys, one per product (each recorded before).
    pub versions: Option<Vec<VersionRef>>,
    /// The environments they go to.
    pub environments: Option<Vec<String>>,
    /// The approval types of its required slots (`qa`, `security`, ... or one the policy
    /// declares): each is filled by one person whose role may grant the type.
    pub slots: Option<Vec<String>>,
    /// The approval types of its optional (advisory) slots: they neither block nor reject.
    pub optional_slots: Option<Vec<String>>,
    /// Steps to do before deploying: deployments wait for them.
    pub pre_steps: Option<Vec<String>>,
    /// Steps to do after every deployment succeeded: the request completes when they are
    /// done.
    pub post_steps: Option<Vec<String>>,
    /// The name of a template to start from.
    pub template: Option<String>,
    /// What it is about.
    pub description: Option<String>,
    /// Release notes (Markdown).
    pub release_notes: Option<String>,
    /// Links to issues, tickets, change records.
    pub issue_links: Option<Vec<String>>,
    /// Anything else, as a JSON object.
    #[napi(ts_type = "Record<string, unknown>")]
    pub metadata: Option<Map<String, Value>>,
    /// Whether its creator may fill its required slots (default: not when a target
    /// environment is a production one, unless the template says otherwise).
    pub allow_self_approval: Option<bool>,
    /// Who creates it: optional when the instance knows who acts (a `Client`: its key's
    /// principal; a `Versioner` acting as someone), and then that name if given.
    pub created_by: Option<String>,
}

/// The core's slot specs: the required slots, then the optional ones.
fn slot_specs(required: Option<&Vec<String>>, optional: Option<&Vec<String>>) -> Value {
    let mut out = Vec::new();
    for (list, advisory) in [(required, false), (optional, true)] {
        for t in list.into_iter().flatten() {
            out.push(json!({ "approval_type": t, "optional": advisory }));
        }
    }
    Value::Array(out)
}

/// The core's context, from the three flat options (absent ones left out).
fn context(
    release_notes: Option<&String>,
    issue_links: Option<&Vec<String>>,
    metadata: Option<&Map<String, Value>>,
) -> Value {
    let mut c = Map::new();
    if let Some(n) = release_notes {
        c.insert("release_notes".into(), json!(n));
    }
    if let Some(l) = issue_links {
        c.insert("issue_links".into(), json!(l));
    }
    if let Some(m) = metadata {
        c.insert("metadata".into(), Value::Object(m.clone()));
    }
    Value::Object(c)
}

/// Reads `json` as the core's `T` (the shapes are this module's own: a failure is a bug).
fn to_core<T: serde::de::DeserializeOwned>(json: Value, what: &str) -> versioner_core::Result<T> {
    serde_json::from_value(json)
        .map_err(|e| Error::internal(format!("cannot convert {what} for the core: {e}")))
}

/// Inserts `value` under `key` when present.
fn put<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.into(), json!(v));
    }
}

impl RequestOptions {
    /// The core's draft.
    pub(crate) fn into_core(self) -> versioner_core::Result<RequestDraft> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        put(&mut m, "description", self.description.as_ref());
        m.insert(
            "context".into(),
            context(
                self.release_notes.as_ref(),
                self.issue_links.as_ref(),
                self.metadata.as_ref(),
            ),
        );
        let versions: Vec<Value> = self
            .versions
            .iter()
            .flatten()
            .map(VersionRef::to_json)
            .collect();
        m.insert("versions".into(), Value::Array(versions));
        put(&mut m, "environments", self.environments.as_ref());
        m.insert(
            "slots".into(),
            slot_specs(self.slots.as_ref(), self.optional_slots.as_ref()),
        );
        put(&mut m, "pre_steps", self.pre_steps.as_ref());
        put(&mut m, "post_steps", self.post_steps.as_ref());
        put(&mut m, "template", self.template.as_ref());
        put(&mut m, "allow_self_approval", self.allow_self_approval);
        put(&mut m, "created_by", self.created_by.as_ref());
        to_core(Value::Object(m), "a Deployment Request")
    }
}

/// A change to a draft Deployment Request: `updateRequest(id, change)`. Every option given
/// replaces the request's; those left out stay. A release (a request without slots or steps)
/// may be changed while submitted too.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestChangeOptions {
    /// A new name.
    pub name: Option<String>,
    /// A new description (`''` clears it).
    pub description: Option<String>,
    /// New release notes. `releaseNotes`, `issueLinks` and `metadata` are replaced together:
    /// when any of them is given, those left out are cleared.
    pub release_notes: Option<String>,
    /// New issue links (see `releaseNotes`).
    pub issue_links: Option<Vec<String>>,
    /// New metadata (see `releaseNotes`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub metadata: Option<Map<String, Value>>,
    /// Versions to add (a product already in the request moves to this version).
    pub add_versions: Option<Vec<VersionRef>>,
    /// Versions to remove, by product name or version id.
    pub remove_versions: Option<Vec<String>>,
    /// New target environments.
    pub environments: Option<Vec<String>>,
    /// New required slots. `slots` and `optionalSlots` are replaced together: when either is
    /// given, the slots become exactly those given.
    pub slots: Option<Vec<String>>,
    /// New optional slots (see `slots`).
    pub optional_slots: Option<Vec<String>>,
    /// New pre-deployment steps.
    pub pre_steps: Option<Vec<String>>,
    /// New post-deployment steps.
    pub post_steps: Option<Vec<String>>,
    /// Whether the creator may fill required slots.
    pub allow_self_approval: Option<bool>,
    /// Who changes it: optional when the instance knows who acts, and then that name if
    /// given.
    pub actor: Option<String>,
}

impl RequestChangeOptions {
    /// The core's change.
    pub(crate) fn into_core(self) -> versioner_core::Result<RequestChange> {
        let mut m = Map::new();
        put(&mut m, "name", self.name.as_ref());
        put(&mut m, "description", self.description.as_ref());
        if self.release_notes.is_some() || self.issue_links.is_some() || self.metadata.is_some() {
            m.insert(
                "context".into(),
                context(
                    self.release_notes.as_ref(),
                    self.issue_links.as_ref(),
                    self.metadata.as_ref(),
                ),
            );
        }
        let add: Vec<Value> = self
            .add_versions
            .iter()
            .flatten()
            .map(VersionRef::to_json)
            .collect();
        m.insert("add_versions".into(), Value::Array(add));
        put(&mut m, "remove_versions", self.remove_versions.as_ref());
        put(&mut m, "environments", self.environments.as_ref());
        if self.slots.is_some() || self.optional_slots.is_some() {
            m.insert(
                "slots".into(),
                slot_specs(self.slots.as_ref(), self.optional_slots.as_ref()),
            );
        }
        put(&mut m, "pre_steps", self.pre_steps.as_ref());
        put(&mut m, "post_steps", self.post_steps.as_ref());
        put(&mut m, "allow_self_approval", self.allow_self_approval);
        put(&mut m, "actor", self.actor.as_ref());
        to_core(Value::Object(m), "a Deployment Request change")
    }
}

/// Who acts on a Deployment Request, and why: `submitRequest(id, options)`,
/// `approveRequest(id, type, options)`, `rejectRequest(...)`, `deactivateRequest`,
/// `cancelRequest`, `completeRequest`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestActionOptions {
    /// A comment, recorded in the request's history (required to reject).
    pub comment: Option<String>,
    /// Who acts: optional when the instance knows who acts (a `Client`: its key's principal;
    /// a `Versioner` acting as someone), and then that name if given.
    pub actor: Option<String>,
    /// The actor's role, for an actor that is not a registered principal (a registered one's
    /// role is its own; in process, absent means admin). Filling a slot needs a role that may
    /// grant its type.
    pub role: Option<String>,
}

impl RequestActionOptions {
    /// The core's action request.
    pub(crate) fn into_core(self, action: RequestAction) -> RequestActionRequest {
        let mut r = RequestActionRequest::new(action, self.actor.unwrap_or_default());
        r.comment = self.comment;
        r.actor_role = self.role;
        r
    }
}

/// Who marks a step done: `requestStepDone(id, step, options)`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestStepOptions {
    /// Who marks it: optional when the instance knows who acts, and then that name if given.
    pub actor: Option<String>,
    /// The actor's role, for an actor that is not a registered principal.
    pub role: Option<String>,
}

impl RequestStepOptions {
    /// The core's action request.
    pub(crate) fn into_core(self, step: String) -> RequestActionRequest {
        RequestActionOptions {
            comment: None,
            actor: self.actor,
            role: self.role,
        }
        .into_core(RequestAction::StepDone { step })
    }
}

/// Filters for `requests`; every one optional.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestsOptions {
    /// Only this status.
    #[napi(ts_type = "RequestStatus")]
    pub status: Option<String>,
    /// Only those with a version of this product.
    pub product: Option<String>,
    /// Only those targeting this environment.
    pub environment: Option<String>,
    /// Only releases (requests without slots or steps).
    pub releases_only: Option<bool>,
}

impl RequestsOptions {
    /// The core's query; `INVALID_INPUT` (`status`, naming the accepted ones) for an unknown
    /// status.
    pub(crate) fn into_core(self) -> versioner_core::Result<RequestQuery> {
        let mut q = RequestQuery::default();
        q.status = self
            .status
            .as_deref()
            .map(str::parse::<RequestStatus>)
            .transpose()?;
        q.product = self.product;
        q.environment = self.environment;
        q.releases_only = self.releases_only.unwrap_or(false);
        Ok(q)
    }
}

/// A slot a template declares: `{ approvalType, optional }`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlotSpecOptions {
    /// The approval type.
    #[serde(default)]
    pub approval_type: String,
    /// Advisory (non-blocking); default `false`.
    pub optional: Option<bool>,
}

/// A template to add or replace: `putRequestTemplates(templates)`. A template read back from
/// `requestTemplates()` is one.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestTemplateOptions {
    /// Its name (unique; an existing template of this name is replaced).
    #[serde(default)]
    pub name: String,
    /// What it is for (the request's description when it gives none).
    pub description: Option<String>,
    /// Default slots.
    pub slots: Option<Vec<SlotSpecOptions>>,
    /// Default pre-deployment steps.
    pub pre_steps: Option<Vec<String>>,
    /// Default post-deployment steps.
    pub post_steps: Option<Vec<String>>,
    /// The environments it applies to (the request's targets when it names none).
    pub environments: Option<Vec<String>>,
    /// Whether the creator may fill required slots.
    pub allow_self_approval: Option<bool>,
}

impl RequestTemplateOptions {
    /// The core's template.
    pub(crate) fn into_core(self) -> versioner_core::Result<RequestTemplate> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        put(&mut m, "description", self.description.as_ref());
        let slots: Vec<Value> = self
            .slots
            .iter()
            .flatten()
            .map(|s| json!({ "approval_type": s.approval_type, "optional": s.optional.unwrap_or(false) }))
            .collect();
        m.insert("slots".into(), Value::Array(slots));
        put(&mut m, "pre_steps", self.pre_steps.as_ref());
        put(&mut m, "post_steps", self.post_steps.as_ref());
        put(&mut m, "environments", self.environments.as_ref());
        put(&mut m, "allow_self_approval", self.allow_self_approval);
        to_core(Value::Object(m), "a Deployment Request template")
    }
}

/// `putRequestTemplates(templates)`'s argument as the core's templates: an array of
/// [`RequestTemplateOptions`]; `INVALID_INPUT` names the option at fault from `templates`
/// (`templates[0].slots[1].approvalType`).
pub(crate) fn templates(value: &Unknown<'_>) -> versioner_core::Result<Vec<RequestTemplate>> {
    let json = match input::to_json(value, "templates")? {
        json @ Value::Array(_) => json,
        other => {
            return Err(Error::invalid(
                "templates",
                format!(
                    "must be an array of templates, found {}",
                    input::kind(&other)
                ),
            ));
        }
    };
    let parsed: Vec<RequestTemplateOptions> =
        serde_path_to_error::deserialize(json).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." { String::new() } else { path };
            Error::invalid(format!("templates{at}"), e.into_inner().to_string())
        })?;
    parsed
        .into_iter()
        .map(RequestTemplateOptions::into_core)
        .collect()
}

/// Where a core field of a Deployment Request call lives in the caller's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `createRequest`: `versions[..]` are the `versions` option.
    Create,
    /// `updateRequest`: `versions[..]` are the `addVersions` option.
    Update,
    /// An action, a template, a query.
    Other,
}

/// `context.release_notes` → `releaseNotes`, `versions[0].product_name` →
/// `versions[0].productName` (`addVersions[0].productName` for an update), `approval_type`
/// → `slots` (in a request or template), `actor_role` → `role`: the option the caller wrote.
fn option_name(field: &str, call: Call) -> String {
    let field = field.strip_prefix("context.").unwrap_or(field);
    let field = match (field, call) {
        ("actor_role", _) => "role".to_string(),
        ("approval_type", Call::Create | Call::Update) => "slots".to_string(),
        _ => field.to_string(),
    };
    let camel: Vec<String> = field
        .split('.')
        .map(|segment| match segment.split_once('[') {
            Some((name, rest)) => format!("{}[{rest}", camel_case(name)),
            None => camel_case(segment),
        })
        .collect();
    let camel = camel.join(".");
    match call {
        Call::Update if camel == "versions" || camel.starts_with("versions[") => {
            format!("add{}", &camel.replacen('v', "V", 1))
        }
        _ => camel,
    }
}

/// Renames the field of an `INVALID_INPUT` from the core to the option the caller wrote.
pub(crate) fn rename_fields(err: Error, call: Call) -> Error {
    match err {
        Error::InvalidInput { field, reason } => Error::invalid(option_name(&field, call), reason),
        other => other,
    }
}
