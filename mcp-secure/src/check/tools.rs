//! Checks of a server's tool listing (`tools/list`): every tool declares its scopes and rate.

use serde_json::Value;

use super::{Check, Status, check};

pub(super) fn scopes(tools: Option<&Value>) -> Check {
    let Some(tools) = tools else {
        return check(
            "tool_scopes",
            Status::Warn,
            "not checked: pass --tools FILE (a tools/list result) to check each tool",
        );
    };
    let list = tools
        .get("tools")
        .or_else(|| tools.get("result").and_then(|r| r.get("tools")))
        .unwrap_or(tools)
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return check(
            "tool_scopes",
            Status::Fail,
            "the tool listing holds no tools",
        );
    }
    let mut unsecured = Vec::new();
    let mut public = Vec::new();
    let mut unlimited = Vec::new();
    for tool in &list {
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let any_of = tool
            .pointer("/_meta/mcp-secure~1scopes_any")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        match tool
            .pointer("/_meta/mcp-secure~1scopes")
            .and_then(Value::as_array)
        {
            None => unsecured.push(name.clone()),
            Some(scopes) if scopes.is_empty() && !any_of => public.push(name.clone()),
            Some(_) => {}
        }
        if tool.pointer("/_meta/mcp-secure~1rate").is_none() {
            unlimited.push(name);
        }
    }
    if !unsecured.is_empty() {
        return check(
            "tool_scopes",
            Status::Fail,
            format!(
                "tools without a declared policy (plain rmcp tools, or another server's): {}; \
                 give each a #[secure_tool]",
                unsecured.join(", ")
            ),
        );
    }
    let mut detail = format!("{} tools, each with declared scopes", list.len());
    if !public.is_empty() {
        detail.push_str(&format!("; public: {}", public.join(", ")));
    }
    if !unlimited.is_empty() {
        detail.push_str(&format!("; no rate limit: {}", unlimited.join(", ")));
        return check("tool_scopes", Status::Warn, detail);
    }
    check("tool_scopes", Status::Pass, detail)
}
