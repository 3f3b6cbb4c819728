//! The remote [`Tracker`]: a blocking HTTP client for `versioner serve` (feature `client`).
//!
//! [`Client`] speaks the Versioner Events API (`POST /build-events/`,
//! `POST /deployment-events/`) and the query, rule and approval routes of `versioner serve`,
//! with the JSON shapes of [`wire`]. It returns the same records and the same
//! errors as the in-process [`Versioner`](crate::Versioner): errors are rebuilt with
//! [`wire::error_from_response`], so a refused deployment is
//! [`Error::Blocked`] carrying the whole verdict and every other failure has the code it has in
//! process.
//!
//! # Retries
//! A request is tried up to [`ClientOptions::max_attempts`] times (4 by default) when the
//! server cannot be reached, times out, or answers 5xx or 429. The wait between attempts
//! doubles from [`ClientOptions::backoff`] (1 s, 2 s, 4 s by default); a 429 or 503 with a
//! `Retry-After` header waits what the server asks instead (capped by
//! [`ClientOptions::max_wait`]). Any other 4xx is final at once.
//!
//! # Idempotency
//! Every write (`POST`, `PUT`, `DELETE`) carries an `Idempotency-Key` header, generated once
//! per call and reused on each retry, so a server that records the first attempt but fails to
//! answer records the event once: `versioner serve` replays the stored answer to the retry.
//!
//! # Transport
//! `http://` and `https://`. HTTPS uses rustls and trusts the system's certificate
//! authorities; `SSL_CERT_FILE` (a PEM bundle) or `SSL_CERT_DIR` replace them, and
//! [`ClientOptions::ca_cert`] adds a PEM file of authorities to them (a private CA, a test
//! CA). A certificate the client cannot trust is a `NETWORK` error naming the problem
//! (`invalid peer certificate: UnknownIssuer`), not retried.
//!
//! ```no_run
//! use versioner_core::client::Client;
//! use versioner_core::{DeploymentEvent, Tracker};
//!
//! let client = Client::new("http://127.0.0.1:8000", Some("sk_…"))?;
//! let d = client.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "started"))?;
//! println!("deployment {}", d.id);
//! # Ok::<(), versioner_core::Error>(())
//! ```

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::blocking::Client as Http;
use reqwest::{Method, Url, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::approval::{Approval, ApprovalRequest};
use crate::error::{Error, Result};
use crate::event::{BuildEvent, CheckRequest, DeploymentEvent};
use crate::input::PolicyInput;
use crate::model::{
    Build, CatalogChange, Deployment, Environment, EnvironmentType, Page, Product, Version,
};
use crate::policy::lint::LintReport;
use crate::policy::{ApplyMode, PolicyFormat, Rule, RuleStatus, Verdict};
use crate::queue::{QueueEntry, WaitStatus};
use crate::request::{
    DeploymentRequest, Progress, RequestActionRequest, RequestChange, RequestDraft, RequestQuery,
    RequestTemplate,
};
use crate::service::ApplyReport;
use crate::state::{Drift, StateMatrix};
use crate::store::{HistoryQuery, RuleStatusChange, StoredRule};
use crate::tracker::Tracker;
use crate::wire;
use crate::wire::endpoints as E;

/// The header carrying the idempotency key of a write.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// How a [`Client`] times out and retries.
///
/// Every surface reads them from one JSON object ([`ClientOptions::from_json`]):
/// `{"timeout_ms": 30000, "max_attempts": 4, "backoff_ms": 1000, "max_wait_ms": 60000,
/// "user_agent": "…", "ca_cert": "/path/ca.pem"}`; a missing key keeps its default, an
/// unknown key is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The timeout of one attempt (connect, send and read). Default 30 s. JSON: `timeout_ms`,
    /// whole milliseconds from 1.
    #[serde(
        rename = "timeout_ms",
        deserialize_with = "crate::input::positive_millis"
    )]
    pub timeout: Duration,
    /// Attempts per call, the first included. Default 4. JSON: `max_attempts`, from 1.
    pub max_attempts: NonZeroU32,
    /// The wait before the second attempt; it doubles for each further one. Default 1 s.
    /// JSON: `backoff_ms`, whole milliseconds.
    #[serde(rename = "backoff_ms", deserialize_with = "crate::input::millis")]
    pub backoff: Duration,
    /// The longest single wait, for backoff and for a server's `Retry-After`. Default 60 s.
    /// JSON: `max_wait_ms`, whole milliseconds.
    #[serde(rename = "max_wait_ms", deserialize_with = "crate::input::millis")]
    pub max_wait: Duration,
    /// The `User-Agent` header. Default `versioner/<version>`. JSON: `user_agent`.
    pub user_agent: String,
    /// A PEM file of certificate authorities trusted for `https://` on top of the system's
    /// (or of `SSL_CERT_FILE`'s). Default none. JSON: `ca_cert`, a path.
    pub ca_cert: Option<std::path::PathBuf>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(30),
            max_attempts: NonZeroU32::MIN.saturating_add(3),
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
            user_agent: format!("versioner/{}", crate::VERSION),
            ca_cert: None,
        }
    }
}

impl ClientOptions {
    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> ClientOptions {
        self.timeout = timeout;
        self
    }

    /// Sets the number of attempts per call (the first included).
    #[must_use]
    pub fn max_attempts(mut self, attempts: NonZeroU32) -> ClientOptions {
        self.max_attempts = attempts;
        self
    }

    /// Sets the first backoff wait (it doubles for each further attempt).
    #[must_use]
    pub fn backoff(mut self, backoff: Duration) -> ClientOptions {
        self.backoff = backoff;
        self
    }

    /// Sets the longest single wait.
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> ClientOptions {
        self.max_wait = max_wait;
        self
    }

    /// Trusts the certificate authorities of a PEM file for `https://`, besides the system's.
    #[must_use]
    pub fn ca_cert(mut self, path: impl Into<std::path::PathBuf>) -> ClientOptions {
        self.ca_cert = Some(path.into());
        self
    }

    /// Sets the `User-Agent` header.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> ClientOptions {
        self.user_agent = user_agent.into();
        self
    }
}

/// Versioner over HTTP: the remote [`Tracker`].
///
/// Cheap to clone; clones share the connection pool. The API key is sent as
/// `Authorization: Bearer <key>` and never appears in `Debug` output or logs.
#[derive(Clone)]
pub struct Client {
    http: Http,
    base: Url,
    api_key: Option<String>,
    options: ClientOptions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("options", &self.options)
            .finish()
    }
}

/// One attempt's outcome.
enum Attempt {
    /// Final: a success's body text, or an error not worth retrying.
    Done(Result<String>),
    /// Worth retrying, after the server's `Retry-After` when it gave one.
    Retry {
        error: Error,
        retry_after: Option<Duration>,
    },
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port`, optionally with a path
    /// prefix) with default options. Equals
    /// `Client::with_options(base_url, api_key, ClientOptions::default())`.
    ///
    /// # Errors
    /// `INVALID_INPUT` on `api_url` when the URL is malformed or neither `http://` nor
    /// `https://`.
    pub fn new(base_url: &str, api_key: Option<&str>) -> Result<Client> {
        Client::with_options(base_url, api_key, ClientOptions::default())
    }

    /// A client with the given options.
    ///
    /// # Errors
    /// As [`Client::new`]; `INVALID_INPUT` on `ca_cert` when the file cannot be read or holds
    /// no PEM certificate; `INTERNAL` when the HTTP stack cannot be initialised.
    pub fn with_options(
        base_url: &str,
        api_key: Option<&str>,
        options: ClientOptions,
    ) -> Result<Client> {
        let trimmed = base_url.trim();
        let base = Url::parse(trimmed).map_err(|e| {
            Error::invalid(
                "api_url",
                format!("`{trimmed}` is not a URL ({e}); expected e.g. http://127.0.0.1:8000"),
            )
        })?;
        match base.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Error::invalid(
                    "api_url",
                    format!("`{trimmed}` has the scheme `{other}`; expected http:// or https://"),
                ));
            }
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(Error::invalid(
                "api_url",
                format!("`{trimmed}` has no host; expected e.g. http://127.0.0.1:8000"),
            ));
        }
        let mut builder = Http::builder()
            .timeout(options.timeout)
            .user_agent(options.user_agent.clone());
        if let Some(path) = &options.ca_cert {
            builder = builder.tls_certs_merge(read_ca_cert(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| Error::internal(format!("cannot initialise the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            api_key: api_key
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_string),
            options,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `GET /health`: whether the server is up, and its version.
    ///
    /// # Errors
    /// `NETWORK` when the server cannot be reached.
    pub fn health(&self) -> Result<Value> {
        self.send(E::HEALTH, &[], &[], None)
    }

    /// The URL of a route: the base path, then `segments` (each percent-encoded; a final `""`
    /// gives a trailing slash), then the query.
    fn endpoint(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                Error::invalid("api_url", format!("`{}` cannot be a base URL", self.base))
            })?;
            path.pop_if_empty();
            path.extend(segments);
        }
        url.set_query(None);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Calls `endpoint` with its path parameters, query and body.
    fn send(
        &self,
        endpoint: wire::Endpoint,
        params: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let method = Method::from_bytes(endpoint.method.as_bytes())
            .map_err(|e| Error::internal(format!("bad method {}: {e}", endpoint.method)))?;
        let url = self.endpoint(&endpoint.segments(params)?, query)?;
        self.call(method, url, body, Duration::ZERO)
    }

    /// Sends a request with retries and returns the parsed JSON body (null when empty).
    ///
    /// Each attempt may take `extra` on top of the configured timeout (a request that waits on
    /// the server, `?wait=`).
    fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        extra: Duration,
    ) -> Result<Value> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))?;
        let text = self.call_raw(
            method,
            url,
            body.as_deref().map(|b| (b, "application/json")),
            extra,
        )?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| Error::Network {
            message: format!(
                "the server at {} answered with invalid JSON: {e}",
                self.base
            ),
        })
    }

    /// Sends a request whose body is `body` (bytes and their content type) with retries and
    /// returns the text of the success's body.
    fn call_raw(
        &self,
        method: Method,
        url: Url,
        body: Option<(&[u8], &str)>,
        extra: Duration,
    ) -> Result<String> {
        // One key per logical call, reused by every retry of it.
        let idempotency_key =
            (method != Method::GET).then(|| uuid::Uuid::now_v7().as_simple().to_string());
        let attempts = self.options.max_attempts.get();
        let mut last: Option<Error> = None;
        for attempt in 1..=attempts {
            let (error, retry_after) =
                match self.attempt(&method, &url, body, idempotency_key.as_deref(), extra) {
                    Attempt::Done(result) => return result,
                    Attempt::Retry { error, retry_after } => (error, retry_after),
                };
            if attempt < attempts {
                let wait = retry_after
                    .unwrap_or_else(|| self.backoff(attempt))
                    .min(self.options.max_wait);
                tracing::warn!(
                    %method, path = url.path(), attempt, attempts, wait_ms = wait.as_millis() as u64,
                    error = %error, "request failed; retrying"
                );
                std::thread::sleep(wait);
            }
            last = Some(error);
        }
        Err(match last {
            Some(Error::Network { message }) => Error::Network {
                message: format!("{message} (after {attempts} attempts)"),
            },
            Some(e) => e,
            None => Error::internal("no attempt was made"),
        })
    }

    /// The exponential backoff before attempt `attempt + 1`.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.options
            .backoff
            .saturating_mul(factor)
            .min(self.options.max_wait)
    }

    fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<(&[u8], &str)>,
        idempotency_key: Option<&str>,
        extra: Duration,
    ) -> Attempt {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(header::ACCEPT, "application/json");
        if !extra.is_zero() {
            req = req.timeout(self.options.timeout.saturating_add(extra));
        }
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        if let Some(key) = idempotency_key {
            req = req.header(IDEMPOTENCY_KEY, key);
        }
        if let Some((b, content_type)) = body {
            req = req
                .header(header::CONTENT_TYPE, content_type)
                .body(b.to_vec());
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) if is_certificate_error(&e) => {
                return Attempt::Done(Err(network_error(&self.base, &e)));
            }
            Err(e) => {
                return Attempt::Retry {
                    error: network_error(&self.base, &e),
                    retry_after: None,
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let text = match resp.text() {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry {
                    error: network_error(&self.base, &e),
                    retry_after: None,
                };
            }
        };
        if (200..300).contains(&status) {
            return Attempt::Done(Ok(text));
        }
        let body =
            serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!({ "detail": text }));
        let error = wire::error_from_response(status, &body);
        if status == 429 || status >= 500 {
            Attempt::Retry { error, retry_after }
        } else {
            Attempt::Done(Err(error))
        }
    }
}

/// The certificates of a PEM file of certificate authorities.
fn read_ca_cert(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::invalid("ca_cert", format!("cannot read `{}`: {e}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        Error::invalid(
            "ca_cert",
            format!("`{}` is not a PEM certificate file: {e}", path.display()),
        )
    })?;
    if certs.is_empty() {
        return Err(Error::invalid(
            "ca_cert",
            format!(
                "`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// Whether a transport error is the server's certificate being refused (retrying cannot help).
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        // An I/O error's `source` skips the error it wraps: look inside it too.
        let wrapped = s
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        // The TLS error may reach us boxed in a connector's own type; its text still names
        // the certificate (rustls: `invalid peer certificate: …`).
        if s.downcast_ref::<rustls::Error>().is_some()
            || wrapped.is_some_and(|w| w.downcast_ref::<rustls::Error>().is_some())
            || s.to_string().contains("invalid peer certificate")
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn network_error(base: &Url, e: &reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // `reqwest::Error` names the URL (never the key); walk the sources for the cause.
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    let mut cause = if cause.is_empty() {
        e.to_string()
    } else {
        cause
    };
    if is_certificate_error(e) {
        cause.push_str(
            "; the server's certificate is not trusted: add its certificate authority with the \
             `ca_cert` option (versioner --ca-cert FILE) or SSL_CERT_FILE",
        );
    }
    Error::Network {
        message: format!("{what}: Versioner server at {base}: {cause}"),
    }
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date (RFC 2822 form).
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse<T: DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Network {
        message: format!("the server's answer does not have the expected shape: {e}"),
    })
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A recorded deployment from its wire form ([`wire::deployment`]): the `preflight_status`
/// that the wire form adds to `extra_metadata` is removed again (it is `preflight`).
fn deployment_from_wire(v: Value) -> Result<Deployment> {
    parse::<wire::DeploymentBody>(v).map(wire::DeploymentBody::into_deployment)
}

fn build_from_wire(v: Value) -> Result<Build> {
    parse::<wire::BuildBody>(v).map(wire::BuildBody::into_build)
}

fn verdict_from_wire(v: Value) -> Result<Verdict> {
    let mut verdict: Verdict = parse(v)?;
    verdict.refresh_derived();
    Ok(verdict)
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

impl Tracker for Client {
    fn create_request(&self, draft: &RequestDraft) -> Result<DeploymentRequest> {
        parse(self.send(E::CREATE_REQUEST, &[], &[], Some(&encode(draft)?))?)
    }

    fn update_request(&self, id: &str, change: &RequestChange) -> Result<DeploymentRequest> {
        parse(self.send(E::UPDATE_REQUEST, &[id], &[], Some(&encode(change)?))?)
    }

    fn act_on_request(&self, id: &str, action: &RequestActionRequest) -> Result<DeploymentRequest> {
        let body = encode(&wire::RequestActionBody::of(action))?;
        parse(self.send(E::request_action(&action.action), &[id], &[], Some(&body))?)
    }

    fn request(&self, id: &str) -> Result<DeploymentRequest> {
        parse(self.send(E::REQUEST, &[id], &[], None)?)
    }

    fn requests(&self, query: &RequestQuery) -> Result<Vec<DeploymentRequest>> {
        let q = wire::request_query_pairs(query);
        parse(self.send(E::REQUESTS, &[], &q, None)?)
    }

    fn request_progress(&self, id: &str) -> Result<Progress> {
        parse(self.send(E::REQUEST_PROGRESS, &[id], &[], None)?)
    }

    fn request_templates(&self) -> Result<Vec<RequestTemplate>> {
        parse(self.send(E::REQUEST_TEMPLATES, &[], &[], None)?)
    }

    fn put_request_templates(&self, templates: &[RequestTemplate]) -> Result<Vec<RequestTemplate>> {
        let body = encode(&wire::TemplatesBody::new(templates.to_vec()))?;
        parse(self.send(E::PUT_REQUEST_TEMPLATES, &[], &[], Some(&body))?)
    }

    fn delete_request_template(&self, name: &str) -> Result<()> {
        self.send(E::DELETE_REQUEST_TEMPLATE, &[name], &[], None)?;
        Ok(())
    }

    fn acting_as(&self, _actor: crate::access::Actor) -> Result<std::sync::Arc<dyn Tracker>> {
        Err(Error::invalid(
            "actor",
            "a remote tracker acts as its API key's principal; use a key of the principal \
             that should act (`versioner keys create --principal …`)",
        ))
    }

    fn has_actor(&self) -> bool {
        true
    }

    fn track_build(&self, event: &BuildEvent) -> Result<Build> {
        build_from_wire(self.send(E::TRACK_BUILD, &[], &[], Some(&encode(event)?))?)
    }

    fn track_deployment(&self, event: &DeploymentEvent) -> Result<Deployment> {
        deployment_from_wire(self.send(E::TRACK_DEPLOYMENT, &[], &[], Some(&encode(event)?))?)
    }

    fn track_deployment_waiting(
        &self,
        event: &DeploymentEvent,
        wait: Duration,
        _progress: &mut dyn FnMut(&WaitStatus),
    ) -> Result<Deployment> {
        crate::queue::check_wait(wait, "wait")?;
        let query = [("wait", wait.as_millis().div_ceil(1000).to_string())];
        let url = self.endpoint(&E::TRACK_DEPLOYMENT.segments(&[])?, &query)?;
        deployment_from_wire(self.call(Method::POST, url, Some(&encode(event)?), wait)?)
    }

    fn queue(&self, environment: Option<&str>) -> Result<Vec<QueueEntry>> {
        let query: Vec<(&str, String)> = environment
            .map(|e| ("environment", e.to_string()))
            .into_iter()
            .collect();
        parse(self.send(E::QUEUE, &[], &query, None)?)
    }

    fn check(&self, request: &CheckRequest) -> Result<Verdict> {
        verdict_from_wire(self.send(E::CHECK, &[], &[], Some(&encode(request)?))?)
    }

    fn rules(&self) -> Result<Vec<StoredRule>> {
        parse(self.send(E::RULES, &[], &[], None)?)
    }

    fn rule(&self, name: &str) -> Result<StoredRule> {
        parse(self.send(E::RULE, &[name], &[], None)?)
    }

    fn add_rule(&self, rule: &Rule) -> Result<StoredRule> {
        parse(self.send(E::ADD_RULE, &[], &[], Some(&rule.to_json()))?)
    }

    fn update_rule(&self, name: &str, rule: &Rule) -> Result<StoredRule> {
        parse(self.send(E::UPDATE_RULE, &[name], &[], Some(&rule.to_json()))?)
    }

    fn delete_rule(&self, name: &str) -> Result<()> {
        self.send(E::DELETE_RULE, &[name], &[], None).map(drop)
    }

    fn rule_history(&self, name: Option<&str>) -> Result<Vec<RuleStatusChange>> {
        let q: Vec<(&str, String)> = name.map(|n| ("rule", n.to_string())).into_iter().collect();
        parse(self.send(E::RULE_HISTORY, &[], &q, None)?)
    }

    fn apply_policy_text(
        &self,
        text: &str,
        format: PolicyFormat,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let body = encode(&wire::ApplyPolicyRequest::new(
            Value::String(text.to_string()),
            Some(format),
            mode,
            actor,
        ))?;
        parse(self.send(E::APPLY_POLICY, &[], &[], Some(&body))?)
    }

    fn lint_policy_input(&self, policy: Option<&PolicyInput>) -> Result<LintReport> {
        let body = match policy {
            Some(p) => {
                let (text, format) = p.document()?;
                wire::LintPolicyRequest::new(Some(Value::String(text.into_owned())), Some(format))
            }
            None => wire::LintPolicyRequest::new(None, None),
        };
        parse(self.send(E::LINT_POLICY, &[], &[], Some(&encode(&body)?))?)
    }

    fn set_rule_status(
        &self,
        name: &str,
        status: RuleStatus,
        actor: &str,
        reason: &str,
    ) -> Result<StoredRule> {
        let body = encode(&wire::RuleStatusRequest::new(status, reason, actor))?;
        parse(self.send(E::SET_RULE_STATUS, &[name], &[], Some(&body))?)
    }

    fn approve(&self, request: &ApprovalRequest) -> Result<Approval> {
        parse(self.send(E::APPROVE, &[], &[], Some(&encode(request)?))?)
    }

    fn revoke_approval(&self, id: &str, actor: &str, reason: &str) -> Result<Approval> {
        let body = encode(&wire::RevocationRequest::new(reason, actor))?;
        parse(self.send(E::REVOKE_APPROVAL, &[id], &[], Some(&body))?)
    }

    fn approvals(&self, product: &str, version: &str) -> Result<Vec<Approval>> {
        let q = [
            ("product", product.to_string()),
            ("version", version.to_string()),
        ];
        parse(self.send(E::APPROVALS, &[], &q, None)?)
    }

    fn products(&self) -> Result<Vec<Product>> {
        parse(self.send(E::PRODUCTS, &[], &[], None)?)
    }

    fn environments(&self) -> Result<Vec<Environment>> {
        parse(self.send(E::ENVIRONMENTS, &[], &[], None)?)
    }

    fn product(&self, name_or_id: &str) -> Result<Product> {
        parse(self.send(E::PRODUCT, &[name_or_id], &[], None)?)
    }

    fn environment(&self, name_or_id: &str) -> Result<Environment> {
        parse(self.send(E::ENVIRONMENT, &[name_or_id], &[], None)?)
    }

    fn update_product(&self, name_or_id: &str, change: &CatalogChange) -> Result<Product> {
        let body = encode(change)?;
        parse(self.send(E::UPDATE_PRODUCT, &[name_or_id], &[], Some(&body))?)
    }

    fn update_environment(&self, name_or_id: &str, change: &CatalogChange) -> Result<Environment> {
        let body = encode(change)?;
        parse(self.send(E::UPDATE_ENVIRONMENT, &[name_or_id], &[], Some(&body))?)
    }

    fn set_environment_type(
        &self,
        name: &str,
        env_type: Option<EnvironmentType>,
    ) -> Result<Environment> {
        let body = encode(&wire::EnvironmentTypeRequest::new(env_type))?;
        parse(self.send(E::SET_ENVIRONMENT_TYPE, &[name], &[], Some(&body))?)
    }

    fn versions(&self, product: &str, page: Page) -> Result<Vec<Version>> {
        let q = [
            ("product", product.to_string()),
            ("limit", page.limit.to_string()),
            ("offset", page.offset.to_string()),
        ];
        parse(self.send(E::VERSIONS, &[], &q, None)?)
    }

    fn version(&self, product: &str, version: &str) -> Result<Version> {
        parse(self.send(E::VERSION, &[product, version], &[], None)?)
    }

    fn version_by_id(&self, id: &str) -> Result<Version> {
        parse(self.send(E::VERSION_BY_ID, &[id], &[], None)?)
    }

    fn versions_by_sha(&self, sha: &str) -> Result<Vec<Version>> {
        parse(self.send(E::VERSIONS, &[], &[("scm_sha", sha.to_string())], None)?)
    }

    fn deployment(&self, id: &str) -> Result<Deployment> {
        deployment_from_wire(self.send(E::DEPLOYMENT, &[id], &[], None)?)
    }

    fn history(&self, query: &HistoryQuery) -> Result<Vec<Deployment>> {
        let q = wire::history_query_pairs(query);
        let items: Vec<Value> = parse(self.send(E::HISTORY, &[], &q, None)?)?;
        items.into_iter().map(deployment_from_wire).collect()
    }

    fn state(&self, at: Option<DateTime<Utc>>) -> Result<StateMatrix> {
        let q: Vec<(&str, String)> = at.map(|t| ("at", time(t))).into_iter().collect();
        parse(self.send(E::STATE, &[], &q, None)?)
    }

    fn drift(
        &self,
        at: Option<DateTime<Utc>>,
        environments: Option<&[String]>,
    ) -> Result<Vec<Drift>> {
        let mut q: Vec<(&str, String)> = at.map(|t| ("at", time(t))).into_iter().collect();
        for e in environments.unwrap_or_default() {
            q.push(("environment", e.clone()));
        }
        parse(self.send(E::DRIFT, &[], &q, None)?)
    }

    fn import_events(
        &self,
        text: &str,
        mode: crate::import::ImportMode,
    ) -> Result<crate::import::ImportReport> {
        let query = match mode {
            crate::import::ImportMode::Apply => vec![],
            crate::import::ImportMode::DryRun => vec![("dry_run", "true".to_string())],
        };
        let url = self.endpoint(&E::IMPORT.segments(&[])?, &query)?;
        let answer = self.call_raw(
            Method::POST,
            url,
            Some((text.as_bytes(), crate::import::CONTENT_TYPE)),
            Duration::ZERO,
        )?;
        serde_json::from_str(&answer).map_err(|e| Error::Network {
            message: format!(
                "the server at {} answered with an unexpected import report: {e}",
                self.base
            ),
        })
    }

    fn export_events(&self, out: &mut dyn std::io::Write) -> Result<crate::import::ExportReport> {
        let url = self.endpoint(&E::EXPORT.segments(&[])?, &[])?;
        let text = self.call_raw(Method::GET, url, None, Duration::ZERO)?;
        // The lines are the server's; the counts are read back from them.
        let mut report = crate::import::ExportReport::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if line.contains(r#""kind":"build""#) {
                report.builds += 1;
            } else {
                report.deployments += 1;
            }
        }
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::storage("cannot write the export", e))?;
        Ok(report)
    }

    fn dora(&self, query: &crate::insights::DoraQuery) -> Result<crate::insights::DoraReport> {
        let q = wire::dora_query_pairs(query);
        parse(self.send(E::DORA, &[], &q, None)?)
    }

    fn skew(&self, query: &crate::skew::SkewQuery) -> Result<Vec<crate::skew::Skew>> {
        let q = wire::skew_query_pairs(query);
        parse(self.send(E::SKEW, &[], &q, None)?)
    }

    fn stale(&self, query: &crate::skew::StaleQuery) -> Result<Vec<crate::skew::StaleVersion>> {
        let q = wire::stale_query_pairs(query);
        parse(self.send(E::STALE, &[], &q, None)?)
    }

    fn violations(&self, query: &crate::ViolationQuery) -> Result<Vec<crate::DecisionRecord>> {
        let q = wire::violation_query_pairs(query);
        let mut list: Vec<crate::DecisionRecord> =
            parse(self.send(E::VIOLATIONS, &[], &q, None)?)?;
        for d in &mut list {
            d.verdict.refresh_derived();
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    //! The client against a scripted loopback HTTP server (no async runtime needed).

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{ErrorCode, Versioner};

    /// One request as the fake server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// Scripted answers: `(status, extra headers, body)`.
    type Script = Vec<(u16, Vec<(&'static str, String)>, String)>;

    /// Serves the scripted `(status, extra headers, body)` answers in order, one per
    /// connection, and records the requests.
    fn fake_server(script: Script) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for (status, headers, body) in script {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut hs = Vec::new();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap();
                        }
                        hs.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let mut b = vec![0; len];
                reader.read_exact(&mut b).unwrap();
                log.lock().unwrap().push(Seen {
                    method,
                    path,
                    headers: hs,
                    body: String::from_utf8(b).unwrap(),
                });
                let mut stream = stream;
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    resp.push_str(&format!("{k}: {v}\r\n"));
                }
                resp.push_str("\r\n");
                resp.push_str(&body);
                stream.write_all(resp.as_bytes()).unwrap();
            }
        });
        (url, seen)
    }

    fn fast() -> ClientOptions {
        ClientOptions::default()
            .backoff(Duration::from_millis(5))
            .timeout(Duration::from_secs(5))
    }

    fn recorded_deployment() -> (Deployment, Value) {
        let vr = Versioner::open_in_memory().unwrap();
        vr.apply_policy_text(
            "[[rules]]\nname='QA'\ntype='version_approval'\nstatus='report_only'\napproval_types=['qa']\n",
            PolicyFormat::Toml,
            ApplyMode::Replace,
            "t",
        )
        .unwrap();
        let mut ev = DeploymentEvent::new("api", "1.0.0", "prod", "started");
        ev.extra_metadata = Some(json!({"team": "core"}));
        ev.deployed_by = Some("dana".into());
        let d = vr.track_deployment(&ev).unwrap();
        let body = wire::deployment(&d);
        (d, body)
    }

    #[test]
    fn retries_5xx_with_one_idempotency_key_then_parses_the_record() {
        let (d, body) = recorded_deployment();
        let (url, seen) = fake_server(vec![
            (
                503,
                vec![],
                r#"{"detail":"Service temporarily unavailable","code":"STORAGE"}"#.into(),
            ),
            (502, vec![], "bad gateway".into()),
            (200, vec![], body.to_string()),
        ]);
        let client = Client::with_options(&url, Some("sk_test"), fast()).unwrap();
        let got = client
            .track_deployment(&DeploymentEvent::new("api", "1.0.0", "prod", "started"))
            .unwrap();
        assert_eq!(got.id, d.id);
        assert_eq!(got.status, d.status);
        assert_eq!(got.extra_metadata.get("team"), Some(&json!("core")));
        assert!(!got.extra_metadata.contains_key("preflight_status"));
        let p = got.preflight.unwrap();
        assert_eq!(p.warnings().count(), 1);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let keys: Vec<_> = seen
            .iter()
            .map(|s| s.header(IDEMPOTENCY_KEY).unwrap().to_string())
            .collect();
        assert!(keys.iter().all(|k| *k == keys[0] && !k.is_empty()));
        assert!(
            seen.iter()
                .all(|s| s.header("authorization") == Some("Bearer sk_test"))
        );
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].path, "/deployment-events/");
        assert!(seen[0].body.contains("\"product_name\":\"api\""));
    }

    #[test]
    fn a_new_call_gets_a_new_idempotency_key() {
        let ok = r#"{"id":"b1","version_id":"v","product_id":"p","product_name":"api","version":"1","status":"completed","started_at":null,"completed_at":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","extra_metadata":{}}"#;
        let (url, seen) = fake_server(vec![(200, vec![], ok.into()), (200, vec![], ok.into())]);
        let client = Client::with_options(&url, None, fast()).unwrap();
        let ev = BuildEvent::new("api", "1", "completed");
        client.track_build(&ev).unwrap();
        client.track_build(&ev).unwrap();
        let seen = seen.lock().unwrap();
        assert_ne!(
            seen[0].header(IDEMPOTENCY_KEY),
            seen[1].header(IDEMPOTENCY_KEY)
        );
        assert_eq!(seen[0].header("authorization"), None);
        assert_eq!(seen[0].path, "/build-events/");
    }

    #[test]
    fn honours_retry_after_on_429() {
        let (d, body) = recorded_deployment();
        let (url, seen) = fake_server(vec![
            (
                429,
                vec![("retry-after", "1".to_string())],
                r#"{"detail":"Rate limit exceeded"}"#.into(),
            ),
            (200, vec![], body.to_string()),
        ]);
        let client = Client::with_options(&url, Some("k"), fast()).unwrap();
        let started = std::time::Instant::now();
        let got = client
            .track_deployment(&DeploymentEvent::new("api", "1.0.0", "prod", "started"))
            .unwrap();
        assert_eq!(got.id, d.id);
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_4xx_is_final_and_keeps_its_code() {
        let (url, seen) = fake_server(vec![(
            422,
            vec![],
            r#"{"detail":[{"loc":["body","product_name"],"msg":"is required and must not be blank","type":"value_error"}],"code":"INVALID_INPUT"}"#.into(),
        )]);
        let client = Client::with_options(&url, Some("k"), fast()).unwrap();
        let err = client
            .track_build(&BuildEvent::new("", "1", "completed"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert_eq!(err.field(), Some("product_name"));
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_rejection_carries_the_whole_verdict() {
        let vr = Versioner::open_in_memory().unwrap();
        vr.apply_policy_text(
            "[[rules]]\nname='Staging first'\ntype='flow'\nenvironments=['prod']\nprerequisites=['staging']\n",
            PolicyFormat::Toml,
            ApplyMode::Replace,
            "t",
        )
        .unwrap();
        let err = vr
            .track_deployment(&DeploymentEvent::new("api", "1", "prod", "started"))
            .unwrap_err();
        let (status, body) = wire::error_response(&err);
        let (url, _) = fake_server(vec![(status, vec![], body.to_string())]);
        let client = Client::with_options(&url, Some("k"), fast()).unwrap();
        let remote = client
            .track_deployment(&DeploymentEvent::new("api", "1", "prod", "started"))
            .unwrap_err();
        assert_eq!(remote.code(), ErrorCode::FlowViolation);
        assert_eq!(remote.verdict(), err.verdict());
        assert_eq!(remote.code().exit_code(), 5);
    }

    #[test]
    fn an_unreachable_server_is_a_network_error_after_every_attempt() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = Client::with_options(
            &format!("http://127.0.0.1:{port}"),
            Some("sk_secret_value"),
            fast().max_attempts(NonZeroU32::new(3).unwrap()),
        )
        .unwrap();
        let err = client.products().unwrap_err();
        assert_eq!(err.code(), ErrorCode::Network);
        let msg = err.to_string();
        assert!(msg.contains("after 3 attempts"), "{msg}");
        assert!(!msg.contains("sk_secret_value"), "{msg}");
        assert!(!format!("{client:?}").contains("sk_secret_value"));
    }

    #[test]
    fn urls_are_built_under_the_base_path() {
        let c = Client::new("http://example.test:8000/versioner/", Some("k")).unwrap();
        let u = c
            .endpoint(&["rules", "Staging first", "status"], &[])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://example.test:8000/versioner/rules/Staging%20first/status"
        );
        let u = c
            .endpoint(&["deployments", ""], &[("product", "a b".into())])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://example.test:8000/versioner/deployments/?product=a+b"
        );
        for bad in ["ftp://x", "not a url", "mailto:ops@example.test"] {
            let e = Client::new(bad, None).unwrap_err();
            assert_eq!(e.field(), Some("api_url"), "{bad}");
        }
        assert!(Client::new("https://api.versioner.io", None).is_ok());
    }

    #[test]
    fn a_ca_cert_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = Client::with_options(
            "https://127.0.0.1:1",
            None,
            ClientOptions::default().ca_cert(&missing),
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            (ErrorCode::InvalidInput, Some("ca_cert"))
        );
        assert!(e.to_string().contains("cannot read"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = Client::with_options(
            "https://127.0.0.1:1",
            None,
            ClientOptions::default().ca_cert(&empty),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("ca_cert"));
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        let options: ClientOptions =
            serde_json::from_value(json!({"ca_cert": "/etc/ssl/ca.pem"})).unwrap();
        assert_eq!(
            options.ca_cert.as_deref(),
            Some(std::path::Path::new("/etc/ssl/ca.pem"))
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 09:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn stored_rules_round_trip_through_their_json() {
        let vr = Versioner::open_in_memory().unwrap();
        vr.apply_policy_text(
            "[[rules]]\nname='One'\ntype='concurrency'\nmax=1\n",
            PolicyFormat::Toml,
            ApplyMode::Replace,
            "t",
        )
        .unwrap();
        let stored = vr.rules().unwrap().remove(0);
        let back: StoredRule = parse(serde_json::to_value(&stored).unwrap()).unwrap();
        assert_eq!(back, stored);
    }
}
