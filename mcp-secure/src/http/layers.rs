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
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    extract::{Request, State},
    middleware::{FromFn, FromFnLayer, Next, from_fn_with_state, future::FromFnResponseFuture},
    response::{IntoResponse, Response},
};
use futures::future::BoxFuture;
use tower::{Layer, Service};

use super::{bearer::AuthState, guard::RequestGuard};

/// The middleware functions, as nameable function pointers.
type Middleware<St> = fn(State<Arc<St>>, Request, Next) -> BoxFuture<'static, Response>;
/// What the middleware extracts.
type Extracted<St> = (State<Arc<St>>, Request);

macro_rules! layer {
    ($(#[$layer_doc:meta])* $layer:ident, $(#[$service_doc:meta])* $service:ident, $state:ty, $run:path) => {
        $(#[$layer_doc])*
        #[derive(Clone)]
        pub struct $layer(FromFnLayer<Middleware<$state>, Arc<$state>, Extracted<$state>>);

        impl $layer {
            pub(super) fn new(state: Arc<$state>) -> Self {
                fn run(
                    state: State<Arc<$state>>,
                    request: Request,
                    next: Next,
                ) -> BoxFuture<'static, Response> {
                    Box::pin($run(state, request, next))
                }
                Self(from_fn_with_state(state, run as Middleware<$state>))
            }
        }

        impl std::fmt::Debug for $layer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($layer))
            }
        }

        impl<I> Layer<I> for $layer {
            type Service = $service<I>;

            fn layer(&self, inner: I) -> Self::Service {
                $service(self.0.layer(inner))
            }
        }

        $(#[$service_doc])*
        #[derive(Clone)]
        pub struct $service<I>(FromFn<Middleware<$state>, Arc<$state>, I, Extracted<$state>>);

        impl<I> std::fmt::Debug for $service<I> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($service))
            }
        }

        impl<I> Service<Request> for $service<I>
        where
            I: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
            I::Response: IntoResponse,
            I::Future: Send + 'static,
        {
            type Response = Response;
            type Error = Infallible;
            type Future = FromFnResponseFuture;

            fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                self.0.poll_ready(cx)
            }

            fn call(&mut self, request: Request) -> Self::Future {
                self.0.call(request)
            }
        }
    };
}

layer!(
    /// Bearer authentication for the MCP endpoint: no token → `401` naming the metadata and a
    /// starting scope; a bad token → `401 invalid_token`; a `tools/call` the token's scopes do
    /// not allow → `403 insufficient_scope`; otherwise the [`Principal`](crate::Principal) is
    /// put in the request's extensions, where the secured tools find it. From
    /// [`HttpServer::bearer_layer`](super::HttpServer::bearer_layer).
    BearerLayer,
    /// The service [`BearerLayer`] wraps around an inner one.
    Bearer,
    AuthState,
    super::bearer::authenticate
);

layer!(
    /// `Host` and `Origin` validation (DNS rebinding): a request whose `Host` is not this
    /// server, or whose `Origin` is present and neither the resource's own nor allowed, gets
    /// `403`. From [`HttpServer::guard_layer`](super::HttpServer::guard_layer).
    GuardLayer,
    /// The service [`GuardLayer`] wraps around an inner one.
    Guard,
    RequestGuard,
    super::guard::guard
);
