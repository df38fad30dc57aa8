//! URI templates for resources (RFC 6570 level 1: `{name}` expansions), shared by the
//! macros (which check a template at compile time) and the runtime (which matches URIs).

use std::collections::BTreeMap;

/// One part of a URI template.
#[derive(Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// Text matched as written.
    Literal(&'a str),
    /// `{name}`.
    Variable(&'a str),
}

/// A URI template's parts (RFC 6570 level 1: `{name}` expansions), or `None` when it is
/// malformed (unbalanced braces, an empty or odd variable name, two variables in a row).
pub fn parts(template: &str) -> Option<Vec<Part<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest.find('}')?;
                let name = &rest[1..end];
                let valid = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !valid || matches!(out.last(), Some(Part::Variable(_))) {
                    return None;
                }
                out.push(Part::Variable(name));
                rest = &rest[end + 1..];
            }
            Some(i) => {
                if rest[..i].contains('}') {
                    return None;
                }
                out.push(Part::Literal(&rest[..i]));
                rest = &rest[i..];
            }
            None => {
                if rest.contains('}') {
                    return None;
                }
                out.push(Part::Literal(rest));
                rest = "";
            }
        }
    }
    Some(out)
}

/// Whether `template` is a URI template this crate can match.
pub fn is_valid_template(template: &str) -> bool {
    parts(template).is_some_and(|p| p.iter().any(|p| matches!(p, Part::Variable(_))))
}

/// Matches `uri` against `template`. A variable matches one or more characters other than
/// `/`, `?`, `#` and control characters, so a value can never reach into another path
/// segment; `.` and `..` alone are refused too.
pub fn match_template(template: &str, uri: &str) -> Option<BTreeMap<String, String>> {
    let parts = parts(template)?;
    let mut vars = BTreeMap::new();
    let mut rest = uri;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(lit) => rest = rest.strip_prefix(lit)?,
            Part::Variable(name) => {
                let allowed = |c: char| !matches!(c, '/' | '?' | '#') && !c.is_control();
                let end = match parts.get(i + 1) {
                    Some(Part::Literal(next)) => {
                        let end = rest.find(next)?;
                        rest[..end].chars().all(allowed).then_some(end)?
                    }
                    _ => rest.find(|c: char| !allowed(c)).unwrap_or(rest.len()),
                };
                let value = &rest[..end];
                if value.is_empty() || value == "." || value == ".." {
                    return None;
                }
                vars.insert((*name).to_owned(), value.to_owned());
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_variable() {
        let vars = match_template("test://template/{id}/data", "test://template/123/data").unwrap();
        assert_eq!(vars.get("id").map(String::as_str), Some("123"));
        let two = match_template("db://{table}/{row}", "db://users/42").unwrap();
        assert_eq!(
            (two["table"].as_str(), two["row"].as_str()),
            ("users", "42")
        );
        for refused in [
            "test://template/1/2/data",
            "test://template//data",
            "test://template/../data",
            "test://template/./data",
            "test://template/1/data/more",
            "test://template/a\u{0}b/data",
            "test://other/1/data",
        ] {
            assert!(
                match_template("test://template/{id}/data", refused).is_none(),
                "{refused}"
            );
        }
        assert!(match_template("db://{table}/{row}", "db://users/42?x").is_none());
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in ["a{", "a}", "a{}", "a{b}{c}", "a{b-c}", "plain"] {
            assert!(!is_valid_template(bad), "{bad}");
        }
        assert!(is_valid_template("test://template/{id}/data"));
    }
}
