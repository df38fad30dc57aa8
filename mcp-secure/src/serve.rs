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
    preflight(&server, config)?;
    match config.transport {
        TransportKind::Stdio => crate::stdio::serve_stdio(server, &config.stdio).await,
        TransportKind::Http => serve_http(server, config).await,
    }
}

/// Names, at start, the tools served without a declared policy (`extend`).
fn flag_unsecured_tools<S: SecureServer>() {
    let Ok(router) = S::secure_tool_router() else {
        return;
    };
    let policy = S::server_policy();
    let mut plain: Vec<&str> = router
        .map
        .keys()
        .map(|name| name.as_ref())
        .filter(|name| policy.tool(name).is_none())
        .collect();
    if plain.is_empty() {
        return;
    }
    plain.sort_unstable();
    tracing::warn!(
        target: crate::audit::TARGET,
        tools = %plain.join(" "),
        "{} tool{} no declared policy (authenticated, rate limited and audited only): give each \
         a #[secure_tool], then add `deny_unsecured` to #[secure_server]",
        plain.len(),
        if plain.len() == 1 { " has" } else { "s have" }
    );
}

/// Before serving: logs the configuration's warnings, refuses root under `strict`, and
/// refuses a server whose `Security` was built without this configuration.
fn preflight<S: SecureServer>(server: &S, config: &SecureConfig) -> Result<(), ServeError> {
    flag_unsecured_tools::<S>();
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
    Ok(())
}

#[cfg(feature = "http")]
async fn serve_http<S>(server: S, config: &SecureConfig) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    let configured = configured_http(server, config).await?;
    let listener = tokio::net::TcpListener::bind(config.http.addr).await?;
    let running = configured.http.serve(listener).await;
    let served = match running {
        Ok(running) => {
            let token = running.shutdown_token();
            tokio::spawn(async move {
                crate::http::setup::shutdown_signal().await;
                token.cancel();
            });
            running.wait().await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    #[cfg(feature = "dev-auth")]
    if let Some(dev) = configured.dev_auth {
        dev.shutdown().await;
    }
    served
}

/// A secured server's HTTP side, set up as the configuration says, for an axum application of
/// your own: take [`router`](crate::http::HttpServer::router) (no fallback; merge it), or the
/// [`bearer_layer`](crate::http::HttpServer::bearer_layer) and the
/// [`metadata_router`](crate::http::HttpServer::metadata_router) separately. With
/// `MCP_DEV_AUTH=true` the embedded development authorization server runs until
/// [`shutdown`](Self::shutdown).
#[cfg(feature = "http")]
#[derive(Debug)]
pub struct ConfiguredHttp<S> {
    http: crate::http::HttpServer<S>,
    #[cfg(feature = "dev-auth")]
    dev_auth: Option<crate::dev_auth::DevAuthServer>,
}

#[cfg(feature = "http")]
impl<S> ConfiguredHttp<S>
where
    S: SecureServer + ServerHandler + Clone,
{
    /// The HTTP server (routers and layers).
    pub fn http(&self) -> &crate::http::HttpServer<S> {
        &self.http
    }

    /// The issuer of the embedded development authorization server, when it runs.
    pub fn dev_auth_issuer(&self) -> Option<&str> {
        #[cfg(feature = "dev-auth")]
        if let Some(dev) = &self.dev_auth {
            return Some(dev.issuer());
        }
        None
    }

    /// Stops the development authorization server, if one runs.
    pub async fn shutdown(self) {
        #[cfg(feature = "dev-auth")]
        if let Some(dev) = self.dev_auth {
            dev.shutdown().await;
        }
    }
}

/// Sets up `server`'s HTTP side as `config` says (issuer and keys, or the development
/// authorization server with `MCP_DEV_AUTH=true`; origins, hosts, sessions), without binding:
/// for serving it inside an axum application of your own. [`serve`] does the same and binds.
#[cfg(feature = "http")]
pub async fn http_from_config<S>(
    server: S,
    config: &SecureConfig,
) -> Result<ConfiguredHttp<S>, ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    preflight(&server, config)?;
    configured_http(server, config).await
}

/// [`http_from_config`] after the preflight.
#[cfg(feature = "http")]
async fn configured_http<S>(
    server: S,
    config: &SecureConfig,
) -> Result<ConfiguredHttp<S>, ServeError>
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
        return match crate::http::setup::http_server(server, config, &issuers).await {
            Ok(http) => Ok(ConfiguredHttp {
                http,
                dev_auth: Some(dev),
            }),
            Err(e) => {
                dev.shutdown().await;
                Err(e)
            }
        };
    }
    #[cfg(not(feature = "dev-auth"))]
    if config.dev_auth.enabled {
        return Err(ServeError::FeatureMissing {
            feature: "dev-auth",
            setting: "MCP_DEV_AUTH",
        });
    }
    let issuers = config.oauth.issuers();
    let http = crate::http::setup::http_server(server, config, &issuers).await?;
    Ok(ConfiguredHttp {
        http,
        #[cfg(feature = "dev-auth")]
        dev_auth: None,
    })
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
