//! # mcp-secure
//!
//! Secure MCP servers by declaration, on [rmcp](https://docs.rs/rmcp), the official Rust
//! MCP SDK. Write one attribute above a tool method and every call of that tool runs through
//! one pipeline:
//!
//! **authenticate → authorize (scopes, with a hierarchy) → rate limit (GCRA per caller and
//! tool) → validate (size cap, `validator` rules, injection guards) → invoke → redact
//! (secrets masked in output) → audit (one event per decision, to stderr)**
//!
//! ```no_run
//! use mcp_secure::prelude::*;
//!
//! #[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
//! struct ReadData {
//!     #[validate(length(min = 1, max = 64), custom(function = "guards::identifier"))]
//!     id: String,
//! }
//!
//! #[derive(Clone)]
//! struct DataServer {
//!     security: Security,
//! }
//!
//! #[secure_server(
//!     scopes = "data:read data:write admin:full",
//!     hierarchy = "admin:full > data:write > data:read",
//! )]
//! impl DataServer {
//!     /// Read one record.
//!     #[secure_tool(scopes = "data:read", rate = 120)]
//!     async fn read_data(&self, Parameters(input): Parameters<ReadData>) -> Result<String, ToolError> {
//!         Ok(format!("record {}", input.id))
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The file named by MCP_CONFIG, then the environment; every problem at once.
//!     let config = mcp_secure::SecureConfig::load()?;
//!     mcp_secure::logging::init(&config.logging)?;          // stderr, redacted
//!     // The server's Security from the same configuration: its rate limits, shared store
//!     // and secrets.
//!     let server = DataServer { security: config.security().build() };
//!     mcp_secure::serve(server, &config).await?;             // stdio or HTTP, as configured
//!     Ok(())
//! }
//! ```
//!
//! A misconfigured tool does not compile: an unknown argument, a malformed scope, a tool with
//! neither `scopes` nor `public`, a zero rate, a non-`async` method, `&mut self`, a parameter
//! type without `validator::Validate`, a return type that would serialize a secret, a scope
//! missing from the server's catalogue: each is an error on the offending token saying how to
//! fix it.
//!
//! Denials reach the client as tool results with `isError: true` and a structured body:
//! `{"error": {"code": "RATE_LIMITED", "message": "Too many requests", "retry_after": 60}}`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod audit;
#[cfg(feature = "http")]
pub mod auth;
#[cfg(feature = "http")]
#[doc(hidden)]
pub mod check;
mod client;
pub mod config;
#[cfg(feature = "dev-auth")]
pub mod dev_auth;
#[cfg(feature = "dpop-client")]
pub mod dpop_client;
pub mod error;
#[cfg(feature = "http")]
pub mod exchange;
pub mod handler;
#[cfg(feature = "http")]
pub mod http;
pub mod logging;
pub mod output;
mod pipeline;
pub mod policy;
pub mod principal;
pub mod prompts;
pub mod rate;
pub mod redact;
pub mod resources;
mod schema;
pub mod scope;
pub mod security;
mod serve;
pub mod stdio;
pub mod validate;

pub use client::{ClientPeer, Elicited};
pub use config::{LogFormat, SecureConfig};
pub use error::{Denial, ErrorCode, FieldError, ToolError};
pub use logging::init_from_env as init_logging;
pub use mcp_secure_macros::{secure_prompt, secure_resource, secure_server, secure_tool};
pub use pipeline::{META_RATE, META_SCOPES, RouterError, authenticated_principal, tool_meta};
pub use policy::{RateSpec, ServerPolicy, ToolPolicy};
pub use principal::{AuthMethod, Principal};
pub use rmcp;
pub use scope::{ScopeError, ScopeSet};
pub use security::{Security, SecurityBuilder, ToolVisibility};
#[cfg(feature = "http")]
pub use serve::{ConfiguredHttp, http_from_config};
pub use serve::{ServeError, serve};
pub use validator;

use rmcp::handler::server::router::tool::ToolRouter;

/// A server whose tools are secured. Implemented by `#[secure_server]`; not meant to be
/// implemented by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a secured server",
    note = "put `#[secure_server]` on the `impl` block that holds its `#[secure_tool]` methods"
)]
pub trait SecureServer: Sized + Send + Sync + 'static {
    /// The server's runtime security state (the field named by `#[secure_server(security = ..)]`,
    /// `security` by default).
    fn security_runtime(&self) -> &Security;
    /// The server's static policy.
    fn server_policy() -> &'static ServerPolicy;
    /// The server's tool router, built once.
    fn secure_tool_router() -> Result<&'static ToolRouter<Self>, RouterError>;
    /// The server's `#[secure_prompt]`s, built once (`None`: it serves no prompts).
    fn secure_prompt_router() -> Option<&'static prompts::PromptRouter<Self>> {
        None
    }
    /// The server's `#[secure_resource]`s, built once (`None`: it serves no resources).
    fn secure_resource_router() -> Option<&'static resources::ResourceRouter<Self>> {
        None
    }
}

/// Everything a secured server needs, in one import.
pub mod prelude {
    pub use crate::{
        ClientPeer, Elicited, Principal, Security, ToolError,
        redact::{Redact, SecretString},
        resources::{ResourceUri, UriVariables},
        secure_prompt, secure_resource, secure_server, secure_tool,
        validate::guards,
    };
    pub use rmcp::{
        RoleServer,
        handler::server::wrapper::{Json, Parameters},
        model::{CallToolResult, ContentBlock},
        service::RequestContext,
    };
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private_0_1;
