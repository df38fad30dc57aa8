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
//! It binds loopback addresses only, answers only requests whose `Host` is its own and whose
//! `Origin` (when present) is its own or a resource's (DNS-rebinding protection), refuses to
//! start under `MCP_STRICT=true`, and keeps everything in memory, bounded and expiring
//! (registered clients that never obtain a token are forgotten after an hour; when full, the
//! oldest unused registration makes room): it is not a production identity provider.

mod authorize;
mod client_auth;
mod consent;
mod metadata;
mod register;
mod revoke;
mod store;
mod token;
mod web;

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
    auth::{Algorithm, SigningKey, keys::SigningKeyError},
    config::{DevAlgorithm, DevApproval, DevAuthSettings},
    redact::SecretString,
    scope::ScopeSet,
};

/// The development authorization server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevAuthError {
    /// A setting is out of range.
    #[error("development authorization server: {0}")]
    Config(#[from] DevAuthConfigError),
    /// A non-loopback address: the development server never binds one.
    #[error(
        "the development authorization server only binds loopback addresses, not {0}; \
         use a real identity provider outside development"
    )]
    NotLoopback(SocketAddr),
    /// The key file holds no usable key of the configured algorithm.
    #[error("dev key file {path} does not hold a base64 PKCS#8 {alg} key (MCP_DEV_AUTH_KEY_FILE)")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The algorithm expected.
        alg: &'static str,
    },
    /// The signing key could not be made.
    #[error("development authorization server: {0}")]
    Key(#[from] SigningKeyError),
    /// Binding or writing the key file failed.
    #[error("development authorization server: {0}")]
    Io(#[from] std::io::Error),
}

/// [`approve_headless`] did not get a redirect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApproveError {
    /// The authorization endpoint could not be reached.
    #[error("the authorization endpoint is unreachable")]
    Unreachable,
    /// It answered without a redirect.
    #[error("the authorization endpoint answered {0} without a redirect")]
    NoRedirect(u16),
}

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
    allowed_origins: Vec<String>,
    scopes_supported: ScopeSet,
    /// RFC 8693 token exchange: which client may exchange a user's token for which audiences.
    exchange: Vec<(String, Vec<String>)>,
    /// `private_key_jwt` (RFC 7523): the public key each client signs its assertions with.
    client_keys: Vec<(String, serde_json::Value)>,
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
            allowed_origins: Vec::new(),
            scopes_supported,
            exchange: Vec::new(),
            client_keys: Vec::new(),
        })
    }

    /// Lets the confidential client `client_id` authenticate with `private_key_jwt` (RFC 7523
    /// client assertions, single use, audience this server's token endpoint or issuer) signed
    /// by the key whose public JWK is `public_jwk`, beside its secret.
    pub fn client_key(
        mut self,
        client_id: impl Into<String>,
        public_jwk: serde_json::Value,
    ) -> Self {
        self.client_keys.push((client_id.into(), public_jwk));
        self
    }

    /// Lets the confidential client `client_id` (one of [`DevAuthConfig::client`]) exchange a
    /// user's access token issued here for a token for one of `audiences` (RFC 8693), on the
    /// user's behalf: same subject, `act` naming the client, scopes no wider than the user's.
    /// No other client may exchange, and not for any other audience.
    pub fn token_exchange(
        mut self,
        client_id: impl Into<String>,
        audiences: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.exchange.push((
            client_id.into(),
            audiences.into_iter().map(Into::into).collect(),
        ));
        self
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

    /// Browser origins allowed to call besides this server's own and its resources' (e.g. a
    /// web client on another loopback port).
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
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
    /// DPoP proofs at the token endpoint (RFC 9449 section 5): when a client sends one, its
    /// tokens are bound to the proof's key.
    dpop: crate::auth::dpop::DpopVerifier,
    /// Checks subject tokens of token exchanges: issued here, for one of the resources.
    subjects: crate::auth::JwtValidator,
    /// `jti`s of client assertions already used.
    assertions: crate::auth::dpop::MemoryReplayStore,
}

impl Shared {
    fn subject_validator(&self) -> &crate::auth::JwtValidator {
        &self.subjects
    }

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

fn load_or_create_key(config: &DevAuthConfig) -> Result<SigningKey, DevAuthError> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let kid = |der: &[u8]| {
        let h = store::hash(&STANDARD.encode(der));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..12])
    };
    let Some(path) = &config.key_file else {
        let key = SigningKey::generate(config.alg, "dev")?;
        let kid = kid(key.to_pkcs8());
        return Ok(SigningKey::from_pkcs8(config.alg, kid, key.to_pkcs8())?);
    };
    if let Ok(text) = std::fs::read_to_string(path) {
        let bad = || DevAuthError::KeyFile {
            path: path.clone(),
            alg: crate::auth::keys::alg_name(config.alg),
        };
        let der = STANDARD.decode(text.trim()).map_err(|_| bad())?;
        let kid = kid(&der);
        return SigningKey::from_pkcs8(config.alg, kid, &der).map_err(|_| bad());
    }
    let key = SigningKey::generate(config.alg, "dev")?;
    let encoded = STANDARD.encode(key.to_pkcs8());
    write_private(path, &encoded)?;
    let kid = kid(key.to_pkcs8());
    Ok(SigningKey::from_pkcs8(config.alg, kid, key.to_pkcs8())?)
}

fn write_private(path: &std::path::Path, contents: &str) -> Result<(), std::io::Error> {
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

/// The `Host`/`Origin` guard of the development server, as the resource server has: a page
/// reached by DNS rebinding names another host and is refused before it can register, consent
/// or obtain tokens. Allowed: this server's own authority (`127.0.0.1:PORT`, `localhost:PORT`);
/// origins: its own, and those of the resources it issues tokens for.
fn request_guard(addr: SocketAddr, config: &DevAuthConfig) -> crate::http::guard::RequestGuard {
    let port = addr.port();
    let mut hosts = vec![addr.to_string(), format!("localhost:{port}")];
    let mut origins = vec![format!("http://{addr}"), format!("http://localhost:{port}")];
    if addr.ip().is_ipv6() {
        hosts.push(format!("[::1]:{port}"));
        origins.push(format!("http://[::1]:{port}"));
    }
    origins.extend(
        config
            .resources
            .iter()
            .filter_map(|r| url::Url::parse(r).ok())
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null"),
    );
    origins.extend(
        config
            .allowed_origins
            .iter()
            .filter_map(|o| crate::http::normalize_origin(o)),
    );
    crate::http::guard::RequestGuard::new(hosts, origins, crate::http::TrustedProxies::default())
}

impl DevAuthServer {
    /// Starts the server on `listener`. Refuses a non-loopback address unless allowed.
    pub async fn start(config: DevAuthConfig, listener: TcpListener) -> Result<Self, DevAuthError> {
        crate::auth::install_crypto_provider();
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(DevAuthError::NotLoopback(addr));
        }
        if config.resources.is_empty() {
            return Err(DevAuthConfigError::NoResources.into());
        }
        let key = load_or_create_key(&config)?;
        let issuer = format!("http://{addr}");
        let store = store::Store::new(config.refresh_token_ttl);
        let subjects = {
            let jwks = crate::auth::keys::jwks_document([&key]);
            let jwt = crate::auth::JwtConfig::new(issuer.clone(), config.resources[0].clone())
                .audiences(config.resources.iter().cloned());
            let keys = crate::auth::KeySource::from_jwks_json(&jwks, jwt.allowed_algorithms());
            crate::auth::JwtValidator::new(jwt, keys)
        };
        let shared = Arc::new(Shared {
            subjects,
            assertions: crate::auth::dpop::MemoryReplayStore::new(100_000),
            config,
            issuer: issuer.clone(),
            key,
            store: Mutex::new(store),
            dpop: crate::auth::dpop::DpopVerifier::new(
                crate::auth::dpop::DpopConfig::new(crate::auth::dpop::DpopMode::Optional),
                Arc::new(crate::auth::dpop::MemoryReplayStore::new(100_000)),
            ),
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
                        grant_types: vec![store::GrantType::ClientCredentials],
                        scopes: client.scopes.clone(),
                        lifetime: None,
                    },
                );
            }
        }
        let router = Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(metadata::metadata),
            )
            .route("/.well-known/openid-configuration", get(metadata::metadata))
            .route("/jwks", get(metadata::jwks))
            .route("/register", post(register::register))
            .route("/authorize", get(authorize::authorize))
            .route("/authorize/decision", post(consent::decision))
            .route("/token", post(token::token))
            .route("/revoke", post(revoke::revoke))
            .with_state(shared.clone())
            .layer(crate::http::GuardLayer::new(Arc::new(request_guard(
                addr,
                &shared.config,
            ))));
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

impl DevAuthConfig {
    /// The configuration `settings` describe (`security.dev_auth`, `MCP_DEV_AUTH_*`), issuing
    /// tokens for `resource` to the server with `policy`: without configured users, one
    /// `developer` with every scope the server declares.
    pub fn from_settings(
        settings: &DevAuthSettings,
        policy: &crate::ServerPolicy,
        resource: &str,
    ) -> Result<Self, DevAuthConfigError> {
        let users = match &settings.users {
            Some(users) => users
                .iter()
                .map(|u| DevUser {
                    name: u.name.clone(),
                    scopes: u.scopes.clone(),
                })
                .collect(),
            None => vec![DevUser {
                name: "developer".into(),
                scopes: policy.declared_scopes(),
            }],
        };
        let mut config = Self::new(resource, users)?.scopes_supported(policy.declared_scopes());
        if settings.approval == DevApproval::Consent {
            config = config.approval(Approval::Consent)?;
        }
        if let Some(path) = &settings.key_file {
            config = config.key_file(path);
        }
        config.algorithm(match settings.alg {
            DevAlgorithm::Rs256 => Algorithm::RS256,
            DevAlgorithm::Es256 => Algorithm::ES256,
            DevAlgorithm::EdDsa => Algorithm::EdDSA,
        })
    }
}

/// Starts the development server as `settings` say, for the server with `policy` at
/// `resource`, on `settings.addr`.
pub async fn start_configured(
    settings: &DevAuthSettings,
    policy: &crate::ServerPolicy,
    resource: &str,
) -> Result<DevAuthServer, DevAuthError> {
    let config = DevAuthConfig::from_settings(settings, policy, resource)?;
    let listener = TcpListener::bind(settings.addr).await?;
    let server = DevAuthServer::start(config, listener).await?;
    tracing::warn!(
        target: crate::audit::TARGET,
        issuer = %server.issuer(),
        "MCP_DEV_AUTH: using the embedded development authorization server; set OAUTH_ISSUER for a real one"
    );
    Ok(server)
}

/// Follows an authorization URL as a browser would, for an auto-approving server: returns the
/// `Location` it redirects to (the client's callback with `code`, `state` and `iss`). For the
/// tour and tests.
pub async fn approve_headless(authorization_url: &str) -> Result<String, ApproveError> {
    let client = crate::auth::fetch_client(Duration::from_secs(10));
    let response = client
        .get(authorization_url)
        .send()
        .await
        .map_err(|_| ApproveError::Unreachable)?;
    response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| ApproveError::NoRedirect(response.status().as_u16()))
}
