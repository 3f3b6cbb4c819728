//! The effective deployment calendar as an iCalendar feed (`GET /calendar.ics`), for people to
//! subscribe to in Google Calendar, Outlook or Apple Calendar. The core expands and writes it.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DurationRound, TimeDelta, Utc};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use versioner_core::Error;
use versioner_core::policy::calendar::{CalendarScope, expand};

use super::Answer;
use crate::AppState;
use crate::http::Params;
use crate::openapi::ErrorBody;
use crate::routes::{Permission, permission_name};

/// The calendar route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(calendar_ics))
}

/// The query of `GET /calendar.ics`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// Only the rules whose scope includes this environment (its type inferred from the name).
    pub environment: Option<String>,
    /// Only the rules whose scope includes this product.
    pub product: Option<String>,
    /// How many days from now (1 to 800, default 400).
    pub days: Option<u32>,
}

/// The effective deployment calendar as iCalendar (RFC 5545, with TZIDs and VTIMEZONEs)
///
/// One event per no-deploy occurrence and per interval an allow rule leaves closed, from now
/// (to the minute) for `days` days.
#[utoipa::path(
    get,
    path = "/calendar.ics",
    tag = "rules",
    params(CalendarQuery),
    responses(
        (status = 200, description = "The calendar", content_type = "text/calendar", body = String),
        (status = 422, description = "A bad parameter (`INVALID_INPUT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(permission_name(Permission::Read)))),
)]
pub async fn calendar_ics(State(s): State<AppState>, q: Params) -> Answer {
    let days = match q.get("days") {
        None => 400,
        Some(d) => d
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=800).contains(n))
            .ok_or_else(|| {
                Error::invalid("days", format!("`{d}` is not a whole number from 1 to 800"))
            })?,
    };
    let scope = CalendarScope {
        product: q.get("product"),
        environment: q.get("environment"),
    };
    let stored = s.core(|vr| vr.rules()).await?;
    let rules: Vec<_> = stored.into_iter().map(|r| r.rule).collect();
    let now = Utc::now();
    let from = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
    let calendar = expand(
        &rules,
        &scope,
        from,
        from + TimeDelta::days(i64::from(days)),
    );
    let name = match &scope.environment {
        Some(e) => format!("Deployments to {e}"),
        None => "Deployments".to_string(),
    };
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        calendar.to_ics(&name),
    )
        .into_response())
}
