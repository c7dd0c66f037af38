//! Converse → a Gemini `GenerateContentRequest` body.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quarry_bedrock_runtime::types::{
    AudioBlock, AudioFormat, AudioSource, ContentBlock, ConversationRole, DocumentBlock,
    DocumentContentBlock, DocumentFormat, DocumentSource, ImageBlock, ImageSource,
    InferenceConfiguration, Message, ReasoningContentBlock, SystemContentBlock, Tool, ToolChoice,
    ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus,
    VideoBlock, VideoFormat, VideoSource,
};
use serde_json::{Map, Value, json};

use super::NAME;
use crate::providers::vocab::{self, unsupported};
use crate::providers::{ConverseCall, ProviderError};

/// The body of a `generateContent` / `streamGenerateContent` call (the model is in the path).
pub fn body(call: &ConverseCall) -> Result<Value, ProviderError> {
    let request = &call.request;
    vocab::check_request_options(NAME, request)?;
    let mut body = Map::new();

    let mut system = Vec::new();
    for block in request.system.iter().flatten() {
        match block {
            SystemContentBlock::Text(text) => system.push(json!({ "text": text })),
            // Gemini caches repeated prefixes by itself; a cache point asks for nothing more.
            SystemContentBlock::CachePoint(_) => {}
            SystemContentBlock::GuardContent(_) => {
                return Err(unsupported(NAME, "guardContent in system"));
            }
        }
    }
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }

    // Tool use id → function name, from the turns read so far: a functionResponse must name
    // its function, and Converse's toolResult only gives the id.
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut contents = Vec::new();
    for (i, message) in request.messages.iter().flatten().enumerate() {
        let (role, parts) = match message.role {
            ConversationRole::User => ("user", user_parts(message, i, &names)?),
            ConversationRole::Assistant => {
                let parts = model_parts(message, i)?;
                for block in &message.content {
                    if let ContentBlock::ToolUse(tool) = block {
                        names.insert(&tool.tool_use_id, &tool.name);
                    }
                }
                ("model", parts)
            }
            _ => return Err(unsupported(NAME, format!("role {}", message.role.as_str()))),
        };
        // A turn of cache points only has nothing to send, and Gemini refuses empty parts.
        if !parts.is_empty() {
            contents.push(json!({ "role": role, "parts": parts }));
        }
    }
    body.insert("contents".into(), Value::Array(contents));

    if let Some(config) = &request.inference_config {
        let generation = generation_config(config);
        if !generation.is_empty() {
            body.insert("generationConfig".into(), Value::Object(generation));
        }
    }
    if let Some(tools) = &request.tool_config {
        tool_config(tools, &mut body)?;
    }

    let mut body = Value::Object(body);
    let extra = vocab::additional_fields(request.additional_model_request_fields.as_ref())?;
    vocab::merge_fields(&mut body, extra);
    Ok(body)
}

fn generation_config(config: &InferenceConfiguration) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(max) = config.max_tokens {
        out.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(t) = config.temperature {
        out.insert("temperature".into(), vocab::float(t));
    }
    if let Some(p) = config.top_p {
        out.insert("topP".into(), vocab::float(p));
    }
    if let Some(stop) = &config.stop_sequences {
        out.insert("stopSequences".into(), json!(stop));
    }
    out
}

/// `tools` and `toolConfig`. Schemas go as `parametersJsonSchema`, which takes JSON Schema as
/// is, so nothing is lost converting to Gemini's OpenAPI subset.
fn tool_config(
    tools: &ToolConfiguration,
    body: &mut Map<String, Value>,
) -> Result<(), ProviderError> {
    let mut declarations = Vec::new();
    for tool in &tools.tools {
        match tool {
            Tool::ToolSpec(spec) => {
                // Gemini has no per-function strict mode to honour it with.
                if spec.strict == Some(true) {
                    return Err(unsupported(NAME, "toolSpec strict"));
                }
                let ToolInputSchema::Json(schema) = &spec.input_schema;
                let mut declaration = Map::new();
                declaration.insert("name".into(), json!(spec.name));
                if let Some(d) = &spec.description {
                    declaration.insert("description".into(), json!(d));
                }
                declaration.insert("parametersJsonSchema".into(), vocab::to_value(schema));
                declarations.push(Value::Object(declaration));
            }
            Tool::CachePoint(_) => {}
            Tool::SystemTool(t) => {
                return Err(unsupported(NAME, format!("system tool {}", t.name)));
            }
        }
    }
    if !declarations.is_empty() {
        body.insert(
            "tools".into(),
            json!([{ "functionDeclarations": declarations }]),
        );
    }
    if let Some(choice) = &tools.tool_choice {
        let config = match choice {
            ToolChoice::Auto(_) => json!({ "mode": "AUTO" }),
            ToolChoice::Any(_) => json!({ "mode": "ANY" }),
            ToolChoice::Tool(t) => json!({ "mode": "ANY", "allowedFunctionNames": [t.name] }),
        };
        body.insert(
            "toolConfig".into(),
            json!({ "functionCallingConfig": config }),
        );
    }
    Ok(())
}

fn inline(mime: &str, bytes: &[u8]) -> Value {
    json!({ "inlineData": { "mimeType": mime, "data": BASE64.encode(bytes) } })
}

fn image(image: &ImageBlock) -> Result<Value, ProviderError> {
    match &image.source {
        ImageSource::Bytes(bytes) => Ok(inline(vocab::image_mime(&image.format)?, bytes.as_ref())),
        ImageSource::S3Location(_) => Err(unsupported(NAME, "image s3Location source")),
    }
}

/// A video as inline data, in the media types Gemini reads.
fn video(video: &VideoBlock) -> Result<Value, ProviderError> {
    let mime = match &video.format {
        VideoFormat::Mp4 => "video/mp4",
        VideoFormat::Mov => "video/mov",
        VideoFormat::Mpeg => "video/mpeg",
        VideoFormat::Mpg => "video/mpg",
        VideoFormat::Webm => "video/webm",
        VideoFormat::Flv => "video/x-flv",
        VideoFormat::Wmv => "video/wmv",
        VideoFormat::ThreeGp => "video/3gpp",
        other => {
            return Err(unsupported(
                NAME,
                format!("video format {}", other.as_str()),
            ));
        }
    };
    match &video.source {
        VideoSource::Bytes(bytes) => Ok(inline(mime, bytes.as_ref())),
        VideoSource::S3Location(_) => Err(unsupported(NAME, "video s3Location source")),
    }
}

/// Audio as inline data, in the media types Gemini reads.
fn audio(audio: &AudioBlock) -> Result<Value, ProviderError> {
    let mime = match &audio.format {
        AudioFormat::Wav => "audio/wav",
        AudioFormat::Mp3 => "audio/mp3",
        AudioFormat::Aac => "audio/aac",
        AudioFormat::Ogg => "audio/ogg",
        AudioFormat::Flac => "audio/flac",
        other => {
            return Err(unsupported(
                NAME,
                format!("audio format {}", other.as_str()),
            ));
        }
    };
    match &audio.source {
        AudioSource::Bytes(bytes) => Ok(inline(mime, bytes.as_ref())),
        AudioSource::S3Location(_) => Err(unsupported(NAME, "audio s3Location source")),
    }
}

/// A document as parts: inline data for the formats Gemini reads (pdf and text-like ones), text
/// parts for text sources.
fn document(doc: &DocumentBlock) -> Result<Vec<Value>, ProviderError> {
    if doc.citations.as_ref().is_some_and(|c| c.enabled) {
        return Err(unsupported(NAME, "document citations"));
    }
    if doc.context.is_some() {
        return Err(unsupported(NAME, "document context"));
    }
    match &doc.source {
        DocumentSource::Text(text) => Ok(vec![json!({ "text": text })]),
        DocumentSource::Content(blocks) => Ok(blocks
            .iter()
            .map(|b| match b {
                DocumentContentBlock::Text(text) => json!({ "text": text }),
            })
            .collect()),
        DocumentSource::Bytes(bytes) => match &doc.format {
            Some(
                format @ (DocumentFormat::Pdf
                | DocumentFormat::Txt
                | DocumentFormat::Md
                | DocumentFormat::Csv
                | DocumentFormat::Html),
            ) => Ok(vec![inline(vocab::document_mime(format)?, bytes.as_ref())]),
            Some(format) => Err(unsupported(
                NAME,
                format!("document format {}", format.as_str()),
            )),
            None => Err(unsupported(NAME, "a document without a format")),
        },
        DocumentSource::S3Location(_) => Err(unsupported(NAME, "document s3Location source")),
    }
}

fn user_parts(
    message: &Message,
    index: usize,
    names: &HashMap<&str, &str>,
) -> Result<Vec<Value>, ProviderError> {
    let mut parts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text(text) => parts.push(json!({ "text": text })),
            ContentBlock::Image(block) => parts.push(image(block)?),
            ContentBlock::Document(doc) => parts.extend(document(doc)?),
            ContentBlock::Video(block) => parts.push(video(block)?),
            ContentBlock::Audio(block) => parts.push(audio(block)?),
            ContentBlock::ToolResult(result) => parts.push(function_response(result, names)?),
            ContentBlock::CachePoint(_) => {}
            ContentBlock::ToolUse(_) => {
                return Err(ProviderError::validation(format!(
                    "messages.{index}: toolUse blocks belong in assistant messages"
                )));
            }
            ContentBlock::ReasoningContent(_) => {
                return Err(unsupported(NAME, "reasoningContent in a user message"));
            }
            other => return Err(unsupported(NAME, vocab::block_name(other))),
        }
    }
    Ok(parts)
}

/// A tool result as a `functionResponse`. Its `response` must be a JSON object: a lone JSON
/// object result goes as is, anything else under `output` (one item as itself, several as a
/// list, none as ""), and an error result under `error` instead, so the model sees it failed.
fn function_response(
    result: &ToolResultBlock,
    names: &HashMap<&str, &str>,
) -> Result<Value, ProviderError> {
    let id = result.tool_use_id.as_str();
    let name = names.get(id).ok_or_else(|| {
        ProviderError::validation(format!(
            "toolResult references toolUseId {id} which no earlier toolUse has"
        ))
    })?;
    if let Some(kind) = &result.r#type {
        return Err(unsupported(NAME, format!("toolResult type {kind}")));
    }
    let mut items = Vec::new();
    for item in &result.content {
        items.push(match item {
            ToolResultContentBlock::Json(j) => vocab::to_value(j),
            ToolResultContentBlock::Text(t) => Value::String(t.clone()),
            ToolResultContentBlock::Image(_) => {
                return Err(unsupported(NAME, "image content inside a toolResult"));
            }
            ToolResultContentBlock::Document(_) => {
                return Err(unsupported(NAME, "document content inside a toolResult"));
            }
            ToolResultContentBlock::Video(_) => {
                return Err(unsupported(NAME, "video content inside a toolResult"));
            }
            ToolResultContentBlock::SearchResult(_) => {
                return Err(unsupported(
                    NAME,
                    "searchResult content inside a toolResult",
                ));
            }
        });
    }
    let failed = match &result.status {
        None | Some(ToolResultStatus::Success) => false,
        Some(ToolResultStatus::Error) => true,
        Some(other) => {
            return Err(unsupported(
                NAME,
                format!("toolResult status {}", other.as_str()),
            ));
        }
    };
    let lone_object = matches!(result.content.as_slice(), [ToolResultContentBlock::Json(_)])
        && items.first().is_some_and(Value::is_object);
    let payload = match items.len() {
        0 => Value::String(String::new()),
        1 => items.remove(0),
        _ => Value::Array(items),
    };
    let response = if failed {
        json!({ "error": payload })
    } else if lone_object {
        payload
    } else {
        json!({ "output": payload })
    };
    Ok(json!({ "functionResponse": { "id": id, "name": name, "response": response } }))
}

/// A part of a model turn, or a thought signature waiting for the part it belongs to.
enum Item {
    Part(Value),
    Signature(String),
}

fn model_parts(message: &Message, index: usize) -> Result<Vec<Value>, ProviderError> {
    let mut items = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text(text) => items.push(Item::Part(json!({ "text": text }))),
            ContentBlock::ToolUse(tool) => {
                if let Some(kind) = &tool.r#type {
                    return Err(unsupported(NAME, format!("toolUse type {}", kind.as_str())));
                }
                items.push(Item::Part(json!({ "functionCall": {
                    "id": tool.tool_use_id,
                    "name": tool.name,
                    "args": vocab::to_value(&tool.input),
                } })));
            }
            ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(reasoning)) => {
                match (&reasoning.signature, reasoning.text.is_empty()) {
                    (Some(signature), true) => items.push(Item::Signature(signature.clone())),
                    // An empty thought without a signature carries nothing.
                    (None, true) => {}
                    (signature, false) => {
                        let mut part = json!({ "text": reasoning.text, "thought": true });
                        if let Some(signature) = signature {
                            part["thoughtSignature"] = json!(signature);
                        }
                        items.push(Item::Part(part));
                    }
                }
            }
            ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(_)) => {
                return Err(unsupported(NAME, "redacted reasoningContent"));
            }
            ContentBlock::CachePoint(_) => {}
            ContentBlock::ToolResult(_) => {
                return Err(ProviderError::validation(format!(
                    "messages.{index}: toolResult blocks belong in user messages"
                )));
            }
            other => return Err(unsupported(NAME, vocab::block_name(other))),
        }
    }
    Ok(place_signatures(items))
}

/// Gives each lone signature to the next part without one, else the previous part without one
/// (the part it came with, see the module notes); with neither, it goes back as an empty signed
/// thought, so it is still returned.
fn place_signatures(items: Vec<Item>) -> Vec<Value> {
    let mut parts = Vec::new();
    let mut signatures = Vec::new();
    for item in items {
        match item {
            Item::Part(part) => parts.push(part),
            // Remember where the signature stood: before the part now at `parts.len()`.
            Item::Signature(signature) => signatures.push((parts.len(), signature)),
        }
    }
    let unsigned = |part: &Value| part.get("thoughtSignature").is_none();
    let mut orphans = Vec::new();
    for (at, signature) in signatures {
        let target = (at..parts.len())
            .find(|&i| unsigned(&parts[i]))
            .or_else(|| (0..at).rev().find(|&i| unsigned(&parts[i])));
        match target {
            Some(i) => parts[i]["thoughtSignature"] = json!(signature),
            None => {
                orphans.push(json!({ "text": "", "thought": true, "thoughtSignature": signature }))
            }
        }
    }
    parts.extend(orphans);
    parts
}
