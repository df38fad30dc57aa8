//! Migrating step by step: a server holding `#[secure_tool]`s and plain rmcp `#[tool]`s side
//! by side (`#[secure_server(extend = Self::tool_router)]`). The plain tools still need an
//! authenticated caller, are rate limited per caller, have their output redacted and are
//! audited; they are marked in the listing, named at start and flagged by the checker.

use mcp_secure::{
    Principal, RateSpec, Security,
    redact::SecretString,
    rmcp::{
        RoleClient, RoleServer, ServiceExt,
        handler::server::{router::tool::ToolRouter, wrapper::Parameters},
        service::RunningService,
        transport::async_rw::AsyncRwTransport,
    },
    scope::ScopeSet,
    secure_server,
    stdio::LocalPrincipalTransport,
};
use mcp_secure_tests::{LogCapture, audit_events, call, error_body, ok_body};
use rmcp::{tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Echo {
    text: String,
}

#[derive(Clone)]
struct Migrating {
    security: Security,
}

/// The tools not yet migrated: an ordinary rmcp `#[tool_router]`.
#[tool_router]
impl Migrating {
    /// Echo, as it always was.
    #[tool]
    async fn legacy_echo(&self, Parameters(input): Parameters<Echo>) -> String {
        input.text
    }

    /// Leaks a secret, as old code might.
    #[tool]
    async fn legacy_config(&self) -> String {
        "connect with sk-live-0123456789abcdef".to_owned()
    }

    /// Who called (the principal reaches plain tools too).
    #[tool]
    async fn legacy_whoami(&self, caller: Principal) -> String {
        caller.subject().to_owned()
    }
}

/// The migrated ones.
#[secure_server(scopes = "data:read", extend = Self::tool_router, name = "migrating")]
impl Migrating {
    /// Read, secured.
    #[secure_tool(scopes = "data:read")]
    async fn read(&self) -> &'static str {
        "read ok"
    }
}

fn server() -> Migrating {
    let secret = SecretString::from("sk-live-0123456789abcdef".to_owned());
    Migrating {
        security: Security::builder()
            .secret(&secret)
            .unsecured_rate(RateSpec::new(3, 60, 3))
            .build(),
    }
}

async fn connect(principal: Option<Principal>) -> RunningService<RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
    let server = server();
    tokio::spawn(async move {
        let running = match principal {
            Some(p) => {
                server
                    .serve(LocalPrincipalTransport::new(transport, p))
                    .await
            }
            None => server.serve(transport).await,
        };
        if let Ok(running) = running {
            let _ = running.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    ().serve((cr, cw)).await.expect("handshake")
}

fn reader() -> Principal {
    Principal::local("rita", ScopeSet::parse("data:read").unwrap())
}

#[tokio::test]
async fn plain_tools_are_listed_beside_secured_ones_and_marked_unsecured() {
    let client = connect(Some(reader())).await;
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["legacy_config", "legacy_echo", "legacy_whoami", "read"]
    );
    for tool in &tools {
        let meta = serde_json::to_value(&tool.meta).unwrap();
        let unsecured = meta["mcp-secure/unsecured"] == json!(true);
        assert_eq!(unsecured, tool.name != "read", "{}: {meta}", tool.name);
    }
    // The checker flags them.
    let listing = json!({"tools": serde_json::to_value(&tools).unwrap()});
    let checks = mcp_secure::check::run(
        &Ok(mcp_secure::SecureConfig::default()),
        &mcp_secure::check::CheckOptions::default().tools(listing),
    )
    .await;
    let tool_check = checks.iter().find(|c| c.name == "tool_scopes").unwrap();
    assert!(
        tool_check.detail.contains("legacy_echo"),
        "{}",
        tool_check.detail
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn plain_tools_run_for_an_authenticated_caller_and_are_audited() {
    let logs = LogCapture::start();
    let client = connect(Some(reader())).await;
    let echoed = call(&client, "legacy_echo", json!({"text": "hi"})).await;
    assert_eq!(ok_body(&echoed), json!("hi"));
    let who = call(&client, "legacy_whoami", json!({})).await;
    assert_eq!(ok_body(&who), json!("rita"));
    client.cancel().await.unwrap();
    let events = audit_events(&logs.contents());
    let allowed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "tool_call" && e["decision"] == "allowed")
        .collect();
    assert!(
        allowed
            .iter()
            .any(|e| e["tool"] == "legacy_echo" && e["subject"] == "rita"),
        "{events:?}"
    );
}

#[tokio::test]
async fn plain_tools_refuse_an_unauthenticated_caller() {
    let logs = LogCapture::start();
    let client = connect(None).await;
    let result = call(&client, "legacy_echo", json!({"text": "hi"})).await;
    assert_eq!(error_body(&result)["code"], "UNAUTHENTICATED");
    client.cancel().await.unwrap();
    let events = audit_events(&logs.contents());
    assert!(
        events.iter().any(|e| e["tool"] == "legacy_echo"
            && e["decision"] == "denied"
            && e["reason"] == "unauthenticated"),
        "{events:?}"
    );
}

#[tokio::test]
async fn plain_tools_share_a_per_caller_budget_and_have_their_output_redacted() {
    let logs = LogCapture::start();
    let client = connect(Some(reader())).await;
    // The unsecured budget is 3 a minute across the plain tools.
    let leaked = call(&client, "legacy_config", json!({})).await;
    let text = mcp_secure_tests::wire_text(&leaked);
    assert!(!text.contains("sk-live-0123456789abcdef"), "{text}");
    assert!(text.contains("connect with ***"), "{text}");
    call(&client, "legacy_echo", json!({"text": "2"})).await;
    call(&client, "legacy_echo", json!({"text": "3"})).await;
    let limited = call(&client, "legacy_echo", json!({"text": "4"})).await;
    assert_eq!(error_body(&limited)["code"], "RATE_LIMITED");
    // Secured tools keep their own budgets.
    let read = call(&client, "read", json!({})).await;
    assert_eq!(ok_body(&read), json!("read ok"));
    client.cancel().await.unwrap();
    let events = audit_events(&logs.contents());
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "redaction_applied" && e["tool"] == "legacy_config"),
        "{events:?}"
    );
}

#[test]
fn a_plain_router_is_an_ordinary_rmcp_router() {
    // What `extend` takes is exactly what rmcp's `#[tool_router]` generates.
    let router: ToolRouter<Migrating> = Migrating::tool_router();
    assert_eq!(router.list_all().len(), 3);
}

/// `scopes_any`: a tool either of two roles may call.
#[derive(Clone)]
struct Reports {
    security: Security,
}

#[secure_server(
    scopes = "billing:read audit:read admin:full data:read",
    hierarchy = "admin:full > billing:read",
    name = "reports"
)]
impl Reports {
    /// The quarterly report: for billing clerks and auditors.
    #[secure_tool(scopes_any = "billing:read audit:read")]
    async fn report(&self) -> &'static str {
        "report"
    }
}

async fn reports_as(scopes: &str) -> RunningService<RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
    let principal = Principal::local("who", ScopeSet::parse(scopes).unwrap());
    let server = Reports {
        security: Security::default(),
    };
    tokio::spawn(async move {
        if let Ok(running) = server
            .serve(LocalPrincipalTransport::new(transport, principal))
            .await
        {
            let _ = running.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    ().serve((cr, cw)).await.expect("handshake")
}

#[tokio::test]
async fn scopes_any_admits_either_role_and_the_roles_above_them() {
    for scopes in ["billing:read", "audit:read", "admin:full"] {
        let client = reports_as(scopes).await;
        let listed = client.list_all_tools().await.unwrap();
        assert_eq!(listed.len(), 1, "{scopes}");
        let meta = serde_json::to_value(&listed[0].meta).unwrap();
        assert_eq!(
            meta["mcp-secure/scopes_any"],
            json!(["billing:read", "audit:read"])
        );
        let result = call(&client, "report", json!({})).await;
        assert_eq!(ok_body(&result), json!("report"), "{scopes}");
        client.cancel().await.unwrap();
    }
    let client = reports_as("data:read").await;
    assert!(client.list_all_tools().await.unwrap().is_empty());
    let refused = error_body(&call(&client, "report", json!({})).await);
    assert_eq!(refused["code"], "INSUFFICIENT_SCOPE");
    assert_eq!(refused["any_of"], json!(["billing:read", "audit:read"]));
    assert_eq!(refused["missing"], json!(["billing:read"]));
    assert_eq!(
        refused["message"],
        "This tool requires one of the scopes: billing:read audit:read"
    );
    client.cancel().await.unwrap();
}
