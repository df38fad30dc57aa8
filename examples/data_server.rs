//! # data_server: the security pattern set's tools, secured by declaration
//!
//! What it shows:
//! - a scope catalogue and hierarchy (`admin:full` ⊃ `data:write` ⊃ `data:read`), one
//!   `#[secure_tool]` per tool naming the scopes it needs and its rate limit;
//! - input validation with `validator` rules and ready-made injection guards;
//! - secrets read from the environment into `SecretString`, registered with the output
//!   redactor, and shown masked by `debug_config`;
//! - a `public` tool any authenticated caller may use;
//! - the caller's identity (`Principal`) inside a tool.
//!
//! Run it (stdio, the default transport; an MCP client launches it):
//!
//! ```text
//! cargo run --example data_server
//! MCP_STDIO_SCOPES="data:read" cargo run --example data_server      # a read-only caller
//! API_KEY=sk-test-123 DATABASE_URL=postgresql://app:pw@db/app cargo run --example data_server
//! LOG_FORMAT=json cargo run --example data_server                    # audit events as JSON on stderr
//! ```
//!
//! Over Streamable HTTP, with the embedded development authorization server (a consent page
//! at http://127.0.0.1:9000 approves each client), or with a real provider:
//!
//! ```text
//! MCP_TRANSPORT=http MCP_DEV_AUTH=true cargo run --example data_server
//! MCP_TRANSPORT=http OAUTH_ISSUER=https://auth.example.com \
//!   OAUTH_AUDIENCE=http://127.0.0.1:8000/mcp cargo run --example data_server
//! ```

use std::{collections::BTreeMap, process::ExitCode, sync::Arc, time::Instant};

use mcp_secure::{
    SecureConfig,
    config::SecretKey,
    prelude::*,
    redact::{self, ExposeSecret},
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use validator::Validate;

/// Most records the in-memory store keeps.
const MAX_RECORDS: usize = 10_000;

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct ReadData {
    /// The record's id.
    #[validate(length(min = 1, max = 64), custom(function = "guards::identifier"))]
    id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct WriteData {
    /// The record's id.
    #[validate(length(min = 1, max = 64), custom(function = "guards::identifier"))]
    id: String,
    /// The record's content.
    #[validate(length(max = 4096), custom(function = "guards::no_control_characters"))]
    data: String,
}

/// What `admin_operation` can do.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum AdminAction {
    /// Count the records.
    Stats,
    /// Delete every record.
    Purge,
    /// Copy the records to the database (which this example does not have: the call fails
    /// with an internal error, whose details stay in the log, credentials masked).
    Backup,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct AdminOperation {
    /// The operation.
    action: AdminAction,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct ProcessInput {
    /// Free text to process; refused if it looks like SQL injection.
    #[validate(
        length(min = 1, max = 2000),
        custom(function = "guards::no_sql_injection"),
        custom(function = "guards::no_control_characters")
    )]
    data: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Record {
    id: String,
    data: String,
    updated_by: String,
    version: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct AdminResult {
    action: AdminAction,
    records: usize,
}

#[derive(Debug, Serialize, schemars::JsonSchema, Redact)]
struct DebugConfig {
    transport: String,
    /// `"***"` when set: whether a key is configured is visible, the key is not.
    #[redact]
    api_key: Option<String>,
    /// The connection string with its credentials masked.
    database_url: Option<String>,
    records: usize,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Processed {
    characters: usize,
    words: usize,
    upper: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Status {
    server: String,
    version: String,
    uptime_secs: u64,
    caller: String,
}

/// Configuration read from the environment. Secrets stay in `SecretString`.
struct Config {
    api_key: Option<SecretString>,
    database_url: Option<SecretString>,
}

#[derive(Clone)]
pub(crate) struct DataServer {
    security: Security,
    config: Arc<Config>,
    store: Arc<RwLock<BTreeMap<String, Record>>>,
    started: Instant,
}

#[secure_server(
    scopes = "data:read data:write admin:full",
    hierarchy = "admin:full > data:write > data:read",
    name = "data-server",
    instructions = "A key-value store. read_data needs data:read, write_data and process_input \
                    need data:write, admin_operation and debug_config need admin:full."
)]
impl DataServer {
    /// Read one record by id.
    #[secure_tool(
        scopes = "data:read",
        rate = 120,
        burst = 20,
        annotations(read_only_hint = true)
    )]
    async fn read_data(
        &self,
        Parameters(input): Parameters<ReadData>,
    ) -> Result<Json<Record>, ToolError> {
        let store = self.store.read().await;
        let record = store
            .get(&input.id)
            .cloned()
            .ok_or_else(|| ToolError::not_found("no record with that id"))?;
        Ok(Json(record))
    }

    /// Create or replace one record.
    #[secure_tool(
        scopes = "data:write",
        rate = 30,
        burst = 5,
        annotations(destructive_hint = false, idempotent_hint = true)
    )]
    async fn write_data(
        &self,
        caller: Principal,
        Parameters(input): Parameters<WriteData>,
    ) -> Result<Json<Record>, ToolError> {
        let mut store = self.store.write().await;
        if !store.contains_key(&input.id) && store.len() >= MAX_RECORDS {
            return Err(ToolError::new(
                "STORE_FULL",
                "the store holds its maximum number of records",
            ));
        }
        let version = store.get(&input.id).map_or(1, |r| r.version + 1);
        let record = Record {
            id: input.id.clone(),
            data: input.data,
            updated_by: caller.subject().to_owned(),
            version,
        };
        store.insert(input.id, record.clone());
        Ok(Json(record))
    }

    /// Administrative operations: `stats`, `purge` or `backup`.
    #[secure_tool(scopes = "admin:full", rate = 10, annotations(destructive_hint = true))]
    async fn admin_operation(
        &self,
        Parameters(input): Parameters<AdminOperation>,
    ) -> Result<Json<AdminResult>, ToolError> {
        let mut store = self.store.write().await;
        match input.action {
            AdminAction::Purge => store.clear(),
            AdminAction::Backup => {
                // A driver error typically names the connection string. The client sees
                // "Internal error"; the log gets the text with the credentials masked.
                let url = self
                    .config
                    .database_url
                    .as_ref()
                    .map_or("(no DATABASE_URL)", |u| u.expose_secret());
                return Err(ToolError::internal(format!(
                    "backup failed: cannot connect to {url}"
                )));
            }
            AdminAction::Stats => {}
        }
        Ok(Json(AdminResult {
            action: input.action,
            records: store.len(),
        }))
    }

    /// The server's configuration, with every secret masked.
    #[secure_tool(scopes = "admin:full", rate = 10, annotations(read_only_hint = true))]
    async fn debug_config(&self) -> Json<DebugConfig> {
        Json(DebugConfig {
            transport: std::env::var("MCP_TRANSPORT").unwrap_or_else(|_| "stdio".into()),
            api_key: redact::mask(self.config.api_key.as_ref()).map(str::to_owned),
            database_url: self
                .config
                .database_url
                .as_ref()
                .map(|url| redact::mask_connection_string(url.expose_secret())),
            records: self.store.read().await.len(),
        })
    }

    /// Process free text (injection-guarded): counts and upper-cases it.
    #[secure_tool(scopes = "data:write", rate = 60)]
    async fn process_input(&self, Parameters(input): Parameters<ProcessInput>) -> Json<Processed> {
        Json(Processed {
            characters: input.data.chars().count(),
            words: input.data.split_whitespace().count(),
            upper: input.data.to_uppercase(),
        })
    }

    /// Server status; any authenticated caller may ask.
    #[secure_tool(public, rate = 60)]
    async fn server_status(&self, caller: Principal) -> Json<Status> {
        Json(Status {
            server: "data-server".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_secs: self.started.elapsed().as_secs(),
            caller: caller.subject().to_owned(),
        })
    }
}

impl DataServer {
    /// The server with the secrets of `config` (`API_KEY`, `DATABASE_URL`, from the
    /// environment or `*_FILE`), all registered with the output redactor.
    fn from_config(config: &SecureConfig) -> Self {
        Self::new(
            config.security().build(),
            Config {
                api_key: config.secrets.get(SecretKey::API_KEY).cloned(),
                database_url: config.secrets.get(SecretKey::DATABASE_URL).cloned(),
            },
        )
    }

    /// The server with `api_key` as its API key (used by the tour, which includes this file
    /// as a module).
    #[allow(dead_code)]
    pub(crate) fn with_api_key(api_key: &str) -> Self {
        let api_key = SecretString::from(api_key.to_owned());
        Self::new(
            Security::builder().secret(&api_key).build(),
            Config {
                api_key: Some(api_key),
                database_url: None,
            },
        )
    }

    fn new(security: Security, config: Config) -> Self {
        Self {
            security,
            config: Arc::new(config),
            store: Arc::default(),
            started: Instant::now(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // The configuration file named by MCP_CONFIG (if any), then the environment; every
    // problem is reported at once.
    let config = match SecureConfig::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("data_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // stderr only (stdout carries the protocol over stdio); every line passes the redactor.
    if let Err(e) = mcp_secure::logging::init(&config.logging) {
        eprintln!("data_server: {e}");
        return ExitCode::FAILURE;
    }
    let server = DataServer::from_config(&config);
    match mcp_secure::serve(server, &config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("data_server: {e}");
            ExitCode::FAILURE
        }
    }
}
