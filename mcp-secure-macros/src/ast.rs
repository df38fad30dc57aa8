//! The syntax of a secured server, as written: the `impl` block's `#[secure_tool]` methods,
//! their parsed attributes, their arguments and their return types. Nothing here decides
//! whether it is valid; that is [`crate::valid`]'s job.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{
    Attribute, Expr, FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, Meta, PathArguments,
    ReturnType, Type, spanned::Spanned,
};

use crate::{
    attr::{self, Keys, ServerAttr, ToolAttr},
    errors::Errors,
};

/// One argument of a tool method besides `&self`.
pub(crate) enum Arg {
    /// `Parameters<T>`: the validated input, `T` being the parameter type.
    Parameters(Type),
    /// Anything else the call provides (`Principal`, `RequestContext<RoleServer>`, `Peer`,
    /// `Extension<T>`, …), by its type.
    Extract(Type),
}

/// What a secured method serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tool,
    Prompt,
    Resource,
}

impl Kind {
    /// The attribute's name.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Self::Tool => "secure_tool",
            Self::Prompt => "secure_prompt",
            Self::Resource => "secure_resource",
        }
    }

    /// What it is called in messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
        }
    }

    fn of(attr: &Attribute) -> Option<Self> {
        let last = attr.path().segments.last()?;
        [Self::Tool, Self::Prompt, Self::Resource]
            .into_iter()
            .find(|k| last.ident == k.attribute())
    }
}

/// One `#[secure_tool]`, `#[secure_prompt]` or `#[secure_resource]` method.
pub(crate) struct Tool<'a> {
    pub kind: Kind,
    pub func: &'a ImplItemFn,
    pub attr: ToolAttr,
    pub keys: Keys,
    /// The `secure_tool` path of the attribute (where "no access rule" is reported).
    pub attr_span: Span,
    /// Further secured-item attributes on the same method (an error).
    pub repeated: Vec<Span>,
    pub args: Vec<Arg>,
    pub output: Type,
}

/// The `impl` block.
pub(crate) struct Server<'a> {
    pub item: &'a ItemImpl,
    pub attr: ServerAttr,
    pub tools: Vec<Tool<'a>>,
}

fn is_secure_tool(attr: &Attribute) -> bool {
    Kind::of(attr).is_some()
}

/// The body of a `#[secure_tool(...)]` attribute (empty for a bare `#[secure_tool]`).
fn attr_tokens(attr: &Attribute) -> TokenStream {
    match &attr.meta {
        Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    }
}

/// Removes every `#[secure_tool]` from the methods of `item`, returning each method's
/// attributes by method index.
pub(crate) fn take_tool_attrs(item: &mut ItemImpl) -> Vec<(usize, Vec<Attribute>)> {
    let mut out = Vec::new();
    for (i, impl_item) in item.items.iter_mut().enumerate() {
        let ImplItem::Fn(func) = impl_item else {
            continue;
        };
        let attrs: Vec<Attribute> = func
            .attrs
            .iter()
            .filter(|a| is_secure_tool(a))
            .cloned()
            .collect();
        if !attrs.is_empty() {
            func.attrs.retain(|a| !is_secure_tool(a));
            out.push((i, attrs));
        }
    }
    out
}

/// Reads the server and its tools from `item` (whose `#[secure_tool]` attributes were taken
/// off by [`take_tool_attrs`]).
pub(crate) fn read<'a>(
    item: &'a ItemImpl,
    server_args: TokenStream,
    tool_attrs: Vec<(usize, Vec<Attribute>)>,
    errors: &mut Errors,
) -> Server<'a> {
    let (attr, _) =
        attr::parse::<ServerAttr>(server_args, "secure_server", attr::SERVER_KEYS, errors);
    let mut tools = Vec::new();
    for (index, attrs) in tool_attrs {
        let Some(ImplItem::Fn(func)) = item.items.get(index) else {
            continue;
        };
        let first = &attrs[0];
        let kind = Kind::of(first).unwrap_or(Kind::Tool);
        let keys = match kind {
            Kind::Tool => attr::TOOL_KEYS,
            Kind::Prompt => attr::PROMPT_KEYS,
            Kind::Resource => attr::RESOURCE_KEYS,
        };
        let (tool_attr, tool_keys) =
            attr::parse::<ToolAttr>(attr_tokens(first), kind.attribute(), keys, errors);
        tools.push(Tool {
            kind,
            func,
            attr: tool_attr,
            keys: tool_keys,
            attr_span: first.path().span(),
            repeated: attrs.iter().skip(1).map(Spanned::span).collect(),
            args: args(func),
            output: match &func.sig.output {
                ReturnType::Default => syn::parse_quote!(()),
                ReturnType::Type(_, ty) => (**ty).clone(),
            },
        });
    }
    Server { item, attr, tools }
}

fn args(func: &ImplItemFn) -> Vec<Arg> {
    func.sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(pat_type) => Some(&*pat_type.ty),
            FnArg::Receiver(_) => None,
        })
        .map(|ty| match single_generic(ty, "Parameters") {
            Some(inner) => Arg::Parameters(inner.clone()),
            None => Arg::Extract(ty.clone()),
        })
        .collect()
}

/// The `T` in a type whose last path segment is `wrapper<T>`.
pub(crate) fn single_generic<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
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

/// `T` when `ty` is `Json<T>` or `Result<Json<T>, E>`.
pub(crate) fn structured_output(ty: &Type) -> Option<Type> {
    let ok = single_generic(ty, "Result").unwrap_or(ty);
    single_generic(ok, "Json").cloned()
}

/// The description: `description = ".."`, else the doc comment (lines joined by newlines).
pub(crate) fn description(
    func: &ImplItemFn,
    explicit: Option<&syn::LitStr>,
) -> Option<TokenStream> {
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
