//! Reading secrets: from the environment only, straight into [`SecretString`].

use crate::redact::SecretString;

/// The secret in environment variable `name`, if set and non-empty.
///
/// The value moves into a [`SecretString`] at once: it prints as `[REDACTED]`, cannot be
/// serialized and is zeroed on drop. Register it with the output redactor
/// ([`crate::SecurityBuilder::secret`]) so it is masked if a tool ever returns it.
pub fn from_env(name: &str) -> Option<SecretString> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(SecretString::from(value)),
        _ => None,
    }
}

/// The secret in `name`, or in the file named by `{name}_FILE` (container secrets; one
/// trailing newline is dropped). The variable wins when both are set.
pub fn from_env_or_file(name: &str) -> Option<SecretString> {
    if let Some(secret) = from_env(name) {
        return Some(secret);
    }
    let path = std::env::var(format!("{name}_FILE")).ok()?;
    let mut value = std::fs::read_to_string(path).ok()?;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    (!value.is_empty()).then(|| SecretString::from(value))
}
