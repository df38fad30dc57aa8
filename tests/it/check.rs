//! `mcp-secure check` against good and bad configurations, a real (development)
//! authorization server, a stub one without PKCE, and tool listings.

use mcp_secure::dev_auth::{DevAuthConfig, DevAuthServer, DevUser};
use mcp_secure_tests::oauth::StubAuthServer;
use serde_json::{Value, json};

const CHECK: &str = env!("CARGO_BIN_EXE_mcp-secure-cli");

struct Report {
    ok: bool,
    stdout: String,
}

impl Report {
    fn line(&self, name: &str) -> String {
        self.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_default()
            .to_owned()
    }

    fn status(&self, name: &str) -> String {
        self.line(name)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mcp-secure-check-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

async fn run(args: &[&str], env: &[(&str, &str)]) -> Report {
    let mut command = tokio::process::Command::new(CHECK);
    command.env_clear().arg("check").args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().await.unwrap();
    Report {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

#[tokio::test]
async fn a_good_stdio_configuration_passes() {
    let path = temp_file(
        "good.json",
        r#"{"security": {"auth_required": true, "oauth": {"pkce_required": true, "token_ttl_seconds": 3600, "refresh_rotation": true}, "rate_limit": 1000}}"#,
    );
    let r = run(
        &["--config", path.to_str().unwrap()],
        &[("API_KEY", "CANARY-key-1")],
    )
    .await;
    assert!(r.ok, "{}", r.stdout);
    for name in [
        "configuration",
        "transport",
        "token_ttl",
        "refresh_rotation",
        "secrets",
        "rate_limiting",
        "logging",
    ] {
        assert_eq!(r.status(name), "pass", "{name}: {}", r.stdout);
    }
    assert!(r.line("secrets").contains("API_KEY from the environment"));
    assert!(!r.stdout.contains("CANARY"));
}

#[tokio::test]
async fn a_bad_configuration_fails_naming_every_rule() {
    let path = temp_file(
        "bad.json",
        r#"{"security": {"transport": "http", "auth_required": false, "oauth": {"pkce_required": false, "token_ttl_seconds": 100000, "issuer": "http://auth.example.com", "audience": "https://mcp.example.com/mcp", "client_secret": "CANARY-in-file"}, "rate_limit": 0, "rate_limt": 5}}"#,
    );
    let r = run(&["--config", path.to_str().unwrap(), "--offline"], &[]).await;
    assert!(!r.ok);
    for expected in [
        "security.oauth.client_secret: secrets may not be in the configuration file",
        "security.oauth.token_ttl_seconds",
        "security.oauth.pkce_required",
        "security.auth_required",
        "security.oauth.issuer: plain http",
        "security.rate_limit: a rate limit of 0",
        "security.rate_limt: unknown key; did you mean `rate_limit`?",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("CANARY"));
    // JSON for machines.
    let r = run(
        &["--config", path.to_str().unwrap(), "--offline", "--json"],
        &[],
    )
    .await;
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["failed"].as_u64().unwrap() >= 7);
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "fail")
    );
}

#[tokio::test]
async fn http_against_a_real_authorization_server_checks_issuer_pkce_and_keys() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = DevAuthConfig::new(
        "https://mcp.example.com/mcp",
        vec![DevUser::new("a", "data:read").unwrap()],
    )
    .unwrap();
    let dev = DevAuthServer::start(config, listener).await.unwrap();
    let env = [
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_ISSUER", dev.issuer()),
        ("OAUTH_AUDIENCE", "https://mcp.example.com/mcp"),
        ("MCP_RATE_LIMIT", "600"),
    ];
    let r = run(&[], &env).await;
    for name in [
        "oauth_on_http",
        "authorization_server",
        "pkce",
        "keys",
        "resource_indicator",
    ] {
        assert_eq!(r.status(name), "pass", "{name}:\n{}", r.stdout);
    }
    assert!(r.line("keys").contains("1 signing key"));
    dev.shutdown().await;
}

#[tokio::test]
async fn an_authorization_server_without_pkce_s256_or_with_weak_keys_fails() {
    let stub = StubAuthServer::start(json!({"keys": []})).await;
    stub.set_metadata(json!({"issuer": stub.issuer(), "code_challenge_methods_supported": ["plain"], "jwks_uri": format!("{}/jwks", stub.issuer())}));
    let issuer = stub.issuer();
    let env = [
        ("MCP_TRANSPORT", "http"),
        ("OAUTH_ISSUER", issuer.as_str()),
        ("OAUTH_AUDIENCE", "https://mcp.example.com/mcp"),
    ];
    let r = run(&[], &env).await;
    assert!(!r.ok);
    assert_eq!(r.status("pkce"), "fail", "{}", r.stdout);
    // Now S256, but only a weak RSA key and an HMAC key in the JWKS.
    stub.set_metadata(json!({"issuer": stub.issuer(), "code_challenge_methods_supported": ["S256"], "jwks_uri": format!("{}/jwks", stub.issuer())}));
    stub.set_jwks(mcp_secure_tests::oauth::JwksBehaviour::Serve(
        json!({"keys": [
            {"kty": "RSA", "kid": "weak", "n": "3q2-7w", "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        ]}),
    ));
    let r = run(&[], &env).await;
    assert!(!r.ok);
    assert_eq!(r.status("keys"), "fail", "{}", r.stdout);
    assert!(
        r.line("keys").contains("RSA key shorter than 2048 bits")
            && r.line("keys").contains("symmetric key")
    );
    // Wrong issuer in the metadata.
    stub.set_metadata(json!({"issuer": "https://elsewhere.example", "code_challenge_methods_supported": ["S256"]}));
    let r = run(&[], &env).await;
    assert_eq!(r.status("authorization_server"), "fail", "{}", r.stdout);
}

#[tokio::test]
async fn tool_listings_are_checked_for_declared_scopes_and_rates() {
    let secured = temp_file(
        "tools.json",
        &json!({"tools": [
            {"name": "read", "_meta": {"mcp-secure/scopes": ["data:read"], "mcp-secure/rate": {"count": 60}}},
            {"name": "status", "_meta": {"mcp-secure/scopes": [], "mcp-secure/rate": {"count": 60}}},
        ]})
        .to_string(),
    );
    let r = run(&["--offline", "--tools", secured.to_str().unwrap()], &[]).await;
    assert_eq!(r.status("tool_scopes"), "pass", "{}", r.stdout);
    assert!(r.line("tool_scopes").contains("public: status"));
    let bare = temp_file(
        "bare.json",
        &json!({"tools": [{"name": "rogue", "inputSchema": {}}]}).to_string(),
    );
    let r = run(&["--offline", "--tools", bare.to_str().unwrap()], &[]).await;
    assert!(!r.ok);
    assert_eq!(r.status("tool_scopes"), "fail");
    assert!(r.line("tool_scopes").contains("rogue"));
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let out = tokio::process::Command::new(CHECK)
        .arg("nonsense")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: mcp-secure check"));
}

#[test]
fn the_example_image_runs_as_a_non_root_user_with_no_baked_secrets() {
    let dockerfile = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/Dockerfile"
    ))
    .unwrap();
    let final_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    let user = final_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets USER");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect("a numeric uid");
    assert_ne!(uid, 0);
    for secret in mcp_secure::config::DEFAULT_SECRETS {
        assert!(
            !dockerfile
                .lines()
                .any(|l| l.starts_with("ENV") && l.contains(secret.name())),
            "{secret} baked into the image"
        );
    }
}

#[tokio::test]
async fn the_redis_store_is_pinged_and_an_outage_fails_the_check() {
    let Some(mut redis) = mcp_secure_tests::RedisServer::start().await else {
        return;
    };
    let url = redis.url();
    let env = [
        ("MCP_RATE_LIMIT_STORE", "redis"),
        ("MCP_RATE_LIMIT", "100"),
        ("REDIS_URL", url.as_str()),
    ];
    let r = run(&[], &env).await;
    assert_eq!(r.status("rate_store"), "pass", "{}", r.stdout);
    assert!(
        r.line("rate_store").contains("Redis answers"),
        "{}",
        r.stdout
    );

    redis.kill();
    let r = run(&[], &env).await;
    assert!(!r.ok);
    assert_eq!(r.status("rate_store"), "fail", "{}", r.stdout);
    assert!(r.line("rate_store").contains("fail closed"), "{}", r.stdout);

    // A password in the URL never reaches the report.
    let with_password = url.replace("redis://", "redis://:CANARY-REDIS-PW@");
    let r = run(
        &[],
        &[
            ("MCP_RATE_LIMIT_STORE", "redis"),
            ("REDIS_URL", with_password.as_str()),
        ],
    )
    .await;
    assert_eq!(r.status("rate_store"), "fail", "{}", r.stdout);
    assert!(!r.stdout.contains("CANARY-REDIS-PW"), "{}", r.stdout);
}
