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
//!     mcp_secure::init_logging()?;
//!     mcp_secure::serve(DataServer { security: Security::default() }).await?;
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

pub mod audit;
#[cfg(feature = "http")]
pub mod auth;
#[cfg(feature = "http")]
pub mod check;
pub mod config;
#[cfg(feature = "dev-auth")]
pub mod dev_auth;
pub mod error;
pub mod handler;
#[cfg(feature = "http")]
pub mod http;
pub mod output;
pub mod pipeline;
pub mod policy;
pub mod principal;
pub mod rate;
pub mod redact;
pub mod scope;
pub mod secrets;
pub mod security;
pub mod stdio;
pub mod validate;

pub use audit::{LogFormat, init_logging};
pub use config::SecureConfig;
pub use error::{Denial, ErrorCode, FieldError, ToolError};
pub use mcp_secure_macros::{secure_server, secure_tool};
pub use pipeline::RouterError;
pub use policy::{RateSpec, ServerPolicy, ToolPolicy};
pub use principal::{AuthMethod, Principal};
pub use rmcp;
pub use scope::{ScopeError, ScopeSet};
pub use security::{Security, SecurityBuilder, ToolVisibility};
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
}

/// A server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The tool router could not be built.
    #[error(transparent)]
    Router(RouterError),
    /// A scope list from the environment is malformed.
    #[error("{variable}: {source}")]
    Scopes {
        /// The variable.
        variable: &'static str,
        /// What is wrong.
        source: ScopeError,
    },
    /// The configuration is incomplete or invalid.
    #[error("{0}")]
    Config(String),
    /// The configuration file or environment has problems (all of them are listed).
    #[error("{0}")]
    Configuration(config::ConfigError),
    /// The client's `initialize` handshake failed.
    #[error("the MCP initialize handshake failed")]
    Initialize,
    /// The server task ended abnormally.
    #[error("the server task was aborted")]
    Aborted,
    /// An I/O error (binding a socket, for instance).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `server` on the transport the configuration chooses ([`SecureConfig::load`]: the
/// file named by `MCP_CONFIG`, then the environment): `stdio` (default), or `http` /
/// `streamable_http`, an OAuth 2.1 resource server (see [`http::setup`]). HTTP without an
/// OAuth configuration refuses to start, naming what is missing; `sse` is refused (the
/// HTTP+SSE transport is deprecated: use Streamable HTTP).
pub async fn serve<S>(server: S) -> Result<(), ServeError>
where
    S: SecureServer + rmcp::ServerHandler + Clone,
{
    let (config, warnings) = SecureConfig::load(&[]).map_err(ServeError::Configuration)?;
    serve_with_config(server, &config, &warnings).await
}

/// Serves `server` as `config` says, after logging `warnings` (and refusing to run as root
/// under `strict`).
pub async fn serve_with_config<S>(
    server: S,
    config: &SecureConfig,
    warnings: &[config::Problem],
) -> Result<(), ServeError>
where
    S: SecureServer + rmcp::ServerHandler + Clone,
{
    for warning in warnings {
        tracing::warn!(target: audit::TARGET, key = %warning.key, "{}", warning.message);
    }
    if let Some(root) = config.root_problem() {
        if root.severity == config::Severity::Error {
            return Err(ServeError::Configuration(config::ConfigError {
                problems: vec![root],
            }));
        }
        tracing::warn!(target: audit::TARGET, "{}", root.message);
    }
    match config.transport {
        config::TransportKind::Stdio => stdio::serve_stdio(server).await,
        #[cfg(feature = "http")]
        config::TransportKind::Http => http::serve_configured(server, config).await,
        #[cfg(not(feature = "http"))]
        config::TransportKind::Http => Err(ServeError::Config(
            "MCP_TRANSPORT=http needs the `http` feature of mcp-secure".into(),
        )),
    }
}

/// Everything a secured server needs, in one import.
pub mod prelude {
    pub use crate::{
        Principal, Security, ToolError,
        redact::{Redact, SecretString},
        secure_server, secure_tool,
        validate::guards,
    };
    pub use rmcp::{
        RoleServer,
        handler::server::wrapper::{Json, Parameters},
        model::{CallToolResult, ContentBlock},
        service::RequestContext,
    };
}

/// Support for the code `#[secure_server]` generates. Not a public API: it changes with the
/// macro crate, which `mcp-secure` pins to its exact version.
#[doc(hidden)]
pub mod __private {
    pub use crate::output::{Outcome, ToolReturn};
    pub use crate::pipeline::{Invocation, Listing, route};
    pub use crate::policy::{RateSpec, ServerPolicy, ToolPolicy};
    pub use crate::redact::{RedactProbe, ViaNothing, ViaRedact};
    pub use crate::validate::NoParameters;
    pub use futures::future::BoxFuture;

    pub use crate::handler::{call_tool, get_tool, list_tools, server_info};

    /// The input schema of a parameter type (must be an object schema).
    pub fn input_schema<P: schemars::JsonSchema + 'static>()
    -> Result<std::sync::Arc<rmcp::model::JsonObject>, String> {
        rmcp::handler::server::common::schema_for_input::<P>()
    }

    /// Parses and validates arguments into the tool's parameter type.
    pub fn parse_parameters<P>(arguments: Option<rmcp::model::JsonObject>) -> Result<P, Outcome>
    where
        P: serde::de::DeserializeOwned + validator::Validate,
    {
        crate::validate::parse::<P>(arguments).map_err(Outcome::Rejected)
    }
}
