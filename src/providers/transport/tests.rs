//! Transport against local upstreams: retries, key rotation, timeouts, status mapping.

use std::num::NonZeroU32;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn fast(max_retries: u32) -> UpstreamSettings {
    UpstreamSettings {
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(5),
            idle: Duration::from_secs(5),
        },
        retry: RetryPolicy {
            max_retries,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        },
    }
}

fn keys(names: &[&str]) -> Vec<WeightedKey> {
    names
        .iter()
        .map(|k| WeightedKey {
            key: ApiKey::new(*k),
            weight: NonZeroU32::MIN,
        })
        .collect()
}

fn transport(settings: UpstreamSettings, key_names: &[&str]) -> Transport {
    Transport::new(ProviderId::new("up"), settings, keys(key_names)).unwrap()
}

async fn post(t: &Transport, url: &str) -> Result<reqwest::Response, ProviderError> {
    t.send(|client, key| {
        let mut b = client.post(url);
        if let Some(k) = key {
            b = b.bearer_auth(k.expose());
        }
        Ok(b)
    })
    .await
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let t = transport(fast(2), &[]);
    let response = post(&t, &server.uri()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_the_last_answer_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let t = transport(fast(2), &[]);
    let response = post(&t, &server.uri()).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    let t = transport(fast(3), &[]);
    assert_eq!(post(&t, &server.uri()).await.unwrap().status(), 400);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_throttled_key_is_rotated_away_from() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer k0"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "60"))
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer k1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let t = transport(fast(1), &["k0", "k1"]);
    for _ in 0..20 {
        assert_eq!(post(&t, &server.uri()).await.unwrap().status(), 200);
    }
    let requests = server.received_requests().await.unwrap();
    let to_k0 = requests
        .iter()
        .filter(|r| r.headers.get("authorization").unwrap() == "Bearer k0")
        .count();
    // k0 was tried at most once: its 429 took it out of rotation for the Retry-After minute.
    assert!(to_k0 <= 1, "k0 got {to_k0} requests");
    assert_eq!(requests.len(), 20 + to_k0);
}

#[tokio::test]
async fn an_unreachable_upstream_is_service_unavailable_after_retries() {
    // A port nobody listens on: bind one, learn its number, close it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let t = transport(fast(2), &[]);
    let err = post(&t, &format!("http://{addr}/")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ServiceUnavailable);
    assert!(
        err.message.contains("could not be reached"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn no_answer_within_the_first_byte_timeout_is_a_model_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut settings = fast(0);
    settings.timeouts.first_byte = Duration::from_millis(100);
    let t = transport(settings, &[]);
    let err = post(&t, &server.uri()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelTimeout);
}

/// An upstream that sends headers and one chunk, then goes quiet with the connection open.
async fn stalling_upstream() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    addr
}

#[tokio::test]
async fn a_stream_that_goes_quiet_ends_with_a_model_timeout() {
    let addr = stalling_upstream().await;
    let mut settings = fast(0);
    settings.timeouts.idle = Duration::from_millis(200);
    let t = transport(settings, &[]);
    let response = post(&t, &format!("http://{addr}/")).await.unwrap();
    let mut body = t.body(response);
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        Bytes::from_static(b"hello")
    );
    let err = body.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelTimeout);
    assert!(body.next().await.is_none());
}

#[test]
fn statuses_map_to_bedrock_kinds() {
    let cases = [
        (400, ErrorKind::Validation),
        (401, ErrorKind::AccessDenied),
        (403, ErrorKind::AccessDenied),
        (404, ErrorKind::ResourceNotFound),
        (408, ErrorKind::ModelTimeout),
        (413, ErrorKind::Validation),
        (422, ErrorKind::Validation),
        (429, ErrorKind::Throttling),
        (500, ErrorKind::InternalServer),
        (502, ErrorKind::ModelError),
        (503, ErrorKind::ServiceUnavailable),
        (504, ErrorKind::ModelTimeout),
        (529, ErrorKind::ServiceUnavailable),
    ];
    for (status, kind) in cases {
        assert_eq!(status_kind(status), kind, "HTTP {status}");
    }
    let err = status_error(
        &ProviderId::new("openai"),
        429,
        Some("Rate limit reached".into()),
    );
    assert_eq!(
        err.message,
        "Rate limit reached (provider 'openai' answered HTTP 429)"
    );
}

#[test]
fn backoff_is_jittered_below_a_doubling_cap() {
    let policy = RetryPolicy {
        max_retries: 5,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(350),
    };
    assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(100));
    assert_eq!(policy.backoff(2, 1.0), Duration::from_millis(200));
    assert_eq!(policy.backoff(3, 1.0), Duration::from_millis(350));
    assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(175));
    assert_eq!(policy.backoff(9, 0.0), Duration::ZERO);
}

#[tokio::test]
async fn a_redirect_within_the_providers_origin_is_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/old"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/new"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/new"))
        .and(header("authorization", "Bearer sk-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_string("moved"))
        .mount(&server)
        .await;
    let t = transport(fast(0), &["sk-secret"]);
    let response = post(&t, &format!("{}/old", server.uri())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "moved");
}

#[tokio::test]
async fn redirects_to_another_origin_are_relayed_as_failures_never_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("followed"))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/x", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let t = transport(fast(2), &["sk-secret"]);
    let response = post(&t, &server.uri()).await.unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // The key never travels to where the redirect points.
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    assert_eq!(status_kind(307), ErrorKind::InternalServer);
}

#[tokio::test]
async fn creates_are_sent_again_only_when_the_provider_cannot_have_acted() {
    async fn creates_sent(status: u16) -> (u16, usize) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let t = transport(fast(2), &[]);
        let url = server.uri();
        let response = t.send_create(|client, _| Ok(client.post(&url))).await;
        let answered = response.map_or(0, |r| r.status().as_u16());
        (answered, server.received_requests().await.unwrap().len())
    }
    // After a 5xx the create may have happened: the answer is final.
    assert_eq!(creates_sent(500).await, (500, 1));
    assert_eq!(creates_sent(503).await, (503, 1));
    // A 429 refused it: retried like any call.
    assert_eq!(creates_sent(429).await, (429, 3));
    // A connection that never opened never reached the provider: retried too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let t = transport(fast(2), &[]);
    let err = t
        .send_create(|client, _| {
            attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(client.post(&url))
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ServiceUnavailable);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::Relaxed), 3);
}
