//! `mcp-secure check-clients` against ripgrep on the same tree, side by side.
//!
//! Generates a tree of 10,000 files, 1,000 of them MCP client configurations of every format
//! (half holding secrets), the rest source and documentation files, and times, in interleaved
//! rounds, the release `mcp-secure check-clients TREE --format json` against `rg --hidden
//! --no-ignore -c` with the same secret patterns (the known token formats the scanner looks
//! for). Both run as processes, warm page cache, output discarded; wall time and CPU time
//! (user + system, from `/proc/self/stat`'s waited-for children) are reported with their
//! ratios. ripgrep comes from the Debian packages (`apt-get install ripgrep`); without it the
//! bench says so and stops.
//!
//! ```sh
//! cargo bench -p mcp-secure --bench check_clients
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const FILES: usize = 10_000;
const CONFIGS: usize = 1_000;
const ROUNDS: usize = 10;

/// The token formats the scanner recognises (its `KNOWN` table), as ripgrep patterns.
const PATTERNS: &[&str] = &[
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{60,}\b",
    r"\bglpat-[A-Za-z0-9_\-]{20,}\b",
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b",
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
    r"\bAIza[A-Za-z0-9_\-]{35}\b",
    r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
    r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}",
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
];

/// A deterministic pseudo-random alphanumeric string.
fn token(seed: usize, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// One client configuration: several servers, nested env, half with literal secrets.
fn config(i: usize, jsonc: bool) -> String {
    let secret = i.is_multiple_of(2);
    let gh = if secret {
        format!("ghp_{}", token(i, 36))
    } else {
        "${GITHUB_TOKEN}".into()
    };
    let auth = if secret {
        format!("Bearer sk-proj-{}", token(i + 7, 32))
    } else {
        "Bearer ${env:API_TOKEN}".into()
    };
    let comment = if jsonc { "// project servers\n" } else { "" };
    let key = if jsonc { "servers" } else { "mcpServers" };
    format!(
        r#"{comment}{{
  "{key}": {{
    "github": {{
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github@1.2.{i}"],
      "env": {{ "GITHUB_PERSONAL_ACCESS_TOKEN": "{gh}", "LOG_LEVEL": "info" }}
    }},
    "notes": {{
      "type": "http",
      "url": "https://notes{i}.example.com/mcp",
      "headers": {{ "Authorization": "{auth}" }}
    }},
    "files": {{
      "command": "/usr/local/bin/files-server",
      "args": ["--root", "/home/me/project{i}", "--read-only"],
      "env": {{ "MCP_STDIO_SCOPES": "files:read" }}
    }}
  }}
}}
"#
    )
}

/// Source-like filler of about 2 KiB.
fn filler(i: usize) -> String {
    let mut s = format!("//! Module {i}.\n\nuse std::collections::HashMap;\n\n");
    for j in 0..24 {
        s.push_str(&format!(
            "pub fn item_{j}(x: u64) -> u64 {{ x.wrapping_mul({}) ^ 0x{:x} }}\n",
            i * 31 + j,
            (i * 7 + j) as u64
        ));
    }
    s
}

/// Writes the tree (once; reused when complete).
fn generate(root: &Path) -> std::io::Result<()> {
    let marker = root.join(".complete");
    if marker.is_file() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(root);
    let kinds: [(&str, bool); 5] = [
        (".mcp.json", false),
        (".cursor/mcp.json", false),
        (".vscode/mcp.json", true),
        ("claude_desktop_config.json", false),
        ("mcp_config.json", false),
    ];
    let per_dir = FILES / CONFIGS;
    for d in 0..CONFIGS {
        let dir = root
            .join(format!("group{}", d / 50))
            .join(format!("project{d}"));
        std::fs::create_dir_all(dir.join("src"))?;
        let (name, jsonc) = kinds[d % kinds.len()];
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, config(d, jsonc))?;
        for f in 1..per_dir {
            let ext = if f % 3 == 0 { "md" } else { "rs" };
            std::fs::write(
                dir.join("src").join(format!("m{f}.{ext}")),
                filler(d * per_dir + f),
            )?;
        }
    }
    std::fs::write(marker, b"")
}

/// User + system CPU time of the waited-for children of this process so far.
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // cutime and cstime are fields 16 and 17 of the whole line: 14 and 15 after the name.
    let ticks = fields.get(13).copied().unwrap_or(0) + fields.get(14).copied().unwrap_or(0);
    let hz = 100; // USER_HZ on Linux
    Duration::from_millis(ticks * 1000 / hz)
}

struct Sample {
    wall: Duration,
    cpu: Duration,
}

fn time(command: &mut Command) -> (Sample, Option<i32>) {
    let cpu = children_cpu();
    let start = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the command runs");
    let wall = start.elapsed();
    (
        Sample {
            wall,
            cpu: children_cpu().saturating_sub(cpu),
        },
        status.code(),
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if Command::new("rg").arg("--version").output().is_err() {
        eprintln!("check_clients bench: ripgrep (rg) is not installed (apt-get install ripgrep)");
        return;
    }
    let root = std::env::temp_dir().join("mcp-secure-bench-clients");
    let started = Instant::now();
    generate(&root).expect("the tree is written");
    eprintln!(
        "tree: {FILES} files, {CONFIGS} client configurations ({:.1} s to prepare)",
        started.elapsed().as_secs_f64()
    );
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_mcp-secure"));
    let mut ours = || {
        let mut c = Command::new(&cli);
        c.arg("check-clients")
            .arg(&root)
            .args(["--format", "json"])
            .current_dir(&root);
        c
    };
    // Hidden files included (client configurations are), ignore files not honoured, `.git`
    // skipped as the scanner skips it.
    let mut rg = || {
        let mut c = Command::new("rg");
        c.args([
            "--no-config",
            "--hidden",
            "--no-ignore",
            "-g",
            "!.git",
            "-c",
        ]);
        for p in PATTERNS {
            c.arg("-e").arg(p);
        }
        c.arg(&root);
        c
    };
    // Check what each finds once, and warm the page cache.
    let findings = Command::new(&cli)
        .arg("check-clients")
        .arg(&root)
        .args(["--format", "json"])
        .output()
        .expect("check-clients runs");
    let report: serde_json::Value =
        serde_json::from_slice(&findings.stdout).expect("check-clients prints JSON");
    let files = report["files"].as_array().map_or(0, Vec::len);
    let secrets = report["findings"].as_array().map_or(0, |f| {
        f.iter().filter(|f| f["rule"] == "secret.literal").count()
    });
    assert_eq!(files, CONFIGS, "every client configuration is read");
    let rg_out = rg().output().expect("rg runs");
    let rg_files = String::from_utf8_lossy(&rg_out.stdout).lines().count();
    eprintln!(
        "check-clients: {files} files, {secrets} literal secrets; rg: {rg_files} files with a match"
    );

    compare("a plain tree", &mut ours, &mut rg);
    // The same tree as a git work tree with every file committed: the scanner also asks git
    // which secret-holding files it tracks (once per work tree).
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if root.join(".git").is_dir()
        || (git(&["init", "-q"])
            && git(&["add", "-A"])
            && git(&[
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
                "commit",
                "-qm",
                "tree",
            ]))
    {
        compare("a git work tree, every file tracked", &mut ours, &mut rg);
    } else {
        eprintln!("git is not installed: the work-tree comparison is skipped");
    }
}

fn compare(what: &str, ours: &mut dyn FnMut() -> Command, rg: &mut dyn FnMut() -> Command) {
    let (mut ours_wall, mut ours_cpu, mut rg_wall, mut rg_cpu) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let mut run_ours = || {
            let (s, code) = time(&mut ours());
            assert_eq!(code, Some(1), "the tree holds secrets");
            ours_wall.push(s.wall);
            ours_cpu.push(s.cpu);
        };
        let mut run_rg = |rg: &mut dyn FnMut() -> Command| {
            let (s, code) = time(&mut rg());
            assert_eq!(code, Some(0), "rg finds the secrets");
            rg_wall.push(s.wall);
            rg_cpu.push(s.cpu);
        };
        // Alternate which goes first.
        if round % 2 == 0 {
            run_ours();
            run_rg(rg);
        } else {
            run_rg(rg);
            run_ours();
        }
    }
    let (ow, rw) = (median(ours_wall), median(rg_wall));
    let (oc, rc) = (median(ours_cpu), median(rg_cpu));
    println!("{what}: {ROUNDS} interleaved rounds, medians:");
    println!(
        "  check-clients  wall {:>8.1} ms  cpu {:>8.1} ms",
        ow.as_secs_f64() * 1e3,
        oc.as_secs_f64() * 1e3
    );
    println!(
        "  rg             wall {:>8.1} ms  cpu {:>8.1} ms",
        rw.as_secs_f64() * 1e3,
        rc.as_secs_f64() * 1e3
    );
    println!(
        "  check-clients / rg: wall {:.2}x, cpu {:.2}x (goal: within 2x)",
        ow.as_secs_f64() / rw.as_secs_f64(),
        oc.as_secs_f64() / rc.as_secs_f64().max(1e-3)
    );
}
