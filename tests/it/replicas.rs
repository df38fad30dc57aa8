//! The two-replica deployment of `examples/replicas/` as CI can run it: a real redis-server,
//! two replicas of the data_server example reading `examples/replicas/mcp-secure.toml`, and a
//! caller whose calls alternate between them (as a round-robin balancer would spread them).
//! The rate limit is one budget across both; the public `Host` is accepted, others refused.

use mcp_secure::auth::Algorithm;
use mcp_secure_tests::{
    RedisServer, free_port,
    oauth::{JwksBehaviour, Minter, StubAuthServer, post, tools_call},
    wait_for_port,
};
use serde_json::json;

use super::DATA_SERVER;

const PUBLIC_HOST: &str = "mcp.example.test";

#[tokio::test]
async fn two_replicas_from_the_example_configuration_share_one_rate_limit() {
    let Some(redis) = RedisServer::start().await else {
        eprintln!("skipped: no redis-server");
        return;
    };
    let auth = StubAuthServer::start(json!({"keys": []})).await;
    let minter = Minter::new(
        Algorithm::ES256,
        "k",
        &auth.issuer(),
        &format!("http://{PUBLIC_HOST}/mcp"),
    );
    auth.set_jwks(JwksBehaviour::Serve(minter.jwks()));
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/replicas/mcp-secure.toml"
    );
    let mut replicas = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let child = tokio::process::Command::new(DATA_SERVER)
            .env_clear()
            .env("MCP_CONFIG", config)
            .env("MCP_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("REDIS_URL", redis.url())
            // The example names a placeholder issuer; here the test's stands in for it.
            .env("OAUTH_ISSUER", auth.issuer())
            .env("LOG_LEVEL", "error")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        wait_for_port(port).await;
        replicas.push(child);
        urls.push(format!("http://127.0.0.1:{port}/mcp"));
    }
    let bearer = format!("Bearer {}", minter.token("data:write"));
    // write_data allows a burst of 5 per caller: spread over both replicas, still 5 in all.
    let mut codes = Vec::new();
    for i in 0..6 {
        let url = &urls[i % 2];
        let body = tools_call("write_data", json!({"id": format!("r{i}"), "data": "x"}));
        let reply = post(url, Some(&bearer), &body, &[("host", PUBLIC_HOST)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let result = &reply.json()["result"];
        let code = if result["isError"] == true {
            let text = result["content"][0]["text"].as_str().unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(text).unwrap()["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        } else {
            "ok".to_owned()
        };
        codes.push(code);
    }
    assert_eq!(codes, ["ok", "ok", "ok", "ok", "ok", "RATE_LIMITED"]);
    // A Host that is not the public name is refused (DNS rebinding), on either replica.
    let body = tools_call("read_data", json!({"id": "r0"}));
    let foreign = post(&urls[0], Some(&bearer), &body, &[("host", "evil.example")]).await;
    assert_eq!(foreign.status, 403);
    for mut replica in replicas {
        replica.kill().await.unwrap();
    }
}
