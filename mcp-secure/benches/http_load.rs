//! Load over HTTP on loopback: authenticated `tools/call` throughput against the same server
//! with authentication turned off, in one run.
//!
//! Three servers run side by side in this process (release build, stateless Streamable HTTP,
//! JSON responses), each serving the same secured echo tool:
//!
//! - **auth**: the full resource server: Host/Origin guard, bearer parsing, RS256 JWT
//!   validation with the verified-token cache, the `tools/call` scope pre-check, the pipeline;
//! - **auth off**: the same stack, with a validator that checks nothing and returns a fixed
//!   principal (so only token verification and the cache are switched off);
//! - **bare rmcp**: rmcp's `StreamableHttpService` alone with a principal injected, for
//!   reference.
//!
//! `CONNECTIONS` keep-alive clients post `tools/call` as fast as they can; phases of
//! `PHASE_SECS` alternate between the servers for `ROUNDS` rounds and the median throughput
//! of each is reported, with the ratios. Run: `cargo bench -p mcp-secure --bench http_load`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures::future::BoxFuture;
use mcp_secure::{
    Principal, ScopeSet, Security,
    auth::{
        Algorithm, AuthFailure, JwtConfig, JwtValidator, KeySource, SigningKey, TokenValidator,
    },
    http::{HttpConfig, HttpServer},
    prelude::*,
    rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde_json::json;

const CONNECTIONS: usize = 8;
const PHASE_SECS: u64 = 3;
const ROUNDS: usize = 4;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Echo {
    #[validate(length(max = 256))]
    text: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scopes = "data:read")]
impl Server {
    /// echo
    #[secure_tool(scopes = "data:read")]
    async fn echo(&self, Parameters(input): Parameters<Echo>) -> String {
        input.text
    }
}

/// "Auth off": accepts anything as a fixed caller.
#[derive(Debug)]
struct NoAuth(Principal);

impl TokenValidator for NoAuth {
    fn validate<'a>(&'a self, _token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
}

fn server() -> Server {
    Server {
        security: Security::default(),
    }
}

async fn start_secured(validator: Arc<dyn TokenValidator>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let config = HttpConfig::new(&url, "https://as.example.com").unwrap();
    let running = HttpServer::new(server(), validator, config)
        .serve(listener)
        .await
        .unwrap();
    std::mem::forget(running);
    url
}

async fn start_bare(principal: Principal) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true);
    let service = StreamableHttpService::new(
        || Ok(server()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            move |mut req: axum::extract::Request, next: axum::middleware::Next| {
                req.extensions_mut().insert(principal.clone());
                next.run(req)
            },
        ));
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/mcp")
}

async fn phase(url: &str, token: &str, secs: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hello over http"}}})
    .to_string();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        let (url, token, body, stop, done) = (
            url.to_owned(),
            token.to_owned(),
            body.clone(),
            stop.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("authorization", format!("Bearer {token}"))
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let text = r.text().await.unwrap();
                assert!(text.contains("hello over http"), "{text}");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let key = SigningKey::generate(Algorithm::RS256, "k1").unwrap();
    let jwks = json!({"keys": [key.public_jwk()]});
    // The audience must be this server's URL, which is known once bound; bind first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth_url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let config = JwtConfig::new("https://as.example.com", auth_url.clone());
    let validator = JwtValidator::new(
        config.clone(),
        KeySource::from_jwks_json(&jwks, config.allowed_algorithms()),
    );
    let http = HttpConfig::new(&auth_url, "https://as.example.com").unwrap();
    let running = HttpServer::new(server(), Arc::new(validator), http)
        .serve(listener)
        .await
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = key
        .sign(
            &json!({"iss": "https://as.example.com", "sub": "bench", "aud": auth_url, "exp": now + 3000,
                    "iat": now, "scope": "data:read", "client_id": "bench"}),
            Some("at+jwt"),
        )
        .unwrap();

    let principal = Principal::bearer("bench")
        .scopes(ScopeSet::parse("data:read").unwrap())
        .build();
    let off_url = start_secured(Arc::new(NoAuth(principal.clone()))).await;
    let bare_url = start_bare(principal).await;

    // Warm up every server.
    for url in [&auth_url, &off_url, &bare_url] {
        phase(url, &token, 1).await;
    }
    let (mut auth, mut off, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let order: [usize; 3] = if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
        for which in order {
            match which {
                0 => auth.push(phase(&auth_url, &token, PHASE_SECS).await),
                1 => off.push(phase(&off_url, &token, PHASE_SECS).await),
                _ => bare.push(phase(&bare_url, &token, PHASE_SECS).await),
            }
        }
    }
    let (auth, off, bare) = (median(auth), median(off), median(bare));
    println!(
        "HTTP tools/call, {CONNECTIONS} connections, median of {ROUNDS} rounds x {PHASE_SECS} s:"
    );
    println!("  auth (RS256 JWT, cached):  {auth:>8.0} req/s");
    println!("  auth off:                  {off:>8.0} req/s");
    println!("  bare rmcp (+ principal):   {bare:>8.0} req/s");
    println!("  auth / auth off = {:.3}", auth / off);
    println!("  auth / bare rmcp = {:.3}", auth / bare);
    running.shutdown().await;
}
