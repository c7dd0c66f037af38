//! Decoding of `Content-Encoding: aws-chunked` request bodies, with chunk and trailer signatures.
//!
//! The framing (AWS's "SigV4 streaming"): chunks `hex-size[;chunk-signature=<sig>]\r\n<data>\r\n`,
//! a final `0[;chunk-signature=<sig>]\r\n`, then trailer lines `name:value\r\n` (the `-TRAILER`
//! variants; signed ones end with `x-amz-trailer-signature:<sig>\r\n`) and an empty line.
//! [`Decoder`] streams the data out as it arrives with bounded memory, checking each chunk's
//! signature when its data ends, before reading on.

use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes};
use futures_util::Stream;
use hmac::{Hmac, Mac as _};
use http::HeaderMap;
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Hex SHA-256 of the empty string, a fixed line of every chunk's string-to-sign.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SIGNATURE_EXTENSION: &[u8] = b"chunk-signature=";
const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";
/// A SigV4 (HMAC-SHA256) signature: 32 bytes in hex.
const HMAC_SIGNATURE_HEX: usize = 64;
/// SigV4a (ECDSA) chunk signatures are longer; they pass unverified when the caller cannot check them.
const MAX_SIGNATURE_HEX: usize = 144;
/// A chunk-size line: the size and any text up to 64 bytes, plus the signature extension and CRLF.
const MAX_SIZE_LINE: usize = 64 + 1 + SIGNATURE_EXTENSION.len() + MAX_SIGNATURE_HEX + 2;
/// The whole trailer section, terminating empty line included.
pub const MAX_TRAILER_SECTION: usize = 16 * 1024;

/// What the auth layer verified the request with, so chunk signatures can be chained from it.
#[derive(Clone, PartialEq, Eq)]
pub struct ChunkSigning {
    /// The SigV4 signing key (kSigning) of the request's credential scope.
    pub signing_key: [u8; 32],
    /// `x-amz-date` of the request, e.g. `20130524T000000Z`.
    pub amz_date: String,
    /// `<date>/<region>/<service>/aws4_request`.
    pub scope: String,
    /// The `Authorization` header's signature, which the first chunk's signature chains from.
    pub seed_signature: String,
}

impl std::fmt::Debug for ChunkSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigning")
            .field("signing_key", &"<redacted>")
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .field("seed_signature", &self.seed_signature)
            .finish()
    }
}

/// How an aws-chunked body is framed, from the request headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Framing {
    /// Set by the caller (the auth layer) to verify chunk and trailer signatures; `None` accepts
    /// any signatures unverified (auth mode `none`).
    pub signing: Option<ChunkSigning>,
    /// The body claims chunk signatures (`STREAMING-AWS4-…`): the auth layer should fill in
    /// `signing` (for HMAC-SHA256; the ECDSA variants cannot be verified with it).
    pub signed: bool,
    /// A trailer section may follow the final chunk (`…-TRAILER`).
    pub trailer: bool,
    /// `x-amz-decoded-content-length`: the length of the data once decoded.
    pub decoded_length: Option<u64>,
}

/// How the body is framed: `None` when it is not aws-chunked (neither `Content-Encoding` lists
/// `aws-chunked` nor `x-amz-content-sha256` is a `STREAMING-…` keyword). `signing` is left `None`.
pub fn framing(headers: &HeaderMap) -> Option<Result<Framing, ChunkedError>> {
    let aws_chunked = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.trim().eq_ignore_ascii_case("aws-chunked"));
    let content_sha256 = headers
        .get("x-amz-content-sha256")
        .map(|v| v.to_str().map(str::trim).unwrap_or_default());
    let streaming = content_sha256.is_some_and(|v| v.starts_with("STREAMING-"));
    if !aws_chunked && !streaming {
        return None;
    }
    Some(framing_of(headers, content_sha256))
}

fn framing_of(headers: &HeaderMap, content_sha256: Option<&str>) -> Result<Framing, ChunkedError> {
    let (signed, trailer) = match content_sha256 {
        Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD" | "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") => {
            (true, false)
        }
        Some(
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
            | "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
        ) => (true, true),
        Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER") => (false, true),
        // Some SDKs (Java v2) frame aws-chunked while sending UNSIGNED-PAYLOAD or no hash at all.
        None | Some("UNSIGNED-PAYLOAD") => (false, headers.contains_key("x-amz-trailer")),
        Some(_) => return Err(ChunkedError::UnsupportedContentSha256),
    };
    let decoded_length = match headers.get("x-amz-decoded-content-length") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(ChunkedError::InvalidDecodedLength)?,
        ),
    };
    Ok(Framing {
        signing: None,
        signed,
        trailer,
        decoded_length,
    })
}

/// A rejected aws-chunked body, with the code and message S3 answers.
#[derive(Debug, thiserror::Error)]
pub enum ChunkedError {
    /// The input ended before the final chunk and the empty line closing the body.
    #[error("The request body terminated unexpectedly")]
    Incomplete,
    /// Framing that does not follow aws-chunked; S3 answers these with IncompleteBody too.
    #[error("The request body terminated unexpectedly: malformed aws-chunked encoding ({0})")]
    Malformed(&'static str),
    /// The decoded data does not add up to `x-amz-decoded-content-length`.
    #[error("You did not provide the number of bytes specified by the Content-Length HTTP header")]
    LengthMismatch { expected: u64, provided: u64 },
    /// A chunk or trailer signature missing or not the one the signing key gives.
    #[error("{}", crate::auth::S3_SIGNATURE_MESSAGE)]
    SignatureMismatch,
    /// A trailer line that is not `name:value`, a trailer where none may be, or too many.
    #[error(
        "The request contained trailing data that was not well-formed or did not conform to our \
         published schema. ({0})"
    )]
    MalformedTrailer(&'static str),
    /// Reading the request body failed.
    #[error("The request body terminated unexpectedly: {0}")]
    BodyRead(#[source] Box<dyn StdError + Send + Sync>),
    /// `Content-Encoding: aws-chunked` with a payload hash that does not describe chunks.
    #[error("aws-chunked encoding is not supported with the specified x-amz-content-sha256 value.")]
    UnsupportedContentSha256,
    /// `x-amz-decoded-content-length` that is not a number; S3 answers MissingContentLength.
    #[error("You must provide the Content-Length HTTP header.")]
    InvalidDecodedLength,
}

impl ChunkedError {
    pub fn s3_code(&self) -> &'static str {
        match self {
            Self::Incomplete
            | Self::Malformed(_)
            | Self::LengthMismatch { .. }
            | Self::BodyRead(_) => "IncompleteBody",
            Self::SignatureMismatch => "SignatureDoesNotMatch",
            Self::MalformedTrailer(_) => "MalformedTrailerError",
            Self::UnsupportedContentSha256 => "InvalidArgument",
            Self::InvalidDecodedLength => "MissingContentLength",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::SignatureMismatch => 403,
            Self::InvalidDecodedLength => 411,
            _ => 400,
        }
    }

    /// The `<Message>` of S3's error body.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// Chains and checks signatures from the seed signature on.
struct Verifier {
    signing: ChunkSigning,
    /// The signature the next string-to-sign chains from.
    previous: String,
}

impl Verifier {
    fn new(signing: ChunkSigning) -> Self {
        let previous = signing.seed_signature.to_ascii_lowercase();
        Self { signing, previous }
    }

    fn verify_chunk(&mut self, data_sha256: &[u8], claimed: &[u8]) -> Result<(), ChunkedError> {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.signing.amz_date,
            self.signing.scope,
            self.previous,
            hex::encode(data_sha256)
        );
        self.verify(&string_to_sign, claimed)
    }

    fn verify_trailer(&mut self, canonical: &[u8], claimed: &[u8]) -> Result<(), ChunkedError> {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.signing.amz_date,
            self.signing.scope,
            self.previous,
            hex::encode(Sha256::digest(canonical))
        );
        self.verify(&string_to_sign, claimed)
    }

    fn verify(&mut self, string_to_sign: &str, claimed: &[u8]) -> Result<(), ChunkedError> {
        let mut mac = HmacSha256::new_from_slice(&self.signing.signing_key)
            .map_err(|_| ChunkedError::SignatureMismatch)?;
        mac.update(string_to_sign.as_bytes());
        let computed = hex::encode(mac.finalize().into_bytes());
        if claimed.len() != HMAC_SIGNATURE_HEX
            || !constant_time_eq_hex(computed.as_bytes(), claimed)
        {
            return Err(ChunkedError::SignatureMismatch);
        }
        self.previous = computed;
        Ok(())
    }
}

/// Compares lower-case `computed` hex with `claimed` (either case) without early exit.
fn constant_time_eq_hex(computed: &[u8], claimed: &[u8]) -> bool {
    computed.len() == claimed.len()
        && computed
            .iter()
            .zip(claimed)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()))
            == 0
}

/// A chunk being received whose signature is checked when its data ends.
struct PendingChunk {
    hasher: Sha256,
    signature: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    SizeLine,
    Data {
        remaining: u64,
    },
    /// The CRLF after a chunk's data; `seen` bytes of it so far.
    DataEnd {
        seen: usize,
    },
    Trailer,
    /// The body is complete; only the end of input may follow.
    Done,
    Finished,
    Failed,
}

/// Decodes an aws-chunked body into its data, as a stream that ends (`None`) only once the
/// whole body has been received and checked. A chunk whose signature fails has been partly
/// yielded already (chunks may be many MB): discard everything on any error.
pub struct Decoder<S> {
    inner: S,
    state: State,
    /// Input received but not consumed yet.
    input: Bytes,
    /// A size or trailer line being assembled across reads.
    line: Vec<u8>,
    verifier: Option<Verifier>,
    chunk: Option<PendingChunk>,
    trailer_allowed: bool,
    decoded_length: Option<u64>,
    decoded: u64,
    trailers: Vec<(String, String)>,
    trailer_signature: Option<String>,
    trailer_bytes: usize,
}

impl<S> Decoder<S> {
    pub fn new(inner: S, framing: Framing) -> Self {
        Self {
            inner,
            state: State::SizeLine,
            input: Bytes::new(),
            line: Vec::new(),
            verifier: framing.signing.map(Verifier::new),
            chunk: None,
            trailer_allowed: framing.trailer,
            decoded_length: framing.decoded_length,
            decoded: 0,
            trailers: Vec::new(),
            trailer_signature: None,
            trailer_bytes: 0,
        }
    }

    /// The trailer headers (lower-case names, trimmed values, without the trailer signature),
    /// complete once the stream has returned `None`.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// The number of data bytes decoded so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }

    /// Consumes some input; returns data to yield, if any.
    fn step(&mut self) -> Result<Option<Bytes>, ChunkedError> {
        match self.state {
            State::SizeLine => {
                let too_long = || ChunkedError::Malformed("chunk size line too long");
                if let Some(line) = self.take_line(MAX_SIZE_LINE, too_long)? {
                    self.on_size_line(&line)?;
                }
                Ok(None)
            }
            State::Data { remaining } => {
                let n = usize::try_from(remaining)
                    .map_or(self.input.len(), |r| r.min(self.input.len()));
                let data = self.input.split_to(n);
                if let Some(chunk) = &mut self.chunk {
                    chunk.hasher.update(&data);
                }
                self.decoded += n as u64;
                let remaining = remaining - n as u64;
                if remaining == 0 {
                    self.end_chunk()?;
                    self.state = State::DataEnd { seen: 0 };
                } else {
                    self.state = State::Data { remaining };
                }
                Ok(Some(data))
            }
            State::DataEnd { mut seen } => {
                while seen < 2 && !self.input.is_empty() {
                    if self.input[0] != b"\r\n"[seen] {
                        return Err(ChunkedError::Malformed("chunk data not followed by CRLF"));
                    }
                    self.input.advance(1);
                    seen += 1;
                }
                self.state = if seen == 2 {
                    State::SizeLine
                } else {
                    State::DataEnd { seen }
                };
                Ok(None)
            }
            State::Trailer => {
                let budget = MAX_TRAILER_SECTION.saturating_sub(self.trailer_bytes);
                let too_long = || ChunkedError::MalformedTrailer("trailer section too large");
                if let Some(line) = self.take_line(budget, too_long)? {
                    self.trailer_bytes += line.len() + 2;
                    self.on_trailer_line(&line)?;
                }
                Ok(None)
            }
            State::Done => {
                if self.input.is_empty() {
                    Ok(None)
                } else {
                    Err(ChunkedError::Malformed("data after the final chunk"))
                }
            }
            State::Finished | State::Failed => Ok(None),
        }
    }

    /// Moves input into `line` up to a LF; the whole line (without CRLF) once it is complete.
    fn take_line(
        &mut self,
        limit: usize,
        too_long: impl Fn() -> ChunkedError,
    ) -> Result<Option<Vec<u8>>, ChunkedError> {
        let newline = self.input.iter().position(|&b| b == b'\n');
        let take = newline.map_or(self.input.len(), |i| i + 1);
        if self.line.len() + take > limit {
            return Err(too_long());
        }
        self.line.extend_from_slice(&self.input.split_to(take));
        if newline.is_none() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if !line.ends_with(b"\r\n") {
            return Err(ChunkedError::Malformed("line not terminated by CRLF"));
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }

    fn on_size_line(&mut self, line: &[u8]) -> Result<(), ChunkedError> {
        let (size, signature) = parse_size_line(line)?;
        if self.verifier.is_some() && signature.is_none() {
            return Err(ChunkedError::SignatureMismatch);
        }
        let total = self
            .decoded
            .checked_add(size)
            .ok_or(ChunkedError::Malformed("chunk size too large"))?;
        if let Some(expected) = self.decoded_length {
            // Too much is refused before its data is read; too little once the body ends.
            if total > expected || (size == 0 && total != expected) {
                return Err(ChunkedError::LengthMismatch {
                    expected,
                    provided: total,
                });
            }
        }
        let pending = self.verifier.as_ref().map(|_| PendingChunk {
            hasher: Sha256::new(),
            signature: signature.unwrap_or_default().to_vec(),
        });
        self.chunk = pending;
        if size == 0 {
            self.end_chunk()?;
            self.state = State::Trailer;
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    /// Checks the signature of the chunk whose data has just ended.
    fn end_chunk(&mut self) -> Result<(), ChunkedError> {
        if let (Some(verifier), Some(chunk)) = (&mut self.verifier, self.chunk.take()) {
            verifier.verify_chunk(&chunk.hasher.finalize(), &chunk.signature)?;
        }
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), ChunkedError> {
        if line.is_empty() {
            self.verify_trailers()?;
            self.state = State::Done;
            return Ok(());
        }
        if !self.trailer_allowed {
            return Err(ChunkedError::MalformedTrailer(
                "trailer sent without a -TRAILER payload",
            ));
        }
        if self.trailer_signature.is_some() {
            return Err(ChunkedError::MalformedTrailer(
                "trailer after the trailer signature",
            ));
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| ChunkedError::MalformedTrailer("trailer line not UTF-8"))?;
        let (name, value) = text.split_once(':').ok_or(ChunkedError::MalformedTrailer(
            "trailer line without a colon",
        ))?;
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ChunkedError::MalformedTrailer("invalid trailer name"));
        }
        let value = value.trim().to_owned();
        if name == TRAILER_SIGNATURE {
            self.trailer_signature = Some(value);
        } else {
            self.trailers.push((name, value));
        }
        Ok(())
    }

    fn verify_trailers(&mut self) -> Result<(), ChunkedError> {
        let Some(verifier) = &mut self.verifier else {
            return Ok(());
        };
        let Some(signature) = &self.trailer_signature else {
            return if self.trailers.is_empty() {
                Ok(())
            } else {
                Err(ChunkedError::SignatureMismatch)
            };
        };
        // As SDKs sign them: sorted by name, `name:value\n` each.
        let mut sorted: Vec<&(String, String)> = self.trailers.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut canonical = Vec::new();
        for (name, value) in sorted {
            canonical.extend_from_slice(name.as_bytes());
            canonical.push(b':');
            canonical.extend_from_slice(value.as_bytes());
            canonical.push(b'\n');
        }
        verifier.verify_trailer(&canonical, signature.as_bytes())
    }
}

/// `hex-size[;chunk-signature=<hex>]` → the size and the signature, if any.
fn parse_size_line(line: &[u8]) -> Result<(u64, Option<&[u8]>), ChunkedError> {
    let (size, extension) = match line.iter().position(|&b| b == b';') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if size.is_empty() || size.len() > 16 || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkedError::Malformed("invalid chunk size"));
    }
    let size = std::str::from_utf8(size)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or(ChunkedError::Malformed("invalid chunk size"))?;
    let signature = match extension {
        None => None,
        Some(extension) => {
            let signature = extension
                .strip_prefix(SIGNATURE_EXTENSION)
                .ok_or(ChunkedError::Malformed("unsupported chunk extension"))?;
            if signature.is_empty()
                || signature.len() > MAX_SIGNATURE_HEX
                || !signature.iter().all(u8::is_ascii_hexdigit)
            {
                return Err(ChunkedError::Malformed("invalid chunk signature"));
            }
            Some(signature)
        }
    };
    Ok((size, signature))
}

/// RFC 9110 token characters, what a header name is made of.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl<S, E> Stream for Decoder<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    type Item = Result<Bytes, ChunkedError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if matches!(this.state, State::Finished | State::Failed) {
                return Poll::Ready(None);
            }
            if this.input.is_empty() {
                match Pin::new(&mut this.inner).poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(bytes))) => {
                        this.input = bytes;
                        continue;
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.state = State::Failed;
                        return Poll::Ready(Some(Err(ChunkedError::BodyRead(e.into()))));
                    }
                    Poll::Ready(None) => {
                        if this.state == State::Done {
                            this.state = State::Finished;
                            return Poll::Ready(None);
                        }
                        this.state = State::Failed;
                        return Poll::Ready(Some(Err(ChunkedError::Incomplete)));
                    }
                }
            }
            match this.step() {
                Ok(Some(data)) => return Poll::Ready(Some(Ok(data))),
                Ok(None) => {}
                Err(e) => {
                    this.state = State::Failed;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures_util::{FutureExt as _, StreamExt as _, stream};
    use http::HeaderValue;
    use proptest::prelude::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AMZ_DATE: &str = "20130524T000000Z";
    const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// kSecret → kDate → kRegion → kService → kSigning, per SigV4.
    fn aws_signing(seed: &str) -> ChunkSigning {
        let k_date = hmac(format!("AWS4{SECRET}").as_bytes(), b"20130524");
        let k_region = hmac(&k_date, b"us-east-1");
        let k_service = hmac(&k_region, b"s3");
        let k_signing = hmac(&k_service, b"aws4_request");
        ChunkSigning {
            signing_key: k_signing.try_into().unwrap(),
            amz_date: AMZ_DATE.to_owned(),
            scope: SCOPE.to_owned(),
            seed_signature: seed.to_owned(),
        }
    }

    /// The test-side signer, written from the spec independently of `Verifier`.
    fn sign(signing: &ChunkSigning, previous: &str, kind: &str, hashes: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-{kind}\n{}\n{}\n{previous}\n{hashes}",
            signing.amz_date, signing.scope
        );
        hex::encode(hmac(&signing.signing_key, sts.as_bytes()))
    }

    /// Encodes `data` in `chunk`-byte chunks as an SDK does.
    fn encode(
        data: &[u8],
        chunk: usize,
        signing: Option<&ChunkSigning>,
        trailers: Option<&[(&str, &str)]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut previous = signing
            .map(|s| s.seed_signature.clone())
            .unwrap_or_default();
        let pieces: Vec<&[u8]> = data.chunks(chunk.max(1)).chain([&[][..]]).collect();
        for piece in pieces {
            out.extend_from_slice(format!("{:x}", piece.len()).as_bytes());
            if let Some(signing) = signing {
                let hashes = format!("{EMPTY_SHA256}\n{}", hex::encode(Sha256::digest(piece)));
                previous = sign(signing, &previous, "PAYLOAD", &hashes);
                out.extend_from_slice(format!(";chunk-signature={previous}").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            if !piece.is_empty() {
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
        }
        if let Some(trailers) = trailers {
            let mut canonical = String::new();
            for (name, value) in trailers {
                out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
                canonical.push_str(&format!("{name}:{value}\n"));
            }
            if let Some(signing) = signing {
                let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
                let signature = sign(signing, &previous, "TRAILER", &hash);
                out.extend_from_slice(
                    format!("x-amz-trailer-signature:{signature}\r\n").as_bytes(),
                );
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn framing_with(signing: Option<ChunkSigning>, trailer: bool, length: Option<u64>) -> Framing {
        Framing {
            signed: signing.is_some(),
            signing,
            trailer,
            decoded_length: length,
        }
    }

    type Input = stream::Iter<std::vec::IntoIter<Result<Bytes, std::io::Error>>>;

    fn input(pieces: Vec<Vec<u8>>) -> Input {
        stream::iter(
            pieces
                .into_iter()
                .map(|p| Ok(Bytes::from(p)))
                .collect::<Vec<_>>(),
        )
    }

    /// The data and the trailers of a decoded body.
    type Decoded = (Vec<u8>, Vec<(String, String)>);

    /// Runs the decoder over ready input: the data and trailers, or the first error.
    fn decode_pieces(pieces: Vec<Vec<u8>>, framing: Framing) -> Result<Decoded, ChunkedError> {
        let mut decoder = Decoder::new(input(pieces), framing);
        let mut out = Vec::new();
        while let Some(item) = decoder.next().now_or_never().unwrap() {
            out.extend_from_slice(&item?);
        }
        // A finished decoder stays finished.
        assert!(decoder.next().now_or_never().unwrap().is_none());
        Ok((out, decoder.trailers().to_vec()))
    }

    fn decode(body: &[u8], framing: Framing) -> Result<Decoded, ChunkedError> {
        decode_pieces(vec![body.to_vec()], framing)
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn framing_of_plain_bodies_is_none() {
        assert!(framing(&HeaderMap::new()).is_none());
        assert!(framing(&headers(&[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")])).is_none());
        assert!(framing(&headers(&[("content-encoding", "gzip")])).is_none());
        assert!(framing(&headers(&[("x-amz-content-sha256", &"a".repeat(64))])).is_none());
    }

    #[test]
    fn framing_of_boto3_over_https() {
        let h = headers(&[
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-decoded-content-length", "11"),
        ]);
        assert_eq!(
            framing(&h).unwrap().unwrap(),
            Framing {
                signing: None,
                signed: false,
                trailer: true,
                decoded_length: Some(11),
            }
        );
    }

    #[test]
    fn framing_variants() {
        let f = |pairs: &[(&str, &str)]| framing(&headers(pairs)).unwrap();
        // Signed, with or without Content-Encoding (minio-go sends only the hash).
        let signed = f(&[("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")]).unwrap();
        assert!(signed.signed && !signed.trailer && signed.decoded_length.is_none());
        let signed_trailer = f(&[
            ("content-encoding", "gzip, AWS-Chunked"),
            (
                "x-amz-content-sha256",
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            ),
        ])
        .unwrap();
        assert!(signed_trailer.signed && signed_trailer.trailer);
        let ecdsa = f(&[(
            "x-amz-content-sha256",
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
        )])
        .unwrap();
        assert!(ecdsa.signed && ecdsa.trailer);
        // aws-chunked with UNSIGNED-PAYLOAD or no hash: unsigned chunks.
        let java = f(&[
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ])
        .unwrap();
        assert!(!java.signed && !java.trailer);
        let bare = f(&[
            ("content-encoding", "aws-chunked"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ])
        .unwrap();
        assert!(!bare.signed && bare.trailer);
    }

    #[test]
    fn framing_errors() {
        let f = |pairs: &[(&str, &str)]| framing(&headers(pairs)).unwrap().unwrap_err();
        let e = f(&[
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", &"a".repeat(64)),
        ]);
        assert!(matches!(e, ChunkedError::UnsupportedContentSha256));
        assert_eq!((e.status(), e.s3_code()), (400, "InvalidArgument"));
        let e = f(&[("x-amz-content-sha256", "STREAMING-SOMETHING-NEW")]);
        assert!(matches!(e, ChunkedError::UnsupportedContentSha256));
        for bad in ["abc", "-1", "", "1.5", "99999999999999999999999"] {
            let e = f(&[
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("x-amz-decoded-content-length", bad),
            ]);
            assert!(matches!(e, ChunkedError::InvalidDecodedLength), "{bad:?}");
            assert_eq!((e.status(), e.s3_code()), (411, "MissingContentLength"));
        }
    }

    #[test]
    fn chunk_signing_debug_hides_the_key() {
        let mut signing = aws_signing("seed");
        signing.signing_key = [0xAB; 32];
        let printed = format!("{signing:?}");
        assert!(!printed.to_lowercase().contains("abab"), "{printed}");
        assert!(!printed.contains("171"), "{printed}");
        assert!(printed.contains("redacted") && printed.contains(SCOPE));
    }

    /// AWS's example "Signature Calculations for the Authorization Header: Transferring Payload
    /// in Multiple Chunks": 65 KiB of 'a' in a 64 KiB and a 1 KiB chunk.
    #[test]
    fn aws_documented_signed_example() {
        let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
        let data = vec![b'a'; 65 * 1024];
        let mut body = Vec::new();
        body.extend_from_slice(
            b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
        );
        body.extend_from_slice(&data[..65536]);
        body.extend_from_slice(
            b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
        );
        body.extend_from_slice(&data[65536..]);
        body.extend_from_slice(
            b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
        );
        let signing = aws_signing(seed);
        // The test encoder reproduces AWS's bytes, so its other uses are trustworthy.
        assert_eq!(encode(&data, 65536, Some(&signing), None), body);

        let framing = framing_with(Some(signing), false, Some(66560));
        let (decoded, trailers) = decode(&body, framing.clone()).unwrap();
        assert_eq!(decoded, data);
        assert!(trailers.is_empty());

        // Another seed (i.e. another request's signature) breaks the chain.
        let other = framing_with(Some(aws_signing(&"0".repeat(64))), false, None);
        assert!(matches!(
            decode(&body, other),
            Err(ChunkedError::SignatureMismatch)
        ));
    }

    /// AWS's example "Signature calculations for trailing headers".
    #[test]
    fn aws_documented_signed_trailer_example() {
        let seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
        let data = vec![b'a'; 65 * 1024];
        let mut body = Vec::new();
        body.extend_from_slice(
            b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n",
        );
        body.extend_from_slice(&data[..65536]);
        body.extend_from_slice(
            b"\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n",
        );
        body.extend_from_slice(&data[65536..]);
        body.extend_from_slice(
            b"\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n\
              x-amz-checksum-crc32c:sOO8/Q==\r\n\
              x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n",
        );
        let signing = aws_signing(seed);
        let trailers = [("x-amz-checksum-crc32c", "sOO8/Q==")];
        assert_eq!(encode(&data, 65536, Some(&signing), Some(&trailers)), body);

        let framing = framing_with(Some(signing), true, Some(66560));
        let (decoded, got) = decode(&body, framing.clone()).unwrap();
        assert_eq!(decoded, data);
        assert_eq!(got, owned(&trailers));

        // A tampered trailer value fails the trailer signature.
        let tampered = String::from_utf8_lossy(&body).replace("sOO8/Q==", "sOO8/Q=A");
        let err = decode(tampered.as_bytes(), framing.clone()).unwrap_err();
        assert!(matches!(err, ChunkedError::SignatureMismatch));
        assert_eq!(
            (err.status(), err.s3_code()),
            (403, "SignatureDoesNotMatch")
        );
        assert_eq!(err.message(), crate::auth::S3_SIGNATURE_MESSAGE);

        // A tampered trailer signature.
        let tampered = String::from_utf8_lossy(&body).replace("d81f82fc", "d81f82fd");
        assert!(matches!(
            decode(tampered.as_bytes(), framing.clone()),
            Err(ChunkedError::SignatureMismatch)
        ));

        // Without verification (auth mode none) the same body decodes, signature line dropped.
        let (_, got) = decode(&body, framing_with(None, true, None)).unwrap();
        assert_eq!(got, owned(&trailers));
    }

    #[test]
    fn unsigned_trailer_body_as_boto3_sends_it() {
        let body = b"B\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let (data, trailers) = decode(body, framing_with(None, true, Some(11))).unwrap();
        assert_eq!(data, b"hello world");
        assert_eq!(trailers, owned(&[("x-amz-checksum-crc32", "DUoRhQ==")]));
    }

    #[test]
    fn trailer_names_lowercased_and_values_trimmed() {
        let body = b"3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32 :  AAAAAA== \r\nx-other:v\r\n\r\n";
        let (_, trailers) = decode(body, framing_with(None, true, None)).unwrap();
        assert_eq!(
            trailers,
            owned(&[("x-amz-checksum-crc32", "AAAAAA=="), ("x-other", "v")])
        );
    }

    #[test]
    fn upper_and_lower_case_hex_sizes() {
        let data = vec![7u8; 0x1AB];
        for size in ["1AB", "1ab", "01ab"] {
            let mut body = format!("{size}\r\n").into_bytes();
            body.extend_from_slice(&data);
            body.extend_from_slice(b"\r\n0\r\n\r\n");
            assert_eq!(decode(&body, Framing::default()).unwrap().0, data, "{size}");
        }
    }

    #[test]
    fn empty_body() {
        let (data, trailers) = decode(b"0\r\n\r\n", framing_with(None, true, Some(0))).unwrap();
        assert!(data.is_empty() && trailers.is_empty());
        let signing = aws_signing("seed");
        let body = encode(b"", 10, Some(&signing), None);
        assert!(decode(&body, framing_with(Some(signing.clone()), false, Some(0))).is_ok());
        // A signed trailer body with no trailers needs no trailer signature.
        let body = encode(b"", 10, Some(&signing), Some(&[]));
        assert!(decode(&body, framing_with(Some(signing), true, Some(0))).is_ok());
    }

    #[test]
    fn unverified_signatures_are_accepted_without_signing() {
        let signing = aws_signing("whatever");
        let body = encode(
            b"some data here",
            5,
            Some(&signing),
            Some(&[("x-amz-checksum-crc32", "AAAAAA==")]),
        );
        let (data, trailers) = decode(&body, framing_with(None, true, None)).unwrap();
        assert_eq!(data, b"some data here");
        assert_eq!(trailers, owned(&[("x-amz-checksum-crc32", "AAAAAA==")]));
        // A longer (SigV4a-style) signature passes unverified too.
        let body = format!(
            "3;chunk-signature={}\r\nabc\r\n0;chunk-signature={}\r\n\r\n",
            "a".repeat(140),
            "b".repeat(140)
        );
        assert_eq!(
            decode(body.as_bytes(), Framing::default()).unwrap().0,
            b"abc"
        );
    }

    #[test]
    fn tampered_chunk_data_rejected_before_reading_on() {
        let signing = aws_signing("seed");
        let data = vec![b'x'; 300];
        let mut body = encode(&data, 100, Some(&signing), None);
        // Flip a data byte of the second chunk.
        let second_line = body
            .windows(SIGNATURE_EXTENSION.len())
            .enumerate()
            .filter(|(_, w)| *w == SIGNATURE_EXTENSION)
            .nth(1)
            .unwrap()
            .0;
        let data_start = second_line + SIGNATURE_EXTENSION.len() + 64 + 2;
        body[data_start + 10] = b'y';
        let mut decoder = Decoder::new(input(vec![body]), framing_with(Some(signing), false, None));
        let mut good = 0;
        let err = loop {
            match decoder.next().now_or_never().unwrap().unwrap() {
                Ok(bytes) => good += bytes.len(),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, ChunkedError::SignatureMismatch));
        // The first chunk was verified and yielded; the decoder stopped at the second.
        assert_eq!(good, 100);
        assert!(decoder.next().now_or_never().unwrap().is_none());
    }

    #[test]
    fn tampered_or_missing_chunk_signature_rejected() {
        let signing = aws_signing("seed");
        let framing = framing_with(Some(signing.clone()), false, None);
        let body = String::from_utf8(encode(b"hello world", 4, Some(&signing), None)).unwrap();
        assert!(decode(body.as_bytes(), framing.clone()).is_ok());

        // Change one hex digit of the first signature.
        let at = body.find("chunk-signature=").unwrap() + 16;
        let mut tampered = body.clone().into_bytes();
        tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            decode(&tampered, framing.clone()),
            Err(ChunkedError::SignatureMismatch)
        ));

        // The final chunk's signature.
        let at = body.rfind("chunk-signature=").unwrap() + 16;
        let mut tampered = body.clone().into_bytes();
        tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            decode(&tampered, framing.clone()),
            Err(ChunkedError::SignatureMismatch)
        ));

        // No signatures at all.
        let unsigned = encode(b"hello world", 4, None, None);
        assert!(matches!(
            decode(&unsigned, framing.clone()),
            Err(ChunkedError::SignatureMismatch)
        ));

        // Reordered chunks: each signature is valid only in its place in the chain.
        let frame = "4;chunk-signature=".len() + 64 + 2 + 4 + 2;
        let swapped = format!(
            "{}{}{}",
            &body[frame..2 * frame],
            &body[..frame],
            &body[2 * frame..]
        );
        assert_eq!(
            decode(swapped.as_bytes(), Framing::default()).unwrap().0,
            b"o wohellrld"
        );
        assert!(matches!(
            decode(swapped.as_bytes(), framing),
            Err(ChunkedError::SignatureMismatch)
        ));
    }

    #[test]
    fn missing_trailer_signature_rejected_when_signed() {
        let signing = aws_signing("seed");
        let mut body = encode(b"abc", 10, Some(&signing), None);
        body.truncate(body.len() - 2);
        body.extend_from_slice(b"x-amz-checksum-crc32:NSRBwg==\r\n\r\n");
        let err = decode(&body, framing_with(Some(signing), true, None)).unwrap_err();
        assert!(matches!(err, ChunkedError::SignatureMismatch));
    }

    #[test]
    fn every_truncation_is_incomplete() {
        let signing = aws_signing("seed");
        let body = encode(
            b"0123456789abcdef",
            5,
            Some(&signing),
            Some(&[("x-amz-checksum-crc32", "AAAAAA==")]),
        );
        let framing = framing_with(Some(signing), true, Some(16));
        assert!(decode(&body, framing.clone()).is_ok());
        for len in 0..body.len() {
            let err = decode(&body[..len], framing.clone()).unwrap_err();
            assert_eq!(err.s3_code(), "IncompleteBody", "{len}: {err:?}");
            assert!(matches!(err, ChunkedError::Incomplete), "{len}: {err:?}");
        }
        assert_eq!(
            ChunkedError::Incomplete.message(),
            "The request body terminated unexpectedly"
        );
    }

    #[test]
    fn data_after_the_end_rejected() {
        for extra in [&b"x"[..], b"\r\n", b"0\r\n\r\n"] {
            let mut body = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
            body.extend_from_slice(extra);
            let err = decode(&body, Framing::default()).unwrap_err();
            assert!(matches!(err, ChunkedError::Malformed(_)), "{err:?}");
            // In a later read, too.
            let err = decode_pieces(
                vec![b"3\r\nabc\r\n0\r\n\r\n".to_vec(), extra.to_vec()],
                Framing::default(),
            )
            .unwrap_err();
            assert!(matches!(err, ChunkedError::Malformed(_)), "{err:?}");
        }
    }

    #[test]
    fn malformed_framing_rejected() {
        let cases: &[&[u8]] = &[
            b"zz\r\nab\r\n0\r\n\r\n",                     // not hex
            b"\r\n0\r\n\r\n",                             // empty size
            b"+3\r\nabc\r\n0\r\n\r\n",                    // sign
            b" 3\r\nabc\r\n0\r\n\r\n",                    // space
            b"3\nabc\r\n0\r\n\r\n",                       // bare LF
            b"3\r\nabcd\r\n0\r\n\r\n",                    // data longer than the size
            b"3\r\nab\r\n0\r\n\r\n",                      // data shorter than the size
            b"3;ext=1\r\nabc\r\n0\r\n\r\n",               // another extension
            b"3;chunk-signature=\r\nabc\r\n0\r\n\r\n",    // empty signature
            b"3;chunk-signature=xyz\r\nabc\r\n0\r\n\r\n", // not hex
            b"11111111111111111\r\n",                     // 17 digits
        ];
        for body in cases {
            let err = decode(body, Framing::default()).unwrap_err();
            assert!(
                matches!(err, ChunkedError::Malformed(_)),
                "{:?}: {err:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!((err.status(), err.s3_code()), (400, "IncompleteBody"));
            assert!(err.message().contains("aws-chunked"));
        }
    }

    #[test]
    fn size_line_limit_enforced_without_buffering() {
        // An endless size line, fed one byte at a time, is refused once it passes the limit.
        let pieces: Vec<Vec<u8>> = (0..10_000).map(|_| b"0".to_vec()).collect();
        let mut decoder = Decoder::new(input(pieces), Framing::default());
        let err = decoder.next().now_or_never().unwrap().unwrap().unwrap_err();
        assert!(matches!(
            err,
            ChunkedError::Malformed("chunk size line too long")
        ));
        assert!(decoder.line.len() <= MAX_SIZE_LINE);
        // The longest legitimate line passes.
        let line = format!(
            "{:0>16x};chunk-signature={}\r\nabc\r\n0\r\n\r\n",
            3,
            "a".repeat(MAX_SIGNATURE_HEX)
        );
        assert_eq!(
            decode(line.as_bytes(), Framing::default()).unwrap().0,
            b"abc"
        );
    }

    #[test]
    fn trailer_section_limit_enforced() {
        let mut body = b"0\r\n".to_vec();
        let line = format!("x-amz-meta-pad:{}\r\n", "p".repeat(1000));
        while body.len() < MAX_TRAILER_SECTION + 2000 {
            body.extend_from_slice(line.as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        let err = decode(&body, framing_with(None, true, None)).unwrap_err();
        assert!(matches!(
            err,
            ChunkedError::MalformedTrailer("trailer section too large")
        ));
        assert_eq!(
            (err.status(), err.s3_code()),
            (400, "MalformedTrailerError")
        );
        // Just under the limit is fine.
        let mut body = b"0\r\n".to_vec();
        let mut section = 0;
        while section + line.len() + 2 <= MAX_TRAILER_SECTION {
            body.extend_from_slice(line.as_bytes());
            section += line.len();
        }
        body.extend_from_slice(b"\r\n");
        assert!(decode(&body, framing_with(None, true, None)).is_ok());
    }

    #[test]
    fn malformed_trailers_rejected() {
        let cases: &[&[u8]] = &[
            b"0\r\nx-amz-checksum-crc32AAAAAA==\r\n\r\n", // no colon
            b"0\r\n:AAAAAA==\r\n\r\n",                    // no name
            b"0\r\nbad name:v\r\n\r\n",                   // not a token
            b"0\r\nx-amz-trailer-signature:ab\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
        ];
        for body in cases {
            let err = decode(body, framing_with(None, true, None)).unwrap_err();
            assert!(matches!(err, ChunkedError::MalformedTrailer(_)), "{err:?}");
        }
        // Trailers for a payload that has none (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
        let err = decode(
            b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
            Framing::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ChunkedError::MalformedTrailer(_)));
    }

    #[test]
    fn decoded_length_checked() {
        let body = b"5\r\nhello\r\n0\r\n\r\n";
        assert!(decode(body, framing_with(None, false, Some(5))).is_ok());
        // Fewer bytes than declared.
        let err = decode(body, framing_with(None, false, Some(6))).unwrap_err();
        assert!(matches!(
            err,
            ChunkedError::LengthMismatch {
                expected: 6,
                provided: 5
            }
        ));
        assert_eq!((err.status(), err.s3_code()), (400, "IncompleteBody"));
        assert_eq!(
            err.message(),
            "You did not provide the number of bytes specified by the Content-Length HTTP header"
        );
        // More: refused at the size line, before any of the chunk's data is yielded.
        let mut decoder = Decoder::new(
            input(vec![body.to_vec()]),
            framing_with(None, false, Some(3)),
        );
        let first = decoder.next().now_or_never().unwrap().unwrap();
        assert!(matches!(
            first,
            Err(ChunkedError::LengthMismatch {
                expected: 3,
                provided: 5
            })
        ));
    }

    #[test]
    fn body_read_error_is_incomplete_body_with_reason() {
        let pieces: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"5\r\nhe")),
            Err(std::io::Error::other("connection reset")),
        ];
        let mut decoder = Decoder::new(stream::iter(pieces), Framing::default());
        assert_eq!(
            decoder.next().now_or_never().unwrap().unwrap().unwrap(),
            &b"he"[..]
        );
        let err = decoder.next().now_or_never().unwrap().unwrap().unwrap_err();
        assert!(matches!(err, ChunkedError::BodyRead(_)));
        assert_eq!((err.status(), err.s3_code()), (400, "IncompleteBody"));
        assert!(
            err.message().contains("connection reset"),
            "{}",
            err.message()
        );
        assert!(decoder.next().now_or_never().unwrap().is_none());
    }

    #[test]
    fn data_streams_out_before_the_chunk_ends() {
        // One 1 MiB chunk, of which only the first 64 KiB have arrived: they come out at once,
        // and no more than what arrived is held.
        let signing = aws_signing("seed");
        let data: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 253) as u8).collect();
        let body = encode(&data, data.len(), Some(&signing), None);
        let head = body[..64 * 1024 + 100].to_vec();
        let arrived =
            stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(head))]).chain(stream::pending());
        let mut decoder = Decoder::new(arrived, framing_with(Some(signing.clone()), false, None));
        let mut got = 0;
        while let Some(Some(item)) = decoder.next().now_or_never() {
            got += item.unwrap().len();
        }
        assert!(got > 60 * 1024 && got < 64 * 1024 + 100, "{got}");
        assert!(decoder.line.len() <= MAX_SIZE_LINE && decoder.input.is_empty());

        // Fed in 4 KiB reads, every read comes out as (at most) one item of its size.
        let pieces: Vec<Vec<u8>> = body.chunks(4096).map(<[u8]>::to_vec).collect();
        let count = pieces.len();
        let mut decoder = Decoder::new(input(pieces), framing_with(Some(signing), false, None));
        let mut items = 0;
        let mut out = Vec::new();
        while let Some(item) = decoder.next().now_or_never().unwrap() {
            let item = item.unwrap();
            assert!(item.len() <= 4096);
            items += 1;
            out.extend_from_slice(&item);
        }
        assert_eq!(out, data);
        assert!(items <= count);
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            chunk in 1usize..700,
            signed in any::<bool>(),
            with_trailer in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..40),
        ) {
            let signing = signed.then(|| aws_signing("f00d"));
            let trailers = [("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-meta-z", "value")];
            let trailer = with_trailer.then_some(&trailers[..]);
            let body = encode(&data, chunk, signing.as_ref(), trailer);
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
            points.push(0);
            points.push(body.len());
            points.sort_unstable();
            let pieces: Vec<Vec<u8>> = points.windows(2).map(|w| body[w[0]..w[1]].to_vec()).collect();
            let framing = framing_with(signing, with_trailer, Some(data.len() as u64));
            let (decoded, got) = decode_pieces(pieces, framing).unwrap();
            prop_assert_eq!(decoded, data);
            prop_assert_eq!(got, if with_trailer { owned(&trailers) } else { Vec::new() });
        }

        #[test]
        fn any_flipped_byte_of_a_signed_body_is_rejected(
            data in proptest::collection::vec(any::<u8>(), 1..500),
            chunk in 1usize..200,
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let signing = aws_signing("f00d");
            let trailers = [("x-amz-checksum-crc32", "AAAAAA==")];
            let mut body = encode(&data, chunk, Some(&signing), Some(&trailers));
            let at = at.index(body.len());
            body[at] ^= 1 << bit;
            let framing = framing_with(Some(signing), true, Some(data.len() as u64));
            // Some flips leave an equivalent body (the case of a hex digit or a trailer name);
            // none may change what comes out.
            if let Ok((decoded, got)) = decode(&body, framing) {
                prop_assert_eq!(decoded, data);
                prop_assert_eq!(got, owned(&trailers));
            }
        }
    }
}
