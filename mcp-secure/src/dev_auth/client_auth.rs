//! Client authentication at the token and revocation endpoints: `none` for public clients,
//! `client_secret_basic` or `client_secret_post` for confidential ones.

use std::collections::HashMap;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use base64::Engine;

use super::{Shared, store, web::oauth_error};

/// The client authenticating at the token or revocation endpoint.
pub(super) enum Caller {
    Public(String),
    Confidential(String),
}

#[allow(clippy::result_large_err)]
pub(super) fn authenticate_client(
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
