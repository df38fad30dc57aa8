use mcp_secure::prelude::*;
use rmcp::{tool, tool_router};

#[derive(Clone)]
struct Server {
    security: Security,
}

#[tool_router]
impl Server {
    #[tool]
    async fn legacy(&self) -> String {
        "plain".into()
    }
}

#[secure_server(extend = Self::tool_router, deny_unsecured)]
impl Server {
    #[secure_tool(public)]
    async fn read(&self) -> String {
        "secured".into()
    }
}

fn main() {}
