//! `mcp-secure check-clients` against a corpus of client configurations (`tests/clients/`):
//! every format, clean files with every reference syntax, dirty files with every rule, and
//! files no client would read. Each finding is asserted by file, pointer and rule, and no
//! secret value appears in any output format.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const CLI: &str = env!("CARGO_BIN_EXE_mcp-secure-cli");

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("clients")
        .join(dir)
}

/// Copies a corpus directory into a fresh temporary directory of this test's own (outside
/// git), with `mode`.
fn copy_out(dir: &str, mode: u32, test: &str) -> PathBuf {
    let to = std::env::temp_dir().join(format!(
        "mcp-secure-clients-{}-{test}-{dir}-{mode:o}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&to);
    copy_tree(&corpus(dir), &to, mode);
    to
}

fn copy_tree(from: &Path, to: &Path, mode: u32) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, mode);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(CLI)
        .arg("check-clients")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// (file relative to the scanned root, pointer, rule) of every finding.
fn findings(json: &Value, root: &Path) -> BTreeSet<(String, String, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = Path::new(f["file"].as_str().unwrap());
            let rel = file.strip_prefix(root).unwrap_or(file);
            (
                rel.display().to_string(),
                f["pointer"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every literal secret of the dirty corpus.
const SECRETS: &[&str] = &[
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "ghp_ZYXWVUTSRQzyxwvutsrq9876543210123456",
    "notes-secret-value-42",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl",
    "AKIAIOSFODNN7EXAMPLE",
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv0123",
    "sk-proj-Q2x8Lm4Zr7Tp1Vb6Nc3Hs9Kd",
    "hunter2hunter2",
    "rk_live_51HxAbCdEfGh0123456789",
    "xoxb-000000000000-FAKEFAKEFAKEfake",
    "8f14e45fceea167a5a36dedd4bea2543",
    "dXNlcjpwYXNzd29yZA==",
    "q8Zr2LkP0vX7mN4tB1sY9wE3aF6gH",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
];

fn assert_no_secret(output: &str) {
    for secret in SECRETS {
        // Neither the value nor a recognisable piece of it.
        let piece = &secret[..secret.len().min(12)];
        assert!(
            !output.contains(secret) && !output.contains(piece),
            "a secret ({piece}…) in the output:\n{output}"
        );
    }
}

#[test]
fn clean_configurations_of_every_client_have_no_findings() {
    let root = copy_out("clean", 0o600, "clean");
    let r = run(&[root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(findings(&json, &root), BTreeSet::new(), "{}", r.stdout);
    let clients: BTreeSet<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        clients,
        BTreeSet::from([
            "claude_code",
            "claude_desktop",
            "cursor",
            "vs_code",
            "windsurf"
        ])
    );
}

#[test]
fn every_rule_is_found_at_its_pointer_and_no_secret_is_printed() {
    let root = copy_out("dirty", 0o600, "rules");
    let r = run(&[root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let got = findings(&json, &root);
    let expected: BTreeSet<(String, String, String)> = [
        (".mcp.json", "/mcpServers/github/args/1", "runner.unpinned"),
        (
            ".mcp.json",
            "/mcpServers/github/env/GITHUB_PERSONAL_ACCESS_TOKEN",
            "secret.literal",
        ),
        (
            ".mcp.json",
            "/mcpServers/github/env/FALLBACK",
            "secret.in_default",
        ),
        (
            ".mcp.json",
            "/mcpServers/github/env/SHELL_STYLE",
            "reference.unexpanded",
        ),
        (".mcp.json", "/mcpServers/notes/url", "url.credentials"),
        (".mcp.json", "/mcpServers/notes/url", "url.plain_http"),
        (
            ".mcp.json",
            "/mcpServers/notes/headers/Authorization",
            "secret.literal",
        ),
        (".mcp.json", "/mcpServers/aws/args/0", "runner.unpinned"),
        (".mcp.json", "/mcpServers/aws/args/1", "args.dangerous_flag"),
        (
            ".mcp.json",
            "/mcpServers/aws/env/AWS_ACCESS_KEY_ID",
            "secret.literal",
        ),
        (".mcp.json", "/mcpServers/local/env", "stdio.scopes"),
        (".vscode/mcp.json", "/inputs/0/default", "secret.literal"),
        (
            ".vscode/mcp.json",
            "/servers/openai/args/5",
            "runner.unpinned",
        ),
        (
            ".vscode/mcp.json",
            "/servers/openai/env/OPENAI_API_KEY",
            "secret.literal",
        ),
        (
            ".vscode/mcp.json",
            "/servers/payments/url",
            "url.credentials",
        ),
        (
            ".vscode/mcp.json",
            "/servers/payments/headers/X-Api-Key",
            "secret.literal",
        ),
        (
            ".cursor/mcp.json",
            "/mcpServers/slack/args/1",
            "runner.unpinned",
        ),
        (
            ".cursor/mcp.json",
            "/mcpServers/slack/args/3",
            "secret.literal",
        ),
        (
            ".cursor/mcp.json",
            "/mcpServers/slack/env/SLACK_SIGNING_SECRET",
            "secret.literal",
        ),
        (
            "claude_desktop_config.json",
            "/mcpServers/internal/headers/Authorization",
            "secret.literal",
        ),
        (
            "claude_desktop_config.json",
            "/mcpServers/signer/args/0",
            "secret.literal",
        ),
        (
            "claude_desktop_config.json",
            "/mcpServers/signer/env/SIGNING_KEY",
            "secret.literal",
        ),
        (
            "mcp_config.json",
            "/mcpServers/remote/serverUrl",
            "url.credentials",
        ),
        (
            "mcp_config.json",
            "/mcpServers/remote/serverUrl",
            "url.plain_http",
        ),
    ]
    .into_iter()
    .map(|(f, p, r)| (f.to_owned(), p.to_owned(), r.to_owned()))
    .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    // Every finding says how to fix it; the server is named where there is one.
    for f in json["findings"].as_array().unwrap() {
        assert!(!f["fix"].as_str().unwrap().is_empty());
        assert!(["error", "warning"].contains(&f["severity"].as_str().unwrap()));
    }
    assert_no_secret(&r.stdout);
    assert_no_secret(&r.stderr);
    let text = run(&[root.to_str().unwrap()]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("secret.literal") && text.stdout.contains("fix:"));
    assert_no_secret(&text.stdout);
    assert_no_secret(&text.stderr);
}

#[cfg(unix)]
#[test]
fn a_file_holding_a_secret_readable_by_others_or_tracked_by_git_is_a_finding() {
    let root = copy_out("dirty", 0o644, "exposure");
    // A git work tree in which one of the files is tracked.
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let have_git = git(&["init", "-q"])
        && git(&["add", ".cursor/mcp.json"])
        && git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "x",
        ]);
    let r = run(&[root.to_str().unwrap(), "--format", "json"]);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let got = findings(&json, &root);
    for file in [".mcp.json", ".cursor/mcp.json", "mcp_config.json"] {
        assert!(
            got.contains(&(file.into(), String::new(), "file.permissions".into())),
            "{file}: {got:#?}"
        );
    }
    if have_git {
        let tracked: Vec<_> = got.iter().filter(|f| f.2 == "file.tracked").collect();
        assert_eq!(
            tracked,
            vec![&(
                ".cursor/mcp.json".to_owned(),
                String::new(),
                "file.tracked".to_owned()
            )]
        );
    }
    assert_no_secret(&r.stdout);
}

#[test]
fn files_no_client_would_read_exit_2_and_say_why() {
    let root = corpus("unreadable");
    let r = run(&[root.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("not valid JSON"), "{}", r.stdout);
    assert!(r.stdout.contains("no `mcpServers` object"), "{}", r.stdout);
    // A file named directly that is not a client configuration.
    let r = run(&[Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("Cargo.toml")
        .to_str()
        .unwrap()]);
    assert_eq!(r.code, 2);
    let r = run(&["--format", "yaml"]);
    assert_eq!(r.code, 2);
}

#[test]
fn the_search_skips_vendored_trees_and_symbolic_links() {
    let root = copy_out("dirty", 0o600, "search");
    let vendored = root.join("node_modules/pkg");
    std::fs::create_dir_all(&vendored).unwrap();
    std::fs::copy(root.join(".mcp.json"), vendored.join(".mcp.json")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(corpus("dirty"), root.join("linked")).unwrap();
    let r = run(&[root.to_str().unwrap(), "--format", "json"]);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 5, "{files:#?}");
    assert!(
        files
            .iter()
            .all(|f| !f.contains("node_modules") && !f.contains("linked"))
    );
}

/// Microsoft's SARIF validator from `tests/node` (`npm ci --prefix tests/node`), if installed.
fn sarif_validator() -> Option<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("node/node_modules/@microsoft/sarif-multitool-linux");
    let tool = dir.join("Sarif.Multitool");
    let schema = dir.join("sarif-2.1.0.json");
    if tool.is_file() && schema.is_file() {
        return Some((tool, schema));
    }
    assert!(
        std::env::var_os("MCP_SECURE_REQUIRE_CLIENTS").is_none(),
        "MCP_SECURE_REQUIRE_CLIENTS is set but the SARIF validator is not installed \
         (npm ci --prefix tests/node)"
    );
    eprintln!("skipped: the SARIF validator is not installed (npm ci --prefix tests/node)");
    None
}

#[test]
fn the_sarif_output_passes_the_sarif_validator_and_its_github_rules() {
    let Some((tool, schema)) = sarif_validator() else {
        return;
    };
    let root = copy_out("dirty", 0o600, "sarif");
    let out = Command::new(CLI)
        .current_dir(&root)
        .args(["check-clients", ".", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sarif = String::from_utf8(out.stdout).unwrap();
    assert_no_secret(&sarif);
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 24, "{sarif}");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"], "{r}");
    }
    // Locations are relative to the working directory, with the value's line.
    let slack = results
        .iter()
        .find(|r| {
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                == "/mcpServers/slack/env/SLACK_SIGNING_SECRET"
        })
        .unwrap();
    let location = &slack["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], ".cursor/mcp.json");
    assert_eq!(location["region"]["startLine"], 6);

    let file = root.join("report.sarif");
    std::fs::write(&file, &sarif).unwrap();
    let checked = root.join("validation.sarif");
    let run = Command::new(&tool)
        .arg("validate")
        .arg(&file)
        .arg("--json-schema")
        .arg(&schema)
        .args([
            "--rule-kind",
            "Sarif;Gh",
            "--log",
            "ForceOverwrite",
            "--output",
        ])
        .arg(&checked)
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{console}");
    let verdict: Value = serde_json::from_str(&std::fs::read_to_string(&checked).unwrap()).unwrap();
    let problems: Vec<String> = verdict["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| format!("{} {}", r["ruleId"], r["message"]))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{console}");
    // The validator did look: a broken log is refused by the same command.
    std::fs::write(
        &file,
        r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}"#,
    )
    .unwrap();
    Command::new(&tool)
        .arg("validate")
        .arg(&file)
        .arg("--json-schema")
        .arg(&schema)
        .args(["--log", "ForceOverwrite", "--output"])
        .arg(&checked)
        .output()
        .unwrap();
    let verdict: Value = serde_json::from_str(&std::fs::read_to_string(&checked).unwrap()).unwrap();
    assert!(
        verdict["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["level"] == "error"),
        "the validator accepted a log without a tool name"
    );
}

/// Runs `client-config` with `args` and `--format json`: file name → file contents.
fn templates(args: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Map<String, Value>) {
    let out = Command::new(CLI)
        .arg("client-config")
        .args(args)
        .args(["--format", "json"])
        .env_remove("MCP_TRANSPORT")
        .env_remove("MCP_STDIO_SCOPES")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let map = serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    (code, map)
}

#[test]
fn client_config_templates_pass_check_clients_for_every_client() {
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, usize);
    let cases: [Case<'_>; 3] = [
        (
            "http",
            vec!["--name", "notes", "--url", "https://mcp.example.com/mcp"],
            vec![],
            4,
        ),
        (
            "stdio",
            vec![
                "--name",
                "data",
                "--command",
                "/usr/local/bin/data-server",
                "--arg",
                "--quiet",
                "--scopes",
                "data:read",
            ],
            vec![],
            5,
        ),
        // From the configuration, as the server reads it.
        (
            "configured",
            vec![],
            vec![("MCP_TRANSPORT", "http"), ("MCP_DEV_AUTH", "true")],
            4,
        ),
    ];
    for (tag, args, env, files) in cases {
        let (code, map) = templates(&args, &env);
        assert_eq!(code, 0, "{tag}");
        assert_eq!(map.len(), files, "{tag}: {map:#?}");
        let root = std::env::temp_dir().join(format!(
            "mcp-secure-client-config-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (file, contents) in &map {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(contents).unwrap()).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        let r = run(&[root.to_str().unwrap(), "--format", "json"]);
        assert_eq!(r.code, 0, "{tag}: {}", r.stdout);
        let json: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(json["files"].as_array().unwrap().len(), files, "{tag}");
        assert_eq!(
            json["findings"],
            Value::Array(Vec::new()),
            "{tag}: {}",
            r.stdout
        );
        if tag == "stdio" {
            assert_eq!(
                map[".mcp.json"]["mcpServers"]["data"]["env"]["MCP_STDIO_SCOPES"],
                "data:read"
            );
        } else {
            let url = map[".vscode/mcp.json"]["servers"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()["url"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(url.ends_with("/mcp"), "{url}");
            assert!(
                !serde_json::to_string(&map)
                    .unwrap()
                    .contains("Authorization")
            );
        }
    }
    // Without scopes a stdio template is refused rather than granting everything.
    let (code, _) = templates(&["--command", "srv"], &[]);
    assert_eq!(code, 2);
    let (code, _) = templates(&[], &[]);
    assert_eq!(code, 2);
}

/// Every file of a tree, relative path → contents.
fn read_tree(root: &Path) -> std::collections::BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), out);
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                out.insert(rel, std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn fix_rewrites_only_the_secret_values_and_leaves_what_it_cannot_fix() {
    let root = copy_out("dirty", 0o600, "fix");
    let before = read_tree(&root);
    let r = run(&[root.to_str().unwrap(), "--fix", "--format", "json"]);
    assert_no_secret(&r.stdout);
    assert_no_secret(&r.stderr);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let after = read_tree(&root);

    // What was rewritten, and the variable each value is read from now.
    let fixed: BTreeSet<(String, String, Option<String>)> = json["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = Path::new(f["file"].as_str().unwrap());
            (
                file.strip_prefix(&root).unwrap().display().to_string(),
                f["pointer"].as_str().unwrap().to_owned(),
                f["variable"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let v = |s: &str| Some(s.to_owned());
    let expected: BTreeSet<(String, String, Option<String>)> = [
        (
            ".mcp.json",
            "/mcpServers/github/env/GITHUB_PERSONAL_ACCESS_TOKEN",
            v("GITHUB_PERSONAL_ACCESS_TOKEN"),
        ),
        (".mcp.json", "/mcpServers/github/env/FALLBACK", None),
        (".mcp.json", "/mcpServers/github/env/SHELL_STYLE", None),
        (
            ".mcp.json",
            "/mcpServers/notes/url",
            v("NOTES_ACCESS_TOKEN"),
        ),
        (
            ".mcp.json",
            "/mcpServers/notes/headers/Authorization",
            v("NOTES_TOKEN"),
        ),
        (
            ".mcp.json",
            "/mcpServers/aws/env/AWS_ACCESS_KEY_ID",
            v("AWS_ACCESS_KEY_ID"),
        ),
        (
            ".cursor/mcp.json",
            "/mcpServers/slack/args/3",
            v("SLACK_TOKEN"),
        ),
        (
            ".cursor/mcp.json",
            "/mcpServers/slack/env/SLACK_SIGNING_SECRET",
            v("SLACK_SIGNING_SECRET"),
        ),
        (".vscode/mcp.json", "/inputs/0/default", None),
        (
            ".vscode/mcp.json",
            "/servers/openai/env/OPENAI_API_KEY",
            v("OPENAI_API_KEY"),
        ),
        (
            ".vscode/mcp.json",
            "/servers/payments/headers/X-Api-Key",
            v("PAYMENTS_X_API_KEY"),
        ),
        (
            "mcp_config.json",
            "/mcpServers/remote/serverUrl",
            v("REMOTE_APIKEY"),
        ),
    ]
    .into_iter()
    .map(|(f, p, v)| (f.to_owned(), p.to_owned(), v))
    .collect();
    assert_eq!(fixed, expected, "{}", r.stdout);

    // Each client's own reference syntax.
    // (Parsed as JSON with comments: the VS Code file keeps its own comments and trailing
    // commas.)
    let parsed = |file: &str| -> Value {
        jsonc_parser::parse_to_serde_value(&after[file], &Default::default()).unwrap()
    };
    assert_eq!(
        parsed(".mcp.json")["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "${GITHUB_PERSONAL_ACCESS_TOKEN}"
    );
    assert_eq!(
        parsed(".mcp.json")["mcpServers"]["github"]["env"]["FALLBACK"],
        "${GH_TOKEN}"
    );
    assert_eq!(
        parsed(".mcp.json")["mcpServers"]["github"]["env"]["SHELL_STYLE"],
        "${GITHUB_TOKEN}"
    );
    assert_eq!(
        parsed(".mcp.json")["mcpServers"]["notes"]["headers"]["Authorization"],
        "Bearer ${NOTES_TOKEN}"
    );
    assert_eq!(
        parsed(".cursor/mcp.json")["mcpServers"]["slack"]["args"][3],
        "${env:SLACK_TOKEN}"
    );
    assert_eq!(
        parsed(".vscode/mcp.json")["servers"]["openai"]["env"]["OPENAI_API_KEY"],
        "${env:OPENAI_API_KEY}"
    );
    assert_eq!(
        parsed("mcp_config.json")["mcpServers"]["remote"]["serverUrl"],
        "http://remote.example.com/mcp?apikey=${env:REMOTE_APIKEY}"
    );

    // The diff touches only the secret values: every other line is byte for byte the same
    // (comments, trailing commas, key order, spacing), and each changed line held a value
    // that was rewritten.
    for (file, old) in &before {
        let new = &after[file];
        assert_eq!(old.lines().count(), new.lines().count(), "{file}");
        for (a, b) in old.lines().zip(new.lines()) {
            if a != b {
                assert!(
                    SECRETS.iter().any(|s| a.contains(s)) || a.contains("$GITHUB_TOKEN"),
                    "{file}: a line without a secret changed:\n-{a}\n+{b}"
                );
                // Within the line, only the inside of one string changed.
                let prefix = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                let suffix = a[prefix..]
                    .bytes()
                    .rev()
                    .zip(b[prefix..].bytes().rev())
                    .take_while(|(x, y)| x == y)
                    .count();
                let (old_mid, new_mid) =
                    (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
                assert!(
                    !old_mid.contains('"') && !new_mid.contains('"'),
                    "{file}: more than a string's contents changed:\n-{a}\n+{b}"
                );
            }
        }
    }
    assert!(after[".vscode/mcp.json"].starts_with("// Comments are fine here"));
    // No secret is left in any file fixed; Claude Desktop's is untouched (it expands nothing).
    for file in [
        ".mcp.json",
        ".cursor/mcp.json",
        ".vscode/mcp.json",
        "mcp_config.json",
    ] {
        for secret in SECRETS {
            if *secret != "hunter2hunter2" {
                assert!(!after[file].contains(secret), "{file} still holds a secret");
            }
        }
    }
    assert_eq!(
        after["claude_desktop_config.json"],
        before["claude_desktop_config.json"]
    );
    assert!(
        json["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Claude Desktop expands no references"),
        "{}",
        r.stdout
    );

    // What is left: exactly what --fix does not rewrite.
    let left = findings(&json, &root);
    let expected_left: BTreeSet<(String, String, String)> = [
        (".mcp.json", "/mcpServers/github/args/1", "runner.unpinned"),
        (".mcp.json", "/mcpServers/notes/url", "url.plain_http"),
        (".mcp.json", "/mcpServers/aws/args/0", "runner.unpinned"),
        (".mcp.json", "/mcpServers/aws/args/1", "args.dangerous_flag"),
        (".mcp.json", "/mcpServers/local/env", "stdio.scopes"),
        (
            ".vscode/mcp.json",
            "/servers/openai/args/5",
            "runner.unpinned",
        ),
        (
            ".vscode/mcp.json",
            "/servers/payments/url",
            "url.credentials",
        ),
        (
            ".cursor/mcp.json",
            "/mcpServers/slack/args/1",
            "runner.unpinned",
        ),
        (
            "claude_desktop_config.json",
            "/mcpServers/internal/headers/Authorization",
            "secret.literal",
        ),
        (
            "claude_desktop_config.json",
            "/mcpServers/signer/args/0",
            "secret.literal",
        ),
        (
            "claude_desktop_config.json",
            "/mcpServers/signer/env/SIGNING_KEY",
            "secret.literal",
        ),
        (
            "mcp_config.json",
            "/mcpServers/remote/serverUrl",
            "url.plain_http",
        ),
    ]
    .into_iter()
    .map(|(f, p, r)| (f.to_owned(), p.to_owned(), r.to_owned()))
    .collect();
    let missing: Vec<_> = expected_left.difference(&left).collect();
    let extra: Vec<_> = left.difference(&expected_left).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert_eq!(r.code, 1);

    // Backups: the originals, readable by their owner only.
    let backups = json["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 4);
    for b in backups {
        let b = Path::new(b.as_str().unwrap());
        let rel = b.strip_prefix(&root).unwrap().display().to_string();
        let original = rel.trim_end_matches(".mcp-secure.bak");
        assert_eq!(after[&rel], before[original]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(b).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    // A second run finds nothing more to rewrite and writes no backup.
    let again = run(&[root.to_str().unwrap(), "--fix", "--format", "json"]);
    let again: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(again["fixed"], Value::Array(Vec::new()));
    assert_eq!(read_tree(&root), after);
}

#[test]
fn fix_refuses_files_no_client_would_read_and_writes_nothing() {
    let root = copy_out("unreadable", 0o600, "fix-refused");
    let before = read_tree(&root);
    let r = run(&[root.to_str().unwrap(), "--fix"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("not rewritten"), "{}", r.stdout);
    assert_eq!(read_tree(&root), before, "a file was written");
}

/// A server that names its metadata only in the challenge of an unauthenticated request
/// (RFC 9728 section 5.1), at a path of its own.
async fn challenge_only_server() -> (String, tokio::task::JoinHandle<()>) {
    use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::get};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = format!("{base}/meta/mcp");
    let issuer = format!("{base}/issuer");
    let resource = format!("{base}/mcp");
    let app = Router::new()
        .route(
            "/mcp",
            get(move || {
                let meta = meta.clone();
                async move {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(
                            "www-authenticate",
                            format!("Bearer resource_metadata=\"{meta}\""),
                        )],
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/meta/mcp",
            get(move || {
                let doc =
                    serde_json::json!({"resource": resource, "authorization_servers": [issuer]});
                async move { Json(doc) }
            }),
        );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

#[tokio::test]
async fn online_a_static_authorization_header_for_a_server_that_speaks_oauth_is_a_finding() {
    use mcp_secure_tests::oauth::{Stack, StackOptions};
    let stack = Stack::start(StackOptions::default()).await;
    let (challenge_base, task) = challenge_only_server().await;
    let root =
        std::env::temp_dir().join(format!("mcp-secure-clients-online-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let config = serde_json::json!({"mcpServers": {
        // Our own resource server: metadata at the path-inserted well-known URI.
        "data": {"type": "http", "url": stack.mcp_url,
                 "headers": {"Authorization": "Bearer ${DATA_TOKEN}"}},
        // Metadata named only by the 401 challenge.
        "challenged": {"type": "http", "url": format!("{challenge_base}/mcp"),
                       "headers": {"authorization": "Bearer ${OTHER_TOKEN}"}},
        // No metadata anywhere (the stub authorization server publishes none for a resource).
        "plain": {"type": "http", "url": format!("{}/mcp", stack.auth.issuer().trim_end_matches('/')),
                  "headers": {"Authorization": "Bearer ${PLAIN_TOKEN}"}},
        // Speaks OAuth, but no static header: nothing to say.
        "good": {"type": "http", "url": stack.mcp_url},
    }});
    let path = root.join(".mcp.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let cli = |online: bool| {
        let root = root.clone();
        async move {
            let mut c = tokio::process::Command::new(CLI);
            c.arg("check-clients").arg(&root).args(["--format", "json"]);
            if online {
                c.arg("--online");
            }
            let out = c.output().await.unwrap();
            let json: Value = serde_json::from_slice(&out.stdout).unwrap();
            (out.status.code(), findings(&json, &root))
        }
    };
    // Off by default: nothing is contacted, nothing found.
    let (code, offline) = cli(false).await;
    assert_eq!(code, Some(0));
    assert_eq!(offline, BTreeSet::new());
    let (code, got) = cli(true).await;
    assert_eq!(code, Some(0), "a warning");
    let expected: BTreeSet<(String, String, String)> = [
        "/mcpServers/data/headers/Authorization",
        "/mcpServers/challenged/headers/authorization",
    ]
    .into_iter()
    .map(|p| {
        (
            ".mcp.json".to_owned(),
            p.to_owned(),
            "auth.static_header".to_owned(),
        )
    })
    .collect();
    assert_eq!(got, expected);
    task.abort();
    stack.stop().await;
}
