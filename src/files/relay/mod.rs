//! Files of a bedrock provider with `[providers.<id>.s3]`: S3 requests relayed to a real bucket, re-signed, streamed both ways.
//!
//! The client's request (authenticated by the gateway, its path already in path style:
//! `/bucket/key?query`) is rebuilt on the configured endpoint with the headers S3 acts on,
//! signed anew with SigV4 and the provider's AWS credentials, and sent once; S3's answer —
//! status, headers and body, its own XML errors and request ids included — is streamed back as
//! it arrives, redirects included (never followed). Neither body is ever held whole in memory.
//! A presigned URL's own signature is dropped; the `x-amz-*` headers it carries in its query go
//! upstream as headers.
//!
//! Request bodies go by the client's `x-amz-content-sha256`:
//!
//! | client sends | upstream gets | signed over |
//! |---|---|---|
//! | a hex digest, `UNSIGNED-PAYLOAD`, nothing | the body as received | the same value (S3 checks the digest) |
//! | `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (or unsigned aws-chunked) | the framed body as received, trailers and all | `STREAMING-UNSIGNED-PAYLOAD-TRAILER` |
//! | `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` | the decoded data (chunk signatures checked in `sigv4` mode) | `UNSIGNED-PAYLOAD` |
//! | `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` (the Rust and Java SDKs over plain HTTP) | the data re-framed unsigned in 64 KiB chunks, checksum trailers and all (signatures checked in `sigv4` mode) | `STREAMING-UNSIGNED-PAYLOAD-TRAILER` |
//! | SigV4a (`STREAMING-AWS4-ECDSA-…`), trailers other than `x-amz-checksum-*` | refused: `501 NotImplemented` | — |

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_smithy_http_server::body::BoxBody;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str};
use quarry_codegen_runtime::protocol::s3_error_response;

use super::chunked::{self, ChunkedError, Framing};
use crate::config::{Addressing, BedrockConfig, S3Target};
use crate::context::CallContext;
use crate::providers::bedrock::credentials::AwsCredentials;
use crate::providers::transport::{Transport, TransportBuildError, UpstreamSettings};
use crate::providers::{ErrorKind, ProviderError, ProviderId};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The signing name of S3.
const SERVICE: &str = "s3";
const CONTENT_SHA256: &str = "x-amz-content-sha256";
const DECODED_LENGTH: &str = "x-amz-decoded-content-length";
const TRAILER: &str = "x-amz-trailer";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
const AWS_CHUNKED: &str = "aws-chunked";
/// The data size of each chunk of a re-framed body (the last one may be shorter), as the SDKs
/// frame theirs.
const REFRAMED_CHUNK: u64 = 64 * 1024;

/// Standard request headers S3 acts on, forwarded as received (besides `content-encoding`,
/// forwarded without `aws-chunked`, and every `x-amz-*` but [`SIGNATURE_HEADERS`]).
const FORWARDED_HEADERS: [&str; 11] = [
    "content-type",
    "content-md5",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];
/// `x-amz-*` headers of the client's own signature and framing: the relay signs and frames anew.
const SIGNATURE_HEADERS: [&str; 4] = [
    "x-amz-date",
    CONTENT_SHA256,
    "x-amz-security-token",
    DECODED_LENGTH,
];
/// Hop-by-hop response headers, which describe one connection and are never relayed.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// RFC 3986's unreserved characters, what SigV4 leaves unescaped in query components.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A request the relay answers itself, as S3 would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn from_chunked(e: &ChunkedError) -> Self {
        Self::new(e.status(), e.s3_code(), e.message())
    }

    /// S3's XML error envelope.
    pub fn response(&self) -> http::Response<BoxBody> {
        s3_error_response(self.status, self.code, &self.message)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for Refusal {}

/// How the request body goes upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Payload {
    /// As received, signed with this payload hash (a hex digest or `UNSIGNED-PAYLOAD`).
    Plain(String),
    /// aws-chunked with unsigned chunks, forwarded framed (trailers included).
    Framed,
    /// aws-chunked with signed chunks, decoded here and sent as its data.
    Decoded(Framing),
    /// aws-chunked with signed chunks and trailers, decoded here and framed again unsigned, with
    /// the trailers (names and the length of their values, in `x-amz-trailer` order).
    Reframed {
        framing: Framing,
        trailers: Vec<(String, usize)>,
    },
}

impl Payload {
    /// The `x-amz-content-sha256` the upstream request is signed with.
    fn signed_as(&self) -> &str {
        match self {
            Self::Plain(hash) => hash,
            Self::Framed | Self::Reframed { .. } => STREAMING_UNSIGNED_TRAILER,
            Self::Decoded(_) => UNSIGNED_PAYLOAD,
        }
    }

    /// Whether the body goes upstream aws-chunked.
    fn framed(&self) -> bool {
        matches!(self, Self::Framed | Self::Reframed { .. })
    }

    /// The length of the body sent upstream, given the length received.
    fn length(&self, received: Option<u64>) -> Option<u64> {
        match self {
            Self::Plain(_) | Self::Framed => received,
            Self::Decoded(framing) => framing.decoded_length,
            Self::Reframed { framing, trailers } => framing
                .decoded_length
                .map(|data| reframed_length(data, trailers)),
        }
    }
}

/// The base64 length of the checksum a `x-amz-checksum-*` trailer carries.
fn checksum_trailer_len(name: &str) -> Option<usize> {
    match name {
        "x-amz-checksum-crc32" | "x-amz-checksum-crc32c" => Some(8),
        "x-amz-checksum-crc64nvme" => Some(12),
        "x-amz-checksum-sha1" => Some(28),
        "x-amz-checksum-sha256" => Some(44),
        _ => None,
    }
}

/// The length of `data` bytes framed as [`Reframed`] frames them, with `trailers`.
fn reframed_length(data: u64, trailers: &[(String, usize)]) -> u64 {
    let chunk = |size: u64| format!("{size:x}").len() as u64 + 2 + size + 2;
    let full = data / REFRAMED_CHUNK;
    let rest = data % REFRAMED_CHUNK;
    let trailer_lines: u64 = trailers
        .iter()
        .map(|(name, len)| (name.len() + 1 + len + 2) as u64)
        .sum();
    full * chunk(REFRAMED_CHUNK)
        + if rest > 0 { chunk(rest) } else { 0 }
        + "0\r\n".len() as u64
        + trailer_lines
        + "\r\n".len() as u64
}

fn is_aws_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.trim().eq_ignore_ascii_case(AWS_CHUNKED))
}

/// How the body of a request with `headers` is sent upstream, or why it cannot be.
fn payload(headers: &HeaderMap, provider: &ProviderId) -> Result<Payload, Refusal> {
    let claimed = match headers.get(CONTENT_SHA256) {
        None => None,
        Some(v) => Some(v.to_str().map(str::trim).map_err(|_| {
            Refusal::new(400, "InvalidArgument", "x-amz-content-sha256 must be ASCII")
        })?),
    };
    let framing = || match chunked::framing(headers) {
        Some(Ok(framing)) => Ok(framing),
        Some(Err(e)) => Err(Refusal::from_chunked(&e)),
        None => Ok(Framing::default()),
    };
    match claimed {
        Some(STREAMING_UNSIGNED_TRAILER) => framing().map(|_| Payload::Framed),
        Some(hash @ (STREAMING_SIGNED | STREAMING_SIGNED_TRAILER)) => {
            let mut framing = framing()?;
            if framing.decoded_length.is_none() {
                return Err(Refusal::new(
                    411,
                    "MissingContentLength",
                    "You must provide the x-amz-decoded-content-length HTTP header.",
                ));
            }
            // In `sigv4` mode the auth layer hands over the seed, and every chunk signature is
            // checked before its data goes on; without auth there is no secret to check with.
            framing.signing = CallContext::current().chunk_signing.clone();
            if hash == STREAMING_SIGNED {
                return Ok(Payload::Decoded(framing));
            }
            let trailers = declared_trailers(headers, provider)?;
            Ok(Payload::Reframed { framing, trailers })
        }
        Some(other) if other.starts_with("STREAMING-") => Err(Refusal::new(
            501,
            "NotImplemented",
            format!(
                "x-amz-content-sha256 {other} is not supported for files that provider \
                 '{provider}' keeps in S3: its chunk signatures cannot be checked here. Send \
                 the body unsigned (UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER), \
                 with a SHA-256 digest, or signed with SigV4 \
                 (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER])."
            ),
        )),
        // Some SDKs (Java v2) frame unsigned aws-chunked under UNSIGNED-PAYLOAD or no hash;
        // a digest with aws-chunked is refused as S3 refuses it.
        _ if is_aws_chunked(headers) => framing().map(|_| Payload::Framed),
        Some(hash) => Ok(Payload::Plain(hash.to_owned())),
        None => Ok(Payload::Plain(UNSIGNED_PAYLOAD.to_owned())),
    }
}

/// The trailers `x-amz-trailer` announces, each with the length of its value: checksums only,
/// whose lengths are fixed, so the re-framed body's length is known before it is sent.
fn declared_trailers(
    headers: &HeaderMap,
    provider: &ProviderId,
) -> Result<Vec<(String, usize)>, Refusal> {
    let mut out = Vec::new();
    for value in headers.get_all(TRAILER) {
        let text = value
            .to_str()
            .map_err(|_| Refusal::new(400, "InvalidArgument", "x-amz-trailer must be ASCII"))?;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.to_ascii_lowercase();
            let Some(len) = checksum_trailer_len(&name) else {
                return Err(Refusal::new(
                    501,
                    "NotImplemented",
                    format!(
                        "the trailer {name} is not supported for files that provider \
                         '{provider}' keeps in S3 with signed aws-chunked bodies: only \
                         x-amz-checksum-* trailers are"
                    ),
                ));
            };
            out.push((name, len));
        }
    }
    Ok(out)
}

/// A header value as a string to sign, or why it cannot be signed.
fn signable(name: &HeaderName, value: &HeaderValue) -> Result<(), Refusal> {
    std::str::from_utf8(value.as_bytes())
        .map(|_| ())
        .map_err(|_| {
            Refusal::new(
                400,
                "InvalidArgument",
                format!("the {name} header is not UTF-8, so it cannot be signed for S3"),
            )
        })
}

/// The client's headers S3 acts on, for a body sent as `payload`: the standard ones of
/// [`FORWARDED_HEADERS`], `content-encoding` without `aws-chunked` (put back first for a framed
/// body), and every `x-amz-*` (metadata, checksums, SSE, ACL, tagging, storage class, copy
/// source…) except the client's own signature headers — plus, for a framed body, its
/// `x-amz-decoded-content-length` and `x-amz-trailer`. Never the client's credentials, host,
/// routing header, `expect`, length or connection headers. `Content-Length` is added by the
/// caller, who knows the length sent.
fn forwarded_headers(headers: &HeaderMap, payload: &Payload) -> Result<HeaderMap, Refusal> {
    let framed = payload.framed();
    let mut out = HeaderMap::new();
    let mut codings: Vec<String> = Vec::new();
    if framed {
        codings.push(AWS_CHUNKED.to_owned());
    }
    for (name, value) in headers {
        let n = name.as_str();
        if n == http::header::CONTENT_ENCODING {
            let text = value.to_str().map_err(|_| {
                Refusal::new(400, "InvalidArgument", "Content-Encoding must be ASCII")
            })?;
            codings.extend(
                text.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case(AWS_CHUNKED))
                    .map(str::to_owned),
            );
            continue;
        }
        let amz =
            n.starts_with("x-amz-") && !SIGNATURE_HEADERS.contains(&n) && (n != TRAILER || framed);
        if amz || FORWARDED_HEADERS.contains(&n) || (framed && n == DECODED_LENGTH) {
            signable(name, value)?;
            out.append(name.clone(), value.clone());
        }
    }
    if !codings.is_empty()
        && let Ok(value) = HeaderValue::from_str(&codings.join(","))
    {
        out.insert(http::header::CONTENT_ENCODING, value);
    }
    Ok(out)
}

/// `component` percent-decoded: UTF-8, or why it cannot be signed (the signer reads query
/// components as UTF-8, and would sign something other than what S3 reads).
fn decode_query_component(component: &str) -> Result<String, Refusal> {
    percent_decode_str(component)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| {
            // Not echoed: the value may be part of the client's credentials.
            Refusal::new(
                400,
                "InvalidArgument",
                "a query parameter is not UTF-8 once percent-decoded, so it cannot be signed for \
                 S3",
            )
        })
}

/// `component` percent-decoded, then encoded as SigV4 encodes query components (a raw `+` is a
/// plus, as S3 reads it).
fn reencode_query_component(component: &str) -> Result<String, Refusal> {
    let raw = decode_query_component(component)?;
    Ok(percent_encoding::percent_encode(raw.as_bytes(), UNRESERVED).to_string())
}

/// Whether a query parameter named `name` (decoded) is an `x-amz-*` one: the client's
/// presigned-URL signature, or a header a presigned URL carries in its query.
fn is_amz_parameter(name: &str) -> bool {
    name.get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
}

/// The query-string authentication parameters of a presigned URL: the client's signature,
/// which the relay replaces with its own.
const QUERY_AUTH: [&str; 8] = [
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// The client's query without its `x-amz-*` parameters (any case: a presigned URL's signature,
/// and the headers it carries, which [`hoisted_headers`] sends as headers), each name and value
/// in the encoding the upstream signature is computed over; a parameter without `=`
/// (`?uploads`) keeps none.
fn forwarded_query(query: &str) -> Result<String, Refusal> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (pair, None),
        };
        let name = reencode_query_component(name)?;
        if is_amz_parameter(&name) {
            continue;
        }
        out.push(match value {
            Some(value) => format!("{name}={}", reencode_query_component(value)?),
            None => name,
        });
    }
    Ok(out.join("&"))
}

/// The headers a presigned URL carries in its query besides its signature (the JavaScript and
/// Go SDKs hoist `x-amz-*` headers there: `?x-amz-meta-purpose=batch`), which S3 acts on as
/// headers: the relay signs its own request in headers, so they go upstream as headers. Not
/// those of the client's signature or framing (see [`SIGNATURE_HEADERS`]); nothing for a
/// request that is not presigned.
fn hoisted_headers(query: Option<&str>) -> Result<HeaderMap, Refusal> {
    let mut out = HeaderMap::new();
    let Some(query) = query else {
        return Ok(out);
    };
    let mut presigned = false;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_query_component(name)?.to_ascii_lowercase();
        if !is_amz_parameter(&name) {
            continue;
        }
        if QUERY_AUTH.contains(&name.as_str()) {
            presigned |= name == "x-amz-signature";
            continue;
        }
        if SIGNATURE_HEADERS.contains(&name.as_str()) || name == TRAILER {
            continue;
        }
        let invalid = || {
            Refusal::new(
                400,
                "InvalidArgument",
                format!("the query parameter {name} cannot be sent as a header"),
            )
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value =
            HeaderValue::from_str(&decode_query_component(value)?).map_err(|_| invalid())?;
        out.append(header, value);
    }
    if !presigned {
        out.clear();
    }
    Ok(out)
}

/// A bucket name that can be a DNS label under the endpoint's host with a TLS certificate
/// matching it: lower-case letters, digits and `-`, 3 to 63 long, no dots (as the AWS SDKs
/// decide between virtual-hosted and path style).
fn virtual_hostable(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

/// The upstream URL of a request for `path` (inside the files API: `/bucket/key`) and `query`.
///
/// The path goes as S3 signs it: every path in S3's canonical encoding — what the SDKs send —
/// is kept byte for byte (`%2F`-free keys, `//`, spaces as `%20`, UTF-8 escapes); other
/// escapes of the same key (`%7E`, a raw `!`, `%2F`) are sent in that canonical form, the one S3
/// computes the signature over. Keys with `.` or `..` segments are refused: the HTTP client
/// would resolve them, naming another key.
pub fn upstream_url(target: &S3Target, path: &str, query: Option<&str>) -> Result<String, Refusal> {
    let canonical = crate::auth::canonical_uri(path, SERVICE);
    if canonical.split('/').skip(1).any(|s| s == "." || s == "..") {
        return Err(Refusal::new(
            400,
            "InvalidArgument",
            "object keys with '.' or '..' path segments cannot be relayed to S3",
        ));
    }
    let endpoint = target.endpoint.as_uri();
    let scheme = endpoint.scheme_str().unwrap_or("https");
    let authority = endpoint.authority().map_or("", |a| a.as_str());
    let base = endpoint.path().trim_end_matches('/');
    let rest = canonical.strip_prefix('/').unwrap_or(&canonical);
    let (bucket, key) = match rest.split_once('/') {
        Some((bucket, key)) => (bucket, key),
        None => (rest, ""),
    };
    let mut url = if target.addressing == Addressing::Virtual && virtual_hostable(bucket) {
        format!("{scheme}://{bucket}.{authority}{base}/{key}")
    } else {
        format!("{scheme}://{authority}{base}{canonical}")
    };
    let query = forwarded_query(query.unwrap_or(""))?;
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    Ok(url)
}

/// Signs a request to `url` (exactly as it goes on the wire), adding `authorization`,
/// `x-amz-date`, `x-amz-content-sha256` (`payload_hash`) and, for temporary credentials,
/// `x-amz-security-token` to `headers`, every one of which is signed.
fn sign(
    method: &Method,
    url: &str,
    headers: &mut HeaderMap,
    payload_hash: &str,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), String> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    // S3 signs the path as sent (encoded once, never normalized) and wants the payload hash.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        url,
        // Forwarded headers are UTF-8 already (see `forwarded_headers`).
        headers.iter().filter_map(|(name, value)| {
            Some((name.as_str(), std::str::from_utf8(value.as_bytes()).ok()?))
        }),
        SignableBody::Precomputed(payload_hash.to_owned()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (added, _query) = instructions.into_parts();
    for header in added {
        let mut value = HeaderValue::from_str(header.value()).map_err(|e| e.to_string())?;
        // Kept out of debug output: the signature and the session token are credentials.
        value.set_sensitive(
            header.sensitive()
                || header.name() == http::header::AUTHORIZATION.as_str()
                || header.name() == "x-amz-security-token",
        );
        headers.insert(header.name(), value);
    }
    Ok(())
}

/// What went wrong with the client's body while it was being sent, for the answer.
type BodyFailure = Arc<Mutex<Option<Refusal>>>;

/// A body with a known length (when known), its chunks from `chunks`; records the first error in
/// `failure` and signals `ended` once the last chunk has gone.
struct Outgoing {
    chunks: Pin<Box<dyn Stream<Item = Result<Bytes, Refusal>> + Send + Sync>>,
    length: Option<u64>,
    failure: BodyFailure,
    ended: Option<tokio::sync::oneshot::Sender<()>>,
}

impl http_body::Body for Outgoing {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.chunks.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => Poll::Ready(Some(Ok(http_body::Frame::data(bytes)))),
            Poll::Ready(Some(Err(refusal))) => {
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert_with(|| refusal.clone());
                }
                Poll::Ready(Some(Err(Box::new(refusal))))
            }
            Poll::Ready(None) => {
                if let Some(ended) = self.ended.take() {
                    let _ = ended.send(());
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.length.map_or_else(
            http_body::SizeHint::default,
            http_body::SizeHint::with_exact,
        )
    }
}

/// An answer's body with the length its `Content-Length` announces, so the server frames it
/// with that length rather than chunking it.
struct Relayed<S> {
    chunks: S,
    length: Option<u64>,
}

impl<S> http_body::Body for Relayed<S>
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Unpin,
{
    type Data = Bytes;
    type Error = ProviderError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, ProviderError>>> {
        self.chunks
            .poll_next_unpin(cx)
            .map(|chunk| chunk.map(|c| c.map(http_body::Frame::data)))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.length.map_or_else(
            http_body::SizeHint::default,
            http_body::SizeHint::with_exact,
        )
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Refuses a request naming a bucket outside the configured `buckets` (its path's, or a copy's
/// source): the gateway's AWS identity reaches only those. ListBuckets is refused too then.
pub fn allowed(target: &S3Target, path: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    if target.buckets.is_empty() {
        return Ok(());
    }
    let denied = |what: String| {
        Refusal::new(
            403,
            "AccessDenied",
            format!("{what} is not one of the buckets this gateway relays to S3"),
        )
    };
    let bucket = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if bucket.is_empty() {
        return Err(denied("ListBuckets (no bucket)".to_owned()));
    }
    let bucket = percent_encoding::percent_decode_str(bucket).decode_utf8_lossy();
    if !target.buckets.iter().any(|b| *b == bucket) {
        return Err(denied(format!("Bucket {bucket}")));
    }
    if let Some(source) = headers.get("x-amz-copy-source") {
        let source = String::from_utf8_lossy(source.as_bytes());
        let source = percent_encoding::percent_decode_str(source.trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned();
        let source_bucket = source.split('/').next().unwrap_or("");
        if !target.buckets.iter().any(|b| b == source_bucket) {
            return Err(denied(format!("Copy source bucket {source_bucket}")));
        }
    }
    Ok(())
}

/// Relays a bedrock provider's files requests to its S3 bucket.
pub struct S3Relay {
    provider: ProviderId,
    target: S3Target,
    credentials: AwsCredentials,
    /// Timeouts and the idle-timed answer body.
    transport: Transport,
    /// The client requests go out on (see [`relay_client`]); `None` if it could not be built.
    client: Option<reqwest::Client>,
}

/// The transport's connection settings, but redirects are relayed to the client as S3 sent them
/// and never followed: following one would send the request elsewhere without its signature
/// (S3's 307 for a new bucket) but with the session token, or to whatever host a `Location`
/// names.
fn relay_client(settings: &UpstreamSettings) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(settings.timeouts.connect)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

impl std::fmt::Debug for S3Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Relay")
            .field("provider", &self.provider)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl S3Relay {
    /// A relay to `target`, signing with the AWS SDK's default credential chain (loaded on the
    /// first request) and waiting on S3 as `settings` say.
    pub fn new(
        provider: ProviderId,
        target: S3Target,
        settings: UpstreamSettings,
    ) -> Result<Self, TransportBuildError> {
        // Each request is sent once: a streamed body cannot be replayed, and S3 clients retry
        // the 503s they get back themselves.
        let transport = Transport::new(provider.clone(), settings, Vec::new())?;
        // Built like the transport's, which was: this cannot fail but for a broken TLS backend.
        let client = relay_client(&settings)
            .inspect_err(|e| {
                tracing::error!(provider = %provider, error = %e, "the HTTP client to S3 could not be built");
            })
            .ok();
        Ok(Self {
            credentials: AwsCredentials::default_chain(provider.clone(), target.region.clone()),
            provider,
            target,
            transport,
            client,
        })
    }

    /// The relay a bedrock provider's `[providers.<id>.s3]` describes, if it has one.
    pub fn from_config(
        provider: &ProviderId,
        config: &BedrockConfig,
    ) -> Result<Option<Self>, TransportBuildError> {
        config
            .s3
            .as_ref()
            .map(|target| Self::new(provider.clone(), target.clone(), config.remote.upstream))
            .transpose()
    }

    /// Signs with these credentials instead of the default chain (tests, embedders).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = AwsCredentials::fixed(
            self.provider.clone(),
            self.target.region.clone(),
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        );
        self
    }

    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    pub fn target(&self) -> &S3Target {
        &self.target
    }

    /// Sends the request (its path inside the files API, path style) to S3 and streams the
    /// answer back; failures before S3 answered are S3 errors naming the provider.
    pub async fn relay<B>(&self, request: http::Request<B>) -> http::Response<BoxBody>
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        match self.send(request).await {
            Ok(response) => response,
            Err(refusal) => {
                tracing::warn!(provider = %self.provider, status = refusal.status, code = refusal.code, message = %refusal.message, "files request not relayed to S3");
                refusal.response()
            }
        }
    }

    async fn send<B>(&self, request: http::Request<B>) -> Result<http::Response<BoxBody>, Refusal>
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        allowed(&self.target, parts.uri.path(), &parts.headers)?;
        let payload = payload(&parts.headers, &self.provider)?;
        let url = upstream_url(&self.target, parts.uri.path(), parts.uri.query())?;
        // Signed exactly as the client will send it (the URL parser drops a default port, say).
        let url = reqwest::Url::parse(&url).map_err(|e| {
            Refusal::new(
                400,
                "InvalidURI",
                format!("Couldn't parse the specified URI: {e}"),
            )
        })?;
        // The gateway refuses subresources it does not serve before routing, reading the query
        // as sent: checked again as S3 will read it (`?polic%79` is `?policy`).
        if let Some(why) = super::subresources::unserved(&parts.method, url.query()) {
            return Err(Refusal::new(501, "NotImplemented", why));
        }
        // A presigned URL's hoisted headers join the client's (which win over them).
        let hoisted = hoisted_headers(parts.uri.query())?;
        let mut headers = if hoisted.is_empty() {
            forwarded_headers(&parts.headers, &payload)?
        } else {
            let mut all = parts.headers.clone();
            for (name, value) in &hoisted {
                if !parts.headers.contains_key(name) {
                    all.append(name.clone(), value.clone());
                }
            }
            forwarded_headers(&all, &payload)?
        };
        let received_length = content_length(&parts.headers);
        let length = payload.length(received_length);
        if let Some(length) = length {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        let credentials = self
            .credentials
            .get()
            .await
            .map_err(|e| self.provider_failure(&e))?;
        sign(
            &parts.method,
            url.as_str(),
            &mut headers,
            payload.signed_as(),
            &credentials,
            &self.target.region,
            SystemTime::now(),
        )
        .map_err(|why| {
            Refusal::new(
                500,
                "InternalError",
                format!(
                    "signing the request to S3 for provider '{}' failed: {why}",
                    self.provider
                ),
            )
        })?;

        let (ended, body_sent) = tokio::sync::oneshot::channel();
        let failure = BodyFailure::default();
        let bodyless = matches!(payload, Payload::Plain(_))
            && received_length.is_none()
            && body.size_hint().exact() == Some(0);
        let Some(client) = &self.client else {
            return Err(Refusal::new(
                500,
                "InternalError",
                format!(
                    "the HTTP client to S3 of provider '{}' could not be built",
                    self.provider
                ),
            ));
        };
        let mut upstream = client.request(parts.method.clone(), url).headers(headers);
        if bodyless {
            let _ = ended.send(());
        } else {
            let chunks = outgoing_chunks(body, &payload);
            upstream = upstream.body(reqwest::Body::wrap(Outgoing {
                chunks,
                length,
                failure: failure.clone(),
                ended: Some(ended),
            }));
        }
        // S3 answers once it has the whole body: the first-byte timeout runs from there.
        let first_byte = self.transport.settings().timeouts.first_byte;
        let answer = tokio::select! {
            answer = upstream.send() => answer,
            () = async {
                if body_sent.await.is_err() {
                    // The body failed: the send fails with it.
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(first_byte).await;
            } => {
                return Err(Refusal::new(
                    503,
                    "ServiceUnavailable",
                    format!(
                        "S3 sent no response to provider '{}' within {} s",
                        self.provider,
                        first_byte.as_secs_f64()
                    ),
                ));
            }
        };
        let response = match answer {
            Ok(response) => response,
            Err(e) => {
                if let Some(refusal) = failure.lock().ok().and_then(|mut slot| slot.take()) {
                    return Err(refusal);
                }
                return Err(self.network_failure(&e));
            }
        };
        Ok(self.relayed(&parts.method, response))
    }

    /// S3's answer as it comes: status, headers (without hop-by-hop ones) and streamed body.
    fn relayed(&self, method: &Method, response: reqwest::Response) -> http::Response<BoxBody> {
        let status = response.status();
        tracing::debug!(provider = %self.provider, status = status.as_u16(), "relaying S3's answer");
        let mut headers = HeaderMap::new();
        for (name, value) in response.headers() {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
        }
        let has_body = method != Method::HEAD
            && !status.is_informational()
            && status != http::StatusCode::NO_CONTENT
            && status != http::StatusCode::NOT_MODIFIED;
        let length = if has_body {
            content_length(&headers)
        } else {
            None
        };
        let provider = self.provider.clone();
        let chunks = self.transport.body(response).map(move |chunk| {
            chunk.inspect_err(|err| {
                // The client's length check reports the cut; the reason is only in the log.
                tracing::warn!(provider = %provider, error = %err, "S3's answer broke off; cutting the connection");
            })
        });
        let body = Relayed {
            chunks: Box::pin(chunks),
            length,
        };
        let mut out = http::Response::new(aws_smithy_http_server::body::boxed(body));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        out
    }

    fn provider_failure(&self, e: &ProviderError) -> Refusal {
        match e.kind {
            ErrorKind::ServiceUnavailable | ErrorKind::Throttling | ErrorKind::ModelTimeout => {
                Refusal::new(503, "ServiceUnavailable", e.message.clone())
            }
            _ => Refusal::new(500, "InternalError", e.message.clone()),
        }
    }

    fn network_failure(&self, e: &reqwest::Error) -> Refusal {
        // reqwest's Display omits the cause ("error sending request"); the chain says why.
        let mut why = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            why.push_str(": ");
            why.push_str(&cause.to_string());
            source = cause.source();
        }
        let what = if e.is_timeout() {
            "timed out reaching"
        } else {
            "could not reach"
        };
        Refusal::new(
            503,
            "ServiceUnavailable",
            format!(
                "provider '{}' {what} S3 at {}: {why}",
                self.provider, self.target.endpoint
            ),
        )
    }
}

/// The bytes that go upstream: the body as received, or the data of a signed aws-chunked body.
fn outgoing_chunks<B>(
    body: B,
    payload: &Payload,
) -> Pin<Box<dyn Stream<Item = Result<Bytes, Refusal>> + Send + Sync>>
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    let raw = Box::pin(http_body_util::BodyDataStream::new(body));
    match payload {
        Payload::Plain(_) | Payload::Framed => Box::pin(raw.map(|chunk| {
            chunk.map_err(|e| {
                Refusal::new(
                    400,
                    "IncompleteBody",
                    format!(
                        "The request body terminated unexpectedly: {}",
                        Into::<BoxError>::into(e)
                    ),
                )
            })
        })),
        Payload::Decoded(framing) => Box::pin(
            chunked::Decoder::new(raw, framing.clone())
                .map(|chunk| chunk.map_err(|e| Refusal::from_chunked(&e))),
        ),
        Payload::Reframed { framing, trailers } => Box::pin(Reframed {
            decoder: chunked::Decoder::new(raw, framing.clone()),
            trailers: trailers.clone(),
            data_length: framing.decoded_length.unwrap_or(0),
            sent: 0,
            queue: VecDeque::new(),
            done: false,
        }),
    }
}

/// The data of a signed aws-chunked body framed again without signatures: chunks of
/// [`REFRAMED_CHUNK`] bytes (the last one shorter), then the final chunk and the checksum
/// trailers — exactly [`reframed_length`] bytes, known before the first is sent. Nothing is
/// buffered but the framing lines: chunk boundaries fall at fixed offsets of the data.
struct Reframed<S> {
    decoder: chunked::Decoder<S>,
    /// The declared trailers and the length of their values.
    trailers: Vec<(String, usize)>,
    /// `x-amz-decoded-content-length`, which the decoder holds the data to.
    data_length: u64,
    /// Data bytes framed so far.
    sent: u64,
    queue: VecDeque<Bytes>,
    done: bool,
}

impl<S> Reframed<S> {
    /// Frames `data`, which follows the `sent` bytes framed already.
    fn frame(&mut self, mut data: Bytes) {
        while !data.is_empty() {
            let chunk_start = self.sent - self.sent % REFRAMED_CHUNK;
            let chunk_end = (chunk_start + REFRAMED_CHUNK).min(self.data_length);
            if self.sent == chunk_start {
                let size = chunk_end - chunk_start;
                self.queue.push_back(Bytes::from(format!("{size:x}\r\n")));
            }
            let take = usize::try_from(chunk_end - self.sent)
                .map_or(data.len(), |room| room.min(data.len()));
            self.queue.push_back(data.split_to(take));
            self.sent += take as u64;
            if self.sent == chunk_end {
                self.queue.push_back(Bytes::from_static(b"\r\n"));
            }
        }
    }

    /// The final chunk and the trailers, each declared one present with a value of its length.
    fn tail(&self) -> Result<Bytes, Refusal> {
        let received = self.decoder.trailers();
        if let Some((name, _)) = received
            .iter()
            .find(|(name, _)| !self.trailers.iter().any(|(declared, _)| declared == name))
        {
            return Err(Refusal::new(
                400,
                "MalformedTrailerError",
                format!(
                    "The request contained trailing data that was not well-formed or did not \
                     conform to our published schema. (trailer {name} not declared in \
                     x-amz-trailer)"
                ),
            ));
        }
        let mut tail = String::from("0\r\n");
        for (name, len) in &self.trailers {
            match received.iter().find(|(n, _)| n == name) {
                Some((_, value)) if value.len() == *len => {
                    tail.push_str(&format!("{name}:{value}\r\n"));
                }
                _ => {
                    return Err(Refusal::new(
                        400,
                        "InvalidRequest",
                        format!("Value for {name} trailing header is invalid."),
                    ));
                }
            }
        }
        tail.push_str("\r\n");
        Ok(Bytes::from(tail))
    }
}

impl<S, E> Stream for Reframed<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, Refusal>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(next) = this.queue.pop_front() {
                return Poll::Ready(Some(Ok(next)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.decoder.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(data))) => this.frame(data),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Refusal::from_chunked(&e))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    match this.tail() {
                        Ok(tail) => this.queue.push_back(tail),
                        Err(refusal) => return Poll::Ready(Some(Err(refusal))),
                    }
                }
            }
        }
    }
}
