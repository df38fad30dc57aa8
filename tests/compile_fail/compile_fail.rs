//! The compile-time contract of `#[secure_server]`, `#[secure_tool]` and `#[derive(Redact)]`:
//! every misconfiguration is an error on the offending token (pinned by the `.stderr` files in
//! `ui/fail`), and every accepted form compiles (`ui/pass`).
//!
//! Regenerate the snapshots after an intended message change with
//! `TRYBUILD=overwrite cargo test -p mcp-secure-compile-fail`, then review them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
