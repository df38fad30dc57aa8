//! Tests of loading: file, environment, secrets, rules.
use super::*;
use std::collections::HashMap;

fn load(
    file: Option<(&str, FileFormat)>,
    env: &[(&str, &str)],
) -> Result<(SecureConfig, Vec<Problem>), ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let get = move |k: &str| env.get(k).cloned();
    let read =
        |p: &Path| (p == Path::new("/run/secrets/api")).then(|| "from-file-secret\n".to_string());
    let mut loader = SecureConfig::loader()
        .environment(&get)
        .secret_files(&read)
        .secret(CUSTOM_TOKEN);
    if let Some((text, format)) = file {
        loader = loader.file_text(text, format);
    }
    loader.load().map(|c| {
        let warnings = c.warnings().to_vec();
        (c, warnings)
    })
}

const CUSTOM_TOKEN: SecretKey = SecretKey::new("CUSTOM_TOKEN");

const SEED: &str = r#"{"security": {"auth_required": true, "oauth": {"pkce_required": true, "token_ttl_seconds": 3600, "refresh_rotation": true, "issuer": "https://auth.example.com", "audience": "https://mcp.example.com/mcp"}, "rate_limit": 1000}}"#;

#[test]
fn the_seed_shaped_json_loads_unchanged() {
    let (c, warnings) = load(Some((SEED, FileFormat::Json)), &[]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(c.auth_required);
    assert!(c.oauth.pkce_required && c.oauth.refresh_rotation);
    assert_eq!(c.oauth.token_ttl_seconds, 3600);
    assert_eq!(c.oauth.issuer.as_deref(), Some("https://auth.example.com"));
    assert_eq!(
        c.oauth.audience.as_deref(),
        Some("https://mcp.example.com/mcp")
    );
    assert_eq!(c.rate_limit.per_minute, Some(1000));
}

#[test]
fn the_same_in_toml() {
    let toml = r#"
[security]
auth_required = true
rate_limit = 1000

[security.oauth]
pkce_required = true
token_ttl_seconds = 3600
refresh_rotation = true
issuer = "https://auth.example.com"
audience = "https://mcp.example.com/mcp"
"#;
    let (t, _) = load(Some((toml, FileFormat::Toml)), &[]).unwrap();
    let (j, _) = load(Some((SEED, FileFormat::Json)), &[]).unwrap();
    assert_eq!(t.oauth, j.oauth);
    assert_eq!(t.rate_limit, j.rate_limit);
}

fn problems(r: Result<(SecureConfig, Vec<Problem>), ConfigError>) -> Vec<Problem> {
    match r {
        Ok((_, w)) => w,
        Err(e) => e.problems,
    }
}

#[test]
fn unknown_keys_name_the_nearest_valid_one() {
    let p = problems(load(
        Some((
            r#"{"security": {"oauth": {"issuerr": "x"}, "rate_limt": 5}}"#,
            FileFormat::Json,
        )),
        &[],
    ));
    assert!(
        p.iter()
            .any(|p| p.key == "security.oauth.issuerr"
                && p.message.contains("did you mean `issuer`")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.key == "security.rate_limt"
                && p.message.contains("did you mean `rate_limit`")),
        "{p:?}"
    );
}

#[test]
fn a_secret_in_the_file_is_an_error_and_never_echoed() {
    let r = load(
        Some((
            r#"{"security": {"oauth": {"client_secret": "CANARY-S1"}, "api_key": "CANARY-S2"}}"#,
            FileFormat::Json,
        )),
        &[],
    );
    let e = r.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("security.oauth.client_secret") && text.contains("OAUTH_CLIENT_SECRET"),
        "{text}"
    );
    assert!(
        text.contains("security.api_key") && text.contains("API_KEY"),
        "{text}"
    );
    assert!(!text.contains("CANARY"));
}

#[test]
fn every_rule_is_reported_at_once() {
    let file = r#"{"security": {"auth_required": false, "transport": "http", "oauth": {"pkce_required": false, "token_ttl_seconds": 86400, "refresh_rotation": false, "issuer": "http://auth.example.com"}, "rate_limit": 0}}"#;
    let p = problems(load(Some((file, FileFormat::Json)), &[]));
    let keys: Vec<(&str, Severity)> = p.iter().map(|p| (p.key.as_str(), p.severity)).collect();
    for expected in [
        ("security.oauth.token_ttl_seconds", Severity::Warning),
        ("security.oauth.pkce_required", Severity::Error),
        ("security.oauth.refresh_rotation", Severity::Warning),
        ("security.auth_required", Severity::Error),
        ("security.oauth.issuer", Severity::Error),
        ("security.rate_limit", Severity::Error),
    ] {
        assert!(
            keys.contains(&expected),
            "{expected:?} missing from {keys:?}"
        );
    }
}

#[test]
fn strict_turns_warnings_into_errors() {
    let file = r#"{"security": {"strict": true, "oauth": {"refresh_rotation": false}}}"#;
    let e = load(Some((file, FileFormat::Json)), &[]).unwrap_err();
    assert!(e.problems.iter().all(|p| p.severity == Severity::Error));
    let (_, w) = load(
        Some((
            r#"{"security": {"oauth": {"refresh_rotation": false}}}"#,
            FileFormat::Json,
        )),
        &[],
    )
    .unwrap();
    assert_eq!(w.len(), 1);
}

#[test]
fn strict_stdio_needs_the_local_callers_scopes_named() {
    let e = load(None, &[("MCP_STRICT", "true")]).unwrap_err();
    assert!(e.to_string().contains("MCP_STDIO_SCOPES"), "{e}");
    assert!(
        load(
            None,
            &[("MCP_STRICT", "true"), ("MCP_STDIO_SCOPES", "data:read")]
        )
        .is_ok()
    );
    // Outside strict the default stays (every declared scope, announced at start).
    assert!(load(None, &[]).is_ok());
}

#[test]
fn the_development_server_is_refused_under_strict_and_off_loopback() {
    let http = [("MCP_TRANSPORT", "http"), ("MCP_DEV_AUTH", "true")];
    assert!(load(None, &http).is_ok());
    let strict = [http[0], http[1], ("MCP_STRICT", "true")];
    let e = load(None, &strict).unwrap_err();
    assert!(e.problems.iter().any(|p| p.key == "MCP_DEV_AUTH"), "{e}");
    let wide = [http[0], http[1], ("MCP_DEV_AUTH_ADDR", "0.0.0.0:9000")];
    let e = load(None, &wide).unwrap_err();
    assert!(
        e.problems.iter().any(|p| p.key == "security.dev_auth.addr"),
        "{e}"
    );
}

#[cfg(feature = "redis")]
#[test]
fn the_redis_store_needs_a_usable_url_and_never_repeats_it() {
    let e = load(None, &[("MCP_RATE_LIMIT_STORE", "redis")]).unwrap_err();
    assert!(e.to_string().contains("REDIS_URL"), "{e}");
    let e = load(
        None,
        &[
            ("MCP_RATE_LIMIT_STORE", "redis"),
            ("REDIS_URL", "http://u:CANARY-REDIS@h/"),
        ],
    )
    .unwrap_err();
    assert!(e.to_string().contains("REDIS_URL"), "{e}");
    assert!(!e.to_string().contains("CANARY"), "{e}");
    let (c, _) = load(
        None,
        &[
            ("MCP_RATE_LIMIT_STORE", "redis"),
            ("MCP_RATE_LIMIT_FAILURE", "open"),
            ("MCP_RATE_LIMIT", "90"),
            ("REDIS_URL", "redis://:CANARY-REDIS@127.0.0.1:6379/2"),
        ],
    )
    .unwrap();
    assert_eq!(c.rate_limit.store, RateStore::Redis);
    assert_eq!(c.rate_limit.failure_policy, FailurePolicy::Open);
    let security = c.security().build();
    assert_eq!(
        security.global_rate(),
        Some(&crate::RateSpec::per_minute(90))
    );
    let debug = format!("{security:?}");
    assert!(debug.contains("RedisRateLimiter"), "{debug}");
    assert!(!debug.contains("CANARY"), "{debug}");
}

#[test]
fn environment_overrides_the_file() {
    let (c, _) = load(
        Some((SEED, FileFormat::Json)),
        &[
            ("OAUTH_ISSUER", "https://other.example.com"),
            ("MCP_RATE_LIMIT", "7"),
            ("MCP_TRANSPORT", "stdio"),
        ],
    )
    .unwrap();
    assert_eq!(c.oauth.issuer.as_deref(), Some("https://other.example.com"));
    assert_eq!(c.rate_limit.per_minute, Some(7));
    let e = load(None, &[("MCP_TRANSPORT", "sse")]).unwrap_err();
    assert!(e.to_string().contains("deprecated"));
}

#[test]
fn secrets_from_env_or_files_and_debug_shows_stars() {
    let (c, _) = load(
        None,
        &[
            ("API_KEY_FILE", "/run/secrets/api"),
            ("DATABASE_URL", "postgresql://u:CANARY-DB@h/db"),
            ("CUSTOM_TOKEN", "CANARY-CUSTOM"),
        ],
    )
    .unwrap();
    assert_eq!(
        c.secrets.get(SecretKey::API_KEY).map(|s| s.expose_secret()),
        Some("from-file-secret")
    );
    assert!(c.secrets.get(CUSTOM_TOKEN).is_some());
    let debug = format!("{c:?}");
    let display = c.to_string();
    for shown in [&debug, &display] {
        assert!(
            !shown.contains("CANARY") && !shown.contains("from-file-secret"),
            "{shown}"
        );
        assert!(
            shown.contains("\"API_KEY\": \"***\"") && shown.contains("\"REDIS_URL\": \"(unset)\""),
            "{shown}"
        );
    }
    let security = c.security().build();
    assert_eq!(security.redactor().secret_count(), 3);
}

#[test]
fn an_unreadable_secret_file_is_an_error() {
    let e = load(None, &[("API_KEY_FILE", "/nope")]).unwrap_err();
    assert_eq!(e.problems[0].key, "API_KEY_FILE");
}

#[test]
fn type_errors_are_collected() {
    let p = problems(load(
        Some((
            r#"{"security": {"auth_required": "yes", "oauth": {"token_ttl_seconds": "1h"}}}"#,
            FileFormat::Json,
        )),
        &[],
    ));
    assert!(p.iter().any(|p| p.key == "security.auth_required"));
    assert!(
        p.iter()
            .any(|p| p.key == "security.oauth.token_ttl_seconds")
    );
}

#[test]
fn malformed_files_say_where() {
    let e = load(Some(("{\"security\": ", FileFormat::Json)), &[]).unwrap_err();
    assert!(e.to_string().contains("line 1"));
}

#[test]
fn injected_sources_register_nothing_process_wide() {
    let (c, _) = load(None, &[("API_KEY", "CANARY-INJECTED-7Kq2")]).unwrap();
    assert!(c.secrets.get(SecretKey::API_KEY).is_some());
    let shown = crate::redact::log_redactor().redact_str("key CANARY-INJECTED-7Kq2");
    assert!(shown.is_none(), "{shown:?}");
}

#[test]
fn every_variable_has_one_setting_and_the_list_names_them_all() {
    let vars = variables();
    for setting in settings::SETTINGS {
        if let Some(env) = setting.env {
            assert_eq!(vars.iter().filter(|v| v.name == env).count(), 1, "{env}");
        }
    }
    assert!(vars.iter().any(|v| v.name == "MCP_CONFIG"));
    assert!(vars.iter().any(|v| v.name == "REDIS_URL"));
}

#[test]
fn the_crate_reads_the_environment_only_through_the_settings_table() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let readers: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("config/tests.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("std::env::var(") || text.contains("env::var_os(")
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert_eq!(readers, vec!["config/mod.rs".to_string()], "{readers:?}");
}

#[test]
fn dev_auth_stdio_and_jwks_file_come_from_the_table() {
    let (c, _) = load(
        Some((
            r#"{"security": {"dev_auth": {"enabled": true, "users": {"alice": "data:read"}}, "stdio": {"scopes": ["a", "b"]}}}"#,
            FileFormat::Json,
        )),
        &[
            ("MCP_DEV_AUTH_ADDR", "127.0.0.1:9100"),
            ("MCP_STDIO_SUBJECT", "bob"),
            ("OAUTH_JWKS_FILE", "/etc/keys.json"),
        ],
    )
    .unwrap();
    assert!(c.dev_auth.enabled);
    assert_eq!(c.dev_auth.addr.port(), 9100);
    assert_eq!(c.dev_auth.users.as_ref().unwrap()[0].name, "alice");
    assert_eq!(c.stdio.scopes.as_ref().unwrap().to_string(), "a b");
    assert_eq!(c.stdio.subject, "bob");
    assert_eq!(
        c.oauth.jwks_file.as_deref(),
        Some(Path::new("/etc/keys.json"))
    );
    let e = load(None, &[("MCP_DEV_AUTH_USERS", "bad name=x")]).unwrap_err();
    assert_eq!(e.problems[0].key, "MCP_DEV_AUTH_USERS");
}
