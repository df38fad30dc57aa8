//! OAuth test fixtures: a stub authorization server (JWKS, RFC 8414 metadata, RFC 7662
//! introspection) on a real loopback port, a token minter with real keys, a secured test
//! server, and the HTTP stack that serves it.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing,
};
use mcp_secure::{
    Principal, Security,
    auth::{
        Algorithm, JwksConfig, JwksSource, JwtConfig, JwtValidator, KeySource, SigningKey,
        TokenValidator,
    },
    http::{HttpConfig, HttpServer, RunningHttpServer},
    prelude::*,
};
use serde_json::{Value, json};
use url::Url;

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the stub's JWKS endpoint does.
#[derive(Clone, Debug)]
pub enum JwksBehaviour {
    /// Serve this document.
    Serve(Value),
    /// Answer with this status.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Wait this long, then serve the document.
    Slow(Duration, Value),
    /// Answer with a document larger than any sane cap.
    Huge,
}

#[derive(Debug)]
struct StubState {
    jwks: Mutex<JwksBehaviour>,
    jwks_hits: AtomicU64,
    metadata: Mutex<Value>,
    introspection: Mutex<HashMap<String, Value>>,
    introspection_hits: AtomicU64,
}

/// A stub authorization server on 127.0.0.1.
#[derive(Debug)]
pub struct StubAuthServer {
    addr: SocketAddr,
    state: Arc<StubState>,
}

async fn serve_jwks(State(state): State<Arc<StubState>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let behaviour = state.jwks.lock().unwrap().clone();
    match behaviour {
        JwksBehaviour::Serve(doc) => axum::Json(doc).into_response(),
        JwksBehaviour::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        JwksBehaviour::Garbage => (StatusCode::OK, "<html>not a key set</html>").into_response(),
        JwksBehaviour::Slow(wait, doc) => {
            tokio::time::sleep(wait).await;
            axum::Json(doc).into_response()
        }
        JwksBehaviour::Huge => (StatusCode::OK, "[".repeat(2 * 1024 * 1024)).into_response(),
    }
}

async fn serve_metadata(State(state): State<Arc<StubState>>) -> axum::Json<Value> {
    axum::Json(state.metadata.lock().unwrap().clone())
}

async fn serve_introspect(
    State(state): State<Arc<StubState>>,
    Form(form): Form<HashMap<String, String>>,
) -> axum::Json<Value> {
    state.introspection_hits.fetch_add(1, Ordering::SeqCst);
    let token = form.get("token").cloned().unwrap_or_default();
    let answer = state
        .introspection
        .lock()
        .unwrap()
        .get(&token)
        .cloned()
        .unwrap_or_else(|| json!({"active": false}));
    axum::Json(answer)
}

impl StubAuthServer {
    /// Starts the stub on a free loopback port, serving `jwks`.
    pub async fn start(jwks: Value) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        let state = Arc::new(StubState {
            jwks: Mutex::new(JwksBehaviour::Serve(jwks)),
            jwks_hits: AtomicU64::new(0),
            metadata: Mutex::new(json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "code_challenge_methods_supported": ["S256"],
            })),
            introspection: Mutex::new(HashMap::new()),
            introspection_hits: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/jwks", routing::get(serve_jwks))
            .route(
                "/.well-known/oauth-authorization-server",
                routing::get(serve_metadata),
            )
            .route("/introspect", routing::post(serve_introspect))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state }
    }

    /// The issuer URL (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> Url {
        Url::parse(&format!("{}/jwks", self.issuer())).unwrap()
    }

    /// The introspection URL.
    pub fn introspection_url(&self) -> Url {
        Url::parse(&format!("{}/introspect", self.issuer())).unwrap()
    }

    /// Changes what the JWKS endpoint does.
    pub fn set_jwks(&self, behaviour: JwksBehaviour) {
        *self.state.jwks.lock().unwrap() = behaviour;
    }

    /// JWKS requests served so far.
    pub fn jwks_hits(&self) -> u64 {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// Replaces the metadata document.
    pub fn set_metadata(&self, metadata: Value) {
        *self.state.metadata.lock().unwrap() = metadata;
    }

    /// Makes introspection of `token` answer `answer`.
    pub fn set_introspection(&self, token: &str, answer: Value) {
        self.state
            .introspection
            .lock()
            .unwrap()
            .insert(token.to_owned(), answer);
    }

    /// Introspection requests served so far.
    pub fn introspection_hits(&self) -> u64 {
        self.state.introspection_hits.load(Ordering::SeqCst)
    }
}

/// Mints access tokens with a real key.
#[derive(Debug)]
pub struct Minter {
    /// The signing key.
    pub key: SigningKey,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
}

impl Minter {
    /// A minter with a fresh key for `alg`.
    pub fn new(alg: Algorithm, kid: &str, issuer: &str, audience: &str) -> Self {
        Self {
            key: SigningKey::generate(alg, kid).unwrap(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Valid claims for subject `alice` with `scope`.
    pub fn claims(&self, scope: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "sub": "alice",
            "aud": self.audience,
            "exp": now + 600,
            "iat": now - 5,
            "scope": scope,
            "client_id": "test-client",
            "jti": format!("jti-{}", now),
        })
    }

    /// Signs `claims` with `typ: at+jwt`.
    pub fn mint(&self, claims: &Value) -> String {
        self.key.sign(claims, Some("at+jwt")).unwrap()
    }

    /// A valid token with `scope`.
    pub fn token(&self, scope: &str) -> String {
        self.mint(&self.claims(scope))
    }

    /// The JWKS publishing this minter's key.
    pub fn jwks(&self) -> Value {
        mcp_secure::auth::keys::jwks_document([&self.key])
    }
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
pub struct Note {
    #[validate(length(max = 200))]
    pub text: String,
}

/// A secured server for the HTTP tests.
#[derive(Clone, Debug)]
pub struct TestServer {
    pub security: Security,
}

#[secure_server(
    scopes = "data:read data:write admin:full",
    hierarchy = "admin:full > data:write > data:read",
    name = "http-test-server"
)]
impl TestServer {
    /// Read.
    #[secure_tool(scopes = "data:read")]
    async fn read(&self) -> &'static str {
        "read ok"
    }

    /// Write.
    #[secure_tool(scopes = "data:write", rate = 100)]
    async fn write(&self, Parameters(note): Parameters<Note>) -> String {
        format!("wrote {}", note.text)
    }

    /// Admin.
    #[secure_tool(scopes = "admin:full")]
    async fn admin(&self) -> &'static str {
        "admin ok"
    }

    /// Who am I.
    #[secure_tool(public)]
    async fn whoami(&self, caller: Principal) -> Json<Value> {
        Json(json!({
            "subject": caller.subject(),
            "client_id": caller.client_id(),
            "scopes": caller.scopes().to_string(),
            "method": caller.method().as_str(),
        }))
    }
}

/// A running MCP server over HTTP with its collaborators.
#[derive(Debug)]
pub struct Stack {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The MCP endpoint URL (the resource).
    pub mcp_url: String,
    /// The stub authorization server.
    pub auth: StubAuthServer,
    /// The minter (its key is in the stub's JWKS).
    pub minter: Minter,
    /// The key source, for fetch counts.
    pub jwks: Arc<JwksSource>,
    /// The validator.
    pub validator: Arc<JwtValidator>,
    running: Option<RunningHttpServer>,
}

/// Options of a test stack.
#[allow(missing_debug_implementations)]
pub struct StackOptions {
    /// JWKS settings.
    pub jwks: JwksConfig,
    /// Token settings (issuer and audience are filled in).
    pub jwt: Box<dyn FnOnce(JwtConfig) -> JwtConfig + Send>,
    /// HTTP settings.
    pub http: Box<dyn FnOnce(HttpConfig) -> HttpConfig + Send>,
    /// The key algorithm.
    pub alg: Algorithm,
    /// Fetch the JWKS before serving.
    pub prefetch: bool,
    /// The server's runtime security (default: `Security::default()`).
    pub security: Option<Security>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            jwks: JwksConfig::default(),
            jwt: Box::new(|c| c),
            http: Box::new(|c| c),
            alg: Algorithm::RS256,
            prefetch: true,
            security: None,
        }
    }
}

impl Stack {
    /// Starts a stub AS, then the test server over HTTP trusting it.
    pub async fn start(options: StackOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mcp_url = format!("{base}/mcp");
        let auth = StubAuthServer::start(json!({"keys": []})).await;
        let minter = Minter::new(options.alg, "key-1", &auth.issuer(), &mcp_url);
        auth.set_jwks(JwksBehaviour::Serve(minter.jwks()));
        let jwt_config = (options.jwt)(JwtConfig::new(auth.issuer(), mcp_url.clone()));
        let jwks = Arc::new(
            JwksSource::new(
                auth.jwks_url(),
                jwt_config.allowed_algorithms().to_vec(),
                options.jwks,
            )
            .unwrap(),
        );
        if options.prefetch {
            jwks.refresh().await.unwrap();
        }
        let validator = Arc::new(JwtValidator::new(jwt_config, KeySource::Jwks(jwks.clone())));
        let http = (options.http)(HttpConfig::new(&mcp_url, auth.issuer()).unwrap());
        let server = TestServer {
            security: options.security.unwrap_or_default(),
        };
        let running = HttpServer::new(server, validator.clone() as Arc<dyn TokenValidator>, http)
            .serve(listener)
            .await
            .unwrap();
        Self {
            base,
            mcp_url,
            auth,
            minter,
            jwks,
            validator,
            running: Some(running),
        }
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

/// A JSON-RPC `tools/call` body.
pub fn tools_call(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// A JSON-RPC `tools/list` body.
pub fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
}

/// The answer to one raw HTTP request.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The `WWW-Authenticate` header.
    pub fn challenge(&self) -> String {
        self.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The body as JSON (the JSON-RPC message for 200 replies).
    pub fn json(&self) -> Value {
        let text = self.body.trim();
        if let Ok(v) = serde_json::from_str(text) {
            return v;
        }
        // An SSE reply carries the message on a `data:` line (after a priming event).
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .unwrap_or(Value::Null)
    }
}

/// POSTs `body` to `url` with an optional `Authorization` value and extra headers.
pub async fn post(
    url: &str,
    authorization: Option<&str>,
    body: &Value,
    extra: &[(&str, &str)],
) -> Reply {
    let client = reqwest::Client::new();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// POSTs with `Authorization: Bearer <token>`.
pub async fn post_bearer(url: &str, token: &str, body: &Value) -> Reply {
    post(url, Some(&format!("Bearer {token}")), body, &[]).await
}

/// A user token from a development authorization server at `issuer` for `resource` with
/// `scope`: a public client registered, the code flow with PKCE approved headlessly.
pub async fn dev_code_flow(issuer: &str, resource: &str, scope: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    const REDIRECT: &str = "http://127.0.0.1:45679/cb";
    let http = reqwest::Client::new();
    let registered: Value = http
        .post(format!("{issuer}/register"))
        .header("content-type", "application/json")
        .body(
            json!({"redirect_uris": [REDIRECT], "client_name": "test",
                   "token_endpoint_auth_method": "none"})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = registered["client_id"].as_str().unwrap().to_owned();
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
    );
    let mut url = Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("scope", scope)
        .append_pair("resource", resource);
    let callback = mcp_secure::dev_auth::approve_headless(url.as_str())
        .await
        .unwrap();
    let code = Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", client.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .finish();
    let answer: Value = http
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}
