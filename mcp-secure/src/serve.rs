//! The composition root: serves a secured server as its configuration says. It decides the
//! transport (stdio, or Streamable HTTP) and, over HTTP, the issuer the resource server
//! trusts: the configured one, or the embedded development authorization server's, which it
//! starts here. Nothing else in the crate chooses between them.

use rmcp::ServerHandler;

use crate::{
    SecureServer,
    config::{ConfigError, SecureConfig, Severity, TransportKind},
    pipeline::RouterError,
};

/// A server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The tool router could not be built.
    #[error(transparent)]
    Router(RouterError),
    /// Redaction cannot work, so the server refuses to start (fail closed).
    #[error(transparent)]
    Redaction(#[from] crate::redact::PatternError),
    /// The configuration file or environment has problems (all of them are listed).
    #[error("{0}")]
    Configuration(ConfigError),
    /// The resource server could not be set up from the configuration.
    #[cfg(feature = "http")]
    #[error("{0}")]
    Setup(#[from] crate::http::setup::SetupError),
    /// The development authorization server could not start.
    #[cfg(feature = "dev-auth")]
    #[error("{0}")]
    DevAuth(#[from] crate::dev_auth::DevAuthError),
    /// The configuration asks for something this build of mcp-secure leaves out.
    #[error("{setting} needs the `{feature}` feature of mcp-secure")]
    FeatureMissing {
        /// The Cargo feature.
        feature: &'static str,
        /// The setting that asks for it.
        setting: &'static str,
    },
    /// The server's `Security` was built without this configuration, so its rate limits,
    /// shared store and secrets would be silently dropped.
    #[error(
        "the server's `Security` was not built from this configuration (its rate limiting, \
         Redis store or secrets would be lost): build it with `config.security().build()`"
    )]
    SecurityNotFromConfig,
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

impl From<ConfigError> for ServeError {
    fn from(e: ConfigError) -> Self {
        Self::Configuration(e)
    }
}

/// Serves `server` as `config` says ([`SecureConfig::load`]): over `stdio` (default), or
/// Streamable HTTP as an OAuth 2.1 resource server (see [`crate::http::setup`]) trusting
/// `OAUTH_ISSUER`, or the embedded development authorization server with
/// `MCP_DEV_AUTH=true`. Logs the configuration's warnings first, and refuses to run as root
/// under `strict`.
///
/// `server`'s `Security` must come from the same configuration (`config.security().build()`),
/// so that the configured rate limits, Redis store and secrets are the ones enforced.
pub async fn serve<S>(server: S, config: &SecureConfig) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    for warning in config.warnings() {
        tracing::warn!(target: crate::audit::TARGET, key = %warning.key, "{}", warning.message);
    }
    if let Some(root) = config.root_problem() {
        if root.severity == Severity::Error {
            return Err(ServeError::Configuration(ConfigError {
                problems: vec![root],
            }));
        }
        tracing::warn!(target: crate::audit::TARGET, "{}", root.message);
    }
    let fingerprint = config.fingerprint();
    if server.security_runtime().config_fingerprint() != Some(fingerprint)
        && fingerprint != SecureConfig::default().fingerprint()
    {
        return Err(ServeError::SecurityNotFromConfig);
    }
    match config.transport {
        TransportKind::Stdio => crate::stdio::serve_stdio(server, &config.stdio).await,
        TransportKind::Http => serve_http(server, config).await,
    }
}

#[cfg(feature = "http")]
async fn serve_http<S>(server: S, config: &SecureConfig) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    #[cfg(feature = "dev-auth")]
    if config.dev_auth.enabled {
        let resource = crate::http::setup::resource_uri(config);
        let dev =
            crate::dev_auth::start_configured(&config.dev_auth, S::server_policy(), &resource)
                .await?;
        let issuers = [dev.issuer().to_owned()];
        let served = crate::http::setup::serve_configured(server, config, &issuers).await;
        dev.shutdown().await;
        return served;
    }
    #[cfg(not(feature = "dev-auth"))]
    if config.dev_auth.enabled {
        return Err(ServeError::FeatureMissing {
            feature: "dev-auth",
            setting: "MCP_DEV_AUTH",
        });
    }
    let issuers = config.oauth.issuers();
    crate::http::setup::serve_configured(server, config, &issuers).await
}

#[cfg(not(feature = "http"))]
async fn serve_http<S>(_server: S, _config: &SecureConfig) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    Err(ServeError::FeatureMissing {
        feature: "http",
        setting: "MCP_TRANSPORT=http",
    })
}
