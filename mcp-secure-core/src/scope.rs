//! RFC 6749 §3.3 scope tokens: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, separated by
//! U+0020 SPACE and nothing else. Nothing is folded or normalised.

use std::fmt;

/// Longest accepted scope, in bytes.
pub const MAX_SCOPE_LEN: usize = 256;
/// Most scopes accepted in one list.
pub const MAX_SCOPES: usize = 256;

/// Why a scope list was refused. The message names positions and code points, never the
/// submitted text, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeError {
    /// Two spaces in a row, or a space at either end.
    Empty {
        /// 1-based position of the empty scope in the list.
        position: usize,
    },
    /// A character outside the RFC 6749 scope characters.
    InvalidCharacter {
        /// 1-based position of the scope in the list.
        position: usize,
        /// The offending character.
        code_point: u32,
    },
    /// A scope longer than [`MAX_SCOPE_LEN`].
    TooLong {
        /// 1-based position of the scope in the list.
        position: usize,
    },
    /// More than [`MAX_SCOPES`] scopes.
    TooMany,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { position } => write!(
                f,
                "scope {position} is empty: separate scopes with exactly one space"
            ),
            Self::InvalidCharacter {
                position,
                code_point,
            } => write!(
                f,
                "scope {position} contains U+{code_point:04X}, which RFC 6749 does not allow in a scope"
            ),
            Self::TooLong { position } => {
                write!(f, "scope {position} is longer than {MAX_SCOPE_LEN} bytes")
            }
            Self::TooMany => write!(f, "more than {MAX_SCOPES} scopes"),
        }
    }
}

impl std::error::Error for ScopeError {}

/// Whether `c` may appear in an RFC 6749 scope token.
#[inline]
pub const fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Checks one scope token; `position` (1-based) is only used in the error.
pub fn validate_scope(scope: &str, position: usize) -> Result<(), ScopeError> {
    if scope.is_empty() {
        return Err(ScopeError::Empty { position });
    }
    if scope.len() > MAX_SCOPE_LEN {
        return Err(ScopeError::TooLong { position });
    }
    match scope.chars().find(|&c| !is_scope_char(c)) {
        Some(c) => Err(ScopeError::InvalidCharacter {
            position,
            code_point: c as u32,
        }),
        None => Ok(()),
    }
}

/// Splits a space-separated list strictly and checks every token (the empty string is the
/// empty list). Returns the tokens in order, duplicates kept.
pub fn split_scope_list(list: &str) -> Result<Vec<&str>, ScopeError> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, scope) in list.split(' ').enumerate() {
        if i >= MAX_SCOPES {
            return Err(ScopeError::TooMany);
        }
        validate_scope(scope, i + 1)?;
        out.push(scope);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(
            split_scope_list("data:read a!#[]~"),
            Ok(vec!["data:read", "a!#[]~"])
        );
        assert_eq!(split_scope_list(""), Ok(vec![]));
        assert_eq!(
            split_scope_list("a  b"),
            Err(ScopeError::Empty { position: 2 })
        );
        assert!(matches!(
            split_scope_list("a\u{a0}b"),
            Err(ScopeError::InvalidCharacter {
                position: 1,
                code_point: 0xa0
            })
        ));
        assert_eq!(
            split_scope_list(&"x".repeat(MAX_SCOPE_LEN + 1)),
            Err(ScopeError::TooLong { position: 1 })
        );
        assert_eq!(
            split_scope_list(&vec!["s"; MAX_SCOPES + 1].join(" ")),
            Err(ScopeError::TooMany)
        );
    }
}
