//! Code generation for `#[secure_server]`.
//!
//! The generated code only wires each tool into the runtime's one pipeline: a static policy,
//! one small adapter per tool that extracts the method's arguments and calls it, the tool
//! router, and the rmcp `ServerHandler` methods, each a one-line call into the runtime. It
//! names the runtime only through `::mcp_secure::__private_0_1`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemImpl, spanned::Spanned};

use crate::{
    ast::{Arg, Kind},
    attr::Annotations,
    valid::{ServerModel, ToolModel},
};

/// The runtime's support module for generated code.
pub(crate) fn private() -> TokenStream {
    quote!(::mcp_secure::__private_0_1)
}

fn str_slice(items: &[String]) -> TokenStream {
    quote!(&[#(#items),*])
}

fn option<T: quote::ToTokens>(value: Option<T>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn tool_policy(tool: &ToolModel) -> TokenStream {
    let p = private();
    let name = &tool.name;
    let scopes = str_slice(&tool.scopes);
    let satisfiers = tool.satisfiers.iter().map(|s| str_slice(s));
    let any_of = str_slice(&tool.any_of);
    let any_satisfiers = str_slice(&tool.any_satisfiers);
    let public = tool.public;
    let rate = option(tool.rate.map(|rate| {
        let (count, period) = (rate.count, rate.period_secs);
        let burst = tool.burst.unwrap_or(rate.count);
        quote!(#p::RateSpec { count: #count, period_secs: #period, burst: #burst })
    }));
    let max_input = option(tool.max_input_bytes);
    quote! {
        #p::ToolPolicy {
            name: #name,
            scopes: #scopes,
            satisfiers: &[#(#satisfiers),*],
            any_of: #any_of,
            any_satisfiers: #any_satisfiers,
            public: #public,
            rate: #rate,
            max_input_bytes: #max_input,
        }
    }
}

fn resource_policy(resource: &ToolModel) -> TokenStream {
    let p = private();
    let uri = resource.uri.clone().unwrap_or_default();
    let template = resource.template;
    let access = tool_policy(resource);
    quote! {
        #p::ResourcePolicy {
            uri: #uri,
            template: #template,
            access: #access,
        }
    }
}

fn adapter_ident(tool: &ToolModel) -> syn::Ident {
    match tool.kind {
        Kind::Tool => format_ident!("__mcp_secure_tool_{}", tool.ident),
        Kind::Prompt => format_ident!("__mcp_secure_prompt_{}", tool.ident),
        Kind::Resource => format_ident!("__mcp_secure_resource_{}", tool.ident),
    }
}

/// The adapter of a prompt: validated `Parameters<T>`, other extractors, the method, its
/// output as a prompt.
fn prompt_adapter(prompt: &ToolModel) -> TokenStream {
    let p = private();
    let method = &prompt.ident;
    let adapter = adapter_ident(prompt);
    let mut lets = Vec::new();
    let mut call_args = Vec::new();
    for (i, arg) in prompt.args.iter().enumerate() {
        let var = format_ident!("__mcp_secure_arg{}", i);
        lets.push(match arg {
            Arg::Parameters(ty) => quote_spanned! {ty.span()=>
                let #var = #p::prompt_parameters::<#ty, Self>(&mut __cx)?;
            },
            Arg::Extract(ty) => quote_spanned! {ty.span()=>
                let #var = #p::prompt_extract::<#ty, Self>(&mut __cx)?;
            },
        });
        call_args.push(var);
    }
    let output = &prompt.output;
    let finish =
        quote_spanned! {output.span()=> ::mcp_secure::__private_0_1::finish_prompt(__ret) };
    quote! {
        #[doc(hidden)]
        #[allow(unused_mut, clippy::all, clippy::pedantic)]
        fn #adapter<'a>(
            &'a self,
            mut __cx: #p::PromptContext<'a, Self>,
        ) -> #p::BoxFuture<'a, #p::PromptInvoked> {
            ::std::boxed::Box::pin(async move {
                #(#lets)*
                let __ret: #output = self.#method(#(#call_args),*).await;
                #finish
            })
        }
    }
}

/// The adapter of a resource: its extractors, the method, its output as contents.
fn resource_adapter(resource: &ToolModel) -> TokenStream {
    let p = private();
    let method = &resource.ident;
    let adapter = adapter_ident(resource);
    let mut lets = Vec::new();
    let mut call_args = Vec::new();
    for (i, arg) in resource.args.iter().enumerate() {
        let var = format_ident!("__mcp_secure_arg{}", i);
        let ty = match arg {
            Arg::Parameters(ty) | Arg::Extract(ty) => ty,
        };
        lets.push(quote_spanned! {ty.span()=>
            let #var = #p::resource_extract::<#ty, Self>(&mut __cx)?;
        });
        call_args.push(var);
    }
    let output = &resource.output;
    let mime = option(resource.mime_type.as_ref());
    let finish = quote_spanned! {output.span()=>
        ::mcp_secure::__private_0_1::finish_resource(__ret, &__uri, #mime)
    };
    quote! {
        #[doc(hidden)]
        #[allow(unused_mut, clippy::all, clippy::pedantic)]
        fn #adapter<'a>(
            &'a self,
            mut __cx: #p::ResourceContext<'a, Self>,
        ) -> #p::BoxFuture<'a, #p::ResourceInvoked> {
            ::std::boxed::Box::pin(async move {
                let __uri = ::std::clone::Clone::clone(&__cx.uri);
                #(#lets)*
                let __ret: #output = self.#method(#(#call_args),*).await;
                #finish
            })
        }
    }
}

/// One `.prompt(..)` of the prompt router.
fn prompt_route(prompt: &ToolModel) -> TokenStream {
    let p = private();
    let name = &prompt.name;
    let adapter = adapter_ident(prompt);
    let description = option(prompt.description.as_ref());
    let title = option(prompt.title.as_ref());
    let arguments = match &prompt.params {
        Some(ty) => quote_spanned! {ty.span()=> #p::prompt_arguments::<#ty>() },
        None => quote!(::core::option::Option::None),
    };
    quote! {
        .prompt(<Self as #p::SecureServer>::server_policy(), #name, #p::PromptListing {
            title: #title,
            description: #description,
            arguments: #arguments,
        }, Self::#adapter)
    }
}

/// One `.resource(..)` of the resource router.
fn resource_route(resource: &ToolModel) -> TokenStream {
    let p = private();
    let name = &resource.name;
    let adapter = adapter_ident(resource);
    let description = option(resource.description.as_ref());
    let title = option(resource.title.as_ref());
    let mime = option(resource.mime_type.as_ref());
    quote! {
        .resource(<Self as #p::SecureServer>::server_policy(), #name, #p::ResourceListing {
            title: #title,
            description: #description,
            mime_type: #mime,
        }, Self::#adapter)
    }
}

/// The adapter between the pipeline and the user's method: extracts each argument (every
/// extraction spanned on the argument's type, so a type that cannot be one is reported
/// there), calls the method, applies the output's `Redact`, hands the result back.
fn adapter(tool: &ToolModel) -> TokenStream {
    let p = private();
    let method = &tool.ident;
    let adapter = adapter_ident(tool);
    let mut lets = Vec::new();
    let mut call_args = Vec::new();
    if tool.params.is_none() {
        lets.push(quote!(#p::no_parameters(&mut __cx)?;));
    }
    for (i, arg) in tool.args.iter().enumerate() {
        let var = format_ident!("__mcp_secure_arg{}", i);
        lets.push(match arg {
            Arg::Parameters(ty) => quote_spanned! {ty.span()=>
                let #var = #p::parameters::<#ty, Self>(&mut __cx)?;
            },
            Arg::Extract(ty) => quote_spanned! {ty.span()=>
                let #var = #p::extract::<#ty, Self>(&mut __cx)?;
            },
        });
        call_args.push(var);
    }
    let output = &tool.output;
    let finish = quote_spanned! {output.span()=> ::mcp_secure::__private_0_1::finish(__ret) };
    quote! {
        #[doc(hidden)]
        #[allow(unused_mut, clippy::all, clippy::pedantic)]
        fn #adapter<'a>(
            &'a self,
            mut __cx: #p::ToolCallContext<'a, Self>,
        ) -> #p::BoxFuture<'a, #p::Invoked> {
            ::std::boxed::Box::pin(async move {
                #(#lets)*
                let mut __ret: #output = self.#method(#(#call_args),*).await;
                {
                    #[allow(unused_imports)]
                    use #p::{ViaNothing as _, ViaRedact as _};
                    (&mut #p::RedactProbe(&mut __ret)).__mcp_secure_redact();
                }
                #finish
            })
        }
    }
}

fn annotations(a: &Annotations) -> TokenStream {
    let p = private();
    let into = |v: Option<TokenStream>| match v {
        Some(v) => quote!(::core::option::Option::Some(::core::convert::Into::into(#v))),
        None => quote!(::core::option::Option::None),
    };
    let title = into(a.title.as_ref().map(|t| {
        let t = &t.0;
        quote!(#t)
    }));
    let flag = |b: &Option<syn::LitBool>| into(b.as_ref().map(|b| quote!(#b)));
    let (ro, de, id, ow) = (
        flag(&a.read_only_hint),
        flag(&a.destructive_hint),
        flag(&a.idempotent_hint),
        flag(&a.open_world_hint),
    );
    quote!(#p::ToolAnnotations::from_raw(#title, #ro, #de, #id, #ow))
}

/// One `.tool(name, listing, adapter)` of the router.
fn route(tool: &ToolModel) -> TokenStream {
    let p = private();
    let name = &tool.name;
    let adapter = adapter_ident(tool);
    let input_schema = match (&tool.input_schema, &tool.params) {
        (Some(f), _) => quote_spanned! {f.span()=> #p::raw_input_schema(#f()) },
        (None, Some(ty)) => quote_spanned! {ty.span()=> #p::input_schema::<#ty>() },
        (None, None) => quote!(::core::option::Option::None),
    };
    let description = option(tool.description.as_ref());
    let title = option(tool.title.as_ref());
    let annotations = option(tool.annotations.as_ref().map(annotations));
    let output_schema = match &tool.structured_output {
        Some(ty) => quote_spanned! {ty.span()=> #p::output_schema::<#ty>() },
        None => quote!(::core::option::Option::None),
    };
    quote! {
        .tool(#name, #p::Listing {
            input_schema: #input_schema,
            description: #description,
            title: #title,
            annotations: #annotations,
            output_schema: #output_schema,
        }, Self::#adapter)
    }
}

fn server_handler(model: &ServerModel) -> TokenStream {
    let p = private();
    let self_ty = &model.self_ty;
    let has = |kind| model.tools.iter().any(|t| t.kind == kind);
    let prompts = has(Kind::Prompt).then(|| {
        quote! {
            fn list_prompts(
                &self,
                request: ::core::option::Option<#p::PaginatedRequestParams>,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::ListPromptsResult, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::list_prompts(self, request, context)
            }

            fn get_prompt(
                &self,
                request: #p::GetPromptRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::GetPromptResponse, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::get_prompt(self, request, context)
            }
        }
    });
    let resources = has(Kind::Resource).then(|| {
        quote! {
            fn list_resources(
                &self,
                request: ::core::option::Option<#p::PaginatedRequestParams>,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::ListResourcesResult, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::list_resources(self, request, context)
            }

            fn list_resource_templates(
                &self,
                request: ::core::option::Option<#p::PaginatedRequestParams>,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::ListResourceTemplatesResult, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::list_resource_templates(self, request, context)
            }

            fn read_resource(
                &self,
                request: #p::ReadResourceRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::ReadResourceResponse, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::read_resource(self, request, context)
            }

            #[allow(deprecated)]
            fn subscribe(
                &self,
                request: #p::SubscribeRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::subscribe(self, request, context)
            }

            #[allow(deprecated)]
            fn unsubscribe(
                &self,
                request: #p::UnsubscribeRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::unsubscribe(self, request, context)
            }
        }
    });
    let complete = (has(Kind::Prompt) || has(Kind::Resource)).then(|| {
        quote! {
            fn complete(
                &self,
                request: #p::CompleteRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::CompleteResult, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::complete(self, request, context)
            }
        }
    });
    quote! {
        impl #p::ServerHandler for #self_ty {
            fn get_info(&self) -> #p::ServerConfig {
                #p::server_info::<Self>()
            }

            fn call_tool(
                &self,
                request: #p::CallToolRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::CallToolResponse, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::call_tool(self, request, context)
            }

            fn list_tools(
                &self,
                request: ::core::option::Option<#p::PaginatedRequestParams>,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#p::ListToolsResult, #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::list_tools(self, request, context)
            }

            fn get_tool(&self, name: &str) -> ::core::option::Option<#p::Tool> {
                #p::get_tool::<Self>(name)
            }

            #[allow(deprecated)]
            fn set_level(
                &self,
                request: #p::SetLevelRequestParams,
                context: #p::RequestContext<#p::RoleServer>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), #p::ErrorData>,
            > + ::core::marker::Send + '_ {
                #p::set_level(self, request, context)
            }

            #prompts
            #resources
            #complete
        }
    }
}

pub(crate) fn expand(item_impl: &ItemImpl, model: &ServerModel) -> TokenStream {
    let p = private();
    let self_ty = &model.self_ty;
    let security = &model.security;
    let catalogue = str_slice(&model.catalogue);
    let hierarchy = model.edges.iter().map(|(h, l)| quote!((#h, #l)));
    let of = |kind| model.tools.iter().filter(move |t| t.kind == kind);
    let policies = of(Kind::Tool).map(tool_policy);
    let prompt_policies = of(Kind::Prompt).map(tool_policy);
    let resource_policies = of(Kind::Resource).map(resource_policy);
    let adapters = of(Kind::Tool)
        .map(adapter)
        .chain(of(Kind::Prompt).map(prompt_adapter))
        .chain(of(Kind::Resource).map(resource_adapter));
    let routes = of(Kind::Tool).map(route);
    let prompt_router = (of(Kind::Prompt).count() > 0).then(|| {
        let routes = of(Kind::Prompt).map(prompt_route);
        quote! {
            fn secure_prompt_router() -> ::core::option::Option<&'static #p::PromptRouter<Self>> {
                static ROUTER: #p::OnceLock<#p::PromptRouter<#self_ty>> = #p::OnceLock::new();
                ::core::option::Option::Some(ROUTER.get_or_init(|| {
                    #p::PromptRouter::<Self>::default() #(#routes)*
                }))
            }
        }
    });
    let resource_router = (of(Kind::Resource).count() > 0).then(|| {
        let routes = of(Kind::Resource).map(resource_route);
        quote! {
            fn secure_resource_router() -> ::core::option::Option<&'static #p::ResourceRouter<Self>> {
                static ROUTER: #p::OnceLock<#p::ResourceRouter<#self_ty>> = #p::OnceLock::new();
                ::core::option::Option::Some(ROUTER.get_or_init(|| {
                    #p::ResourceRouter::<Self>::default() #(#routes)*
                }))
            }
        }
    });
    let server_name = match &model.name {
        Some(n) => quote!(#n),
        None => quote!(::core::env!("CARGO_PKG_NAME")),
    };
    let server_version = match &model.version {
        Some(v) => quote!(#v),
        None => quote!(::core::env!("CARGO_PKG_VERSION")),
    };
    let instructions = option(model.instructions.as_ref());
    let extend = model
        .extend
        .as_ref()
        .map(|f| quote_spanned! {f.span()=> .extend(#f()) });
    let handler = model.handler.then(|| server_handler(model));
    // The field access carries the span of `security = field` when given, so a wrong name
    // is reported there. A field known to be missing is already an error.
    let field = match security {
        Some(security) => quote_spanned! {security.span()=> &self.#security },
        None => quote!(::core::unreachable!("the `security` field is missing")),
    };
    quote! {
        #item_impl

        impl #self_ty {
            #(#adapters)*
        }

        impl #p::SecureServer for #self_ty {
            fn security_runtime(&self) -> &#p::Security {
                #field
            }

            fn server_policy() -> &'static #p::ServerPolicy {
                static POLICY: #p::ServerPolicy = #p::ServerPolicy {
                    name: #server_name,
                    version: #server_version,
                    instructions: #instructions,
                    catalogue: #catalogue,
                    hierarchy: &[#(#hierarchy),*],
                    tools: &[#(#policies),*],
                    prompts: &[#(#prompt_policies),*],
                    resources: &[#(#resource_policies),*],
                };
                &POLICY
            }

            fn secure_tool_router() -> ::core::result::Result<
                &'static #p::ToolRouter<Self>,
                #p::RouterError,
            > {
                static ROUTER: #p::OnceRouter<#self_ty> = #p::OnceRouter::new();
                ROUTER.get(|| {
                    #p::ToolRoutes::<Self>::new(<Self as #p::SecureServer>::server_policy())
                        #(#routes)*
                        #extend
                        .build()
                })
            }

            #prompt_router
            #resource_router
        }

        #handler
    }
}
