//! Ready-made injection guards for `validator`'s `custom` rule:
//!
//! ```
//! use mcp_secure::validate::guards;
//!
//! #[derive(serde::Deserialize, validator::Validate)]
//! struct Search {
//!     #[validate(length(max = 200), custom(function = "guards::no_sql_injection"))]
//!     query: String,
//!     #[validate(custom(function = "guards::no_path_traversal"))]
//!     file: String,
//! }
//! ```
//!
//! Each guard fails with a fixed code (`sql_injection`, `shell_metacharacters`,
//! `path_traversal`, `control_characters`, `identifier`) that the client sees as the rule
//! name. They are defence in depth: the SQL guard is a heuristic that refuses the common
//! attack shapes (stacked statements, comments, tautologies, `UNION SELECT`, time-based
//! probes) and will refuse some innocent text that looks like SQL. It never replaces
//! parameterised queries; the shell and path guards never replace passing arguments as an
//! argument vector or resolving paths against an allowed root.

use std::{borrow::Cow, sync::LazyLock};

use regex::Regex;
use validator::ValidationError;

fn fail(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Borrowed(message))
}

static SQL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)",
        r"(;\s*(drop|delete|insert|update|alter|create|truncate|exec|execute|shutdown|grant|revoke|declare|merge|call)\b)",
        r"|(--|/\*|\*/|\#\s*$)",
        r"|(\bunion\b\s+(all\s+|distinct\s+)?\bselect\b)",
        r"|('\s*(or|and)\b\s*('[^']*'|\d+|\w+)\s*(=|<>|!=|like\b|<|>))",
        r"|(\b(or|and)\b\s+(\d+|'[^']*')\s*=\s*(\d+|'[^']*'))",
        r"|(\b(drop|truncate|alter)\s+(table|database|schema|view|index|user)\b)",
        r"|(\bdelete\s+from\b|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bselect\b[^;]{0,200}\bfrom\b\s+\w)",
        r"|(\b(exec|execute)\s*\(|\bxp_\w+|\bsp_executesql\b)",
        r"|(\b(sleep|benchmark|pg_sleep|dbms_pipe\.receive_message)\s*\(|\bwaitfor\s+delay\b)",
        r"|(\binformation_schema\b|\bsqlite_master\b|\bpg_catalog\b)",
        r"|(\b(char|chr|concat)\s*\(\s*\d)",
        r"|(0x[0-9a-f]{8,})",
    ))
    .ok()
});

/// Refuses text with the shapes of SQL injection. See the module docs for its limits.
pub fn no_sql_injection<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    let value = value.as_ref();
    let suspicious = value.contains('\0')
        || match SQL.as_ref() {
            Some(re) => re.is_match(value),
            // The pattern is a constant and compiles; fail closed if it ever did not.
            None => true,
        };
    if suspicious {
        Err(fail(
            "sql_injection",
            "value looks like an SQL injection attempt",
        ))
    } else {
        Ok(())
    }
}

/// Refuses shell metacharacters: `; | & $ \` < > \ ! ( ) { }`, quotes, newlines and NUL.
pub fn no_shell_metacharacters<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    let bad = value.as_ref().chars().any(|c| {
        matches!(
            c,
            ';' | '|'
                | '&'
                | '$'
                | '`'
                | '<'
                | '>'
                | '\\'
                | '!'
                | '('
                | ')'
                | '{'
                | '}'
                | '\''
                | '"'
                | '*'
                | '?'
                | '~'
                | '\n'
                | '\r'
                | '\0'
        )
    });
    if bad {
        Err(fail(
            "shell_metacharacters",
            "value contains shell metacharacters",
        ))
    } else {
        Ok(())
    }
}

/// Refuses paths that could leave a base directory: `..` segments, absolute paths, drive
/// letters, backslashes, `~`, NUL, percent-encoded dots or slashes, and Unicode look-alikes
/// of `.` and `/`.
pub fn no_path_traversal<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    let v = value.as_ref();
    let lower = v.to_ascii_lowercase();
    let bytes = v.as_bytes();
    let bad = v.is_empty()
        || v.starts_with('/')
        || v.starts_with('~')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
        || v.contains(['\\', '\0'])
        || v.split('/').any(|segment| segment == "..")
        || ["%2e", "%2f", "%5c", "%00", "%c0", "%c1", "%e0", "%25"]
            .iter()
            .any(|enc| lower.contains(enc))
        || v.chars().any(|c| {
            matches!(
                c,
                '\u{2215}'
                    | '\u{2044}'
                    | '\u{29F8}'
                    | '\u{FF0F}'
                    | '\u{FF0E}'
                    | '\u{FE52}'
                    | '\u{2024}'
                    | '\u{FF3C}'
                    | '\u{2216}'
            ) || c.is_control()
        });
    if bad {
        Err(fail("path_traversal", "value is not a safe relative path"))
    } else {
        Ok(())
    }
}

/// Refuses control characters (tab, line feed and carriage return excepted), bidirectional
/// overrides ("Trojan Source") and zero-width characters.
pub fn no_control_characters<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    let bad = value.as_ref().chars().any(|c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
    });
    if bad {
        Err(fail(
            "control_characters",
            "value contains control or invisible formatting characters",
        ))
    } else {
        Ok(())
    }
}

/// Accepts only identifiers: 1–128 of `A-Z a-z 0-9 _ - . :`, not starting with `.` or `-`.
pub fn identifier<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    let v = value.as_ref();
    let ok = !v.is_empty()
        && v.len() <= 128
        && !v.starts_with(['.', '-'])
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(fail(
            "identifier",
            "value must be 1-128 characters of A-Z, a-z, 0-9, _, -, . and :",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_attack_shapes_are_refused() {
        for attack in [
            "1; DROP TABLE users",
            "x'; delete from accounts where 't'='t",
            "' OR '1'='1",
            "' or 1=1 --",
            "admin'--",
            "1 UNION SELECT password FROM users",
            "1 union all select null,null",
            "1 AND 1=1",
            "'; EXEC xp_cmdshell('dir')",
            "1; WAITFOR DELAY '0:0:5'",
            "1 AND SLEEP(5)",
            "x' AND pg_sleep(5)",
            "SELECT * FROM information_schema.tables",
            "un/**/ion sel/**/ect",
            "char(65)",
            "0x41424344454647",
            "a\0b",
        ] {
            assert!(no_sql_injection(attack).is_err(), "{attack}");
        }
    }

    #[test]
    fn ordinary_text_passes_sql_guard() {
        for text in [
            "hello world",
            "Order #1234 shipped",
            "O'Brien",
            "it's fine, or is it?",
            "Select an option below",
            "update me when the drop ships",
            "user@example.com",
            "a-b_c:d",
        ] {
            assert!(no_sql_injection(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn guard_errors_have_fixed_codes_and_no_value() {
        let e = no_sql_injection("CANARY'; DROP TABLE t").unwrap_err();
        assert_eq!(e.code, "sql_injection");
        assert!(!format!("{e:?}").contains("CANARY"));
    }

    #[test]
    fn shell() {
        assert!(no_shell_metacharacters("report-2024.txt").is_ok());
        for bad in ["a; rm -rf /", "$(id)", "`id`", "a | b", "a\nb", "a && b"] {
            assert!(no_shell_metacharacters(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert!(no_path_traversal("docs/report.txt").is_ok());
        assert!(no_path_traversal("a..b/c").is_ok());
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "C:\\Windows",
            "c:/x",
            "~/.ssh",
            "..%2fetc",
            "%2e%2e/x",
            "a\\..\\b",
            "a\0b",
            "\u{ff0e}\u{ff0e}/x",
            "..\u{2215}x",
            "..",
            "",
        ] {
            assert!(no_path_traversal(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn control() {
        assert!(no_control_characters("line one\nline two\ttab").is_ok());
        for bad in ["a\u{1b}[31m", "a\u{202e}b", "a\u{200b}b", "a\0", "\u{7f}"] {
            assert!(no_control_characters(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn identifiers() {
        assert!(identifier("rec-42").is_ok());
        assert!(identifier("ns:item_1.v2").is_ok());
        for bad in ["", ".hidden", "-x", "a b", "a/b", &"x".repeat(129), "é"] {
            assert!(identifier(bad).is_err(), "{bad:?}");
        }
    }
}
