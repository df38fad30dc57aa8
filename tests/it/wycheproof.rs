//! Wycheproof JSON Web Signature vectors (C2SP, Apache-2.0) through the token path's
//! signature core: structure checks, algorithm allow-list, key loading and choice, signature
//! verification. The vectors live beside the project (`../shared/testvectors/wycheproof/`);
//! without them the test says so and passes.
//!
//! Every vector marked `invalid` must be refused. A vector marked `valid` must be accepted,
//! except where this project is deliberately stricter than the vectors:
//!
//! - HMAC (`oct` keys, `HS*`): never accepted next to public keys, so every HMAC vector is
//!   refused;
//! - ES512 (P-521): not supported by the verifier (jsonwebtoken), the key is skipped;
//! - a token whose `alg` differs from its JWK's `alg` (RFC 7520 §4.2 signs PS384 with a key
//!   declared PS256): refused, as SECURITY.md requires.

use std::path::PathBuf;

use mcp_secure::auth::{
    Algorithm, KeySet,
    jwt::{DEFAULT_ALGORITHMS, verify_signature_only},
};
use serde_json::Value;

/// The validator's default policy: the vectors check what a server accepts out of the box.
const ALLOWED: &[Algorithm] = DEFAULT_ALGORITHMS;
fn vectors() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testvectors/wycheproof/json_web_signature_test.json");
    let text = std::fs::read_to_string(&path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Why a `valid` vector is expected to be refused here, if it is.
fn stricter_than_vectors(key: &Value, token: &str) -> Option<&'static str> {
    if key["kty"] == "oct" {
        return Some("HMAC is never accepted");
    }
    if key["crv"] == "P-521" {
        return Some("ES512 is not supported");
    }
    let header = token.split('.').next().unwrap_or_default();
    let header: Value = base64_json(header).unwrap_or(Value::Null);
    if key.get("alg").is_some() && header.get("alg").is_some() && key["alg"] != header["alg"] {
        return Some("token alg differs from the JWK alg");
    }
    None
}

fn base64_json(segment: &str) -> Option<Value> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

#[test]
fn wycheproof_json_web_signature_vectors() {
    let Some(doc) = vectors() else {
        eprintln!(
            "skipped: ../shared/testvectors/wycheproof/json_web_signature_test.json is absent"
        );
        return;
    };
    let mut checked = 0;
    let mut excluded = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let key = group
            .get("public")
            .or_else(|| group.get("private"))
            .unwrap();
        let keys = KeySet::from_document(std::slice::from_ref(key), ALLOWED, 8, "wycheproof");
        for test in group["tests"].as_array().unwrap() {
            let id = test["tcId"].as_u64().unwrap();
            let expected_valid = test["result"] == "valid";
            let result = match test["jws"].as_str() {
                Some(token) => verify_signature_only(token, &keys, ALLOWED),
                // JSON serialization: not a compact token at all.
                None => Err(mcp_secure::auth::AuthFailure::Unsupported),
            };
            checked += 1;
            if expected_valid {
                let token = test["jws"].as_str().unwrap_or_default();
                match stricter_than_vectors(key, token) {
                    Some(why) => {
                        assert!(result.is_err(), "tcId {id}: expected refusal ({why})");
                        excluded.push((id, why));
                    }
                    None => assert!(
                        result.is_ok(),
                        "tcId {id} ({}): valid vector refused: {result:?}",
                        test["comment"]
                    ),
                }
            } else {
                assert!(
                    result.is_err(),
                    "tcId {id} ({}): invalid vector accepted",
                    test["comment"]
                );
            }
        }
    }
    assert_eq!(checked, doc["numberOfTests"].as_u64().unwrap());
    eprintln!(
        "{checked} vectors checked; {} valid vectors refused by policy: {excluded:?}",
        excluded.len()
    );
    assert!(excluded.len() < 20);
}
