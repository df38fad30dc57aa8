//! # tour: a secured MCP server over HTTP, end to end, narrated
//!
//! What it shows, with no outside service:
//! - the `data_server` example served over Streamable HTTP as an OAuth 2.1 resource server;
//! - the embedded development authorization server (auto-approving as `alice`, who may hold
//!   `data:read data:write`);
//! - rmcp's own OAuth client discovering everything from a `401`: RFC 9728 protected resource
//!   metadata → RFC 8414 authorization server metadata → dynamic client registration →
//!   authorization code with PKCE S256 and a resource indicator → token;
//! - a call that succeeds, a call refused with `403 insufficient_scope` and the step-up that
//!   fixes it, a burst that hits `RATE_LIMITED` with its `retry_after`, secrets masked in
//!   output, refresh token rotation, and a replayed refresh token refused (its family revoked);
//! - a DPoP-bound token (RFC 9449) working with proofs by its key through rmcp's client, and
//!   the same token refused when stolen: as a bearer token, with a thief's proof, or with a
//!   captured proof replayed.
//!
//! Run it: `cargo run --example tour`. It exits 0 only if every step behaved as it should.
//! `LOG_LEVEL=info` also shows the audit events on stderr.

#[allow(dead_code)]
#[path = "data_server.rs"]
mod data_server;

use std::{process::ExitCode, sync::Arc, time::Duration};

use mcp_secure::{
    auth::{
        Algorithm, SigningKey,
        dpop::{DpopConfig, DpopMode, DpopProofs},
    },
    dev_auth::{self, DevAuthConfig, DevAuthServer, DevUser},
    dpop_client::DpopHttpClient,
    http::{HttpConfig, HttpServer, setup::validator_for_issuer},
    redact::SecretString,
    rmcp::{
        RoleClient, ServiceExt,
        model::{CallToolRequestParams, CallToolResult, JsonObject},
        service::RunningService,
        transport::{
            AuthClient, AuthorizationManager, AuthorizationRequest, StreamableHttpClientTransport,
            auth::{AuthorizationCallback, OAuthState},
            streamable_http_client::StreamableHttpClientTransportConfig,
        },
    },
};
use serde_json::{Value, json};

/// Where the client says it would receive the authorization response. The tour plays the
/// browser, so nothing needs to listen there.
const REDIRECT_URI: &str = "http://127.0.0.1:7777/callback";
/// A secret the server knows (its "API key"), to show it masked in output.
const SERVER_API_KEY: &str = "sk-tour-3f9a1c0d77e2";

type Client = RunningService<RoleClient, ()>;

struct Tour {
    passed: usize,
    failed: usize,
}

impl Tour {
    fn step(&mut self, n: u32, title: &str) {
        println!("\n{n}. {title}");
    }

    fn check(&mut self, ok: bool, what: impl AsRef<str>) {
        if ok {
            self.passed += 1;
            println!("   ✓ {}", what.as_ref());
        } else {
            self.failed += 1;
            println!("   ✗ {}", what.as_ref());
        }
    }

    fn note(&self, what: impl AsRef<str>) {
        println!("     {}", what.as_ref());
    }
}

fn args(v: Value) -> JsonObject {
    v.as_object().cloned().unwrap_or_default()
}

/// The `{"error": {...}}` body of an error result: its structured content, or (for a tool
/// that declares an output schema) its text.
fn error_of(result: &CallToolResult) -> Option<Value> {
    if result.is_error != Some(true) {
        return None;
    }
    let body = result.structured_content.clone().or_else(|| {
        let text = result.content.first()?.as_text()?;
        serde_json::from_str(&text.text).ok()
    })?;
    body.get("error").cloned()
}

async fn call(
    client: &Client,
    tool: &'static str,
    arguments: Value,
) -> Result<CallToolResult, String> {
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(args(arguments)))
        .await
        .map_err(|e| format!("{e:?}"))
}

/// The scope a 403 asked for, as rmcp's client reports it (`required_scope: Some("…")`).
fn required_scope(error: &str) -> Option<String> {
    let start = error.find("required_scope: Some(\"")? + "required_scope: Some(\"".len();
    let len = error[start..].find('"')?;
    Some(error[start..start + len].to_owned())
}

/// Plays the browser for an auto-approving server and completes the code exchange.
async fn authorize(manager: &AuthorizationManager, url: &str) -> Result<(), String> {
    let callback = dev_auth::approve_headless(url)
        .await
        .map_err(|e| e.to_string())?;
    let callback =
        AuthorizationCallback::from_redirect_url(&callback).map_err(|e| e.to_string())?;
    manager
        .exchange_code_for_token_with_issuer(
            &callback.code,
            &callback.csrf_token,
            callback.issuer.as_deref(),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn token_field(manager: &AuthorizationManager, field: &str) -> Option<String> {
    let (_, response) = manager.get_credentials().await.ok()?;
    let value = serde_json::to_value(response?).ok()?;
    value.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn claims_of(jwt: &str) -> Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null)
}

/// The servers the tour talks to.
struct Servers {
    mcp_url: String,
    auth_server: DevAuthServer,
    running: mcp_secure::http::RunningHttpServer,
}

/// Steps 1 and 2: the development authorization server, then `data_server` behind the
/// resource server trusting it.
async fn start_servers(t: &mut Tour) -> Result<Servers, String> {
    t.step(1, "Start the development authorization server");
    let mcp_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let mcp_url = format!(
        "http://{}/mcp",
        mcp_listener.local_addr().map_err(|e| e.to_string())?
    );
    let alice = DevUser::new("alice", "data:read data:write").map_err(|e| e.to_string())?;
    let config = DevAuthConfig::new(mcp_url.clone(), vec![alice]).map_err(|e| e.to_string())?;
    let as_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let auth_server = DevAuthServer::start(config, as_listener)
        .await
        .map_err(|e| e.to_string())?;
    t.check(
        true,
        format!(
            "issuer {} (auto-approves as alice: data:read data:write)",
            auth_server.issuer()
        ),
    );

    t.step(
        2,
        "Serve data_server over Streamable HTTP as an OAuth 2.1 resource server",
    );
    let server = data_server::DataServer::with_api_key(SERVER_API_KEY);
    let validator = validator_for_issuer(auth_server.issuer(), &mcp_url)
        .await
        .map_err(|e| e.to_string())?;
    t.check(
        true,
        "the authorization server's metadata names the same issuer and advertises PKCE S256",
    );
    // DPoP-bound tokens are accepted beside bearer tokens (step 10 shows them).
    let http = HttpConfig::new(&mcp_url, auth_server.issuer())
        .map_err(|e| e.to_string())?
        .dpop(DpopConfig::new(DpopMode::Optional));
    let running = HttpServer::new(server, validator, http)
        .serve(mcp_listener)
        .await
        .map_err(|e| e.to_string())?;
    t.check(true, format!("MCP endpoint {mcp_url}"));
    Ok(Servers {
        mcp_url,
        auth_server,
        running,
    })
}

/// Step 3: a call without a token gets the `401` challenge; returns it.
async fn call_without_token(t: &mut Tour, mcp_url: &str) -> Result<String, String> {
    t.step(3, "Call without a token");
    let raw = reqwest::Client::new()
        .post(mcp_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let challenge = raw
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    t.check(
        raw.status() == 401,
        format!("401 Unauthorized, WWW-Authenticate: {challenge}"),
    );
    Ok(challenge)
}

/// Step 4: rmcp's OAuth client, from the challenge to a token for `data:read`.
async fn log_in(
    t: &mut Tour,
    mcp_url: &str,
    challenge: String,
) -> Result<AuthClient<reqwest::Client>, String> {
    t.step(
        4,
        "rmcp's OAuth client: discovery → registration → PKCE → token (scope data:read)",
    );
    let mut oauth = OAuthState::new(mcp_url, None)
        .await
        .map_err(|e| e.to_string())?;
    oauth
        .start_authorization(
            AuthorizationRequest::new(REDIRECT_URI)
                .with_scopes(["data:read"])
                .with_client_name("mcp-secure tour")
                .with_challenge(challenge),
        )
        .await
        .map_err(|e| e.to_string())?;
    let url = oauth
        .get_authorization_url()
        .await
        .map_err(|e| e.to_string())?;
    t.check(
        url.contains("code_challenge_method=S256") && url.contains("resource="),
        "authorization URL carries a PKCE S256 challenge and the resource indicator",
    );
    let callback = dev_auth::approve_headless(&url)
        .await
        .map_err(|e| e.to_string())?;
    oauth
        .handle_callback_url(&callback)
        .await
        .map_err(|e| e.to_string())?;
    let manager = oauth.into_authorization_manager().ok_or("not authorized")?;
    let access = token_field(&manager, "access_token")
        .await
        .unwrap_or_default();
    let claims = claims_of(&access);
    let lifetime = claims["exp"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(claims["iat"].as_u64().unwrap_or(0));
    t.check(
        claims["aud"] == mcp_url && claims["scope"] == "data:read" && lifetime == 900,
        format!(
            "access token for alice, aud = this server, scope \"{}\", lifetime {lifetime} s",
            claims["scope"].as_str().unwrap_or("")
        ),
    );
    Ok(AuthClient::new(reqwest::Client::default(), manager))
}

/// An MCP session over `auth_client`'s credentials.
async fn connect(
    auth_client: AuthClient<reqwest::Client>,
    mcp_url: &str,
) -> Result<Client, String> {
    let transport = StreamableHttpClientTransport::with_client(
        auth_client,
        StreamableHttpClientTransportConfig::with_uri(mcp_url.to_owned()),
    );
    ().serve(transport).await.map_err(|e| e.to_string())
}

/// Step 5: the listing shows what the token allows; a permitted call succeeds.
async fn list_and_call(t: &mut Tour, client: &Client) -> Result<(), String> {
    t.step(5, "List tools and call one");
    let tools = client.list_all_tools().await.map_err(|e| e.to_string())?;
    let mut names: Vec<&str> = tools.iter().map(|x| x.name.as_ref()).collect();
    names.sort_unstable();
    t.check(
        names == ["read_data", "server_status"],
        format!("tools/list shows what data:read allows: {names:?}"),
    );
    if let Some(read) = tools.iter().find(|x| x.name == "read_data") {
        t.note(format!(
            "read_data advertises _meta: {}",
            serde_json::to_string(&read.meta).unwrap_or_default()
        ));
    }
    let status = call(client, "server_status", json!({})).await?;
    let caller = status
        .structured_content
        .as_ref()
        .and_then(|v| v.get("caller"))
        .cloned();
    t.check(
        status.is_error == Some(false) && caller == Some(json!("alice")),
        "server_status succeeds; the server sees caller alice",
    );
    Ok(())
}

/// Step 6: a call needing `data:write` gets `403 insufficient_scope`; the client steps up
/// and the call succeeds in a new session. Returns that session.
async fn step_up(
    t: &mut Tour,
    client: Client,
    auth_client: AuthClient<reqwest::Client>,
    mcp_url: &str,
) -> Result<Client, String> {
    t.step(6, "A call that needs a scope the token lacks, then step-up");
    let denied = call(
        &client,
        "write_data",
        json!({"id": "greeting", "data": "hello"}),
    )
    .await;
    let needed = match &denied {
        Err(e) => required_scope(e),
        Ok(_) => None,
    };
    t.check(
        needed.as_deref() == Some("data:write"),
        format!(
            "403 insufficient_scope; the client reads scope=\"{}\" from the challenge",
            needed.as_deref().unwrap_or("?")
        ),
    );
    let needed = needed.unwrap_or_else(|| "data:write".into());
    let manager = auth_client.auth_manager.clone();
    let upgrade_url = manager
        .lock()
        .await
        .request_scope_upgrade(&needed)
        .await
        .map_err(|e| e.to_string())?;
    authorize(&*manager.lock().await, &upgrade_url).await?;
    let granted = claims_of(
        &token_field(&*manager.lock().await, "access_token")
            .await
            .unwrap_or_default(),
    );
    t.note(format!(
        "re-authorized with scope \"{}\"",
        granted["scope"].as_str().unwrap_or("")
    ));
    // The 403 ended the first session; a new one shares the same (upgraded) credentials.
    let _ = client.cancel().await;
    let client = connect(auth_client, mcp_url).await?;
    let written = call(
        &client,
        "write_data",
        json!({"id": "greeting", "data": "hello"}),
    )
    .await?;
    t.check(
        written.is_error == Some(false),
        "write_data succeeds after the step-up",
    );
    Ok(client)
}

/// Step 7: a burst past `write_data`'s rate.
async fn burst(t: &mut Tour, client: &Client) -> Result<(), String> {
    t.step(
        7,
        "A burst past the rate limit (write_data: 30/min, burst 5)",
    );
    let mut admitted = 1; // the write of the step-up
    let mut limited = None;
    for i in 0..10 {
        let r = call(
            client,
            "write_data",
            json!({"id": format!("k{i}"), "data": "x"}),
        )
        .await?;
        match error_of(&r) {
            None => admitted += 1,
            Some(e) if e["code"] == "RATE_LIMITED" => {
                limited = Some(e.clone());
                break;
            }
            Some(e) => return Err(format!("unexpected error {e}")),
        }
    }
    match limited {
        Some(e) => t.check(
            admitted == 5 && e["retry_after"].as_u64().is_some_and(|s| s >= 1),
            format!(
                "{admitted} admitted, then RATE_LIMITED with retry_after = {} s",
                e["retry_after"]
            ),
        ),
        None => t.check(false, "the burst was never limited"),
    }
    Ok(())
}

/// Step 8: a registered secret and a connection string's credentials come out masked.
async fn secrets(t: &mut Tour, client: &Client) -> Result<(), String> {
    t.step(8, "Secrets in output are masked");
    let r = call(
        client,
        "process_input",
        json!({"data": format!("my key is {SERVER_API_KEY}")}),
    )
    .await?;
    let text = r
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|x| x.text.clone())
        .unwrap_or_default();
    t.check(
        !text.to_ascii_lowercase().contains(SERVER_API_KEY),
        format!(
            "the server's API key sent back (upper-cased by the tool) comes out masked: {text}"
        ),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = call(
        client,
        "write_data",
        json!({"id": "db", "data": "postgresql://app:hunter2@db.internal/app"}),
    )
    .await?;
    let stored = r
        .structured_content
        .as_ref()
        .and_then(|v| v.get("data"))
        .cloned()
        .unwrap_or(Value::Null);
    t.check(
        stored == json!("postgresql://***:***@db.internal/app"),
        format!("connection string credentials masked: {stored}"),
    );
    Ok(())
}

/// Presents `refresh` at the token endpoint as `client_id`: the status and body.
async fn redeem(issuer: &str, client_id: &str, refresh: &str) -> Result<(u16, Value), String> {
    let body = format!("grant_type=refresh_token&refresh_token={refresh}&client_id={client_id}");
    let r = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body: Value =
        serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    Ok((status, body))
}

/// Step 9: refresh rotates; a replayed refresh token revokes its family.
async fn refresh(
    t: &mut Tour,
    auth_client: &AuthClient<reqwest::Client>,
    issuer: &str,
) -> Result<(), String> {
    t.step(9, "Refresh token rotation and reuse detection");
    let manager = auth_client.auth_manager.clone();
    let old_refresh = token_field(&*manager.lock().await, "refresh_token")
        .await
        .unwrap_or_default();
    manager
        .lock()
        .await
        .refresh_token()
        .await
        .map_err(|e| e.to_string())?;
    let new_refresh = token_field(&*manager.lock().await, "refresh_token")
        .await
        .unwrap_or_default();
    t.check(
        !new_refresh.is_empty() && new_refresh != old_refresh,
        "refresh returned a new access token and a new refresh token",
    );
    let (client_id, _) = manager
        .lock()
        .await
        .get_credentials()
        .await
        .map_err(|e| e.to_string())?;
    let (status, body) = redeem(issuer, &client_id, &old_refresh).await?;
    t.check(
        status == 400 && body["error"] == "invalid_grant",
        format!(
            "the old refresh token is refused: {} {}",
            status, body["error_description"]
        ),
    );
    let (status, _) = redeem(issuer, &client_id, &new_refresh).await?;
    t.check(
        status == 400,
        "reuse revoked the whole family: the newest refresh token is refused too",
    );
    Ok(())
}

/// `POST url` with `authorization` and a `DPoP` proof (if any): status and JSON body.
async fn raw_call(
    url: &str,
    authorization: &str,
    proof: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", authorization)
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "server_status", "arguments": {}}})
            .to_string(),
        );
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let r = request.send().await.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    Ok((status, body))
}

/// Step 10: a DPoP-bound token works with its key's proofs; the same token stolen does not.
async fn dpop(t: &mut Tour, mcp_url: &str, issuer: &str) -> Result<(), String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    t.step(
        10,
        "Sender-constrained tokens (DPoP, RFC 9449): a stolen token does not work",
    );
    let key = SigningKey::generate(Algorithm::ES256, "tour-client").map_err(|e| e.to_string())?;
    let holder = Arc::new(DpopProofs::new(key).ok_or("no thumbprint")?);
    // Register, authorize with `dpop_jkt`, redeem the code with a proof by the same key.
    let http = reqwest::Client::new();
    let registered: Value = http
        .post(format!("{issuer}/register"))
        .json(
            &json!({"redirect_uris": [REDIRECT_URI], "client_name": "tour (DPoP)",
                       "token_endpoint_auth_method": "none"}),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let client_id = registered["client_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let verifier = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, client_id.as_bytes()).as_ref(),
    ) + "-tour-verifier";
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
    );
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).map_err(|e| e.to_string())?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("scope", "data:read")
        .append_pair("resource", mcp_url)
        .append_pair("dpop_jkt", holder.jkt());
    let callback = dev_auth::approve_headless(url.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let code = url::Url::parse(&callback)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;
    let token_url = format!("{issuer}/token");
    let proof = holder
        .proof("POST", &token_url, None, None)
        .ok_or("no proof")?;
    let answer: Value = http
        .post(&token_url)
        .header("dpop", proof)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT_URI),
                    ("client_id", client_id.as_str()),
                    ("code_verifier", verifier.as_str()),
                ])
                .finish(),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = answer["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let bound = claims_of(&token)["cnf"]["jkt"] == holder.jkt();
    t.check(
        answer["token_type"] == "DPoP" && bound,
        "token_type DPoP; the access token carries cnf.jkt, the thumbprint of the client's key",
    );
    // rmcp's client, with a proof on every request.
    let transport = StreamableHttpClientTransport::with_client(
        DpopHttpClient::new(
            reqwest::Client::new(),
            holder.clone(),
            SecretString::from(token.clone()),
        ),
        StreamableHttpClientTransportConfig::with_uri(mcp_url.to_owned()),
    );
    let client = ().serve(transport).await.map_err(|e| e.to_string())?;
    let result = call(&client, "server_status", json!({})).await?;
    let caller = result
        .structured_content
        .as_ref()
        .and_then(|v| v.get("caller"))
        .cloned();
    t.check(
        result.is_error == Some(false) && caller == Some(json!("alice")),
        "rmcp's client with DpopHttpClient: server_status succeeds for alice (a fresh proof per request)",
    );
    let _ = client.cancel().await;
    // Stolen: the token alone.
    let (status, body) = raw_call(mcp_url, &format!("Bearer {token}"), None).await?;
    t.check(
        status == 401,
        format!(
            "the token presented as a bearer token: {status} {}",
            body["error_description"].as_str().unwrap_or_default()
        ),
    );
    let thief = DpopProofs::new(
        SigningKey::generate(Algorithm::ES256, "thief").map_err(|e| e.to_string())?,
    )
    .ok_or("no thumbprint")?;
    let forged = thief
        .proof("POST", mcp_url, Some(&token), None)
        .ok_or("no proof")?;
    let (status, body) = raw_call(mcp_url, &format!("DPoP {token}"), Some(&forged)).await?;
    t.check(
        status == 401 && body["error"] == "invalid_dpop_proof",
        format!(
            "the token with a proof by the thief's own key: {status} {}",
            body["error_description"].as_str().unwrap_or_default()
        ),
    );
    let proof = holder
        .proof("POST", mcp_url, Some(&token), None)
        .ok_or("no proof")?;
    let (first, _) = raw_call(mcp_url, &format!("DPoP {token}"), Some(&proof)).await?;
    let (replayed, body) = raw_call(mcp_url, &format!("DPoP {token}"), Some(&proof)).await?;
    t.check(
        first == 200 && replayed == 401,
        format!(
            "a captured proof replayed: {replayed} {}",
            body["error_description"].as_str().unwrap_or_default()
        ),
    );
    Ok(())
}

async fn run(t: &mut Tour) -> Result<(), String> {
    let servers = start_servers(t).await?;
    let challenge = call_without_token(t, &servers.mcp_url).await?;
    let auth_client = log_in(t, &servers.mcp_url, challenge).await?;
    let client = connect(auth_client.clone(), &servers.mcp_url).await?;
    list_and_call(t, &client).await?;
    let client = step_up(t, client, auth_client.clone(), &servers.mcp_url).await?;
    burst(t, &client).await?;
    secrets(t, &client).await?;
    refresh(t, &auth_client, servers.auth_server.issuer()).await?;
    let _ = client.cancel().await;
    dpop(t, &servers.mcp_url, servers.auth_server.issuer()).await?;
    servers.running.shutdown().await;
    servers.auth_server.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::var("LOG_LEVEL").is_err() {
        let _ = mcp_secure::logging::init_with(mcp_secure::LogFormat::Human, "error");
    } else {
        let _ = mcp_secure::init_logging();
    }
    println!(
        "mcp-secure tour: a secured MCP server, an OAuth 2.1 flow, and what the pipeline refuses"
    );
    let mut tour = Tour {
        passed: 0,
        failed: 0,
    };
    let outcome = tokio::time::timeout(Duration::from_secs(120), run(&mut tour)).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tour.failed += 1;
            println!("\n   ✗ the tour stopped: {e}");
        }
        Err(_) => {
            tour.failed += 1;
            println!("\n   ✗ the tour timed out");
        }
    }
    println!("\n{} checks passed, {} failed", tour.passed, tour.failed);
    if tour.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
