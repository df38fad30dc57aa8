//! RFC 8414 metadata (also served as the OpenID discovery document) and the JWKS.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Shared,
    store::{ClientAuthMethod, GrantType},
};
use crate::auth::keys::jwks_document;

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
            "grant_types_supported": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": s.dpop.config().algorithms.iter().map(|a| crate::auth::keys::alg_name(*a)).collect::<Vec<_>>(),
            "token_endpoint_auth_methods_supported": ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "revocation_endpoint_auth_methods_supported": ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
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
