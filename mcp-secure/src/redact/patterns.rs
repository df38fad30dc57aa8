//! The credential shapes masked in any text, whoever registered what: connection-string
//! userinfo, `key=value` credentials, bearer tokens and JWTs; and the object keys whose
//! string values are masked in structured output.
//!
//! The patterns are constants, compiled once. Should one ever fail to compile, redaction
//! fails closed: [`ensure_compiled`] makes the server refuse to start, and any text that
//! reaches the masking step regardless is replaced whole.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::MASK;

/// A redaction pattern failed to compile (a defect of this crate, never of input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a redaction pattern failed to compile; refusing to serve without redaction")]
pub struct PatternError;

struct Patterns {
    /// `scheme://user:pass@`: the userinfo.
    url_userinfo: Regex,
    /// `password=…`, `"api_key": "…"`, `Authorization: Bearer …`: the value.
    credential_pair: Regex,
    /// `Bearer …` or a JWT anywhere.
    bearer_or_jwt: Regex,
    /// The three at once: one scan tells whether a text needs masking at all (most do not).
    any: RegexSet,
}

const URL_USERINFO: &str = r#"(?i)\b[a-z][a-z0-9+.\-]*://([^/?#@\s"'<>\\]+)@"#;
const CREDENTIAL_PAIR: &str = concat!(
    r#"(?i)\b(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|api[_-]?key|"#,
    r#"access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|session[_-]?token|token|"#,
    r#"authorization|private[_-]?key)\b["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?"#,
    r#"([^\s"'&;,<>]+)"#
);
const BEARER_OR_JWT: &str = concat!(
    r"(?i:\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*))",
    r"|(\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",
);

static PATTERNS: LazyLock<Result<Patterns, PatternError>> = LazyLock::new(|| {
    let compile = |re: &str| Regex::new(re).map_err(|_| PatternError);
    Ok(Patterns {
        url_userinfo: compile(URL_USERINFO)?,
        credential_pair: compile(CREDENTIAL_PAIR)?,
        bearer_or_jwt: compile(BEARER_OR_JWT)?,
        any: RegexSet::new([URL_USERINFO, CREDENTIAL_PAIR, BEARER_OR_JWT])
            .map_err(|_| PatternError)?,
    })
});

/// Compiles the patterns now; an error means redaction cannot work and the server must not
/// start.
pub fn ensure_compiled() -> Result<(), PatternError> {
    PATTERNS.as_ref().map(|_| ()).map_err(|e| *e)
}

/// Whether `text` has no credential shape to mask (one scan). With the patterns missing,
/// no text is known to be clean.
pub(crate) fn clean(text: &str) -> bool {
    PATTERNS
        .as_ref()
        .is_ok_and(|patterns| !patterns.any.is_match(text))
}

/// Masks credential shapes in `text`; returns how many were masked.
pub(crate) fn mask(text: &mut String) -> usize {
    let patterns = match PATTERNS.as_ref() {
        Ok(p) => p,
        Err(_) => {
            // Fail closed: nothing is known to be safe.
            if text.is_empty() || text == MASK {
                return 0;
            }
            MASK.clone_into(text);
            return 1;
        }
    };
    if !patterns.any.is_match(text) {
        return 0;
    }
    let mut count = 0;
    for (re, userinfo) in [
        (&patterns.url_userinfo, true),
        (&patterns.credential_pair, false),
        (&patterns.bearer_or_jwt, false),
    ] {
        if !re.is_match(text) {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for caps in re.captures_iter(text) {
            // Every pattern captures exactly the part to mask in one of its groups.
            let Some(m) = (1..caps.len()).find_map(|i| caps.get(i)) else {
                continue;
            };
            if matches!(m.as_str(), MASK | "***:***") {
                continue;
            }
            out.push_str(&text[last..m.start()]);
            out.push_str(if userinfo && m.as_str().contains(':') {
                "***:***"
            } else {
                MASK
            });
            last = m.end();
            count += 1;
        }
        out.push_str(&text[last..]);
        *text = out;
    }
    count
}

/// Normalised key names whose string values are masked in structured output.
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "clientsecret",
    "apikey",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "sessiontoken",
    "token",
    "bearertoken",
    "authorization",
    "privatekey",
    "secretkey",
    "secretaccesskey",
    "cookie",
    "setcookie",
    "connectionstring",
];

/// Whether `key` names a credential (`api_key`, `Client-Secret`, `password`, …).
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    if key.len() > 64 {
        return false;
    }
    let mut buf = [0u8; 64];
    let mut n = 0;
    for b in key.bytes() {
        if b == b'_' || b == b'-' {
            continue;
        }
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    let normalised = &buf[..n];
    SENSITIVE_KEYS.iter().any(|k| k.as_bytes() == normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(ensure_compiled(), Ok(()));
    }
}
