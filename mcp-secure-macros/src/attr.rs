//! The attribute arguments, parsed declaratively with `darling`: `#[secure_tool(...)]` and
//! `#[secure_server(...)]`.
//!
//! `darling` does the plumbing (one field per argument, flags, nested lists); hand-written
//! `FromMeta` remains only where our messages are better: scope lists, rates, the positive
//! integers, the hierarchy and the `security` field. Unknown and repeated arguments are found
//! in a first pass ([`prescan`]), so their messages name the valid arguments and the likely
//! typo in this crate's own words, and every mistake is reported at once.

use darling::{
    FromMeta,
    ast::NestedMeta,
    util::{Flag, SpannedValue},
};
use proc_macro2::{Span, TokenStream};
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, UnOp, spanned::Spanned};

use crate::{
    errors::{Errors, backticked_list, did_you_mean},
    scope,
};

fn custom(span: Span, message: impl std::fmt::Display) -> darling::Error {
    darling::Error::custom(message).with_span(&span)
}

/// Unwraps the invisible groups `macro_rules!` puts around expressions.
fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(g) => ungroup(&g.expr),
        e => e,
    }
}

fn lit_str<'a>(expr: &'a Expr, key: &str, example: &str) -> darling::Result<&'a LitStr> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s),
        other => Err(custom(
            other.span(),
            format!("`{key}` takes a string literal, e.g. `{example}`"),
        )),
    }
}

/// A scope list, checked against the RFC 6749 grammar (shared with the runtime).
#[derive(Debug, Clone)]
pub(crate) struct ScopeList {
    pub scopes: Vec<String>,
    pub span: Span,
}

impl FromMeta for ScopeList {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        let lit = lit_str(expr, "scopes", "scopes = \"data:read data:write\"")?;
        let mut errors = Errors::default();
        let scopes = scope::parse_scope_list(lit, &mut errors);
        match errors.into_error() {
            Some(e) => Err(e.into()),
            None => Ok(Self {
                scopes,
                span: lit.span(),
            }),
        }
    }
}

/// The time unit of a rate: calls per `period_secs`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    pub count: u32,
    pub period_secs: u64,
}

const RATE_HELP: &str = "`rate = 100` (calls per minute) or a string `\"COUNT/UNIT\"` \
                         such as `\"10/s\"`, `\"100/min\"`, `\"500/h\"` or `\"1000/d\"`";

/// A positive integer literal that fits `T`, or an error naming `key`.
fn positive_int<T>(expr: &Expr, key: &str, what: &str) -> darling::Result<T>
where
    T: std::str::FromStr + Default + PartialEq,
    T::Err: std::fmt::Display,
{
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) if i.base10_digits().starts_with('-') => Err(custom(
            i.span(),
            format!("`{key}` cannot be negative; give a positive integer ({what})"),
        )),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => match i.base10_parse::<T>() {
            Ok(v) if v == T::default() => Err(custom(
                i.span(),
                format!("`{key}` must be at least 1 ({what})"),
            )),
            Ok(v) => Ok(v),
            Err(_) => Err(custom(i.span(), format!("`{key}` is too large ({what})"))),
        },
        e @ Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(custom(
            e.span(),
            format!("`{key}` cannot be negative; give a positive integer ({what})"),
        )),
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => Err(custom(
            f.span(),
            format!("`{key}` must be a whole number, not `{f}` ({what})"),
        )),
        other => Err(custom(
            other.span(),
            format!("`{key}` takes a positive integer literal ({what})"),
        )),
    }
}

fn rate_from_text(s: &LitStr) -> darling::Result<Rate> {
    use mcp_secure_core::rate::{RATE_UNITS, RateError, parse_rate};
    let text = s.value();
    match parse_rate(&text) {
        Ok(r) => Ok(Rate {
            count: r.count,
            period_secs: r.period_secs,
        }),
        Err(RateError::NoUnit) => Err(custom(
            s.span(),
            format!(
                "`rate = \"{}\"` has no unit; write {RATE_HELP}",
                text.escape_default()
            ),
        )),
        Err(RateError::NotPositive) => Err(custom(
            s.span(),
            format!("`rate` must be at least 1 call; write {RATE_HELP}"),
        )),
        Err(RateError::TooLarge) => Err(custom(
            s.span(),
            "`rate` count is too large (at most 4294967295)",
        )),
        Err(RateError::NotANumber) => {
            let count = text.split_once('/').map_or("", |(c, _)| c).trim();
            Err(custom(
                s.span(),
                format!(
                    "`rate` count `{}` is not a whole number; write {RATE_HELP}",
                    count.escape_default()
                ),
            ))
        }
        Err(_) => {
            let unit = text.split_once('/').map_or("", |(_, u)| u).trim();
            let names: Vec<&str> = RATE_UNITS.iter().map(|(n, _)| *n).collect();
            let hint = match did_you_mean(unit, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            Err(custom(
                s.span(),
                format!(
                    "unknown rate unit `{}`; {hint}use one of {}",
                    unit.escape_default(),
                    backticked_list(&names)
                ),
            ))
        }
    }
}

impl FromMeta for Rate {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        if let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = ungroup(expr)
        {
            return rate_from_text(s);
        }
        let count = positive_int::<u32>(expr, "rate", "calls per minute")?;
        Ok(Self {
            count,
            period_secs: 60,
        })
    }
}

/// `burst = N`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Burst(pub u32);

impl FromMeta for Burst {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        positive_int(expr, "burst", "calls allowed at once").map(Self)
    }
}

/// `max_input_bytes = N`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MaxInputBytes(pub u64);

impl FromMeta for MaxInputBytes {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        positive_int(expr, "max_input_bytes", "bytes of JSON arguments").map(Self)
    }
}

/// A string literal kept with its span.
#[derive(Debug, Clone)]
pub(crate) struct Str(pub LitStr);

impl FromMeta for Str {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        lit_str(expr, "this argument", "name = \"...\"")
            .cloned()
            .map(Self)
    }
}

/// `annotations(read_only_hint = true, ..)`.
#[derive(Debug, Clone, Default, FromMeta)]
#[darling(default)]
pub(crate) struct Annotations {
    pub title: Option<Str>,
    pub read_only_hint: Option<syn::LitBool>,
    pub destructive_hint: Option<syn::LitBool>,
    pub idempotent_hint: Option<syn::LitBool>,
    pub open_world_hint: Option<syn::LitBool>,
}

/// `#[secure_tool(...)]`, as written.
#[derive(Debug, Default, FromMeta)]
#[darling(default)]
pub(crate) struct ToolAttr {
    pub scopes: Option<ScopeList>,
    pub scopes_any: Option<ScopeList>,
    pub public: Flag,
    pub rate: Option<SpannedValue<Rate>>,
    pub burst: Option<Burst>,
    pub max_input_bytes: Option<MaxInputBytes>,
    pub name: Option<Str>,
    pub title: Option<Str>,
    pub description: Option<Str>,
    pub annotations: Option<Annotations>,
    /// A function returning the tool's input schema, written by hand (JSON Schema 2020-12
    /// keywords schemars does not produce).
    pub input_schema: Option<SchemaFn>,
    /// `#[secure_resource]`: the resource's URI.
    pub uri: Option<Str>,
    /// `#[secure_resource]`: a URI template (`test://items/{id}`).
    pub uri_template: Option<Str>,
    /// `#[secure_resource]`: the MIME type of its contents.
    pub mime_type: Option<Str>,
}

/// The arguments of `#[secure_prompt]`.
pub(crate) const PROMPT_KEYS: &[&str] = &[
    "scopes",
    "scopes_any",
    "public",
    "rate",
    "burst",
    "name",
    "title",
    "description",
    "max_input_bytes",
];

/// The arguments of `#[secure_resource]`.
pub(crate) const RESOURCE_KEYS: &[&str] = &[
    "uri",
    "uri_template",
    "scopes",
    "scopes_any",
    "public",
    "rate",
    "burst",
    "name",
    "title",
    "description",
    "mime_type",
];

/// `input_schema = Self::schema`: a function returning the input schema as a JSON value.
#[derive(Debug, Clone)]
pub(crate) struct SchemaFn(pub syn::ExprPath);

impl FromMeta for SchemaFn {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match ungroup(expr) {
            Expr::Path(p) => Ok(Self(p.clone())),
            other => Err(custom(
                other.span(),
                "`input_schema` names a function returning the schema as a `serde_json::Value` \
                 object, e.g. `input_schema = Self::write_schema`",
            )),
        }
    }
}

pub(crate) const TOOL_KEYS: &[&str] = &[
    "input_schema",
    "scopes",
    "scopes_any",
    "public",
    "rate",
    "burst",
    "name",
    "title",
    "description",
    "annotations",
    "max_input_bytes",
];

/// `"admin:full > data:write > data:read"`, or several such chains in an array.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hierarchy {
    /// `(higher, lower)` edges, with the span of the chain each came from.
    pub chains: Vec<(Vec<(String, String)>, Span)>,
}

impl FromMeta for Hierarchy {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        let example = "hierarchy = \"admin:full > data:write > data:read\"";
        let items: Vec<&Expr> = match ungroup(expr) {
            Expr::Array(array) => array.elems.iter().collect(),
            other => vec![other],
        };
        let mut out = Self::default();
        let mut errors = darling::Error::accumulator();
        for item in items {
            let Some(lit) = errors.handle(lit_str(item, "hierarchy", example)) else {
                continue;
            };
            let mut local = Errors::default();
            let edges = scope::parse_chain(lit, &mut local);
            if let Some(e) = local.into_error() {
                errors.push(e.into());
            }
            out.chains.push((edges, lit.span()));
        }
        errors.finish_with(out)
    }
}

/// `security = field`: the field holding the server's `Security`.
#[derive(Debug, Clone)]
pub(crate) struct SecurityField(pub Ident);

impl FromMeta for SecurityField {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match ungroup(expr) {
            Expr::Path(p) if p.path.get_ident().is_some() => p
                .path
                .get_ident()
                .cloned()
                .map(Self)
                .ok_or_else(|| custom(p.span(), "expected a field name")),
            other => Err(custom(
                other.span(),
                "`security` names the field that holds the server's `Security`, \
                 e.g. `security = guard` for `self.guard`",
            )),
        }
    }
}

/// `#[secure_server(...)]`, as written.
#[derive(Debug, Default, FromMeta)]
#[darling(default)]
pub(crate) struct ServerAttr {
    pub scopes: Option<ScopeList>,
    pub hierarchy: Option<Hierarchy>,
    pub name: Option<Str>,
    pub version: Option<Str>,
    pub instructions: Option<Str>,
    pub security: Option<SecurityField>,
    pub handler: Option<SpannedValue<bool>>,
    pub extend: Option<SpannedValue<Extend>>,
    pub deny_unsecured: Flag,
}

/// `extend = Self::legacy_router`: a function returning an rmcp `ToolRouter<Self>` of plain
/// tools served beside the secured ones.
#[derive(Debug, Clone)]
pub(crate) struct Extend(pub syn::ExprPath);

impl FromMeta for Extend {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match ungroup(expr) {
            Expr::Path(p) => Ok(Self(p.clone())),
            other => Err(custom(
                other.span(),
                "`extend` names a function returning an rmcp `ToolRouter<Self>` of plain tools, \
                 e.g. `extend = Self::tool_router` for a `#[tool_router]` impl",
            )),
        }
    }
}

pub(crate) const SERVER_KEYS: &[&str] = &[
    "scopes",
    "hierarchy",
    "name",
    "version",
    "instructions",
    "security",
    "handler",
    "extend",
    "deny_unsecured",
];

/// What the first pass learnt about the arguments as written.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    /// Each argument's key and the span of the key.
    spans: Vec<(String, Span)>,
    /// An unknown argument was dropped (then a missing `scopes`/`public` is most likely that
    /// argument misspelt: not reported twice).
    pub had_unknown: bool,
}

impl Keys {
    /// The span of `key` as written.
    pub(crate) fn span(&self, key: &str) -> Option<Span> {
        self.spans.iter().find(|(k, _)| k == key).map(|(_, s)| *s)
    }
}

/// The argument list after the first pass.
pub(crate) struct Prescanned {
    pub items: Vec<NestedMeta>,
    pub keys: Keys,
}

/// The first pass: reports unknown arguments (naming the nearest valid one and every valid
/// one) and repeated arguments, and drops them so `darling` parses the rest.
pub(crate) fn prescan(
    tokens: TokenStream,
    attr: &str,
    valid: &[&str],
    errors: &mut Errors,
) -> Prescanned {
    let items = match NestedMeta::parse_meta_list(tokens) {
        Ok(items) => items,
        Err(e) => {
            errors.push(e);
            return Prescanned {
                items: Vec::new(),
                keys: Keys {
                    spans: Vec::new(),
                    had_unknown: true,
                },
            };
        }
    };
    let mut seen: Vec<(String, Span)> = Vec::new();
    let mut had_unknown = false;
    let mut kept = Vec::new();
    for item in items {
        let NestedMeta::Meta(meta) = &item else {
            errors.at(
                item.span(),
                format!(
                    "`#[{attr}]` takes `key = value` arguments; expected {}",
                    backticked_list(valid)
                ),
            );
            continue;
        };
        let path = meta.path();
        let key = path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::");
        if !valid.contains(&key.as_str()) {
            had_unknown = true;
            let hint = match did_you_mean(&key, valid.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            errors.at(
                path.span(),
                format!(
                    "unknown argument `{key}` for `#[{attr}]`; {hint}expected {}",
                    backticked_list(valid)
                ),
            );
            continue;
        }
        if seen.iter().any(|(k, _)| *k == key) {
            errors.at(
                path.span(),
                format!("`{key}` is given twice; keep one of them"),
            );
            continue;
        }
        seen.push((key, path.span()));
        kept.push(item);
    }
    Prescanned {
        items: kept,
        keys: Keys {
            spans: seen,
            had_unknown,
        },
    }
}

/// Parses one attribute's arguments: the first pass, then `darling`. On errors the
/// arguments that did parse are still returned (defaults for the rest), so expansion can go
/// on and one mistake yields one error.
pub(crate) fn parse<T: FromMeta + Default>(
    tokens: TokenStream,
    attr: &str,
    valid: &[&str],
    errors: &mut Errors,
) -> (T, Keys) {
    let scanned = prescan(tokens, attr, valid, errors);
    let mut value = T::default();
    let mut items = scanned.items;
    // Parse all together; on failure, parse each argument alone so the good ones survive.
    match T::from_list(&items) {
        Ok(v) => value = v,
        Err(_) => {
            let mut good = Vec::new();
            for item in items.drain(..) {
                match T::from_list(std::slice::from_ref(&item)) {
                    Ok(_) => good.push(item),
                    Err(e) => errors.push(e.into()),
                }
            }
            if let Ok(v) = T::from_list(&good) {
                value = v;
            }
        }
    }
    (value, scanned.keys)
}
