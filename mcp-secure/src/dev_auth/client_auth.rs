//! Client authentication at the token and revocation endpoints: `none` for public clients,
//! `client_secret_basic`, `client_secret_post` or `private_key_jwt` (RFC 7523) for
//! confidential ones.

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
    if p.contains_key("client_assertion") || p.contains_key("client_assertion_type") {
        return private_key_jwt(s, headers, p).ok_or_else(invalid);
    }
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

/// RFC 7523 client assertion type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `private_key_jwt`: a JWT signed by the client's registered key, `iss` = `sub` = the client,
/// `aud` this server's token endpoint (or issuer), unexpired, lifetime at most 5 minutes, and
/// its `jti` never seen before. No other credential may come with it.
fn private_key_jwt(s: &Shared, headers: &HeaderMap, p: &HashMap<String, String>) -> Option<Caller> {
    if headers.contains_key(header::AUTHORIZATION)
        || p.contains_key("client_secret")
        || p.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER)
    {
        return None;
    }
    let assertion = p.get("client_assertion")?;
    // The client named by the assertion (its signature is checked below with that client's
    // key, so reading `iss` first decides nothing).
    let payload = assertion.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?,
    )
    .ok()?;
    let client_id = claims.get("iss")?.as_str()?.to_owned();
    if p.get("client_id").is_some_and(|c| *c != client_id) {
        return None;
    }
    let jwk = s
        .config
        .client_keys
        .iter()
        .find(|(c, _)| *c == client_id)
        .map(|(_, k)| k)?;
    let key = crate::auth::VerifyingKey::from_jwk_value(jwk, crate::auth::jwt::DEFAULT_ALGORITHMS)
        .ok()?;
    let header = jsonwebtoken::decode_header(assertion).ok()?;
    if !key.accepts(header.alg) || !crate::auth::jwt::DEFAULT_ALGORITHMS.contains(&header.alg) {
        return None;
    }
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[format!("{}/token", s.issuer), s.issuer.clone()]);
    validation.set_issuer(&[client_id.as_str()]);
    validation.sub = Some(client_id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 5;
    let verified =
        jsonwebtoken::decode::<serde_json::Value>(assertion, key.decoding_key(), &validation)
            .ok()?
            .claims;
    let now = crate::auth::now_unix();
    let exp = verified.get("exp")?.as_u64()?;
    if exp > now + 300 {
        return None;
    }
    let jti = verified.get("jti")?.as_str()?;
    let mut id = [0u8; 32];
    id.copy_from_slice(
        aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            format!("{client_id}\0{jti}").as_bytes(),
        )
        .as_ref(),
    );
    let first = s.assertions.first_use_now(
        id,
        std::time::Duration::from_secs(exp.saturating_sub(now) + 10),
    )?;
    if !first {
        tracing::warn!(target: crate::audit::TARGET, event = "client_assertion_replayed", client_id = %crate::audit::Sanitized(&client_id), "a client assertion was presented twice");
        return None;
    }
    s.store()
        .clients
        .contains_key(&client_id)
        .then_some(Caller::Confidential(client_id))
}
