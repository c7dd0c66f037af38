//! The Gemini Files API as a store for the `gemini` provider's objects.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    RemoteBody, RemoteError, RemoteFile, check_local, file_body, json, key_header, media_type,
    segment, success, trimmed,
};
use crate::config::{ApiKey, BaseUrl};
use crate::providers::ProviderError;
use crate::providers::transport::Transport;

/// Where Google's API takes the key.
const KEY_HEADER: &str = "x-goog-api-key";
/// The start answer's header naming the session to send the bytes to.
const UPLOAD_URL: &str = "x-goog-upload-url";

/// The Files API of the Generative Language API.
#[derive(Debug)]
pub struct GeminiFiles {
    transport: Arc<Transport>,
    /// Without the version (`https://generativelanguage.googleapis.com`) or a trailing slash.
    base: String,
    /// The base's scheme, host and port: the key goes to an upload URL only on that origin.
    origin: (String, String, Option<u16>),
}

/// Google's `File` resource (the members the gateway uses).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    name: String,
    display_name: Option<String>,
    mime_type: Option<String>,
    /// An int64, so a string in JSON; left out when 0.
    size_bytes: Option<Value>,
    create_time: Option<String>,
}

/// The upload's answer.
#[derive(Debug, Deserialize)]
struct Uploaded {
    file: File,
}

impl TryFrom<File> for RemoteFile {
    type Error = RemoteError;

    fn try_from(f: File) -> Result<Self, RemoteError> {
        let bytes = match &f.size_bytes {
            None => Some(0),
            Some(Value::String(s)) => s.parse().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            Some(_) => None,
        }
        .ok_or_else(|| RemoteError::Malformed(format!("sizeBytes {:?}", f.size_bytes)))?;
        let created_at = f
            .create_time
            .as_deref()
            .and_then(unix_seconds)
            .ok_or_else(|| RemoteError::Malformed(format!("createTime {:?}", f.create_time)))?;
        Ok(Self {
            filename: f.display_name.unwrap_or_else(|| f.name.clone()),
            id: f.name,
            bytes,
            created_at,
            content_type: f.mime_type,
        })
    }
}

/// A URL's scheme, host and port (the scheme's default made explicit).
fn origin_of(scheme: &str, host: &str, port: Option<u16>) -> (String, String, Option<u16>) {
    let port = port.or(match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    });
    (scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port)
}

impl GeminiFiles {
    pub fn new(transport: Arc<Transport>, base_url: &BaseUrl) -> Self {
        let uri = base_url.as_uri();
        Self {
            transport,
            base: trimmed(base_url),
            origin: origin_of(
                uri.scheme_str().unwrap_or_default(),
                uri.host().unwrap_or_default(),
                uri.port_u16(),
            ),
        }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        key: Option<&ApiKey>,
        method: http::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut builder = client.request(method, url);
        if let Some(key) = key {
            builder = builder.header(KEY_HEADER, key_header(&self.transport, key, false)?);
        }
        Ok(builder)
    }

    /// `{base}/v1beta/files/{id}`; the id may come with its `files/` prefix or without.
    fn file_url(&self, id: &str) -> String {
        let bare = id.strip_prefix("files/").unwrap_or(id);
        format!("{}/v1beta/files/{}", self.base, segment(bare))
    }

    /// The resumable protocol in two requests: `start` declares the size, type and display
    /// name and gets a session URL; `upload, finalize` sends the bytes, streamed, at offset 0.
    pub async fn upload(
        &self,
        path: &Path,
        len: u64,
        filename: &str,
        content_type: &str,
    ) -> Result<RemoteFile, RemoteError> {
        check_local(path, len).await?;
        let content_type = media_type(content_type);
        let start_url = format!("{}/upload/v1beta/files", self.base);
        let metadata = bytes::Bytes::from(
            serde_json::to_vec(&json!({ "file": { "display_name": filename } }))
                .map_err(|e| RemoteError::Malformed(e.to_string()))?,
        );
        // The session belongs to the key that started it; the bytes go with the same key.
        let started_with: Mutex<Option<ApiKey>> = Mutex::new(None);
        let response = self
            .transport
            .send(|client, key| {
                *started_with.lock().unwrap_or_else(|p| p.into_inner()) = key.cloned();
                Ok(self
                    .request(client, key, http::Method::POST, &start_url)?
                    .header("x-goog-upload-protocol", "resumable")
                    .header("x-goog-upload-command", "start")
                    .header("x-goog-upload-header-content-length", len)
                    .header("x-goog-upload-header-content-type", content_type)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(metadata.clone()))
            })
            .await?;
        let response = success(&self.transport, response, None).await?;
        let session = response
            .headers()
            .get(UPLOAD_URL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| reqwest::Url::parse(v).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                RemoteError::Malformed(format!("the upload start answered no usable {UPLOAD_URL}"))
            })?;
        // A session on another host still works (its URL authorizes it); the key stays home.
        let same_origin = origin_of(
            session.scheme(),
            session.host_str().unwrap_or_default(),
            session.port_or_known_default(),
        ) == self.origin;
        let key = if same_origin {
            started_with.into_inner().unwrap_or_else(|p| p.into_inner())
        } else {
            None
        };
        let response = self
            .transport
            .send(|client, _| {
                Ok(self
                    .request(client, key.as_ref(), http::Method::POST, session.as_str())?
                    .header("x-goog-upload-command", "upload, finalize")
                    .header("x-goog-upload-offset", 0)
                    .header(http::header::CONTENT_LENGTH, len)
                    .body(file_body(&self.transport, path, len)?))
            })
            .await?;
        let uploaded: Uploaded = json(&self.transport, response, None).await?;
        uploaded.file.try_into()
    }

    /// `GET /v1beta/files/{id}`.
    pub async fn get(&self, id: &str) -> Result<RemoteFile, RemoteError> {
        let url = self.file_url(id);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        let file: File = json(&self.transport, response, Some(id)).await?;
        file.try_into()
    }

    /// `GET /v1beta/files/{id}:download?alt=media`, streamed.
    pub async fn download(&self, id: &str) -> Result<RemoteBody, RemoteError> {
        let url = format!("{}:download?alt=media", self.file_url(id));
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        let response = success(&self.transport, response, Some(id)).await?;
        Ok(RemoteBody::new(&self.transport, response))
    }

    /// `DELETE /v1beta/files/{id}` (answered with `{}`).
    pub async fn delete(&self, id: &str) -> Result<(), RemoteError> {
        let url = self.file_url(id);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::DELETE, &url))
            .await?;
        success(&self.transport, response, Some(id)).await?;
        Ok(())
    }
}

/// An RFC 3339 timestamp (`2024-05-06T07:08:09.123456Z`, `…+02:00`) as Unix seconds, the
/// fraction dropped; `None` when it is not one or is before 1970.
fn unix_seconds(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // A leap second (:60) is allowed by RFC 3339 and counts as the next second.
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let digits = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &after_dot[digits..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    let days = days_from_epoch(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date: whole years counted by their leap days,
/// then the months of the year.
fn days_from_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Leap days in years [1, y]: every 4th, minus centuries, plus every 400th.
    let leap_days_through = |y: i64| y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400);
    let years_days = (year - 1970) * 365 + leap_days_through(year - 1) - leap_days_through(1969);
    let months_days: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    years_days + months_days + day - 1
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt as _;
    use proptest::prelude::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::testing;
    use super::*;

    /// The headers Gemini requests are judged by.
    const HEADERS: &[&str] = &[
        "x-goog-api-key",
        "x-goog-upload-protocol",
        "x-goog-upload-command",
        "x-goog-upload-header-content-length",
        "x-goog-upload-header-content-type",
        "x-goog-upload-offset",
        "content-type",
        "content-length",
        "authorization",
    ];

    fn store_at(uri: &str, max_retries: u32) -> GeminiFiles {
        GeminiFiles::new(
            testing::transport("files-test", max_retries),
            &testing::base_url(uri),
        )
    }

    fn store(server: &MockServer, max_retries: u32) -> GeminiFiles {
        store_at(&server.uri(), max_retries)
    }

    fn file(name: &str, size: &str) -> Value {
        json!({
            "name": name,
            "displayName": "batch input.jsonl",
            "mimeType": "application/jsonl",
            "sizeBytes": size,
            "createTime": "2025-01-02T03:04:05.678901Z",
            "updateTime": "2025-01-02T03:04:05.678901Z",
            "expirationTime": "2025-01-04T03:04:05.678901Z",
            "sha256Hash": "ZmFrZQ==",
            "uri": format!("https://generativelanguage.googleapis.com/v1beta/{name}"),
            "state": "ACTIVE",
            "source": "UPLOADED"
        })
    }

    /// The start answer pointing at a session on `server`, and the upload answer.
    async fn mount_upload(server: &MockServer, size: &str) {
        Mock::given(method("POST"))
            .and(path("/upload/v1beta/files"))
            .and(header("x-goog-upload-command", "start"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header(
                        "x-goog-upload-url",
                        format!(
                            "{}/upload/v1beta/files?upload_id=UP-1&upload_protocol=resumable",
                            server.uri()
                        )
                        .as_str(),
                    )
                    .insert_header("x-goog-upload-status", "active"),
            )
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path("/upload/v1beta/files"))
            // wiremock's header matcher splits values at commas, so the command is not matched
            // here; the snapshot shows it.
            .and(query_param("upload_id", "UP-1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-goog-upload-status", "final")
                    .set_body_json(json!({ "file": file("files/abc123", size) })),
            )
            .mount(server)
            .await;
    }

    async fn only_request(server: &MockServer) -> wiremock::Request {
        let mut requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        requests.remove(0)
    }

    #[tokio::test]
    async fn upload_starts_a_resumable_session_and_sends_the_bytes() {
        let server = MockServer::start().await;
        mount_upload(&server, "34").await;
        let local = testing::small_file(b"{\"key\":\"r1\"}\n{\"key\":\"r2\"}\n{\"k\":3}\n");
        let uploaded = store(&server, 0)
            .upload(local.path(), 34, "batch input.jsonl", "application/jsonl")
            .await
            .unwrap();
        assert_eq!(
            uploaded,
            RemoteFile {
                id: "files/abc123".to_owned(),
                bytes: 34,
                created_at: 1_735_787_045,
                filename: "batch input.jsonl".to_owned(),
                content_type: Some("application/jsonl".to_owned()),
            }
        );
        let requests = server.received_requests().await.unwrap();
        let views: Vec<Value> = requests.iter().map(|r| testing::view(r, HEADERS)).collect();
        insta::assert_json_snapshot!("gemini_upload_requests", views);
    }

    #[tokio::test]
    async fn a_large_upload_arrives_intact() {
        const LEN: usize = 20 * 1024 * 1024;
        let server = MockServer::start().await;
        mount_upload(&server, &LEN.to_string()).await;
        let (local, digest) = testing::large_file(LEN);
        let uploaded = store(&server, 0)
            .upload(local.path(), LEN as u64, "big.jsonl", "application/jsonl")
            .await
            .unwrap();
        assert_eq!(uploaded.bytes, LEN as u64);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2);
        let bytes = &requests[1];
        assert_eq!(bytes.headers["content-length"], LEN.to_string().as_str());
        assert_eq!(bytes.body.len(), LEN);
        assert_eq!(testing::sha256(&bytes.body), digest);
    }

    #[tokio::test]
    async fn a_retried_upload_sends_the_whole_file_again() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(query_param("upload_id", "UP-1"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        mount_upload(&server, "6").await;
        let local = testing::small_file(b"abcdef");
        store(&server, 2)
            .upload(local.path(), 6, "r.jsonl", "application/jsonl")
            .await
            .unwrap();
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[1].body, b"abcdef");
        assert_eq!(requests[2].body, b"abcdef");
    }

    #[tokio::test]
    async fn the_key_does_not_follow_a_session_on_another_host() {
        let api = MockServer::start().await;
        let sessions = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).insert_header(
                "x-goog-upload-url",
                format!("{}/upload/v1beta/files?upload_id=UP-2", sessions.uri()).as_str(),
            ))
            .mount(&api)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "file": file("files/x", "1") })),
            )
            .mount(&sessions)
            .await;
        let local = testing::small_file(b"x");
        store(&api, 0)
            .upload(local.path(), 1, "x", "text/plain")
            .await
            .unwrap();
        let start = only_request(&api).await;
        assert_eq!(start.headers[KEY_HEADER], testing::KEY);
        let bytes = only_request(&sessions).await;
        assert!(bytes.headers.get(KEY_HEADER).is_none());
        assert_eq!(bytes.body, b"x");
    }

    #[tokio::test]
    async fn a_start_without_a_session_url_is_malformed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let local = testing::small_file(b"x");
        let err = store(&server, 0)
            .upload(local.path(), 1, "x", "text/plain")
            .await
            .unwrap_err();
        assert!(matches!(err, RemoteError::Malformed(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_refused_start_keeps_the_message() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": 400, "message": "Unsupported MIME type: x/y", "status": "INVALID_ARGUMENT"}})))
            .mount(&server)
            .await;
        let local = testing::small_file(b"x");
        let err = store(&server, 0)
            .upload(local.path(), 1, "x", "x/y")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RemoteError::Status { status: 400, message } if message == "Unsupported MIME type: x/y"),
            "{err:?}"
        );
        assert_eq!(err.s3_failure().code, "InvalidRequest");
    }

    #[tokio::test]
    async fn get_reads_the_file_resource() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1beta/files/abc123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(file("files/abc123", "34")))
            .mount(&server)
            .await;
        let store = store(&server, 0);
        let got = store.get("files/abc123").await.unwrap();
        assert_eq!(got.id, "files/abc123");
        assert_eq!(got.bytes, 34);
        assert_eq!(got.created_at, 1_735_787_045);
        assert_eq!(got.filename, "batch input.jsonl");
        assert_eq!(got.content_type.as_deref(), Some("application/jsonl"));
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("gemini_get_request", testing::view(&request, HEADERS));
        // The bare id names the same file.
        assert_eq!(store.get("abc123").await.unwrap().id, "files/abc123");
    }

    #[tokio::test]
    async fn an_empty_file_has_no_size_and_that_is_zero() {
        let server = MockServer::start().await;
        let mut empty = file("files/e", "0");
        empty.as_object_mut().unwrap().remove("sizeBytes");
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(empty))
            .mount(&server)
            .await;
        assert_eq!(store(&server, 0).get("files/e").await.unwrap().bytes, 0);
    }

    #[tokio::test]
    async fn ids_are_path_segment_encoded() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let _ = store(&server, 0).get("files/../../v1beta/models:x?y").await;
        let request = only_request(&server).await;
        assert_eq!(
            request.url.path(),
            "/v1beta/files/..%2F..%2Fv1beta%2Fmodels%3Ax%3Fy"
        );
        assert_eq!(request.url.query(), None);
    }

    #[tokio::test]
    async fn download_streams_the_content() {
        let server = MockServer::start().await;
        let content = "{\"key\":\"r1\",\"response\":{}}\n".repeat(1000);
        Mock::given(method("GET"))
            .and(path("/v1beta/files/out-1:download"))
            .and(query_param("alt", "media"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(content.clone().into_bytes(), "application/octet-stream"),
            )
            .mount(&server)
            .await;
        let body = store(&server, 0).download("files/out-1").await.unwrap();
        assert_eq!(body.content_length(), Some(content.len() as u64));
        let chunks: Vec<bytes::Bytes> = body.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), content.as_bytes());
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("gemini_download_request", testing::view(&request, HEADERS));
    }

    #[tokio::test]
    async fn delete_deletes() {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/v1beta/files/abc123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .mount(&server)
            .await;
        store(&server, 0).delete("files/abc123").await.unwrap();
        let request = only_request(&server).await;
        insta::assert_json_snapshot!("gemini_delete_request", testing::view(&request, HEADERS));
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found_for_every_call_naming_one() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
                "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})))
            .mount(&server)
            .await;
        let store = store(&server, 2);
        let not_found =
            |err: RemoteError| matches!(err, RemoteError::NotFound { id } if id == "files/nope");
        assert!(not_found(store.get("files/nope").await.unwrap_err()));
        assert!(not_found(store.download("files/nope").await.unwrap_err()));
        assert!(not_found(store.delete("files/nope").await.unwrap_err()));
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn throttling_is_retried_then_reported_and_server_errors_keep_their_message() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {
                "code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}})))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
                "code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}})))
            .mount(&server)
            .await;
        let store = store(&server, 2);
        let err = store.get("files/a").await.unwrap_err();
        assert!(
            matches!(&err, RemoteError::Status { status: 429, message } if message == "Resource has been exhausted"),
            "{err:?}"
        );
        assert_eq!(err.s3_failure().code, "SlowDown");
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
        let err = store.delete("files/a").await.unwrap_err();
        assert!(
            matches!(&err, RemoteError::Status { status: 500, message } if message == "Internal error encountered."),
            "{err:?}"
        );
        // 500s are retried too.
        assert_eq!(server.received_requests().await.unwrap().len(), 6);
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_transport_error() {
        let err = store_at(&testing::dead_url(), 1)
            .get("files/a")
            .await
            .unwrap_err();
        assert!(matches!(err, RemoteError::Transport(_)), "{err:?}");
        assert_eq!(err.s3_failure().code, "ServiceUnavailable");
    }

    #[test]
    fn rfc3339_timestamps() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2000-03-01T00:00:00Z", Some(951_868_800)),
            ("2024-02-29T23:59:59Z", Some(1_709_251_199)),
            ("2025-01-02T03:04:05.678901Z", Some(1_735_787_045)),
            ("2025-01-02t03:04:05z", Some(1_735_787_045)),
            ("2025-01-02T05:04:05+02:00", Some(1_735_787_045)),
            ("2025-01-01T23:34:05.1-03:30", Some(1_735_787_045)),
            ("2016-12-31T23:59:60Z", Some(1_483_228_800)),
            ("1969-12-31T23:59:59Z", None),
            ("1970-01-01T00:30:00+01:00", None),
            ("2023-02-29T00:00:00Z", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-04-31T00:00:00Z", None),
            ("2024-01-01T24:00:00Z", None),
            ("2024-01-01T00:00:00", None),
            ("2024-01-01T00:00:00.Z", None),
            ("2024-01-01T00:00:00+0100", None),
            ("2024-01-01", None),
            ("+2024-01-01T00:00:00Z", None),
            ("", None),
        ];
        for (s, expected) in cases {
            assert_eq!(unix_seconds(s), expected, "{s}");
        }
    }

    /// Days counted one by one from 1970.
    fn naive_days(year: i64, month: i64, day: i64) -> i64 {
        let years: i64 = (1970..year)
            .map(|y| if is_leap(y) { 366 } else { 365 })
            .sum();
        let months: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
        years + months + day - 1
    }

    proptest! {
        #[test]
        fn timestamps_count_every_day(
            year in 1970i64..=2400, month in 1i64..=12, day in 1i64..=31,
            hour in 0i64..24, minute in 0i64..60, second in 0i64..60,
        ) {
            let s = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
            let expected = (day <= days_in_month(year, month)).then(|| {
                (naive_days(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) as u64
            });
            prop_assert_eq!(unix_seconds(&s), expected);
        }
    }
}
