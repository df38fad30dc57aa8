impl DataServer {
    /// Read one record.
    async fn read_data(
        &self,
        Parameters(input): Parameters<ReadData>,
    ) -> Result<Json<Record>, ToolError> {
        self.lookup(&input.id).await
    }
    /// Server status; any authenticated caller may ask.
    async fn status(
        &self,
        caller: Principal,
        context: RequestContext<RoleServer>,
    ) -> String {
        caller.subject().to_owned()
    }
}
impl DataServer {
    #[doc(hidden)]
    #[allow(unused_mut, clippy::all, clippy::pedantic)]
    fn __mcp_secure_tool_read_data<'a>(
        &'a self,
        mut __cx: ::mcp_secure::__private_0_1::ToolCallContext<'a, Self>,
    ) -> ::mcp_secure::__private_0_1::BoxFuture<
        'a,
        ::mcp_secure::__private_0_1::Invoked,
    > {
        ::std::boxed::Box::pin(async move {
            let __mcp_secure_arg0 = ::mcp_secure::__private_0_1::parameters::<
                ReadData,
                Self,
            >(&mut __cx)?;
            let mut __ret: Result<Json<Record>, ToolError> = self
                .read_data(__mcp_secure_arg0)
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
    #[doc(hidden)]
    #[allow(unused_mut, clippy::all, clippy::pedantic)]
    fn __mcp_secure_tool_status<'a>(
        &'a self,
        mut __cx: ::mcp_secure::__private_0_1::ToolCallContext<'a, Self>,
    ) -> ::mcp_secure::__private_0_1::BoxFuture<
        'a,
        ::mcp_secure::__private_0_1::Invoked,
    > {
        ::std::boxed::Box::pin(async move {
            ::mcp_secure::__private_0_1::no_parameters(&mut __cx)?;
            let __mcp_secure_arg0 = ::mcp_secure::__private_0_1::extract::<
                Principal,
                Self,
            >(&mut __cx)?;
            let __mcp_secure_arg1 = ::mcp_secure::__private_0_1::extract::<
                RequestContext<RoleServer>,
                Self,
            >(&mut __cx)?;
            let mut __ret: String = self
                .status(__mcp_secure_arg0, __mcp_secure_arg1)
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
impl ::mcp_secure::__private_0_1::SecureServer for DataServer {
    fn security_runtime(&self) -> &::mcp_secure::__private_0_1::Security {
        &self.security
    }
    fn server_policy() -> &'static ::mcp_secure::__private_0_1::ServerPolicy {
        static POLICY: ::mcp_secure::__private_0_1::ServerPolicy = ::mcp_secure::__private_0_1::ServerPolicy {
            name: "data-server",
            version: ::core::env!("CARGO_PKG_VERSION"),
            instructions: ::core::option::Option::Some("A key-value store."),
            catalogue: &["data:read", "data:write", "admin:full"],
            hierarchy: &[("admin:full", "data:write"), ("data:write", "data:read")],
            tools: &[
                ::mcp_secure::__private_0_1::ToolPolicy {
                    name: "read_data",
                    scopes: &["data:read"],
                    satisfiers: &[&["data:read", "admin:full", "data:write"]],
                    any_of: &[],
                    any_satisfiers: &[],
                    public: false,
                    rate: ::core::option::Option::Some(::mcp_secure::__private_0_1::RateSpec {
                        count: 120u32,
                        period_secs: 60u64,
                        burst: 20u32,
                    }),
                    max_input_bytes: ::core::option::Option::None,
                },
                ::mcp_secure::__private_0_1::ToolPolicy {
                    name: "status",
                    scopes: &[],
                    satisfiers: &[],
                    any_of: &[],
                    any_satisfiers: &[],
                    public: true,
                    rate: ::core::option::Option::Some(::mcp_secure::__private_0_1::RateSpec {
                        count: 10u32,
                        period_secs: 1u64,
                        burst: 10u32,
                    }),
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
        static ROUTER: ::mcp_secure::__private_0_1::OnceRouter<DataServer> = ::mcp_secure::__private_0_1::OnceRouter::new();
        ROUTER
            .get(|| {
                ::mcp_secure::__private_0_1::ToolRoutes::<
                    Self,
                >::new(
                        <Self as ::mcp_secure::__private_0_1::SecureServer>::server_policy(),
                    )
                    .tool(
                        "read_data",
                        ::mcp_secure::__private_0_1::Listing {
                            input_schema: ::mcp_secure::__private_0_1::input_schema::<
                                ReadData,
                            >(),
                            description: ::core::option::Option::Some(
                                "Read one record.",
                            ),
                            title: ::core::option::Option::None,
                            annotations: ::core::option::Option::Some(
                                ::mcp_secure::__private_0_1::ToolAnnotations::from_raw(
                                    ::core::option::Option::None,
                                    ::core::option::Option::Some(
                                        ::core::convert::Into::into(true),
                                    ),
                                    ::core::option::Option::None,
                                    ::core::option::Option::None,
                                    ::core::option::Option::None,
                                ),
                            ),
                            output_schema: ::mcp_secure::__private_0_1::output_schema::<
                                Record,
                            >(),
                        },
                        Self::__mcp_secure_tool_read_data,
                    )
                    .tool(
                        "status",
                        ::mcp_secure::__private_0_1::Listing {
                            input_schema: ::core::option::Option::None,
                            description: ::core::option::Option::Some(
                                "Server status; any authenticated caller may ask.",
                            ),
                            title: ::core::option::Option::None,
                            annotations: ::core::option::Option::None,
                            output_schema: ::core::option::Option::None,
                        },
                        Self::__mcp_secure_tool_status,
                    )
                    .build()
            })
    }
}
impl ::mcp_secure::__private_0_1::ServerHandler for DataServer {
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
