//! Errors a secured call can end with, and how they reach the client.
//!
//! Every error reaches the client as an MCP tool result with `isError: true` whose structured
//! content is `{"error": {"code": …, "message": …, …}}` (also rendered as its text content).
//! Messages are fixed or written by the server author; nothing the client sent is echoed, and
//! every message passes the output redactor before it leaves.

use std::{borrow::Cow, fmt, time::Duration};

use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

/// The machine-readable code of a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No authenticated caller.
    Unauthenticated,
    /// The caller lacks a scope the tool requires.
    InsufficientScope,
    /// The caller exceeded the tool's rate limit.
    RateLimited,
    /// The arguments failed parsing, size or validation rules.
    InvalidInput,
    /// The tool failed; details stay in the server's log.
    Internal,
    /// The call ran past the server's time limit.
    Timeout,
    /// The tool needed to ask the client something (sampling, elicitation, roots) and could
    /// not: the transport cannot carry the request (stateless HTTP), the client did not
    /// declare the capability, or it did not answer in time.
    ClientUnavailable,
    /// A code chosen by the tool author, e.g. `"NOT_FOUND"`.
    Custom(Cow<'static, str>),
}

impl ErrorCode {
    /// The wire form, e.g. `"RATE_LIMITED"`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::InsufficientScope => "INSUFFICIENT_SCOPE",
            Self::RateLimited => "RATE_LIMITED",
            Self::InvalidInput => "INVALID_INPUT",
            Self::Internal => "INTERNAL",
            Self::Timeout => "TIMEOUT",
            Self::ClientUnavailable => "CLIENT_UNAVAILABLE",
            Self::Custom(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a tool returns. Build one with [`ToolError::new`], [`ToolError::invalid_input`],
/// [`ToolError::not_found`] or [`ToolError::internal`]; `?` on any `std::error::Error` turns it
/// into an `INTERNAL` error whose text is logged (escaped and redacted), never sent.
///
/// `ToolError` deliberately does not implement `std::error::Error`, so that the blanket
/// conversion from every error type can exist.
pub struct ToolError {
    code: ErrorCode,
    message: Cow<'static, str>,
    details: Map<String, Value>,
    /// Server-side only: the underlying error's type and text, for the log.
    cause: Option<Cause>,
    /// Answer with this JSON-RPC error instead of an error result.
    rpc: Option<Box<rmcp::ErrorData>>,
}

pub(crate) struct Cause {
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

impl ToolError {
    /// An error with a code of the author's choosing, e.g. `ToolError::new("NOT_FOUND", "…")`.
    /// Codes are upper snake case by convention.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        let code = code.into();
        let code = match code.as_ref() {
            "UNAUTHENTICATED" => ErrorCode::Unauthenticated,
            "INSUFFICIENT_SCOPE" => ErrorCode::InsufficientScope,
            "RATE_LIMITED" => ErrorCode::RateLimited,
            "INVALID_INPUT" => ErrorCode::InvalidInput,
            "INTERNAL" => ErrorCode::Internal,
            "TIMEOUT" => ErrorCode::Timeout,
            "CLIENT_UNAVAILABLE" => ErrorCode::ClientUnavailable,
            _ => ErrorCode::Custom(code),
        };
        Self::with_code(code, message)
    }

    pub(crate) fn with_code(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Map::new(),
            cause: None,
            rpc: None,
        }
    }

    /// Answers the call with a JSON-RPC error rather than an `isError` result (for example
    /// invalid params, or a client capability the tool needs). Its message and data pass the
    /// redactor; the call is audited as a tool error.
    pub fn json_rpc(error: rmcp::ErrorData) -> Self {
        let mut e = Self::with_code(ErrorCode::Internal, error.message.to_string());
        e.rpc = Some(Box::new(error));
        e
    }

    /// The JSON-RPC error to answer with, if the tool chose one.
    pub(crate) fn take_rpc(&mut self) -> Option<rmcp::ErrorData> {
        self.rpc.take().map(|e| *e)
    }

    /// `INVALID_INPUT` raised by the tool itself (beyond the declarative rules). Do not put
    /// the submitted value in `message`.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::with_code(ErrorCode::InvalidInput, message)
    }

    /// `NOT_FOUND`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new("NOT_FOUND", message)
    }

    /// `INTERNAL`: the client sees "Internal error"; `error`'s type and text go to the log
    /// (control characters escaped, secrets redacted).
    pub fn internal(error: impl fmt::Display) -> Self {
        let mut e = Self::with_code(ErrorCode::Internal, "Internal error");
        e.cause = Some(Cause {
            kind: "tool",
            text: error.to_string(),
        });
        e
    }

    /// Adds a field to the error body (`{"error": {…, key: value}}`).
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let key = key.into();
        if !matches!(key.as_str(), "code" | "message") {
            self.details.insert(key, value.into());
        }
        self
    }

    /// The error's code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn cause(&self) -> Option<&Cause> {
        self.cause.as_ref()
    }

    /// The `{"error": {...}}` body.
    pub fn body(&self) -> Value {
        let mut error = Map::with_capacity(2 + self.details.len());
        error.insert("code".into(), Value::String(self.code.as_str().to_owned()));
        error.insert("message".into(), Value::String(self.message.to_string()));
        for (k, v) in &self.details {
            error.insert(k.clone(), v.clone());
        }
        json!({ "error": Value::Object(error) })
    }

    /// The tool result carrying this error (`isError: true`): the `{"error": {...}}` body as
    /// the text content and as the structured content.
    pub fn into_result(self) -> CallToolResult {
        error_result(self.body(), false)
    }
}

/// An `isError` result carrying `body` (`{"error": {...}}`) as JSON text, every client's
/// readable form. For a tool that declares an output schema (`declares_output_schema`) the
/// body is the text alone: clients validate `structuredContent` against the tool's output
/// schema, error results included (the TypeScript SDK 1.x does, and throws `-32602` on a
/// mismatch), so an error object there would hide the error from them. Otherwise it is also
/// the structured content.
pub fn error_result(body: Value, declares_output_schema: bool) -> CallToolResult {
    if declares_output_schema {
        CallToolResult::error(vec![rmcp::model::ContentBlock::text(body.to_string())])
    } else {
        CallToolResult::structured_error(body)
    }
}

/// Makes an `isError` result of a tool with an output schema readable by every client: its
/// structured content (which would fail the schema) moves into the text content.
pub(crate) fn unstructure_error(result: &mut CallToolResult) {
    if result.is_error != Some(true) {
        return;
    }
    if let Some(structured) = result.structured_content.take()
        && result.content.is_empty()
    {
        result
            .content
            .push(rmcp::model::ContentBlock::text(structured.to_string()));
    }
}

impl<E> From<E> for ToolError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let mut e = Self::with_code(ErrorCode::Internal, "Internal error");
        e.cause = Some(Cause {
            kind: std::any::type_name::<E>(),
            text: error.to_string(),
        });
        e
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolError")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("details", &self.details.keys().collect::<Vec<_>>())
            .field("cause", &self.cause.as_ref().map(|c| c.kind))
            .finish()
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// One field that failed input validation: its path and the rule it broke. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// `id`, `items[2].name`, or `(arguments)` for the whole input.
    pub field: String,
    /// `required`, `type`, `length`, `range`, `sql_injection`, …
    pub rule: String,
    /// The rule's message, when the server author wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why the pipeline refused a call before (or instead of) running the tool.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Denial {
    /// No authenticated principal reached the call.
    Unauthenticated,
    /// Scopes missing.
    InsufficientScope {
        /// Every scope the tool requires.
        required: Vec<&'static str>,
        /// The required scopes the caller does not hold (with an unmet `scopes_any`, the
        /// first of those).
        missing: Vec<&'static str>,
        /// The tool's `scopes_any`: one of them is required too (empty without).
        any_of: Vec<&'static str>,
    },
    /// Over the rate limit.
    RateLimited {
        /// When the next call will be admitted.
        retry_after: Duration,
    },
    /// The rate limiter could not decide (a shared store is down and the policy fails closed).
    RateLimiterUnavailable,
    /// Arguments failed size, parsing or validation.
    InvalidInput {
        /// What failed.
        fields: Vec<FieldError>,
    },
    /// The arguments exceeded the size cap.
    InputTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The server could not run the call (e.g. its tool router failed to build).
    Internal,
    /// The tool ran past the server's time limit and was stopped.
    TimedOut {
        /// The limit.
        after: Duration,
    },
}

/// `retry_after` in whole seconds, rounded up, at least 1: never under-reports.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

impl Denial {
    /// The error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::InsufficientScope { .. } => ErrorCode::InsufficientScope,
            Self::RateLimited { .. } | Self::RateLimiterUnavailable => ErrorCode::RateLimited,
            Self::InvalidInput { .. } | Self::InputTooLarge { .. } => ErrorCode::InvalidInput,
            Self::Internal => ErrorCode::Internal,
            Self::TimedOut { .. } => ErrorCode::Timeout,
        }
    }

    /// The audit reason: a fixed, lower-case kind.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::RateLimited { .. } => "rate_limited",
            Self::RateLimiterUnavailable => "rate_limiter_unavailable",
            Self::InvalidInput { .. } => "invalid_input",
            Self::InputTooLarge { .. } => "input_too_large",
            Self::Internal => "internal",
            Self::TimedOut { .. } => "timed_out",
        }
    }

    /// As a [`ToolError`] with the standard message and fields.
    pub fn to_tool_error(&self) -> ToolError {
        let code = self.code();
        match self {
            Self::Unauthenticated => ToolError::with_code(code, "Authentication required"),
            Self::InsufficientScope {
                required,
                missing,
                any_of,
            } => {
                let message = match (required.is_empty(), any_of.is_empty()) {
                    (_, true) => {
                        format!("This tool requires the scope(s): {}", required.join(" "))
                    }
                    (true, false) => {
                        format!("This tool requires one of the scopes: {}", any_of.join(" "))
                    }
                    (false, false) => format!(
                        "This tool requires the scope(s): {} and one of: {}",
                        required.join(" "),
                        any_of.join(" ")
                    ),
                };
                let error = ToolError::with_code(code, message)
                    .with_detail("required", json!(required))
                    .with_detail("missing", json!(missing));
                if any_of.is_empty() {
                    error
                } else {
                    error.with_detail("any_of", json!(any_of))
                }
            }
            Self::RateLimited { retry_after } => ToolError::with_code(code, "Too many requests")
                .with_detail("retry_after", retry_after_secs(*retry_after)),
            Self::RateLimiterUnavailable => {
                ToolError::with_code(code, "Rate limiter unavailable; try again shortly")
                    .with_detail("retry_after", 1)
            }
            Self::InvalidInput { fields } => {
                let message = match fields.len() {
                    1 => format!(
                        "Invalid input: `{}` failed `{}`",
                        fields[0].field, fields[0].rule
                    ),
                    n => format!("Invalid input: {n} fields failed validation"),
                };
                ToolError::with_code(code, message).with_detail("fields", json!(fields))
            }
            Self::InputTooLarge { limit } => {
                ToolError::with_code(code, format!("Arguments exceed the {limit}-byte limit"))
                    .with_detail("limit_bytes", *limit)
                    .with_detail(
                        "fields",
                        json!([FieldError {
                            field: "(arguments)".into(),
                            rule: "max_size".into(),
                            message: None,
                        }]),
                    )
            }
            Self::Internal => ToolError::with_code(code, "Internal error"),
            Self::TimedOut { after } => {
                let secs = retry_after_secs(*after);
                ToolError::with_code(code, format!("The call did not finish within {secs} s"))
                    .with_detail("limit_s", secs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(59)), 59);
    }

    #[test]
    fn body_shape() {
        let body = Denial::RateLimited {
            retry_after: Duration::from_millis(59_500),
        }
        .to_tool_error()
        .body();
        assert_eq!(
            body,
            json!({"error": {"code": "RATE_LIMITED", "message": "Too many requests", "retry_after": 60}})
        );
    }

    #[test]
    fn std_errors_become_internal_without_leaking_text() {
        let e: ToolError = std::io::Error::other("password=hunter2").into();
        assert_eq!(e.code(), &ErrorCode::Internal);
        assert!(!e.body().to_string().contains("hunter2"));
        assert!(!format!("{e:?}").contains("hunter2"));
    }

    #[test]
    fn details_cannot_override_code() {
        let e = ToolError::not_found("gone").with_detail("code", "OK");
        assert_eq!(e.body()["error"]["code"], "NOT_FOUND");
    }
}
