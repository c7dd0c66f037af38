//! Crash safety of the files API's local store, with the real `quarry` binary: a gateway killed
//! (SIGKILL) in the middle of a PutObject body leaves no object, no temp file and no unreferenced
//! body once it is started again on the same data dir, while an object stored before the kill
//! survives byte for byte.

mod common;
mod gateway_process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gateway_process::Gateway;
use md5::Digest as _;
use tokio::io::AsyncWriteExt as _;

/// Pseudo-random bytes (xorshift64*), so nothing on the way can shortcut them.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every regular file under `dir` (recursively), with its size; empty if `dir` is missing.
fn files_under(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let entry = entry.expect("read a directory entry");
        let meta = entry.metadata().expect("stat a directory entry");
        if meta.is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push((entry.path(), meta.len()));
        }
    }
    out
}

#[tokio::test]
async fn a_put_cut_by_sigkill_leaves_nothing_behind_and_a_complete_put_survives() {
    let data_dir = common::scratch_dir();
    let tmp = data_dir.join("files/tmp");
    let objects = data_dir.join("files/objects");
    let gateway = Gateway::start(&data_dir, None);
    let addr = gateway.addr;

    let created = common::raw_request(addr, "PUT", "/bedrock/files/crash-bucket", &[], b"").await;
    assert_eq!(created.status, 200, "CreateBucket: {}", created.body_text());
    // A complete PutObject before the crash.
    let kept = pseudo_random(3_000_000, 0x5eed);
    let put = common::raw_request(
        addr,
        "PUT",
        "/bedrock/files/crash-bucket/kept.bin",
        &[("content-type", "application/octet-stream")],
        &kept,
    )
    .await;
    assert_eq!(put.status, 200, "PutObject kept.bin: {}", put.body_text());
    let kept_etag = format!("\"{}\"", hex::encode(md5::Md5::digest(&kept)));
    assert_eq!(put.header("etag"), Some(kept_etag.as_str()));
    let stored = files_under(&objects);
    assert_eq!(
        stored.len(),
        1,
        "one complete object, one body in files/objects: {stored:?}"
    );

    // A PutObject announcing 50 MB that sends 10 MB, then the gateway dies.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT /bedrock/files/crash-bucket/big.bin HTTP/1.1\r\nhost: {addr}\r\n\
         content-type: application/octet-stream\r\ncontent-length: 50000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let partial = pseudo_random(10_000_000, 0xb16);
    for chunk in partial.chunks(1 << 20) {
        stream.write_all(chunk).await.expect("write body");
    }
    stream.flush().await.expect("flush body");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spooling = files_under(&tmp);
        if spooling.iter().any(|(_, len)| *len > 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no temp file with bytes in {} within 30 s of sending 10 MB: {spooling:?}\n{}",
            tmp.display(),
            gateway.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway.kill();
    drop(stream);
    // The crash left its temp file behind (else the clean-up below would prove nothing).
    assert!(
        !files_under(&tmp).is_empty(),
        "SIGKILL left no temp file in {}",
        tmp.display()
    );
    // A body renamed into place whose metadata row was never committed (a crash between the two),
    // as the store would find it.
    std::fs::write(
        objects.join("0123456789abcdef0123456789abcdef"),
        b"orphaned body",
    )
    .expect("plant an unreferenced body");
    assert_eq!(files_under(&objects).len(), 2);

    let gateway = Gateway::start(&data_dir, None);
    let addr = gateway.addr;

    let get =
        common::raw_request(addr, "GET", "/bedrock/files/crash-bucket/big.bin", &[], b"").await;
    assert_eq!(get.status, 404, "GetObject big.bin: {}", get.body_text());
    assert!(
        get.body_text().contains("<Code>NoSuchKey</Code>"),
        "GetObject big.bin: {}",
        get.body_text()
    );
    let head = common::raw_request(
        addr,
        "HEAD",
        "/bedrock/files/crash-bucket/big.bin",
        &[],
        b"",
    )
    .await;
    assert_eq!(head.status, 404, "HeadObject big.bin");

    let list = common::raw_request(
        addr,
        "GET",
        "/bedrock/files/crash-bucket?list-type=2",
        &[],
        b"",
    )
    .await;
    assert_eq!(list.status, 200, "ListObjectsV2: {}", list.body_text());
    let listing = list.body_text();
    assert!(!listing.contains("big.bin"), "ListObjectsV2: {listing}");
    assert!(
        listing.contains("<Key>kept.bin</Key>"),
        "ListObjectsV2: {listing}"
    );
    assert!(
        listing.contains("<KeyCount>1</KeyCount>"),
        "ListObjectsV2: {listing}"
    );

    let got = common::raw_request(
        addr,
        "GET",
        "/bedrock/files/crash-bucket/kept.bin",
        &[],
        b"",
    )
    .await;
    assert_eq!(got.status, 200, "GetObject kept.bin: {}", got.body_text());
    assert_eq!(got.header("etag"), Some(kept_etag.as_str()));
    assert_eq!(got.body.len(), kept.len());
    assert!(got.body == kept, "kept.bin changed across the crash");

    let leftovers = files_under(&tmp);
    assert!(
        leftovers.is_empty(),
        "files/tmp after the restart: {leftovers:?}"
    );
    let bodies = files_under(&objects);
    assert_eq!(
        bodies.len(),
        1,
        "files/objects after the restart should hold kept.bin's body alone: {bodies:?}"
    );
    assert_eq!(bodies[0].1, kept.len() as u64, "{bodies:?}");
}
