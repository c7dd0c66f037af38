//! The `quarry` gateway's one HTTP service: prefixes, dispatch across the two Bedrock routers, request ids.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use quarry::dispatch::Gateway;
use quarry::stubs::NotImplementedYet;
use quarry_bedrock::operation::list_foundation_models::{
    ListFoundationModelsError, ListFoundationModelsInput, ListFoundationModelsOutput,
};

/// Answers ListFoundationModels; everything else is the stub's NotImplemented.
struct OneModel;

impl quarry_bedrock::Bedrock for OneModel {
    async fn list_foundation_models(
        &self,
        input: ListFoundationModelsInput,
    ) -> Result<ListFoundationModelsOutput, ListFoundationModelsError> {
        let provider = input.by_provider.unwrap_or_else(|| "none".to_owned());
        let summary = quarry_bedrock::types::FoundationModelSummary::builder()
            .model_arn("arn:aws:bedrock:us-east-1::foundation-model/mock.echo")
            .model_id(format!("{provider}.echo"))
            .build()
            .map_err(|e| ListFoundationModelsError::validation(e.to_string()))?;
        Ok(ListFoundationModelsOutput::builder()
            .model_summaries(vec![summary])
            .build())
    }
}

async fn gateway() -> SocketAddr {
    let stub = Arc::new(NotImplementedYet);
    common::serve_gateway(Gateway::new(stub.clone(), Arc::new(OneModel), stub).unwrap()).await
}

fn bedrock_at(endpoint: String) -> aws_sdk_bedrock::Client {
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(aws_sdk_bedrock::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrock::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrock::config::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

fn runtime_at(endpoint: String) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

#[tokio::test]
async fn control_plane_is_served_under_bedrock_and_root() {
    let addr = gateway().await;
    for endpoint in [format!("http://{addr}/bedrock"), format!("http://{addr}")] {
        let out = bedrock_at(endpoint.clone())
            .list_foundation_models()
            .by_provider("mock")
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.model_summaries()[0].model_id(),
            "mock.echo",
            "at {endpoint}"
        );
    }
}

#[tokio::test]
async fn runtime_defaults_answer_not_implemented_with_request_id() {
    let addr = gateway().await;
    for endpoint in [format!("http://{addr}/bedrock"), format!("http://{addr}")] {
        let err = runtime_at(endpoint)
            .converse()
            .model_id("anthropic.claude-3-haiku-20240307-v1:0")
            .messages(
                aws_sdk_bedrockruntime::types::Message::builder()
                    .role(aws_sdk_bedrockruntime::types::ConversationRole::User)
                    .content(aws_sdk_bedrockruntime::types::ContentBlock::Text(
                        "hi".into(),
                    ))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect_err("not implemented");
        let raw = err.raw_response().unwrap();
        assert_eq!(raw.status().as_u16(), 501);
        assert!(
            raw.headers()
                .get("x-amzn-requestid")
                .is_some_and(|v| !v.is_empty())
        );
        let err = err.into_service_error();
        assert_eq!(
            aws_sdk_bedrockruntime::error::ProvideErrorMetadata::code(&err),
            Some("NotImplemented")
        );
        assert_eq!(
            aws_sdk_bedrockruntime::error::ProvideErrorMetadata::message(&err),
            Some("Converse is not implemented yet")
        );
    }
}

#[tokio::test]
async fn files_are_s3_under_bedrock_files() {
    let addr = gateway().await;
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .endpoint_url(format!("http://{addr}/bedrock/files"))
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let err = client
        .get_object()
        .bucket("your-s3-bucket")
        .key("a/b.jsonl")
        .send()
        .await
        .expect_err("stub");
    let raw = err.raw_response().unwrap();
    let body_text = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default()).to_string();
    assert_eq!(
        raw.status().as_u16(),
        501,
        "{body_text} {:?}",
        raw.headers()
    );
    assert!(raw.headers().get("x-amz-request-id").is_some());
    let body = std::str::from_utf8(raw.body().bytes().unwrap())
        .unwrap()
        .to_owned();
    assert!(
        body.contains(
            "<Code>NotImplemented</Code><Message>GetObject is not implemented yet</Message>"
        ),
        "{body}"
    );
    let request_id = raw.headers().get("x-amz-request-id").unwrap().to_owned();
    assert!(
        body.contains(&format!("<RequestId>{request_id}</RequestId>")),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_bedrock_shape() {
    let addr = gateway().await;
    let big = format!(
        "{{\"messages\":[{{\"role\":\"user\",\"content\":[{{\"text\":\"{}\"}}]}}]}}",
        "x".repeat(quarry::dispatch::RUNTIME_BODY_LIMIT + 1)
    );
    let response = reqwest_post(addr, "/bedrock/model/m/converse", big).await;
    assert_eq!(response.0, 400, "{}", response.1);
    assert!(
        response.1.contains("x-amzn-errortype: validationexception"),
        "{}",
        response.1
    );
    assert!(
        response
            .1
            .contains("exceeded the configured maximum of 33554432 bytes"),
        "{}",
        response.1
    );
}

/// A plain HTTP/1.1 POST over a socket, returning the status and the whole response text.
async fn reqwest_post(addr: SocketAddr, path: &str, body: String) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before the whole body is written.
    let _ = s.write_all(body.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_lowercase();
    (
        text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0),
        text,
    )
}
