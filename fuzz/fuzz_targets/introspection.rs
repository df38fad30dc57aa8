//! The introspection response reader (RFC 7662): arbitrary bytes as the authorization
//! server's answer. Never panics (times near `u64::MAX` included); a principal comes only
//! from an answer that is active and names this resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::{
    auth::{IntrospectionConfig, IntrospectionValidator},
    redact::SecretString,
};

const AUDIENCE: &str = "https://mcp.example.com/mcp";

fuzz_target!(|data: &[u8]| {
    static VALIDATOR: std::sync::OnceLock<IntrospectionValidator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let config = IntrospectionConfig::new(
            "http://127.0.0.1:9/introspect".parse().expect("url"),
            "rs",
            SecretString::from("secret".to_string()),
            AUDIENCE,
        );
        IntrospectionValidator::new(config).expect("validator")
    });
    if let Ok(principal) = validator.principal_from_response(data) {
        let value: serde_json::Value = serde_json::from_slice(data).expect("it parsed");
        assert_eq!(value["active"], serde_json::Value::Bool(true));
        assert!(!principal.subject().is_empty() || value.get("sub").is_some() || value.get("client_id").is_some());
        let aud = &value["aud"];
        assert!(aud == AUDIENCE || aud.as_array().is_some_and(|a| a.iter().any(|v| v == AUDIENCE)));
    }
});
