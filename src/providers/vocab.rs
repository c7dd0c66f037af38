//! The translation vocabulary every adapter shares: JSON ↔ document, media types, usage, stream events.
//!
//! Adapters build Converse output and stream events only through these helpers, so every provider
//! produces the same shapes (event order, usage totals, error wording) for the same situation.

use aws_smithy_types::{Document, Number};
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockDeltaEvent, ContentBlockStart,
    ContentBlockStartEvent, ContentBlockStopEvent, ConversationRole, ConverseMetrics,
    ConverseOutput as Answer, ConverseStreamMetadataEvent, ConverseStreamMetrics,
    ConverseStreamOutput, DocumentFormat, ImageFormat, Message, MessageStartEvent,
    MessageStopEvent, ReasoningContentBlockDelta, StopReason, TokenUsage, ToolUseBlockDelta,
    ToolUseBlockStart,
};
use serde_json::Value;

use super::{ErrorKind, ProviderError};

/// A JSON value as a Smithy document (tool schemas, tool inputs, model-specific fields).
pub fn to_document(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(to_document).collect()),
        Value::Object(m) => {
            Document::Object(m.iter().map(|(k, v)| (k.clone(), to_document(v))).collect())
        }
    }
}

/// A Smithy document as JSON (object keys sorted, so rendered bodies are stable call to call).
pub fn to_value(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Document::Object(m) => {
            let mut pairs: Vec<_> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.clone(), to_value(v)))
                    .collect(),
            )
        }
    }
}

/// `additionalModelRequestFields` as a JSON object to merge into a provider body; anything else
/// (a string, a list) is refused, since there is nothing to merge it into.
pub fn additional_fields(
    request_fields: Option<&Document>,
) -> Result<serde_json::Map<String, Value>, ProviderError> {
    match request_fields.map(to_value) {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(ProviderError::validation(
            "additionalModelRequestFields must be a JSON object",
        )),
    }
}

/// Merges `extra` into a provider body, objects key by key at every depth (so
/// `{"generationConfig": {"topK": 5}}` adds to the generation config the gateway wrote); anything
/// else in `extra` replaces what was there, as Bedrock passes additional fields to the model as given.
pub fn merge_fields(body: &mut Value, extra: serde_json::Map<String, Value>) {
    if let Value::Object(map) = body {
        for (k, v) in extra {
            match (map.get_mut(&k), v) {
                (Some(existing @ Value::Object(_)), Value::Object(inner)) => {
                    merge_fields(existing, inner)
                }
                (_, v) => {
                    map.insert(k, v);
                }
            }
        }
    }
}

/// The refusal for a Converse feature a provider cannot take: a 400 naming it, never a drop.
pub fn unsupported(provider: &str, what: impl std::fmt::Display) -> ProviderError {
    ProviderError::validation(format!("{what} is not supported by provider '{provider}'"))
}

/// The gateway's own failure while building a shape (a builder refusing what it was given).
pub fn internal(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::InternalServer, e.to_string())
}

/// An upstream answer the adapter could not read: the model misbehaved, as Bedrock words it.
pub fn malformed_upstream(provider: &str, why: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(
        ErrorKind::ModelError,
        format!("The response from provider '{provider}' could not be read: {why}"),
    )
}

/// The IANA media type of a Converse image format.
pub fn image_mime(format: &ImageFormat) -> Result<&'static str, ProviderError> {
    Ok(match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Gif => "image/gif",
        ImageFormat::Webp => "image/webp",
        other => {
            return Err(ProviderError::validation(format!(
                "image format {} is not supported",
                other.as_str()
            )));
        }
    })
}

/// The Converse image format of a media type, if it is one of the four Converse knows.
pub fn image_format(mime: &str) -> Option<ImageFormat> {
    match mime
        .split(';')
        .next()
        .map(str::trim)?
        .to_ascii_lowercase()
        .as_str()
    {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::Webp),
        _ => None,
    }
}

/// The IANA media type of a Converse document format.
pub fn document_mime(format: &DocumentFormat) -> Result<&'static str, ProviderError> {
    Ok(match format {
        DocumentFormat::Pdf => "application/pdf",
        DocumentFormat::Csv => "text/csv",
        DocumentFormat::Doc => "application/msword",
        DocumentFormat::Docx => {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        }
        DocumentFormat::Xls => "application/vnd.ms-excel",
        DocumentFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        DocumentFormat::Html => "text/html",
        DocumentFormat::Txt => "text/plain",
        DocumentFormat::Md => "text/markdown",
        other => {
            return Err(ProviderError::validation(format!(
                "document format {} is not supported",
                other.as_str()
            )));
        }
    })
}

/// Token usage; the total is the sum, as Bedrock reports it. Cache counts only when the
/// provider reported them.
pub fn usage(
    input: i32,
    output: i32,
    cache_read: Option<i32>,
    cache_write: Option<i32>,
) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input
            .saturating_add(output)
            .saturating_add(cache_read.unwrap_or(0))
            .saturating_add(cache_write.unwrap_or(0)),
        cache_read_input_tokens: cache_read,
        cache_write_input_tokens: cache_write,
        cache_details: None,
    }
}

/// A whole Converse answer: one assistant message.
pub fn output(
    content: Vec<ContentBlock>,
    stop_reason: StopReason,
    usage: TokenUsage,
    latency_ms: i64,
    additional_model_response_fields: Option<Document>,
) -> ConverseOutput {
    ConverseOutput {
        output: Answer::Message(Message {
            role: ConversationRole::Assistant,
            content,
        }),
        stop_reason,
        usage,
        metrics: ConverseMetrics { latency_ms },
        additional_model_response_fields,
        trace: None,
        performance_config: None,
        service_tier: None,
    }
}

/// Constructors for Converse stream events, so every decoder emits identical shapes.
pub mod events {
    use super::*;

    pub fn message_start() -> ConverseStreamOutput {
        ConverseStreamOutput::MessageStart(MessageStartEvent {
            role: ConversationRole::Assistant,
        })
    }

    /// Opens a tool-use block (text and reasoning blocks open implicitly with their first delta).
    pub fn tool_start(index: i32, tool_use_id: String, name: String) -> ConverseStreamOutput {
        ConverseStreamOutput::ContentBlockStart(ContentBlockStartEvent {
            start: ContentBlockStart::ToolUse(ToolUseBlockStart {
                tool_use_id,
                name,
                r#type: None,
            }),
            content_block_index: index,
        })
    }

    fn delta(index: i32, delta: ContentBlockDelta) -> ConverseStreamOutput {
        ConverseStreamOutput::ContentBlockDelta(ContentBlockDeltaEvent {
            delta,
            content_block_index: index,
        })
    }

    pub fn text(index: i32, text: String) -> ConverseStreamOutput {
        delta(index, ContentBlockDelta::Text(text))
    }

    /// A fragment of a tool call's JSON input (fragments concatenate to the whole input).
    pub fn tool_input(index: i32, input: String) -> ConverseStreamOutput {
        delta(
            index,
            ContentBlockDelta::ToolUse(ToolUseBlockDelta { input }),
        )
    }

    /// A citation for the text block being streamed: what was cited, from where.
    pub fn citation(
        index: i32,
        title: Option<String>,
        source: Option<String>,
        cited_text: Option<String>,
        location: Option<quarry_bedrock_runtime::types::CitationLocation>,
    ) -> ConverseStreamOutput {
        use quarry_bedrock_runtime::types::{CitationSourceContentDelta, CitationsDelta};
        delta(
            index,
            ContentBlockDelta::Citation(CitationsDelta {
                title,
                source,
                source_content: cited_text
                    .map(|t| vec![CitationSourceContentDelta { text: Some(t) }]),
                location,
            }),
        )
    }

    pub fn reasoning_text(index: i32, text: String) -> ConverseStreamOutput {
        delta(
            index,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(text)),
        )
    }

    pub fn reasoning_signature(index: i32, signature: String) -> ConverseStreamOutput {
        delta(
            index,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(signature)),
        )
    }

    pub fn reasoning_redacted(index: i32, data: Vec<u8>) -> ConverseStreamOutput {
        delta(
            index,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(
                aws_smithy_types::Blob::new(data),
            )),
        )
    }

    pub fn block_stop(index: i32) -> ConverseStreamOutput {
        ConverseStreamOutput::ContentBlockStop(ContentBlockStopEvent {
            content_block_index: index,
        })
    }

    pub fn message_stop(
        stop_reason: StopReason,
        additional_model_response_fields: Option<Document>,
    ) -> ConverseStreamOutput {
        ConverseStreamOutput::MessageStop(MessageStopEvent {
            stop_reason,
            additional_model_response_fields,
        })
    }

    pub fn metadata(usage: TokenUsage, latency_ms: i64) -> ConverseStreamOutput {
        ConverseStreamOutput::Metadata(ConverseStreamMetadataEvent {
            usage,
            metrics: ConverseStreamMetrics { latency_ms },
            trace: None,
            performance_config: None,
            service_tier: None,
        })
    }
}

/// Refuses the request-level Converse options no HTTP provider behind the gateway can honour, by
/// name: structured output, response field paths, latency-optimized inference, non-default
/// service tiers. (`requestMetadata` only labels Bedrock's invocation logs, so it is accepted.)
pub fn check_request_options(
    provider: &str,
    request: &quarry_bedrock_runtime::operation::converse::ConverseInput,
) -> Result<(), ProviderError> {
    use quarry_bedrock_runtime::types::{PerformanceConfigLatency, ServiceTierType};
    if request.output_config.is_some() {
        return Err(unsupported(provider, "outputConfig"));
    }
    if request.additional_model_response_field_paths.is_some() {
        return Err(unsupported(provider, "additionalModelResponseFieldPaths"));
    }
    if let Some(latency) = request
        .performance_config
        .as_ref()
        .and_then(|p| p.latency.as_ref())
        && *latency != PerformanceConfigLatency::Standard
    {
        return Err(unsupported(
            provider,
            format!("performanceConfig latency {}", latency.as_str()),
        ));
    }
    if let Some(tier) = request.service_tier.as_ref().map(|t| &t.r#type)
        && *tier != ServiceTierType::Default
    {
        return Err(unsupported(
            provider,
            format!("serviceTier {}", tier.as_str()),
        ));
    }
    Ok(())
}

/// The Converse name of a content block, for refusals.
pub fn block_name(block: &ContentBlock) -> &'static str {
    match block {
        ContentBlock::Text(_) => "text content",
        ContentBlock::Image(_) => "image content",
        ContentBlock::Document(_) => "document content",
        ContentBlock::Video(_) => "video content",
        ContentBlock::Audio(_) => "audio content",
        ContentBlock::ToolUse(_) => "toolUse content",
        ContentBlock::ToolResult(_) => "toolResult content",
        ContentBlock::GuardContent(_) => "guardContent",
        ContentBlock::CachePoint(_) => "cachePoint",
        ContentBlock::ReasoningContent(_) => "reasoningContent",
        ContentBlock::CitationsContent(_) => "citationsContent",
        ContentBlock::SearchResult(_) => "searchResult content",
        ContentBlock::ToolAddition(_) => "toolAddition content",
        ContentBlock::ToolRemoval(_) => "toolRemoval content",
    }
}

/// A Converse float (`f32`) as the JSON number a person wrote: `0.9`, not `0.8999999761581421`.
pub fn float(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}
