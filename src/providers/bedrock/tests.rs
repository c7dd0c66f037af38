//! Unit tests of the bedrock provider: header selection, upstream URLs, signatures checked by the gateway's own verifier.

use std::time::{Duration, SystemTime};

use super::credentials::reuse_until;
use super::*;
use crate::auth::{AccessKeyId, Credential, Identity, KeyStore, PayloadHash, SecretKey};
use crate::config::{BaseUrl, RemoteConfig};
use crate::providers::transport::UpstreamSettings;

fn config(endpoint: &str, credentials: BedrockCredentials) -> BedrockConfig {
    BedrockConfig {
        region: "us-west-2".to_owned(),
        endpoint: BaseUrl::parse(endpoint).unwrap(),
        credentials,
        remote: RemoteConfig::default(),
        s3: None,
        batch_role_arn: None,
        batch_endpoint: None,
    }
}

fn provider(endpoint: &str) -> Bedrock {
    let id = ProviderId::new("aws");
    let transport = Transport::new(id.clone(), UpstreamSettings::default(), Vec::new()).unwrap();
    Bedrock::new(
        id,
        &config(endpoint, BedrockCredentials::ApiKey(ApiKey::new("k"))),
        transport,
    )
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn names(map: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = map.keys().map(|n| n.as_str().to_owned()).collect();
    names.sort();
    names
}

#[test]
fn only_the_headers_bedrock_acts_on_are_forwarded() {
    let client = headers(&[
        ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/x"),
        ("x-amz-date", "20240101T000000Z"),
        ("x-amz-security-token", "token"),
        ("x-amz-content-sha256", "abc"),
        ("host", "gateway:8080"),
        ("x-model-provider", "aws"),
        ("content-length", "12"),
        ("connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("user-agent", "aws-sdk-rust"),
        ("amz-sdk-invocation-id", "x"),
        ("content-type", "application/json"),
        ("accept", "application/vnd.amazon.eventstream"),
        ("x-amzn-bedrock-guardrailidentifier", "gr-1"),
        ("x-amzn-bedrock-guardrailversion", "DRAFT"),
        ("x-amzn-bedrock-trace", "ENABLED"),
        ("x-amzn-bedrock-performanceconfig-latency", "optimized"),
        ("x-amzn-bedrock-service-tier", "priority"),
        ("x-amzn-bedrock-accept", "application/json"),
    ]);
    let forwarded = forwarded_request_headers(&client);
    assert_eq!(
        names(&forwarded),
        [
            "accept",
            "content-type",
            "x-amzn-bedrock-accept",
            "x-amzn-bedrock-guardrailidentifier",
            "x-amzn-bedrock-guardrailversion",
            "x-amzn-bedrock-performanceconfig-latency",
            "x-amzn-bedrock-service-tier",
            "x-amzn-bedrock-trace",
        ]
    );
    assert_eq!(forwarded["x-amzn-bedrock-trace"], "ENABLED");
    assert_eq!(forwarded["content-type"], "application/json");
}

#[test]
fn headers_that_cannot_be_signed_are_dropped() {
    let mut client = HeaderMap::new();
    client.insert(
        "x-amzn-bedrock-trace",
        http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    );
    assert!(forwarded_request_headers(&client).is_empty());
}

#[test]
fn only_the_headers_clients_read_are_relayed() {
    let upstream = headers(&[
        ("content-type", "application/vnd.amazon.eventstream"),
        ("x-amzn-requestid", "9f1c"),
        (
            "x-amzn-errortype",
            "ValidationException:http://internal.amazon.com/",
        ),
        ("x-amzn-bedrock-performanceconfig-latency", "standard"),
        ("x-amzn-bedrock-service-tier", "default"),
        ("content-length", "99"),
        ("connection", "keep-alive"),
        ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ("set-cookie", "a=b"),
    ]);
    assert_eq!(
        names(&relayed_response_headers(&upstream)),
        [
            "content-type",
            "x-amzn-bedrock-performanceconfig-latency",
            "x-amzn-bedrock-service-tier",
            "x-amzn-errortype",
            "x-amzn-requestid",
        ]
    );
}

#[test]
fn upstream_urls_encode_the_model_id_as_the_sdk_does() {
    let p = provider("https://bedrock-runtime.us-west-2.amazonaws.com");
    assert_eq!(
        p.upstream_url(
            &ModelId::new("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            RuntimeOperation::Converse,
            None
        ),
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    let arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3";
    assert_eq!(
        p.upstream_url(
            &ModelId::new(arn),
            RuntimeOperation::InvokeModelWithResponseStream,
            None
        ),
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3/invoke-with-response-stream"
    );
    // Unreserved characters stay; anything else is escaped.
    assert_eq!(
        p.upstream_url(
            &ModelId::new("a b~_.-+"),
            RuntimeOperation::CountTokens,
            None
        ),
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/a%20b~_.-%2B/count-tokens"
    );
}

#[test]
fn upstream_urls_keep_the_endpoint_path_and_the_query() {
    let p = provider("http://127.0.0.1:9000/proxy/");
    assert_eq!(
        p.upstream_url(
            &ModelId::new("m"),
            RuntimeOperation::InvokeModel,
            Some("a=1&b=%2F")
        ),
        "http://127.0.0.1:9000/proxy/model/m/invoke?a=1&b=%2F"
    );
    assert_eq!(
        p.upstream_url(
            &ModelId::new("m"),
            RuntimeOperation::ConverseStream,
            Some("")
        ),
        "http://127.0.0.1:9000/proxy/model/m/converse-stream"
    );
}

#[test]
fn operations_name_their_path_suffix() {
    for op in RuntimeOperation::ALL {
        assert_eq!(
            RuntimeOperation::from_path_suffix(op.path_suffix()),
            Some(op)
        );
    }
    assert_eq!(RuntimeOperation::from_path_suffix("converse-streams"), None);
}

/// Signs a request the way the provider does, then checks it with the gateway's own verifier
/// holding the same secret: the signature must verify, and stop verifying once anything signed
/// changes.
fn signed(
    session_token: Option<&str>,
    body: &[u8],
) -> (http::request::Parts, aws_credential_types::Credentials) {
    let url = "http://127.0.0.1:9000/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3/converse?x=1";
    let credentials = aws_credential_types::Credentials::new(
        "AKIDUPSTREAM",
        "upstream-secret",
        session_token.map(str::to_owned),
        None,
        "test",
    );
    let mut headers = forwarded_request_headers(&headers(&[
        ("content-type", "application/json"),
        ("x-amzn-bedrock-trace", "ENABLED"),
        ("authorization", "stale"),
    ]));
    sign::sign_request(
        url,
        &mut headers,
        body,
        &credentials,
        "us-west-2",
        SystemTime::now(),
    )
    .unwrap();
    // What reqwest puts on the wire for this URL.
    headers.insert("host", http::HeaderValue::from_static("127.0.0.1:9000"));
    let mut request = http::Request::post(url).body(()).unwrap();
    *request.headers_mut() = headers;
    (request.into_parts().0, credentials)
}

fn verify(parts: &http::request::Parts, body: &[u8]) -> Result<Identity, crate::auth::AuthError> {
    let mut keys = KeyStore::new();
    keys.insert(Credential {
        access_key_id: AccessKeyId::new("AKIDUPSTREAM"),
        secret: SecretKey::new("upstream-secret"),
        identity: Identity::new("upstream"),
    });
    crate::auth::verify_header(
        parts,
        &PayloadHash::of_body(body),
        &keys,
        SystemTime::now(),
        Duration::from_secs(300),
        &["bedrock"],
    )
}

#[test]
fn signatures_verify_against_the_same_secret() {
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let (parts, _) = signed(None, body);
    let authorization = parts.headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDUPSTREAM/"),
        "{authorization}"
    );
    assert!(
        authorization.contains("/us-west-2/bedrock/aws4_request"),
        "{authorization}"
    );
    assert!(parts.headers["authorization"].is_sensitive());
    assert!(parts.headers.contains_key("x-amz-date"));
    assert!(!parts.headers.contains_key("x-amz-security-token"));
    assert_eq!(
        parts.headers["x-amz-content-sha256"],
        PayloadHash::of_body(body).as_str()
    );
    for signed_header in [
        "content-type",
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amzn-bedrock-trace",
    ] {
        assert!(
            authorization.contains(signed_header),
            "{signed_header} is not signed: {authorization}"
        );
    }
    assert_eq!(verify(&parts, body).unwrap().key_name, "upstream");

    // Another body, another model, another signed header: no longer the signed request.
    assert!(verify(&parts, b"{}").is_err());
    let mut other_path = parts.clone();
    other_path.uri = "http://127.0.0.1:9000/model/m/converse?x=1"
        .parse()
        .unwrap();
    assert!(verify(&other_path, body).is_err());
    let mut other_header = parts.clone();
    other_header.headers.insert(
        "x-amzn-bedrock-trace",
        http::HeaderValue::from_static("DISABLED"),
    );
    assert!(verify(&other_header, body).is_err());
}

#[test]
fn temporary_credentials_send_and_sign_their_session_token() {
    let body = b"{}";
    let (parts, _) = signed(Some("session-token"), body);
    assert_eq!(parts.headers["x-amz-security-token"], "session-token");
    let authorization = parts.headers["authorization"].to_str().unwrap();
    assert!(
        authorization.contains("x-amz-security-token"),
        "{authorization}"
    );
    verify(&parts, body).unwrap();
}

#[test]
fn api_keys_are_bearer_tokens_and_nothing_is_signed() {
    let p = provider("http://127.0.0.1:9000");
    let client = reqwest::Client::new();
    let forwarded = forwarded_request_headers(&headers(&[("content-type", "application/json")]));
    let request = p
        .build(
            &client,
            "http://127.0.0.1:9000/model/m/converse",
            &forwarded,
            &bytes::Bytes::from_static(b"{}"),
            None,
        )
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(request.headers()["authorization"], "Bearer k");
    assert!(request.headers()["authorization"].is_sensitive());
    assert!(!request.headers().contains_key("x-amz-date"));
    assert!(!request.headers().contains_key("x-amz-content-sha256"));
    assert_eq!(request.headers()["content-type"], "application/json");
}

#[test]
fn credentials_are_reused_until_shortly_before_they_expire() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    // No expiry: asked again after a while, so rotated profiles are picked up.
    assert_eq!(reuse_until(None, now), now + Duration::from_secs(900));
    // An hour left: refreshed within the reuse window anyway.
    assert_eq!(
        reuse_until(Some(now + Duration::from_secs(3600)), now),
        now + Duration::from_secs(900)
    );
    // Ten minutes left: refreshed five minutes before expiry.
    assert_eq!(
        reuse_until(Some(now + Duration::from_secs(600)), now),
        now + Duration::from_secs(300)
    );
    // About to expire: not reused at all.
    assert!(reuse_until(Some(now + Duration::from_secs(60)), now) < now);
}

#[test]
fn the_provider_takes_raw_requests() {
    assert!(provider("http://127.0.0.1:9000").passthrough().is_some());
}
