//! Downstream calls on the caller's behalf: OAuth 2.0 token exchange (RFC 8693).
//!
//! The MCP specification forbids passing the caller's token through to another service (the
//! token's audience is this server; a downstream API accepting it would accept tokens meant
//! for anyone). What a tool does instead: exchange the caller's token at the authorization
//! server for a token whose audience is the downstream API, with the narrowest scopes it
//! needs, authenticated as this server's own client. [`TokenExchanger::exchange`] does that,
//! caching each exchanged token per caller, audience and scopes until shortly before it
//! expires.
//!
//! The caller's token is available only when the server opts in (`OAUTH_KEEP_TOKEN=true`, or
//! [`JwtConfig::keep_token`](crate::auth::JwtConfig::keep_token)), and then only as a secret in
//! the [`Principal`]. No helper here, or anywhere in mcp-secure, forwards it to another host.
//! Errors are fixed codes; the authorization server's text never reaches the client or the log.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use crate::{Principal, error::ToolError, redact::SecretString, scope::ScopeSet};

/// RFC 8693's grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693's access-token type.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 7523's JWT bearer grant (Entra's on-behalf-of flow).
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Entra's resource-qualified scopes: `{audience}/{scope}` for each scope not already
/// qualified, `{audience}/.default` when none.
fn entra_scopes(audience: &str, scope: &str) -> String {
    let base = audience.trim_end_matches('/');
    if scope.is_empty() {
        return format!("{base}/.default");
    }
    scope
        .split(' ')
        .map(|s| {
            if s.contains('/') {
                s.to_owned()
            } else {
                format!("{base}/{s}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 7523's client assertion type.
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Why an exchange failed. Each is a fixed kind; none carries the authorization server's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The caller has no token to exchange (not kept: set `OAUTH_KEEP_TOKEN=true`; or a local
    /// caller).
    #[error("no caller token to exchange")]
    NoCallerToken,
    /// The authorization server refused (not allowed for that audience or scope, or the
    /// caller's token no longer valid).
    #[error("the authorization server refused the exchange")]
    Refused,
    /// The authorization server could not be reached, or answered something unusable.
    #[error("the authorization server is unavailable")]
    Unavailable,
}

impl ExchangeError {
    /// The fixed kind, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoCallerToken => "no_caller_token",
            Self::Refused => "refused",
            Self::Unavailable => "unavailable",
        }
    }
}

impl ExchangeError {
    /// The tool error for the client: a fixed code and message (`DOWNSTREAM_UNAUTHORIZED`,
    /// `DOWNSTREAM_UNAVAILABLE`). `?` alone would give `INTERNAL`.
    pub fn tool_error(self) -> ToolError {
        match self {
            ExchangeError::NoCallerToken | ExchangeError::Refused => ToolError::new(
                "DOWNSTREAM_UNAUTHORIZED",
                "Access to the downstream service was not granted for this caller",
            ),
            ExchangeError::Unavailable => ToolError::new(
                "DOWNSTREAM_UNAVAILABLE",
                "The authorization server for the downstream service is unavailable",
            ),
        }
    }
}

/// How this server authenticates at the token endpoint.
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`, the secret from the environment or a `*_FILE`
    /// (`OAUTH_CLIENT_SECRET`).
    Secret(SecretString),
    /// `private_key_jwt` (RFC 7523): a short-lived assertion signed by this key per request;
    /// no shared secret at all.
    PrivateKeyJwt(crate::auth::SigningKey),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(***)"),
            Self::PrivateKeyJwt(key) => write!(f, "PrivateKeyJwt({key:?})"),
        }
    }
}

/// Which request the authorization server understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Flavor {
    /// RFC 8693 token exchange (`subject_token`, `audience`, `scope`).
    #[default]
    TokenExchange,
    /// Microsoft Entra ID's on-behalf-of flow: the `jwt-bearer` grant with the caller's token
    /// as `assertion`, `requested_token_use=on_behalf_of`, and resource-qualified scopes
    /// (`{audience}/{scope}`, or `{audience}/.default` when none is asked for), the client's
    /// credentials in the body ([Microsoft's documentation](https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow)).
    EntraOnBehalfOf,
}

/// Settings of a [`TokenExchanger`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ExchangeConfig {
    /// The authorization server's token endpoint.
    pub token_endpoint: Url,
    /// This server's client id there.
    pub client_id: String,
    /// How it authenticates.
    pub auth: ClientAuth,
    /// An exchanged token is reused until this long before it expires (default 30 s).
    pub refresh_margin: Duration,
    /// Per request (default 10 s).
    pub timeout: Duration,
    /// Exchanged tokens kept at most (default 10,000).
    pub max_cached: usize,
    /// The request's shape (default RFC 8693).
    pub flavor: Flavor,
}

impl ExchangeConfig {
    /// Exchanges at `token_endpoint` as `client_id` with a client secret.
    pub fn new(token_endpoint: Url, client_id: impl Into<String>, secret: SecretString) -> Self {
        Self {
            token_endpoint,
            client_id: client_id.into(),
            auth: ClientAuth::Secret(secret),
            refresh_margin: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            max_cached: 10_000,
            flavor: Flavor::TokenExchange,
        }
    }

    /// Use Microsoft Entra ID's on-behalf-of flow instead of RFC 8693 (its token endpoint is
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`).
    pub fn entra_on_behalf_of(mut self) -> Self {
        self.flavor = Flavor::EntraOnBehalfOf;
        self
    }

    /// Exchanges at `token_endpoint` as `client_id`, authenticating with `private_key_jwt`.
    pub fn with_private_key(
        token_endpoint: Url,
        client_id: impl Into<String>,
        key: crate::auth::SigningKey,
    ) -> Self {
        Self {
            auth: ClientAuth::PrivateKeyJwt(key),
            ..Self::new(token_endpoint, client_id, SecretString::from(String::new()))
        }
    }

    /// Reuse an exchanged token until `margin` before it expires.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }
}

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    issued_token_type: Option<String>,
}

struct Cached {
    token: SecretString,
    fresh_until: Instant,
}

/// Exchanges callers' tokens for downstream tokens (RFC 8693), with a cache.
pub struct TokenExchanger {
    config: ExchangeConfig,
    client: reqwest::Client,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TokenExchanger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchanger")
            .field("token_endpoint", &self.config.token_endpoint.as_str())
            .field("client_id", &self.config.client_id)
            .field(
                "cached",
                &self.cache.lock().map(|c| c.len()).unwrap_or_default(),
            )
            .finish_non_exhaustive()
    }
}

impl TokenExchanger {
    /// An exchanger with `config`.
    pub fn new(config: ExchangeConfig) -> Self {
        Self {
            client: crate::auth::fetch_client(config.timeout),
            config,
            cache: Mutex::new(HashMap::new()),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many exchanges went to the authorization server (the rest came from the cache).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A token for `audience` with `scopes`, on behalf of `caller`: from the cache while it is
    /// fresh, else exchanged at the authorization server.
    pub async fn exchange(
        &self,
        caller: &Principal,
        audience: &str,
        scopes: &ScopeSet,
    ) -> Result<SecretString, ExchangeError> {
        let subject = caller.token().ok_or(ExchangeError::NoCallerToken)?;
        let scope = scopes.to_string();
        let key = {
            let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
            for part in [subject.expose_secret(), audience, scope.as_str()] {
                h.update(part.as_bytes());
                h.update(b"\0");
            }
            let mut key = [0u8; 32];
            key.copy_from_slice(h.finish().as_ref());
            key
        };
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(&key)
            && hit.fresh_until > now
        {
            return Ok(hit.token.clone());
        }
        let answer = self.fetch(subject, audience, &scope).await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(0));
        let token = SecretString::from(answer.access_token);
        if lifetime > self.config.refresh_margin
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= self.config.max_cached {
                cache.retain(|_, c| c.fresh_until > now);
                if cache.len() >= self.config.max_cached {
                    cache.clear();
                }
            }
            cache.insert(
                key,
                Cached {
                    token: token.clone(),
                    fresh_until: now + lifetime - self.config.refresh_margin,
                },
            );
        }
        Ok(token)
    }

    /// A client assertion for one request: `iss` = `sub` = this client, `aud` the token
    /// endpoint, one minute, a fresh `jti`.
    fn assertion(&self, key: &crate::auth::SigningKey) -> Option<String> {
        use aws_lc_rs::rand::SecureRandom;
        let mut id = [0u8; 16];
        aws_lc_rs::rand::SystemRandom::new().fill(&mut id).ok()?;
        let now = crate::auth::now_unix();
        let claims = serde_json::json!({
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": self.config.token_endpoint.as_str(),
            "iat": now,
            "exp": now + 60,
            "jti": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id),
        });
        key.sign(&claims, None).ok()
    }

    async fn fetch(
        &self,
        subject: &SecretString,
        audience: &str,
        scope: &str,
    ) -> Result<Answer, ExchangeError> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let assertion;
        let entra_scope;
        let mut form = match self.config.flavor {
            Flavor::TokenExchange => {
                let mut form = vec![
                    ("grant_type", GRANT_TYPE),
                    ("subject_token", subject.expose_secret()),
                    ("subject_token_type", ACCESS_TOKEN_TYPE),
                    ("requested_token_type", ACCESS_TOKEN_TYPE),
                    ("audience", audience),
                ];
                if !scope.is_empty() {
                    form.push(("scope", scope));
                }
                form
            }
            Flavor::EntraOnBehalfOf => {
                entra_scope = entra_scopes(audience, scope);
                vec![
                    ("grant_type", JWT_BEARER_GRANT),
                    ("assertion", subject.expose_secret()),
                    ("requested_token_use", "on_behalf_of"),
                    ("scope", entra_scope.as_str()),
                ]
            }
        };
        let basic = match &self.config.auth {
            ClientAuth::Secret(secret) if self.config.flavor == Flavor::EntraOnBehalfOf => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", secret.expose_secret()));
                None
            }
            ClientAuth::Secret(secret) => {
                Some((self.config.client_id.as_str(), secret.expose_secret()))
            }
            ClientAuth::PrivateKeyJwt(key) => {
                assertion = self.assertion(key).ok_or(ExchangeError::Unavailable)?;
                form.push(("client_id", &self.config.client_id));
                form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
                None
            }
        };
        let answer: Answer = crate::auth::fetch_form(
            &self.client,
            &self.config.token_endpoint,
            basic,
            &form,
            64 * 1024,
        )
        .await
        .map_err(|e| {
            let kind = match e {
                crate::auth::FetchError::Status(400..=403) => ExchangeError::Refused,
                _ => ExchangeError::Unavailable,
            };
            tracing::warn!(
                target: crate::audit::TARGET,
                event = "token_exchange_failed",
                reason = kind.as_str(),
                audience = %crate::audit::Sanitized(audience),
                "token exchange failed"
            );
            kind
        })?;
        if answer
            .issued_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
            || answer.access_token.is_empty()
        {
            return Err(ExchangeError::Unavailable);
        }
        Ok(answer)
    }
}
