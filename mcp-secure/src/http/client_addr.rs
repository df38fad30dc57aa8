//! The client's address, as the failure throttle and the audit log key it: the TCP peer, or,
//! when the peer is a configured trusted proxy, the address the proxies report in `Forwarded`
//! (RFC 7239) or `X-Forwarded-For`. A header from any other peer is ignored: anyone can write
//! one.

use std::{
    net::{IpAddr, SocketAddr},
    str::FromStr,
    sync::atomic::{AtomicBool, Ordering},
};

use axum::extract::ConnectInfo;
use http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of the trusted-proxy list is neither an address nor a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or a CIDR block (like 10.0.0.0/8 or fd00::/8)")]
pub struct BadProxy(pub String);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.7`) and CIDR blocks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[impl AsRef<str>]) -> Result<Self, BadProxy> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                IpNet::from_str(e)
                    .or_else(|_| IpAddr::from_str(e).map(IpNet::from))
                    .map_err(|_| BadProxy(e.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether none are configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client a request from `peer` comes from: `peer` itself unless it is one of these
    /// proxies; then the nearest address the proxies report (`Forwarded`, else
    /// `X-Forwarded-For`) that is not a proxy of theirs.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        resolve(peer, headers, self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as IPv4, so one rule covers both spellings.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One hop a proxy reported: an address, or something that is not one (`unknown`, an
/// obfuscated identifier, garbage).
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    Addr(IpAddr),
    Opaque,
}

/// A `for=` value: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `unknown`, `_hidden`.
fn parse_node(value: &str) -> Hop {
    let value = value.trim().trim_matches('"');
    let host = if let Some(rest) = value.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if value.matches(':').count() == 1 {
        value.split(':').next().unwrap_or_default()
    } else {
        value
    };
    IpAddr::from_str(host).map_or(Hop::Opaque, |ip| Hop::Addr(canonical(ip)))
}

/// The comma-separated elements of every `name` header, in order (an unreadable value counts
/// as one empty element, so it stops a walk rather than vanishing).
fn elements<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
}

/// The hops of `Forwarded` (every `for=`, in order), or, without it, of `X-Forwarded-For`.
fn reported_hops(headers: &HeaderMap) -> Vec<Hop> {
    let forwarded: Vec<Hop> = elements(headers, "forwarded")
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    elements(headers, "x-forwarded-for")
        .map(parse_node)
        .collect()
}

/// The client's address: `peer` itself unless it is a trusted proxy; then, walking the
/// reported hops from the nearest, the first address that is not a trusted proxy. A hop that
/// is not an address stops the walk at the proxy that reported it.
pub(crate) fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if trusted.is_empty() || !trusted.trusts(peer) {
        return peer;
    }
    let mut nearest = peer;
    for hop in reported_hops(headers).into_iter().rev() {
        match hop {
            Hop::Addr(ip) if trusted.trusts(ip) => nearest = ip,
            Hop::Addr(ip) => return ip,
            Hop::Opaque => return nearest,
        }
    }
    nearest
}

/// Said once per process when a request arrives without the peer address (`ConnectInfo`).
static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

/// The client address of `request`, when the server was given the peer (`ConnectInfo`).
/// Without it the failure throttle cannot tell clients apart and stays off; that is said
/// once, naming the fix.
pub(crate) fn client_address(
    request: &axum::extract::Request,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => Some(resolve(peer.ip(), request.headers(), trusted)),
        None => {
            if !WARNED_NO_PEER.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: crate::audit::TARGET,
                    event = "throttle_disabled",
                    "requests arrive without the client address, so failed authentications \
                     cannot be throttled per address: serve the router with \
                     `into_make_service_with_connect_info::<SocketAddr>()`"
                );
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(resolve(ip("203.0.113.9"), &h, &trusted), ip("203.0.113.9"));
        // And with no proxies configured at all.
        let none = TrustedProxies::default();
        assert_eq!(resolve(ip("10.0.0.2"), &h, &none), ip("10.0.0.2"));
    }

    #[test]
    fn a_trusted_proxy_reports_the_client_and_spoofed_entries_on_the_left_do_not_count() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8"]).unwrap();
        // The client wrote 6.6.6.6 itself; the proxy appended the real client.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("198.51.100.7"));
        // Two proxies: the nearest trusted ones are skipped.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 10.1.1.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("198.51.100.7"));
        // RFC 7239, with a port and IPv6 in brackets; it wins over X-Forwarded-For.
        let h = headers(&[
            (
                "forwarded",
                r#"for=192.0.2.60;proto=http, for="[2001:db8::1]:4711""#,
            ),
            ("x-forwarded-for", "6.6.6.6"),
        ]);
        assert_eq!(resolve(ip("fd00::1"), &h, &trusted), ip("2001:db8::1"));
        // An opaque hop: the proxy that reported it is the best we know.
        let h = headers(&[("forwarded", "for=unknown, for=10.9.9.9")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("10.9.9.9"));
        // IPv4-mapped peers match IPv4 rules.
        let h = headers(&[("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), &h, &trusted),
            ip("198.51.100.8")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.0/33"]),
            Err(BadProxy("10.0.0.0/33".into()))
        );
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
        assert!(TrustedProxies::parse(&["127.0.0.1", "::1", "10.0.0.0/8"]).is_ok());
    }
}
