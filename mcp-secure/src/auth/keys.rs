//! Keys: the public keys tokens are verified with (from a JWKS, checked one by one), and
//! signing keys for the embedded development authorization server and for tests.

use std::{fmt, sync::Arc};

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair,
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse},
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::redact::{ExposeSecret, SecretBox};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Why a key from a key set was not used. Fixed kinds, safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRejected {
    /// Not a parseable JWK.
    #[error("malformed key")]
    Malformed,
    /// A symmetric (`oct`) key: HMAC is never accepted next to public keys.
    #[error("symmetric key")]
    Symmetric,
    /// `use` is not `sig`, or `key_ops` lacks `verify`.
    #[error("key not meant for verifying signatures")]
    NotForSignatures,
    /// An RSA modulus under 2048 bits.
    #[error("RSA key shorter than 2048 bits")]
    TooWeak,
    /// An elliptic curve other than P-256, P-384 or Ed25519.
    #[error("unsupported curve")]
    UnsupportedCurve,
    /// The key's `alg` is not in the allow-list.
    #[error("key algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The key's `alg` does not fit its key type.
    #[error("key algorithm does not match the key type")]
    AlgorithmMismatch,
}

/// The public key's material, decoded once: what [`VerifyingKey`] prepares its verifiers from.
enum Material {
    /// RSA modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed EC point (`04 || x || y`) or an Ed25519 public key.
    Point(Vec<u8>),
}

/// The algorithms a key can verify, in the order of its prepared-key slots (also the
/// validator's default allow-list).
pub(crate) const VERIFIABLE: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// aws-lc-rs's verification algorithm for a JWS `alg`: the same ones `jsonwebtoken` uses
/// (RSA moduli of 2048 to 8192 bits, fixed-length `r || s` ECDSA signatures).
fn verification_algorithm(
    alg: Algorithm,
) -> Option<&'static dyn aws_lc_rs::signature::VerificationAlgorithm> {
    use aws_lc_rs::signature as sig;
    Some(match alg {
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => rsa_parameters(alg)?,
    })
}

fn rsa_parameters(alg: Algorithm) -> Option<&'static aws_lc_rs::signature::RsaParameters> {
    use aws_lc_rs::signature as sig;
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// Longest signature accepted: an RSA-8192 signature (the largest modulus verified).
const MAX_SIGNATURE_BYTES: usize = 1024;

/// A verified-usable public key.
pub struct VerifyingKey {
    kid: Option<String>,
    /// A digest of the key material: what the verified-token cache remembers, so a cached
    /// token dies with its key (with or without a `kid`, and when a `kid` is reused for other
    /// material).
    fingerprint: Arc<str>,
    /// The JWK's `alg`, when it names one: tokens must then use exactly that algorithm.
    alg: Option<Algorithm>,
    family: jsonwebtoken::AlgorithmFamily,
    /// For `jsonwebtoken::decode` where a whole JWT is checked with it (the development
    /// server's client assertions); tokens and proofs use `prepared`.
    #[cfg_attr(not(feature = "dev-auth"), allow(dead_code))]
    key: DecodingKey,
    material: Material,
    /// One parsed aws-lc-rs key per algorithm (slots as in `VERIFIABLE`), made on first use:
    /// a token's verification does not parse the key again (for RSA, the Montgomery
    /// constants are computed once per key, not once per token).
    prepared: [std::sync::OnceLock<Option<aws_lc_rs::signature::ParsedPublicKey>>; 9],
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

fn family_of(alg: Algorithm) -> jsonwebtoken::AlgorithmFamily {
    use jsonwebtoken::AlgorithmFamily as F;
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => F::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => F::Ec,
        Algorithm::EdDSA => F::Ed,
        _ => F::Rsa,
    }
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Bits of a big-endian unsigned integer given in base64url.
fn bit_length(b64: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    let first = bytes.iter().position(|&b| b != 0)?;
    let lead = bytes[first].leading_zeros() as usize;
    Some((bytes.len() - first) * 8 - lead)
}

/// The key's material in the form aws-lc-rs parses (as `jsonwebtoken` decodes it from a JWK).
fn material(jwk: &Jwk) -> Result<Material, KeyRejected> {
    let decode = |b64: &str| {
        URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| KeyRejected::Malformed)
    };
    Ok(match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => Material::Rsa {
            n: decode(&rsa.n)?,
            e: decode(&rsa.e)?,
        },
        AlgorithmParameters::EllipticCurve(ec) => {
            let (x, y) = (decode(&ec.x)?, decode(&ec.y)?);
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::Point(point)
        }
        AlgorithmParameters::OctetKeyPair(okp) => Material::Point(decode(&okp.x)?),
        _ => return Err(KeyRejected::Malformed),
    })
}

/// `sha256:` and the first 16 bytes, in hex, of the digest of the JWK's key parameters, id
/// and algorithm.
fn fingerprint(jwk: &Jwk) -> Result<Arc<str>, KeyRejected> {
    use std::fmt::Write;
    let material = serde_json::to_vec(&(
        &jwk.algorithm,
        &jwk.common.key_id,
        &jwk.common.key_algorithm,
    ))
    .map_err(|_| KeyRejected::Malformed)?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &material);
    let mut out = String::from("sha256:");
    for b in &digest.as_ref()[..16] {
        let _ = write!(out, "{b:02x}");
    }
    Ok(out.into())
}

impl VerifyingKey {
    /// Checks one JWK and prepares it for verification. `allowed` is the algorithm allow-list.
    pub fn from_jwk_value(value: &Value, allowed: &[Algorithm]) -> Result<Self, KeyRejected> {
        let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|_| KeyRejected::Malformed)?;
        Self::from_jwk(&jwk, allowed)
    }

    /// Checks a parsed JWK.
    pub fn from_jwk(jwk: &Jwk, allowed: &[Algorithm]) -> Result<Self, KeyRejected> {
        use jsonwebtoken::AlgorithmFamily as F;
        let common = &jwk.common;
        if let Some(usage) = &common.public_key_use
            && *usage != PublicKeyUse::Signature
        {
            return Err(KeyRejected::NotForSignatures);
        }
        if let Some(ops) = &common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err(KeyRejected::NotForSignatures);
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::OctetKey(_) => return Err(KeyRejected::Symmetric),
            AlgorithmParameters::RSA(rsa) => {
                if bit_length(&rsa.n).ok_or(KeyRejected::Malformed)? < MIN_RSA_BITS {
                    return Err(KeyRejected::TooWeak);
                }
                F::Rsa
            }
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 | EllipticCurve::P384 => F::Ec,
                _ => return Err(KeyRejected::UnsupportedCurve),
            },
            AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
                EllipticCurve::Ed25519 => F::Ed,
                _ => return Err(KeyRejected::UnsupportedCurve),
            },
            #[allow(unreachable_patterns)]
            _ => return Err(KeyRejected::Malformed),
        };
        let alg = match common.key_algorithm {
            None => None,
            Some(ka) => {
                let alg = key_algorithm(ka).ok_or(KeyRejected::AlgorithmNotAllowed)?;
                if family_of(alg) != family {
                    return Err(KeyRejected::AlgorithmMismatch);
                }
                if !allowed.contains(&alg) {
                    return Err(KeyRejected::AlgorithmNotAllowed);
                }
                Some(alg)
            }
        };
        // An EC key serves one curve's algorithm only.
        if let AlgorithmParameters::EllipticCurve(ec) = &jwk.algorithm {
            let curve_alg = if ec.curve == EllipticCurve::P256 {
                Algorithm::ES256
            } else {
                Algorithm::ES384
            };
            if alg.is_some_and(|a| a != curve_alg) {
                return Err(KeyRejected::AlgorithmMismatch);
            }
            if !allowed.contains(&curve_alg) {
                return Err(KeyRejected::AlgorithmNotAllowed);
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|_| KeyRejected::Malformed)?;
            return Ok(Self {
                kid: common.key_id.clone(),
                fingerprint: fingerprint(jwk)?,
                alg: Some(curve_alg),
                family,
                key,
                material: material(jwk)?,
                prepared: Default::default(),
            });
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| KeyRejected::Malformed)?;
        Ok(Self {
            kid: common.key_id.clone(),
            fingerprint: fingerprint(jwk)?,
            alg,
            family,
            key,
            material: material(jwk)?,
            prepared: Default::default(),
        })
    }

    /// The parsed key for `alg`, made on first use; `None` when this key cannot serve `alg`
    /// or aws-lc-rs refuses the material (an EC point off its curve, say).
    fn prepared(&self, alg: Algorithm) -> Option<&aws_lc_rs::signature::ParsedPublicKey> {
        use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
        if !self.accepts(alg) {
            return None;
        }
        let slot = VERIFIABLE.iter().position(|a| *a == alg)?;
        self.prepared[slot]
            .get_or_init(|| match &self.material {
                Material::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(rsa_parameters(alg)?)
                    .ok(),
                Material::Point(bytes) => {
                    ParsedPublicKey::new(verification_algorithm(alg)?, bytes).ok()
                }
            })
            .as_ref()
    }

    /// Verifies a compact JWS's signature: `signature_b64` (base64url, unpadded) over
    /// `message` (`header.payload`) with `alg`. `Ok(false)`: not a valid signature by this key
    /// (also a key that cannot serve `alg`); `Err(Malformed)`: the signature is not base64url.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature_b64: &str,
    ) -> Result<bool, super::AuthFailure> {
        let mut signature = [0u8; MAX_SIGNATURE_BYTES];
        let len = match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
            Ok(len) => len,
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => return Ok(false),
            Err(base64::DecodeSliceError::DecodeError(_)) => {
                return Err(super::AuthFailure::Malformed);
            }
        };
        let Some(key) = self.prepared(alg) else {
            return Ok(false);
        };
        Ok(key.verify_sig(message, &signature[..len]).is_ok())
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// A digest of the key material (and its id and algorithm), `sha256:` and 32 hex digits.
    pub fn fingerprint(&self) -> &Arc<str> {
        &self.fingerprint
    }

    /// Whether a token signed with `alg` may be verified with this key.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        family_of(alg) == self.family && self.alg.is_none_or(|a| a == alg)
    }

    #[cfg_attr(not(feature = "dev-auth"), allow(dead_code))]
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// A private signing key with its public JWK, for the development authorization server and
/// for tests. `Debug` shows the key id and algorithm only.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    public_jwk: Value,
    pkcs8: SecretBox<Vec<u8>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Key generation or loading failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// The algorithm is not one a signing key can be made for (HMAC, or unknown).
    #[error("unsupported signing algorithm")]
    UnsupportedAlgorithm,
    /// The key material is invalid.
    #[error("invalid key material")]
    InvalidKey,
    /// Token signing failed.
    #[error("signing failed")]
    Signing,
}

fn rsa_jwk(kid: &str, alg: Algorithm, n: &[u8], e: &[u8]) -> Value {
    json!({
        "kty": "RSA", "use": "sig", "alg": alg_name(alg), "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
    })
}

/// PKCS#8 DER as a `PRIVATE KEY` PEM.
fn pkcs8_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The JOSE name of `alg` (`"RS256"`, `"EdDSA"`, …).
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

impl SigningKey {
    /// Generates a key for `alg` (RSA 2048 for RS*/PS*, P-256/P-384, Ed25519).
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<Self, SigningKeyError> {
        Self::generate_sized(alg, kid, KeySize::Rsa2048)
    }

    /// Generates an RSA key of `size` (or an EC/Ed key, ignoring `size`).
    pub fn generate_sized(
        alg: Algorithm,
        kid: impl Into<String>,
        size: KeySize,
    ) -> Result<Self, SigningKeyError> {
        let pkcs8: Vec<u8> = match family_of(alg) {
            jsonwebtoken::AlgorithmFamily::Rsa => aws_lc_rs::rsa::KeyPair::generate(size)
                .and_then(|k| k.as_der())
                .map(|d| d.as_ref().to_vec()),
            jsonwebtoken::AlgorithmFamily::Ec => {
                let signing = if alg == Algorithm::ES256 {
                    &ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &ECDSA_P384_SHA384_FIXED_SIGNING
                };
                EcdsaKeyPair::generate(signing)
                    .and_then(|k| k.to_pkcs8v1())
                    .map(|d| d.as_ref().to_vec())
            }
            jsonwebtoken::AlgorithmFamily::Ed => {
                Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map(|d| d.as_ref().to_vec())
            }
            jsonwebtoken::AlgorithmFamily::Hmac => {
                return Err(SigningKeyError::UnsupportedAlgorithm);
            }
        }
        .map_err(|_| SigningKeyError::InvalidKey)?;
        Self::from_pkcs8(alg, kid, &pkcs8)
    }

    /// Loads a PKCS#8 private key (as saved by [`SigningKey::to_pkcs8`]).
    pub fn from_pkcs8(
        alg: Algorithm,
        kid: impl Into<String>,
        der: &[u8],
    ) -> Result<Self, SigningKeyError> {
        let kid = kid.into();
        let (encoding, public_jwk) = match family_of(alg) {
            jsonwebtoken::AlgorithmFamily::Rsa => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                    .map_err(|_| SigningKeyError::InvalidKey)?;
                let public = pair.public_key();
                let jwk = rsa_jwk(
                    &kid,
                    alg,
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                );
                // jsonwebtoken signs RSA from PKCS#1; its PEM reader unwraps PKCS#8 to it.
                let encoding = EncodingKey::from_rsa_pem(pkcs8_pem(der).as_bytes())
                    .map_err(|_| SigningKeyError::InvalidKey)?;
                (encoding, jwk)
            }
            jsonwebtoken::AlgorithmFamily::Ec => {
                let (signing, crv, len) = if alg == Algorithm::ES256 {
                    (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)
                } else {
                    (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)
                };
                let pair = EcdsaKeyPair::from_pkcs8(signing, der)
                    .map_err(|_| SigningKeyError::InvalidKey)?;
                let point = pair.public_key().as_ref();
                if point.len() != 1 + 2 * len {
                    return Err(SigningKeyError::InvalidKey);
                }
                let jwk = json!({
                    "kty": "EC", "use": "sig", "alg": alg_name(alg), "kid": kid, "crv": crv,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..=len]),
                    "y": URL_SAFE_NO_PAD.encode(&point[1 + len..]),
                });
                (EncodingKey::from_ec_der(der), jwk)
            }
            jsonwebtoken::AlgorithmFamily::Ed => {
                let pair =
                    Ed25519KeyPair::from_pkcs8(der).map_err(|_| SigningKeyError::InvalidKey)?;
                let jwk = json!({
                    "kty": "OKP", "use": "sig", "alg": "EdDSA", "kid": kid, "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (EncodingKey::from_ed_der(der), jwk)
            }
            jsonwebtoken::AlgorithmFamily::Hmac => {
                return Err(SigningKeyError::UnsupportedAlgorithm);
            }
        };
        Ok(Self {
            kid,
            alg,
            encoding,
            public_jwk,
            pkcs8: SecretBox::new(Box::new(der.to_vec())),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public key as a JWK (`use: sig`, with `alg` and `kid`).
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The private key as PKCS#8 DER, for persisting it.
    pub fn to_pkcs8(&self) -> &[u8] {
        self.pkcs8.expose_secret()
    }

    /// Signs `claims` with header `{alg, kid, typ}`.
    pub fn sign<T: Serialize>(
        &self,
        claims: &T,
        typ: Option<&str>,
    ) -> Result<String, SigningKeyError> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|_| SigningKeyError::Signing)
    }

    /// Signs arbitrary header and payload JSON bytes as a compact JWS (tests use it to build
    /// tokens no well-behaved library would: duplicate members, `crit`, odd types).
    pub fn sign_raw(
        &self,
        header_json: &[u8],
        payload_json: &[u8],
    ) -> Result<String, SigningKeyError> {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(payload_json)
        );
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.alg)
            .map_err(|_| SigningKeyError::Signing)?;
        Ok(format!("{message}.{signature}"))
    }

    /// Signs with a caller-built header (tests use it to forge unusual headers).
    pub fn sign_with_header<T: Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, SigningKeyError> {
        jsonwebtoken::encode(header, claims, &self.encoding).map_err(|_| SigningKeyError::Signing)
    }
}

/// A JWKS document (`{"keys": [...]}`) publishing the public halves of `keys`.
pub fn jwks_document<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    json!({ "keys": keys.into_iter().map(|k| k.public_jwk().clone()).collect::<Vec<_>>() })
}

/// Shared handle to verifying keys.
pub type SharedKey = Arc<VerifyingKey>;

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Algorithm] = &[
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::PS256,
    ];

    #[test]
    fn generated_keys_round_trip_through_their_jwk() {
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ] {
            let key = SigningKey::generate(alg, "k1").unwrap();
            let token = key.sign(&json!({"sub": "x"}), Some("at+jwt")).unwrap();
            assert_eq!(token.split('.').count(), 3);
            let verifying = VerifyingKey::from_jwk_value(key.public_jwk(), &[alg]).unwrap();
            assert!(verifying.accepts(alg));
            assert_eq!(verifying.kid(), Some("k1"));
            let again = SigningKey::from_pkcs8(alg, "k1", key.to_pkcs8()).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk());
        }
    }

    #[test]
    fn weak_rsa_keys_are_refused() {
        let key = SigningKey::generate_sized(Algorithm::RS256, "weak", KeySize::Rsa2048).unwrap();
        let mut jwk = key.public_jwk().clone();
        // A 1024-bit modulus.
        jwk["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
        assert_eq!(
            VerifyingKey::from_jwk_value(&jwk, ALL).unwrap_err(),
            KeyRejected::TooWeak
        );
    }

    #[test]
    fn symmetric_and_non_signature_keys_are_refused() {
        let oct = json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"});
        assert_eq!(
            VerifyingKey::from_jwk_value(&oct, ALL).unwrap_err(),
            KeyRejected::Symmetric
        );
        let key = SigningKey::generate(Algorithm::ES256, "e").unwrap();
        let mut enc = key.public_jwk().clone();
        enc["use"] = json!("enc");
        assert_eq!(
            VerifyingKey::from_jwk_value(&enc, ALL).unwrap_err(),
            KeyRejected::NotForSignatures
        );
        let mut ops = key.public_jwk().clone();
        ops.as_object_mut().unwrap().remove("use");
        ops["key_ops"] = json!(["encrypt"]);
        assert_eq!(
            VerifyingKey::from_jwk_value(&ops, ALL).unwrap_err(),
            KeyRejected::NotForSignatures
        );
    }

    #[test]
    fn key_alg_must_fit_and_be_allowed() {
        let key = SigningKey::generate(Algorithm::ES256, "e").unwrap();
        let mut wrong = key.public_jwk().clone();
        wrong["alg"] = json!("RS256");
        assert_eq!(
            VerifyingKey::from_jwk_value(&wrong, ALL).unwrap_err(),
            KeyRejected::AlgorithmMismatch
        );
        assert_eq!(
            VerifyingKey::from_jwk_value(key.public_jwk(), &[Algorithm::RS256]).unwrap_err(),
            KeyRejected::AlgorithmNotAllowed
        );
        let v = VerifyingKey::from_jwk_value(key.public_jwk(), ALL).unwrap();
        assert!(v.accepts(Algorithm::ES256));
        assert!(!v.accepts(Algorithm::ES384));
        assert!(!v.accepts(Algorithm::RS256));
    }
}
