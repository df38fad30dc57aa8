//! The verified-token cache: keeps repeat calls with the same token off the signature path.
//!
//! Keyed by the SHA-256 of the token (the token itself is not kept), bounded, and an entry
//! never outlives its token: a hit re-checks `exp` against the clock.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;
use dashmap::DashMap;

use crate::principal::Principal;

/// SHA-256 of a token.
pub type TokenHash = [u8; 32];

/// Hashes a token for the cache.
pub fn token_hash(token: &str) -> TokenHash {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// Unix seconds after which the entry is dead (the token's `exp` plus leeway).
    valid_until: u64,
    /// The fingerprint of the key that verified it, if any: a hit is refused once that key
    /// is gone.
    kid: Option<std::sync::Arc<str>>,
}

/// A bounded cache of validated tokens.
pub struct TokenCache {
    map: DashMap<TokenHash, Entry>,
    capacity: usize,
    hits: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.map.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl TokenCache {
    /// A cache holding at most `capacity` tokens (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            map: DashMap::new(),
            capacity,
            hits: AtomicU64::new(0),
        }
    }

    /// The cached principal for `hash`, if the entry is alive at `now` and `key_alive` holds
    /// for the key that verified it.
    pub fn get(
        &self,
        hash: &TokenHash,
        now: u64,
        key_alive: impl FnOnce(&str) -> bool,
    ) -> Option<Principal> {
        if self.capacity == 0 {
            return None;
        }
        let (principal, expired) = {
            let entry = self.map.get(hash)?;
            let alive = now < entry.valid_until && entry.kid.as_deref().is_none_or(key_alive);
            (entry.principal.clone(), !alive)
        };
        if expired {
            self.map.remove(hash);
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(principal)
    }

    /// Caches a validated token until `valid_until` (Unix seconds).
    pub fn insert(
        &self,
        hash: TokenHash,
        principal: Principal,
        valid_until: u64,
        kid: Option<&str>,
        now: u64,
    ) {
        if self.capacity == 0 || valid_until <= now {
            return;
        }
        if self.map.len() >= self.capacity {
            self.map.retain(|_, e| e.valid_until > now);
        }
        if self.map.len() >= self.capacity {
            // Still full of live tokens: drop an arbitrary tenth rather than grow.
            let drop: Vec<TokenHash> = self
                .map
                .iter()
                .take(self.capacity / 10 + 1)
                .map(|e| *e.key())
                .collect();
            for key in drop {
                self.map.remove(&key);
            }
        }
        self.map.insert(
            hash,
            Entry {
                principal,
                valid_until,
                kid: kid.map(Into::into),
            },
        );
    }

    /// The capacity (0: caching is off).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every cached token.
    pub fn clear(&self) {
        self.map.clear();
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Hits served so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeSet;

    fn p() -> Principal {
        Principal::bearer("s").scopes(ScopeSet::new()).build()
    }

    #[test]
    fn entries_die_with_their_token() {
        let c = TokenCache::new(10);
        let h = token_hash("t");
        c.insert(h, p(), 100, None, 50);
        assert!(c.get(&h, 99, |_| true).is_some());
        assert!(c.get(&h, 100, |_| true).is_none());
        assert!(c.is_empty());
    }

    #[test]
    fn entries_die_with_their_key() {
        let c = TokenCache::new(10);
        let h = token_hash("t");
        c.insert(h, p(), 100, Some("k1"), 50);
        assert!(c.get(&h, 60, |kid| kid == "k1").is_some());
        assert!(c.get(&h, 60, |_| false).is_none());
    }

    #[test]
    fn capacity_is_a_bound() {
        let c = TokenCache::new(100);
        for i in 0..1000 {
            c.insert(token_hash(&i.to_string()), p(), 1000, None, 1);
        }
        assert!(c.len() <= 100);
    }

    #[test]
    fn different_tokens_do_not_collide() {
        let c = TokenCache::new(10);
        c.insert(token_hash("a"), p(), 100, None, 1);
        assert!(c.get(&token_hash("b"), 2, |_| true).is_none());
    }
}
