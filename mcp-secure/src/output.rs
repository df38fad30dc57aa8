//! What a secured tool may return, and how it becomes a tool result.

use std::borrow::Cow;

use rmcp::{
    handler::server::wrapper::Json,
    model::{CallToolResult, ContentBlock},
};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Denial, ToolError};

/// The result of running a tool's adapter: what the pipeline redacts, audits and sends.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Structured output (`Json<T>`), serialized but not yet rendered.
    Structured(Value),
    /// Any other tool result.
    Result(CallToolResult),
    /// The tool returned an error.
    Failed(ToolError),
    /// The arguments failed parsing or validation; the tool did not run.
    Rejected(Denial),
    /// A JSON-RPC error to answer instead of a result (an extractor that could not run, or
    /// a tool answering `ErrorData`).
    Error(rmcp::ErrorData),
}

/// A successful tool output.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a secured tool",
    label = "not a tool output",
    note = "return `Json<T>` (structured output, `T: Serialize + JsonSchema`), `String`, `&'static str`, `ContentBlock`, `Vec<ContentBlock>`, `CallToolResult` or `()`, alone or in `Result<_, ToolError>`"
)]
pub trait ToolOutput {
    /// Converts the output.
    fn into_outcome(self) -> Outcome;
}

impl<T: Serialize> ToolOutput for Json<T> {
    fn into_outcome(self) -> Outcome {
        match serde_json::to_value(&self.0) {
            Ok(value) => Outcome::Structured(value),
            Err(e) => Outcome::Failed(ToolError::internal(format_args!(
                "output serialization failed: {e}"
            ))),
        }
    }
}

impl ToolOutput for CallToolResult {
    fn into_outcome(self) -> Outcome {
        Outcome::Result(self)
    }
}

impl ToolOutput for String {
    fn into_outcome(self) -> Outcome {
        Outcome::Result(CallToolResult::success(vec![ContentBlock::text(self)]))
    }
}

impl ToolOutput for &'static str {
    fn into_outcome(self) -> Outcome {
        ToolOutput::into_outcome(self.to_owned())
    }
}

impl ToolOutput for Cow<'static, str> {
    fn into_outcome(self) -> Outcome {
        ToolOutput::into_outcome(self.into_owned())
    }
}

impl ToolOutput for ContentBlock {
    fn into_outcome(self) -> Outcome {
        Outcome::Result(CallToolResult::success(vec![self]))
    }
}

impl ToolOutput for Vec<ContentBlock> {
    fn into_outcome(self) -> Outcome {
        Outcome::Result(CallToolResult::success(self))
    }
}

impl ToolOutput for () {
    fn into_outcome(self) -> Outcome {
        Outcome::Result(CallToolResult::success(Vec::new()))
    }
}

/// What a secured tool method returns: a [`ToolOutput`], or `Result<impl ToolOutput, E>` with
/// `E: Into<ToolError>` (any `std::error::Error` becomes an `INTERNAL` error).
#[diagnostic::on_unimplemented(
    message = "a secured tool cannot return `{Self}`",
    label = "unsupported return type",
    note = "return `Result<T, ToolError>` (or `T` alone) where `T` is `Json<_>`, `String`, `&'static str`, `ContentBlock`, `Vec<ContentBlock>`, `CallToolResult` or `()`"
)]
pub trait ToolReturn {
    /// Converts the return value.
    fn into_outcome(self) -> Outcome;
}

impl<T: ToolOutput> ToolReturn for T {
    fn into_outcome(self) -> Outcome {
        ToolOutput::into_outcome(self)
    }
}

impl<T: ToolOutput, E: Into<ToolError>> ToolReturn for Result<T, E> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(v) => ToolOutput::into_outcome(v),
            Err(e) => Outcome::Failed(e.into()),
        }
    }
}
