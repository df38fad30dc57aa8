//! Support for the code `#[secure_server]` generates. Not a public API: it changes with the
//! macro crate, which `mcp-secure` pins to its exact version. The module's name carries the
//! version, so a mismatched pair of crates fails to compile instead of misbehaving.

use std::sync::Arc;
pub use std::sync::OnceLock;

pub use futures::future::BoxFuture;
#[allow(deprecated)]
pub use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    handler::server::{
        common::FromContextPart, prompt::PromptContext, router::tool::ToolRouter,
        tool::ToolCallContext, wrapper::Parameters,
    },
    model::{
        CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        GetPromptRequestParams, GetPromptResponse, JsonObject, ListPromptsResult,
        ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
        ReadResourceRequestParams, ReadResourceResponse, ServerConfig, SetLevelRequestParams,
        SubscribeRequestParams, Tool, ToolAnnotations, UnsubscribeRequestParams,
    },
    service::RequestContext,
};

pub use crate::{
    SecureServer, Security,
    handler::{
        call_tool, complete, get_prompt, get_tool, list_prompts, list_resource_templates,
        list_resources, list_tools, read_resource, server_info, set_level, subscribe, unsubscribe,
    },
    output::{Outcome, ToolReturn},
    pipeline::{Listing, RouterError, ToolRoutes},
    policy::{RateSpec, ResourcePolicy, ServerPolicy, ToolPolicy},
    prompts::{
        PromptArgumentPart, PromptInvoked, PromptListing, PromptReturn, PromptRouter,
        prompt_arguments, prompt_parameters,
    },
    redact::{RedactProbe, ViaNothing, ViaRedact},
    resources::{
        ResourceArgument, ResourceContext, ResourceInvoked, ResourceListing, ResourceReturn,
        ResourceRouter,
    },
};

/// What an adapter ends with: `Err` when an argument could not be extracted.
pub type Invoked = Result<Outcome, Outcome>;

/// The parameter type of a secured tool.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the parameters of a secured tool: it does not implement `validator::Validate`",
    label = "derive `validator::Validate` for this type",
    note = "add `#[derive(validator::Validate)]` (with `#[validate(..)]` rules on the fields that need them); a type with no rules derives it empty, so the choice is visible"
)]
pub trait ValidParameters: serde::de::DeserializeOwned + validator::Validate {}

impl<T: serde::de::DeserializeOwned + validator::Validate> ValidParameters for T {}

/// An argument of a secured tool other than `Parameters<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a secured tool",
    label = "not something a tool call provides",
    note = "a secured tool takes `&self` and any of: `Parameters<T>` (the validated input), `Principal` (the caller), `ClientPeer` (to ask the client, bounded), and rmcp's extractors (`RequestContext<RoleServer>`, `Peer<RoleServer>`, `Extension<T>`, `Meta`, `CancellationToken`, `ToolName`, `RequestState`, `InputResponses`, `Extensions`); put client input in the `Parameters<T>` struct"
)]
pub trait ToolArgument<S>: Sized {
    /// Takes the argument from the call.
    fn extract(cx: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData>;
}

impl<S, T> ToolArgument<S> for T
where
    T: for<'a> FromContextPart<ToolCallContext<'a, S>>,
{
    fn extract(cx: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        T::from_context_part(cx)
    }
}

/// The validated `Parameters<P>` of a call (`INVALID_INPUT` naming field and rule
/// otherwise).
pub fn parameters<P: ValidParameters, S>(
    cx: &mut ToolCallContext<'_, S>,
) -> Result<Parameters<P>, Outcome> {
    crate::validate::parse::<P>(cx.arguments.take())
        .map(Parameters)
        .map_err(Outcome::Rejected)
}

/// A tool without `Parameters<T>`: its arguments are ignored (the size cap applies).
pub fn no_parameters<S>(cx: &mut ToolCallContext<'_, S>) -> Result<(), Outcome> {
    crate::validate::parse::<crate::validate::NoParameters>(cx.arguments.take())
        .map(drop)
        .map_err(Outcome::Rejected)
}

/// Any other argument.
pub fn extract<T: ToolArgument<S>, S>(cx: &mut ToolCallContext<'_, S>) -> Result<T, Outcome> {
    T::extract(cx).map_err(Outcome::Error)
}

/// Any argument of a prompt other than `Parameters<T>`.
pub fn prompt_extract<T: PromptArgumentPart<S>, S>(
    cx: &mut PromptContext<'_, S>,
) -> Result<T, Outcome> {
    T::extract(cx).map_err(Outcome::Error)
}

/// An argument of a resource.
pub fn resource_extract<T: ResourceArgument<S>, S>(
    cx: &mut ResourceContext<'_, S>,
) -> Result<T, Outcome> {
    T::extract(cx).map_err(Outcome::Error)
}

/// A prompt method's return value as a prompt.
pub fn finish_prompt<R: PromptReturn>(ret: R) -> PromptInvoked {
    ret.into_prompt().map_err(Outcome::Failed)
}

/// A resource method's return value as the contents of `uri`.
pub fn finish_resource<R: ResourceReturn>(
    ret: R,
    uri: &str,
    mime_type: Option<&'static str>,
) -> ResourceInvoked {
    ret.into_contents(uri, mime_type).map_err(Outcome::Failed)
}

/// The tool's return value as the pipeline's outcome.
pub fn finish<R: ToolReturn>(ret: R) -> Invoked {
    Ok(ret.into_outcome())
}

/// The input schema of a parameter type (must be an object schema).
pub fn input_schema<P: schemars::JsonSchema + 'static>() -> Option<Result<Arc<JsonObject>, String>>
{
    Some(rmcp::handler::server::common::schema_for_input::<P>())
}

/// A hand-written input schema (`input_schema = Self::f`): must be a JSON object.
pub fn raw_input_schema(schema: serde_json::Value) -> Option<Result<Arc<JsonObject>, String>> {
    Some(match schema {
        serde_json::Value::Object(map) => Ok(Arc::new(map)),
        _ => Err("the hand-written input schema is not a JSON object".to_owned()),
    })
}

/// The output schema of a structured output type.
pub fn output_schema<T: schemars::JsonSchema + 'static>() -> Option<Arc<JsonObject>> {
    Some(rmcp::handler::server::common::schema_for_output::<T>())
}

/// A server's tool router, built once.
pub struct OnceRouter<S>(OnceLock<Result<ToolRouter<S>, RouterError>>);

impl<S> std::fmt::Debug for OnceRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnceRouter")
    }
}

impl<S> OnceRouter<S> {
    /// An empty cell.
    pub const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// The router, built by `build` on first use.
    pub fn get(
        &'static self,
        build: impl FnOnce() -> Result<ToolRouter<S>, RouterError>,
    ) -> Result<&'static ToolRouter<S>, RouterError> {
        self.0.get_or_init(build).as_ref().map_err(Clone::clone)
    }
}

impl<S> Default for OnceRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}
