//! A real browser (Debian's `chromium`, driven over WebDriver by `chromedriver`) on the
//! development server's consent page: a person picks a configured user and approves, and the
//! client's callback receives its code; a denial sends `access_denied` back; the page cannot
//! be framed by another site, and its form cannot be posted from one.
//!
//! Without `chromedriver` and `chromium` the tests skip, unless `MCP_SECURE_REQUIRE_CLIENTS`
//! (set by `.ci/run`, which installs both) makes their absence a failure.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    extract::{Query, RawQuery, State},
    response::Html,
    routing::get,
};
use fantoccini::{Client, ClientBuilder, Locator};

use super::*;

/// `chromedriver` running on a free loopback port, and a browser session in it.
struct Browser {
    client: Client,
    driver: tokio::process::Child,
}

impl Browser {
    /// A headless Chromium session, or `None` when the browser is not installed (the test
    /// skips) and `MCP_SECURE_REQUIRE_CLIENTS` is not set.
    async fn start(test: &str) -> Option<Self> {
        let driver_path =
            std::env::var("MCP_SECURE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let chromium = std::env::var("MCP_SECURE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let installed = std::process::Command::new(&driver_path)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
            && std::process::Command::new(&chromium)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                std::env::var_os("MCP_SECURE_REQUIRE_CLIENTS").is_none(),
                "{test}: MCP_SECURE_REQUIRE_CLIENTS is set but chromedriver or chromium is \
                 missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipped {test}: chromedriver and chromium are not installed");
            return None;
        }
        let port = free_port();
        let driver = tokio::process::Command::new(&driver_path)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        wait_for_port(port).await;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": which(&chromium),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-extensions", "--no-first-run",
                    "--disable-sync", "--disable-features=Translate,OptimizationHints",
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Some(Self { client, driver })
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

/// `program`'s full path (chromedriver wants the binary's path).
fn which(program: &str) -> String {
    if program.contains('/') {
        return program.to_owned();
    }
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| format!("{dir}/{program}"))
        .find(|path| std::path::Path::new(path).is_file())
        .unwrap_or_else(|| program.to_owned())
}

/// The client's site, on another origin: its OAuth callback (recording every query it
/// receives), a page that frames a URL, and a page that forges a consent answer.
struct ClientSite {
    origin: String,
    callbacks: Arc<Mutex<Vec<String>>>,
}

impl ClientSite {
    async fn start(issuer: &str) -> Self {
        #[derive(Clone)]
        struct Site {
            issuer: String,
            callbacks: Arc<Mutex<Vec<String>>>,
        }
        let callbacks = Arc::new(Mutex::new(Vec::new()));
        let site = Site {
            issuer: issuer.to_owned(),
            callbacks: callbacks.clone(),
        };
        let app = Router::new()
            .route(
                "/callback",
                get(|State(site): State<Site>, RawQuery(q): RawQuery| async move {
                    site.callbacks.lock().unwrap().push(q.unwrap_or_default());
                    Html("<p id=received>received</p>")
                }),
            )
            .route(
                "/frame",
                get(|Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    Html(format!(
                        "<p id=framing>framing</p><iframe src=\"{}\"></iframe>",
                        q.get("src").cloned().unwrap_or_default().replace('"', "&quot;")
                    ))
                }),
            )
            .route(
                "/forge",
                get(
                    |State(site): State<Site>,
                     Query(q): Query<std::collections::HashMap<String, String>>| async move {
                        Html(format!(
                            "<form id=f method=post action=\"{}/authorize/decision\">\
                             <input type=hidden name=request value=\"{}\">\
                             <input type=hidden name=user value=root>\
                             <input type=hidden name=decision value=approve></form>\
                             <script>document.getElementById('f').submit()</script>",
                            site.issuer,
                            q.get("request").cloned().unwrap_or_default()
                        ))
                    },
                ),
            )
            .with_state(site);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { origin, callbacks }
    }

    fn redirect(&self) -> String {
        format!("{}/callback", self.origin)
    }

    fn callbacks(&self) -> Vec<String> {
        self.callbacks.lock().unwrap().clone()
    }
}

/// A development server that shows its consent page, with a client registered for `site`.
async fn consent_server() -> (Dev, ClientSite, String) {
    let d = dev_with(|c| c.approval(Approval::Consent).unwrap()).await;
    let site = ClientSite::start(&d.issuer).await;
    let client = register(&d.issuer, &site.redirect()).await;
    (d, site, client)
}

/// The authorization URL for `client`, and the PKCE verifier.
fn authorization_url(d: &Dev, site: &ClientSite, client: &str, state: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut url = Url::parse(&format!("{}/authorize", d.issuer)).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", site.redirect().as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "data:read"),
        ("state", state),
        ("resource", RESOURCE),
    ]);
    (url.to_string(), verifier)
}

/// Waits (at most ten seconds) until the browser is on the client's callback; its query.
async fn landed_on_callback(browser: &Browser, site: &ClientSite) -> Url {
    let waited = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("received"))
        .await;
    if waited.is_err() {
        panic!(
            "the browser did not reach the client's callback: on {:?}: {:?}",
            browser.client.current_url().await,
            browser.client.source().await
        );
    }
    let url = browser.client.current_url().await.unwrap();
    assert!(url.as_str().starts_with(&site.redirect()), "{url}");
    url
}

#[tokio::test]
async fn a_browser_approves_as_a_chosen_user_and_the_client_gets_its_code_or_access_denied() {
    let Some(browser) = Browser::start("a_browser_approves_as_a_chosen_user").await else {
        return;
    };
    let (d, site, client) = consent_server().await;

    // Approve as `root` (not the first user): the code is root's.
    let (url, verifier) = authorization_url(&d, &site, &client, "s-approve");
    browser.client.goto(&url).await.unwrap();
    let page = browser.client.source().await.unwrap();
    assert!(
        page.contains("data:read"),
        "the page shows the scopes: {page}"
    );
    browser
        .client
        .find(Locator::Css("select[name=user]"))
        .await
        .unwrap()
        .select_by_value("root")
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Css("button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let callback = landed_on_callback(&browser, &site).await;
    assert_eq!(query(&callback, "state").as_deref(), Some("s-approve"));
    assert_eq!(query(&callback, "iss").as_deref(), Some(d.issuer.as_str()));
    let code = query(&callback, "code").expect("a code");
    let (status, body) = token(
        &d.issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &site.redirect()),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], "root");
    assert_eq!(access["scope"], "data:read");

    // Deny: the client hears access_denied with its state, and no code.
    let (url, _) = authorization_url(&d, &site, &client, "s-deny");
    browser.client.goto(&url).await.unwrap();
    browser
        .client
        .find(Locator::Css("button[value=deny]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let callback = landed_on_callback(&browser, &site).await;
    assert_eq!(query(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&callback, "state").as_deref(), Some("s-deny"));
    assert_eq!(query(&callback, "code"), None);
    assert_eq!(site.callbacks().len(), 2);

    browser.stop().await;
    d.server.shutdown().await;
}

#[tokio::test]
async fn another_site_can_neither_frame_the_consent_page_nor_post_its_form() {
    let Some(browser) = Browser::start("another_site_can_neither_frame_nor_post").await else {
        return;
    };
    let (d, site, client) = consent_server().await;

    // Framed by the client's site: the browser does not render the page (frame-ancestors
    // 'none', X-Frame-Options: DENY), so there is no form to click in the frame.
    let (url, _) = authorization_url(&d, &site, &client, "s-frame");
    let mut frame = Url::parse(&format!("{}/frame", site.origin)).unwrap();
    frame.query_pairs_mut().append_pair("src", &url);
    browser.client.goto(frame.as_str()).await.unwrap();
    browser.client.find(Locator::Id("framing")).await.unwrap();
    browser.client.enter_frame(0).await.unwrap();
    let framed = browser.client.find(Locator::Css("form")).await;
    assert!(
        framed.is_err(),
        "the consent form rendered inside another site's frame"
    );
    browser.client.enter_parent_frame().await.unwrap();

    // A live pending request (as a page the attacker opened would hold), answered by a form
    // on the client's site that the browser posts cross-origin: refused, no code issued.
    let (url, _) = authorization_url(&d, &site, &client, "s-forge");
    let page = http().get(&url).send().await.unwrap().text().await.unwrap();
    let request = page
        .split("name=request value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the consent page's request id")
        .to_owned();
    let mut forge = Url::parse(&format!("{}/forge", site.origin)).unwrap();
    forge.query_pairs_mut().append_pair("request", &request);
    browser.client.goto(forge.as_str()).await.unwrap();
    let posted = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&Url::parse(&format!("{}/authorize/decision", d.issuer)).unwrap())
        .await;
    assert!(
        site.callbacks().is_empty(),
        "a consent answer forged on another site reached the client: {:?}",
        site.callbacks()
    );
    posted.expect("the browser shows the refusal");
    let answer = browser.client.source().await.unwrap();
    // The Origin guard refuses it before the consent check (which stays, for origins the
    // guard allows, such as the resource's).
    assert!(answer.contains("Origin not allowed"), "{answer}");
    // The refusal did not use the pending request up: the page itself can still answer it.
    let r = http()
        .post(format!("{}/authorize/decision", d.issuer))
        .header("origin", d.issuer.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("request={request}&user=alice&decision=approve"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());

    browser.stop().await;
    d.server.shutdown().await;
}
