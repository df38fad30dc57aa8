//! The examples users copy run as they say: the minimal server, and the migration of an rmcp
//! server in three steps (before, half migrated, after), each driven by rmcp's client over
//! stdio after listing its tools.

use mcp_secure_tests::{StdioServer, error_body, ok_body};
use serde_json::json;

fn names(tools: &[mcp_secure::rmcp::model::Tool]) -> Vec<String> {
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_minimal_example_serves_its_one_tool() {
    let server = StdioServer::start(env!("CARGO_BIN_EXE_minimal"), &[("LOG_LEVEL", "warn")]).await;
    let tools = server.client().list_all_tools().await.unwrap();
    assert_eq!(names(&tools), ["hello"]);
    let said = server.call("hello", json!({"name": "Ada"})).await;
    assert_eq!(ok_body(&said), json!("Hello, Ada!"));
    let refused = server.call("hello", json!({"name": ""})).await;
    assert_eq!(error_body(&refused)["code"], "INVALID_INPUT");
    server.finish().await;
    assert!(
        std::fs::read_to_string("../examples/minimal.rs")
            .unwrap()
            .lines()
            .count()
            < 40
    );
}

#[tokio::test]
async fn the_migration_keeps_every_tool_working_at_every_step() {
    // Step 0: plain rmcp.
    let before = StdioServer::start(env!("CARGO_BIN_EXE_migrate_before"), &[]).await;
    assert_eq!(
        names(&before.client().list_all_tools().await.unwrap()),
        ["add", "clear", "list"]
    );
    assert_eq!(
        ok_body(&before.call("add", json!({"item": "milk"})).await),
        json!("1 items")
    );
    before.finish().await;

    // Step 1: one secured tool, two plain ones, all behind the floor; named at start.
    let step1 = StdioServer::start(
        env!("CARGO_BIN_EXE_migrate_step1"),
        &[("MCP_STDIO_SCOPES", "todo:write"), ("LOG_LEVEL", "warn")],
    )
    .await;
    let tools = step1.client().list_all_tools().await.unwrap();
    assert_eq!(names(&tools), ["add", "clear", "list"]);
    assert_eq!(
        ok_body(&step1.call("add", json!({"item": "milk"})).await),
        json!("1 items")
    );
    assert_eq!(ok_body(&step1.call("list", json!({})).await), json!("milk"));
    let invalid = step1.call("add", json!({"item": ""})).await;
    assert_eq!(error_body(&invalid)["code"], "INVALID_INPUT");
    let stderr = step1.finish().await;
    assert!(
        stderr.contains("2 tools have no declared policy"),
        "{stderr}"
    );
    assert!(stderr.contains("clear list"), "{stderr}");

    // Step 2: every tool secured; a read-only caller sees and calls only `list`.
    let after = StdioServer::start(
        env!("CARGO_BIN_EXE_migrate_after"),
        &[("MCP_STDIO_SCOPES", "todo:read"), ("LOG_LEVEL", "warn")],
    )
    .await;
    assert_eq!(
        names(&after.client().list_all_tools().await.unwrap()),
        ["list"]
    );
    let refused = after.call("clear", json!({})).await;
    assert_eq!(error_body(&refused)["code"], "INSUFFICIENT_SCOPE");
    let stderr = after.finish().await;
    assert!(!stderr.contains("no declared policy"), "{stderr}");
}
