//! Serving over HTTP configured from the environment (the transport policy of
//! [`crate::serve`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `MCP_HTTP_ADDR` | listen address (default `127.0.0.1:8000`) |
//! | `OAUTH_ISSUER` | the authorization server's issuer (required) |
//! | `OAUTH_AUDIENCE` | this server's canonical resource URI, e.g. `http://127.0.0.1:8000/mcp` (required) |
//! | `OAUTH_JWKS_URL` | the JWKS URL (default: `jwks_uri` from the issuer's metadata) |
//! | `OAUTH_JWKS_FILE` | a JWKS document on disk: static keys instead of a URL |
//! | `OAUTH_SKIP_METADATA_CHECK` | `true` skips the start-up check of the issuer's metadata (air-gapped starts; needs `OAUTH_JWKS_URL`) |
//! | `OAUTH_INTROSPECTION_URL`, `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` | introspection of opaque tokens (the secret may come from `OAUTH_CLIENT_SECRET_FILE`) |
//! | `OAUTH_ALLOW_JWT_TYP` | `true` also accepts `typ: JWT` or no `typ` (relaxation) |
//! | `MCP_HTTP_ALLOWED_ORIGINS` | comma-separated browser origins allowed to call |
//! | `MCP_DEV_AUTH` | `true` (with no `OAUTH_ISSUER`) starts the embedded development authorization server, see [`crate::dev_auth`] |

use std::{net::SocketAddr, sync::Arc, time::Duration};

use rmcp::ServerHandler;
use url::Url;

use super::{HttpConfig, HttpServer};
use crate::{
    SecureServer, ServeError,
    auth::{
        EitherValidator, IntrospectionConfig, IntrospectionValidator, JwksConfig, JwksSource,
        JwtConfig, JwtValidator, KeySource, TokenValidator, TypPolicy, discovery,
    },
};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The validator for tokens from `issuer` for `audience`, configured the way the
/// environment path does with no other variable set: the issuer's metadata is checked
/// (matching `issuer`, PKCE `S256`), keys come from its `jwks_uri`, `typ` must be `at+jwt`.
pub async fn validator_for_issuer(
    issuer: &str,
    audience: &str,
) -> Result<Arc<dyn TokenValidator>, ServeError> {
    let metadata = discovery::discover(issuer, Duration::from_secs(10))
        .await
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let jwks_url = metadata
        .jwks_uri
        .ok_or_else(|| ServeError::Config("the issuer's metadata has no jwks_uri".into()))?;
    let jwks_url = Url::parse(&jwks_url)
        .map_err(|_| ServeError::Config("jwks_uri is not a valid URL".into()))?;
    let config = JwtConfig::new(issuer, audience);
    let source = JwksSource::new(
        jwks_url,
        config.allowed_algorithms().to_vec(),
        JwksConfig::default(),
    )
    .map_err(|e| ServeError::Config(format!("jwks_uri: {e}")))?;
    if let Err(e) = source.refresh().await {
        tracing::warn!(target: crate::audit::TARGET, reason = %e, "the JWKS could not be fetched at start-up; tokens are refused until it can");
    }
    Ok(Arc::new(JwtValidator::new(
        config,
        KeySource::Jwks(Arc::new(source)),
    )))
}

/// Builds the token validator: JWTs (keys from the JWKS), plus introspection for opaque
/// tokens when configured. Checks the issuer's metadata first unless told not to.
pub async fn validator_from_env(
    issuer: &str,
    audience: &str,
) -> Result<Arc<dyn TokenValidator>, ServeError> {
    let skip_check = flag("OAUTH_SKIP_METADATA_CHECK");
    if let Some(path) = var("OAUTH_JWKS_FILE") {
        let text = std::fs::read_to_string(&path)
            .map_err(|_| ServeError::Config(format!("OAUTH_JWKS_FILE: cannot read {path}")))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| ServeError::Config("OAUTH_JWKS_FILE is not a JSON key set".into()))?;
        let config = JwtConfig::new(issuer, audience);
        let keys = KeySource::from_jwks_json(&doc, config.allowed_algorithms());
        if let KeySource::Static(set) = &keys
            && set.is_empty()
        {
            return Err(ServeError::Config(
                "OAUTH_JWKS_FILE holds no usable key".into(),
            ));
        }
        if !skip_check {
            discovery::discover(issuer, Duration::from_secs(10))
                .await
                .map_err(|e| ServeError::Config(e.to_string()))?;
        }
        let config = if flag("OAUTH_ALLOW_JWT_TYP") {
            config.typ(TypPolicy::AllowJwt)
        } else {
            config
        };
        return Ok(Arc::new(JwtValidator::new(config, keys)));
    }
    let mut jwks_url = var("OAUTH_JWKS_URL");
    let mut introspection_url = var("OAUTH_INTROSPECTION_URL");
    if skip_check {
        tracing::warn!(
            target: crate::audit::TARGET,
            "OAUTH_SKIP_METADATA_CHECK is set: the authorization server's metadata (issuer, PKCE S256) is not checked"
        );
    } else {
        let metadata = discovery::discover(issuer, Duration::from_secs(10))
            .await
            .map_err(|e| ServeError::Config(e.to_string()))?;
        jwks_url = jwks_url.or(metadata.jwks_uri);
        introspection_url = introspection_url.or(metadata
            .introspection_endpoint
            .filter(|_| var("OAUTH_CLIENT_ID").is_some()));
    }
    let jwks_url = jwks_url.ok_or_else(|| {
        ServeError::Config(
            "no JWKS URL: set OAUTH_JWKS_URL (the issuer's metadata has no jwks_uri, or its check is skipped)".into(),
        )
    })?;
    let jwks_url = Url::parse(&jwks_url)
        .map_err(|_| ServeError::Config("OAUTH_JWKS_URL is not a valid URL".into()))?;
    let mut config = JwtConfig::new(issuer, audience);
    if flag("OAUTH_ALLOW_JWT_TYP") {
        tracing::warn!(target: crate::audit::TARGET, "OAUTH_ALLOW_JWT_TYP is set: tokens without typ at+jwt are accepted");
        config = config.typ(TypPolicy::AllowJwt);
    }
    let source = JwksSource::new(
        jwks_url,
        config.allowed_algorithms().to_vec(),
        JwksConfig::default(),
    )
    .map_err(|e| ServeError::Config(format!("OAUTH_JWKS_URL: {e}")))?;
    if let Err(e) = source.refresh().await {
        tracing::warn!(target: crate::audit::TARGET, reason = %e, "the JWKS could not be fetched at start-up; tokens are refused until it can");
    }
    let jwt = JwtValidator::new(config, KeySource::Jwks(Arc::new(source)));
    let Some(introspection_url) = introspection_url else {
        return Ok(Arc::new(jwt));
    };
    let (Some(client_id), Some(secret)) = (
        var("OAUTH_CLIENT_ID"),
        crate::secrets::from_env_or_file("OAUTH_CLIENT_SECRET"),
    ) else {
        return Err(ServeError::Config(
            "introspection needs OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (or OAUTH_CLIENT_SECRET_FILE)".into(),
        ));
    };
    let endpoint = Url::parse(&introspection_url)
        .map_err(|_| ServeError::Config("OAUTH_INTROSPECTION_URL is not a valid URL".into()))?;
    let introspection = IntrospectionValidator::new(
        IntrospectionConfig::new(endpoint, client_id, secret, audience).issuer(issuer),
    )
    .map_err(|e| ServeError::Config(format!("OAUTH_INTROSPECTION_URL: {e}")))?;
    Ok(Arc::new(EitherValidator::new(jwt, introspection)))
}

/// Serves `server` over Streamable HTTP as the environment says, until SIGINT or SIGTERM.
pub async fn serve_from_env<S>(server: S) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    let addr: SocketAddr = var("MCP_HTTP_ADDR")
        .unwrap_or_else(|| "127.0.0.1:8000".into())
        .parse()
        .map_err(|_| {
            ServeError::Config("MCP_HTTP_ADDR must be an address like 127.0.0.1:8000".into())
        })?;
    let issuer = var("OAUTH_ISSUER");
    let audience = var("OAUTH_AUDIENCE");
    #[cfg(feature = "dev-auth")]
    let (issuer, audience, _dev_server) = if flag("MCP_DEV_AUTH") {
        if issuer.is_some() {
            return Err(ServeError::Config(
                "MCP_DEV_AUTH starts the development authorization server; unset OAUTH_ISSUER, \
                 or unset MCP_DEV_AUTH to use that issuer"
                    .into(),
            ));
        }
        let resource = audience.unwrap_or_else(|| format!("http://{addr}/mcp"));
        let dev = crate::dev_auth::start_from_env(S::server_policy(), &resource).await?;
        (Some(dev.issuer().to_owned()), Some(resource), Some(dev))
    } else {
        (issuer, audience, None)
    };
    let (Some(issuer), Some(audience)) = (issuer.clone(), audience.clone()) else {
        let missing: Vec<&str> = [
            ("OAUTH_ISSUER", issuer.is_none()),
            ("OAUTH_AUDIENCE", audience.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        return Err(ServeError::Config(format!(
            "MCP_TRANSPORT=http needs an OAuth configuration; missing: {} \
             (OAUTH_ISSUER is the authorization server, OAUTH_AUDIENCE this server's resource URI, \
             e.g. http://127.0.0.1:8000/mcp; or MCP_DEV_AUTH=true for the development server)",
            missing.join(", ")
        )));
    };
    let mut config = HttpConfig::new(&audience, issuer.clone())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    if let Some(origins) = var("MCP_HTTP_ALLOWED_ORIGINS") {
        config = config.allowed_origins(origins.split(',').map(str::trim));
    }
    let audience = config.resource().to_string();
    let validator = validator_from_env(&issuer, &audience).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let running = HttpServer::new(server, validator, config)
        .serve(listener)
        .await?;
    let token = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        token.cancel();
    });
    running.wait().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
