//! Amazon Titan Text on Bedrock: `inputText` and `textGenerationConfig`, answered with
//! `results`, to and from Converse.
//!
//! Extra keys: refused, as Bedrock's Titan schema refuses them. `inputText` is one user turn,
//! verbatim (Titan's `User:`/`Bot:` convention is plain text to the model).

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlockDelta, ConversationRole, ConverseStreamOutput, StopReason,
};
use serde_json::{Value, json};

use super::body::Fields;
use super::stream::{NativeEncoder, Totals};
use super::{ConverseParts, Dialect, Invocation, inference, text_message};
use crate::providers::ProviderError;

pub(super) fn parse(root: &Value) -> Result<Invocation, ProviderError> {
    let mut f = Fields::of(root, "#")?;
    let input_text = f.req_str("inputText")?;
    let inference_config = match f.object("textGenerationConfig")? {
        None => None,
        Some(mut c) => {
            let max_tokens = c.i32("maxTokenCount")?;
            let temperature = c.f32("temperature")?;
            let top_p = c.f32("topP")?;
            let stop_sequences = c.strings("stopSequences")?;
            c.finish()?;
            inference(max_tokens, temperature, top_p, stop_sequences)
        }
    };
    f.finish()?;
    Ok(Invocation {
        dialect: Dialect::Titan,
        parts: ConverseParts {
            messages: vec![text_message(ConversationRole::User, input_text)],
            inference_config,
            ..ConverseParts::default()
        },
    })
}

fn completion_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => "LENGTH",
        StopReason::StopSequence => "STOP_CRITERIA_MET",
        StopReason::ContentFiltered | StopReason::GuardrailIntervened => "CONTENT_FILTERED",
        _ => "FINISH",
    }
}

pub(super) fn render(out: &ConverseOutput) -> Value {
    json!({
        "inputTextTokenCount": out.usage.input_tokens,
        "results": [{
            "tokenCount": out.usage.output_tokens,
            "outputText": super::output_text(out),
            "completionReason": completion_reason(&out.stop_reason),
        }],
    })
}

/// One chunk per text delta with the running token count; the input count and the reason come
/// in the closing chunk, once Converse has reported them.
pub(super) struct Encoder;

impl NativeEncoder for Encoder {
    fn event(&mut self, event: &ConverseStreamOutput, totals: &Totals) -> Vec<Value> {
        match event {
            ConverseStreamOutput::ContentBlockDelta(e) => match &e.delta {
                ContentBlockDelta::Text(text) => vec![json!({
                    "outputText": text,
                    "index": 0,
                    "totalOutputTextTokenCount": totals.output_tokens(),
                    "completionReason": null,
                    "inputTextTokenCount": null,
                })],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn close(&mut self, totals: &Totals) -> Vec<Value> {
        vec![json!({
            "outputText": "",
            "index": 0,
            "totalOutputTextTokenCount": totals.output_tokens(),
            "completionReason": completion_reason(&totals.stop()),
            "inputTextTokenCount": totals.input_tokens(),
        })]
    }
}
