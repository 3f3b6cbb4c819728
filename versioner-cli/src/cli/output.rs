//! Output: text for people, JSON for machines, and GitHub Actions annotations and step
//! summaries when `GITHUB_ACTIONS=true`.
//!
//! Results go to stdout, diagnostics to stderr. A rejection prints the code, the rule, the
//! message, what to do and when to retry. The API key is never printed.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::Value;
use versioner_core::policy::{BlockCode, OutcomeStatus, humanize_duration};
use versioner_core::{Error, ErrorCode, Verdict, wire};

use super::args::Output;

/// Where and how to print.
pub struct Console<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// Text or JSON.
    pub format: Output,
    /// `-v`.
    pub verbose: bool,
    /// GitHub Actions integration, when running in it.
    pub github: Option<GitHub>,
}

impl std::fmt::Debug for Console<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("format", &self.format)
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl<'a> Console<'a> {
    /// A console over `out` and `err`.
    pub fn new(
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
        format: Output,
        verbose: bool,
    ) -> Console<'a> {
        Console {
            out,
            err,
            format,
            verbose,
            github: None,
        }
    }

    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.format == Output::Json
    }

    /// A line on stdout. Write errors (a closed pipe) are ignored: output is best effort.
    /// Every line is made [`terminal_safe`] first.
    pub fn out(&mut self, line: &str) {
        let _ = writeln!(self.out, "{}", terminal_safe(line));
        let _ = self.out.flush();
    }

    /// Text on stdout exactly as given (no newline added): an iCalendar feed keeps its CRLFs.
    pub fn raw(&mut self, text: &str) {
        let _ = write!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Standard output itself, for data written as it is produced (`versioner export`).
    pub fn stream(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    /// A line on stderr, made [`terminal_safe`].
    pub fn err(&mut self, line: &str) {
        let _ = writeln!(self.err, "{}", terminal_safe(line));
    }

    /// A line on stderr with `-v` only.
    pub fn info(&mut self, line: &str) {
        if self.verbose {
            self.err(line);
        }
    }

    /// Pretty JSON on stdout.
    pub fn print_json(&mut self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
        self.out(&text);
    }

    /// A warning on stderr (and a GitHub annotation).
    pub fn warn(&mut self, title: &str, message: &str) {
        self.err(&format!("⚠ {title}: {message}"));
        if let Some(gh) = &self.github {
            let line = gh.annotation("warning", title, message);
            self.out(&line);
        }
    }

    /// A GitHub `::error` annotation, when running in GitHub Actions.
    pub fn annotate_error(&mut self, title: &str, message: &str) {
        if let Some(gh) = &self.github {
            let line = gh.annotation("error", title, message);
            self.out(&line);
        }
    }

    /// Appends Markdown to the GitHub step summary, when running in GitHub Actions.
    pub fn summary(&mut self, markdown: &str) {
        let Some(gh) = &self.github else { return };
        if let Err(e) = gh.append_summary(markdown) {
            self.err(&format!("⚠ cannot write the GitHub step summary: {e}"));
        }
    }

    /// Prints an error that ends the command: the rejection for a block, else the code and
    /// message with a hint. In JSON, the API's error body.
    pub fn error(&mut self, e: &Error) {
        if self.json() {
            self.print_json(&error_body(e));
        }
        match e.verdict() {
            Some(v) => {
                let text = rejection_text(v);
                self.err(&text);
                self.annotate_error(&rejection_title(v), &v.summary());
                self.summary(&rejection_summary(v));
            }
            None => self.plain_error(e),
        }
    }

    /// A non-policy error: the code and message (a policy's problems one per line), then a
    /// hint.
    fn plain_error(&mut self, e: &Error) {
        match e {
            Error::InvalidPolicy { problems } => {
                self.err(&format!(
                    "error: [{}] invalid policy: {} problem(s); nothing was applied:",
                    e.code(),
                    problems.len()
                ));
                for p in problems {
                    self.err(&format!("  - {p}"));
                }
            }
            _ => self.err(&format!("error: [{}] {e}", e.code())),
        }
        if let Some(h) = hint(e.code()) {
            self.err(&format!("hint: {h}"));
        }
    }
}

/// `text` with every character that could drive a terminal shown escaped instead: control
/// characters other than newline and tab (an ESC starts a colour, cursor or title sequence;
/// a CR overwrites the line) and the bidirectional overrides that reorder what is shown.
/// Everything the CLI prints goes through [`Console::out`] or [`Console::err`], which apply
/// it, so a rule description or a server's message can never reach the terminal raw. (JSON
/// output is unaffected: serde already writes these characters as `\u001b` escapes.)
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// GitHub Actions: workflow commands on stdout, Markdown to `$GITHUB_STEP_SUMMARY`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitHub {
    /// The step summary file.
    pub summary_path: Option<PathBuf>,
}

/// Escapes a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property (e.g. `title`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl GitHub {
    /// `::level title=…::message`.
    pub fn annotation(&self, level: &str, title: &str, message: &str) -> String {
        format!(
            "::{level} title={}::{}",
            escape_property(title),
            escape_data(message)
        )
    }

    fn append_summary(&self, markdown: &str) -> std::io::Result<()> {
        let Some(path) = &self.summary_path else {
            return Ok(());
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{markdown}")
    }
}

/// The body printed by `--output json` for an error: the API's error body, with the full
/// message (the API hides the text of 5xx errors; the CLI shows it).
pub fn error_body(e: &Error) -> Value {
    let (_, mut body) = wire::error_response(e);
    if e.verdict().is_none()
        && let Some(m) = body.as_object_mut()
    {
        m.insert("message".into(), Value::String(e.to_string()));
    }
    body
}

/// What to do about a non-policy error.
pub fn hint(code: ErrorCode) -> Option<&'static str> {
    match code {
        ErrorCode::Unauthorized => Some(
            "check the API key (VERSIONER_API_KEY or --api-key); keys are created with \
             `versioner keys create` on the server host",
        ),
        ErrorCode::Forbidden => Some(
            "the role does not allow this: events need admin, release_manager, developer, sre \
             or ci; each approval type its roles (see the message); rules admin, \
             release_manager or sre; keys admin (`versioner keys list` shows the roles)",
        ),
        ErrorCode::Network => Some(
            "check --api-url / VERSIONER_API_URL and that `versioner serve` is running; \
             --fail-on-api-error=false lets a pipeline continue without tracking",
        ),
        ErrorCode::RateLimited => Some(
            "the server limits requests per API key and address; retry later, or give more \
             --max-attempts (each waits what the server's Retry-After asks)",
        ),
        _ => None,
    }
}

/// What to do about a block. When time alone clears it (`retry_after` is set) the hint says to
/// wait for the retry time; when it does not, every hint names what a person must do, in the
/// same words whatever the rule.
fn block_hint(code: Option<BlockCode>, v: &Verdict, rule: &str) -> String {
    let (p, ver, env) = (v.product_name(), v.version(), v.environment_name());
    let timed = v.retry_after().is_some();
    let relax = format!(
        "an admin can run `versioner rules set-status \"{rule}\" report_only --reason \"…\"`"
    );
    match code {
        Some(BlockCode::ConcurrentDeployment) => {
            "wait for the deployment in progress to finish (or record it completed, failed or \
             aborted), then retry"
                .into()
        }
        Some(BlockCode::NoDeployWindow) if timed => {
            format!("deploy once the window ends (retry time below); in an emergency {relax}")
        }
        Some(BlockCode::NoDeployWindow) => format!(
            "{NO_WAIT}: no allowed time is in sight for `{rule}`, or another rule also blocks \
             (listed below); fix those, or in an emergency {relax}"
        ),
        Some(BlockCode::FlowViolation) => format!(
            "deploy `{p}` {ver} to the prerequisite environment(s) first, then retry `{env}`"
        ),
        Some(BlockCode::InsufficientSoakTime) if timed => {
            "let the version soak in the prerequisite environment; retry at the time below".into()
        }
        Some(BlockCode::InsufficientSoakTime) => format!(
            "{NO_WAIT}: the soak alone would end in time, but another rule also blocks (listed \
             below); fix it, or in an emergency {relax}"
        ),
        Some(BlockCode::ApprovalRequired) => format!(
            "collect the release approvals: `versioner approve --product {p} --version {ver} \
             --type release` as each approver (the deployer, the principal deploying and the builders \
             do not count)"
        ),
        Some(BlockCode::QualityApprovalRequired) => format!(
            "record the missing sign-off: `versioner approve --product {p} --version {ver} \
             --type TYPE` as someone whose role grants it"
        ),
        Some(BlockCode::DeploymentRequestPending) => {
            let id = v
                .primary()
                .and_then(|o| o.details.get("request_id"))
                .and_then(|i| i.as_str())
                .unwrap_or("ID");
            format!(
                "finish the Deployment Request first: see `versioner requests show {id}` for the                  slots to approve and the pre-deployment steps to mark done"
            )
        }
        Some(BlockCode::DeploymentRequestRequired) => format!(
            "create and submit a Deployment Request for it: `versioner requests create --name              NAME --product {p} --version {ver} --environment {env} --slot TYPE`, then              `versioner requests submit ID` and collect its approvals"
        ),
        None => "see the details below".into(),
    }
}

/// How every hint opens when waiting will not help.
const NO_WAIT: &str = "time alone will not clear this";

fn headline(v: &Verdict) -> &'static str {
    match v.http_status() {
        Some(409) => "⚠️  Deployment Conflict",
        Some(423) => "🔒 Deployment Blocked by Schedule",
        _ => "❌ Deployment Precondition Failed",
    }
}

/// The annotation title of a block, as the original CLI wrote it.
pub fn rejection_title(v: &Verdict) -> String {
    let rule = v.primary().map(|o| o.rule_name.as_str());
    match (v.http_status(), rule) {
        (Some(409), _) => "Deployment Conflict".into(),
        (Some(423), Some(r)) => format!("Deployment Blocked: {r}"),
        (Some(423), None) => "Deployment Blocked by Schedule".into(),
        (_, Some(r)) => format!("{}: {r}", v.code().map_or("BLOCKED", BlockCode::as_str)),
        (_, None) => "Deployment Rejected".into(),
    }
}

fn until(t: DateTime<Utc>) -> String {
    let secs = (t - Utc::now()).num_seconds();
    if secs <= 0 {
        return "now".into();
    }
    let d = std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    format!("in {}", humanize_duration(d))
}

/// The text of a rejection: code, rule, message, what to do, retry time, every failure,
/// warnings and details.
pub fn rejection_text(v: &Verdict) -> String {
    let mut lines = Vec::new();
    let primary = v.primary();
    let rule = primary.map_or("(unknown rule)", |o| o.rule_name.as_str());
    lines.push(format!(
        "{} (HTTP {})",
        headline(v),
        v.http_status().unwrap_or(428)
    ));
    lines.push(format!(
        "Error: {}",
        v.code().map_or("BLOCKED", BlockCode::as_str)
    ));
    lines.push(format!("Rule: {rule}"));
    if let Some(o) = primary {
        lines.push(format!("Message: {}", o.message));
    }
    lines.push(format!("What to do: {}", block_hint(v.code(), v, rule)));
    match v.retry_after() {
        Some(t) => lines.push(format!(
            "Retry after: {} ({})",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            until(t)
        )),
        None => lines.push(format!("Retry after: — ({NO_WAIT}; a person must act)")),
    }
    let others: Vec<String> = v
        .failures()
        .filter(|o| primary.is_none_or(|p| p.rule_name != o.rule_name))
        .map(|o| {
            format!(
                "  - [{}] {}: {}",
                o.code.map_or("BLOCKED", BlockCode::as_str),
                o.rule_name,
                o.message
            )
        })
        .collect();
    if !others.is_empty() {
        lines.push("Also blocking:".into());
        lines.extend(others);
    }
    let warnings: Vec<String> = v
        .warnings()
        .map(|o| format!("  - {}: {}", o.rule_name, o.message))
        .collect();
    if !warnings.is_empty() {
        lines.push("Report-only warnings:".into());
        lines.extend(warnings);
    }
    if let Some(o) = primary
        && !o.details.is_empty()
    {
        lines.push("Details:".into());
        lines.push(
            serde_json::to_string_pretty(&o.details).unwrap_or_else(|_| format!("{:?}", o.details)),
        );
    }
    lines.join("\n")
}

fn rejection_summary(v: &Verdict) -> String {
    let mut md = format!(
        "## ❌ Versioner: deployment blocked\n\n| | |\n|---|---|\n| Error code | `{}` |\n| Rule | {} |\n| Target | `{}` {} → `{}` |\n",
        v.code().map_or("BLOCKED", BlockCode::as_str),
        v.primary().map_or("—", |o| o.rule_name.as_str()),
        v.product_name(),
        v.version(),
        v.environment_name(),
    );
    if let Some(t) = v.retry_after() {
        md.push_str(&format!("| Retry after | {} |\n", t.to_rfc3339()));
    }
    md.push_str("\n### Rules\n\n");
    for o in v.outcomes() {
        let mark = match o.status {
            OutcomeStatus::Passed => "✅",
            OutcomeStatus::Failed => "❌",
            OutcomeStatus::FailedReportOnly => "⚠️",
            OutcomeStatus::NotApplicable => "➖",
        };
        md.push_str(&format!("- {mark} **{}**: {}\n", o.rule_name, o.message));
    }
    md
}

/// One line per rule outcome, for `check`.
pub fn outcome_lines(v: &Verdict) -> Vec<String> {
    v.outcomes()
        .iter()
        .map(|o| {
            let mark = match o.status {
                OutcomeStatus::Passed => "✓ passed     ",
                OutcomeStatus::Failed => "✗ FAILED     ",
                OutcomeStatus::FailedReportOnly => "! report-only",
                OutcomeStatus::NotApplicable => "- n/a        ",
            };
            match o.code {
                Some(c) if o.failed() => {
                    format!("{mark} {} [{}]: {}", o.rule_name, c.as_str(), o.message)
                }
                _ => format!("{mark} {}: {}", o.rule_name, o.message),
            }
        })
        .collect()
}

/// A plain table: a header row and rows, columns padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped() {
        let gh = GitHub::default();
        assert_eq!(
            gh.annotation("error", "FLOW_VIOLATION: a, b", "50%\nnext"),
            "::error title=FLOW_VIOLATION%3A a%2C b::50%25%0Anext"
        );
    }

    #[test]
    fn terminal_control_characters_are_shown_escaped() {
        assert_eq!(terminal_safe("plain\tline\nnext"), "plain\tline\nnext");
        assert_eq!(
            terminal_safe("a\u{1b}]0;pwned\u{7}b\rc\u{202E}d"),
            "a\\u{1b}]0;pwned\\u{7}b\\u{d}c\\u{202e}d"
        );
    }

    #[test]
    fn tables_pad_columns() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1");
    }
}
