//! The resource server a [`SecureConfig`] describes: its token validator and its HTTP
//! settings. The composition root ([`crate::serve`]) decides the issuer (a configured one, or
//! the development authorization server's) and hands it here.
//!
//! The settings used: `security.http.addr` (`MCP_HTTP_ADDR`, default `127.0.0.1:8000`),
//! `security.oauth.audience` (`OAUTH_AUDIENCE`, this server's canonical resource URI; default
//! `http://<addr>/mcp`), `jwks_url` (`OAUTH_JWKS_URL`; default the issuer's `jwks_uri`), or
//! `jwks_file` (`OAUTH_JWKS_FILE`, static keys), `introspection_url` + `client_id` + the
//! `OAUTH_CLIENT_SECRET` secret (opaque tokens), `token_ttl_seconds`, `leeway_seconds`,
//! `skip_metadata_check`, `allow_jwt_typ`, `http.allowed_origins`.

use std::{path::PathBuf, sync::Arc, time::Duration};

use rmcp::ServerHandler;
use url::Url;

use super::{HttpConfig, HttpConfigError, HttpServer};
use crate::{
    SecureServer, ServeError,
    auth::{
        DiscoveryError, EitherValidator, FetchError, IntrospectionConfig, IntrospectionValidator,
        JwksConfig, JwksSource, JwtConfig, JwtValidator, KeySource, TokenValidator, TypPolicy,
        discovery, jwt::JwtConfigError,
    },
    config::{SecretKey, SecureConfig},
};

/// Why a JWKS file could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksFileProblem {
    /// It cannot be read.
    Unreadable,
    /// It is not a JSON key set.
    NotJson,
    /// It holds no usable key.
    NoUsableKey,
}

/// The resource server could not be set up from the configuration. Each message names the
/// setting to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// No issuer.
    #[error(
        "MCP_TRANSPORT=http needs an OAuth configuration; missing: OAUTH_ISSUER (or set \
         MCP_DEV_AUTH=true for the development authorization server)"
    )]
    MissingIssuer,
    /// The resource URI or the issuer is unusable.
    #[error("{0}")]
    Http(#[from] HttpConfigError),
    /// A token setting is out of its safe range.
    #[error("{0} (OAUTH_LEEWAY_SECONDS, OAUTH_TOKEN_TTL_SECONDS)")]
    Jwt(#[from] JwtConfigError),
    /// The authorization server's metadata failed the start-up check.
    #[error("{0}")]
    Discovery(#[from] DiscoveryError),
    /// The JWKS file cannot be used.
    #[error("OAUTH_JWKS_FILE {path}: {}", match problem {
        JwksFileProblem::Unreadable => "cannot be read",
        JwksFileProblem::NotJson => "is not a JSON key set",
        JwksFileProblem::NoUsableKey => "holds no usable key",
    })]
    JwksFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: JwksFileProblem,
    },
    /// No JWKS URL.
    #[error(
        "no JWKS URL: set OAUTH_JWKS_URL (the issuer's metadata has none, or its check is \
         skipped with OAUTH_SKIP_METADATA_CHECK), or OAUTH_JWKS_FILE for static keys"
    )]
    NoJwksUrl,
    /// A URL setting is not a usable URL.
    #[error("{setting}: {reason}")]
    Url {
        /// The setting.
        setting: &'static str,
        /// Why.
        reason: FetchError,
    },
    /// Introspection without credentials.
    #[error(
        "introspection needs OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (or OAUTH_CLIENT_SECRET_FILE)"
    )]
    IntrospectionCredentials,
}

fn parse_url(setting: &'static str, url: &str) -> Result<Url, SetupError> {
    Url::parse(url).map_err(|_| SetupError::Url {
        setting,
        reason: FetchError::InsecureUrl,
    })
}

/// The validator for tokens from `issuer` for `audience` with default settings: the issuer's
/// metadata is checked (matching `issuer`, PKCE `S256`), keys come from its `jwks_uri`, `typ`
/// must be `at+jwt`.
pub async fn validator_for_issuer(
    issuer: &str,
    audience: &str,
) -> Result<Arc<dyn TokenValidator>, SetupError> {
    validator_from_config(&SecureConfig::default(), issuer, audience).await
}

fn jwt_config(
    config: &SecureConfig,
    issuer: &str,
    audience: &str,
) -> Result<JwtConfig, SetupError> {
    let o = &config.oauth;
    let mut jwt = JwtConfig::new(issuer, audience)
        .leeway(Duration::from_secs(o.leeway_seconds))
        .and_then(|c| c.max_lifetime(Duration::from_secs(o.token_ttl_seconds)))?
        .rate_key_by(config.rate_limit.key_by);
    if o.allow_jwt_typ {
        jwt = jwt.typ(TypPolicy::AllowJwt);
    }
    Ok(jwt)
}

/// Static keys from a JWKS document in `path`.
fn keys_from_file(path: &std::path::Path, jwt: &JwtConfig) -> Result<KeySource, SetupError> {
    let bad = |problem| SetupError::JwksFile {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|_| bad(JwksFileProblem::Unreadable))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| bad(JwksFileProblem::NotJson))?;
    let keys = KeySource::from_jwks_json(&doc, jwt.allowed_algorithms());
    if let KeySource::Static(set) = &keys
        && set.is_empty()
    {
        return Err(bad(JwksFileProblem::NoUsableKey));
    }
    Ok(keys)
}

/// The bearer-token validator `config` describes, for tokens from `issuer` naming `audience`.
pub async fn validator_from_config(
    config: &SecureConfig,
    issuer: &str,
    audience: &str,
) -> Result<Arc<dyn TokenValidator>, SetupError> {
    let o = &config.oauth;
    let jwt = jwt_config(config, issuer, audience)?;
    let metadata = if o.skip_metadata_check {
        tracing::warn!(target: crate::audit::TARGET, "the authorization server's metadata (issuer, PKCE S256) is not checked (OAUTH_SKIP_METADATA_CHECK)");
        None
    } else {
        Some(discovery::discover(issuer, Duration::from_secs(10)).await?)
    };
    let keys = match &o.jwks_file {
        Some(path) => keys_from_file(path, &jwt)?,
        None => {
            let url = o
                .jwks_url
                .clone()
                .or_else(|| metadata.as_ref().and_then(|m| m.jwks_uri.clone()))
                .ok_or(SetupError::NoJwksUrl)?;
            let url = parse_url("OAUTH_JWKS_URL", &url)?;
            let source = JwksSource::new(
                url,
                jwt.allowed_algorithms().to_vec(),
                JwksConfig::default(),
            )
            .map_err(|reason| SetupError::Url {
                setting: "OAUTH_JWKS_URL",
                reason,
            })?;
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
        config.secrets.get(SecretKey::OAUTH_CLIENT_SECRET).cloned(),
    ) else {
        return Err(SetupError::IntrospectionCredentials);
    };
    let endpoint = parse_url("OAUTH_INTROSPECTION_URL", &introspection_url)?;
    let mut introspection =
        IntrospectionConfig::new(endpoint, client_id, secret, audience).issuer(issuer);
    introspection.rate_key_by = config.rate_limit.key_by;
    let introspection =
        IntrospectionValidator::new(introspection).map_err(|reason| SetupError::Url {
            setting: "OAUTH_INTROSPECTION_URL",
            reason,
        })?;
    Ok(Arc::new(EitherValidator::new(jwt, introspection)))
}

/// This server's canonical resource URI: `oauth.audience`, else `http://<addr>/mcp`.
pub fn resource_uri(config: &SecureConfig) -> String {
    config
        .oauth
        .audience
        .clone()
        .unwrap_or_else(|| format!("http://{}/mcp", config.http.addr))
}

/// Serves `server` over Streamable HTTP as `config` says, trusting `issuer`, until SIGINT or
/// SIGTERM.
pub async fn serve_configured<S>(
    server: S,
    config: &SecureConfig,
    issuer: &str,
) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    let mut http = HttpConfig::new(&resource_uri(config), issuer).map_err(SetupError::from)?;
    if !config.http.allowed_origins.is_empty() {
        http = http.allowed_origins(config.http.allowed_origins.iter().cloned());
    }
    if let Some(scopes) = &config.oauth.default_scopes {
        http = http.starting_scopes(scopes.clone());
    }
    let audience = http.resource().to_string();
    let validator = validator_from_config(config, issuer, &audience).await?;
    let listener = tokio::net::TcpListener::bind(config.http.addr).await?;
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
