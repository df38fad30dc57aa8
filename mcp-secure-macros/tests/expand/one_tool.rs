#[secure_server]
impl Notes {
    /// Read a note.
    #[secure_tool(scopes = "notes:read")]
    async fn read(&self, Parameters(input): Parameters<Lookup>) -> Result<String, ToolError> {
        Ok(input.id)
    }
}
