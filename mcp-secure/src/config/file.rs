//! The configuration file: JSON or TOML, in the security pattern set's shape
//! (`{"security": {...}}`), read against the settings table. An unknown key is an error naming
//! its nearest valid one; a secret-looking key is an error naming the variable to use.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    SecureConfig,
    problem::{Collector, did_you_mean},
    secrets::{secret_like, secret_variable},
    settings::{Raw, SETTINGS, Setting, refusal_message},
};

/// The format of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

impl FileFormat {
    /// By extension: `.toml` is TOML, anything else JSON.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Self::Toml,
            _ => Self::Json,
        }
    }
}

/// Parses the file's text into JSON; the error says where, never what.
pub(crate) fn parse(text: &str, format: FileFormat) -> Result<Value, String> {
    match format {
        FileFormat::Json => serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column())),
        FileFormat::Toml => toml::from_str::<toml::Table>(text)
            .map_err(|e| match e.span() {
                Some(span) => format!("not valid TOML (at byte {})", span.start),
                None => "not valid TOML".to_string(),
            })
            .and_then(|t| serde_json::to_value(t).map_err(|_| "not valid TOML".to_string())),
    }
}

/// The keys valid directly under `prefix` (`""` for `security` itself, `"oauth."`, …).
fn keys_under(prefix: &str) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = SETTINGS
        .iter()
        .filter_map(|s| s.key.strip_prefix(prefix))
        .map(|rest| rest.split('.').next().unwrap_or(rest))
        .collect();
    keys.dedup();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The setting that may stand for the whole `section` (`"rate_limit": 1000`).
fn shorthand(section: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| {
        s.shorthand
            && s.key
                .strip_prefix(section)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

fn apply_one(
    config: &mut SecureConfig,
    setting: &'static Setting,
    value: &Value,
    c: &mut Collector,
) {
    match (setting.apply)(config, Raw::Json(value)) {
        Ok(()) => config.mark_set(setting.key),
        Err(refusal) => c.error(setting.file_path(), refusal_message(setting, refusal)),
    }
}

/// Applies the file's `value` to `config`, recording every problem.
pub(crate) fn apply(config: &mut SecureConfig, value: &Value, c: &mut Collector) {
    let Some(top) = value.as_object() else {
        c.error("(file)", "must be a table/object with a `security` table");
        return;
    };
    for key in top.keys().filter(|k| *k != "security") {
        unknown(key, key, &["security"], c);
    }
    let Some(security) = top.get("security") else {
        return;
    };
    match security.as_object() {
        Some(map) => walk(config, "", map, c),
        None => c.error("security", "must be a table/object"),
    }
}

fn walk(config: &mut SecureConfig, prefix: &str, map: &Map<String, Value>, c: &mut Collector) {
    let valid = keys_under(prefix);
    for (key, value) in map {
        let full = format!("{prefix}{key}");
        if let Some(s) = setting(&full) {
            apply_one(config, s, value, c);
            continue;
        }
        if !valid.contains(&key.as_str()) {
            unknown(&format!("security.{full}"), key, &valid, c);
            continue;
        }
        // A section.
        match (value.as_object(), shorthand(&full)) {
            (Some(inner), _) => walk(config, &format!("{full}."), inner, c),
            (None, Some(s)) => apply_one(config, s, value, c),
            (None, None) => c.error(format!("security.{full}"), "must be a table/object"),
        }
    }
}

fn unknown(path: &str, key: &str, valid: &[&str], c: &mut Collector) {
    if secret_like(key) {
        let var = secret_variable(key);
        c.error(
            path,
            format!(
                "secrets may not be in the configuration file; remove it and set {var} (or \
                 {var}_FILE) in the environment"
            ),
        );
        return;
    }
    let hint = did_you_mean(key, valid.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    c.error(
        path,
        format!("unknown key; {hint}valid keys here: {}", valid.join(", ")),
    );
}
