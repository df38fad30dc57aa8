//! The validation pass: every rule a secured server must follow, checked on what
//! [`crate::ast`] read, with each broken rule reported on the offending token. The result is
//! the model [`crate::expand`] generates from; a tool with a problem is left out of it (its
//! method is still emitted unchanged), so one mistake yields one error, not a cascade.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use syn::{Ident, LitStr, ReceiverKind, Type, spanned::Spanned};

use crate::{
    ast::{self, Arg, Kind, Server, Tool},
    attr::{Annotations, Rate},
    errors::{Errors, did_you_mean},
    scope::ScopeGraph,
};

/// Type names from `secrecy` (and look-alikes) that must never be serialized to a client.
const SECRET_TYPES: &[&str] = &[
    "SecretString",
    "SecretBox",
    "SecretSlice",
    "SecretVec",
    "Secret",
    "SecretValue",
];

pub(crate) struct ToolModel {
    pub kind: Kind,
    pub ident: Ident,
    pub name: String,
    pub scopes: Vec<String>,
    /// For each required scope, the scopes that grant it (itself first).
    pub satisfiers: Vec<Vec<String>>,
    /// `scopes_any`: one of these is required too.
    pub any_of: Vec<String>,
    /// Every scope that grants one of `any_of`.
    pub any_satisfiers: Vec<String>,
    pub public: bool,
    pub rate: Option<Rate>,
    pub burst: Option<u32>,
    pub max_input_bytes: Option<u64>,
    pub title: Option<LitStr>,
    /// An expression of type `&'static str`, if the tool has a description.
    pub description: Option<TokenStream>,
    pub annotations: Option<Annotations>,
    /// `T` of `Parameters<T>`, if the tool takes one.
    pub params: Option<Type>,
    pub args: Vec<Arg>,
    pub output: Type,
    /// `T` when the tool returns `Json<T>` or `Result<Json<T>, _>`.
    pub structured_output: Option<Type>,
    /// A resource's URI or URI template.
    pub uri: Option<String>,
    /// Whether `uri` is a template.
    pub template: bool,
    /// A resource's MIME type.
    pub mime_type: Option<LitStr>,
    /// A function returning a hand-written input schema.
    pub input_schema: Option<syn::ExprPath>,
}

pub(crate) struct ServerModel {
    pub self_ty: Type,
    /// The field holding the server's `Security`; `None` when it is known to be missing
    /// (already reported).
    pub security: Option<Ident>,
    pub handler: bool,
    /// Plain rmcp tools served beside the secured ones.
    pub extend: Option<syn::ExprPath>,
    pub name: Option<LitStr>,
    pub version: Option<LitStr>,
    pub instructions: Option<LitStr>,
    pub catalogue: Vec<String>,
    pub edges: Vec<(String, String)>,
    pub tools: Vec<ToolModel>,
}

/// Validates the server and its tools; the model holds every tool that passed.
pub(crate) fn validate(server: Server<'_>, errors: &mut Errors) -> ServerModel {
    let item = server.item;
    if let Some((path, _)) = &item.trait_ {
        errors.at(
            path.span(),
            "`#[secure_server]` goes on an inherent `impl` block (`impl MyServer { .. }`), \
             not on a trait impl",
        );
    }
    if !item.generics.params.is_empty() {
        errors.at(
            item.generics.params.span(),
            "`#[secure_server]` does not support generic `impl` blocks: the tool router is built \
             once per server type; implement the tools on a concrete type",
        );
    }
    let attr = server.attr;
    let catalogue: Option<&[String]> = attr.scopes.as_ref().map(|s| &s.scopes[..]);
    let mut edges = Vec::new();
    let mut first_chain = None;
    for (chain, span) in attr.hierarchy.iter().flat_map(|h| &h.chains) {
        first_chain.get_or_insert(*span);
        for (higher, lower) in chain {
            for scope in [higher, lower] {
                in_catalogue(scope, catalogue, *span, errors);
            }
            edges.push((higher.clone(), lower.clone()));
        }
    }
    let graph = ScopeGraph::new(&edges, first_chain.unwrap_or_else(Span::call_site), errors);

    let mut tools = Vec::new();
    let mut names: BTreeMap<(&'static str, String), Span> = BTreeMap::new();
    for tool in server.tools {
        let ident_span = tool.func.sig.ident.span();
        let Some(model) = validate_tool(tool, catalogue, &graph, errors) else {
            continue;
        };
        let noun = match model.kind {
            Kind::Tool => "tool name",
            Kind::Prompt => "prompt name",
            Kind::Resource => "resource name",
        };
        let mut keys = vec![(noun, model.name.clone())];
        if let Some(uri) = &model.uri {
            keys.push(("resource URI", uri.clone()));
        }
        if let Some((what, first)) = keys
            .iter()
            .find_map(|k| names.get(k).map(|first| (&k.0, *first)))
        {
            let value = if *what == "resource URI" {
                model.uri.clone().unwrap_or_default()
            } else {
                model.name.clone()
            };
            let mut e = syn::Error::new(
                ident_span,
                format!(
                    "duplicate {what} `{value}` in this server; give one of them another \
                     {} with `{} = \"...\"`",
                    if *what == "resource URI" {
                        "URI"
                    } else {
                        "name"
                    },
                    if *what == "resource URI" {
                        "uri"
                    } else {
                        "name"
                    },
                ),
            );
            e.combine(syn::Error::new(
                first,
                format!(
                    "{} `{value}` is first defined here",
                    what.trim_end_matches(" name")
                ),
            ));
            errors.push(e);
            continue;
        }
        for key in keys {
            names.insert(key, ident_span);
        }
        tools.push(model);
    }

    let security = match attr.security {
        Some(field) => Some(field.0),
        None => default_security_field(item, errors),
    };
    plain_tools_in_impl(item, errors);
    if attr.deny_unsecured.is_present() {
        if let Some(extend) = &attr.extend {
            errors.at(
                extend.span(),
                "`deny_unsecured`: this server still serves plain tools through `extend`; \
                 secure each with `#[secure_tool]` and remove `extend`, or drop `deny_unsecured` \
                 until the migration is done",
            );
        }
        if let Some(handler) = attr.handler.as_ref().filter(|h| !***h) {
            errors.at(
                handler.span(),
                "`deny_unsecured` with `handler = false`: a hand-written handler can serve tools \
                 no policy covers; let `#[secure_server]` write the handler",
            );
        }
    }
    ServerModel {
        self_ty: (*item.self_ty).clone(),
        security,
        handler: attr.handler.is_none_or(|h| *h),
        extend: attr.extend.map(|e| e.0.clone()),
        name: attr.name.map(|s| s.0),
        version: attr.version.map(|s| s.0),
        instructions: attr.instructions.map(|s| s.0),
        catalogue: catalogue.map(<[String]>::to_vec).unwrap_or_default(),
        edges,
        tools,
    }
}

/// A plain rmcp `#[tool]` method in a `#[secure_server]` impl is never served (rmcp's router
/// is replaced): say so where it is.
fn plain_tools_in_impl(item: &syn::ItemImpl, errors: &mut Errors) {
    for inner in &item.items {
        let syn::ImplItem::Fn(func) = inner else {
            continue;
        };
        for a in &func.attrs {
            if a.path().segments.last().is_some_and(|s| s.ident == "tool") {
                errors.at(
                    a.path().span(),
                    "a plain `#[tool]` in a `#[secure_server]` impl is not served; make it a \
                     `#[secure_tool(scopes = \"...\")]`, or keep it in a `#[tool_router]` impl \
                     and serve that router with `#[secure_server(extend = Self::tool_router)]`",
                );
            }
        }
    }
}

/// `security`, unless the struct is in this file and has no such field: then an error that
/// names the field to use.
fn default_security_field(item: &syn::ItemImpl, errors: &mut Errors) -> Option<Ident> {
    let default = Ident::new("security", Span::call_site());
    let Some(fields) = crate::source::struct_fields(&item.self_ty, item.impl_token.span) else {
        return Some(default);
    };
    if fields.names.iter().any(|n| n == "security") {
        return Some(default);
    }
    let ty = quote::ToTokens::to_token_stream(&item.self_ty).to_string();
    let fix = match fields.security_typed.as_slice() {
        [one] => format!("name it: `#[secure_server(security = {one})]`"),
        _ => "add a `security: Security` field, or name the field that holds the server's \
              `Security` with `#[secure_server(security = field)]`"
            .to_string(),
    };
    errors.at(
        item.self_ty.span(),
        format!("`{ty}` has no `security` field for the server's `Security`; {fix}"),
    );
    None
}

fn in_catalogue(scope: &str, catalogue: Option<&[String]>, span: Span, errors: &mut Errors) {
    let Some(catalogue) = catalogue else {
        return;
    };
    if catalogue.iter().any(|s| s == scope) {
        return;
    }
    let hint = match did_you_mean(scope, catalogue.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    errors.at(
        span,
        format!(
            "scope `{scope}` is not in this server's scope catalogue; {hint}declared scopes: {} \
             (add it to `#[secure_server(scopes = \"..\")]` if it is new)",
            catalogue.join(" ")
        ),
    );
}

/// The first secret type named anywhere inside `ty`.
fn find_secret_type(ty: &Type) -> Option<&Ident> {
    use syn::{GenericArgument, PathArguments};
    match ty {
        Type::Path(path) => {
            for segment in &path.path.segments {
                if SECRET_TYPES.iter().any(|s| segment.ident == s) {
                    return Some(&segment.ident);
                }
                if let PathArguments::AngleBracketed(args) = &segment.arguments {
                    for arg in &args.args {
                        if let GenericArgument::Type(inner) = arg
                            && let Some(found) = find_secret_type(inner)
                        {
                            return Some(found);
                        }
                    }
                }
            }
            None
        }
        Type::Reference(r) => find_secret_type(&r.elem),
        Type::Array(a) => find_secret_type(&a.elem),
        Type::Slice(s) => find_secret_type(&s.elem),
        Type::Paren(p) => find_secret_type(&p.elem),
        Type::Group(g) => find_secret_type(&g.elem),
        Type::Tuple(t) => t.elems.iter().find_map(find_secret_type),
        _ => None,
    }
}

/// MCP tool names: 1–128 characters of `A-Z a-z 0-9 _ - .`.
fn tool_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 128 {
        return Some(format!(
            "tool name `{}` must be 1 to 128 characters long",
            name.escape_default()
        ));
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))?;
    Some(format!(
        "tool name `{}` contains `{}`; MCP tool names use only `A-Z`, `a-z`, `0-9`, `_`, `-` and `.`",
        name.escape_default(),
        bad.escape_default()
    ))
}

/// The method must be `async fn name(&self, ..)`, not generic.
fn check_signature(tool: &Tool<'_>, e: &mut Errors) {
    let sig = &tool.func.sig;
    if sig.asyncness.is_none() {
        e.at(
            sig.fn_token.span(),
            format!(
                "secured tool `{}` must be an `async fn`; write `async fn {}`",
                sig.ident, sig.ident
            ),
        );
    }
    match sig.receiver() {
        Some(receiver) => match &receiver.kind {
            ReceiverKind::Reference(_, _, Some(mutability)) => e.at(
                mutability.span(),
                "secured tools take `&self`, not `&mut self`: the server is shared by concurrent \
                 calls; keep mutable state behind a lock (`tokio::sync::RwLock`) and remove `mut`",
            ),
            ReceiverKind::Reference(_, _, None) => {}
            _ => e.at(
                receiver.span(),
                "secured tools take `&self`; change the receiver to `&self`",
            ),
        },
        None => e.at(
            sig.ident.span(),
            format!(
                "secured tool `{}` needs a `&self` receiver; add `&self` as its first argument",
                sig.ident
            ),
        ),
    }
    if !sig.generics.params.is_empty() {
        e.at(
            sig.generics.params.span(),
            "secured tools cannot be generic: the router needs one concrete parameter type; \
             remove the generic parameters",
        );
    }
    let mut params = tool.args.iter().filter_map(|a| match a {
        Arg::Parameters(ty) => Some(ty),
        Arg::Extract(_) => None,
    });
    if let (Some(_), Some(second)) = (params.next(), params.next()) {
        e.at(
            second.span(),
            "a secured tool takes at most one `Parameters<T>`; put all arguments in one struct",
        );
    }
    if let Some(secret) = find_secret_type(&tool.output) {
        e.at(
            secret.span(),
            format!(
                "tool `{}` would send `{secret}` to the client; a secret must never leave the \
                 server: return a masked value instead (a `#[derive(Redact)]` type with the \
                 field marked `#[redact]`, or `mcp_secure::redact::mask`)",
                sig.ident
            ),
        );
    }
}

/// What only a prompt or a resource asks: a resource's URI (exactly one of `uri` and
/// `uri_template`, a template that parses) and no `Parameters<T>` (a resource reads no
/// arguments); returns the URI and whether it is a template.
fn check_kind(tool: &Tool<'_>, e: &mut Errors) -> (Option<String>, bool) {
    if tool.kind != Kind::Resource {
        return (None, false);
    }
    for arg in &tool.args {
        if let Arg::Parameters(ty) = arg {
            e.at(
                ty.span(),
                "a secured resource takes no `Parameters<T>`: what it reads comes from its URI; \
                 use `uri_template = \"test://items/{id}\"` and take `UriVariables`",
            );
        }
    }
    let attr = &tool.attr;
    match (&attr.uri, &attr.uri_template) {
        (Some(uri), None) => {
            let value = uri.0.value();
            if value.is_empty() || value.contains('{') {
                e.at(
                    uri.0.span(),
                    "`uri` names one resource (no `{...}`); for a family of URIs write \
                     `uri_template = \"test://items/{id}\"`",
                );
            }
            (Some(value), false)
        }
        (None, Some(template)) => {
            let value = template.0.value();
            if !mcp_secure_core::uri_template::is_valid_template(&value) {
                e.at(
                    template.0.span(),
                    "`uri_template` must hold at least one `{name}` (letters, digits, `_`), \
                     balanced braces and text between two variables, e.g. \
                     `\"test://template/{id}/data\"`",
                );
            }
            (Some(value), true)
        }
        (Some(uri), Some(_)) => {
            e.at(
                uri.0.span(),
                "give a resource either `uri` or `uri_template`, not both",
            );
            (None, false)
        }
        (None, None) => {
            e.at(
                tool.attr_span,
                "a secured resource needs its address: `uri = \"test://static-text\"`, or \
                 `uri_template = \"test://items/{id}\"` for a family of URIs",
            );
            (None, false)
        }
    }
}

/// The access rule (`scopes` or `public`, exactly one), the catalogue, `burst`.
fn check_policy(tool: &Tool<'_>, name: &str, catalogue: Option<&[String]>, e: &mut Errors) {
    let attr = &tool.attr;
    let has_scopes = attr.scopes.is_some() || attr.scopes_any.is_some();
    let written = tool.keys.span("scopes").is_some() || tool.keys.span("scopes_any").is_some();
    match (has_scopes, attr.public.is_present()) {
        (true, true) => e.at(
            attr.public.span(),
            "a tool is either `public` or needs `scopes`, not both; remove `public` to require \
             the scopes, or remove `scopes` to let any authenticated caller use it",
        ),
        (false, false) if !tool.keys.had_unknown && !written => e.at(
            tool.attr_span,
            format!(
                "{noun} `{name}` declares no access rule; secured {noun}s deny by default: add \
                 `scopes = \"...\"` naming the scopes a caller must hold (or `scopes_any` for \
                 one of several), or `public` if any authenticated caller may use it",
                noun = tool.kind.noun()
            ),
        ),
        _ => {}
    }
    for list in [&attr.scopes, &attr.scopes_any].into_iter().flatten() {
        for scope in &list.scopes {
            in_catalogue(scope, catalogue, list.span, e);
        }
    }
    if let Some(any) = &attr.scopes_any
        && any.scopes.len() < 2
    {
        e.at(
            any.span,
            "`scopes_any` names alternatives: give at least two, or write `scopes = \"...\"` \
             for one required scope",
        );
    }
    if let (Some(_), None) = (&attr.burst, &attr.rate) {
        e.at(
            tool.keys.span("burst").unwrap_or(tool.attr_span),
            "`burst` needs a `rate` to refill from; add one, e.g. `rate = 60, burst = 10`",
        );
    }
}

fn validate_tool(
    tool: Tool<'_>,
    catalogue: Option<&[String]>,
    graph: &ScopeGraph,
    errors: &mut Errors,
) -> Option<ToolModel> {
    let mut local = Errors::default();
    for span in &tool.repeated {
        local.at(
            *span,
            "`#[secure_tool]` is given twice on this method; merge the arguments into one",
        );
    }
    check_signature(&tool, &mut local);
    let name = tool
        .attr
        .name
        .as_ref()
        .map(|n| n.0.value())
        .unwrap_or_else(|| tool.func.sig.ident.to_string());
    if let Some(problem) = tool_name_problem(&name).filter(|_| tool.kind == Kind::Tool) {
        let span = tool
            .attr
            .name
            .as_ref()
            .map_or(tool.func.sig.ident.span(), |n| n.0.span());
        local.at(span, problem);
    }
    check_policy(&tool, &name, catalogue, &mut local);
    let (uri, template) = check_kind(&tool, &mut local);
    if let Some(e) = local.into_error() {
        errors.push(e);
        return None;
    }

    let attr = tool.attr;
    let scopes: Vec<String> = attr.scopes.map(|s| s.scopes).unwrap_or_default();
    let satisfiers = scopes.iter().map(|s| graph.satisfiers(s)).collect();
    let any_of: Vec<String> = attr.scopes_any.map(|s| s.scopes).unwrap_or_default();
    let mut any_satisfiers: Vec<String> = Vec::new();
    for scope in &any_of {
        for granting in graph.satisfiers(scope) {
            if !any_satisfiers.contains(&granting) {
                any_satisfiers.push(granting);
            }
        }
    }
    let params = tool.args.iter().find_map(|a| match a {
        Arg::Parameters(ty) => Some(ty.clone()),
        Arg::Extract(_) => None,
    });
    Some(ToolModel {
        kind: tool.kind,
        uri,
        template,
        mime_type: attr.mime_type.as_ref().map(|m| m.0.clone()),
        input_schema: attr.input_schema.as_ref().map(|f| f.0.clone()),
        ident: tool.func.sig.ident.clone(),
        name,
        scopes,
        satisfiers,
        any_of,
        any_satisfiers,
        public: attr.public.is_present(),
        rate: attr.rate.map(|r| *r),
        burst: attr.burst.map(|b| b.0),
        max_input_bytes: attr.max_input_bytes.map(|m| m.0),
        title: attr.title.map(|t| t.0),
        description: ast::description(tool.func, attr.description.as_ref().map(|d| &d.0)),
        annotations: attr.annotations,
        params,
        args: tool.args,
        structured_output: ast::structured_output(&tool.output),
        output: tool.output,
    })
}
