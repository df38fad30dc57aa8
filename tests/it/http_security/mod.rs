//! Every row of the resource server's refusal table (shared/SECURITY.md), as a named test
//! against the real HTTP server on a loopback port, with a JWKS served by a real local HTTP
//! server and tokens signed with real RSA, EC and Ed25519 keys.
//!
//! Rows marked "lib" in the table are refused by jsonwebtoken already; their tests stay so a
//! dependency bump cannot regress them.

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

mod hardening;
mod jwks;
mod tokens;
mod transport;
