//! The real aws-sdk-s3 client (and boto3-shaped raw HTTP) against a server built from the generated S3 stubs and an in-memory store.

mod common;

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::types as sdk;
use aws_smithy_types::DateTime;
use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use quarry_s3::operation::{
    abort_multipart_upload::*, complete_multipart_upload::*, copy_object::*, create_bucket::*,
    create_multipart_upload::*, delete_bucket::*, delete_object::*, delete_objects::*,
    get_bucket_location::*, get_object::*, head_bucket::*, head_object::*, list_buckets::*,
    list_multipart_uploads::*, list_objects::*, list_objects_v2::*, list_parts::*, put_object::*,
    upload_part::*,
};
use quarry_s3::types as s3t;
use quarry_s3::{S3, router};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const S3_XMLNS: &str = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
/// 50 MiB, sent and received in 64 KiB frames by the streaming tests.
const BIG: u64 = 50 * 1024 * 1024;
const FRAME: usize = 64 * 1024;
/// "Far below" the whole body: what the loopback socket buffers and hyper may hold, with room to spare.
const FAR_BELOW: u64 = 16 * 1024 * 1024;
/// The bucket whose objects the store streams instead of keeping.
const STREAMING_BUCKET: &str = "streaming";

fn t0() -> DateTime {
    DateTime::from_secs(1_700_000_000)
}

fn etag(body: &[u8]) -> String {
    // Not MD5 (the store is a test double); the SDK only needs a quoted string.
    format!(
        "\"{:016x}\"",
        body.iter()
            .fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64)
                .wrapping_mul(0x100000001b3))
    )
}

/// Every input a handler received, in arrival order, keyed by operation name.
#[derive(Default)]
struct Seen(Mutex<Vec<(&'static str, Box<dyn Any + Send>)>>);

impl Seen {
    fn record<T: Any + Send>(&self, op: &'static str, value: T) {
        self.0.lock().unwrap().push((op, Box::new(value)));
    }

    /// Removes and returns the latest record of `op`; panics if the handler never saw one.
    fn take<T: Any>(&self, op: &str) -> T {
        let mut seen = self.0.lock().unwrap();
        let at = seen
            .iter()
            .rposition(|(o, _)| *o == op)
            .unwrap_or_else(|| panic!("no {op} reached the handler"));
        *seen
            .remove(at)
            .1
            .downcast::<T>()
            .unwrap_or_else(|_| panic!("{op} recorded with another type"))
    }

    fn ops(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().iter().map(|(o, _)| *o).collect()
    }
}

#[derive(Clone)]
struct Stored {
    body: Bytes,
    content_type: Option<String>,
    cache_control: Option<String>,
    metadata: Option<HashMap<String, String>>,
    storage_class: Option<s3t::StorageClass>,
}

struct Upload {
    bucket: String,
    key: String,
    parts: BTreeMap<i32, Bytes>,
}

/// What the streaming PutObject handler measured while reading the body.
#[derive(Debug, Clone, Copy)]
struct StreamStats {
    /// Bytes the client's generator had produced when the handler received its first chunk.
    producer_at_first_chunk: u64,
    total: u64,
    crc32: u32,
}

/// The in-memory S3 test double: keeps objects, buckets and uploads, and records every input.
#[derive(Default)]
struct Memory {
    objects: Mutex<BTreeMap<(String, String), Stored>>,
    /// Bucket name → LocationConstraint it was created with.
    buckets: Mutex<BTreeMap<String, Option<s3t::BucketLocationConstraint>>>,
    uploads: Mutex<BTreeMap<String, Upload>>,
    next_upload: AtomicU64,
    seen: Seen,
    /// The client generator's byte counter, read by the streaming PutObject handler.
    producer: Mutex<Option<Arc<AtomicU64>>>,
    /// Bytes the streaming GetObject body has produced so far.
    served: Arc<AtomicU64>,
}

impl Memory {
    fn bucket_exists(&self, bucket: &str) -> bool {
        self.buckets.lock().unwrap().contains_key(bucket)
            || self
                .objects
                .lock()
                .unwrap()
                .keys()
                .any(|(b, _)| b == bucket)
    }

    fn get(&self, bucket: &str, key: &str) -> Option<Stored> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Keys of `bucket` under `prefix`, rolled up at `delimiter`, after `after`: (objects, common prefixes, truncated).
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> (Vec<(String, Stored)>, Vec<String>, bool) {
        let objects = self.objects.lock().unwrap();
        let mut contents = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut truncated = false;
        for ((b, k), v) in objects.iter() {
            if b != bucket || !k.starts_with(prefix) || after.is_some_and(|a| k.as_str() <= a) {
                continue;
            }
            let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                k[prefix.len()..]
                    .find(d)
                    .map(|i| k[..prefix.len() + i + d.len()].to_owned())
            });
            if let Some(p) = &rolled
                && prefixes.last() == Some(p)
            {
                continue;
            }
            if contents.len() + prefixes.len() == max {
                truncated = true;
                break;
            }
            match rolled {
                Some(p) => prefixes.push(p),
                None => contents.push((k.clone(), v.clone())),
            }
        }
        (contents, prefixes, truncated)
    }
}

fn object_entry(key: &str, stored: &Stored, owner: bool) -> s3t::Object {
    let mut object = s3t::Object::builder()
        .key(key)
        .size(stored.body.len() as i64)
        .e_tag(etag(&stored.body))
        .last_modified(t0())
        .storage_class(s3t::ObjectStorageClass::Standard);
    if owner {
        object = object.owner(
            s3t::Owner::builder()
                .id("owner-id")
                .display_name("owner")
                .build(),
        );
    }
    object.build()
}

/// One deterministic 64 KiB frame of the streamed bodies.
fn frame(i: u64) -> Bytes {
    (0..FRAME)
        .map(|j| (i.wrapping_mul(31) as usize + j * 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn frames_checksum() -> u32 {
    let mut crc = crc32fast::Hasher::new();
    for i in 0..BIG / FRAME as u64 {
        crc.update(&frame(i));
    }
    crc.finalize()
}

/// A 50 MiB body generated frame by frame as it is polled, counting the bytes it has produced.
fn lazy_body(produced: Arc<AtomicU64>) -> ByteStream {
    let frames = futures_util::stream::iter((0..BIG / FRAME as u64).map(move |i| {
        produced.fetch_add(FRAME as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(http_body::Frame::data(frame(i)))
    }));
    ByteStream::from_body_1_x(http_body_util::StreamBody::new(frames))
}

impl S3 for Memory {
    async fn put_object(
        &self,
        mut input: PutObjectInput,
    ) -> Result<PutObjectOutput, PutObjectError> {
        let mut body_stream = std::mem::take(&mut input.body);
        if input.bucket == STREAMING_BUCKET {
            let producer = self.producer.lock().unwrap().clone().expect("producer set");
            let mut stats = StreamStats {
                producer_at_first_chunk: 0,
                total: 0,
                crc32: 0,
            };
            let mut crc = crc32fast::Hasher::new();
            while let Some(chunk) = body_stream.next().await {
                let chunk = chunk.map_err(|e| PutObjectError::validation(e.to_string()))?;
                if stats.total == 0 {
                    stats.producer_at_first_chunk = producer.load(Ordering::SeqCst);
                }
                stats.total += chunk.len() as u64;
                crc.update(&chunk);
            }
            stats.crc32 = crc.finalize();
            self.seen.record("PutObject.stream", stats);
            self.seen.record("PutObject", input);
            return Ok(PutObjectOutput::builder().e_tag("\"streamed\"").build());
        }
        let mut body = Vec::new();
        while let Some(chunk) = body_stream.next().await {
            let chunk = chunk.map_err(|e| PutObjectError::validation(e.to_string()))?;
            body.extend_from_slice(&chunk);
        }
        let tag = etag(&body);
        let body = Bytes::from(body);
        self.seen.record("PutObject.body", body.clone());
        self.objects.lock().unwrap().insert(
            (input.bucket.clone(), input.key.clone()),
            Stored {
                body,
                content_type: input.content_type.clone(),
                cache_control: input.cache_control.clone(),
                metadata: input.metadata.clone(),
                storage_class: input.storage_class.clone(),
            },
        );
        let checksum = input.checksum_crc32.clone();
        self.seen.record("PutObject", input);
        Ok(PutObjectOutput::builder()
            .e_tag(tag)
            .set_checksum_crc32(checksum)
            .build())
    }

    async fn get_object(&self, input: GetObjectInput) -> Result<GetObjectOutput, GetObjectError> {
        self.seen.record("GetObject", input.clone());
        if input.bucket == STREAMING_BUCKET {
            return Ok(GetObjectOutput::builder()
                .content_length(BIG as i64)
                .content_type("application/octet-stream")
                .body(lazy_body(self.served.clone()))
                .build());
        }
        let Some(stored) = self.get(&input.bucket, &input.key) else {
            return Err(GetObjectError::NoSuchKey(
                s3t::error::NoSuchKey::with_message("The specified key does not exist."),
            ));
        };
        let total = stored.body.len();
        let (body, content_range) = match input
            .range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
        {
            Some(range) => {
                let (first, last) = range.split_once('-').expect("first-last range");
                let first: usize = first.parse().expect("first");
                let last: usize = last
                    .parse::<usize>()
                    .map_or(total - 1, |l| l.min(total - 1));
                (
                    stored.body.slice(first..=last),
                    Some(format!("bytes {first}-{last}/{total}")),
                )
            }
            None => (stored.body.clone(), None),
        };
        Ok(GetObjectOutput::builder()
            .e_tag(etag(&stored.body))
            .last_modified(t0())
            .accept_ranges("bytes")
            .content_length(body.len() as i64)
            .set_content_range(content_range)
            .set_content_type(input.response_content_type.or(stored.content_type))
            .set_cache_control(input.response_cache_control.or(stored.cache_control))
            .set_content_disposition(input.response_content_disposition)
            .set_metadata(stored.metadata)
            .body(ByteStream::from(body))
            .build())
    }

    async fn head_object(
        &self,
        input: HeadObjectInput,
    ) -> Result<HeadObjectOutput, HeadObjectError> {
        self.seen.record("HeadObject", input.clone());
        let Some(stored) = self.get(&input.bucket, &input.key) else {
            return Err(HeadObjectError::NoSuchKey(
                s3t::error::NoSuchKey::with_message("Not Found"),
            ));
        };
        Ok(HeadObjectOutput::builder()
            .e_tag(etag(&stored.body))
            .last_modified(t0())
            .content_length(stored.body.len() as i64)
            .set_content_type(stored.content_type)
            .set_cache_control(stored.cache_control)
            .set_metadata(stored.metadata)
            .set_storage_class(stored.storage_class)
            .build())
    }

    async fn delete_object(
        &self,
        input: DeleteObjectInput,
    ) -> Result<DeleteObjectOutput, DeleteObjectError> {
        self.seen.record("DeleteObject", input.clone());
        self.objects
            .lock()
            .unwrap()
            .remove(&(input.bucket, input.key));
        Ok(DeleteObjectOutput::builder().build())
    }

    async fn delete_objects(
        &self,
        input: DeleteObjectsInput,
    ) -> Result<DeleteObjectsOutput, DeleteObjectsError> {
        self.seen.record("DeleteObjects", input.clone());
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in &input.delete.objects {
            if object.key == "locked" {
                errors.push(
                    s3t::Error::builder()
                        .key(object.key.clone())
                        .code("AccessDenied")
                        .message("Access Denied")
                        .build(),
                );
                continue;
            }
            self.objects
                .lock()
                .unwrap()
                .remove(&(input.bucket.clone(), object.key.clone()));
            deleted.push(
                s3t::DeletedObject::builder()
                    .key(object.key.clone())
                    .set_version_id(object.version_id.clone())
                    .build(),
            );
        }
        if input.delete.quiet == Some(true) {
            deleted.clear();
        }
        Ok(DeleteObjectsOutput::builder()
            .deleted(deleted)
            .errors(errors)
            .build())
    }

    async fn list_objects_v2(
        &self,
        input: ListObjectsV2Input,
    ) -> Result<ListObjectsV2Output, ListObjectsV2Error> {
        self.seen.record("ListObjectsV2", input.clone());
        if !self.bucket_exists(&input.bucket) {
            return Err(ListObjectsV2Error::NoSuchBucket(
                s3t::error::NoSuchBucket::with_message("The specified bucket does not exist"),
            ));
        }
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = input.max_keys.unwrap_or(1000) as usize;
        // The continuation token is the last key of the previous page.
        let after = input
            .continuation_token
            .clone()
            .or_else(|| input.start_after.clone());
        let (objects, prefixes, truncated) = self.list(
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            after.as_deref(),
            max,
        );
        let owner = input.fetch_owner == Some(true);
        let next = objects.last().map(|(k, _)| k.clone());
        let contents: Vec<s3t::Object> = objects
            .iter()
            .map(|(k, v)| object_entry(k, v, owner))
            .collect();
        Ok(ListObjectsV2Output::builder()
            .name(input.bucket)
            .prefix(prefix)
            .set_delimiter(input.delimiter)
            .max_keys(max as i32)
            .key_count((contents.len() + prefixes.len()) as i32)
            .is_truncated(truncated)
            .set_continuation_token(input.continuation_token)
            .set_next_continuation_token(next.filter(|_| truncated))
            .set_start_after(input.start_after)
            .set_encoding_type(input.encoding_type)
            .contents(contents)
            .common_prefixes(
                prefixes
                    .into_iter()
                    .map(|p| s3t::CommonPrefix::builder().prefix(p).build())
                    .collect::<Vec<_>>(),
            )
            .build())
    }

    async fn list_objects(
        &self,
        input: ListObjectsInput,
    ) -> Result<ListObjectsOutput, ListObjectsError> {
        self.seen.record("ListObjects", input.clone());
        if !self.bucket_exists(&input.bucket) {
            return Err(ListObjectsError::NoSuchBucket(
                s3t::error::NoSuchBucket::with_message("The specified bucket does not exist"),
            ));
        }
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = input.max_keys.unwrap_or(1000) as usize;
        let (objects, prefixes, truncated) = self.list(
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            input.marker.as_deref(),
            max,
        );
        let next = objects.last().map(|(k, _)| k.clone());
        Ok(ListObjectsOutput::builder()
            .name(input.bucket)
            .prefix(prefix)
            .set_marker(input.marker)
            .set_next_marker(next.filter(|_| truncated))
            .max_keys(max as i32)
            .is_truncated(truncated)
            .contents(
                objects
                    .iter()
                    .map(|(k, v)| object_entry(k, v, true))
                    .collect::<Vec<_>>(),
            )
            .common_prefixes(
                prefixes
                    .into_iter()
                    .map(|p| s3t::CommonPrefix::builder().prefix(p).build())
                    .collect::<Vec<_>>(),
            )
            .build())
    }

    async fn copy_object(
        &self,
        input: CopyObjectInput,
    ) -> Result<CopyObjectOutput, CopyObjectError> {
        self.seen.record("CopyObject", input.clone());
        let source = input.copy_source.trim_start_matches('/');
        let (bucket, key) = source.split_once('/').expect("bucket/key copy source");
        let mut stored = self
            .get(bucket, key)
            .ok_or_else(|| CopyObjectError::validation(format!("no source {source}")))?;
        if input.metadata_directive == Some(s3t::MetadataDirective::Replace) {
            stored.metadata = input.metadata.clone();
        }
        let tag = etag(&stored.body);
        self.objects
            .lock()
            .unwrap()
            .insert((input.bucket, input.key), stored);
        Ok(CopyObjectOutput::builder()
            .copy_object_result(
                s3t::CopyObjectResult::builder()
                    .e_tag(tag)
                    .last_modified(t0())
                    .build(),
            )
            .build())
    }

    async fn create_multipart_upload(
        &self,
        input: CreateMultipartUploadInput,
    ) -> Result<CreateMultipartUploadOutput, CreateMultipartUploadError> {
        self.seen.record("CreateMultipartUpload", input.clone());
        let id = format!("upload-{}", self.next_upload.fetch_add(1, Ordering::SeqCst));
        self.uploads.lock().unwrap().insert(
            id.clone(),
            Upload {
                bucket: input.bucket.clone(),
                key: input.key.clone(),
                parts: BTreeMap::new(),
            },
        );
        Ok(CreateMultipartUploadOutput::builder()
            .bucket(input.bucket)
            .key(input.key)
            .upload_id(id)
            .build())
    }

    async fn upload_part(
        &self,
        mut input: UploadPartInput,
    ) -> Result<UploadPartOutput, UploadPartError> {
        let body = std::mem::take(&mut input.body)
            .collect()
            .await
            .map_err(|e| UploadPartError::validation(e.to_string()))?
            .into_bytes();
        let tag = etag(&body);
        let known = match self.uploads.lock().unwrap().get_mut(&input.upload_id) {
            Some(upload) => {
                upload.parts.insert(input.part_number, body.clone());
                true
            }
            None => false,
        };
        self.seen.record("UploadPart.body", body);
        self.seen.record("UploadPart", input);
        if !known {
            // UploadPart models no NoSuchUpload; any error will do for the double.
            return Err(UploadPartError::validation("unknown upload"));
        }
        Ok(UploadPartOutput::builder().e_tag(tag).build())
    }

    async fn complete_multipart_upload(
        &self,
        input: CompleteMultipartUploadInput,
    ) -> Result<CompleteMultipartUploadOutput, CompleteMultipartUploadError> {
        self.seen.record("CompleteMultipartUpload", input.clone());
        let upload = self
            .uploads
            .lock()
            .unwrap()
            .remove(&input.upload_id)
            .ok_or_else(|| CompleteMultipartUploadError::validation("unknown upload"))?;
        let body: Vec<u8> = upload.parts.values().flat_map(|b| b.to_vec()).collect();
        let tag = format!(
            "\"{}-{}\"",
            etag(&body).trim_matches('"'),
            upload.parts.len()
        );
        self.objects.lock().unwrap().insert(
            (upload.bucket.clone(), upload.key.clone()),
            Stored {
                body: body.into(),
                content_type: None,
                cache_control: None,
                metadata: None,
                storage_class: None,
            },
        );
        Ok(CompleteMultipartUploadOutput::builder()
            .location(format!("http://127.0.0.1/{}/{}", upload.bucket, upload.key))
            .bucket(upload.bucket)
            .key(upload.key)
            .e_tag(tag)
            .build())
    }

    async fn abort_multipart_upload(
        &self,
        input: AbortMultipartUploadInput,
    ) -> Result<AbortMultipartUploadOutput, AbortMultipartUploadError> {
        self.seen.record("AbortMultipartUpload", input.clone());
        // "u" is the upload the raw-HTTP routing tests abort without creating it first.
        if input.upload_id != "u"
            && self
                .uploads
                .lock()
                .unwrap()
                .remove(&input.upload_id)
                .is_none()
        {
            return Err(AbortMultipartUploadError::NoSuchUpload(
                s3t::error::NoSuchUpload::with_message(
                    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
                ),
            ));
        }
        Ok(AbortMultipartUploadOutput::builder().build())
    }

    async fn list_parts(&self, input: ListPartsInput) -> Result<ListPartsOutput, ListPartsError> {
        self.seen.record("ListParts", input.clone());
        let parts: Vec<s3t::Part> = self
            .uploads
            .lock()
            .unwrap()
            .get(&input.upload_id)
            .map(|u| {
                u.parts
                    .iter()
                    .map(|(n, b)| {
                        s3t::Part::builder()
                            .part_number(*n)
                            .e_tag(etag(b))
                            .size(b.len() as i64)
                            .last_modified(t0())
                            .build()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ListPartsOutput::builder()
            .bucket(input.bucket)
            .key(input.key)
            .upload_id(input.upload_id)
            .max_parts(input.max_parts.unwrap_or(1000))
            .is_truncated(false)
            .storage_class(s3t::StorageClass::Standard)
            .parts(parts)
            .build())
    }

    async fn list_multipart_uploads(
        &self,
        input: ListMultipartUploadsInput,
    ) -> Result<ListMultipartUploadsOutput, ListMultipartUploadsError> {
        self.seen.record("ListMultipartUploads", input.clone());
        let uploads: Vec<s3t::MultipartUpload> = self
            .uploads
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, u)| u.bucket == input.bucket)
            .map(|(id, u)| {
                s3t::MultipartUpload::builder()
                    .upload_id(id.clone())
                    .key(u.key.clone())
                    .initiated(t0())
                    .storage_class(s3t::StorageClass::Standard)
                    .build()
            })
            .collect();
        Ok(ListMultipartUploadsOutput::builder()
            .bucket(input.bucket)
            .max_uploads(input.max_uploads.unwrap_or(1000))
            .is_truncated(false)
            .uploads(uploads)
            .build())
    }

    async fn list_buckets(
        &self,
        input: ListBucketsInput,
    ) -> Result<ListBucketsOutput, ListBucketsError> {
        self.seen.record("ListBuckets", input.clone());
        let buckets: Vec<s3t::Bucket> = self
            .buckets
            .lock()
            .unwrap()
            .keys()
            .map(|name| {
                s3t::Bucket::builder()
                    .name(name.clone())
                    .creation_date(t0())
                    .build()
            })
            .collect();
        Ok(ListBucketsOutput::builder()
            .buckets(buckets)
            .owner(
                s3t::Owner::builder()
                    .id("owner-id")
                    .display_name("owner")
                    .build(),
            )
            .build())
    }

    async fn create_bucket(
        &self,
        input: CreateBucketInput,
    ) -> Result<CreateBucketOutput, CreateBucketError> {
        self.seen.record("CreateBucket", input.clone());
        if input.bucket == "taken-by-someone-else" {
            return Err(CreateBucketError::BucketAlreadyExists(
                s3t::error::BucketAlreadyExists::with_message(
                    "The requested bucket name is not available.",
                ),
            ));
        }
        let location = input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.clone());
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.contains_key(&input.bucket) {
            return Err(CreateBucketError::BucketAlreadyOwnedByYou(
                s3t::error::BucketAlreadyOwnedByYou::with_message(
                    "Your previous request to create the named bucket succeeded and you already own it.",
                ),
            ));
        }
        buckets.insert(input.bucket.clone(), location);
        Ok(CreateBucketOutput::builder()
            .location(format!("/{}", input.bucket))
            .build())
    }

    async fn head_bucket(
        &self,
        input: HeadBucketInput,
    ) -> Result<HeadBucketOutput, HeadBucketError> {
        self.seen.record("HeadBucket", input.clone());
        let region = match self.buckets.lock().unwrap().get(&input.bucket) {
            Some(location) => location
                .as_ref()
                .map_or("us-east-1".to_owned(), |l| l.as_str().to_owned()),
            None => {
                return Err(HeadBucketError::NoSuchBucket(
                    s3t::error::NoSuchBucket::with_message("Not Found"),
                ));
            }
        };
        Ok(HeadBucketOutput::builder().bucket_region(region).build())
    }

    async fn delete_bucket(
        &self,
        input: DeleteBucketInput,
    ) -> Result<DeleteBucketOutput, DeleteBucketError> {
        self.seen.record("DeleteBucket", input.clone());
        self.buckets.lock().unwrap().remove(&input.bucket);
        Ok(DeleteBucketOutput::builder().build())
    }

    async fn get_bucket_location(
        &self,
        input: GetBucketLocationInput,
    ) -> Result<GetBucketLocationOutput, GetBucketLocationError> {
        self.seen.record("GetBucketLocation", input.clone());
        let location = self
            .buckets
            .lock()
            .unwrap()
            .get(&input.bucket)
            .cloned()
            .flatten();
        Ok(GetBucketLocationOutput::builder()
            .set_location_constraint(location)
            .build())
    }
}

/// A store that overrides nothing: every operation answers the generated default.
struct Bare;
impl S3 for Bare {}

async fn serve_memory() -> (SocketAddr, Arc<Memory>) {
    let store = Arc::new(Memory::default());
    let app = router(store.clone(), Default::default()).expect("router builds");
    (common::serve_s3(app).await, store)
}

async fn setup() -> (aws_sdk_s3::Client, Arc<Memory>) {
    let (addr, store) = serve_memory().await;
    (common::s3_plain(addr), store)
}

type SdkError<E> = aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>;

/// The body of an SDK error's raw response, as text.
fn raw_body<E>(err: &SdkError<E>) -> String {
    let raw = err.raw_response().expect("raw response");
    String::from_utf8(raw.body().bytes().expect("buffered body").to_vec()).expect("utf-8 body")
}

fn status<E>(err: &SdkError<E>) -> u16 {
    err.raw_response().expect("raw response").status().as_u16()
}

/// Asserts an S3 `<Error>` envelope with `code`, `message`, optional extra elements, and a RequestId.
fn assert_envelope(body: &str, code: &str, message: &str, extra: &str) {
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>"
    );
    assert!(
        body.starts_with(&expected),
        "expected {expected:?}…, got {body:?}"
    );
    assert!(body.ends_with("</Error>"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Existing smoke tests.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_get_head_list_delete() {
    let (client, _) = setup().await;
    let put = client
        .put_object()
        .bucket("your-s3-bucket")
        .key("batch/input 1.jsonl")
        .content_type("application/jsonl")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"{\"recordId\":\"1\"}\n",
        ))
        .send()
        .await
        .expect("put");
    let tag = put.e_tag().expect("etag").to_owned();

    let got = client
        .get_object()
        .bucket("your-s3-bucket")
        .key("batch/input 1.jsonl")
        .send()
        .await
        .expect("get");
    assert_eq!(got.e_tag(), Some(tag.as_str()));
    assert_eq!(got.content_type(), Some("application/jsonl"));
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"{\"recordId\":\"1\"}\n"
    );

    let head = client
        .head_object()
        .bucket("your-s3-bucket")
        .key("batch/input 1.jsonl")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(17));

    let list = client
        .list_objects_v2()
        .bucket("your-s3-bucket")
        .prefix("batch/")
        .send()
        .await
        .expect("list");
    assert_eq!(list.key_count(), Some(1));
    assert_eq!(list.contents()[0].key(), Some("batch/input 1.jsonl"));
    assert_eq!(list.contents()[0].size(), Some(17));

    client
        .delete_object()
        .bucket("your-s3-bucket")
        .key("batch/input 1.jsonl")
        .send()
        .await
        .expect("delete");
    let err = client
        .get_object()
        .bucket("your-s3-bucket")
        .key("batch/input 1.jsonl")
        .send()
        .await
        .expect_err("gone");
    let err = err.into_service_error();
    assert!(err.is_no_such_key(), "{err:?}");
    assert_eq!(
        err.meta().message(),
        Some("The specified key does not exist.")
    );
}

#[tokio::test]
async fn head_error_has_no_body_and_is_typed() {
    let (client, _) = setup().await;
    let err = client
        .head_object()
        .bucket("b")
        .key("missing")
        .send()
        .await
        .expect_err("missing");
    let raw = err.raw_response().expect("raw response");
    assert_eq!(raw.status().as_u16(), 404);
    assert!(raw.body().bytes().is_none_or(|b| b.is_empty()));
}

#[tokio::test]
async fn error_envelope_is_what_s3_sends() {
    let (client, _) = setup().await;
    let err = client
        .get_object()
        .bucket("b")
        .key("dir/missing key")
        .send()
        .await
        .expect_err("missing");
    let raw = err.raw_response().expect("raw response");
    assert_eq!(raw.status().as_u16(), 404);
    let body = std::str::from_utf8(raw.body().bytes().unwrap())
        .unwrap()
        .to_owned();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>dir/missing key</Key><RequestId>"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, as boto3 puts it on the wire.
// ---------------------------------------------------------------------------------------------

struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.status, self.headers, self.text())
    }
}

/// Sends one HTTP/1.1 request over a fresh connection and reads the whole answer.
async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Raw {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "PUT" | "POST") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read answer");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = std::str::from_utf8(&answer[..split]).expect("ascii head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut rest = answer[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut body = Vec::new();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..eol])
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .expect("hex chunk size");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest.drain(..eol + 2 + size + 2);
        }
        rest = body;
    }
    Raw {
        status,
        headers,
        body: rest,
    }
}

// ---------------------------------------------------------------------------------------------
// Objects.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_object_headers_reach_the_handler_and_round_trip() {
    let (client, store) = setup().await;
    let body = b"hello";
    let crc = base64_crc32(body);
    let put = client
        .put_object()
        .bucket("b")
        .key("docs/hello.txt")
        .content_type("text/plain; charset=utf-8")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"hello.txt\"")
        // MD5("hello"), base64.
        .content_md5("XUFAKrxLKna5cZ2REBfFkg==")
        .checksum_crc32(&crc)
        .metadata("project", "bifrost")
        .metadata("run-id", "42")
        .storage_class(sdk::StorageClass::StandardIa)
        .tagging("team=ml&tier=gold")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(body))
        .send()
        .await
        .expect("put");
    assert_eq!(put.e_tag(), Some(etag(body).as_str()));
    assert_eq!(put.checksum_crc32(), Some(crc.as_str()));

    let seen: PutObjectInput = store.seen.take("PutObject");
    assert_eq!(seen.bucket, "b");
    assert_eq!(seen.key, "docs/hello.txt");
    assert_eq!(
        seen.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(seen.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(
        seen.content_disposition.as_deref(),
        Some("attachment; filename=\"hello.txt\"")
    );
    assert_eq!(
        seen.content_md5.as_deref(),
        Some("XUFAKrxLKna5cZ2REBfFkg==")
    );
    assert_eq!(seen.checksum_crc32.as_deref(), Some(crc.as_str()));
    assert_eq!(seen.content_length, Some(5));
    assert_eq!(seen.storage_class, Some(s3t::StorageClass::StandardIa));
    assert_eq!(seen.tagging.as_deref(), Some("team=ml&tier=gold"));
    assert_eq!(seen.content_encoding, None);
    assert_eq!(
        seen.metadata,
        Some(HashMap::from([
            ("project".to_owned(), "bifrost".to_owned()),
            ("run-id".to_owned(), "42".to_owned()),
        ]))
    );
    let stored: Bytes = store.seen.take("PutObject.body");
    assert_eq!(stored.as_ref(), body);

    let head = client
        .head_object()
        .bucket("b")
        .key("docs/hello.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(5));
    assert_eq!(head.e_tag(), Some(etag(body).as_str()));
    assert_eq!(head.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(head.storage_class(), Some(&sdk::StorageClass::StandardIa));
    assert_eq!(head.last_modified(), Some(&t0()));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("project"))
            .map(String::as_str),
        Some("bifrost")
    );
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("run-id"))
            .map(String::as_str),
        Some("42")
    );
}

fn base64_crc32(body: &[u8]) -> String {
    aws_smithy_types::base64::encode(crc32fast::hash(body).to_be_bytes())
}

#[tokio::test]
async fn get_object_range_conditionals_and_overrides_reach_the_handler() {
    let (client, store) = setup().await;
    let body = b"0123456789abcdef";
    client
        .put_object()
        .bucket("b")
        .key("k")
        .content_type("text/plain")
        .metadata("project", "bifrost")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(body))
        .send()
        .await
        .expect("put");
    let since = DateTime::from_secs(1_600_000_000);
    let got = client
        .get_object()
        .bucket("b")
        .key("k")
        .range("bytes=2-5")
        .if_match(etag(body))
        .if_none_match("\"other\"")
        .if_modified_since(since)
        .response_content_type("application/x-override")
        .response_content_disposition("inline; filename=\"x.txt\"")
        .response_cache_control("no-store")
        .send()
        .await
        .expect("get");
    assert_eq!(got.content_range(), Some("bytes 2-5/16"));
    assert_eq!(got.content_length(), Some(4));
    assert_eq!(got.accept_ranges(), Some("bytes"));
    assert_eq!(got.content_type(), Some("application/x-override"));
    assert_eq!(
        got.content_disposition(),
        Some("inline; filename=\"x.txt\"")
    );
    assert_eq!(got.cache_control(), Some("no-store"));
    assert_eq!(got.last_modified(), Some(&t0()));
    assert_eq!(
        got.metadata()
            .and_then(|m| m.get("project"))
            .map(String::as_str),
        Some("bifrost")
    );
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"2345"
    );

    let seen: GetObjectInput = store.seen.take("GetObject");
    assert_eq!(seen.range.as_deref(), Some("bytes=2-5"));
    assert_eq!(seen.if_match.as_deref(), Some(etag(body).as_str()));
    assert_eq!(seen.if_none_match.as_deref(), Some("\"other\""));
    assert_eq!(seen.if_modified_since, Some(since));
    assert_eq!(
        seen.response_content_type.as_deref(),
        Some("application/x-override")
    );
    assert_eq!(
        seen.response_content_disposition.as_deref(),
        Some("inline; filename=\"x.txt\"")
    );
    assert_eq!(seen.response_cache_control.as_deref(), Some("no-store"));
}

/// A ranged GET is answered 206 Partial Content, as S3 does.
#[tokio::test]
async fn ranged_get_answers_206() {
    let (addr, _store) = serve_memory().await;
    let put = raw(addr, "PUT", "/b/k", &[], b"0123456789").await;
    assert_eq!(put.status, 200, "{put:?}");
    let got = raw(addr, "GET", "/b/k", &[("Range", "bytes=0-3")], b"").await;
    assert_eq!(got.header("content-range"), Some("bytes 0-3/10"), "{got:?}");
    assert_eq!(got.body, b"0123");
    // GetObjectOutput models no status member; the S3 protocol answers 206 when Content-Range is set.
    assert_eq!(got.status, 206, "{got:?}");
}

#[tokio::test]
async fn delete_object_and_delete_objects() {
    let (client, store) = setup().await;
    for key in ["a", "b", "c"] {
        client
            .put_object()
            .bucket("bkt")
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("put");
    }
    client
        .delete_object()
        .bucket("bkt")
        .key("c")
        .version_id("v1")
        .send()
        .await
        .expect("delete");
    let seen: DeleteObjectInput = store.seen.take("DeleteObject");
    assert_eq!((seen.bucket.as_str(), seen.key.as_str()), ("bkt", "c"));
    assert_eq!(seen.version_id.as_deref(), Some("v1"));
    assert!(store.get("bkt", "c").is_none());

    let out = client
        .delete_objects()
        .bucket("bkt")
        .delete(
            sdk::Delete::builder()
                .objects(sdk::ObjectIdentifier::builder().key("a").build().unwrap())
                .objects(
                    sdk::ObjectIdentifier::builder()
                        .key("b")
                        .version_id("v2")
                        .build()
                        .unwrap(),
                )
                .objects(
                    sdk::ObjectIdentifier::builder()
                        .key("locked")
                        .build()
                        .unwrap(),
                )
                .quiet(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("delete objects");
    let seen: DeleteObjectsInput = store.seen.take("DeleteObjects");
    assert_eq!(seen.bucket, "bkt");
    assert_eq!(seen.delete.quiet, Some(false));
    let keys: Vec<(&str, Option<&str>)> = seen
        .delete
        .objects
        .iter()
        .map(|o| (o.key.as_str(), o.version_id.as_deref()))
        .collect();
    assert_eq!(keys, [("a", None), ("b", Some("v2")), ("locked", None)]);

    let deleted: Vec<(Option<&str>, Option<&str>)> = out
        .deleted()
        .iter()
        .map(|d| (d.key(), d.version_id()))
        .collect();
    assert_eq!(deleted, [(Some("a"), None), (Some("b"), Some("v2"))]);
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].key(), Some("locked"));
    assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
    assert_eq!(out.errors()[0].message(), Some("Access Denied"));
    assert!(store.get("bkt", "a").is_none());

    client
        .delete_objects()
        .bucket("bkt")
        .delete(
            sdk::Delete::builder()
                .objects(sdk::ObjectIdentifier::builder().key("x").build().unwrap())
                .quiet(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("quiet delete");
    let seen: DeleteObjectsInput = store.seen.take("DeleteObjects");
    assert_eq!(seen.delete.quiet, Some(true));
}

#[tokio::test]
async fn list_objects_v2_parameters_and_response() {
    let (client, store) = setup().await;
    for key in [
        "logs/a.txt",
        "logs/b.txt",
        "logs/c.txt",
        "logs/2024/x.txt",
        "logs/2025/y.txt",
        "other/z.txt",
    ] {
        client
            .put_object()
            .bucket("bkt")
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"abc"))
            .send()
            .await
            .expect("put");
    }
    let page = client
        .list_objects_v2()
        .bucket("bkt")
        .prefix("logs/")
        .delimiter("/")
        .max_keys(3)
        .start_after("logs/")
        .encoding_type(sdk::EncodingType::Url)
        .fetch_owner(true)
        .send()
        .await
        .expect("list");
    let seen: ListObjectsV2Input = store.seen.take("ListObjectsV2");
    assert_eq!(seen.bucket, "bkt");
    assert_eq!(seen.prefix.as_deref(), Some("logs/"));
    assert_eq!(seen.delimiter.as_deref(), Some("/"));
    assert_eq!(seen.max_keys, Some(3));
    assert_eq!(seen.start_after.as_deref(), Some("logs/"));
    assert_eq!(seen.encoding_type, Some(s3t::EncodingType::Url));
    assert_eq!(seen.fetch_owner, Some(true));
    assert_eq!(seen.continuation_token, None);

    let prefixes: Vec<_> = page.common_prefixes().iter().map(|p| p.prefix()).collect();
    assert_eq!(prefixes, [Some("logs/2024/"), Some("logs/2025/")]);
    assert_eq!(page.contents().len(), 1);
    let first = &page.contents()[0];
    assert_eq!(first.key(), Some("logs/a.txt"));
    assert_eq!(first.size(), Some(3));
    assert_eq!(first.e_tag(), Some(etag(b"abc").as_str()));
    assert_eq!(first.last_modified(), Some(&t0()));
    assert_eq!(
        first.storage_class(),
        Some(&sdk::ObjectStorageClass::Standard)
    );
    assert_eq!(first.owner().and_then(|o| o.id()), Some("owner-id"));
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.key_count(), Some(3));
    assert_eq!(page.max_keys(), Some(3));
    assert_eq!(page.delimiter(), Some("/"));
    assert_eq!(page.encoding_type(), Some(&sdk::EncodingType::Url));
    assert_eq!(page.start_after(), Some("logs/"));
    let token = page
        .next_continuation_token()
        .expect("next token")
        .to_owned();
    assert_eq!(token, "logs/a.txt");

    let page = client
        .list_objects_v2()
        .bucket("bkt")
        .prefix("logs/")
        .delimiter("/")
        .continuation_token(&token)
        .send()
        .await
        .expect("page 2");
    let seen: ListObjectsV2Input = store.seen.take("ListObjectsV2");
    assert_eq!(seen.continuation_token.as_deref(), Some("logs/a.txt"));
    assert_eq!(seen.fetch_owner, None);
    assert_eq!(page.continuation_token(), Some("logs/a.txt"));
    let keys: Vec<_> = page.contents().iter().map(|o| o.key()).collect();
    assert_eq!(keys, [Some("logs/b.txt"), Some("logs/c.txt")]);
    assert_eq!(page.is_truncated(), Some(false));
    assert_eq!(page.next_continuation_token(), None);
    assert!(page.contents()[0].owner().is_none());
}

#[tokio::test]
async fn list_objects_v1_marker_and_next_marker() {
    let (client, store) = setup().await;
    for key in ["a", "b", "c", "d"] {
        client
            .put_object()
            .bucket("bkt")
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"1"))
            .send()
            .await
            .expect("put");
    }
    let page = client
        .list_objects()
        .bucket("bkt")
        .marker("a")
        .max_keys(2)
        .send()
        .await
        .expect("list v1");
    let seen: ListObjectsInput = store.seen.take("ListObjects");
    assert_eq!(seen.marker.as_deref(), Some("a"));
    assert_eq!(seen.max_keys, Some(2));
    let keys: Vec<_> = page.contents().iter().map(|o| o.key()).collect();
    assert_eq!(keys, [Some("b"), Some("c")]);
    assert_eq!(page.marker(), Some("a"));
    assert_eq!(page.next_marker(), Some("c"));
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.name(), Some("bkt"));
    assert_eq!(page.contents()[0].size(), Some(1));
    assert_eq!(page.contents()[0].last_modified(), Some(&t0()));
}

#[tokio::test]
async fn copy_object_source_reaches_the_handler() {
    let (client, store) = setup().await;
    client
        .put_object()
        .bucket("src")
        .key("dir/a b.txt")
        .metadata("old", "1")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"copy me"))
        .send()
        .await
        .expect("put");
    let out = client
        .copy_object()
        .bucket("dst")
        .key("copied.txt")
        .copy_source("src/dir/a b.txt")
        .metadata_directive(sdk::MetadataDirective::Replace)
        .metadata("new", "2")
        .send()
        .await
        .expect("copy");
    let seen: CopyObjectInput = store.seen.take("CopyObject");
    assert_eq!(seen.bucket, "dst");
    assert_eq!(seen.key, "copied.txt");
    assert_eq!(seen.copy_source, "src/dir/a b.txt");
    assert_eq!(
        seen.metadata_directive,
        Some(s3t::MetadataDirective::Replace)
    );
    assert_eq!(
        seen.metadata,
        Some(HashMap::from([("new".to_owned(), "2".to_owned())]))
    );
    let result = out.copy_object_result().expect("CopyObjectResult");
    assert_eq!(result.e_tag(), Some(etag(b"copy me").as_str()));
    assert_eq!(result.last_modified(), Some(&t0()));
    assert_eq!(
        store.get("dst", "copied.txt").unwrap().body.as_ref(),
        b"copy me"
    );
}

#[tokio::test]
async fn multipart_upload_lifecycle() {
    let (client, store) = setup().await;
    let created = client
        .create_multipart_upload()
        .bucket("bkt")
        .key("big/file.bin")
        .content_type("application/octet-stream")
        .metadata("project", "bifrost")
        .send()
        .await
        .expect("create");
    let seen: CreateMultipartUploadInput = store.seen.take("CreateMultipartUpload");
    assert_eq!(
        (seen.bucket.as_str(), seen.key.as_str()),
        ("bkt", "big/file.bin")
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        seen.metadata,
        Some(HashMap::from([(
            "project".to_owned(),
            "bifrost".to_owned()
        )]))
    );
    let upload_id = created.upload_id().expect("upload id").to_owned();
    assert_eq!(created.bucket(), Some("bkt"));
    assert_eq!(created.key(), Some("big/file.bin"));

    let mut tags = Vec::new();
    for (n, body) in [(1, &b"part one,"[..]), (2, &b"part two"[..])] {
        let part = client
            .upload_part()
            .bucket("bkt")
            .key("big/file.bin")
            .upload_id(&upload_id)
            .part_number(n)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(body))
            .send()
            .await
            .expect("upload part");
        let seen: UploadPartInput = store.seen.take("UploadPart");
        assert_eq!(seen.part_number, n);
        assert_eq!(seen.upload_id, upload_id);
        assert_eq!(seen.content_length, Some(body.len() as i64));
        let seen_body: Bytes = store.seen.take("UploadPart.body");
        assert_eq!(seen_body.as_ref(), body);
        assert_eq!(part.e_tag(), Some(etag(body).as_str()));
        tags.push(part.e_tag().unwrap().to_owned());
    }

    let parts = client
        .list_parts()
        .bucket("bkt")
        .key("big/file.bin")
        .upload_id(&upload_id)
        .max_parts(10)
        .send()
        .await
        .expect("list parts");
    let seen: ListPartsInput = store.seen.take("ListParts");
    assert_eq!(seen.upload_id, upload_id);
    assert_eq!(seen.max_parts, Some(10));
    let listed: Vec<_> = parts
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.e_tag(), p.size()))
        .collect();
    assert_eq!(
        listed,
        [
            (Some(1), Some(tags[0].as_str()), Some(9)),
            (Some(2), Some(tags[1].as_str()), Some(8)),
        ]
    );
    assert_eq!(parts.parts()[0].last_modified(), Some(&t0()));
    assert_eq!(parts.upload_id(), Some(upload_id.as_str()));
    assert_eq!(parts.is_truncated(), Some(false));

    let uploads = client
        .list_multipart_uploads()
        .bucket("bkt")
        .prefix("big/")
        .send()
        .await
        .expect("list uploads");
    let seen: ListMultipartUploadsInput = store.seen.take("ListMultipartUploads");
    assert_eq!(seen.bucket, "bkt");
    assert_eq!(seen.prefix.as_deref(), Some("big/"));
    assert_eq!(uploads.uploads().len(), 1);
    assert_eq!(uploads.uploads()[0].key(), Some("big/file.bin"));
    assert_eq!(uploads.uploads()[0].upload_id(), Some(upload_id.as_str()));
    assert_eq!(uploads.uploads()[0].initiated(), Some(&t0()));
    assert_eq!(uploads.bucket(), Some("bkt"));

    let done = client
        .complete_multipart_upload()
        .bucket("bkt")
        .key("big/file.bin")
        .upload_id(&upload_id)
        .multipart_upload(
            sdk::CompletedMultipartUpload::builder()
                .parts(
                    sdk::CompletedPart::builder()
                        .e_tag(&tags[0])
                        .part_number(1)
                        .build(),
                )
                .parts(
                    sdk::CompletedPart::builder()
                        .e_tag(&tags[1])
                        .part_number(2)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let seen: CompleteMultipartUploadInput = store.seen.take("CompleteMultipartUpload");
    assert_eq!(seen.upload_id, upload_id);
    let completed: Vec<_> = seen
        .multipart_upload
        .expect("CompleteMultipartUpload body")
        .parts
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.part_number, p.e_tag))
        .collect();
    assert_eq!(
        completed,
        [
            (Some(1), Some(tags[0].clone())),
            (Some(2), Some(tags[1].clone()))
        ]
    );
    assert_eq!(done.bucket(), Some("bkt"));
    assert_eq!(done.key(), Some("big/file.bin"));
    assert_eq!(done.location(), Some("http://127.0.0.1/bkt/big/file.bin"));
    assert!(done.e_tag().expect("etag").ends_with("-2\""));
    assert_eq!(
        store.get("bkt", "big/file.bin").unwrap().body.as_ref(),
        b"part one,part two"
    );

    // Abort: a live upload goes away; an unknown one is NoSuchUpload.
    let other = client
        .create_multipart_upload()
        .bucket("bkt")
        .key("other")
        .send()
        .await
        .expect("create");
    let other_id = other.upload_id().unwrap().to_owned();
    client
        .abort_multipart_upload()
        .bucket("bkt")
        .key("other")
        .upload_id(&other_id)
        .send()
        .await
        .expect("abort");
    let seen: AbortMultipartUploadInput = store.seen.take("AbortMultipartUpload");
    assert_eq!(
        (seen.key.as_str(), seen.upload_id.as_str()),
        ("other", other_id.as_str())
    );
    let err = client
        .abort_multipart_upload()
        .bucket("bkt")
        .key("other")
        .upload_id(&other_id)
        .send()
        .await
        .expect_err("already aborted");
    assert_eq!(status(&err), 404);
    assert_envelope(
        &raw_body(&err),
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        "",
    );
    assert!(err.into_service_error().is_no_such_upload());
}

// ---------------------------------------------------------------------------------------------
// Buckets.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bucket_lifecycle_and_typed_errors() {
    let (client, store) = setup().await;
    let out = client
        .create_bucket()
        .bucket("plain-bucket")
        .send()
        .await
        .expect("create in us-east-1");
    assert_eq!(out.location(), Some("/plain-bucket"));
    let seen: CreateBucketInput = store.seen.take("CreateBucket");
    assert_eq!(seen.bucket, "plain-bucket");
    assert_eq!(seen.create_bucket_configuration, None);

    client
        .create_bucket()
        .bucket("eu-bucket")
        .create_bucket_configuration(
            sdk::CreateBucketConfiguration::builder()
                .location_constraint(sdk::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create in eu-west-1");
    let seen: CreateBucketInput = store.seen.take("CreateBucket");
    assert_eq!(
        seen.create_bucket_configuration
            .and_then(|c| c.location_constraint),
        Some(s3t::BucketLocationConstraint::EuWest1)
    );

    let head = client
        .head_bucket()
        .bucket("eu-bucket")
        .send()
        .await
        .expect("head bucket");
    assert_eq!(head.bucket_region(), Some("eu-west-1"));
    assert_eq!(
        store.seen.take::<HeadBucketInput>("HeadBucket").bucket,
        "eu-bucket"
    );

    let buckets = client.list_buckets().send().await.expect("list buckets");
    store.seen.take::<ListBucketsInput>("ListBuckets");
    let names: Vec<_> = buckets.buckets().iter().map(|b| b.name()).collect();
    assert_eq!(names, [Some("eu-bucket"), Some("plain-bucket")]);
    assert_eq!(buckets.buckets()[0].creation_date(), Some(&t0()));
    assert_eq!(buckets.owner().and_then(|o| o.id()), Some("owner-id"));

    // Creating again: typed 409s with the bucket named in the envelope.
    let err = client
        .create_bucket()
        .bucket("plain-bucket")
        .send()
        .await
        .expect_err("owned");
    assert_eq!(status(&err), 409);
    assert_envelope(
        &raw_body(&err),
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        "<BucketName>plain-bucket</BucketName>",
    );
    assert!(err.into_service_error().is_bucket_already_owned_by_you());
    let err = client
        .create_bucket()
        .bucket("taken-by-someone-else")
        .send()
        .await
        .expect_err("taken");
    assert_eq!(status(&err), 409);
    assert_envelope(
        &raw_body(&err),
        "BucketAlreadyExists",
        "The requested bucket name is not available.",
        "<BucketName>taken-by-someone-else</BucketName>",
    );
    assert!(err.into_service_error().is_bucket_already_exists());

    client
        .delete_bucket()
        .bucket("plain-bucket")
        .send()
        .await
        .expect("delete bucket");
    assert_eq!(
        store.seen.take::<DeleteBucketInput>("DeleteBucket").bucket,
        "plain-bucket"
    );

    // HEAD on the deleted bucket: 404 without a body.
    let err = client
        .head_bucket()
        .bucket("plain-bucket")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(status(&err), 404);
    assert!(
        err.raw_response()
            .unwrap()
            .body()
            .bytes()
            .is_none_or(|b| b.is_empty())
    );
    assert!(err.into_service_error().is_not_found());
}

/// GetBucketLocation's output is `@s3UnwrappedXmlOutput`: the value is the root element's text.
#[tokio::test]
async fn get_bucket_location_is_unwrapped() {
    let (addr, store) = serve_memory().await;
    let client = common::s3_plain(addr);
    {
        let mut buckets = store.buckets.lock().unwrap();
        buckets.insert("plain-bucket".to_owned(), None);
        buckets.insert(
            "eu-bucket".to_owned(),
            Some(s3t::BucketLocationConstraint::EuWest1),
        );
    }
    let us = client
        .get_bucket_location()
        .bucket("plain-bucket")
        .send()
        .await
        .expect("location us-east-1");
    assert_eq!(
        store
            .seen
            .take::<GetBucketLocationInput>("GetBucketLocation")
            .bucket,
        "plain-bucket"
    );
    // S3 sends `<LocationConstraint xmlns="…"/>`, which aws-sdk-s3 reads as an empty value.
    assert_eq!(
        us.location_constraint().map_or("", |c| c.as_str()),
        "",
        "{us:?}"
    );
    let raw_us = raw(addr, "GET", "/plain-bucket?location", &[], b"").await;
    assert_eq!(raw_us.status, 200, "{raw_us:?}");
    let text = raw_us.text();
    let root = text
        .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .trim();
    assert!(
        root == format!("<LocationConstraint {S3_XMLNS}/>")
            || root == format!("<LocationConstraint {S3_XMLNS}></LocationConstraint>"),
        "{raw_us:?}"
    );

    // Regression: the runtime ignores `@s3UnwrappedXmlOutput` and nests
    // `<LocationConstraint>` twice, which aws-sdk-s3 cannot parse; the S3 protocol unwraps it.
    let raw_eu = raw(addr, "GET", "/eu-bucket?location", &[], b"").await;
    assert_eq!(raw_eu.status, 200, "{raw_eu:?}");
    assert!(
        raw_eu.text().ends_with(&format!(
            "<LocationConstraint {S3_XMLNS}>eu-west-1</LocationConstraint>"
        )),
        "{raw_eu:?}"
    );
    let eu = client
        .get_bucket_location()
        .bucket("eu-bucket")
        .send()
        .await
        .expect("location eu-west-1");
    assert_eq!(
        eu.location_constraint(),
        Some(&sdk::BucketLocationConstraint::EuWest1)
    );
}

#[tokio::test]
async fn list_on_a_missing_bucket_is_no_such_bucket() {
    let (client, _) = setup().await;
    let err = client
        .list_objects_v2()
        .bucket("never-created")
        .send()
        .await
        .expect_err("missing bucket");
    assert_eq!(status(&err), 404);
    assert_envelope(
        &raw_body(&err),
        "NoSuchBucket",
        "The specified bucket does not exist",
        "<BucketName>never-created</BucketName>",
    );
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.headers().get("content-type"), Some("application/xml"));
    assert!(err.into_service_error().is_no_such_bucket());
}

// ---------------------------------------------------------------------------------------------
// Keys.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unusual_keys_reach_the_handler_verbatim() {
    let (client, store) = setup().await;
    let long = "k".repeat(1024);
    let keys = [
        "with space/and more.txt",
        "données/✓.jsonl",
        "a//b",
        "literal%2Fslash",
        "plus+sign=eq&amp",
        "trailing/",
        long.as_str(),
    ];
    for key in keys {
        client
            .put_object()
            .bucket("keys")
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(
                key.as_bytes().to_vec(),
            ))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e:?}"));
        let seen: PutObjectInput = store.seen.take("PutObject");
        assert_eq!(seen.key, key, "PutObject key");
        let got = client
            .get_object()
            .bucket("keys")
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {e:?}"));
        let seen: GetObjectInput = store.seen.take("GetObject");
        assert_eq!(seen.key, key, "GetObject key");
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            key.as_bytes()
        );
    }
    let list = client
        .list_objects_v2()
        .bucket("keys")
        .send()
        .await
        .expect("list");
    let mut listed: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    listed.sort();
    let mut expected = keys.to_vec();
    expected.sort();
    assert_eq!(listed, expected);
}

// ---------------------------------------------------------------------------------------------
// Streaming.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_object_streams_50_mib_into_the_handler() {
    let (client, store) = setup().await;
    let produced = Arc::new(AtomicU64::new(0));
    *store.producer.lock().unwrap() = Some(produced.clone());
    client
        .put_object()
        .bucket(STREAMING_BUCKET)
        .key("big.bin")
        .content_length(BIG as i64)
        .body(lazy_body(produced.clone()))
        .send()
        .await
        .expect("streamed put");
    let stats: StreamStats = store.seen.take("PutObject.stream");
    assert_eq!(produced.load(Ordering::SeqCst), BIG);
    assert_eq!(stats.total, BIG);
    assert_eq!(stats.crc32, frames_checksum());
    assert!(
        stats.producer_at_first_chunk < FAR_BELOW,
        "the handler's first chunk came after {} bytes were produced: the body was buffered",
        stats.producer_at_first_chunk
    );
    let seen: PutObjectInput = store.seen.take("PutObject");
    assert_eq!(seen.content_length, Some(BIG as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_object_streams_50_mib_out_of_the_handler() {
    let (client, store) = setup().await;
    let mut out = client
        .get_object()
        .bucket(STREAMING_BUCKET)
        .key("big.bin")
        .send()
        .await
        .expect("streamed get");
    assert_eq!(out.content_length(), Some(BIG as i64));
    let mut served_at_first_chunk = None;
    let mut total = 0u64;
    let mut crc = crc32fast::Hasher::new();
    while let Some(chunk) = out.body.try_next().await.expect("body chunk") {
        if served_at_first_chunk.is_none() {
            served_at_first_chunk = Some(store.served.load(Ordering::SeqCst));
        }
        total += chunk.len() as u64;
        crc.update(&chunk);
    }
    let served_at_first_chunk = served_at_first_chunk.expect("a first chunk");
    assert_eq!(total, BIG);
    assert_eq!(crc.finalize(), frames_checksum());
    assert_eq!(store.served.load(Ordering::SeqCst), BIG);
    assert!(
        served_at_first_chunk < FAR_BELOW,
        "the client's first chunk came after the server produced {served_at_first_chunk} bytes: the body was buffered"
    );
}

/// Today the runtime hands the handler the aws-chunked body as sent; decoding it is the gateway's job.
#[tokio::test]
async fn aws_chunked_put_reaches_the_handler_undecoded() {
    let (addr, store) = serve_memory().await;
    let client = common::s3(addr);
    let payload = b"{\"recordId\":\"1\"}\n";
    // An in-memory body gets its checksum in a header; a streaming one is sent aws-chunked.
    let frames = futures_util::stream::iter([Ok::<_, std::io::Error>(http_body::Frame::data(
        Bytes::from_static(payload),
    ))]);
    client
        .put_object()
        .bucket("b")
        .key("chunked.jsonl")
        .content_length(payload.len() as i64)
        .body(ByteStream::from_body_1_x(http_body_util::StreamBody::new(
            frames,
        )))
        .send()
        .await
        .expect("aws-chunked put");
    let seen: PutObjectInput = store.seen.take("PutObject");
    let body: Bytes = store.seen.take("PutObject.body");
    assert!(
        seen.content_encoding
            .as_deref()
            .is_some_and(|e| e.contains("aws-chunked")),
        "{:?}",
        seen.content_encoding
    );
    assert_eq!(seen.checksum_algorithm, Some(s3t::ChecksumAlgorithm::Crc32));
    // The first line is the hex size of the payload's only chunk (signed over plain HTTP), then
    // the payload, a zero-size chunk and the trailing checksum.
    let text = String::from_utf8_lossy(&body);
    let (first_line, rest) = text.split_once("\r\n").expect("a chunk size line");
    let size = first_line.split(';').next().unwrap();
    assert_eq!(
        usize::from_str_radix(size, 16),
        Ok(payload.len()),
        "{text:?}"
    );
    assert!(
        rest.starts_with(std::str::from_utf8(payload).unwrap()),
        "{text:?}"
    );
    assert!(text.contains("\r\n0"), "{text:?}");
    assert!(
        text.contains(&format!(
            "x-amz-checksum-crc32:{}\r\n",
            base64_crc32(payload)
        )),
        "{text:?}"
    );
    assert_ne!(body.as_ref(), payload);
    assert_eq!(seen.content_length, Some(body.len() as i64));
    // The decoded length (`x-amz-decoded-content-length`) is not a modeled PutObject member, so
    // the handler cannot see it; nor does the trailing checksum reach `checksum_crc32`.
    assert_eq!(seen.checksum_crc32, None);
}

// ---------------------------------------------------------------------------------------------
// boto3-shaped wire requests.
// ---------------------------------------------------------------------------------------------

/// method, target, headers, body, the operation it must reach, its status, and its XML root.
type RouteCase = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [u8],
    &'static str,
    u16,
    Option<&'static str>,
);

#[tokio::test]
async fn boto3_style_requests_route_to_the_right_operation() {
    let (addr, store) = serve_memory().await;

    let put = raw(
        addr,
        "PUT",
        "/your-s3-bucket/bifrost-batch-input/a.jsonl",
        &[("Content-Type", "application/jsonl")],
        b"{}\n",
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let seen: PutObjectInput = store.seen.take("PutObject");
    assert_eq!(
        (seen.bucket.as_str(), seen.key.as_str()),
        ("your-s3-bucket", "bifrost-batch-input/a.jsonl")
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/jsonl"));
    assert_eq!(put.header("etag"), Some(etag(b"{}\n").as_str()));

    store
        .buckets
        .lock()
        .unwrap()
        .insert("openai-files".to_owned(), None);
    let list = raw(
        addr,
        "GET",
        "/openai-files/?list-type=2&prefix=x%2F&encoding-type=url",
        &[],
        b"",
    )
    .await;
    assert_eq!(list.status, 200, "{list:?}");
    let seen: ListObjectsV2Input = store.seen.take("ListObjectsV2");
    assert_eq!(seen.bucket, "openai-files");
    assert_eq!(seen.prefix.as_deref(), Some("x/"));
    assert_eq!(seen.encoding_type, Some(s3t::EncodingType::Url));
    assert!(
        list.text()
            .contains(&format!("<ListBucketResult {S3_XMLNS}>")),
        "{list:?}"
    );
    assert_eq!(
        list.header("content-type"),
        Some("application/xml"),
        "{list:?}"
    );

    store.buckets.lock().unwrap().insert(
        "bucket".to_owned(),
        Some(s3t::BucketLocationConstraint::EuWest1),
    );
    let location = raw(addr, "GET", "/bucket?location", &[], b"").await;
    assert_eq!(location.status, 200, "{location:?}");
    assert_eq!(
        store
            .seen
            .take::<GetBucketLocationInput>("GetBucketLocation")
            .bucket,
        "bucket"
    );
    // The exact unwrapped body is checked by `get_bucket_location_is_unwrapped`.
    assert!(
        location
            .text()
            .contains(&format!("<LocationConstraint {S3_XMLNS}>")),
        "{location:?}"
    );

    let buckets = raw(addr, "GET", "/", &[], b"").await;
    assert_eq!(buckets.status, 200, "{buckets:?}");
    store.seen.take::<ListBucketsInput>("ListBuckets");
    assert!(
        buckets
            .text()
            .contains(&format!("<ListAllMyBucketsResult {S3_XMLNS}>")),
        "{buckets:?}"
    );
    assert!(
        buckets.text().contains("<Name>bucket</Name>"),
        "{buckets:?}"
    );

    let abort = raw(addr, "DELETE", "/b/k?uploadId=u", &[], b"").await;
    assert!((200..300).contains(&abort.status), "{abort:?}");
    let seen: AbortMultipartUploadInput = store.seen.take("AbortMultipartUpload");
    assert_eq!(
        (
            seen.bucket.as_str(),
            seen.key.as_str(),
            seen.upload_id.as_str()
        ),
        ("b", "k", "u")
    );

    // Every other operation, as a path-style client without x-id sends it.
    let cases: &[RouteCase] = &[
        ("GET", "/your-s3-bucket/bifrost-batch-input/a.jsonl", &[], b"", "GetObject", 200, None),
        ("HEAD", "/your-s3-bucket/bifrost-batch-input/a.jsonl", &[], b"", "HeadObject", 200, None),
        ("GET", "/bucket", &[], b"", "ListObjects", 200, Some("<ListBucketResult ")),
        ("GET", "/bucket/", &[], b"", "ListObjects", 200, Some("<ListBucketResult ")),
        ("POST", "/b/k?uploads", &[], b"", "CreateMultipartUpload", 200, Some("<InitiateMultipartUploadResult ")),
        ("GET", "/b?uploads", &[], b"", "ListMultipartUploads", 200, Some("<ListMultipartUploadsResult ")),
        ("GET", "/b/k?uploadId=upload-0", &[], b"", "ListParts", 200, Some("<ListPartsResult ")),
        ("PUT", "/b/k?partNumber=1&uploadId=upload-0", &[], b"part", "UploadPart", 200, None),
        (
            "POST",
            "/b/k?uploadId=upload-0",
            &[("Content-Type", "application/xml")],
            b"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>\"e1\"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
            "CompleteMultipartUpload",
            200,
            Some("<CompleteMultipartUploadResult "),
        ),
        (
            "PUT",
            "/b/copy",
            &[("x-amz-copy-source", "/your-s3-bucket/bifrost-batch-input/a.jsonl")],
            b"",
            "CopyObject",
            200,
            Some("<CopyObjectResult "),
        ),
        ("PUT", "/new-bucket", &[], b"", "CreateBucket", 200, None),
        ("PUT", "/new-bucket-2/", &[], b"", "CreateBucket", 200, None),
        ("HEAD", "/new-bucket", &[], b"", "HeadBucket", 200, None),
        (
            "POST",
            "/b?delete",
            &[
                ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
                ("Content-Type", "application/xml"),
            ],
            b"<Delete><Object><Key>gone</Key></Object></Delete>",
            "DeleteObjects",
            200,
            Some("<DeleteResult "),
        ),
        ("DELETE", "/b/copy", &[], b"", "DeleteObject", 204, None),
        ("DELETE", "/new-bucket", &[], b"", "DeleteBucket", 204, None),
    ];
    let mut wrong = Vec::new();
    for (method, target, headers, body, op, want, root) in cases {
        let answer = raw(addr, method, target, headers, body).await;
        let routed = store.seen.ops().last().copied() == Some(*op);
        // The exact code of the 204 operations is `delete_operations_answer_204`'s concern.
        let status_ok = answer.status / 100 == *want / 100;
        let root_ok = root.is_none_or(|r| {
            let r = if r.ends_with(' ') {
                format!("{r}{S3_XMLNS}>")
            } else {
                format!("{r}>")
            };
            answer.text().contains(&r)
        });
        if !(routed && status_ok && root_ok) {
            wrong.push(format!("{method} {target} (want {op}) → {answer:?}"));
        }
    }
    let seen: UploadPartInput = store.seen.take("UploadPart");
    assert_eq!((seen.part_number, seen.upload_id.as_str()), (1, "upload-0"));
    let seen: CompleteMultipartUploadInput = store.seen.take("CompleteMultipartUpload");
    let part = &seen.multipart_upload.unwrap().parts.unwrap()[0];
    assert_eq!(
        (part.part_number, part.e_tag.as_deref()),
        (Some(1), Some("\"e1\""))
    );
    let seen: CopyObjectInput = store.seen.take("CopyObject");
    assert_eq!(
        seen.copy_source,
        "/your-s3-bucket/bifrost-batch-input/a.jsonl"
    );
    let seen: CreateBucketInput = store.seen.take("CreateBucket");
    assert_eq!(seen.bucket, "new-bucket-2");
    let seen: DeleteObjectsInput = store.seen.take("DeleteObjects");
    assert_eq!(seen.delete.objects[0].key, "gone");
    assert!(
        wrong.is_empty(),
        "misrouted or misanswered:\n{}",
        wrong.join("\n")
    );
}

/// AbortMultipartUpload, DeleteObject and DeleteBucket are modeled `@http(code: 204)`, and S3 answers 204.
#[tokio::test]
async fn delete_operations_answer_204() {
    let (addr, store) = serve_memory().await;
    store.buckets.lock().unwrap().insert("b".to_owned(), None);
    let mut statuses = Vec::new();
    for (method, target, op) in [
        ("DELETE", "/b/k?uploadId=u", "AbortMultipartUpload"),
        ("DELETE", "/b/k", "DeleteObject"),
        ("DELETE", "/b", "DeleteBucket"),
    ] {
        let answer = raw(addr, method, target, &[], b"").await;
        assert_eq!(store.seen.ops().last().copied(), Some(op), "{answer:?}");
        assert!(answer.body.is_empty(), "{answer:?}");
        statuses.push((op, answer.status));
    }
    // Regression: the modeled `@http(code: 204)` must reach the wire (it is read from the output schema).
    assert_eq!(
        statuses,
        [
            ("AbortMultipartUpload", 204),
            ("DeleteObject", 204),
            ("DeleteBucket", 204)
        ]
    );
}

#[tokio::test]
async fn copy_object_result_has_the_s3_namespace() {
    let (addr, store) = serve_memory().await;
    let put = raw(addr, "PUT", "/src/a", &[], b"a").await;
    assert_eq!(put.status, 200, "{put:?}");
    let copy = raw(
        addr,
        "PUT",
        "/dst/b",
        &[("x-amz-copy-source", "/src/a")],
        b"",
    )
    .await;
    assert_eq!(copy.status, 200, "{copy:?}");
    assert_eq!(
        store.seen.take::<CopyObjectInput>("CopyObject").copy_source,
        "/src/a"
    );
    // Regression: an `@httpPayload` root must carry the S3 namespace, as every S3 result root does.
    assert!(
        copy.text()
            .contains(&format!("<CopyObjectResult {S3_XMLNS}>")),
        "{copy:?}"
    );
}

#[tokio::test]
async fn malformed_delete_objects_xml_is_malformed_xml() {
    let (addr, store) = serve_memory().await;
    let bodies: &[&[u8]] = &[
        b"this is not xml",
        b"<Delete><Object><Key>a</Object></Delete>",
        b"<Delete><Object><Key>a</Key></Object>",
        b"<Delete><Object><Key>a</Key></Object",
    ];
    let mut wrong = Vec::new();
    for body in bodies {
        let answer = raw(
            addr,
            "POST",
            "/b?delete",
            &[
                ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
                ("Content-Type", "application/xml"),
            ],
            body,
        )
        .await;
        let envelope = answer.status == 400
            && answer.text().starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>MalformedXML</Code><Message>",
            )
            && answer.text().contains("<RequestId>");
        if !envelope {
            wrong.push(format!("{:?} → {answer:?}", String::from_utf8_lossy(body)));
        }
    }
    // Regression: the runtime's lenient XML parser accepts unterminated documents unless the
    // protocol asks it to validate the whole document.
    assert!(wrong.is_empty(), "not MalformedXML:\n{}", wrong.join("\n"));
    assert!(store.seen.ops().is_empty(), "{:?}", store.seen.ops());
}

#[tokio::test]
async fn unknown_method_answers_an_s3_error_envelope() {
    let (addr, store) = serve_memory().await;
    let answer = raw(addr, "PATCH", "/b/k", &[], b"").await;
    assert!((400..500).contains(&answer.status), "{answer:?}");
    assert_ne!(answer.text().trim(), "{}", "{answer:?}");
    assert!(
        answer
            .text()
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>MethodNotAllowed</Code><Message>"),
        "{answer:?}"
    );
    assert_eq!(answer.status, 405, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/xml"));
    assert!(store.seen.ops().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Defaults.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn default_operations_answer_not_implemented() {
    let app = router(Arc::new(Bare), Default::default()).expect("router builds");
    let addr = common::serve_s3(app).await;
    let client = common::s3_plain(addr);
    let err = client
        .list_buckets()
        .send()
        .await
        .expect_err("not implemented");
    assert_eq!(status(&err), 501);
    let body = raw_body(&err);
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NotImplemented</Code><Message>"),
        "{body}"
    );
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("NotImplemented")
    );

    let answer = raw(addr, "GET", "/b/k", &[], b"").await;
    assert_eq!(answer.status, 501, "{answer:?}");
    assert!(
        answer.text().contains("<Code>NotImplemented</Code>"),
        "{answer:?}"
    );
}

/// botocore's rest-xml serializer sets no Content-Type on XML bodies (only rest-json does), and S3
/// accepts them.
#[tokio::test]
async fn boto3_xml_bodies_without_content_type_are_accepted() {
    let (addr, store) = serve_memory().await;
    let bodies: &[(&str, &str, &[u8], &str)] = &[
        (
            "POST",
            "/b?delete",
            b"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>gone</Key></Object><Quiet>true</Quiet></Delete>",
            "DeleteObjects",
        ),
        (
            "PUT",
            "/eu-bucket",
            b"<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
            "CreateBucket",
        ),
    ];
    for (method, target, body, op) in bodies {
        let answer = raw(
            addr,
            method,
            target,
            &[("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
            body,
        )
        .await;
        // Regression: botocore sends XML bodies without Content-Type, which the runtime rejects
        // unless the S3 request layer supplies one.
        assert_eq!(answer.status, 200, "{method} {target} → {answer:?}");
        assert_eq!(store.seen.ops().last().copied(), Some(*op), "{answer:?}");
    }
    let seen: DeleteObjectsInput = store.seen.take("DeleteObjects");
    assert_eq!(seen.delete.objects[0].key, "gone");
    assert_eq!(seen.delete.quiet, Some(true));
    let seen: CreateBucketInput = store.seen.take("CreateBucket");
    assert_eq!(
        seen.create_bucket_configuration
            .and_then(|c| c.location_constraint),
        Some(s3t::BucketLocationConstraint::EuWest1)
    );
}
