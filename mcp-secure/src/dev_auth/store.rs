//! The development authorization server's state: registered clients, pending consents,
//! authorization codes and refresh-token families. Everything is in memory, bounded, and
//! expires; refresh tokens and codes are kept only as SHA-256 hashes.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use aws_lc_rs::{digest, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{redact::SecretString, scope::ScopeSet};

/// Most entries of each kind kept; registration and authorization beyond it are refused.
pub(super) const MAX_ENTRIES: usize = 10_000;

/// A random 256-bit value, base64url.
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG failing is not recoverable; an all-zero token would be guessable, so
    // fall back to hashing the clock and a counter only as a last resort that still differs.
    if aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .is_err()
    {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let d = digest::digest(&digest::SHA256, &nanos.to_le_bytes());
        bytes.copy_from_slice(d.as_ref());
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a secret value, for lookups without keeping the value.
pub(super) fn hash(value: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, value.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// How a client authenticates at the token endpoint (RFC 7591 `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientAuthMethod {
    /// A public client.
    None,
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// The client secret in the form body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    pub(super) const ALL: &[Self] = &[Self::None, Self::ClientSecretBasic, Self::ClientSecretPost];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.as_str() == s)
    }
}

/// An OAuth grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub(super) const ALL: &[Self] = &[
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|g| g.as_str() == s)
    }
}

/// A registered client.
#[derive(Debug, Clone)]
pub(super) struct Client {
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// `None` for public clients (`token_endpoint_auth_method: none`).
    pub secret_hash: Option<[u8; 32]>,
    pub grant_types: Vec<GrantType>,
    /// For confidential clients: the scopes `client_credentials` may grant.
    pub scopes: ScopeSet,
}

/// An authorization request waiting for the user's consent.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource: String,
    pub created: Instant,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(super) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scopes: ScopeSet,
    pub user: String,
    pub resource: String,
    pub expires: Instant,
}

/// A refresh-token family: every token from one authorization.
#[derive(Debug, Clone)]
pub(super) struct Family {
    pub client_id: String,
    pub user: String,
    /// The scopes originally granted: a refresh may narrow, never widen.
    pub scopes: ScopeSet,
    pub resource: String,
    pub revoked: bool,
    pub expires: Instant,
}

/// One refresh token (by hash).
#[derive(Debug, Clone)]
pub(super) struct Refresh {
    pub family: String,
    pub used: bool,
}

/// A used code, remembered for its lifetime to detect replays.
#[derive(Debug, Clone)]
pub(super) struct UsedCode {
    pub family: String,
    pub expires: Instant,
}

/// All state of the server.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub clients: HashMap<String, Client>,
    pub pending: HashMap<String, Pending>,
    pub codes: HashMap<[u8; 32], Code>,
    pub used_codes: HashMap<[u8; 32], UsedCode>,
    pub families: HashMap<String, Family>,
    pub refresh: HashMap<[u8; 32], Refresh>,
}

impl Store {
    /// Drops everything expired. Called before inserting.
    pub fn sweep(&mut self, consent_ttl: Duration) {
        let now = Instant::now();
        self.pending
            .retain(|_, p| now.duration_since(p.created) < consent_ttl);
        self.codes.retain(|_, c| c.expires > now);
        self.used_codes.retain(|_, c| c.expires > now);
        self.families.retain(|_, f| f.expires > now);
        let families = &self.families;
        self.refresh.retain(|_, r| families.contains_key(&r.family));
    }

    /// Revokes a family and every refresh token in it.
    pub fn revoke_family(&mut self, family: &str) {
        if let Some(f) = self.families.get_mut(family) {
            f.revoked = true;
        }
    }
}

/// Registers a confidential client's secret.
pub(super) fn secret_hash(secret: &SecretString) -> [u8; 32] {
    use crate::redact::ExposeSecret;
    hash(secret.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
