//! A job's input and output in the file store: `s3://` URIs resolved to stored objects, input
//! read line by line off the async threads, output files written whole or not at all.

use std::io::BufRead as _;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use md5::Digest as _;

use crate::files::names::{BucketName, Namespace, ObjectKey};
use crate::files::store::{
    Attributes, NewObject, ObjectInfo, Observer, Store, StoreError, StoredHeaders,
};

/// Longest input line read whole; a longer one becomes an error record (Bedrock's own record
/// limits are far below this).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// `s3://bucket/key-or-prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    pub bucket: BucketName,
    pub key: String,
}

impl S3Uri {
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{uri} is not an s3:// URI"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket =
            BucketName::parse(bucket).map_err(|_| format!("{uri} does not name a valid bucket"))?;
        Ok(Self {
            bucket,
            key: key.to_owned(),
        })
    }

    /// The key of `name` under this URI taken as a folder.
    pub fn child(&self, name: &str) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            format!("{}{name}", self.key)
        } else {
            format!("{}/{name}", self.key)
        }
    }
}

/// One input file of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub bucket: BucketName,
    pub info: ObjectInfo,
}

impl InputFile {
    /// The file's name, as the output file is named after it (`batch.jsonl` → `batch.jsonl.out`).
    pub fn name(&self) -> &str {
        self.info.key.rsplit('/').next().unwrap_or(&self.info.key)
    }
}

/// Why a URI names no input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The input files an `s3InputDataConfig.s3Uri` names: the object itself; else, as Bedrock
/// reads a folder, every `.jsonl` object under it; else an object whose provider file id is the
/// key (`s3://openai-files/file-abc`, as the files-and-batch seed writes it).
pub async fn resolve_input(
    store: &Store,
    ns: &Namespace,
    uri: &S3Uri,
    raw: &str,
) -> Result<Vec<InputFile>, InputError> {
    let missing = || InputError::Invalid(format!("The input S3 URI {raw} does not exist."));
    if !uri.key.is_empty()
        && !uri.key.ends_with('/')
        && let Ok(key) = ObjectKey::parse(&uri.key)
    {
        match store.head(ns, &uri.bucket, &key).await {
            Ok(info) => {
                return Ok(vec![InputFile {
                    bucket: uri.bucket.clone(),
                    info,
                }]);
            }
            Err(StoreError::NoSuchKey) => {}
            Err(StoreError::NoSuchBucket) => return Err(missing()),
            Err(e) => return Err(e.into()),
        }
        if let Some(info) = store.by_remote_id(ns, &uri.bucket, &uri.key).await? {
            return Ok(vec![InputFile {
                bucket: uri.bucket.clone(),
                info,
            }]);
        }
    }
    let prefix = uri.child("");
    let query = crate::files::store::ListQuery {
        prefix: prefix.clone(),
        delimiter: None,
        after: None,
        max_keys: 1000,
    };
    let page = match store.list(ns, &uri.bucket, query).await {
        Ok(page) => page,
        Err(StoreError::NoSuchBucket) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let files: Vec<InputFile> = page
        .entries
        .into_iter()
        .filter_map(|entry| match entry {
            crate::files::store::Entry::Object(info) if info.key.ends_with(".jsonl") => {
                Some(InputFile {
                    bucket: uri.bucket.clone(),
                    info: *info,
                })
            }
            _ => None,
        })
        .collect();
    if files.is_empty() {
        return Err(missing());
    }
    Ok(files)
}

/// One line of an input file: its bytes without the newline, or `Err(len)` for a line longer
/// than [`MAX_LINE_BYTES`] (skipped, never held).
pub type Line = Result<Vec<u8>, usize>;

/// The file's lines, read on a blocking thread a few at a time.
pub async fn lines(
    store: &Store,
    ns: &Namespace,
    file: &InputFile,
) -> Result<impl Stream<Item = std::io::Result<Line>> + Send + 'static, StoreError> {
    let key = ObjectKey::parse(&file.info.key).map_err(|_| StoreError::NoSuchKey)?;
    let (_, body) = store.open_object(ns, &file.bucket, &key).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Line>>(64);
    tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, body);
        loop {
            let mut line = Vec::new();
            // Bytes of a line too long to hold: counted, dropped.
            let mut overflow = 0usize;
            let mut saw_any = false;
            let mut newline = false;
            while !newline {
                let buf = match reader.fill_buf() {
                    Ok(buf) => buf,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                if buf.is_empty() {
                    break;
                }
                saw_any = true;
                let len = match buf.iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        newline = true;
                        i
                    }
                    None => buf.len(),
                };
                if overflow == 0 && line.len() + len <= MAX_LINE_BYTES {
                    line.extend_from_slice(&buf[..len]);
                } else {
                    overflow += line.len() + len;
                    line = Vec::new();
                }
                reader.consume(len + usize::from(newline));
            }
            if !saw_any {
                return;
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let item = if overflow > 0 {
                Err(overflow)
            } else {
                Ok(line)
            };
            if tx.blocking_send(Ok(item)).is_err() || !newline {
                return;
            }
        }
    });
    Ok(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

struct Md5(md5::Md5);

impl Observer for Md5 {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// Writes `chunks` as `bucket/key` (creating the bucket): the object appears whole once every
/// chunk is on disk, or not at all.
pub async fn write_object(
    store: &Store,
    ns: &Namespace,
    bucket: &BucketName,
    key: &str,
    content_type: &str,
    chunks: impl Stream<Item = Result<Bytes, StoreError>>,
) -> Result<ObjectInfo, StoreError> {
    let key = ObjectKey::parse(key).map_err(|_| {
        StoreError::Io(std::io::Error::other(format!(
            "output key {key} is not a valid key"
        )))
    })?;
    let mut spool = store.spool(Md5(md5::Md5::new()));
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.next().await {
        spool.write(chunk?).await?;
    }
    let (Md5(md5), body) = spool.finish().await?;
    let etag = format!("\"{}\"", hex::encode(md5.finalize()));
    store
        .commit(
            ns,
            bucket,
            &key,
            body,
            NewObject {
                etag,
                attributes: Attributes {
                    headers: StoredHeaders {
                        content_type: Some(content_type.to_owned()),
                        ..StoredHeaders::default()
                    },
                    metadata: Default::default(),
                },
                checksum: None,
                parts: None,
                remote_id: None,
            },
            true,
        )
        .await
}
