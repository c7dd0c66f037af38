//! The durable local object store: bodies as files under the data dir, everything else in SQLite.
//!
//! A body is streamed to `tmp/`, synced, renamed into `objects/<random id>` and only then made
//! visible by one database commit; keys never become paths, so no key can escape the data dir.
//! A crash at any point leaves either the old object or the new one: `open` removes temp files
//! and bodies no row refers to.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::Stream;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::names::{BucketName, Namespace, ObjectKey};
use crate::db::{Database, DbError};

/// The smallest part S3 accepts in a multipart upload, except the last.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Part numbers S3 accepts.
pub const PART_NUMBERS: std::ops::RangeInclusive<i32> = 1..=10_000;
/// Rows read per listing query.
const LIST_BATCH: usize = 1000;
/// How many body chunks may wait for the writer thread: backpressure keeps memory flat.
const SPOOL_QUEUE: usize = 4;
/// How much of a body the writer lets pile up in the page cache before syncing it.
const SYNC_EVERY: usize = 16 * 1024 * 1024;
/// Reads of a stored body are this large.
const READ_CHUNK: usize = 256 * 1024;

/// What went wrong, in S3's terms where the client is at fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )]
    NoSuchUpload,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("{0}")]
    InvalidPart(String),
    #[error("The list of parts was not in ascending order. Parts must be ordered by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    EntityTooSmall,
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(DbError::Sqlite(e))
    }
}

/// The standard headers S3 stores with an object and answers GET/HEAD with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHeaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// What a writer says about an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub headers: StoredHeaders,
    /// `x-amz-meta-*`, names lower-cased without the prefix.
    pub metadata: BTreeMap<String, String>,
}

/// A stored object's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Quoted, as S3 sends it: `"<md5 hex>"`, `"<hex>-N"`, or a provider's file id.
    pub etag: String,
    pub last_modified_ms: i64,
    pub attributes: Attributes,
    /// (algorithm as S3 names it, base64 value), when the writer sent or asked for one.
    pub checksum: Option<(String, String)>,
    /// The number of parts of a multipart object.
    pub parts: Option<u32>,
    /// The provider's file id, for objects also held by a provider's file store.
    pub remote_id: Option<String>,
    body: String,
}

#[cfg(test)]
impl ObjectInfo {
    pub(crate) fn for_tests(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            size: 0,
            etag: "\"d41d8cd98f00b204e9800998ecf8427e\"".to_owned(),
            last_modified_ms: 0,
            attributes: Attributes::default(),
            checksum: None,
            parts: None,
            remote_id: None,
            body: String::new(),
        }
    }
}

/// A listing entry, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Object(Box<ObjectInfo>),
    /// A common prefix (prefix + the part of the key up to and including the delimiter).
    Prefix(String),
}

impl Entry {
    /// The key or common prefix, which orders entries and resumes listings.
    pub fn name(&self) -> &str {
        match self {
            Self::Object(o) => &o.key,
            Self::Prefix(p) => p,
        }
    }
}

/// Where a listing resumes: after a key, or after everything under a common prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Key(String),
    Prefix(String),
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub after: Option<Cursor>,
    pub max_keys: usize,
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    pub id: String,
    pub key: String,
    pub initiated_ms: i64,
    pub attributes: Attributes,
    pub checksum_algorithm: Option<String>,
}

/// An uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub number: i32,
    pub size: u64,
    pub md5: [u8; 16],
    pub checksum: Option<String>,
    pub last_modified_ms: i64,
}

impl PartInfo {
    pub fn etag(&self) -> String {
        format!("\"{}\"", hex::encode(self.md5))
    }
}

/// Sees every byte of a body as it is written (digests are computed on the writer thread).
pub trait Observer: Send + 'static {
    fn update(&mut self, data: &[u8]);
}

impl Observer for () {
    fn update(&mut self, _: &[u8]) {}
}

/// A file under `tmp/` that is removed unless it was moved into place.
#[derive(Debug)]
pub struct TempBody {
    path: PathBuf,
    size: u64,
}

impl TempBody {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempBody {
    fn drop(&mut self) {
        // Already renamed away when committed; otherwise an abandoned or refused body.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A body being written: chunks go to a blocking writer thread, which writes them, and to a
/// blocking hasher thread, which feeds them to the observer, so digests and disk overlap.
pub struct Spool<O> {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    hash_tx: tokio::sync::mpsc::Sender<Bytes>,
    task: tokio::task::JoinHandle<std::io::Result<TempBody>>,
    hasher: tokio::task::JoinHandle<O>,
}

impl<O: Observer> Spool<O> {
    /// Queues a chunk; waits while the writer or the hasher is behind.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        if self.hash_tx.send(chunk.clone()).await.is_err() || self.tx.send(chunk).await.is_err() {
            // The writer stopped: its error is reported by `finish`.
            return Err(StoreError::Io(std::io::Error::other(
                "the body writer stopped",
            )));
        }
        Ok(())
    }

    /// Waits until every byte is on disk and synced; the observer has seen them all.
    pub async fn finish(self) -> Result<(O, TempBody), StoreError> {
        drop(self.tx);
        drop(self.hash_tx);
        let body = self
            .task
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
            .map_err(StoreError::Io)?;
        let observer = self
            .hasher
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        Ok((observer, body))
    }
}

/// The local object store.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    objects: PathBuf,
    tmp: PathBuf,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

fn from_json<T: for<'de> Deserialize<'de> + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

const OBJECT_COLUMNS: &str = "key, body, size, etag, last_modified_ms, headers, metadata, \
     checksum_algorithm, checksum, parts, remote_id";

fn object_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectInfo> {
    let size: i64 = row.get(2)?;
    let headers: String = row.get(5)?;
    let metadata: String = row.get(6)?;
    let algorithm: Option<String> = row.get(7)?;
    let checksum: Option<String> = row.get(8)?;
    let parts: Option<i64> = row.get(9)?;
    Ok(ObjectInfo {
        key: row.get(0)?,
        body: row.get(1)?,
        size: u64::try_from(size).unwrap_or(0),
        etag: row.get(3)?,
        last_modified_ms: row.get(4)?,
        attributes: Attributes {
            headers: from_json(&headers),
            metadata: from_json(&metadata),
        },
        checksum: algorithm.zip(checksum),
        parts: parts.and_then(|p| u32::try_from(p).ok()),
        remote_id: row.get(10)?,
    })
}

/// What a commit writes besides the body.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub etag: String,
    pub attributes: Attributes,
    pub checksum: Option<(String, String)>,
    pub parts: Option<u32>,
    pub remote_id: Option<String>,
}

fn bucket_exists(
    conn: &rusqlite::Connection,
    ns: &Namespace,
    bucket: &BucketName,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM buckets WHERE namespace = ?1 AND name = ?2",
        params![ns.as_str(), bucket.as_str()],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

fn ensure_bucket(
    conn: &rusqlite::Connection,
    ns: &Namespace,
    bucket: &BucketName,
    create: bool,
) -> Result<(), StoreError> {
    if bucket_exists(conn, ns, bucket)? {
        return Ok(());
    }
    if !create {
        return Err(StoreError::NoSuchBucket);
    }
    conn.execute(
        "INSERT OR IGNORE INTO buckets (namespace, name, created_ms) VALUES (?1, ?2, ?3)",
        params![ns.as_str(), bucket.as_str(), now_ms()],
    )?;
    Ok(())
}

impl Store {
    /// Opens the store under `data_dir` (creating it), clearing what a crash left behind.
    /// Blocks: it runs once, at start.
    pub fn open(data_dir: &Path, db: Database) -> Result<Self, StoreError> {
        let root = data_dir.join("files");
        let store = Self {
            db,
            objects: root.join("objects"),
            tmp: root.join("tmp"),
        };
        let referenced = store.db.call_blocking(|conn| {
            let mut ids = HashSet::new();
            for table in ["objects", "parts"] {
                let mut stmt = conn.prepare(&format!("SELECT body FROM {table}"))?;
                for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
                    ids.insert(id?);
                }
            }
            Ok(ids)
        })?;
        store.recover(&referenced)?;
        Ok(store)
    }

    /// Removes temp files and bodies no row refers to (a crash between rename and commit).
    fn recover(&self, referenced: &HashSet<String>) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.objects)?;
        let _ = std::fs::remove_dir_all(&self.tmp);
        std::fs::create_dir_all(&self.tmp)?;
        for entry in std::fs::read_dir(&self.objects)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !referenced.contains(&name) {
                tracing::info!(body = %name, "removing an object body no object refers to");
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// The database the store keeps its rows in (batch jobs keep theirs there too).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Starts writing a body; `observer` sees every byte, on a thread of its own.
    pub fn spool<O: Observer>(&self, mut observer: O) -> Spool<O> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(SPOOL_QUEUE);
        let (hash_tx, mut hash_rx) = tokio::sync::mpsc::channel::<Bytes>(SPOOL_QUEUE);
        let path = self.tmp.join(random_id());
        let task = tokio::task::spawn_blocking(move || {
            let mut body = TempBody { path, size: 0 };
            let file = std::fs::File::create(&body.path)?;
            // Per upload in flight: boto3 sends ten parts at once, so this stays modest.
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
            let mut unsynced = 0;
            while let Some(chunk) = rx.blocking_recv() {
                out.write_all(&chunk)?;
                body.size += chunk.len() as u64;
                unsynced += chunk.len();
                // Start writeback while the body is still arriving: the final fsync is short.
                if unsynced >= SYNC_EVERY {
                    out.flush()?;
                    out.get_ref().sync_data()?;
                    unsynced = 0;
                }
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok(body)
        });
        let hasher = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = hash_rx.blocking_recv() {
                observer.update(&chunk);
            }
            observer
        });
        Spool {
            tx,
            hash_tx,
            task,
            hasher,
        }
    }

    /// Moves `body` into place as `bucket/key`, replacing what was there: the last commit wins,
    /// and readers see the old object or the new one, never a mix.
    pub async fn commit(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        body: TempBody,
        object: NewObject,
        create_bucket: bool,
    ) -> Result<ObjectInfo, StoreError> {
        let (ns, bucket, key) = (ns.clone(), bucket.clone(), key.clone());
        let objects = self.objects.clone();
        self.db
            .call(move |conn| {
                Ok(Self::commit_blocking(
                    conn,
                    &objects,
                    &ns,
                    &bucket,
                    &key,
                    body,
                    object,
                    create_bucket,
                ))
            })
            .await?
    }

    #[allow(clippy::too_many_arguments)]
    fn commit_blocking(
        conn: &mut rusqlite::Connection,
        objects: &Path,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        body: TempBody,
        object: NewObject,
        create_bucket: bool,
    ) -> Result<ObjectInfo, StoreError> {
        ensure_bucket(conn, ns, bucket, create_bucket)?;
        let id = random_id();
        let target = objects.join(&id);
        std::fs::rename(&body.path, &target)?;
        let size = body.size;
        // The rename itself must survive a crash before the row that points at it does.
        sync_dir(objects)?;
        let info = ObjectInfo {
            key: key.as_str().to_owned(),
            size,
            etag: object.etag,
            last_modified_ms: now_ms(),
            attributes: object.attributes,
            checksum: object.checksum,
            parts: object.parts,
            remote_id: object.remote_id,
            body: id,
        };
        let written = (|| -> Result<Option<String>, StoreError> {
            let tx = conn.transaction()?;
            let old: Option<String> = tx
                .query_row(
                    "SELECT body FROM objects WHERE namespace = ?1 AND bucket = ?2 AND key = ?3",
                    params![ns.as_str(), bucket.as_str(), key.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                &format!(
                    "INSERT OR REPLACE INTO objects (namespace, bucket, {OBJECT_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ),
                params![
                    ns.as_str(),
                    bucket.as_str(),
                    info.key,
                    info.body,
                    i64::try_from(info.size).unwrap_or(i64::MAX),
                    info.etag,
                    info.last_modified_ms,
                    to_json(&info.attributes.headers),
                    to_json(&info.attributes.metadata),
                    info.checksum.as_ref().map(|c| c.0.clone()),
                    info.checksum.as_ref().map(|c| c.1.clone()),
                    info.parts.map(i64::from),
                    info.remote_id,
                ],
            )?;
            tx.commit()?;
            Ok(old)
        })();
        match written {
            Ok(old) => {
                if let Some(old) = old {
                    let _ = std::fs::remove_file(objects.join(old));
                }
                Ok(info)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&target);
                Err(e)
            }
        }
    }

    /// The object's description.
    pub async fn head(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<ObjectInfo, StoreError> {
        let (ns, bucket, key) = (ns.clone(), bucket.clone(), key.clone());
        self.db
            .call(move |conn| {
                Ok(
                    match conn
                        .query_row(
                            &format!(
                                "SELECT {OBJECT_COLUMNS} FROM objects \
                                 WHERE namespace = ?1 AND bucket = ?2 AND key = ?3"
                            ),
                            params![ns.as_str(), bucket.as_str(), key.as_str()],
                            object_row,
                        )
                        .optional()?
                    {
                        Some(info) => Ok(info),
                        None if bucket_exists(conn, &ns, &bucket)? => Err(StoreError::NoSuchKey),
                        None => Err(StoreError::NoSuchBucket),
                    },
                )
            })
            .await?
    }

    /// The object of `bucket` in `ns` whose provider file id is `remote_id` (batch input URIs
    /// may name a provider's file id where a key would be).
    pub async fn by_remote_id(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        remote_id: &str,
    ) -> Result<Option<ObjectInfo>, StoreError> {
        let (ns, bucket, remote_id) = (ns.clone(), bucket.clone(), remote_id.to_owned());
        self.db
            .call(move |conn| {
                Ok(conn
                    .query_row(
                        &format!(
                            "SELECT {OBJECT_COLUMNS} FROM objects \
                             WHERE namespace = ?1 AND bucket = ?2 AND remote_id = ?3 LIMIT 1"
                        ),
                        params![ns.as_str(), bucket.as_str(), remote_id],
                        object_row,
                    )
                    .optional()?)
            })
            .await
            .map_err(StoreError::from)
    }

    /// Opens the object's body (`range`: first and last byte, inclusive) — a concurrent
    /// overwrite may remove the file between reading the row and opening it, so the row is
    /// read again then.
    pub async fn open_object(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(ObjectInfo, std::fs::File), StoreError> {
        let mut last = None;
        for _ in 0..5 {
            let info = self.head(ns, bucket, key).await?;
            let path = self.objects.join(&info.body);
            match tokio::task::spawn_blocking(move || std::fs::File::open(path)).await {
                Ok(Ok(file)) => return Ok((info, file)),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => last = Some(e),
                Ok(Err(e)) => return Err(e.into()),
                Err(e) => return Err(StoreError::Io(std::io::Error::other(e.to_string()))),
            }
        }
        Err(StoreError::Io(last.unwrap_or_else(|| {
            std::io::Error::other("object body vanished")
        })))
    }

    /// Streams `len` bytes of an opened body from `start`, in chunks, off the async threads.
    pub fn read(
        mut file: std::fs::File,
        start: u64,
        len: u64,
    ) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = file.seek(std::io::SeekFrom::Start(start)) {
                let _ = tx.blocking_send(Err(e));
                return;
            }
            let mut left = len;
            while left > 0 {
                let want = usize::try_from(left.min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
                let mut buf = vec![0u8; want];
                match file.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.blocking_send(Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "object body shorter than recorded",
                        )));
                        return;
                    }
                    Ok(n) => {
                        buf.truncate(n);
                        left -= n as u64;
                        // The client went away: stop reading.
                        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }

    /// Copies a stored body to a temp file (CopyObject), off the async threads.
    pub async fn copy_body(&self, file: std::fs::File) -> Result<TempBody, StoreError> {
        let path = self.tmp.join(random_id());
        tokio::task::spawn_blocking(move || -> Result<TempBody, StoreError> {
            let mut body = TempBody { path, size: 0 };
            let mut out = std::fs::File::create(&body.path)?;
            let mut file = file;
            body.size = std::io::copy(&mut file, &mut out)?;
            out.sync_all()?;
            Ok(body)
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
    }

    /// Deletes the object if it exists (S3 answers the same either way).
    pub async fn delete(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<ObjectInfo>, StoreError> {
        let (ns, bucket, key) = (ns.clone(), bucket.clone(), key.clone());
        let objects = self.objects.clone();
        self.db
            .call(move |conn| {
                Ok((|| {
                    let tx = conn.transaction()?;
                    if !bucket_exists(&tx, &ns, &bucket)? {
                        return Err(StoreError::NoSuchBucket);
                    }
                    let old = tx
                        .query_row(
                            &format!(
                                "SELECT {OBJECT_COLUMNS} FROM objects \
                                 WHERE namespace = ?1 AND bucket = ?2 AND key = ?3"
                            ),
                            params![ns.as_str(), bucket.as_str(), key.as_str()],
                            object_row,
                        )
                        .optional()?;
                    tx.execute(
                        "DELETE FROM objects WHERE namespace = ?1 AND bucket = ?2 AND key = ?3",
                        params![ns.as_str(), bucket.as_str(), key.as_str()],
                    )?;
                    tx.commit()?;
                    if let Some(old) = &old {
                        let _ = std::fs::remove_file(objects.join(&old.body));
                    }
                    Ok(old)
                })())
            })
            .await?
    }

    /// Lists keys in byte order, rolling keys that contain the delimiter after the prefix up
    /// into common prefixes; at most `max_keys` entries of both kinds together.
    pub async fn list(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        query: ListQuery,
    ) -> Result<ListPage, StoreError> {
        let (ns, bucket) = (ns.clone(), bucket.clone());
        self.db
            .call(move |conn| Ok(Self::list_blocking(conn, &ns, &bucket, &query)))
            .await?
    }

    fn list_blocking(
        conn: &rusqlite::Connection,
        ns: &Namespace,
        bucket: &BucketName,
        q: &ListQuery,
    ) -> Result<ListPage, StoreError> {
        if !bucket_exists(conn, ns, bucket)? {
            return Err(StoreError::NoSuchBucket);
        }
        let mut page = ListPage::default();
        if q.max_keys == 0 {
            return Ok(page);
        }
        let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
        // Everything at or below `lower` has been listed or skipped.
        let mut lower: Option<String> = None;
        let mut skip_prefix: Option<String> = None;
        match &q.after {
            Some(Cursor::Key(k)) => lower = Some(k.clone()),
            Some(Cursor::Prefix(p)) => {
                lower = Some(p.clone());
                skip_prefix = Some(p.clone());
            }
            None => {}
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects \
             WHERE namespace = ?1 AND bucket = ?2 AND key >= ?3 AND (?4 IS NULL OR key > ?4) \
             ORDER BY key LIMIT {LIST_BATCH}"
        ))?;
        loop {
            let rows: Vec<ObjectInfo> = stmt
                .query_map(
                    params![ns.as_str(), bucket.as_str(), q.prefix, lower],
                    object_row,
                )?
                .collect::<Result<_, _>>()?;
            let exhausted = rows.len() < LIST_BATCH;
            for info in rows {
                lower = Some(info.key.clone());
                if !info.key.starts_with(&q.prefix) {
                    // Keys are ordered: past the prefix, nothing further can match.
                    return Ok(page);
                }
                if skip_prefix
                    .as_ref()
                    .is_some_and(|p| info.key.starts_with(p))
                {
                    continue;
                }
                let rest = &info.key[q.prefix.len()..];
                let entry = match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
                    Some(end) => {
                        let common = format!("{}{}", q.prefix, &rest[..end]);
                        skip_prefix = Some(common.clone());
                        Entry::Prefix(common)
                    }
                    None => Entry::Object(Box::new(info)),
                };
                if page.entries.len() == q.max_keys {
                    page.truncated = true;
                    return Ok(page);
                }
                page.entries.push(entry);
            }
            if exhausted {
                return Ok(page);
            }
        }
    }

    pub async fn create_bucket(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
    ) -> Result<(), StoreError> {
        let (ns, bucket) = (ns.clone(), bucket.clone());
        self.db
            .call(move |conn| {
                let inserted = conn.execute(
                    "INSERT OR IGNORE INTO buckets (namespace, name, created_ms) VALUES (?1, ?2, ?3)",
                    params![ns.as_str(), bucket.as_str(), now_ms()],
                )?;
                Ok(if inserted == 0 {
                    Err(StoreError::BucketAlreadyOwnedByYou)
                } else {
                    Ok(())
                })
            })
            .await?
    }

    pub async fn bucket_exists(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
    ) -> Result<bool, StoreError> {
        let (ns, bucket) = (ns.clone(), bucket.clone());
        Ok(self
            .db
            .call(move |conn| Ok(bucket_exists(conn, &ns, &bucket)?))
            .await?)
    }

    pub async fn delete_bucket(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
    ) -> Result<(), StoreError> {
        let (ns, bucket) = (ns.clone(), bucket.clone());
        self.db
            .call(move |conn| {
                Ok((|| {
                    let tx = conn.transaction()?;
                    if !bucket_exists(&tx, &ns, &bucket)? {
                        return Err(StoreError::NoSuchBucket);
                    }
                    let used: i64 = tx.query_row(
                        "SELECT (SELECT count(*) FROM objects WHERE namespace = ?1 AND bucket = ?2) \
                         + (SELECT count(*) FROM uploads WHERE namespace = ?1 AND bucket = ?2)",
                        params![ns.as_str(), bucket.as_str()],
                        |r| r.get(0),
                    )?;
                    if used > 0 {
                        return Err(StoreError::BucketNotEmpty);
                    }
                    tx.execute(
                        "DELETE FROM buckets WHERE namespace = ?1 AND name = ?2",
                        params![ns.as_str(), bucket.as_str()],
                    )?;
                    tx.commit()?;
                    Ok(())
                })())
            })
            .await?
    }

    /// Buckets in name order with their creation times (ms).
    pub async fn list_buckets(&self, ns: &Namespace) -> Result<Vec<(String, i64)>, StoreError> {
        let ns = ns.clone();
        Ok(self
            .db
            .call(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT name, created_ms FROM buckets WHERE namespace = ?1 ORDER BY name",
                )?;
                let rows = stmt
                    .query_map([ns.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    // ---- multipart uploads ----

    pub async fn create_upload(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        attributes: Attributes,
        checksum_algorithm: Option<String>,
        create_bucket: bool,
    ) -> Result<UploadInfo, StoreError> {
        let (ns, bucket, key) = (ns.clone(), bucket.clone(), key.clone());
        self.db
            .call(move |conn| {
                Ok((|| {
                    ensure_bucket(conn, &ns, &bucket, create_bucket)?;
                    let upload = UploadInfo {
                        id: random_id(),
                        key: key.as_str().to_owned(),
                        initiated_ms: now_ms(),
                        attributes,
                        checksum_algorithm,
                    };
                    conn.execute(
                        "INSERT INTO uploads (id, namespace, bucket, key, initiated_ms, headers, metadata, checksum_algorithm) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            upload.id,
                            ns.as_str(),
                            bucket.as_str(),
                            upload.key,
                            upload.initiated_ms,
                            to_json(&upload.attributes.headers),
                            to_json(&upload.attributes.metadata),
                            upload.checksum_algorithm,
                        ],
                    )?;
                    Ok(upload)
                })())
            })
            .await?
    }

    fn upload_blocking(
        conn: &rusqlite::Connection,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
    ) -> Result<UploadInfo, StoreError> {
        conn.query_row(
            "SELECT id, key, initiated_ms, headers, metadata, checksum_algorithm FROM uploads \
             WHERE id = ?1 AND namespace = ?2 AND bucket = ?3 AND key = ?4",
            params![id, ns.as_str(), bucket.as_str(), key.as_str()],
            |r| {
                let headers: String = r.get(3)?;
                let metadata: String = r.get(4)?;
                Ok(UploadInfo {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    initiated_ms: r.get(2)?,
                    attributes: Attributes {
                        headers: from_json(&headers),
                        metadata: from_json(&metadata),
                    },
                    checksum_algorithm: r.get(5)?,
                })
            },
        )
        .optional()?
        .ok_or(StoreError::NoSuchUpload)
    }

    pub async fn upload(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
    ) -> Result<UploadInfo, StoreError> {
        let (ns, bucket, key, id) = (ns.clone(), bucket.clone(), key.clone(), id.to_owned());
        self.db
            .call(move |conn| Ok(Self::upload_blocking(conn, &ns, &bucket, &key, &id)))
            .await?
    }

    /// Stores a part, replacing an earlier part of the same number.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_part(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        number: i32,
        body: TempBody,
        md5: [u8; 16],
        checksum: Option<String>,
    ) -> Result<PartInfo, StoreError> {
        let (ns, bucket, key, upload_id) = (
            ns.clone(),
            bucket.clone(),
            key.clone(),
            upload_id.to_owned(),
        );
        let objects = self.objects.clone();
        self.db
            .call(move |conn| {
                Ok((|| {
                    Self::upload_blocking(conn, &ns, &bucket, &key, &upload_id)?;
                    let id = random_id();
                    let target = objects.join(&id);
                    std::fs::rename(&body.path, &target)?;
                    sync_dir(&objects)?;
                    let part = PartInfo {
                        number,
                        size: body.size,
                        md5,
                        checksum,
                        last_modified_ms: now_ms(),
                    };
                    let result = (|| -> Result<Option<String>, StoreError> {
                        let tx = conn.transaction()?;
                        let old: Option<String> = tx
                            .query_row(
                                "SELECT body FROM parts WHERE upload_id = ?1 AND number = ?2",
                                params![upload_id, number],
                                |r| r.get(0),
                            )
                            .optional()?;
                        tx.execute(
                            "INSERT OR REPLACE INTO parts (upload_id, number, body, size, md5, checksum, last_modified_ms) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![
                                upload_id,
                                number,
                                id,
                                i64::try_from(part.size).unwrap_or(i64::MAX),
                                part.md5.as_slice(),
                                part.checksum,
                                part.last_modified_ms,
                            ],
                        )?;
                        tx.commit()?;
                        Ok(old)
                    })();
                    match result {
                        Ok(old) => {
                            if let Some(old) = old {
                                let _ = std::fs::remove_file(objects.join(old));
                            }
                            Ok(part)
                        }
                        Err(e) => {
                            let _ = std::fs::remove_file(&target);
                            Err(e)
                        }
                    }
                })())
            })
            .await?
    }

    /// Parts with numbers above `after`, at most `max` (+1 to tell whether more exist).
    pub async fn list_parts(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        after: i32,
        max: usize,
    ) -> Result<(UploadInfo, Vec<PartInfo>), StoreError> {
        let (ns, bucket, key, upload_id) = (
            ns.clone(),
            bucket.clone(),
            key.clone(),
            upload_id.to_owned(),
        );
        self.db
            .call(move |conn| {
                Ok((|| {
                    let upload = Self::upload_blocking(conn, &ns, &bucket, &key, &upload_id)?;
                    let parts = Self::parts_blocking(conn, &upload_id, after, max)?
                        .into_iter()
                        .map(|(p, _)| p)
                        .collect();
                    Ok((upload, parts))
                })())
            })
            .await?
    }

    fn parts_blocking(
        conn: &rusqlite::Connection,
        upload_id: &str,
        after: i32,
        max: usize,
    ) -> Result<Vec<(PartInfo, String)>, StoreError> {
        let mut stmt = conn.prepare(
            "SELECT number, size, md5, checksum, last_modified_ms, body FROM parts \
             WHERE upload_id = ?1 AND number > ?2 ORDER BY number LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(
                params![upload_id, after, i64::try_from(max).unwrap_or(i64::MAX)],
                |r| {
                    let size: i64 = r.get(1)?;
                    let md5: Vec<u8> = r.get(2)?;
                    Ok((
                        PartInfo {
                            number: r.get(0)?,
                            size: u64::try_from(size).unwrap_or(0),
                            md5: md5.try_into().unwrap_or([0; 16]),
                            checksum: r.get(3)?,
                            last_modified_ms: r.get(4)?,
                        },
                        r.get::<_, String>(5)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Joins the named parts into the object, as S3 checks them: ascending numbers, each part
    /// uploaded with that ETag, every part but the last at least 5 MiB.
    pub async fn complete_upload(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        requested: Vec<(i32, String)>,
    ) -> Result<ObjectInfo, StoreError> {
        let (body, object) = self
            .join_upload(ns, bucket, key, upload_id, requested)
            .await?;
        self.finish_upload(ns, bucket, key, upload_id, body, object)
            .await
    }

    /// The first half of [`Store::complete_upload`]: checks the parts and joins them into a
    /// body, with the object's description; nothing is visible yet.
    pub async fn join_upload(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        requested: Vec<(i32, String)>,
    ) -> Result<(TempBody, NewObject), StoreError> {
        let (ns2, bucket2, key2, upload_id2) = (
            ns.clone(),
            bucket.clone(),
            key.clone(),
            upload_id.to_owned(),
        );
        // Read and check the parts, then join them without holding the database.
        let (upload, chosen) = self
            .db
            .call(move |conn| {
                Ok((|| {
                    let upload = Self::upload_blocking(conn, &ns2, &bucket2, &key2, &upload_id2)?;
                    let stored: BTreeMap<i32, (PartInfo, String)> =
                        Self::parts_blocking(conn, &upload_id2, 0, usize::MAX)?
                            .into_iter()
                            .map(|(p, b)| (p.number, (p, b)))
                            .collect();
                    Ok::<_, StoreError>((upload, stored))
                })())
            })
            .await??;
        if requested.is_empty() {
            return Err(StoreError::InvalidPart(
                "You must specify at least one part".to_owned(),
            ));
        }
        let mut parts = Vec::with_capacity(requested.len());
        let mut previous = 0;
        for (number, etag) in &requested {
            if *number <= previous {
                return Err(StoreError::InvalidPartOrder);
            }
            previous = *number;
            let Some((part, body)) = chosen.get(number) else {
                return Err(StoreError::InvalidPart(format!(
                    "One or more of the specified parts could not be found. Part {number} was not uploaded."
                )));
            };
            if etag.trim_matches('"') != hex::encode(part.md5) {
                return Err(StoreError::InvalidPart(format!(
                    "One or more of the specified parts could not be found. The ETag of part {number} does not match."
                )));
            }
            parts.push((part.clone(), body.clone()));
        }
        if parts
            .iter()
            .take(parts.len() - 1)
            .any(|(p, _)| p.size < MIN_PART_SIZE)
        {
            return Err(StoreError::EntityTooSmall);
        }
        let objects = self.objects.clone();
        let path = self.tmp.join(random_id());
        let bodies: Vec<String> = parts.iter().map(|(_, b)| b.clone()).collect();
        let joined = tokio::task::spawn_blocking(move || -> Result<TempBody, StoreError> {
            let mut body = TempBody { path, size: 0 };
            let mut out = std::fs::File::create(&body.path)?;
            for id in &bodies {
                let mut part = std::fs::File::open(objects.join(id))?;
                body.size += std::io::copy(&mut part, &mut out)?;
            }
            out.sync_all()?;
            Ok(body)
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))??;
        let md5s: Vec<[u8; 16]> = parts.iter().map(|(p, _)| p.md5).collect();
        let object = NewObject {
            etag: super::checksum::multipart_etag(&md5s),
            attributes: upload.attributes.clone(),
            checksum: None,
            parts: u32::try_from(parts.len()).ok(),
            remote_id: None,
        };
        Ok((joined, object))
    }

    /// The second half of [`Store::complete_upload`]: commits the joined body and forgets the
    /// upload.
    pub async fn finish_upload(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        body: TempBody,
        object: NewObject,
    ) -> Result<ObjectInfo, StoreError> {
        let info = self.commit(ns, bucket, key, body, object, false).await?;
        self.drop_upload(upload_id).await?;
        Ok(info)
    }

    /// Removes an upload and its parts' bodies.
    pub async fn abort_upload(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        self.upload(ns, bucket, key, upload_id).await?;
        self.drop_upload(upload_id).await
    }

    async fn drop_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        let upload_id = upload_id.to_owned();
        let objects = self.objects.clone();
        self.db
            .call(move |conn| {
                Ok((|| {
                    let tx = conn.transaction()?;
                    let bodies: Vec<String> = {
                        let mut stmt = tx.prepare("SELECT body FROM parts WHERE upload_id = ?1")?;
                        stmt.query_map([&upload_id], |r| r.get(0))?
                            .collect::<Result<_, _>>()?
                    };
                    tx.execute("DELETE FROM parts WHERE upload_id = ?1", [&upload_id])?;
                    tx.execute("DELETE FROM uploads WHERE id = ?1", [&upload_id])?;
                    tx.commit()?;
                    for body in bodies {
                        let _ = std::fs::remove_file(objects.join(body));
                    }
                    Ok(())
                })())
            })
            .await?
    }

    /// Uploads in (key, initiation) order after the markers, at most `max` + 1.
    pub async fn list_uploads(
        &self,
        ns: &Namespace,
        bucket: &BucketName,
        prefix: &str,
        after: Option<(String, Option<String>)>,
        max: usize,
    ) -> Result<Vec<UploadInfo>, StoreError> {
        let (ns, bucket, prefix) = (ns.clone(), bucket.clone(), prefix.to_owned());
        self.db
            .call(move |conn| {
                Ok((|| {
                    if !bucket_exists(conn, &ns, &bucket)? {
                        return Err(StoreError::NoSuchBucket);
                    }
                    let mut stmt = conn.prepare(
                        "SELECT id, key, initiated_ms, headers, metadata, checksum_algorithm FROM uploads \
                         WHERE namespace = ?1 AND bucket = ?2 AND substr(key, 1, length(?3)) = ?3 \
                         ORDER BY key, initiated_ms, id",
                    )?;
                    let all = stmt
                        .query_map(params![ns.as_str(), bucket.as_str(), prefix], |r| {
                            let headers: String = r.get(3)?;
                            let metadata: String = r.get(4)?;
                            Ok(UploadInfo {
                                id: r.get(0)?,
                                key: r.get(1)?,
                                initiated_ms: r.get(2)?,
                                attributes: Attributes {
                                    headers: from_json(&headers),
                                    metadata: from_json(&metadata),
                                },
                                checksum_algorithm: r.get(5)?,
                            })
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut out: Vec<UploadInfo> = match &after {
                        None => all,
                        Some((key, None)) => all.into_iter().filter(|u| u.key > *key).collect(),
                        Some((key, Some(id))) => {
                            let pos = all.iter().position(|u| u.key == *key && u.id == *id);
                            match pos {
                                Some(i) => all.into_iter().skip(i + 1).collect(),
                                None => all.into_iter().filter(|u| u.key > *key).collect(),
                            }
                        }
                    };
                    out.truncate(max.saturating_add(1));
                    Ok(out)
                })())
            })
            .await?
    }
}

#[cfg(test)]
mod tests;
