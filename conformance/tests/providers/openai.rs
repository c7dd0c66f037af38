//! The `openai` adapter end to end: Converse and InvokeModel in, Chat Completions out, and back.

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types as sdk;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{self, doc, user};

async fn upstream(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

async fn gateway(server: &MockServer) -> std::net::SocketAddr {
    harness::single(
        "openai",
        "openai",
        &format!("{}/v1", server.uri()),
        "headers = { \"OpenAI-Organization\" = \"org-test\" }\n",
    )
    .await
}

fn completion(message: Value, finish_reason: &str, usage: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason }],
        "usage": usage,
    }))
}

fn sse_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_raw(body, "text/event-stream")
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-mini", "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }]
    })
}

fn usage_chunk(prompt: i64, completion: i64) -> Value {
    json!({
        "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-mini", "choices": [],
        "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion }
    })
}

fn done(mut body: String) -> String {
    body.push_str("data: [DONE]\n\n");
    body
}

#[tokio::test]
async fn text_with_system_turns_inference_config_and_extra_fields() {
    let server = upstream(completion(
        json!({ "role": "assistant", "content": "Bonjour !", "refusal": null }),
        "stop",
        json!({ "prompt_tokens": 31, "completion_tokens": 3, "total_tokens": 34,
                "prompt_tokens_details": { "cached_tokens": 16 } }),
    ))
    .await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse()
        .model_id("gpt-4o-mini")
        .system(sdk::SystemContentBlock::Text("Answer in French.".into()))
        .messages(user("Hello"))
        .messages(
            sdk::Message::builder()
                .role(sdk::ConversationRole::Assistant)
                .content(sdk::ContentBlock::Text("Bonjour".into()))
                .build()
                .unwrap(),
        )
        .messages(user("Again, please"))
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(100)
                .temperature(0.5)
                .top_p(0.9)
                .stop_sequences("END")
                .build(),
        )
        .additional_model_request_fields(doc(json!({ "seed": 7, "user": "u-1" })))
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["path"], "/v1/chat/completions");
    assert_eq!(seen["headers"]["authorization"], "Bearer test-key-openai");
    assert_eq!(seen["body"]["model"], "gpt-4o-mini");
    assert_eq!(seen["body"]["seed"], 7);
    insta::assert_json_snapshot!("openai_text_request", seen);
    let got = harness::converse_output(&out);
    assert_eq!(got["message"]["content"][0]["text"], "Bonjour !");
    assert_eq!(got["usage"]["inputTokens"], 15);
    assert_eq!(got["usage"]["cacheReadInputTokens"], 16);
    insta::assert_json_snapshot!("openai_text_response", got);
}

fn weather_tool() -> sdk::ToolConfiguration {
    harness::weather_tool(sdk::ToolChoice::Tool(
        sdk::SpecificToolChoice::builder()
            .name("get_weather")
            .build()
            .unwrap(),
    ))
}

#[tokio::test]
async fn tools_tool_choice_tool_use_and_results() {
    let server = upstream(completion(
        json!({ "role": "assistant", "content": null, "tool_calls": [{
            "id": "call_abc", "type": "function",
            "function": { "name": "get_weather", "arguments": "{\"city\":\"Lyon\"}" }
        }] }),
        "tool_calls",
        json!({ "prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59 }),
    ))
    .await;
    let client = harness::client(gateway(&server).await);
    let history = vec![
        user("Weather in Paris, then Lyon?"),
        harness::tool_call("call_paris", "get_weather", json!({ "city": "Paris" })),
        sdk::Message::builder()
            .role(sdk::ConversationRole::User)
            .content(sdk::ContentBlock::ToolResult(
                sdk::ToolResultBlock::builder()
                    .tool_use_id("call_paris")
                    .content(sdk::ToolResultContentBlock::Json(doc(
                        json!({ "temp": 18 }),
                    )))
                    .content(sdk::ToolResultContentBlock::Text("sunny".into()))
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
    ];
    let out = client
        .converse()
        .model_id("gpt-4o")
        .set_messages(Some(history))
        .tool_config(weather_tool())
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    assert_eq!(
        seen["body"]["tool_choice"]["function"]["name"],
        "get_weather"
    );
    insta::assert_json_snapshot!("openai_tools_request", seen);
    let got = harness::converse_output(&out);
    assert_eq!(got["stopReason"], "tool_use");
    assert_eq!(
        got["message"]["content"][0]["toolUse"]["toolUseId"],
        "call_abc"
    );
    assert_eq!(
        got["message"]["content"][0]["toolUse"]["input"]["city"],
        "Lyon"
    );
    insta::assert_json_snapshot!("openai_tools_response", got);
}

#[tokio::test]
async fn images_and_documents_ride_inline() {
    let server = upstream(completion(
        json!({ "role": "assistant", "content": "A red dot and a memo." }),
        "stop",
        json!({ "prompt_tokens": 800, "completion_tokens": 6, "total_tokens": 806 }),
    ))
    .await;
    let client = harness::client(gateway(&server).await);
    let message = sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text("Describe both".into()))
        .content(sdk::ContentBlock::Image(
            sdk::ImageBlock::builder()
                .format(sdk::ImageFormat::Png)
                .source(sdk::ImageSource::Bytes(Blob::new(b"\x89PNG fake".to_vec())))
                .build()
                .unwrap(),
        ))
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
        .unwrap();
    client
        .converse()
        .model_id("gpt-4o")
        .messages(message)
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    let parts = seen["body"]["messages"][0]["content"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(parts.len(), 3, "{parts:#?}");
    insta::assert_json_snapshot!("openai_media_request", seen);
}

#[tokio::test]
async fn what_chat_completions_cannot_take_is_refused_by_name_and_nothing_is_sent() {
    let server = upstream(completion(
        json!({ "role": "assistant", "content": "x" }),
        "stop",
        json!({}),
    ))
    .await;
    let client = harness::client(gateway(&server).await);
    let message = sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Video(
            sdk::VideoBlock::builder()
                .format(sdk::VideoFormat::Mp4)
                .source(sdk::VideoSource::Bytes(Blob::new(b"fake".to_vec())))
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let err = client
        .converse()
        .model_id("gpt-4o")
        .messages(message)
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let text = format!("{err}").to_lowercase();
    assert!(text.contains("video"), "{text}");
    assert!(harness::sent(&server).await.is_empty());
}

#[tokio::test]
async fn a_stream_with_split_tool_arguments_and_a_usage_only_final_chunk() {
    let body = done(harness::sse(&[
        (
            None,
            chunk(json!({ "role": "assistant", "content": "" }), None),
        ),
        (None, chunk(json!({ "content": "Let me " }), None)),
        (None, chunk(json!({ "content": "check." }), None)),
        (
            None,
            chunk(
                json!({ "tool_calls": [{ "index": 0, "id": "call_1", "type": "function",
            "function": { "name": "get_weather", "arguments": "" } }] }),
                None,
            ),
        ),
        (
            None,
            chunk(
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "{\"ci" } }] }),
                None,
            ),
        ),
        (
            None,
            chunk(
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "ty\":\"Pa" } }] }),
                None,
            ),
        ),
        (
            None,
            chunk(
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "ris\"}" } }] }),
                None,
            ),
        ),
        (None, chunk(json!({}), Some("tool_calls"))),
        (None, usage_chunk(20, 12)),
    ]));
    let server = upstream(sse_response(body)).await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse_stream()
        .model_id("gpt-4o")
        .messages(user("Weather in Paris?"))
        .tool_config(weather_tool())
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert_eq!(error, None);
    harness::assert_well_formed(&events);
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["body"]["stream"], true);
    assert_eq!(seen["body"]["stream_options"]["include_usage"], true);
    let input: String = events
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["toolUse"]["input"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({ "city": "Paris" })
    );
    let stop = events.iter().find_map(|e| e.get("messageStop")).unwrap();
    assert_eq!(stop["stopReason"], "tool_use");
    let metadata = events.last().unwrap();
    assert_eq!(metadata["metadata"]["usage"]["totalTokens"], 32);
    insta::assert_json_snapshot!("openai_stream_tool_events", events);
}

#[tokio::test]
async fn an_error_inside_the_stream_becomes_an_exception_frame() {
    let body = harness::sse(&[
        (
            None,
            chunk(json!({ "role": "assistant", "content": "Par" }), None),
        ),
        (
            None,
            json!({ "error": { "message": "The server had an error while processing your request.", "type": "server_error", "code": null } }),
        ),
    ]);
    let server = upstream(sse_response(body)).await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse_stream()
        .model_id("gpt-4o")
        .messages(user("Hi"))
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert!(events.first().unwrap().get("messageStart").is_some());
    let error = error.expect("the stream failed");
    assert!(
        error.contains("The server had an error while processing your request."),
        "{error}"
    );
}

#[tokio::test]
async fn invoke_model_anthropic_body_answers_in_the_anthropic_format() {
    let server = upstream(completion(
        json!({ "role": "assistant", "content": "Hi there" }),
        "length",
        json!({ "prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11 }),
    ))
    .await;
    let client = harness::client(gateway(&server).await);
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 2,
        "system": "Be brief.",
        "messages": [{ "role": "user", "content": "Hi Claude" }]
    });
    let out = client
        .invoke_model()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert_eq!(answer["content"][0]["text"], "Hi there");
    assert_eq!(answer["stop_reason"], "max_tokens");
    assert_eq!(answer["usage"]["input_tokens"], 9);
    let seen = harness::sent_one(&server).await;
    assert_eq!(
        seen["body"]["model"],
        "anthropic.claude-3-haiku-20240307-v1:0"
    );
    insta::assert_json_snapshot!("openai_invoke_anthropic_request", seen);
}
