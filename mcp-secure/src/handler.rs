//! The bodies of the rmcp `ServerHandler` methods `#[secure_server]` generates. Call them from
//! your own `impl ServerHandler` when you write one (`#[secure_server(handler = false)]`).

use std::time::Instant;

use rmcp::{
    ErrorData, RoleServer,
    handler::server::{prompt::PromptContext, tool::ToolCallContext},
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
        ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
        Reference, ServerCapabilities, ServerConfig, SubscribeRequestParams, Tool,
        UnsubscribeRequestParams,
    },
    service::RequestContext,
};

use crate::{
    Principal, SecureServer,
    audit::{self, Event},
    error::Denial,
    output::Outcome,
    pipeline::{Ran, admit_request, authenticated_principal},
    security::ToolVisibility,
};

/// `initialize`'s server description: the capabilities the server implements (tools; prompts,
/// resources with subscriptions and completions when it declares any), name, version,
/// instructions.
pub fn server_info<S: SecureServer>() -> ServerConfig {
    let policy = S::server_policy();
    #[allow(deprecated)] // logging is deprecated by SEP-2577, still served
    let mut capabilities = ServerCapabilities::builder()
        .enable_tools()
        .enable_logging()
        .build();
    if !policy.prompts.is_empty() || !policy.resources.is_empty() {
        capabilities.completions = Some(Default::default());
    }
    if !policy.prompts.is_empty() {
        capabilities.prompts = Some(Default::default());
    }
    if !policy.resources.is_empty() {
        let mut resources = rmcp::model::ResourcesCapability::default();
        resources.subscribe = Some(true);
        capabilities.resources = Some(resources);
    }
    let config = ServerConfig::new(capabilities)
        .with_server_info(Implementation::new(policy.name, policy.version));
    match policy.instructions {
        Some(instructions) => config.with_instructions(instructions),
        None => config,
    }
}

/// `tools/call`: dispatches to the tool's route, which runs the pipeline.
pub async fn call_tool<S: SecureServer>(
    server: &S,
    request: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, ErrorData> {
    match S::secure_tool_router() {
        Ok(router) => {
            router
                .call(ToolCallContext::new(server, request, context))
                .await
        }
        Err(error) => {
            tracing::error!(target: audit::TARGET, %error, "tool router unavailable");
            Ok(Denial::Internal.to_tool_error().into_result().into())
        }
    }
}

/// `tools/list`: the tools the caller may call (or all, per [`ToolVisibility`]), each with
/// its required scopes in `_meta`.
pub async fn list_tools<S: SecureServer>(
    server: &S,
    _request: Option<PaginatedRequestParams>,
    context: RequestContext<RoleServer>,
) -> Result<ListToolsResult, ErrorData> {
    let router = S::secure_tool_router().map_err(|error| {
        tracing::error!(target: audit::TARGET, %error, "tool router unavailable");
        ErrorData::internal_error("tool router unavailable", None)
    })?;
    let policy = S::server_policy();
    let mut tools = router.list_all();
    let filtered = server.security_runtime().tool_visibility() == ToolVisibility::Permitted;
    if filtered {
        let principal = authenticated_principal(&context);
        tools.retain(|tool| {
            match (principal, policy.tool(&tool.name)) {
                (Some(p), Some(tp)) => tp.permits(p.scopes()),
                // Tools added to the router by hand are not ours to hide.
                (Some(_), None) => true,
                (None, _) => false,
            }
        });
    }
    let supports_cache_hints = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    let mut result = ListToolsResult::with_all_items(tools);
    if supports_cache_hints {
        result = result.with_ttl_ms(0).with_cache_scope(if filtered {
            CacheScope::Private
        } else {
            CacheScope::Public
        });
    }
    Ok(result)
}

/// One tool's listing entry.
pub fn get_tool<S: SecureServer>(name: &str) -> Option<Tool> {
    S::secure_tool_router().ok()?.get(name).cloned()
}

/// The principal a list request may see with, or none (an unauthenticated list is empty).
fn lister(context: &RequestContext<RoleServer>) -> Option<&Principal> {
    authenticated_principal(context)
}

/// `prompts/list`: the prompts the caller may get.
pub async fn list_prompts<S: SecureServer>(
    _server: &S,
    _request: Option<PaginatedRequestParams>,
    context: RequestContext<RoleServer>,
) -> Result<ListPromptsResult, ErrorData> {
    let principal = lister(&context);
    let prompts = S::secure_prompt_router()
        .map(|router| {
            router
                .routes
                .iter()
                .filter(|r| principal.is_some_and(|p| r.policy.permits(p.scopes())))
                .map(|r| (*r.listing).clone())
                .collect()
        })
        .unwrap_or_default();
    Ok(ListPromptsResult::with_all_items(prompts))
}

/// `prompts/get`: the pipeline around the prompt's method.
pub async fn get_prompt<S: SecureServer>(
    server: &S,
    request: GetPromptRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<GetPromptResponse, ErrorData> {
    let started = Instant::now();
    let route = S::secure_prompt_router().and_then(|router| router.route(&request.name));
    let Some(route) = route else {
        return Err(ErrorData::invalid_params("unknown prompt", None));
    };
    let security = server.security_runtime();
    let arguments = request.arguments.clone();
    let principal =
        match admit_request::<S>(&context, route.policy, security, arguments.as_ref()).await {
            Ok(p) => p,
            Err((p, denial)) => {
                return Err(refused(
                    Event::PromptGet,
                    route.policy.name,
                    p.as_ref(),
                    &denial,
                    started,
                ));
            }
        };
    let mut context = context;
    context.extensions.insert(principal.clone());
    let cx = PromptContext::new(server, request.name.clone(), arguments, context);
    let outcome = bounded(
        security,
        route.policy.name,
        started,
        (route.invoke)(server, cx),
    )
    .await;
    let result = finish(
        Event::PromptGet,
        route.policy.name,
        &principal,
        security,
        started,
        outcome,
    )?;
    Ok(GetPromptResponse::Complete(result))
}

/// `resources/list`: the resources the caller may read.
pub async fn list_resources<S: SecureServer>(
    _server: &S,
    _request: Option<PaginatedRequestParams>,
    context: RequestContext<RoleServer>,
) -> Result<ListResourcesResult, ErrorData> {
    let principal = lister(&context);
    let resources = S::secure_resource_router()
        .map(|router| {
            router
                .listed(false)
                .filter(|r| principal.is_some_and(|p| r.policy.access.permits(p.scopes())))
                .map(|r| r.resource())
                .collect()
        })
        .unwrap_or_default();
    Ok(ListResourcesResult::with_all_items(resources))
}

/// `resources/templates/list`: the templates the caller may read through.
pub async fn list_resource_templates<S: SecureServer>(
    _server: &S,
    _request: Option<PaginatedRequestParams>,
    context: RequestContext<RoleServer>,
) -> Result<ListResourceTemplatesResult, ErrorData> {
    let principal = lister(&context);
    let templates = S::secure_resource_router()
        .map(|router| {
            router
                .listed(true)
                .filter(|r| principal.is_some_and(|p| r.policy.access.permits(p.scopes())))
                .map(|r| r.template())
                .collect()
        })
        .unwrap_or_default();
    Ok(ListResourceTemplatesResult::with_all_items(templates))
}

/// `resources/read`: the pipeline around the resource's method.
pub async fn read_resource<S: SecureServer>(
    server: &S,
    request: ReadResourceRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<ReadResourceResponse, ErrorData> {
    let started = Instant::now();
    let Some((route, variables)) =
        S::secure_resource_router().and_then(|router| router.route(&request.uri))
    else {
        return Err(ErrorData::resource_not_found("no such resource", None));
    };
    let security = server.security_runtime();
    let access = &route.policy.access;
    let principal = match admit_request::<S>(&context, access, security, None).await {
        Ok(p) => p,
        Err((p, denial)) => {
            return Err(refused(
                Event::ResourceRead,
                access.name,
                p.as_ref(),
                &denial,
                started,
            ));
        }
    };
    let mut context = context;
    context.extensions.insert(principal.clone());
    let cx = crate::resources::ResourceContext {
        service: server,
        uri: request.uri.clone(),
        variables,
        request_context: context,
    };
    let outcome = bounded(security, access.name, started, (route.invoke)(server, cx)).await;
    let contents = finish(
        Event::ResourceRead,
        access.name,
        &principal,
        security,
        started,
        outcome,
    )?;
    Ok(ReadResourceResponse::Complete(ReadResourceResult::new(
        contents,
    )))
}

/// `resources/subscribe`: accepted only for a resource the caller may read. The server's
/// own code sends the update notifications (`Peer::notify_resource_updated`).
pub async fn subscribe<S: SecureServer>(
    _server: &S,
    request: SubscribeRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<(), ErrorData> {
    may_read::<S>(&request.uri, &context)
}

/// `resources/unsubscribe`: as [`subscribe`].
pub async fn unsubscribe<S: SecureServer>(
    _server: &S,
    request: UnsubscribeRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<(), ErrorData> {
    may_read::<S>(&request.uri, &context)
}

/// Whether the caller may read `uri` (not found when it may not even see it).
fn may_read<S: SecureServer>(
    uri: &str,
    context: &RequestContext<RoleServer>,
) -> Result<(), ErrorData> {
    let Some(policy) = S::server_policy().resource(uri) else {
        return Err(ErrorData::resource_not_found("no such resource", None));
    };
    match authenticated_principal(context) {
        Some(p) if policy.access.permits(p.scopes()) => Ok(()),
        Some(p) => Err(protocol_error(
            &policy.access.insufficient(p.scopes()).to_tool_error(),
        )),
        None => Err(protocol_error(&Denial::Unauthenticated.to_tool_error())),
    }
}

/// `logging/setLevel`: accepted from an authenticated caller (tools send log messages through
/// `ClientPeer::log` as they see fit).
#[allow(deprecated)] // logging is deprecated by SEP-2577, still served
pub async fn set_level<S: SecureServer>(
    _server: &S,
    _request: rmcp::model::SetLevelRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<(), ErrorData> {
    match authenticated_principal(&context) {
        Some(_) => Ok(()),
        None => Err(protocol_error(&Denial::Unauthenticated.to_tool_error())),
    }
}

/// `completion/complete`: answered (with no suggestions) only for a prompt or resource
/// template the caller may use; anything else is not found.
pub async fn complete<S: SecureServer>(
    _server: &S,
    request: CompleteRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CompleteResult, ErrorData> {
    let policy = S::server_policy();
    let access = match &request.r#ref {
        Reference::Prompt(prompt) => policy.prompt(&prompt.name),
        Reference::Resource(resource) => policy
            .resources
            .iter()
            .find(|r| r.uri == resource.uri)
            .map(|r| &r.access),
        _ => None,
    };
    match (access, authenticated_principal(&context)) {
        (Some(access), Some(p)) if access.permits(p.scopes()) => Ok(CompleteResult::default()),
        _ => Err(ErrorData::invalid_params("unknown reference", None)),
    }
}

/// Runs an adapter within the server's time limit (counted from `started`), a panic
/// answered as `INTERNAL`.
async fn bounded<T>(
    security: &crate::Security,
    name: &str,
    started: Instant,
    invoke: futures::future::BoxFuture<'_, Result<T, Outcome>>,
) -> Result<T, Outcome> {
    let limit = security.tool_timeout();
    match crate::pipeline::guarded(invoke, started, limit).await {
        Ran::TimedOut => Err(Outcome::Rejected(Denial::TimedOut { after: limit })),
        Ran::Panicked => {
            audit::tool_panicked(name);
            Err(Outcome::Failed(crate::ToolError::internal("it panicked")))
        }
        Ran::Finished(result) => result,
    }
}

/// Redacts what the method answered (or its error), audits the decision, and answers.
fn finish<T: serde::Serialize + serde::de::DeserializeOwned>(
    event: Event,
    name: &str,
    principal: &Principal,
    security: &crate::Security,
    started: Instant,
    outcome: Result<T, Outcome>,
) -> Result<T, ErrorData> {
    let redactor = security.redactor();
    let outcome = outcome.map_err(|outcome| match outcome {
        Outcome::Failed(mut error) => match error.take_rpc() {
            Some(rpc) => Outcome::Error(rpc),
            None => Outcome::Failed(error),
        },
        other => other,
    });
    let answer = match outcome {
        Ok(value) => {
            let mut json = serde_json::to_value(&value).map_err(|_| internal())?;
            let n = redactor.redact_value(&mut json);
            if n > 0 {
                audit::redacted(name, principal, n);
            }
            serde_json::from_value(json).map_err(|_| internal())
        }
        Err(Outcome::Rejected(denial)) => {
            return Err(refused(event, name, Some(principal), &denial, started));
        }
        Err(Outcome::Failed(error)) => {
            if let Some(cause) = error.cause() {
                let text = redactor
                    .redact_str(&cause.text)
                    .map_or(cause.text.clone(), |(t, _)| t);
                audit::tool_failed(name, principal, cause.kind, &text);
            }
            let mut error = protocol_error(&error);
            if let Some(data) = &mut error.data {
                redactor.redact_value(data);
            }
            Err(error)
        }
        Err(Outcome::Error(mut error)) => {
            if let Some((masked, _)) = redactor.redact_str(&error.message) {
                error.message = masked.into();
            }
            if let Some(data) = &mut error.data {
                redactor.redact_value(data);
            }
            Err(error)
        }
        Err(_) => Err(internal()),
    };
    audit::decision(&audit::Decision {
        event,
        tool: name,
        principal: Some(principal),
        denial: None,
        tool_error: answer.is_err(),
        elapsed: started.elapsed(),
        stage: audit::Stage::Pipeline,
    });
    answer
}

fn internal() -> ErrorData {
    protocol_error(&Denial::Internal.to_tool_error())
}

/// A refusal before the method ran: audited, answered as a JSON-RPC error.
fn refused(
    event: Event,
    name: &str,
    principal: Option<&Principal>,
    denial: &Denial,
    started: Instant,
) -> ErrorData {
    audit::decision(&audit::Decision {
        event,
        tool: name,
        principal,
        denial: Some(denial),
        tool_error: false,
        elapsed: started.elapsed(),
        stage: audit::Stage::Pipeline,
    });
    protocol_error(&denial.to_tool_error())
}

/// A prompt's or resource's error as a JSON-RPC error: `INVALID_INPUT` is invalid params
/// (-32602), `NOT_FOUND` a missing resource (-32002), `INTERNAL` an internal error
/// (-32603), any other (`UNAUTHENTICATED`, `INSUFFICIENT_SCOPE`, `RATE_LIMITED`, …) an
/// invalid request (-32600); `data` carries the same `{"error": {...}}` body a tool result
/// would.
pub fn protocol_error(error: &crate::ToolError) -> ErrorData {
    let body = error.body();
    let message = error.message().to_owned();
    match error.code().as_str() {
        "INVALID_INPUT" => ErrorData::invalid_params(message, Some(body)),
        "NOT_FOUND" => ErrorData::resource_not_found(message, Some(body)),
        "INTERNAL" => ErrorData::internal_error(message, Some(body)),
        _ => ErrorData::invalid_request(message, Some(body)),
    }
}
