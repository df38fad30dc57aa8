//! Code generation for `#[secure_server]`.
//!
//! The generated code only wires each tool into the runtime's one pipeline
//! (`mcp_secure::__private`): a static policy, one small adapter per tool that parses the
//! arguments into the tool's own parameter type and calls the method, and the rmcp
//! `ServerHandler` methods, each a one-line call into the runtime.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemImpl, spanned::Spanned};

use crate::{
    attr::Annotations,
    model::{ServerModel, ToolArg, ToolModel},
};

fn str_slice(items: &[String]) -> TokenStream {
    quote!(&[#(#items),*])
}

fn tool_policy(tool: &ToolModel) -> TokenStream {
    let name = &tool.name;
    let scopes = str_slice(&tool.scopes);
    let satisfiers = tool.satisfiers.iter().map(|s| str_slice(s));
    let public = tool.public;
    let rate = match tool.rate {
        Some(rate) => {
            let count = rate.count;
            let period = rate.period_secs;
            let burst = tool.burst.unwrap_or(rate.count);
            quote!(::core::option::Option::Some(::mcp_secure::__private::RateSpec {
                count: #count,
                period_secs: #period,
                burst: #burst,
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let max_input = match tool.max_input_bytes {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::mcp_secure::__private::ToolPolicy {
            name: #name,
            scopes: #scopes,
            satisfiers: &[#(#satisfiers),*],
            public: #public,
            rate: #rate,
            max_input_bytes: #max_input,
        }
    }
}

fn invoke_ident(tool: &ToolModel) -> syn::Ident {
    format_ident!("__mcp_secure_invoke_{}", tool.ident)
}

/// The adapter between the pipeline and the user's method.
fn invoke_fn(tool: &ToolModel) -> TokenStream {
    let method = &tool.ident;
    let invoke = invoke_ident(tool);
    let params_ty = match &tool.params {
        Some(ty) => quote!(#ty),
        None => quote!(::mcp_secure::__private::NoParameters),
    };
    let params_span = tool
        .params
        .as_ref()
        .map_or(Span::call_site(), Spanned::span);
    let parse = quote_spanned! {params_span=>
        ::mcp_secure::__private::parse_parameters::<#params_ty>(__mcp_secure_arguments)
    };
    let uses = |kind: fn(&ToolArg) -> bool| tool.args.iter().any(kind);
    let principal_pat = if uses(|a| matches!(a, ToolArg::Principal)) {
        quote!(__mcp_secure_principal)
    } else {
        quote!(_)
    };
    let context_pat = if uses(|a| matches!(a, ToolArg::Context)) {
        quote!(__mcp_secure_context)
    } else {
        quote!(_)
    };
    let call_args = tool.args.iter().map(|arg| match arg {
        ToolArg::Parameters => {
            quote!(::mcp_secure::rmcp::handler::server::wrapper::Parameters(
                __mcp_secure_params
            ))
        }
        ToolArg::Principal => quote!(__mcp_secure_principal),
        ToolArg::Context => quote!(__mcp_secure_context),
    });
    let output = &tool.output;
    let finish = quote_spanned! {output.span()=>
        ::mcp_secure::__private::ToolReturn::into_outcome(__mcp_secure_ret)
    };
    let bind_params = if tool.params.is_none() {
        quote!(let _ = __mcp_secure_params;)
    } else {
        TokenStream::new()
    };
    quote! {
        #[doc(hidden)]
        #[allow(clippy::all, clippy::pedantic)]
        fn #invoke(
            &self,
            __mcp_secure_call: ::mcp_secure::__private::Invocation,
        ) -> ::mcp_secure::__private::BoxFuture<'_, ::mcp_secure::__private::Outcome> {
            ::std::boxed::Box::pin(async move {
                let ::mcp_secure::__private::Invocation {
                    arguments: __mcp_secure_arguments,
                    principal: #principal_pat,
                    context: #context_pat,
                } = __mcp_secure_call;
                let __mcp_secure_params = match #parse {
                    ::core::result::Result::Ok(params) => params,
                    ::core::result::Result::Err(rejected) => return rejected,
                };
                #bind_params
                let mut __mcp_secure_ret: #output = self.#method(#(#call_args),*).await;
                {
                    #[allow(unused_imports)]
                    use ::mcp_secure::__private::{ViaNothing as _, ViaRedact as _};
                    (&mut ::mcp_secure::__private::RedactProbe(&mut __mcp_secure_ret))
                        .__mcp_secure_redact();
                }
                #finish
            })
        }
    }
}

fn annotations(a: &Annotations) -> TokenStream {
    fn opt<T: quote::ToTokens>(x: &Option<T>) -> TokenStream {
        match x {
            Some(v) => quote!(::core::option::Option::Some(::core::convert::Into::into(#v))),
            None => quote!(::core::option::Option::None),
        }
    }
    let title = opt(&a.title);
    let ro = opt(&a.read_only_hint);
    let de = opt(&a.destructive_hint);
    let id = opt(&a.idempotent_hint);
    let ow = opt(&a.open_world_hint);
    quote! {
        ::core::option::Option::Some(::mcp_secure::rmcp::model::ToolAnnotations::from_raw(
            #title, #ro, #de, #id, #ow,
        ))
    }
}

/// One `router.add_route(..)` statement.
fn add_route(tool: &ToolModel, index: usize) -> TokenStream {
    let invoke = invoke_ident(tool);
    let params_ty = match &tool.params {
        Some(ty) => quote!(#ty),
        None => quote!(::mcp_secure::__private::NoParameters),
    };
    let params_span = tool
        .params
        .as_ref()
        .map_or(Span::call_site(), Spanned::span);
    let input_schema = quote_spanned! {params_span=>
        ::mcp_secure::__private::input_schema::<#params_ty>()
    };
    let description = match &tool.description {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    let title = match &tool.title {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };
    let annotations = match &tool.annotations {
        Some(a) => annotations(a),
        None => quote!(::core::option::Option::None),
    };
    let output_schema = match &tool.structured_output {
        Some(ty) => quote_spanned! {ty.span()=>
            ::core::option::Option::Some(
                ::mcp_secure::rmcp::handler::server::tool::schema_for_output::<#ty>()
            )
        },
        None => quote!(::core::option::Option::None),
    };
    quote! {
        __router.add_route(::mcp_secure::__private::route::<Self>(
            &__policy.tools[#index],
            ::mcp_secure::__private::Listing {
                input_schema: #input_schema,
                description: #description,
                title: #title,
                annotations: #annotations,
                output_schema: #output_schema,
            },
            Self::#invoke,
        )?);
    }
}

pub(crate) fn expand(item_impl: &ItemImpl, model: &ServerModel) -> TokenStream {
    let self_ty = &model.self_ty;
    let security = &model.args.security;
    let catalogue = str_slice(&model.catalogue);
    let hierarchy = model.edges.iter().map(|(h, l)| quote!((#h, #l)));
    let policies = model.tools.iter().map(tool_policy);
    let invokes = model.tools.iter().map(invoke_fn);
    let routes = model.tools.iter().enumerate().map(|(i, t)| add_route(t, i));
    let server_name = match &model.args.name {
        Some(n) => quote!(#n),
        None => quote!(::core::env!("CARGO_PKG_NAME")),
    };
    let server_version = match &model.args.version {
        Some(v) => quote!(#v),
        None => quote!(::core::env!("CARGO_PKG_VERSION")),
    };
    let instructions = match &model.args.instructions {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    };

    let handler = model.args.handler.then(|| {
        quote! {
            impl ::mcp_secure::rmcp::ServerHandler for #self_ty {
                fn get_info(&self) -> ::mcp_secure::rmcp::model::ServerConfig {
                    ::mcp_secure::__private::server_info::<Self>()
                }

                fn call_tool(
                    &self,
                    request: ::mcp_secure::rmcp::model::CallToolRequestParams,
                    context: ::mcp_secure::rmcp::service::RequestContext<::mcp_secure::rmcp::RoleServer>,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<
                        ::mcp_secure::rmcp::model::CallToolResponse,
                        ::mcp_secure::rmcp::ErrorData,
                    >,
                > + ::core::marker::Send + '_ {
                    ::mcp_secure::__private::call_tool(self, request, context)
                }

                fn list_tools(
                    &self,
                    request: ::core::option::Option<::mcp_secure::rmcp::model::PaginatedRequestParams>,
                    context: ::mcp_secure::rmcp::service::RequestContext<::mcp_secure::rmcp::RoleServer>,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<
                        ::mcp_secure::rmcp::model::ListToolsResult,
                        ::mcp_secure::rmcp::ErrorData,
                    >,
                > + ::core::marker::Send + '_ {
                    ::mcp_secure::__private::list_tools(self, request, context)
                }

                fn get_tool(&self, name: &str) -> ::core::option::Option<::mcp_secure::rmcp::model::Tool> {
                    ::mcp_secure::__private::get_tool::<Self>(name)
                }
            }
        }
    });

    quote! {
        #item_impl

        impl #self_ty {
            #(#invokes)*
        }

        impl ::mcp_secure::SecureServer for #self_ty {
            fn security_runtime(&self) -> &::mcp_secure::Security {
                &self.#security
            }

            fn server_policy() -> &'static ::mcp_secure::__private::ServerPolicy {
                static POLICY: ::mcp_secure::__private::ServerPolicy = ::mcp_secure::__private::ServerPolicy {
                    name: #server_name,
                    version: #server_version,
                    instructions: #instructions,
                    catalogue: #catalogue,
                    hierarchy: &[#(#hierarchy),*],
                    tools: &[#(#policies),*],
                };
                &POLICY
            }

            fn secure_tool_router() -> ::core::result::Result<
                &'static ::mcp_secure::rmcp::handler::server::router::tool::ToolRouter<Self>,
                ::mcp_secure::RouterError,
            > {
                static ROUTER: ::std::sync::OnceLock<
                    ::core::result::Result<
                        ::mcp_secure::rmcp::handler::server::router::tool::ToolRouter<#self_ty>,
                        ::mcp_secure::RouterError,
                    >,
                > = ::std::sync::OnceLock::new();
                ROUTER
                    .get_or_init(|| {
                        let __policy = <Self as ::mcp_secure::SecureServer>::server_policy();
                        let mut __router =
                            ::mcp_secure::rmcp::handler::server::router::tool::ToolRouter::<Self>::new();
                        #(#routes)*
                        ::core::result::Result::Ok(__router)
                    })
                    .as_ref()
                    .map_err(::core::clone::Clone::clone)
            }
        }

        #handler
    }
}
