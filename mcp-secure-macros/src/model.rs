//! The validated model of a secured server: what `expand` generates from.
//!
//! `analyze` walks the `impl` block once, parses every `#[secure_tool]`, checks each tool's
//! signature and policy, and records every problem with its span. A tool with a problem is
//! left out of the model (its function is still emitted unchanged), so one mistake yields one
//! error, not a cascade.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{
    Attribute, Expr, FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, LitStr, Meta,
    PathArguments, ReceiverKind, ReturnType, Type, spanned::Spanned,
};

use crate::{
    attr::{Annotations, Rate, ServerArgs, ToolArgs, parse_tool_args},
    errors::{Errors, did_you_mean},
    scope::Hierarchy,
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

/// One argument of a tool method besides `&self`, by what the pipeline passes to it.
pub(crate) enum ToolArg {
    /// `Parameters<T>`: the validated arguments.
    Parameters,
    /// `Principal`: who is calling.
    Principal,
    /// `RequestContext<RoleServer>`: rmcp's request context (peer, cancellation).
    Context,
}

pub(crate) struct ToolModel {
    pub ident: syn::Ident,
    pub name: String,
    pub scopes: Vec<String>,
    /// For each required scope, the scopes that grant it (itself first).
    pub satisfiers: Vec<Vec<String>>,
    pub public: bool,
    pub rate: Option<Rate>,
    pub burst: Option<u32>,
    pub max_input_bytes: Option<u64>,
    pub title: Option<LitStr>,
    /// An expression of type `&'static str`, if the tool has a description.
    pub description: Option<TokenStream>,
    pub annotations: Option<Annotations>,
    pub params: Option<Type>,
    pub args: Vec<ToolArg>,
    pub output: Type,
    /// `T` when the tool returns `Json<T>` or `Result<Json<T>, _>`.
    pub structured_output: Option<Type>,
}

pub(crate) struct ServerModel {
    pub self_ty: Type,
    pub args: ServerArgs,
    pub catalogue: Vec<String>,
    pub edges: Vec<(String, String)>,
    pub tools: Vec<ToolModel>,
}

fn is_secure_tool(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "secure_tool")
}

/// The body of a `#[secure_tool(...)]` attribute (empty for a bare `#[secure_tool]`).
fn attr_tokens(attr: &Attribute) -> TokenStream {
    match &attr.meta {
        Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    }
}

/// Removes every `#[secure_tool]` from `item_impl`'s methods and builds the model.
pub(crate) fn analyze(
    item_impl: &mut ItemImpl,
    args: ServerArgs,
    errors: &mut Errors,
) -> ServerModel {
    if let Some((path, _)) = &item_impl.trait_ {
        errors.at(
            path.span(),
            "`#[secure_server]` goes on an inherent `impl` block (`impl MyServer { .. }`), \
             not on a trait impl",
        );
    }
    if !item_impl.generics.params.is_empty() {
        errors.at(
            item_impl.generics.params.span(),
            "`#[secure_server]` does not support generic `impl` blocks: the tool router is built \
             once per server type; implement the tools on a concrete type",
        );
    }

    let catalogue: Vec<String> = args
        .scopes
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_default();
    let mut edges = Vec::new();
    for chain in &args.hierarchy {
        for (higher, lower) in &chain.value {
            for scope in [higher, lower] {
                check_in_catalogue(
                    scope,
                    args.scopes.as_ref().map(|s| &s.value[..]),
                    chain.span,
                    errors,
                );
            }
            edges.push((higher.clone(), lower.clone()));
        }
    }
    let hierarchy_span = args
        .hierarchy
        .first()
        .map(|c| c.span)
        .unwrap_or_else(Span::call_site);
    let hierarchy = Hierarchy::new(&edges, hierarchy_span, errors);

    let mut tools = Vec::new();
    let mut names: BTreeMap<String, Span> = BTreeMap::new();
    for item in &mut item_impl.items {
        let ImplItem::Fn(func) = item else { continue };
        let attrs: Vec<Attribute> = func
            .attrs
            .iter()
            .filter(|a| is_secure_tool(a))
            .cloned()
            .collect();
        if attrs.is_empty() {
            continue;
        }
        func.attrs.retain(|a| !is_secure_tool(a));
        for extra in attrs.iter().skip(1) {
            errors.at(
                extra.span(),
                "`#[secure_tool]` is given twice on this method; merge the arguments into one",
            );
        }
        let Some(tool) = analyze_tool(func, &attrs[0], &args, &hierarchy, errors) else {
            continue;
        };
        if let Some(first) = names.get(&tool.name) {
            let mut e = syn::Error::new(
                func.sig.ident.span(),
                format!(
                    "duplicate tool name `{}` in this server; give one of them another name \
                     with `name = \"...\"`",
                    tool.name
                ),
            );
            e.combine(syn::Error::new(
                *first,
                format!("tool `{}` is first defined here", tool.name),
            ));
            errors.push(e);
            continue;
        }
        names.insert(tool.name.clone(), func.sig.ident.span());
        tools.push(tool);
    }

    ServerModel {
        self_ty: (*item_impl.self_ty).clone(),
        args,
        catalogue,
        edges,
        tools,
    }
}

fn check_in_catalogue(
    scope: &str,
    catalogue: Option<&[String]>,
    span: Span,
    errors: &mut Errors,
) -> bool {
    let Some(catalogue) = catalogue else {
        return true;
    };
    if catalogue.iter().any(|s| s == scope) {
        return true;
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
    false
}

/// The `T` in a type whose last path segment is `wrapper<T>`.
fn single_generic<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `T` when `ty` is `Json<T>` or `Result<Json<T>, E>`.
fn structured_output(ty: &Type) -> Option<Type> {
    let ok = single_generic(ty, "Result").unwrap_or(ty);
    single_generic(ok, "Json").cloned()
}

/// The first secret type named anywhere inside `ty`.
fn find_secret_type(ty: &Type) -> Option<&syn::Ident> {
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

/// The description: `description = ".."`, else the doc comment (lines joined by newlines).
fn description(func: &ImplItemFn, explicit: Option<&LitStr>) -> Option<TokenStream> {
    if let Some(lit) = explicit {
        return Some(lit.to_token_stream());
    }
    let mut parts: Vec<TokenStream> = Vec::new();
    let mut literal = String::new();
    let mut all_literal = true;
    for attr in &func.attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        let Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => {
                let line = s.value();
                let line = line
                    .strip_prefix(' ')
                    .unwrap_or(&line)
                    .trim_end()
                    .to_string();
                if !literal.is_empty() {
                    literal.push('\n');
                }
                literal.push_str(&line);
                parts.push(quote!(#line));
            }
            other => {
                all_literal = false;
                parts.push(other.to_token_stream());
            }
        }
    }
    if parts.is_empty() {
        return None;
    }
    if all_literal {
        let text = literal.trim().to_string();
        return (!text.is_empty()).then(|| quote!(#text));
    }
    let mut joined = TokenStream::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            joined.extend(quote!("\n",));
        }
        joined.extend(quote!(#part,));
    }
    Some(quote!(::core::concat!(#joined)))
}

fn analyze_tool(
    func: &ImplItemFn,
    attr: &Attribute,
    server: &ServerArgs,
    hierarchy: &Hierarchy,
    errors: &mut Errors,
) -> Option<ToolModel> {
    let mut local = Errors::default();
    let args: ToolArgs = parse_tool_args(attr_tokens(attr), &mut local);
    let sig = &func.sig;

    // Signature checks.
    if sig.asyncness.is_none() {
        local.at(
            sig.fn_token.span(),
            format!(
                "secured tool `{}` must be an `async fn`; write `async fn {}`",
                sig.ident, sig.ident
            ),
        );
    }
    match sig.receiver() {
        Some(receiver) => match &receiver.kind {
            ReceiverKind::Reference(_, _, Some(mutability)) => local.at(
                mutability.span(),
                "secured tools take `&self`, not `&mut self`: the server is shared by concurrent \
                 calls; keep mutable state behind a lock (`tokio::sync::RwLock`) and remove `mut`",
            ),
            ReceiverKind::Reference(_, _, None) => {}
            _ => local.at(
                receiver.span(),
                "secured tools take `&self`; change the receiver to `&self`",
            ),
        },
        None => local.at(
            sig.ident.span(),
            format!(
                "secured tool `{}` needs a `&self` receiver; add `&self` as its first argument",
                sig.ident
            ),
        ),
    }
    if !sig.generics.params.is_empty() {
        local.at(
            sig.generics.params.span(),
            "secured tools cannot be generic: the router needs one concrete parameter type; \
             remove the generic parameters",
        );
    }

    let mut params: Option<Type> = None;
    let mut tool_args = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(pat_type) = input else {
            continue;
        };
        let ty = &*pat_type.ty;
        match last_ident(ty).as_deref() {
            Some("Parameters") => match single_generic(ty, "Parameters") {
                Some(inner) if params.is_none() => {
                    params = Some(inner.clone());
                    tool_args.push(ToolArg::Parameters);
                }
                Some(_) => local.at(
                    ty.span(),
                    "a secured tool takes at most one `Parameters<T>`; put all arguments in one struct",
                ),
                None => local.at(ty.span(), "write the parameter type as `Parameters<T>`"),
            },
            Some("Principal") => tool_args.push(ToolArg::Principal),
            Some("RequestContext") => tool_args.push(ToolArg::Context),
            _ => local.at(
                ty.span(),
                "unsupported argument for a secured tool; accepted arguments are \
                 `Parameters<T>` (the validated input), `Principal` (the caller) and \
                 `RequestContext<RoleServer>`",
            ),
        }
    }

    let output: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if let Some(secret) = find_secret_type(&output) {
        local.at(
            secret.span(),
            format!(
                "tool `{}` would send `{secret}` to the client; a secret must never leave the \
                 server: return a masked value instead (a `#[derive(Redact)]` type with the \
                 field marked `#[redact]`, or `mcp_secure::redact::mask`)",
                sig.ident
            ),
        );
    }

    // Policy checks.
    let name = args
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| sig.ident.to_string());
    if let Some(problem) = tool_name_problem(&name) {
        let span = args
            .name
            .as_ref()
            .map(LitStr::span)
            .unwrap_or(sig.ident.span());
        local.at(span, problem);
    }
    match (&args.scopes, args.public) {
        (Some(_), Some(public)) => local.at(
            public,
            "a tool is either `public` or needs `scopes`, not both; remove `public` to require \
             the scopes, or remove `scopes` to let any authenticated caller use it",
        ),
        (None, None) if !args.had_unknown => local.at(
            attr.path().span(),
            format!(
                "tool `{name}` declares no access rule; secured tools deny by default: add \
                 `scopes = \"...\"` naming the scopes a caller must hold, or `public` if any \
                 authenticated caller may use it"
            ),
        ),
        _ => {}
    }
    let scopes: Vec<String> = args
        .scopes
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_default();
    if let Some(spanned) = &args.scopes {
        let catalogue = server.scopes.as_ref().map(|s| &s.value[..]);
        for scope in &spanned.value {
            check_in_catalogue(scope, catalogue, spanned.span, &mut local);
        }
    }
    if let (Some(burst), None) = (&args.burst, &args.rate) {
        local.at(
            burst.span,
            "`burst` needs a `rate` to refill from; add one, e.g. `rate = 60, burst = 10`",
        );
    }

    let failed = !local.is_empty();
    if let Some(e) = local.into_error() {
        errors.push(e);
    }
    if failed {
        return None;
    }

    let satisfiers = scopes.iter().map(|s| hierarchy.satisfiers(s)).collect();
    Some(ToolModel {
        ident: sig.ident.clone(),
        name,
        scopes,
        satisfiers,
        public: args.public.is_some(),
        rate: args.rate.map(|r| r.value),
        burst: args.burst.map(|b| b.value),
        max_input_bytes: args.max_input_bytes.map(|m| m.value),
        title: args.title,
        description: description(func, args.description.as_ref()),
        annotations: args.annotations,
        params,
        args: tool_args,
        structured_output: structured_output(&output),
        output,
    })
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
