//! `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` uploads in `sigv4` mode: the gateway chains every chunk
//! signature from the verified header signature, so a body altered in flight is refused and
//! nothing is stored.

mod common;

use std::net::SocketAddr;

use quarry::auth::{CredentialScope, RequestView, SecretKey, canonical_request, signature};
use sha2::Digest as _;

const KEY_ID: &str = "AKIAQUARRYCHUNKS01";
const SECRET: &str = "chunk-signing-secret";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

async fn gateway() -> SocketAddr {
    common::serve_toml(&format!(
        "[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"chunks\"\naccess_key_id = \"{KEY_ID}\"\nsecret_access_key = \"{SECRET}\"\n"
    ))
    .await
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

fn amz_date_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    quarry::auth::format_amz_date(secs)
}

/// A signed aws-chunked PUT, as the AWS SDKs for Java and .NET send over plain HTTP: the header
/// signature over `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, then each chunk signed in a chain.
/// `tamper` flips one byte of the framed body after signing.
fn signed_chunked_put(
    addr: SocketAddr,
    path: &str,
    chunks: &[&[u8]],
    tamper: bool,
) -> (Vec<(String, String)>, Vec<u8>) {
    let amz_date = amz_date_now();
    let scope = CredentialScope {
        date: amz_date[..8].to_owned(),
        region: "us-east-1".to_owned(),
        service: "s3".to_owned(),
    };
    let secret = SecretKey::new(SECRET);
    let decoded: usize = chunks.iter().map(|c| c.len()).sum();
    let mut framed_len = 0;
    for chunk in chunks.iter().copied().chain(std::iter::once(&b""[..])) {
        framed_len +=
            format!("{:x};chunk-signature=", chunk.len()).len() + 64 + 2 + chunk.len() + 2;
    }
    let headers: Vec<(String, String)> = vec![
        ("content-encoding".into(), "aws-chunked".into()),
        ("content-length".into(), framed_len.to_string()),
        ("host".into(), addr.to_string()),
        (
            "x-amz-content-sha256".into(),
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into(),
        ),
        ("x-amz-date".into(), amz_date.clone()),
        ("x-amz-decoded-content-length".into(), decoded.to_string()),
    ];
    let mut map = http::HeaderMap::new();
    for (n, v) in &headers {
        map.insert(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let signed: Vec<&str> = names.iter().map(String::as_str).collect();
    let view = RequestView {
        method: "PUT",
        path,
        query: "",
        headers: &map,
        authority: None,
    };
    let canonical = canonical_request(&view, &signed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3");
    let to_sign = quarry::auth::string_to_sign(&amz_date, &scope, &canonical);
    let seed = signature(&secret, &scope, &to_sign);
    let mut out = headers;
    out.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={}, Signature={seed}",
            signed.join(";")
        ),
    ));
    let mut body = Vec::new();
    let mut previous = seed;
    for chunk in chunks.iter().copied().chain(std::iter::once(&b""[..])) {
        let chunk_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{}",
            sha256_hex(chunk)
        );
        let sig = signature(&secret, &scope, &chunk_to_sign);
        body.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
        previous = sig;
    }
    assert_eq!(body.len(), framed_len);
    if tamper {
        // A byte of the first chunk's data, not its framing.
        let at = body.iter().position(|b| *b == b'\n').unwrap() + 3;
        body[at] ^= 0x01;
    }
    (out, body)
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> common::RawResponse {
    // raw_request adds host and content-length itself.
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| n != "host" && n != "content-length")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    common::raw_request(addr, method, path, &headers, body).await
}

#[tokio::test]
async fn a_correctly_signed_chunk_chain_is_stored() {
    let addr = gateway().await;
    let path = "/bedrock/files/chunks/signed.txt";
    let chunks: [&[u8]; 2] = [&[b'a'; 65536], b"the end\n"];
    let (headers, body) = signed_chunked_put(addr, path, &chunks, false);
    let put = send(addr, "PUT", path, &headers, &body).await;
    assert_eq!(put.status, 200, "{}", put.body_text());
    let expected: Vec<u8> = chunks.concat();
    assert_eq!(
        put.header("etag"),
        Some(format!("\"{}\"", hex::encode(md5::Md5::digest(&expected))).as_str())
    );
}

#[tokio::test]
async fn a_tampered_chunk_is_refused_and_nothing_is_stored() {
    let addr = gateway().await;
    let path = "/bedrock/files/chunks/tampered.txt";
    let chunks: [&[u8]; 2] = [&[b'a'; 65536], b"the end\n"];
    let (headers, body) = signed_chunked_put(addr, path, &chunks, true);
    let put = send(addr, "PUT", path, &headers, &body).await;
    assert_eq!(put.status, 403, "{}", put.body_text());
    assert!(
        put.body_text()
            .contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        put.body_text()
    );
    // Proof nothing was stored: a correctly signed upload of another key creates the bucket, and
    // the tampered key is still absent from it.
    let other = "/bedrock/files/chunks/other.txt";
    let (headers, body) = signed_chunked_put(addr, other, &[b"ok"], false);
    assert_eq!(send(addr, "PUT", other, &headers, &body).await.status, 200);
    let s3 = s3_client(addr);
    let listed = s3.list_objects_v2().bucket("chunks").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["other.txt"]);
}

fn s3_client(addr: SocketAddr) -> aws_sdk_s3::Client {
    let credentials = aws_sdk_s3::config::Credentials::new(KEY_ID, SECRET, None, None, "test");
    let config = common::files_config(addr).credentials_provider(credentials);
    aws_sdk_s3::Client::from_conf(config.build())
}
