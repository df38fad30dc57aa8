//! `#[derive(Redact)]`: masks the fields marked `#[redact]` before a value leaves the server.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Data, DeriveInput, Field, Fields, Index, Path, spanned::Spanned};

use crate::errors::Errors;

enum Action {
    /// `#[redact]`: replace the value with its mask.
    Mask,
    /// `#[redact(nested)]`: the field's own `Redact` implementation.
    Nested,
    /// `#[redact(with = path)]`: `path(&mut field)`.
    With(Path),
}

fn field_action(field: &Field, errors: &mut Errors) -> Option<Action> {
    let mut action = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("redact")) {
        if action.is_some() {
            errors.at(
                attr.span(),
                "`#[redact]` is given twice on this field; keep one",
            );
            continue;
        }
        if matches!(attr.meta, syn::Meta::Path(_)) {
            action = Some(Action::Mask);
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("nested") {
                action = Some(Action::Nested);
                Ok(())
            } else if meta.path.is_ident("with") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                action = Some(Action::With(lit.parse()?));
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `#[redact(..)]` option; write `#[redact]` to mask the field, \
                     `#[redact(nested)]` to redact inside it, or `#[redact(with = \"path\")]`",
                ))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    action
}

fn statement(action: &Action, place: TokenStream, field: &Field) -> TokenStream {
    let ty = &field.ty;
    match action {
        Action::Mask => quote_spanned! {ty.span()=>
            <#ty as ::mcp_secure::redact::Mask>::mask(#place);
        },
        Action::Nested => quote_spanned! {ty.span()=>
            <#ty as ::mcp_secure::redact::Redact>::redact(#place);
        },
        Action::With(path) => quote_spanned! {path.span()=> #path(#place); },
    }
}

// One pass over the fields, collecting every error and the statements for both struct
// shapes (named and tuple) side by side; splitting it would scatter that one loop.
pub(crate) fn derive(input: DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let name = &input.ident;
    let body = match &input.data {
        Data::Struct(data) => {
            let stmts = data.fields.iter().enumerate().filter_map(|(i, field)| {
                let action = field_action(field, &mut errors)?;
                let member = match &field.ident {
                    Some(ident) => quote!(#ident),
                    None => {
                        let index = Index::from(i);
                        quote!(#index)
                    }
                };
                Some(statement(&action, quote!(&mut self.#member), field))
            });
            let stmts: Vec<TokenStream> = stmts.collect();
            quote!(#(#stmts)*)
        }
        Data::Enum(data) => {
            let arms: Vec<TokenStream> = data
                .variants
                .iter()
                .map(|variant| {
                    let v = &variant.ident;
                    let mut stmts = Vec::new();
                    let mut bindings = Vec::new();
                    for (i, field) in variant.fields.iter().enumerate() {
                        let binding = format_ident!("__mcp_secure_field_{}", i);
                        if let Some(action) = field_action(field, &mut errors) {
                            stmts.push(statement(&action, quote!(#binding), field));
                            bindings.push((i, field, Some(binding)));
                        } else {
                            bindings.push((i, field, None));
                        }
                    }
                    let pattern = match &variant.fields {
                        Fields::Named(_) => {
                            let parts = bindings.iter().filter_map(|(_, f, b)| {
                                let ident = f.ident.as_ref()?;
                                Some(match b {
                                    Some(b) => quote!(#ident: #b),
                                    None => quote!(#ident: _),
                                })
                            });
                            quote!(Self::#v { #(#parts),* })
                        }
                        Fields::Unnamed(_) => {
                            let parts = bindings.iter().map(|(_, _, b)| match b {
                                Some(b) => quote!(#b),
                                None => quote!(_),
                            });
                            quote!(Self::#v(#(#parts),*))
                        }
                        Fields::Unit => quote!(Self::#v),
                    };
                    quote!(#pattern => { #(#stmts)* })
                })
                .collect();
            if arms.is_empty() {
                quote!()
            } else {
                quote!(match self { #(#arms)* })
            }
        }
        Data::Union(u) => {
            errors.at(
                u.union_token.span(),
                "`Redact` cannot be derived for a union; use a struct or an enum",
            );
            quote!()
        }
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let compile_errors = errors.into_compile_errors();
    quote! {
        #compile_errors
        impl #impl_generics ::mcp_secure::redact::Redact for #name #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn redact(&mut self) {
                #body
            }
        }
    }
}
