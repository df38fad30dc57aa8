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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = Vec::new();
    for dir in ["tests", "mcp-secure/src"] {
        collect_rust_files(&root.join(dir), &mut sources);
    }
    let mut named = 0;
    let is_test_path = |c: &&str| {
        c.contains("::")
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':')
    };
    for cell in table.split('`').filter(is_test_path) {
        // `module::test` or `module::tests::test`: a test function in a file of that module.
        let module = cell.split("::").next().unwrap_or_default();
        let test = cell.rsplit("::").next().unwrap_or_default();
        let found = sources.iter().any(|(path, source)| {
            path.to_string_lossy().contains(module)
                && (source.contains(&format!("async fn {test}()"))
                    || source.contains(&format!("fn {test}()")))
        });
        assert!(
            found,
            "{cell} is named in docs/security.md but does not exist"
        );
        named += 1;
    }
    assert!(named >= 40, "{named}");
}

/// Every `.rs` file under `dir` with its text (`node_modules` and `target` skipped).
fn collect_rust_files(dir: &Path, out: &mut Vec<(std::path::PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "node_modules" && name != "target" {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            out.push((path, text));
        }
    }
}
