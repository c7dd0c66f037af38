//! Typed calls to AWS Bedrock (the provider as a fallback target): shapes written as restJson1 and read back with the generated schemas.
//!
//! Requests are the typed Converse input written by the restJson1 codec (the one the gateway's
//! own Bedrock server uses, so member names, blobs, documents and unions come out as AWS reads
//! them), minus `modelId`, which travels in the path. Answers are read back through the same
//! codec into the generated shapes; ConverseStream answers are AWS event-stream frames, decoded
//! as they arrive, one typed event per `event` frame, an `exception` frame becoming the error
//! that ends the stream.

use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_http_server::schema::MetadataRoutedProtocol as _;
use aws_smithy_http_server::schema::protocol::RestJson1;
use aws_smithy_types::event_stream::Message;
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use quarry_bedrock_runtime::operation::converse::{ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::operation::count_tokens::{CountTokensInput, CountTokensOutput};
use quarry_bedrock_runtime::types::{
    ContentBlockDeltaEvent, ContentBlockStartEvent, ContentBlockStopEvent,
    ConverseStreamMetadataEvent, ConverseStreamOutput, ConverseTokensRequest,
    CountTokensInput as TokensRequest, MessageStartEvent, MessageStopEvent,
};
use quarry_codegen_runtime::validation::Violations;

use crate::providers::transport::{BodyStream, status_kind};
use crate::providers::vocab::malformed_upstream;
use crate::providers::{ErrorKind, ProviderError, ProviderId};

/// restJson1 as the gateway's Bedrock server speaks it; its event-stream framing exposes the
/// JSON codec that writes and reads every generated shape.
static REST_JSON: LazyLock<RestJson1> = LazyLock::new(RestJson1::default);

/// Writes a generated shape as restJson1 body JSON (every member, `modelId` included).
macro_rules! write_json {
    ($schema:expr, $value:expr) => {
        match REST_JSON.event_stream_framing() {
            None => Err("the restJson1 protocol has no JSON codec".to_owned()),
            Some(framing) => {
                let mut serializer = framing.payload_codec.create_serializer();
                match serializer.write_struct($schema, $value) {
                    Ok(()) => Ok(serializer.finish_boxed()),
                    Err(err) => Err(err.to_string()),
                }
            }
        }
    };
}

/// Reads a generated shape from restJson1 body JSON; unknown members are skipped, and the
/// answer's constraint violations are AWS's business (only a missing required member fails).
macro_rules! read_json {
    ($shape:ty, $bytes:expr) => {
        match REST_JSON.event_stream_framing() {
            None => Err("the restJson1 protocol has no JSON codec".to_owned()),
            Some(framing) => {
                let mut deserializer = framing.payload_codec.create_deserializer($bytes);
                let mut violations = Violations::new();
                match <$shape>::deserialize_schema(&mut *deserializer, &mut violations) {
                    Ok(Some(shape)) => Ok(shape),
                    Ok(None) => Err(violations
                        .message()
                        .unwrap_or_else(|| "a required member is missing".to_owned())),
                    Err(err) => Err(err.to_string()),
                }
            }
        }
    };
}

fn unwritable(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(
        ErrorKind::InternalServer,
        format!("the request to AWS Bedrock could not be written: {err}"),
    )
}

/// The body without its `modelId` member, which is the path's.
fn without_model_id(json: &[u8]) -> Result<Bytes, ProviderError> {
    let mut value: serde_json::Value = serde_json::from_slice(json).map_err(unwritable)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("modelId");
    }
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(unwritable)
}

/// The Converse (or ConverseStream: same members) request body for `request`.
pub(super) fn converse_body(request: &ConverseInput) -> Result<Bytes, ProviderError> {
    let json = write_json!(ConverseInput::SCHEMA, request).map_err(unwritable)?;
    without_model_id(&json)
}

/// The CountTokens request body counting the tokens of a Converse `request`.
pub(super) fn count_tokens_body(request: &ConverseInput) -> Result<Bytes, ProviderError> {
    let converse = ConverseTokensRequest::builder()
        .set_messages(request.messages.clone())
        .set_system(request.system.clone())
        .set_tool_config(request.tool_config.clone())
        .set_additional_model_request_fields(request.additional_model_request_fields.clone())
        .build();
    let input = CountTokensInput::builder()
        .model_id(request.model_id.clone())
        .input(TokensRequest::Converse(converse))
        .build()
        .map_err(unwritable)?;
    let json = write_json!(CountTokensInput::SCHEMA, &input).map_err(unwritable)?;
    without_model_id(&json)
}

/// A Converse answer.
pub(super) fn converse_output(
    provider: &ProviderId,
    body: &[u8],
) -> Result<ConverseOutput, ProviderError> {
    read_json!(ConverseOutput, body).map_err(|why| malformed_upstream(provider.as_str(), why))
}

/// A CountTokens answer's count.
pub(super) fn count_tokens_output(
    provider: &ProviderId,
    body: &[u8],
) -> Result<i32, ProviderError> {
    read_json!(CountTokensOutput, body)
        .map(|out| out.input_tokens)
        .map_err(|why| malformed_upstream(provider.as_str(), why))
}

/// The Bedrock error code at the front of `x-amzn-errortype` or of a body's `__type`
/// (`ValidationException:http://…`, `com.amazon.coral#ThrottlingException`).
fn error_code(value: &str) -> &str {
    let value = value.split(':').next().unwrap_or(value);
    value.rsplit('#').next().unwrap_or(value).trim()
}

/// AWS's non-2xx answer as a provider error: the kind AWS named (else the status's), AWS's
/// message, and who answered.
pub(super) fn error_from_response(
    provider: &ProviderId,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> ProviderError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            json.as_ref()
                .and_then(|j| j.get("__type"))
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        });
    let kind = code
        .as_deref()
        .map(error_code)
        .and_then(ErrorKind::parse)
        .unwrap_or_else(|| status_kind(status));
    let message = json
        .as_ref()
        .and_then(|j| j.get("message").or_else(|| j.get("Message")))
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .or_else(|| {
            std::str::from_utf8(body)
                .ok()
                .map(|s| s.trim().chars().take(500).collect())
        })
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    ProviderError::new(
        kind,
        format!("{message} (provider '{provider}' answered HTTP {status})"),
    )
}

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

/// One event-stream frame of a ConverseStream answer: `Ok(None)` for an event this gateway
/// does not know (a newer API's), skipped; `Err` for an exception frame or an unreadable one.
pub(super) fn stream_event(
    provider: &ProviderId,
    message: &Message,
) -> Result<Option<ConverseStreamOutput>, ProviderError> {
    let payload = message.payload().as_ref();
    let unreadable = |why: String| malformed_upstream(provider.as_str(), why);
    match header(message, ":message-type") {
        Some("event") => {}
        Some("exception") => {
            let code = header(message, ":exception-type").unwrap_or("");
            let json: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
            let text = json
                .as_ref()
                .and_then(|j| j.get("message").or_else(|| j.get("Message")))
                .and_then(|m| m.as_str())
                .unwrap_or(code);
            let kind = ErrorKind::parse(code).unwrap_or(ErrorKind::ModelStreamError);
            return Err(ProviderError::new(
                kind,
                format!("{text} (provider '{provider}' ended its stream with {code})"),
            ));
        }
        Some("error") => {
            let code = header(message, ":error-code").unwrap_or("InternalServerException");
            let text = header(message, ":error-message").unwrap_or(code);
            let kind = ErrorKind::parse(code).unwrap_or(ErrorKind::InternalServer);
            return Err(ProviderError::new(
                kind,
                format!("{text} (provider '{provider}' ended its stream with {code})"),
            ));
        }
        other => {
            return Err(unreadable(format!(
                "an event-stream frame has message type {other:?}"
            )));
        }
    }
    Ok(Some(match header(message, ":event-type") {
        Some("messageStart") => ConverseStreamOutput::MessageStart(
            read_json!(MessageStartEvent, payload).map_err(unreadable)?,
        ),
        Some("contentBlockStart") => ConverseStreamOutput::ContentBlockStart(
            read_json!(ContentBlockStartEvent, payload).map_err(unreadable)?,
        ),
        Some("contentBlockDelta") => ConverseStreamOutput::ContentBlockDelta(
            read_json!(ContentBlockDeltaEvent, payload).map_err(unreadable)?,
        ),
        Some("contentBlockStop") => ConverseStreamOutput::ContentBlockStop(
            read_json!(ContentBlockStopEvent, payload).map_err(unreadable)?,
        ),
        Some("messageStop") => ConverseStreamOutput::MessageStop(
            read_json!(MessageStopEvent, payload).map_err(unreadable)?,
        ),
        Some("metadata") => ConverseStreamOutput::Metadata(
            read_json!(ConverseStreamMetadataEvent, payload).map_err(unreadable)?,
        ),
        other => {
            tracing::debug!(provider = %provider, event = ?other, "skipping an unknown ConverseStream event");
            return Ok(None);
        }
    }))
}

/// A ConverseStream answer decoded into typed events as its chunks arrive: nothing is held
/// beyond the frame being read, and the body is read only as fast as the client takes events.
pub(super) struct StreamEvents {
    provider: ProviderId,
    body: BodyStream,
    buffer: BytesMut,
    done: bool,
}

/// The smallest frame: prelude (12 bytes) and message CRC (4), no headers, no payload.
const MIN_FRAME: usize = 16;
/// The largest frame accepted; AWS's are far smaller (its limit is 16 MiB of payload).
const MAX_FRAME: usize = 24 * 1024 * 1024;

/// The next whole frame at the front of `buffer`, taken off it; `Ok(None)` until one is whole.
fn next_frame(buffer: &mut BytesMut) -> Result<Option<Message>, String> {
    let Some(prefix) = buffer.first_chunk::<4>() else {
        return Ok(None);
    };
    let length = u32::from_be_bytes(*prefix) as usize;
    if !(MIN_FRAME..=MAX_FRAME).contains(&length) {
        return Err(format!("an event-stream frame claims {length} bytes"));
    }
    if buffer.len() < length {
        return Ok(None);
    }
    let mut frame = buffer.split_to(length).freeze();
    read_message_from(&mut frame)
        .map(Some)
        .map_err(|err| format!("a broken event-stream frame: {err}"))
}

impl StreamEvents {
    pub(super) fn new(provider: ProviderId, body: BodyStream) -> Self {
        Self {
            provider,
            body,
            buffer: BytesMut::new(),
            done: false,
        }
    }

    fn fail(
        &mut self,
        err: ProviderError,
    ) -> Poll<Option<Result<ConverseStreamOutput, ProviderError>>> {
        self.done = true;
        Poll::Ready(Some(Err(err)))
    }
}

impl Stream for StreamEvents {
    type Item = Result<ConverseStreamOutput, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            // Every whole frame already buffered first.
            match next_frame(&mut this.buffer) {
                Ok(Some(message)) => match stream_event(&this.provider, &message) {
                    Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                    Ok(None) => continue,
                    Err(err) => return this.fail(err),
                },
                Ok(None) => {}
                Err(why) => {
                    let err = malformed_upstream(this.provider.as_str(), why);
                    return this.fail(err);
                }
            }
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.buffer.extend_from_slice(&chunk),
                Poll::Ready(Some(Err(err))) => return this.fail(err),
                Poll::Ready(None) => {
                    this.done = true;
                    if !this.buffer.is_empty() {
                        return Poll::Ready(Some(Err(malformed_upstream(
                            this.provider.as_str(),
                            "the event stream ended inside a frame",
                        ))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::event_stream::{Header, HeaderValue};
    use futures_util::StreamExt as _;
    use serde_json::{Value, json};

    use super::*;
    use crate::providers::transport::{Transport, UpstreamSettings};

    fn aws() -> ProviderId {
        ProviderId::new("aws")
    }

    /// A Converse request exercising every kind of member: unions, blobs, documents, numbers,
    /// maps, enums.
    fn request_json() -> Value {
        json!({
            "modelId": "openai/gpt-4o",
            "messages": [
                { "role": "user", "content": [
                    { "text": "What is in this picture?" },
                    { "image": { "format": "png", "source": { "bytes": "iVBORw0KGgo=" } } }
                ] },
                { "role": "assistant", "content": [
                    { "toolUse": { "toolUseId": "t1", "name": "lookup", "input": { "q": "cat", "n": 2, "deep": [true, null] } } }
                ] },
                { "role": "user", "content": [
                    { "toolResult": { "toolUseId": "t1", "status": "success", "content": [{ "json": { "found": 1 } }] } }
                ] }
            ],
            "system": [{ "text": "Be brief." }],
            "inferenceConfig": { "maxTokens": 256, "temperature": 0.5, "topP": 0.25, "stopSequences": ["END"] },
            "toolConfig": {
                "tools": [{ "toolSpec": { "name": "lookup", "description": "Looks up.",
                    "inputSchema": { "json": { "type": "object", "properties": { "q": { "type": "string" } } } } } }],
                "toolChoice": { "auto": {} }
            },
            "additionalModelRequestFields": { "top_k": 40 },
            "requestMetadata": { "team": "search" },
            "performanceConfig": { "latency": "optimized" }
        })
    }

    fn converse_input(json: &Value) -> ConverseInput {
        let bytes = serde_json::to_vec(json).unwrap();
        read_json!(ConverseInput, &bytes).unwrap()
    }

    #[test]
    fn typed_requests_are_written_as_bedrock_reads_them_without_the_model_id() {
        let request = converse_input(&request_json());
        let body: Value = serde_json::from_slice(&converse_body(&request).unwrap()).unwrap();
        let mut expected = request_json();
        expected.as_object_mut().unwrap().remove("modelId");
        assert_eq!(body, expected);
    }

    #[test]
    fn token_counts_wrap_the_converse_members() {
        let request = converse_input(&request_json());
        let body: Value = serde_json::from_slice(&count_tokens_body(&request).unwrap()).unwrap();
        let source = request_json();
        assert_eq!(
            body,
            json!({ "input": { "converse": {
                "messages": source["messages"],
                "system": source["system"],
                "toolConfig": source["toolConfig"],
                "additionalModelRequestFields": source["additionalModelRequestFields"],
            } } })
        );
        assert_eq!(
            count_tokens_output(&aws(), br#"{"inputTokens":42}"#).unwrap(),
            42
        );
    }

    #[test]
    fn converse_answers_are_read_into_typed_output() {
        let answer = json!({
            "output": { "message": { "role": "assistant", "content": [
                { "text": "Let me look." },
                { "toolUse": { "toolUseId": "t2", "name": "lookup", "input": { "q": "dog" } } }
            ] } },
            "stopReason": "tool_use",
            "usage": { "inputTokens": 30, "outputTokens": 9, "totalTokens": 39,
                       "cacheReadInputTokens": 4 },
            "metrics": { "latencyMs": 812 },
            "additionalModelResponseFields": { "stop_sequence": null },
            "performanceConfig": { "latency": "optimized" },
            "aFieldFromANewerApi": { "ignored": true }
        });
        let out = converse_output(&aws(), answer.to_string().as_bytes()).unwrap();
        assert_eq!(out.stop_reason.as_str(), "tool_use");
        assert_eq!(out.usage.total_tokens, 39);
        assert_eq!(out.usage.cache_read_input_tokens, Some(4));
        assert_eq!(out.metrics.latency_ms, 812);
        // Written back, the typed answer is AWS's, less what the model does not have.
        let written = write_json!(ConverseOutput::SCHEMA, &out).unwrap();
        let mut expected = answer.clone();
        expected
            .as_object_mut()
            .unwrap()
            .remove("aFieldFromANewerApi");
        assert_eq!(serde_json::from_slice::<Value>(&written).unwrap(), expected);

        let err = converse_output(&aws(), br#"{"output":{}}"#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ModelError);
        assert!(err.message.contains("provider 'aws'"), "{}", err.message);
    }

    #[test]
    fn aws_errors_keep_their_kind_and_message() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-amzn-errortype",
            http::HeaderValue::from_static("ThrottlingException:http://internal.amazon.com/coral/"),
        );
        let err = error_from_response(
            &aws(),
            429,
            &headers,
            br#"{"message":"Too many requests."}"#,
        );
        assert_eq!(err.kind, ErrorKind::Throttling);
        assert_eq!(
            err.message,
            "Too many requests. (provider 'aws' answered HTTP 429)"
        );
        assert!(err.falls_back());
        // No header: the body's `__type`, else the status.
        let err = error_from_response(
            &aws(),
            400,
            &http::HeaderMap::new(),
            br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#,
        );
        assert_eq!(err.kind, ErrorKind::Validation);
        assert!(err.message.starts_with("bad "), "{}", err.message);
        assert!(!err.falls_back());
        let err = error_from_response(&aws(), 503, &http::HeaderMap::new(), b"");
        assert_eq!(err.kind, ErrorKind::ServiceUnavailable);
        assert_eq!(err.message, "HTTP 503 (provider 'aws' answered HTTP 503)");
    }

    fn frame(message_type: &str, kind: (&str, &str), payload: &Value) -> Vec<u8> {
        let message = Message::new(payload.to_string().into_bytes())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String(message_type.to_owned().into()),
            ))
            .add_header(Header::new(
                kind.0.to_owned(),
                HeaderValue::String(kind.1.to_owned().into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ));
        let mut out = Vec::new();
        aws_smithy_eventstream::frame::write_message_to(&message, &mut out).unwrap();
        out
    }

    fn event(name: &str, payload: Value) -> Vec<u8> {
        frame("event", (":event-type", name), &payload)
    }

    /// The body arrives in `chunk`-byte pieces, cutting through frames anywhere.
    fn body(bytes: Vec<u8>, chunk: usize) -> BodyStream {
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let response = http::Response::new(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )));
        Transport::new(aws(), UpstreamSettings::default(), Vec::new())
            .unwrap()
            .body(reqwest::Response::from(response))
    }

    async fn events(
        bytes: Vec<u8>,
        chunk: usize,
    ) -> Vec<Result<ConverseStreamOutput, ProviderError>> {
        StreamEvents::new(aws(), body(bytes, chunk)).collect().await
    }

    fn stream() -> Vec<u8> {
        [
            event("messageStart", json!({ "role": "assistant", "p": "abc" })),
            event(
                "contentBlockStart",
                json!({ "contentBlockIndex": 0, "start": { "toolUse": { "toolUseId": "t", "name": "f" } } }),
            ),
            event(
                "contentBlockDelta",
                json!({ "contentBlockIndex": 0, "delta": { "toolUse": { "input": "{\"q\":" } } }),
            ),
            event("contentBlockStop", json!({ "contentBlockIndex": 0 })),
            event("someFutureEvent", json!({})),
            event("messageStop", json!({ "stopReason": "tool_use" })),
            event(
                "metadata",
                json!({ "usage": { "inputTokens": 3, "outputTokens": 1, "totalTokens": 4 },
                        "metrics": { "latencyMs": 7 } }),
            ),
        ]
        .concat()
    }

    #[tokio::test]
    async fn stream_frames_become_typed_events_however_the_body_is_cut() {
        for chunk in [1, 7, 64, 100_000] {
            let events = events(stream(), chunk).await;
            let names: Vec<&str> = events
                .iter()
                .map(|e| match e {
                    Ok(ConverseStreamOutput::MessageStart(_)) => "messageStart",
                    Ok(ConverseStreamOutput::ContentBlockStart(_)) => "contentBlockStart",
                    Ok(ConverseStreamOutput::ContentBlockDelta(_)) => "contentBlockDelta",
                    Ok(ConverseStreamOutput::ContentBlockStop(_)) => "contentBlockStop",
                    Ok(ConverseStreamOutput::MessageStop(_)) => "messageStop",
                    Ok(ConverseStreamOutput::Metadata(_)) => "metadata",
                    Err(_) => "error",
                })
                .collect();
            assert_eq!(
                names,
                [
                    "messageStart",
                    "contentBlockStart",
                    "contentBlockDelta",
                    "contentBlockStop",
                    "messageStop",
                    "metadata"
                ],
                "chunks of {chunk}"
            );
            let Some(Ok(ConverseStreamOutput::Metadata(metadata))) = events.last() else {
                panic!("no metadata");
            };
            assert_eq!(metadata.usage.total_tokens, 4);
        }
    }

    #[tokio::test]
    async fn exception_frames_end_the_stream_with_their_kind() {
        let bytes = [
            event("messageStart", json!({ "role": "assistant" })),
            frame(
                "exception",
                (":exception-type", "throttlingException"),
                &json!({ "message": "Slow down." }),
            ),
            event("messageStop", json!({ "stopReason": "end_turn" })),
        ]
        .concat();
        let events = events(bytes, 5).await;
        assert_eq!(events.len(), 2, "{events:?}");
        let Err(err) = &events[1] else {
            panic!("{events:?}");
        };
        assert_eq!(err.kind, ErrorKind::Throttling);
        assert!(err.message.starts_with("Slow down. "), "{}", err.message);
    }

    #[tokio::test]
    async fn truncated_or_broken_frames_are_stream_errors() {
        let mut cut = stream();
        cut.truncate(cut.len() - 3);
        let answered = events(cut, 16).await;
        let Some(Err(err)) = answered.last() else {
            panic!("{answered:?}");
        };
        assert_eq!(err.kind, ErrorKind::ModelError);
        assert!(
            err.message.contains("ended inside a frame"),
            "{}",
            err.message
        );

        let mut corrupt = stream();
        corrupt[20] ^= 0xff;
        let events = events(corrupt, 1000).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0].is_err());
    }
}
