//! The token path: arbitrary bytes as a bearer token through the JWT validator (static keys,
//! so no network) and the signature core. Must never panic; must never accept.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mcp_secure::auth::{
    Algorithm, JwtConfig, JwtValidator, KeySet, KeySource, SigningKey, TokenValidator,
    jwt::verify_signature_only,
};

struct Fixture {
    validator: JwtValidator,
    keys: KeySet,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let keys: Vec<serde_json::Value> = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .enumerate()
        .filter_map(|(i, alg)| SigningKey::generate(alg, format!("k{i}")).ok())
        .map(|k| k.public_jwk().clone())
        .collect();
    let config = JwtConfig::new("https://as.example", "https://rs.example/mcp");
    let allowed = config.allowed_algorithms().to_vec();
    let doc = serde_json::json!({ "keys": keys });
    Fixture {
        validator: JwtValidator::new(config, KeySource::from_jwks_json(&doc, &allowed)),
        keys: KeySet::from_document(&keys, &allowed, 8, "fuzz"),
    }
});

const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let fixture = &*FIXTURE;
    // Random input never verifies against keys the fuzzer does not hold.
    assert!(futures::executor::block_on(fixture.validator.validate(token)).is_err());
    assert!(verify_signature_only(token, &fixture.keys, ALLOWED).is_err());
});
