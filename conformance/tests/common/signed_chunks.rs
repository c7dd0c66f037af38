//! Signed aws-chunked uploads built by hand (the Rust SDK signs no chunks), for the tests of
//! chunk-signature checking on the local store and on the S3 relay.

use std::net::SocketAddr;

use quarry::auth::{CredentialScope, RequestView, SecretKey, canonical_request, signature};
use sha2::Digest as _;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// A signed aws-chunked PUT, as the AWS SDKs for Java and .NET send over plain HTTP: the header
/// signature over `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, then each chunk signed in a chain.
/// `extra_headers` are sent and signed too; `tamper` flips one byte of the first chunk's data
/// after signing.
pub fn signed_chunked_put(
    addr: SocketAddr,
    (key_id, secret): (&str, &str),
    extra_headers: &[(&str, &str)],
    path: &str,
    chunks: &[&[u8]],
    tamper: bool,
) -> (Vec<(String, String)>, Vec<u8>) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let amz_date = quarry::auth::format_amz_date(secs);
    let scope = CredentialScope {
        date: amz_date[..8].to_owned(),
        region: "us-east-1".to_owned(),
        service: "s3".to_owned(),
    };
    let secret = SecretKey::new(secret);
    let decoded: usize = chunks.iter().map(|c| c.len()).sum();
    let mut framed_len = 0;
    for chunk in chunks.iter().copied().chain(std::iter::once(&b""[..])) {
        framed_len +=
            format!("{:x};chunk-signature=", chunk.len()).len() + 64 + 2 + chunk.len() + 2;
    }
    let mut headers: Vec<(String, String)> = vec![
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
    // Signed too (`x-model-provider`, say), in the sorted order SignedHeaders lists.
    headers.extend(
        extra_headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    headers.sort();
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
            "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={}, Signature={seed}",
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

pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> super::RawResponse {
    // raw_request adds host and content-length itself.
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| n != "host" && n != "content-length")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    super::raw_request(addr, method, path, &headers, body).await
}
