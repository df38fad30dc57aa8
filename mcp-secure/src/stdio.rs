//! Serving over stdio with a local principal.
//!
//! The caller of a stdio server is whoever launched the process. Its scopes come from
//! `stdio.scopes` (`MCP_STDIO_SCOPES`: space separated, strict RFC 6749 syntax); when unset,
//! the local caller holds every scope the server declares, and the server says so on stderr
//! at start. `stdio.subject` (`MCP_STDIO_SUBJECT`) names the caller in audit events (default
//! `local`).

use std::future::Future;

use rmcp::{
    RoleServer, ServerHandler, ServiceExt,
    model::{GetExtensions, JsonRpcMessage},
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::{Transport, async_rw::AsyncRwTransport},
};

use crate::{SecureServer, ServeError, config::StdioSettings, principal::Principal};

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

/// The local principal for server `S` as `settings` say (`MCP_STDIO_SCOPES`,
/// `MCP_STDIO_SUBJECT`): without scopes, every scope the server declares, said in a notice.
pub fn local_principal<S: SecureServer>(settings: &StdioSettings) -> Principal {
    let scopes = match &settings.scopes {
        Some(scopes) => scopes.clone(),
        None => {
            let all = S::server_policy().declared_scopes();
            crate::logging::notice(&format!(
                "MCP_STDIO_SCOPES is not set: the local caller holds every scope this server declares ({all}); \
                 set MCP_STDIO_SCOPES to grant fewer"
            ));
            all
        }
    };
    Principal::local(settings.subject.clone(), scopes)
}

/// Serves `server` over stdin/stdout with the local principal, until stdin closes.
pub async fn serve_stdio<S>(server: S, settings: &StdioSettings) -> Result<(), ServeError>
where
    S: SecureServer + ServerHandler,
{
    S::secure_tool_router().map_err(ServeError::Router)?;
    crate::redact::ensure_compiled()?;
    let principal = local_principal::<S>(settings);
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
