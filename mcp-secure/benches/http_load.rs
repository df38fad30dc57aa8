//! HTTP load, measured from outside: every server and the load generator are separate
//! processes, so a server's cost is its own and not the generator's.
//!
//! Servers (release builds of this same binary in server roles; each serves a one-line echo
//! tool over stateless Streamable HTTP with JSON responses, two worker threads):
//!
//! - **bare**: rmcp's `StreamableHttpService` with a plain `#[tool]`, no authentication;
//! - **bare+jwt**: the same behind a hand-written RS256 check with a token cache (what a
//!   careful hand-rolled server would do);
//! - **secured**: mcp-secure: `#[secure_tool]` behind the OAuth resource server (Host/Origin
//!   guard, bearer parsing, RS256 JWT validation with the verified-token cache, the scope
//!   pre-check, the pipeline, the audit event);
//! - **secured+axum** (only when `HTTP_LOAD_ONLY` names it): the same router on `axum::serve`
//!   instead of `HttpServer::serve`'s accept loop (which adds the header-read timeout).
//!
//! The load generator (this binary in its load role: one thread, hyper HTTP/1.1 keep-alive
//! connections, every response checked for status and content) runs each phase against one
//! server for `HTTP_LOAD_SECS` (default 10) with 1 and with 8 connections (or the list in
//! `HTTP_LOAD_CONNECTIONS`); phases are interleaved over `HTTP_LOAD_ROUNDS` rounds (default
//! 4), the server order rotating each round. Per phase: requests/s, p50 and p99 latency, the
//! server's CPU per request (user + system from `/proc/<pid>/stat`), its context switches per
//! request (summed over its threads) and the machine's load average. The summary gives medians
//! and the ratios against bare rmcp, and writes an SVG of the ratios to
//! `target/http_load.svg` (or `HTTP_LOAD_SVG`).
//!
//! `HTTP_LOAD_EXTRA="name=command …"` adds an external server (FastMCP, say: see
//! `benches/fastmcp_server.py`); `{port}`, `{jwks}` and `{audience}` in the command are filled
//! in, and it must serve the same echo tool at `/mcp` checking the same tokens.
//!
//! Run: `cargo bench -p mcp-secure --bench http_load` (about 4 minutes with the defaults).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    collections::BTreeMap,
    io::Write,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use mcp_secure::{
    Security,
    auth::{Algorithm, JwtConfig, JwtValidator, KeySource, SigningKey},
    http::{HttpConfig, HttpServer},
    prelude::*,
};
use serde_json::{Value, json};

const ROLE: &str = "HTTP_LOAD_ROLE";
const ISSUER: &str = "https://as.example.com";
const TEXT: &str = "hello over http";

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("server") => server_main(),
        Ok("load") => load_main(),
        _ => {
            if std::env::args().any(|a| a == "--list") {
                return;
            }
            harness_main();
        }
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

// ---------------------------------------------------------------------------------------------
// Servers

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Echo {
    #[validate(length(max = 256))]
    text: String,
}

#[derive(Clone)]
struct Secured {
    security: Security,
}

#[secure_server(scopes = "data:read")]
impl Secured {
    /// Echoes the text.
    #[secure_tool(scopes = "data:read")]
    async fn echo(&self, Parameters(input): Parameters<Echo>) -> String {
        input.text
    }
}

mod bare {
    use rmcp::{
        ServerHandler, handler::server::wrapper::Parameters, tool, tool_handler, tool_router,
    };

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    pub struct Echo {
        text: String,
    }

    #[derive(Clone)]
    pub struct Bare;

    #[tool_router]
    impl Bare {
        /// Echoes the text.
        #[tool]
        async fn echo(&self, Parameters(input): Parameters<Echo>) -> String {
            input.text
        }
    }

    #[tool_handler]
    impl ServerHandler for Bare {}
}

fn server_main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let port: u16 = env("HTTP_LOAD_PORT").parse().unwrap();
        let audience = env("HTTP_LOAD_AUDIENCE");
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let jwks = || -> Value {
            serde_json::from_str(&std::fs::read_to_string(env("HTTP_LOAD_JWKS")).unwrap()).unwrap()
        };
        match env("HTTP_LOAD_KIND").as_str() {
            kind @ ("secured" | "secured+axum") => {
                let config = JwtConfig::new(ISSUER, audience.clone());
                let validator = JwtValidator::new(
                    config.clone(),
                    KeySource::from_jwks_json(&jwks(), config.allowed_algorithms()),
                );
                let http = HttpConfig::new(&audience, ISSUER).unwrap();
                let server = HttpServer::new(
                    Secured {
                        security: Security::default(),
                    },
                    Arc::new(validator),
                    http,
                );
                if kind == "secured" {
                    let running = server.serve(listener).await.unwrap();
                    std::future::pending::<()>().await;
                    drop(running);
                } else {
                    // The same router on `axum::serve`, as bare is served: no header-read
                    // timer, no graceful-shutdown watch (what `HttpServer::serve` adds).
                    let app = server
                        .router(Default::default())
                        .unwrap()
                        .fallback(|| async { axum::http::StatusCode::NOT_FOUND });
                    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    let _ = axum::serve(
                        listener,
                        app.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .await;
                }
            }
            kind => serve_bare(listener, kind == "bare+jwt", &jwks, &audience).await,
        }
    });
}

/// Bare rmcp, optionally behind a hand-written RS256 check with a token cache.
async fn serve_bare(
    listener: tokio::net::TcpListener,
    check: bool,
    jwks: &dyn Fn() -> Value,
    audience: &str,
) {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true);
    let service = StreamableHttpService::new(
        || Ok(bare::Bare),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mut app = axum::Router::new().route_service("/mcp", service);
    if check {
        let doc = jwks();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(doc["keys"][0].clone()).unwrap();
        let key = Arc::new(jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap());
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        let validation = Arc::new(validation);
        let cache: Arc<dashmap::DashMap<String, u64>> = Arc::default();
        app = app.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let (key, validation, cache) = (key.clone(), validation.clone(), cache.clone());
                async move {
                    let token = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .map(str::to_owned);
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    let ok = match token {
                        Some(t) => match cache.get(&t).map(|e| *e) {
                            Some(exp) => exp > now,
                            None => match jsonwebtoken::decode::<Value>(&t, &key, &validation) {
                                Ok(data) => {
                                    let exp = data.claims["exp"].as_u64().unwrap_or(0);
                                    cache.insert(t, exp);
                                    true
                                }
                                Err(_) => false,
                            },
                        },
                        None => false,
                    };
                    if ok {
                        next.run(req).await
                    } else {
                        axum::response::IntoResponse::into_response(
                            axum::http::StatusCode::UNAUTHORIZED,
                        )
                    }
                }
            },
        ));
    }
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let _ = axum::serve(listener, app).await;
}

// ---------------------------------------------------------------------------------------------
// Load generator

fn load_main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr: SocketAddr = env("HTTP_LOAD_ADDR").parse().unwrap();
    let token = env("HTTP_LOAD_TOKEN");
    let conns: usize = env("HTTP_LOAD_CONNS").parse().unwrap();
    let secs: f64 = env("HTTP_LOAD_PHASE").parse().unwrap();
    let result = runtime.block_on(load(addr, token, conns, Duration::from_secs_f64(secs)));
    println!("{result}");
}

async fn load(addr: SocketAddr, token: String, conns: usize, secs: Duration) -> Value {
    use http_body_util::{BodyExt, Full};
    let body = bytes::Bytes::from(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "echo", "arguments": {"text": TEXT}}})
        .to_string(),
    );
    let authorization = format!("Bearer {token}");
    let start = Instant::now();
    let deadline = start + secs;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (body, authorization) = (body.clone(), authorization.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            // Bounded by the deadline.
            while Instant::now() < deadline {
                let request = hyper::Request::post("/mcp")
                    .header("host", addr.to_string())
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("authorization", &authorization)
                    .body(Full::new(body.clone()))
                    .unwrap();
                let sent = Instant::now();
                let ok = match sender.send_request(request).await {
                    Ok(response) => {
                        let status = response.status();
                        match response.into_body().collect().await {
                            Ok(b) => {
                                let b = b.to_bytes();
                                status == 200 && b.windows(TEXT.len()).any(|w| w == TEXT.as_bytes())
                            }
                            Err(_) => false,
                        }
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                } else {
                    errors += 1;
                    if errors > 100 {
                        break;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    json!({
        "requests": all.len(),
        "errors": errors,
        "secs": elapsed,
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
    })
}

// ---------------------------------------------------------------------------------------------
// Harness

struct Server {
    name: String,
    child: Child,
    addr: SocketAddr,
    token: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// User + system CPU of `pid`, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command name.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

/// Context switches (voluntary and not) summed over `pid`'s threads: a server that wakes more
/// threads per request pays for it in CPU, most visibly with one connection.
fn context_switches(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let mut total = 0.0;
    for status in tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
    {
        for line in status.lines() {
            if let Some(("voluntary_ctxt_switches" | "nonvoluntary_ctxt_switches", n)) =
                line.split_once(':')
            {
                total += n.trim().parse::<f64>().unwrap_or(0.0);
            }
        }
    }
    total
}

fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0)
}

fn wait_for(addr: SocketAddr) {
    let start = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{addr} did not open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Phase {
    rps: f64,
    p50: f64,
    p99: f64,
    cpu_us: f64,
    /// Context switches per request.
    switches: f64,
    load: f64,
}

fn run_phase(server: &Server, conns: usize, secs: f64) -> Phase {
    let load = loadavg();
    let cpu = cpu_secs(server.child.id());
    let switches = context_switches(server.child.id());
    let out = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "load")
        .env("HTTP_LOAD_ADDR", server.addr.to_string())
        .env("HTTP_LOAD_TOKEN", &server.token)
        .env("HTTP_LOAD_CONNS", conns.to_string())
        .env("HTTP_LOAD_PHASE", secs.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let used = cpu_secs(server.child.id()) - cpu;
    let switched = context_switches(server.child.id()) - switches;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = r["requests"].as_f64().unwrap();
    assert_eq!(
        r["errors"].as_u64(),
        Some(0),
        "{}: responses failed the check",
        server.name
    );
    assert!(requests > 0.0, "{}: no request completed", server.name);
    Phase {
        rps: requests / r["secs"].as_f64().unwrap(),
        p50: r["p50_us"].as_f64().unwrap(),
        p99: r["p99_us"].as_f64().unwrap(),
        cpu_us: used * 1e6 / requests,
        // Threads that ended during the phase take their counts with them (Python servers
        // come and go): no figure rather than a wrong one.
        switches: if switched >= 0.0 {
            switched / requests
        } else {
            f64::NAN
        },
        load,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn harness_main() {
    let secs: f64 = std::env::var("HTTP_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let rounds: usize = std::env::var("HTTP_LOAD_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    // `HTTP_LOAD_CONNECTIONS=1` (a comma-separated list) runs some connection counts only.
    let connections: Vec<usize> = std::env::var("HTTP_LOAD_CONNECTIONS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .filter(|list: &Vec<usize>| !list.is_empty())
        .unwrap_or_else(|| vec![1, 8]);
    let key = SigningKey::generate(Algorithm::RS256, "k1").unwrap();
    let jwks_path =
        std::env::temp_dir().join(format!("http_load_jwks_{}.json", std::process::id()));
    std::fs::write(&jwks_path, json!({"keys": [key.public_jwk()]}).to_string()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token_for = |audience: &str| {
        key.sign(
            &json!({"iss": ISSUER, "sub": "bench", "aud": audience, "exp": now + 3000,
                    "iat": now, "scope": "data:read", "client_id": "bench"}),
            Some("at+jwt"),
        )
        .unwrap()
    };
    let mut kinds: Vec<(String, Option<String>)> = ["bare", "bare+jwt", "secured"]
        .iter()
        .map(|k| ((*k).to_owned(), None))
        .collect();
    // `HTTP_LOAD_ONLY=secured` (a comma-separated list) runs some servers only: to profile one
    // (`perf record -p <pid>`, the pid is printed) under the same load.
    // `secured+axum` (opt-in): the secured router on `axum::serve`, to measure what
    // `HttpServer::serve`'s own accept loop (header-read timeout, graceful shutdown) costs.
    if let Ok(only) = std::env::var("HTTP_LOAD_ONLY") {
        kinds.push(("secured+axum".to_owned(), None));
        kinds.retain(|(k, _)| only.split(',').any(|o| o == k));
    }
    if let Ok(extra) = std::env::var("HTTP_LOAD_EXTRA")
        && let Some((name, command)) = extra.split_once('=')
    {
        kinds.push((name.to_owned(), Some(command.to_owned())));
    }
    let mut servers: Vec<Server> = kinds
        .into_iter()
        .map(|(name, command)| {
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let audience = format!("http://{addr}/mcp");
            let child = match command {
                None => Command::new(std::env::current_exe().unwrap())
                    .env(ROLE, "server")
                    .env("HTTP_LOAD_KIND", &name)
                    .env("HTTP_LOAD_PORT", port.to_string())
                    .env("HTTP_LOAD_AUDIENCE", &audience)
                    .env("HTTP_LOAD_JWKS", &jwks_path)
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
                Some(command) => {
                    let command = command
                        .replace("{port}", &port.to_string())
                        .replace("{jwks}", &jwks_path.display().to_string())
                        .replace("{audience}", &audience);
                    Command::new("sh")
                        .args(["-c", &format!("exec {command}")])
                        .stdout(Stdio::null())
                        .spawn()
                        .unwrap()
                }
            };
            wait_for(addr);
            eprintln!("{name}: pid {}, {addr}", child.id());
            Server {
                token: token_for(&audience),
                name,
                child,
                addr,
            }
        })
        .collect();
    eprintln!(
        "servers: {}; {rounds} rounds x {secs} s per phase, connections {connections:?}",
        servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Warm up: every server, both connection counts.
    for s in &servers {
        for &conns in &connections {
            run_phase(s, conns, 2.0);
        }
    }
    let mut results: BTreeMap<(usize, String), Vec<Phase>> = BTreeMap::new();
    let n = servers.len();
    for round in 0..rounds {
        for &conns in &connections {
            for i in 0..n {
                let s = &servers[(i + round) % n];
                let p = run_phase(s, conns, secs);
                eprintln!(
                    "round {round} {conns:>1} conn {:<10} {:>8.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  cpu {:>6.1} µs/req  {:.2} cs/req  load {:.2}",
                    s.name, p.rps, p.p50, p.p99, p.cpu_us, p.switches, p.load
                );
                results.entry((conns, s.name.clone())).or_default().push(p);
            }
        }
    }
    for s in &mut servers {
        let _ = s.child.kill();
        let _ = s.child.wait();
    }
    let _ = std::fs::remove_file(&jwks_path);
    // Summary: medians, ratios against bare rmcp.
    let med = |conns: usize, name: &str, f: &dyn Fn(&Phase) -> f64| {
        median(results[&(conns, name.to_owned())].iter().map(f).collect())
    };
    let names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    let mut bars = Vec::new();
    println!(
        "\nmedians of {rounds} interleaved rounds of {secs} s (server and load generator in separate processes):"
    );
    for &conns in &connections {
        println!("\n{conns} connection(s):");
        println!(
            "  {:<10} {:>10} {:>9} {:>9} {:>12} {:>8} {:>10} {:>10}",
            "server", "req/s", "p50 µs", "p99 µs", "cpu µs/req", "cs/req", "req/s ×", "cpu ×"
        );
        let base = if names.iter().any(|n| n == "bare") {
            "bare"
        } else {
            names[0].as_str()
        };
        let base_rps = med(conns, base, &|p| p.rps);
        let base_cpu = med(conns, base, &|p| p.cpu_us);
        for name in &names {
            let rps = med(conns, name, &|p| p.rps);
            let cpu = med(conns, name, &|p| p.cpu_us);
            println!(
                "  {:<10} {:>10.0} {:>9.0} {:>9.0} {:>12.1} {:>8.2} {:>10.3} {:>10.3}",
                name,
                rps,
                med(conns, name, &|p| p.p50),
                med(conns, name, &|p| p.p99),
                cpu,
                med(conns, name, &|p| p.switches),
                rps / base_rps,
                cpu / base_cpu
            );
            if name != base {
                bars.push((
                    format!("{name}, {conns} conn"),
                    rps / base_rps,
                    cpu / base_cpu,
                ));
            }
        }
    }
    let loads: Vec<f64> = results.values().flatten().map(|p| p.load).collect();
    println!(
        "\nmachine load average during the phases: {:.2} to {:.2}",
        loads.iter().copied().fold(f64::INFINITY, f64::min),
        loads.iter().copied().fold(0.0, f64::max)
    );
    let path = std::env::var("HTTP_LOAD_SVG").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/http_load.svg").to_owned()
    });
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(svg(&bars).as_bytes()).unwrap();
    println!("plot: {path}");
}

/// A horizontal bar chart of the ratios against bare rmcp: throughput (higher is better) and
/// CPU per request (lower is better), with the 1.0 line.
fn svg(bars: &[(String, f64, f64)]) -> String {
    let (w, row, left, scale) = (720.0, 44.0, 200.0, 360.0);
    let h = 80.0 + row * bars.len() as f64;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">
<text x="10" y="20" font-weight="bold">mcp-secure and others against bare rmcp (1.0), medians of interleaved rounds</text>
<text x="10" y="38">requests/s (blue, higher is better); server CPU per request (orange, lower is better)</text>
"##
    );
    // Bars are drawn up to 2.0x; beyond, clipped (the label gives the value).
    let width = |r: f64| r.min(2.0) * scale / 2.0;
    for (i, (label, rps, cpu)) in bars.iter().enumerate() {
        let y = 56.0 + row * i as f64;
        out.push_str(&format!(
            r##"<text x="10" y="{}">{label}</text>
<rect x="{left}" y="{y}" width="{:.1}" height="16" fill="#3b6fb6"/><text x="{:.1}" y="{}">{rps:.2}×</text>
<rect x="{left}" y="{}" width="{:.1}" height="16" fill="#e08a2c"/><text x="{:.1}" y="{}">{cpu:.2}×</text>
"##,
            y + 20.0,
            width(*rps),
            left + width(*rps) + 4.0,
            y + 13.0,
            y + 18.0,
            width(*cpu),
            left + width(*cpu) + 4.0,
            y + 31.0,
        ));
    }
    let one = left + width(1.0);
    out.push_str(&format!(
        r##"<line x1="{one}" y1="48" x2="{one}" y2="{}" stroke="#333" stroke-dasharray="4 3"/>
<text x="{}" y="{}">1.0</text>
</svg>
"##,
        h - 10.0,
        one - 8.0,
        h - 0.0
    ));
    out
}
