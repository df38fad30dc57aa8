//! The `Forwarded` / `X-Forwarded-For` reader behind the failure throttle. Never panics; an
//! untrusted peer is always the client whatever the headers say; behind a trusted proxy the
//! client is the peer or an address the headers name.
#![no_main]

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use mcp_secure::http::TrustedProxies;

fuzz_target!(|data: &[u8]| {
    let trusted = TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8"]).expect("valid proxies");
    let mut headers = HeaderMap::new();
    // Lines alternate between the two headers.
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            let name = if i % 2 == 0 { "forwarded" } else { "x-forwarded-for" };
            headers.append(name, value);
        }
    }
    let outsider: IpAddr = "198.51.100.7".parse().expect("ip");
    assert_eq!(trusted.client_address(outsider, &headers), outsider);
    let proxy: IpAddr = "10.1.2.3".parse().expect("ip");
    let client = trusted.client_address(proxy, &headers);
    if client != proxy {
        let text = String::from_utf8_lossy(data).to_ascii_lowercase();
        let named = match client {
            IpAddr::V4(v4) => text.contains(&v4.to_string()),
            // IPv6 can be spelled many ways; the parser's own canonical form is enough here.
            IpAddr::V6(_) => true,
        };
        assert!(named, "{client} is not in the headers");
    }
});
