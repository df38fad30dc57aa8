//! # axum_app: a secured MCP endpoint inside an axum application of your own
//!
//! The application keeps its own routes (a home page, a health check), its own middleware and
//! its own fallback; the secured MCP server is one more router merged into it. mcp-secure's
//! router carries the MCP endpoint (behind bearer authentication), the RFC 9728 metadata and
//! the `Host`/`Origin` checks, and no fallback, so nothing collides.
//!
//! Copy this file and edit the tools. Run it with the embedded development authorization
//! server (a consent page on http://127.0.0.1:9000), or a real provider:
//!
//! ```text
//! MCP_DEV_AUTH=true cargo run --example axum_app
//! OAUTH_ISSUER=https://auth.example.com OAUTH_AUDIENCE=http://127.0.0.1:8000/mcp \
//!   cargo run --example axum_app
//! curl http://127.0.0.1:8000/health
//! ```
//!
//! The configuration is the usual one (`MCP_CONFIG`, the environment): the listen address is
//! `MCP_HTTP_ADDR`, sessions `MCP_HTTP_SESSIONS`, origins `MCP_HTTP_ALLOWED_ORIGINS`.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use axum::{
    Json as AxumJson, Router,
    http::{HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use mcp_secure::{SecureConfig, prelude::*};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use validator::Validate;

/// The secured MCP server: a shared notebook.
#[derive(Clone)]
struct Notes {
    security: Security,
    notes: Arc<RwLock<Vec<Note>>>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Note {
    author: String,
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct AddNote {
    /// The note, at most 500 characters.
    #[validate(length(min = 1, max = 500))]
    text: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct NoteList {
    notes: Vec<Note>,
}

#[secure_server(
    scopes = "notes:read notes:write",
    hierarchy = "notes:write > notes:read",
    name = "notes"
)]
impl Notes {
    /// Add a note, signed by the caller.
    #[secure_tool(scopes = "notes:write", rate = 30)]
    async fn add_note(
        &self,
        caller: Principal,
        Parameters(input): Parameters<AddNote>,
    ) -> Json<Note> {
        let note = Note {
            author: caller.subject().to_owned(),
            text: input.text,
        };
        self.notes.write().await.push(note.clone());
        Json(note)
    }

    /// Every note so far.
    #[secure_tool(scopes = "notes:read", rate = 120, annotations(read_only_hint = true))]
    async fn list_notes(&self) -> Json<NoteList> {
        Json(NoteList {
            notes: self.notes.read().await.clone(),
        })
    }
}

/// The application's own middleware: a header on every response, MCP's included.
async fn served_by(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-served-by", HeaderValue::from_static("axum-app"));
    response
}

/// The application's own fallback.
async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        AxumJson(serde_json::json!({"error": "no such page"})),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match SecureConfig::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("axum_app: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = mcp_secure::logging::init(&config.logging) {
        eprintln!("axum_app: {e}");
        return ExitCode::FAILURE;
    }
    let server = Notes {
        security: config.security().build(),
        notes: Arc::default(),
    };
    // The HTTP side as the configuration says (issuer, keys, sessions, origins), not bound.
    let mcp = match mcp_secure::http_from_config(server, &config).await {
        Ok(mcp) => mcp,
        Err(e) => {
            eprintln!("axum_app: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let secured = match mcp.http().router(shutdown.clone()) {
        Ok(router) => router,
        Err(e) => {
            eprintln!("axum_app: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = Router::new()
        .route(
            "/",
            get(|| async { Html("<h1>My app</h1><p>MCP at /mcp</p>") }),
        )
        .route("/health", get(|| async { "ok" }))
        .merge(secured)
        .fallback(not_found)
        .layer(axum::middleware::map_response(served_by));

    let listener = match tokio::net::TcpListener::bind(config.http.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("axum_app: cannot bind {}: {e}", config.http.addr);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("axum_app: listening on http://{}", config.http.addr);
    // TCP_NODELAY (else each response waits ~40 ms), and the peer address for the
    // per-address throttle of failed authentications.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        mcp_secure::http::setup::shutdown_signal().await;
        shutdown.cancel();
    })
    .await;
    mcp.shutdown().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum_app: {e}");
            ExitCode::FAILURE
        }
    }
}
