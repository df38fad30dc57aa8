//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server mode)
//! against `examples/everything.rs`: every tool, resource and prompt secured, served by
//! mcp-secure's HTTP stack as an OAuth resource server. The suite cannot send a token, so a
//! small proxy in front of the server adds one (minted with a key the server trusts through
//! `OAUTH_JWKS_FILE`) and passes everything else through unchanged, `Host` and `Origin`
//! included, so the suite's DNS-rebinding checks reach the server's own guard.

use std::{path::PathBuf, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    response::Response,
};
use futures::TryStreamExt;
use mcp_secure::auth::Algorithm;
use mcp_secure_tests::{free_port, oauth::Minter, wait_for_port};
use serde_json::json;

use crate::node::NodeClients;

const EVERYTHING: &str = env!("CARGO_BIN_EXE_everything");
const ISSUER: &str = "https://conformance.invalid";

/// Headers that describe one hop, not the message.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];

#[derive(Clone)]
struct Proxy {
    upstream: String,
    token: String,
    client: reqwest::Client,
}

/// Forwards one request to the server with the token added, streaming the answer back.
async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", proxy.upstream);
    let mut upstream = proxy.client.request(parts.method.clone(), url);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "authorization" {
            upstream = upstream.header(name, value);
        }
    }
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let answer = upstream.bearer_auth(&proxy.token).body(body).send().await;
    let Ok(answer) = answer else {
        return Response::builder().status(502).body(Body::empty()).unwrap();
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(name, value);
        }
    }
    let stream = answer.bytes_stream().map_err(std::io::Error::other);
    response.body(Body::from_stream(stream)).unwrap()
}

/// The conformance suite's command line.
fn suite(node: &NodeClients) -> Option<PathBuf> {
    let path = node
        .dir()
        .join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    path.is_file().then_some(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_passes_against_the_secured_everything_server() {
    let Some(node) = NodeClients::find("the_conformance_suite_passes") else {
        return;
    };
    let Some(suite) = suite(&node) else {
        panic!("tests/node has no @modelcontextprotocol/conformance (cd tests/node && npm ci)");
    };
    let (server_port, proxy_port) = (free_port(), free_port());
    let resource = format!("http://127.0.0.1:{proxy_port}/mcp");
    let minter = Minter::new(Algorithm::ES256, "conformance", ISSUER, &resource);
    let dir = std::env::temp_dir().join(format!("mcp-secure-conformance-{proxy_port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, minter.jwks().to_string()).unwrap();
    let mut server = tokio::process::Command::new(EVERYTHING)
        .env_clear()
        .env("MCP_TRANSPORT", "http")
        .env("MCP_HTTP_ADDR", format!("127.0.0.1:{server_port}"))
        .env("MCP_HTTP_SESSIONS", "stateful")
        .env("OAUTH_ISSUER", ISSUER)
        .env("OAUTH_RESOURCE", &resource)
        .env("OAUTH_JWKS_FILE", &jwks)
        .env("OAUTH_SKIP_METADATA_CHECK", "true")
        .env("LOG_LEVEL", "error")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(server_port).await;

    let mut claims = minter.claims("conformance");
    claims["exp"] = json!(mcp_secure_tests::oauth::now() + 3000);
    let proxy = Proxy {
        upstream: format!("http://127.0.0.1:{server_port}"),
        token: minter.mint(&claims),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let app = Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", proxy_port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let out = tokio::time::timeout(
        Duration::from_secs(600),
        node.run(&[
            suite.to_str().unwrap(),
            "server",
            "--url",
            &resource,
            "--suite",
            "all",
            "-o",
            dir.to_str().unwrap(),
        ]),
    )
    .await
    .expect("the suite finishes within ten minutes");
    server.kill().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.contains("passed") || l.contains("failed") || l.contains("FAIL"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("conformance: {summary}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // "Total: 46 passed, 0 failed": every check of every server scenario, the pending ones
    // (JSON Schema 2020-12, SSE polling) included.
    let total = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Total: "))
        .unwrap_or_else(|| panic!("no total in the suite's output: {stdout}"));
    let count = |word: &str| -> u32 {
        total
            .split(", ")
            .find_map(|part| part.strip_suffix(word))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("cannot read `{word}` in {total:?}"))
    };
    assert_eq!(count(" failed"), 0, "{stdout}");
    assert!(count(" passed") >= 46, "{total}");
}
