//! The bodies of the rmcp `ServerHandler` methods `#[secure_server]` generates. Call them from
//! your own `impl ServerHandler` when you write one (`#[secure_server(handler = false)]`).

use rmcp::{
    ErrorData, RoleServer,
    handler::server::tool::ToolCallContext,
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
        PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
};

use crate::{
    SecureServer, audit, error::Denial, pipeline::authenticated_principal, security::ToolVisibility,
};

/// `initialize`'s server description: tools capability, name, version, instructions.
pub fn server_info<S: SecureServer>() -> ServerConfig {
    let policy = S::server_policy();
    let config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
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
