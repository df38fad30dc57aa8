//! Support for generated code: applies a tool output's [`Redact`] implementation when its
//! type has one, and does nothing otherwise (autoref specialization, resolved at the concrete
//! type in the code `#[secure_server]` generates).

use std::fmt;

use super::Redact;

/// Picks the [`Redact`] implementation when the output type has one.
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
