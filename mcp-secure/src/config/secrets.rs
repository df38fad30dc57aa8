//! Secrets: only from the environment, or from the file a `NAME_FILE` variable names
//! (container secrets). Never from the configuration file.

use std::{collections::BTreeMap, fmt, path::Path};

use super::problem::Collector;
use crate::redact::SecretString;

/// A secret the configuration reads, by the environment variable that holds it. Look secrets
/// up with these keys ([`Secrets::get`]), never with a string.
///
/// ```
/// use mcp_secure::config::SecretKey;
///
/// const STRIPE_KEY: SecretKey = SecretKey::new("STRIPE_KEY");
/// assert_eq!(STRIPE_KEY.name(), "STRIPE_KEY");
/// assert_eq!(STRIPE_KEY.file_variable(), "STRIPE_KEY_FILE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretKey {
    name: &'static str,
}

impl SecretKey {
    /// `API_KEY`: an API key the server uses downstream.
    pub const API_KEY: Self = Self::new("API_KEY");
    /// `DATABASE_URL`: a connection string (its password is a secret on its own too).
    pub const DATABASE_URL: Self = Self::new("DATABASE_URL");
    /// `REDIS_URL`: the shared rate-limit store.
    pub const REDIS_URL: Self = Self::new("REDIS_URL");
    /// `OAUTH_CLIENT_SECRET`: this server's client secret (introspection).
    pub const OAUTH_CLIENT_SECRET: Self = Self::new("OAUTH_CLIENT_SECRET");

    /// The secrets every configuration looks for.
    pub const DEFAULTS: &'static [SecretKey] = &[
        Self::API_KEY,
        Self::DATABASE_URL,
        Self::REDIS_URL,
        Self::OAUTH_CLIENT_SECRET,
    ];

    /// A secret of the server's own, read from environment variable `name` (or `name_FILE`).
    pub const fn new(name: &'static str) -> Self {
        Self { name }
    }

    /// The environment variable.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The variable naming a file that holds it: `NAME_FILE`.
    pub fn file_variable(self) -> String {
        format!("{}_FILE", self.name)
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The secrets every configuration looks for (each also as `NAME_FILE`).
pub const DEFAULT_SECRETS: &[SecretKey] = SecretKey::DEFAULTS;

/// Secret values by key. `Debug` and `Display` show `***` for each set secret, `(unset)`
/// for the others.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<SecretKey, SecretString>,
    looked_for: Vec<SecretKey>,
}

impl Secrets {
    /// The secret, if set.
    pub fn get(&self, key: SecretKey) -> Option<&SecretString> {
        self.values.get(&key)
    }

    /// Every secret that is set.
    pub fn iter(&self) -> impl Iterator<Item = (SecretKey, &SecretString)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }

    /// The secrets looked for, set or not.
    pub fn keys(&self) -> &[SecretKey] {
        &self.looked_for
    }

    /// Reads every secret of `keys` (and the defaults) from `env`, or from the file its
    /// `NAME_FILE` variable names (one trailing newline dropped). The variable wins when both
    /// are set.
    pub(crate) fn load(
        keys: &[SecretKey],
        env: &dyn Fn(&str) -> Option<String>,
        read_file: &dyn Fn(&Path) -> Option<String>,
        c: &mut Collector,
    ) -> Self {
        let mut looked_for: Vec<SecretKey> = SecretKey::DEFAULTS.to_vec();
        looked_for.extend_from_slice(keys);
        looked_for.sort();
        looked_for.dedup();
        let mut values = BTreeMap::new();
        for &key in &looked_for {
            let direct = env(key.name()).filter(|v| !v.is_empty());
            let file_var = key.file_variable();
            let value = match direct {
                Some(v) => Some(v),
                None => match env(&file_var).filter(|p| !p.trim().is_empty()) {
                    None => None,
                    Some(path) => match read_file(Path::new(path.trim())) {
                        Some(v) => Some(strip_one_newline(v)),
                        None => {
                            c.error(file_var, "names a file that cannot be read");
                            None
                        }
                    },
                },
            };
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                values.insert(key, SecretString::from(v));
            }
        }
        Self { values, looked_for }
    }
}

fn strip_one_newline(mut v: String) -> String {
    if v.ends_with('\n') {
        v.pop();
        if v.ends_with('\r') {
            v.pop();
        }
    }
    v
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for key in &self.looked_for {
            let shown = if self.values.contains_key(key) {
                "***"
            } else {
                "(unset)"
            };
            map.entry(&key.name(), &shown);
        }
        map.finish()
    }
}

/// Whether a file key names a secret (which belongs in the environment, never the file).
pub(crate) fn secret_like(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "secret",
        "password",
        "passwd",
        "apikey",
        "token",
        "databaseurl",
        "redisurl",
        "privatekey",
        "credential",
        "dsn",
        "connectionstring",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// The variable a secret-looking file key should come from.
pub(crate) fn secret_variable(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    let known = if k.contains("client_secret") {
        Some(SecretKey::OAUTH_CLIENT_SECRET)
    } else if k.contains("redis") {
        Some(SecretKey::REDIS_URL)
    } else if k.contains("database") || k.contains("dsn") {
        Some(SecretKey::DATABASE_URL)
    } else if k.contains("api") {
        Some(SecretKey::API_KEY)
    } else {
        None
    };
    known.map_or_else(|| key.to_ascii_uppercase(), |s| s.name().to_owned())
}
