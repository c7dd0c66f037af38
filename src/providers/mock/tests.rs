//! The mock provider's answers: echo, streaming, token counts, tool calls, failures on request.

use futures_util::StreamExt as _;
use quarry_bedrock_runtime::operation::converse::ConverseInput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput as Answer,
    ConverseStreamOutput, Message, StopReason, Tool, ToolConfiguration, ToolInputSchema,
    ToolResultBlock, ToolResultContentBlock, ToolSpecification,
};

use super::*;
use crate::providers::{ModelId, Provider};

fn text_message(role: ConversationRole, text: &str) -> Message {
    Message::builder()
        .role(role)
        .content(vec![ContentBlock::Text(text.to_owned())])
        .build()
        .unwrap()
}

fn call(model: &str, messages: Vec<Message>, headers: &[(&str, &str)]) -> ConverseCall {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    ConverseCall {
        model: ModelId::new(model),
        request: ConverseInput::builder()
            .model_id(model)
            .messages(messages)
            .build()
            .unwrap(),
        headers: map.into(),
    }
}

fn mock() -> Mock {
    Mock::new(ProviderId::new("mock"), MockConfig::default())
}

#[tokio::test]
async fn echoes_the_last_user_text_and_counts_words() {
    let out = mock()
        .converse(call(
            "anthropic.claude-3",
            vec![
                text_message(ConversationRole::User, "first question"),
                text_message(ConversationRole::Assistant, "an answer"),
                text_message(ConversationRole::User, "Tell me a story"),
            ],
            &[],
        ))
        .await
        .unwrap();
    let Answer::Message(m) = &out.output;
    assert_eq!(
        m.content,
        vec![ContentBlock::Text("Tell me a story".into())]
    );
    assert_eq!(out.stop_reason, StopReason::EndTurn);
    // 2 + 2 + 4 words in, 4 out.
    assert_eq!(
        (
            out.usage.input_tokens,
            out.usage.output_tokens,
            out.usage.total_tokens
        ),
        (8, 4, 12)
    );
}

#[tokio::test]
async fn a_configured_reply_replaces_the_echo() {
    let m = Mock::new(
        ProviderId::new("mock"),
        MockConfig {
            reply: Some("fixed".into()),
            stream_chunk_chars: 2,
            ..MockConfig::default()
        },
    );
    let out = m
        .converse(call(
            "x",
            vec![text_message(ConversationRole::User, "hi")],
            &[],
        ))
        .await
        .unwrap();
    let Answer::Message(msg) = &out.output;
    assert_eq!(msg.content, vec![ContentBlock::Text("fixed".into())]);
}

#[tokio::test]
async fn streams_the_full_sequence_in_small_deltas() {
    let stream = mock()
        .converse_stream(call(
            "x",
            vec![text_message(
                ConversationRole::User,
                "Hello from the knight",
            )],
            &[],
        ))
        .await
        .unwrap();
    let events: Vec<_> = stream
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(matches!(events[0], ConverseStreamOutput::MessageStart(_)));
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
                ContentBlockDelta::Text(t) => Some(t.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(text, "Hello from the knight");
    let deltas = events
        .iter()
        .filter(|e| matches!(e, ConverseStreamOutput::ContentBlockDelta(_)))
        .count();
    assert_eq!(deltas, 3, "21 characters in 8-character deltas");
    let n = events.len();
    assert!(matches!(
        events[n - 3],
        ConverseStreamOutput::ContentBlockStop(_)
    ));
    assert!(
        matches!(&events[n - 2], ConverseStreamOutput::MessageStop(s) if s.stop_reason == StopReason::EndTurn)
    );
    assert!(
        matches!(&events[n - 1], ConverseStreamOutput::Metadata(m) if m.usage.output_tokens == 4)
    );
}

fn weather_tool() -> ToolConfiguration {
    let schema = aws_smithy_types::Document::Object(
        [
            (
                "type".to_owned(),
                aws_smithy_types::Document::String("object".into()),
            ),
            (
                "required".to_owned(),
                aws_smithy_types::Document::Array(vec![aws_smithy_types::Document::String(
                    "city".into(),
                )]),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let spec = ToolSpecification::builder()
        .name("get_weather")
        .input_schema(ToolInputSchema::Json(schema))
        .build()
        .unwrap();
    ToolConfiguration::builder()
        .tools(vec![Tool::ToolSpec(spec)])
        .build()
        .unwrap()
}

#[tokio::test]
async fn calls_a_tool_the_prompt_names_and_reads_its_result() {
    let mut c = call(
        "x",
        vec![text_message(
            ConversationRole::User,
            "Use get_weather for Paris",
        )],
        &[],
    );
    c.request.tool_config = Some(weather_tool());
    let out = mock().converse(c.clone()).await.unwrap();
    assert_eq!(out.stop_reason, StopReason::ToolUse);
    let Answer::Message(m) = &out.output;
    let ContentBlock::ToolUse(tool) = &m.content[0] else {
        panic!("{m:?}")
    };
    assert_eq!(tool.name, "get_weather");
    assert_eq!(
        tool.input,
        aws_smithy_types::Document::Object(
            [(
                "city".to_owned(),
                aws_smithy_types::Document::String("mock".into())
            )]
            .into_iter()
            .collect()
        )
    );
    // The tool result goes back; the mock answers with what came back.
    let result = ToolResultBlock::builder()
        .tool_use_id(tool.tool_use_id.clone())
        .content(vec![ToolResultContentBlock::Text("18 degrees".into())])
        .build()
        .unwrap();
    let mut follow = c;
    let msgs = follow.request.messages.get_or_insert_with(Vec::new);
    msgs.push(m.clone());
    msgs.push(
        Message::builder()
            .role(ConversationRole::User)
            .content(vec![ContentBlock::ToolResult(result)])
            .build()
            .unwrap(),
    );
    let out = mock().converse(follow).await.unwrap();
    let Answer::Message(m) = &out.output;
    assert_eq!(
        m.content,
        vec![ContentBlock::Text(format!(
            "The tool results: {} returned 18 degrees.",
            tool.tool_use_id
        ))]
    );
    assert_eq!(out.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn streams_tool_input_as_json_fragments() {
    let mut c = call(
        "x",
        vec![text_message(ConversationRole::User, "call get_weather")],
        &[],
    );
    c.request.tool_config = Some(weather_tool());
    let events: Vec<_> = mock()
        .converse_stream(c)
        .await
        .unwrap()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(matches!(
        &events[1],
        ConverseStreamOutput::ContentBlockStart(_)
    ));
    let json: String = events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
                ContentBlockDelta::ToolUse(t) => Some(t.input.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(json, r#"{"city":"mock"}"#);
    assert!(events.iter().any(|e| matches!(e, ConverseStreamOutput::MessageStop(s) if s.stop_reason == StopReason::ToolUse)));
}

#[tokio::test]
async fn fails_on_request_by_model_id_or_header() {
    let err = mock()
        .converse(call(
            "mock.throttle",
            vec![text_message(ConversationRole::User, "x")],
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttling);
    for kind in ErrorKind::ALL {
        let err = mock()
            .converse(call(
                "x",
                vec![text_message(ConversationRole::User, "x")],
                &[(ERROR_HEADER, kind.code())],
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind);
    }
    let err = mock()
        .converse(call(
            "x",
            vec![text_message(ConversationRole::User, "x")],
            &[(ERROR_HEADER, "Nope")],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
}

#[tokio::test]
async fn fails_mid_stream_after_the_requested_events() {
    let events: Vec<_> = mock()
        .converse_stream(call(
            "x",
            vec![text_message(
                ConversationRole::User,
                "a long enough answer to stream",
            )],
            &[
                (ERROR_HEADER, "ModelStreamErrorException"),
                (ERROR_AFTER_HEADER, "2"),
            ],
        ))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(events.len(), 3);
    assert!(events[0].is_ok() && events[1].is_ok());
    assert_eq!(
        events[2].as_ref().unwrap_err().kind,
        ErrorKind::ModelStreamError
    );
    // `mock.stream-<error>` fails after three events.
    let events: Vec<_> = mock()
        .converse_stream(call(
            "mock.stream-throttle",
            vec![text_message(ConversationRole::User, "x y z")],
            &[],
        ))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(events.len(), 4);
    assert_eq!(events[3].as_ref().unwrap_err().kind, ErrorKind::Throttling);
}
