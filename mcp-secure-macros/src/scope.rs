//! Compile-time scope syntax (RFC 6749 §3.3) and the scope hierarchy.
//!
//! The grammar is `mcp_secure_core::scope`, the one the runtime enforces on the tokens it
//! receives; here it is checked on the literals the tool author writes, so a typo never
//! reaches a running server. Only the messages are this crate's own: they quote the
//! author's own text, which the runtime never does.

use std::collections::{BTreeMap, BTreeSet};

use syn::LitStr;

use crate::errors::Errors;

/// Why `token` is not an RFC 6749 `scope-token` (`1*( %x21 / %x23-5B / %x5D-7E )`, at most
/// 256 bytes).
pub(crate) fn scope_token_problem(token: &str) -> Option<String> {
    use mcp_secure_core::scope::{MAX_SCOPE_LEN, ScopeError, validate_scope};
    match validate_scope(token, 1) {
        Ok(()) => None,
        Err(ScopeError::Empty { .. }) => Some("a scope cannot be empty".into()),
        Err(ScopeError::TooLong { .. }) => Some(format!(
            "scope `{}…` is longer than {MAX_SCOPE_LEN} bytes; use a shorter name",
            token.chars().take(32).collect::<String>().escape_default()
        )),
        Err(ScopeError::InvalidCharacter { code_point, .. }) => {
            let bad = char::from_u32(code_point).unwrap_or(char::REPLACEMENT_CHARACTER);
            let shown = match bad {
                '"' => "`\"`".to_string(),
                '\\' => "`\\`".to_string(),
                c if c.is_control() || c.is_whitespace() || !c.is_ascii() => {
                    format!("U+{:04X}", c as u32)
                }
                c => format!("`{c}`"),
            };
            Some(format!(
                "scope `{}` contains {shown}; a scope may only use the RFC 6749 characters \
                 `!` and `#`..`~` except `\"` and `\\` (separate scopes with a single space)",
                token.escape_default()
            ))
        }
        Err(_) => Some("not a valid scope".into()),
    }
}

/// Parses a space-separated scope list, reporting malformed tokens on the literal.
/// Only U+0020 separates; a doubled, leading or trailing space is an empty scope.
pub(crate) fn parse_scope_list(lit: &LitStr, errors: &mut Errors) -> Vec<String> {
    let value = lit.value();
    if value.is_empty() {
        errors.at(
            lit.span(),
            "the scope list is empty; name at least one scope (`scopes = \"data:read\"`) \
             or mark the tool `public`",
        );
        return Vec::new();
    }
    let mut scopes: Vec<String> = Vec::new();
    if value.split(' ').count() > mcp_secure_core::scope::MAX_SCOPES {
        errors.at(
            lit.span(),
            format!(
                "more than {} scopes in one list",
                mcp_secure_core::scope::MAX_SCOPES
            ),
        );
        return Vec::new();
    }
    for token in value.split(' ') {
        if let Some(problem) = scope_token_problem(token) {
            let problem = if token.is_empty() {
                "the scope list has an empty scope; separate scopes with exactly one space \
                 and leave none at either end"
                    .to_string()
            } else {
                problem
            };
            errors.at(lit.span(), problem);
        } else if scopes.iter().any(|s| s == token) {
            errors.at(
                lit.span(),
                format!("scope `{token}` is listed twice; remove the duplicate"),
            );
        } else {
            scopes.push(token.to_string());
        }
    }
    scopes
}

/// `"admin:full > data:write > data:read"`: each scope implies the next.
pub(crate) fn parse_chain(lit: &LitStr, errors: &mut Errors) -> Vec<(String, String)> {
    let value = lit.value();
    let links: Vec<&str> = value.split('>').map(str::trim).collect();
    if links.len() < 2 {
        errors.at(
            lit.span(),
            "a hierarchy chain needs at least two scopes joined by `>`, \
             e.g. `\"admin:full > data:write > data:read\"` (each implies the next)",
        );
        return Vec::new();
    }
    let mut ok = true;
    for link in &links {
        if let Some(problem) = scope_token_problem(link) {
            errors.at(lit.span(), problem);
            ok = false;
        }
    }
    if !ok {
        return Vec::new();
    }
    links
        .windows(2)
        .map(|pair| (pair[0].to_string(), pair[1].to_string()))
        .collect()
}

/// For every scope, the scopes that grant it: itself and every scope that implies it,
/// directly or transitively. Cycles are reported as errors.
pub(crate) struct ScopeGraph {
    /// implied -> the scopes that imply it (transitively)
    granted_by: BTreeMap<String, BTreeSet<String>>,
}

impl ScopeGraph {
    pub(crate) fn new(
        edges: &[(String, String)],
        span: proc_macro2::Span,
        errors: &mut Errors,
    ) -> Self {
        let mut implies: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (higher, lower) in edges {
            implies.entry(higher).or_default().insert(lower);
        }
        // Transitive closure by depth-first search from every scope.
        let mut granted_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for &start in implies.keys() {
            let mut stack: Vec<&str> = implies[start].iter().copied().collect();
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            while let Some(scope) = stack.pop() {
                if scope == start {
                    errors.at(
                        span,
                        format!(
                            "the scope hierarchy has a cycle through `{start}`; \
                             a scope cannot imply itself"
                        ),
                    );
                    return Self {
                        granted_by: BTreeMap::new(),
                    };
                }
                if seen.insert(scope) {
                    granted_by
                        .entry(scope.to_string())
                        .or_default()
                        .insert(start.to_string());
                    if let Some(next) = implies.get(scope) {
                        stack.extend(next.iter().copied());
                    }
                }
            }
        }
        Self { granted_by }
    }

    /// `scope` and every scope that grants it, `scope` first, the rest sorted.
    pub(crate) fn satisfiers(&self, scope: &str) -> Vec<String> {
        let mut out = vec![scope.to_string()];
        if let Some(granters) = self.granted_by.get(scope) {
            out.extend(granters.iter().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    fn lit(s: &str) -> LitStr {
        LitStr::new(s, Span::call_site())
    }

    #[test]
    fn rfc6749_characters_only() {
        assert!(scope_token_problem("data:read").is_none());
        assert!(scope_token_problem("a!#[]~").is_none());
        assert!(scope_token_problem("a\"b").is_some());
        assert!(scope_token_problem("a\\b").is_some());
        assert!(scope_token_problem("data\u{a0}read").is_some());
        assert!(scope_token_problem("\u{212a}elvin").is_some());
        assert!(scope_token_problem("").is_some());
        assert!(scope_token_problem(&"a".repeat(257)).is_some());
    }

    #[test]
    fn list_rejects_empty_and_duplicate_tokens() {
        let mut errors = Errors::default();
        assert_eq!(parse_scope_list(&lit("a b"), &mut errors), vec!["a", "b"]);
        assert!(errors.is_empty());
        parse_scope_list(&lit("a  b"), &mut errors);
        assert!(!errors.is_empty());
        let mut errors = Errors::default();
        parse_scope_list(&lit("a a"), &mut errors);
        assert!(!errors.is_empty());
    }

    #[test]
    fn hierarchy_is_transitive() {
        let mut errors = Errors::default();
        let edges = parse_chain(&lit("admin:full > data:write > data:read"), &mut errors);
        let h = ScopeGraph::new(&edges, Span::call_site(), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(
            h.satisfiers("data:read"),
            vec!["data:read", "admin:full", "data:write"]
        );
        assert_eq!(h.satisfiers("admin:full"), vec!["admin:full"]);
    }

    #[test]
    fn hierarchy_cycle_is_an_error() {
        let mut errors = Errors::default();
        let mut edges = parse_chain(&lit("a > b"), &mut errors);
        edges.extend(parse_chain(&lit("b > a"), &mut errors));
        ScopeGraph::new(&edges, Span::call_site(), &mut errors);
        assert!(!errors.is_empty());
    }
}
