//! Adopting mcp-secure in an existing application: the secured router merged into an axum
//! app with its own routes, middleware and fallback (`examples/axum_app.rs`), and the layers
//! on a router of one's own.

use std::sync::Arc;

use mcp_secure::rmcp::{
    RoleClient, ServiceExt,
    model::CallToolRequestParams,
    service::RunningService,
    transport::{
        AuthClient, AuthorizationRequest, StreamableHttpClientTransport, auth::OAuthState,
        streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use mcp_secure_tests::{free_port, wait_for_port};
use serde_json::{Value, json};

const AXUM_APP: &str = env!("CARGO_BIN_EXE_axum_app");

/// The axum example with the embedded authorization server approving as `ann`.
async fn axum_app(extra: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let (port, as_port) = (free_port(), free_port());
    let mut command = tokio::process::Command::new(AXUM_APP);
    command
        .env_clear()
        .env("MCP_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("MCP_DEV_AUTH", "true")
        .env("MCP_DEV_AUTH_ADDR", format!("127.0.0.1:{as_port}"))
        .env("MCP_DEV_AUTH_APPROVAL", "auto")
        .env("MCP_DEV_AUTH_USERS", "ann=notes:read notes:write")
        .env("LOG_LEVEL", "error")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in extra {
        command.env(k, v);
    }
    let child = command.spawn().unwrap();
    wait_for_port(port).await;
    (child, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn the_axum_app_keeps_its_routes_middleware_and_fallback_beside_the_secured_endpoint() {
    let (mut app, base) = axum_app(&[]).await;
    let http = reqwest::Client::new();
    // The app's own routes, with its own middleware.
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["x-served-by"], "axum-app");
    assert_eq!(health.text().await.unwrap(), "ok");
    // Its own fallback (merging mcp-secure's router did not panic, nor replace it).
    let missing = http.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"error": "no such page"})
    );
    // The secured endpoint: a 401 challenge naming the metadata, which is served.
    let denied = http
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()["x-served-by"], "axum-app");
    let challenge = denied.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\""
        )),
        "{challenge}"
    );
    let metadata: Value = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], format!("{base}/mcp"));
    // A foreign Origin is refused; the resource's own origin is not foreign.
    let foreign = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let own = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .header("origin", base.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);

    // rmcp's OAuth client through discovery, registration and PKCE, then a call.
    let mcp_url = format!("{base}/mcp");
    let mut oauth = OAuthState::new(mcp_url.as_str(), None).await.unwrap();
    oauth
        .start_authorization(
            AuthorizationRequest::new("http://127.0.0.1:45690/cb")
                .with_scopes(["notes:write"])
                .with_client_name("axum app test"),
        )
        .await
        .unwrap();
    let url = oauth.get_authorization_url().await.unwrap();
    let callback = mcp_secure::dev_auth::approve_headless(&url).await.unwrap();
    oauth.handle_callback_url(&callback).await.unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(
            reqwest::Client::default(),
            oauth.into_authorization_manager().unwrap(),
        ),
        StreamableHttpClientTransportConfig::with_uri(mcp_url),
    );
    let client: RunningService<RoleClient, ()> = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 2);
    let added = client
        .call_tool(
            CallToolRequestParams::new("add_note")
                .with_arguments(json!({"text": "hello"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(added.structured_content.unwrap()["author"], "ann");
    client.cancel().await.unwrap();
    app.kill().await.unwrap();
}

#[tokio::test]
async fn a_loopback_servers_own_origins_are_allowed_and_others_refused() {
    let (mut app, base) = axum_app(&[]).await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let status = |origin: String, host: String| {
        let http = http.clone();
        let url = format!("{base}/.well-known/oauth-protected-resource");
        async move {
            http.get(url)
                .header("origin", origin)
                .header("host", host)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The conformance suite's "valid localhost Host/Origin": accepted.
    for name in ["localhost", "127.0.0.1", "[::1]"] {
        assert_eq!(
            status(format!("http://{name}:{port}"), format!("{name}:{port}")).await,
            200,
            "{name}"
        );
    }
    // Another port on the same host, another scheme, another host: refused.
    assert_eq!(
        status("http://localhost:1".into(), format!("localhost:{port}")).await,
        403
    );
    assert_eq!(
        status(
            format!("https://localhost:{port}"),
            format!("localhost:{port}")
        )
        .await,
        403
    );
    assert_eq!(
        status(
            format!("http://evil.example:{port}"),
            format!("localhost:{port}")
        )
        .await,
        403
    );
    // A rebinding attempt: a foreign Host.
    assert_eq!(
        status(
            format!("http://localhost:{port}"),
            format!("evil.example:{port}")
        )
        .await,
        403
    );
    app.kill().await.unwrap();
}

#[tokio::test]
async fn the_bearer_layer_protects_a_route_of_ones_own_and_hands_it_the_principal() {
    use mcp_secure::{
        Principal,
        auth::{Algorithm, JwtConfig, JwtValidator, KeySource, TokenValidator},
        http::{HttpConfig, HttpServer},
    };
    use mcp_secure_tests::oauth::{JwksBehaviour, Minter, StubAuthServer, TestServer};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mcp_url = format!("{base}/mcp");
    let auth = StubAuthServer::start(json!({"keys": []})).await;
    let minter = Minter::new(Algorithm::ES256, "k", &auth.issuer(), &mcp_url);
    auth.set_jwks(JwksBehaviour::Serve(minter.jwks()));
    let jwt = JwtConfig::new(auth.issuer(), mcp_url.clone());
    let keys = mcp_secure::auth::JwksSource::new(
        auth.jwks_url(),
        jwt.allowed_algorithms().to_vec(),
        Default::default(),
    )
    .unwrap();
    let validator = Arc::new(JwtValidator::new(jwt, KeySource::Jwks(Arc::new(keys))));
    let http = HttpServer::new(
        TestServer {
            security: Default::default(),
        },
        validator as Arc<dyn TokenValidator>,
        HttpConfig::new(&mcp_url, auth.issuer()).unwrap(),
    );
    // A route of the application's own, behind mcp-secure's layers, with its own fallback.
    let app = axum::Router::new()
        .route(
            "/whoami",
            axum::routing::get(
                |axum::Extension(caller): axum::Extension<Principal>| async move {
                    caller.subject().to_owned()
                },
            ),
        )
        .layer(http.bearer_layer())
        .merge(http.metadata_router())
        .layer(http.guard_layer())
        .fallback(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "mine") });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let anonymous = client.get(format!("{base}/whoami")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource_metadata=")
    );
    let known = client
        .get(format!("{base}/whoami"))
        .bearer_auth(minter.token("data:read"))
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), 200);
    assert_eq!(known.text().await.unwrap(), "alice");
    let metadata = client
        .get(format!("{base}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    let other = client.get(format!("{base}/other")).send().await.unwrap();
    assert_eq!(other.status(), 418);
}
