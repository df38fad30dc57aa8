//! Every denial code a tool call can end in, read by each of the three SDK clients over
//! stdio (rmcp's, the TypeScript SDK 1.x, the Python `mcp` SDK) from the same example: the
//! same code and fields, as text, with no `structuredContent` to fail a client's
//! output-schema validation. Each client lists the tools before it calls, as real clients do.
//!
//! `UNAUTHENTICATED` is not among them: over HTTP an unauthenticated request is answered with
//! a `401` before any tool runs, and over stdio the caller is the local principal.

use serde_json::{Value, json};

use super::DATA_SERVER;
use mcp_secure_tests::{StdioServer, call, wire_text};

/// The cases: (label, tool, arguments, how many calls at most until the error).
fn cases() -> Vec<(&'static str, &'static str, Value, usize)> {
    vec![
        ("NOT_FOUND", "read_data", json!({"id": "missing"}), 1),
        (
            "INVALID_INPUT",
            "process_input",
            json!({"data": "1' OR '1'='1"}),
            1,
        ),
        (
            "INPUT_TOO_LARGE",
            "process_input",
            json!({"data": "x".repeat(200_000)}),
            1,
        ),
        (
            "INSUFFICIENT_SCOPE",
            "admin_operation",
            json!({"action": "stats"}),
            1,
        ),
        (
            "RATE_LIMITED",
            "write_data",
            json!({"id": "k", "data": "x"}),
            10,
        ),
    ]
}

/// What every client must have read.
fn assert_read_every_denial(client: &str, seen: &Value) {
    for (label, _, _, _) in cases()
        .into_iter()
        .chain([("INTERNAL", "", Value::Null, 1)])
    {
        assert_eq!(
            seen[label]["structured"], false,
            "{client}: {label} carries no structuredContent: {seen}"
        );
    }
    let code = |label: &str| seen[label]["code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(code("NOT_FOUND"), "NOT_FOUND", "{client}: {seen}");
    assert_eq!(code("INVALID_INPUT"), "INVALID_INPUT", "{client}");
    assert_eq!(
        seen["INVALID_INPUT"]["fields"][0]["field"], "data",
        "{client}"
    );
    assert_eq!(
        seen["INVALID_INPUT"]["fields"][0]["rule"], "sql_injection",
        "{client}"
    );
    assert_eq!(code("INPUT_TOO_LARGE"), "INVALID_INPUT", "{client}");
    assert_eq!(
        seen["INPUT_TOO_LARGE"]["fields"][0]["rule"], "max_size",
        "{client}"
    );
    assert_eq!(seen["INPUT_TOO_LARGE"]["limit_bytes"], 65536, "{client}");
    assert_eq!(code("INSUFFICIENT_SCOPE"), "INSUFFICIENT_SCOPE", "{client}");
    assert_eq!(
        seen["INSUFFICIENT_SCOPE"]["missing"],
        json!(["admin:full"]),
        "{client}"
    );
    assert_eq!(code("RATE_LIMITED"), "RATE_LIMITED", "{client}");
    assert!(
        seen["RATE_LIMITED"]["retry_after"]
            .as_u64()
            .is_some_and(|s| s >= 1),
        "{client}: {seen}"
    );
    assert_eq!(code("INTERNAL"), "INTERNAL", "{client}");
    // The internal error's text (it names the database URL) stays in the server's log.
    assert_eq!(seen["INTERNAL"]["message"], "Internal error", "{client}");
}

/// rmcp's client: one session with `scopes`, running `cases` in order.
async fn rmcp_session(
    scopes: &str,
    cases: Vec<(&'static str, &'static str, Value, usize)>,
) -> serde_json::Map<String, Value> {
    let server = StdioServer::start(
        DATA_SERVER,
        &[
            ("MCP_STDIO_SCOPES", scopes),
            ("MCP_RATE_LIMIT", "1000"),
            ("DATABASE_URL", "postgres://app:hunter2@db/app"),
            ("LOG_LEVEL", "error"),
        ],
    )
    .await;
    server.client().list_all_tools().await.unwrap();
    let mut seen = serde_json::Map::new();
    for (label, tool, arguments, repeat) in cases {
        for _ in 0..repeat {
            let result = call(server.client(), tool, arguments.clone()).await;
            if result.is_error == Some(true) {
                let text = result.content[0].as_text().unwrap().text.clone();
                let mut error = serde_json::from_str::<Value>(&text).unwrap()["error"].clone();
                error["structured"] = json!(result.structured_content.is_some());
                assert!(!wire_text(&result).contains("hunter2"), "{result:?}");
                seen.insert(label.to_owned(), error);
                break;
            }
        }
    }
    server.finish().await;
    seen
}

#[tokio::test]
async fn rmcps_client_reads_every_denial() {
    let mut seen = rmcp_session("data:read data:write", cases()).await;
    seen.extend(
        rmcp_session(
            "admin:full data:read data:write",
            vec![(
                "INTERNAL",
                "admin_operation",
                json!({"action": "backup"}),
                1,
            )],
        )
        .await,
    );
    assert_read_every_denial("rmcp", &Value::Object(seen));
}

#[tokio::test]
async fn the_typescript_sdk_reads_every_denial() {
    let Some(node) = crate::node::NodeClients::find("the_typescript_sdk_reads_every_denial") else {
        return;
    };
    let out = node.run(&["denials.mjs", DATA_SERVER]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_read_every_denial("typescript", &seen);
}

#[tokio::test]
async fn the_python_sdk_reads_every_denial() {
    let Some(python) = mcp_secure_tests::python_with_mcp("the_python_sdk_reads_every_denial")
    else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/denials.py");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .args([script, DATA_SERVER])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finishes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_read_every_denial("python", &seen);
}
