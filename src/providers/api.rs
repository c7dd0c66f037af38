//! What an HTTP provider adapter supplies: its request, response and stream translation, as pure code.
//!
//! `openai`, `anthropic` and `gemini` each implement [`UpstreamApi`]; [`super::http::HttpProvider`]
//! turns any of them into a [`super::Provider`], owning everything they share: the pooled client,
//! key selection, retries, timeouts, SSE parsing and the status → Bedrock error mapping. An adapter
//! never sees a socket, so its translation is tested without one.

use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::ConverseStreamOutput;

use super::{ConverseCall, ProviderError};

/// One upstream request, before transport adds credentials and sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamRequest {
    /// Appended to the provider's base URL: `/chat/completions`, `/v1/messages`,
    /// `/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`.
    pub path_and_query: String,
    /// The JSON body, serialized by transport.
    pub body: serde_json::Value,
    /// Headers beyond `content-type` and credentials (e.g. `anthropic-beta`).
    pub headers: Vec<(&'static str, String)>,
}

/// One server-sent event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// How the provider takes its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlacement {
    /// `Authorization: Bearer <key>` (OpenAI and compatible servers).
    Bearer,
    /// A header of its own (`x-api-key` for Anthropic, `x-goog-api-key` for Gemini).
    Header(&'static str),
}

/// A provider's HTTP API, as translation between it and the Converse vocabulary.
pub trait UpstreamApi: Send + Sync + 'static {
    /// The adapter's name in messages: "openai", "anthropic", "gemini".
    fn name(&self) -> &'static str;

    /// How keys are sent.
    fn key_placement(&self) -> KeyPlacement;

    /// The upstream request for a call, whole (`stream = false`) or streamed. Anything the
    /// provider cannot take is a [`ProviderError::validation`] naming it, never dropped.
    fn request(&self, call: &ConverseCall, stream: bool) -> Result<UpstreamRequest, ProviderError>;

    /// A successful (2xx) whole response, as Converse output. `latency_ms` is measured by
    /// transport and goes into `metrics.latencyMs`.
    fn response(
        &self,
        call: &ConverseCall,
        body: &[u8],
        latency_ms: i64,
    ) -> Result<ConverseOutput, ProviderError>;

    /// A fresh decoder for one streamed response.
    fn stream_decoder(&self, call: &ConverseCall) -> Box<dyn StreamDecoder>;

    /// The upstream request counting a call's input tokens, or `None` when the provider has no
    /// such endpoint (the call is then refused as Bedrock refuses models without CountTokens).
    fn count_tokens_request(
        &self,
        call: &ConverseCall,
    ) -> Option<Result<UpstreamRequest, ProviderError>> {
        let _ = call;
        None
    }

    /// The token count in a successful (2xx) answer to [`Self::count_tokens_request`].
    fn count_tokens_response(&self, body: &[u8]) -> Result<i32, ProviderError> {
        let _ = body;
        Err(super::vocab::unsupported(self.name(), "CountTokens"))
    }

    /// The human message inside a non-2xx response body (the provider's error JSON), if any;
    /// transport picks the Bedrock error kind from the status and keeps this message.
    fn error_message(&self, body: &[u8]) -> Option<String>;
}

/// Turns one provider's SSE events into Converse stream events, in order.
///
/// A decoder sees every event of one response and must emit a complete, well-formed Converse
/// sequence: `messageStart`, per content block `contentBlockStart` (tool use only) /
/// `contentBlockDelta`… / `contentBlockStop`, then `messageStop` and `metadata`.
pub trait StreamDecoder: Send + Sync {
    /// The events one upstream event produces (often none). An in-stream error event is an `Err`.
    fn event(&mut self, event: SseEvent) -> Result<Vec<ConverseStreamOutput>, ProviderError>;

    /// The events owed when the upstream stream ended cleanly; `latency_ms` is the whole call's.
    /// An upstream that ended before saying it was done is an `Err`.
    fn finish(&mut self, latency_ms: i64) -> Result<Vec<ConverseStreamOutput>, ProviderError>;
}
