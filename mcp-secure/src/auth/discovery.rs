//! Authorization server metadata (RFC 8414, or OpenID discovery), checked at start-up: the
//! document's `issuer` must equal the configured issuer exactly, and PKCE with `S256` must be
//! supported. It also supplies the JWKS and introspection endpoints when not configured.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::fetch::{self, FetchError};

/// The fields of the metadata document the resource server uses.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The JWKS URL.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// RFC 7662 introspection endpoint.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// PKCE methods.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Authorization endpoint.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Dynamic client registration endpoint.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
}

/// The authorization server failed the start-up check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer is not a valid URL.
    #[error("the issuer `{0}` is not a valid URL")]
    BadIssuerUrl(String),
    /// Neither metadata document could be fetched.
    #[error(
        "could not fetch the authorization server metadata from {tried} ({reason}); \
         check OAUTH_ISSUER, or set OAUTH_SKIP_METADATA_CHECK=true for air-gapped starts \
         (with OAUTH_JWKS_URL or OAUTH_JWKS_FILE)"
    )]
    Unreachable {
        /// The URLs tried.
        tried: String,
        /// Why the last one failed.
        reason: FetchError,
    },
    /// The document names another issuer.
    #[error(
        "the authorization server metadata names issuer `{found}`, not the configured `{expected}`"
    )]
    IssuerMismatch {
        /// Configured.
        expected: String,
        /// In the document.
        found: String,
    },
    /// No `S256` in `code_challenge_methods_supported`.
    #[error(
        "the authorization server does not advertise PKCE S256 (`code_challenge_methods_supported` \
         lacks \"S256\"); MCP requires PKCE with S256"
    )]
    NoPkceS256,
}

/// The metadata URLs for `issuer`: RFC 8414 (`/.well-known/oauth-authorization-server`
/// inserted before the issuer's path), then OpenID Connect discovery (both placements).
pub fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut urls = Vec::new();
    let mut push = |p: String| {
        let mut u = issuer.clone();
        u.set_path(&p);
        u.set_query(None);
        u.set_fragment(None);
        if !urls.contains(&u) {
            urls.push(u);
        }
    };
    push(format!("/.well-known/oauth-authorization-server{path}"));
    push(format!("/.well-known/openid-configuration{path}"));
    push(format!("{path}/.well-known/openid-configuration"));
    urls
}

/// Fetches and checks the metadata of `issuer`: the same `issuer`, and PKCE `S256` in
/// `code_challenge_methods_supported`.
pub async fn discover(
    issuer: &str,
    timeout: Duration,
) -> Result<AuthorizationServerMetadata, DiscoveryError> {
    discover_with(issuer, timeout, true).await
}

/// [`discover`], with the PKCE check only when `require_pkce` (for providers whose metadata
/// omits `code_challenge_methods_supported` while documenting S256, such as Entra ID).
pub async fn discover_with(
    issuer: &str,
    timeout: Duration,
    require_pkce: bool,
) -> Result<AuthorizationServerMetadata, DiscoveryError> {
    let url = Url::parse(issuer).map_err(|_| DiscoveryError::BadIssuerUrl(issuer.to_owned()))?;
    let client = fetch::client(timeout);
    let urls = metadata_urls(&url);
    let mut last = FetchError::Other;
    for candidate in &urls {
        match fetch::get_json::<AuthorizationServerMetadata>(&client, candidate, 256 * 1024).await {
            Ok(metadata) => {
                if metadata.issuer != issuer {
                    return Err(DiscoveryError::IssuerMismatch {
                        expected: issuer.to_owned(),
                        found: crate::audit::Sanitized(&metadata.issuer).to_string(),
                    });
                }
                let s256 = metadata
                    .code_challenge_methods_supported
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|x| x == "S256"));
                if !s256 && require_pkce {
                    return Err(DiscoveryError::NoPkceS256);
                }
                return Ok(metadata);
            }
            Err(e) => last = e,
        }
    }
    Err(DiscoveryError::Unreachable {
        tried: urls.iter().map(Url::as_str).collect::<Vec<_>>().join(", "),
        reason: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_rfc8414_path_insertion() {
        let urls = metadata_urls(&Url::parse("https://as.example.com/tenant1").unwrap());
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            vec![
                "https://as.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://as.example.com/.well-known/openid-configuration/tenant1",
                "https://as.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        let root = metadata_urls(&Url::parse("https://as.example.com").unwrap());
        assert_eq!(
            root[0].as_str(),
            "https://as.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(root.len(), 2);
    }
}
