//! The local store against its promises: atomic replacement, crash recovery, listing order, multipart rules.

use std::collections::BTreeSet;

use futures_util::StreamExt as _;
use proptest::prelude::*;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: Store,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let store = open_at(&root).await;
    Fixture {
        _dir: dir,
        root,
        store,
    }
}

async fn open_at(root: &Path) -> Store {
    let db = Database::open(&root.join("quarry.db")).unwrap();
    Store::open(root, db).unwrap()
}

fn ns() -> Namespace {
    Namespace::local()
}

fn bucket(name: &str) -> BucketName {
    BucketName::parse(name).unwrap()
}

fn key(k: &str) -> ObjectKey {
    ObjectKey::parse(k).unwrap()
}

fn md5_of(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}

async fn spooled(store: &Store, data: &[u8]) -> TempBody {
    let mut spool = store.spool(());
    for chunk in data.chunks(7) {
        spool.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    spool.finish().await.unwrap().1
}

async fn put(store: &Store, b: &str, k: &str, data: &[u8]) -> ObjectInfo {
    let body = spooled(store, data).await;
    let object = NewObject {
        etag: format!("\"{}\"", hex::encode(md5_of(data))),
        attributes: Attributes::default(),
        checksum: None,
        parts: None,
        remote_id: None,
    };
    store
        .commit(&ns(), &bucket(b), &key(k), body, object, true)
        .await
        .unwrap()
}

async fn read_all(store: &Store, b: &str, k: &str) -> Vec<u8> {
    let (info, file) = store.open_object(&ns(), &bucket(b), &key(k)).await.unwrap();
    let mut out = Vec::new();
    let mut stream = std::pin::pin!(Store::read(file, 0, info.size));
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[tokio::test]
async fn a_written_object_reads_back_with_its_description() {
    let f = fixture().await;
    let data = b"{\"recordId\": \"1\"}\n".repeat(1000);
    let mut attributes = Attributes::default();
    attributes.headers.content_type = Some("application/jsonl".into());
    attributes.metadata.insert("purpose".into(), "batch".into());
    let body = spooled(&f.store, &data).await;
    assert_eq!(body.size(), data.len() as u64);
    let object = NewObject {
        etag: "\"e\"".into(),
        attributes: attributes.clone(),
        checksum: Some(("CRC32".into(), "AAAAAA==".into())),
        parts: None,
        remote_id: Some("file-1".into()),
    };
    let written = f
        .store
        .commit(
            &ns(),
            &bucket("your-s3-bucket"),
            &key("in/a b.jsonl"),
            body,
            object,
            true,
        )
        .await
        .unwrap();
    let head = f
        .store
        .head(&ns(), &bucket("your-s3-bucket"), &key("in/a b.jsonl"))
        .await
        .unwrap();
    assert_eq!(head, written);
    assert_eq!(head.size, data.len() as u64);
    assert_eq!(head.attributes, attributes);
    assert_eq!(head.remote_id.as_deref(), Some("file-1"));
    assert_eq!(head.checksum, Some(("CRC32".into(), "AAAAAA==".into())));
    assert_eq!(
        read_all(&f.store, "your-s3-bucket", "in/a b.jsonl").await,
        data
    );
    // A range: bytes 10..=19.
    let (_, file) = f
        .store
        .open_object(&ns(), &bucket("your-s3-bucket"), &key("in/a b.jsonl"))
        .await
        .unwrap();
    let ranged: Vec<Bytes> = Store::read(file, 10, 10)
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(ranged.concat(), data[10..20].to_vec());
}

#[tokio::test]
async fn missing_bucket_and_key_are_told_apart() {
    let f = fixture().await;
    let body = spooled(&f.store, b"x").await;
    let object = NewObject {
        etag: "\"x\"".into(),
        attributes: Attributes::default(),
        checksum: None,
        parts: None,
        remote_id: None,
    };
    let err = f
        .store
        .commit(&ns(), &bucket("nope"), &key("k"), body, object, false)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchBucket), "{err}");
    assert_eq!(
        files_in(&f.root.join("files/objects")),
        0,
        "a refused body is not kept"
    );
    assert_eq!(files_in(&f.root.join("files/tmp")), 0);
    put(&f.store, "b-1", "k", b"x").await;
    let err = f
        .store
        .head(&ns(), &bucket("b-1"), &key("other"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchKey), "{err}");
    let err = f
        .store
        .head(&ns(), &bucket("b-2"), &key("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchBucket), "{err}");
    // Namespaces do not see each other's buckets.
    let err = f
        .store
        .head(&Namespace::provider("openai"), &bucket("b-1"), &key("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchBucket), "{err}");
}

#[tokio::test]
async fn overwrite_keeps_one_body_and_delete_removes_it() {
    let f = fixture().await;
    put(&f.store, "bkt", "k", b"first").await;
    put(&f.store, "bkt", "k", b"second").await;
    assert_eq!(read_all(&f.store, "bkt", "k").await, b"second");
    assert_eq!(files_in(&f.root.join("files/objects")), 1);
    let deleted = f
        .store
        .delete(&ns(), &bucket("bkt"), &key("k"))
        .await
        .unwrap();
    assert_eq!(deleted.map(|d| d.size), Some(6));
    assert_eq!(files_in(&f.root.join("files/objects")), 0);
    // Deleting again is not an error (S3 answers 204 either way).
    assert!(
        f.store
            .delete(&ns(), &bucket("bkt"), &key("k"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn concurrent_writers_to_one_key_leave_one_whole_object() {
    let f = fixture().await;
    put(&f.store, "bkt", "k", &[b'0'; 100_000]).await;
    let mut tasks = Vec::new();
    for i in 1..=8u8 {
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            put(&store, "bkt", "k", &vec![b'0' + i; 100_000]).await
        }));
    }
    // Readers during the writes see one writer's bytes, never a mix.
    for _ in 0..20 {
        let data = read_all(&f.store, "bkt", "k").await;
        assert_eq!(data.len(), 100_000);
        assert!(data.iter().all(|b| *b == data[0]), "torn read");
    }
    for t in tasks {
        t.await.unwrap();
    }
    let data = read_all(&f.store, "bkt", "k").await;
    assert!(data.iter().all(|b| *b == data[0]));
    let head = f
        .store
        .head(&ns(), &bucket("bkt"), &key("k"))
        .await
        .unwrap();
    assert_eq!(head.etag, format!("\"{}\"", hex::encode(md5_of(&data))));
    assert_eq!(
        files_in(&f.root.join("files/objects")),
        1,
        "replaced bodies are removed"
    );
}

#[tokio::test]
async fn reopening_removes_what_a_crash_left_behind() {
    let f = fixture().await;
    put(&f.store, "bkt", "kept", b"kept").await;
    // A body renamed into place whose row was never committed, and a half-written temp file.
    std::fs::write(f.root.join("files/objects/orphan"), b"partial").unwrap();
    std::fs::write(f.root.join("files/tmp/upload"), b"partial").unwrap();
    let store = open_at(&f.root).await;
    assert_eq!(files_in(&f.root.join("files/objects")), 1);
    assert_eq!(files_in(&f.root.join("files/tmp")), 0);
    assert_eq!(read_all(&store, "bkt", "kept").await, b"kept");
}

#[tokio::test]
async fn buckets_are_created_listed_and_deleted_only_when_empty() {
    let f = fixture().await;
    f.store.create_bucket(&ns(), &bucket("zeta")).await.unwrap();
    f.store
        .create_bucket(&ns(), &bucket("alpha"))
        .await
        .unwrap();
    let err = f
        .store
        .create_bucket(&ns(), &bucket("alpha"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BucketAlreadyOwnedByYou), "{err}");
    let names: Vec<String> = f
        .store
        .list_buckets(&ns())
        .await
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    put(&f.store, "alpha", "k", b"x").await;
    let err = f
        .store
        .delete_bucket(&ns(), &bucket("alpha"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BucketNotEmpty), "{err}");
    f.store.delete_bucket(&ns(), &bucket("zeta")).await.unwrap();
    let err = f
        .store
        .delete_bucket(&ns(), &bucket("zeta"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchBucket), "{err}");
}

async fn upload_part(f: &Fixture, upload: &str, number: i32, data: &[u8]) -> PartInfo {
    let body = spooled(&f.store, data).await;
    f.store
        .put_part(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            upload,
            number,
            body,
            md5_of(data),
            None,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn multipart_upload_joins_parts_in_order_with_s3s_etag() {
    let f = fixture().await;
    f.store.create_bucket(&ns(), &bucket("bkt")).await.unwrap();
    let upload = f
        .store
        .create_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            Attributes::default(),
            None,
            false,
        )
        .await
        .unwrap();
    let one = vec![b'a'; MIN_PART_SIZE as usize];
    let two = b"tail".to_vec();
    // Re-uploading a part replaces it.
    upload_part(&f, &upload.id, 1, b"replaced").await;
    let p1 = upload_part(&f, &upload.id, 1, &one).await;
    let p2 = upload_part(&f, &upload.id, 2, &two).await;
    let (_, parts) = f
        .store
        .list_parts(&ns(), &bucket("bkt"), &key("big"), &upload.id, 0, 10)
        .await
        .unwrap();
    assert_eq!(parts, vec![p1.clone(), p2.clone()]);

    let err = f
        .store
        .complete_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            &upload.id,
            vec![(2, p2.etag()), (1, p1.etag())],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPartOrder), "{err}");
    let err = f
        .store
        .complete_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            &upload.id,
            vec![(1, "\"00\"".into()), (2, p2.etag())],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPart(_)), "{err}");
    let err = f
        .store
        .complete_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            &upload.id,
            vec![(2, p2.etag()), (3, p2.etag())],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPart(_)), "{err}");

    let info = f
        .store
        .complete_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            &upload.id,
            vec![(1, p1.etag()), (2, p2.etag())],
        )
        .await
        .unwrap();
    let expected = {
        use md5::Digest as _;
        let mut h = md5::Md5::new();
        h.update(md5_of(&one));
        h.update(md5_of(&two));
        format!("\"{}-2\"", hex::encode(h.finalize()))
    };
    assert_eq!(info.etag, expected);
    assert_eq!(info.parts, Some(2));
    assert_eq!(read_all(&f.store, "bkt", "big").await, [one, two].concat());
    // The upload and its part bodies are gone; only the object's body remains.
    let err = f
        .store
        .upload(&ns(), &bucket("bkt"), &key("big"), &upload.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchUpload), "{err}");
    assert_eq!(files_in(&f.root.join("files/objects")), 1);
}

#[tokio::test]
async fn small_parts_before_the_last_are_refused_and_abort_cleans_up() {
    let f = fixture().await;
    f.store.create_bucket(&ns(), &bucket("bkt")).await.unwrap();
    let upload = f
        .store
        .create_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            Attributes::default(),
            None,
            false,
        )
        .await
        .unwrap();
    let p1 = upload_part(&f, &upload.id, 1, b"small").await;
    let p2 = upload_part(&f, &upload.id, 2, b"small").await;
    let err = f
        .store
        .complete_upload(
            &ns(),
            &bucket("bkt"),
            &key("big"),
            &upload.id,
            vec![(1, p1.etag()), (2, p2.etag())],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EntityTooSmall), "{err}");
    let listed = f
        .store
        .list_uploads(&ns(), &bucket("bkt"), "", None, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    f.store
        .abort_upload(&ns(), &bucket("bkt"), &key("big"), &upload.id)
        .await
        .unwrap();
    assert_eq!(files_in(&f.root.join("files/objects")), 0);
    assert!(
        f.store
            .list_uploads(&ns(), &bucket("bkt"), "", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Walks every page of a listing, as a client following continuation tokens does.
async fn walk(store: &Store, prefix: &str, delimiter: Option<&str>, max: usize) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(
                &ns(),
                &bucket("bkt"),
                ListQuery {
                    prefix: prefix.to_owned(),
                    delimiter: delimiter.map(str::to_owned),
                    after: after.clone(),
                    max_keys: max,
                },
            )
            .await
            .unwrap();
        assert!(page.entries.len() <= max);
        after = page.entries.last().map(|e| match e {
            Entry::Object(o) => Cursor::Key(o.key.clone()),
            Entry::Prefix(p) => Cursor::Prefix(p.clone()),
        });
        out.extend(page.entries);
        if !page.truncated {
            return out;
        }
    }
}

/// What a listing must yield, computed the obvious way from the full key set.
fn expected(keys: &BTreeSet<String>, prefix: &str, delimiter: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys.iter().filter(|k| k.starts_with(prefix)) {
        let rest = &k[prefix.len()..];
        let name = match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => format!("{prefix}{}", &rest[..end]),
            None => k.clone(),
        };
        if out.last() != Some(&name) {
            out.push(name);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn walking_all_pages_yields_every_key_once_in_order(
        keys in proptest::collection::btree_set("[ab/é]{1,6}", 1..25),
        prefix in "[ab/]{0,2}",
        delimiter in proptest::option::of(prop_oneof![Just("/".to_owned()), Just("b".to_owned())]),
        max in 1usize..5,
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let f = fixture().await;
            f.store.create_bucket(&ns(), &bucket("bkt")).await.unwrap();
            for k in &keys {
                put(&f.store, "bkt", k, k.as_bytes()).await;
            }
            let listed: Vec<String> = walk(&f.store, &prefix, delimiter.as_deref(), max)
                .await
                .iter()
                .map(|e| e.name().to_owned())
                .collect();
            prop_assert_eq!(listed, expected(&keys, &prefix, delimiter.as_deref()));
            Ok(())
        })?;
    }
}
