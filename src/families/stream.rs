//! The streaming side: one stateful encoder per call, turning Converse stream events into the
//! family's native `chunk.bytes` payloads.

use aws_smithy_types::Document;
use quarry_bedrock_runtime::types::{ConverseStreamOutput, StopReason, TokenUsage};
use serde_json::{Value, json};

use super::body::bytes;

/// What every family's closing chunk needs, gathered from the events as they pass: Converse
/// reports the stop reason and usage only at the end, so families that put them mid-stream must
/// wait for them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    pub(crate) stop_reason: Option<StopReason>,
    /// `additionalModelResponseFields` of `messageStop` (Anthropic's matched `stop_sequence`).
    pub(crate) stop_fields: Option<Document>,
    pub(crate) usage: Option<TokenUsage>,
    pub(crate) latency_ms: Option<i64>,
    pub(crate) first_byte_latency_ms: Option<i64>,
    /// Text deltas seen so far: the running output-token count of families whose every chunk
    /// carries one (Llama, Titan), since Converse only counts tokens at the end.
    pub(crate) deltas: i32,
    metadata_seen: bool,
}

impl Totals {
    fn absorb(&mut self, event: &ConverseStreamOutput) {
        match event {
            ConverseStreamOutput::MessageStop(stop) => {
                self.stop_reason = Some(stop.stop_reason.clone());
                self.stop_fields = stop.additional_model_response_fields.clone();
            }
            ConverseStreamOutput::Metadata(meta) => {
                self.usage = Some(meta.usage.clone());
                self.latency_ms = Some(meta.metrics.latency_ms);
                self.metadata_seen = true;
            }
            ConverseStreamOutput::ContentBlockDelta(_) => self.deltas += 1,
            _ => {}
        }
    }

    /// Both end-of-message events have arrived: the closing chunks can be written.
    fn ready(&self) -> bool {
        self.stop_reason.is_some() && self.metadata_seen
    }

    pub(crate) fn input_tokens(&self) -> i32 {
        self.usage.as_ref().map_or(0, |u| u.input_tokens)
    }

    /// The real count once known, the running estimate before.
    pub(crate) fn output_tokens(&self) -> i32 {
        self.usage.as_ref().map_or(self.deltas, |u| u.output_tokens)
    }

    /// The stop reason, `end_turn` when the stream ended without one.
    pub(crate) fn stop(&self) -> StopReason {
        self.stop_reason.clone().unwrap_or(StopReason::EndTurn)
    }

    /// `amazon-bedrock-invocationMetrics`, which Bedrock adds to the last chunk of every family.
    fn metrics(&self) -> Value {
        let latency = self.latency_ms.unwrap_or(0);
        json!({
            "inputTokenCount": self.input_tokens(),
            "outputTokenCount": self.output_tokens(),
            "invocationLatency": latency,
            "firstByteLatency": self.first_byte_latency_ms.unwrap_or(latency),
        })
    }
}

/// A family's chunk shapes. `totals` has already absorbed the event being encoded.
pub(crate) trait NativeEncoder {
    /// The chunks for one event (none when the family has nothing to say yet).
    fn event(&mut self, event: &ConverseStreamOutput, totals: &Totals) -> Vec<Value>;
    /// The closing chunks; the invocation metrics are added to the last one.
    fn close(&mut self, totals: &Totals) -> Vec<Value>;
}

/// Turns one call's Converse event stream into the family's InvokeModelWithResponseStream chunks.
///
/// Feed every event to [`push`](Self::push), then call [`finish`](Self::finish) once the provider's
/// stream ends; each returned `Vec<u8>` is the JSON of one `chunk.bytes`.
pub struct FamilyStreamEncoder {
    native: Box<dyn NativeEncoder + Send + Sync>,
    totals: Totals,
    closed: bool,
}

impl std::fmt::Debug for FamilyStreamEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FamilyStreamEncoder")
            .field("totals", &self.totals)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl FamilyStreamEncoder {
    pub(crate) fn new(native: impl NativeEncoder + Send + Sync + 'static) -> Self {
        Self {
            native: Box::new(native),
            totals: Totals::default(),
            closed: false,
        }
    }

    /// Sets the `firstByteLatency` reported in the invocation metrics; the runtime measures it
    /// (time to the provider's first event). Without it, the provider's total latency stands in.
    pub fn set_first_byte_latency_ms(&mut self, ms: i64) {
        self.totals.first_byte_latency_ms = Some(ms);
    }

    /// The chunks for one Converse event. Events after the message has closed are ignored.
    pub fn push(&mut self, event: &ConverseStreamOutput) -> Vec<Vec<u8>> {
        if self.closed {
            return Vec::new();
        }
        self.totals.absorb(event);
        let mut chunks = self.native.event(event, &self.totals);
        if self.totals.ready() {
            chunks.extend(self.close());
        }
        chunks.iter().map(bytes).collect()
    }

    /// The closing chunks when the stream ended before both `messageStop` and `metadata` arrived
    /// (nothing if it already closed), so a client always sees its family's end of message.
    pub fn finish(&mut self) -> Vec<Vec<u8>> {
        if self.closed {
            return Vec::new();
        }
        self.close().iter().map(bytes).collect()
    }

    fn close(&mut self) -> Vec<Value> {
        self.closed = true;
        let mut chunks = self.native.close(&self.totals);
        if let Some(Value::Object(last)) = chunks.last_mut() {
            last.insert(
                "amazon-bedrock-invocationMetrics".into(),
                self.totals.metrics(),
            );
        }
        chunks
    }
}
