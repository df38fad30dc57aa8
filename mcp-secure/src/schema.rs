//! JSON Schemas as clients read them. Two things schemars writes are legal JSON Schema that
//! clients handle badly, and both are rewritten to an equivalent spelling:
//!
//! - `format` values of its own for Rust's integer and float types (`uint64`, `uint`,
//!   `int32`, `double`, …): clients that validate with the standard vocabulary (the
//!   TypeScript SDK's AJV) warn about each unknown one. The range of an unsigned type is
//!   already `minimum: 0`, so the non-standard `format` carries nothing a client needs: it is
//!   removed. Standard formats are kept.
//! - `"type": ["string", "null"]` for an `Option<T>`: the MCP Inspector flags it as not
//!   portable (clients that map tool schemas onto a single-`type` dialect, such as the
//!   OpenAPI subset of Gemini function declarations, reject it). It becomes
//!   `"anyOf": [{"type": "string"}, {"type": "null"}]`, which JSON Schema defines to mean
//!   the same, when the schema has no `anyOf` of its own.
//!
//! The walk follows JSON Schema's keywords: values under `const`, `enum`, `default` and
//! `examples` are data, never rewritten.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::Value;

/// The formats JSON Schema 2020-12 defines (its format vocabulary).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords whose value is one subschema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
];
/// Keywords whose value is an array of subschemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to subschemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Rewrites one schema object and, through the keywords that hold subschemas, every schema
/// under it.
fn clean(schema: &mut JsonObject) {
    if schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
    {
        schema.remove("format");
    }
    split_type_list(schema);
    for (key, value) in schema.iter_mut() {
        let key = key.as_str();
        if SCHEMA_KEYWORDS.contains(&key) {
            if let Value::Object(sub) = value {
                clean(sub);
            }
        } else if SCHEMA_LIST_KEYWORDS.contains(&key) {
            if let Value::Array(subs) = value {
                subs.iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(clean);
            }
        } else if SCHEMA_MAP_KEYWORDS.contains(&key)
            && let Value::Object(subs) = value
        {
            subs.values_mut()
                .filter_map(Value::as_object_mut)
                .for_each(clean);
        }
    }
}

/// `"type": [a, b, …]` → `"anyOf": [{"type": a}, {"type": b}, …]` (same meaning), unless
/// the schema already has an `anyOf`.
fn split_type_list(schema: &mut JsonObject) {
    if schema.contains_key("anyOf") {
        return;
    }
    let Some(Value::Array(types)) = schema.get("type") else {
        return;
    };
    if types.len() < 2 || !types.iter().all(Value::is_string) {
        return;
    }
    let branches = types
        .iter()
        .map(|t| Value::Object(JsonObject::from_iter([("type".to_owned(), t.clone())])))
        .collect();
    schema.remove("type");
    schema.insert("anyOf".to_owned(), Value::Array(branches));
}

/// `schema` without non-standard `format` values and with type lists split (copied only
/// when something changed).
pub(crate) fn standard(schema: Arc<JsonObject>) -> Arc<JsonObject> {
    let mut map = (*schema).clone();
    clean(&mut map);
    if map == *schema {
        schema
    } else {
        Arc::new(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_standard_formats_go_standard_ones_stay() {
        let schema = json!({
            "type": "object",
            "properties": {
                "count": {"type": "integer", "format": "uint64", "minimum": 0},
                "when": {"type": "string", "format": "date-time"},
                "items": {"type": "array", "items": {"type": "integer", "format": "int32"}},
                "format": {"type": "string"}
            }
        });
        let Value::Object(map) = schema else { panic!() };
        let out = standard(Arc::new(map));
        let out = Value::Object((*out).clone());
        assert!(out["properties"]["count"].get("format").is_none());
        assert_eq!(out["properties"]["count"]["minimum"], 0);
        assert_eq!(out["properties"]["when"]["format"], "date-time");
        assert!(out["properties"]["items"]["items"].get("format").is_none());
        assert_eq!(out["properties"]["format"]["type"], "string");
    }

    #[test]
    fn type_lists_become_any_of_and_data_is_left_alone() {
        let schema = json!({
            "type": "object",
            "properties": {
                "key": {"type": ["string", "null"], "description": "maybe"},
                "both": {"type": ["string", "null"], "anyOf": [{"minLength": 1}]},
                "fixed": {"const": {"type": ["a", "b"], "format": "uint64"}},
                "choice": {"type": "string", "default": "x", "enum": [{"format": "int32"}]}
            },
            "$defs": {"N": {"type": ["integer", "null"], "format": "uint32"}}
        });
        let Value::Object(map) = schema else { panic!() };
        let out = Value::Object((*standard(Arc::new(map))).clone());
        let key = &out["properties"]["key"];
        assert_eq!(key["anyOf"], json!([{"type": "string"}, {"type": "null"}]));
        assert!(key.get("type").is_none());
        assert_eq!(key["description"], "maybe");
        // An existing anyOf is not merged into.
        assert_eq!(out["properties"]["both"]["type"], json!(["string", "null"]));
        // Values under const, enum and default are data.
        assert_eq!(
            out["properties"]["fixed"]["const"],
            json!({"type": ["a", "b"], "format": "uint64"})
        );
        assert_eq!(
            out["properties"]["choice"]["enum"],
            json!([{"format": "int32"}])
        );
        let n = &out["$defs"]["N"];
        assert_eq!(n["anyOf"], json!([{"type": "integer"}, {"type": "null"}]));
        assert!(n.get("format").is_none());
    }
}
