//! Mistral on Bedrock: the prompt completion body (`prompt`, answered with `outputs`) and Mistral
//! Large's chat completion body (`messages`, answered with `choices`), to and from Converse.
//!
//! Extra keys: refused, as Bedrock's Mistral schemas refuse them; `top_k` travels in
//! `additional_model_request_fields`, where Converse callers put it for Mistral.

use std::collections::BTreeMap;

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    AnyToolChoice, AutoToolChoice, ContentBlock, ContentBlockDelta, ContentBlockStart,
    ConversationRole, ConverseStreamOutput, Message, StopReason, SystemContentBlock, Tool,
    ToolChoice, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
    ToolSpecification, ToolUseBlock,
};
use serde_json::{Map, Value, json};

use super::body::{
    Fields, additional, expected, items, malformed, to_document, to_value, unsupported,
};
use super::stream::{NativeEncoder, Totals};
use super::{ConverseParts, Dialect, Invocation, inference, merge_adjacent, prompt};
use crate::providers::ProviderError;

pub(super) fn parse(root: &Value) -> Result<Invocation, ProviderError> {
    let f = Fields::of(root, "#")?;
    if f.has("messages") {
        parse_chat(f)
    } else {
        parse_completion(f)
    }
}

fn parse_completion(mut f: Fields<'_>) -> Result<Invocation, ProviderError> {
    let path = f.path_of("prompt");
    let prompt = f.req_str("prompt")?;
    let max_tokens = f.i32("max_tokens")?;
    let temperature = f.f32("temperature")?;
    let top_p = f.f32("top_p")?;
    let mut extra = Map::new();
    if let Some(top_k) = f.i32("top_k")? {
        extra.insert("top_k".into(), json!(top_k));
    }
    let stop = f.strings("stop")?;
    f.finish()?;
    let turns = prompt::split(prompt, &path)?;
    Ok(Invocation {
        dialect: Dialect::MistralCompletion,
        parts: ConverseParts {
            messages: turns.messages,
            system: turns
                .system
                .into_iter()
                .map(SystemContentBlock::Text)
                .collect(),
            inference_config: inference(max_tokens, temperature, top_p, stop),
            tool_config: None,
            additional_model_request_fields: additional(extra),
        },
    })
}

fn parse_chat(mut f: Fields<'_>) -> Result<Invocation, ProviderError> {
    let path = f.path_of("messages");
    let list = f.array("messages")?;
    let list = f.require("messages", list)?;
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for (p, v) in items(&path, list) {
        let mut m = Fields::of(v, p)?;
        let role = m.req_str("role")?;
        match role {
            "system" => system.push(SystemContentBlock::Text(m.req_str("content")?.to_owned())),
            "user" => messages.push(super::text_message(
                ConversationRole::User,
                m.req_str("content")?,
            )),
            "assistant" => {
                let mut content = Vec::new();
                if let Some(text) = m.str("content")?
                    && !text.is_empty()
                {
                    content.push(ContentBlock::Text(text.to_owned()));
                }
                let calls_path = m.path_of("tool_calls");
                for (p, call) in items(&calls_path, m.array("tool_calls")?.unwrap_or_default()) {
                    content.push(ContentBlock::ToolUse(tool_call(call, p)?));
                }
                messages.push(Message {
                    role: ConversationRole::Assistant,
                    content,
                });
            }
            // A tool's answer is a user turn's tool result in Converse. Its optional `name`
            // repeats the called function's, which the id already identifies.
            "tool" => {
                let tool_use_id = m.req_str("tool_call_id")?.to_owned();
                let text = m.req_str("content")?.to_owned();
                m.str("name")?;
                messages.push(Message {
                    role: ConversationRole::User,
                    content: vec![ContentBlock::ToolResult(ToolResultBlock {
                        tool_use_id,
                        content: vec![ToolResultContentBlock::Text(text)],
                        status: None,
                        r#type: None,
                    })],
                });
            }
            other => {
                return Err(malformed(
                    &m.path_of("role"),
                    format!("{other} is not a valid enum value"),
                ));
            }
        }
        m.finish()?;
    }
    let tool_config = tools(&mut f)?;
    let max_tokens = f.i32("max_tokens")?;
    let temperature = f.f32("temperature")?;
    let top_p = f.f32("top_p")?;
    f.finish()?;
    Ok(Invocation {
        dialect: Dialect::MistralChat,
        parts: ConverseParts {
            messages: merge_adjacent(messages),
            system,
            inference_config: inference(max_tokens, temperature, top_p, None),
            tool_config,
            additional_model_request_fields: None,
        },
    })
}

/// `{"id", "function": {"name", "arguments": "<JSON text>"}}`
fn tool_call(v: &Value, path: String) -> Result<ToolUseBlock, ProviderError> {
    let mut c = Fields::of(v, path)?;
    let id = c.req_str("id")?.to_owned();
    if let Some(kind) = c.str("type")?
        && kind != "function"
    {
        return Err(malformed(
            &c.path_of("type"),
            format!("{kind} is not a valid enum value"),
        ));
    }
    let function = c.object("function")?;
    let mut function = c.require("function", function)?;
    let name = function.req_str("name")?.to_owned();
    let input = match function.value("arguments") {
        None => {
            return Err(malformed(
                function.path(),
                "required key [arguments] not found",
            ));
        }
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).map_err(|e| {
            malformed(
                &function.path_of("arguments"),
                format!("not a JSON object ({e})"),
            )
        })?,
        Some(object @ Value::Object(_)) => object.clone(),
        Some(other) => return Err(expected(&function.path_of("arguments"), "String", other)),
    };
    if !input.is_object() {
        return Err(malformed(
            &function.path_of("arguments"),
            "not a JSON object",
        ));
    }
    function.finish()?;
    c.finish()?;
    Ok(ToolUseBlock {
        tool_use_id: id,
        name,
        input: to_document(&input),
        r#type: None,
    })
}

fn tools(f: &mut Fields<'_>) -> Result<Option<ToolConfiguration>, ProviderError> {
    let choice_path = f.path_of("tool_choice");
    let choice = match f.str("tool_choice")? {
        None => None,
        Some("auto") => Some(ToolChoice::Auto(AutoToolChoice {})),
        Some("any") => Some(ToolChoice::Any(AnyToolChoice {})),
        Some("none") => {
            return Err(unsupported(
                &choice_path,
                "tool_choice `none` has no Converse equivalent",
            ));
        }
        Some(other) => {
            return Err(malformed(
                &choice_path,
                format!("{other} is not a valid enum value"),
            ));
        }
    };
    let path = f.path_of("tools");
    let Some(list) = f.array("tools")? else {
        return Ok(None);
    };
    let mut tools = Vec::new();
    for (p, v) in items(&path, list) {
        let mut t = Fields::of(v, p)?;
        if let Some(kind) = t.str("type")?
            && kind != "function"
        {
            return Err(malformed(
                &t.path_of("type"),
                format!("{kind} is not a valid enum value"),
            ));
        }
        let function = t.object("function")?;
        let mut function = t.require("function", function)?;
        let name = function.req_str("name")?.to_owned();
        let description = function.str("description")?.map(str::to_owned);
        let parameters = function.value("parameters");
        let parameters = function.require("parameters", parameters)?;
        if !parameters.is_object() {
            return Err(expected(
                &function.path_of("parameters"),
                "JSONObject",
                parameters,
            ));
        }
        function.finish()?;
        t.finish()?;
        tools.push(Tool::ToolSpec(ToolSpecification {
            name,
            description,
            input_schema: ToolInputSchema::Json(to_document(parameters)),
            strict: None,
        }));
    }
    Ok(Some(ToolConfiguration {
        tools,
        tool_choice: choice,
    }))
}

fn stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => "length",
        StopReason::ToolUse => "tool_calls",
        _ => "stop",
    }
}

pub(super) fn render_completion(out: &ConverseOutput) -> Value {
    json!({
        "outputs": [{
            "text": super::output_text(out),
            "stop_reason": stop_reason(&out.stop_reason),
        }],
    })
}

fn tool_call_json(id: &str, name: &str, arguments: &str) -> Value {
    json!({"id": id, "function": {"name": name, "arguments": arguments}})
}

fn choice(content: &str, tool_calls: Vec<Value>, stop: Value) -> Value {
    let mut message = json!({"role": "assistant", "content": content});
    if let (false, Value::Object(m)) = (tool_calls.is_empty(), &mut message) {
        m.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    json!({"choices": [{"index": 0, "message": message, "stop_reason": stop}]})
}

pub(super) fn render_chat(out: &ConverseOutput) -> Value {
    let tool_calls = super::output_blocks(out)
        .iter()
        .filter_map(|block| match block {
            ContentBlock::ToolUse(t) => Some(tool_call_json(
                &t.tool_use_id,
                &t.name,
                &to_value(&t.input).to_string(),
            )),
            _ => None,
        })
        .collect();
    choice(
        &super::output_text(out),
        tool_calls,
        json!(stop_reason(&out.stop_reason)),
    )
}

/// `{"outputs": [{"text", "stop_reason"}]}` per text delta, and a closing one with the stop.
pub(super) struct CompletionEncoder;

impl NativeEncoder for CompletionEncoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        match event {
            ConverseStreamOutput::ContentBlockDelta(e) => match &e.delta {
                ContentBlockDelta::Text(text) => {
                    vec![json!({"outputs": [{"text": text, "stop_reason": null}]})]
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        vec![json!({"outputs": [{"text": "", "stop_reason": stop_reason(&totals.stop())}]})]
    }
}

/// Chat chunks: text as it comes; a tool call whole once its block stops, since Mistral sends
/// each call's arguments complete.
#[derive(Default)]
pub(super) struct ChatEncoder {
    /// Tool calls being gathered, by block index: id, name, arguments so far.
    calls: BTreeMap<i32, (String, String, String)>,
}

impl ChatEncoder {
    fn call_chunk((id, name, arguments): (String, String, String)) -> Value {
        let arguments = if arguments.is_empty() {
            "{}"
        } else {
            &arguments
        };
        choice("", vec![tool_call_json(&id, &name, arguments)], Value::Null)
    }
}

impl NativeEncoder for ChatEncoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        match event {
            ConverseStreamOutput::ContentBlockStart(e) => {
                if let ContentBlockStart::ToolUse(t) = &e.start {
                    self.calls.insert(
                        e.content_block_index,
                        (t.tool_use_id.clone(), t.name.clone(), String::new()),
                    );
                }
                Vec::new()
            }
            ConverseStreamOutput::ContentBlockDelta(e) => match &e.delta {
                ContentBlockDelta::Text(text) => vec![choice(text, Vec::new(), Value::Null)],
                ContentBlockDelta::ToolUse(t) => {
                    if let Some(call) = self.calls.get_mut(&e.content_block_index) {
                        call.2.push_str(&t.input);
                    }
                    Vec::new()
                }
                _ => Vec::new(),
            },
            ConverseStreamOutput::ContentBlockStop(e) => self
                .calls
                .remove(&e.content_block_index)
                .map(Self::call_chunk)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        let mut out: Vec<Value> = std::mem::take(&mut self.calls)
            .into_values()
            .map(Self::call_chunk)
            .collect();
        out.push(choice("", Vec::new(), json!(stop_reason(&totals.stop()))));
        out
    }
}
