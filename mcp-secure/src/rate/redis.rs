//! The shared limiter: GCRA in one Lua script on Redis, so every replica of a server draws
//! on one budget per caller.
//!
//! One decision is one `EVALSHA` round trip. The script reads the clock from Redis (`TIME`),
//! so replicas with skewed clocks still agree; it updates a key only when the call is
//! admitted, and every key it writes expires once its budget is full again, so idle callers
//! cost nothing. A tool's budget and the caller's global budget are decided together: the
//! call is admitted, and both are charged, only if both admit it.

use std::{
    fmt,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use super::{
    FailurePolicy, MemoryRateLimiter, RateCheck, RateDecision, RateKey, RateLimitError, RateLimiter,
};
use crate::{audit, policy::RateSpec};

/// GCRA over every key in `KEYS`, all or nothing.
///
/// `ARGV[2i-1]` is key i's emission interval and `ARGV[2i]` its tolerance
/// (`interval × (burst − 1)`), both in microseconds. Returns `0` when admitted (every key
/// charged) or the microseconds until the call would be admitted (no key charged; at least
/// 1). Times are microseconds since the epoch from the server's clock: about 2^51, exact in
/// Lua's doubles, and written as integers by Redis's own number conversion (every version
/// since 5 writes a double's 17 significant digits). Needs Redis 5 or later, where a script
/// that reads `TIME` may write (scripts replicate by their effects). Public for the benchmark
/// that compares a decision with a bare call of the same script.
///
/// Each `redis.call` costs about a microsecond inside Redis, so the script makes only the
/// three it needs per key and returns a number, not a table (measured with `INFO
/// commandstats`: 10.8 µs per call before against ≈9 µs; a no-op script is ≈2 µs).
#[doc(hidden)]
pub const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local wait = 0
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local earliest = tat - tonumber(ARGV[2 * i])
  if earliest - now > wait then wait = earliest - now end
  tats[i] = tat + tonumber(ARGV[2 * i - 1])
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return 0
";

/// Builds a [`RedisRateLimiter`].
#[must_use]
pub struct RedisRateLimiterBuilder {
    url: SecretString,
    timeout: Duration,
    failure: FailurePolicy,
    pool_size: usize,
    prefix: String,
    fallback_max_keys: usize,
    retry_every: Duration,
}

impl fmt::Debug for RedisRateLimiterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiterBuilder")
            .field("url", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("failure", &self.failure)
            .field("pool_size", &self.pool_size)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiterBuilder {
    /// The longest a decision waits for Redis before the failure policy decides (default
    /// 50 ms). Connecting counts against it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// What happens when Redis cannot answer in time (default: refuse).
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure = policy;
        self
    }

    /// Multiplexed connections decisions are spread over, round robin (default 2). Each
    /// carries any number of concurrent decisions.
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections.clamp(1, 64);
        self
    }

    /// The first segment of every key (default `mcp-secure`). Keys are
    /// `<prefix>:rl:{<server>:<caller hash>}:<tool>`; the braces keep one caller's keys in one
    /// Redis Cluster slot, so the script can update them together.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = sanitize(&prefix.into());
        self
    }

    /// Callers tracked per tool by the in-process fallback (fail-open only).
    pub fn fallback_max_keys(mut self, max_keys: usize) -> Self {
        self.fallback_max_keys = max_keys.max(1);
        self
    }

    /// While Redis is down, how often one decision probes it again (default 1 s); the others
    /// go straight to the failure policy instead of each waiting out the timeout.
    pub fn retry_every(mut self, every: Duration) -> Self {
        self.retry_every = every.max(Duration::from_millis(10));
        self
    }

    /// Builds the limiter. It connects on its first decision (inside the Tokio runtime), not
    /// here; a URL that does not parse makes every decision fail with the failure policy
    /// (check it first with [`RedisRateLimiter::check_url`]).
    pub fn build(self) -> Arc<RedisRateLimiter> {
        // `rediss://` needs a TLS provider; an application's own choice wins.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = redis::Client::open(self.url.expose_secret()).map_err(|_| "invalid REDIS_URL");
        let fallback = (self.failure == FailurePolicy::Open)
            .then(|| MemoryRateLimiter::with_max_keys(self.fallback_max_keys));
        Arc::new(RedisRateLimiter {
            client,
            pool: OnceLock::new(),
            next: AtomicUsize::new(0),
            script: redis::Script::new(GCRA),
            timeout: self.timeout,
            failure: self.failure,
            pool_size: self.pool_size,
            prefix: self.prefix,
            fallback,
            health: Health::new(self.retry_every),
        })
    }
}

/// Whether Redis is answering, and when to try it again if not.
#[derive(Debug)]
struct Health {
    base: Instant,
    retry_every: Duration,
    degraded: AtomicBool,
    /// Milliseconds after `base` before which decisions skip Redis.
    retry_at_ms: AtomicU64,
    /// When the current outage began (milliseconds after `base`).
    down_since_ms: AtomicU64,
    /// Decisions the failure policy made during the current outage.
    by_policy: AtomicU64,
}

impl Health {
    fn new(retry_every: Duration) -> Self {
        Self {
            base: Instant::now(),
            retry_every,
            degraded: AtomicBool::new(false),
            retry_at_ms: AtomicU64::new(0),
            down_since_ms: AtomicU64::new(0),
            by_policy: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn every_ms(&self) -> u64 {
        u64::try_from(self.retry_every.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this decision should ask Redis: always when healthy; during an outage, one
    /// decision per `retry_every`.
    fn should_try(&self) -> bool {
        if !self.degraded.load(Ordering::Acquire) {
            return true;
        }
        let now = self.now_ms();
        let at = self.retry_at_ms.load(Ordering::Acquire);
        now >= at
            && self
                .retry_at_ms
                .compare_exchange(
                    at,
                    now.saturating_add(self.every_ms()),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn failed(&self, kind: &'static str, policy: FailurePolicy) {
        let now = self.now_ms();
        self.retry_at_ms
            .store(now.saturating_add(self.every_ms()), Ordering::Release);
        if !self.degraded.swap(true, Ordering::AcqRel) {
            self.down_since_ms.store(now, Ordering::Relaxed);
            self.by_policy.store(0, Ordering::Relaxed);
            tracing::warn!(
                target: audit::TARGET,
                event = "rate_store_unavailable",
                kind,
                failure_policy = policy_name(policy),
                "the Redis rate-limit store is unavailable; decisions follow the failure policy until it answers"
            );
        }
    }

    fn succeeded(&self) {
        if self.degraded.load(Ordering::Acquire) && self.degraded.swap(false, Ordering::AcqRel) {
            let down_ms = self
                .now_ms()
                .saturating_sub(self.down_since_ms.load(Ordering::Relaxed));
            tracing::info!(
                target: audit::TARGET,
                event = "rate_store_recovered",
                outage_ms = down_ms,
                decided_by_policy = self.by_policy.load(Ordering::Relaxed),
                "the Redis rate-limit store answers again"
            );
        }
    }
}

fn policy_name(policy: FailurePolicy) -> &'static str {
    match policy {
        FailurePolicy::Closed => "closed",
        FailurePolicy::Open => "open",
    }
}

/// GCRA on Redis: one budget per caller and tool shared by every replica (see the module
/// docs). Cheap to share: build one and hand it to each [`crate::Security`].
///
/// When Redis does not answer within the timeout, the [`FailurePolicy`] decides and an
/// audit event (`rate_store_unavailable`) says so once per outage; while it is down one
/// decision per `retry_every` probes it, and the first success logs `rate_store_recovered`.
pub struct RedisRateLimiter {
    client: Result<redis::Client, &'static str>,
    pool: OnceLock<Vec<ConnectionManager>>,
    next: AtomicUsize,
    script: redis::Script,
    timeout: Duration,
    failure: FailurePolicy,
    pool_size: usize,
    prefix: String,
    fallback: Option<MemoryRateLimiter>,
    health: Health,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("timeout", &self.timeout)
            .field("failure", &self.failure)
            .field("pool_size", &self.pool_size)
            .field("prefix", &self.prefix)
            .field("degraded", &self.health.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A builder for a limiter on the Redis at `url` (`redis://[:password@]host[:port][/db]`,
    /// `rediss://` for TLS, `redis+unix:///path`). The URL is a secret: it is never logged.
    pub fn builder(url: SecretString) -> RedisRateLimiterBuilder {
        RedisRateLimiterBuilder {
            url,
            timeout: Duration::from_millis(50),
            failure: FailurePolicy::Closed,
            pool_size: 2,
            prefix: "mcp-secure".into(),
            fallback_max_keys: super::DEFAULT_MAX_KEYS,
            retry_every: Duration::from_secs(1),
        }
    }

    /// Whether `url` is a Redis URL this limiter can use. The error is a fixed description
    /// (it never repeats the URL, which may hold a password).
    pub fn check_url(url: &SecretString) -> Result<(), &'static str> {
        redis::Client::open(url.expose_secret())
            .map(drop)
            .map_err(|_| "not a Redis URL (redis://, rediss:// or redis+unix://)")
    }

    /// The Redis key of `key`'s budget. The caller's rate key is hashed (SHA-256, 128 bits
    /// kept): subjects can be e-mail addresses, and a hash keeps them out of Redis, fixes the
    /// key length and keeps `{}` out of the hash tag.
    pub fn redis_key(&self, key: RateKey<'_>) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.caller.as_bytes());
        let mut name = String::with_capacity(
            self.prefix.len() + key.server.len() + key.tool.len() + 4 + 2 + 1 + 32 + 2,
        );
        name.push_str(&self.prefix);
        name.push_str(":rl:{");
        push_sanitized(&mut name, key.server);
        name.push(':');
        for byte in &digest.as_ref()[..16] {
            name.push(char::from(HEX[usize::from(byte >> 4)]));
            name.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        name.push_str("}:");
        push_sanitized(&mut name, key.tool);
        name
    }

    /// One round trip to Redis (`PING`), within the timeout: for readiness checks.
    pub async fn ping(&self) -> Result<Duration, RateLimitError> {
        let started = Instant::now();
        let mut conn = self.connection()?;
        let ping = async { redis::cmd("PING").query_async::<String>(&mut conn).await };
        match tokio::time::timeout(self.timeout, ping).await {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(RateLimitError { kind: classify(&e) }),
            Err(_) => Err(RateLimitError { kind: "timed out" }),
        }
    }

    /// Records `key` for `ttl` with `SET key 1 NX PX ttl` (under this limiter's prefix):
    /// `Ok(true)` the first time, `Ok(false)` while it is remembered. Every replica sharing
    /// the Redis sees the same answer (DPoP `jti` replay, one-time values).
    pub async fn set_once(&self, key: &[u8], ttl: Duration) -> Result<bool, RateLimitError> {
        use base64::Engine;
        let mut conn = self.connection()?;
        let name = format!(
            "{}once:{}",
            self.prefix,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
        );
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let set = async {
            redis::cmd("SET")
                .arg(&name)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis)
                .query_async::<Option<String>>(&mut conn)
                .await
        };
        match tokio::time::timeout(self.timeout, set).await {
            Ok(Ok(reply)) => Ok(reply.is_some()),
            Ok(Err(e)) => Err(RateLimitError { kind: classify(&e) }),
            Err(_) => Err(RateLimitError { kind: "timed out" }),
        }
    }

    /// Whether the last decision found Redis unavailable.
    pub fn is_degraded(&self) -> bool {
        self.health.degraded.load(Ordering::Acquire)
    }

    fn connection(&self) -> Result<ConnectionManager, RateLimitError> {
        let client = self
            .client
            .as_ref()
            .map_err(|kind| RateLimitError { kind })?;
        let pool = self.pool.get_or_init(|| {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout.max(Duration::from_millis(250))))
                .set_response_timeout(Some(self.timeout.max(Duration::from_millis(250))))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(50))
                .set_max_delay(Duration::from_secs(1));
            (0..self.pool_size)
                .filter_map(|_| {
                    ConnectionManager::new_lazy_with_config(client.clone(), config.clone()).ok()
                })
                .collect()
        });
        if pool.is_empty() {
            return Err(RateLimitError {
                kind: "cannot create a Redis connection",
            });
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % pool.len();
        Ok(pool[i].clone())
    }

    async fn decide_remotely(
        &self,
        checks: &[RateCheck<'_>],
    ) -> Result<RateDecision, RateLimitError> {
        let mut conn = self.connection()?;
        let mut invocation = self.script.prepare_invoke();
        for check in checks {
            let (interval, tolerance) = gcra_params(check.spec);
            invocation
                .key(self.redis_key(check.key))
                .arg(interval)
                .arg(tolerance);
        }
        let reply =
            tokio::time::timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn)).await;
        match reply {
            Ok(Ok(0)) => Ok(RateDecision::Allowed),
            Ok(Ok(wait)) => match u64::try_from(wait) {
                Ok(wait) => Ok(RateDecision::Limited {
                    retry_after: Duration::from_micros(wait.max(1)),
                }),
                Err(_) => Err(RateLimitError {
                    kind: "unexpected reply from Redis",
                }),
            },
            Ok(Err(e)) => Err(RateLimitError { kind: classify(&e) }),
            Err(_) => Err(RateLimitError { kind: "timed out" }),
        }
    }

    async fn decide(&self, checks: &[RateCheck<'_>]) -> Result<RateDecision, RateLimitError> {
        let failure = if self.health.should_try() {
            match self.decide_remotely(checks).await {
                Ok(decision) => {
                    self.health.succeeded();
                    return Ok(decision);
                }
                Err(e) => {
                    self.health.failed(e.kind, self.failure);
                    e
                }
            }
        } else {
            RateLimitError {
                kind: "Redis unavailable (waiting to retry)",
            }
        };
        self.health.by_policy.fetch_add(1, Ordering::Relaxed);
        match &self.fallback {
            Some(local) => local.check_all(checks).await,
            None => Err(failure),
        }
    }
}

/// A spec's emission interval and tolerance in microseconds. The interval is rounded up, so
/// rounding never admits more than the declared rate.
fn gcra_params(spec: &RateSpec) -> (u64, u64) {
    let nanos = spec.replenish_interval().as_nanos().max(1);
    let interval = u64::try_from(nanos.div_ceil(1000))
        .unwrap_or(u64::MAX / 4)
        .max(1);
    let tolerance = interval.saturating_mul(u64::from(spec.burst.max(1) - 1));
    (interval, tolerance)
}

/// A fixed description of a Redis error (never its text, which can echo server replies).
fn classify(e: &redis::RedisError) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connection_refusal() {
        "connection refused"
    } else if e.is_connection_dropped() || e.is_io_error() {
        "connection lost"
    } else if e.is_unrecoverable_error() {
        "connection failed"
    } else {
        "Redis refused the command"
    }
}

/// Keeps key segments to `[A-Za-z0-9_.*-]`: names come from code, but braces or colons would
/// change the key's shape.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_sanitized(&mut out, s);
    out
}

/// `s` with every character outside `[A-Za-z0-9_.*-]` replaced by `_`.
fn push_sanitized(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*') {
            c
        } else {
            '_'
        }
    }));
}

impl RateLimiter for RedisRateLimiter {
    fn check<'a>(
        &'a self,
        key: RateKey<'a>,
        spec: &'a RateSpec,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitError>> {
        Box::pin(async move { self.decide(&[RateCheck { key, spec }]).await })
    }

    fn check_all<'a>(
        &'a self,
        checks: &'a [RateCheck<'a>],
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitError>> {
        Box::pin(self.decide(checks))
    }
}

/// DPoP `jti`s remembered in Redis: a proof replayed to another replica is refused too. An
/// unreachable Redis refuses the proof (fail closed), whatever the rate limits' policy.
#[cfg(feature = "http")]
impl crate::auth::dpop::ReplayStore for RedisRateLimiter {
    fn first_use(
        &self,
        key: [u8; 32],
        ttl: Duration,
    ) -> futures::future::BoxFuture<'_, Result<bool, ()>> {
        Box::pin(async move {
            self.set_once(&key, ttl).await.map_err(|e| {
                tracing::warn!(
                    target: crate::audit::TARGET,
                    event = "dpop_replay_store_unavailable",
                    reason = e.kind,
                    "the DPoP replay store did not answer: proof refused"
                );
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_the_interval_up() {
        // 7 per minute: 8 571 428.57… µs → 8 571 429.
        assert_eq!(gcra_params(&RateSpec::new(7, 60, 1)), (8_571_429, 0));
        assert_eq!(gcra_params(&RateSpec::new(10, 1, 5)), (100_000, 400_000));
        // Faster than a microsecond still charges one.
        assert_eq!(gcra_params(&RateSpec::new(u32::MAX, 1, 1)).0, 1);
    }

    #[test]
    fn keys_hash_the_caller_and_keep_the_shape() {
        let limiter = RedisRateLimiter::builder(SecretString::from("redis://127.0.0.1:1/")).build();
        let caller: Arc<str> = "alice@example.com".into();
        let key = limiter.redis_key(RateKey {
            server: "my server{x}",
            tool: "write_data",
            caller: &caller,
        });
        assert!(key.starts_with("mcp-secure:rl:{my_server_x_:"), "{key}");
        assert!(key.ends_with("}:write_data"), "{key}");
        assert!(!key.contains("alice"), "{key}");
        assert_eq!(key.matches('{').count(), 1);
    }

    #[test]
    fn urls_are_checked_without_echoing_them() {
        let bad = SecretString::from("http://user:hunter2-secret@host/");
        let err = RedisRateLimiter::check_url(&bad).unwrap_err();
        assert!(!err.contains("hunter2"));
        assert!(
            RedisRateLimiter::check_url(&SecretString::from("redis://:pw@127.0.0.1:6379/0"))
                .is_ok()
        );
    }
}
