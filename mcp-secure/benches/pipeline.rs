//! The cost of the secured pipeline on the allowed path, against bare rmcp, in one run.
//!
//! Both servers run the same tool body in process (rmcp client ↔ server over an in-memory
//! duplex, current-thread runtime). The secured one adds: principal lookup, scope check with
//! a hierarchy, a GCRA rate-limit decision, the argument size cap, `validator` rules and an
//! injection guard, output redaction (one registered secret plus the credential patterns)
//! and the audit event.
//!
//! Criterion measures each variant; afterwards an interleaved A/B run (alternating blocks of
//! calls, median of the per-round ratios) gives the ratio, which is robust to the drift of a
//! noisy machine. Run: `cargo bench -p mcp-secure --bench pipeline`.

#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::Criterion;
use mcp_secure::{
    Principal, ScopeSet, Security,
    prelude::*,
    rmcp::{
        RoleClient, RoleServer, ServerHandler, ServiceExt,
        handler::server::router::tool::ToolRouter,
        model::{CallToolRequestParams, JsonObject},
        service::RunningService,
        tool, tool_handler, tool_router,
        transport::async_rw::AsyncRwTransport,
    },
    stdio::LocalPrincipalTransport,
};
use serde_json::json;

#[derive(
    Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema, validator::Validate,
)]
struct Echo {
    #[validate(
        length(min = 1, max = 256),
        custom(function = "guards::no_control_characters")
    )]
    text: String,
    #[validate(range(min = 0, max = 1000))]
    count: u32,
}

fn body(input: Echo) -> Json<Echo> {
    Json(Echo {
        text: input.text,
        count: input.count + 1,
    })
}

#[derive(Clone)]
struct Bare {
    router: ToolRouter<Self>,
}

#[tool_router]
impl Bare {
    #[tool(description = "echo")]
    async fn echo(&self, Parameters(input): Parameters<Echo>) -> Json<Echo> {
        body(input)
    }
}

#[tool_handler(router = self.router)]
impl ServerHandler for Bare {}

#[derive(Clone)]
struct Secured {
    security: Security,
}

#[secure_server(scopes = "data:read data:write", hierarchy = "data:write > data:read")]
impl Secured {
    /// echo
    #[secure_tool(scopes = "data:read", rate = "4000000000/s")]
    async fn echo(&self, Parameters(input): Parameters<Echo>) -> Json<Echo> {
        body(input)
    }
}

async fn connect<T>(
    serve: impl FnOnce(tokio::io::DuplexStream) -> T,
) -> RunningService<RoleClient, ()>
where
    T: std::future::Future<Output = ()> + Send + 'static,
{
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve(server_io));
    let (r, w) = tokio::io::split(client_io);
    ().serve((r, w)).await.expect("handshake")
}

async fn bare_client() -> RunningService<RoleClient, ()> {
    connect(|io| async move {
        let server = Bare {
            router: Bare::tool_router(),
        };
        if let Ok(running) = server.serve(io).await {
            let _ = running.waiting().await;
        }
    })
    .await
}

async fn secured_client() -> RunningService<RoleClient, ()> {
    connect(|io| async move {
        let secret = SecretString::from("sk-live-0123456789abcdef".to_string());
        let server = Secured {
            security: Security::builder().secret(&secret).build(),
        };
        let principal =
            Principal::local("bench", ScopeSet::parse("data:write").unwrap_or_default());
        let (r, w) = tokio::io::split(io);
        let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(r, w);
        if let Ok(running) = server
            .serve(LocalPrincipalTransport::new(transport, principal))
            .await
        {
            let _ = running.waiting().await;
        }
    })
    .await
}

fn request() -> CallToolRequestParams {
    let args: JsonObject = match json!({"text": "hello, secured world", "count": 41}) {
        serde_json::Value::Object(m) => m,
        _ => JsonObject::new(),
    };
    CallToolRequestParams::new("echo").with_arguments(args)
}

async fn call(client: &RunningService<RoleClient, ()>) {
    let result = client.call_tool(request()).await.expect("call");
    assert_eq!(result.is_error, Some(false));
}

async fn timed_block(client: &RunningService<RoleClient, ()>, calls: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..calls {
        call(client).await;
    }
    start.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bare = rt.block_on(bare_client());
    let secured = rt.block_on(secured_client());

    // For a profiler: `PIPELINE_ONLY=bare|secured` runs that one alone for 10 s and nothing else.
    if let Ok(only) = std::env::var("PIPELINE_ONLY") {
        let client = if only == "bare" { &bare } else { &secured };
        let calls = rt.block_on(async {
            let start = Instant::now();
            let mut calls = 0u64;
            while start.elapsed() < Duration::from_secs(10) {
                timed_block(client, 1_000).await;
                calls += 1_000;
            }
            calls
        });
        println!("{only}: {calls} calls in 10 s");
        return;
    }

    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    {
        let mut group = criterion.benchmark_group("tools_call_in_process");
        group.bench_function("bare_rmcp", |b| b.to_async(&rt).iter(|| call(&bare)));
        group.bench_function("secured", |b| b.to_async(&rt).iter(|| call(&secured)));
        group.finish();
    }
    criterion.final_summary();

    // Interleaved A/B: alternate blocks so both see the same machine state.
    const ROUNDS: usize = 30;
    const CALLS: u32 = 2_000;
    let mut ratios = Vec::with_capacity(ROUNDS);
    let (mut bare_total, mut secured_total) = (Duration::ZERO, Duration::ZERO);
    rt.block_on(async {
        timed_block(&bare, CALLS).await;
        timed_block(&secured, CALLS).await;
        for round in 0..ROUNDS {
            let (b, s) = if round % 2 == 0 {
                let b = timed_block(&bare, CALLS).await;
                (b, timed_block(&secured, CALLS).await)
            } else {
                let s = timed_block(&secured, CALLS).await;
                (timed_block(&bare, CALLS).await, s)
            };
            bare_total += b;
            secured_total += s;
            ratios.push(s.as_secs_f64() / b.as_secs_f64());
        }
    });
    ratios.sort_by(f64::total_cmp);
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(CALLS) / ROUNDS as f64;
    println!(
        "interleaved A/B ({ROUNDS} rounds x {CALLS} calls): bare {:.2} us/call, secured {:.2} us/call, \
         median ratio {:.3} (p10 {:.3}, p90 {:.3})",
        per_call(bare_total),
        per_call(secured_total),
        ratios[ROUNDS / 2],
        ratios[ROUNDS / 10],
        ratios[ROUNDS * 9 / 10],
    );
}
