//! Converse → a Chat Completions request body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quarry_bedrock_runtime::types::{
    ContentBlock, ConversationRole, DocumentFormat, DocumentSource, ImageSource, Message,
    SystemContentBlock, Tool, ToolChoice, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
    ToolResultStatus,
};
use serde_json::{Map, Value, json};

use super::NAME;
use crate::config::MaxTokensField;
use crate::providers::vocab::{self, unsupported};
use crate::providers::{ConverseCall, ProviderError};

/// The request body for a call, whole or streamed.
pub fn body(
    call: &ConverseCall,
    stream: bool,
    max_tokens_field: MaxTokensField,
) -> Result<Value, ProviderError> {
    let request = &call.request;
    vocab::check_request_options(NAME, request)?;
    let mut messages = Vec::new();
    for block in request.system.iter().flatten() {
        match block {
            SystemContentBlock::Text(text) => {
                messages.push(json!({ "role": "system", "content": text }));
            }
            // OpenAI caches prompt prefixes by itself; a cache point asks for nothing more.
            SystemContentBlock::CachePoint(_) => {}
            SystemContentBlock::GuardContent(_) => {
                return Err(unsupported(NAME, "guardContent in system"));
            }
        }
    }
    for (i, message) in request.messages.iter().flatten().enumerate() {
        match message.role {
            ConversationRole::User => user(message, i, &mut messages)?,
            ConversationRole::Assistant => messages.push(assistant(message, i)?),
            _ => return Err(unsupported(NAME, format!("role {}", message.role.as_str()))),
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(call.model.as_str()));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(config) = &request.inference_config {
        if let Some(max) = config.max_tokens {
            let field = match max_tokens_field {
                MaxTokensField::MaxTokens => "max_tokens",
                MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            };
            body.insert(field.into(), json!(max));
        }
        if let Some(t) = config.temperature {
            body.insert("temperature".into(), vocab::float(t));
        }
        if let Some(p) = config.top_p {
            body.insert("top_p".into(), vocab::float(p));
        }
        if let Some(stop) = config.stop_sequences.as_ref().filter(|s| !s.is_empty()) {
            body.insert("stop".into(), json!(stop));
        }
    }
    if let Some(tools) = &request.tool_config {
        let mut specs = Vec::new();
        for tool in &tools.tools {
            match tool {
                Tool::ToolSpec(spec) => {
                    let ToolInputSchema::Json(schema) = &spec.input_schema;
                    let mut function = Map::new();
                    function.insert("name".into(), json!(spec.name));
                    if let Some(d) = &spec.description {
                        function.insert("description".into(), json!(d));
                    }
                    function.insert("parameters".into(), vocab::to_value(schema));
                    if let Some(strict) = spec.strict {
                        function.insert("strict".into(), json!(strict));
                    }
                    specs.push(json!({ "type": "function", "function": function }));
                }
                Tool::CachePoint(_) => {}
                Tool::SystemTool(t) => {
                    return Err(unsupported(NAME, format!("system tool {}", t.name)));
                }
            }
        }
        if !specs.is_empty() {
            body.insert("tools".into(), Value::Array(specs));
        }
        if let Some(choice) = &tools.tool_choice {
            let choice = match choice {
                ToolChoice::Auto(_) => json!("auto"),
                ToolChoice::Any(_) => json!("required"),
                ToolChoice::Tool(t) => {
                    json!({ "type": "function", "function": { "name": t.name } })
                }
            };
            body.insert("tool_choice".into(), choice);
        }
    }
    if stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    let mut body = Value::Object(body);
    let extra = vocab::additional_fields(request.additional_model_request_fields.as_ref())?;
    vocab::merge_fields(&mut body, extra);
    // Converse answers with one message; a second choice would be lost.
    if body.get("n").is_some_and(|n| n.as_u64() != Some(1)) {
        return Err(unsupported(
            NAME,
            "additionalModelRequestFields n other than 1",
        ));
    }
    Ok(body)
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", BASE64.encode(bytes))
}

/// A user turn: its tool results become `tool` messages (first, as OpenAI requires them right
/// after the assistant's calls), the rest one user message.
fn user(message: &Message, index: usize, out: &mut Vec<Value>) -> Result<(), ProviderError> {
    let mut parts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text(text) => parts.push(json!({ "type": "text", "text": text })),
            ContentBlock::Image(image) => {
                let ImageSource::Bytes(bytes) = &image.source else {
                    return Err(unsupported(NAME, "an image source other than bytes"));
                };
                let url = data_url(vocab::image_mime(&image.format)?, bytes.as_ref());
                parts.push(json!({ "type": "image_url", "image_url": { "url": url } }));
            }
            ContentBlock::Document(doc) => parts.push(document(doc)?),
            ContentBlock::ToolResult(result) => out.push(tool_message(result)?),
            ContentBlock::CachePoint(_) => {}
            ContentBlock::ToolUse(_) => {
                return Err(ProviderError::validation(format!(
                    "messages.{index}: toolUse blocks belong in assistant messages"
                )));
            }
            other => return Err(unsupported(NAME, vocab::block_name(other))),
        }
    }
    if parts.is_empty() {
        return Ok(());
    }
    // A lone text part as a plain string: what every compatible server accepts.
    let content = match parts.as_slice() {
        [only] if only["type"] == "text" => only["text"].clone(),
        _ => Value::Array(parts),
    };
    out.push(json!({ "role": "user", "content": content }));
    Ok(())
}

fn document(doc: &quarry_bedrock_runtime::types::DocumentBlock) -> Result<Value, ProviderError> {
    if doc.context.is_some() {
        return Err(unsupported(NAME, "document context"));
    }
    if doc.citations.as_ref().is_some_and(|c| c.enabled) {
        return Err(unsupported(NAME, "document citations"));
    }
    let text_of = |bytes: &[u8]| {
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| {
            ProviderError::validation(format!("document '{}' is not UTF-8 text", doc.name))
        })
    };
    let wrap = |text: String| json!({ "type": "text", "text": format!("<document name=\"{}\">\n{text}\n</document>", doc.name) });
    match (&doc.source, &doc.format) {
        (DocumentSource::Text(text), _) => Ok(wrap(text.clone())),
        (DocumentSource::Bytes(bytes), Some(DocumentFormat::Pdf)) => Ok(json!({
            "type": "file",
            "file": { "filename": format!("{}.pdf", doc.name), "file_data": data_url("application/pdf", bytes.as_ref()) }
        })),
        (
            DocumentSource::Bytes(bytes),
            Some(
                DocumentFormat::Txt
                | DocumentFormat::Md
                | DocumentFormat::Csv
                | DocumentFormat::Html,
            ),
        ) => Ok(wrap(text_of(bytes.as_ref())?)),
        (DocumentSource::Bytes(_), format) => Err(unsupported(
            NAME,
            format!(
                "document format {}",
                format.as_ref().map_or("(none)", |f| f.as_str())
            ),
        )),
        _ => Err(unsupported(
            NAME,
            "a document source other than bytes or text",
        )),
    }
}

/// A tool result as a `tool` message. Tool messages take text only: JSON is serialized, several
/// items are joined by newlines, and an error result is prefixed with "Error: " so the model
/// learns the call failed.
fn tool_message(result: &ToolResultBlock) -> Result<Value, ProviderError> {
    let mut texts = Vec::new();
    for item in &result.content {
        match item {
            ToolResultContentBlock::Text(t) => texts.push(t.clone()),
            ToolResultContentBlock::Json(j) => texts.push(vocab::to_value(j).to_string()),
            ToolResultContentBlock::Image(_) => {
                return Err(unsupported(NAME, "an image inside a toolResult"));
            }
            ToolResultContentBlock::Document(_) => {
                return Err(unsupported(NAME, "a document inside a toolResult"));
            }
            _ => return Err(unsupported(NAME, "this toolResult content")),
        }
    }
    let mut content = texts.join("\n");
    if result.status == Some(ToolResultStatus::Error) {
        content = format!("Error: {content}");
    }
    Ok(json!({ "role": "tool", "tool_call_id": result.tool_use_id, "content": content }))
}

fn assistant(message: &Message, index: usize) -> Result<Value, ProviderError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text(t) => text.push_str(t),
            ContentBlock::ToolUse(tool) => calls.push(json!({
                "id": tool.tool_use_id,
                "type": "function",
                "function": { "name": tool.name, "arguments": vocab::to_value(&tool.input).to_string() }
            })),
            ContentBlock::CachePoint(_) => {}
            // Reasoning a compatible server returned (it has no signature) is not input to Chat
            // Completions — DeepSeek refuses it back — so it stays out of the next turn. Signed
            // reasoning from another provider is refused below: its signature would be lost.
            ContentBlock::ReasoningContent(
                quarry_bedrock_runtime::types::ReasoningContentBlock::ReasoningText(r),
            ) if r.signature.is_none() => {}
            ContentBlock::ToolResult(_) => {
                return Err(ProviderError::validation(format!(
                    "messages.{index}: toolResult blocks belong in user messages"
                )));
            }
            other => return Err(unsupported(NAME, vocab::block_name(other))),
        }
    }
    let mut out = Map::new();
    out.insert("role".into(), json!("assistant"));
    out.insert(
        "content".into(),
        if text.is_empty() && !calls.is_empty() {
            Value::Null
        } else {
            json!(text)
        },
    );
    if !calls.is_empty() {
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    Ok(Value::Object(out))
}
