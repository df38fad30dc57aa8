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
