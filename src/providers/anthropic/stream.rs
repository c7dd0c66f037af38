//! Messages API SSE events → Converse stream events.

use std::collections::HashMap;

use quarry_bedrock_runtime::types::{ConverseStreamOutput, StopReason};
use serde_json::{Map, Value};

use super::{NAME, response, stream_error_kind};
use crate::providers::api::{SseEvent, StreamDecoder};
use crate::providers::vocab::{events, malformed_upstream};
use crate::providers::{ErrorKind, ProviderError};

/// What an open content block is, to open it in Converse when no delta did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    ToolUse,
    Redacted,
}

#[derive(Debug)]
struct Block {
    /// Its Converse index: blocks are numbered 0, 1, 2… in the order they start.
    index: i32,
    kind: Kind,
    /// Whether a Converse event for it was emitted (a text or reasoning block opens with its first
    /// delta; a tool block with its start but it still owes its input).
    fed: bool,
}

#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    /// Open blocks by Anthropic's index.
    open: HashMap<i64, Block>,
    next: i32,
    /// `message_start`'s usage, overwritten field by field by each `message_delta`'s (Anthropic
    /// reports cumulative counts there, so the last one wins).
    usage: Map<String, Value>,
    stop: Option<StopReason>,
    stop_sequence: Option<String>,
    done: bool,
}

fn upstream_index(v: &Value) -> Result<i64, ProviderError> {
    v["index"]
        .as_i64()
        .ok_or_else(|| malformed_upstream(NAME, "a content block event without an index"))
}

/// A citation delta, in Converse's terms.
fn citation_delta(index: i32, citation: &Value) -> ConverseStreamOutput {
    let parts = response::citation_parts(citation);
    events::citation(
        index,
        parts.title,
        parts.source,
        parts.cited_text,
        parts.location,
    )
}

impl Decoder {
    fn block(&mut self, v: &Value) -> Result<&mut Block, ProviderError> {
        let i = upstream_index(v)?;
        self.open.get_mut(&i).ok_or_else(|| {
            malformed_upstream(
                NAME,
                format!("an event for content block {i}, which is not open"),
            )
        })
    }

    fn start(
        &mut self,
        v: &Value,
        out: &mut Vec<ConverseStreamOutput>,
    ) -> Result<(), ProviderError> {
        let i = upstream_index(v)?;
        let b = &v["content_block"];
        let text = |f: &str| b[f].as_str().unwrap_or_default().to_owned();
        let index = self.next;
        let (kind, fed) = match b["type"].as_str().unwrap_or_default() {
            "text" => {
                let t = text("text");
                let fed = !t.is_empty();
                if fed {
                    out.push(events::text(index, t));
                }
                (Kind::Text, fed)
            }
            "thinking" => {
                let t = text("thinking");
                let fed = !t.is_empty();
                if fed {
                    out.push(events::reasoning_text(index, t));
                }
                (Kind::Thinking, fed)
            }
            "tool_use" => {
                out.push(events::tool_start(index, text("id"), text("name")));
                // The input arrives as input_json_delta fragments; a start carrying a whole one
                // (none is documented, but it costs nothing) is sent as the first fragment.
                let fed = match &b["input"] {
                    Value::Object(m) if !m.is_empty() => {
                        out.push(events::tool_input(index, b["input"].to_string()));
                        true
                    }
                    _ => false,
                };
                (Kind::ToolUse, fed)
            }
            "redacted_thinking" => {
                out.push(events::reasoning_redacted(index, text("data").into_bytes()));
                (Kind::Redacted, true)
            }
            other => {
                return Err(malformed_upstream(
                    NAME,
                    format!("content of type {other:?} has no Converse equivalent"),
                ));
            }
        };
        self.next += 1;
        self.open.insert(i, Block { index, kind, fed });
        Ok(())
    }

    fn delta(
        &mut self,
        v: &Value,
        out: &mut Vec<ConverseStreamOutput>,
    ) -> Result<(), ProviderError> {
        let block = self.block(v)?;
        let index = block.index;
        let d = &v["delta"];
        let s = |f: &str| d[f].as_str().unwrap_or_default().to_owned();
        match d["type"].as_str().unwrap_or_default() {
            "text_delta" => out.push(events::text(index, s("text"))),
            // Anthropic opens every tool input with an empty fragment; Converse has no use for it.
            "input_json_delta" if s("partial_json").is_empty() => return Ok(()),
            "input_json_delta" => out.push(events::tool_input(index, s("partial_json"))),
            "thinking_delta" => out.push(events::reasoning_text(index, s("thinking"))),
            "signature_delta" => out.push(events::reasoning_signature(index, s("signature"))),
            "citations_delta" => out.push(citation_delta(index, &d["citation"])),
            // Delta types added later: Anthropic's versioning policy lets them appear unannounced.
            _ => return Ok(()),
        }
        block.fed = true;
        Ok(())
    }

    /// Closes a block, first opening it in Converse if nothing did: an empty text or reasoning
    /// delta, or `{}` as the input of a tool called without arguments (what the whole answer says).
    fn stop(block: Block, out: &mut Vec<ConverseStreamOutput>) {
        if !block.fed {
            out.push(match block.kind {
                Kind::Text => events::text(block.index, String::new()),
                Kind::Thinking => events::reasoning_text(block.index, String::new()),
                Kind::ToolUse => events::tool_input(block.index, "{}".to_owned()),
                Kind::Redacted => events::reasoning_redacted(block.index, Vec::new()),
            });
        }
        out.push(events::block_stop(block.index));
    }
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
        if self.done {
            // Nothing follows message_stop; anything that does has no place in the Converse stream.
            return Ok(out);
        }
        if !self.started
            && matches!(
                kind,
                "content_block_start"
                    | "content_block_delta"
                    | "content_block_stop"
                    | "message_delta"
                    | "message_stop"
            )
        {
            return Err(malformed_upstream(
                NAME,
                format!("{kind} before message_start"),
            ));
        }
        match kind {
            "message_start" if !self.started => {
                self.started = true;
                if let Value::Object(usage) = &v["message"]["usage"] {
                    self.usage = usage.clone();
                }
                out.push(events::message_start());
            }
            "content_block_start" => self.start(&v, &mut out)?,
            "content_block_delta" => self.delta(&v, &mut out)?,
            "content_block_stop" => {
                let i = upstream_index(&v)?;
                let block = self.open.remove(&i).ok_or_else(|| {
                    malformed_upstream(NAME, format!("content block {i} stopped but never started"))
                })?;
                Self::stop(block, &mut out);
            }
            "message_delta" => {
                if let Some(reason) = v["delta"]["stop_reason"].as_str() {
                    self.stop = Some(response::stop_reason(reason));
                }
                if let Some(sequence) = v["delta"]["stop_sequence"].as_str() {
                    self.stop_sequence = Some(sequence.to_owned());
                }
                if let Value::Object(usage) = &v["usage"] {
                    for (k, n) in usage.iter().filter(|(_, n)| !n.is_null()) {
                        self.usage.insert(k.clone(), n.clone());
                    }
                }
            }
            "message_stop" => {
                // Blocks left open (none should be) are closed so the sequence stays well formed.
                let mut left: Vec<Block> = self.open.drain().map(|(_, b)| b).collect();
                left.sort_by_key(|b| b.index);
                for block in left {
                    Self::stop(block, &mut out);
                }
                self.done = true;
                out.push(events::message_stop(
                    self.stop.clone().unwrap_or(StopReason::EndTurn),
                    response::stop_fields(self.stop_sequence.as_deref()),
                ));
            }
            "error" => {
                let e = &v["error"];
                return Err(ProviderError::new(
                    stream_error_kind(e["type"].as_str().unwrap_or_default()),
                    e["message"]
                        .as_str()
                        .unwrap_or("the stream reported an error")
                        .to_owned(),
                ));
            }
            // ping, a repeated message_start, and event types added later.
            _ => {}
        }
        Ok(out)
    }

    /// `metadata` comes last, here, because only transport knows the whole call's latency.
    fn finish(&mut self, latency_ms: i64) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
        if !self.done {
            return Err(ProviderError::new(
                ErrorKind::ModelStreamError,
                format!("the stream from provider '{NAME}' ended before message_stop"),
            ));
        }
        Ok(vec![events::metadata(
            response::usage(&Value::Object(self.usage.clone())),
            latency_ms,
        )])
    }
}
