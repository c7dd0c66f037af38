//! Meta Llama on Bedrock: `prompt`, `max_gen_len`, `temperature`, `top_p`, answered with
//! `generation` and token counts, to and from Converse.
//!
//! Extra keys: refused, as Bedrock's Llama schema refuses them; Llama 3.2's `images` is refused
//! by name (a raw prompt gives the images no turn to belong to).

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlockDelta, ConverseStreamOutput, StopReason, SystemContentBlock,
};
use serde_json::{Value, json};

use super::body::Fields;
use super::stream::{NativeEncoder, Totals};
use super::{ConverseParts, Dialect, Invocation, inference, prompt};
use crate::providers::ProviderError;

pub(super) fn parse(root: &Value) -> Result<Invocation, ProviderError> {
    let mut f = Fields::of(root, "#")?;
    let path = f.path_of("prompt");
    let prompt = f.req_str("prompt")?;
    let max_gen_len = f.i32("max_gen_len")?;
    let temperature = f.f32("temperature")?;
    let top_p = f.f32("top_p")?;
    f.refuse(
        &["images"],
        "Llama image input has no Converse turn to belong to; send the images through Converse",
    )?;
    f.finish()?;
    let turns = prompt::split(prompt, &path)?;
    Ok(Invocation {
        dialect: Dialect::Llama,
        parts: ConverseParts {
            messages: turns.messages,
            system: turns
                .system
                .into_iter()
                .map(SystemContentBlock::Text)
                .collect(),
            inference_config: inference(max_gen_len, temperature, top_p, None),
            tool_config: None,
            additional_model_request_fields: None,
        },
    })
}

/// Llama knows two stops: the model's own (`stop`) and the token limit (`length`).
fn stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => "length",
        _ => "stop",
    }
}

pub(super) fn render(out: &ConverseOutput) -> Value {
    json!({
        "generation": super::output_text(out),
        "prompt_token_count": out.usage.input_tokens,
        "generation_token_count": out.usage.output_tokens,
        "stop_reason": stop_reason(&out.stop_reason),
    })
}

/// One chunk per text delta; the prompt's token count is known only at the end, so it comes
/// in the closing chunk with the stop reason.
pub(super) struct Encoder;

impl NativeEncoder for Encoder {
    fn event(&mut self, event: &ConverseStreamOutput, totals: &Totals) -> Vec<Value> {
        match event {
            ConverseStreamOutput::ContentBlockDelta(e) => match &e.delta {
                ContentBlockDelta::Text(text) => vec![json!({
                    "generation": text,
                    "prompt_token_count": null,
                    "generation_token_count": totals.output_tokens(),
                    "stop_reason": null,
                })],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        vec![json!({
            "generation": "",
            "prompt_token_count": totals.input_tokens(),
            "generation_token_count": totals.output_tokens(),
            "stop_reason": stop_reason(&totals.stop()),
        })]
    }
}
