//! `[auth] mode = "sigv4"`: real SDK clients signing with a gateway-issued key get through; a wrong
//! secret, an unknown key or no signature get the 403 AWS sends, and nothing reaches the provider.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime::types as sdk;
use quarry::auth::{AccessKeyId, AuthMode, Credential, Identity, KeyStore, SecretKey, Verifier};
use quarry::dispatch::Gateway;
use quarry::providers::ProviderId;
use quarry::providers::mock::{Mock, MockConfig};
use quarry::runtime::Runtime;
use quarry::runtime::routing::Routes;
use quarry::stubs::NotImplementedYet;

const KEY_ID: &str = "QUARRYKEY0001";
const SECRET: &str = "gateway-issued-secret";
/// A key that may call `anthropic.*` models only.
const LIMITED_KEY_ID: &str = "QUARRYKEY0002";

async fn gateway() -> SocketAddr {
    let mut keys = KeyStore::new();
    keys.insert(Credential {
        access_key_id: AccessKeyId::new(KEY_ID),
        secret: SecretKey::new(SECRET),
        identity: Identity::new("team-a"),
    });
    let mut limited = Identity::new("team-b");
    limited.models = Some(
        globset::GlobSet::builder()
            .add(globset::Glob::new("anthropic.*").unwrap())
            .build()
            .unwrap(),
    );
    keys.insert(Credential {
        access_key_id: AccessKeyId::new(LIMITED_KEY_ID),
        secret: SecretKey::new(SECRET),
        identity: limited,
    });
    let verifier = Verifier {
        keys,
        max_skew: Duration::from_secs(900),
    };
    let mock = Arc::new(Mock::new(ProviderId::new("mock"), MockConfig::default()));
    let stub = Arc::new(NotImplementedYet);
    let gateway = Gateway::new(
        Arc::new(Runtime::new(Routes::single(mock))),
        stub.clone(),
        stub,
    )
    .unwrap()
    .with_auth(AuthMode::SigV4(Arc::new(verifier)));
    common::serve_gateway(gateway).await
}

fn runtime(addr: SocketAddr, key: &str, secret: &str) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            key, secret, None, None, "test",
        ))
        .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
        .endpoint_url(format!("http://{addr}/bedrock"))
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

fn files(addr: SocketAddr, key: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key, secret, None, None, "test",
        ))
        .endpoint_url(format!("http://{addr}/bedrock/files/"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn hello() -> sdk::Message {
    sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text("signed hello".into()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_right_key_gets_through_converse_and_streams() {
    let addr = gateway().await;
    let client = runtime(addr, KEY_ID, SECRET);
    // The model id's `:` arrives percent-encoded, and Bedrock signs the path encoded twice.
    let out = client
        .converse()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .messages(hello())
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.output().unwrap().as_message().unwrap().content()[0]
            .as_text()
            .unwrap(),
        "signed hello"
    );
    let mut stream = client
        .converse_stream()
        .model_id("m")
        .messages(hello())
        .send()
        .await
        .unwrap();
    let mut events = 0;
    while stream.stream.recv().await.unwrap().is_some() {
        events += 1;
    }
    assert!(events >= 5);
}

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_signature() {
    let addr = gateway().await;
    let err = runtime(addr, KEY_ID, "not-the-secret")
        .converse()
        .model_id("m")
        .messages(hello())
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 403);
    assert!(raw.headers().get("x-amzn-requestid").is_some());
    let e = err.into_service_error();
    assert_eq!(
        aws_sdk_bedrockruntime::error::ProvideErrorMetadata::code(&e),
        Some("InvalidSignatureException")
    );
    assert!(
        aws_sdk_bedrockruntime::error::ProvideErrorMetadata::message(&e)
            .unwrap()
            .starts_with("The request signature we calculated does not match")
    );
}

#[tokio::test]
async fn an_unknown_key_is_an_unrecognized_client() {
    let addr = gateway().await;
    let err = runtime(addr, "AKIDUNKNOWN", SECRET)
        .converse()
        .model_id("m")
        .messages(hello())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    let e = err.into_service_error();
    assert_eq!(
        aws_sdk_bedrockruntime::error::ProvideErrorMetadata::code(&e),
        Some("UnrecognizedClientException")
    );
}

#[tokio::test]
async fn no_signature_is_a_missing_token_and_reaches_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gateway().await;
    let body = r#"{"messages":[{"role":"user","content":[{"text":"x"}]}]}"#;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // `mock.throttle` would answer 429 if the request reached the provider.
    let req = format!(
        "POST /bedrock/model/mock.throttle/converse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_lowercase();
    assert!(text.starts_with("http/1.1 403"), "{text}");
    assert!(
        text.contains("x-amzn-errortype: missingauthenticationtokenexception"),
        "{text}"
    );
}

#[tokio::test]
async fn s3_requests_are_verified_too() {
    let addr = gateway().await;
    // The right key reaches the (not yet implemented) files service; a wrong one never does.
    let err = files(addr, KEY_ID, SECRET)
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 501);
    let err = files(addr, KEY_ID, "wrong")
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 403);
    let body = std::str::from_utf8(raw.body().bytes().unwrap())
        .unwrap()
        .to_owned();
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
}

#[tokio::test]
async fn a_key_reaches_only_the_models_it_was_given() {
    let addr = gateway().await;
    let client = runtime(addr, LIMITED_KEY_ID, SECRET);
    let ok = client
        .converse()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .messages(hello())
        .send()
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    let err = client
        .converse()
        .model_id("mistral.mistral-large-2407")
        .messages(hello())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    let e = err.into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    assert!(
        aws_sdk_bedrockruntime::error::ProvideErrorMetadata::message(&e)
            .unwrap()
            .contains("key 'team-b' may not use model 'mistral.mistral-large-2407'")
    );
}
