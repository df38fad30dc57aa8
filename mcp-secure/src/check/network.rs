//! Checks that contact other services: the authorization server (metadata, PKCE, keys) and
//! the shared rate-limit store.

use std::time::Duration;

use serde_json::Value;

use super::{Check, Status, check};
use crate::config::{SecureConfig, TransportKind};

/// The authorization server's metadata and keys (over HTTP, unless offline), and PKCE.
pub(super) async fn authorization_server(config: &SecureConfig, network: bool) -> Vec<Check> {
    let o = &config.oauth;
    let http = config.transport == TransportKind::Http;
    let mut out = Vec::new();
    if http && !config.dev_auth.enabled {
        out.push(provider_check(config));
    }
    if http && network && !config.dev_auth.enabled {
        for issuer in o.issuers() {
            out.extend(network_checks(config, &issuer).await);
        }
    } else if http && !network {
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
    } else if !network {
        out.push(check("pkce", Status::Warn, "not checked (--offline)"));
    }
    out
}

/// Where rate-limit state lives; for Redis (with network checks) one `PING` within the
/// configured timeout.
pub(super) async fn rate_store(config: &SecureConfig, network: bool) -> Check {
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

/// What the provider preset makes of tokens: where scopes, client id and audience come
/// from; its quirks are the configuration's warnings.
fn provider_check(config: &SecureConfig) -> Check {
    let o = &config.oauth;
    let preset = o.preset();
    let scopes = o.scope_claims.clone().unwrap_or_else(|| {
        preset
            .scope_claims
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    let mut detail = format!(
        "{}: scopes from {}; `{}` must name {}",
        preset.name,
        scopes.join(", "),
        preset.audience_claim,
        o.audiences().join(" or ")
    );
    if !o.tenants.is_empty() {
        detail.push_str(&format!("; tenants {}", o.tenants.join(", ")));
    }
    if o.allow_jwt_typ {
        detail.push_str("; typ JWT or none accepted");
    }
    check("provider", Status::Pass, detail)
}

async fn network_checks(config: &SecureConfig, issuer: &str) -> Vec<Check> {
    let mut out = Vec::new();
    let require_pkce = config.oauth.preset().pkce_in_metadata;
    match crate::auth::discovery::discover_with(issuer, Duration::from_secs(10), require_pkce).await
    {
        Ok(metadata) => {
            out.push(check(
                "authorization_server",
                Status::Pass,
                format!("metadata names issuer {}", metadata.issuer),
            ));
            out.push(if require_pkce {
                check(
                    "pkce",
                    Status::Pass,
                    "the authorization server advertises S256",
                )
            } else {
                check(
                    "pkce",
                    Status::Warn,
                    format!(
                        "{}'s metadata does not list code_challenge_methods_supported; it documents \
                         PKCE S256 for the authorization code flow, which clients must use",
                        config.oauth.preset().name
                    ),
                )
            });
            let jwks = config
                .oauth
                .jwks_url
                .clone()
                .filter(|_| config.oauth.issuers().len() == 1)
                .or(metadata.jwks_uri);
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
