//! The resource server as tower layers, for an axum application of your own: [`BearerLayer`]
//! (bearer authentication, `401`/`403` challenges, the scope pre-check, throttling of
//! addresses that keep failing) and [`GuardLayer`] (`Host` and `Origin` validation). Neither
//! adds routes or a fallback, so they go on any router, next to the user's own middleware.
//!
//! ```no_run
//! # use mcp_secure::http::HttpServer;
//! # fn f<S: mcp_secure::SecureServer + mcp_secure::rmcp::ServerHandler + Clone>(http: HttpServer<S>) {
//! let app = axum::Router::new()
//!     .route("/health", axum::routing::get(|| async { "ok" }))
//!     .merge(http.router(Default::default()).unwrap()) // /mcp and the metadata, no fallback
//!     .fallback(|| async { "my own 404" });
//! # }
//! ```

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use futures::future::BoxFuture;
use tower::{Layer, Service};

use super::{bearer::AuthState, guard::RequestGuard};

// Both are plain tower services rather than `axum::middleware::from_fn`: per request that
// saves cloning the inner service twice, boxing it into `Next`, and two boxed futures
// (the guard, being synchronous, boxes nothing).

/// Bearer authentication for the MCP endpoint: no token → `401` naming the metadata and a
/// starting scope; a bad token → `401 invalid_token`; a `tools/call` the token's scopes do
/// not allow → `403 insufficient_scope`; otherwise the [`Principal`](crate::Principal) is
/// put in the request's extensions, where the secured tools find it. From
/// [`HttpServer::bearer_layer`](super::HttpServer::bearer_layer).
#[derive(Clone)]
pub struct BearerLayer(Arc<AuthState>);

impl BearerLayer {
    pub(super) fn new(state: Arc<AuthState>) -> Self {
        Self(state)
    }
}

impl std::fmt::Debug for BearerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerLayer")
    }
}

impl<I> Layer<I> for BearerLayer {
    type Service = Bearer<I>;

    fn layer(&self, inner: I) -> Self::Service {
        Bearer {
            state: self.0.clone(),
            inner,
        }
    }
}

/// The service [`BearerLayer`] wraps around an inner one.
#[derive(Clone)]
pub struct Bearer<I> {
    state: Arc<AuthState>,
    inner: I,
}

impl<I> std::fmt::Debug for Bearer<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer")
    }
}

impl<I> Service<Request> for Bearer<I>
where
    I: Service<Request, Error = Infallible> + Clone + Send + 'static,
    I::Response: IntoResponse,
    I::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service made ready by `poll_ready` goes with this request; a clone waits for the
        // next one (tower's rule for services called after an await).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let state = self.state.clone();
        Box::pin(async move {
            let (request, admitted) = match super::bearer::admit(&state, request).await {
                Ok(admitted) => admitted,
                Err(refusal) => return Ok(refusal),
            };
            let response = match inner.call(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            };
            Ok(super::bearer::answered(&state, admitted, response))
        })
    }
}

/// `Host` and `Origin` validation (DNS rebinding): a request whose `Host` is not this
/// server, or whose `Origin` is present and neither the resource's own nor allowed, gets
/// `403`. From [`HttpServer::guard_layer`](super::HttpServer::guard_layer).
#[derive(Clone)]
pub struct GuardLayer(Arc<RequestGuard>);

impl GuardLayer {
    pub(crate) fn new(state: Arc<RequestGuard>) -> Self {
        Self(state)
    }
}

impl std::fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuardLayer")
    }
}

impl<I> Layer<I> for GuardLayer {
    type Service = Guard<I>;

    fn layer(&self, inner: I) -> Self::Service {
        Guard {
            state: self.0.clone(),
            inner,
        }
    }
}

/// The service [`GuardLayer`] wraps around an inner one.
#[derive(Clone)]
pub struct Guard<I> {
    state: Arc<RequestGuard>,
    inner: I,
}

impl<I> std::fmt::Debug for Guard<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

impl<I> Service<Request> for Guard<I>
where
    I: Service<Request, Error = Infallible>,
    I::Response: IntoResponse,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardFuture<I::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.state.refusal(&request) {
            None => GuardFuture::Admitted {
                inner: self.inner.call(request),
            },
            Some(refusal) => GuardFuture::Refused {
                refusal: Some(refusal),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// What [`Guard`] answers: the inner service's response, or the `403`.
    #[project = GuardProjection]
    pub enum GuardFuture<F> {
        /// The request passed; the inner service answers.
        Admitted { #[pin] inner: F },
        /// The request was refused.
        Refused { refusal: Option<Response> },
    }
}

impl<F, R> Future for GuardFuture<F>
where
    F: Future<Output = Result<R, Infallible>>,
    R: IntoResponse,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardProjection::Admitted { inner } => inner.poll(cx).map(|answer| {
                Ok(answer.map_or_else(|never| match never {}, IntoResponse::into_response))
            }),
            // Polled again after answering (a caller's bug): an error, not a panic.
            GuardProjection::Refused { refusal } => Poll::Ready(Ok(refusal
                .take()
                .unwrap_or_else(|| http::StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
        }
    }
}

impl<F> std::fmt::Debug for GuardFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuardFuture")
    }
}
