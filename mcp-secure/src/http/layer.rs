//! The middleware in front of the MCP endpoint: request guard (Host, Origin) and the
//! bearer-token layer (authenticate, throttle failures, challenge, scope pre-check).

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use dashmap::DashMap;
use governor::{Quota, clock::DefaultClock, state::keyed::DashMapStateStore};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::json;

use super::{HttpConfig, challenge::Challenge, normalize_origin};
use crate::{
    audit::{self, Sanitized},
    auth::{AuthFailure, TokenValidator},
    policy::{RateSpec, ServerPolicy},
    principal::Principal,
};

/// Checks `Host` and `Origin` on every request (DNS-rebinding protection).
#[derive(Debug)]
pub struct RequestGuard {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl RequestGuard {
    pub(super) fn new(hosts: Vec<String>, origins: Vec<String>) -> Self {
        Self { hosts, origins }
    }

    fn host_ok(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(header::HOST).iter();
        match (values.next(), values.next()) {
            (Some(host), None) => host
                .to_str()
                .is_ok_and(|h| self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h))),
            _ => false,
        }
    }

    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(header::ORIGIN).iter();
        match (values.next(), values.next()) {
            (None, _) => true,
            (Some(origin), None) => origin
                .to_str()
                .ok()
                .and_then(normalize_origin)
                .is_some_and(|o| self.origins.contains(&o)),
            _ => false,
        }
    }
}

fn plain(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Refuses requests whose `Host` is not this server or whose `Origin` is present and not
/// allowed (403).
pub(super) async fn guard(
    State(guard): State<Arc<RequestGuard>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if !guard.host_ok(headers) {
        audit_rejected(&request, "bad_host");
        return plain(StatusCode::FORBIDDEN, "invalid_request", "Host not allowed");
    }
    if !guard.origin_ok(headers) {
        audit_rejected(&request, "bad_origin");
        return plain(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "Origin not allowed",
        );
    }
    next.run(request).await
}

fn client_ip(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn audit_rejected(request: &Request, reason: &'static str) {
    tracing::warn!(
        target: audit::TARGET,
        event = "http_rejected",
        reason,
        client_ip = %client_ip(request).map(|ip| ip.to_string()).unwrap_or_default(),
        "request refused"
    );
}

type KeyedLimiter = governor::RateLimiter<IpAddr, DashMapStateStore<IpAddr>, DefaultClock>;

/// Throttles addresses that keep failing authentication.
struct FailureThrottle {
    limiter: KeyedLimiter,
    blocked: DashMap<IpAddr, Instant>,
}

/// Most blocked addresses remembered; beyond it the oldest entries are swept.
const MAX_BLOCKED: usize = 100_000;

impl FailureThrottle {
    fn new(spec: RateSpec) -> Self {
        let quota = Quota::with_period(spec.replenish_interval().max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(spec.burst).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: governor::RateLimiter::dashmap(quota),
            blocked: DashMap::new(),
        }
    }

    /// How long `ip` must still wait, if it is blocked.
    fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let until = *self.blocked.get(&ip)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            self.blocked.remove(&ip);
            None
        }
    }

    /// Counts a failure; blocks the address when its budget is spent.
    fn record_failure(&self, ip: IpAddr) {
        use governor::clock::Clock;
        if let Err(not_until) = self.limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            if self.blocked.len() >= MAX_BLOCKED {
                let now = Instant::now();
                self.blocked.retain(|_, until| *until > now);
                self.limiter.retain_recent();
            }
            self.blocked.insert(ip, Instant::now() + wait);
        }
    }
}

/// State of the bearer-token layer.
pub struct AuthState {
    validator: Arc<dyn TokenValidator>,
    policy: &'static ServerPolicy,
    resource_metadata: String,
    throttle: FailureThrottle,
    max_body_bytes: usize,
    scope_challenge: bool,
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
        Self {
            validator,
            policy,
            resource_metadata: config.resource_metadata_url(),
            throttle: FailureThrottle::new(config.failure_limit),
            max_body_bytes: config.max_body_bytes,
            scope_challenge: config.scope_challenge,
        }
    }

    fn unauthorized(&self, failure: Option<AuthFailure>) -> Response {
        let challenge = Challenge {
            resource_metadata: &self.resource_metadata,
            error: failure.map(|_| "invalid_token"),
            description: failure.map(AuthFailure::description),
            scope: None,
        };
        let body = match failure {
            Some(f) => json!({"error": "invalid_token", "error_description": f.description()}),
            None => {
                json!({"error": "unauthorized", "error_description": AuthFailure::MissingToken.description()})
            }
        };
        (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, challenge.header_value()),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            axum::Json(body),
        )
            .into_response()
    }

    fn forbidden(&self, scope: &str) -> Response {
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
}

/// The credential of `Authorization: Bearer <token>`, or why there is none.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthFailure> {
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
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, …): treat as no bearer token.
        return Ok(None);
    }
    // RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let well_formed = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if well_formed {
        Ok(Some(token))
    } else {
        Err(AuthFailure::Malformed)
    }
}

fn audit_auth_failure(reason: AuthFailure, ip: Option<IpAddr>) {
    tracing::warn!(
        target: audit::TARGET,
        event = "auth_failure",
        reason = reason.as_str(),
        client_ip = %ip.map(|ip| ip.to_string()).unwrap_or_default(),
        "bearer token refused"
    );
}

/// The parts of a JSON-RPC message the scope pre-check reads.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
}

/// The tool a `tools/call` request names: from `Mcp-Method`/`Mcp-Name` when present, else
/// from the JSON-RPC body.
fn called_tool(headers: &HeaderMap, body: Option<&[u8]>) -> Option<String> {
    let method = headers.get("mcp-method").and_then(|v| v.to_str().ok());
    let name = headers.get("mcp-name").and_then(|v| v.to_str().ok());
    if let (Some("tools/call"), Some(name)) = (method, name) {
        return Some(name.to_owned());
    }
    let peek: Peek<'_> = serde_json::from_slice(body?).ok()?;
    if peek.method.as_deref() != Some("tools/call") {
        return None;
    }
    peek.params?.name.map(|n| n.into_owned())
}

/// Authenticates every request to the MCP endpoint and attaches the [`Principal`].
pub(super) async fn authenticate(
    State(state): State<Arc<AuthState>>,
    request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(&request);
    let token = bearer_token(request.headers());
    if !matches!(token, Ok(None))
        && let Some(ip) = ip
        && let Some(wait) = state.throttle.blocked_for(ip)
    {
        // This address keeps presenting bad tokens: answer without spending a verification.
        tracing::warn!(
            target: audit::TARGET,
            event = "auth_throttled",
            client_ip = %ip,
            "too many failed authentications from this address"
        );
        let secs = crate::error::retry_after_secs(wait);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, HeaderValue::from(secs))],
            axum::Json(json!({"error": "too_many_requests", "retry_after": secs})),
        )
            .into_response();
    }
    let token = match token {
        Ok(Some(token)) => token,
        Ok(None) => return state.unauthorized(None),
        Err(failure) => {
            if let Some(ip) = ip {
                state.throttle.record_failure(ip);
            }
            audit_auth_failure(failure, ip);
            return state.unauthorized(Some(failure));
        }
    };
    let principal: Principal = match state.validator.validate(token).await {
        Ok(p) => p,
        Err(failure) => {
            if let Some(ip) = ip {
                state.throttle.record_failure(ip);
            }
            audit_auth_failure(failure, ip);
            return state.unauthorized(Some(failure));
        }
    };

    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(principal.clone());
    let mut request = Request::from_parts(parts, body);

    if state.scope_challenge && request.method() == Method::POST {
        // Pre-check `tools/call` so the client gets an HTTP 403 it can step up from.
        let headers = request.headers().clone();
        let tool = match called_tool(&headers, None) {
            Some(tool) => Some(tool),
            None => {
                let (parts, body) = request.into_parts();
                let bytes = match http_body_util::Limited::new(body, state.max_body_bytes)
                    .collect()
                    .await
                {
                    Ok(collected) => collected.to_bytes(),
                    Err(_) => {
                        return plain(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "invalid_request",
                            "Request body too large",
                        );
                    }
                };
                let tool = called_tool(&headers, Some(&bytes));
                request = Request::from_parts(parts, Body::from(bytes));
                tool
            }
        };
        if let Some(tool) = tool
            && let Some(policy) = state.policy.tool(&tool)
            && !policy.permits(principal.scopes())
        {
            tracing::warn!(
                target: audit::TARGET,
                event = "tool_call",
                decision = "denied",
                reason = "insufficient_scope",
                code = "INSUFFICIENT_SCOPE",
                tool = policy.name,
                subject = %Sanitized(principal.subject()),
                client_id = %Sanitized(principal.client_id().unwrap_or("")),
                auth = "bearer",
                missing_scopes = %policy.missing_scopes(principal.scopes()).join(" "),
                stage = "http",
                "tool call denied: insufficient scope"
            );
            return state.forbidden(&policy.scope_string());
        }
    }
    next.run(request).await
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

    #[test]
    fn tool_from_headers_or_body() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write","arguments":{}}}"#;
        assert_eq!(
            called_tool(&HeaderMap::new(), Some(body)).as_deref(),
            Some("write")
        );
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(called_tool(&HeaderMap::new(), Some(list)), None);
        let mut h = HeaderMap::new();
        h.insert("mcp-method", HeaderValue::from_static("tools/call"));
        h.insert("mcp-name", HeaderValue::from_static("read"));
        assert_eq!(called_tool(&h, None).as_deref(), Some("read"));
        assert_eq!(called_tool(&HeaderMap::new(), Some(b"not json")), None);
    }

    #[test]
    fn origins_and_hosts() {
        let g = RequestGuard::new(
            vec!["127.0.0.1:8000".into()],
            vec!["http://localhost:6274".into()],
        );
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8000"));
        assert!(g.host_ok(&h) && g.origin_ok(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://LOCALHOST:6274"),
        );
        assert!(g.origin_ok(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!g.origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!g.origin_ok(&h));
        h.insert(header::HOST, HeaderValue::from_static("evil.example:8000"));
        assert!(!g.host_ok(&h));
    }
}
