//! Who is calling: the authenticated [`Principal`] every secured call runs as.
//!
//! Over HTTP the bearer-token layer builds it from a validated token and puts it in the
//! request's extensions; over stdio the transport attaches the configured local principal to
//! every request. A request that carries neither is refused (`UNAUTHENTICATED`): the pipeline
//! never invents a caller.

use std::{
    fmt,
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

use crate::{redact::SecretString, scope::ScopeSet};

/// How the principal was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// The local user of a stdio server (the process that launched it).
    Local,
    /// An OAuth 2.1 bearer token validated by the resource server.
    Bearer,
}

impl AuthMethod {
    /// `"local"` or `"bearer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Bearer => "bearer",
        }
    }
}

/// Which identity rate limits are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RateKeyBy {
    /// The subject (`sub`): one budget per user, whatever client they use.
    #[default]
    Subject,
    /// The OAuth client (`client_id`/`azp`), falling back to the subject.
    Client,
}

struct Inner {
    subject: String,
    client_id: Option<String>,
    issuer: Option<Arc<str>>,
    scopes: ScopeSet,
    expires_at: Option<SystemTime>,
    method: AuthMethod,
    rate_key: Arc<str>,
    tenant: Option<String>,
    roles: Vec<String>,
    /// The claim map, built on first read from `claims_json` when the validator kept only the
    /// payload (most calls never read it).
    claims: OnceLock<serde_json::Map<String, serde_json::Value>>,
    claims_json: Option<Vec<u8>>,
    dpop_jkt: Option<Box<str>>,
    token: Option<SecretString>,
}

/// An authenticated caller. Cheap to clone.
///
/// `Debug` shows the identity and scopes, never a credential (a principal holds none).
#[derive(Clone)]
pub struct Principal(Arc<Inner>);

impl Principal {
    /// The local caller of a stdio server.
    pub fn local(subject: impl Into<String>, scopes: ScopeSet) -> Self {
        PrincipalBuilder::new(AuthMethod::Local, subject)
            .scopes(scopes)
            .build()
    }

    /// Starts a principal authenticated by a bearer token.
    pub fn bearer(subject: impl Into<String>) -> PrincipalBuilder {
        PrincipalBuilder::new(AuthMethod::Bearer, subject)
    }

    /// The subject (`sub` claim, or the local user name).
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The OAuth client the token was issued to, when known.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The token's issuer, for bearer principals.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// The scopes granted to this caller.
    pub fn scopes(&self) -> &ScopeSet {
        &self.0.scopes
    }

    /// Whether the caller was granted `scope` literally (without the hierarchy).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.contains(scope)
    }

    /// When the credential expires, if it does.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expires_at
    }

    /// Whether the credential has expired at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.0.expires_at.is_some_and(|exp| now >= exp)
    }

    /// How the caller authenticated.
    pub fn method(&self) -> AuthMethod {
        self.0.method
    }

    /// The key rate limits are counted against.
    pub fn rate_key(&self) -> &Arc<str> {
        &self.0.rate_key
    }

    /// The tenant the token was issued in (Entra's `tid`), when the provider has tenants.
    pub fn tenant(&self) -> Option<&str> {
        self.0.tenant.as_deref()
    }

    /// The roles the token carries (`roles`, Keycloak's `realm_access.roles`, Cognito's
    /// `cognito:groups`, or `groups`), for the tool to read. Roles grant nothing by
    /// themselves: a scope mapping decides what counts as a scope.
    pub fn roles(&self) -> &[String] {
        &self.0.roles
    }

    /// Every verified claim of the token (empty for a local caller).
    pub fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.0.claims.get_or_init(|| {
            // The payload was parsed strictly when the token was verified; a second parse
            // cannot fail, and an empty map (never a panic) would answer if it did.
            self.0
                .claims_json
                .as_deref()
                .and_then(|json| serde_json::from_slice(json).ok())
                .unwrap_or_default()
        })
    }

    /// One verified claim.
    pub fn claim(&self, name: &str) -> Option<&serde_json::Value> {
        self.claims().get(name)
    }

    /// The JWK thumbprint the token is bound to (RFC 9449's `cnf.jkt`), when it is
    /// DPoP-bound.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.0.dpop_jkt.as_deref()
    }

    /// The caller's own access token, kept only when the server opted in
    /// (`OAUTH_KEEP_TOKEN`), as a secret: for exchanging it at the authorization server,
    /// never for passing on.
    pub fn token(&self) -> Option<&SecretString> {
        self.0.token.as_ref()
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.0.subject)
            .field("client_id", &self.0.client_id)
            .field("issuer", &self.0.issuer)
            .field("scopes", &self.0.scopes)
            .field("method", &self.0.method)
            .field("tenant", &self.0.tenant)
            .field("claims", &self.claims().len())
            .field("token", &self.0.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Builds a [`Principal`].
#[must_use]
pub struct PrincipalBuilder {
    subject: String,
    client_id: Option<String>,
    issuer: Option<Arc<str>>,
    scopes: ScopeSet,
    expires_at: Option<SystemTime>,
    method: AuthMethod,
    rate_key_by: RateKeyBy,
    tenant: Option<String>,
    roles: Vec<String>,
    claims: serde_json::Map<String, serde_json::Value>,
    claims_json: Option<Vec<u8>>,
    dpop_jkt: Option<Box<str>>,
    token: Option<SecretString>,
}

impl fmt::Debug for PrincipalBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrincipalBuilder")
            .field("subject", &self.subject)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl PrincipalBuilder {
    fn new(method: AuthMethod, subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: None,
            issuer: None,
            scopes: ScopeSet::new(),
            expires_at: None,
            method,
            rate_key_by: RateKeyBy::Subject,
            tenant: None,
            roles: Vec::new(),
            claims: serde_json::Map::new(),
            claims_json: None,
            dpop_jkt: None,
            token: None,
        }
    }

    /// The tenant.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The roles.
    pub fn roles(mut self, roles: Vec<String>) -> Self {
        self.roles = roles;
        self
    }

    /// The verified claims.
    pub fn claims(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        self.claims = claims;
        self.claims_json = None;
        self
    }

    /// The verified claims as the payload's JSON object, already checked strictly; the map
    /// is built when first read. The DPoP binding must be set with it
    /// ([`dpop_jkt`](Self::dpop_jkt)), as it is not read from the JSON.
    #[cfg(feature = "http")]
    pub(crate) fn claims_json(mut self, json: Vec<u8>) -> Self {
        self.claims_json = Some(json);
        self
    }

    /// The DPoP binding, when the claims come as JSON text.
    #[cfg(feature = "http")]
    pub(crate) fn dpop_jkt(mut self, jkt: &str) -> Self {
        self.dpop_jkt = Some(jkt.into());
        self
    }

    /// The caller's token (kept only on the server's opt-in).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The OAuth client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The issuer (an `Arc<str>` is shared, not copied).
    pub fn issuer(mut self, issuer: impl Into<Arc<str>>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The granted scopes.
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }

    /// The credential's expiry.
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The credential's expiry as seconds since the Unix epoch. A value past what the clock
    /// can hold is taken as already expired (fail closed), never a panic.
    pub fn expires_at_unix(self, secs: u64) -> Self {
        let at = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.expires_at(at)
    }

    /// What rate limits count against (default: the subject).
    pub fn rate_key_by(mut self, by: RateKeyBy) -> Self {
        self.rate_key_by = by;
        self
    }

    /// The principal.
    pub fn build(self) -> Principal {
        // Keys are namespaced by kind and issuer (length-prefixed, so no issuer/subject split
        // is ambiguous): a local user "alice" and a token subject "alice" from another issuer
        // never share a budget.
        let issuer = self.issuer.as_deref().unwrap_or("");
        let method = self.method.as_str();
        let (kind, id) = match (self.rate_key_by, &self.client_id) {
            (RateKeyBy::Client, Some(client)) => ("client", client),
            _ => ("sub", &self.subject),
        };
        // `{method}|{kind}|{issuer length}:{issuer}|{id}`, written without `format!`: this
        // runs on every token validation.
        let mut digits = itoa::Buffer::new();
        let issuer_len = digits.format(issuer.len());
        let mut key = String::with_capacity(
            method.len() + kind.len() + issuer_len.len() + issuer.len() + id.len() + 4,
        );
        for part in [method, "|", kind, "|", issuer_len, ":", issuer, "|", id] {
            key.push_str(part);
        }
        let rate_key: Arc<str> = key.into();
        let (claims, dpop_jkt) = match self.claims_json {
            Some(_) => (OnceLock::new(), self.dpop_jkt),
            None => {
                let jkt = bound_jkt(&self.claims).map(Box::from);
                (OnceLock::from(self.claims), jkt)
            }
        };
        Principal(Arc::new(Inner {
            subject: self.subject,
            client_id: self.client_id,
            issuer: self.issuer,
            scopes: self.scopes,
            expires_at: self.expires_at,
            method: self.method,
            rate_key,
            tenant: self.tenant,
            roles: self.roles,
            claims,
            claims_json: self.claims_json,
            dpop_jkt,
            token: self.token,
        }))
    }
}

/// The JWK thumbprint verified claims bind the token to (RFC 9449's `cnf.jkt`), if any.
pub(crate) fn bound_jkt(claims: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

/// `Principal` as a tool argument: the caller the pipeline authenticated (and, in a plain
/// rmcp `#[tool]`, the one the transport attached). A call without one is refused.
impl<S>
    rmcp::handler::server::common::FromContextPart<
        rmcp::handler::server::tool::ToolCallContext<'_, S>,
    > for Principal
{
    fn from_context_part(
        context: &mut rmcp::handler::server::tool::ToolCallContext<'_, S>,
    ) -> Result<Self, rmcp::ErrorData> {
        crate::pipeline::authenticated_principal(&context.request_context)
            .cloned()
            .ok_or_else(|| rmcp::ErrorData::invalid_request("authentication required", None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_keys_are_namespaced() {
        let local = Principal::local("alice", ScopeSet::new());
        let bearer = Principal::bearer("alice").issuer("https://as").build();
        assert_ne!(local.rate_key(), bearer.rate_key());
        let by_client = Principal::bearer("alice")
            .client_id("cli")
            .rate_key_by(RateKeyBy::Client)
            .build();
        assert!(by_client.rate_key().contains("client"));
        // The exact forms: length-prefixed issuers keep "a|b" + "c" apart from "a" + "b|c".
        assert_eq!(&**bearer.rate_key(), "bearer|sub|10:https://as|alice");
        assert_eq!(&**local.rate_key(), "local|sub|0:|alice");
        assert_eq!(&**by_client.rate_key(), "bearer|client|0:|cli");
        let tricky = Principal::bearer("c").issuer("a|b").build();
        let other = Principal::bearer("b|c").issuer("a").build();
        assert_eq!(&**tricky.rate_key(), "bearer|sub|3:a|b|c");
        assert_ne!(tricky.rate_key(), other.rate_key());
    }

    #[test]
    fn an_expiry_past_the_clock_is_expired_not_a_panic() {
        let p = Principal::bearer("a").expires_at_unix(u64::MAX).build();
        assert!(p.is_expired_at(SystemTime::now()));
    }

    #[cfg(feature = "http")]
    #[test]
    fn claims_kept_as_json_are_read_as_a_map_and_the_binding_comes_either_way() {
        let lazy = Principal::bearer("a")
            .claims_json(br#"{"sub":"a","cnf":{"jkt":"t1"},"n":[1]}"#.to_vec())
            .dpop_jkt("t1")
            .build();
        assert_eq!(lazy.claim("n"), Some(&serde_json::json!([1])));
        assert_eq!(lazy.claims().len(), 3);
        assert_eq!(lazy.dpop_jkt(), Some("t1"));
        assert!(format!("{lazy:?}").contains("claims: 3"));
        let map = serde_json::json!({"cnf": {"jkt": "t2"}});
        let eager = Principal::bearer("a")
            .claims(map.as_object().cloned().unwrap_or_default())
            .build();
        assert_eq!(eager.dpop_jkt(), Some("t2"));
        assert_eq!(Principal::bearer("a").build().dpop_jkt(), None);
        // Text that is not an object (never kept by the validator) reads as no claims.
        let odd = Principal::bearer("a").claims_json(b"[1]".to_vec()).build();
        assert!(odd.claims().is_empty());
    }

    #[test]
    fn expiry() {
        let p = Principal::bearer("a").expires_at_unix(100).build();
        assert!(p.is_expired_at(SystemTime::UNIX_EPOCH + Duration::from_secs(100)));
        assert!(!p.is_expired_at(SystemTime::UNIX_EPOCH + Duration::from_secs(99)));
    }
}
