//! Each identity provider preset against tokens shaped exactly as that provider issues them:
//! the provider's header (`typ: JWT`, or none), its claims (`scp`, `roles`, `permissions`,
//! `cid`, `realm_access`, `client_id` without `aud`, …), served by a local authorization
//! server whose metadata and JWKS have the provider's layout (Entra: keys without `alg`,
//! metadata without `code_challenge_methods_supported`). Each accepted token is then refused
//! once its characteristic claim is wrong. Provider facts and their sources:
//! `docs/providers/`.

use std::{collections::HashMap, sync::Arc};

use axum::{Router, extract::State, http::Uri, routing};
use mcp_secure::{
    SecureConfig,
    auth::{Algorithm, AuthFailure, SigningKey, TokenValidator},
    config::Severity,
    http::setup::validator_from_config,
};
use mcp_secure_tests::oauth::now;
use serde_json::{Value, json};

/// A local authorization server with a provider's metadata and key layout.
struct Idp {
    issuer: String,
    key: SigningKey,
}

#[derive(Clone)]
struct IdpState {
    metadata: Value,
    jwks: Value,
}

async fn serve_idp(State(s): State<Arc<IdpState>>, uri: Uri) -> axum::Json<Value> {
    if uri.path().ends_with("/keys") {
        axum::Json(s.jwks.clone())
    } else {
        axum::Json(s.metadata.clone())
    }
}

impl Idp {
    /// Starts one at `issuer_path` (`/tenant/v2.0`, `/`, `/oauth2/default`, …), with
    /// `metadata` (the issuer and `jwks_uri` are filled in) and the public key shaped by
    /// `jwk`.
    async fn start(issuer_path: &str, metadata: Value, jwk: fn(&SigningKey) -> Value) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = format!("{base}{issuer_path}");
        let key = SigningKey::generate(Algorithm::RS256, "provider-key-1").unwrap();
        let mut metadata = metadata;
        metadata["issuer"] = json!(issuer);
        metadata["jwks_uri"] = json!(format!("{base}/discovery/keys"));
        let state = Arc::new(IdpState {
            metadata,
            jwks: json!({"keys": [jwk(&key)]}),
        });
        let app = Router::new()
            .fallback(routing::get(serve_idp))
            .with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { issuer, key }
    }

    fn token(&self, header: &Value, claims: &Value) -> String {
        self.key
            .sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .unwrap()
    }
}

/// The RSA public key's `n` and `e`, to lay out as a provider does.
fn n_e(key: &SigningKey) -> (Value, Value) {
    let jwk = key.public_jwk();
    (jwk["n"].clone(), jwk["e"].clone())
}

/// Loads the configuration `env` describes and builds its validator, as serving would.
async fn configured(env: &[(&str, &str)]) -> (SecureConfig, Arc<dyn TokenValidator>) {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let get = move |k: &str| env.get(k).cloned();
    let config = SecureConfig::loader().environment(&get).load().unwrap();
    let resource = config.oauth.resource().unwrap().to_owned();
    let validator = validator_from_config(&config, &config.oauth.issuers(), &resource)
        .await
        .unwrap();
    (config, validator)
}

fn load_error(env: &[(&str, &str)]) -> Vec<(String, String)> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let get = move |k: &str| env.get(k).cloned();
    let e = SecureConfig::loader().environment(&get).load().unwrap_err();
    e.problems
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| (p.key, p.message))
        .collect()
}

const RESOURCE: &str = "https://mcp.example.com/mcp";

/// Tokens a Microsoft Entra ID tenant issues for an API (v2.0): `typ: JWT`, `aud` the API's
/// client ID, `scp` a string, `roles` an array, `tid`, `azp`, a 75-minute lifetime; keys
/// without `alg`; metadata without `code_challenge_methods_supported`.
#[tokio::test]
async fn entra_tokens_are_accepted_and_a_foreign_tenant_or_audience_is_refused() {
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let api = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let idp = Idp::start(
        &format!("/{tenant}/v2.0"),
        json!({"authorization_endpoint": "https://login.example/authorize", "token_endpoint": "https://login.example/token", "response_types_supported": ["code"]}),
        |key| {
            let (n, e) = n_e(key);
            json!({"kty": "RSA", "use": "sig", "kid": key.kid(), "x5t": key.kid(), "n": n, "e": e})
        },
    )
    .await;
    let (config, validator) = configured(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "entra"),
        ("OAUTH_ISSUER", &idp.issuer),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", api),
        ("OAUTH_TENANTS", tenant),
    ])
    .await;
    // The quirks are named at start.
    let warnings: Vec<&str> = config
        .warnings()
        .iter()
        .map(|w| w.message.as_str())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("typ: JWT")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("5400 s")),
        "{warnings:?}"
    );
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": idp.key.kid()});
    let now = now();
    let claims = json!({
        "aud": api, "iss": idp.issuer, "iat": now - 60, "nbf": now - 60, "exp": now + 4440,
        "aio": "opaque", "azp": "0c8a1f7e-1b2c-4d5e-8f90-1234567890ab", "azpacr": "0",
        "name": "Alice", "oid": "a1b2", "preferred_username": "alice@contoso.example",
        "rh": "opaque", "roles": ["Notes.Admin"], "scp": "notes.read notes.write",
        "sub": "alice-pairwise-sub", "tid": tenant, "uti": "u1", "ver": "2.0"
    });
    let principal = validator
        .validate(&idp.token(&header, &claims))
        .await
        .unwrap();
    assert_eq!(
        principal.scopes().to_string(),
        "Notes.Admin notes.read notes.write"
    );
    assert_eq!(principal.tenant(), Some(tenant));
    assert_eq!(principal.roles(), ["Notes.Admin"]);
    assert_eq!(
        principal.client_id(),
        Some("0c8a1f7e-1b2c-4d5e-8f90-1234567890ab")
    );
    assert_eq!(
        principal.claim("preferred_username"),
        Some(&json!("alice@contoso.example"))
    );
    // Another tenant, the resource URI instead of the API's client ID, Graph's audience.
    for (claim, value, reason) in [
        (
            "tid",
            json!("11111111-2222-3333-4444-555555555555"),
            AuthFailure::BadIssuer,
        ),
        ("aud", json!(RESOURCE), AuthFailure::BadAudience),
        (
            "aud",
            json!("00000003-0000-0000-c000-000000000000"),
            AuthFailure::BadAudience,
        ),
    ] {
        let mut wrong = claims.clone();
        wrong[claim] = value;
        assert_eq!(
            validator.validate(&idp.token(&header, &wrong)).await.err(),
            Some(reason),
            "{claim}"
        );
    }
    // Without the API's client ID, or with Graph's, the configuration is refused at start.
    let errors = load_error(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "entra"),
        (
            "OAUTH_ISSUER",
            "https://login.microsoftonline.com/common/v2.0",
        ),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", "00000003-0000-0000-c000-000000000000"),
    ]);
    assert!(
        errors
            .iter()
            .any(|(k, m)| k == "OAUTH_AUDIENCE" && m.contains("Microsoft Graph")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|(k, _)| k == "OAUTH_TENANTS"),
        "{errors:?}"
    );
}

/// Auth0's default token profile: `typ: JWT`, an issuer ending with `/`, `aud` an array of
/// the API identifier and the userinfo URL, `azp`, `scope`, RBAC `permissions`.
#[tokio::test]
async fn auth0_tokens_are_accepted_and_the_userinfo_audience_alone_is_refused() {
    let idp = Idp::start(
        "/",
        json!({"code_challenge_methods_supported": ["S256", "plain"]}),
        |key| {
            let (n, e) = n_e(key);
            json!({"kty": "RSA", "use": "sig", "n": n, "e": e, "kid": key.kid(), "x5t": key.kid(), "alg": "RS256"})
        },
    )
    .await;
    let api = "https://notes-api.example.com";
    let (_, validator) = configured(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "auth0"),
        ("OAUTH_ISSUER", &idp.issuer),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", api),
    ])
    .await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": idp.key.kid()});
    let now = now();
    let userinfo = format!("{}userinfo", idp.issuer);
    let claims = json!({
        "iss": idp.issuer, "sub": "auth0|123456", "aud": [api, userinfo],
        "iat": now - 5, "exp": now + 3500, "azp": "my_client_id",
        "scope": "openid profile notes:read", "permissions": ["notes:read", "notes:write"]
    });
    let principal = validator
        .validate(&idp.token(&header, &claims))
        .await
        .unwrap();
    assert_eq!(
        principal.scopes().to_string(),
        "notes:read notes:write openid profile"
    );
    assert_eq!(principal.client_id(), Some("my_client_id"));
    let mut wrong = claims.clone();
    wrong["aud"] = json!([userinfo]);
    assert_eq!(
        validator.validate(&idp.token(&header, &wrong)).await.err(),
        Some(AuthFailure::BadAudience)
    );
    // Auth0's default 24-hour tokens need an explicit, warned, longer maximum.
    let mut day = claims.clone();
    day["exp"] = json!(now + 86_000);
    assert_eq!(
        validator.validate(&idp.token(&header, &day)).await.err(),
        Some(AuthFailure::LifetimeTooLong)
    );
    // Without an API (opaque tokens) or without the issuer's slash: refused.
    let errors = load_error(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "auth0"),
        ("OAUTH_ISSUER", "https://tenant.auth0.com"),
    ]);
    assert!(
        errors
            .iter()
            .any(|(k, m)| k == "OAUTH_AUDIENCE" && m.contains("opaque")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(k, m)| k == "OAUTH_ISSUER" && m.contains("trailing slash")),
        "{errors:?}"
    );
}

/// Okta's custom authorization server `default`: no `typ`, `aud` `api://default`, `scp` an
/// array, `cid`, `uid`.
#[tokio::test]
async fn okta_tokens_are_accepted_and_another_audience_is_refused() {
    let idp = Idp::start(
        "/oauth2/default",
        json!({"code_challenge_methods_supported": ["S256"]}),
        |key| {
            let (n, e) = n_e(key);
            json!({"kty": "RSA", "alg": "RS256", "kid": key.kid(), "use": "sig", "e": e, "n": n})
        },
    )
    .await;
    let (_, validator) = configured(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "okta"),
        ("OAUTH_ISSUER", &idp.issuer),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", "api://default"),
    ])
    .await;
    let header = json!({"alg": "RS256", "kid": idp.key.kid()});
    let now = now();
    let claims = json!({
        "ver": 1, "jti": "AT.abc", "iss": idp.issuer, "aud": "api://default",
        "iat": now - 5, "exp": now + 3500, "cid": "0oa1crjfiwoxRYadi0x8",
        "uid": "00uid4BxXw6I6TV4m0g3", "scp": ["openid", "notes:read"], "sub": "alice@example.com"
    });
    let principal = validator
        .validate(&idp.token(&header, &claims))
        .await
        .unwrap();
    assert_eq!(principal.scopes().to_string(), "notes:read openid");
    assert_eq!(principal.client_id(), Some("0oa1crjfiwoxRYadi0x8"));
    let mut wrong = claims.clone();
    wrong["aud"] = json!("api://other");
    assert_eq!(
        validator.validate(&idp.token(&header, &wrong)).await.err(),
        Some(AuthFailure::BadAudience)
    );
}

/// Keycloak: `typ: JWT`, `aud` with the Audience mapper's value beside `account`, `azp`,
/// `scope`, roles in `realm_access.roles`, mapped to scopes explicitly.
#[tokio::test]
async fn keycloak_tokens_are_accepted_and_the_realm_default_audience_is_refused() {
    let idp = Idp::start(
        "/realms/mcp",
        json!({"code_challenge_methods_supported": ["plain", "S256"]}),
        |key| {
            let (n, e) = n_e(key);
            json!({"kid": key.kid(), "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e, "x5t": key.kid()})
        },
    )
    .await;
    let (_, validator) = configured(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "keycloak"),
        ("OAUTH_ISSUER", &idp.issuer),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", "mcp-server"),
        ("OAUTH_SCOPE_CLAIMS", "scope,realm_access.roles"),
    ])
    .await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": idp.key.kid()});
    let now = now();
    let claims = json!({
        "exp": now + 295, "iat": now - 5, "jti": "onrtac:1", "iss": idp.issuer,
        "aud": ["mcp-server", "account"], "sub": "f:3a1c:alice", "typ": "Bearer",
        "azp": "mcp-client", "sid": "s1", "acr": "1",
        "realm_access": {"roles": ["offline_access", "notes:admin"]},
        "resource_access": {"account": {"roles": ["manage-account"]}},
        "scope": "openid notes:read"
    });
    let principal = validator
        .validate(&idp.token(&header, &claims))
        .await
        .unwrap();
    assert_eq!(
        principal.scopes().to_string(),
        "notes:admin notes:read offline_access openid"
    );
    assert_eq!(principal.client_id(), Some("mcp-client"));
    assert_eq!(principal.roles(), ["offline_access", "notes:admin"]);
    let mut wrong = claims.clone();
    wrong["aud"] = json!("account");
    assert_eq!(
        validator.validate(&idp.token(&header, &wrong)).await.err(),
        Some(AuthFailure::BadAudience)
    );
    let errors = load_error(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "keycloak"),
        ("OAUTH_ISSUER", "https://sso.example.com/realms/mcp"),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", "account"),
    ]);
    assert!(
        errors
            .iter()
            .any(|(k, m)| k == "OAUTH_AUDIENCE" && m.contains("Audience mapper")),
        "{errors:?}"
    );
}

/// Amazon Cognito: no `typ`, no `aud`; `client_id`, `token_use: access`, `scope` with the
/// resource server's prefix.
#[tokio::test]
async fn cognito_tokens_are_bound_by_client_id_and_an_id_token_is_refused() {
    let idp = Idp::start(
        "/us-east-1_Example",
        json!({"code_challenge_methods_supported": ["S256"]}),
        |key| {
            let (n, e) = n_e(key);
            json!({"alg": "RS256", "e": e, "kid": key.kid(), "kty": "RSA", "n": n, "use": "sig"})
        },
    )
    .await;
    let app_client = "1example23456789";
    let (_, validator) = configured(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_PROVIDER", "cognito"),
        ("OAUTH_ISSUER", &idp.issuer),
        ("OAUTH_RESOURCE", RESOURCE),
        ("OAUTH_AUDIENCE", app_client),
        ("OAUTH_SCOPE_PREFIX", "https://mcp.example.com/"),
    ])
    .await;
    let header = json!({"kid": idp.key.kid(), "alg": "RS256"});
    let now = now();
    let claims = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-example", "cognito:groups": ["admins"],
        "iss": idp.issuer, "version": 2, "client_id": app_client, "origin_jti": "o1",
        "event_id": "e1", "token_use": "access", "scope": "https://mcp.example.com/notes:read",
        "auth_time": now - 5, "exp": now + 3500, "iat": now - 5, "jti": "j1", "username": "alice"
    });
    let principal = validator
        .validate(&idp.token(&header, &claims))
        .await
        .unwrap();
    assert_eq!(principal.scopes().to_string(), "notes:read");
    assert_eq!(principal.roles(), ["admins"]);
    for (claim, value) in [
        ("token_use", json!("id")),
        ("client_id", json!("another-app")),
    ] {
        let mut wrong = claims.clone();
        wrong[claim] = value;
        assert!(
            validator
                .validate(&idp.token(&header, &wrong))
                .await
                .is_err(),
            "{claim}"
        );
    }
}

/// Two trusted issuers, each with its own keys: each one's tokens verify with its keys only.
#[tokio::test]
async fn several_issuers_each_verify_with_their_own_keys() {
    let layout = |key: &SigningKey| key.public_jwk().clone();
    let a = Idp::start(
        "/a",
        json!({"code_challenge_methods_supported": ["S256"]}),
        layout,
    )
    .await;
    let b = Idp::start(
        "/b",
        json!({"code_challenge_methods_supported": ["S256"]}),
        layout,
    )
    .await;
    let issuers = format!("{} {}", a.issuer, b.issuer);
    let (_, validator) = configured(&[
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_ISSUER", &issuers),
        ("OAUTH_AUDIENCE", RESOURCE),
    ])
    .await;
    let now = now();
    let claims = |idp: &Idp| json!({"iss": idp.issuer, "sub": "s", "aud": RESOURCE, "iat": now - 5, "exp": now + 600, "scope": "x"});
    for idp in [&a, &b] {
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": idp.key.kid()});
        assert!(
            validator
                .validate(&idp.token(&header, &claims(idp)))
                .await
                .is_ok()
        );
    }
    // A's key signing a token that names B: refused (B's keys do not have it).
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": a.key.kid()});
    assert!(
        validator
            .validate(&a.token(&header, &claims(&b)))
            .await
            .is_err()
    );
    // An issuer nobody trusts.
    let mut stranger = claims(&a);
    stranger["iss"] = json!("https://evil.example");
    assert_eq!(
        validator.validate(&a.token(&header, &stranger)).await.err(),
        Some(AuthFailure::BadIssuer)
    );
}

/// `mcp-secure check` with a preset: the issuer reachable, the keys usable (Entra's, without
/// `alg`), the metadata quirk (no `code_challenge_methods_supported`) explained, each quirk
/// of the configuration a warning line.
#[tokio::test]
async fn the_checker_validates_a_presets_configuration_and_explains_its_quirks() {
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let idp = Idp::start(&format!("/{tenant}/v2.0"), json!({}), |key| {
        let (n, e) = n_e(key);
        json!({"kty": "RSA", "use": "sig", "kid": key.kid(), "n": n, "e": e})
    })
    .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-secure-cli"))
        .env_clear()
        .args(["check"])
        .envs([
            ("MCP_TRANSPORT", "http"),
            ("OAUTH_PROVIDER", "entra"),
            ("OAUTH_ISSUER", idp.issuer.as_str()),
            ("OAUTH_RESOURCE", RESOURCE),
            ("OAUTH_AUDIENCE", "6e74172b-be56-4843-9ff4-e66a39bb12e3"),
            ("OAUTH_TENANTS", tenant),
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("provider").contains("Microsoft Entra ID: scopes from scp, roles"),
        "{stdout}"
    );
    assert!(
        line("authorization_server").starts_with("  pass"),
        "{stdout}"
    );
    assert!(line("keys").starts_with("  pass"), "{stdout}");
    assert!(
        line("pkce").contains("does not list code_challenge_methods_supported"),
        "{stdout}"
    );
    assert!(stdout.contains("typ: JWT"), "{stdout}");
    assert!(stdout.contains("5400 s"), "{stdout}");
}
