//! Where log lines go: a `tracing` subscriber on **stderr** (over stdio, stdout carries the
//! protocol), as text or JSON, with every line passed through the log redactor, and a panic
//! hook that logs panics redacted.

use crate::config::{LogFormat, LogSettings};

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

/// Installs the stderr subscriber as the environment says: `LOG_FORMAT` (`human`, default,
/// or `json`) and `LOG_LEVEL` (default `info,rmcp=warn`; any `EnvFilter` directive such as
/// `warn,mcp_secure::audit=info`). With a loaded configuration, prefer [`init`].
pub fn init_from_env() -> Result<(), LoggingError> {
    let settings = crate::SecureConfig::logging_from_env().map_err(|_| LoggingError::BadFormat)?;
    init(&settings)
}

/// Installs the stderr subscriber as `settings` (`security.logging`, `LOG_FORMAT`,
/// `LOG_LEVEL`) say.
pub fn init(settings: &LogSettings) -> Result<(), LoggingError> {
    init_with(settings.format, &settings.level)
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
/// whose message holds a secret does not print it. [`init`] installs it; call it yourself
/// when you bring your own subscriber.
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
            target: crate::audit::TARGET,
            event = "panic",
            location = %location,
            message = %crate::audit::Sanitized(&payload),
            "panic"
        );
    }));
}

/// Installs a stderr subscriber with an explicit format and filter. Lines are redacted
/// ([`RedactingStderr`]) and panics are logged through it.
pub fn init_with(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
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

/// Writes a start-up notice: through `tracing` when a subscriber is installed, else to
/// stderr.
pub(crate) fn notice(message: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: crate::audit::TARGET, "{message}");
    } else {
        eprintln!("mcp-secure: {message}");
    }
}

#[cfg(test)]
mod tests {
    use crate::config::LogFormat;

    #[test]
    fn log_format_parse() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("human"), Some(LogFormat::Human));
        assert_eq!(LogFormat::parse("xml"), None);
    }
}
