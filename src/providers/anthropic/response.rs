//! A Messages API answer → Converse output.

use aws_smithy_types::Blob;
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ReasoningContentBlock, ReasoningTextBlock, StopReason, TokenUsage, ToolUseBlock,
};
use serde_json::Value;

use super::NAME;
use crate::providers::ProviderError;
use crate::providers::vocab::{self, malformed_upstream};

/// Anthropic's `stop_reason` as a Converse stop reason.
pub fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "tool_use" => StopReason::ToolUse,
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::ContentFiltered,
        // end_turn, and pause_turn (a server tool paused a long turn: the turn ended for now).
        _ => StopReason::EndTurn,
    }
}

fn count(v: &Value) -> Option<i32> {
    v.as_i64().map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Anthropic's usage; its `input_tokens` already excludes cached tokens, as Bedrock's does.
pub fn usage(u: &Value) -> TokenUsage {
    vocab::usage(
        count(&u["input_tokens"]).unwrap_or(0),
        count(&u["output_tokens"]).unwrap_or(0),
        count(&u["cache_read_input_tokens"]).filter(|n| *n > 0),
        count(&u["cache_creation_input_tokens"]).filter(|n| *n > 0),
    )
}

pub fn output(body: &[u8], latency_ms: i64) -> Result<ConverseOutput, ProviderError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| malformed_upstream(NAME, e.to_string()))?;
    let Some(blocks) = v["content"].as_array() else {
        return Err(malformed_upstream(NAME, "the answer has no content"));
    };
    let mut content = Vec::new();
    for b in blocks {
        let text = |field: &str| b[field].as_str().unwrap_or_default().to_owned();
        content.push(match b["type"].as_str().unwrap_or_default() {
            "text" => ContentBlock::Text(text("text")),
            "tool_use" => ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: text("id"),
                name: text("name"),
                input: vocab::to_document(&b["input"]),
                r#type: None,
            }),
            "thinking" => ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
                ReasoningTextBlock {
                    text: text("thinking"),
                    signature: b["signature"].as_str().map(str::to_owned),
                },
            )),
            "redacted_thinking" => ContentBlock::ReasoningContent(
                ReasoningContentBlock::RedactedContent(Blob::new(text("data").into_bytes())),
            ),
            other => {
                return Err(malformed_upstream(
                    NAME,
                    format!("content of type {other:?} has no Converse equivalent"),
                ));
            }
        });
    }
    let stop = stop_reason(v["stop_reason"].as_str().unwrap_or("end_turn"));
    Ok(vocab::output(
        content,
        stop,
        usage(&v["usage"]),
        latency_ms,
        None,
    ))
}
