//! The `anthropic` adapter end to end: Converse in, the Messages API out, and back.

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types as sdk;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{self, doc, user};

async fn upstream(at: &str, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

async fn gateway(server: &MockServer) -> std::net::SocketAddr {
    harness::single("anthropic", "anthropic", &server.uri(), "").await
}

fn message(content: Value, stop_reason: &str, usage: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": stop_reason, "stop_sequence": null, "usage": usage
    }))
}

#[tokio::test]
async fn system_cache_points_reasoning_history_and_thinking_fields() {
    let server = upstream(
        "/v1/messages",
        message(
            json!([
                { "type": "thinking", "thinking": "The user wants a number.", "signature": "sig-123" },
                { "type": "text", "text": "42" }
            ]),
            "end_turn",
            json!({ "input_tokens": 12, "output_tokens": 30,
                    "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000 }),
        ),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let assistant = sdk::Message::builder()
        .role(sdk::ConversationRole::Assistant)
        .content(sdk::ContentBlock::ReasoningContent(
            sdk::ReasoningContentBlock::ReasoningText(
                sdk::ReasoningTextBlock::builder()
                    .text("Earlier thought")
                    .signature("sig-old")
                    .build()
                    .unwrap(),
            ),
        ))
        .content(sdk::ContentBlock::Text("Earlier answer".into()))
        .build()
        .unwrap();
    let out = client
        .converse()
        .model_id("claude-sonnet-4-5")
        .system(sdk::SystemContentBlock::Text("You are terse.".into()))
        .system(sdk::SystemContentBlock::CachePoint(
            sdk::CachePointBlock::builder()
                .r#type(sdk::CachePointType::Default)
                .build()
                .unwrap(),
        ))
        .messages(user("First question"))
        .messages(assistant)
        .messages(user("The answer?"))
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(2048)
                .stop_sequences("\n\nHuman:")
                .build(),
        )
        .additional_model_request_fields(doc(
            json!({ "thinking": { "type": "enabled", "budget_tokens": 1024 } }),
        ))
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["headers"]["x-api-key"], "test-key-anthropic");
    assert!(seen["headers"]["anthropic-version"].is_string());
    assert_eq!(seen["body"]["thinking"]["budget_tokens"], 1024);
    assert_eq!(
        seen["body"]["system"][0]["cache_control"]["type"],
        "ephemeral"
    );
    insta::assert_json_snapshot!("anthropic_reasoning_request", seen);
    let got = harness::converse_output(&out);
    assert_eq!(
        got["message"]["content"][0]["reasoningContent"]["reasoningText"]["signature"],
        "sig-123"
    );
    assert_eq!(got["usage"]["cacheReadInputTokens"], 2000);
    assert_eq!(got["usage"]["cacheWriteInputTokens"], 100);
    assert_eq!(got["usage"]["totalTokens"], 12 + 30 + 100 + 2000);
    insta::assert_json_snapshot!("anthropic_reasoning_response", got);
}

#[tokio::test]
async fn tools_with_results_images_documents_and_error_status() {
    let server = upstream(
        "/v1/messages",
        message(
            json!([{ "type": "tool_use", "id": "toolu_2", "name": "lookup", "input": { "q": "memo" } }]),
            "tool_use",
            json!({ "input_tokens": 300, "output_tokens": 20 }),
        ),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let tools = sdk::ToolConfiguration::builder()
        .tools(sdk::Tool::ToolSpec(
            sdk::ToolSpecification::builder()
                .name("lookup")
                .input_schema(sdk::ToolInputSchema::Json(doc(
                    json!({ "type": "object", "properties": { "q": { "type": "string" } } }),
                )))
                .build()
                .unwrap(),
        ))
        .tool_choice(sdk::ToolChoice::Any(sdk::AnyToolChoice::builder().build()))
        .build()
        .unwrap();
    let history = vec![
        sdk::Message::builder()
            .role(sdk::ConversationRole::User)
            .content(sdk::ContentBlock::Text("Read this".into()))
            .content(sdk::ContentBlock::Document(
                sdk::DocumentBlock::builder()
                    .format(sdk::DocumentFormat::Pdf)
                    .name("memo")
                    .source(sdk::DocumentSource::Bytes(Blob::new(
                        b"%PDF-1.4 fake".to_vec(),
                    )))
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
        harness::tool_call("toolu_1", "lookup", json!({ "q": "x" })),
        sdk::Message::builder()
            .role(sdk::ConversationRole::User)
            .content(sdk::ContentBlock::ToolResult(
                sdk::ToolResultBlock::builder()
                    .tool_use_id("toolu_1")
                    .status(sdk::ToolResultStatus::Error)
                    .content(sdk::ToolResultContentBlock::Text("not found".into()))
                    .content(sdk::ToolResultContentBlock::Image(
                        sdk::ImageBlock::builder()
                            .format(sdk::ImageFormat::Jpeg)
                            .source(sdk::ImageSource::Bytes(Blob::new(
                                b"\xff\xd8 fake".to_vec(),
                            )))
                            .build()
                            .unwrap(),
                    ))
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
    ];
    let out = client
        .converse()
        .model_id("claude-sonnet-4-5")
        .set_messages(Some(history))
        .tool_config(tools)
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["body"]["tool_choice"]["type"], "any");
    insta::assert_json_snapshot!("anthropic_tools_request", seen);
    let got = harness::converse_output(&out);
    assert_eq!(got["stopReason"], "tool_use");
    assert_eq!(
        got["message"]["content"][0]["toolUse"]["toolUseId"],
        "toolu_2"
    );
}

fn event(name: &'static str, data: Value) -> (Option<&'static str>, Value) {
    (Some(name), data)
}

#[tokio::test]
async fn a_stream_with_thinking_tool_arguments_and_usage() {
    let body = harness::sse(&[
        event(
            "message_start",
            json!({ "type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 0 } } }),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
            "content_block": { "type": "thinking", "thinking": "", "signature": "" } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
            "delta": { "type": "thinking_delta", "thinking": "Need the weather." } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
            "delta": { "type": "signature_delta", "signature": "EqQBCgIYAhIM" } }),
        ),
        event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        event("ping", json!({ "type": "ping" })),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 1,
            "content_block": { "type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {} } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 1,
            "delta": { "type": "input_json_delta", "partial_json": "" } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 1,
            "delta": { "type": "input_json_delta", "partial_json": "{\"city\": \"Pa" } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 1,
            "delta": { "type": "input_json_delta", "partial_json": "ris\"}" } }),
        ),
        event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 1 }),
        ),
        event(
            "message_delta",
            json!({ "type": "message_delta",
            "delta": { "stop_reason": "tool_use", "stop_sequence": null }, "usage": { "output_tokens": 40 } }),
        ),
        event("message_stop", json!({ "type": "message_stop" })),
    ]);
    let server = upstream(
        "/v1/messages",
        ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse_stream()
        .model_id("claude-sonnet-4-5")
        .messages(user("Weather in Paris?"))
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert_eq!(error, None);
    harness::assert_well_formed(&events);
    assert_eq!(harness::sent_one(&server).await["body"]["stream"], true);
    let usage = &events.last().unwrap()["metadata"]["usage"];
    assert_eq!(usage["inputTokens"], 25);
    assert_eq!(usage["outputTokens"], 40);
    assert_eq!(usage["cacheReadInputTokens"], 10);
    insta::assert_json_snapshot!("anthropic_stream_events", events);
}

#[tokio::test]
async fn an_overloaded_error_event_mid_stream_becomes_an_exception_frame() {
    let body = harness::sse(&[
        event(
            "message_start",
            json!({ "type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": { "input_tokens": 3, "output_tokens": 1 } } }),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
            "content_block": { "type": "text", "text": "" } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
            "delta": { "type": "text_delta", "text": "Hel" } }),
        ),
        event(
            "error",
            json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } }),
        ),
    ]);
    let server = upstream(
        "/v1/messages",
        ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse_stream()
        .model_id("claude-sonnet-4-5")
        .messages(user("Hi"))
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert!(
        events
            .iter()
            .any(|e| e["contentBlockDelta"]["delta"]["text"] == "Hel")
    );
    let error = error.expect("the stream failed");
    assert!(error.contains("Overloaded"), "{error}");
    assert!(error.contains("ServiceUnavailable"), "{error}");
}

#[tokio::test]
async fn count_tokens_uses_the_count_endpoint() {
    let server = upstream(
        "/v1/messages/count_tokens",
        ResponseTemplate::new(200).set_body_json(json!({ "input_tokens": 14 })),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .count_tokens()
        .model_id("claude-sonnet-4-5")
        .input(sdk::CountTokensInput::Converse(
            sdk::ConverseTokensRequest::builder()
                .messages(user("How many tokens is this?"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.input_tokens(), 14);
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["path"], "/v1/messages/count_tokens");
    assert_eq!(seen["body"]["model"], "claude-sonnet-4-5");
    assert!(seen["body"].get("max_tokens").is_none(), "{seen:#}");
}

#[tokio::test]
async fn invoke_model_with_response_stream_claude_body_streams_anthropic_chunks() {
    let body = harness::sse(&[
        event(
            "message_start",
            json!({ "type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-haiku", "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": { "input_tokens": 5, "output_tokens": 1 } } }),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
            "content_block": { "type": "text", "text": "" } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
            "delta": { "type": "text_delta", "text": "Code flows" } }),
        ),
        event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        event(
            "message_delta",
            json!({ "type": "message_delta",
            "delta": { "stop_reason": "end_turn", "stop_sequence": null }, "usage": { "output_tokens": 3 } }),
        ),
        event("message_stop", json!({ "type": "message_stop" })),
    ]);
    let server = upstream(
        "/v1/messages",
        ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let request = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "messages": [{ "role": "user", "content": "Write a haiku about coding." }]
    });
    let mut out = client
        .invoke_model_with_response_stream()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .content_type("application/json")
        .body(Blob::new(request.to_string()))
        .send()
        .await
        .unwrap();
    let mut types = Vec::new();
    let mut text = String::new();
    while let Some(event) = out.body.recv().await.unwrap() {
        if let sdk::ResponseStream::Chunk(part) = event {
            let chunk: Value = serde_json::from_slice(part.bytes().unwrap().as_ref()).unwrap();
            types.push(chunk["type"].as_str().unwrap().to_owned());
            if let Some(t) = chunk["delta"]["text"].as_str() {
                text.push_str(t);
            }
        }
    }
    assert_eq!(text, "Code flows");
    assert_eq!(types.first().map(String::as_str), Some("message_start"));
    assert_eq!(types.last().map(String::as_str), Some("message_stop"));
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["body"]["max_tokens"], 1024);
    assert_eq!(
        seen["body"]["messages"][0]["content"][0]["text"],
        "Write a haiku about coding."
    );
}
