//! # migrate_after: the server fully migrated (step 2 of docs/migration.md)
//!
//! Every tool is a `#[secure_tool]` with its scopes and rate; the `#[tool_router]` impl and
//! `extend` are gone, and `deny_unsecured` keeps it that way: a plain tool added later does not
//! compile.

use std::sync::Arc;

use mcp_secure::{SecureConfig, prelude::*};
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

#[secure_server(
    scopes = "todo:read todo:write",
    hierarchy = "todo:write > todo:read",
    deny_unsecured
)]
impl Todo {
    /// Add an item.
    #[secure_tool(scopes = "todo:write", rate = 30)]
    async fn add(&self, Parameters(input): Parameters<Add>) -> String {
        let mut items = self.items.lock().await;
        items.push(input.item);
        format!("{} items", items.len())
    }

    /// Every item.
    #[secure_tool(scopes = "todo:read", rate = 120, annotations(read_only_hint = true))]
    async fn list(&self) -> String {
        self.items.lock().await.join("\n")
    }

    /// Forget everything.
    #[secure_tool(scopes = "todo:write", rate = 5, annotations(destructive_hint = true))]
    async fn clear(&self) -> String {
        self.items.lock().await.clear();
        "cleared".to_owned()
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
