//! Output redaction: whatever a tool returns, redacting the result masks as many strings as
//! redacting its JSON form and leaves the same JSON, a block whose masked form no longer reads
//! as a block going out as that masked JSON in text (a clean result skips the JSON form after
//! a walk over its strings; this holds the walk to the JSON path), and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::{
    redact::{Redactor, SecretString},
    rmcp::model::{CallToolResult, ContentBlock, MetaObject, TextContent},
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1f}');
    let secret = parts.next().unwrap_or_default();
    let first = parts.next().unwrap_or_default();
    let meta = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    // Not copied to the process-wide log redactor, which would grow with every input.
    let redactor = Redactor::isolated(true);
    let _ = redactor.register(&SecretString::from(secret.to_owned()));
    let mut block = TextContent::new(first);
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(meta) {
        block.meta = Some(MetaObject(map));
    }
    let mut result =
        CallToolResult::success(vec![ContentBlock::Text(block), ContentBlock::text(second)]);
    // Through the JSON form: each block masked, or as masked text when masking broke its shape.
    let mut expected_count = 0;
    let mut expected = Vec::new();
    for block in &result.content {
        let Ok(mut value) = serde_json::to_value(block) else { return };
        expected_count += redactor.redact_value(&mut value);
        if serde_json::from_value::<ContentBlock>(value.clone()).is_err() {
            value = serde_json::to_value(ContentBlock::text(value.to_string())).unwrap_or_default();
        }
        expected.push(value);
    }
    let count = redactor.redact_result(&mut result);
    assert_eq!(count, expected_count);
    assert_eq!(
        serde_json::to_value(&result.content).ok(),
        Some(serde_json::Value::Array(expected))
    );
});
