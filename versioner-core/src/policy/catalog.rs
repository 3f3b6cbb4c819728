//! The approval catalog: which approval types exist and which roles may grant each.
//!
//! The built-in types are the public product's ([`BUILT_IN_TYPES`]: `qa`, `security`, `uat`
//! (also written `product`, the legacy key), `code_review`, `compliance`, `performance`, and
//! Versioner's `release`); a policy file may declare more. An approval of any other type is
//! refused (`INVALID_INPUT` naming the accepted ones), and so is a rule requiring one.
//!
//! Who may grant which type follows the reference's role → approval-type mapping (§6), with
//! `release` granted by every role that may approve versions (§6.1); a policy file may set the
//! types of any role but `admin` (which grants every type):
//!
//! ```toml
//! [approvals]
//! types = ["change_board"]          # declared besides the built-in ones
//! [approvals.grants]                # replaces the listed roles' defaults; "*" is every type
//! qa = ["qa", "performance", "release", "change_board"]
//! sre = ["performance"]
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::access::{Permission, Role};
use crate::approval::{RELEASE, normalize_type};
use crate::error::{Error, PolicyProblem, Result};
use crate::policy::rule::reason_of;
use crate::policy::{Rule, RuleKind};

/// The built-in approval types.
pub const BUILT_IN_TYPES: &[&str] = &[
    "qa",
    "security",
    "uat",
    "code_review",
    "compliance",
    "performance",
    RELEASE,
];

/// Spellings of built-in types read as those types: the legacy rule JSON's `product` is `uat`.
const ALIASES: &[(&str, &str)] = &[("product", "uat"), ("user_acceptance_testing", "uat")];

/// The built-in type an alias names, or the type itself (normalized spelling in, out).
pub(crate) fn canonical(t: &str) -> String {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == t)
        .map_or_else(|| t.to_string(), |(_, to)| (*to).to_string())
}

/// Every type, in a grant list.
const ALL: &str = "*";

/// The label of the catalog's problems in [`Error::InvalidPolicy`].
pub(crate) const LABEL: &str = "(approvals)";

/// The approval types and who may grant each: the built-in types ([`BUILT_IN_TYPES`]) plus
/// those a policy file declares, and the reference's role → type mapping (§6; `release` for
/// every role that approves versions, §6.1) with the policy's changes per role. A policy file
/// writes it as its `approvals` table:
///
/// ```toml
/// [approvals]
/// types = ["change_board"]          # declared besides the built-in ones
/// [approvals.grants]                # replaces the listed roles' defaults; "*" is every type
/// qa = ["qa", "performance", "release", "change_board"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApprovalCatalog {
    /// Types declared besides the built-in ones, normalized, in the order written.
    pub types: Vec<String>,
    /// Roles whose grants the policy sets (replacing their defaults); `*` is every type.
    pub grants: BTreeMap<Role, Vec<String>>,
}

/// The reference's mapping (§6), with `release` for every role that approves versions (§6.1).
fn default_grants(role: Role) -> &'static [&'static str] {
    match role {
        Role::Admin | Role::ReleaseManager => &[ALL],
        Role::Product => &["uat", RELEASE],
        Role::Developer => &["code_review"],
        Role::Sre => &["performance", RELEASE],
        Role::Qa => &["qa", "performance", RELEASE],
        Role::Security => &["security", RELEASE],
        Role::Compliance => &["compliance", RELEASE],
        Role::Billing | Role::Viewer | Role::Ci => &[],
    }
}

impl ApprovalCatalog {
    /// The catalog with only the built-in types and the default grants.
    pub fn new() -> ApprovalCatalog {
        ApprovalCatalog::default()
    }

    /// Every accepted type: the built-in ones, then those declared.
    pub fn types(&self) -> Vec<String> {
        let mut out: Vec<String> = BUILT_IN_TYPES.iter().map(|t| (*t).to_string()).collect();
        let mut seen: std::collections::HashSet<&str> = BUILT_IN_TYPES.iter().copied().collect();
        for t in &self.types {
            if seen.insert(t) {
                out.push(t.clone());
            }
        }
        out
    }

    /// The accepted type `given` names, normalized (`QA` → `qa`, `Code Review` →
    /// `code_review`, `product` → `uat`).
    ///
    /// # Errors
    /// `INVALID_INPUT` on `approval_type` naming the accepted types.
    pub fn resolve(&self, given: &str) -> Result<String> {
        let unknown = || {
            Error::invalid(
                "approval_type",
                format!(
                    "`{}` is not an approval type; accepted: {} (a policy file declares others \
                     under `[approvals] types`)",
                    given.trim(),
                    self.types().join(", ")
                ),
            )
        };
        let t = canonical(&normalize_type(given).map_err(|_| unknown())?);
        if self.types().contains(&t) {
            Ok(t)
        } else {
            Err(unknown())
        }
    }

    /// The types `role` may grant.
    pub fn grants_of(&self, role: Role) -> Vec<String> {
        let listed: Vec<String> = match (role, self.grants.get(&role)) {
            (Role::Admin, _) | (_, None) => default_grants(role)
                .iter()
                .map(|t| (*t).to_string())
                .collect(),
            (_, Some(list)) => list.clone(),
        };
        if listed.iter().any(|t| t == ALL) {
            self.types()
        } else {
            listed
        }
    }

    /// Whether `role` may grant approvals of type `approval_type` (normalized).
    pub fn may_grant(&self, role: Role, approval_type: &str) -> bool {
        role.allows(Permission::Approve) && self.grants_of(role).iter().any(|t| t == approval_type)
    }

    /// The roles that may grant `approval_type`.
    pub fn grantors(&self, approval_type: &str) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| self.may_grant(*r, approval_type))
            .collect()
    }

    /// The refusal of an approval `role` may not grant: `FORBIDDEN`, naming what it may grant
    /// and who may grant this type.
    pub(crate) fn forbidden(&self, principal: &str, role: Role, approval_type: &str) -> Error {
        let mine = self.grants_of(role);
        let who: Vec<&str> = self
            .grantors(approval_type)
            .into_iter()
            .map(Role::as_str)
            .collect();
        Error::Forbidden {
            message: format!(
                "`{principal}` has the role {role}, which may not grant `{approval_type}` \
                 approvals ({role} may grant: {}); `{approval_type}` is granted by: {}",
                if mine.is_empty() {
                    "nothing".to_string()
                } else {
                    mine.join(", ")
                },
                who.join(", ")
            ),
        }
    }

    /// Checks what a rule names against the catalog, adding every problem to `problems`: a
    /// version approval's types must be accepted ones, a release approval's roles must be
    /// roles that may grant `release`.
    pub fn check_rule(&self, rule: &Rule, problems: &mut Vec<PolicyProblem>) {
        let mut push = |field: &str, reason: String| {
            problems.push(PolicyProblem {
                rule: rule.name.clone(),
                field: field.into(),
                reason,
            });
        };
        match &rule.kind {
            RuleKind::VersionApproval(k) => {
                for t in &k.approval_types {
                    if let Err(e) = self.resolve(t) {
                        push("approval_types", reason_of(&e));
                    }
                }
            }
            RuleKind::ReleaseApproval(k) => {
                for r in &k.approver_roles {
                    match r.parse::<Role>() {
                        Ok(role) if self.may_grant(role, RELEASE) => {}
                        Ok(role) => push(
                            "approver_roles",
                            format!(
                                "{role} may not grant `release` approvals, so none would count; \
                                 roles that may: {}",
                                self.grantors(RELEASE)
                                    .iter()
                                    .map(|r| r.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                        Err(_) => push(
                            "approver_roles",
                            format!("unknown role `{r}`; expected one of: {}", Role::names()),
                        ),
                    }
                }
            }
            _ => {}
        }
    }

    /// Reads the `approvals` section of a policy (JSON form), adding every problem to
    /// `problems`.
    pub(crate) fn parse(value: &Value, problems: &mut Vec<PolicyProblem>) -> ApprovalCatalog {
        let mut push = |field: &str, reason: String| {
            problems.push(PolicyProblem {
                rule: LABEL.into(),
                field: field.into(),
                reason,
            });
        };
        let Some(obj) = value.as_object() else {
            push(
                "approvals",
                format!(
                    "must be a table/object with `types` and `grants`, found {}",
                    crate::event::json_kind(value)
                ),
            );
            return ApprovalCatalog::default();
        };
        for key in obj
            .keys()
            .filter(|k| !["types", "grants"].contains(&k.as_str()))
        {
            push(
                key,
                "unknown key in `approvals`; known keys: types, grants".into(),
            );
        }
        let mut catalog = ApprovalCatalog::default();
        // Sets beside the lists keep validation linear in the number of names.
        let mut declared: std::collections::HashSet<String> = std::collections::HashSet::new();
        for t in strings(obj, "types", &mut push) {
            match normalize_type(&t) {
                Ok(n) if n == ALL => push("types", "`*` is not a type name".into()),
                Ok(n) => {
                    let n = canonical(&n);
                    if !BUILT_IN_TYPES.contains(&n.as_str()) && declared.insert(n.clone()) {
                        catalog.types.push(n);
                    }
                }
                Err(_) => push(
                    "types",
                    format!("`{t}` is not a type name: use letters, digits and _"),
                ),
            }
        }
        match obj.get("grants") {
            None | Some(Value::Null) => {}
            Some(Value::Object(grants)) => {
                let accepted_list = catalog.types();
                let accepted: std::collections::HashSet<&String> = accepted_list.iter().collect();
                for (name, list) in grants {
                    let field = format!("grants.{name}");
                    let role = match name.parse::<Role>() {
                        Ok(Role::Admin) => {
                            push(
                                &field,
                                "admin grants every type; it cannot be changed".into(),
                            );
                            continue;
                        }
                        Ok(r) if !r.allows(Permission::Approve) => {
                            push(
                                &field,
                                format!(
                                    "{r} cannot approve (roles that can: {})",
                                    Permission::Approve
                                        .roles()
                                        .iter()
                                        .map(|r| r.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            );
                            continue;
                        }
                        Ok(r) => r,
                        Err(_) => {
                            push(
                                &field,
                                format!(
                                    "unknown role `{name}`; expected one of: {}",
                                    Role::names()
                                ),
                            );
                            continue;
                        }
                    };
                    let mut types = Vec::new();
                    let mut granted = std::collections::HashSet::new();
                    let mut one = Map::new();
                    one.insert(name.clone(), list.clone());
                    for t in strings(&one, name, &mut |_, reason| push(&field, reason)) {
                        let resolved = if t.trim() == ALL {
                            Some(ALL.to_string())
                        } else {
                            normalize_type(&t)
                                .ok()
                                .map(|n| canonical(&n))
                                .filter(|n| accepted.contains(n))
                        };
                        match resolved {
                            Some(n) if granted.insert(n.clone()) => types.push(n),
                            Some(_) => {}
                            None => push(
                                &field,
                                format!(
                                    "`{t}` is not an approval type; accepted: {}, or `*` for \
                                     every type (declare others under `types`)",
                                    accepted_list.join(", ")
                                ),
                            ),
                        }
                    }
                    catalog.grants.insert(role, types);
                }
            }
            Some(other) => push(
                "grants",
                format!(
                    "must be a table/object of role = [types], found {}",
                    crate::event::json_kind(other)
                ),
            ),
        }
        catalog
    }

    /// The JSON form of the `approvals` section.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.types.is_empty() {
            m.insert("types".into(), json!(self.types));
        }
        if !self.grants.is_empty() {
            let grants: Map<String, Value> = self
                .grants
                .iter()
                .map(|(r, t)| (r.as_str().to_string(), json!(t)))
                .collect();
            m.insert("grants".into(), Value::Object(grants));
        }
        Value::Object(m)
    }

    /// Reads a catalog kept in its JSON form.
    ///
    /// # Errors
    /// `INVALID_INPUT` listing every problem.
    pub fn from_json(value: &Value) -> Result<ApprovalCatalog> {
        let mut problems = Vec::new();
        let catalog = ApprovalCatalog::parse(value, &mut problems);
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(Error::InvalidPolicy { problems })
        }
    }
}

/// A list of strings under `key` (a single string is a list of one).
fn strings(obj: &Map<String, Value>, key: &str, push: &mut dyn FnMut(&str, String)) -> Vec<String> {
    match obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(s) if !s.trim().is_empty() => out.push(s.to_string()),
                    _ => {
                        push(key, "must be a list of non-blank strings".into());
                        return Vec::new();
                    }
                }
            }
            out
        }
        Some(other) => {
            push(
                key,
                format!(
                    "must be a list of strings, found {}",
                    crate::event::json_kind(other)
                ),
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_types_resolve_and_typos_name_the_accepted_ones() {
        let c = ApprovalCatalog::new();
        assert_eq!(c.resolve(" QA ").unwrap(), "qa");
        assert_eq!(c.resolve("Code Review").unwrap(), "code_review");
        assert_eq!(c.resolve("product").unwrap(), "uat");
        let e = c.resolve("secuirty").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
        assert_eq!(e.field(), Some("approval_type"));
        assert!(
            e.to_string().contains(
                "`secuirty` is not an approval type; accepted: qa, security, uat, code_review, \
                 compliance, performance, release"
            ),
            "{e}"
        );
        assert!(c.resolve("qa!").is_err());
    }

    /// The reference's role → approval-type mapping (§6), and `release` per §6.1.
    #[test]
    fn default_grants_follow_the_reference() {
        let c = ApprovalCatalog::new();
        let g = |r: Role| c.grants_of(r).join(",");
        assert_eq!(g(Role::Admin), BUILT_IN_TYPES.join(","));
        assert_eq!(g(Role::ReleaseManager), BUILT_IN_TYPES.join(","));
        assert_eq!(g(Role::Product), "uat,release");
        assert_eq!(g(Role::Developer), "code_review");
        assert_eq!(g(Role::Sre), "performance,release");
        assert_eq!(g(Role::Qa), "qa,performance,release");
        assert_eq!(g(Role::Security), "security,release");
        assert_eq!(g(Role::Compliance), "compliance,release");
        for r in [Role::Billing, Role::Viewer, Role::Ci] {
            assert_eq!(g(r), "");
            assert!(!c.may_grant(r, "qa"));
        }
        assert!(c.may_grant(Role::Qa, "qa") && !c.may_grant(Role::Qa, "security"));
        let e = c.forbidden("quinn", Role::Qa, "security");
        assert_eq!(e.code(), crate::ErrorCode::Forbidden);
        assert!(
            e.to_string().contains(
                "`quinn` has the role qa, which may not grant `security` approvals (qa may \
                 grant: qa, performance, release); `security` is granted by: admin, \
                 release_manager, security"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_policy_declares_types_and_sets_grants() {
        let c = ApprovalCatalog::from_json(&json!({
            "types": ["Change Board", "qa"],
            "grants": { "qa": ["qa", "change_board"], "sre": "*", "developer": [] }
        }))
        .unwrap();
        assert_eq!(c.types, ["change_board"]);
        assert!(
            c.types()
                .ends_with(&["release".into(), "change_board".into()])
        );
        assert_eq!(c.grants_of(Role::Qa), ["qa", "change_board"]);
        assert!(c.may_grant(Role::Sre, "change_board") && c.may_grant(Role::Sre, "security"));
        assert!(c.grants_of(Role::Developer).is_empty());
        assert!(c.may_grant(Role::ReleaseManager, "change_board"));
        assert_eq!(c.resolve("change-board").unwrap(), "change_board");
        assert_eq!(ApprovalCatalog::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn every_problem_of_the_section_is_reported() {
        let Error::InvalidPolicy { problems } = ApprovalCatalog::from_json(&json!({
            "types": ["ok", "bad!"],
            "grants": {
                "admin": ["qa"], "viewer": ["qa"], "ci": ["qa"], "wizard": ["qa"],
                "qa": ["qa", "secuirty"]
            },
            "colour": 1
        }))
        .unwrap_err() else {
            panic!("expected InvalidPolicy")
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for f in [
            "types",
            "grants.admin",
            "grants.viewer",
            "grants.ci",
            "grants.wizard",
            "grants.qa",
            "colour",
        ] {
            assert!(fields.contains(&f), "{f}: {problems:?}");
        }
        assert!(problems.iter().all(|p| p.rule == LABEL));
        let qa = problems.iter().find(|p| p.field == "grants.qa").unwrap();
        assert!(
            qa.reason
                .contains("`secuirty` is not an approval type; accepted: qa,"),
            "{qa:?}"
        );
    }
}
