//! Security events: one `tracing` event per decision, all under the target [`TARGET`]
//! (`mcp_secure::audit`). This module is the events and nothing else; where they are written
//! is [`crate::logging`]'s concern.
//!
//! Fields are fixed names with fixed-vocabulary values (`decision`, `reason`, `code`), the
//! tool's declared name, and the caller's identity escaped by [`Sanitized`]. No event carries
//! a token, a secret, an argument value or any raw client bytes.

use std::{fmt, time::Duration};

use tracing::{Level, event};

use crate::{error::Denial, principal::Principal};

/// The `tracing` target of every security event.
pub const TARGET: &str = "mcp_secure::audit";

/// Longest identity string written to a log line.
const MAX_LOGGED_CHARS: usize = 256;

/// Displays an untrusted string safely for a log line: control characters, quotes and
/// backslashes are escaped (no log injection, no terminal escapes), and it is cut at 256
/// characters.
pub struct Sanitized<'a>(pub &'a str);

impl fmt::Display for Sanitized<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX_LOGGED_CHARS {
                return f.write_str("…");
            }
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                c if c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}') =>
                {
                    write!(f, "\\u{{{:x}}}", c as u32)?;
                }
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Sanitized<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// The caller's fields for an event.
fn who(principal: Option<&Principal>) -> (Sanitized<'_>, Sanitized<'_>, &'static str) {
    match principal {
        Some(p) => (
            Sanitized(p.subject()),
            Sanitized(p.client_id().unwrap_or("")),
            p.method().as_str(),
        ),
        None => (Sanitized(""), Sanitized(""), "none"),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Where a decision was taken: in the pipeline, or by the HTTP layer before dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Pipeline,
    Http,
}

/// What a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    ToolCall,
    PromptGet,
    ResourceRead,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Self::ToolCall => "tool_call",
            Self::PromptGet => "prompt_get",
            Self::ResourceRead => "resource_read",
        }
    }

    /// The name in words, for the message (no allocation per event).
    fn words(self) -> &'static str {
        match self {
            Self::ToolCall => "tool call",
            Self::PromptGet => "prompt get",
            Self::ResourceRead => "resource read",
        }
    }
}

/// One decision about one tool call, prompt request or resource read.
#[derive(Debug)]
pub(crate) struct Decision<'a> {
    pub event: Event,
    /// The tool, prompt or resource name.
    pub tool: &'a str,
    pub principal: Option<&'a Principal>,
    /// `None`: the call ran.
    pub denial: Option<&'a Denial>,
    /// For a call that ran: whether the tool answered with an error.
    pub tool_error: bool,
    pub elapsed: Duration,
    pub stage: Stage,
}

/// Records one decision: `tool_call` with `decision` `allowed` or `denied`, and for a denial
/// its `reason`, `code` and whichever of `missing_scopes`, `retry_after_s` and `fields`
/// apply.
pub(crate) fn decision(d: &Decision<'_>) {
    let (subject, client_id, auth) = who(d.principal);
    let tool = d.tool;
    let duration_us = micros(d.elapsed);
    let stage = (d.stage == Stage::Http).then_some("http");
    let kind = d.event.as_str();
    let Some(denial) = d.denial else {
        event!(
            target: TARGET,
            Level::INFO,
            event = kind,
            decision = "allowed",
            tool,
            subject = %subject,
            client_id = %client_id,
            auth,
            tool_error = d.tool_error,
            duration_us,
            "{} allowed",
            d.event.words()
        );
        return;
    };
    let (missing, retry_after, fields, what) = match denial {
        Denial::InsufficientScope { missing, .. } => {
            (Some(missing.join(" ")), None, None, ": insufficient scope")
        }
        Denial::RateLimited { retry_after } => (
            None,
            Some(crate::error::retry_after_secs(*retry_after)),
            None,
            ": rate limited",
        ),
        Denial::InvalidInput { fields } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", Sanitized(&f.field), Sanitized(&f.rule)))
                .collect();
            (None, None, Some(fields.join(",")), ": invalid input")
        }
        _ => (None, None, None, ""),
    };
    let code = denial.code();
    event!(
        target: TARGET,
        Level::WARN,
        event = kind,
        decision = "denied",
        reason = denial.reason(),
        code = code.as_str(),
        tool,
        subject = %subject,
        client_id = %client_id,
        auth,
        missing_scopes = missing.as_deref().map(tracing::field::display),
        retry_after_s = retry_after,
        fields = fields.as_deref().map(tracing::field::display),
        stage,
        duration_us,
        "{} denied{what}",
        d.event.words()
    );
}

/// A tool failed with an internal error: its type and (escaped, redacted) text, server-side.
pub(crate) fn tool_failed(tool: &str, principal: &Principal, kind: &str, text: &str) {
    let (subject, client_id, auth) = who(Some(principal));
    event!(
        target: TARGET,
        Level::ERROR,
        event = "tool_error",
        tool,
        subject = %subject,
        client_id = %client_id,
        auth,
        error_kind = %Sanitized(kind),
        error = %Sanitized(text),
        "tool failed with an internal error"
    );
}

/// The output stage masked secrets in a result.
pub(crate) fn redacted(tool: &str, principal: &Principal, count: usize) {
    let (subject, client_id, auth) = who(Some(principal));
    event!(
        target: TARGET,
        Level::WARN,
        event = "redaction_applied",
        tool,
        subject = %subject,
        client_id = %client_id,
        auth,
        redactions = count,
        "secrets masked in tool output"
    );
}

/// A tool asked the client something (sampling, elicitation, roots) through `ClientPeer`:
/// what, and how it ended (`answered`, `stateless_transport`, `capability_missing`,
/// `timed_out`, `protocol_forbids`, `client_error`, …).
pub(crate) fn client_request(
    tool: &str,
    principal: Option<&Principal>,
    request: &'static str,
    outcome: &'static str,
    elapsed: Duration,
) {
    let (subject, client_id, auth) = who(principal);
    let level_is_warn = outcome != "answered";
    let duration_us = micros(elapsed);
    if level_is_warn {
        event!(
            target: TARGET,
            Level::WARN,
            event = "client_request",
            tool = %Sanitized(tool),
            request,
            outcome,
            subject = %subject,
            client_id = %client_id,
            auth,
            duration_us,
            "a tool could not ask the client"
        );
    } else {
        event!(
            target: TARGET,
            Level::INFO,
            event = "client_request",
            tool = %Sanitized(tool),
            request,
            outcome,
            subject = %subject,
            client_id = %client_id,
            auth,
            duration_us,
            "the client answered a tool's request"
        );
    }
}

/// A tool panicked; the pipeline answered `INTERNAL`.
pub(crate) fn tool_panicked(tool: &str) {
    tracing::error!(
        target: TARGET,
        event = "tool_panic",
        tool,
        "tool panicked"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_escapes_control_characters() {
        let s = Sanitized("alice\n2026-01-01 INFO forged\u{1b}[31m\"q\"\u{202e}").to_string();
        assert!(!s.contains('\n'));
        assert!(!s.contains('\u{1b}'));
        assert!(!s.contains('\u{202e}'));
        assert!(s.contains("\\u{a}"));
        assert!(s.contains("\\\"q\\\""));
    }

    #[test]
    fn sanitized_caps_length() {
        let long = "x".repeat(10_000);
        assert!(Sanitized(&long).to_string().chars().count() <= MAX_LOGGED_CHARS + 1);
    }
}
