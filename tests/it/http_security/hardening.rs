//! Findings of the hardening review, each a named test against the real server: the failure
//! throttle (cached tokens still served, the client address from trusted proxies only) and
//! the pre-check's reading of headers and body.

use super::*;

fn throttled_stack(proxies: &'static [&'static str]) -> StackOptions {
    StackOptions {
        http: Box::new(move |c| {
            c.failure_limit(mcp_secure::RateSpec::new(5, 60, 5))
                .trusted_proxies(mcp_secure::http::TrustedProxies::parse(proxies).unwrap())
        }),
        ..StackOptions::default()
    }
}

async fn call_from(s: &Stack, token: &str, forwarded_for: Option<&str>) -> u16 {
    let auth = format!("Bearer {token}");
    let extra: Vec<(&str, &str)> = forwarded_for
        .map(|f| vec![("x-forwarded-for", f)])
        .unwrap_or_default();
    post(
        &s.mcp_url,
        Some(&auth),
        &tools_call("whoami", json!({})),
        &extra,
    )
    .await
    .status
}

#[tokio::test]
async fn one_address_failing_does_not_lock_out_tokens_already_verified() {
    let s = Stack::start(throttled_stack(&[])).await;
    let alice = s.minter.token("data:read");
    assert_eq!(call_from(&s, &alice, None).await, 200);
    for _ in 0..6 {
        assert_eq!(call_from(&s, "not.a.token", None).await, 401);
    }
    // The address is throttled: a bad token, and a token never verified, wait.
    assert_eq!(call_from(&s, "not.a.token", None).await, 429);
    let mut fresh = s.minter.claims("data:read");
    fresh["sub"] = json!("bob");
    assert_eq!(call_from(&s, &s.minter.mint(&fresh), None).await, 429);
    // A token already verified is served from the cache: no signature work is done for it.
    assert_eq!(call_from(&s, &alice, None).await, 200);
}

#[tokio::test]
async fn the_throttle_keys_on_the_client_a_trusted_proxy_names() {
    let s = Stack::start(throttled_stack(&["127.0.0.0/8"])).await;
    for _ in 0..6 {
        call_from(&s, "not.a.token", Some("203.0.113.7")).await;
    }
    assert_eq!(call_from(&s, "not.a.token", Some("203.0.113.7")).await, 429);
    // Another client behind the same proxy is not affected.
    let token = s.minter.token("data:read");
    assert_eq!(call_from(&s, &token, Some("203.0.113.8")).await, 200);
    // The right-most untrusted entry is the client; what it prepends is not believed.
    assert_eq!(
        call_from(&s, "not.a.token", Some("203.0.113.9, 203.0.113.7")).await,
        429
    );
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let s = Stack::start(throttled_stack(&[])).await;
    // Rotating X-Forwarded-For does not escape the throttle: the peer address is what counts.
    for i in 0..6 {
        let xff = format!("198.51.100.{i}");
        call_from(&s, "not.a.token", Some(&xff)).await;
    }
    assert_eq!(
        call_from(&s, "not.a.token", Some("198.51.100.200")).await,
        429
    );
}

#[tokio::test]
async fn mcp_name_disagreeing_with_the_body_is_refused_with_400() {
    let s = stack().await;
    let token = s.minter.token("data:read");
    let auth = format!("Bearer {token}");
    // The header names a tool the caller may call; the body calls another.
    let r = post(
        &s.mcp_url,
        Some(&auth),
        &tools_call("write", json!({"text": "x"})),
        &[("mcp-method", "tools/call"), ("mcp-name", "whoami")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Agreeing headers are fine.
    let r = post(
        &s.mcp_url,
        Some(&auth),
        &tools_call("whoami", json!({})),
        &[("mcp-method", "tools/call"), ("mcp-name", "whoami")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A batch, and a body naming the tool twice.
    let batch = json!([tools_call("whoami", json!({}))]);
    let r = post(&s.mcp_url, Some(&auth), &batch, &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let twice = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"write","arguments":{}}}"#;
    let r = reqwest::Client::new()
        .post(&s.mcp_url)
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(twice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn a_caller_every_call_allows_is_not_pre_checked_but_still_refused_what_rmcp_refuses() {
    let s = stack().await;
    // admin:full grants every tool's scopes: no call could get 403, so the body goes to rmcp
    // unread by the pre-check.
    let token = s.minter.token("admin:full");
    let auth = format!("Bearer {token}");
    let r = post(
        &s.mcp_url,
        Some(&auth),
        &tools_call("admin", json!({})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("admin ok"), "{}", r.body);
    // A batch is still refused (by rmcp, which has none), and runs nothing.
    let batch = json!([tools_call("admin", json!({}))]);
    let r = post(&s.mcp_url, Some(&auth), &batch, &[]).await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    assert!(!r.body.contains("admin ok"), "{}", r.body);
    // `Mcp-Method`/`Mcp-Name` are still held to the body.
    let r = post(
        &s.mcp_url,
        Some(&auth),
        &tools_call("admin", json!({})),
        &[("mcp-method", "tools/call"), ("mcp-name", "whoami")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A narrower token on the same server is pre-checked: 403 before dispatch.
    let read = format!("Bearer {}", s.minter.token("data:read"));
    let r = post(
        &s.mcp_url,
        Some(&read),
        &tools_call("admin", json!({})),
        &[],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn a_token_with_characters_outside_b64token_is_refused_as_malformed() {
    let s = stack().await;
    let call = tools_call("whoami", json!({}));
    // Checked only for tokens the cache does not know: still refused before validation.
    for bad in ["Bearer ab$cd", "Bearer eyJ.eyJ.s%g", "Bearer ==", "Bearer "] {
        let r = post(&s.mcp_url, Some(bad), &call, &[]).await;
        assert_eq!(r.status, 401, "{bad:?}: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_token", "{bad:?}");
        assert_eq!(
            r.json()["error_description"],
            AuthFailure::Malformed.description(),
            "{bad:?}"
        );
    }
    // A well-formed token verified before is still served from the cache.
    let token = s.minter.token("data:read");
    assert_eq!(post_bearer(&s.mcp_url, &token, &call).await.status, 200);
    assert_eq!(post_bearer(&s.mcp_url, &token, &call).await.status, 200);
}
