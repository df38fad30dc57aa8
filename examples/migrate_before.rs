//! # migrate_before: an rmcp server as it is today (step 0 of docs/migration.md)
//!
//! Plain rmcp: `#[tool_router]`, `#[tool]`, `#[tool_handler]`. Anyone who can reach it may call
//! every tool; nothing is rate limited, redacted or audited. `migrate_step1.rs` and
//! `migrate_after.rs` are the same server on its way to mcp-secure.

use std::sync::Arc;

use rmcp::{
    ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
};
use tokio::sync::Mutex;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Add {
    /// The item.
    item: String,
}

#[derive(Clone)]
struct Todo {
    items: Arc<Mutex<Vec<String>>>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Todo {
    fn new() -> Self {
        Self {
            items: Arc::default(),
            tool_router: Self::tool_router(),
        }
    }

    /// Add an item.
    #[tool]
    async fn add(&self, Parameters(input): Parameters<Add>) -> String {
        let mut items = self.items.lock().await;
        items.push(input.item);
        format!("{} items", items.len())
    }

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

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Todo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let running = Todo::new().serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
