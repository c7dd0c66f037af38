//! Upstream failures as the client sees them: one test per status mapping, retries, key rotation,
//! fallbacks. The `openai` adapter stands in for every HTTP provider: all share one transport.

use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use serde_json::json;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{self, user};

fn ok_answer(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 }
    }))
}

fn openai_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": { "message": message, "type": "invalid_request_error", "param": null, "code": null }
    }))
}

async fn converse(addr: std::net::SocketAddr) -> Result<String, ConverseError> {
    let out = harness::client(addr)
        .converse()
        .model_id("gpt-4o-mini")
        .messages(user("ping"))
        .send()
        .await
        .map_err(|e| e.into_service_error())?;
    let got = harness::converse_output(&out);
    Ok(got["message"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn failing(status: u16) -> (ConverseError, usize) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(status, &format!("upstream says {status}")))
        .mount(&server)
        .await;
    let addr = harness::single("openai", "openai", &format!("{}/v1", server.uri()), "").await;
    let err = converse(addr).await.unwrap_err();
    let requests = server.received_requests().await.unwrap().len();
    (err, requests)
}

/// One test per upstream status: the Bedrock exception, the upstream message kept, and whether
/// it was retried (429 and 5xx: 1 + 2 retries; the rest: once).
macro_rules! status_maps_to {
    ($name:ident, $status:expr, $is:ident, $attempts:expr) => {
        #[tokio::test]
        async fn $name() {
            let (err, attempts) = failing($status).await;
            assert!(err.$is(), "HTTP {}: {err:?}", $status);
            let message = err.meta().message().unwrap_or_default().to_owned();
            assert!(
                message.contains(&format!("upstream says {}", $status)),
                "{message}"
            );
            assert_eq!(attempts, $attempts, "attempts for HTTP {}", $status);
        }
    };
}

status_maps_to!(upstream_400_is_validation, 400, is_validation_exception, 1);
status_maps_to!(
    upstream_401_is_access_denied,
    401,
    is_access_denied_exception,
    1
);
status_maps_to!(
    upstream_403_is_access_denied,
    403,
    is_access_denied_exception,
    1
);
status_maps_to!(
    upstream_404_is_resource_not_found,
    404,
    is_resource_not_found_exception,
    1
);
status_maps_to!(
    upstream_408_is_model_timeout,
    408,
    is_model_timeout_exception,
    1
);
status_maps_to!(upstream_413_is_validation, 413, is_validation_exception, 1);
status_maps_to!(
    upstream_429_is_throttling_after_retries,
    429,
    is_throttling_exception,
    3
);
status_maps_to!(
    upstream_500_is_internal_server_after_retries,
    500,
    is_internal_server_exception,
    3
);
status_maps_to!(
    upstream_502_is_model_error_after_retries,
    502,
    is_model_error_exception,
    3
);
status_maps_to!(
    upstream_503_is_service_unavailable_after_retries,
    503,
    is_service_unavailable_exception,
    3
);
status_maps_to!(
    upstream_504_is_model_timeout_after_retries,
    504,
    is_model_timeout_exception,
    3
);

#[tokio::test]
async fn an_unreachable_upstream_is_service_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let addr = harness::single(
        "openai",
        "openai",
        &format!("http://127.0.0.1:{port}/v1"),
        "",
    )
    .await;
    let err = converse(addr).await.unwrap_err();
    assert!(err.is_service_unavailable_exception(), "{err:?}");
}

#[tokio::test]
async fn a_429_then_an_answer_succeeds_on_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(429, "slow down"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_answer("pong"))
        .mount(&server)
        .await;
    let addr = harness::single("openai", "openai", &format!("{}/v1", server.uri()), "").await;
    assert_eq!(converse(addr).await.unwrap(), "pong");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_throttled_key_is_rotated_away_from_for_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer key-a"))
        .respond_with(
            openai_error(429, "key-a is out of quota").insert_header("retry-after", "120"),
        )
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer key-b"))
        .respond_with(ok_answer("from b"))
        .mount(&server)
        .await;
    let addr = harness::gateway(&format!(
        "default_provider = \"openai\"\n[providers.openai]\ntype = \"openai\"\nbase_url = \"{}/v1\"\napi_keys = [{{ key = \"key-a\" }}, {{ key = \"key-b\" }}]\n{}",
        server.uri(),
        harness::FAST_RETRIES
    ))
    .await;
    for _ in 0..10 {
        assert_eq!(converse(addr).await.unwrap(), "from b");
    }
    let to_a = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.headers.get("authorization").unwrap() == "Bearer key-a")
        .count();
    assert!(to_a <= 1, "key-a was used {to_a} times after its 429");
}

/// An openai provider failing with `status`, falling back to the built-in mock.
async fn with_fallback(status: u16) -> (std::net::SocketAddr, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(status, "upstream trouble"))
        .mount(&server)
        .await;
    let addr = harness::gateway(&format!(
        "default_provider = \"openai\"\n[providers.mock]\ntype = \"mock\"\nreply = \"from the fallback\"\n[providers.openai]\ntype = \"openai\"\nbase_url = \"{}/v1\"\napi_keys = []\nfallbacks = [\"mock/echo\"]\n{}",
        server.uri(),
        harness::FAST_RETRIES
    ))
    .await;
    (addr, server)
}

#[tokio::test]
async fn a_failing_provider_falls_back_after_its_retries() {
    let (addr, server) = with_fallback(503).await;
    assert_eq!(converse(addr).await.unwrap(), "from the fallback");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_bad_request_does_not_fall_back() {
    let (addr, server) = with_fallback(400).await;
    let err = converse(addr).await.unwrap_err();
    assert!(err.is_validation_exception(), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_stream_that_failed_before_starting_falls_back() {
    let (addr, _server) = with_fallback(429).await;
    let out = harness::client(addr)
        .converse_stream()
        .model_id("gpt-4o-mini")
        .messages(user("ping"))
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert_eq!(error, None);
    harness::assert_well_formed(&events);
    let text: String = events
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "from the fallback");
}

#[tokio::test]
async fn a_stream_cut_off_after_it_started_fails_in_stream_and_is_not_retried() {
    let server = MockServer::start().await;
    let cut = harness::sse(&[(
        None,
        json!({ "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "partial" }, "finish_reason": null }] }),
    )]);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(cut, "text/event-stream"))
        .mount(&server)
        .await;
    let addr = harness::single(
        "openai",
        "openai",
        &format!("{}/v1", server.uri()),
        "fallbacks = []\n",
    )
    .await;
    let out = harness::client(addr)
        .converse_stream()
        .model_id("gpt-4o-mini")
        .messages(user("ping"))
        .send()
        .await
        .unwrap();
    let (events, error) = harness::collect_stream(out).await;
    assert!(
        events
            .iter()
            .any(|e| e["contentBlockDelta"]["delta"]["text"] == "partial")
    );
    assert!(
        error.is_some(),
        "a stream without [DONE] must not end cleanly: {events:#?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
