//! Messages API SSE events → Converse stream events.

use quarry_bedrock_runtime::types::{ConverseStreamOutput, StopReason};
use serde_json::Value;

use super::{NAME, error_kind, response};
use crate::providers::api::{SseEvent, StreamDecoder};
use crate::providers::vocab::{events, malformed_upstream};
use crate::providers::{ErrorKind, ProviderError};

#[derive(Debug, Default)]
pub struct Decoder {
    /// Usage as `message_start` reported it, updated by `message_delta`.
    usage: Value,
    stop: Option<StopReason>,
    done: bool,
}

fn index(v: &Value) -> Result<i32, ProviderError> {
    v["index"]
        .as_i64()
        .and_then(|i| i32::try_from(i).ok())
        .ok_or_else(|| malformed_upstream(NAME, "a content block event without an index"))
}

impl StreamDecoder for Decoder {
    fn event(&mut self, event: SseEvent) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        let v: Value = serde_json::from_str(&event.data)
            .map_err(|e| malformed_upstream(NAME, format!("an event is not JSON: {e}")))?;
        let kind = v["type"]
            .as_str()
            .or(event.event.as_deref())
            .unwrap_or_default();
        let mut out = Vec::new();
        match kind {
            "message_start" => {
                self.usage = v["message"]["usage"].clone();
                out.push(events::message_start());
            }
            "content_block_start" => {
                let i = index(&v)?;
                let block = &v["content_block"];
                let text = |f: &str| {
                    block[f]
                        .as_str()
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                };
                match block["type"].as_str().unwrap_or_default() {
                    "text" => out.extend(text("text").map(|t| events::text(i, t))),
                    "thinking" => {
                        out.extend(text("thinking").map(|t| events::reasoning_text(i, t)))
                    }
                    "tool_use" => out.push(events::tool_start(
                        i,
                        text("id").unwrap_or_default(),
                        text("name").unwrap_or_default(),
                    )),
                    "redacted_thinking" => out.push(events::reasoning_redacted(
                        i,
                        text("data").unwrap_or_default().into_bytes(),
                    )),
                    other => {
                        return Err(malformed_upstream(
                            NAME,
                            format!("content of type {other:?} has no Converse equivalent"),
                        ));
                    }
                }
            }
            "content_block_delta" => {
                let i = index(&v)?;
                let d = &v["delta"];
                let s = |f: &str| d[f].as_str().unwrap_or_default().to_owned();
                match d["type"].as_str().unwrap_or_default() {
                    "text_delta" => out.push(events::text(i, s("text"))),
                    "input_json_delta" if !s("partial_json").is_empty() => {
                        out.push(events::tool_input(i, s("partial_json")));
                    }
                    "thinking_delta" => out.push(events::reasoning_text(i, s("thinking"))),
                    "signature_delta" => out.push(events::reasoning_signature(i, s("signature"))),
                    // Empty JSON fragments, and citations (Converse carries them only whole).
                    _ => {}
                }
            }
            "content_block_stop" => out.push(events::block_stop(index(&v)?)),
            "message_delta" => {
                if let Some(reason) = v["delta"]["stop_reason"].as_str() {
                    self.stop = Some(response::stop_reason(reason));
                }
                if let Some(Value::Object(delta)) = v.get("usage") {
                    if let Value::Object(usage) = &mut self.usage {
                        for (k, n) in delta {
                            if !n.is_null() {
                                usage.insert(k.clone(), n.clone());
                            }
                        }
                    } else {
                        self.usage = Value::Object(delta.clone());
                    }
                }
            }
            "message_stop" => {
                self.done = true;
                out.push(events::message_stop(
                    self.stop.clone().unwrap_or(StopReason::EndTurn),
                    None,
                ));
            }
            "error" => {
                let e = &v["error"];
                return Err(ProviderError::new(
                    error_kind(e["type"].as_str().unwrap_or_default()),
                    e["message"].as_str().unwrap_or("stream error").to_owned(),
                ));
            }
            // ping, and event types added later.
            _ => {}
        }
        Ok(out)
    }

    fn finish(&mut self, latency_ms: i64) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        if !self.done {
            return Err(ProviderError::new(
                ErrorKind::ModelStreamError,
                format!("the stream from provider '{NAME}' ended before message_stop"),
            ));
        }
        Ok(vec![events::metadata(
            response::usage(&self.usage),
            latency_ms,
        )])
    }
}
