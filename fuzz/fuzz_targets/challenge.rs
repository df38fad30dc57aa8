//! The `WWW-Authenticate` builder: whatever goes in, what comes out is one valid header value
//! that starts with `Bearer ` and cannot be split or extended by its inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::http::Challenge;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1f}');
    let metadata = parts.next().unwrap_or_default();
    let description = parts.next();
    let scope = parts.next();
    let c = Challenge { resource_metadata: metadata, error: Some("invalid_token"), description, scope };
    let header = c.to_header_string();
    assert!(header.starts_with("Bearer resource_metadata=\""));
    assert!(header.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)));
    assert!(http::HeaderValue::from_str(&header).is_ok());
    // Every quote inside a value is escaped: unescaped quotes are exactly the delimiters.
    let mut unescaped = 0;
    let mut escaped = false;
    for ch in header.chars() {
        match (escaped, ch) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => unescaped += 1,
            _ => {}
        }
    }
    let params = 2 + usize::from(description.is_some()) + usize::from(scope.is_some());
    assert_eq!(unescaped, params * 2);
});
