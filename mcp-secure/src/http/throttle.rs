//! Throttling of addresses that keep failing authentication: after `burst` failures they get
//! `429` with `Retry-After` until they have earned one back.
//!
//! Memory is bounded: an IPv6 address counts by its /64 (one subscriber's whole prefix), idle
//! addresses are swept once their budget is full again, and at most `max_tracked` addresses
//! are remembered; past that, failures from addresses not yet tracked share one overflow
//! budget, so a flood from many addresses is still throttled without growing the map.

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use dashmap::DashMap;
use governor::{Quota, clock::DefaultClock, state::keyed::DashMapStateStore};

use crate::policy::RateSpec;

type KeyedLimiter = governor::RateLimiter<IpAddr, DashMapStateStore<IpAddr>, DefaultClock>;

/// Most addresses tracked at once by default.
pub(super) const DEFAULT_MAX_TRACKED: usize = 100_000;

/// The key failures from addresses past the bound count against.
const OVERFLOW: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// How often (in recorded failures) idle addresses are swept.
const SWEEP_EVERY: u64 = 4096;

/// While the map is full, how often at most a failure pays for a sweep.
const FULL_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Throttles addresses that keep failing authentication.
pub(super) struct FailureThrottle {
    limiter: KeyedLimiter,
    /// The last failure of each tracked address (what the sweep reads).
    last_failure: DashMap<IpAddr, Instant>,
    /// Addresses refused until the instant given.
    blocked: DashMap<IpAddr, Instant>,
    /// When the overflow budget is spent: until when untracked addresses are refused.
    overflow_until: Mutex<Option<Instant>>,
    /// How long an address must be quiet before its budget is full again.
    idle_after: Duration,
    max_tracked: usize,
    recorded: AtomicU64,
    /// When the last sweep ran (a full map is swept at most once per interval).
    last_sweep: Mutex<Instant>,
}

/// The address failures are counted against: IPv6 by /64, IPv4 (and IPv4-mapped) as is.
fn key_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
        v4 => v4,
    }
}

impl FailureThrottle {
    pub(super) fn new(spec: RateSpec) -> Self {
        Self::bounded(spec, DEFAULT_MAX_TRACKED)
    }

    pub(super) fn bounded(spec: RateSpec, max_tracked: usize) -> Self {
        let interval = spec.replenish_interval().max(Duration::from_millis(1));
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(spec.burst).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: governor::RateLimiter::dashmap(quota),
            last_failure: DashMap::new(),
            blocked: DashMap::new(),
            overflow_until: Mutex::new(None),
            idle_after: interval.saturating_mul(spec.burst.max(1)),
            max_tracked: max_tracked.max(1),
            recorded: AtomicU64::new(0),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Addresses currently tracked (bounded by `max_tracked`).
    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.last_failure.len()
    }

    /// How long `ip` must still wait, if it is blocked.
    pub(super) fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let key = key_of(ip);
        let now = Instant::now();
        if let Some(until) = self.blocked.get(&key).map(|u| *u) {
            if until > now {
                return Some(until - now);
            }
            self.blocked.remove(&key);
        }
        // An address not tracked while the overflow budget is spent shares its wait.
        if !self.last_failure.contains_key(&key) {
            let overflow = *self
                .overflow_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(until) = overflow.filter(|u| *u > now) {
                return Some(until - now);
            }
        }
        None
    }

    /// Counts a failure; blocks the address when its budget is spent.
    pub(super) fn record_failure(&self, ip: IpAddr) {
        use governor::clock::Clock;
        let key = key_of(ip);
        let now = Instant::now();
        let periodic =
            self.recorded.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
        if periodic || self.last_failure.len() >= self.max_tracked {
            // One caller sweeps; the others go on (a full map must not cost a scan per failure).
            if let Ok(mut last) = self.last_sweep.try_lock()
                && (periodic || now.saturating_duration_since(*last) >= FULL_SWEEP_INTERVAL)
            {
                *last = now;
                drop(last);
                self.sweep(now);
            }
        }
        let tracked = self.last_failure.contains_key(&key);
        let key = if tracked || self.last_failure.len() < self.max_tracked {
            self.last_failure.insert(key, now);
            key
        } else {
            OVERFLOW
        };
        if let Err(not_until) = self.limiter.check_key(&key) {
            let until = now + not_until.wait_time_from(self.limiter.clock().now());
            if key == OVERFLOW {
                *self
                    .overflow_until
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(until);
            } else {
                self.blocked.insert(key, until);
            }
        }
    }

    /// Forgets addresses whose budget is full again and blocks that ended.
    fn sweep(&self, now: Instant) {
        let idle_after = self.idle_after;
        self.last_failure
            .retain(|_, last| now.saturating_duration_since(*last) < idle_after);
        self.blocked.retain(|_, until| *until > now);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundred_thousand_addresses_stay_within_the_bound_and_are_still_throttled() {
        let throttle = FailureThrottle::bounded(RateSpec::new(30, 60, 30), 10_000);
        for i in 0..200_000u32 {
            throttle.record_failure(IpAddr::V4(i.into()));
        }
        assert!(throttle.tracked() <= 10_000, "{}", throttle.tracked());
        assert!(
            throttle.limiter.len() <= 10_001,
            "{}",
            throttle.limiter.len()
        );
        assert!(throttle.blocked.len() <= 10_000);
        // The flood spent the overflow budget: a new address sharing it waits.
        assert!(
            throttle
                .blocked_for(IpAddr::V4(4_000_000_000u32.into()))
                .is_some()
        );
        // A tracked address with one failure is not blocked.
        assert!(throttle.blocked_for(IpAddr::V4(1u32.into())).is_none());
    }

    #[test]
    fn an_ipv6_subscriber_counts_once_per_64() {
        let throttle = FailureThrottle::bounded(RateSpec::new(3, 60, 3), 1_000);
        for i in 0..10u128 {
            let ip = Ipv6Addr::from((0x2001_0db8_0000_0001u128 << 64) | i);
            throttle.record_failure(IpAddr::V6(ip));
        }
        assert_eq!(throttle.tracked(), 1);
        let other_host = Ipv6Addr::from((0x2001_0db8_0000_0001u128 << 64) | 0xffff);
        assert!(throttle.blocked_for(IpAddr::V6(other_host)).is_some());
        let other_net = Ipv6Addr::from(0x2001_0db8_0000_0002u128 << 64);
        assert!(throttle.blocked_for(IpAddr::V6(other_net)).is_none());
    }

    #[test]
    fn idle_addresses_are_swept() {
        let throttle = FailureThrottle::bounded(RateSpec::new(1000, 1, 1), 100);
        for i in 0..50u32 {
            throttle.record_failure(IpAddr::V4(i.into()));
        }
        std::thread::sleep(Duration::from_millis(20));
        throttle.sweep(Instant::now());
        assert_eq!(throttle.tracked(), 0);
    }
}
