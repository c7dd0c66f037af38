//! Unit tests: SSE fixtures through the decoder, refusals, and a Converse → OpenAI → Converse round trip.

use proptest::prelude::*;
use quarry_bedrock_runtime::operation::converse::ConverseInput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ConversationRole, ConverseOutput as Answer, ConverseStreamOutput, ImageBlock,
    ImageFormat, Message, ReasoningContentBlock, ReasoningTextBlock, StopReason, ToolResultBlock,
    ToolResultContentBlock,
};
use serde_json::json;

use super::*;
use crate::providers::api::SseEvent;
use crate::providers::{ModelId, ProviderId};

fn call(messages: Vec<Message>) -> ConverseCall {
    ConverseCall {
        model: ModelId::new("gpt-4o"),
        request: ConverseInput {
            model_id: "gpt-4o".into(),
            messages: Some(messages),
            ..ConverseInput::builder().model_id("x").build().unwrap()
        },
        headers: Default::default(),
    }
}

fn message(role: ConversationRole, content: Vec<ContentBlock>) -> Message {
    Message { role, content }
}

/// Feeds an SSE fixture (as the provider sends it) through a fresh decoder.
fn decode(fixture: &str) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
    let mut decoder = OpenAi::default().stream_decoder(&call(vec![]));
    let mut out = Vec::new();
    for block in fixture.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let data = block.trim().strip_prefix("data: ").expect("a data line");
        out.extend(decoder.event(SseEvent {
            event: None,
            data: data.to_owned(),
        })?);
    }
    out.extend(decoder.finish(7)?);
    Ok(out)
}

#[test]
fn parallel_tool_calls_stream_as_consecutive_blocks_with_cached_usage() {
    let events = decode(include_str!("fixtures/parallel_tools.sse")).unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| format!("{e:?}").split('(').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "MessageStart",
            "ContentBlockStart",
            "ContentBlockDelta",
            "ContentBlockDelta",
            "ContentBlockStop",
            "ContentBlockStart",
            "ContentBlockDelta",
            "ContentBlockStop",
            "MessageStop",
            "Metadata"
        ]
    );
    let ConverseStreamOutput::ContentBlockStart(second) = &events[5] else {
        panic!("{:?}", events[5]);
    };
    assert_eq!(second.content_block_index, 1);
    let ConverseStreamOutput::MessageStop(stop) = &events[8] else {
        panic!();
    };
    assert_eq!(stop.stop_reason, StopReason::ToolUse);
    let ConverseStreamOutput::Metadata(meta) = &events[9] else {
        panic!();
    };
    assert_eq!(
        (
            meta.usage.input_tokens,
            meta.usage.output_tokens,
            meta.usage.cache_read_input_tokens,
            meta.usage.total_tokens
        ),
        (16, 36, Some(64), 116)
    );
    assert_eq!(meta.metrics.latency_ms, 7);
}

#[test]
fn interleaved_tool_call_arguments_stream_as_whole_consecutive_blocks() {
    // Some compatible servers interleave parallel calls' argument deltas; Converse streams one
    // block at a time, so the second call is held until the first one's block closes.
    let events = decode(include_str!("fixtures/interleaved_tools.sse")).unwrap();
    let mut blocks: Vec<(i32, String, String)> = Vec::new();
    let mut order = Vec::new();
    for event in &events {
        match event {
            ConverseStreamOutput::ContentBlockStart(s) => {
                let quarry_bedrock_runtime::types::ContentBlockStart::ToolUse(t) = &s.start else {
                    panic!("{s:?}");
                };
                blocks.push((s.content_block_index, t.name.clone(), String::new()));
                order.push(format!("start {}", s.content_block_index));
            }
            ConverseStreamOutput::ContentBlockDelta(d) => {
                let quarry_bedrock_runtime::types::ContentBlockDelta::ToolUse(t) = &d.delta else {
                    panic!("{d:?}");
                };
                let block = blocks
                    .iter_mut()
                    .find(|b| b.0 == d.content_block_index)
                    .expect("a delta for a started block");
                block.2.push_str(&t.input);
                order.push(format!("delta {}", d.content_block_index));
            }
            ConverseStreamOutput::ContentBlockStop(s) => {
                order.push(format!("stop {}", s.content_block_index));
            }
            ConverseStreamOutput::MessageStop(m) => assert_eq!(m.stop_reason, StopReason::ToolUse),
            _ => {}
        }
    }
    assert_eq!(
        blocks,
        [
            (
                0,
                "get_weather".to_owned(),
                "{\"city\":\"Paris\"}".to_owned()
            ),
            (1, "get_time".to_owned(), "{\"tz\":\"UTC\"}".to_owned()),
        ]
    );
    assert_eq!(
        order,
        [
            "start 0", "delta 0", "delta 0", "stop 0", "start 1", "delta 1", "stop 1"
        ]
    );
}

#[test]
fn compatible_servers_reasoning_streams_as_reasoning_content() {
    let events = decode(include_str!("fixtures/reasoning_vllm.sse")).unwrap();
    let rendered = format!("{events:?}");
    let reasoning: String = events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
                quarry_bedrock_runtime::types::ContentBlockDelta::ReasoningContent(
                    quarry_bedrock_runtime::types::ReasoningContentBlockDelta::Text(t),
                ) => Some(t.as_str()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, "Two plus two is four.");
    assert!(rendered.contains("Text(\"4\")"), "{rendered}");
    assert!(rendered.contains("MaxTokens"), "{rendered}");
    // The reasoning block (0) closes before the text block (1) opens.
    let ConverseStreamOutput::ContentBlockStop(first) = &events[3] else {
        panic!("{rendered}");
    };
    assert_eq!(first.content_block_index, 0);
}

#[test]
fn a_stream_without_done_or_finish_reason_is_an_error() {
    let err = decode("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelStreamError);
}

#[test]
fn in_stream_errors_keep_their_message_and_kind() {
    let err = decode("data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_exceeded\"}}\n\n").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttling);
    assert_eq!(err.message, "Rate limit reached");
}

#[test]
fn what_chat_completions_cannot_take_is_refused_by_name() {
    let reasoning = message(
        ConversationRole::Assistant,
        vec![ContentBlock::ReasoningContent(
            ReasoningContentBlock::ReasoningText(ReasoningTextBlock {
                text: "hm".into(),
                signature: Some("s".into()),
            }),
        )],
    );
    let image_result = message(
        ConversationRole::User,
        vec![ContentBlock::ToolResult(ToolResultBlock {
            tool_use_id: "t".into(),
            content: vec![ToolResultContentBlock::Image(ImageBlock {
                format: ImageFormat::Png,
                source: quarry_bedrock_runtime::types::ImageSource::Bytes(
                    aws_smithy_types::Blob::new(vec![1]),
                ),
                error: None,
            })],
            status: None,
            r#type: None,
        })],
    );
    for (history, named) in [
        (vec![reasoning], "reasoningContent"),
        (vec![image_result], "an image inside a toolResult"),
    ] {
        let err = OpenAi::default()
            .request(&call(history), false)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Validation);
        assert_eq!(
            err.message,
            format!("{named} is not supported by provider 'openai'")
        );
    }
}

#[test]
fn error_bodies_give_their_message() {
    let body = json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error" } });
    assert_eq!(
        OpenAi::default()
            .error_message(body.to_string().as_bytes())
            .as_deref(),
        Some("Incorrect API key provided")
    );
    assert_eq!(OpenAi::default().error_message(b"<html>"), None);
    let _ = ProviderId::new("unused");
}

use crate::providers::test_support::{normalized, turn};

proptest! {
    /// Assistant turns translated to OpenAI and read back as OpenAI answers keep their text,
    /// tool names, tool ids and inputs.
    #[test]
    fn converse_to_openai_and_back_keeps_text_and_tool_calls(turns in proptest::collection::vec(turn("call_[a-z0-9]{4,12}"), 1..5)) {
        let mut history = Vec::new();
        for t in &turns {
            history.push(message(ConversationRole::User, vec![ContentBlock::Text("go".into())]));
            let content = t.content();
            history.push(message(ConversationRole::Assistant, content));
        }
        let request = OpenAi::default().request(&call(history.clone()), false).unwrap();
        let sent: Vec<&serde_json::Value> = request.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "assistant")
            .collect();
        prop_assert_eq!(sent.len(), turns.len());
        for (message_json, original) in sent.iter().zip(history.iter().filter(|m| m.role == ConversationRole::Assistant)) {
            let answer = json!({
                "choices": [{ "index": 0, "message": message_json, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 1, "completion_tokens": 1 }
            });
            let out = OpenAi::default().response(&call(vec![]), answer.to_string().as_bytes(), 0).unwrap();
            let Answer::Message(back) = out.output;
            prop_assert_eq!(normalized(&back.content), normalized(&original.content));
        }
    }
}

#[test]
fn a_forced_tool_call_that_ends_with_stop_is_tool_use() {
    let answer = json!({
        "choices": [{ "index": 0, "finish_reason": "stop", "message": { "role": "assistant", "content": null,
            "tool_calls": [{ "id": "call_1", "type": "function",
                             "function": { "name": "f", "arguments": { "a": 1 } } }] } }],
        "usage": { "prompt_tokens": 3, "completion_tokens": 2 }
    });
    let out = OpenAi::default()
        .response(&call(vec![]), answer.to_string().as_bytes(), 0)
        .unwrap();
    assert_eq!(out.stop_reason, StopReason::ToolUse);
    let Answer::Message(m) = out.output;
    let ContentBlock::ToolUse(t) = &m.content[0] else {
        panic!("{m:?}");
    };
    // Arguments sent as an object (some compatible servers) are taken as they are.
    assert_eq!(
        crate::providers::vocab::to_value(&t.input),
        json!({ "a": 1 })
    );
}

#[test]
fn numeric_error_codes_and_openai_rate_limits_map_to_their_kinds() {
    for (error, kind) in [
        (
            json!({ "type": "tokens", "code": "rate_limit_exceeded", "message": "m" }),
            ErrorKind::Throttling,
        ),
        (
            json!({ "type": "BadRequestError", "code": 400, "message": "m" }),
            ErrorKind::Validation,
        ),
        (
            json!({ "type": "InternalServerError", "code": 503, "message": "m" }),
            ErrorKind::ServiceUnavailable,
        ),
        (
            json!({ "type": "server_error", "code": null, "message": "m" }),
            ErrorKind::InternalServer,
        ),
    ] {
        assert_eq!(error_kind(&error), kind, "{error}");
    }
}

#[test]
fn unsigned_reasoning_from_a_compatible_server_stays_out_of_the_next_turn() {
    let history = vec![
        message(
            ConversationRole::User,
            vec![ContentBlock::Text("2+2?".into())],
        ),
        message(
            ConversationRole::Assistant,
            vec![
                ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
                    ReasoningTextBlock {
                        text: "add".into(),
                        signature: None,
                    },
                )),
                ContentBlock::Text("4".into()),
            ],
        ),
        message(
            ConversationRole::User,
            vec![ContentBlock::Text("and 3+3?".into())],
        ),
    ];
    let request = OpenAi::default().request(&call(history), false).unwrap();
    assert_eq!(
        request.body["messages"][1],
        json!({ "role": "assistant", "content": "4" })
    );
}

#[test]
fn several_choices_are_refused_since_converse_answers_with_one() {
    let mut c = call(vec![message(
        ConversationRole::User,
        vec![ContentBlock::Text("hi".into())],
    )]);
    c.request.additional_model_request_fields =
        Some(crate::providers::vocab::to_document(&json!({ "n": 2 })));
    let err = OpenAi::default().request(&c, false).unwrap_err();
    assert_eq!(
        err.message,
        "additionalModelRequestFields n other than 1 is not supported by provider 'openai'"
    );
    c.request.additional_model_request_fields =
        Some(crate::providers::vocab::to_document(&json!({ "n": 1 })));
    assert!(OpenAi::default().request(&c, false).is_ok());
}

#[test]
fn a_legacy_function_call_is_a_tool_use() {
    let body = json!({
        "choices": [{ "index": 0, "finish_reason": "function_call", "message": {
            "role": "assistant", "content": null,
            "function_call": { "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}" }
        }}],
        "usage": { "prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12 }
    });
    let out = response::output(body.to_string().as_bytes(), 3).unwrap();
    assert_eq!(out.stop_reason, StopReason::ToolUse);
    let quarry_bedrock_runtime::types::ConverseOutput::Message(message) = &out.output;
    let [ContentBlock::ToolUse(call)] = message.content.as_slice() else {
        panic!("{message:?}");
    };
    assert_eq!(
        (call.tool_use_id.as_str(), call.name.as_str()),
        ("call_function", "get_weather")
    );
    assert_eq!(
        format!("{:?}", call.input),
        format!(
            "{:?}",
            response::arguments(&json!("{\"city\":\"Oslo\"}")).unwrap()
        )
    );

    let events = decode(concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"function_call\":{\"name\":\"get_weather\",\"arguments\":\"\"}}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"arguments\":\"{\\\"city\\\":\"}}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"arguments\":\"\\\"Oslo\\\"}\"}}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"function_call\"}]}\n\n",
        "data: [DONE]\n\n",
    ))
    .unwrap();
    let rendered = format!("{events:?}");
    assert!(
        rendered.contains("tool_use_id: \"call_function\""),
        "{rendered}"
    );
    assert!(rendered.contains("name: \"get_weather\""), "{rendered}");
    let input: String = events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
                quarry_bedrock_runtime::types::ContentBlockDelta::ToolUse(t) => {
                    Some(t.input.as_str())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(input, "{\"city\":\"Oslo\"}");
    assert!(rendered.contains("ToolUse"), "{rendered}");
}
