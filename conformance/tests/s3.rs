//! The real aws-sdk-s3 client against a server built from the generated S3 stubs and an in-memory store.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_types::byte_stream::ByteStream;
use quarry_s3::operation::{
    delete_object::*, get_object::*, head_object::*, list_objects_v2::*, put_object::*,
};
use quarry_s3::types as s3t;
use quarry_s3::{S3, router};

/// (bucket, key) → (body, content type).
type Objects = BTreeMap<(String, String), (bytes::Bytes, Option<String>)>;

#[derive(Default)]
struct Memory {
    objects: Mutex<Objects>,
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

impl S3 for Memory {
    async fn put_object(
        &self,
        mut input: PutObjectInput,
    ) -> Result<PutObjectOutput, PutObjectError> {
        let mut body = Vec::new();
        while let Some(chunk) = input.body.next().await {
            let chunk = chunk.map_err(|e| PutObjectError::validation(e.to_string()))?;
            body.extend_from_slice(&chunk);
        }
        let tag = etag(&body);
        self.objects
            .lock()
            .unwrap()
            .insert((input.bucket, input.key), (body.into(), input.content_type));
        Ok(PutObjectOutput::builder().e_tag(tag).build())
    }

    async fn get_object(&self, input: GetObjectInput) -> Result<GetObjectOutput, GetObjectError> {
        let found = self
            .objects
            .lock()
            .unwrap()
            .get(&(input.bucket, input.key))
            .cloned();
        let Some((body, content_type)) = found else {
            return Err(GetObjectError::NoSuchKey(
                s3t::error::NoSuchKey::with_message("The specified key does not exist."),
            ));
        };
        Ok(GetObjectOutput::builder()
            .e_tag(etag(&body))
            .content_length(body.len() as i64)
            .set_content_type(content_type)
            .body(ByteStream::from(body))
            .build())
    }

    async fn head_object(
        &self,
        input: HeadObjectInput,
    ) -> Result<HeadObjectOutput, HeadObjectError> {
        let found = self
            .objects
            .lock()
            .unwrap()
            .get(&(input.bucket, input.key))
            .cloned();
        let Some((body, content_type)) = found else {
            return Err(HeadObjectError::NoSuchKey(
                s3t::error::NoSuchKey::with_message("Not Found"),
            ));
        };
        Ok(HeadObjectOutput::builder()
            .e_tag(etag(&body))
            .content_length(body.len() as i64)
            .set_content_type(content_type)
            .build())
    }

    async fn delete_object(
        &self,
        input: DeleteObjectInput,
    ) -> Result<DeleteObjectOutput, DeleteObjectError> {
        self.objects
            .lock()
            .unwrap()
            .remove(&(input.bucket, input.key));
        Ok(DeleteObjectOutput::builder().build())
    }

    async fn list_objects_v2(
        &self,
        input: ListObjectsV2Input,
    ) -> Result<ListObjectsV2Output, ListObjectsV2Error> {
        let prefix = input.prefix.clone().unwrap_or_default();
        let objects = self.objects.lock().unwrap();
        let contents: Vec<s3t::Object> = objects
            .iter()
            .filter(|((b, k), _)| *b == input.bucket && k.starts_with(&prefix))
            .map(|((_, k), (body, _))| {
                s3t::Object::builder()
                    .key(k.clone())
                    .size(body.len() as i64)
                    .e_tag(etag(body))
                    .build()
            })
            .collect();
        Ok(ListObjectsV2Output::builder()
            .name(input.bucket)
            .prefix(prefix)
            .key_count(contents.len() as i32)
            .is_truncated(false)
            .contents(contents)
            .build())
    }
}

async fn setup() -> (aws_sdk_s3::Client, Arc<Memory>) {
    let store = Arc::new(Memory::default());
    let app = router(store.clone(), Default::default()).expect("router builds");
    let addr = common::serve_s3(app).await;
    (common::s3_plain(addr), store)
}

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
