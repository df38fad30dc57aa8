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

/// A registered client that never obtained a token is forgotten after this long.
pub(super) const UNUSED_CLIENT_TTL: Duration = Duration::from_secs(3600);

/// How often at most expired entries are swept (each use checks expiry itself).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

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
    /// A JWT signed by the client's key (RFC 7523), for pre-configured clients.
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub(super) const ALL: &[Self] = &[
        Self::None,
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
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
    /// RFC 8693, for the clients the exchange policy names.
    TokenExchange,
}

impl GrantType {
    pub(super) const ALL: &[Self] = &[
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::TokenExchange,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
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
    /// For a dynamically registered client: when it registered and when it last obtained a
    /// token (configured clients never expire).
    pub lifetime: Option<ClientLifetime>,
}

/// When a registered client registered and last obtained a token.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientLifetime {
    pub registered: Instant,
    pub last_used: Option<Instant>,
}

impl ClientLifetime {
    pub fn new() -> Self {
        Self {
            registered: Instant::now(),
            last_used: None,
        }
    }

    /// Whether the client is of no use any more: never used within [`UNUSED_CLIENT_TTL`], or
    /// not used for longer than its refresh tokens live.
    fn expired(&self, now: Instant, refresh_ttl: Duration) -> bool {
        match self.last_used {
            None => now.saturating_duration_since(self.registered) >= UNUSED_CLIENT_TTL,
            Some(used) => now.saturating_duration_since(used) >= refresh_ttl,
        }
    }
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
    /// RFC 9449 section 10: the thumbprint of the key the tokens must be bound to.
    pub dpop_jkt: Option<String>,
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
    /// The key (`dpop_jkt`) the code's tokens must be bound to.
    pub dpop_jkt: Option<String>,
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
    /// A public client's refresh tokens are bound to the key of the DPoP proof that started
    /// the grant (RFC 9449 section 5): refreshing needs a proof by the same key.
    pub dpop_jkt: Option<String>,
}

/// One refresh token (by hash).
#[derive(Debug, Clone)]
pub(super) struct Refresh {
    pub family: String,
    pub used: bool,
}

/// A used code, remembered as long as what it issued lives, to detect replays.
#[derive(Debug, Clone)]
pub(super) struct UsedCode {
    pub family: String,
    pub expires: Instant,
}

/// All state of the server.
#[derive(Debug)]
pub(super) struct Store {
    pub clients: HashMap<String, Client>,
    pub pending: HashMap<String, Pending>,
    pub codes: HashMap<[u8; 32], Code>,
    pub used_codes: HashMap<[u8; 32], UsedCode>,
    pub families: HashMap<String, Family>,
    pub refresh: HashMap<[u8; 32], Refresh>,
    /// How long refresh tokens live (how long a used client is kept).
    refresh_ttl: Duration,
    last_sweep: Option<Instant>,
}

impl Store {
    pub fn new(refresh_ttl: Duration) -> Self {
        Self {
            clients: HashMap::new(),
            pending: HashMap::new(),
            codes: HashMap::new(),
            used_codes: HashMap::new(),
            families: HashMap::new(),
            refresh: HashMap::new(),
            refresh_ttl,
            last_sweep: None,
        }
    }

    /// Drops everything expired, at most once per [`SWEEP_INTERVAL`] (not a scan of every map
    /// on every request: each use checks expiry itself). Called before inserting.
    pub fn sweep(&mut self, consent_ttl: Duration) {
        let now = Instant::now();
        if self
            .last_sweep
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_INTERVAL)
        {
            return;
        }
        self.sweep_now(consent_ttl, now);
    }

    /// Drops everything expired now.
    pub fn sweep_now(&mut self, consent_ttl: Duration, now: Instant) {
        self.last_sweep = Some(now);
        self.pending
            .retain(|_, p| now.saturating_duration_since(p.created) < consent_ttl);
        self.codes.retain(|_, c| c.expires > now);
        self.used_codes.retain(|_, c| c.expires > now);
        self.families.retain(|_, f| f.expires > now);
        let families = &self.families;
        self.refresh.retain(|_, r| families.contains_key(&r.family));
        let refresh_ttl = self.refresh_ttl;
        self.clients
            .retain(|_, c| c.lifetime.is_none_or(|l| !l.expired(now, refresh_ttl)));
    }

    /// Makes room for one more registration: sweeps, then forgets the longest-registered
    /// client that never obtained a token. `false` when every client is in use.
    pub fn room_for_client(&mut self, consent_ttl: Duration) -> bool {
        if self.clients.len() < MAX_ENTRIES {
            return true;
        }
        self.sweep_now(consent_ttl, Instant::now());
        if self.clients.len() < MAX_ENTRIES {
            return true;
        }
        let oldest_unused = self
            .clients
            .iter()
            .filter_map(|(id, c)| {
                c.lifetime
                    .filter(|l| l.last_used.is_none())
                    .map(|l| (l.registered, id.clone()))
            })
            .min();
        match oldest_unused {
            Some((_, id)) => {
                self.clients.remove(&id);
                true
            }
            None => false,
        }
    }

    /// Notes that `client_id` obtained a token (it is in use).
    pub fn client_used(&mut self, client_id: &str) {
        if let Some(l) = self
            .clients
            .get_mut(client_id)
            .and_then(|c| c.lifetime.as_mut())
        {
            l.last_used = Some(Instant::now());
        }
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

    fn client(lifetime: Option<ClientLifetime>) -> Client {
        Client {
            name: "c".into(),
            redirect_uris: Vec::new(),
            secret_hash: None,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: ScopeSet::new(),
            lifetime,
        }
    }

    #[test]
    fn a_full_registry_forgets_its_oldest_unused_client_not_the_used_ones() {
        let ttl = Duration::from_secs(600);
        let mut store = Store::new(Duration::from_secs(3600));
        store.clients.insert("configured".into(), client(None));
        let mut used = ClientLifetime::new();
        used.last_used = Some(Instant::now());
        store.clients.insert("used".into(), client(Some(used)));
        for i in 0..MAX_ENTRIES - 3 {
            store
                .clients
                .insert(format!("unused-{i}"), client(Some(ClientLifetime::new())));
        }
        let mut oldest = ClientLifetime::new();
        oldest.registered = Instant::now()
            .checked_sub(Duration::from_secs(60))
            .unwrap_or_else(Instant::now);
        store
            .clients
            .insert("unused-oldest".into(), client(Some(oldest)));
        assert_eq!(store.clients.len(), MAX_ENTRIES);
        assert!(store.room_for_client(ttl));
        assert!(!store.clients.contains_key("unused-oldest"));
        assert!(store.clients.contains_key("used") && store.clients.contains_key("configured"));
        // Every client in use: no room, nothing forgotten.
        let mut store = Store::new(Duration::from_secs(3600));
        for i in 0..MAX_ENTRIES {
            store
                .clients
                .insert(format!("used-{i}"), client(Some(used)));
        }
        assert!(!store.room_for_client(ttl));
        assert_eq!(store.clients.len(), MAX_ENTRIES);
    }

    #[test]
    fn unused_registrations_expire_and_used_ones_outlive_them() {
        let mut store = Store::new(Duration::from_secs(7200));
        let long_ago = Instant::now().checked_sub(UNUSED_CLIENT_TTL + Duration::from_secs(1));
        let Some(long_ago) = long_ago else { return };
        let stale = ClientLifetime {
            registered: long_ago,
            last_used: None,
        };
        let used = ClientLifetime {
            registered: long_ago,
            last_used: Some(long_ago),
        };
        store.clients.insert("stale".into(), client(Some(stale)));
        store.clients.insert("used".into(), client(Some(used)));
        store.clients.insert("configured".into(), client(None));
        store.sweep_now(Duration::from_secs(600), Instant::now());
        assert!(!store.clients.contains_key("stale"));
        assert!(store.clients.contains_key("used"));
        assert!(store.clients.contains_key("configured"));
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
