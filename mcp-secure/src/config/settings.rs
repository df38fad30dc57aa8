//! The settings table: one declaration per setting drives the file reader, the environment
//! overlay, the unknown-key "did you mean", and the documentation list.
//!
//! Adding a setting is one entry here (its file key under `security`, its environment
//! variable, the form of its value, what it means, and where it lands) plus its use.

use std::{net::SocketAddr, path::PathBuf};

use serde_json::Value;

use super::{
    DevAlgorithm, DevApproval, DevUserSpec, FailurePolicy, LogFormat, Provider, RateStore,
    SecureConfig, Sessions, TransportKind,
};
use crate::{principal::RateKeyBy, scope::ScopeSet};

/// A value as it arrives: text from the environment, or JSON (TOML is converted) from the
/// file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Text(&'a str),
    Json(&'a Value),
}

/// Why a value was refused: `None` for "must be {form}", or a message of its own.
pub(crate) type Refusal = Option<String>;

/// A type a setting's value parses into.
pub(crate) trait Kind: Sized {
    fn parse_text(text: &str) -> Result<Self, Refusal>;

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        match value {
            Value::String(s) => Self::parse_text(s),
            _ => Err(None),
        }
    }

    fn parse(raw: Raw<'_>) -> Result<Self, Refusal> {
        match raw {
            Raw::Text(t) => Self::parse_text(t),
            Raw::Json(v) => Self::parse_json(v),
        }
    }
}

impl Kind for bool {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(None),
        }
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        value.as_bool().ok_or(None)
    }
}

impl Kind for u64 {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        text.trim().parse().map_err(|_| None)
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        value.as_u64().ok_or(None)
    }
}

impl Kind for u32 {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        text.trim().parse().map_err(|_| None)
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        value
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(None)
    }
}

impl Kind for usize {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        text.trim().parse().map_err(|_| None)
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        let v = value.as_u64().ok_or(None)?;
        Ok(usize::try_from(v).unwrap_or(usize::MAX))
    }
}

impl Kind for String {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        Ok(text.to_owned())
    }
}

impl Kind for PathBuf {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        Ok(PathBuf::from(text.trim()))
    }
}

impl Kind for SocketAddr {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        text.trim().parse().map_err(|_| None)
    }
}

/// A list: comma separated in the environment, an array of strings in the file.
impl Kind for Vec<String> {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        let items = value.as_array().ok_or(None)?;
        items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(None))
            .collect()
    }
}

/// Scopes: a strict RFC 6749 list (single spaces), or an array of scopes in the file.
impl Kind for ScopeSet {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        ScopeSet::parse(text).map_err(|e| Some(e.to_string()))
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        match value {
            Value::String(s) => Self::parse_text(s),
            Value::Array(items) => {
                let items: Vec<&str> = items
                    .iter()
                    .map(|v| v.as_str().ok_or(None))
                    .collect::<Result<_, Refusal>>()?;
                ScopeSet::try_from_iter(items).map_err(|e| Some(e.to_string()))
            }
            _ => Err(None),
        }
    }
}

/// Parses a case-insensitive keyword from `table`.
fn keyword<T: Copy>(text: &str, table: &[(&str, T)]) -> Result<T, Refusal> {
    let text = text.trim().to_ascii_lowercase();
    table
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| *v)
        .ok_or(None)
}

impl Kind for TransportKind {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "stdio" => Ok(Self::Stdio),
            "http" | "streamable_http" | "streamable-http" => Ok(Self::Http),
            "sse" => Err(Some(
                "the HTTP+SSE transport is deprecated and not offered; use `streamable_http` \
                 (Streamable HTTP) or `stdio`"
                    .into(),
            )),
            _ => Err(None),
        }
    }
}

impl Kind for super::DpopMode {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        Self::parse(text).ok_or(None)
    }
}

impl Kind for Sessions {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        keyword(
            text,
            &[("stateless", Self::Stateless), ("stateful", Self::Stateful)],
        )
    }
}

impl Kind for RateStore {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        keyword(text, &[("memory", Self::Memory), ("redis", Self::Redis)])
    }
}

impl Kind for FailurePolicy {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        keyword(
            text,
            &[
                ("closed", Self::Closed),
                ("fail_closed", Self::Closed),
                ("deny", Self::Closed),
                ("open", Self::Open),
                ("fail_open", Self::Open),
                ("local", Self::Open),
            ],
        )
    }
}

impl Kind for RateKeyBy {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        keyword(
            text,
            &[
                ("subject", Self::Subject),
                ("sub", Self::Subject),
                ("user", Self::Subject),
                ("client", Self::Client),
                ("client_id", Self::Client),
            ],
        )
    }
}

impl Kind for LogFormat {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        LogFormat::parse(text).ok_or(None)
    }
}

impl Kind for Provider {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        keyword(text, Provider::ALL)
    }
}

impl Kind for DevApproval {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        keyword(text, &[("consent", Self::Consent), ("auto", Self::Auto)])
    }
}

impl Kind for DevAlgorithm {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        match text.trim() {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            _ => Err(None),
        }
    }
}

/// `alice=data:read data:write;bob=data:read` in the environment; the same string, or a
/// table `{alice = "data:read data:write"}`, in the file.
impl Kind for Vec<DevUserSpec> {
    fn parse_text(text: &str) -> Result<Self, Refusal> {
        let mut users = Vec::new();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, scopes) = entry.split_once('=').ok_or(None)?;
            users.push(DevUserSpec::new(name.trim(), scopes.trim()).map_err(Some)?);
        }
        if users.is_empty() {
            return Err(Some("no user given".into()));
        }
        Ok(users)
    }

    fn parse_json(value: &Value) -> Result<Self, Refusal> {
        match value {
            Value::String(s) => Self::parse_text(s),
            Value::Object(map) if !map.is_empty() => map
                .iter()
                .map(|(name, scopes)| {
                    let scopes = scopes.as_str().ok_or(None)?;
                    DevUserSpec::new(name, scopes).map_err(Some)
                })
                .collect(),
            _ => Err(None),
        }
    }
}

/// Applies a raw value to a configuration.
pub(crate) type ApplyFn = fn(&mut SecureConfig, Raw<'_>) -> Result<(), Refusal>;

/// One setting.
#[derive(Debug)]
pub(crate) struct Setting {
    /// The file key under `security`, dotted (`oauth.issuer`).
    pub key: &'static str,
    /// The environment variable, if the setting has one.
    pub env: Option<&'static str>,
    /// What a value looks like, for "must be …" messages and the docs.
    pub form: &'static str,
    /// What it means.
    pub doc: &'static str,
    /// Also accepted as the plain value of its section (`"rate_limit": 1000`).
    pub shorthand: bool,
    pub apply: ApplyFn,
}

impl Setting {
    /// `security.<key>`: how problems with the file's value are named.
    pub(crate) fn file_path(&self) -> String {
        format!("security.{}", self.key)
    }
}

/// `fn(&mut SecureConfig, Raw) -> ..` that parses the value as `$ty` and stores it.
macro_rules! apply {
    ($ty:ty, |$c:ident, $v:ident| $body:expr) => {{
        fn apply(config: &mut SecureConfig, raw: Raw<'_>) -> Result<(), Refusal> {
            let value: $ty = Kind::parse(raw)?;
            let set = |$c: &mut SecureConfig, $v: $ty| $body;
            set(config, value);
            Ok(())
        }
        apply as ApplyFn
    }};
}

const fn setting(
    key: &'static str,
    env: Option<&'static str>,
    form: &'static str,
    doc: &'static str,
    apply: ApplyFn,
) -> Setting {
    Setting {
        key,
        env,
        form,
        doc,
        shorthand: false,
        apply,
    }
}

/// Every setting. The order is the order of the documentation.
pub(crate) static SETTINGS: &[Setting] = &[
    setting(
        "transport",
        Some("MCP_TRANSPORT"),
        "`stdio`, `http` or `streamable_http`",
        "the transport: `stdio` (default) or Streamable HTTP; `sse` is refused (deprecated)",
        apply!(TransportKind, |c, v| c.transport = v),
    ),
    setting(
        "auth_required",
        Some("MCP_AUTH_REQUIRED"),
        "true or false",
        "authentication is required (it cannot be turned off over HTTP)",
        apply!(bool, |c, v| c.auth_required = v),
    ),
    setting(
        "strict",
        Some("MCP_STRICT"),
        "true or false",
        "warnings become errors",
        apply!(bool, |c, v| c.strict = v),
    ),
    setting(
        "http.addr",
        Some("MCP_HTTP_ADDR"),
        "an address like 127.0.0.1:8000",
        "the HTTP listen address (default `127.0.0.1:8000`)",
        apply!(SocketAddr, |c, v| c.http.addr = v),
    ),
    setting(
        "http.allowed_origins",
        Some("MCP_HTTP_ALLOWED_ORIGINS"),
        "a list of origins like \"https://app.example.com\"",
        "browser origins allowed to call besides the resource's own (comma separated in the environment)",
        apply!(Vec<String>, |c, v| c.http.allowed_origins = v),
    ),
    setting(
        "http.allowed_hosts",
        Some("MCP_HTTP_ALLOWED_HOSTS"),
        "a list of host[:port] values like \"mcp.example.com\"",
        "`Host` values accepted besides the resource's authority, e.g. behind a proxy (comma separated in the environment)",
        apply!(Vec<String>, |c, v| c.http.allowed_hosts = v),
    ),
    setting(
        "http.trusted_proxies",
        Some("MCP_TRUSTED_PROXIES"),
        "a list of addresses or CIDR blocks like \"10.0.0.0/8\"",
        "reverse proxies whose `Forwarded`/`X-Forwarded-For` name the client for the failure throttle and the audit log (default: none; headers from other peers are ignored)",
        apply!(Vec<String>, |c, v| c.http.trusted_proxies = v),
    ),
    setting(
        "http.sessions",
        Some("MCP_HTTP_SESSIONS"),
        "`stateless` or `stateful`",
        "`stateless` (default; any replica answers any request; tools cannot ask the client) or `stateful` (sessions: sampling, elicitation, roots, standalone streams; sticky sessions across replicas)",
        apply!(Sessions, |c, v| c.http.sessions = v),
    ),
    setting(
        "http.json_response",
        Some("MCP_HTTP_JSON_RESPONSE"),
        "true or false",
        "answer a one-message response as plain JSON (default true); false streams every response as SSE",
        apply!(bool, |c, v| c.http.json_response = v),
    ),
    setting(
        "oauth.provider",
        Some("OAUTH_PROVIDER"),
        "`generic`, `entra`, `auth0`, `okta`, `keycloak` or `cognito`",
        "the identity provider: its preset sets the claim mapping and names its quirks (see docs/providers/)",
        apply!(Provider, |c, v| c.oauth.provider = v),
    ),
    setting(
        "oauth.issuer",
        Some("OAUTH_ISSUER"),
        "a URL (several, space separated, are each trusted)",
        "the authorization server's issuer (required for HTTP); several, space separated, each with its own keys",
        apply!(String, |c, v| c.oauth.issuer = Some(v)),
    ),
    setting(
        "oauth.resource",
        Some("OAUTH_RESOURCE"),
        "a URL",
        "this server's resource URI (RFC 8707, RFC 9728), e.g. `https://mcp.example.com/mcp` (default: `OAUTH_AUDIENCE` when that is one URL)",
        apply!(String, |c, v| c.oauth.resource = Some(v)),
    ),
    setting(
        "oauth.audience",
        Some("OAUTH_AUDIENCE"),
        "one or more values, space separated",
        "the accepted `aud` values (default: the resource), e.g. Entra's API client ID or Auth0's API identifier",
        apply!(String, |c, v| c.oauth.audience = Some(v)),
    ),
    setting(
        "oauth.tenants",
        Some("OAUTH_TENANTS"),
        "a list of tenant IDs (comma separated in the environment)",
        "multi-tenant Entra: the tenants whose tokens are accepted (each becomes a trusted issuer)",
        apply!(Vec<String>, |c, v| c.oauth.tenants = v),
    ),
    setting(
        "oauth.scope_claims",
        Some("OAUTH_SCOPE_CLAIMS"),
        "a list of claim paths (comma separated in the environment)",
        "where scopes come from, e.g. `scp`, `permissions`, `roles`, `realm_access.roles` (default: the provider's)",
        apply!(Vec<String>, |c, v| c.oauth.scope_claims = Some(v)),
    ),
    setting(
        "oauth.client_id_claims",
        Some("OAUTH_CLIENT_ID_CLAIMS"),
        "a list of claim paths (comma separated in the environment)",
        "where the client id comes from, first found wins (default: the provider's)",
        apply!(Vec<String>, |c, v| c.oauth.client_id_claims = Some(v)),
    ),
    setting(
        "oauth.scope_prefix",
        Some("OAUTH_SCOPE_PREFIX"),
        "a string",
        "a prefix scopes carry in tokens, taken off (Cognito's `resource-server-id/`)",
        apply!(String, |c, v| c.oauth.scope_prefix = Some(v)),
    ),
    setting(
        "oauth.keep_token",
        Some("OAUTH_KEEP_TOKEN"),
        "true or false",
        "keep the caller's token in the `Principal` (as a secret), for token exchange",
        apply!(bool, |c, v| c.oauth.keep_token = v),
    ),
    setting(
        "oauth.dpop",
        Some("OAUTH_DPOP"),
        "`off`, `optional` or `required`",
        "DPoP-bound tokens (RFC 9449): `optional` accepts them with proofs beside bearer tokens, `required` accepts nothing else (default `off`; a bound token is never accepted as a bearer token)",
        apply!(super::DpopMode, |c, v| c.oauth.dpop = v),
    ),
    setting(
        "oauth.dpop_nonce",
        Some("OAUTH_DPOP_NONCE"),
        "true or false",
        "require server nonces (`DPoP-Nonce`) in DPoP proofs",
        apply!(bool, |c, v| c.oauth.dpop_nonce = v),
    ),
    setting(
        "oauth.jwks_url",
        Some("OAUTH_JWKS_URL"),
        "a URL",
        "the JWKS URL (default: `jwks_uri` from the issuer's metadata)",
        apply!(String, |c, v| c.oauth.jwks_url = Some(v)),
    ),
    setting(
        "oauth.jwks_file",
        Some("OAUTH_JWKS_FILE"),
        "a file path",
        "static verification keys: a JWKS document in this file, instead of a JWKS URL",
        apply!(PathBuf, |c, v| c.oauth.jwks_file = Some(v)),
    ),
    setting(
        "oauth.introspection_url",
        Some("OAUTH_INTROSPECTION_URL"),
        "a URL",
        "RFC 7662 introspection endpoint, for opaque tokens (with `OAUTH_CLIENT_ID` and the `OAUTH_CLIENT_SECRET` secret)",
        apply!(String, |c, v| c.oauth.introspection_url = Some(v)),
    ),
    setting(
        "oauth.client_id",
        Some("OAUTH_CLIENT_ID"),
        "a string",
        "this server's client id at the authorization server (for introspection)",
        apply!(String, |c, v| c.oauth.client_id = Some(v)),
    ),
    setting(
        "oauth.pkce_required",
        None,
        "true or false",
        "the authorization server must require PKCE S256 (cannot be turned off)",
        apply!(bool, |c, v| c.oauth.pkce_required = v),
    ),
    setting(
        "oauth.refresh_rotation",
        None,
        "true or false",
        "the authorization server rotates refresh tokens",
        apply!(bool, |c, v| c.oauth.refresh_rotation = v),
    ),
    setting(
        "oauth.token_ttl_seconds",
        Some("OAUTH_TOKEN_TTL_SECONDS"),
        "a whole number of seconds",
        "the longest access token lifetime accepted (default 3600; above it a warning, at most 86400)",
        apply!(u64, |c, v| c.oauth.token_ttl_seconds = v),
    ),
    setting(
        "oauth.leeway_seconds",
        Some("OAUTH_LEEWAY_SECONDS"),
        "a whole number of seconds",
        "clock-skew leeway (at most 60)",
        apply!(u64, |c, v| c.oauth.leeway_seconds = v),
    ),
    setting(
        "oauth.skip_metadata_check",
        Some("OAUTH_SKIP_METADATA_CHECK"),
        "true or false",
        "skip the start-up check of the authorization server's metadata (air-gapped starts; warns)",
        apply!(bool, |c, v| c.oauth.skip_metadata_check = v),
    ),
    setting(
        "oauth.allow_jwt_typ",
        Some("OAUTH_ALLOW_JWT_TYP"),
        "true or false",
        "also accept `typ: JWT` or no `typ` (a relaxation of RFC 9068; warns)",
        apply!(bool, |c, v| c.oauth.allow_jwt_typ = v),
    ),
    setting(
        "oauth.default_scopes",
        Some("OAUTH_DEFAULT_SCOPES"),
        "a space-separated scope list",
        "the scopes a `401` asks clients to start with (default: the lowest scope of each hierarchy chain); step-up asks for the rest",
        apply!(ScopeSet, |c, v| c.oauth.default_scopes = Some(v)),
    ),
    Setting {
        shorthand: true,
        ..setting(
            "rate_limit.per_minute",
            Some("MCP_RATE_LIMIT"),
            "a whole number of calls per minute",
            "a caller's calls per minute across every tool (also `\"rate_limit\": N`)",
            apply!(u32, |c, v| c.rate_limit.per_minute = Some(v)),
        )
    },
    setting(
        "rate_limit.store",
        Some("MCP_RATE_LIMIT_STORE"),
        "`memory` or `redis`",
        "where rate-limit state lives: in memory (default) or in Redis (`REDIS_URL`), shared by replicas",
        apply!(RateStore, |c, v| c.rate_limit.store = v),
    ),
    setting(
        "rate_limit.failure_policy",
        Some("MCP_RATE_LIMIT_FAILURE"),
        "`closed` (deny when the store is down) or `open` (fall back to the in-process limiter)",
        "what a Redis outage does: `closed` (default) or `open`",
        apply!(FailurePolicy, |c, v| c.rate_limit.failure_policy = v),
    ),
    setting(
        "rate_limit.key_by",
        Some("MCP_RATE_LIMIT_KEY"),
        "`subject` or `client`",
        "what budgets are counted against: the token's subject (default) or its client id",
        apply!(RateKeyBy, |c, v| c.rate_limit.key_by = v),
    ),
    setting(
        "rate_limit.timeout_ms",
        Some("MCP_RATE_LIMIT_TIMEOUT_MS"),
        "a whole number of milliseconds",
        "longest wait for the shared store per decision (1-5000, default 50)",
        apply!(u64, |c, v| c.rate_limit.timeout_ms = v),
    ),
    setting(
        "limits.tool_timeout_seconds",
        Some("MCP_TOOL_TIMEOUT_SECONDS"),
        "a whole number of seconds",
        "the longest a tool call may run before it answers `TIMEOUT` (1-86400, default 300)",
        apply!(u64, |c, v| c.limits.tool_timeout_secs = v),
    ),
    setting(
        "limits.client_timeout_seconds",
        Some("MCP_CLIENT_TIMEOUT_SECONDS"),
        "a whole number of seconds",
        "the longest a tool waits for the client to answer a sampling, elicitation or roots request (1-3600, default 60)",
        apply!(u64, |c, v| c.limits.client_timeout_secs = v),
    ),
    setting(
        "rate_limit.max_keys",
        Some("MCP_RATE_LIMIT_MAX_KEYS"),
        "a whole number",
        "most callers tracked in memory per tool (default 1,000,000)",
        apply!(usize, |c, v| c.rate_limit.max_keys = v),
    ),
    setting(
        "logging.level",
        Some("LOG_LEVEL"),
        "a level or filter such as `info` or `warn,mcp_secure::audit=info`",
        "the log filter (default `info,rmcp=warn`)",
        apply!(String, |c, v| c.logging.level = v),
    ),
    setting(
        "logging.format",
        Some("LOG_FORMAT"),
        "`human` or `json`",
        "the log format on stderr",
        apply!(LogFormat, |c, v| c.logging.format = v),
    ),
    setting(
        "stdio.scopes",
        Some("MCP_STDIO_SCOPES"),
        "a space-separated scope list",
        "the local caller's scopes over stdio; unset = every declared scope (said at start)",
        apply!(ScopeSet, |c, v| c.stdio.scopes = Some(v)),
    ),
    setting(
        "stdio.subject",
        Some("MCP_STDIO_SUBJECT"),
        "a name",
        "the local caller's name in audit events (default `local`)",
        apply!(String, |c, v| c.stdio.subject = v),
    ),
    setting(
        "dev_auth.enabled",
        Some("MCP_DEV_AUTH"),
        "true or false",
        "start the embedded development authorization server (HTTP, no `OAUTH_ISSUER`)",
        apply!(bool, |c, v| c.dev_auth.enabled = v),
    ),
    setting(
        "dev_auth.addr",
        Some("MCP_DEV_AUTH_ADDR"),
        "an address like 127.0.0.1:9000",
        "the development server's address (default `127.0.0.1:9000`, loopback only)",
        apply!(SocketAddr, |c, v| c.dev_auth.addr = v),
    ),
    setting(
        "dev_auth.users",
        Some("MCP_DEV_AUTH_USERS"),
        "`name=scope scope;name=scope` (names of A-Z a-z 0-9 _ - . @)",
        "the development server's users and what each may be granted (default: `developer` with every declared scope)",
        apply!(Vec<DevUserSpec>, |c, v| c.dev_auth.users = Some(v)),
    ),
    setting(
        "dev_auth.approval",
        Some("MCP_DEV_AUTH_APPROVAL"),
        "`consent` or `auto`",
        "how the development server approves: a consent page (default) or automatically",
        apply!(DevApproval, |c, v| c.dev_auth.approval = v),
    ),
    setting(
        "dev_auth.key_file",
        Some("MCP_DEV_AUTH_KEY_FILE"),
        "a file path",
        "keep the development server's signing key in this file",
        apply!(PathBuf, |c, v| c.dev_auth.key_file = Some(v)),
    ),
    setting(
        "dev_auth.alg",
        Some("MCP_DEV_AUTH_ALG"),
        "RS256, ES256 or EdDSA",
        "the development server's signing algorithm (default RS256)",
        apply!(DevAlgorithm, |c, v| c.dev_auth.alg = v),
    ),
];

/// The refusal message of a value of `setting`.
pub(crate) fn refusal_message(setting: &Setting, refusal: Refusal) -> String {
    refusal.unwrap_or_else(|| format!("must be {}", setting.form))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_variables_are_unique() {
        let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
        let mut envs: Vec<&str> = SETTINGS.iter().filter_map(|s| s.env).collect();
        let n = envs.len();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), n);
    }

    #[test]
    fn no_key_is_both_a_setting_and_a_section() {
        for s in SETTINGS {
            let prefix = format!("{}.", s.key);
            assert!(
                !SETTINGS.iter().any(|o| o.key.starts_with(&prefix)),
                "{} is a setting and a section",
                s.key
            );
        }
    }
}
