//! Streamable HTTP with an OAuth 2.1 resource server in front.
//!
//! [`HttpServer`] mounts a secured rmcp server behind rmcp's `StreamableHttpService` at the
//! resource's path (`/mcp`), on axum, and serves alongside it the RFC 9728 protected resource
//! metadata at `/.well-known/oauth-protected-resource` and the path-aware
//! `/.well-known/oauth-protected-resource/mcp`. Every request to the MCP endpoint passes the
//! bearer-token layer: no token → 401 with `resource_metadata`; a bad token → 401
//! `invalid_token`; a `tools/call` of a tool whose scopes the token lacks → 403
//! `insufficient_scope` with the tool's scopes, before the tool runs.
//!
//! Around it: loopback bind by default, `TCP_NODELAY` on every accepted connection, `Host`
//! and `Origin` validation (DNS rebinding), caps on header and body sizes, a header-read
//! timeout, per-address throttling of failed authentications (429), graceful shutdown.

mod bearer;
mod challenge;
mod client_addr;
mod coarse_timer;
pub(crate) mod guard;
mod layers;
mod metadata;
mod precheck;
mod sessions;
pub mod setup;
mod throttle;

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo, routing::get};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rmcp::{
    ServerHandler,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
        session::{SessionManager, local::LocalSessionManager, never::NeverSessionManager},
    },
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use challenge::Challenge;
pub use client_addr::{BadProxy, TrustedProxies};
pub use layers::{Bearer, BearerLayer, Guard, GuardLayer};
pub use metadata::ProtectedResourceMetadata;
pub use setup::serve_configured;

use crate::{SecureServer, ServeError, auth::TokenValidator, config::Sessions, policy::RateSpec};

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    resource: Url,
    authorization_servers: Vec<String>,
    allowed_origins: Vec<String>,
    extra_hosts: Vec<String>,
    max_body_bytes: usize,
    max_header_bytes: usize,
    header_timeout: Duration,
    failure_limit: RateSpec,
    sessions: Sessions,
    json_response: bool,
    scope_challenge: bool,
    resource_name: Option<String>,
    starting_scopes: Option<crate::scope::ScopeSet>,
    trusted_proxies: TrustedProxies,
    dpop: Option<crate::auth::dpop::DpopConfig>,
    dpop_replay: Option<Arc<dyn crate::auth::dpop::ReplayStore>>,
}

/// The HTTP settings are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpConfigError {
    /// The resource URI is not an absolute `http(s)` URL without fragment.
    #[error(
        "the resource URI (OAUTH_AUDIENCE) must be an absolute http(s) URL with a path and no \
         fragment, e.g. `https://mcp.example.com/mcp`"
    )]
    BadResource,
    /// No authorization server named.
    #[error("name at least one authorization server (OAUTH_ISSUER)")]
    NoAuthorizationServer,
}

impl HttpConfig {
    /// The server at `resource` (its canonical URI, which tokens must name in `aud`; its path
    /// is the MCP endpoint) trusting `authorization_server`.
    pub fn new(
        resource: &str,
        authorization_server: impl Into<String>,
    ) -> Result<Self, HttpConfigError> {
        let resource = canonical_resource(resource)?;
        let authorization_server = authorization_server.into();
        if authorization_server.is_empty() {
            return Err(HttpConfigError::NoAuthorizationServer);
        }
        Ok(Self {
            resource,
            authorization_servers: vec![authorization_server],
            allowed_origins: Vec::new(),
            extra_hosts: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            header_timeout: Duration::from_secs(10),
            failure_limit: RateSpec::new(30, 60, 30),
            sessions: Sessions::Stateless,
            json_response: true,
            scope_challenge: true,
            resource_name: None,
            starting_scopes: None,
            trusted_proxies: TrustedProxies::default(),
            dpop: None,
            dpop_replay: None,
        })
    }

    /// The canonical resource URI.
    pub fn resource(&self) -> &Url {
        &self.resource
    }

    /// The MCP endpoint path (the resource's path).
    pub fn endpoint_path(&self) -> &str {
        self.resource.path()
    }

    /// The absolute URL of the path-aware protected resource metadata.
    pub fn resource_metadata_url(&self) -> String {
        let mut url = self.resource.clone();
        let path = self.resource.path().trim_end_matches('/');
        url.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
        url.to_string()
    }

    /// Browser origins allowed to call besides the resource's own (`scheme://host[:port]`); a
    /// request whose `Origin` is present, not the resource's own origin and not listed is
    /// refused with 403. Default: only the resource's own origin (for a loopback resource, its
    /// loopback spellings with the same port).
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins = origins
            .into_iter()
            .filter_map(|o| normalize_origin(&o.into()))
            .collect();
        self
    }

    /// Extra `Host` values to accept besides the resource's authority.
    pub fn allowed_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.extra_hosts = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// Cap on a request body (default 4 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Cap on a request's header block (default 16 KiB, at least 8 KiB).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8192);
        self
    }

    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open (slow-loris protection; default 10 s, at least
    /// 100 ms). A slow connection is closed after this plus at most an eighth of it (one
    /// second at most): the deadline is checked by one ticker per server, not a timer per
    /// request.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(100));
        self
    }

    /// Failed authentications allowed per client address (default 30 a minute); beyond it the
    /// address gets 429 with `Retry-After` until it has earned one back.
    pub fn failure_limit(mut self, spec: RateSpec) -> Self {
        self.failure_limit = spec;
        self
    }

    /// Keep MCP sessions (`Mcp-Session-Id`) for clients on protocol versions before
    /// 2026-07-28 (default: stateless; every request carries its own token either way).
    /// Only with sessions can a tool ask the client something (sampling, elicitation, roots).
    pub fn stateful(self, on: bool) -> Self {
        self.sessions(if on {
            Sessions::Stateful
        } else {
            Sessions::Stateless
        })
    }

    /// Stateless requests (default) or stateful sessions; see [`Sessions`].
    pub fn sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = sessions;
        self
    }

    /// The session mode.
    pub fn session_mode(&self) -> Sessions {
        self.sessions
    }

    /// Answer simple requests with `application/json` rather than an SSE stream (default on).
    pub fn json_response(mut self, on: bool) -> Self {
        self.json_response = on;
        self
    }

    /// Answer `tools/call` of a tool the token's scopes do not allow with HTTP 403
    /// `insufficient_scope` before dispatch (default on). The in-tool check stays either way.
    pub fn scope_challenge(mut self, on: bool) -> Self {
        self.scope_challenge = on;
        self
    }

    /// The scopes a `401` challenge asks a client to start with (`scope="…"`); default: the
    /// server's [`starting_scopes`](crate::ServerPolicy::starting_scopes), the lowest of each
    /// hierarchy chain. Without one, clients ask for every scope in the metadata at once.
    pub fn starting_scopes(mut self, scopes: crate::scope::ScopeSet) -> Self {
        self.starting_scopes = Some(scopes);
        self
    }

    /// Proxies (addresses or CIDR blocks) whose `Forwarded`/`X-Forwarded-For` headers name
    /// the client: the failure throttle and the audit log key by that address instead of the
    /// proxy's. Default: none (the TCP peer is the client).
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// DPoP-bound tokens (RFC 9449): with [`DpopMode::Optional`](crate::auth::dpop::DpopMode)
    /// they are accepted with proofs beside bearer tokens, with `Required` nothing else is.
    /// Whatever the mode, a bound token is never accepted as a bearer token.
    pub fn dpop(mut self, config: crate::auth::dpop::DpopConfig) -> Self {
        self.dpop = (config.mode != crate::auth::dpop::DpopMode::Off).then_some(config);
        self
    }

    /// Where proof `jti`s are remembered (default: in memory, per process). Replicas share
    /// one (a [`RedisRateLimiter`](crate::rate::RedisRateLimiter) serves) so that a proof
    /// replayed to another replica is refused too.
    pub fn dpop_replay_store(mut self, store: Arc<dyn crate::auth::dpop::ReplayStore>) -> Self {
        self.dpop_replay = Some(store);
        self
    }

    /// `resource_name` in the metadata.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Adds another trusted authorization server to the metadata.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The origins allowed: the configured ones and the resource's own (for a loopback
    /// resource, each loopback spelling with the same port).
    fn allowed_origin_list(&self) -> Vec<String> {
        let mut origins = self.allowed_origins.clone();
        if let Some(own) = normalize_origin(self.resource.origin().ascii_serialization().as_str()) {
            origins.push(own);
        }
        if crate::auth::is_loopback(self.resource.host()) {
            let port = self
                .resource
                .port()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            for host in ["localhost", "127.0.0.1", "[::1]"] {
                origins.push(format!("{}://{host}{port}", self.resource.scheme()));
            }
        }
        origins.sort();
        origins.dedup();
        origins
    }

    /// The `Host` header values accepted: the resource's authority, and for a loopback
    /// resource the other loopback spellings with the same port.
    fn allowed_host_list(&self) -> Vec<String> {
        let mut hosts = self.extra_hosts.clone();
        if let Some(host) = self.resource.host_str() {
            let host = host.to_ascii_lowercase();
            let port = self.resource.port_or_known_default();
            let loopback = crate::auth::is_loopback(self.resource.host());
            let mut names = vec![host.clone()];
            if loopback {
                names.extend(["localhost".into(), "127.0.0.1".into(), "[::1]".into()]);
            }
            for name in names {
                if let Some(port) = port {
                    hosts.push(format!("{name}:{port}"));
                }
                if self.resource.port().is_none() {
                    hosts.push(name);
                }
            }
        }
        hosts.sort();
        hosts.dedup();
        hosts
    }
}

/// RFC 8707 canonical form: lower-case scheme and host, no fragment, no query, no trailing
/// slash except for the root path.
fn canonical_resource(resource: &str) -> Result<Url, HttpConfigError> {
    let url = Url::parse(resource).map_err(|_| HttpConfigError::BadResource)?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.fragment().is_some()
        || url.query().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(HttpConfigError::BadResource);
    }
    let mut url = url;
    let path = url.path().to_owned();
    if path.len() > 1 && path.ends_with('/') {
        url.set_path(path.trim_end_matches('/'));
    }
    Ok(url)
}

/// `scheme://host[:port]`, lower case, default port dropped; `None` if not an origin.
pub(crate) fn normalize_origin(origin: &str) -> Option<String> {
    if origin == "null" {
        return Some("null".into());
    }
    let url = Url::parse(origin).ok()?;
    let host = url.host_str()?;
    let mut out = format!("{}://{}", url.scheme(), host.to_ascii_lowercase());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    Some(out)
}

/// A running HTTP server.
#[derive(Debug)]
pub struct RunningHttpServer {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningHttpServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A token that stops the server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), and returns.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }

    /// Runs until the shutdown token is cancelled.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// A secured server served over Streamable HTTP.
pub struct HttpServer<S> {
    server: S,
    validator: Arc<dyn TokenValidator>,
    config: HttpConfig,
}

impl<S> std::fmt::Debug for HttpServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("config", &self.config)
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

impl<S> HttpServer<S>
where
    S: SecureServer + ServerHandler + Clone,
{
    /// `server` behind bearer-token validation by `validator`.
    pub fn new(server: S, validator: Arc<dyn TokenValidator>, config: HttpConfig) -> Self {
        Self {
            server,
            validator,
            config,
        }
    }

    /// The bearer-authentication layer of this server (see [`BearerLayer`]), for a router of
    /// your own that serves the MCP endpoint.
    pub fn bearer_layer(&self) -> BearerLayer {
        BearerLayer::new(Arc::new(bearer::AuthState::new(
            self.validator.clone(),
            S::server_policy(),
            &self.config,
        )))
    }

    /// The `Host`/`Origin` validation layer of this server (see [`GuardLayer`]).
    pub fn guard_layer(&self) -> GuardLayer {
        GuardLayer::new(Arc::new(guard::RequestGuard::new(
            self.config.allowed_host_list(),
            self.config.allowed_origin_list(),
            self.config.trusted_proxies.clone(),
        )))
    }

    /// The RFC 9728 protected resource metadata at `/.well-known/oauth-protected-resource`
    /// and at its path-aware form, without any layer or fallback.
    pub fn metadata_router(&self) -> Router {
        let config = &self.config;
        let metadata = Arc::new(ProtectedResourceMetadata::for_server(
            S::server_policy(),
            config,
        ));
        let well_known_root = "/.well-known/oauth-protected-resource".to_owned();
        let well_known_path = format!(
            "{well_known_root}{}",
            config.endpoint_path().trim_end_matches('/')
        );
        let mut app = Router::new();
        for path in [well_known_root, well_known_path] {
            let metadata = metadata.clone();
            app = app.route(&path, get(move || metadata::serve(metadata.clone())));
        }
        app
    }

    /// rmcp's Streamable HTTP service for this server at the endpoint path, in the
    /// configured session mode, behind the guard and the bearer layer. The layers wrap the
    /// service itself, not a route: each layer on a route would box and clone the route
    /// beneath it once more per request.
    fn mcp_service_router(&self, shutdown: CancellationToken) -> Router {
        let config = &self.config;
        let rmcp_config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(config.sessions == Sessions::Stateful)
            .with_json_response(config.json_response)
            .with_cancellation_token(shutdown)
            .with_max_request_body_bytes(config.max_body_bytes)
            // Origins are checked by the guard layer (rmcp's own check stays off: an empty
            // list), hosts by both.
            .with_allowed_hosts(config.allowed_host_list());
        match config.sessions {
            Sessions::Stateful => self.endpoint(LocalSessionManager::default(), rmcp_config),
            Sessions::Stateless => self.endpoint(NeverSessionManager::default(), rmcp_config),
        }
    }

    /// The endpoint route: rmcp's service with `sessions`, the guard and bearer layers on it.
    fn endpoint<M: SessionManager>(
        &self,
        sessions: M,
        rmcp_config: StreamableHttpServerConfig,
    ) -> Router {
        let server = self.server.clone();
        let service =
            StreamableHttpService::new(move || Ok(server.clone()), Arc::new(sessions), rmcp_config);
        let layers = (self.guard_layer(), self.bearer_layer());
        Router::new().route_service(
            self.config.endpoint_path(),
            tower::Layer::layer(&layers, service),
        )
    }

    /// The axum router: the MCP endpoint behind the bearer layer, the metadata documents, and
    /// `Host`/`Origin` validation on both. It has no fallback, so it merges into an app that
    /// has its own (`app.merge(router)`); [`HttpServer::serve`] adds a plain `404`.
    /// `shutdown` ends open SSE streams and sessions when cancelled.
    pub fn router(&self, shutdown: CancellationToken) -> Result<Router, ServeError> {
        S::secure_tool_router().map_err(ServeError::Router)?;
        crate::redact::ensure_compiled()?;
        let metadata = self.metadata_router().layer(self.guard_layer());
        Ok(self.mcp_service_router(shutdown).merge(metadata))
    }

    /// Serves on `listener` until the returned handle is shut down.
    pub async fn serve(self, listener: TcpListener) -> Result<RunningHttpServer, ServeError> {
        let shutdown = CancellationToken::new();
        let router = self
            .router(shutdown.child_token())?
            .fallback(|| async { http::StatusCode::NOT_FOUND });
        let local_addr = listener.local_addr()?;
        if !local_addr.ip().is_loopback() {
            tracing::warn!(
                target: crate::audit::TARGET,
                addr = %local_addr,
                "listening on a non-loopback address: put TLS in front of it"
            );
        }
        tracing::info!(
            target: crate::audit::TARGET,
            transport = "streamable_http",
            addr = %local_addr,
            resource = %self.config.resource,
            "serving over Streamable HTTP"
        );
        let max_header = self.config.max_header_bytes;
        let header_timeout = self.config.header_timeout;
        let token = shutdown.clone();
        let task = tokio::spawn(accept_loop(
            listener,
            router,
            token,
            max_header,
            header_timeout,
        ));
        Ok(RunningHttpServer {
            local_addr,
            shutdown,
            task,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    max_header_bytes: usize,
    header_timeout: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let timer = coarse_timer::CoarseTimer::start(header_timeout, shutdown.clone());
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => {
                    // Out of descriptors or similar: back off a little instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Without TCP_NODELAY every response waits ~40 ms on Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = tower::ServiceExt::oneshot(router, request).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|e| match e {}))
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(timer.connection())
            .header_read_timeout(header_timeout)
            .max_buf_size(max_header_bytes)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}
