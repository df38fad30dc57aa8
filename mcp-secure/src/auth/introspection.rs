//! Opaque access tokens through OAuth 2.0 Token Introspection (RFC 7662).
//!
//! The resource server authenticates to the introspection endpoint with its client
//! credentials (the secret stays a `SecretString`), and accepts a token only when the answer
//! says `active: true`, names this resource in `aud`, the configured issuer in `iss` (when
//! configured), and carries a valid scope list. Answers are cached by token hash until the
//! token's `exp` or for at most `cache_ttl`, whichever is sooner.

use std::{fmt, time::Duration};

use dashmap::DashMap;
use futures::future::BoxFuture;
use serde::Deserialize;
use url::Url;

use super::{
    AuthFailure, TokenValidator,
    cache::{TokenCache, TokenHash, token_hash},
    fetch::{self, FetchError},
    jwt::Audience,
    now_unix,
};
use crate::{
    principal::{Principal, RateKeyBy},
    redact::{ExposeSecret, SecretString},
    scope::ScopeSet,
};

/// Settings for [`IntrospectionValidator`].
#[derive(Clone)]
#[non_exhaustive]
pub struct IntrospectionConfig {
    /// The introspection endpoint.
    pub endpoint: Url,
    /// This resource server's client id at the authorization server.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: SecretString,
    /// This resource (required in `aud`).
    pub audience: String,
    /// The issuer (required in `iss` when set).
    pub issuer: Option<String>,
    /// Request timeout (default 5 s).
    pub timeout: Duration,
    /// Longest a positive answer is reused (default 60 s).
    pub cache_ttl: Duration,
    /// Cache size (default 10 000).
    pub cache_capacity: usize,
    /// What rate limits count against.
    pub rate_key_by: RateKeyBy,
}

impl fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl IntrospectionConfig {
    /// Introspect at `endpoint` as `client_id`/`client_secret`, for `audience`.
    pub fn new(
        endpoint: Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            endpoint,
            client_id: client_id.into(),
            client_secret,
            audience: audience.into(),
            issuer: None,
            timeout: Duration::from_secs(5),
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 10_000,
            rate_key_by: RateKeyBy::Subject,
        }
    }

    /// Requires `iss` to equal `issuer`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
}

#[derive(Deserialize)]
struct Answer {
    active: bool,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    aud: Option<Audience>,
    /// RFC 9449 section 6.2: the key a DPoP-bound token is bound to.
    #[serde(default)]
    cnf: Option<serde_json::Value>,
    #[serde(default)]
    iss: Option<String>,
}

/// Validates opaque tokens by introspection.
pub struct IntrospectionValidator {
    config: IntrospectionConfig,
    client: reqwest::Client,
    cache: TokenCache,
    /// Refusals the authorization server gave, reused for [`REFUSAL_TTL_SECS`] so that
    /// replaying a bad token (from however many addresses) does not become a POST each time.
    refused: DashMap<TokenHash, (AuthFailure, u64), super::cache::TagHashing>,
}

/// How long a refusal by the authorization server is reused.
const REFUSAL_TTL_SECS: u64 = 10;

impl fmt::Debug for IntrospectionValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionValidator")
            .field("config", &self.config)
            .field("cache", &self.cache)
            .finish()
    }
}

impl IntrospectionValidator {
    /// A validator; the endpoint must be `https` (or loopback `http`).
    pub fn new(config: IntrospectionConfig) -> Result<Self, FetchError> {
        fetch::check_url(&config.endpoint)?;
        Ok(Self {
            client: fetch::client(config.timeout),
            cache: TokenCache::new(config.cache_capacity),
            refused: DashMap::default(),
            config,
        })
    }

    async fn introspect(&self, token: &str) -> Result<(Principal, u64), AuthFailure> {
        let answer: Answer = fetch::post_form_json(
            &self.client,
            &self.config.endpoint,
            Some((&self.config.client_id, self.config.client_secret.expose_secret())),
            &[("token", token), ("token_type_hint", "access_token")],
            64 * 1024,
        )
        .await
        .map_err(|e| {
            tracing::warn!(target: crate::audit::TARGET, event = "introspection_failed", reason = %e, "token introspection failed");
            AuthFailure::IntrospectionFailed
        })?;
        self.check_answer(answer)
    }

    /// What an introspection response body says, checked as [`TokenValidator::validate`]
    /// checks it: for fuzzing and tests of the response parser.
    #[doc(hidden)]
    pub fn principal_from_response(&self, body: &[u8]) -> Result<Principal, AuthFailure> {
        let answer: Answer =
            serde_json::from_slice(body).map_err(|_| AuthFailure::IntrospectionFailed)?;
        self.check_answer(answer).map(|(p, _)| p)
    }

    /// Checks an answer: active, in time, for this audience and issuer, with a valid scope.
    fn check_answer(&self, answer: Answer) -> Result<(Principal, u64), AuthFailure> {
        if !answer.active {
            return Err(AuthFailure::Inactive);
        }
        let now = now_unix();
        if answer.exp.is_some_and(|exp| exp <= now) {
            return Err(AuthFailure::Expired);
        }
        // An expiry no clock can reach (`u64::MAX`, or years ahead) is not a token any
        // authorization server issues: refuse it rather than compute with it.
        if answer
            .exp
            .is_some_and(|exp| exp.saturating_sub(now) > MAX_EXP_AHEAD_SECS)
        {
            return Err(AuthFailure::BadClaims);
        }
        if answer.nbf.is_some_and(|nbf| nbf > now) {
            return Err(AuthFailure::NotYetValid);
        }
        if !answer
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains(&self.config.audience))
        {
            return Err(AuthFailure::BadAudience);
        }
        if let Some(expected) = &self.config.issuer
            && answer.iss.as_deref() != Some(expected.as_str())
        {
            return Err(AuthFailure::BadIssuer);
        }
        let scopes = match &answer.scope {
            Some(list) => ScopeSet::parse(list).map_err(|_| AuthFailure::BadScope)?,
            None => ScopeSet::new(),
        };
        let subject = answer
            .sub
            .or_else(|| answer.client_id.clone())
            .ok_or(AuthFailure::BadClaims)?;
        let ttl_end = now.saturating_add(self.config.cache_ttl.as_secs());
        let valid_until = answer.exp.map_or(ttl_end, |exp| exp.min(ttl_end));
        let mut builder = Principal::bearer(subject)
            .scopes(scopes)
            .rate_key_by(self.config.rate_key_by);
        if let Some(iss) = answer.iss {
            builder = builder.issuer(iss);
        }
        if let Some(exp) = answer.exp {
            builder = builder.expires_at_unix(exp);
        }
        if let Some(client) = answer.client_id {
            builder = builder.client_id(client);
        }
        super::dpop::confirmation_of(answer.cnf.as_ref())?;
        if let Some(cnf) = answer.cnf {
            let mut claims = serde_json::Map::new();
            claims.insert("cnf".into(), cnf);
            builder = builder.claims(claims);
        }
        Ok((builder.build(), valid_until))
    }
}

impl IntrospectionValidator {
    /// Caches a refusal the authorization server gave (not a failure to reach it, and not
    /// `nbf`, which time cures), bounded by the cache capacity.
    fn remember_refusal(&self, hash: TokenHash, failure: AuthFailure, now: u64) {
        if matches!(
            failure,
            AuthFailure::IntrospectionFailed | AuthFailure::NotYetValid
        ) {
            return;
        }
        if self.refused.len() >= self.config.cache_capacity {
            self.refused.retain(|_, (_, until)| *until > now);
            if self.refused.len() >= self.config.cache_capacity {
                return;
            }
        }
        self.refused
            .insert(hash, (failure, now.saturating_add(REFUSAL_TTL_SECS)));
    }

    /// Refusals remembered now (bounded by the cache capacity).
    #[doc(hidden)]
    pub fn refusals_cached(&self) -> usize {
        self.refused.len()
    }
}

/// The furthest ahead an introspected `exp` may be (about ten years).
const MAX_EXP_AHEAD_SECS: u64 = 10 * 366 * 24 * 3600;

impl TokenValidator for IntrospectionValidator {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>> {
        Box::pin(async move {
            if token.len() > super::jwt::MAX_TOKEN_BYTES {
                return Err(AuthFailure::TooLarge);
            }
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(AuthFailure::Malformed);
            }
            let hash = token_hash(token);
            let now = now_unix();
            if let Some(p) = self.cache.get(&hash, now, |_| true) {
                return Ok(p);
            }
            if let Some(failure) = self
                .refused
                .get(&hash)
                .and_then(|e| (e.1 > now).then_some(e.0))
            {
                return Err(failure);
            }
            let (principal, valid_until) = match self.introspect(token).await {
                Ok(answer) => answer,
                Err(failure) => {
                    self.remember_refusal(hash, failure, now);
                    return Err(failure);
                }
            };
            self.cache
                .insert(hash, principal.clone(), valid_until, None, now);
            Ok(principal)
        })
    }

    fn cached(&self, token: &str) -> Option<Principal> {
        if token.len() > super::jwt::MAX_TOKEN_BYTES {
            return None;
        }
        self.cache.get(&token_hash(token), now_unix(), |_| true)
    }
}
