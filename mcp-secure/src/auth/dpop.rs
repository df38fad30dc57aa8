//! Sender-constrained access tokens: DPoP proofs (RFC 9449).
//!
//! A DPoP-bound access token carries `cnf.jkt`, the RFC 7638 thumbprint of the client's
//! public key; every request comes with a fresh proof, a JWT signed with that key naming the
//! request (`htm`, `htu`), the time (`iat`), a unique id (`jti`) and the hash of the access
//! token (`ath`). A token stolen without the key is worth nothing.
//!
//! [`DpopVerifier::verify`] checks a proof exactly as RFC 9449 section 4.3 lists: one proof;
//! a compact JWS; `typ` `dpop+jwt`; an asymmetric algorithm from the allow-list; a public
//! `jwk` header holding no private member; the signature under that key; `htm` and `htu`
//! (compared without query and fragment); `iat` within the window; the server nonce when
//! configured; `ath`; the thumbprint against the token's `cnf.jkt`; and last, `jti` unseen
//! within the window (a [`ReplayStore`]: in memory, bounded, or shared through Redis).
//! Failures are fixed kinds ([`DpopFailure`]); nothing of the proof is logged.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::future::BoxFuture;
use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::{
    VerifyingKey,
    claims::Claims,
    jwt::{is_b64url, parse_alg, split_compact},
    keys::alg_name,
};
pub use crate::config::DpopMode;

/// Longest proof accepted, in bytes.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Why a DPoP proof (or the lack of one) was refused. Fixed kinds for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DpopFailure {
    /// No `DPoP` header, or more than one.
    #[error("dpop_missing")]
    Missing,
    /// Not a compact JWS with JSON header and claims, or a claim of the wrong type.
    #[error("dpop_malformed")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("dpop_bad_type")]
    BadType,
    /// `alg` is not an asymmetric algorithm of the allow-list (`none`, HMAC, …).
    #[error("dpop_bad_algorithm")]
    BadAlgorithm,
    /// `jwk` is missing, not a usable public key, or does not fit `alg`.
    #[error("dpop_bad_key")]
    BadKey,
    /// `jwk` holds a private key member.
    #[error("dpop_private_key")]
    PrivateKey,
    /// The signature does not verify under `jwk`.
    #[error("dpop_bad_signature")]
    BadSignature,
    /// `htm` is not the request's method.
    #[error("dpop_bad_method")]
    BadMethod,
    /// `htu` is not the request's URI.
    #[error("dpop_bad_uri")]
    BadUri,
    /// `iat` is outside the window.
    #[error("dpop_stale")]
    Stale,
    /// No nonce, or not one this server issued recently.
    #[error("use_dpop_nonce")]
    UseNonce,
    /// `ath` is missing or is not the hash of the access token.
    #[error("dpop_bad_ath")]
    BadAth,
    /// The proof's key is not the one the token is bound to.
    #[error("dpop_key_mismatch")]
    KeyMismatch,
    /// This `jti` was already used within the window.
    #[error("dpop_replayed")]
    Replayed,
    /// The replay store is full or unreachable (fail closed).
    #[error("dpop_replay_store_unavailable")]
    StoreUnavailable,
    /// A DPoP-bound token presented as a bearer token.
    #[error("dpop_bound_token_as_bearer")]
    BoundAsBearer,
    /// `Authorization: DPoP` with a token not bound to any key.
    #[error("dpop_token_not_bound")]
    NotBound,
    /// A bearer token where the server requires DPoP.
    #[error("dpop_required")]
    Required,
}

impl DpopFailure {
    /// The fixed kind, e.g. `"dpop_replayed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "dpop_missing",
            Self::Malformed => "dpop_malformed",
            Self::BadType => "dpop_bad_type",
            Self::BadAlgorithm => "dpop_bad_algorithm",
            Self::BadKey => "dpop_bad_key",
            Self::PrivateKey => "dpop_private_key",
            Self::BadSignature => "dpop_bad_signature",
            Self::BadMethod => "dpop_bad_method",
            Self::BadUri => "dpop_bad_uri",
            Self::Stale => "dpop_stale",
            Self::UseNonce => "use_dpop_nonce",
            Self::BadAth => "dpop_bad_ath",
            Self::KeyMismatch => "dpop_key_mismatch",
            Self::Replayed => "dpop_replayed",
            Self::StoreUnavailable => "dpop_replay_store_unavailable",
            Self::BoundAsBearer => "dpop_bound_token_as_bearer",
            Self::NotBound => "dpop_token_not_bound",
            Self::Required => "dpop_required",
        }
    }

    /// The OAuth error code of the challenge (RFC 9449 section 7.1, 9).
    pub fn error_code(self) -> &'static str {
        match self {
            Self::UseNonce => "use_dpop_nonce",
            Self::BoundAsBearer | Self::NotBound | Self::Required => "invalid_token",
            _ => "invalid_dpop_proof",
        }
    }

    /// A fixed description for the challenge.
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "A DPoP proof is required with this token",
            Self::UseNonce => "Resend the proof with the server's DPoP-Nonce",
            Self::Replayed => "The DPoP proof was already used",
            Self::Stale => "The DPoP proof is too old or from the future",
            Self::KeyMismatch => "The DPoP proof is not signed by the key the token is bound to",
            Self::BoundAsBearer => "This token is bound to a key: present it with a DPoP proof",
            Self::NotBound => "This token is not bound to a key: present it as a bearer token",
            Self::Required => "This server requires DPoP-bound tokens",
            Self::StoreUnavailable => "The DPoP proof cannot be checked now",
            _ => "The DPoP proof is invalid",
        }
    }
}

/// Where used `jti`s are remembered for the proof window.
pub trait ReplayStore: Send + Sync + std::fmt::Debug {
    /// Records `key` for `ttl`: `Ok(true)` the first time within `ttl`, `Ok(false)` for a
    /// replay, `Err` when the store cannot answer (the proof is then refused).
    fn first_use(&self, key: [u8; 32], ttl: Duration) -> BoxFuture<'_, Result<bool, ()>>;
}

/// `jti`s in memory: bounded, swept as they expire. Per process: replicas need
/// [`ReplayStore`] on shared storage (Redis) to refuse a proof replayed to another replica.
#[derive(Debug)]
pub struct MemoryReplayStore {
    seen: Mutex<(HashMap<[u8; 32], Instant>, Instant)>,
    max: usize,
}

impl MemoryReplayStore {
    /// At most `max` proofs remembered at once; beyond that new proofs are refused until
    /// old ones expire (a full store fails closed rather than forgetting).
    pub fn new(max: usize) -> Self {
        Self {
            seen: Mutex::new((HashMap::new(), Instant::now())),
            max: max.max(1),
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

impl MemoryReplayStore {
    /// [`ReplayStore::first_use`], answered at once: `Some(true)` the first time,
    /// `Some(false)` for a replay, `None` when the store is full.
    pub fn first_use_now(&self, key: [u8; 32], ttl: Duration) -> Option<bool> {
        let now = Instant::now();
        let mut guard = self.seen.lock().ok()?;
        let (seen, last_sweep) = &mut *guard;
        if let Some(until) = seen.get(&key)
            && *until > now
        {
            return Some(false);
        }
        // Sweep expired entries at most once a second, or when full.
        if seen.len() >= self.max || now.duration_since(*last_sweep) >= Duration::from_secs(1) {
            seen.retain(|_, until| *until > now);
            *last_sweep = now;
        }
        if seen.len() >= self.max {
            return None;
        }
        seen.insert(key, now + ttl);
        Some(true)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use(&self, key: [u8; 32], ttl: Duration) -> BoxFuture<'_, Result<bool, ()>> {
        Box::pin(std::future::ready(self.first_use_now(key, ttl).ok_or(())))
    }
}

/// Server nonces (RFC 9449 section 8): the time slot and an HMAC of it under a key of this
/// process, valid for the current and the previous slot.
struct Nonces {
    key: aws_lc_rs::hmac::Key,
    slot: u64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces").field("slot", &self.slot).finish()
    }
}

impl Nonces {
    fn new(slot: Duration) -> Option<Self> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng).ok()?;
        Some(Self {
            key,
            slot: slot.as_secs().max(1),
        })
    }

    fn for_slot(&self, slot: u64) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.key, &slot.to_be_bytes());
        let mut bytes = slot.to_be_bytes().to_vec();
        bytes.extend_from_slice(tag.as_ref().get(..16).unwrap_or_default());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn current(&self) -> String {
        self.for_slot(super::now_unix() / self.slot)
    }

    fn valid(&self, nonce: &str) -> bool {
        let now = super::now_unix() / self.slot;
        [now, now.saturating_sub(1)]
            .iter()
            .any(|&slot| constant_time_eq(nonce.as_bytes(), self.for_slot(slot).as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Settings of DPoP proof checking.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DpopConfig {
    /// Off, optional or required.
    pub mode: DpopMode,
    /// Algorithms a proof may be signed with (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// How old a proof's `iat` may be.
    pub max_age: Duration,
    /// How far in the future a proof's `iat` may be (clock skew).
    pub max_skew: Duration,
    /// Require server nonces.
    pub nonce: bool,
}

impl DpopConfig {
    /// `mode` with the defaults: the resource server's algorithms, proofs up to 60 s old and
    /// 5 s ahead, no nonces.
    pub fn new(mode: DpopMode) -> Self {
        Self {
            mode,
            algorithms: super::jwt::DEFAULT_ALGORITHMS.to_vec(),
            max_age: Duration::from_secs(60),
            max_skew: Duration::from_secs(5),
            nonce: false,
        }
    }

    /// Require server nonces (`DPoP-Nonce`).
    pub fn nonce(mut self, on: bool) -> Self {
        self.nonce = on;
        self
    }

    /// The accepted algorithms, space-separated (the challenge's `algs`).
    pub fn algs(&self) -> String {
        self.algorithms
            .iter()
            .map(|a| alg_name(*a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Checks DPoP proofs.
#[derive(Debug)]
pub struct DpopVerifier {
    config: DpopConfig,
    replay: Arc<dyn ReplayStore>,
    nonces: Option<Nonces>,
    /// Checked proof headers and their prepared keys, by the SHA-256 of the header's bytes: a
    /// client sends the same header (`typ`, `alg`, `jwk`) with every proof, and parsing it and
    /// preparing its key (an RSA modulus above all) costs more than the rest of the check.
    /// Bounded; emptied when full.
    keys: Mutex<HashMap<[u8; 32], Arc<ProofKey>>>,
}

/// A proof key checked and prepared, with its thumbprint.
#[derive(Debug)]
struct ProofKey {
    key: VerifyingKey,
    alg: Algorithm,
    jkt: String,
}

/// Prepared proof keys kept at most.
const MAX_CACHED_KEYS: usize = 10_000;

/// What a valid proof established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
}

/// What a proof must match.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The request's URI (query and fragment are ignored).
    pub uri: &'a url::Url,
    /// The access token sent with the proof (checked against `ath`); `None` at a token
    /// endpoint.
    pub access_token: Option<&'a str>,
    /// The thumbprint the token is bound to, if it is.
    pub jkt: Option<&'a str>,
}

impl DpopVerifier {
    /// A verifier remembering `jti`s in `replay`.
    pub fn new(config: DpopConfig, replay: Arc<dyn ReplayStore>) -> Self {
        super::install_crypto_provider();
        let nonces = config.nonce.then(|| Nonces::new(config.max_age)).flatten();
        Self {
            config,
            replay,
            nonces,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &DpopConfig {
        &self.config
    }

    /// A fresh server nonce, when nonces are required.
    pub fn nonce(&self) -> Option<String> {
        self.nonces.as_ref().map(Nonces::current)
    }

    /// Checks `proof` for a request to `target` (RFC 9449 section 4.3).
    pub async fn verify(
        &self,
        proof: &str,
        target: ProofTarget<'_>,
    ) -> Result<VerifiedProof, DpopFailure> {
        let (jkt, jti) = self.check(proof, target)?;
        // Last, so that only proofs valid in every other respect take room in the store.
        let mut hasher = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        hasher.update(jkt.as_bytes());
        hasher.update(b"\0");
        hasher.update(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(hasher.finish().as_ref());
        match self
            .replay
            .first_use(key, self.config.max_age + self.config.max_skew)
            .await
        {
            Ok(true) => Ok(VerifiedProof { jkt }),
            Ok(false) => Err(DpopFailure::Replayed),
            Err(()) => Err(DpopFailure::StoreUnavailable),
        }
    }

    /// The prepared key of a proof's `jwk` for `alg`, from the cache or checked and prepared.
    /// The checked header of a proof: from the cache when these exact header bytes passed
    /// before, else parsed, checked (`typ`, no unsupported member, `alg`, a public `jwk`) and
    /// its key prepared.
    fn header(&self, h: &str) -> Result<Arc<ProofKey>, DpopFailure> {
        use DpopFailure as F;
        let mut cache_key = [0u8; 32];
        cache_key.copy_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, h.as_bytes()).as_ref(),
        );
        if let Some(key) = self
            .keys
            .lock()
            .ok()
            .and_then(|keys| keys.get(&cache_key).cloned())
        {
            return Ok(key);
        }
        let header = decode_json(h)?;
        let typ = header.string("typ").map_err(|_| F::Malformed)?;
        if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
            return Err(F::BadType);
        }
        for unsupported in ["crit", "enc", "zip", "b64", "jku", "x5u", "x5c"] {
            if header.0.contains_key(unsupported) {
                return Err(F::Malformed);
            }
        }
        let alg = header
            .string("alg")
            .map_err(|_| F::Malformed)?
            .and_then(parse_alg)
            .filter(|a| self.config.algorithms.contains(a))
            .ok_or(F::BadAlgorithm)?;
        let jwk = header.0.get("jwk").ok_or(F::BadKey)?;
        let members = jwk.as_object().ok_or(F::BadKey)?;
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| members.contains_key(*m))
        {
            return Err(F::PrivateKey);
        }
        let key = VerifyingKey::from_jwk_value(jwk, &[alg]).map_err(|_| F::BadKey)?;
        if !key.accepts(alg) {
            return Err(F::BadKey);
        }
        let prepared = Arc::new(ProofKey {
            key,
            alg,
            jkt: thumbprint(jwk).ok_or(F::BadKey)?,
        });
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= MAX_CACHED_KEYS {
                keys.clear();
            }
            keys.insert(cache_key, prepared.clone());
        }
        Ok(prepared)
    }

    /// Every check but replay; returns the thumbprint and the `jti`.
    fn check(&self, proof: &str, target: ProofTarget<'_>) -> Result<(String, String), DpopFailure> {
        use DpopFailure as F;
        if proof.len() > MAX_PROOF_BYTES {
            return Err(F::Malformed);
        }
        let [h, p, s] = split_compact(proof).ok_or(F::Malformed)?;
        // An empty signature (`alg: none`) passes the structure and fails on the algorithm.
        if !(is_b64url(h) && is_b64url(p) && (s.is_empty() || is_b64url(s))) {
            return Err(F::Malformed);
        }
        let prepared = self.header(h)?;
        let (key, alg) = (&prepared.key, prepared.alg);
        let message_len = h.len() + 1 + p.len();
        let message = proof.get(..message_len).ok_or(F::Malformed)?;
        if key.verify(alg, message.as_bytes(), s) != Ok(true) {
            return Err(F::BadSignature);
        }
        let claims = decode_json(p)?;
        let jti = claims
            .string("jti")
            .map_err(|_| F::Malformed)?
            .filter(|j| !j.is_empty() && j.len() <= 512)
            .ok_or(F::Malformed)?;
        let htm = claims
            .string("htm")
            .map_err(|_| F::Malformed)?
            .ok_or(F::Malformed)?;
        let htu = claims
            .string("htu")
            .map_err(|_| F::Malformed)?
            .ok_or(F::Malformed)?;
        let iat = claims
            .time("iat")
            .map_err(|_| F::Malformed)?
            .ok_or(F::Malformed)?;
        if htm != target.method {
            return Err(F::BadMethod);
        }
        if !same_uri(htu, target.uri) {
            return Err(F::BadUri);
        }
        let now = super::now_unix();
        if iat.saturating_add(self.config.max_age.as_secs()) < now
            || iat > now.saturating_add(self.config.max_skew.as_secs())
        {
            return Err(F::Stale);
        }
        if let Some(nonces) = &self.nonces {
            let nonce = claims.string("nonce").map_err(|_| F::Malformed)?;
            if !nonce.is_some_and(|n| nonces.valid(n)) {
                return Err(F::UseNonce);
            }
        }
        if let Some(token) = target.access_token {
            let ath = claims
                .string("ath")
                .map_err(|_| F::Malformed)?
                .ok_or(F::BadAth)?;
            let expected = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                token.as_bytes(),
            ));
            if !constant_time_eq(ath.as_bytes(), expected.as_bytes()) {
                return Err(F::BadAth);
            }
        }
        let jkt = prepared.jkt.clone();
        if let Some(bound) = target.jkt
            && !constant_time_eq(bound.as_bytes(), jkt.as_bytes())
        {
            return Err(F::KeyMismatch);
        }
        Ok((jkt, jti.to_owned()))
    }
}

/// A base64url segment holding a JSON object without repeated members.
fn decode_json(segment: &str) -> Result<Claims, DpopFailure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| DpopFailure::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| DpopFailure::Malformed)
}

/// `htu` names `uri`: same scheme, host, port and path (RFC 3986 normalised by the URL
/// parser: case of scheme and host, default port), query and fragment ignored.
fn same_uri(htu: &str, uri: &url::Url) -> bool {
    let Ok(htu) = url::Url::parse(htu) else {
        return false;
    };
    htu.scheme() == uri.scheme()
        && htu.host() == uri.host()
        && htu.port_or_known_default() == uri.port_or_known_default()
        && htu.path() == uri.path()
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: its required members in
/// lexicographic order, no whitespace.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk.get(*m)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&serde_json::to_string(m).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(v).ok()?);
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    )))
}

/// The binding the members of a verified token's confirmation claim (`cnf`, RFC 7800) state,
/// fail-closed: `cnf.jkt` (RFC 9449), the key thumbprint every request's DPoP proof must
/// match. A `cnf` this server cannot check is refused rather than read as no binding, since
/// the issuer meant the token for one client only: a `cnf` that is not an object or is empty,
/// or whose `jkt` is not a non-empty string, is `BadClaims`; any other confirmation method
/// (`x5t#S256` of mutual-TLS-bound tokens, RFC 8705; `jwk`, `jku`, `kid`, `jwe`) is
/// `Unsupported`.
pub(crate) fn confirmation<'v>(
    members: impl IntoIterator<Item = (&'v str, Option<&'v str>)>,
) -> Result<Option<&'v str>, super::AuthFailure> {
    let mut jkt = None;
    let mut any = false;
    for (name, value) in members {
        any = true;
        match (name, value) {
            ("jkt", Some(thumbprint)) if !thumbprint.is_empty() && jkt.is_none() => {
                jkt = Some(thumbprint);
            }
            ("jkt", _) => return Err(super::AuthFailure::BadClaims),
            _ => return Err(super::AuthFailure::Unsupported),
        }
    }
    if any {
        Ok(jkt)
    } else {
        Err(super::AuthFailure::BadClaims)
    }
}

/// [`confirmation`] of a `cnf` held as JSON (an introspection answer's).
pub(crate) fn confirmation_of(cnf: Option<&Value>) -> Result<Option<&str>, super::AuthFailure> {
    match cnf {
        None => Ok(None),
        Some(Value::Object(members)) => {
            confirmation(members.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        }
        Some(_) => Err(super::AuthFailure::BadClaims),
    }
}

/// The `cnf.jkt` of a verified token's claims, if it is DPoP-bound.
pub fn bound_jkt(claims: &serde_json::Map<String, Value>) -> Option<&str> {
    crate::principal::bound_jkt(claims)
}

/// The base64url SHA-256 of an access token, for a proof's `ath`.
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        access_token.as_bytes(),
    ))
}

/// Makes DPoP proofs with one key (the client half: tests, the tour, [`DpopProofs`] users).
#[derive(Debug)]
pub struct DpopProofs {
    key: super::SigningKey,
    jwk: Value,
    jkt: String,
}

impl DpopProofs {
    /// Proofs signed with `key` (asymmetric).
    pub fn new(key: super::SigningKey) -> Option<Self> {
        let mut jwk = key.public_jwk().clone();
        if let Some(o) = jwk.as_object_mut() {
            o.remove("kid");
            o.remove("use");
            o.remove("alg");
        }
        let jkt = thumbprint(&jwk)?;
        Some(Self { key, jwk, jkt })
    }

    /// The key's thumbprint (`cnf.jkt` of tokens bound to it, `dpop_jkt` at authorization).
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A proof for `method` `uri`, with `ath` of `access_token` and `nonce` when given.
    pub fn proof(
        &self,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Option<String> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut id = [0u8; 16];
        aws_lc_rs::rand::SecureRandom::fill(&rng, &mut id).ok()?;
        let mut claims = serde_json::json!({
            "jti": URL_SAFE_NO_PAD.encode(id),
            "htm": method,
            "htu": uri,
            "iat": super::now_unix(),
        });
        if let Some(token) = access_token {
            claims["ath"] = Value::String(ath(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = Value::String(nonce.to_owned());
        }
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": alg_name(self.key.alg()),
            "jwk": self.jwk,
        });
        let header = serde_json::to_vec(&header).ok()?;
        let claims = serde_json::to_vec(&claims).ok()?;
        self.key.sign_raw(&header, &claims).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_confirmation_is_dpop_jkt_or_refused() {
        use super::super::AuthFailure as F;
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        assert_eq!(confirmation_of(None), Ok(None));
        let cnf = json!({"jkt": jkt});
        assert_eq!(confirmation_of(Some(&cnf)), Ok(Some(jkt)));
        for (cnf, refusal) in [
            (
                json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
                F::Unsupported,
            ),
            (json!({"jkt": jkt, "jwk": {}}), F::Unsupported),
            (
                json!({"jku": "https://client.example/jwks"}),
                F::Unsupported,
            ),
            (json!({"jkt": 1}), F::BadClaims),
            (json!({"jkt": ""}), F::BadClaims),
            (json!({}), F::BadClaims),
            (json!("jkt"), F::BadClaims),
            (json!(null), F::BadClaims),
        ] {
            assert_eq!(confirmation_of(Some(&cnf)), Err(refusal), "{cnf}");
        }
    }
    #[test]
    fn the_rfc_7638_example_thumbprint() {
        // RFC 7638 section 3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgets() {
        let store = MemoryReplayStore::new(2);
        let ttl = Duration::from_secs(60);
        let ready = |f: BoxFuture<'_, Result<bool, ()>>| futures::executor::block_on(f);
        assert_eq!(ready(store.first_use([1; 32], ttl)), Ok(true));
        assert_eq!(ready(store.first_use([1; 32], ttl)), Ok(false));
        assert_eq!(ready(store.first_use([2; 32], ttl)), Ok(true));
        assert_eq!(ready(store.first_use([3; 32], ttl)), Err(()));
        // Expired entries make room.
        let store = MemoryReplayStore::new(1);
        assert_eq!(ready(store.first_use([1; 32], Duration::ZERO)), Ok(true));
        assert_eq!(ready(store.first_use([2; 32], ttl)), Ok(true));
    }

    #[test]
    fn nonces_hold_for_two_slots_and_are_unforgeable() {
        let n = Nonces::new(Duration::from_secs(60)).unwrap();
        let current = n.current();
        assert!(n.valid(&current));
        let slot = super::super::now_unix() / 60;
        assert!(n.valid(&n.for_slot(slot - 1)));
        assert!(!n.valid(&n.for_slot(slot - 2)));
        assert!(!n.valid(&n.for_slot(slot + 1)));
        let other = Nonces::new(Duration::from_secs(60)).unwrap();
        assert!(!n.valid(&other.current()));
        assert!(!n.valid(""));
    }

    #[test]
    fn uris_compare_without_query_and_fragment() {
        let uri = url::Url::parse("https://mcp.example.com/mcp").unwrap();
        assert!(same_uri("https://MCP.example.com:443/mcp?x=1#f", &uri));
        assert!(!same_uri("https://mcp.example.com/mcp/", &uri));
        assert!(!same_uri("http://mcp.example.com/mcp", &uri));
        assert!(!same_uri("https://mcp.example.com:8443/mcp", &uri));
        assert!(!same_uri("not a url", &uri));
    }
}
