//! Provider file stores (OpenAI Files, Gemini Files) that hold the bodies of their buckets' objects.

pub mod gemini;
pub mod openai;

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;

pub use self::gemini::GeminiFiles;
pub use self::openai::OpenAiFiles;
use crate::config::{ApiKey, BaseUrl, ProviderConfig};
use crate::providers::transport::{BodyStream, Transport, TransportBuildError};
use crate::providers::{ErrorKind, ProviderError, ProviderId};

/// The most a metadata answer (file object, error) may hold; these are a few hundred bytes.
const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Local file reads while uploading are this large: few syscalls, flat memory.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// The characters an id keeps unescaped in its path segment (RFC 3986 unreserved), so an id
/// holding `/`, `?` or `:` cannot reach another resource or method.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A file as its provider holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// The provider's id: `file-…` (OpenAI), `files/…` (Gemini).
    pub id: String,
    pub bytes: u64,
    /// Unix seconds.
    pub created_at: u64,
    pub filename: String,
    /// What the provider recorded; OpenAI records none.
    pub content_type: Option<String>,
}

/// A provider file call that failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The provider has no file with this id (HTTP 404 to a call naming one).
    #[error("the provider has no file {id:?}")]
    NotFound { id: String },
    /// Any other non-2xx answer, with the provider's own message.
    #[error("{message} (the provider answered HTTP {status})")]
    Status { status: u16, message: String },
    /// The provider could not be reached, timed out, or the request could not be built.
    #[error(transparent)]
    Transport(#[from] ProviderError),
    /// A 2xx answer that is not what the API documents.
    #[error("the provider's answer could not be read: {0}")]
    Malformed(String),
    /// The local file to upload could not be read.
    #[error("reading the object to upload: {0}")]
    Local(#[from] std::io::Error),
}

/// How the S3 edge reports a [`RemoteError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Failure {
    /// The S3 error code (`<Code>`).
    pub code: &'static str,
    pub status: http::StatusCode,
}

impl S3Failure {
    fn new(code: &'static str, status: u16) -> Self {
        let status =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        Self { code, status }
    }
}

impl RemoteError {
    /// The S3 error code and status this failure is answered with.
    pub fn s3_failure(&self) -> S3Failure {
        match self {
            Self::NotFound { .. } => S3Failure::new("NoSuchKey", 404),
            Self::Status { status, .. } => match status {
                // Only an upload can get a bare 404 (the others name an id): the provider has no
                // files endpoint, which is nothing the client can fix either way.
                404 => S3Failure::new("NoSuchKey", 404),
                401 | 403 => S3Failure::new("AccessDenied", 403),
                413 => S3Failure::new("EntityTooLarge", 400),
                429 => S3Failure::new("SlowDown", 503),
                500 => S3Failure::new("InternalError", 500),
                408 | 501..=599 => S3Failure::new("ServiceUnavailable", 503),
                _ => S3Failure::new("InvalidRequest", 400),
            },
            Self::Transport(err) => match err.kind {
                // The request could not be built here (a key that is no header value, a file
                // gone between attempts): the gateway's fault, not the provider's.
                ErrorKind::InternalServer => S3Failure::new("InternalError", 500),
                _ => S3Failure::new("ServiceUnavailable", 503),
            },
            Self::Malformed(_) | Self::Local(_) => S3Failure::new("InternalError", 500),
        }
    }
}

/// A provider's file API.
#[derive(Debug)]
pub enum RemoteStore {
    OpenAi(OpenAiFiles),
    Gemini(GeminiFiles),
}

impl RemoteStore {
    /// The file store of a configured provider, with its own transport (same keys, timeouts and
    /// retries as the provider's model calls); `None` for providers without a files API.
    pub fn from_config(
        id: &ProviderId,
        config: &ProviderConfig,
    ) -> Result<Option<Self>, TransportBuildError> {
        Ok(match config {
            ProviderConfig::OpenAi(c) => {
                let transport = Transport::new(id.clone(), c.remote.upstream, c.api_keys.clone())?;
                Some(Self::OpenAi(OpenAiFiles::new(
                    Arc::new(transport),
                    &c.base_url,
                    c.headers.clone(),
                )))
            }
            ProviderConfig::Gemini(c) => {
                let transport = Transport::new(id.clone(), c.remote.upstream, c.api_keys.clone())?;
                Some(Self::Gemini(GeminiFiles::new(
                    Arc::new(transport),
                    &c.base_url,
                )))
            }
            ProviderConfig::Mock(_) | ProviderConfig::Anthropic(_) | ProviderConfig::Bedrock(_) => {
                None
            }
        })
    }

    /// Uploads the first `len` bytes of the file at `path`, streamed.
    pub async fn upload(
        &self,
        path: &Path,
        len: u64,
        filename: &str,
        content_type: &str,
    ) -> Result<RemoteFile, RemoteError> {
        match self {
            Self::OpenAi(s) => s.upload(path, len, filename, content_type).await,
            Self::Gemini(s) => s.upload(path, len, filename, content_type).await,
        }
    }

    pub async fn get(&self, id: &str) -> Result<RemoteFile, RemoteError> {
        match self {
            Self::OpenAi(s) => s.get(id).await,
            Self::Gemini(s) => s.get(id).await,
        }
    }

    /// The file's content, chunk by chunk as it arrives.
    pub async fn download(&self, id: &str) -> Result<RemoteBody, RemoteError> {
        match self {
            Self::OpenAi(s) => s.download(id).await,
            Self::Gemini(s) => s.download(id).await,
        }
    }

    pub async fn delete(&self, id: &str) -> Result<(), RemoteError> {
        match self {
            Self::OpenAi(s) => s.delete(id).await,
            Self::Gemini(s) => s.delete(id).await,
        }
    }
}

/// A downloaded file's content as it arrives, failing if the provider goes quiet for longer than
/// the idle timeout.
pub struct RemoteBody {
    inner: BodyStream,
    len: Option<u64>,
}

impl RemoteBody {
    fn new(transport: &Transport, response: reqwest::Response) -> Self {
        let len = response.content_length();
        Self {
            inner: transport.body(response),
            len,
        }
    }

    /// The length the provider announced (`Content-Length`), when it did.
    pub fn content_length(&self) -> Option<u64> {
        self.len
    }
}

impl std::fmt::Debug for RemoteBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBody")
            .field("len", &self.len)
            .finish()
    }
}

impl Stream for RemoteBody {
    type Item = Result<Bytes, RemoteError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|item| item.map(|chunk| chunk.map_err(RemoteError::Transport)))
    }
}

/// A base URL without its trailing slash; paths appended start with one.
fn trimmed(base_url: &BaseUrl) -> String {
    base_url.to_string().trim_end_matches('/').to_owned()
}

/// `id` as one path segment.
fn segment(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// A key as a header value (`Bearer …` when `bearer`), marked sensitive so it is never logged.
fn key_header(
    transport: &Transport,
    key: &ApiKey,
    bearer: bool,
) -> Result<http::HeaderValue, ProviderError> {
    let value = if bearer {
        http::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
    } else {
        http::HeaderValue::from_str(key.expose())
    };
    let mut value = value.map_err(|_| {
        ProviderError::new(
            ErrorKind::InternalServer,
            format!(
                "an API key of provider '{}' is not a valid header value",
                transport.provider()
            ),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The media type to declare for an upload: the client's when it is one, else
/// `application/octet-stream` (S3 takes any string; the providers want a `type/subtype`).
fn media_type(content_type: &str) -> &str {
    let content_type = content_type.trim();
    // reqwest's parser is the one the multipart part uses; a bad type fails there, not upstream.
    if reqwest::multipart::Part::bytes(&[][..])
        .mime_str(content_type)
        .is_ok()
    {
        content_type
    } else {
        "application/octet-stream"
    }
}

/// Fails early, with the reason, when the file to upload is missing or shorter than `len`.
async fn check_local(path: &Path, len: u64) -> Result<(), RemoteError> {
    let found = tokio::fs::metadata(path).await?.len();
    if found < len {
        return Err(RemoteError::Local(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{} holds {found} bytes, {len} expected", path.display()),
        )));
    }
    Ok(())
}

/// The first `len` bytes of the file at `path` as a streamed body, opened afresh for each
/// attempt (a retry must send the file from its start; the open is a quick syscall).
fn file_body(transport: &Transport, path: &Path, len: u64) -> Result<reqwest::Body, ProviderError> {
    use tokio::io::AsyncReadExt as _;
    let file = std::fs::File::open(path).map_err(|e| {
        ProviderError::new(
            ErrorKind::InternalServer,
            format!(
                "reopening {} to upload to provider '{}': {e}",
                path.display(),
                transport.provider()
            ),
        )
    })?;
    let reader = tokio::fs::File::from_std(file).take(len);
    Ok(reqwest::Body::wrap_stream(
        tokio_util::io::ReaderStream::with_capacity(reader, UPLOAD_CHUNK),
    ))
}

/// A non-2xx answer as an error, keeping the provider's message. A 404 to a call naming `id`
/// is [`RemoteError::NotFound`].
async fn failure(
    transport: &Transport,
    response: reqwest::Response,
    id: Option<&str>,
) -> RemoteError {
    let status = response.status().as_u16();
    if status == 404
        && let Some(id) = id
    {
        return RemoteError::NotFound { id: id.to_owned() };
    }
    // The body of an error is small; a broken one still leaves the status to go by.
    let body = transport
        .collect(response, MAX_JSON_BYTES)
        .await
        .unwrap_or_default();
    RemoteError::Status {
        status,
        message: error_message(&body).unwrap_or_else(|| format!("HTTP {status}")),
    }
}

/// The message of an error body: `error.message` (both OpenAI and Google use it), else the
/// body's text, shortened.
fn error_message(body: &[u8]) -> Option<String> {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned));
    let message = from_json.or_else(|| {
        std::str::from_utf8(body)
            .ok()
            .map(|s| s.trim().chars().take(500).collect())
    })?;
    (!message.trim().is_empty()).then_some(message)
}

/// The 2xx answer's JSON body, or the failure it is.
async fn json<T: DeserializeOwned>(
    transport: &Transport,
    response: reqwest::Response,
    id: Option<&str>,
) -> Result<T, RemoteError> {
    if !response.status().is_success() {
        return Err(failure(transport, response, id).await);
    }
    let body = transport.collect(response, MAX_JSON_BYTES).await?;
    serde_json::from_slice(&body).map_err(|e| RemoteError::Malformed(e.to_string()))
}

/// The 2xx answer, or the failure it is.
async fn success(
    transport: &Transport,
    response: reqwest::Response,
    id: Option<&str>,
) -> Result<reqwest::Response, RemoteError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(failure(transport, response, id).await)
    }
}

/// What the providers' tests share: a fast transport and a normalized view of the requests a
/// local server received.
#[cfg(test)]
pub(crate) mod testing {
    use std::num::NonZeroU32;
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{Value, json};

    use crate::config::{ApiKey, BaseUrl, WeightedKey};
    use crate::providers::ProviderId;
    use crate::providers::transport::{RetryPolicy, Timeouts, Transport, UpstreamSettings};

    pub const KEY: &str = "test-key";

    /// One key, short timeouts, `max_retries` retries with millisecond backoff, for `provider`
    /// (the name errors carry).
    pub fn transport(provider: &str, max_retries: u32) -> Arc<Transport> {
        let settings = UpstreamSettings {
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                first_byte: Duration::from_secs(30),
                idle: Duration::from_secs(30),
            },
            retry: RetryPolicy {
                max_retries,
                base_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            },
        };
        let keys = vec![WeightedKey {
            key: ApiKey::new(KEY),
            weight: NonZeroU32::MIN,
        }];
        Arc::new(Transport::new(ProviderId::new(provider), settings, keys).unwrap())
    }

    /// A configuration with one provider of each kind that has an API of its own besides the
    /// mock: which of them get a files store or a batch backend is decided from it.
    pub fn every_provider() -> crate::config::Config {
        let text = r#"
            default_provider = "mock"
            [providers.mock]
            type = "mock"
            [providers.openai]
            type = "openai"
            api_keys = [{ key = "sk-o" }]
            [providers.gemini]
            type = "gemini"
            api_keys = [{ key = "g" }]
            [providers.anthropic]
            type = "anthropic"
            api_keys = [{ key = "sk-a" }]
        "#;
        let source = crate::config::Source {
            name: "test.toml",
            text,
        };
        crate::config::load(
            source,
            &crate::config::Env::default(),
            &crate::config::Flags::default(),
        )
        .unwrap()
    }

    pub fn base_url(uri: &str) -> BaseUrl {
        BaseUrl::parse(uri).unwrap()
    }

    /// A request as snapshots show it: method, path, query, the `headers` named (lowercase) in
    /// that order, and the body (JSON, multipart parts, or text).
    pub fn view(request: &wiremock::Request, headers: &[&str]) -> Value {
        let mut shown = serde_json::Map::new();
        for name in headers {
            if let Some(value) = request.headers.get(*name) {
                let value = value.to_str().unwrap();
                let value = match boundary(value) {
                    Some(b) => value.replace(b, "<boundary>"),
                    None => value.to_owned(),
                };
                shown.insert((*name).to_owned(), json!(value));
            }
        }
        let content_type = request
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = if let Some(b) = boundary(&content_type) {
            json!({ "multipart": parts(&request.body, b) })
        } else if request.body.is_empty() {
            Value::Null
        } else if let Ok(v) = serde_json::from_slice::<Value>(&request.body) {
            v
        } else {
            json!(String::from_utf8_lossy(&request.body))
        };
        json!({
            "method": request.method.as_str(),
            "path": request.url.path(),
            "query": request.url.query(),
            "headers": shown,
            "body": body,
        })
    }

    fn boundary(content_type: &str) -> Option<&str> {
        if !content_type.starts_with("multipart/") {
            return None;
        }
        content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"'))
    }

    /// A multipart body's parts in order: their header lines and content, the content as text
    /// (or its length and SHA-256 when large).
    pub fn parts(body: &[u8], boundary: &str) -> Vec<Value> {
        part_bodies(body, boundary)
            .into_iter()
            .map(|(headers, content)| {
                let content = if content.len() > 1024 {
                    json!({ "len": content.len(), "sha256": sha256(content) })
                } else {
                    json!(String::from_utf8_lossy(content))
                };
                json!({ "headers": headers, "content": content })
            })
            .collect()
    }

    /// Each part's header lines and raw content; panics unless the body is well formed, ending
    /// with the closing delimiter.
    pub fn part_bodies<'a>(body: &'a [u8], boundary: &str) -> Vec<(Vec<String>, &'a [u8])> {
        let delimiter = format!("--{boundary}");
        let mut rest = body
            .strip_prefix(delimiter.as_bytes())
            .expect("body starts with the delimiter");
        let mut out = Vec::new();
        let next = format!("\r\n--{boundary}");
        loop {
            if rest == b"--\r\n" {
                return out;
            }
            rest = rest.strip_prefix(b"\r\n").expect("CRLF after delimiter");
            let head_end = find(rest, b"\r\n\r\n").expect("part headers end");
            let headers = std::str::from_utf8(&rest[..head_end])
                .unwrap()
                .split("\r\n")
                .map(str::to_owned)
                .collect();
            rest = &rest[head_end + 4..];
            let end = find(rest, next.as_bytes()).expect("part ends with a delimiter");
            out.push((headers, &rest[..end]));
            rest = &rest[end + next.len()..];
        }
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    pub fn sha256(data: &[u8]) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(data))
    }

    /// A temporary file of `len` pseudo-random bytes (a fixed sequence, so digests repeat).
    pub fn large_file(len: usize) -> (tempfile::NamedTempFile, String) {
        use std::io::Write as _;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        let mut chunk = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            for byte in &mut chunk[..n] {
                // xorshift64: cheap bytes that compress badly, so nothing is accidentally small.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = (state >> 24) as u8;
            }
            sha2::Digest::update(&mut hasher, &chunk[..n]);
            file.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        file.flush().unwrap();
        (file, hex::encode(sha2::Digest::finalize(hasher)))
    }

    /// A local file holding `content`.
    pub fn small_file(content: &[u8]) -> tempfile::NamedTempFile {
        use std::io::Write as _;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content).unwrap();
        file.flush().unwrap();
        file
    }

    /// A URL nothing listens on.
    pub fn dead_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> RemoteError {
        RemoteError::Status {
            status,
            message: "m".to_owned(),
        }
    }

    #[test]
    fn errors_map_to_s3_codes() {
        let cases: Vec<(RemoteError, &str, u16)> = vec![
            (
                RemoteError::NotFound {
                    id: "file-1".to_owned(),
                },
                "NoSuchKey",
                404,
            ),
            (status(400), "InvalidRequest", 400),
            (status(401), "AccessDenied", 403),
            (status(403), "AccessDenied", 403),
            (status(404), "NoSuchKey", 404),
            (status(408), "ServiceUnavailable", 503),
            (status(409), "InvalidRequest", 400),
            (status(413), "EntityTooLarge", 400),
            (status(422), "InvalidRequest", 400),
            (status(429), "SlowDown", 503),
            (status(500), "InternalError", 500),
            (status(502), "ServiceUnavailable", 503),
            (status(503), "ServiceUnavailable", 503),
            (status(504), "ServiceUnavailable", 503),
            (
                RemoteError::Transport(ProviderError::new(ErrorKind::ServiceUnavailable, "x")),
                "ServiceUnavailable",
                503,
            ),
            (
                RemoteError::Transport(ProviderError::new(ErrorKind::ModelTimeout, "x")),
                "ServiceUnavailable",
                503,
            ),
            (
                RemoteError::Transport(ProviderError::new(ErrorKind::InternalServer, "x")),
                "InternalError",
                500,
            ),
            (RemoteError::Malformed("x".to_owned()), "InternalError", 500),
            (
                RemoteError::Local(std::io::Error::other("x")),
                "InternalError",
                500,
            ),
        ];
        for (error, code, status) in cases {
            let failure = error.s3_failure();
            assert_eq!(
                (failure.code, failure.status.as_u16()),
                (code, status),
                "{error:?}"
            );
        }
    }

    #[test]
    fn the_upstream_message_is_kept() {
        assert_eq!(
            error_message(br#"{"error": {"message": "No such File object: file-x", "type": "invalid_request_error"}}"#),
            Some("No such File object: file-x".to_owned())
        );
        assert_eq!(
            error_message(b"  upstream exploded \n"),
            Some("upstream exploded".to_owned())
        );
        assert_eq!(error_message(b"   "), None);
        let err = RemoteError::Status {
            status: 400,
            message: "bad purpose".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "bad purpose (the provider answered HTTP 400)"
        );
    }

    #[test]
    fn media_types_default_to_octet_stream() {
        assert_eq!(media_type("application/jsonl"), "application/jsonl");
        assert_eq!(
            media_type(" text/plain; charset=utf-8 "),
            "text/plain; charset=utf-8"
        );
        for bad in ["", "jsonl", "a/b\r\nx: y", "/"] {
            assert_eq!(media_type(bad), "application/octet-stream", "{bad:?}");
        }
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(segment("file-abc_1.x~"), "file-abc_1.x~");
        assert_eq!(segment("../a/b?c:d e"), "..%2Fa%2Fb%3Fc%3Ad%20e");
    }

    #[test]
    fn only_providers_with_a_files_api_have_a_store() {
        let config = testing::every_provider();
        let kinds: Vec<(String, Option<&str>)> = config
            .providers
            .iter()
            .map(|(id, p)| {
                let store = RemoteStore::from_config(id, p).unwrap();
                let kind = store.map(|s| match s {
                    RemoteStore::OpenAi(_) => "openai",
                    RemoteStore::Gemini(_) => "gemini",
                });
                (id.to_string(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("anthropic".to_owned(), None),
                ("gemini".to_owned(), Some("gemini")),
                ("mock".to_owned(), None),
                ("openai".to_owned(), Some("openai")),
            ]
        );
    }

    /// The S3 edge runs these on a multi-threaded runtime.
    #[test]
    fn futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let config = testing::every_provider();
        for (id, provider) in &config.providers {
            if let Some(store) = RemoteStore::from_config(id, provider).unwrap() {
                send(&store.upload(Path::new("x"), 1, "x", "x"));
                send(&store.get("x"));
                send(&store.download("x"));
                send(&store.delete("x"));
            }
        }
    }
}
