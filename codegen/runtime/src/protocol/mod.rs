//! Quarry's wire protocols: the runtime's restJson1 and restXml with AWS's own rejection and error shapes.

mod bedrock;
mod s3;

pub use self::bedrock::{BEDROCK_PROTOCOL_ID, BEDROCK_REGISTRY, BedrockRestJson};
pub use self::s3::{S3_PROTOCOL_ID, S3_REGISTRY, S3RestXml, s3_error_response};
