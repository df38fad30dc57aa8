//! Security events: one `tracing` event per decision, all under the target
//! [`TARGET`] (`mcp_secure::audit`).
//!
//! Fields are fixed names with fixed-vocabulary values (`decision`, `reason`, `code`), the
//! tool's declared name, and the caller's identity escaped by [`Sanitized`]. No event carries
//! a token, a secret, an argument value or any raw client bytes. [`init_logging`] sends them
//! (and every other event) to **stderr**, as text or JSON: over stdio, stdout carries the
//! protocol.

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

/// A call that ran.
pub(crate) fn allowed(tool: &str, principal: &Principal, elapsed: Duration, is_error: bool) {
    let (subject, client_id, auth) = who(Some(principal));
    event!(
        target: TARGET,
        Level::INFO,
        event = "tool_call",
        decision = "allowed",
        tool,
        subject = %subject,
        client_id = %client_id,
        auth,
        tool_error = is_error,
        duration_us = micros(elapsed),
        "tool call allowed"
    );
}

/// A call the pipeline refused.
pub(crate) fn denied(
    tool: &str,
    principal: Option<&Principal>,
    denial: &Denial,
    elapsed: Duration,
) {
    let (subject, client_id, auth) = who(principal);
    let reason = denial.reason();
    let code = denial.code();
    let code = code.as_str();
    match denial {
        Denial::InsufficientScope { missing, .. } => event!(
            target: TARGET,
            Level::WARN,
            event = "tool_call",
            decision = "denied",
            reason,
            code,
            tool,
            subject = %subject,
            client_id = %client_id,
            auth,
            missing_scopes = %missing.join(" "),
            duration_us = micros(elapsed),
            "tool call denied: insufficient scope"
        ),
        Denial::RateLimited { retry_after } => event!(
            target: TARGET,
            Level::WARN,
            event = "tool_call",
            decision = "denied",
            reason,
            code,
            tool,
            subject = %subject,
            client_id = %client_id,
            auth,
            retry_after_s = crate::error::retry_after_secs(*retry_after),
            duration_us = micros(elapsed),
            "tool call denied: rate limited"
        ),
        Denial::InvalidInput { fields } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", Sanitized(&f.field), Sanitized(&f.rule)))
                .collect();
            event!(
                target: TARGET,
                Level::WARN,
                event = "tool_call",
                decision = "denied",
                reason,
                code,
                tool,
                subject = %subject,
                client_id = %client_id,
                auth,
                fields = %fields.join(","),
                duration_us = micros(elapsed),
                "tool call denied: invalid input"
            );
        }
        _ => event!(
            target: TARGET,
            Level::WARN,
            event = "tool_call",
            decision = "denied",
            reason,
            code,
            tool,
            subject = %subject,
            client_id = %client_id,
            auth,
            duration_us = micros(elapsed),
            "tool call denied"
        ),
    }
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

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `human`/`text`/`pretty` or `json`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "human" | "text" | "pretty" | "plain" => Some(Self::Human),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// The log set-up could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// `LOG_FORMAT` holds something else than `human` or `json`.
    #[error("LOG_FORMAT must be `human` or `json`")]
    BadFormat,
    /// `LOG_LEVEL` is not a valid filter.
    #[error("LOG_LEVEL is not a valid level or filter (e.g. `info`, `debug`, `mcp_secure=debug`)")]
    BadLevel,
    /// A global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Installs a `tracing` subscriber writing to **stderr**, configured by the environment:
/// `LOG_FORMAT` (`human`, default, or `json`) and `LOG_LEVEL` (default `info,rmcp=warn`; any
/// `EnvFilter` directive such as `warn,mcp_secure::audit=info`).
pub fn init_logging() -> Result<(), LoggingError> {
    let format = match std::env::var("LOG_FORMAT") {
        Ok(v) => LogFormat::parse(&v).ok_or(LoggingError::BadFormat)?,
        Err(_) => LogFormat::Human,
    };
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info,rmcp=warn".to_owned());
    init_logging_with(format, &level)
}

/// Installs a stderr subscriber as `settings` (`security.logging`, `LOG_FORMAT`, `LOG_LEVEL`)
/// say.
pub fn init_logging_from(settings: &crate::config::LogSettings) -> Result<(), LoggingError> {
    init_logging_with(settings.format, &settings.level)
}

/// stderr, with every line passed through [`crate::redact::log_redactor`]: registered secrets,
/// connection-string credentials, bearer tokens and JWTs are masked whichever crate logs them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // tracing-subscriber's formatter writes one whole event per call.
        let mut stderr = std::io::stderr().lock();
        match std::str::from_utf8(buf)
            .ok()
            .and_then(|text| crate::redact::log_redactor().redact_str(text))
        {
            Some((masked, _)) => stderr.write_all(masked.as_bytes())?,
            None => stderr.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Routes panic messages into the log (redacted, escaped) instead of raw stderr: a panic
/// whose message holds a secret does not print it. [`init_logging`] installs it; call it
/// yourself when you bring your own subscriber.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let payload = crate::redact::log_redactor()
            .redact_str(&payload)
            .map_or(payload, |(masked, _)| masked);
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(
            target: TARGET,
            event = "panic",
            location = %location,
            message = %Sanitized(&payload),
            "panic"
        );
    }));
}

/// Installs a stderr subscriber with an explicit format and filter. Lines are redacted
/// ([`RedactingStderr`]) and panics are logged through it.
pub fn init_logging_with(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(filter).map_err(|_| LoggingError::BadLevel)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        .with_target(true);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    result.map_err(|_| LoggingError::AlreadyInstalled)?;
    install_panic_hook();
    Ok(())
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

    #[test]
    fn log_format_parse() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("human"), Some(LogFormat::Human));
        assert_eq!(LogFormat::parse("xml"), None);
    }
}
