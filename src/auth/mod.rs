//! Request authentication: SigV4 (header and presigned) and bearer tokens against gateway-issued keys.
//!
//! - `keys`: the gateway-issued credentials ([`AccessKeyId`], [`SecretKey`], [`BearerToken`],
//!   [`Credential`], [`Identity`]) and the [`KeyStore`] they are looked up in.
//! - `error`: [`AuthError`], with the code, status and message Bedrock (JSON) and S3 (XML) send
//!   for each failure.
//! - `sigv4`: canonical requests and signatures per AWS's rules, and the verifiers
//!   [`verify_header`], [`verify_presigned`] and [`verify_bearer`]; [`scheme`] says which applies.
//!
//! The verifiers are pure functions of the request head, the payload hash and the clock, so the
//! server decides when to buffer a body: Bedrock clients sign the body's hash without sending it
//! ([`PayloadHash::for_body`]), S3 clients send it in `x-amz-content-sha256`
//! ([`PayloadHash::for_s3`], then [`PayloadHash::check_body`] once the body has arrived).
//! Not yet verified: the per-chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies.

mod error;
mod gate;
mod keys;
mod sigv4;

pub use error::{AuthError, BEDROCK_SIGNATURE_MESSAGE, S3_SIGNATURE_MESSAGE, SignatureDetails};
pub use gate::{AuthMode, BEDROCK_SERVICES, S3_SERVICES, Verifier};
pub use keys::{AccessKeyId, BearerToken, Credential, Identity, KeyStore, SecretKey};
pub use sigv4::{
    ALGORITHM, CredentialScope, DEFAULT_MAX_SKEW, MAX_PRESIGNED_EXPIRES, PayloadHash, RequestView,
    Scheme, canonical_query, canonical_request, canonical_uri, chunk_signing, format_amz_date,
    parse_amz_date, scheme, signature, signing_key, string_to_sign, verify_bearer, verify_header,
    verify_presigned,
};

#[cfg(test)]
mod tests;
