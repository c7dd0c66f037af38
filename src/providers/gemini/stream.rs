//! Gemini SSE chunks (each a whole `GenerateContentResponse`) → Converse stream events.

use quarry_bedrock_runtime::types::{ConverseStreamOutput, StopReason, TokenUsage};
use serde_json::Value;

use super::response::{self, Part};
use super::{NAME, upstream_error};
use crate::providers::api::{SseEvent, StreamDecoder};
use crate::providers::vocab::{self, events, malformed_upstream};
use crate::providers::{ErrorKind, ProviderError};

/// The content block being streamed (function calls arrive whole, so they never stay open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(i32),
    /// A reasoning block, and whether it already has its signature.
    Reasoning(i32, bool),
}

#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    open: Option<Open>,
    next_index: i32,
    /// Function calls so far: the position of the next one, for generated ids.
    calls: usize,
    finish_reason: Option<String>,
    /// The prompt was blocked (`promptFeedback.blockReason` with no candidate).
    blocked: bool,
    /// The latest `usageMetadata` (Gemini repeats it, growing, on chunks).
    usage: Option<TokenUsage>,
}

impl Decoder {
    fn close(&mut self, out: &mut Vec<ConverseStreamOutput>) {
        if let Some(Open::Text(i) | Open::Reasoning(i, _)) = self.open.take() {
            out.push(events::block_stop(i));
        }
    }

    fn new_index(&mut self) -> i32 {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    /// A signature Gemini put on a text or function call part, as a block of its own.
    fn signature_block(&mut self, signature: &str, out: &mut Vec<ConverseStreamOutput>) {
        self.close(out);
        let index = self.new_index();
        out.push(events::reasoning_signature(index, signature.to_owned()));
        out.push(events::block_stop(index));
    }

    fn part(&mut self, part: Part<'_>, out: &mut Vec<ConverseStreamOutput>) {
        match part {
            Part::Thought { text, signature } => {
                if text.is_empty() && signature.is_none() {
                    return;
                }
                let index = match self.open {
                    Some(Open::Reasoning(i, false)) => i,
                    _ => {
                        self.close(out);
                        self.new_index()
                    }
                };
                if !text.is_empty() {
                    out.push(events::reasoning_text(index, text.to_owned()));
                }
                if let Some(signature) = signature {
                    out.push(events::reasoning_signature(index, signature.to_owned()));
                }
                self.open = Some(Open::Reasoning(index, signature.is_some()));
            }
            Part::Text { text, signature } => {
                if let Some(signature) = signature {
                    self.signature_block(signature, out);
                }
                if text.is_empty() {
                    return;
                }
                let index = match self.open {
                    Some(Open::Text(i)) => i,
                    _ => {
                        self.close(out);
                        let i = self.new_index();
                        self.open = Some(Open::Text(i));
                        i
                    }
                };
                out.push(events::text(index, text.to_owned()));
            }
            Part::Call {
                id,
                name,
                args,
                signature,
            } => {
                self.close(out);
                if let Some(signature) = signature {
                    self.signature_block(signature, out);
                }
                let index = self.new_index();
                let id = id.map_or_else(|| response::generated_id(name, self.calls), str::to_owned);
                self.calls += 1;
                out.push(events::tool_start(index, id, name.to_owned()));
                out.push(events::tool_input(index, args.to_string()));
                out.push(events::block_stop(index));
            }
        }
    }
}

impl StreamDecoder for Decoder {
    fn event(&mut self, event: SseEvent) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| malformed_upstream(NAME, format!("a stream chunk is not JSON: {e}")))?;
        if let Some(error) = upstream_error(&chunk) {
            return Err(error);
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(events::message_start());
        }
        if chunk["usageMetadata"].is_object() {
            self.usage = Some(response::usage(&chunk["usageMetadata"]));
        }
        let candidate = &chunk["candidates"][0];
        if candidate.is_null() && chunk["promptFeedback"]["blockReason"].is_string() {
            self.blocked = true;
        }
        for part in candidate["content"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            self.part(response::part(part)?, &mut out);
        }
        if let Some(reason) = candidate["finishReason"].as_str() {
            self.finish_reason = Some(reason.to_owned());
        }
        Ok(out)
    }

    /// Gemini's stream has no end marker: the body ending after a finish reason (or a blocked
    /// prompt) is the end; ending before one is a cut stream.
    fn finish(&mut self, latency_ms: i64) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        if self.finish_reason.is_none() && !self.blocked {
            return Err(ProviderError::new(
                ErrorKind::ModelStreamError,
                format!("the stream from provider '{NAME}' ended before it finished"),
            ));
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(events::message_start());
        }
        self.close(&mut out);
        if self.next_index == 0 {
            // One empty text block, as a whole answer with no content has.
            let index = self.new_index();
            out.push(events::text(index, String::new()));
            out.push(events::block_stop(index));
        }
        let stop = match &self.finish_reason {
            Some(reason) => response::stop_reason(reason, self.calls > 0),
            None => StopReason::ContentFiltered,
        };
        out.push(events::message_stop(stop, None));
        let usage = self
            .usage
            .take()
            .unwrap_or_else(|| vocab::usage(0, 0, None, None));
        out.push(events::metadata(usage, latency_ms));
        Ok(out)
    }
}
