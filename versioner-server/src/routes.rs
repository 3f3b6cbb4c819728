//! The route table: every route's method, path, required permission and documentation.
//!
//! Each route is declared once, on its handler in its area module (`#[utoipa::path]`, with the
//! [`Permission`] as the `x-permission` extension); that declaration registers the axum route
//! and becomes an operation of the OpenAPI document ([`openapi::document`]). This table is
//! read back from the document, so the authorization check ([`auth`](crate::auth)), the
//! published document and the router cannot disagree. A route the router answers but the table
//! lacks, or whose permission is missing or unknown, is refused: the server fails closed.

use serde_json::Value;

pub use versioner_core::access::Permission;

use crate::openapi::{self, PERMISSION_EXTENSION};

/// A permission's name in the document (the `x-permission` of an operation): `public`, `read`,
/// `track`, `approve`, `environments`, `rules` or `keys` ([`Permission::as_str`]; `bypass` is
/// checked by the core on the events that ask for it, not by a route).
pub const fn permission_name(permission: Permission) -> &'static str {
    permission.as_str()
}

/// The permission named `name` (see [`permission_name`]).
pub fn parse_permission(name: &str) -> Option<Permission> {
    Permission::from_name(name)
}

/// One route, as the document declares it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path as registered (`{name}` for a path parameter).
    pub path: &'static str,
    /// What the caller's key must allow; `None` when the declaration lacks a known one (the
    /// route is then refused).
    pub permission: Option<Permission>,
    /// The operation's summary.
    pub summary: &'static str,
    /// The request body's schema (`#/components/schemas/...`), if the route takes one.
    pub body: Option<&'static str>,
    /// The success status (the lowest 2xx or 3xx declared).
    pub ok: u16,
    /// Whether the success answer is a page of the API reference (HTML or one of its assets)
    /// rather than JSON.
    pub page: bool,
}

const METHODS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("trace", "TRACE"),
];

fn spec(path: &'static str, method: &'static str, op: &'static Value) -> RouteSpec {
    let body = op
        .pointer("/requestBody/content/application~1json/schema")
        .map(|s| {
            s.get("$ref")
                .and_then(Value::as_str)
                .unwrap_or("inline schema")
        });
    let success = |status: u16| op.pointer(&format!("/responses/{status}/content"));
    let ok = op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|r| r.keys())
        .filter_map(|k| k.parse::<u16>().ok())
        .filter(|s| (200..400).contains(s))
        .min()
        .unwrap_or(200);
    RouteSpec {
        method,
        path,
        permission: op
            .get(PERMISSION_EXTENSION)
            .and_then(Value::as_str)
            .and_then(parse_permission),
        summary: op.get("summary").and_then(Value::as_str).unwrap_or(""),
        body,
        ok,
        page: success(ok)
            .and_then(Value::as_object)
            .is_some_and(|c| !c.contains_key("application/json")),
    }
}

fn table() -> &'static [RouteSpec] {
    static TABLE: std::sync::LazyLock<Vec<RouteSpec>> = std::sync::LazyLock::new(|| {
        let mut routes = Vec::new();
        if let Some(paths) = openapi::document().get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for (key, method) in METHODS {
                    if let Some(op) = item.get(key) {
                        routes.push(spec(path, method, op));
                    }
                }
            }
        }
        routes
    });
    &TABLE
}

/// Every route of the API (those answering JSON, or nothing): `for r in ROUTES { … }`.
pub const ROUTES: Routes = Routes::Api;

/// Every route the server answers: the API, plus the pages of the API reference (`/docs/`,
/// which answer HTML, scripts and stylesheets). The permission check reads this one.
pub const ALL_ROUTES: Routes = Routes::All;

/// A view of the route table (see [`ROUTES`] and [`ALL_ROUTES`]), read from the OpenAPI
/// document on first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    /// The routes answering JSON, or nothing.
    Api,
    /// Every route.
    All,
}

/// The iterator over a view of the route table.
pub type RoutesIter =
    std::iter::Filter<std::slice::Iter<'static, RouteSpec>, fn(&&'static RouteSpec) -> bool>;

impl Routes {
    /// The routes, in document order.
    pub fn iter(self) -> RoutesIter {
        let keep: fn(&&'static RouteSpec) -> bool = match self {
            Routes::Api => |r| !r.page,
            Routes::All => |_| true,
        };
        table().iter().filter(keep)
    }

    /// How many routes there are.
    pub fn len(self) -> usize {
        self.iter().count()
    }

    /// Whether there are none (never, for a built server).
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl IntoIterator for Routes {
    type Item = &'static RouteSpec;
    type IntoIter = RoutesIter;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Whether a registered path (as matched) is in the table under some method.
pub fn path_known(path: &str) -> bool {
    ALL_ROUTES.iter().any(|r| r.path == path)
}

/// The methods the table has for a matched path, as a 405's `Allow` header lists them
/// (`HEAD` wherever `GET` is: it is answered by the GET handler).
pub fn methods(path: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = ALL_ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method)
        .collect();
    if out.contains(&"GET") {
        out.push("HEAD");
    }
    out
}

/// The permission a method on a matched path requires, if the table has it.
pub fn permission(method: &str, path: &str) -> Option<Permission> {
    ALL_ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method)
        .and_then(|r| r.permission)
}

/// Whether a method on a matched path takes a JSON request body (its declaration has one);
/// `HEAD` never does.
pub fn takes_json(method: &str, path: &str) -> bool {
    ALL_ROUTES
        .iter()
        .any(|r| r.path == path && r.method == method && r.body.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn roles_allow_what_they_should() {
        use Permission::*;
        assert!(Role::Viewer.allows(Read) && !Role::Viewer.allows(Track));
        assert!(Role::Ci.allows(Track) && !Role::Ci.allows(Approve) && !Role::Ci.allows(Read));
        assert!(Role::Qa.allows(Approve) && !Role::Qa.allows(ManageRules));
        assert!(Permission::ALL.into_iter().all(|p| Role::Admin.allows(p)));
    }

    #[test]
    fn every_route_declares_a_known_permission_once() {
        assert!(ROUTES.len() > 20);
        assert_eq!(
            ALL_ROUTES.len(),
            ROUTES.len() + 5,
            "the /docs/ page and its assets, the /calendar.ics feed, /metrics and /export (not \
             JSON)"
        );
        let mut seen = std::collections::HashSet::new();
        for r in ALL_ROUTES {
            assert!(r.permission.is_some(), "{} {}", r.method, r.path);
            assert!(seen.insert((r.method, r.path)), "{} {}", r.method, r.path);
        }
        assert_eq!(permission("GET", "/health"), Some(Permission::Public));
        assert_eq!(permission("GET", "/docs/"), Some(Permission::Public));
        assert_eq!(permission("GET", "/calendar.ics"), Some(Permission::Read));
        assert_eq!(permission("POST", "/rules/"), Some(Permission::ManageRules));
        assert_eq!(
            permission("POST", "/api-keys/"),
            Some(Permission::ManageKeys)
        );
        assert_eq!(permission("POST", "/nowhere"), None);
        assert!(path_known("/rules/{name}") && !path_known("/nowhere"));
    }
}
