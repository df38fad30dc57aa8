//! [`Redactor`]: masks registered secret values, and the credential shapes of
//! [`super::patterns`], in outgoing text, JSON values and tool results.

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use aho_corasick::{AhoCorasick, MatchKind};
use arc_swap::ArcSwap;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use super::{ExposeSecret, MASK, MIN_SECRET_LEN, SecretString, log_redactor, patterns, scan};

#[derive(Default)]
struct Matcher {
    automaton: Option<AhoCorasick>,
    /// The registered values, kept as secrets so the automaton can be rebuilt.
    secrets: Vec<SecretString>,
}

/// Masks registered secret values and well-known credential shapes in outgoing text.
/// Cheap to share; registration may happen at any time.
pub struct Redactor {
    /// Read for every output value, replaced on registration: a snapshot read writes no
    /// memory the workers share (a lock or a reference count would, per string).
    matcher: ArcSwap<Matcher>,
    /// Serializes registrations (each rebuilds the matcher from the one before).
    registering: Mutex<()>,
    key_masking: bool,
    /// Also register secrets with [`log_redactor`].
    propagate: bool,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(true)
    }
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

/// The base64 forms of `raw` (standard and URL-safe alphabets): the whole encoding, padded
/// and not, and for each of the three alignments `raw` can have inside a longer encoded
/// string, the run of characters that encode its bytes alone.
fn base64_forms(raw: &[u8], forms: &mut Vec<String>) {
    use base64::{
        Engine,
        engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
    };
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(raw));
    }
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(raw);
            let encoded = engine.encode(&bytes);
            // Skip the group that mixes in the prefix; keep only whole groups of the secret.
            let head = if offset == 0 { 0 } else { 4 };
            let tail = (bytes.len() / 3) * 4;
            if let Some(core) = encoded.get(head..tail)
                && core.len() >= MIN_SECRET_LEN
            {
                forms.push(core.to_owned());
            }
        }
    }
}

/// The forms of a secret that are masked: as is, JSON-escaped, percent-encoded (hex digits of
/// either case, and `+` for a space), base64 (both alphabets, any alignment), and for a
/// connection string its password alone.
fn forms_of(raw: &str, forms: &mut Vec<String>) {
    forms.push(raw.to_owned());
    let json = serde_json::to_string(raw).unwrap_or_default();
    let json = json.trim_matches('"');
    if json != raw {
        forms.push(json.to_owned());
    }
    let encoded = percent_encode(raw);
    if encoded != raw {
        if raw.contains(' ') {
            forms.push(encoded.replace("%20", "+"));
        }
        forms.push(encoded);
    }
    base64_forms(raw.as_bytes(), forms);
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

impl Redactor {
    /// A redactor; `key_masking` also masks string values under credential-like keys in
    /// structured output.
    pub fn new(key_masking: bool) -> Self {
        Self {
            matcher: ArcSwap::from_pointee(Matcher::default()),
            registering: Mutex::new(()),
            key_masking,
            propagate: true,
        }
    }

    /// A redactor whose registrations stay its own (not copied to the process-wide
    /// [`log_redactor`]): for tests and fuzzing, which register many throwaway secrets.
    #[doc(hidden)]
    pub fn isolated(key_masking: bool) -> Self {
        Self {
            propagate: false,
            ..Self::new(key_masking)
        }
    }

    /// The process-wide log redactor's own configuration.
    pub(super) fn for_logs() -> Self {
        Self::isolated(false)
    }

    fn current(&self) -> Arc<Matcher> {
        self.matcher.load_full()
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
        let _registering = self
            .registering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = self.matcher.load();
        if before.secrets.iter().any(|s| s.expose_secret() == value) {
            return Ok(());
        }
        let mut secrets: Vec<SecretString> = before.secrets.clone();
        secrets.push(secret.clone());
        let mut forms: Vec<String> = Vec::new();
        for s in &secrets {
            forms_of(s.expose_secret(), &mut forms);
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
        self.matcher.store(Arc::new(Matcher { automaton, secrets }));
        Ok(())
    }

    /// Compiles the pattern matchers now rather than on the first call that needs them.
    pub fn warm_up(&self) {
        let _ = patterns::ensure_compiled();
    }

    /// Number of registered secrets.
    pub fn secret_count(&self) -> usize {
        self.current().secrets.len()
    }

    /// Masks secrets in one string; `None` when nothing needed masking.
    pub fn redact_str(&self, text: &str) -> Option<(String, usize)> {
        redact_str(&self.matcher.load(), text)
    }

    /// Masks secrets in a JSON value in place; returns how many were masked.
    pub fn redact_value(&self, value: &mut Value) -> usize {
        self.redact_value_with(&self.matcher.load(), value)
    }

    fn redact_value_with(&self, matcher: &Matcher, value: &mut Value) -> usize {
        match value {
            Value::String(s) => match redact_str(matcher, s) {
                Some((new, n)) => {
                    *s = new;
                    n
                }
                None => 0,
            },
            Value::Array(items) => items
                .iter_mut()
                .map(|v| self.redact_value_with(matcher, v))
                .sum(),
            Value::Object(map) => {
                let mut n = 0;
                // Keys carry data too (a map keyed by token or URL): mask them as well.
                let renamed: Vec<(String, String, usize)> = map
                    .keys()
                    .filter_map(|k| redact_str(matcher, k).map(|(new, m)| (k.clone(), new, m)))
                    .collect();
                for (old, new, m) in renamed {
                    if let Some(v) = map.remove(&old) {
                        map.insert(new, v);
                        n += m;
                    }
                }
                for (key, v) in map.iter_mut() {
                    if self.key_masking
                        && patterns::is_sensitive_key(key)
                        && matches!(v, Value::String(s) if !s.is_empty() && s != MASK)
                    {
                        *v = Value::String(MASK.to_owned());
                        n += 1;
                    } else {
                        n += self.redact_value_with(matcher, v);
                    }
                }
                n
            }
            _ => 0,
        }
    }
    /// Masks secrets in a tool result: every string it carries (text, embedded resources,
    /// resource links, annotations, `_meta`, structured content, object keys); returns how
    /// many were masked.
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
        }
        // Everything else, whatever kind of block or field it sits in.
        for block in &mut result.content {
            let (m, unreadable) = self.redact_serialized(block);
            n += m;
            if let Some(masked) = unreadable {
                // Masking broke the block's shape (a secret that is also one of its field
                // names or tags): the masked form goes out as text, never the block unmasked.
                *block = ContentBlock::text(masked.to_string());
            }
        }
        let (m, unreadable) = self.redact_serialized(&mut result.meta);
        n += m;
        if unreadable.is_some() {
            result.meta = None;
        }
        n
    }

    /// Masks every string of a serializable part of a result (through its JSON form, so no
    /// field a later rmcp adds is missed); returns how many were masked, and the masked JSON
    /// form when it no longer reads as the part (the part is then left as it was: the caller
    /// must not send it).
    fn redact_serialized<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        part: &mut T,
    ) -> (usize, Option<Value>) {
        // Most parts have nothing to mask: a walk over their strings says so without building
        // the JSON form (which errs towards building it: see `scan`).
        let matcher = self.matcher.load();
        let clean = |s: &str| redact_str(&matcher, s).is_none();
        let clean_key = |k: &str| clean(k) && !(self.key_masking && patterns::is_sensitive_key(k));
        if scan::is_clean(&*part, &clean, &clean_key) {
            return (0, None);
        }
        // A part without a JSON form cannot be sent either.
        let Ok(mut value) = serde_json::to_value(&*part) else {
            return (0, None);
        };
        let n = self.redact_value_with(&matcher, &mut value);
        if n == 0 {
            return (0, None);
        }
        match T::deserialize(&value) {
            Ok(redacted) => {
                *part = redacted;
                (n, None)
            }
            Err(_) => (n, Some(value)),
        }
    }
}

/// Masks the secrets `matcher` knows, and the credential shapes, in one string; `None` when
/// nothing needed masking.
fn redact_str(matcher: &Matcher, text: &str) -> Option<(String, usize)> {
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
    let mut current = match out {
        Some(replaced) => replaced,
        // Nothing registered matched and no credential shape is there: no copy to make.
        None if patterns::clean(text) => return None,
        None => text.to_owned(),
    };
    count += patterns::mask(&mut current);
    (count > 0).then_some((current, count))
}

pub(super) fn percent_encode(s: &str) -> String {
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
