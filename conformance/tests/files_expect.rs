//! `Expect: 100-continue` on the files API, over raw sockets: a request the gateway will take gets
//! `100 Continue` before the client sends its body; an unsigned request to a SigV4 gateway gets
//! its final 403 at once, with no `100 Continue` and without the body ever being sent.
//!
//! Each case runs against the gateway served in-process and against the `quarry` binary (the
//! serving shell `quarry serve` runs).

mod common;
mod gateway_process;

use std::net::SocketAddr;
use std::time::Duration;

use gateway_process::Gateway;
use quarry::auth::{CredentialScope, RequestView, SecretKey, canonical_request, signature};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const KEY_ID: &str = "AKIAQUARRYEXPECT01";
const SECRET: &str = "expect-continue-secret";
/// How long a response may take before the test calls it missing.
const WAIT: Duration = Duration::from_secs(10);
/// The size of the uploads that go through.
const BODY_LEN: usize = 200_000;

fn sigv4_toml() -> String {
    format!(
        "[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"expect\"\naccess_key_id = \"{KEY_ID}\"\nsecret_access_key = \"{SECRET}\"\n"
    )
}

/// A response head read off the socket: status code and lower-cased headers.
struct Head {
    status_line: String,
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response head (through its blank line) within [`WAIT`]; bytes read past it stay in
/// `buf`. Panics with `what` if none arrives in time or the connection closes first.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>, what: &str) -> Head {
    let read = async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 4);
                return Some(text);
            }
            let mut chunk = [0u8; 8192];
            let n = stream
                .read(&mut chunk)
                .await
                .expect("read from the gateway");
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let text = tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("{what}: no response head within {WAIT:?}"))
        .unwrap_or_else(|| {
            panic!(
                "{what}: the connection closed before a response head ({:?})",
                String::from_utf8_lossy(buf)
            )
        });
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Head {
        status_line,
        status,
        headers,
    }
}

/// Reads the body of a response whose head was `head` (Content-Length or chunked).
async fn read_body(stream: &mut TcpStream, buf: &mut Vec<u8>, head: &Head) -> String {
    let read = async {
        if let Some(len) = head.header("content-length") {
            let len: usize = len.parse().expect("numeric content-length");
            while buf.len() < len {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "the connection closed inside the body");
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..len).collect::<Vec<u8>>()
        } else if head
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            while !buf.windows(5).any(|w| w == b"0\r\n\r\n") {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "the connection closed inside the body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let mut out = Vec::new();
            let mut data = &buf[..];
            loop {
                let eol = data
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .expect("chunk size line");
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&data[..eol])
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim(),
                    16,
                )
                .expect("chunk size");
                if size == 0 {
                    break out;
                }
                out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
                data = &data[eol + 2 + size + 2..];
            }
        } else {
            stream.read_to_end(buf).await.expect("read body");
            std::mem::take(buf)
        }
    };
    let body = tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("no complete response body within {WAIT:?}"));
    String::from_utf8_lossy(&body).into_owned()
}

/// Sends a PutObject head with `Expect: 100-continue` (and `extra` headers), then asserts the
/// gateway answers `100 Continue` before any body byte is sent, sends the body, and asserts the
/// final 200 with the body's ETag; reads the object back.
async fn continue_then_store(addr: SocketAddr, path: &str, extra: &[(String, String)]) {
    let body: Vec<u8> = (0..BODY_LEN).map(|i| (i % 253) as u8).collect();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nexpect: 100-continue\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    let mut buf = Vec::new();
    let interim = read_head(&mut stream, &mut buf, "after the head alone").await;
    assert_eq!(
        interim.status, 100,
        "expected `HTTP/1.1 100 Continue` before the body, got {:?}",
        interim.status_line
    );
    assert!(
        interim.status_line.starts_with("HTTP/1.1 100"),
        "{:?}",
        interim.status_line
    );
    assert!(buf.is_empty(), "bytes after 100 Continue: {buf:?}");
    stream.write_all(&body).await.expect("write body");
    let last = read_head(&mut stream, &mut buf, "after the body").await;
    let text = read_body(&mut stream, &mut buf, &last).await;
    assert_eq!(last.status, 200, "{:?}: {text}", last.status_line);
    use md5::Digest as _;
    let etag = format!("\"{}\"", hex::encode(md5::Md5::digest(&body)));
    assert_eq!(last.header("etag"), Some(etag.as_str()), "{text}");
}

/// Sends an unsigned PutObject head with `Expect: 100-continue` to a SigV4 gateway and asserts
/// the final 403 (S3's XML `AccessDenied`) arrives without a `100 Continue` before it, the body
/// never sent.
async fn refused_without_continue(addr: SocketAddr, path: &str) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 1048576\r\n\
         content-type: application/octet-stream\r\nexpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let mut buf = Vec::new();
    let first = read_head(&mut stream, &mut buf, "unsigned head, body withheld").await;
    assert_ne!(
        first.status, 100,
        "the gateway invited the body of a request it must refuse: {:?}",
        first.status_line
    );
    let text = read_body(&mut stream, &mut buf, &first).await;
    assert_eq!(first.status, 403, "{:?}: {text}", first.status_line);
    assert!(text.contains("<Error>"), "not S3 XML: {text}");
    assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
}

/// The headers of a PutObject signed (header SigV4, `UNSIGNED-PAYLOAD`) with the test key.
fn signed_put_headers(
    addr: SocketAddr,
    path: &str,
    content_length: usize,
) -> Vec<(String, String)> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let amz_date = quarry::auth::format_amz_date(secs);
    let scope = CredentialScope {
        date: amz_date[..8].to_owned(),
        region: "us-east-1".to_owned(),
        service: "s3".to_owned(),
    };
    let signed_headers: Vec<(String, String)> = vec![
        ("content-length".into(), content_length.to_string()),
        ("host".into(), addr.to_string()),
        ("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    let mut map = http::HeaderMap::new();
    for (n, v) in &signed_headers {
        map.insert(
            http::HeaderName::from_bytes(n.as_bytes()).expect("header name"),
            v.parse().expect("header value"),
        );
    }
    let names: Vec<&str> = signed_headers.iter().map(|(n, _)| n.as_str()).collect();
    let view = RequestView {
        method: "PUT",
        path,
        query: "",
        headers: &map,
        authority: None,
    };
    let canonical = canonical_request(&view, &names, "UNSIGNED-PAYLOAD", "s3");
    let to_sign = quarry::auth::string_to_sign(&amz_date, &scope, &canonical);
    let sig = signature(&SecretKey::new(SECRET), &scope, &to_sign);
    vec![
        ("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()),
        ("x-amz-date".into(), amz_date),
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={}, Signature={sig}",
                names.join(";")
            ),
        ),
    ]
}

/// `bucket`/`key` is absent, asked with a correctly signed client.
async fn assert_absent(addr: SocketAddr, bucket: &str, key: &str) {
    let credentials = aws_sdk_s3::config::Credentials::new(KEY_ID, SECRET, None, None, "test");
    let s3 = aws_sdk_s3::Client::from_conf(
        common::files_config(addr)
            .credentials_provider(credentials)
            .build(),
    );
    let err = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect_err("the refused upload must not be stored");
    assert_eq!(
        err.raw_response().map(|r| r.status().as_u16()),
        Some(404),
        "{err:?}"
    );
}

fn binary_gateway(config: Option<&str>) -> Gateway {
    let data_dir = common::scratch_dir();
    let config_path = config.map(|toml| {
        std::fs::create_dir_all(&data_dir).expect("create the data dir");
        let path = data_dir.join("expect.toml");
        std::fs::write(&path, toml).expect("write the config");
        path
    });
    Gateway::start(&data_dir, config_path.as_deref())
}

#[tokio::test]
async fn in_process_open_gateway_sends_100_continue_before_the_body() {
    let addr = common::serve_gateway(common::default_gateway()).await;
    continue_then_store(addr, "/bedrock/files/expect-bucket/open.bin", &[]).await;
}

#[tokio::test]
async fn binary_open_gateway_sends_100_continue_before_the_body() {
    let gateway = binary_gateway(None);
    continue_then_store(gateway.addr, "/bedrock/files/expect-bucket/open.bin", &[]).await;
}

#[tokio::test]
async fn in_process_sigv4_gateway_refuses_unsigned_upload_without_100_continue() {
    let addr = common::serve_toml(&sigv4_toml()).await;
    refused_without_continue(addr, "/bedrock/files/expect-bucket/unsigned.bin").await;
    assert_absent(addr, "expect-bucket", "unsigned.bin").await;
}

#[tokio::test]
async fn binary_sigv4_gateway_refuses_unsigned_upload_without_100_continue() {
    let gateway = binary_gateway(Some(&sigv4_toml()));
    refused_without_continue(gateway.addr, "/bedrock/files/expect-bucket/unsigned.bin").await;
    assert_absent(gateway.addr, "expect-bucket", "unsigned.bin").await;
}

#[tokio::test]
async fn in_process_sigv4_gateway_sends_100_continue_to_a_signed_upload() {
    let addr = common::serve_toml(&sigv4_toml()).await;
    let path = "/bedrock/files/expect-bucket/signed.bin";
    continue_then_store(addr, path, &signed_put_headers(addr, path, BODY_LEN)).await;
}

#[tokio::test]
async fn binary_sigv4_gateway_sends_100_continue_to_a_signed_upload() {
    let gateway = binary_gateway(Some(&sigv4_toml()));
    let addr = gateway.addr;
    let path = "/bedrock/files/expect-bucket/signed.bin";
    continue_then_store(addr, path, &signed_put_headers(addr, path, BODY_LEN)).await;
}
