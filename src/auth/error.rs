//! Authentication failures and how Bedrock (JSON) and S3 (XML) report each one on the wire.
//!
//! The codes and messages are what AWS sends as far as we know; where we are unsure the variant
//! says so. Bedrock is REST-JSON behind AWS's common front end, which answers every signature
//! failure with HTTP 403 (JSON-1.x services answer 400 instead; Bedrock is not one of them).

use std::borrow::Cow;

/// The generic answer to a wrong signature (Bedrock), word for word.
pub const BEDROCK_SIGNATURE_MESSAGE: &str = "The request signature we calculated does not match \
the signature you provided. Check your AWS Secret Access Key and signing method. Consult the \
service documentation for details.";

/// The generic answer to a wrong signature (S3), word for word.
pub const S3_SIGNATURE_MESSAGE: &str = "The request signature we calculated does not match the \
signature you provided. Check your key and signing method.";

/// What S3 echoes back in a `SignatureDoesNotMatch` body to help callers debug their signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureDetails {
    pub access_key_id: String,
    pub signature_provided: String,
    pub string_to_sign: String,
    pub canonical_request: String,
}

/// Why a request was not authenticated. Nothing here holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header and no presigned query parameters.
    #[error("missing authentication")]
    Missing,
    /// An `Authorization` header that lacks required parts (`Credential`, `SignedHeaders`,
    /// `Signature`) or cannot be parsed.
    #[error("incomplete signature; missing {missing:?}")]
    Incomplete {
        missing: Vec<&'static str>,
        authorization: String,
    },
    /// An authorization scheme other than `AWS4-HMAC-SHA256` (SigV2 `AWS …`, SigV4a, or bearer
    /// where only SigV4 is accepted).
    #[error("unsupported authorization type")]
    UnsupportedAlgorithm { authorization: String },
    /// `Credential=` not of the form `AKID/date/region/service/aws4_request`.
    #[error("malformed credential")]
    MalformedCredential { credential: String },
    /// The credential scope does not end in `aws4_request`.
    #[error("bad credential terminator")]
    BadTerminator { terminator: String },
    /// The credential scope names a service this endpoint does not serve.
    #[error("credential scoped to service {got:?}, expected {expected:?}")]
    WrongService { expected: String, got: String },
    /// The access key id is not one the gateway issued.
    #[error("unknown access key id {access_key_id}")]
    UnknownAccessKey { access_key_id: String },
    /// The signature did not match.
    #[error("signature mismatch")]
    SignatureMismatch(Box<SignatureDetails>),
    /// Neither `x-amz-date` nor `date` (header form).
    #[error("missing date")]
    MissingDate { authorization: String },
    /// A date that is not ISO-8601 basic (`x-amz-date`) or an HTTP date (`date`).
    #[error("unparseable date {value:?}")]
    BadDate { value: String },
    /// The credential scope's date is not the request date's day.
    #[error("credential scope date does not match request date")]
    ScopeDateMismatch {
        scope_date: String,
        amz_date: String,
    },
    /// The request time is further from the server's clock than the allowed skew.
    #[error("request time outside the allowed clock skew")]
    Skewed {
        request_time: String,
        server_time: String,
        /// `server_time` minus (or, when `future`, plus) the allowed skew.
        bound: String,
        max_skew_minutes: u64,
        /// The request claims a time ahead of the server's.
        future: bool,
    },
    /// A presigned URL past its `X-Amz-Expires`.
    #[error("presigned request expired")]
    PresignedExpired {
        expires_at: String,
        server_time: String,
    },
    /// Presigned query parameters missing or invalid; the message is the one to send.
    #[error("bad presigned query: {0}")]
    BadPresignedQuery(String),
    /// `Host` is not among the signed headers.
    #[error("host not signed")]
    HostNotSigned,
    /// S3 header auth without `x-amz-content-sha256`.
    #[error("missing x-amz-content-sha256")]
    MissingContentSha256,
    /// An `x-amz-content-sha256` value that is neither a digest nor a known keyword.
    #[error("invalid x-amz-content-sha256")]
    InvalidContentSha256,
    /// The body does not hash to the claimed `x-amz-content-sha256`.
    #[error("x-amz-content-sha256 mismatch")]
    ContentSha256Mismatch { claimed: String, computed: String },
    /// A bearer token the gateway did not issue.
    #[error("invalid bearer token")]
    InvalidBearerToken,
}

impl AuthError {
    /// The error code Bedrock (and the Bedrock control plane) sends in `x-amzn-ErrorType`.
    pub fn bedrock_code(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationTokenException",
            Self::Incomplete { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::MalformedCredential { .. }
            | Self::MissingDate { .. }
            | Self::BadDate { .. }
            | Self::BadPresignedQuery(_) => "IncompleteSignatureException",
            // Unsure: AWS may answer bearer failures with AccessDeniedException.
            Self::UnknownAccessKey { .. } | Self::InvalidBearerToken => {
                "UnrecognizedClientException"
            }
            Self::BadTerminator { .. }
            | Self::WrongService { .. }
            | Self::SignatureMismatch(_)
            | Self::ScopeDateMismatch { .. }
            | Self::Skewed { .. }
            | Self::PresignedExpired { .. }
            | Self::HostNotSigned
            | Self::MissingContentSha256
            | Self::InvalidContentSha256
            | Self::ContentSha256Mismatch { .. } => "InvalidSignatureException",
        }
    }

    /// The HTTP status Bedrock answers with: 403 for every authentication failure.
    pub fn status(&self) -> u16 {
        403
    }

    /// The message Bedrock sends (`{"message": …}`).
    pub fn message(&self) -> String {
        match self {
            Self::Missing => "Missing Authentication Token".to_owned(),
            Self::Incomplete {
                missing,
                authorization,
            } => incomplete_message(missing, authorization),
            Self::UnsupportedAlgorithm { authorization } => {
                incomplete_message(&["Credential", "Signature", "SignedHeaders"], authorization)
            }
            Self::MalformedCredential { credential } => format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{credential}'"
            ),
            Self::BadTerminator { terminator } => format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not \
                 '{terminator}'. "
            ),
            // AWS ends this sentence with a space.
            Self::WrongService { expected, .. } => {
                format!("Credential should be scoped to correct service: '{expected}'. ")
            }
            Self::UnknownAccessKey { .. } => {
                "The security token included in the request is invalid.".to_owned()
            }
            // Unsure: seen from Bedrock API-key endpoints; the exact text may differ.
            Self::InvalidBearerToken => {
                "Authentication failed: Please make sure your API Key is valid.".to_owned()
            }
            Self::SignatureMismatch(_)
            | Self::HostNotSigned
            | Self::MissingContentSha256
            | Self::InvalidContentSha256
            | Self::ContentSha256Mismatch { .. } => BEDROCK_SIGNATURE_MESSAGE.to_owned(),
            Self::MissingDate { authorization } => incomplete_message(&["Date"], authorization),
            Self::BadDate { value } => format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601"
            ),
            Self::ScopeDateMismatch {
                scope_date,
                amz_date,
            } => format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
                amz_date.get(..8).unwrap_or(amz_date)
            ),
            Self::Skewed {
                request_time,
                server_time,
                bound,
                max_skew_minutes,
                future,
            } => skew_message(request_time, server_time, bound, *max_skew_minutes, *future),
            Self::PresignedExpired {
                expires_at,
                server_time,
            } => format!("Signature expired: {expires_at} is now earlier than {server_time}"),
            Self::BadPresignedQuery(message) => message.clone(),
        }
    }

    /// The `<Code>` S3 sends.
    pub fn s3_code(&self) -> &'static str {
        match self {
            Self::Missing | Self::MissingDate { .. } | Self::BadDate { .. } => "AccessDenied",
            Self::PresignedExpired { .. } => "AccessDenied",
            Self::Incomplete { .. }
            | Self::MalformedCredential { .. }
            | Self::BadTerminator { .. }
            | Self::WrongService { .. }
            | Self::ScopeDateMismatch { .. }
            // Unsure which code S3 uses when Host is unsigned.
            | Self::HostNotSigned => "AuthorizationHeaderMalformed",
            Self::UnsupportedAlgorithm { authorization } => {
                if is_sigv2(authorization) {
                    "InvalidRequest"
                } else {
                    "InvalidArgument"
                }
            }
            Self::UnknownAccessKey { .. } => "InvalidAccessKeyId",
            Self::SignatureMismatch(_) => "SignatureDoesNotMatch",
            Self::Skewed { .. } => "RequestTimeTooSkewed",
            Self::BadPresignedQuery(_) => "AuthorizationQueryParametersError",
            Self::MissingContentSha256 => "InvalidRequest",
            Self::InvalidContentSha256 => "InvalidArgument",
            Self::ContentSha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
            // S3 has no bearer scheme; it rejects the header as an unknown type.
            Self::InvalidBearerToken => "InvalidArgument",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn s3_status(&self) -> u16 {
        match self.s3_code() {
            "AuthorizationHeaderMalformed"
            | "AuthorizationQueryParametersError"
            | "InvalidRequest"
            | "InvalidArgument"
            | "XAmzContentSHA256Mismatch" => 400,
            _ => 403,
        }
    }

    /// The `<Message>` S3 sends.
    pub fn s3_message(&self) -> Cow<'static, str> {
        match self {
            Self::Missing => "Access Denied".into(),
            Self::MissingDate { .. } | Self::BadDate { .. } => {
                "AWS authentication requires a valid Date or x-amz-date header".into()
            }
            Self::PresignedExpired { .. } => "Request has expired".into(),
            Self::Incomplete { .. } | Self::MalformedCredential { .. } => {
                "The authorization header is malformed; the Credential is mal-formed; expecting \
                 \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
                    .into()
            }
            Self::BadTerminator { terminator } => format!(
                "The authorization header is malformed; incorrect terminal \"{terminator}\". \
                 This endpoint uses \"aws4_request\"."
            )
            .into(),
            Self::WrongService { expected, got } => format!(
                "The authorization header is malformed; incorrect service \"{got}\". This \
                 endpoint belongs to \"{expected}\"."
            )
            .into(),
            Self::ScopeDateMismatch { .. } => "The authorization header is malformed; Invalid \
                credential date. Date is not the same as X-Amz-Date."
                .into(),
            Self::HostNotSigned => "The authorization header is malformed; 'Host' must be a \
                'SignedHeader' in the AWS Authorization."
                .into(),
            Self::UnsupportedAlgorithm { authorization } if is_sigv2(authorization) => {
                "The authorization mechanism you have provided is not supported. Please use \
                 AWS4-HMAC-SHA256."
                    .into()
            }
            Self::UnsupportedAlgorithm { .. } | Self::InvalidBearerToken => {
                "Unsupported Authorization Type".into()
            }
            Self::UnknownAccessKey { .. } => {
                "The AWS Access Key Id you provided does not exist in our records.".into()
            }
            Self::SignatureMismatch(_) => S3_SIGNATURE_MESSAGE.into(),
            Self::Skewed { .. } => {
                "The difference between the request time and the current time is too large.".into()
            }
            Self::BadPresignedQuery(message) => message.clone().into(),
            Self::MissingContentSha256 => {
                "Missing required header for this request: x-amz-content-sha256".into()
            }
            Self::InvalidContentSha256 => "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, \
                STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, \
                STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, \
                STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, \
                STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
                .into(),
            Self::ContentSha256Mismatch { .. } => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into()
            }
        }
    }
}

fn is_sigv2(authorization: &str) -> bool {
    authorization.starts_with("AWS ")
}

/// AWS lists every missing part, then echoes the header it got.
fn incomplete_message(missing: &[&str], authorization: &str) -> String {
    let mut out = String::new();
    for part in missing {
        if *part == "Date" {
            out.push_str(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header. ",
            );
        } else {
            out.push_str(&format!(
                "Authorization header requires '{part}' parameter. "
            ));
        }
    }
    out.push_str("Authorization=");
    out.push_str(authorization);
    out
}

/// `Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T130100Z
/// - 15 min.)`: AWS's wording, with the gateway's configured skew where AWS says 5 minutes.
fn skew_message(request: &str, server: &str, bound: &str, minutes: u64, future: bool) -> String {
    if future {
        format!(
            "Signature not yet current: {request} is still later than {bound} ({server} + \
             {minutes} min.)"
        )
    } else {
        format!(
            "Signature expired: {request} is now earlier than {bound} ({server} - {minutes} min.)"
        )
    }
}
