//! Token exchange (RFC 8693) end to end: a user's token from the development authorization
//! server, an MCP tool that exchanges it for a token for a downstream API and calls that API
//! (which checks the token's audience itself), refusals for audiences the policy does not
//! allow, the cache, expiry, and the downstream token absent from every output.

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::State, http::HeaderMap, routing::get};
use mcp_secure::{
    Principal, SecureConfig,
    auth::TokenValidator,
    dev_auth::{DevAuthConfig, DevAuthServer, DevClient, DevUser},
    error::ToolError,
    exchange::{ExchangeConfig, ExchangeError, TokenExchanger},
    http::{HttpConfig, HttpServer, setup::validator_from_config},
    prelude::*,
    redact::{ExposeSecret, SecretString},
    scope::ScopeSet,
};
use mcp_secure_tests::oauth::{post_bearer, tools_call};
use serde_json::{Value, json};

const SECRET: &str = "exchange-client-secret-0123456789";

/// The downstream API: accepts only tokens whose audience is itself.
async fn downstream(validator: Arc<dyn TokenValidator>) -> (String, tokio::task::JoinHandle<()>) {
    async fn notes(
        State(v): State<Arc<dyn TokenValidator>>,
        headers: HeaderMap,
    ) -> Result<axum::Json<Value>, axum::http::StatusCode> {
        let token = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or(axum::http::StatusCode::UNAUTHORIZED)?;
        let p = v
            .validate(token)
            .await
            .map_err(|_| axum::http::StatusCode::UNAUTHORIZED)?;
        Ok(axum::Json(json!({
            "owner": p.subject(),
            "act": p.claim("act").cloned().unwrap_or(Value::Null),
            "scope": p.scopes().to_string(),
            "notes": ["buy milk"],
        })))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/notes", get(notes))
        .with_state(validator);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), task)
}

#[derive(Clone)]
struct Notes {
    security: Security,
    exchanger: Arc<TokenExchanger>,
    api: String,
    audience: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Target {
    /// Which audience to ask for (the test tries one the policy refuses).
    #[validate(length(max = 200))]
    audience: Option<String>,
}

#[secure_server(scopes = "notes:read")]
impl Notes {
    /// Reads the caller's notes from the downstream API with an exchanged token.
    #[secure_tool(scopes = "notes:read", rate = 600)]
    async fn read_notes(
        &self,
        caller: Principal,
        Parameters(input): Parameters<Target>,
    ) -> Result<Json<Value>, ToolError> {
        let audience = input.audience.unwrap_or_else(|| self.audience.clone());
        let scopes = ScopeSet::parse("notes:read").map_err(ToolError::internal)?;
        let token = self
            .exchanger
            .exchange(&caller, &audience, &scopes)
            .await
            .map_err(ExchangeError::tool_error)?;
        let body: Value = reqwest::Client::new()
            .get(format!("{}/notes", self.api))
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(ToolError::internal)?
            .json()
            .await
            .map_err(ToolError::internal)?;
        Ok(Json(body))
    }
}

struct World {
    auth: DevAuthServer,
    /// The MCP server's `private_key_jwt` key (PKCS#8), registered at the authorization server.
    client_key: Vec<u8>,
    mcp_url: String,
    api: String,
    exchanger: Arc<TokenExchanger>,
    running: mcp_secure::http::RunningHttpServer,
    _api: tokio::task::JoinHandle<()>,
}

async fn world(margin: Duration, ttl: Duration) -> World {
    let mcp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mcp_url = format!("http://{}/mcp", mcp_listener.local_addr().unwrap());
    let api_audience = "https://notes-api.example.com/".to_owned();
    let other = "https://other.example.com/api".to_owned();
    let client_key =
        mcp_secure::auth::SigningKey::generate(mcp_secure::auth::Algorithm::ES256, "notes-mcp")
            .unwrap();
    let config = DevAuthConfig::new(
        mcp_url.clone(),
        vec![DevUser::new("alice", "notes:read notes:write").unwrap()],
    )
    .unwrap()
    .resource(api_audience.clone())
    .resource(other)
    .access_token_ttl(ttl)
    .unwrap()
    .client(DevClient {
        id: "notes-mcp".into(),
        secret: SecretString::from(SECRET.to_owned()),
        scopes: ScopeSet::parse("notes:read").unwrap(),
    })
    .client(DevClient {
        id: "other-client".into(),
        secret: SecretString::from(SECRET.to_owned()),
        scopes: ScopeSet::parse("notes:read").unwrap(),
    })
    .token_exchange("notes-mcp", [api_audience.clone()])
    .client_key("notes-mcp", client_key.public_jwk().clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth = DevAuthServer::start(config, listener).await.unwrap();
    // The downstream API trusts the same issuer, for its own audience only.
    let api_validator = mcp_secure::http::setup::validator_for_issuer(auth.issuer(), &api_audience)
        .await
        .unwrap();
    let (api, api_task) = downstream(api_validator).await;
    let exchanger = Arc::new(TokenExchanger::new(
        ExchangeConfig::new(
            format!("{}/token", auth.issuer()).parse().unwrap(),
            "notes-mcp",
            SecretString::from(SECRET.to_owned()),
        )
        .refresh_margin(margin),
    ));
    // The MCP server keeps callers' tokens (as secrets) for the exchange.
    let mut settings = SecureConfig::default();
    settings.oauth.keep_token = true;
    let validator = validator_from_config(&settings, &[auth.issuer().to_owned()], &mcp_url)
        .await
        .unwrap();
    let server = Notes {
        security: Security::default(),
        exchanger: exchanger.clone(),
        api: api.clone(),
        audience: api_audience,
    };
    let http = HttpConfig::new(&mcp_url, auth.issuer()).unwrap();
    let running = HttpServer::new(server, validator, http)
        .serve(mcp_listener)
        .await
        .unwrap();
    World {
        auth,
        client_key: client_key.to_pkcs8().to_vec(),
        mcp_url,
        api,
        exchanger,
        running,
        _api: api_task,
    }
}

/// A user token for the MCP server, through the code flow (auto-approved as alice).
async fn user_token(w: &World) -> String {
    mcp_secure_tests::oauth::dev_code_flow(w.auth.issuer(), &w.mcp_url, "notes:read").await
}

#[tokio::test]
async fn a_tool_calls_a_downstream_api_with_an_exchanged_token_for_its_caller() {
    let w = world(Duration::from_secs(30), Duration::from_secs(900)).await;
    let token = user_token(&w).await;
    let r = post_bearer(&w.mcp_url, &token, &tools_call("read_notes", json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = &r.json()["result"]["structuredContent"];
    // The downstream API saw alice, acted for by the MCP server's client, with the narrow
    // scope.
    assert_eq!(body["owner"], "alice", "{body}");
    assert_eq!(body["act"]["sub"], "notes-mcp");
    assert_eq!(body["scope"], "notes:read");
    assert_eq!(w.exchanger.fetches(), 1);
    // Cached per caller, audience and scopes: a second call does not exchange again.
    let r = post_bearer(&w.mcp_url, &token, &tools_call("read_notes", json!({}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(w.exchanger.fetches(), 1);
    w.running.shutdown().await;
}

#[tokio::test]
async fn an_audience_the_policy_does_not_allow_is_refused_with_a_fixed_code() {
    let w = world(Duration::from_secs(30), Duration::from_secs(900)).await;
    let token = user_token(&w).await;
    let r = post_bearer(
        &w.mcp_url,
        &token,
        &tools_call(
            "read_notes",
            json!({"audience": "https://other.example.com/api"}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let result = &r.json()["result"];
    assert_eq!(result["isError"], true);
    let text = result.to_string();
    assert!(text.contains("DOWNSTREAM_UNAUTHORIZED"), "{text}");
    // Nothing of the authorization server's own words.
    assert!(
        !text.contains("invalid_target") && !text.contains("may not"),
        "{text}"
    );
    w.running.shutdown().await;
}

#[tokio::test]
async fn exchanged_tokens_expire_from_the_cache_and_pass_through_is_refused_downstream() {
    // Tokens of 60 s, reused until 59 s before expiry: one second of freshness.
    let w = world(Duration::from_secs(59), Duration::from_secs(60)).await;
    let token = user_token(&w).await;
    let request = tools_call("read_notes", json!({}));
    let call = || post_bearer(&w.mcp_url, &token, &request);
    assert_eq!(call().await.status, 200);
    assert_eq!(call().await.status, 200);
    assert_eq!(w.exchanger.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(call().await.status, 200);
    assert_eq!(
        w.exchanger.fetches(),
        2,
        "an expired entry is exchanged again"
    );
    // The caller's own token sent to the downstream API (the pass-through the MCP
    // specification forbids) is refused there: its audience is the MCP server.
    let passed_through = reqwest::Client::new()
        .get(format!("{}/notes", w.api))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(passed_through.status(), 401);
    w.running.shutdown().await;
}

#[tokio::test]
async fn the_downstream_token_the_callers_token_and_the_client_secret_appear_nowhere() {
    let capture = mcp_secure_tests::LogCapture::start();
    let w = world(Duration::from_secs(30), Duration::from_secs(900)).await;
    let token = user_token(&w).await;
    let mut bodies = String::new();
    for args in [
        json!({}),
        json!({"audience": "https://other.example.com/api"}),
    ] {
        let r = post_bearer(&w.mcp_url, &token, &tools_call("read_notes", args)).await;
        bodies.push_str(&r.body);
        bodies.push_str(&format!("{:?}", r.headers));
    }
    // The exchanged token the tool used (the cache hands out the same one).
    let caller = Principal::bearer("alice")
        .token(SecretString::from(token.clone()))
        .build();
    let scopes = ScopeSet::parse("notes:read").unwrap();
    let before = w.exchanger.fetches();
    let downstream = w
        .exchanger
        .exchange(&caller, "https://notes-api.example.com/", &scopes)
        .await
        .unwrap();
    assert_eq!(
        w.exchanger.fetches(),
        before,
        "the tool's exchange was reused"
    );
    let downstream = downstream.expose_secret().to_owned();
    let logs = capture.contents();
    assert!(
        logs.contains("token_exchange_failed"),
        "the refusal is audited"
    );
    let debug = format!("{:?} {:?}", w.exchanger, caller);
    for (what, text) in [("responses", &bodies), ("logs", &logs), ("Debug", &debug)] {
        for (name, secret) in [
            ("the downstream token", downstream.as_str()),
            ("the caller's token", token.as_str()),
            ("the client secret", SECRET),
        ] {
            // The signature part alone would do: look for the whole and its last segment.
            let tail = secret.rsplit('.').next().unwrap_or(secret);
            assert!(
                !text.contains(secret) && !text.contains(tail),
                "{name} appears in the {what}"
            );
        }
    }
    w.running.shutdown().await;
}

#[tokio::test]
async fn the_development_server_exchanges_only_as_its_policy_says() {
    let w = world(Duration::from_secs(30), Duration::from_secs(900)).await;
    let token = user_token(&w).await;
    let exchange =
        |client: &'static str, secret: &'static str, form: Vec<(&'static str, String)>| {
            let issuer = w.auth.issuer().to_owned();
            async move {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish();
                let r = reqwest::Client::new()
                    .post(format!("{issuer}/token"))
                    .basic_auth(client, Some(secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (
                    status,
                    body["error"].as_str().unwrap_or_default().to_owned(),
                )
            }
        };
    let form = |subject: &str, audience: &str, scope: Option<&str>| {
        let mut f = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
            ),
            ("subject_token", subject.to_owned()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token".to_owned(),
            ),
            ("audience", audience.to_owned()),
        ];
        if let Some(s) = scope {
            f.push(("scope", s.to_owned()));
        }
        f
    };
    let api = "https://notes-api.example.com/";
    assert_eq!(
        exchange("notes-mcp", SECRET, form(&token, api, Some("notes:read")))
            .await
            .0,
        200
    );
    for (what, got, expected) in [
        (
            "a client the policy does not name",
            exchange("other-client", SECRET, form(&token, api, None)).await,
            (400, "unauthorized_client"),
        ),
        (
            "a wrong client secret",
            exchange("notes-mcp", "wrong-secret", form(&token, api, None)).await,
            (401, "invalid_client"),
        ),
        (
            "an audience outside the policy",
            exchange(
                "notes-mcp",
                SECRET,
                form(&token, "https://other.example.com/api", None),
            )
            .await,
            (400, "invalid_target"),
        ),
        (
            "a forged subject token",
            exchange(
                "notes-mcp",
                SECRET,
                form("eyJhbGciOiJub25lIn0.e30.", api, None),
            )
            .await,
            (400, "invalid_grant"),
        ),
        (
            "a scope wider than the user's token",
            exchange("notes-mcp", SECRET, form(&token, api, Some("notes:write"))).await,
            (400, "invalid_scope"),
        ),
    ] {
        assert_eq!((got.0, got.1.as_str()), expected, "{what}");
    }
    w.running.shutdown().await;
}

#[tokio::test]
async fn the_server_can_authenticate_with_private_key_jwt_and_an_assertion_is_single_use() {
    use mcp_secure::auth::{Algorithm, SigningKey};
    let w = world(Duration::from_secs(30), Duration::from_secs(900)).await;
    let token = user_token(&w).await;
    let key = SigningKey::from_pkcs8(Algorithm::ES256, "notes-mcp", &w.client_key).unwrap();
    let exchanger = TokenExchanger::new(ExchangeConfig::with_private_key(
        format!("{}/token", w.auth.issuer()).parse().unwrap(),
        "notes-mcp",
        key,
    ));
    let caller = Principal::bearer("alice")
        .token(SecretString::from(token.clone()))
        .build();
    let scopes = ScopeSet::parse("notes:read").unwrap();
    let downstream = exchanger
        .exchange(&caller, "https://notes-api.example.com/", &scopes)
        .await
        .unwrap();
    let claims: Value = {
        use base64::Engine;
        let part = downstream
            .expose_secret()
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["aud"], "https://notes-api.example.com/");
    assert_eq!(claims["act"]["sub"], "notes-mcp");
    // An assertion signed by another key, and one replayed, are refused.
    let token_url = format!("{}/token", w.auth.issuer());
    let assertion = |key: &SigningKey, jti: &str| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        key.sign(
            &json!({"iss": "notes-mcp", "sub": "notes-mcp", "aud": token_url, "iat": now,
                    "exp": now + 60, "jti": jti}),
            None,
        )
        .unwrap()
    };
    let post = |assertion: String| {
        let token_url = token_url.clone();
        let token = token.clone();
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", token.as_str()),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("audience", "https://notes-api.example.com/"),
                    ("client_id", "notes-mcp"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .finish();
            reqwest::Client::new()
                .post(token_url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let registered = SigningKey::from_pkcs8(Algorithm::ES256, "notes-mcp", &w.client_key).unwrap();
    let stranger = SigningKey::generate(Algorithm::ES256, "notes-mcp").unwrap();
    assert_eq!(post(assertion(&stranger, "a-1")).await, 401);
    let once = assertion(&registered, "a-2");
    assert_eq!(post(once.clone()).await, 200);
    assert_eq!(post(once).await, 401, "a replayed assertion");
    w.running.shutdown().await;
}

/// Microsoft Entra ID's on-behalf-of request, against a stand-in for its v2.0 token endpoint
/// (Entra itself cannot run here) that answers only a request of exactly the documented shape:
/// the `jwt-bearer` grant, the caller's token as `assertion`, `requested_token_use`,
/// resource-qualified scopes and the client's credentials in the body.
#[tokio::test]
async fn entra_on_behalf_of_sends_the_documented_request() {
    use std::collections::HashMap;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<std::sync::Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let app = {
        let seen = seen.clone();
        Router::new().route(
            "/tenant-1/oauth2/v2.0/token",
            axum::routing::post(move |body: String| {
                let seen = seen.clone();
                async move {
                    let form: HashMap<String, String> =
                        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    seen.lock().unwrap().push(form.clone());
                    let expected = [
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("client_id", "notes-mcp"),
                        ("client_secret", SECRET),
                        ("assertion", "user-access-token"),
                        ("requested_token_use", "on_behalf_of"),
                        ("scope", "api://notes-api/notes.read"),
                    ];
                    let ok = form.len() == expected.len()
                        && expected.iter().all(|(k, v)| form.get(*k).map(String::as_str) == Some(*v));
                    if ok {
                        (
                            axum::http::StatusCode::OK,
                            axum::Json(json!({"token_type": "Bearer", "scope": "api://notes-api/notes.read",
                                "expires_in": 3599, "ext_expires_in": 3599, "access_token": "obo-access-token"})),
                        )
                    } else {
                        (
                            axum::http::StatusCode::BAD_REQUEST,
                            axum::Json(json!({"error": "invalid_request"})),
                        )
                    }
                }
            }),
        )
    };
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let exchanger = TokenExchanger::new(
        ExchangeConfig::new(
            format!("{base}/tenant-1/oauth2/v2.0/token")
                .parse()
                .unwrap(),
            "notes-mcp",
            SecretString::from(SECRET.to_owned()),
        )
        .entra_on_behalf_of(),
    );
    let caller = Principal::bearer("alice")
        .token(SecretString::from("user-access-token".to_owned()))
        .build();
    let token = exchanger
        .exchange(
            &caller,
            "api://notes-api",
            &ScopeSet::parse("notes.read").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "obo-access-token");
    // Cached like any exchange; another scope is another request.
    exchanger
        .exchange(
            &caller,
            "api://notes-api",
            &ScopeSet::parse("notes.read").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    let refused = exchanger
        .exchange(
            &caller,
            "api://notes-api",
            &ScopeSet::parse("notes.write").unwrap(),
        )
        .await;
    assert_eq!(refused.unwrap_err(), ExchangeError::Refused);
    task.abort();
}
