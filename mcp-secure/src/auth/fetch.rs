//! Outbound HTTP for key sets, metadata and introspection: `https` only (plain `http` only to
//! loopback), no redirects, a timeout on every request and a cap on every body.

use std::time::Duration;

use serde::de::DeserializeOwned;
use url::{Host, Url};

/// Why an outbound request failed. Fixed kinds: safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not `https` (or `http` to a loopback address).
    #[error("url must be https (http only for loopback)")]
    InsecureUrl,
    /// The request timed out.
    #[error("timed out")]
    Timeout,
    /// No connection could be made.
    #[error("connection failed")]
    Connect,
    /// A non-success status.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// The body exceeded its cap.
    #[error("response too large")]
    TooLarge,
    /// The body was not the expected JSON.
    #[error("response is not the expected JSON")]
    BadBody,
    /// Any other transport error.
    #[error("request failed")]
    Other,
}

/// Whether `host` is a loopback name or address.
pub(crate) fn is_loopback_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `url` may be fetched: `https`, or `http` to loopback.
pub(crate) fn check_url(url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url.host()) => Ok(()),
        _ => Err(FetchError::InsecureUrl),
    }
}

/// The shared client: no redirects, connect timeout, TCP_NODELAY.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .user_agent(concat!("mcp-secure/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

fn map_error(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Connect
    } else {
        FetchError::Other
    }
}

/// Reads a response body, refusing more than `max_bytes`.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<Vec<u8>, FetchError> {
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| map_error(&e))? {
        if body.len() + chunk.len() > max_bytes {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `GET url` as JSON of type `T`.
pub(crate) async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
    max_bytes: usize,
) -> Result<T, FetchError> {
    check_url(url)?;
    let response = client
        .get(url.clone())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| map_error(&e))?;
    let body = read_capped(response, max_bytes).await?;
    serde_json::from_slice(&body).map_err(|_| FetchError::BadBody)
}

/// `POST url` with a form body and HTTP Basic credentials, answered with JSON of type `T`.
pub(crate) async fn post_form_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
    max_bytes: usize,
) -> Result<T, FetchError> {
    check_url(url)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let mut request = client
        .post(url.clone())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(body);
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|e| map_error(&e))?;
    let body = read_capped(response, max_bytes).await?;
    serde_json::from_slice(&body).map_err(|_| FetchError::BadBody)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "https://as.example.com/jwks",
            "http://127.0.0.1:9000/jwks",
            "http://localhost/jwks",
            "http://[::1]:1/x",
        ] {
            assert!(check_url(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example.com/jwks",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                check_url(&Url::parse(bad).unwrap()),
                Err(FetchError::InsecureUrl),
                "{bad}"
            );
        }
    }
}
