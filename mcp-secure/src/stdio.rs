//! Serving over stdio with a local principal.
//!
//! The caller of a stdio server is whoever launched the process. Its scopes come from
//! `MCP_STDIO_SCOPES` (space separated, strict RFC 6749 syntax); when unset, the local caller
//! holds every scope the server declares, and the server says so on stderr at start.
//! `MCP_STDIO_SUBJECT` names the caller in audit events (default `local`).

use std::future::Future;

use rmcp::{
    RoleServer, ServerHandler, ServiceExt,
    model::{GetExtensions, JsonRpcMessage},
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::{Transport, async_rw::AsyncRwTransport},
};

use crate::{SecureServer, ServeError, principal::Principal, scope::ScopeSet};

/// Environment variable holding the local caller's scopes.
pub const SCOPES_ENV: &str = "MCP_STDIO_SCOPES";
/// Environment variable naming the local caller.
pub const SUBJECT_ENV: &str = "MCP_STDIO_SUBJECT";
/// Longest JSON-RPC line accepted on stdin (longer lines are dropped by rmcp).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// A transport that attaches `principal` to every incoming request, the stdio counterpart of
/// the HTTP bearer-token layer. Use it to serve a secured server over any byte stream
/// (tests use an in-memory duplex).
#[derive(Debug)]
pub struct LocalPrincipalTransport<T> {
    inner: T,
    principal: Principal,
}

impl<T> LocalPrincipalTransport<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, principal: Principal) -> Self {
        Self { inner, principal }
    }
}

impl<T> Transport<RoleServer> for LocalPrincipalTransport<T>
where
    T: Transport<RoleServer>,
{
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        let principal = self.principal.clone();
        let next = self.inner.receive();
        async move {
            let mut message = next.await?;
            if let JsonRpcMessage::Request(request) = &mut message {
                request.request.extensions_mut().insert(principal);
            }
            Some(message)
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// Writes a start-up notice to stderr (through `tracing` when a subscriber is installed).
fn notice(message: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: crate::audit::TARGET, "{message}");
    } else {
        eprintln!("mcp-secure: {message}");
    }
}

/// The local principal for server `S`, from `MCP_STDIO_SCOPES` and `MCP_STDIO_SUBJECT`.
pub fn local_principal<S: SecureServer>() -> Result<Principal, ServeError> {
    let subject = std::env::var(SUBJECT_ENV).unwrap_or_else(|_| "local".to_owned());
    let scopes = match std::env::var(SCOPES_ENV) {
        Ok(list) => ScopeSet::parse(&list).map_err(|source| ServeError::Scopes {
            variable: SCOPES_ENV,
            source,
        })?,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(ServeError::Config(format!(
                "{SCOPES_ENV} is not valid UTF-8"
            )));
        }
        Err(std::env::VarError::NotPresent) => {
            let all = S::server_policy().declared_scopes();
            notice(&format!(
                "{SCOPES_ENV} is not set: the local caller holds every scope this server declares ({all}); \
                 set {SCOPES_ENV} to grant fewer"
            ));
            all
        }
    };
    Ok(Principal::local(subject, scopes))
}

/// Serves `server` over stdin/stdout with the local principal, until stdin closes.
pub async fn serve_stdio<S>(server: S) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler,
{
    S::secure_tool_router().map_err(ServeError::Router)?;
    let principal = local_principal::<S>()?;
    let (read, write) = rmcp::transport::stdio_pipes();
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(read, write)
        .with_max_line_length(MAX_LINE_BYTES);
    tracing::info!(
        target: crate::audit::TARGET,
        transport = "stdio",
        scopes = %principal.scopes(),
        "serving over stdio"
    );
    let running = server
        .serve(LocalPrincipalTransport::new(transport, principal))
        .await
        .map_err(|_| ServeError::Initialize)?;
    running.waiting().await.map_err(|_| ServeError::Aborted)?;
    Ok(())
}
