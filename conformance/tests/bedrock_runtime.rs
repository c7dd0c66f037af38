//! The real aws-sdk-bedrockruntime client against a server built from the generated stubs.

mod common;

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as sdk;
use quarry_bedrock_runtime::operation::converse::{ConverseError, ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::types as gen_types;
use quarry_bedrock_runtime::{BedrockRuntime, router};

struct Echo;

impl BedrockRuntime for Echo {
    async fn converse(&self, input: ConverseInput) -> Result<ConverseOutput, ConverseError> {
        if input.model_id == "mock.throttle" {
            return Err(ConverseError::ThrottlingException(
                gen_types::error::ThrottlingException::with_message("slow down"),
            ));
        }
        let text = input
            .messages
            .as_ref()
            .and_then(|m| m.last())
            .and_then(|m| m.content.first())
            .and_then(|c| match c {
                gen_types::ContentBlock::Text(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let message = gen_types::Message::builder()
            .role(gen_types::ConversationRole::Assistant)
            .content(vec![gen_types::ContentBlock::Text(format!("echo: {text}"))])
            .build()
            .map_err(|e| ConverseError::validation(e.to_string()))?;
        ConverseOutput::builder()
            .output(gen_types::ConverseOutput::Message(message))
            .stop_reason(gen_types::StopReason::EndTurn)
            .usage(
                gen_types::TokenUsage::builder()
                    .input_tokens(3)
                    .output_tokens(4)
                    .total_tokens(7)
                    .build()
                    .map_err(|e| ConverseError::validation(e.to_string()))?,
            )
            .metrics(
                gen_types::ConverseMetrics::builder()
                    .latency_ms(12)
                    .build()
                    .map_err(|e| ConverseError::validation(e.to_string()))?,
            )
            .build()
            .map_err(|e| ConverseError::validation(e.to_string()))
    }
}

#[tokio::test]
async fn converse_round_trips() {
    let app = router(Arc::new(Echo), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime(addr);
    let out = client
        .converse()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .messages(
            sdk::Message::builder()
                .role(sdk::ConversationRole::User)
                .content(sdk::ContentBlock::Text("hello".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("converse succeeds");
    let message = out.output().unwrap().as_message().unwrap();
    assert_eq!(message.content()[0].as_text().unwrap(), "echo: hello");
    assert_eq!(out.stop_reason(), &sdk::StopReason::EndTurn);
    assert_eq!(out.usage().unwrap().total_tokens(), 7);
    assert_eq!(out.metrics().unwrap().latency_ms(), 12);
}

#[tokio::test]
async fn modeled_error_reaches_the_sdk_typed() {
    let app = router(Arc::new(Echo), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime(addr);
    let err = client
        .converse()
        .model_id("mock.throttle")
        .messages(
            sdk::Message::builder()
                .role(sdk::ConversationRole::User)
                .content(sdk::ContentBlock::Text("x".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect_err("throttled");
    let service_err = err.into_service_error();
    assert!(service_err.is_throttling_exception(), "{service_err:?}");
    assert_eq!(service_err.meta().message(), Some("slow down"));
}

#[tokio::test]
async fn missing_required_member_is_a_validation_exception() {
    let app = router(Arc::new(Echo), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    let client = common::bedrock_runtime(addr);
    // The SDK refuses to send without a required member, so use a raw request.
    let resp = reqwest_like_post(
        addr,
        "/model/m/converse",
        r#"{"messages":[{"role":"user"}]}"#,
    )
    .await;
    assert_eq!(resp.0, 400, "{}", resp.2);
    assert_eq!(resp.1.as_deref(), Some("ValidationException"));
    assert!(resp.2.contains("1 validation error detected: Value null at 'messages.1.member.content' failed to satisfy constraint: Member must not be null"), "{}", resp.2);
    let _ = client;
}

/// A minimal HTTP/1.1 POST over a raw socket, to send what an SDK would refuse to.
async fn reqwest_like_post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &str,
) -> (u16, Option<String>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text[9..12].parse().unwrap();
    let error_type = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("x-amzn-errortype:"))
        .map(|l| {
            l.split_once(':')
                .unwrap()
                .1
                .trim()
                .split(':')
                .next()
                .unwrap()
                .to_owned()
        });
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, error_type, body)
}
