//! Mistral completion and chat bodies, both ways.

use quarry_bedrock_runtime::types::{
    AnyToolChoice, ContentBlock, ConversationRole, InferenceConfiguration, Message, StopReason,
    SystemContentBlock, Tool, ToolChoice, ToolConfiguration, ToolInputSchema, ToolResultBlock,
    ToolResultContentBlock, ToolSpecification, ToolUseBlock,
};
use serde_json::json;

use super::*;
use crate::families::{ConverseParts, Dialect, Family};

const MODEL: &str = "mistral.mistral-7b-instruct-v0:2";
const LARGE: &str = "mistral.mistral-large-2407-v1:0";

#[test]
fn the_seed_completion_body_parses() {
    let invocation = parse(
        Family::Mistral,
        &json!({"prompt": "Say hello from Mistral using Invoke API.", "max_tokens": 50, "temperature": 0.7}),
    );
    assert_eq!(invocation.dialect, Dialect::MistralCompletion);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("Say hello from Mistral using Invoke API.")],
            system: vec![],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(50),
                temperature: Some(0.7),
                top_p: None,
                stop_sequences: None,
            }),
            tool_config: None,
            additional_model_request_fields: None,
        }
    );
}

#[test]
fn an_inst_prompt_with_knobs_parses() {
    let invocation = parse(
        Family::Mistral,
        &json!({
            "prompt": "<s>[INST] What is your favourite condiment? [/INST] Lemon.</s>[INST] Any recipes? [/INST]",
            "top_p": 0.9, "top_k": 50, "stop": ["</s>"],
        }),
    );
    assert_eq!(
        invocation.parts.messages,
        vec![
            user("What is your favourite condiment?"),
            assistant("Lemon."),
            user("Any recipes?")
        ]
    );
    assert_eq!(
        invocation.parts.additional_model_request_fields,
        Some(doc(json!({"top_k": 50})))
    );
    assert_eq!(
        invocation
            .parts
            .inference_config
            .and_then(|c| c.stop_sequences),
        Some(vec!["</s>".to_owned()])
    );
}

#[test]
fn a_chat_body_with_tools_parses() {
    let invocation = parse(
        Family::Mistral,
        &json!({
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call1", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "call1", "content": "18C"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "Weather", "parameters": {"type": "object"},
            }}],
            "tool_choice": "any",
            "max_tokens": 100,
        }),
    );
    assert_eq!(invocation.dialect, Dialect::MistralChat);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![
                user("Weather in Paris?"),
                Message {
                    role: ConversationRole::Assistant,
                    content: vec![ContentBlock::ToolUse(ToolUseBlock {
                        tool_use_id: "call1".into(),
                        name: "get_weather".into(),
                        input: doc(json!({"city": "Paris"})),
                        r#type: None,
                    })],
                },
                Message {
                    role: ConversationRole::User,
                    content: vec![ContentBlock::ToolResult(ToolResultBlock {
                        tool_use_id: "call1".into(),
                        content: vec![ToolResultContentBlock::Text("18C".into())],
                        status: None,
                        r#type: None,
                    })],
                },
            ],
            system: vec![SystemContentBlock::Text("You are helpful.".into())],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(100),
                temperature: None,
                top_p: None,
                stop_sequences: None,
            }),
            tool_config: Some(ToolConfiguration {
                tools: vec![Tool::ToolSpec(ToolSpecification {
                    name: "get_weather".into(),
                    description: Some("Weather".into()),
                    input_schema: ToolInputSchema::Json(doc(json!({"type": "object"}))),
                    strict: None,
                })],
                tool_choice: Some(ToolChoice::Any(AnyToolChoice {})),
            }),
            additional_model_request_fields: None,
        }
    );
}

#[test]
fn bad_mistral_bodies_are_refused_by_field() {
    let f = Family::Mistral;
    assert_refused(f, &json!({"max_tokens": 5}), &["[prompt]"]);
    assert_refused(
        f,
        &json!({"prompt": "x", "stop": "END"}),
        &["#/stop", "JSONArray"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "safe_prompt": true}),
        &["extraneous key [safe_prompt]"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "robot", "content": "x"}]}),
        &["#/messages/0/role", "robot"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": "none"}),
        &["#/tool_choice", "none"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "{oops"}}]}]}),
        &["#/messages/0/tool_calls/0/function/arguments"],
    );
    assert_refused(
        f,
        &json!({"messages": [{"role": "tool", "content": "x"}]}),
        &["#/messages/0", "[tool_call_id]"],
    );
}

#[test]
fn answers_render_as_outputs_and_choices() {
    let out = output(
        vec![ContentBlock::Text("Hello!".into())],
        StopReason::EndTurn,
        usage(5, 2),
    );
    assert_eq!(
        render(&Dialect::MistralCompletion, &out, MODEL),
        json!({"outputs": [{"text": "Hello!", "stop_reason": "stop"}]})
    );
    let out = output(
        vec![ContentBlock::ToolUse(ToolUseBlock {
            tool_use_id: "call9".into(),
            name: "get_weather".into(),
            input: doc(json!({"city": "Paris"})),
            r#type: None,
        })],
        StopReason::ToolUse,
        usage(5, 2),
    );
    assert_eq!(
        render(&Dialect::MistralChat, &out, LARGE),
        json!({"choices": [{"index": 0, "message": {
            "role": "assistant", "content": "",
            "tool_calls": [{"id": "call9", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
        }, "stop_reason": "tool_calls"}]})
    );
    let out = output(
        vec![ContentBlock::Text("x".into())],
        StopReason::MaxTokens,
        usage(5, 2),
    );
    assert_eq!(
        render(&Dialect::MistralChat, &out, LARGE)["choices"][0]["stop_reason"],
        "length"
    );
}

#[test]
fn streams_encode_as_outputs_and_choices_chunks() {
    assert_eq!(
        encode(&Dialect::MistralCompletion, MODEL, &text_events()),
        vec![
            json!({"outputs": [{"text": "Hello", "stop_reason": null}]}),
            json!({"outputs": [{"text": " there", "stop_reason": null}]}),
            json!({"outputs": [{"text": "", "stop_reason": "stop"}], "amazon-bedrock-invocationMetrics": metrics(11, 7, 250, 40)}),
        ]
    );
    let events = vec![
        start(),
        text(0, "Let me see."),
        block_stop(0),
        tool_start(1, "call1", "get_weather"),
        tool_delta(1, "{\"city\":"),
        tool_delta(1, "\"Paris\"}"),
        block_stop(1),
        stop(StopReason::ToolUse),
        metadata(8, 9, 100),
    ];
    let choice = |message: serde_json::Value, stop: serde_json::Value| json!({"choices": [{"index": 0, "message": message, "stop_reason": stop}]});
    let mut last = choice(
        json!({"role": "assistant", "content": ""}),
        json!("tool_calls"),
    );
    last["amazon-bedrock-invocationMetrics"] = metrics(8, 9, 100, 40);
    assert_eq!(
        encode(&Dialect::MistralChat, LARGE, &events),
        vec![
            choice(
                json!({"role": "assistant", "content": "Let me see."}),
                json!(null)
            ),
            choice(
                json!({"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call1", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                ]}),
                json!(null),
            ),
            last,
        ]
    );
}
