//! The scope pre-check: a `tools/call` of a tool whose scopes the token lacks is answered
//! with HTTP `403 insufficient_scope` before dispatch, so the client can step up. The
//! pipeline's own check stays as defence in depth.

use std::{borrow::Cow, time::Instant};

use axum::{body::Body, extract::Request, response::Response};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;

use super::{bearer::AuthState, guard::plain};
use crate::{audit, principal::Principal};

/// The parts of a JSON-RPC message the scope pre-check reads.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// The tool a `tools/call` request names: from `Mcp-Method`/`Mcp-Name` when present, else
/// from the JSON-RPC body.
pub(super) fn called_tool(headers: &HeaderMap, body: Option<&[u8]>) -> Option<String> {
    let method = headers.get("mcp-method").and_then(|v| v.to_str().ok());
    let name = headers.get("mcp-name").and_then(|v| v.to_str().ok());
    if let (Some("tools/call"), Some(name)) = (method, name) {
        return Some(name.to_owned());
    }
    let peek: Peek<'_> = serde_json::from_slice(body?).ok()?;
    if peek.method.as_deref() != Some("tools/call") {
        return None;
    }
    peek.params?.name.map(Cow::into_owned)
}

/// Checks the called tool's scopes against `principal`'s; hands the request back (its body
/// re-assembled when it had to be read) or the `403` to answer.
pub(super) async fn check(
    state: &AuthState,
    principal: &Principal,
    request: Request,
) -> Result<Request, Response> {
    let started = Instant::now();
    let (tool, request) = match called_tool(request.headers(), None) {
        Some(tool) => (Some(tool), request),
        None => {
            let (parts, body) = request.into_parts();
            let bytes = match http_body_util::Limited::new(body, state.max_body_bytes)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    return Err(plain(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "invalid_request",
                        "Request body too large",
                    ));
                }
            };
            let tool = called_tool(&parts.headers, Some(&bytes));
            (tool, Request::from_parts(parts, Body::from(bytes)))
        }
    };
    if let Some(tool) = tool
        && let Some(policy) = state.policy.tool(&tool)
        && !policy.permits(principal.scopes())
    {
        let denial = policy.insufficient(principal.scopes());
        audit::decision(&audit::Decision {
            tool: policy.name,
            principal: Some(principal),
            denial: Some(&denial),
            tool_error: false,
            elapsed: started.elapsed(),
            stage: audit::Stage::Http,
        });
        return Err(state.forbidden(&policy.scope_string()));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn tool_from_headers_or_body() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write","arguments":{}}}"#;
        assert_eq!(
            called_tool(&HeaderMap::new(), Some(body)).as_deref(),
            Some("write")
        );
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(called_tool(&HeaderMap::new(), Some(list)), None);
        let mut h = HeaderMap::new();
        h.insert("mcp-method", HeaderValue::from_static("tools/call"));
        h.insert("mcp-name", HeaderValue::from_static("read"));
        assert_eq!(called_tool(&h, None).as_deref(), Some("read"));
        assert_eq!(called_tool(&HeaderMap::new(), Some(b"not json")), None);
    }
}
