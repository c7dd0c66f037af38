//! The gateway's authentication step: which requests must be signed, verified before routing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{
    AuthError, Identity, KeyStore, PayloadHash, Scheme, chunk_signing, scheme, verify_bearer,
    verify_header, verify_presigned,
};
use crate::files::chunked::ChunkSigning;

/// Service names clients sign with: both Bedrock clients sign as `bedrock`.
pub const BEDROCK_SERVICES: &[&str] = &["bedrock"];
/// S3 clients sign as `s3`.
pub const S3_SERVICES: &[&str] = &["s3"];

/// `[auth] mode`: accept anything (the seeds' dummy credentials), or verify signatures.
#[derive(Clone, Debug, Default)]
pub enum AuthMode {
    #[default]
    None,
    SigV4(Arc<Verifier>),
}

/// Verifies requests against the gateway-issued keys.
#[derive(Debug)]
pub struct Verifier {
    pub keys: KeyStore,
    pub max_skew: Duration,
}

impl Verifier {
    /// Verifies a request head; `body` is the buffered body for services that sign its hash
    /// without sending it (Bedrock), `None` for S3, whose clients send `x-amz-content-sha256`.
    pub fn verify(
        &self,
        parts: &http::request::Parts,
        body: Option<&[u8]>,
        services: &[&str],
    ) -> Result<Identity, AuthError> {
        let now = SystemTime::now();
        match scheme(parts) {
            Scheme::SigV4Header => {
                let payload = match body {
                    Some(body) => PayloadHash::for_body(&parts.headers, body)?,
                    None => PayloadHash::for_s3(&parts.headers)?,
                };
                let identity =
                    verify_header(parts, &payload, &self.keys, now, self.max_skew, services)?;
                if let Some(body) = body {
                    payload.check_body(body)?;
                }
                Ok(identity)
            }
            Scheme::SigV4Query => verify_presigned(parts, &self.keys, now, self.max_skew, services),
            Scheme::Bearer => verify_bearer(parts, &self.keys),
            Scheme::Unsupported | Scheme::None => verify_bearer(parts, &self.keys),
        }
    }

    /// [`Verifier::verify`] for an S3 request, plus what its body's chunk signatures chain
    /// from when it streams signed `aws-chunked` chunks (checked as the body is read).
    pub fn verify_s3(
        &self,
        parts: &http::request::Parts,
    ) -> Result<(Identity, Option<ChunkSigning>), AuthError> {
        let identity = self.verify(parts, None, S3_SERVICES)?;
        let seed = match scheme(parts) {
            Scheme::SigV4Header => chunk_signing(parts, &self.keys, S3_SERVICES),
            _ => None,
        };
        Ok((identity, seed))
    }
}
