//! A Chat Completions answer → Converse output.

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ReasoningContentBlock, ReasoningTextBlock, StopReason, TokenUsage, ToolUseBlock,
};
use serde_json::Value;

use super::NAME;
use crate::providers::ProviderError;
use crate::providers::vocab::{self, malformed_upstream};

/// The tool-use id given to a legacy `function_call`, which carries none.
pub const LEGACY_CALL_ID: &str = "call_function";

/// Chat Completions' `finish_reason` as a Converse stop reason.
pub fn stop_reason(finish_reason: &str) -> StopReason {
    match finish_reason {
        "length" => StopReason::MaxTokens,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "content_filter" => StopReason::ContentFiltered,
        // "stop" covers both a natural end and a stop sequence; OpenAI does not say which.
        _ => StopReason::EndTurn,
    }
}

/// `usage` as Converse usage: OpenAI's prompt tokens include the cached ones, Bedrock's input
/// tokens do not.
pub fn usage(usage: &Value) -> TokenUsage {
    let n = |v: &Value| i32::try_from(v.as_i64().unwrap_or(0)).unwrap_or(i32::MAX);
    let prompt = n(&usage["prompt_tokens"]);
    let cached = usage["prompt_tokens_details"]["cached_tokens"]
        .as_i64()
        .filter(|c| *c > 0)
        .map(|c| i32::try_from(c).unwrap_or(i32::MAX));
    vocab::usage(
        prompt.saturating_sub(cached.unwrap_or(0)),
        n(&usage["completion_tokens"]),
        cached,
        None,
    )
}

/// Reasoning text some compatible servers (vLLM, DeepSeek, Ollama) return beside the content.
pub fn reasoning_of(message: &Value) -> Option<&str> {
    message["reasoning_content"]
        .as_str()
        .or_else(|| message["reasoning"].as_str())
        .filter(|r| !r.is_empty())
}

/// A tool call's arguments: a JSON string as OpenAI sends them, or (some compatible servers) the
/// JSON object itself.
pub fn arguments(raw: &Value) -> Result<aws_smithy_types::Document, ProviderError> {
    match raw {
        Value::Null => Ok(vocab::to_document(&serde_json::json!({}))),
        Value::String(s) if s.trim().is_empty() => Ok(vocab::to_document(&serde_json::json!({}))),
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map(|v| vocab::to_document(&v))
            .map_err(|e| {
                malformed_upstream(NAME, format!("tool call arguments are not JSON: {e}"))
            }),
        Value::Object(_) => Ok(vocab::to_document(raw)),
        other => Err(malformed_upstream(
            NAME,
            format!("tool call arguments are {other}, not a JSON object"),
        )),
    }
}

pub fn output(body: &[u8], latency_ms: i64) -> Result<ConverseOutput, ProviderError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| malformed_upstream(NAME, e.to_string()))?;
    let choice = &v["choices"][0];
    let message = &choice["message"];
    if !message.is_object() {
        return Err(malformed_upstream(
            NAME,
            "the answer has no choices[0].message",
        ));
    }
    let mut content = Vec::new();
    if let Some(reasoning) = reasoning_of(message) {
        content.push(ContentBlock::ReasoningContent(
            ReasoningContentBlock::ReasoningText(ReasoningTextBlock {
                text: reasoning.to_owned(),
                signature: None,
            }),
        ));
    }
    if let Some(text) = message["content"].as_str().filter(|t| !t.is_empty()) {
        content.push(ContentBlock::Text(text.to_owned()));
    }
    if let Some(refusal) = message["refusal"].as_str().filter(|t| !t.is_empty()) {
        content.push(ContentBlock::Text(refusal.to_owned()));
    }
    for call in message["tool_calls"].as_array().into_iter().flatten() {
        let (Some(id), Some(name)) = (call["id"].as_str(), call["function"]["name"].as_str())
        else {
            return Err(malformed_upstream(NAME, "a tool call without id or name"));
        };
        content.push(ContentBlock::ToolUse(ToolUseBlock {
            tool_use_id: id.to_owned(),
            name: name.to_owned(),
            input: arguments(&call["function"]["arguments"])?,
            r#type: None,
        }));
    }
    // The deprecated single `function_call` some compatible servers still answer with.
    if let Some(name) = message["function_call"]["name"].as_str() {
        content.push(ContentBlock::ToolUse(ToolUseBlock {
            tool_use_id: LEGACY_CALL_ID.to_owned(),
            name: name.to_owned(),
            input: arguments(&message["function_call"]["arguments"])?,
            r#type: None,
        }));
    }
    let mut stop = stop_reason(choice["finish_reason"].as_str().unwrap_or("stop"));
    // A forced tool choice ends with "stop" on OpenAI and most compatible servers, yet the
    // answer is a tool call: clients run tools on `tool_use`.
    if stop == StopReason::EndTurn
        && content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse(_)))
    {
        stop = StopReason::ToolUse;
    }
    Ok(vocab::output(
        content,
        stop,
        usage(&v["usage"]),
        latency_ms,
        None,
    ))
}
