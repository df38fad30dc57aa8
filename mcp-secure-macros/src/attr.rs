//! Parsing of the attribute arguments: `#[secure_tool(...)]` and `#[secure_server(...)]`.
//!
//! Every problem is pushed to an [`Errors`] accumulator with the span of the offending token;
//! parsing carries on past it so one compile shows every mistake.

use proc_macro2::{Span, TokenStream};
use syn::{
    Expr, ExprLit, ExprUnary, Ident, Lit, LitBool, LitStr, UnOp, meta::ParseNestedMeta,
    parse::Parser, spanned::Spanned,
};

use crate::errors::{Errors, backticked_list, did_you_mean};

/// A value with the span it was written at.
pub(crate) struct At<T> {
    pub value: T,
    pub span: Span,
}

/// The time unit of a rate: calls per `seconds`.
#[derive(Clone, Copy)]
pub(crate) struct Rate {
    pub count: u32,
    pub period_secs: u64,
}

#[derive(Default)]
pub(crate) struct Annotations {
    pub title: Option<LitStr>,
    pub read_only_hint: Option<LitBool>,
    pub destructive_hint: Option<LitBool>,
    pub idempotent_hint: Option<LitBool>,
    pub open_world_hint: Option<LitBool>,
}

/// `#[secure_tool(...)]`, as written.
#[derive(Default)]
pub(crate) struct ToolArgs {
    pub scopes: Option<At<Vec<String>>>,
    pub public: Option<Span>,
    pub rate: Option<At<Rate>>,
    pub burst: Option<At<u32>>,
    pub max_input_bytes: Option<At<u64>>,
    pub name: Option<LitStr>,
    pub title: Option<LitStr>,
    pub description: Option<LitStr>,
    pub annotations: Option<Annotations>,
    /// An unknown key was given: the access-rule check is skipped, since the unknown key is
    /// most likely a misspelt `scopes` or `public` already reported.
    pub had_unknown: bool,
}

pub(crate) const TOOL_KEYS: &[&str] = &[
    "scopes",
    "public",
    "rate",
    "burst",
    "name",
    "title",
    "description",
    "annotations",
    "max_input_bytes",
];

const ANNOTATION_KEYS: &[&str] = &[
    "title",
    "read_only_hint",
    "destructive_hint",
    "idempotent_hint",
    "open_world_hint",
];

/// `#[secure_server(...)]`, as written.
pub(crate) struct ServerArgs {
    pub scopes: Option<At<Vec<String>>>,
    pub hierarchy: Vec<At<Vec<(String, String)>>>,
    pub name: Option<LitStr>,
    pub version: Option<LitStr>,
    pub instructions: Option<LitStr>,
    pub security: Ident,
    pub handler: bool,
}

pub(crate) const SERVER_KEYS: &[&str] = &[
    "scopes",
    "hierarchy",
    "name",
    "version",
    "instructions",
    "security",
    "handler",
];

/// Parses `tokens` with a per-key closure; a syntax error that stops the parser is
/// recorded too.
fn parse_meta_list(
    tokens: TokenStream,
    errors: &mut Errors,
    mut each: impl FnMut(&ParseNestedMeta<'_>, &str, &mut Errors) -> syn::Result<()>,
) {
    let mut local = Errors::default();
    let result = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_else(|| {
                meta.path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect::<Vec<_>>()
                    .join("::")
            });
        each(&meta, &key, &mut local)
    })
    .parse2(tokens);
    errors.push_all(local);
    if let Err(e) = result {
        errors.push(e);
    }
}

impl Errors {
    fn push_all(&mut self, other: Errors) {
        if let Some(e) = other.into_error() {
            self.push(e);
        }
    }
}

fn unknown_key(meta: &ParseNestedMeta<'_>, key: &str, attr: &str, valid: &[&str]) -> syn::Error {
    let hint = match did_you_mean(key, valid.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`? "),
        None => String::new(),
    };
    syn::Error::new(
        meta.path.span(),
        format!(
            "unknown argument `{key}` for `#[{attr}]`; {hint}expected {}",
            backticked_list(valid)
        ),
    )
}

/// Consumes a `= value` (or reports a missing one) and returns it as an expression.
fn value_expr(meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<Expr> {
    if !meta.input.peek(syn::Token![=]) {
        return Err(syn::Error::new(
            meta.path.span(),
            format!("`{key}` needs a value, e.g. `{example}`"),
        ));
    }
    meta.value()?.parse::<Expr>()
}

fn duplicate(errors: &mut Errors, span: Span, key: &str) {
    errors.at(span, format!("`{key}` is given twice; keep one of them"));
}

fn lit_str(expr: &Expr, key: &str, example: &str, errors: &mut Errors) -> Option<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        other => {
            errors.at(
                other.span(),
                format!("`{key}` takes a string literal, e.g. `{example}`"),
            );
            None
        }
    }
}

fn lit_bool(expr: &Expr, key: &str, errors: &mut Errors) -> Option<LitBool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.clone()),
        other => {
            errors.at(other.span(), format!("`{key}` takes `true` or `false`"));
            None
        }
    }
}

/// A positive integer literal that fits `T`, or an error naming `key`.
fn positive_int<T>(expr: &Expr, key: &str, what: &str, errors: &mut Errors) -> Option<T>
where
    T: std::str::FromStr + Default + PartialEq,
    T::Err: std::fmt::Display,
{
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => match i.base10_parse::<T>() {
            Ok(v) if v == T::default() => {
                errors.at(i.span(), format!("`{key}` must be at least 1 ({what})"));
                None
            }
            Ok(v) => Some(v),
            Err(_) => {
                errors.at(i.span(), format!("`{key}` is too large ({what})"));
                None
            }
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => {
            errors.at(
                expr.span(),
                format!("`{key}` cannot be negative; give a positive integer ({what})"),
            );
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => {
            errors.at(
                f.span(),
                format!("`{key}` must be a whole number, not `{f}` ({what})"),
            );
            None
        }
        other => {
            errors.at(
                other.span(),
                format!("`{key}` takes a positive integer literal ({what})"),
            );
            None
        }
    }
}

const RATE_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("h", 3600),
    ("hour", 3600),
    ("d", 86_400),
    ("day", 86_400),
];

const RATE_HELP: &str = "`rate = 100` (calls per minute) or a string `\"COUNT/UNIT\"` \
                         such as `\"10/s\"`, `\"100/min\"`, `\"500/h\"` or `\"1000/d\"`";

fn parse_rate(expr: &Expr, errors: &mut Errors) -> Option<Rate> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(s), ..
    }) = expr
    {
        let text = s.value();
        let Some((count, unit)) = text.split_once('/') else {
            errors.at(
                s.span(),
                format!(
                    "`rate = \"{}\"` has no unit; write {RATE_HELP}",
                    text.escape_default()
                ),
            );
            return None;
        };
        let (count, unit) = (count.trim(), unit.trim());
        let count = match count.parse::<i128>() {
            Ok(c) if c <= 0 => {
                errors.at(
                    s.span(),
                    format!("`rate` must be at least 1 call; write {RATE_HELP}"),
                );
                return None;
            }
            Ok(c) => match u32::try_from(c) {
                Ok(c) => c,
                Err(_) => {
                    errors.at(s.span(), "`rate` count is too large (at most 4294967295)");
                    return None;
                }
            },
            Err(_) => {
                errors.at(
                    s.span(),
                    format!(
                        "`rate` count `{}` is not a whole number; write {RATE_HELP}",
                        count.escape_default()
                    ),
                );
                return None;
            }
        };
        let Some(&(_, period_secs)) = RATE_UNITS.iter().find(|(name, _)| *name == unit) else {
            let names: Vec<&str> = RATE_UNITS.iter().map(|(n, _)| *n).collect();
            let hint = match did_you_mean(unit, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            errors.at(
                s.span(),
                format!(
                    "unknown rate unit `{}`; {hint}use one of {}",
                    unit.escape_default(),
                    backticked_list(&names)
                ),
            );
            return None;
        };
        return Some(Rate { count, period_secs });
    }
    let count = positive_int::<u32>(expr, "rate", "calls per minute", errors)?;
    Some(Rate {
        count,
        period_secs: 60,
    })
}

fn parse_annotations(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Annotations> {
    let mut out = Annotations::default();
    meta.parse_nested_meta(|inner| {
        let key = inner
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = inner.path.span();
        match key.as_str() {
            "title" => {
                let e = value_expr(&inner, "title", "title = \"Read data\"")?;
                if out.title.is_some() {
                    duplicate(errors, span, "title");
                }
                out.title = lit_str(&e, "title", "title = \"Read data\"", errors);
            }
            "read_only_hint" | "destructive_hint" | "idempotent_hint" | "open_world_hint" => {
                let e = value_expr(&inner, &key, &format!("{key} = true"))?;
                let slot = match key.as_str() {
                    "read_only_hint" => &mut out.read_only_hint,
                    "destructive_hint" => &mut out.destructive_hint,
                    "idempotent_hint" => &mut out.idempotent_hint,
                    _ => &mut out.open_world_hint,
                };
                if slot.is_some() {
                    duplicate(errors, span, &key);
                }
                *slot = lit_bool(&e, &key, errors);
            }
            _ => {
                if inner.input.peek(syn::Token![=]) {
                    let _ = inner.value()?.parse::<Expr>()?;
                }
                errors.push(unknown_key(
                    &inner,
                    &key,
                    "secure_tool(annotations(..))",
                    ANNOTATION_KEYS,
                ));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Skips whatever value follows an unknown key so parsing can go on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

pub(crate) fn parse_tool_args(tokens: TokenStream, errors: &mut Errors) -> ToolArgs {
    let mut args = ToolArgs::default();
    parse_meta_list(tokens, errors, |meta, key, errors| {
        let span = meta.path.span();
        match key {
            "scopes" => {
                let e = value_expr(meta, key, "scopes = \"data:read\"")?;
                if args.scopes.is_some() {
                    duplicate(errors, span, key);
                }
                if let Some(lit) = lit_str(&e, key, "scopes = \"data:read data:write\"", errors) {
                    let value = crate::scope::parse_scope_list(&lit, errors);
                    args.scopes = Some(At {
                        value,
                        span: lit.span(),
                    });
                }
            }
            "public" => {
                if meta.input.peek(syn::Token![=]) {
                    let e = meta.value()?.parse::<Expr>()?;
                    errors.at(
                        e.span(),
                        "`public` takes no value; write `public` on its own",
                    );
                }
                if args.public.is_some() {
                    duplicate(errors, span, key);
                }
                args.public = Some(span);
            }
            "rate" => {
                let e = value_expr(meta, key, "rate = 100")?;
                if args.rate.is_some() {
                    duplicate(errors, span, key);
                }
                args.rate = parse_rate(&e, errors).map(|value| At {
                    value,
                    span: e.span(),
                });
            }
            "burst" => {
                let e = value_expr(meta, key, "burst = 10")?;
                if args.burst.is_some() {
                    duplicate(errors, span, key);
                }
                args.burst = positive_int::<u32>(&e, key, "calls allowed at once", errors)
                    .map(|value| At { value, span });
            }
            "max_input_bytes" => {
                let e = value_expr(meta, key, "max_input_bytes = 65536")?;
                if args.max_input_bytes.is_some() {
                    duplicate(errors, span, key);
                }
                args.max_input_bytes =
                    positive_int::<u64>(&e, key, "bytes of JSON arguments", errors)
                        .map(|value| At { value, span });
            }
            "name" | "title" | "description" => {
                let example = format!("{key} = \"...\"");
                let e = value_expr(meta, key, &example)?;
                let slot = match key {
                    "name" => &mut args.name,
                    "title" => &mut args.title,
                    _ => &mut args.description,
                };
                if slot.is_some() {
                    duplicate(errors, span, key);
                }
                *slot = lit_str(&e, key, &example, errors);
            }
            "annotations" => {
                if !meta.input.peek(syn::token::Paren) {
                    return Err(syn::Error::new(
                        span,
                        "`annotations` takes a list, e.g. `annotations(read_only_hint = true)`",
                    ));
                }
                if args.annotations.is_some() {
                    duplicate(errors, span, key);
                }
                args.annotations = Some(parse_annotations(meta, errors)?);
            }
            _ => {
                skip_value(meta)?;
                args.had_unknown = true;
                errors.push(unknown_key(meta, key, "secure_tool", TOOL_KEYS));
            }
        }
        Ok(())
    });
    args
}

pub(crate) fn parse_server_args(tokens: TokenStream, errors: &mut Errors) -> ServerArgs {
    let mut args = ServerArgs {
        scopes: None,
        hierarchy: Vec::new(),
        name: None,
        version: None,
        instructions: None,
        security: Ident::new("security", Span::call_site()),
        handler: true,
    };
    let mut seen: Vec<String> = Vec::new();
    parse_meta_list(tokens, errors, |meta, key, errors| {
        let span = meta.path.span();
        if SERVER_KEYS.contains(&key) && seen.iter().any(|k| k == key) && key != "hierarchy" {
            duplicate(errors, span, key);
        }
        seen.push(key.to_string());
        match key {
            "scopes" => {
                let e = value_expr(meta, key, "scopes = \"data:read data:write\"")?;
                if let Some(lit) = lit_str(&e, key, "scopes = \"data:read data:write\"", errors) {
                    let value = crate::scope::parse_scope_list(&lit, errors);
                    args.scopes = Some(At {
                        value,
                        span: lit.span(),
                    });
                }
            }
            "hierarchy" => {
                let example = "hierarchy = \"admin:full > data:write > data:read\"";
                let e = value_expr(meta, key, example)?;
                let lits: Vec<&Expr> = match &e {
                    Expr::Array(array) => array.elems.iter().collect(),
                    other => vec![other],
                };
                for item in lits {
                    if let Some(lit) = lit_str(item, key, example, errors) {
                        let value = crate::scope::parse_chain(&lit, errors);
                        args.hierarchy.push(At {
                            value,
                            span: lit.span(),
                        });
                    }
                }
            }
            "name" | "version" | "instructions" => {
                let example = format!("{key} = \"...\"");
                let e = value_expr(meta, key, &example)?;
                let lit = lit_str(&e, key, &example, errors);
                match key {
                    "name" => args.name = lit,
                    "version" => args.version = lit,
                    _ => args.instructions = lit,
                }
            }
            "security" => {
                let e = value_expr(meta, key, "security = guard")?;
                match &e {
                    Expr::Path(p) if p.path.get_ident().is_some() => {
                        if let Some(ident) = p.path.get_ident() {
                            args.security = ident.clone();
                        }
                    }
                    other => errors.at(
                        other.span(),
                        "`security` names the field that holds the server's `Security`, \
                         e.g. `security = guard` for `self.guard`",
                    ),
                }
            }
            "handler" => {
                let e = value_expr(meta, key, "handler = false")?;
                if let Some(b) = lit_bool(&e, key, errors) {
                    args.handler = b.value;
                }
            }
            _ => {
                skip_value(meta)?;
                errors.push(unknown_key(meta, key, "secure_server", SERVER_KEYS));
            }
        }
        Ok(())
    });
    args
}
