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

/// A tool call that started while another was still receiving its arguments: Converse streams
/// one block at a time, so it is held, whole, until the open block closes.
#[derive(Debug)]
struct Held {
    position: u64,
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    open: Option<Open>,
    /// The open tool call's arguments so far, to tell whether they are complete.
    open_arguments: String,
    /// Calls interleaved with the open one, in the order they started.
    held: Vec<Held>,
    next_index: i32,
    /// OpenAI tool-call index → Converse block index.
    tools: HashMap<u64, i32>,
    stopped: bool,
    usage: Option<TokenUsage>,
    done: bool,
}

impl Decoder {
    /// Closes the open block, then streams the held tool calls, each as a whole block.
    fn close(&mut self, out: &mut Vec<ConverseStreamOutput>) {
        if let Some(open) = self.open.take() {
            let index = match open {
                Open::Text(i) | Open::Reasoning(i) | Open::Tool(_, i) => i,
            };
            out.push(events::block_stop(index));
            self.open_arguments.clear();
        }
        for call in std::mem::take(&mut self.held) {
            let index = self.next_index;
            self.next_index += 1;
            self.tools.insert(call.position, index);
            out.push(events::tool_start(index, call.id, call.name));
            if !call.arguments.is_empty() {
                out.push(events::tool_input(index, call.arguments));
            }
            out.push(events::block_stop(index));
        }
    }

    /// Whether the open block is a tool call whose arguments are not yet a whole JSON document
    /// (more deltas for it may follow another call's).
    fn open_call_unfinished(&self) -> bool {
        matches!(self.open, Some(Open::Tool(..)))
            && serde_json::from_str::<serde::de::IgnoredAny>(&self.open_arguments).is_err()
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
        // Some compatible servers omit `index`: a new id then means a new call, no id the latest.
        let position = match call["index"].as_u64() {
            Some(i) => i,
            None => match (call["id"].as_str(), self.held.last(), self.open) {
                (None, Some(held), _) => held.position,
                (None, None, Some(Open::Tool(p, _))) => p,
                _ => u64::MAX - (self.tools.len() + self.held.len()) as u64,
            },
        };
        let arguments = call["function"]["arguments"]
            .as_str()
            .filter(|a| !a.is_empty());
        if let Some(Open::Tool(open, index)) = self.open
            && open == position
        {
            if let Some(args) = arguments {
                self.open_arguments.push_str(args);
                out.push(events::tool_input(index, args.to_owned()));
            }
            return Ok(());
        }
        if let Some(held) = self.held.iter_mut().find(|h| h.position == position) {
            held.arguments.push_str(arguments.unwrap_or_default());
            return Ok(());
        }
        if self.tools.contains_key(&position) {
            // Arguments for a call whose block was already closed (its arguments looked whole).
            return Err(malformed_upstream(
                NAME,
                "tool call arguments continued after the call's arguments were complete",
            ));
        }
        let id = call["id"]
            .as_str()
            .map_or_else(|| format!("call_{position}"), str::to_owned);
        let name = call["function"]["name"]
            .as_str()
            .ok_or_else(|| malformed_upstream(NAME, "a streamed tool call without a name"))?
            .to_owned();
        if self.open_call_unfinished() || !self.held.is_empty() {
            self.held.push(Held {
                position,
                id,
                name,
                arguments: arguments.unwrap_or_default().to_owned(),
            });
            return Ok(());
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(Open::Tool(position, index));
        self.tools.insert(position, index);
        out.push(events::tool_start(index, id, name));
        if let Some(args) = arguments {
            self.open_arguments.push_str(args);
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
        if delta["function_call"].is_object() {
            // The deprecated single call: one call at position 0, named in its first chunk.
            let mut call = serde_json::json!({ "index": 0, "function": delta["function_call"] });
            if delta["function_call"]["name"].is_string() {
                call["id"] = Value::from(response::LEGACY_CALL_ID);
            }
            self.tool_delta(&call, &mut out)?;
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
