//! The digests S3 clients ask the server to verify: Content-MD5 and the x-amz-checksum family.
//!
//! [`Expected::from_headers`] reads what a PutObject/UploadPart request claims, a [`Digester`] is
//! fed the (decoded) body as it streams through, and [`Digester::finish`] checks every claim,
//! answering the error S3 answers for each mismatch.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// The additional checksum algorithms S3 supports (`x-amz-checksum-<alg>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    pub const ALL: [Self; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// The name S3 uses in `x-amz-sdk-checksum-algorithm`, `x-amz-checksum-algorithm` and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// Case-insensitive, as S3 accepts `crc32` as well as `CRC32`.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(value))
    }

    /// The header (or trailer) carrying the base64 value, e.g. `x-amz-checksum-crc32`.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm a header name carries; `None` for other names, including
    /// `x-amz-checksum-algorithm`, `x-amz-checksum-type` and `x-amz-checksum-mode`.
    pub fn from_header_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|alg| alg.header_name().eq_ignore_ascii_case(name))
    }

    /// The length of the raw digest (before base64).
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

impl std::fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incremental hasher for one [`ChecksumAlgorithm`].
#[derive(Clone)]
pub struct ChecksumHasher {
    state: HasherState,
}

#[derive(Clone)]
enum HasherState {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64Nvme(crc64fast_nvme::Digest),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl ChecksumHasher {
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        let state = match algorithm {
            ChecksumAlgorithm::Crc32 => HasherState::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => HasherState::Crc32c(0),
            ChecksumAlgorithm::Crc64Nvme => HasherState::Crc64Nvme(crc64fast_nvme::Digest::new()),
            ChecksumAlgorithm::Sha1 => HasherState::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => HasherState::Sha256(Sha256::new()),
        };
        Self { state }
    }

    pub fn algorithm(&self) -> ChecksumAlgorithm {
        match self.state {
            HasherState::Crc32(_) => ChecksumAlgorithm::Crc32,
            HasherState::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            HasherState::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
            HasherState::Sha1(_) => ChecksumAlgorithm::Sha1,
            HasherState::Sha256(_) => ChecksumAlgorithm::Sha256,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            HasherState::Crc32(h) => h.update(data),
            HasherState::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, data),
            HasherState::Crc64Nvme(h) => h.write(data),
            HasherState::Sha1(h) => h.update(data),
            HasherState::Sha256(h) => h.update(data),
        }
    }

    /// The raw digest; CRCs big-endian, as S3 encodes them.
    pub fn finalize(self) -> Vec<u8> {
        match self.state {
            HasherState::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            HasherState::Crc32c(crc) => crc.to_be_bytes().to_vec(),
            HasherState::Crc64Nvme(h) => h.sum64().to_be_bytes().to_vec(),
            HasherState::Sha1(h) => h.finalize().to_vec(),
            HasherState::Sha256(h) => h.finalize().to_vec(),
        }
    }

    /// The digest as S3 writes it in `x-amz-checksum-<alg>`: base64.
    pub fn finalize_base64(self) -> String {
        BASE64.encode(self.finalize())
    }
}

/// What the client claimed about the checksum of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChecksumClaim {
    /// The raw digest, sent in an `x-amz-checksum-<alg>` header.
    Value(Vec<u8>),
    /// Declared in `x-amz-trailer`: the value arrives in the aws-chunked trailer.
    Trailer,
    /// Nothing to verify; compute it (e.g. for a multipart upload created with an algorithm).
    Compute,
}

/// The digests a request claims, read from its headers (or built by hand).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// `Content-MD5`, decoded.
    pub content_md5: Option<[u8; 16]>,
    /// A hex `x-amz-content-sha256` (keywords like `UNSIGNED-PAYLOAD` leave this `None`).
    pub content_sha256: Option<[u8; 32]>,
    /// At most one additional checksum, as S3 allows.
    pub checksum: Option<(ChecksumAlgorithm, ChecksumClaim)>,
}

/// The `x-amz-content-sha256` values that are not a digest of the body.
const CONTENT_SHA256_KEYWORDS: &[&str] = &[
    "UNSIGNED-PAYLOAD",
    "UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
];

impl Expected {
    /// Nothing claimed: only the MD5 (for the ETag) is computed.
    pub fn none() -> Self {
        Self::default()
    }

    /// Compute `algorithm` without verifying it (the multipart code's "upload with algorithm X").
    pub fn compute(algorithm: ChecksumAlgorithm) -> Self {
        Self {
            checksum: Some((algorithm, ChecksumClaim::Compute)),
            ..Self::default()
        }
    }

    /// Reads `Content-MD5`, `x-amz-content-sha256`, `x-amz-checksum-<alg>`, `x-amz-trailer` and
    /// `x-amz-sdk-checksum-algorithm`, rejecting malformed or contradictory claims as S3 does.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, DigestError> {
        Ok(Self {
            content_md5: content_md5(headers)?,
            content_sha256: content_sha256(headers)?,
            checksum: checksum_claim(headers)?,
        })
    }

    /// The algorithm whose checksum is claimed, trailed or to be computed.
    pub fn checksum_algorithm(&self) -> Option<ChecksumAlgorithm> {
        self.checksum.as_ref().map(|(alg, _)| *alg)
    }

    /// The checksum header the aws-chunked trailer must carry, if any.
    pub fn trailer(&self) -> Option<ChecksumAlgorithm> {
        match &self.checksum {
            Some((alg, ChecksumClaim::Trailer)) => Some(*alg),
            _ => None,
        }
    }
}

fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, DigestError> {
    let mut values = headers.get_all("content-md5").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(DigestError::InvalidContentMd5);
    }
    let decoded = value
        .to_str()
        .ok()
        .and_then(|v| BASE64.decode(v.trim()).ok())
        .ok_or(DigestError::InvalidContentMd5)?;
    <[u8; 16]>::try_from(decoded.as_slice())
        .map(Some)
        .map_err(|_| DigestError::InvalidContentMd5)
}

fn content_sha256(headers: &HeaderMap) -> Result<Option<[u8; 32]>, DigestError> {
    let Some(value) = headers.get("x-amz-content-sha256") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| DigestError::InvalidContentSha256)?
        .trim();
    if CONTENT_SHA256_KEYWORDS.contains(&value) {
        return Ok(None);
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(value, &mut digest).map_err(|_| DigestError::InvalidContentSha256)?;
    Ok(Some(digest))
}

fn checksum_claim(
    headers: &HeaderMap,
) -> Result<Option<(ChecksumAlgorithm, ChecksumClaim)>, DigestError> {
    // Value headers: at most one algorithm, each sent once with a well-formed value.
    let mut claim: Option<(ChecksumAlgorithm, ChecksumClaim)> = None;
    for (name, value) in headers {
        let Some(alg) = ChecksumAlgorithm::from_header_name(name.as_str()) else {
            continue;
        };
        match &claim {
            Some((seen, _)) if *seen != alg => return Err(DigestError::MultipleChecksums),
            Some(_) => return Err(DigestError::InvalidChecksumValue(alg)),
            None => {}
        }
        let digest = value
            .to_str()
            .ok()
            .and_then(|v| decode_checksum(alg, v))
            .ok_or(DigestError::InvalidChecksumValue(alg))?;
        claim = Some((alg, ChecksumClaim::Value(digest)));
    }

    // `x-amz-trailer`: S3 only supports checksum trailers, and one of them.
    for value in headers.get_all("x-amz-trailer") {
        let value = value
            .to_str()
            .map_err(|_| DigestError::UnsupportedTrailer)?;
        for name in value.split(',') {
            let alg =
                ChecksumAlgorithm::from_header_name(name).ok_or(DigestError::UnsupportedTrailer)?;
            match &claim {
                Some((seen, ChecksumClaim::Trailer)) if *seen == alg => {}
                Some(_) => return Err(DigestError::MultipleChecksums),
                None => claim = Some((alg, ChecksumClaim::Trailer)),
            }
        }
    }

    // `x-amz-sdk-checksum-algorithm` only names the algorithm of a value sent or trailed.
    if let Some(value) = headers.get("x-amz-sdk-checksum-algorithm") {
        let alg = value
            .to_str()
            .ok()
            .and_then(ChecksumAlgorithm::parse)
            .ok_or(DigestError::InvalidSdkAlgorithm)?;
        match &claim {
            Some((claimed, _)) if *claimed != alg => return Err(DigestError::InvalidSdkAlgorithm),
            Some(_) => {}
            None => return Err(DigestError::SdkAlgorithmWithoutChecksum),
        }
    }
    Ok(claim)
}

/// A base64 checksum value of exactly the algorithm's digest length.
fn decode_checksum(alg: ChecksumAlgorithm, value: &str) -> Option<Vec<u8>> {
    BASE64
        .decode(value.trim())
        .ok()
        .filter(|d| d.len() == alg.digest_len())
}

/// Hashes a body as it streams, then verifies it against an [`Expected`].
#[derive(Clone)]
pub struct Digester {
    md5: Md5,
    sha256: Option<(Sha256, [u8; 32])>,
    checksum: Option<(ChecksumHasher, ChecksumClaim)>,
    content_md5: Option<[u8; 16]>,
}

impl Digester {
    pub fn new(expected: &Expected) -> Self {
        Self {
            md5: Md5::new(),
            // SHA-256 of the whole body is costly: only when a digest was claimed.
            sha256: expected
                .content_sha256
                .map(|claimed| (Sha256::new(), claimed)),
            checksum: expected
                .checksum
                .as_ref()
                .map(|(alg, claim)| (ChecksumHasher::new(*alg), claim.clone())),
            content_md5: expected.content_md5,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some((hasher, _)) = &mut self.sha256 {
            hasher.update(data);
        }
        if let Some((hasher, _)) = &mut self.checksum {
            hasher.update(data);
        }
    }

    /// Verifies every claim; `trailers` are the aws-chunked trailers (lower-case names) as
    /// [`crate::files::chunked::Decoder::trailers`] returns them, empty for plain bodies.
    pub fn finish(self, trailers: &[(String, String)]) -> Result<Digests, DigestError> {
        let trailed = self.checksum.as_ref().and_then(|(hasher, claim)| {
            matches!(claim, ChecksumClaim::Trailer).then(|| hasher.algorithm())
        });
        let trailer_value = check_trailers(trailed, trailers)?;

        if let Some((hasher, claimed)) = self.sha256 {
            let computed: [u8; 32] = hasher.finalize().into();
            if computed != claimed {
                return Err(DigestError::Sha256Mismatch {
                    client: hex::encode(claimed),
                    computed: hex::encode(computed),
                });
            }
        }

        let md5: [u8; 16] = self.md5.finalize().into();
        if self.content_md5.is_some_and(|claimed| claimed != md5) {
            return Err(DigestError::Md5Mismatch);
        }

        let checksum = match self.checksum {
            None => None,
            Some((hasher, claim)) => {
                let alg = hasher.algorithm();
                let computed = hasher.finalize();
                let claimed = match claim {
                    ChecksumClaim::Value(value) => Some(value),
                    ChecksumClaim::Trailer => trailer_value,
                    ChecksumClaim::Compute => None,
                };
                if claimed.is_some_and(|claimed| claimed != computed) {
                    return Err(DigestError::ChecksumMismatch(alg));
                }
                Some((alg, BASE64.encode(computed)))
            }
        };
        Ok(Digests { md5, checksum })
    }
}

/// The declared trailer must be there, well-formed, and alone: S3 answers MalformedTrailerError
/// for a missing declared trailer and for one that was not declared.
fn check_trailers(
    declared: Option<ChecksumAlgorithm>,
    trailers: &[(String, String)],
) -> Result<Option<Vec<u8>>, DigestError> {
    let mut value = None;
    for (name, raw) in trailers {
        match declared {
            Some(alg) if alg.header_name().eq_ignore_ascii_case(name) && value.is_none() => {
                value =
                    Some(decode_checksum(alg, raw).ok_or(DigestError::InvalidChecksumValue(alg))?);
            }
            _ => return Err(DigestError::MalformedTrailer),
        }
    }
    match declared {
        Some(_) if value.is_none() => Err(DigestError::MalformedTrailer),
        _ => Ok(value),
    }
}

/// The local store feeds a body to its observer on the writer thread.
impl crate::files::store::Observer for Digester {
    fn update(&mut self, data: &[u8]) {
        Digester::update(self, data);
    }
}

/// The digests of a verified body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    pub md5: [u8; 16],
    /// The claimed, trailed or requested checksum, base64 as S3 returns it.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

impl Digests {
    /// The single-part ETag: the quoted hex MD5.
    pub fn etag(&self) -> String {
        format!("\"{}\"", hex::encode(self.md5))
    }
}

/// S3's ETag of a multipart object: the quoted hex MD5 of the parts' MD5s, then `-<part count>`.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut hasher = Md5::new();
    for md5 in part_md5s {
        hasher.update(md5);
    }
    format!("\"{}-{}\"", hex::encode(hasher.finalize()), part_md5s.len())
}

/// A rejected digest claim, with the code and message S3 answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("The Content-MD5 you specified was not valid.")]
    InvalidContentMd5,
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, \
         STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, \
         STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
    )]
    InvalidContentSha256,
    #[error("Value for {} header is invalid.", .0.header_name())]
    InvalidChecksumValue(ChecksumAlgorithm),
    #[error("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")]
    MultipleChecksums,
    #[error("The value specified in the x-amz-trailer header is not supported")]
    UnsupportedTrailer,
    #[error("Value for x-amz-sdk-checksum-algorithm header is invalid.")]
    InvalidSdkAlgorithm,
    #[error(
        "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or \
         x-amz-trailer headers were found."
    )]
    SdkAlgorithmWithoutChecksum,
    /// A declared trailer missing, or a trailer that was not declared.
    #[error(
        "The request contained trailing data that was not well-formed or did not conform to our \
         published schema."
    )]
    MalformedTrailer,
    #[error("The Content-MD5 you specified did not match what we received.")]
    Md5Mismatch,
    /// S3 echoes both digests (`ClientComputedContentSHA256`, `S3ComputedContentSHA256`).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    Sha256Mismatch { client: String, computed: String },
    #[error("The {0} you specified did not match the calculated checksum.")]
    ChecksumMismatch(ChecksumAlgorithm),
}

impl DigestError {
    pub fn s3_code(&self) -> &'static str {
        match self {
            Self::InvalidContentMd5 => "InvalidDigest",
            Self::InvalidContentSha256 => "InvalidArgument",
            Self::InvalidChecksumValue(_)
            | Self::MultipleChecksums
            | Self::UnsupportedTrailer
            | Self::InvalidSdkAlgorithm
            | Self::SdkAlgorithmWithoutChecksum => "InvalidRequest",
            Self::MalformedTrailer => "MalformedTrailerError",
            Self::Md5Mismatch | Self::ChecksumMismatch(_) => "BadDigest",
            Self::Sha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
        }
    }

    pub fn status(&self) -> u16 {
        400
    }

    /// The `<Message>` of S3's error body.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

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

    fn checksum_of(alg: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut h = ChecksumHasher::new(alg);
        h.update(data);
        h.finalize()
    }

    fn b64(alg: ChecksumAlgorithm, data: &[u8]) -> String {
        BASE64.encode(checksum_of(alg, data))
    }

    fn md5_b64(data: &[u8]) -> String {
        BASE64.encode(Md5::digest(data))
    }

    fn digest(
        expected: &Expected,
        body: &[u8],
        trailers: &[(&str, &str)],
    ) -> Result<Digests, DigestError> {
        let mut d = Digester::new(expected);
        // Several updates, to exercise incremental hashing.
        for piece in body.chunks(3) {
            d.update(piece);
        }
        let trailers: Vec<(String, String)> = trailers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        d.finish(&trailers)
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::parse(alg.as_str()), Some(alg));
            assert_eq!(
                ChecksumAlgorithm::parse(&alg.as_str().to_lowercase()),
                Some(alg)
            );
            assert_eq!(
                ChecksumAlgorithm::from_header_name(alg.header_name()),
                Some(alg)
            );
            assert_eq!(
                ChecksumAlgorithm::from_header_name(&alg.header_name().to_uppercase()),
                Some(alg)
            );
            assert_eq!(
                alg.header_name(),
                format!("x-amz-checksum-{}", alg.as_str().to_lowercase())
            );
        }
        assert_eq!(
            ChecksumAlgorithm::parse("crc64nvme"),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
        assert_eq!(ChecksumAlgorithm::parse("MD5"), None);
        assert_eq!(ChecksumAlgorithm::parse(""), None);
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-algorithm"),
            None
        );
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-type"),
            None
        );
        assert_eq!(ChecksumAlgorithm::Crc32c.to_string(), "CRC32C");
    }

    #[test]
    fn crc_check_values() {
        let check = b"123456789";
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc32, check),
            0xCBF4_3926u32.to_be_bytes()
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc32c, check),
            0xE306_9283u32.to_be_bytes()
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc64Nvme, check),
            0xAE8B_1486_0A79_9888u64.to_be_bytes()
        );
    }

    #[test]
    fn base64_of_big_endian_digests() {
        // S3's values for the empty body.
        assert_eq!(b64(ChecksumAlgorithm::Crc32, b""), "AAAAAA==");
        assert_eq!(b64(ChecksumAlgorithm::Crc32c, b""), "AAAAAA==");
        assert_eq!(b64(ChecksumAlgorithm::Crc64Nvme, b""), "AAAAAAAAAAA=");
        assert_eq!(
            b64(ChecksumAlgorithm::Sha1, b""),
            "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
        );
        assert_eq!(
            b64(ChecksumAlgorithm::Sha256, b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        // Big-endian: 0xCBF43926 → y/Q5Jg==.
        assert_eq!(b64(ChecksumAlgorithm::Crc32, b"123456789"), "y/Q5Jg==");
        // AWS's trailer example: 65 KiB of 'a' has CRC32C sOO8/Q==.
        assert_eq!(
            b64(ChecksumAlgorithm::Crc32c, &[b'a'; 65 * 1024]),
            "sOO8/Q=="
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for alg in ChecksumAlgorithm::ALL {
            let mut h = ChecksumHasher::new(alg);
            for piece in data.chunks(97) {
                h.update(piece);
            }
            assert_eq!(h.finalize(), checksum_of(alg, &data), "{alg}");
            assert_eq!(checksum_of(alg, &data).len(), alg.digest_len());
        }
    }

    #[test]
    fn no_headers_expect_nothing() {
        let expected = Expected::from_headers(&HeaderMap::new()).unwrap();
        assert_eq!(expected, Expected::none());
        let digests = digest(&expected, b"hello", &[]).unwrap();
        assert_eq!(digests.etag(), "\"5d41402abc4b2a76b9719d911017c592\"");
        assert_eq!(digests.checksum, None);
    }

    #[test]
    fn content_md5_parsed_and_verified() {
        let h = headers(&[("content-md5", &md5_b64(b"hello"))]);
        let expected = Expected::from_headers(&h).unwrap();
        assert_eq!(expected.content_md5, Some(Md5::digest(b"hello").into()));
        assert!(digest(&expected, b"hello", &[]).is_ok());
        let err = digest(&expected, b"hellO", &[]).unwrap_err();
        assert_eq!(err, DigestError::Md5Mismatch);
        assert_eq!(err.s3_code(), "BadDigest");
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.message(),
            "The Content-MD5 you specified did not match what we received."
        );
    }

    #[test]
    fn malformed_content_md5_is_invalid_digest() {
        let short = BASE64.encode([0u8; 15]);
        for bad in ["not base64!", "", short.as_str(), "XrY7u+Ae7tCTyyK7j1rNww"] {
            let err = Expected::from_headers(&headers(&[("content-md5", bad)])).unwrap_err();
            assert_eq!(err, DigestError::InvalidContentMd5, "{bad:?}");
            assert_eq!(err.s3_code(), "InvalidDigest");
        }
        let good = md5_b64(b"x");
        let err =
            Expected::from_headers(&headers(&[("content-md5", &good), ("content-md5", &good)]))
                .unwrap_err();
        assert_eq!(err, DigestError::InvalidContentMd5);
    }

    #[test]
    fn content_sha256_hex_verified_keywords_ignored() {
        let hex_digest = hex::encode(Sha256::digest(b"body"));
        let expected =
            Expected::from_headers(&headers(&[("x-amz-content-sha256", &hex_digest)])).unwrap();
        assert_eq!(
            expected.content_sha256,
            Some(Sha256::digest(b"body").into())
        );
        assert!(digest(&expected, b"body", &[]).is_ok());
        let err = digest(&expected, b"bodY", &[]).unwrap_err();
        assert_eq!(err.s3_code(), "XAmzContentSHA256Mismatch");
        assert_eq!(
            err.message(),
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        );
        let DigestError::Sha256Mismatch { client, computed } = err else {
            panic!("wrong variant");
        };
        assert_eq!(client, hex_digest);
        assert_eq!(computed, hex::encode(Sha256::digest(b"bodY")));

        for keyword in CONTENT_SHA256_KEYWORDS {
            let e = Expected::from_headers(&headers(&[("x-amz-content-sha256", keyword)])).unwrap();
            assert_eq!(e.content_sha256, None, "{keyword}");
        }
        for bad in ["abc", "STREAMING-FOO", &"g".repeat(64)] {
            let err =
                Expected::from_headers(&headers(&[("x-amz-content-sha256", bad)])).unwrap_err();
            assert_eq!(err, DigestError::InvalidContentSha256);
            assert_eq!(err.s3_code(), "InvalidArgument");
        }
    }

    #[test]
    fn checksum_header_verified_for_every_algorithm() {
        for alg in ChecksumAlgorithm::ALL {
            let value = b64(alg, b"payload");
            let expected =
                Expected::from_headers(&headers(&[(alg.header_name(), &value)])).unwrap();
            assert_eq!(expected.checksum_algorithm(), Some(alg));
            let digests = digest(&expected, b"payload", &[]).unwrap();
            assert_eq!(digests.checksum, Some((alg, value)));

            let err = digest(&expected, b"paYload", &[]).unwrap_err();
            assert_eq!(err, DigestError::ChecksumMismatch(alg));
            assert_eq!(err.s3_code(), "BadDigest");
            assert_eq!(
                err.message(),
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    alg.as_str()
                )
            );
        }
    }

    #[test]
    fn malformed_checksum_header_is_invalid_request() {
        // Wrong length for the algorithm, not base64, empty.
        let crc64_sized = BASE64.encode([0u8; 8]);
        for bad in [crc64_sized.as_str(), "***", ""] {
            let err =
                Expected::from_headers(&headers(&[("x-amz-checksum-crc32", bad)])).unwrap_err();
            assert_eq!(
                err,
                DigestError::InvalidChecksumValue(ChecksumAlgorithm::Crc32)
            );
            assert_eq!(err.s3_code(), "InvalidRequest");
            assert_eq!(
                err.message(),
                "Value for x-amz-checksum-crc32 header is invalid."
            );
        }
        let err =
            Expected::from_headers(&headers(&[("x-amz-checksum-sha256", "AAAAAA==")])).unwrap_err();
        assert_eq!(
            err.message(),
            "Value for x-amz-checksum-sha256 header is invalid."
        );
    }

    #[test]
    fn two_checksum_algorithms_rejected() {
        let h = headers(&[
            ("x-amz-checksum-crc32", &b64(ChecksumAlgorithm::Crc32, b"x")),
            ("x-amz-checksum-sha1", &b64(ChecksumAlgorithm::Sha1, b"x")),
        ]);
        let err = Expected::from_headers(&h).unwrap_err();
        assert_eq!(err, DigestError::MultipleChecksums);
        assert_eq!(err.s3_code(), "InvalidRequest");
        assert_eq!(
            err.message(),
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        );
        // A value header plus a trailer of another algorithm.
        let h = headers(&[
            ("x-amz-checksum-crc32", &b64(ChecksumAlgorithm::Crc32, b"x")),
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ]);
        assert_eq!(
            Expected::from_headers(&h).unwrap_err(),
            DigestError::MultipleChecksums
        );
        let h = headers(&[("x-amz-trailer", "x-amz-checksum-crc32, x-amz-checksum-sha1")]);
        assert_eq!(
            Expected::from_headers(&h).unwrap_err(),
            DigestError::MultipleChecksums
        );
    }

    #[test]
    fn unrelated_checksum_headers_ignored() {
        let h = headers(&[
            ("x-amz-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-type", "FULL_OBJECT"),
            ("x-amz-checksum-mode", "ENABLED"),
        ]);
        assert_eq!(Expected::from_headers(&h).unwrap(), Expected::none());
    }

    #[test]
    fn sdk_algorithm_must_match_a_value_or_trailer() {
        let value = b64(ChecksumAlgorithm::Crc32, b"x");
        // What boto3 sends over HTTP.
        let h = headers(&[
            ("x-amz-checksum-crc32", &value),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ]);
        assert_eq!(
            Expected::from_headers(&h).unwrap().checksum_algorithm(),
            Some(ChecksumAlgorithm::Crc32)
        );
        // Case-insensitive.
        let h = headers(&[
            ("x-amz-checksum-crc32", &value),
            ("x-amz-sdk-checksum-algorithm", "crc32"),
        ]);
        assert!(Expected::from_headers(&h).is_ok());
        // A different algorithm than the value's.
        let h = headers(&[
            ("x-amz-checksum-crc32", &value),
            ("x-amz-sdk-checksum-algorithm", "SHA256"),
        ]);
        let err = Expected::from_headers(&h).unwrap_err();
        assert_eq!(err, DigestError::InvalidSdkAlgorithm);
        assert_eq!(
            err.message(),
            "Value for x-amz-sdk-checksum-algorithm header is invalid."
        );
        // Unknown.
        let h = headers(&[
            ("x-amz-checksum-crc32", &value),
            ("x-amz-sdk-checksum-algorithm", "MD5"),
        ]);
        assert_eq!(
            Expected::from_headers(&h).unwrap_err(),
            DigestError::InvalidSdkAlgorithm
        );
        // Without any value or trailer.
        let h = headers(&[("x-amz-sdk-checksum-algorithm", "CRC32")]);
        let err = Expected::from_headers(&h).unwrap_err();
        assert_eq!(err, DigestError::SdkAlgorithmWithoutChecksum);
        assert_eq!(err.s3_code(), "InvalidRequest");
    }

    #[test]
    fn trailer_checksum_verified() {
        // What boto3 sends over HTTPS.
        let h = headers(&[
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ]);
        let expected = Expected::from_headers(&h).unwrap();
        assert_eq!(expected.trailer(), Some(ChecksumAlgorithm::Crc32));
        let value = b64(ChecksumAlgorithm::Crc32, b"streamed");
        let digests = digest(&expected, b"streamed", &[("x-amz-checksum-crc32", &value)]).unwrap();
        assert_eq!(
            digests.checksum,
            Some((ChecksumAlgorithm::Crc32, value.clone()))
        );

        let err = digest(&expected, b"streameD", &[("x-amz-checksum-crc32", &value)]).unwrap_err();
        assert_eq!(err, DigestError::ChecksumMismatch(ChecksumAlgorithm::Crc32));
        let err = digest(&expected, b"streamed", &[("x-amz-checksum-crc32", "nope")]).unwrap_err();
        assert_eq!(
            err,
            DigestError::InvalidChecksumValue(ChecksumAlgorithm::Crc32)
        );
    }

    #[test]
    fn trailer_missing_or_undeclared_is_malformed() {
        let expected =
            Expected::from_headers(&headers(&[("x-amz-trailer", "x-amz-checksum-sha256")]))
                .unwrap();
        let err = digest(&expected, b"x", &[]).unwrap_err();
        assert_eq!(err, DigestError::MalformedTrailer);
        assert_eq!(err.s3_code(), "MalformedTrailerError");
        // Another checksum than the declared one.
        let crc = b64(ChecksumAlgorithm::Crc32, b"x");
        assert_eq!(
            digest(&expected, b"x", &[("x-amz-checksum-crc32", &crc)]).unwrap_err(),
            DigestError::MalformedTrailer
        );
        // The declared one twice.
        let sha = b64(ChecksumAlgorithm::Sha256, b"x");
        assert_eq!(
            digest(
                &expected,
                b"x",
                &[
                    ("x-amz-checksum-sha256", &sha),
                    ("x-amz-checksum-sha256", &sha)
                ]
            )
            .unwrap_err(),
            DigestError::MalformedTrailer
        );
        // A trailer when none was declared.
        assert_eq!(
            digest(&Expected::none(), b"x", &[("x-amz-checksum-crc32", &crc)]).unwrap_err(),
            DigestError::MalformedTrailer
        );
    }

    #[test]
    fn unsupported_trailer_names_rejected() {
        for bad in ["x-amz-checksum-sha10", "x-amz-meta-foo", ""] {
            let err = Expected::from_headers(&headers(&[("x-amz-trailer", bad)])).unwrap_err();
            assert_eq!(err, DigestError::UnsupportedTrailer, "{bad:?}");
            assert_eq!(err.s3_code(), "InvalidRequest");
        }
    }

    #[test]
    fn compute_only_returns_the_checksum() {
        let expected = Expected::compute(ChecksumAlgorithm::Crc64Nvme);
        let digests = digest(&expected, b"123456789", &[]).unwrap();
        assert_eq!(
            digests.checksum,
            Some((
                ChecksumAlgorithm::Crc64Nvme,
                BASE64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
            ))
        );
    }

    #[test]
    fn every_claim_checked_together() {
        let body = b"all of them";
        let h = headers(&[
            ("content-md5", &md5_b64(body)),
            ("x-amz-content-sha256", &hex::encode(Sha256::digest(body))),
            ("x-amz-checksum-sha1", &b64(ChecksumAlgorithm::Sha1, body)),
        ]);
        let expected = Expected::from_headers(&h).unwrap();
        let digests = digest(&expected, body, &[]).unwrap();
        assert_eq!(digests.md5, <[u8; 16]>::from(Md5::digest(body)));
        // Only the checksum is wrong.
        let mut wrong = expected.clone();
        wrong.checksum = Some((ChecksumAlgorithm::Sha1, ChecksumClaim::Value(vec![0; 20])));
        assert_eq!(
            digest(&wrong, body, &[]).unwrap_err(),
            DigestError::ChecksumMismatch(ChecksumAlgorithm::Sha1)
        );
    }

    #[test]
    fn etags() {
        let digests = digest(&Expected::none(), b"", &[]).unwrap();
        assert_eq!(digests.etag(), "\"d41d8cd98f00b204e9800998ecf8427e\"");

        let p1: [u8; 16] = Md5::digest(b"part one").into();
        let p2: [u8; 16] = Md5::digest(b"part two").into();
        let mut concat = Vec::new();
        concat.extend_from_slice(&p1);
        concat.extend_from_slice(&p2);
        assert_eq!(
            multipart_etag(&[p1, p2]),
            format!("\"{}-2\"", hex::encode(Md5::digest(&concat)))
        );
        // A known value: one part of the empty body.
        let empty: [u8; 16] = Md5::digest(b"").into();
        assert_eq!(
            multipart_etag(&[empty]),
            format!("\"{}-1\"", hex::encode(Md5::digest(empty)))
        );
        assert_ne!(multipart_etag(&[p1, p2]), multipart_etag(&[p2, p1]));
    }
}
