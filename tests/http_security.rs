//! Every row of the resource server's refusal table (shared/SECURITY.md), as a named test
//! against the real HTTP server on a loopback port, with a JWKS served by a real local HTTP
//! server and tokens signed with real RSA, EC and Ed25519 keys.
//!
//! Rows marked "lib" in the table are refused by jsonwebtoken already; their tests stay so a
//! dependency bump cannot regress them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mcp_secure::auth::{Algorithm, AuthFailure, JwksConfig, SigningKey, TokenValidator, TypPolicy};
use mcp_secure_tests::{
    LogCapture,
    oauth::{JwksBehaviour, Minter, Stack, StackOptions, now, post, post_bearer, tools_call},
};
use serde_json::{Value, json};

/// The challenge of a refused token.
fn invalid_token_challenge(stack: &Stack) -> String {
    format!(
        "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\"",
        stack.base
    )
}

/// Asserts that `token` gets 401 `invalid_token` with the metadata pointer, and that the
/// validator gives `reason`.
async fn refused(stack: &Stack, token: &str, reason: AuthFailure) {
    let r = post_bearer(&stack.mcp_url, token, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 401, "expected 401, got {} {}", r.status, r.body);
    assert!(
        r.challenge().starts_with(&invalid_token_challenge(stack)),
        "challenge: {}",
        r.challenge()
    );
    assert_eq!(r.json()["error"], "invalid_token");
    let got = stack.validator.validate(token).await.err();
    assert_eq!(got, Some(reason), "validator reason");
}

async fn accepted(stack: &Stack, token: &str) {
    let r = post_bearer(&stack.mcp_url, token, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 200, "expected 200, got {} {}", r.status, r.body);
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "typ": "at+jwt", "kid": kid})
}

/// Signs arbitrary header/claims JSON with the stack's key.
fn raw(stack: &Stack, header: &Value, claims: &Value) -> String {
    stack
        .minter
        .key
        .sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .unwrap()
}

fn rs(_stack: &Stack) -> Value {
    header("RS256", "key-1")
}

async fn stack() -> Stack {
    Stack::start(StackOptions::default()).await
}

#[tokio::test]
async fn alg_none_with_empty_signature_is_refused() {
    let s = stack().await;
    let claims = s.minter.claims("data:read");
    for alg in ["none", "None", "NONE"] {
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "at+jwt"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        refused(&s, &format!("{h}.{p}."), AuthFailure::Malformed).await;
        // With a non-empty junk signature the algorithm itself is refused.
        refused(&s, &format!("{h}.{p}.AAAA"), AuthFailure::BadAlgorithm).await;
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_rsa_public_key_is_refused() {
    let s = stack().await;
    // Algorithm confusion: an HMAC keyed with the public key the server publishes.
    let public = s.minter.key.public_jwk().to_string();
    for secret in [
        public.as_bytes(),
        s.minter.key.public_jwk()["n"].as_str().unwrap().as_bytes(),
    ] {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some("key-1".into());
        h.typ = Some("at+jwt".into());
        let token = jsonwebtoken::encode(
            &h,
            &s.minter.claims("admin:full"),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap();
        refused(&s, &token, AuthFailure::BadAlgorithm).await;
    }
}

#[tokio::test]
async fn header_alg_differing_from_the_jwks_alg_is_refused() {
    let s = stack().await;
    // The JWK says RS256; the same RSA key signs PS256.
    let pss = SigningKey::from_pkcs8(Algorithm::PS256, "key-1", s.minter.key.to_pkcs8()).unwrap();
    let token = pss
        .sign(&s.minter.claims("data:read"), Some("at+jwt"))
        .unwrap();
    refused(&s, &token, AuthFailure::BadAlgorithm).await;
}

#[tokio::test]
async fn jwk_use_other_than_sig_or_key_ops_without_verify_is_refused() {
    let s = stack().await;
    let token = s.minter.token("data:read");
    let spare = SigningKey::generate(Algorithm::ES256, "key-2").unwrap();
    for (field, value) in [
        ("use", json!("enc")),
        ("key_ops", json!(["encrypt", "wrapKey"])),
    ] {
        let mut jwk = s.minter.key.public_jwk().clone();
        if field == "key_ops" {
            jwk.as_object_mut().unwrap().remove("use");
        }
        jwk[field] = value;
        s.auth.set_jwks(JwksBehaviour::Serve(
            json!({"keys": [jwk, spare.public_jwk()]}),
        ));
        s.jwks.refresh().await.unwrap();
        s.validator.cache().clear();
        // key-1 is refused at load; key-2 is kept.
        assert_eq!(s.jwks.key_count(), 1, "{field}");
        refused(&s, &token, AuthFailure::UnknownKey).await;
    }
}

#[tokio::test]
async fn kid_with_traversal_sql_or_huge_is_an_opaque_capped_lookup_key() {
    let s = stack().await;
    let claims = s.minter.claims("data:read");
    let before = s.auth.jwks_hits();
    for kid in [
        "../../../../etc/passwd",
        "' OR 1=1 --",
        "key-1\u{0}",
        "KEY-1",
    ] {
        refused(
            &s,
            &raw(&s, &header("RS256", kid), &claims),
            AuthFailure::UnknownKey,
        )
        .await;
    }
    // Unknown kids cost at most one refetch (cooldown), however many there are.
    assert!(s.auth.jwks_hits() - before <= 1);
    // A kid too long for the cap is refused without a lookup or a fetch.
    let hits = s.auth.jwks_hits();
    let long = raw(&s, &header("RS256", &"k".repeat(4000)), &claims);
    refused(&s, &long, AuthFailure::UnknownKey).await;
    assert_eq!(s.auth.jwks_hits(), hits);
    // A 1 MiB kid makes the token too large to decode at all.
    let huge = raw(&s, &header("RS256", &"k".repeat(1 << 20)), &claims);
    assert_eq!(
        s.validator.validate(&huge).await.err(),
        Some(AuthFailure::TooLarge)
    );
}

#[tokio::test]
async fn jku_x5u_x5c_and_embedded_jwk_headers_are_ignored() {
    let s = stack().await;
    let attacker = SigningKey::generate(Algorithm::RS256, "attacker").unwrap();
    let evil = json!({
        "alg": "RS256", "typ": "at+jwt", "kid": "attacker",
        "jku": "http://127.0.0.1:1/evil-jwks",
        "x5u": "http://127.0.0.1:1/evil.pem",
        "x5c": ["MIIBIjANBgkq"],
        "jwk": attacker.public_jwk(),
    });
    let claims = s.minter.claims("admin:full");
    let forged = attacker
        .sign_raw(evil.to_string().as_bytes(), claims.to_string().as_bytes())
        .unwrap();
    refused(&s, &forged, AuthFailure::UnknownKey).await;
    // Same headers on a token signed by the configured key: ignored, not obeyed.
    let mut benign = evil.clone();
    benign["kid"] = json!("key-1");
    accepted(&s, &raw(&s, &benign, &claims)).await;
}

#[tokio::test]
async fn crit_naming_an_unknown_extension_is_refused() {
    let s = stack().await;
    let mut h = rs(&s);
    h["crit"] = json!(["exp-ext"]);
    h["exp-ext"] = json!(true);
    refused(
        &s,
        &raw(&s, &h, &s.minter.claims("data:read")),
        AuthFailure::Unsupported,
    )
    .await;
    let mut empty = rs(&s);
    empty["crit"] = json!([]);
    refused(
        &s,
        &raw(&s, &empty, &s.minter.claims("data:read")),
        AuthFailure::Unsupported,
    )
    .await;
}

#[tokio::test]
async fn exp_past_missing_string_negative_or_huge_is_refused() {
    let s = stack().await;
    let base = s.minter.claims("data:read");
    let now = now();
    let mut past = base.clone();
    past["exp"] = json!(now - 120);
    past["iat"] = json!(now - 600);
    refused(&s, &s.minter.mint(&past), AuthFailure::Expired).await;
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("exp");
    refused(&s, &s.minter.mint(&missing), AuthFailure::BadClaims).await;
    let mut string = base.clone();
    string["exp"] = json!((now + 600).to_string());
    refused(&s, &s.minter.mint(&string), AuthFailure::BadClaims).await;
    let mut negative = base.clone();
    negative["exp"] = json!(-1);
    refused(&s, &s.minter.mint(&negative), AuthFailure::BadClaims).await;
    let mut huge = base.clone();
    huge["exp"] = json!(u64::MAX);
    refused(&s, &s.minter.mint(&huge), AuthFailure::LifetimeTooLong).await;
    let mut float = base.clone();
    float["exp"] = json!(1e300);
    refused(&s, &s.minter.mint(&float), AuthFailure::BadClaims).await;
    // Within the leeway (30 s) an expired token is still accepted.
    let mut leeway = base.clone();
    leeway["exp"] = json!(now - 10);
    leeway["iat"] = json!(now - 600);
    accepted(&s, &s.minter.mint(&leeway)).await;
}

#[tokio::test]
async fn nbf_in_the_future_is_refused() {
    let s = stack().await;
    let mut c = s.minter.claims("data:read");
    c["nbf"] = json!(now() + 300);
    refused(&s, &s.minter.mint(&c), AuthFailure::NotYetValid).await;
}

#[tokio::test]
async fn iat_in_the_future_missing_or_not_a_number_is_refused() {
    let s = stack().await;
    let mut future = s.minter.claims("data:read");
    future["iat"] = json!(now() + 300);
    refused(&s, &s.minter.mint(&future), AuthFailure::IssuedInFuture).await;
    let mut missing = s.minter.claims("data:read");
    missing.as_object_mut().unwrap().remove("iat");
    refused(&s, &s.minter.mint(&missing), AuthFailure::BadClaims).await;
    let mut text = s.minter.claims("data:read");
    text["iat"] = json!("yesterday");
    refused(&s, &s.minter.mint(&text), AuthFailure::BadClaims).await;
}

#[tokio::test]
async fn lifetime_exp_minus_iat_above_the_maximum_is_refused() {
    let s = stack().await;
    let now = now();
    let mut c = s.minter.claims("data:read");
    c["iat"] = json!(now - 1);
    c["exp"] = json!(now - 1 + 3601);
    refused(&s, &s.minter.mint(&c), AuthFailure::LifetimeTooLong).await;
    c["exp"] = json!(now - 1 + 3600);
    accepted(&s, &s.minter.mint(&c)).await;
}

#[tokio::test]
async fn iss_wrong_trailing_slash_prefix_superstring_array_or_missing_is_refused() {
    let s = stack().await;
    let issuer = s.auth.issuer();
    for (value, reason) in [
        (json!("https://evil.example"), AuthFailure::BadIssuer),
        (json!(format!("{issuer}/")), AuthFailure::BadIssuer),
        (json!(&issuer[..issuer.len() - 1]), AuthFailure::BadIssuer),
        (json!(format!("{issuer}0")), AuthFailure::BadIssuer),
        (json!(issuer.to_uppercase()), AuthFailure::BadIssuer),
        (json!([issuer.clone()]), AuthFailure::BadClaims),
        (
            json!([issuer.clone(), "https://evil.example"]),
            AuthFailure::BadClaims,
        ),
    ] {
        let mut c = s.minter.claims("data:read");
        c["iss"] = value;
        refused(&s, &s.minter.mint(&c), reason).await;
    }
    let mut missing = s.minter.claims("data:read");
    missing.as_object_mut().unwrap().remove("iss");
    refused(&s, &s.minter.mint(&missing), AuthFailure::BadClaims).await;
}

#[tokio::test]
async fn aud_for_another_resource_empty_case_or_slash_variant_or_missing_is_refused() {
    let s = stack().await;
    let aud = s.mcp_url.clone();
    for value in [
        json!("https://other.example/mcp"),
        json!(""),
        json!([]),
        json!(format!("{aud}/")),
        json!(aud.to_uppercase()),
        json!(aud.replace("/mcp", "/MCP")),
        json!(aud.replace("/mcp", "")),
        json!([format!("{aud}/"), "https://other.example/mcp"]),
    ] {
        let mut c = s.minter.claims("data:read");
        c["aud"] = value.clone();
        refused(&s, &s.minter.mint(&c), AuthFailure::BadAudience).await;
    }
    let mut missing = s.minter.claims("data:read");
    missing.as_object_mut().unwrap().remove("aud");
    refused(&s, &s.minter.mint(&missing), AuthFailure::BadClaims).await;
    // A list that contains this resource is fine (RFC 8707 allows several).
    let mut many = s.minter.claims("data:read");
    many["aud"] = json!(["https://other.example/mcp", aud]);
    accepted(&s, &s.minter.mint(&many)).await;
}

#[tokio::test]
async fn typ_jwt_or_absent_is_refused_where_at_jwt_is_required() {
    let s = stack().await;
    let c = s.minter.claims("data:read");
    for typ in [Some("JWT"), Some("jwt"), Some("application/jwt"), None] {
        let token = s.minter.key.sign(&c, typ).unwrap();
        refused(&s, &token, AuthFailure::BadType).await;
    }
    accepted(
        &s,
        &s.minter.key.sign(&c, Some("application/at+jwt")).unwrap(),
    )
    .await;
    // The relaxation is explicit.
    let relaxed = Stack::start(StackOptions {
        jwt: Box::new(|c| c.typ(TypPolicy::AllowJwt)),
        ..StackOptions::default()
    })
    .await;
    let c = relaxed.minter.claims("data:read");
    accepted(&relaxed, &relaxed.minter.key.sign(&c, Some("JWT")).unwrap()).await;
    accepted(&relaxed, &relaxed.minter.key.sign(&c, None).unwrap()).await;
}

#[tokio::test]
async fn tokens_over_8_kib_a_1_mib_claim_or_a_1_mib_header_are_refused_before_decoding() {
    let s = stack().await;
    let mut big = s.minter.claims("data:read");
    big["pad"] = json!("x".repeat(7000));
    let token = s.minter.mint(&big);
    assert!(token.len() > 8192);
    refused(&s, &token, AuthFailure::TooLarge).await;
    let mut claim = s.minter.claims("data:read");
    claim["blob"] = json!("x".repeat(1 << 20));
    let token = s.minter.mint(&claim);
    assert_eq!(
        s.validator.validate(&token).await.err(),
        Some(AuthFailure::TooLarge)
    );
    // Over HTTP, a header block beyond the server's cap (16 KiB) never reaches the validator.
    let r = post_bearer(&s.mcp_url, &token, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 431);
    let mut h = rs(&s);
    h["pad"] = json!("y".repeat(1 << 20));
    let token = raw(&s, &h, &s.minter.claims("data:read"));
    assert_eq!(
        s.validator.validate(&token).await.err(),
        Some(AuthFailure::TooLarge)
    );
}

#[tokio::test]
async fn jwe_json_serialization_and_zip_are_refused() {
    let s = stack().await;
    // JWE compact serialization: five segments.
    refused(
        &s,
        "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
        AuthFailure::Unsupported,
    )
    .await;
    // `enc` in a three-segment token; a compressed payload; an unencoded payload (RFC 7797).
    for (field, value) in [
        ("enc", json!("A256GCM")),
        ("zip", json!("DEF")),
        ("b64", json!(false)),
    ] {
        let mut header = rs(&s);
        header[field] = value;
        refused(
            &s,
            &raw(&s, &header, &s.minter.claims("data:read")),
            AuthFailure::Unsupported,
        )
        .await;
    }
    // JWS JSON serialization is not a bearer token: the header carries no `{`.
    let json_jws = json!({"payload": "x", "signatures": []}).to_string();
    assert_eq!(
        s.validator.validate(&json_jws).await.err(),
        Some(AuthFailure::Unsupported)
    );
    let r = post_bearer(&s.mcp_url, &json_jws, &tools_call("whoami", json!({}))).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn malformed_tokens_are_refused_without_panicking() {
    let s = stack().await;
    let good = s.minter.token("data:read");
    let (h, rest) = good.split_once('.').unwrap();
    let (p, sig) = rest.split_once('.').unwrap();
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<String> = vec![
        format!("{h}.{p}"),
        format!("{h}.{p}.{sig}.x"),
        format!("{h}.{p}.{sig}="),
        format!("{h}=.{p}.{sig}"),
        format!("{h} .{p}.{sig}"),
        format!("{h}.{p}.{sig}\t"),
        format!("{h}..{sig}"),
        // Non-canonical base64: flip the unused low bits of the last character.
        format!("{h}.{p}.{}", {
            let mut sig = sig.to_owned();
            let last = sig.pop().unwrap();
            sig.push(if last == 'A' { 'B' } else { 'A' });
            sig
        }),
        format!("{}.{p}.{sig}", URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0xfd])),
        format!("{}.{p}.{sig}", URL_SAFE_NO_PAD.encode("[1,2,3]")),
        format!("{}.{p}.{sig}", URL_SAFE_NO_PAD.encode("\"RS256\"")),
        format!("{h}.{}.{sig}", URL_SAFE_NO_PAD.encode("[1,2,3]")),
        format!("{h}.{}.{sig}", URL_SAFE_NO_PAD.encode(&deep)),
        "...".into(),
        "a.b.c".into(),
        "é.b.c".into(),
    ];
    for token in cases {
        let result = s.validator.validate(&token).await;
        assert!(result.is_err(), "{token}");
        if token.trim() != token {
            // HTTP strips whitespace around a header value; the validator refused it above.
            continue;
        }
        let r = post(
            &s.mcp_url,
            Some(&format!("Bearer {token}")),
            &tools_call("whoami", json!({})),
            &[],
        )
        .await;
        assert_eq!(r.status, 401, "{token}: {}", r.body);
    }
    // The server is still up and serving.
    accepted(&s, &good).await;
}

#[tokio::test]
async fn duplicate_claims_are_refused() {
    let s = stack().await;
    let now = now();
    let issuer = s.auth.issuer();
    let aud = s.mcp_url.clone();
    let header = rs(&s).to_string();
    for claims in [
        format!(
            r#"{{"iss":"{issuer}","sub":"alice","aud":"{aud}","exp":{},"iat":{},"scope":"data:read","scope":"admin:full"}}"#,
            now + 600,
            now - 5
        ),
        format!(
            r#"{{"iss":"{issuer}","sub":"alice","aud":"{aud}","exp":{},"exp":{},"iat":{},"scope":"data:read"}}"#,
            now + 600,
            now + 99_999,
            now - 5
        ),
        format!(
            r#"{{"iss":"https://evil","iss":"{issuer}","sub":"alice","aud":"{aud}","exp":{},"iat":{}}}"#,
            now + 600,
            now - 5
        ),
    ] {
        let token = s
            .minter
            .key
            .sign_raw(header.as_bytes(), claims.as_bytes())
            .unwrap();
        refused(&s, &token, AuthFailure::BadClaims).await;
    }
    // Duplicate header members too.
    let dup_header = r#"{"alg":"RS256","typ":"at+jwt","kid":"key-1","kid":"other"}"#;
    let token = s
        .minter
        .key
        .sign_raw(
            dup_header.as_bytes(),
            s.minter.claims("data:read").to_string().as_bytes(),
        )
        .unwrap();
    refused(&s, &token, AuthFailure::Malformed).await;
}

#[tokio::test]
async fn scope_lookalike_separators_and_letters_are_not_split_or_folded() {
    let s = stack().await;
    for scope in [
        "data:read\u{a0}admin:full",
        "data:read\u{3000}admin:full",
        "data:read\tadmin:full",
        "data:read\u{85}admin:full",
        "data:read\u{200b}admin:full",
        "\u{212a}ey",
        "ａdmin:full",
        "data:read  admin:full",
    ] {
        let token = s.minter.token(scope);
        refused(&s, &token, AuthFailure::BadScope).await;
    }
    // `scp` arrays are held to the same grammar.
    let mut c = s.minter.claims("data:read");
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["data:read", "admin\u{a0}full"]);
    refused(&s, &s.minter.mint(&c), AuthFailure::BadScope).await;
    // Case is significant: `ADMIN:FULL` grants nothing.
    let token = s.minter.token("ADMIN:FULL");
    let r = post_bearer(&s.mcp_url, &token, &tools_call("admin", json!({}))).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn a_valid_token_lacking_the_tools_scope_gets_403_naming_that_tools_scopes() {
    let s = stack().await;
    let token = s.minter.token("data:read");
    let r = post_bearer(
        &s.mcp_url,
        &token,
        &tools_call("write", json!({"text": "x"})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.challenge(),
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", \
             error=\"insufficient_scope\", error_description=\"The access token lacks a scope this tool requires\", \
             scope=\"data:write\"",
            s.base
        )
    );
    assert_eq!(r.json()["scope"], "data:write");
    // Via `Mcp-Method`/`Mcp-Name` headers too.
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {token}")),
        &tools_call("admin", json!({})),
        &[("mcp-method", "tools/call"), ("mcp-name", "admin")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.challenge().ends_with("scope=\"admin:full\""));
    // A tool the token allows, and tools/list, pass.
    assert_eq!(
        post_bearer(&s.mcp_url, &token, &tools_call("read", json!({})))
            .await
            .status,
        200
    );
}

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
    c.max_stale = Duration::from_secs(2);
    c.refresh_every = Duration::from_millis(600);
    c
}

#[tokio::test]
async fn jwks_down_keeps_last_good_keys_until_max_stale_then_fails_closed() {
    let s = Stack::start(StackOptions {
        jwks: fast_jwks(),
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
    s.auth
        .set_jwks(JwksBehaviour::Slow(Duration::from_secs(5), s.minter.jwks()));
    let started = std::time::Instant::now();
    let other = SigningKey::generate(Algorithm::RS256, "rotated").unwrap();
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
    for _ in 0..6 {
        let r = post_bearer(&s.mcp_url, "not.a.token", &tools_call("whoami", json!({}))).await;
        assert_eq!(r.status, 401);
    }
    let r = post_bearer(
        &s.mcp_url,
        &s.minter.token("data:read"),
        &tools_call("whoami", json!({})),
    )
    .await;
    assert_eq!(r.status, 429);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
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

#[tokio::test]
async fn session_ids_are_not_authentication() {
    let s = Stack::start(StackOptions {
        http: Box::new(|c| c.stateful(true).json_response(false)),
        ..StackOptions::default()
    })
    .await;
    let alice = s.minter.token("data:read");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = post_bearer(&s.mcp_url, &alice, &init).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.headers["mcp-session-id"].to_str().unwrap().to_owned();
    // The session id alone: 401.
    let r = post(
        &s.mcp_url,
        None,
        &tools_call("whoami", json!({})),
        &[("mcp-session-id", &session)],
    )
    .await;
    assert_eq!(r.status, 401);
    // Another caller's token with alice's session: runs as that caller, not as alice.
    let mut bob_claims = s.minter.claims("data:read");
    bob_claims["sub"] = json!("bob");
    let bob = s.minter.mint(&bob_claims);
    let r = post(
        &s.mcp_url,
        Some(&format!("Bearer {bob}")),
        &tools_call("whoami", json!({})),
        &[
            ("mcp-session-id", &session),
            ("mcp-protocol-version", "2025-06-18"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["result"]["structuredContent"]["subject"],
        "bob",
        "{}",
        r.body
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
