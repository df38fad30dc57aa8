use mcp_secure::prelude::*;

#[derive(serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Input {
    id: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scopes = "data:read data:write")]
impl Server {
    #[secure_tool(scopes = "data:wirte")]
    async fn write(&self, Parameters(input): Parameters<Input>) -> String {
        input.id
    }
}

fn main() {}
