//! The bearer-token layer: authenticates every request to the MCP endpoint, throttles
//! addresses that keep failing, answers `401` challenges, attaches the [`Principal`], and
//! runs the scope pre-check.

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::json;

use super::{
    HttpConfig,
    challenge::{Challenge, DpopChallenge},
    client_addr::{TrustedProxies, client_address},
    precheck,
    sessions::{Refusal, SessionOwners},
    throttle::FailureThrottle,
};
use crate::{
    audit,
    auth::{
        AuthFailure, TokenValidator,
        dpop::{DpopFailure, DpopMode, DpopVerifier, MemoryReplayStore, ProofTarget},
    },
    policy::ServerPolicy,
    principal::Principal,
};

/// State of the bearer-token layer.
pub struct AuthState {
    validator: Arc<dyn TokenValidator>,
    pub(super) policy: &'static ServerPolicy,
    /// The policy's distinct scope requirements (whether a caller needs the pre-check).
    pub(super) requirements: precheck::Requirements,
    resource_metadata: String,
    throttle: FailureThrottle,
    pub(super) max_body_bytes: usize,
    scope_challenge: bool,
    /// `scope` of the `401` challenge, if any.
    starting_scope: Option<String>,
    /// The session mode, recorded on each request for `ClientPeer`.
    sessions: crate::config::Sessions,
    /// Proxies whose forwarding headers name the client.
    proxies: TrustedProxies,
    /// With stateful sessions: who opened each one.
    owners: Option<SessionOwners>,
    /// DPoP proofs, when DPoP-bound tokens are accepted.
    dpop: Option<DpopVerifier>,
    /// The accepted proof algorithms (the DPoP challenge's `algs`).
    dpop_algs: String,
    /// The resource URI: what a proof's `htu` must name.
    resource: url::Url,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("validator", &self.validator)
            .field("resource_metadata", &self.resource_metadata)
            .finish_non_exhaustive()
    }
}

impl AuthState {
    pub(super) fn new(
        validator: Arc<dyn TokenValidator>,
        policy: &'static ServerPolicy,
        config: &HttpConfig,
    ) -> Self {
        let dpop = config.dpop.clone().map(|d| {
            let store = config
                .dpop_replay
                .clone()
                .unwrap_or_else(|| Arc::new(MemoryReplayStore::default()));
            DpopVerifier::new(d, store)
        });
        Self {
            dpop_algs: dpop.as_ref().map(|d| d.config().algs()).unwrap_or_default(),
            dpop,
            resource: config.resource().clone(),
            validator,
            policy,
            requirements: precheck::Requirements::of(policy),
            resource_metadata: config.resource_metadata_url(),
            throttle: FailureThrottle::new(config.failure_limit),
            max_body_bytes: config.max_body_bytes,
            scope_challenge: config.scope_challenge,
            sessions: config.sessions,
            proxies: config.trusted_proxies.clone(),
            owners: (config.sessions == crate::config::Sessions::Stateful)
                .then(|| SessionOwners::new(super::sessions::DEFAULT_MAX)),
            starting_scope: Some(
                config
                    .starting_scopes
                    .clone()
                    .unwrap_or_else(|| policy.starting_scopes())
                    .to_string(),
            )
            .filter(|s| !s.is_empty()),
        }
    }

    fn unauthorized(&self, failure: Option<AuthFailure>) -> Response {
        let challenge = Challenge {
            resource_metadata: &self.resource_metadata,
            error: failure.map(|_| "invalid_token"),
            description: failure.map(AuthFailure::description),
            scope: self.starting_scope.as_deref(),
        };
        let body = match failure {
            Some(f) => json!({"error": "invalid_token", "error_description": f.description()}),
            None => {
                json!({"error": "unauthorized", "error_description": AuthFailure::MissingToken.description()})
            }
        };
        let mut response = (
            StatusCode::UNAUTHORIZED,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            axum::Json(body),
        )
            .into_response();
        let headers = response.headers_mut();
        // With DPoP required, the DPoP challenge alone; optional, both schemes.
        let required = self
            .dpop
            .as_ref()
            .is_some_and(|d| d.config().mode == DpopMode::Required);
        if !required {
            headers.append(header::WWW_AUTHENTICATE, challenge.header_value());
        }
        if let Some(dpop) = &self.dpop {
            let dpop_challenge = DpopChallenge {
                resource_metadata: &self.resource_metadata,
                error: failure.map(|_| "invalid_token"),
                description: failure.map(AuthFailure::description),
                algs: &self.dpop_algs,
            };
            headers.append(header::WWW_AUTHENTICATE, dpop_challenge.header_value());
            if let Some(nonce) = dpop.nonce().and_then(|n| HeaderValue::from_str(&n).ok()) {
                headers.insert(DPOP_NONCE, nonce);
            }
        }
        response
    }

    /// A refused DPoP proof, or a token presented under the wrong scheme: audit event, a
    /// failure against the address (not for a nonce request, which is the protocol's own
    /// round trip), and a `DPoP` challenge (with a fresh nonce when nonces are on).
    fn refused_proof(&self, failure: DpopFailure, ip: Option<IpAddr>) -> Response {
        let nonce_round = failure == DpopFailure::UseNonce;
        if let Some(ip) = ip
            && !nonce_round
            && failure != DpopFailure::StoreUnavailable
        {
            self.throttle.record_failure(ip);
        }
        if !nonce_round {
            tracing::warn!(
                target: audit::TARGET,
                event = "auth_failure",
                reason = failure.as_str(),
                client_ip = %ip.map(|ip| ip.to_string()).unwrap_or_default(),
                "DPoP proof refused"
            );
        }
        let status = if failure == DpopFailure::StoreUnavailable {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNAUTHORIZED
        };
        let mut response = (
            status,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            axum::Json(json!({
                "error": failure.error_code(),
                "error_description": failure.description(),
            })),
        )
            .into_response();
        let headers = response.headers_mut();
        let challenge = DpopChallenge {
            resource_metadata: &self.resource_metadata,
            error: Some(failure.error_code()),
            description: Some(failure.description()),
            algs: if self.dpop_algs.is_empty() {
                "ES256"
            } else {
                &self.dpop_algs
            },
        };
        headers.append(header::WWW_AUTHENTICATE, challenge.header_value());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(nonce) = self
            .dpop
            .as_ref()
            .and_then(DpopVerifier::nonce)
            .and_then(|n| HeaderValue::from_str(&n).ok())
        {
            headers.insert(DPOP_NONCE, nonce);
        }
        response
    }

    /// The token's binding against the scheme it came under, and the proof when it is
    /// DPoP-bound (RFC 9449 section 7).
    async fn check_binding(
        &self,
        scheme: Scheme,
        token: &str,
        principal: &Principal,
        headers: &HeaderMap,
        method: &Method,
    ) -> Result<(), DpopFailure> {
        let bound = principal.dpop_jkt();
        match (scheme, bound, &self.dpop) {
            (Scheme::Bearer, Some(_), _) => Err(DpopFailure::BoundAsBearer),
            (Scheme::Bearer, None, Some(d)) if d.config().mode == DpopMode::Required => {
                Err(DpopFailure::Required)
            }
            (Scheme::Bearer, None, _) => Ok(()),
            (Scheme::Dpop, None, _) => Err(DpopFailure::NotBound),
            (Scheme::Dpop, Some(_), None) => Err(DpopFailure::NotBound),
            (Scheme::Dpop, Some(jkt), Some(verifier)) => {
                let mut proofs = headers.get_all(DPOP).iter();
                let proof = match (proofs.next(), proofs.next()) {
                    (Some(p), None) => p.to_str().map_err(|_| DpopFailure::Malformed)?,
                    _ => return Err(DpopFailure::Missing),
                };
                verifier
                    .verify(
                        proof,
                        ProofTarget {
                            method: method.as_str(),
                            uri: &self.resource,
                            access_token: Some(token),
                            jkt: Some(jkt),
                        },
                    )
                    .await
                    .map(|_| ())
            }
        }
    }

    pub(super) fn forbidden(&self, scope: &str) -> Response {
        let challenge = Challenge {
            resource_metadata: &self.resource_metadata,
            error: Some("insufficient_scope"),
            description: Some("The access token lacks a scope this tool requires"),
            scope: Some(scope),
        };
        (
            StatusCode::FORBIDDEN,
            [
                (header::WWW_AUTHENTICATE, challenge.header_value()),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            axum::Json(json!({
                "error": "insufficient_scope",
                "error_description": "The access token lacks a scope this tool requires",
                "scope": scope,
            })),
        )
            .into_response()
    }

    fn throttled(&self, ip: IpAddr, wait: std::time::Duration) -> Response {
        tracing::warn!(
            target: audit::TARGET,
            event = "auth_throttled",
            client_ip = %ip,
            "too many failed authentications from this address"
        );
        let secs = crate::error::retry_after_secs(wait);
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, HeaderValue::from(secs))],
            axum::Json(json!({"error": "too_many_requests", "retry_after": secs})),
        )
            .into_response()
    }

    /// A request on a session the caller may not use: answered as rmcp answers a session that
    /// does not exist, so the id's holder learns nothing.
    fn no_such_session(
        &self,
        refusal: Refusal,
        principal: &Principal,
        ip: Option<IpAddr>,
    ) -> Response {
        if refusal == Refusal::OtherPrincipal {
            tracing::warn!(
                target: audit::TARGET,
                event = "session_refused",
                reason = refusal.as_str(),
                subject = principal.subject(),
                client_id = principal.client_id().unwrap_or_default(),
                client_ip = %ip.map(|ip| ip.to_string()).unwrap_or_default(),
                "a request named another principal's session"
            );
        }
        (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response()
    }

    /// Records a refused credential: audit event, and a failure against the address.
    fn refused(&self, failure: AuthFailure, ip: Option<IpAddr>) -> Response {
        if let Some(ip) = ip {
            self.throttle.record_failure(ip);
        }
        tracing::warn!(
            target: audit::TARGET,
            event = "auth_failure",
            reason = failure.as_str(),
            fix = failure.fix(),
            client_ip = %ip.map(|ip| ip.to_string()).unwrap_or_default(),
            "bearer token refused"
        );
        self.unauthorized(Some(failure))
    }
}

/// The scheme a token came under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP` (with a `DPoP` proof header).
    Dpop,
}

/// The credential of `Authorization: Bearer <token>`, or why there is none.
#[cfg(test)]
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthFailure> {
    credentials(headers, false).map(|c| c.map(|(_, t)| t))
}

/// The credential of `Authorization: Bearer <token>` (or `DPoP <token>` when `dpop`), or why
/// there is none.
#[cfg(test)]
pub(super) fn credentials(
    headers: &HeaderMap,
    dpop: bool,
) -> Result<Option<(Scheme, &str)>, AuthFailure> {
    match presented(headers, dpop)? {
        Some((_, token)) if !well_formed(token) => Err(AuthFailure::Malformed),
        credential => Ok(credential),
    }
}

/// The scheme and token of the one `Authorization` header, with the token's characters not
/// yet checked ([`well_formed`]): a token the validator has verified before was, so only a
/// token it does not know is scanned.
fn presented(headers: &HeaderMap, dpop: bool) -> Result<Option<(Scheme, &str)>, AuthFailure> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(v), None) => v,
        // Two Authorization headers: ambiguous, refuse.
        _ => return Err(AuthFailure::Malformed),
    };
    if value.len() > crate::auth::jwt::MAX_TOKEN_BYTES + 16 {
        return Err(AuthFailure::TooLarge);
    }
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        // Another scheme (Basic, …): treat as no bearer token.
        return Ok(None);
    };
    Ok(Some((scheme, token)))
}

/// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
fn well_formed(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    // Branch-free over the bytes (a vector loop).
    !body.is_empty()
        && body.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_alphanumeric()
                | (b == b'-')
                | (b == b'.')
                | (b == b'_')
                | (b == b'~')
                | (b == b'+')
                | (b == b'/'))
        })
}

/// What [`answered`] needs of an admitted request: the session it named, and who sent it
/// (with stateful sessions only).
pub(super) struct Admitted {
    session: Option<String>,
    method: Method,
    principal: Option<Principal>,
}

/// Authenticates a request to the MCP endpoint and attaches the [`Principal`]: the request to
/// hand on, or the refusal to answer. [`answered`] sees the response.
pub(super) async fn admit(
    state: &AuthState,
    request: Request,
) -> Result<(Request, Admitted), Response> {
    let ip = client_address(&request, &state.proxies);
    // Looked up only where it decides something (a failure, a verification), not for every
    // request a cached token carries: the lookup reads the throttle's shared maps, whose cache
    // lines would otherwise move between the workers on every request.
    let blocked = || ip.and_then(|ip| state.throttle.blocked_for(ip).map(|wait| (ip, wait)));
    let (scheme, token) = match presented(request.headers(), state.dpop.is_some()) {
        Ok(Some(credential)) => credential,
        Ok(None) => return Err(state.unauthorized(None)),
        Err(failure) => {
            return Err(match blocked() {
                Some((ip, wait)) => state.throttled(ip, wait),
                None => state.refused(failure, ip),
            });
        }
    };
    // The throttle protects the signature path, not the cache: a token already verified is
    // served even while its address is throttled (behind a proxy or NAT the address is shared
    // with whoever keeps failing); only a verification is refused. A verified token is served
    // synchronously (no boxed future); only a miss goes on to validation.
    let principal: Principal = match state.validator.cached(token) {
        Some(p) => p,
        None => {
            if let Some((ip, wait)) = blocked() {
                return Err(state.throttled(ip, wait));
            }
            if !well_formed(token) {
                return Err(state.refused(AuthFailure::Malformed, ip));
            }
            match state.validator.validate(token).await {
                Ok(p) => p,
                Err(failure) => return Err(state.refused(failure, ip)),
            }
        }
    };
    // A bound token only with a proof by its key; a bearer token only where that is allowed.
    if let Err(failure) = state
        .check_binding(
            scheme,
            token,
            &principal,
            request.headers(),
            request.method(),
        )
        .await
    {
        return Err(state.refused_proof(failure, ip));
    }
    // A session is used only by the principal that opened it.
    let session = match (&state.owners, request.headers().get(SESSION_ID)) {
        (Some(owners), Some(id)) => {
            let id = id.to_str().unwrap_or_default().to_owned();
            if let Err(refusal) = owners.check(&id, &principal) {
                return Err(state.no_such_session(refusal, &principal, ip));
            }
            Some(id)
        }
        (Some(owners), None) if request.method() == Method::POST && !owners.has_room() => {
            return Err(too_many_sessions());
        }
        _ => None,
    };
    let method = request.method().clone();
    let mut request = request;
    if state.scope_challenge
        && method == Method::POST
        && precheck::needed(state, &principal, request.headers())
    {
        request = precheck::check(state, &principal, request).await?;
    }
    // Moved, not cloned, where nothing else keeps it: every clone and drop writes the cached
    // principal's reference count, which every request with this token shares.
    let kept = state.owners.is_some().then(|| principal.clone());
    request.extensions_mut().insert(principal);
    request.extensions_mut().insert(state.sessions);
    let admitted = Admitted {
        session,
        method,
        principal: kept,
    };
    Ok((request, admitted))
}

/// Binds a session the server just opened to the principal that opened it, and forgets one
/// its owner deleted.
pub(super) fn answered(state: &AuthState, admitted: Admitted, response: Response) -> Response {
    let (Some(owners), Some(principal)) = (&state.owners, &admitted.principal) else {
        return response;
    };
    match admitted.session {
        // The server just opened a session (the answer to `initialize`): bind it.
        None => {
            if let Some(id) = response
                .headers()
                .get(SESSION_ID)
                .and_then(|v| v.to_str().ok())
            {
                owners.bind(id, principal);
            }
        }
        Some(id) if admitted.method == Method::DELETE && response.status().is_success() => {
            owners.unbind(&id);
        }
        Some(_) => {}
    }
    response
}

/// The header naming a stateful session.
const SESSION_ID: &str = "mcp-session-id";
/// The DPoP proof header.
const DPOP: &str = "dpop";
/// The server nonce header (RFC 9449 section 8).
const DPOP_NONCE: &str = "dpop-nonce";

/// `initialize` while every session slot is taken.
fn too_many_sessions() -> Response {
    tracing::warn!(
        target: audit::TARGET,
        event = "session_refused",
        reason = "too_many_sessions",
        "no room for another session"
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("10"))],
        axum::Json(json!({"error": "too_many_sessions", "retry_after": 10})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in auth {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(&headers(&[])), Ok(None));
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def-ghi_~+/=="])),
            Ok(Some("abc.def-ghi_~+/=="))
        );
        assert_eq!(bearer_token(&headers(&["bearer abc"])), Ok(Some("abc")));
        assert_eq!(bearer_token(&headers(&["Basic dXNlcjpwYXNz"])), Ok(None));
        assert_eq!(
            bearer_token(&headers(&["Bearer"])),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer a b"])),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer =="])),
            Err(AuthFailure::Malformed)
        );
        let huge = format!("Bearer {}", "a".repeat(9000));
        assert_eq!(bearer_token(&headers(&[&huge])), Err(AuthFailure::TooLarge));
    }
}
