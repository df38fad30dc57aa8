//! DPoP at the development authorization server (RFC 9449 sections 5 and 10): proofs at the
//! token endpoint bind access tokens (`cnf.jkt`) and a public client's refresh tokens, and
//! `dpop_jkt` at the authorization endpoint binds the code.

use super::*;
use mcp_secure::auth::{SigningKey, dpop::DpopProofs};

fn holder() -> DpopProofs {
    DpopProofs::new(SigningKey::generate(Algorithm::ES256, "client").unwrap()).unwrap()
}

async fn token_with(issuer: &str, form: &[(&str, &str)], proof: Option<&str>) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = http()
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(p) = proof {
        request = request.header("dpop", p);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// Registers a public client and authorizes it (with `dpop_jkt` when given): (client, code,
/// verifier).
async fn authorized(d: &Dev, dpop_jkt: Option<&str>) -> (String, String, String) {
    let client = register(&d.issuer, REDIRECT).await;
    let (verifier, challenge) = pkce();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "data:read"),
        ("resource", RESOURCE),
    ];
    if let Some(jkt) = dpop_jkt {
        params.push(("dpop_jkt", jkt));
    }
    let (status, location) = authorize(&d.issuer, &params).await;
    assert_eq!(status, 302);
    let code = query(&location.unwrap(), "code").unwrap();
    (client, code, verifier)
}

fn code_form<'a>(client: &'a str, code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn a_proof_at_the_token_endpoint_binds_the_access_token_and_the_refresh_token() {
    let d = dev().await;
    let key = holder();
    let token_url = format!("{}/token", d.issuer);
    let (client, code, verifier) = authorized(&d, None).await;
    let proof = key.proof("POST", &token_url, None, None).unwrap();
    let (status, body) = token_with(
        &d.issuer,
        &code_form(&client, &code, &verifier),
        Some(&proof),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["cnf"]["jkt"], key.jkt());
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", client.as_str()),
    ];
    // Stolen refresh token: no proof, or a proof by the thief's key.
    let (status, body) = token_with(&d.issuer, &form, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );
    let thief = holder();
    let proof = thief.proof("POST", &token_url, None, None).unwrap();
    let (status, body) = token_with(&d.issuer, &form, Some(&proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );
    // The holder refreshes: still bound to its key.
    let proof = key.proof("POST", &token_url, None, None).unwrap();
    let (status, body) = token_with(&d.issuer, &form, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
    // Without a proof, tokens are plain bearer tokens.
    let (_, plain) = code_flow(&d, "data:read").await;
    assert_eq!(plain["token_type"], "Bearer");
    assert!(
        claims(plain["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
    // The metadata advertises DPoP.
    let meta: Value = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            d.issuer
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        meta["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
}

#[tokio::test]
async fn a_code_requested_with_dpop_jkt_is_redeemed_only_with_that_key() {
    let d = dev().await;
    let key = holder();
    let token_url = format!("{}/token", d.issuer);
    for attempt in ["no proof", "another key"] {
        let (client, code, verifier) = authorized(&d, Some(key.jkt())).await;
        let proof = (attempt == "another key")
            .then(|| holder().proof("POST", &token_url, None, None).unwrap());
        let (status, body) = token_with(
            &d.issuer,
            &code_form(&client, &code, &verifier),
            proof.as_deref(),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{attempt}"
        );
    }
    let (client, code, verifier) = authorized(&d, Some(key.jkt())).await;
    let proof = key.proof("POST", &token_url, None, None).unwrap();
    let (status, body) = token_with(
        &d.issuer,
        &code_form(&client, &code, &verifier),
        Some(&proof),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A malformed dpop_jkt is refused at the authorization endpoint.
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let (status, location) = authorize(
        &d.issuer,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", RESOURCE),
            ("dpop_jkt", "not-a-thumbprint"),
        ],
    )
    .await;
    let refused = status == 400
        || location.is_some_and(|l| query(&l, "error").as_deref() == Some("invalid_request"));
    assert!(refused, "{status}");
}

#[tokio::test]
async fn a_bad_proof_at_the_token_endpoint_is_refused() {
    let d = dev().await;
    let key = holder();
    let (client, code, verifier) = authorized(&d, None).await;
    // A proof for another endpoint, and a replayed one.
    let wrong = key
        .proof("POST", &format!("{}/register", d.issuer), None, None)
        .unwrap();
    let (status, body) = token_with(
        &d.issuer,
        &code_form(&client, &code, &verifier),
        Some(&wrong),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );
    // A proof used once is not accepted again.
    let proof = key
        .proof("POST", &format!("{}/token", d.issuer), None, None)
        .unwrap();
    let (status, _) = token_with(
        &d.issuer,
        &code_form(&client, &code, &verifier),
        Some(&proof),
    )
    .await;
    assert_eq!(status, 200, "a refused proof does not spend the code");
    let (client, code, verifier) = authorized(&d, None).await;
    let (status, body) = token_with(
        &d.issuer,
        &code_form(&client, &code, &verifier),
        Some(&proof),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );
}
