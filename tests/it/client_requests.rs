//! A secured tool asking the client (sampling, elicitation, roots) and telling it things
//! (progress, log messages) through `ClientPeer`, against rmcp's client: over stdio (in
//! process), over stateful HTTP, and over stateless HTTP, where asking fails at once with
//! `CLIENT_UNAVAILABLE` and an audit event instead of waiting forever. A tool that waits on
//! the client through rmcp's raw `Peer` is stopped by the tool timeout.

#![allow(deprecated)] // sampling, roots and logging: deprecated by SEP-2577, still served

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use mcp_secure::{
    ClientPeer, Elicited, Principal, Security, ToolError,
    auth::{Algorithm, JwksSource, JwtConfig, JwtValidator, KeySource, TokenValidator},
    config::Sessions,
    http::{HttpConfig, HttpServer, RunningHttpServer},
    rmcp::{
        ClientHandler, ErrorData, Peer, RoleClient, RoleServer, ServiceExt,
        model::{
            CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
            CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
            ElicitationAction, Implementation, ListRootsResult, LoggingLevel,
            LoggingMessageNotificationParam, ProgressNotificationParam, Root, SamplingMessage,
        },
        service::{NotificationContext, RequestContext, RunningService},
        transport::{
            StreamableHttpClientTransport, async_rw::AsyncRwTransport,
            streamable_http_client::StreamableHttpClientTransportConfig,
        },
    },
    scope::ScopeSet,
    secure_server,
    stdio::LocalPrincipalTransport,
};
use mcp_secure_tests::{
    LogCapture, error_body,
    oauth::{JwksBehaviour, Minter, StubAuthServer},
};
use serde::Deserialize;
use serde_json::{Value, json};

/// What the elicitation form asks.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Confirm {
    /// Whether to go ahead.
    yes: bool,
}
mcp_secure::rmcp::elicit_safe!(Confirm);

#[derive(Clone)]
struct Asker {
    security: Security,
}

#[secure_server(scopes = "ask", name = "asker")]
impl Asker {
    /// Asks the client's model.
    #[secure_tool(scopes = "ask")]
    async fn ask_model(&self, client: ClientPeer) -> Result<String, ToolError> {
        let params =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text("What is 2 + 2?")], 50);
        let answer = client.sample(params).await?;
        Ok(answer
            .message
            .content
            .first()
            .and_then(|c| c.as_text())
            .map(|t| t.text.clone())
            .unwrap_or_default())
    }

    /// Asks the user to confirm.
    #[secure_tool(scopes = "ask")]
    async fn confirm(&self, client: ClientPeer) -> Result<String, ToolError> {
        Ok(match client.elicit::<Confirm>("Go ahead?").await? {
            Elicited::Accepted(c) => format!("accepted yes={}", c.yes),
            Elicited::Declined => "declined".into(),
            Elicited::Cancelled => "cancelled".into(),
        })
    }

    /// Counts the client's roots.
    #[secure_tool(scopes = "ask")]
    async fn roots(&self, client: ClientPeer) -> Result<String, ToolError> {
        Ok(format!("{} roots", client.list_roots().await?.roots.len()))
    }

    /// Works in three steps, reporting progress and logging.
    #[secure_tool(scopes = "ask")]
    async fn work(&self, client: ClientPeer) -> String {
        let mut sent = 0;
        for step in 1..=3 {
            if client
                .progress(f64::from(step), Some(3.0), Some("working"))
                .await
            {
                sent += 1;
            }
        }
        client
            .log(LoggingLevel::Info, json!({"step": "finished"}))
            .await;
        format!("{sent} progress notifications")
    }

    /// Asks through rmcp's raw peer, without a bound of its own.
    #[secure_tool(scopes = "ask")]
    async fn raw_ask(&self, peer: Peer<RoleServer>) -> Result<String, ToolError> {
        let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text("slow?")], 10);
        peer.create_message(params)
            .await
            .map(|_| "answered".to_owned())
            .map_err(|_| ToolError::internal("sampling failed"))
    }

    /// Every other rmcp extractor a plain `#[tool]` can take.
    #[secure_tool(scopes = "ask")]
    #[allow(clippy::too_many_arguments)]
    async fn context_parts(
        &self,
        name: mcp_secure::rmcp::handler::server::tool::ToolName,
        id: mcp_secure::rmcp::handler::server::common::RequestId,
        cancel: tokio_util::sync::CancellationToken,
        meta: mcp_secure::rmcp::model::RequestMetaObject,
        extensions: mcp_secure::rmcp::model::Extensions,
        context: RequestContext<RoleServer>,
        state: mcp_secure::rmcp::handler::server::tool::RequestState,
    ) -> String {
        json!({
            "name": name.0,
            "id_matches": format!("{:?}", id.0) == format!("{:?}", context.id),
            "cancelled": cancel.is_cancelled(),
            "meta_note": meta.0.get("note"),
            "has_principal": extensions.get::<Principal>().is_some()
                || extensions
                    .get::<http::request::Parts>()
                    .is_some_and(|p| p.extensions.get::<Principal>().is_some()),
            "state": state.0,
        })
        .to_string()
    }

    /// Answers with a JSON-RPC error of its choosing.
    #[secure_tool(scopes = "ask")]
    async fn rpc_error(&self) -> Result<String, ToolError> {
        Err(ToolError::json_rpc(ErrorData::invalid_params(
            "bad params near sk-live-0123456789abcdef",
            None,
        )))
    }

    /// The HTTP request's parts (only over HTTP).
    #[secure_tool(scopes = "ask")]
    async fn http_parts(
        &self,
        mcp_secure::rmcp::handler::server::common::Extension(parts): mcp_secure::rmcp::handler::server::common::Extension<http::request::Parts>,
    ) -> String {
        parts
            .headers
            .get("x-test")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned()
    }

    /// Who is calling (to check the principal is still there after asking).
    #[secure_tool(scopes = "ask")]
    async fn whoami(&self, caller: Principal) -> String {
        caller.subject().to_owned()
    }
}

/// What the client saw.
#[derive(Default)]
struct Seen {
    progress: Vec<f64>,
    logs: Vec<Value>,
}

/// rmcp's client, answering like a user would; `slow` makes it never answer sampling.
#[derive(Clone)]
struct Answering {
    seen: Arc<Mutex<Seen>>,
    slow: bool,
}

impl Answering {
    fn new() -> Self {
        Self {
            seen: Arc::default(),
            slow: false,
        }
    }
}

impl ClientHandler for Answering {
    fn get_info(&self) -> ClientConfig {
        let capabilities = ClientCapabilities::builder()
            .enable_sampling()
            .enable_elicitation()
            .enable_roots()
            .build();
        ClientConfig::new(capabilities, Implementation::new("answering", "1.0"))
            .with_protocol_version(mcp_secure::rmcp::model::ProtocolVersion::V_2025_11_25)
    }

    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        if self.slow {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text("4"),
            "test-model".into(),
        ))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        assert!(matches!(
            request,
            ElicitRequestParams::FormElicitationParams { .. }
        ));
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(json!({"yes": true})))
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        Ok(ListRootsResult::new(vec![
            Root::new("file:///a"),
            Root::new("file:///b"),
        ]))
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().progress.push(params.progress);
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().logs.push(params.data);
    }
}

fn security() -> Security {
    let secret = mcp_secure::redact::SecretString::from("sk-live-0123456789abcdef".to_owned());
    Security::builder()
        .secret(&secret)
        .tool_timeout(Duration::from_secs(2))
        .client_timeout(Duration::from_secs(1))
        .build()
}

/// The server over an in-memory stdio-like transport with a local principal.
async fn over_stdio(client: Answering) -> RunningService<RoleClient, Answering> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
    let server = Asker {
        security: security(),
    };
    tokio::spawn(async move {
        let principal = Principal::local("local-user", ScopeSet::parse("ask").unwrap());
        if let Ok(running) = server
            .serve(LocalPrincipalTransport::new(transport, principal))
            .await
        {
            let _ = running.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    client.serve((cr, cw)).await.expect("handshake")
}

/// The server over HTTP in `sessions` mode, and a token for it.
async fn over_http(sessions: Sessions) -> (RunningHttpServer, String, String, StubAuthServer) {
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
    let http = HttpConfig::new(&url, auth.issuer())
        .unwrap()
        .sessions(sessions);
    let running = HttpServer::new(
        Asker {
            security: security(),
        },
        validator as Arc<dyn TokenValidator>,
        http,
    )
    .serve(listener)
    .await
    .unwrap();
    let token = minter.token("ask");
    (running, url, token, auth)
}

async fn http_client(
    url: &str,
    token: &str,
    client: Answering,
) -> RunningService<RoleClient, Answering> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token.to_owned()),
    );
    client
        .serve(transport)
        .await
        .expect("MCP handshake over HTTP")
}

async fn call(
    client: &RunningService<RoleClient, Answering>,
    tool: &'static str,
) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(tool))
        .await
        .expect("tools/call answered")
}

fn text(result: &CallToolResult) -> String {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result.content[0].as_text().unwrap().text.clone()
}

/// Every request kind answered, notifications delivered.
async fn assert_the_client_answers(
    client: &RunningService<RoleClient, Answering>,
    seen: &Arc<Mutex<Seen>>,
) {
    client.list_all_tools().await.unwrap();
    assert_eq!(text(&call(client, "ask_model").await), "4");
    assert_eq!(text(&call(client, "confirm").await), "accepted yes=true");
    assert_eq!(text(&call(client, "roots").await), "2 roots");
    let progress_call = client
        .call_tool(CallToolRequestParams::new("work"))
        .await
        .unwrap();
    // rmcp's client puts a progress token on every request, so progress is reported.
    assert_eq!(text(&progress_call), "3 progress notifications");
    // Notifications are asynchronous: wait a little for them.
    for _ in 0..200 {
        let done = {
            let seen = seen.lock().unwrap();
            seen.progress.len() == 3 && !seen.logs.is_empty()
        };
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.progress, vec![1.0, 2.0, 3.0]);
    assert_eq!(seen.logs, vec![json!({"step": "finished"})]);
}

#[tokio::test]
async fn over_stdio_a_secured_tool_samples_elicits_lists_roots_and_logs() {
    let answering = Answering::new();
    let seen = answering.seen.clone();
    let client = over_stdio(answering).await;
    assert_the_client_answers(&client, &seen).await;
    assert_eq!(text(&call(&client, "whoami").await), "local-user");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn over_stateful_http_a_secured_tool_samples_elicits_lists_roots_and_logs() {
    let (server, url, token, _auth) = over_http(Sessions::Stateful).await;
    let answering = Answering::new();
    let seen = answering.seen.clone();
    let client = http_client(&url, &token, answering).await;
    assert_the_client_answers(&client, &seen).await;
    assert_eq!(text(&call(&client, "whoami").await), "alice");
    client.cancel().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn over_stateless_http_asking_the_client_fails_at_once_with_a_clear_error_and_an_audit_event()
{
    let logs = LogCapture::start();
    let (server, url, token, _auth) = over_http(Sessions::Stateless).await;
    let client = http_client(&url, &token, Answering::new()).await;
    for tool in ["ask_model", "confirm", "roots"] {
        let started = Instant::now();
        let result = call(&client, tool).await;
        // At once: no wait for the client timeout (1 s) or the tool timeout (2 s).
        assert!(started.elapsed() < Duration::from_millis(900), "{tool}");
        let error = error_body(&result);
        assert_eq!(error["code"], "CLIENT_UNAVAILABLE", "{tool}: {error:?}");
        assert_eq!(error["reason"], "stateless_transport");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("MCP_HTTP_SESSIONS=stateful"),
            "{error:?}"
        );
    }
    // Notifications still flow on the request's own stream.
    assert_eq!(
        text(&call(&client, "work").await),
        "3 progress notifications"
    );
    let audit = logs.contents();
    assert!(
        audit.contains("client_request") && audit.contains("stateless_transport"),
        "{audit}"
    );
    client.cancel().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_answers_is_bounded_by_the_client_timeout() {
    let answering = Answering {
        seen: Arc::default(),
        slow: true,
    };
    let client = over_stdio(answering).await;
    let started = Instant::now();
    let result = call(&client, "ask_model").await;
    let elapsed = started.elapsed();
    let error = error_body(&result);
    assert_eq!(error["code"], "CLIENT_UNAVAILABLE");
    assert_eq!(error["reason"], "timed_out");
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_tool_waiting_on_the_raw_peer_is_stopped_by_the_tool_timeout() {
    let answering = Answering {
        seen: Arc::default(),
        slow: true,
    };
    let client = over_stdio(answering).await;
    let started = Instant::now();
    let result = call(&client, "raw_ask").await;
    let elapsed = started.elapsed();
    let error = error_body(&result);
    assert_eq!(error["code"], "TIMEOUT");
    assert_eq!(error["limit_s"], 2);
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    // The server is still there.
    assert_eq!(text(&call(&client, "whoami").await), "local-user");
    client.cancel().await.unwrap();
}

/// `_meta` on a call.
fn with_meta(tool: &'static str, note: &str) -> CallToolRequestParams {
    let mut params = CallToolRequestParams::new(tool);
    let mut meta = mcp_secure::rmcp::model::RequestMetaObject::default();
    meta.0.insert("note".into(), json!(note));
    params.meta = Some(meta);
    params
}

#[tokio::test]
async fn every_rmcp_extractor_reaches_a_secured_tool() {
    let client = over_stdio(Answering::new()).await;
    let result = client
        .call_tool(with_meta("context_parts", "hello"))
        .await
        .unwrap();
    let seen: Value = serde_json::from_str(&text(&result)).unwrap();
    assert_eq!(seen["name"], "context_parts");
    assert_eq!(seen["id_matches"], true);
    assert_eq!(seen["cancelled"], false);
    assert_eq!(seen["meta_note"], "hello");
    assert_eq!(seen["has_principal"], true);
    assert_eq!(seen["state"], Value::Null);
    // Over stdio there are no HTTP parts: the extractor refuses, the call answers an error.
    let parts = client
        .call_tool(CallToolRequestParams::new("http_parts"))
        .await;
    assert!(
        parts.is_err() || parts.as_ref().is_ok_and(|r| r.is_error == Some(true)),
        "{parts:?}"
    );
    client.cancel().await.unwrap();

    // Over HTTP the request's parts are there, headers included.
    let (server, url, token, _auth) = over_http(Sessions::Stateful).await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.clone())
            .auth_header(token.clone())
            .custom_headers(
                [(
                    http::HeaderName::from_static("x-test"),
                    http::HeaderValue::from_static("from-http"),
                )]
                .into_iter()
                .collect(),
            ),
    );
    let client = Answering::new().serve(transport).await.unwrap();
    assert_eq!(text(&call(&client, "http_parts").await), "from-http");
    let result = client
        .call_tool(with_meta("context_parts", "over http"))
        .await
        .unwrap();
    let seen: Value = serde_json::from_str(&text(&result)).unwrap();
    assert_eq!(seen["meta_note"], "over http");
    assert_eq!(seen["has_principal"], true);
    client.cancel().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn a_tool_may_answer_with_a_json_rpc_error_which_is_redacted() {
    let client = over_stdio(Answering::new()).await;
    let error = client
        .call_tool(CallToolRequestParams::new("rpc_error"))
        .await
        .unwrap_err();
    let mcp_secure::rmcp::service::ServiceError::McpError(error) = error else {
        panic!("{error:?}");
    };
    assert_eq!(
        error.code,
        mcp_secure::rmcp::model::ErrorCode::INVALID_PARAMS
    );
    assert_eq!(error.message, "bad params near ***");
    client.cancel().await.unwrap();
}
