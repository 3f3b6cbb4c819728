//! Policy files: rules kept in the repository beside the pipeline, in TOML or JSON.
//!
//! A file holds a `rules` array (TOML `[[rules]]` tables) and, optionally, an `approvals`
//! table: the approval types it declares and which roles may grant which type (see
//! [`ApprovalCatalog`]). It is validated whole: any problem anywhere refuses the whole file,
//! with every problem listed by rule name (or `(approvals)`) and field, and nothing is
//! applied.

use serde_json::Value;

use super::catalog::ApprovalCatalog;
use super::rule::{Rule, parse_rule};
use crate::error::{Error, PolicyProblem, Result};

/// The format of a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyFormat {
    /// TOML (`[[rules]]` tables).
    Toml,
    /// JSON (`{"rules": [...]}` or a bare array).
    Json,
}

impl PolicyFormat {
    /// Guesses the format from a file name: `.json` is JSON, anything else TOML.
    pub fn from_path(path: &std::path::Path) -> PolicyFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => PolicyFormat::Json,
            _ => PolicyFormat::Toml,
        }
    }

    /// Guesses the format of a policy document from its text: JSON when it starts with `{`,
    /// or with `[` followed by `{` or `]` (a bare array of rules); TOML otherwise (whose
    /// `[[rules]]` also starts with `[`). Every surface applies it through
    /// [`PolicyInput`](crate::input::PolicyInput) to policy text given without a format.
    ///
    /// ```
    /// use versioner_core::policy::PolicyFormat;
    /// assert_eq!(PolicyFormat::guess(r#"{"rules": []}"#), PolicyFormat::Json);
    /// assert_eq!(PolicyFormat::guess(" [ {\"name\": \"x\"} ]"), PolicyFormat::Json);
    /// assert_eq!(PolicyFormat::guess("[[rules]]\nname = 'x'"), PolicyFormat::Toml);
    /// ```
    pub fn guess(text: &str) -> PolicyFormat {
        let t = text.trim_start();
        let json_array = t
            .strip_prefix('[')
            .is_some_and(|rest| matches!(rest.trim_start().chars().next(), Some('{' | ']')));
        if t.starts_with('{') || json_array {
            PolicyFormat::Json
        } else {
            PolicyFormat::Toml
        }
    }
}

impl PolicyFormat {
    /// The lower-case name: `toml` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyFormat::Toml => "toml",
            PolicyFormat::Json => "json",
        }
    }
}

impl std::str::FromStr for PolicyFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<PolicyFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "toml" => Ok(PolicyFormat::Toml),
            "json" => Ok(PolicyFormat::Json),
            other => Err(Error::invalid(
                "format",
                format!("unknown policy format `{other}`; expected toml or json"),
            )),
        }
    }
}

/// How applying a policy treats the rules already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApplyMode {
    /// The file becomes the whole policy: stored rules it does not name are deleted.
    #[default]
    Replace,
    /// Rules in the file are added or updated by name; others stay.
    Merge,
}

impl ApplyMode {
    /// The lower-case name: `replace` or `merge`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyMode::Replace => "replace",
            ApplyMode::Merge => "merge",
        }
    }
}

impl std::str::FromStr for ApplyMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<ApplyMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "replace" => Ok(ApplyMode::Replace),
            "merge" => Ok(ApplyMode::Merge),
            other => Err(Error::invalid(
                "mode",
                format!("unknown apply mode `{other}`; expected replace or merge"),
            )),
        }
    }
}

/// A validated set of rules, with the approval catalog the file declares, if any.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PolicyFile {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The `approvals` table: declared approval types and role grants. `None` when the file
    /// has none: applied in replace mode that means the built-in catalog; in merge mode the
    /// stored catalog stays.
    pub approvals: Option<ApprovalCatalog>,
    /// The `bypass` table's `roles`: who may use the emergency bypass. `None` when the file
    /// has none: replace mode means the default (admin and release_manager), merge mode keeps
    /// what is stored. An admin may always.
    pub bypass_roles: Option<Vec<crate::access::Role>>,
    /// Whether the document lists its rules (`rules = []` counts; a document without a
    /// `rules` key does not). Applying a policy that does not, in replace mode, would delete
    /// every stored rule by omission, so it is refused unless [`PolicyFile::allow_empty`]
    /// says the emptiness is meant.
    declares_rules: bool,
    /// The `[[notifications]]` tables: declared notification channels with their
    /// subscriptions. `None` when the file has none: replace mode then removes the channels an
    /// earlier policy declared, merge mode keeps them; channels added over the API are never
    /// touched.
    pub notifications: Option<Vec<crate::notify::DeclaredChannel>>,
    /// The `[[variables]]` tables: variables of deployment buttons. `None` when the file has
    /// none: replace mode then removes the variables an earlier policy declared, merge mode
    /// keeps them.
    pub variables: Option<Vec<crate::buttons::VariableRequest>>,
    /// The `[[request_templates]]` tables: Deployment Request templates. `None` when the file
    /// has none: replace mode then removes the templates an earlier policy declared, merge
    /// mode keeps them; templates added over the API are never touched.
    pub request_templates: Option<Vec<crate::request::RequestTemplate>>,
}

/// Who may use the emergency bypass when the policy does not say: admin and release_manager.
pub const DEFAULT_BYPASS_ROLES: [crate::access::Role; 2] = [
    crate::access::Role::Admin,
    crate::access::Role::ReleaseManager,
];

/// Reads `[bypass] roles = [...]`, every problem named.
fn parse_bypass(
    value: &Value,
    problems: &mut Vec<PolicyProblem>,
) -> Option<Vec<crate::access::Role>> {
    let problem = |field: &str, reason: String| PolicyProblem {
        rule: "(bypass)".into(),
        field: field.into(),
        reason,
    };
    let Some(table) = value.as_object() else {
        problems.push(problem("bypass", "must be a table with `roles`".into()));
        return None;
    };
    if let Some(k) = table.keys().find(|k| k.as_str() != "roles") {
        problems.push(problem(
            k,
            "unknown key; the bypass table holds `roles`".into(),
        ));
    }
    let Some(items) = table.get("roles").and_then(Value::as_array) else {
        problems.push(problem(
            "roles",
            "must list the roles that may bypass".into(),
        ));
        return None;
    };
    let mut roles = Vec::new();
    for item in items {
        match item.as_str().map(str::parse::<crate::access::Role>) {
            Some(Ok(r)) => {
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
            Some(Err(e)) => problems.push(problem("roles", e.to_string())),
            None => problems.push(problem("roles", "must be role names".into())),
        }
    }
    Some(roles)
}

impl PolicyFile {
    /// Parses and validates a policy document.
    ///
    /// # Errors
    /// `INVALID_INPUT`: a syntax error names the line; otherwise
    /// [`Error::InvalidPolicy`] lists every problem by rule and field.
    pub fn parse(text: &str, format: PolicyFormat) -> Result<PolicyFile> {
        PolicyFile::from_json(&PolicyFile::document_value(text, format)?)
    }

    /// A policy document read into JSON, not yet validated.
    ///
    /// # Errors
    /// `INVALID_INPUT` naming `policy` for a syntax error.
    pub(crate) fn document_value(text: &str, format: PolicyFormat) -> Result<Value> {
        let value: Value = match format {
            PolicyFormat::Json => {
                crate::wire::json::parse(text.as_bytes()).map_err(|e| match e {
                    crate::wire::json::JsonError::Malformed(m) => {
                        Error::invalid("policy", format!("not valid JSON: {m}"))
                    }
                    crate::wire::json::JsonError::Invalid(e) => e,
                })?
            }
            PolicyFormat::Toml => {
                let t: toml::Table = toml::from_str(text).map_err(|e| {
                    Error::invalid(
                        "policy",
                        format!("not valid TOML: {}", e.to_string().trim()),
                    )
                })?;
                serde_json::to_value(t).map_err(|e| Error::invalid("policy", e.to_string()))?
            }
        };
        Ok(value)
    }

    /// A policy of these rules, without an `approvals` table.
    pub fn new(rules: Vec<Rule>) -> PolicyFile {
        PolicyFile {
            rules,
            approvals: None,
            bypass_roles: None,
            declares_rules: true,
            notifications: None,
            variables: None,
            request_templates: None,
        }
    }

    /// Whether the document listed its rules (`rules = []` included). A policy built with
    /// [`PolicyFile::new`] does.
    pub fn declares_rules(&self) -> bool {
        self.declares_rules
    }

    /// The same policy with a missing `rules` meaning "no rules" (the CLI's `--allow-empty`,
    /// the HTTP body's `allow_empty`): applied in replace mode it deletes every stored rule.
    #[must_use]
    pub fn allow_empty(mut self) -> PolicyFile {
        self.declares_rules = true;
        self
    }

    /// Validates a policy already parsed into JSON (`{"rules": [...], "approvals": {...}}` or
    /// an array of rules).
    ///
    /// # Errors
    /// As [`PolicyFile::parse`].
    pub fn from_json(value: &Value) -> Result<PolicyFile> {
        let declares_rules = match value {
            Value::Object(m) => m.contains_key("rules"),
            _ => true,
        };
        let items = match value {
            Value::Array(items) => items.as_slice(),
            Value::Object(m) => {
                if let Some(k) = m.keys().find(|k| {
                    ![
                        "rules",
                        "approvals",
                        "bypass",
                        "tests",
                        "notifications",
                        "variables",
                        "request_templates",
                    ]
                    .contains(&k.as_str())
                }) {
                    return Err(Error::InvalidPolicy {
                        problems: vec![PolicyProblem {
                            rule: "(file)".into(),
                            field: k.clone(),
                            reason: "unknown top-level key; a policy holds `rules`, \
                                     `approvals`, `bypass`, `notifications`, `variables`, `request_templates` and `tests` \
                                     (policy tests, which `versioner rules test` runs)"
                                .into(),
                        }],
                    });
                }
                match m.get("rules") {
                    Some(Value::Array(items)) => items.as_slice(),
                    None => &[],
                    Some(_) => return Err(Error::invalid("rules", "must be an array of rules")),
                }
            }
            _ => {
                return Err(Error::invalid(
                    "policy",
                    "must be an object with `rules`, or an array",
                ));
            }
        };
        let mut problems = Vec::new();
        let approvals = value
            .get("approvals")
            .filter(|_| value.is_object())
            .map(|a| ApprovalCatalog::parse(a, &mut problems));
        let bypass_roles = value
            .get("bypass")
            .filter(|_| value.is_object())
            .and_then(|b| parse_bypass(b, &mut problems));
        let notifications = value
            .get("notifications")
            .filter(|_| value.is_object())
            .map(|n| crate::notify::DeclaredChannel::parse_all(n, &mut problems));
        let variables = value
            .get("variables")
            .filter(|_| value.is_object())
            .map(|v| crate::buttons::VariableRequest::parse_all(v, &mut problems));
        let request_templates = value
            .get("request_templates")
            .filter(|_| value.is_object())
            .map(|t| parse_templates(t, &mut problems));
        let mut rules: Vec<Rule> = Vec::new();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(name) = item.get("name").and_then(Value::as_str).map(str::trim)
                && !seen.insert(name)
            {
                problems.push(PolicyProblem {
                    rule: name.to_string(),
                    field: "name".into(),
                    reason: "is used by more than one rule; names must be unique".into(),
                });
            }
            if let Some(rule) = parse_rule(item, &format!("rules[{i}]"), &mut problems) {
                rules.push(rule);
            }
        }
        if let Some(catalog) = &approvals {
            // The file's own catalog is known: check its rules against it now. (Without one,
            // rules are checked against the catalog in force when the policy is applied.)
            for rule in &rules {
                catalog.check_rule(rule, &mut problems);
            }
        }
        if problems.is_empty() {
            Ok(PolicyFile {
                rules,
                approvals,
                bypass_roles,
                declares_rules,
                notifications,
                variables,
                request_templates,
            })
        } else {
            Err(Error::InvalidPolicy { problems })
        }
    }

    /// The JSON form (`{"rules": [...]}`, with `approvals` when the file has the table).
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert(
            "rules".into(),
            Value::Array(self.rules.iter().map(Rule::to_json).collect()),
        );
        if let Some(a) = &self.approvals {
            m.insert("approvals".into(), a.to_json());
        }
        if let Some(roles) = &self.bypass_roles {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            m.insert("bypass".into(), serde_json::json!({ "roles": names }));
        }
        if let Some(v) = &self.variables {
            m.insert(
                "variables".into(),
                serde_json::to_value(v).unwrap_or(Value::Null),
            );
        }
        if let Some(t) = &self.request_templates {
            m.insert(
                "request_templates".into(),
                serde_json::to_value(t).unwrap_or(Value::Null),
            );
        }
        if let Some(n) = &self.notifications {
            m.insert(
                "notifications".into(),
                Value::Array(
                    n.iter()
                        .map(crate::notify::DeclaredChannel::to_json)
                        .collect(),
                ),
            );
        }
        Value::Object(m)
    }
}

/// The `[[request_templates]]` tables, each read strictly (unknown keys refused).
fn parse_templates(
    value: &Value,
    problems: &mut Vec<PolicyProblem>,
) -> Vec<crate::request::RequestTemplate> {
    let Value::Array(items) = value else {
        problems.push(PolicyProblem {
            rule: "(file)".into(),
            field: "request_templates".into(),
            reason: "must be a list of `[[request_templates]]` tables".into(),
        });
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match serde_json::from_value::<crate::request::RequestTemplate>(item.clone()) {
            Ok(t) => out.push(t),
            Err(e) => problems.push(PolicyProblem {
                rule: item
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("request_templates[{i}]"), str::to_string),
                field: "request_templates".into(),
                reason: e.to_string(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_EXAMPLE: &str = r#"
[[rules]]
name = "Staging before production"
type = "flow"
status = "enabled"
products = ["api"]
environments = ["production"]
prerequisites = ["staging"]
strict_order = false
soak = "24h"

[[rules]]
name = "Friday afternoon freeze"
type = "schedule"
mode = "deny"
timezone = "America/Los_Angeles"
environments = ["production"]
reason = "No deploys before the weekend"
windows = [
  { recurrence = "weekly", days = ["fri"], start = "12:00", end = "18:00" },
  { recurrence = "daily", start = "22:00", end = "06:00" },
  { recurrence = "monthly", days_of_month = [1], start = "00:00", end = "12:00" },
  { recurrence = "once", start = "2026-12-24T00:00", end = "2026-12-27T00:00" },
]

[[rules]]
name = "Prod needs 2 approvals"
type = "release_approval"
environments = ["production"]
required = 2

[[rules]]
name = "QA sign-off"
type = "version_approval"
approval_types = ["qa"]

[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
"#;

    #[test]
    fn the_issue_example_parses() {
        let p = PolicyFile::parse(ISSUE_EXAMPLE, PolicyFormat::Toml).unwrap();
        assert_eq!(p.rules.len(), 5);
        let again = PolicyFile::from_json(&p.to_json()).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn an_invalid_file_lists_every_problem() {
        let text = r#"
[[rules]]
name = "A"
type = "flow"

[[rules]]
name = "B"
type = "release_approval"
required = 0

[[rules]]
type = "nope"

[[rules]]
name = "A"
type = "concurrency"
"#;
        let Error::InvalidPolicy { problems } =
            PolicyFile::parse(text, PolicyFormat::Toml).unwrap_err()
        else {
            panic!("expected InvalidPolicy")
        };
        let pairs: Vec<(String, String)> = problems
            .iter()
            .map(|p| (p.rule.clone(), p.field.clone()))
            .collect();
        assert!(
            pairs.contains(&("A".into(), "prerequisites".into())),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&("B".into(), "required".into())),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&("rules[2]".into(), "name".into())),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&("rules[2]".into(), "type".into())),
            "{pairs:?}"
        );
        assert!(pairs.contains(&("A".into(), "name".into())), "{pairs:?}");
    }

    #[test]
    fn the_approvals_table_is_read_and_checked_with_the_rules() {
        let text = r#"
[approvals]
types = ["change_board"]
[approvals.grants]
qa = ["qa", "change_board"]

[[rules]]
name = "Board"
type = "version_approval"
approval_types = ["change_board", "product"]
"#;
        let p = PolicyFile::parse(text, PolicyFormat::Toml).unwrap();
        let catalog = p.approvals.clone().unwrap();
        assert_eq!(catalog.types, ["change_board"]);
        assert_eq!(PolicyFile::from_json(&p.to_json()).unwrap(), p);
        let RuleKindCheck(types) = RuleKindCheck::of(&p.rules[0]);
        assert_eq!(types, ["change_board", "uat"]);

        // Every problem at once: the table's and the rules'.
        let text = r#"
[approvals]
types = ["change_board"]
[approvals.grants]
wizard = ["qa"]

[[rules]]
name = "Typo"
type = "version_approval"
approval_types = ["secuirty"]

[[rules]]
name = "Roles"
type = "release_approval"
approver_roles = ["sre", "qa_engineer"]
"#;
        let Error::InvalidPolicy { problems } =
            PolicyFile::parse(text, PolicyFormat::Toml).unwrap_err()
        else {
            panic!("expected InvalidPolicy")
        };
        let pairs: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.rule.as_str(), p.field.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("(approvals)", "grants.wizard"),
                ("Typo", "approval_types"),
                ("Roles", "approver_roles")
            ],
            "{problems:?}"
        );
        assert!(problems[1].reason.contains("`secuirty` is not an approval type; accepted: qa, security, uat, code_review, compliance, performance, release, change_board"), "{problems:?}");
    }

    struct RuleKindCheck(Vec<String>);
    impl RuleKindCheck {
        fn of(rule: &Rule) -> RuleKindCheck {
            match &rule.kind {
                crate::policy::RuleKind::VersionApproval(k) => {
                    RuleKindCheck(k.approval_types.clone())
                }
                _ => RuleKindCheck(Vec::new()),
            }
        }
    }

    #[test]
    fn syntax_errors_are_input_errors() {
        let e = PolicyFile::parse("[[rules]\nname=", PolicyFormat::Toml).unwrap_err();
        assert_eq!(e.field(), Some("policy"));
        assert!(e.to_string().contains("not valid TOML"));
        let e = PolicyFile::parse("{", PolicyFormat::Json).unwrap_err();
        assert!(e.to_string().contains("not valid JSON"));
    }
}
