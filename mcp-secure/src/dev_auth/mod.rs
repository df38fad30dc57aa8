//! An embedded OAuth 2.1 authorization server **for development and tests**.
//!
//! It lets a secured server run over HTTP with no outside identity provider, through exactly
//! the resource-server code path a real provider uses (discovery, JWKS, audience binding).
//! Point `OAUTH_ISSUER` at a real provider and nothing else changes.
//!
//! What it does, and refuses:
//!
//! - RFC 8414 metadata and an OpenID discovery document; a JWKS; signing keys generated at
//!   start (RS256 by default; ES256 or EdDSA selectable), optionally persisted to a file so
//!   tokens survive a restart;
//! - RFC 7591 dynamic client registration (public clients with
//!   `token_endpoint_auth_method: none`; confidential ones for `client_credentials`);
//!   `redirect_uri` matched exactly, except that a loopback redirect may use any port
//!   (RFC 8252 §7.3);
//! - the authorization code grant with **PKCE S256 required** (no `plain`, no missing
//!   verifier), single-use codes that expire within 60 s (a replayed code revokes what it
//!   issued), `state` passed through, `iss` in the response (RFC 9207); auto-approval for tests
//!   and a minimal consent page for people;
//! - **resource indicators** (RFC 8707): `resource` is required, must be a configured
//!   resource, and becomes the token's `aud`; access tokens are RFC 9068 JWTs (`typ: at+jwt`)
//!   living 15 minutes by default (at most 60);
//! - **refresh token rotation**: every use returns a new refresh token and invalidates the old
//!   one; presenting a used refresh token revokes its whole family; a refresh may narrow the
//!   scope, never widen it;
//! - `client_credentials` for service clients; revocation (RFC 7009).
//!
//! It binds loopback only unless [`DevAuthConfig::allow_non_loopback`] is set. It keeps
//! everything in memory (bounded): it is not a production identity provider.

mod endpoints;
mod store;

use std::{
    fmt,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    routing::{get, post},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    ServeError,
    auth::{Algorithm, SigningKey},
    redact::SecretString,
    scope::ScopeSet,
};

/// A user of the development server and the scopes it may be granted.
#[derive(Debug, Clone)]
pub struct DevUser {
    /// The subject (`sub`).
    pub name: String,
    /// The most this user may be granted.
    pub scopes: ScopeSet,
}

impl DevUser {
    /// A user allowed `scopes` (space separated).
    pub fn new(name: impl Into<String>, scopes: &str) -> Result<Self, crate::ScopeError> {
        Ok(Self {
            name: name.into(),
            scopes: ScopeSet::parse(scopes)?,
        })
    }
}

/// A pre-registered confidential client (for `client_credentials`).
#[derive(Clone)]
pub struct DevClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: SecretString,
    /// The scopes it may be granted.
    pub scopes: ScopeSet,
}

impl fmt::Debug for DevClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevClient")
            .field("id", &self.id)
            .field("secret", &"***")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How authorization requests are approved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Approval {
    /// Approve at once, as this user (tests, the tour).
    Auto {
        /// The user every authorization is issued to.
        user: String,
    },
    /// Show a consent page where a person picks a user and approves or denies.
    Consent,
}

/// A setting is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DevAuthConfigError {
    /// Access token lifetime outside 1 s – 60 min.
    #[error("access tokens may live at most 60 minutes")]
    AccessTokenTtl,
    /// No user configured.
    #[error("configure at least one user")]
    NoUsers,
    /// No resource configured.
    #[error("configure at least one resource (the MCP server's resource URI)")]
    NoResources,
    /// Auto-approval names an unknown user.
    #[error("auto-approval names a user that is not configured")]
    UnknownAutoUser,
    /// A signing algorithm that cannot be used.
    #[error("the signing algorithm must be RS256, PS256, ES256, ES384 or EdDSA")]
    Algorithm,
}

/// Settings of the development authorization server.
#[derive(Debug, Clone)]
pub struct DevAuthConfig {
    users: Vec<DevUser>,
    clients: Vec<DevClient>,
    resources: Vec<String>,
    access_token_ttl: Duration,
    refresh_token_ttl: Duration,
    code_ttl: Duration,
    alg: Algorithm,
    key_file: Option<PathBuf>,
    approval: Approval,
    allow_non_loopback: bool,
    scopes_supported: ScopeSet,
}

impl DevAuthConfig {
    /// A server issuing tokens for `resource` (e.g. `http://127.0.0.1:8000/mcp`) to `users`,
    /// approving automatically as the first user.
    pub fn new(
        resource: impl Into<String>,
        users: Vec<DevUser>,
    ) -> Result<Self, DevAuthConfigError> {
        let first = users
            .first()
            .ok_or(DevAuthConfigError::NoUsers)?
            .name
            .clone();
        let mut scopes_supported = ScopeSet::new();
        for u in &users {
            scopes_supported.extend(u.scopes.iter());
        }
        Ok(Self {
            users,
            clients: Vec::new(),
            resources: vec![resource.into()],
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(24 * 3600),
            code_ttl: Duration::from_secs(60),
            alg: Algorithm::RS256,
            key_file: None,
            approval: Approval::Auto { user: first },
            allow_non_loopback: false,
            scopes_supported,
        })
    }

    /// Access token lifetime (default 15 minutes, at most 60).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Result<Self, DevAuthConfigError> {
        if ttl.is_zero() || ttl > Duration::from_secs(3600) {
            return Err(DevAuthConfigError::AccessTokenTtl);
        }
        self.access_token_ttl = ttl;
        Ok(self)
    }

    /// Refresh token family lifetime (default 24 h).
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// Authorization code lifetime (default and maximum 60 s).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl.min(Duration::from_secs(60));
        self
    }

    /// The signing algorithm (default RS256).
    pub fn algorithm(mut self, alg: Algorithm) -> Result<Self, DevAuthConfigError> {
        if !matches!(
            alg,
            Algorithm::RS256
                | Algorithm::PS256
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(DevAuthConfigError::Algorithm);
        }
        self.alg = alg;
        Ok(self)
    }

    /// Keep the signing key in this file (created with mode 0600 if missing) so tokens survive
    /// a restart.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// How authorizations are approved (default: automatically, as the first user).
    pub fn approval(mut self, approval: Approval) -> Result<Self, DevAuthConfigError> {
        if let Approval::Auto { user } = &approval
            && !self.users.iter().any(|u| &u.name == user)
        {
            return Err(DevAuthConfigError::UnknownAutoUser);
        }
        self.approval = approval;
        Ok(self)
    }

    /// Another resource tokens may be issued for.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// A pre-registered confidential client for `client_credentials`.
    pub fn client(mut self, client: DevClient) -> Self {
        self.scopes_supported.extend(client.scopes.iter());
        self.clients.push(client);
        self
    }

    /// Scopes advertised in the metadata (default: every user's and client's scopes).
    pub fn scopes_supported(mut self, scopes: ScopeSet) -> Self {
        self.scopes_supported = scopes;
        self
    }

    /// Allow binding a non-loopback address. The server is for development: do not.
    pub fn allow_non_loopback(mut self, allow: bool) -> Self {
        self.allow_non_loopback = allow;
        self
    }

    /// The resource URIs tokens may be issued for.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }
}

/// Shared state of a running server.
pub(crate) struct Shared {
    config: DevAuthConfig,
    issuer: String,
    key: SigningKey,
    store: Mutex<store::Store>,
}

impl Shared {
    fn store(&self) -> std::sync::MutexGuard<'_, store::Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running development authorization server.
#[derive(Debug)]
pub struct DevAuthServer {
    issuer: String,
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn load_or_create_key(config: &DevAuthConfig) -> Result<SigningKey, ServeError> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let kid = |der: &[u8]| {
        let h = store::hash(&STANDARD.encode(der));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..12])
    };
    let Some(path) = &config.key_file else {
        let key = SigningKey::generate(config.alg, "dev")
            .map_err(|e| ServeError::Config(format!("dev authorization server: {e}")))?;
        let kid = kid(key.to_pkcs8());
        return SigningKey::from_pkcs8(config.alg, kid, key.to_pkcs8())
            .map_err(|e| ServeError::Config(format!("dev authorization server: {e}")));
    };
    if let Ok(text) = std::fs::read_to_string(path) {
        let der = STANDARD.decode(text.trim()).map_err(|_| {
            ServeError::Config(format!(
                "dev key file {} is not base64 PKCS#8",
                path.display()
            ))
        })?;
        let kid = kid(&der);
        return SigningKey::from_pkcs8(config.alg, kid, &der).map_err(|_| {
            ServeError::Config(format!(
                "dev key file {} does not hold a {} key",
                path.display(),
                crate::auth::keys::alg_name(config.alg)
            ))
        });
    }
    let key = SigningKey::generate(config.alg, "dev")
        .map_err(|e| ServeError::Config(format!("dev authorization server: {e}")))?;
    let encoded = STANDARD.encode(key.to_pkcs8());
    write_private(path, &encoded)?;
    let kid = kid(key.to_pkcs8());
    SigningKey::from_pkcs8(config.alg, kid, key.to_pkcs8())
        .map_err(|e| ServeError::Config(format!("dev authorization server: {e}")))
}

fn write_private(path: &std::path::Path, contents: &str) -> Result<(), ServeError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

impl DevAuthServer {
    /// Starts the server on `listener`. Refuses a non-loopback address unless allowed.
    pub async fn start(config: DevAuthConfig, listener: TcpListener) -> Result<Self, ServeError> {
        crate::auth::install_crypto_provider();
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && !config.allow_non_loopback {
            return Err(ServeError::Config(format!(
                "the development authorization server only binds loopback addresses, not {addr}; \
                 use a real identity provider outside development"
            )));
        }
        if config.resources.is_empty() {
            return Err(ServeError::Config(
                DevAuthConfigError::NoResources.to_string(),
            ));
        }
        let key = load_or_create_key(&config)?;
        let issuer = format!("http://{addr}");
        let shared = Arc::new(Shared {
            config,
            issuer: issuer.clone(),
            key,
            store: Mutex::new(store::Store::default()),
        });
        {
            let mut store = shared.store();
            for client in &shared.config.clients {
                store.clients.insert(
                    client.id.clone(),
                    store::Client {
                        name: client.id.clone(),
                        redirect_uris: Vec::new(),
                        secret_hash: Some(store::secret_hash(&client.secret)),
                        grant_types: vec!["client_credentials".into()],
                        scopes: client.scopes.clone(),
                    },
                );
            }
        }
        let router = Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(endpoints::metadata),
            )
            .route(
                "/.well-known/openid-configuration",
                get(endpoints::metadata),
            )
            .route("/jwks", get(endpoints::jwks))
            .route("/register", post(endpoints::register))
            .route("/authorize", get(endpoints::authorize))
            .route("/authorize/decision", post(endpoints::decision))
            .route("/token", post(endpoints::token))
            .route("/revoke", post(endpoints::revoke))
            .with_state(shared);
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
        });
        tracing::info!(
            target: crate::audit::TARGET,
            issuer = %issuer,
            "development authorization server started (not for production)"
        );
        Ok(Self {
            issuer,
            addr,
            shutdown,
            task,
        })
    }

    /// The issuer (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Starts the development server configured from the environment, for `resource`:
///
/// | variable | meaning |
/// |---|---|
/// | `MCP_DEV_AUTH_ADDR` | listen address (default `127.0.0.1:9000`, loopback only) |
/// | `MCP_DEV_AUTH_USERS` | `name=scope scope;name=scope` (default: `developer` with every declared scope) |
/// | `MCP_DEV_AUTH_APPROVAL` | `consent` (default: a page to approve each authorization) or `auto` |
/// | `MCP_DEV_AUTH_KEY_FILE` | keep the signing key in this file |
/// | `MCP_DEV_AUTH_ALG` | `RS256` (default), `ES256` or `EdDSA` |
pub async fn start_from_env(
    policy: &crate::ServerPolicy,
    resource: &str,
) -> Result<DevAuthServer, ServeError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let bad = |what: &str| ServeError::Config(what.to_owned());
    let addr: SocketAddr = env("MCP_DEV_AUTH_ADDR")
        .unwrap_or_else(|| "127.0.0.1:9000".into())
        .parse()
        .map_err(|_| bad("MCP_DEV_AUTH_ADDR must be an address like 127.0.0.1:9000"))?;
    let users = match env("MCP_DEV_AUTH_USERS") {
        Some(spec) => parse_users(&spec).map_err(|e| bad(&format!("MCP_DEV_AUTH_USERS: {e}")))?,
        None => vec![DevUser {
            name: "developer".into(),
            scopes: policy.declared_scopes(),
        }],
    };
    let mut config = DevAuthConfig::new(resource, users).map_err(|e| bad(&e.to_string()))?;
    config = config.scopes_supported(policy.declared_scopes());
    match env("MCP_DEV_AUTH_APPROVAL")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("consent") => {
            config = config
                .approval(Approval::Consent)
                .map_err(|e| bad(&e.to_string()))?;
        }
        Some("auto") => {}
        Some(_) => return Err(bad("MCP_DEV_AUTH_APPROVAL must be `consent` or `auto`")),
    }
    if let Some(path) = env("MCP_DEV_AUTH_KEY_FILE") {
        config = config.key_file(path);
    }
    if let Some(alg) = env("MCP_DEV_AUTH_ALG") {
        let alg = match alg.as_str() {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            "EdDSA" => Algorithm::EdDSA,
            _ => return Err(bad("MCP_DEV_AUTH_ALG must be RS256, ES256 or EdDSA")),
        };
        config = config.algorithm(alg).map_err(|e| bad(&e.to_string()))?;
    }
    let listener = TcpListener::bind(addr).await?;
    let server = DevAuthServer::start(config, listener).await?;
    tracing::warn!(
        target: crate::audit::TARGET,
        issuer = %server.issuer(),
        "MCP_DEV_AUTH: using the embedded development authorization server; set OAUTH_ISSUER for a real one"
    );
    Ok(server)
}

/// `alice=data:read data:write;bob=data:read`.
fn parse_users(spec: &str) -> Result<Vec<DevUser>, String> {
    let mut users = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, scopes) = entry
            .split_once('=')
            .ok_or_else(|| "each user is `name=scope scope`".to_string())?;
        let name = name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.@".contains(&b))
        {
            return Err("user names are 1-64 characters of A-Z a-z 0-9 _ - . @".into());
        }
        users.push(DevUser::new(name, scopes.trim()).map_err(|e| e.to_string())?);
    }
    if users.is_empty() {
        return Err("no user given".into());
    }
    Ok(users)
}

/// Follows an authorization URL as a browser would, for an auto-approving server: returns the
/// `Location` it redirects to (the client's callback with `code`, `state` and `iss`). For the
/// tour and tests.
pub async fn approve_headless(authorization_url: &str) -> Result<String, ServeError> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| ServeError::Config("http client".into()))?;
    let response = client
        .get(authorization_url)
        .send()
        .await
        .map_err(|_| ServeError::Config("the authorization endpoint is unreachable".into()))?;
    response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ServeError::Config(format!(
                "the authorization endpoint answered {} without a redirect",
                response.status()
            ))
        })
}
