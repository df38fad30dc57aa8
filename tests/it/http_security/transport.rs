//! Around the tokens: logged failure kinds, throttling, Origin and Host, sessions, key types.

use super::*;

#[tokio::test]
async fn auth_failures_log_a_fixed_kind_never_token_bytes_or_library_text() {
    let s = stack().await;
    let logs = LogCapture::start();
    let canary = "CANARYxTOKENx9";
    let h = json!({"alg": format!("RS256\n2026 INFO forged {canary}"), "typ": "at+jwt", "kid": format!("k\r\n{canary}")});
    let token = raw(&s, &h, &s.minter.claims("data:read"));
    let r = post_bearer(&s.mcp_url, &token, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 401);
    assert!(!r.body.contains(canary) && !r.challenge().contains(canary));
    let expired = {
        let mut c = s.minter.claims("data:read");
        c["exp"] = json!(now() - 1000);
        c["iat"] = json!(now() - 2000);
        s.minter.mint(&c)
    };
    post_bearer(&s.mcp_url, &expired, &tools_call("whoami", json!({}))).await;
    let log = logs.contents();
    assert!(!log.contains(canary), "{log}");
    assert!(!log.contains(&token[..40]), "token bytes in the log");
    assert!(!log.contains(&expired[..40]), "token bytes in the log");
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "auth_failure")
        .collect();
    let reasons: Vec<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert_eq!(reasons, vec!["bad_algorithm", "expired"]);
    assert!(events.iter().all(|e| e["client_ip"] == "127.0.0.1"));
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled_with_retry_after() {
    let s = Stack::start(StackOptions {
        http: Box::new(|c| c.failure_limit(mcp_secure::RateSpec::new(5, 60, 5))),
        ..StackOptions::default()
    })
    .await;
    let call = tools_call("whoami", json!({}));
    // A token verified before the address is throttled.
    let verified = s.minter.token("data:read");
    assert_eq!(post_bearer(&s.mcp_url, &verified, &call).await.status, 200);
    for _ in 0..6 {
        let r = post_bearer(&s.mcp_url, "not.a.token", &call).await;
        assert_eq!(r.status, 401);
    }
    // A token not verified yet (another scope: not the same bytes) is not.
    let r = post_bearer(&s.mcp_url, &s.minter.token("data:read data:write"), &call).await;
    assert_eq!(r.status, 429);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    // A credential that cannot be read is throttled too, not answered 401 for another try.
    let r = post(&s.mcp_url, Some("Bearer not a token"), &call, &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    // The throttle guards verification, not the cache: the token verified before is served.
    let r = post_bearer(&s.mcp_url, &verified, &call).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn an_origin_that_is_present_and_not_allowed_gets_403() {
    let s = Stack::start(StackOptions {
        http: Box::new(|c| c.allowed_origins(["http://localhost:6274"])),
        ..StackOptions::default()
    })
    .await;
    let token = format!("Bearer {}", s.minter.token("data:read"));
    let body = tools_call("whoami", json!({}));
    let r = post(
        &s.mcp_url,
        Some(&token),
        &body,
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(&s.mcp_url, Some(&token), &body, &[("origin", "null")]).await;
    assert_eq!(r.status, 403);
    let r = post(
        &s.mcp_url,
        Some(&token),
        &body,
        &[("origin", "http://localhost:6274")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Metadata endpoints are guarded too.
    let r = reqwest::Client::new()
        .get(format!("{}/.well-known/oauth-protected-resource", s.base))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_host_that_is_not_this_server_gets_403() {
    let s = stack().await;
    let token = format!("Bearer {}", s.minter.token("data:read"));
    let r = post(
        &s.mcp_url,
        Some(&token),
        &tools_call("whoami", json!({})),
        &[("host", "attacker.example:80")],
    )
    .await;
    assert_eq!(r.status, 403);
    let port = s.base.rsplit(':').next().unwrap().to_owned();
    let r = post(
        &s.mcp_url,
        Some(&token),
        &tools_call("whoami", json!({})),
        &[("host", &format!("localhost:{port}"))],
    )
    .await;
    assert_eq!(r.status, 200);
}

/// Opens a stateful session as `token`'s principal and returns its id.
async fn open_session(s: &Stack, token: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = post_bearer(&s.mcp_url, token, &init).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.headers["mcp-session-id"].to_str().unwrap().to_owned()
}

async fn stateful_stack() -> Stack {
    Stack::start(StackOptions {
        http: Box::new(|c| c.stateful(true).json_response(false)),
        ..StackOptions::default()
    })
    .await
}

/// Sends `method` on `session` with `token`, returning the status.
async fn on_session(s: &Stack, method: reqwest::Method, token: &str, session: &str) -> u16 {
    let client = reqwest::Client::new();
    let request = client
        .request(method, &s.mcp_url)
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18");
    let response = request
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn session_ids_are_not_authentication() {
    let s = stateful_stack().await;
    let alice = s.minter.token("data:read");
    let session = open_session(&s, &alice).await;
    // The session id alone: 401.
    let r = post(
        &s.mcp_url,
        None,
        &tools_call("whoami", json!({})),
        &[("mcp-session-id", &session)],
    )
    .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_session_is_bound_to_the_principal_that_opened_it() {
    let s = stateful_stack().await;
    let logs = LogCapture::start();
    let alice = s.minter.token("data:read");
    let session = open_session(&s, &alice).await;
    let as_alice = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {alice}")),
        &initialized,
        &as_alice,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);

    // Bob holds a valid token and alice's session id: every verb answers as if the session
    // did not exist.
    let mut bob_claims = s.minter.claims("data:read");
    bob_claims["sub"] = json!("bob");
    let bob = s.minter.mint(&bob_claims);
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {bob}")),
        &tools_call("whoami", json!({})),
        &as_alice,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body, "Not Found: Session not found");
    assert_eq!(
        on_session(&s, reqwest::Method::GET, &bob, &session).await,
        404
    );
    assert_eq!(
        on_session(&s, reqwest::Method::DELETE, &bob, &session).await,
        404
    );
    // The same user through another OAuth client is another principal.
    let mut other_client = s.minter.claims("data:read");
    other_client["client_id"] = json!("another-client");
    let other_client = s.minter.mint(&other_client);
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {other_client}")),
        &tools_call("whoami", json!({})),
        &as_alice,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // A made-up id is answered the same way.
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {alice}")),
        &tools_call("whoami", json!({})),
        &[
            ("mcp-session-id", "made-up"),
            ("mcp-protocol-version", "2025-06-18"),
        ],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Alice's session survived all of it, and a fresh token of hers (same issuer, subject and
    // client) may use it.
    let mut again = s.minter.claims("data:read");
    again["jti"] = json!("another-token-of-alice");
    let alice_again = s.minter.mint(&again);
    assert_ne!(alice_again, alice);
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {alice_again}")),
        &tools_call("whoami", json!({})),
        &as_alice,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"subject\""), "{}", r.body);
    // She ends it; then it is gone for her too.
    assert_eq!(
        on_session(&s, reqwest::Method::DELETE, &alice, &session).await,
        202
    );
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {alice}")),
        &tools_call("whoami", json!({})),
        &as_alice,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);

    let log = logs.contents();
    let refused: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "session_refused")
        .collect();
    // Bob's three attempts and the other client's one; the made-up id is not someone else's.
    assert_eq!(refused.len(), 4, "{log}");
    assert!(
        refused.iter().all(|e| e["reason"] == "other_principal"),
        "{log}"
    );
    assert!(
        refused.iter().take(3).all(|e| e["subject"] == "bob"),
        "{log}"
    );
    // Our events do not carry the id (rmcp's own debug logs name sessions; with binding an id
    // is no longer worth anything to whoever reads it).
    assert!(
        refused.iter().all(|e| !e.to_string().contains(&session)),
        "{log}"
    );
}

#[tokio::test]
async fn tokens_signed_with_ec_and_ed25519_keys_are_accepted() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::PS256,
    ] {
        let s = Stack::start(StackOptions {
            alg,
            ..StackOptions::default()
        })
        .await;
        accepted(&s, &s.minter.token("data:read")).await;
        // A signature from another key of the same kind fails.
        let other = Minter::new(alg, "key-1", &s.auth.issuer(), &s.mcp_url);
        refused(&s, &other.token("data:read"), AuthFailure::BadSignature).await;
    }
}

/// Slow-loris protection: a client that never finishes its request head is cut off after the
/// header timeout (plus at most one tick of the server's ticker); one that sends its head in
/// pieces within the timeout is served, and its idle keep-alive connection is closed in turn.
#[tokio::test]
async fn a_request_head_must_arrive_within_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = std::time::Duration::from_millis(600);
    let s = Stack::start(StackOptions {
        http: Box::new(move |c| c.header_timeout(timeout)),
        ..StackOptions::default()
    })
    .await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let limit = timeout + std::time::Duration::from_millis(75) + std::time::Duration::from_secs(1);

    // Never finished: closed.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: ")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(limit * 3, slow.read_to_end(&mut rest)).await;
    let waited = started.elapsed();
    assert!(closed.is_ok(), "still open after {waited:?}");
    assert!(
        waited >= timeout - std::time::Duration::from_millis(50) && waited < limit,
        "closed after {waited:?}"
    );
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));

    // In two pieces, within the timeout: served; then idle: closed.
    let mut ok = tokio::net::TcpStream::connect(&addr).await.unwrap();
    ok.write_all(b"GET /.well-known/oauth-protected-resource HTTP/1.1\r\n")
        .await
        .unwrap();
    tokio::time::sleep(timeout / 2).await;
    ok.write_all(format!("Host: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 12];
    ok.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(limit * 3, ok.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "idle connection still open");
    assert!(
        started.elapsed() < limit,
        "closed after {:?}",
        started.elapsed()
    );
}
