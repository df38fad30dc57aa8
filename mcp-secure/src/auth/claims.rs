//! A token's claims, decoded strictly, and read through a configurable mapping.
//!
//! The payload is decoded into a JSON object in which a member repeated at any depth is an
//! error (two `scope` claims must not let the second one win). Standard claims are then read
//! with their types checked; scopes and the client id come from the claims a
//! [`ClaimMapping`] names (`scope`, `scp` as a string or an array, `permissions`, `roles`, a
//! nested path such as `realm_access.roles`), each scope still checked against RFC 6749.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, SeqAccess, Visitor},
};
use serde_json::{Map, Value};

use super::AuthFailure;
use crate::scope::ScopeSet;

/// A JSON value decoded with no repeated object member anywhere.
struct Strict(Value);

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key, value).is_some() {
                return Err(de::Error::custom("a member is repeated"));
            }
        }
        Ok(Strict(Value::Object(out)))
    }
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

/// A token's claims: a JSON object with no repeated member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(pub Map<String, Value>);

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Strict::deserialize(d)?.0 {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(de::Error::custom("the claims are not a JSON object")),
        }
    }
}

/// The top-level claims the validator reads by a fixed name, found in one pass over the
/// object rather than one lookup each.
#[derive(Default)]
pub(crate) struct Known<'c> {
    pub(crate) exp: Option<&'c Value>,
    pub(crate) iss: Option<&'c Value>,
    pub(crate) sub: Option<&'c Value>,
    pub(crate) aud: Option<&'c Value>,
    pub(crate) nbf: Option<&'c Value>,
    pub(crate) iat: Option<&'c Value>,
    roles: Option<&'c Value>,
    realm_access: Option<&'c Value>,
    cognito_groups: Option<&'c Value>,
    groups: Option<&'c Value>,
}

impl<'c> Known<'c> {
    /// The roles a token carries, wherever the common providers put them: `roles` (Entra),
    /// `realm_access.roles` (Keycloak), `cognito:groups` (Cognito), `groups`; the first that
    /// is an array. For tools to read; roles are scopes only where a mapping says so.
    pub(crate) fn roles(&self) -> Vec<String> {
        let keycloak = self
            .realm_access
            .and_then(Value::as_object)
            .and_then(|realm| realm.get("roles"));
        for candidate in [self.roles, keycloak, self.cognito_groups, self.groups] {
            if let Some(Value::Array(items)) = candidate {
                return items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
        }
        Vec::new()
    }
}

impl Claims {
    /// The claims read by a fixed name, in one pass.
    pub(crate) fn known(&self) -> Known<'_> {
        let mut known = Known::default();
        for (name, value) in &self.0 {
            let slot = match name.as_str() {
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
        match self.path(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AuthFailure::BadClaims),
        }
    }

    /// A required string claim.
    pub fn required_string(&self, path: &str) -> Result<&str, AuthFailure> {
        self.string(path)?.ok_or(AuthFailure::BadClaims)
    }

    /// A numeric date claim (whole seconds): `Ok(None)` when absent, `BadClaims` when not a
    /// non-negative integer.
    pub fn time(&self, path: &str) -> Result<Option<u64>, AuthFailure> {
        time(self.path(path))
    }

    /// Whether the `aud`-like claim at `path` (a string or an array of strings) names any of
    /// `accepted`, compared exactly.
    pub fn names_any(&self, path: &str, accepted: &[String]) -> Result<bool, AuthFailure> {
        names_any(self.path(path), accepted)
    }
}

/// A numeric date claim's value (whole seconds): `Ok(None)` when absent, `BadClaims` when not
/// a non-negative integer.
pub(crate) fn time(value: Option<&Value>) -> Result<Option<u64>, AuthFailure> {
    value
        .map(|v| v.as_u64().ok_or(AuthFailure::BadClaims))
        .transpose()
}

/// Whether an `aud`-like claim value (a string or an array of strings) names any of
/// `accepted`, compared exactly; `BadClaims` for another type or a non-string item.
pub(crate) fn names_any(value: Option<&Value>, accepted: &[String]) -> Result<bool, AuthFailure> {
    let hit = |s: &str| accepted.iter().any(|a| a == s);
    match value {
        None => Ok(false),
        Some(Value::String(s)) => Ok(hit(s)),
        Some(Value::Array(items)) => {
            let mut found = false;
            for item in items {
                let s = item.as_str().ok_or(AuthFailure::BadClaims)?;
                found |= hit(s);
            }
            Ok(found)
        }
        Some(_) => Err(AuthFailure::BadClaims),
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
        let mut scopes = ScopeSet::new();
        for path in &self.scope_claims {
            let set = match claims.path(path) {
                None => continue,
                Some(Value::String(list)) => {
                    ScopeSet::parse(list).map_err(|_| AuthFailure::BadScope)?
                }
                Some(Value::Array(items)) => {
                    let items: Vec<&str> = items
                        .iter()
                        .map(|v| v.as_str().ok_or(AuthFailure::BadScope))
                        .collect::<Result<_, _>>()?;
                    ScopeSet::try_from_iter(items).map_err(|_| AuthFailure::BadScope)?
                }
                Some(_) => return Err(AuthFailure::BadScope),
            };
            scopes.extend(set.iter());
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
        for path in &self.client_id_claims {
            if let Some(id) = claims.string(path)? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The tenant, when a tenant claim is mapped.
    pub fn tenant<'c>(&self, claims: &'c Claims) -> Result<Option<&'c str>, AuthFailure> {
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

    #[test]
    fn known_claims_and_roles_in_provider_order() {
        let c = claims(
            r#"{"groups":["g"],"cognito:groups":"not-an-array","realm_access":{"roles":["k"]},
                "exp":2,"iss":"i","sub":"s","aud":["a"],"nbf":1,"iat":1,"scope":"x"}"#,
        )
        .unwrap();
        let known = c.known();
        assert_eq!(known.exp, Some(&json!(2)));
        assert_eq!(known.iss, Some(&json!("i")));
        assert_eq!(known.sub, Some(&json!("s")));
        assert_eq!(known.aud, Some(&json!(["a"])));
        assert_eq!((known.nbf, known.iat), (Some(&json!(1)), Some(&json!(1))));
        // Entra's `roles` is absent: Keycloak's nested roles come before `groups`.
        assert_eq!(known.roles(), vec!["k".to_string()]);
        let c = claims(r#"{"roles":["r"],"realm_access":{"roles":["k"]}}"#).unwrap();
        assert_eq!(c.known().roles(), vec!["r".to_string()]);
        // A role claim that is not an array is skipped, not an error.
        let c = claims(r#"{"roles":"r","cognito:groups":["c"],"groups":["g"]}"#).unwrap();
        assert_eq!(c.known().roles(), vec!["c".to_string()]);
        let c = claims(r#"{"realm_access":["k"]}"#).unwrap();
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
