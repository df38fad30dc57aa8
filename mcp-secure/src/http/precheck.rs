//! The scope pre-check: a `tools/call`, `prompts/get` or `resources/read` the token's scopes
//! do not allow is answered with HTTP `403 insufficient_scope` before dispatch, so the
//! client can step up. The pipeline's own check stays as defence in depth.

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
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
}

/// What a request asks for that a policy covers.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Called {
    Tool(String),
    Prompt(String),
    Resource(String),
}

/// What a `tools/call`, `prompts/get` or `resources/read` names: a tool from
/// `Mcp-Method`/`Mcp-Name` when present, else from the JSON-RPC body.
pub(super) fn called(headers: &HeaderMap, body: Option<&[u8]>) -> Option<Called> {
    let method = headers.get("mcp-method").and_then(|v| v.to_str().ok());
    let name = headers.get("mcp-name").and_then(|v| v.to_str().ok());
    if let (Some("tools/call"), Some(name)) = (method, name) {
        return Some(Called::Tool(name.to_owned()));
    }
    let peek: Peek<'_> = serde_json::from_slice(body?).ok()?;
    let params = peek.params?;
    match peek.method.as_deref()? {
        "tools/call" => params.name.map(|n| Called::Tool(n.into_owned())),
        "prompts/get" => params.name.map(|n| Called::Prompt(n.into_owned())),
        "resources/read" => params.uri.map(|u| Called::Resource(u.into_owned())),
        _ => None,
    }
}

/// Checks the called tool's scopes against `principal`'s; hands the request back (its body
/// re-assembled when it had to be read) or the `403` to answer.
pub(super) async fn check(
    state: &AuthState,
    principal: &Principal,
    request: Request,
) -> Result<Request, Response> {
    let started = Instant::now();
    let (tool, request) = match called(request.headers(), None) {
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
            let tool = called(&parts.headers, Some(&bytes));
            (tool, Request::from_parts(parts, Body::from(bytes)))
        }
    };
    let covered = tool.and_then(|called| match called {
        Called::Tool(name) => state
            .policy
            .tool(&name)
            .map(|p| (audit::Event::ToolCall, p)),
        Called::Prompt(name) => state
            .policy
            .prompt(&name)
            .map(|p| (audit::Event::PromptGet, p)),
        Called::Resource(uri) => state
            .policy
            .resource(&uri)
            .map(|r| (audit::Event::ResourceRead, &r.access)),
    });
    if let Some((event, policy)) = covered
        && !policy.permits(principal.scopes())
    {
        let denial = policy.insufficient(principal.scopes());
        audit::decision(&audit::Decision {
            event,
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
    fn what_a_request_calls_from_headers_or_body() {
        let none = HeaderMap::new();
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write","arguments":{}}}"#;
        assert_eq!(
            called(&none, Some(body)),
            Some(Called::Tool("write".into()))
        );
        let prompt = br#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#;
        assert_eq!(
            called(&none, Some(prompt)),
            Some(Called::Prompt("p".into()))
        );
        let read =
            br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a://b"}}"#;
        assert_eq!(
            called(&none, Some(read)),
            Some(Called::Resource("a://b".into()))
        );
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(called(&none, Some(list)), None);
        let mut h = HeaderMap::new();
        h.insert("mcp-method", HeaderValue::from_static("tools/call"));
        h.insert("mcp-name", HeaderValue::from_static("read"));
        assert_eq!(called(&h, None), Some(Called::Tool("read".into())));
        assert_eq!(called(&none, Some(b"not json")), None);
    }
}
