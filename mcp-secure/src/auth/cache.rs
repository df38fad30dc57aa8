//! The verified-token cache: keeps repeat calls with the same token off the signature path.
//!
//! Keyed by a 128-bit MAC of the token under a random per-process key (the token itself is
//! not kept), bounded, and an entry never outlives its token: a hit re-checks `exp` against
//! the clock.
//!
//! The MAC is GMAC (AES-128-GCM over the token as associated data, nothing encrypted), with
//! aws-lc-rs: about four times faster than SHA-256 of a typical token on a CPU with AES and
//! carry-less multiply instructions. A hit for a token that was not verified needs a token
//! with the same tag as a cached one; the key is random, never leaves the process and no tag
//! is ever shown, so that is a blind guess at a 128-bit value (GHASH's collision bound:
//! at most ⌈len/16⌉ / 2^128 per try). The nonce is fixed, which is safe here because nothing
//! is encrypted: the only output is the tag, and it stays in this map. Should the key not
//! be made (no randomness), the first 16 bytes of SHA-256 serve instead, unkeyed but as
//! hard to collide.

use std::{
    hash::{BuildHasherDefault, Hasher},
    sync::{
        OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use aws_lc_rs::{aead, digest};
use dashmap::DashMap;

use crate::principal::Principal;

/// A token's 128-bit tag.
pub type TokenHash = [u8; 16];

/// The process's tag key, made on first use; `None` without randomness.
fn tag_key() -> Option<&'static aead::LessSafeKey> {
    static KEY: OnceLock<Option<aead::LessSafeKey>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 16];
        aws_lc_rs::rand::fill(&mut key).ok()?;
        let key = aead::UnboundKey::new(&aead::AES_128_GCM, &key).ok()?;
        Some(aead::LessSafeKey::new(key))
    })
    .as_ref()
}

/// The cache's tag of a token (see the module documentation).
pub fn token_hash(token: &str) -> TokenHash {
    let mut out = [0u8; 16];
    let tag = tag_key().and_then(|key| {
        key.seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key([0u8; aead::NONCE_LEN]),
            aead::Aad::from(token.as_bytes()),
            &mut [],
        )
        .ok()
    });
    match tag {
        Some(tag) => out.copy_from_slice(tag.as_ref()),
        None => {
            let d = digest::digest(&digest::SHA256, token.as_bytes());
            out.copy_from_slice(&d.as_ref()[..16]);
        }
    }
    out
}

/// Hashes a [`TokenHash`] for the map: its first eight bytes, which are already uniformly
/// distributed and unknown outside the process (no second keyed hash needed).
#[derive(Default)]
pub struct TagHasher(u64);

impl Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }
}

/// The map's hasher for tags.
pub type TagHashing = BuildHasherDefault<TagHasher>;

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
    map: DashMap<TokenHash, Entry, TagHashing>,
    capacity: usize,
    hits: HitCounter,
}

/// How many stripes the hit count is spread over.
const STRIPES: usize = 8;

/// The hit count, one counter per stripe on its own cache line, each thread adding to one:
/// a single counter would be written by every worker on every hit, its cache line moving
/// between the cores each time.
#[derive(Default)]
struct HitCounter([Stripe; STRIPES]);

#[derive(Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

impl HitCounter {
    fn add(&self) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
        }
        let stripe = STRIPE.with(|s| *s);
        self.0[stripe].0.fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
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
            map: DashMap::default(),
            capacity,
            hits: HitCounter::default(),
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
        self.hits.add();
        Some(principal)
    }

    /// Caches a validated token until `valid_until` (Unix seconds).
    pub fn insert(
        &self,
        hash: TokenHash,
        principal: Principal,
        valid_until: u64,
        kid: Option<std::sync::Arc<str>>,
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
                kid,
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
        self.hits.total()
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
        c.insert(h, p(), 100, Some("k1".into()), 50);
        assert!(c.get(&h, 60, |kid| kid == "k1").is_some());
        assert!(c.get(&h, 60, |_| false).is_none());
    }

    #[test]
    fn hits_from_every_thread_are_counted_and_misses_are_not() {
        let c = TokenCache::new(10);
        let h = token_hash("t");
        c.insert(h, p(), 100, None, 50);
        std::thread::scope(|scope| {
            for _ in 0..STRIPES + 3 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        assert!(c.get(&h, 60, |_| true).is_some());
                        assert!(c.get(&token_hash("other"), 60, |_| true).is_none());
                    }
                });
            }
        });
        assert_eq!(c.hits(), 100 * (STRIPES as u64 + 3));
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
