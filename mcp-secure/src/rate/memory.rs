//! The in-process limiter: governor's keyed GCRA, one limiter per (tool, rate), over a
//! bounded state store.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Arc, Mutex, OnceLock, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use dashmap::DashMap;
use futures::future::BoxFuture;
use governor::{
    Quota,
    clock::{Clock, DefaultClock, Reference},
    nanos::Nanos,
    state::{StateStore, keyed::ShrinkableKeyedStateStore},
};
use rustc_hash::FxBuildHasher;

use super::{RateDecision, RateKey, RateLimitError, RateLimiter};
use crate::policy::RateSpec;

/// How often idle keys are dropped when no background task runs.
const INLINE_SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Default cap on callers tracked per tool.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

#[derive(Debug, Default)]
struct StoreInner {
    /// Caller → theoretical arrival time (nanoseconds after the limiter's start; 0 = none).
    map: DashMap<Arc<str>, AtomicU64>,
    len: AtomicUsize,
}

/// governor's keyed state, bounded: the limiter counts its keys so a full table can refuse
/// new callers instead of growing (see [`MemoryRateLimiter`]).
#[derive(Debug, Clone, Default)]
struct BoundedStore(Arc<StoreInner>);

impl BoundedStore {
    fn len(&self) -> usize {
        self.0.len.load(Ordering::Relaxed)
    }

    fn contains(&self, key: &Arc<str>) -> bool {
        self.0.map.contains_key(key)
    }
}

/// The compare-and-swap loop governor runs on each key's state.
fn measure<T, E>(
    state: &AtomicU64,
    f: impl Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
) -> Result<T, E> {
    let mut prev = state.load(Ordering::Acquire);
    let mut decision = f((prev != 0).then(|| Nanos::from(prev)));
    while let Ok((result, next)) = decision {
        match state.compare_exchange_weak(prev, next.as_u64(), Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => return Ok(result),
            Err(actual) => prev = actual,
        }
        decision = f((prev != 0).then(|| Nanos::from(prev)));
    }
    decision.map(|(result, _)| result)
}

impl StateStore for BoundedStore {
    type Key = Arc<str>;

    fn measure_and_replace<T, F, E>(&self, key: &Arc<str>, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if let Some(state) = self.0.map.get(key) {
            return measure(&state, f);
        }
        let state = self.0.map.entry(key.clone()).or_insert_with(|| {
            self.0.len.fetch_add(1, Ordering::Relaxed);
            AtomicU64::new(0)
        });
        measure(&state, f)
    }
}

impl ShrinkableKeyedStateStore<Arc<str>> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        let floor = drop_below.as_u64();
        self.0
            .map
            .retain(|_, tat| tat.load(Ordering::Relaxed) > floor);
        self.0.len.store(self.0.map.len(), Ordering::Relaxed);
    }

    fn shrink_to_fit(&self) {
        self.0.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        BoundedStore::len(self)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Server, tool and rate: one limiter each.
type LimiterKey = (&'static str, &'static str, RateSpec);

/// Tool and server by the address and length of their `&'static str`, and the rate: what a
/// decision looks up. An address names its text for the life of the program, so this is a
/// cheap key (integers, no string hashing or comparison); two copies of one name at
/// different addresses are two keys for the same limiter.
type AddressKey = (usize, usize, usize, usize, RateSpec);

fn address_key(server: &'static str, tool: &'static str, spec: &RateSpec) -> AddressKey {
    // The tool first: it is what tells a server's limiters apart, so a scan past another
    // tool's slot stops at the first comparison.
    (
        tool.as_ptr().addr(),
        tool.len(),
        server.as_ptr().addr(),
        server.len(),
        *spec,
    )
}

type Keyed = governor::RateLimiter<Arc<str>, BoundedStore, DefaultClock>;

/// The per-tool table, read on every decision without a lock and without touching a
/// reference count. The first [`Table::FEW`] limiters (a server's handful of rate-limited tools
/// and the global budget) sit in write-once slots filled in order: a decision scans them with
/// plain loads and a few integer comparisons. Past that, limiters go in a map behind an
/// `arc-swap` snapshot, replaced whole when a (tool, rate) is first seen. Writers hold the
/// limiter's `by_name` lock, so slots and snapshot are only ever filled by one writer at a time;
/// a reader that misses a slot being filled takes the slow path, which finds the entry.
#[derive(Debug, Default)]
struct Table {
    few: [OnceLock<(AddressKey, Arc<Entry>)>; Table::FEW],
    many: ArcSwap<HashMap<AddressKey, Arc<Entry>, FxBuildHasher>>,
}

impl Table {
    const FEW: usize = 8;

    /// `f` of the limiter for `key`, if the table has it (borrowed from a slot or from the
    /// map's snapshot, no reference count taken).
    fn with<R>(&self, key: &AddressKey, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        for slot in &self.few {
            match slot.get() {
                Some((k, entry)) if k == key => return Some(f(entry)),
                Some(_) => {}
                None => return None,
            }
        }
        self.many.load().get(key).map(|entry| f(entry))
    }

    /// Call with the limiter's `by_name` lock held.
    fn insert(&self, key: AddressKey, entry: Arc<Entry>) {
        if self.with(&key, |_| ()).is_some() {
            return;
        }
        for slot in &self.few {
            if slot.get().is_none() {
                let _ = slot.set((key, entry));
                return;
            }
        }
        let mut many = HashMap::clone(&self.many.load());
        many.insert(key, entry);
        self.many.store(Arc::new(many));
    }
}

#[derive(Debug)]
struct Entry {
    limiter: Keyed,
    store: BoundedStore,
}

/// governor's GCRA, keyed by caller, one limiter per tool and rate.
///
/// Memory stays bounded two ways: idle callers (whose budget is full again, so they are
/// indistinguishable from new ones) are evicted by a background task when created inside a
/// Tokio runtime (else inline every 30 s); and each tool tracks at most `max_keys` callers.
/// When that many are recently active, idle ones are evicted at once, and if the table is
/// still full a *new* caller is refused (`RATE_LIMITED`, retry after 1 s) rather than let it
/// grow; callers already tracked are unaffected. Decisions are exact under concurrency
/// (a compare-and-swap per decision).
#[derive(Debug)]
pub struct MemoryRateLimiter {
    /// Keyed by names from code (server, tool) and the rate, never by client data, so a
    /// fast non-keyed hash is safe here; callers are hashed with SipHash by the store.
    limiters: Table,
    /// The limiters by the names' text: the one truth `limiters` points into, also what
    /// sweeps and counts walk. Its lock serializes the (rare) replacements of `limiters`.
    by_name: Mutex<HashMap<LimiterKey, Arc<Entry>, FxBuildHasher>>,
    /// One clock for every limiter: creating a clock calibrates it, which takes milliseconds.
    /// It reads the CPU's counter, cheaper than `Instant::now`.
    clock: DefaultClock,
    created: <DefaultClock as Clock>::Instant,
    /// Nanoseconds after `created` of the last inline sweep; `u64::MAX` when a task sweeps.
    last_sweep: AtomicU64,
    max_keys: usize,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }
}

impl MemoryRateLimiter {
    /// A limiter tracking at most `max_keys` callers per tool, sweeping inline.
    pub fn with_max_keys(max_keys: usize) -> Self {
        let clock = DefaultClock::default();
        Self {
            limiters: Table::default(),
            by_name: Mutex::new(HashMap::default()),
            created: clock.now(),
            clock,
            last_sweep: AtomicU64::new(0),
            max_keys: max_keys.max(1),
        }
    }

    /// A limiter. Inside a Tokio runtime it also starts a task that evicts idle callers every
    /// `sweep_every`; the task ends when the limiter is dropped.
    pub fn new(sweep_every: Duration) -> Arc<Self> {
        Self::start(Self::default(), sweep_every)
    }

    /// Like [`MemoryRateLimiter::new`], with a cap of `max_keys` callers per tool.
    pub fn bounded(max_keys: usize, sweep_every: Duration) -> Arc<Self> {
        Self::start(Self::with_max_keys(max_keys), sweep_every)
    }

    fn start(limiter: Self, sweep_every: Duration) -> Arc<Self> {
        let limiter = Arc::new(limiter);
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

    fn insert(&self, key: LimiterKey) -> Arc<Entry> {
        let mut by_name = self
            .by_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = by_name
            .entry(key)
            .or_insert_with(|| {
                let store = BoundedStore::default();
                let limiter = governor::RateLimiter::new(
                    Self::quota(&key.2),
                    store.clone(),
                    self.clock.clone(),
                );
                Arc::new(Entry { limiter, store })
            })
            .clone();
        self.limiters
            .insert(address_key(key.0, key.1, &key.2), entry.clone());
        drop(by_name);
        entry
    }

    /// Decides synchronously (the in-memory store never waits).
    pub fn check_now(&self, key: RateKey<'_>, spec: &RateSpec) -> RateDecision {
        self.maybe_sweep_inline();
        let address = address_key(key.server, key.tool, spec);
        if let Some(decision) = self
            .limiters
            .with(&address, |entry| self.decide(entry, key.caller))
        {
            return decision;
        }
        let entry = self.insert((key.server, key.tool, *spec));
        self.decide(&entry, key.caller)
    }

    fn decide(&self, entry: &Entry, caller: &Arc<str>) -> RateDecision {
        if entry.store.len() >= self.max_keys && !entry.store.contains(caller) {
            entry.limiter.retain_recent();
            if entry.store.len() >= self.max_keys {
                return RateDecision::Limited {
                    retry_after: Duration::from_secs(1),
                };
            }
        }
        match entry.limiter.check_key(caller) {
            Ok(()) => RateDecision::Allowed,
            Err(not_until) => RateDecision::Limited {
                retry_after: not_until.wait_time_from(entry.limiter.clock().now()),
            },
        }
    }

    /// Drops every caller whose budget is full again (indistinguishable from a new caller).
    pub fn evict_idle(&self) {
        let entries: Vec<Arc<Entry>> = self
            .by_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for entry in entries {
            entry.limiter.retain_recent();
            entry.limiter.shrink_to_fit();
        }
    }

    /// Callers currently tracked, summed over tools.
    pub fn live_keys(&self) -> usize {
        self.by_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|e| e.store.len())
            .sum()
    }

    fn maybe_sweep_inline(&self) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if last == u64::MAX {
            return;
        }
        let now = self
            .clock
            .now()
            .duration_since(self.created)
            .as_u64()
            .min(u64::MAX - 1);
        let due = u64::try_from(INLINE_SWEEP_EVERY.as_nanos()).unwrap_or(u64::MAX);
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

    fn check_at_once(
        &self,
        key: RateKey<'_>,
        spec: &RateSpec,
    ) -> Option<Result<RateDecision, RateLimitError>> {
        Some(Ok(self.check_now(key, spec)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(caller: &Arc<str>) -> RateKey<'_> {
        RateKey {
            server: "s",
            tool: "t",
            caller,
        }
    }

    #[test]
    fn burst_then_limited_with_rounded_up_retry() {
        let l = MemoryRateLimiter::with_max_keys(10);
        let spec = RateSpec::new(3, 3600, 3);
        let a: Arc<str> = "a".into();
        for _ in 0..3 {
            assert_eq!(l.check_now(key(&a), &spec), RateDecision::Allowed);
        }
        match l.check_now(key(&a), &spec) {
            RateDecision::Limited { retry_after } => {
                assert!(
                    retry_after > Duration::from_secs(1190)
                        && retry_after <= Duration::from_secs(1200)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_decision_at_once_counts_against_the_same_budget_as_check() {
        let l = MemoryRateLimiter::with_max_keys(10);
        let spec = RateSpec::new(3, 3600, 3);
        let a: Arc<str> = "a".into();
        let limiter: &dyn RateLimiter = &l;
        assert!(matches!(
            limiter.check_at_once(key(&a), &spec),
            Some(Ok(RateDecision::Allowed))
        ));
        let checked = futures::executor::block_on(limiter.check(key(&a), &spec));
        assert!(matches!(checked, Ok(RateDecision::Allowed)));
        assert_eq!(l.check_now(key(&a), &spec), RateDecision::Allowed);
        assert!(matches!(
            limiter.check_at_once(key(&a), &spec),
            Some(Ok(RateDecision::Limited { .. }))
        ));
    }

    #[test]
    fn a_full_table_refuses_new_callers_not_known_ones() {
        let l = MemoryRateLimiter::with_max_keys(2);
        let spec = RateSpec::new(10, 3600, 10);
        let callers: Vec<Arc<str>> = ["a", "b", "c"].into_iter().map(Arc::from).collect();
        assert_eq!(l.check_now(key(&callers[0]), &spec), RateDecision::Allowed);
        assert_eq!(l.check_now(key(&callers[1]), &spec), RateDecision::Allowed);
        assert!(matches!(
            l.check_now(key(&callers[2]), &spec),
            RateDecision::Limited { .. }
        ));
        assert_eq!(l.check_now(key(&callers[0]), &spec), RateDecision::Allowed);
        assert_eq!(l.live_keys(), 2);
    }

    /// `n` tool names with the `'static` lifetime the limiter keys by.
    fn tool_names(prefix: &str, n: usize) -> Vec<&'static str> {
        (0..n)
            .map(|i| &*Box::leak(format!("{prefix}-{i}").into_boxed_str()))
            .collect()
    }

    #[test]
    fn many_tools_keep_their_own_budgets_past_the_short_list() {
        let l = MemoryRateLimiter::with_max_keys(10);
        let spec = RateSpec::new(1, 3600, 1);
        let caller: Arc<str> = "a".into();
        let tools = tool_names("tool", 3 * Table::FEW);
        let key = |tool| RateKey {
            server: "s",
            tool,
            caller: &caller,
        };
        for tool in &tools {
            assert_eq!(l.check_now(key(tool), &spec), RateDecision::Allowed);
        }
        for tool in &tools {
            assert!(matches!(
                l.check_now(key(tool), &spec),
                RateDecision::Limited { .. }
            ));
        }
        assert_eq!(l.live_keys(), tools.len());
    }

    #[test]
    fn tools_first_seen_at_once_from_many_threads_share_one_budget_each() {
        let l = MemoryRateLimiter::with_max_keys(10);
        let spec = RateSpec::new(1, 3600, 1);
        let caller: Arc<str> = "a".into();
        // Slots and map both: more tools than slots, every thread racing over all of them.
        let tools = tool_names("race", 2 * Table::FEW);
        let admitted = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (l, tools, caller, admitted) = (&l, &tools, &caller, &admitted);
                scope.spawn(move || {
                    for round in 0..tools.len() {
                        let tool = tools[(round + t * 3) % tools.len()];
                        let key = RateKey {
                            server: "s",
                            tool,
                            caller,
                        };
                        if l.check_now(key, &spec) == RateDecision::Allowed {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        // A burst of one per tool: exactly one admission each, whichever thread got it.
        assert_eq!(admitted.load(Ordering::Relaxed), tools.len());
        assert_eq!(l.live_keys(), tools.len());
    }

    #[test]
    fn idle_callers_are_evicted() {
        let l = MemoryRateLimiter::with_max_keys(100);
        // 1000 per second: a caller is idle again a millisecond after its call.
        let spec = RateSpec::new(1000, 1, 1);
        for i in 0..50 {
            let c: Arc<str> = format!("c{i}").into();
            l.check_now(key(&c), &spec);
        }
        assert_eq!(l.live_keys(), 50);
        std::thread::sleep(Duration::from_millis(20));
        l.evict_idle();
        assert_eq!(l.live_keys(), 0);
    }
}
