//! The scope pre-check: a `tools/call`, `prompts/get` or `resources/read` the token's scopes
//! do not allow is answered with HTTP `403 insufficient_scope` before dispatch, so the
//! client can step up. The pipeline's own check stays as defence in depth.

use std::{borrow::Cow, time::Instant};

use axum::{body::Body, extract::Request, response::Response};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;

use super::{bearer::AuthState, guard::plain};
use crate::{
    audit,
    policy::{ServerPolicy, ToolPolicy},
    principal::Principal,
    scope::ScopeSet,
};

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
pub(super) enum Called<'a> {
    Tool(Cow<'a, str>),
    Prompt(Cow<'a, str>),
    Resource(Cow<'a, str>),
}

/// Why a request's body cannot be trusted to say what it calls.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BodyProblem {
    /// A JSON-RPC batch (MCP has none since 2025-06-18).
    Batch,
    /// The same key twice in the fields that name the call (`method`, `params`, `name`,
    /// `uri`): which one would the server act on?
    DuplicateKey,
    /// `Mcp-Method`/`Mcp-Name` name another call than the body.
    HeaderMismatch,
}

/// What the `Mcp-Method`/`Mcp-Name` headers name, if both are present.
fn called_by_headers(headers: &HeaderMap) -> Option<Called<'_>> {
    let method = headers.get("mcp-method").and_then(|v| v.to_str().ok())?;
    let name = headers.get("mcp-name").and_then(|v| v.to_str().ok())?;
    match method {
        "tools/call" => Some(Called::Tool(name.into())),
        "prompts/get" => Some(Called::Prompt(name.into())),
        "resources/read" => Some(Called::Resource(name.into())),
        _ => None,
    }
}

/// What the JSON-RPC body calls. A body that is not JSON is left to the transport to refuse.
fn called_by_body(body: &[u8]) -> Result<Option<Called<'_>>, BodyProblem> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return Err(BodyProblem::Batch);
    }
    let peek: Peek<'_> = match serde_json::from_slice(body) {
        Ok(peek) => peek,
        // Valid JSON the peek cannot read: a repeated field (serde refuses duplicates).
        Err(_) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() => {
            return Err(BodyProblem::DuplicateKey);
        }
        Err(_) => return Ok(None),
    };
    let (Some(method), Some(params)) = (peek.method, peek.params) else {
        return Ok(None);
    };
    Ok(match method.as_ref() {
        "tools/call" => params.name.map(Called::Tool),
        "prompts/get" => params.name.map(Called::Prompt),
        "resources/read" => params.uri.map(Called::Resource),
        _ => None,
    })
}

/// What a `tools/call`, `prompts/get` or `resources/read` calls: from the body, which the
/// `Mcp-Method`/`Mcp-Name` headers, when present, must agree with.
pub(super) fn called<'a>(
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> Result<Option<Called<'a>>, BodyProblem> {
    let by_body = called_by_body(body)?;
    match called_by_headers(headers) {
        Some(by_headers) if by_body.as_ref() != Some(&by_headers) => {
            Err(BodyProblem::HeaderMismatch)
        }
        _ => Ok(by_body),
    }
}

/// The distinct scope requirements of the calls a policy covers (its tools, prompts and
/// resources), to tell cheaply whether a caller could be refused any of them.
pub(super) struct Requirements(Box<[&'static ToolPolicy]>);

impl Requirements {
    pub(super) fn of(policy: &'static ServerPolicy) -> Self {
        let mut distinct: Vec<&'static ToolPolicy> = Vec::new();
        let covered = policy
            .tools
            .iter()
            .chain(policy.prompts)
            .chain(policy.resources.iter().map(|r| &r.access));
        for p in covered {
            let same = |q: &&ToolPolicy| {
                q.satisfiers == p.satisfiers && q.any_satisfiers == p.any_satisfiers
            };
            if !distinct.iter().any(same) {
                distinct.push(p);
            }
        }
        Self(distinct.into_boxed_slice())
    }

    /// Whether `held` allows every covered call.
    fn all_met(&self, held: &ScopeSet) -> bool {
        self.0.iter().all(|p| p.permits(held))
    }
}

/// Whether a `POST` must be pre-checked: when it names its call in `Mcp-Method`/`Mcp-Name`
/// (which the body must agree with), or when the caller's scopes leave some covered call
/// out. Otherwise no call it could make is refused for its scopes, and the body is left
/// unread for rmcp, which parses it once (with its own size limit; it has no batches).
pub(super) fn needed(state: &AuthState, principal: &Principal, headers: &HeaderMap) -> bool {
    headers.contains_key("mcp-method")
        || headers.contains_key("mcp-name")
        || !state.requirements.all_met(principal.scopes())
}

/// Checks the called tool's scopes against `principal`'s; hands the request back (its body
/// re-assembled when it had to be read) or the `403` to answer.
pub(super) async fn check(
    state: &AuthState,
    principal: &Principal,
    request: Request,
) -> Result<Request, Response> {
    let started = Instant::now();
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
    let tool = match called(&parts.headers, &bytes) {
        Ok(tool) => tool,
        Err(problem) => {
            tracing::warn!(
                target: audit::TARGET,
                event = "http_rejected",
                reason = match problem {
                    BodyProblem::Batch => "jsonrpc_batch",
                    BodyProblem::DuplicateKey => "duplicate_key",
                    BodyProblem::HeaderMismatch => "mcp_header_mismatch",
                },
                subject = %audit::Sanitized(principal.subject()),
                "request refused"
            );
            return Err(plain(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                match problem {
                    BodyProblem::Batch => "JSON-RPC batches are not supported",
                    BodyProblem::DuplicateKey => {
                        "A field that names the call is repeated or malformed"
                    }
                    BodyProblem::HeaderMismatch => {
                        "Mcp-Method/Mcp-Name do not match the request body"
                    }
                },
            ));
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
    let request = Request::from_parts(parts, Body::from(bytes));
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
    fn what_a_request_calls_from_the_body_which_headers_must_match() {
        let none = HeaderMap::new();
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write","arguments":{}}}"#;
        assert_eq!(called(&none, body), Ok(Some(Called::Tool("write".into()))));
        let prompt = br#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#;
        assert_eq!(called(&none, prompt), Ok(Some(Called::Prompt("p".into()))));
        let read =
            br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a://b"}}"#;
        assert_eq!(
            called(&none, read),
            Ok(Some(Called::Resource("a://b".into())))
        );
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(called(&none, list), Ok(None));
        assert_eq!(called(&none, b"not json"), Ok(None));
        let mut h = HeaderMap::new();
        h.insert("mcp-method", HeaderValue::from_static("tools/call"));
        h.insert("mcp-name", HeaderValue::from_static("write"));
        assert_eq!(called(&h, body), Ok(Some(Called::Tool("write".into()))));
        h.insert("mcp-name", HeaderValue::from_static("read"));
        assert_eq!(called(&h, body), Err(BodyProblem::HeaderMismatch));
        let batch =
            br#" [{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write"}}]"#;
        assert_eq!(called(&none, batch), Err(BodyProblem::Batch));
        let twice = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","name":"write"}}"#;
        assert_eq!(called(&none, twice), Err(BodyProblem::DuplicateKey));
    }

    fn policy(
        name: &'static str,
        satisfiers: &'static [&'static [&'static str]],
        any_satisfiers: &'static [&'static str],
    ) -> ToolPolicy {
        ToolPolicy {
            name,
            scopes: &[],
            satisfiers,
            any_of: any_satisfiers,
            any_satisfiers,
            public: false,
            rate: None,
            max_input_bytes: None,
        }
    }

    #[test]
    fn requirements_are_met_only_when_every_covered_call_is_allowed() {
        static TOOLS: std::sync::LazyLock<Vec<ToolPolicy>> = std::sync::LazyLock::new(|| {
            vec![
                policy("read", &[&["data:read", "data:write"]], &[]),
                policy("read2", &[&["data:read", "data:write"]], &[]),
                policy("write", &[&["data:write"]], &[]),
                policy("open", &[], &[]),
            ]
        });
        static PROMPTS: std::sync::LazyLock<Vec<ToolPolicy>> =
            std::sync::LazyLock::new(|| vec![policy("report", &[], &["billing:read"])]);
        static POLICY: std::sync::LazyLock<ServerPolicy> =
            std::sync::LazyLock::new(|| ServerPolicy {
                name: "s",
                version: "1",
                instructions: None,
                catalogue: &[],
                hierarchy: &[],
                tools: TOOLS.as_slice(),
                prompts: PROMPTS.as_slice(),
                resources: &[],
            });
        let policy: &'static ServerPolicy = &POLICY;
        let requirements = Requirements::of(policy);
        // `read` and `read2` ask the same: one entry.
        assert_eq!(requirements.0.len(), 4);
        let held = |s| ScopeSet::parse(s).unwrap();
        assert!(requirements.all_met(&held("data:write billing:read")));
        // Each missing piece leaves a call that could be refused.
        assert!(!requirements.all_met(&held("data:write")));
        assert!(!requirements.all_met(&held("data:read billing:read")));
        assert!(!requirements.all_met(&held("")));
    }
}
