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
//!    percent-encoded forms), the
//!    credentials of connection strings (`postgresql://user:pass@host/db` →
//!    `postgresql://***:***@host/db`), `password=…`/`token: …` style pairs, bearer tokens and
//!    JWTs in text, and string values under credential-like keys (`password`, `api_key`,
//!    `access_token`, …) in structured output.

use std::{
    borrow::Cow,
    fmt,
    sync::{Arc, LazyLock, RwLock},
};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
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
    Redactor::mask_patterns(&mut out);
    out
}

static URL_USERINFO: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?i)\b[a-z][a-z0-9+.\-]*://([^/?#@\s"'<>\\]+)@"#).ok());

static CREDENTIAL_PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)\b(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|api[_-]?key|"#,
        r#"access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|session[_-]?token|token|"#,
        r#"authorization|private[_-]?key)\b["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?"#,
        r#"([^\s"'&;,<>]+)"#
    ))
    .ok()
});

static BEARER_OR_JWT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i:\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*))",
        r"|(\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",
    ))
    .ok()
});

/// Normalised key names whose string values are masked in structured output.
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "clientsecret",
    "apikey",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "sessiontoken",
    "token",
    "bearertoken",
    "authorization",
    "privatekey",
    "secretkey",
    "secretaccesskey",
    "cookie",
    "setcookie",
    "connectionstring",
];

fn is_sensitive_key(key: &str) -> bool {
    if key.len() > 64 {
        return false;
    }
    let mut buf = [0u8; 64];
    let mut n = 0;
    for b in key.bytes() {
        if b == b'_' || b == b'-' {
            continue;
        }
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    let normalised = &buf[..n];
    SENSITIVE_KEYS.iter().any(|k| k.as_bytes() == normalised)
}

#[derive(Default)]
struct Matcher {
    automaton: Option<AhoCorasick>,
    /// The registered values, kept as secrets so the automaton can be rebuilt.
    secrets: Vec<SecretString>,
}

/// Masks registered secret values and well-known credential shapes in outgoing text.
/// Cheap to share; registration may happen at any time.
pub struct Redactor {
    matcher: RwLock<Arc<Matcher>>,
    key_masking: bool,
    /// Also register secrets with [`log_redactor`].
    propagate: bool,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(true)
    }
}

/// The redactor every log line passes through (see [`crate::audit::init_logging`]). Every
/// secret registered with any [`Redactor`] is registered here too, so a secret masked in
/// output is masked in the logs as well, whichever library logs it.
pub fn log_redactor() -> &'static Redactor {
    static LOG: LazyLock<Redactor> = LazyLock::new(|| Redactor {
        matcher: RwLock::new(Arc::new(Matcher::default())),
        key_masking: false,
        propagate: false,
    });
    &LOG
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.current();
        f.debug_struct("Redactor")
            .field("secrets", &m.secrets.len())
            .field("key_masking", &self.key_masking)
            .finish()
    }
}

/// A registered secret was too short to match safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("secret too short to redact by value (under {MIN_SECRET_LEN} characters)")]
pub struct SecretTooShort;

impl Redactor {
    /// A redactor; `key_masking` also masks string values under credential-like keys in
    /// structured output.
    pub fn new(key_masking: bool) -> Self {
        Self {
            matcher: RwLock::new(Arc::new(Matcher::default())),
            key_masking,
            propagate: true,
        }
    }

    fn current(&self) -> Arc<Matcher> {
        self.matcher
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Registers a secret value: from now on it is masked wherever it appears in output, also
    /// JSON-escaped or percent-encoded.
    pub fn register(&self, secret: &SecretString) -> Result<(), SecretTooShort> {
        let value = secret.expose_secret();
        if value.chars().count() < MIN_SECRET_LEN {
            return Err(SecretTooShort);
        }
        if self.propagate {
            let _ = log_redactor().register(secret);
        }
        let mut guard = self
            .matcher
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.secrets.iter().any(|s| s.expose_secret() == value) {
            return Ok(());
        }
        let mut secrets: Vec<SecretString> = guard.secrets.clone();
        secrets.push(secret.clone());
        let mut forms: Vec<String> = Vec::new();
        for s in &secrets {
            let raw = s.expose_secret();
            forms.push(raw.to_owned());
            let json = serde_json::to_string(raw).unwrap_or_default();
            let json = json.trim_matches('"');
            if json != raw {
                forms.push(json.to_owned());
            }
            let encoded = percent_encode(raw);
            if encoded != raw {
                forms.push(encoded);
            }
            // A connection string's password is a secret on its own, wherever it shows up.
            if let Ok(url) = url::Url::parse(raw)
                && let Some(password) = url.password()
            {
                let decoded = url::form_urlencoded::parse(format!("p={password}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                for part in [password.to_owned(), decoded] {
                    if part.chars().count() >= MIN_SECRET_LEN && !forms.contains(&part) {
                        forms.push(part);
                    }
                }
            }
        }
        // ASCII case-insensitive: an upper-cased secret is as good as the secret.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .build(&forms)
            .ok();
        // Wipe the temporary copies.
        for f in &mut forms {
            zeroize_string(f);
        }
        *guard = Arc::new(Matcher { automaton, secrets });
        Ok(())
    }

    /// Compiles the pattern matchers now rather than on the first call that needs them.
    pub fn warm_up(&self) {
        let mut probe = String::from("x://u:p@h password=p bearer abcdefghij");
        Self::mask_patterns(&mut probe);
    }

    /// Number of registered secrets.
    pub fn secret_count(&self) -> usize {
        self.current().secrets.len()
    }

    /// Masks credential shapes (connection-string userinfo, `key=value` credentials, bearer
    /// tokens, JWTs) in `text`; returns how many were masked.
    fn mask_patterns(text: &mut String) -> usize {
        let mut count = 0;
        for (re, userinfo) in [
            (&*URL_USERINFO, true),
            (&*CREDENTIAL_PAIR, false),
            (&*BEARER_OR_JWT, false),
        ] {
            let Some(re) = re.as_ref() else { continue };
            if !re.is_match(text) {
                continue;
            }
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for caps in re.captures_iter(text) {
                // Every pattern captures exactly the part to mask in one of its groups.
                let Some(m) = (1..caps.len()).find_map(|i| caps.get(i)) else {
                    continue;
                };
                if matches!(m.as_str(), MASK | "***:***") {
                    continue;
                }
                out.push_str(&text[last..m.start()]);
                out.push_str(if userinfo && m.as_str().contains(':') {
                    "***:***"
                } else {
                    MASK
                });
                last = m.end();
                count += 1;
            }
            out.push_str(&text[last..]);
            *text = out;
        }
        count
    }

    /// Masks secrets in one string; `None` when nothing needed masking.
    pub fn redact_str(&self, text: &str) -> Option<(String, usize)> {
        let matcher = self.current();
        let mut count = 0;
        let mut out: Option<String> = None;
        if let Some(ac) = &matcher.automaton
            && ac.is_match(text)
        {
            let mut replaced = String::with_capacity(text.len());
            ac.replace_all_with(text, &mut replaced, |_, _, dst| {
                dst.push_str(MASK);
                count += 1;
                true
            });
            out = Some(replaced);
        }
        let mut current = out.unwrap_or_else(|| text.to_owned());
        let n = Self::mask_patterns(&mut current);
        count += n;
        (count > 0).then_some((current, count))
    }

    fn redact_string_in_place(&self, s: &mut String) -> usize {
        match self.redact_str(s) {
            Some((new, n)) => {
                *s = new;
                n
            }
            None => 0,
        }
    }

    /// Masks secrets in a JSON value in place; returns how many were masked.
    pub fn redact_value(&self, value: &mut Value) -> usize {
        match value {
            Value::String(s) => self.redact_string_in_place(s),
            Value::Array(items) => items.iter_mut().map(|v| self.redact_value(v)).sum(),
            Value::Object(map) => {
                let mut n = 0;
                for (key, v) in map.iter_mut() {
                    if self.key_masking
                        && is_sensitive_key(key)
                        && matches!(v, Value::String(s) if !s.is_empty() && s != MASK)
                    {
                        *v = Value::String(MASK.to_owned());
                        n += 1;
                    } else {
                        n += self.redact_value(v);
                    }
                }
                n
            }
            _ => 0,
        }
    }

    /// Masks secrets in a tool result (text, embedded text resources, structured content);
    /// returns how many were masked.
    pub fn redact_result(&self, result: &mut CallToolResult) -> usize {
        let mut n = 0;
        let mut structured_changed = false;
        if let Some(structured) = &mut result.structured_content {
            let m = self.redact_value(structured);
            structured_changed = m > 0;
            n += m;
        }
        // A single text block mirroring the structured content is re-rendered from the
        // redacted value, so both forms agree.
        if structured_changed
            && let [ContentBlock::Text(text)] = result.content.as_mut_slice()
            && serde_json::from_str::<serde::de::IgnoredAny>(&text.text).is_ok()
            && let Some(structured) = &result.structured_content
        {
            text.text = structured.to_string();
            return n;
        }
        for block in &mut result.content {
            match block {
                ContentBlock::Text(text) => n += self.redact_string_in_place(&mut text.text),
                ContentBlock::Resource(embedded) => match &mut embedded.resource {
                    ResourceContents::TextResourceContents { uri, text, .. } => {
                        n += self.redact_string_in_place(text);
                        n += self.redact_string_in_place(uri);
                    }
                    ResourceContents::BlobResourceContents { uri, .. } => {
                        n += self.redact_string_in_place(uri);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        n
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn zeroize_string(s: &mut String) {
    use secrecy::zeroize::Zeroize;
    s.zeroize();
}

/// Picks the [`Redact`] implementation when the output type has one, else does nothing
/// (autoref specialization, resolved at the concrete type in generated code).
#[doc(hidden)]
pub struct RedactProbe<'a, T>(pub &'a mut T);

impl<T> fmt::Debug for RedactProbe<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedactProbe")
    }
}

#[doc(hidden)]
pub trait ViaRedact {
    fn __mcp_secure_redact(&mut self);
}

impl<T: Redact> ViaRedact for RedactProbe<'_, T> {
    fn __mcp_secure_redact(&mut self) {
        self.0.redact();
    }
}

#[doc(hidden)]
pub trait ViaNothing {
    fn __mcp_secure_redact(&mut self);
}

impl<T> ViaNothing for &mut RedactProbe<'_, T> {
    fn __mcp_secure_redact(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
