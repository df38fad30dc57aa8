//! The JWKS parser: arbitrary JSON as a key set. Never panics; never admits a symmetric key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::auth::{Algorithm, KeySet, VerifyingKey};

const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA];

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let keys: Vec<serde_json::Value> = match value.get("keys").and_then(|k| k.as_array()) {
        Some(keys) => keys.clone(),
        None => vec![value.clone()],
    };
    for key in &keys {
        if let Ok(k) = VerifyingKey::from_jwk_value(key, ALLOWED) {
            assert_ne!(key.get("kty").and_then(|v| v.as_str()), Some("oct"));
            assert!(!k.accepts(Algorithm::HS256));
        }
    }
    let set = KeySet::from_document(&keys, ALLOWED, 64, "fuzz");
    assert!(set.len() <= keys.len());
    let _ = set.find(Some("k"), Algorithm::RS256);
    let _ = set.find(None, Algorithm::ES256);
});
