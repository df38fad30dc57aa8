//! The scope parser: never panics; what it accepts holds only RFC 6749 scope characters and
//! round-trips through its RFC 6749 rendering.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::scope::{ScopeSet, is_scope_char};

fuzz_target!(|data: &[u8]| {
    let Ok(list) = std::str::from_utf8(data) else { return };
    if let Ok(set) = ScopeSet::parse(list) {
        for scope in set.iter() {
            assert!(!scope.is_empty());
            assert!(scope.chars().all(is_scope_char));
        }
        let rendered = set.to_string();
        assert_eq!(ScopeSet::parse(&rendered).ok().as_ref(), Some(&set));
        // Only U+0020 separates.
        assert_eq!(set.len() <= list.split(' ').count(), true);
    }
});
