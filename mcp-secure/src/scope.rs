//! Strict OAuth scope parsing (RFC 6749 §3.3) and scope sets.
//!
//! A scope list is split on U+0020 SPACE and nothing else; every scope must consist of the
//! RFC 6749 characters `%x21 / %x23-5B / %x5D-7E`. Nothing is folded or normalised: a scope
//! written with a no-break space, an ideographic space, a tab, a Kelvin sign, full-width
//! letters or a zero-width space is malformed, never quietly split or matched.

use std::fmt;

pub use mcp_secure_core::scope::{
    MAX_SCOPE_LEN, MAX_SCOPES, ScopeError, is_scope_char, validate_scope,
};

/// A set of validated scopes, kept sorted for cheap lookups and stable output.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet {
    scopes: Vec<Box<str>>,
}

impl ScopeSet {
    /// The empty set.
    pub const fn new() -> Self {
        Self { scopes: Vec::new() }
    }

    /// Parses a space-separated list strictly. The empty string is the empty set.
    pub fn parse(list: &str) -> Result<Self, ScopeError> {
        // `split_scope_list`'s rules (the same errors at the same positions), without its
        // intermediate vector.
        if list.is_empty() {
            return Ok(Self::new());
        }
        Self::try_from_iter(list.split(' '))
    }

    /// Builds a set from individual scopes, validating each.
    pub fn try_from_iter<I, S>(scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = scopes.into_iter();
        let mut out: Vec<Box<str>> = Vec::with_capacity(scopes.size_hint().0.min(MAX_SCOPES));
        for (i, scope) in scopes.enumerate() {
            if i >= MAX_SCOPES {
                return Err(ScopeError::TooMany);
            }
            let scope = scope.as_ref();
            validate_scope(scope, i + 1)?;
            out.push(scope.into());
        }
        out.sort_unstable();
        out.dedup();
        Ok(Self { scopes: out })
    }

    /// Whether the set holds exactly `scope` (byte-for-byte).
    pub fn contains(&self, scope: &str) -> bool {
        self.scopes
            .binary_search_by(|s| s.as_ref().cmp(scope))
            .is_ok()
    }

    /// Whether the set holds any of `scopes`.
    pub fn contains_any(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.contains(s))
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(AsRef::as_ref)
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Adds the scopes of `other`.
    pub fn extend(&mut self, other: impl IntoIterator<Item = impl Into<Box<str>>>) {
        self.scopes.extend(other.into_iter().map(Into::into));
        self.scopes.sort_unstable();
        self.scopes.dedup();
    }
}

impl fmt::Display for ScopeSet {
    /// The RFC 6749 form: scopes joined by single spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.scopes.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_space_only() {
        let set = ScopeSet::parse("data:read data:write").unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.contains("data:read"));
        assert!(set.contains("data:write"));
    }

    #[test]
    fn lookalike_separators_are_not_split_but_refused() {
        for sep in [
            "\u{a0}", "\u{3000}", "\t", "\u{85}", "\u{200b}", "\n", "\r", "\u{2028}", "\u{feff}",
        ] {
            let list = format!("data:read{sep}admin:full");
            let err = ScopeSet::parse(&list).unwrap_err();
            assert!(
                matches!(err, ScopeError::InvalidCharacter { position: 1, .. }),
                "{sep:?}: {err:?}"
            );
        }
    }

    #[test]
    fn lookalike_letters_are_refused_not_folded() {
        // Kelvin sign, full-width letters, dotless i, long s.
        for scope in ["\u{212a}ey", "ｄata:read", "adm\u{131}n", "\u{17f}cope"] {
            assert!(ScopeSet::parse(scope).is_err(), "{scope}");
        }
    }

    #[test]
    fn quote_and_backslash_are_refused() {
        assert!(ScopeSet::parse("a\"b").is_err());
        assert!(ScopeSet::parse("a\\b").is_err());
    }

    #[test]
    fn empty_tokens_are_refused() {
        assert_eq!(
            ScopeSet::parse("a  b").unwrap_err(),
            ScopeError::Empty { position: 2 }
        );
        assert!(ScopeSet::parse(" a").is_err());
        assert!(ScopeSet::parse("a ").is_err());
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn case_is_significant() {
        let set = ScopeSet::parse("Data:Read").unwrap();
        assert!(!set.contains("data:read"));
    }

    #[test]
    fn limits() {
        let long = "a".repeat(MAX_SCOPE_LEN + 1);
        assert!(matches!(
            ScopeSet::parse(&long),
            Err(ScopeError::TooLong { .. })
        ));
        let many = vec!["s"; MAX_SCOPES + 1].join(" ");
        assert_eq!(ScopeSet::parse(&many).unwrap_err(), ScopeError::TooMany);
    }

    #[test]
    fn display_round_trips() {
        let set = ScopeSet::parse("b a c a").unwrap();
        assert_eq!(set.to_string(), "a b c");
        assert_eq!(ScopeSet::parse(&set.to_string()).unwrap(), set);
    }

    #[test]
    fn error_messages_never_echo_input() {
        let err = ScopeSet::parse("secret\u{a0}value")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"));
        assert!(err.contains("U+00A0"));
    }
}
