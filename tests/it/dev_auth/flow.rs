//! The whole flow: the tour, rmcp's OAuth client, the tokens issued.

use super::*;

#[tokio::test]
async fn the_tour_exits_zero() {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tour"))
            .env_clear()
            .output(),
    )
    .await
    .expect("the tour finishes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[tokio::test]
async fn rmcp_oauth_client_discovers_registers_and_calls_through_the_resource_server() {
    // The resource server, whose resource URI must be one the dev server issues for.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mcp_url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let d = dev_with(|c| c.resource(mcp_url.clone())).await;
    let validator = validator_for_issuer(&d.issuer, &mcp_url).await.unwrap();
    let running = HttpServer::new(
        TestServer {
            security: Security::default(),
        },
        validator,
        HttpConfig::new(&mcp_url, d.issuer.clone()).unwrap(),
    )
    .serve(listener)
    .await
    .unwrap();

    // Discovery starts from a real 401.
    let challenge = reqwest::Client::new()
        .post(&mcp_url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut oauth = OAuthState::new(mcp_url.as_str(), None).await.unwrap();
    oauth
        .start_authorization(
            AuthorizationRequest::new(REDIRECT)
                .with_scopes(["data:read"])
                .with_client_name("integration test")
                .with_challenge(challenge),
        )
        .await
        .unwrap();
    let url = oauth.get_authorization_url().await.unwrap();
    assert!(url.contains("code_challenge_method=S256"));
    let callback = dev_auth::approve_headless(&url).await.unwrap();
    let callback_url = Url::parse(&callback).unwrap();
    assert_eq!(
        query(&callback_url, "iss").as_deref(),
        Some(d.issuer.as_str())
    );
    assert!(query(&callback_url, "state").is_some());
    oauth.handle_callback_url(&callback).await.unwrap();
    let manager = oauth.into_authorization_manager().unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(reqwest::Client::default(), manager),
        StreamableHttpClientTransportConfig::with_uri(mcp_url.clone()),
    );
    let client: RunningService<RoleClient, ()> = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["read", "whoami"]);
    let who = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_eq!(who.structured_content.unwrap()["subject"], "alice");
    client.cancel().await.unwrap();
    running.shutdown().await;
    d.server.shutdown().await;
}

#[tokio::test]
async fn access_tokens_are_rfc9068_jwts_bound_to_the_resource() {
    let d = dev().await;
    let (client, body) = code_flow(&d, "data:read").await;
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(header(at)["typ"], "at+jwt");
    let c = claims(at);
    assert_eq!(c["aud"], RESOURCE);
    assert_eq!(c["iss"], d.issuer);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["client_id"], client);
    assert_eq!(c["scope"], "data:read");
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 900);
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string());
    // The resource server's own validator accepts it, through discovery and the JWKS.
    let v = validator_for_issuer(&d.issuer, RESOURCE).await.unwrap();
    assert_eq!(v.validate(at).await.unwrap().subject(), "alice");
}

#[tokio::test]
async fn scopes_beyond_the_users_are_not_granted() {
    let d = dev().await;
    let (_, body) = code_flow(&d, "data:read admin:full").await;
    assert_eq!(body["scope"], "data:read");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "data:read"
    );
}

#[tokio::test]
async fn access_token_lifetime_is_configurable_up_to_60_minutes_never_beyond() {
    let base = || DevAuthConfig::new(RESOURCE, vec![DevUser::new("a", "x").unwrap()]).unwrap();
    assert_eq!(
        base()
            .access_token_ttl(Duration::from_secs(3601))
            .unwrap_err(),
        DevAuthConfigError::AccessTokenTtl
    );
    assert!(base().access_token_ttl(Duration::ZERO).is_err());
    let d = dev_with(|c| c.access_token_ttl(Duration::from_secs(3600)).unwrap()).await;
    let (_, body) = code_flow(&d, "data:read").await;
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        3600
    );
}
