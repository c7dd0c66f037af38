//! Chat Completions SSE chunks → Converse stream events.

use std::collections::HashMap;

use quarry_bedrock_runtime::types::{ConverseStreamOutput, StopReason, TokenUsage};
use serde_json::Value;

use super::{NAME, error_kind, response};
use crate::providers::api::{SseEvent, StreamDecoder};
use crate::providers::vocab::{events, malformed_upstream};
use crate::providers::{ErrorKind, ProviderError};

/// The content block being streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(i32),
    Reasoning(i32),
    /// A tool call: OpenAI's `tool_calls[].index`, and the Converse block index.
    Tool(u64, i32),
}

#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    open: Option<Open>,
    next_index: i32,
    /// OpenAI tool-call index → Converse block index.
    tools: HashMap<u64, i32>,
    stopped: bool,
    usage: Option<TokenUsage>,
    done: bool,
}

impl Decoder {
    fn close(&mut self, out: &mut Vec<ConverseStreamOutput>) {
        if let Some(open) = self.open.take() {
            let index = match open {
                Open::Text(i) | Open::Reasoning(i) | Open::Tool(_, i) => i,
            };
            out.push(events::block_stop(index));
        }
    }

    /// Opens a new block unless `want` says the open one continues; returns its index.
    fn ensure(
        &mut self,
        same: impl Fn(Open) -> bool,
        make: impl Fn(i32) -> Open,
        out: &mut Vec<ConverseStreamOutput>,
    ) -> i32 {
        if let Some(open) = self.open
            && same(open)
        {
            return match open {
                Open::Text(i) | Open::Reasoning(i) | Open::Tool(_, i) => i,
            };
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(make(index));
        index
    }

    fn tool_delta(
        &mut self,
        call: &Value,
        out: &mut Vec<ConverseStreamOutput>,
    ) -> Result<(), ProviderError> {
        // Some compatible servers omit `index`: a new id then means a new call.
        let position = match call["index"].as_u64() {
            Some(i) => i,
            None => match (call["id"].as_str(), self.open) {
                (None, Some(Open::Tool(p, _))) => p,
                _ => u64::MAX - self.tools.len() as u64,
            },
        };
        let index = match self.tools.get(&position) {
            Some(index) => {
                if self.open != Some(Open::Tool(position, *index)) {
                    // Arguments for a call already closed: Converse streams one block at a time.
                    return Err(malformed_upstream(
                        NAME,
                        "tool call arguments interleaved across calls",
                    ));
                }
                *index
            }
            None => {
                let id = call["id"]
                    .as_str()
                    .map_or_else(|| format!("call_{position}"), str::to_owned);
                let name = call["function"]["name"]
                    .as_str()
                    .ok_or_else(|| malformed_upstream(NAME, "a streamed tool call without a name"))?
                    .to_owned();
                self.close(out);
                let index = self.next_index;
                self.next_index += 1;
                self.open = Some(Open::Tool(position, index));
                self.tools.insert(position, index);
                out.push(events::tool_start(index, id, name));
                index
            }
        };
        if let Some(args) = call["function"]["arguments"]
            .as_str()
            .filter(|a| !a.is_empty())
        {
            out.push(events::tool_input(index, args.to_owned()));
        }
        Ok(())
    }
}

impl StreamDecoder for Decoder {
    fn event(&mut self, event: SseEvent) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| malformed_upstream(NAME, format!("a stream chunk is not JSON: {e}")))?;
        if chunk["error"].is_object() {
            let message = chunk["error"]["message"].as_str().unwrap_or("stream error");
            return Err(ProviderError::new(
                error_kind(&chunk["error"]),
                message.to_owned(),
            ));
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(events::message_start());
        }
        let choice = &chunk["choices"][0];
        let delta = &choice["delta"];
        if let Some(reasoning) = response::reasoning_of(delta) {
            let index = self.ensure(
                |o| matches!(o, Open::Reasoning(_)),
                Open::Reasoning,
                &mut out,
            );
            out.push(events::reasoning_text(index, reasoning.to_owned()));
        }
        for text in [delta["content"].as_str(), delta["refusal"].as_str()]
            .into_iter()
            .flatten()
        {
            if !text.is_empty() {
                let index = self.ensure(|o| matches!(o, Open::Text(_)), Open::Text, &mut out);
                out.push(events::text(index, text.to_owned()));
            }
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            self.tool_delta(call, &mut out)?;
        }
        if let Some(finish) = choice["finish_reason"].as_str() {
            self.close(&mut out);
            if !self.stopped {
                self.stopped = true;
                let mut stop = response::stop_reason(finish);
                // A forced tool choice ends with "stop", yet the answer is a tool call.
                if stop == StopReason::EndTurn && !self.tools.is_empty() {
                    stop = StopReason::ToolUse;
                }
                out.push(events::message_stop(stop, None));
            }
        }
        if chunk["usage"].is_object() {
            self.usage = Some(response::usage(&chunk["usage"]));
        }
        Ok(out)
    }

    fn finish(&mut self, latency_ms: i64) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        if !self.done && !self.stopped {
            return Err(ProviderError::new(
                ErrorKind::ModelStreamError,
                format!("the stream from provider '{NAME}' ended before it finished"),
            ));
        }
        let mut out = Vec::new();
        if !self.started {
            out.push(events::message_start());
        }
        self.close(&mut out);
        if !self.stopped {
            self.stopped = true;
            out.push(events::message_stop(StopReason::EndTurn, None));
        }
        // A server that ignores `include_usage` reports none: zero, not a guess.
        let usage = self
            .usage
            .take()
            .unwrap_or_else(|| crate::providers::vocab::usage(0, 0, None, None));
        out.push(events::metadata(usage, latency_ms));
        Ok(out)
    }
}
