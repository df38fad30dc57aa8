//! `mcp-secure check`: the security checklist of a deployment, line by line.
//!
//! Loads and validates the configuration, and when an authorization server is configured,
//! fetches its metadata and JWKS to check the issuer, PKCE `S256` and key strength. Each line
//! is `pass`, `warn` or `fail`; any `fail` makes the command exit non-zero.

use serde::Serialize;
use serde_json::Value;

pub mod clients;
mod network;
mod server;
mod tools;

use crate::config::{ConfigError, Problem, SecureConfig, Severity};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Fine.
    Pass,
    /// Allowed, but worth a look.
    Warn,
    /// Must be fixed.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short name (`pkce`, `token_ttl`, …).
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found, or how to fix it.
    pub detail: String,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

/// What the checker looks at besides the configuration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// A `tools/list` result (or the `tools` array) of the server, to check each tool's
    /// declared scopes and rate.
    pub tools: Option<Value>,
    /// Fetch the authorization server's metadata and JWKS (default in the command).
    pub network: bool,
}

impl CheckOptions {
    /// With network checks.
    pub fn online() -> Self {
        Self {
            tools: None,
            network: true,
        }
    }

    /// Adds a tool listing.
    pub fn tools(mut self, tools: Value) -> Self {
        self.tools = Some(tools);
        self
    }
}

fn problem_check(p: &Problem) -> Check {
    let status = match p.severity {
        Severity::Error => Status::Fail,
        Severity::Warning => Status::Warn,
    };
    check("configuration", status, format!("{}: {}", p.key, p.message))
}

/// Runs every check on a loaded configuration (or the reason it did not load).
pub async fn run(loaded: &Result<SecureConfig, ConfigError>, options: &CheckOptions) -> Vec<Check> {
    let config = match loaded {
        Ok(config) => config,
        Err(e) => return e.problems.iter().map(problem_check).collect(),
    };
    let mut out = Vec::new();
    out.extend(server::loading(config));
    out.extend(server::transport(config));
    out.extend(server::tokens(config));
    out.extend(network::authorization_server(config, options.network).await);
    out.push(tools::scopes(options.tools.as_ref()));
    out.extend(server::secrets_and_limits(config));
    out.push(network::rate_store(config, options.network).await);
    out.extend(server::process(config));
    out
}

/// Renders the report for a terminal.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::from("mcp-secure check\n");
    for c in checks {
        let label = match c.status {
            Status::Pass => "pass",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("  {label}  {:<20} {}\n", c.name, c.detail));
    }
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    out.push_str(&format!(
        "{fails} failed, {warns} warnings, {} passed\n",
        checks.len() - fails - warns
    ));
    out
}

/// Renders the report as JSON.
pub fn render_json(checks: &[Check]) -> String {
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    serde_json::json!({"checks": checks, "failed": fails, "warnings": warns}).to_string()
}

/// Whether any check failed.
pub fn failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}
