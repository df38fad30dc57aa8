//! The consent page (a template, `consent.html`) and its answer: a person picks a configured
//! user and approves, or denies.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
};
use url::Url;

use super::{
    Shared,
    authorize::issue_code,
    store::{Client, MAX_ENTRIES, Pending, random_token},
    web::{error_page, escape_html, parse_params, redirect_error, render, security_headers},
};

/// How long a consent page stays answerable.
pub(super) const CONSENT_TTL: Duration = Duration::from_secs(600);

/// The page, with `{{name}}`, `{{host}}`, `{{scopes}}`, `{{request}}` and `{{users}}`.
const TEMPLATE: &str = include_str!("consent.html");

pub(super) fn consent_page(s: &Shared, client: &Client, pending: Pending) -> Response {
    let id = random_token();
    let scopes = pending.scopes.to_string();
    let headers = security_headers(Some(&pending.redirect_uri));
    let redirect_host = Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    {
        let mut store = s.store();
        store.sweep(CONSENT_TTL);
        if store.pending.len() >= MAX_ENTRIES {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many pending authorizations.",
            );
        }
        store.pending.insert(id.clone(), pending);
    }
    let users: String = s
        .config
        .users
        .iter()
        .map(|u| {
            format!(
                "<option value=\"{0}\">{0} ({1})</option>",
                escape_html(&u.name),
                escape_html(&u.scopes.to_string())
            )
        })
        .collect();
    let name = escape_html(&client.name);
    let host = escape_html(&redirect_host);
    let scopes = escape_html(if scopes.is_empty() { "(none)" } else { &scopes });
    let html = render(
        TEMPLATE,
        &[
            ("name", &name),
            ("host", &host),
            ("scopes", &scopes),
            ("request", &id),
            ("users", &users),
        ],
    );
    (StatusCode::OK, headers, Html(html)).into_response()
}

/// Whether a form post comes from the consent page itself. A browser names the page a post
/// comes from in `Origin` (and, in current browsers, `Sec-Fetch-Site`): a post from any other
/// origin (a page that frames or forges the form) is refused before the pending request is
/// touched, so a refused post does not use it up. A post with neither header does not come
/// from a browser page, so no cross-site page made it.
fn posted_by_the_consent_page(s: &Shared, headers: &HeaderMap) -> bool {
    let origin = headers.get(axum::http::header::ORIGIN);
    let fetch_site = headers.get("sec-fetch-site");
    let origin_ok = origin.is_none_or(|o| {
        Url::parse(&s.issuer)
            .is_ok_and(|issuer| o.as_bytes() == issuer.origin().ascii_serialization().as_bytes())
    });
    let site_ok = fetch_site.is_none_or(|f| f.as_bytes() == b"same-origin");
    origin_ok && site_ok
}

/// The consent form's answer.
pub(super) async fn decision(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !posted_by_the_consent_page(&s, &headers) {
        tracing::warn!(
            target: crate::audit::TARGET,
            event = "consent_cross_origin",
            "dev authorization server refused a consent answer posted from another origin"
        );
        return error_page(
            StatusCode::FORBIDDEN,
            "This form can only be answered from its own page.",
        );
    }
    let Ok(p) = parse_params(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "Malformed form.");
    };
    let Some(pending) = p.get("request").and_then(|id| s.store().pending.remove(id)) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This authorization request expired or was already answered.",
        );
    };
    if pending.created.elapsed() > CONSENT_TTL {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This authorization request expired.",
        );
    }
    if p.get("decision").map(String::as_str) != Some("approve") {
        return redirect_error(
            &s,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
            "the user denied the request",
        );
    }
    let Some(user) = p
        .get("user")
        .filter(|u| s.config.users.iter().any(|x| &x.name == *u))
    else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown user.");
    };
    issue_code(&s, pending, user)
}
