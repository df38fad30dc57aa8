//! The DPoP proof path (RFC 9449): arbitrary proofs, and proofs whose header or claims are
//! arbitrary bytes correctly signed (so the checks after the signature are reached). Never
//! panics; a proof is accepted only when every claim is right for the request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::auth::{
    Algorithm, SigningKey,
    dpop::{DpopConfig, DpopMode, DpopVerifier, MemoryReplayStore, ProofTarget, ath, thumbprint},
};

const URI: &str = "https://mcp.example.com/mcp";
const TOKEN: &str = "access-token";

struct Fixture {
    key: SigningKey,
    jwk: serde_json::Value,
    verifier: DpopVerifier,
    uri: url::Url,
}

fuzz_target!(|data: &[u8]| {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    let f = FIXTURE.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::ES256, "k").expect("key");
        let mut jwk = key.public_jwk().clone();
        jwk.as_object_mut().expect("object").remove("kid");
        Fixture {
            key,
            jwk,
            verifier: DpopVerifier::new(
                DpopConfig::new(DpopMode::Required),
                std::sync::Arc::new(MemoryReplayStore::new(10_000)),
            ),
            uri: url::Url::parse(URI).expect("url"),
        }
    });
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": f.jwk}).to_string();
    let proof = match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => f.key.sign_raw(header.as_bytes(), rest).expect("signs"),
        _ => {
            let claims = serde_json::json!({"jti": "x", "htm": "POST", "htu": URI, "iat": 0, "ath": ath(TOKEN)});
            f.key.sign_raw(rest, claims.to_string().as_bytes()).expect("signs")
        }
    };
    let jkt = thumbprint(&f.jwk).expect("thumbprint");
    let target = ProofTarget { method: "POST", uri: &f.uri, access_token: Some(TOKEN), jkt: Some(&jkt) };
    if futures::executor::block_on(f.verifier.verify(&proof, target)).is_ok() {
        // Accepted: the claims named this request and this token.
        let payload = proof.split('.').nth(1).expect("three segments");
        use base64::Engine;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"),
        )
        .expect("json");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["ath"], serde_json::Value::String(ath(TOKEN)));
    }
});
