//! Files of a bedrock provider with `[providers.aws.s3]` relayed to S3 (a wiremock standing in
//! for it), driven by aws-sdk-s3: every upstream request re-signed with the provider's AWS
//! credentials (the signature recomputed here from what the upstream received), bodies forwarded
//! plain, framed or decoded by their payload hash, S3's answers — errors and request ids
//! included — relayed as they came.

mod common;

use std::net::SocketAddr;

use aws_sdk_s3::operation::{RequestId as _, RequestIdExt as _};
use aws_sdk_s3::primitives::ByteStream;
use quarry::auth::{
    CredentialScope, RequestView, SecretKey, canonical_request, signature, string_to_sign,
};
use serde_json::{Value, json};
use sha2::Digest as _;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const UPSTREAM_KEY_ID: &str = "AKIDUPSTREAMS3";
const UPSTREAM_SECRET: &str = "upstream-s3-secret";
const REGION: &str = "us-west-2";
const BUCKET: &str = "batch-bucket";
const RECORDS: &str = "{\"recordId\": \"1\", \"modelInput\": {\"messages\": []}}\n";

/// The session token of the temporary upstream credentials some tests sign with.
const UPSTREAM_SESSION_TOKEN: &str = "upstream-session-token";
/// The session token the SDK clients send: never forwarded.
const CLIENT_SESSION_TOKEN: &str = "client-session-token";

/// A gateway whose `aws` provider keeps its files at `endpoint`, signing with the upstream test
/// credentials; the mock is the default provider. `auth` (tables) ends the file.
async fn gateway_at(endpoint: &str, auth: &str) -> SocketAddr {
    gateway_signing_with(endpoint, auth, None).await
}

/// [`gateway_at`], the upstream credentials temporary when `session_token` is given.
async fn gateway_signing_with(
    endpoint: &str,
    auth: &str,
    session_token: Option<&str>,
) -> SocketAddr {
    let toml = format!(
        r#"
default_provider = "mock"
[providers.mock]
type = "mock"
[providers.aws]
type = "bedrock"
region = "{REGION}"
retries = {{ max = 0 }}
timeouts = {{ connect = 2 }}
[providers.aws.s3]
endpoint = "{endpoint}"
{auth}"#
    );
    let config = quarry::config::load(
        quarry::config::Source {
            name: "test.toml",
            text: &toml,
        },
        &quarry::config::Env::new(),
        &common::scratch_flags(),
    )
    .expect("the test config loads");
    let credentials = aws_sdk_s3::config::Credentials::new(
        UPSTREAM_KEY_ID,
        UPSTREAM_SECRET,
        session_token.map(str::to_owned),
        None,
        "test",
    );
    let gateway = quarry::app::gateway_with_aws_credentials(&config, credentials)
        .expect("the test config builds");
    common::serve_gateway(gateway).await
}

async fn gateway(upstream: &MockServer) -> SocketAddr {
    gateway_at(&upstream.uri(), "").await
}

/// The seed's client, naming the provider: plain bodies (boto3 over HTTP) or the Rust SDK's
/// defaults (streamed bodies aws-chunked, chunks signed, with a CRC32 trailer). Its credentials
/// are temporary, so that its session token is there not to forward.
fn client(addr: SocketAddr, plain: bool) -> aws_sdk_s3::Client {
    let mut config = common::files_config(addr)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some(CLIENT_SESSION_TOKEN.to_owned()),
            None,
            "test",
        ))
        .interceptor(common::AddProvider("aws"));
    if plain {
        config = common::plain_bodies(config);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

fn crc32_base64(data: &[u8]) -> String {
    aws_smithy_types::base64::encode(crc32fast::hash(data).to_be_bytes())
}

/// Recomputes the SigV4 signature of a request as the upstream received it, with the upstream
/// secret, and checks it is the one sent; also checks that a claimed digest is the body's.
fn assert_signed_by_gateway(request: &Request) {
    let authorization = header(request, "authorization").expect("signed");
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_else(|| panic!("not SigV4: {authorization}"));
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {authorization}"))
    };
    let credential: Vec<&str> = field("Credential=").split('/').collect();
    assert_eq!(
        credential[..1],
        [UPSTREAM_KEY_ID],
        "signed with the provider's credentials"
    );
    assert_eq!(credential[2..], [REGION, "s3", "aws4_request"]);
    let scope = CredentialScope {
        date: credential[1].to_owned(),
        region: REGION.to_owned(),
        service: "s3".to_owned(),
    };
    let signed: Vec<&str> = field("SignedHeaders=").split(';').collect();
    for required in ["host", "x-amz-content-sha256", "x-amz-date"] {
        assert!(
            signed.contains(&required),
            "{required} is signed: {signed:?}"
        );
    }
    if request.headers.contains_key("x-amz-security-token") {
        assert!(
            signed.contains(&"x-amz-security-token"),
            "the session token is signed: {signed:?}"
        );
    }
    let payload = header(request, "x-amz-content-sha256").expect("payload hash sent");
    let view = RequestView {
        method: request.method.as_str(),
        path: request.url.path(),
        query: request.url.query().unwrap_or(""),
        headers: &request.headers,
        authority: None,
    };
    let canonical = canonical_request(&view, &signed, payload, "s3");
    let amz_date = header(request, "x-amz-date").expect("dated");
    let expected = signature(
        &SecretKey::new(UPSTREAM_SECRET),
        &scope,
        &string_to_sign(amz_date, &scope, &canonical),
    );
    assert_eq!(
        field("Signature="),
        expected,
        "the upstream signature verifies; canonical request:\n{canonical}"
    );
    if payload.len() == 64 {
        assert_eq!(
            payload,
            sha256_hex(&request.body),
            "the claimed digest is the body's"
        );
    }
}

/// Nothing of the client's own credentials, routing or connection handling goes upstream.
fn assert_nothing_of_the_client(request: &Request) {
    for absent in [
        "x-model-provider",
        "expect",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    ] {
        assert!(
            request.headers.get(absent).is_none(),
            "{absent} was forwarded"
        );
    }
    // Only the gateway's own session token, if any.
    assert!(
        matches!(
            header(request, "x-amz-security-token"),
            None | Some(UPSTREAM_SESSION_TOKEN)
        ),
        "the client's session token went upstream"
    );
    let query = request.url.query().unwrap_or("");
    assert!(
        !query.to_ascii_lowercase().contains("x-amz-"),
        "the client's query authentication went upstream: {query}"
    );
    let authorization = header(request, "authorization").unwrap();
    assert!(
        !authorization.contains("AKIDEXAMPLE"),
        "the client's key went upstream: {authorization}"
    );
}

/// Headers the snapshots show, when sent.
const SHOWN_HEADERS: [&str; 14] = [
    "content-type",
    "content-length",
    "content-encoding",
    "content-md5",
    "range",
    "if-match",
    "x-amz-content-sha256",
    "x-amz-decoded-content-length",
    "x-amz-trailer",
    "x-amz-sdk-checksum-algorithm",
    "x-amz-checksum-crc32",
    "x-amz-checksum-mode",
    "x-amz-meta-purpose",
    "x-amz-storage-class",
];

/// `Credential=<id>/<date>/…, SignedHeaders=…, Signature=…` with the date and signature redacted.
fn redacted_authorization(value: &str) -> String {
    value
        .split(", ")
        .map(|field| {
            if let Some(credential) = field.strip_prefix("AWS4-HMAC-SHA256 Credential=") {
                let mut parts: Vec<&str> = credential.split('/').collect();
                parts[1] = "<date>";
                format!("AWS4-HMAC-SHA256 Credential={}", parts.join("/"))
            } else if field.starts_with("Signature=") {
                "Signature=<signature>".to_owned()
            } else {
                field.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the upstream received, in order, after checking each request's signature and that
/// nothing of the client's credentials came with it.
async fn upstream_log(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.expect("recording is on");
    requests
        .iter()
        .map(|r| {
            assert_signed_by_gateway(r);
            assert_nothing_of_the_client(r);
            assert_eq!(
                header(r, "host"),
                Some(server.address().to_string().as_str()),
                "the host is the endpoint's"
            );
            let mut headers = serde_json::Map::new();
            for name in SHOWN_HEADERS {
                if let Some(v) = header(r, name) {
                    headers.insert(name.to_owned(), json!(v));
                }
            }
            headers.insert(
                "authorization".to_owned(),
                json!(redacted_authorization(header(r, "authorization").unwrap())),
            );
            let mut entry = json!({
                "method": r.method.as_str(),
                "path": r.url.path(),
                "headers": headers,
            });
            if let Some(query) = r.url.query() {
                entry["query"] = json!(query);
            }
            if !r.body.is_empty() {
                entry["body"] = json!(String::from_utf8_lossy(&r.body));
            }
            entry
        })
        .collect()
}

fn s3_ids(template: ResponseTemplate, n: u32) -> ResponseTemplate {
    template
        .insert_header("x-amz-request-id", format!("UPSTREAMREQ{n}").as_str())
        .insert_header("x-amz-id-2", format!("upstream-host-{n}").as_str())
}

#[tokio::test]
async fn a_plain_put_object_is_relayed_signed_with_its_digest() {
    let upstream = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"6f5902ac237024bdd0c176cb93063dc4\""),
            1,
        ))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, true);

    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key("inputs/été 2025/batch #1.jsonl")
        .body(ByteStream::from_static(RECORDS.as_bytes()))
        .content_type("application/jsonl")
        .metadata("purpose", "batch")
        .storage_class(aws_sdk_s3::types::StorageClass::StandardIa)
        .send()
        .await
        .unwrap();
    assert_eq!(put.e_tag(), Some("\"6f5902ac237024bdd0c176cb93063dc4\""));
    // S3's own request ids, not the gateway's.
    assert_eq!(put.request_id(), Some("UPSTREAMREQ1"));
    assert_eq!(put.extended_request_id(), Some("upstream-host-1"));

    let log = upstream_log(&upstream).await;
    let received = &upstream.received_requests().await.unwrap()[0];
    assert_eq!(received.body, RECORDS.as_bytes());
    insta::assert_json_snapshot!("plain_put_object", log);
}

/// A streamed body of `data`, in `parts` frames, as an application uploads a file.
fn streamed(data: &'static [u8], parts: usize) -> ByteStream {
    let step = data.len().div_ceil(parts);
    let frames = futures_util::stream::iter(data.chunks(step).map(|part| {
        Ok::<_, std::io::Error>(http_body::Frame::data(bytes::Bytes::from_static(part)))
    }));
    ByteStream::from_body_1_x(http_body_util::StreamBody::new(frames))
}

/// `data` framed unsigned in chunks of up to 64 KiB with a CRC32 trailer, as S3 reads it.
fn unsigned_framing(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in data.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!("0\r\nx-amz-checksum-crc32:{}\r\n\r\n", crc32_base64(data)).as_bytes(),
    );
    out
}

#[tokio::test]
async fn the_rust_sdks_signed_chunks_with_a_crc32_trailer_go_reframed_unsigned() {
    static LARGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let large: &'static [u8] = LARGE.get_or_init(|| {
        RECORDS
            .as_bytes()
            .iter()
            .copied()
            .cycle()
            .take(150_000)
            .collect()
    });
    let upstream = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"0123456789abcdef0123456789abcdef\""),
            2,
        ))
        .mount(&upstream)
        .await;
    // The SDK's defaults: over plain HTTP a streamed body goes aws-chunked with signed chunks
    // (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) and a CRC32 trailer.
    let s3 = client(gateway(&upstream).await, false);

    for (key, data, parts) in [
        ("inputs/small.jsonl", RECORDS.as_bytes(), 2),
        ("inputs/large.jsonl", large, 7),
    ] {
        let put = s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .content_length(data.len() as i64)
            .body(streamed(data, parts))
            .send()
            .await
            .unwrap();
        assert_eq!(put.e_tag(), Some("\"0123456789abcdef0123456789abcdef\""));
        assert_eq!(put.request_id(), Some("UPSTREAMREQ2"));
    }

    let mut log = upstream_log(&upstream).await;
    let received = upstream.received_requests().await.unwrap();
    for (request, data) in received.iter().zip([RECORDS.as_bytes(), large]) {
        assert_eq!(
            header(request, "x-amz-content-sha256"),
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        );
        assert_eq!(
            header(request, "x-amz-decoded-content-length"),
            Some(data.len().to_string().as_str())
        );
        // The data in 64 KiB chunks, then the checksum trailer the SDK computed.
        assert!(
            request.body == unsigned_framing(data),
            "re-framed as S3 reads unsigned chunks"
        );
    }
    log[1]["body"] = json!(format!(
        "<{} bytes: the data of {} in chunks of 10000, 10000, 49f0 (hex), then the trailer>",
        received[1].body.len(),
        large.len()
    ));
    insta::assert_json_snapshot!("sdk_signed_chunks_reframed", log);
}

#[tokio::test]
async fn unsigned_aws_chunked_bodies_go_as_they_came() {
    let upstream = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200).insert_header("etag", "\"framed\""),
            8,
        ))
        .mount(&upstream)
        .await;
    let addr = gateway(&upstream).await;
    // What boto3 sends over HTTPS: unsigned chunks with a CRC32 trailer.
    let data = RECORDS.as_bytes();
    let body = format!(
        "{:x}\r\n{RECORDS}\r\n0\r\nx-amz-checksum-crc32:{}\r\n\r\n",
        data.len(),
        crc32_base64(data)
    );
    let decoded = data.len().to_string();
    let put = common::raw_request(
        addr,
        "PUT",
        &format!("/bedrock/files/{BUCKET}/inputs/boto3.jsonl"),
        &[
            ("x-model-provider", "aws"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", &decoded),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("content-type", "application/jsonl"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body_text());
    assert_eq!(put.header("etag"), Some("\"framed\""));
    assert_eq!(put.header("x-amz-request-id"), Some("UPSTREAMREQ8"));
    let log = upstream_log(&upstream).await;
    let received = &upstream.received_requests().await.unwrap()[0];
    assert_eq!(received.body, body.as_bytes(), "byte for byte");
    insta::assert_json_snapshot!("unsigned_chunks_forwarded", log);
}

#[tokio::test]
async fn get_and_head_object_stream_s3s_body_and_headers_back() {
    // Larger than any one read, so the body arrives in many chunks.
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let upstream = MockServer::start().await;
    let answer = |with_body: bool| {
        let template = ResponseTemplate::new(200)
            .insert_header("etag", "\"etag-of-the-object\"")
            .insert_header("content-type", "application/jsonl")
            .insert_header("last-modified", "Wed, 12 Nov 2025 10:00:00 GMT")
            .insert_header("x-amz-meta-purpose", "batch")
            .insert_header("x-amz-checksum-crc32", crc32_base64(&body))
            .insert_header("accept-ranges", "bytes");
        let template = if with_body {
            template.set_body_raw(body.clone(), "application/jsonl")
        } else {
            template.insert_header("content-length", body.len().to_string().as_str())
        };
        s3_ids(template, 3)
    };
    Mock::given(method("GET"))
        .and(path(format!("/{BUCKET}/outputs/result.jsonl.out")))
        .respond_with(answer(true))
        .mount(&upstream)
        .await;
    Mock::given(method("HEAD"))
        .and(path(format!("/{BUCKET}/outputs/result.jsonl.out")))
        .respond_with(answer(false))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, false);

    let got = s3
        .get_object()
        .bucket(BUCKET)
        .key("outputs/result.jsonl.out")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some("\"etag-of-the-object\""));
    assert_eq!(got.content_type(), Some("application/jsonl"));
    assert_eq!(got.content_length(), Some(body.len() as i64));
    assert_eq!(
        got.last_modified().map(|t| t.secs()),
        Some(1_762_941_600),
        "Last-Modified relayed"
    );
    assert_eq!(
        got.metadata()
            .and_then(|m| m.get("purpose"))
            .map(String::as_str),
        Some("batch")
    );
    assert_eq!(got.checksum_crc32(), Some(crc32_base64(&body).as_str()));
    assert_eq!(got.request_id(), Some("UPSTREAMREQ3"));
    // The SDK validated the CRC32 over the streamed body.
    let received = got.body.collect().await.unwrap().into_bytes();
    assert!(received[..] == body[..], "the body arrives intact");

    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key("outputs/result.jsonl.out")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.e_tag(), Some("\"etag-of-the-object\""));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("purpose"))
            .map(String::as_str),
        Some("batch")
    );

    insta::assert_json_snapshot!("get_and_head_object", upstream_log(&upstream).await);
}

#[tokio::test]
async fn s3s_errors_pass_through_as_s3_sent_them() {
    let upstream = MockServer::start().await;
    let no_such_key = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing.jsonl</Key><RequestId>UPSTREAMREQ4</RequestId><HostId>upstream-host-4</HostId></Error>";
    Mock::given(method("GET"))
        .respond_with(s3_ids(
            ResponseTemplate::new(404).set_body_raw(no_such_key, "application/xml"),
            4,
        ))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, false);

    let err = s3
        .get_object()
        .bucket(BUCKET)
        .key("missing.jsonl")
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().expect("an HTTP answer");
    assert_eq!(raw.status().as_u16(), 404);
    assert_eq!(raw.headers().get("x-amz-request-id"), Some("UPSTREAMREQ4"));
    assert_eq!(raw.headers().get("x-amz-id-2"), Some("upstream-host-4"));
    let service = err.into_service_error();
    assert!(service.is_no_such_key(), "{service:?}");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&service),
        Some("The specified key does not exist.")
    );

    insta::assert_json_snapshot!("no_such_key", upstream_log(&upstream).await);
}

#[tokio::test]
async fn list_objects_v2_xml_passes_through() {
    let upstream = MockServer::start().await;
    let listing = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{BUCKET}</Name><Prefix>inputs/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>\
<Contents><Key>inputs/a.jsonl</Key><LastModified>2025-11-12T10:00:00.000Z</LastModified><ETag>&quot;aaaa&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>\
<Contents><Key>inputs/b c.jsonl</Key><LastModified>2025-11-12T10:00:01.000Z</LastModified><ETag>&quot;bbbb&quot;</ETag><Size>34</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
    );
    // The SDK names the bucket as `/<bucket>/`, which S3 takes as it is.
    Mock::given(method("GET"))
        .and(path(format!("/{BUCKET}/")))
        .and(query_param("list-type", "2"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200).set_body_raw(listing, "application/xml"),
            5,
        ))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, false);

    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("inputs/")
        .max_keys(1000)
        .send()
        .await
        .unwrap();
    let objects: Vec<_> = listed
        .contents()
        .iter()
        .map(|o| (o.key().unwrap(), o.size().unwrap(), o.e_tag().unwrap()))
        .collect();
    assert_eq!(
        objects,
        [
            ("inputs/a.jsonl", 12, "\"aaaa\""),
            ("inputs/b c.jsonl", 34, "\"bbbb\"")
        ]
    );
    assert_eq!(listed.key_count(), Some(2));
    assert_eq!(listed.request_id(), Some("UPSTREAMREQ5"));

    insta::assert_json_snapshot!("list_objects_v2", upstream_log(&upstream).await);
}

#[tokio::test]
async fn delete_object_is_relayed() {
    let upstream = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/{BUCKET}/inputs/old.jsonl")))
        .respond_with(s3_ids(ResponseTemplate::new(204), 6))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, false);

    let deleted = s3
        .delete_object()
        .bucket(BUCKET)
        .key("inputs/old.jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.request_id(), Some("UPSTREAMREQ6"));

    insta::assert_json_snapshot!("delete_object", upstream_log(&upstream).await);
}

#[tokio::test]
async fn other_providers_files_stay_local() {
    let upstream = MockServer::start().await;
    let addr = gateway(&upstream).await;
    // No header: the default provider (the mock), whose files are local.
    let local = aws_sdk_s3::Client::from_conf(common::files_config(addr).build());
    local
        .put_object()
        .bucket(BUCKET)
        .key("local.jsonl")
        .body(ByteStream::from_static(RECORDS.as_bytes()))
        .send()
        .await
        .unwrap();
    let got = local
        .get_object()
        .bucket(BUCKET)
        .key("local.jsonl")
        .send()
        .await
        .unwrap();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], RECORDS.as_bytes());
    assert!(upstream.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_s3_is_a_503_naming_the_provider() {
    // Bound, then closed: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let s3 = client(gateway_at(&endpoint, "").await, true);
    let err = s3
        .get_object()
        .bucket(BUCKET)
        .key("k")
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().expect("an HTTP answer");
    assert_eq!(raw.status().as_u16(), 503);
    assert!(
        raw.headers().get("x-amz-request-id").is_some(),
        "the gateway's own answer carries its request id"
    );
    let service = err.into_service_error();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&service),
        Some("ServiceUnavailable")
    );
    let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&service).unwrap();
    assert!(
        message.contains("provider 'aws' could not reach S3"),
        "{message}"
    );
}

const CLIENT_KEY_ID: &str = "AKIAQUARRYRELAY01";
const CLIENT_SECRET: &str = "relay-client-secret";

#[tokio::test]
async fn signed_chunks_are_checked_then_sent_decoded() {
    let upstream = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200).insert_header("etag", "\"decoded\""),
            7,
        ))
        .mount(&upstream)
        .await;
    let auth = format!(
        "[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"relay\"\naccess_key_id = \"{CLIENT_KEY_ID}\"\nsecret_access_key = \"{CLIENT_SECRET}\"\n"
    );
    let addr = gateway_at(&upstream.uri(), &auth).await;
    let first = vec![b'a'; 70_000];
    let chunks: [&[u8]; 2] = [&first, b"the end\n"];

    let path = format!("/bedrock/files/{BUCKET}/inputs/signed.jsonl");
    let (headers, body) = common::signed_chunks::signed_chunked_put(
        addr,
        (CLIENT_KEY_ID, CLIENT_SECRET),
        &[
            ("content-type", "application/jsonl"),
            ("x-model-provider", "aws"),
        ],
        &path,
        &chunks,
        false,
    );
    let put = common::signed_chunks::send(addr, "PUT", &path, &headers, &body).await;
    assert_eq!(put.status, 200, "{}", put.body_text());
    assert_eq!(put.header("etag"), Some("\"decoded\""));
    assert_eq!(put.header("x-amz-request-id"), Some("UPSTREAMREQ7"));
    let received = upstream.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, chunks.concat(), "the decoded data");
    assert_eq!(
        header(&received[0], "content-length"),
        Some((first.len() + 8).to_string().as_str())
    );
    assert_eq!(header(&received[0], "content-encoding"), None);

    // A chunk altered in flight is refused, and S3 never gets a whole request.
    let (headers, body) = common::signed_chunks::signed_chunked_put(
        addr,
        (CLIENT_KEY_ID, CLIENT_SECRET),
        &[
            ("content-type", "application/jsonl"),
            ("x-model-provider", "aws"),
        ],
        &path,
        &chunks,
        true,
    );
    let put = common::signed_chunks::send(addr, "PUT", &path, &headers, &body).await;
    assert_eq!(put.status, 403, "{}", put.body_text());
    assert!(
        put.body_text()
            .contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        put.body_text()
    );
    assert_eq!(upstream.received_requests().await.unwrap().len(), 1);

    let mut log = upstream_log(&upstream).await;
    // 70 000 bytes of `a` say nothing a length does not.
    log[0]["body"] = json!(format!(
        "<{} bytes: 'a' × {}, then \"the end\\n\">",
        first.len() + 8,
        first.len()
    ));
    insta::assert_json_snapshot!("signed_chunks_decoded", log);
}

#[tokio::test]
async fn temporary_gateway_credentials_send_their_session_token_signed() {
    let upstream = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(s3_ids(ResponseTemplate::new(204), 11))
        .mount(&upstream)
        .await;
    let addr = gateway_signing_with(&upstream.uri(), "", Some(UPSTREAM_SESSION_TOKEN)).await;
    client(addr, true)
        .delete_object()
        .bucket(BUCKET)
        .key("inputs/old.jsonl")
        .send()
        .await
        .unwrap();
    // Signed (checked by upstream_log), and the gateway's token, not the client's.
    let log = upstream_log(&upstream).await;
    assert_eq!(log.len(), 1);
    let received = &upstream.received_requests().await.unwrap()[0];
    assert_eq!(
        header(received, "x-amz-security-token"),
        Some(UPSTREAM_SESSION_TOKEN)
    );
}

#[tokio::test]
async fn s3s_redirects_are_relayed_not_followed() {
    let upstream = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    let location = format!("{}/{BUCKET}/inputs/a.jsonl", elsewhere.uri());
    let redirect = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>TemporaryRedirect</Code><Message>Please re-send this request to the specified temporary endpoint. Continue to use the original request endpoint for future requests.</Message><Bucket>batch-bucket</Bucket><RequestId>UPSTREAMREQ9</RequestId><HostId>upstream-host-9</HostId></Error>";
    Mock::given(method("GET"))
        .respond_with(s3_ids(
            ResponseTemplate::new(307)
                .insert_header("location", location.as_str())
                .set_body_raw(redirect, "application/xml"),
            9,
        ))
        .mount(&upstream)
        .await;
    let addr = gateway_signing_with(&upstream.uri(), "", Some(UPSTREAM_SESSION_TOKEN)).await;

    let got = common::raw_request(
        addr,
        "GET",
        &format!("/bedrock/files/{BUCKET}/inputs/a.jsonl"),
        &[
            ("content-type", "application/jsonl"),
            ("x-model-provider", "aws"),
        ],
        b"",
    )
    .await;
    // S3's answer, as S3 sent it: the client's SDK decides what to do with it.
    assert_eq!(got.status, 307, "{}", got.body_text());
    assert_eq!(got.header("location"), Some(location.as_str()));
    assert_eq!(got.header("x-amz-request-id"), Some("UPSTREAMREQ9"));
    assert_eq!(got.body_text(), redirect);
    // Following it would have sent the request, session token and all, to another host.
    let followed = elsewhere.received_requests().await.unwrap();
    assert!(
        followed.is_empty(),
        "the redirect was followed: {:?}",
        followed
            .iter()
            .map(|r| r.headers.get("x-amz-security-token").cloned())
            .collect::<Vec<_>>()
    );
    assert_eq!(upstream_log(&upstream).await.len(), 1);
}

/// A presigned PUT URL for `path` as the JavaScript SDK v3 makes it (signing only `host`, the
/// metadata and storage class hoisted into the query), signed with the gateway key.
fn presigned_put(addr: SocketAddr, path: &str) -> String {
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
    let query = format!(
        "x-id=PutObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD\
         &X-Amz-Credential={CLIENT_KEY_ID}%2F{}%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date={amz_date}&X-Amz-Expires=900&X-Amz-Security-Token={CLIENT_SESSION_TOKEN}\
         &X-Amz-SignedHeaders=host&x-amz-meta-purpose=batch%20jobs\
         &x-amz-storage-class=STANDARD_IA",
        scope.date
    );
    let mut headers = http::HeaderMap::new();
    headers.insert("host", addr.to_string().parse().unwrap());
    let view = RequestView {
        method: "PUT",
        path,
        query: &query,
        headers: &headers,
        authority: None,
    };
    let canonical = canonical_request(&view, &["host"], "UNSIGNED-PAYLOAD", "s3");
    let sig = signature(
        &SecretKey::new(CLIENT_SECRET),
        &scope,
        &string_to_sign(&amz_date, &scope, &canonical),
    );
    format!("{path}?{query}&X-Amz-Signature={sig}")
}

#[tokio::test]
async fn a_presigned_urls_hoisted_headers_go_upstream_as_headers() {
    let upstream = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200).insert_header("etag", "\"presigned\""),
            10,
        ))
        .mount(&upstream)
        .await;
    let auth = format!(
        "[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"relay\"\naccess_key_id = \"{CLIENT_KEY_ID}\"\nsecret_access_key = \"{CLIENT_SECRET}\"\n"
    );
    let addr = gateway_at(&upstream.uri(), &auth).await;
    let url = presigned_put(
        addr,
        &format!("/bedrock/files/{BUCKET}/inputs/presigned.jsonl"),
    );

    let put = common::raw_request(
        addr,
        "PUT",
        &url,
        &[
            ("x-model-provider", "aws"),
            ("content-type", "application/jsonl"),
        ],
        RECORDS.as_bytes(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body_text());
    assert_eq!(put.header("etag"), Some("\"presigned\""));
    assert_eq!(put.header("x-amz-request-id"), Some("UPSTREAMREQ10"));

    // The metadata and storage class are kept (as headers, signed); the client's signature,
    // token and payload hash are not.
    let log = upstream_log(&upstream).await;
    let received = &upstream.received_requests().await.unwrap()[0];
    assert_eq!(header(received, "x-amz-meta-purpose"), Some("batch jobs"));
    assert_eq!(header(received, "x-amz-storage-class"), Some("STANDARD_IA"));
    assert_eq!(received.body, RECORDS.as_bytes());
    insta::assert_json_snapshot!("presigned_put_hoisted_headers", log);
}

#[tokio::test]
async fn the_rust_sdks_signed_chunks_and_trailer_are_checked_in_sigv4_mode() {
    let upstream = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(s3_ids(
            ResponseTemplate::new(200).insert_header("etag", "\"checked\""),
            12,
        ))
        .mount(&upstream)
        .await;
    let auth = format!(
        "[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"relay\"\naccess_key_id = \"{CLIENT_KEY_ID}\"\nsecret_access_key = \"{CLIENT_SECRET}\"\n"
    );
    let addr = gateway_at(&upstream.uri(), &auth).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        common::files_config(addr)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                CLIENT_KEY_ID,
                CLIENT_SECRET,
                None,
                None,
                "test",
            ))
            .interceptor(common::AddProvider("aws"))
            .build(),
    );
    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key("inputs/checked.jsonl")
        .content_length(RECORDS.len() as i64)
        .body(streamed(RECORDS.as_bytes(), 2))
        .send()
        .await
        .unwrap();
    assert_eq!(put.e_tag(), Some("\"checked\""));
    upstream_log(&upstream).await;
    let received = &upstream.received_requests().await.unwrap()[0];
    assert_eq!(
        header(received, "x-amz-content-sha256"),
        Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    );
    assert!(received.body == unsigned_framing(RECORDS.as_bytes()));
}

#[tokio::test]
async fn unserved_subresources_stay_unserved_however_escaped() {
    let upstream = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(s3_ids(ResponseTemplate::new(204), 13))
        .mount(&upstream)
        .await;
    let addr = gateway(&upstream).await;
    // `?policy` is refused before routing; `?polic%79` is the same subresource to S3.
    for path in [
        format!("/bedrock/files/{BUCKET}?policy"),
        format!("/bedrock/files/{BUCKET}?polic%79"),
    ] {
        let put = common::raw_request(
            addr,
            "PUT",
            &path,
            &[("x-model-provider", "aws")],
            b"{\"Version\": \"2012-10-17\", \"Statement\": []}",
        )
        .await;
        assert_eq!(put.status, 501, "{path}: {}", put.body_text());
        assert!(
            put.body_text().contains("<Code>NotImplemented</Code>"),
            "{}",
            put.body_text()
        );
    }
    let received = upstream.received_requests().await.unwrap();
    assert!(
        received.is_empty(),
        "S3 was asked: {:?}",
        received
            .iter()
            .map(|r| r.url.to_string())
            .collect::<Vec<_>>()
    );
}
