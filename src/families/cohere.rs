//! Cohere Command on Bedrock: the Command R chat body (`message`, `chat_history`, `preamble`) and
//! the legacy Command generate body (`prompt`, answered with `generations`), to and from Converse.
//!
//! Extra keys: refused, as Bedrock's Cohere schemas refuse them. Sampling knobs Converse has no
//! member for (`k`, `frequency_penalty`, `presence_penalty`, `seed`) travel in
//! `additional_model_request_fields`, where Converse callers put them for Cohere; Cohere features
//! Converse cannot express (documents, Cohere-style tools, search-query mode…) are refused by name.

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlockDelta, ConversationRole, ConverseStreamOutput, InferenceConfiguration, Message,
    StopReason, SystemContentBlock,
};
use serde_json::{Map, Value, json};

use super::body::{Fields, additional, expected, items, malformed};
use super::stream::{NativeEncoder, Totals};
use super::{ConverseParts, Dialect, Invocation, ResponseContext, inference, merge_adjacent};
use crate::providers::ProviderError;

pub(super) fn parse(root: &Value) -> Result<Invocation, ProviderError> {
    let f = Fields::of(root, "#")?;
    // `prompt` without `message` is the legacy generate body; anything else is chat, so a body
    // with neither is told `message` is missing.
    if f.has("prompt") && !f.has("message") {
        parse_generate(f)
    } else {
        parse_chat(f)
    }
}

/// Reads the sampling knobs both bodies share, the model-specific ones into `extra`.
fn sampling(
    f: &mut Fields<'_>,
    extra: &mut Map<String, Value>,
) -> Result<Option<InferenceConfiguration>, ProviderError> {
    let max_tokens = f.i32("max_tokens")?;
    let temperature = f.f32("temperature")?;
    let top_p = f.f32("p")?;
    for key in ["k", "frequency_penalty", "presence_penalty", "seed"] {
        if let Some(v) = f.value(key) {
            if !v.is_number() {
                return Err(expected(&f.path_of(key), "Number", v));
            }
            extra.insert(key.into(), v.clone());
        }
    }
    let stop_sequences = f.strings("stop_sequences")?;
    Ok(inference(max_tokens, temperature, top_p, stop_sequences))
}

fn parse_chat(mut f: Fields<'_>) -> Result<Invocation, ProviderError> {
    let message = f.req_str("message")?.to_owned();
    let path = f.path_of("chat_history");
    let history = f.array("chat_history")?.unwrap_or_default();
    let mut messages = Vec::new();
    for (p, v) in items(&path, history) {
        let mut h = Fields::of(v, p)?;
        let role = match h.req_str("role")? {
            "USER" => ConversationRole::User,
            "CHATBOT" => ConversationRole::Assistant,
            other => {
                return Err(malformed(
                    &h.path_of("role"),
                    format!("{other} is not a valid enum value"),
                ));
            }
        };
        messages.push(super::text_message(role, h.req_str("message")?));
        h.finish()?;
    }
    messages.push(super::text_message(
        ConversationRole::User,
        message.as_str(),
    ));
    let system = f
        .str("preamble")?
        .map(|p| vec![SystemContentBlock::Text(p.to_owned())])
        .unwrap_or_default();
    let mut extra = Map::new();
    let inference_config = sampling(&mut f, &mut extra)?;
    f.refuse(
        &["documents", "search_queries_only", "citation_quality"],
        "Cohere's grounded generation has no Converse equivalent",
    )?;
    f.refuse(
        &["tools", "tool_results", "force_single_step"],
        "Cohere-style tools have no Converse equivalent yet; use Converse's toolConfig",
    )?;
    f.refuse(
        &["prompt_truncation", "return_prompt", "raw_prompting"],
        "Converse does not expose the raw prompt",
    )?;
    f.finish()?;
    Ok(Invocation {
        dialect: Dialect::CohereChat {
            chat_history: history.to_vec(),
            message,
        },
        parts: ConverseParts {
            messages: merge_adjacent(messages),
            system,
            inference_config,
            tool_config: None,
            additional_model_request_fields: additional(extra),
        },
    })
}

fn parse_generate(mut f: Fields<'_>) -> Result<Invocation, ProviderError> {
    let prompt = f.req_str("prompt")?.to_owned();
    let mut extra = Map::new();
    let inference_config = sampling(&mut f, &mut extra)?;
    // `stream` only said which operation the caller used; the operation itself decides here.
    f.bool("stream")?;
    if f.i32("num_generations")?.is_some_and(|n| n != 1) {
        return Err(super::body::unsupported(
            &f.path_of("num_generations"),
            "Converse answers with one generation",
        ));
    }
    if f.str("return_likelihoods")?.is_some_and(|r| r != "NONE") {
        return Err(super::body::unsupported(
            &f.path_of("return_likelihoods"),
            "Converse reports no token likelihoods",
        ));
    }
    f.refuse(&["truncate", "logit_bias"], "Converse has no member for it")?;
    f.finish()?;
    Ok(Invocation {
        dialect: Dialect::CohereGenerate {
            prompt: prompt.clone(),
        },
        parts: ConverseParts {
            messages: vec![Message {
                role: ConversationRole::User,
                content: vec![quarry_bedrock_runtime::types::ContentBlock::Text(prompt)],
            }],
            inference_config,
            additional_model_request_fields: additional(extra),
            ..ConverseParts::default()
        },
    })
}

fn finish_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => "MAX_TOKENS",
        StopReason::ContentFiltered | StopReason::GuardrailIntervened => "ERROR_TOXIC",
        StopReason::MalformedModelOutput | StopReason::MalformedToolUse => "ERROR",
        _ => "COMPLETE",
    }
}

/// The chat answer; its `chat_history` is the request's, then this exchange.
fn chat_response(
    ctx: &ResponseContext,
    history: &[Value],
    message: &str,
    text: &str,
    reason: &StopReason,
) -> Value {
    let mut chat_history = history.to_vec();
    chat_history.push(json!({"role": "USER", "message": message}));
    chat_history.push(json!({"role": "CHATBOT", "message": text}));
    json!({
        "response_id": ctx.uuid(true),
        "text": text,
        "generation_id": ctx.uuid(false),
        "chat_history": chat_history,
        "finish_reason": finish_reason(reason),
    })
}

fn generate_response(
    ctx: &ResponseContext,
    prompt: &str,
    text: &str,
    reason: &StopReason,
) -> Value {
    json!({
        "id": ctx.uuid(true),
        "generations": [{
            "id": ctx.uuid(false),
            "text": text,
            "finish_reason": finish_reason(reason),
        }],
        "prompt": prompt,
    })
}

pub(super) fn render_chat(
    out: &ConverseOutput,
    ctx: &ResponseContext,
    history: &[Value],
    message: &str,
) -> Value {
    chat_response(
        ctx,
        history,
        message,
        &super::output_text(out),
        &out.stop_reason,
    )
}

pub(super) fn render_generate(out: &ConverseOutput, ctx: &ResponseContext, prompt: &str) -> Value {
    generate_response(ctx, prompt, &super::output_text(out), &out.stop_reason)
}

fn text_delta(event: &ConverseStreamOutput) -> Option<&str> {
    match event {
        ConverseStreamOutput::ContentBlockDelta(e) => match &e.delta {
            ContentBlockDelta::Text(text) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// Command R's stream: `stream-start`, `text-generation` per delta, and `stream-end` carrying
/// the whole response, whose text is gathered on the way.
pub(super) struct ChatEncoder {
    ctx: ResponseContext,
    history: Vec<Value>,
    message: String,
    text: String,
    started: bool,
}

impl ChatEncoder {
    pub(super) fn new(ctx: ResponseContext, history: Vec<Value>, message: String) -> Self {
        Self {
            ctx,
            history,
            message,
            text: String::new(),
            started: false,
        }
    }

    fn start(&mut self, out: &mut Vec<Value>) {
        if !self.started {
            self.started = true;
            out.push(json!({
                "is_finished": false,
                "event_type": "stream-start",
                "generation_id": self.ctx.uuid(false),
            }));
        }
    }
}

impl NativeEncoder for ChatEncoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        let mut out = Vec::new();
        if matches!(event, ConverseStreamOutput::MessageStart(_)) {
            self.start(&mut out);
        }
        if let Some(text) = text_delta(event) {
            self.start(&mut out);
            self.text.push_str(text);
            out.push(json!({"is_finished": false, "event_type": "text-generation", "text": text}));
        }
        out
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        let mut out = Vec::new();
        self.start(&mut out);
        let reason = totals.stop();
        out.push(json!({
            "is_finished": true,
            "event_type": "stream-end",
            "response": chat_response(&self.ctx, &self.history, &self.message, &self.text, &reason),
            "finish_reason": finish_reason(&reason),
        }));
        out
    }
}

/// The legacy generate stream: `{"text", "is_finished": false}` per delta, then the finish with
/// the whole response.
pub(super) struct GenerateEncoder {
    ctx: ResponseContext,
    prompt: String,
    text: String,
}

impl GenerateEncoder {
    pub(super) fn new(ctx: ResponseContext, prompt: String) -> Self {
        Self {
            ctx,
            prompt,
            text: String::new(),
        }
    }
}

impl NativeEncoder for GenerateEncoder {
    fn event(&mut self, event: &ConverseStreamOutput, _totals: &Totals) -> Vec<Value> {
        match text_delta(event) {
            Some(text) => {
                self.text.push_str(text);
                vec![json!({"text": text, "is_finished": false})]
            }
            None => Vec::new(),
        }
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        let reason = totals.stop();
        vec![json!({
            "is_finished": true,
            "finish_reason": finish_reason(&reason),
            "response": generate_response(&self.ctx, &self.prompt, &self.text, &reason),
        })]
    }
}
