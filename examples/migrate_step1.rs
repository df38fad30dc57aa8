//! # migrate_step1: the same server, half migrated (step 1 of docs/migration.md)
//!
//! `#[secure_server(extend = Self::tool_router)]` replaces `#[tool_handler]`: `add` is now a
//! `#[secure_tool]` with a scope and a rate; `list` and `clear` are still plain rmcp tools,
//! served beside it. Even those now need an authenticated caller, share a per-caller budget,
//! have their output redacted and are audited, and the server names them at start ("2 tools
//! have no declared policy"). Serving goes through the configuration (stdio by default, HTTP
//! with `MCP_TRANSPORT=http`).

use std::sync::Arc;

use mcp_secure::{SecureConfig, prelude::*};
use rmcp::{tool, tool_router};
use tokio::sync::Mutex;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Add {
    /// The item.
    #[validate(length(min = 1, max = 200))]
    item: String,
}

#[derive(Clone)]
struct Todo {
    security: Security,
    items: Arc<Mutex<Vec<String>>>,
}

/// Not migrated yet: plain rmcp tools, as they were.
#[tool_router]
impl Todo {
    /// Every item.
    #[tool]
    async fn list(&self) -> String {
        self.items.lock().await.join("\n")
    }

    /// Forget everything.
    #[tool]
    async fn clear(&self) -> String {
        self.items.lock().await.clear();
        "cleared".to_owned()
    }
}

/// Migrated: declared policies.
#[secure_server(scopes = "todo:read todo:write", hierarchy = "todo:write > todo:read",
                extend = Self::tool_router)]
impl Todo {
    /// Add an item.
    #[secure_tool(scopes = "todo:write", rate = 30)]
    async fn add(&self, Parameters(input): Parameters<Add>) -> String {
        let mut items = self.items.lock().await;
        items.push(input.item);
        format!("{} items", items.len())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SecureConfig::load()?;
    mcp_secure::logging::init(&config.logging)?;
    let server = Todo {
        security: config.security().build(),
        items: Arc::default(),
    };
    Ok(mcp_secure::serve(server, &config).await?)
}
