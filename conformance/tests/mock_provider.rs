//! The gateway on its embedded default, the mock provider, driven by aws-sdk-bedrockruntime.

mod common;

use std::net::SocketAddr;

use aws_sdk_bedrockruntime::types as sdk;

async fn gateway() -> SocketAddr {
    common::serve_gateway(common::default_gateway()).await
}

fn client(addr: SocketAddr) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("us-west-2"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "dummy", "dummy", None, None, "test",
        ))
        .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
        .endpoint_url(format!("http://{addr}/bedrock"))
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

fn user(text: &str) -> sdk::Message {
    sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text(text.into()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn converse_echoes_with_usage() {
    let addr = gateway().await;
    let out = client(addr)
        .converse()
        .model_id("anthropic.claude-3-5-sonnet-20240620-v1:0")
        .messages(user("Hello!"))
        .send()
        .await
        .unwrap();
    let msg = out.output().unwrap().as_message().unwrap();
    assert_eq!(msg.content()[0].as_text().unwrap(), "Hello!");
    assert_eq!(out.stop_reason(), &sdk::StopReason::EndTurn);
    assert_eq!(out.usage().unwrap().total_tokens(), 2);
}

#[tokio::test]
async fn converse_stream_sends_the_whole_sequence() {
    let addr = gateway().await;
    let mut out = client(addr)
        .converse_stream()
        .model_id("anthropic.claude-3-5-sonnet-20240620-v1:0")
        .messages(user("Tell me a story about a brave knight."))
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    let mut kinds = Vec::new();
    while let Some(event) = out.stream.recv().await.unwrap() {
        match &event {
            sdk::ConverseStreamOutput::ContentBlockDelta(d) => {
                text.push_str(d.delta().unwrap().as_text().unwrap())
            }
            sdk::ConverseStreamOutput::MessageStop(s) => {
                assert_eq!(s.stop_reason(), &sdk::StopReason::EndTurn)
            }
            sdk::ConverseStreamOutput::Metadata(m) => {
                assert_eq!(m.usage().unwrap().output_tokens(), 8)
            }
            _ => {}
        }
        kinds.push(format!("{event:?}").split('(').next().unwrap().to_owned());
    }
    assert_eq!(text, "Tell me a story about a brave knight.");
    assert_eq!(kinds.first().map(String::as_str), Some("MessageStart"));
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["ContentBlockStop", "MessageStop", "Metadata"]
    );
}

#[tokio::test]
async fn tool_round_trip() {
    let addr = gateway().await;
    let schema = aws_smithy_types::Document::Object(
        [(
            "type".to_owned(),
            aws_smithy_types::Document::String("object".into()),
        )]
        .into_iter()
        .collect(),
    );
    let tools = sdk::ToolConfiguration::builder()
        .tools(sdk::Tool::ToolSpec(
            sdk::ToolSpecification::builder()
                .name("lookup")
                .input_schema(sdk::ToolInputSchema::Json(schema))
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let c = client(addr);
    let first = c
        .converse()
        .model_id("m")
        .messages(user("please use lookup"))
        .tool_config(tools.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.stop_reason(), &sdk::StopReason::ToolUse);
    let assistant = first.output().unwrap().as_message().unwrap().clone();
    let tool_use = assistant.content()[0].as_tool_use().unwrap().clone();
    assert_eq!(tool_use.name(), "lookup");
    let result = sdk::ToolResultBlock::builder()
        .tool_use_id(tool_use.tool_use_id())
        .content(sdk::ToolResultContentBlock::Text("42".into()))
        .build()
        .unwrap();
    let second = c
        .converse()
        .model_id("m")
        .messages(user("please use lookup"))
        .messages(assistant)
        .messages(
            sdk::Message::builder()
                .role(sdk::ConversationRole::User)
                .content(sdk::ContentBlock::ToolResult(result))
                .build()
                .unwrap(),
        )
        .tool_config(tools)
        .send()
        .await
        .unwrap();
    let text = second.output().unwrap().as_message().unwrap().content()[0]
        .as_text()
        .unwrap()
        .to_owned();
    assert_eq!(
        text,
        format!("The tool results: {} returned 42.", tool_use.tool_use_id())
    );
}

#[tokio::test]
async fn errors_on_request_are_typed() {
    let addr = gateway().await;
    let err = client(addr)
        .converse()
        .model_id("mock.throttle")
        .messages(user("x"))
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_throttling_exception());
    let err = client(addr)
        .converse()
        .model_id("mock.model-timeout")
        .messages(user("x"))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_model_timeout_exception(),
        "{err:?}"
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 408);
}

#[tokio::test]
async fn mid_stream_failure_is_an_exception_frame() {
    let addr = gateway().await;
    let mut out = client(addr)
        .converse_stream()
        .model_id("mock.stream-throttle")
        .messages(user("a few words to stream"))
        .send()
        .await
        .unwrap();
    let mut received = 0;
    let err = loop {
        match out.stream.recv().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("stream ended without the requested failure"),
            Err(e) => break e,
        }
    };
    assert_eq!(received, 3);
    assert!(
        err.as_service_error().unwrap().is_throttling_exception(),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_provider_lists_the_configured_ones() {
    let addr = gateway().await;
    let err = client(addr)
        .converse()
        .model_id("openai/gpt-4o")
        .messages(user("x"))
        .send()
        .await
        .unwrap_err();
    let e = err.as_service_error().unwrap();
    assert!(e.is_validation_exception());
    assert_eq!(
        e.meta().message(),
        Some("Unknown provider 'openai'. Configured providers: mock")
    );
}

#[tokio::test]
async fn count_tokens_and_guardrails() {
    let addr = gateway().await;
    let out = client(addr)
        .count_tokens()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .input(sdk::CountTokensInput::Converse(
            sdk::ConverseTokensRequest::builder()
                .messages(user("one two three"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.input_tokens(), 3);
    let err = client(addr)
        .apply_guardrail()
        .guardrail_identifier("gr-1")
        .guardrail_version("1")
        .source(sdk::GuardrailContentSource::Input)
        .content(sdk::GuardrailContentBlock::Text(
            sdk::GuardrailTextBlock::builder()
                .text("x")
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap_err();
    let e = err.as_service_error().unwrap();
    assert!(e.is_validation_exception());
    assert!(
        e.meta()
            .message()
            .unwrap()
            .contains("guardrails are not supported")
    );
}
