//! InvokeModel bodies of each Bedrock model family, translated to and from the Converse vocabulary.
//!
//! Table of contents:
//! - this file: [`Family`] (detected from the model id), [`Dialect`] (which body shape a request
//!   used, so the answer comes back in the same one), [`ConverseParts`], [`Invocation`],
//!   [`ResponseContext`], and the entry points [`parse_invoke_request`],
//!   [`Dialect::render_response`] and [`Dialect::stream_encoder`];
//! - `stream`: [`FamilyStreamEncoder`], the per-call streaming encoder all families share;
//! - `body`: field-by-field reading with Bedrock's error wording, JSON ↔ `Document`;
//! - `prompt`: chat-template prompts (Llama 3, `[INST]`) split back into turns;
//! - one file per family: `anthropic` (Messages and legacy Text Completions), `llama`,
//!   `mistral` (completion and chat), `titan`, `nova`, `cohere` (Command R chat and legacy
//!   Command generate).
//!
//! Every field of a body is either carried into Converse or refused by name: unknown keys are
//! refused as Bedrock's schema validation refuses them (`extraneous key [..] is not permitted`),
//! and known model-specific knobs Converse has no member for (`top_k`, `thinking`, Cohere's `k`…)
//! travel in `additional_model_request_fields`, exactly where a Converse caller would put them.

mod anthropic;
mod body;
mod cohere;
mod llama;
mod mistral;
mod nova;
mod prompt;
mod stream;
mod titan;

#[cfg(test)]
mod tests;

use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_types::Document;
use quarry_bedrock_runtime::operation::converse::{ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::types::{
    ContentBlock, ConversationRole, ImageFormat, InferenceConfiguration, Message,
    SystemContentBlock, ToolConfiguration,
};

use crate::providers::ProviderError;

pub use self::stream::FamilyStreamEncoder;

/// A Bedrock model family whose InvokeModel body the gateway translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `anthropic.*`: Anthropic Messages (or legacy Text Completions) on Bedrock.
    Anthropic,
    /// `meta.*`: Llama prompt completion.
    Llama,
    /// `mistral.*`: Mistral prompt completion, or chat completion for Mistral Large.
    Mistral,
    /// `amazon.titan-text-*`: Titan Text.
    Titan,
    /// `amazon.nova-*` (the text models): Nova `messages-v1`.
    Nova,
    /// `cohere.command-*`: Command R chat, or legacy Command generate.
    Cohere,
}

/// Cross-region inference-profile prefixes (`us.anthropic.…`).
const REGION_PREFIXES: [&str; 8] = ["us", "us-gov", "eu", "apac", "global", "ca", "jp", "au"];

impl Family {
    /// Every family, for tests and listings.
    pub const ALL: [Family; 6] = [
        Self::Anthropic,
        Self::Llama,
        Self::Mistral,
        Self::Titan,
        Self::Nova,
        Self::Cohere,
    ];

    /// The family's name, as in the model id's provider part.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::Llama => "meta",
            Self::Mistral => "mistral",
            Self::Titan => "amazon.titan-text",
            Self::Nova => "amazon.nova",
            Self::Cohere => "cohere.command",
        }
    }

    /// The family of a model id: a plain id, a cross-region profile id (`us.`, `eu.`, `apac.`,
    /// `global.`…), a foundation-model or inference-profile ARN, possibly still URL-encoded.
    pub fn detect(model_id: &str) -> Result<Self, ProviderError> {
        let base = base_model_id(model_id).ok_or_else(|| unknown_model(model_id))?;
        let family = if base.starts_with("anthropic.") {
            Self::Anthropic
        } else if base.starts_with("meta.") {
            Self::Llama
        } else if base.starts_with("mistral.") {
            Self::Mistral
        } else if base.starts_with("amazon.titan-text-") || base.starts_with("amazon.titan-tg1") {
            Self::Titan
        } else if base.starts_with("amazon.nova-")
            // Image, video, speech and embedding models share the prefix, not the body.
            && !["canvas", "reel", "sonic", "embed"]
                .iter()
                .any(|other| base.contains(other))
        {
            Self::Nova
        } else if base.starts_with("cohere.command") {
            Self::Cohere
        } else {
            return Err(unknown_model(model_id));
        };
        Ok(family)
    }

    /// Reads an InvokeModel body of this family into Converse parts, remembering its dialect.
    pub fn parse_request(self, body: &[u8]) -> Result<Invocation, ProviderError> {
        let root = body::parse_body(body)?;
        match self {
            Self::Anthropic => anthropic::parse(&root),
            Self::Llama => llama::parse(&root),
            Self::Mistral => mistral::parse(&root),
            Self::Titan => titan::parse(&root),
            Self::Nova => nova::parse(&root),
            Self::Cohere => cohere::parse(&root),
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown_model(model_id: &str) -> ProviderError {
    ProviderError::validation(format!(
        "InvokeModel cannot translate the body of model {model_id}: its family is not one of \
         anthropic., meta., mistral., amazon.titan-text-, amazon.nova-, cohere.command- \
         (use Converse for other models)"
    ))
}

/// The base model id inside any accepted form, lowercased: `us.anthropic.claude-…` and
/// `arn:aws:bedrock:…:inference-profile/us.anthropic.claude-…` both give `anthropic.claude-…`.
/// `None` for ARNs that name no base model (application profiles, provisioned or custom models).
pub fn base_model_id(model_id: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(model_id).decode_utf8_lossy();
    let mut id = decoded.trim().to_ascii_lowercase();
    if id.starts_with("arn:") {
        // arn:partition:bedrock:region:account:type/id — the id itself may hold `:` (`v1:0`).
        let resource = id.splitn(6, ':').nth(5)?;
        let (kind, rest) = resource.split_once('/')?;
        if kind != "foundation-model" && kind != "inference-profile" {
            return None;
        }
        id = rest.to_owned();
    }
    if let Some((prefix, rest)) = id.split_once('.')
        && REGION_PREFIXES.contains(&prefix)
    {
        id = rest.to_owned();
    }
    Some(id)
}

/// Which body shape a request used; the response and stream come back in the same shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialect {
    /// Anthropic Messages (`anthropic_version` + `messages`).
    AnthropicMessages,
    /// Anthropic's legacy Text Completions (`prompt` + `max_tokens_to_sample`).
    AnthropicCompletion,
    /// Llama (`prompt`, `max_gen_len`).
    Llama,
    /// Mistral prompt completion (`prompt`, answered with `outputs`).
    MistralCompletion,
    /// Mistral chat completion (`messages`, answered with `choices`).
    MistralChat,
    /// Titan Text (`inputText`, answered with `results`).
    Titan,
    /// Nova `messages-v1`.
    Nova,
    /// Cohere Command R chat; the request's history and message, which the answer's
    /// `chat_history` repeats.
    CohereChat {
        chat_history: Vec<serde_json::Value>,
        message: String,
    },
    /// Cohere's legacy Command generate; the prompt, which the answer repeats.
    CohereGenerate { prompt: String },
}

impl Dialect {
    /// The family's native InvokeModel response body for a Converse answer.
    ///
    /// Content a dialect has no shape for (a tool call answered to a Llama prompt, say, which the
    /// request could not have asked for) is left out: the dialect's clients could not read it.
    pub fn render_response(&self, out: &ConverseOutput, ctx: &ResponseContext) -> Vec<u8> {
        let value = match self {
            Self::AnthropicMessages => anthropic::render(out, ctx),
            Self::AnthropicCompletion => anthropic::render_completion(out),
            Self::Llama => llama::render(out),
            Self::MistralCompletion => mistral::render_completion(out),
            Self::MistralChat => mistral::render_chat(out),
            Self::Titan => titan::render(out),
            Self::Nova => nova::render(out),
            Self::CohereChat {
                chat_history,
                message,
            } => cohere::render_chat(out, ctx, chat_history, message),
            Self::CohereGenerate { prompt } => cohere::render_generate(out, ctx, prompt),
        };
        body::bytes(&value)
    }

    /// A streaming encoder for one InvokeModelWithResponseStream call in this dialect.
    pub fn stream_encoder(&self, ctx: ResponseContext) -> FamilyStreamEncoder {
        match self {
            Self::AnthropicMessages => FamilyStreamEncoder::new(anthropic::Encoder::new(ctx)),
            Self::AnthropicCompletion => FamilyStreamEncoder::new(anthropic::CompletionEncoder),
            Self::Llama => FamilyStreamEncoder::new(llama::Encoder),
            Self::MistralCompletion => FamilyStreamEncoder::new(mistral::CompletionEncoder),
            Self::MistralChat => FamilyStreamEncoder::new(mistral::ChatEncoder::default()),
            Self::Titan => FamilyStreamEncoder::new(titan::Encoder),
            Self::Nova => FamilyStreamEncoder::new(nova::Encoder::default()),
            Self::CohereChat {
                chat_history,
                message,
            } => FamilyStreamEncoder::new(cohere::ChatEncoder::new(
                ctx,
                chat_history.clone(),
                message.clone(),
            )),
            Self::CohereGenerate { prompt } => {
                FamilyStreamEncoder::new(cohere::GenerateEncoder::new(ctx, prompt.clone()))
            }
        }
    }
}

/// The parts of a Converse request an InvokeModel body carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConverseParts {
    pub messages: Vec<Message>,
    pub system: Vec<SystemContentBlock>,
    pub inference_config: Option<InferenceConfiguration>,
    pub tool_config: Option<ToolConfiguration>,
    /// Model-specific fields Converse has no member for, as a Converse caller would send them.
    pub additional_model_request_fields: Option<Document>,
}

impl ConverseParts {
    /// The Converse request for `model_id`.
    pub fn into_converse_input(self, model_id: impl Into<String>) -> ConverseInput {
        ConverseInput {
            model_id: model_id.into(),
            messages: Some(self.messages),
            system: (!self.system.is_empty()).then_some(self.system),
            inference_config: self.inference_config,
            tool_config: self.tool_config,
            guardrail_config: None,
            additional_model_request_fields: self.additional_model_request_fields,
            prompt_variables: None,
            additional_model_response_field_paths: None,
            request_metadata: None,
            performance_config: None,
            service_tier: None,
            output_config: None,
        }
    }
}

/// A parsed InvokeModel request: what to ask the provider, and how to answer the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub dialect: Dialect,
    pub parts: ConverseParts,
}

/// Detects the family of `model_id` and parses `body` in it.
pub fn parse_invoke_request(model_id: &str, body: &[u8]) -> Result<Invocation, ProviderError> {
    Family::detect(model_id)?.parse_request(body)
}

/// Per-call identity a native answer carries: the model it names and a fresh response id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseContext {
    /// The model id the client called (any form [`Family::detect`] accepts).
    pub model_id: String,
    /// 32 lowercase hex digits; families shape it (`msg_bdrk_…`, a UUID…).
    pub response_id: String,
}

impl ResponseContext {
    /// A context with a fresh, unpredictable response id.
    pub fn new(model_id: impl Into<String>) -> Self {
        Self {
            model_id: model_id.into(),
            response_id: fresh_id(),
        }
    }

    /// The id as a UUID (Cohere's `generation_id`); `reversed` gives a second, distinct one
    /// (Cohere's `response_id`) from the same call.
    pub(crate) fn uuid(&self, reversed: bool) -> String {
        let mut hex: Vec<char> = self
            .response_id
            .chars()
            .chain(std::iter::repeat('0'))
            .take(32)
            .collect();
        if reversed {
            hex.reverse();
        }
        let part = |from: usize, to: usize| hex[from..to].iter().collect::<String>();
        format!(
            "{}-{}-{}-{}-{}",
            part(0, 8),
            part(8, 12),
            part(12, 16),
            part(16, 20),
            part(20, 32)
        )
    }

    /// The model's bare name, as Anthropic answers name it (`claude-3-haiku-20240307`).
    pub(crate) fn bare_model_name(&self) -> String {
        let id = base_model_id(&self.model_id).unwrap_or_else(|| self.model_id.clone());
        let id = id.split_once('.').map_or(id.as_str(), |(_, rest)| rest);
        // Bedrock's version suffix (`-v1:0`, `-v2`) is not part of the model's own name.
        match id.rfind("-v") {
            Some(i) if id[i + 2..].chars().all(|c| c.is_ascii_digit() || c == ':') => {
                id[..i].to_owned()
            }
            _ => id.to_owned(),
        }
    }
}

/// 128 unpredictable bits from the standard library's randomly keyed hasher, a clock and a
/// counter; ids need to be unique, not secret.
fn fresh_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(count);
        h.write_u64(salt);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

// Shared construction helpers for the family files.

pub(crate) fn text_message(role: ConversationRole, text: impl Into<String>) -> Message {
    Message {
        role,
        content: vec![ContentBlock::Text(text.into())],
    }
}

/// Joins adjacent messages of one role: Converse wants turns to alternate, template prompts and
/// chat histories (tool results after a tool call, say) do not always.
pub(crate) fn merge_adjacent(messages: Vec<Message>) -> Vec<Message> {
    let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
    for message in messages {
        match merged.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(message.content),
            _ => merged.push(message),
        }
    }
    merged
}

/// An inference config, or none when the body set nothing.
pub(crate) fn inference(
    max_tokens: Option<i32>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stop_sequences: Option<Vec<String>>,
) -> Option<InferenceConfiguration> {
    if max_tokens.is_none() && temperature.is_none() && top_p.is_none() && stop_sequences.is_none()
    {
        return None;
    }
    Some(InferenceConfiguration {
        max_tokens,
        temperature,
        top_p,
        stop_sequences,
    })
}

/// An image format from a MIME type (`image/png`) or a bare name (`png`).
pub(crate) fn image_format(name: &str) -> Option<ImageFormat> {
    match name.trim_start_matches("image/") {
        "png" => Some(ImageFormat::Png),
        "jpeg" | "jpg" => Some(ImageFormat::Jpeg),
        "gif" => Some(ImageFormat::Gif),
        "webp" => Some(ImageFormat::Webp),
        _ => None,
    }
}

/// The text of a Converse answer, all text blocks joined.
pub(crate) fn output_text(out: &ConverseOutput) -> String {
    let quarry_bedrock_runtime::types::ConverseOutput::Message(message) = &out.output;
    message
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The blocks of a Converse answer.
pub(crate) fn output_blocks(out: &ConverseOutput) -> &[ContentBlock] {
    let quarry_bedrock_runtime::types::ConverseOutput::Message(message) = &out.output;
    &message.content
}
