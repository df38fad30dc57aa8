//! Procedural macros for [`mcp-secure`](https://docs.rs/mcp-secure). Depend on `mcp-secure`
//! and use them from there; the generated code names `::mcp_secure` and only works with the
//! exact version of the runtime crate that re-exports these macros.
//!
//! Layout, as in thiserror and serde_derive: `attr` parses the attribute arguments (with
//! `darling`), `ast` reads the `impl` block, `valid` checks every rule in its own pass,
//! `expand` generates the wiring (through `mcp_secure::__private_0_1` only), `fallback`
//! keeps the user's code compiling when the input cannot be read; `redact` derives `Redact`.

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod redact;
mod scope;
mod source;
mod valid;

#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Declares an `impl` block's `#[secure_tool]` methods as a secured MCP server.
///
/// It generates the tool router (built once), the static security policy, and an rmcp
/// [`ServerHandler`](https://docs.rs/rmcp) whose `tools/call` runs every call through the
/// `mcp-secure` pipeline: authenticate → authorize → rate limit → validate → invoke →
/// redact → audit.
///
/// | argument | meaning |
/// |---|---|
/// | `scopes = "a b c"` | the server's scope catalogue: every tool scope must be one of these (a typo is a compile error with "did you mean") |
/// | `hierarchy = "admin:full > data:write > data:read"` | each scope implies the next; several chains as an array `["a > b", "c > d"]` |
/// | `name = ".."`, `version = ".."` | the server's `serverInfo`; default: the crate's name and version |
/// | `instructions = ".."` | instructions sent to clients at initialization |
/// | `security = field` | the field holding the server's `Security` (default `security`) |
/// | `handler = false` | do not generate `impl ServerHandler`; call `mcp_secure::handler::*` from your own |
///
/// ```
/// use mcp_secure::prelude::*;
///
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
/// struct Lookup {
///     #[validate(length(min = 1, max = 64))]
///     id: String,
/// }
///
/// #[derive(Clone)]
/// struct Catalog {
///     security: Security,
/// }
///
/// #[secure_server(scopes = "catalog:read catalog:admin", hierarchy = "catalog:admin > catalog:read")]
/// impl Catalog {
///     /// Look up one item.
///     #[secure_tool(scopes = "catalog:read", rate = 120)]
///     async fn lookup(&self, Parameters(input): Parameters<Lookup>) -> Result<String, ToolError> {
///         Ok(format!("item {}", input.id))
///     }
/// }
/// # let _ = Catalog { security: Security::default() };
/// ```
#[proc_macro_attribute]
pub fn secure_server(args: TokenStream, input: TokenStream) -> TokenStream {
    secure_server_impl(args.into(), input.into()).into()
}

/// `#[secure_server]` on `proc_macro2` streams: read, validate, expand. Every error is
/// appended to an expansion that still holds the user's code and the server's
/// `SecureServer` impl, so one mistake is one error, not a cascade.
fn secure_server_impl(
    args: proc_macro2::TokenStream,
    input: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut item_impl = match syn::parse2::<syn::ItemImpl>(input.clone()) {
        Ok(item) => item,
        Err(e) => return fallback::not_an_impl(input, &e),
    };
    let mut errors = errors::Errors::default();
    let tool_attrs = ast::take_tool_attrs(&mut item_impl);
    let server = ast::read(&item_impl, args, tool_attrs, &mut errors);
    let model = valid::validate(server, &mut errors);
    let mut out = expand::expand(&item_impl, &model);
    out.extend(errors.into_compile_errors());
    out
}

/// Declares a secured MCP tool. Use it on `async fn` methods inside a `#[secure_server]`
/// `impl` block.
///
/// | argument | meaning |
/// |---|---|
/// | `scopes = "data:read data:write"` | every listed scope is required (RFC 6749 syntax, space separated) |
/// | `public` | needs no scope (any authenticated caller); a tool must say `scopes` or `public` |
/// | `rate = 100` | per caller and tool, calls per minute; also `rate = "10/s"`, `"100/min"`, `"500/h"`, `"1000/d"` |
/// | `burst = N` | calls allowed at once (default: the rate's count); needs `rate` |
/// | `max_input_bytes = N` | cap on the JSON arguments (default: the `Security` setting, 64 KiB) |
/// | `name = ".."` | the tool's name (default: the method name) |
/// | `description = ".."` | the tool's description (default: the doc comment) |
/// | `title = ".."` | a human-readable title |
/// | `annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false, title = "..")` | rmcp tool annotations |
///
/// The method takes `&self` and, in any order, any of: `Parameters<T>` (the validated input;
/// `T: Deserialize + JsonSchema + validator::Validate`), `Principal` (the caller) and
/// `RequestContext<RoleServer>`. It returns `Result<T, E>` with `T` an rmcp tool output
/// (`Json<_>`, `String`, `CallToolResult`, ...) and `E: Into<ToolError>`, or such a `T` alone.
///
/// ```
/// use mcp_secure::prelude::*;
///
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema, validator::Validate)]
/// struct Write {
///     #[validate(length(min = 1, max = 64))]
///     id: String,
///     #[validate(length(max = 4096))]
///     data: String,
/// }
///
/// #[derive(Clone)]
/// struct Store {
///     security: Security,
/// }
///
/// #[secure_server]
/// impl Store {
///     /// Store one record.
///     #[secure_tool(scopes = "data:write", rate = "10/s", burst = 20,
///                   annotations(destructive_hint = false, idempotent_hint = true))]
///     async fn write_data(&self, caller: Principal, Parameters(input): Parameters<Write>) -> Result<String, ToolError> {
///         Ok(format!("{} wrote {}", caller.subject(), input.id))
///     }
///
///     /// Anyone signed in may ask for the time.
///     #[secure_tool(public, rate = 60)]
///     async fn now(&self) -> String {
///         "12:00".to_string()
///     }
/// }
/// # let _ = Store { security: Security::default() };
/// ```
#[proc_macro_attribute]
pub fn secure_tool(_args: TokenStream, input: TokenStream) -> TokenStream {
    let mut out: proc_macro2::TokenStream = input.into();
    out.extend(
        syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[secure_tool]` only works inside an `impl` block marked `#[secure_server]`; \
             add `#[secure_server]` above the `impl`",
        )
        .to_compile_error(),
    );
    out.into()
}

/// Declares a secured MCP prompt: an `async fn` method inside a `#[secure_server]` `impl`
/// block, under the same policy as a tool (`scopes`, `scopes_any`, `public`, `rate`, `burst`,
/// `max_input_bytes`, `name`, `title`, `description`). It takes `&self` and any of
/// `Parameters<T>` (the prompt's arguments, validated; they are listed from `T`'s schema),
/// `Principal` and rmcp's extractors, and returns `Vec<PromptMessage>` or `GetPromptResult`,
/// alone or in `Result<_, ToolError>`. `prompts/list` shows a caller only the prompts it may
/// get.
#[proc_macro_attribute]
pub fn secure_prompt(_args: TokenStream, input: TokenStream) -> TokenStream {
    outside_server("secure_prompt", input)
}

/// Declares a secured MCP resource: an `async fn` method inside a `#[secure_server]` `impl`
/// block with `uri = "test://static-text"` (one resource) or
/// `uri_template = "test://items/{id}"` (a family, RFC 6570 level 1: each variable matches one
/// path segment), and the same access rules as a tool (`scopes`, `scopes_any`, `public`,
/// `rate`, `burst`), plus `name`, `title`, `description`, `mime_type`. It takes `&self` and any
/// of `ResourceUri`, `UriVariables`, `Principal`, `RequestContext<RoleServer>`, and returns
/// `String` (text with the `mime_type`), `ResourceContents`, `Vec<ResourceContents>` or
/// `ReadResourceResult`, alone or in `Result<_, ToolError>`. `resources/list` and
/// `resources/templates/list` show a caller only what it may read.
#[proc_macro_attribute]
pub fn secure_resource(_args: TokenStream, input: TokenStream) -> TokenStream {
    outside_server("secure_resource", input)
}

fn outside_server(attribute: &str, input: TokenStream) -> TokenStream {
    let mut out: proc_macro2::TokenStream = input.into();
    out.extend(
        syn::Error::new(
            proc_macro2::Span::call_site(),
            format!(
                "`#[{attribute}]` only works inside an `impl` block marked `#[secure_server]`; \
                 add `#[secure_server]` above the `impl`"
            ),
        )
        .to_compile_error(),
    );
    out.into()
}

/// Derives `mcp_secure::redact::Redact`: fields marked `#[redact]` are masked (`"***"`) before
/// a tool's output leaves the server.
///
/// | field attribute | effect |
/// |---|---|
/// | `#[redact]` | replace the value with its mask (`String`, `Option<String>`, `Vec<String>`, ...) |
/// | `#[redact(nested)]` | redact inside a field whose type itself implements `Redact` |
/// | `#[redact(with = "path")]` | call `path(&mut field)` |
///
/// ```
/// use mcp_secure::redact::Redact;
///
/// #[derive(serde::Serialize, Redact)]
/// struct Settings {
///     region: String,
///     #[redact]
///     api_key: Option<String>,
/// }
///
/// let mut s = Settings { region: "eu".into(), api_key: Some("sk-live-123".into()) };
/// s.redact();
/// assert_eq!(s.api_key.as_deref(), Some("***"));
/// ```
#[proc_macro_derive(Redact, attributes(redact))]
pub fn derive_redact(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => redact::derive(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
