//! Anthropic's Messages API (`/v1/messages`): translation to and from the Converse vocabulary.
//!
//! Pure translation, no I/O: transport adds the base URL, the `x-api-key` header, retries and
//! SSE framing. Every request carries `anthropic-version`, and `anthropic-beta` when the call's
//! `additionalModelRequestFields` name betas (Bedrock takes them as `anthropic_beta` in the body).

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use quarry_bedrock_runtime::operation::converse::ConverseOutput;

use super::api::{KeyPlacement, StreamDecoder, UpstreamApi, UpstreamRequest};
use super::vocab::malformed_upstream;
use super::{ConverseCall, ErrorKind, ProviderError};

/// The adapter's name in messages.
const NAME: &str = "anthropic";

/// `max_tokens` sent when the call sets no `inferenceConfig.maxTokens`: the Messages API requires
/// the field, Converse does not. 4096 fits every Claude model's output limit.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Messages API adapter.
#[derive(Debug, Clone)]
pub struct Anthropic {
    /// Sent as the `anthropic-version` header on every request.
    version: String,
    /// `max_tokens` for calls that give none (see [`DEFAULT_MAX_TOKENS`]).
    default_max_tokens: u32,
}

impl Anthropic {
    /// An adapter sending `anthropic_version` (e.g. `2023-06-01`) as the `anthropic-version`
    /// header, with [`DEFAULT_MAX_TOKENS`] as the default `max_tokens`.
    pub fn new(anthropic_version: String) -> Self {
        Self {
            version: anthropic_version,
            default_max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    fn upstream(&self, path: &str, built: request::Built) -> UpstreamRequest {
        let mut headers = vec![("anthropic-version", self.version.clone())];
        if let Some(beta) = built.beta {
            headers.push(("anthropic-beta", beta));
        }
        UpstreamRequest {
            path_and_query: path.to_owned(),
            body: built.body,
            headers,
        }
    }
}

/// The Bedrock kind for the `error.type` of an in-stream `error` event (it carries no status).
fn stream_error_kind(kind: &str) -> ErrorKind {
    match kind {
        "overloaded_error" => ErrorKind::ServiceUnavailable,
        "rate_limit_error" => ErrorKind::Throttling,
        "invalid_request_error" => ErrorKind::Validation,
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
        let purpose = request::Purpose::Generate {
            stream,
            default_max_tokens: self.default_max_tokens,
        };
        Ok(self.upstream("/v1/messages", request::build(call, purpose)?))
    }

    fn response(
        &self,
        _call: &ConverseCall,
        body: &[u8],
        latency_ms: i64,
    ) -> Result<ConverseOutput, ProviderError> {
        response::output(body, latency_ms)
    }

    fn stream_decoder(&self, _call: &ConverseCall) -> Box<dyn StreamDecoder> {
        Box::new(stream::Decoder::default())
    }

    fn count_tokens_request(
        &self,
        call: &ConverseCall,
    ) -> Option<Result<UpstreamRequest, ProviderError>> {
        Some(
            request::build(call, request::Purpose::Count)
                .map(|built| self.upstream("/v1/messages/count_tokens", built)),
        )
    }

    fn count_tokens_response(&self, body: &[u8]) -> Result<i32, ProviderError> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| malformed_upstream(NAME, e))?;
        v["input_tokens"]
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| malformed_upstream(NAME, "the count has no input_tokens"))
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        v["error"]["message"].as_str().map(str::to_owned)
    }
}
