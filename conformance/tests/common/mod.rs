//! Shared test plumbing: serve a generated router on 127.0.0.1 and point SDK clients at it.

#![allow(dead_code)]

pub mod signed_chunks;

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

/// An S3 client config for `endpoint` (path style, no retries, test credentials): tests add what
/// they vary (plain bodies, credentials, interceptors) before building.
pub fn s3_config(endpoint: String) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
}

/// Plain bodies with a Content-Length (no aws-chunked), as boto3 sends them over HTTP.
pub fn plain_bodies(config: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    config
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
}

/// The files API of the gateway at `addr` (`/bedrock/files`).
pub fn files_config(addr: SocketAddr) -> aws_sdk_s3::config::Builder {
    s3_config(format!("http://{addr}/bedrock/files"))
}

/// Adds `x-model-provider` to every request, as the seed's boto3 `before-send` hook does.
#[derive(Debug)]
pub struct AddProvider(pub &'static str);

impl aws_sdk_s3::config::Intercept for AddProvider {
    fn name(&self) -> &'static str {
        "AddProvider"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-model-provider", self.0);
        Ok(())
    }
}

pub fn s3(addr: SocketAddr) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(endpoint(addr)).build())
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
    aws_sdk_s3::Client::from_conf(plain_bodies(s3_config(endpoint(addr))).build())
}

/// What came back for a raw request: status, headers (names lower-cased) and the decoded body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `x-amzn-ErrorType` without the `:<namespace/url>` suffix AWS may append.
    pub fn error_type(&self) -> Option<&str> {
        self.header("x-amzn-errortype")
            .map(|v| v.split(':').next().unwrap_or(v))
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body_text()))
    }
}

/// Sends one HTTP/1.1 request over a raw socket (what an SDK would refuse to send) and reads the
/// whole answer; `connection: close` and `content-length` are added.
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read response");
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> RawResponse {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let raw_body = &buf[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("chunk size");
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// A Bedrock Runtime client that never retries, so a handler sees exactly one call per request.
pub fn bedrock_runtime_no_retries(addr: SocketAddr) -> aws_sdk_bedrockruntime::Client {
    let config = bedrock_runtime(addr)
        .config()
        .to_builder()
        .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

/// A Bedrock control-plane client that never retries.
pub fn bedrock_no_retries(addr: SocketAddr) -> aws_sdk_bedrock::Client {
    let config = bedrock(addr)
        .config()
        .to_builder()
        .retry_config(aws_sdk_bedrock::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

/// Serves a gateway (the `quarry` binary's HTTP service) on loopback until the test process ends.
pub async fn serve_gateway(gateway: quarry::dispatch::Gateway) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = aws_smithy_http_server::serve::serve(listener, IntoMakeService::new(gateway)).await;
    });
    addr
}

/// A fresh data dir under the target dir's scratch space (never the source tree).
pub fn scratch_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("data-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Serves the gateway a TOML configuration describes, its data dir in scratch space.
pub async fn serve_toml(toml: &str) -> SocketAddr {
    let config = quarry::config::load(
        quarry::config::Source {
            name: "test.toml",
            text: toml,
        },
        &quarry::config::Env::new(),
        &scratch_flags(),
    )
    .expect("the test config loads");
    serve_gateway(quarry::app::gateway(&config).expect("the test config builds")).await
}

/// Flags that point the data dir at fresh scratch space.
pub fn scratch_flags() -> quarry::config::Flags {
    quarry::config::Flags {
        data_dir: Some(scratch_dir()),
        ..quarry::config::Flags::default()
    }
}

/// The gateway `quarry serve` runs on its embedded defaults (the mock provider, no auth), with
/// its data dir in scratch space.
pub fn default_gateway() -> quarry::dispatch::Gateway {
    let mut config = quarry::app::embedded_config().expect("the embedded config loads");
    config.server.data_dir = scratch_dir();
    quarry::app::gateway(&config).expect("the embedded config builds a gateway")
}
