//! Nova `messages-v1` bodies, both ways.

use aws_smithy_types::Blob;
use quarry_bedrock_runtime::types::{
    AutoToolChoice, ContentBlock, ConversationRole, ImageBlock, ImageFormat, ImageSource,
    InferenceConfiguration, Message, StopReason, SystemContentBlock, Tool, ToolChoice,
    ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus,
    ToolSpecification, ToolUseBlock,
};
use serde_json::json;

use super::*;
use crate::families::{ConverseParts, Dialect, Family};

const MODEL: &str = "us.amazon.nova-lite-v1:0";

#[test]
fn a_nova_body_parses_field_by_field() {
    let invocation = parse(
        Family::Nova,
        &json!({
            "schemaVersion": "messages-v1",
            "system": [{"text": "You are a travel agent."}],
            "messages": [
                {"role": "user", "content": [
                    {"text": "Where is this, and what is the weather?"},
                    {"image": {"format": "jpeg", "source": {"bytes": "/9j/"}}},
                ]},
                {"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Rome"}}},
                ]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"json": {"c": 21}}], "status": "success"}},
                ]},
            ],
            "inferenceConfig": {"max_new_tokens": 300, "temperature": 0.3, "topP": 0.8, "topK": 20, "stopSequences": ["END"]},
            "toolConfig": {
                "tools": [{"toolSpec": {"name": "weather", "description": "Weather", "inputSchema": {"json": {"type": "object"}}}}],
                "toolChoice": {"auto": {}},
            },
        }),
    );
    assert_eq!(invocation.dialect, Dialect::Nova);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![
                Message {
                    role: ConversationRole::User,
                    content: vec![
                        ContentBlock::Text("Where is this, and what is the weather?".into()),
                        ContentBlock::Image(ImageBlock {
                            format: ImageFormat::Jpeg,
                            source: ImageSource::Bytes(Blob::new(vec![0xff, 0xd8, 0xff])),
                            error: None,
                        }),
                    ],
                },
                Message {
                    role: ConversationRole::Assistant,
                    content: vec![ContentBlock::ToolUse(ToolUseBlock {
                        tool_use_id: "t1".into(),
                        name: "weather".into(),
                        input: doc(json!({"city": "Rome"})),
                        r#type: None,
                    })],
                },
                Message {
                    role: ConversationRole::User,
                    content: vec![ContentBlock::ToolResult(ToolResultBlock {
                        tool_use_id: "t1".into(),
                        content: vec![ToolResultContentBlock::Json(doc(json!({"c": 21})))],
                        status: Some(ToolResultStatus::Success),
                        r#type: None,
                    })],
                },
            ],
            system: vec![SystemContentBlock::Text("You are a travel agent.".into())],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(300),
                temperature: Some(0.3),
                top_p: Some(0.8),
                stop_sequences: Some(vec!["END".into()]),
            }),
            tool_config: Some(ToolConfiguration {
                tools: vec![Tool::ToolSpec(ToolSpecification {
                    name: "weather".into(),
                    description: Some("Weather".into()),
                    input_schema: ToolInputSchema::Json(doc(json!({"type": "object"}))),
                    strict: None,
                })],
                tool_choice: Some(ToolChoice::Auto(AutoToolChoice {})),
            }),
            additional_model_request_fields: Some(doc(json!({"inferenceConfig": {"topK": 20}}))),
        }
    );
    let camel = parse(
        Family::Nova,
        &json!({"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": 9}}),
    );
    assert_eq!(
        camel.parts.inference_config.and_then(|c| c.max_tokens),
        Some(9)
    );
}

#[test]
fn bad_nova_bodies_are_refused_by_field() {
    let f = Family::Nova;
    let msgs = json!([{"role": "user", "content": [{"text": "Hi"}]}]);
    assert_refused(f, &json!({"schemaVersion": "messages-v1"}), &["[messages]"]);
    assert_refused(
        f,
        &json!({"schemaVersion": "v2", "messages": msgs}),
        &["#/schemaVersion", "v2"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "user", "content": "Hi"}]}),
        &["#/messages/0/content", "JSONArray"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "user", "content": [{"video": {}}]}]}),
        &["#/messages/0/content/0/video"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]}),
        &["#/messages/0/content/0", "extraneous key [image]"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "user", "content": [{}]}]}),
        &["#/messages/0/content/0", "needs one of"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}}]}]}),
        &["#/messages/0/content/0/image/source/s3Location"],
    );
    assert_refused(
        f,
        &json!({"messages": msgs, "inferenceConfig": {"maxTokens": 1, "max_new_tokens": 2}}),
        &["#/inferenceConfig", "only one of"],
    );
    assert_refused(
        f,
        &json!({"messages": msgs, "inferenceConfig": {"temperature": "hot"}}),
        &["#/inferenceConfig/temperature", "Number"],
    );
}

#[test]
fn an_answer_renders_as_a_nova_response() {
    let out = output(
        vec![
            ContentBlock::Text("Checking.".into()),
            ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: "t2".into(),
                name: "weather".into(),
                input: doc(json!({"city": "Oslo"})),
                r#type: None,
            }),
        ],
        StopReason::ToolUse,
        usage(30, 12),
    );
    assert_eq!(
        render(&Dialect::Nova, &out, MODEL),
        json!({
            "output": {"message": {"role": "assistant", "content": [
                {"text": "Checking."},
                {"toolUse": {"toolUseId": "t2", "name": "weather", "input": {"city": "Oslo"}}},
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42,
                      "cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0},
        })
    );
}

#[test]
fn a_stream_encodes_as_nova_events() {
    let events = vec![
        start(),
        text(0, "Hi"),
        block_stop(0),
        tool_start(1, "t3", "weather"),
        tool_delta(1, "{}"),
        block_stop(1),
        stop(StopReason::ToolUse),
        metadata(11, 7, 250),
    ];
    assert_eq!(
        encode(&Dialect::Nova, MODEL, &events),
        vec![
            json!({"messageStart": {"role": "assistant"}}),
            json!({"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}}),
            json!({"contentBlockStop": {"contentBlockIndex": 0}}),
            json!({"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t3", "name": "weather"}}, "contentBlockIndex": 1}}),
            json!({"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 1}}),
            json!({"contentBlockStop": {"contentBlockIndex": 1}}),
            json!({"messageStop": {"stopReason": "tool_use"}}),
            json!({"metadata": {"usage": {"inputTokens": 11, "outputTokens": 7}, "metrics": {}, "trace": {}},
                   "amazon-bedrock-invocationMetrics": metrics(11, 7, 250, 40)}),
        ]
    );
}
