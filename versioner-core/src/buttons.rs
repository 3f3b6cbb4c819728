//! Variables and deployment buttons (reference §9): links that take people one click from
//! deploying a version.
//!
//! A **variable** is a name and a value, at the organization scope or a product's; a product's
//! value overrides the organization's. Names are lowercase letters, digits and underscores;
//! the `vi_` prefix is reserved for the **system variables** injected at render time:
//! `vi_version`, `vi_build_number`, `vi_product_id`, `vi_product_name`, `vi_environment_id`,
//! `vi_environment_name` and `vi_sha`.
//!
//! A **deployment button** belongs to a product: a name, a URL template with `{variable}`
//! placeholders, the environments it deploys to (one template per environment per product)
//! and an enabled flag. [`render`] substitutes the values, each encoded for the URL component
//! it lands in (RFC 3986): in the path, query or fragment everything but the unreserved
//! characters is percent-encoded, so a value holding `&`, `/`, `#` or spaces never changes
//! the URL's structure; in the authority a value must be a host (and port) as it is. A template
//! naming a variable that has no value is refused with `Missing variable: NAME`, and only
//! `http` and `https` URLs are accepted.
//!
//! ```
//! use std::collections::BTreeMap;
//! use versioner_core::buttons::render;
//! let mut vars = BTreeMap::new();
//! vars.insert("jenkins".to_string(), "ci.example.com".to_string());
//! vars.insert("vi_version".to_string(), "1.2.3 & co/#x".to_string());
//! let url = render("https://{jenkins}/job/deploy/buildWithParameters?VERSION={vi_version}", &vars)?;
//! assert_eq!(url, "https://ci.example.com/job/deploy/buildWithParameters?VERSION=1.2.3%20%26%20co%2F%23x");
//! let err = render("https://{jenkins}/{token}", &vars).unwrap_err();
//! assert!(err.to_string().contains("Missing variable: token"));
//! # Ok::<(), versioner_core::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The system variables, injected at render time.
pub const SYSTEM_VARIABLES: [&str; 7] = [
    "vi_version",
    "vi_build_number",
    "vi_product_id",
    "vi_product_name",
    "vi_environment_id",
    "vi_environment_name",
    "vi_sha",
];

/// A variable's name, checked: 1 to 64 lowercase letters, digits and underscores, not starting
/// with the reserved `vi_`.
///
/// # Errors
/// `INVALID_INPUT` naming `name`.
pub fn variable_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty()
        || n.len() > 64
        || !n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::invalid(
            "name",
            format!(
                "`{n}` is not a variable name: use 1 to 64 lowercase letters, digits and underscores"
            ),
        ));
    }
    if n.starts_with("vi_") {
        return Err(Error::invalid(
            "name",
            format!("`{n}`: the prefix `vi_` is reserved for the system variables"),
        ));
    }
    Ok(n.to_string())
}

/// A variable at the organization scope (`product` absent) or a product's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value (stored in plain text: no secrets).
    pub value: String,
    /// The product whose scope it is in; absent for the organization's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
    /// Whether a policy file declared it (`[[variables]]`): applying a policy replaces it.
    #[serde(default)]
    pub declared: bool,
}

impl VariableRequest {
    /// Reads a policy's `variables` array (`[[variables]]` tables of `name`, `value` and an
    /// optional `product`), every problem named (`(variables)`, `variables[i].field`).
    pub(crate) fn parse_all(
        value: &serde_json::Value,
        problems: &mut Vec<crate::error::PolicyProblem>,
    ) -> Vec<VariableRequest> {
        let mut problem = |field: String, reason: String| {
            problems.push(crate::error::PolicyProblem {
                rule: "(variables)".into(),
                field,
                reason,
            });
        };
        let Some(items) = value.as_array() else {
            problem(
                "variables".into(),
                "must be an array of tables ([[variables]] with name and value)".into(),
            );
            return Vec::new();
        };
        let mut out: Vec<VariableRequest> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match serde_json::from_value::<VariableRequest>(item.clone()) {
                Err(e) => problem(format!("variables[{i}]"), e.to_string()),
                Ok(mut r) => match variable_name(&r.name) {
                    Err(e) => problem(format!("variables[{i}].name"), e.to_string()),
                    Ok(name) => {
                        r.name = name;
                        r.product = r
                            .product
                            .map(|p| p.trim().to_string())
                            .filter(|p| !p.is_empty());
                        if out
                            .iter()
                            .any(|o| o.name == r.name && o.product == r.product)
                        {
                            problem(
                                format!("variables[{i}].name"),
                                format!("`{}` is declared more than once in its scope", r.name),
                            );
                        } else {
                            out.push(r);
                        }
                    }
                },
            }
        }
        out
    }
}

/// A request to set a variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VariableRequest {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The product scope; absent for the organization's.
    #[serde(default)]
    pub product: Option<String>,
}

impl VariableRequest {
    /// An organization variable.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> VariableRequest {
        VariableRequest {
            name: name.into(),
            value: value.into(),
            product: None,
        }
    }

    /// In `product`'s scope.
    #[must_use]
    pub fn product(mut self, product: impl Into<String>) -> VariableRequest {
        self.product = Some(product.into());
        self
    }
}

/// A product's deployment button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeploymentButton {
    /// Public id (UUID).
    pub id: String,
    /// The product.
    pub product: String,
    /// The button's label.
    pub name: String,
    /// The URL template, with `{variable}` placeholders.
    pub url_template: String,
    /// The environments it deploys to (one template per environment per product).
    pub environments: Vec<String>,
    /// Whether it is shown.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A request to add a deployment button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ButtonRequest {
    /// The product.
    pub product: String,
    /// The button's label.
    pub name: String,
    /// The URL template (http or https), with `{variable}` placeholders.
    pub url_template: String,
    /// The environments it deploys to.
    pub environments: Vec<String>,
    /// Whether it is shown (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl ButtonRequest {
    /// An enabled button.
    pub fn new(
        product: impl Into<String>,
        name: impl Into<String>,
        url_template: impl Into<String>,
        environments: Vec<String>,
    ) -> ButtonRequest {
        ButtonRequest {
            product: product.into(),
            name: name.into(),
            url_template: url_template.into(),
            environments,
            enabled: true,
        }
    }
}

/// A button rendered for one version and environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RenderedButton {
    /// The button's id.
    pub button_id: String,
    /// Its label.
    pub name: String,
    /// The environment.
    pub environment: String,
    /// The URL, when every variable has a value.
    pub url: Option<String>,
    /// Why there is no URL (`Missing variable: NAME`).
    pub error: Option<String>,
}

/// Where in a URL a placeholder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Authority,
    Path,
    Query,
    Fragment,
}

/// One piece of a template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a template into text and `{name}` placeholders.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            Error::invalid(
                "url_template",
                "a `{` is not closed; write placeholders as {name}",
            )
        })?;
        let name = &after[..close];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(Error::invalid(
                "url_template",
                format!(
                    "`{{{name}}}` is not a placeholder: use lowercase letters, digits and underscores"
                ),
            ));
        }
        out.push(Piece::Var(name));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(Error::invalid("url_template", "a `}` has no `{`"));
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Checks a template: an http or https scheme written out, and well-formed placeholders.
///
/// # Errors
/// `INVALID_INPUT` naming `url_template`.
pub fn check_template(template: &str) -> Result<()> {
    let t = template.trim();
    let scheme_ok = ["http://", "https://"]
        .iter()
        .any(|s| t.len() > s.len() && t.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
    if !scheme_ok {
        return Err(Error::invalid(
            "url_template",
            format!("`{t}` must start with http:// or https://"),
        ));
    }
    if t.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            "url_template",
            "contains spaces; put values with spaces in variables",
        ));
    }
    pieces(t).map(|_| ())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders a template with `vars`: each value encoded for the URL component it lands in.
///
/// # Errors
/// `INVALID_INPUT` (`url_template`): `Missing variable: NAME`; a value in the host that is not
/// a host; a result that is not an http or https URL.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String> {
    check_template(template)?;
    let mut out = String::new();
    let mut component = Component::Authority;
    let scheme_end = template.find("://").map_or(0, |i| i + 3);
    for piece in pieces(template.trim())? {
        match piece {
            Piece::Text(text) => {
                for (i, c) in text.char_indices() {
                    let at = out.len() + i;
                    component = match (component, c) {
                        (Component::Authority, '/') if at >= scheme_end => Component::Path,
                        (Component::Authority | Component::Path, '?') => Component::Query,
                        (Component::Fragment, _) => Component::Fragment,
                        (_, '#') => Component::Fragment,
                        (c, _) => c,
                    };
                }
                out.push_str(text);
            }
            Piece::Var(name) => {
                let value = vars.get(name).ok_or_else(|| {
                    Error::invalid("url_template", format!("Missing variable: {name}"))
                })?;
                if component == Component::Authority {
                    let host_ok = !value.is_empty()
                        && value.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                        });
                    if !host_ok {
                        return Err(Error::invalid(
                            "url_template",
                            format!(
                                "variable `{name}` stands in the host, and `{value}` is not a host"
                            ),
                        ));
                    }
                    out.push_str(value);
                } else {
                    out.push_str(&encode(value));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_template_with_multibyte_characters_where_the_scheme_goes_is_refused_not_a_panic() {
        // Schemathesis found it: the scheme check sliced bytes inside a character.
        let e = check_template("\u{ff}\u{c704a}\u{be879}x").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
        assert!(e.to_string().contains("must start with http"), "{e}");
    }

    proptest! {
        /// Any template is accepted or refused with INVALID_INPUT; never a panic.
        #[test]
        fn any_template_is_a_clear_answer(t in any::<String>()) {
            if let Err(e) = check_template(&t) {
                prop_assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
            }
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Decodes a percent-encoded component.
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn templates_are_checked() {
        for bad in [
            "ftp://x/{a}",
            "javascript:alert(1)",
            "https://x/{a",
            "https://x/a}",
            "https://x/{A}",
            "https://x/ {a}",
        ] {
            assert!(check_template(bad).is_err(), "{bad}");
        }
        assert!(check_template("HTTPS://x/{a}").is_ok());
        let e = render("https://x/{a}", &vars(&[])).unwrap_err();
        assert_eq!(e.field(), Some("url_template"));
        assert!(e.to_string().contains("Missing variable: a"));
        let e = render("https://{host}/", &vars(&[("host", "evil.com/x?")])).unwrap_err();
        assert!(e.to_string().contains("not a host"));
        assert!(variable_name("vi_version").is_err());
        assert!(variable_name("Jenkins").is_err());
        assert_eq!(
            variable_name(" jenkins_url ").ok().as_deref(),
            Some("jenkins_url")
        );
    }

    proptest! {
        /// Any value round-trips through URL parsing: in the path, the query and the
        /// fragment it is one component that decodes back to itself, and the URL's
        /// structure (host, path, other parameters) is unchanged.
        #[test]
        fn any_value_round_trips(value in any::<String>()) {
            let v = vars(&[("host", "ci.example.com"), ("v", &value)]);
            let url = render("https://{host}/job/{v}/run?version={v}&env=prod#{v}", &v).unwrap();
            let (before_fragment, fragment) = url.split_once('#').unwrap();
            let (path, query) = before_fragment.split_once('?').unwrap();
            let rest = path.strip_prefix("https://ci.example.com/job/").unwrap();
            let segment = rest.strip_suffix("/run").unwrap();
            prop_assert!(!segment.contains('/'));
            prop_assert_eq!(decode(segment), value.clone());
            let params: Vec<&str> = query.split('&').collect();
            prop_assert_eq!(params.len(), 2);
            prop_assert_eq!(decode(params[0].strip_prefix("version=").unwrap()), value.clone());
            prop_assert_eq!(params[1], "env=prod");
            prop_assert_eq!(decode(fragment), value);
        }
    }
}
