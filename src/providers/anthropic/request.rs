//! Converse → a Messages API request body (also the count-tokens body).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quarry_bedrock_runtime::types::{
    CachePointBlock, CacheTtl, ContentBlock, ConversationRole, DocumentBlock, DocumentFormat,
    DocumentSource, ImageBlock, ImageSource, ReasoningContentBlock, SystemContentBlock, Tool,
    ToolChoice, ToolInputSchema, ToolResultContentBlock, ToolResultStatus,
};
use serde_json::{Map, Value, json};

use super::{DEFAULT_MAX_TOKENS, NAME};
use crate::providers::vocab::{self, unsupported};
use crate::providers::{ConverseCall, ProviderError};

/// The body for a call: `Some(stream)` for /v1/messages, `None` for /v1/messages/count_tokens
/// (which takes neither `max_tokens`, `stream` nor sampling parameters).
pub fn body(call: &ConverseCall, stream: Option<bool>) -> Result<Value, ProviderError> {
    let request = &call.request;
    vocab::check_request_options(NAME, request)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(call.model.as_str()));
    let mut system: Vec<Value> = Vec::new();
    for block in request.system.iter().flatten() {
        match block {
            SystemContentBlock::Text(text) => system.push(json!({ "type": "text", "text": text })),
            SystemContentBlock::CachePoint(point) => cache_after(&mut system, point, "system")?,
            SystemContentBlock::GuardContent(_) => {
                return Err(unsupported(NAME, "guardContent in system"));
            }
        }
    }
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let mut messages = Vec::new();
    for message in request.messages.iter().flatten() {
        let role = match message.role {
            ConversationRole::User => "user",
            ConversationRole::Assistant => "assistant",
            _ => return Err(unsupported(NAME, format!("role {}", message.role.as_str()))),
        };
        let mut content: Vec<Value> = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::CachePoint(point) => cache_after(&mut content, point, "messages")?,
                other => content.push(content_block(other)?),
            }
        }
        messages.push(json!({ "role": role, "content": content }));
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(config) = &request.tool_config {
        let mut tools: Vec<Value> = Vec::new();
        for tool in &config.tools {
            match tool {
                Tool::ToolSpec(spec) => {
                    let ToolInputSchema::Json(schema) = &spec.input_schema;
                    let mut t = Map::new();
                    t.insert("name".into(), json!(spec.name));
                    if let Some(d) = &spec.description {
                        t.insert("description".into(), json!(d));
                    }
                    t.insert("input_schema".into(), vocab::to_value(schema));
                    if let Some(strict) = spec.strict {
                        t.insert("strict".into(), json!(strict));
                    }
                    tools.push(Value::Object(t));
                }
                Tool::CachePoint(point) => cache_after(&mut tools, point, "tools")?,
                Tool::SystemTool(t) => {
                    return Err(unsupported(NAME, format!("system tool {}", t.name)));
                }
            }
        }
        if !tools.is_empty() {
            body.insert("tools".into(), Value::Array(tools));
        }
        if let Some(choice) = &config.tool_choice {
            let choice = match choice {
                ToolChoice::Auto(_) => json!({ "type": "auto" }),
                ToolChoice::Any(_) => json!({ "type": "any" }),
                ToolChoice::Tool(t) => json!({ "type": "tool", "name": t.name }),
            };
            body.insert("tool_choice".into(), choice);
        }
    }
    if let Some(stream) = stream {
        let config = request.inference_config.as_ref();
        let max = config
            .and_then(|c| c.max_tokens)
            .unwrap_or(DEFAULT_MAX_TOKENS);
        body.insert("max_tokens".into(), json!(max));
        if let Some(t) = config.and_then(|c| c.temperature) {
            body.insert("temperature".into(), vocab::float(t));
        }
        if let Some(p) = config.and_then(|c| c.top_p) {
            body.insert("top_p".into(), vocab::float(p));
        }
        if let Some(stop) = config
            .and_then(|c| c.stop_sequences.as_ref())
            .filter(|s| !s.is_empty())
        {
            body.insert("stop_sequences".into(), json!(stop));
        }
        if stream {
            body.insert("stream".into(), json!(true));
        }
    }
    let mut body = Value::Object(body);
    let extra = vocab::additional_fields(request.additional_model_request_fields.as_ref())?;
    vocab::merge_fields(&mut body, extra);
    Ok(body)
}

/// A cache point marks the end of a cached prefix: Anthropic puts `cache_control` on the block
/// the prefix ends with.
fn cache_after(
    blocks: &mut [Value],
    point: &CachePointBlock,
    where_: &str,
) -> Result<(), ProviderError> {
    let Some(Value::Object(last)) = blocks.last_mut() else {
        return Err(ProviderError::validation(format!(
            "a cachePoint in {where_} must follow the content it caches"
        )));
    };
    let control = match &point.ttl {
        Some(CacheTtl::V1h) => json!({ "type": "ephemeral", "ttl": "1h" }),
        _ => json!({ "type": "ephemeral" }),
    };
    last.insert("cache_control".into(), control);
    Ok(())
}

fn image(image: &ImageBlock) -> Result<Value, ProviderError> {
    let ImageSource::Bytes(bytes) = &image.source else {
        return Err(unsupported(NAME, "an image source other than bytes"));
    };
    Ok(json!({ "type": "image", "source": {
        "type": "base64",
        "media_type": vocab::image_mime(&image.format)?,
        "data": BASE64.encode(bytes.as_ref()),
    } }))
}

fn document(doc: &DocumentBlock) -> Result<Value, ProviderError> {
    let text = |text: String| json!({ "type": "text", "media_type": "text/plain", "data": text });
    let source = match (&doc.source, &doc.format) {
        (DocumentSource::Text(t), _) => text(t.clone()),
        (DocumentSource::Bytes(b), Some(DocumentFormat::Pdf)) => json!({
            "type": "base64", "media_type": "application/pdf", "data": BASE64.encode(b.as_ref())
        }),
        (DocumentSource::Bytes(b), Some(DocumentFormat::Txt | DocumentFormat::Md)) => {
            text(String::from_utf8(b.as_ref().to_vec()).map_err(|_| {
                ProviderError::validation(format!("document '{}' is not UTF-8 text", doc.name))
            })?)
        }
        (DocumentSource::Bytes(_), format) => {
            return Err(unsupported(
                NAME,
                format!(
                    "document format {}",
                    format.as_ref().map_or("(none)", |f| f.as_str())
                ),
            ));
        }
        _ => {
            return Err(unsupported(
                NAME,
                "a document source other than bytes or text",
            ));
        }
    };
    let mut out = Map::new();
    out.insert("type".into(), json!("document"));
    out.insert("source".into(), source);
    out.insert("title".into(), json!(doc.name));
    if let Some(context) = &doc.context {
        out.insert("context".into(), json!(context));
    }
    if let Some(citations) = &doc.citations {
        out.insert("citations".into(), json!({ "enabled": citations.enabled }));
    }
    Ok(Value::Object(out))
}

fn content_block(block: &ContentBlock) -> Result<Value, ProviderError> {
    Ok(match block {
        ContentBlock::Text(text) => json!({ "type": "text", "text": text }),
        ContentBlock::Image(i) => image(i)?,
        ContentBlock::Document(d) => document(d)?,
        ContentBlock::ToolUse(t) => json!({
            "type": "tool_use", "id": t.tool_use_id, "name": t.name, "input": vocab::to_value(&t.input)
        }),
        ContentBlock::ToolResult(r) => {
            let mut content = Vec::new();
            for item in &r.content {
                content.push(match item {
                    ToolResultContentBlock::Text(t) => json!({ "type": "text", "text": t }),
                    ToolResultContentBlock::Json(j) => {
                        json!({ "type": "text", "text": vocab::to_value(j).to_string() })
                    }
                    ToolResultContentBlock::Image(i) => image(i)?,
                    ToolResultContentBlock::Document(d) => document(d)?,
                    _ => return Err(unsupported(NAME, "this content inside a toolResult")),
                });
            }
            let mut out =
                json!({ "type": "tool_result", "tool_use_id": r.tool_use_id, "content": content });
            if r.status == Some(ToolResultStatus::Error) {
                out["is_error"] = json!(true);
            }
            out
        }
        ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) => {
            // Anthropic verifies the signature of thinking sent back; without one it is refused.
            let Some(signature) = &r.signature else {
                return Err(unsupported(NAME, "reasoningContent without a signature"));
            };
            json!({ "type": "thinking", "thinking": r.text, "signature": signature })
        }
        ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(data)) => {
            // The blob holds Anthropic's opaque `data` string, as it came.
            let data = String::from_utf8(data.as_ref().to_vec()).map_err(|_| {
                ProviderError::validation("redactedContent is not the data Anthropic returned")
            })?;
            json!({ "type": "redacted_thinking", "data": data })
        }
        other => return Err(unsupported(NAME, vocab::block_name(other))),
    })
}
