//! The configuration file reader: arbitrary text as JSON and as TOML. Never panics; a file
//! that loads has passed every rule (no HTTP without an issuer, no plain-http URLs off
//! loopback), and a refused one names at least one problem.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::{SecureConfig, config::FileFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let no_env = |_: &str| None;
    let no_files = |_: &std::path::Path| None;
    for format in [FileFormat::Json, FileFormat::Toml] {
        match SecureConfig::loader()
            .file_text(text, format)
            .environment(&no_env)
            .secret_files(&no_files)
            .load()
        {
            Ok(config) => {
                if config.transport == mcp_secure::config::TransportKind::Http {
                    assert!(config.oauth.issuer.is_some() || config.dev_auth.enabled);
                }
            }
            Err(e) => assert!(!e.problems.is_empty()),
        }
    }
});
