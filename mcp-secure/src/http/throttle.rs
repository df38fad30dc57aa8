//! Throttling of addresses that keep failing authentication: after `burst` failures they get
//! `429` with `Retry-After` until they have earned one back.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    time::{Duration, Instant},
};

use dashmap::DashMap;
use governor::{Quota, clock::DefaultClock, state::keyed::DashMapStateStore};

use crate::policy::RateSpec;

type KeyedLimiter = governor::RateLimiter<IpAddr, DashMapStateStore<IpAddr>, DefaultClock>;

/// Throttles addresses that keep failing authentication.
pub(super) struct FailureThrottle {
    limiter: KeyedLimiter,
    blocked: DashMap<IpAddr, Instant>,
}

/// Most blocked addresses remembered; beyond it the oldest entries are swept.
const MAX_BLOCKED: usize = 100_000;

impl FailureThrottle {
    pub(super) fn new(spec: RateSpec) -> Self {
        let quota = Quota::with_period(spec.replenish_interval().max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(spec.burst).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: governor::RateLimiter::dashmap(quota),
            blocked: DashMap::new(),
        }
    }

    /// How long `ip` must still wait, if it is blocked.
    pub(super) fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let until = *self.blocked.get(&ip)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            self.blocked.remove(&ip);
            None
        }
    }

    /// Counts a failure; blocks the address when its budget is spent.
    pub(super) fn record_failure(&self, ip: IpAddr) {
        use governor::clock::Clock;
        if let Err(not_until) = self.limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            if self.blocked.len() >= MAX_BLOCKED {
                let now = Instant::now();
                self.blocked.retain(|_, until| *until > now);
                self.limiter.retain_recent();
            }
            self.blocked.insert(ip, Instant::now() + wait);
        }
    }
}
