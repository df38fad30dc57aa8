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
    #[secure_tool(public)]
    async fn read(&self, Parameters(_input): Parameters<Input>) -> Result<SecretString, ToolError> {
        Ok(SecretString::from("sk".to_string()))
    }
}

fn main() {}
