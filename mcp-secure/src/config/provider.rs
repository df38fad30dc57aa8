//! Identity provider presets: what each provider's access tokens look like, so the resource
//! server accepts exactly them. `OAUTH_PROVIDER=entra|auth0|okta|keycloak|cognito|generic`
//! sets the claim mapping and the known quirks; each quirk is named at start, and a
//! configuration that cannot work with the provider is refused with the reason.
//!
//! Sources (each fact below is from the provider's own documentation):
//! - Microsoft Entra ID: "Access token claims reference" (learn.microsoft.com,
//!   `identity-platform/access-token-claims-reference`): header `typ` is always `JWT`; v2.0
//!   `aud` is the API's client ID; `scp` is a space-separated string; `roles` an array;
//!   `tid` the tenant; `azp` the client. "Access tokens" (`access-tokens#token-lifetime`):
//!   default lifetime a random 60-90 minutes.
//! - Auth0: "Access Token Profiles" (auth0.com/docs/secure/tokens/access-tokens/
//!   access-token-profiles): issuer ends with `/`, `aud` an array with the API identifier and
//!   the userinfo URL, `azp` (default profile) or `client_id` (RFC 9068 profile), RBAC
//!   `permissions`; "Update Access Token Lifetime": default 86,400 s.
//! - Okta: OIDC & OAuth 2.0 API reference (developer.okta.com, access token): header `alg`
//!   and `kid` only (no `typ`); `scp` an array; `cid` the client; custom authorization
//!   server `default` with audience `api://default`.
//! - Keycloak: audience `account` on a new realm (Audience Resolve), roles in
//!   `realm_access.roles` and `resource_access.<client>.roles`; an Audience mapper names an
//!   API (keycloak.org server admin guide, "Audience support").
//! - Amazon Cognito: "Understanding the access token" (docs.aws.amazon.com/cognito): header
//!   `kid` and `alg` only; `client_id`, `scope`, `token_use: access`, no `aud`; lifetime
//!   5 minutes to 1 day.

use super::{Collector, SecureConfig};

/// An identity provider with a preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Provider {
    /// Any RFC 9068 / RFC 8707 authorization server (default).
    #[default]
    Generic,
    /// Microsoft Entra ID (v2.0 tokens).
    Entra,
    /// Auth0.
    Auth0,
    /// Okta (a custom authorization server).
    Okta,
    /// Keycloak.
    Keycloak,
    /// Amazon Cognito user pools.
    Cognito,
}

/// How a provider's access tokens look, and what the server must know about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Preset {
    /// The provider's name for messages.
    pub name: &'static str,
    /// Its access tokens carry `typ: JWT`, or no `typ`, rather than RFC 9068's `at+jwt`.
    pub no_at_jwt: bool,
    /// Where scopes are read from (claim paths), in order.
    pub scope_claims: &'static [&'static str],
    /// Where the client id is read from, first found wins.
    pub client_id_claims: &'static [&'static str],
    /// The claim that must name this server: `aud` (RFC 8707), or `client_id` for a provider
    /// whose access tokens have no audience.
    pub audience_claim: &'static str,
    /// Claims that must hold exactly this value.
    pub required_claims: &'static [(&'static str, &'static str)],
    /// The provider's metadata lists `code_challenge_methods_supported` (else the start-up
    /// check of PKCE S256 in the metadata is skipped, as the provider documents S256).
    pub pkce_in_metadata: bool,
    /// The claim naming the tenant, for a tenant allow-list.
    pub tenant_claim: Option<&'static str>,
    /// The longest token lifetime the provider issues by default, when above the 60-minute
    /// default maximum (then raised to it, a warning, and refused under `strict`).
    pub default_lifetime: Option<u64>,
}

const GENERIC: Preset = Preset {
    name: "generic",
    no_at_jwt: false,
    scope_claims: &["scope", "scp"],
    client_id_claims: &["client_id", "azp"],
    audience_claim: "aud",
    required_claims: &[],
    pkce_in_metadata: true,
    tenant_claim: None,
    default_lifetime: None,
};

impl Provider {
    /// Every provider, for messages.
    pub const ALL: &'static [(&'static str, Provider)] = &[
        ("generic", Self::Generic),
        ("entra", Self::Entra),
        ("auth0", Self::Auth0),
        ("okta", Self::Okta),
        ("keycloak", Self::Keycloak),
        ("cognito", Self::Cognito),
    ];

    /// The provider's preset.
    pub const fn preset(self) -> Preset {
        match self {
            Self::Generic => GENERIC,
            Self::Entra => Preset {
                name: "Microsoft Entra ID",
                no_at_jwt: true,
                scope_claims: &["scp", "roles"],
                client_id_claims: &["azp", "appid"],
                pkce_in_metadata: false,
                tenant_claim: Some("tid"),
                default_lifetime: Some(5400),
                ..GENERIC
            },
            Self::Auth0 => Preset {
                name: "Auth0",
                no_at_jwt: true,
                scope_claims: &["scope", "permissions"],
                client_id_claims: &["azp", "client_id"],
                ..GENERIC
            },
            Self::Okta => Preset {
                name: "Okta",
                no_at_jwt: true,
                scope_claims: &["scp"],
                client_id_claims: &["cid"],
                ..GENERIC
            },
            Self::Keycloak => Preset {
                name: "Keycloak",
                no_at_jwt: true,
                scope_claims: &["scope"],
                client_id_claims: &["azp"],
                ..GENERIC
            },
            Self::Cognito => Preset {
                name: "Amazon Cognito",
                no_at_jwt: true,
                scope_claims: &["scope"],
                client_id_claims: &["client_id"],
                audience_claim: "client_id",
                required_claims: &[("token_use", "access")],
                ..GENERIC
            },
        }
    }
}

/// Entra's application id of Microsoft Graph: its tokens are not for third parties to
/// validate.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Applies the preset's defaults to what the configuration did not set itself, and records
/// the provider's quirks: relaxations as warnings (errors under `strict`), configurations
/// that cannot work as errors naming the fix.
pub(crate) fn apply(config: &mut SecureConfig, c: &mut Collector) {
    let provider = config.oauth.provider;
    let preset = provider.preset();
    if provider == Provider::Generic {
        return;
    }
    let name = preset.name;
    if preset.no_at_jwt && !config.explicitly_set("oauth.allow_jwt_typ") {
        config.oauth.allow_jwt_typ = true;
    }
    if let Some(lifetime) = preset.default_lifetime
        && !config.explicitly_set("oauth.token_ttl_seconds")
    {
        config.oauth.token_ttl_seconds = lifetime;
    }
    let o = &config.oauth;
    let audiences = o.audiences();
    match provider {
        Provider::Entra => entra(config, c),
        Provider::Auth0 => {
            if audiences.is_empty() {
                c.error(
                    "OAUTH_AUDIENCE",
                    "Auth0 issues opaque access tokens unless the client asks for an API: create \
                     an API at Auth0 (Applications > APIs) and set OAUTH_AUDIENCE to its identifier \
                     (and OAUTH_RESOURCE to this server's URL, unless they are the same)",
                );
            }
            if o.issuer.as_deref().is_some_and(|i| !i.ends_with('/')) {
                c.error(
                    "OAUTH_ISSUER",
                    "Auth0 issuers end with `/` (https://TENANT.auth0.com/): add the trailing slash",
                );
            }
            c.warning(
                "OAUTH_PROVIDER",
                "Auth0's default token profile sets `typ: JWT`, not `at+jwt`: accepted; choose the \
                 RFC 9068 profile for the API at Auth0 and set OAUTH_ALLOW_JWT_TYP=false to require it",
            );
        }
        Provider::Okta => {
            if audiences.is_empty() {
                c.error(
                    "OAUTH_AUDIENCE",
                    "Okta tokens name the authorization server's audience (`api://default` for the \
                     default server): set OAUTH_AUDIENCE to it",
                );
            }
            c.warning(
                "OAUTH_PROVIDER",
                "Okta access tokens carry no `typ` header: tokens without `typ` are accepted",
            );
        }
        Provider::Keycloak => {
            if audiences.is_empty() || audiences.contains(&"account") {
                c.error(
                    "OAUTH_AUDIENCE",
                    "Keycloak gives every token of a realm the audience `account`: add an Audience \
                     mapper naming this server to the client scope and set OAUTH_AUDIENCE to that value",
                );
            }
            c.warning(
                "OAUTH_PROVIDER",
                "Keycloak access tokens carry `typ: JWT`, not `at+jwt`: accepted",
            );
        }
        Provider::Cognito => {
            if audiences.is_empty() {
                c.error(
                    "OAUTH_AUDIENCE",
                    "Cognito access tokens carry no `aud`: set OAUTH_AUDIENCE to the app client \
                     ids allowed to call this server (matched against `client_id`), and \
                     OAUTH_RESOURCE to this server's URL",
                );
            }
            c.warning(
                "OAUTH_PROVIDER",
                "Cognito access tokens have no audience: they are bound to this server by their \
                 `client_id` (OAUTH_AUDIENCE) and must have `token_use: access`",
            );
        }
        Provider::Generic => {}
    }
    if let Some(lifetime) = preset.default_lifetime
        && !config.explicitly_set("oauth.token_ttl_seconds")
    {
        c.warning(
            "OAUTH_TOKEN_TTL_SECONDS",
            format!(
                "{name} issues tokens living up to {lifetime} s by default: accepted; to keep the \
                 60-minute maximum, shorten the lifetime at {name} and set OAUTH_TOKEN_TTL_SECONDS=3600"
            ),
        );
    }
}

fn entra(config: &SecureConfig, c: &mut Collector) {
    let o = &config.oauth;
    let audiences = o.audiences();
    if audiences.is_empty() {
        c.error(
            "OAUTH_AUDIENCE",
            "Entra v2.0 tokens name the API's application (client) ID in `aud`: set \
             OAUTH_AUDIENCE to it (and OAUTH_RESOURCE to this server's URL)",
        );
    }
    if audiences
        .iter()
        .any(|a| *a == GRAPH_APP_ID || a.starts_with("https://graph.microsoft.com"))
    {
        c.error(
            "OAUTH_AUDIENCE",
            "tokens for Microsoft Graph cannot be validated by other servers: expose an API for \
             this server in its app registration and use its client ID",
        );
    }
    let multi_tenant = o.issuers().iter().any(|i| is_multi_tenant(i));
    if multi_tenant && o.tenants.is_empty() {
        c.error(
            "OAUTH_TENANTS",
            "a multi-tenant Entra issuer accepts any tenant's tokens: list the tenant IDs allowed \
             in OAUTH_TENANTS (each becomes a trusted issuer)",
        );
    }
    c.warning(
        "OAUTH_PROVIDER",
        "Entra access tokens carry `typ: JWT`, not `at+jwt`: accepted (the audience check keeps \
         ID tokens out unless the client and this API share one app registration)",
    );
}

/// Whether an Entra issuer stands for many tenants (`/common/`, `/organizations/`,
/// `/consumers/`, or a `{tenantid}` template).
pub(crate) fn is_multi_tenant(issuer: &str) -> bool {
    ["/common/", "/organizations/", "/consumers/", "{tenantid}"]
        .iter()
        .any(|t| issuer.contains(t))
}

/// The issuer URL of an Entra tenant (v2.0 endpoint).
pub(crate) fn entra_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}
