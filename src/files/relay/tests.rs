//! Unit tests of the S3 relay: which headers and query parameters go upstream, upstream URLs,
//! body handling by payload hash, signatures checked by the gateway's own verifier, failures.

use std::time::{Duration, SystemTime};

use http_body_util::BodyExt as _;

use super::*;
use crate::auth::{AccessKeyId, Credential, Identity, KeyStore, PayloadHash, SecretKey};
use crate::config::BaseUrl;

const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(n, v)| {
            (
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}

fn names(headers: &HeaderMap) -> Vec<&str> {
    let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    names.sort_unstable();
    names
}

fn target(endpoint: &str, addressing: Addressing) -> S3Target {
    S3Target {
        region: "us-west-2".to_owned(),
        endpoint: BaseUrl::parse(endpoint).unwrap(),
        addressing,
        buckets: Vec::new(),
    }
}

fn aws() -> S3Target {
    target("https://s3.us-west-2.amazonaws.com", Addressing::Virtual)
}

/// What a client sends besides the payload-specific headers.
const CLIENT: &[(&str, &str)] = &[
    ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/…"),
    ("host", "localhost:8080"),
    ("x-model-provider", "aws"),
    ("expect", "100-continue"),
    ("connection", "keep-alive"),
    ("user-agent", "aws-sdk-rust"),
    ("amz-sdk-invocation-id", "1234"),
    ("content-length", "42"),
    ("content-type", "application/jsonl"),
    ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    ("content-disposition", "attachment"),
    ("content-language", "en"),
    ("cache-control", "no-cache"),
    ("expires", "Thu, 01 Dec 2094 16:00:00 GMT"),
    ("range", "bytes=0-9"),
    ("if-match", "\"abc\""),
    ("if-none-match", "\"def\""),
    ("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"),
    ("if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT"),
    ("x-amz-date", "20250101T000000Z"),
    ("x-amz-security-token", "client-session"),
    ("x-amz-meta-purpose", "batch"),
    ("x-amz-checksum-crc32", "AAAAAA=="),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ("x-amz-storage-class", "STANDARD"),
    ("x-amz-copy-source", "/src-bucket/a%20b"),
];

const STANDARD: [&str; 11] = [
    "cache-control",
    "content-disposition",
    "content-language",
    "content-md5",
    "content-type",
    "expires",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

const AMZ: [&str; 5] = [
    "x-amz-checksum-crc32",
    "x-amz-copy-source",
    "x-amz-meta-purpose",
    "x-amz-sdk-checksum-algorithm",
    "x-amz-storage-class",
];

fn expected(extra: &[&'static str]) -> Vec<&'static str> {
    let mut all: Vec<&str> = STANDARD.iter().chain(AMZ.iter()).copied().collect();
    all.extend_from_slice(extra);
    all.sort_unstable();
    all
}

#[test]
fn plain_bodies_forward_what_s3_acts_on_and_nothing_of_the_clients_signature() {
    let mut sent = headers(CLIENT);
    sent.extend(headers(&[
        ("x-amz-content-sha256", DIGEST),
        ("content-encoding", "gzip"),
    ]));
    let payload = payload(&sent, &ProviderId::new("aws")).unwrap();
    assert_eq!(payload, Payload::Plain(DIGEST.to_owned()));
    let out = forwarded_headers(&sent, &payload).unwrap();
    assert_eq!(names(&out), expected(&["content-encoding"]));
    assert_eq!(out["content-encoding"], "gzip");
    assert_eq!(out["x-amz-copy-source"], "/src-bucket/a%20b");
}

#[test]
fn unsigned_aws_chunked_goes_framed_with_its_length_and_trailer() {
    let mut sent = headers(CLIENT);
    sent.extend(headers(&[
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("content-encoding", "gzip, aws-chunked"),
        ("x-amz-decoded-content-length", "11"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ]));
    let payload = payload(&sent, &ProviderId::new("aws")).unwrap();
    assert_eq!(payload, Payload::Framed);
    assert_eq!(payload.signed_as(), "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    let out = forwarded_headers(&sent, &payload).unwrap();
    assert_eq!(
        names(&out),
        expected(&[
            "content-encoding",
            "x-amz-decoded-content-length",
            "x-amz-trailer"
        ])
    );
    assert_eq!(out["content-encoding"], "aws-chunked,gzip");
    assert_eq!(out["x-amz-decoded-content-length"], "11");
    assert_eq!(out["x-amz-trailer"], "x-amz-checksum-crc32");

    // Java v2 frames unsigned chunks under UNSIGNED-PAYLOAD: the same, announced properly.
    let java = headers(&[
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "11"),
    ]);
    let java_payload = super::payload(&java, &ProviderId::new("aws")).unwrap();
    assert_eq!(java_payload, Payload::Framed);
    let out = forwarded_headers(&java, &java_payload).unwrap();
    assert_eq!(out["content-encoding"], "aws-chunked");
}

#[test]
fn signed_aws_chunked_is_decoded_and_loses_its_framing_headers() {
    let mut sent = headers(CLIENT);
    sent.extend(headers(&[
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "11"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ]));
    let payload = payload(&sent, &ProviderId::new("aws")).unwrap();
    let Payload::Decoded(framing) = &payload else {
        panic!("{payload:?}")
    };
    assert_eq!(framing.decoded_length, Some(11));
    assert!(framing.signed && !framing.trailer);
    assert_eq!(payload.signed_as(), "UNSIGNED-PAYLOAD");
    let out = forwarded_headers(&sent, &payload).unwrap();
    assert_eq!(names(&out), expected(&[]), "no content-encoding left");
}

#[test]
fn payload_hashes_choose_how_the_body_goes() {
    let aws = ProviderId::new("aws");
    let of = |pairs: &[(&str, &str)]| payload(&headers(pairs), &aws);
    assert_eq!(of(&[]), Ok(Payload::Plain("UNSIGNED-PAYLOAD".to_owned())));
    assert_eq!(
        of(&[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]),
        Ok(Payload::Plain("UNSIGNED-PAYLOAD".to_owned()))
    );
    let missing_length =
        of(&[("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")]).unwrap_err();
    assert_eq!(
        (missing_length.status, missing_length.code),
        (411, "MissingContentLength")
    );
    // Signed chunks with trailers are re-framed, when the trailers are checksums.
    let reframed = of(&[
        (
            "x-amz-content-sha256",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        ),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "3"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ])
    .unwrap();
    let Payload::Reframed { framing, trailers } = &reframed else {
        panic!("{reframed:?}")
    };
    assert!(framing.signed && framing.trailer);
    assert_eq!(trailers, &[("x-amz-checksum-crc32".to_owned(), 8)]);
    assert_eq!(reframed.signed_as(), "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    assert_eq!(
        reframed.length(Some(999)),
        Some(("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n".len()) as u64)
    );
    let other_trailer = of(&[
        (
            "x-amz-content-sha256",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        ),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "3"),
        ("x-amz-trailer", "x-amz-meta-late"),
    ])
    .unwrap_err();
    assert_eq!(
        (other_trailer.status, other_trailer.code),
        (501, "NotImplemented")
    );
    for refused in [
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    ] {
        let e = of(&[
            ("x-amz-content-sha256", refused),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "3"),
        ])
        .unwrap_err();
        assert_eq!((e.status, e.code), (501, "NotImplemented"), "{refused}");
        assert!(e.message.contains(refused), "{}", e.message);
        assert!(e.message.contains("provider 'aws'"), "{}", e.message);
    }
    // A digest cannot describe aws-chunked framing, as S3 says.
    let e = of(&[
        ("x-amz-content-sha256", DIGEST),
        ("content-encoding", "aws-chunked"),
    ])
    .unwrap_err();
    assert_eq!((e.status, e.code), (400, "InvalidArgument"));
}

#[test]
fn header_values_that_cannot_be_signed_are_refused() {
    let mut sent = HeaderMap::new();
    sent.insert("x-amz-meta-x", HeaderValue::from_bytes(b"caf\xe9").unwrap());
    let e = forwarded_headers(&sent, &Payload::Plain(UNSIGNED_PAYLOAD.to_owned())).unwrap_err();
    assert_eq!((e.status, e.code), (400, "InvalidArgument"));
    // UTF-8 is signable.
    sent.insert(
        "x-amz-meta-x",
        HeaderValue::from_bytes("café".as_bytes()).unwrap(),
    );
    assert!(forwarded_headers(&sent, &Payload::Plain(UNSIGNED_PAYLOAD.to_owned())).is_ok());
}

#[test]
fn presigned_url_parameters_are_dropped_and_the_rest_encoded_as_signed() {
    let forwarded = |query: &str| forwarded_query(query).unwrap();
    assert_eq!(
        forwarded(
            "list-type=2&prefix=a%2Fb+c&X-Amz-Signature=abc&x-amz-credential=K%2F1&uploads&encoding-type=url&X-AMZ-Expires=60"
        ),
        "list-type=2&prefix=a%2Fb%2Bc&uploads&encoding-type=url"
    );
    assert_eq!(
        forwarded("response-content-type=text/plain&x-id=GetObject"),
        "response-content-type=text%2Fplain&x-id=GetObject"
    );
    assert_eq!(forwarded(""), "");
    assert_eq!(forwarded("&&"), "");
}

#[test]
fn query_components_that_are_not_utf8_are_refused() {
    // The signer reads query components as UTF-8 (`%FF` would be signed as U+FFFD, not as the
    // byte S3 reads): refused here rather than answered by S3 with a signature mismatch.
    for query in ["prefix=%FF", "%C3=1", "prefix=a%E9b"] {
        let e = forwarded_query(query).unwrap_err();
        assert_eq!((e.status, e.code), (400, "InvalidArgument"), "{query}");
        let e = upstream_url(&aws(), "/b", Some(query)).unwrap_err();
        assert_eq!((e.status, e.code), (400, "InvalidArgument"), "{query}");
    }
    assert_eq!(forwarded_query("prefix=%C3%A9").unwrap(), "prefix=%C3%A9");
}

/// A presigned URL as the JavaScript SDK v3 makes it: `x-amz-*` headers hoisted into the query.
const HOISTING_PRESIGNED: &str = "x-id=PutObject&X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=AKIDCLIENT%2F20250101%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=client-session\
    &X-Amz-Signature=00&X-Amz-SignedHeaders=host&x-amz-meta-purpose=batch%20jobs\
    &x-amz-meta-Note=caf%C3%A9&x-amz-storage-class=STANDARD_IA&X-Amz-Decoded-Content-Length=3\
    &x-amz-trailer=x-amz-checksum-crc32";

#[test]
fn a_presigned_urls_hoisted_headers_become_headers() {
    let hoisted = hoisted_headers(Some(HOISTING_PRESIGNED)).unwrap();
    assert_eq!(
        names(&hoisted),
        [
            "x-amz-meta-note",
            "x-amz-meta-purpose",
            "x-amz-storage-class"
        ],
        "neither the client's signature nor its framing"
    );
    assert_eq!(hoisted["x-amz-meta-purpose"], "batch jobs");
    assert_eq!(hoisted["x-amz-meta-note"].as_bytes(), "café".as_bytes());
    assert_eq!(hoisted["x-amz-storage-class"], "STANDARD_IA");
    // None of it stays in the query.
    assert_eq!(
        forwarded_query(HOISTING_PRESIGNED).unwrap(),
        "x-id=PutObject"
    );
    // Not presigned: nothing is hoisted (and the query still drops every `x-amz-*`).
    assert!(
        hoisted_headers(Some("x-id=PutObject&x-amz-meta-purpose=batch"))
            .unwrap()
            .is_empty()
    );
    assert!(hoisted_headers(None).unwrap().is_empty());
    // What cannot be a header is refused, not dropped.
    let e = hoisted_headers(Some("X-Amz-Signature=00&x-amz-meta-a=line%0Abreak")).unwrap_err();
    assert_eq!((e.status, e.code), (400, "InvalidArgument"));
    let e = hoisted_headers(Some("X-Amz-Signature=00&x-amz-meta-a%20b=1")).unwrap_err();
    assert_eq!((e.status, e.code), (400, "InvalidArgument"));
}

/// The URL built for `path`, checked to survive the HTTP client's URL parser unchanged (what
/// is signed is what is sent).
fn url(target: &S3Target, path: &str, query: Option<&str>) -> String {
    let url = upstream_url(target, path, query).unwrap();
    assert_eq!(reqwest::Url::parse(&url).unwrap().as_str(), url);
    url
}

#[test]
fn virtual_hosted_urls_on_aws() {
    let aws = aws();
    assert_eq!(
        url(&aws, "/my-bucket/dir/key.jsonl", None),
        "https://my-bucket.s3.us-west-2.amazonaws.com/dir/key.jsonl"
    );
    assert_eq!(
        url(&aws, "/my-bucket", Some("list-type=2&prefix=dir%2F")),
        "https://my-bucket.s3.us-west-2.amazonaws.com/?list-type=2&prefix=dir%2F"
    );
    assert_eq!(
        url(&aws, "/my-bucket/", None),
        "https://my-bucket.s3.us-west-2.amazonaws.com/"
    );
    assert_eq!(
        url(&aws, "/my-bucket//a//b/", None),
        "https://my-bucket.s3.us-west-2.amazonaws.com//a//b/"
    );
    // ListBuckets names no bucket.
    assert_eq!(url(&aws, "/", None), "https://s3.us-west-2.amazonaws.com/");
    // Dotted (or otherwise not DNS-safe) names fall back to path style, as the SDKs do: the
    // wildcard certificate covers one label only.
    assert_eq!(
        url(&aws, "/my.bucket/k", None),
        "https://s3.us-west-2.amazonaws.com/my.bucket/k"
    );
    assert_eq!(
        url(&aws, "/ab/k", None),
        "https://s3.us-west-2.amazonaws.com/ab/k"
    );
}

#[test]
fn path_style_urls_on_a_custom_endpoint() {
    let minio = target("http://127.0.0.1:9000/base/", Addressing::Path);
    assert_eq!(
        url(&minio, "/b/k", Some("uploadId=u1&partNumber=2")),
        "http://127.0.0.1:9000/base/b/k?uploadId=u1&partNumber=2"
    );
    assert_eq!(url(&minio, "/", None), "http://127.0.0.1:9000/base/");
    let root = target("http://minio.internal:9000", Addressing::Path);
    assert_eq!(url(&root, "/b", None), "http://minio.internal:9000/b");
    // Virtual-hosted style on a custom endpoint puts the bucket before its host.
    let virtual_minio = target("http://minio.internal:9000", Addressing::Virtual);
    assert_eq!(
        url(&virtual_minio, "/bucket/k", None),
        "http://bucket.minio.internal:9000/k"
    );
    // A default port is no part of the URL the client sends, so none is signed either.
    let explicit_port = target("https://s3.us-west-2.amazonaws.com:443", Addressing::Path);
    let built = upstream_url(&explicit_port, "/b/k", None).unwrap();
    assert_eq!(
        reqwest::Url::parse(&built).unwrap().as_str(),
        "https://s3.us-west-2.amazonaws.com/b/k"
    );
}

#[test]
fn keys_keep_their_encoding_when_it_is_canonical() {
    let path = target("http://127.0.0.1:9000", Addressing::Path);
    for key in [
        "/b/with%20space.txt",
        "/b/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.jsonl",
        "/b/literally%252F",
        "/b/a//b",
        "/b//leading",
        "/b/trailing/",
        "/b/%21%27%28%29%2A%2B%2C%3B%3D%40%24%26",
        "/b/tilde~_-.",
        "/b/...",
        "/b/.hidden/..x",
    ] {
        assert_eq!(
            url(&path, key, None),
            format!("http://127.0.0.1:9000{key}"),
            "{key}"
        );
    }
    // Other spellings of the same key go in the canonical form S3 signs: `%2F` is a `/` to S3.
    assert_eq!(url(&path, "/b/a%2Fb", None), "http://127.0.0.1:9000/b/a/b");
    assert_eq!(
        url(&path, "/b/%7Euser/a+b!", None),
        "http://127.0.0.1:9000/b/~user/a%2Bb%21"
    );
}

#[test]
fn dot_segments_are_refused_rather_than_resolved() {
    for key in [
        "/b/a/../c",
        "/b/./c",
        "/b/%2E%2E/c",
        "/b/a/..",
        "/b/a%2F..%2Fc",
    ] {
        let e = upstream_url(&aws(), key, None).unwrap_err();
        assert_eq!((e.status, e.code), (400, "InvalidArgument"), "{key}");
    }
}

fn test_credentials() -> Credentials {
    Credentials::new("AKIDUPSTREAM", "upstream-secret", None, None, "test")
}

/// Checks a signed request with the gateway's own SigV4 verifier (service `s3`).
fn verify(method: &Method, url: &str, headers: &HeaderMap) {
    let mut keys = KeyStore::new();
    keys.insert(Credential {
        access_key_id: AccessKeyId::new("AKIDUPSTREAM"),
        secret: SecretKey::new("upstream-secret"),
        identity: Identity::new("upstream"),
    });
    let mut request = http::Request::builder()
        .method(method.clone())
        .uri(url)
        .body(())
        .unwrap();
    *request.headers_mut() = headers.clone();
    let (parts, ()) = request.into_parts();
    let payload = PayloadHash::for_s3(&parts.headers).unwrap();
    let identity = crate::auth::verify_header(
        &parts,
        &payload,
        &keys,
        SystemTime::now(),
        Duration::from_secs(300),
        &["s3"],
    )
    .unwrap_or_else(|e| panic!("the signature does not verify: {e:?}"));
    assert_eq!(identity.key_name, "upstream");
}

#[test]
fn signatures_verify_for_every_payload_and_key_spelling() {
    let target = target("http://127.0.0.1:9000", Addressing::Path);
    let cases = [
        (
            Method::PUT,
            "/b/dir/%C3%A9t%C3%A9%20x//y",
            Some("x-id=PutObject"),
            DIGEST,
        ),
        (
            Method::PUT,
            "/b/k",
            None,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        ),
        (
            Method::GET,
            "/b",
            Some("list-type=2&prefix=a+b%2F&X-Amz-Signature=00"),
            "UNSIGNED-PAYLOAD",
        ),
        (Method::POST, "/b/k", Some("uploads"), "UNSIGNED-PAYLOAD"),
    ];
    for (method, path, query, hash) in cases {
        let url = upstream_url(&target, path, query).unwrap();
        let mut headers = headers(&[
            ("content-type", "text/plain"),
            ("x-amz-meta-note", "  two  spaces "),
            ("content-length", "11"),
        ]);
        sign(
            &method,
            &url,
            &mut headers,
            hash,
            &test_credentials(),
            "us-west-2",
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(headers["x-amz-content-sha256"], hash);
        assert!(headers["authorization"].is_sensitive());
        let authorization = headers["authorization"].to_str().unwrap();
        assert!(
            authorization.contains("/us-west-2/s3/aws4_request"),
            "{authorization}"
        );
        verify(&method, &url, &headers);
    }
    // Temporary credentials add their token, signed.
    let url = upstream_url(&target, "/b/k", None).unwrap();
    let mut headers = HeaderMap::new();
    let temporary = Credentials::new(
        "AKIDUPSTREAM",
        "upstream-secret",
        Some("tok".into()),
        None,
        "t",
    );
    sign(
        &Method::GET,
        &url,
        &mut headers,
        UNSIGNED_PAYLOAD,
        &temporary,
        "us-west-2",
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(headers["x-amz-security-token"], "tok");
    assert!(
        headers["authorization"]
            .to_str()
            .unwrap()
            .contains("x-amz-security-token")
    );
    verify(&Method::GET, &url, &headers);
}

fn relay_to(endpoint: &str) -> S3Relay {
    let settings = UpstreamSettings {
        timeouts: crate::providers::transport::Timeouts {
            connect: Duration::from_secs(2),
            ..Default::default()
        },
        ..Default::default()
    };
    S3Relay::new(
        ProviderId::new("aws"),
        target(endpoint, Addressing::Path),
        settings,
    )
    .unwrap()
    .with_credentials(test_credentials())
}

async fn answer(response: http::Response<BoxBody>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn an_unreachable_s3_is_a_503_naming_the_provider() {
    // Nothing listens on the discard port.
    let relay = relay_to("http://127.0.0.1:9");
    let request = http::Request::get("/b/k")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let (status, body) = answer(relay.relay(request).await).await;
    assert_eq!(status, 503);
    assert!(body.contains("<Code>ServiceUnavailable</Code>"), "{body}");
    assert!(
        body.contains("provider &apos;aws&apos; could not reach S3 at http://127.0.0.1:9/"),
        "{body}"
    );
}

/// `data` framed as a client signing its chunks frames it (signatures not checked here, as in
/// auth mode `none`), in chunks of `chunk` bytes, with `trailers`.
fn signed_framing(data: &[u8], chunk: usize, trailers: &[(&str, &str)]) -> Vec<u8> {
    let signature = "0".repeat(64);
    let mut out = Vec::new();
    for piece in data.chunks(chunk).chain(std::iter::once(&b""[..])) {
        out.extend_from_slice(
            format!("{:x};chunk-signature={signature}\r\n", piece.len()).as_bytes(),
        );
        out.extend_from_slice(piece);
        if !piece.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
    }
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("x-amz-trailer-signature:{signature}\r\n\r\n").as_bytes());
    out
}

/// Runs a signed-trailer body through [`Reframed`], delivered in `delivery`-byte reads.
async fn reframe(body: Vec<u8>, data_length: u64, delivery: usize) -> Result<Vec<u8>, Refusal> {
    let reads: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(delivery)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let framing = Framing {
        signing: None,
        signed: true,
        trailer: true,
        decoded_length: Some(data_length),
    };
    let mut reframed = Reframed {
        decoder: chunked::Decoder::new(futures_util::stream::iter(reads), framing),
        trailers: vec![("x-amz-checksum-crc32".to_owned(), 8)],
        data_length,
        sent: 0,
        queue: VecDeque::new(),
        done: false,
    };
    let mut out = Vec::new();
    while let Some(piece) = reframed.next().await {
        out.extend_from_slice(&piece?);
    }
    Ok(out)
}

#[tokio::test]
async fn signed_chunks_with_trailers_are_reframed_to_the_length_announced() {
    let trailer = [("x-amz-checksum-crc32", "DUoRhQ==")];
    let chunk = REFRAMED_CHUNK as usize;
    for size in [0, 1, 10, chunk - 1, chunk, chunk + 1, 3 * chunk, 200_000] {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        for (client_chunk, delivery) in [(8192, 1000), (chunk, 65_537), (100_000, 7)] {
            let body = signed_framing(&data, client_chunk, &trailer);
            let out = reframe(body, size as u64, delivery).await.unwrap();
            let trailers = [("x-amz-checksum-crc32".to_owned(), 8)];
            assert_eq!(
                out.len() as u64,
                reframed_length(size as u64, &trailers),
                "{size}"
            );
            // What S3 reads back: the same data, the same trailer, no signatures.
            let mut expected = Vec::new();
            for piece in data.chunks(chunk) {
                expected.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                expected.extend_from_slice(piece);
                expected.extend_from_slice(b"\r\n");
            }
            expected.extend_from_slice(b"0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
            assert!(
                out == expected,
                "{size} bytes in {client_chunk}-byte chunks"
            );
        }
    }
}

#[tokio::test]
async fn reframed_trailers_must_be_the_declared_checksums() {
    let data = b"hello world";
    let missing = signed_framing(data, 4, &[]);
    let e = reframe(missing, 11, 5).await.unwrap_err();
    assert_eq!((e.status, e.code), (400, "InvalidRequest"));
    let malformed = signed_framing(data, 4, &[("x-amz-checksum-crc32", "not-base64-crc")]);
    let e = reframe(malformed, 11, 5).await.unwrap_err();
    assert_eq!((e.status, e.code), (400, "InvalidRequest"));
    let undeclared = signed_framing(
        data,
        4,
        &[
            ("x-amz-checksum-crc32", "DUoRhQ=="),
            ("x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
        ],
    );
    let e = reframe(undeclared, 11, 5).await.unwrap_err();
    assert_eq!((e.status, e.code), (400, "MalformedTrailerError"));
    // Too little data is the decoder's to refuse.
    let short = signed_framing(b"hello", 4, &[("x-amz-checksum-crc32", "DUoRhQ==")]);
    let e = reframe(short, 11, 5).await.unwrap_err();
    assert_eq!((e.status, e.code), (400, "IncompleteBody"));
}

#[tokio::test]
async fn refused_framings_are_answered_before_anything_is_sent() {
    let relay = relay_to("http://127.0.0.1:9");
    let request = http::Request::put("/b/k")
        .header(
            "x-amz-content-sha256",
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
        )
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", "3")
        .body(http_body_util::Full::new(Bytes::from_static(b"0\r\n\r\n")))
        .unwrap();
    let (status, body) = answer(relay.relay(request).await).await;
    assert_eq!(status, 501);
    assert!(body.contains("<Code>NotImplemented</Code>"), "{body}");
    let request = http::Request::get("/b/a/../k")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let (status, body) = answer(relay.relay(request).await).await;
    assert_eq!(status, 400, "{body}");
    // Subresources the gateway does not serve, however their names are escaped.
    for query in ["polic%79", "x-id=PutObject&t%61gging", "%61cl="] {
        let request = http::Request::put(format!("/b/k?{query}"))
            .body(http_body_util::Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let (status, body) = answer(relay.relay(request).await).await;
        assert_eq!(status, 501, "{query}: {body}");
        assert!(body.contains("<Code>NotImplemented</Code>"), "{body}");
    }
}

/// AWS's published examples of S3 header signatures ("Signature calculations for the
/// Authorization header: transferring payload in a single chunk"), relayed: an independent
/// check of the URL, the forwarded headers and the signature, not the gateway's own verifier.
#[test]
fn signatures_match_the_examples_aws_publishes() {
    let example = S3Target {
        region: "us-east-1".to_owned(),
        endpoint: BaseUrl::parse("https://s3.amazonaws.com").unwrap(),
        addressing: Addressing::Virtual,
        buckets: Vec::new(),
    };
    let credentials = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "example",
    );
    // 2013-05-24T00:00:00Z.
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
    let cases = [
        (
            "/examplebucket/test.txt",
            None,
            vec![("range", "bytes=0-9")],
            "host;range;x-amz-content-sha256;x-amz-date",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
        (
            "/examplebucket",
            Some("lifecycle"),
            vec![],
            "host;x-amz-content-sha256;x-amz-date",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (
            "/examplebucket",
            Some("max-keys=2&prefix=J"),
            vec![],
            "host;x-amz-content-sha256;x-amz-date",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ];
    for (path, query, extra, signed_headers, signature) in cases {
        // What a client sends, its own signature included.
        let mut sent = headers(&[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            ),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", DIGEST),
            ("x-model-provider", "aws"),
        ]);
        sent.extend(headers(&extra));
        let payload = payload(&sent, &ProviderId::new("aws")).unwrap();
        let mut out = forwarded_headers(&sent, &payload).unwrap();
        let url = upstream_url(&example, path, query).unwrap();
        assert!(
            url.starts_with("https://examplebucket.s3.amazonaws.com/"),
            "{url}"
        );
        sign(
            &Method::GET,
            &url,
            &mut out,
            payload.signed_as(),
            &credentials,
            "us-east-1",
            time,
        )
        .unwrap();
        assert_eq!(
            out["authorization"].to_str().unwrap(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
            ),
            "{path}?{query:?}"
        );
    }
}

#[test]
fn only_the_configured_buckets_are_reachable() {
    let mut t = aws();
    t.buckets = vec!["batch-in".to_owned()];
    let ok = http::HeaderMap::new();
    assert!(allowed(&t, "/batch-in/a.jsonl", &ok).is_ok());
    for (path, why) in [("/other/a.jsonl", "other"), ("/", "ListBuckets")] {
        let refusal = allowed(&t, path, &ok).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.code),
            (403, "AccessDenied"),
            "{path}"
        );
        assert!(refusal.message.contains(why), "{}", refusal.message);
    }
    let mut copy = http::HeaderMap::new();
    copy.insert("x-amz-copy-source", "/secret-bucket/k".parse().unwrap());
    assert_eq!(allowed(&t, "/batch-in/b", &copy).unwrap_err().status, 403);
    copy.insert(
        "x-amz-copy-source",
        "batch-in/k%20x?versionId=1".parse().unwrap(),
    );
    assert!(allowed(&t, "/batch-in/b", &copy).is_ok());
    // No list: every bucket the credentials reach.
    assert!(allowed(&aws(), "/anything/k", &copy).is_ok());
}
