//! # everything: every kind of thing a secured server can serve, each under a policy
//!
//! The reference of what `#[secure_server]` can hold, and the fixture of the official MCP
//! conformance suite (`@modelcontextprotocol/conformance`, server mode; tests/it/conformance.rs
//! runs it in CI): tools with text, image, audio and embedded-resource content, an error
//! result, logging and progress notifications, sampling and elicitation through `ClientPeer`,
//! a hand-written JSON Schema 2020-12 input schema; resources (text, binary, a template);
//! prompts (plain, with arguments, with an embedded resource, with an image). Every one needs
//! the `conformance` scope, so the suite runs with a token holding it.
//!
//! Run it like any server (sampling and elicitation need sessions):
//!
//! ```text
//! MCP_TRANSPORT=http MCP_HTTP_SESSIONS=stateful MCP_DEV_AUTH=true cargo run --example everything
//! ```

#![allow(deprecated)] // sampling and logging: deprecated by SEP-2577, still served

use std::process::ExitCode;

use mcp_secure::{
    SecureConfig,
    prelude::*,
    rmcp::model::{
        AudioContent, ElicitRequestParams, ElicitationAction, ElicitationSchema, GetPromptResult,
        ImageContent, LoggingLevel, LoggingMessageNotificationParam, PromptMessage,
        ResourceContents, Role, SamplingMessage,
    },
};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

/// A 1×1 PNG.
const IMAGE: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// A silent WAV.
const AUDIO: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct Sample {
    /// What to ask the model.
    #[validate(length(max = 4096))]
    prompt: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct Ask {
    /// What to ask the user.
    #[validate(length(max = 4096))]
    message: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct Greeting {
    #[validate(length(max = 256))]
    name: Option<String>,
    address: Option<Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, Validate)]
struct PromptArgs {
    /// First test argument
    #[validate(length(max = 4096))]
    arg1: String,
    /// Second test argument
    #[validate(length(max = 4096))]
    arg2: Option<String>,
}

/// The server.
#[derive(Clone)]
struct Everything {
    security: Security,
}

/// An elicitation form from its JSON Schema.
fn form(message: &str, schema: Value) -> Result<ElicitRequestParams, ToolError> {
    let requested_schema: ElicitationSchema = serde_json::from_value(schema)
        .map_err(|_| ToolError::internal("the elicitation schema does not parse"))?;
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.to_owned(),
        requested_schema,
    })
}

fn action(action: &ElicitationAction) -> &'static str {
    match action {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        _ => "cancel",
    }
}

#[secure_server(scopes = "conformance", name = "mcp-secure-everything")]
impl Everything {
    /// Tests simple text content response
    #[secure_tool(scopes = "conformance")]
    async fn test_simple_text(&self) -> &'static str {
        "This is a simple text response for testing."
    }

    /// Tests image content response
    #[secure_tool(scopes = "conformance")]
    async fn test_image_content(&self) -> ContentBlock {
        ContentBlock::image(IMAGE, "image/png")
    }

    /// Tests audio content response
    #[secure_tool(scopes = "conformance")]
    async fn test_audio_content(&self) -> ContentBlock {
        ContentBlock::Audio(AudioContent::new(AUDIO, "audio/wav"))
    }

    /// Tests embedded resource content response
    #[secure_tool(scopes = "conformance")]
    async fn test_embedded_resource(&self) -> ContentBlock {
        ContentBlock::resource(ResourceContents::TextResourceContents {
            uri: "test://embedded-resource".into(),
            mime_type: Some("text/plain".into()),
            text: "This is an embedded resource content.".into(),
            meta: None,
        })
    }

    /// Tests response with multiple content types (text, image, resource)
    #[secure_tool(scopes = "conformance")]
    async fn test_multiple_content_types(&self) -> Vec<ContentBlock> {
        vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(IMAGE, "image/png"),
            ContentBlock::resource(ResourceContents::TextResourceContents {
                uri: "test://mixed-content-resource".into(),
                mime_type: Some("application/json".into()),
                text: r#"{"test":"data","value":123}"#.into(),
                meta: None,
            }),
        ]
    }

    /// Tests tool that sends log messages during execution
    #[secure_tool(scopes = "conformance")]
    async fn test_tool_with_logging(&self, client: ClientPeer) -> &'static str {
        for message in [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ] {
            let param = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message))
                .with_logger("conformance-server");
            let _ = client.peer().notify_logging_message(param).await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        "Logging test completed"
    }

    /// Tests error response handling
    #[secure_tool(scopes = "conformance")]
    async fn test_error_handling(&self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
    }

    /// Tests tool that reports progress notifications
    #[secure_tool(scopes = "conformance")]
    async fn test_tool_with_progress(&self, client: ClientPeer) -> &'static str {
        for (progress, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")] {
            client.progress(progress, Some(100.0), Some(message)).await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        "Progress test completed"
    }

    /// Tests server-initiated sampling (LLM completion request)
    #[secure_tool(scopes = "conformance")]
    async fn test_sampling(
        &self,
        client: ClientPeer,
        Parameters(input): Parameters<Sample>,
    ) -> Result<String, ToolError> {
        let prompt = input.prompt.unwrap_or_else(|| "Hello".into());
        let params = mcp_secure::rmcp::model::CreateMessageRequestParams::new(
            vec![SamplingMessage::user_text(prompt)],
            100,
        );
        let answer = client.sample(params).await?;
        let text = answer
            .message
            .content
            .first()
            .and_then(|c| c.as_text())
            .map_or_else(|| "No text response".to_owned(), |t| t.text.clone());
        Ok(format!("LLM response: {text}"))
    }

    /// Tests server-initiated elicitation (user input request)
    #[secure_tool(scopes = "conformance")]
    async fn test_elicitation(
        &self,
        client: ClientPeer,
        Parameters(input): Parameters<Ask>,
    ) -> Result<String, ToolError> {
        let message = input
            .message
            .unwrap_or_else(|| "Please provide your information".into());
        let schema = json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}
            },
            "required": ["username", "email"]
        });
        let answer = client.elicit_raw(form(&message, schema)?).await?;
        Ok(format!(
            "User response: action={}, content={:?}",
            action(&answer.action),
            answer.content
        ))
    }

    /// Tests elicitation with default values (SEP-1034)
    #[secure_tool(scopes = "conformance")]
    async fn test_elicitation_sep1034_defaults(
        &self,
        client: ClientPeer,
    ) -> Result<String, ToolError> {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User's name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User's age", "default": 30},
                "score": {"type": "number", "description": "User's score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User's status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active"
                },
                "verified": {"type": "boolean", "description": "Whether user is verified", "default": true}
            }
        });
        let answer = client
            .elicit_raw(form("Please provide values (all have defaults)", schema)?)
            .await?;
        Ok(format!(
            "Elicitation completed: action={}, content={:?}",
            action(&answer.action),
            answer.content
        ))
    }

    /// Tests enum schema improvements (SEP-1330)
    #[secure_tool(scopes = "conformance")]
    async fn test_elicitation_sep1330_enums(
        &self,
        client: ClientPeer,
    ) -> Result<String, ToolError> {
        let schema = json!({
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}
                ]},
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]
                },
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}
                ]}}
            }
        });
        let answer = client
            .elicit_raw(form("Test enum schema improvements", schema)?)
            .await?;
        Ok(format!(
            "Enum elicitation completed: action={}",
            action(&answer.action)
        ))
    }

    /// Tool with JSON Schema 2020-12 features
    #[secure_tool(scopes = "conformance", input_schema = Self::schema_2020_12)]
    async fn json_schema_2020_12_tool(&self, Parameters(input): Parameters<Greeting>) -> String {
        let _ = input.address;
        format!("Hello, {}!", input.name.as_deref().unwrap_or("world"))
    }

    /// Tests SSE reconnection behavior
    #[secure_tool(scopes = "conformance")]
    async fn test_reconnection(&self) -> &'static str {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        "Reconnection test completed"
    }

    /// A static text resource for testing
    #[secure_resource(
        uri = "test://static-text",
        name = "Static Text Resource",
        mime_type = "text/plain",
        scopes = "conformance"
    )]
    async fn static_text(&self) -> &'static str {
        "This is the content of the static text resource."
    }

    /// A static binary/blob resource for testing
    #[secure_resource(
        uri = "test://static-binary",
        name = "Static Binary Resource",
        mime_type = "image/png",
        scopes = "conformance"
    )]
    async fn static_binary(&self, uri: ResourceUri) -> ResourceContents {
        ResourceContents::BlobResourceContents {
            uri: uri.0,
            mime_type: Some("image/png".into()),
            blob: IMAGE.into(),
            meta: None,
        }
    }

    /// A resource clients subscribe to
    #[secure_resource(
        uri = "test://watched-resource",
        name = "Watched Resource",
        mime_type = "text/plain",
        scopes = "conformance"
    )]
    async fn watched(&self) -> &'static str {
        "Watched resource content"
    }

    /// A dynamic resource with parameter substitution
    #[secure_resource(
        uri_template = "test://template/{id}/data",
        name = "Dynamic Resource",
        mime_type = "application/json",
        scopes = "conformance"
    )]
    async fn template(&self, vars: UriVariables) -> String {
        let id = vars.get("id").unwrap_or("unknown");
        json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string()
    }

    /// A simple test prompt with no arguments
    #[secure_prompt(scopes = "conformance")]
    async fn test_simple_prompt(&self) -> GetPromptResult {
        GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            "This is a simple test prompt.",
        )])
        .with_description("A simple test prompt")
    }

    /// A test prompt that accepts arguments
    #[secure_prompt(scopes = "conformance")]
    async fn test_prompt_with_arguments(
        &self,
        Parameters(args): Parameters<PromptArgs>,
    ) -> GetPromptResult {
        GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                args.arg1,
                args.arg2.unwrap_or_default()
            ),
        )])
        .with_description("A prompt with arguments")
    }

    /// A test prompt that includes an embedded resource
    #[secure_prompt(scopes = "conformance")]
    async fn test_prompt_with_embedded_resource(&self) -> GetPromptResult {
        GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, "Here is a resource:"),
            PromptMessage::new_resource(
                Role::User,
                "test://static-text".into(),
                Some("text/plain".into()),
                Some("Resource content for prompt".into()),
                None,
                None,
                None,
            ),
        ])
        .with_description("A prompt with an embedded resource")
    }

    /// A test prompt that includes an image
    #[secure_prompt(scopes = "conformance")]
    async fn test_prompt_with_image(&self) -> GetPromptResult {
        GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, "Here is an image:"),
            PromptMessage::new(
                Role::User,
                ContentBlock::Image(ImageContent::new(IMAGE, "image/png")),
            ),
        ])
        .with_description("A prompt with an image")
    }
}

impl Everything {
    /// The hand-written input schema of `json_schema_2020_12_tool`.
    fn schema_2020_12() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "$anchor": "address",
                    "type": "object",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
                }
            },
            "properties": {
                "name": {"type": "string"},
                "address": {"$ref": "#/$defs/address"}
            },
            "allOf": [{"anyOf": [{"required": ["name"]}, {"required": ["address"]}]}],
            "if": {"required": ["address"]},
            "then": {"properties": {"address": {"required": ["street"]}}},
            "else": {"required": ["name"]},
            "additionalProperties": false
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match SecureConfig::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("everything: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = mcp_secure::logging::init(&config.logging) {
        eprintln!("everything: {e}");
        return ExitCode::FAILURE;
    }
    let server = Everything {
        security: config.security().build(),
    };
    match mcp_secure::serve(server, &config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("everything: {e}");
            ExitCode::FAILURE
        }
    }
}
