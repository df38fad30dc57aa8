//! The process-wide log redactor: every log line passes through it (see
//! [`crate::logging`]).

use std::sync::LazyLock;

use super::Redactor;

/// The redactor every log line passes through (see [`crate::logging::init`]). Every secret
/// registered with any [`Redactor`] is registered here too, so a secret masked in output is
/// masked in the logs as well, whichever library logs it.
pub fn log_redactor() -> &'static Redactor {
    static LOG: LazyLock<Redactor> = LazyLock::new(Redactor::for_logs);
    &LOG
}
