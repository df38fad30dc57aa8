//! The DPoP proof path against what it must cost at least: one signature check.
//!
//! For each proof algorithm, in interleaved rounds (median reported): the verifier's whole
//! check of a fresh proof (structure, header, JWK parse, signature, claims, `ath`,
//! thumbprint, replay store) against a bare `jsonwebtoken::crypto::verify` of the same proof
//! with a key prepared in advance; and a request's authentication with a cached bearer token
//! against the same with a DPoP proof. Proofs are made before timing (signing is the client's
//! cost). Run: `cargo bench -p mcp-secure --bench dpop`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    hint::black_box,
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use mcp_secure::auth::{
    Algorithm, JwtConfig, JwtValidator, KeySource, SigningKey, TokenValidator,
    dpop::{DpopConfig, DpopMode, DpopProofs, DpopVerifier, MemoryReplayStore, ProofTarget},
};
use serde_json::json;

const ISSUER: &str = "https://as.example.com";
const URI: &str = "https://mcp.example.com/mcp";
const ROUNDS: usize = 21;
const PER_ROUND: usize = 400;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let uri = url::Url::parse(URI).unwrap();
    // The access token (RS256, bound) and a validator with its cache warm.
    let as_key = SigningKey::generate(Algorithm::RS256, "as").unwrap();
    let jwks = json!({"keys": [as_key.public_jwk()]});
    let validator = JwtValidator::new(
        JwtConfig::new(ISSUER, URI),
        KeySource::from_jwks_json(&jwks, JwtConfig::new(ISSUER, URI).allowed_algorithms()),
    );
    println!("{ROUNDS} interleaved rounds of {PER_ROUND}, medians per request:");
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let proofs = DpopProofs::new(SigningKey::generate(alg, "client").unwrap()).unwrap();
        let token = as_key
            .sign(
                &json!({"iss": ISSUER, "sub": "alice", "aud": URI, "exp": now + 3000,
                        "iat": now, "scope": "data:read", "cnf": {"jkt": proofs.jkt()}}),
                Some("at+jwt"),
            )
            .unwrap();
        futures::executor::block_on(validator.validate(&token)).unwrap();
        let verifier = DpopVerifier::new(
            DpopConfig::new(DpopMode::Required),
            Arc::new(MemoryReplayStore::new(10_000_000)),
        );
        let jwk: jsonwebtoken::jwk::Jwk = {
            let proof = proofs.proof("POST", URI, Some(&token), None).unwrap();
            let header = proof.split('.').next().unwrap();
            use base64::Engine;
            let h: serde_json::Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(header)
                    .unwrap(),
            )
            .unwrap();
            serde_json::from_value(h["jwk"].clone()).unwrap()
        };
        let bare_key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let (mut full, mut bare, mut bearer, mut with_proof) = (vec![], vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            let batch: Vec<String> = (0..PER_ROUND * 2)
                .map(|_| proofs.proof("POST", URI, Some(&token), None).unwrap())
                .collect();
            let (first, second) = batch.split_at(PER_ROUND);
            let mut time_full = || {
                let start = Instant::now();
                for p in first {
                    let target = ProofTarget {
                        method: "POST",
                        uri: &uri,
                        access_token: Some(&token),
                        jkt: Some(proofs.jkt()),
                    };
                    let r = futures::executor::block_on(verifier.verify(black_box(p), target));
                    assert!(r.is_ok());
                }
                full.push(start.elapsed().as_secs_f64() / PER_ROUND as f64);
            };
            let mut time_bare = || {
                let start = Instant::now();
                for p in first {
                    let (message, signature) = p.rsplit_once('.').unwrap();
                    let ok = jsonwebtoken::crypto::verify(
                        black_box(signature),
                        message.as_bytes(),
                        &bare_key,
                        alg,
                    )
                    .unwrap();
                    assert!(ok);
                }
                bare.push(start.elapsed().as_secs_f64() / PER_ROUND as f64);
            };
            let mut time_bearer = || {
                let start = Instant::now();
                for _ in 0..PER_ROUND {
                    let p = futures::executor::block_on(validator.validate(black_box(&token)));
                    assert!(p.is_ok());
                }
                bearer.push(start.elapsed().as_secs_f64() / PER_ROUND as f64);
            };
            let mut time_with_proof = || {
                let start = Instant::now();
                for p in second {
                    let principal =
                        futures::executor::block_on(validator.validate(black_box(&token))).unwrap();
                    let jkt = mcp_secure::auth::dpop::bound_jkt(principal.claims()).unwrap();
                    let target = ProofTarget {
                        method: "POST",
                        uri: &uri,
                        access_token: Some(&token),
                        jkt: Some(jkt),
                    };
                    assert!(futures::executor::block_on(verifier.verify(p, target)).is_ok());
                }
                with_proof.push(start.elapsed().as_secs_f64() / PER_ROUND as f64);
            };
            if round % 2 == 0 {
                time_full();
                time_bare();
                time_bearer();
                time_with_proof();
            } else {
                time_with_proof();
                time_bearer();
                time_bare();
                time_full();
            }
        }
        let (f, b, br, wp) = (
            median(full),
            median(bare),
            median(bearer),
            median(with_proof),
        );
        let us = |s: f64| s * 1e6;
        println!(
            "  {alg:?}: proof check {:.1} µs, bare signature check {:.1} µs: {:.2}x ({:+.1} µs)",
            us(f),
            us(b),
            f / b,
            us(f - b)
        );
        println!(
            "  {alg:?}: request auth, cached bearer {:.2} µs; cached DPoP-bound + proof {:.1} µs",
            us(br),
            us(wp)
        );
    }
}
