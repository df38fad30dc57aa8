use mcp_secure::prelude::*;
use rmcp::tool;

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server]
impl Server {
    #[secure_tool(public)]
    async fn read(&self) -> String {
        "secured".into()
    }

    #[tool]
    async fn forgotten(&self) -> String {
        "never served".into()
    }
}

fn main() {}
