//! `handler = false`: the user writes `impl ServerHandler` and calls the runtime.
use mcp_secure::prelude::*;
use mcp_secure::rmcp::{
    ErrorData, ServerHandler,
    model::{CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams, ServerConfig},
};

#[derive(Clone)]
struct Server {
    guard: Security,
}

#[secure_server(handler = false, security = guard)]
impl Server {
    #[secure_tool(public)]
    async fn ping(&self) -> &'static str {
        "pong"
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        mcp_secure::handler::server_info::<Self>()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        mcp_secure::handler::call_tool(self, request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        mcp_secure::handler::list_tools(self, request, context).await
    }
}

fn main() {
    let _ = Server { guard: Security::default() };
}
