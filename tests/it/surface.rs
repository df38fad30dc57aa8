//! Resources, resource templates and prompts under the same policy as tools: listings
//! filtered by the caller's scopes, reads and gets refused with codes, contents redacted,
//! rate limits, audit events; rmcp's client over an in-memory transport.

#![allow(deprecated)] // resources/subscribe: legacy-only in rmcp, still served

use mcp_secure::{
    Principal, Security, ToolError,
    prelude::{ResourceUri, UriVariables},
    redact::SecretString,
    rmcp::{
        RoleClient, RoleServer, ServiceExt,
        handler::server::wrapper::Parameters,
        model::{
            ErrorCode, GetPromptRequestParams, PromptMessage, ReadResourceRequestParams,
            ResourceContents, Role, SubscribeRequestParams,
        },
        service::{RunningService, ServiceError},
        transport::async_rw::AsyncRwTransport,
    },
    scope::ScopeSet,
    secure_server,
    stdio::LocalPrincipalTransport,
};
use mcp_secure_tests::{LogCapture, audit_events};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

const SECRET: &str = "sk-live-0123456789abcdef";

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct Summarize {
    /// What to summarize.
    #[validate(length(min = 1, max = 20))]
    topic: String,
}

#[derive(Clone)]
struct Notes {
    security: Security,
}

#[secure_server(
    scopes = "data:read admin:full",
    hierarchy = "admin:full > data:read",
    name = "notes"
)]
impl Notes {
    /// The public note.
    #[secure_resource(uri = "notes://public", scopes = "data:read", mime_type = "text/plain")]
    async fn public_note(&self) -> String {
        "hello".to_owned()
    }

    /// The admins' note, which holds a credential by mistake.
    #[secure_resource(uri = "notes://secret", scopes = "admin:full")]
    async fn secret_note(&self) -> String {
        format!("the key is {SECRET}")
    }

    /// One item.
    #[secure_resource(uri_template = "notes://items/{id}", scopes = "data:read")]
    async fn item(&self, uri: ResourceUri, vars: UriVariables) -> Result<String, ToolError> {
        match vars.get("id") {
            Some("404") => Err(ToolError::not_found("no such item")),
            Some(id) => Ok(format!("item {id} at {}", uri.0)),
            None => Err(ToolError::internal("no id")),
        }
    }

    /// Rate limited.
    #[secure_resource(uri = "notes://busy", scopes = "data:read", rate = "2/min")]
    async fn busy(&self) -> ResourceContents {
        ResourceContents::text("busy", "notes://busy")
    }

    /// Who reads (with the caller).
    #[secure_resource(uri = "notes://whoami", public)]
    async fn whoami(&self, caller: Principal) -> String {
        caller.subject().to_owned()
    }

    /// Summarize a topic.
    #[secure_prompt(scopes = "data:read")]
    async fn summarize(&self, Parameters(args): Parameters<Summarize>) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!("Summarize {} (key {SECRET})", args.topic),
        )]
    }

    /// For admins only.
    #[secure_prompt(scopes = "admin:full", name = "admin_prompt")]
    async fn admin(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "admin")]
    }

    /// A tool beside them.
    #[secure_tool(scopes = "data:read")]
    async fn ping(&self) -> &'static str {
        "pong"
    }
}

async fn connect(scopes: Option<&str>) -> RunningService<RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
    let secret = SecretString::from(SECRET.to_owned());
    let server = Notes {
        security: Security::builder().secret(&secret).build(),
    };
    let principal = scopes.map(|s| Principal::local("nora", ScopeSet::parse(s).unwrap()));
    tokio::spawn(async move {
        let running = match principal {
            Some(p) => {
                server
                    .serve(LocalPrincipalTransport::new(transport, p))
                    .await
            }
            None => server.serve(transport).await,
        };
        if let Ok(running) = running {
            let _ = running.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    ().serve((cr, cw)).await.expect("handshake")
}

async fn read(client: &RunningService<RoleClient, ()>, uri: &str) -> Result<String, Value> {
    match client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
    {
        Ok(result) => Ok(result
            .contents
            .into_iter()
            .map(|c| match c {
                ResourceContents::TextResourceContents { text, .. } => text,
                other => format!("{other:?}"),
            })
            .collect()),
        Err(e) => Err(error_of(e)),
    }
}

/// A JSON-RPC error as `{"rpc": code, "code": body code, ...body}`.
fn error_of(e: ServiceError) -> Value {
    let ServiceError::McpError(error) = e else {
        panic!("not a JSON-RPC error: {e:?}");
    };
    let mut body = error
        .data
        .as_ref()
        .and_then(|d| d.get("error"))
        .cloned()
        .unwrap_or(json!({}));
    body["rpc"] = json!(error.code.0);
    body
}

#[tokio::test]
async fn the_server_advertises_what_it_serves_and_lists_only_what_the_caller_may_use() {
    let client = connect(Some("data:read")).await;
    let info = client.peer_info().unwrap();
    let capabilities = serde_json::to_value(&info.capabilities).unwrap();
    assert!(capabilities["prompts"].is_object(), "{capabilities}");
    assert_eq!(capabilities["resources"]["subscribe"], true);
    assert!(capabilities["completions"].is_object());
    let mut uris: Vec<String> = client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    uris.sort();
    assert_eq!(uris, ["notes://busy", "notes://public", "notes://whoami"]);
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].uri_template, "notes://items/{id}");
    let prompts = client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["summarize"]);
    let arguments = prompts[0].arguments.clone().unwrap();
    assert_eq!(arguments[0].name, "topic");
    assert_eq!(arguments[0].required, Some(true));
    client.cancel().await.unwrap();

    // An admin sees everything.
    let admin = connect(Some("admin:full")).await;
    assert_eq!(admin.list_all_resources().await.unwrap().len(), 4);
    assert_eq!(admin.list_all_prompts().await.unwrap().len(), 2);
    admin.cancel().await.unwrap();
}

#[tokio::test]
async fn reads_run_the_pipeline_and_refusals_carry_codes() {
    let logs = LogCapture::start();
    let client = connect(Some("data:read")).await;
    assert_eq!(read(&client, "notes://public").await.unwrap(), "hello");
    assert_eq!(
        read(&client, "notes://items/42").await.unwrap(),
        "item 42 at notes://items/42"
    );
    assert_eq!(read(&client, "notes://whoami").await.unwrap(), "nora");

    let refused = read(&client, "notes://secret").await.unwrap_err();
    assert_eq!(refused["code"], "INSUFFICIENT_SCOPE");
    assert_eq!(refused["missing"], json!(["admin:full"]));
    assert_eq!(refused["rpc"], ErrorCode::INVALID_REQUEST.0);

    let missing = read(&client, "notes://items/404").await.unwrap_err();
    assert_eq!(missing["code"], "NOT_FOUND");
    assert_eq!(missing["rpc"], ErrorCode::RESOURCE_NOT_FOUND.0);
    for unknown in [
        "notes://nothing",
        "notes://items/../secret",
        "notes://items/a/b",
    ] {
        let e = read(&client, unknown).await.unwrap_err();
        assert_eq!(e["rpc"], ErrorCode::RESOURCE_NOT_FOUND.0, "{unknown}");
    }

    assert!(read(&client, "notes://busy").await.is_ok());
    assert!(read(&client, "notes://busy").await.is_ok());
    let limited = read(&client, "notes://busy").await.unwrap_err();
    assert_eq!(limited["code"], "RATE_LIMITED");
    assert!(limited["retry_after"].as_u64().unwrap() >= 1);
    client.cancel().await.unwrap();

    let events = audit_events(&logs.contents());
    let reads: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "resource_read")
        .collect();
    assert!(
        reads
            .iter()
            .any(|e| e["tool"] == "public_note" && e["decision"] == "allowed"),
        "{reads:?}"
    );
    assert!(
        reads.iter().any(|e| e["tool"] == "secret_note"
            && e["decision"] == "denied"
            && e["reason"] == "insufficient_scope"),
        "{reads:?}"
    );
}

#[tokio::test]
async fn contents_and_prompts_are_redacted() {
    let client = connect(Some("admin:full")).await;
    let text = read(&client, "notes://secret").await.unwrap();
    assert_eq!(text, "the key is ***");
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("summarize")
                .with_arguments(json!({"topic": "rust"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    let wire = serde_json::to_string(&prompt).unwrap();
    assert!(!wire.contains(SECRET), "{wire}");
    assert!(wire.contains("Summarize rust (key ***)"), "{wire}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn prompts_validate_their_arguments_and_check_scopes() {
    let logs = LogCapture::start();
    let client = connect(Some("data:read")).await;
    let invalid = client
        .get_prompt(
            GetPromptRequestParams::new("summarize").with_arguments(
                json!({"topic": "x".repeat(50)})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await
        .unwrap_err();
    let invalid = error_of(invalid);
    assert_eq!(invalid["code"], "INVALID_INPUT");
    assert_eq!(invalid["fields"][0]["field"], "topic");
    assert_eq!(invalid["rpc"], ErrorCode::INVALID_PARAMS.0);
    let forbidden = client
        .get_prompt(GetPromptRequestParams::new("admin_prompt"))
        .await
        .unwrap_err();
    assert_eq!(error_of(forbidden)["code"], "INSUFFICIENT_SCOPE");
    client.cancel().await.unwrap();
    let events = audit_events(&logs.contents());
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "prompt_get" && e["reason"] == "invalid_input"),
        "{events:?}"
    );
}

#[tokio::test]
async fn subscriptions_only_for_what_the_caller_may_read_and_nothing_without_a_caller() {
    let client = connect(Some("data:read")).await;
    client
        .subscribe(SubscribeRequestParams::new("notes://public"))
        .await
        .unwrap();
    client
        .subscribe(SubscribeRequestParams::new("notes://items/7"))
        .await
        .unwrap();
    let refused = client
        .subscribe(SubscribeRequestParams::new("notes://secret"))
        .await
        .unwrap_err();
    assert_eq!(error_of(refused)["code"], "INSUFFICIENT_SCOPE");
    client.cancel().await.unwrap();

    let anonymous = connect(None).await;
    assert!(anonymous.list_all_resources().await.unwrap().is_empty());
    assert!(anonymous.list_all_prompts().await.unwrap().is_empty());
    let refused = read(&anonymous, "notes://public").await.unwrap_err();
    assert_eq!(refused["code"], "UNAUTHENTICATED");
    anonymous.cancel().await.unwrap();
}

#[tokio::test]
async fn over_http_a_read_or_get_the_token_does_not_allow_is_a_403_naming_the_scope() {
    use mcp_secure::{
        auth::{Algorithm, JwksSource, JwtConfig, JwtValidator, KeySource, TokenValidator},
        http::{HttpConfig, HttpServer},
    };
    use mcp_secure_tests::oauth::{JwksBehaviour, Minter, StubAuthServer, post_bearer};
    use std::sync::Arc;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let auth = StubAuthServer::start(json!({"keys": []})).await;
    let minter = Minter::new(Algorithm::ES256, "k", &auth.issuer(), &url);
    auth.set_jwks(JwksBehaviour::Serve(minter.jwks()));
    let jwt = JwtConfig::new(auth.issuer(), url.clone());
    let keys = JwksSource::new(
        auth.jwks_url(),
        jwt.allowed_algorithms().to_vec(),
        Default::default(),
    )
    .unwrap();
    let validator = Arc::new(JwtValidator::new(jwt, KeySource::Jwks(Arc::new(keys))));
    let server = Notes {
        security: Security::default(),
    };
    let running = HttpServer::new(
        server,
        validator as Arc<dyn TokenValidator>,
        HttpConfig::new(&url, auth.issuer()).unwrap(),
    )
    .serve(listener)
    .await
    .unwrap();
    let token = minter.token("data:read");
    let rpc = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let secret = post_bearer(
        &url,
        &token,
        &rpc("resources/read", json!({"uri": "notes://secret"})),
    )
    .await;
    assert_eq!(secret.status, 403);
    assert!(
        secret.challenge().contains(r#"scope="admin:full""#),
        "{}",
        secret.challenge()
    );
    let prompt = post_bearer(
        &url,
        &token,
        &rpc("prompts/get", json!({"name": "admin_prompt"})),
    )
    .await;
    assert_eq!(prompt.status, 403);
    let public = post_bearer(
        &url,
        &token,
        &rpc("resources/read", json!({"uri": "notes://public"})),
    )
    .await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.json()["result"]["contents"][0]["text"], "hello");
    running.shutdown().await;
}
