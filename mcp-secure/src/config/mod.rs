//! Configuration: one typed [`SecureConfig`] from a file (JSON or TOML) plus the environment.
//!
//! - Every setting is declared once, in a table that drives the file reader, the environment
//!   overlay, the unknown-key "did you mean" and the list of variables ([`variables`]).
//! - The file takes the security pattern set's shape as is:
//!   `{"security": {"auth_required": true, "oauth": {"pkce_required": true, "token_ttl_seconds": 3600, "refresh_rotation": true, "issuer": "…", "audience": "…"}, "rate_limit": 1000}}`,
//!   or the same in TOML. An unknown key is an error naming the key and its nearest valid one.
//! - Environment variables override the file.
//! - **Secrets come only from the environment**, or from files named by `*_FILE` variables
//!   (container secrets): `API_KEY`, `DATABASE_URL`, `REDIS_URL`, `OAUTH_CLIENT_SECRET` and any
//!   the server declares ([`SecretKey`]). A secret-looking key in the file is an error.
//! - Every problem is reported at once, each with the fix; rules that allow a deliberate
//!   relaxation are warnings (errors under `strict`), kept in [`SecureConfig::warnings`].
//! - `Debug` and `Display` show secrets as `***` (whether each is set stays visible), and
//!   [`SecureConfig::security`] registers every secret value with the output redactor.
//!
//! ```no_run
//! # fn main() -> Result<(), mcp_secure::config::ConfigError> {
//! use mcp_secure::config::{SecretKey, SecureConfig};
//!
//! const STRIPE_KEY: SecretKey = SecretKey::new("STRIPE_KEY");
//! let config = SecureConfig::loader().secret(STRIPE_KEY).load()?;
//! let stripe = config.secrets.get(STRIPE_KEY);
//! # let _ = stripe; Ok(()) }
//! ```

mod env;
mod file;
mod problem;
mod provider;
mod rules;
mod secrets;
mod settings;

use std::{
    fmt,
    hash::{Hash, Hasher},
    net::SocketAddr,
    path::{Path, PathBuf},
};

pub use env::{CONFIG_FILE_VAR, EnvVar, settings_markdown, variables};
pub use file::FileFormat;
pub use problem::{ConfigError, Problem, Severity};
pub use provider::{Preset, Provider};
pub use secrets::{DEFAULT_SECRETS, SecretKey, Secrets};

pub use crate::rate::FailurePolicy;
use crate::{
    principal::RateKeyBy,
    redact::{ExposeSecret, SecretString},
    scope::ScopeSet,
    security::SecurityBuilder,
};
use problem::Collector;

/// The transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TransportKind {
    /// stdin/stdout with a local principal (default).
    #[default]
    Stdio,
    /// Streamable HTTP with an OAuth 2.1 resource server.
    Http,
}

/// How a server treats DPoP (RFC 9449 sender-constrained tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// Bearer tokens only (a DPoP-bound token is still refused as a bearer token).
    #[default]
    Off,
    /// Bearer tokens and DPoP-bound tokens with proofs.
    Optional,
    /// DPoP-bound tokens with proofs only.
    Required,
}

impl DpopMode {
    /// `off`, `optional` or `required`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "false" | "no" => Some(Self::Off),
            "optional" => Some(Self::Optional),
            "required" | "true" | "yes" => Some(Self::Required),
            _ => None,
        }
    }

    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

/// How Streamable HTTP keeps (or does not keep) MCP sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Sessions {
    /// Every request stands alone (default): any replica can answer any request, but the
    /// server cannot ask the client anything (sampling, elicitation, roots) during a call.
    #[default]
    Stateless,
    /// `Mcp-Session-Id` sessions in this process: server-to-client requests and standalone
    /// SSE streams work; several replicas need sticky sessions.
    Stateful,
}

/// Where rate-limit state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RateStore {
    /// In this process (default).
    #[default]
    Memory,
    /// In Redis, shared by every replica (`REDIS_URL`).
    Redis,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `human`/`text`/`pretty` or `json`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "human" | "text" | "pretty" | "plain" => Some(Self::Human),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// `security.oauth`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthSettings {
    /// The identity provider whose tokens are accepted (its preset).
    pub provider: Provider,
    /// The authorization server's issuer; several, space separated, are each trusted with
    /// their own keys.
    pub issuer: Option<String>,
    /// This server's resource URI (RFC 8707, RFC 9728). Default: `audience`, when it is one
    /// URL.
    pub resource: Option<String>,
    /// The accepted `aud` values, space separated. Default: the resource.
    pub audience: Option<String>,
    /// For a multi-tenant provider (Entra): the tenants whose tokens are accepted.
    pub tenants: Vec<String>,
    /// Where scopes are read from (claim paths such as `scp`, `permissions`,
    /// `realm_access.roles`). Default: the provider's.
    pub scope_claims: Option<Vec<String>>,
    /// Where the client id is read from. Default: the provider's.
    pub client_id_claims: Option<Vec<String>>,
    /// A prefix scopes carry in tokens (Cognito's `resource-server-id/`), taken off.
    pub scope_prefix: Option<String>,
    /// Keep the caller's token (as a secret) in the `Principal`, for token exchange.
    pub keep_token: bool,
    /// DPoP-bound tokens (RFC 9449): off, optional or required.
    pub dpop: DpopMode,
    /// Require server nonces in DPoP proofs.
    pub dpop_nonce: bool,
    /// JWKS URL (default: from the issuer's metadata).
    pub jwks_url: Option<String>,
    /// A file holding a JWKS document: static keys instead of a JWKS URL.
    pub jwks_file: Option<PathBuf>,
    /// RFC 7662 introspection endpoint, for opaque tokens.
    pub introspection_url: Option<String>,
    /// This server's client id at the authorization server (for introspection).
    pub client_id: Option<String>,
    /// PKCE must be required by the authorization server (`S256` in its metadata).
    pub pkce_required: bool,
    /// The longest access token lifetime accepted (and issued by the development server).
    pub token_ttl_seconds: u64,
    /// The authorization server rotates refresh tokens.
    pub refresh_rotation: bool,
    /// Skip the start-up metadata check (air-gapped starts).
    pub skip_metadata_check: bool,
    /// Accept `typ: JWT` or no `typ` (a relaxation).
    pub allow_jwt_typ: bool,
    /// Clock-skew leeway.
    pub leeway_seconds: u64,
    /// The scopes a `401` challenge asks clients to start with (default: the lowest scope of
    /// each hierarchy chain).
    pub default_scopes: Option<ScopeSet>,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            provider: Provider::Generic,
            issuer: None,
            resource: None,
            audience: None,
            tenants: Vec::new(),
            scope_claims: None,
            client_id_claims: None,
            scope_prefix: None,
            keep_token: false,
            dpop: DpopMode::Off,
            dpop_nonce: false,
            jwks_url: None,
            jwks_file: None,
            introspection_url: None,
            client_id: None,
            pkce_required: true,
            token_ttl_seconds: 3600,
            refresh_rotation: true,
            skip_metadata_check: false,
            allow_jwt_typ: false,
            leeway_seconds: 30,
            default_scopes: None,
        }
    }
}

impl OAuthSettings {
    /// The accepted `aud` values (or, for a provider whose tokens have no `aud`, client ids):
    /// `audience`, else the resource.
    pub fn audiences(&self) -> Vec<&str> {
        match self.audience.as_deref() {
            Some(list) => list.split_whitespace().collect(),
            None => self.resource.as_deref().into_iter().collect(),
        }
    }

    /// This server's resource URI: `resource`, else `audience` when it is one http(s) URL.
    pub fn resource(&self) -> Option<&str> {
        if let Some(r) = self.resource.as_deref() {
            return Some(r);
        }
        match self
            .audience
            .as_deref()
            .map(|a| a.split_whitespace().collect::<Vec<_>>())
        {
            Some(list) if list.len() == 1 && is_http_url(list[0]) => Some(list[0]),
            _ => None,
        }
    }

    /// The trusted issuers: the configured ones; for Entra with a tenant allow-list and no
    /// issuer (or a multi-tenant one such as `/common/v2.0`), each tenant's issuer.
    pub fn issuers(&self) -> Vec<String> {
        let configured: Vec<String> = self
            .issuer
            .as_deref()
            .map(|i| i.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let multi_tenant =
            configured.is_empty() || configured.iter().any(|i| provider::is_multi_tenant(i));
        if self.provider == Provider::Entra && !self.tenants.is_empty() && multi_tenant {
            return self
                .tenants
                .iter()
                .map(|t| provider::entra_issuer(t))
                .collect();
        }
        configured
    }

    /// The provider's preset.
    pub fn preset(&self) -> Preset {
        self.provider.preset()
    }
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// `security.rate_limit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// A caller's calls per minute across every tool.
    pub per_minute: Option<u32>,
    /// Where the state lives.
    pub store: RateStore,
    /// What to do when the shared store cannot answer.
    pub failure_policy: FailurePolicy,
    /// What budgets are counted against.
    pub key_by: RateKeyBy,
    /// Longest wait for the shared store per decision.
    pub timeout_ms: u64,
    /// Most callers tracked in memory at once.
    pub max_keys: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_minute: None,
            store: RateStore::Memory,
            failure_policy: FailurePolicy::Closed,
            key_by: RateKeyBy::Subject,
            timeout_ms: 50,
            max_keys: 1_000_000,
        }
    }
}

/// `security.http`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSettings {
    /// Listen address.
    pub addr: SocketAddr,
    /// Browser origins allowed to call besides the resource's own.
    pub allowed_origins: Vec<String>,
    /// `Host` values accepted besides the resource's authority.
    pub allowed_hosts: Vec<String>,
    /// Proxies (addresses or CIDR blocks) whose forwarding headers name the client.
    pub trusted_proxies: Vec<String>,
    /// Stateless requests or stateful sessions.
    pub sessions: Sessions,
    /// Answer with plain JSON when a response is one message (else an SSE stream).
    pub json_response: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            sessions: Sessions::Stateless,
            json_response: true,
        }
    }
}

/// `security.limits`: how long a call and a request to the client may take.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LimitSettings {
    /// The longest a tool call may run, in seconds.
    pub tool_timeout_secs: u64,
    /// The longest a tool waits for the client to answer one request, in seconds.
    pub client_timeout_secs: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            tool_timeout_secs: crate::security::DEFAULT_TOOL_TIMEOUT.as_secs(),
            client_timeout_secs: crate::security::DEFAULT_CLIENT_TIMEOUT.as_secs(),
        }
    }
}

/// `security.logging`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogSettings {
    /// An `EnvFilter` directive.
    pub level: String,
    /// Human or JSON lines.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info,rmcp=warn".into(),
            format: LogFormat::Human,
        }
    }
}

/// `security.stdio`: the local caller of a stdio server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StdioSettings {
    /// The local caller's scopes; `None`: every scope the server declares.
    pub scopes: Option<ScopeSet>,
    /// The local caller's name in audit events.
    pub subject: String,
}

impl Default for StdioSettings {
    fn default() -> Self {
        Self {
            scopes: None,
            subject: "local".into(),
        }
    }
}

/// How the development authorization server approves authorizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DevApproval {
    /// A consent page where a person picks a user and approves or denies (default).
    #[default]
    Consent,
    /// At once, as the first user.
    Auto,
}

/// The development authorization server's signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DevAlgorithm {
    /// RS256 (default).
    #[default]
    Rs256,
    /// ES256.
    Es256,
    /// EdDSA (Ed25519).
    EdDsa,
}

/// A user of the development authorization server, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevUserSpec {
    /// The subject.
    pub name: String,
    /// The most this user may be granted.
    pub scopes: ScopeSet,
}

impl DevUserSpec {
    /// A user `name` (1-64 characters of `A-Z a-z 0-9 _ - . @`) allowed `scopes`.
    pub fn new(name: &str, scopes: &str) -> Result<Self, String> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.@".contains(&b))
        {
            return Err("user names are 1-64 characters of A-Z a-z 0-9 _ - . @".into());
        }
        let scopes = ScopeSet::parse(scopes).map_err(|e| e.to_string())?;
        Ok(Self {
            name: name.to_owned(),
            scopes,
        })
    }
}

/// `security.dev_auth`: the embedded development authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DevAuthSettings {
    /// Start it (HTTP only, instead of an `OAUTH_ISSUER`).
    pub enabled: bool,
    /// Its address (loopback only).
    pub addr: SocketAddr,
    /// Its users; `None`: one `developer` with every scope the server declares.
    pub users: Option<Vec<DevUserSpec>>,
    /// How it approves.
    pub approval: DevApproval,
    /// Keep its signing key in this file.
    pub key_file: Option<PathBuf>,
    /// Its signing algorithm.
    pub alg: DevAlgorithm,
}

impl Default for DevAuthSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            addr: SocketAddr::from(([127, 0, 0, 1], 9000)),
            users: None,
            approval: DevApproval::Consent,
            key_file: None,
            alg: DevAlgorithm::Rs256,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SecureConfig {
    /// The transport.
    pub transport: TransportKind,
    /// Authentication is required (it always is over HTTP).
    pub auth_required: bool,
    /// Warnings are errors.
    pub strict: bool,
    /// `security.oauth`.
    pub oauth: OAuthSettings,
    /// `security.rate_limit`.
    pub rate_limit: RateLimitSettings,
    /// `security.http`.
    pub http: HttpSettings,
    /// `security.logging`.
    pub logging: LogSettings,
    /// `security.limits`.
    pub limits: LimitSettings,
    /// `security.stdio`.
    pub stdio: StdioSettings,
    /// `security.dev_auth`.
    pub dev_auth: DevAuthSettings,
    /// Secrets from the environment.
    pub secrets: Secrets,
    /// The file it was read from.
    pub source: Option<PathBuf>,
    warnings: Vec<Problem>,
    /// The settings the file or the environment set (a preset fills only the others).
    explicit: Vec<&'static str>,
}

impl Default for SecureConfig {
    fn default() -> Self {
        Self {
            transport: TransportKind::Stdio,
            auth_required: true,
            strict: false,
            oauth: OAuthSettings::default(),
            rate_limit: RateLimitSettings::default(),
            http: HttpSettings::default(),
            logging: LogSettings::default(),
            limits: LimitSettings::default(),
            stdio: StdioSettings::default(),
            dev_auth: DevAuthSettings::default(),
            secrets: Secrets::default(),
            source: None,
            warnings: Vec::new(),
            explicit: Vec::new(),
        }
    }
}

impl fmt::Display for SecureConfig {
    /// A short summary, secrets masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        writeln!(f, "transport: {:?}", self.transport)?;
        writeln!(f, "auth_required: {}", self.auth_required)?;
        writeln!(f, "oauth.provider: {:?}", self.oauth.provider)?;
        writeln!(f, "oauth.issuer: {}", opt(&self.oauth.issuer))?;
        writeln!(f, "oauth.resource: {}", opt(&self.oauth.resource))?;
        writeln!(f, "oauth.audience: {}", opt(&self.oauth.audience))?;
        writeln!(
            f,
            "oauth.token_ttl_seconds: {}",
            self.oauth.token_ttl_seconds
        )?;
        writeln!(f, "http.addr: {}", self.http.addr)?;
        writeln!(
            f,
            "rate_limit: {:?} per minute, store {:?}",
            self.rate_limit.per_minute, self.rate_limit.store
        )?;
        write!(f, "secrets: {:?}", self.secrets)
    }
}

/// Reads the process environment.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn read_to_string(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Reads an environment variable.
pub type EnvReader<'a> = &'a dyn Fn(&str) -> Option<String>;
/// Reads a secret file.
pub type FileReader<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// Where a configuration comes from. Build one with [`SecureConfig::loader`].
///
/// By default: the file named by `MCP_CONFIG`, the process environment, and `*_FILE` secrets
/// read from disk; every secret is then also registered with the process-wide log redactor.
/// Tests can inject the file's text, the environment and the secret files instead; a
/// configuration loaded from an injected environment registers nothing process-wide.
#[must_use]
pub struct Loader<'a> {
    file: Option<(PathBuf, Option<&'a str>, FileFormat)>,
    env: Option<EnvReader<'a>>,
    read_file: Option<FileReader<'a>>,
    secrets: Vec<SecretKey>,
}

impl fmt::Debug for Loader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("file", &self.file.as_ref().map(|(p, _, _)| p))
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl<'a> Loader<'a> {
    /// Reads this file instead of the one `MCP_CONFIG` names (JSON, or TOML by extension).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let format = FileFormat::of(&path);
        self.file = Some((path, None, format));
        self
    }

    /// Uses `text` as the configuration file's contents.
    pub fn file_text(mut self, text: &'a str, format: FileFormat) -> Self {
        self.file = Some((PathBuf::new(), Some(text), format));
        self
    }

    /// Reads variables from `env` instead of the process environment.
    pub fn environment(mut self, env: EnvReader<'a>) -> Self {
        self.env = Some(env);
        self
    }

    /// Reads `*_FILE` secrets with `read` instead of from disk.
    pub fn secret_files(mut self, read: FileReader<'a>) -> Self {
        self.read_file = Some(read);
        self
    }

    /// Also reads this secret of the server's own (from its variable or `NAME_FILE`).
    pub fn secret(mut self, key: SecretKey) -> Self {
        self.secrets.push(key);
        self
    }

    /// Loads, validates, and reports every problem at once. Warnings stay in the result
    /// ([`SecureConfig::warnings`]).
    pub fn load(self) -> Result<SecureConfig, ConfigError> {
        let env: &dyn Fn(&str) -> Option<String> = self.env.unwrap_or(&process_env);
        let read_file: &dyn Fn(&Path) -> Option<String> = self.read_file.unwrap_or(&read_to_string);
        let process_wide = self.env.is_none();
        let file = match self.file {
            Some(file) => Some(file),
            None => env(CONFIG_FILE_VAR)
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    let path = PathBuf::from(p.trim());
                    let format = FileFormat::of(&path);
                    (path, None, format)
                }),
        };
        let mut c = Collector::default();
        let mut config = SecureConfig::default();
        if let Some((path, text, format)) = file {
            let owned;
            let text = match text {
                Some(t) => t,
                None => {
                    owned = std::fs::read_to_string(&path).map_err(|_| {
                        ConfigError::single(
                            path.display().to_string(),
                            "cannot read the configuration file",
                        )
                    })?;
                    config.source = Some(path);
                    &owned
                }
            };
            match file::parse(text, format) {
                Ok(value) => file::apply(&mut config, &value, &mut c),
                Err(e) => c.error("(file)", e),
            }
        }
        env::apply(&mut config, env, None, &mut c);
        config.secrets = Secrets::load(&self.secrets, env, read_file, &mut c);
        provider::apply(&mut config, &mut c);
        rules::check(&config, &mut c);
        config.warnings = c.finish(config.strict)?;
        if process_wide {
            // Masked in every log line from now on, whoever logs it.
            for (_, secret) in config.secrets.iter() {
                let _ = crate::redact::log_redactor().register(secret);
            }
        }
        Ok(config)
    }
}

impl SecureConfig {
    /// Loads from the file named by `MCP_CONFIG` (if set) and the process environment. For
    /// secrets of the server's own, or another file, use [`SecureConfig::loader`].
    pub fn load() -> Result<Self, ConfigError> {
        Self::loader().load()
    }

    /// A loader, to name the server's own secrets, another file, or (in tests) an injected
    /// environment.
    pub fn loader<'a>() -> Loader<'a> {
        Loader {
            file: None,
            env: None,
            read_file: None,
            secrets: Vec::new(),
        }
    }

    /// Whether the file or the environment set the setting `key` (`oauth.issuer`).
    pub fn explicitly_set(&self, key: &str) -> bool {
        self.explicit.contains(&key)
    }

    pub(crate) fn mark_set(&mut self, key: &'static str) {
        if !self.explicit.contains(&key) {
            self.explicit.push(key);
        }
    }

    /// The warnings found when loading: deliberate relaxations, logged at start (each an
    /// error under `strict`, which would have refused the configuration).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The logging settings from the environment alone (`LOG_FORMAT`, `LOG_LEVEL`), for code
    /// that sets up logging before (or without) loading a configuration.
    pub fn logging_from_env() -> Result<LogSettings, ConfigError> {
        let mut config = Self::default();
        let mut c = Collector::default();
        env::apply(&mut config, &process_env, Some("logging."), &mut c);
        c.finish(false)?;
        Ok(config.logging)
    }

    /// A [`SecurityBuilder`] with every secret registered with the output redactor and the
    /// configured rate limiting: the store (in memory, bounded by `max_keys`, or Redis with
    /// its timeout and failure policy) and the per-caller limit across tools.
    pub fn security(&self) -> SecurityBuilder {
        let mut builder = crate::Security::builder()
            .max_rate_keys(self.rate_limit.max_keys)
            .tool_timeout(std::time::Duration::from_secs(
                self.limits.tool_timeout_secs,
            ))
            .client_timeout(std::time::Duration::from_secs(
                self.limits.client_timeout_secs,
            ))
            .config_fingerprint(self.fingerprint());
        for (_, secret) in self.secrets.iter() {
            builder = builder.secret(secret);
        }
        if let Some(n) = self.rate_limit.per_minute.filter(|n| *n > 0) {
            builder = builder.global_rate(crate::policy::RateSpec::per_minute(n));
        }
        #[cfg(feature = "redis")]
        if self.rate_limit.store == RateStore::Redis
            && let Some(url) = self.secrets.get(SecretKey::REDIS_URL)
        {
            let limiter = crate::rate::RedisRateLimiter::builder(url.clone())
                .timeout(std::time::Duration::from_millis(self.rate_limit.timeout_ms))
                .failure_policy(self.rate_limit.failure_policy)
                .fallback_max_keys(self.rate_limit.max_keys)
                .build();
            builder = builder.rate_limiter(limiter);
        }
        builder
    }

    /// A digest of what [`SecureConfig::security`] builds from (rate limiting and which
    /// secrets are set): serving checks the server's `Security` came from this configuration.
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.rate_limit.hash(&mut h);
        self.limits.hash(&mut h);
        for (key, _) in self.secrets.iter() {
            key.hash(&mut h);
        }
        h.finish()
    }

    /// Whether the effective user is root (uid 0), where that can be told.
    pub fn running_as_root() -> bool {
        rules::running_as_root()
    }

    /// A warning (an error under `strict`) when running as root.
    pub fn root_problem(&self) -> Option<Problem> {
        rules::root_problem(self.strict)
    }
}

/// Exposes a secret for code that must hand it on (a connection string to a client library).
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests;
