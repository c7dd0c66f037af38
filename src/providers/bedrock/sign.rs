//! SigV4 signatures on upstream Bedrock requests, made with the AWS SDK's own signer.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

use crate::providers::{ErrorKind, ProviderError};

/// The signing name of both Bedrock APIs.
pub(super) const SERVICE: &str = "bedrock";

fn signing_failed(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(
        ErrorKind::InternalServer,
        format!("signing the request to AWS Bedrock failed: {err}"),
    )
}

/// Signs `POST url` with `headers` and `body` for `region`, adding `authorization`,
/// `x-amz-date`, `x-amz-content-sha256` (the body's digest) and, for temporary credentials,
/// `x-amz-security-token` to `headers`. Every header already in `headers` is signed; `url` is
/// already percent-encoded, as it goes on the wire.
pub(super) fn sign_request(
    url: &str,
    headers: &mut http::HeaderMap,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), ProviderError> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(signing_failed)?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        // Forwarded headers are ASCII already (see `forwarded_request_headers`).
        headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
        SignableBody::Bytes(body),
    )
    .map_err(signing_failed)?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(signing_failed)?
        .into_parts();
    let (added, _query) = instructions.into_parts();
    for header in added {
        let mut value = http::HeaderValue::from_str(header.value()).map_err(signing_failed)?;
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
