use mcp_secure::prelude::*;

#[derive(serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Input {
    id: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(hierarchy = ["a:x > b:y", "b:y > a:x"])]
impl Server {
    #[secure_tool(scopes = "a:x")]
    async fn read(&self, Parameters(input): Parameters<Input>) -> String {
        input.id
    }
}

fn main() {}
