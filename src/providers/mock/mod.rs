//! The built-in mock provider: deterministic answers, no network.
//!
//! It echoes the last user text (or a configured reply), streams it in small deltas, counts
//! tokens as whitespace-separated words, calls a tool when the prompt names one, and fails on
//! request so every error path can be exercised end to end:
//! - model id `mock.<error>` (e.g. `mock.throttle`) fails before answering;
//! - header `x-mock-error: <ErrorName>` does the same for any model id, and with
//!   `x-mock-error-after: <n>` a stream fails after `n` events instead.

use std::time::Instant;

use aws_smithy_types::Document;
use futures_util::future::BoxFuture;
use quarry_bedrock_runtime::operation::converse::{ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockDeltaEvent, ContentBlockStart,
    ContentBlockStartEvent, ContentBlockStopEvent, ConversationRole, ConverseMetrics,
    ConverseOutput as Answer, ConverseStreamMetadataEvent, ConverseStreamMetrics,
    ConverseStreamOutput, Message, MessageStartEvent, MessageStopEvent, StopReason, TokenUsage,
    ToolResultContentBlock, ToolUseBlock, ToolUseBlockDelta, ToolUseBlockStart,
};

use super::{ConverseCall, ErrorKind, EventStream, Provider, ProviderError, ProviderId};

/// Header that makes the mock fail with the named Bedrock error.
pub const ERROR_HEADER: &str = "x-mock-error";
/// Header that delays a streamed failure until after this many events.
pub const ERROR_AFTER_HEADER: &str = "x-mock-error-after";

/// The mock provider's settings.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// A fixed reply instead of the echo.
    pub reply: Option<String>,
    /// How many characters each streamed text delta carries.
    pub stream_chunk_chars: usize,
    /// How long each whole answer takes (a slow model, for batch and timeout tests).
    pub latency: std::time::Duration,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            reply: None,
            stream_chunk_chars: 8,
            latency: std::time::Duration::ZERO,
        }
    }
}

/// The mock provider.
#[derive(Debug, Clone)]
pub struct Mock {
    id: ProviderId,
    config: MockConfig,
}

impl Mock {
    pub fn new(id: ProviderId, config: MockConfig) -> Self {
        Self {
            id,
            config: MockConfig {
                stream_chunk_chars: config.stream_chunk_chars.max(1),
                ..config
            },
        }
    }
}

/// A failure the call asked for, and after how many stream events it strikes.
struct Failure {
    error: ProviderError,
    after_events: Option<usize>,
}

fn requested_failure(call: &ConverseCall) -> Result<Option<Failure>, ProviderError> {
    if let Some(value) = call.headers.get(ERROR_HEADER) {
        let name = value.to_str().unwrap_or_default();
        let kind = ErrorKind::parse(name).ok_or_else(|| {
            ProviderError::validation(format!("{ERROR_HEADER}: unknown Bedrock error {name:?}"))
        })?;
        let after = match call.headers.get(ERROR_AFTER_HEADER) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| {
                        ProviderError::validation(format!(
                            "{ERROR_AFTER_HEADER} must be a number of events"
                        ))
                    })?,
            ),
        };
        return Ok(Some(Failure {
            error: mock_error(kind),
            after_events: after,
        }));
    }
    // `mock.throttle` fails at once; `mock.stream-throttle` after the first few stream events.
    let model = call.model.as_str();
    let name = model.strip_prefix("mock.").unwrap_or_default();
    let (name, after) = match name.strip_prefix("stream-") {
        Some(rest) => (rest, Some(3)),
        None => (name, None),
    };
    Ok(ErrorKind::parse(name).map(|kind| Failure {
        error: mock_error(kind),
        after_events: after,
    }))
}

fn mock_error(kind: ErrorKind) -> ProviderError {
    ProviderError::new(
        kind,
        format!("The mock provider was asked to fail with {}", kind.code()),
    )
}

fn words(text: &str) -> i32 {
    i32::try_from(text.split_whitespace().count()).unwrap_or(i32::MAX)
}

fn block_text(block: &ContentBlock) -> Option<String> {
    match block {
        ContentBlock::Text(t) => Some(t.clone()),
        ContentBlock::ToolResult(r) => Some(
            r.content
                .iter()
                .map(|c| match c {
                    ToolResultContentBlock::Text(t) => t.clone(),
                    ToolResultContentBlock::Json(d) => document_text(d),
                    _ => String::new(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

fn document_text(d: &Document) -> String {
    match d {
        Document::String(s) => format!("{s:?}"),
        Document::Number(n) => format!("{n:?}"),
        Document::Bool(b) => b.to_string(),
        Document::Null => "null".to_owned(),
        Document::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(document_text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Document::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{k:?}: {}", document_text(&map[*k])))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

fn input_tokens(request: &ConverseInput) -> i32 {
    let mut total = 0;
    for m in request.messages.iter().flatten() {
        for b in &m.content {
            total += block_text(b).map_or(0, |t| words(&t));
        }
    }
    for s in request.system.iter().flatten() {
        if let quarry_bedrock_runtime::types::SystemContentBlock::Text(t) = s {
            total += words(t);
        }
    }
    total.max(1)
}

/// What the mock answers: text, or a tool call when the prompt names a configured tool.
enum Reply {
    Text(String),
    Tool {
        id: String,
        name: String,
        input: Document,
    },
}

fn reply_for(config: &MockConfig, request: &ConverseInput) -> Reply {
    let last_user = request
        .messages
        .iter()
        .flatten()
        .rev()
        .find(|m| m.role == ConversationRole::User);
    let Some(last_user) = last_user else {
        return Reply::Text(config.reply.clone().unwrap_or_default());
    };
    // A tool result answers the tool call: say what came back, as a model would.
    let results: Vec<String> = last_user
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolResult(r) => Some(format!(
                "{} returned {}",
                r.tool_use_id,
                block_text(b).unwrap_or_default()
            )),
            _ => None,
        })
        .collect();
    if !results.is_empty() {
        return Reply::Text(format!("The tool results: {}.", results.join("; ")));
    }
    let text: String = last_user
        .content
        .iter()
        .filter_map(block_text)
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(tools) = request.tool_config.as_ref().map(|c| &c.tools) {
        let lower = text.to_lowercase();
        for tool in tools {
            if let quarry_bedrock_runtime::types::Tool::ToolSpec(spec) = tool
                && lower.contains(&spec.name.to_lowercase())
            {
                let count = request.messages.iter().flatten().count();
                return Reply::Tool {
                    id: format!("tooluse_mock_{count}"),
                    name: spec.name.clone(),
                    input: tool_input(&spec.input_schema),
                };
            }
        }
    }
    Reply::Text(config.reply.clone().unwrap_or(text))
}

/// A deterministic input for a tool: each required string property of its schema set to "mock".
fn tool_input(schema: &quarry_bedrock_runtime::types::ToolInputSchema) -> Document {
    let mut out = std::collections::HashMap::new();
    if let quarry_bedrock_runtime::types::ToolInputSchema::Json(Document::Object(s)) = schema
        && let Some(Document::Array(required)) = s.get("required")
    {
        for name in required {
            if let Document::String(name) = name {
                out.insert(name.clone(), Document::String("mock".to_owned()));
            }
        }
    }
    Document::Object(out)
}

fn usage(input: i32, output: i32) -> Result<TokenUsage, ProviderError> {
    TokenUsage::builder()
        .input_tokens(input)
        .output_tokens(output)
        .total_tokens(input.saturating_add(output))
        .build()
        .map_err(|e| ProviderError::new(ErrorKind::InternalServer, e.to_string()))
}

fn internal(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::InternalServer, e.to_string())
}

fn millis(start: Instant) -> i64 {
    i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
}

impl Mock {
    fn answer(&self, call: &ConverseCall) -> Result<ConverseOutput, ProviderError> {
        let start = Instant::now();
        let (content, stop, output_tokens) = match reply_for(&self.config, &call.request) {
            Reply::Text(text) => {
                let n = words(&text);
                (ContentBlock::Text(text), StopReason::EndTurn, n)
            }
            Reply::Tool { id, name, input } => {
                let block = ToolUseBlock::builder()
                    .tool_use_id(id)
                    .name(name)
                    .input(input)
                    .build()
                    .map_err(internal)?;
                (ContentBlock::ToolUse(block), StopReason::ToolUse, 1)
            }
        };
        let message = Message::builder()
            .role(ConversationRole::Assistant)
            .content(vec![content])
            .build()
            .map_err(internal)?;
        ConverseOutput::builder()
            .output(Answer::Message(message))
            .stop_reason(stop)
            .usage(usage(input_tokens(&call.request), output_tokens)?)
            .metrics(
                ConverseMetrics::builder()
                    .latency_ms(millis(start))
                    .build()
                    .map_err(internal)?,
            )
            .build()
            .map_err(internal)
    }

    fn events(&self, call: &ConverseCall) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        let start = Instant::now();
        let mut events = vec![ConverseStreamOutput::MessageStart(
            MessageStartEvent::builder()
                .role(ConversationRole::Assistant)
                .build()
                .map_err(internal)?,
        )];
        let delta = |d: ContentBlockDelta| -> Result<ConverseStreamOutput, ProviderError> {
            Ok(ConverseStreamOutput::ContentBlockDelta(
                ContentBlockDeltaEvent::builder()
                    .delta(d)
                    .content_block_index(0)
                    .build()
                    .map_err(internal)?,
            ))
        };
        let (stop, output_tokens) = match reply_for(&self.config, &call.request) {
            Reply::Text(text) => {
                let chars: Vec<char> = text.chars().collect();
                for piece in chars.chunks(self.config.stream_chunk_chars) {
                    events.push(delta(ContentBlockDelta::Text(piece.iter().collect()))?);
                }
                (StopReason::EndTurn, words(&text))
            }
            Reply::Tool { id, name, input } => {
                let start_block = ToolUseBlockStart::builder()
                    .tool_use_id(id)
                    .name(name)
                    .build()
                    .map_err(internal)?;
                events.push(ConverseStreamOutput::ContentBlockStart(
                    ContentBlockStartEvent::builder()
                        .start(ContentBlockStart::ToolUse(start_block))
                        .content_block_index(0)
                        .build()
                        .map_err(internal)?,
                ));
                let json = serde_json_text(&input);
                let chars: Vec<char> = json.chars().collect();
                for piece in chars.chunks(self.config.stream_chunk_chars) {
                    let fragment = ToolUseBlockDelta::builder()
                        .input(piece.iter().collect::<String>())
                        .build()
                        .map_err(internal)?;
                    events.push(delta(ContentBlockDelta::ToolUse(fragment))?);
                }
                (StopReason::ToolUse, 1)
            }
        };
        events.push(ConverseStreamOutput::ContentBlockStop(
            ContentBlockStopEvent::builder()
                .content_block_index(0)
                .build()
                .map_err(internal)?,
        ));
        events.push(ConverseStreamOutput::MessageStop(
            MessageStopEvent::builder()
                .stop_reason(stop)
                .build()
                .map_err(internal)?,
        ));
        events.push(ConverseStreamOutput::Metadata(
            ConverseStreamMetadataEvent::builder()
                .usage(usage(input_tokens(&call.request), output_tokens)?)
                .metrics(
                    ConverseStreamMetrics::builder()
                        .latency_ms(millis(start))
                        .build()
                        .map_err(internal)?,
                )
                .build()
                .map_err(internal)?,
        ));
        Ok(events)
    }
}

/// JSON text of a document, for tool-input deltas (which carry JSON fragments as strings).
fn serde_json_text(d: &Document) -> String {
    fn to_value(d: &Document) -> serde_json::Value {
        match d {
            Document::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
            }
            Document::Array(a) => serde_json::Value::Array(a.iter().map(to_value).collect()),
            Document::Number(n) => serde_json::Value::from(n.to_f64_lossy()),
            Document::String(s) => serde_json::Value::String(s.clone()),
            Document::Bool(b) => serde_json::Value::Bool(*b),
            Document::Null => serde_json::Value::Null,
        }
    }
    to_value(d).to_string()
}

impl Provider for Mock {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn converse(&self, call: ConverseCall) -> BoxFuture<'_, Result<ConverseOutput, ProviderError>> {
        Box::pin(async move {
            if let Some(f) = requested_failure(&call)? {
                return Err(f.error);
            }
            if !self.config.latency.is_zero() {
                tokio::time::sleep(self.config.latency).await;
            }
            self.answer(&call)
        })
    }

    fn converse_stream(
        &self,
        call: ConverseCall,
    ) -> BoxFuture<'_, Result<EventStream, ProviderError>> {
        Box::pin(async move {
            let failure = requested_failure(&call)?;
            let mut items: Vec<Result<ConverseStreamOutput, ProviderError>> = Vec::new();
            match failure {
                Some(Failure {
                    error,
                    after_events: None,
                }) => return Err(error),
                Some(Failure {
                    error,
                    after_events: Some(n),
                }) => {
                    items.extend(self.events(&call)?.into_iter().take(n).map(Ok));
                    items.push(Err(error));
                }
                None => items.extend(self.events(&call)?.into_iter().map(Ok)),
            }
            let stream: EventStream = Box::pin(futures_util::stream::iter(items));
            Ok(stream)
        })
    }

    fn count_tokens(&self, call: ConverseCall) -> BoxFuture<'_, Result<i32, ProviderError>> {
        Box::pin(async move {
            if let Some(f) = requested_failure(&call)? {
                return Err(f.error);
            }
            Ok(input_tokens(&call.request))
        })
    }
}

#[cfg(test)]
mod tests;
