use mcp_secure::prelude::*;

#[derive(serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Input {
    id: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server]
impl Server {
    #[secure_tool(scopes = "data:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    async fn read(&self, Parameters(input): Parameters<Input>) -> String {
        input.id
    }
}

fn main() {}
