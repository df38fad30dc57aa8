//! Bearer-token validation for the OAuth 2.1 resource server.
//!
//! A [`TokenValidator`] turns a bearer token into a [`Principal`] or an [`AuthFailure`]: a
//! fixed reason kind (`expired`, `bad_audience`, `bad_signature`, …) that is safe to log and
//! never carries token bytes or library error text.
//!
//! - [`JwtValidator`]: JWT access tokens (RFC 9068) verified with keys from a JWKS URL
//!   ([`JwksSource`]) or from static keys, with fail-closed defaults (see [`JwtConfig`]);
//! - [`IntrospectionValidator`]: opaque tokens through RFC 7662 introspection;
//! - [`EitherValidator`]: JWTs to the first, anything else to the second.
//!
//! Verified tokens are cached by the SHA-256 of the token until they expire ([`TokenCache`]).

mod cache;
pub mod claims;
pub mod discovery;
pub mod dpop;
mod fetch;
pub mod introspection;
pub mod jwks;
pub mod jwt;
pub mod keys;

use std::fmt;

use futures::future::BoxFuture;

pub use cache::TokenCache;
pub use discovery::{AuthorizationServerMetadata, DiscoveryError};
pub use fetch::FetchError;
pub(crate) use fetch::{
    check_url as fetchable, client as fetch_client, get_json as fetch_json,
    is_loopback_host as is_loopback, post_form_json as fetch_form,
};
pub use introspection::{IntrospectionConfig, IntrospectionValidator};
pub use jsonwebtoken::{Algorithm, Header};
pub use jwks::{JwksConfig, JwksSource, KeySet};
pub use jwt::{JwtConfig, JwtValidator, KeySource, TypPolicy};
pub use keys::{KeyRejected, SigningKey, VerifyingKey};

use crate::principal::Principal;

/// Why a bearer token was refused. Each variant is a fixed, lower-case kind for logs and
/// metrics; none carries any part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    #[error("missing_token")]
    MissingToken,
    /// Not a well-formed token (segments, base64url, JSON, UTF-8).
    #[error("malformed")]
    Malformed,
    /// Longer than the cap (8 KiB by default); refused before decoding.
    #[error("too_large")]
    TooLarge,
    /// A JWE, a JWS JSON serialization, a `zip` or `crit` header, or `b64: false`; or a
    /// token bound by a confirmation method this server cannot check (`cnf` other than
    /// DPoP's `jkt`, e.g. mutual TLS's `x5t#S256`).
    #[error("unsupported_token")]
    Unsupported,
    /// `alg` missing from the allow-list, `none`, or HMAC.
    #[error("bad_algorithm")]
    BadAlgorithm,
    /// `typ` is not `at+jwt` where it is required.
    #[error("bad_type")]
    BadType,
    /// No configured key has this `kid` (after at most one refetch per cooldown).
    #[error("unknown_key")]
    UnknownKey,
    /// No keys are available (JWKS unreachable beyond its max-stale age, or empty).
    #[error("keys_unavailable")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("bad_signature")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("not_yet_valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("issued_in_future")]
    IssuedInFuture,
    /// `exp − iat` exceeds the maximum lifetime.
    #[error("lifetime_too_long")]
    LifetimeTooLong,
    /// `iss` is not the configured issuer.
    #[error("bad_issuer")]
    BadIssuer,
    /// `aud` does not name this resource.
    #[error("bad_audience")]
    BadAudience,
    /// A required claim is missing or has the wrong type, or a claim appears twice.
    #[error("bad_claims")]
    BadClaims,
    /// The `scope`/`scp` claim is not a valid RFC 6749 scope list.
    #[error("bad_scope")]
    BadScope,
    /// Introspection says the token is not active.
    #[error("inactive")]
    Inactive,
    /// The introspection endpoint could not be used.
    #[error("introspection_failed")]
    IntrospectionFailed,
}

impl AuthFailure {
    /// The fixed kind, e.g. `"bad_audience"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::Unsupported => "unsupported_token",
            Self::BadAlgorithm => "bad_algorithm",
            Self::BadType => "bad_type",
            Self::UnknownKey => "unknown_key",
            Self::KeysUnavailable => "keys_unavailable",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::BadIssuer => "bad_issuer",
            Self::BadAudience => "bad_audience",
            Self::BadClaims => "bad_claims",
            Self::BadScope => "bad_scope",
            Self::Inactive => "inactive",
            Self::IntrospectionFailed => "introspection_failed",
        }
    }

    /// What to change, for the refusals a configuration (rather than an attack) usually
    /// causes; logged with the refusal.
    pub fn fix(self) -> Option<&'static str> {
        Some(match self {
            Self::LifetimeTooLong => {
                "the token lives longer than OAUTH_TOKEN_TTL_SECONDS allows: shorten the access \
                 token lifetime at the authorization server, or raise OAUTH_TOKEN_TTL_SECONDS \
                 (at most 86400; above 3600 a warning)"
            }
            Self::BadAudience => {
                "the token's audience is not this server: request it with resource=<this \
                 server's URL>, or list the provider's audience value in OAUTH_AUDIENCE"
            }
            Self::BadType => {
                "the token's typ is not at+jwt: use an RFC 9068 token profile at the \
                 authorization server, or set OAUTH_PROVIDER (or OAUTH_ALLOW_JWT_TYP=true)"
            }
            Self::BadIssuer => {
                "the token's issuer is not trusted: check OAUTH_ISSUER (and OAUTH_TENANTS)"
            }
            _ => return None,
        })
    }

    /// A short description for the `error_description` of a 401.
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingToken => "A bearer token is required",
            Self::Expired => "The access token expired",
            Self::BadAudience => "The access token was not issued for this resource",
            Self::KeysUnavailable | Self::IntrospectionFailed => {
                "The access token could not be verified right now"
            }
            _ => "The access token is invalid",
        }
    }
}

/// Validates bearer tokens.
pub trait TokenValidator: Send + Sync + fmt::Debug + 'static {
    /// Validates `token` (the credential after `Bearer `).
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>>;

    /// The principal of `token` if it was already verified and is still valid, without any
    /// signature check or network call (the verified-token cache). The failure throttle
    /// serves these while it refuses new verifications from an address. Default: none.
    fn cached(&self, token: &str) -> Option<Principal> {
        let _ = token;
        None
    }
}

impl TokenValidator for std::sync::Arc<dyn TokenValidator> {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>> {
        (**self).validate(token)
    }

    fn cached(&self, token: &str) -> Option<Principal> {
        (**self).cached(token)
    }
}

/// JWTs (three dot-separated segments) go to `jwt`, anything else to `opaque`.
#[derive(Debug)]
pub struct EitherValidator<J, O> {
    jwt: J,
    opaque: O,
}

impl<J, O> EitherValidator<J, O> {
    /// Routes by token shape.
    pub fn new(jwt: J, opaque: O) -> Self {
        Self { jwt, opaque }
    }
}

impl<J: TokenValidator, O: TokenValidator> TokenValidator for EitherValidator<J, O> {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>> {
        if token.bytes().filter(|&b| b == b'.').count() == 2 {
            self.jwt.validate(token)
        } else {
            self.opaque.validate(token)
        }
    }

    fn cached(&self, token: &str) -> Option<Principal> {
        if token.bytes().filter(|&b| b == b'.').count() == 2 {
            self.jwt.cached(token)
        } else {
            self.opaque.cached(token)
        }
    }
}

/// Several trusted issuers, each with its own validator (its keys, its checks): a JWT goes
/// to the validator of the issuer it names. The `iss` is read from the payload before any
/// signature is checked only to choose the validator, which then verifies the signature with
/// that issuer's keys and checks `iss` again.
#[derive(Debug)]
pub struct IssuerRouter {
    by_issuer: Vec<(String, std::sync::Arc<dyn TokenValidator>)>,
}

impl IssuerRouter {
    /// Routes to `validators` by issuer.
    pub fn new(
        validators: impl IntoIterator<Item = (String, std::sync::Arc<dyn TokenValidator>)>,
    ) -> Self {
        Self {
            by_issuer: validators.into_iter().collect(),
        }
    }
}

/// The `iss` of a compact JWS, unverified: only to choose whose keys verify it.
fn peek_issuer(token: &str) -> Result<String, AuthFailure> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token.split('.').nth(1).ok_or(AuthFailure::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthFailure::Malformed)?;
    let iss: Iss = serde_json::from_slice(&json).map_err(|_| AuthFailure::BadClaims)?;
    Ok(iss.iss)
}

impl TokenValidator for IssuerRouter {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>> {
        Box::pin(async move {
            if token.len() > jwt::MAX_TOKEN_BYTES {
                return Err(AuthFailure::TooLarge);
            }
            let issuer = peek_issuer(token)?;
            let validator = self
                .by_issuer
                .iter()
                .find(|(i, _)| *i == issuer)
                .map(|(_, v)| v)
                .ok_or(AuthFailure::BadIssuer)?;
            validator.validate(token).await
        })
    }

    fn cached(&self, token: &str) -> Option<Principal> {
        let issuer = peek_issuer(token).ok()?;
        let (_, validator) = self.by_issuer.iter().find(|(i, _)| *i == issuer)?;
        validator.cached(token)
    }
}

/// Makes `jsonwebtoken` use aws-lc-rs, whatever crypto features the dependency graph
/// enables (with two backends enabled and none installed it would panic on first use).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
