//! RFC 9728 protected resource metadata.

use std::sync::Arc;

use axum::{Json, response::IntoResponse};
use serde::Serialize;

use super::HttpConfig;
use crate::policy::ServerPolicy;

/// The document served at `/.well-known/oauth-protected-resource[/mcp]`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// This resource's canonical URI (the audience tokens must carry).
    pub resource: String,
    /// The authorization servers that issue tokens for it.
    pub authorization_servers: Vec<String>,
    /// Every scope the server declares (catalogue, hierarchy and tools).
    pub scopes_supported: Vec<String>,
    /// How tokens are sent: the `Authorization` header only.
    pub bearer_methods_supported: Vec<&'static str>,
    /// A human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// The algorithms DPoP proofs may be signed with, when DPoP is accepted (RFC 9728).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<&'static str>>,
    /// `true` when only DPoP-bound tokens are accepted (RFC 9728).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens_required: Option<bool>,
}

impl ProtectedResourceMetadata {
    /// The metadata for a server with `policy` under `config`.
    pub fn for_server(policy: &ServerPolicy, config: &HttpConfig) -> Self {
        Self {
            resource: config.resource().to_string(),
            authorization_servers: config.authorization_servers.clone(),
            scopes_supported: policy.declared_scopes().iter().map(str::to_owned).collect(),
            bearer_methods_supported: vec!["header"],
            resource_name: config
                .resource_name
                .clone()
                .or_else(|| Some(policy.name.to_owned())),
            dpop_signing_alg_values_supported: config.dpop.as_ref().map(|d| {
                d.algorithms
                    .iter()
                    .map(|a| crate::auth::keys::alg_name(*a))
                    .collect()
            }),
            dpop_bound_access_tokens_required: config
                .dpop
                .as_ref()
                .map(|d| d.mode == crate::auth::dpop::DpopMode::Required),
        }
    }
}

pub(super) async fn serve(metadata: Arc<ProtectedResourceMetadata>) -> impl IntoResponse {
    (
        [(http::header::CACHE_CONTROL, "public, max-age=300")],
        Json((*metadata).clone()),
    )
}
