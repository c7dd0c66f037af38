//! Google's Gemini (Generative Language API): `generateContent`, `streamGenerateContent` and `countTokens`.
//!
//! Mapping choices the API leaves open, in one place:
//! - Tool ids: Gemini may omit `functionCall.id`; the gateway then names the call
//!   `tooluse_<name>_<n>`, `n` being the call's position among the answer's function calls (0, 1…),
//!   so the same answer always gets the same ids. Ids Gemini gives are kept. Ids are sent back as
//!   `functionCall.id` / `functionResponse.id`, and a result's function name is the name of the
//!   latest earlier `toolUse` with its id.
//! - Thought signatures: a `thought: true` part becomes a reasoning block carrying its own
//!   `thoughtSignature`. A signature Gemini attaches to a text or `functionCall` part becomes a
//!   reasoning block with empty text and that signature, placed just before the block of the
//!   part. In a stream, text already sent cannot be preceded: a signed text part closes the open
//!   text block, its signature block follows, and its own text opens a new text block (Gemini's
//!   final empty signed part thus gives a signature block after the text). Sent back, an
//!   empty-text signed reasoning block gives its signature to the next part of the message
//!   without one, or else the previous one, so the signature returns on the part it came with
//!   (or, for the trailing one, on the text it followed).
//! - Answer parts other than text, thoughts and function calls (code execution, generated
//!   media) have no Converse block here and make the answer unreadable (ModelErrorException).
//! - Stop reasons: STOP is `end_turn` (`tool_use` when the answer calls a function; Gemini does not
//!   tell a stop sequence from a natural end); MAX_TOKENS `max_tokens`; the safety, recitation,
//!   blocklist, prohibited-content and SPII reasons `content_filtered`; MALFORMED_FUNCTION_CALL
//!   and UNEXPECTED_TOOL_CALL `malformed_tool_use` (Converse's own name for it, so the client still
//!   gets the answer and its usage); anything else `end_turn`. A blocked prompt (no candidates,
//!   `promptFeedback.blockReason`) is `content_filtered` with one empty text block.
//! - Usage: Gemini's `promptTokenCount` includes cached tokens and Bedrock's `inputTokens` does
//!   not, so input = prompt + tool-use prompt − cached; output = candidates + thoughts.
//! - Cache points are accepted and not sent: Gemini caches repeated prefixes implicitly and
//!   reports the hits as `cachedContentTokenCount` (→ `cacheReadInputTokens`).
//! - Documents go as inline data (pdf, txt, md, csv, html); Gemini's inline data has no name, so
//!   a document's name is not sent.

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use serde_json::Value;

use super::api::{KeyPlacement, StreamDecoder, UpstreamApi, UpstreamRequest};
use super::vocab::malformed_upstream;
use super::{ConverseCall, ErrorKind, ModelId, ProviderError};

/// The adapter's name in messages.
const NAME: &str = "gemini";

/// The characters a model id keeps unescaped in its path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Gemini adapter. It has no options: the API has one shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gemini;

/// A model id without its optional `models/` prefix (the path and resource names add it).
fn bare_model(model: &ModelId) -> &str {
    let id = model.as_str();
    id.strip_prefix("models/").unwrap_or(id)
}

/// `/v1beta/models/{model}:{method}`, the id percent-encoded so one holding `/` or `:` cannot
/// change the method called.
fn model_path(model: &ModelId, method: &str) -> String {
    format!(
        "/v1beta/models/{}:{method}",
        utf8_percent_encode(bare_model(model), SEGMENT)
    )
}

/// The Bedrock kind for a Google RPC status (an in-stream error carries no HTTP status).
fn error_kind(status: &str) -> ErrorKind {
    match status {
        "RESOURCE_EXHAUSTED" => ErrorKind::Throttling,
        "UNAVAILABLE" => ErrorKind::ServiceUnavailable,
        "INVALID_ARGUMENT" => ErrorKind::Validation,
        "DEADLINE_EXCEEDED" => ErrorKind::ModelTimeout,
        _ => ErrorKind::InternalServer,
    }
}

/// The `{"error": {"code", "message", "status"}}` object of a body, as a Bedrock error.
fn upstream_error(body: &Value) -> Option<ProviderError> {
    let error = body.get("error").filter(|e| e.is_object())?;
    let message = error["message"].as_str().unwrap_or("upstream error");
    Some(ProviderError::new(
        error_kind(error["status"].as_str().unwrap_or_default()),
        message.to_owned(),
    ))
}

impl UpstreamApi for Gemini {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key_placement(&self) -> KeyPlacement {
        KeyPlacement::Header("x-goog-api-key")
    }

    fn request(&self, call: &ConverseCall, stream: bool) -> Result<UpstreamRequest, ProviderError> {
        let path_and_query = if stream {
            format!(
                "{}?alt=sse",
                model_path(&call.model, "streamGenerateContent")
            )
        } else {
            model_path(&call.model, "generateContent")
        };
        Ok(UpstreamRequest {
            path_and_query,
            body: request::body(call)?,
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

    /// Counts with a whole `generateContentRequest`, so the system instruction and the tool
    /// declarations are counted too (plain `contents` would count the turns only).
    fn count_tokens_request(
        &self,
        call: &ConverseCall,
    ) -> Option<Result<UpstreamRequest, ProviderError>> {
        Some(request::body(call).map(|mut inner| {
            if let Value::Object(map) = &mut inner {
                map.insert(
                    "model".into(),
                    Value::String(format!("models/{}", bare_model(&call.model))),
                );
            }
            UpstreamRequest {
                path_and_query: model_path(&call.model, "countTokens"),
                body: serde_json::json!({ "generateContentRequest": inner }),
                headers: Vec::new(),
            }
        }))
    }

    fn count_tokens_response(&self, body: &[u8]) -> Result<i32, ProviderError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| malformed_upstream(NAME, e.to_string()))?;
        if !v.is_object() {
            return Err(malformed_upstream(NAME, "the count is not a JSON object"));
        }
        // Proto3 JSON leaves zero out, so a missing `totalTokens` is 0.
        match &v["totalTokens"] {
            Value::Null => Ok(0),
            n => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| malformed_upstream(NAME, "totalTokens is not a count")),
        }
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        v["error"]["message"].as_str().map(str::to_owned)
    }
}
