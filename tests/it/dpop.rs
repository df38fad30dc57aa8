//! DPoP proofs (RFC 9449) against the verifier: a Wycheproof-style table of crafted proofs,
//! each refused for its own reason, and the valid proof each is made from accepted.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mcp_secure::auth::{
    Algorithm, SigningKey,
    dpop::{
        DpopConfig, DpopFailure, DpopMode, DpopProofs, DpopVerifier, MemoryReplayStore,
        ProofTarget, ath, thumbprint,
    },
};
use serde_json::{Value, json};

const URI: &str = "https://mcp.example.com/mcp";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn public_jwk(key: &SigningKey) -> Value {
    let mut jwk = key.public_jwk().clone();
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

/// A proof built by hand: `header` and `claims` as JSON text, signed by `key`.
fn craft(key: &SigningKey, header: &str, claims: &str) -> String {
    key.sign_raw(header.as_bytes(), claims.as_bytes()).unwrap()
}

fn header(key: &SigningKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key)})
}

fn claims(jti: &str) -> Value {
    json!({"jti": jti, "htm": "POST", "htu": URI, "iat": now(), "ath": ath(TOKEN)})
}

fn verifier(nonce: bool) -> DpopVerifier {
    DpopVerifier::new(
        DpopConfig::new(DpopMode::Required).nonce(nonce),
        Arc::new(MemoryReplayStore::default()),
    )
}

async fn verify(v: &DpopVerifier, proof: &str, jkt: &str) -> Result<(), DpopFailure> {
    let uri = url::Url::parse(URI).unwrap();
    v.verify(
        proof,
        ProofTarget {
            method: "POST",
            uri: &uri,
            access_token: Some(TOKEN),
            jkt: Some(jkt),
        },
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn crafted_proofs_are_each_refused_for_their_own_reason() {
    let key = SigningKey::generate(Algorithm::ES256, "k").unwrap();
    let other = SigningKey::generate(Algorithm::ES256, "o").unwrap();
    let jkt = thumbprint(&public_jwk(&key)).unwrap();
    let with = |f: &dyn Fn(&mut Value, &mut Value)| {
        let (mut h, mut c) = (
            header(&key),
            claims(&format!("{:?}", std::time::Instant::now())),
        );
        f(&mut h, &mut c);
        craft(&key, &h.to_string(), &c.to_string())
    };
    let hmac = {
        let h = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}});
        let c = claims("hmac");
        let msg = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(c.to_string())
        );
        let sig = jsonwebtoken::crypto::sign(
            msg.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        format!("{msg}.{sig}")
    };
    let hmac_public = {
        // HMAC keyed with the public key, the key named as a public EC key.
        let h = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": public_jwk(&key)});
        let msg = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(claims("hmac2").to_string())
        );
        let sig = jsonwebtoken::crypto::sign(
            msg.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(public_jwk(&key).to_string().as_bytes()),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        format!("{msg}.{sig}")
    };
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"typ": "dpop+jwt", "alg": "none", "jwk": public_jwk(&key)}).to_string()),
        URL_SAFE_NO_PAD.encode(claims("none").to_string())
    );
    let signed_by_other = {
        let h = header(&key);
        craft(&other, &h.to_string(), &claims("other").to_string())
    };
    let tampered = {
        let proof = with(&|_, _| {});
        let mut parts: Vec<String> = proof.split('.').map(str::to_owned).collect();
        let mut c: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        c["htm"] = json!("POST");
        c["jti"] = json!("tampered");
        parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
        parts.join(".")
    };
    let weak_rsa = {
        let rsa =
            SigningKey::generate_sized(Algorithm::RS256, "weak", aws_lc_rs::rsa::KeySize::Rsa2048)
                .unwrap();
        // A 2048-bit key is fine; a JWK claiming 1024 bits (a truncated modulus) is not.
        let mut jwk = public_jwk(&rsa);
        let n = jwk["n"].as_str().unwrap().to_owned();
        jwk["n"] = json!(&n[..171]);
        let h = json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk});
        craft(&rsa, &h.to_string(), &claims("weak").to_string())
    };
    let duplicate = craft(
        &key,
        &header(&key).to_string(),
        &format!(
            r#"{{"jti":"dup","htm":"GET","htm":"POST","htu":"{URI}","iat":{},"ath":"{}"}}"#,
            now(),
            ath(TOKEN)
        ),
    );
    let cases: Vec<(&str, String, DpopFailure)> = vec![
        (
            "wrong htu",
            with(&|_, c| c["htu"] = json!("https://mcp.example.com/other")),
            DpopFailure::BadUri,
        ),
        (
            "wrong htu host",
            with(&|_, c| c["htu"] = json!("https://evil.example/mcp")),
            DpopFailure::BadUri,
        ),
        (
            "wrong htm",
            with(&|_, c| c["htm"] = json!("GET")),
            DpopFailure::BadMethod,
        ),
        (
            "lower-case htm",
            with(&|_, c| c["htm"] = json!("post")),
            DpopFailure::BadMethod,
        ),
        (
            "stale iat",
            with(&|_, c| c["iat"] = json!(now() - 120)),
            DpopFailure::Stale,
        ),
        (
            "future iat",
            with(&|_, c| c["iat"] = json!(now() + 60)),
            DpopFailure::Stale,
        ),
        (
            "missing ath",
            with(&|_, c| {
                c.as_object_mut().unwrap().remove("ath");
            }),
            DpopFailure::BadAth,
        ),
        (
            "ath of another token",
            with(&|_, c| c["ath"] = json!(ath("another"))),
            DpopFailure::BadAth,
        ),
        (
            "missing jti",
            with(&|_, c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            DpopFailure::Malformed,
        ),
        (
            "missing iat",
            with(&|_, c| {
                c.as_object_mut().unwrap().remove("iat");
            }),
            DpopFailure::Malformed,
        ),
        (
            "string iat",
            with(&|_, c| c["iat"] = json!(now().to_string())),
            DpopFailure::Malformed,
        ),
        (
            "typ JWT",
            with(&|h, _| h["typ"] = json!("JWT")),
            DpopFailure::BadType,
        ),
        (
            "no typ",
            with(&|h, _| {
                h.as_object_mut().unwrap().remove("typ");
            }),
            DpopFailure::BadType,
        ),
        (
            "no jwk",
            with(&|h, _| {
                h.as_object_mut().unwrap().remove("jwk");
            }),
            DpopFailure::BadKey,
        ),
        (
            "private key in jwk",
            with(&|h, _| h["jwk"]["d"] = json!("AAAA")),
            DpopFailure::PrivateKey,
        ),
        (
            "crit header",
            with(&|h, _| h["crit"] = json!(["exp"])),
            DpopFailure::Malformed,
        ),
        (
            "jku header",
            with(&|h, _| h["jku"] = json!("https://evil.example/jwks")),
            DpopFailure::Malformed,
        ),
        ("HMAC with an oct jwk", hmac, DpopFailure::BadAlgorithm),
        (
            "HMAC keyed with the public key",
            hmac_public,
            DpopFailure::BadAlgorithm,
        ),
        ("alg none", none, DpopFailure::BadAlgorithm),
        (
            "alg not the key's",
            with(&|h, _| h["alg"] = json!("ES384")),
            DpopFailure::BadKey,
        ),
        (
            "signed by another key",
            signed_by_other,
            DpopFailure::BadSignature,
        ),
        ("tampered claims", tampered, DpopFailure::BadSignature),
        ("weak RSA key", weak_rsa, DpopFailure::BadKey),
        ("repeated claim", duplicate, DpopFailure::Malformed),
        ("not a JWS", "not.a.jws".into(), DpopFailure::Malformed),
        (
            "two segments",
            "eyJhIjoxfQ.eyJhIjoxfQ".into(),
            DpopFailure::Malformed,
        ),
        ("too large", "a".repeat(9000), DpopFailure::Malformed),
    ];
    let v = verifier(false);
    for (name, proof, expected) in &cases {
        assert_eq!(verify(&v, proof, &jkt).await, Err(*expected), "{name}");
    }
    // Key mismatch: a valid proof by a key the token is not bound to.
    let jkt_other = thumbprint(&public_jwk(&other)).unwrap();
    assert_eq!(
        verify(&v, &with(&|_, _| {}), &jkt_other).await,
        Err(DpopFailure::KeyMismatch)
    );
    // The control: the same construction unaltered passes, once.
    let good = with(&|_, _| {});
    assert_eq!(verify(&v, &good, &jkt).await, Ok(()));
    assert_eq!(verify(&v, &good, &jkt).await, Err(DpopFailure::Replayed));
}

#[tokio::test]
async fn proofs_from_the_client_half_verify_for_every_algorithm_family() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
    ] {
        let proofs = DpopProofs::new(SigningKey::generate(alg, "client").unwrap()).unwrap();
        let proof = proofs.proof("POST", URI, Some(TOKEN), None).unwrap();
        let v = verifier(false);
        assert_eq!(verify(&v, &proof, proofs.jkt()).await, Ok(()), "{alg:?}");
    }
}

#[tokio::test]
async fn a_server_nonce_is_required_when_configured() {
    let proofs = DpopProofs::new(SigningKey::generate(Algorithm::ES256, "c").unwrap()).unwrap();
    let v = verifier(true);
    let no_nonce = proofs.proof("POST", URI, Some(TOKEN), None).unwrap();
    assert_eq!(
        verify(&v, &no_nonce, proofs.jkt()).await,
        Err(DpopFailure::UseNonce)
    );
    let forged = proofs
        .proof("POST", URI, Some(TOKEN), Some("AAAAAAAAAAA"))
        .unwrap();
    assert_eq!(
        verify(&v, &forged, proofs.jkt()).await,
        Err(DpopFailure::UseNonce)
    );
    let nonce = v.nonce().unwrap();
    let good = proofs
        .proof("POST", URI, Some(TOKEN), Some(&nonce))
        .unwrap();
    assert_eq!(verify(&v, &good, proofs.jkt()).await, Ok(()));
    // Another verifier's nonce (another process) is not this one's.
    let other = verifier(true).nonce().unwrap();
    let foreign = proofs
        .proof("POST", URI, Some(TOKEN), Some(&other))
        .unwrap();
    assert_eq!(
        verify(&v, &foreign, proofs.jkt()).await,
        Err(DpopFailure::UseNonce)
    );
}

mod over_http {
    //! The resource server end to end: a real server on loopback, real tokens, raw HTTP.

    use mcp_secure::auth::{
        Algorithm, SigningKey,
        dpop::{DpopConfig, DpopMode, DpopProofs},
    };
    use mcp_secure_tests::oauth::{Reply, Stack, StackOptions, post, tools_call};
    use serde_json::{Value, json};

    async fn stack(mode: DpopMode, nonce: bool) -> Stack {
        Stack::start(StackOptions {
            http: Box::new(move |h| h.dpop(DpopConfig::new(mode).nonce(nonce))),
            ..StackOptions::default()
        })
        .await
    }

    fn client() -> DpopProofs {
        DpopProofs::new(SigningKey::generate(Algorithm::ES256, "client").unwrap()).unwrap()
    }

    /// A token bound to `jkt` (`cnf.jkt`).
    fn bound_token(stack: &Stack, jkt: &str) -> String {
        let mut claims = stack.minter.claims("data:read");
        claims["cnf"] = json!({"jkt": jkt});
        stack.minter.mint(&claims)
    }

    async fn call_dpop(stack: &Stack, token: &str, proof: Option<&str>) -> Reply {
        let mut extra = Vec::new();
        if let Some(p) = proof {
            extra.push(("dpop", p));
        }
        post(
            &stack.mcp_url,
            Some(&format!("DPoP {token}")),
            &tools_call("whoami", json!({})),
            &extra,
        )
        .await
    }

    fn error(r: &Reply) -> String {
        serde_json::from_str::<Value>(&r.body).unwrap_or_default()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[tokio::test]
    async fn a_bound_token_works_with_its_keys_proof_and_not_without() {
        let stack = stack(DpopMode::Optional, false).await;
        let holder = client();
        let token = bound_token(&stack, holder.jkt());
        let proof = holder
            .proof("POST", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["result"]["structuredContent"]["subject"], "alice");
        // The same proof again: replayed.
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!((r.status, error(&r)), (401, "invalid_dpop_proof".into()));
        assert!(r.challenge().starts_with("DPoP "), "{}", r.challenge());
        // Stolen: the token without the key. As a bearer token, with no proof, with a proof by
        // the thief's own key.
        let r = post(
            &stack.mcp_url,
            Some(&format!("Bearer {token}")),
            &tools_call("whoami", json!({})),
            &[],
        )
        .await;
        assert_eq!(
            (r.status, error(&r)),
            (401, "invalid_token".into()),
            "{}",
            r.body
        );
        let r = call_dpop(&stack, &token, None).await;
        assert_eq!((r.status, error(&r)), (401, "invalid_dpop_proof".into()));
        let thief = client();
        let proof = thief
            .proof("POST", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!((r.status, error(&r)), (401, "invalid_dpop_proof".into()));
        // A proof for another request (GET, another URL) is not this one's.
        let proof = holder
            .proof("GET", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!(r.status, 401);
        let other = stack.mcp_url.replace("/mcp", "/other");
        let proof = holder.proof("POST", &other, Some(&token), None).unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!(r.status, 401);
        // Two proofs: refused.
        let p1 = holder
            .proof("POST", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let p2 = holder
            .proof("POST", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let r = post(
            &stack.mcp_url,
            Some(&format!("DPoP {token}")),
            &tools_call("whoami", json!({})),
            &[("dpop", &p1), ("dpop", &p2)],
        )
        .await;
        assert_eq!(r.status, 401);
        // An unbound token under the DPoP scheme: refused; as a bearer token (optional): fine.
        let plain = stack.minter.token("data:read");
        let proof = holder
            .proof("POST", &stack.mcp_url, Some(&plain), None)
            .unwrap();
        let r = call_dpop(&stack, &plain, Some(&proof)).await;
        assert_eq!((r.status, error(&r)), (401, "invalid_token".into()));
        let r = post(
            &stack.mcp_url,
            Some(&format!("Bearer {plain}")),
            &tools_call("whoami", json!({})),
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        stack.stop().await;
    }

    #[tokio::test]
    async fn required_refuses_bearer_tokens_and_challenges_with_dpop_only() {
        let stack = stack(DpopMode::Required, false).await;
        let plain = stack.minter.token("data:read");
        let r = post(
            &stack.mcp_url,
            Some(&format!("Bearer {plain}")),
            &tools_call("whoami", json!({})),
            &[],
        )
        .await;
        assert_eq!((r.status, error(&r)), (401, "invalid_token".into()));
        // No credentials: one challenge, DPoP, naming the metadata and the algorithms.
        let r = post(&stack.mcp_url, None, &tools_call("whoami", json!({})), &[]).await;
        assert_eq!(r.status, 401);
        let challenges: Vec<&str> = r
            .headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(challenges.len(), 1, "{challenges:?}");
        assert!(
            challenges[0].starts_with("DPoP resource_metadata=\""),
            "{challenges:?}"
        );
        assert!(challenges[0].contains("algs=\"RS256"), "{challenges:?}");
        // The metadata says so.
        let meta: Value = reqwest::get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            stack.base
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(meta["dpop_bound_access_tokens_required"], true);
        assert!(
            meta["dpop_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("ES256"))
        );
        stack.stop().await;
    }

    #[tokio::test]
    async fn optional_challenges_with_both_schemes_and_off_refuses_bound_tokens_as_bearer() {
        let stack = stack(DpopMode::Optional, false).await;
        let r = post(&stack.mcp_url, None, &tools_call("whoami", json!({})), &[]).await;
        let schemes: Vec<String> = r
            .headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().split(' ').next().unwrap().to_owned())
            .collect();
        assert_eq!(schemes, ["Bearer", "DPoP"]);
        stack.stop().await;
        // Off: a bound token is still not a bearer token; the DPoP scheme is not understood.
        let stack = Stack::start(StackOptions::default()).await;
        let holder = client();
        let token = bound_token(&stack, holder.jkt());
        let r = post(
            &stack.mcp_url,
            Some(&format!("Bearer {token}")),
            &tools_call("whoami", json!({})),
            &[],
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.body);
        let proof = holder
            .proof("POST", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!(r.status, 401);
        let meta: Value = reqwest::get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            stack.base
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert!(meta.get("dpop_signing_alg_values_supported").is_none());
        stack.stop().await;
    }

    #[tokio::test]
    async fn rmcp_client_with_dpop_lists_and_calls_and_the_stolen_token_alone_fails() {
        use mcp_secure::{
            dpop_client::DpopHttpClient,
            redact::SecretString,
            rmcp::{
                ServiceExt,
                model::CallToolRequestParams,
                transport::{
                    StreamableHttpClientTransport,
                    streamable_http_client::StreamableHttpClientTransportConfig,
                },
            },
        };
        let stack = stack(DpopMode::Required, false).await;
        let holder = std::sync::Arc::new(client());
        let token = bound_token(&stack, holder.jkt());
        let transport = StreamableHttpClientTransport::with_client(
            DpopHttpClient::new(
                reqwest::Client::new(),
                holder.clone(),
                SecretString::from(token.clone()),
            ),
            StreamableHttpClientTransportConfig::with_uri(stack.mcp_url.clone()),
        );
        let service = ().serve(transport).await.unwrap();
        let tools = service.list_all_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "whoami"));
        let result = service
            .call_tool(CallToolRequestParams::new("whoami"))
            .await
            .unwrap();
        assert_eq!(result.structured_content.unwrap()["subject"], "alice");
        service.cancel().await.unwrap();
        // The same token stolen: rmcp's plain client with it as a bearer token is refused.
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(stack.mcp_url.clone()).auth_header(token),
        );
        assert!(().serve(transport).await.is_err());
        stack.stop().await;
    }

    #[tokio::test]
    async fn server_nonces_round_trip_through_use_dpop_nonce() {
        let stack = stack(DpopMode::Required, true).await;
        let holder = client();
        let token = bound_token(&stack, holder.jkt());
        let proof = holder
            .proof("POST", &stack.mcp_url, Some(&token), None)
            .unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!((r.status, error(&r)), (401, "use_dpop_nonce".into()));
        assert!(r.challenge().contains("error=\"use_dpop_nonce\""));
        let nonce = r.headers["dpop-nonce"].to_str().unwrap().to_owned();
        let proof = holder
            .proof("POST", &stack.mcp_url, Some(&token), Some(&nonce))
            .unwrap();
        let r = call_dpop(&stack, &token, Some(&proof)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        stack.stop().await;
    }
}

#[tokio::test]
async fn a_proof_replayed_to_another_replica_is_refused_through_redis() {
    use mcp_secure::{rate::RedisRateLimiter, redact::SecretString};
    use mcp_secure_tests::RedisServer;
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    // Two replicas: each its own verifier and its own connections to the same Redis.
    let replica = || {
        let store = RedisRateLimiter::builder(SecretString::from(redis.url()))
            .timeout(std::time::Duration::from_millis(500))
            .build();
        DpopVerifier::new(DpopConfig::new(DpopMode::Required), store)
    };
    let (a, b) = (replica(), replica());
    let proofs = DpopProofs::new(SigningKey::generate(Algorithm::ES256, "c").unwrap()).unwrap();
    let proof = proofs.proof("POST", URI, Some(TOKEN), None).unwrap();
    assert_eq!(verify(&a, &proof, proofs.jkt()).await, Ok(()));
    assert_eq!(
        verify(&b, &proof, proofs.jkt()).await,
        Err(DpopFailure::Replayed)
    );
    assert_eq!(
        verify(&a, &proof, proofs.jkt()).await,
        Err(DpopFailure::Replayed)
    );
    let fresh = proofs.proof("POST", URI, Some(TOKEN), None).unwrap();
    assert_eq!(verify(&b, &fresh, proofs.jkt()).await, Ok(()));
    // Redis down: proofs are refused (fail closed), not accepted unchecked.
    redis.kill();
    let another = proofs.proof("POST", URI, Some(TOKEN), None).unwrap();
    assert_eq!(
        verify(&a, &another, proofs.jkt()).await,
        Err(DpopFailure::StoreUnavailable)
    );
}
