//! `mcp-secure check-clients`: audits MCP *client* configurations (`.mcp.json`,
//! `.cursor/mcp.json`, `.vscode/mcp.json`, `claude_desktop_config.json`, Windsurf's
//! `mcp_config.json`) for literal secrets, credentials in URLs, plain HTTP, unpinned package
//! runners, dangerous flags, loose file permissions, files tracked by git holding secrets, and
//! stdio entries of mcp-secure servers that grant the local caller every scope.
//!
//! A secret never appears in any output: a finding names its kind, its length and where it is
//! (file and JSON pointer).

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::LazyLock,
};

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

mod fix;
pub use fix::{FixReport, Fixed, Refused, fix, reference};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// Must be fixed (exit status 1).
    Error,
}

/// One thing found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file.
    pub file: PathBuf,
    /// The server entry's name, when the finding is in one.
    pub server: Option<String>,
    /// RFC 6901 pointer to the value (empty for the whole file).
    pub pointer: String,
    /// Rule id (`secret.literal`, `url.plain_http`, …).
    pub rule: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What was found (never the secret itself).
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// Which client a file configures: it decides the shape and whether comments are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Claude Code's project file `.mcp.json` (`mcpServers`, JSON).
    ClaudeCode,
    /// Cursor's `.cursor/mcp.json` (`mcpServers`, JSON).
    Cursor,
    /// VS Code's `.vscode/mcp.json` (`servers`, `inputs`; JSON with comments).
    VsCode,
    /// Claude Desktop's `claude_desktop_config.json` (`mcpServers`, JSON).
    ClaudeDesktop,
    /// Windsurf's `mcp_config.json` (`mcpServers`, JSON).
    Windsurf,
}

impl ClientKind {
    /// The client a path names, if it is a client configuration file.
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let parent = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|p| p.to_str())
            .unwrap_or_default();
        match (parent, name) {
            (_, ".mcp.json") => Some(Self::ClaudeCode),
            (".cursor", "mcp.json") => Some(Self::Cursor),
            (".vscode", "mcp.json") => Some(Self::VsCode),
            (_, "claude_desktop_config.json") => Some(Self::ClaudeDesktop),
            (_, "mcp_config.json") => Some(Self::Windsurf),
            _ => None,
        }
    }

    /// The key holding the server entries.
    fn servers_key(self) -> &'static str {
        match self {
            Self::VsCode => "servers",
            _ => "mcpServers",
        }
    }

    /// Whether the client reads the file as JSON with comments and trailing commas.
    fn jsonc(self) -> bool {
        self == Self::VsCode
    }
}

/// One file read.
#[derive(Debug, Clone, Serialize)]
pub struct ScannedFile {
    /// The file.
    pub path: PathBuf,
    /// The client it configures.
    pub client: ClientKind,
    /// Why it could not be read or understood, if so.
    pub unreadable: Option<String>,
}

/// The result of a scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Every finding, by file then pointer.
    pub findings: Vec<Finding>,
    /// Every client configuration file looked at.
    pub files: Vec<ScannedFile>,
}

impl Report {
    /// 0 clean (warnings allowed), 1 any error-level finding, 2 a file could not be read.
    pub fn exit_code(&self) -> u8 {
        if self.files.iter().any(|f| f.unreadable.is_some()) {
            2
        } else if self.findings.iter().any(|f| f.severity == Severity::Error) {
            1
        } else {
            0
        }
    }
}

/// Directories never searched.
const SKIPPED_DIRS: &[&str] = &[".git", "node_modules", "target"];

/// Client configuration files under `paths` (files as given; directories searched
/// recursively, skipping `.git`, `node_modules` and `target`; symbolic links not followed).
pub fn discover(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    for path in paths {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut out),
            Ok(_) => {
                out.insert(path.clone());
            }
            Err(_) => {
                out.insert(path.clone());
            }
        }
    }
    out.into_iter().collect()
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            let name = entry.file_name();
            if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                walk(&path, out);
            }
        } else if kind.is_file() && ClientKind::of(&path).is_some() {
            out.insert(path);
        }
    }
}

/// The per-user client configuration files that exist (Claude Desktop, Cursor, Windsurf,
/// VS Code's user `mcp.json`), under `home`.
pub fn user_locations(home: &Path) -> Vec<PathBuf> {
    [
        ".cursor/mcp.json",
        ".codeium/windsurf/mcp_config.json",
        ".config/Claude/claude_desktop_config.json",
        "Library/Application Support/Claude/claude_desktop_config.json",
        ".mcp.json",
    ]
    .iter()
    .map(|p| home.join(p))
    .filter(|p| p.is_file())
    .collect()
}

/// Scans `files` (from [`discover`]).
pub fn scan(files: &[PathBuf]) -> Report {
    let mut report = Report::default();
    let mut holding = Vec::new();
    for path in files {
        let Some(client) = ClientKind::of(path) else {
            report.files.push(ScannedFile {
                path: path.clone(),
                client: ClientKind::ClaudeCode,
                unreadable: Some("not a known MCP client configuration file name".into()),
            });
            continue;
        };
        let mut scanned = ScannedFile {
            path: path.clone(),
            client,
            unreadable: None,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => match parse(&text, client) {
                Ok(value) => match check_file(path, client, &value, &mut report.findings) {
                    Ok(true) => holding.push(path.clone()),
                    Ok(false) => {}
                    Err(why) => scanned.unreadable = Some(why),
                },
                Err(why) => scanned.unreadable = Some(why),
            },
            Err(e) => scanned.unreadable = Some(format!("cannot read: {}", e.kind())),
        }
        report.files.push(scanned);
    }
    // Git is asked once per repository for every secret-holding file in it.
    for path in tracked_by_git(&holding) {
        report.findings.push(Finding {
            file: path,
            server: None,
            pointer: String::new(),
            rule: "file.tracked",
            severity: Severity::Error,
            message: "holds a secret and is tracked by git: it is in the repository's history"
                .into(),
            fix: "move the secret out, rotate it (history keeps the old value), and keep the file \
                  free of secrets"
                .into(),
        });
    }
    report
        .findings
        .sort_by(|a, b| (&a.file, &a.pointer, a.rule).cmp(&(&b.file, &b.pointer, b.rule)));
    report
}

/// Parses `text` as `client` reads it: JSON, or JSON with comments and trailing commas.
pub fn parse(text: &str, client: ClientKind) -> Result<Value, String> {
    if client.jsonc() {
        let options = jsonc_parser::ParseOptions {
            allow_comments: true,
            allow_trailing_commas: true,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            ..jsonc_parser::ParseOptions::default()
        };
        jsonc_parser::parse_to_serde_value::<Value>(text, &options)
            .map_err(|e| format!("not valid JSON with comments: {}", e.kind()))
    } else {
        serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))
    }
}

/// RFC 6901: `~` as `~0`, `/` as `~1`.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

struct Ctx<'a> {
    file: &'a Path,
    server: Option<&'a str>,
    out: &'a mut Vec<Finding>,
}

impl Ctx<'_> {
    fn add(
        &mut self,
        pointer: String,
        rule: &'static str,
        severity: Severity,
        message: String,
        fix: &str,
    ) {
        self.out.push(Finding {
            file: self.file.to_owned(),
            server: self.server.map(str::to_owned),
            pointer,
            rule,
            severity,
            message,
            fix: fix.to_owned(),
        });
    }
}

/// Checks one parsed file and its mode; `Ok(true)` when it holds a secret (whether git
/// tracks it is asked for all such files at once, by [`tracked_by_git`]).
fn check_file(
    path: &Path,
    client: ClientKind,
    value: &Value,
    out: &mut Vec<Finding>,
) -> Result<bool, String> {
    let before = out.len();
    check_value(path, client, value, out)?;
    let holds_secret = out[before..]
        .iter()
        .any(|f| f.rule.starts_with("secret.") || f.rule == "url.credentials");
    if holds_secret {
        file_permissions(path, out);
    }
    Ok(holds_secret)
}

/// The findings of one parsed file's contents (not of the file itself: its mode and whether
/// git tracks it are [`file_permissions`]'s and [`tracked_by_git`]'s).
fn check_value(
    path: &Path,
    client: ClientKind,
    value: &Value,
    out: &mut Vec<Finding>,
) -> Result<(), String> {
    let Some(root) = value.as_object() else {
        return Err("the top level is not an object".into());
    };
    let key = client.servers_key();
    let Some(servers) = root.get(key) else {
        return Err(format!("no `{key}` object: not a shape this client reads"));
    };
    let Some(servers) = servers.as_object() else {
        return Err(format!("`{key}` is not an object"));
    };
    for (name, entry) in servers {
        let base = format!("/{key}/{}", escape(name));
        let mut ctx = Ctx {
            file: path,
            server: Some(name),
            out,
        };
        check_server(&mut ctx, &base, entry);
    }
    // VS Code's prompted inputs: a `password: true` input is the right place for a secret; a
    // default value is not.
    if let Some(inputs) = root.get("inputs").and_then(Value::as_array) {
        for (i, input) in inputs.iter().enumerate() {
            if let Some(default) = input.get("default").and_then(Value::as_str) {
                let mut ctx = Ctx {
                    file: path,
                    server: None,
                    out,
                };
                check_literal(&mut ctx, format!("/inputs/{i}/default"), "default", default);
            }
        }
    }
    Ok(())
}

fn check_server(ctx: &mut Ctx<'_>, base: &str, entry: &Value) {
    let Some(entry) = entry.as_object() else {
        return;
    };
    if let Some(env) = entry.get("env").and_then(Value::as_object) {
        for (k, v) in env {
            if let Some(v) = v.as_str() {
                check_literal(ctx, format!("{base}/env/{}", escape(k)), k, v);
            }
        }
        stdio_scopes(ctx, base, entry, env);
    }
    if let Some(headers) = entry.get("headers").and_then(Value::as_object) {
        for (k, v) in headers {
            if let Some(v) = v.as_str() {
                let pointer = format!("{base}/headers/{}", escape(k));
                if k.eq_ignore_ascii_case("authorization") && !is_reference_only(v) {
                    let (scheme, rest) = v.split_once(' ').unwrap_or(("", v));
                    ctx.add(
                        pointer,
                        "secret.literal",
                        Severity::Error,
                        format!(
                            "a literal {} credential in the Authorization header ({} characters)",
                            if scheme.is_empty() { "" } else { scheme },
                            rest.len()
                        ),
                        "reference it instead (\"Bearer ${env:TOKEN}\" or an input), or let the client \
                         obtain tokens by OAuth",
                    );
                } else {
                    check_literal(ctx, pointer, k, v);
                }
            }
        }
    }
    let args: Vec<&str> = entry
        .get("args")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (i, arg) in args.iter().enumerate() {
        let pointer = format!("{base}/args/{i}");
        // `--api-key=VALUE` / `--token VALUE`: the name is the flag.
        let (name, value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with('-') => (flag.trim_start_matches('-'), value),
            _ => {
                let prev = i
                    .checked_sub(1)
                    .and_then(|p| args.get(p))
                    .filter(|p| p.starts_with('-'))
                    .map(|p| p.trim_start_matches('-'))
                    .unwrap_or("");
                (prev, *arg)
            }
        };
        check_literal(ctx, pointer.clone(), name, value);
        if arg.starts_with("--dangerously") {
            ctx.add(
                pointer,
                "args.dangerous_flag",
                Severity::Warning,
                format!("the flag `{}` turns a safety check off", flag_name(arg)),
                "remove it unless you have read what it turns off",
            );
        }
    }
    if let Some(command) = entry.get("command").and_then(Value::as_str) {
        unpinned_runner(ctx, base, command, &args);
    }
    if let Some(url) = entry
        .get("url")
        .or_else(|| entry.get("serverUrl"))
        .and_then(Value::as_str)
    {
        let key = if entry.contains_key("url") {
            "url"
        } else {
            "serverUrl"
        };
        check_url(ctx, format!("{base}/{key}"), url);
    }
}

fn flag_name(arg: &str) -> String {
    arg.split('=')
        .next()
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect()
}

/// Compiles one of the constant patterns below (each is compiled by a unit test; one that did
/// not compile would match nothing rather than panic).
fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern)
        .or_else(|_| Regex::new(r"[^\s\S]"))
        .unwrap_or_else(|_| unreachable!("a constant pattern"))
}

/// A reference each client expands: `${VAR}`, `${env:VAR}`, `${input:id}`, `${VAR:-default}`.
static REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| compiled(r"\$\{(?:env:|input:)?([A-Za-z_][A-Za-z0-9_.\-]*)(?::-([^}]*))?\}"));

/// A bare `$VAR` (not `${...}`), which no MCP client expands.
static BARE: LazyLock<Regex> = LazyLock::new(|| compiled(r"\$[A-Za-z_][A-Za-z0-9_]*"));

fn is_reference_only(value: &str) -> bool {
    let rest = REFERENCE.replace_all(value, "");
    let rest = rest.trim();
    rest.is_empty()
        || rest.split_whitespace().all(|w| {
            matches!(
                w.to_ascii_lowercase().as_str(),
                "bearer" | "basic" | "token"
            )
        })
}

/// Known token formats: (kind, pattern).
static KNOWN: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        (
            "GitHub token",
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
        ),
        (
            "GitHub fine-grained token",
            r"\bgithub_pat_[A-Za-z0-9_]{60,}\b",
        ),
        ("GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),
        ("Slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b"),
        ("AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        ("Google API key", r"\bAIza[A-Za-z0-9_\-]{35}\b"),
        ("Anthropic API key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
        (
            "OpenAI API key",
            r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}",
        ),
        (
            "Stripe key",
            r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
        ),
        (
            "JSON Web Token",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ),
        ("private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ]
    .into_iter()
    .map(|(k, p)| (k, compiled(p)))
    .collect()
});

/// Names that say their value is a secret.
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    compiled(
        r"(?i)(token|secret|passw(or)?d|api[_\-]?key|apikey|auth|credential|private[_\-]?key|access[_\-]?key|session)",
    )
});

/// Names that look secret but are not (`AUTH_URL`, `TOKEN_FILE`, …).
static NOT_SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    compiled(
        r"(?i)(url|uri|endpoint|host|file|path|dir|issuer|audience|scope|type|method|header|mode|ttl|expires|name)$",
    )
});

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A package or image reference (`@scope/pkg@1.2.3`, `ghcr.io/org/img:1.4`), not a key:
/// base64 has `/` but never `.`, `@` or `:`.
fn package_reference(s: &str) -> bool {
    s.contains('/') && s.contains(['.', '@', ':'])
}

/// Whether `s` looks like a generated credential: long, one token, mixed classes, high
/// entropy.
fn high_entropy(s: &str) -> bool {
    let s = s.trim();
    s.len() >= 24
        && !s.contains(char::is_whitespace)
        && !s.contains("://")
        && !s.starts_with('/')
        && !package_reference(s)
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && entropy(s) >= 4.0
}

/// What kind of secret `value` holds, if any (`name` is the key or flag it is given under).
fn secret_kind(name: &str, value: &str) -> Option<&'static str> {
    if let Some((kind, _)) = KNOWN.iter().find(|(_, re)| re.is_match(value)) {
        return Some(kind);
    }
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if SECRET_NAME.is_match(name) && !NOT_SECRET_NAME.is_match(name) {
        let lower = value.to_ascii_lowercase();
        let placeholder = matches!(
            lower.as_str(),
            "true" | "false" | "none" | "null" | "changeme"
        ) || value.len() < 8
            || lower.starts_with('<')
            || lower.contains("your")
            || lower.contains("xxx");
        if !placeholder {
            return Some("secret-named value");
        }
    }
    high_entropy(value).then_some("high-entropy value")
}

/// A string value: references are fine (a default is checked like a literal), bare `$VAR`
/// is not expanded, literal secrets are findings.
fn check_literal(ctx: &mut Ctx<'_>, pointer: String, name: &str, value: &str) {
    for caps in REFERENCE.captures_iter(value) {
        if let Some(default) = caps.get(2)
            && let Some(kind) = secret_kind(name, default.as_str())
        {
            ctx.add(
                pointer.clone(),
                "secret.in_default",
                Severity::Error,
                format!(
                    "a {kind} ({} characters) as the default of a reference",
                    default.as_str().len()
                ),
                "drop the default: a reference that falls back to a literal secret still commits it",
            );
        }
    }
    let literal = REFERENCE.replace_all(value, "");
    if let Some(bare) = BARE.find(&literal) {
        ctx.add(
            pointer.clone(),
            "reference.unexpanded",
            Severity::Warning,
            format!(
                "`{}` is passed as is: MCP clients expand `${{VAR}}`, not `$VAR`",
                bare.as_str()
            ),
            "write it as ${VAR} (VS Code: ${env:VAR})",
        );
    }
    if let Some(kind) = secret_kind(name, &literal) {
        let severity = if kind == "high-entropy value" {
            Severity::Warning
        } else {
            Severity::Error
        };
        ctx.add(
            pointer,
            "secret.literal",
            severity,
            format!("a literal {kind} ({} characters)", literal.trim().len()),
            "move it to the environment or a secret store and reference it as ${VAR} \
             (VS Code: ${env:VAR} or a password input, ${input:id})",
        );
    }
}

/// Token-like query parameter names.
const TOKEN_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "auth",
    "password",
    "client_secret",
];

fn check_url(ctx: &mut Ctx<'_>, pointer: String, raw: &str) {
    if REFERENCE.is_match(raw) && url::Url::parse(raw).is_err() {
        return;
    }
    let Ok(url) = url::Url::parse(raw) else {
        ctx.add(
            pointer,
            "url.invalid",
            Severity::Warning,
            "the URL does not parse".into(),
            "write an absolute http(s) URL",
        );
        return;
    };
    if !url.username().is_empty() || url.password().is_some() {
        ctx.add(
            pointer.clone(),
            "url.credentials",
            Severity::Error,
            "credentials in the URL's user information".into(),
            "remove them from the URL; let the client authenticate by OAuth, or reference a header",
        );
    }
    for (k, v) in url.query_pairs() {
        if TOKEN_PARAMS.iter().any(|t| k.eq_ignore_ascii_case(t)) && !REFERENCE.is_match(&v) {
            ctx.add(
                pointer.clone(),
                "url.credentials",
                Severity::Error,
                format!(
                    "a credential in the query parameter `{}` ({} characters)",
                    k.chars().take(32).collect::<String>(),
                    v.len()
                ),
                "remove it from the URL: query strings end up in logs and history",
            );
        }
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        ctx.add(
            pointer,
            "url.plain_http",
            Severity::Error,
            "plain http to a host that is not loopback: tokens and results travel in clear".into(),
            "use https",
        );
    }
}

/// `npx -y pkg`, `uvx pkg`, `pipx run pkg`, `docker run image[:latest]` without a pinned
/// version.
fn unpinned_runner(ctx: &mut Ctx<'_>, base: &str, command: &str, args: &[&str]) {
    let program = Path::new(command)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(command);
    let skip_flags = |from: usize| {
        args.iter()
            .enumerate()
            .skip(from)
            .find(|(_, a)| !a.starts_with('-'))
    };
    let (index, package, pinned) = match program {
        "npx" | "bunx" | "pnpx" => match skip_flags(0) {
            Some((i, pkg)) => {
                // `@scope/name@1.2.3` or `name@1.2.3`; a bare name or `@latest` is not pinned.
                let version = pkg.trim_start_matches('@').split_once('@').map(|(_, v)| v);
                (
                    i,
                    *pkg,
                    version.is_some_and(|v| v != "latest" && !v.is_empty()),
                )
            }
            None => return,
        },
        "uvx" => match skip_flags(0) {
            Some((i, pkg)) => (i, *pkg, pkg.contains("==") || pkg.contains('@')),
            None => return,
        },
        "pipx" => match args.iter().position(|a| *a == "run") {
            Some(run) => match skip_flags(run + 1) {
                Some((i, pkg)) => (i, *pkg, pkg.contains("==")),
                None => return,
            },
            None => return,
        },
        "docker" | "podman" => match args.iter().position(|a| *a == "run") {
            Some(run) => {
                // The image: the first argument after `run` that is not an option or an
                // option's value (values of `-e`, `-v`, `--name`, … are skipped).
                let mut i = run + 1;
                let mut image = None;
                while let Some(a) = args.get(i) {
                    if a.starts_with('-') {
                        let takes_value = !a.contains('=')
                            && matches!(
                                *a,
                                "-e" | "--env"
                                    | "-v"
                                    | "--volume"
                                    | "--name"
                                    | "-p"
                                    | "--publish"
                                    | "--network"
                                    | "-w"
                                    | "--workdir"
                                    | "-u"
                                    | "--user"
                                    | "--env-file"
                                    | "--mount"
                                    | "--entrypoint"
                            );
                        i += if takes_value { 2 } else { 1 };
                        continue;
                    }
                    image = Some((i, *a));
                    break;
                }
                match image {
                    Some((i, img)) => {
                        let name = img.rsplit('/').next().unwrap_or(img);
                        let pinned = img.contains("@sha256:")
                            || name.split_once(':').is_some_and(|(_, tag)| tag != "latest");
                        (i, img, pinned)
                    }
                    None => return,
                }
            }
            None => return,
        },
        _ => return,
    };
    if !pinned {
        ctx.add(
            format!("{base}/args/{index}"),
            "runner.unpinned",
            Severity::Warning,
            format!(
                "`{program}` runs `{}` without a pinned version: whatever is published next runs \
                 with your credentials",
                package.chars().take(80).collect::<String>()
            ),
            "pin a version (npx pkg@1.2.3, uvx pkg==1.2.3, docker image:1.2.3 or @sha256:…)",
        );
    }
}

/// A stdio entry that starts an mcp-secure server (it sets one of its `MCP_*` variables)
/// without naming the local caller's scopes.
fn stdio_scopes(
    ctx: &mut Ctx<'_>,
    base: &str,
    entry: &serde_json::Map<String, Value>,
    env: &serde_json::Map<String, Value>,
) {
    if !entry.contains_key("command") || env.contains_key("MCP_STDIO_SCOPES") {
        return;
    }
    let ours = crate::config::variables();
    let is_ours = env
        .keys()
        .filter(|k| k.starts_with("MCP_") && *k != "MCP_STDIO_SCOPES")
        .any(|k| ours.iter().any(|v| v.name == *k));
    if is_ours {
        ctx.add(
            format!("{base}/env"),
            "stdio.scopes",
            Severity::Warning,
            "an mcp-secure server over stdio without MCP_STDIO_SCOPES: the local caller holds \
             every scope the server declares"
                .into(),
            "set MCP_STDIO_SCOPES to the scopes this client needs",
        );
    }
}

/// A file holding a secret readable by group or others.
fn file_permissions(path: &Path, out: &mut Vec<Finding>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o044 != 0
        {
            out.push(Finding {
                file: path.to_owned(),
                server: None,
                pointer: String::new(),
                rule: "file.permissions",
                severity: Severity::Warning,
                message: format!(
                    "holds a secret and is readable by {} (mode {:o})",
                    if meta.permissions().mode() & 0o004 != 0 {
                        "everyone"
                    } else {
                        "its group"
                    },
                    meta.permissions().mode() & 0o777
                ),
                fix: "chmod 600 it, and move the secret out".into(),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, out);
}

/// The work tree `dir` is in (the nearest ancestor holding `.git`), remembered per directory.
fn work_tree(
    dir: &Path,
    cache: &mut std::collections::HashMap<PathBuf, Option<PathBuf>>,
) -> Option<PathBuf> {
    let mut visited = Vec::new();
    let mut found = None;
    for ancestor in dir.ancestors() {
        if let Some(known) = cache.get(ancestor) {
            found = known.clone();
            break;
        }
        visited.push(ancestor.to_owned());
        if ancestor.join(".git").exists() {
            found = Some(ancestor.to_owned());
            break;
        }
    }
    for v in visited {
        cache.insert(v, found.clone());
    }
    found
}

/// Which of `files` git tracks: one `git ls-files` per work tree (and per 512 files), with
/// literal pathspecs; none when git is not installed or a file is in no work tree.
fn tracked_by_git(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut cache = std::collections::HashMap::new();
    let mut by_tree: std::collections::BTreeMap<PathBuf, Vec<(PathBuf, PathBuf)>> =
        std::collections::BTreeMap::new();
    for path in files {
        let Ok(full) = std::fs::canonicalize(path) else {
            continue;
        };
        let Some(dir) = full.parent() else {
            continue;
        };
        if let Some(tree) = work_tree(dir, &mut cache)
            && let Ok(rel) = full.strip_prefix(&tree)
        {
            by_tree
                .entry(tree.clone())
                .or_default()
                .push((rel.to_owned(), path.clone()));
        }
    }
    let mut out = Vec::new();
    for (tree, entries) in by_tree {
        for chunk in entries.chunks(512) {
            let listed = std::process::Command::new("git")
                .arg("--literal-pathspecs")
                .arg("-C")
                .arg(&tree)
                .args(["ls-files", "-z", "--"])
                .args(chunk.iter().map(|(rel, _)| rel))
                .stderr(std::process::Stdio::null())
                .output();
            let Ok(listed) = listed else {
                return out;
            };
            if !listed.status.success() {
                continue;
            }
            let tracked: BTreeSet<&[u8]> = listed
                .stdout
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .collect();
            for (rel, path) in chunk {
                if tracked.contains(rel.as_os_str().as_encoded_bytes()) {
                    out.push(path.clone());
                }
            }
        }
    }
    out
}

/// A server entry that sends a static `Authorization` header to an HTTP URL.
struct StaticHeader {
    file: PathBuf,
    server: String,
    pointer: String,
    url: url::Url,
}

/// Every entry of the readable files of `report` with a static `Authorization` header and a
/// URL without references.
fn static_headers(report: &Report) -> Vec<StaticHeader> {
    let mut out = Vec::new();
    for f in report.files.iter().filter(|f| f.unreadable.is_none()) {
        let Ok(text) = std::fs::read_to_string(&f.path) else {
            continue;
        };
        let Ok(value) = parse(&text, f.client) else {
            continue;
        };
        let key = f.client.servers_key();
        let Some(servers) = value.get(key).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in servers {
            let url = entry
                .get("url")
                .or_else(|| entry.get("serverUrl"))
                .and_then(Value::as_str)
                .filter(|u| !REFERENCE.is_match(u))
                .and_then(|u| url::Url::parse(u).ok());
            let header = entry
                .get("headers")
                .and_then(Value::as_object)
                .and_then(|h| h.keys().find(|k| k.eq_ignore_ascii_case("authorization")));
            if let (Some(url), Some(header)) = (url, header) {
                out.push(StaticHeader {
                    file: f.path.clone(),
                    server: name.clone(),
                    pointer: format!("/{key}/{}/headers/{}", escape(name), escape(header)),
                    url,
                });
            }
        }
    }
    out
}

/// At most this many distinct URLs are contacted by one `--online` run.
const MAX_ONLINE_URLS: usize = 256;

/// `--online`: a static `Authorization` header for a server that speaks OAuth (it publishes
/// RFC 9728 protected resource metadata naming an authorization server) is a finding: the
/// client would otherwise obtain its own audience-bound, refreshable, revocable tokens.
/// Only `https` URLs (or `http` to loopback) are contacted, without the header, without
/// following redirects, 5 s per request, 64 KiB per document.
pub async fn online(report: &mut Report) {
    use futures::StreamExt;
    let targets = static_headers(report);
    let mut urls: Vec<url::Url> = targets.iter().map(|t| t.url.clone()).collect();
    urls.sort();
    urls.dedup();
    urls.truncate(MAX_ONLINE_URLS);
    let client = crate::auth::fetch_client(std::time::Duration::from_secs(5));
    let speaking: std::collections::HashMap<url::Url, usize> = futures::stream::iter(urls)
        .map(|u| {
            let client = &client;
            async move {
                let n = oauth_servers(client, &u).await;
                (u, n)
            }
        })
        .buffer_unordered(8)
        .filter_map(|(u, n)| async move { n.map(|n| (u, n)) })
        .collect()
        .await;
    for t in targets {
        let Some(n) = speaking.get(&t.url) else {
            continue;
        };
        report.findings.push(Finding {
            file: t.file,
            server: Some(t.server),
            pointer: t.pointer,
            rule: "auth.static_header",
            severity: Severity::Warning,
            message: format!(
                "the server speaks OAuth (its protected resource metadata names {n} authorization \
                 server(s)): a static token bypasses the client's own authorization (no audience \
                 binding by the client, no refresh, no revocation when the client is removed)"
            ),
            fix: "remove the Authorization header: the client finds the authorization server from \
                  the metadata and obtains its own tokens"
                .into(),
        });
    }
    report
        .findings
        .sort_by(|a, b| (&a.file, &a.pointer, a.rule).cmp(&(&b.file, &b.pointer, b.rule)));
}

/// How many authorization servers the protected resource metadata of the server at `url`
/// names (RFC 9728: the well-known URI with the path inserted, then at the root, then the
/// `resource_metadata` of an unauthenticated request's challenge), if any.
async fn oauth_servers(client: &reqwest::Client, url: &url::Url) -> Option<usize> {
    let mut candidates = Vec::new();
    let path = url.path().trim_end_matches('/');
    for suffix in [path, ""] {
        let mut u = url.clone();
        u.set_path(&format!("/.well-known/oauth-protected-resource{suffix}"));
        u.set_query(None);
        u.set_fragment(None);
        if !candidates.contains(&u) {
            candidates.push(u);
        }
    }
    for u in &candidates {
        if let Some(n) = metadata_servers(client, u).await {
            return Some(n);
        }
    }
    crate::auth::fetchable(url).ok()?;
    let response = client.get(url.clone()).send().await.ok()?;
    let challenge = response
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(resource_metadata_param)?;
    let u = url::Url::parse(&challenge).ok()?;
    metadata_servers(client, &u).await
}

async fn metadata_servers(client: &reqwest::Client, u: &url::Url) -> Option<usize> {
    let doc: Value = crate::auth::fetch_json(client, u, 64 * 1024).await.ok()?;
    let n = doc
        .get("authorization_servers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|s| s.is_string()).count())?;
    (n > 0).then_some(n)
}

/// The `resource_metadata` parameter of a `WWW-Authenticate` value.
fn resource_metadata_param(header: &str) -> Option<String> {
    let at = header.find("resource_metadata=")? + "resource_metadata=".len();
    let rest = header.get(at..)?;
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    (!value.is_empty()).then(|| value.to_owned())
}

/// The report as text, one finding per line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.files {
        if let Some(why) = &f.unreadable {
            out.push_str(&format!("{}: unreadable: {why}\n", f.path.display()));
        }
    }
    for f in &report.findings {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let server = f
            .server
            .as_deref()
            .map(|s| format!(" [{}]", s.escape_default()))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}:{}{server} {severity} {}: {}\n    fix: {}\n",
            f.file.display(),
            if f.pointer.is_empty() { "" } else { &f.pointer },
            f.rule,
            f.message,
            f.fix
        ));
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    out.push_str(&format!(
        "{} file(s), {} finding(s), {errors} error(s)\n",
        report.files.len(),
        report.findings.len()
    ));
    out
}

/// The report as JSON: `{"findings": [...], "files": [...]}`.
pub fn render_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// How a client reaches the server a template is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Streamable HTTP at this URL (the client obtains tokens by OAuth: no static header).
    Http(String),
    /// A local process over stdio, granted these scopes.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// `MCP_STDIO_SCOPES`.
        scopes: String,
    },
}

/// Where each client reads its configuration from, relative to the project (or, for Claude
/// Desktop and Windsurf, the per-user file).
pub fn config_file(client: ClientKind) -> &'static str {
    match client {
        ClientKind::ClaudeCode => ".mcp.json",
        ClientKind::Cursor => ".cursor/mcp.json",
        ClientKind::VsCode => ".vscode/mcp.json",
        ClientKind::ClaudeDesktop => "claude_desktop_config.json",
        ClientKind::Windsurf => "mcp_config.json",
    }
}

/// A clean configuration file for `client` with one entry, `name`, reaching `endpoint`; `None`
/// where the client's file cannot express it (Claude Desktop's file starts local servers only).
pub fn template(client: ClientKind, name: &str, endpoint: &Endpoint) -> Option<Value> {
    use serde_json::json;
    let entry = match endpoint {
        Endpoint::Http(url) => match client {
            ClientKind::ClaudeCode | ClientKind::VsCode => json!({"type": "http", "url": url}),
            ClientKind::Cursor => json!({"url": url}),
            ClientKind::Windsurf => json!({"serverUrl": url}),
            ClientKind::ClaudeDesktop => return None,
        },
        Endpoint::Stdio {
            command,
            args,
            scopes,
        } => {
            let mut entry = json!({
                "command": command,
                "args": args,
                "env": {"MCP_STDIO_SCOPES": scopes},
            });
            if matches!(client, ClientKind::ClaudeCode | ClientKind::VsCode) {
                entry["type"] = json!("stdio");
            }
            entry
        }
    };
    Some(json!({ client.servers_key(): { name: entry } }))
}

/// Every client kind, in the order templates are printed.
pub const CLIENTS: &[ClientKind] = &[
    ClientKind::ClaudeCode,
    ClientKind::Cursor,
    ClientKind::VsCode,
    ClientKind::ClaudeDesktop,
    ClientKind::Windsurf,
];

/// What each rule looks for, for SARIF's rule list.
const RULES: &[(&str, &str, &str)] = &[
    (
        "secret.literal",
        "A literal secret in a client configuration",
        "Move the secret to the environment or a secret store and reference it (${VAR}; VS Code: ${env:VAR} or a password input, ${input:id}); rotate it if the file was ever shared.",
    ),
    (
        "secret.in_default",
        "A literal secret as the default of a reference",
        "Drop the default: ${VAR:-secret} still writes the secret into the file.",
    ),
    (
        "reference.unexpanded",
        "A bare $VAR that MCP clients do not expand",
        "Write ${VAR} (VS Code: ${env:VAR}); a bare $VAR reaches the server as those characters.",
    ),
    (
        "url.credentials",
        "Credentials in a server URL",
        "Remove user information and token parameters from the URL; let the client authenticate by OAuth or send a referenced header.",
    ),
    (
        "url.plain_http",
        "Plain HTTP to a host that is not loopback",
        "Use https: tokens and tool results would otherwise travel in clear.",
    ),
    (
        "url.invalid",
        "A server URL that does not parse",
        "Write an absolute http(s) URL.",
    ),
    (
        "runner.unpinned",
        "A package runner without a pinned version",
        "Pin a version (npx pkg@1.2.3, uvx pkg==1.2.3, docker image:1.2.3 or @sha256:...): whatever is published next would run with your credentials.",
    ),
    (
        "args.dangerous_flag",
        "A flag that turns a safety check off",
        "Remove --dangerously-* flags unless you have read what they turn off.",
    ),
    (
        "file.permissions",
        "A file holding a secret readable by group or others",
        "chmod 600 the file, and move the secret out of it.",
    ),
    (
        "file.tracked",
        "A file holding a secret tracked by git",
        "Move the secret out, rotate it (the history keeps the old value) and keep the file free of secrets.",
    ),
    (
        "stdio.scopes",
        "An mcp-secure stdio server without MCP_STDIO_SCOPES",
        "Set MCP_STDIO_SCOPES to the scopes this client needs; unset, the local caller holds every scope the server declares.",
    ),
    (
        "auth.static_header",
        "A static Authorization header for a server that speaks OAuth (--online)",
        "Remove the header: the server publishes protected resource metadata (RFC 9728), from which the client finds the authorization server and obtains its own audience-bound tokens.",
    ),
];

/// The 1-based line of the value at `pointer` in `text`: each key of the pointer is looked
/// for after the previous one (array indices keep the line of their array's key).
fn line_of(text: &str, pointer: &str) -> usize {
    let mut at = 0;
    for token in pointer.split('/').skip(1) {
        if token.parse::<usize>().is_ok() {
            continue;
        }
        let key = token.replace("~1", "/").replace("~0", "~");
        let quoted = serde_json::to_string(&key).unwrap_or_default();
        if let Some(found) = text.get(at..).and_then(|rest| rest.find(&quoted)) {
            at += found;
        }
    }
    text.get(..at)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// The report as SARIF 2.1.0 (for GitHub code scanning): one run, a rule per rule id, a
/// result per finding with the file (relative to `base` when under it), its line and the
/// JSON pointer as a logical location.
pub fn render_sarif(report: &Report, base: &Path) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, text, help)| {
            serde_json::json!({
                "id": id,
                "name": id.replace('.', "_"),
                "shortDescription": {"text": text},
                "fullDescription": {"text": format!("{text}.")},
                "help": {"text": help},
                "helpUri": format!(
                    "{}#mcp-secure-check-clients-the-client-side",
                    env!("CARGO_PKG_REPOSITORY")
                ),
            })
        })
        .collect();
    let mut texts = std::collections::HashMap::new();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let uri = f
                .file
                .strip_prefix(base)
                .unwrap_or(&f.file)
                .components()
                .filter(|c| *c != std::path::Component::CurDir)
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let text = texts
                .entry(f.file.clone())
                .or_insert_with(|| std::fs::read_to_string(&f.file).unwrap_or_default());
            let line = line_of(text, &f.pointer);
            let mut location = serde_json::json!({
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": line},
                },
            });
            if !f.pointer.is_empty() {
                location["logicalLocations"] =
                    serde_json::json!([{"fullyQualifiedName": f.pointer, "kind": "object"}]);
            }
            serde_json::json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|(id, _, _)| *id == f.rule).unwrap_or(0),
                "level": match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "message": {"text": format!("{}. Fix: {}.", f.message, f.fix.trim_end_matches('.'))},
                "locations": [location],
            })
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mcp-secure check-clients",
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_is_read_from_a_challenge() {
        assert_eq!(
            resource_metadata_param(
                r#"Bearer resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp", scope="x""#
            )
            .as_deref(),
            Some("https://a.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            resource_metadata_param("Bearer resource_metadata=https://a.example/m, error=x")
                .as_deref(),
            Some("https://a.example/m")
        );
        assert_eq!(resource_metadata_param("Bearer realm=\"x\""), None);
        assert_eq!(
            resource_metadata_param("Bearer resource_metadata=\"\""),
            None
        );
    }

    #[test]
    fn references_are_fine_and_defaults_are_checked() {
        assert!(is_reference_only("${env:GITHUB_TOKEN}"));
        assert!(is_reference_only("Bearer ${input:token}"));
        assert!(!is_reference_only("Bearer abc"));
        assert_eq!(
            secret_kind("GITHUB_TOKEN", "${GITHUB_TOKEN}"),
            Some("secret-named value")
        );
        // check_literal strips references before judging.
        let mut out = Vec::new();
        let mut ctx = Ctx {
            file: Path::new("x/.mcp.json"),
            server: Some("s"),
            out: &mut out,
        };
        check_literal(&mut ctx, "/p".into(), "GITHUB_TOKEN", "${GITHUB_TOKEN}");
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn every_pattern_compiles() {
        for (kind, pattern) in [
            REFERENCE.as_str(),
            BARE.as_str(),
            SECRET_NAME.as_str(),
            NOT_SECRET_NAME.as_str(),
        ]
        .into_iter()
        .map(|p| ("", p))
        .chain(KNOWN.iter().map(|(k, re)| (*k, re.as_str())))
        {
            assert_ne!(pattern, r"[^\s\S]", "{kind}");
        }
    }

    #[test]
    fn entropy_tells_keys_from_words() {
        assert!(high_entropy("q8Zr2LkP0vX7mN4tB1sY9wE3"));
        assert!(!high_entropy("this-is-a-fine-name-for-a-thing"));
        assert!(!high_entropy("/usr/local/share/some/long/path1"));
    }
}
