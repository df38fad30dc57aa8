use mcp_secure::prelude::*;

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server]
impl Server {
    #[secure_resource(uri = "notes://all")]
    async fn notes(&self) -> String {
        "every note".into()
    }
}

fn main() {}
