//! The HTTP transport end to end: a real server on a loopback port, a JWKS from a real local
//! authorization server stub, tokens signed with real keys, raw HTTP and rmcp's own client.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use mcp_secure_tests::oauth::{Stack, StackOptions, post, post_bearer, tools_call, tools_list};
use serde_json::json;

#[tokio::test]
async fn protected_resource_metadata_is_served_at_both_well_known_paths() {
    let stack = Stack::start(StackOptions::default()).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = reqwest::get(format!("{}{path}", stack.base)).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let doc: serde_json::Value = r.json().await.unwrap();
        assert_eq!(doc["resource"], stack.mcp_url);
        assert_eq!(doc["authorization_servers"], json!([stack.auth.issuer()]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["admin:full", "data:read", "data:write"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    stack.stop().await;
}

#[tokio::test]
async fn no_token_gets_401_pointing_at_the_metadata() {
    let stack = Stack::start(StackOptions::default()).await;
    let r = post(&stack.mcp_url, None, &tools_list(), &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.challenge(),
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            stack.base
        )
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_valid_token_calls_tools() {
    let stack = Stack::start(StackOptions::default()).await;
    let token = stack.minter.token("data:read");
    let r = post_bearer(&stack.mcp_url, &token, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let msg = r.json();
    let who = &msg["result"]["structuredContent"];
    assert_eq!(who["subject"], "alice");
    assert_eq!(who["client_id"], "test-client");
    assert_eq!(who["method"], "bearer");
    stack.stop().await;
}
