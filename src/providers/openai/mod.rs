//! OpenAI Chat Completions, and every server that speaks it (vLLM, Ollama, LM Studio, Azure OpenAI).

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use quarry_bedrock_runtime::operation::converse::ConverseOutput;

use super::api::{KeyPlacement, StreamDecoder, UpstreamApi, UpstreamRequest};
use super::{ConverseCall, ErrorKind, ProviderError};
use crate::config::MaxTokensField;

/// The adapter's name in messages.
const NAME: &str = "openai";

/// The Chat Completions adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAi {
    max_tokens_field: MaxTokensField,
}

impl OpenAi {
    pub fn new(max_tokens_field: MaxTokensField) -> Self {
        Self { max_tokens_field }
    }
}

/// The Bedrock kind for an OpenAI error `type` / `code` (in-stream errors carry no status).
fn error_kind(error: &serde_json::Value) -> ErrorKind {
    // vLLM and OpenRouter put an HTTP status in `code`.
    if let Some(status) = error["code"].as_u64().and_then(|c| u16::try_from(c).ok()) {
        return super::transport::status_kind(status);
    }
    // OpenAI's rate limits say `"type": "tokens"` and `"code": "rate_limit_exceeded"`: code first.
    let kind = error["code"]
        .as_str()
        .or_else(|| error["type"].as_str())
        .unwrap_or_default();
    match kind {
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => ErrorKind::Throttling,
        "invalid_request_error" | "context_length_exceeded" | "BadRequestError" => {
            ErrorKind::Validation
        }
        "server_error" | "api_error" | "InternalServerError" => ErrorKind::InternalServer,
        "overloaded" | "service_unavailable" => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ModelStreamError,
    }
}

impl UpstreamApi for OpenAi {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key_placement(&self) -> KeyPlacement {
        KeyPlacement::Bearer
    }

    fn request(&self, call: &ConverseCall, stream: bool) -> Result<UpstreamRequest, ProviderError> {
        Ok(UpstreamRequest {
            path_and_query: "/chat/completions".to_owned(),
            body: request::body(call, stream, self.max_tokens_field)?,
            headers: Vec::new(),
        })
    }

    fn response(
        &self,
        call: &ConverseCall,
        body: &[u8],
        latency_ms: i64,
    ) -> Result<ConverseOutput, ProviderError> {
        let _ = call;
        response::output(body, latency_ms)
    }

    fn stream_decoder(&self, call: &ConverseCall) -> Box<dyn StreamDecoder> {
        let _ = call;
        Box::new(stream::Decoder::default())
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        v["error"]["message"].as_str().map(str::to_owned)
    }
}
