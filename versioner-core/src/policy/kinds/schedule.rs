//! Schedule: deny windows (no-deploy) and allow windows (deploy only during).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use crate::policy::BlockCode;
use crate::policy::Check;
use crate::policy::rule::{WindowDef, WindowMode};
use crate::policy::window::{Calendar, Occurrence};

pub(crate) fn evaluate(
    rule_name: &str,
    mode: WindowMode,
    timezone: Tz,
    reason: Option<&str>,
    windows: &[WindowDef],
    at: DateTime<Utc>,
) -> Check {
    let calendar = Calendar {
        timezone,
        windows: windows.iter().map(|w| w.recurrence.clone()).collect(),
    };
    let local = |t: DateTime<Utc>| t.with_timezone(&timezone).to_rfc3339();
    let label = |o: &Occurrence| {
        windows
            .get(o.window)
            .and_then(|w| w.name.clone())
            .unwrap_or_else(|| rule_name.to_string())
    };
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    match mode {
        WindowMode::Deny => match calendar.occurrence_at(at) {
            None => Check::pass(format!("outside every no-deploy window of `{rule_name}`")),
            Some(occ) => {
                let free = calendar.next_free(at);
                let mut c = Check::fail(
                    BlockCode::NoDeployWindow,
                    format!(
                        "no-deploy window `{}` is active from {} to {}{why}",
                        label(&occ),
                        local(occ.start),
                        local(occ.end),
                    ),
                )
                .detail("window_name", json!(label(&occ)))
                .detail("window_start", json!(local(occ.start)))
                .detail("window_end", json!(local(occ.end)))
                .detail("timezone", json!(timezone.name()))
                .detail("reason", json!(reason));
                c.retry_after = free;
                c
            }
        },
        WindowMode::Allow => match calendar.occurrence_at(at) {
            Some(occ) => Check::pass(format!(
                "inside allowed window `{}` ({} to {})",
                label(&occ),
                local(occ.start),
                local(occ.end)
            )),
            None => {
                let next = calendar.next_occurrence(at);
                let message = match &next {
                    Some(n) => format!(
                        "deployments are allowed only during the windows of `{rule_name}`{why}; the next one, `{}`, opens at {} and closes at {}",
                        label(n),
                        local(n.start),
                        local(n.end)
                    ),
                    None => format!(
                        "deployments are allowed only during the windows of `{rule_name}`{why}, and none opens again; change the rule to deploy"
                    ),
                };
                let mut c = Check::fail(BlockCode::NoDeployWindow, message)
                    .detail(
                        "window_name",
                        json!(next.as_ref().map_or_else(|| rule_name.to_string(), label)),
                    )
                    .detail("window_start", json!(next.map(|n| local(n.start))))
                    .detail("window_end", json!(next.map(|n| local(n.end))))
                    .detail("timezone", json!(timezone.name()))
                    .detail("reason", json!(reason))
                    .detail("mode", json!("allow"));
                c.retry_after = next.map(|n| n.start.max(at));
                c
            }
        },
    }
}
