//! The `bedrock` provider end to end: the AWS SDK through the gateway to a wiremock standing in
//! for AWS Bedrock, the request relayed re-signed with its body untouched, answers and event
//! streams relayed byte for byte, AWS's errors as they are, upstream failures as Bedrock errors.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_bedrockruntime::operation::RequestId as _;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types as sdk;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use quarry::providers::ProviderId;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const MODEL_PATH: &str = "/model/anthropic.claude-3-haiku-20240307-v1%3A0";
const UPSTREAM_KEY_ID: &str = "AKIDUPSTREAM";
const UPSTREAM_SECRET: &str = "upstream-secret";
const NO_RETRIES: &str = "retries = { max = 0 }\n";

fn load(toml: &str) -> quarry::config::Config {
    quarry::config::load(
        quarry::config::Source {
            name: "test.toml",
            text: toml,
        },
        &quarry::config::Env::new(),
        &common::scratch_flags(),
    )
    .expect("the test config loads")
}

fn provider_toml(endpoint: &str, extra: &str) -> String {
    format!(
        "default_provider = \"aws\"\n[providers.aws]\ntype = \"bedrock\"\nregion = \"us-west-2\"\nendpoint = \"{endpoint}\"\n{extra}"
    )
}

/// The gateway `quarry serve` would run: the provider signs with a Bedrock API key.
async fn api_key_gateway(endpoint: &str, extra: &str) -> SocketAddr {
    let config = load(&provider_toml(
        endpoint,
        &format!("api_key = \"bedrock-api-key\"\n{NO_RETRIES}{extra}"),
    ));
    common::serve_gateway(quarry::app::gateway(&config).expect("the test config builds")).await
}

/// A gateway whose provider signs with SigV4, with fixed credentials instead of the default
/// chain (whose environment a test must not touch), assembled as `app::gateway` does.
async fn sigv4_gateway(endpoint: &str) -> SocketAddr {
    let config = load(&provider_toml(endpoint, NO_RETRIES));
    let id = ProviderId::new("aws");
    let Some(quarry::config::ProviderConfig::Bedrock(bedrock)) = config.providers.get(&id) else {
        panic!("provider 'aws' is a bedrock provider");
    };
    let transport =
        quarry::providers::transport::Transport::new(id.clone(), bedrock.remote.upstream, vec![])
            .unwrap();
    let provider = quarry::providers::bedrock::Bedrock::new(id, bedrock, transport)
        .with_credentials(aws_sdk_bedrockruntime::config::Credentials::new(
            UPSTREAM_KEY_ID,
            UPSTREAM_SECRET,
            None,
            None,
            "test",
        ));
    let runtime = Arc::new(quarry::runtime::Runtime::new(
        quarry::runtime::routing::Routes::single(Arc::new(provider)),
    ));
    let stub = Arc::new(quarry::stubs::NotImplementedYet);
    let gateway = quarry::dispatch::Gateway::new(runtime.clone(), stub.clone(), stub)
        .unwrap()
        .with_passthrough(runtime);
    common::serve_gateway(gateway).await
}

async fn upstream(operation: &str, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MODEL_PATH}/{operation}")))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

async fn only_request(server: &MockServer) -> wiremock::Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "expected one upstream request");
    requests.remove(0)
}

/// Checks the upstream request's signature with the gateway's own verifier, holding the secret
/// the provider signed with.
fn verify_upstream_signature(request: &wiremock::Request) {
    let mut keys = quarry::auth::KeyStore::new();
    keys.insert(quarry::auth::Credential {
        access_key_id: quarry::auth::AccessKeyId::new(UPSTREAM_KEY_ID),
        secret: quarry::auth::SecretKey::new(UPSTREAM_SECRET),
        identity: quarry::auth::Identity::new("upstream"),
    });
    let mut signed = http::Request::post(request.url.as_str()).body(()).unwrap();
    *signed.headers_mut() = request.headers.clone();
    let (parts, ()) = signed.into_parts();
    let identity = quarry::auth::verify_header(
        &parts,
        &quarry::auth::PayloadHash::of_body(&request.body),
        &keys,
        SystemTime::now(),
        Duration::from_secs(300),
        &["bedrock"],
    )
    .unwrap_or_else(|e| panic!("the upstream signature does not verify: {e:?}"));
    assert_eq!(identity.key_name, "upstream");
}

fn header<'a>(request: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

fn converse_answer() -> Value {
    json!({
        "output": { "message": { "role": "assistant", "content": [{ "text": "Bonjour !" }] } },
        "stopReason": "end_turn",
        "usage": { "inputTokens": 12, "outputTokens": 4, "totalTokens": 16 },
        "metrics": { "latencyMs": 321 }
    })
}

fn user(text: &str) -> sdk::Message {
    sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text(text.to_owned()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn converse_reaches_aws_signed_with_the_upstream_model_and_the_answer_parses() {
    let server = upstream(
        "converse",
        ResponseTemplate::new(200)
            .set_body_raw(converse_answer().to_string(), "application/json")
            .insert_header("x-amzn-requestid", "aws-request-1"),
    )
    .await;
    let addr = sigv4_gateway(&server.uri()).await;
    let out = common::bedrock_runtime_no_retries(addr)
        .converse()
        // The `aws/` prefix routes; AWS sees only the model id behind it.
        .model_id(format!("aws/{MODEL}"))
        .messages(user("Say hello in French"))
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let text = out.output().unwrap().as_message().unwrap().content()[0]
        .as_text()
        .unwrap();
    assert_eq!(text, "Bonjour !");
    assert_eq!(out.stop_reason(), &sdk::StopReason::EndTurn);
    assert_eq!(out.usage().unwrap().total_tokens(), 16);
    assert_eq!(out.metrics().unwrap().latency_ms(), 321);
    // AWS's own request id reaches the client.
    assert_eq!(out.request_id(), Some("aws-request-1"));

    let request = only_request(&server).await;
    assert_eq!(request.url.path(), format!("{MODEL_PATH}/converse"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "messages": [{ "role": "user", "content": [{ "text": "Say hello in French" }] }],
            "inferenceConfig": { "maxTokens": 64 }
        })
    );
    verify_upstream_signature(&request);
    let authorization = header(&request, "authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDUPSTREAM/"),
        "{authorization}"
    );
    assert!(
        authorization.contains("/us-west-2/bedrock/aws4_request"),
        "{authorization}"
    );
    assert_eq!(
        header(&request, "x-amz-content-sha256"),
        Some(quarry::auth::PayloadHash::of_body(&request.body).as_str())
    );
    // Nothing of the client's own credentials or SDK bookkeeping goes upstream.
    for name in [
        "x-amz-security-token",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "x-amz-user-agent",
        "x-model-provider",
    ] {
        assert!(header(&request, name).is_none(), "{name} was forwarded");
    }
}

#[tokio::test]
async fn the_body_reaches_aws_byte_for_byte() {
    let server = upstream(
        "converse",
        ResponseTemplate::new(200).set_body_raw(converse_answer().to_string(), "application/json"),
    )
    .await;
    let addr = sigv4_gateway(&server.uri()).await;
    // Odd spacing, key order and an unknown member: nothing is parsed, so nothing changes.
    let sent = b"{ \"messages\" :[{\"content\":[{\"text\":\"h\\u00e9\"}],\"role\":\"user\"}],\n\"zzz\": 1 }";
    let response = common::raw_request(
        addr,
        "POST",
        "/bedrock/model/aws%2Fanthropic.claude-3-haiku-20240307-v1%3A0/converse",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer client-token"),
        ],
        sent,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body_text());
    assert_eq!(response.json(), converse_answer());
    // No request id upstream: the gateway's own.
    assert!(response.header("x-amzn-requestid").is_some());
    let request = only_request(&server).await;
    assert_eq!(request.body, sent);
    verify_upstream_signature(&request);
}

#[tokio::test]
async fn invoke_model_with_an_api_key_forwards_bedrock_headers_and_relays_the_answer() {
    let answer = br#"{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}]}"#;
    let server = upstream(
        "invoke",
        ResponseTemplate::new(200)
            .set_body_raw(answer.to_vec(), "application/json")
            .insert_header("x-amzn-bedrock-performanceconfig-latency", "optimized")
            .insert_header("x-amzn-bedrock-service-tier", "priority")
            .insert_header("x-amzn-bedrock-output-token-count", "1")
            .insert_header("x-upstream-internal", "not relayed"),
    )
    .await;
    let addr = api_key_gateway(&server.uri(), "").await;
    let body = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#;
    let out = common::bedrock_runtime_no_retries(addr)
        .invoke_model()
        .model_id(MODEL)
        .content_type("application/json")
        .accept("application/json")
        .trace(sdk::Trace::Enabled)
        .performance_config_latency(sdk::PerformanceConfigLatency::Optimized)
        .service_tier(sdk::ServiceTierType::Priority)
        .body(Blob::new(body.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.body().as_ref(), answer);
    assert_eq!(out.content_type(), "application/json");
    assert_eq!(
        out.performance_config_latency(),
        Some(&sdk::PerformanceConfigLatency::Optimized)
    );
    assert_eq!(out.service_tier(), Some(&sdk::ServiceTierType::Priority));

    let request = only_request(&server).await;
    assert_eq!(request.body, body);
    assert_eq!(
        header(&request, "authorization"),
        Some("Bearer bedrock-api-key")
    );
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(header(&request, "accept"), Some("application/json"));
    assert_eq!(header(&request, "x-amzn-bedrock-trace"), Some("ENABLED"));
    assert_eq!(
        header(&request, "x-amzn-bedrock-performanceconfig-latency"),
        Some("optimized")
    );
    assert_eq!(
        header(&request, "x-amzn-bedrock-service-tier"),
        Some("priority")
    );
    assert!(header(&request, "x-amz-date").is_none());
    assert!(header(&request, "x-amz-content-sha256").is_none());

    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/invoke"),
        &[("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(raw.header("x-amzn-bedrock-output-token-count"), Some("1"));
    assert_eq!(raw.header("x-upstream-internal"), None);
}

/// One event-stream frame as Bedrock sends it.
fn frame(event_type: &str, payload: &Value) -> Vec<u8> {
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.to_owned().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ));
    let mut out = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut out).unwrap();
    out
}

fn event_stream(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(body, "application/vnd.amazon.eventstream")
        .insert_header("x-amzn-requestid", "aws-stream-1")
}

fn converse_frames() -> Vec<u8> {
    [
        frame("messageStart", &json!({ "role": "assistant", "p": "abcd" })),
        frame(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": 0, "delta": { "text": "Bon" }, "p": "ab" }),
        ),
        frame(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": 0, "delta": { "text": "jour" } }),
        ),
        frame("contentBlockStop", &json!({ "contentBlockIndex": 0 })),
        frame("messageStop", &json!({ "stopReason": "end_turn" })),
        frame(
            "metadata",
            &json!({ "usage": { "inputTokens": 5, "outputTokens": 2, "totalTokens": 7 },
                     "metrics": { "latencyMs": 40 } }),
        ),
    ]
    .concat()
}

#[tokio::test]
async fn converse_stream_events_are_relayed_byte_for_byte() {
    let frames = converse_frames();
    let server = upstream("converse-stream", event_stream(frames.clone())).await;
    let addr = sigv4_gateway(&server.uri()).await;
    let mut out = common::bedrock_runtime_no_retries(addr)
        .converse_stream()
        .model_id(MODEL)
        .messages(user("hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.request_id(), Some("aws-stream-1"));
    let mut text = String::new();
    let mut kinds = Vec::new();
    while let Some(event) = out.stream.recv().await.unwrap() {
        match &event {
            sdk::ConverseStreamOutput::MessageStart(_) => kinds.push("messageStart"),
            sdk::ConverseStreamOutput::ContentBlockDelta(d) => {
                kinds.push("contentBlockDelta");
                text.push_str(d.delta().unwrap().as_text().unwrap());
            }
            sdk::ConverseStreamOutput::ContentBlockStop(_) => kinds.push("contentBlockStop"),
            sdk::ConverseStreamOutput::MessageStop(s) => {
                assert_eq!(s.stop_reason(), &sdk::StopReason::EndTurn);
                kinds.push("messageStop");
            }
            sdk::ConverseStreamOutput::Metadata(m) => {
                assert_eq!(m.usage().unwrap().total_tokens(), 7);
                kinds.push("metadata");
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(text, "Bonjour");
    assert_eq!(
        kinds,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    verify_upstream_signature(&only_request(&server).await);

    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/converse-stream"),
        &[("content-type", "application/json")],
        br#"{"messages":[]}"#,
    )
    .await;
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert!(raw.body == frames, "the relayed event stream differs");
}

#[tokio::test]
async fn invoke_model_response_stream_chunks_are_relayed_byte_for_byte() {
    let chunks = [r#"{"type":"message_start"}"#, r#"{"type":"message_stop"}"#];
    let frames: Vec<u8> = chunks
        .iter()
        .flat_map(|c| {
            let bytes = aws_smithy_types::base64::encode(c);
            frame("chunk", &json!({ "bytes": bytes }))
        })
        .collect();
    let server = upstream("invoke-with-response-stream", event_stream(frames.clone())).await;
    let addr = api_key_gateway(&server.uri(), "").await;
    let mut out = common::bedrock_runtime_no_retries(addr)
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .content_type("application/json")
        .body(Blob::new(br#"{"messages":[]}"#.to_vec()))
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    while let Some(event) = out.body.recv().await.unwrap() {
        let sdk::ResponseStream::Chunk(part) = event else {
            panic!("unexpected event {event:?}");
        };
        received.push(String::from_utf8(part.bytes().unwrap().as_ref().to_vec()).unwrap());
    }
    assert_eq!(received, chunks);
    assert_eq!(
        header(&only_request(&server).await, "x-amzn-bedrock-accept"),
        None,
        "the SDK sent no accept override, and none was invented"
    );

    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/invoke-with-response-stream"),
        &[("content-type", "application/json")],
        br#"{"messages":[]}"#,
    )
    .await;
    assert!(raw.body == frames, "the relayed event stream differs");
}

#[tokio::test]
async fn aws_errors_are_relayed_as_they_are() {
    let error = r#"{"message":"The provided model identifier is invalid."}"#;
    let server = upstream(
        "converse",
        ResponseTemplate::new(400)
            .set_body_raw(error, "application/json")
            .insert_header(
                "x-amzn-errortype",
                "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            )
            .insert_header("x-amzn-requestid", "aws-error-1"),
    )
    .await;
    let addr = sigv4_gateway(&server.uri()).await;
    let err = common::bedrock_runtime_no_retries(addr)
        .converse()
        .model_id(MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert_eq!(
        err.meta().message(),
        Some("The provided model identifier is invalid.")
    );

    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/converse"),
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(raw.status, 400);
    assert_eq!(
        raw.header("x-amzn-errortype"),
        Some("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
    );
    assert_eq!(raw.header("x-amzn-requestid"), Some("aws-error-1"));
    assert_eq!(raw.body_text(), error);
    // A 4xx is AWS's answer, not a failure to retry.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_service_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let addr = api_key_gateway(&format!("http://127.0.0.1:{port}"), "").await;
    let err = common::bedrock_runtime_no_retries(addr)
        .converse()
        .model_id(MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_service_unavailable_exception(), "{err:?}");
    let message = err.meta().message().unwrap();
    assert!(
        message.contains("provider 'aws' could not be reached"),
        "{message}"
    );

    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/converse-stream"),
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(raw.status, 503);
    assert_eq!(raw.error_type(), Some("ServiceUnavailableException"));
    assert!(raw.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn a_silent_upstream_times_out_as_model_timeout() {
    let server = upstream(
        "converse",
        ResponseTemplate::new(200)
            .set_body_raw(converse_answer().to_string(), "application/json")
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let addr = api_key_gateway(&server.uri(), "timeouts = { first_byte = 1 }\n").await;
    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/converse"),
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(raw.status, 408, "{}", raw.body_text());
    assert_eq!(raw.error_type(), Some("ModelTimeoutException"));
}

/// An upstream that answers the head and one event of a stream, then hangs up mid-body.
async fn cutting_upstream(first: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let first = first.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head and the (small) body before answering.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\ncontent-length: 100000\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&first).await;
                let _ = socket.flush().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                // Dropping the socket cuts the body short of its content-length.
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_stream_cut_upstream_is_cut_for_the_client_after_its_events() {
    let first = frame("messageStart", &json!({ "role": "assistant" }));
    let endpoint = cutting_upstream(first.clone()).await;
    let addr = api_key_gateway(&endpoint, "").await;
    let mut out = common::bedrock_runtime_no_retries(addr)
        .converse_stream()
        .model_id(MODEL)
        .messages(user("hello"))
        .send()
        .await
        .unwrap();
    let event = out.stream.recv().await.unwrap();
    assert!(
        matches!(event, Some(sdk::ConverseStreamOutput::MessageStart(_))),
        "{event:?}"
    );
    // The stream does not end cleanly: the client's decoder reports the cut.
    let next = out.stream.recv().await;
    assert!(next.is_err(), "{next:?}");
}

#[tokio::test]
async fn bodies_over_the_runtime_limit_are_refused_before_reaching_aws() {
    let server = upstream(
        "converse",
        ResponseTemplate::new(200).set_body_raw(converse_answer().to_string(), "application/json"),
    )
    .await;
    let config = load(&format!(
        "{}[server.max_body_bytes]\nbedrock_runtime = 1024\n",
        provider_toml(&server.uri(), "api_key = \"k\"\n")
    ));
    let addr = common::serve_gateway(quarry::app::gateway(&config).unwrap()).await;
    let raw = common::raw_request(
        addr,
        "POST",
        &format!("{MODEL_PATH}/converse"),
        &[("content-type", "application/json")],
        &vec![b' '; 2048],
    )
    .await;
    assert_eq!(raw.status, 400, "{}", raw.body_text());
    assert_eq!(raw.error_type(), Some("ValidationException"));
    assert_eq!(
        raw.json()["message"],
        "Malformed input request: request body exceeded the configured maximum of 1024 bytes"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn keys_reach_aws_only_when_allowed_to() {
    let server = upstream(
        "converse",
        ResponseTemplate::new(200).set_body_raw(converse_answer().to_string(), "application/json"),
    )
    .await;
    let config = load(&format!(
        "{}\n[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"test\"\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"secret\"\nmodels = [\"meta.*\"]\n",
        provider_toml(&server.uri(), "api_key = \"k\"\n")
    ));
    let addr = common::serve_gateway(quarry::app::gateway(&config).unwrap()).await;
    let err = common::bedrock_runtime_no_retries(addr)
        .converse()
        .model_id(MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception(), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A gateway whose default provider (`openai`) is down and falls back to AWS Bedrock, both
/// served by `server`.
async fn fallback_gateway(server: &MockServer) -> SocketAddr {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_raw(r#"{"error":{"message":"overloaded"}}"#, "application/json"),
        )
        .mount(server)
        .await;
    let config = load(&format!(
        "default_provider = \"openai\"\n\
         [providers.openai]\ntype = \"openai\"\nbase_url = \"{uri}/v1\"\napi_keys = [{{ key = \"k\" }}]\n{NO_RETRIES}\
         fallbacks = [\"aws/{MODEL}\"]\n\
         [providers.aws]\ntype = \"bedrock\"\nregion = \"us-west-2\"\nendpoint = \"{uri}\"\napi_key = \"bedrock-api-key\"\n{NO_RETRIES}",
        uri = server.uri()
    ));
    common::serve_gateway(quarry::app::gateway(&config).expect("the test config builds")).await
}

async fn bedrock_requests(server: &MockServer) -> Vec<wiremock::Request> {
    let requests = server.received_requests().await.expect("recording is on");
    requests
        .into_iter()
        .filter(|r| r.url.path().starts_with("/model/"))
        .collect()
}

#[tokio::test]
async fn as_a_fallback_target_converse_is_sent_typed_and_read_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MODEL_PATH}/converse")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(converse_answer().to_string(), "application/json"),
        )
        .mount(&server)
        .await;
    let addr = fallback_gateway(&server).await;
    let out = common::bedrock_runtime_no_retries(addr)
        .converse()
        .model_id("gpt-4o")
        .system(sdk::SystemContentBlock::Text("Be brief.".into()))
        .messages(user("Say hello in French"))
        .inference_config(
            sdk::InferenceConfiguration::builder()
                .max_tokens(64)
                .temperature(0.5)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let text = out.output().unwrap().as_message().unwrap().content()[0]
        .as_text()
        .unwrap();
    assert_eq!(text, "Bonjour !");
    assert_eq!(out.usage().unwrap().total_tokens(), 16);

    let requests = bedrock_requests(&server).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        header(request, "authorization"),
        Some("Bearer bedrock-api-key")
    );
    assert_eq!(header(request, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "messages": [{ "role": "user", "content": [{ "text": "Say hello in French" }] }],
            "system": [{ "text": "Be brief." }],
            "inferenceConfig": { "maxTokens": 64, "temperature": 0.5 }
        })
    );
}

#[tokio::test]
async fn as_a_fallback_target_converse_stream_frames_become_the_clients_events() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MODEL_PATH}/converse-stream")))
        .respond_with(event_stream(converse_frames()))
        .mount(&server)
        .await;
    let addr = fallback_gateway(&server).await;
    let mut out = common::bedrock_runtime_no_retries(addr)
        .converse_stream()
        .model_id("gpt-4o")
        .messages(user("hello"))
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    let mut events = 0;
    let mut usage = None;
    while let Some(event) = out.stream.recv().await.unwrap() {
        events += 1;
        match event {
            sdk::ConverseStreamOutput::ContentBlockDelta(d) => {
                text.push_str(d.delta().unwrap().as_text().unwrap());
            }
            sdk::ConverseStreamOutput::Metadata(m) => usage = m.usage().map(|u| u.total_tokens()),
            _ => {}
        }
    }
    assert_eq!(text, "Bonjour");
    assert_eq!(events, 6);
    assert_eq!(usage, Some(7));
    let requests = bedrock_requests(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        header(&requests[0], "accept"),
        Some("application/vnd.amazon.eventstream")
    );
}

#[tokio::test]
async fn as_a_fallback_target_aws_errors_keep_their_kind() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MODEL_PATH}/converse")))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_raw(
                    r#"{"message":"Malformed input request."}"#,
                    "application/json",
                )
                .insert_header("x-amzn-errortype", "ValidationException"),
        )
        .mount(&server)
        .await;
    let addr = fallback_gateway(&server).await;
    let err = common::bedrock_runtime_no_retries(addr)
        .converse()
        .model_id("gpt-4o")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let message = err.meta().message().unwrap();
    assert!(
        message.starts_with("Malformed input request. (provider 'aws' answered HTTP 400)"),
        "{message}"
    );
}
