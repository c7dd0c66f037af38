//! One HTTP service in front of the three generated routers, dispatching by path prefix and route.
//!
//! `/bedrock/files/…` is S3; `/bedrock/…` and `/…` are Bedrock Runtime and the Bedrock control
//! plane, which share those prefixes, so the request's method and path are matched against each
//! service's modeled routes. In `sigv4` auth mode, requests are verified first, as the client
//! signed them (before the prefix is stripped).
//!
//! Bedrock Runtime calls addressed to a model (`POST /model/{modelId}/{operation}`) are first
//! offered to the [`PassthroughRouter`]: when the call routes to a provider that takes requests
//! unchanged (AWS Bedrock itself), the body is relayed as received and the answer streamed back as
//! it comes, without going through the generated router. Files requests for a provider that keeps
//! its files in a real S3 bucket (`[providers.<id>.s3]`) are likewise relayed to S3 by the
//! [`FileRoutes`]' relay, after authentication, instead of reaching the generated S3 router.

use std::convert::Infallible;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aws_smithy_http_server::body::BoxBody;
use aws_smithy_http_server::config::{RequestBodyCollectionConfig, ServiceRequestBodyConfig};
use aws_smithy_http_server::schema::routing::{
    MultiProtocolRoutingService, ProtocolOptions, RouterBuildError,
};
use http_body_util::BodyExt as _;
use quarry_codegen_runtime::protocol::{bedrock_error_response, s3_error_response};
use quarry_codegen_runtime::request::{RequestContext, S3Request, S3RequestLayer, scope};
use quarry_codegen_runtime::routes::matches_any;
use tower::{Layer as _, Service, ServiceExt as _};

use crate::auth::{AuthMode, BEDROCK_SERVICES, Identity, Verifier};
use crate::context::CallContext;
use crate::files::routing::FileRoutes;
use crate::providers::{ErrorKind, ModelId, Provider, ProviderError, RawRequest, RuntimeOperation};

/// Where Bedrock is served besides `/`.
pub const BEDROCK_PREFIX: &str = "/bedrock";
/// Where the S3-compatible files API is served.
pub const FILES_PREFIX: &str = "/bedrock/files";

/// The most a Bedrock Runtime request body may hold (images and documents ride inline, base64).
pub const RUNTIME_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The most a control-plane request body may hold.
pub const CONTROL_BODY_LIMIT: usize = 1024 * 1024;
/// The most a buffered S3 body (XML such as DeleteObjects) may hold; object bodies stream, unlimited.
pub const FILES_XML_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Router options with a cap on collected request bodies (the runtime's default is unlimited).
fn body_limit(max_bytes: usize) -> ProtocolOptions {
    let global =
        RequestBodyCollectionConfig::default().with_max_bytes(NonZeroUsize::new(max_bytes));
    ProtocolOptions::default()
        .with_request_body(ServiceRequestBodyConfig::default().with_global(global))
}

/// Caps on collected request bodies, per service (object bodies stream, uncapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    pub runtime: usize,
    pub control: usize,
    pub files_xml: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            runtime: RUNTIME_BODY_LIMIT,
            control: CONTROL_BODY_LIMIT,
            files_xml: FILES_XML_BODY_LIMIT,
        }
    }
}

/// One body type for every router, whatever the server hands us (a concrete error type keeps
/// the request future provably `Send`).
type Body = aws_smithy_http_server::body::BoxBodySync;

/// The provider a claimed call goes to, and the upstream model id it is asked for.
pub type Claimed = (Arc<dyn Provider>, ModelId);

/// Decides whether a Bedrock Runtime call goes to a provider that takes the request unchanged.
pub trait PassthroughRouter: Send + Sync + 'static {
    /// The provider and upstream model for a call to `model_id` (percent-decoded, as the client
    /// named it), when that provider takes raw requests; `Ok(None)` leaves the call to the
    /// generated router. Runs inside the request's [`CallContext`] (`call` is that context).
    fn claim(&self, model_id: &str, call: &CallContext) -> Result<Option<Claimed>, ProviderError>;
}

/// The gateway's HTTP service.
#[derive(Clone)]
pub struct Gateway {
    auth: AuthMode,
    limits: BodyLimits,
    runtime: MultiProtocolRoutingService,
    control: MultiProtocolRoutingService,
    files: S3Request<MultiProtocolRoutingService>,
    passthrough: Option<Arc<dyn PassthroughRouter>>,
    /// Files requests whose provider keeps its files in S3 are relayed there.
    files_relay: Option<Arc<FileRoutes>>,
    /// `[files] base_domain`: a files request to `<bucket>.<domain>` names its bucket in the host.
    base_domain: Option<Arc<str>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Builds the gateway from one implementation of each service, with the default body limits
    /// and no authentication.
    pub fn new<R, C, S>(
        runtime: Arc<R>,
        control: Arc<C>,
        files: Arc<S>,
    ) -> Result<Self, RouterBuildError>
    where
        R: quarry_bedrock_runtime::BedrockRuntime,
        C: quarry_bedrock::Bedrock,
        S: quarry_s3::S3,
    {
        Self::with_limits(runtime, control, files, BodyLimits::default())
    }

    /// Builds the gateway with the given caps on collected request bodies.
    pub fn with_limits<R, C, S>(
        runtime: Arc<R>,
        control: Arc<C>,
        files: Arc<S>,
        limits: BodyLimits,
    ) -> Result<Self, RouterBuildError>
    where
        R: quarry_bedrock_runtime::BedrockRuntime,
        C: quarry_bedrock::Bedrock,
        S: quarry_s3::S3,
    {
        Ok(Self {
            auth: AuthMode::None,
            limits,
            runtime: quarry_bedrock_runtime::router(runtime, body_limit(limits.runtime))?,
            control: quarry_bedrock::router(control, body_limit(limits.control))?,
            files: S3RequestLayer.layer(quarry_s3::router(files, body_limit(limits.files_xml))?),
            passthrough: None,
            files_relay: None,
            base_domain: None,
        })
    }

    /// Serves virtual-hosted–style files requests: `<bucket>.<domain>` in the Host header.
    pub fn with_base_domain(mut self, domain: Option<&str>) -> Self {
        self.base_domain = domain.map(Arc::from);
        self
    }

    /// Offers Bedrock Runtime calls to `router` before the generated router sees them.
    pub fn with_passthrough(mut self, router: Arc<dyn PassthroughRouter>) -> Self {
        self.passthrough = Some(router);
        self
    }

    /// Relays files requests to S3 when `routes` says their provider keeps its files there
    /// (`x-model-provider`, else the default provider), instead of the files service.
    pub fn with_files_relay(mut self, routes: Arc<FileRoutes>) -> Self {
        self.files_relay = Some(routes);
        self
    }

    /// Verifies every request before routing it (`[auth] mode = "sigv4"`).
    pub fn with_auth(mut self, auth: AuthMode) -> Self {
        self.auth = auth;
        self
    }
}

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Runtime,
    Control,
    Files,
}

fn strip<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// The service a request is for, and its path inside that service.
fn route(method: &str, path: &str) -> (Target, String) {
    if let Some(rest) = strip(path, FILES_PREFIX) {
        return (Target::Files, rest.to_owned());
    }
    // The Rust S3 SDK joins an endpoint path without a trailing slash straight onto the bucket
    // (`/bedrock/filesmy-bucket/key`); nothing else can live there, so read it as `/my-bucket/key`.
    if let Some(rest) = path.strip_prefix(FILES_PREFIX) {
        return (Target::Files, format!("/{rest}"));
    }
    let inner = strip(path, BEDROCK_PREFIX).unwrap_or(path);
    // The runtime's few routes first: a runtime call, the hot path, skips the control plane's.
    let target = if !matches_any(quarry_bedrock_runtime::ROUTES, method, inner)
        && matches_any(quarry_bedrock::ROUTES, method, inner)
    {
        Target::Control
    } else {
        Target::Runtime
    };
    (target, inner.to_owned())
}

/// The bucket a virtual-hosted–style request names: the host's labels before `.{domain}`
/// (bucket names may hold dots), the port ignored.
fn virtual_bucket<'a>(host: &'a str, domain: &str) -> Option<&'a str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let bucket = name.strip_suffix(domain)?.strip_suffix('.')?;
    (!bucket.is_empty() && !bucket.ends_with('.')).then_some(bucket)
}

/// A files path (inside the service) with the bucket of a virtual-hosted–style request put first,
/// as path style spells it.
fn path_style(bucket: &str, path: &str) -> String {
    if path == "/" {
        format!("/{bucket}")
    } else {
        format!("/{bucket}{path}")
    }
}

/// The model id (percent-decoded) and operation of `POST /model/{modelId}/{operation}`, a path
/// inside the runtime service. The SDKs encode `/` in a model id (ARNs) as `%2F`, so the id is
/// always exactly one segment.
fn passthrough_call(method: &http::Method, path: &str) -> Option<(String, RuntimeOperation)> {
    if method != http::Method::POST {
        return None;
    }
    let (label, suffix) = path.strip_prefix("/model/")?.split_once('/')?;
    let operation = RuntimeOperation::from_path_suffix(suffix)?;
    let model_id = percent_encoding::percent_decode_str(label)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!model_id.is_empty()).then_some((model_id, operation))
}

/// Bedrock's status for each error kind (the `httpError` of its modeled exceptions).
fn error_status(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::Validation | ErrorKind::ServiceQuotaExceeded => 400,
        ErrorKind::AccessDenied => 403,
        ErrorKind::ResourceNotFound => 404,
        ErrorKind::ModelTimeout => 408,
        ErrorKind::ModelError | ErrorKind::ModelStreamError => 424,
        ErrorKind::Throttling | ErrorKind::ModelNotReady => 429,
        ErrorKind::InternalServer => 500,
        ErrorKind::ServiceUnavailable => 503,
    }
}

/// A provider failure before any answer, as Bedrock's JSON error.
fn provider_error_response(err: &ProviderError) -> http::Response<BoxBody> {
    bedrock_error_response(error_status(err.kind), err.kind.code(), &err.message)
}

/// Relays a claimed call: the body collected within the runtime limit (refused as the generated
/// router refuses it when over), then handed to the provider unchanged.
async fn relay(
    provider: Arc<dyn Provider>,
    model: ModelId,
    operation: RuntimeOperation,
    limit: usize,
    req: http::Request<Body>,
) -> http::Response<BoxBody> {
    let Some(passthrough) = provider.passthrough() else {
        return provider_error_response(&ProviderError::new(
            ErrorKind::InternalServer,
            format!("provider '{}' takes no raw requests", provider.id()),
        ));
    };
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let why = if e.is::<http_body_util::LengthLimitError>() {
                format!("request body exceeded the configured maximum of {limit} bytes")
            } else {
                format!("error reading request body: {e}")
            };
            return bedrock_error_response(
                400,
                "ValidationException",
                &format!("Malformed input request: {why}"),
            );
        }
    };
    let request = RawRequest {
        operation,
        model,
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    match passthrough.forward(request).await {
        Ok(response) => response,
        Err(err) => {
            tracing::warn!(provider = %provider.id(), error = %err, "passthrough call failed");
            provider_error_response(&err)
        }
    }
}

fn with_path<B>(mut req: http::Request<B>, path: &str) -> http::Request<B> {
    if req.uri().path() == path {
        // Served at the root: the URI is already the one the services route on.
        return req;
    }
    let pq = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    if let Ok(pq) = pq.parse::<http::uri::PathAndQuery>() {
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:016X}{:08X}", nanos as u64, n as u32)
}

/// The header each API's clients read the request id from.
fn request_id_header(target: Target) -> &'static str {
    if target == Target::Files {
        "x-amz-request-id"
    } else {
        "x-amzn-requestid"
    }
}

/// Every response carries the request id, under the header each API's clients read.
fn stamp_request_id(response: &mut http::Response<BoxBody>, id: &str, target: Target) {
    let Ok(v) = http::HeaderValue::from_str(id) else {
        return;
    };
    let headers = response.headers_mut();
    if target == Target::Files {
        headers.insert("x-amz-request-id", v.clone());
        headers.insert("x-amz-id-2", v);
    } else {
        headers.insert("x-amzn-requestid", v);
    }
}

/// What authentication established about a request.
struct Verified {
    identity: Identity,
    chunk_signing: Option<crate::files::chunked::ChunkSigning>,
}

/// Verifies a request; Bedrock clients sign the body's hash without sending it, so Bedrock bodies
/// are buffered here (within the service's limit; the router buffers them anyway). S3 bodies
/// stream: their claimed hash is checked by the files service as the body arrives.
async fn authenticate(
    verifier: &Verifier,
    limits: BodyLimits,
    target: Target,
    req: http::Request<Body>,
) -> Result<(http::Request<Body>, Verified), http::Response<BoxBody>> {
    let (parts, body) = req.into_parts();
    if target == Target::Files {
        return match verifier.verify_s3(&parts) {
            Ok((identity, chunk_signing)) => Ok((
                http::Request::from_parts(parts, body),
                Verified {
                    identity,
                    chunk_signing,
                },
            )),
            Err(e) => Err(s3_error_response(
                e.s3_status(),
                e.s3_code(),
                &e.s3_message(),
            )),
        };
    }
    let limit = if target == Target::Runtime {
        limits.runtime
    } else {
        limits.control
    };
    let bytes = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let message = format!("The request body could not be read: {e}");
            return Err(bedrock_error_response(400, "ValidationException", &message));
        }
    };
    match verifier.verify(&parts, Some(&bytes), BEDROCK_SERVICES) {
        Ok(identity) => {
            let body = aws_smithy_http_server::body::boxed_sync(http_body_util::Full::new(bytes));
            let verified = Verified {
                identity,
                chunk_signing: None,
            };
            Ok((http::Request::from_parts(parts, body), verified))
        }
        Err(e) => Err(bedrock_error_response(
            e.status(),
            e.bedrock_code(),
            &e.message(),
        )),
    }
}

impl<B> Service<http::Request<B>> for Gateway
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (target, mut path) = route(req.method().as_str(), req.uri().path());
        if let (Target::Files, Some(domain)) = (target, &self.base_domain) {
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| req.uri().authority().map(|a| a.as_str()));
            if let Some(bucket) = host.and_then(|h| virtual_bucket(h, domain)) {
                path = path_style(&bucket.to_ascii_lowercase(), &path);
            }
        }
        let raw_call = match (&self.passthrough, target) {
            (Some(_), Target::Runtime) => passthrough_call(req.method(), &path),
            _ => None,
        };
        let id = request_id();
        let envelope = RequestContext {
            request_id: id.clone(),
            host_id: id.clone(),
            ..Default::default()
        };
        let mut call = CallContext {
            request_id: id.clone(),
            headers: Arc::new(req.headers().clone()),
            identity: None,
            chunk_signing: None,
        };
        let req = req.map(aws_smithy_http_server::body::boxed_sync);
        let this = self.clone();
        let serve = async move {
            let req = match &this.auth {
                AuthMode::None => req,
                AuthMode::SigV4(verifier) => {
                    match authenticate(verifier, this.limits, target, req).await {
                        Ok((req, verified)) => {
                            call.identity = Some(verified.identity);
                            call.chunk_signing = verified.chunk_signing;
                            req
                        }
                        Err(mut refused) => {
                            stamp_request_id(&mut refused, &id, target);
                            return Ok(refused);
                        }
                    }
                }
            };
            let req = with_path(req, &path);
            if target == Target::Files
                && let Some(why) =
                    crate::files::subresources::unserved(req.method(), req.uri().query())
            {
                let mut refused = s3_error_response(501, "NotImplemented", &why);
                stamp_request_id(&mut refused, &id, target);
                return Ok(refused);
            }
            // Handlers see the headers and the authenticated key through the call context.
            let routed = async move {
                if let (Some((model_id, operation)), Some(router)) = (raw_call, &this.passthrough) {
                    let context = CallContext::current();
                    match router.claim(&model_id, &context) {
                        Ok(Some((provider, model))) => {
                            let limit = this.limits.runtime;
                            let response = relay(provider, model, operation, limit, req).await;
                            return Ok::<_, Infallible>((response, true));
                        }
                        Ok(None) => {}
                        Err(err) => return Ok((provider_error_response(&err), false)),
                    }
                }
                if target == Target::Files
                    && let Some(routes) = &this.files_relay
                {
                    let named = req
                        .headers()
                        .get(crate::runtime::routing::PROVIDER_HEADER)
                        .map(|v| v.to_str().unwrap_or("<not UTF-8>"));
                    if let Some(relay) = routes.relay(named) {
                        return Ok((relay.relay(req).await, true));
                    }
                }
                let response = match target {
                    Target::Runtime => this.runtime.oneshot(req).await,
                    Target::Control => this.control.oneshot(req).await,
                    Target::Files => this.files.oneshot(req).await,
                }?;
                Ok((response, false))
            };
            let (mut response, relayed) = crate::context::scope(call, routed).await?;
            // A relayed answer keeps the upstream's request id (AWS's own, for AWS support).
            if !(relayed && response.headers().contains_key(request_id_header(target))) {
                stamp_request_id(&mut response, &id, target);
            }
            Ok(response)
        };
        Box::pin(scope(envelope, serve))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosted_style_names_the_bucket_in_the_host() {
        assert_eq!(
            virtual_bucket("my-bucket.localhost:8080", "localhost"),
            Some("my-bucket")
        );
        assert_eq!(
            virtual_bucket("my.dotted.bucket.s3.example.com", "s3.example.com"),
            Some("my.dotted.bucket")
        );
        assert_eq!(virtual_bucket("localhost:8080", "localhost"), None);
        assert_eq!(virtual_bucket("notlocalhost", "localhost"), None);
        assert_eq!(virtual_bucket(".localhost", "localhost"), None);
        assert_eq!(virtual_bucket("127.0.0.1:8080", "localhost"), None);
        assert_eq!(path_style("b", "/"), "/b");
        assert_eq!(path_style("b", "/dir/key"), "/b/dir/key");
    }

    #[test]
    fn prefixes_and_shared_paths() {
        assert_eq!(
            route("POST", "/bedrock/model/m/converse"),
            (Target::Runtime, "/model/m/converse".into())
        );
        assert_eq!(
            route("POST", "/model/m/converse"),
            (Target::Runtime, "/model/m/converse".into())
        );
        assert_eq!(
            route("GET", "/bedrock/model-invocation-jobs"),
            (Target::Control, "/model-invocation-jobs".into())
        );
        assert_eq!(
            route("GET", "/foundation-models"),
            (Target::Control, "/foundation-models".into())
        );
        assert_eq!(
            route("PUT", "/bedrock/files/b/k"),
            (Target::Files, "/b/k".into())
        );
        assert_eq!(route("GET", "/bedrock/files"), (Target::Files, "/".into()));
        // Not a prefix match on a partial segment…
        assert_eq!(
            route("GET", "/bedrockx/model-invocation-jobs").0,
            Target::Runtime
        );
        // …except the Rust S3 SDK's join of an endpoint path without a trailing slash.
        assert_eq!(
            route("GET", "/bedrock/filesmy-bucket/k"),
            (Target::Files, "/my-bucket/k".into())
        );
        // Unknown paths go to the runtime router, which answers Bedrock's routing error.
        assert_eq!(route("GET", "/nope").0, Target::Runtime);
    }

    #[test]
    fn model_calls_are_offered_to_the_passthrough_router() {
        let post = http::Method::POST;
        assert_eq!(
            passthrough_call(&post, "/model/anthropic.claude-v2%3A1/converse"),
            Some(("anthropic.claude-v2:1".into(), RuntimeOperation::Converse))
        );
        assert_eq!(
            passthrough_call(
                &post,
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3/invoke-with-response-stream"
            ),
            Some((
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3".into(),
                RuntimeOperation::InvokeModelWithResponseStream
            ))
        );
        for op in RuntimeOperation::ALL {
            let path = format!("/model/m/{}", op.path_suffix());
            assert_eq!(passthrough_call(&post, &path), Some(("m".into(), op)));
        }
        // Not a model call, not POST, or not one segment of model id: the generated router's.
        assert_eq!(
            passthrough_call(&http::Method::GET, "/model/m/converse"),
            None
        );
        assert_eq!(passthrough_call(&post, "/model/m/converse/x"), None);
        assert_eq!(passthrough_call(&post, "/model/a/b/converse"), None);
        assert_eq!(passthrough_call(&post, "/model//converse"), None);
        assert_eq!(passthrough_call(&post, "/model/m/chat"), None);
        assert_eq!(
            passthrough_call(&post, "/guardrail/g/version/1/apply"),
            None
        );
        assert_eq!(passthrough_call(&post, "/model/%FF/converse"), None);
    }

    #[test]
    fn provider_errors_carry_bedrock_statuses() {
        assert_eq!(error_status(ErrorKind::ServiceUnavailable), 503);
        assert_eq!(error_status(ErrorKind::ModelTimeout), 408);
        assert_eq!(error_status(ErrorKind::AccessDenied), 403);
        assert_eq!(error_status(ErrorKind::Throttling), 429);
        let response =
            provider_error_response(&ProviderError::new(ErrorKind::ServiceUnavailable, "down"));
        assert_eq!(response.status(), 503);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ServiceUnavailableException"
        );
    }
}
