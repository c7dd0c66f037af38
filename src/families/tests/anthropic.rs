//! Anthropic Messages and legacy Text Completions bodies, both ways.

use aws_smithy_types::Blob;
use quarry_bedrock_runtime::types::{
    CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ContentBlockDeltaEvent,
    ConversationRole, ConverseStreamOutput, ImageBlock, ImageFormat, ImageSource,
    InferenceConfiguration, Message, MessageStopEvent, ReasoningContentBlock,
    ReasoningContentBlockDelta, ReasoningTextBlock, SpecificToolChoice, StopReason,
    SystemContentBlock, Tool, ToolChoice, ToolConfiguration, ToolInputSchema, ToolResultBlock,
    ToolResultContentBlock, ToolResultStatus, ToolSpecification, ToolUseBlock,
};
use serde_json::json;

use super::*;
use crate::families::{ConverseParts, Dialect, Family};

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

#[test]
fn the_seed_body_with_string_content_parses() {
    let invocation = parse(
        Family::Anthropic,
        &json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Write a haiku about coding."}],
        }),
    );
    assert_eq!(invocation.dialect, Dialect::AnthropicMessages);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("Write a haiku about coding.")],
            system: vec![],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(1024),
                temperature: None,
                top_p: None,
                stop_sequences: None,
            }),
            tool_config: None,
            additional_model_request_fields: None,
        }
    );
}

#[test]
fn a_full_body_parses_field_by_field() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["interleaved-thinking-2025-05-14"],
        "max_tokens": 2048,
        "system": [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture, and the weather in Paris?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Need the weather tool.", "signature": "sig-1"},
                {"type": "redacted_thinking", "data": "opaque=="},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": true,
                 "content": [{"type": "text", "text": "service down"}]},
            ]},
        ],
        "temperature": 0.5,
        "top_p": 0.25,
        "top_k": 40,
        "stop_sequences": ["STOP"],
        "tools": [{
            "name": "get_weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    });
    let parts = parse(Family::Anthropic, &body).parts;
    assert_eq!(
        parts.system,
        vec![
            SystemContentBlock::Text("You are a weather bot.".into()),
            SystemContentBlock::CachePoint(CachePointBlock {
                r#type: CachePointType::Default,
                ttl: None,
            }),
        ]
    );
    assert_eq!(
        parts.messages,
        vec![
            Message {
                role: ConversationRole::User,
                content: vec![
                    ContentBlock::Text("What is in this picture, and the weather in Paris?".into()),
                    ContentBlock::Image(ImageBlock {
                        format: ImageFormat::Png,
                        source: ImageSource::Bytes(Blob::new(b"\x89PNG\r\n\x1a\n".to_vec())),
                        error: None,
                    }),
                ],
            },
            Message {
                role: ConversationRole::Assistant,
                content: vec![
                    ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
                        ReasoningTextBlock {
                            text: "Need the weather tool.".into(),
                            signature: Some("sig-1".into()),
                        }
                    )),
                    ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(
                        Blob::new(b"opaque==".to_vec())
                    )),
                    ContentBlock::ToolUse(ToolUseBlock {
                        tool_use_id: "toolu_01".into(),
                        name: "get_weather".into(),
                        input: doc(json!({"city": "Paris"})),
                        r#type: None,
                    }),
                ],
            },
            Message {
                role: ConversationRole::User,
                content: vec![ContentBlock::ToolResult(ToolResultBlock {
                    tool_use_id: "toolu_01".into(),
                    content: vec![ToolResultContentBlock::Text("service down".into())],
                    status: Some(ToolResultStatus::Error),
                    r#type: None,
                })],
            },
        ]
    );
    assert_eq!(
        parts.inference_config,
        Some(InferenceConfiguration {
            max_tokens: Some(2048),
            temperature: Some(0.5),
            top_p: Some(0.25),
            stop_sequences: Some(vec!["STOP".into()]),
        })
    );
    assert_eq!(
        parts.tool_config,
        Some(ToolConfiguration {
            tools: vec![Tool::ToolSpec(ToolSpecification {
                name: "get_weather".into(),
                description: Some("Weather by city".into()),
                input_schema: ToolInputSchema::Json(doc(json!({
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                }))),
                strict: None,
            })],
            tool_choice: Some(ToolChoice::Tool(SpecificToolChoice {
                name: "get_weather".into()
            })),
        })
    );
    assert_eq!(
        parts.additional_model_request_fields,
        Some(doc(json!({
            "anthropic_beta": ["interleaved-thinking-2025-05-14"],
            "top_k": 40,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        })))
    );
}

#[test]
fn malformed_and_unsupported_bodies_are_refused_by_field() {
    let ok = |extra: serde_json::Value| {
        let mut body = json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let f = Family::Anthropic;
    assert_refused(
        f,
        &json!({"max_tokens": 10, "messages": []}),
        &["Malformed input request", "[anthropic_version]"],
    );
    assert_refused(
        f,
        &json!({"anthropic_version": "bedrock-2023-05-31", "messages": []}),
        &["[max_tokens]"],
    );
    assert_refused(
        f,
        &ok(json!({"anthropic_version": "2023-06-01"})),
        &["#/anthropic_version", "2023-06-01"],
    );
    assert_refused(
        f,
        &ok(json!({"max_tokens": "ten"})),
        &["#/max_tokens", "expected type: Integer, found: String"],
    );
    assert_refused(
        f,
        &ok(json!({"max_tokens": 1.5})),
        &["#/max_tokens", "Integer"],
    );
    assert_refused(
        f,
        &ok(json!({"messages": [{"role": "user", "content": 7}]})),
        &["#/messages/0/content", "expected type"],
    );
    assert_refused(
        f,
        &ok(json!({"messages": [{"role": "system", "content": "x"}]})),
        &["#/messages/0/role", "system"],
    );
    assert_refused(
        f,
        &ok(json!({"messages": [{"role": "user"}]})),
        &["#/messages/0", "[content]"],
    );
    assert_refused(
        f,
        &ok(json!({"stream": true})),
        &["extraneous key [stream]"],
    );
    assert_refused(
        f,
        &ok(json!({"messages": [{"role": "user", "content": "x", "name": "bob"}]})),
        &["#/messages/0", "extraneous key [name]"],
    );
    assert_refused(
        f,
        &ok(
            json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]}),
        ),
        &["#/messages/0/content/0/source/type", "url"],
    );
    assert_refused(
        f,
        &ok(
            json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "AA=="}}]}]}),
        ),
        &["#/messages/0/content/0/source/media_type", "image/tiff"],
    );
    assert_refused(
        f,
        &ok(
            json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "%%%"}}]}]}),
        ),
        &["#/messages/0/content/0/source/data", "base64"],
    );
    assert_refused(
        f,
        &ok(
            json!({"messages": [{"role": "user", "content": [{"type": "server_tool_use", "id": "x"}]}]}),
        ),
        &["#/messages/0/content/0/type", "server_tool_use"],
    );
    assert_refused(
        f,
        &ok(json!({"tools": [{"type": "bash_20250124", "name": "bash"}]})),
        &["#/tools/0/type", "bash_20250124"],
    );
    assert_refused(
        f,
        &ok(json!({"tools": [{"name": "t", "input_schema": {}}], "tool_choice": {"type": "none"}})),
        &["#/tool_choice/type", "none"],
    );
    assert_refused(
        f,
        &ok(
            json!({"tools": [{"name": "t", "input_schema": {}}], "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}),
        ),
        &["#/tool_choice/disable_parallel_tool_use"],
    );
    assert_refused(
        f,
        &ok(json!({"tool_choice": {"type": "auto"}})),
        &["tool_choice"],
    );
    assert_refused(
        f,
        &ok(
            json!({"messages": [{"role": "assistant", "content": [{"type": "text", "text": "x", "citations": []}]}]}),
        ),
        &["#/messages/0/content/0/citations"],
    );
}

#[test]
fn an_answer_renders_as_a_messages_response() {
    let mut out = output(
        vec![
            ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
                ReasoningTextBlock {
                    text: "Think.".into(),
                    signature: Some("sig".into()),
                },
            )),
            ContentBlock::Text("Let me check.".into()),
            ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: "toolu_9".into(),
                name: "get_weather".into(),
                input: doc(json!({"city": "Paris"})),
                r#type: None,
            }),
        ],
        StopReason::ToolUse,
        usage(25, 40),
    );
    out.usage.cache_read_input_tokens = Some(5);
    assert_eq!(
        render(&Dialect::AnthropicMessages, &out, MODEL),
        json!({
            "id": format!("msg_bdrk_{ID}"),
            "type": "message",
            "role": "assistant",
            "model": "claude-3-haiku-20240307",
            "content": [
                {"type": "thinking", "thinking": "Think.", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Paris"}},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {
                "input_tokens": 25,
                "output_tokens": 40,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 5,
            },
        })
    );
}

#[test]
fn stop_reasons_map_and_the_matched_sequence_comes_back() {
    let mut out = output(
        vec![ContentBlock::Text("1 2 3".into())],
        StopReason::StopSequence,
        usage(1, 2),
    );
    out.additional_model_response_fields = Some(doc(json!({"stop_sequence": "4"})));
    let v = render(&Dialect::AnthropicMessages, &out, MODEL);
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], "4");
    for (reason, native) in [
        (StopReason::EndTurn, "end_turn"),
        (StopReason::MaxTokens, "max_tokens"),
        (StopReason::ContentFiltered, "refusal"),
        (
            StopReason::ModelContextWindowExceeded,
            "model_context_window_exceeded",
        ),
    ] {
        let out = output(vec![], reason, usage(1, 1));
        assert_eq!(
            render(&Dialect::AnthropicMessages, &out, MODEL)["stop_reason"],
            native
        );
    }
}

#[test]
fn a_stream_with_text_and_a_tool_call_encodes_as_messages_events() {
    let events = vec![
        start(),
        text(0, "Checking"),
        text(0, " now."),
        block_stop(0),
        tool_start(1, "toolu_1", "get_weather"),
        tool_delta(1, "{\"city\":"),
        tool_delta(1, "\"Paris\"}"),
        block_stop(1),
        stop(StopReason::ToolUse),
        metadata(12, 30, 420),
    ];
    let chunks = encode(&Dialect::AnthropicMessages, MODEL, &events);
    assert_eq!(
        chunks,
        vec![
            json!({"type": "message_start", "message": {
                "id": format!("msg_bdrk_{ID}"), "type": "message", "role": "assistant",
                "model": "claude-3-haiku-20240307", "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " now."}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"input_tokens": 12, "output_tokens": 30}}),
            json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics(12, 30, 420, 40)}),
        ]
    );
}

#[test]
fn thinking_streams_as_thinking_and_signature_deltas() {
    let reasoning = |d: ReasoningContentBlockDelta| {
        ConverseStreamOutput::ContentBlockDelta(ContentBlockDeltaEvent {
            delta: ContentBlockDelta::ReasoningContent(d),
            content_block_index: 0,
        })
    };
    let events = vec![
        start(),
        reasoning(ReasoningContentBlockDelta::Text("Hmm".into())),
        reasoning(ReasoningContentBlockDelta::Signature("sig".into())),
        block_stop(0),
        text(1, "Yes."),
        block_stop(1),
        ConverseStreamOutput::MessageStop(MessageStopEvent {
            stop_reason: StopReason::StopSequence,
            additional_model_response_fields: Some(doc(json!({"stop_sequence": "END"}))),
        }),
        metadata(3, 4, 50),
    ];
    let chunks = encode(&Dialect::AnthropicMessages, MODEL, &events);
    assert_eq!(
        chunks[1],
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})
    );
    assert_eq!(
        chunks[2],
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm"}})
    );
    assert_eq!(
        chunks[3],
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}})
    );
    assert_eq!(
        chunks[5]["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        chunks[8]["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "END"})
    );
    assert_eq!(chunks.len(), 10);
}

#[test]
fn a_stream_cut_short_still_closes_the_message() {
    let chunks = encode(
        &Dialect::AnthropicMessages,
        MODEL,
        &[start(), text(0, "Hi")],
    );
    let types: Vec<_> = chunks
        .iter()
        .map(|c| c["type"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(chunks[4]["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        chunks[5]["amazon-bedrock-invocationMetrics"],
        metrics(0, 1, 0, 40)
    );
}

#[test]
fn the_legacy_completion_body_parses_into_turns() {
    let invocation = parse(
        Family::Anthropic,
        &json!({
            "prompt": "You are a comedian.\n\nHuman: Tell me a joke\n\nAssistant: Why did\n\nHuman: Go on\n\nAssistant:",
            "max_tokens_to_sample": 300,
            "temperature": 0.5,
            "top_k": 250,
            "stop_sequences": ["\n\nHuman:"],
        }),
    );
    assert_eq!(invocation.dialect, Dialect::AnthropicCompletion);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("Tell me a joke"), assistant("Why did"), user("Go on")],
            system: vec![SystemContentBlock::Text("You are a comedian.".into())],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(300),
                temperature: Some(0.5),
                top_p: None,
                stop_sequences: Some(vec!["\n\nHuman:".into()]),
            }),
            tool_config: None,
            additional_model_request_fields: Some(doc(json!({"top_k": 250}))),
        }
    );
    assert_refused(
        Family::Anthropic,
        &json!({"prompt": "Tell me a joke", "max_tokens_to_sample": 5}),
        &["#/prompt", "must start with"],
    );
    assert_refused(
        Family::Anthropic,
        &json!({"prompt": "\n\nHuman: Tell me a joke", "max_tokens_to_sample": 5}),
        &["#/prompt", "must end with"],
    );
    assert_refused(
        Family::Anthropic,
        &json!({"prompt": "\n\nHuman: x\n\nAssistant:"}),
        &["[max_tokens_to_sample]"],
    );
}

#[test]
fn the_legacy_completion_renders_and_streams() {
    let out = output(
        vec![ContentBlock::Text(" Sure!".into())],
        StopReason::EndTurn,
        usage(9, 3),
    );
    assert_eq!(
        render(&Dialect::AnthropicCompletion, &out, "anthropic.claude-v2"),
        json!({"completion": " Sure!", "stop_reason": "stop_sequence", "stop": "\n\nHuman:"})
    );
    let out = output(
        vec![ContentBlock::Text("a".into())],
        StopReason::MaxTokens,
        usage(9, 3),
    );
    assert_eq!(
        render(&Dialect::AnthropicCompletion, &out, "anthropic.claude-v2"),
        json!({"completion": "a", "stop_reason": "max_tokens", "stop": null})
    );
    assert_eq!(
        encode(
            &Dialect::AnthropicCompletion,
            "anthropic.claude-v2",
            &text_events()
        ),
        vec![
            json!({"completion": "Hello", "stop_reason": null, "stop": null}),
            json!({"completion": " there", "stop_reason": null, "stop": null}),
            json!({"completion": "", "stop_reason": "stop_sequence", "stop": "\n\nHuman:",
                   "amazon-bedrock-invocationMetrics": metrics(11, 7, 250, 40)}),
        ]
    );
}
