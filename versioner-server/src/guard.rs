//! Browser-facing defences: the Host allow-list, same-origin writes, JSON-only bodies and the
//! security headers of every answer.
//!
//! A server started with `--no-auth` on a developer's machine is reachable by every page open
//! in that machine's browser. A browser sends a cross-site `POST` without asking when its body
//! is a "simple" one (`text/plain`, a form), and a DNS-rebinding page can make its own origin
//! resolve to `127.0.0.1`. So, before anything else runs:
//!
//! - [`hosts`]: with an allow-list (`versioner serve --allowed-host NAME`, repeatable), a
//!   request whose `Host` is not on it is answered 421 `INVALID_INPUT` (a rebinding page's
//!   `Host` is its own name). Without one every `Host` is served.
//! - [`same_origin`]: a state-changing request (anything but `GET`, `HEAD`, `OPTIONS`) that a
//!   browser marks as cross-site (`Sec-Fetch-Site: cross-site` or `same-site`), or whose
//!   `Origin` names another host than the request's `Host` (and than every allowed host), is
//!   answered 403 `FORBIDDEN`. Clients that are not browsers (the CLI, curl, CI jobs) send
//!   neither header and are not affected. [`check_origin`] is the same test as a plain
//!   function, for routes with their own middleware (the dashboard's form posts).
//! - [`json_bodies`]: a route whose OpenAPI declaration takes a JSON body refuses any other
//!   `Content-Type` (or a body without one) with 415 `INVALID_INPUT`; `application/json` with
//!   parameters (`; charset=utf-8`) is accepted. It reads the route table, so it applies to the
//!   JSON API only, not to pages that post forms.
//! - [`security_headers`]: every answer carries `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY` and a `Content-Security-Policy`:
//!   `default-src 'none'; frame-ancestors 'none'` on JSON and empty answers, `frame-ancestors
//!   'none'` on pages (which may set a stricter one of their own; a header already set by the
//!   handler is kept).
//!
//! Refusals have the body of every other error (`detail`, `code`, `message`) and are logged
//! with the path and the offending value, never with credentials.

use axum::body::HttpBody;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use versioner_core::Error;

use crate::AppState;
use crate::http::{ApiError, unreadable};
use crate::routes;

/// Why [`check_origin`] refused a request: the 403 to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossOrigin {
    /// What the browser said: the `Origin` or `Sec-Fetch-Site` value.
    pub given: String,
}

impl CrossOrigin {
    /// The answer: 403 `FORBIDDEN` naming the origin.
    pub fn into_error(self) -> Error {
        Error::Forbidden {
            message: format!(
                "cross-origin request refused: `{}` may not change anything on this server; \
                 send it from the server's own origin, or without a browser",
                self.given
            ),
        }
    }
}

/// Whether a method changes state (everything but `GET`, `HEAD` and `OPTIONS`).
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The `host[:port]` of an `Origin` value (`https://h:1` → `h:1`), lower case; `None` for
/// `null` or anything that is not `scheme://authority`.
fn origin_authority(origin: &str) -> Option<String> {
    let (_, rest) = origin.trim().split_once("://")?;
    let authority = rest.split('/').next()?.to_ascii_lowercase();
    (!authority.is_empty()).then_some(authority)
}

/// The host name of a `host[:port]` authority, without the port (IPv6 brackets kept).
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Whether `authority` (`host[:port]`, lower case) is one of `allowed`: an entry with a port
/// must match exactly, one without matches any port.
fn on_list(authority: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        if a.contains(':') && !a.ends_with(']') {
            a == authority
        } else {
            a == host_name(authority)
        }
    })
}

/// The `host[:port]` a request was sent to, lower case: its `Host` header (HTTP/1.1), else its
/// URI's authority (HTTP/2's `:authority`).
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .or_else(|| uri.authority().map(|a| a.as_str().to_ascii_lowercase()))
}

/// Whether a browser sent this request from another site: `Sec-Fetch-Site` is `cross-site` or
/// `same-site`, or `Origin` is present and names neither the host the request was sent to
/// (`Host`, or the URI's authority) nor an allowed host. A request without either header (not
/// from a browser, or from an old one on a simple `GET`) passes. Call it for state-changing
/// methods ([`is_state_changing`]); a form-posting page calls it from its own handler or
/// middleware, next to its CSRF token check.
///
/// # Errors
/// [`CrossOrigin`] naming the refused value.
pub fn check_origin(
    headers: &HeaderMap,
    uri: &Uri,
    allowed_hosts: &[String],
) -> Result<(), CrossOrigin> {
    if let Some(site) = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        && matches!(site.as_str(), "cross-site" | "same-site")
    {
        return Err(CrossOrigin {
            given: format!("Sec-Fetch-Site: {site}"),
        });
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin_text = String::from_utf8_lossy(origin.as_bytes()).into_owned();
    let same = origin_authority(&origin_text).is_some_and(|authority| {
        request_host(headers, uri).as_deref() == Some(authority.as_str())
            || on_list(&authority, allowed_hosts)
    });
    if same {
        Ok(())
    } else {
        Err(CrossOrigin { given: origin_text })
    }
}

/// The Host allow-list (see the module documentation). Apply it to every route.
pub async fn hosts(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let allowed = state.allowed_hosts();
    if allowed.is_empty() {
        return next.run(req).await;
    }
    match request_host(req.headers(), req.uri()) {
        Some(h) if on_list(&h, allowed) => next.run(req).await,
        other => {
            let given = other.unwrap_or_default();
            tracing::info!(host = %given, path = %req.uri().path(), "refused: host not allowed");
            let mut resp = ApiError(
                Error::invalid(
                    "Host",
                    format!(
                        "`{given}` is not a name this server answers to; allowed: {} \
                         (versioner serve --allowed-host)",
                        allowed.join(", ")
                    ),
                ),
                versioner_core::wire::Place::Header,
            )
            .into_response();
            *resp.status_mut() = StatusCode::MISDIRECTED_REQUEST;
            resp
        }
    }
}

/// Refuses cross-origin state-changing requests (see the module documentation).
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_state_changing(req.method())
        && let Err(refused) = check_origin(req.headers(), req.uri(), state.allowed_hosts())
    {
        tracing::info!(given = %refused.given, path = %req.uri().path(), "refused: cross-origin write");
        return ApiError::from(refused.into_error()).into_response();
    }
    next.run(req).await
}

/// Whether a `Content-Type` value is JSON: `application/json`, any case, with or without
/// parameters.
pub fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether a request may carry a body: one not known to be empty (a `Content-Length` above 0,
/// or chunked).
fn has_body(req: &Request) -> bool {
    req.body().size_hint().upper() != Some(0)
}

/// Refuses a body that is not JSON on a route that takes JSON (see the module
/// documentation). Apply it to the JSON API's routes, inside the authentication.
pub async fn json_bodies(req: Request, next: Next) -> Response {
    let takes_json = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| routes::takes_json(req.method().as_str(), p.as_str()));
    if !takes_json {
        return next.run(req).await;
    }
    let content_type = req.headers().get(header::CONTENT_TYPE);
    let refused = match content_type {
        Some(ct) => !ct.to_str().is_ok_and(is_json),
        None => has_body(&req),
    };
    if refused {
        let given = content_type.map_or_else(
            || "none".to_string(),
            |ct| String::from_utf8_lossy(ct.as_bytes()).into_owned(),
        );
        tracing::info!(content_type = %given, path = %req.uri().path(), "refused: not JSON");
        return unreadable(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Unsupported Content-Type `{given}`: this route takes a JSON body; send it with \
                 `Content-Type: application/json`"
            ),
        );
    }
    next.run(req).await
}

const JSON_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
const PAGE_POLICY: &str = "frame-ancestors 'none'";

/// Adds the security headers to every answer (see the module documentation).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let is_page = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| !is_json(ct));
    let headers = resp.headers_mut();
    let defaults: [(HeaderName, &'static str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            if is_page { PAGE_POLICY } else { JSON_POLICY },
        ),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }

    #[test]
    fn same_origin_passes_and_cross_origin_is_refused() {
        let none: &[String] = &[];
        let root = Uri::from_static("/");
        assert!(check_origin(&headers(&[]), &Uri::from_static("/"), none).is_ok());
        assert!(check_origin(&headers(&[("host", "127.0.0.1:8000")]), &root, none).is_ok());
        let same = headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000"),
        ]);
        assert!(check_origin(&same, &root, none).is_ok());
        let other_port = headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:9999"),
        ]);
        assert_eq!(
            check_origin(&other_port, &root, none).unwrap_err().given,
            "http://127.0.0.1:9999"
        );
        let null = headers(&[("host", "h"), ("origin", "null")]);
        assert!(check_origin(&null, &root, none).is_err());
        let site = headers(&[("host", "h"), ("sec-fetch-site", "cross-site")]);
        assert!(check_origin(&site, &root, none).is_err());
        let same_site = headers(&[("sec-fetch-site", "same-origin")]);
        assert!(check_origin(&same_site, &root, none).is_ok());
        // Behind a proxy the Host is the proxy's: the public name is allowed explicitly.
        // HTTP/2: no Host header, the authority is in the URI.
        let h2 = headers(&[("origin", "https://v.example:8443")]);
        let uri = Uri::from_static("https://v.example:8443/deployment-events/");
        assert!(check_origin(&h2, &uri, none).is_ok());
        assert!(check_origin(&h2, &root, none).is_err());
        let proxied = headers(&[("host", "127.0.0.1:8000"), ("origin", "https://v.example")]);
        assert!(check_origin(&proxied, &root, &["v.example".to_string()]).is_ok());
    }

    #[test]
    fn allow_list_entries_match_with_or_without_port() {
        let list = vec!["v.example".to_string(), "127.0.0.1:8000".to_string()];
        assert!(on_list("v.example", &list));
        assert!(on_list("v.example:443", &list));
        assert!(on_list("127.0.0.1:8000", &list));
        assert!(!on_list("127.0.0.1:8001", &list));
        assert!(!on_list("evil.example", &list));
        assert!(on_list("[::1]:80", &["[::1]".to_string()]));
    }
}
