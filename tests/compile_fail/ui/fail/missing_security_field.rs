use mcp_secure::prelude::*;

#[derive(Clone)]
struct Server {
    guard: Security,
}

#[secure_server]
impl Server {
    #[secure_tool(public)]
    async fn ping(&self) -> String {
        "pong".into()
    }
}

fn main() {}
