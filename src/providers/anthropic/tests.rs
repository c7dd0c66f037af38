//! Unit tests: an SSE fixture through the decoder, refusals, the count-tokens body.

use quarry_bedrock_runtime::operation::converse::ConverseInput;
use quarry_bedrock_runtime::types::{
    CachePointBlock, CachePointType, ContentBlock, ConversationRole, ConverseStreamOutput, Message,
    ReasoningContentBlock, ReasoningTextBlock, StopReason,
};

use super::*;
use crate::providers::ModelId;
use crate::providers::api::SseEvent;

fn call(messages: Vec<Message>) -> ConverseCall {
    ConverseCall {
        model: ModelId::new("claude-sonnet-4-5"),
        request: ConverseInput {
            messages: Some(messages),
            ..ConverseInput::builder().model_id("claude").build().unwrap()
        },
        headers: http::HeaderMap::new(),
    }
}

fn user(content: Vec<ContentBlock>) -> Message {
    Message {
        role: ConversationRole::User,
        content,
    }
}

fn decode(fixture: &str) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
    let mut decoder = Anthropic::new("2023-06-01".into()).stream_decoder(&call(vec![]));
    let mut out = Vec::new();
    for block in fixture.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut event = SseEvent::default();
        for line in block.lines() {
            if let Some(name) = line.strip_prefix("event: ") {
                event.event = Some(name.to_owned());
            } else if let Some(data) = line.strip_prefix("data: ") {
                event.data = data.to_owned();
            }
        }
        out.extend(decoder.event(event)?);
    }
    out.extend(decoder.finish(3)?);
    Ok(out)
}

#[test]
fn redacted_thinking_text_stop_sequence_and_cache_writes() {
    let events = decode(include_str!("fixtures/redacted_and_text.sse")).unwrap();
    let redacted = events.iter().find_map(|e| match e {
        ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
            quarry_bedrock_runtime::types::ContentBlockDelta::ReasoningContent(
                quarry_bedrock_runtime::types::ReasoningContentBlockDelta::RedactedContent(b),
            ) => Some(b.as_ref().to_vec()),
            _ => None,
        },
        _ => None,
    });
    // The opaque data string comes back as the blob's bytes, so it can be sent back unchanged.
    assert_eq!(
        redacted.as_deref(),
        Some(&b"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"[..])
    );
    let ConverseStreamOutput::MessageStop(stop) = &events[events.len() - 2] else {
        panic!("{events:?}");
    };
    assert_eq!(stop.stop_reason, StopReason::StopSequence);
    let ConverseStreamOutput::Metadata(meta) = events.last().unwrap() else {
        panic!();
    };
    assert_eq!(meta.usage.input_tokens, 40);
    assert_eq!(meta.usage.output_tokens, 15);
    assert_eq!(meta.usage.cache_write_input_tokens, Some(300));
    assert_eq!(meta.usage.cache_read_input_tokens, None);
    assert_eq!(meta.usage.total_tokens, 355);
}

#[test]
fn a_stream_cut_before_message_stop_is_an_error() {
    let fixture = include_str!("fixtures/redacted_and_text.sse");
    let cut = &fixture[..fixture.find("event: message_delta").unwrap()];
    assert_eq!(decode(cut).unwrap_err().kind, ErrorKind::ModelStreamError);
}

#[test]
fn unsigned_reasoning_and_orphan_cache_points_are_refused() {
    let api = Anthropic::new("2023-06-01".into());
    let unsigned = Message {
        role: ConversationRole::Assistant,
        content: vec![ContentBlock::ReasoningContent(
            ReasoningContentBlock::ReasoningText(ReasoningTextBlock {
                text: "t".into(),
                signature: None,
            }),
        )],
    };
    let err = api.request(&call(vec![unsigned]), false).unwrap_err();
    assert_eq!(
        err.message,
        "reasoningContent without a signature is not supported by provider 'anthropic'"
    );
    let orphan = user(vec![ContentBlock::CachePoint(CachePointBlock {
        r#type: CachePointType::Default,
        ttl: None,
    })]);
    let err = api.request(&call(vec![orphan]), false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(
        err.message.contains("must follow the content it caches"),
        "{}",
        err.message
    );
}

#[test]
fn the_count_tokens_body_has_no_generation_parameters() {
    let api = Anthropic::new("2023-06-01".into());
    let request = api
        .count_tokens_request(&call(vec![user(vec![ContentBlock::Text("hi".into())])]))
        .unwrap()
        .unwrap();
    assert_eq!(request.path_and_query, "/v1/messages/count_tokens");
    assert!(request.body.get("max_tokens").is_none());
    assert!(request.body.get("stream").is_none());
    assert_eq!(
        api.count_tokens_response(br#"{"input_tokens": 9}"#)
            .unwrap(),
        9
    );
}

use crate::providers::test_support::{normalized, turn};

proptest::proptest! {
    /// Assistant turns translated to the Messages API and read back as Anthropic answers keep
    /// their text, tool names, tool ids and inputs.
    #[test]
    fn converse_to_anthropic_and_back_keeps_text_and_tool_calls(turns in proptest::collection::vec(turn("toolu_[a-zA-Z0-9]{4,20}"), 1..5)) {
        let mut history = Vec::new();
        for t in &turns {
            history.push(user(vec![ContentBlock::Text("go".into())]));
            let content = t.content();
            history.push(Message { role: ConversationRole::Assistant, content });
        }
        let api = Anthropic::new("2023-06-01".into());
        let request = api.request(&call(history.clone()), false).unwrap();
        let sent: Vec<&serde_json::Value> = request.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "assistant")
            .collect();
        proptest::prop_assert_eq!(sent.len(), turns.len());
        let originals = history.iter().filter(|m| m.role == ConversationRole::Assistant);
        for (message_json, original) in sent.iter().zip(originals) {
            let answer = serde_json::json!({
                "id": "msg", "type": "message", "role": "assistant", "model": "m",
                "content": message_json["content"], "stop_reason": "end_turn",
                "usage": { "input_tokens": 1, "output_tokens": 1 }
            });
            let out = api.response(&call(vec![]), answer.to_string().as_bytes(), 0).unwrap();
            let quarry_bedrock_runtime::types::ConverseOutput::Message(back) = out.output;
            proptest::prop_assert_eq!(normalized(&back.content), normalized(&original.content));
        }
    }
}
