//! The OpenAI Files API as a store for the `openai` provider's objects.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{
    RemoteBody, RemoteError, RemoteFile, check_local, file_body, json, key_header, media_type,
    segment, success, trimmed,
};
use crate::config::{ApiKey, BaseUrl};
use crate::providers::transport::Transport;
use crate::providers::{ErrorKind, ProviderError};

/// Objects stored through the gateway feed batch jobs; OpenAI checks their lines against it.
const PURPOSE: &str = "batch";

/// The Files API of an OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiFiles {
    transport: Arc<Transport>,
    /// Includes the version (`https://api.openai.com/v1`), without a trailing slash.
    base: String,
    /// Configured extra headers (organisation, project…), sent on every request.
    headers: http::HeaderMap,
}

/// OpenAI's file object (the members the gateway uses).
#[derive(Debug, Deserialize)]
struct FileObject {
    id: String,
    bytes: u64,
    created_at: u64,
    filename: String,
}

impl From<FileObject> for RemoteFile {
    fn from(f: FileObject) -> Self {
        Self {
            id: f.id,
            bytes: f.bytes,
            created_at: f.created_at,
            filename: f.filename,
            content_type: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Deleted {
    deleted: bool,
}

impl OpenAiFiles {
    pub fn new(transport: Arc<Transport>, base_url: &BaseUrl, headers: http::HeaderMap) -> Self {
        Self {
            transport,
            base: trimmed(base_url),
            headers,
        }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        key: Option<&ApiKey>,
        method: http::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut builder = client.request(method, url).headers(self.headers.clone());
        if let Some(key) = key {
            builder = builder.header(
                http::header::AUTHORIZATION,
                key_header(&self.transport, key, true)?,
            );
        }
        Ok(builder)
    }

    fn file_url(&self, id: &str) -> String {
        format!("{}/files/{}", self.base, segment(id))
    }

    /// `POST /files` (multipart: `purpose`, then `file` streamed from `path` with its length
    /// declared, so the whole request has a `Content-Length`).
    pub async fn upload(
        &self,
        path: &Path,
        len: u64,
        filename: &str,
        content_type: &str,
    ) -> Result<RemoteFile, RemoteError> {
        check_local(path, len).await?;
        let url = format!("{}/files", self.base);
        let content_type = media_type(content_type);
        let response = self
            .transport
            .send(|client, key| {
                let part = reqwest::multipart::Part::stream_with_length(
                    file_body(&self.transport, path, len)?,
                    len,
                )
                .file_name(filename.to_owned())
                .mime_str(content_type)
                .map_err(|e| ProviderError::new(ErrorKind::InternalServer, e.to_string()))?;
                let form = reqwest::multipart::Form::new()
                    .text("purpose", PURPOSE)
                    .part("file", part);
                Ok(self
                    .request(client, key, http::Method::POST, &url)?
                    .multipart(form))
            })
            .await?;
        let file: FileObject = json(&self.transport, response, None).await?;
        Ok(file.into())
    }

    /// `GET /files/{id}`.
    pub async fn get(&self, id: &str) -> Result<RemoteFile, RemoteError> {
        let url = self.file_url(id);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        let file: FileObject = json(&self.transport, response, Some(id)).await?;
        Ok(file.into())
    }

    /// `GET /files/{id}/content`, streamed.
    pub async fn download(&self, id: &str) -> Result<RemoteBody, RemoteError> {
        let url = format!("{}/content", self.file_url(id));
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        let response = success(&self.transport, response, Some(id)).await?;
        Ok(RemoteBody::new(&self.transport, response))
    }

    /// `DELETE /files/{id}`.
    pub async fn delete(&self, id: &str) -> Result<(), RemoteError> {
        let url = self.file_url(id);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::DELETE, &url))
            .await?;
        let answer: Deleted = json(&self.transport, response, Some(id)).await?;
        if answer.deleted {
            Ok(())
        } else {
            Err(RemoteError::Malformed(format!(
                "it answered `deleted: false` for file {id:?}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt as _;
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::testing::{self, KEY};
    use super::*;

    /// The headers OpenAI requests are judged by.
    const HEADERS: &[&str] = &[
        "authorization",
        "openai-organization",
        "content-type",
        "content-length",
    ];

    fn store(server: &MockServer, max_retries: u32) -> OpenAiFiles {
        let mut headers = http::HeaderMap::new();
        headers.insert("openai-organization", "org-test".parse().unwrap());
        OpenAiFiles::new(
            testing::transport("files-test", max_retries),
            &testing::base_url(&format!("{}/v1/", server.uri())),
            headers,
        )
    }

    fn file_object(id: &str, bytes: u64) -> serde_json::Value {
        json!({
            "id": id,
            "object": "file",
            "bytes": bytes,
            "created_at": 1_715_000_000,
            "filename": "batch input.jsonl",
            "purpose": "batch",
            "status": "processed",
            "expires_at": null
        })
    }

    async fn only_request(server: &MockServer) -> wiremock::Request {
        let mut requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        requests.remove(0)
    }

    #[tokio::test]
    async fn upload_posts_a_multipart_form_and_reads_the_file_object() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/files"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-abc123", 38)))
            .mount(&server)
            .await;
        let local = testing::small_file(b"{\"custom_id\":\"r1\"}\n{\"custom_id\":\"r2\"}\n");
        let file = store(&server, 0)
            .upload(local.path(), 38, "batch input.jsonl", "application/jsonl")
            .await
            .unwrap();
        assert_eq!(
            file,
            RemoteFile {
                id: "file-abc123".to_owned(),
                bytes: 38,
                created_at: 1_715_000_000,
                filename: "batch input.jsonl".to_owned(),
                content_type: None,
            }
        );
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("openai_upload_request", testing::view(&request, HEADERS));
    }

    #[tokio::test]
    async fn upload_declares_octet_stream_for_what_is_no_media_type_and_sends_only_len_bytes() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-x", 5)))
            .mount(&server)
            .await;
        let local = testing::small_file(b"hello, and more than was asked for");
        store(&server, 0)
            .upload(local.path(), 5, "a\"b.jsonl", "")
            .await
            .unwrap();
        let request = only_request(&server).await;
        let ct = request.headers["content-type"].to_str().unwrap();
        let boundary = ct.split("boundary=").nth(1).unwrap();
        let parts = testing::part_bodies(&request.body, boundary);
        assert_eq!(
            parts[1].0,
            [
                "Content-Disposition: form-data; name=\"file\"; filename=\"a\\\"b.jsonl\"",
                "Content-Type: application/octet-stream"
            ]
        );
        assert_eq!(parts[1].1, b"hello");
    }

    #[tokio::test]
    async fn a_large_upload_arrives_intact_with_its_length_declared() {
        const LEN: usize = 20 * 1024 * 1024;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/files"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-big", 0)))
            .mount(&server)
            .await;
        let (local, digest) = testing::large_file(LEN);
        store(&server, 0)
            .upload(local.path(), LEN as u64, "big.jsonl", "application/jsonl")
            .await
            .unwrap();
        let request = only_request(&server).await;
        let declared: usize = request.headers["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(declared, request.body.len());
        let ct = request.headers["content-type"].to_str().unwrap();
        let boundary = ct.split("boundary=").nth(1).unwrap();
        let parts = testing::part_bodies(&request.body, boundary);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].1.len(), LEN);
        assert_eq!(testing::sha256(parts[1].1), digest);
    }

    #[tokio::test]
    async fn a_retried_upload_sends_the_whole_file_again() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-r", 6)))
            .mount(&server)
            .await;
        let local = testing::small_file(b"abcdef");
        let file = store(&server, 2)
            .upload(local.path(), 6, "r.jsonl", "application/jsonl")
            .await
            .unwrap();
        assert_eq!(file.id, "file-r");
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2);
        for request in requests {
            assert_eq!(
                testing::view(&request, &[])["body"]["multipart"][1]["content"],
                "abcdef"
            );
        }
    }

    #[tokio::test]
    async fn upload_of_a_missing_local_file_fails_before_calling_out() {
        let server = MockServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let err = store(&server, 0)
            .upload(&dir.path().join("gone"), 1, "x", "x/y")
            .await
            .unwrap_err();
        assert!(matches!(err, RemoteError::Local(_)), "{err:?}");
        let short = testing::small_file(b"ab");
        let err = store(&server, 0)
            .upload(short.path(), 3, "x", "x/y")
            .await
            .unwrap_err();
        assert!(matches!(err, RemoteError::Local(_)), "{err:?}");
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn get_reads_the_file_object() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/files/file-abc123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-abc123", 34)))
            .mount(&server)
            .await;
        let file = store(&server, 0).get("file-abc123").await.unwrap();
        assert_eq!(file.id, "file-abc123");
        assert_eq!(file.bytes, 34);
        assert_eq!(file.created_at, 1_715_000_000);
        assert_eq!(file.filename, "batch input.jsonl");
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("openai_get_request", testing::view(&request, HEADERS));
    }

    #[tokio::test]
    async fn ids_are_path_segment_encoded() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let _ = store(&server, 0).get("../models?x=1").await;
        let request = only_request(&server).await;
        assert_eq!(request.url.path(), "/v1/files/..%2Fmodels%3Fx%3D1");
        assert_eq!(request.url.query(), None);
    }

    #[tokio::test]
    async fn download_streams_the_content() {
        let server = MockServer::start().await;
        let content = "{\"id\":\"batch_req_1\"}\n".repeat(1000);
        Mock::given(method("GET"))
            .and(path("/v1/files/file-out/content"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(content.clone().into_bytes(), "application/octet-stream"),
            )
            .mount(&server)
            .await;
        let body = store(&server, 0).download("file-out").await.unwrap();
        assert_eq!(body.content_length(), Some(content.len() as u64));
        let chunks: Vec<bytes::Bytes> = body.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), content.as_bytes());
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("openai_download_request", testing::view(&request, HEADERS));
    }

    #[tokio::test]
    async fn delete_deletes() {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/v1/files/file-abc123"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": "file-abc123", "object": "file", "deleted": true})),
            )
            .mount(&server)
            .await;
        store(&server, 0).delete("file-abc123").await.unwrap();
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("openai_delete_request", testing::view(&request, HEADERS));
    }

    #[tokio::test]
    async fn a_delete_the_provider_refused_is_an_error() {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": "file-1", "object": "file", "deleted": false})),
            )
            .mount(&server)
            .await;
        let err = store(&server, 0).delete("file-1").await.unwrap_err();
        assert!(matches!(err, RemoteError::Malformed(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found_for_every_call_naming_one() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
                "message": "No such File object: file-nope", "type": "invalid_request_error",
                "param": "id", "code": null}})))
            .mount(&server)
            .await;
        let store = store(&server, 2);
        let not_found =
            |err: RemoteError| matches!(err, RemoteError::NotFound { id } if id == "file-nope");
        assert!(not_found(store.get("file-nope").await.unwrap_err()));
        assert!(not_found(store.download("file-nope").await.unwrap_err()));
        assert!(not_found(store.delete("file-nope").await.unwrap_err()));
        // A 404 is final: no retries.
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn throttling_is_retried_then_reported_with_the_message() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).set_body_json(
                json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
            ))
            .mount(&server)
            .await;
        let err = store(&server, 2).get("file-1").await.unwrap_err();
        match &err {
            RemoteError::Status { status, message } => {
                assert_eq!((*status, message.as_str()), (429, "Rate limit reached"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.s3_failure().code, "SlowDown");
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn throttling_then_success_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-1", 1)))
            .mount(&server)
            .await;
        assert_eq!(store(&server, 2).get("file-1").await.unwrap().id, "file-1");
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn server_errors_keep_status_and_message() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_json(
                json!({"error": {"message": "The server had an error", "type": "server_error"}}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
            ))
            .mount(&server)
            .await;
        let store = store(&server, 0);
        let local = testing::small_file(b"x");
        let err = store
            .upload(local.path(), 1, "x.jsonl", "application/jsonl")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RemoteError::Status { status: 500, message } if message == "The server had an error"),
            "{err:?}"
        );
        assert_eq!(err.s3_failure().code, "InternalError");
        let err = store.get("file-1").await.unwrap_err();
        assert!(
            matches!(&err, RemoteError::Status { status: 401, message } if message == "Incorrect API key provided"),
            "{err:?}"
        );
        assert_eq!(err.s3_failure().code, "AccessDenied");
    }

    #[tokio::test]
    async fn an_unreadable_answer_is_malformed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy</html>"))
            .mount(&server)
            .await;
        let err = store(&server, 0).get("file-1").await.unwrap_err();
        assert!(matches!(err, RemoteError::Malformed(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_transport_error() {
        let store = OpenAiFiles::new(
            testing::transport("files-test", 1),
            &testing::base_url(&format!("{}/v1", testing::dead_url())),
            http::HeaderMap::new(),
        );
        let err = store.get("file-1").await.unwrap_err();
        assert!(matches!(err, RemoteError::Transport(_)), "{err:?}");
        assert_eq!(err.s3_failure().code, "ServiceUnavailable");
        // The key never shows in what is logged or answered.
        assert!(!format!("{err:?} {err}").contains(KEY));
    }
}
