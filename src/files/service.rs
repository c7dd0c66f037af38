//! The generated `S3` trait implemented over the local store and the providers' file stores.

use std::collections::HashMap;
use std::sync::Arc;

use aws_smithy_types::DateTime;
use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use quarry_codegen_runtime::protocol::S3Error;
use quarry_s3::operation::{
    abort_multipart_upload as abort, complete_multipart_upload as complete, copy_object as copy,
    create_bucket, create_multipart_upload as create_upload, delete_bucket, delete_object,
    delete_objects, get_bucket_location as location, get_object, head_bucket, head_object,
    list_buckets, list_multipart_uploads as list_uploads, list_objects, list_objects_v2,
    list_parts, put_object, upload_part,
};
use quarry_s3::types;

use super::checksum::{ChecksumAlgorithm, Digester, Expected};
use super::chunked;
use super::names::{BucketName, NameError, ObjectKey};
use super::remote::RemoteError;
use super::routing::{FileRoute, FileRoutes};
use super::store::{
    Attributes, Cursor, Entry, ListQuery, NewObject, ObjectInfo, Store, StoreError, StoredHeaders,
};
use crate::context::CallContext;
use crate::runtime::routing::PROVIDER_HEADER;

/// The most keys a listing returns, whatever `max-keys` asks.
const MAX_KEYS: usize = 1000;

/// The files API's settings.
#[derive(Debug, Clone)]
pub struct FilesSettings {
    /// The region buckets report (GetBucketLocation, HeadBucket).
    pub region: String,
}

/// Serves S3 over the local store and the providers' file APIs.
#[derive(Debug, Clone)]
pub struct Files {
    store: Store,
    settings: Arc<FilesSettings>,
    routes: Arc<FileRoutes>,
}

fn err(status: u16, code: &'static str, message: impl Into<String>) -> S3Error {
    S3Error::new(status, code, message)
}

impl From<NameError> for S3Error {
    fn from(e: NameError) -> Self {
        err(400, e.s3_code(), e.to_string())
    }
}

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> Self {
        let (status, code) = match &e {
            StoreError::NoSuchBucket => (404, "NoSuchBucket"),
            StoreError::NoSuchKey => (404, "NoSuchKey"),
            StoreError::NoSuchUpload => (404, "NoSuchUpload"),
            StoreError::BucketNotEmpty => (409, "BucketNotEmpty"),
            StoreError::BucketAlreadyOwnedByYou => (409, "BucketAlreadyOwnedByYou"),
            StoreError::InvalidPart(_) => (400, "InvalidPart"),
            StoreError::InvalidPartOrder => (400, "InvalidPartOrder"),
            StoreError::EntityTooSmall => (400, "EntityTooSmall"),
            StoreError::Io(_) | StoreError::Db(_) => {
                tracing::error!(error = %e, "files store failure");
                return err(
                    500,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                );
            }
        };
        err(status, code, e.to_string())
    }
}

fn to_datetime(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

/// `"etag"` compared with an `If-Match`/`If-None-Match` list (`*` matches anything).
fn etag_matches(condition: &str, info: &ObjectInfo) -> bool {
    let etag = info.etag.trim_matches('"');
    condition.split(',').map(str::trim).any(|c| {
        let c = c.trim_start_matches("W/").trim_matches('"');
        c == "*" || c == etag || info.remote_id.as_deref() == Some(c)
    })
}

struct Conditions<'a> {
    if_match: Option<&'a str>,
    if_none_match: Option<&'a str>,
    if_modified_since: Option<&'a DateTime>,
    if_unmodified_since: Option<&'a DateTime>,
}

/// RFC 7232 evaluation as S3 does it: If-Match before If-Unmodified-Since, If-None-Match before
/// If-Modified-Since; a failed read condition is 304, a failed write condition 412.
fn check_conditions(c: &Conditions<'_>, info: &ObjectInfo) -> Result<(), S3Error> {
    let modified = info.last_modified_ms / 1000;
    let precondition = || {
        err(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
    };
    let not_modified = || err(304, "NotModified", "Not Modified");
    if let Some(m) = c.if_match {
        if !etag_matches(m, info) {
            return Err(precondition());
        }
    } else if let Some(t) = c.if_unmodified_since
        && modified > t.secs()
    {
        return Err(precondition());
    }
    if let Some(m) = c.if_none_match {
        if etag_matches(m, info) {
            return Err(not_modified());
        }
    } else if let Some(t) = c.if_modified_since
        && modified <= t.secs()
    {
        return Err(not_modified());
    }
    Ok(())
}

/// A `Range: bytes=…` header against an object of `size` bytes: the first and last byte.
fn parse_range(range: &str, size: u64) -> Result<Option<(u64, u64)>, S3Error> {
    let invalid = || {
        err(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
    };
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        // S3 ignores a Range header it cannot parse and sends the whole object.
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = if start.is_empty() {
        let Ok(suffix) = end.parse::<u64>() else {
            return Ok(None);
        };
        if suffix == 0 || size == 0 {
            return Err(invalid());
        }
        (size.saturating_sub(suffix), size - 1)
    } else {
        let Ok(first) = start.parse::<u64>() else {
            return Ok(None);
        };
        let last = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            match end.parse::<u64>() {
                Ok(l) if l >= first => l.min(size.saturating_sub(1)),
                _ => return Ok(None),
            }
        };
        if first >= size {
            return Err(invalid());
        }
        (first, last)
    };
    Ok(Some(parsed))
}

/// The checksum S3 would answer with, per algorithm field.
#[derive(Default)]
struct ChecksumFields {
    crc32: Option<String>,
    crc32c: Option<String>,
    crc64nvme: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
}

impl ChecksumFields {
    fn of(checksum: Option<&(String, String)>) -> Self {
        let mut out = Self::default();
        if let Some((alg, value)) = checksum {
            let v = Some(value.clone());
            match ChecksumAlgorithm::parse(alg) {
                Some(ChecksumAlgorithm::Crc32) => out.crc32 = v,
                Some(ChecksumAlgorithm::Crc32c) => out.crc32c = v,
                Some(ChecksumAlgorithm::Crc64Nvme) => out.crc64nvme = v,
                Some(ChecksumAlgorithm::Sha1) => out.sha1 = v,
                Some(ChecksumAlgorithm::Sha256) => out.sha256 = v,
                None => {}
            }
        }
        out
    }
}

fn percent_encode_key(s: &str) -> String {
    // encoding-type=url: what S3 escapes, so XML 1.0 can carry any key.
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// Names as a listing returns them: percent-encoded for `encoding-type=url`, else as they are.
fn key_encoder(encoding: Option<&types::EncodingType>) -> impl Fn(&str) -> String + use<> {
    let url = matches!(encoding, Some(types::EncodingType::Url));
    move |s| {
        if url {
            percent_encode_key(s)
        } else {
            s.to_owned()
        }
    }
}

fn token_for(entry: &Entry) -> String {
    use base64::Engine as _;
    let raw = match entry {
        Entry::Object(o) => format!("k{}", o.key),
        Entry::Prefix(p) => format!("p{p}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn cursor_from_token(token: &str) -> Result<Cursor, S3Error> {
    use base64::Engine as _;
    let invalid = || {
        err(
            400,
            "InvalidArgument",
            "The continuation token provided is incorrect",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    match raw.split_at_checked(1) {
        Some(("k", key)) => Ok(Cursor::Key(key.to_owned())),
        Some(("p", prefix)) => Ok(Cursor::Prefix(prefix.to_owned())),
        _ => Err(invalid()),
    }
}

fn max_keys(asked: Option<i32>) -> Result<usize, S3Error> {
    match asked {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(err(
            400,
            "InvalidArgument",
            "max-keys must be a non-negative integer",
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_KEYS).min(MAX_KEYS)),
    }
}

fn owner() -> types::Owner {
    types::Owner::builder()
        .id("quarry")
        .display_name("quarry")
        .build()
}

fn headers_from(
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<String>,
) -> StoredHeaders {
    StoredHeaders {
        // `aws-chunked` is the transfer framing, not the object's encoding.
        content_encoding: content_encoding
            .map(|e| {
                e.split(',')
                    .map(str::trim)
                    .filter(|p| !p.eq_ignore_ascii_case("aws-chunked"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|e| !e.is_empty()),
        content_type: Some(content_type.unwrap_or_else(|| "binary/octet-stream".to_owned())),
        content_disposition,
        content_language,
        cache_control,
        expires,
    }
}

fn metadata_of(map: Option<HashMap<String, String>>) -> std::collections::BTreeMap<String, String> {
    map.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// The aws-chunked trailers, filled in once the body has been read to its end.
type Trailers = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// Bytes of a request body, decoded from `aws-chunked` when the client framed it so.
type BodyChunks = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, S3Error>> + Send>>;

impl Files {
    pub fn new(store: Store, settings: FilesSettings, routes: FileRoutes) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            routes: Arc::new(routes),
        }
    }

    /// Where this request's objects live: the `x-model-provider` header (else the default
    /// provider) picks the local store or a provider's file API.
    fn route(&self) -> Result<FileRoute, S3Error> {
        let context = CallContext::current();
        let named = context
            .headers
            .get(PROVIDER_HEADER)
            .map(|v| v.to_str().unwrap_or("<not UTF-8>"));
        self.routes
            .resolve(named)
            .map_err(|e| err(400, "InvalidArgument", e.to_string()))
    }

    /// For a provider with a file API, uploads the verified body there and makes the provider's
    /// file id the object's ETag (the seed's file-id convention); nothing happens for the local
    /// store. Call [`Files::settle`] once the commit is known to have succeeded or failed.
    async fn publish(
        &self,
        route: &FileRoute,
        bucket: &BucketName,
        key: &ObjectKey,
        body: &super::store::TempBody,
        object: &mut NewObject,
    ) -> Result<Published, S3Error> {
        let Some(remote) = &route.remote else {
            return Ok(Published::default());
        };
        let replaced = match self.store.head(&route.namespace, bucket, key).await {
            Ok(info) => info.remote_id,
            Err(StoreError::NoSuchKey | StoreError::NoSuchBucket) => None,
            Err(e) => return Err(e.into()),
        };
        let filename = key
            .as_str()
            .rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or("object");
        let content_type = object
            .attributes
            .headers
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let file = remote
            .upload(body.path(), body.size(), filename, content_type)
            .await
            .map_err(|e| remote_error(route, &e))?;
        object.etag = format!("\"{}\"", file.id);
        object.remote_id = Some(file.id.clone());
        Ok(Published {
            uploaded: Some(file.id),
            replaced,
        })
    }

    /// After a commit: the provider file an overwrite replaced is deleted; after a failed
    /// commit, the file just uploaded is. Failures are logged: the object itself is settled.
    async fn settle(&self, route: &FileRoute, published: Published, committed: bool) {
        let Some(remote) = &route.remote else {
            return;
        };
        let orphan = if committed {
            published
                .replaced
                .filter(|r| published.uploaded.as_ref() != Some(r))
        } else {
            published.uploaded
        };
        if let Some(id) = orphan {
            match remote.delete(&id).await {
                Ok(()) | Err(RemoteError::NotFound { .. }) => {}
                Err(e) => tracing::warn!(
                    provider = %route.provider, file_id = %id, error = %e,
                    "could not delete a provider file no object refers to any more"
                ),
            }
        }
    }

    /// [`Files::publish`], the commit, then [`Files::settle`].
    async fn commit_routed(
        &self,
        route: &FileRoute,
        bucket: &BucketName,
        key: &ObjectKey,
        body: super::store::TempBody,
        mut object: NewObject,
    ) -> Result<ObjectInfo, S3Error> {
        let published = self.publish(route, bucket, key, &body, &mut object).await?;
        let committed = self
            .store
            .commit(
                &route.namespace,
                bucket,
                key,
                body,
                object,
                route.auto_create_buckets,
            )
            .await;
        self.settle(route, published, committed.is_ok()).await;
        Ok(committed?)
    }

    /// One page of a listing of `bucket` in this request's store.
    async fn list_page(
        &self,
        bucket: &str,
        query: ListQuery,
    ) -> Result<super::store::ListPage, S3Error> {
        let bucket = bucket_name(bucket)?;
        Ok(self.list_routed(&self.route()?, &bucket, query).await?)
    }

    /// A listing; a provider's bucket names are labels, so one never written to lists empty.
    async fn list_routed(
        &self,
        route: &FileRoute,
        bucket: &BucketName,
        query: ListQuery,
    ) -> Result<super::store::ListPage, StoreError> {
        match self.store.list(&route.namespace, bucket, query).await {
            Err(StoreError::NoSuchBucket) if route.remote.is_some() => {
                Ok(super::store::ListPage::default())
            }
            other => other,
        }
    }

    /// Deletes an object, its provider copy first; deleting a missing key succeeds, as in S3.
    async fn delete_routed(
        &self,
        route: &FileRoute,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(), S3Error> {
        match self.store.head(&route.namespace, bucket, key).await {
            Ok(info) => self.unpublish(route, &info).await?,
            Err(StoreError::NoSuchKey) => {}
            Err(e) => return Err(e.into()),
        }
        self.store.delete(&route.namespace, bucket, key).await?;
        Ok(())
    }

    /// Deletes the provider's copy of an object first, so a failure leaves the object whole.
    async fn unpublish(&self, route: &FileRoute, info: &ObjectInfo) -> Result<(), S3Error> {
        let (Some(remote), Some(id)) = (&route.remote, &info.remote_id) else {
            return Ok(());
        };
        match remote.delete(id).await {
            Ok(()) | Err(RemoteError::NotFound { .. }) => Ok(()),
            Err(e) => Err(remote_error(route, &e)),
        }
    }

    fn names(bucket: &str, key: &str) -> Result<(BucketName, ObjectKey), S3Error> {
        Ok((bucket_name(bucket)?, ObjectKey::parse(key)?))
    }

    /// Streams a request body into the store, verifying every digest the client sent;
    /// nothing is stored when any check fails.
    async fn receive(
        &self,
        body: ByteStream,
    ) -> Result<(super::store::TempBody, super::checksum::Digests), S3Error> {
        let context = CallContext::current();
        let expected = Expected::from_headers(&context.headers)
            .map_err(|e| err(e.status(), e.s3_code(), e.to_string()))?;
        let (mut chunks, trailers) = decode_body(&context, body)?;
        let mut spool = self.store.spool(Digester::new(&expected));
        while let Some(chunk) = chunks.next().await {
            spool.write(chunk?).await.map_err(S3Error::from)?;
        }
        drop(chunks);
        let (digester, temp) = spool.finish().await.map_err(S3Error::from)?;
        let trailers = trailers.lock().map(|t| t.clone()).unwrap_or_default();
        let digests = digester
            .finish(&trailers)
            .map_err(|e| err(e.status(), e.s3_code(), e.to_string()))?;
        Ok((temp, digests))
    }

    async fn head_checked(
        &self,
        bucket: &str,
        key: &str,
        conditions: &Conditions<'_>,
    ) -> Result<ObjectInfo, S3Error> {
        let (bucket, key) = Self::names(bucket, key)?;
        let info = self
            .store
            .head(&self.route()?.namespace, &bucket, &key)
            .await?;
        check_conditions(conditions, &info)?;
        Ok(info)
    }
}

/// What [`Files::publish`] did at the provider.
#[derive(Debug, Default)]
struct Published {
    uploaded: Option<String>,
    replaced: Option<String>,
}

/// A provider file API failure in S3's terms, naming the provider.
fn remote_error(route: &FileRoute, e: &RemoteError) -> S3Error {
    let failure = e.s3_failure();
    tracing::warn!(provider = %route.provider, error = %e, "provider file API call failed");
    err(
        failure.status.as_u16(),
        failure.code,
        format!("provider '{}': {e}", route.provider),
    )
}

/// The bytes a GET answers with (and a HEAD describes): the whole object or the `Range` asked.
struct Window {
    start: u64,
    len: u64,
    content_range: Option<String>,
}

impl Window {
    fn of(range: Option<&str>, size: u64) -> Result<Self, S3Error> {
        let range = match range {
            Some(r) => parse_range(r, size)?,
            None => None,
        };
        Ok(match range {
            Some((first, last)) => Self {
                start: first,
                len: last - first + 1,
                content_range: Some(format!("bytes {first}-{last}/{size}")),
            },
            None => Self {
                start: 0,
                len: size,
                content_range: None,
            },
        })
    }
}

/// `response-*` query parameters of a GET or HEAD.
struct Overrides {
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<DateTime>,
}

/// The standard headers a GET or HEAD answers with: the stored ones, each replaced by its
/// `response-*` override when given.
struct Presented {
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<String>,
}

impl Presented {
    fn of(stored: &StoredHeaders, overrides: Overrides) -> Self {
        let expires = overrides
            .expires
            .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::HttpDate).ok());
        Self {
            content_type: overrides
                .content_type
                .or_else(|| stored.content_type.clone()),
            content_encoding: overrides
                .content_encoding
                .or_else(|| stored.content_encoding.clone()),
            content_disposition: overrides
                .content_disposition
                .or_else(|| stored.content_disposition.clone()),
            content_language: overrides
                .content_language
                .or_else(|| stored.content_language.clone()),
            cache_control: overrides
                .cache_control
                .or_else(|| stored.cache_control.clone()),
            expires: expires.or_else(|| stored.expires.clone()),
        }
    }
}

impl ObjectInfo {
    /// `x-amz-meta-*` as the output shapes take it (`None` when there is none).
    fn metadata_map(&self) -> Option<HashMap<String, String>> {
        (!self.attributes.metadata.is_empty())
            .then(|| self.attributes.metadata.clone().into_iter().collect())
    }
}

fn bucket_name(bucket: &str) -> Result<BucketName, S3Error> {
    BucketName::parse(bucket).map_err(|_| {
        // An existing bucket can only have a valid name, so a bad one is simply not there.
        err(404, "NoSuchBucket", "The specified bucket does not exist")
    })
}

/// The body as plain bytes, plus where the aws-chunked trailers will be once it has been read.
fn decode_body(context: &CallContext, body: ByteStream) -> Result<(BodyChunks, Trailers), S3Error> {
    let headers = &context.headers;
    let trailers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let raw = Box::pin(futures_util::stream::unfold(body, |mut body| async move {
        let next = body
            .next()
            .await?
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) });
        Some((next, body))
    }));
    let Some(framing) = chunked::framing(headers) else {
        let chunks = raw.map(|r| r.map_err(|e| err(400, "IncompleteBody", e.to_string())));
        return Ok((Box::pin(chunks), trailers));
    };
    let mut framing = framing.map_err(|e| err(e.status(), e.s3_code(), e.to_string()))?;
    // In `sigv4` mode the auth layer hands over the seed, and every chunk signature is checked;
    // without auth there is no secret to check them with.
    framing.signing = context.chunk_signing.clone();
    let decoder = chunked::Decoder::new(raw, framing);
    let sink = trailers.clone();
    let chunks = futures_util::stream::unfold(Some(decoder), move |state| {
        let sink = sink.clone();
        async move {
            let mut decoder = state?;
            match decoder.next().await {
                Some(Ok(bytes)) => Some((Ok(bytes), Some(decoder))),
                Some(Err(e)) => Some((Err(err(e.status(), e.s3_code(), e.to_string())), None)),
                None => {
                    if let Ok(mut t) = sink.lock() {
                        *t = decoder.trailers().to_vec();
                    }
                    None
                }
            }
        }
    });
    Ok((Box::pin(chunks), trailers))
}

fn body_stream(
    stream: impl Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static,
) -> ByteStream {
    let frames = stream.map(|r| r.map(http_body::Frame::data));
    ByteStream::from_body_1_x(http_body_util::StreamBody::new(frames))
}

impl quarry_s3::S3 for Files {
    async fn put_object(
        &self,
        input: put_object::PutObjectInput,
    ) -> Result<put_object::PutObjectOutput, put_object::PutObjectError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let route = self.route()?;
        let ns = route.namespace.clone();
        let attributes = Attributes {
            headers: headers_from(
                input.content_type,
                input.content_encoding,
                input.content_disposition,
                input.content_language,
                input.cache_control,
                input.expires,
            ),
            metadata: metadata_of(input.metadata),
        };
        let (temp, digests) = self.receive(input.body).await?;
        // Conditional writes: checked against what is there when the body has arrived.
        if input.if_none_match.is_some() || input.if_match.is_some() {
            let current = match self.store.head(&ns, &bucket, &key).await {
                Ok(info) => Some(info),
                Err(StoreError::NoSuchKey | StoreError::NoSuchBucket) => None,
                Err(e) => return Err(S3Error::from(e).into()),
            };
            let failed = match (
                &current,
                input.if_none_match.as_deref(),
                input.if_match.as_deref(),
            ) {
                (Some(_), Some("*"), _) => true,
                (None, _, Some(_)) => {
                    return Err(err(404, "NoSuchKey", "The specified key does not exist.").into());
                }
                (Some(info), _, Some(m)) => !etag_matches(m, info),
                _ => false,
            };
            if failed {
                return Err(err(
                    412,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )
                .into());
            }
        }
        let checksum = digests
            .checksum
            .as_ref()
            .map(|(alg, v)| (alg.as_str().to_owned(), v.clone()));
        let object = NewObject {
            etag: digests.etag(),
            attributes,
            checksum: checksum.clone(),
            parts: None,
            remote_id: None,
        };
        let size = temp.size();
        let info = self
            .commit_routed(&route, &bucket, &key, temp, object)
            .await?;
        let sums = ChecksumFields::of(checksum.as_ref());
        Ok(put_object::PutObjectOutput::builder()
            .e_tag(info.etag)
            .set_checksum_crc32(sums.crc32)
            .set_checksum_crc32c(sums.crc32c)
            .set_checksum_crc64nvme(sums.crc64nvme)
            .set_checksum_sha1(sums.sha1)
            .set_checksum_sha256(sums.sha256)
            .set_checksum_type(checksum.map(|_| types::ChecksumType::FullObject))
            .size(i64::try_from(size).unwrap_or(i64::MAX))
            .build())
    }

    async fn get_object(
        &self,
        input: get_object::GetObjectInput,
    ) -> Result<get_object::GetObjectOutput, get_object::GetObjectError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let conditions = Conditions {
            if_match: input.if_match.as_deref(),
            if_none_match: input.if_none_match.as_deref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        };
        let (info, file) = self
            .store
            .open_object(&self.route()?.namespace, &bucket, &key)
            .await
            .map_err(S3Error::from)?;
        check_conditions(&conditions, &info)?;
        if input.part_number.is_some() {
            return Err(err(
                501,
                "NotImplemented",
                "GetObject by partNumber is not supported by this gateway",
            )
            .into());
        }
        let window = Window::of(input.range.as_deref(), info.size)?;
        let sums = if window.content_range.is_none() && input.checksum_mode.is_some() {
            ChecksumFields::of(info.checksum.as_ref())
        } else {
            ChecksumFields::default()
        };
        let shown = Presented::of(
            &info.attributes.headers,
            Overrides {
                content_type: input.response_content_type,
                content_encoding: input.response_content_encoding,
                content_disposition: input.response_content_disposition,
                content_language: input.response_content_language,
                cache_control: input.response_cache_control,
                expires: input.response_expires,
            },
        );
        Ok(get_object::GetObjectOutput::builder()
            .body(body_stream(Store::read(file, window.start, window.len)))
            .accept_ranges("bytes")
            .last_modified(to_datetime(info.last_modified_ms))
            .content_length(i64::try_from(window.len).unwrap_or(i64::MAX))
            .e_tag(info.etag.clone())
            .set_content_range(window.content_range)
            .set_checksum_crc32(sums.crc32)
            .set_checksum_crc32c(sums.crc32c)
            .set_checksum_crc64nvme(sums.crc64nvme)
            .set_checksum_sha1(sums.sha1)
            .set_checksum_sha256(sums.sha256)
            .set_content_type(shown.content_type)
            .set_content_encoding(shown.content_encoding)
            .set_content_disposition(shown.content_disposition)
            .set_content_language(shown.content_language)
            .set_cache_control(shown.cache_control)
            .set_expires(shown.expires)
            .set_metadata(info.metadata_map())
            .set_parts_count(info.parts.and_then(|p| i32::try_from(p).ok()))
            .build())
    }

    async fn head_object(
        &self,
        input: head_object::HeadObjectInput,
    ) -> Result<head_object::HeadObjectOutput, head_object::HeadObjectError> {
        let conditions = Conditions {
            if_match: input.if_match.as_deref(),
            if_none_match: input.if_none_match.as_deref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        };
        let info = self
            .head_checked(&input.bucket, &input.key, &conditions)
            .await?;
        let window = Window::of(input.range.as_deref(), info.size)?;
        let sums = if input.checksum_mode.is_some() {
            ChecksumFields::of(info.checksum.as_ref())
        } else {
            ChecksumFields::default()
        };
        let shown = Presented::of(
            &info.attributes.headers,
            Overrides {
                content_type: input.response_content_type,
                content_encoding: input.response_content_encoding,
                content_disposition: input.response_content_disposition,
                content_language: input.response_content_language,
                cache_control: input.response_cache_control,
                expires: input.response_expires,
            },
        );
        Ok(head_object::HeadObjectOutput::builder()
            .accept_ranges("bytes")
            .last_modified(to_datetime(info.last_modified_ms))
            .content_length(i64::try_from(window.len).unwrap_or(i64::MAX))
            .set_content_range(window.content_range)
            .e_tag(info.etag.clone())
            .set_checksum_crc32(sums.crc32)
            .set_checksum_crc32c(sums.crc32c)
            .set_checksum_crc64nvme(sums.crc64nvme)
            .set_checksum_sha1(sums.sha1)
            .set_checksum_sha256(sums.sha256)
            .set_content_type(shown.content_type)
            .set_content_encoding(shown.content_encoding)
            .set_content_disposition(shown.content_disposition)
            .set_content_language(shown.content_language)
            .set_cache_control(shown.cache_control)
            .set_expires(shown.expires)
            .set_metadata(info.metadata_map())
            .set_parts_count(info.parts.and_then(|p| i32::try_from(p).ok()))
            .build())
    }

    async fn delete_object(
        &self,
        input: delete_object::DeleteObjectInput,
    ) -> Result<delete_object::DeleteObjectOutput, delete_object::DeleteObjectError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let route = self.route()?;
        let ns = route.namespace.clone();
        if let Some(m) = input.if_match.as_deref() {
            // A conditional delete of a missing object fails as S3's does.
            let info = self
                .store
                .head(&ns, &bucket, &key)
                .await
                .map_err(S3Error::from)?;
            if !etag_matches(m, &info) {
                return Err(err(
                    412,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )
                .into());
            }
        }
        self.delete_routed(&route, &bucket, &key).await?;
        Ok(delete_object::DeleteObjectOutput::builder().build())
    }

    async fn delete_objects(
        &self,
        input: delete_objects::DeleteObjectsInput,
    ) -> Result<delete_objects::DeleteObjectsOutput, delete_objects::DeleteObjectsError> {
        let bucket = bucket_name(&input.bucket)?;
        let route = self.route()?;
        let ns = route.namespace.clone();
        if !self
            .store
            .bucket_exists(&ns, &bucket)
            .await
            .map_err(S3Error::from)?
        {
            return Err(S3Error::from(StoreError::NoSuchBucket).into());
        }
        if input.delete.objects.len() > 1000 {
            return Err(err(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
            .into());
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            let outcome = match ObjectKey::parse(&object.key) {
                Err(e) => Err(S3Error::from(e)),
                Ok(key) => self.delete_routed(&route, &bucket, &key).await,
            };
            match outcome {
                Ok(()) if quiet => {}
                Ok(()) => deleted.push(types::DeletedObject::builder().key(object.key).build()),
                Err(e) => errors.push(
                    types::Error::builder()
                        .key(object.key)
                        .code(e.code())
                        .message(e.message())
                        .build(),
                ),
            }
        }
        Ok(delete_objects::DeleteObjectsOutput::builder()
            .set_deleted((!deleted.is_empty()).then_some(deleted))
            .set_errors((!errors.is_empty()).then_some(errors))
            .build())
    }

    async fn list_objects_v2(
        &self,
        input: list_objects_v2::ListObjectsV2Input,
    ) -> Result<list_objects_v2::ListObjectsV2Output, list_objects_v2::ListObjectsV2Error> {
        let max = max_keys(input.max_keys)?;
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(token), _) => Some(cursor_from_token(token)?),
            (None, Some(start)) if !start.is_empty() => Some(Cursor::Key(start.clone())),
            _ => None,
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let page = self
            .list_page(
                &input.bucket,
                ListQuery {
                    prefix: prefix.clone(),
                    delimiter: input.delimiter.clone(),
                    after,
                    max_keys: max,
                },
            )
            .await?;
        let enc = key_encoder(input.encoding_type.as_ref());
        let next = page
            .truncated
            .then(|| page.entries.last().map(token_for))
            .flatten();
        let key_count = page.entries.len();
        let fetch_owner = input.fetch_owner.unwrap_or(false);
        let (contents, prefixes) = split_entries(page.entries, &enc, fetch_owner);
        Ok(list_objects_v2::ListObjectsV2Output::builder()
            .name(input.bucket)
            .prefix(enc(&prefix))
            .set_delimiter(input.delimiter.as_deref().map(&enc))
            .max_keys(i32::try_from(max).unwrap_or(1000))
            .key_count(i32::try_from(key_count).unwrap_or(i32::MAX))
            .is_truncated(page.truncated)
            .set_contents((!contents.is_empty()).then_some(contents))
            .set_common_prefixes((!prefixes.is_empty()).then_some(prefixes))
            .set_continuation_token(input.continuation_token)
            .set_next_continuation_token(next)
            .set_start_after(input.start_after.as_deref().map(&enc))
            .set_encoding_type(input.encoding_type)
            .build())
    }

    async fn list_objects(
        &self,
        input: list_objects::ListObjectsInput,
    ) -> Result<list_objects::ListObjectsOutput, list_objects::ListObjectsError> {
        let max = max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = input
            .marker
            .as_ref()
            .filter(|m| !m.is_empty())
            .map(|m| Cursor::Key(m.clone()));
        let page = self
            .list_page(
                &input.bucket,
                ListQuery {
                    prefix: prefix.clone(),
                    delimiter: input.delimiter.clone(),
                    after,
                    max_keys: max,
                },
            )
            .await?;
        let enc = key_encoder(input.encoding_type.as_ref());
        // S3 sends NextMarker only with a delimiter; without one clients resume after the last key.
        let next_marker = (page.truncated && input.delimiter.is_some())
            .then(|| page.entries.last().map(|e| enc(e.name())))
            .flatten();
        let (contents, prefixes) = split_entries(page.entries, &enc, true);
        Ok(list_objects::ListObjectsOutput::builder()
            .name(input.bucket)
            .prefix(enc(&prefix))
            .marker(input.marker.as_deref().map(&enc).unwrap_or_default())
            .set_next_marker(next_marker)
            .set_delimiter(input.delimiter.as_deref().map(&enc))
            .max_keys(i32::try_from(max).unwrap_or(1000))
            .is_truncated(page.truncated)
            .set_contents((!contents.is_empty()).then_some(contents))
            .set_common_prefixes((!prefixes.is_empty()).then_some(prefixes))
            .set_encoding_type(input.encoding_type)
            .build())
    }

    async fn copy_object(
        &self,
        input: copy::CopyObjectInput,
    ) -> Result<copy::CopyObjectOutput, copy::CopyObjectError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let source = input.copy_source.trim_start_matches('/');
        let source = source.split_once("?versionId=").map_or(source, |(s, _)| s);
        let decoded = percent_encoding::percent_decode_str(source)
            .decode_utf8()
            .map_err(|_| err(400, "InvalidArgument", "Invalid copy source encoding"))?;
        let Some((src_bucket, src_key)) = decoded.split_once('/') else {
            return Err(err(
                400,
                "InvalidArgument",
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
            .into());
        };
        let (src_bucket, src_key) = Self::names(src_bucket, src_key)?;
        let route = self.route()?;
        let ns = route.namespace.clone();
        let (info, file) = self
            .store
            .open_object(&ns, &src_bucket, &src_key)
            .await
            .map_err(S3Error::from)?;
        let conditions = Conditions {
            if_match: input.copy_source_if_match.as_deref(),
            if_none_match: input.copy_source_if_none_match.as_deref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        };
        // S3 answers a failed copy-source condition 412, whichever header failed.
        check_conditions(&conditions, &info).map_err(|e| {
            if e.code() == "NotModified" {
                err(
                    412,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )
            } else {
                e
            }
        })?;
        let replace = matches!(
            input.metadata_directive,
            Some(types::MetadataDirective::Replace)
        );
        if src_bucket == bucket && src_key == key && !replace {
            return Err(err(
                400,
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            )
            .into());
        }
        let attributes = if replace {
            Attributes {
                headers: headers_from(
                    input.content_type,
                    input.content_encoding,
                    input.content_disposition,
                    input.content_language,
                    input.cache_control,
                    input.expires,
                ),
                metadata: metadata_of(input.metadata),
            }
        } else {
            info.attributes.clone()
        };
        let temp = self.store.copy_body(file).await.map_err(S3Error::from)?;
        let object = NewObject {
            etag: info.etag.clone(),
            attributes,
            checksum: info.checksum.clone(),
            parts: info.parts,
            remote_id: None,
        };
        let copied = self
            .commit_routed(&route, &bucket, &key, temp, object)
            .await?;
        Ok(copy::CopyObjectOutput::builder()
            .copy_object_result(
                types::CopyObjectResult::builder()
                    .e_tag(copied.etag)
                    .last_modified(to_datetime(copied.last_modified_ms))
                    .build(),
            )
            .build())
    }

    async fn create_multipart_upload(
        &self,
        input: create_upload::CreateMultipartUploadInput,
    ) -> Result<create_upload::CreateMultipartUploadOutput, create_upload::CreateMultipartUploadError>
    {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let attributes = Attributes {
            headers: headers_from(
                input.content_type,
                input.content_encoding,
                input.content_disposition,
                input.content_language,
                input.cache_control,
                input.expires,
            ),
            metadata: metadata_of(input.metadata),
        };
        let algorithm = input.checksum_algorithm.clone();
        let route = self.route()?;
        let upload = self
            .store
            .create_upload(
                &route.namespace,
                &bucket,
                &key,
                attributes,
                algorithm.as_ref().map(|a| a.as_str().to_owned()),
                route.auto_create_buckets,
            )
            .await
            .map_err(S3Error::from)?;
        Ok(create_upload::CreateMultipartUploadOutput::builder()
            .bucket(input.bucket)
            .key(input.key)
            .upload_id(upload.id)
            .set_checksum_algorithm(algorithm)
            .build())
    }

    async fn upload_part(
        &self,
        input: upload_part::UploadPartInput,
    ) -> Result<upload_part::UploadPartOutput, upload_part::UploadPartError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        if !super::store::PART_NUMBERS.contains(&input.part_number) {
            return Err(err(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            )
            .into());
        }
        let route = self.route()?;
        let ns = route.namespace.clone();
        // Refuse before reading a body that could never be used.
        self.store
            .upload(&ns, &bucket, &key, &input.upload_id)
            .await
            .map_err(S3Error::from)?;
        let (temp, digests) = self.receive(input.body).await?;
        let checksum = digests.checksum.clone();
        let part = self
            .store
            .put_part(
                &ns,
                &bucket,
                &key,
                &input.upload_id,
                input.part_number,
                temp,
                digests.md5,
                checksum.as_ref().map(|(_, v)| v.clone()),
            )
            .await
            .map_err(S3Error::from)?;
        let sums = ChecksumFields::of(checksum.map(|(a, v)| (a.as_str().to_owned(), v)).as_ref());
        Ok(upload_part::UploadPartOutput::builder()
            .e_tag(part.etag())
            .set_checksum_crc32(sums.crc32)
            .set_checksum_crc32c(sums.crc32c)
            .set_checksum_crc64nvme(sums.crc64nvme)
            .set_checksum_sha1(sums.sha1)
            .set_checksum_sha256(sums.sha256)
            .build())
    }

    async fn complete_multipart_upload(
        &self,
        input: complete::CompleteMultipartUploadInput,
    ) -> Result<complete::CompleteMultipartUploadOutput, complete::CompleteMultipartUploadError>
    {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let parts = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.part_number.unwrap_or(0), p.e_tag.unwrap_or_default()))
            .collect();
        let route = self.route()?;
        let ns = &route.namespace;
        let (body, mut object) = self
            .store
            .join_upload(ns, &bucket, &key, &input.upload_id, parts)
            .await
            .map_err(S3Error::from)?;
        let published = self
            .publish(&route, &bucket, &key, &body, &mut object)
            .await?;
        let finished = self
            .store
            .finish_upload(ns, &bucket, &key, &input.upload_id, body, object)
            .await;
        self.settle(&route, published, finished.is_ok()).await;
        let info = finished.map_err(S3Error::from)?;
        Ok(complete::CompleteMultipartUploadOutput::builder()
            .location(format!("/{}/{}", input.bucket, input.key))
            .bucket(input.bucket)
            .key(input.key)
            .e_tag(info.etag)
            .build())
    }

    async fn abort_multipart_upload(
        &self,
        input: abort::AbortMultipartUploadInput,
    ) -> Result<abort::AbortMultipartUploadOutput, abort::AbortMultipartUploadError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        self.store
            .abort_upload(&self.route()?.namespace, &bucket, &key, &input.upload_id)
            .await
            .map_err(S3Error::from)?;
        Ok(abort::AbortMultipartUploadOutput::builder().build())
    }

    async fn list_parts(
        &self,
        input: list_parts::ListPartsInput,
    ) -> Result<list_parts::ListPartsOutput, list_parts::ListPartsError> {
        let (bucket, key) = Self::names(&input.bucket, &input.key)?;
        let max = input
            .max_parts
            .map_or(1000, |m| usize::try_from(m).unwrap_or(0).min(1000));
        let after = input.part_number_marker.unwrap_or(0);
        let (upload, mut parts) = self
            .store
            .list_parts(
                &self.route()?.namespace,
                &bucket,
                &key,
                &input.upload_id,
                after,
                max + 1,
            )
            .await
            .map_err(S3Error::from)?;
        let truncated = parts.len() > max;
        parts.truncate(max);
        let next = parts.last().map(|p| p.number);
        let listed = parts
            .into_iter()
            .map(|p| {
                types::Part::builder()
                    .part_number(p.number)
                    .last_modified(to_datetime(p.last_modified_ms))
                    .e_tag(p.etag())
                    .size(i64::try_from(p.size).unwrap_or(i64::MAX))
                    .build()
            })
            .collect::<Vec<_>>();
        Ok(list_parts::ListPartsOutput::builder()
            .bucket(input.bucket)
            .key(input.key)
            .upload_id(upload.id)
            .part_number_marker(after)
            .set_next_part_number_marker(next)
            .max_parts(i32::try_from(max).unwrap_or(1000))
            .is_truncated(truncated)
            .set_parts((!listed.is_empty()).then_some(listed))
            .initiator(
                types::Initiator::builder()
                    .id("quarry")
                    .display_name("quarry")
                    .build(),
            )
            .owner(owner())
            .storage_class(types::StorageClass::Standard)
            .build())
    }

    async fn list_multipart_uploads(
        &self,
        input: list_uploads::ListMultipartUploadsInput,
    ) -> Result<list_uploads::ListMultipartUploadsOutput, list_uploads::ListMultipartUploadsError>
    {
        let bucket = bucket_name(&input.bucket)?;
        let max = input
            .max_uploads
            .map_or(1000, |m| usize::try_from(m).unwrap_or(0).min(1000));
        let after = input
            .key_marker
            .clone()
            .filter(|k| !k.is_empty())
            .map(|k| (k, input.upload_id_marker.clone()));
        let prefix = input.prefix.clone().unwrap_or_default();
        let mut uploads = self
            .store
            .list_uploads(&self.route()?.namespace, &bucket, &prefix, after, max)
            .await
            .map_err(S3Error::from)?;
        let truncated = uploads.len() > max;
        uploads.truncate(max);
        let (next_key, next_id) = match uploads.last() {
            Some(u) if truncated => (Some(u.key.clone()), Some(u.id.clone())),
            _ => (None, None),
        };
        let listed = uploads
            .into_iter()
            .map(|u| {
                types::MultipartUpload::builder()
                    .upload_id(u.id)
                    .key(u.key)
                    .initiated(to_datetime(u.initiated_ms))
                    .storage_class(types::StorageClass::Standard)
                    .owner(owner())
                    .initiator(
                        types::Initiator::builder()
                            .id("quarry")
                            .display_name("quarry")
                            .build(),
                    )
                    .build()
            })
            .collect::<Vec<_>>();
        Ok(list_uploads::ListMultipartUploadsOutput::builder()
            .bucket(input.bucket)
            .key_marker(input.key_marker.unwrap_or_default())
            .upload_id_marker(input.upload_id_marker.unwrap_or_default())
            .set_next_key_marker(next_key)
            .set_next_upload_id_marker(next_id)
            .prefix(prefix)
            .max_uploads(i32::try_from(max).unwrap_or(1000))
            .is_truncated(truncated)
            .set_uploads((!listed.is_empty()).then_some(listed))
            .build())
    }

    async fn list_buckets(
        &self,
        input: list_buckets::ListBucketsInput,
    ) -> Result<list_buckets::ListBucketsOutput, list_buckets::ListBucketsError> {
        let prefix = input.prefix.clone().unwrap_or_default();
        let buckets = self
            .store
            .list_buckets(&self.route()?.namespace)
            .await
            .map_err(S3Error::from)?
            .into_iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, created)| {
                types::Bucket::builder()
                    .name(name)
                    .creation_date(to_datetime(created))
                    .bucket_region(self.settings.region.clone())
                    .build()
            })
            .collect::<Vec<_>>();
        Ok(list_buckets::ListBucketsOutput::builder()
            .buckets(buckets)
            .owner(owner())
            .set_prefix(input.prefix)
            .build())
    }

    async fn create_bucket(
        &self,
        input: create_bucket::CreateBucketInput,
    ) -> Result<create_bucket::CreateBucketOutput, create_bucket::CreateBucketError> {
        let bucket = BucketName::parse(&input.bucket).map_err(S3Error::from)?;
        self.store
            .create_bucket(&self.route()?.namespace, &bucket)
            .await
            .map_err(S3Error::from)?;
        Ok(create_bucket::CreateBucketOutput::builder()
            .location(format!("/{}", input.bucket))
            .build())
    }

    async fn head_bucket(
        &self,
        input: head_bucket::HeadBucketInput,
    ) -> Result<head_bucket::HeadBucketOutput, head_bucket::HeadBucketError> {
        let bucket = bucket_name(&input.bucket)?;
        if !self
            .store
            .bucket_exists(&self.route()?.namespace, &bucket)
            .await
            .map_err(S3Error::from)?
        {
            return Err(S3Error::from(StoreError::NoSuchBucket).into());
        }
        Ok(head_bucket::HeadBucketOutput::builder()
            .bucket_region(self.settings.region.clone())
            .build())
    }

    async fn delete_bucket(
        &self,
        input: delete_bucket::DeleteBucketInput,
    ) -> Result<delete_bucket::DeleteBucketOutput, delete_bucket::DeleteBucketError> {
        let bucket = bucket_name(&input.bucket)?;
        self.store
            .delete_bucket(&self.route()?.namespace, &bucket)
            .await
            .map_err(S3Error::from)?;
        Ok(delete_bucket::DeleteBucketOutput::builder().build())
    }

    async fn get_bucket_location(
        &self,
        input: location::GetBucketLocationInput,
    ) -> Result<location::GetBucketLocationOutput, location::GetBucketLocationError> {
        let bucket = bucket_name(&input.bucket)?;
        if !self
            .store
            .bucket_exists(&self.route()?.namespace, &bucket)
            .await
            .map_err(S3Error::from)?
        {
            return Err(S3Error::from(StoreError::NoSuchBucket).into());
        }
        // us-east-1 is the empty constraint, as S3 answers it.
        let constraint = (self.settings.region != "us-east-1")
            .then(|| types::BucketLocationConstraint::from(self.settings.region.as_str()));
        Ok(location::GetBucketLocationOutput::builder()
            .set_location_constraint(constraint)
            .build())
    }
}

/// Listing entries as the wire's Contents and CommonPrefixes.
fn split_entries(
    entries: Vec<Entry>,
    enc: &dyn Fn(&str) -> String,
    with_owner: bool,
) -> (Vec<types::Object>, Vec<types::CommonPrefix>) {
    let mut contents = Vec::new();
    let mut prefixes = Vec::new();
    for entry in entries {
        match entry {
            Entry::Object(o) => contents.push(
                types::Object::builder()
                    .key(enc(&o.key))
                    .last_modified(to_datetime(o.last_modified_ms))
                    .e_tag(o.etag.clone())
                    .size(i64::try_from(o.size).unwrap_or(i64::MAX))
                    .storage_class(types::ObjectStorageClass::Standard)
                    .set_checksum_algorithm(
                        o.checksum
                            .as_ref()
                            .map(|(a, _)| vec![types::ChecksumAlgorithm::from(a.as_str())]),
                    )
                    .set_owner(with_owner.then(owner))
                    .build(),
            ),
            Entry::Prefix(p) => {
                prefixes.push(types::CommonPrefix::builder().prefix(enc(&p)).build());
            }
        }
    }
    (contents, prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_s3_reads_them() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-500", 100).unwrap(), Some((0, 99)));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), Some((50, 99)));
        assert_eq!(
            parse_range("bytes=100-", 100).unwrap_err().code(),
            "InvalidRange"
        );
        assert_eq!(
            parse_range("bytes=-0", 100).unwrap_err().code(),
            "InvalidRange"
        );
        // Unparseable or multi-range: the whole object, as S3 does.
        assert_eq!(parse_range("items=0-1", 100).unwrap(), None);
        assert_eq!(parse_range("bytes=5-1", 100).unwrap(), None);
        assert_eq!(parse_range("bytes=0-1,4-5", 100).unwrap(), None);
    }

    #[test]
    fn continuation_tokens_round_trip_and_reject_garbage() {
        for entry in [
            Entry::Prefix("a/é/".into()),
            Entry::Object(Box::new(ObjectInfo::for_tests("k y"))),
        ] {
            let cursor = cursor_from_token(&token_for(&entry)).unwrap();
            match (&entry, cursor) {
                (Entry::Prefix(p), Cursor::Prefix(q)) => assert_eq!(*p, q),
                (Entry::Object(o), Cursor::Key(k)) => assert_eq!(o.key, k),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            cursor_from_token("!!").unwrap_err().code(),
            "InvalidArgument"
        );
        assert_eq!(
            cursor_from_token("eA").unwrap_err().code(),
            "InvalidArgument"
        );
    }

    #[test]
    fn url_encoding_keeps_slashes_and_escapes_the_rest() {
        assert_eq!(percent_encode_key("a b/ü+%.txt"), "a%20b/%C3%BC%2B%25.txt");
    }
}
