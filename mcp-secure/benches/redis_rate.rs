//! The Redis limiter's decision round trip on loopback: latency percentiles of
//! `RedisRateLimiter::check` (one `EVALSHA` of the GCRA script) interleaved call by call with
//! a bare `EVALSHA` of the same GCRA script (same key shape and arguments: what the limiter
//! adds on the client side), a bare `EVALSHA` of a no-op script (`return 0`, one key) and a
//! bare `PING`, each on its own connection; then throughput with concurrent callers.
//!
//! Uses `MCP_SECURE_BENCH_REDIS_URL` if set, else spawns `redis-server` on a free loopback
//! port (skips when there is none). Run: `cargo bench -p mcp-secure --features redis --bench redis_rate`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use mcp_secure::{
    RateSpec,
    rate::{RateDecision, RateKey, RateLimiter, RedisRateLimiter},
    redact::SecretString,
};

const SAMPLES: usize = 20_000;

struct Child(Option<std::process::Child>);

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn redis_url() -> Option<(String, Child)> {
    if let Ok(url) = std::env::var("MCP_SECURE_BENCH_REDIS_URL") {
        return Some((url, Child(None)));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--loglevel", "warning"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    Some((format!("redis://127.0.0.1:{port}/"), Child(Some(child))))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

// The measurement protocol, top to bottom: start Redis, warm up, interleave decisions with
// the baseline, report. Kept in one function so the protocol reads in order.
fn main() {
    let Some((url, _child)) = redis_url() else {
        eprintln!("skipping: no redis-server on PATH and MCP_SECURE_BENCH_REDIS_URL unset");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut ping_conn = loop {
            match client.get_multiplexed_async_connection().await {
                Ok(c) => break c,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let limiter = RedisRateLimiter::builder(SecretString::from(url.clone()))
            .timeout(Duration::from_secs(2))
            .build();
        let caller: Arc<str> = "bench-caller".into();
        let key = RateKey {
            server: "bench",
            tool: "read_data",
            caller: &caller,
        };
        let spec = RateSpec::new(u32::MAX, 1, u32::MAX);
        // Warm up: connect, load the script.
        for _ in 0..500 {
            limiter.check(key, &spec).await.unwrap();
            let _: String = redis::cmd("PING")
                .query_async(&mut ping_conn)
                .await
                .unwrap();
        }

        let mut script_conn = client.get_multiplexed_async_connection().await.unwrap();
        let noop = redis::Script::new("return 0");
        let _: i64 = noop
            .key("bench:noop")
            .invoke_async(&mut script_conn)
            .await
            .unwrap();
        let gcra = redis::Script::new(mcp_secure::rate::GCRA);
        let other: Arc<str> = "bench-bare-script".into();
        let gcra_key = limiter.redis_key(RateKey {
            caller: &other,
            ..key
        });
        let mut gcra_conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut decision = Vec::with_capacity(SAMPLES);
        let mut bare_gcra = Vec::with_capacity(SAMPLES);
        let mut script = Vec::with_capacity(SAMPLES);
        let mut ping = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES {
            // The three in a rotating order.
            for step in 0..4 {
                let t = Instant::now();
                match (step + i) % 4 {
                    0 => {
                        let d = limiter.check(key, &spec).await.unwrap();
                        assert_eq!(d, RateDecision::Allowed);
                        decision.push(t.elapsed());
                    }
                    3 => {
                        let reply: i64 = gcra
                            .key(&gcra_key)
                            .arg(1)
                            .arg(1_000_000_000_u64)
                            .invoke_async(&mut gcra_conn)
                            .await
                            .unwrap();
                        assert_eq!(reply, 0);
                        bare_gcra.push(t.elapsed());
                    }
                    1 => {
                        let _: i64 = noop
                            .key("bench:noop")
                            .invoke_async(&mut script_conn)
                            .await
                            .unwrap();
                        script.push(t.elapsed());
                    }
                    _ => {
                        let _: String = redis::cmd("PING")
                            .query_async(&mut ping_conn)
                            .await
                            .unwrap();
                        ping.push(t.elapsed());
                    }
                }
            }
        }
        decision.sort();
        bare_gcra.sort();
        script.sort();
        ping.sort();
        println!("{SAMPLES} sequential round trips on loopback, interleaved:");
        for (name, p) in [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999)] {
            let (d, g, e, q) = (
                percentile(&decision, p),
                percentile(&bare_gcra, p),
                percentile(&script, p),
                percentile(&ping, p),
            );
            println!(
                "  {name:>5}: decision {:6.1} us | bare GCRA EVALSHA {:6.1} us ({:.2}x) | no-op EVALSHA {:6.1} us ({:.2}x) | PING {:6.1} us ({:.2}x)",
                us(d),
                us(g),
                us(d) / us(g),
                us(e),
                us(d) / us(e),
                us(q),
                us(d) / us(q)
            );
        }

        // Throughput: concurrent callers, distinct keys, 2 s.
        for tasks in [1_usize, 8, 32] {
            let done = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let run_for = Duration::from_secs(2);
            let handles: Vec<_> = (0..tasks)
                .map(|t| {
                    let (limiter, done) = (limiter.clone(), done.clone());
                    tokio::spawn(async move {
                        let caller: Arc<str> = format!("caller-{t}").into();
                        let key = RateKey {
                            server: "bench",
                            tool: "read_data",
                            caller: &caller,
                        };
                        // Bounded by time and by a cap on decisions.
                        for _ in 0..10_000_000 {
                            if started.elapsed() >= run_for {
                                break;
                            }
                            limiter.check(key, &spec).await.unwrap();
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            let n = done.load(Ordering::Relaxed);
            println!(
                "  {tasks:>2} concurrent callers: {:.0} decisions/s",
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
    });
}
