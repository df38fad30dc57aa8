//! Secret types and output redaction.
//!
//! Three layers keep secrets from leaving the server:
//!
//! 1. **Types.** Hold secrets in [`SecretString`] (from `secrecy`): it prints as
//!    `[REDACTED]`, cannot be serialized, and is zeroed on drop. A tool whose return type names
//!    a secret type does not compile.
//! 2. **`#[derive(Redact)]`.** Fields marked `#[redact]` are masked (`"***"`) before a tool's
//!    output is serialized; the pipeline applies it automatically to any output type that
//!    implements [`Redact`].
//! 3. **The output stage.** Before any result or error text leaves, the [`Redactor`] masks
//!    every registered secret value (ASCII case-insensitively, also in its JSON-escaped and
//!    percent-encoded forms), the credentials of connection strings
//!    (`postgresql://user:pass@host/db` → `postgresql://***:***@host/db`), `password=…`/
//!    `token: …` style pairs, bearer tokens and JWTs in text ([`patterns`]), and string values
//!    under credential-like keys (`password`, `api_key`, `access_token`, …) in structured
//!    output. The same redactor, process-wide, masks every log line ([`log_redactor`]).

mod log;
pub mod patterns;
mod probe;
mod redactor;
mod scan;

use std::borrow::Cow;

pub use log::log_redactor;
pub use patterns::{PatternError, ensure_compiled};
#[doc(hidden)]
pub use probe::{RedactProbe, ViaNothing, ViaRedact};
pub use redactor::{Redactor, SecretTooShort};
pub use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde_json::Value;

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// Registered secrets shorter than this are not matched in output (they would mask ordinary
/// text); [`Redactor::register`] reports them.
pub const MIN_SECRET_LEN: usize = 4;

/// The derive: `#[derive(Redact)]` (same name as the trait, like `serde::Serialize`).
pub use mcp_secure_macros::Redact;

/// Masks the fields marked `#[redact]`. Derive it with `#[derive(Redact)]`.
pub trait Redact {
    /// Replaces every secret in `self` with its mask.
    fn redact(&mut self);
}

/// A field type `#[redact]` can mask.
#[diagnostic::on_unimplemented(
    message = "`#[redact]` cannot mask a field of type `{Self}`",
    label = "not a string-like field",
    note = "`#[redact]` masks `String`, `Option<String>`, `Vec<String>`, `Cow<str>` and `serde_json::Value` fields; for a field whose type derives `Redact`, write `#[redact(nested)]`"
)]
pub trait Mask {
    /// Replaces the value with [`MASK`] (keeping `None` and empty collections as they are, so
    /// whether a secret is set stays visible).
    fn mask(&mut self);
}

impl Mask for String {
    fn mask(&mut self) {
        MASK.clone_into(self);
    }
}

impl Mask for Cow<'_, str> {
    fn mask(&mut self) {
        *self = Cow::Borrowed(MASK);
    }
}

impl Mask for Value {
    fn mask(&mut self) {
        if !self.is_null() {
            *self = Value::String(MASK.to_owned());
        }
    }
}

impl<T: Mask> Mask for Option<T> {
    fn mask(&mut self) {
        if let Some(v) = self {
            v.mask();
        }
    }
}

impl<T: Mask> Mask for Vec<T> {
    fn mask(&mut self) {
        self.iter_mut().for_each(Mask::mask);
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact(&mut self) {
        if let Some(v) = self {
            v.redact();
        }
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(&mut self) {
        self.iter_mut().for_each(Redact::redact);
    }
}

impl<T: Redact + ?Sized> Redact for Box<T> {
    fn redact(&mut self) {
        (**self).redact();
    }
}

impl<T: Redact, E> Redact for Result<T, E> {
    fn redact(&mut self) {
        if let Ok(v) = self {
            v.redact();
        }
    }
}

impl<T: Redact> Redact for rmcp::handler::server::wrapper::Json<T> {
    fn redact(&mut self) {
        self.0.redact();
    }
}

/// `Some("***")` when the secret is set: shows that a secret is configured without showing it.
pub fn mask(secret: Option<&SecretString>) -> Option<&'static str> {
    secret.map(|_| MASK)
}

/// The connection string with its credentials masked: `postgresql://user:pass@host/db` →
/// `postgresql://***:***@host/db`; a user without a password becomes `***@`.
pub fn mask_connection_string(url: &str) -> String {
    let mut out = url.to_owned();
    patterns::mask(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::redactor::percent_encode;
    use super::*;
    use rmcp::model::{CallToolResult, ContentBlock};
    use serde_json::json;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn registered_secrets_are_masked_in_every_form() {
        let r = Redactor::default();
        r.register(&secret("sk-live-\"CANARY\"/42")).unwrap();
        let raw = r.redact_str("key is sk-live-\"CANARY\"/42!").unwrap();
        assert_eq!(raw.0, "key is ***!");
        let upper = r.redact_str("KEY IS SK-LIVE-\"CANARY\"/42").unwrap();
        assert_eq!(upper.0, "KEY IS ***");
        let json = serde_json::to_string("sk-live-\"CANARY\"/42").unwrap();
        assert!(!r.redact_str(&json).unwrap().0.contains("CANARY"));
        let pct = percent_encode("sk-live-\"CANARY\"/42");
        assert!(
            !r.redact_str(&format!("?k={pct}"))
                .unwrap()
                .0
                .contains("CANARY")
        );
    }

    #[test]
    fn a_connection_strings_password_is_a_secret_of_its_own() {
        let r = Redactor::default();
        r.register(&secret("postgresql://app:p%40ss-CANARY@db/app"))
            .unwrap();
        let (out, _) = r.redact_str("pw=p@ss-CANARY and p%40ss-CANARY").unwrap();
        assert_eq!(out, "pw=*** and ***");
    }

    #[test]
    fn short_secrets_are_refused() {
        let r = Redactor::default();
        assert_eq!(r.register(&secret("abc")), Err(SecretTooShort));
        assert_eq!(r.secret_count(), 0);
    }

    #[test]
    fn connection_strings() {
        assert_eq!(
            mask_connection_string("postgresql://user:pass@host/db"),
            "postgresql://***:***@host/db"
        );
        assert_eq!(
            mask_connection_string("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://***:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            mask_connection_string("https://ghp_TOKEN@github.com/x.git"),
            "https://***@github.com/x.git"
        );
        assert_eq!(
            mask_connection_string("postgresql://host/db"),
            "postgresql://host/db"
        );
    }

    #[test]
    fn credential_pairs_bearer_and_jwts() {
        let r = Redactor::default();
        for (input, canary) in [
            ("host=db password=CANARY1 user=x", "CANARY1"),
            ("Server=x;Password=CANARY2;", "CANARY2"),
            ("?access_token=CANARY3&x=1", "CANARY3"),
            ("\"api_key\": \"CANARY4\"", "CANARY4"),
            ("Authorization: Bearer CANARY5abcdefgh", "CANARY5"),
            ("curl -H 'bearer CANARY6abcdefgh'", "CANARY6"),
            (
                "tok eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDQU5BUlkifQ.c2lnbmF0dXJl end",
                "eyJzdWIiOiJDQU5BUlkifQ",
            ),
        ] {
            let (out, n) = r.redact_str(input).unwrap_or_else(|| panic!("{input}"));
            assert!(!out.contains(canary), "{input} -> {out}");
            assert!(n >= 1);
        }
        assert!(r.redact_str("nothing to see here").is_none());
    }

    #[test]
    fn sensitive_keys_in_structured_output() {
        let r = Redactor::default();
        let mut v = json!({
            "region": "eu",
            "api_key": "CANARY",
            "nested": {"Client-Secret": "CANARY", "token": null, "tokens": 3},
            "list": [{"password": "CANARY"}]
        });
        assert_eq!(r.redact_value(&mut v), 3);
        assert!(!v.to_string().contains("CANARY"));
        assert_eq!(v["region"], "eu");
        assert_eq!(v["nested"]["token"], Value::Null);
        assert_eq!(v["nested"]["tokens"], 3);
    }

    #[test]
    fn mirror_text_follows_structured_content() {
        let r = Redactor::default();
        let mut result = CallToolResult::structured(json!({"password": "CANARY"}));
        assert!(r.redact_result(&mut result) > 0);
        let text = result.content[0].as_text().unwrap().text.clone();
        assert!(!text.contains("CANARY"));
        assert_eq!(text, result.structured_content.unwrap().to_string());
    }

    #[test]
    fn every_block_of_a_result_is_redacted_and_what_it_carries_kept() {
        let r = Redactor::default();
        r.register(&secret("CANARY-VALUE")).unwrap();
        let block = |v: Value| serde_json::from_value::<ContentBlock>(v).unwrap();
        let mut result = CallToolResult::success(vec![
            ContentBlock::text("plain CANARY-VALUE"),
            ContentBlock::text("clean"),
            block(json!({"type": "text", "text": "annotated", "_meta": {"k": "CANARY-VALUE"}})),
            block(json!({"type": "text", "text": "CANARY-VALUE",
                         "annotations": {"audience": ["user"]}})),
            ContentBlock::embedded_text("file:///CANARY-VALUE", "body CANARY-VALUE"),
        ]);
        assert_eq!(r.redact_result(&mut result), 5);
        let out = serde_json::to_string(&result).unwrap();
        assert!(!out.contains("CANARY"), "{out}");
        assert_eq!(
            result.content[0].as_text().unwrap().text,
            format!("plain {MASK}")
        );
        assert_eq!(result.content[1].as_text().unwrap().text, "clean");
        let annotated = result.content[3].as_text().unwrap();
        assert_eq!(annotated.text, MASK);
        assert!(
            annotated.annotations.is_some(),
            "kept through the JSON round trip"
        );
    }

    #[test]
    fn mask_trait() {
        let mut s = Some("CANARY".to_string());
        s.mask();
        assert_eq!(s.as_deref(), Some(MASK));
        let mut none: Option<String> = None;
        none.mask();
        assert!(none.is_none());
    }

    #[test]
    fn debug_shows_no_secret() {
        let r = Redactor::default();
        r.register(&secret("CANARY-VALUE")).unwrap();
        assert!(!format!("{r:?}").contains("CANARY"));
    }

    /// What redacting `content` through its JSON form gives: each block's masked JSON, or, when
    /// that no longer reads as a block, a text block holding it; and how many were masked.
    fn masked_as_json(r: &Redactor, content: &[ContentBlock]) -> (serde_json::Value, usize) {
        let mut count = 0;
        let blocks = content
            .iter()
            .map(|block| {
                let mut value = serde_json::to_value(block).unwrap();
                count += r.redact_value(&mut value);
                match serde_json::from_value::<ContentBlock>(value.clone()) {
                    Ok(_) => value,
                    Err(_) => serde_json::to_value(ContentBlock::text(value.to_string())).unwrap(),
                }
            })
            .collect();
        (serde_json::Value::Array(blocks), count)
    }

    #[test]
    fn a_block_whose_masked_form_loses_its_shape_goes_out_as_masked_text() {
        // A secret that is also a field name: masked, the block no longer reads as a block.
        // Isolated: "type" masked in every log line of this test binary would be a surprise.
        let r = Redactor::isolated(true);
        r.register(&secret("type")).unwrap();
        let mut result = CallToolResult::success(vec![
            ContentBlock::text("my type here"),
            ContentBlock::text("nothing"),
        ]);
        // The field name in each block, and the secret in the first block's text.
        assert_eq!(r.redact_result(&mut result), 3);
        let ContentBlock::Text(first) = &result.content[0] else {
            panic!("{:?}", result.content)
        };
        assert!(!first.text.contains("my type here"), "{}", first.text);
        assert!(first.text.contains("my *** here"), "{}", first.text);
        assert!(
            matches!(&result.content[1], ContentBlock::Text(t) if t.text.contains("\"nothing\"")),
            "{:?}",
            result.content
        );
    }

    /// The walk that lets a clean result skip its JSON form agrees with the JSON form: over
    /// results made of fragments of every shape (credential pairs, bearer words, JWT starts,
    /// a registered secret, credential-like keys in `_meta`, plain words), redacting the
    /// result masks as many strings as redacting its JSON form, and leaves the same JSON.
    #[test]
    fn a_result_is_masked_as_its_json_form_would_be() {
        const FRAGMENTS: &[&str] = &[
            "plain",
            " ",
            "word",
            ":",
            "=",
            "password=hunter22",
            "Bearer abc.def",
            "bEaReR",
            "eyJhbGciOiJSUzI1NiJ9",
            "eyJ",
            "sk-live-FUZZSECRET",
            "SK-LIVE-fuzzsecret",
            "postgres://u:p4ssw0rd@h/db",
            "api_key",
            "token",
            "\u{0}",
            "é",
            "{}",
            "\"",
        ];
        let r = Redactor::isolated(true);
        r.register(&secret("sk-live-FUZZSECRET")).unwrap();
        // xorshift64: the same inputs every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap()
        };
        let mut text = || {
            let parts = next(5);
            (0..parts)
                .map(|_| FRAGMENTS[next(FRAGMENTS.len())])
                .collect::<String>()
        };
        let (mut masked, mut clean) = (0, 0);
        for round in 0..2000 {
            let mut block = rmcp::model::TextContent::new(text());
            let meta_key = text();
            let meta_value = text();
            if round % 2 == 0 {
                let mut meta = serde_json::Map::new();
                meta.insert(meta_key, json!(meta_value));
                block.meta = Some(rmcp::model::MetaObject(meta));
            }
            let mut result = CallToolResult::success(vec![
                ContentBlock::Text(block),
                ContentBlock::text(text()),
            ]);
            let (expected, expected_count) = masked_as_json(&r, &result.content);
            let count = r.redact_result(&mut result);
            assert_eq!(count, expected_count, "{expected}");
            assert_eq!(serde_json::to_value(&result.content).unwrap(), expected);
            if count > 0 { masked += 1 } else { clean += 1 }
        }
        // Both paths ran often.
        assert!(
            masked > 200 && clean > 200,
            "{masked} masked, {clean} clean"
        );
    }
}
