//! A token's claims, decoded strictly, and read through a configurable mapping.
//!
//! The payload is decoded into a JSON object in which a member repeated at any depth is an
//! error (two `scope` claims must not let the second one win). Standard claims are then read
//! with their types checked; scopes and the client id come from the claims a
//! [`ClaimMapping`] names (`scope`, `scp` as a string or an array, `permissions`, `roles`, a
//! nested path such as `realm_access.roles`), each scope still checked against RFC 6749.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, SeqAccess, Visitor},
};
use serde_json::{Map, Value};

use super::AuthFailure;
use crate::scope::ScopeSet;

/// A token's claims: a JSON object with no repeated member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(pub Map<String, Value>);

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The same strict reading as the validator's (`Val`), then owned.
        match Val::deserialize(d)?.into() {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(de::Error::custom("the claims are not a JSON object")),
        }
    }
}

/// A claim value borrowed from the token's payload: a string with no escape in it is not
/// copied, and nothing is built that the checks do not read. The validator's form of the
/// claims; [`Claims`] is the owned form tools read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    Arr(Vec<Val<'a>>),
    Obj(Vec<(Cow<'a, str>, Val<'a>)>),
}

impl<'a> Val<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative integer, as `serde_json::Value::as_u64` reads one.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U64(n) => Some(n),
            Self::I64(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }

    /// A member of an object.
    pub(crate) fn get(&self, name: &str) -> Option<&Val<'a>> {
        match self {
            Self::Obj(members) => member(members, name),
            _ => None,
        }
    }
}

impl From<Val<'_>> for Value {
    fn from(value: Val<'_>) -> Self {
        match value {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::U64(n) => n.into(),
            Val::I64(n) => n.into(),
            Val::F64(n) => n.into(),
            Val::Str(s) => Value::String(s.into_owned()),
            Val::Arr(items) => Value::Array(items.into_iter().map(Into::into).collect()),
            Val::Obj(members) => Value::Object(
                members
                    .into_iter()
                    .map(|(name, value)| (name.into_owned(), value.into()))
                    .collect(),
            ),
        }
    }
}

fn member<'v, 'a>(members: &'v [(Cow<'a, str>, Val<'a>)], name: &str) -> Option<&'v Val<'a>> {
    members.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Whether an object's members repeat a name: pairwise for the few members a token's objects
/// have (by a word holding the length and first bytes, and the whole names only where two
/// words match), sorted beyond that, so a large object costs n log n.
fn repeats(members: &[(Cow<'_, str>, Val<'_>)]) -> bool {
    const FEW: usize = 16;
    if members.len() <= FEW {
        let mut words = [0u64; FEW];
        for (word, (name, _)) in words.iter_mut().zip(members) {
            *word = name_word(name);
        }
        return (1..members.len())
            .any(|i| (0..i).any(|j| words[i] == words[j] && members[i].0 == members[j].0));
    }
    let mut names: Vec<&str> = members.iter().map(|(n, _)| n.as_ref()).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

/// A name's length and first seven bytes in one word: equal names have equal words.
fn name_word(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut word = [0u8; 8];
    let n = bytes.len().min(7);
    word[..n].copy_from_slice(&bytes[..n]);
    // Only a hint: names of lengths 256 apart share it, and the full compare decides.
    word[7] = bytes.len() as u8;
    u64::from_le_bytes(word)
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::I64(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(Val::U64(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Val::F64(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }

    fn visit_none<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Val::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16).min(64));
        while let Some(Name(name)) = map.next_key()? {
            members.push((name, map.next_value()?));
        }
        if repeats(&members) {
            return Err(de::Error::custom("a member is repeated"));
        }
        Ok(Val::Obj(members))
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

/// A member name, borrowed when it has no escape.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

/// A verified payload's claims as the validator reads them: a JSON object with no repeated
/// member at any depth, borrowed from the payload's bytes.
#[derive(Debug)]
pub(crate) struct Payload<'a>(Vec<(Cow<'a, str>, Val<'a>)>);

impl<'a> Payload<'a> {
    /// The claims in `json`; `BadClaims` for anything but a JSON object without repeated
    /// members.
    pub(crate) fn parse(json: &'a [u8]) -> Result<Self, AuthFailure> {
        match serde_json::from_slice(json) {
            Ok(Val::Obj(members)) => Ok(Self(members)),
            _ => Err(AuthFailure::BadClaims),
        }
    }

    /// The value at a dotted path (`realm_access.roles`).
    pub(crate) fn path(&self, path: &str) -> Option<&Val<'a>> {
        let mut parts = path.split('.');
        let mut current = member(&self.0, parts.next()?)?;
        for part in parts {
            current = current.get(part)?;
        }
        Some(current)
    }

    /// The claims read by a fixed name, in one pass.
    pub(crate) fn known(&self) -> Known<'_> {
        let mut known = Known::default();
        for (name, value) in &self.0 {
            let slot = match name.as_ref() {
                "exp" => &mut known.exp,
                "iss" => &mut known.iss,
                "sub" => &mut known.sub,
                "aud" => &mut known.aud,
                "nbf" => &mut known.nbf,
                "iat" => &mut known.iat,
                "roles" => &mut known.roles,
                "realm_access" => &mut known.realm_access,
                "cognito:groups" => &mut known.cognito_groups,
                "groups" => &mut known.groups,
                _ => continue,
            };
            *slot = Some(value);
        }
        known
    }
}

/// The top-level claims the validator reads by a fixed name, found in one pass over the
/// object rather than one lookup each.
#[derive(Default)]
pub(crate) struct Known<'c> {
    pub(crate) exp: Option<&'c Val<'c>>,
    pub(crate) iss: Option<&'c Val<'c>>,
    pub(crate) sub: Option<&'c Val<'c>>,
    pub(crate) aud: Option<&'c Val<'c>>,
    pub(crate) nbf: Option<&'c Val<'c>>,
    pub(crate) iat: Option<&'c Val<'c>>,
    roles: Option<&'c Val<'c>>,
    realm_access: Option<&'c Val<'c>>,
    cognito_groups: Option<&'c Val<'c>>,
    groups: Option<&'c Val<'c>>,
}

impl Known<'_> {
    /// The roles a token carries, wherever the common providers put them: `roles` (Entra),
    /// `realm_access.roles` (Keycloak), `cognito:groups` (Cognito), `groups`; the first that
    /// is an array. For tools to read; roles are scopes only where a mapping says so.
    pub(crate) fn roles(&self) -> Vec<String> {
        let keycloak = self.realm_access.and_then(|realm| realm.get("roles"));
        for candidate in [self.roles, keycloak, self.cognito_groups, self.groups] {
            if let Some(Val::Arr(items)) = candidate {
                return items
                    .iter()
                    .filter_map(Val::as_str)
                    .map(str::to_owned)
                    .collect();
            }
        }
        Vec::new()
    }
}

/// What a mapped claim holds, whichever form the claims are in.
pub(crate) enum Shape<'v> {
    Absent,
    Str(&'v str),
    List(Items<'v>),
    Other,
}

/// An array claim's items, each a string or not.
pub(crate) enum Items<'v> {
    Json(std::slice::Iter<'v, Value>),
    Borrowed(std::slice::Iter<'v, Val<'v>>),
}

impl<'v> Iterator for Items<'v> {
    type Item = Option<&'v str>;

    fn next(&mut self) -> Option<Option<&'v str>> {
        match self {
            Self::Json(items) => items.next().map(Value::as_str),
            Self::Borrowed(items) => items.next().map(Val::as_str),
        }
    }
}

impl<'v> From<Option<&'v Value>> for Shape<'v> {
    fn from(value: Option<&'v Value>) -> Self {
        match value {
            None => Self::Absent,
            Some(Value::String(s)) => Self::Str(s),
            Some(Value::Array(items)) => Self::List(Items::Json(items.iter())),
            Some(_) => Self::Other,
        }
    }
}

impl<'v> From<Option<&'v Val<'v>>> for Shape<'v> {
    fn from(value: Option<&'v Val<'v>>) -> Self {
        match value {
            None => Self::Absent,
            Some(Val::Str(s)) => Self::Str(s),
            Some(Val::Arr(items)) => Self::List(Items::Borrowed(items.iter())),
            Some(_) => Self::Other,
        }
    }
}

/// Claims a [`ClaimMapping`] reads by path: the owned [`Claims`] and the validator's
/// borrowed payload.
pub(crate) trait Lookup {
    fn shape(&self, path: &str) -> Shape<'_>;

    /// A string claim: `Ok(None)` when absent, `BadClaims` when of another type.
    fn string(&self, path: &str) -> Result<Option<&str>, AuthFailure> {
        match self.shape(path) {
            Shape::Absent => Ok(None),
            Shape::Str(s) => Ok(Some(s)),
            _ => Err(AuthFailure::BadClaims),
        }
    }
}

impl Lookup for Claims {
    fn shape(&self, path: &str) -> Shape<'_> {
        self.path(path).into()
    }
}

impl Lookup for Payload<'_> {
    fn shape(&self, path: &str) -> Shape<'_> {
        self.path(path).into()
    }
}

impl Claims {
    /// The value at a dotted path (`realm_access.roles`).
    pub fn path(&self, path: &str) -> Option<&Value> {
        // Most paths are one claim (`exp`, `scope`): no splitting.
        if !path.as_bytes().contains(&b'.') {
            return self.0.get(path);
        }
        let mut parts = path.split('.');
        let mut current = self.0.get(parts.next()?)?;
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(current)
    }

    /// A string claim: `Ok(None)` when absent, `BadClaims` when of another type.
    pub fn string(&self, path: &str) -> Result<Option<&str>, AuthFailure> {
        Lookup::string(self, path)
    }

    /// A required string claim.
    pub fn required_string(&self, path: &str) -> Result<&str, AuthFailure> {
        self.string(path)?.ok_or(AuthFailure::BadClaims)
    }

    /// A numeric date claim (whole seconds): `Ok(None)` when absent, `BadClaims` when not a
    /// non-negative integer.
    pub fn time(&self, path: &str) -> Result<Option<u64>, AuthFailure> {
        self.path(path)
            .map(|v| v.as_u64().ok_or(AuthFailure::BadClaims))
            .transpose()
    }

    /// Whether the `aud`-like claim at `path` (a string or an array of strings) names any of
    /// `accepted`, compared exactly.
    pub fn names_any(&self, path: &str, accepted: &[String]) -> Result<bool, AuthFailure> {
        names_any(self.shape(path), accepted)
    }
}

/// A numeric date claim's value (whole seconds): `Ok(None)` when absent, `BadClaims` when not
/// a non-negative integer.
pub(crate) fn time(value: Option<&Val<'_>>) -> Result<Option<u64>, AuthFailure> {
    value
        .map(|v| v.as_u64().ok_or(AuthFailure::BadClaims))
        .transpose()
}

/// Whether an `aud`-like claim value (a string or an array of strings) names any of
/// `accepted`, compared exactly; `BadClaims` for another type or a non-string item.
pub(crate) fn names_any(value: Shape<'_>, accepted: &[String]) -> Result<bool, AuthFailure> {
    let hit = |s: &str| accepted.iter().any(|a| a == s);
    match value {
        Shape::Absent => Ok(false),
        Shape::Str(s) => Ok(hit(s)),
        Shape::List(items) => {
            let mut found = false;
            for item in items {
                found |= hit(item.ok_or(AuthFailure::BadClaims)?);
            }
            Ok(found)
        }
        Shape::Other => Err(AuthFailure::BadClaims),
    }
}

/// Where a provider's tokens keep what the server needs beyond the standard claims.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimMapping {
    /// Claim paths whose values are scopes (a space-separated string or an array of scopes).
    pub scope_claims: Vec<String>,
    /// Claim paths of the client id, first found wins.
    pub client_id_claims: Vec<String>,
    /// A prefix taken off scopes that carry it (Cognito's `resource-server-id/`).
    pub scope_prefix: Option<String>,
    /// The claim naming the tenant (Entra's `tid`).
    pub tenant_claim: Option<String>,
}

impl Default for ClaimMapping {
    /// RFC 9068 and RFC 8693: `scope`, else `scp`; `client_id`, else `azp`.
    fn default() -> Self {
        Self {
            scope_claims: vec!["scope".into(), "scp".into()],
            client_id_claims: vec!["client_id".into(), "azp".into()],
            scope_prefix: None,
            tenant_claim: None,
        }
    }
}

impl ClaimMapping {
    /// The scopes the token grants: every mapped claim, strictly parsed (a malformed scope
    /// refuses the token rather than being dropped).
    pub fn scopes(&self, claims: &Claims) -> Result<ScopeSet, AuthFailure> {
        self.scopes_in(claims)
    }

    /// [`scopes`](Self::scopes) over either form of the claims.
    pub(crate) fn scopes_in(&self, claims: &impl Lookup) -> Result<ScopeSet, AuthFailure> {
        let mut scopes = ScopeSet::new();
        for path in &self.scope_claims {
            let set = match claims.shape(path) {
                Shape::Absent => continue,
                Shape::Str(list) => ScopeSet::parse(list).map_err(|_| AuthFailure::BadScope)?,
                Shape::List(items) => {
                    let items: Vec<&str> = items
                        .map(|item| item.ok_or(AuthFailure::BadScope))
                        .collect::<Result<_, _>>()?;
                    ScopeSet::try_from_iter(items).map_err(|_| AuthFailure::BadScope)?
                }
                Shape::Other => return Err(AuthFailure::BadScope),
            };
            // The common single scope claim moves in whole rather than being copied.
            if scopes.is_empty() {
                scopes = set;
            } else {
                scopes.extend(set.iter());
            }
        }
        let Some(prefix) = self.scope_prefix.as_deref().filter(|p| !p.is_empty()) else {
            return Ok(scopes);
        };
        let stripped: Vec<&str> = scopes
            .iter()
            .map(|s| s.strip_prefix(prefix).unwrap_or(s))
            .filter(|s| !s.is_empty())
            .collect();
        ScopeSet::try_from_iter(stripped).map_err(|_| AuthFailure::BadScope)
    }

    /// The client id: the first mapped claim present.
    pub fn client_id<'c>(&self, claims: &'c Claims) -> Result<Option<&'c str>, AuthFailure> {
        self.client_id_in(claims)
    }

    /// [`client_id`](Self::client_id) over either form of the claims.
    pub(crate) fn client_id_in<'c>(
        &self,
        claims: &'c impl Lookup,
    ) -> Result<Option<&'c str>, AuthFailure> {
        for path in &self.client_id_claims {
            if let Some(id) = claims.string(path)? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The tenant, when a tenant claim is mapped.
    pub fn tenant<'c>(&self, claims: &'c Claims) -> Result<Option<&'c str>, AuthFailure> {
        self.tenant_in(claims)
    }

    /// [`tenant`](Self::tenant) over either form of the claims.
    pub(crate) fn tenant_in<'c>(
        &self,
        claims: &'c impl Lookup,
    ) -> Result<Option<&'c str>, AuthFailure> {
        match &self.tenant_claim {
            Some(path) => claims.string(path),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: &str) -> Result<Claims, serde_json::Error> {
        serde_json::from_str(v)
    }

    #[test]
    fn repeated_members_are_refused_at_any_depth() {
        assert!(claims(r#"{"scope":"a","scope":"b"}"#).is_err());
        assert!(claims(r#"{"realm_access":{"roles":["a"],"roles":["b"]}}"#).is_err());
        assert!(claims(r#"{"a":[{"x":1,"x":2}]}"#).is_err());
        assert!(claims(r#"[1]"#).is_err());
        assert!(claims(r#"{"a":{"b":1},"c":[1,"x",null,true]}"#).is_ok());
    }

    #[test]
    fn mapped_scopes_from_strings_arrays_and_paths() {
        let c = Claims(
            json!({"scp": "a b", "permissions": ["c"], "realm_access": {"roles": ["d"]}})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let mapping = ClaimMapping {
            scope_claims: vec![
                "scp".into(),
                "permissions".into(),
                "realm_access.roles".into(),
            ],
            ..ClaimMapping::default()
        };
        assert_eq!(mapping.scopes(&c).unwrap().to_string(), "a b c d");
        // Roles are not scopes unless mapped.
        assert_eq!(
            ClaimMapping::default().scopes(&c).unwrap().to_string(),
            "a b"
        );
        let bad = Claims(json!({"scp": ["a b"]}).as_object().cloned().unwrap());
        assert_eq!(
            ClaimMapping::default().scopes(&bad),
            Err(AuthFailure::BadScope)
        );
    }

    fn payload(v: &str) -> Result<Payload<'_>, AuthFailure> {
        Payload::parse(v.as_bytes())
    }

    #[test]
    fn the_borrowed_payload_refuses_what_the_owned_claims_refuse() {
        let many: String = (0..40).map(|i| format!(r#""c{i}":{i},"#)).collect();
        for (json, ok) in [
            (r#"{"scope":"a","scope":"b"}"#, false),
            (r#"{"realm_access":{"roles":["a"],"roles":["b"]}}"#, false),
            (r#"{"a":[{"x":1,"x":2}]}"#, false),
            // The same name spelt with an escape is the same name.
            (r#"{"scope":"a","sc\u006fpe":"b"}"#, false),
            (&format!(r#"{{{many}"c7":0}}"#), false),
            (&format!(r#"{{{many}"last":0}}"#), true),
            (r#"[1]"#, false),
            (r#""text""#, false),
            (r#"{"a":1"#, false),
            (r#"{"a":{"b":1},"c":[1,"x",null,true,-2,1.5]}"#, true),
        ] {
            assert_eq!(payload(json).is_ok(), ok, "{json}");
            assert_eq!(claims(json).is_ok(), ok, "{json}");
        }
    }

    #[test]
    fn the_borrowed_payload_reads_as_the_owned_claims_do() {
        let json = r#"{"sub":"a\"b","n":-3,"big":18446744073709551615,"f":1.5,
            "scope":["x","y"],"realm_access":{"roles":["k"]},"cnf":{"jkt":"t"}}"#;
        let (p, c) = (payload(json).unwrap(), claims(json).unwrap());
        assert_eq!(p.path("sub").and_then(Val::as_str), Some("a\"b"));
        assert_eq!(p.path("big").and_then(Val::as_u64), Some(u64::MAX));
        for path in ["n", "f", "nope", "sub"] {
            assert_eq!(p.path(path).and_then(Val::as_u64), None, "{path}");
            assert_eq!(time(p.path(path)).is_err(), c.time(path).is_err(), "{path}");
        }
        assert_eq!(p.path("cnf.jkt").and_then(Val::as_str), Some("t"));
        assert!(p.path("cnf.jkt.deeper").is_none() && p.path("sub.x").is_none());
        for path in ["sub", "scope", "n", "realm_access.roles", "absent"] {
            assert_eq!(Lookup::string(&p, path), c.string(path), "{path}");
        }
        let mapping = ClaimMapping {
            scope_claims: vec!["scope".into(), "realm_access.roles".into()],
            ..ClaimMapping::default()
        };
        assert_eq!(mapping.scopes_in(&p), mapping.scopes(&c));
        assert_eq!(mapping.scopes_in(&p).unwrap().to_string(), "k x y");
        let accepted = ["y".to_string()];
        assert_eq!(names_any(p.shape("scope"), &accepted), Ok(true));
        assert_eq!(
            names_any(p.shape("n"), &accepted),
            c.names_any("n", &accepted)
        );
    }

    #[test]
    fn known_claims_and_roles_in_provider_order() {
        let json = r#"{"groups":["g"],"cognito:groups":"not-an-array","realm_access":{"roles":["k"]},
                "exp":2,"iss":"i","sub":"s","aud":["a"],"nbf":1,"iat":1,"scope":"x"}"#;
        let c = payload(json).unwrap();
        let known = c.known();
        assert_eq!(known.exp.and_then(Val::as_u64), Some(2));
        assert_eq!(known.iss.and_then(Val::as_str), Some("i"));
        assert_eq!(known.sub.and_then(Val::as_str), Some("s"));
        assert_eq!(known.aud, Some(&Val::Arr(vec![Val::Str("a".into())])));
        assert_eq!(time(known.nbf), Ok(Some(1)));
        assert_eq!(time(known.iat), Ok(Some(1)));
        // Entra's `roles` is absent: Keycloak's nested roles come before `groups`.
        assert_eq!(known.roles(), vec!["k".to_string()]);
        let c = payload(r#"{"roles":["r"],"realm_access":{"roles":["k"]}}"#).unwrap();
        assert_eq!(c.known().roles(), vec!["r".to_string()]);
        // A role claim that is not an array is skipped, not an error.
        let c = payload(r#"{"roles":"r","cognito:groups":["c"],"groups":["g"]}"#).unwrap();
        assert_eq!(c.known().roles(), vec!["c".to_string()]);
        let c = payload(r#"{"realm_access":["k"]}"#).unwrap();
        assert!(c.known().roles().is_empty());
        assert!(c.known().exp.is_none());
    }

    #[test]
    fn scope_prefixes_come_off() {
        let c = Claims(
            json!({"scope": "https://mcp.example.com/data:read openid"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let mapping = ClaimMapping {
            scope_prefix: Some("https://mcp.example.com/".into()),
            ..ClaimMapping::default()
        };
        assert_eq!(mapping.scopes(&c).unwrap().to_string(), "data:read openid");
    }
}
