//! Input validation: a size cap on the arguments, strict parsing into the tool's parameter
//! type, the type's `validator` rules, and ready-made injection [`guards`].
//!
//! Errors name the field and the rule that failed, never the submitted value.

pub mod guards;

use rmcp::model::JsonObject;
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{Denial, FieldError};

/// Default cap on a call's JSON arguments: 64 KiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 64 * 1024;

/// Parameters of a tool that takes none: any argument object is accepted and ignored, as
/// rmcp's own tools do (clients may send `{}` or extra keys); the size cap still applies.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize, schemars::JsonSchema)]
pub struct NoParameters {}

impl Validate for NoParameters {
    fn validate(&self) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

/// Whether the serialized size of `args` exceeds `limit` bytes. Walks the value without
/// allocating and stops as soon as the limit is passed. The estimate counts every string
/// byte, key, number digit and delimiter (escape sequences count as their raw character), so
/// for input without escapes it is never below the compact JSON size.
pub fn exceeds_size(args: &JsonObject, limit: usize) -> bool {
    fn walk(value: &Value, budget: &mut isize) -> bool {
        *budget -= match value {
            Value::Null => 4,
            Value::Bool(_) => 5,
            Value::Number(n) => number_len(n),
            Value::String(s) => s.len() as isize + 2,
            Value::Array(items) => {
                *budget -= items.len() as isize + 1;
                for item in items {
                    if walk(item, budget) {
                        return true;
                    }
                }
                0
            }
            Value::Object(map) => object(map, budget) as isize,
        };
        *budget < 0
    }
    fn object(map: &JsonObject, budget: &mut isize) -> bool {
        *budget -= 2;
        for (key, value) in map {
            *budget -= key.len() as isize + 4;
            if *budget < 0 || walk(value, budget) {
                return true;
            }
        }
        *budget < 0
    }
    let mut budget = isize::try_from(limit).unwrap_or(isize::MAX);
    object(args, &mut budget)
}

/// Upper bound of a number's JSON length.
fn number_len(n: &serde_json::Number) -> isize {
    let digits = |v: u64| v.checked_ilog10().map_or(1, |d| d as isize + 1);
    if let Some(v) = n.as_u64() {
        digits(v)
    } else if let Some(v) = n.as_i64() {
        digits(v.unsigned_abs()) + 1
    } else {
        // The longest shortest-round-trip f64, e.g. `-2.2250738585072014e-308`.
        24
    }
}

/// A path segment shown to the client: struct field names pass; map keys chosen by the
/// client are shown only when they look like identifiers.
fn safe_segment(segment: &str) -> &str {
    let ok = !segment.is_empty()
        && segment.len() <= 64
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok { segment } else { "*" }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(safe_segment(key));
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(safe_segment(variant));
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// The first identifier between backticks in a serde message (`missing field `id``), only if
/// it is a plain identifier (serde puts type-defined names there).
fn backticked_ident(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let name = &message[start..start + len];
    (safe_segment(name) == name).then_some(name)
}

/// Turns a serde error into a field error without echoing any part of the value.
fn serde_field_error(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let message = error.inner().to_string();
    let mut field = path_string(error.path());
    let rule = if message.starts_with("missing field") {
        if let Some(name) = backticked_ident(&message) {
            if field.is_empty() || field == "." || field == "?" {
                field = name.to_owned();
            } else {
                field = format!("{field}.{name}");
            }
        }
        "required"
    } else if message.starts_with("unknown field") {
        // The key was chosen by the client: say where, not what.
        "unknown_field"
    } else if message.starts_with("invalid type") {
        "type"
    } else if message.starts_with("invalid length") {
        "length"
    } else if message.starts_with("unknown variant") {
        "variant"
    } else if message.starts_with("invalid value") {
        "value"
    } else {
        "format"
    };
    if field.is_empty() || field == "." {
        field = "(arguments)".into();
    }
    FieldError {
        field,
        rule: rule.into(),
        message: None,
    }
}

/// Flattens `validator` errors into `field`/`rule` pairs, sorted by path.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    fn walk(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
        for (name, kind) in errors.errors() {
            let path = match (prefix.is_empty(), name.as_ref()) {
                (_, "__all__") if prefix.is_empty() => "(arguments)".to_string(),
                (_, "__all__") => prefix.to_string(),
                (true, _) => name.to_string(),
                (false, _) => format!("{prefix}.{name}"),
            };
            match kind {
                ValidationErrorsKind::Field(list) => {
                    for e in list {
                        out.push(FieldError {
                            field: path.clone(),
                            rule: e.code.to_string(),
                            message: e.message.as_ref().map(ToString::to_string),
                        });
                    }
                }
                ValidationErrorsKind::Struct(inner) => walk(&path, inner, out),
                ValidationErrorsKind::List(items) => {
                    for (index, inner) in items {
                        walk(&format!("{path}[{index}]"), inner, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", errors, &mut out);
    out.sort_by(|a, b| (&a.field, &a.rule).cmp(&(&b.field, &b.rule)));
    out
}

/// Parses and validates a call's arguments into `P`. Absent arguments parse as `{}`.
pub fn parse<P: DeserializeOwned + Validate>(arguments: Option<JsonObject>) -> Result<P, Denial> {
    let value = Value::Object(arguments.unwrap_or_default());
    // Only a refusal pays for the field path: tracking it allocates for every key read, so
    // the same parse runs again with tracking once the plain one has failed.
    let params: P = match P::deserialize(&value) {
        Ok(params) => params,
        Err(_) => serde_path_to_error::deserialize(&value).map_err(|e| Denial::InvalidInput {
            fields: vec![serde_field_error(&e)],
        })?,
    };
    params.validate().map_err(|e| Denial::InvalidInput {
        fields: field_errors(&e),
    })?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Input {
        #[validate(length(min = 1, max = 8))]
        id: String,
        #[validate(range(min = 1, max = 10))]
        #[serde(default = "one")]
        count: u32,
        #[validate(nested)]
        #[serde(default)]
        items: Vec<Item>,
    }
    fn one() -> u32 {
        1
    }
    #[derive(Debug, serde::Deserialize, Validate)]
    struct Item {
        #[validate(length(max = 3, message = "names are short"))]
        name: String,
    }

    fn obj(v: Value) -> Option<JsonObject> {
        match v {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    fn fields(r: Result<Input, Denial>) -> Vec<FieldError> {
        match r {
            Err(Denial::InvalidInput { fields }) => fields,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn valid_input_parses() {
        let p: Input = parse(obj(json!({"id": "a1"}))).unwrap();
        assert_eq!(p.id, "a1");
    }

    #[test]
    fn missing_field_is_named() {
        let f = fields(parse(obj(json!({}))));
        assert_eq!(f[0].field, "id");
        assert_eq!(f[0].rule, "required");
    }

    #[test]
    fn type_errors_never_echo_the_value() {
        let f = fields(parse(obj(json!({"id": "x", "count": "CANARY-1234"}))));
        assert_eq!((f[0].field.as_str(), f[0].rule.as_str()), ("count", "type"));
        let shown = serde_json::to_string(&f).unwrap();
        assert!(!shown.contains("CANARY"));
    }

    #[test]
    fn unknown_keys_are_not_echoed() {
        let f = fields(parse(obj(json!({"id": "x", "CANARY\nkey": 1}))));
        assert_eq!(f[0].rule, "unknown_field");
        assert!(!serde_json::to_string(&f).unwrap().contains("CANARY"));
    }

    #[test]
    fn validator_rules_are_flattened_with_paths() {
        let f = fields(parse(obj(json!({
            "id": "CANARY-too-long",
            "count": 99,
            "items": [{"name": "ok"}, {"name": "toolong"}]
        }))));
        let pairs: Vec<(&str, &str)> = f
            .iter()
            .map(|e| (e.field.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("count", "range"),
                ("id", "length"),
                ("items[1].name", "length")
            ]
        );
        assert_eq!(f[2].message.as_deref(), Some("names are short"));
        assert!(!serde_json::to_string(&f).unwrap().contains("CANARY"));
    }

    #[test]
    fn size_estimate_is_never_below_compact_json() {
        let cases = [
            json!({"a": "b"}),
            json!({"id": "x".repeat(100), "n": [1, 2, 3], "o": {"k": null, "t": true}}),
            json!({"big": u64::MAX, "neg": i64::MIN, "f": -2.2250738585072014e-308}),
            json!({"nested": [[[]], {}, ""]}),
        ];
        for case in cases {
            let len = serde_json::to_string(&case).unwrap().len();
            let map = obj(case).unwrap();
            assert!(
                exceeds_size(&map, len - 1),
                "limit {} must be exceeded",
                len - 1
            );
        }
    }

    #[test]
    fn size_limit_admits_small_input() {
        let map = obj(json!({"id": "abc"})).unwrap();
        assert!(!exceeds_size(&map, 1024));
    }

    #[test]
    fn no_parameters_ignores_arguments() {
        assert!(parse::<NoParameters>(None).is_ok());
        assert!(parse::<NoParameters>(obj(json!({}))).is_ok());
        assert!(parse::<NoParameters>(obj(json!({"x": 1}))).is_ok());
    }
}
