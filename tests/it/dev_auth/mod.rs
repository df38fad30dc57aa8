//! The embedded development authorization server: the whole flow with rmcp's OAuth client
//! against a running resource server, and every refusal the authorization server owes
//! (PKCE, codes, redirect URIs, resource indicators, refresh rotation, token lifetime).

use std::time::Duration;

use aws_lc_rs::digest;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mcp_secure::{
    Security,
    auth::Algorithm,
    dev_auth::{
        self, Approval, DevAuthConfig, DevAuthConfigError, DevAuthServer, DevClient, DevUser,
    },
    http::{HttpConfig, HttpServer, setup::validator_for_issuer},
    redact::SecretString,
    rmcp::{
        RoleClient, ServiceExt,
        model::CallToolRequestParams,
        service::RunningService,
        transport::{
            AuthClient, AuthorizationRequest, StreamableHttpClientTransport, auth::OAuthState,
            streamable_http_client::StreamableHttpClientTransportConfig,
        },
    },
};
use mcp_secure_tests::{free_port, oauth::TestServer, wait_for_port};
use serde_json::{Value, json};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:45678/cb";
const RESOURCE: &str = "http://127.0.0.1:1/mcp";

struct Dev {
    server: DevAuthServer,
    issuer: String,
}

async fn dev_with(tweak: impl FnOnce(DevAuthConfig) -> DevAuthConfig) -> Dev {
    let users = vec![
        DevUser::new("alice", "data:read data:write").unwrap(),
        DevUser::new("root", "admin:full data:read data:write").unwrap(),
    ];
    let config = tweak(DevAuthConfig::new(RESOURCE, users).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = DevAuthServer::start(config, listener).await.unwrap();
    let issuer = server.issuer().to_owned();
    Dev { server, issuer }
}

async fn dev() -> Dev {
    dev_with(|c| c).await
}

fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge =
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref());
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut b).unwrap();
    b
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn register(issuer: &str, redirect: &str) -> String {
    let r = http()
        .post(format!("{issuer}/register"))
        .header("content-type", "application/json")
        .body(json!({"redirect_uris": [redirect], "client_name": "test", "token_endpoint_auth_method": "none"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    v["client_id"].as_str().unwrap().to_owned()
}

/// GET /authorize; returns the status and the Location (if any).
async fn authorize(issuer: &str, params: &[(&str, &str)]) -> (u16, Option<Url>) {
    let mut url = Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    let r = http().get(url).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .and_then(|l| Url::parse(l).ok());
    (r.status().as_u16(), location)
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn token(issuer: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let r = http()
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// A full code flow: returns (client_id, token response).
async fn code_flow(d: &Dev, scope: &str) -> (String, Value) {
    let client = register(&d.issuer, REDIRECT).await;
    let (verifier, challenge) = pkce();
    let (status, location) = authorize(
        &d.issuer,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", scope),
            ("state", "xyz"),
            ("resource", RESOURCE),
        ],
    )
    .await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    let code = query(&location, "code").unwrap();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (client, body)
}

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header(jwt: &str) -> Value {
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

mod browser;
mod clients;
mod dpop;
mod flow;
mod refusals;
