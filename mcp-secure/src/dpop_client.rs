//! The client half of DPoP (RFC 9449) for rmcp's Streamable HTTP client.
//!
//! [`DpopHttpClient`] wraps a `reqwest::Client` as rmcp's [`StreamableHttpClient`]: every
//! request carries `Authorization: DPoP <token>` and a fresh proof signed by the client's
//! key for that method and URL (`htm`, `htu`, `iat`, `jti`, `ath`). The token is useless
//! without the key, so a token that leaks from a log or a proxy cannot be replayed.
//!
//! ```no_run
//! # async fn run(token: mcp_secure::redact::SecretString) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mcp_secure::{auth::{Algorithm, SigningKey, dpop::DpopProofs}, dpop_client::DpopHttpClient};
//! use mcp_secure::rmcp::{ServiceExt, transport::StreamableHttpClientTransport};
//! use mcp_secure::rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
//!
//! let proofs = Arc::new(DpopProofs::new(SigningKey::generate(Algorithm::ES256, "me")?).ok_or("key")?);
//! // … obtain `token` from the authorization server with a proof by the same key …
//! let client = DpopHttpClient::new(reqwest::Client::new(), proofs, token);
//! let transport = StreamableHttpClientTransport::with_client(
//!     client,
//!     StreamableHttpClientTransportConfig::with_uri("https://mcp.example.com/mcp"),
//! );
//! let service = ().serve(transport).await?;
//! # Ok(()) }
//! ```

use std::{collections::HashMap, sync::Arc};

use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue, header::AUTHORIZATION};
use rmcp::{
    model::ClientJsonRpcMessage,
    transport::streamable_http_client::{
        SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
        StreamableHttpResponseLimits,
    },
};
use secrecy::ExposeSecret;
use sse_stream::Sse;

use crate::{auth::dpop::DpopProofs, redact::SecretString};

/// rmcp's HTTP client presenting a DPoP-bound token with a proof on every request.
#[derive(Clone)]
pub struct DpopHttpClient {
    inner: reqwest::Client,
    proofs: Arc<DpopProofs>,
    token: Arc<SecretString>,
}

impl std::fmt::Debug for DpopHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopHttpClient")
            .field("jkt", &self.proofs.jkt())
            .field("token", &"***")
            .finish()
    }
}

type Error = StreamableHttpError<reqwest::Error>;

impl DpopHttpClient {
    /// Sends `token` (bound to the key of `proofs`) through `inner`.
    pub fn new(inner: reqwest::Client, proofs: Arc<DpopProofs>, token: SecretString) -> Self {
        Self {
            inner,
            proofs,
            token: Arc::new(token),
        }
    }

    /// `custom` plus `Authorization: DPoP …` and a proof for `method` `uri`.
    fn headers(
        &self,
        method: &str,
        uri: &str,
        mut custom: HashMap<HeaderName, HeaderValue>,
    ) -> Result<HashMap<HeaderName, HeaderValue>, Error> {
        let token = self.token.expose_secret();
        let fail = || Error::Io(std::io::Error::other("cannot make a DPoP proof"));
        let proof = self
            .proofs
            .proof(method, uri, Some(token), None)
            .ok_or_else(fail)?;
        let mut authorization =
            HeaderValue::from_str(&format!("DPoP {token}")).map_err(|_| fail())?;
        authorization.set_sensitive(true);
        custom.insert(AUTHORIZATION, authorization);
        custom.insert(
            HeaderName::from_static("dpop"),
            HeaderValue::from_str(&proof).map_err(|_| fail())?,
        );
        Ok(custom)
    }
}

impl StreamableHttpClient for DpopHttpClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let headers = self.headers("POST", &uri, custom_headers)?;
        self.inner
            .post_message(uri, message, session_id, None, headers)
            .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let headers = self.headers("POST", &uri, custom_headers)?;
        self.inner
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                None,
                headers,
                max_sse_event_size,
            )
            .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let headers = self.headers("POST", &uri, custom_headers)?;
        self.inner
            .post_message_with_response_limits(uri, message, session_id, None, headers, limits)
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Error> {
        let headers = self.headers("DELETE", &uri, custom_headers)?;
        self.inner
            .delete_session(uri, session_id, None, headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        let headers = self.headers("GET", &uri, custom_headers)?;
        self.inner
            .get_stream(uri, session_id, last_event_id, None, headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        let headers = self.headers("GET", &uri, custom_headers)?;
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                None,
                headers,
                max_sse_event_size,
            )
            .await
    }
}
