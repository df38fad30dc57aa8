//! Shared helpers for the integration tests: a real rmcp client talking to the `data_server`
//! example over stdio, and a log capture for in-process servers.

// Test support: a panic is how a helper reports a failed expectation.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, JsonObject},
    service::RunningService,
    transport::TokioChildProcess,
};
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// A `data_server` process driven by rmcp's client over its stdin/stdout.
#[allow(missing_debug_implementations)]
pub struct StdioServer {
    client: RunningService<RoleClient, ()>,
    stderr: tokio::task::JoinHandle<String>,
}

impl StdioServer {
    /// Starts the server binary at `program` with `env` (and JSON logs), and completes the
    /// MCP handshake.
    pub async fn start(program: &str, env: &[(&str, &str)]) -> Self {
        let mut command = tokio::process::Command::new(program);
        command.env_clear().env("LOG_FORMAT", "json");
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let (transport, stderr) = TokioChildProcess::builder(command)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn data_server");
        let mut stderr = stderr.expect("stderr is piped");
        let stderr = tokio::spawn(async move {
            let mut out = String::new();
            let _ = stderr.read_to_string(&mut out).await;
            out
        });
        let client = ().serve(transport).await.expect("MCP handshake");
        Self { client, stderr }
    }

    /// The client.
    pub fn client(&self) -> &RunningService<RoleClient, ()> {
        &self.client
    }

    /// Calls `tool` with `arguments` (a JSON object).
    pub async fn call(&self, tool: &'static str, arguments: Value) -> CallToolResult {
        call(&self.client, tool, arguments).await
    }

    /// Closes the session, waits for the server to exit, and returns everything it wrote to
    /// stderr.
    pub async fn finish(self) -> String {
        let _ = self.client.cancel().await;
        tokio::time::timeout(std::time::Duration::from_secs(10), self.stderr)
            .await
            .expect("server exits after stdin closes")
            .unwrap_or_default()
    }
}

/// Calls `tool` on any rmcp client.
pub async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &'static str,
    arguments: Value,
) -> CallToolResult {
    let arguments: JsonObject = match arguments {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .expect("tools/call answered")
}

/// The `{"error": {...}}` object of a denied call (panics if the call succeeded).
pub fn error_body(result: &CallToolResult) -> &serde_json::Map<String, Value> {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error result: {result:?}"
    );
    result
        .structured_content
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_object)
        .expect("structured error body")
}

/// The error code of a denied call.
pub fn error_code(result: &CallToolResult) -> String {
    error_body(result)["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The structured content of a successful call, or its first text block as a JSON string.
pub fn ok_body(result: &CallToolResult) -> Value {
    assert_eq!(result.is_error, Some(false), "expected success: {result:?}");
    match &result.structured_content {
        Some(v) => v.clone(),
        None => result
            .content
            .first()
            .and_then(|c| c.as_text())
            .map(|t| Value::String(t.text.clone()))
            .unwrap_or(Value::Null),
    }
}

/// Everything a result would show a client, as one string (for canary checks).
pub fn wire_text(result: &CallToolResult) -> String {
    serde_json::to_string(result).unwrap_or_default()
}

/// JSON log lines on the `mcp_secure::audit` target.
pub fn audit_events(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["target"] == "mcp_secure::audit")
        .collect()
}

thread_local! {
    static CAPTURED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Captures the `tracing` output of the current thread, as JSON lines.
///
/// One global subscriber is installed for the whole test binary; it writes each event into a
/// buffer of the thread that emitted it. A `#[tokio::test]` runs its runtime, and every task
/// it spawns, on its own thread, so a test sees exactly its own events, whatever runs in
/// parallel. (Thread-local default subscribers are not reliable here: tracing caches callsite
/// interest globally.)
#[derive(Debug, Clone, Copy)]
pub struct LogCapture;

struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|b| b.borrow_mut().extend_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Starts capturing on this thread (clearing what was captured before).
    pub fn start() -> Self {
        static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
        INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ThreadWriter)
                .finish();
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        CAPTURED.with(|b| b.borrow_mut().clear());
        Self
    }

    /// Everything this thread logged since [`LogCapture::start`].
    pub fn contents(&self) -> String {
        CAPTURED.with(|b| String::from_utf8_lossy(&b.borrow()).into_owned())
    }
}

#[path = "oauth.rs"]
pub mod oauth;
