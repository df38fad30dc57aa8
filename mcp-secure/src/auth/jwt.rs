//! JWT access tokens (RFC 9068), validated fail-closed.
//!
//! Before any decoding: at most 8 KiB, exactly three base64url segments (no padding, no
//! whitespace). The header is parsed into a typed struct (a duplicated member is an error):
//! JWE (`enc`), compression (`zip`), unencoded payloads (`b64`) and any `crit` extension are
//! refused; `jku`, `x5u`, `x5c` and embedded `jwk` are ignored: keys come only from
//! configuration. The header of a token whose signature verified is remembered by its exact
//! text (up to 8), so the next token from the same key skips that parse. `typ` must be
//! `at+jwt` unless relaxed; `alg` must be on the allow-list (HMAC never is). The signature is
//! verified with the key named by `kid`, parsed once when it was loaded. The claims are read
//! strictly (a duplicated claim at any depth, an `iss` array or a string `exp` is an error):
//! `iss` must equal the issuer, `aud` must contain this resource, `exp`, `iat` and `sub` are
//! required, `nbf` is honoured, `iat` may not be in the future, and `exp − iat` may not
//! exceed the maximum lifetime (default 3600 s). Leeway is at most 60 s.

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use arc_swap::ArcSwap;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::future::BoxFuture;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::{
    AuthFailure, TokenValidator,
    cache::{TokenCache, token_hash},
    claims::{ClaimMapping, Known, Lookup, Payload, Val, names_any, time},
    dpop::confirmation,
    jwks::{JwksSource, KeySet},
    keys::SharedKey,
    now_unix,
};
use crate::principal::{Principal, PrincipalBuilder, RateKeyBy};

/// Longest token accepted, in bytes (checked before any decoding).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest leeway allowed.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// How `typ` is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TypPolicy {
    /// `typ` must be `at+jwt` or `application/at+jwt` (RFC 9068). The default.
    #[default]
    RequireAtJwt,
    /// Also accept `JWT` or no `typ` (for issuers that do not follow RFC 9068). A relaxation:
    /// an ID token of the same issuer and audience would then pass.
    AllowJwt,
}

/// The signature algorithms accepted by default: every one a key can verify — RSA (PKCS#1 v1.5
/// and PSS), ECDSA P-256 and P-384, Ed25519. Never `none` and never HMAC (a shared secret is
/// not a resource server's to hold).
pub const DEFAULT_ALGORITHMS: &[Algorithm] = &super::keys::VERIFIABLE;

/// Settings for [`JwtValidator`]. Every relaxation is an explicit setter.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    issuer: Arc<str>,
    /// Accepted values of the audience claim; the first is this resource.
    audiences: Vec<String>,
    /// The claim that must name one of `audiences`: `aud`, or `client_id` for providers whose
    /// tokens have no audience (Cognito).
    audience_claim: String,
    mapping: ClaimMapping,
    tenants: Vec<String>,
    required_claims: Vec<(String, String)>,
    keep_token: bool,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    max_lifetime: Duration,
    typ: TypPolicy,
    cache_capacity: usize,
    max_token_bytes: usize,
    rate_key_by: RateKeyBy,
}

/// A setting was out of its safe range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// Leeway above 60 s.
    #[error("leeway must be at most 60 seconds")]
    LeewayTooLarge,
    /// An HMAC algorithm in the allow-list.
    #[error("HMAC algorithms cannot be allowed next to public keys")]
    HmacNotAllowed,
    /// Empty allow-list.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// A zero or over-a-day maximum lifetime.
    #[error("maximum token lifetime must be between 1 second and 24 hours")]
    BadLifetime,
}

impl JwtConfig {
    /// Tokens from `issuer` (compared exactly) for `audience` (this server's canonical
    /// resource URI, e.g. `https://mcp.example.com/mcp`).
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: Arc::from(issuer.into()),
            audiences: vec![audience.into()],
            audience_claim: "aud".into(),
            mapping: ClaimMapping::default(),
            tenants: Vec::new(),
            required_claims: Vec::new(),
            keep_token: false,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(3600),
            typ: TypPolicy::RequireAtJwt,
            cache_capacity: 10_000,
            max_token_bytes: MAX_TOKEN_BYTES,
            rate_key_by: RateKeyBy::Subject,
        }
    }

    /// The algorithm allow-list (default: every RSA, PSS, ECDSA and EdDSA algorithm).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Result<Self, JwtConfigError> {
        if algorithms.is_empty() {
            return Err(JwtConfigError::NoAlgorithms);
        }
        if algorithms
            .iter()
            .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(JwtConfigError::HmacNotAllowed);
        }
        self.algorithms = algorithms.to_vec();
        Ok(self)
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 30 s, at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, JwtConfigError> {
        if leeway > MAX_LEEWAY {
            return Err(JwtConfigError::LeewayTooLarge);
        }
        self.leeway = leeway;
        Ok(self)
    }

    /// Longest accepted `exp − iat` (default 3600 s).
    pub fn max_lifetime(mut self, lifetime: Duration) -> Result<Self, JwtConfigError> {
        if lifetime.is_zero() || lifetime > Duration::from_secs(86_400) {
            return Err(JwtConfigError::BadLifetime);
        }
        self.max_lifetime = lifetime;
        Ok(self)
    }

    /// Relaxes the `typ` check.
    pub fn typ(mut self, policy: TypPolicy) -> Self {
        self.typ = policy;
        self
    }

    /// Verified-token cache size (default 10 000; 0 disables it).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// What rate limits count against for these principals (default: the subject).
    pub fn rate_key_by(mut self, by: RateKeyBy) -> Self {
        self.rate_key_by = by;
        self
    }

    /// Accepts these audiences instead (any one of them in the audience claim); for
    /// providers whose `aud` is not the resource URI (Entra's API client ID, Auth0's API
    /// identifier).
    pub fn audiences(mut self, audiences: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let audiences: Vec<String> = audiences.into_iter().map(Into::into).collect();
        if !audiences.is_empty() {
            self.audiences = audiences;
        }
        self
    }

    /// The claim that must name one of the audiences (default `aud`). Only for providers
    /// whose access tokens carry no `aud` (Cognito: `client_id`).
    pub fn audience_claim(mut self, claim: impl Into<String>) -> Self {
        self.audience_claim = claim.into();
        self
    }

    /// Where scopes, the client id and the tenant are read from.
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Accepts only tokens whose tenant claim is one of `tenants` (set the claim in the
    /// mapping).
    pub fn tenants(mut self, tenants: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// Requires the claim at `path` to be exactly `value` (Cognito's `token_use: access`).
    pub fn require_claim(mut self, path: impl Into<String>, value: impl Into<String>) -> Self {
        self.required_claims.push((path.into(), value.into()));
        self
    }

    /// Keeps the caller's token in the `Principal`, as a secret (for token exchange).
    pub fn keep_token(mut self, keep: bool) -> Self {
        self.keep_token = keep;
        self
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience (this resource, or the first accepted audience).
    pub fn audience(&self) -> &str {
        self.audiences.first().map_or("", String::as_str)
    }

    /// Every accepted audience.
    pub fn accepted_audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The allowed algorithms.
    pub fn allowed_algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }
}

/// Where verification keys come from.
pub enum KeySource {
    /// A JWKS URL, fetched and cached.
    Jwks(Arc<JwksSource>),
    /// Keys fixed at start-up (a JWKS document from configuration).
    Static(Arc<KeySet>),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jwks(source) => f.debug_tuple("Jwks").field(source).finish(),
            Self::Static(keys) => f.debug_tuple("Static").field(&keys.len()).finish(),
        }
    }
}

impl KeySource {
    /// Static keys from a JWKS document (`{"keys": [...]}`); unusable keys are skipped.
    pub fn from_jwks_json(document: &serde_json::Value, allowed: &[Algorithm]) -> Self {
        let keys = document
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Self::Static(Arc::new(KeySet::from_document(keys, allowed, 64, "static")))
    }

    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<SharedKey, AuthFailure> {
        match self {
            Self::Jwks(source) => source.key_for(kid, alg).await,
            Self::Static(keys) => {
                if keys.is_empty() {
                    return Err(AuthFailure::KeysUnavailable);
                }
                keys.find(kid, alg)
            }
        }
    }

    /// Whether the key with `fingerprint` is still in use.
    fn still_has(&self, fingerprint: &str) -> bool {
        match self {
            Self::Jwks(source) => source.still_has(fingerprint),
            // A fixed key set never loses a key: every fingerprint it gave is still good.
            Self::Static(_) => true,
        }
    }
}

/// The JOSE header, typed: a duplicated member fails to parse. Its strings are borrowed from
/// the decoded header where they have no escapes.
#[derive(Deserialize)]
struct RawHeader<'h> {
    #[serde(borrow)]
    alg: Cow<'h, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'h, str>>,
    #[serde(default, borrow)]
    kid: Option<Cow<'h, str>>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    enc: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    zip: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    b64: Option<serde::de::IgnoredAny>,
}

/// What the later steps read of the header.
#[derive(Clone)]
struct Header {
    /// `None`: an algorithm this crate does not know.
    alg: Option<Algorithm>,
    typ: Typ,
    kid: Option<String>,
}

/// The header's `typ`, compared case-insensitively as RFC 7515 says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Typ {
    Absent,
    /// `at+jwt` or `application/at+jwt` (RFC 9068).
    AccessToken,
    Jwt,
    Other,
}

impl Typ {
    fn of(typ: Option<&str>) -> Self {
        match typ {
            None => Self::Absent,
            Some(t)
                if t.eq_ignore_ascii_case("at+jwt")
                    || t.eq_ignore_ascii_case("application/at+jwt") =>
            {
                Self::AccessToken
            }
            Some(t) if t.eq_ignore_ascii_case("JWT") => Self::Jwt,
            Some(_) => Self::Other,
        }
    }
}

/// `aud`: a string or an array of strings (JWT claims and introspection answers alike).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether `resource` is (one of) the audience, compared exactly.
    pub(super) fn contains(&self, resource: &str) -> bool {
        match self {
            Self::One(a) => a == resource,
            Self::Many(list) => list.iter().any(|a| a == resource),
        }
    }
}

pub(super) fn is_b64url(segment: &str) -> bool {
    // Branch-free over the bytes (no early exit), so it runs as a vector loop: this scans
    // every byte of every token.
    !segment.is_empty()
        && segment.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
        })
}

/// The three segments of a compact serialization (`header.payload.signature`), split once;
/// `None` unless there are exactly three. Segment contents are the caller's to check.
pub(super) fn split_compact(token: &str) -> Option<[&str; 3]> {
    let mut segments = token.splitn(4, '.');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(h), Some(p), Some(s), None) => Some([h, p, s]),
        _ => None,
    }
}

/// The registered claims the later checks read, taken out of the claims before they move into
/// the principal.
struct Registered {
    exp: u64,
    /// `None` when absent or not a number: both fail alike (`BadClaims`), at their old place.
    iat: Option<u64>,
    /// `sub` is present; its type is checked where it always was (after the lifetime and
    /// scopes).
    subject: Result<String, AuthFailure>,
}

/// A compact JWS, split and structurally checked; its header still to read.
struct Segments<'a> {
    /// The header's base64url text.
    header: &'a str,
    /// `header.payload`: what the signature covers.
    signed: &'a str,
    payload: &'a str,
    signature: &'a str,
}

/// A compact JWS, split and with its header parsed.
struct Parsed<'a> {
    header: Header,
    segments: Segments<'a>,
}

/// The structural checks every token passes before any key is looked up: compact
/// serialization of three non-empty base64url segments (no padding, no whitespace).
fn split_token(token: &str) -> Result<Segments<'_>, AuthFailure> {
    if token.starts_with('{') {
        return Err(AuthFailure::Unsupported);
    }
    let Some([h, p, s]) = split_compact(token) else {
        return Err(if token.split('.').count() == 5 {
            AuthFailure::Unsupported
        } else {
            AuthFailure::Malformed
        });
    };
    if !(is_b64url(h) && (p.is_empty() || is_b64url(p)) && is_b64url(s)) {
        return Err(AuthFailure::Malformed);
    }
    Ok(Segments {
        header: h,
        signed: &token[..h.len() + 1 + p.len()],
        payload: p,
        signature: s,
    })
}

/// The header's checks: a typed header with no duplicate members, no JWE (`enc`), no `zip`,
/// no `crit`, no `b64`.
fn read_header(segment: &str) -> Result<Header, AuthFailure> {
    let header_json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthFailure::Malformed)?;
    let header: RawHeader<'_> =
        serde_json::from_slice(&header_json).map_err(|_| AuthFailure::Malformed)?;
    if header.enc.is_some() || header.zip.is_some() || header.crit.is_some() || header.b64.is_some()
    {
        return Err(AuthFailure::Unsupported);
    }
    Ok(Header {
        alg: parse_alg(&header.alg),
        typ: Typ::of(header.typ.as_deref()),
        kid: header.kid.map(Cow::into_owned),
    })
}

/// [`split_token`], then [`read_header`].
fn parse_header(token: &str) -> Result<Parsed<'_>, AuthFailure> {
    let segments = split_token(token)?;
    Ok(Parsed {
        header: read_header(segments.header)?,
        segments,
    })
}

/// How many headers [`SeenHeaders`] remembers.
const SEEN_HEADERS: usize = 8;

/// The headers of tokens whose signature verified, by their exact base64url text: one
/// issuer's tokens share a header per signing key (`alg`, `kid`, `typ`), so the next token
/// from the same key skips the header's base64 and JSON. A header's reading depends on its
/// bytes alone, so a remembered one reads exactly as parsing it again would; only headers a
/// trusted key signed are remembered, so a caller cannot fill the list with its own, and the
/// list is bounded (the oldest leaves first).
#[derive(Default)]
struct SeenHeaders(ArcSwap<Vec<(Box<str>, Header)>>);

impl SeenHeaders {
    fn get(&self, segment: &str) -> Option<Header> {
        self.0
            .load()
            .iter()
            .find(|(seen, _)| **seen == *segment)
            .map(|(_, header)| header.clone())
    }

    fn remember(&self, segment: &str, header: &Header) {
        self.0.rcu(|seen| {
            let mut next: Vec<_> = seen
                .iter()
                .filter(|(s, _)| **s != *segment)
                .cloned()
                .collect();
            let full = next.len().saturating_sub(SEEN_HEADERS - 1);
            next.drain(..full);
            next.push((Box::from(segment), header.clone()));
            next
        });
    }
}

/// Checks only the structure, algorithm, key choice and signature of a compact JWS against
/// `keys`, with no claim or `typ` checks. The token path's signature core, exposed for
/// conformance vectors (Wycheproof) and fuzzing.
pub fn verify_signature_only(
    token: &str,
    keys: &KeySet,
    allowed: &[Algorithm],
) -> Result<Algorithm, AuthFailure> {
    super::install_crypto_provider();
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthFailure::TooLarge);
    }
    let parsed = parse_header(token)?;
    let alg = parsed
        .header
        .alg
        .filter(|a| allowed.contains(a))
        .ok_or(AuthFailure::BadAlgorithm)?;
    let key = keys.find(parsed.header.kid.as_deref(), alg)?;
    if key.verify(
        alg,
        parsed.segments.signed.as_bytes(),
        parsed.segments.signature,
    )? {
        Ok(alg)
    } else {
        Err(AuthFailure::BadSignature)
    }
}

pub(super) fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Validates JWT access tokens.
pub struct JwtValidator {
    config: JwtConfig,
    keys: KeySource,
    cache: TokenCache,
    seen_headers: SeenHeaders,
}

impl fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtValidator")
            .field("issuer", &self.config.issuer)
            .field("audiences", &self.config.audiences)
            .field("keys", &self.keys)
            .field("cache", &self.cache)
            .finish()
    }
}

impl JwtValidator {
    /// A validator for `config` with keys from `keys`.
    pub fn new(config: JwtConfig, keys: KeySource) -> Self {
        super::install_crypto_provider();
        Self {
            cache: TokenCache::new(config.cache_capacity),
            config,
            keys,
            seen_headers: SeenHeaders::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The verified-token cache.
    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// Validates without the cache (what a cache miss costs).
    pub async fn validate_uncached(
        &self,
        token: &str,
    ) -> Result<(Principal, u64, Option<Arc<str>>), AuthFailure> {
        if token.len() > self.config.max_token_bytes {
            return Err(AuthFailure::TooLarge);
        }
        let parsed = split_token(token)?;
        let (header, seen) = match self.seen_headers.get(parsed.header) {
            Some(header) => (header, true),
            None => (read_header(parsed.header)?, false),
        };
        match (self.config.typ, header.typ) {
            (_, Typ::AccessToken) | (TypPolicy::AllowJwt, Typ::Absent | Typ::Jwt) => {}
            _ => return Err(AuthFailure::BadType),
        }
        let alg = header
            .alg
            .filter(|a| self.config.algorithms.contains(a))
            .ok_or(AuthFailure::BadAlgorithm)?;
        let key = self.keys.key_for(header.kid.as_deref(), alg).await?;
        // One pass: the signature with the key parsed when it was loaded, then the payload
        // decoded once, strictly, into the claims every later check reads.
        if !key.verify(alg, parsed.signed.as_bytes(), parsed.signature)? {
            return Err(AuthFailure::BadSignature);
        }
        if !seen {
            self.seen_headers.remember(parsed.header, &header);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parsed.payload)
            .map_err(|_| AuthFailure::Malformed)?;
        let now = now_unix();
        // The checks read the claims borrowed from the payload; the principal keeps the
        // payload itself and builds its claim map only if a tool asks for it.
        let (builder, valid_until) = {
            let claims = Payload::parse(&payload)?;
            let known = claims.known();
            let registered = self.standard_checks(&claims, &known, now)?;
            let roles = known.roles();
            self.principal(&claims, registered, roles, token, now)?
        };
        let principal = builder.claims_json(payload).build();
        // The cache remembers the key by its material, so a token verified without a `kid`
        // dies with its key too.
        Ok((principal, valid_until, Some(key.fingerprint().clone())))
    }

    /// The registered claims' checks, in the order `jsonwebtoken`'s `Validation` makes them
    /// (so a token fails with the same kind as before the single pass): `exp`, `iss`, `sub`
    /// (and `aud` when it is the audience claim) present; `exp` not past (with leeway);
    /// `nbf` reached; `iss` exactly this issuer; the audience claim naming this resource.
    fn standard_checks(
        &self,
        claims: &Payload<'_>,
        known: &Known<'_>,
        now: u64,
    ) -> Result<Registered, AuthFailure> {
        let config = &self.config;
        let by_aud = config.audience_claim == "aud";
        let (exp, iss) = (known.exp, known.iss);
        if exp.is_none() || iss.is_none() || (by_aud && known.aud.is_none()) || known.sub.is_none()
        {
            return Err(AuthFailure::BadClaims);
        }
        let exp = exp.and_then(Val::as_u64).ok_or(AuthFailure::BadClaims)?;
        let nbf = time(known.nbf)?;
        let leeway = config.leeway.as_secs();
        if exp.saturating_add(leeway) < now {
            return Err(AuthFailure::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(AuthFailure::NotYetValid);
        }
        match iss {
            Some(Val::Str(iss)) if **iss != *config.issuer => {
                return Err(AuthFailure::BadIssuer);
            }
            Some(Val::Str(_)) => {}
            // `iss` is a StringOrURI: an array or another type is malformed.
            _ => return Err(AuthFailure::BadClaims),
        }
        // `aud`, or the claim standing in for it (`client_id` for Cognito).
        let audience = if by_aud {
            known.aud.into()
        } else {
            claims.shape(&config.audience_claim)
        };
        if !names_any(audience, &config.audiences)? {
            return Err(AuthFailure::BadAudience);
        }
        Ok(Registered {
            exp,
            iat: known.iat.and_then(Val::as_u64),
            subject: match known.sub {
                Some(Val::Str(sub)) => Ok(sub.as_ref().to_owned()),
                _ => Err(AuthFailure::BadClaims),
            },
        })
    }

    /// The checks after the registered claims' (required claims, tenant, `iat`, lifetime,
    /// scopes), and the principal the claims describe (its claim map still to come).
    fn principal(
        &self,
        claims: &Payload<'_>,
        Registered { exp, iat, subject }: Registered,
        roles: Vec<String>,
        token: &str,
        now: u64,
    ) -> Result<(PrincipalBuilder, u64), AuthFailure> {
        let config = &self.config;
        for (path, value) in &config.required_claims {
            if claims.string(path)? != Some(value.as_str()) {
                return Err(AuthFailure::BadClaims);
            }
        }
        let tenant = config.mapping.tenant_in(claims)?.map(str::to_owned);
        if !config.tenants.is_empty()
            && !tenant
                .as_deref()
                .is_some_and(|t| config.tenants.iter().any(|a| a == t))
        {
            return Err(AuthFailure::BadIssuer);
        }
        let iat = iat.ok_or(AuthFailure::BadClaims)?;
        let leeway = config.leeway.as_secs();
        if iat > now.saturating_add(leeway) {
            return Err(AuthFailure::IssuedInFuture);
        }
        if exp <= iat || exp - iat > config.max_lifetime.as_secs() {
            return Err(AuthFailure::LifetimeTooLong);
        }
        let scopes = config.mapping.scopes_in(claims)?;
        let subject = subject?;
        let valid_until = exp.saturating_add(leeway);
        let mut builder = Principal::bearer(subject)
            .issuer(Arc::clone(&config.issuer))
            .scopes(scopes)
            .expires_at_unix(valid_until)
            .rate_key_by(config.rate_key_by)
            .roles(roles);
        if let Some(client) = config.mapping.client_id_in(claims)? {
            builder = builder.client_id(client);
        }
        if let Some(tenant) = tenant {
            builder = builder.tenant(tenant);
        }
        if config.keep_token {
            builder = builder.token(crate::redact::SecretString::from(token.to_owned()));
        }
        let binding = match claims.path("cnf") {
            None => None,
            Some(Val::Obj(members)) => confirmation(
                members
                    .iter()
                    .map(|(name, value)| (name.as_ref(), value.as_str())),
            )?,
            Some(_) => return Err(AuthFailure::BadClaims),
        };
        if let Some(jkt) = binding {
            builder = builder.dpop_jkt(jkt);
        }
        Ok((builder, valid_until))
    }
}

impl TokenValidator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthFailure>> {
        Box::pin(async move {
            if token.len() > self.config.max_token_bytes {
                return Err(AuthFailure::TooLarge);
            }
            if self.cache.capacity() == 0 {
                return self.validate_uncached(token).await.map(|(p, _, _)| p);
            }
            let hash = token_hash(token);
            let now = now_unix();
            if let Some(principal) = self.cache.get(&hash, now, |kid| self.keys.still_has(kid)) {
                return Ok(principal);
            }
            let (principal, valid_until, kid) = self.validate_uncached(token).await?;
            self.cache
                .insert(hash, principal.clone(), valid_until, kid, now);
            Ok(principal)
        })
    }

    fn cached(&self, token: &str) -> Option<Principal> {
        if token.len() > self.config.max_token_bytes {
            return None;
        }
        self.cache.get(&token_hash(token), now_unix(), |kid| {
            self.keys.still_has(kid)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SigningKey;
    use serde_json::json;

    const ISSUER: &str = "https://as.example.com";
    const AUDIENCE: &str = "https://mcp.example.com/mcp";

    fn validator(key: &SigningKey) -> JwtValidator {
        let jwks = json!({"keys": [key.public_jwk()]});
        JwtValidator::new(
            JwtConfig::new(ISSUER, AUDIENCE).cache_capacity(0),
            KeySource::from_jwks_json(&jwks, DEFAULT_ALGORITHMS),
        )
    }

    fn token(key: &SigningKey, sub: &str) -> String {
        let now = now_unix();
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now + 300, "iat": now,
        });
        key.sign(&claims, Some("at+jwt")).unwrap()
    }

    fn seen(v: &JwtValidator) -> Vec<String> {
        v.seen_headers
            .0
            .load()
            .iter()
            .map(|(s, _)| s.to_string())
            .collect()
    }

    #[tokio::test]
    async fn a_header_is_remembered_only_once_a_trusted_key_signed_it() {
        let key = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
        // Another key under the same `kid`: its tokens carry byte-identical headers.
        let impostor = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
        let v = validator(&key);
        let forged = token(&impostor, "mallory");
        assert!(matches!(
            v.validate(&forged).await,
            Err(AuthFailure::BadSignature)
        ));
        assert!(seen(&v).is_empty(), "an unverified header was remembered");

        let good = token(&key, "alice");
        assert_eq!(v.validate(&good).await.unwrap().subject(), "alice");
        let header = good.split('.').next().unwrap();
        assert_eq!(seen(&v), [header]);
        assert_eq!(forged.split('.').next().unwrap(), header);

        // The remembered header does not stand in for the signature.
        assert!(matches!(
            v.validate(&forged).await,
            Err(AuthFailure::BadSignature)
        ));
        let [h, p, _] = split_compact(&good).unwrap();
        let [_, _, other_sig] = split_compact(&forged).unwrap();
        assert!(matches!(
            v.validate(&format!("{h}.{p}.{other_sig}")).await,
            Err(AuthFailure::BadSignature)
        ));
        assert_eq!(
            v.validate(&token(&key, "bob")).await.unwrap().subject(),
            "bob"
        );
        assert_eq!(seen(&v).len(), 1, "a remembered header is not added twice");
    }

    #[test]
    fn a_remembered_header_reads_as_parsing_it_again() {
        let seen = SeenHeaders::default();
        let segment = URL_SAFE_NO_PAD.encode(br#"{"alg":"PS384","typ":"AT+JWT","kid":"k\u0031"}"#);
        let header = read_header(&segment).unwrap();
        seen.remember(&segment, &header);
        let again = seen.get(&segment).unwrap();
        assert_eq!(again.alg, Some(Algorithm::PS384));
        assert!(again.typ == Typ::AccessToken);
        assert_eq!(again.kid.as_deref(), Some("k1"));
        // Another text for the same members is a different header: it is parsed, not matched.
        let spaced = URL_SAFE_NO_PAD.encode(br#"{"alg": "PS384","typ":"AT+JWT","kid":"k1"}"#);
        assert!(seen.get(&spaced).is_none());
    }

    #[test]
    fn remembered_headers_are_bounded_and_the_oldest_leave_first() {
        let seen = SeenHeaders::default();
        let segments: Vec<String> = (0..SEEN_HEADERS + 3)
            .map(|i| URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","kid":"k{i}"}}"#)))
            .collect();
        for segment in &segments {
            seen.remember(segment, &read_header(segment).unwrap());
        }
        // Remembering one already there moves it to the newest place, not a second copy.
        seen.remember(&segments[4], &read_header(&segments[4]).unwrap());
        assert_eq!(seen.0.load().len(), SEEN_HEADERS);
        for (i, segment) in segments.iter().enumerate() {
            let kept = seen.get(segment).and_then(|h| h.kid);
            if i < 3 {
                assert_eq!(kept, None, "header {i} should have left");
            } else {
                assert_eq!(kept, Some(format!("k{i}")));
            }
        }
        let newest = &seen.0.load()[SEEN_HEADERS - 1].0;
        assert_eq!(**newest, *segments[4]);
    }
}
