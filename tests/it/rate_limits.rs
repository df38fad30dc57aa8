//! Rate limits across replicas and under load: the Redis store against a real `redis-server`
//! (spawned on a free loopback port; the Redis tests skip with a message when it is not
//! installed), and the guarantees both stores give — exact admission under concurrency,
//! `retry_after` that never under-reports, the failure policy and recovery, expiring keys,
//! and the per-caller global budget end to end.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use mcp_secure::{
    RateSpec,
    error::retry_after_secs,
    rate::{
        FailurePolicy, MemoryRateLimiter, RateCheck, RateDecision, RateKey, RateLimiter,
        RedisRateLimiter,
    },
    redact::SecretString,
};
use mcp_secure_tests::{LogCapture, RedisServer, StdioServer, error_body};
use serde_json::json;

fn key(caller: &Arc<str>) -> RateKey<'_> {
    key_for("tool", caller)
}

fn key_for<'a>(tool: &'static str, caller: &'a Arc<str>) -> RateKey<'a> {
    RateKey {
        server: "rate-tests",
        tool,
        caller,
    }
}

fn redis_limiter(redis: &RedisServer) -> Arc<RedisRateLimiter> {
    RedisRateLimiter::builder(SecretString::from(redis.url()))
        .timeout(Duration::from_millis(200))
        .build()
}

async fn decide(limiter: &dyn RateLimiter, caller: &Arc<str>, spec: &RateSpec) -> RateDecision {
    limiter.check(key(caller), spec).await.expect("a decision")
}

#[tokio::test]
async fn two_replicas_sharing_redis_admit_exactly_the_limit() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let replicas = [redis_limiter(&redis), redis_limiter(&redis)];
    let caller: Arc<str> = "alice".into();
    let spec = RateSpec::per_minute(10);
    let mut admitted = [0_u32; 2];
    for i in 0..40 {
        if decide(&*replicas[i % 2], &caller, &spec).await == RateDecision::Allowed {
            admitted[i % 2] += 1;
        }
    }
    assert_eq!(admitted[0] + admitted[1], 10, "{admitted:?}");
    assert!(admitted[0] > 0 && admitted[1] > 0, "{admitted:?}");

    // Two in-process limiters, by contrast, would each admit the whole limit.
    let local = [
        MemoryRateLimiter::with_max_keys(10),
        MemoryRateLimiter::with_max_keys(10),
    ];
    let alone: u32 = (0..40)
        .map(|i| u32::from(local[i % 2].check_now(key(&caller), &spec) == RateDecision::Allowed))
        .sum();
    assert_eq!(alone, 20);
}

#[tokio::test]
async fn keys_are_namespaced_hashed_and_expire_on_their_own() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let limiter = redis_limiter(&redis);
    let caller: Arc<str> = "carol@example.com".into();
    // 10 per second, burst 2: the key's budget is full again 200 ms after the last call.
    let spec = RateSpec::new(10, 1, 2);
    assert_eq!(
        decide(&*limiter, &caller, &spec).await,
        RateDecision::Allowed
    );
    assert_eq!(
        decide(&*limiter, &caller, &spec).await,
        RateDecision::Allowed
    );

    let mut conn = redis.connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, vec![limiter.redis_key(key(&caller))]);
    let name = &keys[0];
    assert!(name.starts_with("mcp-secure:rl:{rate-tests:"), "{name}");
    assert!(
        name.ends_with("}:tool") && !name.contains("carol"),
        "{name}"
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(name)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=202).contains(&ttl), "PTTL {ttl}");
    // The theoretical arrival time is stored as whole microseconds since the epoch (Redis's
    // own number conversion, no exponent and no fraction), within a second of this clock's.
    let tat: String = redis::cmd("GET")
        .arg(name)
        .query_async(&mut conn)
        .await
        .unwrap();
    let tat: u64 = tat.parse().unwrap_or_else(|_| panic!("stored {tat:?}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    assert!(tat.abs_diff(now) < 1_000_000, "stored {tat}, now {now}");

    tokio::time::sleep(Duration::from_millis(350)).await;
    let left: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(left, 0, "the key outlived its budget");
    // An expired key is a fresh budget.
    assert_eq!(
        decide(&*limiter, &caller, &spec).await,
        RateDecision::Allowed
    );
}

/// The reported `retry_after` (whole seconds, rounded up) is when the next call is admitted:
/// a call one second earlier is still refused, a call at that time admitted.
async fn retry_after_is_the_next_admission(limiter: &dyn RateLimiter) {
    let caller: Arc<str> = format!("dave-{}", std::process::id()).into();
    // One call per 2.5 s.
    let spec = RateSpec::new(2, 5, 1);
    assert_eq!(decide(limiter, &caller, &spec).await, RateDecision::Allowed);
    let refused_at = Instant::now();
    let RateDecision::Limited { retry_after } = decide(limiter, &caller, &spec).await else {
        panic!("the second call must be limited");
    };
    assert!(
        retry_after <= Duration::from_millis(2500) && retry_after > Duration::from_millis(2000),
        "{retry_after:?}"
    );
    let reported = retry_after_secs(retry_after);
    assert_eq!(reported, 3);

    tokio::time::sleep_until((refused_at + Duration::from_secs(reported - 1)).into()).await;
    assert!(
        matches!(
            decide(limiter, &caller, &spec).await,
            RateDecision::Limited { .. }
        ),
        "admitted a second before the reported retry_after"
    );
    tokio::time::sleep_until((refused_at + Duration::from_secs(reported)).into()).await;
    assert_eq!(
        decide(limiter, &caller, &spec).await,
        RateDecision::Allowed,
        "still refused at the reported retry_after"
    );
}

#[tokio::test]
async fn retry_after_never_under_reports_in_memory() {
    retry_after_is_the_next_admission(&*MemoryRateLimiter::new(Duration::from_secs(60))).await;
}

#[tokio::test]
async fn retry_after_never_under_reports_on_redis() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    retry_after_is_the_next_admission(&*redis_limiter(&redis)).await;
}

/// Many tasks hammer one key for a while: at most burst + rate × elapsed (+1) get through.
async fn hammer(limiter: Arc<dyn RateLimiter>, spec: RateSpec, tasks: usize, run_for: Duration) {
    let caller: Arc<str> = "hammer".into();
    let admitted = Arc::new(AtomicU64::new(0));
    let decisions = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (limiter, caller, admitted, decisions) = (
                limiter.clone(),
                caller.clone(),
                admitted.clone(),
                decisions.clone(),
            );
            tokio::spawn(async move {
                // Bounded: the time limit, and a cap on decisions per task.
                for _ in 0..2_000_000 {
                    if started.elapsed() >= run_for {
                        break;
                    }
                    if limiter.check(key(&caller), &spec).await.expect("decision")
                        == RateDecision::Allowed
                    {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                    decisions.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = admitted.load(Ordering::Relaxed);
    let per_sec = f64::from(spec.count) / spec.period_secs as f64;
    let ceiling = f64::from(spec.burst) + per_sec * elapsed + 1.0;
    eprintln!(
        "{tasks} tasks, {:.2} s: {admitted} admitted of {} decisions (ceiling {ceiling:.0})",
        elapsed,
        decisions.load(Ordering::Relaxed)
    );
    assert!(
        admitted as f64 <= ceiling,
        "over-admitted: {admitted} > {ceiling:.1}"
    );
    // And not needlessly strict: well over half the budget is used (the tasks never pause).
    assert!(
        admitted as f64 >= ceiling / 2.0,
        "under-admitted: {admitted} of a possible {ceiling:.0}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_over_admission_under_concurrency_in_memory() {
    let limiter: Arc<dyn RateLimiter> = MemoryRateLimiter::new(Duration::from_secs(60));
    hammer(
        limiter,
        RateSpec::new(2_000, 1, 20),
        16,
        Duration::from_millis(1_500),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_over_admission_under_concurrency_on_redis() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let replicas: Arc<dyn RateLimiter> = RedisRateLimiter::builder(SecretString::from(redis.url()))
        .timeout(Duration::from_secs(2))
        .pool_size(4)
        .build();
    hammer(
        replicas,
        RateSpec::new(200, 1, 10),
        32,
        Duration::from_millis(1_500),
    )
    .await;
}

#[tokio::test]
async fn a_tool_budget_and_the_global_budget_are_charged_together_on_redis() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let limiter = redis_limiter(&redis);
    let caller: Arc<str> = "erin".into();
    let tool = RateSpec::per_minute(5);
    let global = RateSpec::per_minute(3);
    let checks = [
        RateCheck {
            key: key_for("write", &caller),
            spec: &tool,
        },
        RateCheck {
            key: key_for(RateKey::ALL_TOOLS, &caller),
            spec: &global,
        },
    ];
    let mut admitted = 0;
    for _ in 0..6 {
        match limiter.check_all(&checks).await.unwrap() {
            RateDecision::Allowed => admitted += 1,
            RateDecision::Limited { retry_after } => {
                assert!(retry_after > Duration::from_secs(15), "{retry_after:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted, 3, "the global budget caps the caller");
    // The three refused calls charged nothing: the tool's own budget still has 2 of 5.
    let mut tool_only = 0;
    for _ in 0..5 {
        if limiter
            .check(key_for("write", &caller), &tool)
            .await
            .unwrap()
            == RateDecision::Allowed
        {
            tool_only += 1;
        }
    }
    assert_eq!(tool_only, 2);
}

#[tokio::test]
async fn redis_outage_fails_closed_then_recovers() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let logs = LogCapture::start();
    let limiter = RedisRateLimiter::builder(SecretString::from(redis.url()))
        .timeout(Duration::from_millis(100))
        .retry_every(Duration::from_millis(100))
        .build();
    let caller: Arc<str> = "frank".into();
    let spec = RateSpec::per_minute(1_000);
    assert_eq!(
        decide(&*limiter, &caller, &spec).await,
        RateDecision::Allowed
    );

    // Slow: the server is frozen, so requests hang until the per-decision timeout.
    redis.signal("-STOP");
    for _ in 0..5 {
        let started = Instant::now();
        let err = limiter.check(key(&caller), &spec).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "a decision waited {:?}",
            started.elapsed()
        );
        assert!(!err.kind.is_empty());
    }
    assert!(limiter.is_degraded());
    redis.signal("-CONT");
    wait_for_recovery(&*limiter, &caller, &spec).await;

    // Down: killed outright, then restarted empty on the same port.
    redis.kill();
    assert!(limiter.check(key(&caller), &spec).await.is_err());
    redis.restart().await;
    wait_for_recovery(&*limiter, &caller, &spec).await;

    let out = logs.contents();
    assert_eq!(
        out.matches("rate_store_unavailable").count(),
        2,
        "one event per outage, not per decision:\n{out}"
    );
    assert_eq!(out.matches("rate_store_recovered").count(), 2, "{out}");
    assert!(!out.contains(&redis.url()), "the URL is a secret:\n{out}");
}

async fn wait_for_recovery(limiter: &dyn RateLimiter, caller: &Arc<str>, spec: &RateSpec) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(RateDecision::Allowed) = limiter.check(key(caller), spec).await {
            return;
        }
        assert!(Instant::now() < deadline, "the limiter did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn redis_outage_fails_open_to_the_in_process_limiter() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let limiter = RedisRateLimiter::builder(SecretString::from(redis.url()))
        .timeout(Duration::from_millis(100))
        .retry_every(Duration::from_millis(100))
        .failure_policy(FailurePolicy::Open)
        .build();
    let caller: Arc<str> = "grace".into();
    let spec = RateSpec::per_minute(3);
    assert_eq!(
        decide(&*limiter, &caller, &spec).await,
        RateDecision::Allowed
    );
    redis.kill();
    // The local limiter decides, and it still limits: 3 admitted, then refused.
    let mut admitted = 0;
    for _ in 0..6 {
        if decide(&*limiter, &caller, &spec).await == RateDecision::Allowed {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 3);
    assert!(limiter.is_degraded());
    // Redis back (empty): decisions go to it again.
    redis.restart().await;
    // (The fallback admits a new caller either way, so wait on the limiter's health.)
    let other: Arc<str> = "heidi".into();
    let deadline = Instant::now() + Duration::from_secs(15);
    while limiter.is_degraded() {
        assert!(Instant::now() < deadline, "the limiter did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
        decide(&*limiter, &other, &spec).await;
    }
    let mut conn = redis.connection().await.unwrap();
    let size: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(size, 1, "the recovered decision was made in Redis");
}

#[tokio::test]
async fn an_unparsable_url_refuses_without_echoing_it() {
    let limiter = RedisRateLimiter::builder(SecretString::from(
        "http://user:hunter2-pass@example/".to_string(),
    ))
    .build();
    let caller: Arc<str> = "ivan".into();
    let err = limiter
        .check(key(&caller), &RateSpec::per_minute(5))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{limiter:?}").contains("hunter2"));
}

/// Two `data_server` replicas over stdio, configured only by environment, share one global
/// budget in Redis: 5 calls a minute across tools, whichever replica takes them.
#[tokio::test]
async fn replicas_share_the_global_budget_end_to_end() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let url = redis.url();
    let env = [
        ("MCP_STDIO_SCOPES", "data:read data:write"),
        ("MCP_RATE_LIMIT", "5"),
        ("MCP_RATE_LIMIT_STORE", "redis"),
        ("REDIS_URL", url.as_str()),
    ];
    let program = env!("CARGO_BIN_EXE_data_server");
    let replicas = [
        StdioServer::start(program, &env).await,
        StdioServer::start(program, &env).await,
    ];
    let mut admitted = 0;
    let mut retry_after = None;
    for i in 0..12 {
        let (tool, args) = if i % 3 == 0 {
            ("write_data", json!({"id": format!("k{i}"), "data": "v"}))
        } else {
            ("read_data", json!({"id": "k0"}))
        };
        let result = replicas[i % 2].call(tool, args).await;
        if result.is_error == Some(true) {
            let body = error_body(&result);
            if body["code"] == "RATE_LIMITED" {
                retry_after = body["retry_after"].as_u64();
                continue;
            }
        }
        admitted += 1;
    }
    assert_eq!(admitted, 5, "two replicas, one budget of 5");
    let retry_after = retry_after.expect("refusals carry retry_after");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    for r in replicas {
        let stderr = r.finish().await;
        assert!(!stderr.contains(&url), "REDIS_URL is a secret:\n{stderr}");
    }
}
