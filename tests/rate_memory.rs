//! The in-memory limiter's memory stays bounded: a million distinct callers pass through,
//! go idle, and are evicted; the peak is reported. Its own test binary (and only test), so
//! the process's peak RSS is this test's.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use mcp_secure::{
    RateSpec,
    rate::{MemoryRateLimiter, RateDecision, RateKey},
};

/// `VmHWM` / `VmRSS` from `/proc/self/status`, in KiB (`None` off Linux).
fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_million_callers_go_idle_and_are_evicted() {
    const CALLERS: usize = 1_000_000;
    let limiter = MemoryRateLimiter::with_max_keys(CALLERS);
    // 1000 per second, burst 1: each caller's budget is full again a millisecond later.
    let spec = RateSpec::new(1_000, 1, 1);
    let before = memory_kib("VmRSS:").unwrap_or(0);
    let mut name = String::with_capacity(32);
    for i in 0..CALLERS {
        use std::fmt::Write as _;
        name.clear();
        write!(name, "user-{i:07}@example.com").unwrap();
        let caller: Arc<str> = name.as_str().into();
        let key = RateKey {
            server: "memory",
            tool: "read_data",
            caller: &caller,
        };
        assert_eq!(limiter.check_now(key, &spec), RateDecision::Allowed);
    }
    assert_eq!(limiter.live_keys(), CALLERS);
    let full = memory_kib("VmRSS:").unwrap_or(0);

    // The table is full, but of idle callers: they are evicted at once and a new caller is
    // admitted (a full table of *active* callers refuses newcomers; see the unit tests).
    let newcomer: Arc<str> = "newcomer".into();
    let key = |caller| RateKey {
        server: "memory",
        tool: "read_data",
        caller,
    };
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        limiter.check_now(key(&newcomer), &spec),
        RateDecision::Allowed
    );
    assert_eq!(limiter.live_keys(), 1);

    std::thread::sleep(Duration::from_millis(5));
    limiter.evict_idle();
    assert_eq!(limiter.live_keys(), 0);
    let after = memory_kib("VmRSS:").unwrap_or(0);
    let peak = memory_kib("VmHWM:").unwrap_or(0);
    eprintln!(
        "1,000,000 callers: RSS {} MiB before, {} MiB with all tracked (~{} bytes per caller), {} MiB after eviction; peak {} MiB",
        before / 1024,
        full / 1024,
        (full.saturating_sub(before) * 1024) / CALLERS as u64,
        after / 1024,
        peak / 1024
    );
    if peak > 0 {
        assert!(peak < 1024 * 1024, "peak RSS {peak} KiB");
    }
}
