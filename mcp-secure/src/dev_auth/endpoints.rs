//! The development authorization server's endpoints.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use url::Url;

use super::{
    Approval, Shared,
    store::{self, Client, Code, Family, MAX_ENTRIES, Pending, Refresh, UsedCode, random_token},
};
use crate::{audit, auth::keys::jwks_document, scope::ScopeSet};

/// How long a consent page stays answerable.
const CONSENT_TTL: Duration = Duration::from_secs(600);

/// Parses `application/x-www-form-urlencoded` (or a query string), refusing a parameter given
/// twice (RFC 6749 §3.1) and oversized input.
fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    if raw.len() > 16 * 1024 {
        return Err("request too large");
    }
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("a parameter is given more than once");
        }
    }
    Ok(out)
}

fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn now_unix() -> u64 {
    crate::auth::now_unix()
}

/// RFC 8414 metadata (also served as the OpenID discovery document).
pub(super) async fn metadata(State(s): State<Arc<Shared>>) -> Response {
    let i = &s.issuer;
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}/token"),
            "registration_endpoint": format!("{i}/register"),
            "revocation_endpoint": format!("{i}/revoke"),
            "jwks_uri": format!("{i}/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": s.config.scopes_supported.iter().collect::<Vec<_>>(),
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [crate::auth::keys::alg_name(s.key.alg())],
        })),
    )
        .into_response()
}

/// The JWKS.
pub(super) async fn jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(jwks_document([&s.key]))
}

fn is_loopback_host(url: &Url) -> bool {
    crate::auth::is_loopback(url.host())
}

/// Whether a redirect URI may be registered: `https`, loopback `http`, or a private-use
/// scheme (`com.example.app:/callback`); absolute, no fragment.
fn redirect_uri_ok(uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback_host(&url),
        scheme => scheme.contains('.'),
    }
}

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

#[derive(serde::Deserialize)]
struct Registration {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
}

/// RFC 7591 dynamic client registration.
pub(super) async fn register(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let bad = |description: &'static str| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            description,
        )
    };
    if body.len() > 16 * 1024 {
        return bad("registration request too large");
    }
    let Ok(req) = serde_json::from_slice::<Registration>(&body) else {
        return bad("the registration request is not valid client metadata");
    };
    let auth_method = req
        .token_endpoint_auth_method
        .unwrap_or_else(|| "none".into());
    let public = auth_method == "none";
    if !matches!(
        auth_method.as_str(),
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return bad(
            "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
        );
    }
    let grant_types = req
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    let allowed_grants: &[&str] = if public {
        &["authorization_code", "refresh_token"]
    } else {
        &["authorization_code", "refresh_token", "client_credentials"]
    };
    if grant_types.is_empty()
        || !grant_types
            .iter()
            .all(|g| allowed_grants.contains(&g.as_str()))
    {
        return bad("unsupported grant_types for this client type");
    }
    if req
        .response_types
        .as_ref()
        .is_some_and(|r| r.iter().any(|t| t != "code"))
    {
        return bad("only the `code` response type is supported");
    }
    let redirect_uris = req.redirect_uris.unwrap_or_default();
    let needs_redirect = grant_types.iter().any(|g| g == "authorization_code");
    if (needs_redirect && redirect_uris.is_empty())
        || redirect_uris.len() > 10
        || !redirect_uris
            .iter()
            .all(|u| u.len() <= 2048 && redirect_uri_ok(u))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect URIs must be https, loopback http, or a private-use scheme, without fragment",
        );
    }
    if req
        .scope
        .as_deref()
        .is_some_and(|sc| ScopeSet::parse(sc).is_err())
    {
        return bad("scope is not a valid scope list");
    }
    let name: String = req
        .client_name
        .unwrap_or_else(|| "unnamed client".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let client_id = random_token();
    let secret = (!public).then(random_token);
    {
        let mut store = s.store();
        if store.clients.len() >= MAX_ENTRIES {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many registered clients",
            );
        }
        store.clients.insert(
            client_id.clone(),
            Client {
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
                secret_hash: secret.as_deref().map(store::hash),
                grant_types: grant_types.clone(),
                // Only pre-registered clients get client_credentials scopes.
                scopes: ScopeSet::new(),
            },
        );
    }
    tracing::info!(target: audit::TARGET, event = "client_registered", public, "dev authorization server registered a client");
    let mut body = json!({
        "client_id": client_id,
        "client_id_issued_at": now_unix(),
        "client_name": name,
        "redirect_uris": redirect_uris,
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": auth_method,
    });
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

fn error_page(status: StatusCode, message: &'static str) -> Response {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Authorization error</title>\
         <h1>Authorization error</h1><p>{message}</p>"
    );
    (status, security_headers(), Html(html)).into_response()
}

fn security_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Appends `params` to a redirect URI's query.
fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(uri) else {
        return error_page(StatusCode::BAD_REQUEST, "The redirect URI is invalid.");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    (
        StatusCode::FOUND,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(url.as_str()).unwrap_or(HeaderValue::from_static("/")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The error redirect of the authorization endpoint (with `state` and `iss`).
fn redirect_error(
    s: &Shared,
    uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("iss", s.issuer.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_to(uri, &params)
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn valid_challenge(challenge: &str) -> bool {
    // BASE64URL(SHA-256(verifier)): 43 characters.
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Issues a code for `pending` as `user` and redirects back with it.
fn issue_code(s: &Shared, pending: Pending, user: &str) -> Response {
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
            },
        );
    }
    let mut params = vec![("code", code.as_str()), ("iss", s.issuer.as_str())];
    if let Some(state) = pending.state.as_deref() {
        params.push(("state", state));
    }
    redirect_to(&pending.redirect_uri, &params)
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
    let state = p.get("state").map(String::as_str);
    let fail = |error: &str, description: &str| {
        redirect_error(&s, &redirect_uri, state, error, description)
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
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
    let pending = Pending {
        client_id: p.get("client_id").cloned().unwrap_or_default(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: state.map(str::to_owned),
        code_challenge: p.get("code_challenge").cloned().unwrap_or_default(),
        resource: resource.clone(),
        created: Instant::now(),
    };
    match &s.config.approval {
        Approval::Auto { user } => issue_code(&s, pending, user),
        Approval::Consent => consent_page(&s, &client, pending),
    }
}

fn consent_page(s: &Shared, client: &Client, pending: Pending) -> Response {
    let id = random_token();
    let scopes = pending.scopes.to_string();
    let redirect_host = Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    {
        let mut store = s.store();
        store.sweep(CONSENT_TTL);
        if store.pending.len() >= MAX_ENTRIES {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many pending authorizations.",
            );
        }
        store.pending.insert(id.clone(), pending);
    }
    let users: String = s
        .config
        .users
        .iter()
        .map(|u| {
            format!(
                "<option value=\"{0}\">{0} ({1})</option>",
                escape_html(&u.name),
                escape_html(&u.scopes.to_string())
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Authorize {name}</title>\
         <style>body{{font-family:sans-serif;max-width:32em;margin:3em auto}}</style>\
         <h1>Authorize <q>{name}</q>?</h1>\
         <p>Development authorization server. The client will be sent back to <b>{host}</b>.</p>\
         <p>Requested scopes: <code>{scopes}</code></p>\
         <form method=post action=\"/authorize/decision\">\
         <input type=hidden name=request value=\"{id}\">\
         <label>Sign in as <select name=user>{users}</select></label>\
         <p><button name=decision value=approve>Approve</button> \
         <button name=decision value=deny>Deny</button></p></form>",
        name = escape_html(&client.name),
        host = escape_html(&redirect_host),
        scopes = escape_html(if scopes.is_empty() { "(none)" } else { &scopes }),
    );
    (StatusCode::OK, security_headers(), Html(html)).into_response()
}

/// The consent form's answer.
pub(super) async fn decision(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(p) = parse_params(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "Malformed form.");
    };
    let Some(pending) = p.get("request").and_then(|id| s.store().pending.remove(id)) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This authorization request expired or was already answered.",
        );
    };
    if pending.created.elapsed() > CONSENT_TTL {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This authorization request expired.",
        );
    }
    if p.get("decision").map(String::as_str) != Some("approve") {
        return redirect_error(
            &s,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
            "the user denied the request",
        );
    }
    let Some(user) = p
        .get("user")
        .filter(|u| s.config.users.iter().any(|x| &x.name == *u))
    else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown user.");
    };
    issue_code(&s, pending, user)
}

/// The client authenticating at the token or revocation endpoint.
enum Caller {
    Public(String),
    Confidential(String),
}

#[allow(clippy::result_large_err)]
fn authenticate_client(
    s: &Shared,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<Caller, Response> {
    let invalid = || {
        let mut r = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"token\""),
        );
        r
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, creds) = v.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(creds.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (id, secret) = decoded.split_once(':')?;
            let id = url::form_urlencoded::parse(format!("a={id}").as_bytes())
                .next()?
                .1
                .into_owned();
            let secret = url::form_urlencoded::parse(format!("a={secret}").as_bytes())
                .next()?
                .1
                .into_owned();
            Some((id, secret))
        });
    let (id, secret) = match (basic, p.get("client_id"), p.get("client_secret")) {
        (Some((id, secret)), None | Some(_), None) => (id, Some(secret)),
        (None, Some(id), secret) => (id.clone(), secret.cloned()),
        _ => return Err(invalid()),
    };
    let Some(client) = s.store().clients.get(&id).cloned() else {
        return Err(invalid());
    };
    match (client.secret_hash, secret) {
        (None, None) => Ok(Caller::Public(id)),
        (Some(expected), Some(given)) => {
            if aws_lc_rs::constant_time::verify_slices_are_equal(&expected, &store::hash(&given))
                .is_ok()
            {
                Ok(Caller::Confidential(id))
            } else {
                Err(invalid())
            }
        }
        _ => Err(invalid()),
    }
}

fn token_response(
    s: &Shared,
    user: &str,
    client_id: &str,
    scopes: &ScopeSet,
    resource: &str,
    refresh: Option<&str>,
) -> Response {
    let now = now_unix();
    let ttl = s.config.access_token_ttl.as_secs();
    let claims = json!({
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
    let Ok(access_token) = s.key.sign(&claims, Some("at+jwt")) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "token signing failed",
        );
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
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
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(&s, &client_id, &p),
        Some("refresh_token") => refresh_grant(&s, &client_id, &p),
        Some("client_credentials") => match caller {
            Caller::Confidential(id) => client_credentials_grant(&s, &id, &p),
            Caller::Public(_) => oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "client_credentials needs a confidential client",
            ),
        },
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        ),
    }
}

fn code_grant(s: &Shared, client_id: &str, p: &HashMap<String, String>) -> Response {
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
    let family = random_token();
    let refresh = random_token();
    {
        let mut store = s.store();
        if store.families.len() >= MAX_ENTRIES * 10 {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many active grants",
            );
        }
        store.families.insert(
            family.clone(),
            Family {
                client_id: client_id.to_owned(),
                user: code.user.clone(),
                scopes: code.scopes.clone(),
                resource: code.resource.clone(),
                revoked: false,
                expires: Instant::now() + s.config.refresh_token_ttl,
            },
        );
        store.refresh.insert(
            store::hash(&refresh),
            Refresh {
                family: family.clone(),
                used: false,
            },
        );
        store.used_codes.insert(
            code_hash,
            UsedCode {
                family,
                expires: code.expires,
            },
        );
    }
    tracing::info!(target: audit::TARGET, event = "token_issued", grant = "authorization_code", subject = %audit::Sanitized(&code.user), "dev authorization server issued tokens");
    token_response(
        s,
        &code.user,
        client_id,
        &code.scopes,
        &code.resource,
        Some(&refresh),
    )
}

fn refresh_grant(s: &Shared, client_id: &str, p: &HashMap<String, String>) -> Response {
    let Some(presented) = p.get("refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
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
    drop(store);
    token_response(
        s,
        &family.user,
        client_id,
        &scopes,
        &family.resource,
        Some(&next),
    )
}

fn client_credentials_grant(s: &Shared, client_id: &str, p: &HashMap<String, String>) -> Response {
    let Some(client) = s.store().clients.get(client_id).cloned() else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    };
    if !client.grant_types.iter().any(|g| g == "client_credentials") {
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
    token_response(s, client_id, client_id, &scopes, resource, None)
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

/// RFC 7009 revocation: a refresh token revokes its family; anything else is accepted and
/// ignored (access tokens are short-lived JWTs).
pub(super) async fn revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(p) = parse_params(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed request",
        );
    };
    let client_id = match authenticate_client(&s, &headers, &p) {
        Ok(Caller::Public(id) | Caller::Confidential(id)) => id,
        Err(r) => return r,
    };
    if let Some(token) = p.get("token") {
        let mut store = s.store();
        if let Some(entry) = store.refresh.get(&store::hash(token)).cloned()
            && store
                .families
                .get(&entry.family)
                .is_some_and(|f| f.client_id == client_id)
        {
            store.revoke_family(&entry.family);
        }
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
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

    #[test]
    fn duplicate_parameters_are_refused() {
        assert!(parse_params(b"a=1&b=2").is_ok());
        assert!(parse_params(b"a=1&a=2").is_err());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<script>\"'&"),
            "&lt;script&gt;&quot;&#39;&amp;"
        );
    }
}
