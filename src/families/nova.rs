//! Amazon Nova on Bedrock: the `messages-v1` body (Converse's own shapes in camelCase), answered
//! with `output.message`, `stopReason` and `usage`, to and from Converse.
//!
//! Extra keys: refused, as Bedrock's Nova schema refuses them; `topK` travels in
//! `additional_model_request_fields` as `{"inferenceConfig": {"topK": …}}`, where Converse callers
//! put it for Nova.

use aws_smithy_types::Blob;
use base64::Engine as _;
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    AnyToolChoice, AutoToolChoice, CachePointBlock, CachePointType, ContentBlock,
    ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseStreamOutput, DocumentBlock,
    DocumentFormat, DocumentSource, ImageBlock, ImageSource, Message, ReasoningContentBlock,
    ReasoningContentBlockDelta, ReasoningTextBlock, SpecificToolChoice, SystemContentBlock, Tool,
    ToolChoice, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
    ToolResultStatus, ToolSpecification, ToolUseBlock,
};
use serde_json::{Map, Value, json};

use super::body::{Fields, additional, expected, items, malformed, to_document, to_value};
use super::stream::{NativeEncoder, Totals};
use super::{ConverseParts, Dialect, Invocation, inference};
use crate::providers::ProviderError;

const SCHEMA_VERSION: &str = "messages-v1";

pub(super) fn parse(root: &Value) -> Result<Invocation, ProviderError> {
    let mut f = Fields::of(root, "#")?;
    if let Some(version) = f.str("schemaVersion")?
        && version != SCHEMA_VERSION
    {
        return Err(malformed(
            &f.path_of("schemaVersion"),
            format!("{version} is not a valid enum value (Nova accepts {SCHEMA_VERSION})"),
        ));
    }
    let mut system = Vec::new();
    let system_path = f.path_of("system");
    for (p, v) in items(&system_path, f.array("system")?.unwrap_or_default()) {
        let mut b = Fields::of(v, p)?;
        if let Some(text) = b.str("text")? {
            system.push(SystemContentBlock::Text(text.to_owned()));
        } else if let Some(point) = cache_point(&mut b)? {
            system.push(SystemContentBlock::CachePoint(point));
        } else {
            return Err(malformed(b.path(), "required key [text] not found"));
        }
        b.finish()?;
    }
    let path = f.path_of("messages");
    let list = f.array("messages")?;
    let list = f.require("messages", list)?;
    let messages = items(&path, list)
        .map(|(p, v)| message(v, p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut extra = Map::new();
    let inference_config = match f.object("inferenceConfig")? {
        None => None,
        Some(mut c) => {
            let max_tokens = either(&mut c, "max_new_tokens", "maxTokens", Fields::i32)?;
            let temperature = c.f32("temperature")?;
            let top_p = either(&mut c, "topP", "top_p", Fields::f32)?;
            if let Some(top_k) = either(&mut c, "topK", "top_k", Fields::i32)? {
                extra.insert("inferenceConfig".into(), json!({"topK": top_k}));
            }
            let stop_sequences = c.strings("stopSequences")?;
            c.finish()?;
            inference(max_tokens, temperature, top_p, stop_sequences)
        }
    };
    let tool_config = tool_config(&mut f)?;
    f.finish()?;
    Ok(Invocation {
        dialect: Dialect::Nova,
        parts: ConverseParts {
            messages,
            system,
            inference_config,
            tool_config,
            additional_model_request_fields: additional(extra),
        },
    })
}

/// A member Nova accepts under two spellings (`max_new_tokens` or `maxTokens`); both at once
/// would leave us guessing, so that is refused.
fn either<'a, T>(
    c: &mut Fields<'a>,
    first: &str,
    second: &str,
    read: impl Fn(&mut Fields<'a>, &str) -> Result<Option<T>, ProviderError>,
) -> Result<Option<T>, ProviderError> {
    match (read(c, first)?, read(c, second)?) {
        (Some(_), Some(_)) => Err(malformed(
            c.path(),
            format!("only one of [{first}] and [{second}] may be set"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

fn cache_point(b: &mut Fields<'_>) -> Result<Option<CachePointBlock>, ProviderError> {
    let Some(mut c) = b.object("cachePoint")? else {
        return Ok(None);
    };
    let kind = c.req_str("type")?;
    if kind != "default" {
        return Err(malformed(
            &c.path_of("type"),
            format!("{kind} is not a valid enum value"),
        ));
    }
    c.finish()?;
    Ok(Some(CachePointBlock {
        r#type: CachePointType::Default,
        ttl: None,
    }))
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
    let path = m.path_of("content");
    let list = m.array("content")?;
    let list = m.require("content", list)?;
    let content = items(&path, list)
        .map(|(p, v)| block(v, p))
        .collect::<Result<Vec<_>, _>>()?;
    m.finish()?;
    Ok(Message { role, content })
}

/// `{"bytes": "<base64>"}`; S3 locations name a bucket this gateway cannot read for the provider.
fn source_bytes(s: &mut Fields<'_>) -> Result<Blob, ProviderError> {
    s.refuse(
        &["s3Location"],
        "S3 sources cannot be read by the gateway's providers; send the bytes",
    )?;
    let data = s.req_str("bytes")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| malformed(&s.path_of("bytes"), format!("not valid base64 ({e})")))?;
    Ok(Blob::new(bytes))
}

fn image(b: &mut Fields<'_>) -> Result<Option<ImageBlock>, ProviderError> {
    let Some(mut i) = b.object("image")? else {
        return Ok(None);
    };
    let format = i.req_str("format")?;
    let format = super::image_format(format).ok_or_else(|| {
        malformed(
            &i.path_of("format"),
            format!("{format} is not a valid enum value"),
        )
    })?;
    let source = i.object("source")?;
    let mut source = i.require("source", source)?;
    let bytes = source_bytes(&mut source)?;
    source.finish()?;
    i.finish()?;
    Ok(Some(ImageBlock {
        format,
        source: ImageSource::Bytes(bytes),
        error: None,
    }))
}

fn document(b: &mut Fields<'_>) -> Result<Option<DocumentBlock>, ProviderError> {
    let Some(mut d) = b.object("document")? else {
        return Ok(None);
    };
    let format = d.req_str("format")?;
    let format = match DocumentFormat::from(format) {
        DocumentFormat::Unknown(other) => {
            return Err(malformed(
                &d.path_of("format"),
                format!("{other} is not a valid enum value"),
            ));
        }
        known => known,
    };
    let name = d.req_str("name")?.to_owned();
    let source = d.object("source")?;
    let mut source = d.require("source", source)?;
    let bytes = source_bytes(&mut source)?;
    source.finish()?;
    d.finish()?;
    Ok(Some(DocumentBlock {
        format: Some(format),
        name,
        source: DocumentSource::Bytes(bytes),
        context: None,
        citations: None,
    }))
}

fn block(v: &Value, path: String) -> Result<ContentBlock, ProviderError> {
    let mut b = Fields::of(v, path)?;
    b.refuse(
        &["video"],
        "video input is not carried through InvokeModel yet; use Converse",
    )?;
    let block = if let Some(text) = b.str("text")? {
        ContentBlock::Text(text.to_owned())
    } else if let Some(image) = image(&mut b)? {
        ContentBlock::Image(image)
    } else if let Some(document) = document(&mut b)? {
        ContentBlock::Document(document)
    } else if let Some(mut t) = b.object("toolUse")? {
        let tool_use_id = t.req_str("toolUseId")?.to_owned();
        let name = t.req_str("name")?.to_owned();
        let input = t.value("input");
        let input = t.require("input", input)?;
        t.finish()?;
        ContentBlock::ToolUse(ToolUseBlock {
            tool_use_id,
            name,
            input: to_document(input),
            r#type: None,
        })
    } else if let Some(t) = b.object("toolResult")? {
        ContentBlock::ToolResult(tool_result(t)?)
    } else if let Some(mut r) = b.object("reasoningContent")? {
        let text = r.object("reasoningText")?;
        let mut text = r.require("reasoningText", text)?;
        let block = ReasoningTextBlock {
            text: text.req_str("text")?.to_owned(),
            signature: text.str("signature")?.map(str::to_owned),
        };
        text.finish()?;
        r.finish()?;
        ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(block))
    } else if let Some(point) = cache_point(&mut b)? {
        ContentBlock::CachePoint(point)
    } else {
        return Err(malformed(
            b.path(),
            "a content block needs one of [text, image, document, toolUse, toolResult, reasoningContent, cachePoint]",
        ));
    };
    // A second kind in the same block is an extraneous key.
    b.finish()?;
    Ok(block)
}

fn tool_result(mut t: Fields<'_>) -> Result<ToolResultBlock, ProviderError> {
    let tool_use_id = t.req_str("toolUseId")?.to_owned();
    let path = t.path_of("content");
    let list = t.array("content")?;
    let list = t.require("content", list)?;
    let content = items(&path, list)
        .map(|(p, v)| {
            let mut c = Fields::of(v, p)?;
            let block = if let Some(text) = c.str("text")? {
                ToolResultContentBlock::Text(text.to_owned())
            } else if let Some(json) = c.value("json") {
                ToolResultContentBlock::Json(to_document(json))
            } else if let Some(image) = image(&mut c)? {
                ToolResultContentBlock::Image(image)
            } else if let Some(document) = document(&mut c)? {
                ToolResultContentBlock::Document(document)
            } else {
                return Err(malformed(
                    c.path(),
                    "a tool result block needs one of [text, json, image, document]",
                ));
            };
            c.finish()?;
            Ok(block)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let status = match t.str("status")? {
        None => None,
        Some("success") => Some(ToolResultStatus::Success),
        Some("error") => Some(ToolResultStatus::Error),
        Some(other) => {
            return Err(malformed(
                &t.path_of("status"),
                format!("{other} is not a valid enum value"),
            ));
        }
    };
    t.finish()?;
    Ok(ToolResultBlock {
        tool_use_id,
        content,
        status,
        r#type: None,
    })
}

fn tool_config(f: &mut Fields<'_>) -> Result<Option<ToolConfiguration>, ProviderError> {
    let Some(mut c) = f.object("toolConfig")? else {
        return Ok(None);
    };
    let path = c.path_of("tools");
    let list = c.array("tools")?;
    let list = c.require("tools", list)?;
    let mut tools = Vec::new();
    for (p, v) in items(&path, list) {
        let mut t = Fields::of(v, p)?;
        let spec = t.object("toolSpec")?;
        let mut spec = t.require("toolSpec", spec)?;
        let name = spec.req_str("name")?.to_owned();
        let description = spec.str("description")?.map(str::to_owned);
        let schema = spec.object("inputSchema")?;
        let mut schema = spec.require("inputSchema", schema)?;
        let json = schema.value("json");
        let json = schema.require("json", json)?;
        if !json.is_object() {
            return Err(expected(&schema.path_of("json"), "JSONObject", json));
        }
        schema.finish()?;
        spec.finish()?;
        t.finish()?;
        tools.push(Tool::ToolSpec(ToolSpecification {
            name,
            description,
            input_schema: ToolInputSchema::Json(to_document(json)),
            strict: None,
        }));
    }
    let tool_choice = match c.object("toolChoice")? {
        None => None,
        Some(mut choice) => {
            let picked = if choice.object("auto")?.is_some() {
                ToolChoice::Auto(AutoToolChoice {})
            } else if choice.object("any")?.is_some() {
                ToolChoice::Any(AnyToolChoice {})
            } else if let Some(mut tool) = choice.object("tool")? {
                let name = tool.req_str("name")?.to_owned();
                tool.finish()?;
                ToolChoice::Tool(SpecificToolChoice { name })
            } else {
                return Err(malformed(
                    choice.path(),
                    "toolChoice needs one of [auto, any, tool]",
                ));
            };
            choice.finish()?;
            Some(picked)
        }
    };
    c.finish()?;
    Ok(Some(ToolConfiguration { tools, tool_choice }))
}

pub(super) fn render(out: &ConverseOutput) -> Value {
    let content: Vec<Value> = super::output_blocks(out)
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(json!({"text": text})),
            ContentBlock::ToolUse(t) => Some(json!({"toolUse": {
                "toolUseId": t.tool_use_id,
                "name": t.name,
                "input": to_value(&t.input),
            }})),
            ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) => {
                let mut text = json!({"text": r.text});
                if let (Some(sig), Value::Object(m)) = (&r.signature, &mut text) {
                    m.insert("signature".into(), json!(sig));
                }
                Some(json!({"reasoningContent": {"reasoningText": text}}))
            }
            _ => None,
        })
        .collect();
    let u = &out.usage;
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        // Nova's stop reasons are Converse's, spelled the same.
        "stopReason": out.stop_reason.as_str(),
        "usage": {
            "inputTokens": u.input_tokens,
            "outputTokens": u.output_tokens,
            "totalTokens": u.total_tokens,
            "cacheReadInputTokenCount": u.cache_read_input_tokens.unwrap_or(0),
            "cacheWriteInputTokenCount": u.cache_write_input_tokens.unwrap_or(0),
        },
    })
}

/// Nova's stream is Converse's, event for event; only the usage waits for the closing
/// `metadata` chunk, which carries the invocation metrics.
#[derive(Default)]
pub(super) struct Encoder {
    started: bool,
}

impl NativeEncoder for Encoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        let chunk = match event {
            ConverseStreamOutput::MessageStart(_) => {
                self.started = true;
                json!({"messageStart": {"role": "assistant"}})
            }
            ConverseStreamOutput::ContentBlockStart(e) => match &e.start {
                ContentBlockStart::ToolUse(t) => json!({"contentBlockStart": {
                    "start": {"toolUse": {"toolUseId": t.tool_use_id, "name": t.name}},
                    "contentBlockIndex": e.content_block_index,
                }}),
                _ => return Vec::new(),
            },
            ConverseStreamOutput::ContentBlockDelta(e) => {
                let delta = match &e.delta {
                    ContentBlockDelta::Text(text) => json!({"text": text}),
                    ContentBlockDelta::ToolUse(t) => json!({"toolUse": {"input": t.input}}),
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
                        json!({"reasoningContent": {"text": t}})
                    }
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(
                        s,
                    )) => json!({"reasoningContent": {"signature": s}}),
                    _ => return Vec::new(),
                };
                json!({"contentBlockDelta": {
                    "delta": delta,
                    "contentBlockIndex": e.content_block_index,
                }})
            }
            ConverseStreamOutput::ContentBlockStop(e) => {
                json!({"contentBlockStop": {"contentBlockIndex": e.content_block_index}})
            }
            ConverseStreamOutput::MessageStop(e) => {
                json!({"messageStop": {"stopReason": e.stop_reason.as_str()}})
            }
            ConverseStreamOutput::Metadata(_) => return Vec::new(),
        };
        vec![chunk]
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        let mut out = Vec::new();
        if totals.stop_reason.is_none() {
            out.push(json!({"messageStop": {"stopReason": totals.stop().as_str()}}));
        }
        let input = totals.input_tokens();
        let output = totals.output_tokens();
        out.push(json!({"metadata": {
            "usage": {"inputTokens": input, "outputTokens": output},
            "metrics": {},
            "trace": {},
        }}));
        if !self.started {
            out.insert(0, json!({"messageStart": {"role": "assistant"}}));
        }
        out
    }
}
