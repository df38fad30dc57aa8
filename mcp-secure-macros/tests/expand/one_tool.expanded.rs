impl Notes {
    /// Read a note.
    async fn read(
        &self,
        Parameters(input): Parameters<Lookup>,
    ) -> Result<String, ToolError> {
        Ok(input.id)
    }
}
impl Notes {
    #[doc(hidden)]
    #[allow(unused_mut, clippy::all, clippy::pedantic)]
    fn __mcp_secure_tool_read<'a>(
        &'a self,
        mut __cx: ::mcp_secure::__private_0_1::ToolCallContext<'a, Self>,
    ) -> ::mcp_secure::__private_0_1::BoxFuture<
        'a,
        ::mcp_secure::__private_0_1::Invoked,
    > {
        ::std::boxed::Box::pin(async move {
            let __mcp_secure_arg0 = ::mcp_secure::__private_0_1::parameters::<
                Lookup,
                Self,
            >(&mut __cx)?;
            let mut __ret: Result<String, ToolError> = self
                .read(__mcp_secure_arg0)
                .await;
            {
                #[allow(unused_imports)]
                use ::mcp_secure::__private_0_1::{ViaNothing as _, ViaRedact as _};
                (&mut ::mcp_secure::__private_0_1::RedactProbe(&mut __ret))
                    .__mcp_secure_redact();
            }
            ::mcp_secure::__private_0_1::finish(__ret)
        })
    }
}
impl ::mcp_secure::__private_0_1::SecureServer for Notes {
    fn security_runtime(&self) -> &::mcp_secure::__private_0_1::Security {
        &self.security
    }
    fn server_policy() -> &'static ::mcp_secure::__private_0_1::ServerPolicy {
        static POLICY: ::mcp_secure::__private_0_1::ServerPolicy = ::mcp_secure::__private_0_1::ServerPolicy {
            name: ::core::env!("CARGO_PKG_NAME"),
            version: ::core::env!("CARGO_PKG_VERSION"),
            instructions: ::core::option::Option::None,
            catalogue: &[],
            hierarchy: &[],
            tools: &[
                ::mcp_secure::__private_0_1::ToolPolicy {
                    name: "read",
                    scopes: &["notes:read"],
                    satisfiers: &[&["notes:read"]],
                    any_of: &[],
                    any_satisfiers: &[],
                    public: false,
                    rate: ::core::option::Option::None,
                    max_input_bytes: ::core::option::Option::None,
                },
            ],
            prompts: &[],
            resources: &[],
        };
        &POLICY
    }
    fn secure_tool_router() -> ::core::result::Result<
        &'static ::mcp_secure::__private_0_1::ToolRouter<Self>,
        ::mcp_secure::__private_0_1::RouterError,
    > {
        static ROUTER: ::mcp_secure::__private_0_1::OnceRouter<Notes> = ::mcp_secure::__private_0_1::OnceRouter::new();
        ROUTER
            .get(|| {
                ::mcp_secure::__private_0_1::ToolRoutes::<
                    Self,
                >::new(
                        <Self as ::mcp_secure::__private_0_1::SecureServer>::server_policy(),
                    )
                    .tool(
                        "read",
                        ::mcp_secure::__private_0_1::Listing {
                            input_schema: ::mcp_secure::__private_0_1::input_schema::<
                                Lookup,
                            >(),
                            description: ::core::option::Option::Some("Read a note."),
                            title: ::core::option::Option::None,
                            annotations: ::core::option::Option::None,
                            output_schema: ::core::option::Option::None,
                        },
                        Self::__mcp_secure_tool_read,
                    )
                    .build()
            })
    }
}
impl ::mcp_secure::__private_0_1::ServerHandler for Notes {
    fn get_info(&self) -> ::mcp_secure::__private_0_1::ServerConfig {
        ::mcp_secure::__private_0_1::server_info::<Self>()
    }
    fn call_tool(
        &self,
        request: ::mcp_secure::__private_0_1::CallToolRequestParams,
        context: ::mcp_secure::__private_0_1::RequestContext<
            ::mcp_secure::__private_0_1::RoleServer,
        >,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            ::mcp_secure::__private_0_1::CallToolResponse,
            ::mcp_secure::__private_0_1::ErrorData,
        >,
    > + ::core::marker::Send + '_ {
        ::mcp_secure::__private_0_1::call_tool(self, request, context)
    }
    fn list_tools(
        &self,
        request: ::core::option::Option<
            ::mcp_secure::__private_0_1::PaginatedRequestParams,
        >,
        context: ::mcp_secure::__private_0_1::RequestContext<
            ::mcp_secure::__private_0_1::RoleServer,
        >,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            ::mcp_secure::__private_0_1::ListToolsResult,
            ::mcp_secure::__private_0_1::ErrorData,
        >,
    > + ::core::marker::Send + '_ {
        ::mcp_secure::__private_0_1::list_tools(self, request, context)
    }
    fn get_tool(
        &self,
        name: &str,
    ) -> ::core::option::Option<::mcp_secure::__private_0_1::Tool> {
        ::mcp_secure::__private_0_1::get_tool::<Self>(name)
    }
    #[allow(deprecated)]
    fn set_level(
        &self,
        request: ::mcp_secure::__private_0_1::SetLevelRequestParams,
        context: ::mcp_secure::__private_0_1::RequestContext<
            ::mcp_secure::__private_0_1::RoleServer,
        >,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<(), ::mcp_secure::__private_0_1::ErrorData>,
    > + ::core::marker::Send + '_ {
        ::mcp_secure::__private_0_1::set_level(self, request, context)
    }
}
