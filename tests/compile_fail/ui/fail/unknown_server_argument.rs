use mcp_secure::prelude::*;

#[derive(serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Input {
    id: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scope = "data:read")]
impl Server {
    #[secure_tool(public)]
    async fn read(&self, Parameters(input): Parameters<Input>) -> String {
        input.id
    }
}

fn main() {}
