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
pub mod discovery;
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
    client as fetch_client, get_json as fetch_json, is_loopback_host as is_loopback,
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
    /// A JWE, a JWS JSON serialization, a `zip` or `crit` header, or `b64: false`.
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
