//! The authorization endpoint: checks the request (client, redirect URI, PKCE S256,
//! resource, scopes), then approves at once or shows the consent page.

use std::{collections::HashMap, sync::Arc, time::Instant};

use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use url::Url;

use super::{
    Approval, Shared,
    consent::{CONSENT_TTL, consent_page},
    register::is_loopback_host,
    store::{self, Client, Code, GrantType, MAX_ENTRIES, Pending, random_token},
    web::{error_page, parse_params, redirect_error, redirect_to},
};
use crate::scope::ScopeSet;

/// Exact match, except that a loopback `http` redirect may use any port (RFC 8252 §7.3).
fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (Url::parse(registered), Url::parse(presented)) else {
        return false;
    };
    r.scheme() == "http"
        && p.scheme() == "http"
        && is_loopback_host(&r)
        && r.host() == p.host()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

fn valid_challenge(challenge: &str) -> bool {
    // BASE64URL(SHA-256(verifier)): 43 characters.
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Issues a code for `pending` as `user` and redirects back with it.
pub(super) fn issue_code(s: &Shared, pending: Pending, user: &str) -> Response {
    let grant: ScopeSet = {
        let allowed = s
            .config
            .users
            .iter()
            .find(|u| u.name == user)
            .map(|u| u.scopes.clone())
            .unwrap_or_default();
        let granted: Vec<&str> = pending
            .scopes
            .iter()
            .filter(|sc| allowed.contains(sc))
            .collect();
        ScopeSet::try_from_iter(granted).unwrap_or_default()
    };
    if !pending.scopes.is_empty() && grant.is_empty() {
        return redirect_error(
            s,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
            "the user may not be granted any of the requested scopes",
        );
    }
    let code = random_token();
    {
        let mut store = s.store();
        store.sweep(CONSENT_TTL);
        if store.codes.len() >= MAX_ENTRIES {
            return redirect_error(
                s,
                &pending.redirect_uri,
                pending.state.as_deref(),
                "temporarily_unavailable",
                "too many pending codes",
            );
        }
        store.codes.insert(
            store::hash(&code),
            Code {
                client_id: pending.client_id.clone(),
                redirect_uri: pending.redirect_uri.clone(),
                code_challenge: pending.code_challenge.clone(),
                scopes: grant,
                user: user.to_owned(),
                resource: pending.resource.clone(),
                expires: Instant::now() + s.config.code_ttl,
                dpop_jkt: pending.dpop_jkt.clone(),
            },
        );
    }
    let mut params = vec![("code", code.as_str()), ("iss", s.issuer.as_str())];
    if let Some(state) = pending.state.as_deref() {
        params.push(("state", state));
    }
    redirect_to(&pending.redirect_uri, &params)
}

/// The checks whose failures go back to the client by redirect: response type, grant,
/// PKCE S256, resource (RFC 8707), scopes. The resource and scopes when all pass.
#[allow(clippy::result_large_err)]
fn check_request(
    s: &Shared,
    client: &Client,
    p: &HashMap<String, String>,
    redirect_uri: &str,
) -> Result<(String, ScopeSet), Response> {
    let state = p.get("state").map(String::as_str);
    let fail = |error: &str, description: &str| {
        Err(redirect_error(s, redirect_uri, state, error, description))
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        );
    }
    match (
        p.get("code_challenge"),
        p.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(c), Some("S256")) if valid_challenge(c) => {}
        (_, Some("plain")) => {
            return fail(
                "invalid_request",
                "PKCE method plain is not allowed: use S256",
            );
        }
        (None, _) => {
            return fail(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            );
        }
        _ => {
            return fail(
                "invalid_request",
                "code_challenge must be an S256 challenge with code_challenge_method=S256",
            );
        }
    }
    // RFC 9449 section 10: a thumbprint is 43 base64url characters (SHA-256).
    if p.get("dpop_jkt").is_some_and(|j| {
        j.len() != 43
            || !j
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return fail(
            "invalid_request",
            "dpop_jkt must be a JWK SHA-256 thumbprint (RFC 7638)",
        );
    }
    let Some(resource) = p.get("resource") else {
        return fail(
            "invalid_target",
            "the resource parameter (RFC 8707) is required",
        );
    };
    if !s.config.resources.iter().any(|r| r == resource) {
        return fail(
            "invalid_target",
            "tokens cannot be issued for that resource",
        );
    }
    let scopes = match p.get("scope").map(|sc| ScopeSet::parse(sc)) {
        Some(Ok(set)) => set,
        Some(Err(_)) => return fail("invalid_scope", "scope is not a valid scope list"),
        None => ScopeSet::new(),
    };
    if scopes
        .iter()
        .any(|sc| !s.config.scopes_supported.contains(sc))
    {
        return fail("invalid_scope", "a requested scope is not supported");
    }
    Ok((resource.clone(), scopes))
}

/// The authorization endpoint.
pub(super) async fn authorize(State(s): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let Ok(p) = parse_params(query.unwrap_or_default().as_bytes()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The authorization request is malformed.",
        );
    };
    let Some(client) = p
        .get("client_id")
        .and_then(|id| s.store().clients.get(id).cloned())
    else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown client.");
    };
    // Without a valid redirect URI nothing is redirected: the error is shown here.
    let Some(redirect_uri) = p.get("redirect_uri").cloned() else {
        return error_page(StatusCode::BAD_REQUEST, "redirect_uri is required.");
    };
    if !client
        .redirect_uris
        .iter()
        .any(|r| redirect_matches(r, &redirect_uri))
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri does not match a registered redirect URI.",
        );
    }
    let (resource, scopes) = match check_request(&s, &client, &p, &redirect_uri) {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let state = p.get("state").map(String::as_str);
    let pending = Pending {
        client_id: p.get("client_id").cloned().unwrap_or_default(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: state.map(str::to_owned),
        code_challenge: p.get("code_challenge").cloned().unwrap_or_default(),
        resource,
        created: Instant::now(),
        dpop_jkt: p.get("dpop_jkt").cloned(),
    };
    match &s.config.approval {
        Approval::Auto { user } => issue_code(&s, pending, user),
        Approval::Consent => consent_page(&s, &client, pending),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_auth::register::redirect_uri_ok;

    #[test]
    fn redirect_matching() {
        assert!(redirect_matches(
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1:9999/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1:9999/other"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb?x=1"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://evil.example/cb"
        ));
        assert!(redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb"
        ));
        assert!(redirect_uri_ok("com.example.app:/cb"));
        assert!(!redirect_uri_ok("http://example.com/cb"));
        assert!(!redirect_uri_ok("https://app.example/cb#frag"));
        assert!(!redirect_uri_ok("javascript:alert(1)"));
    }
}
