//! RFC 7009 revocation.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    Shared,
    client_auth::{Caller, authenticate_client},
    store,
    web::{oauth_error, parse_params},
};

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
