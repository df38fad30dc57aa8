//! A JWKS fetched from the authorization server, cached and refreshed.
//!
//! - every fetch has a timeout and a body cap; the URL must be `https` (or loopback `http`);
//! - keys are checked one by one ([`VerifyingKey::from_jwk_value`]): a weak, symmetric,
//!   mismatched or malformed key is skipped, the others are used;
//! - the set is refreshed when older than `refresh_every`, and refetched on an unknown `kid`,
//!   but never more than once per `cooldown` (a flood of unknown `kid`s costs one fetch);
//! - when the server is down, slow or answers garbage, the last good keys stay in use until
//!   they are `max_stale` old; after that, or when no good key was ever fetched, every token
//!   is refused (fail closed).

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    AuthFailure,
    fetch::{self, FetchError},
    keys::{KeyRejected, SharedKey, VerifyingKey},
};
use crate::audit::{self, Sanitized};

/// Longest `kid` looked up; longer ones are refused without a lookup or a fetch.
pub const MAX_KID_LEN: usize = 256;

/// JWKS fetching and caching limits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksConfig {
    /// Timeout of one fetch (default 5 s).
    pub timeout: Duration,
    /// Largest JWKS document accepted (default 256 KiB).
    pub max_body_bytes: usize,
    /// Most keys taken from one document (default 64).
    pub max_keys: usize,
    /// Refresh a set older than this (default 5 min).
    pub refresh_every: Duration,
    /// At most one fetch per this interval, whatever happens (default 30 s).
    pub cooldown: Duration,
    /// Serve the last good keys for at most this long after the last good fetch (default 1 h).
    pub max_stale: Duration,
}

impl Default for JwksConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
            max_keys: 64,
            refresh_every: Duration::from_secs(300),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
        }
    }
}

/// A set of checked keys.
#[derive(Default)]
pub struct KeySet {
    by_kid: HashMap<String, SharedKey>,
    without_kid: Vec<SharedKey>,
    /// Every key's fingerprint (what cached tokens are checked against).
    fingerprints: std::collections::HashSet<Arc<str>>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("without_kid", &self.without_kid.len())
            .finish()
    }
}

impl KeySet {
    /// Builds a set from the `keys` of a JWKS document, skipping (and reporting) unusable
    /// keys.
    pub fn from_document(
        keys: &[Value],
        allowed: &[Algorithm],
        max_keys: usize,
        source: &str,
    ) -> Self {
        let mut set = Self::default();
        for value in keys.iter().take(max_keys) {
            match VerifyingKey::from_jwk_value(value, allowed) {
                Ok(key) => {
                    let key = Arc::new(key);
                    match key.kid() {
                        Some(kid) if kid.len() <= MAX_KID_LEN => {
                            set.fingerprints.insert(key.fingerprint().clone());
                            if let Some(replaced) = set.by_kid.insert(kid.to_owned(), key) {
                                set.fingerprints.remove(replaced.fingerprint());
                            }
                        }
                        Some(_) => skipped(source, value, KeyRejected::Malformed),
                        None => {
                            set.fingerprints.insert(key.fingerprint().clone());
                            set.without_kid.push(key);
                        }
                    }
                }
                Err(reason) => skipped(source, value, reason),
            }
        }
        set
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.by_kid.len() + self.without_kid.len()
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key for a token: by `kid`, or, without one, the single key that accepts `alg`.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<SharedKey, AuthFailure> {
        let key = match kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .cloned()
                .ok_or(AuthFailure::UnknownKey)?,
            None => {
                let mut fitting = self
                    .by_kid
                    .values()
                    .chain(&self.without_kid)
                    .filter(|k| k.accepts(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => only.clone(),
                    // Without a kid, several candidate keys would mean several verifications
                    // per token: refuse rather than amplify.
                    _ => return Err(AuthFailure::UnknownKey),
                }
            }
        };
        if key.accepts(alg) {
            Ok(key)
        } else {
            Err(AuthFailure::BadAlgorithm)
        }
    }

    /// Whether a key with this fingerprint is in the set.
    pub(crate) fn contains_fingerprint(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }
}

fn skipped(source: &str, value: &Value, reason: KeyRejected) {
    let kid = value.get("kid").and_then(Value::as_str).unwrap_or("");
    tracing::warn!(
        target: audit::TARGET,
        event = "key_skipped",
        source,
        kid = %Sanitized(kid),
        reason = %reason,
        "a key in the key set was not used"
    );
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

struct State {
    keys: Arc<KeySet>,
    /// When the current keys were fetched; `None` before the first good fetch.
    fetched_at: Option<Instant>,
}

/// A JWKS URL with its cached keys.
pub struct JwksSource {
    url: Url,
    client: reqwest::Client,
    config: JwksConfig,
    allowed: Vec<Algorithm>,
    state: RwLock<State>,
    /// When the last fetch was attempted, successful or not.
    last_attempt: Mutex<Option<Instant>>,
    /// Serializes fetches: concurrent requests for an unknown `kid` share one fetch.
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSource")
            .field("url", &self.url.as_str())
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

impl JwksSource {
    /// A source for `url` accepting keys for `allowed` algorithms. Nothing is fetched until
    /// [`JwksSource::refresh`] or the first token.
    pub fn new(url: Url, allowed: Vec<Algorithm>, config: JwksConfig) -> Result<Self, FetchError> {
        fetch::check_url(&url)?;
        Ok(Self {
            client: fetch::client(config.timeout),
            url,
            config,
            allowed,
            state: RwLock::new(State {
                keys: Arc::new(KeySet::default()),
                fetched_at: None,
            }),
            last_attempt: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        })
    }

    /// Number of fetches attempted so far.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Number of usable keys held.
    pub fn key_count(&self) -> usize {
        self.read().keys.len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a cached token's key (by fingerprint) is still published (and the set not too
    /// stale).
    pub(crate) fn still_has(&self, fingerprint: &str) -> bool {
        let state = self.read();
        self.fresh_enough(&state) && state.keys.contains_fingerprint(fingerprint)
    }

    fn fresh_enough(&self, state: &State) -> bool {
        state
            .fetched_at
            .is_some_and(|at| at.elapsed() <= self.config.max_stale)
    }

    /// Whether the cooldown allows a fetch now; if so, records the attempt.
    fn claim_attempt(&self) -> bool {
        let mut last = self
            .last_attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *last {
            Some(at) if at.elapsed() < self.config.cooldown => false,
            _ => {
                *last = Some(Instant::now());
                true
            }
        }
    }

    /// Fetches the set now (ignoring the cooldown). Keeps the old keys on failure.
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        let _guard = self.fetch_lock.lock().await;
        *self
            .last_attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        self.fetch_now().await
    }

    async fn fetch_now(&self) -> Result<usize, FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result =
            fetch::get_json::<Document>(&self.client, &self.url, self.config.max_body_bytes)
                .await
                .map(|doc| {
                    KeySet::from_document(&doc.keys, &self.allowed, self.config.max_keys, "jwks")
                });
        match result {
            Ok(set) if !set.is_empty() => {
                let n = set.len();
                let mut state = self
                    .state
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.keys = Arc::new(set);
                state.fetched_at = Some(Instant::now());
                Ok(n)
            }
            Ok(_) => {
                tracing::warn!(target: audit::TARGET, event = "jwks_fetch_failed", reason = "no usable keys", "JWKS fetch kept the previous keys");
                Err(FetchError::BadBody)
            }
            Err(e) => {
                tracing::warn!(target: audit::TARGET, event = "jwks_fetch_failed", reason = %e, "JWKS fetch kept the previous keys");
                Err(e)
            }
        }
    }

    /// Fetches if the cooldown allows and nobody else just did. `seen` is the key set the
    /// caller looked at: if another task replaced it meanwhile, no fetch is needed.
    async fn refetch(&self, seen: &Arc<KeySet>) {
        let _guard = self.fetch_lock.lock().await;
        if !Arc::ptr_eq(&self.read().keys, seen) {
            return;
        }
        if self.claim_attempt() {
            let _ = self.fetch_now().await;
        }
    }

    /// Looks a key up in the current set; `KeysUnavailable` once the set is too stale.
    fn lookup(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> (Arc<KeySet>, Result<SharedKey, AuthFailure>) {
        let state = self.read();
        let result = if self.fresh_enough(&state) {
            state.keys.find(kid, alg)
        } else {
            Err(AuthFailure::KeysUnavailable)
        };
        (state.keys.clone(), result)
    }

    /// The key for a token with header `kid` and `alg`.
    pub async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<SharedKey, AuthFailure> {
        if kid.is_some_and(|k| k.len() > MAX_KID_LEN) {
            return Err(AuthFailure::UnknownKey);
        }
        let due = self
            .read()
            .fetched_at
            .is_some_and(|at| at.elapsed() >= self.config.refresh_every);
        if due
            && let Ok(_guard) = self.fetch_lock.try_lock()
            && self.claim_attempt()
        {
            // Due for a refresh: whoever gets the lock refreshes; the others keep using the
            // current keys meanwhile.
            let _ = self.fetch_now().await;
        }
        match self.lookup(kid, alg) {
            // Never loaded, past max-stale, or perhaps a rotated-in key: fetch once (at most
            // once per cooldown, shared by every waiting request), then look again.
            (seen, Err(AuthFailure::UnknownKey | AuthFailure::KeysUnavailable)) => {
                self.refetch(&seen).await;
                self.lookup(kid, alg).1
            }
            (_, result) => result,
        }
    }
}
