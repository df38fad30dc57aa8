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

/// The Python interpreter with the `mcp` package (`MCP_SECURE_PYTHON`, else `python3`), or
/// `None`: `test` skips, unless `MCP_SECURE_REQUIRE_CLIENTS` (set by `.ci/run`) makes the
/// missing client a failure.
pub fn python_with_mcp(test: &str) -> Option<String> {
    let python = std::env::var("MCP_SECURE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import mcp.client.auth, httpx2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("MCP_SECURE_REQUIRE_CLIENTS").is_none(),
        "{test}: MCP_SECURE_REQUIRE_CLIENTS is set but {python} has no `mcp` package"
    );
    eprintln!("skipped {test}: no Python with the `mcp` package (set MCP_SECURE_PYTHON)");
    None
}

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

/// The `{"error": {...}}` object of a denied call (panics if the call succeeded): from the
/// structured content, or, for a tool with an output schema (whose error results carry the
/// body as text only), from the text content.
pub fn error_body(result: &CallToolResult) -> serde_json::Map<String, Value> {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error result: {result:?}"
    );
    let from_text = || {
        result
            .content
            .first()
            .and_then(|c| c.as_text())
            .and_then(|t| serde_json::from_str::<Value>(&t.text).ok())
    };
    result
        .structured_content
        .clone()
        .or_else(from_text)
        .and_then(|v| v.get("error").cloned())
        .and_then(|v| v.as_object().cloned())
        .expect("an error body")
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

/// A `redis-server` child process on a free loopback port, for the shared-limiter tests.
///
/// [`RedisServer::start`] returns `None` (after saying why on stderr) when no `redis-server`
/// binary is found, so those tests skip on machines without Redis; with
/// `MCP_SECURE_REQUIRE_REDIS=1` (set by `.ci/run`) a missing binary fails instead.
#[derive(Debug)]
pub struct RedisServer {
    program: std::path::PathBuf,
    port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    /// Starts a server with no persistence, or `None` when `redis-server` is not installed.
    pub async fn start() -> Option<Self> {
        let program = std::env::var_os("MCP_SECURE_REDIS_SERVER")
            .map(std::path::PathBuf::from)
            .or_else(|| find_on_path("redis-server"));
        let Some(program) = program else {
            assert!(
                std::env::var("MCP_SECURE_REQUIRE_REDIS").as_deref() != Ok("1"),
                "MCP_SECURE_REQUIRE_REDIS=1 but no redis-server on PATH"
            );
            eprintln!(
                "skipping: redis-server not found on PATH (install it, e.g. `apt-get install redis-server`, or set MCP_SECURE_REDIS_SERVER)"
            );
            return None;
        };
        let mut server = Self {
            program,
            port: free_port(),
            child: None,
        };
        server.restart().await;
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// Kills the server (SIGKILL): its data is gone, as after a crash without persistence.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open but nothing
    /// answers, like an overloaded or partitioned Redis.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Starts the server again on the same port and waits until it answers `PING`.
    pub async fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new(&self.program)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if self.ping().await {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer on port {}",
                self.port
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn ping(&self) -> bool {
        let Ok(mut conn) = self.connection().await else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }

    /// A fresh connection, for inspecting keys.
    pub async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url())?;
        tokio::time::timeout(
            std::time::Duration::from_secs(2),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))?
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A port that was free on 127.0.0.1 a moment ago (for a child server to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until something accepts connections on 127.0.0.1:`port` (at most 10 s).
pub async fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on port {port}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
