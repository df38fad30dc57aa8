#[secure_server(
    scopes = "data:read data:write admin:full",
    hierarchy = "admin:full > data:write > data:read",
    name = "data-server",
    instructions = "A key-value store."
)]
impl DataServer {
    /// Read one record.
    #[secure_tool(scopes = "data:read", rate = 120, burst = 20, annotations(read_only_hint = true))]
    async fn read_data(&self, Parameters(input): Parameters<ReadData>) -> Result<Json<Record>, ToolError> {
        self.lookup(&input.id).await
    }

    /// Server status; any authenticated caller may ask.
    #[secure_tool(public, rate = "10/s")]
    async fn status(&self, caller: Principal, context: RequestContext<RoleServer>) -> String {
        caller.subject().to_owned()
    }
}
