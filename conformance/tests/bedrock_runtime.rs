//! The real aws-sdk-bedrockruntime client against a server built from the generated stubs.
//!
//! Checks, per operation family: every operation round-trips (the handler records what it got and
//! the test compares it with what the SDK sent; the SDK parses what the handler answered), model
//! ids arrive percent-decoded, every modeled Converse error reaches the SDK typed with its status
//! and message, both event streams decode in order and carry mid-stream exceptions typed, raw
//! requests the SDK would refuse get Bedrock's `ValidationException`, and an operation left at its
//! default answers 501 `NotImplemented`.

mod common;

/// An SDK error predicate such as `is_throttling_exception`.
type IsError<E> = fn(&E) -> bool;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata as _;
use aws_sdk_bedrockruntime::types as sdk;
use aws_smithy_http::event_stream::EventStreamSender;
use aws_smithy_types::{Blob, Document, Number};
use quarry_bedrock_runtime::operation::apply_guardrail::{
    ApplyGuardrailError, ApplyGuardrailInput, ApplyGuardrailOutput,
};
use quarry_bedrock_runtime::operation::converse::{ConverseError, ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::operation::converse_stream::{
    ConverseStreamError, ConverseStreamInput, ConverseStreamOutput,
};
use quarry_bedrock_runtime::operation::count_tokens::{
    CountTokensError, CountTokensInput, CountTokensOutput,
};
use quarry_bedrock_runtime::operation::invoke_model::{
    InvokeModelError, InvokeModelInput, InvokeModelOutput,
};
use quarry_bedrock_runtime::operation::invoke_model_with_response_stream::{
    InvokeModelWithResponseStreamError, InvokeModelWithResponseStreamInput,
    InvokeModelWithResponseStreamOutput,
};
use quarry_bedrock_runtime::types as gen_types;
use quarry_bedrock_runtime::types::error as gen_err;
use quarry_bedrock_runtime::{BedrockRuntime, router};

struct Echo;

impl BedrockRuntime for Echo {
    async fn converse(&self, input: ConverseInput) -> Result<ConverseOutput, ConverseError> {
        if input.model_id == "mock.throttle" {
            return Err(ConverseError::ThrottlingException(
                gen_types::error::ThrottlingException::with_message("slow down"),
            ));
        }
        let text = input
            .messages
            .as_ref()
            .and_then(|m| m.last())
            .and_then(|m| m.content.first())
            .and_then(|c| match c {
                gen_types::ContentBlock::Text(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let message = gen_types::Message::builder()
            .role(gen_types::ConversationRole::Assistant)
            .content(vec![gen_types::ContentBlock::Text(format!("echo: {text}"))])
            .build()
            .map_err(|e| ConverseError::validation(e.to_string()))?;
        ConverseOutput::builder()
            .output(gen_types::ConverseOutput::Message(message))
            .stop_reason(gen_types::StopReason::EndTurn)
            .usage(
                gen_types::TokenUsage::builder()
                    .input_tokens(3)
                    .output_tokens(4)
                    .total_tokens(7)
                    .build()
                    .map_err(|e| ConverseError::validation(e.to_string()))?,
            )
            .metrics(
                gen_types::ConverseMetrics::builder()
                    .latency_ms(12)
                    .build()
                    .map_err(|e| ConverseError::validation(e.to_string()))?,
            )
            .build()
            .map_err(|e| ConverseError::validation(e.to_string()))
    }
}

#[tokio::test]
async fn converse_round_trips() {
    let app = router(Arc::new(Echo), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime(addr);
    let out = client
        .converse()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .messages(
            sdk::Message::builder()
                .role(sdk::ConversationRole::User)
                .content(sdk::ContentBlock::Text("hello".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("converse succeeds");
    let message = out.output().unwrap().as_message().unwrap();
    assert_eq!(message.content()[0].as_text().unwrap(), "echo: hello");
    assert_eq!(out.stop_reason(), &sdk::StopReason::EndTurn);
    assert_eq!(out.usage().unwrap().total_tokens(), 7);
    assert_eq!(out.metrics().unwrap().latency_ms(), 12);
}

#[tokio::test]
async fn modeled_error_reaches_the_sdk_typed() {
    let app = router(Arc::new(Echo), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime(addr);
    let err = client
        .converse()
        .model_id("mock.throttle")
        .messages(
            sdk::Message::builder()
                .role(sdk::ConversationRole::User)
                .content(sdk::ContentBlock::Text("x".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect_err("throttled");
    let service_err = err.into_service_error();
    assert!(service_err.is_throttling_exception(), "{service_err:?}");
    assert_eq!(service_err.meta().message(), Some("slow down"));
}

#[tokio::test]
async fn missing_required_member_is_a_validation_exception() {
    let app = router(Arc::new(Echo), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime(addr);
    // The SDK refuses to send without a required member, so use a raw request.
    let resp = reqwest_like_post(
        addr,
        "/model/m/converse",
        r#"{"messages":[{"role":"user"}]}"#,
    )
    .await;
    assert_eq!(resp.0, 400, "{}", resp.2);
    assert_eq!(resp.1.as_deref(), Some("ValidationException"));
    assert!(resp.2.contains("1 validation error detected: Value null at 'messages.1.member.content' failed to satisfy constraint: Member must not be null"), "{}", resp.2);
    let _ = client;
}

/// A minimal HTTP/1.1 POST over a raw socket, to send what an SDK would refuse to.
async fn reqwest_like_post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &str,
) -> (u16, Option<String>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text[9..12].parse().unwrap();
    let error_type = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("x-amzn-errortype:"))
        .map(|l| {
            l.split_once(':')
                .unwrap()
                .1
                .trim()
                .split(':')
                .next()
                .unwrap()
                .to_owned()
        });
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, error_type, body)
}

// ---------------------------------------------------------------------------------------------
// The recording mock: every handler stores its input, then answers according to the model id:
// `error.<ErrorName>` answers that modeled error, `stream.fail.<ErrorName>` streams a little and
// then fails with that event-stream exception, anything else succeeds with a rich answer.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Seen {
    converse: Vec<ConverseInput>,
    converse_stream: Vec<ConverseStreamInput>,
    invoke_model: Vec<InvokeModelInput>,
    invoke_stream: Vec<InvokeModelWithResponseStreamInput>,
    count_tokens: Vec<CountTokensInput>,
    apply_guardrail: Vec<ApplyGuardrailInput>,
}

#[derive(Default)]
struct Mock {
    seen: Mutex<Seen>,
}

impl Mock {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

/// Starts a server around a fresh [`Mock`] and returns it with a non-retrying client.
async fn start() -> (
    Arc<Mock>,
    aws_sdk_bedrockruntime::Client,
    std::net::SocketAddr,
) {
    let mock = Arc::new(Mock::default());
    let app = router(mock.clone(), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    (mock, common::bedrock_runtime_no_retries(addr), addr)
}

fn message_for(name: &str) -> String {
    format!("{name} raised by the mock: \"quoted\" and ünïcode")
}

/// The modeled error called `name`, as any operation error that has it.
fn modeled_error<E>(name: &str) -> E
where
    E: From<gen_err::AccessDeniedException>
        + From<gen_err::ResourceNotFoundException>
        + From<gen_err::ThrottlingException>
        + From<gen_err::InternalServerException>
        + From<gen_err::ServiceUnavailableException>
        + From<gen_err::ValidationException>,
{
    let m = message_for(name);
    match name {
        "AccessDeniedException" => gen_err::AccessDeniedException::with_message(m).into(),
        "ResourceNotFoundException" => gen_err::ResourceNotFoundException::with_message(m).into(),
        "ThrottlingException" => gen_err::ThrottlingException::with_message(m).into(),
        "InternalServerException" => gen_err::InternalServerException::with_message(m).into(),
        "ServiceUnavailableException" => {
            gen_err::ServiceUnavailableException::with_message(m).into()
        }
        "ValidationException" => gen_err::ValidationException::with_message(m).into(),
        other => panic!("the mock has no error called {other}"),
    }
}

fn converse_error(name: &str) -> ConverseError {
    let m = message_for(name);
    match name {
        "ModelTimeoutException" => gen_err::ModelTimeoutException::with_message(m).into(),
        "ModelNotReadyException" => gen_err::ModelNotReadyException::with_message(m).into(),
        "ModelErrorException" => gen_err::ModelErrorException::builder()
            .message(m)
            .original_status_code(418)
            .resource_name("arn:aws:sagemaker:us-east-1:123456789012:endpoint/teapot")
            .build()
            .into(),
        other => modeled_error(other),
    }
}

fn weather_args() -> Document {
    Document::Object(HashMap::from([
        ("city".to_owned(), Document::String("Paris".into())),
        ("days".to_owned(), Document::Number(Number::PosInt(3))),
        ("offset".to_owned(), Document::Number(Number::NegInt(-2))),
        (
            "threshold".to_owned(),
            Document::Number(Number::Float(0.25)),
        ),
        ("metric".to_owned(), Document::Bool(true)),
        ("note".to_owned(), Document::Null),
        (
            "hours".to_owned(),
            Document::Array(vec![
                Document::Number(Number::PosInt(9)),
                Document::String("noon".into()),
            ]),
        ),
    ]))
}

fn weather_schema() -> Document {
    Document::Object(HashMap::from([
        ("type".to_owned(), Document::String("object".into())),
        (
            "properties".to_owned(),
            Document::Object(HashMap::from([(
                "city".to_owned(),
                Document::Object(HashMap::from([(
                    "type".to_owned(),
                    Document::String("string".into()),
                )])),
            )])),
        ),
        (
            "required".to_owned(),
            Document::Array(vec![Document::String("city".into())]),
        ),
    ]))
}

fn tool_result_json() -> Document {
    Document::Object(HashMap::from([
        ("tempC".to_owned(), Document::Number(Number::PosInt(21))),
        ("sky".to_owned(), Document::String("clear".into())),
    ]))
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x7f,
];
const DOC: &[u8] = b"Quarterly notes: revenue up.\n\xe2\x9c\x93";

fn usage(input: i32, output: i32) -> gen_types::TokenUsage {
    gen_types::TokenUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        cache_read_input_tokens: Some(5),
        cache_write_input_tokens: Some(6),
        cache_details: None,
    }
}

fn rich_converse_output() -> ConverseOutput {
    ConverseOutput {
        output: gen_types::ConverseOutput::Message(gen_types::Message {
            role: gen_types::ConversationRole::Assistant,
            content: vec![
                gen_types::ContentBlock::ReasoningContent(
                    gen_types::ReasoningContentBlock::ReasoningText(
                        gen_types::ReasoningTextBlock {
                            text: "The user wants the weather.".into(),
                            signature: Some("sig-answer".into()),
                        },
                    ),
                ),
                gen_types::ContentBlock::Text("Let me check.".into()),
                gen_types::ContentBlock::ToolUse(gen_types::ToolUseBlock {
                    tool_use_id: "tooluse_2".into(),
                    name: "get_weather".into(),
                    input: weather_args(),
                    r#type: None,
                }),
            ],
        }),
        stop_reason: gen_types::StopReason::ToolUse,
        usage: usage(11, 22),
        metrics: gen_types::ConverseMetrics { latency_ms: 321 },
        additional_model_response_fields: Some(Document::Object(HashMap::from([(
            "stop_sequence".to_owned(),
            Document::Null,
        )]))),
        trace: None,
        performance_config: None,
        service_tier: None,
    }
}

fn stream_event_start(role: gen_types::ConversationRole) -> gen_types::ConverseStreamOutput {
    gen_types::ConverseStreamOutput::MessageStart(gen_types::MessageStartEvent { role })
}

fn stream_delta(
    index: i32,
    delta: gen_types::ContentBlockDelta,
) -> gen_types::ConverseStreamOutput {
    gen_types::ConverseStreamOutput::ContentBlockDelta(gen_types::ContentBlockDeltaEvent {
        delta,
        content_block_index: index,
    })
}

fn stream_stop(index: i32) -> gen_types::ConverseStreamOutput {
    gen_types::ConverseStreamOutput::ContentBlockStop(gen_types::ContentBlockStopEvent {
        content_block_index: index,
    })
}

/// A complete ConverseStream answer: reasoning, text, a tool call, stop and metadata.
fn full_stream() -> Vec<gen_types::ConverseStreamOutput> {
    use gen_types::ContentBlockDelta as D;
    use gen_types::ReasoningContentBlockDelta as R;
    vec![
        stream_event_start(gen_types::ConversationRole::Assistant),
        stream_delta(0, D::ReasoningContent(R::Text("Weather, ".into()))),
        stream_delta(0, D::ReasoningContent(R::Text("so call the tool.".into()))),
        stream_delta(0, D::ReasoningContent(R::Signature("sig-stream".into()))),
        stream_stop(0),
        stream_delta(1, D::Text("Hello".into())),
        stream_delta(1, D::Text(", wörld".into())),
        stream_stop(1),
        gen_types::ConverseStreamOutput::ContentBlockStart(gen_types::ContentBlockStartEvent {
            start: gen_types::ContentBlockStart::ToolUse(gen_types::ToolUseBlockStart {
                tool_use_id: "tooluse_9".into(),
                name: "get_weather".into(),
                r#type: None,
            }),
            content_block_index: 2,
        }),
        stream_delta(
            2,
            D::ToolUse(gen_types::ToolUseBlockDelta {
                input: "{\"city\":".into(),
            }),
        ),
        stream_delta(
            2,
            D::ToolUse(gen_types::ToolUseBlockDelta {
                input: "\"Paris\"}".into(),
            }),
        ),
        stream_stop(2),
        gen_types::ConverseStreamOutput::MessageStop(gen_types::MessageStopEvent {
            stop_reason: gen_types::StopReason::ToolUse,
            additional_model_response_fields: None,
        }),
        gen_types::ConverseStreamOutput::Metadata(gen_types::ConverseStreamMetadataEvent {
            usage: usage(40, 2),
            metrics: gen_types::ConverseStreamMetrics { latency_ms: 77 },
            trace: None,
            performance_config: None,
            service_tier: None,
        }),
    ]
}

/// The same sequence as the SDK should decode it, one line per event.
const FULL_STREAM_DECODED: &[&str] = &[
    "messageStart assistant",
    "delta 0 reasoning text \"Weather, \"",
    "delta 0 reasoning text \"so call the tool.\"",
    "delta 0 reasoning signature \"sig-stream\"",
    "stop 0",
    "delta 1 text \"Hello\"",
    "delta 1 text \", wörld\"",
    "stop 1",
    "start 2 toolUse get_weather tooluse_9",
    "delta 2 toolUse \"{\\\"city\\\":\"",
    "delta 2 toolUse \"\\\"Paris\\\"}\"",
    "stop 2",
    "messageStop tool_use",
    "metadata in=40 out=2 total=42 cacheRead=Some(5) cacheWrite=Some(6) latencyMs=77",
];

fn stream_exception(name: &str) -> gen_types::ConverseStreamOutputError {
    use gen_types::ConverseStreamOutputError as E;
    let m = message_for(name);
    match name {
        "ThrottlingException" => {
            E::ThrottlingException(gen_err::ThrottlingException::with_message(m))
        }
        "ValidationException" => {
            E::ValidationException(gen_err::ValidationException::with_message(m))
        }
        "InternalServerException" => {
            E::InternalServerException(gen_err::InternalServerException::with_message(m))
        }
        "ServiceUnavailableException" => {
            E::ServiceUnavailableException(gen_err::ServiceUnavailableException::with_message(m))
        }
        "ModelStreamErrorException" => E::ModelStreamErrorException(
            gen_err::ModelStreamErrorException::builder()
                .message(m)
                .original_status_code(529)
                .original_message("upstream overloaded")
                .build(),
        ),
        other => panic!("no stream exception {other}"),
    }
}

fn response_stream_exception(name: &str) -> gen_types::ResponseStreamError {
    use gen_types::ResponseStreamError as E;
    let m = message_for(name);
    match name {
        "ModelTimeoutException" => {
            E::ModelTimeoutException(gen_err::ModelTimeoutException::with_message(m))
        }
        "ThrottlingException" => {
            E::ThrottlingException(gen_err::ThrottlingException::with_message(m))
        }
        "ModelStreamErrorException" => E::ModelStreamErrorException(
            gen_err::ModelStreamErrorException::builder()
                .message(m)
                .original_status_code(500)
                .original_message("model crashed")
                .build(),
        ),
        other => panic!("no response stream exception {other}"),
    }
}

/// The chunks InvokeModelWithResponseStream sends: JSON, every byte value, and a large chunk.
fn chunks() -> Vec<Vec<u8>> {
    vec![
        br#"{"completion":"Hel"}"#.to_vec(),
        (0..=255u8).collect(),
        (0..200_000u32).map(|i| (i % 251) as u8).collect(),
    ]
}

fn chunk(bytes: Vec<u8>) -> gen_types::ResponseStream {
    gen_types::ResponseStream::Chunk(gen_types::PayloadPart {
        bytes: Some(Blob::new(bytes)),
    })
}

impl BedrockRuntime for Mock {
    async fn converse(&self, input: ConverseInput) -> Result<ConverseOutput, ConverseError> {
        let model = input.model_id.clone();
        self.seen().converse.push(input);
        match model.strip_prefix("error.") {
            Some(name) => Err(converse_error(name)),
            None => Ok(rich_converse_output()),
        }
    }

    async fn converse_stream(
        &self,
        input: ConverseStreamInput,
    ) -> Result<ConverseStreamOutput, ConverseStreamError> {
        let model = input.model_id.clone();
        self.seen().converse_stream.push(input);
        if let Some(name) = model.strip_prefix("error.") {
            return Err(modeled_error(name));
        }
        let events: Vec<Result<_, gen_types::ConverseStreamOutputError>> =
            match model.strip_prefix("stream.fail.") {
                Some(name) => vec![
                    Ok(stream_event_start(gen_types::ConversationRole::Assistant)),
                    Ok(stream_delta(
                        0,
                        gen_types::ContentBlockDelta::Text("partial".into()),
                    )),
                    Err(stream_exception(name)),
                ],
                None => full_stream().into_iter().map(Ok).collect(),
            };
        Ok(ConverseStreamOutput {
            stream: EventStreamSender::from(futures_util::stream::iter(events)),
        })
    }

    async fn invoke_model(
        &self,
        input: InvokeModelInput,
    ) -> Result<InvokeModelOutput, InvokeModelError> {
        let model = input.model_id.clone();
        let mut body = b"echo:".to_vec();
        body.extend_from_slice(input.body.as_ref().map(Blob::as_ref).unwrap_or_default());
        let latency = input.performance_config_latency.clone();
        self.seen().invoke_model.push(input);
        if let Some(name) = model.strip_prefix("error.") {
            return Err(modeled_error(name));
        }
        Ok(InvokeModelOutput {
            body: Blob::new(body),
            content_type: "application/x-quarry-echo".into(),
            performance_config_latency: latency,
            service_tier: Some(gen_types::ServiceTierType::Flex),
        })
    }

    async fn invoke_model_with_response_stream(
        &self,
        input: InvokeModelWithResponseStreamInput,
    ) -> Result<InvokeModelWithResponseStreamOutput, InvokeModelWithResponseStreamError> {
        let model = input.model_id.clone();
        self.seen().invoke_stream.push(input);
        let events: Vec<Result<_, gen_types::ResponseStreamError>> =
            match model.strip_prefix("stream.fail.") {
                Some(name) => vec![
                    Ok(chunk(b"first".to_vec())),
                    Err(response_stream_exception(name)),
                ],
                None => chunks().into_iter().map(|c| Ok(chunk(c))).collect(),
            };
        Ok(InvokeModelWithResponseStreamOutput {
            body: EventStreamSender::from(futures_util::stream::iter(events)),
            content_type: "application/json".into(),
            performance_config_latency: None,
            service_tier: None,
        })
    }

    async fn count_tokens(
        &self,
        input: CountTokensInput,
    ) -> Result<CountTokensOutput, CountTokensError> {
        let tokens = match &input.input {
            gen_types::CountTokensInput::Converse(_) => 42,
            gen_types::CountTokensInput::InvokeModel(r) => r.body.as_ref().len() as i32,
        };
        self.seen().count_tokens.push(input);
        Ok(CountTokensOutput {
            input_tokens: tokens,
        })
    }

    async fn apply_guardrail(
        &self,
        input: ApplyGuardrailInput,
    ) -> Result<ApplyGuardrailOutput, ApplyGuardrailError> {
        self.seen().apply_guardrail.push(input);
        Ok(ApplyGuardrailOutput {
            usage: gen_types::GuardrailUsage {
                topic_policy_units: 1,
                content_policy_units: 2,
                word_policy_units: 3,
                sensitive_information_policy_units: 4,
                sensitive_information_policy_free_units: 5,
                contextual_grounding_policy_units: 6,
                content_policy_image_units: Some(7),
                automated_reasoning_policy_units: None,
                automated_reasoning_policies: None,
            },
            action: gen_types::GuardrailAction::GuardrailIntervened,
            action_reason: Some("Guardrail blocked.".into()),
            outputs: vec![gen_types::GuardrailOutputContent {
                text: Some("my ssn is {SSN}".into()),
            }],
            assessments: vec![gen_types::GuardrailAssessment {
                topic_policy: None,
                content_policy: None,
                word_policy: None,
                sensitive_information_policy: None,
                contextual_grounding_policy: None,
                automated_reasoning_policy: None,
                invocation_metrics: None,
                applied_guardrail_details: None,
            }],
            guardrail_coverage: None,
        })
    }
}

fn user_text(text: &str) -> sdk::Message {
    sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text(text.into()))
        .build()
        .unwrap()
}

/// A conversation using every content kind the brief names, as the SDK sends it.
fn sdk_conversation() -> Vec<sdk::Message> {
    let user = sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text(
            "What's the weather in Paris?".into(),
        ))
        .content(sdk::ContentBlock::Image(
            sdk::ImageBlock::builder()
                .format(sdk::ImageFormat::Png)
                .source(sdk::ImageSource::Bytes(Blob::new(PNG)))
                .build()
                .unwrap(),
        ))
        .content(sdk::ContentBlock::Document(
            sdk::DocumentBlock::builder()
                .format(sdk::DocumentFormat::Txt)
                .name("notes")
                .source(sdk::DocumentSource::Bytes(Blob::new(DOC)))
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let assistant = sdk::Message::builder()
        .role(sdk::ConversationRole::Assistant)
        .content(sdk::ContentBlock::ReasoningContent(
            sdk::ReasoningContentBlock::ReasoningText(
                sdk::ReasoningTextBlock::builder()
                    .text("I should call get_weather.")
                    .signature("sig-1")
                    .build()
                    .unwrap(),
            ),
        ))
        .content(sdk::ContentBlock::ToolUse(
            sdk::ToolUseBlock::builder()
                .tool_use_id("tooluse_1")
                .name("get_weather")
                .input(weather_args())
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let tool_result = sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::ToolResult(
            sdk::ToolResultBlock::builder()
                .tool_use_id("tooluse_1")
                .content(sdk::ToolResultContentBlock::Json(tool_result_json()))
                .content(sdk::ToolResultContentBlock::Text("sunny".into()))
                .status(sdk::ToolResultStatus::Success)
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    vec![user, assistant, tool_result]
}

/// [`sdk_conversation`] as the handler must receive it.
fn gen_conversation() -> Vec<gen_types::Message> {
    use gen_types::ContentBlock as C;
    vec![
        gen_types::Message {
            role: gen_types::ConversationRole::User,
            content: vec![
                C::Text("What's the weather in Paris?".into()),
                C::Image(gen_types::ImageBlock {
                    format: gen_types::ImageFormat::Png,
                    source: gen_types::ImageSource::Bytes(Blob::new(PNG)),
                    error: None,
                }),
                C::Document(gen_types::DocumentBlock {
                    format: Some(gen_types::DocumentFormat::Txt),
                    name: "notes".into(),
                    source: gen_types::DocumentSource::Bytes(Blob::new(DOC)),
                    context: None,
                    citations: None,
                }),
            ],
        },
        gen_types::Message {
            role: gen_types::ConversationRole::Assistant,
            content: vec![
                C::ReasoningContent(gen_types::ReasoningContentBlock::ReasoningText(
                    gen_types::ReasoningTextBlock {
                        text: "I should call get_weather.".into(),
                        signature: Some("sig-1".into()),
                    },
                )),
                C::ToolUse(gen_types::ToolUseBlock {
                    tool_use_id: "tooluse_1".into(),
                    name: "get_weather".into(),
                    input: weather_args(),
                    r#type: None,
                }),
            ],
        },
        gen_types::Message {
            role: gen_types::ConversationRole::User,
            content: vec![C::ToolResult(gen_types::ToolResultBlock {
                tool_use_id: "tooluse_1".into(),
                content: vec![
                    gen_types::ToolResultContentBlock::Json(tool_result_json()),
                    gen_types::ToolResultContentBlock::Text("sunny".into()),
                ],
                status: Some(gen_types::ToolResultStatus::Success),
                r#type: None,
            })],
        },
    ]
}

fn sdk_tool_config(choice: sdk::ToolChoice) -> sdk::ToolConfiguration {
    sdk::ToolConfiguration::builder()
        .tools(sdk::Tool::ToolSpec(
            sdk::ToolSpecification::builder()
                .name("get_weather")
                .description("Current weather for a city")
                .input_schema(sdk::ToolInputSchema::Json(weather_schema()))
                .build()
                .unwrap(),
        ))
        .tool_choice(choice)
        .build()
        .unwrap()
}

fn gen_tool_config(choice: gen_types::ToolChoice) -> gen_types::ToolConfiguration {
    gen_types::ToolConfiguration {
        tools: vec![gen_types::Tool::ToolSpec(gen_types::ToolSpecification {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            input_schema: gen_types::ToolInputSchema::Json(weather_schema()),
            strict: None,
        })],
        tool_choice: Some(choice),
    }
}

// ---------------------------------------------------------------------------------------------
// Converse
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn converse_round_trips_every_content_kind() {
    let (mock, client, _) = start().await;
    let out = client
        .converse()
        .model_id("anthropic.claude-3-5-sonnet-20240620-v1:0")
        .set_messages(Some(sdk_conversation()))
        .system(sdk::SystemContentBlock::Text("You are terse.".into()))
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(512)
                .temperature(0.5)
                .top_p(0.875)
                .stop_sequences("STOP")
                .stop_sequences("\n\nHuman:")
                .build(),
        )
        .tool_config(sdk_tool_config(sdk::ToolChoice::Tool(
            sdk::SpecificToolChoice::builder()
                .name("get_weather")
                .build()
                .unwrap(),
        )))
        .additional_model_request_fields(Document::Object(HashMap::from([(
            "top_k".to_owned(),
            Document::Number(Number::PosInt(250)),
        )])))
        .send()
        .await
        .expect("converse succeeds");

    // What the handler received, member by member.
    let seen = mock.seen();
    assert_eq!(seen.converse.len(), 1);
    let input = &seen.converse[0];
    assert_eq!(input.model_id, "anthropic.claude-3-5-sonnet-20240620-v1:0");
    let messages = input.messages.as_ref().expect("messages arrive");
    let expected = gen_conversation();
    assert_eq!(messages.len(), expected.len());
    for (i, (got, want)) in messages.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "message {i}");
    }
    assert_eq!(
        input.system,
        Some(vec![gen_types::SystemContentBlock::Text(
            "You are terse.".into()
        )])
    );
    let config = input.inference_config.as_ref().expect("inferenceConfig");
    assert_eq!(config.max_tokens, Some(512));
    assert_eq!(config.temperature, Some(0.5));
    assert_eq!(config.top_p, Some(0.875));
    assert_eq!(
        config.stop_sequences,
        Some(vec!["STOP".to_owned(), "\n\nHuman:".to_owned()])
    );
    assert_eq!(
        input.tool_config,
        Some(gen_tool_config(gen_types::ToolChoice::Tool(
            gen_types::SpecificToolChoice {
                name: "get_weather".into()
            }
        )))
    );
    assert_eq!(
        input.additional_model_request_fields,
        Some(Document::Object(HashMap::from([(
            "top_k".to_owned(),
            Document::Number(Number::PosInt(250)),
        )])))
    );
    assert_eq!(input.guardrail_config, None);
    drop(seen);

    // What the SDK parsed from the handler's answer.
    let message = out.output().unwrap().as_message().unwrap();
    assert_eq!(message.role(), &sdk::ConversationRole::Assistant);
    assert_eq!(message.content().len(), 3);
    let reasoning = message.content()[0]
        .as_reasoning_content()
        .unwrap()
        .as_reasoning_text()
        .unwrap();
    assert_eq!(reasoning.text(), "The user wants the weather.");
    assert_eq!(reasoning.signature(), Some("sig-answer"));
    assert_eq!(message.content()[1].as_text().unwrap(), "Let me check.");
    let tool_use = message.content()[2].as_tool_use().unwrap();
    assert_eq!(tool_use.tool_use_id(), "tooluse_2");
    assert_eq!(tool_use.name(), "get_weather");
    assert_eq!(tool_use.input(), &weather_args());
    assert_eq!(out.stop_reason(), &sdk::StopReason::ToolUse);
    let usage = out.usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens(),
            usage.output_tokens(),
            usage.total_tokens()
        ),
        (11, 22, 33)
    );
    assert_eq!(usage.cache_read_input_tokens(), Some(5));
    assert_eq!(usage.cache_write_input_tokens(), Some(6));
    assert_eq!(out.metrics().unwrap().latency_ms(), 321);
    assert_eq!(
        out.additional_model_response_fields(),
        Some(&Document::Object(HashMap::from([(
            "stop_sequence".to_owned(),
            Document::Null
        )])))
    );
}

#[tokio::test]
async fn converse_tool_choice_auto_and_any_arrive() {
    let (mock, client, _) = start().await;
    for choice in [
        sdk::ToolChoice::Auto(sdk::AutoToolChoice::builder().build()),
        sdk::ToolChoice::Any(sdk::AnyToolChoice::builder().build()),
    ] {
        client
            .converse()
            .model_id("anthropic.claude-3-haiku-20240307-v1:0")
            .messages(user_text("hi"))
            .tool_config(sdk_tool_config(choice))
            .send()
            .await
            .expect("converse succeeds");
    }
    let seen = mock.seen();
    let choices: Vec<_> = seen
        .converse
        .iter()
        .map(|i| i.tool_config.as_ref().unwrap().tool_choice.clone())
        .collect();
    assert_eq!(
        choices,
        vec![
            Some(gen_types::ToolChoice::Auto(gen_types::AutoToolChoice {})),
            Some(gen_types::ToolChoice::Any(gen_types::AnyToolChoice {})),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Model ids in the path
// ---------------------------------------------------------------------------------------------

const SONNET: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const PROFILE_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";

#[tokio::test]
async fn model_ids_arrive_percent_decoded() {
    let (mock, client, _) = start().await;
    for model in [SONNET, PROFILE_ARN] {
        client
            .converse()
            .model_id(model)
            .messages(user_text("hi"))
            .send()
            .await
            .expect("converse succeeds");
        client
            .invoke_model()
            .model_id(model)
            .body(Blob::new("{}"))
            .send()
            .await
            .expect("invoke succeeds");
        client
            .count_tokens()
            .model_id(model)
            .input(sdk::CountTokensInput::Converse(
                sdk::ConverseTokensRequest::builder()
                    .messages(user_text("hi"))
                    .build(),
            ))
            .send()
            .await
            .expect("count tokens succeeds");
    }
    let seen = mock.seen();
    let converse: Vec<_> = seen.converse.iter().map(|i| i.model_id.as_str()).collect();
    let invoke: Vec<_> = seen
        .invoke_model
        .iter()
        .map(|i| i.model_id.as_str())
        .collect();
    let count: Vec<_> = seen
        .count_tokens
        .iter()
        .map(|i| i.model_id.as_str())
        .collect();
    assert_eq!(converse, [SONNET, PROFILE_ARN]);
    assert_eq!(invoke, [SONNET, PROFILE_ARN]);
    assert_eq!(count, [SONNET, PROFILE_ARN]);
}

#[tokio::test]
async fn raw_percent_encoded_model_id_is_decoded() {
    let (mock, _, addr) = start().await;
    // What the SDK sends for the ARN, spelled out: ':' and '/' percent-encoded.
    let path = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse";
    let resp = common::raw_request(
        addr,
        "POST",
        path,
        &[("content-type", "application/json")],
        br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(mock.seen().converse[0].model_id, PROFILE_ARN);
}

// ---------------------------------------------------------------------------------------------
// Modeled errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_converse_error_reaches_the_sdk_typed() {
    use aws_sdk_bedrockruntime::operation::converse::ConverseError as E;
    let cases: [(&str, u16, IsError<E>); 9] = [
        ("AccessDeniedException", 403, E::is_access_denied_exception),
        (
            "ResourceNotFoundException",
            404,
            E::is_resource_not_found_exception,
        ),
        ("ThrottlingException", 429, E::is_throttling_exception),
        ("ModelTimeoutException", 408, E::is_model_timeout_exception),
        ("ModelErrorException", 424, E::is_model_error_exception),
        (
            "ModelNotReadyException",
            429,
            E::is_model_not_ready_exception,
        ),
        (
            "ServiceUnavailableException",
            503,
            E::is_service_unavailable_exception,
        ),
        (
            "InternalServerException",
            500,
            E::is_internal_server_exception,
        ),
        ("ValidationException", 400, E::is_validation_exception),
    ];
    let (mock, client, _) = start().await;
    for (name, status, is_it) in cases {
        let err = client
            .converse()
            .model_id(format!("error.{name}"))
            .messages(user_text("x"))
            .send()
            .await
            .expect_err(name);
        let raw_status = err.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw_status, Some(status), "{name}: {err:?}");
        let service_err = err.into_service_error();
        assert!(is_it(&service_err), "{name}: {service_err:?}");
        assert_eq!(service_err.code(), Some(name));
        assert_eq!(
            service_err.message(),
            Some(message_for(name).as_str()),
            "{name}"
        );
        if let E::ModelErrorException(e) = &service_err {
            assert_eq!(e.original_status_code(), Some(418));
            assert_eq!(
                e.resource_name(),
                Some("arn:aws:sagemaker:us-east-1:123456789012:endpoint/teapot")
            );
        }
    }
    assert_eq!(mock.seen().converse.len(), 9, "no retries, one call each");
}

#[tokio::test]
async fn modeled_error_wire_format() {
    let (_, _, addr) = start().await;
    let resp = common::raw_request(
        addr,
        "POST",
        "/model/error.ModelNotReadyException/converse",
        &[("content-type", "application/json")],
        br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.error_type(), Some("ModelNotReadyException"));
    assert_eq!(
        resp.json()["message"],
        serde_json::Value::String(message_for("ModelNotReadyException"))
    );
}

// ---------------------------------------------------------------------------------------------
// ConverseStream
// ---------------------------------------------------------------------------------------------

/// One line per decoded event, so a whole stream compares as a list.
fn describe(event: &sdk::ConverseStreamOutput) -> String {
    use sdk::ConverseStreamOutput as O;
    match event {
        O::MessageStart(m) => format!("messageStart {}", m.role().as_str()),
        O::ContentBlockStart(s) => match s.start() {
            Some(sdk::ContentBlockStart::ToolUse(t)) => format!(
                "start {} toolUse {} {}",
                s.content_block_index(),
                t.name(),
                t.tool_use_id()
            ),
            other => format!("start {} {other:?}", s.content_block_index()),
        },
        O::ContentBlockDelta(d) => {
            let i = d.content_block_index();
            match d.delta() {
                Some(sdk::ContentBlockDelta::Text(t)) => format!("delta {i} text {t:?}"),
                Some(sdk::ContentBlockDelta::ToolUse(t)) => {
                    format!("delta {i} toolUse {:?}", t.input())
                }
                Some(sdk::ContentBlockDelta::ReasoningContent(
                    sdk::ReasoningContentBlockDelta::Text(t),
                )) => format!("delta {i} reasoning text {t:?}"),
                Some(sdk::ContentBlockDelta::ReasoningContent(
                    sdk::ReasoningContentBlockDelta::Signature(s),
                )) => format!("delta {i} reasoning signature {s:?}"),
                other => format!("delta {i} {other:?}"),
            }
        }
        O::ContentBlockStop(s) => format!("stop {}", s.content_block_index()),
        O::MessageStop(m) => format!("messageStop {}", m.stop_reason().as_str()),
        O::Metadata(m) => {
            let u = m.usage().expect("usage");
            format!(
                "metadata in={} out={} total={} cacheRead={:?} cacheWrite={:?} latencyMs={}",
                u.input_tokens(),
                u.output_tokens(),
                u.total_tokens(),
                u.cache_read_input_tokens(),
                u.cache_write_input_tokens(),
                m.metrics().expect("metrics").latency_ms()
            )
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn converse_stream_decodes_every_event_in_order() {
    let (mock, client, _) = start().await;
    let mut out = client
        .converse_stream()
        .model_id(SONNET)
        .set_messages(Some(sdk_conversation()))
        .system(sdk::SystemContentBlock::Text("Be brief.".into()))
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(64)
                .build(),
        )
        .tool_config(sdk_tool_config(sdk::ToolChoice::Auto(
            sdk::AutoToolChoice::builder().build(),
        )))
        .send()
        .await
        .expect("converse stream starts");
    let mut decoded = Vec::new();
    while let Some(event) = out.stream.recv().await.expect("event decodes") {
        decoded.push(describe(&event));
    }
    assert_eq!(decoded, FULL_STREAM_DECODED);

    let seen = mock.seen();
    let input = &seen.converse_stream[0];
    assert_eq!(input.model_id, SONNET);
    assert_eq!(input.messages.as_ref(), Some(&gen_conversation()));
    assert_eq!(
        input.system,
        Some(vec![gen_types::SystemContentBlock::Text(
            "Be brief.".into()
        )])
    );
    assert_eq!(
        input.inference_config.as_ref().and_then(|c| c.max_tokens),
        Some(64)
    );
    assert_eq!(
        input.tool_config,
        Some(gen_tool_config(gen_types::ToolChoice::Auto(
            gen_types::AutoToolChoice {}
        )))
    );
}

#[tokio::test]
async fn converse_stream_initial_error_is_typed() {
    let (_, client, _) = start().await;
    let err = client
        .converse_stream()
        .model_id("error.ThrottlingException")
        .messages(user_text("x"))
        .send()
        .await
        .expect_err("throttled before the stream starts");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(429));
    let err = err.into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some(message_for("ThrottlingException").as_str())
    );
}

#[tokio::test]
async fn converse_stream_mid_stream_exceptions_are_typed() {
    use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError as E;
    let cases: [(&str, IsError<E>); 5] = [
        ("ThrottlingException", E::is_throttling_exception),
        (
            "ModelStreamErrorException",
            E::is_model_stream_error_exception,
        ),
        ("ValidationException", E::is_validation_exception),
        ("InternalServerException", E::is_internal_server_exception),
        (
            "ServiceUnavailableException",
            E::is_service_unavailable_exception,
        ),
    ];
    let (_, client, _) = start().await;
    for (name, is_it) in cases {
        let mut out = client
            .converse_stream()
            .model_id(format!("stream.fail.{name}"))
            .messages(user_text("x"))
            .send()
            .await
            .expect("stream starts");
        let first = out.stream.recv().await.expect("first event").unwrap();
        assert_eq!(describe(&first), "messageStart assistant", "{name}");
        let second = out.stream.recv().await.expect("second event").unwrap();
        assert_eq!(describe(&second), "delta 0 text \"partial\"", "{name}");
        let err = out
            .stream
            .recv()
            .await
            .expect_err("the stream ends in an exception")
            .into_service_error();
        // The SDK reads `code()` of an exception event from its payload, which Bedrock does not
        // fill in; the variant and the message are what a client gets.
        assert!(is_it(&err), "{name}: {err:?}");
        assert_eq!(err.message(), Some(message_for(name).as_str()), "{name}");
        if let E::ModelStreamErrorException(e) = &err {
            assert_eq!(e.original_status_code(), Some(529));
            assert_eq!(e.original_message(), Some("upstream overloaded"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// InvokeModel and InvokeModelWithResponseStream
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invoke_model_round_trips_body_and_headers() {
    let (mock, client, _) = start().await;
    let body = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10}"#;
    let out = client
        .invoke_model()
        .model_id(SONNET)
        .body(Blob::new(&body[..]))
        .content_type("application/json")
        .accept("application/json")
        .trace(sdk::Trace::Enabled)
        .guardrail_identifier("abc123def456")
        .guardrail_version("DRAFT")
        .performance_config_latency(sdk::PerformanceConfigLatency::Optimized)
        .send()
        .await
        .expect("invoke succeeds");

    let seen = mock.seen();
    let input = &seen.invoke_model[0];
    assert_eq!(input.model_id, SONNET);
    assert_eq!(input.body.as_ref().map(Blob::as_ref), Some(&body[..]));
    assert_eq!(input.content_type.as_deref(), Some("application/json"));
    assert_eq!(input.accept.as_deref(), Some("application/json"));
    assert_eq!(input.trace, Some(gen_types::Trace::Enabled));
    assert_eq!(input.guardrail_identifier.as_deref(), Some("abc123def456"));
    assert_eq!(input.guardrail_version.as_deref(), Some("DRAFT"));
    assert_eq!(
        input.performance_config_latency,
        Some(gen_types::PerformanceConfigLatency::Optimized)
    );
    drop(seen);

    let mut expected = b"echo:".to_vec();
    expected.extend_from_slice(body);
    assert_eq!(out.body().as_ref(), &expected[..]);
    assert_eq!(out.content_type(), "application/x-quarry-echo");
    assert_eq!(
        out.performance_config_latency(),
        Some(&sdk::PerformanceConfigLatency::Optimized)
    );
    assert_eq!(out.service_tier(), Some(&sdk::ServiceTierType::Flex));
}

#[tokio::test]
async fn invoke_model_binary_body_is_byte_exact() {
    let (mock, client, _) = start().await;
    let body: Vec<u8> = (0..=255u8).rev().collect();
    let out = client
        .invoke_model()
        .model_id("amazon.titan-embed-image-v1")
        .body(Blob::new(body.clone()))
        .content_type("application/octet-stream")
        .accept("*/*")
        .send()
        .await
        .expect("invoke succeeds");
    let seen = mock.seen();
    assert_eq!(
        seen.invoke_model[0].body.as_ref().map(Blob::as_ref),
        Some(&body[..])
    );
    assert_eq!(
        seen.invoke_model[0].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(seen.invoke_model[0].accept.as_deref(), Some("*/*"));
    assert_eq!(&out.body().as_ref()[5..], &body[..]);
}

#[tokio::test]
async fn invoke_model_error_is_typed() {
    let (_, client, _) = start().await;
    let err = client
        .invoke_model()
        .model_id("error.ResourceNotFoundException")
        .body(Blob::new("{}"))
        .send()
        .await
        .expect_err("not found");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some(message_for("ResourceNotFoundException").as_str())
    );
}

#[tokio::test]
async fn invoke_model_with_response_stream_chunks_are_byte_exact() {
    let (mock, client, _) = start().await;
    let body = br#"{"prompt":"Hello"}"#;
    let mut out = client
        .invoke_model_with_response_stream()
        .model_id(PROFILE_ARN)
        .body(Blob::new(&body[..]))
        .content_type("application/json")
        .accept("application/json")
        .send()
        .await
        .expect("stream starts");
    assert_eq!(out.content_type(), "application/json");
    let mut received = Vec::new();
    while let Some(event) = out.body.recv().await.expect("chunk decodes") {
        let part = event.as_chunk().expect("a chunk event");
        received.push(part.bytes().expect("chunk bytes").as_ref().to_vec());
    }
    let expected = chunks();
    assert_eq!(received.len(), expected.len());
    for (i, (got, want)) in received.iter().zip(&expected).enumerate() {
        assert!(
            got == want,
            "chunk {i} differs ({} vs {} bytes)",
            got.len(),
            want.len()
        );
    }
    let seen = mock.seen();
    let input = &seen.invoke_stream[0];
    assert_eq!(input.model_id, PROFILE_ARN);
    assert_eq!(input.body.as_ref().map(Blob::as_ref), Some(&body[..]));
    assert_eq!(input.content_type.as_deref(), Some("application/json"));
    assert_eq!(input.accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn invoke_model_with_response_stream_mid_stream_exceptions_are_typed() {
    use aws_sdk_bedrockruntime::types::error::ResponseStreamError as E;
    let cases: [(&str, IsError<E>); 3] = [
        ("ModelTimeoutException", E::is_model_timeout_exception),
        (
            "ModelStreamErrorException",
            E::is_model_stream_error_exception,
        ),
        ("ThrottlingException", E::is_throttling_exception),
    ];
    let (_, client, _) = start().await;
    for (name, is_it) in cases {
        let mut out = client
            .invoke_model_with_response_stream()
            .model_id(format!("stream.fail.{name}"))
            .body(Blob::new("{}"))
            .send()
            .await
            .expect("stream starts");
        let first = out.body.recv().await.expect("first chunk").unwrap();
        assert_eq!(
            first.as_chunk().unwrap().bytes().map(Blob::as_ref),
            Some(&b"first"[..]),
            "{name}"
        );
        let err = out
            .body
            .recv()
            .await
            .expect_err("the stream ends in an exception")
            .into_service_error();
        assert!(is_it(&err), "{name}: {err:?}");
        assert_eq!(err.message(), Some(message_for(name).as_str()), "{name}");
        if let E::ModelStreamErrorException(e) = &err {
            assert_eq!(e.original_status_code(), Some(500));
            assert_eq!(e.original_message(), Some("model crashed"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CountTokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn count_tokens_converse_variant_round_trips() {
    let (mock, client, _) = start().await;
    let out = client
        .count_tokens()
        .model_id(SONNET)
        .input(sdk::CountTokensInput::Converse(
            sdk::ConverseTokensRequest::builder()
                .set_messages(Some(sdk_conversation()))
                .system(sdk::SystemContentBlock::Text("Count me.".into()))
                .tool_config(sdk_tool_config(sdk::ToolChoice::Any(
                    sdk::AnyToolChoice::builder().build(),
                )))
                .build(),
        ))
        .send()
        .await
        .expect("count tokens succeeds");
    assert_eq!(out.input_tokens(), 42);
    let seen = mock.seen();
    let gen_types::CountTokensInput::Converse(request) = &seen.count_tokens[0].input else {
        panic!("expected the converse variant: {:?}", seen.count_tokens[0]);
    };
    assert_eq!(request.messages.as_ref(), Some(&gen_conversation()));
    assert_eq!(
        request.system,
        Some(vec![gen_types::SystemContentBlock::Text(
            "Count me.".into()
        )])
    );
    assert_eq!(
        request.tool_config,
        Some(gen_tool_config(gen_types::ToolChoice::Any(
            gen_types::AnyToolChoice {}
        )))
    );
}

#[tokio::test]
async fn count_tokens_invoke_model_variant_round_trips() {
    let (mock, client, _) = start().await;
    let body = b"\x00{\"inputText\":\"twelve bytes\"}\xff";
    let out = client
        .count_tokens()
        .model_id(SONNET)
        .input(sdk::CountTokensInput::InvokeModel(
            sdk::InvokeModelTokensRequest::builder()
                .body(Blob::new(&body[..]))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .expect("count tokens succeeds");
    assert_eq!(out.input_tokens(), body.len() as i32);
    let seen = mock.seen();
    let gen_types::CountTokensInput::InvokeModel(request) = &seen.count_tokens[0].input else {
        panic!(
            "expected the invokeModel variant: {:?}",
            seen.count_tokens[0]
        );
    };
    assert_eq!(request.body.as_ref(), &body[..]);
}

// ---------------------------------------------------------------------------------------------
// ApplyGuardrail
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn apply_guardrail_round_trips() {
    let (mock, client, _) = start().await;
    let guardrail = "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456";
    let out = client
        .apply_guardrail()
        .guardrail_identifier(guardrail)
        .guardrail_version("3")
        .source(sdk::GuardrailContentSource::Input)
        .content(sdk::GuardrailContentBlock::Text(
            sdk::GuardrailTextBlock::builder()
                .text("my ssn is 123-45-6789")
                .qualifiers(sdk::GuardrailContentQualifier::Query)
                .build()
                .unwrap(),
        ))
        .output_scope(sdk::GuardrailOutputScope::Full)
        .send()
        .await
        .expect("apply guardrail succeeds");

    let seen = mock.seen();
    let input = &seen.apply_guardrail[0];
    assert_eq!(input.guardrail_identifier, guardrail);
    assert_eq!(input.guardrail_version, "3");
    assert_eq!(input.source, gen_types::GuardrailContentSource::Input);
    assert_eq!(
        input.content,
        vec![gen_types::GuardrailContentBlock::Text(
            gen_types::GuardrailTextBlock {
                text: "my ssn is 123-45-6789".into(),
                qualifiers: Some(vec![gen_types::GuardrailContentQualifier::Query]),
            }
        )]
    );
    assert_eq!(
        input.output_scope,
        Some(gen_types::GuardrailOutputScope::Full)
    );
    drop(seen);

    assert_eq!(out.action(), &sdk::GuardrailAction::GuardrailIntervened);
    assert_eq!(out.action_reason(), Some("Guardrail blocked."));
    assert_eq!(out.outputs().len(), 1);
    assert_eq!(out.outputs()[0].text(), Some("my ssn is {SSN}"));
    assert_eq!(out.assessments().len(), 1);
    let usage = out.usage().unwrap();
    assert_eq!(
        (
            usage.topic_policy_units(),
            usage.content_policy_units(),
            usage.word_policy_units(),
            usage.sensitive_information_policy_units(),
            usage.sensitive_information_policy_free_units(),
            usage.contextual_grounding_policy_units(),
            usage.content_policy_image_units(),
        ),
        (1, 2, 3, 4, 5, 6, Some(7))
    );
}

// ---------------------------------------------------------------------------------------------
// Validation: raw requests the SDK would refuse to send
// ---------------------------------------------------------------------------------------------

async fn post_json(addr: std::net::SocketAddr, path: &str, body: &str) -> common::RawResponse {
    common::raw_request(
        addr,
        "POST",
        path,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// Asserts a Bedrock ValidationException: 400, the error type header and `{"message": message}`.
fn assert_validation(resp: &common::RawResponse, message: &str) {
    assert_eq!(resp.status, 400, "{}", resp.body_text());
    assert_eq!(
        resp.error_type(),
        Some("ValidationException"),
        "{:?}",
        resp.headers
    );
    assert_eq!(
        resp.json()["message"].as_str(),
        Some(message),
        "{}",
        resp.body_text()
    );
}

#[tokio::test]
async fn validation_missing_message_role() {
    let (mock, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value null at 'messages.1.member.role' failed to satisfy constraint: Member must not be null",
    );
    assert!(mock.seen().converse.is_empty(), "the handler must not run");
}

/// Regression: an incomplete element inside a required list must not also report the list as null.
#[tokio::test]
async fn validation_missing_nested_tool_use_name() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"assistant","content":[{"text":"ok"},{"toolUse":{"toolUseId":"t1","input":{}}}]}]}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value null at 'messages.1.member.content.2.member.toolUse.name' failed to satisfy constraint: Member must not be null",
    );
}

/// Regression, one level up: an incomplete `toolSpec` must not make the required `toolConfig.tools`
/// list count as null or as too short.
#[tokio::test]
async fn validation_missing_tool_spec_input_schema() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather"}}]}}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value null at 'toolConfig.tools.1.member.toolSpec.inputSchema' failed to satisfy constraint: Member must not be null",
    );
}

/// AWS renders a list value with Java's `toString`, so an empty list shows as `'[]'`.
#[tokio::test]
async fn validation_empty_tool_list() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[]}}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
}

#[tokio::test]
async fn validation_two_violations_are_counted() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"user"},{"content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_validation(
        &resp,
        "2 validation errors detected: Value null at 'messages.1.member.content' failed to satisfy constraint: Member must not be null; Value null at 'messages.2.member.role' failed to satisfy constraint: Member must not be null",
    );
}

#[tokio::test]
async fn validation_unknown_role() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"robot","content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value 'robot' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant, system]",
    );
}

#[tokio::test]
async fn validation_max_tokens_below_range() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":0}}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
}

#[tokio::test]
async fn validation_temperature_above_range() {
    let (_, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model/m.x/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"temperature":1.5}}"#,
    )
    .await;
    assert_validation(
        &resp,
        "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1",
    );
}

#[tokio::test]
async fn validation_empty_model_id() {
    let (mock, _, addr) = start().await;
    let resp = post_json(
        addr,
        "/model//converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_eq!(resp.status, 400, "{:?} {}", resp.headers, resp.body_text());
    assert_eq!(
        resp.error_type(),
        Some("ValidationException"),
        "{:?}",
        resp.headers
    );
    // Both of the label's constraints fail for '', and AWS reports every violation.
    let message = resp.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with(
            "2 validation errors detected: Value '' at 'modelId' failed to satisfy constraint: \
             Member must have length greater than or equal to 1; Value '' at 'modelId' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: "
        ),
        "{message}"
    );
    assert!(mock.seen().converse.is_empty(), "the handler must not run");
}

#[tokio::test]
async fn validation_malformed_json() {
    let (mock, _, addr) = start().await;
    let resp = post_json(addr, "/model/m.x/converse", r#"{"messages": ["#).await;
    assert_eq!(resp.status, 400, "{:?} {}", resp.headers, resp.body_text());
    assert_eq!(
        resp.error_type(),
        Some("ValidationException"),
        "{:?}",
        resp.headers
    );
    assert!(resp.json()["message"].is_string(), "{}", resp.body_text());
    assert!(mock.seen().converse.is_empty(), "the handler must not run");
}

#[tokio::test]
async fn validation_wrong_json_type() {
    let (mock, _, addr) = start().await;
    let resp = post_json(addr, "/model/m.x/converse", r#"{"messages": 5}"#).await;
    assert_eq!(resp.status, 400, "{:?} {}", resp.headers, resp.body_text());
    assert_eq!(
        resp.error_type(),
        Some("ValidationException"),
        "{:?}",
        resp.headers
    );
    assert!(resp.json()["message"].is_string(), "{}", resp.body_text());
    assert!(mock.seen().converse.is_empty(), "the handler must not run");
}

// ---------------------------------------------------------------------------------------------
// Operations left at their default
// ---------------------------------------------------------------------------------------------

/// Overrides nothing: every operation answers the generated NotImplemented.
struct Bare;

impl BedrockRuntime for Bare {}

#[tokio::test]
async fn default_operation_answers_not_implemented() {
    let app = router(Arc::new(Bare), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime_no_retries(addr);
    let err = client
        .converse()
        .model_id(SONNET)
        .messages(user_text("hi"))
        .send()
        .await
        .expect_err("not implemented");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(501));
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("NotImplemented"), "{err:?}");
    assert!(!err.is_validation_exception() && !err.is_internal_server_exception());
    assert_eq!(err.message(), Some("Converse is not implemented yet"));

    let resp = post_json(addr, "/model/m.x/invoke", r#"{"anything":true}"#).await;
    assert_eq!(resp.status, 501);
    assert_eq!(resp.error_type(), Some("NotImplemented"));
}

#[tokio::test]
async fn validation_checks_map_keys() {
    let (_, _, addr) = start().await;
    let long_key = "k".repeat(257);
    let body = format!(
        r#"{{"messages":[{{"role":"user","content":[{{"text":"hi"}}]}}],"requestMetadata":{{"{long_key}":"v"}}}}"#
    );
    let resp = post_json(addr, "/model/m.x/converse", &body).await;
    assert_validation(
        &resp,
        &format!(
            "1 validation error detected: Value '{long_key}' at 'requestMetadata.{long_key}' failed to satisfy constraint: Member must have length less than or equal to 256"
        ),
    );
}
