//! Anthropic's Messages API: extended thinking, prompt caching, tools, streaming.

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use quarry_bedrock_runtime::operation::converse::ConverseOutput;

use super::api::{KeyPlacement, StreamDecoder, UpstreamApi, UpstreamRequest};
use super::{ConverseCall, ErrorKind, ProviderError};

/// The adapter's name in messages.
const NAME: &str = "anthropic";

/// `max_tokens` when the call gives none: the Messages API requires it, Converse does not.
pub const DEFAULT_MAX_TOKENS: i32 = 4096;

/// The Messages API adapter.
#[derive(Debug, Clone)]
pub struct Anthropic {
    version: String,
}

impl Anthropic {
    /// `version` is sent as the `anthropic-version` header.
    pub fn new(version: String) -> Self {
        Self { version }
    }
}

/// The Bedrock kind for an Anthropic error `type` (in-stream errors carry no status).
fn error_kind(kind: &str) -> ErrorKind {
    match kind {
        "overloaded_error" => ErrorKind::ServiceUnavailable,
        "rate_limit_error" => ErrorKind::Throttling,
        "invalid_request_error" | "request_too_large" => ErrorKind::Validation,
        "authentication_error" | "permission_error" => ErrorKind::AccessDenied,
        "not_found_error" => ErrorKind::ResourceNotFound,
        "api_error" => ErrorKind::InternalServer,
        _ => ErrorKind::ModelStreamError,
    }
}

impl UpstreamApi for Anthropic {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key_placement(&self) -> KeyPlacement {
        KeyPlacement::Header("x-api-key")
    }

    fn request(&self, call: &ConverseCall, stream: bool) -> Result<UpstreamRequest, ProviderError> {
        Ok(UpstreamRequest {
            path_and_query: "/v1/messages".to_owned(),
            body: request::body(call, Some(stream))?,
            headers: vec![("anthropic-version", self.version.clone())],
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

    fn count_tokens_request(
        &self,
        call: &ConverseCall,
    ) -> Option<Result<UpstreamRequest, ProviderError>> {
        Some(request::body(call, None).map(|body| UpstreamRequest {
            path_and_query: "/v1/messages/count_tokens".to_owned(),
            body,
            headers: vec![("anthropic-version", self.version.clone())],
        }))
    }

    fn count_tokens_response(&self, body: &[u8]) -> Result<i32, ProviderError> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| super::vocab::malformed_upstream(NAME, e.to_string()))?;
        v["input_tokens"]
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| super::vocab::malformed_upstream(NAME, "no input_tokens in the count"))
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        v["error"]["message"].as_str().map(str::to_owned)
    }
}
