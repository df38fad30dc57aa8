//! The grammars shared by `mcp-secure` and `mcp-secure-macros`, so that what the macros accept
//! at compile time is exactly what the runtime accepts: RFC 6749 scope tokens, and rate
//! limits. No dependencies; depend on `mcp-secure`, which re-exports what users need.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod rate;
pub mod scope;
pub mod uri_template;
