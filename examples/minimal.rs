//! # minimal: the smallest secured server (`cargo run --example minimal`)
//!
//! One tool, one scope, served over stdio (an MCP client launches it) or, with
//! `MCP_TRANSPORT=http` and an issuer (`OAUTH_ISSUER`, or `MCP_DEV_AUTH=true`), over HTTP.

use mcp_secure::{SecureConfig, prelude::*};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Greet {
    /// Who to greet.
    #[validate(length(min = 1, max = 64))]
    name: String,
}

#[derive(Clone)]
struct Hello {
    security: Security,
}

#[secure_server(scopes = "greet")]
impl Hello {
    /// Says hello.
    #[secure_tool(scopes = "greet", rate = 60)]
    async fn hello(&self, Parameters(input): Parameters<Greet>) -> String {
        format!("Hello, {}!", input.name)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SecureConfig::load()?;
    mcp_secure::logging::init(&config.logging)?;
    let server = Hello {
        security: config.security().build(),
    };
    Ok(mcp_secure::serve(server, &config).await?)
}
