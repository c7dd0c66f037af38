//! The `gemini` adapter end to end: Converse in, generateContent out, and back.

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
    harness::single("gemini", "gemini", &server.uri(), "").await
}

fn answer(parts: Value, finish: &str, usage: Value) -> Value {
    json!({
        "candidates": [{ "content": { "role": "model", "parts": parts }, "finishReason": finish, "index": 0 }],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.0-flash"
    })
}

#[tokio::test]
async fn system_turns_config_tools_and_a_function_call_answer() {
    let server = upstream(
        "/v1beta/models/gemini-2.0-flash:generateContent",
        ResponseTemplate::new(200).set_body_json(answer(
            json!([{ "functionCall": { "name": "get_weather", "args": { "city": "Rome" } } }]),
            "STOP",
            json!({ "promptTokenCount": 40, "candidatesTokenCount": 8, "totalTokenCount": 48,
                    "cachedContentTokenCount": 32 }),
        )),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let tools = harness::weather_tool(sdk::ToolChoice::Auto(
        sdk::AutoToolChoice::builder().build(),
    ));
    let history = vec![
        user("Weather in Paris?"),
        harness::tool_call("tooluse_1", "get_weather", json!({ "city": "Paris" })),
        sdk::Message::builder()
            .role(sdk::ConversationRole::User)
            .content(sdk::ContentBlock::ToolResult(
                sdk::ToolResultBlock::builder()
                    .tool_use_id("tooluse_1")
                    .content(sdk::ToolResultContentBlock::Json(doc(
                        json!({ "temp": 18 }),
                    )))
                    .build()
                    .unwrap(),
            ))
            .content(sdk::ContentBlock::Text("And Rome?".into()))
            .build()
            .unwrap(),
    ];
    let out = client
        .converse()
        .model_id("gemini-2.0-flash")
        .system(sdk::SystemContentBlock::Text("Be brief.".into()))
        .set_messages(Some(history))
        .tool_config(tools)
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(256)
                .temperature(0.2)
                .build(),
        )
        .additional_model_request_fields(doc(json!({ "generationConfig": { "topK": 20 } })))
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    assert_eq!(seen["headers"]["x-goog-api-key"], "test-key-gemini");
    assert_eq!(seen["body"]["generationConfig"]["topK"], 20);
    assert_eq!(seen["body"]["generationConfig"]["maxOutputTokens"], 256);
    insta::assert_json_snapshot!("gemini_tools_request", seen);
    let got = harness::converse_output(&out);
    assert_eq!(got["stopReason"], "tool_use");
    assert_eq!(
        got["message"]["content"][0]["toolUse"]["name"],
        "get_weather"
    );
    assert_eq!(got["usage"]["inputTokens"], 8);
    assert_eq!(got["usage"]["cacheReadInputTokens"], 32);
    insta::assert_json_snapshot!("gemini_tools_response", got);
}

#[tokio::test]
async fn images_and_pdf_documents_go_inline() {
    let server = upstream(
        "/v1beta/models/gemini-2.0-flash:generateContent",
        ResponseTemplate::new(200).set_body_json(answer(
            json!([{ "text": "A cat and a memo." }]),
            "STOP",
            json!({ "promptTokenCount": 600, "candidatesTokenCount": 5, "totalTokenCount": 605 }),
        )),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let message = sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Image(
            sdk::ImageBlock::builder()
                .format(sdk::ImageFormat::Webp)
                .source(sdk::ImageSource::Bytes(Blob::new(b"RIFF fake".to_vec())))
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
        .content(sdk::ContentBlock::Text("Describe both".into()))
        .build()
        .unwrap();
    let out = client
        .converse()
        .model_id("gemini-2.0-flash")
        .messages(message)
        .send()
        .await
        .unwrap();
    let seen = harness::sent_one(&server).await;
    assert_eq!(
        seen["body"]["contents"][0]["parts"][0]["inlineData"]["mimeType"],
        "image/webp"
    );
    insta::assert_json_snapshot!("gemini_media_request", seen);
    assert_eq!(
        harness::converse_output(&out)["message"]["content"][0]["text"],
        "A cat and a memo."
    );
}

#[tokio::test]
async fn a_stream_of_whole_chunks_with_thoughts_and_final_usage() {
    let chunk = |parts: Value, finish: Option<&str>, usage: Option<Value>| {
        let mut c = json!({ "candidates": [{ "content": { "role": "model", "parts": parts }, "index": 0 }],
                            "modelVersion": "gemini-2.5-flash" });
        if let Some(f) = finish {
            c["candidates"][0]["finishReason"] = json!(f);
        }
        if let Some(u) = usage {
            c["usageMetadata"] = u;
        }
        (None, c)
    };
    let body = harness::sse(&[
        chunk(
            json!([{ "text": "Considering the sky.", "thought": true }]),
            None,
            None,
        ),
        chunk(json!([{ "text": "The sky " }]), None, None),
        chunk(
            json!([{ "text": "is blue." }]),
            Some("STOP"),
            Some(
                json!({ "promptTokenCount": 7, "candidatesTokenCount": 4, "thoughtsTokenCount": 6, "totalTokenCount": 17 }),
            ),
        ),
    ]);
    let server = upstream(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse_stream()
        .model_id("gemini-2.5-flash")
        .messages(user("Why is the sky blue?"))
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert_eq!(error, None);
    harness::assert_well_formed(&events);
    let seen = harness::sent_one(&server).await;
    assert_eq!(
        seen["path"],
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    let text: String = events
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "The sky is blue.");
    let usage = &events.last().unwrap()["metadata"]["usage"];
    assert_eq!(usage["outputTokens"], 10);
    insta::assert_json_snapshot!("gemini_stream_events", events);
}

#[tokio::test]
async fn a_blocked_prompt_is_content_filtered() {
    let server = upstream(
        "/v1beta/models/gemini-2.0-flash:generateContent",
        ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": { "blockReason": "SAFETY" },
            "usageMetadata": { "promptTokenCount": 9, "totalTokenCount": 9 }
        })),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let out = client
        .converse()
        .model_id("gemini-2.0-flash")
        .messages(user("something unsafe"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.stop_reason().as_str(), "content_filtered");
}

#[tokio::test]
async fn a_resource_exhausted_answer_is_throttling_with_the_message() {
    let server = upstream(
        "/v1beta/models/gemini-2.0-flash:generateContent",
        ResponseTemplate::new(429).set_body_json(json!({
            "error": { "code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED" }
        })),
    )
    .await;
    let client = harness::client(gateway(&server).await);
    let err = client
        .converse()
        .model_id("gemini-2.0-flash")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap_or_default()
            .contains("Resource has been exhausted"),
        "{err:?}"
    );
}
