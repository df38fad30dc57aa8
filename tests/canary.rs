//! Leak-proofing: every secret source holds a canary, and the canary must appear in no
//! response, no log line (at the most verbose level, whichever crate logs), no panic message
//! and no `Debug` output of any configuration or error type.
//!
//! Sources: an environment secret (`API_KEY`), a connection string password
//! (`DATABASE_URL`), a secret from a `*_FILE`, a bearer token (and a claim inside it), a
//! `SecretString` field, a value a tool returns, the text of a tool's internal error and a
//! panic message. Over stdio and over HTTP.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use mcp_secure::{
    Principal, ScopeSet, SecureConfig, Security,
    auth::{Algorithm, IntrospectionConfig, JwtConfig, SigningKey},
    config::FileFormat,
    dev_auth::{DevAuthConfig, DevClient, DevUser},
    prelude::*,
    redact::SecretString,
    rmcp::{
        RoleClient, RoleServer, ServiceExt, service::RunningService,
        transport::async_rw::AsyncRwTransport,
    },
    stdio::LocalPrincipalTransport,
};
use mcp_secure_tests::{
    LogCapture, StdioServer, call, free_port,
    oauth::{JwksBehaviour, Minter, StubAuthServer, post_bearer, tools_call},
    wait_for_port, wire_text,
};
use serde_json::json;

const API_KEY: &str = "CANARYapi7Q2x9Lk";
const DB_PASSWORD: &str = "CANARYdbpw3Jd8";
const FILE_SECRET: &str = "CANARYfile5Hq1";
const CLAIM: &str = "CANARYjti8Wm4";

fn canaries() -> [&'static str; 4] {
    [API_KEY, DB_PASSWORD, FILE_SECRET, CLAIM]
}

fn assert_clean(what: &str, text: &str) {
    for canary in canaries() {
        assert!(!text.contains(canary), "{what} holds {canary}:\n{text}");
        // Not even upper-cased.
        assert!(
            !text.contains(&canary.to_uppercase()),
            "{what} holds {canary} upper-cased"
        );
    }
    assert!(
        !text.contains("panicked at"),
        "{what} holds a raw panic message"
    );
}

fn secret_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mcp-secure-canary-{}", std::process::id()));
    std::fs::write(&path, format!("{FILE_SECRET}\n")).unwrap();
    path
}

/// Serves `server` over an in-memory stdio pipe with a local principal; returns the client.
async fn connect<S>(server: S) -> RunningService<RoleClient, ()>
where
    S: rmcp::ServerHandler + Send + 'static,
{
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (sr, sw) = tokio::io::split(server_io);
    let principal = Principal::local("t", ScopeSet::new());
    tokio::spawn(async move {
        let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
        if let Ok(r) = server
            .serve(LocalPrincipalTransport::new(transport, principal))
            .await
        {
            let _ = r.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    ().serve((cr, cw)).await.unwrap()
}

#[tokio::test]
async fn no_canary_leaks_over_stdio_at_trace_level() {
    let db_url = format!("postgresql://app:{DB_PASSWORD}@db.internal/app");
    let file = secret_file();
    let server = StdioServer::start(
        env!("CARGO_BIN_EXE_data_server"),
        &[
            ("MCP_STDIO_SCOPES", "admin:full"),
            ("API_KEY", API_KEY),
            ("DATABASE_URL", &db_url),
            ("OAUTH_CLIENT_SECRET_FILE", file.to_str().unwrap()),
            ("LOG_LEVEL", "trace"),
        ],
    )
    .await;
    let mut responses = String::new();
    for (tool, args) in [
        // A tool returns the secret it was given: masked on the way out.
        (
            "write_data",
            json!({"id": "k1", "data": format!("key={API_KEY} pw={DB_PASSWORD} f={FILE_SECRET}")}),
        ),
        ("read_data", json!({"id": "k1"})),
        (
            "process_input",
            json!({"data": format!("upper me {API_KEY}")}),
        ),
        // Configuration with every secret set: shown as set, never shown.
        ("debug_config", json!({})),
        // An internal error whose text holds the connection string.
        ("admin_operation", json!({"action": "backup"})),
        // Invalid input holding a secret: never echoed.
        ("read_data", json!({"id": format!("../{API_KEY}")})),
        ("admin_operation", json!({"action": DB_PASSWORD})),
    ] {
        let result = server.call(tool, args).await;
        responses.push_str(&wire_text(&result));
    }
    let stderr = server.finish().await;
    assert_clean("responses", &responses);
    assert_clean("stderr (trace level)", &stderr);
    // The masks are there, and the internal error reached the log with its credentials masked.
    assert!(responses.contains("key=***"));
    assert!(responses.contains("\"api_key\":\"***\""));
    assert!(responses.contains("Internal error"));
    // The whole connection string is a registered secret: masked entirely.
    assert!(
        stderr.contains("backup failed: cannot connect to ***"),
        "{stderr}"
    );
    // Trace level really was on (rmcp logged the requests it received).
    assert!(
        stderr.contains("TRACE")
            || stderr.contains("\"level\":\"TRACE\"")
            || stderr.contains("DEBUG")
    );
}

#[tokio::test]
async fn no_canary_leaks_over_http_including_the_token() {
    let auth = StubAuthServer::start(json!({"keys": []})).await;
    let free = free_port();
    let audience = format!("http://127.0.0.1:{free}/mcp");
    let minter = Minter::new(Algorithm::RS256, "k1", &auth.issuer(), &audience);
    auth.set_jwks(JwksBehaviour::Serve(minter.jwks()));
    let db_url = format!("postgresql://app:{DB_PASSWORD}@db.internal/app");
    let file = secret_file();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_data_server"))
        .env_clear()
        .env("MCP_TRANSPORT", "http")
        .env("MCP_HTTP_ADDR", format!("127.0.0.1:{free}"))
        .env("OAUTH_ISSUER", auth.issuer())
        .env("OAUTH_AUDIENCE", &audience)
        .env("API_KEY", API_KEY)
        .env("DATABASE_URL", &db_url)
        .env("OAUTH_CLIENT_SECRET_FILE", &file)
        .env("LOG_LEVEL", "trace")
        .env("LOG_FORMAT", "json")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(free).await;
    let mut claims = minter.claims("admin:full");
    claims["jti"] = json!(CLAIM);
    let token = minter.mint(&claims);
    let mut bad_claims = claims.clone();
    bad_claims["exp"] = json!(1);
    let expired = minter.mint(&bad_claims);
    let mut responses = String::new();
    for (tok, tool, args) in [
        (
            &token,
            "write_data",
            json!({"id": "k1", "data": format!("key={API_KEY}")}),
        ),
        (&token, "read_data", json!({"id": "k1"})),
        (&token, "debug_config", json!({})),
        (&token, "admin_operation", json!({"action": "backup"})),
        (&expired, "read_data", json!({"id": "k1"})),
    ] {
        let r = post_bearer(&audience, tok, &tools_call(tool, args)).await;
        responses.push_str(&r.body);
        responses.push_str(&format!("{:?}", r.headers));
    }
    let mut raw = reqwest::Client::new()
        .post(&audience)
        .header("authorization", format!("Bearer {CLAIM}.{API_KEY}.x"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    raw.push_str(&responses);
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_clean("HTTP responses", &raw);
    assert_clean("stderr (trace level)", &stderr);
    for t in [&token, &expired] {
        let signature = t.rsplit('.').next().unwrap();
        assert!(
            !stderr.contains(signature) && !raw.contains(signature),
            "token bytes leaked"
        );
    }
    assert!(raw.contains("key=***"));
    assert!(stderr.contains("\"reason\":\"expired\""));
}

#[derive(Clone)]
struct Panicky {
    security: Security,
}

#[secure_server]
impl Panicky {
    #[secure_tool(public)]
    async fn boom(&self) -> &'static str {
        panic!("database password is {API_KEY}");
    }

    #[secure_tool(public)]
    async fn fine(&self) -> &'static str {
        "still serving"
    }
}

#[tokio::test]
async fn a_panicking_tool_answers_internal_and_its_message_is_redacted() {
    let logs = LogCapture::start();
    mcp_secure::logging::install_panic_hook();
    let secret = SecretString::from(API_KEY.to_string());
    let server = Panicky {
        security: Security::builder().secret(&secret).build(),
    };
    let client = connect(server).await;
    let r = call(&client, "boom", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        r.structured_content.as_ref().unwrap()["error"]["code"],
        "INTERNAL"
    );
    assert_clean("panic response", &wire_text(&r));
    // The connection survives.
    let ok = call(&client, "fine", json!({})).await;
    assert_eq!(ok.is_error, Some(false));
    let log = logs.contents();
    assert!(log.contains("\"event\":\"panic\""), "{log}");
    assert!(log.contains("database password is ***"), "{log}");
    assert_clean("panic log", &log);
}

/// A secret with a space, so its percent-encoded forms differ (`%20`, `+`).
const SPACED: &str = "CANARY spaced 6Tz";

/// Every form a secret can hide in that a client would decode.
fn encoded_forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    let upper: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut forms = vec![
        upper.clone(),
        upper.to_lowercase(),
        upper.replace("%20", "+"),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ];
    // Inside a longer base64 payload, at each alignment: the secret's own bytes encoded.
    for prefix in ["", "x", "xy"] {
        let blob = base64::engine::general_purpose::STANDARD
            .encode(format!("{prefix}{secret} and more bytes after it"));
        forms.push(blob);
    }
    forms
}

#[derive(Clone)]
struct Hiding {
    security: Security,
}

#[secure_server]
impl Hiding {
    /// The secret as an object key of structured output.
    #[secure_tool(public)]
    async fn as_key(&self) -> Json<serde_json::Value> {
        Json(json!({ "tokens": { API_KEY: "valid" } }))
    }

    /// The secret in a resource link, annotations and `_meta`.
    #[secure_tool(public)]
    async fn in_link_and_meta(&self) -> CallToolResult {
        let link = mcp_secure::rmcp::model::Resource::new(
            format!("https://files.example/{API_KEY}"),
            format!("name {API_KEY}"),
        );
        let mut link = link;
        link.description = Some(format!("desc {API_KEY}"));
        let mut result = CallToolResult::success(vec![ContentBlock::resource_link(link)]);
        let mut meta = mcp_secure::rmcp::model::MetaObject::default();
        meta.0.insert("trace".into(), json!(format!("t {API_KEY}")));
        result.meta = Some(meta);
        result
    }

    /// The secrets percent-encoded and base64-encoded, alone and inside larger payloads.
    #[secure_tool(public)]
    async fn encoded(&self) -> String {
        let mut out = String::new();
        for secret in [API_KEY, SPACED] {
            for form in encoded_forms(secret) {
                out.push_str(&form);
                out.push('\n');
            }
        }
        out
    }
}

#[tokio::test]
async fn redaction_reaches_keys_links_meta_and_encoded_copies() {
    let api = SecretString::from(API_KEY.to_string());
    let spaced = SecretString::from(SPACED.to_string());
    let server = Hiding {
        security: Security::builder().secret(&api).secret(&spaced).build(),
    };
    let client = connect(server).await;
    for tool in ["as_key", "in_link_and_meta", "encoded"] {
        let wire = wire_text(&call(&client, tool, json!({})).await);
        assert_clean(tool, &wire);
        for secret in [API_KEY, SPACED] {
            assert!(!wire.contains(secret), "{tool}: {wire}");
            for form in encoded_forms(secret) {
                // A payload that holds the secret loses at least the secret's own bytes.
                assert!(!wire.contains(&form), "{tool} holds {form}: {wire}");
            }
        }
        assert!(wire.contains("***"), "{tool}: {wire}");
    }
}

#[test]
fn no_configuration_or_error_type_shows_a_secret_in_debug_or_display() {
    let env = |k: &str| match k {
        "API_KEY" => Some(API_KEY.to_owned()),
        "DATABASE_URL" => Some(format!("postgresql://u:{DB_PASSWORD}@h/db")),
        "OAUTH_CLIENT_SECRET_FILE" => Some("/secret".to_owned()),
        _ => None,
    };
    let read = |_: &std::path::Path| Some(FILE_SECRET.to_owned());
    let config = SecureConfig::loader()
        .environment(&env)
        .secret_files(&read)
        .load()
        .unwrap();
    let security = config.security().build();
    let bad_file = format!(r#"{{"security": {{"oauth": {{"client_secret": "{FILE_SECRET}"}}}}}}"#);
    let config_error = SecureConfig::loader()
        .file_text(&bad_file, FileFormat::Json)
        .environment(&env)
        .secret_files(&read)
        .load()
        .unwrap_err();
    let serve_error = mcp_secure::ServeError::Configuration(config_error.clone());
    let tool_error: ToolError =
        std::io::Error::other(format!("connect postgresql://u:{DB_PASSWORD}@h failed")).into();
    let internal = ToolError::internal(format!("token {CLAIM}"));
    let introspection = IntrospectionConfig::new(
        "https://as.example.com/introspect".parse().unwrap(),
        "rs",
        SecretString::from(FILE_SECRET.to_string()),
        "https://rs.example.com/mcp",
    );
    let dev = DevAuthConfig::new("https://rs/mcp", vec![DevUser::new("a", "x").unwrap()])
        .unwrap()
        .client(DevClient {
            id: "svc".into(),
            secret: SecretString::from(API_KEY.to_string()),
            scopes: ScopeSet::new(),
        });
    let key = SigningKey::generate(Algorithm::ES256, "k").unwrap();
    let principal = Principal::bearer("alice")
        .scopes(ScopeSet::parse("a").unwrap())
        .build();
    let secret_field = SecretString::from(API_KEY.to_string());
    let shown = [
        format!("{config:?}"),
        format!("{config}"),
        format!("{:?}", config.secrets),
        format!("{security:?}"),
        format!("{config_error:?}"),
        format!("{config_error}"),
        format!("{serve_error:?}"),
        format!("{serve_error}"),
        format!("{tool_error:?}"),
        format!("{tool_error}"),
        tool_error.body().to_string(),
        format!("{internal:?}"),
        internal.body().to_string(),
        format!("{introspection:?}"),
        format!("{dev:?}"),
        format!("{key:?}"),
        format!("{principal:?}"),
        format!("{secret_field:?}"),
        format!("{:?}", JwtConfig::new("i", "a")),
    ];
    for (i, text) in shown.iter().enumerate() {
        assert_clean(&format!("Debug/Display #{i}"), text);
    }
    // Set or unset stays visible.
    assert!(
        shown[0].contains("\"API_KEY\": \"***\"")
            && shown[0].contains("\"REDIS_URL\": \"(unset)\"")
    );
}
