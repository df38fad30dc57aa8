//! Resources, templates and prompts beside tools.
use mcp_secure::prelude::*;
use mcp_secure::rmcp::model::{PromptMessage, ResourceContents, Role};

#[derive(serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Topic {
    #[validate(length(max = 40))]
    topic: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scopes = "notes:read")]
impl Server {
    #[secure_resource(uri = "notes://all", scopes = "notes:read", mime_type = "text/plain")]
    async fn all(&self) -> String {
        "every note".into()
    }

    #[secure_resource(uri_template = "notes://items/{id}", scopes = "notes:read")]
    async fn item(&self, uri: ResourceUri, vars: UriVariables, caller: Principal) -> Result<ResourceContents, ToolError> {
        let id = vars.get("id").unwrap_or_default();
        Ok(ResourceContents::text(format!("{id} for {}", caller.subject()), uri.0))
    }

    #[secure_prompt(public)]
    async fn brainstorm(&self, Parameters(t): Parameters<Topic>) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, t.topic)]
    }

    #[secure_tool(scopes = "notes:read")]
    async fn count(&self) -> String {
        "2".into()
    }
}

fn main() {
    let _ = <Server as mcp_secure::SecureServer>::secure_resource_router();
    let _ = <Server as mcp_secure::SecureServer>::secure_prompt_router();
}
