//! The in-process limiter: governor's keyed GCRA, one limiter per (tool, rate).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use governor::{
    Quota,
    clock::{Clock, DefaultClock},
    state::keyed::DashMapStateStore,
};

use super::{RateDecision, RateKey, RateLimitError, RateLimiter};
use crate::policy::RateSpec;

type Keyed = governor::RateLimiter<Arc<str>, DashMapStateStore<Arc<str>>, DefaultClock>;

/// How often idle keys are dropped when no background task runs.
const INLINE_SWEEP_EVERY: Duration = Duration::from_secs(30);

/// governor's GCRA, keyed by caller, one limiter per tool and rate. Idle callers are evicted
/// (by a background task when created inside a Tokio runtime, else inline every 30 s), so
/// memory follows the number of recently active callers.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    limiters: RwLock<HashMap<(&'static str, RateSpec), Arc<Keyed>>>,
    /// One clock for every limiter: creating a clock calibrates it, which takes milliseconds.
    clock: DefaultClock,
    created: Instant,
    /// Milliseconds after `created` of the last inline sweep; `u64::MAX` when a task sweeps.
    last_sweep: AtomicU64,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            limiters: RwLock::new(HashMap::new()),
            clock: DefaultClock::default(),
            created: Instant::now(),
            last_sweep: AtomicU64::new(0),
        }
    }
}

impl MemoryRateLimiter {
    /// A limiter. Inside a Tokio runtime it also starts a task that evicts idle callers every
    /// `sweep_every`; the task ends when the limiter is dropped.
    pub fn new(sweep_every: Duration) -> Arc<Self> {
        let limiter = Arc::new(Self::default());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            limiter.last_sweep.store(u64::MAX, Ordering::Relaxed);
            let weak: Weak<Self> = Arc::downgrade(&limiter);
            handle.spawn(async move {
                let mut tick = tokio::time::interval(sweep_every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match weak.upgrade() {
                        Some(limiter) => limiter.evict_idle(),
                        None => break,
                    }
                }
            });
        }
        limiter
    }

    fn quota(spec: &RateSpec) -> Quota {
        let burst = NonZeroU32::new(spec.burst).unwrap_or(NonZeroU32::MIN);
        let interval = spec.replenish_interval().max(Duration::from_nanos(1));
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }

    fn limiter_for(&self, tool: &'static str, spec: &RateSpec) -> Arc<Keyed> {
        let key = (tool, *spec);
        if let Some(l) = self
            .limiters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return l.clone();
        }
        let mut map = self
            .limiters
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(governor::RateLimiter::new(
                    Self::quota(spec),
                    DashMapStateStore::default(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }

    /// Decides synchronously (the in-memory store never waits).
    pub fn check_now(&self, key: RateKey<'_>, spec: &RateSpec) -> RateDecision {
        self.maybe_sweep_inline();
        let limiter = self.limiter_for(key.tool, spec);
        match limiter.check_key(key.caller) {
            Ok(()) => RateDecision::Allowed,
            Err(not_until) => RateDecision::Limited {
                retry_after: not_until.wait_time_from(limiter.clock().now()),
            },
        }
    }

    /// Drops every caller whose budget is full again (indistinguishable from a new caller).
    pub fn evict_idle(&self) {
        let limiters: Vec<Arc<Keyed>> = self
            .limiters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for limiter in limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Callers currently tracked, summed over tools.
    pub fn live_keys(&self) -> usize {
        self.limiters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|l| l.len())
            .sum()
    }

    fn maybe_sweep_inline(&self) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if last == u64::MAX {
            return;
        }
        let now = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let due = u64::try_from(INLINE_SWEEP_EVERY.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(last) >= due
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.evict_idle();
        }
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn check<'a>(
        &'a self,
        key: RateKey<'a>,
        spec: &'a RateSpec,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitError>> {
        let decision = self.check_now(key, spec);
        Box::pin(std::future::ready(Ok(decision)))
    }
}
