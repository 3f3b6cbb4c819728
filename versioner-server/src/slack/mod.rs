//! The Slack app: `POST /integrations/slack/commands` answers the `/versioner` slash command
//! with Block Kit replies.
//!
//! - **Authentication** is Slack's request signature ([`signature`]), not an API key: the
//!   route is a group of its own beside the JSON API (like the dashboard), under the shared
//!   layers only. A request whose signature does not verify, or whose timestamp is more than
//!   five minutes from now, is answered 401 and nothing runs.
//! - **Identity:** Slack users map to principals by the configured table
//!   ([`SlackConfig::users`]). A mapped user whose principal is registered acts as that
//!   principal, with its role, so the core checks what it may do and records it. Anyone else
//!   can only read (`status`, `history`, `check`); `approvals`, `approve` and `reject` say how
//!   to get mapped.
//! - **Replies** are ephemeral Block Kit messages ([`reply`]), always HTTP 200 once the
//!   signature verifies, because Slack shows the user nothing else: a usage mistake or a core
//!   error (an unknown product, a refused approval) is a message naming the problem.
//!
//! Configure it with `versioner serve --slack-config FILE` ([`SlackConfig::from_toml`]).

pub mod command;
pub mod reply;
pub mod signature;

use std::collections::BTreeMap;
use std::fmt;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;
use versioner_core::access::principal_key;
use versioner_core::{
    Actor, CheckRequest, Error, HistoryQuery, RequestAction, RequestActionRequest, Role, Versioner,
};

use crate::AppState;
use crate::http::ApiError;
use command::Command;

/// The route's path.
pub const PATH: &str = "/integrations/slack/commands";

/// The largest slash-command body read (Slack's are a few hundred bytes).
const BODY_LIMIT: usize = 64 * 1024;

/// How many deployments `history` lists.
const HISTORY_LIMIT: u32 = 10;

/// The Slack app's configuration: the signing secret and who is who.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlackConfig {
    /// The app's signing secret (Slack's "Basic Information" page). Never logged or shown.
    pub signing_secret: String,
    /// Slack user id (`U024BE7LH`) → principal name.
    pub users: BTreeMap<String, String>,
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("signing_secret", &"<redacted>")
            .field("users", &self.users)
            .finish()
    }
}

/// The configuration file's shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    signing_secret: Option<String>,
    signing_secret_env: Option<String>,
    #[serde(default)]
    users: BTreeMap<String, String>,
}

impl SlackConfig {
    /// A configuration from its parts.
    pub fn new(signing_secret: impl Into<String>, users: BTreeMap<String, String>) -> SlackConfig {
        SlackConfig {
            signing_secret: signing_secret.into(),
            users,
        }
    }

    /// Reads the configuration file (TOML):
    ///
    /// ```toml
    /// # The signing secret, from an environment variable (preferred) or inline.
    /// signing_secret_env = "SLACK_SIGNING_SECRET"
    /// [users]            # Slack user id = principal
    /// U024BE7LH = "dana"
    /// ```
    ///
    /// `env` looks up environment variables.
    ///
    /// # Errors
    /// A message naming the problem: not TOML, an unknown key, no secret or both forms, an
    /// unset or empty variable, a blank user id or principal.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<SlackConfig, String> {
        let file: File =
            toml::from_str(text).map_err(|e| format!("invalid Slack configuration: {e}"))?;
        let secret = match (file.signing_secret, file.signing_secret_env) {
            (Some(s), None) => s,
            (None, Some(var)) => env(&var).ok_or_else(|| {
                format!("invalid Slack configuration: the environment variable {var} (signing_secret_env) is not set")
            })?,
            (Some(_), Some(_)) => {
                return Err("invalid Slack configuration: give signing_secret or signing_secret_env, not both".into());
            }
            (None, None) => {
                return Err("invalid Slack configuration: signing_secret_env (or signing_secret) is required".into());
            }
        };
        if secret.trim().is_empty() {
            return Err("invalid Slack configuration: the signing secret is empty".into());
        }
        for (user, principal) in &file.users {
            if user.trim().is_empty() || principal.trim().is_empty() {
                return Err(format!(
                    "invalid Slack configuration: users: blank user id or principal ({user:?} = {principal:?})"
                ));
            }
        }
        Ok(SlackConfig::new(secret.trim(), file.users))
    }
}

/// The Slack app's route, a group of its own (see the module documentation): merge it beside
/// the API and the dashboard, under the shared layers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, post(commands))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Who sent a command.
struct Sender {
    /// The Slack user id.
    user_id: String,
    /// The principal it acts as, when mapped to a registered one.
    principal: Option<String>,
    /// The actor of its core calls.
    actor: Actor,
}

/// A form field.
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `POST /integrations/slack/commands`.
async fn commands(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(config) = state.options().slack.clone() else {
        let message = format!(
            "The Slack integration is not configured: start the server with --slack-config FILE \
             to answer {PATH}"
        );
        let body = serde_json::json!({
            "detail": message,
            "code": versioner_core::ErrorCode::NotFound.as_str(),
            "message": message,
        });
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let now = state.versioner().now().timestamp();
    if let Err(refused) = signature::verify(
        &config.signing_secret,
        header(signature::TIMESTAMP_HEADER),
        &body,
        header(signature::SIGNATURE_HEADER),
        now,
    ) {
        tracing::info!(reason = refused.message(), "refused: Slack request");
        return ApiError::from(Error::Unauthorized {
            message: refused.message().into(),
        })
        .into_response();
    }
    let form: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => {
            return ApiError::from(Error::invalid(
                "body",
                format!("the Slack request's body is not a form: {e}"),
            ))
            .into_response();
        }
    };
    let user_id = field(&form, "user_id").unwrap_or_default().to_string();
    let text = field(&form, "text").unwrap_or_default().to_string();
    let vr = state.versioner().clone();
    let public_url = state.options().public_url.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let sender = sender(&vr, &config, user_id)?;
        answer(&vr, &sender, &text, public_url.as_deref())
    })
    .await;
    let reply = match answer {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            if e.code() == versioner_core::ErrorCode::Storage
                || e.code() == versioner_core::ErrorCode::Internal
            {
                tracing::error!(error = %e, "Slack command failed");
            }
            reply::error(&e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "Slack command task failed");
            reply::error("Versioner could not answer: an internal error (see the server's log)")
        }
    };
    Json(reply).into_response()
}

/// Who sent the command: a mapped user whose principal is registered acts as it; anyone else
/// reads as a viewer.
fn sender(vr: &Versioner, config: &SlackConfig, user_id: String) -> versioner_core::Result<Sender> {
    let registered = match config.users.get(&user_id) {
        Some(name) => {
            let key = principal_key(name);
            vr.principals()?
                .into_iter()
                .find(|p| principal_key(&p.name) == key)
        }
        None => None,
    };
    Ok(match registered {
        Some(p) => Sender {
            actor: Actor::local(p.name.clone()).with_role(p.role),
            principal: Some(p.name),
            user_id,
        },
        None => Sender {
            actor: Actor::local(format!("slack:{user_id}")).with_role(Role::Viewer),
            principal: None,
            user_id,
        },
    })
}

/// What an unmapped user is told when a command needs an identity.
fn unmapped(sender: &Sender) -> Value {
    reply::plain(&format!(
        "Your Slack user (`{}`) is not mapped to a Versioner principal, so you can only read \
         (`status`, `history`, `check`). An admin maps it in the server's Slack configuration \
         (`[users]`), to a principal created with `versioner keys create`.",
        reply::esc(&sender.user_id)
    ))
}

/// Runs one command as `sender`.
fn answer(
    vr: &Versioner,
    sender: &Sender,
    text: &str,
    public_url: Option<&str>,
) -> versioner_core::Result<Value> {
    let command = match command::parse(text) {
        Ok(c) => c,
        Err(message) => {
            return Ok(reply::plain(&format!("{message}\n{}", command::USAGE)));
        }
    };
    let vr = vr.acting_as(sender.actor.clone());
    Ok(match command {
        Command::Help => reply::plain(command::USAGE),
        Command::Status { product } => {
            let product = product.map(|p| vr.product(&p)).transpose()?;
            let matrix = vr.state(None)?;
            reply::status(
                &matrix,
                product.as_ref().map(|p| p.name.as_str()),
                public_url,
            )
        }
        Command::History {
            product,
            environment,
        } => {
            let product = vr.product(&product)?.name;
            let environment = environment
                .map(|e| vr.environment(&e).map(|e| e.name))
                .transpose()?;
            let mut query = HistoryQuery::new().product(product.clone());
            query.environment.clone_from(&environment);
            query.limit = Some(HISTORY_LIMIT);
            let deployments = vr.history(&query)?;
            reply::history(&product, environment.as_deref(), &deployments, public_url)
        }
        Command::Check {
            product,
            version,
            environment,
        } => {
            let mut request = CheckRequest::new(product, version, environment);
            request.deployed_by = sender.principal.clone();
            reply::check(&vr.check(&request)?, public_url)
        }
        Command::Approvals => match &sender.principal {
            Some(p) => reply::approvals(p, &vr.requests_awaiting()?, public_url),
            None => unmapped(sender),
        },
        Command::Approve {
            request,
            approval_type,
            comment,
        } => match &sender.principal {
            Some(p) => {
                let mut action =
                    RequestActionRequest::new(RequestAction::Approve { approval_type }, p.clone());
                action.comment = comment;
                reply::decided(
                    &vr.act_on_request(&request, &action)?,
                    "approved",
                    public_url,
                )
            }
            None => unmapped(sender),
        },
        Command::Reject {
            request,
            approval_type,
            comment,
        } => match &sender.principal {
            Some(p) => {
                let action =
                    RequestActionRequest::new(RequestAction::Reject { approval_type }, p.clone())
                        .with_comment(comment);
                reply::decided(
                    &vr.act_on_request(&request, &action)?,
                    "rejected",
                    public_url,
                )
            }
            None => unmapped(sender),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration() {
        let env = |v: &str| (v == "S").then(|| "shh".to_string());
        let c = SlackConfig::from_toml("signing_secret_env = \"S\"\n[users]\nU1 = \"dana\"\n", env)
            .unwrap();
        assert_eq!(c.signing_secret, "shh");
        assert_eq!(c.users["U1"], "dana");
        assert!(!format!("{c:?}").contains("shh"));
        for (text, want) in [
            ("", "signing_secret_env (or signing_secret) is required"),
            (
                "signing_secret_env = \"NOPE\"",
                "NOPE (signing_secret_env) is not set",
            ),
            ("signing_secret = \"\"", "the signing secret is empty"),
            (
                "signing_secret = \"a\"\nsigning_secret_env = \"S\"",
                "not both",
            ),
            (
                "signing_secret = \"a\"\nsecret = 1",
                "unknown field `secret`",
            ),
            (
                "signing_secret = \"a\"\n[users]\nU1 = \" \"",
                "blank user id or principal",
            ),
        ] {
            let e = SlackConfig::from_toml(text, env).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
