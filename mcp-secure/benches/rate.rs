//! The in-memory limiter's decision, single thread: `MemoryRateLimiter::check_now` (per-tool
//! table, bounded store, cap check) against bare governor (`RateLimiter::dashmap`, the same
//! quota and key), on one hot caller and rotating over 10 000 callers.
//!
//! Criterion measures each; an interleaved A/B run then reports decisions per second and the
//! ratio (median of rounds). Run: `cargo bench -p mcp-secure --bench rate`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    hint::black_box,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::Criterion;
use mcp_secure::{
    RateSpec,
    rate::{MemoryRateLimiter, RateKey},
};

/// Generous enough that every decision is an admission (the common path).
const SPEC: RateSpec = RateSpec::new(u32::MAX, 1, u32::MAX);

type Bare = governor::DefaultKeyedRateLimiter<Arc<str>>;

fn bare_limiter() -> Bare {
    let quota = governor::Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX);
    governor::RateLimiter::dashmap(quota)
}

fn ours(limiter: &MemoryRateLimiter, caller: &Arc<str>) {
    let key = RateKey {
        server: "bench",
        tool: "read_data",
        caller,
    };
    black_box(limiter.check_now(black_box(key), &SPEC));
}

fn bare(limiter: &Bare, caller: &Arc<str>) {
    let _ = black_box(limiter.check_key(black_box(caller)));
}

fn timed(n: usize, f: &mut impl FnMut(usize)) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed()
}

/// Median over rounds of time(a)/time(b), alternating which goes first; and the mean
/// nanoseconds per call of each.
fn ratio(
    rounds: usize,
    n: usize,
    mut a: impl FnMut(usize),
    mut b: impl FnMut(usize),
) -> (f64, f64, f64) {
    let mut ratios = Vec::with_capacity(rounds);
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = timed(n, &mut a);
            (x, timed(n, &mut b))
        } else {
            let y = timed(n, &mut b);
            (timed(n, &mut a), y)
        };
        ta += x;
        tb += y;
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let per = |d: Duration| d.as_secs_f64() * 1e9 / (n * rounds) as f64;
    (ratios[rounds / 2], per(ta), per(tb))
}

fn main() {
    // As a server runs it: created inside the runtime, so a background task sweeps.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let limiter = runtime.block_on(async { MemoryRateLimiter::new(Duration::from_secs(60)) });
    let bare_l = bare_limiter();
    let hot: Arc<str> = "alice".into();
    let many: Vec<Arc<str>> = (0..10_000)
        .map(|i| Arc::from(format!("user-{i}")))
        .collect();

    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    {
        let mut group = criterion.benchmark_group("rate_decision");
        group.bench_function("memory_limiter_hot_key", |b| {
            b.iter(|| ours(&limiter, &hot))
        });
        group.bench_function("bare_governor_hot_key", |b| b.iter(|| bare(&bare_l, &hot)));
        let mut i = 0;
        group.bench_function("memory_limiter_10k_callers", |b| {
            b.iter(|| {
                i = (i + 1) % many.len();
                ours(&limiter, &many[i]);
            });
        });
        let mut j = 0;
        group.bench_function("bare_governor_10k_callers", |b| {
            b.iter(|| {
                j = (j + 1) % many.len();
                bare(&bare_l, &many[j]);
            });
        });
        group.finish();
    }
    criterion.final_summary();

    println!("\ninterleaved A/B, median of 30 rounds of 200 000 decisions:");
    let (r, a, b) = ratio(
        30,
        200_000,
        |_| ours(&limiter, &hot),
        |_| bare(&bare_l, &hot),
    );
    println!(
        "  hot key:     limiter {a:.1} ns ({:.1} M/s), bare governor {b:.1} ns ({:.1} M/s), ratio {r:.3}",
        1e3 / a,
        1e3 / b
    );
    let (r, a, b) = ratio(
        30,
        200_000,
        |i| ours(&limiter, &many[i % many.len()]),
        |i| bare(&bare_l, &many[i % many.len()]),
    );
    println!(
        "  10k callers: limiter {a:.1} ns ({:.1} M/s), bare governor {b:.1} ns ({:.1} M/s), ratio {r:.3}",
        1e3 / a,
        1e3 / b
    );
}
