//! AWS Signature Version 4: canonical requests, signing keys, and verification of signed, presigned and bearer requests.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use http::request::Parts;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

use super::error::{AuthError, SignatureDetails};
use super::keys::{Identity, KeyStore, SecretKey};
use crate::files::chunked::ChunkSigning;

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm accepted (SigV4a's `AWS4-ECDSA-P256-SHA256` is not).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's clock may be from ours; AWS allows 5 minutes, the gateway 15 by default.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest `X-Amz-Expires` AWS accepts: one week.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;
const TERMINATOR: &str = "aws4_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (upper-case hex).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// As `UNRESERVED`, but path separators stay.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Payload keywords a client may put in `x-amz-content-sha256` instead of a digest.
const PAYLOAD_KEYWORDS: &[&str] = &[
    UNSIGNED_PAYLOAD,
    "UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
];

/// The payload hash line of the canonical request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadHash(String);

impl PayloadHash {
    /// `UNSIGNED-PAYLOAD`.
    pub fn unsigned() -> Self {
        Self(UNSIGNED_PAYLOAD.to_owned())
    }

    /// The hex SHA-256 of a body the caller has buffered.
    pub fn of_body(body: &[u8]) -> Self {
        Self(hex_digest(&Sha256::digest(body).into()))
    }

    /// The request's `x-amz-content-sha256`, if any, validated.
    pub fn from_header(headers: &HeaderMap) -> Result<Option<Self>, AuthError> {
        let Some(value) = headers.get("x-amz-content-sha256") else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| AuthError::InvalidContentSha256)?;
        let is_digest = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
        if is_digest || PAYLOAD_KEYWORDS.contains(&value) {
            Ok(Some(Self(value.to_owned())))
        } else {
            Err(AuthError::InvalidContentSha256)
        }
    }

    /// For Bedrock: the header when sent, otherwise the buffered body's hash (botocore signs the
    /// body's hash for bedrock-runtime without sending `x-amz-content-sha256`).
    pub fn for_body(headers: &HeaderMap, body: &[u8]) -> Result<Self, AuthError> {
        Ok(Self::from_header(headers)?.unwrap_or_else(|| Self::of_body(body)))
    }

    /// For S3 header auth, where `x-amz-content-sha256` is required.
    pub fn for_s3(headers: &HeaderMap) -> Result<Self, AuthError> {
        Self::from_header(headers)?.ok_or(AuthError::MissingContentSha256)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the `STREAMING-…` keywords: the body arrives in aws-chunked framing.
    pub fn is_streaming(&self) -> bool {
        self.0.starts_with("STREAMING-")
    }

    /// The claimed digest, when the value is one rather than a keyword.
    pub fn digest(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(&self.0, &mut out).ok().map(|()| out)
    }

    /// Checks a fully received body against a claimed digest; keywords always pass.
    pub fn check_body(&self, body: &[u8]) -> Result<(), AuthError> {
        self.check_digest(&Sha256::digest(body).into())
    }

    /// As `check_body`, for a digest the caller computed while streaming.
    pub fn check_digest(&self, computed: &[u8; 32]) -> Result<(), AuthError> {
        match self.digest() {
            Some(claimed) if &claimed != computed => Err(AuthError::ContentSha256Mismatch {
                claimed: self.0.clone(),
                computed: hex::encode(computed),
            }),
            _ => Ok(()),
        }
    }
}

/// `date/region/service/aws4_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    /// `YYYYMMDD`.
    pub date: String,
    pub region: String,
    pub service: String,
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The parts of a request that go into its canonical form, borrowed.
///
/// `path` and `query` are as received on the wire (still percent-encoded).
#[derive(Clone, Copy, Debug)]
pub struct RequestView<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// Stands in for a signed `host` header when there is none (HTTP/2's `:authority`).
    pub authority: Option<&'a str>,
}

impl<'a> RequestView<'a> {
    pub fn from_parts(parts: &'a Parts) -> Self {
        Self {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            authority: parts.uri.authority().map(|a| a.as_str()),
        }
    }
}

/// The canonical request for header authentication.
pub fn canonical_request(
    request: &RequestView<'_>,
    signed_headers: &[&str],
    payload_hash: &str,
    service: &str,
) -> String {
    build_canonical_request(request, signed_headers, payload_hash, service, false)
}

fn build_canonical_request(
    request: &RequestView<'_>,
    signed_headers: &[&str],
    payload_hash: &str,
    service: &str,
    presigned: bool,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(request.method);
    out.push('\n');
    push_canonical_uri(&mut out, request.path, service);
    out.push('\n');
    if !request.query.is_empty() {
        out.push_str(&canonical_query(request.query, presigned));
    }
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        push_canonical_header_value(&mut out, request, name);
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// S3 signs the object key encoded once and never normalized (`a//b` is a distinct key). Every
/// other service signs the wire path encoded a second time, after removing dot segments and
/// empty segments: boto3 sends `/model/x%3A0/converse` and signs `/model/x%253A0/converse`.
pub fn canonical_uri(path: &str, service: &str) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    push_canonical_uri(&mut out, path, service);
    out
}

fn push_canonical_uri(out: &mut String, path: &str, service: &str) {
    let path = if path.is_empty() { "/" } else { path };
    if service == "s3" {
        // Decoding first makes the result independent of how the client chose to escape
        // characters that need no escaping (`%7E` vs `~`).
        let raw: Cow<'_, [u8]> = percent_decode_str(path).into();
        out.extend(percent_encode(&raw, PATH));
    } else if is_normalized(path) {
        out.extend(percent_encode(path.as_bytes(), PATH));
    } else {
        out.extend(percent_encode(normalize_path(path).as_bytes(), PATH));
    }
}

/// Whether [`normalize_path`] would return `path` unchanged: it starts with `/` and has no
/// empty segment (but a trailing slash), no `.` and no `..` — what clients almost always send.
fn is_normalized(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == "." || segment == ".." {
            return false;
        }
    }
    true
}

/// RFC 3986 dot-segment removal plus collapsing of repeated slashes; keeps a trailing slash.
fn normalize_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let trailing = path.ends_with('/') || matches!(segments.last(), Some(&".") | Some(&".."));
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for segment in segments {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    out.push('/');
    out.push_str(&kept.join("/"));
    if trailing && !kept.is_empty() {
        out.push('/');
    }
    out
}

/// Parameters decoded then re-encoded with the strict set, sorted by name then value, `=`
/// always present. Presigned requests leave out their own `X-Amz-Signature`.
pub fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(name), reencode(value))
        })
        .filter(|(name, _)| !(presigned && name == "X-Amz-Signature"))
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// `+` is kept as a literal plus (encoded `%2B`), not read as a space: SigV4 signers escape
/// spaces as `%20`, so a raw `+` on the wire was a plus when signed.
fn reencode(component: &str) -> String {
    let raw: Cow<'_, [u8]> = percent_decode_str(component).into();
    percent_encode(&raw, UNRESERVED).to_string()
}

/// Every value of the header in arrival order, each trimmed with inner whitespace runs collapsed,
/// joined by commas.
fn push_canonical_header_value(out: &mut String, request: &RequestView<'_>, name: &str) {
    let mut values = request.headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        if name == "host" {
            out.push_str(request.authority.unwrap_or(""));
        }
        return;
    }
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Header values are almost always ASCII; obs-text bytes are signed as their UTF-8
        // reading, which matches clients that built the value from a string.
        let text = String::from_utf8_lossy(value.as_bytes());
        let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            out.push_str(first);
            for word in words {
                out.push(' ');
                out.push_str(word);
            }
        }
    }
}

/// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(amz_date: &str, scope: &CredentialScope, canonical_request: &str) -> String {
    let digest = hex_digest(&Sha256::digest(canonical_request.as_bytes()).into());
    let mut out = String::with_capacity(ALGORITHM.len() + amz_date.len() + 64 + 64);
    for part in [
        ALGORITHM,
        "\n",
        amz_date,
        "\n",
        &scope.date,
        "/",
        &scope.region,
        "/",
        &scope.service,
        "/",
        TERMINATOR,
        "\n",
    ] {
        out.push_str(part);
    }
    out.push_str(&digest);
    out
}

/// Lower-case hex of a SHA-256 digest (`hex::encode`, without its per-character collect).
fn hex_digest(digest: &[u8; 32]) -> String {
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits, which are ASCII.
    let _ = hex::encode_to_slice(digest, &mut hex);
    String::from_utf8_lossy(&hex).into_owned()
}

fn hmac(key: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps the code
    // panic-free regardless.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()));
    mac.update(data);
    mac
}

/// The derived key: HMAC chain over date, region, service and `aws4_request`.
pub fn signing_key(secret: &SecretKey, scope: &CredentialScope) -> [u8; 32] {
    secret.signing_key_for(scope, || derive_signing_key(secret, scope))
}

fn derive_signing_key(secret: &SecretKey, scope: &CredentialScope) -> [u8; 32] {
    let mut key = format!("AWS4{}", secret.expose()).into_bytes();
    for part in [
        scope.date.as_str(),
        scope.region.as_str(),
        scope.service.as_str(),
        TERMINATOR,
    ] {
        key = hmac(&key, part.as_bytes()).finalize().into_bytes().to_vec();
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&key);
    out
}

/// The hex signature of a string to sign.
pub fn signature(secret: &SecretKey, scope: &CredentialScope, string_to_sign: &str) -> String {
    hex::encode(
        hmac(&signing_key(secret, scope), string_to_sign.as_bytes())
            .finalize()
            .into_bytes(),
    )
}

/// Compares in constant time (HMAC's own verifier).
fn signature_matches(
    secret: &SecretKey,
    scope: &CredentialScope,
    string_to_sign: &str,
    provided: &str,
) -> bool {
    // A signature is 32 bytes; anything else cannot match.
    let mut decoded = [0u8; 32];
    if hex::decode_to_slice(provided, &mut decoded).is_err() {
        return false;
    }
    hmac(&signing_key(secret, scope), string_to_sign.as_bytes())
        .verify_slice(&decoded)
        .is_ok()
}

/// How a request says it is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: AWS4-HMAC-SHA256 …`.
    SigV4Header,
    /// `?X-Amz-Algorithm=…&X-Amz-Signature=…`.
    SigV4Query,
    /// `Authorization: Bearer …`.
    Bearer,
    /// Some other `Authorization` scheme.
    Unsupported,
    /// No credentials at all.
    None,
}

/// Which verifier applies to a request.
pub fn scheme(parts: &Parts) -> Scheme {
    if let Some(value) = parts.headers.get(http::header::AUTHORIZATION) {
        let value = value.as_bytes();
        return if value.starts_with(b"AWS4-HMAC-SHA256 ") {
            Scheme::SigV4Header
        } else if value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer ") {
            Scheme::Bearer
        } else {
            Scheme::Unsupported
        };
    }
    let presigned = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("X-Amz-Algorithm=")));
    if presigned {
        Scheme::SigV4Query
    } else {
        Scheme::None
    }
}

/// The parsed `Authorization` header.
struct HeaderAuth<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<HeaderAuth<'_>, AuthError> {
    let Some(rest) = value.strip_prefix(ALGORITHM).filter(|r| r.starts_with(' ')) else {
        return Err(AuthError::UnsupportedAlgorithm {
            authorization: value.to_owned(),
        });
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in rest.split(',') {
        let Some((key, val)) = component.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "Credential" => credential = Some(val.trim()),
            "SignedHeaders" => signed_headers = Some(val.trim()),
            "Signature" => signature = Some(val.trim()),
            _ => {}
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(HeaderAuth {
            credential,
            signed_headers,
            signature,
        }),
        (c, h, s) => {
            let mut missing = Vec::new();
            if c.is_none() {
                missing.push("Credential");
            }
            if s.is_none() {
                missing.push("Signature");
            }
            if h.is_none() {
                missing.push("SignedHeaders");
            }
            Err(AuthError::Incomplete {
                missing,
                authorization: value.to_owned(),
            })
        }
    }
}

/// `AKID/date/region/service/aws4_request` → key id and scope.
fn parse_credential<'a>(
    credential: &'a str,
    expected_service: &[&str],
) -> Result<(&'a str, CredentialScope), AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [akid, date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::MalformedCredential {
            credential: credential.to_owned(),
        });
    };
    if akid.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::MalformedCredential {
            credential: credential.to_owned(),
        });
    }
    if *terminator != TERMINATOR {
        return Err(AuthError::BadTerminator {
            terminator: (*terminator).to_owned(),
        });
    }
    if !expected_service.contains(service) {
        return Err(AuthError::WrongService {
            expected: expected_service.first().copied().unwrap_or("").to_owned(),
            got: (*service).to_owned(),
        });
    }
    Ok((
        akid,
        CredentialScope {
            date: (*date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        },
    ))
}

/// The request time from `x-amz-date` (preferred) or `date`, as ISO-8601 basic.
fn request_time(headers: &HeaderMap, authorization: &str) -> Result<(String, u64), AuthError> {
    if let Some(value) = headers.get("x-amz-date") {
        let text = value.to_str().unwrap_or("");
        return parse_amz_date(text)
            .map(|secs| (text.to_owned(), secs))
            .ok_or_else(|| AuthError::BadDate {
                value: text.to_owned(),
            });
    }
    if let Some(value) = headers.get(http::header::DATE) {
        let text = value.to_str().unwrap_or("");
        return parse_http_date(text)
            .map(|secs| (format_amz_date(secs), secs))
            .ok_or_else(|| AuthError::BadDate {
                value: text.to_owned(),
            });
    }
    Err(AuthError::MissingDate {
        authorization: authorization.to_owned(),
    })
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn check_skew(
    request: u64,
    request_text: &str,
    now: u64,
    max_skew: Duration,
) -> Result<(), AuthError> {
    let skew = max_skew.as_secs();
    let skewed = |future: bool, bound: u64| AuthError::Skewed {
        request_time: request_text.to_owned(),
        server_time: format_amz_date(now),
        bound: format_amz_date(bound),
        max_skew_minutes: skew / 60,
        future,
    };
    if request.saturating_add(skew) < now {
        return Err(skewed(false, now.saturating_sub(skew)));
    }
    if request > now.saturating_add(skew) {
        return Err(skewed(true, now.saturating_add(skew)));
    }
    Ok(())
}

/// Verifies `Authorization: AWS4-HMAC-SHA256 …`.
///
/// `payload` is what the client put in the canonical request's last line: see [`PayloadHash`].
/// Any region is accepted; the service in the credential scope must be one of
/// `expected_service` (boto3 signs both Bedrock APIs as `bedrock`, S3 as `s3`).
pub fn verify_header(
    parts: &Parts,
    payload: &PayloadHash,
    keys: &KeyStore,
    now: SystemTime,
    max_skew: Duration,
    expected_service: &[&str],
) -> Result<Identity, AuthError> {
    let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let authorization = match value.to_str() {
        Ok(visible) => Cow::Borrowed(visible),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    };
    let auth = parse_authorization(&authorization)?;
    let (amz_date, request_secs) = request_time(&parts.headers, &authorization)?;
    let (akid, scope) = parse_credential(auth.credential, expected_service)?;
    if !amz_date.starts_with(&scope.date) {
        return Err(AuthError::ScopeDateMismatch {
            scope_date: scope.date,
            amz_date,
        });
    }
    let Some(credential) = keys.lookup(akid) else {
        return Err(AuthError::UnknownAccessKey {
            access_key_id: akid.to_owned(),
        });
    };
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(AuthError::HostNotSigned);
    }
    check_skew(request_secs, &amz_date, unix_seconds(now), max_skew)?;
    let view = RequestView::from_parts(parts);
    let canonical = canonical_request(&view, &signed, payload.as_str(), &scope.service);
    let to_sign = string_to_sign(&amz_date, &scope, &canonical);
    if signature_matches(&credential.secret, &scope, &to_sign, auth.signature) {
        Ok(credential.identity.clone())
    } else {
        Err(mismatch(akid, auth.signature, to_sign, canonical))
    }
}

/// What an `aws-chunked` body's chunk signatures chain from, for a request whose header
/// signature was verified and whose payload is `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`;
/// `None` for any other request.
pub fn chunk_signing(
    parts: &Parts,
    keys: &KeyStore,
    expected_service: &[&str],
) -> Option<ChunkSigning> {
    let payload = parts.headers.get("x-amz-content-sha256")?.to_str().ok()?;
    if !matches!(
        payload.trim(),
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    ) {
        return None;
    }
    let authorization = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let auth = parse_authorization(authorization).ok()?;
    let (amz_date, _) = request_time(&parts.headers, authorization).ok()?;
    let (akid, scope) = parse_credential(auth.credential, expected_service).ok()?;
    let credential = keys.lookup(akid)?;
    Some(ChunkSigning {
        signing_key: signing_key(&credential.secret, &scope),
        amz_date,
        scope: scope.to_string(),
        seed_signature: auth.signature.to_owned(),
    })
}

fn mismatch(akid: &str, provided: &str, to_sign: String, canonical: String) -> AuthError {
    AuthError::SignatureMismatch(Box::new(SignatureDetails {
        access_key_id: akid.to_owned(),
        signature_provided: provided.to_owned(),
        string_to_sign: to_sign,
        canonical_request: canonical,
    }))
}

/// Verifies a presigned URL (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
/// `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`), including its expiry.
///
/// The payload is `UNSIGNED-PAYLOAD`, as S3 presigning uses; presigned URLs signed over a body
/// hash (no Bedrock client makes them) are not supported.
pub fn verify_presigned(
    parts: &Parts,
    keys: &KeyStore,
    now: SystemTime,
    max_skew: Duration,
    expected_service: &[&str],
) -> Result<Identity, AuthError> {
    let query = parts.uri.query().unwrap_or("");
    let param = |name: &str| -> Option<String> {
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode_str(v).decode_utf8_lossy().into_owned())
        })
    };
    let (Some(algorithm), Some(credential), Some(amz_date), Some(expires), Some(signed), Some(sig)) = (
        param("X-Amz-Algorithm"),
        param("X-Amz-Credential"),
        param("X-Amz-Date"),
        param("X-Amz-Expires"),
        param("X-Amz-SignedHeaders"),
        param("X-Amz-Signature"),
    ) else {
        if param("X-Amz-Algorithm").is_none() {
            return Err(AuthError::Missing);
        }
        return Err(AuthError::BadPresignedQuery(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, \
             X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
             X-Amz-Expires parameters."
                .to_owned(),
        ));
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::BadPresignedQuery(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".to_owned(),
        ));
    }
    let Ok(expires) = expires.parse::<u64>() else {
        return Err(AuthError::BadPresignedQuery(
            "X-Amz-Expires should be a number".to_owned(),
        ));
    };
    if expires > MAX_PRESIGNED_EXPIRES {
        return Err(AuthError::BadPresignedQuery(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires \
             must be less than {MAX_PRESIGNED_EXPIRES} seconds"
        )));
    }
    let Some(request_secs) = parse_amz_date(&amz_date) else {
        return Err(AuthError::BadPresignedQuery(format!(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" (got \
             {amz_date})"
        )));
    };
    let (akid, scope) = parse_credential(&credential, expected_service)?;
    if !amz_date.starts_with(&scope.date) {
        return Err(AuthError::ScopeDateMismatch {
            scope_date: scope.date,
            amz_date,
        });
    }
    let Some(key) = keys.lookup(akid) else {
        return Err(AuthError::UnknownAccessKey {
            access_key_id: akid.to_owned(),
        });
    };
    let signed: Vec<&str> = signed.split(';').collect();
    if !signed.contains(&"host") {
        return Err(AuthError::HostNotSigned);
    }
    let now_secs = unix_seconds(now);
    // A URL dated ahead of our clock by more than the skew is refused like a skewed header;
    // otherwise it is valid from its date until date + expires, whatever the skew.
    if request_secs > now_secs.saturating_add(max_skew.as_secs()) {
        check_skew(request_secs, &amz_date, now_secs, max_skew)?;
    }
    let expires_at = request_secs.saturating_add(expires);
    if now_secs > expires_at {
        return Err(AuthError::PresignedExpired {
            expires_at: format_amz_date(expires_at),
            server_time: format_amz_date(now_secs),
        });
    }
    let view = RequestView::from_parts(parts);
    let canonical = build_canonical_request(&view, &signed, UNSIGNED_PAYLOAD, &scope.service, true);
    let to_sign = string_to_sign(&amz_date, &scope, &canonical);
    if signature_matches(&key.secret, &scope, &to_sign, &sig) {
        Ok(key.identity.clone())
    } else {
        Err(mismatch(akid, &sig, to_sign, canonical))
    }
}

/// Verifies `Authorization: Bearer <token>`.
pub fn verify_bearer(parts: &Parts, keys: &KeyStore) -> Result<Identity, AuthError> {
    let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value.to_str().map_err(|_| AuthError::InvalidBearerToken)?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(AuthError::UnsupportedAlgorithm {
                authorization: value.to_owned(),
            });
        }
    };
    keys.lookup_bearer(token)
        .cloned()
        .ok_or(AuthError::InvalidBearerToken)
}

// ---- Dates, without a date library: SigV4 needs only two fixed formats.

/// `YYYYMMDDTHHMMSSZ` → Unix seconds.
pub fn parse_amz_date(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    to_unix(
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
        num(13..15)?,
    )
}

/// IMF-fixdate (`Sun, 30 Aug 2015 12:36:00 GMT`) → Unix seconds.
fn parse_http_date(text: &str) -> Option<u64> {
    let mut it = text.split_whitespace();
    let _weekday = it.next()?;
    let day: u64 = it.next()?.parse().ok()?;
    let month = it.next()?;
    let year: u64 = it.next()?.parse().ok()?;
    let time = it.next()?;
    if it.next()? != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    to_unix(year, month, day, h, m, s)
}

fn to_unix(y: u64, mo: u64, d: u64, h: u64, mi: u64, s: u64) -> Option<u64> {
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// Unix seconds → `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Test-only signer: adds `x-amz-date` and an `Authorization` header signing every header
/// present (plus `host`), so tests can produce valid requests and then tamper with them.
#[cfg(test)]
pub(crate) fn sign_for_tests(
    parts: &mut Parts,
    payload: &str,
    akid: &str,
    secret: &SecretKey,
    scope: &CredentialScope,
    time: u64,
) {
    let amz_date = format_amz_date(time);
    if let Ok(v) = http::HeaderValue::from_str(&amz_date) {
        parts.headers.insert("x-amz-date", v);
    }
    let mut signed: Vec<String> = parts
        .headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    if !signed.iter().any(|h| h == "host") {
        signed.push("host".to_owned());
    }
    signed.sort();
    signed.dedup();
    let signed: Vec<&str> = signed.iter().map(String::as_str).collect();
    let canonical = canonical_request(
        &RequestView::from_parts(parts),
        &signed,
        payload,
        &scope.service,
    );
    let sig = signature(secret, scope, &string_to_sign(&amz_date, scope, &canonical));
    let header = format!(
        "{ALGORITHM} Credential={akid}/{scope}, SignedHeaders={}, Signature={sig}",
        signed.join(";")
    );
    if let Ok(v) = http::HeaderValue::from_str(&header) {
        parts.headers.insert(http::header::AUTHORIZATION, v);
    }
}

/// Test-only presigner: appends the `X-Amz-*` parameters (signing only `host`) to the URI.
#[cfg(test)]
pub(crate) fn presign_for_tests(
    parts: &mut Parts,
    akid: &str,
    secret: &SecretKey,
    scope: &CredentialScope,
    time: u64,
    expires: u64,
) {
    let amz_date = format_amz_date(time);
    let credential = percent_encode(format!("{akid}/{scope}").as_bytes(), UNRESERVED).to_string();
    let extra = format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={credential}&X-Amz-Date={amz_date}\
         &X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
    );
    let path = parts.uri.path().to_owned();
    let query = match parts.uri.query() {
        Some(q) if !q.is_empty() => format!("{q}&{extra}"),
        _ => extra,
    };
    let set_uri = |parts: &mut Parts, query: &str| {
        if let Ok(uri) = format!("{path}?{query}").parse() {
            parts.uri = uri;
        }
    };
    set_uri(parts, &query);
    let canonical = build_canonical_request(
        &RequestView::from_parts(parts),
        &["host"],
        UNSIGNED_PAYLOAD,
        &scope.service,
        true,
    );
    let sig = signature(secret, scope, &string_to_sign(&amz_date, scope, &canonical));
    set_uri(parts, &format!("{query}&X-Amz-Signature={sig}"));
}

#[cfg(test)]
mod fast_paths {
    use super::*;

    /// Every path of up to four segments drawn from the cases that matter.
    fn paths() -> Vec<String> {
        let parts = ["", "a", ".", "..", "x%3A0", "b c"];
        let mut out = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for prefix in &level {
                for part in parts {
                    next.push(format!("{prefix}/{part}"));
                }
            }
            out.extend(next.iter().cloned());
            out.extend(next.iter().map(|p| p.trim_start_matches('/').to_owned()));
            level = next;
        }
        out
    }

    #[test]
    fn paths_taken_as_they_are_are_those_normalizing_leaves_unchanged() {
        for path in paths() {
            if is_normalized(&path) {
                assert_eq!(normalize_path(&path), path, "{path:?}");
            }
            let full = if path.is_empty() { "/" } else { &path };
            assert_eq!(
                canonical_uri(&path, "bedrock"),
                percent_encode(normalize_path(full).as_bytes(), PATH).to_string(),
                "{path:?}"
            );
        }
    }

    #[test]
    fn cached_signing_keys_follow_the_scope() {
        let scope = |date: &str, region: &str, service: &str| CredentialScope {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        };
        let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        for s in [
            scope("20150830", "us-east-1", "iam"),
            scope("20150830", "us-east-1", "iam"),
            scope("20150831", "us-east-1", "iam"),
            scope("20150831", "eu-west-1", "iam"),
            scope("20150831", "eu-west-1", "bedrock"),
            scope("20150830", "us-east-1", "iam"),
        ] {
            assert_eq!(signing_key(&secret, &s), derive_signing_key(&secret, &s));
        }
        // The AWS documentation's example key for this scope.
        assert_eq!(
            hex::encode(signing_key(&secret, &scope("20150830", "us-east-1", "iam"))),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }
}
