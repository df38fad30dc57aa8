//! The token rows of the refusal table: headers, claims, sizes, encodings, scopes.

use super::*;

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
async fn header_members_written_with_json_escapes_read_as_their_text() {
    let s = stack().await;
    let claims = s.minter.claims("data:read").to_string();
    // The header as written, escapes and all (a `Value` would be re-serialized without them).
    let sign = |header: &str| {
        s.minter
            .key
            .sign_raw(header.as_bytes(), claims.as_bytes())
            .unwrap()
    };
    // `at+jwt`, `key-1`, `RS256` with escapes (some JOSE libraries escape `/` and `+`).
    let escaped =
        r#"{"alg":"RS\u0032\u00356","typ":"application\/at\u002bjwt","kid":"key\u002d1"}"#;
    accepted(&s, &sign(escaped)).await;
    // An escaped `typ` is still compared: `JWT` spelled with an escape is refused.
    refused(
        &s,
        &sign(r#"{"alg":"RS256","typ":"\u004aWT","kid":"key-1"}"#),
        AuthFailure::BadType,
    )
    .await;
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
async fn a_binding_the_server_cannot_check_is_refused_not_read_as_none() {
    let s = stack().await;
    let bound = |cnf: Value| {
        let mut claims = s.minter.claims("data:read");
        claims["cnf"] = cnf;
        s.minter.mint(&claims)
    };
    let x5t = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2";
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    // Mutual-TLS-bound (RFC 8705) and the other RFC 7800 methods: the issuer meant the token
    // for one client, and this server cannot tell which, so it is refused, not taken as bearer.
    for cnf in [
        json!({"x5t#S256": x5t}),
        json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}),
        json!({"kid": "client-key"}),
        json!({"jkt": jkt, "x5t#S256": x5t}),
    ] {
        refused(&s, &bound(cnf), AuthFailure::Unsupported).await;
    }
    // A `cnf` that states nothing readable is malformed.
    for cnf in [
        json!({"jkt": 5}),
        json!({"jkt": ""}),
        json!({"jkt": null}),
        json!({"jkt": [jkt]}),
        json!({}),
        json!(jkt),
        json!([{"jkt": jkt}]),
        json!(null),
    ] {
        refused(&s, &bound(cnf), AuthFailure::BadClaims).await;
    }
    // Without `cnf` the same claims are a bearer token, as before.
    accepted(&s, &s.minter.mint(&s.minter.claims("data:read"))).await;
}
