//! Token validation: the validator's cold path (no cache) against bare `jsonwebtoken::decode`
//! with the same key and checks, for RS256, ES256 and EdDSA, and the verified-token cache hit.
//!
//! The floor (aws-lc-rs verifying the signature alone, key parsed beforehand) is reported
//! next to each ratio: no validator can go below it.
//!
//! Criterion measures each; an interleaved A/B run then reports the ratios (median of
//! rounds), robust to drift on a noisy machine. Run: `cargo bench -p mcp-secure --bench token`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    hint::black_box,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use criterion::Criterion;
use mcp_secure::auth::{Algorithm, JwtConfig, JwtValidator, KeySource, SigningKey, TokenValidator};
use serde_json::json;

const ISSUER: &str = "https://as.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BareClaims {
    sub: String,
    scope: String,
    exp: u64,
}

struct Case {
    name: &'static str,
    token: String,
    cold: JwtValidator,
    cached: JwtValidator,
    bare_key: jsonwebtoken::DecodingKey,
    bare_validation: jsonwebtoken::Validation,
    /// The floor: aws-lc-rs verifying the signature alone with a key parsed beforehand.
    floor_key: aws_lc_rs::signature::ParsedPublicKey,
    floor_signature: Vec<u8>,
}

fn floor_key(alg: Algorithm, jwk: &serde_json::Value) -> aws_lc_rs::signature::ParsedPublicKey {
    use aws_lc_rs::signature as sig;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    match alg {
        Algorithm::RS256 => sig::RsaPublicKeyComponents {
            n: field("n"),
            e: field("e"),
        }
        .to_parsed_public_key(&sig::RSA_PKCS1_2048_8192_SHA256)
        .unwrap(),
        Algorithm::ES256 => {
            let mut point = vec![4u8];
            point.extend(field("x"));
            point.extend(field("y"));
            sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).unwrap()
        }
        _ => sig::ParsedPublicKey::new(&sig::ED25519, field("x")).unwrap(),
    }
}

fn case(name: &'static str, alg: Algorithm) -> Case {
    let key = SigningKey::generate(alg, "k1").unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "exp": now + 3000, "iat": now,
        "scope": "data:read data:write", "client_id": "bench", "jti": "a1b2c3d4e5f6",
    });
    let token = key.sign(&claims, Some("at+jwt")).unwrap();
    let jwks = json!({"keys": [key.public_jwk()]});
    let config = || JwtConfig::new(ISSUER, AUDIENCE);
    let cold = JwtValidator::new(
        config().cache_capacity(0),
        KeySource::from_jwks_json(&jwks, config().allowed_algorithms()),
    );
    let cached = JwtValidator::new(
        config(),
        KeySource::from_jwks_json(&jwks, config().allowed_algorithms()),
    );
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk().clone()).unwrap();
    let bare_key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut bare_validation = jsonwebtoken::Validation::new(alg);
    bare_validation.set_issuer(&[ISSUER]);
    bare_validation.set_audience(&[AUDIENCE]);
    let (message, signature) = token.rsplit_once('.').unwrap();
    let floor_signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    floor_key(alg, key.public_jwk())
        .verify_sig(message.as_bytes(), &floor_signature)
        .unwrap();
    Case {
        floor_key: floor_key(alg, key.public_jwk()),
        floor_signature,
        name,
        token,
        cold,
        cached,
        bare_key,
        bare_validation,
    }
}

fn cold(c: &Case) {
    let r = futures::executor::block_on(c.cold.validate(black_box(&c.token)));
    assert!(r.is_ok());
}

/// A hit as the resource server takes it: `TokenValidator::cached`, synchronous.
fn cached(c: &Case) {
    let r = c.cached.cached(black_box(&c.token));
    assert!(r.is_some());
}

fn bare(c: &Case) {
    let r =
        jsonwebtoken::decode::<BareClaims>(black_box(&c.token), &c.bare_key, &c.bare_validation);
    assert!(r.is_ok());
}

fn floor(c: &Case) {
    let message = &c.token[..c.token.rfind('.').unwrap()];
    let r = c
        .floor_key
        .verify_sig(black_box(message.as_bytes()), &c.floor_signature);
    assert!(r.is_ok());
}

fn timed(n: u32, f: impl Fn()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

/// Median over rounds of time(a)/time(b), alternating which goes first.
fn ratio(rounds: usize, n: u32, a: impl Fn(), b: impl Fn()) -> (f64, f64, f64) {
    let mut ratios = Vec::with_capacity(rounds);
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = timed(n, &a);
            (x, timed(n, &b))
        } else {
            let y = timed(n, &b);
            (timed(n, &a), y)
        };
        ta += x;
        tb += y;
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n) / rounds as f64;
    (ratios[rounds / 2], per(ta), per(tb))
}

fn main() {
    mcp_secure::auth::install_crypto_provider();
    let cases = [
        case("RS256", Algorithm::RS256),
        case("ES256", Algorithm::ES256),
        case("EdDSA", Algorithm::EdDSA),
    ];
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for c in &cases {
        let mut group = criterion.benchmark_group(format!("token_{}", c.name));
        group.bench_function("bare_jsonwebtoken_decode", |b| b.iter(|| bare(c)));
        group.bench_function("validator_cold", |b| b.iter(|| cold(c)));
        group.finish();
    }
    {
        let c = &cases[0];
        futures::executor::block_on(c.cached.validate(&c.token)).unwrap();
        let mut group = criterion.benchmark_group("token_cache");
        group.bench_function("validator_cache_hit_RS256", |b| b.iter(|| cached(c)));
        group.finish();
    }
    criterion.final_summary();

    println!("\ninterleaved A/B, median of 40 rounds:");
    for c in &cases {
        let (r, cold_us, bare_us) = ratio(40, 200, || cold(c), || bare(c));
        let (floor_r, _, _) = ratio(40, 200, || floor(c), || bare(c));
        println!(
            "  {}: validator cold {cold_us:.2} us, bare jsonwebtoken {bare_us:.2} us, ratio {r:.3} \
             (floor: the signature check alone with a pre-parsed key, {floor_r:.3})",
            c.name
        );
    }
    let c = &cases[0];
    let (r, hit_us, cold_us) = ratio(20, 400, || cached(c), || cold(c));
    println!(
        "  cache hit {hit_us:.3} us vs cold RS256 {cold_us:.2} us: {:.0}x faster (ratio {r:.4})",
        1.0 / r
    );
}
