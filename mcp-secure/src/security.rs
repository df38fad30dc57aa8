//! [`Security`]: the runtime state every secured call uses (rate limiter, redactor, limits).
//! A server holds one in a field (`security` by default); cloning shares it.

use std::{fmt, sync::Arc, time::Duration};

use crate::{
    policy::RateSpec,
    rate::{DEFAULT_MAX_KEYS, MemoryRateLimiter, RateLimiter},
    redact::{Redactor, SecretString},
    validate::DEFAULT_MAX_INPUT_BYTES,
};

/// Which tools `tools/list` shows a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ToolVisibility {
    /// Only the tools the caller's scopes allow (default): a caller is not told about tools
    /// it cannot use. Each listed tool still advertises its required scopes in `_meta`.
    #[default]
    Permitted,
    /// Every tool, whatever the caller holds, so clients can plan a step-up.
    All,
}

struct Inner {
    limiter: Arc<dyn RateLimiter>,
    global_rate: Option<RateSpec>,
    redactor: Redactor,
    max_input_bytes: usize,
    visibility: ToolVisibility,
    tool_timeout: Duration,
    client_timeout: Duration,
    unsecured_rate: RateSpec,
    config_fingerprint: Option<u64>,
}

/// The per-caller budget across plain tools (without a declared policy) by default.
pub const DEFAULT_UNSECURED_RATE: RateSpec = RateSpec::new(60, 60, 60);

/// The longest a tool call may run by default.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest a tool waits for the client to answer one of its requests by default.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The runtime side of a secured server. Cheap to clone (an `Arc`).
///
/// ```
/// use mcp_secure::{Security, redact::SecretString};
///
/// let api_key = SecretString::from("sk-live-0123456789".to_string());
/// let security = Security::builder()
///     .secret(&api_key)
///     .max_input_bytes(16 * 1024)
///     .build();
/// assert_eq!(security.redactor().secret_count(), 1);
/// ```
#[derive(Clone)]
pub struct Security {
    inner: Arc<Inner>,
}

impl Security {
    /// Starts a configuration.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder::default()
    }

    /// The longest a tool call may run (the pipeline answers `TIMEOUT` after it).
    pub fn tool_timeout(&self) -> Duration {
        self.inner.tool_timeout
    }

    /// The longest a tool waits for the client to answer one of its requests (sampling,
    /// elicitation, roots) through [`ClientPeer`](crate::ClientPeer).
    pub fn client_timeout(&self) -> Duration {
        self.inner.client_timeout
    }

    /// A caller's budget across the plain tools a server serves without a declared policy
    /// (`#[secure_server(extend = ..)]`).
    pub fn unsecured_rate(&self) -> RateSpec {
        self.inner.unsecured_rate
    }

    /// The rate limiter.
    pub fn rate_limiter(&self) -> &dyn RateLimiter {
        &*self.inner.limiter
    }

    /// A caller's budget across every tool, if the server sets one.
    pub fn global_rate(&self) -> Option<&RateSpec> {
        self.inner.global_rate.as_ref()
    }

    /// The output redactor; register secrets learned at run time here.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// The default cap on a call's JSON arguments.
    pub fn max_input_bytes(&self) -> usize {
        self.inner.max_input_bytes
    }

    /// Which tools `tools/list` shows.
    pub fn tool_visibility(&self) -> ToolVisibility {
        self.inner.visibility
    }

    /// The digest of the configuration this was built from ([`crate::SecureConfig::security`]).
    pub(crate) fn config_fingerprint(&self) -> Option<u64> {
        self.inner.config_fingerprint
    }
}

impl Default for Security {
    /// An in-memory rate limiter, no registered secrets, 64 KiB argument cap.
    fn default() -> Self {
        Self::builder().build()
    }
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Security")
            .field("rate_limiter", &self.inner.limiter)
            .field("global_rate", &self.inner.global_rate)
            .field("redactor", &self.inner.redactor)
            .field("max_input_bytes", &self.inner.max_input_bytes)
            .field("tool_visibility", &self.inner.visibility)
            .finish()
    }
}

/// Builds a [`Security`].
#[must_use]
pub struct SecurityBuilder {
    limiter: Option<Arc<dyn RateLimiter>>,
    global_rate: Option<RateSpec>,
    max_keys: usize,
    secrets: Vec<SecretString>,
    max_input_bytes: usize,
    key_masking: bool,
    visibility: ToolVisibility,
    sweep_every: Duration,
    tool_timeout: Duration,
    client_timeout: Duration,
    unsecured_rate: RateSpec,
    config_fingerprint: Option<u64>,
}

impl Default for SecurityBuilder {
    fn default() -> Self {
        Self {
            limiter: None,
            global_rate: None,
            max_keys: DEFAULT_MAX_KEYS,
            secrets: Vec::new(),
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            key_masking: true,
            visibility: ToolVisibility::Permitted,
            sweep_every: Duration::from_secs(60),
            tool_timeout: DEFAULT_TOOL_TIMEOUT,
            client_timeout: DEFAULT_CLIENT_TIMEOUT,
            unsecured_rate: DEFAULT_UNSECURED_RATE,
            config_fingerprint: None,
        }
    }
}

impl fmt::Debug for SecurityBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityBuilder")
            .field("secrets", &self.secrets.len())
            .field("max_input_bytes", &self.max_input_bytes)
            .finish_non_exhaustive()
    }
}

impl SecurityBuilder {
    /// Uses `limiter` instead of the in-memory one (e.g. a store shared by replicas).
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// A caller's budget across every tool, on top of each tool's own `rate` (keyed like
    /// them, by subject or client id). A call is admitted only when both admit it.
    pub fn global_rate(mut self, spec: RateSpec) -> Self {
        self.global_rate = Some(spec);
        self
    }

    /// Most callers the in-memory limiter tracks per tool (default 1,000,000). When that
    /// many are active at once a new caller is refused until some go idle.
    pub fn max_rate_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// How often the in-memory limiter evicts idle callers (default 60 s).
    pub fn evict_idle_every(mut self, every: Duration) -> Self {
        self.sweep_every = every;
        self
    }

    /// Registers a secret with the output redactor.
    pub fn secret(mut self, secret: &SecretString) -> Self {
        self.secrets.push(secret.clone());
        self
    }

    /// Registers several secrets; `None`s are skipped.
    pub fn secrets<'a>(
        mut self,
        secrets: impl IntoIterator<Item = Option<&'a SecretString>>,
    ) -> Self {
        self.secrets.extend(secrets.into_iter().flatten().cloned());
        self
    }

    /// Cap on a call's JSON arguments (default 64 KiB); a tool may set its own with
    /// `max_input_bytes`.
    pub fn max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes.max(2);
        self
    }

    /// Whether string values under credential-like keys (`password`, `api_key`, …) in
    /// structured output are masked (default: yes).
    pub fn redact_sensitive_keys(mut self, on: bool) -> Self {
        self.key_masking = on;
        self
    }

    /// Which tools `tools/list` shows a caller (default: only those it may call).
    pub fn tool_visibility(mut self, visibility: ToolVisibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// The longest a tool call may run (default 5 minutes); after it the call answers
    /// `TIMEOUT` and the tool's future is dropped. Every await in a tool is bounded by it,
    /// an unanswered request to the client included.
    pub fn tool_timeout(mut self, timeout: Duration) -> Self {
        self.tool_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The longest a tool waits for the client to answer one request made through
    /// [`ClientPeer`](crate::ClientPeer) (default 60 s).
    pub fn client_timeout(mut self, timeout: Duration) -> Self {
        self.client_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// A caller's budget across plain tools without a declared policy (default 60 a minute).
    pub fn unsecured_rate(mut self, spec: RateSpec) -> Self {
        self.unsecured_rate = spec;
        self
    }

    /// Records the configuration this builder comes from.
    pub(crate) fn config_fingerprint(mut self, fingerprint: u64) -> Self {
        self.config_fingerprint = Some(fingerprint);
        self
    }

    /// Builds the configuration. Secrets too short to match safely are skipped with a
    /// warning (the warning names no value).
    pub fn build(self) -> Security {
        let redactor = Redactor::new(self.key_masking);
        redactor.warm_up();
        for (i, secret) in self.secrets.iter().enumerate() {
            if redactor.register(secret).is_err() {
                tracing::warn!(
                    target: crate::audit::TARGET,
                    secret_index = i,
                    "a registered secret is shorter than {} characters and is not redacted by value",
                    crate::redact::MIN_SECRET_LEN
                );
            }
        }
        let limiter = self
            .limiter
            .unwrap_or_else(|| MemoryRateLimiter::bounded(self.max_keys, self.sweep_every));
        Security {
            inner: Arc::new(Inner {
                limiter,
                global_rate: self.global_rate,
                redactor,
                max_input_bytes: self.max_input_bytes,
                visibility: self.visibility,
                tool_timeout: self.tool_timeout,
                client_timeout: self.client_timeout,
                unsecured_rate: self.unsecured_rate,
                config_fingerprint: self.config_fingerprint,
            }),
        }
    }
}
