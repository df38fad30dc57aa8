//! Configuration: one typed [`SecureConfig`] from a file (JSON or TOML) plus the environment.
//!
//! - The file takes the security pattern set's shape as is:
//!   `{"security": {"auth_required": true, "oauth": {"pkce_required": true, "token_ttl_seconds": 3600, "refresh_rotation": true, "issuer": "…", "audience": "…"}, "rate_limit": 1000}}`,
//!   or the same in TOML. An unknown key is an error naming the key and its nearest valid one.
//! - Environment variables override the file (table in [`ENV_VARS`]).
//! - **Secrets come only from the environment**, or from files named by `*_FILE` variables
//!   (container secrets): `API_KEY`, `DATABASE_URL`, `REDIS_URL`, `OAUTH_CLIENT_SECRET` and any
//!   the server declares. A secret-looking key in the file is an error.
//! - Every problem is reported at once, each with the fix; rules that allow a deliberate
//!   relaxation are warnings (errors under `strict`).
//! - `Debug` and `Display` show secrets as `***` (whether each is set stays visible), and
//!   [`SecureConfig::security`] registers every secret value with the output redactor.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde_json::{Map, Value};

use crate::{
    audit::LogFormat,
    principal::RateKeyBy,
    redact::{ExposeSecret, SecretString},
    security::SecurityBuilder,
};

/// The environment variables read, and what they override.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "MCP_CONFIG",
        "path of the configuration file (JSON or TOML)",
    ),
    (
        "MCP_TRANSPORT",
        "security.transport: stdio | http | streamable_http",
    ),
    ("MCP_AUTH_REQUIRED", "security.auth_required"),
    ("MCP_STRICT", "security.strict: warnings become errors"),
    (
        "MCP_DEV_AUTH",
        "true: the embedded development authorization server (HTTP, no OAUTH_ISSUER)",
    ),
    ("MCP_HTTP_ADDR", "security.http.addr"),
    (
        "MCP_HTTP_ALLOWED_ORIGINS",
        "security.http.allowed_origins (comma separated)",
    ),
    ("OAUTH_ISSUER", "security.oauth.issuer"),
    ("OAUTH_AUDIENCE", "security.oauth.audience"),
    ("OAUTH_JWKS_URL", "security.oauth.jwks_url"),
    (
        "OAUTH_INTROSPECTION_URL",
        "security.oauth.introspection_url",
    ),
    ("OAUTH_CLIENT_ID", "security.oauth.client_id"),
    (
        "OAUTH_TOKEN_TTL_SECONDS",
        "security.oauth.token_ttl_seconds",
    ),
    ("OAUTH_LEEWAY_SECONDS", "security.oauth.leeway_seconds"),
    (
        "OAUTH_SKIP_METADATA_CHECK",
        "security.oauth.skip_metadata_check",
    ),
    ("OAUTH_ALLOW_JWT_TYP", "security.oauth.allow_jwt_typ"),
    (
        "MCP_RATE_LIMIT",
        "security.rate_limit.per_minute (a caller's calls per minute across tools)",
    ),
    (
        "MCP_RATE_LIMIT_STORE",
        "security.rate_limit.store: memory | redis",
    ),
    (
        "MCP_RATE_LIMIT_FAILURE",
        "security.rate_limit.failure_policy: closed | open",
    ),
    (
        "MCP_RATE_LIMIT_KEY",
        "security.rate_limit.key_by: subject | client",
    ),
    ("LOG_LEVEL", "security.logging.level"),
    ("LOG_FORMAT", "security.logging.format: human | json"),
];

/// The secrets always looked for (each also as `NAME_FILE`).
pub const DEFAULT_SECRETS: &[&str] = &[
    "API_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "OAUTH_CLIENT_SECRET",
];

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Allowed, but a deliberate relaxation: logged at start (an error under `strict`).
    Warning,
    /// The configuration is refused.
    Error,
}

/// One problem with the configuration: where, and how to fix it. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The key (`security.oauth.issuer`) or variable (`OAUTH_ISSUER`).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.key, self.message)
    }
}

/// The configuration was refused; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// All problems, errors first.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        writeln!(f, "the configuration has {errors} error(s):")?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransportKind {
    /// stdin/stdout with a local principal (default).
    #[default]
    Stdio,
    /// Streamable HTTP with an OAuth 2.1 resource server.
    Http,
}

/// Where rate-limit state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateStore {
    /// In this process (default).
    #[default]
    Memory,
    /// In Redis, shared by every replica (`REDIS_URL`).
    Redis,
}

pub use crate::rate::FailurePolicy;

/// `security.oauth`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthSettings {
    /// The authorization server's issuer.
    pub issuer: Option<String>,
    /// This server's canonical resource URI.
    pub audience: Option<String>,
    /// JWKS URL (default: from the issuer's metadata).
    pub jwks_url: Option<String>,
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
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            jwks_url: None,
            introspection_url: None,
            client_id: None,
            pkce_required: true,
            token_ttl_seconds: 3600,
            refresh_rotation: true,
            skip_metadata_check: false,
            allow_jwt_typ: false,
            leeway_seconds: 30,
        }
    }
}

/// `security.rate_limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// A caller's calls per minute across all tools (on top of per-tool rates).
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
    /// Browser origins allowed to call.
    pub allowed_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            allowed_origins: Vec::new(),
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

/// Secret values by variable name. `Debug` and `Display` show `***` for each set secret.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, SecretString>,
    looked_for: Vec<String>,
}

impl Secrets {
    /// The secret read from `name` (or `name_FILE`).
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// Every secret that is set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The names looked for, set or not.
    pub fn names(&self) -> &[String] {
        &self.looked_for
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for name in &self.looked_for {
            let shown = if self.values.contains_key(name) {
                "***"
            } else {
                "(unset)"
            };
            map.entry(name, &shown);
        }
        map.finish()
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
    /// `MCP_DEV_AUTH`: the embedded development authorization server stands in for
    /// `OAUTH_ISSUER` over HTTP.
    pub dev_auth: bool,
    /// `security.oauth`.
    pub oauth: OAuthSettings,
    /// `security.rate_limit`.
    pub rate_limit: RateLimitSettings,
    /// `security.http`.
    pub http: HttpSettings,
    /// `security.logging`.
    pub logging: LogSettings,
    /// Secrets from the environment.
    pub secrets: Secrets,
    /// The file it was read from.
    pub source: Option<PathBuf>,
}

impl Default for SecureConfig {
    fn default() -> Self {
        Self {
            transport: TransportKind::Stdio,
            auth_required: true,
            strict: false,
            dev_auth: false,
            oauth: OAuthSettings::default(),
            rate_limit: RateLimitSettings::default(),
            http: HttpSettings::default(),
            logging: LogSettings::default(),
            secrets: Secrets::default(),
            source: None,
        }
    }
}

impl fmt::Display for SecureConfig {
    /// A short summary, secrets masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        writeln!(f, "transport: {:?}", self.transport)?;
        writeln!(f, "auth_required: {}", self.auth_required)?;
        writeln!(f, "oauth.issuer: {}", opt(&self.oauth.issuer))?;
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

/// The format of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

impl FileFormat {
    /// By extension: `.toml` is TOML, anything else JSON.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Self::Toml,
            _ => Self::Json,
        }
    }
}

const TOP_KEYS: &[&str] = &["security"];
const SECURITY_KEYS: &[&str] = &[
    "auth_required",
    "strict",
    "transport",
    "oauth",
    "rate_limit",
    "http",
    "logging",
];
const OAUTH_KEYS: &[&str] = &[
    "pkce_required",
    "token_ttl_seconds",
    "refresh_rotation",
    "issuer",
    "audience",
    "jwks_url",
    "introspection_url",
    "client_id",
    "skip_metadata_check",
    "allow_jwt_typ",
    "leeway_seconds",
];
const RATE_KEYS: &[&str] = &[
    "per_minute",
    "store",
    "failure_policy",
    "key_by",
    "timeout_ms",
    "max_keys",
];
const HTTP_KEYS: &[&str] = &["addr", "allowed_origins"];
const LOGGING_KEYS: &[&str] = &["level", "format"];

/// Whether a key names a secret (which belongs in the environment, never the file).
fn secret_like(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "secret",
        "password",
        "passwd",
        "apikey",
        "token",
        "databaseurl",
        "redisurl",
        "privatekey",
        "credential",
        "dsn",
        "connectionstring",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// The variable a secret-looking key should come from.
fn secret_variable(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    if k.contains("client_secret") {
        "OAUTH_CLIENT_SECRET".into()
    } else if k.contains("redis") {
        "REDIS_URL".into()
    } else if k.contains("database") || k.contains("dsn") {
        "DATABASE_URL".into()
    } else if k.contains("api") {
        "API_KEY".into()
    } else {
        key.to_ascii_uppercase()
    }
}

struct Collector {
    problems: Vec<Problem>,
}

impl Collector {
    fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            key: key.into(),
            message: message.into(),
        });
    }

    fn warning(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Warning,
            key: key.into(),
            message: message.into(),
        });
    }

    /// Checks an object's keys; returns it if it is an object.
    fn object<'a>(
        &mut self,
        value: &'a Value,
        path: &str,
        known: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(map) = value.as_object() else {
            self.error(path, "must be a table/object");
            return None;
        };
        for key in map.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let full = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if secret_like(key) {
                self.error(
                    full,
                    format!(
                        "secrets may not be in the configuration file; remove it and set {} (or {}_FILE) in the environment",
                        secret_variable(key),
                        secret_variable(key)
                    ),
                );
                continue;
            }
            let hint = crate_did_you_mean(key, known)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            self.error(
                full,
                format!("unknown key; {hint}valid keys here: {}", known.join(", ")),
            );
        }
        Some(map)
    }
}

fn crate_did_you_mean<'a>(unknown: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn get_bool(c: &mut Collector, map: &Map<String, Value>, path: &str, key: &str, slot: &mut bool) {
    match map.get(key) {
        None => {}
        Some(Value::Bool(b)) => *slot = *b,
        Some(_) => c.error(format!("{path}.{key}"), "must be true or false"),
    }
}

fn get_u64(c: &mut Collector, map: &Map<String, Value>, path: &str, key: &str) -> Option<u64> {
    match map.get(key)? {
        Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
        _ => {
            c.error(
                format!("{path}.{key}"),
                "must be a non-negative whole number",
            );
            None
        }
    }
}

fn get_string(
    c: &mut Collector,
    map: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        _ => {
            c.error(format!("{path}.{key}"), "must be a string");
            None
        }
    }
}

fn parse_transport(s: &str) -> Result<TransportKind, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "stdio" => Ok(TransportKind::Stdio),
        "http" | "streamable_http" | "streamable-http" => Ok(TransportKind::Http),
        "sse" => Err("the HTTP+SSE transport is deprecated and not offered; use `streamable_http` (Streamable HTTP) or `stdio`".into()),
        _ => Err("must be `stdio`, `http` or `streamable_http`".into()),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Where configuration values come from: a file's text, the environment, and files named by
/// `*_FILE` variables. Injectable so tests need not touch the process environment.
pub struct Sources<'a> {
    /// The file's text and format.
    pub file: Option<(&'a str, FileFormat)>,
    /// The file's path, for messages.
    pub file_path: Option<PathBuf>,
    /// Reads an environment variable.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Reads a secret file (for `*_FILE`).
    pub read_file: &'a dyn Fn(&Path) -> Option<String>,
    /// Secret variables the server declares, beyond [`DEFAULT_SECRETS`].
    pub secret_names: &'a [&'a str],
}

impl fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("file_path", &self.file_path)
            .field("secret_names", &self.secret_names)
            .finish_non_exhaustive()
    }
}

impl SecureConfig {
    /// Loads from `MCP_CONFIG` (if set) and the process environment, with `secret_names`
    /// declared beyond the defaults. Returns the warnings too.
    pub fn load(secret_names: &[&str]) -> Result<(Self, Vec<Problem>), ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        let path = env("MCP_CONFIG")
            .filter(|p| !p.trim().is_empty())
            .map(PathBuf::from);
        Self::load_file(path.as_deref(), secret_names)
    }

    /// Loads `file` (if any) and the process environment.
    pub fn load_file(
        file: Option<&Path>,
        secret_names: &[&str],
    ) -> Result<(Self, Vec<Problem>), ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        let read = |p: &Path| std::fs::read_to_string(p).ok();
        let text = match file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|_| ConfigError {
                problems: vec![Problem {
                    severity: Severity::Error,
                    key: path.display().to_string(),
                    message: "cannot read the configuration file".into(),
                }],
            })?),
            None => None,
        };
        Self::from_sources(&Sources {
            file: text.as_deref().zip(file.map(FileFormat::of)),
            file_path: file.map(Path::to_path_buf),
            env: &env,
            read_file: &read,
            secret_names,
        })
    }

    /// Builds the configuration from explicit sources.
    pub fn from_sources(sources: &Sources<'_>) -> Result<(Self, Vec<Problem>), ConfigError> {
        let mut c = Collector {
            problems: Vec::new(),
        };
        let mut config = Self {
            source: sources.file_path.clone(),
            ..Self::default()
        };
        if let Some((text, format)) = sources.file {
            let parsed: Result<Value, String> = match format {
                FileFormat::Json => serde_json::from_str(text).map_err(|e| {
                    format!("not valid JSON (line {}, column {})", e.line(), e.column())
                }),
                FileFormat::Toml => toml::from_str::<toml::Table>(text)
                    .map_err(|e| match e.span() {
                        Some(span) => format!("not valid TOML (at byte {})", span.start),
                        None => "not valid TOML".to_string(),
                    })
                    .and_then(|t| {
                        serde_json::to_value(t).map_err(|_| "not valid TOML".to_string())
                    }),
            };
            match parsed {
                Ok(value) => config.apply_file(&value, &mut c),
                Err(e) => c.error("(file)", e),
            }
        }
        config.apply_env(sources.env, &mut c);
        config.load_secrets(sources, &mut c);
        config.validate(&mut c);
        let mut problems = c.problems;
        if config.strict {
            for p in &mut problems {
                p.severity = Severity::Error;
            }
        }
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        if problems.iter().any(|p| p.severity == Severity::Error) {
            Err(ConfigError { problems })
        } else {
            Ok((config, problems))
        }
    }

    fn apply_file(&mut self, value: &Value, c: &mut Collector) {
        let Some(top) = c.object(value, "", TOP_KEYS) else {
            return;
        };
        let Some(security) = top.get("security") else {
            return;
        };
        let Some(sec) = c.object(security, "security", SECURITY_KEYS) else {
            return;
        };
        get_bool(c, sec, "security", "auth_required", &mut self.auth_required);
        get_bool(c, sec, "security", "strict", &mut self.strict);
        if let Some(t) = get_string(c, sec, "security", "transport") {
            match parse_transport(&t) {
                Ok(t) => self.transport = t,
                Err(e) => c.error("security.transport", e),
            }
        }
        if let Some(oauth) = sec.get("oauth")
            && let Some(o) = c.object(oauth, "security.oauth", OAUTH_KEYS)
        {
            let p = "security.oauth";
            get_bool(c, o, p, "pkce_required", &mut self.oauth.pkce_required);
            get_bool(
                c,
                o,
                p,
                "refresh_rotation",
                &mut self.oauth.refresh_rotation,
            );
            get_bool(
                c,
                o,
                p,
                "skip_metadata_check",
                &mut self.oauth.skip_metadata_check,
            );
            get_bool(c, o, p, "allow_jwt_typ", &mut self.oauth.allow_jwt_typ);
            if let Some(v) = get_u64(c, o, p, "token_ttl_seconds") {
                self.oauth.token_ttl_seconds = v;
            }
            if let Some(v) = get_u64(c, o, p, "leeway_seconds") {
                self.oauth.leeway_seconds = v;
            }
            for (key, slot) in [
                ("issuer", &mut self.oauth.issuer),
                ("audience", &mut self.oauth.audience),
                ("jwks_url", &mut self.oauth.jwks_url),
                ("introspection_url", &mut self.oauth.introspection_url),
                ("client_id", &mut self.oauth.client_id),
            ] {
                if let Some(v) = get_string(c, o, p, key) {
                    *slot = Some(v);
                }
            }
        }
        match sec.get("rate_limit") {
            None => {}
            // The pattern set's shape: a number is the per-caller limit per minute.
            Some(Value::Number(n)) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) => self.rate_limit.per_minute = Some(v),
                None => c.error(
                    "security.rate_limit",
                    "must be a whole number of calls per minute",
                ),
            },
            Some(table) => {
                if let Some(r) = c.object(table, "security.rate_limit", RATE_KEYS) {
                    let p = "security.rate_limit";
                    if let Some(v) = get_u64(c, r, p, "per_minute") {
                        self.rate_limit.per_minute = u32::try_from(v).ok();
                    }
                    if let Some(v) = get_u64(c, r, p, "timeout_ms") {
                        self.rate_limit.timeout_ms = v;
                    }
                    if let Some(v) = get_u64(c, r, p, "max_keys") {
                        self.rate_limit.max_keys = usize::try_from(v).unwrap_or(usize::MAX);
                    }
                    if let Some(v) = get_string(c, r, p, "store") {
                        self.set_store(&v, "security.rate_limit.store", c);
                    }
                    if let Some(v) = get_string(c, r, p, "failure_policy") {
                        self.set_failure(&v, "security.rate_limit.failure_policy", c);
                    }
                    if let Some(v) = get_string(c, r, p, "key_by") {
                        self.set_key_by(&v, "security.rate_limit.key_by", c);
                    }
                }
            }
        }
        if let Some(http) = sec.get("http")
            && let Some(h) = c.object(http, "security.http", HTTP_KEYS)
        {
            if let Some(addr) = get_string(c, h, "security.http", "addr") {
                self.set_addr(&addr, "security.http.addr", c);
            }
            match h.get("allowed_origins") {
                None => {}
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                    self.http.allowed_origins = items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect();
                }
                Some(_) => c.error(
                    "security.http.allowed_origins",
                    "must be a list of origins like \"https://app.example.com\"",
                ),
            }
        }
        if let Some(logging) = sec.get("logging")
            && let Some(l) = c.object(logging, "security.logging", LOGGING_KEYS)
        {
            if let Some(level) = get_string(c, l, "security.logging", "level") {
                self.logging.level = level;
            }
            if let Some(format) = get_string(c, l, "security.logging", "format") {
                match LogFormat::parse(&format) {
                    Some(f) => self.logging.format = f,
                    None => c.error("security.logging.format", "must be `human` or `json`"),
                }
            }
        }
    }

    fn set_store(&mut self, v: &str, key: &str, c: &mut Collector) {
        match v.trim().to_ascii_lowercase().as_str() {
            "memory" => self.rate_limit.store = RateStore::Memory,
            "redis" => self.rate_limit.store = RateStore::Redis,
            _ => c.error(key, "must be `memory` or `redis`"),
        }
    }

    fn set_failure(&mut self, v: &str, key: &str, c: &mut Collector) {
        match v.trim().to_ascii_lowercase().as_str() {
            "closed" | "fail_closed" | "deny" => self.rate_limit.failure_policy = FailurePolicy::Closed,
            "open" | "fail_open" | "local" => self.rate_limit.failure_policy = FailurePolicy::Open,
            _ => c.error(key, "must be `closed` (deny when the store is down) or `open` (fall back to the in-process limiter)"),
        }
    }

    fn set_key_by(&mut self, v: &str, key: &str, c: &mut Collector) {
        match v.trim().to_ascii_lowercase().as_str() {
            "subject" | "sub" | "user" => self.rate_limit.key_by = RateKeyBy::Subject,
            "client" | "client_id" => self.rate_limit.key_by = RateKeyBy::Client,
            _ => c.error(key, "must be `subject` or `client`"),
        }
    }

    fn set_addr(&mut self, v: &str, key: &str, c: &mut Collector) {
        match v.trim().parse() {
            Ok(addr) => self.http.addr = addr,
            Err(_) => c.error(key, "must be an address like 127.0.0.1:8000"),
        }
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>, c: &mut Collector) {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let flag = |k: &str, c: &mut Collector, slot: &mut bool| {
            if let Some(v) = get(k) {
                match parse_bool(&v) {
                    Some(b) => *slot = b,
                    None => c.error(k, "must be true or false"),
                }
            }
        };
        if let Some(t) = get("MCP_TRANSPORT") {
            match parse_transport(&t) {
                Ok(t) => self.transport = t,
                Err(e) => c.error("MCP_TRANSPORT", e),
            }
        }
        flag("MCP_AUTH_REQUIRED", c, &mut self.auth_required);
        flag("MCP_STRICT", c, &mut self.strict);
        flag("MCP_DEV_AUTH", c, &mut self.dev_auth);
        flag(
            "OAUTH_SKIP_METADATA_CHECK",
            c,
            &mut self.oauth.skip_metadata_check,
        );
        flag("OAUTH_ALLOW_JWT_TYP", c, &mut self.oauth.allow_jwt_typ);
        if let Some(v) = get("MCP_HTTP_ADDR") {
            self.set_addr(&v, "MCP_HTTP_ADDR", c);
        }
        if let Some(v) = get("MCP_HTTP_ALLOWED_ORIGINS") {
            self.http.allowed_origins = v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        for (var, slot) in [
            ("OAUTH_ISSUER", &mut self.oauth.issuer),
            ("OAUTH_AUDIENCE", &mut self.oauth.audience),
            ("OAUTH_JWKS_URL", &mut self.oauth.jwks_url),
            ("OAUTH_INTROSPECTION_URL", &mut self.oauth.introspection_url),
            ("OAUTH_CLIENT_ID", &mut self.oauth.client_id),
        ] {
            if let Some(v) = get(var) {
                *slot = Some(v);
            }
        }
        for (var, slot) in [
            ("OAUTH_TOKEN_TTL_SECONDS", &mut self.oauth.token_ttl_seconds),
            ("OAUTH_LEEWAY_SECONDS", &mut self.oauth.leeway_seconds),
        ] {
            if let Some(v) = get(var) {
                match v.trim().parse() {
                    Ok(n) => *slot = n,
                    Err(_) => c.error(var, "must be a whole number of seconds"),
                }
            }
        }
        if let Some(v) = get("MCP_RATE_LIMIT") {
            match v.trim().parse() {
                Ok(n) => self.rate_limit.per_minute = Some(n),
                Err(_) => c.error(
                    "MCP_RATE_LIMIT",
                    "must be a whole number of calls per minute",
                ),
            }
        }
        if let Some(v) = get("MCP_RATE_LIMIT_STORE") {
            self.set_store(&v, "MCP_RATE_LIMIT_STORE", c);
        }
        if let Some(v) = get("MCP_RATE_LIMIT_FAILURE") {
            self.set_failure(&v, "MCP_RATE_LIMIT_FAILURE", c);
        }
        if let Some(v) = get("MCP_RATE_LIMIT_KEY") {
            self.set_key_by(&v, "MCP_RATE_LIMIT_KEY", c);
        }
        if let Some(v) = get("LOG_LEVEL") {
            self.logging.level = v;
        }
        if let Some(v) = get("LOG_FORMAT") {
            match LogFormat::parse(&v) {
                Some(f) => self.logging.format = f,
                None => c.error("LOG_FORMAT", "must be `human` or `json`"),
            }
        }
    }

    fn load_secrets(&mut self, sources: &Sources<'_>, c: &mut Collector) {
        let mut names: Vec<String> = DEFAULT_SECRETS.iter().map(|s| (*s).to_owned()).collect();
        names.extend(sources.secret_names.iter().map(|s| (*s).to_owned()));
        names.sort();
        names.dedup();
        for name in &names {
            let direct = (sources.env)(name).filter(|v| !v.is_empty());
            let file_var = format!("{name}_FILE");
            let from_file = (sources.env)(&file_var).filter(|v| !v.trim().is_empty());
            let value = match (direct, from_file) {
                (Some(v), _) => Some(v),
                (None, Some(path)) => match (sources.read_file)(Path::new(path.trim())) {
                    Some(mut v) => {
                        if v.ends_with('\n') {
                            v.pop();
                            if v.ends_with('\r') {
                                v.pop();
                            }
                        }
                        Some(v)
                    }
                    None => {
                        c.error(file_var, "names a file that cannot be read");
                        None
                    }
                },
                (None, None) => None,
            };
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                let secret = SecretString::from(v);
                // Masked in every log line from now on, whoever logs it.
                let _ = crate::redact::log_redactor().register(&secret);
                self.secrets.values.insert(name.clone(), secret);
            }
        }
        self.secrets.looked_for = names;
    }

    fn validate(&self, c: &mut Collector) {
        let o = &self.oauth;
        if !(900..=3600).contains(&o.token_ttl_seconds) {
            c.error(
                "security.oauth.token_ttl_seconds",
                format!(
                    "{} s is outside 900-3600: access tokens should live 15 to 60 minutes; set a value in that range",
                    o.token_ttl_seconds
                ),
            );
        }
        if !o.pkce_required {
            c.error(
                "security.oauth.pkce_required",
                "PKCE cannot be turned off: OAuth 2.1 and MCP require it (S256); set it to true",
            );
        }
        if !o.refresh_rotation {
            c.warning(
                "security.oauth.refresh_rotation",
                "refresh tokens are not rotated: acceptable only for sender-constrained refresh tokens; set it to true otherwise",
            );
        }
        if o.leeway_seconds > 60 {
            c.error(
                "security.oauth.leeway_seconds",
                "leeway above 60 s weakens expiry checks; set at most 60",
            );
        }
        if o.allow_jwt_typ {
            c.warning("security.oauth.allow_jwt_typ", "tokens without typ at+jwt are accepted (RFC 9068 relaxation): an ID token of the same issuer and audience would pass");
        }
        if o.skip_metadata_check {
            c.warning(
                "security.oauth.skip_metadata_check",
                "the authorization server's metadata (issuer, PKCE S256) is not checked at start",
            );
        }
        for (key, url) in [
            ("security.oauth.issuer", &o.issuer),
            ("security.oauth.jwks_url", &o.jwks_url),
            ("security.oauth.introspection_url", &o.introspection_url),
        ] {
            let Some(url) = url else { continue };
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" => {}
                Ok(u) if u.scheme() == "http" && is_loopback(&u) => {}
                Ok(u) if u.scheme() == "http" => c.error(
                    key,
                    "plain http is only allowed to a loopback address; use https",
                ),
                _ => c.error(key, "must be an absolute https URL"),
            }
        }
        if self.transport == TransportKind::Http {
            if !self.auth_required {
                c.error(
                    "security.auth_required",
                    "authentication cannot be turned off over HTTP; set it to true (or use stdio)",
                );
            }
            if self.dev_auth && o.issuer.is_some() {
                c.error("MCP_DEV_AUTH", "starts the development authorization server: unset OAUTH_ISSUER, or unset MCP_DEV_AUTH to use that issuer");
            }
            if o.issuer.is_none() && !self.dev_auth {
                c.error("security.oauth.issuer", "HTTP needs an authorization server: set OAUTH_ISSUER (or MCP_DEV_AUTH=true for the development server)");
            }
            if o.audience.is_none() && !self.dev_auth {
                c.error(
                    "security.oauth.audience",
                    "HTTP needs this server's canonical resource URI, which tokens must name in `aud`: \
                     set OAUTH_AUDIENCE, e.g. https://mcp.example.com/mcp",
                );
            }
            if !self.http.addr.ip().is_loopback() {
                c.warning(
                    "security.http.addr",
                    "listening beyond loopback: put TLS in front of the server",
                );
            }
        }
        if self.rate_limit.per_minute == Some(0) {
            c.error(
                "security.rate_limit",
                "a rate limit of 0 refuses every call; set a positive number or leave it unset",
            );
        }
        if self.rate_limit.store == RateStore::Redis {
            #[cfg(feature = "redis")]
            match self.secrets.get("REDIS_URL") {
                None => c.error(
                    "REDIS_URL",
                    "the Redis rate-limit store needs REDIS_URL (or REDIS_URL_FILE) in the environment",
                ),
                Some(url) => {
                    if let Err(why) = crate::rate::RedisRateLimiter::check_url(url) {
                        c.error("REDIS_URL", why);
                    }
                }
            }
            #[cfg(not(feature = "redis"))]
            c.error(
                "security.rate_limit.store",
                "the Redis store needs the `redis` feature of mcp-secure",
            );
        }
        if self.rate_limit.timeout_ms == 0 || self.rate_limit.timeout_ms > 5_000 {
            c.error(
                "security.rate_limit.timeout_ms",
                "must be between 1 and 5000 ms",
            );
        }
    }

    /// A [`SecurityBuilder`] with every secret registered with the output redactor and the
    /// configured rate limiting: the store (in memory, bounded by `max_keys`, or Redis with
    /// its timeout and failure policy) and the per-caller limit across tools.
    pub fn security(&self) -> SecurityBuilder {
        let mut builder = crate::Security::builder().max_rate_keys(self.rate_limit.max_keys);
        for (_, secret) in self.secrets.iter() {
            builder = builder.secret(secret);
        }
        if let Some(n) = self.rate_limit.per_minute.filter(|n| *n > 0) {
            builder = builder.global_rate(crate::policy::RateSpec::per_minute(n));
        }
        #[cfg(feature = "redis")]
        if self.rate_limit.store == RateStore::Redis
            && let Some(url) = self.secrets.get("REDIS_URL")
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

    /// Whether the effective user is root (uid 0), where that can be told.
    pub fn running_as_root() -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// A warning (an error under `strict`) when running as root.
    pub fn root_problem(&self) -> Option<Problem> {
        Self::running_as_root().then(|| Problem {
            severity: if self.strict {
                Severity::Error
            } else {
                Severity::Warning
            },
            key: "process".into(),
            message: "running as root (uid 0): run the server as an unprivileged user".into(),
        })
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Exposes a secret for code that must hand it on (a connection string to a client library).
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(
        file: Option<(&str, FileFormat)>,
        env: &[(&str, &str)],
    ) -> Result<(SecureConfig, Vec<Problem>), ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let get = move |k: &str| env.get(k).cloned();
        let read = |p: &Path| {
            (p == Path::new("/run/secrets/api")).then(|| "from-file-secret\n".to_string())
        };
        SecureConfig::from_sources(&Sources {
            file,
            file_path: None,
            env: &get,
            read_file: &read,
            secret_names: &["CUSTOM_TOKEN"],
        })
    }

    const SEED: &str = r#"{"security": {"auth_required": true, "oauth": {"pkce_required": true, "token_ttl_seconds": 3600, "refresh_rotation": true, "issuer": "https://auth.example.com", "audience": "https://mcp.example.com/mcp"}, "rate_limit": 1000}}"#;

    #[test]
    fn the_seed_shaped_json_loads_unchanged() {
        let (c, warnings) = load(Some((SEED, FileFormat::Json)), &[]).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(c.auth_required);
        assert!(c.oauth.pkce_required && c.oauth.refresh_rotation);
        assert_eq!(c.oauth.token_ttl_seconds, 3600);
        assert_eq!(c.oauth.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(
            c.oauth.audience.as_deref(),
            Some("https://mcp.example.com/mcp")
        );
        assert_eq!(c.rate_limit.per_minute, Some(1000));
    }

    #[test]
    fn the_same_in_toml() {
        let toml = r#"
[security]
auth_required = true
rate_limit = 1000

[security.oauth]
pkce_required = true
token_ttl_seconds = 3600
refresh_rotation = true
issuer = "https://auth.example.com"
audience = "https://mcp.example.com/mcp"
"#;
        let (t, _) = load(Some((toml, FileFormat::Toml)), &[]).unwrap();
        let (j, _) = load(Some((SEED, FileFormat::Json)), &[]).unwrap();
        assert_eq!(t.oauth, j.oauth);
        assert_eq!(t.rate_limit, j.rate_limit);
    }

    fn problems(r: Result<(SecureConfig, Vec<Problem>), ConfigError>) -> Vec<Problem> {
        match r {
            Ok((_, w)) => w,
            Err(e) => e.problems,
        }
    }

    #[test]
    fn unknown_keys_name_the_nearest_valid_one() {
        let p = problems(load(
            Some((
                r#"{"security": {"oauth": {"issuerr": "x"}, "rate_limt": 5}}"#,
                FileFormat::Json,
            )),
            &[],
        ));
        assert!(
            p.iter().any(|p| p.key == "security.oauth.issuerr"
                && p.message.contains("did you mean `issuer`")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.key == "security.rate_limt"
                && p.message.contains("did you mean `rate_limit`")),
            "{p:?}"
        );
    }

    #[test]
    fn a_secret_in_the_file_is_an_error_and_never_echoed() {
        let r = load(
            Some((
                r#"{"security": {"oauth": {"client_secret": "CANARY-S1"}, "api_key": "CANARY-S2"}}"#,
                FileFormat::Json,
            )),
            &[],
        );
        let e = r.unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("security.oauth.client_secret") && text.contains("OAUTH_CLIENT_SECRET"),
            "{text}"
        );
        assert!(
            text.contains("security.api_key") && text.contains("API_KEY"),
            "{text}"
        );
        assert!(!text.contains("CANARY"));
    }

    #[test]
    fn every_rule_is_reported_at_once() {
        let file = r#"{"security": {"auth_required": false, "transport": "http", "oauth": {"pkce_required": false, "token_ttl_seconds": 86400, "refresh_rotation": false, "issuer": "http://auth.example.com"}, "rate_limit": 0}}"#;
        let p = problems(load(Some((file, FileFormat::Json)), &[]));
        let keys: Vec<(&str, Severity)> = p.iter().map(|p| (p.key.as_str(), p.severity)).collect();
        for expected in [
            ("security.oauth.token_ttl_seconds", Severity::Error),
            ("security.oauth.pkce_required", Severity::Error),
            ("security.oauth.refresh_rotation", Severity::Warning),
            ("security.auth_required", Severity::Error),
            ("security.oauth.issuer", Severity::Error),
            ("security.rate_limit", Severity::Error),
        ] {
            assert!(
                keys.contains(&expected),
                "{expected:?} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn strict_turns_warnings_into_errors() {
        let file = r#"{"security": {"strict": true, "oauth": {"refresh_rotation": false}}}"#;
        let e = load(Some((file, FileFormat::Json)), &[]).unwrap_err();
        assert!(e.problems.iter().all(|p| p.severity == Severity::Error));
        let (_, w) = load(
            Some((
                r#"{"security": {"oauth": {"refresh_rotation": false}}}"#,
                FileFormat::Json,
            )),
            &[],
        )
        .unwrap();
        assert_eq!(w.len(), 1);
    }

    #[cfg(feature = "redis")]
    #[test]
    fn the_redis_store_needs_a_usable_url_and_never_repeats_it() {
        let e = load(None, &[("MCP_RATE_LIMIT_STORE", "redis")]).unwrap_err();
        assert!(e.to_string().contains("REDIS_URL"), "{e}");
        let e = load(
            None,
            &[
                ("MCP_RATE_LIMIT_STORE", "redis"),
                ("REDIS_URL", "http://u:CANARY-REDIS@h/"),
            ],
        )
        .unwrap_err();
        assert!(e.to_string().contains("REDIS_URL"), "{e}");
        assert!(!e.to_string().contains("CANARY"), "{e}");
        let (c, _) = load(
            None,
            &[
                ("MCP_RATE_LIMIT_STORE", "redis"),
                ("MCP_RATE_LIMIT_FAILURE", "open"),
                ("MCP_RATE_LIMIT", "90"),
                ("REDIS_URL", "redis://:CANARY-REDIS@127.0.0.1:6379/2"),
            ],
        )
        .unwrap();
        assert_eq!(c.rate_limit.store, RateStore::Redis);
        assert_eq!(c.rate_limit.failure_policy, FailurePolicy::Open);
        let security = c.security().build();
        assert_eq!(
            security.global_rate(),
            Some(&crate::RateSpec::per_minute(90))
        );
        let debug = format!("{security:?}");
        assert!(debug.contains("RedisRateLimiter"), "{debug}");
        assert!(!debug.contains("CANARY"), "{debug}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let (c, _) = load(
            Some((SEED, FileFormat::Json)),
            &[
                ("OAUTH_ISSUER", "https://other.example.com"),
                ("MCP_RATE_LIMIT", "7"),
                ("MCP_TRANSPORT", "stdio"),
            ],
        )
        .unwrap();
        assert_eq!(c.oauth.issuer.as_deref(), Some("https://other.example.com"));
        assert_eq!(c.rate_limit.per_minute, Some(7));
        let e = load(None, &[("MCP_TRANSPORT", "sse")]).unwrap_err();
        assert!(e.to_string().contains("deprecated"));
    }

    #[test]
    fn secrets_from_env_or_files_and_debug_shows_stars() {
        let (c, _) = load(
            None,
            &[
                ("API_KEY_FILE", "/run/secrets/api"),
                ("DATABASE_URL", "postgresql://u:CANARY-DB@h/db"),
                ("CUSTOM_TOKEN", "CANARY-CUSTOM"),
            ],
        )
        .unwrap();
        assert_eq!(
            c.secrets.get("API_KEY").map(|s| s.expose_secret()),
            Some("from-file-secret")
        );
        assert!(c.secrets.get("CUSTOM_TOKEN").is_some());
        let debug = format!("{c:?}");
        let display = c.to_string();
        for shown in [&debug, &display] {
            assert!(
                !shown.contains("CANARY") && !shown.contains("from-file-secret"),
                "{shown}"
            );
            assert!(
                shown.contains("\"API_KEY\": \"***\"")
                    && shown.contains("\"REDIS_URL\": \"(unset)\""),
                "{shown}"
            );
        }
        let security = c.security().build();
        assert_eq!(security.redactor().secret_count(), 3);
    }

    #[test]
    fn an_unreadable_secret_file_is_an_error() {
        let e = load(None, &[("API_KEY_FILE", "/nope")]).unwrap_err();
        assert_eq!(e.problems[0].key, "API_KEY_FILE");
    }

    #[test]
    fn type_errors_are_collected() {
        let p = problems(load(
            Some((
                r#"{"security": {"auth_required": "yes", "oauth": {"token_ttl_seconds": "1h"}}}"#,
                FileFormat::Json,
            )),
            &[],
        ));
        assert!(p.iter().any(|p| p.key == "security.auth_required"));
        assert!(
            p.iter()
                .any(|p| p.key == "security.oauth.token_ttl_seconds")
        );
    }

    #[test]
    fn malformed_files_say_where() {
        let e = load(Some(("{\"security\": ", FileFormat::Json)), &[]).unwrap_err();
        assert!(e.to_string().contains("line 1"));
    }
}
