//! The embedded development authorization server: the whole flow with rmcp's OAuth client
//! against a running resource server, and every refusal the authorization server owes
//! (PKCE, codes, redirect URIs, resource indicators, refresh rotation, token lifetime).

#![allow(clippy::expect_used, clippy::unwrap_used)]

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

async fn authorize_params(d: &Dev, client: &str, challenge: &str) -> Vec<(&'static str, String)> {
    let _ = d;
    vec![
        ("response_type", "code".into()),
        ("client_id", client.to_owned()),
        ("redirect_uri", REDIRECT.into()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".into()),
        ("scope", "data:read".into()),
        ("state", "s1".into()),
        ("resource", RESOURCE.into()),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn without(v: &[(&'static str, String)], key: &str) -> Vec<(&'static str, String)> {
    v.iter().filter(|(k, _)| *k != key).cloned().collect()
}

fn with(
    v: &[(&'static str, String)],
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut out = without(v, key);
    out.push((key, value.to_owned()));
    out
}

#[tokio::test]
async fn pkce_is_required_and_only_s256() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let base = authorize_params(&d, &client, &challenge).await;
    for params in [
        without(&base, "code_challenge"),
        with(&base, "code_challenge_method", "plain"),
        without(&base, "code_challenge_method"),
        with(&base, "code_challenge", "too-short"),
    ] {
        let (status, location) = authorize(&d.issuer, &pairs(&params)).await;
        assert_eq!(status, 302);
        let location = location.unwrap();
        assert_eq!(
            query(&location, "error").as_deref(),
            Some("invalid_request"),
            "{location}"
        );
        assert_eq!(query(&location, "state").as_deref(), Some("s1"));
        assert_eq!(query(&location, "iss").as_deref(), Some(d.issuer.as_str()));
        assert!(query(&location, "code").is_none());
    }
}

async fn code_for(d: &Dev, client: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let params = authorize_params(d, client, &challenge).await;
    let (_, location) = authorize(&d.issuer, &pairs(&params)).await;
    (query(&location.unwrap(), "code").unwrap(), verifier)
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_is_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, _) = code_for(&d, &client).await;
    let (other, _) = pkce();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &other),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (code, _) = code_for(&d, &client).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = token(&d.issuer, &form).await;
    assert_eq!(status, 200);
    let (status, body) = token(&d.issuer, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The refresh token from the first exchange is dead too.
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let d = dev_with(|c| c.code_ttl(Duration::from_secs(1))).await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
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
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_mismatched_redirect_uri_is_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let base = authorize_params(&d, &client, &challenge).await;
    for bad in [
        "https://evil.example/cb",
        "http://127.0.0.1:45678/other",
        "http://evil.example:45678/cb",
    ] {
        let (status, location) =
            authorize(&d.issuer, &pairs(&with(&base, "redirect_uri", bad))).await;
        // Never redirected to an unregistered URI: the error is shown on the server.
        assert_eq!((status, location), (400, None), "{bad}");
    }
    // Loopback redirects may use another port (RFC 8252 §7.3).
    let (status, location) = authorize(
        &d.issuer,
        &pairs(&with(&base, "redirect_uri", "http://127.0.0.1:50001/cb")),
    )
    .await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(location.port(), Some(50001));
    // The token request must repeat the redirect URI used.
    let code = query(&location, "code").unwrap();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", "x".repeat(43).as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_missing_or_foreign_resource_is_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let base = authorize_params(&d, &client, &challenge).await;
    for params in [
        without(&base, "resource"),
        with(&base, "resource", "https://other.example/mcp"),
        with(&base, "resource", "http://127.0.0.1:1/mcp/"),
    ] {
        let (_, location) = authorize(&d.issuer, &pairs(&params)).await;
        assert_eq!(
            query(&location.unwrap(), "error").as_deref(),
            Some("invalid_target")
        );
    }
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_family() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read data:write").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_ne!(first["access_token"], second["access_token"]);
    // Replay r1: refused, and r2 dies with the family.
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn refresh_may_narrow_the_scope_never_widen_it() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &client),
            ("scope", "data:read data:write"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn refresh_narrowing_is_honoured() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read data:write").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &client),
            ("scope", "data:read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "data:read"
    );
    // The next refresh may go back up to the original grant, not beyond.
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "data:read data:write");
}

#[tokio::test]
async fn client_credentials_for_service_clients() {
    let d = dev_with(|c| {
        c.client(DevClient {
            id: "svc".into(),
            secret: SecretString::from("svc-secret-123".to_string()),
            scopes: mcp_secure::ScopeSet::parse("data:read").unwrap(),
        })
    })
    .await;
    let basic = base64::engine::general_purpose::STANDARD.encode("svc:svc-secret-123");
    let body = format!(
        "grant_type=client_credentials&resource={}",
        url::form_urlencoded::byte_serialize(RESOURCE.as_bytes()).collect::<String>()
    );
    let r = http()
        .post(format!("{}/token", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(claims(v["access_token"].as_str().unwrap())["sub"], "svc");
    assert!(v.get("refresh_token").is_none());
    let wrong = base64::engine::general_purpose::STANDARD.encode("svc:nope");
    let r = http()
        .post(format!("{}/token", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {wrong}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A public client cannot use it.
    let public = register(&d.issuer, REDIRECT).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public),
            ("resource", RESOURCE),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn revocation_of_a_refresh_token_revokes_its_family() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read").await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("token", refresh), ("client_id", client.as_str())])
        .finish();
    let r = http()
        .post(format!("{}/revoke", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, _) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn duplicate_parameters_are_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code", "other"),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn registration_refuses_unsafe_redirect_uris() {
    let d = dev().await;
    for uri in [
        "http://evil.example/cb",
        "javascript:alert(1)",
        "https://app.example/cb#x",
        "not a url",
    ] {
        let r = http()
            .post(format!("{}/register", d.issuer))
            .header("content-type", "application/json")
            .body(json!({"redirect_uris": [uri]}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{uri}");
    }
}

#[tokio::test]
async fn the_consent_page_escapes_the_client_name_and_honours_the_decision() {
    let d = dev_with(|c| c.approval(Approval::Consent).unwrap()).await;
    let r = http()
        .post(format!("{}/register", d.issuer))
        .header("content-type", "application/json")
        .body(
            json!({"redirect_uris": [REDIRECT], "client_name": "<script>alert(1)</script>"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let client = serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, challenge) = pkce();
    let params = authorize_params(&d, &client, &challenge).await;
    let mut url = Url::parse(&format!("{}/authorize", d.issuer)).unwrap();
    url.query_pairs_mut().extend_pairs(pairs(&params));
    let page = http().get(url).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    let request = html
        .split("name=request value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let deny = http()
        .post(format!("{}/authorize/decision", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("request={request}&user=alice&decision=deny"))
        .send()
        .await
        .unwrap();
    let location = Url::parse(deny.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(query(&location, "error").as_deref(), Some("access_denied"));
    // The request is answered once.
    let again = http()
        .post(format!("{}/authorize/decision", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("request={request}&user=alice&decision=approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn only_loopback_binds_unless_told_otherwise() {
    let config = DevAuthConfig::new(RESOURCE, vec![DevUser::new("a", "x").unwrap()]).unwrap();
    // 0.0.0.0 is not loopback.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = DevAuthServer::start(config, listener).await.unwrap_err();
    assert!(err.to_string().contains("only binds loopback"), "{err}");
}

#[tokio::test]
async fn the_signing_key_can_persist_across_restarts() {
    let dir = std::env::temp_dir().join(format!("mcp-secure-devkey-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let jwk = |issuer: String| async move {
        let r = reqwest::get(format!("{issuer}/jwks")).await.unwrap();
        serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["keys"][0].clone()
    };
    let a = dev_with(|c| c.key_file(&dir).algorithm(Algorithm::ES256).unwrap()).await;
    let first = jwk(a.issuer.clone()).await;
    a.server.shutdown().await;
    let b = dev_with(|c| c.key_file(&dir).algorithm(Algorithm::ES256).unwrap()).await;
    assert_eq!(jwk(b.issuer.clone()).await, first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let _ = std::fs::remove_file(&dir);
}

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

/// The Python interpreter with the `mcp` package: `MCP_SECURE_PYTHON`, else `python3`.
fn python_with_mcp() -> Option<String> {
    let python = std::env::var("MCP_SECURE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import mcp.client.auth, httpx2"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

#[tokio::test]
async fn the_python_mcp_sdk_completes_the_oauth_flow_against_the_example() {
    let Some(python) = python_with_mcp() else {
        eprintln!(
            "skipped: no Python with the `mcp` package (set MCP_SECURE_PYTHON; .ci/run installs it)"
        );
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
    assert_eq!(
        seen["tools"],
        json!(["process_input", "read_data", "server_status", "write_data"])
    );
    assert_eq!(seen["written"]["updated_by"], "alice");
    assert_eq!(seen["admin_call"], "MCPError");
}
