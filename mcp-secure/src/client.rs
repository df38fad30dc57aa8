//! [`ClientPeer`]: a secured tool's way to ask the client something (sampling, elicitation,
//! roots) and to tell it things (progress, log messages), with every wait bounded.
//!
//! rmcp's `Peer` waits for the client's answer without a limit, and over stateless HTTP the
//! answer can never arrive (the transport refuses the client's reply), so a tool that asks
//! hangs. `ClientPeer` fails at once, with `CLIENT_UNAVAILABLE` and an audit event, when the
//! request cannot be carried: the server runs stateless HTTP, the client did not declare the
//! capability, or the protocol version forbids server-to-client requests. Otherwise it waits
//! at most the server's client timeout ([`Security::client_timeout`](crate::Security)). The
//! whole call stays bounded by the tool timeout either way, raw `Peer` use included.

#![allow(deprecated)] // sampling, roots and logging are deprecated by SEP-2577, not removed

use std::time::{Duration, Instant};

use rmcp::{
    ErrorData, Peer, RoleServer,
    handler::server::{common::FromContextPart, tool::ToolCallContext},
    model::{
        ClientResult, CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult,
        ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
        ListRootsRequest, ListRootsResult, LoggingLevel, LoggingMessageNotificationParam,
        ProgressNotificationParam, ProgressToken, ServerRequest,
    },
    service::{PeerRequestOptions, ServiceError},
};
use serde::de::DeserializeOwned;

use crate::{Principal, SecureServer, ToolError, config::Sessions, error::ErrorCode};

/// The client of the current call, as a secured tool may ask it. Take it as a tool argument:
///
/// ```ignore
/// #[secure_tool(scopes = "data:write")]
/// async fn purge(&self, client: ClientPeer) -> Result<String, ToolError> {
///     match client.elicit::<Confirm>("Delete every record?").await? {
///         Elicited::Accepted(c) if c.yes => Ok("purged".into()),
///         _ => Ok("kept".into()),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct ClientPeer {
    peer: Peer<RoleServer>,
    /// Why requests cannot reach the client, when known before asking.
    unreachable: Option<&'static str>,
    timeout: Duration,
    tool: String,
    principal: Option<Principal>,
    progress_token: Option<ProgressToken>,
}

impl std::fmt::Debug for ClientPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientPeer")
            .field("tool", &self.tool)
            .field("reachable", &self.unreachable.is_none())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The user's answer to an elicitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elicited<T> {
    /// The user filled in the form.
    Accepted(T),
    /// The user declined.
    Declined,
    /// The user dismissed the request.
    Cancelled,
}

/// What a client request is, in audit events.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Sampling,
    Elicitation,
    Roots,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sampling => "sampling",
            Self::Elicitation => "elicitation",
            Self::Roots => "roots",
        }
    }
}

impl ClientPeer {
    /// rmcp's peer, unbounded (notifications, or requests this type does not wrap; the tool
    /// timeout still bounds the call).
    pub fn peer(&self) -> &Peer<RoleServer> {
        &self.peer
    }

    /// Whether this transport can carry a request to the client at all (not over stateless
    /// HTTP).
    pub fn can_ask(&self) -> bool {
        self.unreachable.is_none()
    }

    /// Asks the client's model for a completion (`sampling/createMessage`).
    pub async fn sample(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, ToolError> {
        let declared = self.declared(|c| c.sampling.is_some());
        self.precheck(Kind::Sampling, declared)?;
        params
            .validate()
            .map_err(|_| ToolError::invalid_input("the sampling request is malformed"))?;
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.ask(Kind::Sampling, request).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(self.failed(Kind::Sampling, "unexpected_answer")),
        }
    }

    /// Asks the user to fill in a form shaped like `T` (form elicitation).
    pub async fn elicit<T>(&self, message: impl Into<String>) -> Result<Elicited<T>, ToolError>
    where
        T: rmcp::service::ElicitationSafe + DeserializeOwned,
    {
        let schema = ElicitationSchema::from_type::<T>()
            .map_err(|_| ToolError::internal("the elicitation form type has no usable schema"))?;
        let answer = self
            .elicit_raw(ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: message.into(),
                requested_schema: schema,
            })
            .await?;
        match answer.action {
            ElicitationAction::Accept => {
                let content = answer.content.ok_or_else(|| {
                    ToolError::invalid_input("the client accepted without an answer")
                })?;
                serde_json::from_value(content)
                    .map(Elicited::Accepted)
                    .map_err(|_| {
                        ToolError::invalid_input("the client's answer does not fit the form")
                    })
            }
            ElicitationAction::Decline => Ok(Elicited::Declined),
            // Cancel, and any action a later protocol adds: not an answer.
            _ => Ok(Elicited::Cancelled),
        }
    }

    /// Sends an elicitation request as given (form or URL mode).
    pub async fn elicit_raw(&self, params: ElicitRequestParams) -> Result<ElicitResult, ToolError> {
        let url_mode = matches!(params, ElicitRequestParams::UrlElicitationParams { .. });
        let declared = self.declared(|c| {
            c.elicitation.as_ref().is_some_and(|e| {
                if url_mode {
                    e.url.is_some()
                } else {
                    // An empty elicitation capability means form mode (backwards compatible).
                    e.form.is_some() || e.url.is_none()
                }
            })
        });
        self.precheck(Kind::Elicitation, declared)?;
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.ask(Kind::Elicitation, request).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(self.failed(Kind::Elicitation, "unexpected_answer")),
        }
    }

    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, ToolError> {
        let declared = self.declared(|c| c.roots.is_some());
        self.precheck(Kind::Roots, declared)?;
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.ask(Kind::Roots, request).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(self.failed(Kind::Roots, "unexpected_answer")),
        }
    }

    /// Reports progress, when the client asked for it (a `progressToken` in the call's
    /// `_meta`); returns whether a notification was sent.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) -> bool {
        let Some(token) = self.progress_token.clone() else {
            return false;
        };
        let mut param = ProgressNotificationParam::new(token, progress);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Some(message) = message {
            param = param.with_message(message);
        }
        self.peer.notify_progress(param).await.is_ok()
    }

    /// Sends a log message to the client (`notifications/message`); returns whether it was
    /// sent. The data passes no redactor: do not put secrets in it.
    pub async fn log(&self, level: LoggingLevel, data: serde_json::Value) -> bool {
        self.peer
            .notify_logging_message(LoggingMessageNotificationParam::new(level, data))
            .await
            .is_ok()
    }

    /// Whether the client declared a capability. Unknown (no handshake seen) counts as
    /// declared: the request is sent and bounded.
    fn declared(&self, has: impl Fn(&rmcp::model::ClientCapabilities) -> bool) -> bool {
        self.peer
            .peer_info()
            .is_none_or(|info| has(&info.capabilities))
    }

    /// Fails at once when the request cannot be carried.
    fn precheck(&self, kind: Kind, declared: bool) -> Result<(), ToolError> {
        if let Some(why) = self.unreachable {
            return Err(self.unavailable(kind, "stateless_transport", why));
        }
        if !declared {
            return Err(self.unavailable(
                kind,
                "capability_missing",
                "the client did not declare this capability",
            ));
        }
        Ok(())
    }

    /// Sends `request` and waits for the answer at most the client timeout.
    async fn ask(&self, kind: Kind, request: ServerRequest) -> Result<ClientResult, ToolError> {
        let started = Instant::now();
        let sent = self
            .peer
            .send_request_with_option(request, PeerRequestOptions::with_timeout(self.timeout))
            .await;
        let answer = match sent {
            Ok(handle) => handle.await_response().await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(answer) => {
                crate::audit::client_request(
                    &self.tool,
                    self.principal.as_ref(),
                    kind.as_str(),
                    "answered",
                    started.elapsed(),
                );
                Ok(answer)
            }
            Err(ServiceError::Timeout { .. }) => {
                Err(self.unavailable(kind, "timed_out", "the client did not answer in time"))
            }
            Err(ServiceError::McpError(e)) if is_protocol_refusal(&e) => Err(self.unavailable(
                kind,
                "protocol_forbids",
                "this protocol version does not allow server-to-client requests",
            )),
            Err(ServiceError::McpError(_)) => Err(self.failed(kind, "client_error")),
            Err(_) => Err(self.unavailable(
                kind,
                "transport_closed",
                "the connection to the client is closed",
            )),
        }
    }

    fn unavailable(&self, kind: Kind, outcome: &'static str, why: &'static str) -> ToolError {
        crate::audit::client_request(
            &self.tool,
            self.principal.as_ref(),
            kind.as_str(),
            outcome,
            Duration::ZERO,
        );
        ToolError::with_code(
            ErrorCode::ClientUnavailable,
            format!("Cannot ask the client ({}): {why}", kind.as_str()),
        )
        .with_detail("request", kind.as_str())
        .with_detail("reason", outcome)
    }

    fn failed(&self, kind: Kind, outcome: &'static str) -> ToolError {
        crate::audit::client_request(
            &self.tool,
            self.principal.as_ref(),
            kind.as_str(),
            outcome,
            Duration::ZERO,
        );
        ToolError::with_code(
            ErrorCode::ClientUnavailable,
            format!("The client refused the {} request", kind.as_str()),
        )
        .with_detail("request", kind.as_str())
        .with_detail("reason", outcome)
    }
}

/// rmcp's refusal of a server-to-client request on protocol 2026-07-28 or later.
fn is_protocol_refusal(e: &ErrorData) -> bool {
    e.message.contains("2026-07-28")
}

/// The session mode the HTTP layer recorded for a request (none over stdio).
pub(crate) fn transport_sessions(
    context: &rmcp::service::RequestContext<RoleServer>,
) -> Option<Sessions> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Sessions>())
        .copied()
}

impl<S: SecureServer> FromContextPart<ToolCallContext<'_, S>> for ClientPeer {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let request = &context.request_context;
        let unreachable = match transport_sessions(request) {
            Some(Sessions::Stateless) => Some(
                "the server runs stateless HTTP, where the client's answer cannot reach the \
                 tool (MCP_HTTP_SESSIONS=stateful allows it)",
            ),
            _ => None,
        };
        Ok(Self {
            peer: request.peer.clone(),
            unreachable,
            timeout: context.service.security_runtime().client_timeout(),
            tool: context.name.to_string(),
            principal: crate::pipeline::authenticated_principal(request).cloned(),
            progress_token: request.meta.get_progress_token(),
        })
    }
}
