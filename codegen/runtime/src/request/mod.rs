//! Per-request context (request id, bucket, key) visible to error serializers, and S3 request normalisation.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// What an error envelope needs to know about the request it answers.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub host_id: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
}

impl RequestContext {
    /// The context of the request being served on this task, if any.
    pub fn current() -> Option<Self> {
        CONTEXT.try_with(Clone::clone).ok()
    }
}

/// Runs `fut` with `ctx` as the current request context.
pub fn scope<F: Future>(ctx: RequestContext, fut: F) -> impl Future<Output = F::Output> {
    CONTEXT.scope(ctx, fut)
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn has_param(query: &str, name: &str) -> bool {
    query.split('&').any(|p| p.split('=').next() == Some(name))
}

/// The S3 operation a path-style request names when the URI alone does not tell (no `x-id`).
fn implied_x_id(
    method: &http::Method,
    has_key: bool,
    query: &str,
    headers: &http::HeaderMap,
) -> Option<&'static str> {
    let upload = has_param(query, "uploadId");
    match (method.as_str(), has_key) {
        ("GET", false) => None,
        ("PUT", true) if upload && has_param(query, "partNumber") => {
            (!headers.contains_key("x-amz-copy-source")).then_some("UploadPart")
        }
        ("PUT", true) if headers.contains_key("x-amz-copy-source") => Some("CopyObject"),
        ("PUT", true) => Some("PutObject"),
        ("GET", true) if upload => Some("ListParts"),
        ("GET", true) => Some("GetObject"),
        ("DELETE", true) if upload => Some("AbortMultipartUpload"),
        ("DELETE", true) => Some("DeleteObject"),
        _ => None,
    }
}

/// Rewrites a path-style S3 request into the form the Smithy router expects, and returns its context.
///
/// boto3, the AWS CLI and most S3 tools send no `x-id` and list with `GET /bucket/?list-type=2`;
/// the official model routes on `x-id` and a slash-less bucket path.
pub fn normalize_s3<B>(req: &mut http::Request<B>) -> RequestContext {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = match trimmed.split_once('/') {
        Some((b, k)) => (b, Some(k)),
        None => (trimmed, None),
    };
    // `/bucket/` addresses the bucket, not an empty key.
    let key = key.filter(|k| !k.is_empty());
    let mut new_path = if bucket.is_empty() {
        "/".to_owned()
    } else {
        match key {
            Some(k) => format!("/{bucket}/{k}"),
            None => format!("/{bucket}"),
        }
    };
    if bucket.is_empty() && req.method() == http::Method::GET && query.is_empty() {
        new_path = "/".to_owned();
    }
    let mut new_query = query.clone();
    let missing_x_id = !has_param(&query, "x-id");
    if bucket.is_empty() && req.method() == http::Method::GET && missing_x_id {
        new_query = append(&new_query, "x-id=ListBuckets");
    } else if missing_x_id
        && let Some(op) = implied_x_id(req.method(), key.is_some(), &query, req.headers())
    {
        new_query = append(&new_query, &format!("x-id={op}"));
    }
    // botocore's rest-xml serializer sends XML bodies (DeleteObjects, CompleteMultipartUpload,
    // CreateBucket) without a Content-Type; S3 does not care, the runtime does.
    let xml_body = match (req.method().as_str(), key.is_some()) {
        ("POST", false) => has_param(&query, "delete"),
        ("POST", true) => has_param(&query, "uploadId"),
        ("PUT", false) => !bucket.is_empty(),
        _ => false,
    };
    if xml_body && !req.headers().contains_key(http::header::CONTENT_TYPE) {
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/xml"),
        );
    }
    let path_and_query = if new_query.is_empty() {
        new_path
    } else {
        format!("{new_path}?{new_query}")
    };
    if let Ok(pq) = path_and_query.parse::<http::uri::PathAndQuery>() {
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    RequestContext {
        request_id: String::new(),
        host_id: String::new(),
        bucket: (!bucket.is_empty()).then(|| decode(bucket)),
        key: key.map(decode),
    }
}

fn append(query: &str, param: &str) -> String {
    if query.is_empty() {
        param.to_owned()
    } else {
        format!("{query}&{param}")
    }
}

/// A tower layer that normalises S3 requests and scopes their [`RequestContext`] around the inner service.
#[derive(Debug, Clone, Default)]
pub struct S3RequestLayer;

impl<S> tower::Layer<S> for S3RequestLayer {
    type Service = S3Request<S>;
    fn layer(&self, inner: S) -> Self::Service {
        S3Request { inner }
    }
}

/// The service [`S3RequestLayer`] produces.
#[derive(Debug, Clone)]
pub struct S3Request<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for S3Request<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let mut ctx = normalize_s3(&mut req);
        if let Some(outer) = RequestContext::current() {
            ctx.request_id = outer.request_id;
            ctx.host_id = outer.host_id;
        }
        if ctx.request_id.is_empty() {
            ctx.request_id = req
                .headers()
                .get("x-amz-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
        }
        let fut = self.inner.call(req);
        Box::pin(scope(ctx, fut))
    }
}

#[cfg(test)]
mod tests;
