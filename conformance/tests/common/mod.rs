//! Shared test plumbing: serve a generated router on 127.0.0.1 and point SDK clients at it.

#![allow(dead_code)]

use std::net::SocketAddr;

use aws_smithy_http_server::routing::IntoMakeService;
use aws_smithy_http_server::schema::routing::MultiProtocolRoutingService;

/// Serves `app` on an ephemeral loopback port until the test process ends.
pub async fn serve(app: MultiProtocolRoutingService) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = aws_smithy_http_server::serve::serve(listener, IntoMakeService::new(app)).await;
    });
    addr
}

pub fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

pub fn bedrock_runtime(addr: SocketAddr) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint(addr))
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

pub fn bedrock(addr: SocketAddr) -> aws_sdk_bedrock::Client {
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(aws_sdk_bedrock::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrock::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrock::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint(addr))
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

pub fn s3(addr: SocketAddr) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint(addr))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Serves the generated S3 router behind the S3 request normalisation layer.
pub async fn serve_s3(app: MultiProtocolRoutingService) -> SocketAddr {
    use tower::Layer as _;
    let app = quarry_codegen_runtime::request::S3RequestLayer.layer(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = aws_smithy_http_server::serve::serve(listener, IntoMakeService::new(app)).await;
    });
    addr
}

/// An S3 client that sends plain bodies (no aws-chunked), as boto3 does over HTTP.
pub fn s3_plain(addr: SocketAddr) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint(addr))
        .force_path_style(true)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
