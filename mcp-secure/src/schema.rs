//! JSON Schemas as clients read them. schemars writes `format` values of its own for Rust's
//! integer and float types (`uint64`, `uint`, `int32`, `double`, …); clients that validate
//! with the standard vocabulary (the TypeScript SDK's AJV) warn about each unknown one. The
//! range of an unsigned type is already `minimum: 0`, so the non-standard `format` carries
//! nothing a client needs: it is removed. Standard formats are kept.

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

fn clean(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
            {
                map.remove("format");
            }
            map.values_mut().for_each(clean);
        }
        Value::Array(items) => items.iter_mut().for_each(clean),
        _ => {}
    }
}

/// `schema` without non-standard `format` values (copied only when it has one).
pub(crate) fn standard(schema: Arc<JsonObject>) -> Arc<JsonObject> {
    let mut value = Value::Object((*schema).clone());
    clean(&mut value);
    match value {
        Value::Object(map) if map != *schema => Arc::new(map),
        _ => schema,
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
}
