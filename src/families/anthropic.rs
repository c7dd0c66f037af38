//! Anthropic on Bedrock: the Messages body (`anthropic_version: bedrock-2023-05-31`) and the legacy
//! Text Completions body (`prompt`, `max_tokens_to_sample`), to and from Converse.
//!
//! Extra keys: refused by name, as Bedrock's schema for Claude refuses them. `top_k`, `thinking`
//! and `anthropic_beta` travel in `additional_model_request_fields`, where Converse callers put
//! them for Claude.

use std::collections::BTreeMap;

use aws_smithy_types::Blob;
use base64::Engine as _;
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    AnyToolChoice, AutoToolChoice, CachePointBlock, CachePointType, CacheTtl, CitationsConfig,
    ContentBlock, ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseStreamOutput,
    DocumentBlock, DocumentFormat, DocumentSource, ImageBlock, ImageSource, Message,
    ReasoningContentBlock, ReasoningContentBlockDelta, ReasoningTextBlock, SpecificToolChoice,
    StopReason, SystemContentBlock, TokenUsage, Tool, ToolChoice, ToolConfiguration,
    ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus, ToolSpecification,
    ToolUseBlock,
};
use serde_json::{Map, Value, json};

use super::body::{
    Fields, additional, expected, items, malformed, to_document, to_value, unsupported,
};
use super::stream::{NativeEncoder, Totals};
use super::{ConverseParts, Dialect, Invocation, ResponseContext, inference, merge_adjacent};
use crate::providers::ProviderError;

const VERSION: &str = "bedrock-2023-05-31";

pub(super) fn parse(root: &Value) -> Result<Invocation, ProviderError> {
    let f = Fields::of(root, "#")?;
    // A `prompt` without `messages` is the legacy completion body; anything else is read as
    // Messages, so a body with neither is told `messages` is missing.
    if f.has("prompt") && !f.has("messages") {
        parse_completion(f)
    } else {
        parse_messages(f)
    }
}

fn check_version(f: &Fields<'_>, version: &str) -> Result<(), ProviderError> {
    if version == VERSION {
        Ok(())
    } else {
        Err(malformed(
            &f.path_of("anthropic_version"),
            format!("{version} is not a valid enum value (Bedrock accepts {VERSION})"),
        ))
    }
}

fn parse_messages(mut f: Fields<'_>) -> Result<Invocation, ProviderError> {
    let version = f.req_str("anthropic_version")?;
    check_version(&f, version)?;
    let mut extra = Map::new();
    if let Some(beta) = f.strings("anthropic_beta")? {
        extra.insert("anthropic_beta".into(), json!(beta));
    }
    let max_tokens = f.i32("max_tokens")?;
    let max_tokens = f.require("max_tokens", max_tokens)?;
    let path = f.path_of("messages");
    let list = f.array("messages")?;
    let list = f.require("messages", list)?;
    let messages = items(&path, list)
        .map(|(p, v)| message(v, p))
        .collect::<Result<Vec<_>, _>>()?;
    let system = match f.value("system") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![SystemContentBlock::Text(s.clone())],
        Some(Value::Array(blocks)) => {
            let path = f.path_of("system");
            let mut system = Vec::new();
            for (p, v) in items(&path, blocks) {
                system.extend(system_block(v, p)?);
            }
            system
        }
        Some(other) => return Err(expected(&f.path_of("system"), "String or JSONArray", other)),
    };
    let temperature = f.f32("temperature")?;
    let top_p = f.f32("top_p")?;
    if let Some(top_k) = f.i32("top_k")? {
        extra.insert("top_k".into(), json!(top_k));
    }
    let stop_sequences = f.strings("stop_sequences")?;
    let tool_config = tools(&mut f)?;
    if let Some(thinking) = f.value("thinking") {
        if !thinking.is_object() {
            return Err(expected(&f.path_of("thinking"), "JSONObject", thinking));
        }
        extra.insert("thinking".into(), thinking.clone());
    }
    f.finish()?;
    Ok(Invocation {
        dialect: Dialect::AnthropicMessages,
        parts: ConverseParts {
            messages,
            system,
            inference_config: inference(Some(max_tokens), temperature, top_p, stop_sequences),
            tool_config,
            additional_model_request_fields: additional(extra),
        },
    })
}

fn message(v: &Value, path: String) -> Result<Message, ProviderError> {
    let mut m = Fields::of(v, path)?;
    let role = match m.req_str("role")? {
        "user" => ConversationRole::User,
        "assistant" => ConversationRole::Assistant,
        other => {
            return Err(malformed(
                &m.path_of("role"),
                format!("{other} is not a valid enum value"),
            ));
        }
    };
    let content = match m.value("content") {
        None => return Err(malformed(m.path(), "required key [content] not found")),
        Some(Value::String(s)) => vec![ContentBlock::Text(s.clone())],
        Some(Value::Array(blocks)) => {
            let path = m.path_of("content");
            let mut content = Vec::new();
            for (p, v) in items(&path, blocks) {
                content.extend(block(v, p)?);
            }
            content
        }
        Some(other) => {
            return Err(expected(
                &m.path_of("content"),
                "String or JSONArray",
                other,
            ));
        }
    };
    m.finish()?;
    Ok(Message { role, content })
}

/// A `cache_control` marker: Converse marks the same spot with a cache point after the block.
fn cache_point(f: &mut Fields<'_>) -> Result<Option<CachePointBlock>, ProviderError> {
    let Some(mut c) = f.object("cache_control")? else {
        return Ok(None);
    };
    let kind = c.req_str("type")?;
    if kind != "ephemeral" {
        return Err(malformed(
            &c.path_of("type"),
            format!("{kind} is not a valid enum value"),
        ));
    }
    let ttl = c.str("ttl")?.map(CacheTtl::from);
    c.finish()?;
    Ok(Some(CachePointBlock {
        r#type: CachePointType::Default,
        ttl,
    }))
}

fn system_block(v: &Value, path: String) -> Result<Vec<SystemContentBlock>, ProviderError> {
    let mut b = Fields::of(v, path)?;
    let kind = b.req_str("type")?;
    if kind != "text" {
        return Err(unsupported(
            &b.path_of("type"),
            format!("system block type `{kind}` has no Converse equivalent"),
        ));
    }
    let text = b.req_str("text")?;
    let cache = cache_point(&mut b)?;
    b.finish()?;
    Ok(std::iter::once(SystemContentBlock::Text(text.to_owned()))
        .chain(cache.map(SystemContentBlock::CachePoint))
        .collect())
}

fn block(v: &Value, path: String) -> Result<Vec<ContentBlock>, ProviderError> {
    let mut b = Fields::of(v, path)?;
    let kind = b.req_str("type")?;
    let block = match kind {
        "text" => {
            let text = b.req_str("text")?;
            b.refuse(
                &["citations"],
                "citations of earlier answers have no Converse member",
            )?;
            ContentBlock::Text(text.to_owned())
        }
        "image" => ContentBlock::Image(image(&mut b)?),
        "document" => ContentBlock::Document(document(&mut b)?),
        "tool_use" => {
            let id = b.req_str("id")?;
            let name = b.req_str("name")?;
            let input = b.value("input");
            let input = b.require("input", input)?;
            if !input.is_object() {
                return Err(expected(&b.path_of("input"), "JSONObject", input));
            }
            ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: id.to_owned(),
                name: name.to_owned(),
                input: to_document(input),
                r#type: None,
            })
        }
        "tool_result" => ContentBlock::ToolResult(tool_result(&mut b)?),
        "thinking" => ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock {
                text: b.req_str("thinking")?.to_owned(),
                signature: b.str("signature")?.map(str::to_owned),
            },
        )),
        // The opaque `data` travels as its own bytes, so it comes back unchanged.
        "redacted_thinking" => ContentBlock::ReasoningContent(
            ReasoningContentBlock::RedactedContent(Blob::new(b.req_str("data")?.as_bytes())),
        ),
        other => {
            return Err(unsupported(
                &b.path_of("type"),
                format!("content block type `{other}` has no Converse equivalent"),
            ));
        }
    };
    let cache = cache_point(&mut b)?;
    b.finish()?;
    Ok(std::iter::once(block)
        .chain(cache.map(ContentBlock::CachePoint))
        .collect())
}

fn decode_base64(f: &Fields<'_>, key: &str, data: &str) -> Result<Vec<u8>, ProviderError> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| malformed(&f.path_of(key), format!("not valid base64 ({e})")))
}

/// `{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": …}}`
fn image(b: &mut Fields<'_>) -> Result<ImageBlock, ProviderError> {
    let source = b.object("source")?;
    let mut s = b.require("source", source)?;
    let kind = s.req_str("type")?;
    if kind != "base64" {
        return Err(unsupported(
            &s.path_of("type"),
            format!("image source `{kind}` (only base64 images can be carried)"),
        ));
    }
    let media_type = s.req_str("media_type")?;
    let format = super::image_format(media_type).ok_or_else(|| {
        malformed(
            &s.path_of("media_type"),
            format!("{media_type} is not a valid enum value"),
        )
    })?;
    let data = s.req_str("data")?;
    let bytes = decode_base64(&s, "data", data)?;
    s.finish()?;
    Ok(ImageBlock {
        format,
        source: ImageSource::Bytes(Blob::new(bytes)),
        error: None,
    })
}

/// A base64 PDF or a plain-text document; `title` becomes the Converse document's name.
fn document(b: &mut Fields<'_>) -> Result<DocumentBlock, ProviderError> {
    let source = b.object("source")?;
    let mut s = b.require("source", source)?;
    let kind = s.req_str("type")?;
    let media_type = s.req_str("media_type")?;
    let data = s.req_str("data")?;
    let (format, source) = match (kind, media_type) {
        ("base64", "application/pdf") => (
            DocumentFormat::Pdf,
            DocumentSource::Bytes(Blob::new(decode_base64(&s, "data", data)?)),
        ),
        ("text", "text/plain") => (DocumentFormat::Txt, DocumentSource::Text(data.to_owned())),
        _ => {
            return Err(unsupported(
                &s.path_of("type"),
                format!(
                    "document source `{kind}` of `{media_type}` (base64 PDFs and plain text can be carried)"
                ),
            ));
        }
    };
    s.finish()?;
    let citations = match b.object("citations")? {
        Some(mut c) => {
            let enabled = c.bool("enabled")?;
            c.finish()?;
            Some(CitationsConfig {
                enabled: enabled.unwrap_or(false),
            })
        }
        None => None,
    };
    Ok(DocumentBlock {
        format: Some(format),
        name: b.str("title")?.unwrap_or("document").to_owned(),
        source,
        context: b.str("context")?.map(str::to_owned),
        citations,
    })
}

fn tool_result(b: &mut Fields<'_>) -> Result<ToolResultBlock, ProviderError> {
    let tool_use_id = b.req_str("tool_use_id")?.to_owned();
    let content = match b.value("content") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![ToolResultContentBlock::Text(s.clone())],
        Some(Value::Array(blocks)) => {
            let path = b.path_of("content");
            items(&path, blocks)
                .map(|(p, v)| {
                    let mut c = Fields::of(v, p)?;
                    let block = match c.req_str("type")? {
                        "text" => ToolResultContentBlock::Text(c.req_str("text")?.to_owned()),
                        "image" => ToolResultContentBlock::Image(image(&mut c)?),
                        "document" => ToolResultContentBlock::Document(document(&mut c)?),
                        other => {
                            return Err(unsupported(
                                &c.path_of("type"),
                                format!(
                                    "tool result block type `{other}` has no Converse equivalent"
                                ),
                            ));
                        }
                    };
                    c.finish()?;
                    Ok(block)
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(other) => {
            return Err(expected(
                &b.path_of("content"),
                "String or JSONArray",
                other,
            ));
        }
    };
    let status = b.bool("is_error")?.map(|error| {
        if error {
            ToolResultStatus::Error
        } else {
            ToolResultStatus::Success
        }
    });
    Ok(ToolResultBlock {
        tool_use_id,
        content,
        status,
        r#type: None,
    })
}

fn tools(f: &mut Fields<'_>) -> Result<Option<ToolConfiguration>, ProviderError> {
    let path = f.path_of("tools");
    let list = f.array("tools")?;
    let choice = match f.object("tool_choice")? {
        None => None,
        Some(mut c) => {
            let choice = match c.req_str("type")? {
                "auto" => Some(ToolChoice::Auto(AutoToolChoice {})),
                "any" => Some(ToolChoice::Any(AnyToolChoice {})),
                "tool" => Some(ToolChoice::Tool(SpecificToolChoice {
                    name: c.req_str("name")?.to_owned(),
                })),
                "none" => {
                    return Err(unsupported(
                        &c.path_of("type"),
                        "tool_choice `none` has no Converse equivalent",
                    ));
                }
                other => {
                    return Err(malformed(
                        &c.path_of("type"),
                        format!("{other} is not a valid enum value"),
                    ));
                }
            };
            if c.bool("disable_parallel_tool_use")? == Some(true) {
                return Err(unsupported(
                    &c.path_of("disable_parallel_tool_use"),
                    "Converse cannot forbid parallel tool calls",
                ));
            }
            c.finish()?;
            choice
        }
    };
    let Some(list) = list else {
        if choice.is_some() {
            return Err(ProviderError::validation(
                "#/tool_choice: tool_choice may only be specified while providing tools",
            ));
        }
        return Ok(None);
    };
    let mut tools = Vec::new();
    for (p, v) in items(&path, list) {
        let mut t = Fields::of(v, p)?;
        if let Some(kind) = t.str("type")?
            && kind != "custom"
        {
            return Err(unsupported(
                &t.path_of("type"),
                format!("the Anthropic-defined tool `{kind}` has no Converse equivalent"),
            ));
        }
        let name = t.req_str("name")?.to_owned();
        let description = t.str("description")?.map(str::to_owned);
        let schema = t.value("input_schema");
        let schema = t.require("input_schema", schema)?;
        if !schema.is_object() {
            return Err(expected(&t.path_of("input_schema"), "JSONObject", schema));
        }
        let cache = cache_point(&mut t)?;
        t.finish()?;
        tools.push(Tool::ToolSpec(ToolSpecification {
            name,
            description,
            input_schema: ToolInputSchema::Json(to_document(schema)),
            strict: None,
        }));
        tools.extend(cache.map(Tool::CachePoint));
    }
    Ok(Some(ToolConfiguration {
        tools,
        tool_choice: choice,
    }))
}

fn parse_completion(mut f: Fields<'_>) -> Result<Invocation, ProviderError> {
    // Optional here: Claude 2 examples send none.
    if let Some(version) = f.str("anthropic_version")? {
        check_version(&f, version)?;
    }
    let path = f.path_of("prompt");
    let prompt = f.req_str("prompt")?;
    let max_tokens = f.i32("max_tokens_to_sample")?;
    let max_tokens = f.require("max_tokens_to_sample", max_tokens)?;
    let temperature = f.f32("temperature")?;
    let top_p = f.f32("top_p")?;
    let mut extra = Map::new();
    if let Some(top_k) = f.i32("top_k")? {
        extra.insert("top_k".into(), json!(top_k));
    }
    let stop_sequences = f.strings("stop_sequences")?;
    f.finish()?;
    let (system, messages) = completion_turns(prompt, &path)?;
    Ok(Invocation {
        dialect: Dialect::AnthropicCompletion,
        parts: ConverseParts {
            messages,
            system: system.into_iter().map(SystemContentBlock::Text).collect(),
            inference_config: inference(Some(max_tokens), temperature, top_p, stop_sequences),
            tool_config: None,
            additional_model_request_fields: additional(extra),
        },
    })
}

const HUMAN: &str = "\n\nHuman:";
const ASSISTANT: &str = "\n\nAssistant:";

/// `[system]\n\nHuman: …\n\nAssistant: …\n\nHuman: …\n\nAssistant:` as turns; Bedrock refuses
/// prompts that do not open with a Human turn or close with an Assistant one, and so do we.
fn completion_turns(
    prompt: &str,
    path: &str,
) -> Result<(Option<String>, Vec<Message>), ProviderError> {
    let mut turns: Vec<(ConversationRole, &str)> = Vec::new();
    let mut system = None;
    let mut rest = prompt;
    let mut role = None;
    loop {
        let next = [
            (rest.find(HUMAN), ConversationRole::User, HUMAN.len()),
            (
                rest.find(ASSISTANT),
                ConversationRole::Assistant,
                ASSISTANT.len(),
            ),
        ]
        .into_iter()
        .filter_map(|(pos, role, len)| pos.map(|pos| (pos, role, len)))
        .min_by_key(|(pos, _, _)| *pos);
        let text = next.as_ref().map_or(rest, |(pos, _, _)| &rest[..*pos]);
        match role.take() {
            None if !text.trim().is_empty() => system = Some(text.trim().to_owned()),
            None => {}
            Some(r) => turns.push((r, text)),
        }
        let Some((pos, next_role, len)) = next else {
            break;
        };
        role = Some(next_role);
        rest = &rest[pos + len..];
    }
    if turns.first().map(|(r, _)| r) != Some(&ConversationRole::User) {
        return Err(malformed(
            path,
            "prompt must start with \"\\n\\nHuman:\" turn after an optional system prompt",
        ));
    }
    if turns.last().map(|(r, _)| r) != Some(&ConversationRole::Assistant) {
        return Err(malformed(
            path,
            "prompt must end with \"\\n\\nAssistant:\" turn",
        ));
    }
    let messages = turns
        .into_iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(role, text)| super::text_message(role, text.trim()))
        .collect();
    Ok((system, merge_adjacent(messages)))
}

/// Anthropic's name for a Converse stop reason (the two vocabularies mostly agree).
fn stop_reason(reason: &StopReason) -> &str {
    match reason {
        StopReason::ContentFiltered => "refusal",
        other => other.as_str(),
    }
}

/// The matched stop sequence, which Converse reports for Claude in its additional fields.
fn stop_sequence(fields: Option<&aws_smithy_types::Document>) -> Value {
    fields
        .and_then(|d| d.as_object())
        .and_then(|m| m.get("stop_sequence"))
        .and_then(|s| s.as_string())
        .map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn usage(u: &TokenUsage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_write_input_tokens.unwrap_or(0),
        "cache_read_input_tokens": u.cache_read_input_tokens.unwrap_or(0),
    })
}

fn message_id(ctx: &ResponseContext) -> String {
    format!("msg_bdrk_{}", ctx.response_id)
}

pub(super) fn render(out: &ConverseOutput, ctx: &ResponseContext) -> Value {
    let content: Vec<Value> = super::output_blocks(out)
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(json!({"type": "text", "text": text})),
            ContentBlock::ToolUse(t) => Some(json!({
                "type": "tool_use",
                "id": t.tool_use_id,
                "name": t.name,
                "input": to_value(&t.input),
            })),
            ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) => {
                let mut v = json!({"type": "thinking", "thinking": r.text});
                if let (Some(sig), Value::Object(m)) = (&r.signature, &mut v) {
                    m.insert("signature".into(), json!(sig));
                }
                Some(v)
            }
            ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(data)) => {
                Some(json!({
                    "type": "redacted_thinking",
                    "data": String::from_utf8_lossy(data.as_ref()),
                }))
            }
            _ => None,
        })
        .collect();
    json!({
        "id": message_id(ctx),
        "type": "message",
        "role": "assistant",
        "model": ctx.bare_model_name(),
        "content": content,
        "stop_reason": stop_reason(&out.stop_reason),
        "stop_sequence": stop_sequence(out.additional_model_response_fields.as_ref()),
        "usage": usage(&out.usage),
    })
}

/// The legacy completion's stop: end of turn is reported as the `Human:` stop sequence.
fn completion_stop(reason: &StopReason, fields: Option<&aws_smithy_types::Document>) -> Value {
    match reason {
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => {
            json!({"stop_reason": "max_tokens", "stop": null})
        }
        StopReason::StopSequence => {
            json!({"stop_reason": "stop_sequence", "stop": stop_sequence(fields)})
        }
        _ => json!({"stop_reason": "stop_sequence", "stop": HUMAN}),
    }
}

fn with_completion(completion: String, stop: Value) -> Value {
    let mut v = json!({"completion": completion});
    if let (Value::Object(m), Value::Object(stop)) = (&mut v, stop) {
        m.extend(stop);
    }
    v
}

pub(super) fn render_completion(out: &ConverseOutput) -> Value {
    with_completion(
        super::output_text(out),
        completion_stop(
            &out.stop_reason,
            out.additional_model_response_fields.as_ref(),
        ),
    )
}

/// The Messages stream: `message_start`, per-block start/delta/stop, then `message_delta` and
/// `message_stop` once Converse has reported the stop reason and usage.
pub(super) struct Encoder {
    ctx: ResponseContext,
    started: bool,
    /// Blocks whose `content_block_start` went out, and whether they have been stopped.
    blocks: BTreeMap<i32, bool>,
}

impl Encoder {
    pub(super) fn new(ctx: ResponseContext) -> Self {
        Self {
            ctx,
            started: false,
            blocks: BTreeMap::new(),
        }
    }

    /// `message_start`, once. Converse reports usage only at the end, so it carries zero
    /// counts here; `message_delta` and the invocation metrics carry the real ones.
    fn start(&mut self, out: &mut Vec<Value>) {
        if !self.started {
            self.started = true;
            out.push(json!({
                "type": "message_start",
                "message": {
                    "id": message_id(&self.ctx),
                    "type": "message",
                    "role": "assistant",
                    "model": self.ctx.bare_model_name(),
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                },
            }));
        }
    }

    /// `content_block_start` for `index` unless it went out already (Converse starts only
    /// tool-use blocks explicitly; text and reasoning blocks start with their first delta).
    fn open(&mut self, index: i32, block: Value, out: &mut Vec<Value>) {
        self.start(out);
        if let std::collections::btree_map::Entry::Vacant(slot) = self.blocks.entry(index) {
            slot.insert(false);
            out.push(
                json!({"type": "content_block_start", "index": index, "content_block": block}),
            );
        }
    }

    fn delta(index: i32, delta: Value) -> Value {
        json!({"type": "content_block_delta", "index": index, "delta": delta})
    }

    fn stop(&mut self, index: i32, out: &mut Vec<Value>) {
        if self.blocks.get(&index) == Some(&false) {
            self.blocks.insert(index, true);
            out.push(json!({"type": "content_block_stop", "index": index}));
        }
    }
}

impl NativeEncoder for Encoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        let mut out = Vec::new();
        match event {
            ConverseStreamOutput::MessageStart(_) => self.start(&mut out),
            ConverseStreamOutput::ContentBlockStart(e) => {
                if let ContentBlockStart::ToolUse(t) = &e.start {
                    let block = json!({"type": "tool_use", "id": t.tool_use_id, "name": t.name, "input": {}});
                    self.open(e.content_block_index, block, &mut out);
                }
            }
            ConverseStreamOutput::ContentBlockDelta(e) => {
                let index = e.content_block_index;
                let thinking = || json!({"type": "thinking", "thinking": ""});
                match &e.delta {
                    ContentBlockDelta::Text(text) => {
                        self.open(index, json!({"type": "text", "text": ""}), &mut out);
                        out.push(Self::delta(
                            index,
                            json!({"type": "text_delta", "text": text}),
                        ));
                    }
                    ContentBlockDelta::ToolUse(t) => {
                        let block = json!({"type": "tool_use", "id": "", "name": "", "input": {}});
                        self.open(index, block, &mut out);
                        out.push(Self::delta(
                            index,
                            json!({"type": "input_json_delta", "partial_json": t.input}),
                        ));
                    }
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
                        self.open(index, thinking(), &mut out);
                        out.push(Self::delta(
                            index,
                            json!({"type": "thinking_delta", "thinking": t}),
                        ));
                    }
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(
                        s,
                    )) => {
                        self.open(index, thinking(), &mut out);
                        out.push(Self::delta(
                            index,
                            json!({"type": "signature_delta", "signature": s}),
                        ));
                    }
                    // Anthropic sends redacted thinking whole, in its block's start.
                    ContentBlockDelta::ReasoningContent(
                        ReasoningContentBlockDelta::RedactedContent(data),
                    ) => {
                        let block = json!({
                            "type": "redacted_thinking",
                            "data": String::from_utf8_lossy(data.as_ref()),
                        });
                        self.open(index, block, &mut out);
                    }
                    // Citations, tool results and images have no Messages stream delta.
                    _ => {}
                }
            }
            ConverseStreamOutput::ContentBlockStop(e) => {
                // A block stopped without deltas still existed: start it empty so indices hold.
                self.open(
                    e.content_block_index,
                    json!({"type": "text", "text": ""}),
                    &mut out,
                );
                self.stop(e.content_block_index, &mut out);
            }
            ConverseStreamOutput::MessageStop(_) | ConverseStreamOutput::Metadata(_) => {}
        }
        out
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        let mut out = Vec::new();
        self.start(&mut out);
        let open: Vec<i32> = self
            .blocks
            .iter()
            .filter(|(_, stopped)| !**stopped)
            .map(|(i, _)| *i)
            .collect();
        for index in open {
            self.stop(index, &mut out);
        }
        out.push(json!({
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(&totals.stop()),
                "stop_sequence": stop_sequence(totals.stop_fields.as_ref()),
            },
            // `input_tokens` too, since `message_start` could not know it.
            "usage": {"input_tokens": totals.input_tokens(), "output_tokens": totals.output_tokens()},
        }));
        out.push(json!({"type": "message_stop"}));
        out
    }
}

/// The legacy completion stream: `{"completion", "stop_reason", "stop"}` per text delta, and a
/// closing chunk with the stop.
pub(super) struct CompletionEncoder;

impl NativeEncoder for CompletionEncoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        match event {
            ConverseStreamOutput::ContentBlockDelta(e) => match &e.delta {
                ContentBlockDelta::Text(text) => vec![json!({
                    "completion": text,
                    "stop_reason": null,
                    "stop": null,
                })],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        vec![with_completion(
            String::new(),
            completion_stop(&totals.stop(), totals.stop_fields.as_ref()),
        )]
    }
}
