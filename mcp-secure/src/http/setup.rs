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
        AuthorizationServerMetadata, DiscoveryError, EitherValidator, FetchError,
        IntrospectionConfig, IntrospectionValidator, IssuerRouter, JwksConfig, JwksSource,
        JwtConfig, JwtValidator, KeySource, TokenValidator, TypPolicy, claims::ClaimMapping,
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
    /// An entry of the trusted-proxy list does not parse.
    #[error("MCP_TRUSTED_PROXIES: `{0}` is not an IP address or a CIDR block (like 10.0.0.0/8)")]
    Proxies(String),
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
    validator_from_config(&SecureConfig::default(), &[issuer.to_owned()], audience).await
}

/// The token checks `config` and its provider's preset describe, for `issuer`, accepting
/// `resource` unless other audiences are configured.
fn jwt_config(
    config: &SecureConfig,
    issuer: &str,
    resource: &str,
) -> Result<JwtConfig, SetupError> {
    let o = &config.oauth;
    let preset = o.preset();
    let mapping = ClaimMapping {
        scope_claims: o.scope_claims.clone().unwrap_or_else(|| {
            preset
                .scope_claims
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        }),
        client_id_claims: o.client_id_claims.clone().unwrap_or_else(|| {
            preset
                .client_id_claims
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        }),
        scope_prefix: o.scope_prefix.clone(),
        tenant_claim: preset.tenant_claim.map(str::to_owned),
    };
    let audiences: Vec<String> = if o.audience.is_some() {
        o.audiences().into_iter().map(str::to_owned).collect()
    } else {
        vec![resource.to_owned()]
    };
    let mut jwt = JwtConfig::new(issuer, resource)
        .audiences(audiences)
        .audience_claim(preset.audience_claim)
        .claim_mapping(mapping)
        .tenants(o.tenants.iter().cloned())
        .keep_token(o.keep_token)
        .leeway(Duration::from_secs(o.leeway_seconds))
        .and_then(|c| c.max_lifetime(Duration::from_secs(o.token_ttl_seconds)))?
        .rate_key_by(config.rate_limit.key_by);
    for (path, value) in preset.required_claims {
        jwt = jwt.require_claim(*path, *value);
    }
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

/// One issuer's validator: its metadata checked (unless skipped), its keys (a JWKS file, a
/// JWKS URL, or its `jwks_uri`). Also returns its metadata.
async fn issuer_validator(
    config: &SecureConfig,
    issuer: &str,
    resource: &str,
    single: bool,
) -> Result<(JwtValidator, Option<AuthorizationServerMetadata>), SetupError> {
    let o = &config.oauth;
    let jwt = jwt_config(config, issuer, resource)?;
    let metadata = if o.skip_metadata_check {
        tracing::warn!(target: crate::audit::TARGET, "the authorization server's metadata (issuer, PKCE S256) is not checked (OAUTH_SKIP_METADATA_CHECK)");
        None
    } else {
        let require_pkce = o.preset().pkce_in_metadata;
        Some(discovery::discover_with(issuer, Duration::from_secs(10), require_pkce).await?)
    };
    let keys = match (&o.jwks_file, single) {
        (Some(path), _) => keys_from_file(path, &jwt)?,
        _ => {
            let url = o
                .jwks_url
                .clone()
                .filter(|_| single)
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
    Ok((JwtValidator::new(jwt, keys), metadata))
}

/// The bearer-token validator `config` describes, for tokens from `issuers` (each with its
/// own keys) for this server at `resource`.
pub async fn validator_from_config(
    config: &SecureConfig,
    issuers: &[String],
    resource: &str,
) -> Result<Arc<dyn TokenValidator>, SetupError> {
    let o = &config.oauth;
    let first = issuers.first().ok_or(SetupError::MissingIssuer)?;
    let single = issuers.len() == 1;
    let mut validators: Vec<(String, Arc<dyn TokenValidator>)> = Vec::new();
    let mut first_metadata = None;
    for issuer in issuers {
        let (validator, metadata) = issuer_validator(config, issuer, resource, single).await?;
        if first_metadata.is_none() {
            first_metadata = metadata;
        }
        validators.push((issuer.clone(), Arc::new(validator)));
    }
    let jwt: Arc<dyn TokenValidator> = if single {
        validators
            .pop()
            .map(|(_, v)| v)
            .ok_or(SetupError::MissingIssuer)?
    } else {
        Arc::new(IssuerRouter::new(validators))
    };
    let introspection_url = o.introspection_url.clone().or_else(|| {
        o.client_id.as_ref().and(
            first_metadata
                .as_ref()
                .and_then(|m| m.introspection_endpoint.clone()),
        )
    });
    let Some(introspection_url) = introspection_url else {
        return Ok(jwt);
    };
    let (Some(client_id), Some(secret)) = (
        o.client_id.clone(),
        config.secrets.get(SecretKey::OAUTH_CLIENT_SECRET).cloned(),
    ) else {
        return Err(SetupError::IntrospectionCredentials);
    };
    let endpoint = parse_url("OAUTH_INTROSPECTION_URL", &introspection_url)?;
    let mut introspection =
        IntrospectionConfig::new(endpoint, client_id, secret, resource).issuer(first.clone());
    introspection.rate_key_by = config.rate_limit.key_by;
    let introspection =
        IntrospectionValidator::new(introspection).map_err(|reason| SetupError::Url {
            setting: "OAUTH_INTROSPECTION_URL",
            reason,
        })?;
    Ok(Arc::new(EitherValidator::new(jwt, introspection)))
}

/// This server's resource URI: `oauth.resource` (or `oauth.audience` when it is one URL),
/// else `http://<addr>/mcp`.
pub fn resource_uri(config: &SecureConfig) -> String {
    config
        .oauth
        .resource()
        .map_or_else(|| format!("http://{}/mcp", config.http.addr), str::to_owned)
}

/// The HTTP side of `server` as `config` says, trusting `issuers`: the resource URI, the
/// token validator (keys fetched, the authorization server's metadata checked), origins,
/// hosts, sessions. Nothing is bound yet: serve it with [`HttpServer::serve`], or merge its
/// [`router`](HttpServer::router) into an app of your own.
pub async fn http_server<S>(
    server: S,
    config: &SecureConfig,
    issuers: &[String],
) -> Result<HttpServer<S>, ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    let first = issuers.first().ok_or(SetupError::MissingIssuer)?;
    let mut http = HttpConfig::new(&resource_uri(config), first).map_err(SetupError::from)?;
    for issuer in &issuers[1..] {
        http = http.authorization_server(issuer.clone());
    }
    http = http
        .allowed_origins(config.http.allowed_origins.iter().cloned())
        .allowed_hosts(config.http.allowed_hosts.iter().cloned())
        .sessions(config.http.sessions)
        .json_response(config.http.json_response)
        .trusted_proxies(
            crate::http::TrustedProxies::parse(&config.http.trusted_proxies)
                .map_err(|e| SetupError::Proxies(e.0))?,
        );
    if let Some(scopes) = &config.oauth.default_scopes {
        http = http.starting_scopes(scopes.clone());
    }
    http = http
        .dpop(crate::auth::dpop::DpopConfig::new(config.oauth.dpop).nonce(config.oauth.dpop_nonce));
    // Replicas sharing rate limits through Redis share the proofs they have seen too.
    #[cfg(feature = "redis")]
    if config.oauth.dpop != crate::config::DpopMode::Off
        && config.rate_limit.store == crate::config::RateStore::Redis
        && let Some(url) = config.secrets.get(crate::config::SecretKey::REDIS_URL)
    {
        let store = crate::rate::RedisRateLimiter::builder(url.clone())
            .timeout(Duration::from_millis(config.rate_limit.timeout_ms))
            .build();
        http = http.dpop_replay_store(store);
    }
    let resource = http.resource().to_string();
    let validator = validator_from_config(config, issuers, &resource).await?;
    Ok(HttpServer::new(server, validator, http))
}

/// Serves `server` over Streamable HTTP as `config` says, trusting `issuers`, until SIGINT or
/// SIGTERM.
pub async fn serve_configured<S>(
    server: S,
    config: &SecureConfig,
    issuers: &[String],
) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler + Clone,
{
    let http = http_server(server, config, issuers).await?;
    let listener = tokio::net::TcpListener::bind(config.http.addr).await?;
    let running = http.serve(listener).await?;
    let token = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        token.cancel();
    });
    running.wait().await;
    Ok(())
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
