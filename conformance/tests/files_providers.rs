//! Files routed by `x-model-provider` to OpenAI's and Gemini's file APIs (wiremock upstreams),
//! driven by aws-sdk-s3: the provider's file id is the ETag, bodies are served from the local copy,
//! deletes and overwrites reach the provider, and an upstream failure stores nothing.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers each OpenAI upload with the next `file-N` object.
struct OpenAiUploads(Arc<AtomicUsize>);

impl Respond for OpenAiUploads {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let len = multipart_file(request).map_or(0, |(_, _, body)| body.len());
        ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("file-{n}"), "object": "file", "bytes": len,
            "created_at": 1_700_000_000, "filename": "batch.jsonl", "purpose": "batch",
            "status": "processed"
        }))
    }
}

/// Answers each Gemini finalize with the next `files/g-N` file.
struct GeminiUploads(Arc<AtomicUsize>);

impl Respond for GeminiUploads {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({ "file": {
            "name": format!("files/g-{n}"), "displayName": "batch.jsonl",
            "mimeType": "application/jsonl", "sizeBytes": request.body.len().to_string(),
            "createTime": "2026-11-23T10:00:00.000000Z", "state": "ACTIVE",
            "uri": format!("https://example.invalid/v1beta/files/g-{n}")
        }}))
    }
}

/// The `file` part of a multipart form: its file name, content type and bytes.
fn multipart_file(request: &Request) -> Option<(String, String, Vec<u8>)> {
    let content_type = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    let text = String::from_utf8_lossy(body);
    for part in text.split(delimiter.as_str()) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if head.contains("name=\"file\"") {
            let filename = head
                .split("filename=\"")
                .nth(1)?
                .split('"')
                .next()?
                .to_owned();
            let ctype = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .or_else(|| head.lines().find_map(|l| l.strip_prefix("content-type: ")))?
                .to_owned();
            let content = content.strip_suffix("\r\n").unwrap_or(content);
            return Some((filename, ctype, content.as_bytes().to_vec()));
        }
    }
    None
}

/// The form fields of a multipart request other than the file.
fn multipart_fields(request: &Request) -> Vec<(String, String)> {
    let Some(boundary) = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_owned())
    else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&request.body).into_owned();
    text.split(format!("--{boundary}").as_str())
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?;
            (name != "file").then(|| (name.to_owned(), value.trim_end().to_owned()))
        })
        .collect()
}

/// What the upstream received, in order, as method, path and what identifies each request.
async fn upstream_log(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.expect("recording is on");
    requests
        .iter()
        .map(|r| {
            let mut entry = json!({ "method": r.method.as_str(), "path": r.url.path() });
            if let Some(query) = r.url.query() {
                entry["query"] = json!(query);
            }
            for name in [
                "authorization",
                "x-goog-api-key",
                "x-goog-upload-protocol",
                "x-goog-upload-command",
                "x-goog-upload-header-content-length",
                "x-goog-upload-header-content-type",
                "x-goog-upload-offset",
            ] {
                if let Some(v) = r.headers.get(name) {
                    entry[name] = json!(v.to_str().unwrap_or("<not ascii>"));
                }
            }
            if let Some((filename, ctype, body)) = multipart_file(r) {
                entry["form"] = json!({
                    "fields": multipart_fields(r),
                    "file": { "filename": filename, "content_type": ctype,
                              "body": String::from_utf8_lossy(&body) },
                });
            } else if !r.body.is_empty() {
                entry["body"] = serde_json::from_slice(&r.body)
                    .unwrap_or_else(|_| json!(String::from_utf8_lossy(&r.body)));
            }
            entry
        })
        .collect()
}

/// A gateway with an OpenAI and a Gemini provider at `upstream`; the mock is the default.
async fn gateway(upstream: &MockServer) -> SocketAddr {
    common::serve_toml(&format!(
        r#"
default_provider = "mock"
[providers.mock]
type = "mock"
[providers.openai]
type = "openai"
base_url = "{uri}/v1"
api_keys = [{{ key = "sk-test-openai" }}]
retries = {{ max = 0 }}
[providers.gemini]
type = "gemini"
base_url = "{uri}"
api_keys = [{{ key = "test-gemini-key" }}]
retries = {{ max = 0 }}
"#,
        uri = upstream.uri()
    ))
    .await
}

/// The seed's client: aws-sdk-s3 with `x-model-provider` added to every request.
fn client(addr: SocketAddr, provider: &'static str) -> aws_sdk_s3::Client {
    let config = common::files_config(addr).interceptor(common::AddProvider(provider));
    aws_sdk_s3::Client::from_conf(config.build())
}

async fn mount_openai(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(OpenAiUploads(Arc::default()))
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/v1/files/file-\d+$"))
        .respond_with(|r: &Request| {
            let id = r
                .url
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": id, "object": "file", "deleted": true }))
        })
        .mount(server)
        .await;
}

async fn mount_gemini(server: &MockServer) {
    let session = format!("{}/upload/v1beta/files?upload_id=session-1", server.uri());
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(wiremock::matchers::header("x-goog-upload-command", "start"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-goog-upload-url", session))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(wiremock::matchers::query_param("upload_id", "session-1"))
        .respond_with(GeminiUploads(Arc::default()))
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/v1beta/files/g-\d+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(server)
        .await;
}

const RECORDS: &str = "{\"custom_id\": \"request-1\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": {\"model\": \"gpt-4o-mini\"}}\n";

#[tokio::test]
async fn openai_file_id_is_the_etag_and_the_seed_calls_work_on_it() {
    let upstream = MockServer::start().await;
    mount_openai(&upstream).await;
    let s3 = client(gateway(&upstream).await, "openai");

    let put = s3
        .put_object()
        .bucket("openai-files")
        .key("batch_input_1.jsonl")
        .body(ByteStream::from_static(RECORDS.as_bytes()))
        .content_type("application/jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(put.e_tag(), Some("\"file-1\""));

    // The seed's file-id conventions: If-Match takes the file id.
    let head = s3
        .head_object()
        .bucket("openai-files")
        .key("batch_input_1.jsonl")
        .if_match("file-1")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some("\"file-1\""));
    assert_eq!(head.content_length(), Some(RECORDS.len() as i64));
    let got = s3
        .get_object()
        .bucket("openai-files")
        .key("batch_input_1.jsonl")
        .if_match("file-1")
        .send()
        .await
        .unwrap();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], RECORDS.as_bytes());

    let listed = s3
        .list_objects_v2()
        .bucket("openai-files")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = listed
        .contents()
        .iter()
        .map(|o| (o.key().unwrap(), o.e_tag().unwrap()))
        .collect();
    assert_eq!(keys, [("batch_input_1.jsonl", "\"file-1\"")]);

    // Overwriting uploads a new file and deletes the one it replaced.
    let again = s3
        .put_object()
        .bucket("openai-files")
        .key("batch_input_1.jsonl")
        .body(ByteStream::from_static(b"{}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.e_tag(), Some("\"file-2\""));
    s3.delete_object()
        .bucket("openai-files")
        .key("batch_input_1.jsonl")
        .if_match("file-2")
        .send()
        .await
        .unwrap();
    let gone = s3
        .head_object()
        .bucket("openai-files")
        .key("batch_input_1.jsonl")
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.raw_response().map(|r| r.status().as_u16()), Some(404));

    insta::assert_json_snapshot!("openai_upstream_calls", upstream_log(&upstream).await);
}

#[tokio::test]
async fn gemini_uploads_resumably_and_its_file_name_is_the_etag() {
    let upstream = MockServer::start().await;
    mount_gemini(&upstream).await;
    let s3 = client(gateway(&upstream).await, "gemini");
    let records = "{\"request\": {\"contents\": []}, \"metadata\": {\"key\": \"request-1\"}}\n";

    let put = s3
        .put_object()
        .bucket("gemini-files")
        .key("inputs/batch_input_1.jsonl")
        .body(ByteStream::from_static(records.as_bytes()))
        .content_type("application/jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(put.e_tag(), Some("\"files/g-1\""));
    let got = s3
        .get_object()
        .bucket("gemini-files")
        .key("inputs/batch_input_1.jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some("\"files/g-1\""));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], records.as_bytes());
    s3.delete_object()
        .bucket("gemini-files")
        .key("inputs/batch_input_1.jsonl")
        .send()
        .await
        .unwrap();

    insta::assert_json_snapshot!("gemini_upstream_calls", upstream_log(&upstream).await);
}

#[tokio::test]
async fn multipart_uploads_go_to_the_provider_once_complete() {
    let upstream = MockServer::start().await;
    mount_openai(&upstream).await;
    let s3 = client(gateway(&upstream).await, "openai");
    let (bucket, key) = ("openai-files", "big.jsonl");
    let part1 = vec![b'a'; 5 * 1024 * 1024];
    let part2 = b"tail\n".to_vec();
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (n, data) in [(1, part1.clone()), (2, part2.clone())] {
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
            .await
            .unwrap();
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
    }
    assert!(
        upstream.received_requests().await.unwrap().is_empty(),
        "nothing reaches the provider before the upload completes"
    );
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.e_tag(), Some("\"file-1\""));
    let sent = upstream.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let (filename, _, body) = multipart_file(&sent[0]).expect("a multipart upload");
    assert_eq!(filename, "big.jsonl");
    assert_eq!(body.len(), part1.len() + part2.len());
    assert!(body.ends_with(b"aaaatail\n"));
}

#[tokio::test]
async fn a_provider_failure_is_an_s3_error_and_stores_nothing() {
    let upstream = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "Invalid file format for Batch API.", "type": "invalid_request_error",
            "param": null, "code": null
        }})))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, "openai");
    let err = s3
        .put_object()
        .bucket("openai-files")
        .key("bad.jsonl")
        .body(ByteStream::from_static(b"not json\n"))
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&service);
    assert_eq!(meta.code(), Some("InvalidRequest"));
    assert!(
        meta.message()
            .is_some_and(|m| m.contains("Invalid file format for Batch API")),
        "{meta:?}"
    );
    let listed = s3
        .list_objects_v2()
        .bucket("openai-files")
        .send()
        .await
        .unwrap();
    assert!(listed.contents().is_empty(), "nothing stored: {listed:?}");
}

#[tokio::test]
async fn a_failed_provider_delete_keeps_the_object() {
    let upstream = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(OpenAiUploads(Arc::default()))
        .mount(&upstream)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "error": {
            "message": "The server had an error", "type": "server_error"
        }})))
        .mount(&upstream)
        .await;
    let s3 = client(gateway(&upstream).await, "openai");
    s3.put_object()
        .bucket("openai-files")
        .key("keep.jsonl")
        .body(ByteStream::from_static(b"{}\n"))
        .send()
        .await
        .unwrap();
    let err = s3
        .delete_object()
        .bucket("openai-files")
        .key("keep.jsonl")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    let head = s3
        .head_object()
        .bucket("openai-files")
        .key("keep.jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some("\"file-1\""));
}

#[tokio::test]
async fn providers_namespaces_are_separate_and_unknown_providers_are_refused() {
    let upstream = MockServer::start().await;
    mount_openai(&upstream).await;
    let addr = gateway(&upstream).await;
    client(addr, "bedrock")
        .put_object()
        .bucket("shared-name")
        .key("local.jsonl")
        .body(ByteStream::from_static(b"{}\n"))
        .send()
        .await
        .unwrap();
    // Anthropic's files are stored locally, next to Bedrock's.
    let anthropic = client(addr, "anthropic")
        .list_objects_v2()
        .bucket("shared-name")
        .send()
        .await
        .unwrap();
    assert_eq!(anthropic.contents().len(), 1);
    // OpenAI's bucket names are labels of its own: this one holds nothing there.
    let openai = client(addr, "openai")
        .list_objects_v2()
        .bucket("shared-name")
        .send()
        .await
        .unwrap();
    assert!(openai.contents().is_empty(), "{openai:?}");

    let err = client(addr, "cohere")
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&service);
    assert_eq!(meta.code(), Some("InvalidArgument"));
    assert!(
        meta.message().is_some_and(|m| m.contains("cohere")),
        "{meta:?}"
    );
}
