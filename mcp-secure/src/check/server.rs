//! Checks of the configuration itself: how it loaded, the transport, token rules, secrets,
//! limits and the process.

use super::{Check, Status, check, problem_check};
use crate::config::{SecureConfig, Severity, TransportKind};

/// Where the configuration came from, and its warnings.
pub(super) fn loading(config: &SecureConfig) -> Vec<Check> {
    let mut out = Vec::new();
    if config.warnings().is_empty() {
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
    out.extend(config.warnings().iter().map(problem_check));
    out
}

/// The transport, OAuth over HTTP, the bind address.
pub(super) fn transport(config: &SecureConfig) -> Vec<Check> {
    let o = &config.oauth;
    let mut out = vec![match config.transport {
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
    }];
    if config.transport != TransportKind::Http {
        out.push(check(
            "oauth_on_http",
            Status::Pass,
            "not needed over stdio",
        ));
        return out;
    }
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
    out
}

/// Token lifetime, refresh rotation, the resource indicator.
pub(super) fn tokens(config: &SecureConfig) -> Vec<Check> {
    let o = &config.oauth;
    let http = config.transport == TransportKind::Http;
    let ttl = match o.token_ttl_seconds {
        60..=3600 => check(
            "token_ttl",
            Status::Pass,
            format!(
                "access tokens accepted up to {} s (15-60 min rule)",
                o.token_ttl_seconds
            ),
        ),
        3601..=86_400 => check(
            "token_ttl",
            Status::Warn,
            format!(
                "access tokens accepted up to {} s: longer than 60 minutes; shorten the lifetime \
                 at the authorization server and set OAUTH_TOKEN_TTL_SECONDS=3600",
                o.token_ttl_seconds
            ),
        ),
        n => check(
            "token_ttl",
            Status::Fail,
            format!("{n} s is outside 60-86400"),
        ),
    };
    let rotation = if o.refresh_rotation {
        check("refresh_rotation", Status::Pass, "refresh tokens rotate")
    } else {
        check(
            "refresh_rotation",
            Status::Warn,
            "refresh tokens do not rotate",
        )
    };
    let resource = match &o.audience {
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
    };
    vec![ttl, rotation, resource]
}

/// Secrets, input validation, rate limiting.
pub(super) fn secrets_and_limits(config: &SecureConfig) -> Vec<Check> {
    let secrets: Vec<&str> = config.secrets.iter().map(|(n, _)| n.name()).collect();
    let secrets = check(
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
    );
    let input = check(
        "input_validation",
        Status::Pass,
        "arguments capped at 64 KiB by default; every parameter type implements validator::Validate (compile-time)",
    );
    let rate = match config.rate_limit.per_minute {
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
    };
    vec![secrets, input, rate]
}

/// Logging and the user the process runs as.
pub(super) fn process(config: &SecureConfig) -> Vec<Check> {
    let logging = check(
        "logging",
        Status::Pass,
        format!(
            "security events to stderr ({:?}, level {})",
            config.logging.format, config.logging.level
        ),
    );
    let root = match config.root_problem() {
        None => check("non_root", Status::Pass, "not running as root"),
        Some(p) if p.severity == Severity::Error => check("non_root", Status::Fail, p.message),
        Some(p) => check("non_root", Status::Warn, p.message),
    };
    vec![logging, root]
}
