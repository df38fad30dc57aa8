//! Shared pieces of the development server's endpoints: form parsing, OAuth error bodies,
//! HTML pages with their security headers, and redirects back to clients.

use std::collections::HashMap;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::json;
use url::Url;

use super::Shared;

/// Parses `application/x-www-form-urlencoded` (or a query string), refusing a parameter given
/// twice (RFC 6749 §3.1) and oversized input.
pub(super) fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    if raw.len() > 16 * 1024 {
        return Err("request too large");
    }
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("a parameter is given more than once");
        }
    }
    Ok(out)
}

pub(super) fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: &'static str,
) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(super) fn error_page(status: StatusCode, message: &'static str) -> Response {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Authorization error</title>\
         <h1>Authorization error</h1><p>{message}</p>"
    );
    (status, security_headers(None), Html(html)).into_response()
}

/// The headers of every page: nothing loads but inline style, the page cannot be framed, it is
/// not cached. Its form may post to this server and, when `redirect_uri` is given, lead on to
/// that client's callback: browsers apply `form-action` to the redirect that answers a form
/// post too, so with `'self'` alone the consent page's answer would never reach the client.
pub(super) fn security_headers(
    redirect_uri: Option<&str>,
) -> [(header::HeaderName, HeaderValue); 3] {
    let target = redirect_uri.and_then(form_action_source);
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'{}; frame-ancestors 'none'",
        target.map(|t| format!(" {t}")).unwrap_or_default()
    );
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                )
            }),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// The CSP source that allows navigating to `uri`: its origin for `http`/`https`
/// (`http://127.0.0.1:33418`), its scheme for an app's own scheme (`cursor:`). Built from the
/// parsed URL, so nothing from the registration reaches the header but an origin or a scheme.
fn form_action_source(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()).filter(|o| o != "null"),
        scheme => Some(format!("{scheme}:")),
    }
}

/// Appends `params` to a redirect URI's query.
pub(super) fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(uri) else {
        return error_page(StatusCode::BAD_REQUEST, "The redirect URI is invalid.");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    (
        StatusCode::FOUND,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(url.as_str()).unwrap_or(HeaderValue::from_static("/")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The error redirect of the authorization endpoint (with `state` and `iss`).
pub(super) fn redirect_error(
    s: &Shared,
    uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("iss", s.issuer.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_to(uri, &params)
}

pub(super) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{name}}` placeholders of `template` in one pass (a value is never re-scanned, so
/// a value holding `{{…}}` stays as it is); an unknown placeholder becomes empty.
pub(super) fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = &after[..end];
        if let Some((_, value)) = values.iter().find(|(k, _)| *k == key) {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_parameters_are_refused() {
        assert!(parse_params(b"a=1&b=2").is_ok());
        assert!(parse_params(b"a=1&a=2").is_err());
    }

    #[test]
    fn the_form_may_lead_to_the_clients_callback_and_nowhere_else() {
        let csp = |uri| {
            security_headers(uri)[0]
                .1
                .to_str()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        assert!(
            csp(Some("http://127.0.0.1:33418/callback?x=1"))
                .contains("form-action 'self' http://127.0.0.1:33418;")
        );
        assert!(
            csp(Some("cursor://anysphere.cursor-mcp/oauth"))
                .contains("form-action 'self' cursor:;")
        );
        assert!(csp(None).contains("form-action 'self';"));
        // A URI that does not parse adds nothing.
        assert!(csp(Some("not a uri; script-src *")).contains("form-action 'self';"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<script>\"'&"),
            "&lt;script&gt;&quot;&#39;&amp;"
        );
    }

    #[test]
    fn templates_fill_in_one_pass() {
        assert_eq!(
            render("<a>{{x}}</a>{{y}}{{none}}", &[("x", "{{y}}"), ("y", "2")]),
            "<a>{{y}}</a>2"
        );
    }
}
