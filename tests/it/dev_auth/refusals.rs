//! What the development server refuses: PKCE, codes, redirects, resources, refresh, clients.

use super::*;

async fn authorize_params(d: &Dev, client: &str, challenge: &str) -> Vec<(&'static str, String)> {
    let _ = d;
    vec![
        ("response_type", "code".into()),
        ("client_id", client.to_owned()),
        ("redirect_uri", REDIRECT.into()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".into()),
        ("scope", "data:read".into()),
        ("state", "s1".into()),
        ("resource", RESOURCE.into()),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn without(v: &[(&'static str, String)], key: &str) -> Vec<(&'static str, String)> {
    v.iter().filter(|(k, _)| *k != key).cloned().collect()
}

fn with(
    v: &[(&'static str, String)],
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut out = without(v, key);
    out.push((key, value.to_owned()));
    out
}

#[tokio::test]
async fn pkce_is_required_and_only_s256() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let base = authorize_params(&d, &client, &challenge).await;
    for params in [
        without(&base, "code_challenge"),
        with(&base, "code_challenge_method", "plain"),
        without(&base, "code_challenge_method"),
        with(&base, "code_challenge", "too-short"),
    ] {
        let (status, location) = authorize(&d.issuer, &pairs(&params)).await;
        assert_eq!(status, 302);
        let location = location.unwrap();
        assert_eq!(
            query(&location, "error").as_deref(),
            Some("invalid_request"),
            "{location}"
        );
        assert_eq!(query(&location, "state").as_deref(), Some("s1"));
        assert_eq!(query(&location, "iss").as_deref(), Some(d.issuer.as_str()));
        assert!(query(&location, "code").is_none());
    }
}

/// The token request exchanging `code` (from [`code_for`]).
fn exchange_form<'a>(code: &'a str, client: &'a str, verifier: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client),
        ("code_verifier", verifier),
    ]
}

/// A refresh grant with `refresh` for `client`.
async fn refresh_with(issuer: &str, client: &str, refresh: &str) -> (u16, Value) {
    token(
        issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", client),
        ],
    )
    .await
}

async fn code_for(d: &Dev, client: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let params = authorize_params(d, client, &challenge).await;
    let (_, location) = authorize(&d.issuer, &pairs(&params)).await;
    (query(&location.unwrap(), "code").unwrap(), verifier)
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_is_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, _) = code_for(&d, &client).await;
    let (other, _) = pkce();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &other),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (code, _) = code_for(&d, &client).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    let form = exchange_form(&code, &client, &verifier);
    let (status, first) = token(&d.issuer, &form).await;
    assert_eq!(status, 200);
    let (status, body) = token(&d.issuer, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The refresh token from the first exchange is dead too.
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh_with(&d.issuer, &client, refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let d = dev_with(|c| c.code_ttl(Duration::from_secs(1))).await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_mismatched_redirect_uri_is_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let base = authorize_params(&d, &client, &challenge).await;
    for bad in [
        "https://evil.example/cb",
        "http://127.0.0.1:45678/other",
        "http://evil.example:45678/cb",
    ] {
        let (status, location) =
            authorize(&d.issuer, &pairs(&with(&base, "redirect_uri", bad))).await;
        // Never redirected to an unregistered URI: the error is shown on the server.
        assert_eq!((status, location), (400, None), "{bad}");
    }
    // Loopback redirects may use another port (RFC 8252 §7.3).
    let (status, location) = authorize(
        &d.issuer,
        &pairs(&with(&base, "redirect_uri", "http://127.0.0.1:50001/cb")),
    )
    .await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(location.port(), Some(50001));
    // The token request must repeat the redirect URI used.
    let code = query(&location, "code").unwrap();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", "x".repeat(43).as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_missing_or_foreign_resource_is_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (_, challenge) = pkce();
    let base = authorize_params(&d, &client, &challenge).await;
    for params in [
        without(&base, "resource"),
        with(&base, "resource", "https://other.example/mcp"),
        with(&base, "resource", "http://127.0.0.1:1/mcp/"),
    ] {
        let (_, location) = authorize(&d.issuer, &pairs(&params)).await;
        assert_eq!(
            query(&location.unwrap(), "error").as_deref(),
            Some("invalid_target")
        );
    }
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_family() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read data:write").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh_with(&d.issuer, &client, &r1).await;
    assert_eq!(status, 200);
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_ne!(first["access_token"], second["access_token"]);
    // Replay r1: refused, and r2 dies with the family.
    let (status, body) = refresh_with(&d.issuer, &client, &r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = refresh_with(&d.issuer, &client, &r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn refresh_may_narrow_the_scope_never_widen_it() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &client),
            ("scope", "data:read data:write"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn refresh_narrowing_is_honoured() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read data:write").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &client),
            ("scope", "data:read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "data:read"
    );
    // The next refresh may go back up to the original grant, not beyond.
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh_with(&d.issuer, &client, &r2).await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "data:read data:write");
}

#[tokio::test]
async fn client_credentials_for_service_clients() {
    let d = dev_with(|c| {
        c.client(DevClient {
            id: "svc".into(),
            secret: SecretString::from("svc-secret-123".to_string()),
            scopes: mcp_secure::ScopeSet::parse("data:read").unwrap(),
        })
    })
    .await;
    let basic = base64::engine::general_purpose::STANDARD.encode("svc:svc-secret-123");
    let body = format!(
        "grant_type=client_credentials&resource={}",
        url::form_urlencoded::byte_serialize(RESOURCE.as_bytes()).collect::<String>()
    );
    let r = http()
        .post(format!("{}/token", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(claims(v["access_token"].as_str().unwrap())["sub"], "svc");
    assert!(v.get("refresh_token").is_none());
    let wrong = base64::engine::general_purpose::STANDARD.encode("svc:nope");
    let r = http()
        .post(format!("{}/token", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {wrong}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A public client cannot use it.
    let public = register(&d.issuer, REDIRECT).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public),
            ("resource", RESOURCE),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn revocation_of_a_refresh_token_revokes_its_family() {
    let d = dev().await;
    let (client, first) = code_flow(&d, "data:read").await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("token", refresh), ("client_id", client.as_str())])
        .finish();
    let r = http()
        .post(format!("{}/revoke", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, _) = refresh_with(&d.issuer, &client, refresh).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn duplicate_parameters_are_refused() {
    let d = dev().await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code", "other"),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn registration_refuses_unsafe_redirect_uris() {
    let d = dev().await;
    for uri in [
        "http://evil.example/cb",
        "javascript:alert(1)",
        "https://app.example/cb#x",
        "not a url",
    ] {
        let r = http()
            .post(format!("{}/register", d.issuer))
            .header("content-type", "application/json")
            .body(json!({"redirect_uris": [uri]}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{uri}");
    }
}

#[tokio::test]
async fn the_consent_page_escapes_the_client_name_and_honours_the_decision() {
    let d = dev_with(|c| c.approval(Approval::Consent).unwrap()).await;
    let r = http()
        .post(format!("{}/register", d.issuer))
        .header("content-type", "application/json")
        .body(
            json!({"redirect_uris": [REDIRECT], "client_name": "<script>alert(1)</script>"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let client = serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, challenge) = pkce();
    let params = authorize_params(&d, &client, &challenge).await;
    let mut url = Url::parse(&format!("{}/authorize", d.issuer)).unwrap();
    url.query_pairs_mut().extend_pairs(pairs(&params));
    let page = http().get(url).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    let request = html
        .split("name=request value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let deny = http()
        .post(format!("{}/authorize/decision", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("request={request}&user=alice&decision=deny"))
        .send()
        .await
        .unwrap();
    let location = Url::parse(deny.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(query(&location, "error").as_deref(), Some("access_denied"));
    // The request is answered once.
    let again = http()
        .post(format!("{}/authorize/decision", d.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("request={request}&user=alice&decision=approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

/// POST /register with extra headers; returns the status.
async fn register_with(issuer: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = http()
        .post(format!("{issuer}/register"))
        .header("content-type", "application/json")
        .body(json!({"redirect_uris": [REDIRECT], "client_name": "t", "token_endpoint_auth_method": "none"}).to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_development_server_refuses_a_foreign_host_or_origin() {
    let d = dev().await;
    let port = d.server.local_addr().port();
    // DNS rebinding: the page's name points at loopback, but the Host is the attacker's.
    assert_eq!(
        register_with(&d.issuer, &[("host", "attacker.example")]).await,
        403
    );
    assert_eq!(
        register_with(
            &d.issuer,
            &[("host", &format!("rebind.attacker.example:{port}"))]
        )
        .await,
        403
    );
    // A page on another origin.
    assert_eq!(
        register_with(&d.issuer, &[("origin", "https://attacker.example")]).await,
        403
    );
    let r = http()
        .get(format!("{}/authorize?client_id=x", d.issuer))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (status, _) = token(&d.issuer, &[("grant_type", "client_credentials")]).await;
    assert_ne!(status, 403, "its own Host is answered");
    // Its own names and origins, and the resource's origin, are answered.
    assert_eq!(register_with(&d.issuer, &[]).await, 201);
    assert_eq!(
        register_with(&d.issuer, &[("host", &format!("localhost:{port}"))]).await,
        201
    );
    assert_eq!(
        register_with(&d.issuer, &[("origin", &d.issuer)]).await,
        201
    );
    assert_eq!(
        register_with(&d.issuer, &[("origin", "http://127.0.0.1:1")]).await,
        201
    );
}

#[tokio::test]
async fn a_code_replayed_after_it_expired_still_revokes_its_grant() {
    let d = dev_with(|c| c.code_ttl(Duration::from_secs(1))).await;
    let client = register(&d.issuer, REDIRECT).await;
    let (code, verifier) = code_for(&d, &client).await;
    let form = exchange_form(&code, &client, &verifier);
    let (status, first) = token(&d.issuer, &form).await;
    assert_eq!(status, 200);
    // Past the code's own lifetime the replay is still recognised.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _) = token(&d.issuer, &form).await;
    assert_eq!(status, 400);
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh_with(&d.issuer, &client, refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn the_signing_key_can_persist_across_restarts() {
    let dir = std::env::temp_dir().join(format!("mcp-secure-devkey-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let jwk = |issuer: String| async move {
        let r = reqwest::get(format!("{issuer}/jwks")).await.unwrap();
        serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["keys"][0].clone()
    };
    let a = dev_with(|c| c.key_file(&dir).algorithm(Algorithm::ES256).unwrap()).await;
    let first = jwk(a.issuer.clone()).await;
    a.server.shutdown().await;
    let b = dev_with(|c| c.key_file(&dir).algorithm(Algorithm::ES256).unwrap()).await;
    assert_eq!(jwk(b.issuer.clone()).await, first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let _ = std::fs::remove_file(&dir);
}

#[tokio::test]
async fn a_client_that_did_not_register_the_refresh_grant_gets_no_refresh_token_and_cannot_refresh()
{
    let d = dev().await;
    let r = http()
        .post(format!("{}/register", d.issuer))
        .header("content-type", "application/json")
        .body(
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                   "grant_types": ["authorization_code"]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let client = serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (verifier, challenge) = pkce();
    let (_, location) = authorize(
        &d.issuer,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "data:read"),
            ("resource", RESOURCE),
        ],
    )
    .await;
    let code = query(&location.unwrap(), "code").unwrap();
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("access_token").is_some());
    assert!(body.get("refresh_token").is_none(), "{body}");
    // And the refresh grant is refused to it, whatever it presents.
    let (_, other) = code_flow(&d, "data:read").await;
    let refresh = other["refresh_token"].as_str().unwrap();
    let (status, body) = refresh_with(&d.issuer, &client, refresh).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unauthorized_client");
}
