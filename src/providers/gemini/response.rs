//! A Gemini `GenerateContentResponse` → Converse output, and the pieces the stream decoder shares.

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ReasoningContentBlock, ReasoningTextBlock, StopReason, TokenUsage, ToolUseBlock,
};
use serde_json::Value;

use super::{NAME, upstream_error};
use crate::providers::ProviderError;
use crate::providers::vocab::{self, malformed_upstream};

/// `finishReason` as a Converse stop reason; `called` says whether the answer called a function.
pub fn stop_reason(finish_reason: &str, called: bool) -> StopReason {
    match finish_reason {
        "STOP" if called => StopReason::ToolUse,
        "MAX_TOKENS" => StopReason::MaxTokens,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => StopReason::ContentFiltered,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" => StopReason::MalformedToolUse,
        // STOP covers a stop sequence too: Gemini does not say which.
        _ => StopReason::EndTurn,
    }
}

/// `usageMetadata` as Converse usage. Gemini omits zero counts; its prompt count includes the
/// cached tokens (and tool-use prompt tokens are prompt too), Bedrock's input count excludes them.
pub fn usage(meta: &Value) -> TokenUsage {
    let n = |key: &str| i32::try_from(meta[key].as_i64().unwrap_or(0).max(0)).unwrap_or(i32::MAX);
    let cached = Some(n("cachedContentTokenCount")).filter(|c| *c > 0);
    let input = n("promptTokenCount")
        .saturating_add(n("toolUsePromptTokenCount"))
        .saturating_sub(cached.unwrap_or(0))
        .max(0);
    let output = n("candidatesTokenCount").saturating_add(n("thoughtsTokenCount"));
    vocab::usage(input, output, cached, None)
}

/// The id of a function call Gemini gave none: `tooluse_<name>_<position>`, with characters a
/// Converse tool use id cannot hold (Gemini names may have `.` and `:`) as `_`.
pub fn generated_id(name: &str, position: usize) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("tooluse_{name}_{position}")
}

/// One response part, in the shapes the gateway reads.
pub enum Part<'a> {
    /// A `thought: true` part.
    Thought {
        text: &'a str,
        signature: Option<&'a str>,
    },
    /// Answer text (possibly empty, when it only carries a signature).
    Text {
        text: &'a str,
        signature: Option<&'a str>,
    },
    /// A whole function call.
    Call {
        id: Option<&'a str>,
        name: &'a str,
        args: Value,
        signature: Option<&'a str>,
    },
}

pub fn part(v: &Value) -> Result<Part<'_>, ProviderError> {
    let signature = v["thoughtSignature"].as_str();
    if let Some(call) = v.get("functionCall").filter(|c| c.is_object()) {
        let name = call["name"]
            .as_str()
            .ok_or_else(|| malformed_upstream(NAME, "a functionCall without a name"))?;
        let args = match &call["args"] {
            Value::Null => Value::Object(serde_json::Map::new()),
            args @ Value::Object(_) => args.clone(),
            _ => {
                return Err(malformed_upstream(
                    NAME,
                    "functionCall args are not an object",
                ));
            }
        };
        return Ok(Part::Call {
            id: call["id"].as_str().filter(|id| !id.is_empty()),
            name,
            args,
            signature,
        });
    }
    let text = match &v["text"] {
        Value::String(text) => text.as_str(),
        // A part holding a signature only.
        Value::Null if signature.is_some() => "",
        _ => {
            let keys: Vec<&str> = v
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(malformed_upstream(
                NAME,
                format!(
                    "a part Converse cannot express (fields: {})",
                    keys.join(", ")
                ),
            ));
        }
    };
    Ok(if v["thought"].as_bool() == Some(true) {
        Part::Thought { text, signature }
    } else {
        Part::Text { text, signature }
    })
}

pub fn reasoning(text: &str, signature: Option<&str>) -> ContentBlock {
    ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(ReasoningTextBlock {
        text: text.to_owned(),
        signature: signature.map(str::to_owned),
    }))
}

pub fn output(body: &[u8], latency_ms: i64) -> Result<ConverseOutput, ProviderError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| malformed_upstream(NAME, e.to_string()))?;
    if let Some(error) = upstream_error(&v) {
        return Err(error);
    }
    let usage = usage(&v["usageMetadata"]);
    let Some(candidate) = v["candidates"].get(0) else {
        if v["promptFeedback"]["blockReason"].is_string() {
            return Ok(vocab::output(
                vec![ContentBlock::Text(String::new())],
                StopReason::ContentFiltered,
                usage,
                latency_ms,
                None,
            ));
        }
        return Err(malformed_upstream(NAME, "the answer has no candidates"));
    };
    let mut content = Vec::new();
    let mut calls = 0;
    for p in candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match part(p)? {
            Part::Thought { text, signature } => {
                if !text.is_empty() || signature.is_some() {
                    content.push(reasoning(text, signature));
                }
            }
            Part::Text { text, signature } => {
                if let Some(signature) = signature {
                    content.push(reasoning("", Some(signature)));
                }
                if !text.is_empty() {
                    content.push(ContentBlock::Text(text.to_owned()));
                }
            }
            Part::Call {
                id,
                name,
                args,
                signature,
            } => {
                if let Some(signature) = signature {
                    content.push(reasoning("", Some(signature)));
                }
                content.push(ContentBlock::ToolUse(ToolUseBlock {
                    tool_use_id: id.map_or_else(|| generated_id(name, calls), str::to_owned),
                    name: name.to_owned(),
                    input: vocab::to_document(&args),
                    r#type: None,
                }));
                calls += 1;
            }
        }
    }
    if content.is_empty() {
        content.push(ContentBlock::Text(String::new()));
    }
    let stop = stop_reason(
        candidate["finishReason"].as_str().unwrap_or("STOP"),
        calls > 0,
    );
    Ok(vocab::output(content, stop, usage, latency_ms, None))
}
