//! The request guard: `Host` and `Origin` validation on every request (DNS-rebinding
//! protection).

use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::{
    client_addr::{TrustedProxies, client_address},
    normalize_origin,
};
use crate::audit;

/// Checks `Host` and `Origin` on every request (DNS-rebinding protection).
#[derive(Debug)]
pub struct RequestGuard {
    hosts: Vec<String>,
    origins: Vec<String>,
    proxies: TrustedProxies,
}

impl RequestGuard {
    pub(crate) fn new(hosts: Vec<String>, origins: Vec<String>, proxies: TrustedProxies) -> Self {
        Self {
            hosts,
            origins,
            proxies,
        }
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

/// A JSON error response with `Cache-Control: no-store`.
pub(super) fn plain(
    status: StatusCode,
    error: &'static str,
    description: &'static str,
) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn audit_rejected(request: &Request, reason: &'static str, proxies: &TrustedProxies) {
    tracing::warn!(
        target: audit::TARGET,
        event = "http_rejected",
        reason,
        client_ip = %client_address(request, proxies).map(|ip| ip.to_string()).unwrap_or_default(),
        "request refused"
    );
}

impl RequestGuard {
    /// The refusal (403) of a request whose `Host` is not this server or whose `Origin` is
    /// present and not allowed; `None` when the request may go on.
    pub(super) fn refusal(&self, request: &Request) -> Option<Response> {
        let headers = request.headers();
        let (reason, description) = if !self.host_ok(headers) {
            ("bad_host", "Host not allowed")
        } else if !self.origin_ok(headers) {
            ("bad_origin", "Origin not allowed")
        } else {
            return None;
        };
        audit_rejected(request, reason, &self.proxies);
        Some(plain(StatusCode::FORBIDDEN, "invalid_request", description))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn origins_and_hosts() {
        let g = RequestGuard::new(
            vec!["127.0.0.1:8000".into()],
            vec!["http://localhost:6274".into()],
            TrustedProxies::default(),
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
