//! S3 request normalisation: what boto3 sends becomes what the router matches.

use super::*;

fn norm(method: &str, uri: &str, headers: &[(&str, &str)]) -> (String, RequestContext) {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(()).unwrap();
    let ctx = normalize_s3(&mut req);
    (req.uri().to_string(), ctx)
}

#[test]
fn adds_x_id_the_official_model_routes_on() {
    assert_eq!(
        norm("PUT", "/b/k.jsonl", &[]).0,
        "/b/k.jsonl?x-id=PutObject"
    );
    assert_eq!(
        norm("PUT", "/b/k", &[("x-amz-copy-source", "/a/b")]).0,
        "/b/k?x-id=CopyObject"
    );
    assert_eq!(
        norm("PUT", "/b/k?partNumber=1&uploadId=u", &[]).0,
        "/b/k?partNumber=1&uploadId=u&x-id=UploadPart"
    );
    assert_eq!(
        norm("GET", "/b/k?uploadId=u", &[]).0,
        "/b/k?uploadId=u&x-id=ListParts"
    );
    assert_eq!(norm("GET", "/b/dir/k", &[]).0, "/b/dir/k?x-id=GetObject");
    assert_eq!(
        norm("DELETE", "/b/k?uploadId=u", &[]).0,
        "/b/k?uploadId=u&x-id=AbortMultipartUpload"
    );
    assert_eq!(norm("DELETE", "/b/k", &[]).0, "/b/k?x-id=DeleteObject");
    assert_eq!(norm("GET", "/", &[]).0, "/?x-id=ListBuckets");
}

#[test]
fn keeps_what_needs_no_change() {
    assert_eq!(
        norm("PUT", "/b/k?x-id=PutObject", &[]).0,
        "/b/k?x-id=PutObject"
    );
    assert_eq!(norm("POST", "/b/k?uploads", &[]).0, "/b/k?uploads");
    assert_eq!(norm("HEAD", "/b/k", &[]).0, "/b/k");
    assert_eq!(norm("GET", "/b?list-type=2", &[]).0, "/b?list-type=2");
}

#[test]
fn bucket_with_trailing_slash_is_the_bucket() {
    let (uri, ctx) = norm("GET", "/my-bucket/?list-type=2&prefix=x%2F", &[]);
    assert_eq!(uri, "/my-bucket?list-type=2&prefix=x%2F");
    assert_eq!(ctx.bucket.as_deref(), Some("my-bucket"));
    assert_eq!(ctx.key, None);
}

#[test]
fn context_carries_decoded_bucket_and_key() {
    let (_, ctx) = norm("GET", "/b/a%20b/%E2%9C%93", &[]);
    assert_eq!(ctx.bucket.as_deref(), Some("b"));
    assert_eq!(ctx.key.as_deref(), Some("a b/✓"));
}

#[test]
fn xml_bodies_without_content_type_get_one() {
    for (method, uri) in [
        ("POST", "/b?delete"),
        ("POST", "/b/k?uploadId=u"),
        ("PUT", "/b"),
    ] {
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .unwrap();
        normalize_s3(&mut req);
        assert_eq!(
            req.headers().get("content-type").unwrap(),
            "application/xml",
            "{method} {uri}"
        );
    }
    let mut put = http::Request::builder()
        .method("PUT")
        .uri("/b/k")
        .body(())
        .unwrap();
    normalize_s3(&mut put);
    assert!(
        put.headers().get("content-type").is_none(),
        "object bodies keep what the client sent"
    );
}
