//! Resources and resource templates under the same policy as tools: `#[secure_resource]`
//! methods. `resources/list` and `resources/templates/list` show a caller only what it may
//! read; `resources/read` runs the pipeline (authenticate, authorize, rate limit, invoke with
//! the time limit, redact the contents, audit); `resources/subscribe` is accepted only for a
//! resource the caller may read.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use rmcp::{
    ErrorData, Peer, RoleServer,
    model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate},
    service::RequestContext,
};

use crate::{
    Principal, SecureServer, ToolError,
    policy::{ResourcePolicy, ServerPolicy},
};

/// The variables a resource template matched, by name (`{id}` in `test://items/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UriVariables(BTreeMap<String, String>);

impl UriVariables {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every variable.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The URI a `resources/read` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUri(pub String);

/// Matches `uri` against `template`: a variable matches one or more characters other than
/// `/`, `?`, `#` and control characters, so a value never reaches into another path
/// segment; `.` and `..` alone are refused.
pub fn match_template(template: &str, uri: &str) -> Option<UriVariables> {
    mcp_secure_core::uri_template::match_template(template, uri).map(UriVariables)
}

/// What the macro knows of a resource at compile time.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct ResourceListing {
    /// A human-readable title.
    pub title: Option<&'static str>,
    /// The description (the doc comment by default).
    pub description: Option<&'static str>,
    /// The MIME type of its contents.
    pub mime_type: Option<&'static str>,
}

/// A `resources/read` on its way to a resource method.
#[non_exhaustive]
pub struct ResourceContext<'a, S> {
    /// The server.
    pub service: &'a S,
    /// The URI asked for.
    pub uri: String,
    /// What a template matched (empty for a plain resource).
    pub variables: UriVariables,
    /// The request.
    pub request_context: RequestContext<RoleServer>,
}

impl<S> std::fmt::Debug for ResourceContext<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceContext")
            .field("uri", &self.uri)
            .field("variables", &self.variables)
            .finish_non_exhaustive()
    }
}

/// An argument of a resource method.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a secured resource",
    label = "not something a resource read provides",
    note = "a secured resource takes `&self` and any of: `ResourceUri` (the URI asked for), `UriVariables` (what its template matched), `Principal` (the caller), `RequestContext<RoleServer>`, `Peer<RoleServer>`"
)]
pub trait ResourceArgument<S>: Sized {
    /// Takes the argument from the read.
    fn extract(cx: &mut ResourceContext<'_, S>) -> Result<Self, ErrorData>;
}

impl<S> ResourceArgument<S> for ResourceUri {
    fn extract(cx: &mut ResourceContext<'_, S>) -> Result<Self, ErrorData> {
        Ok(Self(cx.uri.clone()))
    }
}

impl<S> ResourceArgument<S> for UriVariables {
    fn extract(cx: &mut ResourceContext<'_, S>) -> Result<Self, ErrorData> {
        Ok(cx.variables.clone())
    }
}

impl<S> ResourceArgument<S> for Principal {
    fn extract(cx: &mut ResourceContext<'_, S>) -> Result<Self, ErrorData> {
        crate::pipeline::authenticated_principal(&cx.request_context)
            .cloned()
            .ok_or_else(|| ErrorData::invalid_request("authentication required", None))
    }
}

impl<S> ResourceArgument<S> for RequestContext<RoleServer> {
    fn extract(cx: &mut ResourceContext<'_, S>) -> Result<Self, ErrorData> {
        Ok(cx.request_context.clone())
    }
}

impl<S> ResourceArgument<S> for Peer<RoleServer> {
    fn extract(cx: &mut ResourceContext<'_, S>) -> Result<Self, ErrorData> {
        Ok(cx.request_context.peer.clone())
    }
}

/// What a resource method may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a secured resource",
    label = "not resource contents",
    note = "return `String` or `&'static str` (text with the resource's `mime_type`), `ResourceContents`, `Vec<ResourceContents>` or `ReadResourceResult`, alone or in `Result<_, ToolError>`"
)]
pub trait ResourceReturn {
    /// The contents read from `uri`.
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError>;
}

impl ResourceReturn for String {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        let mut contents = ResourceContents::text(self, uri);
        if let (Some(mime), ResourceContents::TextResourceContents { mime_type, .. }) =
            (mime_type, &mut contents)
        {
            *mime_type = Some(mime.to_owned());
        }
        Ok(vec![contents])
    }
}

impl ResourceReturn for &'static str {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        self.to_owned().into_contents(uri, mime_type)
    }
}

impl ResourceReturn for ResourceContents {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(vec![self])
    }
}

impl ResourceReturn for Vec<ResourceContents> {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(self)
    }
}

impl ResourceReturn for ReadResourceResult {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Ok(self.contents)
    }
}

impl<T: ResourceReturn, E: Into<ToolError>> ResourceReturn for Result<T, E> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&'static str>,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        self.map_err(Into::into)
            .and_then(|v| v.into_contents(uri, mime_type))
    }
}

/// What a resource's adapter ends with.
pub type ResourceInvoked = Result<Vec<ResourceContents>, crate::output::Outcome>;

/// A resource's adapter, generated by `#[secure_server]`.
pub type ResourceInvoke<S> =
    for<'a> fn(&'a S, ResourceContext<'a, S>) -> BoxFuture<'a, ResourceInvoked>;

/// One served resource or template.
pub(crate) struct ResourceRoute<S> {
    pub(crate) policy: &'static ResourcePolicy,
    pub(crate) listing: ResourceListing,
    pub(crate) invoke: ResourceInvoke<S>,
}

/// A server's resources and templates, built once.
pub struct ResourceRouter<S> {
    pub(crate) routes: Vec<ResourceRoute<S>>,
}

impl<S> std::fmt::Debug for ResourceRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceRouter")
            .field("resources", &self.routes.len())
            .finish()
    }
}

impl<S> Default for ResourceRouter<S> {
    fn default() -> Self {
        Self { routes: Vec::new() }
    }
}

impl<S: SecureServer> ResourceRouter<S> {
    /// Adds the resource called `name` (found in the server's policy).
    #[doc(hidden)]
    #[must_use]
    pub fn resource(
        mut self,
        policy: &'static ServerPolicy,
        name: &'static str,
        listing: ResourceListing,
        invoke: ResourceInvoke<S>,
    ) -> Self {
        if let Some(policy) = policy.resources.iter().find(|r| r.access.name == name) {
            self.routes.push(ResourceRoute {
                policy,
                listing,
                invoke,
            });
        }
        self
    }

    /// The route serving `uri` (an exact resource first, then the first matching template),
    /// with what the template matched.
    pub(crate) fn route(&self, uri: &str) -> Option<(&ResourceRoute<S>, UriVariables)> {
        self.routes
            .iter()
            .find(|r| !r.policy.template && r.policy.uri == uri)
            .map(|r| (r, UriVariables::default()))
            .or_else(|| {
                self.routes
                    .iter()
                    .filter(|r| r.policy.template)
                    .find_map(|r| match_template(r.policy.uri, uri).map(|vars| (r, vars)))
            })
    }

    /// The listing entries of plain resources (`templates = false`) or templates.
    pub(crate) fn listed(&self, templates: bool) -> impl Iterator<Item = &ResourceRoute<S>> {
        self.routes
            .iter()
            .filter(move |r| r.policy.template == templates)
    }
}

impl<S> ResourceRoute<S> {
    pub(crate) fn resource(&self) -> Resource {
        let mut resource = Resource::new(self.policy.uri, self.policy.access.name);
        resource.title = self.listing.title.map(str::to_owned);
        resource.description = self.listing.description.map(str::to_owned);
        resource.mime_type = self.listing.mime_type.map(str::to_owned);
        resource.meta = Some(crate::pipeline::tool_meta(&self.policy.access));
        resource
    }

    pub(crate) fn template(&self) -> ResourceTemplate {
        let mut template = ResourceTemplate::new(self.policy.uri, self.policy.access.name);
        template.title = self.listing.title.map(str::to_owned);
        template.description = self.listing.description.map(str::to_owned);
        template.mime_type = self.listing.mime_type.map(str::to_owned);
        template.meta = Some(crate::pipeline::tool_meta(&self.policy.access));
        template
    }
}
