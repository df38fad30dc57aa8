//! Clients from outside: the example served with the embedded server, the Python SDK.

use super::*;

/// The `data_server` example over HTTP with the embedded authorization server approving as
/// `user` (scopes `data:read data:write`); returns the child, the MCP endpoint URL and the
/// authorization server's issuer.
async fn example_with_dev_auth(user: &str) -> (tokio::process::Child, String, String) {
    let (mcp_port, as_port) = (free_port(), free_port());
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_data_server"))
        .env_clear()
        .env("MCP_TRANSPORT", "http")
        .env("MCP_HTTP_ADDR", format!("127.0.0.1:{mcp_port}"))
        .env("MCP_DEV_AUTH", "true")
        .env("MCP_DEV_AUTH_ADDR", format!("127.0.0.1:{as_port}"))
        .env("MCP_DEV_AUTH_APPROVAL", "auto")
        .env("MCP_DEV_AUTH_USERS", format!("{user}=data:read data:write"))
        .env("LOG_LEVEL", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(mcp_port).await;
    (
        child,
        format!("http://127.0.0.1:{mcp_port}/mcp"),
        format!("http://127.0.0.1:{as_port}"),
    )
}

#[tokio::test]
async fn the_example_runs_over_http_with_the_embedded_server() {
    let (mut child, mcp_url, _) = example_with_dev_auth("carol").await;
    let mut oauth = OAuthState::new(mcp_url.as_str(), None).await.unwrap();
    oauth
        .start_authorization(
            AuthorizationRequest::new(REDIRECT)
                .with_scopes(["data:write"])
                .with_client_name("env test"),
        )
        .await
        .unwrap();
    let url = oauth.get_authorization_url().await.unwrap();
    let callback = dev_auth::approve_headless(&url).await.unwrap();
    oauth.handle_callback_url(&callback).await.unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(
            reqwest::Client::default(),
            oauth.into_authorization_manager().unwrap(),
        ),
        StreamableHttpClientTransportConfig::with_uri(mcp_url.clone()),
    );
    let client: RunningService<RoleClient, ()> = ().serve(transport).await.unwrap();
    let args = json!({"id": "a", "data": "b"})
        .as_object()
        .cloned()
        .unwrap();
    let r = client
        .call_tool(CallToolRequestParams::new("write_data").with_arguments(args))
        .await
        .unwrap();
    assert_eq!(r.structured_content.unwrap()["updated_by"], "carol");
    client.cancel().await.unwrap();
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_python_mcp_sdk_completes_the_oauth_flow_against_the_example() {
    let Some(python) =
        mcp_secure_tests::python_with_mcp("the_python_mcp_sdk_completes_the_oauth_flow")
    else {
        return;
    };
    let (mut server, mcp_url, issuer) = example_with_dev_auth("alice").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/oauth_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .arg(script)
            .arg(&mcp_url)
            .output(),
    )
    .await
    .expect("the Python client finishes")
    .unwrap();
    server.kill().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(seen["registered"], true);
    assert_eq!(seen["pkce_method"], "S256");
    assert_eq!(seen["resource"], mcp_url.as_str());
    assert_eq!(seen["iss"], issuer);
    // The first login asks for the 401's least-privilege scope; the write steps up.
    assert_eq!(seen["tools"], json!(["read_data", "server_status"]));
    assert_eq!(
        seen["tools_after_step_up"],
        json!(["process_input", "read_data", "server_status", "write_data"])
    );
    assert_eq!(seen["written"]["updated_by"], "alice");
    assert_eq!(seen["admin_call"], "MCPError");
}

#[tokio::test]
async fn the_typescript_sdk_completes_the_oauth_flow_steps_up_and_reads_denials() {
    let Some(node) = crate::node::NodeClients::find("the_typescript_sdk_completes_the_oauth_flow")
    else {
        return;
    };
    let (mut server, mcp_url, _) = example_with_dev_auth("dave").await;
    let out = node.run(&["oauth_client.mjs", &mcp_url]).await;
    server.kill().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(seen["registered"], true);
    // Two authorizations, both PKCE S256 bound to this resource: the 401's least-privilege
    // scope first, then the SDK's own step-up to the scope the 403 named.
    let authorizations = seen["authorizations"].as_array().unwrap();
    assert_eq!(authorizations.len(), 2, "{seen}");
    for (a, scope) in authorizations.iter().zip(["data:read", "data:write"]) {
        assert_eq!(a["scope"], scope);
        assert_eq!(a["method"], "S256");
        assert_eq!(a["resource"], mcp_url.as_str());
    }
    assert_eq!(seen["first_scope"], "data:read");
    // The client did not register the refresh_token grant, so it gets no refresh token.
    assert_eq!(seen["refresh_token"], Value::Null);
    assert_eq!(seen["tools"], json!(["read_data", "server_status"]));
    assert_eq!(seen["written_is_error"], false);
    assert_eq!(seen["written"]["updated_by"], "dave");
    // Denials read as the SDK hands them to the app: no structuredContent to fail its
    // output-schema validation, the error's fields in the text.
    assert_eq!(seen["limited"]["code"], "RATE_LIMITED");
    assert_eq!(seen["limited"]["structured"], Value::Null);
    assert!(
        seen["limited"]["retry_after"]
            .as_u64()
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(seen["invalid"]["code"], "INVALID_INPUT");
    assert_eq!(seen["invalid"]["fields"][0]["rule"], "sql_injection");
}
