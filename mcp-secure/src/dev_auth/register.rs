//! RFC 7591 dynamic client registration.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use url::Url;

use super::{
    Shared,
    store::{self, Client, ClientAuthMethod, GrantType, random_token},
    web::oauth_error,
};
use crate::{audit, auth::now_unix, scope::ScopeSet};

pub(super) fn is_loopback_host(url: &Url) -> bool {
    crate::auth::is_loopback(url.host())
}

/// Whether a redirect URI may be registered: `https`, loopback `http`, or a private-use
/// scheme (`com.example.app:/callback`); absolute, no fragment.
pub(super) fn redirect_uri_ok(uri: &str) -> bool {
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

#[derive(serde::Deserialize)]
struct Registration {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
}

/// Validated client metadata.
struct Metadata {
    name: String,
    redirect_uris: Vec<String>,
    auth_method: ClientAuthMethod,
    grant_types: Vec<GrantType>,
}

fn invalid_metadata(description: &'static str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        description,
    )
}

/// Checks a registration request: auth method, grant types for that client type, response
/// types, redirect URIs, scope syntax; the name is cleaned and shortened.
#[allow(clippy::result_large_err)]
fn metadata(req: Registration) -> Result<Metadata, Response> {
    let bad = invalid_metadata;
    let auth_method = match req.token_endpoint_auth_method.as_deref() {
        None => ClientAuthMethod::None,
        Some(m) => ClientAuthMethod::parse(m)
            .filter(|m| *m != ClientAuthMethod::PrivateKeyJwt)
            .ok_or_else(|| {
                bad("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
            })?,
    };
    // Token exchange is granted by configuration only (DevAuthConfig::token_exchange).
    let grant_exchange = req
        .grant_types
        .as_ref()
        .is_some_and(|g| g.iter().any(|g| g == GrantType::TokenExchange.as_str()));
    if grant_exchange {
        return Err(bad(
            "token exchange is for clients the server is configured with, not registered ones",
        ));
    }
    let public = auth_method == ClientAuthMethod::None;
    let grant_types: Option<Vec<GrantType>> = match &req.grant_types {
        None => Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
        Some(names) => names.iter().map(|g| GrantType::parse(g)).collect(),
    };
    let allowed = |g: &GrantType| !public || *g != GrantType::ClientCredentials;
    let grant_types = match grant_types {
        Some(g) if !g.is_empty() && g.iter().all(allowed) => g,
        _ => return Err(bad("unsupported grant_types for this client type")),
    };
    if req
        .response_types
        .as_ref()
        .is_some_and(|r| r.iter().any(|t| t != "code"))
    {
        return Err(bad("only the `code` response type is supported"));
    }
    let redirect_uris = req.redirect_uris.unwrap_or_default();
    let needs_redirect = grant_types.contains(&GrantType::AuthorizationCode);
    if (needs_redirect && redirect_uris.is_empty())
        || redirect_uris.len() > 10
        || !redirect_uris
            .iter()
            .all(|u| u.len() <= 2048 && redirect_uri_ok(u))
    {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect URIs must be https, loopback http, or a private-use scheme, without fragment",
        ));
    }
    if req
        .scope
        .as_deref()
        .is_some_and(|sc| ScopeSet::parse(sc).is_err())
    {
        return Err(bad("scope is not a valid scope list"));
    }
    let name: String = req
        .client_name
        .unwrap_or_else(|| "unnamed client".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    Ok(Metadata {
        name,
        redirect_uris,
        auth_method,
        grant_types,
    })
}

/// RFC 7591 dynamic client registration.
pub(super) async fn register(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    if body.len() > 16 * 1024 {
        return invalid_metadata("registration request too large");
    }
    let Ok(req) = serde_json::from_slice::<Registration>(&body) else {
        return invalid_metadata("the registration request is not valid client metadata");
    };
    let Metadata {
        name,
        redirect_uris,
        auth_method,
        grant_types,
    } = match metadata(req) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let public = auth_method == ClientAuthMethod::None;
    let client_id = random_token();
    let secret = (!public).then(random_token);
    {
        let mut store = s.store();
        if !store.room_for_client(super::consent::CONSENT_TTL) {
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
                lifetime: Some(store::ClientLifetime::new()),
            },
        );
    }
    tracing::info!(target: audit::TARGET, event = "client_registered", public, "dev authorization server registered a client");
    let mut body = json!({
        "client_id": client_id,
        "client_id_issued_at": now_unix(),
        "client_name": name,
        "redirect_uris": redirect_uris,
        "grant_types": grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": ["code"],
        "token_endpoint_auth_method": auth_method.as_str(),
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
