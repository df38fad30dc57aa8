//! The environment overlay: every variable of the settings table overrides the file. A
//! variable set to the empty string (or only spaces) counts as unset.

use super::{
    SecureConfig,
    problem::Collector,
    settings::{Raw, SETTINGS, refusal_message},
};

/// The variable naming the configuration file.
pub const CONFIG_FILE_VAR: &str = "MCP_CONFIG";

/// Applies every setting's variable from `env` to `config` (only those whose file key
/// starts with `section`, when given).
pub(crate) fn apply(
    config: &mut SecureConfig,
    env: &dyn Fn(&str) -> Option<String>,
    section: Option<&str>,
    c: &mut Collector,
) {
    for setting in SETTINGS {
        let Some(var) = setting.env else { continue };
        if section.is_some_and(|s| !setting.key.starts_with(s)) {
            continue;
        }
        let Some(value) = env(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        match (setting.apply)(config, Raw::Text(&value)) {
            Ok(()) => config.mark_set(setting.key),
            Err(refusal) => c.error(var, refusal_message(setting, refusal)),
        }
    }
}

/// One environment variable the configuration reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvVar {
    /// The variable.
    pub name: String,
    /// The file key it overrides (`security.oauth.issuer`), if any.
    pub file_key: Option<String>,
    /// What it means.
    pub doc: String,
}

/// Every environment variable the configuration reads, in documentation order: the
/// configuration file, each setting's variable, and each default secret (with `NAME_FILE`).
pub fn variables() -> Vec<EnvVar> {
    let mut out = vec![EnvVar {
        name: CONFIG_FILE_VAR.into(),
        file_key: None,
        doc: "the configuration file (JSON, or TOML by its `.toml` extension)".into(),
    }];
    out.extend(SETTINGS.iter().filter_map(|s| {
        Some(EnvVar {
            name: s.env?.to_owned(),
            file_key: Some(s.file_path()),
            doc: s.doc.to_owned(),
        })
    }));
    for key in super::SecretKey::DEFAULTS {
        out.push(EnvVar {
            name: key.name().to_owned(),
            file_key: None,
            doc: format!(
                "a secret (or `{}`): read into `SecretString`, masked in output and logs",
                key.file_variable()
            ),
        });
    }
    out
}

/// Every setting and variable as a Markdown table (`| variable | file key | meaning |`), as
/// the README shows them; `mcp-secure env` prints it.
pub fn settings_markdown() -> String {
    let mut out =
        String::from("| variable | file key (under `security`) | meaning |\n|---|---|---|\n");
    out.push_str(&format!(
        "| `{CONFIG_FILE_VAR}` | | the configuration file (JSON, or TOML by its `.toml` extension) |\n"
    ));
    for s in SETTINGS {
        let var = s
            .env
            .map(|v| format!("`{v}`"))
            .unwrap_or_else(|| "(file only)".into());
        out.push_str(&format!("| {var} | `{}` | {} |\n", s.key, s.doc));
    }
    for key in super::SecretKey::DEFAULTS {
        out.push_str(&format!(
            "| `{}` (or `{}`) | (never in the file) | a secret: read into `SecretString`, masked in output and logs |\n",
            key.name(),
            key.file_variable()
        ));
    }
    out
}
