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
        .is_ok_and(|patterns| !may_match(text) || !patterns.any.is_match(text))
}

/// A necessary condition for any pattern to match, tested before the regex set because it
/// costs a few vector scans where the set, on the short strings most output is made of (a
/// field name, a word), costs its per-search setup: every credential pair and URL userinfo
/// has a `:` or `=`; every bearer credential the word `bearer` in ASCII letters of any case
/// (with Unicode case folding no other character folds to `b`, `e`, `a` or `r`); every JWT
/// `eyJ`. When this is false, no pattern can match.
fn may_match(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr2(b':', b'=', bytes).is_some()
        || memchr::memmem::find(bytes, b"eyJ").is_some()
        || memchr::memchr2_iter(b'b', b'B', bytes).any(|at| {
            bytes
                .get(at..at + 6)
                .is_some_and(|word| word.eq_ignore_ascii_case(b"bearer"))
        })
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
    fn the_quick_test_never_calls_a_credential_clean() {
        let Ok(patterns) = PATTERNS.as_ref() else {
            panic!("patterns do not compile");
        };
        // Every shape the patterns mask, in cases and surroundings the quick test must see.
        let shapes = [
            "https://user:pass@example.com/",
            "password=hunter2",
            "API_KEY: abc",
            "Authorization: Bearer abcdefgh",
            "BeArEr abcdefghijk",
            "bearer\tabcdefghijk",
            "x BEARER 0123456789",
            "eyJhbGciOi.eyJzdWIiOi.c2ln",
            "(eyJabcd.eyJabcd.)",
            "token = 'x'",
        ];
        for shape in shapes {
            assert!(
                patterns.any.is_match(shape),
                "{shape} is not a credential shape"
            );
            assert!(may_match(shape), "{shape} passed the quick test");
            assert!(!clean(shape), "{shape} called clean");
        }
        // Random text made of the patterns' own pieces and near misses (Unicode letters
        // that fold to ASCII ones, other spaces): whenever the set matches, the quick test
        // must have said it may.
        let pieces = [
            "bearer",
            "BEARER",
            "Bearer",
            "bEaReR",
            "beare",
            "\u{17f}",
            "\u{212a}",
            "eyJ",
            "eyj",
            "eyJabcd",
            ".",
            ":",
            "=",
            "@",
            "://",
            "password",
            "token",
            "api_key",
            " ",
            "\t",
            "\u{a0}",
            "\"",
            "'",
            "abcdefgh",
            "0123456789",
            "x",
            "/",
            "_",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % 1024).unwrap_or(0)
        };
        let mut matched = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..next() % 9 {
                text.push_str(pieces[next() % pieces.len()]);
            }
            if patterns.any.is_match(&text) {
                matched += 1;
                assert!(
                    may_match(&text),
                    "{text:?} matches but passed the quick test"
                );
            }
            assert_eq!(clean(&text), !patterns.any.is_match(&text), "{text:?}");
        }
        assert!(
            matched > 100,
            "the corpus should exercise the patterns ({matched})"
        );
        for plain in ["text", "count", "hello, secured world", "abear", "eyj"] {
            assert!(!may_match(plain), "{plain}");
        }
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(ensure_compiled(), Ok(()));
    }
}
