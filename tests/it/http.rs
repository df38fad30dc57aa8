//! The HTTP transport end to end: a real server on a loopback port, a JWKS from a real local
//! authorization server stub, tokens signed with real keys, raw HTTP and rmcp's own client.

use super::DATA_SERVER;
use mcp_secure_tests::{
    free_port,
    oauth::{Stack, StackOptions, post, post_bearer, tools_call, tools_list},
    wait_for_port,
};
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
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", scope=\"data:read\"",
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

use mcp_secure::rmcp::{
    RoleClient, ServiceExt,
    model::CallToolRequestParams,
    service::RunningService,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};

async fn rmcp_client(url: &str, token: &str) -> RunningService<RoleClient, ()> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token.to_owned()),
    );
    ().serve(transport).await.expect("MCP handshake over HTTP")
}

fn args(v: serde_json::Value) -> mcp_secure::rmcp::model::JsonObject {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn rmcp_client_lists_permitted_tools_and_calls_them() {
    let stack = Stack::start(StackOptions::default()).await;
    let client = rmcp_client(&stack.mcp_url, &stack.minter.token("data:write")).await;
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    // data:write grants data:read through the hierarchy; admin stays hidden.
    assert_eq!(names, vec!["read", "whoami", "write"]);
    let write = tools.iter().find(|t| t.name == "write").unwrap();
    assert_eq!(
        write.meta.as_ref().unwrap().0["mcp-secure/scopes"],
        json!(["data:write"])
    );
    let result = client
        .call_tool(
            CallToolRequestParams::new("write").with_arguments(args(json!({"text": "hello"}))),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    assert_eq!(result.content[0].as_text().unwrap().text, "wrote hello");
    client.cancel().await.unwrap();
    stack.stop().await;
}

#[tokio::test]
async fn step_up_sees_403_with_the_exact_scope_then_succeeds_with_a_token_that_has_it() {
    let stack = Stack::start(StackOptions::default()).await;
    let reader = stack.minter.token("data:read");
    // The rmcp client surfaces the 403 with the scope to ask for.
    let client = rmcp_client(&stack.mcp_url, &reader).await;
    let err = client
        .call_tool(CallToolRequestParams::new("admin"))
        .await
        .expect_err("403 insufficient_scope");
    let text = format!("{err:?}");
    assert!(
        text.contains("insufficient_scope") || text.contains("InsufficientScope"),
        "{text}"
    );
    assert!(text.contains("admin:full"), "{text}");
    // Raw HTTP shows the exact challenge.
    let r = post_bearer(&stack.mcp_url, &reader, &tools_call("admin", json!({}))).await;
    assert_eq!(r.status, 403);
    assert!(r.challenge().contains("error=\"insufficient_scope\""));
    assert!(r.challenge().ends_with("scope=\"admin:full\""));
    // Step up: a token with the named scope succeeds.
    let admin = stack.minter.token("data:read admin:full");
    let client = rmcp_client(&stack.mcp_url, &admin).await;
    let result = client
        .call_tool(CallToolRequestParams::new("admin"))
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "admin ok");
    client.cancel().await.unwrap();
    stack.stop().await;
}

async fn run_to_exit(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = tokio::process::Command::new(DATA_SERVER);
    command.env_clear().stdin(std::process::Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), command.output())
        .await
        .expect("exits")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn http_without_an_oauth_configuration_exits_naming_what_is_missing() {
    let (ok, stderr) = run_to_exit(&[("MCP_TRANSPORT", "http")]).await;
    assert!(!ok);
    assert!(
        stderr.contains("set OAUTH_ISSUER") && stderr.contains("set OAUTH_AUDIENCE"),
        "{stderr}"
    );
    let (ok, stderr) = run_to_exit(&[
        ("MCP_TRANSPORT", "streamable_http"),
        ("OAUTH_ISSUER", "http://127.0.0.1:1"),
    ])
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("set OAUTH_AUDIENCE") && !stderr.contains("set OAUTH_ISSUER"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_authorization_servers_metadata_is_checked_at_start() {
    let auth = mcp_secure_tests::oauth::StubAuthServer::start(json!({"keys": []})).await;
    let port = free_port().to_string();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let issuer = auth.issuer();
    let env = [
        ("MCP_TRANSPORT", "http"),
        ("MCP_HTTP_ADDR", &format!("127.0.0.1:{port}")),
        ("OAUTH_ISSUER", issuer.as_str()),
        ("OAUTH_AUDIENCE", audience.as_str()),
    ];
    auth.set_metadata(json!({"issuer": "https://someone-else.example", "code_challenge_methods_supported": ["S256"]}));
    let (ok, stderr) = run_to_exit(&env).await;
    assert!(!ok);
    assert!(
        stderr.contains("names issuer `https://someone-else.example`"),
        "{stderr}"
    );
    auth.set_metadata(json!({"issuer": issuer, "code_challenge_methods_supported": ["plain"], "jwks_uri": format!("{issuer}/jwks")}));
    let (ok, stderr) = run_to_exit(&env).await;
    assert!(!ok);
    assert!(stderr.contains("does not advertise PKCE S256"), "{stderr}");
}

#[tokio::test]
async fn the_example_serves_http_configured_from_the_environment() {
    let auth = mcp_secure_tests::oauth::StubAuthServer::start(json!({"keys": []})).await;
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let minter = mcp_secure_tests::oauth::Minter::new(
        mcp_secure::auth::Algorithm::ES256,
        "k1",
        &auth.issuer(),
        &audience,
    );
    auth.set_jwks(mcp_secure_tests::oauth::JwksBehaviour::Serve(minter.jwks()));
    let mut child = tokio::process::Command::new(DATA_SERVER)
        .env_clear()
        .env("MCP_TRANSPORT", "http")
        .env("MCP_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("OAUTH_ISSUER", auth.issuer())
        .env("OAUTH_AUDIENCE", &audience)
        .env("LOG_LEVEL", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(port).await;
    let r = post(&audience, None, &tools_list(), &[]).await;
    assert_eq!(r.status, 401);
    let client = rmcp_client(&audience, &minter.token("data:write")).await;
    let written = client
        .call_tool(
            CallToolRequestParams::new("write_data")
                .with_arguments(args(json!({"id": "a", "data": "b"}))),
        )
        .await
        .unwrap();
    assert_eq!(written.structured_content.unwrap()["updated_by"], "alice");
    client.cancel().await.unwrap();
    child.kill().await.unwrap();
}

#[tokio::test]
async fn opaque_tokens_are_validated_by_introspection_and_cached() {
    use mcp_secure::auth::{
        AuthFailure, IntrospectionConfig, IntrospectionValidator, TokenValidator,
    };
    use mcp_secure::redact::SecretString;
    let auth = mcp_secure_tests::oauth::StubAuthServer::start(json!({"keys": []})).await;
    let audience = "http://127.0.0.1:9/mcp";
    let now = mcp_secure_tests::oauth::now();
    auth.set_introspection(
        "opaque-good",
        json!({
            "active": true, "scope": "data:read", "sub": "carol", "client_id": "cli",
            "aud": audience, "iss": auth.issuer(), "exp": now + 600,
        }),
    );
    auth.set_introspection("opaque-other-aud", json!({
        "active": true, "scope": "data:read", "sub": "carol", "aud": "https://elsewhere/mcp", "iss": auth.issuer(), "exp": now + 600,
    }));
    auth.set_introspection("opaque-bad-scope", json!({
        "active": true, "scope": "data:read\u{a0}admin:full", "sub": "carol", "aud": audience, "iss": auth.issuer(),
    }));
    let config = IntrospectionConfig::new(
        auth.introspection_url(),
        "resource-server",
        SecretString::from("rs-secret-value".to_string()),
        audience,
    )
    .issuer(auth.issuer());
    assert!(!format!("{config:?}").contains("rs-secret-value"));
    let v = IntrospectionValidator::new(config).unwrap();
    let p = v.validate("opaque-good").await.unwrap();
    assert_eq!(p.subject(), "carol");
    assert_eq!(p.client_id(), Some("cli"));
    assert!(p.has_scope("data:read"));
    let hits = auth.introspection_hits();
    v.validate("opaque-good").await.unwrap();
    assert_eq!(
        auth.introspection_hits(),
        hits,
        "second call served from the cache"
    );
    assert_eq!(
        v.validate("opaque-unknown").await.err(),
        Some(AuthFailure::Inactive)
    );
    assert_eq!(
        v.validate("opaque-other-aud").await.err(),
        Some(AuthFailure::BadAudience)
    );
    assert_eq!(
        v.validate("opaque-bad-scope").await.err(),
        Some(AuthFailure::BadScope)
    );
    assert_eq!(
        v.validate("bad token").await.err(),
        Some(AuthFailure::Malformed)
    );
}

#[tokio::test]
async fn an_introspection_exp_near_u64_max_is_refused_without_panicking() {
    use mcp_secure::auth::{
        AuthFailure, IntrospectionConfig, IntrospectionValidator, TokenValidator,
    };
    let auth = mcp_secure_tests::oauth::StubAuthServer::start(json!({"keys": []})).await;
    let audience = "http://127.0.0.1:9/mcp";
    for (token, exp) in [
        ("opaque-max", json!(u64::MAX)),
        ("opaque-max-1", json!(u64::MAX - 1)),
        (
            "opaque-far",
            json!(mcp_secure_tests::oauth::now() + 100 * 366 * 24 * 3600),
        ),
    ] {
        auth.set_introspection(
            token,
            json!({"active": true, "scope": "data:read", "sub": "carol", "aud": audience, "exp": exp}),
        );
    }
    let v = IntrospectionValidator::new(IntrospectionConfig::new(
        auth.introspection_url(),
        "resource-server",
        mcp_secure::redact::SecretString::from("rs-secret-value".to_string()),
        audience,
    ))
    .unwrap();
    for token in ["opaque-max", "opaque-max-1", "opaque-far"] {
        assert_eq!(
            v.validate(token).await.err(),
            Some(AuthFailure::BadClaims),
            "{token}"
        );
    }
}

#[tokio::test]
async fn refusals_from_introspection_are_cached_briefly_and_bounded() {
    use mcp_secure::auth::{
        AuthFailure, IntrospectionConfig, IntrospectionValidator, TokenValidator,
    };
    let auth = mcp_secure_tests::oauth::StubAuthServer::start(json!({"keys": []})).await;
    let mut config = IntrospectionConfig::new(
        auth.introspection_url(),
        "resource-server",
        mcp_secure::redact::SecretString::from("rs-secret-value".to_string()),
        "http://127.0.0.1:9/mcp",
    );
    config.cache_capacity = 50;
    let v = IntrospectionValidator::new(config).unwrap();
    // The same unknown token replayed: one POST at the authorization server.
    let before = auth.introspection_hits();
    for _ in 0..20 {
        assert_eq!(
            v.validate("opaque-revoked").await.err(),
            Some(AuthFailure::Inactive)
        );
    }
    assert_eq!(auth.introspection_hits(), before + 1);
    // Many distinct bad tokens: the refusals kept stay within the capacity.
    for i in 0..200 {
        let _ = v.validate(&format!("opaque-unknown-{i}")).await;
    }
    assert!(v.refusals_cached() <= 50, "{}", v.refusals_cached());
}

/// Three users through two OAuth clients, a global budget of 2 calls a minute: keyed by
/// subject each user has their own; keyed by client the users of one client share one.
#[tokio::test]
async fn rate_limits_are_keyed_by_subject_or_by_client() {
    async fn admitted_per_caller(key_by: mcp_secure::principal::RateKeyBy) -> Vec<usize> {
        let stack = Stack::start(StackOptions {
            jwt: Box::new(move |c| c.rate_key_by(key_by)),
            security: Some(
                mcp_secure::Security::builder()
                    .global_rate(mcp_secure::RateSpec::per_minute(2))
                    .build(),
            ),
            ..StackOptions::default()
        })
        .await;
        let mut counts = Vec::new();
        for (sub, client) in [("alice", "cli-1"), ("bob", "cli-1"), ("carol", "cli-2")] {
            let mut claims = stack.minter.claims("data:read");
            claims["sub"] = json!(sub);
            claims["client_id"] = json!(client);
            let token = stack.minter.mint(&claims);
            let mut admitted = 0;
            for _ in 0..3 {
                let r = post_bearer(&stack.mcp_url, &token, &tools_call("read", json!({}))).await;
                assert_eq!(r.status, 200, "{}", r.body);
                let result = &r.json()["result"];
                if result["isError"] == json!(true) {
                    assert_eq!(result["structuredContent"]["error"]["code"], "RATE_LIMITED");
                } else {
                    admitted += 1;
                }
            }
            counts.push(admitted);
        }
        stack.stop().await;
        counts
    }
    use mcp_secure::principal::RateKeyBy;
    assert_eq!(admitted_per_caller(RateKeyBy::Subject).await, [2, 2, 2]);
    assert_eq!(admitted_per_caller(RateKeyBy::Client).await, [2, 0, 2]);
}
