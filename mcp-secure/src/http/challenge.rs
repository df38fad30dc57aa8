//! `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9728 §5.1, MCP authorization).
//!
//! Parameter values are RFC 9110 quoted strings: `"` and `\` are escaped, and control
//! characters (which no quoted string may hold) are replaced, so no value can end the header
//! or inject another parameter.

use http::HeaderValue;

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// `resource_metadata`: the absolute URL of the protected resource metadata.
    pub resource_metadata: &'a str,
    /// `error`: `invalid_token`, `insufficient_scope` or `invalid_request`.
    pub error: Option<&'static str>,
    /// `error_description`.
    pub description: Option<&'a str>,
    /// `scope`: the scopes needed (space separated).
    pub scope: Option<&'a str>,
}

/// A `WWW-Authenticate: DPoP …` challenge (RFC 9449 section 7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopChallenge<'a> {
    /// `resource_metadata` (RFC 9728 section 5.1).
    pub resource_metadata: &'a str,
    /// `error`: `invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`.
    pub error: Option<&'static str>,
    /// `error_description`.
    pub description: Option<&'static str>,
    /// `algs`: the accepted proof algorithms, space separated.
    pub algs: &'a str,
}

impl DpopChallenge<'_> {
    /// The header value, e.g. `DPoP resource_metadata="…", error="invalid_dpop_proof",
    /// algs="ES256 RS256"`.
    pub fn header_value(&self) -> HeaderValue {
        let mut out = String::from("DPoP ");
        push_common(
            &mut out,
            self.resource_metadata,
            self.error,
            self.description,
        );
        out.push_str(", algs=");
        push_quoted(&mut out, self.algs);
        HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
    }
}

/// Appends `value` as an RFC 9110 quoted string.
fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // Quoted strings allow HTAB, SP, VCHAR and obs-text; header values must be
            // visible ASCII here, so everything else becomes `?`.
            '\t' | ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

/// `resource_metadata`, then `error` and `error_description` when given.
fn push_common(
    out: &mut String,
    resource_metadata: &str,
    error: Option<&str>,
    description: Option<&str>,
) {
    out.push_str("resource_metadata=");
    push_quoted(out, resource_metadata);
    if let Some(error) = error {
        out.push_str(", error=");
        push_quoted(out, error);
    }
    if let Some(description) = description {
        out.push_str(", error_description=");
        push_quoted(out, description);
    }
}

impl Challenge<'_> {
    /// The header value, e.g.
    /// `Bearer resource_metadata="https://…", error="insufficient_scope", scope="data:write"`.
    pub fn to_header_string(&self) -> String {
        let mut out = String::from("Bearer ");
        push_common(
            &mut out,
            self.resource_metadata,
            self.error,
            self.description,
        );
        if let Some(scope) = self.scope {
            out.push_str(", scope=");
            push_quoted(&mut out, scope);
        }
        out
    }

    /// As a header value (always valid: the builder emits visible ASCII only).
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.to_header_string())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let c = Challenge {
            resource_metadata: "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp",
            error: Some("insufficient_scope"),
            description: None,
            scope: Some("data:write admin:full"),
        };
        assert_eq!(
            c.to_header_string(),
            "Bearer resource_metadata=\"http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp\", \
             error=\"insufficient_scope\", scope=\"data:write admin:full\""
        );
    }

    #[test]
    fn hostile_values_cannot_break_out() {
        let c = Challenge {
            resource_metadata: "x\", error=\"forged\r\nSet-Cookie: a=b\\",
            error: None,
            description: Some("é\u{0}"),
            scope: None,
        };
        let s = c.to_header_string();
        assert!(!s.contains('\r') && !s.contains('\n') && !s.contains('\0'));
        assert!(s.contains("x\\\", error=\\\"forged??Set-Cookie: a=b\\\\\""));
        assert!(HeaderValue::from_str(&s).is_ok());
    }
}
