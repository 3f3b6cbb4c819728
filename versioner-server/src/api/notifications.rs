//! Notifications, in the public product's legacy shapes: channels (`POST
//! /notification-channels/` `{name, channel_type, config}`), preferences (`POST
//! /notification-preferences/` `{channel_id, event_type, filters}`), the delivery history
//! (`GET /notification-history/`) and a test notification. Configuring is for admins and SREs
//! (`notifications`); the history is readable by every role that reads. Secrets are never
//! returned: the core masks them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::notify::{
    ChannelRequest, ChannelType, Delivery, DeliveryStatus, HistoryFilter, Preference,
    PreferenceRequest,
};

use super::{Answer, created, ok, to_json};
use crate::AppState;
use crate::http::{JsonBody, Params};
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The notification routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(channels, create_channel))
        .routes(routes!(channel, delete_channel))
        .routes(routes!(test_channel))
        .routes(routes!(preferences, create_preference))
        .routes(routes!(delete_preference))
        .routes(routes!(history))
}

/// A notification channel as answered: its config with secrets masked (`********`).
#[derive(Debug, ToSchema)]
#[schema(as = NotificationChannel)]
pub struct ChannelSchema {
    /// Public id (UUID).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// `webhook`, `slack_webhook` or `email`.
    pub channel_type: ChannelType,
    /// Its settings; `secret` and `password` read `********`, a Slack URL shows only its host.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Whether a policy file declared it (`[[notifications]]`).
    pub declared: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The outbox position delivered through.
    pub delivered_through: i64,
}

/// Every notification channel, by name; secrets masked
#[utoipa::path(
    get,
    path = "/notification-channels/",
    tag = "notifications",
    responses((status = 200, description = "The channels", body = Vec<ChannelSchema>)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn channels(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.notification_channels()).await?;
    ok(to_json(&list)?)
}

/// Add a notification channel: `webhook` (`url`, optional `secret`), `slack_webhook`
/// (`webhook_url`) or `email` (`smtp_host`, `smtp_port`, `from`, `to`, `username`, `password`,
/// `tls`)
///
/// It is sent the events recorded from now on that a preference subscribes it to.
#[utoipa::path(
    post,
    path = "/notification-channels/",
    tag = "notifications",
    request_body = ChannelRequest,
    responses(
        (status = 201, description = "The channel, secrets masked", body = ChannelSchema),
        (status = 422, description = "A bad name, type or config (`INVALID_INPUT`, naming the key)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn create_channel(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<ChannelRequest>,
) -> Answer {
    let channel = s
        .core(move |vr| vr.add_notification_channel(&request))
        .await?;
    created(to_json(&channel)?)
}

/// One notification channel (by id or name); secrets masked
#[utoipa::path(
    get,
    path = "/notification-channels/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "The channel's id (or name)")),
    responses(
        (status = 200, description = "The channel", body = ChannelSchema),
        (status = 404, description = "No such channel (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn channel(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let channel = s.core(move |vr| vr.notification_channel(&id)).await?;
    ok(to_json(&channel)?)
}

/// Remove a notification channel (by id or name) and its preferences; its history stays
#[utoipa::path(
    delete,
    path = "/notification-channels/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "The channel's id (or name)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such channel (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn delete_channel(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    s.core(move |vr| vr.remove_notification_channel(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Send a test notification to a channel, once; the answer is the attempt
///
/// A webhook receives `X-Versioner-Event: test`. A failed send is not an error: the attempt's
/// `status` is `parked` and `error` says why.
#[utoipa::path(
    post,
    path = "/notification-channels/{id}/test",
    tag = "notifications",
    params(("id" = String, Path, description = "The channel's id (or name)")),
    responses(
        (status = 200, description = "The attempt, as the history keeps it", body = Delivery),
        (status = 404, description = "No such channel (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn test_channel(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let attempt = s.core(move |vr| vr.send_test_notification(&id)).await?;
    ok(to_json(&attempt)?)
}

/// Every notification preference, oldest first
#[utoipa::path(
    get,
    path = "/notification-preferences/",
    tag = "notifications",
    responses((status = 200, description = "The preferences", body = Vec<Preference>)),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn preferences(State(s): State<AppState>) -> Answer {
    let list = s.core(|vr| vr.notification_preferences()).await?;
    ok(to_json(&list)?)
}

/// Subscribe a channel to an event type (`deployment.completed`, ..., or `*`), with optional
/// filters by environments, products and statuses
#[utoipa::path(
    post,
    path = "/notification-preferences/",
    tag = "notifications",
    request_body = PreferenceRequest,
    responses(
        (status = 201, description = "The preference", body = Preference),
        (status = 404, description = "No such channel (`NOT_FOUND`)", body = ErrorBody),
        (status = 422, description = "An unknown event type, or one the channel does not carry (`INVALID_INPUT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn create_preference(
    State(s): State<AppState>,
    JsonBody(request): JsonBody<PreferenceRequest>,
) -> Answer {
    let preference = s
        .core(move |vr| vr.add_notification_preference(&request))
        .await?;
    created(to_json(&preference)?)
}

/// Remove a notification preference
#[utoipa::path(
    delete,
    path = "/notification-preferences/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "The preference's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such preference (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::ManageNotifications)))),
)]
pub async fn delete_preference(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    s.core(move |vr| vr.remove_notification_preference(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The query of `GET /notification-history/`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this channel (id or name).
    pub channel: Option<String>,
    /// Only attempts with this status: `delivered`, `retrying` or `parked` (given up).
    pub status: Option<DeliveryStatus>,
    /// At most this many (1–1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The notification history: every delivery attempt (status, response code, latency, error),
/// newest first
#[utoipa::path(
    get,
    path = "/notification-history/",
    tag = "notifications",
    params(HistoryQuery),
    responses(
        (status = 200, description = "The attempts, newest first", body = Vec<Delivery>),
        (status = 404, description = "No such channel (`NOT_FOUND`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn history(State(s): State<AppState>, q: Params) -> Answer {
    let mut filter = HistoryFilter::default();
    filter.channel = q.get("channel");
    filter.status = q.get("status").map(|s| s.parse()).transpose()?;
    filter.limit = q.number("limit")?;
    let list = s.core(move |vr| vr.notification_history(&filter)).await?;
    ok(to_json(&list)?)
}
