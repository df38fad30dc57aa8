//! The rules a loaded configuration must follow. Each broken rule is a problem with its fix;
//! a deliberate relaxation is a warning (an error under `strict`).

use super::{
    RateStore, SecretKey, SecureConfig, TransportKind,
    problem::{Collector, Problem, Severity},
};

/// Whether `url` names a loopback host.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks every rule, recording each broken one.
pub(crate) fn check(config: &SecureConfig, c: &mut Collector) {
    oauth(config, c);
    transport(config, c);
    rate_limit(config, c);
}

fn oauth(config: &SecureConfig, c: &mut Collector) {
    let o = &config.oauth;
    if !(60..=86_400).contains(&o.token_ttl_seconds) {
        c.error(
            "security.oauth.token_ttl_seconds",
            format!(
                "{} s is outside 60-86400: set the longest access token lifetime to accept, \
                 ideally at most 3600 (15 to 60 minutes)",
                o.token_ttl_seconds
            ),
        );
    } else if o.token_ttl_seconds > 3600 && config.explicitly_set("oauth.token_ttl_seconds") {
        c.warning(
            "security.oauth.token_ttl_seconds",
            format!(
                "tokens living up to {} s are accepted: a stolen token works that long; shorten \
                 the lifetime at the authorization server and set at most 3600",
                o.token_ttl_seconds
            ),
        );
    }
    if !o.pkce_required {
        c.error(
            "security.oauth.pkce_required",
            "PKCE cannot be turned off: OAuth 2.1 and MCP require it (S256); set it to true",
        );
    }
    if !o.refresh_rotation {
        c.warning(
            "security.oauth.refresh_rotation",
            "refresh tokens are not rotated: acceptable only for sender-constrained refresh tokens; set it to true otherwise",
        );
    }
    if o.leeway_seconds > 60 {
        c.error(
            "security.oauth.leeway_seconds",
            "leeway above 60 s weakens expiry checks; set at most 60",
        );
    }
    // A preset's own `typ` relaxation is named by the preset.
    if o.allow_jwt_typ && (config.explicitly_set("oauth.allow_jwt_typ") || !o.preset().no_at_jwt) {
        c.warning(
            "security.oauth.allow_jwt_typ",
            "tokens without typ at+jwt are accepted (RFC 9068 relaxation): an ID token of the same issuer and audience would pass",
        );
    }
    if o.skip_metadata_check {
        c.warning(
            "security.oauth.skip_metadata_check",
            "the authorization server's metadata (issuer, PKCE S256) is not checked at start",
        );
    }
    let issuers = o.issuers();
    let urls = issuers
        .iter()
        .map(|i| ("security.oauth.issuer", i.as_str()))
        .chain(
            o.resource
                .as_deref()
                .map(|r| ("security.oauth.resource", r)),
        )
        .chain(
            o.jwks_url
                .as_deref()
                .map(|u| ("security.oauth.jwks_url", u)),
        )
        .chain(
            o.introspection_url
                .as_deref()
                .map(|u| ("security.oauth.introspection_url", u)),
        );
    for (key, url) in urls {
        if key == "security.oauth.resource" {
            if !is_http_url(url) {
                c.error(
                    key,
                    "must be an absolute http(s) URL, e.g. https://mcp.example.com/mcp",
                );
            }
            continue;
        }
        match url::Url::parse(url) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if u.scheme() == "http" && is_loopback(&u) => {}
            Ok(u) if u.scheme() == "http" => c.error(
                key,
                "plain http is only allowed to a loopback address; use https",
            ),
            _ => c.error(key, "must be an absolute https URL"),
        }
    }
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn transport(config: &SecureConfig, c: &mut Collector) {
    if config.transport == TransportKind::Stdio && config.strict && config.stdio.scopes.is_none() {
        // Outside strict, the same default is announced at start with the scopes it grants.
        c.error(
            "security.stdio.scopes",
            "under strict, name the local caller's scopes (MCP_STDIO_SCOPES): unset, it holds \
             every scope the server declares",
        );
    }
    if config.transport != TransportKind::Http {
        return;
    }
    #[cfg(feature = "http")]
    if let Err(e) = crate::http::TrustedProxies::parse(&config.http.trusted_proxies) {
        c.error("security.http.trusted_proxies", e.to_string());
    }
    let o = &config.oauth;
    let dev_auth = config.dev_auth.enabled;
    if !config.auth_required {
        c.error(
            "security.auth_required",
            "authentication cannot be turned off over HTTP; set it to true (or use stdio)",
        );
    }
    if dev_auth && config.strict {
        c.error(
            "MCP_DEV_AUTH",
            "the development authorization server is not for production, and strict is: use a \
             real authorization server (OAUTH_ISSUER), or unset MCP_STRICT while developing",
        );
    }
    if dev_auth && !config.dev_auth.addr.ip().is_loopback() {
        c.error(
            "security.dev_auth.addr",
            "the development authorization server binds loopback addresses only (e.g. \
             127.0.0.1:9000)",
        );
    }
    if dev_auth && o.issuer.is_some() {
        c.error(
            "MCP_DEV_AUTH",
            "starts the development authorization server: unset OAUTH_ISSUER, or unset MCP_DEV_AUTH to use that issuer",
        );
    }
    if o.issuer.is_none() && !dev_auth {
        c.error(
            "security.oauth.issuer",
            "HTTP needs an authorization server: set OAUTH_ISSUER (or MCP_DEV_AUTH=true for the development server)",
        );
    }
    if o.resource().is_none() && !dev_auth {
        c.error(
            "security.oauth.audience",
            "HTTP needs this server's resource URI (RFC 8707), which tokens must name in `aud`: \
             set OAUTH_AUDIENCE to it, e.g. https://mcp.example.com/mcp (or set OAUTH_RESOURCE to \
             it and OAUTH_AUDIENCE to the provider's own audience value)",
        );
    }
    if o.jwks_url.is_some() && o.issuers().len() > 1 {
        c.error(
            "OAUTH_JWKS_URL",
            "with several issuers each one's keys come from its own metadata: unset OAUTH_JWKS_URL",
        );
    }
    if !config.http.addr.ip().is_loopback() {
        c.warning(
            "security.http.addr",
            "listening beyond loopback: put TLS in front of the server",
        );
    }
}

fn rate_limit(config: &SecureConfig, c: &mut Collector) {
    let rl = &config.rate_limit;
    if rl.per_minute == Some(0) {
        c.error(
            "security.rate_limit",
            "a rate limit of 0 refuses every call; set a positive number or leave it unset",
        );
    }
    if rl.store == RateStore::Redis {
        #[cfg(feature = "redis")]
        match config.secrets.get(SecretKey::REDIS_URL) {
            None => c.error(
                "REDIS_URL",
                "the Redis rate-limit store needs REDIS_URL (or REDIS_URL_FILE) in the environment",
            ),
            Some(url) => {
                if let Err(why) = crate::rate::RedisRateLimiter::check_url(url) {
                    c.error("REDIS_URL", why);
                }
            }
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = SecretKey::REDIS_URL;
            c.error(
                "security.rate_limit.store",
                "the Redis store needs the `redis` feature of mcp-secure",
            );
        }
    }
    if rl.timeout_ms == 0 || rl.timeout_ms > 5_000 {
        c.error(
            "security.rate_limit.timeout_ms",
            "must be between 1 and 5000 ms",
        );
    }
    let limits = &config.limits;
    if !(1..=86_400).contains(&limits.tool_timeout_secs) {
        c.error(
            "security.limits.tool_timeout_seconds",
            "must be between 1 and 86400 seconds",
        );
    }
    if !(1..=3_600).contains(&limits.client_timeout_secs) {
        c.error(
            "security.limits.client_timeout_seconds",
            "must be between 1 and 3600 seconds",
        );
    }
}

/// Whether the effective user is root (uid 0), where that can be told.
pub(crate) fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// A warning (an error under `strict`) when running as root.
pub(crate) fn root_problem(strict: bool) -> Option<Problem> {
    running_as_root().then(|| Problem {
        severity: if strict {
            Severity::Error
        } else {
            Severity::Warning
        },
        key: "process".into(),
        message: "running as root (uid 0): run the server as an unprivileged user".into(),
    })
}
