//! Converse → a Messages API request body (also the count-tokens body).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quarry_bedrock_runtime::types::{
    CachePointBlock, CachePointType, CacheTtl, Citation, CitationGeneratedContent,
    CitationLocation, CitationSourceContent, CitationsConfig, CitationsContentBlock, ContentBlock,
    ConversationRole, DocumentBlock, DocumentContentBlock, DocumentFormat, DocumentSource,
    ImageBlock, ImageSource, Message, ReasoningContentBlock, SearchResultBlock, SystemContentBlock,
    Tool, ToolChoice, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
    ToolResultStatus,
};
use serde_json::{Map, Value, json};

use super::NAME;
use crate::providers::vocab::{self, unsupported};
use crate::providers::{ConverseCall, ProviderError};

/// Which endpoint the body is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// `/v1/messages`, answered whole or streamed.
    Generate {
        stream: bool,
        default_max_tokens: u32,
    },
    /// `/v1/messages/count_tokens`, which takes no generation parameters.
    Count,
}

/// A request body and the `anthropic-beta` header value it needs, if any.
#[derive(Debug)]
pub struct Built {
    pub body: Value,
    pub beta: Option<String>,
}

/// Fields of `additionalModelRequestFields` that only steer generation: the count-tokens endpoint
/// refuses them, and they cannot change how many input tokens there are, so a count leaves them out.
const GENERATION_ONLY: [&str; 8] = [
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "service_tier",
];

pub fn build(call: &ConverseCall, purpose: Purpose) -> Result<Built, ProviderError> {
    let request = &call.request;
    vocab::check_request_options(NAME, request)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(call.model.as_str()));
    let system = system(request.system.as_deref().unwrap_or_default())?;
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let messages = messages(request.messages.as_deref().unwrap_or_default())?;
    body.insert("messages".into(), Value::Array(messages));
    if let Some(config) = &request.tool_config {
        tools(config, &mut body)?;
    }
    let mut extra = vocab::additional_fields(request.additional_model_request_fields.as_ref())?;
    let beta = take_betas(&mut extra)?;
    match purpose {
        Purpose::Generate {
            stream,
            default_max_tokens,
        } => {
            let config = request.inference_config.as_ref();
            let max_tokens = match config.and_then(|c| c.max_tokens) {
                Some(n) => json!(n),
                None => json!(default_max_tokens_for(default_max_tokens, &extra)),
            };
            body.insert("max_tokens".into(), max_tokens);
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
        Purpose::Count => {
            for key in GENERATION_ONLY {
                extra.remove(key);
            }
        }
    }
    let mut body = Value::Object(body);
    vocab::merge_fields(&mut body, extra);
    Ok(Built { body, beta })
}

/// The default `max_tokens`, raised above an extended-thinking budget that would not fit in it
/// (the Messages API requires `max_tokens > thinking.budget_tokens`): the budget plus the default.
fn default_max_tokens_for(default: u32, extra: &Map<String, Value>) -> u64 {
    let default = u64::from(default);
    match extra
        .get("thinking")
        .and_then(|t| t.get("budget_tokens"))
        .and_then(Value::as_u64)
    {
        Some(budget) if budget >= default => budget.saturating_add(default),
        _ => default,
    }
}

/// Bedrock takes Anthropic betas as `anthropic_beta` in the body; the Messages API takes them as
/// the comma-separated `anthropic-beta` header and refuses the body field.
fn take_betas(extra: &mut Map<String, Value>) -> Result<Option<String>, ProviderError> {
    let Some(value) = extra.remove("anthropic_beta") else {
        return Ok(None);
    };
    let invalid = || {
        ProviderError::validation(
            "additionalModelRequestFields.anthropic_beta must be a list of strings",
        )
    };
    let names: Vec<&str> = match &value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid()),
    };
    Ok((!names.is_empty()).then(|| names.join(",")))
}

fn system(blocks: &[SystemContentBlock]) -> Result<Vec<Value>, ProviderError> {
    let mut out: Vec<Value> = Vec::new();
    for block in blocks {
        match block {
            SystemContentBlock::Text(text) => out.push(json!({ "type": "text", "text": text })),
            SystemContentBlock::CachePoint(point) => mark_cache(out.last_mut(), point, "system")?,
            SystemContentBlock::GuardContent(_) => {
                return Err(unsupported(NAME, "guardContent in system"));
            }
        }
    }
    Ok(out)
}

fn messages(messages: &[Message]) -> Result<Vec<Value>, ProviderError> {
    let mut out: Vec<Value> = Vec::new();
    for message in messages {
        let role = match message.role {
            ConversationRole::User => "user",
            ConversationRole::Assistant => "assistant",
            _ => {
                return Err(unsupported(
                    NAME,
                    format!("role {} in messages", message.role.as_str()),
                ));
            }
        };
        let mut content: Vec<Value> = Vec::new();
        for block in &message.content {
            if let ContentBlock::CachePoint(point) = block {
                // The cached prefix ends with the block before the point, even when that block
                // closes the previous message.
                let target = match content.last_mut() {
                    Some(last) => Some(last),
                    None => out
                        .last_mut()
                        .and_then(|m| m["content"].as_array_mut())
                        .and_then(|c| c.last_mut()),
                };
                mark_cache(target, point, "messages")?;
            } else {
                content.push(content_block(block)?);
            }
        }
        out.push(json!({ "role": role, "content": content }));
    }
    Ok(out)
}

fn tools(config: &ToolConfiguration, body: &mut Map<String, Value>) -> Result<(), ProviderError> {
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
                // Anthropic's strict tool use is the same switch under the same name.
                if let Some(strict) = spec.strict {
                    t.insert("strict".into(), json!(strict));
                }
                tools.push(Value::Object(t));
            }
            Tool::CachePoint(point) => mark_cache(tools.last_mut(), point, "tools")?,
            Tool::SystemTool(t) => {
                return Err(unsupported(NAME, format!("systemTool {}", t.name)));
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
    Ok(())
}

/// A cache point ends a cached prefix; Anthropic marks the block the prefix ends with instead.
fn mark_cache(
    target: Option<&mut Value>,
    point: &CachePointBlock,
    place: &str,
) -> Result<(), ProviderError> {
    if point.r#type != CachePointType::Default {
        return Err(unsupported(
            NAME,
            format!("cachePoint type {}", point.r#type.as_str()),
        ));
    }
    let control = match &point.ttl {
        // Five minutes is Anthropic's default lifetime, so it needs no `ttl`.
        None | Some(CacheTtl::V5m) => json!({ "type": "ephemeral" }),
        Some(CacheTtl::V1h) => json!({ "type": "ephemeral", "ttl": "1h" }),
        Some(other) => {
            return Err(unsupported(
                NAME,
                format!("cachePoint ttl {}", other.as_str()),
            ));
        }
    };
    let Some(Value::Object(block)) = target else {
        return Err(unsupported(
            NAME,
            format!("a cachePoint at the start of {place}"),
        ));
    };
    if matches!(
        block.get("type").and_then(Value::as_str),
        Some("thinking" | "redacted_thinking")
    ) {
        // Anthropic caches thinking only as part of a later marked block.
        return Err(unsupported(
            NAME,
            "a cachePoint right after reasoningContent",
        ));
    }
    block.insert("cache_control".into(), control);
    Ok(())
}

fn content_block(block: &ContentBlock) -> Result<Value, ProviderError> {
    Ok(match block {
        ContentBlock::Text(text) => json!({ "type": "text", "text": text }),
        ContentBlock::Image(i) => image(i)?,
        ContentBlock::Document(d) => document(d)?,
        ContentBlock::ToolUse(t) => {
            if let Some(kind) = &t.r#type {
                return Err(unsupported(
                    NAME,
                    format!("toolUse of type {}", kind.as_str()),
                ));
            }
            json!({
                "type": "tool_use", "id": t.tool_use_id, "name": t.name,
                "input": vocab::to_value(&t.input),
            })
        }
        ContentBlock::ToolResult(r) => tool_result(r)?,
        ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) => {
            // Anthropic checks the signature of every thinking block sent back.
            let Some(signature) = &r.signature else {
                return Err(unsupported(NAME, "reasoningContent without a signature"));
            };
            json!({ "type": "thinking", "thinking": r.text, "signature": signature })
        }
        ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(data)) => {
            // The blob holds the bytes of Anthropic's opaque `data` string, as the answer gave it.
            let data = std::str::from_utf8(data.as_ref()).map_err(|_| {
                ProviderError::validation(
                    "redactedContent is not the redacted thinking data an Anthropic model returned",
                )
            })?;
            json!({ "type": "redacted_thinking", "data": data })
        }
        ContentBlock::CitationsContent(c) => cited_text(c)?,
        ContentBlock::SearchResult(s) => search_result(s),
        other => return Err(unsupported(NAME, vocab::block_name(other))),
    })
}

fn image(image: &ImageBlock) -> Result<Value, ProviderError> {
    let bytes = match &image.source {
        ImageSource::Bytes(bytes) => bytes,
        ImageSource::S3Location(_) => return Err(unsupported(NAME, "image source s3Location")),
    };
    Ok(json!({ "type": "image", "source": {
        "type": "base64",
        "media_type": vocab::image_mime(&image.format)?,
        "data": BASE64.encode(bytes.as_ref()),
    } }))
}

fn document(doc: &DocumentBlock) -> Result<Value, ProviderError> {
    let plain = |text: &str| json!({ "type": "text", "media_type": "text/plain", "data": text });
    let source = match &doc.source {
        DocumentSource::Text(text) => plain(text),
        DocumentSource::Content(blocks) => {
            let content: Vec<Value> = blocks
                .iter()
                .map(|DocumentContentBlock::Text(t)| json!({ "type": "text", "text": t }))
                .collect();
            json!({ "type": "content", "content": content })
        }
        DocumentSource::Bytes(bytes) => match &doc.format {
            Some(DocumentFormat::Pdf) => json!({
                "type": "base64", "media_type": "application/pdf",
                "data": BASE64.encode(bytes.as_ref()),
            }),
            Some(DocumentFormat::Txt | DocumentFormat::Md) => {
                plain(std::str::from_utf8(bytes.as_ref()).map_err(|_| {
                    ProviderError::validation(format!("document '{}' is not UTF-8 text", doc.name))
                })?)
            }
            Some(other) => {
                return Err(unsupported(
                    NAME,
                    format!("document format {}", other.as_str()),
                ));
            }
            None => return Err(unsupported(NAME, "a document of bytes without a format")),
        },
        DocumentSource::S3Location(_) => {
            return Err(unsupported(NAME, "document source s3Location"));
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
        out.insert("citations".into(), citations_config(citations));
    }
    Ok(Value::Object(out))
}

fn citations_config(config: &CitationsConfig) -> Value {
    json!({ "enabled": config.enabled })
}

fn search_result(s: &SearchResultBlock) -> Value {
    let content: Vec<Value> = s
        .content
        .iter()
        .map(|c| json!({ "type": "text", "text": c.text }))
        .collect();
    let mut out = json!({
        "type": "search_result", "source": s.source, "title": s.title, "content": content,
    });
    if let Some(citations) = &s.citations {
        out["citations"] = citations_config(citations);
    }
    out
}

fn tool_result(r: &ToolResultBlock) -> Result<Value, ProviderError> {
    if let Some(kind) = &r.r#type {
        return Err(unsupported(NAME, format!("toolResult of type {kind}")));
    }
    let mut content = Vec::new();
    for item in &r.content {
        content.push(match item {
            ToolResultContentBlock::Text(t) => json!({ "type": "text", "text": t }),
            // Anthropic's results hold no JSON block: the JSON travels as its compact text.
            ToolResultContentBlock::Json(j) => {
                json!({ "type": "text", "text": vocab::to_value(j).to_string() })
            }
            ToolResultContentBlock::Image(i) => image(i)?,
            ToolResultContentBlock::Document(d) => document(d)?,
            ToolResultContentBlock::SearchResult(s) => search_result(s),
            ToolResultContentBlock::Video(_) => {
                return Err(unsupported(NAME, "video content in a toolResult"));
            }
        });
    }
    let mut out =
        json!({ "type": "tool_result", "tool_use_id": r.tool_use_id, "content": content });
    if r.status == Some(ToolResultStatus::Error) {
        out["is_error"] = json!(true);
    }
    Ok(out)
}

/// Cited text from an earlier answer goes back as the text block with citations it came from.
fn cited_text(block: &CitationsContentBlock) -> Result<Value, ProviderError> {
    let text: String = block
        .content
        .iter()
        .flatten()
        .map(|CitationGeneratedContent::Text(t)| t.as_str())
        .collect();
    let citations = block
        .citations
        .iter()
        .flatten()
        .map(citation)
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = json!({ "type": "text", "text": text });
    if !citations.is_empty() {
        out["citations"] = Value::Array(citations);
    }
    Ok(out)
}

fn citation(c: &Citation) -> Result<Value, ProviderError> {
    let cited: String = c
        .source_content
        .iter()
        .flatten()
        .map(|CitationSourceContent::Text(t)| t.as_str())
        .collect();
    Ok(match &c.location {
        Some(CitationLocation::DocumentChar(l)) => json!({
            "type": "char_location", "cited_text": cited, "document_index": l.document_index,
            "document_title": c.title, "start_char_index": l.start, "end_char_index": l.end,
        }),
        Some(CitationLocation::DocumentPage(l)) => json!({
            "type": "page_location", "cited_text": cited, "document_index": l.document_index,
            "document_title": c.title, "start_page_number": l.start, "end_page_number": l.end,
        }),
        Some(CitationLocation::DocumentChunk(l)) => json!({
            "type": "content_block_location", "cited_text": cited,
            "document_index": l.document_index, "document_title": c.title,
            "start_block_index": l.start, "end_block_index": l.end,
        }),
        Some(CitationLocation::SearchResultLocation(l)) => json!({
            "type": "search_result_location", "cited_text": cited,
            "search_result_index": l.search_result_index, "source": c.source, "title": c.title,
            "start_block_index": l.start, "end_block_index": l.end,
        }),
        // Anthropic needs the web search's encrypted index back, which Converse does not keep.
        Some(CitationLocation::Web(_)) => {
            return Err(unsupported(NAME, "citationsContent with a web location"));
        }
        None => return Err(unsupported(NAME, "citationsContent without a location")),
    })
}
