//! The `data_server` example over stdio, driven by rmcp's own client: every stage of the
//! pipeline, seen from the client and in the audit log.

use std::time::{Duration, Instant};

use mcp_secure_tests::{audit_events, error_body, ok_body, wire_text};
use serde_json::{Value, json};

const CANARY: &str = "CANARY-7f3a9c-secret";

/// The `data_server` example, built by Cargo as a binary of this package.
const DATA_SERVER: &str = env!("CARGO_BIN_EXE_data_server");

struct StdioServer;

impl StdioServer {
    async fn start(env: &[(&str, &str)]) -> mcp_secure_tests::StdioServer {
        mcp_secure_tests::StdioServer::start(DATA_SERVER, env).await
    }
}

#[tokio::test]
async fn allowed_calls_succeed() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:read data:write")]).await;
    let written = server
        .call("write_data", json!({"id": "rec-1", "data": "hello"}))
        .await;
    assert_eq!(ok_body(&written)["version"], 1);
    assert_eq!(ok_body(&written)["updated_by"], "local");
    let read = server.call("read_data", json!({"id": "rec-1"})).await;
    assert_eq!(ok_body(&read)["data"], "hello");
    let status = server.call("server_status", json!({})).await;
    assert_eq!(ok_body(&status)["caller"], "local");
    server.finish().await;
}

#[tokio::test]
async fn insufficient_scope_names_the_missing_scopes() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:read")]).await;
    let result = server
        .call("write_data", json!({"id": "rec-1", "data": "x"}))
        .await;
    let body = error_body(&result);
    assert_eq!(body["code"], "INSUFFICIENT_SCOPE");
    assert_eq!(body["required"], json!(["data:write"]));
    assert_eq!(body["missing"], json!(["data:write"]));
    let result = server.call("debug_config", json!({})).await;
    assert_eq!(error_body(&result)["missing"], json!(["admin:full"]));
    server.finish().await;
}

#[tokio::test]
async fn the_hierarchy_grants_implied_scopes() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "admin:full")]).await;
    // admin:full ⊃ data:write ⊃ data:read
    let written = server
        .call("write_data", json!({"id": "a", "data": "x"}))
        .await;
    ok_body(&written);
    ok_body(&server.call("read_data", json!({"id": "a"})).await);
    ok_body(
        &server
            .call("admin_operation", json!({"action": "stats"}))
            .await,
    );
    server.finish().await;
}

#[tokio::test]
async fn invalid_input_names_field_and_rule_never_the_value() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:write")]).await;
    let result = server
        .call("read_data", json!({"id": format!("../{CANARY}")}))
        .await;
    let body = error_body(&result);
    assert_eq!(body["code"], "INVALID_INPUT");
    assert_eq!(body["fields"][0]["field"], "id");
    assert_eq!(body["fields"][0]["rule"], "identifier");
    assert!(!wire_text(&result).contains(CANARY));

    // Wrong type: serde's message would quote the value; ours does not.
    let result = server.call("read_data", json!({"id": {"x": CANARY}})).await;
    assert_eq!(error_body(&result)["fields"][0]["rule"], "type");
    assert!(!wire_text(&result).contains(CANARY));

    // Missing field.
    let result = server.call("write_data", json!({"id": "x"})).await;
    let body = error_body(&result);
    assert_eq!(
        (
            body["fields"][0]["field"].as_str(),
            body["fields"][0]["rule"].as_str()
        ),
        (Some("data"), Some("required"))
    );
    server.finish().await;
}

#[tokio::test]
async fn injection_guard_refuses_sql() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:write")]).await;
    let result = server
        .call("process_input", json!({"data": "1; DROP TABLE users --"}))
        .await;
    let body = error_body(&result);
    assert_eq!(body["code"], "INVALID_INPUT");
    assert_eq!(body["fields"][0]["rule"], "sql_injection");
    let ok = server
        .call("process_input", json!({"data": "Order 42 for O'Brien"}))
        .await;
    assert_eq!(ok_body(&ok)["words"], 4);
    server.finish().await;
}

#[tokio::test]
async fn oversized_arguments_are_refused_before_parsing() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:write")]).await;
    let result = server
        .call(
            "write_data",
            json!({"id": "x", "data": "a".repeat(100_000)}),
        )
        .await;
    let body = error_body(&result);
    assert_eq!(body["code"], "INVALID_INPUT");
    assert_eq!(body["fields"][0]["rule"], "max_size");
    assert_eq!(body["limit_bytes"], 65_536);
    server.finish().await;
}

#[tokio::test]
async fn rate_limit_admits_the_burst_then_refuses_with_an_honoured_retry_after() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:write")]).await;
    // write_data: rate = 30 per minute, burst = 5.
    for i in 0..5 {
        let r = server
            .call("write_data", json!({"id": format!("k{i}"), "data": "x"}))
            .await;
        ok_body(&r);
    }
    let started = Instant::now();
    let limited = server
        .call("write_data", json!({"id": "k5", "data": "x"}))
        .await;
    let body = error_body(&limited);
    assert_eq!(body["code"], "RATE_LIMITED");
    assert_eq!(body["message"], "Too many requests");
    let retry_after = body["retry_after"].as_u64().expect("retry_after seconds");
    // One call is earned back every 2 s; rounded up, never under.
    assert_eq!(retry_after, 2);
    // Other tools have their own budget.
    ok_body(&server.call("read_data", json!({"id": "k0"})).await);
    // Honour it: after retry_after, the next call is admitted.
    tokio::time::sleep(Duration::from_secs(retry_after).saturating_sub(started.elapsed())).await;
    let again = server
        .call("write_data", json!({"id": "k5", "data": "x"}))
        .await;
    ok_body(&again);
    let stderr = server.finish().await;
    let limited: Vec<Value> = audit_events(&stderr)
        .into_iter()
        .filter(|e| e["reason"] == "rate_limited")
        .collect();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["retry_after_s"], 2);
}

#[tokio::test]
async fn registered_secrets_never_reach_the_client_or_the_log() {
    let db_url = format!("postgresql://app:{CANARY}@db.internal/app");
    let server = StdioServer::start(&[
        ("MCP_STDIO_SCOPES", "admin:full"),
        ("API_KEY", CANARY),
        ("DATABASE_URL", &db_url),
    ])
    .await;
    // A caller stores the secret, then reads it back: the output stage masks it.
    let written = server
        .call(
            "write_data",
            json!({"id": "leak", "data": format!("key={CANARY}")}),
        )
        .await;
    assert!(!wire_text(&written).contains(CANARY));
    let read = server.call("read_data", json!({"id": "leak"})).await;
    assert!(!wire_text(&read).contains(CANARY));
    assert_eq!(ok_body(&read)["data"], "key=***");
    // debug_config shows that secrets are set, never what they are.
    let config = server.call("debug_config", json!({})).await;
    let body = ok_body(&config);
    assert_eq!(body["api_key"], "***");
    assert_eq!(body["database_url"], "postgresql://***:***@db.internal/app");
    assert!(!wire_text(&config).contains(CANARY));
    let stderr = server.finish().await;
    assert!(!stderr.contains(CANARY), "the log holds the secret");
    let redactions: Vec<Value> = audit_events(&stderr)
        .into_iter()
        .filter(|e| e["event"] == "redaction_applied")
        .collect();
    assert!(!redactions.is_empty());
    assert!(
        redactions
            .iter()
            .all(|e| e["redactions"].as_u64() >= Some(1))
    );
}

#[tokio::test]
async fn every_decision_is_audited() {
    let server = StdioServer::start(&[
        ("MCP_STDIO_SCOPES", "data:read"),
        ("MCP_STDIO_SUBJECT", "alice\nINFO forged line"),
    ])
    .await;
    ok_body(&server.call("server_status", json!({})).await);
    server
        .call("write_data", json!({"id": "a", "data": "b"}))
        .await;
    server
        .call("read_data", json!({"id": format!("{CANARY}/..")}))
        .await;
    let stderr = server.finish().await;
    // No raw newline from the subject can forge a log line.
    assert!(!stderr.lines().any(|l| l.starts_with("INFO forged")));
    assert!(!stderr.contains(CANARY));
    let events = audit_events(&stderr);
    let find = |decision: &str, reason: Option<&str>| {
        events.iter().find(|e| {
            e["event"] == "tool_call"
                && e["decision"] == decision
                && reason.is_none_or(|r| e["reason"] == r)
        })
    };
    let allowed = find("allowed", None).expect("allowed event");
    assert_eq!(allowed["tool"], "server_status");
    assert_eq!(allowed["auth"], "local");
    assert!(allowed["duration_us"].is_u64());
    let denied = find("denied", Some("insufficient_scope")).expect("scope denial");
    assert_eq!(denied["tool"], "write_data");
    assert_eq!(denied["missing_scopes"], "data:write");
    assert_eq!(denied["code"], "INSUFFICIENT_SCOPE");
    let invalid = find("denied", Some("invalid_input")).expect("invalid input");
    assert_eq!(invalid["fields"], "id:identifier");
    assert!(
        events
            .iter()
            .all(|e| e["subject"].as_str().is_none_or(|s| !s.contains('\n')))
    );
    // The startup notice says which scopes the local caller holds.
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "serving over stdio" && e["scopes"] == "data:read")
    );
}

#[tokio::test]
async fn tools_list_shows_permitted_tools_with_their_scopes() {
    let server = StdioServer::start(&[("MCP_STDIO_SCOPES", "data:read")]).await;
    let tools = server.client().list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["read_data", "server_status"]);
    let read = tools.iter().find(|t| t.name == "read_data").unwrap();
    let meta = read.meta.as_ref().expect("_meta");
    assert_eq!(meta.0["mcp-secure/scopes"], json!(["data:read"]));
    assert_eq!(meta.0["mcp-secure/rate"]["count"], 120);
    assert!(read.output_schema.is_some());
    server.finish().await;
}

#[tokio::test]
async fn unset_scopes_grant_every_declared_scope_and_say_so() {
    let server = StdioServer::start(&[]).await;
    let tools = server.client().list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 6);
    let stderr = server.finish().await;
    assert!(stderr.contains("MCP_STDIO_SCOPES is not set"));
    assert!(stderr.contains("admin:full data:read data:write"));
}

#[test]
fn malformed_stdio_scopes_stop_the_server() {
    let out = std::process::Command::new(DATA_SERVER)
        .env("MCP_STDIO_SCOPES", "data:read\u{a0}admin:full")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run data_server");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MCP_STDIO_SCOPES"), "{stderr}");
    assert!(stderr.contains("U+00A0"), "{stderr}");
}

#[test]
fn sse_is_refused_with_a_pointer_to_streamable_http() {
    let out = std::process::Command::new(DATA_SERVER)
        .env("MCP_TRANSPORT", "sse")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run data_server");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deprecated"), "{stderr}");
    assert!(stderr.contains("streamable_http"), "{stderr}");
}

#[test]
fn running_as_root_is_a_warning_and_an_error_under_strict() {
    let as_root = mcp_secure::SecureConfig::running_as_root();
    let out = std::process::Command::new(DATA_SERVER)
        .env("MCP_STRICT", "true")
        .env("MCP_STDIO_SCOPES", "data:read")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run data_server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if as_root {
        assert!(!out.status.success());
        assert!(stderr.contains("running as root"), "{stderr}");
        let out = std::process::Command::new(DATA_SERVER)
            .env("MCP_STDIO_SCOPES", "data:read")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run data_server");
        // Without strict: a warning, then it serves (stdin is closed at once, so the MCP
        // handshake is what ends it).
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("running as root"), "{stderr}");
        assert!(stderr.contains("handshake"), "{stderr}");
    } else {
        assert!(stderr.contains("handshake"), "{stderr}");
        assert!(!stderr.contains("running as root"));
    }
}
