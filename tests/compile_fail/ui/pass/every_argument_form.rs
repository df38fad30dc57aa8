//! Every accepted `#[secure_tool]` form compiles, and the policy records it.
use mcp_secure::prelude::*;
use mcp_secure::{SecureServer, rmcp::handler::server::wrapper::Json};

#[derive(serde::Deserialize, schemars::JsonSchema, validator::Validate)]
struct Input {
    #[validate(length(max = 8), custom(function = "guards::identifier"))]
    id: String,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Out {
    id: String,
}

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server(
    scopes = "data:read data:write admin:full",
    hierarchy = ["admin:full > data:write", "data:write > data:read"],
    name = "every-form",
    version = "9.9.9",
    instructions = "testing",
)]
impl Server {
    /// Per-minute integer rate.
    #[secure_tool(scopes = "data:read", rate = 100)]
    async fn per_minute(&self, Parameters(input): Parameters<Input>) -> Result<Json<Out>, ToolError> {
        Ok(Json(Out { id: input.id }))
    }

    #[secure_tool(scopes = "data:read data:write", rate = "10/s", burst = 20, name = "renamed.tool-1",
                  description = "explicit", title = "Title",
                  annotations(title = "A", read_only_hint = true, destructive_hint = false,
                              idempotent_hint = true, open_world_hint = false))]
    async fn per_second(&self, caller: Principal, ctx: RequestContext<RoleServer>) -> String {
        let _ = ctx;
        caller.subject().to_owned()
    }

    #[secure_tool(scopes = "admin:full", rate = "500/h", max_input_bytes = 1024)]
    async fn per_hour(&self, ctx: RequestContext<RoleServer>, Parameters(input): Parameters<Input>, caller: Principal) -> &'static str {
        let _ = (ctx, input, caller);
        "ok"
    }

    #[doc = concat!("computed ", "doc")]
    #[secure_tool(public, rate = "1000/d")]
    async fn per_day(&self) {}

    #[secure_tool(public, rate = "7/min")]
    async fn unit_result(&self) -> Result<(), ToolError> {
        Ok(())
    }

    #[secure_tool(public)]
    async fn io_error(&self) -> Result<String, std::io::Error> {
        Ok("fine".into())
    }

    #[secure_tool(public)]
    async fn call_tool_result(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::text("x")])
    }

    /// Not a tool: an ordinary method stays an ordinary method.
    fn helper(&self) -> usize {
        1
    }
}

fn main() {
    let policy = Server::server_policy();
    assert_eq!(policy.name, "every-form");
    assert_eq!(policy.tools.len(), 7);
    let renamed = policy.tool("renamed.tool-1").unwrap();
    assert_eq!(renamed.scopes, &["data:read", "data:write"]);
    let rate = renamed.rate.unwrap();
    assert_eq!((rate.count, rate.period_secs, rate.burst), (10, 1, 20));
    let hour = policy.tool("per_hour").unwrap();
    assert_eq!(hour.max_input_bytes, Some(1024));
    assert_eq!(policy.tool("per_day").unwrap().rate.unwrap().period_secs, 86_400);
    assert!(policy.tool("per_day").unwrap().public);
    // data:read is granted by data:write and, transitively, admin:full.
    assert_eq!(policy.tool("per_minute").unwrap().satisfiers, &[&["data:read", "admin:full", "data:write"][..]]);
    let server = Server { security: Security::default() };
    assert_eq!(server.helper(), 1);
    let router = Server::secure_tool_router().unwrap();
    assert_eq!(router.list_all().len(), 7);
    let per_day = router.get("per_day").unwrap();
    assert_eq!(per_day.description.as_deref(), Some("computed doc"));
}
