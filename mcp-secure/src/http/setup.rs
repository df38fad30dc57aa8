//! Serving over HTTP from a [`SecureConfig`] (the transport policy of [`crate::serve`]).
//!
//! The settings used: `security.http.addr` (`MCP_HTTP_ADDR`, default `127.0.0.1:8000`),
//! `security.oauth.issuer` (`OAUTH_ISSUER`, required unless `MCP_DEV_AUTH=true`),
//! `security.oauth.audience` (`OAUTH_AUDIENCE`, this server's canonical resource URI; default
//! `http://<addr>/mcp`), `jwks_url` (`OAUTH_JWKS_URL`; default the issuer's `jwks_uri`, or
//! static keys from the file named by `OAUTH_JWKS_FILE`), `introspection_url` + `client_id` +
//! the `OAUTH_CLIENT_SECRET` secret (opaque tokens), `token_ttl_seconds`, `leeway_seconds`,
//! `skip_metadata_check`, `allow_jwt_typ`, `http.allowed_origins`.

use std::{sync::Arc, time::Duration};

use rmcp::ServerHandler;
use url::Url;

use super::{HttpConfig, HttpServer};
use crate::{
    SecureServer, ServeError,
    auth::{
        EitherValidator, IntrospectionConfig, IntrospectionValidator, JwksConfig, JwksSource,
        JwtConfig, JwtValidator, KeySource, TokenValidator, TypPolicy, discovery,
    },
    config::SecureConfig,
};

fn config_error(message: impl Into<String>) -> ServeError {
    ServeError::Config(message.into())
}

/// The validator for tokens from `issuer` for `audience` with default settings: the issuer's
/// metadata is checked (matching `issuer`, PKCE `S256`), keys come from its `jwks_uri`, `typ`
/// must be `at+jwt`.
pub async fn validator_for_issuer(
    issuer: &str,
    audience: &str,
) -> Result<Arc<dyn TokenValidator>, ServeError> {
    let mut config = SecureConfig::default();
    config.oauth.issuer = Some(issuer.to_owned());
    validator_from_config(&config, audience).await
}

fn jwt_config(
    config: &SecureConfig,
    issuer: &str,
    audience: &str,
) -> Result<JwtConfig, ServeError> {
    let o = &config.oauth;
    let mut jwt = JwtConfig::new(issuer, audience)
        .leeway(Duration::from_secs(o.leeway_seconds))
        .and_then(|c| c.max_lifetime(Duration::from_secs(o.token_ttl_seconds)))
        .map_err(|e| config_error(e.to_string()))?
        .rate_key_by(config.rate_limit.key_by);
    if o.allow_jwt_typ {
        jwt = jwt.typ(TypPolicy::AllowJwt);
    }
    Ok(jwt)
}

/// The bearer-token validator `config` describes, for tokens naming `audience`.
pub async fn validator_from_config(
    config: &SecureConfig,
    audience: &str,
) -> Result<Arc<dyn TokenValidator>, ServeError> {
    let o = &config.oauth;
    let issuer = o
        .issuer
        .as_deref()
        .ok_or_else(|| config_error("no authorization server: set OAUTH_ISSUER"))?;
    let jwt = jwt_config(config, issuer, audience)?;
    let metadata = if o.skip_metadata_check {
        tracing::warn!(target: crate::audit::TARGET, "the authorization server's metadata (issuer, PKCE S256) is not checked");
        None
    } else {
        Some(
            discovery::discover(issuer, Duration::from_secs(10))
                .await
                .map_err(|e| config_error(e.to_string()))?,
        )
    };
    let keys = match std::env::var("OAUTH_JWKS_FILE")
        .ok()
        .filter(|p| !p.trim().is_empty())
    {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|_| config_error(format!("OAUTH_JWKS_FILE: cannot read {path}")))?;
            let doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|_| config_error("OAUTH_JWKS_FILE is not a JSON key set"))?;
            let keys = KeySource::from_jwks_json(&doc, jwt.allowed_algorithms());
            if let KeySource::Static(set) = &keys
                && set.is_empty()
            {
                return Err(config_error("OAUTH_JWKS_FILE holds no usable key"));
            }
            keys
        }
        None => {
            let url = o
                .jwks_url
                .clone()
                .or_else(|| metadata.as_ref().and_then(|m| m.jwks_uri.clone()))
                .ok_or_else(|| config_error("no JWKS URL: set OAUTH_JWKS_URL (the issuer's metadata has none, or its check is skipped)"))?;
            let url =
                Url::parse(&url).map_err(|_| config_error("the JWKS URL is not a valid URL"))?;
            let source = JwksSource::new(
                url,
                jwt.allowed_algorithms().to_vec(),
                JwksConfig::default(),
            )
            .map_err(|e| config_error(format!("JWKS URL: {e}")))?;
            if let Err(e) = source.refresh().await {
                tracing::warn!(target: crate::audit::TARGET, reason = %e, "the JWKS could not be fetched at start-up; tokens are refused until it can");
            }
            KeySource::Jwks(Arc::new(source))
        }
    };
    let jwt = JwtValidator::new(jwt, keys);
    let introspection_url = o.introspection_url.clone().or_else(|| {
        o.client_id.as_ref().and(
            metadata
                .as_ref()
                .and_then(|m| m.introspection_endpoint.clone()),
        )
    });
    let Some(introspection_url) = introspection_url else {
        return Ok(Arc::new(jwt));
    };
    let (Some(client_id), Some(secret)) = (
        o.client_id.clone(),
        config.secrets.get("OAUTH_CLIENT_SECRET").cloned(),
    ) else {
        return Err(config_error(
            "introspection needs OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (or OAUTH_CLIENT_SECRET_FILE)",
        ));
    };
    let endpoint = Url::parse(&introspection_url)
        .map_err(|_| config_error("the introspection URL is not a valid URL"))?;
    let mut introspection =
        IntrospectionConfig::new(endpoint, client_id, secret, audience).issuer(issuer);
    introspection.rate_key_by = config.rate_limit.key_by;
    let introspection = IntrospectionValidator::new(introspection)
        .map_err(|e| config_error(format!("introspection URL: {e}")))?;
    Ok(Arc::new(EitherValidator::new(jwt, introspection)))
}

/// Serves `server` over Streamable HTTP as `config` says, until SIGINT or SIGTERM.
pub async fn serve_configured<S>(server: S, config: &SecureConfig) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    let addr = config.http.addr;
    let audience = config
        .oauth
        .audience
        .clone()
        .unwrap_or_else(|| format!("http://{addr}/mcp"));
    #[cfg(feature = "dev-auth")]
    let (_dev_server, config) = if config.dev_auth {
        let dev = crate::dev_auth::start_from_env(S::server_policy(), &audience).await?;
        let mut config = config.clone();
        config.oauth.issuer = Some(dev.issuer().to_owned());
        (Some(dev), std::borrow::Cow::Owned(config))
    } else {
        (None, std::borrow::Cow::Borrowed(config))
    };
    #[cfg(not(feature = "dev-auth"))]
    let config = if config.dev_auth {
        return Err(config_error(
            "MCP_DEV_AUTH needs the `dev-auth` feature of mcp-secure",
        ));
    } else {
        std::borrow::Cow::Borrowed(config)
    };
    let config: &SecureConfig = config.as_ref();
    let issuer = config.oauth.issuer.clone().ok_or_else(|| {
        config_error("MCP_TRANSPORT=http needs an OAuth configuration; missing: OAUTH_ISSUER")
    })?;
    let mut http = HttpConfig::new(&audience, issuer).map_err(|e| config_error(e.to_string()))?;
    if !config.http.allowed_origins.is_empty() {
        http = http.allowed_origins(config.http.allowed_origins.iter().cloned());
    }
    let audience = http.resource().to_string();
    let validator = validator_from_config(config, &audience).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let running = HttpServer::new(server, validator, http)
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
