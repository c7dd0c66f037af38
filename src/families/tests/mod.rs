//! Tests of the families: model-id detection and shared builders here, one file per family below.

mod anthropic;
mod cohere;
mod llama;
mod mistral;
mod nova;
mod titan;

use aws_smithy_types::Document;
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockDeltaEvent, ContentBlockStart,
    ContentBlockStartEvent, ContentBlockStopEvent, ConversationRole, ConverseMetrics,
    ConverseOutput as OutputUnion, ConverseStreamMetadataEvent, ConverseStreamMetrics,
    ConverseStreamOutput, Message, MessageStartEvent, MessageStopEvent, StopReason, TokenUsage,
    ToolUseBlockDelta, ToolUseBlockStart,
};
use serde_json::Value;

use super::body::to_document;
use super::{Dialect, Family, Invocation, ResponseContext};
use crate::providers::{ErrorKind, ProviderError};

pub(super) const ID: &str = "0123456789abcdef0123456789abcdef";

pub(super) fn ctx(model_id: &str) -> ResponseContext {
    ResponseContext {
        model_id: model_id.to_owned(),
        response_id: ID.to_owned(),
    }
}

pub(super) fn parse(family: Family, body: &Value) -> Invocation {
    family
        .parse_request(body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{body} should parse: {e}"))
}

/// The message of the validation error `body` gives.
pub(super) fn refusal(family: Family, body: &[u8]) -> String {
    let err: ProviderError = family
        .parse_request(body)
        .expect_err("the body should be refused");
    assert_eq!(err.kind, ErrorKind::Validation, "{err}");
    err.message
}

/// Asserts `body` is refused with a message holding every one of `needles`.
pub(super) fn assert_refused(family: Family, body: &Value, needles: &[&str]) {
    let message = refusal(family, body.to_string().as_bytes());
    for needle in needles {
        assert!(
            message.contains(needle),
            "refusal of {body} should mention {needle:?}: {message}"
        );
    }
}

pub(super) fn doc(v: Value) -> Document {
    to_document(&v)
}

pub(super) fn user(text: &str) -> Message {
    super::text_message(ConversationRole::User, text)
}

pub(super) fn assistant(text: &str) -> Message {
    super::text_message(ConversationRole::Assistant, text)
}

pub(super) fn usage(input: i32, output: i32) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        cache_read_input_tokens: None,
        cache_write_input_tokens: None,
        cache_details: None,
    }
}

pub(super) fn output(
    content: Vec<ContentBlock>,
    stop: StopReason,
    u: TokenUsage,
) -> ConverseOutput {
    ConverseOutput {
        output: OutputUnion::Message(Message {
            role: ConversationRole::Assistant,
            content,
        }),
        stop_reason: stop,
        usage: u,
        metrics: ConverseMetrics { latency_ms: 321 },
        additional_model_response_fields: None,
        trace: None,
        performance_config: None,
        service_tier: None,
    }
}

pub(super) fn render(dialect: &Dialect, out: &ConverseOutput, model_id: &str) -> Value {
    let bytes = dialect.render_response(out, &ctx(model_id));
    serde_json::from_slice(&bytes).expect("the rendered body is JSON")
}

pub(super) fn start() -> ConverseStreamOutput {
    ConverseStreamOutput::MessageStart(MessageStartEvent {
        role: ConversationRole::Assistant,
    })
}

pub(super) fn text(index: i32, text: &str) -> ConverseStreamOutput {
    ConverseStreamOutput::ContentBlockDelta(ContentBlockDeltaEvent {
        delta: ContentBlockDelta::Text(text.to_owned()),
        content_block_index: index,
    })
}

pub(super) fn tool_start(index: i32, id: &str, name: &str) -> ConverseStreamOutput {
    ConverseStreamOutput::ContentBlockStart(ContentBlockStartEvent {
        start: ContentBlockStart::ToolUse(ToolUseBlockStart {
            tool_use_id: id.to_owned(),
            name: name.to_owned(),
            r#type: None,
        }),
        content_block_index: index,
    })
}

pub(super) fn tool_delta(index: i32, input: &str) -> ConverseStreamOutput {
    ConverseStreamOutput::ContentBlockDelta(ContentBlockDeltaEvent {
        delta: ContentBlockDelta::ToolUse(ToolUseBlockDelta {
            input: input.to_owned(),
        }),
        content_block_index: index,
    })
}

pub(super) fn block_stop(index: i32) -> ConverseStreamOutput {
    ConverseStreamOutput::ContentBlockStop(ContentBlockStopEvent {
        content_block_index: index,
    })
}

pub(super) fn stop(reason: StopReason) -> ConverseStreamOutput {
    ConverseStreamOutput::MessageStop(MessageStopEvent {
        stop_reason: reason,
        additional_model_response_fields: None,
    })
}

pub(super) fn metadata(input: i32, output: i32, latency_ms: i64) -> ConverseStreamOutput {
    ConverseStreamOutput::Metadata(ConverseStreamMetadataEvent {
        usage: usage(input, output),
        metrics: ConverseStreamMetrics { latency_ms },
        trace: None,
        performance_config: None,
        service_tier: None,
    })
}

/// The usual text answer: start, two text deltas, block stop, end turn, usage 11 in / 7 out.
pub(super) fn text_events() -> Vec<ConverseStreamOutput> {
    vec![
        start(),
        text(0, "Hello"),
        text(0, " there"),
        block_stop(0),
        stop(StopReason::EndTurn),
        metadata(11, 7, 250),
    ]
}

/// Every chunk `events` encode to, `finish` included, as JSON; first-byte latency 40 ms.
pub(super) fn encode(
    dialect: &Dialect,
    model_id: &str,
    events: &[ConverseStreamOutput],
) -> Vec<Value> {
    let mut encoder = dialect.stream_encoder(ctx(model_id));
    encoder.set_first_byte_latency_ms(40);
    let mut chunks: Vec<Vec<u8>> = events.iter().flat_map(|e| encoder.push(e)).collect();
    chunks.extend(encoder.finish());
    assert!(encoder.finish().is_empty(), "finish twice adds nothing");
    chunks
        .iter()
        .map(|c| serde_json::from_slice(c).expect("each chunk is JSON"))
        .collect()
}

pub(super) fn metrics(input: i32, output: i32, latency: i64, first_byte: i64) -> Value {
    serde_json::json!({
        "inputTokenCount": input,
        "outputTokenCount": output,
        "invocationLatency": latency,
        "firstByteLatency": first_byte,
    })
}

#[test]
fn every_id_form_detects_its_family() {
    let cases = [
        ("anthropic.claude-3-haiku-20240307-v1:0", Family::Anthropic),
        (
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            Family::Anthropic,
        ),
        (
            "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            Family::Anthropic,
        ),
        (
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            Family::Anthropic,
        ),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            Family::Anthropic,
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1",
            Family::Anthropic,
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
            Family::Anthropic,
        ),
        ("meta.llama3-8b-instruct-v1:0", Family::Llama),
        (
            "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
            Family::Llama,
        ),
        ("mistral.mistral-7b-instruct-v0:2", Family::Mistral),
        ("mistral.mistral-large-2407-v1:0", Family::Mistral),
        (
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fmistral.mixtral-8x7b-instruct-v0%3A1",
            Family::Mistral,
        ),
        ("amazon.titan-text-express-v1", Family::Titan),
        ("amazon.titan-text-premier-v1:0", Family::Titan),
        ("amazon.titan-tg1-large", Family::Titan),
        ("amazon.nova-lite-v1:0", Family::Nova),
        ("us.amazon.nova-pro-v1:0", Family::Nova),
        ("cohere.command-r-plus-v1:0", Family::Cohere),
        ("cohere.command-text-v14", Family::Cohere),
        ("cohere.command-light-text-v14", Family::Cohere),
        ("  Anthropic.Claude-Instant-v1 ", Family::Anthropic),
    ];
    for (id, family) in cases {
        assert_eq!(Family::detect(id), Ok(family), "{id}");
    }
}

#[test]
fn ids_of_other_models_are_refused_naming_the_id() {
    for id in [
        "amazon.nova-canvas-v1:0",
        "amazon.nova-sonic-v1:0",
        "amazon.titan-embed-text-v2:0",
        "cohere.embed-english-v3",
        "ai21.jamba-1-5-large-v1:0",
        "stability.sd3-large-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/xyz",
        "",
    ] {
        let err = Family::detect(id).expect_err(id);
        assert_eq!(err.kind, ErrorKind::Validation);
        assert!(err.message.contains(id), "{id}: {}", err.message);
    }
}

#[test]
fn base_model_ids_drop_arns_and_region_prefixes() {
    assert_eq!(
        super::base_model_id(
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.meta.llama3-2-3b-instruct-v1:0"
        )
        .as_deref(),
        Some("meta.llama3-2-3b-instruct-v1:0")
    );
    assert_eq!(
        super::base_model_id("us-gov.anthropic.claude-3-haiku-20240307-v1:0").as_deref(),
        Some("anthropic.claude-3-haiku-20240307-v1:0")
    );
    assert_eq!(
        super::base_model_id("arn:aws:bedrock:us-east-1:1:custom-model/abc"),
        None
    );
}

#[test]
fn parse_invoke_request_detects_then_parses() {
    let body = br#"{"prompt": "Hi", "max_gen_len": 10}"#;
    let invocation =
        super::parse_invoke_request("us.meta.llama3-1-8b-instruct-v1:0", body).unwrap();
    assert_eq!(invocation.dialect, Dialect::Llama);
    let err = super::parse_invoke_request("ai21.j2-ultra-v1", body).unwrap_err();
    assert!(err.message.contains("ai21.j2-ultra-v1"), "{}", err.message);
}

#[test]
fn parts_become_a_converse_input_for_the_model() {
    let invocation = parse(
        Family::Llama,
        &serde_json::json!({"prompt": "Hi", "max_gen_len": 10}),
    );
    let input = invocation
        .parts
        .into_converse_input("meta.llama3-8b-instruct-v1:0");
    assert_eq!(input.model_id, "meta.llama3-8b-instruct-v1:0");
    assert_eq!(input.messages, Some(vec![user("Hi")]));
    assert_eq!(input.system, None);
    assert_eq!(input.inference_config.and_then(|c| c.max_tokens), Some(10));
    assert_eq!(input.additional_model_request_fields, None);
}

#[test]
fn response_ids_are_fresh_and_shaped() {
    let a = ResponseContext::new("m");
    let b = ResponseContext::new("m");
    assert_ne!(a.response_id, b.response_id);
    assert_eq!(a.response_id.len(), 32);
    assert!(a.response_id.chars().all(|c| c.is_ascii_hexdigit()));
    let c = ctx("m");
    assert_eq!(c.uuid(false), "01234567-89ab-cdef-0123-456789abcdef");
    assert_ne!(c.uuid(true), c.uuid(false));
    assert_eq!(
        ctx("us.anthropic.claude-3-5-haiku-20241022-v1:0").bare_model_name(),
        "claude-3-5-haiku-20241022"
    );
}

#[test]
fn malformed_json_and_non_objects_are_refused_for_every_family() {
    for family in Family::ALL {
        let message = refusal(family, b"{\"prompt\": ");
        assert!(
            message.starts_with("Malformed input request: #: "),
            "{family}: {message}"
        );
        assert!(message.contains("not valid JSON"), "{family}: {message}");
        let message = refusal(family, b"[1, 2]");
        assert!(
            message.contains("expected type: JSONObject, found: JSONArray"),
            "{family}: {message}"
        );
    }
}

#[test]
fn documents_and_json_round_trip() {
    let v = serde_json::json!({"a": [1, -2, 2.5, "x", true, null], "b": {"c": {}}});
    assert_eq!(super::body::to_value(&doc(v.clone())), v);
}
