//! `mcp-secure check`: the security checklist of a deployment, line by line.
//!
//! Loads and validates the configuration, and when an authorization server is configured,
//! fetches its metadata and JWKS to check the issuer, PKCE `S256` and key strength. Each line
//! is `pass`, `warn` or `fail`; any `fail` makes the command exit non-zero.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::config::{ConfigError, Problem, SecureConfig, Severity, TransportKind};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Fine.
    Pass,
    /// Allowed, but worth a look.
    Warn,
    /// Must be fixed.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short name (`pkce`, `token_ttl`, …).
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found, or how to fix it.
    pub detail: String,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

/// What the checker looks at besides the configuration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// A `tools/list` result (or the `tools` array) of the server, to check each tool's
    /// declared scopes and rate.
    pub tools: Option<Value>,
    /// Fetch the authorization server's metadata and JWKS (default in the command).
    pub network: bool,
}

impl CheckOptions {
    /// With network checks.
    pub fn online() -> Self {
        Self {
            tools: None,
            network: true,
        }
    }

    /// Adds a tool listing.
    pub fn tools(mut self, tools: Value) -> Self {
        self.tools = Some(tools);
        self
    }
}

fn problem_check(p: &Problem) -> Check {
    let status = match p.severity {
        Severity::Error => Status::Fail,
        Severity::Warning => Status::Warn,
    };
    check("configuration", status, format!("{}: {}", p.key, p.message))
}

/// Runs every check on a loaded configuration (or the reason it did not load).
pub async fn run(loaded: &Result<SecureConfig, ConfigError>, options: &CheckOptions) -> Vec<Check> {
    let mut out = Vec::new();
    let (config, warnings) = match loaded {
        Ok(config) => (config, config.warnings()),
        Err(e) => {
            out.extend(e.problems.iter().map(problem_check));
            return out;
        }
    };
    if warnings.is_empty() {
        let source = config
            .source
            .as_ref()
            .map_or("the environment".to_string(), |p| {
                format!("{} and the environment", p.display())
            });
        out.push(check(
            "configuration",
            Status::Pass,
            format!("loaded from {source}"),
        ));
    }
    out.extend(warnings.iter().map(problem_check));

    let http = config.transport == TransportKind::Http;
    out.push(match config.transport {
        TransportKind::Stdio => check(
            "transport",
            Status::Pass,
            "stdio: the local user is the caller (scopes from MCP_STDIO_SCOPES)",
        ),
        TransportKind::Http => check(
            "transport",
            Status::Pass,
            format!("Streamable HTTP on {}", config.http.addr),
        ),
    });
    let o = &config.oauth;
    if http {
        out.push(match (&o.issuer, &o.audience, config.dev_auth.enabled) {
            (_, _, true) => check(
                "oauth_on_http",
                Status::Warn,
                "the embedded development authorization server: not for production",
            ),
            (Some(i), Some(a), _) => check(
                "oauth_on_http",
                Status::Pass,
                format!("issuer {i}, audience {a}"),
            ),
            _ => check(
                "oauth_on_http",
                Status::Fail,
                "HTTP without OAuth: set OAUTH_ISSUER and OAUTH_AUDIENCE",
            ),
        });
        if !config.http.addr.ip().is_loopback() {
            out.push(check(
                "bind_address",
                Status::Warn,
                format!(
                    "{} is not loopback: terminate TLS in front of it",
                    config.http.addr
                ),
            ));
        }
    } else {
        out.push(check(
            "oauth_on_http",
            Status::Pass,
            "not needed over stdio",
        ));
    }

    out.push(if (900..=3600).contains(&o.token_ttl_seconds) {
        check(
            "token_ttl",
            Status::Pass,
            format!(
                "access tokens accepted up to {} s (15-60 min rule)",
                o.token_ttl_seconds
            ),
        )
    } else {
        check(
            "token_ttl",
            Status::Fail,
            format!("{} s is outside 900-3600", o.token_ttl_seconds),
        )
    });
    out.push(if o.refresh_rotation {
        check("refresh_rotation", Status::Pass, "refresh tokens rotate")
    } else {
        check(
            "refresh_rotation",
            Status::Warn,
            "refresh tokens do not rotate",
        )
    });
    out.push(match &o.audience {
        Some(a) => match url::Url::parse(a) {
            Ok(u)
                if u.fragment().is_none()
                    && u.query().is_none()
                    && matches!(u.scheme(), "https" | "http") =>
            {
                check(
                    "resource_indicator",
                    Status::Pass,
                    format!("tokens must name {a} in aud (RFC 8707)"),
                )
            }
            _ => check(
                "resource_indicator",
                Status::Fail,
                "OAUTH_AUDIENCE must be an absolute URL with no query or fragment",
            ),
        },
        None if http && !config.dev_auth.enabled => check(
            "resource_indicator",
            Status::Fail,
            "no resource URI: set OAUTH_AUDIENCE",
        ),
        None => check(
            "resource_indicator",
            Status::Pass,
            if http {
                "the development server binds tokens to http://<addr>/mcp"
            } else {
                "not used over stdio"
            },
        ),
    });

    if http && options.network && !config.dev_auth.enabled {
        if let Some(issuer) = &o.issuer {
            out.extend(network_checks(config, issuer).await);
        }
    } else if http && !options.network {
        out.push(check(
            "authorization_server",
            Status::Warn,
            "not checked (--offline)",
        ));
    }
    if !o.pkce_required {
        out.push(check(
            "pkce",
            Status::Fail,
            "pkce_required is false: PKCE S256 is mandatory",
        ));
    } else if !http {
        out.push(check(
            "pkce",
            Status::Pass,
            "required (checked against the authorization server over HTTP; not used over stdio)",
        ));
    } else if config.dev_auth.enabled {
        out.push(check(
            "pkce",
            Status::Pass,
            "the development server requires S256",
        ));
    } else if !options.network {
        out.push(check("pkce", Status::Warn, "not checked (--offline)"));
    }

    out.push(tool_check(options.tools.as_ref()));
    let secrets: Vec<&str> = config.secrets.iter().map(|(n, _)| n.name()).collect();
    out.push(check(
        "secrets",
        Status::Pass,
        if secrets.is_empty() {
            "none set; secrets come only from the environment or *_FILE, never the file".to_string()
        } else {
            format!(
                "{} from the environment, registered with the output redactor",
                secrets.join(", ")
            )
        },
    ));
    out.push(check("input_validation", Status::Pass, "arguments capped at 64 KiB by default; every parameter type implements validator::Validate (compile-time)"));
    out.push(match config.rate_limit.per_minute {
        Some(n) => check(
            "rate_limiting",
            Status::Pass,
            format!(
                "{n} calls per minute per caller, plus per-tool rates; store {:?}",
                config.rate_limit.store
            ),
        ),
        None => check(
            "rate_limiting",
            Status::Warn,
            "no per-caller limit across tools (security.rate_limit); only the per-tool rates apply",
        ),
    });
    out.push(rate_store_check(config, options.network).await);
    out.push(check(
        "logging",
        Status::Pass,
        format!(
            "security events to stderr ({:?}, level {})",
            config.logging.format, config.logging.level
        ),
    ));
    out.push(match config.root_problem() {
        None => check("non_root", Status::Pass, "not running as root"),
        Some(p) if p.severity == Severity::Error => check("non_root", Status::Fail, p.message),
        Some(p) => check("non_root", Status::Warn, p.message),
    });
    out
}

/// Where rate-limit state lives; for Redis (with network checks) one `PING` within the
/// configured timeout.
async fn rate_store_check(config: &SecureConfig, network: bool) -> Check {
    use crate::config::{FailurePolicy, RateStore};
    let rl = &config.rate_limit;
    if rl.store == RateStore::Memory {
        return check(
            "rate_store",
            Status::Pass,
            format!(
                "in memory, at most {} callers per tool: limits apply per replica",
                rl.max_keys
            ),
        );
    }
    let policy = match rl.failure_policy {
        FailurePolicy::Closed => "fail closed",
        FailurePolicy::Open => "fail open to the in-process limiter",
    };
    if !network {
        return check(
            "rate_store",
            Status::Pass,
            format!(
                "Redis ({policy}, {} ms timeout); not contacted (--offline)",
                rl.timeout_ms
            ),
        );
    }
    #[cfg(feature = "redis")]
    {
        let Some(url) = config.secrets.get(crate::config::SecretKey::REDIS_URL) else {
            return check("rate_store", Status::Fail, "REDIS_URL is not set");
        };
        let limiter = crate::rate::RedisRateLimiter::builder(url.clone())
            .timeout(Duration::from_millis(rl.timeout_ms.max(1_000)))
            .build();
        match limiter.ping().await {
            Ok(rtt) => check(
                "rate_store",
                Status::Pass,
                format!(
                    "Redis answers ({:.1} ms round trip; {policy}, {} ms timeout per decision)",
                    rtt.as_secs_f64() * 1e3,
                    rl.timeout_ms
                ),
            ),
            Err(e) => check(
                "rate_store",
                Status::Fail,
                format!("Redis does not answer ({}); calls would {policy}", e.kind),
            ),
        }
    }
    #[cfg(not(feature = "redis"))]
    check(
        "rate_store",
        Status::Fail,
        "the Redis store needs the `redis` feature of mcp-secure",
    )
}

async fn network_checks(config: &SecureConfig, issuer: &str) -> Vec<Check> {
    let mut out = Vec::new();
    match crate::auth::discovery::discover(issuer, Duration::from_secs(10)).await {
        Ok(metadata) => {
            out.push(check(
                "authorization_server",
                Status::Pass,
                format!("metadata names issuer {}", metadata.issuer),
            ));
            out.push(check(
                "pkce",
                Status::Pass,
                "the authorization server advertises S256",
            ));
            let jwks = config.oauth.jwks_url.clone().or(metadata.jwks_uri);
            out.push(match jwks {
                Some(url) => jwks_check(&url).await,
                None => check(
                    "keys",
                    Status::Fail,
                    "no JWKS URL (metadata has no jwks_uri; set OAUTH_JWKS_URL)",
                ),
            });
        }
        Err(e @ crate::auth::DiscoveryError::NoPkceS256) => {
            out.push(check(
                "authorization_server",
                Status::Pass,
                "metadata found",
            ));
            out.push(check("pkce", Status::Fail, e.to_string()));
        }
        Err(e) => out.push(check("authorization_server", Status::Fail, e.to_string())),
    }
    out
}

async fn jwks_check(url: &str) -> Check {
    let Ok(url) = url::Url::parse(url) else {
        return check("keys", Status::Fail, "the JWKS URL is not a URL");
    };
    let allowed = crate::auth::jwt::DEFAULT_ALGORITHMS;
    let client = crate::auth::fetch_client(Duration::from_secs(10));
    let doc: Result<Value, _> = crate::auth::fetch_json(&client, &url, 256 * 1024).await;
    let Ok(doc) = doc else {
        return check(
            "keys",
            Status::Fail,
            format!("could not fetch the JWKS at {url}"),
        );
    };
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut rejected = Vec::new();
    let mut usable = 0;
    for key in &keys {
        match crate::auth::VerifyingKey::from_jwk_value(key, allowed) {
            Ok(_) => usable += 1,
            Err(e) => rejected.push(e.to_string()),
        }
    }
    match (usable, rejected.is_empty()) {
        (0, _) => check(
            "keys",
            Status::Fail,
            format!("no usable signing key ({})", rejected.join("; ")),
        ),
        (n, true) => check(
            "keys",
            Status::Pass,
            format!(
                "{n} signing key(s), all strong enough (RSA >= 2048 bits, P-256/P-384, Ed25519)"
            ),
        ),
        (n, false) => check(
            "keys",
            Status::Warn,
            format!("{n} usable key(s); skipped: {}", rejected.join("; ")),
        ),
    }
}

fn tool_check(tools: Option<&Value>) -> Check {
    let Some(tools) = tools else {
        return check(
            "tool_scopes",
            Status::Warn,
            "not checked: pass --tools FILE (a tools/list result) to check each tool",
        );
    };
    let list = tools
        .get("tools")
        .or_else(|| tools.get("result").and_then(|r| r.get("tools")))
        .unwrap_or(tools)
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return check(
            "tool_scopes",
            Status::Fail,
            "the tool listing holds no tools",
        );
    }
    let mut unsecured = Vec::new();
    let mut public = Vec::new();
    let mut unlimited = Vec::new();
    for tool in &list {
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        match tool
            .pointer("/_meta/mcp-secure~1scopes")
            .and_then(Value::as_array)
        {
            None => unsecured.push(name.clone()),
            Some(scopes) if scopes.is_empty() => public.push(name.clone()),
            Some(_) => {}
        }
        if tool.pointer("/_meta/mcp-secure~1rate").is_none() {
            unlimited.push(name);
        }
    }
    if !unsecured.is_empty() {
        return check(
            "tool_scopes",
            Status::Fail,
            format!("tools without declared scopes: {}", unsecured.join(", ")),
        );
    }
    let mut detail = format!("{} tools, each with declared scopes", list.len());
    if !public.is_empty() {
        detail.push_str(&format!("; public: {}", public.join(", ")));
    }
    if !unlimited.is_empty() {
        detail.push_str(&format!("; no rate limit: {}", unlimited.join(", ")));
        return check("tool_scopes", Status::Warn, detail);
    }
    check("tool_scopes", Status::Pass, detail)
}

/// Renders the report for a terminal.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::from("mcp-secure check\n");
    for c in checks {
        let label = match c.status {
            Status::Pass => "pass",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("  {label}  {:<20} {}\n", c.name, c.detail));
    }
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    out.push_str(&format!(
        "{fails} failed, {warns} warnings, {} passed\n",
        checks.len() - fails - warns
    ));
    out
}

/// Renders the report as JSON.
pub fn render_json(checks: &[Check]) -> String {
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    serde_json::json!({"checks": checks, "failed": fails, "warnings": warns}).to_string()
}

/// Whether any check failed.
pub fn failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}
