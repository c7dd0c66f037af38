//! The files API (`/bedrock/files`) on the local store, driven by aws-sdk-s3 as a real client.

mod common;

use std::net::SocketAddr;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types as sdk;

async fn gateway() -> SocketAddr {
    common::serve_gateway(common::default_gateway()).await
}

fn client(addr: SocketAddr, plain: bool) -> aws_sdk_s3::Client {
    let config = common::files_config(addr);
    // Plain bodies with a Content-Length, as boto3 sends over HTTP; else the SDK's aws-chunked.
    let config = if plain {
        common::plain_bodies(config)
    } else {
        config
    };
    aws_sdk_s3::Client::from_conf(config.build())
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}

async fn body_of(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn put_get_head_delete_round_trip_as_the_seed_does() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    let data = b"{\"recordId\": \"1\", \"modelInput\": {}}\n".repeat(50);
    let put = s3
        .put_object()
        .bucket("your-s3-bucket")
        .key("bifrost-batch-input/batch_input.jsonl")
        .body(ByteStream::from(data.clone()))
        .content_type("application/jsonl")
        .metadata("purpose", "batch")
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", md5_hex(&data)));
    let file_id = etag.trim_matches('"');

    let head = s3
        .head_object()
        .bucket("your-s3-bucket")
        .key("bifrost-batch-input/batch_input.jsonl")
        .if_match(file_id)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_type(), Some("application/jsonl"));
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("purpose"))
            .map(String::as_str),
        Some("batch")
    );
    assert!(head.last_modified().is_some());

    let got = s3
        .get_object()
        .bucket("your-s3-bucket")
        .key("bifrost-batch-input/batch_input.jsonl")
        .if_match(file_id)
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(got).await, data);

    // A wrong file id is a failed precondition, and changes nothing.
    let err = s3
        .delete_object()
        .bucket("your-s3-bucket")
        .key("bifrost-batch-input/batch_input.jsonl")
        .if_match("not-the-id")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 412);
    s3.delete_object()
        .bucket("your-s3-bucket")
        .key("bifrost-batch-input/batch_input.jsonl")
        .if_match(file_id)
        .send()
        .await
        .unwrap();
    let err = s3
        .get_object()
        .bucket("your-s3-bucket")
        .key("bifrost-batch-input/batch_input.jsonl")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_no_such_key(), "{err:?}");
}

#[tokio::test]
async fn aws_chunked_bodies_with_trailing_checksums_are_decoded_and_verified() {
    let addr = gateway().await;
    // The SDK's defaults: aws-chunked over plain HTTP with a CRC32 trailer.
    let s3 = client(addr, false);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let put = s3
        .put_object()
        .bucket("chunked")
        .key("k")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.e_tag(),
        Some(format!("\"{}\"", md5_hex(&data)).as_str())
    );
    assert!(
        put.checksum_crc32().is_some(),
        "the trailer checksum is echoed"
    );
    let got = s3
        .get_object()
        .bucket("chunked")
        .key("k")
        .checksum_mode(sdk::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc32(), put.checksum_crc32());
    assert_eq!(body_of(got).await, data);
}

#[tokio::test]
async fn a_checksum_mismatch_is_refused_and_nothing_is_stored() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    // A CRC32 of other bytes.
    let err = s3
        .put_object()
        .bucket("sums")
        .key("k")
        .body(ByteStream::from_static(b"the real body"))
        .checksum_crc32("AAAAAA==")
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let text = String::from_utf8_lossy(raw.body().bytes().unwrap()).into_owned();
    assert!(text.contains("<Code>BadDigest</Code>"), "{text}");
    let err = s3
        .head_object()
        .bucket("sums")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 404);
    // A wrong Content-MD5 likewise.
    let err = s3
        .put_object()
        .bucket("sums")
        .key("k")
        .body(ByteStream::from_static(b"the real body"))
        .content_md5("1B2M2Y8AsgTpgAmY7PhCfg==")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    // Not even the bucket the refused writes named was created.
    let err = s3
        .list_objects_v2()
        .bucket("sums")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_no_such_bucket(), "{err:?}");
}

#[tokio::test]
async fn listing_pages_prefixes_and_url_encoding() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    let keys = [
        "in/a.jsonl",
        "in/b c.jsonl",
        "in/sub/d.jsonl",
        "in/sub/e.jsonl",
        "in/ü.jsonl",
        "out/x",
    ];
    for k in keys {
        s3.put_object()
            .bucket("listing")
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    // Every page through the SDK's paginator: each key once, in order.
    let mut seen = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket("listing")
        .max_keys(2)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.key_count().unwrap() <= 2);
        seen.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
    }
    assert_eq!(seen, keys);

    let page = s3
        .list_objects_v2()
        .bucket("listing")
        .prefix("in/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = page.contents().iter().map(|o| o.key().unwrap()).collect();
    // The SDK asks for encoding-type=url and decodes keys itself.
    assert_eq!(names, ["in/a.jsonl", "in/b c.jsonl", "in/ü.jsonl"]);
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap())
        .collect();
    assert_eq!(prefixes, ["in/sub/"]);
    assert_eq!(page.contents()[0].size(), Some(1));
    assert_eq!(
        page.contents()[0].e_tag(),
        Some(format!("\"{}\"", md5_hex(b"x")).as_str())
    );

    let v1 = s3
        .list_objects()
        .bucket("listing")
        .marker("in/sub/e.jsonl")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = v1.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(names, ["in/ü.jsonl", "out/x"]);
}

#[tokio::test]
async fn multipart_upload_joins_parts_with_s3s_etag() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    let created = s3
        .create_multipart_upload()
        .bucket("mpu")
        .key("big.jsonl")
        .send()
        .await
        .unwrap();
    let id = created.upload_id().unwrap().to_owned();
    let one = vec![b'a'; 5 * 1024 * 1024];
    let two = b"the tail".to_vec();
    let mut completed = Vec::new();
    for (n, data) in [(1, &one), (2, &two)] {
        let part = s3
            .upload_part()
            .bucket("mpu")
            .key("big.jsonl")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            part.e_tag(),
            Some(format!("\"{}\"", md5_hex(data)).as_str())
        );
        completed.push(
            sdk::CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    let parts = s3
        .list_parts()
        .bucket("mpu")
        .key("big.jsonl")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 2);
    let uploads = s3
        .list_multipart_uploads()
        .bucket("mpu")
        .send()
        .await
        .unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    let done = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big.jsonl")
        .upload_id(&id)
        .multipart_upload(
            sdk::CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        done.e_tag().unwrap().ends_with("-2\""),
        "{:?}",
        done.e_tag()
    );
    let got = s3
        .get_object()
        .bucket("mpu")
        .key("big.jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), done.e_tag());
    assert_eq!(body_of(got).await, [one, two].concat());
    let err = s3
        .abort_multipart_upload()
        .bucket("mpu")
        .key("big.jsonl")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_no_such_upload(), "{err:?}");
}

#[tokio::test]
async fn ranges_copies_batch_deletes_and_buckets() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    s3.create_bucket().bucket("alpha").send().await.unwrap();
    let err = s3.create_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 409);
    s3.head_bucket().bucket("alpha").send().await.unwrap();
    s3.put_object()
        .bucket("alpha")
        .key("digits")
        .body(ByteStream::from_static(b"0123456789"))
        .send()
        .await
        .unwrap();
    let ranged = s3
        .get_object()
        .bucket("alpha")
        .key("digits")
        .range("bytes=2-4")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.content_range(), Some("bytes 2-4/10"));
    assert_eq!(body_of(ranged).await, b"234");
    let err = s3
        .get_object()
        .bucket("alpha")
        .key("digits")
        .range("bytes=20-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 416);

    s3.copy_object()
        .bucket("alpha")
        .key("copy of digits")
        .copy_source("alpha/digits")
        .send()
        .await
        .unwrap();
    let copied = s3
        .get_object()
        .bucket("alpha")
        .key("copy of digits")
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(copied).await, b"0123456789");

    let err = s3.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 409);
    let deleted = s3
        .delete_objects()
        .bucket("alpha")
        .delete(
            sdk::Delete::builder()
                .objects(
                    sdk::ObjectIdentifier::builder()
                        .key("digits")
                        .build()
                        .unwrap(),
                )
                .objects(
                    sdk::ObjectIdentifier::builder()
                        .key("copy of digits")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted().len(), 2);
    s3.delete_bucket().bucket("alpha").send().await.unwrap();
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().iter().all(|b| b.name() != Some("alpha")));
    let err = s3
        .get_object()
        .bucket("alpha")
        .key("digits")
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 404);
    let text = String::from_utf8_lossy(raw.body().bytes().unwrap()).into_owned();
    assert!(text.contains("<Code>NoSuchBucket</Code>"), "{text}");
    assert!(text.contains("<BucketName>alpha</BucketName>"), "{text}");
}

#[tokio::test]
async fn concurrent_writers_to_one_key_leave_one_whole_object() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    let mut tasks = Vec::new();
    for i in 0..6u8 {
        let s3 = s3.clone();
        tasks.push(tokio::spawn(async move {
            s3.put_object()
                .bucket("race")
                .key("k")
                .body(ByteStream::from(vec![b'a' + i; 200_000]))
                .send()
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let got = s3
        .get_object()
        .bucket("race")
        .key("k")
        .send()
        .await
        .unwrap();
    let etag = got.e_tag().unwrap().to_owned();
    let data = body_of(got).await;
    assert_eq!(data.len(), 200_000);
    assert!(data.iter().all(|b| *b == data[0]), "a torn object");
    assert_eq!(etag, format!("\"{}\"", md5_hex(&data)));
}

#[tokio::test]
async fn unserved_subresources_are_not_implemented_and_change_nothing() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    s3.put_object()
        .bucket("subresources")
        .key("k")
        .body(ByteStream::from_static(b"precious"))
        .send()
        .await
        .unwrap();
    let not_implemented = |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| {
        assert_eq!(e.code(), Some("NotImplemented"), "{:?}", e.message());
        assert!(e.message().is_some_and(|m| m.contains("not implemented")));
    };
    let tagging = sdk::Tagging::builder()
        .tag_set(sdk::Tag::builder().key("a").value("b").build().unwrap())
        .build()
        .unwrap();
    let err = s3
        .put_object_tagging()
        .bucket("subresources")
        .key("k")
        .tagging(tagging)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    not_implemented(&err);
    let err = s3
        .delete_object_tagging()
        .bucket("subresources")
        .key("k")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    not_implemented(&err);
    let err = s3
        .get_bucket_policy()
        .bucket("subresources")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    not_implemented(&err);
    let err = s3
        .get_object()
        .bucket("subresources")
        .key("k")
        .part_number(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(501));
    // Neither the tagging PUT nor the tagging DELETE touched the object.
    let out = s3
        .get_object()
        .bucket("subresources")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(out).await, b"precious");
}

#[tokio::test]
async fn response_overrides_replace_stored_headers_on_get_and_head() {
    let addr = gateway().await;
    let s3 = client(addr, true);
    s3.put_object()
        .bucket("overrides")
        .key("report.csv")
        .body(ByteStream::from_static(b"a,b\n"))
        .content_type("text/csv")
        .cache_control("max-age=60")
        .send()
        .await
        .unwrap();
    let expires = aws_smithy_types::DateTime::from_secs(1_900_000_000);
    let got = s3
        .get_object()
        .bucket("overrides")
        .key("report.csv")
        .response_content_type("application/octet-stream")
        .response_content_disposition("attachment; filename=\"r.csv\"")
        .response_cache_control("no-cache")
        .response_content_language("de")
        .response_expires(expires)
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("application/octet-stream"));
    assert_eq!(
        got.content_disposition(),
        Some("attachment; filename=\"r.csv\"")
    );
    assert_eq!(got.cache_control(), Some("no-cache"));
    assert_eq!(got.content_language(), Some("de"));
    assert_eq!(got.expires_string(), Some("Sun, 17 Mar 2030 17:46:40 GMT"));
    let head = s3
        .head_object()
        .bucket("overrides")
        .key("report.csv")
        .response_content_disposition("inline")
        .response_cache_control("private")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.content_type(),
        Some("text/csv"),
        "not overridden: stored"
    );
    assert_eq!(head.content_disposition(), Some("inline"));
    assert_eq!(head.cache_control(), Some("private"));
    let plain = s3
        .get_object()
        .bucket("overrides")
        .key("report.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.content_type(), Some("text/csv"));
    assert_eq!(plain.cache_control(), Some("max-age=60"));
}
