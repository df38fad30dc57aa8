//! The key-set rows: weak keys, outages, floods of unknown `kid`s, rotation.

use super::*;

#[tokio::test]
async fn rsa_keys_under_2048_bits_are_refused_when_the_jwks_loads() {
    let s = stack().await;
    let logs = LogCapture::start();
    let mut weak = s.minter.key.public_jwk().clone();
    // A 1024-bit modulus (the top bit set).
    let mut n = vec![0xffu8; 128];
    n[127] |= 1;
    weak["n"] = json!(URL_SAFE_NO_PAD.encode(&n));
    weak["kid"] = json!("weak");
    s.auth.set_jwks(JwksBehaviour::Serve(
        json!({"keys": [weak, s.minter.key.public_jwk()]}),
    ));
    s.jwks.refresh().await.unwrap();
    // The weak key is skipped, the strong one kept.
    assert_eq!(s.jwks.key_count(), 1);
    let log = logs.contents();
    assert!(
        log.contains("key_skipped") && log.contains("RSA key shorter than 2048 bits"),
        "{log}"
    );
    let claims = s.minter.claims("data:read");
    refused(
        &s,
        &raw(&s, &header("RS256", "weak"), &claims),
        AuthFailure::UnknownKey,
    )
    .await;
    accepted(&s, &s.minter.token("data:read")).await;
}

fn fast_jwks() -> JwksConfig {
    let mut c = JwksConfig::default();
    c.cooldown = Duration::from_millis(300);
    c.timeout = Duration::from_millis(500);
    // Long enough that no test but the staleness row ever sees the last
    // good keys expire, however slow the machine.
    c.max_stale = Duration::from_secs(120);
    c.refresh_every = Duration::from_millis(600);
    c
}

#[tokio::test]
async fn jwks_down_keeps_last_good_keys_until_max_stale_then_fails_closed() {
    let mut jwks = fast_jwks();
    jwks.max_stale = Duration::from_secs(2);
    let s = Stack::start(StackOptions {
        jwks,
        jwt: Box::new(|c| c.cache_capacity(0)),
        ..StackOptions::default()
    })
    .await;
    let token = s.minter.token("data:read");
    accepted(&s, &token).await;
    s.auth.set_jwks(JwksBehaviour::Status(503));
    // Refresh is due and fails: the last good keys keep serving.
    tokio::time::sleep(Duration::from_millis(700)).await;
    accepted(&s, &token).await;
    assert!(s.auth.jwks_hits() >= 2, "a refresh was attempted");
    // Past max-stale: fail closed.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    refused(&s, &token, AuthFailure::KeysUnavailable).await;
    // Recovery when the JWKS is back.
    s.auth.set_jwks(JwksBehaviour::Serve(s.minter.jwks()));
    tokio::time::sleep(Duration::from_millis(350)).await;
    accepted(&s, &token).await;
}

#[tokio::test]
async fn jwks_slow_is_bounded_by_the_timeout() {
    let s = Stack::start(StackOptions {
        jwks: fast_jwks(),
        ..StackOptions::default()
    })
    .await;
    let other = SigningKey::generate(Algorithm::RS256, "rotated").unwrap();
    s.auth
        .set_jwks(JwksBehaviour::Slow(Duration::from_secs(5), s.minter.jwks()));
    let started = std::time::Instant::now();
    let token = other
        .sign(&s.minter.claims("data:read"), Some("at+jwt"))
        .unwrap();
    // An unknown kid triggers a refetch that times out; the request is answered promptly.
    let r = post_bearer(&s.mcp_url, &token, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 401);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The old key still works.
    accepted(&s, &s.minter.token("data:read")).await;
}

#[tokio::test]
async fn jwks_garbage_or_oversized_keeps_the_last_good_keys() {
    let s = Stack::start(StackOptions {
        jwks: fast_jwks(),
        jwt: Box::new(|c| c.cache_capacity(0)),
        ..StackOptions::default()
    })
    .await;
    let token = s.minter.token("data:read");
    for behaviour in [
        JwksBehaviour::Garbage,
        JwksBehaviour::Huge,
        JwksBehaviour::Serve(json!({"keys": []})),
        JwksBehaviour::Serve(json!({"keys": [{"kty": "nonsense"}]})),
    ] {
        s.auth.set_jwks(behaviour);
        assert!(s.jwks.refresh().await.is_err());
        assert_eq!(s.jwks.key_count(), 1);
        accepted(&s, &token).await;
    }
}

#[tokio::test]
async fn jwks_bad_keys_are_skipped_one_by_one() {
    let s = stack().await;
    let ec = SigningKey::generate(Algorithm::ES256, "ec-1").unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA, "ed-1").unwrap();
    let doc = json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        "not an object",
        ec.public_jwk(),
        ed.public_jwk(),
        s.minter.key.public_jwk(),
    ]});
    s.auth.set_jwks(JwksBehaviour::Serve(doc));
    assert_eq!(s.jwks.refresh().await.unwrap(), 3);
    for key in [&ec, &ed] {
        let token = key
            .sign(&s.minter.claims("data:read"), Some("at+jwt"))
            .unwrap();
        accepted(&s, &token).await;
    }
}

#[tokio::test]
async fn no_keys_ever_means_fail_closed() {
    let s = Stack::start(StackOptions {
        jwks: fast_jwks(),
        prefetch: false,
        ..StackOptions::default()
    })
    .await;
    s.auth.set_jwks(JwksBehaviour::Serve(json!({"keys": []})));
    refused(
        &s,
        &s.minter.token("data:read"),
        AuthFailure::KeysUnavailable,
    )
    .await;
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_cooldown() {
    // Default cooldown: 30 s.
    let s = stack().await;
    let hits = s.auth.jwks_hits();
    let claims = s.minter.claims("data:read");
    let tokens: Vec<String> = (0..200)
        .map(|i| raw(&s, &header("RS256", &format!("unknown-{i}")), &claims))
        .collect();
    let mut tasks = Vec::new();
    for token in tokens {
        let validator = s.validator.clone();
        tasks.push(tokio::spawn(async move {
            validator.validate(&token).await.err()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Some(AuthFailure::UnknownKey));
    }
    assert!(
        s.auth.jwks_hits() - hits <= 1,
        "fetches: {}",
        s.auth.jwks_hits() - hits
    );
    assert!(s.jwks.fetch_count() <= 2);
}

#[tokio::test]
async fn a_rotated_in_key_works_after_one_refetch() {
    let s = Stack::start(StackOptions {
        jwks: fast_jwks(),
        ..StackOptions::default()
    })
    .await;
    let rotated = SigningKey::generate(Algorithm::ES256, "key-2").unwrap();
    s.auth.set_jwks(JwksBehaviour::Serve(
        json!({"keys": [s.minter.key.public_jwk(), rotated.public_jwk()]}),
    ));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let hits = s.auth.jwks_hits();
    let token = rotated
        .sign(&s.minter.claims("data:write"), Some("at+jwt"))
        .unwrap();
    let r = post_bearer(
        &s.mcp_url,
        &token,
        &tools_call("write", json!({"text": "hi"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.auth.jwks_hits() - hits, 1);
}

#[tokio::test]
async fn a_cached_token_verified_without_a_kid_dies_when_its_key_leaves_the_jwks() {
    let s = stack().await;
    let mut without_kid = s.minter.key.public_jwk().clone();
    without_kid.as_object_mut().unwrap().remove("kid").unwrap();
    s.auth
        .set_jwks(JwksBehaviour::Serve(json!({"keys": [without_kid]})));
    s.jwks.refresh().await.unwrap();
    let token = raw(
        &s,
        &json!({"alg": "RS256", "typ": "at+jwt"}),
        &s.minter.claims("data:read"),
    );
    accepted(&s, &token).await;
    assert!(s.validator.cached(&token).is_some(), "the token is cached");
    // The key is rotated out for another (of another type).
    let other = SigningKey::generate(Algorithm::ES256, "other").unwrap();
    let mut other_jwk = other.public_jwk().clone();
    other_jwk.as_object_mut().unwrap().remove("kid");
    s.auth
        .set_jwks(JwksBehaviour::Serve(json!({"keys": [other_jwk]})));
    s.jwks.refresh().await.unwrap();
    assert!(s.validator.cached(&token).is_none());
    refused(&s, &token, AuthFailure::UnknownKey).await;
}

#[tokio::test]
async fn a_cached_token_dies_when_its_kid_is_reused_for_another_key() {
    let s = stack().await;
    let token = s.minter.token("data:read");
    accepted(&s, &token).await;
    assert!(s.validator.cached(&token).is_some());
    let impostor = SigningKey::generate(Algorithm::RS256, "key-1").unwrap();
    s.auth.set_jwks(JwksBehaviour::Serve(
        json!({"keys": [impostor.public_jwk()]}),
    ));
    s.jwks.refresh().await.unwrap();
    assert!(s.validator.cached(&token).is_none());
    refused(&s, &token, AuthFailure::BadSignature).await;
}
