use mcp_secure::prelude::*;

#[derive(Clone)]
struct Server {
    security: Security,
}

impl Server {
    #[secure_tool(public)]
    async fn ping(&self) -> String {
        "pong".into()
    }
}

fn main() {}
