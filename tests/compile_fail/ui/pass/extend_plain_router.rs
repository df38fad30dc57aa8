//! A server migrating step by step: plain rmcp tools beside secured ones.
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

#[secure_server(scopes = "data:read", extend = Self::tool_router)]
impl Server {
    #[secure_tool(scopes = "data:read")]
    async fn read(&self) -> String {
        "secured".into()
    }
}

fn main() {
    let _ = <Server as mcp_secure::SecureServer>::secure_tool_router();
}
