//! Deployment Requests: what awaits the signed-in principal, every request with its status,
//! and a request's page (its versions and environments, slots with approve/reject, steps,
//! progress grid and history). Every decision is the core's, made as the signed-in principal
//! (`act_on_request`), so the core records who decided and checks the role.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use versioner_core::request::{CellState, Progress, SlotStatus, StepPhase};
use versioner_core::{
    DeploymentRequest, Permission, RequestAction, RequestActionRequest, RequestQuery, RequestStatus,
};

use super::layout::{self, Nav};
use super::session::CsrfForm;
use super::{Fields, Page, PageError, Viewer, core, query_string, segment};
use crate::AppState;

fn status_chip(s: RequestStatus) -> Markup {
    let class = match s {
        RequestStatus::Approved | RequestStatus::Completed => "chip ok",
        RequestStatus::Rejected => "chip bad",
        RequestStatus::InProgress => "chip warn",
        RequestStatus::Draft | RequestStatus::Cancelled => "chip",
    };
    html! { span class=(class) data-request-status=(s.as_str()) { (s.as_str()) } }
}

fn versions_text(dr: &DeploymentRequest) -> String {
    dr.versions
        .iter()
        .map(|v| format!("{} {}", v.product_name, v.version))
        .collect::<Vec<_>>()
        .join(", ")
}

fn link(dr: &DeploymentRequest) -> Markup {
    html! { a href={ "/ui/requests/" (segment(&dr.id)) } { (dr.name) } }
}

/// `GET /ui/requests[?status=]`: what awaits the viewer, then every request.
pub async fn list(State(state): State<AppState>, viewer: Viewer, q: Fields) -> Page {
    let status = q
        .get("status")
        .map(|s| s.parse::<RequestStatus>())
        .transpose()
        .map_err(PageError::from)?;
    let (awaiting, all) = core(&state, &viewer, move |vr| {
        let mut query = RequestQuery::default();
        query.status = status;
        Ok((vr.requests_awaiting()?, vr.requests(&query)?))
    })
    .await?;
    let selected = q.get("status").unwrap_or_default();
    let content = html! {
        h1 { "Deployment Requests" }
        section #awaiting aria-labelledby="awaiting-h" {
            h2 #awaiting-h { "Awaiting you" }
            @if awaiting.is_empty() {
                p.empty data-awaiting="0" { "Nothing waits for your approval." }
            } @else {
                ul.awaiting data-awaiting=(awaiting.len()) {
                    @for (dr, types) in &awaiting {
                        li data-request=(dr.id) {
                            (link(dr)) " — " (versions_text(dr)) " → " (dr.environments.join(", "))
                            " · your slot(s): " strong { (types.join(", ")) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="all-h" {
            h2 #all-h { "All requests" }
            form.filters method="get" action="/ui/requests" {
                div.field {
                    label for="r-status" { "Status" }
                    select #r-status name="status" {
                        option value="" selected[selected.is_empty()] { "any" }
                        @for s in RequestStatus::ALL {
                            option value=(s.as_str()) selected[selected == s.as_str()] { (s.as_str()) }
                        }
                    }
                }
                div.actions { button type="submit" { "Filter" } }
            }
            @if all.is_empty() {
                p.empty { "No Deployment Request yet. Create one with " code { "versioner requests create" } "." }
            } @else {
                div.scroll tabindex="0" role="region" aria-label="Deployment Requests" {
                    table.history {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Versions" }
                            th scope="col" { "Environments" } th scope="col" { "Waiting for" } th scope="col" { "Created" }
                        } }
                        tbody {
                            @for dr in &all {
                                tr data-request=(dr.id) {
                                    td { (link(dr)) }
                                    td { (status_chip(dr.status)) }
                                    td { (versions_text(dr)) }
                                    td { (dr.environments.join(", ")) }
                                    td { @if dr.status == RequestStatus::InProgress { (dr.missing_slots().join(", ")) } @else { "—" } }
                                    td { (layout::time(dr.created_at)) " by " (dr.created_by) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Deployment Requests", Some(&viewer), Nav::Requests, content).into_response())
}

/// The progress grid: a row per product, a column per environment.
fn grid(dr: &DeploymentRequest, progress: &Progress) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label="Progress" {
            table.grid data-progress-deployed=(progress.deployed) {
                thead { tr {
                    th scope="col" { "Product" } th scope="col" { "Version" }
                    @for e in &dr.environments { th scope="col" { (e) } }
                } }
                tbody {
                    @for v in &dr.versions {
                        tr {
                            th scope="row" { (v.product_name) }
                            td { (v.version) }
                            @for e in &dr.environments {
                                @let cell = progress.cells.iter().find(|c| c.product_name == v.product_name && &c.environment == e);
                                @let state = cell.map_or(CellState::NotDeployed, |c| c.state);
                                @let (class, label) = match state {
                                    CellState::Deployed => ("chip ok", "deployed"),
                                    CellState::NotDeployed => ("chip", "not deployed"),
                                    CellState::Failed => ("chip bad", "failed"),
                                    CellState::InProgress => ("chip warn", "in progress"),
                                };
                                td data-cell=(format!("{}@{}", v.product_name, e)) data-cell-state=(serde_json::to_value(state).ok().and_then(|s| s.as_str().map(str::to_string)).unwrap_or_default()) {
                                    span class=(class) { (label) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn request_content(
    viewer: &Viewer,
    dr: &DeploymentRequest,
    progress: &Progress,
    awaiting: &[String],
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let action = format!("/ui/requests/{}", segment(&dr.id));
    let may_work = viewer.may(Permission::Approve) || viewer.may(Permission::ManageRequests);
    let open_steps = matches!(
        dr.status,
        RequestStatus::InProgress | RequestStatus::Approved
    );
    html! {
        h1 { (dr.name) " " (status_chip(dr.status)) }
        @if let Some(n) = notice { p.note role="status" { (n) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(d) = &dr.description { p { (d) } }
        dl.facts data-request=(dr.id) {
            dt { "Versions" } dd { (versions_text(dr)) }
            dt { "Environments" } dd { (dr.environments.join(", ")) }
            dt { "Created" } dd { (layout::time(dr.created_at)) " by " (dr.created_by) }
            @if let Some(t) = &dr.template { dt { "Template" } dd { (t) } }
            @if let Some(n) = &dr.context.release_notes { dt { "Release notes" } dd { (n) } }
            @if !dr.context.issue_links.is_empty() {
                dt { "Issues" } dd { @for l in &dr.context.issue_links { (layout::link(Some(l), l)) " " } }
            }
            dt { "Self-approval" } dd { @if dr.allow_self_approval { "allowed" } @else { "not allowed for required slots" } }
        }
        section aria-labelledby="slots-h" {
            h2 #slots-h { "Approval slots" }
            @if dr.slots.is_empty() { p.muted { "No approval slot: a release, tracked only." } }
            @for (i, s) in dr.slots.iter().enumerate() {
                @let status = match s.status { SlotStatus::Pending => "pending", SlotStatus::Approved => "approved", SlotStatus::Rejected => "rejected" };
                div.slot data-slot=(s.approval_type) data-slot-status=(status) {
                    strong { (s.approval_type) } @if s.optional { " (optional)" } " — " (status)
                    @if let Some(by) = &s.decided_by {
                        " by " (by) @if let Some(r) = &s.decided_role { " (" (r) ")" }
                        " " (layout::maybe_time(s.decided_at))
                    }
                    @if let Some(c) = &s.comment { div.muted { "“" (c) "”" } }
                    @if s.status == SlotStatus::Pending && awaiting.contains(&s.approval_type)
                        && dr.slots[..i].iter().all(|p| p.approval_type != s.approval_type || p.status != SlotStatus::Pending) {
                        form.decide method="post" action={ (action) "/decide" } {
                            input type="hidden" name="csrf" value=(viewer.csrf());
                            input type="hidden" name="approval_type" value=(s.approval_type);
                            div.field.grow {
                                label for={ "c-" (i) } { "Comment (required to reject)" }
                                input id={ "c-" (i) } name="comment" maxlength="2000";
                            }
                            div.actions {
                                button type="submit" name="decision" value="approve" data-action="approve" { "Approve" }
                                " "
                                button type="submit" name="decision" value="reject" data-action="reject" { "Reject" }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="steps-h" {
            h2 #steps-h { "Steps" }
            @if dr.steps.is_empty() { p.muted { "No checklist step." } }
            @for phase in [StepPhase::Pre, StepPhase::Post] {
                @let steps: Vec<_> = dr.steps.iter().filter(|s| s.phase == phase).collect();
                @if !steps.is_empty() {
                    h3 { @if phase == StepPhase::Pre { "Before deploying" } @else { "After deploying" } }
                    ul.steps {
                        @for s in steps {
                            li data-step=(s.text) data-step-done=(s.is_done()) {
                                @if s.is_done() {
                                    "✓ " (s.text) " — " (s.done_by.as_deref().unwrap_or("")) " " (layout::maybe_time(s.done_at))
                                } @else {
                                    (s.text)
                                    @if may_work && open_steps {
                                        form.inline method="post" action={ (action) "/step" } {
                                            input type="hidden" name="csrf" value=(viewer.csrf());
                                            input type="hidden" name="step" value=(s.text);
                                            " " button type="submit" data-action="step" { "Mark done" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="progress-h" {
            h2 #progress-h { "Progress" }
            (grid(dr, progress))
        }
        details {
            summary { "History (" (dr.history.len()) ")" }
            div.scroll tabindex="0" role="region" aria-label="History" {
                table.history {
                    thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Status" } th scope="col" { "Who" } th scope="col" { "Note" } } }
                    tbody {
                        @for t in dr.history.iter().rev() {
                            tr {
                                td { (layout::time(t.at)) }
                                td { (t.action) }
                                td { (t.to.as_str()) }
                                td { (t.by.as_deref().unwrap_or("—")) }
                                td { (t.comment.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/ui/requests" { "All requests" } }
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    id: String,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Page {
    let (dr, progress, awaiting) = core(state, viewer, move |vr| {
        let dr = vr.request(&id)?;
        let progress = vr.request_progress(&id)?;
        let awaiting = vr
            .requests_awaiting()?
            .into_iter()
            .find(|(d, _)| d.id == dr.id)
            .map(|(_, t)| t)
            .unwrap_or_default();
        Ok((dr, progress, awaiting))
    })
    .await?;
    let content = request_content(
        viewer,
        &dr,
        &progress,
        &awaiting,
        notice.as_deref(),
        error.as_deref(),
    );
    Ok((
        status,
        layout::page(&dr.name, Some(viewer), Nav::Requests, content),
    )
        .into_response())
}

/// `GET /ui/requests/{id}[?done=]`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    q: Fields,
) -> Page {
    let notice = q.get("done");
    render(&state, &viewer, id, StatusCode::OK, notice, None).await
}

/// The decision form's fields.
#[derive(Debug, Deserialize)]
pub struct Decision {
    /// The slot's type.
    #[serde(default)]
    pub approval_type: String,
    /// `approve` or `reject`.
    #[serde(default)]
    pub decision: String,
    /// The comment.
    #[serde(default)]
    pub comment: String,
}

/// The step form's fields.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    /// The step's text.
    #[serde(default)]
    pub step: String,
}

/// Runs an action as the viewer; a refusal the viewer can fix (422) is shown on the page.
async fn acted(
    state: AppState,
    viewer: Viewer,
    id: String,
    action: RequestAction,
    comment: String,
    done: &str,
) -> Page {
    let mut request = RequestActionRequest::new(action, "");
    request.comment = Some(comment).filter(|c| !c.trim().is_empty());
    let target = id.clone();
    let result = core(&state, &viewer, move |vr| {
        vr.act_on_request(&target, &request)
    })
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/ui/requests/{}?{}",
            segment(&id),
            query_string([("done", done)])
        ))
        .into_response()),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let message = e.message().to_string();
            render(&state, &viewer, id, e.status(), None, Some(message)).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /ui/requests/{id}/decide` (`approval_type`, `decision`, `comment`, `csrf`): approves
/// or rejects the slot as the signed-in principal.
pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<Decision>,
) -> Page {
    let approval_type = form.approval_type.clone();
    let (action, done) = match form.decision.as_str() {
        "approve" => (
            RequestAction::Approve { approval_type },
            "The slot was approved.",
        ),
        "reject" => (
            RequestAction::Reject { approval_type },
            "The slot was rejected.",
        ),
        other => {
            return Err(PageError::from(versioner_core::Error::invalid(
                "decision",
                format!("`{other}` is not approve or reject"),
            )));
        }
    };
    acted(state, viewer, id, action, form.comment, done).await
}

/// `POST /ui/requests/{id}/step` (`step`, `csrf`): marks the step done as the signed-in
/// principal.
pub async fn step(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<StepForm>,
) -> Page {
    let action = RequestAction::StepDone { step: form.step };
    acted(
        state,
        viewer,
        id,
        action,
        String::new(),
        "The step was marked done.",
    )
    .await
}
