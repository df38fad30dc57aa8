//! The pipeline in process: an rmcp client and a secured server joined by an in-memory duplex,
//! for the cases the example cannot show (no principal, expired credentials, tool failures,
//! `#[derive(Redact)]` output, per-tool input caps, list visibility).

use std::time::{Duration, SystemTime};

use mcp_secure::{
    Principal, ScopeSet, Security, ToolVisibility,
    prelude::*,
    redact::Redact,
    rmcp::{
        RoleClient, RoleServer, ServiceExt, service::RunningService,
        transport::async_rw::AsyncRwTransport,
    },
    stdio::LocalPrincipalTransport,
};
use mcp_secure_tests::{LogCapture, call, error_body, error_code, ok_body, wire_text};
use serde_json::{Value, json};

const CANARY: &str = "CANARY-41d2-in-process";

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Echo {
    #[validate(length(max = 10_000))]
    text: String,
}

#[derive(serde::Serialize, schemars::JsonSchema, Redact)]
struct Account {
    user: String,
    #[redact]
    api_token: String,
    #[redact]
    recovery_codes: Vec<String>,
    note: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(scopes = "read write", hierarchy = "write > read")]
impl Server {
    #[secure_tool(scopes = "read")]
    async fn echo(&self, Parameters(input): Parameters<Echo>) -> String {
        input.text
    }

    #[secure_tool(scopes = "read", max_input_bytes = 64)]
    async fn small(&self, Parameters(input): Parameters<Echo>) -> String {
        input.text
    }

    #[secure_tool(scopes = "write")]
    async fn account(&self) -> Json<Account> {
        Json(Account {
            user: "alice".into(),
            api_token: CANARY.into(),
            recovery_codes: vec![CANARY.into()],
            note: "kept".into(),
        })
    }

    #[secure_tool(public)]
    async fn fails(&self) -> Result<String, std::io::Error> {
        Err(std::io::Error::other(format!(
            "db at postgresql://u:{CANARY}@h/db refused\nforged"
        )))
    }

    #[secure_tool(public)]
    async fn custom_error(&self) -> Result<String, ToolError> {
        Err(ToolError::not_found("nothing here").with_detail("hint", "try another id"))
    }

    #[secure_tool(public)]
    async fn no_args(&self) -> &'static str {
        "ok"
    }

    #[secure_tool(public, rate = "3/h")]
    async fn scarce(&self) -> &'static str {
        "ok"
    }
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Counted {
    count: u64,
}

#[derive(Clone)]
struct Counter {
    security: Security,
}

#[secure_server]
impl Counter {
    /// A tool with an output schema (whose `u64` field schemars would give `format: uint64`).
    #[secure_tool(public, rate = "2/h")]
    async fn counted(
        &self,
        Parameters(input): Parameters<Echo>,
    ) -> Result<Json<Counted>, ToolError> {
        if input.text == "missing" {
            return Err(ToolError::not_found("no such thing"));
        }
        Ok(Json(Counted { count: 1 }))
    }

    #[secure_tool(public)]
    async fn plain(&self) -> Result<String, ToolError> {
        Err(ToolError::not_found("nothing here"))
    }
}

async fn connect(server: Server, principal: Option<Principal>) -> RunningService<RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
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

fn principal(scopes: &str) -> Principal {
    Principal::local("tester", ScopeSet::parse(scopes).unwrap())
}

fn server() -> Server {
    Server {
        security: Security::default(),
    }
}

#[tokio::test]
async fn no_principal_means_unauthenticated() {
    let client = connect(server(), None).await;
    let result = call(&client, "no_args", json!({})).await;
    assert_eq!(error_code(&result), "UNAUTHENTICATED");
    assert_eq!(error_body(&result)["message"], "Authentication required");
    // And nothing is listed.
    assert!(client.list_all_tools().await.unwrap().is_empty());
}

#[tokio::test]
async fn expired_credentials_are_refused() {
    let expired = Principal::bearer("bob")
        .scopes(ScopeSet::parse("read").unwrap())
        .expires_at(SystemTime::now() - Duration::from_secs(1))
        .build();
    let client = connect(server(), Some(expired)).await;
    let result = call(&client, "echo", json!({"text": "x"})).await;
    assert_eq!(error_code(&result), "UNAUTHENTICATED");
}

#[tokio::test]
async fn derive_redact_masks_marked_fields_in_structured_and_text_output() {
    let client = connect(server(), Some(principal("write"))).await;
    let result = call(&client, "account", json!({})).await;
    let body = ok_body(&result);
    assert_eq!(body["api_token"], "***");
    assert_eq!(body["recovery_codes"], json!(["***"]));
    assert_eq!(body["note"], "kept");
    assert!(!wire_text(&result).contains(CANARY));
}

#[tokio::test]
async fn tool_failures_become_internal_without_leaking_their_text() {
    let logs = LogCapture::start();
    let client = connect(server(), Some(principal("read"))).await;
    let result = call(&client, "fails", json!({})).await;
    let body = error_body(&result);
    assert_eq!(body["code"], "INTERNAL");
    assert_eq!(body["message"], "Internal error");
    assert!(!wire_text(&result).contains(CANARY));
    assert!(!wire_text(&result).contains("postgresql"));
    client.cancel().await.unwrap();
    let log = logs.contents();
    // The operator sees the failure: its kind and its text with credentials masked and the
    // newline escaped.
    let event: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "tool_error")
        .expect("tool_error event");
    assert_eq!(event["error_kind"], "std::io::error::Error");
    let text = event["error"].as_str().unwrap();
    assert!(text.contains("postgresql://***:***@h/db"), "{text}");
    assert!(!text.contains('\n'));
    assert!(!log.contains(CANARY));
}

#[tokio::test]
async fn custom_tool_errors_keep_their_code_and_details() {
    let client = connect(server(), Some(principal("read"))).await;
    let result = call(&client, "custom_error", json!({})).await;
    let body = error_body(&result);
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(body["hint"], "try another id");
}

#[tokio::test]
async fn tools_without_parameters_ignore_arguments_like_rmcp_tools() {
    let client = connect(server(), Some(principal("read"))).await;
    ok_body(&call(&client, "no_args", json!({})).await);
    ok_body(&call(&client, "no_args", json!({"unexpected": 1})).await);
}

#[tokio::test]
async fn per_tool_input_cap_overrides_the_default() {
    let client = connect(server(), Some(principal("read"))).await;
    ok_body(&call(&client, "echo", json!({"text": "y".repeat(1000)})).await);
    let result = call(&client, "small", json!({"text": "y".repeat(100)})).await;
    let body = error_body(&result);
    assert_eq!(body["fields"][0]["rule"], "max_size");
    assert_eq!(body["limit_bytes"], 64);
}

#[tokio::test]
async fn secrets_registered_at_run_time_are_masked() {
    let s = server();
    let secret = SecretString::from(CANARY.to_string());
    s.security.redactor().register(&secret).unwrap();
    let client = connect(s, Some(principal("read"))).await;
    let result = call(
        &client,
        "echo",
        json!({"text": format!("leaked {CANARY}!")}),
    )
    .await;
    assert!(!wire_text(&result).contains(CANARY));
    assert_eq!(result.content[0].as_text().unwrap().text, "leaked ***!");
}

#[tokio::test]
async fn list_visibility_all_shows_every_tool_with_its_scopes() {
    let s = Server {
        security: Security::builder()
            .tool_visibility(ToolVisibility::All)
            .build(),
    };
    let client = connect(s, Some(principal("read"))).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 7);
    let account = tools.iter().find(|t| t.name == "account").unwrap();
    assert_eq!(
        account.meta.as_ref().unwrap().0["mcp-secure/scopes"],
        json!(["write"])
    );
    // Listed is not callable.
    assert_eq!(
        error_code(&call(&client, "account", json!({})).await),
        "INSUFFICIENT_SCOPE"
    );
}

#[tokio::test]
async fn rate_limit_budgets_are_per_caller() {
    let s = server();
    let alice = connect(s.clone(), Some(Principal::local("alice", ScopeSet::new()))).await;
    let bob = connect(s, Some(Principal::local("bob", ScopeSet::new()))).await;
    for _ in 0..3 {
        ok_body(&call(&alice, "scarce", json!({})).await);
    }
    let limited = call(&alice, "scarce", json!({})).await;
    let body = error_body(&limited);
    assert_eq!(body["code"], "RATE_LIMITED");
    // 3 per hour: the next call is 20 minutes away (rounded up to whole seconds).
    let retry = body["retry_after"].as_u64().unwrap();
    assert!((1199..=1200).contains(&retry), "{retry}");
    // Bob's budget is his own.
    ok_body(&call(&bob, "scarce", json!({})).await);
}

#[tokio::test]
async fn a_global_budget_caps_a_caller_across_tools() {
    let s = Server {
        security: Security::builder()
            .global_rate(mcp_secure::RateSpec::per_minute(3))
            .build(),
    };
    let alice = connect(s.clone(), Some(Principal::local("alice", ScopeSet::new()))).await;
    let bob = connect(s, Some(Principal::local("bob", ScopeSet::new()))).await;
    // `no_args` has no rate of its own; `scarce` has 3 an hour: the global 3 a minute caps both.
    ok_body(&call(&alice, "no_args", json!({})).await);
    ok_body(&call(&alice, "scarce", json!({})).await);
    ok_body(&call(&alice, "no_args", json!({})).await);
    let limited = call(&alice, "no_args", json!({})).await;
    let body = error_body(&limited);
    assert_eq!(body["code"], "RATE_LIMITED");
    let retry = body["retry_after"].as_u64().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(
        error_code(&call(&alice, "scarce", json!({})).await),
        "RATE_LIMITED"
    );
    // Per caller: Bob is untouched.
    ok_body(&call(&bob, "no_args", json!({})).await);
}

#[tokio::test]
async fn a_call_the_tool_budget_refuses_does_not_use_up_the_global_budget() {
    let s = Server {
        security: Security::builder()
            .global_rate(mcp_secure::RateSpec::per_minute(5))
            .build(),
    };
    let alice = connect(s, Some(Principal::local("alice", ScopeSet::new()))).await;
    // `scarce` admits 3 an hour: the fourth and fifth are refused by its own budget, before
    // the global one is charged.
    for _ in 0..3 {
        ok_body(&call(&alice, "scarce", json!({})).await);
    }
    for _ in 0..2 {
        assert_eq!(
            error_code(&call(&alice, "scarce", json!({})).await),
            "RATE_LIMITED"
        );
    }
    // So 2 of the global 5 are left.
    ok_body(&call(&alice, "no_args", json!({})).await);
    ok_body(&call(&alice, "no_args", json!({})).await);
    assert_eq!(
        error_code(&call(&alice, "no_args", json!({})).await),
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn errors_of_a_tool_with_an_output_schema_are_text_that_every_client_can_read() {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let transport = AsyncRwTransport::<RoleServer, _, _>::new_server(sr, sw);
    let counter = Counter {
        security: Security::default(),
    };
    tokio::spawn(async move {
        let transport = LocalPrincipalTransport::new(transport, principal(""));
        if let Ok(running) = counter.serve(transport).await {
            let _ = running.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    let client: RunningService<RoleClient, ()> = ().serve((cr, cw)).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let counted = tools.iter().find(|t| t.name == "counted").unwrap();
    let schema = serde_json::to_string(&counted.output_schema).unwrap();
    assert!(counted.output_schema.is_some());
    assert!(!schema.contains("uint64"), "{schema}");
    // A validation error, a tool error and a rate limit: text only, no structured content
    // that a client would check against the output schema.
    let invalid = call(&client, "counted", json!({"text": 5})).await;
    let not_found = call(&client, "counted", json!({"text": "missing"})).await;
    let limited = call(&client, "counted", json!({"text": "x"})).await;
    for (result, code) in [
        (&invalid, "INVALID_INPUT"),
        (&not_found, "NOT_FOUND"),
        (&limited, "RATE_LIMITED"),
    ] {
        assert_eq!(result.is_error, Some(true));
        assert!(result.structured_content.is_none(), "{result:?}");
        let text = result.content[0].as_text().unwrap().text.clone();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"]["code"], code);
    }
    assert_eq!(error_body(&invalid)["fields"][0]["rule"], "type");
    assert!(error_body(&limited)["retry_after"].as_u64().unwrap() >= 1);
    // A tool without an output schema keeps the structured body too.
    let r = call(&client, "plain", json!({})).await;
    assert_eq!(r.structured_content.unwrap()["error"]["code"], "NOT_FOUND");
}
