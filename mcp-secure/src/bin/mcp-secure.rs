//! `mcp-secure`: the command-line companion of the mcp-secure framework.
//!
//! ```text
//! mcp-secure check [--config FILE] [--tools FILE] [--offline] [--json]
//! mcp-secure check-clients [PATH...] [--fix] [--online] [--format text|json|sarif]
//! mcp-secure client-config [--name NAME] [--url URL | --command PROGRAM [--arg A]...] [--scopes S] [--format text|json]
//! mcp-secure env
//! ```
//!
//! `check` loads and validates the configuration (the file, then the environment, as the
//! server does), fetches the authorization server's metadata and JWKS when one is configured,
//! and prints the security checklist: pass / warn / fail per line, exit status 1 on any fail.
//!
//! `check-clients` audits MCP client configurations (`.mcp.json`, `.cursor/mcp.json`,
//! `.vscode/mcp.json`, `claude_desktop_config.json`, Windsurf's `mcp_config.json`): exit 0
//! clean, 1 on an error-level finding, 2 when a file cannot be read or understood.

use std::{io::Write, path::PathBuf, process::ExitCode};

use mcp_secure::{check, config::SecureConfig};

const USAGE: &str = "usage: mcp-secure check [--config FILE] [--tools FILE] [--offline] [--json]
       mcp-secure check-clients [PATH...] [--fix] [--online] [--format text|json|sarif]
       mcp-secure client-config [--name NAME] [--url URL | --command PROGRAM [--arg A]...]
                                [--scopes SCOPES] [--format text|json]
       mcp-secure env      (every environment variable the configuration reads, as Markdown)

  --config FILE   a JSON or TOML configuration file (default: $MCP_CONFIG, else none)
  --tools FILE    a tools/list result of the server, to check each tool's scopes and rate
  --offline       do not contact the authorization server or Redis
  --json          machine-readable output

check-clients: PATHs are files or directories (searched recursively, skipping .git,
node_modules and target, not following symbolic links); none: the current directory and the
per-user client configurations that exist. Exit 0 clean, 1 error findings, 2 unreadable.
--fix rewrites literal secrets into the client's reference syntax (${VAR}; Cursor, VS Code,
Windsurf: ${env:VAR}), changing nothing else in the file; keeps the original beside it
(FILE.mcp-secure.bak, mode 600) and prints the variable names to set, never the values.
--online fetches the protected resource metadata (RFC 9728) of each server sent a static
Authorization header: one that speaks OAuth should get none (off by default).

client-config: a clean entry for this server in each client's file. Over HTTP (--url, or
MCP_TRANSPORT=http from the configuration: the resource URL) with no static token; over stdio
(--command) with MCP_STDIO_SCOPES (--scopes, or the configuration's).";

/// `client-config`: prints a clean entry for this server for each client.
fn client_config(args: &[String]) -> ExitCode {
    use mcp_secure::check::clients::{self, Endpoint};
    let usage = |why: &str| {
        eprintln!("mcp-secure: {why}\n{USAGE}");
        ExitCode::from(2)
    };
    let (mut name, mut url, mut command, mut scopes) = ("server".to_owned(), None, None, None);
    let (mut program_args, mut json) = (Vec::new(), false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or(format!("{flag} needs a value"));
        let got = match arg.as_str() {
            "--name" => value("--name").map(|v| name = v),
            "--url" => value("--url").map(|v| url = Some(v)),
            "--command" => value("--command").map(|v| command = Some(v)),
            "--arg" => value("--arg").map(|v| program_args.push(v)),
            "--scopes" => value("--scopes").map(|v| scopes = Some(v)),
            "--format" => value("--format").and_then(|v| match v.as_str() {
                "json" | "text" => {
                    json = v == "json";
                    Ok(())
                }
                _ => Err("--format takes text or json".into()),
            }),
            other => Err(format!("unknown option `{}`", other.escape_default())),
        };
        if let Err(why) = got {
            return usage(&why);
        }
    }
    let config = SecureConfig::loader().load().ok();
    let endpoint = match (url, command) {
        (Some(_), Some(_)) => return usage("give --url or --command, not both"),
        (Some(url), None) => Endpoint::Http(url),
        (None, Some(command)) => {
            let scopes = scopes.or_else(|| {
                config
                    .as_ref()
                    .and_then(|c| c.stdio.scopes.as_ref())
                    .map(ToString::to_string)
            });
            let Some(scopes) = scopes else {
                return usage(
                    "name the scopes the local caller gets (--scopes, or MCP_STDIO_SCOPES): \
                     without them it would hold every scope the server declares",
                );
            };
            Endpoint::Stdio {
                command,
                args: program_args,
                scopes,
            }
        }
        (None, None) => match config
            .as_ref()
            .filter(|c| c.transport == mcp_secure::config::TransportKind::Http)
        {
            Some(c) => Endpoint::Http(
                c.oauth
                    .resource()
                    .map_or_else(|| format!("http://{}/mcp", c.http.addr), str::to_owned),
            ),
            None => {
                return usage(
                    "give --url (a server over HTTP) or --command (a server over stdio), or \
                     configure MCP_TRANSPORT=http",
                );
            }
        },
    };
    let mut out = String::new();
    let mut all = serde_json::Map::new();
    for client in clients::CLIENTS {
        let file = clients::config_file(*client);
        match clients::template(*client, &name, &endpoint) {
            Some(t) => {
                if !json {
                    out.push_str(&format!(
                        "# {client:?}: {file}\n{}\n\n",
                        serde_json::to_string_pretty(&t).unwrap_or_default()
                    ));
                }
                all.insert(file.to_owned(), t);
            }
            None if !json => out.push_str(&format!(
                "# {client:?}: {file} starts local (stdio) servers only; add a remote server \
                 in the app instead\n\n"
            )),
            None => {}
        }
    }
    if json {
        out = format!("{}\n", serde_json::Value::Object(all));
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

/// `check-clients`: audits client configurations; returns the exit status.
async fn check_clients(args: &[String]) -> ExitCode {
    use mcp_secure::check::clients;
    let mut paths = Vec::new();
    let mut format = "text";
    let mut fix = false;
    let mut online = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--fix" => fix = true,
            "--online" => online = true,
            "--format" => match it.next().map(String::as_str) {
                Some(f @ ("json" | "text" | "sarif")) => format = f,
                _ => {
                    eprintln!("mcp-secure: --format takes text, json or sarif\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--help" | "-h" => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            other if other.starts_with('-') => {
                eprintln!(
                    "mcp-secure: unknown option `{}`\n{USAGE}",
                    other.escape_default()
                );
                return ExitCode::from(2);
            }
            path => paths.push(PathBuf::from(path)),
        }
    }
    let mut files = if paths.is_empty() {
        clients::discover(&[PathBuf::from(".")])
    } else {
        clients::discover(&paths)
    };
    if paths.is_empty()
        && let Some(home) = std::env::home_dir()
    {
        for f in clients::user_locations(&home) {
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    if fix {
        return fix_clients(&files, format, online).await;
    }
    let mut report = clients::scan(&files);
    if online {
        clients::online(&mut report).await;
    }
    let text = match format {
        "json" => format!("{}\n", clients::render_json(&report)),
        "sarif" => {
            let base = std::env::current_dir().unwrap_or_default();
            format!("{}\n", clients::render_sarif(&report, &base))
        }
        _ => clients::render(&report),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::from(report.exit_code())
}

/// `check-clients --fix`: rewrites literal secrets into references, then reports what is left.
async fn fix_clients(files: &[PathBuf], format: &str, online: bool) -> ExitCode {
    use mcp_secure::check::clients;
    let mut fixed = clients::fix(files);
    if online {
        clients::online(&mut fixed.report).await;
    }
    let mut summary = String::new();
    for r in &fixed.refused {
        summary.push_str(&format!("{}: {}\n", r.file.display(), r.reason));
    }
    for f in &fixed.fixed {
        let server = f
            .server
            .as_deref()
            .map(|s| format!(" [{}]", s.escape_default()))
            .unwrap_or_default();
        match &f.variable {
            Some(v) => summary.push_str(&format!(
                "{}:{}{server} rewritten: reads ${v} now\n",
                f.file.display(),
                f.pointer
            )),
            None => summary.push_str(&format!(
                "{}:{}{server} rewritten\n",
                f.file.display(),
                f.pointer
            )),
        }
    }
    let mut variables: Vec<&str> = fixed
        .fixed
        .iter()
        .filter_map(|f| f.variable.as_deref())
        .collect();
    variables.sort_unstable();
    variables.dedup();
    if !variables.is_empty() {
        summary.push_str(&format!(
            "set these variables where the client runs (the old values are in the backups): {}\n",
            variables.join(" ")
        ));
    }
    for b in &fixed.backups {
        summary.push_str(&format!(
            "backup: {} (mode 600; it still holds the secrets: delete it once the variables are set)\n",
            b.display()
        ));
    }
    let text = match format {
        "json" => format!(
            "{}\n",
            serde_json::to_value(&fixed).unwrap_or(serde_json::Value::Null)
        ),
        "sarif" => {
            eprint!("{summary}");
            let base = std::env::current_dir().unwrap_or_default();
            format!("{}\n", clients::render_sarif(&fixed.report, &base))
        }
        _ => format!("{summary}{}", clients::render(&fixed.report)),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::from(fixed.exit_code())
}

struct Args {
    config: Option<PathBuf>,
    tools: Option<PathBuf>,
    offline: bool,
    json: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("check") => {}
        Some("env") => return Err("env".into()),
        Some("help" | "--help" | "-h") | None => return Err(String::new()),
        Some(other) => return Err(format!("unknown command `{}`", other.escape_default())),
    }
    let mut out = Args {
        config: None,
        tools: None,
        offline: false,
        json: false,
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" => out.config = Some(it.next().ok_or("--config needs a file")?.into()),
            "--tools" => out.tools = Some(it.next().ok_or("--tools needs a file")?.into()),
            "--offline" => out.offline = true,
            "--json" => out.json = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option `{}`", other.escape_default())),
        }
    }
    Ok(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match raw.first().map(String::as_str) {
        Some("check-clients") => return check_clients(&raw[1..]).await,
        Some("client-config") => return client_config(&raw[1..]),
        _ => {}
    }
    let args = match parse(&raw) {
        Ok(a) => a,
        Err(e) if e == "env" => {
            let _ = std::io::stdout()
                .lock()
                .write_all(mcp_secure::config::settings_markdown().as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mcp-secure: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Without --config, the loader reads the file MCP_CONFIG names, as the server does.
    let loaded = match args.config {
        Some(path) => SecureConfig::loader().file(path).load(),
        None => SecureConfig::loader().load(),
    };
    let mut options = if args.offline {
        check::CheckOptions::default()
    } else {
        check::CheckOptions::online()
    };
    if let Some(path) = args.tools {
        match std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
        {
            Some(tools) => options = options.tools(tools),
            None => {
                eprintln!(
                    "mcp-secure: --tools {}: not a readable JSON file",
                    path.display()
                );
                return ExitCode::from(2);
            }
        }
    }
    let checks = check::run(&loaded, &options).await;
    let text = if args.json {
        format!("{}\n", check::render_json(&checks))
    } else {
        check::render(&checks)
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if check::failed(&checks) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
