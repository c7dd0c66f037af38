//! `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` uploads in `sigv4` mode: the gateway chains every chunk
//! signature from the verified header signature, so a body altered in flight is refused and
//! nothing is stored.

mod common;

use std::net::SocketAddr;

use sha2::Digest as _;

const KEY_ID: &str = "AKIAQUARRYCHUNKS01";
const SECRET: &str = "chunk-signing-secret";

async fn gateway() -> SocketAddr {
    common::serve_toml(&format!(
        "[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"chunks\"\naccess_key_id = \"{KEY_ID}\"\nsecret_access_key = \"{SECRET}\"\n"
    ))
    .await
}

#[tokio::test]
async fn a_correctly_signed_chunk_chain_is_stored() {
    let addr = gateway().await;
    let path = "/bedrock/files/chunks/signed.txt";
    let chunks: [&[u8]; 2] = [&[b'a'; 65536], b"the end\n"];
    let (headers, body) = common::signed_chunks::signed_chunked_put(
        addr,
        (KEY_ID, SECRET),
        &[],
        path,
        &chunks,
        false,
    );
    let put = common::signed_chunks::send(addr, "PUT", path, &headers, &body).await;
    assert_eq!(put.status, 200, "{}", put.body_text());
    let expected: Vec<u8> = chunks.concat();
    assert_eq!(
        put.header("etag"),
        Some(format!("\"{}\"", hex::encode(md5::Md5::digest(&expected))).as_str())
    );
}

#[tokio::test]
async fn a_tampered_chunk_is_refused_and_nothing_is_stored() {
    let addr = gateway().await;
    let path = "/bedrock/files/chunks/tampered.txt";
    let chunks: [&[u8]; 2] = [&[b'a'; 65536], b"the end\n"];
    let (headers, body) =
        common::signed_chunks::signed_chunked_put(addr, (KEY_ID, SECRET), &[], path, &chunks, true);
    let put = common::signed_chunks::send(addr, "PUT", path, &headers, &body).await;
    assert_eq!(put.status, 403, "{}", put.body_text());
    assert!(
        put.body_text()
            .contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        put.body_text()
    );
    // Proof nothing was stored: a correctly signed upload of another key creates the bucket, and
    // the tampered key is still absent from it.
    let other = "/bedrock/files/chunks/other.txt";
    let (headers, body) = common::signed_chunks::signed_chunked_put(
        addr,
        (KEY_ID, SECRET),
        &[],
        other,
        &[b"ok"],
        false,
    );
    assert_eq!(
        common::signed_chunks::send(addr, "PUT", other, &headers, &body)
            .await
            .status,
        200
    );
    let s3 = s3_client(addr);
    let listed = s3.list_objects_v2().bucket("chunks").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["other.txt"]);
}

fn s3_client(addr: SocketAddr) -> aws_sdk_s3::Client {
    let credentials = aws_sdk_s3::config::Credentials::new(KEY_ID, SECRET, None, None, "test");
    let config = common::files_config(addr).credentials_provider(credentials);
    aws_sdk_s3::Client::from_conf(config.build())
}
