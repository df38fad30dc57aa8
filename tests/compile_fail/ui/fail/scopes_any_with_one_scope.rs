use mcp_secure::prelude::*;

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scopes = "billing:read")]
impl Server {
    #[secure_tool(scopes_any = "billing:read")]
    async fn report(&self) -> String {
        "report".into()
    }
}

fn main() {}
