//! `mcp-secure check-clients --fix`: rewrites literal secrets into the client's reference
//! syntax, touching nothing but those string values.
//!
//! Each file is parsed as its client reads it; the byte range of every string to rewrite is
//! taken from the parser's syntax tree, and only those ranges are replaced, so comments,
//! whitespace, key order and every other value stay byte for byte. The result is parsed again
//! and must equal the original with exactly the planned values changed, or nothing is written.
//! The original is kept beside the file (mode 600: it still holds the secrets) and the new
//! text replaces the file atomically (a temporary file in the same directory, synced, renamed).

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    path::{Path, PathBuf},
};

use serde::Serialize;
use serde_json::Value;

use super::{BARE, ClientKind, Finding, KNOWN, REFERENCE, Report, check_value, parse, scan};

/// One value rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fixed {
    /// The file.
    pub file: PathBuf,
    /// The server entry, when the value is in one.
    pub server: Option<String>,
    /// RFC 6901 pointer to the rewritten value.
    pub pointer: String,
    /// The environment variable the client now reads the secret from (`None` when the fix
    /// only removed a secret, as a default's).
    pub variable: Option<String>,
}

/// A file `--fix` left as it was, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// The file.
    pub file: PathBuf,
    /// Why (never a secret).
    pub reason: String,
}

/// What `--fix` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FixReport {
    /// Every value rewritten.
    pub fixed: Vec<Fixed>,
    /// Where each rewritten file's original was kept (mode 600: it still holds the secrets).
    pub backups: Vec<PathBuf>,
    /// Files not rewritten.
    pub refused: Vec<Refused>,
    /// The scan after the rewrite: what is left.
    #[serde(flatten)]
    pub report: Report,
}

impl FixReport {
    /// Like [`Report::exit_code`], of what is left; 2 as well when a file was refused because
    /// it could not be read.
    pub fn exit_code(&self) -> u8 {
        self.report.exit_code()
    }
}

/// How `client` spells a reference to the environment variable `name`: Claude Code
/// `${NAME}`; Cursor, VS Code and Windsurf `${env:NAME}`. Claude Desktop expands nothing in
/// its file.
pub fn reference(client: ClientKind, name: &str) -> Option<String> {
    match client {
        ClientKind::ClaudeCode => Some(format!("${{{name}}}")),
        ClientKind::Cursor | ClientKind::VsCode | ClientKind::Windsurf => {
            Some(format!("${{env:{name}}}"))
        }
        ClientKind::ClaudeDesktop => None,
    }
}

/// Rewrites the literal secrets of `files`, then scans them again.
pub fn fix(files: &[PathBuf]) -> FixReport {
    let mut out = FixReport::default();
    let mut names = Names::default();
    for path in files {
        match fix_file(path, &mut names) {
            Ok(Some((fixed, backup))) => {
                out.fixed.extend(fixed);
                out.backups.push(backup);
            }
            Ok(None) => {}
            Err(reason) => out.refused.push(Refused {
                file: path.clone(),
                reason,
            }),
        }
    }
    out.report = scan(files);
    out
}

/// Variable names handed out in this run, with the value each stands for (in memory only),
/// so two different secrets never share a name and one secret used twice keeps one.
#[derive(Default)]
struct Names {
    taken: HashMap<String, String>,
}

impl Names {
    fn name_for(&mut self, wanted: &str, server: Option<&str>, secret: &str) -> String {
        let mut candidates = vec![wanted.to_owned()];
        if let Some(server) = server {
            let prefixed = sanitize(&format!("{server}_{wanted}"));
            if prefixed != wanted {
                candidates.push(prefixed);
            }
        }
        for name in &candidates {
            match self.taken.get(name) {
                Some(v) if v == secret => return name.clone(),
                Some(_) => continue,
                None => {
                    self.taken.insert(name.clone(), secret.to_owned());
                    return name.clone();
                }
            }
        }
        let base = candidates.last().cloned().unwrap_or_default();
        let mut n = 2;
        loop {
            let name = format!("{base}_{n}");
            match self.taken.get(&name) {
                Some(v) if v == secret => return name,
                Some(_) => n += 1,
                None => {
                    self.taken.insert(name.clone(), secret.to_owned());
                    return name;
                }
            }
        }
    }
}

/// An environment variable name from free text: upper-case letters, digits and `_`.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    match out.chars().next() {
        None => "SECRET".into(),
        Some(c) if c.is_ascii_digit() => format!("MCP_{out}"),
        Some(_) => out,
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// RFC 6901 tokens of `pointer`.
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// One planned rewrite.
struct Edit {
    pointer: String,
    server: Option<String>,
    new: String,
    variable: Option<String>,
}

fn fix_file(path: &Path, names: &mut Names) -> Result<Option<(Vec<Fixed>, PathBuf)>, String> {
    let client = ClientKind::of(path)
        .ok_or_else(|| "not a known MCP client configuration file name".to_owned())?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {}", e.kind()))?;
    let value = parse(&text, client).map_err(|why| format!("not rewritten: {why}"))?;
    let mut findings = Vec::new();
    check_value(path, client, &value, &mut findings)
        .map_err(|why| format!("not rewritten: {why}"))?;
    let fixable: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            matches!(
                f.rule,
                "secret.literal" | "secret.in_default" | "url.credentials" | "reference.unexpanded"
            )
        })
        .collect();
    if fixable.is_empty() {
        return Ok(None);
    }
    // Plan: one edit per pointer, every finding at that pointer taken into account.
    let mut by_pointer: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &fixable {
        by_pointer.entry(f.pointer.as_str()).or_default().push(f);
    }
    let mut edits = Vec::new();
    for (pointer, found) in by_pointer {
        let Some(old) = value.pointer(pointer).and_then(Value::as_str) else {
            continue;
        };
        let server = found.first().and_then(|f| f.server.clone());
        if let Some(edit) = plan(client, &value, pointer, server, old, &found, names) {
            edits.push(edit);
        }
    }
    if edits.is_empty() {
        if client == ClientKind::ClaudeDesktop {
            return Err(
                "not rewritten: Claude Desktop expands no references in its file; move the secret \
                 into the server's own configuration or a secret store it reads"
                    .into(),
            );
        }
        return Ok(None);
    }
    let new_text = apply(&text, client, &edits)?;
    // The result must be the same document with exactly the planned values changed.
    let mut expected = value.clone();
    for e in &edits {
        if let Some(slot) = expected.pointer_mut(&e.pointer) {
            *slot = Value::String(e.new.clone());
        }
    }
    match parse(&new_text, client) {
        Ok(got) if got == expected => {}
        _ => return Err("not rewritten: the rewrite would not read back as planned".into()),
    }
    let backup = write_backup(path, &text)?;
    replace_atomically(path, &new_text)?;
    let fixed = edits
        .into_iter()
        .map(|e| Fixed {
            file: path.to_owned(),
            server: e.server,
            pointer: e.pointer,
            variable: e.variable,
        })
        .collect();
    Ok(Some((fixed, backup)))
}

/// The new value of the string at `pointer`, or `None` when `--fix` cannot rewrite it.
fn plan(
    client: ClientKind,
    doc: &Value,
    pointer: &str,
    server: Option<String>,
    old: &str,
    found: &[&Finding],
    names: &mut Names,
) -> Option<Edit> {
    let toks = tokens(pointer);
    let mut new = old.to_owned();
    let mut variable = None;
    // `${VAR:-secret}`: drop the default, keep the reference.
    if found.iter().any(|f| f.rule == "secret.in_default") {
        new = REFERENCE
            .replace_all(&new, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                match caps.get(2) {
                    Some(_) => match whole.split_once(":-") {
                        Some((head, _)) => format!("{head}}}"),
                        None => whole.to_owned(),
                    },
                    None => whole.to_owned(),
                }
            })
            .into_owned();
    }
    // A bare `$VAR`, which no client expands: written in the client's syntax.
    if found.iter().any(|f| f.rule == "reference.unexpanded")
        && let Some(_) = reference(client, "X")
    {
        new = BARE
            .replace_all(&new, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                reference(client, &whole[1..]).unwrap_or_else(|| whole.to_owned())
            })
            .into_owned();
    }
    // VS Code's prompted input: the default is emptied, the prompt asks for the value.
    if toks.first().map(String::as_str) == Some("inputs") {
        return (found.iter().any(|f| f.rule == "secret.literal")).then(|| Edit {
            pointer: pointer.to_owned(),
            server,
            new: String::new(),
            variable: None,
        });
    }
    let literal = found.iter().any(|f| f.rule == "secret.literal");
    let in_url = found.iter().any(|f| f.rule == "url.credentials");
    if literal || in_url {
        // Everything below needs the client's reference syntax.
        reference(client, "X")?;
        let section = toks.get(2).map(String::as_str).unwrap_or_default();
        let key = toks.get(3).map(String::as_str).unwrap_or_default();
        let srv = server.as_deref();
        if in_url {
            let (rewritten, var) = rewrite_query(client, &new, srv, names)?;
            new = rewritten;
            variable = var;
        } else {
            let (prefix, secret) = split_secret(section, key, &new)?;
            let wanted = match section {
                "env" if is_env_name(key) => key.to_owned(),
                "headers" if key.eq_ignore_ascii_case("authorization") => {
                    sanitize(&format!("{}_TOKEN", srv.unwrap_or("MCP")))
                }
                "args" => {
                    // `--flag=value`, or `--flag` `value`: the flag names it.
                    let previous = key
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| i.checked_sub(1))
                        .and_then(|i| {
                            let head = pointer.rsplit_once('/').map_or("", |(h, _)| h);
                            doc.pointer(&format!("{head}/{i}"))
                        })
                        .and_then(Value::as_str)
                        .filter(|p| p.starts_with('-'))
                        .map(|p| p.trim_start_matches('-'));
                    match arg_flag(&new, previous) {
                        Some(flag) => sanitize(&format!("{}_{flag}", srv.unwrap_or("MCP"))),
                        None => sanitize(&format!("{}_ARG_{key}", srv.unwrap_or("MCP"))),
                    }
                }
                _ => sanitize(&format!("{}_{key}", srv.unwrap_or("MCP"))),
            };
            let name = names.name_for(&wanted, srv, &secret);
            let reference = reference(client, &name)?;
            new = format!("{prefix}{reference}{}", &new[prefix.len() + secret.len()..]);
            variable = Some(name);
        }
    }
    (new != old).then(|| Edit {
        pointer: pointer.to_owned(),
        server,
        new,
        variable,
    })
}

/// `--flag=value` → `flag`.
fn arg_flag<'a>(value: &'a str, previous: Option<&'a str>) -> Option<&'a str> {
    match value.split_once('=') {
        Some((flag, _)) if flag.starts_with('-') => Some(flag.trim_start_matches('-')),
        _ => previous,
    }
}

/// Splits a value into what stays in front and the secret that follows it (the secret runs
/// to the end of the value, or is one recognised token inside it). `None` when the value
/// mixes references and literal text in a way that cannot be split with confidence.
fn split_secret(section: &str, key: &str, value: &str) -> Option<(String, String)> {
    let references: Vec<(usize, usize)> = REFERENCE
        .find_iter(value)
        .map(|m| (m.start(), m.end()))
        .collect();
    let outside = |s: usize, e: usize| references.iter().all(|&(rs, re)| e <= rs || s >= re);
    // One recognised token (not a private key, which runs over several lines) outside every
    // reference: only it is replaced.
    let known: Vec<(usize, usize)> = KNOWN
        .iter()
        .filter(|(kind, _)| *kind != "private key")
        .flat_map(|(_, re)| re.find_iter(value).map(|m| (m.start(), m.end())))
        .filter(|&(s, e)| outside(s, e))
        .collect();
    if known.len() == 1
        && let Some(&(s, e)) = known.first()
        && (section == "args" || section == "headers" || references.is_empty())
        && e == value.len()
    {
        return Some((value[..s].to_owned(), value[s..e].to_owned()));
    }
    if !references.is_empty() || BARE.is_match(value) {
        return None;
    }
    let prefix = match section {
        "args" => match value.split_once('=') {
            Some((flag, _)) if flag.starts_with('-') => format!("{flag}="),
            _ => String::new(),
        },
        "headers" if key.eq_ignore_ascii_case("authorization") => match value.split_once(' ') {
            Some((scheme, rest))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !rest.trim().is_empty() =>
            {
                format!("{scheme} ")
            }
            _ => String::new(),
        },
        _ => String::new(),
    };
    let secret = value[prefix.len()..].to_owned();
    (!secret.is_empty()).then_some((prefix, secret))
}

/// Replaces the value of every token-like query parameter of a URL with a reference.
fn rewrite_query(
    client: ClientKind,
    url: &str,
    server: Option<&str>,
    names: &mut Names,
) -> Option<(String, Option<String>)> {
    let (head, rest) = url.split_once('?')?;
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let mut variable = None;
    let mut parts = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let token_like = super::TOKEN_PARAMS
            .iter()
            .any(|t| k.eq_ignore_ascii_case(t));
        if token_like && !v.is_empty() && !REFERENCE.is_match(v) {
            let wanted = sanitize(&format!("{}_{k}", server.unwrap_or("MCP")));
            let name = names.name_for(&wanted, server, v);
            parts.push(format!("{k}={}", reference(client, &name)?));
            variable = Some(name);
        } else {
            parts.push(pair.to_owned());
        }
    }
    variable.as_ref()?;
    let mut out = format!("{head}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some((out, variable))
}

/// The new text: each edit's string literal replaced (found by the syntax tree), nothing else.
fn apply(text: &str, client: ClientKind, edits: &[Edit]) -> Result<String, String> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: client.jsonc(),
        allow_trailing_commas: client.jsonc(),
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        ..jsonc_parser::ParseOptions::default()
    };
    let parsed =
        jsonc_parser::parse_to_ast(text, &jsonc_parser::CollectOptions::default(), &options)
            .map_err(|e| format!("not rewritten: {}", e.kind()))?;
    let root = parsed
        .value
        .ok_or_else(|| "not rewritten: the file is empty".to_owned())?;
    let mut ranges = Vec::new();
    for e in edits {
        let range = locate(&root, &tokens(&e.pointer))
            .ok_or_else(|| "not rewritten: a value could not be located".to_owned())?;
        let literal =
            serde_json::to_string(&e.new).map_err(|_| "not rewritten: encoding".to_owned())?;
        ranges.push((range, literal));
    }
    ranges.sort_by_key(|((start, _), _)| std::cmp::Reverse(*start));
    let mut out = text.to_owned();
    for ((start, end), literal) in ranges {
        if start > end || end > out.len() {
            return Err("not rewritten: a value could not be located".into());
        }
        out.replace_range(start..end, &literal);
    }
    Ok(out)
}

/// The byte range of the string literal at `tokens` (the last of duplicate keys, as JSON
/// readers take).
fn locate(value: &jsonc_parser::ast::Value<'_>, tokens: &[String]) -> Option<(usize, usize)> {
    use jsonc_parser::ast::Value as V;
    let Some((first, rest)) = tokens.split_first() else {
        return match value {
            V::StringLit(s) => Some((s.range.start, s.range.end)),
            _ => None,
        };
    };
    match value {
        V::Object(o) => {
            let prop = o.properties.iter().rev().find(|p| match &p.name {
                jsonc_parser::ast::ObjectPropName::String(s) => s.value == first.as_str(),
                jsonc_parser::ast::ObjectPropName::Word(w) => w.value == first.as_str(),
            })?;
            locate(&prop.value, rest)
        }
        V::Array(a) => locate(a.elements.get(first.parse::<usize>().ok()?)?, rest),
        _ => None,
    }
}

/// Keeps the original beside the file, readable by its owner only (it still holds the
/// secrets): `FILE.mcp-secure.bak`, or `.bak.2`, … when that exists.
fn write_backup(path: &Path, text: &str) -> Result<PathBuf, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 1..100 {
        let suffix = if n == 1 {
            ".mcp-secure.bak".to_owned()
        } else {
            format!(".mcp-secure.bak.{n}")
        };
        let backup = path.with_file_name(format!("{name}{suffix}"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&backup) {
            Ok(mut f) => {
                f.write_all(text.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("not rewritten: cannot write the backup: {}", e.kind()))?;
                return Ok(backup);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "not rewritten: cannot write the backup: {}",
                    e.kind()
                ));
            }
        }
    }
    Err("not rewritten: too many backups beside the file".into())
}

/// Writes `text` to a temporary file in the same directory with the original's permissions,
/// syncs it and renames it over `path`.
fn replace_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |e: std::io::Error| format!("not rewritten: {}", e.kind());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(fail)?;
    }
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_environment_variable_names_and_never_shared_by_two_secrets() {
        assert_eq!(sanitize("my-server_X-Api-Key"), "MY_SERVER_X_API_KEY");
        assert_eq!(sanitize("9lives"), "MCP_9LIVES");
        assert_eq!(sanitize("--"), "SECRET");
        let mut names = Names::default();
        assert_eq!(names.name_for("API_KEY", Some("a"), "one"), "API_KEY");
        assert_eq!(names.name_for("API_KEY", Some("b"), "one"), "API_KEY");
        assert_eq!(names.name_for("API_KEY", Some("c"), "two"), "C_API_KEY");
        assert_eq!(names.name_for("API_KEY", Some("c"), "three"), "C_API_KEY_2");
        assert_eq!(names.name_for("API_KEY", None, "four"), "API_KEY_2");
    }

    #[test]
    fn a_secret_is_split_from_what_stays() {
        let split = split_secret;
        assert_eq!(
            split("headers", "Authorization", "Bearer abc.def-123456"),
            Some(("Bearer ".into(), "abc.def-123456".into()))
        );
        assert_eq!(
            split("args", "1", "--api-key=abcdef123456"),
            Some(("--api-key=".into(), "abcdef123456".into()))
        );
        assert_eq!(
            split(
                "args",
                "2",
                "Authorization: Bearer ghp_0123456789abcdefghijABCDEFGHIJ012345"
            ),
            Some((
                "Authorization: Bearer ".into(),
                "ghp_0123456789abcdefghijABCDEFGHIJ012345".into()
            ))
        );
        // Mixed references and literal text: left for a person.
        assert_eq!(split("env", "X", "${A} literal-secret-text"), None);
        assert_eq!(split("env", "X", "$A literal"), None);
    }

    #[test]
    fn queries_keep_their_other_parameters_and_fragment() {
        let mut names = Names::default();
        let (url, var) = rewrite_query(
            ClientKind::ClaudeCode,
            "https://h.example/mcp?x=1&token=abc#top",
            Some("notes"),
            &mut names,
        )
        .unwrap();
        assert_eq!(url, "https://h.example/mcp?x=1&token=${NOTES_TOKEN}#top");
        assert_eq!(var.as_deref(), Some("NOTES_TOKEN"));
    }
}
