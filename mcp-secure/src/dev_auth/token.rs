//! The token endpoint: the authorization code grant (PKCE S256), refresh token rotation with
//! reuse detection, and client credentials.

use std::{collections::HashMap, sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;

use super::{
    Shared,
    client_auth::{Caller, authenticate_client},
    consent::CONSENT_TTL,
    store::{self, Code, Family, GrantType, MAX_ENTRIES, Refresh, UsedCode, random_token},
    web::{oauth_error, parse_params},
};
use crate::{audit, auth::now_unix, scope::ScopeSet};

/// The grant's parameters and the key its access token is bound to, if any.
struct Issue<'a> {
    user: &'a str,
    client_id: &'a str,
    scopes: &'a ScopeSet,
    resource: &'a str,
    refresh: Option<&'a str>,
    jkt: Option<&'a str>,
}

fn token_response(s: &Shared, issue: Issue<'_>) -> Response {
    let Issue {
        user,
        client_id,
        scopes,
        resource,
        refresh,
        jkt,
    } = issue;
    let now = now_unix();
    let ttl = s.config.access_token_ttl.as_secs();
    let mut claims = json!({
        "iss": s.issuer,
        "sub": user,
        "aud": resource,
        "client_id": client_id,
        "scope": scopes.to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": random_token(),
    });
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    let Ok(access_token) = s.key.sign(&claims, Some("at+jwt")) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "token signing failed",
        );
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": ttl,
        "scope": scopes.to_string(),
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(body),
    )
        .into_response()
}

fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .is_ok()
}

fn invalid_grant(description: &'static str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// The token endpoint.
pub(super) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(p) = parse_params(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed request (duplicate or oversized parameters)",
        );
    };
    let caller = match authenticate_client(&s, &headers, &p) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let client_id = match &caller {
        Caller::Public(id) | Caller::Confidential(id) => id.clone(),
    };
    // RFC 9449 section 5: a DPoP proof binds what is issued to its key.
    let jkt = match dpop_proof(&s, &headers).await {
        Ok(jkt) => jkt,
        Err(response) => return response,
    };
    let public = matches!(caller, Caller::Public(_));
    match p.get("grant_type").and_then(|g| GrantType::parse(g)) {
        Some(GrantType::AuthorizationCode) => {
            code_grant(&s, &client_id, &p, jkt.as_deref(), public)
        }
        Some(GrantType::RefreshToken) => refresh_grant(&s, &client_id, &p, jkt.as_deref()),
        Some(GrantType::ClientCredentials) => match caller {
            Caller::Confidential(id) => client_credentials_grant(&s, &id, &p, jkt.as_deref()),
            Caller::Public(_) => oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "client_credentials needs a confidential client",
            ),
        },
        Some(GrantType::TokenExchange) => match caller {
            Caller::Confidential(id) => token_exchange_grant(&s, &id, &p).await,
            Caller::Public(_) => oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "token exchange needs a confidential client",
            ),
        },
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token, client_credentials or token exchange",
        ),
    }
}

/// The thumbprint of the key of the request's DPoP proof, if it has one; a bad proof is
/// `400 invalid_dpop_proof`.
#[allow(clippy::result_large_err)]
async fn dpop_proof(s: &Shared, headers: &HeaderMap) -> Result<Option<String>, Response> {
    let mut proofs = headers.get_all("dpop").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Ok(None),
        (Some(p), None) => p.to_str().ok(),
        _ => None,
    };
    let bad = |failure: crate::auth::dpop::DpopFailure| {
        tracing::warn!(target: audit::TARGET, event = "dpop_refused", reason = failure.as_str(), "dev authorization server refused a DPoP proof");
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            failure.description(),
        )
    };
    let Some(proof) = proof else {
        return Err(bad(crate::auth::dpop::DpopFailure::Malformed));
    };
    let Ok(uri) = url::Url::parse(&format!("{}/token", s.issuer)) else {
        return Err(bad(crate::auth::dpop::DpopFailure::BadUri));
    };
    s.dpop
        .verify(
            proof,
            crate::auth::dpop::ProofTarget {
                method: "POST",
                uri: &uri,
                access_token: None,
                jkt: None,
            },
        )
        .await
        .map(|v| Some(v.jkt))
        .map_err(bad)
}

fn invalid_dpop(description: &'static str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
}

fn code_grant(
    s: &Shared,
    client_id: &str,
    p: &HashMap<String, String>,
    jkt: Option<&str>,
    public: bool,
) -> Response {
    let Some(code) = p.get("code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    };
    let code_hash = store::hash(code);
    let code = {
        let mut store = s.store();
        store.sweep(CONSENT_TTL);
        match store.codes.remove(&code_hash) {
            Some(code) => code,
            None => {
                // A replayed code revokes what it issued (OAuth 2.1 §4.1.3).
                if let Some(used) = store.used_codes.get(&code_hash).cloned() {
                    store.revoke_family(&used.family);
                    drop(store);
                    tracing::warn!(target: audit::TARGET, event = "code_reuse", "an authorization code was presented twice; its tokens are revoked");
                }
                return invalid_grant("the code is invalid, expired or already used");
            }
        }
    };
    if code.expires <= Instant::now() {
        return invalid_grant("the code expired");
    }
    if code.client_id != client_id {
        return invalid_grant("the code was issued to another client");
    }
    if p.get("redirect_uri") != Some(&code.redirect_uri) {
        return invalid_grant("redirect_uri does not match the authorization request");
    }
    let Some(verifier) = p.get("code_verifier") else {
        return invalid_grant("code_verifier is required (PKCE)");
    };
    if !pkce_ok(verifier, &code.code_challenge) {
        return invalid_grant("code_verifier does not match the code_challenge");
    }
    if p.get("resource").is_some_and(|r| *r != code.resource) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource differs from the authorization request",
        );
    }
    // RFC 9449 section 10: a code requested with `dpop_jkt` is redeemed only with a proof by
    // that key.
    if let Some(expected) = &code.dpop_jkt
        && jkt != Some(expected.as_str())
    {
        return invalid_dpop("the DPoP proof's key is not the one named by dpop_jkt");
    }
    // A client that did not register the refresh grant gets no refresh token (a client that
    // steps up by refreshing first, as the TypeScript SDK does, then re-authorizes instead).
    let may_refresh = client_may(s, client_id, GrantType::RefreshToken);
    let bind_refresh = if public { jkt } else { None };
    let refresh = match start_family(s, client_id, &code, code_hash, may_refresh, bind_refresh) {
        Ok(refresh) => refresh,
        Err(response) => return response,
    };
    tracing::info!(target: audit::TARGET, event = "token_issued", grant = "authorization_code", subject = %audit::Sanitized(&code.user), "dev authorization server issued tokens");
    token_response(
        s,
        Issue {
            user: &code.user,
            client_id,
            scopes: &code.scopes,
            resource: &code.resource,
            refresh: refresh.as_deref(),
            jkt,
        },
    )
}

/// Whether `client_id` registered `grant`.
fn client_may(s: &Shared, client_id: &str, grant: GrantType) -> bool {
    s.store()
        .clients
        .get(client_id)
        .is_some_and(|c| c.grant_types.contains(&grant))
}

/// Records the grant a code starts: its refresh-token family, its first refresh token, and
/// the used code (to detect replays). Returns the refresh token.
#[allow(clippy::result_large_err)]
fn start_family(
    s: &Shared,
    client_id: &str,
    code: &Code,
    code_hash: [u8; 32],
    may_refresh: bool,
    dpop_jkt: Option<&str>,
) -> Result<Option<String>, Response> {
    let family = random_token();
    let mut store = s.store();
    if store.families.len() >= MAX_ENTRIES * 10 || store.used_codes.len() >= MAX_ENTRIES * 10 {
        store.sweep_now(CONSENT_TTL, Instant::now());
        if store.families.len() >= MAX_ENTRIES * 10 || store.used_codes.len() >= MAX_ENTRIES * 10 {
            return Err(oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many active grants",
            ));
        }
    }
    let expires = Instant::now() + s.config.refresh_token_ttl;
    store.families.insert(
        family.clone(),
        Family {
            client_id: client_id.to_owned(),
            user: code.user.clone(),
            scopes: code.scopes.clone(),
            resource: code.resource.clone(),
            revoked: false,
            expires,
            dpop_jkt: dpop_jkt.map(str::to_owned),
        },
    );
    let refresh = may_refresh.then(|| {
        let refresh = random_token();
        store.refresh.insert(
            store::hash(&refresh),
            Refresh {
                family: family.clone(),
                used: false,
            },
        );
        refresh
    });
    // Remembered as long as the grant lives, so a replay at any time is noticed.
    store
        .used_codes
        .insert(code_hash, UsedCode { family, expires });
    store.client_used(client_id);
    Ok(refresh)
}

fn refresh_grant(
    s: &Shared,
    client_id: &str,
    p: &HashMap<String, String>,
    jkt: Option<&str>,
) -> Response {
    let Some(presented) = p.get("refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
    if !client_may(s, client_id, GrantType::RefreshToken) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client did not register the refresh_token grant",
        );
    }
    let presented_hash = store::hash(presented);
    let mut store = s.store();
    store.sweep(CONSENT_TTL);
    let Some(entry) = store.refresh.get(&presented_hash).cloned() else {
        return invalid_grant("unknown refresh token");
    };
    let Some(family) = store.families.get(&entry.family).cloned() else {
        return invalid_grant("the refresh token expired");
    };
    if family.client_id != client_id {
        return invalid_grant("the refresh token was issued to another client");
    }
    if entry.used {
        // Reuse: someone replayed a rotated-out token. Revoke the whole family.
        store.revoke_family(&entry.family);
        drop(store);
        tracing::warn!(
            target: audit::TARGET,
            event = "refresh_token_reuse",
            subject = %audit::Sanitized(&family.user),
            "a used refresh token was presented; its whole family is revoked"
        );
        return invalid_grant("the refresh token was already used; the grant is revoked");
    }
    if family.revoked {
        return invalid_grant("the grant was revoked");
    }
    // A bound refresh token (a public client's, RFC 9449 section 5) needs a proof by its key.
    if let Some(bound) = &family.dpop_jkt
        && jkt != Some(bound.as_str())
    {
        drop(store);
        tracing::warn!(target: audit::TARGET, event = "dpop_refused", reason = "refresh_key_mismatch", subject = %audit::Sanitized(&family.user), "a DPoP-bound refresh token was presented without its key");
        return invalid_dpop("this refresh token is bound to another key");
    }
    if family.expires <= Instant::now() {
        return invalid_grant("the refresh token expired");
    }
    if store.refresh.len() >= MAX_ENTRIES * 10 {
        store.sweep_now(CONSENT_TTL, Instant::now());
        if store.refresh.len() >= MAX_ENTRIES * 10 {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many active grants",
            );
        }
    }
    let scopes = match requested_scopes(
        p,
        &family.scopes,
        "a refresh may narrow the scope, never widen it",
    ) {
        Ok(scopes) => scopes,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", why),
    };
    if p.get("resource").is_some_and(|r| *r != family.resource) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource differs from the original grant",
        );
    }
    let next = random_token();
    if let Some(e) = store.refresh.get_mut(&presented_hash) {
        e.used = true;
    }
    store.refresh.insert(
        store::hash(&next),
        Refresh {
            family: entry.family.clone(),
            used: false,
        },
    );
    store.client_used(client_id);
    drop(store);
    tracing::info!(target: audit::TARGET, event = "token_issued", grant = "refresh_token", subject = %audit::Sanitized(&family.user), "dev authorization server issued tokens");
    token_response(
        s,
        Issue {
            user: &family.user,
            client_id,
            scopes: &scopes,
            resource: &family.resource,
            refresh: Some(&next),
            jkt,
        },
    )
}

fn client_credentials_grant(
    s: &Shared,
    client_id: &str,
    p: &HashMap<String, String>,
    jkt: Option<&str>,
) -> Response {
    let Some(client) = s.store().clients.get(client_id).cloned() else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    };
    if !client.grant_types.contains(&GrantType::ClientCredentials) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use client_credentials",
        );
    }
    let Some(resource) = p.get("resource") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "the resource parameter (RFC 8707) is required",
        );
    };
    if !s.config.resources.iter().any(|r| r == resource) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "tokens cannot be issued for that resource",
        );
    }
    let scopes = match requested_scopes(
        p,
        &client.scopes,
        "the client may not be granted that scope",
    ) {
        Ok(scopes) => scopes,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", why),
    };
    token_response(
        s,
        Issue {
            user: client_id,
            client_id,
            scopes: &scopes,
            resource,
            refresh: None,
            jkt,
        },
    )
}

/// RFC 8693 `access_token` token type.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// RFC 8693: a user's access token issued here, exchanged by a client the policy names for a
/// token for one of its allowed audiences: same subject, `act` naming the client, scopes no
/// wider than the user's, expiring no later than the user's token.
async fn token_exchange_grant(
    s: &Shared,
    client_id: &str,
    p: &HashMap<String, String>,
) -> Response {
    let bad = |error: &'static str, description: &'static str| {
        tracing::warn!(target: audit::TARGET, event = "token_exchange_refused", client_id = %audit::Sanitized(client_id), reason = error, "dev authorization server refused a token exchange");
        oauth_error(StatusCode::BAD_REQUEST, error, description)
    };
    let Some(allowed) = s
        .config
        .exchange
        .iter()
        .find(|(c, _)| c == client_id)
        .map(|(_, audiences)| audiences)
    else {
        return bad("unauthorized_client", "this client may not exchange tokens");
    };
    if p.get("subject_token_type").map(String::as_str) != Some(ACCESS_TOKEN_TYPE) {
        return bad(
            "invalid_request",
            "subject_token_type must be urn:ietf:params:oauth:token-type:access_token",
        );
    }
    if p.get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return bad("invalid_request", "only access tokens are issued");
    }
    if p.contains_key("actor_token") {
        return bad("invalid_request", "actor tokens are not supported");
    }
    let target = match (p.get("resource"), p.get("audience")) {
        (Some(r), None) | (None, Some(r)) => r,
        (Some(r), Some(a)) if r == a => r,
        _ => return bad("invalid_target", "name one target: resource or audience"),
    };
    if !allowed.iter().any(|a| a == target) {
        return bad(
            "invalid_target",
            "this client may not obtain tokens for that audience",
        );
    }
    let Some(subject_token) = p.get("subject_token") else {
        return bad("invalid_request", "subject_token is required");
    };
    let Ok(user) =
        crate::auth::TokenValidator::validate(s.subject_validator(), subject_token).await
    else {
        return bad("invalid_grant", "the subject token is invalid or expired");
    };
    // A token bound to a key (DPoP) stays with its holder.
    if user.dpop_jkt().is_some() {
        return bad(
            "invalid_grant",
            "a sender-constrained subject token cannot be exchanged",
        );
    }
    let scopes = match requested_scopes(
        p,
        user.scopes(),
        "the exchange may narrow the scope, never widen it",
    ) {
        Ok(scopes) => scopes,
        Err(why) => return bad("invalid_scope", why),
    };
    let now = now_unix();
    let user_exp = user
        .expires_at()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(now, |d| d.as_secs());
    let exp = (now + s.config.access_token_ttl.as_secs()).min(user_exp);
    if exp <= now {
        return bad("invalid_grant", "the subject token is invalid or expired");
    }
    let claims = json!({
        "iss": s.issuer,
        "sub": user.subject(),
        "aud": target,
        "client_id": client_id,
        "scope": scopes.to_string(),
        "act": {"sub": client_id},
        "iat": now,
        "nbf": now,
        "exp": exp,
        "jti": random_token(),
    });
    let Ok(access_token) = s.key.sign(&claims, Some("at+jwt")) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "token signing failed",
        );
    };
    tracing::info!(target: audit::TARGET, event = "token_issued", grant = "token_exchange", subject = %audit::Sanitized(user.subject()), client_id = %audit::Sanitized(client_id), audience = %audit::Sanitized(target), "dev authorization server exchanged a token");
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(json!({
            "access_token": access_token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": exp - now,
            "scope": scopes.to_string(),
        })),
    )
        .into_response()
}

/// The `scope` parameter of a token request, which may narrow `granted` but never widen it
/// (all of `granted` when absent); otherwise the `invalid_scope` reason (`widened` for a
/// wider request).
fn requested_scopes(
    p: &HashMap<String, String>,
    granted: &ScopeSet,
    widened: &'static str,
) -> Result<ScopeSet, &'static str> {
    match p.get("scope").map(|sc| ScopeSet::parse(sc)) {
        None => Ok(granted.clone()),
        Some(Ok(requested)) if requested.iter().all(|sc| granted.contains(sc)) => Ok(requested),
        Some(Ok(_)) => Err(widened),
        Some(Err(_)) => Err("scope is not a valid scope list"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        // Challenge computed independently (Python hashlib + base64url).
        let verifier = "dBjftJeZ4CVP-mJ92K1Kak-ecQ9QJg7JBvXKOOWE6zE";
        let challenge = "QNbniYa10VjrcHJMQWxta2-d5t9Z9OvMkls_oB4ltvM";
        assert!(pkce_ok(verifier, challenge));
        assert!(!pkce_ok(
            "dBjftJeZ4CVP-mJ92K1Kak-ecQ9QJg7JBvXKOOWE6zF",
            challenge
        ));
        assert!(!pkce_ok("short", challenge));
    }
}
