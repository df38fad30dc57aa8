//! A finished migration: every tool secured, and plain tools refused from now on.
use mcp_secure::prelude::*;

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scopes = "data:read", deny_unsecured)]
impl Server {
    #[secure_tool(scopes = "data:read")]
    async fn read(&self) -> String {
        "secured".into()
    }
}

fn main() {}
