//! The docs stay true: the README's settings table is the one the settings produce, and every
//! test `docs/security.md` names exists.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_settings_table_is_generated_from_the_settings() {
    let readme = read("README.md");
    let start = readme
        .find("<!-- settings:start -->\n")
        .expect("start marker")
        + 24;
    let end = readme.find("<!-- settings:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        mcp_secure::config::settings_markdown(),
        "regenerate with `cargo run -p mcp-secure --bin mcp-secure -- env`"
    );
}

#[test]
fn every_test_the_refusal_table_names_exists() {
    let table = read("docs/security.md");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("it/http_security");
    let mut named = 0;
    for cell in table.split('`').filter(|c| c.contains("::")) {
        let (file, test) = cell.split_once("::").expect("file::test");
        let source = std::fs::read_to_string(dir.join(format!("{file}.rs")))
            .unwrap_or_else(|_| panic!("{file}.rs for {cell}"));
        assert!(
            source.contains(&format!("async fn {test}()"))
                || source.contains(&format!("fn {test}()")),
            "{cell} is named in docs/security.md but does not exist"
        );
        named += 1;
    }
    assert!(named >= 30, "{named}");
}
